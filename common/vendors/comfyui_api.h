/*
 * ComfyUI's HTTP API (shared/reference/providers.md, section 5): a workflow
 * template with placeholders made into a /prompt body, and /history answers
 * read into the files to fetch from /view. ComfyUI sends no callbacks; the
 * webhook-receiver's sweeper polls /history.
 */
#ifndef REEL_COMFYUI_API_H
#define REEL_COMFYUI_API_H

#include <stddef.h>

#include "util.h"
#include "vendors/vendors.h"

/* What fills a workflow's placeholders. */
struct comfyui_vars {
	const char *prompt, *negative, *image; /* image: an uploaded input file name, or NULL */
	const char *prompt_id;                 /* the client's own prompt_id, or NULL for one ComfyUI draws */
	long seed, width, height, frames;
};

/* The /prompt body for an API-format workflow template: every string value
 * "{{seed}}", "{{width}}", "{{height}}" or "{{frames}}" becomes that number,
 * and "{{prompt}}", "{{negative}}", "{{image}}" inside strings become the
 * text. NULL with err when the template is not a JSON object. The caller frees. */
char *comfyui_api_prompt_body(const char *workflow, size_t len, const struct comfyui_vars *v, const char *client_id,
			      char *err, size_t errlen);
/* Reads a /history/{id} answer: running while {}, failed on status_str
 * "error", else every output file (images, gifs, videos) as a /view URL under base. */
int comfyui_api_read_history(const char *body, size_t len, const char *prompt_id, const char *base,
			     struct vendor_result *out, char *err, size_t errlen) WARN_UNUSED;

#endif

/*
 * Stills with a camera move: decoded once, scaled to cover the frame, drawn
 * at any point of the move. Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_STILL_H
#define REEL_ASSEMBLE_STILL_H

#include <stddef.h>

#include "assemble_spec.h"
#include "util.h"

struct AVFrame;

/* The camera move of shot k (its own, or the one its index picks), as a name. */
const char *assemble__camera(const struct assemble_shot *s, size_t k);

/* A still decoded once and scaled to cover the frame with room for the move. */
struct assemble__still;
struct assemble__still *assemble__still_new(const char *path, int width, int height, const char *camera, char *err,
					    size_t errlen);
/* Draws the still at position u (0 = start of the move, 1 = its end) into out (yuv420p, output size). */
void assemble__still_render(struct assemble__still *s, double u, struct AVFrame *out);
void assemble__still_free(struct assemble__still *s);
/* Decodes the first picture of path, refusing more than the pixel limit. */
int assemble__decode_image(const char *path, struct AVFrame *frame, char *err, size_t errlen) WARN_UNUSED;

#endif

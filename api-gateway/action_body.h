/*
 * Bodies of the job and shot actions, validated before any statement runs:
 * cancel, retry, regenerate and skip take nothing ({} or no body), a shot
 * PATCH takes a prompt and/or a narration, approve optionally edits shots
 * first. Unknown members are refused by name.
 */
#ifndef REEL_ACTION_BODY_H
#define REEL_ACTION_BODY_H

#include <stddef.h>

#include "api_problem.h"
#include "util.h"

#define ACTION_PROMPT_MAX 4000
#define ACTION_NARRATION_MAX 10000
#define ACTION_EDITS_MAX 60

/* A shot's new text; NULL members stay as they are. */
struct action_edit {
	long index;      /* the shot ({n} of the shot routes); -1 in a PATCH */
	char *prompt;    /* owned */
	char *narration; /* owned */
};

/* An empty body or {}. -1 with p filled otherwise. */
int action_body_empty(const char *body, size_t len, struct api_problem *p) WARN_UNUSED;
/* A PATCH body: {"prompt"?, "narration"?}, at least one. */
int action_body_patch(const char *body, size_t len, struct action_edit *e, struct api_problem *p) WARN_UNUSED;
/* An approve body: {} or {"shots":[{"index","prompt"?,"narration"?}...]}; *edits
 * (owned, freed with action_body_free_edits) holds *n edits, indexes distinct. */
int action_body_approve(const char *body, size_t len, struct action_edit **edits, size_t *n,
			struct api_problem *p) WARN_UNUSED;
void action_body_free_edits(struct action_edit *edits, size_t n);
/* A body naming a lifetime (stream tokens, share links): {} or {"expires_in_s": 1..max}; *ttl gets it, max when absent. */
int action_body_expiry(const char *body, size_t len, long max, long *ttl, struct api_problem *p) WARN_UNUSED;

#endif

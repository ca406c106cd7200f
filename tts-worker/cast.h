/*
 * Casting: which voice speaks a shot. The narrator speaks with the job's
 * voice (options.voice, else the provider's default); each character of the
 * storyboard gets a voice of the catalogue (the voices table), its own hint
 * when that names one, else the first voice nobody else has whose gender
 * matches the hint, so two characters never share a voice while the
 * catalogue has enough; when it has not, the rest share its voices in turn,
 * never the narrator's while there is another.
 */
#ifndef REEL_CAST_H
#define REEL_CAST_H

#include <stddef.h>

#include "util.h"

struct db;

struct cast_voice {
	char *provider, *id, *language, *gender; /* gender: "female", "male" or NULL */
};

/* The voice catalogue; owns its strings. */
struct cast {
	struct cast_voice *v;
	size_t n;
};

/* Reads the voices table. 0, or -1 with err. */
int cast_load(struct cast *c, struct db *db, char *err, size_t errlen) WARN_UNUSED;
void cast_release(struct cast *c);
/* Moves the offline (espeak) voices that check refuses from c to dropped,
 * which the caller releases; err holds the last refusal's reason. The
 * others keep their order. */
void cast_keep_loading(struct cast *c, int (*check)(const char *, char *, size_t), struct cast *dropped, char *err,
		       size_t errlen);
/* The voice for a shot: provider's catalogue voices in language (all of the
 * provider's when none is), narrator the job's voice (may be NULL),
 * characters the storyboard's characters as JSON text (may be NULL), speaker
 * the shot's (NULL for narration). NULL means the provider's default; the
 * caller frees. */
char *cast_pick(const struct cast *c, const char *provider, const char *language, const char *narrator,
		const char *characters, const char *speaker);
/* "female", "male" or NULL from a voice hint ("warm older woman"). */
const char *cast_gender(const char *hint);

#endif

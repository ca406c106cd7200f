/*
 * Dead letters: a message a stage gave up on (its attempts used up, or not
 * readable at all). It is kept as a dead_letters row, which operators list
 * and replay with `reelctl dlq`, and sent to reel.dlq with headers stage and
 * error for whoever watches that topic.
 */
#ifndef REEL_DEADLETTER_H
#define REEL_DEADLETTER_H

#include <stddef.h>

#include "util.h"

struct daemon;

/* Borrowed strings describing one dead letter. */
struct deadletter {
	const char *stage; /* "render" */
	const char *key;   /* the message key */
	const char *value; /* the message value (bytes, value_len of them) */
	size_t value_len;
	const char *job;   /* job id, or NULL when the message could not be read */
	int shot;          /* shot index, -1 for none */
	const char *error; /* why it was given up */
	int attempts;      /* attempts made */
};

/* Inserts the dead_letters row in d's open transaction (or on its own when
 * none is open). A value that is not UTF-8 text is stored as \x hex. */
int deadletter_record(struct daemon *d, const struct deadletter *dl) WARN_UNUSED;
/* Produces the message to reel.dlq with headers stage and error; best effort,
 * the row is the record. */
void deadletter_publish(struct daemon *d, const struct deadletter *dl);

#endif

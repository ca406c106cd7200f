/*
 * The wake-up messages the stages exchange on Kafka:
 * {"v":1,"job":ID,"shot":I,"attempt":N,"trace":T}. They carry ids only; the
 * consumer reads the rest from PostgreSQL.
 */
#ifndef REEL_ENVELOPE_H
#define REEL_ENVELOPE_H

#include <stddef.h>

#include "util.h"

#define ENVELOPE_ID_MAX 64

struct envelope {
	char job[ENVELOPE_ID_MAX];   /* job id (uuid text) */
	int shot;                    /* shot index, -1 for job-level messages */
	int attempt;                 /* 1 for the first delivery of this step */
	char trace[ENVELOPE_ID_MAX]; /* trace id, carried into every log line */
};

/* Parses a message value; -1 with err saying what is wrong. */
int envelope_decode(const char *buf, size_t len, struct envelope *env, char *err, size_t errlen) WARN_UNUSED;
/* Writes the message value into out; returns its length, or -1 if it does not fit. */
int envelope_encode(const struct envelope *env, char *out, size_t outlen) WARN_UNUSED;
/* Writes the message key ("ID" or "ID:shot") into out. */
void envelope_key(const struct envelope *env, char *out, size_t outlen);

#endif

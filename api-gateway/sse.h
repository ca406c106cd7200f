/*
 * The gateway's open Server-Sent Events streams, indexed by job: a row of
 * job_events read once is formatted once and written to every stream that
 * follows its job. One heartbeat timer serves all streams, so an idle
 * stream costs its connection and a few dozen bytes here, nothing else.
 */
#ifndef REEL_SSE_H
#define REEL_SSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "http_server.h"

#define SSE_JOB_ID_LEN 36 /* a job id in canonical lower-case UUID text */
#define SSE_EARLY_MAX 4   /* late rows a stream's catch-up may have sent before the hub reads them */

/* One job_events row, as the stream announces it. */
struct sse_event {
	int64_t seq;
	const char *job; /* canonical lower-case id */
	int shot;        /* -1 for the job itself */
	const char *kind;
	const char *detail; /* jsonb text, or NULL */
	const char *at;     /* ISO 8601 UTC */
};

struct sse_hub;    /* owned by the gateway; sse_hub_free releases it */
struct sse_stream; /* owned by its hub; gone once ended or its peer left */

/* A hub on loop sending a heartbeat comment every heartbeat_ms to each stream. */
struct sse_hub *sse_hub_new(uv_loop_t *loop, unsigned heartbeat_ms);
/* Ends every stream, then frees the hub once its timer has closed. */
void sse_hub_free(struct sse_hub *h);
/* Streams open now. */
size_t sse_hub_count(const struct sse_hub *h);
/* Whether a stream follows job. */
bool sse_hub_follows(const struct sse_hub *h, const char *job);

/* Starts the event stream on x (200, text/event-stream) for a job whose
 * events after from_seq the caller sends next with sse_send. The stream is not
 * followed until sse_follow; the hub owns it from here. */
struct sse_stream *sse_open(struct sse_hub *h, struct http_exchange *x, int64_t from_seq);
/* Writes one event (catch-up rows). Returns 1 when that event was the job's
 * final one and the stream ended, -1 when the peer is gone (the stream is
 * freed in both cases), 0 otherwise. */
int sse_send(struct sse_stream *s, const struct sse_event *ev) WARN_UNUSED;
/* Notes that the catch-up sent seq while the hub still waits for it as a
 * late row, so that its late delivery is not a repeat. */
void sse_sent_early(struct sse_stream *s, int64_t seq);
/* From now on the stream receives what sse_dispatch hands out for job
 * (canonical lower-case id). */
void sse_follow(struct sse_stream *s, const char *job);
/* Ends the stream (the job is final) and frees it. */
void sse_end(struct sse_stream *s);

/* Hands a row to every stream following its job that has not had it yet; a
 * late row (one whose transaction committed after a higher seq was read) is
 * also given to streams that already passed its seq. Ends streams at a final
 * event. */
void sse_dispatch(struct sse_hub *h, const struct sse_event *ev, bool late);

/* The SSE text of an event ("id:", "event:", "data:" with the row as JSON);
 * the caller frees. */
char *sse_format(const struct sse_event *ev, size_t *len);
/* Whether kind for the job itself (shot -1) ends its stream: done, failed, canceled. */
bool sse_is_final(const char *kind, int shot);

#endif

/*
 * Open event streams by job, their formatting and their heartbeat.
 *
 * DESIGN: a chained hash table maps a job id to the list of streams that
 * follow it. A stream is 48 bytes plus its share of the job entry; it has
 * no timer of its own: one hub timer walks every stream and writes a
 * comment line, which also notices peers that left without a FIN. A stream
 * is freed when its job ends, when a write fails, or from the server's
 * abort callback, whichever comes first, and each path unlinks it once.
 */
#include "sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "http_server.h"
#include "log.h"
#include "str.h"
#include "banned.h"

#define HEARTBEAT ": heartbeat\n\n"

struct sse_job {
	char id[SSE_JOB_ID_LEN + 1];
	struct sse_job *chain;      /* next in the bucket */
	struct sse_stream *streams; /* following streams, newest first */
};

struct sse_stream {
	struct sse_hub *hub;
	struct http_exchange *x;
	struct sse_job *job; /* NULL until sse_follow */
	struct sse_stream *prev, *next;
	int64_t from_seq;             /* the client had every event up to here */
	int64_t last_seq;             /* the highest seq written */
	int64_t early[SSE_EARLY_MAX]; /* late seqs its catch-up already sent, 0 = free */
};

struct sse_hub {
	uv_timer_t heartbeat;
	struct sse_job **buckets;
	size_t n_buckets, n_jobs, n_streams;
	bool freeing;
};

static struct sse_job **slot(const struct sse_hub *h, const char *id)
{
	struct sse_job **p = &h->buckets[str_hash(id) & (h->n_buckets - 1)];
	while (*p && strcmp((*p)->id, id))
		p = &(*p)->chain;
	return p;
}

static void grow(struct sse_hub *h)
{
	struct sse_job **old = h->buckets;
	size_t n = h->n_buckets;
	h->n_buckets *= 2;
	h->buckets = xcalloc(h->n_buckets, sizeof(*h->buckets));
	for (size_t i = 0; i < n; i++)
		for (struct sse_job *j = old[i], *next; j; j = next) {
			next = j->chain;
			struct sse_job **p = &h->buckets[str_hash(j->id) & (h->n_buckets - 1)];
			j->chain = *p;
			*p = j;
		}
	free(old);
}

static void on_heartbeat(uv_timer_t *t);

struct sse_hub *sse_hub_new(uv_loop_t *loop, unsigned heartbeat_ms)
{
	struct sse_hub *h = xcalloc(1, sizeof(*h));
	h->n_buckets = 1024;
	h->buckets = xcalloc(h->n_buckets, sizeof(*h->buckets));
	uv_timer_init(loop, &h->heartbeat);
	h->heartbeat.data = h;
	uv_timer_start(&h->heartbeat, on_heartbeat, heartbeat_ms, heartbeat_ms);
	return h;
}

size_t sse_hub_count(const struct sse_hub *h)
{
	return h->n_streams;
}

bool sse_hub_follows(const struct sse_hub *h, const char *job)
{
	return *slot(h, job) != NULL;
}

/* Unlinks s from its job (dropping the job entry when it was the last) and frees it. */
static void drop(struct sse_stream *s)
{
	struct sse_hub *h = s->hub;
	if (s->job) {
		if (s->prev)
			s->prev->next = s->next;
		else
			s->job->streams = s->next;
		if (s->next)
			s->next->prev = s->prev;
		if (!s->job->streams) {
			struct sse_job **p = slot(h, s->job->id);
			*p = s->job->chain;
			free(s->job);
			h->n_jobs--;
		}
	}
	h->n_streams--;
	free(s);
}

static void on_abort(struct http_exchange *x, void *arg)
{
	(void)x;
	drop(arg);
}

struct sse_stream *sse_open(struct sse_hub *h, struct http_exchange *x, int64_t from_seq)
{
	struct sse_stream *s = xcalloc(1, sizeof(*s));
	s->hub = h;
	s->x = x;
	s->from_seq = s->last_seq = from_seq;
	h->n_streams++;
	http_add_header(x, "Cache-Control", "no-cache");
	http_add_header(x, "X-Accel-Buffering", "no"); /* proxies must not hold events back */
	http_stream_start(x, 200, "text/event-stream");
	http_on_abort(x, on_abort, s);
	return s;
}

void sse_follow(struct sse_stream *s, const char *job)
{
	struct sse_hub *h = s->hub;
	struct sse_job **p = slot(h, job);
	if (!*p) {
		*p = xcalloc(1, sizeof(**p));
		str_copy((*p)->id, job, sizeof((*p)->id));
		if (++h->n_jobs > h->n_buckets) {
			grow(h);
			p = slot(h, job);
		}
	}
	s->job = *p;
	s->next = s->job->streams;
	if (s->next)
		s->next->prev = s;
	s->job->streams = s;
}

void sse_end(struct sse_stream *s)
{
	http_on_abort(s->x, NULL, NULL);
	http_stream_end(s->x);
	drop(s);
}

bool sse_is_final(const char *kind, int shot)
{
	return shot < 0 && (!strcmp(kind, "done") || !strcmp(kind, "failed") || !strcmp(kind, "canceled"));
}

char *sse_format(const struct sse_event *ev, size_t *len)
{
	char *data = events_row_json(ev->seq, ev->job, ev->shot, ev->kind, ev->detail, ev->at);
	/* kind comes from our own code, but a line break in it would split the
	 * event: the event name is left out rather than trusted. */
	bool named = !strpbrk(ev->kind, "\r\n");
	char *text = xasprintf("id: %" PRId64 "\n%s%s%sdata: %s\n\n", ev->seq, named ? "event: " : "",
			       named ? ev->kind : "", named ? "\n" : "", data);
	free(data);
	*len = strlen(text);
	return text;
}

/* Writes text to s; 1 when the stream ended because ev was final, -1 when
 * the peer is gone; s is freed in both cases. */
static int write_event(struct sse_stream *s, const struct sse_event *ev, const char *text, size_t len)
{
	if (http_stream_write(s->x, text, len) < 0) {
		drop(s); /* the server finished the exchange and will not call on_abort */
		return -1;
	}
	if (ev->seq > s->last_seq)
		s->last_seq = ev->seq;
	if (sse_is_final(ev->kind, ev->shot)) {
		sse_end(s);
		return 1;
	}
	return 0;
}

void sse_sent_early(struct sse_stream *s, int64_t seq)
{
	for (int i = 0; i < SSE_EARLY_MAX; i++)
		if (!s->early[i]) {
			s->early[i] = seq;
			return;
		}
}

/* Whether a late row is new to s; forgets it from early either way. */
static bool late_is_new(struct sse_stream *s, int64_t seq)
{
	if (seq <= s->from_seq)
		return false;
	for (int i = 0; i < SSE_EARLY_MAX; i++)
		if (s->early[i] == seq) {
			s->early[i] = 0;
			return false;
		}
	return true;
}

int sse_send(struct sse_stream *s, const struct sse_event *ev)
{
	size_t len;
	char *text = sse_format(ev, &len);
	int rc = write_event(s, ev, text, len);
	free(text);
	return rc;
}

void sse_dispatch(struct sse_hub *h, const struct sse_event *ev, bool late)
{
	struct sse_job *j = *slot(h, ev->job);
	char *text = NULL;
	size_t len = 0;
	if (!j)
		return;
	/* dropping a job's last stream frees j: walk with the saved link */
	for (struct sse_stream *s = j->streams, *next; s; s = next) {
		next = s->next;
		if (!(ev->seq > s->last_seq || (late && late_is_new(s, ev->seq))))
			continue;
		if (!text)
			text = sse_format(ev, &len);
		(void)write_event(s, ev, text, len);
	}
	free(text);
}

static void on_heartbeat(uv_timer_t *t)
{
	struct sse_hub *h = t->data;
	for (size_t i = 0; i < h->n_buckets; i++)
		for (struct sse_job *j = h->buckets[i], *jn; j; j = jn) {
			jn = j->chain;
			/* dropping the job's last stream frees j: walk with saved links */
			for (struct sse_stream *s = j->streams, *next; s; s = next) {
				next = s->next;
				if (http_stream_write(s->x, HEARTBEAT, sizeof(HEARTBEAT) - 1) < 0)
					drop(s);
			}
		}
}

static void on_timer_closed(uv_handle_t *handle)
{
	struct sse_hub *h = handle->data;
	free(h->buckets);
	free(h);
}

void sse_hub_free(struct sse_hub *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_buckets; i++)
		while (h->buckets[i])
			sse_end(h->buckets[i]->streams);
	uv_close((uv_handle_t *)&h->heartbeat, on_timer_closed);
}

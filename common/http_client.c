/*
 * DESIGN: libcurl's multi interface in its event-driven form. libcurl tells
 * us which sockets to watch (on_socket) and when to wake it (on_curl_timer);
 * each socket gets a uv_poll_t, the wake-up is one uv_timer_t, and both call
 * curl_multi_socket_action, after which finished transfers are collected and
 * their callbacks run. No thread of ours waits on the network; libcurl's own
 * resolver thread is the only other one. Poll handles are freed in their
 * close callbacks, and the client itself once its timer handle has closed.
 * A body may go to a file instead of memory (body_path): libcurl hands over
 * its receive buffer a chunk at a time, so a download of any size costs a
 * stdio buffer; the size cap counts the bytes as they arrive.
 */
#include "http_client.h"

#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "str.h"
#include "banned.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_RESPONSE (8u << 20)
#define MAX_HEADERS 64

struct http_client {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	struct http_client_call *calls; /* in flight, doubly linked */
	size_t n_calls;
};

struct http_client_call {
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	struct curl_slist *resolve;
	http_client_fn cb;
	void *arg;
	char *body;
	size_t body_len, body_cap, max_response;
	char *resp_headers[MAX_HEADERS];
	size_t n_resp_headers;
	bool too_large;
	FILE *file;           /* the body's file in body_path mode, open while the call runs */
	char *path;           /* that file's path, removed unless the call ends DONE */
	char file_error[160]; /* why the file could not be opened or written, or "" */
	uint64_t started_ms;
	char vendor[64]; /* metrics label */
	char error[CURL_ERROR_SIZE];
	struct http_client_call *prev, *next;
};

/* One watched socket. */
struct poll_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_client *client;
};

static void unlink_call(struct http_client_call *call)
{
	struct http_client *c = call->client;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	c->n_calls--;
}

static void free_call(struct http_client_call *call)
{
	curl_multi_remove_handle(call->client->multi, call->easy);
	curl_easy_cleanup(call->easy);
	curl_slist_free_all(call->headers);
	curl_slist_free_all(call->resolve);
	for (size_t i = 0; i < call->n_resp_headers; i++)
		free(call->resp_headers[i]);
	free(call->body);
	free(call->path);
	free(call);
}

/* Closes the body's file; false when its last bytes could not be written. */
static bool close_file(struct http_client_call *call)
{
	bool ok = true;
	if (call->file && fclose(call->file) != 0) {
		ok = false;
		snprintf(call->file_error, sizeof(call->file_error), "the answer could not be written: %s",
			 strerror(errno));
	}
	call->file = NULL;
	return ok;
}

/* Ends the body's file: kept only after a complete answer. */
static void end_file(struct http_client_call *call, bool keep)
{
	close_file(call);
	if (call->path && !keep)
		unlink(call->path);
}

static enum http_client_outcome outcome_of(const struct http_client_call *call, CURLcode code)
{
	if (call->too_large || code == CURLE_FILESIZE_EXCEEDED)
		return HTTP_CLIENT_TOO_LARGE;
	if (call->file_error[0])
		return HTTP_CLIENT_FAILED;
	if (code == CURLE_OPERATION_TIMEDOUT)
		return HTTP_CLIENT_TIMEOUT;
	return code == CURLE_OK ? HTTP_CLIENT_DONE : HTTP_CLIENT_FAILED;
}

/* The vendor label: the request's own, else the URL's host[:port]. */
static void set_vendor(struct http_client_call *call, const struct http_client_request *rq)
{
	const char *host = rq->vendor;
	size_t n;
	if (!host) {
		const char *p = strstr(rq->url, "://"), *at;
		host = p ? p + 3 : rq->url;
		n = strcspn(host, "/?#");
		at = memchr(host, '@', n);
		if (at) {
			n -= (size_t)(at + 1 - host);
			host = at + 1;
		}
	} else {
		n = strlen(host);
	}
	char raw[64];
	snprintf(raw, sizeof(raw), "%.*s", (int)n, host);
	metrics_label_value(call->vendor, sizeof(call->vendor), raw);
}

/* Every vendor call is counted by vendor and status (or the failure's kind). */
static void count_call(const struct http_client_call *call, const struct http_client_response *r)
{
	static const char *const kinds[] = { "", "timeout", "too_large", "failed" };
	char status[16], labels[160];
	if (r->outcome == HTTP_CLIENT_DONE)
		snprintf(status, sizeof(status), "%d", r->status);
	else
		str_copy(status, kinds[r->outcome], sizeof(status));
	snprintf(labels, sizeof(labels), "vendor=\"%s\",status=\"%s\"", call->vendor, status);
	metrics_add(metrics_counter("reel_provider_requests_total", "Vendor HTTP calls by vendor and status", labels),
		    1);
	if (r->outcome != HTTP_CLIENT_DONE || r->status >= 400)
		metrics_add(metrics_counter("reel_provider_errors_total",
					    "Vendor calls that failed or answered 4xx/5xx, by vendor and status",
					    labels),
			    1);
	snprintf(labels, sizeof(labels), "vendor=\"%s\"", call->vendor);
	metrics_observe(metrics_histogram("reel_provider_request_duration_seconds", "Vendor HTTP call latency", labels),
			(double)r->elapsed_ms / 1000.0);
}

static void complete(struct http_client_call *call, CURLcode code)
{
	long status = 0;
	struct http_client_response r = { 0 };
	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
	if (call->path)
		close_file(call);
	r.outcome = outcome_of(call, code);
	r.status = r.outcome == HTTP_CLIENT_FAILED ? 0 : (int)status;
	if (r.outcome == HTTP_CLIENT_DONE)
		r.error = "";
	else if (r.outcome == HTTP_CLIENT_TOO_LARGE)
		r.error = "the answer is larger than allowed";
	else if (call->file_error[0])
		r.error = call->file_error;
	else
		r.error = call->error[0] ? call->error : curl_easy_strerror(code);
	r.body = call->body ? call->body : "";
	r.body_len = call->body_len;
	r.headers = call->resp_headers;
	r.n_headers = call->n_resp_headers;
	r.elapsed_ms = monotime_ms() - call->started_ms;
	count_call(call, &r);
	unlink_call(call);
	end_file(call, r.outcome == HTTP_CLIENT_DONE);
	call->cb(&r, call->arg);
	free_call(call);
}

static void check_done(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		struct http_client_call *call;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		complete(call, m->data.result);
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct poll_ctx *p = h->data;
	int flags = 0, running;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	struct http_client *c = p->client; /* p may be closed inside socket_action */
	curl_multi_socket_action(c->multi, p->fd, flags, &running);
	check_done(c);
}

static void on_timer(uv_timer_t *t)
{
	struct http_client *c = t->data;
	int running;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static void free_poll(uv_handle_t *h)
{
	free(h->data);
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct poll_ctx *p = socketp;
	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (p) {
			uv_poll_stop(&p->poll);
			uv_close((uv_handle_t *)&p->poll, free_poll);
			curl_multi_assign(c->multi, fd, NULL);
		}
		return 0;
	}
	if (!p) {
		p = xcalloc(1, sizeof(*p));
		p->fd = fd;
		p->client = c;
		if (uv_poll_init_socket(c->loop, &p->poll, fd) != 0) {
			free(p);
			return -1;
		}
		p->poll.data = p;
		curl_multi_assign(c->multi, fd, p);
	}
	int events = (what & CURL_POLL_IN ? UV_READABLE : 0) | (what & CURL_POLL_OUT ? UV_WRITABLE : 0);
	uv_poll_start(&p->poll, events, on_poll);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&c->timer);
	else /* 0 means "now": run it from the loop, never from inside libcurl */
		uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

struct http_client *http_client_new(uv_loop_t *loop)
{
	static bool curl_ready;
	struct http_client *c = xcalloc(1, sizeof(*c));
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			abort(); /* only fails when out of memory */
		curl_ready = true;
	}
	c->loop = loop;
	c->multi = curl_multi_init();
	if (!c->multi)
		abort();
	uv_timer_init(loop, &c->timer);
	c->timer.data = c;
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

static void free_client(uv_handle_t *h)
{
	free(h->data);
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	while (c->calls)
		http_client_cancel(c->calls);
	curl_multi_cleanup(c->multi); /* closes the connections, removing their polls */
	uv_close((uv_handle_t *)&c->timer, free_client);
}

void http_client_cancel(struct http_client_call *call)
{
	unlink_call(call);
	end_file(call, false);
	free_call(call);
}

size_t http_client_in_flight(const struct http_client *c)
{
	return c->n_calls;
}

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct http_client_call *call = userp;
	size_t len = size * n;
	if (call->body_len + len > call->max_response) {
		call->too_large = true;
		return 0; /* makes libcurl abort the transfer */
	}
	if (call->path) {
		if (!call->file || fwrite(data, 1, len, call->file) != len) {
			if (!call->file_error[0])
				snprintf(call->file_error, sizeof(call->file_error),
					 "the answer could not be written: %s", strerror(errno));
			return 0;
		}
		call->body_len += len;
		return len;
	}
	if (call->body_len + len + 1 > call->body_cap) {
		call->body_cap = (call->body_len + len + 1) * 2;
		if (call->body_cap > call->max_response + 1)
			call->body_cap = call->max_response + 1;
		call->body = xrealloc(call->body, call->body_cap);
	}
	memcpy(call->body + call->body_len, data, len);
	call->body_len += len;
	call->body[call->body_len] = '\0';
	return len;
}

/* Keeps the header lines of the last answer (a redirect or 100 Continue starts over). */
static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
	struct http_client_call *call = userp;
	size_t len = size * n, end = len;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		for (size_t i = 0; i < call->n_resp_headers; i++)
			free(call->resp_headers[i]);
		call->n_resp_headers = 0;
		return len;
	}
	while (end > 0 && (data[end - 1] == '\r' || data[end - 1] == '\n'))
		end--;
	if (end == 0 || !memchr(data, ':', end) || call->n_resp_headers == MAX_HEADERS)
		return len;
	char *line = xstrndup(data, end);
	for (char *p = line; *p && *p != ':'; p++)
		*p = (char)tolower((unsigned char)*p);
	call->resp_headers[call->n_resp_headers++] = line;
	return len;
}

static void set_request(struct http_client_call *call, const struct http_client_request *rq)
{
	CURL *e = call->easy;
	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ? rq->timeout_ms : (long)DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->error);
	curl_easy_setopt(e, CURLOPT_PRIVATE, call);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	if (rq->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, rq->body);
	}
	if (rq->method)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
	/* An announced Content-Length over the cap is refused before any byte. */
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)call->max_response);
	/* No "Expect: 100-continue" round trip before a body. */
	call->headers = curl_slist_append(call->headers, "Expect:");
	for (size_t i = 0; i < rq->n_headers; i++)
		call->headers = curl_slist_append(call->headers, rq->headers[i]);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
	if (rq->resolve) {
		/* The address a caller checked is the one connected to, whatever DNS says next. */
		call->resolve = curl_slist_append(NULL, rq->resolve);
		curl_easy_setopt(e, CURLOPT_RESOLVE, call->resolve);
	}
}

/* A file that cannot be opened fails the call when it ends, like any other failure. */
static void open_file(struct http_client_call *call, const char *path)
{
	call->path = xstrdup(path);
	call->file = fopen(path, "wbe");
	if (!call->file)
		snprintf(call->file_error, sizeof(call->file_error), "the answer's file could not be created: %s",
			 strerror(errno));
}

struct http_client_call *http_client_start(struct http_client *c, const struct http_client_request *rq,
					   http_client_fn cb, void *arg)
{
	struct http_client_call *call = xcalloc(1, sizeof(*call));
	call->client = c;
	call->cb = cb;
	call->arg = arg;
	call->max_response = rq->max_response ? rq->max_response : DEFAULT_MAX_RESPONSE;
	call->started_ms = monotime_ms();
	set_vendor(call, rq);
	if (rq->body_path)
		open_file(call, rq->body_path);
	call->easy = curl_easy_init();
	if (!call->easy)
		abort();
	set_request(call, rq);
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->n_calls++;
	if (curl_multi_add_handle(c->multi, call->easy) != CURLM_OK) {
		log_error("libcurl refused a request to %s", rq->url);
		http_client_cancel(call);
		return NULL;
	}
	return call;
}

const char *http_client_header(const struct http_client_response *r, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *h = r->headers[i];
		if (strncmp(h, name, len) == 0 && h[len] == ':') {
			h += len + 1;
			while (*h == ' ' || *h == '\t')
				h++;
			return h;
		}
	}
	return NULL;
}

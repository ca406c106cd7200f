/*
 * The download route and the signed URLs it serves. Reading a file (up to
 * FILES_MAX_PART bytes for a ranged answer) runs on the libuv thread pool so
 * the loop never waits on the disk.
 */
#include "files_api.h"

#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "files.h"
#include "gateway.h"
#include "http_server.h"
#include "log.h"
#include "sign.h"
#include "storage.h"
#include "banned.h"

struct file_request {
	uv_work_t work;
	struct http_exchange *x; /* NULL once the client went away */
	struct gateway *g;
	char *key, *exp, *sig, *range;
	bool authorized; /* the caller checked access to key: no signature needed */
	struct file_answer answer;
};

char *files_api_file_url(const struct gateway *g, const char *key)
{
	char *presigned = g->cfg.s3_proxy ? NULL : storage_presign(g->d->storage, key, g->cfg.url_ttl_s);
	if (presigned)
		return presigned;
	return sign_file_url(g->cfg.url_secret, "/v1/files", key, sign_expiry(time(NULL), g->cfg.url_ttl_s));
}

static char *copy_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void on_client_gone(struct http_exchange *x, void *arg)
{
	struct file_request *fr = arg;
	(void)x;
	fr->x = NULL;
}

static void read_file(uv_work_t *req)
{
	struct file_request *fr = req->data;
	if (fr->authorized) {
		if (files_serve(fr->g->d->storage, fr->key, fr->range, &fr->answer) < 0)
			log_info("read of %s failed: %s", fr->key, fr->answer.problem_detail);
		return;
	}
	if (files_answer(fr->g->d->storage, fr->g->cfg.url_secret, fr->key, fr->exp, fr->sig, fr->range, time(NULL),
			 &fr->answer) < 0)
		log_info("download of %s refused: %s", fr->key, fr->answer.problem_detail);
}

static void send_answer(struct http_exchange *x, const struct file_answer *a)
{
	if (a->content_range[0])
		http_add_header(x, "Content-Range", a->content_range);
	if (a->problem_type) {
		http_problem(x, a->status, a->problem_type, NULL, a->problem_detail, NULL);
		return;
	}
	http_add_header(x, "Accept-Ranges", "bytes");
	http_add_header(x, "X-Content-Type-Options", "nosniff");
	http_add_header(x, "Cache-Control", "private, max-age=300");
	http_reply(x, a->status, a->content_type, a->body, a->len);
}

static void after_read(uv_work_t *req, int status)
{
	struct file_request *fr = req->data;
	(void)status;
	if (fr->x) {
		http_on_abort(fr->x, NULL, NULL);
		send_answer(fr->x, &fr->answer);
	}
	files_answer_release(&fr->answer);
	free(fr->key);
	free(fr->exp);
	free(fr->sig);
	free(fr->range);
	free(fr);
}

/* Reads fr's answer on the thread pool and sends it from the loop. */
static void queue_read(struct daemon *d, struct http_exchange *x, struct file_request *fr)
{
	fr->x = x;
	fr->g = d->app;
	fr->range = copy_or_null(http_header(http_request_of(x), "range"));
	fr->work.data = fr;
	http_on_abort(x, on_client_gone, fr);
	uv_queue_work(d->loop, &fr->work, read_file, after_read);
}

void files_api_get_file(struct http_exchange *x, void *arg)
{
	struct http_request *rq = http_request_of(x);
	struct file_request *fr = xcalloc(1, sizeof(*fr));
	char exp[32], sig[96];
	fr->key = xstrdup(rq->params[0]);
	fr->exp = copy_or_null(http_query(rq, "exp", exp, sizeof(exp)));
	fr->sig = copy_or_null(http_query(rq, "sig", sig, sizeof(sig)));
	queue_read(arg, x, fr);
}

void files_api_send_file(struct http_exchange *x, struct gateway *g, const char *key)
{
	struct file_request *fr = xcalloc(1, sizeof(*fr));
	fr->key = xstrdup(key);
	fr->authorized = true;
	queue_read(g->d, x, fr);
}

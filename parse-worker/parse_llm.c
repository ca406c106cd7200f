/*
 * DESIGN: a conversation is a chain of callbacks on the loop: send ->
 * on_answer -> (repair: send -> on_answer) -> worker_task_done. Vendor
 * failures are sorted by what helps: 429/5xx/529, timeouts, unreachable
 * servers, truncated or empty answers and storyboards still wrong after the
 * repair round are retried by the worker loop with backoff (at least the
 * vendor's Retry-After); a refused key or a refused request fails the job at
 * once. A 400 about a feature the server lacks changes the request and sends
 * it again without spending an attempt.
 */
#include "parse_config.h"
#include "parse_llm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "retry.h"
#include "banned.h"

static void send_call(struct parse_state *ps, struct task *t, const char *purpose);

struct call_ctx {
	struct parse_state *ps;
	struct task *t;
};

static struct provider_call *record(struct parse_state *ps, struct parse_data *pd, struct task *t,
				    const struct http_client_response *r)
{
	pd->calls = xrealloc(pd->calls, (pd->n_calls + 1) * sizeof(*pd->calls));
	struct provider_call *c = &pd->calls[pd->n_calls++];
	*c = (struct provider_call){ .job = t->env.job,
				     .shot = -1,
				     .provider = pd->provider->info.name,
				     .purpose = pd->purpose,
				     .attempt = t->work_attempts,
				     .http_status = r->status,
				     .latency_ms = (long)r->elapsed_ms };
	snprintf(c->model, sizeof(c->model), "%s", pd->provider->model(ps->settings));
	return c;
}

static void count_tokens(struct parse_state *ps, struct parse_data *pd, struct provider_call *c,
			 const struct parse_answer *a)
{
	double in, out;
	pd->provider->prices(ps->settings, &in, &out);
	c->tokens_in = a->tokens_in;
	c->tokens_out = a->tokens_out;
	c->cost_usd = ((double)a->tokens_in * in + (double)a->tokens_out * out) / 1e6;
	if (a->model[0])
		snprintf(c->model, sizeof(c->model), "%s", a->model);
}

/* The wait a vendor asked for: retry-after-ms (OpenAI's) or Retry-After. */
static uint64_t asked_wait_ms(const struct http_client_response *r)
{
	const char *ms = http_client_header(r, "retry-after-ms");
	int64_t wait = ms ? atoll(ms) : retry_after_ms(http_client_header(r, "retry-after"), time(NULL));
	return wait > 0 ? (uint64_t)wait : 0;
}

/* Models in JSON mode sometimes still wrap the object in a Markdown fence. */
static void unfence(char *text)
{
	char *start = text, *end;
	if (strncmp(text, "```", 3) != 0)
		return;
	start = strchr(text, '\n');
	end = strrchr(text, '`');
	if (!start || end < start)
		return;
	while (end > start && *end == '`')
		end--;
	memmove(text, start + 1, (size_t)(end - start));
	text[end - start] = '\0';
}

static void take_storyboard(struct parse_state *ps, struct task *t, struct provider_call *c, char *text)
{
	struct parse_data *pd = t->data;
	struct storyboard_limits lim = { pd->job.max_shots, pd->job.language };
	struct storyboard_errors errs;
	unfence(text);
	if (storyboard_parse(text, strlen(text), &lim, &pd->board, &errs) == 0) {
		c->outcome = "ok";
		storyboard_finish_prompts(&pd->board, pd->job.style);
		pd->meta_json = storyboard_meta_json(&pd->board);
		free(text);
		t->result = WORK_OK;
		worker_task_done(t);
		return;
	}
	c->outcome = "invalid";
	char *why = storyboard_errors_text(&errs);
	storyboard_errors_release(&errs);
	if (strcmp(pd->purpose, "storyboard") == 0) {
		struct prompt_vars v = { .errors = why, .max_shots = pd->job.max_shots };
		log_info("the %s storyboard is invalid, asking for a repair: %s", pd->provider->info.name, why);
		free(pd->rejected);
		free(pd->repair);
		pd->rejected = text;
		pd->repair = parse_config_render_prompt(ps->settings->prompts[PROMPT_REPAIR], &v);
		free(why);
		send_call(ps, t, "repair");
		return;
	}
	free(text);
	worker_task_verdict(t, WORK_RETRY, "invalid_storyboard",
			    "the %s storyboard was still invalid after a repair request: %s", pd->provider->info.name,
			    why);
	free(why);
}

static void on_success(struct parse_state *ps, struct task *t, struct provider_call *c,
		       const struct http_client_response *r)
{
	struct parse_data *pd = t->data;
	struct parse_answer a = { 0 };
	char why[256];
	if (pd->provider->read(r->body, r->body_len, &a, why, sizeof(why)) < 0) {
		c->outcome = "invalid";
		return worker_task_verdict(t, WORK_RETRY, "bad_answer",
					   "the %s provider answered in an unknown shape: %s", pd->provider->info.name,
					   why);
	}
	count_tokens(ps, pd, c, &a);
	if (a.truncated) {
		c->outcome = "truncated";
		free(a.text);
		return worker_task_verdict(t, WORK_RETRY, "truncated_answer",
					   "the %s answer was cut off at the token limit (REEL_PARSE_MAX_TOKENS=%ld)",
					   pd->provider->info.name, ps->settings->max_tokens);
	}
	if (!a.text) {
		c->outcome = "empty";
		return worker_task_verdict(t, WORK_RETRY, "empty_answer", "the %s provider answered with no storyboard",
					   pd->provider->info.name);
	}
	take_storyboard(ps, t, c, a.text);
}

/* The SDKs' rule: 408, 409, 429 and 5xx are retried unless x-should-retry
 * says otherwise; a 429 for a used-up quota is not (waiting does not help). */
static bool transient(const struct http_client_response *r)
{
	const char *should = http_client_header(r, "x-should-retry");
	if (should)
		return strcmp(should, "true") == 0;
	if (r->status == 429 && strstr(r->body, "insufficient_quota"))
		return false;
	return retry_status_transient(r->status);
}

static void on_error_status(struct parse_state *ps, struct task *t, struct provider_call *c,
			    const struct http_client_response *r)
{
	struct parse_data *pd = t->data;
	const char *name = pd->provider->info.name;
	char msg[300];
	pd->provider->error_text(r->body, r->body_len, msg, sizeof(msg));
	if (r->status == 401 || r->status == 403) {
		c->outcome = "auth";
		return worker_task_verdict(t, WORK_FAIL, "provider_auth",
					   "the %s provider refused the key in %s (HTTP %d: %s)", name,
					   pd->provider->info.key_var, r->status, msg);
	}
	if (transient(r)) {
		c->outcome = r->status == 429 ? "rate_limited" : "server_error";
		t->retry_after_ms = asked_wait_ms(r);
		return worker_task_verdict(t, WORK_RETRY,
					   r->status == 429 ? "provider_rate_limited" : "provider_unavailable",
					   "the %s provider answered HTTP %d: %s", name, r->status, msg);
	}
	c->outcome = "rejected";
	if (r->status == 400 && pd->provider->downgrade &&
	    pd->provider->downgrade(ps->settings, r->body, r->body_len)) {
		log_warn("the %s server refused the structured output request (%s); using JSON mode from now on", name,
			 msg);
		return send_call(ps, t, pd->purpose);
	}
	worker_task_verdict(t, WORK_FAIL, "provider_rejected", "the %s provider refused the request (HTTP %d: %s)",
			    name, r->status, msg);
}

static void on_answer(const struct http_client_response *r, void *arg)
{
	struct call_ctx ctx = *(struct call_ctx *)arg;
	struct parse_data *pd = ctx.t->data;
	free(arg);
	pd->call = NULL;
	worker_task_log(ctx.t);
	struct provider_call *c = record(ctx.ps, pd, ctx.t, r);
	switch (r->outcome) {
	case HTTP_CLIENT_TIMEOUT:
		c->outcome = "timeout";
		return worker_task_verdict(ctx.t, WORK_RETRY, "provider_timeout",
					   "the %s provider did not answer within %ld s (REEL_PARSE_TIMEOUT_S)",
					   pd->provider->info.name, ctx.ps->settings->timeout_s);
	case HTTP_CLIENT_TOO_LARGE:
		c->outcome = "oversize";
		return worker_task_verdict(ctx.t, WORK_RETRY, "answer_too_large",
					   "the %s answer was larger than %ld KB (REEL_PARSE_MAX_ANSWER_KB)",
					   pd->provider->info.name, ctx.ps->settings->max_answer_kb);
	case HTTP_CLIENT_FAILED:
		c->outcome = "failed";
		return worker_task_verdict(ctx.t, WORK_RETRY, "provider_unreachable",
					   "the %s provider could not be reached: %s", pd->provider->info.name,
					   r->error);
	case HTTP_CLIENT_DONE: break;
	}
	if (r->status >= 200 && r->status < 300)
		on_success(ctx.ps, ctx.t, c, r);
	else
		on_error_status(ctx.ps, ctx.t, c, r);
}

static void send_call(struct parse_state *ps, struct task *t, const char *purpose)
{
	struct parse_data *pd = t->data;
	struct parse_prompt p = { ps->settings->prompts[PROMPT_SYSTEM], pd->user, pd->rejected, pd->repair };
	struct parse_request rq = { 0 };
	struct call_ctx *ctx = xmalloc(sizeof(*ctx));
	*ctx = (struct call_ctx){ ps, t };
	pd->purpose = purpose;
	pd->provider->build(ps->settings, &p, &rq);
	struct http_client_request hr = { .method = "POST",
					  .url = rq.url,
					  .headers = (const char *const *)rq.headers,
					  .n_headers = rq.n_headers,
					  .body = rq.body,
					  .body_len = strlen(rq.body),
					  .timeout_ms = ps->settings->timeout_s * 1000,
					  .max_response = (size_t)ps->settings->max_answer_kb * 1024,
					  .vendor = pd->provider->info.name };
	pd->call = http_client_start(ps->http, &hr, on_answer, ctx);
	free(rq.url);
	free(rq.body);
	for (size_t i = 0; i < rq.n_headers; i++)
		free(rq.headers[i]);
	if (!pd->call) {
		free(ctx);
		worker_task_verdict(t, WORK_RETRY, "internal", "the request to the %s provider could not be started",
				    pd->provider->info.name);
	}
}

static enum parse_prompt_kind template_prompt(const char *name)
{
	if (strcmp(name, "script") == 0)
		return PROMPT_SCRIPT;
	return strcmp(name, "demo") == 0 ? PROMPT_DEMO : PROMPT_STORYBOARD;
}

void parse_llm_start(struct parse_state *ps, struct task *t)
{
	struct parse_data *pd = t->data;
	if (!pd->user) {
		struct prompt_vars v = { .text = pd->job.text,
					 .url = pd->job.url,
					 .language = pd->job.language ? pd->job.language : "the language of the text",
					 .style = pd->job.style ? pd->job.style : "the storyteller's choice",
					 .max_shots = pd->job.max_shots };
		pd->user = parse_config_render_prompt(ps->settings->prompts[template_prompt(pd->job.template_name)],
						      &v);
	}
	free(pd->rejected);
	free(pd->repair);
	pd->rejected = pd->repair = NULL;
	send_call(ps, t, "storyboard");
}

void parse_llm_data_free(struct parse_data *pd)
{
	if (!pd)
		return;
	free(pd->job.template_name);
	free(pd->job.text);
	free(pd->job.url);
	free(pd->job.style);
	free(pd->job.language);
	free(pd->job.provider);
	storyboard_release(&pd->board);
	free(pd->meta_json);
	free(pd->calls);
	free(pd->user);
	free(pd->rejected);
	free(pd->repair);
	free(pd);
}

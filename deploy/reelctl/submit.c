/*
 * reelctl submit: creates a job through the gateway's HTTP API and, with
 * --wait, polls it and draws a progress bar on stderr until it is final.
 * Blocking libcurl is fine here: a command line tool with one request at a
 * time. The last stdout line is the job id, or with --wait the video's URL.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "file.h"
#include "json.h"
#include "reelctl.h"
#include "util.h"
#include "banned.h"

static const char submit_help[] =
	"usage: reelctl submit FILE [--wait] [--template storyboard|script] [--url GATEWAY] [--interval-ms N]\n"
	"Creates a job from FILE: a JSON file is sent as the request body as it is, any other file is the\n"
	"input text of a storyboard (or --template script) job. Prints the job id; with --wait shows a\n"
	"progress bar until the job is done (prints the video URL, exit 0) or failed or canceled (exit 1).\n"
	"GATEWAY defaults to $REEL_GATEWAY_URL, else the local fleet's http://127.0.0.1:8080 plus\n"
	"$REEL_PORT_OFFSET (as deploy/fleet.sh shifts it); $REEL_API_KEY (rk_...) or $REEL_TOKEN (a JWT)\n"
	"is sent as the bearer credential when set.\n";

struct answer {
	char *body;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	a->body = xrealloc(a->body, a->len + size * n + 1);
	memcpy(a->body + a->len, p, size * n);
	a->len += size * n;
	a->body[a->len] = '\0';
	return size * n;
}

/* One request; the parsed JSON answer, or NULL after printing why. */
static cJSON *call(const char *method, const char *url, const char *body)
{
	const char *key = getenv("REEL_API_KEY"), *token = getenv("REEL_TOKEN");
	struct answer a = { xstrdup(""), 0 };
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	char *auth = NULL;
	if ((key && *key) || (token && *token)) {
		auth = xasprintf("Authorization: Bearer %s", key && *key ? key : token);
		h = curl_slist_append(h, auth);
	}
	CURL *e = curl_easy_init();
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
	if (body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	free(auth);
	cJSON *j = rc == CURLE_OK ? json_parse(a.body, a.len) : NULL;
	if (rc != CURLE_OK)
		fprintf(stderr, "reelctl submit: %s %s: %s\n", method, url, curl_easy_strerror(rc));
	else if (status >= 300 || !j)
		fprintf(stderr, "reelctl submit: %s %s answered %ld: %s\n", method, url, status, a.body);
	if (rc == CURLE_OK && status >= 300) {
		cJSON_Delete(j);
		j = NULL;
	}
	free(a.body);
	return j;
}

/* The request body: the file itself when it is JSON, else a job around its text. */
static char *request_body(const char *path, const char *template)
{
	size_t len;
	char *text = file_read_all(path, 1 << 20, &len);
	if (!text)
		return NULL;
	cJSON *j = json_parse(text, len);
	if (!j || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "template", template);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "input"), "text", text);
	}
	free(text);
	char *body = json_print(j);
	cJSON_Delete(j);
	return body;
}

static void draw(const cJSON *job)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(job, "progress");
	long pct = 0, total = 0, ready = 0;
	if (json_int(p, "percent", &pct) < 0)
		pct = 0;
	if (json_int(p, "shots_total", &total) < 0 || json_int(p, "shots_ready", &ready) < 0)
		total = ready = 0;
	char bar[41];
	int fill = (int)(pct < 0 ? 0 : pct > 100 ? 40 : pct * 40 / 100);
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(40 - fill));
	bar[40] = '\0';
	fprintf(stderr, "\r[%s] %3ld%%  %-10s shots %ld/%ld ", bar, pct, json_str(job, "status"), ready, total);
	fflush(stderr);
}

static int is_final(const char *status)
{
	return !strcmp(status, "done") || !strcmp(status, "failed") || !strcmp(status, "canceled");
}

static int wait_for(const char *gateway, const char *id, long interval_ms)
{
	char *url = xasprintf("%s/v1/jobs/%s", gateway, id);
	int rc = 1;
	for (;;) {
		cJSON *job = call("GET", url, NULL);
		if (!job)
			break;
		const char *status = json_str(job, "status");
		draw(job);
		if (status && is_final(status)) {
			const char *video = json_str(cJSON_GetObjectItemCaseSensitive(job, "output"), "video_url");
			const cJSON *e = cJSON_GetObjectItemCaseSensitive(job, "error");
			char *err = e ? json_print(e) : xstrdup("");
			fprintf(stderr, "\njob %s %s%s%s\n", id, status, strcmp(status, "done") ? ": " : "",
				strcmp(status, "done") ? err : "");
			free(err);
			if (!strcmp(status, "done"))
				printf("%s\n", video ? video : id);
			rc = strcmp(status, "done") ? 1 : 0;
			cJSON_Delete(job);
			break;
		}
		cJSON_Delete(job);
		usleep((useconds_t)interval_ms * 1000);
	}
	free(url);
	return rc;
}

/* The gateway of a local fleet: 8080 plus REEL_PORT_OFFSET, as deploy/fleet.sh places it; NULL if the offset is bad. */
static char *default_gateway(void)
{
	const char *offset = getenv("REEL_PORT_OFFSET");
	char *end;
	long n = 0;
	if (offset && *offset) {
		errno = 0;
		n = strtol(offset, &end, 10);
		if (errno || *end || n < -8079 || n > 65535 - 8080) {
			fprintf(stderr,
				"reelctl submit: bad value for REEL_PORT_OFFSET: \"%s\" (8080 plus it must be a port)\n",
				offset);
			return NULL;
		}
	}
	return xasprintf("http://127.0.0.1:%ld", 8080 + n);
}

int submit_job(int argc, char **argv)
{
	const char *gateway = args_flag(argc, argv, "--url"), *template = args_flag(argc, argv, "--template");
	const char *interval = args_flag(argc, argv, "--interval-ms");
	if (args_help(argc, argv, submit_help))
		return 0;
	if (argc < 3 || argv[2][0] == '-') {
		fputs(submit_help, stderr);
		return 2;
	}
	if (!gateway)
		gateway = getenv("REEL_GATEWAY_URL");
	char *base = gateway && *gateway ? xstrdup(gateway) : default_gateway();
	char *body = base ? request_body(argv[2], template ? template : "storyboard") : NULL;
	if (!body) {
		if (base)
			fprintf(stderr, "reelctl submit: cannot read %s\n", argv[2]);
		free(base);
		return 2;
	}
	char *url = xasprintf("%s/v1/jobs", base);
	free(base);
	cJSON *job = call("POST", url, body);
	int rc = 1;
	free(body);
	if (job && json_str(job, "id")) {
		const char *id = json_str(job, "id");
		fprintf(stderr, "job %s %s\n", id, json_str(job, "status") ? json_str(job, "status") : "");
		url[strlen(url) - strlen("/v1/jobs")] = '\0';
		if (args_has(argc, argv, "--wait"))
			rc = wait_for(url, id, interval ? atol(interval) : 500);
		else
			rc = (printf("%s\n", id), 0);
	}
	cJSON_Delete(job);
	free(url);
	return rc;
}

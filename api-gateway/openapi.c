/*
 * GET /openapi.json: the OpenAPI 3.1 description of the gateway
 * (api-gateway/openapi.json), read once at start and served as is. A test
 * compares its paths with main.c's route table.
 */
#include "openapi.h"

#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "file.h"
#include "gateway.h"
#include "http_server.h"
#include "identity.h"
#include "json.h"
#include "log.h"
#include "banned.h"

#define OPENAPI_MAX (1u << 20)

/* Reads path if it is a JSON document; 0, or -1 leaving g untouched. */
static int load(struct gateway *g, const char *path)
{
	size_t len;
	char *text = file_read_all(path, OPENAPI_MAX, &len);
	cJSON *j = text ? json_parse(text, len) : NULL;
	int ok = j && cJSON_IsObject(j);
	cJSON_Delete(j);
	if (!ok) {
		free(text);
		return -1;
	}
	g->openapi = text;
	g->openapi_len = len;
	log_info("serving the OpenAPI document %s", path);
	return 0;
}

int openapi_configure(struct daemon *d, char *err, size_t errlen)
{
	struct gateway *g = d->app;
	static const char *const near_binary[] = { "../share/openapi.json", "../../../api-gateway/openapi.json" };
	if (g->cfg.openapi_file && *g->cfg.openapi_file) {
		if (load(g, g->cfg.openapi_file) < 0)
			return errbuf_set(err, errlen, "REEL_OPENAPI_FILE: %s is not a readable JSON document",
					  g->cfg.openapi_file);
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(near_binary) && !g->openapi; i++) {
			char *path = file_exe_relative(near_binary[i]);
			(void)load(g, path);
			free(path);
		}
		if (!g->openapi)
			return errbuf_set(err, errlen,
					  "REEL_OPENAPI_FILE: no openapi.json in ../share beside the binary "
					  "nor in the source tree; set REEL_OPENAPI_FILE");
	}
	return identity_configure(d, err, errlen);
}

void openapi_get(struct http_exchange *x, void *arg)
{
	struct daemon *d = arg;
	const struct gateway *g = d->app;
	http_reply(x, 200, "application/json", g->openapi, g->openapi_len);
}

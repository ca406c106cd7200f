/*
 * parse-worker's option table (the vendors declare theirs in their files,
 * filling the same struct parse_config), and the files it reads at start: the prompt
 * texts (so they can be tuned without recompiling) and the storyboard schema
 * that vendors are asked to follow. The folder is REEL_PARSE_PROMPTS_DIR,
 * else share/reelforge/parse-worker/prompts beside the binary (an installed
 * tree), else parse-worker/prompts of the source tree the binary was built in.
 */
#include "parse_config.h"

#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errbuf.h"
#include "json.h"
#include "log.h"
#include "parse_provider.h"
#include "banned.h"

#define PROMPT_MAX_BYTES (64 * 1024)
#define SCHEMA_MAX_BYTES (256 * 1024)

/* clang-format off */
#define OPT(name, type, def, flags, field, min, max, help) \
	{ name, type, def, flags, offsetof(struct parse_config, field), min, max, help }
/* clang-format on */

const struct config_option parse_config_options[] = {
	OPT("REEL_PARSE_MODEL", CONFIG_STRING, NULL, 0, model, 0, 0, "model for every vendor (overrides *_MODEL)"),
	OPT("REEL_PARSE_PROMPTS_DIR", CONFIG_STRING, NULL, 0, prompts_dir, 0, 0,
	    "folder of the prompt texts (default: beside the binary or the source tree)"),
	OPT("REEL_PARSE_SCHEMA", CONFIG_STRING, NULL, 0, schema_path, 0, 0,
	    "storyboard JSON Schema (default: storyboard.schema.json beside the prompts folder)"),
	OPT("REEL_PARSE_TIMEOUT_S", CONFIG_INT, "120", 0, timeout_s, 1, 3600, "seconds one vendor call may take"),
	OPT("REEL_PARSE_MAX_TOKENS", CONFIG_INT, "8192", 0, max_tokens, 256, 200000, "answer token budget"),
	OPT("REEL_PARSE_MAX_ANSWER_KB", CONFIG_INT, "1024", 0, max_answer_kb, 4, 65536,
	    "larger vendor answers are refused"),
};
const size_t parse_config_n_options = ARRAY_SIZE(parse_config_options);

struct config_option *parse_config_table(size_t *n)
{
	size_t total = parse_config_n_options;
	for (size_t i = 0; i < parse_registry.n; i++)
		total += provider_n_options(parse_registry.list[i]);
	struct config_option *all = xmalloc(total * sizeof(*all));
	memcpy(all, parse_config_options, sizeof(parse_config_options));
	*n = parse_config_n_options;
	for (size_t i = 0; i < parse_registry.n; i++) {
		/* An offline provider has no options at all (NULL). */
		for (const struct config_option *o = parse_registry.list[i]->options; o && o->name; o++)
			all[(*n)++] = *o;
	}
	return all;
}

static const char *const prompt_files[PROMPT_COUNT] = { "system.txt", "storyboard.txt", "script.txt", "demo.txt",
							"repair.txt" };

static int parse_prices(const char *name, const char *v, double *in, double *out, char *err, size_t errlen)
{
	char *end;
	*in = strtod(v, &end);
	if (*end == ',')
		*out = strtod(end + 1, &end);
	if (*end || end == v || *in < 0 || *out < 0)
		return errbuf_set(err, errlen, "%s=%s: expected two prices, input,output, in USD per million tokens",
				  name, v);
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first default folder that exists; the caller frees. */
static char *default_prompts_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return xstrdup("parse-worker/prompts");
	exe[n] = '\0';
	const char *dir = dirname(exe);
	char *installed = xasprintf("%s/../share/reelforge/parse-worker/prompts", dir);
	if (is_dir(installed))
		return installed;
	free(installed);
	return xasprintf("%s/../../../parse-worker/prompts", dir);
}

/* A whole small file as a string; NULL with err when unreadable or too large. */
static char *slurp(const char *path, size_t max, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		errbuf_set(err, errlen, "cannot read %s", path);
		return NULL;
	}
	char *buf = xmalloc(max + 1);
	size_t n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		free(buf);
		errbuf_set(err, errlen, "%s is larger than %zu bytes", path, max);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int load_files(struct parse_config *s, char *err, size_t errlen)
{
	char why[PATH_MAX + 64];
	for (int i = 0; i < PROMPT_COUNT; i++) {
		char *path = xasprintf("%s/%s", s->prompts_dir, prompt_files[i]);
		s->prompts[i] = slurp(path, PROMPT_MAX_BYTES, why, sizeof(why));
		free(path);
		if (!s->prompts[i])
			return errbuf_set(err, errlen, "REEL_PARSE_PROMPTS_DIR: %s", why);
	}
	if (!s->schema_path)
		s->schema_path = xasprintf("%s/../storyboard.schema.json", s->prompts_dir);
	char *text = slurp(s->schema_path, SCHEMA_MAX_BYTES, why, sizeof(why));
	if (!text)
		return errbuf_set(err, errlen, "REEL_PARSE_SCHEMA: %s", why);
	s->schema = json_parse(text, strlen(text));
	free(text);
	if (!cJSON_IsObject(s->schema))
		return errbuf_set(err, errlen, "REEL_PARSE_SCHEMA: %s is not a JSON object", s->schema_path);
	/* Vendors want the bare schema: annotations about where it lives only confuse strict validators. */
	cJSON_DeleteItemFromObjectCaseSensitive(s->schema, "$schema");
	cJSON_DeleteItemFromObjectCaseSensitive(s->schema, "$id");
	return 0;
}

int parse_config_prepare(struct parse_config *s, char *err, size_t errlen)
{
	if (strcmp(s->openai_format, "json_schema") != 0 && strcmp(s->openai_format, "json_object") != 0)
		return errbuf_set(err, errlen, "REEL_PARSE_OPENAI_FORMAT=%s: expected json_schema or json_object",
				  s->openai_format);
	s->openai_json_schema = strcmp(s->openai_format, "json_schema") == 0;
	if (parse_prices("REEL_PARSE_OPENAI_PRICES", s->openai_prices, &s->openai_price_in, &s->openai_price_out, err,
			 errlen) < 0 ||
	    parse_prices("REEL_PARSE_ANTHROPIC_PRICES", s->anthropic_prices, &s->anthropic_price_in,
			 &s->anthropic_price_out, err, errlen) < 0)
		return -1;
	if (!s->prompts_dir)
		s->prompts_dir = default_prompts_dir();
	if (load_files(s, err, errlen) < 0)
		return -1;
	log_info("prompts from %s, schema from %s", s->prompts_dir, s->schema_path);
	return 0;
}

void parse_config_release(struct parse_config *s)
{
	for (int i = 0; i < PROMPT_COUNT; i++) {
		free(s->prompts[i]);
		s->prompts[i] = NULL;
	}
	cJSON_Delete(s->schema);
	s->schema = NULL;
}

static const char *var_value(const char *name, size_t len, const struct prompt_vars *v, char *num, size_t numlen)
{
	static const char *const names[] = { "text", "url", "language", "style", "errors" };
	const char *values[] = { v->text, v->url, v->language, v->style, v->errors };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == len && memcmp(name, names[i], len) == 0)
			return values[i] ? values[i] : "";
	if (len == 9 && memcmp(name, "max_shots", 9) == 0) {
		snprintf(num, numlen, "%d", v->max_shots);
		return num;
	}
	return NULL;
}

char *parse_config_render_prompt(const char *tmpl, const struct prompt_vars *v)
{
	size_t cap = strlen(tmpl) + 1, n = 0;
	char *out = xmalloc(cap), num[24];
	for (const char *p = tmpl; *p;) {
		const char *close = strncmp(p, "{{", 2) == 0 ? strstr(p + 2, "}}") : NULL;
		const char *val = close ? var_value(p + 2, (size_t)(close - p - 2), v, num, sizeof(num)) : NULL;
		size_t len = val ? strlen(val) : 1;
		if (n + len + 1 > cap) {
			cap = (n + len + 1) * 2;
			out = xrealloc(out, cap);
		}
		memcpy(out + n, val ? val : p, len);
		n += len;
		p = val ? close + 2 : p + 1;
	}
	out[n] = '\0';
	return out;
}

/*
 * The openai parse provider: Chat Completions as OpenAI, OpenRouter,
 * DeepSeek, Qwen, Ollama, vLLM and llama.cpp serve it. The storyboard is
 * asked for with response_format json_schema (strict) where the server
 * supports it, else JSON mode; a server that answers 400 about
 * response_format moves this process to JSON mode.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "json.h"
#include "parse_config.h"
#include "parse_provider.h"
#include "banned.h"

static const char *model(const struct parse_config *s)
{
	return s->model && *s->model ? s->model : s->openai_model;
}

static cJSON *response_format(const struct parse_config *s)
{
	cJSON *rf = cJSON_CreateObject();
	if (!s->openai_json_schema) {
		cJSON_AddStringToObject(rf, "type", "json_object");
		return rf;
	}
	cJSON_AddStringToObject(rf, "type", "json_schema");
	cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
	cJSON_AddStringToObject(js, "name", "storyboard");
	cJSON_AddBoolToObject(js, "strict", 1);
	cJSON_AddItemToObject(js, "schema", cJSON_Duplicate(s->schema, 1));
	return rf;
}

static void build(const struct parse_config *s, const struct parse_prompt *p, struct parse_request *out)
{
	cJSON *body = cJSON_CreateObject(), *messages;
	cJSON_AddStringToObject(body, "model", model(s));
	messages = cJSON_AddArrayToObject(body, "messages");
	parse_provider_message(messages, "system", p->system);
	parse_provider_message(messages, "user", p->user);
	if (p->rejected && p->repair) {
		parse_provider_message(messages, "assistant", p->rejected);
		parse_provider_message(messages, "user", p->repair);
	}
	cJSON_AddNumberToObject(body, "max_tokens", (double)s->max_tokens);
	cJSON_AddItemToObject(body, "response_format", response_format(s));
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/chat/completions", s->openai_base_url);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	if (s->openai_api_key && *s->openai_api_key)
		out->headers[out->n_headers++] = xasprintf("Authorization: Bearer %s", s->openai_api_key);
}

static long usage_of(const cJSON *usage, const char *name)
{
	long n = 0;
	return json_int(usage, name, &n) == 0 ? n : 0;
}

static int read_answer(const char *body, size_t len, struct parse_answer *out, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "choices"), 0);
	const cJSON *message = cJSON_GetObjectItemCaseSensitive(choice, "message");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
	if (!cJSON_IsObject(message)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "the answer is not a chat completion (no choices[0].message)");
	}
	const char *content = json_str(message, "content"), *finish = json_str(choice, "finish_reason");
	const char *m = json_str(j, "model");
	out->text = content && *content ? xstrdup(content) : NULL;
	out->truncated = finish && strcmp(finish, "length") == 0;
	out->tokens_in = usage_of(usage, "prompt_tokens");
	out->tokens_out = usage_of(usage, "completion_tokens");
	snprintf(out->model, sizeof(out->model), "%s", m ? m : "");
	cJSON_Delete(j);
	return 0;
}

static bool downgrade(struct parse_config *s, const char *body, size_t len)
{
	char text[512];
	if (!s->openai_json_schema)
		return false;
	parse_provider_error_text(body, len, text, sizeof(text));
	if (!strcasestr(text, "response_format") && !strcasestr(text, "json_schema") &&
	    !strstr(body, "response_format"))
		return false;
	s->openai_json_schema = false;
	return true;
}

static void prices(const struct parse_config *s, double *in, double *out)
{
	*in = s->openai_price_in;
	*out = s->openai_price_out;
}

#define OPT(env, type, def, flags, field, min, max, help) \
	PROVIDER_OPT(struct parse_config, env, type, def, flags, field, min, max, help)
static const struct config_option options[] = {
	OPT("OPENAI_BASE_URL", CONFIG_STRING, "https://api.openai.com/v1", 0, openai_base_url, 0, 0,
	    "OpenAI-compatible API base, /v1 included"),
	OPT("OPENAI_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, openai_api_key, 0, 0, "key for the openai provider"),
	OPT("OPENAI_MODEL", CONFIG_STRING, "gpt-4o-mini", 0, openai_model, 0, 0, "model of the openai provider"),
	OPT("REEL_PARSE_OPENAI_FORMAT", CONFIG_STRING, "json_schema", 0, openai_format, 0, 0,
	    "response_format: json_schema (falls back when refused) or json_object"),
	OPT("REEL_PARSE_OPENAI_PRICES", CONFIG_STRING, "0.15,0.60", 0, openai_prices, 0, 0,
	    "USD per million input,output tokens (cost estimates)"),
	{ 0 },
};

const struct parse_provider parse_openai = {
	.info = { .name = "openai",
		  .summary = "OpenAI chat completions (or a server copying its API)",
		  .key_var = "OPENAI_API_KEY",
		  .options = options },
	.build = build,
	.read = read_answer,
	.error_text = parse_provider_error_text,
	.downgrade = downgrade,
	.model = model,
	.prices = prices,
};

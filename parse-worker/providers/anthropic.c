/*
 * The anthropic parse provider: the Messages API with a forced tool call
 * whose input schema is the storyboard schema, so the storyboard arrives as
 * the tool_use block's input object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "json.h"
#include "parse_config.h"
#include "parse_provider.h"
#include "banned.h"

#define TOOL_NAME "emit_storyboard"

static const char *model(const struct parse_config *s)
{
	return s->model && *s->model ? s->model : s->anthropic_model;
}

static void add_tool(cJSON *body, const struct parse_config *s)
{
	cJSON *tool = cJSON_CreateObject(), *choice;
	cJSON_AddStringToObject(tool, "name", TOOL_NAME);
	cJSON_AddStringToObject(tool, "description", "Return the storyboard of the text: its characters and shots.");
	cJSON_AddItemToObject(tool, "input_schema", cJSON_Duplicate(s->schema, 1));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(body, "tools"), tool);
	choice = cJSON_AddObjectToObject(body, "tool_choice");
	cJSON_AddStringToObject(choice, "type", "tool");
	cJSON_AddStringToObject(choice, "name", TOOL_NAME);
}

static void build(const struct parse_config *s, const struct parse_prompt *p, struct parse_request *out)
{
	cJSON *body = cJSON_CreateObject(), *messages;
	cJSON_AddStringToObject(body, "model", model(s));
	cJSON_AddNumberToObject(body, "max_tokens", (double)s->max_tokens);
	cJSON_AddStringToObject(body, "system", p->system);
	messages = cJSON_AddArrayToObject(body, "messages");
	parse_provider_message(messages, "user", p->user);
	if (p->rejected && p->repair) {
		parse_provider_message(messages, "assistant", p->rejected);
		parse_provider_message(messages, "user", p->repair);
	}
	add_tool(body, s);
	out->body = json_print(body);
	cJSON_Delete(body);
	out->url = xasprintf("%s/v1/messages", s->anthropic_base_url);
	out->headers[out->n_headers++] = xstrdup("Content-Type: application/json");
	out->headers[out->n_headers++] = xstrdup("anthropic-version: 2023-06-01");
	if (s->anthropic_api_key && *s->anthropic_api_key)
		out->headers[out->n_headers++] = xasprintf("x-api-key: %s", s->anthropic_api_key);
}

/* The tool's input as JSON text, else the text blocks joined (a model that answered in prose). */
static char *answer_text(const cJSON *content)
{
	const cJSON *block;
	char *text = NULL;
	cJSON_ArrayForEach (block, content) {
		const char *type = json_str(block, "type");
		if (type && strcmp(type, "tool_use") == 0) {
			free(text);
			const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
			return input ? json_print(input) : NULL;
		}
		const char *t = json_str(block, "text");
		if (type && strcmp(type, "text") == 0 && t && *t) {
			char *joined = xasprintf("%s%s", text ? text : "", t);
			free(text);
			text = joined;
		}
	}
	return text;
}

static int read_answer(const char *body, size_t len, struct parse_answer *out, char *err, size_t errlen)
{
	cJSON *j = json_parse(body, len);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(j, "content");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
	long n;
	if (!cJSON_IsArray(content)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "the answer is not a message (no content array)");
	}
	const char *stop = json_str(j, "stop_reason"), *m = json_str(j, "model");
	out->text = answer_text(content);
	out->truncated = stop && strcmp(stop, "max_tokens") == 0;
	out->tokens_in = json_int(usage, "input_tokens", &n) == 0 ? n : 0;
	out->tokens_out = json_int(usage, "output_tokens", &n) == 0 ? n : 0;
	snprintf(out->model, sizeof(out->model), "%s", m ? m : "");
	cJSON_Delete(j);
	return 0;
}

static void prices(const struct parse_config *s, double *in, double *out)
{
	*in = s->anthropic_price_in;
	*out = s->anthropic_price_out;
}

#define OPT(env, type, def, flags, field, min, max, help) \
	PROVIDER_OPT(struct parse_config, env, type, def, flags, field, min, max, help)
static const struct config_option options[] = {
	OPT("ANTHROPIC_BASE_URL", CONFIG_STRING, "https://api.anthropic.com", 0, anthropic_base_url, 0, 0,
	    "Anthropic API base, without /v1"),
	OPT("ANTHROPIC_API_KEY", CONFIG_STRING, NULL, CONFIG_SECRET, anthropic_api_key, 0, 0,
	    "key for the anthropic provider"),
	OPT("ANTHROPIC_MODEL", CONFIG_STRING, "claude-3-5-haiku-latest", 0, anthropic_model, 0, 0,
	    "model of the anthropic provider"),
	OPT("REEL_PARSE_ANTHROPIC_PRICES", CONFIG_STRING, "0.80,4.00", 0, anthropic_prices, 0, 0,
	    "USD per million input,output tokens (cost estimates)"),
	{ 0 },
};

const struct parse_provider parse_anthropic = {
	.info = { .name = "anthropic",
		  .summary = "Anthropic messages API",
		  .key_var = "ANTHROPIC_API_KEY",
		  .options = options },
	.build = build,
	.read = read_answer,
	.error_text = parse_provider_error_text,
	.model = model,
	.prices = prices,
};

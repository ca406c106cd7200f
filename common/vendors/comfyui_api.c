/*
 * ComfyUI workflows and history. The template is walked as JSON, so a
 * prompt holding quotes or braces cannot change the graph's structure.
 */
#include "errbuf.h"
#include "str.h"
#include "vendors/comfyui_api.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "banned.h"

/* text with every "{{name}}" replaced by value; the caller frees. */
static char *replace_all(const char *text, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value), cap = strlen(text) + 1, n = 0;
	char *out = xmalloc(cap);
	for (const char *p = text; *p;) {
		bool hit = strncmp(p, name, nlen) == 0;
		size_t take = hit ? vlen : 1;
		if (n + take + 1 > cap)
			out = xrealloc(out, cap = (n + take + 1) * 2);
		memcpy(out + n, hit ? value : p, take);
		n += take;
		p += hit ? nlen : 1;
	}
	out[n] = '\0';
	return out;
}

static void fill(cJSON *node, const struct comfyui_vars *v)
{
	cJSON *child;
	if (cJSON_IsString(node)) {
		const char *s = node->valuestring;
		const long nums[] = { v->seed, v->width, v->height, v->frames };
		const char *const names[] = { "{{seed}}", "{{width}}", "{{height}}", "{{frames}}" };
		for (size_t i = 0; i < ARRAY_SIZE(names); i++)
			if (strcmp(s, names[i]) == 0) {
				/* A number in place of the string: the node's input wants an integer. */
				node->type = cJSON_Number;
				cJSON_SetNumberValue(node, (double)nums[i]);
				free(node->valuestring);
				node->valuestring = NULL;
				return;
			}
		char *a = replace_all(s, "{{prompt}}", v->prompt ? v->prompt : "");
		char *b = replace_all(a, "{{negative}}", v->negative ? v->negative : "");
		char *c = replace_all(b, "{{image}}", v->image ? v->image : "");
		cJSON_SetValuestring(node, c);
		free(a);
		free(b);
		free(c);
		return;
	}
	cJSON_ArrayForEach (child, node)
		fill(child, v);
}

char *comfyui_api_prompt_body(const char *workflow, size_t len, const struct comfyui_vars *v, const char *client_id,
			      char *err, size_t errlen)
{
	cJSON *graph = json_parse(workflow, len);
	if (!cJSON_IsObject(graph)) {
		cJSON_Delete(graph);
		errbuf_set(err, errlen, "the ComfyUI workflow is not a JSON object (use the API format export)");
		return NULL;
	}
	fill(graph, v);
	cJSON *body = cJSON_CreateObject();
	cJSON_AddItemToObject(body, "prompt", graph);
	cJSON_AddStringToObject(body, "client_id", client_id);
	if (v->prompt_id)
		cJSON_AddStringToObject(body, "prompt_id", v->prompt_id);
	char *text = json_print(body);
	cJSON_Delete(body);
	return text;
}

static void add_file(struct vendor_result *out, const cJSON *f, const char *base)
{
	const char *name = json_str(f, "filename"), *sub = json_str(f, "subfolder"), *type = json_str(f, "type");
	if (!name)
		return;
	/* Every value is escaped: a history answer must not add parameters or a fragment to the URL. */
	char *n = curl_easy_escape(NULL, name, 0), *s = curl_easy_escape(NULL, sub ? sub : "", 0);
	char *ty = curl_easy_escape(NULL, type ? type : "output", 0);
	char *url = xasprintf("%s/view?filename=%s&subfolder=%s&type=%s", base, n, s, ty);
	vendors_result_add_output(out, url);
	free(url);
	curl_free(n);
	curl_free(s);
	curl_free(ty);
}

int comfyui_api_read_history(const char *body, size_t len, const char *prompt_id, const char *base,
			     struct vendor_result *out, char *err, size_t errlen)
{
	static const char *const kinds[] = { "images", "gifs", "videos" };
	cJSON *j = json_parse(body, len), *node;
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return errbuf_set(err, errlen, "the ComfyUI history is not a JSON object");
	}
	*out = (struct vendor_result){ .state = VENDOR_RUNNING };
	str_copy(out->id, prompt_id, sizeof(out->id));
	const cJSON *entry = cJSON_GetObjectItemCaseSensitive(j, prompt_id);
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(entry, "status");
	const char *str = json_str(status, "status_str");
	if (entry && str && strcmp(str, "error") == 0) {
		out->state = VENDOR_FAILED;
		snprintf(out->error, sizeof(out->error), "the ComfyUI workflow failed");
	} else if (entry && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(status, "completed"))) {
		cJSON_ArrayForEach (node, cJSON_GetObjectItemCaseSensitive(entry, "outputs"))
			for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
				const cJSON *f;
				cJSON_ArrayForEach (f, cJSON_GetObjectItemCaseSensitive(node, kinds[k]))
					add_file(out, f, base);
			}
		out->state = out->n_outputs ? VENDOR_SUCCEEDED : VENDOR_FAILED;
		if (!out->n_outputs)
			snprintf(out->error, sizeof(out->error), "the ComfyUI workflow saved no image or video");
	}
	cJSON_Delete(j);
	return 0;
}

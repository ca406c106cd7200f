/*
 * Storyboard validation. The rules mirror storyboard.schema.json (kept in
 * C so that no general JSON Schema engine is needed) plus the job's limits.
 * Validation never stops at the first problem: a repair request quotes them
 * all, so the model can fix everything in one round.
 */
#include "storyboard.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "banned.h"

#define MAX_CHARACTERS 20
#define MIN_DURATION_S 2
#define MAX_DURATION_S 15

static const char *const root_keys[] = { "title", "language", "characters", "shots", NULL };
static const char *const character_keys[] = { "name", "look", "voice", NULL };
static const char *const shot_keys[] = { "prompt", "narration", "speaker", "duration_s", "camera", NULL };
static const char *const cameras[] = { "zoom_in", "zoom_out", "pan_left", "pan_right",
				       "pan_up",  "pan_down", "static",   NULL };

static void add_error(struct storyboard_errors *e, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void add_error(struct storyboard_errors *e, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	if (e->n == STORYBOARD_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->v[e->n++] = xstrdup(buf);
}

/* Characters, not bytes: limits are about what people read. */
static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

static bool in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static void check_keys(const cJSON *obj, const char *const *keys, const char *path, struct storyboard_errors *e)
{
	const cJSON *it;
	cJSON_ArrayForEach (it, obj)
		if (!in_list(keys, it->string))
			add_error(e, "%s: unknown property \"%s\"", path, it->string);
}

/* A string member within [min, max] characters; NULL (after recording why)
 * when wrong, or when null/absent and nullable. */
static const char *field(const cJSON *obj, const char *name, const char *path, size_t min, size_t max, bool nullable,
			 struct storyboard_errors *e)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, name);
	if ((!it || cJSON_IsNull(it)) && nullable)
		return NULL;
	if (!it) {
		add_error(e, "%s.%s is missing", path, name);
		return NULL;
	}
	if (!cJSON_IsString(it)) {
		add_error(e, "%s.%s must be a string%s", path, name, nullable ? " or null" : "");
		return NULL;
	}
	size_t n = utf8_len(it->valuestring);
	if (n < min || n > max) {
		if (n < min)
			add_error(e, "%s.%s is empty", path, name);
		else
			add_error(e, "%s.%s is %zu characters long; at most %zu are allowed", path, name, n, max);
		return NULL;
	}
	return it->valuestring;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Primary subtag of 2-3 letters, then subtags of 1-8 letters or digits. */
static bool language_tag_ok(const char *s)
{
	size_t part = 0, parts = 0;
	for (const char *p = s;; p++) {
		if (*p == '-' || !*p) {
			if (part == 0 || (parts == 0 && (part < 2 || part > 3)) || part > 8)
				return false;
			parts++;
			part = 0;
			if (!*p)
				return true;
		} else if (parts == 0 ? isalpha((unsigned char)*p) : isalnum((unsigned char)*p)) {
			part++;
		} else {
			return false;
		}
	}
}

static size_t primary_len(const char *tag)
{
	size_t n = 0;
	while (tag[n] && tag[n] != '-' && tag[n] != '_')
		n++;
	return n;
}

static void check_language(const char *lang, const struct storyboard_limits *lim, struct storyboard_errors *e)
{
	if (!lang)
		return;
	if (!language_tag_ok(lang)) {
		add_error(e, "language \"%s\" is not a BCP-47 tag such as en, zh-CN or pt-BR", lang);
		return;
	}
	if (lim->language && *lim->language) {
		size_t a = primary_len(lang), b = primary_len(lim->language);
		if (a != b || strncasecmp(lang, lim->language, a) != 0)
			add_error(e, "language is \"%s\" but the job asks for \"%s\": narrate in that language", lang,
				  lim->language);
	}
}

static void take_characters(const cJSON *arr, struct storyboard *sb, struct storyboard_errors *e)
{
	const cJSON *c;
	char path[48];
	size_t i = 0;
	if (!cJSON_IsArray(arr)) {
		add_error(e, "characters must be an array (it may be empty)");
		return;
	}
	if (cJSON_GetArraySize(arr) > MAX_CHARACTERS) {
		add_error(e, "characters has %d entries; at most %d are allowed", cJSON_GetArraySize(arr),
			  MAX_CHARACTERS);
		return;
	}
	sb->characters = xcalloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(*sb->characters));
	cJSON_ArrayForEach (c, arr) {
		snprintf(path, sizeof(path), "characters[%zu]", i++);
		if (!cJSON_IsObject(c)) {
			add_error(e, "%s must be an object with name, look and voice", path);
			continue;
		}
		check_keys(c, character_keys, path, e);
		const char *name = field(c, "name", path, 1, 80, false, e),
			   *look = field(c, "look", path, 1, 500, false, e);
		const char *voice = field(c, "voice", path, 0, 128, true, e);
		for (size_t k = 0; name && k < sb->n_characters; k++)
			if (strcasecmp(sb->characters[k].name, name) == 0)
				add_error(e, "%s.name \"%s\" is used twice", path, name);
		if (name && look)
			sb->characters[sb->n_characters++] = (struct sb_character){ xstrdup(name), xstrdup(look),
										    dup_or_null(voice) };
	}
}

/* Image models read English: a prompt mostly in other scripts is refused. */
static bool mostly_latin(const char *s)
{
	size_t chars = 0, foreign = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		chars++;
		foreign += *p >= 0xE0; /* three- and four-byte characters: CJK, Thai, emoji... */
	}
	return foreign * 5 <= chars;
}

static int shot_duration(const cJSON *s, const char *path, struct storyboard_errors *e)
{
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(s, "duration_s");
	if (!cJSON_IsNumber(d)) {
		add_error(e, "%s.duration_s must be a number of seconds from %d to %d", path, MIN_DURATION_S,
			  MAX_DURATION_S);
		return 0;
	}
	if (d->valuedouble < MIN_DURATION_S || d->valuedouble > MAX_DURATION_S) {
		add_error(e, "%s.duration_s is %g; it must be from %d to %d seconds", path, d->valuedouble,
			  MIN_DURATION_S, MAX_DURATION_S);
		return 0;
	}
	return (int)(d->valuedouble * 1000 + 0.5);
}

static void take_shot(const cJSON *s, const char *path, struct storyboard *sb, struct storyboard_errors *e)
{
	size_t before = e->n + e->dropped;
	if (!cJSON_IsObject(s)) {
		add_error(e, "%s must be an object", path);
		return;
	}
	check_keys(s, shot_keys, path, e);
	const char *prompt = field(s, "prompt", path, 1, 1000, false, e);
	const char *narration = field(s, "narration", path, 1, 2000, false, e);
	const char *speaker = field(s, "speaker", path, 1, 80, true, e);
	const char *camera = field(s, "camera", path, 1, 16, true, e);
	int ms = shot_duration(s, path, e);
	if (prompt && !mostly_latin(prompt))
		add_error(e, "%s.prompt must be written in English (image models read English)", path);
	if (camera && !in_list(cameras, camera))
		add_error(e,
			  "%s.camera \"%s\" is not one of zoom_in, zoom_out, pan_left, pan_right, pan_up, "
			  "pan_down, static or null",
			  path, camera);
	if (e->n + e->dropped != before)
		return;
	sb->shots[sb->n_shots++] = (struct sb_shot){ xstrdup(prompt), xstrdup(narration), dup_or_null(speaker),
						     dup_or_null(camera), ms };
}

static void take_shots(const cJSON *arr, const struct storyboard_limits *lim, struct storyboard *sb,
		       struct storyboard_errors *e)
{
	const cJSON *s;
	char path[32];
	size_t i = 0;
	if (!cJSON_IsArray(arr)) {
		add_error(e, "shots must be an array of shot objects");
		return;
	}
	int n = cJSON_GetArraySize(arr);
	if (n == 0)
		add_error(e, "shots is empty; the story needs at least one shot");
	if (n > lim->max_shots)
		add_error(e, "shots has %d entries but the job allows at most %d (max_shots): merge neighbouring shots",
			  n, lim->max_shots);
	if (n == 0 || n > lim->max_shots)
		return;
	sb->shots = xcalloc((size_t)n, sizeof(*sb->shots));
	cJSON_ArrayForEach (s, arr) {
		snprintf(path, sizeof(path), "shots[%zu]", i++);
		take_shot(s, path, sb, e);
	}
}

int storyboard_from_json(const cJSON *j, const struct storyboard_limits *lim, struct storyboard *out,
			 struct storyboard_errors *errs)
{
	memset(out, 0, sizeof(*out));
	memset(errs, 0, sizeof(*errs));
	if (!cJSON_IsObject(j)) {
		add_error(errs, "the answer must be one JSON object with title, language, characters and shots");
		return -1;
	}
	check_keys(j, root_keys, "storyboard", errs);
	const char *title = field(j, "title", "storyboard", 1, 200, false, errs);
	const char *lang = field(j, "language", "storyboard", 2, 35, false, errs);
	check_language(lang, lim, errs);
	take_characters(cJSON_GetObjectItemCaseSensitive(j, "characters"), out, errs);
	take_shots(cJSON_GetObjectItemCaseSensitive(j, "shots"), lim, out, errs);
	if (errs->n) {
		storyboard_release(out);
		return -1;
	}
	out->title = xstrdup(title);
	out->language = xstrdup(lang);
	return 0;
}

int storyboard_parse(const char *text, size_t len, const struct storyboard_limits *lim, struct storyboard *out,
		     struct storyboard_errors *errs)
{
	cJSON *j = json_parse(text, len);
	if (!j) {
		memset(out, 0, sizeof(*out));
		memset(errs, 0, sizeof(*errs));
		add_error(errs, len ? "the answer is not valid JSON" : "the answer is empty");
		return -1;
	}
	int rc = storyboard_from_json(j, lim, out, errs);
	cJSON_Delete(j);
	return rc;
}

/* A whole-word, case-insensitive occurrence of name in text. */
static bool mentions(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; n && (p = strcasestr(p, name)); p++) {
		bool left = p == text || !isalnum((unsigned char)p[-1]);
		bool right = !isalnum((unsigned char)p[n]);
		if (left && right)
			return true;
	}
	return false;
}

static bool appears_in(const struct sb_character *c, const struct sb_shot *s)
{
	return (s->speaker && strcasecmp(s->speaker, c->name) == 0) || mentions(s->prompt, c->name) ||
	       mentions(s->narration, c->name);
}

void storyboard_finish_prompts(struct storyboard *sb, const char *style)
{
	for (size_t i = 0; i < sb->n_shots; i++) {
		struct sb_shot *s = &sb->shots[i];
		char *p = style && *style ? xasprintf("%s, %s", style, s->prompt) : xstrdup(s->prompt);
		for (size_t k = 0; k < sb->n_characters; k++) {
			const struct sb_character *c = &sb->characters[k];
			if (!appears_in(c, s))
				continue;
			char *next = xasprintf("%s. %s: %s", p, c->name, c->look);
			free(p);
			p = next;
		}
		free(s->prompt);
		s->prompt = p;
	}
}

char *storyboard_meta_json(const struct storyboard *sb)
{
	cJSON *j = cJSON_CreateObject(), *chars;
	cJSON_AddStringToObject(j, "title", sb->title ? sb->title : "");
	cJSON_AddStringToObject(j, "language", sb->language ? sb->language : "");
	chars = cJSON_AddArrayToObject(j, "characters");
	for (size_t k = 0; k < sb->n_characters; k++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "name", sb->characters[k].name);
		cJSON_AddStringToObject(c, "look", sb->characters[k].look);
		if (sb->characters[k].voice)
			cJSON_AddStringToObject(c, "voice", sb->characters[k].voice);
		else
			cJSON_AddNullToObject(c, "voice");
		cJSON_AddItemToArray(chars, c);
	}
	char *text = json_print(j);
	cJSON_Delete(j);
	return text;
}

void storyboard_release(struct storyboard *sb)
{
	for (size_t k = 0; k < sb->n_characters; k++) {
		free(sb->characters[k].name);
		free(sb->characters[k].look);
		free(sb->characters[k].voice);
	}
	for (size_t i = 0; i < sb->n_shots; i++) {
		free(sb->shots[i].prompt);
		free(sb->shots[i].narration);
		free(sb->shots[i].speaker);
		free(sb->shots[i].camera);
	}
	free(sb->characters);
	free(sb->shots);
	free(sb->title);
	free(sb->language);
	memset(sb, 0, sizeof(*sb));
}

char *storyboard_errors_text(const struct storyboard_errors *errs)
{
	size_t cap = 64, n = 0;
	for (size_t i = 0; i < errs->n; i++)
		cap += strlen(errs->v[i]) + 2;
	char *out = xmalloc(cap);
	out[0] = '\0';
	for (size_t i = 0; i < errs->n; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "; " : "", errs->v[i]);
	if (errs->dropped)
		snprintf(out + n, cap - n, "; and %zu more", errs->dropped);
	return out;
}

void storyboard_errors_release(struct storyboard_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i]);
	memset(errs, 0, sizeof(*errs));
}

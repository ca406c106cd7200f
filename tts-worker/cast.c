/*
 * Voice casting from the catalogue. Deterministic: every shot of a job
 * recomputes the same assignment from the same storyboard, so shots voiced
 * by different workers agree without sharing state.
 */
#include "cast.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "errbuf.h"
#include "json.h"
#include "banned.h"

int cast_load(struct cast *c, struct db *db, char *err, size_t errlen)
{
	static const char sql[] = "SELECT provider, id, language, gender FROM voices ORDER BY provider, id";
	PGresult *r = db_exec(db, sql, 0, NULL);
	if (!r)
		return errbuf_set(err, errlen, "cannot read the voices table: %s", db_last_error(db));
	c->n = (size_t)PQntuples(r);
	c->v = xcalloc(c->n ? c->n : 1, sizeof(*c->v));
	for (size_t i = 0; i < c->n; i++) {
		c->v[i].provider = xstrdup(PQgetvalue(r, (int)i, 0));
		c->v[i].id = xstrdup(PQgetvalue(r, (int)i, 1));
		c->v[i].language = xstrdup(PQgetvalue(r, (int)i, 2));
		c->v[i].gender = PQgetisnull(r, (int)i, 3) ? NULL : xstrdup(PQgetvalue(r, (int)i, 3));
	}
	PQclear(r);
	return 0;
}

void cast_release(struct cast *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].provider);
		free(c->v[i].id);
		free(c->v[i].language);
		free(c->v[i].gender);
	}
	free(c->v);
	*c = (struct cast){ 0 };
}

void cast_keep_loading(struct cast *c, int (*check)(const char *, char *, size_t), struct cast *dropped, char *err,
		       size_t errlen)
{
	size_t kept = 0;
	*dropped = (struct cast){ xcalloc(c->n ? c->n : 1, sizeof(*c->v)), 0 };
	for (size_t i = 0; i < c->n; i++) {
		if (strncmp(c->v[i].provider, "espeak", 6) || check(c->v[i].id, err, errlen) == 0)
			c->v[kept++] = c->v[i];
		else
			dropped->v[dropped->n++] = c->v[i];
	}
	c->n = kept;
}

static bool has_word(const char *hint, const char *const *words)
{
	for (const char *p = hint; *p;) {
		while (*p && !isalpha((unsigned char)*p))
			p++;
		size_t n = 0;
		while (isalpha((unsigned char)p[n]))
			n++;
		for (size_t i = 0; n && words[i]; i++)
			if (strlen(words[i]) == n && !strncasecmp(p, words[i], n))
				return true;
		p += n;
	}
	return false;
}

const char *cast_gender(const char *hint)
{
	static const char *const female[] = { "woman",    "women",       "female", "girl",     "lady",
					      "mother",   "grandmother", "queen",  "she",      "her",
					      "feminine", "aunt",        "sister", "daughter", NULL };
	static const char *const male[] = { "man",       "men",         "male",    "boy", "gentleman",
					    "father",    "grandfather", "king",    "he",  "his",
					    "masculine", "uncle",       "brother", "son", NULL };
	if (!hint)
		return NULL;
	if (has_word(hint, female) || strstr(hint, "\xe5\xa5\xb3")) /* 女 */
		return "female";
	if (has_word(hint, male) || strstr(hint, "\xe7\x94\xb7")) /* 男 */
		return "male";
	return NULL;
}

static bool same_provider(const char *a, const char *b)
{
	/* The offline provider's voices may be catalogued as espeak-ng. */
	return strcmp(a, b) == 0 || (!strncmp(a, "espeak", 6) && !strncmp(b, "espeak", 6));
}

static bool same_language(const char *a, const char *b)
{
	size_t n = strcspn(a, "-_");
	if (!strncasecmp(a, "cmn", 3) || !strncasecmp(b, "cmn", 3)) /* Mandarin is zh */
		return (!strncasecmp(a, "cmn", 3) || !strncasecmp(a, "zh", 2)) &&
		       (!strncasecmp(b, "cmn", 3) || !strncasecmp(b, "zh", 2));
	return n == strcspn(b, "-_") && !strncasecmp(a, b, n);
}

/* The catalogue voices a shot may use, in catalogue order. */
static size_t candidates(const struct cast *c, const char *provider, const char *language,
			 const struct cast_voice **out)
{
	size_t n = 0;
	for (int pass = 0; pass < 2 && n == 0; pass++)
		for (size_t i = 0; i < c->n; i++)
			if (same_provider(c->v[i].provider, provider) &&
			    (pass == 1 || !language || same_language(c->v[i].language, language)))
				out[n++] = &c->v[i];
	return n;
}

static const struct cast_voice *choose(const struct cast_voice **cand, size_t n, bool *used, const char *hint)
{
	const char *gender = cast_gender(hint);
	for (size_t i = 0; hint && i < n; i++)
		if (strcmp(cand[i]->id, hint) == 0)
			return used[i] = true, cand[i];
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (!used[i] && (pass == 1 || !gender || (cand[i]->gender && !strcmp(cand[i]->gender, gender))))
				return used[i] = true, cand[i];
	return NULL;
}

static bool not_narrator(const struct cast_voice *v, const char *narrator)
{
	return !narrator || strcmp(v->id, narrator) != 0;
}

/* The k-th voice in turn among the candidates, leaving the narrator's out
 * while there is another. */
static const struct cast_voice *shared_voice(const struct cast_voice **cand, size_t n, const char *narrator, int k)
{
	size_t others = 0;
	for (size_t i = 0; i < n; i++)
		others += not_narrator(cand[i], narrator);
	if (others) {
		size_t want = (size_t)k % others;
		for (size_t i = 0; i < n; i++)
			if (not_narrator(cand[i], narrator) && want-- == 0)
				return cand[i];
	}
	return cand[(size_t)k % n]; /* the narrator's is the only voice */
}

static const char *name_of(const cJSON *character)
{
	const char *name = json_str(character, "name");
	return name ? name : "";
}

char *cast_pick(const struct cast *c, const char *provider, const char *language, const char *narrator,
		const char *characters, const char *speaker)
{
	if (!speaker || !*speaker)
		return narrator ? xstrdup(narrator) : NULL;
	cJSON *chars = characters ? json_parse(characters, strlen(characters)) : NULL;
	const struct cast_voice **cand = xcalloc(c->n + 1, sizeof(*cand));
	size_t n = candidates(c, provider, language, cand);
	bool *used = xcalloc(n + 1, sizeof(*used));
	const struct cast_voice *pick = NULL;
	int k = cJSON_IsArray(chars) ? cJSON_GetArraySize(chars) : 0, me = k;
	for (size_t i = 0; narrator && i < n; i++)
		used[i] = used[i] || strcmp(cand[i]->id, narrator) == 0;
	for (int i = 0; i < k; i++)
		if (!strcasecmp(name_of(cJSON_GetArrayItem(chars, i)), speaker)) {
			me = i;
			break;
		}
	/* Everyone before the speaker chooses first, in storyboard order. */
	for (int i = 0, shared = 0; i <= me && n; i++) {
		const cJSON *ch = cJSON_GetArrayItem(chars, i);
		pick = choose(cand, n, used, i < k ? json_str(ch, "voice") : NULL);
		if (!pick) /* more characters than voices: they share, in turn */
			pick = shared_voice(cand, n, narrator, shared++);
	}
	char *out = pick ? xstrdup(pick->id) : narrator ? xstrdup(narrator) : NULL;
	free(used);
	free(cand);
	cJSON_Delete(chars);
	return out;
}

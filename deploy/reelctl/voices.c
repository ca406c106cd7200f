/*
 * reelctl voices add / list / remove. A voice is checked before it is
 * written (a provider tts-worker speaks with, an id a job's options.voice
 * can hold, a BCP-47-like language, female, male or no gender), so a row
 * in the catalogue is always one the gateway can list and casting can use.
 * Adding a voice that exists updates it.
 */
#include "voices.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "db.h"
#include "providers.h"
#include "reelctl.h"
#include "banned.h"

static const char help[] =
	"usage: reelctl voices add --provider P --id ID --name NAME --language LANG\n"
	"                          [--gender female|male] [--description TEXT]\n"
	"       reelctl voices list [--provider P] [--language LANG]\n"
	"       reelctl voices remove --provider P --id ID\n"
	"The voice catalogue (the voices table): GET /v1/voices lists it, tts-worker casts characters from it\n"
	"(read again every REEL_TTS_VOICES_REFRESH_S). P is a tts provider other than offline; ID is what the\n"
	"vendor calls the voice (Fish Audio: the voice model's id, sent as reference_id; ElevenLabs: the voice_id).\n";

static int refuse(const char *what, const char *value, const char *why)
{
	fprintf(stderr, "reelctl voices: %s \"%s\": %s\n", what, value ? value : "", why);
	return 2;
}

/* The tts providers tts-worker casts voices for ("offline" speaks with espeak's). */
static int known_provider(const char *p)
{
	for (const char *const *name = providers_of("tts"); p && *name; name++)
		if (strcmp(p, *name) == 0 && strcmp(p, "offline") != 0)
			return 1;
	return 0;
}

static int refuse_provider(const char *provider)
{
	char names[160], why[200];
	snprintf(why, sizeof(why), "must be a tts provider other than offline (%s)",
		 providers_list("tts", names, sizeof(names)));
	return refuse("--provider", provider, why);
}

/* Printable text of 1..max bytes without control characters. */
static int plain(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if (iscntrl((unsigned char)*s))
			return 0;
	return 1;
}

/* Letters, digits and hyphens, starting with a letter, at most 35 (as options.language). */
static int language_tag(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 35 || !isalpha((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-')
			return 0;
	return 1;
}

static int check_voice(const char *provider, const char *id, const char *name, const char *language, const char *gender,
		       const char *description)
{
	if (!known_provider(provider))
		return refuse_provider(provider);
	if (!plain(id, 128))
		return refuse("--id", id, "must be 1-128 characters without control characters");
	if (!plain(name, 200))
		return refuse("--name", name, "must be 1-200 characters without control characters");
	if (!language_tag(language))
		return refuse("--language", language, "must be a language tag such as en, en-US or cmn");
	if (gender && strcmp(gender, "female") != 0 && strcmp(gender, "male") != 0)
		return refuse("--gender", gender, "must be female or male (or left out)");
	if (description && !plain(description, 1000))
		return refuse("--description", description, "must be 1-1000 characters without control characters");
	return 0;
}

static int add(struct db *db, int argc, char **argv)
{
	static const char sql[] =
		"INSERT INTO voices (provider, id, name, language, gender, description) VALUES ($1, $2, $3, $4, $5, $6) "
		"ON CONFLICT (provider, id) DO UPDATE SET name = excluded.name, language = excluded.language, "
		"gender = excluded.gender, description = excluded.description RETURNING (xmax = 0)";
	const char *v[6] = { args_flag(argc, argv, "--provider"), args_flag(argc, argv, "--id"),
			     args_flag(argc, argv, "--name"),     args_flag(argc, argv, "--language"),
			     args_flag(argc, argv, "--gender"),   args_flag(argc, argv, "--description") };
	int rc = check_voice(v[0], v[1], v[2], v[3], v[4], v[5]);
	if (rc)
		return rc;
	PGresult *r = db_exec(db, sql, 6, v);
	if (!r) {
		fprintf(stderr, "reelctl voices add: %s\n", db_last_error(db));
		return 1;
	}
	printf("%s %s voice %s\n", PQgetvalue(r, 0, 0)[0] == 't' ? "added" : "updated", v[0], v[1]);
	PQclear(r);
	return 0;
}

static int list(struct db *db, int argc, char **argv)
{
	static const char sql[] =
		"SELECT provider, id, language, coalesce(gender, '-'), name, coalesce(description, ''), available "
		"FROM voices "
		"WHERE ($1::text IS NULL OR provider = $1) "
		"AND ($2::text IS NULL OR lower(language) = lower($2) OR lower(language) LIKE lower($2) || '-%') "
		"ORDER BY provider, id";
	const char *v[2] = { args_flag(argc, argv, "--provider"), args_flag(argc, argv, "--language") };
	PGresult *r = db_exec(db, sql, 2, v);
	if (!r) {
		fprintf(stderr, "reelctl voices list: %s\n", db_last_error(db));
		return 1;
	}
	printf("%-10s  %-24s  %-8s  %-6s  %s\n", "PROVIDER", "ID", "LANGUAGE", "GENDER", "NAME");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-10s  %-24s  %-8s  %-6s  %s%s%s%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), *PQgetvalue(r, i, 5) ? " — " : "",
		       PQgetvalue(r, i, 5),
		       /* tts-worker found it does not load: not listed by GET /v1/voices */
		       PQgetvalue(r, i, 6)[0] == 'f' ? " [does not load here]" : "");
	PQclear(r);
	return 0;
}

static int remove_voice(struct db *db, int argc, char **argv)
{
	static const char sql[] = "DELETE FROM voices WHERE provider = $1 AND id = $2";
	const char *v[2] = { args_flag(argc, argv, "--provider"), args_flag(argc, argv, "--id") };
	if (!v[0] || !v[1]) {
		fputs(help, stderr);
		return 2;
	}
	long n = ops_change(db, "voices remove", sql, 2, v);
	if (n < 0)
		return 1;
	printf(n ? "removed %s voice %s\n" : "no %s voice %s\n", v[0], v[1]);
	return n ? 0 : 1;
}

int voices_command(struct db *db, int argc, char **argv)
{
	if (args_help(argc, argv, help))
		return 0;
	if (argc >= 3 && strcmp(argv[2], "add") == 0)
		return add(db, argc, argv);
	if (argc >= 3 && strcmp(argv[2], "list") == 0)
		return list(db, argc, argv);
	if (argc >= 3 && strcmp(argv[2], "remove") == 0)
		return remove_voice(db, argc, argv);
	fputs(help, stderr);
	return 2;
}

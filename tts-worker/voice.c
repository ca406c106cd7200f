/*
 * TTS handler. The fan-in is one statement: the shot becoming ready and the
 * job's ready count rising happen together, and the transaction that makes
 * the count reach the total moves the job to merging and writes the merge
 * message, once however often a message is redelivered.
 */
#include "voice.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "billing.h"
#include "charge.h"
#include "db.h"
#include "errbuf.h"
#include "events.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "plugin.h"
#include "provider_calls.h"
#include "speak.h"
#include "storage.h"
#include "tts.h"
#include "banned.h"

/* espeak-ng and the FFmpeg decoder live in the tts-worker plugin, loaded only
 * when narration is really spoken. */
static int load_plugin(struct speak_state *st, char *err, size_t errlen)
{
	static const char *const symbols[] = { "tts_espeak_engine", "tts_decode_assemble" };
	void *addrs[2];
	if (plugin_load("tts-worker", symbols, addrs, 2, err, errlen) < 0)
		return -1;
	st->espeak = addrs[0];
	*(void **)&st->assemble = addrs[1];
	return 0;
}

/* The catalogue's espeak voices that do not load on this machine's espeak-ng
 * are left out of c (casting) and marked unavailable in the table, so GET
 * /v1/voices lists only voices that speak; one that loads again (its data
 * installed) is listed again. Each change is logged, and at start how many
 * load. */
static int check_offline_voices(struct worker *w, struct speak_state *st, struct cast *c, bool at_start)
{
	static const char sql[] = "UPDATE voices SET available = NOT (id = ANY($1::text[])) "
				  "WHERE provider LIKE 'espeak%' AND available = (id = ANY($1::text[])) "
				  "RETURNING id, available";
	struct cast dropped;
	char why[256] = "";
	cast_keep_loading(c, st->espeak->check_voice, &dropped, why, sizeof(why));
	const char **ids = xcalloc(dropped.n + 1, sizeof(*ids));
	for (size_t i = 0; i < dropped.n; i++)
		ids[i] = dropped.v[i].id;
	char *array = db_text_array(ids, dropped.n);
	PGresult *r = db_exec(worker_db(w), sql, 1, (const char *const[]){ array });
	for (int row = 0; r && row < PQntuples(r); row++) {
		if (PQgetvalue(r, row, 1)[0] == 't')
			log_info("espeak-ng voice %s loads again: listed and cast", PQgetvalue(r, row, 0));
		else
			log_warn("espeak-ng voice %s does not load here: no longer listed or cast",
				 PQgetvalue(r, row, 0));
	}
	if (at_start && dropped.n)
		log_warn("%zu espeak-ng voice(s) of the catalogue do not load here and are skipped (last: %s)",
			 dropped.n, why);
	PQclear(r);
	free(array);
	free(ids);
	cast_release(&dropped);
	return r ? 0 : -1;
}

static int init(struct worker *w, const char *name, char *err, size_t errlen)
{
	struct speak_state *st;
	char names[160];
	if (!tts_provider_find(name))
		return errbuf_set(err, errlen, "REEL_TTS_PROVIDER=%s: unknown provider (available: %s)", name,
				  provider_names(&tts_registry, names, sizeof(names)));
	st = xcalloc(1, sizeof(*st));
	st->settings = worker_config(w);
	st->provider = name;
	worker_set_app(w, st);
	st->vendor_cfgs = tts_provider_configs_load(err, errlen);
	if (!st->vendor_cfgs)
		return -1;
	if (worker_skip_media(w))
		return 0;
	if (cast_load(&st->cast, worker_db(w), err, errlen) < 0 || load_plugin(st, err, errlen) < 0)
		return -1;
	if (check_offline_voices(w, st, &st->cast, true) < 0)
		return errbuf_set(err, errlen, "cannot mark the voices that do not load: %s",
				  db_last_error(worker_db(w)));
	st->cast_at = uv_now(worker_loop(w));
	st->http = http_client_new(worker_loop(w));
	return 0;
}

static char *opt_copy(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) || !*PQgetvalue(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row);

/* Shots past narration, or whose job is not producing, are not claimed. The
 * claim that really speaks also reads who is cast: the storyboard's
 * characters, then the job's other speakers in order of appearance (a
 * storyboard without characters, as the offline screenplay reading makes,
 * still gives each speaker a voice of their own). */
#define CLAIM_HEAD \
	"UPDATE shots s SET status = 'voicing', updated_at = now() " \
	"FROM jobs j, unnest($1::uuid[], $2::int[]) WITH ORDINALITY AS u(job_id, idx, n) " \
	"WHERE s.job_id = u.job_id AND s.idx = u.idx AND j.id = s.job_id AND j.status = 'producing' " \
	"AND s.status IN ('rendered', 'voicing') " \
	"RETURNING u.n, s.narration, j.options->>'language', j.options->>'voice', s.est_duration_ms"

/* Voices an operator adds or removes (reelctl voices) are cast without a
 * restart: the catalogue is read again once it is older than
 * REEL_TTS_VOICES_REFRESH_S, in the claim's transaction. An espeak voice
 * never checked before is checked here, on the loop: the plugin remembers
 * every answer, so only a newly added voice can wait for a synthesis. */
static int refresh_cast(struct worker *w, struct speak_state *st)
{
	uint64_t now = uv_now(worker_loop(w));
	struct cast fresh = { 0 };
	char err[256];
	if (now - st->cast_at < (uint64_t)st->settings->voices_refresh_s * 1000)
		return 0;
	if (cast_load(&fresh, worker_db(w), err, sizeof(err)) < 0)
		return log_error("%s", err);
	if (check_offline_voices(w, st, &fresh, false) < 0) {
		cast_release(&fresh);
		return log_error("cannot mark the voices that do not load: %s", db_last_error(worker_db(w)));
	}
	cast_release(&st->cast);
	st->cast = fresh;
	st->cast_at = now;
	return 0;
}

static int claim(struct worker *w, struct task **tasks, size_t n)
{
#define CAST_COLUMNS \
	", s.speaker, (WITH sc AS (SELECT CASE jsonb_typeof(j.storyboard->'characters') " \
	"  WHEN 'array' THEN j.storyboard->'characters' ELSE '[]'::jsonb END AS a) " \
	"SELECT sc.a || coalesce((SELECT jsonb_agg(jsonb_build_object('name', x.speaker) " \
	"  ORDER BY x.first) FROM (SELECT o.speaker, min(o.idx) AS first FROM shots o " \
	"        WHERE o.job_id = s.job_id AND o.speaker IS NOT NULL GROUP BY o.speaker) x " \
	"  WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(sc.a) e " \
	"                    WHERE lower(e->>'name') = lower(x.speaker))), '[]'::jsonb) FROM sc), " \
	"j.options#>>'{providers,tts}'"
	static const char *const sqls[2][2] = {
		{ CLAIM_HEAD CAST_COLUMNS, CLAIM_HEAD CAST_COLUMNS CHARGE_LEFT_COLUMN("s.job_id") },
		{ CLAIM_HEAD, CLAIM_HEAD CHARGE_LEFT_COLUMN("s.job_id") },
	};
#undef CAST_COLUMNS
	const char *sql = sqls[worker_skip_media(w)][worker_billing(w) != NULL];
	if (!worker_skip_media(w) && refresh_cast(w, worker_app(w)) < 0)
		return -1;
	PGresult *r = worker_query_tasks(w, sql, tasks, n, true, NULL, 0);
	return worker_claim_rows(w, r, tasks, n, take_row);
}

/* Who speaks the shot, with which provider and voice. */
static void cast_shot(struct speak_state *st, struct task *t, PGresult *r, int row)
{
	struct speak_data *sd = t->data;
	char *override = opt_copy(r, row, 7), *narrator = opt_copy(r, row, 3);
	const char *provider = override ? override : st->provider;
	const struct tts_provider *tp = tts_provider_find(provider);
	t->claim = CLAIM_WORK;
	if (!tp) {
		char names[160];
		worker_task_fail(t, "unknown_provider",
				 "options.providers.tts is \"%s\", which this service does not offer (%s)", provider,
				 provider_names(&tts_registry, names, sizeof(names)));
	} else {
		sd->provider = tp->info.name;
		sd->vendor = tts_provider_find_vendor(provider);
		sd->vendor_cfg = sd->vendor ? tts_provider_config(st->vendor_cfgs, sd->vendor) : NULL;
		if (!sd->language)
			sd->language = xstrdup(language_detect(sd->text));
		sd->voice = cast_pick(&st->cast, sd->vendor ? sd->vendor->info.name : "espeak", sd->language, narrator,
				      PQgetisnull(r, row, 6) ? NULL : PQgetvalue(r, row, 6),
				      PQgetisnull(r, row, 5) ? NULL : PQgetvalue(r, row, 5));
	}
	free(override);
	free(narrator);
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct speak_state *st = worker_app(w);
	const struct billing *b = worker_billing(w);
	struct speak_data *sd = xcalloc(1, sizeof(*sd));
	t->data = sd;
	sd->text = xstrdup(PQgetvalue(r, row, 1));
	sd->language = opt_copy(r, row, 2);
	sd->storage = worker_storage(w);
	sd->res.duration_ms = atoll(PQgetvalue(r, row, 4)); /* the estimate stands when media is skipped */
	if (worker_skip_media(w))
		t->claim = CLAIM_READY;
	else
		cast_shot(st, t, r, row);
	if (t->result != WORK_FAIL &&
	    charge_short(b, r, row, b ? billing_price(b, "tts", sd->provider ? sd->provider : st->provider) : 0))
		worker_task_fail(t, CHARGE_CODE, "%s", charge_message);
	return 0;
}

static void start(struct task *t)
{
	speak_start(worker_app(t->worker), t);
}

/* {"provider","id"} of the voice that spoke the shot: the one espeak-ng
 * used, else the one cast (null: the vendor's default); NULL when media is
 * skipped and nobody speaks. The caller frees. */
static char *spoken_voice(struct worker *w, const struct speak_data *sd)
{
	if (worker_skip_media(w))
		return NULL;
	const char *id = sd->res.voice[0] ? sd->res.voice : sd->voice;
	cJSON *v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "provider", sd->vendor ? sd->vendor->info.name : "espeak");
	cJSON_AddItemToObject(v, "id", id ? cJSON_CreateString(id) : cJSON_CreateNull());
	char *text = json_print(v);
	cJSON_Delete(v);
	return text;
}

/* Marks the shots ready with who spoke them and counts them on their jobs,
 * in one statement. Rows: the task's ordinal, and whether its job now has
 * every shot ready. */
static PGresult *mark_ready(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "WITH u AS (SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], "
				  "$4::int[], $5::text[], $6::text[]) "
				  "           WITH ORDINALITY AS u(job_id, idx, key, ms, timings, voice, n)), "
				  "s AS (UPDATE shots s SET status = 'ready', audio_key = u.key, "
				  "duration_ms = u.ms, timings = u.timings::jsonb, voice = u.voice::jsonb, "
				  "      updated_at = now() "
				  "      FROM u WHERE s.job_id = u.job_id AND s.idx = u.idx AND s.status = "
				  "'voicing' "
				  "      RETURNING u.n, s.job_id), "
				  "c AS (SELECT job_id, count(*) AS k FROM s GROUP BY job_id), "
				  "j AS (UPDATE jobs SET shots_ready = jobs.shots_ready + c.k, updated_at "
				  "= now() FROM c "
				  "      WHERE jobs.id = c.job_id RETURNING jobs.id, jobs.shots_ready = "
				  "jobs.shots_total AS complete) "
				  "SELECT s.n, j.complete FROM s JOIN j ON j.id = s.job_id ORDER BY s.n";
	const char **keys = xmalloc(n * sizeof(*keys)), **timings = xmalloc(n * sizeof(*timings));
	char **voices = xmalloc(n * sizeof(*voices));
	int64_t *ms = xmalloc(n * sizeof(*ms));
	for (size_t i = 0; i < n; i++) {
		const struct speak_data *sd = tasks[i]->data;
		keys[i] = sd->key[0] ? sd->key : NULL;
		timings[i] = sd->timings;
		ms[i] = sd->res.duration_ms;
		voices[i] = spoken_voice(w, sd);
	}
	char *key_array = db_text_array(keys, n), *ms_array = db_int_array(ms, n);
	char *timing_array = db_text_array(timings, n), *voice_array = db_text_array((const char *const *)voices, n);
	PGresult *r = worker_query_tasks(w, sql, tasks, n, true,
					 (const char *const[]){ key_array, ms_array, timing_array, voice_array }, 4);
	free(key_array);
	free(timing_array);
	free(voice_array);
	for (size_t i = 0; i < n; i++)
		free(voices[i]);
	free(voices);
	free(timings);
	free(ms_array);
	free(keys);
	free(ms);
	return r;
}

/* Jobs whose last shot became ready go to merging, once. */
static int start_merges(struct worker *w, struct task **complete, size_t n)
{
	static const char sql[] = "UPDATE jobs SET status = 'merging', updated_at = now() "
				  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
				  "WHERE jobs.id = u.id AND jobs.status = 'producing' RETURNING u.n";
	PGresult *r = worker_query_tasks(w, sql, complete, n, false, NULL, 0);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, complete, n);
		events_add(worker_events(w), t->env.job, -1, "merging", NULL);
		worker_emit(w, t, "merge", -1);
	}
	PQclear(r);
	return 0;
}

/* Several tts-workers count shots of the same jobs; taking the job rows in
 * one global order first keeps their transactions from deadlocking. */
static int lock_jobs(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "SELECT 1 FROM jobs WHERE id = ANY($1::uuid[]) "
				  "ORDER BY id FOR NO KEY UPDATE";
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, NULL, 0);
	PQclear(r);
	return r ? 0 : -1;
}

/* provider_calls rows for the vendor calls of the tasks' attempts; tasks
 * that were never claimed have no data. */
static int record_calls(struct worker *w, struct task **tasks, size_t n)
{
	size_t total = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		total += tasks[i]->data ? ((struct speak_data *)tasks[i]->data)->n_calls : 0;
	const struct provider_call **calls = xmalloc((total ? total : 1) * sizeof(*calls));
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; tasks[i]->data && c < ((struct speak_data *)tasks[i]->data)->n_calls; c++)
			calls[k++] = &((struct speak_data *)tasks[i]->data)->calls[c];
	int rc = provider_calls_insert(worker_db(w), "tts", calls, total);
	free(calls);
	return rc;
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	const struct speak_state *st = worker_app(w);
	struct task **complete;
	size_t n_complete = 0;
	char detail[64];
	int rc = 0;
	PGresult *r;
	if (lock_jobs(w, tasks, n) < 0 || record_calls(w, tasks, n) < 0 || !(r = mark_ready(w, tasks, n)))
		return -1;
	complete = xmalloc(n * sizeof(*complete));
	const struct billing *b = worker_billing(w);
	struct ledger_charge *c = b ? xmalloc(n * sizeof(*c)) : NULL;
	size_t k = 0;
	/* Tasks without a row lost to a duplicate delivery that got there first. */
	for (int row = 0; row < PQntuples(r); row++) {
		struct task *t = worker_row_task(r, row, tasks, n);
		const struct speak_data *sd = t->data;
		if (b)
			charge_set(&c[k++], b, t->env.job, "tts", sd->provider ? sd->provider : st->provider,
				   t->env.shot, 1);
		snprintf(detail, sizeof(detail), "{\"duration_ms\":%lld}", (long long)sd->res.duration_ms);
		events_add(worker_events(w), t->env.job, t->env.shot, "ready", detail);
		if (PQgetvalue(r, row, 1)[0] == 't')
			complete[n_complete++] = t;
	}
	PQclear(r);
	rc = charge_kept(worker_db(w), worker_events(w), c, k);
	if (rc == 0 && n_complete)
		rc = start_merges(w, complete, n_complete);
	free(c);
	free(complete);
	return rc;
}

/* A refused key fails the whole job at once (every shot would meet it), and
 * so does a voice or provider that does not exist, on its shot: a retry
 * would meet them again. Any other failure pauses the job on this shot. */
static int fail(struct worker *w, struct task *t)
{
	struct task *one[] = { t };
	if (record_calls(w, one, 1) < 0)
		return -1;
	if (strcmp(t->error_code, "provider_auth") == 0)
		return jobs_fail(worker_db(w), worker_events(w), t->env.job, "tts", t->error_code, t->error, false);
	if (strcmp(t->error_code, "unknown_voice") == 0 || strcmp(t->error_code, "unknown_provider") == 0)
		return jobs_fail_for_shot(worker_db(w), worker_events(w), t->env.job, t->env.shot, "tts", t->error_code,
					  t->error);
	return jobs_pause_for_shot(worker_db(w), worker_events(w), t->env.job, t->env.shot, "tts", t->error_code,
				   t->error);
}

/* A retry starts afresh from a new message: this attempt's calls are written now. */
static int defer(struct worker *w, struct task *t)
{
	struct task *one[] = { t };
	return record_calls(w, one, 1);
}

static void release(struct task *t)
{
	speak_data_free(t->data);
}

static void stop(struct worker *w)
{
	struct speak_state *st = worker_app(w);
	if (!st)
		return;
	if (st->http)
		http_client_free(st->http);
	cast_release(&st->cast);
	tts_provider_configs_free(st->vendor_cfgs);
	free(st);
	worker_set_app(w, NULL);
}

const struct stage_ops voice_ops = {
	.init = init,
	.claim = claim,
	.start = start,
	.stop = stop,
	.commit = commit,
	.fail = fail,
	.defer = defer,
	.release = release,
};

/*
 * Merge handler: reads the job's options and ready shots, assembles them on
 * the thread pool with FFmpeg's libraries (the plugin), stores the video,
 * poster, subtitles and manifest under jobs/ID/ and marks the job done with
 * their keys in jobs.output.
 */
#include "merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assemble.h"
#include "charge.h"
#include "db.h"
#include "errbuf.h"
#include "events.h"
#include "jobs.h"
#include "json.h"
#include "log.h"
#include "media.h"
#include "merge_output.h"
#include "merge_watch.h"
#include "metrics.h"
#include "plugin.h"
#include "storage.h"
#include "str.h"
#include "subtitles.h"
#include "upload_ref.h"
#include "banned.h"

#define FPS 25
#define CACHE_KEY "cache/merge" /* encoded shot segments, keyed by what they depend on */

struct merge_config merge_config;

const struct config_option merge_options[2] = {
	{ "REEL_MERGE_PRESET", CONFIG_STRING, "veryfast", 0, offsetof(struct merge_config, preset), 0, 0,
	  "libx264 preset of the final video (ultrafast ... veryslow)" },
	{ "REEL_MERGE_CRF", CONFIG_INT, "23", 0, offsetof(struct merge_config, crf), 1, 51,
	  "libx264 constant rate factor: lower is better and bigger" },
};

/* One ready shot as the database has it. */
struct shot_row {
	char *image, *video, *audio; /* storage keys, NULL when absent */
	int64_t ms;
	char *narration, *camera, *timings;
};

struct merge_data {
	struct merge_watch_item watch;
	bool watched;
	struct storage *storage;
	struct shot_row *rows;
	size_t n;
	int width, height;
	char subtitles[8]; /* burn, sidecar or off */
	char transition[16];
	long transition_ms;
	char *music; /* as the options say, NULL for none */
	int64_t duration_ms;
	char *output; /* the jobs.output object, once stored */
	struct assemble_stats stats;
};

/* The assembler lives in the merge-worker plugin (FFmpeg's codecs), loaded
 * only when videos are really encoded. */
static struct {
	int (*mp4)(const struct assemble_spec *spec, struct assemble_stats *stats, char *err, size_t errlen);
	int (*poster)(const char *mp4_path, int64_t at_ms, const char *jpg_path, char *err, size_t errlen);
	int (*sha256_file)(const char *path, char hex[65], int64_t *bytes);
} plugin;

static struct metric *m_encoded, *m_reused;

static int check_preset(const char *preset, char *err, size_t errlen)
{
	static const char *const presets[] = { "ultrafast", "superfast", "veryfast", "faster",   "fast",
					       "medium",    "slow",      "slower",   "veryslow", "placebo" };

	for (size_t i = 0; i < ARRAY_SIZE(presets); i++)
		if (strcmp(preset, presets[i]) == 0)
			return 0;
	return errbuf_set(err, errlen, "REEL_MERGE_PRESET=%s: not a libx264 preset (ultrafast ... veryslow)", preset);
}

static int init(struct worker *w, const char *provider, char *err, size_t errlen)
{
	static const char *const symbols[] = { "assemble_mp4", "assemble_init", "assemble_files_poster",
					       "assemble_files_sha256" };
	void *addrs[4];
	void (*setup)(void);
	char names[64];

	if (!provider_find(&merge_registry, provider))
		return errbuf_set(err, errlen, "REEL_MERGE_PROVIDER=%s: unknown provider (available: %s)", provider,
				  provider_names(&merge_registry, names, sizeof(names)));
	if (check_preset(merge_config.preset, err, errlen) < 0)
		return -1;
	m_encoded = metrics_counter("reel_merge_segments_encoded_total", "Shot segments encoded", "");
	m_reused = metrics_counter("reel_merge_segments_reused_total", "Shot segments reused from the cache", "");
	if (worker_skip_media(w))
		return 0;
	if (plugin_load("merge-worker", symbols, addrs, ARRAY_SIZE(symbols), err, errlen) < 0)
		return -1;
	*(void **)&plugin.mp4 = addrs[0];
	*(void **)&setup = addrs[1];
	*(void **)&plugin.poster = addrs[2];
	*(void **)&plugin.sha256_file = addrs[3];
	setup();
	merge_watch_start(w);
	return 0;
}

static int take_row(struct worker *w, struct task *t, PGresult *r, int row);

/* Claims jobs that are merging; done, canceled or gone ones are not claimed. */
static int claim(struct worker *w, struct task **tasks, size_t n)
{
	/* A read, not a write: the commit's conditional update settles races. */
	static const char sql[] = "SELECT u.n, j.options::text "
				  "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) JOIN jobs j ON j.id = u.id "
				  "WHERE j.status = 'merging'";
	return worker_claim_rows(w, worker_query_tasks(w, sql, tasks, n, false, NULL, 0), tasks, n, take_row);
}

/* The options merge acts on; the gateway validated them, anything else means the default. */
static void read_options(struct merge_data *md, const char *text)
{
	cJSON *o = json_parse(text, strlen(text));
	const char *sub = json_str(o, "subtitles"), *tr = json_str(o, "transition"), *music = json_str(o, "music");
	long ms;

	if (media_frame_size(json_str(o, "aspect_ratio"), json_str(o, "resolution"), &md->width, &md->height) < 0) {
		md->width = 1080;
		md->height = 1920;
	}
	str_copy(md->subtitles, sub && (!strcmp(sub, "burn") || !strcmp(sub, "off")) ? sub : "sidecar",
		 sizeof(md->subtitles));
	str_copy(md->transition, tr ? tr : "cut", sizeof(md->transition));
	md->transition_ms = json_int(o, "transition_ms", &ms) == 0 ? ms : 500;
	md->music = music && *music ? xstrdup(music) : NULL;
	cJSON_Delete(o);
}

static PGresult *ready_shots(struct db *db, const char *job)
{
	static const char sql[] = "SELECT image_key, video_key, audio_key, coalesce(duration_ms, est_duration_ms), "
				  "narration, camera, timings::text FROM shots "
				  "WHERE job_id = $1 AND status = 'ready' ORDER BY idx";
	const char *params[] = { job };
	return db_exec(db, sql, 1, params);
}

static char *column(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : xstrdup(PQgetvalue(r, row, col));
}

static void load_shots(struct merge_data *md, PGresult *r)
{
	md->n = (size_t)PQntuples(r);
	md->rows = xcalloc(md->n ? md->n : 1, sizeof(*md->rows));
	for (int i = 0; i < (int)md->n; i++) {
		struct shot_row *s = &md->rows[i];

		s->image = column(r, i, 0);
		s->video = column(r, i, 1);
		s->audio = column(r, i, 2);
		s->ms = atoll(PQgetvalue(r, i, 3));
		s->narration = column(r, i, 4);
		s->camera = column(r, i, 5);
		s->timings = column(r, i, 6);
		md->duration_ms += s->ms;
	}
}

static void free_data(struct merge_data *md);

static int take_row(struct worker *w, struct task *t, PGresult *r, int row)
{
	struct merge_data *md = xcalloc(1, sizeof(*md));
	PGresult *s;

	free_data(t->data); /* a claim whose transaction was rolled back and is now retried */
	t->data = md;
	md->storage = worker_storage(w);
	read_options(md, PQgetvalue(r, row, 1));
	if (worker_skip_media(w)) {
		t->claim = CLAIM_READY;
		return 0;
	}
	if (!(s = ready_shots(worker_db(w), t->env.job)))
		return -1;
	load_shots(md, s);
	PQclear(s);
	merge_watch_add(&md->watch, t->env.job);
	md->watched = true;
	t->claim = CLAIM_WORK;
	return 0;
}

/* The music as the assembler takes it: a bundled name, or the path of a storage
 * key (an "upload:<id>" the gateway checked when the job was made is its upload's key). */
static int music_source(const struct merge_data *md, char **out, bool *fetched, char *err, size_t errlen)
{
	*out = NULL;
	if (!md->music)
		return 0;
	for (size_t i = 0; media_music_tracks[i]; i++)
		if (strcmp(md->music, media_music_tracks[i]) == 0) {
			*out = xstrdup(md->music);
			return 0;
		}
	const char *upload = upload_ref_id(md->music);
	char *key = upload ? upload_ref_key(upload) : xstrdup(md->music);
	if (!storage_key_ok(key)) {
		free(key);
		return errbuf_set(err, errlen, "options.music \"%s\" is neither a bundled track nor a storage key",
				  md->music);
	}
	*out = storage_fetch(md->storage, key, err, errlen);
	free(key);
	*fetched = *out != NULL;
	if (!*out || access(*out, R_OK) < 0)
		return errbuf_set(err, errlen, "options.music \"%s\": no such file in storage", md->music);
	return 0;
}

/* Every path the assembly reads or writes, owned here. */
struct files {
	const struct storage *storage;
	struct assemble_shot *shots;
	char **owned; /* per shot: image, clip and audio (storage_fetch paths), and script */
	char *music, *cache, *video, *poster;
	bool music_fetched; /* music is a storage_fetch path, not a bundled track's name */
	size_t n;
};

static void files_release(struct files *f)
{
	for (size_t i = 0; i < 4 * f->n; i++)
		if (i % 4 == 3)
			free(f->owned[i]);
		else
			storage_drop(f->storage, f->owned[i]);
	free(f->owned);
	free(f->shots);
	if (f->music_fetched)
		storage_drop(f->storage, f->music);
	else
		free(f->music);
	free(f->cache);
	if (f->video)
		unlink(f->video);
	if (f->poster)
		unlink(f->poster);
	free(f->video);
	free(f->poster);
}

/* A local copy of key (the stored file itself on file:// storage); -1 with err when S3 fails. */
static int fetch(const struct merge_data *md, const char *key, char **out, char *err, size_t errlen)
{
	*out = key ? storage_fetch(md->storage, key, err, errlen) : NULL;
	return key && !*out ? -1 : 0;
}

static int fill_shots(const struct merge_data *md, const struct subs *subs, struct files *f, char *err, size_t errlen)
{
	int64_t start = 0;

	f->storage = md->storage;
	f->n = md->n;
	f->shots = xcalloc(md->n, sizeof(*f->shots));
	f->owned = xcalloc(4 * md->n, sizeof(*f->owned));
	for (size_t k = 0; k < md->n; k++) {
		const struct shot_row *r = &md->rows[k];
		char **o = &f->owned[4 * k];

		if (fetch(md, r->image, &o[0], err, errlen) < 0 || fetch(md, r->video, &o[1], err, errlen) < 0 ||
		    fetch(md, r->audio, &o[2], err, errlen) < 0)
			return -1;
		if (!strcmp(md->subtitles, "burn"))
			o[3] = subtitles_ass(subs, (int)k, start, md->width, md->height);
		f->shots[k] = (struct assemble_shot){ .image_path = o[0],
						      .video_path = o[1],
						      .audio_path = o[2],
						      .duration_ms = r->ms,
						      .camera = r->camera,
						      .subtitles = o[3] };
		start += r->ms;
	}
	return 0;
}

/* storage/cache/merge, made on first use; on S3 storage a folder in the local TMPDIR
 * (the cache only saves work, so it need not be shared). */
static char *cache_dir(const struct merge_data *md)
{
	const char *tmp = getenv("TMPDIR");
	bool local = storage_is_local(md->storage);
	char *parent = local ? storage_path(md->storage, "cache")
			     : xasprintf("%s/reel-cache", tmp && *tmp ? tmp : "/tmp");
	char *dir = local ? storage_path(md->storage, CACHE_KEY) : xasprintf("%s/merge", parent);

	if ((mkdir(parent, 0755) < 0 && errno != EEXIST) || (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		log_warn("cannot make %s (%s); merging without the segment cache", dir, strerror(errno));
		free(dir);
		dir = NULL;
	}
	free(parent);
	return dir;
}

/* Local paths in err become storage keys: users see their files, not our disks. */
static void hide_root(const struct merge_data *md, char *err)
{
	if (!storage_is_local(md->storage))
		return;
	char *root = storage_path(md->storage, "x");
	size_t n = strlen(root) - 1;
	char *p;

	while ((p = strstr(err, root)) != NULL && n > 0)
		memmove(p, p + n, strlen(p + n) + 1);
	free(root);
}

static int encode(struct task *t, struct merge_data *md, struct files *f, char *err, size_t errlen)
{
	struct assemble_spec spec = {
		.shots = f->shots,
		.n_shots = md->n,
		.width = md->width,
		.height = md->height,
		.fps = FPS,
		.preset = merge_config.preset,
		.crf = (int)merge_config.crf,
		.transition = md->transition,
		.transition_ms = (int)md->transition_ms,
		.music = f->music,
		.cache_dir = f->cache,
		.out_path = f->video,
		.cancel = &md->watch.cancel,
		.progress = merge_watch_progress,
		.progress_arg = &md->watch,
	};

	if (plugin.mp4(&spec, &md->stats, err, errlen) == 0) {
		log_info("assembled %zu shot(s), %lld ms: %d segment(s) encoded, %d reused; mix at %.1f LUFS before "
			 "normalising",
			 md->n, (long long)md->duration_ms, md->stats.segments_encoded, md->stats.segments_reused,
			 md->stats.loudness);
		return 0;
	}
	if (!strcmp(err, "canceled") && atomic_load(&md->watch.cancel) == MERGE_WATCH_SHUTDOWN) {
		worker_task_fail(t, "shutdown", "the merge-worker stopped the encode to shut down");
		t->result = WORK_RETRY; /* not committed: the message goes to the next merge-worker */
	} else if (!strcmp(err, "canceled")) {
		worker_task_fail(t, "canceled", "the job was canceled while its video was being encoded");
	} else {
		hide_root(md, err);
		worker_task_fail(t, "merge_failed", "the video could not be assembled: %s", err);
	}
	return -1;
}

/* Stores everything the encode produced and lists it, inputs too, in the manifest. */
static int store(struct task *t, struct merge_data *md, struct files *f, const struct subs *subs, char *err,
		 size_t errlen)
{
	struct merge_output out;
	char *srt = NULL, *vtt = NULL, *manifest = NULL, key[5][128];
	static const char *const names[] = { "final.mp4", "poster.jpg", "subtitles.srt", "subtitles.vtt",
					     "manifest.json" };
	static const char *const fields[] = { "video_key", "poster_key", "srt_key", "vtt_key", "manifest_key" };
	bool sidecars = strcmp(md->subtitles, "off") != 0;
	int rc;

	for (int i = 0; i < 5; i++)
		snprintf(key[i], sizeof(key[i]), "jobs/%s/%s", t->env.job, names[i]);
	merge_output_init(&out, md->storage, plugin.sha256_file, t->env.job);
	rc = plugin.poster(f->video, md->rows[0].ms / 2, f->poster, err, errlen);
	if (rc == 0)
		rc = merge_output_put(&out, f->video, key[0], "video/mp4", md->duration_ms, err, errlen);
	if (rc == 0)
		rc = merge_output_put(&out, f->poster, key[1], "image/jpeg", -1, err, errlen);
	if (rc == 0 && sidecars) {
		srt = subtitles_srt(subs);
		vtt = subtitles_vtt(subs);
		rc = merge_output_put_text(&out, srt, key[2], "application/x-subrip", err, errlen);
		if (rc == 0)
			rc = merge_output_put_text(&out, vtt, key[3], "text/vtt", err, errlen);
	}
	for (size_t k = 0; rc == 0 && k < md->n; k++) {
		const struct shot_row *r = &md->rows[k];

		char *const *o = &f->owned[4 * k];

		if (r->image)
			rc = merge_output_note(&out, o[0], r->image, -1, err, errlen);
		if (rc == 0 && r->video)
			rc = merge_output_note(&out, o[1], r->video, -1, err, errlen);
		if (rc == 0 && r->audio)
			rc = merge_output_note(&out, o[2], r->audio, r->ms, err, errlen);
	}
	if (rc == 0) {
		manifest = merge_output_manifest(&out);
		rc = merge_output_put_text(&out, manifest, key[4], "application/json", err, errlen);
	}
	if (rc == 0) {
		cJSON *o = cJSON_CreateObject();

		for (int i = 0; i < 5; i++)
			if (i < 2 || i == 4 || sidecars)
				cJSON_AddStringToObject(o, fields[i], key[i]);
		cJSON_AddNumberToObject(o, "duration_ms", (double)md->duration_ms);
		md->output = json_print(o);
		cJSON_Delete(o);
	} else {
		worker_task_fail(t, "storage_failed", "the video could not be stored: %s", err);
	}
	merge_output_release(&out);
	free(srt);
	free(vtt);
	free(manifest);
	return rc;
}

static void work(struct task *t)
{
	struct merge_data *md = t->data;
	struct files f = { 0 };
	struct subs subs;
	char err[512] = "";

	subtitles_init(&subs);
	if (md->n == 0) {
		worker_task_fail(t, "nothing_to_merge", "the job has no ready shots to put together");
		return;
	}
	for (size_t k = 0, start = 0; strcmp(md->subtitles, "off") && k < md->n; start += md->rows[k++].ms)
		subtitles_add_shot(&subs, (int)k, md->rows[k].timings, md->rows[k].narration, (int64_t)start,
				   md->rows[k].ms, subtitles_columns(md->width, md->height));
	if (fill_shots(md, &subs, &f, err, sizeof(err)) < 0) {
		worker_task_fail(t, "storage_failed", "a shot's media could not be read: %s", err);
	} else if (music_source(md, &f.music, &f.music_fetched, err, sizeof(err)) < 0) {
		worker_task_fail(t, "bad_option", "%s", err);
	} else {
		f.cache = cache_dir(md);
		f.video = storage_temp(md->storage, ".mp4");
		f.poster = storage_temp(md->storage, ".jpg");
		if (encode(t, md, &f, err, sizeof(err)) == 0 && store(t, md, &f, &subs, err, sizeof(err)) == 0)
			merge_watch_settle(&md->watch);
	}
	files_release(&f);
	subtitles_release(&subs);
}

/* Charges the videos of the jobs still merging, per started minute, before
 * they are set done: ending a job releases its reservation, and the video
 * is paid from it first. The job rows stay locked until the commit, so a
 * duplicate merge of the same job waits and then finds it done. */
static int charge(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "SELECT u.n FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
				  "JOIN jobs ON jobs.id = u.id WHERE jobs.status = 'merging' FOR UPDATE OF jobs";
	const struct billing *b = worker_billing(w);
	if (!b)
		return 0;
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, NULL, 0);
	if (!r)
		return -1;
	struct ledger_charge *c = xmalloc(n * sizeof(*c));
	size_t k = 0;
	for (int row = 0; row < PQntuples(r); row++) {
		const struct task *t = worker_row_task(r, row, tasks, n);
		const struct merge_data *md = t->data;
		charge_set(&c[k++], b, t->env.job, "merge", "ffmpeg", -1, (long)((md->duration_ms + 59999) / 60000));
	}
	PQclear(r);
	int rc = charge_kept(worker_db(w), worker_events(w), c, k);
	free(c);
	return rc;
}

static int commit(struct worker *w, struct task **tasks, size_t n)
{
	static const char sql[] = "UPDATE jobs SET status = 'done', output = u.out::jsonb, "
				  "updated_at = now(), finished_at = now() "
				  "FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS u(id, out, n) "
				  "WHERE jobs.id = u.id AND jobs.status = 'merging' RETURNING u.n";
	if (charge(w, tasks, n) < 0)
		return -1;
	const char **outs = xmalloc(n * sizeof(*outs));
	for (size_t i = 0; i < n; i++) {
		const struct merge_data *md = tasks[i]->data;
		outs[i] = md->output;
		metrics_add(m_encoded, md->stats.segments_encoded);
		metrics_add(m_reused, md->stats.segments_reused);
	}
	char *out_array = db_text_array(outs, n);
	PGresult *r = worker_query_tasks(w, sql, tasks, n, false, (const char *const[]){ out_array }, 1);
	free(out_array);
	free(outs);
	if (!r)
		return -1;
	for (int row = 0; row < PQntuples(r); row++) {
		const struct task *t = worker_row_task(r, row, tasks, n);
		const struct merge_data *md = t->data;

		/* The watch stops with the encode; unless it said so already, the last step is said here. */
		if (md->watched && !merge_watch_finished(&md->watch))
			events_add(worker_events(w), t->env.job, -1, "progress",
				   "{\"stage\":\"merge\",\"percent\":100}");
		events_add(worker_events(w), t->env.job, -1, "done", NULL);
	}
	PQclear(r);
	return 0;
}

static int fail(struct worker *w, struct task *t)
{
	return jobs_fail(worker_db(w), worker_events(w), t->env.job, "merge", t->error_code, t->error, true);
}

static void free_data(struct merge_data *md)
{
	if (!md)
		return;
	if (md->watched)
		merge_watch_remove(&md->watch);
	for (size_t i = 0; i < md->n; i++) {
		struct shot_row *s = &md->rows[i];
		free(s->image);
		free(s->video);
		free(s->audio);
		free(s->narration);
		free(s->camera);
		free(s->timings);
	}
	free(md->rows);
	free(md->music);
	free(md->output);
	free(md);
}

/* Running encodes stop within a frame; the worker waits for them before it exits. */
static void stop(struct worker *w)
{
	(void)w;
	merge_watch_stop();
}

static void release(struct task *t)
{
	free_data(t->data);
	t->data = NULL;
}

const struct stage_ops merge_ops = {
	.init = init,
	.claim = claim,
	.work = work,
	.commit = commit,
	.fail = fail,
	.stop = stop,
	.release = release,
};

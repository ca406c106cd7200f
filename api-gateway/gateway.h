/*
 * api-gateway's state and its route handlers. Creates are committed in
 * groups: every request that arrives in one loop iteration shares one
 * transaction, so the gateway pays one commit for a burst of jobs.
 */
#ifndef REEL_GATEWAY_H
#define REEL_GATEWAY_H

#include <uv.h>

#include "daemon.h"
#include "http_server.h"
#include "json.h"

struct pending_create;

/* The gateway's own options (main.c's table). */
struct gateway_config {
	char *url_secret;   /* signs download URLs; random per start when unset */
	long url_ttl_s;     /* how long a download URL stays valid */
	char *jwt_secret;   /* HS256 secret (Supabase) */
	char *jwks_file;    /* RS256/ES256 keys (Clerk) */
	char *jwt_audience; /* required aud, or NULL */
	long jwt_leeway_s;
	bool require_auth;  /* API keys only, without JWT settings */
	char *openapi_file; /* the OpenAPI document served at /openapi.json */
	long sse_heartbeat_s;   /* comment line sent on every open event stream this often */
	long rate_per_s;        /* API requests a user may make per second, 0 = unlimited */
	long rate_burst;        /* ...and in one burst */
	long max_in_flight;     /* unfinished jobs a user may have, 0 = unlimited */
	char *webhook_secret;   /* whsec_ base64 key that signs outbound webhooks */
	bool allow_private_webhooks; /* webhook URLs may resolve to loopback or private addresses */
	long webhook_timeout_s; /* per attempt */
	long webhook_retry_base_ms; /* wait after a webhook's first failed attempt; doubles per attempt */
	long job_cache_ms;      /* how long a cached job resource may be served, 0 = no cache */
	long job_cache_kb;      /* memory the job cache may hold */
	char *cors_origins;     /* origins whose pages may call the API (CORS), or NULL */
};

struct auth;
struct cors;
struct job_cache;
struct live;
struct sse_hub;
struct ratelimit;
struct webhook_sender;

struct gateway {
	struct daemon *d;
	struct gateway_config cfg;
	struct auth *auth;                /* NULL when nobody needs to authenticate */
	struct cors *cors;                /* NULL when no origin may call from a browser */
	uv_check_t flush;                 /* runs the group transaction once per loop iteration */
	struct pending_create *pending;   /* creates waiting for it, in arrival order */
	struct pending_create **pending_tail;
	char *openapi;                    /* the document's text, read at start */
	size_t openapi_len;
	struct sse_hub *sse;              /* open event streams by job */
	struct live *live;                /* the LISTEN connection feeding them */
	struct job_cache *cache;          /* rendered GET /v1/jobs/{id} answers; NULL when off */
	struct ratelimit *rate;           /* per-user token buckets, NULL when unlimited */
	uv_timer_t rate_sweep;            /* forgets full buckets now and then */
	struct webhook_sender *webhooks;  /* delivers job-end webhooks */
	unsigned char webhook_key[64];    /* REEL_WEBHOOK_SECRET decoded */
	size_t webhook_keylen;
};

/* Starts the group-commit handle once the daemon is up. */
void gateway_start(struct daemon *d);

#define GATEWAY_OWNER_MAX 128

/* The configure hook: builds the verifier, or keeps an unauthenticated
 * gateway on loopback. */
int gateway_configure(struct daemon *d, char *err, size_t errlen);

/* Who is asking: fills owner and returns 0, or answers 401 itself and
 * returns -1. Without authentication configured everyone is "anonymous"
 * (and the gateway listens on loopback only). */
int gateway_authenticate(struct http_exchange *x, struct gateway *g, char *owner, size_t ownerlen) WARN_UNUSED;

void gateway_create_job(struct http_exchange *x, void *arg);
/* GET /v1/jobs/{id}/events: Server-Sent Events of the job's job_events rows (events_api.c). */
void gateway_job_events(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/events/tokens: {"token","expires_at"}, the owner's pass to
 * the job's stream for a browser, as ?token= (events_api.c, stream_token.h). */
void gateway_create_stream_token(struct http_exchange *x, void *arg);
/* GET /v1/voices?provider=&language=&gender=: {"items":[...]} (voices_api.c). */
void gateway_list_voices(struct http_exchange *x, void *arg);
/* Starts and stops the live parts: the LISTEN connection, event streams,
 * rate limits and the webhook sender (live_api.c). */
int gateway_live_start(struct gateway *g) WARN_UNUSED;
void gateway_live_stop(struct gateway *g);
/* Part of the configure hook: decodes REEL_WEBHOOK_SECRET (or makes one). */
int gateway_webhook_configure(struct gateway *g, char *err, size_t errlen) WARN_UNUSED;
/* Takes one request of owner from its rate limit: 0, or -1 after answering 429. */
int gateway_rate_check(struct http_exchange *x, struct gateway *g, const char *owner) WARN_UNUSED;
/* Whether owner may start another job, with queued more waiting in this
 * process's group: 0, or -1 after answering (429 at the cap, 503). */
int gateway_inflight_check(struct http_exchange *x, struct gateway *g, const char *owner, long queued) WARN_UNUSED;

/* POST /v1/jobs/{id}/cancel: until the job is final; 409 saying its state otherwise. */
void gateway_cancel_job(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/approve: a job in review goes to production, after the
 * optional {"shots":[{"index","prompt","narration"}]} edits. */
void gateway_approve_job(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/retry: a failed or paused job resumes. */
void gateway_retry_job(struct http_exchange *x, void *arg);
/* PATCH /v1/jobs/{id}/shots/{n}: a shot's prompt or narration, while the job is stopped. */
void gateway_patch_shot(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/shots/{n}/regenerate: render the shot again, then merge again. */
void gateway_regenerate_shot(struct http_exchange *x, void *arg);
/* POST /v1/jobs/{id}/shots/{n}/skip: leave a failed shot out of the video. */
void gateway_skip_shot(struct http_exchange *x, void *arg);
/* The status of job id when owner has it, into status: 0 found, 1 not
 * found (or another user's), -1 on a database error (events_api.c). */
int gateway_job_status(struct daemon *d, const char *id, const char *owner, char *status, size_t len) WARN_UNUSED;
/* True when s is a UUID in text form (job ids). */
int gateway_is_uuid(const char *s);
/* GET /v1/jobs: the caller's jobs, newest first; ?status=&limit=&cursor=. */
void gateway_list_jobs(struct http_exchange *x, void *arg);
void gateway_get_job(struct http_exchange *x, void *arg);
/* Drops job id's cached resource: the gateway's own actions call it as they change the job. */
void gateway_forget_job(struct gateway *g, const char *id);
/* The configure hook of main.c: reads the OpenAPI document (REEL_OPENAPI_FILE,
 * else ../share/openapi.json beside the binary, else the source tree's
 * api-gateway/openapi.json from build/<mode>/bin), then gateway_configure. */
int gateway_openapi_configure(struct daemon *d, char *err, size_t errlen);
/* GET /openapi.json: the document, as read at start. */
void gateway_get_openapi(struct http_exchange *x, void *arg);
/* GET /v1/jobs/{id}/manifest: the stored manifest with a signed url per asset; 404 until there is one. */
void gateway_get_manifest(struct http_exchange *x, void *arg);
/* GET /v1/files/{path*}: signed downloads from file storage, read on the thread pool. */
void gateway_get_file(struct http_exchange *x, void *arg);
/* A signed, expiring, gateway-relative download URL for a storage key; the caller frees. */
char *gateway_file_url(const struct gateway *g, const char *key);

/* The job resource as JSON text for job id of owner, or NULL when owner has
 * no such job (*found = 0: another user's job does not exist for them) or the
 * database failed (*found = -1). The caller frees. */
char *job_view_render(struct daemon *d, const char *id, const char *owner, int *found);

/* Progress percent of a job: parse a tenth, the shots most, the merge the rest. */
int job_view_percent(const char *status, int total, int ready);
/* The resource of a job just created (queued, no shots yet), without a
 * database round trip. The caller frees. */
char *job_view_new(const char *id, const char *template, const cJSON *options, const char *created_at);

#endif

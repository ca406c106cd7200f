/*
 * api-gateway's state, shared by its route handlers (each module's own
 * header declares its handlers: jobs_api.h, identity.h...).
 */
#ifndef REEL_GATEWAY_H
#define REEL_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "daemon.h"

struct pending_create;

/* The gateway's own options (main.c's table). */
struct gateway_config {
	char *url_secret;   /* signs download URLs; random per start when unset */
	long url_ttl_s;     /* how long a download URL stays valid */
	bool s3_proxy;      /* REEL_S3_PROXY: /v1/files links even on S3 storage */
	char *jwt_secret;   /* HS256 secret (Supabase) */
	char *jwks_file;    /* RS256/ES256 keys (Clerk) */
	char *jwt_audience; /* required aud, or NULL */
	long jwt_leeway_s;
	bool require_auth;                /* API keys only, without JWT settings */
	char *openapi_file;               /* the OpenAPI document served at /openapi.json */
	long sse_heartbeat_s;             /* comment line sent on every open event stream this often */
	long rate_per_s;                  /* API requests a user may make per second, 0 = unlimited */
	long rate_burst;                  /* ...and in one burst */
	long max_in_flight;               /* unfinished jobs a user may have, 0 = unlimited */
	char *webhook_secret;             /* whsec_ base64 key that signs outbound webhooks */
	bool allow_private_webhooks;      /* webhook URLs may resolve to loopback or private addresses */
	long webhook_timeout_s;           /* per attempt */
	long webhook_retry_base_ms;       /* wait after a webhook's first failed attempt; doubles per attempt */
	long job_cache_ms;                /* how long a cached job resource may be served, 0 = no cache */
	long job_cache_kb;                /* memory the job cache may hold */
	char *cors_origins;               /* origins whose pages may call the API (CORS), or NULL */
	long upload_max_mb[5];            /* REEL_UPLOAD_MAX_MB_<PURPOSE>, in uploads_purposes' order */
	long upload_pending_s;            /* an upload not completed this long after it was made is deleted */
	char *public_base_url;            /* how the outside reaches the gateway (share links), or NULL */
	long retention_days;              /* finished jobs' media are deleted after this many days, 0 = kept */
	long retention_intermediate_days; /* ...their shots' media after this many, 0 = with the rest */
	long retention_day_s;             /* seconds in a retention day (tests shorten it) */
	long retention_sweep_s;           /* how often the retention sweeper looks */
	char *stripe_api_key;             /* secret key creating Stripe Checkout Sessions, or NULL */
	char *stripe_base_url;            /* https://api.stripe.com */
	char *lemonsqueezy_api_key;       /* API key creating Lemon Squeezy checkouts, or NULL */
	char *lemonsqueezy_store_id;      /* the store they sell in */
	char *lemonsqueezy_base_url;      /* https://api.lemonsqueezy.com */
};

struct auth;
struct checkouts;
struct cors;
struct job_cache;
struct live;
struct sse_hub;
struct ratelimit;
struct retention;
struct webhook_sender;

struct gateway {
	struct daemon *d;
	struct gateway_config cfg;
	struct auth *auth;              /* NULL when nobody needs to authenticate */
	struct cors *cors;              /* NULL when no origin may call from a browser */
	uv_check_t flush;               /* runs the group transaction once per loop iteration */
	struct pending_create *pending; /* creates waiting for it, in arrival order */
	struct pending_create **pending_tail;
	char *openapi; /* the document's text, read at start */
	size_t openapi_len;
	struct sse_hub *sse;             /* open event streams by job */
	struct live *live;               /* the LISTEN connection feeding them */
	struct job_cache *cache;         /* rendered GET /v1/jobs/{id} answers; NULL when off */
	struct ratelimit *rate;          /* per-user token buckets, NULL when unlimited */
	uv_timer_t rate_sweep;           /* forgets full buckets now and then */
	struct webhook_sender *webhooks; /* delivers job-end webhooks */
	unsigned char webhook_key[64];   /* REEL_WEBHOOK_SECRET decoded */
	size_t webhook_keylen;
	uv_timer_t upload_sweep;     /* deletes uploads never completed (upload_sweep.c) */
	struct retention *retention; /* the media sweeper, NULL when everything is kept */
	struct checkouts *checkouts; /* payment checkouts in flight (billing_checkout.c), made on first use */
};

#define GATEWAY_OWNER_MAX 128

#endif

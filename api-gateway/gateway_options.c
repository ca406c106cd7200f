/*
 * The gateway's option table (its part of docs/configuration.md).
 */
#include "gateway_options.h"

#include <stddef.h>

#include "gateway.h"
#include "banned.h"

const struct config_option gateway_options[] = {
	{ "REEL_URL_SECRET", CONFIG_STRING, NULL, CONFIG_SECRET, offsetof(struct gateway, cfg.url_secret), 0, 0,
	  "key that signs download URLs (shared by every gateway; random per start when unset)" },
	{ "REEL_URL_TTL_S", CONFIG_INT, "3600", 0, offsetof(struct gateway, cfg.url_ttl_s), 60, 7 * 86400,
	  "seconds a download URL stays valid" },
	{ "REEL_S3_PROXY", CONFIG_BOOL, "0", 0, offsetof(struct gateway, cfg.s3_proxy), 0, 0,
	  "on S3 storage, hand out the gateway's signed /v1/files links (streamed from the bucket) instead of presigned URLs" },
	{ "REEL_JWT_SECRET", CONFIG_STRING, NULL, CONFIG_SECRET, offsetof(struct gateway, cfg.jwt_secret), 0, 0,
	  "HS256 secret of the JWTs users bring (Supabase)" },
	{ "REEL_JWKS_FILE", CONFIG_STRING, NULL, 0, offsetof(struct gateway, cfg.jwks_file), 0, 0,
	  "JWKS file with the RS256/ES256 keys of the JWTs users bring (Clerk)" },
	{ "REEL_JWT_AUDIENCE", CONFIG_STRING, NULL, 0, offsetof(struct gateway, cfg.jwt_audience), 0, 0,
	  "aud every JWT must name (e.g. authenticated)" },
	{ "REEL_JWT_LEEWAY_S", CONFIG_INT, "60", 0, offsetof(struct gateway, cfg.jwt_leeway_s), 0, 3600,
	  "clock skew tolerated on exp and nbf" },
	{ "REEL_OPENAPI_FILE", CONFIG_STRING, NULL, 0, offsetof(struct gateway, cfg.openapi_file), 0, 0,
	  "OpenAPI document served at /openapi.json (default: ../share/openapi.json beside the binary)" },
	{ "REEL_REQUIRE_AUTH", CONFIG_BOOL, "0", 0, offsetof(struct gateway, cfg.require_auth), 0, 0,
	  "require rk_ API keys even without JWT settings" },
	{ "REEL_SSE_HEARTBEAT_S", CONFIG_INT, "15", 0, offsetof(struct gateway, cfg.sse_heartbeat_s), 1, 3600,
	  "seconds between heartbeat comments on open event streams" },
	{ "REEL_RATE_LIMIT_RPS", CONFIG_INT, "100", 0, offsetof(struct gateway, cfg.rate_per_s), 0, 1000000,
	  "API requests per second per user (token bucket refill); 0 = unlimited" },
	{ "REEL_RATE_LIMIT_BURST", CONFIG_INT, "200", 0, offsetof(struct gateway, cfg.rate_burst), 1, 1000000,
	  "API requests a user may make at once (token bucket size)" },
	{ "REEL_MAX_JOBS_IN_FLIGHT", CONFIG_INT, "1000", 0, offsetof(struct gateway, cfg.max_in_flight), 0, 1000000,
	  "unfinished jobs per user; creates beyond get 429; 0 = unlimited" },
	{ "REEL_WEBHOOK_SECRET", CONFIG_STRING, NULL, CONFIG_SECRET, offsetof(struct gateway, cfg.webhook_secret), 0, 0,
	  "whsec_ base64 key signing outbound webhooks (Standard Webhooks); random per start when unset" },
	{ "REEL_ALLOW_PRIVATE_WEBHOOKS", CONFIG_BOOL, "0", 0, offsetof(struct gateway, cfg.allow_private_webhooks), 0, 0,
	  "let webhook URLs reach loopback, private and link-local addresses (development only)" },
	{ "REEL_WEBHOOK_TIMEOUT_S", CONFIG_INT, "15", 0, offsetof(struct gateway, cfg.webhook_timeout_s), 1, 300,
	  "seconds one webhook attempt may take" },
	{ "REEL_WEBHOOK_RETRY_BASE_MS", CONFIG_INT, "5000", 0, offsetof(struct gateway, cfg.webhook_retry_base_ms), 100,
	  3600000, "wait after a webhook's first failed attempt; doubles per attempt up to an hour, for a day" },
	{ "REEL_JOB_CACHE_MS", CONFIG_INT, "1000", 0, offsetof(struct gateway, cfg.job_cache_ms), 0, 1000,
	  "ms a rendered GET /v1/jobs/{id} may be served again until an event of the job drops it; 0 = no cache" },
	{ "REEL_CORS_ORIGINS", CONFIG_STRING, NULL, 0, offsetof(struct gateway, cfg.cors_origins), 0, 0,
	  "comma-separated origins whose pages may call the API (CORS), e.g. https://app.example.com; '*' only without auth" },
	{ "REEL_JOB_CACHE_KB", CONFIG_INT, "16384", 0, offsetof(struct gateway, cfg.job_cache_kb), 64, 1048576,
	  "memory the cache of rendered jobs may hold (least recently used entries go first)" },
};
const size_t gateway_options_n = ARRAY_SIZE(gateway_options);

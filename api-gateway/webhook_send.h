/*
 * The outbound webhook sender: delivers the webhook_deliveries rows that
 * job-ending transactions enqueued (migration 003), signed per Standard
 * Webhooks, retried with exponential backoff until a day has passed, every
 * attempt recorded in webhook_attempts.
 */
#ifndef REEL_WEBHOOK_SEND_H
#define REEL_WEBHOOK_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct webhook_sender; /* owned by the gateway; webhook_send_free releases it */

struct webhook_sender_settings {
	const unsigned char *key; /* the decoded whsec_ key, copied */
	size_t keylen;
	bool allow_private;      /* REEL_ALLOW_PRIVATE_WEBHOOKS */
	long timeout_ms;         /* per attempt */
	uint64_t retry_base_ms;  /* the wait after the first failure; doubles up to an hour */
	const char *public_base; /* REEL_PUBLIC_BASE_URL (not copied: it outlives the sender), or NULL */
};

/* A sender on d's loop and database; it looks for due deliveries at once,
 * every second, and on webhook_send_wake. */
struct webhook_sender *webhook_send_new(struct daemon *d, const struct webhook_sender_settings *s);
/* Drops attempts in flight (their rows are retried after their lease) and frees. */
void webhook_send_free(struct webhook_sender *ws);
/* New deliveries may be due (a NOTIFY on webhook_deliveries). */
void webhook_send_wake(struct webhook_sender *ws);
/* The wait before attempt n + 1 after n failed ones: base * 2^(n-1), at most an hour. */
uint64_t webhook_send_backoff_ms(uint64_t base_ms, long attempts);

#endif

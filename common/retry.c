/*
 * Backoff arithmetic and Retry-After parsing. Randomness comes from the
 * kernel (getrandom) so no generator state is shared between threads.
 */
#include "retry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "errbuf.h"
#include "str.h"
#include "banned.h"

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_BASE_MS 500
#define DEFAULT_CAP_MS 30000
#define DEFAULT_MAX_AFTER_MS 60000

int retry_policy_init(struct retry_policy *p, const char *stage, char *err, size_t errlen)
{
	char name[64];
	size_t k = (size_t)snprintf(name, sizeof(name), "REEL_");
	for (const char *s = stage; *s && k < sizeof(name) - 1; s++)
		name[k++] = (char)(*s >= 'a' && *s <= 'z' ? *s - 32 : *s);
	name[k] = '\0';
	str_copy(name + k, "_MAX_ATTEMPTS", sizeof(name) - k);
	*p = (struct retry_policy){ DEFAULT_ATTEMPTS, DEFAULT_BASE_MS, DEFAULT_CAP_MS, DEFAULT_MAX_AFTER_MS };
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	char *end;
	long n = strtol(v, &end, 10);
	if (*end || n < 1 || n > 100)
		return errbuf_set(err, errlen, "%s=%s: expected a whole number from 1 to 100", name, v);
	p->max_attempts = n;
	return 0;
}

bool retry_allowed(const struct retry_policy *p, long attempts)
{
	return attempts < p->max_attempts;
}

static uint64_t random_below(uint64_t n)
{
	uint64_t r;
	if (n == 0)
		return 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		abort(); /* the kernel's generator does not fail once booted */
	return r % n;
}

uint64_t retry_backoff_ms(const struct retry_policy *p, long attempts)
{
	uint64_t ceiling = p->base_ms;
	for (long i = 1; i < attempts && ceiling < p->cap_ms; i++)
		ceiling *= 2;
	if (ceiling > p->cap_ms)
		ceiling = p->cap_ms;
	return random_below(ceiling + 1);
}

int64_t retry_after_ms(const char *value, time_t now)
{
	struct tm tm;
	char *end;
	if (!value)
		return -1;
	while (*value == ' ')
		value++;
	if (*value >= '0' && *value <= '9') {
		double s = strtod(value, &end);
		while (*end == ' ')
			end++;
		return *end || s > 1e9 ? -1 : (int64_t)(s * 1000);
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	time_t at = timegm(&tm);
	return at <= now ? 0 : (int64_t)(at - now) * 1000;
}

uint64_t retry_delay_ms(const struct retry_policy *p, long attempts, int64_t after)
{
	uint64_t wait = retry_backoff_ms(p, attempts);
	if (after > 0) {
		uint64_t a = (uint64_t)after < p->max_after_ms ? (uint64_t)after : p->max_after_ms;
		if (a > wait)
			wait = a;
	}
	return wait;
}

bool retry_status_transient(int status)
{
	return status == 408 || status == 409 || status == 425 || status == 429 || status >= 500;
}

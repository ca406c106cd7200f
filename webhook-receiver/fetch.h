/*
 * Downloads of vendor outputs, which are untrusted: data: URIs, or http(s)
 * from public addresses only (a private one only when it is the host of a
 * configured vendor URL or REEL_ALLOW_PRIVATE_WEBHOOKS=1, and the address
 * checked is the address connected to), streamed into a temporary file and
 * capped in size as it arrives, the content type and first bytes checked,
 * then probed (probe.h) and stored on the thread pool: an upload to S3 may
 * take seconds and must not hold the loop.
 */
#ifndef REEL_FETCH_H
#define REEL_FETCH_H

#include <stdbool.h>

#include "probe.h"
#include "receiver.h"

struct fetch_result {
	int ok;          /* 0 when the output is stored at key, else -1 */
	bool retryable;  /* for failures: the network, not the content */
	bool unstored;   /* a failure of storage, not of the vendor's output */
	char error[512]; /* what was refused or failed, for the shot's error */
	char key[256];   /* the storage key: the caller's stem and the probed extension */
	struct probe_info info;
};

/* Runs once on the loop; r lives only during the call. */
typedef void (*fetch_done_fn)(const struct fetch_result *r, void *arg);

/* Fetches url (a still, or with video a clip), checks it and stores it at
 * stem + "." + its extension. */
void fetch_start(struct receiver *rc, const char *url, bool video, const char *stem, fetch_done_fn done, void *arg);
/* True when addr (IPv4 or IPv6, binary, as in a sockaddr) is not public:
 * loopback, private, link-local, CGNAT, multicast, unspecified... */
bool fetch_address_private(const struct sockaddr *sa);

#endif

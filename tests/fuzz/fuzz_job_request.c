/*
 * libFuzzer target: the create-job body (POST /v1/jobs) as the gateway parses
 * and validates it (api-gateway/job_request.c). Any input must end in a
 * request or a problem naming a field, without a crash or a leak.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "job_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job_request rq;
	struct api_problem p = { 0 };
	if (job_request_parse((const char *)data, size, &rq, &p) == 0)
		job_request_release(&rq);
	else
		assert(p.status >= 400 && p.status < 500);
	return 0;
}

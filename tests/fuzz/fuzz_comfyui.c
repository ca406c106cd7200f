/*
 * libFuzzer target: a ComfyUI /history answer as webhook-receiver's sweeper
 * reads it (common/vendors/comfyui_api.c). ComfyUI is polled, not signed, so whatever it
 * answers is untrusted; every output becomes an escaped /view URL.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vendors/comfyui_api.h"

#define BASE "http://127.0.0.1:8188"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vendor_result res;
	char err[256];
	if (comfyui_api_read_history((const char *)data, size, "p1", BASE, &res, err, sizeof(err)) < 0) {
		assert(err[0]);
		return 0;
	}
	assert(strcmp(res.id, "p1") == 0);
	assert((res.state == VENDOR_SUCCEEDED) == (res.n_outputs > 0));
	for (size_t i = 0; i < res.n_outputs; i++) {
		/* File names are escaped: no second query or fragment can be smuggled in. */
		assert(strncmp(res.outputs[i], BASE "/view?filename=", strlen(BASE "/view?filename=")) == 0);
		assert(!strchr(res.outputs[i], '#') && !strchr(res.outputs[i], ' '));
	}
	vendors_result_release(&res);
	return 0;
}

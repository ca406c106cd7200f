/*
 * libFuzzer target: a language model's storyboard answer as parse-worker
 * validates it (parse-worker/storyboard.c). Either a storyboard within the
 * limits or readable errors; never a crash or a leak.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "storyboard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The first byte picks the limits, so both the shot cap and the language check are reached. */
	struct storyboard_limits lim = { size ? 1 + data[0] % 60 : 12, size && (data[0] & 0x80) ? "en" : NULL };
	struct storyboard sb;
	struct storyboard_errors errs = { 0 };
	if (size)
		data++, size--;
	if (storyboard_parse((const char *)data, size, &lim, &sb, &errs) == 0) {
		assert(sb.n_shots >= 1 && sb.n_shots <= (size_t)lim.max_shots);
		storyboard_finish_prompts(&sb, "ink wash");
		free(storyboard_meta_json(&sb));
		storyboard_release(&sb);
	} else {
		free(storyboard_errors_text(&errs));
	}
	storyboard_errors_release(&errs);
	return 0;
}

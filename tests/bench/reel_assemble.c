/*
 * reel-assemble: runs the merge-worker's assembler on prepared files, for the
 * benchmark (tests/bench/bench.py) and by hand. Prints one JSON line with
 * the wall time and how many segments were encoded or reused.
 *
 *   reel-assemble OUT.mp4 WIDTHxHEIGHT CACHE_DIR|- IMAGE:AUDIO:MS...
 * with REEL_MERGE_PRESET / REEL_MERGE_CRF as the worker reads them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assemble.h"
#include "log.h"
#include "monotime.h"
#include "banned.h"

static int parse_shot(char *arg, struct assemble_shot *s)
{
	char *audio = strchr(arg, ':'), *ms = audio ? strchr(audio + 1, ':') : NULL;

	if (!ms)
		return -1;
	*audio++ = '\0';
	*ms++ = '\0';
	*s = (struct assemble_shot){ .image_path = arg, .audio_path = *audio ? audio : NULL, .duration_ms = atoll(ms) };
	return 0;
}

int main(int argc, char **argv)
{
	const char *preset = getenv("REEL_MERGE_PRESET"), *crf = getenv("REEL_MERGE_CRF");
	struct assemble_shot *shots;
	struct assemble_stats st;
	struct assemble_spec sp;
	char err[512];
	uint64_t t0;
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: %s OUT.mp4 WIDTHxHEIGHT CACHE_DIR|- IMAGE:AUDIO:MS...\n", argv[0]);
		return 2;
	}
	log_init("reel-assemble");
	log_set_level(LOG_WARN);
	assemble_init();
	shots = xcalloc((size_t)argc - 4, sizeof(*shots));
	memset(&sp, 0, sizeof(sp));
	sp.shots = shots;
	sp.n_shots = (size_t)argc - 4;
	sp.fps = 25;
	sp.preset = preset ? preset : "veryfast";
	sp.crf = crf ? atoi(crf) : 23;
	sp.out_path = argv[1];
	sp.cache_dir = strcmp(argv[3], "-") ? argv[3] : NULL;
	if (sscanf(argv[2], "%dx%d", &sp.width, &sp.height) != 2) {
		fprintf(stderr, "bad size %s\n", argv[2]);
		return 2;
	}
	for (int i = 4; i < argc; i++)
		if (parse_shot(argv[i], &shots[i - 4]) < 0) {
			fprintf(stderr, "bad shot %s (IMAGE:AUDIO:MS)\n", argv[i]);
			return 2;
		}
	t0 = monotime_us();
	rc = assemble_mp4(&sp, &st, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "reel-assemble: %s\n", err);
	else
		printf("{\"seconds\":%.3f,\"encoded\":%d,\"reused\":%d,\"loudness\":%.2f}\n",
		       (double)(monotime_us() - t0) / 1e6, st.segments_encoded, st.segments_reused, st.loudness);
	free(shots);
	return rc < 0 ? 1 : 0;
}

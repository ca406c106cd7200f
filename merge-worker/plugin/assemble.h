/*
 * Builds the finished MP4 in-process with FFmpeg's libraries: stills with a
 * camera move or image-to-video clips, cut or crossfaded, narration laid
 * sample-exactly under each shot, optional music ducked under the voice, the
 * mix loudness-normalised, subtitles optionally burned in with libass.
 */
#ifndef REEL_ASSEMBLE_H
#define REEL_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "assemble_files.h"
#include "assemble_spec.h"
#include "util.h"

/* What an assembly did, for logs, metrics and tests. */
struct assemble_stats {
	int segments_encoded; /* picture segments encoded by this call */
	int segments_reused;  /* found in cache_dir */
	double loudness;      /* integrated loudness of the mix before normalising, LUFS */
};

/*
 * Encodes spec into spec->out_path. Blocking and CPU-heavy: run it on the
 * thread pool; several calls may run at once. Shot k occupies exactly
 * [sum of earlier durations, + its own) (a transition is centred on the
 * boundary) and the file lasts the sum of the durations (video rounded to
 * whole frames). spec and its strings are only borrowed for the call. 0, or
 * -1 with err naming the offending file or setting ("canceled" when
 * spec->cancel stopped it). stats may be NULL.
 */
int assemble_mp4(const struct assemble_spec *spec, struct assemble_stats *stats, char *err, size_t errlen) WARN_UNUSED;

/* Routes FFmpeg's own warnings into log_* instead of raw stderr; call once at
 * start, before any thread encodes (it sets FFmpeg's process-wide callback). */
void assemble_init(void);

#endif

/*
 * The assembler's last step: the segments and the soundtrack muxed into the MP4.
 * Internal to the merge plugin.
 */
#ifndef REEL_ASSEMBLE_JOIN_H
#define REEL_ASSEMBLE_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "assemble_pcm.h"
#include "assemble_spec.h"
#include "util.h"

/* Writes spec->out_path (fast start): the n segments' packets copied in
 * order, segment i covering output frames [from[i], to[i]), and pcm as AAC.
 * tick(arg, frames) reports progress; spec->cancel stops it. */
int assemble__join(const struct assemble_spec *sp, const char *const *paths, const int64_t *from, const int64_t *to,
		   size_t n, const struct assemble__pcm *pcm, void (*tick)(void *arg, int64_t frames), void *arg,
		   char *err, size_t errlen) WARN_UNUSED;

#endif

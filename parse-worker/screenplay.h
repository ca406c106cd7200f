/*
 * The offline reading of a screenplay: scene headings ("INT. KITCHEN -
 * NIGHT") set the place of the shots that follow, dialogue ("ANNA: Hello."
 * or a centred name above its lines) keeps its speaker, action lines are
 * narrated. Pure logic, like the splitter.
 */
#ifndef REEL_SCREENPLAY_H
#define REEL_SCREENPLAY_H

#include <stddef.h>

#include "splitter.h"
#include "util.h"

/* One shot per dialogue line or action paragraph, neighbours merged (those
 * of one scene and one speaker first) until at most max_shots remain.
 * Prompts carry style (NULL: the default) and the scene's place and time.
 * 0, or -1 with err when there is nothing to narrate. */
int screenplay_split(const char *text, int max_shots, const char *style, struct storyboard_draft *out, char *err,
		     size_t errlen) WARN_UNUSED;

#endif

/*
 * Output frame geometry.
 */
#include "media.h"

#include <string.h>

#include "banned.h"

int media_frame_size(const char *aspect, const char *resolution, int *width, int *height)
{
	static const struct {
		const char *name;
		int w, h;
	} aspects[] = { { "9:16", 9, 16 }, { "16:9", 16, 9 }, { "1:1", 1, 1 }, { "4:5", 4, 5 } };
	int shortside;
	if (!resolution || strcmp(resolution, "1080p") == 0)
		shortside = 1080;
	else if (strcmp(resolution, "720p") == 0)
		shortside = 720;
	else
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(aspects); i++) {
		if (aspect && strcmp(aspect, aspects[i].name) != 0)
			continue;
		int a = aspects[i].w, b = aspects[i].h;
		/* The long side keeps the ratio and stays even, as yuv420p requires. */
		if (a <= b) {
			*width = shortside;
			*height = (shortside * b / a + 1) & ~1;
		} else {
			*height = shortside;
			*width = (shortside * a / b + 1) & ~1;
		}
		return 0;
	}
	return -1;
}

const char *const media_music_tracks[] = { "calm", "bright", "pulse", NULL };

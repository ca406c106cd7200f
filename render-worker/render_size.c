/*
 * Size mapping from the job's frame to vendors' size parameters.
 */
#include "render_size.h"

#include <math.h>

#include "banned.h"

static int round_to(double v, int multiple)
{
	int n = (int)lround(v / multiple);
	return (n < 1 ? 1 : n) * multiple;
}

void render_size_fit(int w, int h, int max_side, int multiple, int *out_w, int *out_h)
{
	int longer = w > h ? w : h;
	double scale = longer > max_side ? (double)max_side / longer : 1.0;
	*out_w = round_to(w * scale, multiple);
	*out_h = round_to(h * scale, multiple);
	/* Rounding may push a side just past the maximum. */
	while (*out_w > max_side)
		*out_w -= multiple;
	while (*out_h > max_side)
		*out_h -= multiple;
}

void render_size_area(int w, int h, long pixels, int multiple, int *out_w, int *out_h)
{
	double scale = sqrt((double)pixels / ((double)w * h));
	*out_w = round_to(w * scale, multiple);
	*out_h = round_to(h * scale, multiple);
}

void render_size_replicate(int frame_w, int frame_h, int *w, int *h)
{
	render_size_fit(frame_w, frame_h, 1440, 16, w, h);
}

void render_size_fal(int frame_w, int frame_h, int *w, int *h)
{
	render_size_fit(frame_w, frame_h, 2048, 16, w, h);
}

void render_size_comfyui(int frame_w, int frame_h, int *w, int *h)
{
	int shorter = frame_w < frame_h ? frame_w : frame_h;
	render_size_area(frame_w, frame_h, shorter >= 1080 ? 1024L * 1024 : 512L * 1024, 32, w, h);
}

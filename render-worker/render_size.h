/*
 * Image sizes per vendor: the job's frame (aspect ratio and resolution) as
 * each model family wants its size parameters — Replicate's and fal's FLUX
 * models take pixel sizes in multiples of 16 up to a maximum side, ComfyUI's
 * SDXL-style latents keep about one megapixel in multiples of 32.
 */
#ifndef REEL_RENDER_SIZE_H
#define REEL_RENDER_SIZE_H

#include "util.h"

/* The frame w x h scaled (never up) so its longer side is at most max_side,
 * each side rounded to a multiple of `multiple` (at least one multiple). */
void render_size_fit(int w, int h, int max_side, int multiple, int *out_w, int *out_h);
/* The frame's aspect kept at about `pixels` pixels in multiples of `multiple`. */
void render_size_area(int w, int h, long pixels, int multiple, int *out_w, int *out_h);
/* Replicate (FLUX): at most 1440 px a side, multiples of 16. */
void render_size_replicate(int frame_w, int frame_h, int *w, int *h);
/* fal (FLUX): at most 2048 px a side, multiples of 16. */
void render_size_fal(int frame_w, int frame_h, int *w, int *h);
/* ComfyUI: about 1 MP for 1080p frames and 0.5 MP for 720p, multiples of 32. */
void render_size_comfyui(int frame_w, int frame_h, int *w, int *h);

#endif

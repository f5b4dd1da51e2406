/* pixel_step.c -- the cached sampler's step for sampling: pixel_step.h built with
 * multiplies and adds fused (the Makefile), each image's products reading two pairs of
 * panels at once on AVX-512 (eight sums side by side for four images: a fused sum's
 * chain, one instruction a term, is what bounds it). */
#define STEP_IMAGES cpu_pixel_images
#define STEP_IMAGES_NARROW cpu_pixel_images_narrow
#define STEP_PAIRS 2
#include "pixel_step.h"

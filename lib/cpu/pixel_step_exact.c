/* pixel_step_exact.c -- the cached sampler's step for coding (be->exact, compress.c):
 * pixel_step.h built with no multiply and add fused (the Makefile's default), so that the
 * x86-64-v4, v3 and baseline clones, and the decoder's machine, give the same bits. */
#define STEP_IMAGES cpu_pixel_images_exact
#define STEP_IMAGES_NARROW cpu_pixel_images_exact_narrow
#define STEP_PAIRS 1
#include "pixel_step.h"

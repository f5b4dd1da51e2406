/* sample.c -- drawing images pixel by pixel, channel by channel, in raster order.
 *
 * This is the plain (naive) sampler: for pixel (i, j) it runs the network over rows
 * 0..i only -- rows below cannot influence them (causality) -- and reads the logits of
 * (i, j, c). Each image has its own random stream, derived from (seed, b). */
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"

int pcnn_model_sample(pcnn_model *m, uint8_t *x, const float *h, int B, float temperature,
                      uint64_t seed, void (*progress)(long, long, void *), void *arg)
{
    const pcnn_hparams hp = m->hp;
    const int C = hp.C, H = hp.H, W = hp.W, K = hp.K;
    if (!(temperature > 0)) return pcnn_seterr("temperature must be positive");
    if (hp.D && !h) return pcnn_seterr("the model needs a conditioning vector of size %d", hp.D);
    for (size_t i = 0; hp.D && i < (size_t)B * hp.D; i++)
        if (!isfinite(h[i])) return pcnn_seterr("conditioning vector holds NaN or Inf");
    if (pcnn_model_reserve(m, B)) return -1;

    real *hr = hp.D ? malloc((size_t)B * hp.D * sizeof *hr) : NULL;
    uint8_t *rows = malloc((size_t)B * C * H * W);
    uint8_t *draw = malloc((size_t)B);
    uint64_t *rng = malloc((size_t)B * sizeof *rng);
    double *u = malloc((size_t)B * sizeof *u);
    int rc = 0;
    if ((hp.D && !hr) || !rows || !draw || !rng || !u) {
        rc = pcnn_seterr("out of memory");
        goto out;
    }
    for (size_t i = 0; hp.D && i < (size_t)B * hp.D; i++) hr[i] = h[i];
    for (int b = 0; b < B; b++) rng[b] = seed * 0x9e3779b97f4a7c15ULL + (uint64_t)b * 0xd1b54a32d192ed03ULL;
    memset(x, 0, (size_t)B * C * H * W);
    const long total = (long)H * W * C;
    for (int i = 0; i < H; i++) {
        const int Hi = i + 1;
        for (int j = 0; j < W; j++)
            for (int c = 0; c < C; c++) {
                /* the first Hi rows of every image and channel, contiguous */
                for (int bc = 0; bc < B * C; bc++)
                    memcpy(rows + (size_t)bc * Hi * W, x + (size_t)bc * H * W, (size_t)Hi * W);
                m->hp.H = Hi; /* run over the top rows only */
                rc = pcnn_model_run(m, NULL, rows, hr, B, 0, 1);
                m->hp.H = H;
                if (rc) goto out;
                for (int b = 0; b < B; b++) u[b] = pcnn_rng_uniform(&rng[b]);
                size_t off = (((size_t)i * W + j) * C + c) * K; /* image 0, pixel (i,j), channel c */
                m->be->sample(draw, m->logits + off, B, K, Hi * W * C * K, (real)temperature, u);
                for (int b = 0; b < B; b++) x[(((size_t)b * C + c) * H + i) * W + j] = draw[b];
                if (progress) progress(((long)i * W + j) * C + c + 1, total, arg);
            }
    }
out:
    free(hr), free(rows), free(draw), free(rng), free(u);
    return rc;
}

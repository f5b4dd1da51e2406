/* compress.c -- lossless coding of images with a model (pcnn-compress, pcnn-decompress).
 *
 * Each value, in raster order and R→G→B within a pixel, is coded with rANS (rans.c) over
 * the model's distribution for it given every value before it. The encoder gets those
 * distributions as the decoder will: from the cached sampler (sample.c), which feeds the
 * image's own values where it would feed a draw; the decoder feeds each value as soon as
 * it has decoded it. So coding a batch costs what drawing it costs, both ways.
 *
 * Both sides must quantize the very same frequencies, so both must compute the same
 * logits to the last bit. They run on the CPU backend in its exact mode: every product in
 * one fixed order of float operations (lib/cpu/gemm_exact.c), no fused multiply-adds in
 * the elementwise code, the threads splitting work but never a sum. What the CPU's vector
 * width, the thread count or the batch's other images are cannot change a value's
 * logits; the tests code with one build and decode with another.
 *
 * A batch's B images make one stream, value k of image 0, 1, ..., B-1 before value k + 1:
 * the decoder must be given the same batch. */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "model-impl.h"

/* the model's shape and every weight, as the file gave them */
int pcnn_model_hash(pcnn_model *m, uint8_t hash[16])
{
    const pcnn_hparams *hp = &m->hp;
    const int32_t shape[] = {1, hp->kind, hp->L, hp->p, hp->n, hp->C, hp->H, hp->W, hp->K,
                             hp->D, hp->classes, hp->S, hp->encoder, hp->q};
    float *w = malloc(m->total * sizeof *w);
    XXH3_state_t *st = XXH3_createState();
    if (!w || !st) {
        free(w), XXH3_freeState(st);
        return pcnn_seterr("out of memory for the model's hash");
    }
    be_to_host(m->be, w, m->w, m->total * sizeof *w);
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, shape, sizeof shape);
    XXH3_128bits_update(st, w, m->total * sizeof *w);
    XXH128_canonicalFromHash((XXH128_canonical_t *)hash, XXH3_128bits_digest(st));
    free(w), XXH3_freeState(st);
    return pcnn_backend_check(m->be);
}

static int check_coding(const pcnn_model *m, const float *h, int B)
{
    if (strcmp(m->be->op->name, "cpu"))
        return pcnn_seterr("coding runs on the CPU backend only (its exact mode), not on %s", m->be->op->name);
    if (m->hp.kind != PCNN_PIXELCNN) return pcnn_seterr("only a PixelCNN codes images");
    if (m->hp.D && !h) return pcnn_seterr("the model needs a conditioning vector of size %d", m->hp.D);
    return B < 1 ? pcnn_seterr("nothing to code") : 0;
}

/* the cached sampler in exact mode with pk in place of the draw */
static int run_exact(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_picker *pk)
{
    pcnn_sample_opts o;
    pcnn_sample_opts_default(&o);
    const int was = m->be->exact;
    m->be->exact = 1;
    int rc = pcnn_sample_cached(m, x, h, B, &o, pk);
    m->be->exact = was;
    return rc;
}

/* ---- encoding: each value's frequency and start, coded last to first at the end ---- */
typedef struct {
    const uint8_t *x;   /* (B,C,H,W) */
    int C;
    long HW;
    uint32_t *start, *freq; /* (values, B) in coding order */
} encoder;

static int note_value(void *arg, const real *logits, int B, int K, long k, uint8_t *levels)
{
    encoder *e = arg;
    const long pix = k / e->C, c = k % e->C;
    uint32_t f[256], s[256];
    for (int b = 0; b < B; b++) {
        const uint8_t v = e->x[((size_t)b * e->C + c) * e->HW + pix];
        if (pcnn_rans_freqs(logits + (size_t)b * K, K, f)) return -1;
        pcnn_rans_starts(f, K, s);
        e->start[(size_t)k * B + b] = s[v], e->freq[(size_t)k * B + b] = f[v];
        levels[b] = v;
    }
    return 0;
}

int pcnn_model_compress(pcnn_model *m, uint8_t **out, size_t *len, const uint8_t *x, const float *h, int B)
{
    if (check_coding(m, h, B)) return -1;
    const pcnn_hparams *hp = &m->hp;
    const size_t values = (size_t)hp->C * hp->H * hp->W, n = values * B;
    for (size_t i = 0; i < n; i++)
        if (x[i] >= hp->K) return pcnn_seterr("a level %d is not below the model's %d", x[i], hp->K);
    encoder e = {x, hp->C, (long)hp->H * hp->W, malloc(n * sizeof *e.start), malloc(n * sizeof *e.freq)};
    uint8_t *y = malloc(n);
    int rc = !e.start || !e.freq || !y ? pcnn_seterr("out of memory for coding %d images", B) : 0;
    if (!rc) rc = run_exact(m, y, h, B, &(pcnn_picker){note_value, &e});
    if (!rc) rc = pcnn_rans_encode(e.start, e.freq, n, out, len);
    free(e.start), free(e.freq), free(y);
    return rc;
}

/* ---- decoding: each value as soon as its distribution is known ---- */
static int next_value(void *arg, const real *logits, int B, int K, long k, uint8_t *levels)
{
    pcnn_rans_dec *d = arg;
    uint32_t f[256], s[256];
    (void)k;
    for (int b = 0; b < B; b++) {
        if (pcnn_rans_freqs(logits + (size_t)b * K, K, f)) return -1;
        pcnn_rans_starts(f, K, s);
        const int v = pcnn_rans_dec_get(d, f, s, K);
        if (v < 0) return pcnn_seterr("the coded data ends early (truncated or corrupted)");
        levels[b] = (uint8_t)v;
    }
    return 0;
}

int pcnn_model_decompress(pcnn_model *m, uint8_t *x, const float *h, int B, const uint8_t *in, size_t len)
{
    if (check_coding(m, h, B)) return -1;
    pcnn_rans_dec d;
    if (pcnn_rans_dec_init(&d, in, len) || run_exact(m, x, h, B, &(pcnn_picker){next_value, &d}))
        return -1;
    if (!pcnn_rans_dec_done(&d))
        return pcnn_seterr("the coded data is corrupted (it does not end where its images do)");
    return 0;
}

/* model.c -- a model of any kind: its hyperparameters' check, the weights, gradients
 * and masks, new/load's allocation and free (the registry of their names is params.c),
 * and the one-line dispatch of a pass to the kind's row (kind.c: pixelcnn.c, autoenc.c,
 * embed.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kind.h"
#include "model-impl.h"

int pcnn_hparams_check(const pcnn_hparams *hp)
{
    if (hp->C != 1 && hp->C != 3) return pcnn_seterr("channels must be 1 or 3, not %d", hp->C);
    if (hp->H < 1 || hp->W < 1 || hp->H > 1024 || hp->W > 1024)
        return pcnn_seterr("image size %dx%d out of range 1..1024", hp->W, hp->H);
    if (hp->K < 2 || hp->K > 256) return pcnn_seterr("levels %d out of range 2..256", hp->K);
    if (hp->D < 0 || hp->D > 65536) return pcnn_seterr("conditioning size %d out of range", hp->D);
    if (hp->S < 0 || hp->S > 4096) return pcnn_seterr("spatial conditioning maps %d out of range", hp->S);
    if (hp->kind < 0 || hp->kind > PCNN_EMBEDDING) return pcnn_seterr("unknown model kind %d", hp->kind);
    int nets = hp->S || hp->encoder || hp->kind != PCNN_PIXELCNN;
    if (nets) {
        if (hp->q < 1 || hp->q > 1024) return pcnn_seterr("small-net feature maps %d out of range 1..1024", hp->q);
        if (hp->H < 4 || hp->W < 4) return pcnn_seterr("images of %dx%d are too small for an encoder or m() (4x4 at least)", hp->W, hp->H);
        if (hp->D < 1) return pcnn_seterr("an encoder, an embedding or spatial conditioning needs a vector size");
    }
    if (hp->encoder != 0 && hp->encoder != 1) return pcnn_seterr("encoder flag must be 0 or 1");
    if (hp->kind == PCNN_EMBEDDING) {
        if (hp->classes < 0) return pcnn_seterr("identities %d out of range", hp->classes);
        if (hp->S) return pcnn_seterr("an embedding net has no spatial conditioning");
        return 0;
    }
    if (hp->kind == PCNN_MSE_AUTOENCODER) {
        if (hp->S || hp->classes) return pcnn_seterr("an MSE autoencoder takes no classes or spatial maps");
        return 0;
    }
    if (hp->encoder && hp->classes) return pcnn_seterr("an autoencoder's h comes from the image, not from classes");
    if (hp->L < 0 || hp->L > 100) return pcnn_seterr("layers %d out of range 0..100", hp->L);
    if (hp->p < 1 || hp->p > 4096) return pcnn_seterr("feature maps %d out of range", hp->p);
    if (hp->p % hp->C) return pcnn_seterr("feature maps %d not a multiple of 3 for RGB", hp->p);
    if (hp->n < 1 || hp->n > 15 || hp->n % 2 == 0)
        return pcnn_seterr("filter size %d must be odd, 1..15", hp->n);
    if (hp->classes < 0 || (hp->classes > 0 && hp->classes != hp->D))
        return pcnn_seterr("classes %d must equal conditioning size %d", hp->classes, hp->D);
    return 0;
}

int pcnn_cond_check(const float *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(h[i])) return pcnn_seterr("conditioning value %zu is NaN or Inf", i + 1);
        if (fabsf(h[i]) > PCNN_MAX_COND)
            return pcnn_seterr("conditioning value %zu is %g, beyond the +-%g a model takes", i + 1, h[i], PCNN_MAX_COND);
    }
    return 0;
}

/* ---- layout ---------------------------------------------------------------- */

pcnn_model *pcnn_model_layout(const pcnn_hparams *hp, pcnn_backend *be)
{
    if (pcnn_hparams_check(hp)) return NULL;
    pcnn_model *m = calloc(1, sizeof *m);
    if (!m) {
        pcnn_seterr("out of memory");
        return NULL;
    }
    m->hp = *hp;
    m->be = be;
    m->layers = calloc((size_t)hp->L + 1, sizeof *m->layers);
    m->acts = calloc((size_t)hp->L + 1, sizeof *m->acts);
    if (!m->layers || !m->acts) m->layout_failed = 1;
    if (!m->layout_failed) pcnn_kind_of(hp->kind)->layout(m);
    if (m->layout_failed) {
        pcnn_seterr("out of memory for the layout of a model");
        pcnn_model_free(m);
        return NULL;
    }
    return m;
}

/* the machine's memory in bytes (0 when unknown) */
static double memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? (double)pages * size : 0;
}

/* the model's masks (1 where a weight may be non-zero), on the host; NULL out of memory */
static real *host_masks(const pcnn_model *m)
{
    real *mask = malloc(m->total * sizeof *mask);
    if (!mask) return NULL;
    for (size_t i = 0; i < m->total; i++) mask[i] = 1;
    if (pcnn_kind_of(m->hp.kind)->masks) pcnn_kind_of(m->hp.kind)->masks(m, mask);
    return mask;
}

int pcnn_model_arenas(pcnn_model *m)
{
    size_t bytes = m->total * sizeof(real);
    /* weights, gradients, masks and the host copy of the masks, before any batch */
    double need = 4.0 * bytes, have = memory_bytes();
    if (have > 0 && need > have)
        return pcnn_seterr("a model of %zu parameters needs %.0f MiB, more than this machine's %.0f MiB",
                           m->total, need / 1048576, have / 1048576);
    m->w = be_alloc(m->be, bytes);
    m->g = be_alloc(m->be, bytes);
    m->mask = be_alloc(m->be, bytes);
    real *mask = host_masks(m);
    if (!m->w || !m->g || !m->mask || !mask) {
        free(mask);
        return pcnn_backend_nomem(m->be, 3 * bytes, "a model of %zu parameters", m->total);
    }
    be_to_device(m->be, m->mask, mask, bytes);
    free(mask);
    return pcnn_backend_check(m->be);
}

pcnn_model *pcnn_model_alloc(const pcnn_hparams *hp, pcnn_backend *be)
{
    pcnn_model *m = pcnn_model_layout(hp, be);
    if (m && pcnn_model_arenas(m)) {
        pcnn_model_free(m);
        return NULL;
    }
    return m;
}

int pcnn_model_init_weights(pcnn_model *m, uint64_t seed)
{
    real *w = malloc(m->total * sizeof *w);
    if (!w) return pcnn_seterr("out of memory for the initial weights of %zu parameters", m->total);
    uint64_t rng = seed ^ 0x50434e4eULL;
    for (int i = 0; i < m->nparams; i++) {
        const pcnn_param *p = &m->params[i];
        real *dst = w + p->off;
        if (p->ndim == 1) { /* biases start at zero */
            memset(dst, 0, p->count * sizeof *dst);
            continue;
        }
        size_t fan_in = p->count / (size_t)p->shape[0];
        double bound = 1.0 / sqrt((double)fan_in);
        for (size_t k = 0; k < p->count; k++)
            dst[k] = (real)((2 * pcnn_rng_uniform(&rng) - 1) * bound);
    }
    be_to_device(m->be, m->w, w, m->total * sizeof *w);
    free(w);
    be_mul(m->be, m->w, m->mask, m->total);
    return pcnn_backend_check(m->be);
}

pcnn_model *pcnn_model_new(pcnn_backend *be, const pcnn_hparams *hp, uint64_t seed)
{
    pcnn_model *m = pcnn_model_alloc(hp, be);
    if (m && pcnn_model_init_weights(m, seed)) {
        pcnn_model_free(m);
        return NULL;
    }
    return m;
}

const pcnn_hparams *pcnn_model_hparams(const pcnn_model *m) { return &m->hp; }
size_t pcnn_model_nparams(const pcnn_model *m) { return m->total; }

/* the weights' entries the masks keep, from off on */
static double kept(const real *mask, size_t off, size_t count)
{
    double n = 0;
    for (size_t i = 0; i < count; i++) n += mask[off + i] != 0;
    return n;
}

double pcnn_model_flops(const pcnn_model *m)
{
    const pcnn_hparams *hp = &m->hp;
    const size_t p = hp->p, s = hp->n / 2, n = hp->n;
    if (hp->kind != PCNN_PIXELCNN) return 0;
    real *mask = host_masks(m);
    if (!mask) return 0;
    double per_pixel = 0; /* multiply-adds the masks keep, per pixel */
    for (int l = 0; l <= hp->L; l++) {
        const pcnn_layer *ly = &m->layers[l];
        per_pixel += kept(mask, ly->v_w, 2 * p * ly->cin * (s + 1) * n) + kept(mask, ly->h_w, 2 * p * ly->cin * (s + 1)) +
                     kept(mask, ly->link_w, 4 * p * p) + kept(mask, ly->out_w, p * p);
    }
    per_pixel += kept(mask, m->out1_w, p * p) + kept(mask, m->out2_w, (size_t)hp->C * hp->K * p); /* head */
    free(mask);
    return 2 * per_pixel * hp->H * hp->W;
}

void pcnn_model_free(pcnn_model *m)
{
    if (!m) return;
    if (m->be) {
        pcnn_packed_free(m);
        pcnn_shares_free(m);
        be_release(m->be, m->w);
        be_release(m->be, m->g);
        be_release(m->be, m->mask);
        be_release(m->be, m->ws);
        net_free(m->be, &m->enc);
        net_free(m->be, &m->dec);
    }
    free(m->layers);
    free(m->acts);
    free(m->params);
    free(m->names);
    free(m);
}

/* ---- the passes: the kind's ---------------------------------------------------- */

int pcnn_model_run(pcnn_model *m, real *loss, const uint8_t *x, const real *h, int B, int backward,
                   real gscale)
{
    if (B < 1) return pcnn_seterr("empty batch");
    pcnn_sampler_drop(m);
    int rc = pcnn_kind_of(m->hp.kind)->run(m, loss, x, h, B, backward, gscale);
    return rc ? rc : pcnn_backend_check(m->be); /* the pass's device errors show by now */
}

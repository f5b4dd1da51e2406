/* sample.c -- drawing images pixel by pixel, channel by channel, in raster order.
 *
 * Two samplers compute the same function:
 *  - cached (the default), after Ramachandran et al. 2017, "Fast Generation for
 *    Convolutional Autoregressive Models", for the two-stack network: at the start of
 *    row i the vertical stack of every layer is computed for row i alone (it sees only
 *    rows above, all known by then), and kept: later rows read its last n/2+1 rows.
 *    Then for each pixel (i, j) and channel c the horizontal stack and the head are
 *    computed at that one position, reading the current row's outputs of the layer
 *    below. Each new pixel costs one column of work per layer.
 *  - naive: the whole network over rows 0..i for every pixel and channel.
 * Image b takes its random numbers from stream (seed, b), one number per pixel and
 * channel in raster order, in both samplers. */
#include <stdio.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "arena.h"
#include "model-impl.h"

/* image b of a batch that starts at image first of the draw takes stream (seed, first + b),
 * or (seed, (first + b) mod per_row) with per_row > 0 */
static void seed_streams(uint64_t *rng, int B, uint64_t seed, long first, int per_row)
{
    for (int b = 0; b < B; b++) {
        uint64_t i = (uint64_t)(first + b);
        if (per_row > 0) i %= (uint64_t)per_row;
        rng[b] = seed * 0x9e3779b97f4a7c15ULL + i * 0xd1b54a32d192ed03ULL;
    }
}

static int check_args(const pcnn_model *m, const float *h, int B, const pcnn_sample_opts *o)
{
    const float temperature = o->temperature, top_p = o->top_p;
    if (!o->given != !o->known) return pcnn_seterr("completion needs both the known pixels and their values");
    for (size_t k = 0; o->given && k < (size_t)B * m->hp.C * m->hp.H * m->hp.W; k++)
        if (o->given[k] >= m->hp.K) return pcnn_seterr("a known value %d is not below the model's %d levels", o->given[k], m->hp.K);
    if (B < 1) return pcnn_seterr("nothing to sample");
    if (!(temperature > 0)) return pcnn_seterr("temperature must be positive");
    if (!(top_p > 0 && top_p <= 1)) return pcnn_seterr("top-p %g is not in (0, 1]", top_p);
    if (m->hp.kind != PCNN_PIXELCNN)
        return pcnn_seterr("an %s does not sample", m->hp.kind == PCNN_EMBEDDING ? "embedding net" : "MSE autoencoder (it decodes)");
    if (m->hp.D && !h) return pcnn_seterr("the model needs a conditioning vector of size %d", m->hp.D);
    return m->hp.D ? pcnn_cond_check(h, (size_t)B * m->hp.D) : 0;
}

static int sample_naive(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_sample_opts *o, long first)
{
    const pcnn_hparams hp = m->hp;
    const int C = hp.C, H = hp.H, W = hp.W, K = hp.K;
    if (check_args(m, h, B, o) || pcnn_model_reserve(m, B)) return -1;

    real *hr = hp.D ? malloc((size_t)B * hp.D * sizeof *hr) : NULL;
    uint8_t *rows = malloc((size_t)B * C * H * W);
    uint8_t *draw = malloc((size_t)B), *ddraw = be_alloc(m->be, (size_t)B);
    uint64_t *rng = malloc((size_t)B * sizeof *rng);
    double *u = malloc((size_t)B * sizeof *u), *du = be_alloc(m->be, (size_t)B * sizeof *du);
    int rc = 0;
    if (!ddraw || !du) {
        rc = pcnn_backend_nomem(m->be, (size_t)B * (1 + sizeof *du), "sampling a batch of %d", B);
        goto out;
    }
    if ((hp.D && !hr) || !rows || !draw || !rng || !u) {
        rc = pcnn_seterr("out of memory");
        goto out;
    }
    for (size_t i = 0; hp.D && i < (size_t)B * hp.D; i++) hr[i] = h[i];
    seed_streams(rng, B, o->seed, first, o->per_row);
    memset(x, 0, (size_t)B * C * H * W);
    const long total = (long)H * W * C;
    for (int i = 0; i < H; i++) {
        /* the network runs over rows 0..i only; with spatial conditioning m(h) is made
         * for the whole image, so over the whole image */
        const int Hi = hp.S ? H : i + 1;
        for (int j = 0; j < W; j++)
            for (int c = 0; c < C; c++) {
                for (int b = 0; b < B; b++) u[b] = pcnn_rng_uniform(&rng[b]);
                if (o->known && o->known[(size_t)i * W + j]) { /* kept: nothing to run */
                    for (int b = 0; b < B; b++) {
                        size_t at = (((size_t)b * C + c) * H + i) * W + j;
                        x[at] = o->given[at];
                    }
                    if (o->progress) o->progress(((long)i * W + j) * C + c + 1, total, o->arg);
                    continue;
                }
                /* the first Hi rows of every image and channel, contiguous */
                for (int bc = 0; bc < B * C; bc++)
                    memcpy(rows + (size_t)bc * Hi * W, x + (size_t)bc * H * W, (size_t)Hi * W);
                m->hp.H = Hi;
                rc = pcnn_model_run(m, NULL, rows, hr, B, 0, 1);
                m->hp.H = H;
                if (rc) goto out;
                size_t off = (((size_t)i * W + j) * C + c) * K; /* image 0, pixel (i,j), channel c */
                be_to_device(m->be, du, u, (size_t)B * sizeof *u);
                be_sample(m->be, ddraw, m->logits + off, B, K, Hi * W * C * K, (real)o->temperature,
                          (real)o->top_p, du);
                be_to_host(m->be, draw, ddraw, (size_t)B);
                for (int b = 0; b < B; b++) x[(((size_t)b * C + c) * H + i) * W + j] = draw[b];
                if (o->progress) o->progress(((long)i * W + j) * C + c + 1, total, o->arg);
            }
    }
    rc = pcnn_backend_check(m->be);
out:
    free(hr), free(rows), free(draw), free(rng), free(u);
    be_release(m->be, ddraw);
    be_release(m->be, du);
    return rc;
}

/* The cached sampler's state: one allocation on the backend.
 *
 * At pixel (i, j), channel c, only channel group c of every layer's horizontal output is
 * computed: groups below c were computed at channels before c and have not changed (they
 * see neither this channel nor later ones), and groups above it are not needed yet. The
 * masks zero every product of an output group with a later input group, so group c's
 * products read inputs of groups 0..c only. Of the horizontal convolution's taps, only
 * the one at column j is masked; the taps left of it read pixels fully known.
 * What depends on row i alone -- the vertical stack, and its link into the horizontal
 * stack with the horizontal bias and conditioning -- is computed once for the row; the
 * rest, at each pixel and channel, is one backend call (pcnn_pixel_step). */
typedef struct cache {
    pcnn_pixel_step st; /* the step's tensors (backend.h), in this allocation */
    real *inmap;        /* st.inmap: (B,H,W,C) input values, filled as pixels are drawn */
    real *hbase;        /* st.hbase: [L+1] (B,W,2p) */
    real **vout;        /* [L] (B,H,W,p) vertical outputs of layers 0..L-1 */
    real *varow;        /* (B,W,2p) one layer's vertical pre-activations, current row */
    real *col, *tmp;
    real *cv, *ch;      /* [L+1] (B,2p) conditioning biases, vertical and horizontal (grouped) */
    const real *smap;   /* (B,H,W,S) spatial conditioning s = m(h), or NULL */
    real *srow;         /* (B,W,S) row i of s */
    const pcnn_packed *pw; /* the weights, packed (m->packed) */
    void *mem;
} cache;

/* The sampler's weights, packed by packed_weights and kept in the model between calls:
 * packing CIFAR-like p = 126's took 45-60 ms, a tenth of an image's draw at batch 1. A
 * hash of the parameters tells when they have changed since (training, loading). */
struct pcnn_packed {
    uint64_t hash; /* XXH3 of the parameters these were packed from */
    int valid;     /* 0 until a packing has finished */
    /* vw's rows: 1, each window pixel's channels together (im2col_pixels, a copy of whole
     * runs); 0, im2col's order, which coding keeps (the exact mode): a product's order of
     * summation is part of the coded format */
    int pixels;
    void *mem;
    size_t kvmax;
    /* [L+1] (kv, 2p): the vertical weights transposed, each layer's kv = cin (s+1) n
     * rows in a slot of kvmax rows: the vertical row's product by weights lying (K, N)
     * ran 1.5-2.4x the same by (N, K), in cache (tests/bench/README.md) */
    real *vw;
    /* what makes hbase: [L+1] (2p, 2p) transposed, its columns grouped as st's; (2p);
     * (2p, S or D) with rows grouped as st's columns */
    real *link, *hbias, *hcond;
    /* the weights of st (backend.h) */
    real *hleft, *hmid, *out_w, *out_b, *out1_w, *out1_b, *out2_w, *out2_b;
    /* the last draw's cache, kept for the next draw of as many images: allocated for
     * each draw, a CIFAR-like one's 142 MB at batch 16 were zeroed page by page by the
     * kernel as the draw first wrote them, every time. A draw overwrites all it reads
     * but the zero columns left of each row of st.hrow, which nothing writes. A pass
     * over a batch frees it (pcnn_sampler_drop): a training step and the cache of its
     * preview's draw are not held at once. */
    cache *kept;
};

/* Column (or row) r of the grouped order is row grouped(r) of the model's [f | g] order:
 * group g's 2q are [g's tanh maps | g's sigmoid maps], q = p/G. */
static int grouped(int r, int p, int G)
{
    const int q = p / G, g = r / (2 * q), k = r % (2 * q);
    return k < q ? g * q + k : p + g * q + (k - q);
}

static int cache_alloc(cache *c, const pcnn_model *m, int B)
{
    const pcnn_hparams *hp = &m->hp;
    const size_t p = hp->p, L1 = hp->L + 1, grid = (size_t)B * hp->H * hp->W, row = (size_t)B * hp->W;
    const size_t s = hp->n / 2, CK = (size_t)hp->C * hp->K;
    if (!(c->vout = calloc(L1, sizeof *c->vout))) return pcnn_seterr("out of memory for the sampler's cache");
    pcnn_arena ar = {0};
    arena_add(&ar, &c->inmap, grid * hp->C);
    for (size_t l = 0; l + 1 < L1; l++) arena_add(&ar, &c->vout[l], grid * p);
    arena_add(&ar, &c->varow, row * 2 * p);
    arena_add(&ar, &c->hbase, L1 * row * 2 * p);
    arena_add(&ar, &c->st.hrow, L1 * B * (s + hp->W) * p);
    arena_add(&ar, &c->st.hg, L1 * B * p);
    arena_add(&ar, &c->st.ha, (size_t)2 * B * 2 * p);
    arena_add(&ar, &c->st.t1, (size_t)B * p);
    arena_add(&ar, &c->st.t2, (size_t)B * p);
    arena_add(&ar, &c->st.logits, (size_t)B * CK);
    arena_add(&ar, &c->col, row * c->pw->kvmax);
    arena_add(&ar, &c->tmp, row * p);
    arena_add(&ar, &c->cv, L1 * B * 2 * p);
    arena_add(&ar, &c->ch, L1 * B * 2 * p);
    arena_add(&ar, &c->srow, row * hp->S);
    char what[64];
    snprintf(what, sizeof what, "the sampler's cache for a batch of %d", B);
    if (!(c->mem = arena_alloc(&ar, m->be, 0, what))) return -1;
    const pcnn_packed *pw = c->pw;
    c->st = (pcnn_pixel_step){
        .B = B, .H = hp->H, .W = hp->W, .C = hp->C, .K = hp->K, .p = hp->p, .s = hp->n / 2, .L = hp->L,
        .inmap = c->inmap, .hbase = c->hbase, .hleft = pw->hleft, .hmid = pw->hmid,
        .out_w = pw->out_w, .out_b = pw->out_b, .out1_w = pw->out1_w, .out1_b = pw->out1_b,
        .out2_w = pw->out2_w, .out2_b = pw->out2_b, .hrow = c->st.hrow, .hg = c->st.hg,
        .ha = c->st.ha, .t1 = c->st.t1, .t2 = c->st.t2, .logits = c->st.logits};
    return 0;
}

static void cache_free(cache *c, const pcnn_model *m)
{
    if (!c) return;
    be_release(m->be, c->mem);
    free(c->vout);
    free(c);
}

/* The cache of a draw of B images: pw's kept one where it is of B images, else a new one
 * kept in its place; NULL when out of memory (the reason set) */
static cache *cache_for(const pcnn_model *m, pcnn_packed *pw, int B)
{
    if (pw->kept && pw->kept->st.B == B) return pw->kept;
    cache_free(pw->kept, m);
    pw->kept = NULL;
    cache *c = calloc(1, sizeof *c);
    if (!c) return pcnn_seterr("out of memory for the sampler's cache"), NULL;
    c->pw = pw;
    if (cache_alloc(c, m, B)) {
        cache_free(c, m);
        return NULL;
    }
    return pw->kept = c;
}

void pcnn_sampler_drop(pcnn_model *m)
{
    if (!m->packed) return;
    cache_free(m->packed->kept, m);
    m->packed->kept = NULL;
}

int pcnn_sampler_keeps(const pcnn_model *m)
{
    return m->packed && m->packed->kept ? m->packed->kept->st.B : 0;
}

void pcnn_packed_free(pcnn_model *m)
{
    if (!m->packed) return;
    cache_free(m->packed->kept, m);
    be_release(m->be, m->packed->mem);
    free(m->packed);
    m->packed = NULL;
}

/* m->packed's buffers on the backend, the first time */
static pcnn_packed *packed_alloc(pcnn_model *m)
{
    if (m->packed) return m->packed;
    const pcnn_hparams *hp = &m->hp;
    const size_t p = hp->p, L1 = hp->L + 1, s = hp->n / 2, CK = (size_t)hp->C * hp->K;
    const size_t SD = hp->S ? hp->S : hp->D, G = hp->C, q = p / G;
    const size_t q2 = PCNN_PADDED(2 * q), q1 = PCNN_PADDED(q), Kp = PCNN_PADDED(hp->K);
    pcnn_packed *pw = calloc(1, sizeof *pw);
    if (!pw) return pcnn_seterr("out of memory for the sampler's weights"), NULL;
    for (size_t l = 0; l < L1; l++) {
        const size_t kv = (size_t)m->layers[l].cin * (s + 1) * hp->n;
        if (kv > pw->kvmax) pw->kvmax = kv;
    }
    pcnn_arena ar = {0};
    arena_add(&ar, &pw->vw, L1 * pw->kvmax * 2 * p);
    arena_add(&ar, &pw->link, L1 * 2 * p * 2 * p);
    arena_add(&ar, &pw->hbias, L1 * 2 * p);
    arena_add(&ar, &pw->hcond, L1 * 2 * p * SD);
    arena_add(&ar, &pw->hleft, L1 * G * s * p * q2);
    arena_add(&ar, &pw->hmid, L1 * G * p * q2);
    arena_add(&ar, &pw->out_w, L1 * G * p * q1);
    arena_add(&ar, &pw->out_b, L1 * p);
    arena_add(&ar, &pw->out1_w, G * p * q1);
    arena_add(&ar, &pw->out1_b, p);
    arena_add(&ar, &pw->out2_w, G * p * Kp);
    arena_add(&ar, &pw->out2_b, CK);
    if (!(pw->mem = arena_alloc(&ar, m->be, 0, "the sampler's packed weights"))) {
        free(pw);
        return NULL;
    }
    return m->packed = pw;
}

/* The sampler's weights (see cache, pcnn_packed and pcnn_pixel_step): packed on the host
 * from the model's parameters, unless m->packed holds them packed from the same ones. On
 * the CPU the parameters are hashed where they lie: the copy to hash them cost every draw
 * an allocation and a pass over all of them (10 MB for Fashion, 40 for CIFAR-like). */
static pcnn_packed *packed_weights(pcnn_model *m)
{
    pcnn_backend *be = m->be;
    const pcnn_hparams *hp = &m->hp;
    const int p = hp->p, s = hp->n / 2, G = hp->C, SD = hp->S ? hp->S : hp->D, K = hp->K, CK = hp->C * K, q = p / G;
    const size_t L1 = hp->L + 1, q2 = PCNN_PADDED(2 * q), q1 = PCNN_PADDED(q), Kp = PCNN_PADDED(K);
    /* one output group's block of each weight, and one layer's */
    const size_t left = (size_t)s * p * q2, mid = (size_t)p * q2, out = (size_t)p * q1, out2 = (size_t)p * Kp;
    const int host = !strcmp(be->op->name, "cpu"); /* m->w is host memory */
    real *copy = host ? NULL : malloc(m->total * sizeof *copy);
    if (!host && !copy) return pcnn_seterr("out of memory packing the sampler's weights"), NULL;
    if (copy) be_to_host(be, copy, m->w, m->total * sizeof *copy);
    const real *w = host ? m->w : copy;
    const uint64_t hash = XXH3_64bits(w, m->total * sizeof *w);
    pcnn_packed *pw = be->failed ? NULL : packed_alloc(m);
    const int pixels = !be->exact;
    if (!pw || (pw->valid && pw->hash == hash && pw->pixels == pixels)) {
        free(copy);
        return pw;
    }
    pw->valid = 0;
    const size_t kvmax = pw->kvmax;
    struct { real *to; size_t n; real *host; } t[] = {
        {pw->vw, L1 * kvmax * 2 * p, NULL}, {pw->link, L1 * 4 * p * p, NULL}, {pw->hbias, L1 * 2 * p, NULL},
        {pw->hcond, L1 * 2 * p * SD, NULL}, {pw->hleft, L1 * G * left, NULL}, {pw->hmid, L1 * G * mid, NULL},
        {pw->out_w, L1 * G * out, NULL}, {pw->out_b, L1 * p, NULL}, {pw->out1_w, G * out, NULL},
        {pw->out1_b, p, NULL}, {pw->out2_w, G * out2, NULL}, {pw->out2_b, CK, NULL}};
    enum { VW, LINK, HBIAS, HCOND, HLEFT, HMID, OUT_W, OUT_B, OUT1_W, OUT1_B, OUT2_W, OUT2_B, N };
    int ok = 1;
    for (int k = 0; k < N; k++) ok &= (t[k].host = calloc(t[k].n + 1, sizeof(real))) != NULL;
    if (ok) {
        for (size_t l = 0; l < L1; l++) {
            const pcnn_layer *ly = &m->layers[l];
            const int cin = ly->cin;
            const size_t kv = (size_t)cin * (s + 1) * hp->n;
            for (size_t o = 0; o < 2 * (size_t)p; o++) /* v_w (2p, cin, s+1, n), transposed */
                for (size_t k = 0; k < kv; k++) {
                    /* row k as the vertical rows' windows order it (vertical_rows) */
                    const size_t ci = k / ((s + 1) * hp->n), tap = k % ((s + 1) * hp->n);
                    const size_t row = pixels ? tap * cin + ci : k;
                    t[VW].host[(l * kvmax + row) * 2 * p + o] = w[ly->v_w + o * kv + k];
                }
            for (int r = 0; r < 2 * p; r++) { /* r: grouped; from the model's row grouped(r) */
                const size_t o = grouped(r, p, G), g = r / (2 * q);
                const int n = r % (2 * q);
                for (int k = 0; k < 2 * p; k++) t[LINK].host[(l * 2 * p + k) * 2 * p + r] = w[ly->link_w + o * 2 * p + k];
                t[HBIAS].host[l * 2 * p + r] = w[ly->h_b + o];
                if (SD) memcpy(t[HCOND].host + (l * 2 * p + r) * SD, w + ly->h_cond + o * SD, SD * sizeof *w);
                for (int ci = 0; ci < cin; ci++) { /* h_w (2p, cin, 1, s+1) */
                    const real *taps = w + ly->h_w + (o * cin + ci) * (s + 1);
                    for (int tap = 0; tap < s; tap++)
                        t[HLEFT].host[(l * G + g) * left + PCNN_PANEL_AT(s * p, tap * cin + ci, n)] = taps[tap];
                    t[HMID].host[(l * G + g) * mid + PCNN_PANEL_AT(p, ci, n)] = taps[s];
                }
            }
            for (int o = 0; o < p; o++) {
                for (int k = 0; k < p; k++)
                    t[OUT_W].host[(l * G + o / q) * out + PCNN_PANEL_AT(p, k, o % q)] = w[ly->out_w + (size_t)o * p + k];
                t[OUT_B].host[l * p + o] = w[ly->out_b + o];
            }
        }
        for (int o = 0; o < p; o++) {
            for (int k = 0; k < p; k++)
                t[OUT1_W].host[(o / q) * out + PCNN_PANEL_AT(p, k, o % q)] = w[m->out1_w + (size_t)o * p + k];
            t[OUT1_B].host[o] = w[m->out1_b + o];
        }
        for (int o = 0; o < CK; o++) {
            for (int k = 0; k < p; k++)
                t[OUT2_W].host[(o / K) * out2 + PCNN_PANEL_AT(p, k, o % K)] = w[m->out2_w + (size_t)o * p + k];
            t[OUT2_B].host[o] = w[m->out2_b + o];
        }
        for (int k = 0; k < N; k++) be_to_device(be, t[k].to, t[k].host, t[k].n * sizeof(real));
    }
    free(copy);
    for (int k = 0; k < N; k++) free(t[k].host);
    if (!ok) return pcnn_seterr("out of memory packing the sampler's weights"), NULL;
    pw->hash = hash, pw->pixels = pixels, pw->valid = !be->failed;
    return pw;
}

/* Row i of every layer's vertical stack, and of its contribution to the horizontal one,
 * at pixels j0 .. j1-1 of images b0 .. b0+nb-1 of the B (a part of the row: all its
 * pixels of some images, or some pixels of one image); split: the other threads of
 * be_threads have the row's other pixels, which each layer waits for */
static void vertical_rows(const pcnn_model *m, cache *c, int B, int b0, int nb, int j0, int j1, int i,
                          int split)
{
    pcnn_backend *be = m->be;
    const pcnn_hparams *hp = &m->hp;
    const int H = hp->H, W = hp->W, p = hp->p, s = hp->n / 2, n = hp->n, S = hp->S, RW = j1 - j0, M = nb * RW;
    const int SD = S ? S : hp->D;
    const pcnn_packed *pw = c->pw;
    const size_t img = (size_t)H * W, at = (size_t)b0 * W + j0; /* an image's pixels; the part's first row */
    real *srow = c->srow + at * S, *varow = c->varow + at * 2 * p, *tmp = c->tmp + at * p;
    if (S)
        be_copy_rows(be, srow, W * S, c->smap + ((size_t)b0 * img + (size_t)i * W + j0) * S, H * W * S, RW * S, nb, 0);
    for (int l = 0; l <= hp->L; l++) {
        const pcnn_layer *ly = &m->layers[l];
        const real *src = l ? c->vout[l - 1] : c->inmap;
        const int kv = ly->cin * (s + 1) * n;
        real *col = c->col + at * pw->kvmax; /* kvmax: apart from the other threads' parts at any layer */
        if (pw->pixels)
            be_im2col_pixels(be, col, src + b0 * img * ly->cin, nb, H, W, ly->cin, s + 1, n, -s - ly->vshift, -s, i,
                             i + 1, j0, j1);
        else
            be_im2col(be, col, src + b0 * img * ly->cin, nb, H, W, ly->cin, s + 1, n, -s - ly->vshift, -s, i, i + 1,
                      j0, j1);
        be_gemm(be, 0, 0, M, 2 * p, kv, 1, col, kv, pw->vw + (size_t)l * pw->kvmax * 2 * p, 2 * p, 0, varow, 2 * p);
        be_add_rows(be, varow, m->w + ly->v_b, 1, M, 2 * p);
        if (S) be_gemm(be, 0, 1, M, 2 * p, S, 1, srow, S, m->w + ly->v_cond, S, 1, varow, 2 * p);
        else if (hp->D) be_add_rows(be, varow, c->cv + ((size_t)l * B + b0) * 2 * p, nb, RW, 2 * p);
        real *hb = c->hbase + ((size_t)l * B * W + at) * 2 * p;
        be_copy_rows(be, hb, 2 * p, pw->hbias + (size_t)l * 2 * p, 0, 2 * p, M, 0);
        be_gemm(be, 0, 0, M, 2 * p, 2 * p, 1, varow, 2 * p, pw->link + (size_t)l * 4 * p * p, 2 * p, 1, hb, 2 * p);
        if (S) be_gemm(be, 0, 1, M, 2 * p, S, 1, srow, S, pw->hcond + (size_t)l * 2 * p * SD, S, 1, hb, 2 * p);
        else if (hp->D) be_add_rows(be, hb, c->ch + ((size_t)l * B + b0) * 2 * p, nb, RW, 2 * p);
        if (l == hp->L) break; /* the top layer's vertical output feeds nothing */
        be_gate_fwd(be, tmp, varow, M, p);
        real *out = c->vout[l] + ((size_t)b0 * img + (size_t)i * W + j0) * p;
        be_copy_rows(be, out, H * W * p, tmp, W * p, RW * p, nb, 0);
        if (split) be_meet(be); /* the next layer reads the other parts' pixels too */
    }
}

typedef struct {
    const pcnn_model *m;
    cache *c;
    int B, i;
} row_job;

/* thread t of T's part of the row: its share of the images, or of a lone image's pixels */
static void vertical_share(void *arg, int t, int T)
{
    const row_job *r = arg;
    const int B = r->B, W = r->m->hp.W, b0 = B * t / T, b1 = B * (t + 1) / T;
    if (B == 1) vertical_rows(r->m, r->c, B, 0, 1, W * t / T, W * (t + 1) / T, r->i, T > 1);
    else if (b1 > b0) vertical_rows(r->m, r->c, B, b0, b1 - b0, 0, W, r->i, 0);
}

/* Row i of the vertical stacks, shared among the backend's threads as one parallel region
 * (not one for each of its hundred operations, each a wake-up of sleeping threads under
 * the programs' passive waiting) */
static void vertical_row(const pcnn_model *m, cache *c, int B, int i)
{
    row_job r = {m, c, B, i};
    be_threads(m->be, vertical_share, &r);
}

static int sample_cached_from(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_sample_opts *o,
                              const pcnn_picker *pk, long first)
{
    pcnn_backend *be = m->be;
    const pcnn_hparams *hp = &m->hp;
    const int C = hp->C, H = hp->H, W = hp->W, K = hp->K, p = hp->p;
    if (check_args(m, h, B, o)) return -1;
    cache *c = NULL;
    pcnn_packed *pw;
    const long total = (long)H * W * C;
    const size_t npix = (size_t)B * C * H * W;
    /* the whole draw stays on the device: every random number goes up once at the start,
     * each drawn value goes straight into the device's image and input map, and the
     * image comes back once at the end */
    uint8_t *draw = malloc((size_t)B), *ddraw = be_alloc(be, (size_t)B), *dx = be_alloc(be, npix);
    uint64_t *rng = malloc((size_t)B * sizeof *rng);
    double *u = malloc((size_t)total * B * sizeof *u), *du = be_alloc(be, (size_t)total * B * sizeof *du);
    real *hr = hp->D ? malloc((size_t)B * hp->D * sizeof *hr) : NULL;
    real *neg = malloc(npix * sizeof *neg);
    real *picked = pk ? malloc((size_t)B * K * sizeof *picked) : NULL; /* logits for pk */
    int rc = 0;
    if (!ddraw || !dx || !du) {
        rc = pcnn_backend_nomem(be, B + npix + (size_t)total * B * sizeof *du, "sampling a batch of %d", B);
        goto out;
    }
    if (!draw || !rng || !u || (hp->D && !hr) || !neg || (pk && !picked)) {
        rc = pcnn_seterr("out of memory");
        goto out;
    }
    if (!(pw = packed_weights(m))) {
        rc = be->failed ? pcnn_backend_check(be) : -1;
        goto out;
    }
    if (!(c = cache_for(m, pw, B))) {
        rc = -1;
        goto out;
    }
    c->smap = NULL;
    /* undrawn pixels read as level 0; the masks make their value irrelevant */
    for (size_t k = 0; k < (size_t)B * H * W * C; k++) neg[k] = -1;
    be_to_device(be, c->inmap, neg, (size_t)B * H * W * C * sizeof *neg);
    if (hp->D) {
        for (size_t k = 0; k < (size_t)B * hp->D; k++) hr[k] = h[k];
        real *dh = be_alloc(be, (size_t)B * hp->D * sizeof *dh);
        if (!dh) {
            rc = pcnn_backend_nomem(be, (size_t)B * hp->D * sizeof *dh, "sampling a batch of %d", B);
            goto out;
        }
        be_to_device(be, dh, hr, (size_t)B * hp->D * sizeof *dh);
        if (hp->S) { /* s = m(h) once; its rows and pixels are read as the draw goes */
            if ((rc = pcnn_model_reserve(m, B))) {
                be_release(be, dh);
                goto out;
            }
            net_forward(be, &m->dec, m->w, dh, B);
            c->smap = net_output(&m->dec);
        }
        for (int l = 0; !hp->S && l <= hp->L; l++) {
            const pcnn_layer *ly = &m->layers[l];
            be_gemm(be, 0, 1, B, 2 * p, hp->D, 1, dh, hp->D, m->w + ly->v_cond, hp->D, 0,
                    c->cv + (size_t)l * B * 2 * p, 2 * p);
            be_gemm(be, 0, 1, B, 2 * p, hp->D, 1, dh, hp->D, c->pw->hcond + (size_t)l * 2 * p * hp->D, hp->D, 0,
                    c->ch + (size_t)l * B * 2 * p, 2 * p);
        }
        be_release(be, dh);
    }
    seed_streams(rng, B, o->seed, first, o->per_row);
    for (long k = 0; k < total; k++) /* raster order, one number per image per value */
        for (int b = 0; b < B; b++) u[k * B + b] = pcnn_rng_uniform(&rng[b]);
    be_to_device(be, du, u, (size_t)total * B * sizeof *u);
    for (int i = 0; i < H && !be->failed; i++) { /* a failed device: stop, report below */
        vertical_row(m, c, B, i);
        for (int j = 0; j < W; j++)
            for (int ch = 0; ch < C; ch++) {
                c->st.i = i, c->st.j = j, c->st.g = ch;
                be_pixel_step(be, &c->st);
                const long k = ((long)i * W + j) * C + ch;
                if (pk) { /* the logits down and the levels up: K + 1 values per image */
                    for (int b = 0; b < B; b++)
                        be_to_host(be, picked + (size_t)b * K, c->st.logits + ((size_t)b * C + ch) * K,
                                   (size_t)K * sizeof(real));
                    if ((rc = pcnn_backend_check(be)) || (rc = pk->pick(pk->arg, picked, B, K, k, draw))) goto out;
                    be_to_device(be, ddraw, draw, (size_t)B);
                } else if (o->known && o->known[(size_t)i * W + j]) { /* a few bytes each way */
                    for (int b = 0; b < B; b++) draw[b] = o->given[(((size_t)b * C + ch) * H + i) * W + j];
                    be_to_device(be, ddraw, draw, (size_t)B);
                } else {
                    be_sample(be, ddraw, c->st.logits + (size_t)ch * K, B, K, C * K, (real)o->temperature,
                              (real)o->top_p, du + (size_t)k * B);
                }
                be_place(be, c->inmap, dx, ddraw, B, C, H, W, i, j, ch, K);
                if (o->progress) o->progress(((long)i * W + j) * C + ch + 1, total, o->arg);
            }
    }
    be_to_host(be, x, dx, npix);
    rc = pcnn_backend_check(be);
out:
    free(draw), free(rng), free(u), free(hr), free(neg), free(picked);
    be_release(be, ddraw);
    be_release(be, dx);
    be_release(be, du);
    return rc;
}

void pcnn_sample_opts_default(pcnn_sample_opts *o)
{
    *o = (pcnn_sample_opts){.temperature = 1, .top_p = 1, .seed = 1};
}

int pcnn_sample_cached(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_sample_opts *o,
                       const pcnn_picker *pk)
{
    return sample_cached_from(m, x, h, B, o, pk, 0);
}

/* a chunk's progress as part of the whole draw's */
typedef struct {
    const pcnn_sample_opts *o;
    long chunk, chunks;
} chunk_progress;

static void progress_of_chunk(long done, long total, void *arg)
{
    const chunk_progress *cp = arg;
    cp->o->progress(cp->chunk * total + done, cp->chunks * total, cp->o->arg);
}

/* Images are drawn SAMPLE_CHUNK at a time: the sampler keeps megabytes of activations an
 * image (a CIFAR-like model's 100000 images would ask for over 100 GB at once), and a
 * chunk of 64 already reads each weight once for many images. Each image's random
 * numbers follow from its index in the whole draw, so the chunks change no image. */
enum { SAMPLE_CHUNK = 64 };

int pcnn_model_sample(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_sample_opts *o)
{
    if (o->per_row < 0) return pcnn_seterr("images per row must not be negative");
    if (o->temperature == 0) { /* greedy: the smallest nucleus, the likeliest level (the
                                  lowest of equal ones), with no random number that matters */
        pcnn_sample_opts g = *o;
        g.temperature = 1, g.top_p = FLT_MIN;
        return pcnn_model_sample(m, x, h, B, &g);
    }
    const size_t sz = (size_t)m->hp.C * m->hp.H * m->hp.W;
    const long chunks = B <= SAMPLE_CHUNK ? 1 : (B + SAMPLE_CHUNK - 1) / SAMPLE_CHUNK;
    for (long c = 0; c < chunks; c++) {
        const long first = c * SAMPLE_CHUNK;
        const int n = chunks == 1 ? B : (int)(B - first < SAMPLE_CHUNK ? B - first : SAMPLE_CHUNK);
        pcnn_sample_opts co = *o;
        chunk_progress cp = {o, c, chunks};
        if (o->progress && chunks > 1) co.progress = progress_of_chunk, co.arg = &cp;
        if (o->given) co.given = o->given + first * sz;
        const float *hc = h ? h + first * m->hp.D : NULL;
        int rc = o->naive ? sample_naive(m, x + first * sz, hc, n, &co, first)
                          : sample_cached_from(m, x + first * sz, hc, n, &co, NULL, first);
        if (rc) return rc;
    }
    return 0;
}

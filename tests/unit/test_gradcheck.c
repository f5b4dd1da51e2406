/* test_gradcheck.c -- analytic gradients against central finite differences, in double
 * precision: this file is compiled with -DPCNN_DOUBLE together with lib/model.c and the
 * CPU backend, so it checks the very code the float library runs.
 * Per operation first (gate, softmax cross-entropy, im2col/col2im, row sums), then every
 * parameter tensor of the whole network, gray and RGB, with and without conditioning.
 * Then the gradient's scale (gscale), and a second backward pass equal to the first. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

#ifndef PCNN_DOUBLE
#error "test_gradcheck must be built with -DPCNN_DOUBLE"
#endif

static uint64_t rng = 12345;
static double urand(void) { return 2 * pcnn_rng_uniform(&rng) - 1; }
static void fill(real *x, size_t n) { for (size_t i = 0; i < n; i++) x[i] = urand(); }
static double dot(const real *a, const real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static void test_gate(pcnn_backend *be)
{
    enum { M = 5, P = 4 };
    real a[M * 2 * P], y[M * P], dy[M * P], da[M * 2 * P];
    fill(a, M * 2 * P);
    fill(dy, M * P);
    be_gate_bwd(be, da, a, dy, M, P);
    for (int i = 0; i < M * 2 * P; i++) {
        double e = 1e-6, save = a[i], lp, lm;
        a[i] = save + e; be_gate_fwd(be, y, a, M, P); lp = dot(y, dy, M * P);
        a[i] = save - e; be_gate_fwd(be, y, a, M, P); lm = dot(y, dy, M * P);
        a[i] = save;
        CHECK_CLOSE(da[i], (lp - lm) / (2 * e), 1e-7, "gate da[%d]", i);
    }
}

static void test_softmax_xent(pcnn_backend *be)
{
    enum { B = 2, C = 3, H = 2, W = 2, K = 5, N = B * H * W * C * K };
    real z[N], dz[N], nll[B];
    uint8_t x[B * C * H * W];
    fill(z, N);
    for (int i = 0; i < B * C * H * W; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % K);
    be_softmax_xent(be, nll, dz, z, x, B, C, H, W, K, 1);
    for (int i = 0; i < N; i++) {
        double e = 1e-6, save = z[i], lp, lm;
        z[i] = save + e; be_softmax_xent(be, nll, NULL, z, x, B, C, H, W, K, 1); lp = nll[0] + nll[1];
        z[i] = save - e; be_softmax_xent(be, nll, NULL, z, x, B, C, H, W, K, 1); lm = nll[0] + nll[1];
        z[i] = save;
        CHECK_CLOSE(dz[i], (lp - lm) / (2 * e), 1e-7, "softmax_xent dz[%d]", i);
    }
}

/* col2im must be the exact adjoint of im2col: <im2col(x), c> == <x, col2im(c)>. */
static void test_im2col_adjoint(pcnn_backend *be)
{
    const int B = 2, H = 5, W = 4, cin = 3;
    const int shapes[][4] = {{3, 5, -3, -2}, {3, 5, -2, -2}, {1, 3, 0, -2}, {1, 1, 0, 0}};
    for (int k = 0; k < 4; k++) {
        int kh = shapes[k][0], kw = shapes[k][1], oy = shapes[k][2], ox = shapes[k][3];
        size_t nx = (size_t)B * H * W * cin, nc = (size_t)B * H * W * cin * kh * kw;
        real *x = calloc(nx, sizeof *x), *dx = calloc(nx, sizeof *dx);
        real *col = calloc(nc, sizeof *col), *c = calloc(nc, sizeof *c);
        fill(x, nx);
        fill(c, nc);
        be_im2col(be, col, x, B, H, W, cin, kh, kw, oy, ox, 0, H, 0, W);
        be_col2im(be, dx, c, B, H, W, cin, kh, kw, oy, ox);
        CHECK_CLOSE(dot(col, c, nc), dot(x, dx, nx), 1e-12, "im2col adjoint %dx%d", kh, kw);
        free(x), free(dx), free(col), free(c);
    }
}

/* im2col_pixels is im2col with each window pixel's channels together: the same values,
 * column (r*kw + c)*cin + ci for im2col's ci*kh*kw + r*kw + c, over the whole image and
 * over a region of each image (the cached sampler's: one row, some of its pixels), with
 * windows reaching past every side */
static void test_im2col_pixels(pcnn_backend *be)
{
    const int B = 2, H = 5, W = 6, cin = 3;
    const int shapes[][4] = {{3, 5, -3, -2}, {2, 5, -1, -2}, {1, 3, 0, -2}, {3, 7, -2, -3}};
    const int regions[][4] = {{0, H, 0, W}, {2, 3, 0, W}, {4, 5, 1, 4}}; /* i0, i1, j0, j1 */
    for (int k = 0; k < 4; k++)
        for (int g = 0; g < 3; g++) {
            const int kh = shapes[k][0], kw = shapes[k][1], oy = shapes[k][2], ox = shapes[k][3];
            const int i0 = regions[g][0], i1 = regions[g][1], j0 = regions[g][2], j1 = regions[g][3];
            const int taps = kh * kw, rows = B * (i1 - i0) * (j1 - j0);
            const size_t nx = (size_t)B * H * W * cin, nc = (size_t)rows * cin * taps;
            real *x = calloc(nx, sizeof *x), *col = calloc(nc, sizeof *col), *pix = calloc(nc, sizeof *pix);
            /* values of its own: the shared stream's draws stay those of the checks below */
            for (size_t e = 0; e < nx; e++) x[e] = (real)(e % 97) + 1;
            for (size_t e = 0; e < nc; e++) pix[e] = NAN; /* every element must be written */
            be_im2col(be, col, x, B, H, W, cin, kh, kw, oy, ox, i0, i1, j0, j1);
            be_im2col_pixels(be, pix, x, B, H, W, cin, kh, kw, oy, ox, i0, i1, j0, j1);
            size_t wrong = 0, zeros = 0;
            for (int r = 0; r < rows; r++)
                for (int ci = 0; ci < cin; ci++)
                    for (int t = 0; t < taps; t++) {
                        const real a = col[((size_t)r * cin + ci) * taps + t], b = pix[((size_t)r * taps + t) * cin + ci];
                        wrong += !(a == b), zeros += a == 0;
                    }
            CHECK(wrong == 0 && zeros < nc, "im2col_pixels %dx%d at (%d,%d), rows %d..%d, columns %d..%d: %zu of %zu "
                  "differ from im2col's", kh, kw, oy, ox, i0, i1, j0, j1, wrong, nc);
            free(x), free(col), free(pix);
        }
}

static void test_rows_adjoint(pcnn_backend *be)
{
    enum { B = 3, P = 4, N = 5 };
    real y[B * P * N] = {0}, v[B * N], dy[B * P * N], dv[B * N] = {0};
    fill(v, B * N);
    fill(dy, B * P * N);
    be_add_rows(be, y, v, B, P, N);
    be_sum_rows(be, dv, dy, B, P, N);
    CHECK_CLOSE(dot(y, dy, B * P * N), dot(v, dv, B * N), 1e-12, "add_rows/sum_rows adjoint");
}

/* sum_rows over more channels than its accumulator block (512), and over enough pixels
 * of one image that the threads split its channels (70: blocks of whole cache lines and
 * a short last one): dv must still be each channel's sum, on 2 threads as on 1 */
static void test_sum_rows_wide(pcnn_backend *be)
{
    const int shapes[2][3] = {{2, 3, 1100}, {1, 3000, 70}};
    for (int k = 0; k < 2; k++) {
        const int B = shapes[k][0], P = shapes[k][1], N = shapes[k][2];
        real *dy = malloc((size_t)B * P * N * sizeof *dy), *dv = calloc((size_t)B * N, sizeof *dv);
        real *dv1 = calloc((size_t)B * N, sizeof *dv1);
        fill(dy, B * P * N);
        const int threads = omp_get_max_threads();
        omp_set_num_threads(2);
        be_sum_rows(be, dv, dy, B, P, N);
        omp_set_num_threads(1);
        be_sum_rows(be, dv1, dy, B, P, N);
        omp_set_num_threads(threads);
        double worst = 0;
        for (int b = 0; b < B; b++)
            for (int c = 0; c < N; c++) {
                double s = 0;
                for (int q = 0; q < P; q++) s += dy[((size_t)b * P + q) * N + c];
                worst = fmax(worst, fabs(s - dv[b * N + c]));
            }
        CHECK(worst < 1e-12 * P, "sum_rows of %d channels over %d pixels: off by %g", N, P, worst);
        CHECK(!memcmp(dv, dv1, (size_t)B * N * sizeof *dv), "sum_rows of %d channels: 2 threads differ from 1", N);
        free(dy), free(dv), free(dv1);
    }
}

static double loss(pcnn_model *m, const uint8_t *x, const real *h, int B)
{
    real nll[8];
    pcnn_model_run(m, nll, x, h, B, 0, 1);
    double s = 0;
    for (int b = 0; b < B; b++) s += nll[b];
    return s;
}

/* Every parameter tensor of a model against finite differences of its loss: the NLL of a
 * PixelCNN (through V, m() and the encoder when it has them), the squared error of an
 * MSE autoencoder, the triplet loss of an embedding net. With a dropout rate, the loss
 * is the training loss under one fixed mask (the same seed in every pass). */
static void test_model_dropout(pcnn_hparams hp, const char *what, real dropout)
{
    pcnn_model *m = pcnn_model_alloc(&hp, cpu);
    CHECK(m != NULL, "%s: model alloc: %s", what, pcnn_errstr());
    if (!m) return;
    pcnn_model_init_weights(m, 7);
    m->dropout = dropout, m->dropout_seed = 99;
    /* non-zero biases too, so that every path carries signal; the small nets' biases
     * positive, so that their few relus are open */
    for (size_t i = 0; i < m->total; i++) m->w[i] = m->mask[i] ? m->w[i] + 0.1 * urand() : 0;
    for (int pi = 0; pi < m->nparams; pi++)
        if (m->params[pi].ndim == 1 && strchr(m->params[pi].name, '.') && strncmp(m->params[pi].name, "layers", 6) &&
            strncmp(m->params[pi].name, "out", 3))
            for (size_t i = 0; i < m->params[pi].count; i++) m->w[m->params[pi].off + i] = 0.2 + 0.1 * urand();
    enum { B = 4 };
    const int C = hp.C, npix = C * hp.H * hp.W;
    uint8_t *x = malloc((size_t)B * npix);
    real *h = NULL;
    for (int i = 0; i < B * npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
    if (hp.kind == PCNN_EMBEDDING) { /* identities 0 0 1 1 as one-hots */
        h = calloc((size_t)B * hp.classes, sizeof *h);
        for (int b = 0; b < B; b++) h[b * hp.classes + b / 2] = 1;
    } else if (hp.D && !hp.encoder && hp.kind == PCNN_PIXELCNN) {
        h = malloc((size_t)B * hp.D * sizeof *h);
        fill(h, (size_t)B * hp.D);
    }
    memset(m->g, 0, m->total * sizeof(real));
    real l0[B];
    pcnn_model_run(m, l0, x, h, B, 1, 1);
    CHECK(l0[0] + l0[1] + l0[2] + l0[3] > 0, "%s: the loss is zero, so nothing is checked", what);
    if (dropout > 0) { /* the mask must matter, or this checks nothing more than without it */
        m->dropout = 0;
        double plain = loss(m, x, h, B);
        m->dropout = dropout;
        CHECK(fabs(plain - loss(m, x, h, B)) > 1e-3, "%s: dropout leaves the loss as it is", what);
    }
    real *g = malloc(m->total * sizeof *g);
    memcpy(g, m->g, m->total * sizeof *g);
    int masked_nonzero = 0;
    for (size_t i = 0; i < m->total; i++) masked_nonzero += m->mask[i] == 0 && g[i] != 0;
    CHECK(masked_nonzero == 0, "%s: %d masked weights got a gradient", what, masked_nonzero);
    for (int pi = 0; pi < m->nparams; pi++) {
        const pcnn_param *p = &m->params[pi];
        double worst = 0;
        int nonzero = 0;
        for (int t = 0; t < 8; t++) {
            size_t i = p->off + pcnn_rng_next(&rng) % p->count;
            if (m->mask[i] == 0) continue;
            double e = 1e-6, save = m->w[i];
            m->w[i] = save + e; double lp = loss(m, x, h, B);
            m->w[i] = save - e; double lm = loss(m, x, h, B);
            m->w[i] = save;
            double fd = (lp - lm) / (2 * e), err = fabs(fd - g[i]) / fmax(1e-3, fabs(fd) + fabs(g[i]));
            if (err > worst) worst = err;
            nonzero += fabs(g[i]) > 1e-9;
        }
        CHECK(worst < 1e-4, "%s %s: worst relative error %.3g", what, p->name, worst);
        /* every tensor must be on the loss's path: a gradient that never flows would pass
         * the comparison above as 0 == 0 */
        CHECK(nonzero > 0 || p->count < 8, "%s %s: no gradient reached it", what, p->name);
    }
    free(g), free(x), free(h);
    pcnn_model_free(m);
}

static void test_model(pcnn_hparams hp, const char *what) { test_model_dropout(hp, what, 0); }

static void test_network(int C, int D, int K)
{
    pcnn_hparams hp = {.L = 2, .p = 6, .n = 3, .C = C, .H = 4, .W = 5, .K = K, .D = D};
    char what[64];
    snprintf(what, sizeof what, "C=%d D=%d K=%d", C, D, K);
    test_model(hp, what);
}

/* A model with random weights (non-zero biases, the small nets' positive, as above) and a
 * batch of B random images, with h where the model takes it, from draws of its own */
static pcnn_model *random_case(const pcnn_hparams *hp, int B, uint8_t **x, real **h)
{
    pcnn_model *m = pcnn_model_alloc(hp, cpu);
    if (!m) return NULL;
    pcnn_model_init_weights(m, 3);
    uint64_t r = 77;
    for (size_t i = 0; i < m->total; i++) m->w[i] = m->mask[i] ? m->w[i] + 0.2 * (pcnn_rng_uniform(&r) - 0.5) : 0;
    for (int pi = 0; pi < m->nparams; pi++) {
        const pcnn_param *p = &m->params[pi];
        if (p->ndim == 1 && (!strncmp(p->name, "cond_net", 8) || !strncmp(p->name, "enc", 3)))
            for (size_t i = 0; i < p->count; i++) m->w[p->off + i] = 0.2 + 0.1 * pcnn_rng_uniform(&r);
    }
    const size_t npix = (size_t)B * hp->C * hp->H * hp->W;
    *x = malloc(npix);
    for (size_t i = 0; i < npix; i++) (*x)[i] = (uint8_t)(pcnn_rng_next(&r) % hp->K);
    *h = NULL;
    if (hp->D && !hp->encoder) {
        *h = malloc((size_t)B * hp->D * sizeof **h);
        for (int i = 0; i < B * hp->D; i++) (*h)[i] = 2 * pcnn_rng_uniform(&r) - 1;
    }
    return m;
}

/* Two training passes over the same batch, the gradient zeroed in between as the trainer
 * does, the second at gradient scale `scale`: its gradient is scale times the first's.
 * At scale 1 this says nothing the first pass left in the workspace (m()'s gradient
 * buffer, the encoder's) adds into the second; the gradient checks above run one pass on
 * a fresh workspace, which is zero. At 0.25 (the trainer's 1/dims, its loss being a
 * mean; a power of two, so exact to rounding) it says the scale reaches the whole
 * gradient: the checks above run at 1, where a cross-entropy that ignored it would pass. */
static void test_second_pass(pcnn_hparams hp, const char *what, real scale)
{
    enum { B = 3 };
    uint8_t *x;
    real *h, nll[B];
    pcnn_model *m = random_case(&hp, B, &x, &h);
    CHECK(m != NULL, "%s: model alloc: %s", what, pcnn_errstr());
    if (!m) return;
    real *g1 = malloc(m->total * sizeof *g1);
    memset(m->g, 0, m->total * sizeof(real));
    pcnn_model_run(m, nll, x, h, B, 1, 1);
    memcpy(g1, m->g, m->total * sizeof *g1);
    memset(m->g, 0, m->total * sizeof(real));
    pcnn_model_run(m, nll, x, h, B, 1, scale);
    size_t wrong = 0, nonzero = 0;
    for (size_t i = 0; i < m->total; i++)
        wrong += !(fabs(m->g[i] - scale * g1[i]) <= 1e-12 * fmax(1e-3, fabs(g1[i]))), nonzero += g1[i] != 0;
    CHECK(wrong == 0 && nonzero > m->total / 4, "%s: %zu of %zu gradients of a second pass at scale %g are not "
          "%g times the first's (%zu non-zero)", what, wrong, m->total, (double)scale, (double)scale, nonzero);
    free(g1), free(x), free(h);
    pcnn_model_free(m);
}

/* col2im_strided must be the exact adjoint of im2col_strided. */
static void test_strided_adjoint(pcnn_backend *be)
{
    const pcnn_window gs[2] = {{2, 6, 5, 3, 3, 2, 4, 4, 2, -1, -1}, {2, 7, 7, 2, 3, 3, 4, 4, 2, -1, -1}};
    for (int k = 0; k < 2; k++) {
        const pcnn_window *g = &gs[k];
        size_t nx = (size_t)g->B * g->Hi * g->Wi * g->cin, nc = (size_t)g->B * g->Ho * g->Wo * g->cin * 16;
        real *x = calloc(nx, sizeof *x), *dx = calloc(nx, sizeof *dx);
        real *col = calloc(nc, sizeof *col), *c = calloc(nc, sizeof *c);
        fill(x, nx);
        fill(c, nc);
        be_im2col_strided(be, col, x, g);
        be_col2im_strided(be, dx, c, g);
        CHECK_CLOSE(dot(col, c, nc), dot(x, dx, nx), 1e-12, "im2col_strided adjoint %dx%d", g->Hi, g->Wi);
        free(x), free(dx), free(col), free(c);
    }
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    pcnn_backend *be = cpu;
    test_gate(be);
    test_softmax_xent(be);
    test_im2col_adjoint(be);
    test_im2col_pixels(be);
    test_strided_adjoint(be);
    test_rows_adjoint(be);
    test_network(1, 0, 256);
    test_network(3, 0, 4);
    test_network(1, 4, 2);
    test_network(3, 4, 7);
    const pcnn_hparams base = {.L = 1, .p = 6, .n = 3, .C = 1, .H = 5, .W = 4, .K = 5, .D = 3, .q = 2};
    pcnn_hparams hp = base;
    hp.S = 2;
    test_model(hp, "spatial m(h)");
    hp.C = 3, hp.H = 4, hp.W = 6;
    test_model(hp, "spatial m(h) RGB");
    hp = base, hp.encoder = 1;
    test_model(hp, "autoencoder");
    hp.S = 2;
    test_model(hp, "autoencoder spatial");
    hp = base, hp.kind = PCNN_MSE_AUTOENCODER, hp.encoder = 1;
    test_model(hp, "MSE autoencoder");
    hp = base, hp.kind = PCNN_EMBEDDING, hp.classes = 2, hp.D = 4, hp.H = 7, hp.W = 6;
    test_model(hp, "embedding (triplet)");
    /* last, so that the draws of the cases above stay what they were */
    const pcnn_hparams drop = {.L = 2, .p = 6, .n = 3, .C = 3, .H = 4, .W = 5, .K = 7, .D = 4};
    test_model_dropout(drop, "dropout 0.3 RGB conditional", 0.3);
    test_sum_rows_wide(be);
    /* two passes, and gscale; their draws are their own */
    const pcnn_hparams cond = {.L = 2, .p = 6, .n = 3, .C = 3, .H = 4, .W = 5, .K = 7, .D = 4};
    test_second_pass(cond, "conditional RGB", 0.25);
    hp = base, hp.S = 2;
    test_second_pass(hp, "spatial m(h)", 0.25);
    test_second_pass(hp, "spatial m(h)", 1);
    hp.C = 3, hp.H = 4, hp.W = 6;
    test_second_pass(hp, "spatial m(h) RGB", 1);
    hp = base, hp.encoder = 1, hp.S = 2;
    test_second_pass(hp, "autoencoder spatial", 1);
    test_second_pass(cond, "conditional RGB", 1);
    pcnn_backend_close(cpu);
    return check_summary("test_gradcheck");
}

/* pixel.c -- CPU twin of kernels/pixel.cu: the cached sampler's step at one pixel and
 * channel group (pcnn_pixel_step, backend.h; lib/sample.c calls it).
 *
 * One call does what would otherwise be some 8 library calls per layer, each a product of
 * a row or a few by a small matrix, where the calls' own cost outweighed the arithmetic.
 * The images of a batch are shared among the threads. A lone image (batch 1: completion,
 * coding) runs on one thread: sharing its products' columns needs a barrier at every
 * stage, some 35 per pixel, and the programs' threads wait passively (cmd/cli.c), so
 * each barrier is a sleep and a wake-up -- 1.5x slower in all than one thread.
 * Every sum runs over its terms in one order, from 0, whatever the vector width or the
 * number of threads (the Makefile keeps multiplies and adds apart), so that an encoder
 * and a decoder compute the same bits. */
#include "cpu.h"
#include "fastmath.h"

enum { WIDE = 32, NARROW = 8 };

/* y[n] = (sum over k in order of x[k] w[k][n]) + y[n] for n in [n0, n1); w (K, ldw) */
static inline void matvec(real *restrict y, const real *restrict x, int K, const real *restrict w,
                          int ldw, int n0, int n1)
{
    int n = n0;
    for (; n + WIDE <= n1; n += WIDE) {
        real acc[WIDE] = {0};
        for (int k = 0; k < K; k++)
            for (int c = 0; c < WIDE; c++) acc[c] += x[k] * w[(size_t)k * ldw + n + c];
        for (int c = 0; c < WIDE; c++) y[n + c] = acc[c] + y[n + c];
    }
    for (; n + NARROW <= n1; n += NARROW) {
        real acc[NARROW] = {0};
        for (int k = 0; k < K; k++)
            for (int c = 0; c < NARROW; c++) acc[c] += x[k] * w[(size_t)k * ldw + n + c];
        for (int c = 0; c < NARROW; c++) y[n + c] = acc[c] + y[n + c];
    }
    for (; n < n1; n++) {
        real acc = 0;
        for (int k = 0; k < K; k++) acc += x[k] * w[(size_t)k * ldw + n];
        y[n] = acc + y[n];
    }
}

/* image b's step (compiled for each vector width: the parallel loop's body is a function
 * of its own, not a clone of the caller) */
PCNN_VECTOR
static void step_image(const pcnn_pixel_step *st, int b)
{
    const int H = st->H, W = st->W, C = st->C, K = st->K, p = st->p, s = st->s, i = st->i, j = st->j;
    const int g = st->g, q = p / C, known = (g + 1) * q, ld = (s + W) * p;
    real *ha = st->ha + (size_t)b * 2 * p, *t1 = st->t1 + (size_t)b * p, *t2 = st->t2 + (size_t)b * p;
    for (int l = 0; l <= st->L; l++) {
        const real *base = st->hbase + ((size_t)l * st->B * W + (size_t)b * W + j) * 2 * p + 2 * g * q;
        const real *wl = st->hleft + (size_t)l * s * p * 2 * p + (size_t)g * s * p * 2 * q;
        const real *wm = st->hmid + (size_t)l * p * 2 * p + (size_t)g * p * 2 * q;
        const real *below = l ? st->hrow + (size_t)(l - 1) * st->B * ld + (size_t)b * ld : NULL;
        real *hg = st->hg + ((size_t)l * st->B + b) * p;
        real *out = st->hrow + (size_t)l * st->B * ld + (size_t)b * ld + (size_t)(s + j) * p + g * q;
        for (int c = 0; c < 2 * q; c++) ha[c] = base[c]; /* group g's tanh and sigmoid maps */
        if (l == 0) { /* the image: the taps left of j, then channels before g at j (mask A) */
            const real *row = st->inmap + ((size_t)b * H + i) * W * C;
            for (int tap = 0; tap < s; tap++)
                if (j - s + tap >= 0) matvec(ha, row + (size_t)(j - s + tap) * C, C, wl + (size_t)tap * C * 2 * q, 2 * q, 0, 2 * q);
            matvec(ha, row + (size_t)j * C, g, wm, 2 * q, 0, 2 * q);
        } else { /* the layer below: columns j-s..j-1, then groups 0..g at j (mask B) */
            matvec(ha, below + (size_t)j * p, s * p, wl, 2 * q, 0, 2 * q);
            matvec(ha, below + (size_t)(s + j) * p, known, wm, 2 * q, 0, 2 * q);
        }
        for (int c = 0; c < q; c++) {
            real th, sg;
            tanh_sigmoid(ha[c], ha[q + c], &th, &sg);
            hg[g * q + c] = th * sg;
        }
        const real *ob = st->out_b + (size_t)l * p + g * q;
        for (int c = 0; c < q; c++) out[c] = ob[c];
        matvec(out, hg, known, st->out_w + (size_t)l * p * p + (size_t)g * p * q, q, 0, q);
        if (l) {
            const real *res = below + (size_t)(s + j) * p + g * q;
            for (int c = 0; c < q; c++) out[c] = out[c] + res[c];
        }
    }
    const real *top = st->hrow + (size_t)st->L * st->B * ld + (size_t)b * ld + (size_t)(s + j) * p;
    for (int c = g * q; c < g * q + q; c++) t1[c] = top[c] > 0 ? top[c] : 0;
    for (int c = g * q; c < g * q + q; c++) t2[c] = st->out1_b[c];
    matvec(t2 + g * q, t1, known, st->out1_w + (size_t)g * p * q, q, 0, q);
    for (int c = g * q; c < g * q + q; c++) t2[c] = t2[c] > 0 ? t2[c] : 0;
    real *logits = st->logits + (size_t)b * C * K;
    for (int k = g * K; k < g * K + K; k++) logits[k] = st->out2_b[k];
    matvec(logits + (size_t)g * K, t2, known, st->out2_w + (size_t)g * p * K, K, 0, K);
}

void cpu_pixel_step(pcnn_backend *be, const pcnn_pixel_step *st)
{
    (void)be;
    /* a thread an image is worth it from about 4096 multiply-adds a layer (p = 32, n = 5) */
    const int work = st->p * st->p * (st->s + 2) * 2 / st->C;
#pragma omp parallel for schedule(static) if (work >= 4096 && st->B > 1)
    for (int b = 0; b < st->B; b++) step_image(st, b);
}

/* pixel_step.h -- the cached sampler's step at one pixel and channel group
 * (pcnn_pixel_step, backend.h), for pixel.c, which shares it between threads.
 *
 * Built twice from this source, as the gate is (gate_rows.h): pixel_step.c with
 * multiplies and adds fused, for sampling, and pixel_step_exact.c with them apart, for
 * coding (be->exact), whose every sum must give the same bits on every CPU. Every sum
 * runs over its terms in one order, from 0, whatever the vector width or the number of
 * threads. The file that includes this defines STEP_IMAGES and STEP_IMAGES_NARROW (the
 * names of the functions it makes, see the end) and STEP_PAIRS: how many pairs of panels
 * an AVX-512 product reads at once for each image (1 or 2, see panels_images).
 *
 * The step is bound by reading its weights (6 MB a pixel for CIFAR-like p = 126), which
 * is why they come in panels (backend.h): a product streams four panels forward at a
 * time. A thread's images go through each product together, up to four at a time, so
 * that a panel read from memory serves them all (one image at a time, batch 16 read the
 * weights 8 times a step on each core). */
#include "cpu.h"
#include "fastmath.h"

enum { P = PCNN_PANEL };
/* one row of a panel, and the same read or written in place (any alignment) */
typedef real panel_row __attribute__((vector_size(P * sizeof(real))));
typedef real panel_at __attribute__((vector_size(P * sizeof(real)), aligned(sizeof(real)), may_alias));
#define AT(ptr) (*(panel_at *)(ptr))
#define SPLAT(x) ((panel_row){x, x, x, x, x, x, x, x})
_Static_assert(PCNN_PANEL == 8, "SPLAT and the shuffles below spell out 8 lanes");
/* the same rows of two panels side by side: one AVX-512 register, two of AVX2. Each lane
 * still multiplies and adds as it would alone, so the bits do not change; AVX-512 does
 * it in half the instructions, and the products below were bound by their number (the
 * multiplies and adds are kept apart, so a sum takes two instructions, not one). */
typedef real pair_row __attribute__((vector_size(2 * P * sizeof(real))));
#define PAIR(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define LOW(v) __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
#define HIGH(v) __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15)
#define SPLAT2(x) ((pair_row){x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x})

/* y[n] = (sum over k in order of x[k] w(k, n)) + y[n], for n in [n0, n1) below N; w: panels
 * of K rows or more, ps apart; n0 a multiple of P. Four panels at a time, each as one
 * vector per row (wide: two panels to a vector, and with STEP_PAIRS 2 eight panels at a
 * time, four sums side by side): the vector's lanes are columns, so no sum is split. */
static inline __attribute__((always_inline)) void matvec(const int wide, real *restrict y, const real *restrict x,
                                                         int K, const real *restrict w, size_t ps, int n0, int n1,
                                                         int N)
{
    if (n1 > N) n1 = N;
    int n = n0;
    for (; wide && STEP_PAIRS > 1 && n + 8 * P <= n1; n += 8 * P) {
        const real *w0 = w + (size_t)(n / P) * ps;
        pair_row a[4] = {{0}};
        for (int k = 0; k < K; k++) {
            const pair_row xk = SPLAT2(x[k]);
            for (int h = 0; h < 4; h++)
                a[h] += xk * PAIR(AT(w0 + 2 * h * ps + (size_t)k * P), AT(w0 + (2 * h + 1) * ps + (size_t)k * P));
        }
        for (int h = 0; h < 4; h++) {
            AT(y + n + 2 * h * P) = LOW(a[h]) + AT(y + n + 2 * h * P);
            AT(y + n + (2 * h + 1) * P) = HIGH(a[h]) + AT(y + n + (2 * h + 1) * P);
        }
    }
    for (; n < n1; n += 4 * P) { /* four panels; of the last one to three, the missing ones
                                    read again (the last), not stored: a sum alone waited on
                                    each of its adds */
        const real *wp[4];
        for (int h = 0; h < 4; h++) wp[h] = w + (size_t)((n + h * P < n1 ? n + h * P : n) / P) * ps;
        panel_row a[4] = {{0}};
        if (wide) {
            pair_row a01 = {0}, a23 = {0};
            for (int k = 0; k < K; k++) {
                const pair_row xk = SPLAT2(x[k]);
                a01 += xk * PAIR(AT(wp[0] + (size_t)k * P), AT(wp[1] + (size_t)k * P));
                a23 += xk * PAIR(AT(wp[2] + (size_t)k * P), AT(wp[3] + (size_t)k * P));
            }
            a[0] = LOW(a01), a[1] = HIGH(a01), a[2] = LOW(a23), a[3] = HIGH(a23);
        } else {
            for (int k = 0; k < K; k++) {
                const panel_row xk = SPLAT(x[k]);
                for (int h = 0; h < 4; h++) a[h] += xk * AT(wp[h] + (size_t)k * P);
            }
        }
        for (int h = 0; h < 4; h++) {
            real *yh = y + n + h * P;
            if (n + (h + 1) * P <= n1) AT(yh) = a[h] + AT(yh);
            else
                for (int c = 0; n + h * P + c < n1; c++) yh[c] = a[h][c] + yh[c];
        }
    }
}

/* The same for nb images (y + b*ys, x + b*xs for image b): NP pairs of panels from column
 * n (w[0..2NP-1], the last repeated where not stored) are read once for up to four
 * images, whose sums run side by side: narrow, two accumulators to an image (8 of AVX2's
 * 16 vector registers); wide, NP (8 of AVX-512's 32 with NP 2). Every sum in matvec's
 * order: the same bits. */
static inline __attribute__((always_inline)) void panels_images(const int wide, const int IB, const int NP,
                                                                real *restrict y, size_t ys, const real *restrict x,
                                                                size_t xs, int K, const real *const *w, int n,
                                                                int n1)
{
    panel_row a[4][2] = {{{0}}};  /* narrow */
    pair_row aw[4][2] = {{{0}}}; /* wide */
    if (wide) {
        for (int k = 0; k < K; k++) {
            pair_row v[2];
            for (int h = 0; h < NP; h++) v[h] = PAIR(AT(w[2 * h] + (size_t)k * P), AT(w[2 * h + 1] + (size_t)k * P));
            for (int b = 0; b < IB; b++) {
                const pair_row xk = SPLAT2(x[(size_t)b * xs + k]);
                for (int h = 0; h < NP; h++) aw[b][h] += xk * v[h];
            }
        }
    } else {
        for (int k = 0; k < K; k++) {
            const panel_row v0 = AT(w[0] + (size_t)k * P), v1 = AT(w[1] + (size_t)k * P);
            for (int b = 0; b < IB; b++) {
                const panel_row xk = SPLAT(x[(size_t)b * xs + k]);
                a[b][0] += xk * v0;
                a[b][1] += xk * v1;
            }
        }
    }
    for (int b = 0; b < IB; b++)
        for (int h = 0; h < 2 * NP; h++) {
            const panel_row sum = !wide ? a[b][h] : h & 1 ? HIGH(aw[b][h / 2]) : LOW(aw[b][h / 2]);
            real *yb = y + (size_t)b * ys + n + h * P;
            if (n + (h + 1) * P <= n1) AT(yb) = sum + AT(yb);
            else
                for (int c = 0; n + h * P + c < n1; c++) yb[c] = sum[c] + yb[c];
        }
}

/* images in fours, then two, then one, through NP pairs of panels from column n */
static inline __attribute__((always_inline)) void fours(const int wide, const int NP, int nb, real *restrict y,
                                                        size_t ys, const real *restrict x, size_t xs, int K,
                                                        const real *const *wp, int n, int n1)
{
    int b = 0;
    for (; b + 4 <= nb; b += 4) panels_images(wide, 4, NP, y + b * ys, ys, x + b * xs, xs, K, wp, n, n1);
    if (nb - b >= 2) panels_images(wide, 2, NP, y + b * ys, ys, x + b * xs, xs, K, wp, n, n1), b += 2;
    if (b < nb) panels_images(wide, 1, NP, y + b * ys, ys, x + b * xs, xs, K, wp, n, n1);
}

static inline __attribute__((always_inline)) void matvec_images(const int wide, int nb, real *restrict y, size_t ys,
                                                                const real *restrict x, size_t xs, int K,
                                                                const real *restrict w, size_t ps, int n0,
                                                                int n1, int N)
{
    if (nb == 1) {
        matvec(wide, y, x, K, w, ps, n0, n1, N);
        return;
    }
    if (n1 > N) n1 = N;
    for (int n = n0; n < n1;) {
        /* two pairs where three panels or more are left (and AVX-512 takes them) */
        const int NP = wide && STEP_PAIRS > 1 && n + 2 * P < n1 ? 2 : 1;
        const real *wp[4];
        for (int h = 0; h < 2 * NP; h++) wp[h] = w + (size_t)((n + h * P < n1 ? n + h * P : n) / P) * ps;
        if (NP == 2) fours(wide, 2, nb, y, ys, x, xs, K, wp, n, n1); /* NP a constant in each */
        else fours(wide, 1, nb, y, ys, x, xs, K, wp, n, n1);
        n += 2 * NP * P;
    }
}

/* thread t of T: its columns of a product with N columns, [*n0, *n1), whole panels */
static void share(int N, int t, int T, int *n0, int *n1)
{
    const int panels = (N + P - 1) / P;
    *n0 = panels * t / T * P;
    *n1 = panels * (t + 1) / T * P;
    if (*n1 > N) *n1 = N;
}

/* images b0 .. b0+nb-1's step, thread t of the T that share it; wide: two panels to a
 * vector (step_images). T > 1 only for a lone image: the threads share the columns of
 * each layer's big products (the taps, into ha) and meet once a layer; each then computes
 * the rest -- the gate, the output, the head's first product, all of q columns -- for
 * itself, into tensors of its own (st's hrow, hg, t1 and t2: pixel.c gives the second
 * thread copies), with the same sums in the same order, so the same bits: 16 meetings a
 * step where there were 50. Layers alternate between ha's two halves: one thread may
 * write the next layer's while the other reads this one's. */
static inline __attribute__((always_inline)) void step_body(const int wide, const pcnn_pixel_step *st, int b0,
                                                            int nb, int t, int T, barrier *bar)
{
    const int H = st->H, W = st->W, C = st->C, K = st->K, p = st->p, s = st->s, i = st->i, j = st->j;
    const int g = st->g, q = p / C, known = (g + 1) * q, ld = (s + W) * p;
    /* a group's block of each weight (backend.h) */
    const size_t q2 = PCNN_PADDED(2 * q), q1 = PCNN_PADDED(q);
    const size_t left = (size_t)s * p * q2, mid = (size_t)p * q2, out1 = (size_t)p * q1;
    /* image b0's tensors; image b0 + b's lie b times the stride of each further */
    const size_t sa = 2 * (size_t)p, sb = (size_t)W * 2 * p, sx = (size_t)H * W * C, sl = (size_t)C * K;
    real *t1 = st->t1 + (size_t)b0 * p, *t2 = st->t2 + (size_t)b0 * p;
    int a0, a1, k0, k1; /* this thread's columns of ha and of its K logits */
    share(2 * q, t, T, &a0, &a1);
    share(K, t, T, &k0, &k1);
    for (int l = 0; l <= st->L; l++) {
        real *ha = st->ha + ((size_t)(l & 1) * st->B + b0) * sa;
        const real *base = st->hbase + ((size_t)l * st->B * W + (size_t)b0 * W + j) * 2 * p + 2 * g * q;
        const real *wl = st->hleft + ((size_t)l * C + g) * left, *wm = st->hmid + ((size_t)l * C + g) * mid;
        const real *below = l ? st->hrow + (size_t)(l - 1) * st->B * ld + (size_t)b0 * ld : NULL;
        real *hg = st->hg + ((size_t)l * st->B + b0) * p;
        real *out = st->hrow + (size_t)l * st->B * ld + (size_t)b0 * ld + (size_t)(s + j) * p + g * q;
        for (int b = 0; b < nb; b++) /* group g's tanh and sigmoid maps */
            for (int c = a0; c < a1; c++) ha[b * sa + c] = base[b * sb + c];
        if (j + 1 < W) /* the next pixel's, which missed the cache (a row of them is MBs) */
            for (int b = 0; b < nb; b++)
                for (int c = a0; c < a1; c += 64 / sizeof(real)) __builtin_prefetch(base + b * sb + 2 * p + c);
        if (l == 0) { /* the image: the taps left of j, then channels before g at j (mask A) */
            const real *row = st->inmap + ((size_t)b0 * H + i) * W * C;
            for (int tap = 0; tap < s; tap++)
                if (j - s + tap >= 0)
                    matvec_images(wide, nb, ha, sa, row + (size_t)(j - s + tap) * C, sx, C, wl + (size_t)tap * C * P,
                                  (size_t)s * p * P, a0, a1, 2 * q);
            matvec_images(wide, nb, ha, sa, row + (size_t)j * C, sx, g, wm, (size_t)p * P, a0, a1, 2 * q);
        } else { /* the layer below: columns j-s..j-1, then groups 0..g at j (mask B) */
            matvec_images(wide, nb, ha, sa, below + (size_t)j * p, ld, s * p, wl, (size_t)s * p * P, a0, a1, 2 * q);
            matvec_images(wide, nb, ha, sa, below + (size_t)(s + j) * p, ld, known, wm, (size_t)p * P, a0, a1, 2 * q);
        }
        meet(bar, T); /* the gate reads maps c and q + c, which two threads may have made */
        for (int b = 0; b < nb; b++)
            for (int c = 0; c < q; c++) {
                real th, sg;
                tanh_sigmoid(ha[b * sa + c], ha[b * sa + q + c], &th, &sg);
                hg[b * p + g * q + c] = th * sg;
            }
        const real *ob = st->out_b + (size_t)l * p + g * q;
        for (int b = 0; b < nb; b++)
            for (int c = 0; c < q; c++) out[b * ld + c] = ob[c];
        matvec_images(wide, nb, out, ld, hg, p, known, st->out_w + ((size_t)l * C + g) * out1, (size_t)p * P, 0, q, q);
        if (l) {
            const real *res = below + (size_t)(s + j) * p + g * q;
            for (int b = 0; b < nb; b++)
                for (int c = 0; c < q; c++) out[b * ld + c] = out[b * ld + c] + res[b * ld + c];
        }
    }
    const real *top = st->hrow + (size_t)st->L * st->B * ld + (size_t)b0 * ld + (size_t)(s + j) * p;
    for (int b = 0; b < nb; b++)
        for (int c = g * q; c < known; c++) t1[b * p + c] = top[b * ld + c] > 0 ? top[b * ld + c] : 0;
    for (int b = 0; b < nb; b++)
        for (int c = g * q; c < known; c++) t2[b * p + c] = st->out1_b[c];
    matvec_images(wide, nb, t2 + g * q, p, t1, p, known, st->out1_w + (size_t)g * out1, (size_t)p * P, 0, q, q);
    for (int b = 0; b < nb; b++)
        for (int c = g * q; c < known; c++) t2[b * p + c] = t2[b * p + c] > 0 ? t2[b * p + c] : 0;
    real *logits = st->logits + b0 * sl + (size_t)g * K;
    for (int b = 0; b < nb; b++)
        for (int k = k0; k < k1; k++) logits[b * sl + k] = st->out2_b[g * K + k];
    matvec_images(wide, nb, logits, sl, t2, p, known, st->out2_w + (size_t)g * p * PCNN_PADDED(K), (size_t)p * P, k0,
                  k1, K);
}

/* The step compiled for each vector width, as PCNN_VECTOR does: for AVX-512 with two
 * panels to a vector, and apart from the others, because for AVX2 GCC moved such vectors
 * through memory (the loop's registers spilled to the stack). STEP_IMAGES is the widest
 * this build has; STEP_IMAGES_NARROW never takes AVX-512 (pixel.c picks, cpu_context.wide). */
#ifdef PCNN_VECTOR_WIDE
PCNN_VECTOR_WIDE
void STEP_IMAGES(const pcnn_pixel_step *st, int b0, int nb, int t, int T, barrier *bar)
{
    step_body(1, st, b0, nb, t, T, bar);
}
PCNN_VECTOR_NARROW
void STEP_IMAGES_NARROW(const pcnn_pixel_step *st, int b0, int nb, int t, int T, barrier *bar)
{
    step_body(0, st, b0, nb, t, T, bar);
}
#else
void STEP_IMAGES(const pcnn_pixel_step *st, int b0, int nb, int t, int T, barrier *bar)
{
    step_body(0, st, b0, nb, t, T, bar);
}
void STEP_IMAGES_NARROW(const pcnn_pixel_step *st, int b0, int nb, int t, int T, barrier *bar)
{
    step_body(0, st, b0, nb, t, T, bar);
}
#endif

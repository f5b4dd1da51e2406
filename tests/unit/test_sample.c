/* test_sample.c -- the cached sampler computes the same function as the full network:
 * fed the same image pixel by pixel (teacher forcing) its logits agree with one forward
 * pass to 1e-4 relative, and with one seed it draws the same images as the naive
 * sampler (at most 0.1% of pixels may differ, should rounding flip a draw), with and
 * without nucleus (top-p) sampling.
 * Gray and RGB, with and without conditioning (dense h and spatial s = m(h)). The CPU
 * backend's products on either library it dispatches to.
 * The CPU backend's sample op: top_p >= 1 draws exactly what the op drew before top-p
 * existed; a tiny top_p draws the first argmax; top_p < 1 draws from the truncated,
 * renormalised distribution and never outside it, at a temperature too.
 * The samplers agree at temperature 0.5, which changes their draws. An MSE autoencoder
 * decodes to the nearest levels. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"
#include "cpu/cpu.h"
#include "draw_not_finite.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

/* the sampler's options as one expression: temperature, top-p, seed, images per row, naive */
#define OPTS(T, P, S, R, N) (&(pcnn_sample_opts){.temperature = (T), .top_p = (P), .seed = (S), .per_row = (R), .naive = (N)})

/* completion: known pixels come out as given, in both samplers; a sample completed from
 * its own first rows with its own seed comes back bit for bit (the drawn values' random
 * numbers and everything they see are unchanged); a greedy draw (T = 0) depends on no seed */
static void test_completion(pcnn_model *m, const float *h, int B, const uint8_t *x, const uint8_t *y,
                            const uint8_t *z)
{
    const int C = m->hp.C, H = m->hp.H, W = m->hp.W;
    const size_t npix = (size_t)B * C * H * W;
    uint8_t known[64 * 64] = {0}, checker[64 * 64], *a = malloc(npix), *b = malloc(npix);
    for (int k = 0; k < H * W; k++) known[k] = k < 3 * W, checker[k] = (k / W + k % W) % 2;
    pcnn_sample_opts o = *OPTS(1, 1, 42, 0, 0);
    o.known = known, o.given = y;
    CHECK(pcnn_model_sample(m, a, h, B, &o) == 0, "completion: %s", pcnn_errstr());
    CHECK(memcmp(a, y, npix) == 0, "C=%d: a sample completed from its own top rows is not itself", C);
    o.naive = 1, o.given = z;
    CHECK(pcnn_model_sample(m, a, h, B, &o) == 0, "naive completion: %s", pcnn_errstr());
    CHECK(memcmp(a, z, npix) == 0, "C=%d: naive: a sample completed from its own top rows is not itself", C);
    for (int naive = 0; naive < 2; naive++) { /* another image's pixels, a mask not a prefix */
        o.naive = naive, o.given = x, o.known = checker;
        CHECK(pcnn_model_sample(m, naive ? b : a, h, B, &o) == 0, "completion: %s", pcnn_errstr());
        size_t wrong = 0;
        for (size_t k = 0; k < npix; k++) wrong += checker[k % (H * W)] && (naive ? b : a)[k] != x[k];
        CHECK(wrong == 0, "C=%d naive=%d: %zu known values changed", C, naive, wrong);
    }
    size_t differ = 0;
    for (size_t k = 0; k < npix; k++) differ += a[k] != b[k];
    CHECK(differ * 1000 <= npix, "completions: cached and naive differ in %zu of %zu", differ, npix);
    o = *OPTS(0, 1, 1, 0, 0);
    o.known = known, o.given = x;
    pcnn_model_sample(m, a, h, B, &o);
    o.seed = 2;
    pcnn_model_sample(m, b, h, B, &o);
    CHECK(memcmp(a, b, npix) == 0, "C=%d: a greedy completion depends on the seed", C);
    o.given = NULL;
    CHECK(pcnn_model_sample(m, a, h, B, &o) != 0, "known pixels without their values accepted");
    memcpy(b, x, npix);
    b[npix - 1] = (uint8_t)m->hp.K == 0 ? 255 : (uint8_t)(m->hp.K < 256 ? m->hp.K : 255);
    o.given = b;
    if (m->hp.K < 256) CHECK(pcnn_model_sample(m, a, h, B, &o) != 0, "a known value of K levels accepted");
    free(a), free(b);
}

/* a picker that feeds the teacher's levels (B,C,H,W) and keeps the logits (B,H,W,C,K) */
typedef struct {
    const uint8_t *x;
    real *logits;
    int C, H, W;
} teacher;

static int feed_teacher(void *arg, const real *logits, int B, int K, long k, uint8_t *levels)
{
    const teacher *t = arg;
    const long HW = (long)t->H * t->W, pix = k / t->C;
    const int c = (int)(k % t->C);
    for (int b = 0; b < B; b++) {
        levels[b] = t->x[((size_t)b * t->C + c) * HW + pix];
        memcpy(t->logits + ((size_t)b * HW * t->C + k) * K, logits + (size_t)b * K, (size_t)K * sizeof *logits);
    }
    return 0;
}

/* the relative (root mean square) difference of the cached sampler's logits, fed x
 * pixel by pixel, from one forward pass's; the largest in *worst */
static double cached_vs_full(pcnn_model *m, const uint8_t *x, const float *h, int B, double *worst)
{
    const pcnn_hparams hp = m->hp;
    const size_t npix = (size_t)B * hp.C * hp.H * hp.W, nlog = npix * hp.K;
    float *full = malloc(nlog * sizeof *full);
    real *cached = malloc(nlog * sizeof *cached);
    uint8_t *y = malloc(npix);
    pcnn_model_logits(m, full, x, h, B);
    teacher t = {x, cached, hp.C, hp.H, hp.W};
    int rc = pcnn_sample_cached(m, y, h, B, OPTS(1, 1, 1, 0, 0), &(pcnn_picker){feed_teacher, &t});
    CHECK(rc == 0, "teacher forcing: %s", pcnn_errstr());
    CHECK(memcmp(x, y, npix) == 0, "teacher forcing must return the teacher's image");
    double num = 0, den = 0;
    *worst = 0;
    for (size_t i = 0; i < nlog; i++) {
        double d = cached[i] - full[i];
        num += d * d, den += (double)full[i] * full[i];
        if (fabs(d) > *worst) *worst = fabs(d);
    }
    free(full), free(cached), free(y);
    return sqrt(num / den);
}

/* The sampler keeps its packed weights in the model between calls (sample.c): after
 * the parameters change (a training step, a load), it draws from the changed model */
static void test_repacked(void)
{
    const int B = 2;
    pcnn_hparams hp = {.L = 2, .p = 12, .n = 3, .C = 3, .H = 5, .W = 6, .K = 16, .q = 3};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 5);
    const size_t npix = (size_t)B * hp.C * hp.H * hp.W;
    uint8_t *x = malloc(npix);
    uint64_t rng = 9;
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
    double worst, before = cached_vs_full(m, x, NULL, B, &worst);
    CHECK(before < 1e-4, "before the change: cached logits off by %.3g relative", before);
    for (size_t i = 0; i < m->total; i++)
        if (m->mask[i]) m->w[i] += (real)(0.3 * (pcnn_rng_uniform(&rng) - 0.5));
    double after = cached_vs_full(m, x, NULL, B, &worst);
    CHECK(after < 1e-4, "after the weights changed: cached logits off by %.3g relative (max %.3g): packed "
          "weights of before?", after, worst);
    free(x);
    pcnn_model_free(m);
}

/* the CPU backend's products, on whichever code it takes (oneDNN's sgemm for few rows --
 * the sampler's at a small batch -- and for short sides, our dot products for few rows
 * against a long transposed B, OpenBLAS's for the others; see lib/cpu/gemm.c), with every
 * transpose and leading dimensions wider than the operands,
 * agree with a product in double; beta 0 ignores what C held (NaN here), as BLAS does */
static void test_products(void)
{
    uint64_t rng = 8;
    enum { PAD = 3 };
    const int shapes[][3] = {{1, 37, 83}, {2, 37, 83}, {4, 128, 192}, {5, 37, 83}, {64, 64, 64},
                             {65, 300, 200}, {300, 64, 64}, {200, 140, 130},
                             /* dot products (NT): K a multiple of their 8 lanes or not, M and N
                              * whole tiles or not, one thread or two */
                             {32, 252, 1890}, {7, 10, 517}, {1, 1, 600}, {64, 5, 1023}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int t = 0; t < 8; t++) {
            const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], ta = t & 1, tb = t >> 1 & 1;
            const int b = t >> 2;
            const int lda = (ta ? M : K) + PAD, ldb = (tb ? K : N) + PAD, ldc = N + PAD;
            real *A = malloc(sizeof(real) * (ta ? K : M) * lda), *Bm = malloc(sizeof(real) * (tb ? N : K) * ldb);
            real *C = malloc(sizeof(real) * M * ldc);
            for (int i = 0; i < (ta ? K : M) * lda; i++) A[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
            for (int i = 0; i < (tb ? N : K) * ldb; i++) Bm[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
            const real beta = b ? 0.5f : 0;
            for (int i = 0; i < M * ldc; i++) C[i] = b ? (real)(i % 7) : (real)NAN;
            be_gemm(cpu, ta, tb, M, N, K, 1.5f, A, lda, Bm, ldb, beta, C, ldc);
            double worst = 0;
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    double d = 0;
                    for (int k = 0; k < K; k++)
                        d += (double)(ta ? A[k * lda + m] : A[m * lda + k]) * (tb ? Bm[n * ldb + k] : Bm[k * ldb + n]);
                    const double want = 1.5 * d + (b ? beta * ((m * ldc + n) % 7) : 0);
                    worst = fmax(worst, fabs(C[m * ldc + n] - want));
                }
            int pad_kept = 1; /* nothing written between the rows */
            for (int m = 0; b && m < M; m++)
                for (int n = N; n < ldc; n++) pad_kept &= C[m * ldc + n] == (real)((m * ldc + n) % 7);
            CHECK(worst < 1e-4 && pad_kept, "%dx%dx%d ta=%d tb=%d beta=%g: off by %g%s", M, N, K, ta, tb,
                  beta, worst, pad_kept ? "" : ", wrote past N");
            free(A), free(Bm), free(C);
        }
}

/* Tall products -- many rows through small maps, contiguous, alpha 1, beta 0 or 1 --
 * which the CPU backend computes as oneDNN 1x1 convolutions (cpu_conv_product) on
 * AVX-512 and by oneDNN's sgemm on AVX2 (tests/run.sh runs both on an AVX-512 CPU): the
 * forward ones (NT, NN) and the weights' gradient (TN), against a product in double;
 * beta 0 ignores what C held (NaN here). */
static void test_tall_products(void)
{
    uint64_t rng = 9;
    const int R = 8192 + 37, P = 24, Q = 20; /* rows; the two short sides */
    for (int t = 0; t < 6; t++) {
        const int kind = t % 3, b = t / 3, ta = kind == 2, tb = kind == 0;
        const int M = ta ? P : R, N = ta ? Q : P, K = ta ? R : Q;
        const int lda = ta ? M : K, ldb = tb ? K : N, ldc = N;
        real *A = malloc(sizeof(real) * (ta ? K : M) * lda), *Bm = malloc(sizeof(real) * (tb ? N : K) * ldb);
        real *C = malloc(sizeof(real) * M * ldc);
        for (int i = 0; i < (ta ? K : M) * lda; i++) A[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
        for (int i = 0; i < (tb ? N : K) * ldb; i++) Bm[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
        for (int i = 0; i < M * ldc; i++) C[i] = b ? (real)(i % 7) : (real)NAN;
        be_gemm(cpu, ta, tb, M, N, K, 1, A, lda, Bm, ldb, b, C, ldc);
        double worst = 0;
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double d = b ? (m * ldc + n) % 7 : 0;
                for (int k = 0; k < K; k++)
                    d += (double)(ta ? A[k * lda + m] : A[m * lda + k]) * (tb ? Bm[n * ldb + k] : Bm[k * ldb + n]);
                worst = fmax(worst, fabs(C[m * ldc + n] - d) / (ta ? 10 : 1)); /* TN sums 8229 terms */
            }
        CHECK(worst < 1e-4, "tall %dx%dx%d ta=%d tb=%d beta=%d: off by %g", M, N, K, ta, tb, b, worst);
        free(A), free(Bm), free(C);
    }
}

/* The packed vertical weights are in the order of the mode that packed them (sample.c:
 * coding's im2col order, or sampling's pixel by pixel), and a product's order of
 * summation is part of the coded format: coding with a model that has just drawn
 * (packed for sampling) must give the bits of coding with a fresh one */
static void test_mode_switch(void)
{
    const int B = 2;
    pcnn_hparams hp = {.L = 2, .p = 12, .n = 5, .C = 3, .H = 4, .W = 5, .K = 16};
    const size_t npix = (size_t)B * hp.C * hp.H * hp.W, nlog = npix * hp.K;
    uint8_t *x = malloc(npix), *y = malloc(npix);
    uint64_t rng = 10;
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
    real *got[2];
    for (int k = 0; k < 2; k++) {
        pcnn_model *m = pcnn_model_new(cpu, &hp, 7); /* the same weights both times */
        if (k) {                                     /* a draw first */
            double worst, rel = cached_vs_full(m, x, NULL, B, &worst);
            CHECK(rel < 1e-5 && worst < 1e-4, "sampling's logits off by %.3g relative (max %.3g)", rel, worst);
        }
        got[k] = calloc(nlog, sizeof *got[k]);
        teacher t = {x, got[k], hp.C, hp.H, hp.W};
        cpu->exact = 1;
        CHECK(pcnn_sample_cached(m, y, NULL, B, OPTS(1, 1, 1, 0, 0), &(pcnn_picker){feed_teacher, &t}) == 0, "%s",
              pcnn_errstr());
        cpu->exact = 0;
        pcnn_model_free(m);
    }
    CHECK(memcmp(got[0], got[1], nlog * sizeof(real)) == 0,
          "coding after a draw differs from coding with a fresh model: weights packed for sampling?");
    free(got[0]), free(got[1]), free(x), free(y);
}

/* In coding's fixed order (be->exact) the cached sampler's logits are the same bits on one
 * thread or two, and at any batch: a lone image's columns are shared by a team of
 * OpenMP's, or under passive waiting by the backend's own helper thread; a batch's images
 * are shared among the threads, and each thread's go through a product together, four,
 * two or one at a time (batch 3 on two threads: 1 + 2; batch 9: 4 + 4 + 1 on one
 * thread, 4 and 4 + 1 on two). A model big enough that it threads. */
static void test_threads(void)
{
    const int B = 9, C = 3, H = 4, W = 5, K = 16;
    pcnn_hparams hp = {.L = 2, .p = 42, .n = 5, .C = C, .H = H, .W = W, .K = K}; /* columns padded */
    pcnn_model *m = pcnn_model_new(cpu, &hp, 5);
    const size_t npix = (size_t)B * C * H * W, nlog = npix * K, one = nlog / B;
    uint8_t *x = malloc(npix), *y = malloc(npix);
    enum { RUNS = 8 };
    /* batch, threads and passive waiting (the helper thread's steps, lib/cpu/pixel.c) of
     * each run; at batch 9 the threads share the images of the vertical rows (sample.c) */
    const int batch[RUNS] = {1, 1, 3, 1, 9, 9, 9, 9}, threads[RUNS] = {1, 2, 2, 2, 2, 1, 2, 4};
    const int passive[RUNS] = {0, 0, 0, 1, 0, 0, 1, 0};
    real *got[RUNS];
    uint64_t rng = 4;
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % K);
    const int was_threads = omp_get_max_threads();
    cpu->exact = 1;
    const char *policy = getenv("OMP_WAIT_POLICY");
    char *was = policy ? strdup(policy) : NULL;
    for (int r = 0; r < RUNS; r++) {
        got[r] = calloc(nlog, sizeof *got[r]);
        teacher t = {x, got[r], C, H, W};
        omp_set_num_threads(threads[r]);
        if (passive[r]) setenv("OMP_WAIT_POLICY", "passive", 1);
        else unsetenv("OMP_WAIT_POLICY");
        CHECK(pcnn_sample_cached(m, y, NULL, batch[r], OPTS(1, 1, 1, 0, 0), &(pcnn_picker){feed_teacher, &t}) == 0,
              "%s", pcnn_errstr());
    }
    if (was) setenv("OMP_WAIT_POLICY", was, 1);
    else unsetenv("OMP_WAIT_POLICY");
    free(was);
    cpu->exact = 0;
    omp_set_num_threads(was_threads);
    CHECK(memcmp(got[0], got[1], one * sizeof(real)) == 0, "batch 1: the logits on 2 threads differ from 1's");
    CHECK(memcmp(got[1], got[2], one * sizeof(real)) == 0, "the first image's logits at batch 3 differ from batch 1's");
    CHECK(memcmp(got[0], got[3], one * sizeof(real)) == 0, "batch 1: the logits with the helper thread differ from 1 thread's");
    CHECK(memcmp(got[0], got[4], one * sizeof(real)) == 0, "the first image's logits at batch 9 differ from batch 1's");
    CHECK(memcmp(got[4], got[5], nlog * sizeof(real)) == 0, "batch 9: the logits on 2 threads differ from 1's");
    CHECK(memcmp(got[5], got[6], nlog * sizeof(real)) == 0, "batch 9: the logits with the helper thread differ from 1 thread's");
    CHECK(memcmp(got[5], got[7], nlog * sizeof(real)) == 0, "batch 9: the logits on 4 threads differ from 1's");
    size_t zero = 0; /* and the logits were written: a batch's last image too */
    for (size_t i = nlog - one; i < nlog; i++) zero += got[4][i] == 0;
    CHECK(zero * 10 < one, "batch 9: %zu of the last image's %zu logits are 0", zero, one);
    for (int r = 0; r < RUNS; r++) free(got[r]);
    free(x), free(y);
    pcnn_model_free(m);
}

/* Sampling's step (multiplies and adds fused, pixel_step.c) against one forward pass, on
 * each of its paths: a lone image's columns shared by two threads (eight panels at a
 * time where AVX-512 takes them: p = 64, one group) or one thread's; a batch's images
 * four, two and one at a time through two pairs of panels and through one (batch 7 on
 * one thread: 4 + 2 + 1; a group's 2q = 28 columns of p = 42: a pair and a half) */
static void test_fused_step(void)
{
    const int shapes[2][2] = {{1, 64}, {3, 42}}; /* C, p */
    const int batch[3] = {1, 7, 9}, threads[2] = {1, 2};
    const int was_threads = omp_get_max_threads();
    for (int k = 0; k < 2; k++) {
        pcnn_hparams hp = {.L = 2, .p = shapes[k][1], .n = 5, .C = shapes[k][0], .H = 4, .W = 5, .K = 16};
        pcnn_model *m = pcnn_model_new(cpu, &hp, 6);
        const size_t npix = (size_t)9 * hp.C * hp.H * hp.W;
        uint8_t *x = malloc(npix);
        uint64_t rng = 12;
        for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 2; t++) {
                omp_set_num_threads(threads[t]);
                double worst, rel = cached_vs_full(m, x, NULL, batch[b], &worst);
                CHECK(rel < 1e-5 && worst < 1e-4, "C=%d p=%d batch %d on %d threads: fused step's logits off by "
                      "%.3g relative (max %.3g)", hp.C, hp.p, batch[b], threads[t], rel, worst);
            }
        free(x);
        pcnn_model_free(m);
    }
    omp_set_num_threads(was_threads);
}

/* Coding's logits (be->exact) in the step's AVX2 code are the bits of its AVX-512 code: a
 * file coded on one machine decodes on the other. wide and narrow: the CPU backend
 * opened as it is and with PCNN_MAX_CPU_ISA=AVX2; at batch 1 and 9 (4 + 4 + 1 images),
 * on one thread and two. */
static void test_isa_bits(pcnn_backend *wide, pcnn_backend *narrow)
{
    const int B = 9, was_threads = omp_get_max_threads();
    pcnn_hparams hp = {.L = 2, .p = 42, .n = 5, .C = 3, .H = 4, .W = 5, .K = 16};
    const size_t npix = (size_t)B * hp.C * hp.H * hp.W, nlog = npix * hp.K;
    uint8_t *x = malloc(npix), *y = malloc(npix);
    uint64_t rng = 13;
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
    for (int batch = 1; batch <= B; batch += B - 1)
        for (int threads = 1; threads <= 2; threads++) {
            real *got[2];
            omp_set_num_threads(threads);
            for (int k = 0; k < 2; k++) {
                pcnn_backend *be = k ? narrow : wide;
                pcnn_model *m = pcnn_model_new(be, &hp, 8); /* the same weights on both */
                got[k] = calloc(nlog, sizeof *got[k]);
                teacher t = {x, got[k], hp.C, hp.H, hp.W};
                be->exact = 1;
                CHECK(pcnn_sample_cached(m, y, NULL, batch, OPTS(1, 1, 1, 0, 0), &(pcnn_picker){feed_teacher, &t}) == 0,
                      "%s", pcnn_errstr());
                be->exact = 0;
                pcnn_model_free(m);
            }
            CHECK(memcmp(got[0], got[1], (size_t)batch * hp.C * hp.H * hp.W * hp.K * sizeof(real)) == 0,
                  "batch %d on %d threads: coding's logits in the AVX2 step differ from the AVX-512 step's", batch,
                  threads);
            free(got[0]), free(got[1]);
        }
    omp_set_num_threads(was_threads);
    free(x), free(y);
}

static void run_case(int C, int n, int D, int K, int S)
{
    const int B = 3, H = 6, W = 7, L = 3;
    pcnn_hparams hp = {.L = L, .p = 12, .n = n, .C = C, .H = H, .W = W, .K = K, .D = D, .S = S, .q = 3};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 11);
    uint64_t rng = 3;
    for (size_t i = 0; i < m->total; i++)
        if (m->mask[i]) m->w[i] += (real)(0.3 * (pcnn_rng_uniform(&rng) - 0.5));
    const size_t npix = (size_t)B * C * H * W;
    uint8_t *x = malloc(npix), *y = malloc(npix), *z = malloc(npix);
    float *h = D ? malloc((size_t)B * D * sizeof *h) : NULL;
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % K);
    for (int i = 0; i < B * D; i++) h[i] = (float)(2 * pcnn_rng_uniform(&rng) - 1);

    double worst, rel = cached_vs_full(m, x, h, B, &worst);
    CHECK(rel < 1e-4, "C=%d n=%d D=%d S=%d: cached logits off by %.3g relative (max %.3g)", C, n, D, S, rel,
          worst);

    pcnn_model_sample(m, y, h, B, OPTS(1, 1, 42, 0, 0));
    pcnn_model_sample(m, z, h, B, OPTS(1, 1, 42, 0, 1));
    size_t differ = 0;
    for (size_t i = 0; i < npix; i++) differ += y[i] != z[i];
    printf("C=%d n=%d D=%d S=%d K=%d: cached vs naive logits %.2g relative; draws differ in %zu of %zu samples\n",
           C, n, D, S, K, rel, differ, npix);
    CHECK(differ * 1000 <= npix, "cached and naive draws differ in %zu of %zu samples", differ, npix);
    /* nucleus sampling: the two samplers still agree, and it changes the draws */
    uint8_t *yp = malloc(npix), *zp = malloc(npix);
    CHECK(pcnn_model_sample(m, yp, h, B, OPTS(1, 0.9f, 42, 0, 0)) == 0, "top_p 0.9: %s", pcnn_errstr());
    CHECK(pcnn_model_sample(m, zp, h, B, OPTS(1, 0.9f, 42, 0, 1)) == 0, "top_p 0.9 naive: %s", pcnn_errstr());
    size_t differ_p = 0, changed = 0;
    for (size_t i = 0; i < npix; i++) differ_p += yp[i] != zp[i], changed += yp[i] != y[i];
    printf("C=%d n=%d D=%d S=%d K=%d: top_p 0.9: cached and naive draws differ in %zu of %zu samples; %zu differ from top_p 1\n",
           C, n, D, S, K, differ_p, npix, changed);
    CHECK(differ_p * 1000 <= npix, "top_p 0.9: cached and naive draws differ in %zu of %zu samples", differ_p, npix);
    CHECK(changed > 0, "top_p 0.9 drew the same images as top_p 1");
    /* temperature 0.5: the two samplers still agree, and it changes the draws of each */
    CHECK(pcnn_model_sample(m, yp, h, B, OPTS(0.5f, 1, 42, 0, 0)) == 0, "T 0.5: %s", pcnn_errstr());
    CHECK(pcnn_model_sample(m, zp, h, B, OPTS(0.5f, 1, 42, 0, 1)) == 0, "T 0.5 naive: %s", pcnn_errstr());
    size_t differ_t = 0, changed_t = 0, changed_tn = 0;
    for (size_t i = 0; i < npix; i++)
        differ_t += yp[i] != zp[i], changed_t += yp[i] != y[i], changed_tn += zp[i] != z[i];
    printf("C=%d n=%d D=%d S=%d K=%d: T 0.5: cached and naive draws differ in %zu of %zu samples; %zu differ from T 1\n",
           C, n, D, S, K, differ_t, npix, changed_t);
    CHECK(differ_t * 1000 <= npix, "T 0.5: cached and naive draws differ in %zu of %zu samples", differ_t, npix);
    CHECK(changed_t > 0 && changed_tn > 0, "T 0.5 drew the same images as T 1 (cached: %zu differ, naive: %zu)",
          changed_t, changed_tn);
    free(yp), free(zp);
    test_completion(m, h, B, x, y, z);
    /* The sampler keeps its cache in the model between draws of as many images: after
     * all the draws above and one of fewer images, a draw is a fresh model's */
    pcnn_model *fresh = pcnn_model_new(cpu, &hp, 11);
    memcpy(fresh->w, m->w, m->total * sizeof *m->w);
    CHECK(pcnn_model_sample(m, z, h, B - 1, OPTS(1, 1, 5, 0, 0)) == 0, "%s", pcnn_errstr());
    for (int r = 0; r < 2; r++) {
        memset(z, 0, npix);
        CHECK(pcnn_model_sample(r ? fresh : m, z, h, B, OPTS(1, 1, 42, 0, 0)) == 0, "%s", pcnn_errstr());
        CHECK(memcmp(y, z, npix) == 0, "C=%d n=%d D=%d S=%d: %s draws what the first draw did not", C, n, D, S,
              r ? "a fresh model" : "the model, drawn from before,");
    }
    CHECK(pcnn_sampler_keeps(m) == B, "the model keeps a cache of %d images after a draw of %d", pcnn_sampler_keeps(m), B);
    float nll[3];
    CHECK(pcnn_model_nll(m, nll, x, h, B) == 0, "%s", pcnn_errstr());
    CHECK(pcnn_sampler_keeps(m) == 0, "a likelihood pass left the sampler's cache of %d images", pcnn_sampler_keeps(m));
    pcnn_model_free(fresh);
    /* and the draws are not all one value: the test would be void otherwise */
    size_t distinct = 0;
    for (size_t i = 1; i < npix; i++) distinct += y[i] != y[0];
    CHECK(distinct > 0, "every drawn sample is %d", y[0]);
    free(x), free(y), free(z), free(h);
    pcnn_model_free(m);
}

/* per_row: image k of every row draws the same random numbers, so rows
 * with the same conditioning are the same images, and columns differ */
static void test_rows(int naive)
{
    pcnn_hparams hp = {.L = 2, .p = 6, .n = 3, .C = 1, .H = 5, .W = 4, .K = 16, .D = 3};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 4);
    enum { ROWS = 3, PER = 2, N = ROWS * PER, SZ = 20 };
    float h[N * 3];
    for (int i = 0; i < N * 3; i++) h[i] = (float)(i % 3) * 0.5f; /* the same h everywhere */
    uint8_t x[N * SZ], y[N * SZ];
    int rc = pcnn_model_sample(m, x, h, N, OPTS(1, 1, 9, PER, naive));
    CHECK(rc == 0, "per_row: %s", pcnn_errstr());
    for (int r = 1; r < ROWS; r++)
        for (int k = 0; k < PER; k++)
            CHECK(memcmp(x + (r * PER + k) * SZ, x + k * SZ, SZ) == 0, "naive=%d: row %d image %d differs from row 0's", naive, r, k);
    CHECK(memcmp(x, x + SZ, SZ) != 0, "naive=%d: the two images of a row are the same", naive);
    /* per_row = N is the plain sampler */
    pcnn_model_sample(m, x, h, N, OPTS(1, 1, 9, N, naive));
    if (naive) pcnn_model_sample(m, y, h, N, OPTS(1, 1, 9, 0, 1));
    else pcnn_model_sample(m, y, h, N, OPTS(1, 1, 9, 0, 0));
    CHECK(memcmp(x, y, sizeof x) == 0, "naive=%d: one row of N is not the plain sampler", naive);
    pcnn_model_free(m);
}

/* The CPU sample op as it was before top-p, verbatim: top_p >= 1 must draw exactly this. */
static void sample_before_top_p(uint8_t *out, const real *logits, int R, int K, int ld, real T,
                                const double *u)
{
    for (int r = 0; r < R; r++) {
        const real *z = logits + (size_t)r * ld;
        real mx = z[0];
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        double se = 0;
        for (int k = 0; k < K; k++) se += exp((z[k] - mx) / T);
        double target = u[r] * se, acc = 0;
        int k = 0;
        for (; k < K - 1; k++) {
            acc += exp((z[k] - mx) / T);
            if (acc > target) break;
        }
        out[r] = (uint8_t)k;
    }
}

/* R rows of logits with stride ld, spread by scale; with ties != 0 rounded to a few
 * values, so that rows hold equal logits (at their maximum too) */
static real *rand_logits(uint64_t *rng, int R, int ld, double scale, int ties)
{
    real *z = malloc((size_t)R * ld * sizeof *z);
    for (size_t i = 0; i < (size_t)R * ld; i++) {
        double v = scale * (2 * pcnn_rng_uniform(rng) - 1);
        z[i] = (real)(ties ? floor(v) : v);
    }
    return z;
}

/* top_p = 1 (and above) is the sampler as it was, draw for draw */
static void test_top_p_one(void)
{
    pcnn_backend *be = cpu;
    uint64_t rng = 5;
    const int R = 3000, Ks[] = {2, 16, 256};
    const real Ts[] = {1, 0.7f, 1.3f};
    uint8_t *want = malloc(R), *got = malloc(R), *got2 = malloc(R);
    double *u = malloc(R * sizeof *u);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            const int K = Ks[a], ld = K + 3;
            real *z = rand_logits(&rng, R, ld, 4, b == 2);
            for (int r = 0; r < R; r++) u[r] = pcnn_rng_uniform(&rng);
            sample_before_top_p(want, z, R, K, ld, Ts[b], u);
            be_sample(be, got, z, R, K, ld, Ts[b], 1, u);
            be_sample(be, got2, z, R, K, ld, Ts[b], 1.5f, u);
            CHECK(memcmp(want, got, R) == 0, "K=%d T=%g: top_p 1 draws differ from the sampler before top-p", K, Ts[b]);
            CHECK(memcmp(want, got2, R) == 0, "K=%d T=%g: top_p 1.5 draws differ from the sampler before top-p", K, Ts[b]);
            free(z);
        }
    free(want), free(got), free(got2), free(u);
}

/* a top_p below every level's probability leaves the argmax alone; of equal maxima
 * the lowest level */
static void test_top_p_tiny(void)
{
    pcnn_backend *be = cpu;
    uint64_t rng = 6;
    const int R = 2000, Ks[] = {2, 16, 256};
    uint8_t *out = malloc(R);
    double *u = malloc(R * sizeof *u);
    for (int a = 0; a < 3; a++)
        for (int ties = 0; ties < 2; ties++) {
            const int K = Ks[a];
            real *z = rand_logits(&rng, R, K, ties ? 2 : 4, ties);
            for (int r = 0; r < R; r++) u[r] = pcnn_rng_uniform(&rng);
            u[0] = 0.999999; /* the end of the distribution */
            be_sample(be, out, z, R, K, K, 0.8f, 1e-6f, u);
            int wrong = 0, tied = 0;
            for (int r = 0; r < R; r++) {
                const real *zr = z + (size_t)r * K;
                int best = 0, nbest = 1;
                for (int k = 1; k < K; k++) {
                    if (zr[k] > zr[best]) best = k, nbest = 1;
                    else if (zr[k] == zr[best]) nbest++;
                }
                wrong += out[r] != best, tied += nbest > 1;
            }
            CHECK(wrong == 0, "K=%d ties=%d: top_p 1e-6 missed the (first) argmax in %d of %d rows", K, ties, wrong, R);
            CHECK(!ties || tied > R / 10, "K=%d: only %d rows with tied maxima; the tie test is void", K, tied);
            free(z);
        }
    free(out), free(u);
}

/* many draws from one row at temperature T: the frequencies follow the nucleus of
 * softmax(z/T), renormalised (a chi-square test at the 0.1% level), and no level outside
 * it is drawn */
static void nucleus_frequencies(float T, float top_p, const int *nucleus, int n_nucleus, double crit)
{
    /* softmax(z) = p, likeliest first: 1 (.30), 3 (.25), 4 (.15), 5 (.10), 6 (.08), 0 and
     * 7 (.05 each: 0 first), 2 (.02). Cumulative: .30 .55 .70 .80 .88 .93 .98 1.
     * At T = 0.5, p^2 renormalised: .457 .318 .114 .051 .033 .013 .013 .002, cumulative
     * .457 .775 .889 .940 .973 .986 .998 1 */
    static const double p0[8] = {0.05, 0.30, 0.02, 0.25, 0.15, 0.10, 0.08, 0.05};
    enum { K = 8, N = 200000 };
    real z[K];
    double p[K], sum = 0;
    for (int k = 0; k < K; k++) z[k] = (real)log(p0[k]), sum += p[k] = pow(p0[k], 1 / (double)T);
    for (int k = 0; k < K; k++) p[k] /= sum;
    double *u = malloc(N * sizeof *u);
    uint8_t *out = malloc(N);
    uint64_t rng = 7;
    for (int i = 0; i < N; i++) u[i] = pcnn_rng_uniform(&rng);
    be_sample(cpu, out, z, N, K, 0, T, top_p, u); /* stride 0: the same row N times */
    long count[K] = {0};
    for (int i = 0; i < N; i++) count[out[i]]++;
    int in[K] = {0};
    double mass = 0, chi2 = 0;
    for (int i = 0; i < n_nucleus; i++) in[nucleus[i]] = 1, mass += p[nucleus[i]];
    for (int k = 0; k < K; k++) {
        if (!in[k]) {
            CHECK(count[k] == 0, "T %g top_p %g: level %d, outside the nucleus, drawn %ld times", T, top_p, k,
                  count[k]);
            continue;
        }
        double e = N * p[k] / mass;
        chi2 += (count[k] - e) * (count[k] - e) / e;
    }
    printf("T %g top_p %g: %d levels kept; chi-square %.3g on %d degrees of freedom (limit %g)\n", T, top_p,
           n_nucleus, chi2, n_nucleus - 1, crit);
    CHECK(chi2 < crit, "T %g top_p %g: frequencies off the renormalised nucleus: chi-square %.2f >= %.2f", T, top_p,
          chi2, crit);
    free(u), free(out);
}

/* through the samplers: bad top_p values are refused; a tiny one draws the same image
 * whatever the seed (every value is the argmax) */
static void test_top_p_model(void)
{
    pcnn_hparams hp = {.L = 2, .p = 8, .n = 3, .C = 1, .H = 5, .W = 6, .K = 16};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 12);
    uint8_t x[2 * 30], y[2 * 30];
    const float bad[] = {0, -0.5f, 1.5f, NAN};
    for (int i = 0; i < 4; i++) {
        CHECK(pcnn_model_sample(m, x, NULL, 2, OPTS(1, bad[i], 1, 0, 0)) != 0, "top_p %g accepted", bad[i]);
        CHECK(strstr(pcnn_errstr(), "top-p") != NULL, "top_p %g: error '%s'", bad[i], pcnn_errstr());
        CHECK(pcnn_model_sample(m, x, NULL, 2, OPTS(1, bad[i], 1, 0, 1)) != 0, "naive: top_p %g accepted", bad[i]);
    }
    for (int naive = 0; naive < 2; naive++) {
        CHECK(pcnn_model_sample(m, x, NULL, 2, OPTS(1, 1e-6f, 1, 2, naive)) == 0, "%s", pcnn_errstr());
        CHECK(pcnn_model_sample(m, y, NULL, 2, OPTS(1, 1e-6f, 99, 2, naive)) == 0, "%s", pcnn_errstr());
        CHECK(memcmp(x, y, sizeof x) == 0, "naive=%d: top_p 1e-6 draws depend on the seed", naive);
        CHECK(memcmp(x, x + 30, 30) == 0, "naive=%d: top_p 1e-6 draws two images differently", naive);
    }
    pcnn_model_free(m);
}

/* An MSE autoencoder's decode of C channels of K levels, with its decoder's weights
 * zeroed and the last biases v (C): every pixel of channel c must decode to want[c] */
static void decode_case(int C, int K, const float *v, const int *want)
{
    enum { B = 2, HW = 64 };
    pcnn_hparams hp = {.L = 1, .p = 6, .n = 3, .C = C, .H = 8, .W = 8, .K = K, .D = 4, .q = 2, .encoder = 1,
                       .kind = PCNN_MSE_AUTOENCODER};
    pcnn_model *m = pcnn_model_new(cpu, &hp, 3);
    CHECK(m != NULL, "MSE autoencoder: %s", pcnn_errstr());
    if (!m) return;
    for (int pi = 0; pi < m->nparams; pi++)
        if (!strncmp(m->params[pi].name, "dec.", 4))
            memset(m->w + m->params[pi].off, 0, m->params[pi].count * sizeof(real));
    const pcnn_param *bias = pcnn_model_param(m, "dec.deconv2.bias");
    for (int c = 0; c < C; c++) m->w[bias->off + c] = v[c];
    uint8_t x[B * 3 * HW];
    const float h[B * 4] = {0.5f, -1, 2, 0, 1, 1, -0.25f, 3}; /* what h is does not matter here */
    CHECK(pcnn_model_decode(m, x, h, B) == 0, "decode: %s", pcnn_errstr());
    for (int c = 0; c < C; c++) {
        int wrong = 0;
        for (int b = 0; b < B; b++)
            for (int q = 0; q < HW; q++) wrong += x[(b * C + c) * HW + q] != want[c];
        CHECK(wrong == 0, "C=%d K=%d: channel %d, value %g, decodes to %d (image 0, pixel 0), want %d", C, K, c,
              v[c], x[c * HW], want[c]);
    }
    pcnn_model_free(m);
}

/* An MSE autoencoder does not sample: it decodes each output value v in [-1, 1] to the
 * nearest of K levels, round((v + 1) / 2 * (K - 1)), clamped to 0..K-1. Values between
 * levels round to the nearer one (not down), values beyond +-1 clamp, and in RGB each
 * channel lands in its own plane of x (B,C,H,W). */
static void test_decode(void)
{
    /* K = 5: levels at -1, -0.5, 0, 0.5, 1 */
    const float v5[] = {-1, 0, 1, -0.74f, 0.3f, 0.76f, -0.8f, 0.2f, -1.3f, 1.7f};
    const int l5[] = {0, 2, 4, 1, 3, 4, 0, 2, 0, 4}; /* on a level; above half way; below; beyond */
    for (size_t k = 0; k < sizeof v5 / sizeof *v5; k++) decode_case(1, 5, &v5[k], &l5[k]);
    decode_case(1, 256, (const float[]){0.001f}, (const int[]){128}); /* 127.63 */
    decode_case(3, 5, (const float[]){-0.74f, 0.3f, 1.7f}, (const int[]){1, 3, 4});
    decode_case(3, 5, (const float[]){0.76f, -1.3f, 0.2f}, (const int[]){4, 0, 2});
    decode_case(3, 256, (const float[]){0.999f, 0.001f, -0.999f}, (const int[]){255, 128, 0});
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    test_products();
    test_tall_products();
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    test_top_p_one();
    test_top_p_tiny();
    test_draw_not_finite("cpu");
    nucleus_frequencies(1, 0.9f, (const int[]){1, 3, 4, 5, 6, 0}, 6, 20.52); /* 7 ties with 0 but comes later */
    nucleus_frequencies(1, 0.5f, (const int[]){1, 3}, 2, 10.83);
    nucleus_frequencies(1, 0.25f, (const int[]){1}, 1, 1e-9); /* level 1 alone */
    /* the nucleus of softmax(z/T), not of softmax(z): two levels fewer at T = 0.5 */
    nucleus_frequencies(0.5f, 0.9f, (const int[]){1, 3, 4, 5}, 4, 16.27);
    test_top_p_model();
    test_decode();
    test_rows(0);
    test_rows(1);
    test_threads();
    test_fused_step();
    test_repacked();
    test_mode_switch();
    /* the step's AVX2 code, on an AVX-512 machine too (where it has no AVX-512 this runs
     * the same code twice) */
    setenv("PCNN_MAX_CPU_ISA", "AVX2", 1);
    pcnn_backend *wide = cpu, *narrow = pcnn_backend_open("cpu");
    unsetenv("PCNN_MAX_CPU_ISA");
    CHECK(narrow && !CPU_CONTEXT(narrow)->wide, "PCNN_MAX_CPU_ISA=AVX2 left the step its AVX-512 code");
    if (narrow) {
        cpu = narrow;
        test_threads();
        test_fused_step();
        cpu = wide;
        test_isa_bits(wide, narrow);
        pcnn_backend_close(narrow);
    }
    run_case(1, 3, 0, 256, 0);
    run_case(3, 3, 0, 16, 0);
    run_case(1, 5, 4, 8, 0);
    run_case(3, 5, 5, 256, 0);
    run_case(1, 3, 4, 16, 2); /* spatial conditioning */
    run_case(3, 5, 5, 256, 3);
    pcnn_backend_close(cpu);
    return check_summary("test_sample");
}

/* test_sample.c -- the cached sampler computes the same function as the full network:
 * fed the same image pixel by pixel (teacher forcing) its logits agree with one forward
 * pass to 1e-4 relative, and with one seed it draws the same images as the naive
 * sampler (at most 0.1% of pixels may differ, should rounding flip a draw).
 * Gray and RGB, with and without conditioning (dense h and spatial s = m(h)). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

static void run_case(int C, int n, int D, int K, int S)
{
    const int B = 3, H = 6, W = 7, L = 3;
    pcnn_hparams hp = {.L = L, .p = 12, .n = n, .C = C, .H = H, .W = W, .K = K, .D = D, .S = S, .q = 3};
    pcnn_model *m = pcnn_model_new(&hp, 11);
    uint64_t rng = 3;
    for (size_t i = 0; i < m->total; i++)
        if (m->mask[i]) m->w[i] += (real)(0.3 * (pcnn_rng_uniform(&rng) - 0.5));
    const size_t npix = (size_t)B * C * H * W, nlog = (size_t)B * H * W * C * K;
    uint8_t *x = malloc(npix), *y = malloc(npix), *z = malloc(npix);
    float *full = malloc(nlog * sizeof *full), *h = D ? malloc((size_t)B * D * sizeof *h) : NULL;
    real *cached = malloc(nlog * sizeof *cached);
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % K);
    for (int i = 0; i < B * D; i++) h[i] = (float)(2 * pcnn_rng_uniform(&rng) - 1);

    pcnn_model_logits(m, full, x, h, B);
    int rc = pcnn_sample_cached(m, y, h, B, 1, 1, B, NULL, NULL, x, cached);
    CHECK(rc == 0, "teacher forcing: %s", pcnn_errstr());
    double num = 0, den = 0, worst = 0;
    for (size_t i = 0; i < nlog; i++) {
        double d = cached[i] - full[i];
        num += d * d, den += (double)full[i] * full[i];
        if (fabs(d) > worst) worst = fabs(d);
    }
    CHECK(sqrt(num / den) < 1e-4, "C=%d n=%d D=%d S=%d: cached logits off by %.3g relative (max %.3g)", C,
          n, D, S, sqrt(num / den), worst);
    CHECK(memcmp(x, y, npix) == 0, "teacher forcing must return the teacher's image");

    pcnn_model_sample(m, y, h, B, 1, 42, NULL, NULL);
    pcnn_model_sample_naive(m, z, h, B, 1, 42, NULL, NULL);
    size_t differ = 0;
    for (size_t i = 0; i < npix; i++) differ += y[i] != z[i];
    printf("C=%d n=%d D=%d S=%d K=%d: cached vs naive logits %.2g relative; draws differ in %zu of %zu samples\n",
           C, n, D, S, K, sqrt(num / den), differ, npix);
    CHECK(differ * 1000 <= npix, "cached and naive draws differ in %zu of %zu samples", differ, npix);
    /* and the draws are not all one value: the test would be void otherwise */
    size_t distinct = 0;
    for (size_t i = 1; i < npix; i++) distinct += y[i] != y[0];
    CHECK(distinct > 0, "every drawn sample is %d", y[0]);
    free(x), free(y), free(z), free(full), free(h), free(cached);
    pcnn_model_free(m);
}

/* pcnn_model_sample_rows: image k of every row draws the same random numbers, so rows
 * with the same conditioning are the same images, and columns differ */
static void test_rows(int naive)
{
    pcnn_hparams hp = {.L = 2, .p = 6, .n = 3, .C = 1, .H = 5, .W = 4, .K = 16, .D = 3};
    pcnn_model *m = pcnn_model_new(&hp, 4);
    enum { ROWS = 3, PER = 2, N = ROWS * PER, SZ = 20 };
    float h[N * 3];
    for (int i = 0; i < N * 3; i++) h[i] = (float)(i % 3) * 0.5f; /* the same h everywhere */
    uint8_t x[N * SZ], y[N * SZ];
    int rc = pcnn_model_sample_rows(m, x, h, N, PER, naive, 1, 9, NULL, NULL);
    CHECK(rc == 0, "sample_rows: %s", pcnn_errstr());
    for (int r = 1; r < ROWS; r++)
        for (int k = 0; k < PER; k++)
            CHECK(memcmp(x + (r * PER + k) * SZ, x + k * SZ, SZ) == 0, "naive=%d: row %d image %d differs from row 0's", naive, r, k);
    CHECK(memcmp(x, x + SZ, SZ) != 0, "naive=%d: the two images of a row are the same", naive);
    /* per_row = N is the plain sampler */
    pcnn_model_sample_rows(m, x, h, N, N, naive, 1, 9, NULL, NULL);
    if (naive) pcnn_model_sample_naive(m, y, h, N, 1, 9, NULL, NULL);
    else pcnn_model_sample(m, y, h, N, 1, 9, NULL, NULL);
    CHECK(memcmp(x, y, sizeof x) == 0, "naive=%d: sample_rows with one row is not the plain sampler", naive);
    pcnn_model_free(m);
}

int main(void)
{
    test_rows(0);
    test_rows(1);
    run_case(1, 3, 0, 256, 0);
    run_case(3, 3, 0, 16, 0);
    run_case(1, 5, 4, 8, 0);
    run_case(3, 5, 5, 256, 0);
    run_case(1, 3, 4, 16, 2); /* spatial conditioning */
    run_case(3, 5, 5, 256, 3);
    return check_summary("test_sample");
}

/* test_compress.c -- lossless coding with a model (compress.c):
 *  - the exact products (lib/cpu/gemm_exact.c) agree with OpenBLAS to float rounding, for
 *    every transpose, and give the same bits on 1 and 2 threads;
 *  - round trips give back every level, for gray, RGB, 4-level, class-conditional,
 *    vector-conditional, spatially conditioned and autoencoder models;
 *  - coding on 2 threads and decoding on 1 (and the reverse) agree, and the bytes coded
 *    do not depend on the thread count;
 *  - the coded size is within 1% + 8 bytes of the model's own NLL of the images;
 *  - truncated or corrupted data, another h, or another model's weights fail, and do not
 *    read past the data's end;
 *  - the model hash names the weights: a model saved and loaded keeps it, one changed
 *    weight changes it. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model-impl.h"

static pcnn_backend *cpu;

static void test_exact_gemm(void)
{
    uint64_t rng = 5;
    const int M = 37, N = 29, K = 71; /* K: two blocks of lanes and a tail */
    real *A = malloc(sizeof(real) * M * K), *Bm = malloc(sizeof(real) * K * N);
    real *C0 = malloc(sizeof(real) * M * N), *C1 = malloc(sizeof(real) * M * N), *C2 = malloc(sizeof(real) * M * N);
    for (int i = 0; i < M * K; i++) A[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
    for (int i = 0; i < K * N; i++) Bm[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int lda = ta ? M : K, ldb = tb ? K : N;
            for (int i = 0; i < M * N; i++) C0[i] = C1[i] = C2[i] = (real)i / (M * N);
            cpu->exact = 0;
            be_gemm(cpu, ta, tb, M, N, K, 0.5f, A, lda, Bm, ldb, 1, C0, N);
            cpu->exact = 1;
            omp_set_num_threads(1);
            be_gemm(cpu, ta, tb, M, N, K, 0.5f, A, lda, Bm, ldb, 1, C1, N);
            omp_set_num_threads(2);
            be_gemm(cpu, ta, tb, M, N, K, 0.5f, A, lda, Bm, ldb, 1, C2, N);
            cpu->exact = 0;
            double worst = 0;
            for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(C0[i] - C1[i]));
            CHECK(worst < 1e-5, "ta=%d tb=%d: exact product off OpenBLAS's by %g", ta, tb, worst);
            CHECK(memcmp(C1, C2, sizeof(real) * M * N) == 0, "ta=%d tb=%d: exact product differs on 1 and 2 threads", ta, tb);
        }
    free(A), free(Bm), free(C0), free(C1), free(C2);
}

/* a model whose weights are moved away from their initial values, so that its
 * distributions are far from uniform and differ from pixel to pixel */
static pcnn_model *model(pcnn_hparams hp, uint64_t seed)
{
    pcnn_model *m = pcnn_model_new(cpu, &hp, seed);
    uint64_t rng = seed;
    for (size_t i = 0; i < m->total; i++)
        if (m->mask[i]) m->w[i] += (real)(0.6 * (pcnn_rng_uniform(&rng) - 0.5));
    /* and peaked: large output weights and a prior over the levels */
    const size_t CK = (size_t)hp.C * hp.K;
    for (size_t i = 0; i < CK * hp.p; i++) m->w[m->out2_w + i] *= 8;
    for (size_t i = 0; i < CK; i++) m->w[m->out2_b + i] += (real)(8 * (pcnn_rng_uniform(&rng) - 0.5));
    return m;
}

static void round_trip(const char *what, pcnn_hparams hp)
{
    const int B = 3;
    pcnn_model *m = model(hp, 17);
    const size_t n = (size_t)B * hp.C * hp.H * hp.W;
    uint8_t *x = malloc(n), *y = malloc(n), *z = malloc(n), *coded = NULL, *coded2 = NULL;
    float *h = hp.D ? calloc((size_t)B * hp.D, sizeof *h) : NULL, *h2 = hp.D ? malloc((size_t)B * hp.D * sizeof *h2) : NULL;
    uint64_t rng = 9;
    for (int b = 0; b < B && hp.D; b++)
        for (int d = 0; d < hp.D; d++)
            h[b * hp.D + d] = hp.classes ? (d == b % hp.classes) : (float)(pcnn_rng_uniform(&rng) - 0.5);
    /* the images: the model's own draws, so that they are typical of it and the NLL is
     * what a coder can reach (a value the model gives less than 2^-16 costs 16 bits, not
     * its NLL) */
    pcnn_sample_opts o;
    pcnn_sample_opts_default(&o);
    CHECK(pcnn_model_sample(m, x, h, B, &o) == 0, "%s: sample: %s", what, pcnn_errstr());
    if (hp.encoder) CHECK(pcnn_model_encode(m, h, x, B) == 0, "%s: encode: %s", what, pcnn_errstr());

    size_t len = 0, len2 = 0;
    omp_set_num_threads(2);
    CHECK(pcnn_model_compress(m, &coded, &len, x, h, B) == 0, "%s: compress: %s", what, pcnn_errstr());
    omp_set_num_threads(1);
    CHECK(pcnn_model_compress(m, &coded2, &len2, x, h, B) == 0, "%s: compress: %s", what, pcnn_errstr());
    CHECK(len == len2 && coded && coded2 && !memcmp(coded, coded2, len), "%s: 1 and 2 threads code differently", what);
    memset(y, 0xAA, n);
    CHECK(pcnn_model_decompress(m, y, h, B, coded, len) == 0, "%s: decompress: %s", what, pcnn_errstr());
    CHECK(memcmp(x, y, n) == 0, "%s: coded on 2 threads, decoded on 1: the images differ", what);
    omp_set_num_threads(2);
    memset(y, 0xAA, n);
    CHECK(pcnn_model_decompress(m, y, h, B, coded2, len2) == 0 && !memcmp(x, y, n),
          "%s: coded on 1 thread, decoded on 2: %s", what, pcnn_errstr());

    /* the size against the model's own likelihood: the cost of 16-bit frequencies and
     * of the final state only */
    float nll[8];
    CHECK(pcnn_model_nll(m, nll, x, hp.encoder ? NULL : h, B) == 0 || hp.encoder, "%s: nll: %s", what, pcnn_errstr());
    if (hp.encoder) pcnn_model_nll(m, nll, x, h, B); /* decoding h, as the coder does */
    double bits = 0;
    for (int b = 0; b < B; b++) bits += nll[b] / log(2);
    printf("%s: %zu bytes coded, the model's NLL %.1f bytes (%.3f bits/dim); %zu bytes raw\n", what, len,
           bits / 8, bits / n, n);
    CHECK(len * 8 <= bits * 1.01 + 64, "%s: %zu bytes for an NLL of %.1f bytes", what, len, bits / 8);
    CHECK(len * 8 >= bits * 0.99 - 64, "%s: %zu bytes beat the NLL of %.1f bytes: a mismatch", what, len, bits / 8);

    /* truncated: every shorter length fails (and ASan watches the reads) */
    int silent = 0;
    for (size_t cut = 0; cut < len; cut += 1 + len / 40) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, coded, cut);
        silent += pcnn_model_decompress(m, z, h, B, t, cut) == 0;
        free(t);
    }
    CHECK(silent == 0, "%s: %d truncations decoded without an error", what, silent);
    /* corrupted: a flipped bit anywhere */
    silent = 0;
    for (size_t at = 0; at < len; at += 1 + len / 40) {
        coded[at] ^= (uint8_t)(1u << (at % 8));
        silent += pcnn_model_decompress(m, z, h, B, coded, len) == 0;
        coded[at] ^= (uint8_t)(1u << (at % 8));
    }
    CHECK(silent == 0, "%s: %d corruptions decoded without an error", what, silent);
    /* another conditioning or other weights: an error or other images, never silence
     * with the right ones (the container's hash is what names the model) */
    if (hp.D) {
        memcpy(h2, h, (size_t)B * hp.D * sizeof *h2);
        for (int b = 0; b < B; b++) h2[b * hp.D] = hp.classes ? !h2[b * hp.D] : h2[b * hp.D] + 0.5f;
        if (hp.classes) h2[1] = 1 - h2[1];
        CHECK(pcnn_model_decompress(m, z, h2, B, coded, len) != 0 || memcmp(x, z, n),
              "%s: another h decoded the same images", what);
    }
    pcnn_model *other = model(hp, 18);
    CHECK(pcnn_model_decompress(other, z, h, B, coded, len) != 0, "%s: another model decoded without an error", what);
    pcnn_model_free(other);
    free(x), free(y), free(z), free(coded), free(coded2), free(h), free(h2);
    pcnn_model_free(m);
}

static void test_hash(void)
{
    pcnn_hparams hp = {.L = 2, .p = 6, .n = 3, .C = 1, .H = 5, .W = 6, .K = 16, .q = 3};
    pcnn_model *m = model(hp, 4), *m2 = model(hp, 4);
    uint8_t a[16], b[16], c[16];
    CHECK(pcnn_model_hash(m, a) == 0 && pcnn_model_hash(m2, b) == 0, "%s", pcnn_errstr());
    CHECK(!memcmp(a, b, 16), "one model made twice hashes differently");
    char path[] = "/tmp/test_compress.XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(pcnn_model_save(m, path) == 0, "save: %s", pcnn_errstr());
    pcnn_model *l = pcnn_model_load(cpu, path);
    CHECK(l && pcnn_model_hash(l, c) == 0 && !memcmp(a, c, 16), "a saved and loaded model hashes differently");
    unlink(path);
    for (size_t i = 0; i < m->total; i++)
        if (m->mask[i]) {
            m->w[i] = nextafterf(m->w[i], 1.0f);
            break;
        }
    CHECK(pcnn_model_hash(m, c) == 0 && memcmp(a, c, 16), "one weight changed by one ulp keeps the hash");
    pcnn_model_free(m), pcnn_model_free(m2), pcnn_model_free(l);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    test_exact_gemm();
    const pcnn_hparams base = {.L = 3, .p = 12, .n = 3, .C = 1, .H = 7, .W = 8, .K = 256, .q = 4};
    pcnn_hparams hp = base;
    round_trip("gray", hp);
    hp.C = 3;
    round_trip("RGB", hp);
    hp = base, hp.K = 4, hp.n = 5;
    round_trip("4 levels", hp);
    hp = base, hp.D = hp.classes = 3;
    round_trip("class-conditional", hp);
    hp = base, hp.D = 5;
    round_trip("vector-conditional", hp);
    hp = base, hp.D = 5, hp.S = 2, hp.H = 8;
    round_trip("spatial m(h)", hp);
    hp = base, hp.D = 4, hp.encoder = 1, hp.H = 8;
    round_trip("autoencoder", hp);
    test_hash();
    pcnn_backend_close(cpu);
    return check_summary("test_compress");
}

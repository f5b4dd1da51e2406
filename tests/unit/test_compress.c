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
 *    weight changes it;
 *  - the container (lib/io/coded.c): what is written reads back; half precision rounds
 *    as the compiler's _Float16 does; a header with a field out of range, a bad checksum,
 *    a lying length or a short file is refused without a large allocation. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include <zlib.h>

#include "model-impl.h"

static pcnn_backend *cpu;

/* the exact product is the documented order to the bit (gemm_exact.c): a scalar sum per
 * element, k ascending from 0, then alpha and beta; on 1 and 2 threads, for every
 * transpose, with rows past a multiple of 4 and of its 64-row chunks, columns past a
 * multiple of its 16-column panels, and C's rows wider than N */
static void test_exact_gemm(void)
{
    uint64_t rng = 5;
    const int M = 137, N = 37, K = 71, ldc = N + 3;
    real *A = malloc(sizeof(real) * M * K), *Bm = malloc(sizeof(real) * K * N), *want = malloc(sizeof(real) * M * ldc);
    real *C0 = malloc(sizeof(real) * M * ldc), *C1 = malloc(sizeof(real) * M * ldc), *C2 = malloc(sizeof(real) * M * ldc);
    for (int i = 0; i < M * K; i++) A[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
    for (int i = 0; i < K * N; i++) Bm[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            const int lda = ta ? M : K, ldb = tb ? K : N;
            for (int i = 0; i < M * ldc; i++) C0[i] = C1[i] = C2[i] = want[i] = (real)i / (M * N);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    real acc = 0;
                    for (int k = 0; k < K; k++)
                        acc += (ta ? A[k * lda + m] : A[m * lda + k]) * (tb ? Bm[n * ldb + k] : Bm[k * ldb + n]);
                    const real d = 0.5f * acc;
                    want[m * ldc + n] = d + 1 * want[m * ldc + n];
                }
            cpu->exact = 0;
            be_gemm(cpu, ta, tb, M, N, K, 0.5f, A, lda, Bm, ldb, 1, C0, ldc);
            cpu->exact = 1;
            omp_set_num_threads(1);
            be_gemm(cpu, ta, tb, M, N, K, 0.5f, A, lda, Bm, ldb, 1, C1, ldc);
            omp_set_num_threads(2);
            be_gemm(cpu, ta, tb, M, N, K, 0.5f, A, lda, Bm, ldb, 1, C2, ldc);
            cpu->exact = 0;
            double worst = 0;
            for (int i = 0; i < M * ldc; i++) worst = fmax(worst, fabs(C0[i] - C1[i]));
            CHECK(worst < 1e-5, "ta=%d tb=%d: exact product off OpenBLAS's by %g", ta, tb, worst);
            CHECK(memcmp(C1, want, sizeof(real) * M * ldc) == 0, "ta=%d tb=%d: exact product is not the documented order", ta, tb);
            CHECK(memcmp(C1, C2, sizeof(real) * M * ldc) == 0, "ta=%d tb=%d: exact product differs on 1 and 2 threads", ta, tb);
        }
    free(A), free(Bm), free(want), free(C0), free(C1), free(C2);
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
    /* given h, an autoencoder decodes it, as the coder does */
    CHECK(pcnn_model_nll(m, nll, x, h, B) == 0, "%s: nll: %s", what, pcnn_errstr());
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
    /* a level the model lacks (K itself) is refused before coding: its frequency would be
     * read past the K the model gives */
    if (hp.K < 256) {
        uint8_t *bad = NULL, keep = x[n - 1];
        size_t blen = 0;
        x[n - 1] = (uint8_t)hp.K;
        CHECK(pcnn_model_compress(m, &bad, &blen, x, h, B) == -1 && strstr(pcnn_errstr(), "is not below"),
              "%s: level %d of %d levels coded: %s", what, hp.K, hp.K, pcnn_errstr());
        x[n - 1] = keep;
        free(bad);
    }
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

static void test_half(void)
{
    const float edge[] = {0, -0.0f, 1, -1, 65504, 65519.99f, 65520, 1e9f, 0x1p-14f, 0x1p-24f, 0x1p-25f,
                          0x1.8p-25f, 0x1p-26f, 3.14159f, -2.71828f, 1e-7f, 6.1e-5f, 0.1f};
    uint64_t rng = 21;
    int wrong = 0, moved = 0;
    for (int i = 0; i < 200000; i++) {
        float x = i < (int)(sizeof edge / sizeof *edge) ? edge[i] : (float)((pcnn_rng_uniform(&rng) - 0.5) * pow(2, (double)(pcnn_rng_next(&rng) % 50) - 30));
        float y = pcnn_coded_half(x);
        moved += pcnn_coded_half(y) != y;
#ifdef __FLT16_MAX__
        float want = (float)(_Float16)x;
        if (memcmp(&want, &y, 4)) {
            if (wrong++ < 3) fprintf(stderr, "half of %a: %a, the compiler's %a\n", x, y, want);
        }
#else
        (void)wrong;
#endif
    }
    CHECK(wrong == 0, "%d values round to half precision otherwise than _Float16", wrong);
    CHECK(moved == 0, "%d half values move when rounded again", moved);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* reads path's header and first batch (of n images): 0 when both read */
static int read_back(const char *path, pcnn_coded_header *h, int n, pcnn_coded_batch *b)
{
    FILE *f = fopen(path, "rb");
    int rc = pcnn_coded_read_header(f, path, h) == 1 && pcnn_coded_read_batch(f, path, h, n, b) == 0 ? 0 : -1;
    fclose(f);
    return rc;
}

static void test_container(void)
{
    char path[] = "/tmp/test_coded.XXXXXX";
    close(mkstemp(path));
    pcnn_coded_header h = {.n = 3, .C = 1, .H = 4, .W = 5, .K = 16, .maxval = 255, .cond = PCNN_CODED_CODE, .D = 2, .batch = 2};
    memset(h.hash, 7, 16);
    float code[4] = {0.1f, -3.3f, 1e-6f, 70000}, code2[2] = {5, 6};
    uint8_t s1[5] = {1, 2, 3, 4, 5}, s2[3] = {9, 8, 7};
    pcnn_coded_batch b[2] = {{2, NULL, code, s1, 5, 0xdeadbeef}, {1, NULL, code2, s2, 3, 42}};
    CHECK(pcnn_coded_write_file(path, &h, b, 2) == 0, "write: %s", pcnn_errstr());
    pcnn_coded_header r;
    pcnn_coded_batch rb;
    CHECK(read_back(path, &r, 2, &rb) == 0, "read: %s", pcnn_errstr());
    CHECK(!memcmp(r.hash, h.hash, 16) && r.n == 3 && r.C == 1 && r.H == 4 && r.W == 5 && r.K == 16 && r.maxval == 255 &&
          r.cond == PCNN_CODED_CODE && r.D == 2 && r.batch == 2, "the header read back differs");
    int same = rb.n == 2 && rb.len == 5 && !memcmp(rb.data, s1, 5) && rb.crc == 0xdeadbeef;
    for (int k = 0; k < 4; k++) same &= rb.h[k] == pcnn_coded_half(code[k]);
    CHECK(same, "the batch read back differs (codes in half precision)");
    CHECK(isinf(rb.h[3]), "70000 is beyond half precision: infinity, which coding then refuses");
    pcnn_coded_batch_free(&rb);

    /* the file's bytes, edited */
    FILE *f = fopen(path, "rb");
    uint8_t good[256];
    size_t len = fread(good, 1, sizeof good, f);
    fclose(f);
    struct { size_t at; uint32_t v; int bytes; const char *what; } bad[] = {
        {8, 1, 2, "version"}, {8, 3, 2, "version"}, {32, 2, 2, "2 channels"}, {38, 1, 2, "1 level"}, {40, 200, 2, "maxval not on the levels"},
        {42, 4, 1, "conditioning kind"}, {44, 1u << 30, 4, "a huge D"}, {48, 0, 2, "batch 0"}, {50, 1, 2, "reserved"},
        {28, 0, 4, "no image"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint8_t e[256];
        memcpy(e, good, len);
        for (int k = 0; k < bad[i].bytes; k++) e[bad[i].at + k] = (uint8_t)(bad[i].v >> (8 * k));
        /* the checksum made right, so that the field itself is what is refused */
        uLong c = crc32(crc32(0, Z_NULL, 0), e, 52);
        put32le(e + 52, (uint32_t)c);
        f = fopen(path, "wb");
        fwrite(e, 1, len, f);
        fclose(f);
        CHECK(read_back(path, &r, 2, &rb) != 0 && strstr(pcnn_errstr(), path), "%s: accepted", bad[i].what);
    }
    /* a wrong checksum; a stream length that lies (4 GB, 17 bytes in the file) */
    uint8_t e[256];
    memcpy(e, good, len);
    e[20] ^= 1;
    f = fopen(path, "wb"), fwrite(e, 1, len, f), fclose(f);
    CHECK(read_back(path, &r, 2, &rb) != 0 && strstr(pcnn_errstr(), "checksum"), "a bad checksum accepted: %s", pcnn_errstr());
    memcpy(e, good, len);
    put32le(e + 56 + 8, 0xffffffffu); /* after two codes of 2 halves each */
    f = fopen(path, "wb"), fwrite(e, 1, len, f), fclose(f);
    CHECK(read_back(path, &r, 2, &rb) != 0, "a 4 GB stream in a small file accepted");
    h.C = 3, h.H = h.W = 8192 / 2, h.batch = PCNN_CODED_MAX_BATCH; /* so that the bound itself is large */
    pcnn_coded_header big = h;
    big.cond = PCNN_CODED_NONE, big.D = 0;
    b[0].n = 1, b[0].len = 5;
    CHECK(pcnn_coded_write_file(path, &big, b, 1) == 0, "%s", pcnn_errstr());
    f = fopen(path, "r+b");
    fseek(f, 56, SEEK_SET);
    uint8_t huge[4];
    put32le(huge, 3000000000u); /* within 2 bytes per value of 64 images of 3x4096x4096, not in the file */
    fwrite(huge, 1, 4, f);
    fclose(f);
    CHECK(read_back(path, &r, PCNN_CODED_MAX_BATCH, &rb) != 0 && strstr(pcnn_errstr(), "truncated"), "a lying length: %s", pcnn_errstr());
    unlink(path);
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
    test_half();
    test_container();
    pcnn_backend_close(cpu);
    return check_summary("test_compress");
}

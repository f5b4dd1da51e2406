/* bench.c -- speed figures of the CPU backend (not a test): `make bench` runs it.
 *   bench gemm             single-precision GEMM rate of this machine (GFLOP/s), the
 *                          faster of OpenBLAS's and oneDNN's
 *   bench train CONFIG [STEPS [train|nll]]
 *                          training and NLL images/s over STEPS timed steps (default 3)
 *                          after one untimed one, GFLOP/s achieved; train or nll alone
 *   bench sample CONFIG    sampling seconds per image: cached at batch 16 and 1 (after an
 *                          untimed draw, and the first draws), naive;
 *                          one forward pass's time per image at the same batches, and
 *                          the targets (#13)
 * CONFIG: fashion (1x28x28, L=15, p=64, n=5, batch 64) or cifar (3x32x32, L=15, p=126,
 * batch 32; p = 126 rather than 128 because RGB masks split the maps into three equal
 * groups); tiny (3x8x8, L=2, p=12, batch 8) tries the scripts out in seconds. Random
 * images and weights. */
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pcnn.h"

static pcnn_backend *device; /* PCNN_DEVICE, the CPU by default */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the configuration called name; *target: the bound on cached sampling at batch
 * 1, seconds per image (0: none) */
static int config(const char *name, pcnn_hparams *hp, int *batch, double *target)
{
    if (!strcmp(name, "fashion")) {
        *hp = (pcnn_hparams){.L = 15, .p = 64, .n = 5, .C = 1, .H = 28, .W = 28, .K = 256};
        *batch = 64, *target = 0.16;
    } else if (!strcmp(name, "cifar")) {
        *hp = (pcnn_hparams){.L = 15, .p = 126, .n = 5, .C = 3, .H = 32, .W = 32, .K = 256};
        *batch = 32, *target = 0.8;
    } else if (!strcmp(name, "tiny")) {
        *hp = (pcnn_hparams){.L = 2, .p = 12, .n = 5, .C = 3, .H = 8, .W = 8, .K = 256};
        *batch = 8, *target = 0;
    } else {
        fprintf(stderr, "bench: unknown configuration '%s'\n", name);
        return -1;
    }
    return 0;
}

/* the fastest of 20 calls of C = A B (N x N, after one untimed call), seconds: the
 * machine's rate, as little as may be of another job's; onednn: oneDNN's sgemm, else
 * OpenBLAS's */
static double fastest_sgemm(int onednn, int N, const float *a, const float *b, float *c)
{
    double best = 1e30;
    for (int r = 0; r < 21; r++) {
        double t0 = now();
        if (onednn)
            dnnl_sgemm('N', 'N', N, N, N, 1, a, N, b, N, 0, c, N);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
        double t = now() - t0;
        if (r && t < best) best = t;
    }
    return best;
}

/* The machine's sgemm rate: the faster of OpenBLAS's and oneDNN's. Either alone can
 * miss it: OpenBLAS 0.3.21 takes a CPU it does not know (the family-6 model-207 Xeon)
 * for a Prescott and runs its SSE3 kernel there, a quarter of the AVX-512 rate. */
static void bench_gemm(void)
{
    const int N = 1536;
    float *a = calloc((size_t)N * N, sizeof *a), *b = calloc((size_t)N * N, sizeof *b),
          *c = calloc((size_t)N * N, sizeof *c);
    for (size_t i = 0; i < (size_t)N * N; i++) a[i] = b[i] = 1e-3f * (i % 7);
    const double flop = 2.0 * N * N * N, blas = flop / fastest_sgemm(0, N, a, b, c) / 1e9,
                 dnnl = flop / fastest_sgemm(1, N, a, b, c) / 1e9;
    printf("gemm %.1f GFLOP/s (sgemm %dx%dx%d, the faster of OpenBLAS's, core %s, %.1f, and oneDNN's %.1f; "
           "fastest of 20 each)\n",
           blas > dnnl ? blas : dnnl, N, N, N, openblas_get_corename(), blas, dnnl);
    free(a), free(b), free(c);
}

static pcnn_model *new_model(const pcnn_hparams *hp)
{
    pcnn_model *m = pcnn_model_new(device, hp, 1);
    if (!m) {
        fprintf(stderr, "bench: %s\n", pcnn_errstr());
        exit(1);
    }
    return m;
}

/* what: 't' training, 'n' NLL, 'b' both; each over steps timed calls after an untimed one */
static void bench_train(const char *name, pcnn_hparams hp, int batch, int steps, char what)
{
    pcnn_model *m = new_model(&hp);
    size_t sz = (size_t)hp.C * hp.H * hp.W;
    uint8_t *x = malloc(batch * sz);
    srand(1);
    for (size_t i = 0; i < batch * sz; i++) x[i] = (uint8_t)(rand() % hp.K);
    float bpd, *nll = malloc(batch * sizeof *nll);
    double f = pcnn_model_flops(m), train = 0, eval = 0;
    printf("ours %s", name);
    if (what != 'n') {
        pcnn_train_opts o;
        pcnn_train_opts_default(&o);
        o.batch = batch;
        pcnn_trainer *t = pcnn_trainer_new(m, &o);
        pcnn_trainer_step(t, x, NULL, batch, &bpd); /* warm-up: allocations */
        double t0 = now();
        for (int s = 0; s < steps; s++) pcnn_trainer_step(t, x, NULL, batch, &bpd);
        train = steps * batch / (now() - t0);
        pcnn_trainer_free(t);
        printf(" train %.3f img/s", train);
    }
    if (what != 't') {
        pcnn_model_nll(m, nll, x, NULL, batch);
        double t0 = now();
        for (int s = 0; s < steps; s++) pcnn_model_nll(m, nll, x, NULL, batch);
        eval = steps * batch / (now() - t0);
        printf(" nll %.3f img/s", eval);
    }
    /* a training step counted as 3 forward passes */
    printf(" (%.4f GFLOP/image forward;", f / 1e9);
    if (train > 0) printf(" train %.1f GFLOP/s", 3 * f * train / 1e9);
    if (eval > 0) printf(" nll %.1f GFLOP/s", f * eval / 1e9);
    printf(")\n");
    free(x), free(nll);
    pcnn_model_free(m);
}

static double time_sample(pcnn_model *m, int B, int naive)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    uint8_t *x = malloc((size_t)B * hp->C * hp->H * hp->W);
    double t0 = now();
    pcnn_sample_opts o;
    pcnn_sample_opts_default(&o);
    o.naive = naive;
    pcnn_model_sample(m, x, NULL, B, &o);
    double s = now() - t0;
    free(x);
    return s;
}

/* seconds per image of one forward pass (pcnn_model_nll) at batch B: the mean of reps
 * calls after an untimed one */
static double time_forward(pcnn_model *m, int B, int reps)
{
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    size_t sz = (size_t)B * hp->C * hp->H * hp->W;
    uint8_t *x = malloc(sz);
    float *nll = malloc(B * sizeof *nll);
    srand(2);
    for (size_t i = 0; i < sz; i++) x[i] = (uint8_t)(rand() % hp->K);
    pcnn_model_nll(m, nll, x, NULL, B);
    double t0 = now();
    for (int r = 0; r < reps; r++) pcnn_model_nll(m, nll, x, NULL, B);
    double s = (now() - t0) / reps / B;
    free(x), free(nll);
    return s;
}

static const char *met(int yes) { return yes ? "met" : "not met"; }

static void bench_sample(const char *name, pcnn_hparams hp, double target)
{
    pcnn_model *m = new_model(&hp);
    /* each after an untimed draw of as many images, as training and the forward pass are
     * timed after an untimed step; the first draws' figures (the first of all on a fresh
     * model) are printed too: what one program drawing one batch waits */
    const double first16 = time_sample(m, 16, 0) / 16, c16 = time_sample(m, 16, 0) / 16;
    const double first1 = time_sample(m, 1, 0), c1 = time_sample(m, 1, 0);
    /* naive: the first rows at batch 16, scaled by the pass cost (rows 0..i cost ∝ i+1) */
    pcnn_hparams top = hp;
    top.H = 2;
    pcnn_model *mt = new_model(&top);
    double nv = time_sample(mt, 16, 1) / 16 * ((double)hp.H * (hp.H + 1)) / (2.0 * 3.0);
    printf("ours %s sampling cached %.3f s/image (batch 16) %.3f s/image (batch 1), each after an untimed "
           "draw (the first draws: %.3f, %.3f); naive %.1f s/image (batch 16, from its first 2 rows); "
           "cached/naive speed-up %.0fx\n",
           name, c16, c1, first16, first1, nv, nv / c16);
    /* the bounds (#13): cached sampling within 2x of a forward pass at batch 16
     * and 4x at batch 1, and an absolute one at batch 1 */
    double f16 = time_forward(m, 16, 2), f1 = time_forward(m, 1, 5);
    printf("ours %s forward %.4f s/image (batch 16) %.4f s/image (batch 1); cached sampling / "
           "forward: %.1fx at batch 16 (target <= 2x: %s), %.1fx at batch 1 (target <= 4x: %s)",
           name, f16, f1, c16 / f16, met(c16 <= 2 * f16), c1 / f1, met(c1 <= 4 * f1));
    if (target > 0)
        printf("; batch 1 %.3f s/image (target <= %.2f: %s)", c1, target, met(c1 <= target));
    printf("\n");
    pcnn_model_free(mt);
    pcnn_model_free(m);
}

/* a count of 1..1000 from s, or -1 */
static int count(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    return *s && !*end && v >= 1 && v <= 1000 ? (int)v : -1;
}

int main(int argc, char **argv)
{
    pcnn_hparams hp;
    int batch = 0, steps = 3, gemm = argc == 2 && !strcmp(argv[1], "gemm");
    double target = 0;
    char what = 'b';
    if (argc >= 3 && !strcmp(argv[1], "train") && argc <= 5) {
        if (argc > 3 && (steps = count(argv[3])) < 0) {
            fprintf(stderr, "bench: STEPS must be 1 to 1000, not '%s'\n", argv[3]);
            return 2;
        }
        if (argc > 4) what = !strcmp(argv[4], "train") ? 't' : !strcmp(argv[4], "nll") ? 'n' : 0;
    } else if (!gemm && !(argc == 3 && !strcmp(argv[1], "sample"))) {
        what = 0;
    }
    if (!what) {
        fprintf(stderr, "usage: bench gemm | train CONFIG [STEPS [train|nll]] | sample CONFIG\n");
        return 2;
    }
    if (!gemm && config(argv[2], &hp, &batch, &target)) return 2;
    const char *dev = getenv("PCNN_DEVICE") ? getenv("PCNN_DEVICE") : "cpu";
#ifdef TEST_CUDA_LIB
    setenv("PCNN_CUDA_LIB", TEST_CUDA_LIB, 0); /* built in the directory above this one */
#endif
    device = pcnn_backend_open(dev);
    if (!device || (!strcmp(dev, "cuda") && strcmp(pcnn_backend_name(device), "cuda"))) {
        fprintf(stderr, "bench: device %s not usable: %s\n", dev, device ? pcnn_backend_describe(device) : pcnn_errstr());
        return 1;
    }
    if (!strcmp(argv[1], "gemm")) bench_gemm();
    else if (!strcmp(argv[1], "train")) bench_train(argv[2], hp, batch, steps, what);
    else bench_sample(argv[2], hp, target);
    pcnn_backend_close(device);
    return 0;
}

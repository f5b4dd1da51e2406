/* bench.c -- speed figures of the CPU backend (not a test): `make bench` runs it.
 *   bench gemm             single-precision GEMM rate of this machine (GFLOP/s)
 *   bench train CONFIG     training and NLL images/s, GFLOP/s achieved
 *   bench sample CONFIG    sampling seconds per image: cached at batch 16 and 1, naive
 * CONFIG: fashion (1x28x28, L=15, p=64, n=5, batch 64) or cifar (3x32x32, L=15, p=126,
 * batch 32; p = 126 rather than 128 because RGB masks split the maps into three equal
 * groups). Random images and weights. */
#include <cblas.h>
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

static int config(const char *name, pcnn_hparams *hp, int *batch)
{
    if (!strcmp(name, "fashion")) {
        *hp = (pcnn_hparams){.L = 15, .p = 64, .n = 5, .C = 1, .H = 28, .W = 28, .K = 256};
        *batch = 64;
    } else if (!strcmp(name, "cifar")) {
        *hp = (pcnn_hparams){.L = 15, .p = 126, .n = 5, .C = 3, .H = 32, .W = 32, .K = 256};
        *batch = 32;
    } else {
        fprintf(stderr, "bench: unknown configuration '%s'\n", name);
        return -1;
    }
    return 0;
}

static void bench_gemm(void)
{
    const int N = 1536;
    float *a = calloc((size_t)N * N, sizeof *a), *b = calloc((size_t)N * N, sizeof *b),
          *c = calloc((size_t)N * N, sizeof *c);
    for (size_t i = 0; i < (size_t)N * N; i++) a[i] = b[i] = 1e-3f * (i % 7);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
    double t0 = now();
    int reps = 5;
    for (int r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
    double gflops = 2.0 * N * N * N * reps / (now() - t0) / 1e9;
    printf("gemm %.1f GFLOP/s (sgemm %dx%dx%d, OpenBLAS core %s)\n", gflops, N, N, N,
           openblas_get_corename());
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

static void bench_train(const char *name, pcnn_hparams hp, int batch)
{
    pcnn_model *m = new_model(&hp);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = batch;
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    size_t sz = (size_t)hp.C * hp.H * hp.W;
    uint8_t *x = malloc(batch * sz);
    srand(1);
    for (size_t i = 0; i < batch * sz; i++) x[i] = (uint8_t)(rand() % hp.K);
    float bpd, *nll = malloc(batch * sizeof *nll);
    pcnn_trainer_step(t, x, NULL, batch, &bpd); /* warm-up: allocations */
    int steps = 3;
    double t0 = now();
    for (int s = 0; s < steps; s++) pcnn_trainer_step(t, x, NULL, batch, &bpd);
    double train = steps * batch / (now() - t0);
    pcnn_model_nll(m, nll, x, NULL, batch);
    t0 = now();
    for (int s = 0; s < steps; s++) pcnn_model_nll(m, nll, x, NULL, batch);
    double eval = steps * batch / (now() - t0);
    double f = pcnn_model_flops(m);
    printf("ours %s train %.2f img/s nll %.2f img/s (%.2f GFLOP/image forward; %.1f and %.1f GFLOP/s)\n",
           name, train, eval, f / 1e9, 3 * f * train / 1e9, f * eval / 1e9);
    free(x), free(nll);
    pcnn_trainer_free(t);
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

static void bench_sample(const char *name, pcnn_hparams hp)
{
    pcnn_model *m = new_model(&hp);
    double c16 = time_sample(m, 16, 0) / 16, c1 = time_sample(m, 1, 0);
    /* naive: the first rows at batch 16, scaled by the pass cost (rows 0..i cost ∝ i+1) */
    pcnn_hparams top = hp;
    top.H = 2;
    pcnn_model *mt = new_model(&top);
    double nv = time_sample(mt, 16, 1) / 16 * ((double)hp.H * (hp.H + 1)) / (2.0 * 3.0);
    printf("ours %s sampling cached %.3f s/image (batch 16) %.3f s/image (batch 1); "
           "naive %.1f s/image (batch 16, from its first 2 rows); cached/naive speed-up %.0fx\n",
           name, c16, c1, nv, nv / c16);
    pcnn_model_free(mt);
    pcnn_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench gemm | train CONFIG | sample CONFIG\n");
        return 2;
    }
    pcnn_hparams hp;
    int batch;
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
    else if (argc == 3 && !strcmp(argv[1], "train") && !config(argv[2], &hp, &batch)) bench_train(argv[2], hp, batch);
    else if (argc == 3 && !strcmp(argv[1], "sample") && !config(argv[2], &hp, &batch)) bench_sample(argv[2], hp);
    else return 2;
    pcnn_backend_close(device);
    return 0;
}

/* test_cuda.c -- every CUDA kernel against its CPU twin, then a whole training step and a
 * short training run on the GPU. Outputs are poisoned with NaN before each run, so an
 * element a kernel fails to write fails the comparison. Skips, saying so, without a GPU
 * or without the CUDA backend in this build. `make gpu-check` runs it at the sizes of the
 * Fashion-MNIST and CIFAR-like configurations (PCNN_GPU_CHECK_FULL=1).
 * The GPU is opened as the programs open it, pcnn_backend_open("cuda"), so that what is
 * tested is what ships: libpcnn-cuda.so loaded with dlopen, through its one entry and
 * its table. The library is the one built beside this test (TEST_CUDA_LIB, from the
 * Makefile), unless PCNN_CUDA_LIB names another. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

#ifndef PCNN_CUDA
int main(void)
{
    SKIP("this build has no CUDA backend (no nvcc found, or CUDA=0)");
    return check_summary("test_cuda");
}
#else
#include "draw_not_finite.h"

static pcnn_backend *cpu, *gpu;
static uint64_t rng = 77;

static real *host_rand(size_t n)
{
    real *x = malloc(n * sizeof *x + 4);
    for (size_t i = 0; i < n; i++) x[i] = (real)(2 * pcnn_rng_uniform(&rng) - 1);
    return x;
}

static real *dev_copy(const real *h, size_t n)
{
    real *d = be_alloc(gpu, n * sizeof *d + 4);
    be_to_device(gpu, d, h, n * sizeof *d);
    return d;
}

static real *dev_poison(size_t n)
{
    real *h = malloc(n * sizeof *h + 4);
    for (size_t i = 0; i < n; i++) h[i] = NAN;
    real *d = dev_copy(h, n);
    free(h);
    return d;
}

/* ||gpu - cpu|| / ||cpu|| < tol, no NaN */
static void compare(const char *op, const real *want, const real *dev, size_t n, double tol)
{
    real *got = malloc(n * sizeof *got + 4);
    be_to_host(gpu, got, dev, n * sizeof *got);
    double num = 0, den = 0, worst = 0;
    size_t nan = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) != isnan(want[i])) nan++;
        double d = (double)got[i] - want[i];
        num += d * d, den += (double)want[i] * want[i];
        if (fabs(d) > worst) worst = fabs(d);
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    CHECK(nan == 0 && rel < tol, "%s: relative error %.3g, max |diff| %.3g, %zu NaN mismatches", op, rel, worst, nan);
    printf("%-14s rel %.2e  max %.2e\n", op, rel, worst);
    free(got);
}

static void test_ops(void)
{
    const int B = 3, H = 7, W = 6, C = 3, p = 12, K = 16, M = B * H * W;
    /* gemm, all transposes */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int m = 37, n = 29, k = 41;
            real *A = host_rand((size_t)m * k), *Bm = host_rand((size_t)k * n), *Cc = host_rand((size_t)m * n);
            real *dA = dev_copy(A, (size_t)m * k), *dB = dev_copy(Bm, (size_t)k * n), *dC = dev_copy(Cc, (size_t)m * n);
            be_gemm(cpu, ta, tb, m, n, k, 1.5f, A, ta ? m : k, Bm, tb ? k : n, 0.5f, Cc, n);
            be_gemm(gpu, ta, tb, m, n, k, 1.5f, dA, ta ? m : k, dB, tb ? k : n, 0.5f, dC, n);
            char name[32];
            snprintf(name, sizeof name, "gemm %c%c", ta ? 'T' : 'N', tb ? 'T' : 'N');
            compare(name, Cc, dC, (size_t)m * n, 1e-5);
            free(A), free(Bm), free(Cc), be_release(gpu, dA), be_release(gpu, dB), be_release(gpu, dC);
        }
    /* im2col over the whole image and over one pixel; col2im */
    {
        int kh = 3, kw = 5, cin = C;
        size_t nx = (size_t)M * cin, nc = nx * kh * kw;
        real *x = host_rand(nx), *col = malloc(nc * sizeof *col), *dx = dev_copy(x, nx), *dcol = dev_poison(nc);
        be_im2col(cpu, col, x, B, H, W, cin, kh, kw, -3, -2, 0, H, 0, W);
        be_im2col(gpu, dcol, dx, B, H, W, cin, kh, kw, -3, -2, 0, H, 0, W);
        compare("im2col", col, dcol, nc, 1e-7);
        be_im2col(cpu, col, x, B, H, W, cin, 1, 3, 0, -2, 4, 5, 2, 3);
        be_im2col(gpu, dcol, dx, B, H, W, cin, 1, 3, 0, -2, 4, 5, 2, 3);
        compare("im2col pixel", col, dcol, (size_t)B * cin * 3, 1e-7);
        be_im2col_pixels(cpu, col, x, B, H, W, cin, kh, kw, -3, -2, 0, H, 0, W);
        be_im2col_pixels(gpu, dcol, dx, B, H, W, cin, kh, kw, -3, -2, 0, H, 0, W);
        compare("im2col_pixels", col, dcol, nc, 1e-7);
        be_im2col_pixels(cpu, col, x, B, H, W, cin, kh, kw, -2, -2, 3, 4, 1, W);
        be_im2col_pixels(gpu, dcol, dx, B, H, W, cin, kh, kw, -2, -2, 3, 4, 1, W);
        compare("im2col_pixels row", col, dcol, (size_t)B * (W - 1) * cin * kh * kw, 1e-7);
        real *c2 = host_rand(nc), *dc2 = dev_copy(c2, nc);
        be_col2im(cpu, x, c2, B, H, W, cin, kh, kw, -3, -2);
        be_col2im(gpu, dx, dc2, B, H, W, cin, kh, kw, -3, -2);
        compare("col2im", x, dx, nx, 1e-6);
        free(x), free(col), free(c2), be_release(gpu, dx), be_release(gpu, dcol), be_release(gpu, dc2);
    }
    /* strided windows of the small nets: 4x4, stride 2, padding 1, odd size too */
    {
        const pcnn_window ws[2] = {{B, H, W, C, (H + 2 - 4) / 2 + 1, (W + 2 - 4) / 2 + 1, 4, 4, 2, -1, -1},
                                   {B, 7, 7, 5, 3, 3, 4, 4, 2, -1, -1}};
        for (int k = 0; k < 2; k++) {
            const pcnn_window *g = &ws[k];
            size_t nx = (size_t)g->B * g->Hi * g->Wi * g->cin, nc = (size_t)g->B * g->Ho * g->Wo * g->cin * 16;
            real *x = host_rand(nx), *col = malloc(nc * sizeof *col), *dx = dev_copy(x, nx), *dcol = dev_poison(nc);
            be_im2col_strided(cpu, col, x, g);
            be_im2col_strided(gpu, dcol, dx, g);
            compare("im2col_strided", col, dcol, nc, 1e-7);
            real *c2 = host_rand(nc), *dc2 = dev_copy(c2, nc);
            be_col2im_strided(cpu, x, c2, g);
            be_col2im_strided(gpu, dx, dc2, g);
            compare("col2im_strided", x, dx, nx, 1e-6);
            free(x), free(col), free(c2), be_release(gpu, dx), be_release(gpu, dcol), be_release(gpu, dc2);
        }
    }
    /* the three convolution geometries of the stacks, through cuDNN (or its fallback) */
    {
        const pcnn_conv geoms[3] = {{B, H, W, C, 2 * p, 3, 5, -3, -2}, {B, H, W, p, 2 * p, 3, 5, -2, -2},
                                    {B, H, W, p, 2 * p, 1, 3, 0, -2}};
        for (int k = 0; k < 3; k++) {
            const pcnn_conv *g = &geoms[k];
            size_t nx = (size_t)M * g->cin, ny = (size_t)M * g->cout, nw = (size_t)g->cout * g->cin * g->kh * g->kw;
            size_t nws = nx * g->kh * g->kw;
            real *x = host_rand(nx), *w = host_rand(nw), *y = host_rand(ny), *dw = host_rand(nw);
            real *ws = malloc(nws * sizeof *ws), *dws = be_alloc(gpu, nws * sizeof *dws);
            real *gx = dev_copy(x, nx), *gw = dev_copy(w, nw), *gy = dev_copy(y, ny), *gdw = dev_copy(dw, nw);
            char name[48];
            be_conv_fwd(cpu, y, x, w, NULL, g, 0.5f, ws);
            be_conv_fwd(gpu, gy, gx, gw, NULL, g, 0.5f, dws);
            snprintf(name, sizeof name, "conv_fwd %dx%d", g->kh, g->kw);
            compare(name, y, gy, ny, 1e-5);
            /* with a bias: alone (beta 0) and on top (beta 1) */
            real *bias = host_rand(g->cout), *gbias = dev_copy(bias, g->cout);
            for (int k = 0; k < 2; k++) {
                be_conv_fwd(cpu, y, x, w, bias, g, k, ws);
                be_conv_fwd(gpu, gy, gx, gw, gbias, g, k, dws);
                snprintf(name, sizeof name, "conv_fwd %dx%d, bias, beta %d", g->kh, g->kw, k);
                compare(name, y, gy, ny, 1e-5);
            }
            free(bias), be_release(gpu, gbias);
            real *dx = host_rand(nx), *gdx = dev_copy(dx, nx);
            be_conv_bwd(cpu, dx, dw, NULL, y, x, w, g, ws);
            be_conv_bwd(gpu, gdx, gdw, NULL, gy, gx, gw, g, dws);
            snprintf(name, sizeof name, "conv_data %dx%d", g->kh, g->kw);
            compare(name, dx, gdx, nx, 1e-5);
            free(dx), be_release(gpu, gdx);
            snprintf(name, sizeof name, "conv_filter %dx%d", g->kh, g->kw);
            compare(name, dw, gdw, nw, 1e-5);
            real *db = host_rand(g->cout), *gdb = dev_copy(db, g->cout);
            be_conv_bwd(cpu, NULL, dw, db, y, x, w, g, ws);
            be_conv_bwd(gpu, NULL, gdw, gdb, gy, gx, gw, g, dws);
            snprintf(name, sizeof name, "conv_filter alone %dx%d", g->kh, g->kw);
            compare(name, dw, gdw, nw, 1e-5);
            snprintf(name, sizeof name, "conv_bias_grad %dx%d", g->kh, g->kw);
            compare(name, db, gdb, g->cout, 1e-5);
            free(db), be_release(gpu, gdb);
            free(x), free(w), free(y), free(dw), free(ws);
            be_release(gpu, dws), be_release(gpu, gx), be_release(gpu, gw), be_release(gpu, gy), be_release(gpu, gdw);
        }
    }
    /* biases */
    {
        size_t n = (size_t)M * 2 * p;
        real *y = host_rand(n), *v = host_rand((size_t)B * 2 * p), *dy = dev_copy(y, n), *dv = dev_copy(v, (size_t)B * 2 * p);
        be_add_rows(cpu, y, v, B, H * W, 2 * p);
        be_add_rows(gpu, dy, dv, B, H * W, 2 * p);
        compare("add_rows", y, dy, n, 1e-7);
        be_sum_rows(cpu, v, y, B, H * W, 2 * p);
        be_sum_rows(gpu, dv, dy, B, H * W, 2 * p);
        compare("sum_rows", v, dv, (size_t)B * 2 * p, 1e-6);
        /* gate */
        real *g = malloc((size_t)M * p * sizeof *g), *dg = dev_poison((size_t)M * p);
        be_gate_fwd(cpu, g, y, M, p);
        be_gate_fwd(gpu, dg, dy, M, p);
        compare("gate_fwd", g, dg, (size_t)M * p, 1e-5);
        real *da = malloc(n * sizeof *da), *dda = dev_poison(n);
        be_gate_bwd(cpu, da, y, g, M, p);
        be_gate_bwd(gpu, dda, dy, dg, M, p);
        compare("gate_bwd", da, dda, n, 1e-5);
        /* relu, add, mul, copy_rows, sumsq */
        real *r = malloc(n * sizeof *r), *dr = dev_poison(n);
        be_relu_fwd(cpu, r, y, n);
        be_relu_fwd(gpu, dr, dy, n);
        compare("relu_fwd", r, dr, n, 1e-7);
        be_relu_bwd(cpu, r, y, da, n);
        be_relu_bwd(gpu, dr, dy, dda, n);
        compare("relu_bwd", r, dr, n, 1e-7);
        be_add(cpu, r, y, n);
        be_add(gpu, dr, dy, n);
        compare("add", r, dr, n, 1e-7);
        real *mask = host_rand(n), *dmask = dev_copy(mask, n);
        be_mul(cpu, r, mask, n);
        be_mul(gpu, dr, dmask, n);
        compare("mul", r, dr, n, 1e-7);
        be_copy_rows(cpu, r + 3, 2 * p, y, 2 * p, p, M, 0.5f);
        be_copy_rows(gpu, dr + 3, 2 * p, dy, 2 * p, p, M, 0.5f);
        compare("copy_rows", r, dr, n, 1e-7);
        be_copy_rows(cpu, r, 2 * p, v, 0, 2 * p, M, 0);
        be_copy_rows(gpu, dr, 2 * p, dv, 0, 2 * p, M, 0);
        compare("copy_rows bcast", r, dr, n, 1e-7);
        double s1 = be_sumsq(cpu, y, n), s2 = be_sumsq(gpu, dy, n);
        CHECK_CLOSE(s1, s2, 1e-6, "sumsq %g vs %g", s1, s2);
        /* adam */
        real *w = host_rand(n), *m1 = host_rand(n), *v1 = host_rand(n);
        for (size_t i = 0; i < n; i++) v1[i] = fabsf(v1[i]);
        real *dw = dev_copy(w, n), *dm1 = dev_copy(m1, n), *dv1 = dev_copy(v1, n);
        be_adam(cpu, w, m1, v1, y, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 7, 0.5f);
        be_adam(gpu, dw, dm1, dv1, dy, n, 1e-3f, 0.9f, 0.999f, 1e-8f, 7, 0.5f);
        compare("adam w", w, dw, n, 1e-6);
        compare("adam m", m1, dm1, n, 1e-6);
        compare("adam v", v1, dv1, n, 1e-6);
        /* the weights' moving average; dropout, whose mask is a hash both sides compute */
        be_average(cpu, m1, w, n, 0.99f);
        be_average(gpu, dm1, dw, n, 0.99f);
        compare("average", m1, dm1, n, 1e-6);
        be_dropout(cpu, r, n, 0.3f, 12345, 7);
        be_dropout(gpu, dr, n, 0.3f, 12345, 7);
        compare("dropout", r, dr, n, 1e-7);
        free(y), free(v), free(g), free(da), free(r), free(mask), free(w), free(m1), free(v1);
        be_release(gpu, dy), be_release(gpu, dv), be_release(gpu, dg), be_release(gpu, dda), be_release(gpu, dr);
        be_release(gpu, dmask), be_release(gpu, dw), be_release(gpu, dm1), be_release(gpu, dv1);
    }
    /* levels, softmax cross-entropy, sampling */
    {
        size_t npix = (size_t)B * C * H * W, nl = npix * K;
        uint8_t *x = malloc(npix), *dx = be_alloc(gpu, npix);
        for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % K);
        be_to_device(gpu, dx, x, npix);
        real *in = malloc(npix * sizeof *in), *din = dev_poison(npix);
        be_levels_to_input(cpu, in, x, B, C, H, W, K);
        be_levels_to_input(gpu, din, dx, B, C, H, W, K);
        compare("levels", in, din, npix, 1e-7);
        real *z = host_rand(nl), *dz = dev_copy(z, nl), *dl = malloc(nl * sizeof *dl), *ddl = dev_poison(nl);
        real nll[8], *dnll = dev_poison(B);
        be_softmax_xent(cpu, nll, dl, z, x, B, C, H, W, K, 0.25f);
        be_softmax_xent(gpu, dnll, ddl, dz, dx, B, C, H, W, K, 0.25f);
        compare("xent nll", nll, dnll, B, 1e-6);
        compare("xent grad", dl, ddl, nl, 1e-5);
        double u[8], *du = be_alloc(gpu, sizeof u);
        uint8_t d1[8], d2[8], *dd = be_alloc(gpu, 8);
        for (int b = 0; b < B; b++) u[b] = pcnn_rng_uniform(&rng);
        be_to_device(gpu, du, u, sizeof u);
        be_sample(cpu, d1, z, B, K, K * C, 0.7f, 1, u);
        be_sample(gpu, dd, dz, B, K, K * C, 0.7f, 1, du);
        be_to_host(gpu, d2, dd, B);
        CHECK(memcmp(d1, d2, B) == 0, "sample: CPU and CUDA draw differently");
        /* nucleus (top-p) sampling: 1000 rows of 200 levels, half of them with tied
         * logits (ties go to the lower level); exp's last bit may differ between the two
         * backends, so one flipped draw in 1000 is allowed */
        {
            enum { R = 1000, K2 = 200 };
            real *zz = malloc((size_t)R * K2 * sizeof *zz);
            double *uu = malloc(R * sizeof *uu), *duu = be_alloc(gpu, R * sizeof *duu);
            uint8_t *o1 = malloc(R), *o2 = malloc(R), *doo = be_alloc(gpu, R);
            for (size_t i = 0; i < (size_t)R * K2; i++) {
                double v = 4 * (2 * pcnn_rng_uniform(&rng) - 1);
                zz[i] = (real)(i < (size_t)R * K2 / 2 ? v : floor(v));
            }
            for (int r = 0; r < R; r++) uu[r] = pcnn_rng_uniform(&rng);
            real *dzz = dev_copy(zz, (size_t)R * K2);
            be_to_device(gpu, duu, uu, R * sizeof *uu);
            const real tops[] = {0.9f, 0.5f, 1e-3f};
            for (int t = 0; t < 3; t++) {
                be_sample(cpu, o1, zz, R, K2, K2, 0.8f, tops[t], uu);
                memset(o2, 0xff, R); /* level 255 poisons: no draw of 200 levels is 255 */
                be_to_device(gpu, doo, o2, R);
                be_sample(gpu, doo, dzz, R, K2, K2, 0.8f, tops[t], duu);
                be_to_host(gpu, o2, doo, R);
                int differ = 0;
                for (int r = 0; r < R; r++) differ += o1[r] != o2[r];
                CHECK(differ <= 1, "sample top_p %g: CPU and CUDA draw differently in %d of %d rows", tops[t], differ, R);
            }
            free(zz), free(uu), free(o1), free(o2);
            be_release(gpu, duu), be_release(gpu, doo), be_release(gpu, dzz);
        }
        /* place: the draws into the levels and the input map */
        real *in2 = malloc(npix * sizeof *in2);
        memcpy(in2, in, npix * sizeof *in2);
        be_place(cpu, in2, x, d1, B, C, H, W, 2, 3, 1, K);
        be_place(gpu, din, dx, dd, B, C, H, W, 2, 3, 1, K);
        compare("place input", in2, din, npix, 1e-7);
        uint8_t *xg = malloc(npix);
        be_to_host(gpu, xg, dx, npix);
        CHECK(memcmp(xg, x, npix) == 0, "place: levels differ");
        free(in2), free(xg);
        be_release(gpu, du), be_release(gpu, dd);
        free(x), free(in), free(z), free(dl);
        be_release(gpu, dx), be_release(gpu, din), be_release(gpu, dz), be_release(gpu, ddl), be_release(gpu, dnll);
    }
}

/* one forward and backward pass of the whole network on both backends */
static void test_step(const char *name, pcnn_hparams hp, int B)
{
    pcnn_model *mc = pcnn_model_alloc(&hp, cpu), *mg = pcnn_model_alloc(&hp, gpu);
    pcnn_model_init_weights(mc, 5);
    pcnn_model_init_weights(mg, 5);
    size_t npix = (size_t)B * hp.C * hp.H * hp.W;
    uint8_t *x = malloc(npix);
    for (size_t i = 0; i < npix; i++) x[i] = (uint8_t)(pcnn_rng_next(&rng) % hp.K);
    real *h = hp.D ? host_rand((size_t)B * hp.D) : NULL;
    real nc[64], ng[64];
    be_zero(cpu, mc->g, mc->total);
    be_zero(gpu, mg->g, mg->total);
    pcnn_model_run(mc, nc, x, h, B, 1, 1.0f / npix);
    pcnn_model_run(mg, ng, x, h, B, 1, 1.0f / npix);
    char what[64];
    snprintf(what, sizeof what, "%s logits", name);
    compare(what, mc->logits, mg->logits, (size_t)B * hp.H * hp.W * hp.C * hp.K, 1e-4);
    real *dng = dev_copy(ng, B);
    snprintf(what, sizeof what, "%s nll", name);
    compare(what, nc, dng, B, 1e-4);
    snprintf(what, sizeof what, "%s gradients", name);
    compare(what, mc->g, mg->g, mc->total, 1e-4);
    be_release(gpu, dng);
    free(x), free(h);
    pcnn_model_free(mc), pcnn_model_free(mg);
}

static void test_training(void)
{
    pcnn_hparams hp = {.L = 4, .p = 32, .n = 5, .C = 1, .H = 28, .W = 28, .K = 256};
    pcnn_model *m = pcnn_model_new(gpu, &hp, 1);
    pcnn_train_opts o;
    pcnn_train_opts_default(&o);
    o.batch = 32;
    pcnn_trainer *t = pcnn_trainer_new(m, &o);
    uint8_t *x = malloc(32 * 784);
    /* a learnable set: smooth ramps with noise */
    for (int b = 0; b < 32; b++)
        for (int q = 0; q < 784; q++) x[b * 784 + q] = (uint8_t)((q % 28) * 9 + b + pcnn_rng_next(&rng) % 8);
    float first = 0, last = 0;
    for (int s = 0; s < 200; s++) pcnn_trainer_step(t, x, NULL, 32, s == 0 ? &first : &last);
    printf("GPU training, 200 steps: %.3f -> %.3f bits/dim\n", first, last);
    CHECK(last < first - 1, "200 GPU steps: %.3f -> %.3f bits/dim", first, last);
    free(x);
    pcnn_trainer_free(t);
    pcnn_model_free(m);
}

/* Does the CUDA driver see a GPU? Asked of it directly, so that a backend library that
 * fails to load on a machine with a GPU fails the test instead of skipping it. */
static int driver_sees_gpu(void)
{
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!drv) return 0;
    int (*init)(unsigned) = (int (*)(unsigned))dlsym(drv, "cuInit");
    int (*count)(int *) = (int (*)(int *))dlsym(drv, "cuDeviceGetCount");
    int n = 0;
    return init && count && init(0) == 0 && count(&n) == 0 && n > 0;
}

/* the cached sampler's step (pcnn_pixel_step) on random tensors: at the first column (whose
 * left taps lie outside the image) and inside, for the first channel group and a later
 * one, at a batch of one and of three (images the CPU shares among threads) */
static void test_pixel_step(int B, int j, int g)
{
    enum { H = 5, W = 6, C = 3, K = 20, p = 30, s = 2, L = 2, L1 = L + 1, ld = (s + W) * p };
    enum { INMAP, HBASE, HLEFT, HMID, OUT_W, OUT_B, OUT1_W, OUT1_B, OUT2_W, OUT2_B, HROW, HG, HA, T1, T2, LOGITS, N };
    const size_t q2 = PCNN_PADDED(2 * p / C), q1 = PCNN_PADDED(p / C); /* weights in panels (backend.h) */
    const size_t n[N] = {(size_t)B * H * W * C, (size_t)L1 * B * W * 2 * p, L1 * C * s * p * q2, L1 * C * p * q2,
                         L1 * C * p * q1, L1 * p, C * p * q1, p, C * p * PCNN_PADDED(K), C * K, (size_t)L1 * B * ld, (size_t)L1 * B * p,
                         (size_t)B * 2 * p, (size_t)B * p, (size_t)B * p, (size_t)B * C * K};
    real *c[N], *d[N];
    for (int k = 0; k < N; k++) {
        real *h = host_rand(n[k]);
        if (k == HROW) /* the s columns left of each row are zeros */
            for (int r = 0; r < L1 * B; r++) memset(h + (size_t)r * ld, 0, s * p * sizeof *h);
        c[k] = be_alloc(cpu, n[k] * sizeof *h);
        be_to_device(cpu, c[k], h, n[k] * sizeof *h);
        d[k] = dev_copy(h, n[k]);
        free(h);
    }
#define STEP(x) {.B = B, .H = H, .W = W, .C = C, .K = K, .p = p, .s = s, .L = L, .i = 2, .j = j, .g = g, \
    .inmap = x[INMAP], .hbase = x[HBASE], .hleft = x[HLEFT], .hmid = x[HMID], .out_w = x[OUT_W], \
    .out_b = x[OUT_B], .out1_w = x[OUT1_W], .out1_b = x[OUT1_B], .out2_w = x[OUT2_W], .out2_b = x[OUT2_B], \
    .hrow = x[HROW], .hg = x[HG], .ha = x[HA], .t1 = x[T1], .t2 = x[T2], .logits = x[LOGITS]}
    const pcnn_pixel_step sc = STEP(c), sg = STEP(d);
#undef STEP
    be_pixel_step(cpu, &sc);
    be_pixel_step(gpu, &sg);
    const int outs[] = {HROW, HG, LOGITS};
    const char *names[] = {"rows", "gated", "logits"};
    for (int k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "pixel B%d j%d g%d %s", B, j, g, names[k]);
        compare(what, c[outs[k]], d[outs[k]], n[outs[k]], 1e-5);
    }
    for (int k = 0; k < N; k++) be_release(cpu, c[k]), be_release(gpu, d[k]);
}

/* NCCL on one GPU: a communicator of one rank, made from its own identifier (as dist.c
 * makes one from rank 0's), and a sum over it that leaves the buffer as it was */
static void test_comm(void)
{
    if (!gpu->op->comm_sum) {
        SKIP("this CUDA backend was built without NCCL: no sums between GPUs");
        return;
    }
    unsigned char id[512];
    size_t len = gpu->op->comm_id(gpu, id, sizeof id);
    CHECK(len > 0 && gpu->op->comm_open(gpu, id, len, 0, 1, 30) == 0, "NCCL: %s", gpu->err);
    if (gpu->failed) return;
    const size_t n = 100003;
    real *h = host_rand(n), *d = dev_copy(h, n);
    gpu->op->comm_sum(gpu, d, n);
    compare("ncclAllReduce over one rank", h, d, n, 1e-12);
    free(h), be_release(gpu, d);
}

int main(void)
{
    setenv("PCNN_CUDA_LIB", TEST_CUDA_LIB, 0);
    cpu = pcnn_backend_open("cpu");
    gpu = pcnn_backend_open("cuda");
    if (!cpu || !gpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    if (strcmp(pcnn_backend_name(gpu), "cuda")) {
        CHECK(!driver_sees_gpu(), "the driver sees a GPU, but the CUDA backend did not open: %s",
              pcnn_backend_describe(gpu));
        SKIP("no usable CUDA device (%s): the CUDA kernels were built but not run", pcnn_backend_describe(gpu));
        pcnn_backend_close(gpu), pcnn_backend_close(cpu);
        return check_summary("test_cuda");
    }
    printf("GPU: %s\n", pcnn_backend_describe(gpu));
    test_ops();
    test_draw_not_finite("cuda");
    for (int B = 1; B <= 3; B += 2)
        for (int j = 0; j < 6; j += 3)
            for (int g = 0; g < 3; g += 2) test_pixel_step(B, j, g);
    test_comm();
    int full = getenv("PCNN_GPU_CHECK_FULL") != NULL;
    test_step("gray cond", (pcnn_hparams){.L = 2, .p = 12, .n = 3, .C = 1, .H = 9, .W = 7, .K = 256, .D = 4}, 3);
    test_step("rgb", (pcnn_hparams){.L = 2, .p = 12, .n = 5, .C = 3, .H = 8, .W = 8, .K = 16}, 2);
    if (full) {
        test_step("fashion", (pcnn_hparams){.L = 15, .p = 64, .n = 5, .C = 1, .H = 28, .W = 28, .K = 256}, 64);
        test_step("cifar", (pcnn_hparams){.L = 15, .p = 126, .n = 5, .C = 3, .H = 32, .W = 32, .K = 256}, 32);
        test_training();
    }
    CHECK(!pcnn_backend_check(gpu), "the CUDA instance failed: %s", pcnn_errstr());
    pcnn_backend_close(gpu), pcnn_backend_close(cpu);
    return check_summary("test_cuda");
}
#endif

/* test_conv.c -- the CPU backend's convolutions (oneDNN where it takes the shape, im2col +
 * GEMM where it does not) against the definition, computed here in double by plain loops:
 * forward with beta 0 and 1, with and without a bias, backward data and backward filter
 * and the bias's gradient, all accumulating. The
 * shapes are the stacks' three windows (the first layer's vertical one, a later layer's,
 * the horizontal one) at a size where oneDNN picks the kernels it picks for the Fashion
 * model, the one-sided vertical window's backward filter included (computed on a wider
 * window whose extra rows are dropped), at channel counts of whole vectors (64 -> 128: on
 * AVX-512 the backward passes read and write the NHWC maps as they are) and at counts
 * that oneDNN's blocked layouts of the backward passes pad (where conv_filter.c's sgemms
 * take the backward filter, as they do at every count on AVX2: `make check` runs this
 * again held to AVX2), on images of several of its chunks of rows, and on an image
 * narrower than the window. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "backend.h"
#include "pcnn.h"
#include "cpu/cpu.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

static uint64_t rng = 7;
static float urand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng >> 40) * 0x1.0p-24) * 2 - 1;
}

static double xat(const float *x, const pcnn_conv *g, int b, int y, int xx, int c)
{
    if (y < 0 || y >= g->H || xx < 0 || xx >= g->W) return 0;
    return x[(((size_t)b * g->H + y) * g->W + xx) * g->cin + c];
}

static void compare(const char *what, const pcnn_conv *g, const float *got, const double *want, size_t n)
{
    double d2 = 0, w2 = 0;
    for (size_t i = 0; i < n; i++) d2 += (got[i] - want[i]) * (got[i] - want[i]), w2 += want[i] * want[i];
    CHECK(sqrt(d2 / w2) < 1e-5, "%s %dx%d oy=%d: relative error %.3g", what, g->kh, g->kw, g->oy, sqrt(d2 / w2));
}

static void run(pcnn_conv g)
{
    pcnn_backend *be = cpu;
    const size_t M = (size_t)g.B * g.H * g.W, nx = M * g.cin, ny = M * g.cout;
    const size_t nw = (size_t)g.cout * g.cin * g.kh * g.kw;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *y = malloc(ny * sizeof *y);
    float *dy = malloc(ny * sizeof *dy), *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw);
    /* the scratch exactly as the models size theirs (im2col's matrix), so that the
     * sanitizer's pass sees a pass that writes past it (the backward filter's staging of a
     * small image's gradient once did: conv.c now keeps that in its own scratch) */
    float *ws = malloc(M * g.cin * g.kh * g.kw * sizeof *ws);
    double *ry = calloc(ny, sizeof *ry), *rdx = calloc(nx, sizeof *rdx), *rdw = calloc(nw, sizeof *rdw);
    for (size_t i = 0; i < nx; i++) x[i] = urand();
    for (size_t i = 0; i < nw; i++) w[i] = urand();
    for (size_t i = 0; i < ny; i++) dy[i] = urand();
    for (size_t i = 0; i < nx; i++) dx[i] = urand(), rdx[i] = dx[i];
    for (size_t i = 0; i < nw; i++) dw[i] = urand(), rdw[i] = dw[i];
    for (int b = 0; b < g.B; b++)
        for (int i = 0; i < g.H; i++)
            for (int j = 0; j < g.W; j++)
                for (int o = 0; o < g.cout; o++) {
                    size_t yo = (((size_t)b * g.H + i) * g.W + j) * g.cout + o;
                    for (int c = 0; c < g.cin; c++)
                        for (int r = 0; r < g.kh; r++)
                            for (int s = 0; s < g.kw; s++) {
                                int yy = i + g.oy + r, xx = j + g.ox + s;
                                size_t wi = (((size_t)o * g.cin + c) * g.kh + r) * g.kw + s;
                                ry[yo] += w[wi] * xat(x, &g, b, yy, xx, c);
                                rdw[wi] += dy[yo] * xat(x, &g, b, yy, xx, c);
                                if (yy >= 0 && yy < g.H && xx >= 0 && xx < g.W)
                                    rdx[(((size_t)b * g.H + yy) * g.W + xx) * g.cin + c] += dy[yo] * w[wi];
                            }
                }
    double *rc = malloc(ny * sizeof *rc); /* the convolution alone */
    memcpy(rc, ry, ny * sizeof *rc);
    be_conv_fwd(be, y, x, w, NULL, &g, 0, ws);
    compare("forward", &g, y, ry, ny);
    for (size_t i = 0; i < ny; i++) ry[i] += y[i]; /* beta 1: the same again on top */
    be_conv_fwd(be, y, x, w, NULL, &g, 1, ws);
    compare("forward, beta 1", &g, y, ry, ny);
    /* with a bias: alone, on top of y (beta 1), and on half of y (beta 0.5, im2col + GEMM) */
    float *bias = malloc(g.cout * sizeof *bias);
    for (int o = 0; o < g.cout; o++) bias[o] = urand();
    const float betas[3] = {0, 1, 0.5f};
    const char *names[3] = {"forward, bias", "forward, bias, beta 1", "forward, bias, beta 0.5"};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < ny; i++) ry[i] = rc[i] + bias[i % g.cout] + betas[k] * (double)y[i];
        be_conv_fwd(be, y, x, w, bias, &g, betas[k], ws);
        compare(names[k], &g, y, ry, ny);
    }
    /* the AVX2 kernel of the horizontal window (conv_taps.c) called directly, on any CPU
     * with AVX2, whichever path be_conv_fwd took above (held to AVX2, it takes the shapes
     * whose maps are not whole vectors of 8) */
    if (g.kh == 1 && g.kw > 1 && g.oy == 0 && g.ox == 1 - g.kw && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
        for (size_t i = 0; i < ny; i++) ry[i] = rc[i] + bias[i % g.cout];
        cpu_conv_taps(be, y, x, w, bias, &g, 0);
        compare("AVX2 taps, bias", &g, y, ry, ny);
        for (size_t i = 0; i < ny; i++) ry[i] = rc[i] + y[i];
        cpu_conv_taps(be, y, x, w, NULL, &g, 1);
        compare("AVX2 taps, added", &g, y, ry, ny);
    }
    free(bias), free(rc);
    float *dw0 = malloc(nw * sizeof *dw0), *dx0 = malloc(nx * sizeof *dx0);
    memcpy(dw0, dw, nw * sizeof *dw);
    memcpy(dx0, dx, nx * sizeof *dx);
    be_conv_bwd(be, dx, dw, NULL, dy, x, w, &g, ws);
    compare("backward data", &g, dx, rdx, nx);
    compare("backward filter", &g, dw, rdw, nw);
    /* without dx (a first layer's): the same filter gradient, added once more, and the
     * bias's gradient added to what db holds */
    float *db = malloc(g.cout * sizeof *db);
    double *rdb = malloc(g.cout * sizeof *rdb);
    for (int o = 0; o < g.cout; o++) db[o] = urand(), rdb[o] = db[o];
    for (size_t i = 0; i < ny; i++) rdb[i % g.cout] += dy[i];
    for (size_t i = 0; i < nw; i++) rdw[i] += dw[i] - dw0[i];
    be_conv_bwd(be, NULL, dw, db, dy, x, w, &g, ws);
    compare("backward filter alone", &g, dw, rdw, nw);
    compare("bias gradient", &g, db, rdb, g.cout);
    /* all three at once (the filter pass with the bias, then the data pass) */
    for (size_t i = 0; i < nx; i++) rdx[i] = dx[i] + (rdx[i] - dx0[i]);
    for (size_t i = 0; i < ny; i++) rdb[i % g.cout] += dy[i];
    be_conv_bwd(be, dx, dw, db, dy, x, w, &g, ws);
    compare("backward data, with the bias", &g, dx, rdx, nx);
    compare("bias gradient, with data", &g, db, rdb, g.cout);
    free(dw0), free(dx0), free(db), free(rdb);
    free(x), free(w), free(y), free(dy), free(dx), free(dw), free(ws), free(ry), free(rdx), free(rdw);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    run((pcnn_conv){4, 12, 12, 64, 128, 3, 5, -2, -2}); /* vertical, layers >= 1 */
    run((pcnn_conv){4, 12, 12, 3, 128, 3, 5, -3, -2});  /* vertical, first layer */
    run((pcnn_conv){4, 12, 12, 64, 128, 1, 3, 0, -2});  /* horizontal */
    /* channels that the blocked layouts pad (as p = 126 does): of the backward passes, and,
     * on AVX2, of the forward pass of a window of several rows */
    run((pcnn_conv){2, 9, 11, 30, 60, 3, 5, -2, -2});
    run((pcnn_conv){2, 4, 9, 126, 252, 3, 5, -2, -2}); /* the CIFAR-like model's vertical window */
    run((pcnn_conv){2, 9, 11, 30, 60, 1, 3, 0, -2});
    run((pcnn_conv){64, 64, 1, 8, 16, 3, 5, -2, -2}); /* a window wider than the image */
    /* conv_filter.c's chunks of rows (256 pixels: 8 rows of 30, the last chunk 4), and a row
     * longer than a chunk */
    run((pcnn_conv){2, 20, 30, 30, 60, 3, 5, -2, -2});
    run((pcnn_conv){1, 3, 300, 6, 12, 3, 5, -2, -2});
    /* a first layer's window (padded less than nothing below, which oneDNN declines) at whole
     * vectors of 16: its backward filter goes to conv_filter.c on AVX-512 too */
    run((pcnn_conv){2, 6, 7, 16, 32, 3, 5, -3, -2});
    /* the CIFAR-like model's horizontal window (126 -> 252 maps, 32 columns: whole blocks of
     * 6 and 2 more), a first layer's on 3 channels, and 5 taps on a row shorter than a block */
    run((pcnn_conv){2, 3, 32, 126, 252, 1, 3, 0, -2});
    run((pcnn_conv){2, 4, 7, 3, 252, 1, 3, 0, -2});
    run((pcnn_conv){3, 2, 4, 6, 20, 1, 5, 0, -4});
    pcnn_backend_close(cpu);
    return check_summary("test_conv");
}

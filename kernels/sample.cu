// sample.cu -- CUDA twin of lib/cpu/sample.c: one categorical draw per row from
// softmax(logits / T), inverting the cumulative distribution at u; with top_p < 1 from
// the nucleus (the fewest levels, likeliest first and of equal ones the lower first,
// whose probabilities reach top_p), renormalised. One thread per row; everything on
// the device. Logits that are not finite (a model whose weights overflow) are an error,
// as in the CPU twin: the row's thread draws level 0 and raises a flag on the device,
// which synchronize (pcnn_backend_check, at the end of every draw) reads back, so a
// draw costs no copy to the host of its own.
#include "cuda.h"

// does level a come before level b in the nucleus order?
__device__ static bool before(const double *e, int a, int b)
{
    return e[a] > e[b] || (e[a] == e[b] && a < b);
}

// restores the heap hp[0..n) (first in the nucleus order on top) below position i
__device__ static void sift(const double *e, uint8_t *hp, int n, int i)
{
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) return;
        if (c + 1 < n && before(e, hp[c + 1], hp[c])) c++;
        if (!before(e, hp[c], hp[i])) return;
        uint8_t t = hp[i];
        hp[i] = hp[c], hp[c] = t;
        i = c;
    }
}

// the nucleus's last level in the nucleus order: levels are taken in that order until
// their weights e (K <= 256) sum to need; all of them if rounding keeps the sum below
__device__ static int nucleus_last(const double *e, int K, double need)
{
    uint8_t hp[256];
    for (int k = 0; k < K; k++) hp[k] = (uint8_t)k;
    for (int i = K / 2 - 1; i >= 0; i--) sift(e, hp, K, i);
    double cum = 0;
    int last = 0;
    for (int n = K; n > 0;) {
        last = hp[0];
        cum += e[last];
        if (cum >= need) break;
        hp[0] = hp[--n];
        sift(e, hp, n, 0);
    }
    return last;
}

// se, the sum of exp((z - max z) / T), is at least exp(0) = 1 where every logit is
// finite, and NaN where one is NaN or the largest is infinite
__device__ static bool not_finite(double se, int *bad, uint8_t *out)
{
    if (se >= 1 && se < INFINITY) return false;
    *bad = 1, *out = 0;
    return true;
}

__global__ static void sample_k(uint8_t *out, const real *logits, int R, int K, int ld, real T,
                                const double *u, int *bad)
{
    FOR_N(r, (size_t)R) {
        const real *z = logits + r * ld;
        real mx = z[0];
        for (int k = 1; k < K; k++) mx = fmaxf(mx, z[k]);
        double se = 0;
        for (int k = 0; k < K; k++) se += exp((double)(z[k] - mx) / T);
        if (not_finite(se, bad, out + r)) continue;
        double target = u[r] * se, acc = 0;
        int k = 0;
        for (; k < K - 1; k++) {
            acc += exp((double)(z[k] - mx) / T);
            if (acc > target) break;
        }
        out[r] = (uint8_t)k;
    }
}

__global__ static void sample_top_p_k(uint8_t *out, const real *logits, int R, int K, int ld,
                                      real T, real top_p, const double *u, int *bad)
{
    FOR_N(r, (size_t)R) {
        const real *z = logits + r * ld;
        real mx = z[0];
        for (int k = 1; k < K; k++) mx = fmaxf(mx, z[k]);
        double e[256], se = 0;
        for (int k = 0; k < K; k++) se += e[k] = exp((double)(z[k] - mx) / T);
        if (not_finite(se, bad, out + r)) continue;
        const int t = nucleus_last(e, K, (double)top_p * se);
        double mass = 0;
        for (int k = 0; k < K; k++)
            if (k == t || before(e, k, t)) mass += e[k];
        double target = u[r] * mass, acc = 0;
        int pick = t;
        for (int k = 0; k < K; k++)
            if (k == t || before(e, k, t)) {
                pick = k;
                acc += e[k];
                if (acc > target) break;
            }
        out[r] = (uint8_t)pick;
    }
}

void cuda_sample(pcnn_backend *be, uint8_t *out, const real *logits, int R, int K, int ld, real T,
                 real top_p, const double *u)
{
    cuda_ctx *c = ctx_of(be);
    if (!c->draw_bad) {
        CUDA_CHECK(be, cudaMalloc((void **)&c->draw_bad, sizeof *c->draw_bad));
        CUDA_CHECK(be, cudaMemset(c->draw_bad, 0, sizeof *c->draw_bad));
    }
    if (!(top_p < 1)) sample_k<<<blocks_for(R, 64), 64>>>(out, logits, R, K, ld, T, u, c->draw_bad);
    else sample_top_p_k<<<blocks_for(R, 64), 64>>>(out, logits, R, K, ld, T, top_p, u, c->draw_bad);
    LAUNCH_CHECK(be);
}

void cuda_sample_check(pcnn_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    int bad = 0;
    if (!c->draw_bad) return;
    CUDA_CHECK(be, cudaMemcpy(&bad, c->draw_bad, sizeof bad, cudaMemcpyDeviceToHost));
    if (!bad) return;
    CUDA_CHECK(be, cudaMemset(c->draw_bad, 0, sizeof bad));
    pcnn_backend_fail(be, "the model's probabilities are not finite");
}

void cuda_sample_close(pcnn_backend *be)
{
    cuda_ctx *c = ctx_of(be);
    if (c->draw_bad) cudaFree(c->draw_bad);
    c->draw_bad = NULL;
}

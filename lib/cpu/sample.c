/* sample.c -- CPU twin of kernels/sample.cu: one categorical draw per row from
 * softmax(logits / T), by inverting the cumulative distribution at u. With top_p < 1
 * the draw is from the nucleus (Holtzman et al. 2020): the fewest levels, likeliest
 * first and of equal ones the lower first, whose probabilities sum to at least top_p,
 * renormalised and inverted in level order as before. */
#include "cpu.h"

/* does level a come before level b in the nucleus order? */
static int before(const double *e, int a, int b)
{
    return e[a] > e[b] || (e[a] == e[b] && a < b);
}

/* restores the heap hp[0..n) (first in the nucleus order on top) below position i */
static void sift(const double *e, uint8_t *hp, int n, int i)
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

/* the nucleus's last level in the nucleus order: levels are taken in that order until
 * their weights e (K <= 256) sum to need; all of them if rounding keeps the sum below */
static int nucleus_last(const double *e, int K, double need)
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

/* A model whose weights overflow: an error, not images of the top level. se, the sum of
 * exp((z - max z) / T), is at least exp(0) = 1 where every logit is finite, and NaN where
 * one is NaN or the largest is infinite; rows r.. get level 0. */
static int not_finite(pcnn_backend *be, double se, uint8_t *out, int r, int R)
{
    if (se >= 1 && se < INFINITY) return 0;
    pcnn_backend_fail(be, "the model's probabilities are not finite");
    for (; r < R; r++) out[r] = 0;
    return 1;
}

void cpu_sample(pcnn_backend *be, uint8_t *out, const real *logits, int R, int K, int ld, real T,
                real top_p, const double *u)
{
    for (int r = 0; r < R; r++) {
        const real *z = logits + (size_t)r * ld;
        real mx = z[0];
        for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
        if (!(top_p < 1)) { /* the whole distribution */
            double se = 0;
            for (int k = 0; k < K; k++) se += exp((z[k] - mx) / T);
            if (not_finite(be, se, out, r, R)) return;
            double target = u[r] * se, acc = 0;
            int k = 0;
            for (; k < K - 1; k++) {
                acc += exp((z[k] - mx) / T);
                if (acc > target) break;
            }
            out[r] = (uint8_t)k;
            continue;
        }
        double e[256], se = 0;
        for (int k = 0; k < K; k++) se += e[k] = exp((z[k] - mx) / T);
        if (not_finite(be, se, out, r, R)) return;
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

/* sample.c -- CPU twin of kernels/sample.cu: one categorical draw per row from
 * softmax(logits / T), by inverting the cumulative distribution at u. */
#include "cpu.h"

void cpu_sample(uint8_t *out, const real *logits, int R, int K, int ld, real T, const double *u)
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

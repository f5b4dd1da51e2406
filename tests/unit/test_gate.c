/* test_gate.c -- the CPU gate y = tanh(f) * sigmoid(g) and its gradient (lib/cpu/gate.c,
 * gate_exact.c, gate_rows.h) in single precision, at widths below, at and past its
 * 16-channel block (a row that is not a multiple of it ends in a block overlapping the one
 * before): against tanh and the sigmoid in double, including the clamps (|f| > 15,
 * |g| > 30); the exact gate (coding) equal, to the bit, to fastmath.h's formula evaluated
 * one channel at a time; NaN kept; nothing written past a row. The gradient in double is
 * test_gradcheck's; the CUDA twin is test_cuda's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu/fastmath.h"
#include "model-impl.h"

enum { M = 7, GUARD = 5 };

static double tanh_d(double f) { return tanh(f); }
static double sig_d(double g) { return 1 / (1 + exp(-g)); }

static void test_width(pcnn_backend *cpu, int p)
{
    uint64_t rng = 11 + (uint64_t)p;
    const size_t na = (size_t)M * 2 * p, ny = (size_t)M * p;
    real *a = malloc(sizeof(real) * na), *y = malloc(sizeof(real) * (ny + GUARD));
    real *dy = malloc(sizeof(real) * ny), *da = malloc(sizeof(real) * (na + GUARD));
    for (size_t i = 0; i < na; i++) a[i] = (real)(40 * pcnn_rng_uniform(&rng) - 20); /* past both clamps */
    a[0] = 0, a[p] = 0, a[2 * p + 1] = -40, a[2 * p + p + 1] = 40; /* a row's ends and a tail channel */
    for (size_t i = 0; i < ny; i++) dy[i] = (real)(pcnn_rng_uniform(&rng) - 0.5);

    for (int exact = 0; exact < 2; exact++) {
        cpu->exact = exact;
        for (int i = 0; i < GUARD; i++) y[ny + i] = 7, da[na + i] = 7;
        be_gate_fwd(cpu, y, a, M, p);
        be_gate_bwd(cpu, da, a, dy, M, p);
        double worst = 0, worst_d = 0;
        int bits = 0;
        for (int m = 0; m < M; m++)
            for (int k = 0; k < p; k++) {
                const real f = a[(size_t)m * 2 * p + k], g = a[(size_t)m * 2 * p + p + k];
                const double t = tanh_d(f), s = sig_d(g), d = dy[(size_t)m * p + k];
                worst = fmax(worst, fabs(y[(size_t)m * p + k] - t * s));
                worst_d = fmax(worst_d, fabs(da[(size_t)m * 2 * p + k] - d * (1 - t * t) * s));
                worst_d = fmax(worst_d, fabs(da[(size_t)m * 2 * p + p + k] - d * t * s * (1 - s)));
                real tf, sf;
                tanh_sigmoid(f, g, &tf, &sf);
                bits += y[(size_t)m * p + k] == tf * sf;
            }
        CHECK(worst <= 1e-6, "p = %d%s: the gate is %g from tanh * sigmoid in double", p, exact ? " (exact)" : "", worst);
        CHECK(worst_d <= 1e-6, "p = %d: the gradient is %g from the one in double", p, worst_d);
        if (exact) CHECK(bits == M * p, "p = %d: the exact gate differs from the formula's bits at %d of %d", p, M * p - bits, M * p);
        int kept = 1;
        for (int i = 0; i < GUARD; i++) kept &= y[ny + i] == 7 && da[na + i] == 7;
        CHECK(kept, "p = %d%s: written past the last row", p, exact ? " (exact)" : "");
    }
    cpu->exact = 0;

    /* a NaN stays a NaN, in its own channel only, wherever in the row it falls */
    for (int k = 0; k < p; k += p > 1 ? p - 1 : 1) {
        real keep = a[k];
        a[k] = NAN;
        be_gate_fwd(cpu, y, a, M, p);
        int others = 1;
        for (int j = 0; j < p; j++) others &= j == k || !isnan(y[j]);
        CHECK(isnan(y[k]) && others, "p = %d: a NaN at channel %d gives %g there, NaN elsewhere: %d", p, k, y[k], !others);
        a[k] = keep;
    }
    free(a), free(y), free(dy), free(da);
}

int main(void)
{
    pcnn_backend *cpu = pcnn_backend_open("cpu");
    const int widths[] = {1, 5, 15, 16, 17, 21, 32, 64, 126};
    for (size_t i = 0; i < sizeof widths / sizeof *widths; i++) test_width(cpu, widths[i]);
    pcnn_backend_close(cpu);
    return check_summary("test_gate");
}

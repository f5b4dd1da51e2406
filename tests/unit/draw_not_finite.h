/* draw_not_finite.h -- the draw's refusal of logits that are not finite (a model whose
 * weights overflow), the same test for each backend: test_sample runs it on the CPU,
 * test_cuda on the GPU. Each case on an instance of its own, which the failure ends. */
#ifndef PCNN_DRAW_NOT_FINITE_H
#define PCNN_DRAW_NOT_FINITE_H
#include <math.h>
#include <string.h>

#include "backend.h"
#include "check.h"

static void test_draw_not_finite(const char *backend)
{
    enum { R = 3, K = 4 };
    const real bad[] = {NAN, INFINITY, -INFINITY};
    const real top_ps[] = {1, 0.9f};
    const double u[R] = {0.5, 0.5, 0.5};
    for (int v = 0; v < 3; v++)
        for (int t = 0; t < 2; t++) {
            pcnn_backend *be = pcnn_backend_open(backend);
            CHECK(be && !strcmp(pcnn_backend_name(be), backend), "%s: %s", backend, pcnn_errstr());
            if (!be || strcmp(pcnn_backend_name(be), backend)) {
                if (be) pcnn_backend_close(be);
                return;
            }
            real z[R * K];
            for (int i = 0; i < R * K; i++) z[i] = (real)(i % K);
            real *dz = be_alloc(be, sizeof z);
            double *du = be_alloc(be, sizeof u);
            uint8_t *dout = be_alloc(be, R), out[R];
            be_to_device(be, dz, z, sizeof z);
            be_to_device(be, du, u, sizeof u);
            be_sample(be, dout, dz, R, K, K, 1, top_ps[t], du);
            be_to_host(be, out, dout, R);
            /* finite logits: no error, and the likeliest level at u = 1/2 */
            CHECK(!pcnn_backend_check(be) && out[1] == K - 1, "%s top_p %g: finite logits: %s, level %d", backend,
                  top_ps[t], pcnn_errstr(), out[1]);
            z[K + 2] = bad[v]; /* row 1 */
            be_to_device(be, dz, z, sizeof z);
            be_sample(be, dout, dz, R, K, K, 1, top_ps[t], du);
            /* -inf alone is a level of probability 0, which a finite model may not give but
             * which is not an error; an infinite maximum or a NaN is */
            const int refused = pcnn_backend_check(be) != 0;
            CHECK(refused == (v < 2) && (!refused || strstr(pcnn_errstr(), "not finite")),
                  "%s top_p %g, logit %g: %s (%s)", backend, top_ps[t], (double)bad[v],
                  refused ? "refused" : "drawn", refused ? pcnn_errstr() : "");
            be_release(be, dz), be_release(be, du), be_release(be, dout);
            pcnn_backend_close(be);
        }
}
#endif

/* allreduce.c -- the time of one sum of a model's gradient over the ranks of an MPI job
 * (not a test; tests/bench/mpi.sh runs it under mpirun):
 *   bench-allreduce L P   a class-conditional Fashion-MNIST model of L layers and P maps
 * Prints, on rank 0, the gradient's size and the mean time of 50 sums (after 5 to warm
 * up), as lib/train.c makes them: pcnn_dist_sum of the whole buffer on the CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dist.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bench-allreduce L P\n");
        return 2;
    }
    pcnn_hparams hp = {.L = atoi(argv[1]), .p = atoi(argv[2]), .n = 5, .C = 1, .H = 28, .W = 28, .K = 256,
                       .D = 10, .classes = 10, .q = 32};
    pcnn_dist *d = pcnn_dist_open(60);
    pcnn_backend *be = pcnn_backend_open("cpu");
    pcnn_model *m = d && be ? pcnn_model_new(be, &hp, 1) : NULL;
    if (!m) {
        fprintf(stderr, "bench-allreduce: %s\n", pcnn_errstr());
        return 1;
    }
    size_t n = pcnn_model_nparams(m);
    real *g = calloc(n, sizeof *g);
    if (!g) return 1;
    double t0 = 0;
    for (int k = 0; k < 55; k++) {
        if (k == 5) t0 = now();
        if (pcnn_dist_sum(d, be, g, n)) {
            fprintf(stderr, "bench-allreduce: %s\n", pcnn_errstr());
            return 1;
        }
    }
    double t = (now() - t0) / 50;
    if (pcnn_dist_rank(d) == 0)
        printf("allreduce L=%d p=%d: %zu parameters (%.2f MB) over %d ranks: %.3f ms\n", hp.L, hp.p, n,
               n * sizeof *g / 1e6, pcnn_dist_size(d), t * 1e3);
    free(g);
    pcnn_model_free(m);
    pcnn_backend_close(be);
    pcnn_dist_close(d);
    return 0;
}

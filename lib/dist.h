/* dist.h -- the collectives of a data-parallel job (dist.c), private to lib/: what the
 * trainer and the kinds that need the whole batch call. The job itself (pcnn_dist_open,
 * its rank and size) is in pcnn.h.
 *
 * Every call here is collective: every rank of the job makes it, in the same order, with
 * the same sizes. A rank that waits longer than the job's timeout for the others gives up
 * and the call returns -1 with the reason; so does an error MPI reports (a peer's link
 * gone). In a job of one (no launcher, or a build without MPI) each is a no-op that
 * returns 0. */
#ifndef PCNN_DIST_H
#define PCNN_DIST_H
#include "backend.h"
#include "pcnn-impl.h"

/* The images [*first, *first + *count) of a global batch of B that rank r takes: B / n
 * each, the first B % n ranks one more, in rank order. */
void pcnn_dist_share(int B, int n, int r, int *first, int *count);

/* x (n) = the sum over the ranks of x, in place, in the memory of be: through the
 * backend's own collective library when it has one (NCCL), else over MPI on the host.
 * Every rank gets the same bits. */
int pcnn_dist_sum(pcnn_dist *d, pcnn_backend *be, real *x, size_t n);
/* the same for n doubles on the host */
int pcnn_dist_sum_host(pcnn_dist *d, double *x, int n);
/* all (sum of counts[r] reals, in rank order) = every rank's mine (counts[rank] reals):
 * an all-gather of host memory */
int pcnn_dist_gather(pcnn_dist *d, real *all, const real *mine, const int *counts);
/* 0 when v is the same on every rank, else -1 with the reason ("what" says of what) */
int pcnn_dist_same(pcnn_dist *d, uint64_t v, const char *what);

#endif

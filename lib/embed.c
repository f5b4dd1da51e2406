/* embed.c -- the embedding net of section 3.3: the encoder's output scaled to unit
 * length, trained with a triplet loss so that images of one identity lie closer to each
 * other than to those of any other identity; and the verification accuracy that says
 * how well it does. Losses over a batch of B×D numbers run on the host. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "kind.h"

#define MARGIN 0.2

static double dist(const real *a, const real *b, int D)
{
    double s = 0;
    for (int k = 0; k < D; k++) s += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
    return sqrt(s + 1e-12);
}

void pcnn_triplet_loss(real *loss, real *de, const real *e, const int *id, int B, int D,
                       real margin, real scale)
{
    if (de) memset(de, 0, (size_t)B * D * sizeof *de);
    for (int a = 0; a < B; a++) {
        int pos = -1, neg = -1;
        double dp = 0, dn = INFINITY;
        for (int k = 0; k < B; k++) {
            if (k == a) continue;
            double d = dist(e + (size_t)a * D, e + (size_t)k * D, D);
            if (id[k] == id[a] && (pos < 0 || d > dp)) pos = k, dp = d;
            if (id[k] != id[a] && d < dn) neg = k, dn = d;
        }
        double l = pos >= 0 && neg >= 0 ? dp - dn + margin : 0;
        loss[a] = (real)(l > 0 ? l : 0);
        if (!de || !(l > 0)) continue;
        for (int k = 0; k < D; k++) {
            double up = ((double)e[(size_t)a * D + k] - e[(size_t)pos * D + k]) / dp;
            double un = ((double)e[(size_t)a * D + k] - e[(size_t)neg * D + k]) / dn;
            de[(size_t)a * D + k] += (real)(scale * (up - un));
            de[(size_t)pos * D + k] -= (real)(scale * up);
            de[(size_t)neg * D + k] += (real)(scale * un);
        }
    }
}

/* The triplet loss of a rank's share of a batch in a data-parallel job: the batch-hard
 * mining must see the whole batch, so every rank gathers every rank's unit embeddings and
 * identities (D + 1 numbers an image, a few kB), computes the loss and its gradient over
 * the whole batch exactly as one process would, and keeps the rows of its own B images,
 * at m->batch_first. The gradient rows of the images it mined from other ranks' shares
 * are theirs: each rank backpropagates its own rows only, and the sum over the ranks is
 * the whole batch's gradient. */
static int triplet_of_job(pcnn_model *m, real *loss, real *du, const real *u, const int *id, int B,
                          int D, real gscale)
{
    const int n = pcnn_dist_size(m->dist), G = m->batch_total, w = D + 1;
    int *counts = malloc((size_t)n * sizeof *counts), *ids = malloc((size_t)G * sizeof *ids), rc = 0;
    real *mine = malloc((size_t)B * w * sizeof *mine), *all = malloc((size_t)G * w * sizeof *all);
    real *U = malloc((size_t)G * D * sizeof *U), *dU = malloc((size_t)G * D * sizeof *dU);
    real *L = malloc((size_t)G * sizeof *L);
    if (!counts || !ids || !mine || !all || !U || !dU || !L) {
        rc = pcnn_seterr("out of memory");
        goto out;
    }
    for (int r = 0, first, count; r < n; r++) {
        pcnn_dist_share(G, n, r, &first, &count);
        counts[r] = count * w;
    }
    if (counts[pcnn_dist_rank(m->dist)] != B * w) {
        rc = pcnn_seterr("a share of %d images is not this rank's of a batch of %d", B, G);
        goto out;
    }
    for (int b = 0; b < B; b++) { /* identities as reals: exact below 2^24 */
        memcpy(mine + (size_t)b * w, u + (size_t)b * D, (size_t)D * sizeof *mine);
        mine[(size_t)b * w + D] = (real)id[b];
    }
    if ((rc = pcnn_dist_gather(m->dist, all, mine, counts))) goto out;
    for (int b = 0; b < G; b++) {
        memcpy(U + (size_t)b * D, all + (size_t)b * w, (size_t)D * sizeof *U);
        ids[b] = (int)all[(size_t)b * w + D];
    }
    pcnn_triplet_loss(L, dU, U, ids, G, D, MARGIN, gscale);
    memcpy(loss, L + m->batch_first, (size_t)B * sizeof *loss);
    memcpy(du, dU + (size_t)m->batch_first * D, (size_t)B * D * sizeof *du);
out:
    free(counts), free(ids), free(mine), free(all), free(U), free(dU), free(L);
    return rc;
}

void pcnn_embed_layout(pcnn_model *m) { pcnn_net_add_encoder(m, &m->enc, "embed"); }

int pcnn_embed_run(pcnn_model *m, real *loss, const uint8_t *x, const real *ids, int B,
                   int backward, real gscale)
{
    const pcnn_hparams *hp = &m->hp;
    const int D = hp->D, N = hp->classes;
    if (!ids || N < 1) return pcnn_seterr("an embedding net is trained on images with identities");
    real *u = malloc((size_t)B * D * sizeof *u), *e = malloc((size_t)B * D * sizeof *e);
    real *du = malloc((size_t)B * D * sizeof *du), *l = malloc((size_t)B * sizeof *l);
    int *id = malloc((size_t)B * sizeof *id), rc = 0;
    if (!u || !e || !du || !l || !id) {
        rc = pcnn_seterr("out of memory");
        goto out;
    }
    for (int b = 0; b < B; b++) { /* identities arrive as one-hot rows */
        id[b] = 0;
        for (int k = 1; k < N; k++)
            if (ids[(size_t)b * N + k] > ids[(size_t)b * N + id[b]]) id[b] = k;
    }
    if ((rc = pcnn_encode_device(m, x, B))) goto out;
    be_to_host(m->be, e, net_output(&m->enc), (size_t)B * D * sizeof *e);
    for (int b = 0; b < B; b++) { /* unit length, in the compute precision */
        double norm = 0;
        for (int k = 0; k < D; k++) norm += (double)e[b * D + k] * e[b * D + k];
        for (int k = 0; k < D; k++) u[b * D + k] = (real)(e[b * D + k] / sqrt(norm + 1e-12));
    }
    if (m->dist && m->batch_total > B) {
        if ((rc = triplet_of_job(m, l, du, u, id, B, D, gscale))) goto out;
    } else {
        pcnn_triplet_loss(l, du, u, id, B, D, MARGIN, gscale);
    }
    if (loss) memcpy(loss, l, (size_t)B * sizeof *l);
    if (!backward) goto out;
    /* through the scaling to unit length: de = (du - u (u·du)) / |e| */
    for (int b = 0; b < B; b++) {
        double dot = 0, norm = 0;
        for (int k = 0; k < D; k++) dot += (double)u[b * D + k] * du[b * D + k];
        for (int k = 0; k < D; k++) norm += (double)e[b * D + k] * e[b * D + k];
        norm = sqrt(norm + 1e-12);
        for (int k = 0; k < D; k++) du[b * D + k] = (real)((du[b * D + k] - u[b * D + k] * dot) / norm);
    }
    be_to_device(m->be, m->enc.dout, du, (size_t)B * D * sizeof *du);
    net_backward(m->be, &m->enc, m->w, m->g, NULL, B);
out:
    free(u), free(e), free(du), free(l), free(id);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double pcnn_verify_accuracy(const float *e, const int *id, size_t n, int D, double *triplets)
{
    double *neg = malloc((n ? n : 1) * sizeof *neg), right = 0, count = 0;
    if (!neg) {
        pcnn_seterr("out of memory for the verification of %zu embeddings", n);
        return NAN;
    }
    for (size_t a = 0; a < n; a++) {
        size_t nn = 0;
        for (size_t k = 0; k < n; k++)
            if (id[k] != id[a]) {
                double s = 0;
                for (int d = 0; d < D; d++) s += ((double)e[a * D + d] - e[k * D + d]) * ((double)e[a * D + d] - e[k * D + d]);
                neg[nn++] = s;
            }
        qsort(neg, nn, sizeof *neg, cmp_double);
        for (size_t k = 0; k < n; k++) {
            if (k == a || id[k] != id[a]) continue;
            double s = 0;
            for (int d = 0; d < D; d++) s += ((double)e[a * D + d] - e[k * D + d]) * ((double)e[a * D + d] - e[k * D + d]);
            /* negatives farther than this positive count 1, equal ones 1/2 */
            size_t lo = 0, hi = nn;
            while (lo < hi) { size_t mid = (lo + hi) / 2; if (neg[mid] < s) lo = mid + 1; else hi = mid; }
            size_t eq = lo;
            while (eq < nn && neg[eq] == s) eq++;
            right += (double)(nn - eq) + 0.5 * (double)(eq - lo);
            count += (double)nn;
        }
    }
    free(neg);
    if (triplets) *triplets = count;
    if (!count) pcnn_seterr("no triplets: no identity has two images and another identity beside it");
    return count ? right / count : NAN;
}

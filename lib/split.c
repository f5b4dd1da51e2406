/* split.c -- a batch split among the CPU's threads: each thread runs its share of the
 * images on a model of its own (a share: its own backend instance, workspace and
 * gradient, the model's weights), and the shares' gradients are summed in memory.
 *
 * Why: a training step is oneDNN's convolutions (tests/bench/README.md), and one call
 * on two threads meets its threads inside every primitive and splits each one's work
 * where one thread per share of the batch meets them once a pass. Two one-thread MPI
 * ranks trained 1.10-1.23x as fast as one two-thread process on 2 cores; this is that
 * split inside one process. Only where each image's loss and gradient depend on that
 * image alone (the kinds' "independent"), and only on the CPU: a GPU backend's
 * threads are one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "kind.h"

static void share_free(pcnn_model *s)
{
    if (!s) return;
    s->w = s->mask = NULL; /* the whole model's */
    pcnn_model_free(s);
}

void pcnn_shares_free(pcnn_model *m)
{
    if (!m->shares) return;
    for (int t = 0; t < PCNN_SHARES_MAX; t++) {
        share_free(m->shares->m[t]);
        pcnn_backend_close(m->shares->be[t]);
    }
    free(m->shares);
    m->shares = NULL;
}

/* thread t's model, made on its first share: a backend instance of its own (oneDNN's
 * primitives made there plan for the one thread they run on) and a gradient of its own */
static pcnn_model *share_model(pcnn_model *m, int t)
{
    pcnn_shares *sh = m->shares;
    if (sh->m[t]) return sh->m[t];
    if (!sh->be[t] && !(sh->be[t] = pcnn_backend_open("cpu"))) return NULL;
    sh->be[t]->one_thread = 1;
    pcnn_model *s = pcnn_model_layout(&m->hp, sh->be[t]);
    if (!s) return NULL;
    s->g = be_alloc(s->be, m->total * sizeof(real));
    if (!s->g) {
        pcnn_backend_nomem(s->be, m->total * sizeof(real), "the gradient of a thread's share");
        share_free(s);
        return NULL;
    }
    return sh->m[t] = s;
}

typedef struct {
    pcnn_model *m;
    real *loss;
    const uint8_t *x;
    const real *h;
    int B, backward;
    int shares; /* the images went to this many shares: 0 when the model ran them itself */
    real gscale;
    int rc[PCNN_SHARES_MAX];
    char err[PCNN_SHARES_MAX][256];
} split_job;

static void run_share(split_job *j, int t, int shares)
{
    pcnn_model *m = j->m;
    const pcnn_hparams *hp = &m->hp;
    int first, count;
    pcnn_dist_share(j->B, shares, t, &first, &count);
    pcnn_model *s = share_model(m, t);
    if (!s) {
        j->rc[t] = -1;
        snprintf(j->err[t], sizeof j->err[t], "%s", pcnn_errstr());
        return;
    }
    s->be->alloc_cap = m->be->alloc_cap, s->be->exact = m->be->exact;
    s->w = m->w, s->mask = m->mask; /* read each time: the trainer swaps in the average */
    s->dropout = m->dropout, s->dropout_seed = m->dropout_seed;
    s->batch_first = m->batch_first + first, s->batch_total = m->batch_total;
    s->batch_named = j->B;
    if (j->backward) be_zero(s->be, s->g, m->total);
    const size_t hw = (size_t)pcnn_kind_h_width(hp);
    j->rc[t] = pcnn_model_run(s, j->loss ? j->loss + first : NULL, j->x + (size_t)first * hp->C * hp->H * hp->W,
                              j->h ? j->h + (size_t)first * hw : NULL, count, j->backward, j->gscale);
    if (j->rc[t]) snprintf(j->err[t], sizeof j->err[t], "%s", pcnn_errstr());
}

static void split_thread(void *arg, int t, int T)
{
    split_job *j = arg;
    pcnn_model *m = j->m;
    if (T == 1) { /* no threads to split among: the whole batch on the model itself */
        j->rc[0] = pcnn_model_run(m, j->loss, j->x, j->h, j->B, j->backward, j->gscale);
        if (j->rc[0]) snprintf(j->err[0], sizeof j->err[0], "%s", pcnn_errstr());
        return;
    }
    const int shares = j->B < T ? j->B : T < PCNN_SHARES_MAX ? T : PCNN_SHARES_MAX;
    if (t == 0) j->shares = shares;
    if (t < shares) run_share(j, t, shares);
    if (!j->backward) return;
    be_meet(m->be);
    for (int s = 0; s < shares; s++)
        if (j->rc[s]) return;
    /* m->g += the shares' gradients, in share order (the same bits for the same number
     * of shares), each thread a slice of it */
    size_t lo = m->total * (size_t)t / (size_t)T, hi = m->total * (size_t)(t + 1) / (size_t)T;
    pcnn_backend *be = m->shares->be[t < shares ? t : 0];
    for (int s = 0; s < shares; s++) be_add(be, m->g + lo, m->shares->m[s]->g + lo, hi - lo);
}

int pcnn_model_run_split(pcnn_model *m, real *loss, const uint8_t *x, const real *h, int B, int backward,
                         real gscale)
{
    if (B < 1) return pcnn_seterr("empty batch");
    if (!pcnn_kind_of(m->hp.kind)->independent || B == 1 || strcmp(pcnn_backend_name(m->be), "cpu"))
        return pcnn_model_run(m, loss, x, h, B, backward, gscale);
    if (pcnn_backend_check(m->be)) return -1;
    pcnn_sampler_drop(m); /* as pcnn_model_run does */
    if (!m->shares && !(m->shares = calloc(1, sizeof *m->shares))) return pcnn_seterr("out of memory");
    split_job *j = calloc(1, sizeof *j);
    if (!j) return pcnn_seterr("out of memory");
    *j = (split_job){.m = m, .loss = loss, .x = x, .h = h, .B = B, .backward = backward, .gscale = gscale};
    be_threads(m->be, split_thread, j);
    int rc = 0;
    for (int t = 0; t < (j->shares ? j->shares : 1) && !rc; t++) {
        if (!j->rc[t]) continue;
        /* a share's device failure is the model's: its instance fails too, as it would
         * have had the images run there; a refused allocation is only an error */
        pcnn_backend *sbe = j->shares ? m->shares->be[t] : NULL;
        if (sbe && sbe->failed && !m->be->failed) pcnn_backend_fail(m->be, "%s", sbe->err);
        rc = pcnn_seterr("%s", j->err[t]);
    }
    free(j);
    return rc ? rc : pcnn_backend_check(m->be);
}

/* workspace.c -- the activations and gradients of a batch: one arena per model, sized
 * for the largest batch seen so far, beneath the kinds' passes (pixelcnn.c, autoenc.c,
 * embed.c) and the sampler. */
#include <stdio.h>

#include "arena.h"
#include "model-impl.h"

int pcnn_model_reserve(pcnn_model *m, int B)
{
    if (B <= m->Bcap) return 0;
    const pcnn_hparams *hp = &m->hp;
    if (net_reserve(m->be, &m->enc, B) || net_reserve(m->be, &m->dec, B)) return -1;
    const int pixelcnn = hp->kind == PCNN_PIXELCNN;
    const size_t M = (size_t)B * hp->H * hp->W, p = hp->p, CK = pixelcnn ? (size_t)hp->C * hp->K : 0;
    const size_t colw = (size_t)p * (hp->n / 2 + 1) * hp->n;
    pcnn_arena ar = {0};
    arena_add(&ar, &m->in, M * hp->C);
    for (int l = 0; pixelcnn && l <= hp->L; l++) {
        pcnn_acts *a = &m->acts[l];
        arena_add(&ar, &a->va, M * 2 * p);
        arena_add(&ar, &a->ha, M * 2 * p);
        arena_add(&ar, &a->vout, M * p);
        arena_add(&ar, &a->hg, M * p);
        arena_add(&ar, &a->hout, M * p);
    }
    arena_add(&ar, &m->z1, M * p);
    arena_add(&ar, &m->r2, M * p);
    arena_add(&ar, &m->logits, M * CK);
    arena_add(&ar, &m->col, M * colw);
    arena_add(&ar, &m->dv, M * p);
    arena_add(&ar, &m->dh, M * p);
    arena_add(&ar, &m->dva, M * 2 * p);
    arena_add(&ar, &m->dha, M * 2 * p);
    arena_add(&ar, &m->dhg, M * p);
    arena_add(&ar, &m->dz, M * p);
    arena_add(&ar, &m->dlogits, M * CK);
    arena_add(&ar, &m->cond, (size_t)B * hp->D);
    arena_add(&ar, &m->cb, (size_t)B * 2 * p);
    arena_add(&ar, &m->dcb, (size_t)B * 2 * p);
    arena_add(&ar, &m->nll, (size_t)B);
    const size_t reals = ar.total, levels = (size_t)B * hp->C * hp->H * hp->W; /* m->x after them */
    char what[64];
    if (m->batch_named > B)
        snprintf(what, sizeof what, "a batch of %d (%d on this thread)", m->batch_named, B);
    else
        snprintf(what, sizeof what, "a batch of %d", B);
    void *ws = arena_alloc(&ar, m->be, levels, what);
    if (!ws) return -1;
    be_release(m->be, m->ws);
    m->ws = ws;
    m->Bcap = B;
    m->x = (uint8_t *)((real *)ws + reals);
    return 0;
}

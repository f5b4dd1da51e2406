/* params.c -- the parameter registry: each layer of a kind or a small net names its
 * tensors here while the model is laid out, and gets their offset in the one block of
 * weights (and of gradients, and of the Adam moments) that model.c then allocates. It
 * sits beneath the kinds and the small nets, which call down into it, never up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"

size_t pcnn_model_add_param(pcnn_model *m, const char *name, int ndim, int d0, int d1, int d2, int d3)
{
    if (m->nparams == m->params_cap) {
        int cap = m->params_cap ? 2 * m->params_cap : 64;
        pcnn_param *grown = realloc(m->params, (size_t)cap * sizeof *grown);
        if (!grown) {
            m->layout_failed = 1;
            return 0;
        }
        m->params = grown, m->params_cap = cap;
    }
    pcnn_param *p = &m->params[m->nparams++];
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    int d[4] = {d0, d1, d2, d3};
    p->count = 1;
    for (int i = 0; i < 4; i++) {
        p->shape[i] = i < ndim ? d[i] : 1;
        if (i < ndim) p->count *= (size_t)d[i];
    }
    p->off = m->total;
    m->total += p->count;
    return p->off;
}

const pcnn_param *pcnn_model_param(const pcnn_model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

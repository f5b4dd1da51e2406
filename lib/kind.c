/* kind.c -- the table of model kinds (kind.h). */
#include "kind.h"

static const pcnn_kind kinds[] = {
    [PCNN_PIXELCNN] = {"pixelcnn", "bpd", pcnn_pixelcnn_layout, pcnn_pixelcnn_masks, pcnn_pixelcnn_run, 0, 1, 1},
    [PCNN_MSE_AUTOENCODER] = {"mse-autoencoder", "mse", pcnn_mse_layout, NULL, pcnn_mse_run, 0, 0, 1},
    [PCNN_EMBEDDING] = {"embedding", "triplet", pcnn_embed_layout, NULL, pcnn_embed_run, 1, 0, 0},
};

const pcnn_kind *pcnn_kind_of(int kind) { return &kinds[kind]; }

const char *pcnn_model_loss_unit(const pcnn_model *m) { return kinds[m->hp.kind].unit; }

const char *pcnn_kind_name(int kind)
{
    return kind >= 0 && kind <= PCNN_EMBEDDING ? kinds[kind].name : "unknown";
}

int pcnn_kind_h_width(const pcnn_hparams *hp)
{
    if (hp->kind == PCNN_EMBEDDING) return hp->classes;
    return hp->kind == PCNN_MSE_AUTOENCODER || hp->encoder ? 0 : hp->D;
}

int pcnn_model_cond(const pcnn_model *m)
{
    const pcnn_hparams *hp = &m->hp;
    if (hp->kind == PCNN_EMBEDDING) return PCNN_COND_IDENTITY;
    if (hp->kind == PCNN_MSE_AUTOENCODER || hp->encoder) return PCNN_COND_CODE;
    if (hp->classes) return PCNN_COND_CLASS;
    return hp->D ? PCNN_COND_VECTOR : PCNN_COND_NONE;
}

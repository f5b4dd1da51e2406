/* kind.h -- the kinds of model, one row each (kind.c): what model.c dispatches on, so
 * that "which kind is it, and what follows from that" is answered in one place. Private
 * to lib/. */
#ifndef PCNN_KIND_H
#define PCNN_KIND_H
#include "model-impl.h"

typedef struct {
    const char *name;   /* the model file's "kind" */
    const char *unit;   /* of the training loss: "bpd", "mse", "triplet" */
    /* its tensors, after the registry is set up (out of memory: m->layout_failed) */
    void (*layout)(pcnn_model *m);
    /* zeros the entries of mask (all 1 on entry) that must stay 0; NULL: none */
    void (*masks)(const pcnn_model *m, real *mask);
    /* the forward pass (and with backward the gradient, into m->g, scaled by gscale):
     * loss[b] per image, h as pcnn_model_run takes it */
    int (*run)(pcnn_model *m, real *loss, const uint8_t *x, const real *h, int B, int backward,
               real gscale);
    /* the loss is a mean per image (1), or per dimension (0) */
    int per_image;
    /* the loss is a log-likelihood in nats, reported in bits */
    int bits;
    /* an image's loss and gradient depend on that image alone: a batch may be split
     * (split.c) */
    int independent;
} pcnn_kind;

/* the row of kind (0..PCNN_EMBEDDING, which pcnn_hparams_check ensures) */
const pcnn_kind *pcnn_kind_of(int kind);
/* the width of the rows of h a trainer step takes: the conditioning, the identities'
 * one-hots of an embedding net, 0 when the model's encoder makes h */
int pcnn_kind_h_width(const pcnn_hparams *hp);

void pcnn_pixelcnn_layout(pcnn_model *m);
void pcnn_pixelcnn_masks(const pcnn_model *m, real *mask);
int pcnn_pixelcnn_run(pcnn_model *m, real *loss, const uint8_t *x, const real *h, int B, int backward,
                      real gscale);
void pcnn_mse_layout(pcnn_model *m);
int pcnn_mse_run(pcnn_model *m, real *loss, const uint8_t *x, const real *h, int B, int backward,
                 real gscale);
void pcnn_embed_layout(pcnn_model *m);
int pcnn_embed_run(pcnn_model *m, real *loss, const uint8_t *x, const real *ids, int B, int backward,
                   real gscale);
#endif

/* cond.c -- what turns h into conditioning, and h out of an image: the layout of the
 * small nets a model kind adds (their forward and backward passes are in convnet.c).
 *
 *   encoder (autoencoder, MSE autoencoder, embedding net), image (H,W,C) → h (D):
 *     conv 4×4/2 C→q, relu; conv 4×4/2 q→2q, relu; dense → D
 *   m() of spatial conditioning, h (D) → s (H,W,S); the MSE decoder is the same net
 *   with S = C:
 *     dense D → (H/4,W/4,2q), relu; deconv 4×4/2 2q→q, relu; deconv 4×4/2 q→S
 * Every size halves with floor, so any H, W >= 4 works; each deconvolution restores the
 * size its mirror-image convolution would have halved. */
#include <stdio.h>

#include "model-impl.h"

static int half(int x) { return (x + 2 - 4) / 2 + 1; }

/* Appends a layer reading the previous layer's output (or hi×wi×ci for the first). */
static void add_layer(pcnn_model *m, pcnn_net *net, const char *prefix, const char *name, net_op op,
                      int relu, int hi, int wi, int ci, int ho, int wo, int co)
{
    net_layer *l = &net->layer[net->n++];
    if (net->n > 1) {
        const net_layer *prev = l - 1;
        hi = prev->ho, wi = prev->wo, ci = prev->co;
    }
    *l = (net_layer){.op = op, .relu = relu, .hi = hi, .wi = wi, .ci = ci, .ho = ho, .wo = wo, .co = co};
    char nm[64];
    snprintf(nm, sizeof nm, "%s.%s.weight", prefix, name);
    if (op == NET_CONV) l->w = pcnn_model_add_param(m, nm, 4, co, ci, 4, 4);
    else if (op == NET_DECONV) l->w = pcnn_model_add_param(m, nm, 4, ci, co, 4, 4);
    else l->w = pcnn_model_add_param(m, nm, 2, ho * wo * co, hi * wi * ci, 0, 0);
    snprintf(nm, sizeof nm, "%s.%s.bias", prefix, name);
    l->b = pcnn_model_add_param(m, nm, 1, op == NET_DENSE ? ho * wo * co : co, 0, 0, 0);
}

void pcnn_net_add_encoder(pcnn_model *m, pcnn_net *net, const char *prefix)
{
    const pcnn_hparams *hp = &m->hp;
    const int H2 = half(hp->H), W2 = half(hp->W), q = hp->q;
    add_layer(m, net, prefix, "conv1", NET_CONV, 1, hp->H, hp->W, hp->C, H2, W2, q);
    add_layer(m, net, prefix, "conv2", NET_CONV, 1, 0, 0, 0, half(H2), half(W2), 2 * q);
    add_layer(m, net, prefix, "fc", NET_DENSE, 0, 0, 0, 0, 1, 1, hp->D);
}

void pcnn_net_add_decoder(pcnn_model *m, pcnn_net *net, const char *prefix, int out_maps)
{
    const pcnn_hparams *hp = &m->hp;
    const int H2 = half(hp->H), W2 = half(hp->W), q = hp->q;
    add_layer(m, net, prefix, "fc", NET_DENSE, 1, 1, 1, hp->D, half(H2), half(W2), 2 * q);
    add_layer(m, net, prefix, "deconv1", NET_DECONV, 1, 0, 0, 0, H2, W2, q);
    add_layer(m, net, prefix, "deconv2", NET_DECONV, 0, 0, 0, 0, hp->H, hp->W, out_maps);
}

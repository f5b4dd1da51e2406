/* convnet.h -- the small feed-forward nets around the PixelCNN (private to lib/): the
 * encoder of the autoencoder, the deconvolutional net m() of spatial conditioning, the
 * MSE decoder and the embedding net. A net is a short chain of layers
 *   conv    4×4, stride 2, padding 1: (h,w,ci) → (⌊h/2⌋,⌊w/2⌋,co)
 *   deconv  its adjoint (a transposed convolution): (⌊h/2⌋,⌊w/2⌋,ci) → (h,w,co)
 *   dense   (h,w,ci) flattened in (row, column, channel) order → (ho,wo,co)
 * each optionally followed by a relu, over the backend table like the PixelCNN itself.
 * Weights live in the model's parameter arena, in PyTorch's layouts: conv (co,ci,4,4),
 * deconv (ci,co,4,4), dense (out,in). */
#ifndef PCNN_CONVNET_H
#define PCNN_CONVNET_H
#include "backend.h"

#define NET_MAX_LAYERS 4

typedef enum { NET_CONV, NET_DECONV, NET_DENSE } net_op;

typedef struct {
    net_op op;
    int relu;
    int hi, wi, ci, ho, wo, co; /* per-image input and output shapes */
    size_t w, b;                /* offsets into the parameter arena */
} net_layer;

typedef struct {
    int n;
    net_layer layer[NET_MAX_LAYERS];
    /* workspace for Bcap images (one backend allocation) */
    int Bcap;
    void *mem;
    real *act[NET_MAX_LAYERS + 1]; /* act[0]: the input (the caller's); act[n]: the output */
    real *dout, *dtmp, *col;       /* gradient ping-pong buffers, window columns */
} pcnn_net;

static inline size_t net_in_size(const pcnn_net *net)
{
    return (size_t)net->layer[0].hi * net->layer[0].wi * net->layer[0].ci;
}
static inline size_t net_out_size(const pcnn_net *net)
{
    const net_layer *l = &net->layer[net->n - 1];
    return (size_t)l->ho * l->wo * l->co;
}
static inline real *net_output(const pcnn_net *net) { return net->act[net->n]; }

int net_reserve(pcnn_backend *be, pcnn_net *net, int B);
void net_free(pcnn_backend *be, pcnn_net *net);
/* act[n] = net(x) for B images, x (B, in size) */
void net_forward(pcnn_backend *be, pcnn_net *net, const real *w, const real *x, int B);
/* With net->dout holding dL/d(output) (B, out size; clobbered), adds dL/dw to g and,
 * when dx != NULL, writes dL/dx (B, in size) there. The forward pass of the same batch
 * must be the last one run on this net. */
void net_backward(pcnn_backend *be, pcnn_net *net, const real *w, real *g, real *dx, int B);
#endif

/* pixelcnn.c -- the Gated PixelCNN kind (van den Oord et al. 2016, sections 2.1-2.3):
 * its tensors and masks, and its forward and backward passes over the backend table.
 *
 * Layer l (l = 0 is the first, mask-A layer; 1..L are mask B), with s = n/2:
 *   va   = Wv * vin  + bv + Vv h      vertical (s+1)×n conv; rows i-s-1..i-1 for l = 0,
 *                                     rows i-s..i after (vin(i) already sees only rows < i)
 *   vout = tanh(va_f) ⊙ σ(va_g)
 *   ha   = Wh * hin + bh + Wlink va + Vh h   horizontal 1×(s+1) conv over cols j-s..j,
 *                                     the tap at j masked by channel group (A or B)
 *   hout = Wo (tanh(ha_f) ⊙ σ(ha_g)) + bo (+ hin for l ≥ 1)
 *                                     in training, optionally with dropout on the gated
 *                                     output of the residual layers (m->dropout)
 * Head: logits = W2 relu(W1 relu(hout_L) + b1) + b2, (C,K) per pixel.
 * Because va(i, j) only sees rows above i, the link needs no shift and the horizontal
 * stack never feeds the vertical one: no blind spot, no leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "model-impl.h"

/* Channel group (0..G-1) of channel ch in a map of N channels made of R equal parts,
 * each split into G consecutive groups (R = 2 for the [f | g] halves of a gate). */
static int group_of(int ch, int N, int R, int G)
{
    int per = N / R;
    return (ch % per) / (per / G);
}

/* Zeros mask entries of a (cout, cin, kh, kw) weight at tap (r, c) where the input
 * group may not feed the output group: strict (mask A) or not (mask B). */
static void mask_tap(real *mask, int cout, int Rout, int cin, int kh, int kw, int r, int c,
                     int G, int strict)
{
    for (int o = 0; o < cout; o++)
        for (int i = 0; i < cin; i++) {
            int go = group_of(o, cout, Rout, G), gi = group_of(i, cin, 1, G);
            if (strict ? gi >= go : gi > go) mask[(((size_t)o * cin + i) * kh + r) * kw + c] = 0;
        }
}

void pcnn_pixelcnn_layout(pcnn_model *m)
{
    const pcnn_hparams *hp = &m->hp;
    const int p = hp->p, s = hp->n / 2, C = hp->C;
    char nm[64];
    for (int l = 0; l <= hp->L; l++) {
        pcnn_layer *ly = &m->layers[l];
        ly->cin = l == 0 ? C : p;
        ly->vshift = l == 0;
        ly->residual = l > 0;
#define P(field, suffix, ...) \
    (snprintf(nm, sizeof nm, "layers.%d.%s", l, suffix), ly->field = pcnn_model_add_param(m, nm, __VA_ARGS__))
        P(v_w, "v_conv.weight", 4, 2 * p, ly->cin, s + 1, hp->n);
        P(v_b, "v_conv.bias", 1, 2 * p, 0, 0, 0);
        P(h_w, "h_conv.weight", 4, 2 * p, ly->cin, 1, s + 1);
        P(h_b, "h_conv.bias", 1, 2 * p, 0, 0, 0);
        P(link_w, "v_to_h.weight", 4, 2 * p, 2 * p, 1, 1);
        P(out_w, "h_out.weight", 4, p, p, 1, 1);
        P(out_b, "h_out.bias", 1, p, 0, 0, 0);
        if (hp->S) { /* unmasked 1×1 convolutions of s */
            P(v_cond, "v_cond.weight", 4, 2 * p, hp->S, 1, 1);
            P(h_cond, "h_cond.weight", 4, 2 * p, hp->S, 1, 1);
        } else if (hp->D) {
            P(v_cond, "v_cond.weight", 2, 2 * p, hp->D, 0, 0);
            P(h_cond, "h_cond.weight", 2, 2 * p, hp->D, 0, 0);
        }
#undef P
    }
    m->out1_w = pcnn_model_add_param(m, "out1.weight", 4, p, p, 1, 1);
    m->out1_b = pcnn_model_add_param(m, "out1.bias", 1, p, 0, 0, 0);
    m->out2_w = pcnn_model_add_param(m, "out2.weight", 4, C * hp->K, p, 1, 1);
    m->out2_b = pcnn_model_add_param(m, "out2.bias", 1, C * hp->K, 0, 0, 0);
    if (hp->encoder) pcnn_net_add_encoder(m, &m->enc, "enc"); /* the autoencoder's */
    if (hp->S) pcnn_net_add_decoder(m, &m->dec, "cond_net", hp->S); /* m() of spatial conditioning */
}

void pcnn_pixelcnn_masks(const pcnn_model *m, real *mask)
{
    const pcnn_hparams *hp = &m->hp;
    const int p = hp->p, s = hp->n / 2, G = hp->C;
    for (int l = 0; l <= hp->L; l++) {
        const pcnn_layer *ly = &m->layers[l];
        mask_tap(mask + ly->h_w, 2 * p, 2, ly->cin, 1, s + 1, 0, s, G, l == 0);
        mask_tap(mask + ly->out_w, p, 1, p, 1, 1, 0, 0, G, 0);
    }
    mask_tap(mask + m->out1_w, p, 1, p, 1, 1, 0, 0, G, 0);
    mask_tap(mask + m->out2_w, hp->C * hp->K, 1, p, 1, 1, 0, 0, G, 0);
}


/* y (M,N) = x (M,K) · W^T, W (N,K) row-major, plus beta*y */
static void linear(pcnn_backend *be, real *y, const real *x, const real *W, int M, int N,
                   int K, real beta)
{
    be_gemm(be, 0, 1, M, N, K, 1, x, K, W, K, beta, y, N);
}

/* y (M,N) = bias (N) broadcast to every row: the start of a product accumulated with
 * beta = 1, one write pass instead of a GEMM's scaling pass and a bias pass */
static void bias_rows(pcnn_backend *be, real *y, const real *bias, int M, int N)
{
    be_copy_rows(be, y, N, bias, 0, N, M, 0);
}

/* y (M,N) = x (M,K) · W^T + bias (N): the product as a 1×1 convolution, which adds the
 * bias as it writes y (no pass of its own); ws: the convolutions' scratch */
static void linear_bias(pcnn_backend *be, real *y, const real *x, const real *W, const real *bias, int M,
                        int N, int K, real *ws)
{
    const pcnn_conv g = {1, 1, M, K, N, 1, 1, 0, 0};
    be_conv_fwd(be, y, x, W, bias, &g, 0, ws);
}

/* The same with the conditioning added: y (B,P,N) = bias + V h_b, V (N,D) the layer's
 * conditioning weights; or, with spatial conditioning, y = bias + V s at every pixel,
 * V (N,S). */
static void start_rows(pcnn_model *m, real *y, const real *bias, const real *V, int B, int P, int N)
{
    pcnn_backend *be = m->be;
    if (m->hp.S) { /* V*s: a 1×1 convolution of the map s = m(h) */
        bias_rows(be, y, bias, B * P, N);
        linear(be, y, net_output(&m->dec), V, B * P, N, m->hp.S, 1);
        return;
    }
    bias_rows(be, m->cb, bias, B, N);
    linear(be, m->cb, m->hcur, V, B, N, m->hp.D, 1);
    for (int b = 0; b < B; b++) be_copy_rows(be, y + (size_t)b * P * N, N, m->cb + (size_t)b * N, 0, N, P, 0);
}

/* A stack's pre-activation y (B,H,W,2p) = conv(x, Wconv) + bias (+ the conditioning
 * V h): without conditioning, the convolution adds the bias itself, one pass over y fewer */
static void stack_conv(pcnn_model *m, real *y, const real *x, size_t Wconv, size_t bias, size_t V,
                       const pcnn_conv *g)
{
    real *w = m->w;
    if (!m->hp.D) {
        be_conv_fwd(m->be, y, x, w + Wconv, w + bias, g, 0, m->col);
        return;
    }
    start_rows(m, y, w + bias, w + V, g->B, g->H * g->W, g->cout);
    be_conv_fwd(m->be, y, x, w + Wconv, NULL, g, 1, m->col);
}

static void forward_layer(pcnn_model *m, int l, const real *vin, const real *hin, int B)
{
    pcnn_backend *be = m->be;
    const pcnn_hparams *hp = &m->hp;
    const pcnn_layer *ly = &m->layers[l];
    pcnn_acts *a = &m->acts[l];
    const int H = hp->H, W = hp->W, M = B * H * W, p = hp->p, s = hp->n / 2, n = hp->n;
    real *w = m->w;
    const uint64_t drop_first = (uint64_t)m->batch_first * H * W * p; /* this share's mask */

    const pcnn_conv vconv = {B, H, W, ly->cin, 2 * p, s + 1, n, -s - ly->vshift, -s};
    const pcnn_conv hconv = {B, H, W, ly->cin, 2 * p, 1, s + 1, 0, -s};
    stack_conv(m, a->va, vin, ly->v_w, ly->v_b, ly->v_cond, &vconv);
    if (l < hp->L) be_gate_fwd(be, a->vout, a->va, M, p); /* the top vertical output feeds nothing */

    stack_conv(m, a->ha, hin, ly->h_w, ly->h_b, ly->h_cond, &hconv);
    linear(be, a->ha, a->va, w + ly->link_w, M, 2 * p, 2 * p, 1);
    be_gate_fwd(be, a->hg, a->ha, M, p);
    if (m->dropout > 0 && ly->residual) be_dropout(be, a->hg, (size_t)M * p, m->dropout, pcnn_dropout_seed(m, l), drop_first);
    linear_bias(be, a->hout, a->hg, w + ly->out_w, w + ly->out_b, M, p, p, m->col);
    if (ly->residual) be_add(be, a->hout, hin, (size_t)M * p);
}

/* dW (N,K) += dy^T (N,M) · x (M,K) */
static void linear_wgrad(pcnn_backend *be, real *dW, const real *dy, const real *x, int M,
                         int N, int K)
{
    be_gemm(be, 1, 0, N, K, M, 1, dy, N, x, K, 1, dW, K);
}

/* dx (M,K) (+)= dy (M,N) · W (N,K) */
static void linear_dgrad(pcnn_backend *be, real *dx, const real *dy, const real *W, int M,
                         int N, int K, real beta)
{
    be_gemm(be, 0, 0, M, K, N, 1, dy, N, W, K, beta, dx, K);
}

/* The conditioning's share of a layer's gradient, da (M,2p) = dL/d(pre-activation):
 * into its weights V, and into h (the encoder's gradient buffer, when h came from the
 * encoder) or s (m()'s gradient buffer). */
static void cond_backward(pcnn_model *m, const real *da, size_t V, int B)
{
    pcnn_backend *be = m->be;
    const int M = B * m->hp.H * m->hp.W, p2 = 2 * m->hp.p, D = m->hp.D, S = m->hp.S;
    if (S) {
        linear_wgrad(be, m->g + V, da, net_output(&m->dec), M, p2, S);
        linear_dgrad(be, m->dec.dout, da, m->w + V, M, p2, S, 1);
        return;
    }
    be_zero(be, m->dcb, (size_t)B * p2);
    be_sum_rows(be, m->dcb, da, B, m->hp.H * m->hp.W, p2);
    linear_wgrad(be, m->g + V, m->dcb, m->hcur, B, p2, D);
    if (m->train_enc) linear_dgrad(be, m->enc.dout, m->dcb, m->w + V, B, p2, D, 1);
}

/* On entry m->dh holds dL/dhout and m->dv dL/dvout of layer l; on exit (l > 0) they
 * hold the gradients of the layer's inputs. */
static void backward_layer(pcnn_model *m, int l, const real *vin, const real *hin, int B)
{
    pcnn_backend *be = m->be;
    const pcnn_hparams *hp = &m->hp;
    const pcnn_layer *ly = &m->layers[l];
    const pcnn_acts *a = &m->acts[l];
    const int H = hp->H, W = hp->W, M = B * H * W, p = hp->p, s = hp->n / 2, n = hp->n;
    real *w = m->w, *g = m->g;
    const uint64_t drop_first = (uint64_t)m->batch_first * H * W * p;

    /* horizontal: hout = Wo hg + bo (+ hin) */
    linear_wgrad(be, g + ly->out_w, m->dh, a->hg, M, p, p);
    be_sum_rows(be, g + ly->out_b, m->dh, 1, M, p);
    linear_dgrad(be, m->dhg, m->dh, w + ly->out_w, M, p, p, 0);
    if (m->dropout > 0 && ly->residual) be_dropout(be, m->dhg, (size_t)M * p, m->dropout, pcnn_dropout_seed(m, l), drop_first);
    be_gate_bwd(be, m->dha, a->ha, m->dhg, M, p);
    if (hp->D) cond_backward(m, m->dha, ly->h_cond, B);
    linear_wgrad(be, g + ly->link_w, m->dha, a->va, M, 2 * p, 2 * p);
    const pcnn_conv vconv = {B, H, W, ly->cin, 2 * p, s + 1, n, -s - ly->vshift, -s};
    const pcnn_conv hconv = {B, H, W, ly->cin, 2 * p, 1, s + 1, 0, -s};
    /* dh already holds the residual path's identity term; the input is data in layer 0,
     * whose gradient is not wanted; the convolutions sum their bias's gradient */
    be_conv_bwd(be, l ? m->dh : NULL, g + ly->h_w, g + ly->h_b, m->dha, hin, w + ly->h_w, &hconv, m->col);

    /* vertical: its gate's gradient plus what flowed through the link */
    if (l < hp->L) be_gate_bwd(be, m->dva, a->va, m->dv, M, p);
    linear_dgrad(be, m->dva, m->dha, w + ly->link_w, M, 2 * p, 2 * p, l < hp->L);
    if (hp->D) cond_backward(m, m->dva, ly->v_cond, B);
    if (l) be_zero(be, m->dv, (size_t)M * p);
    be_conv_bwd(be, l ? m->dv : NULL, g + ly->v_w, g + ly->v_b, m->dva, vin, w + ly->v_w, &vconv, m->col);
}

int pcnn_pixelcnn_run(pcnn_model *m, real *nll_out, const uint8_t *x, const real *h, int B,
                      int backward, real gscale)
{
    if (pcnn_model_reserve(m, B)) return -1;
    pcnn_backend *be = m->be;
    const pcnn_hparams *hp = &m->hp;
    const int H = hp->H, W = hp->W, M = B * H * W, p = hp->p, CK = hp->C * hp->K;
    const size_t npix = (size_t)B * hp->C * H * W;

    be_to_device(be, m->x, x, npix);
    be_levels_to_input(be, m->in, m->x, B, hp->C, H, W, hp->K);
    m->train_enc = 0;
    if (hp->D) {
        if (h) { /* given: a class, a vector, or (autoencoder) a code to decode */
            be_to_device(be, m->cond, h, (size_t)B * hp->D * sizeof(real));
            m->hcur = m->cond;
        } else if (hp->encoder) {
            net_forward(be, &m->enc, m->w, m->in, B);
            m->hcur = net_output(&m->enc);
            m->train_enc = backward;
        } else {
            return pcnn_seterr("the model needs a conditioning vector of size %d", hp->D);
        }
        if (hp->S) net_forward(be, &m->dec, m->w, m->hcur, B);
    }
    for (int l = 0; l <= hp->L; l++) {
        const real *vin = l ? m->acts[l - 1].vout : m->in, *hin = l ? m->acts[l - 1].hout : m->in;
        forward_layer(m, l, vin, hin, B);
    }
    real *hlast = m->acts[hp->L].hout;
    /* head; dz doubles as relu(hout_L), recomputed in the backward pass */
    be_relu_fwd(be, m->dz, hlast, (size_t)M * p);
    linear_bias(be, m->z1, m->dz, m->w + m->out1_w, m->w + m->out1_b, M, p, p, m->col);
    be_relu_fwd(be, m->r2, m->z1, (size_t)M * p);
    linear_bias(be, m->logits, m->r2, m->w + m->out2_w, m->w + m->out2_b, M, CK, p, m->col);
    be_softmax_xent(be, m->nll, backward ? m->dlogits : NULL, m->logits, m->x, B, hp->C, H, W,
                    hp->K, gscale);
    if (nll_out) be_to_host(be, nll_out, m->nll, (size_t)B * sizeof(real));
    if (!backward) return 0;

    real *g = m->g;
    linear_wgrad(be, g + m->out2_w, m->dlogits, m->r2, M, CK, p);
    be_sum_rows(be, g + m->out2_b, m->dlogits, 1, M, CK);
    linear_dgrad(be, m->dhg, m->dlogits, m->w + m->out2_w, M, CK, p, 0);
    be_relu_bwd(be, m->dhg, m->z1, m->dhg, (size_t)M * p);
    be_relu_fwd(be, m->dz, hlast, (size_t)M * p);
    linear_wgrad(be, g + m->out1_w, m->dhg, m->dz, M, p, p);
    be_sum_rows(be, g + m->out1_b, m->dhg, 1, M, p);
    linear_dgrad(be, m->dz, m->dhg, m->w + m->out1_w, M, p, p, 0);
    be_relu_bwd(be, m->dh, hlast, m->dz, (size_t)M * p);
    be_zero(be, m->dv, (size_t)M * p);
    if (hp->S) be_zero(be, m->dec.dout, (size_t)M * hp->S);
    if (m->train_enc) be_zero(be, m->enc.dout, (size_t)B * hp->D);
    for (int l = hp->L; l >= 0; l--) {
        const real *vin = l ? m->acts[l - 1].vout : m->in, *hin = l ? m->acts[l - 1].hout : m->in;
        backward_layer(m, l, vin, hin, B);
    }
    /* through m() into h, through the encoder into its weights; net_backward writes
     * (not adds) dL/dh, which is right because with S > 0 the layers feed nothing else
     * into h's gradient */
    if (hp->S) net_backward(be, &m->dec, m->w, g, m->train_enc ? m->enc.dout : NULL, B);
    if (m->train_enc) net_backward(be, &m->enc, m->w, g, NULL, B);
    be_mul(be, g, m->mask, m->total);
    return 0;
}

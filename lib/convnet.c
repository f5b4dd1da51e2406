/* convnet.c -- forward and backward of the small nets (see convnet.h). */
#include <stdio.h>
#include <stdlib.h>

#include "arena.h"
#include "convnet.h"
#include "pcnn-impl.h"

static size_t in_size(const net_layer *l) { return (size_t)l->hi * l->wi * l->ci; }
static size_t out_size(const net_layer *l) { return (size_t)l->ho * l->wo * l->co; }

/* The 4×4, stride-2, padding-1 window from the larger map (h, w) to the smaller one. */
static pcnn_window window(const net_layer *l, int B)
{
    if (l->op == NET_CONV) return (pcnn_window){B, l->hi, l->wi, l->ci, l->ho, l->wo, 4, 4, 2, -1, -1};
    return (pcnn_window){B, l->ho, l->wo, l->co, l->hi, l->wi, 4, 4, 2, -1, -1};
}

static size_t col_size(const net_layer *l)
{
    if (l->op == NET_CONV) return (size_t)l->ho * l->wo * l->ci * 16;
    if (l->op == NET_DECONV) return (size_t)l->hi * l->wi * l->co * 16;
    return 0;
}

int net_reserve(pcnn_backend *be, pcnn_net *net, int B)
{
    if (B <= net->Bcap || !net->n) return 0;
    size_t big = 0, col = 0;
    for (int k = 0; k < net->n; k++) {
        const net_layer *l = &net->layer[k];
        if (in_size(l) > big) big = in_size(l);
        if (out_size(l) > big) big = out_size(l);
        if (col_size(l) > col) col = col_size(l);
    }
    pcnn_arena ar = {0};
    for (int k = 0; k < net->n; k++) arena_add(&ar, &net->act[k + 1], (size_t)B * out_size(&net->layer[k]));
    arena_add(&ar, &net->dout, (size_t)B * big);
    arena_add(&ar, &net->dtmp, (size_t)B * big);
    arena_add(&ar, &net->col, (size_t)B * col);
    char what[48];
    snprintf(what, sizeof what, "a batch of %d", B);
    void *mem = arena_alloc(&ar, be, 0, what);
    if (!mem) return -1;
    be_release(be, net->mem);
    net->mem = mem;
    net->Bcap = B;
    return 0;
}

void net_free(pcnn_backend *be, pcnn_net *net)
{
    if (net->mem) be_release(be, net->mem);
    net->mem = NULL;
    net->Bcap = 0;
}

void net_forward(pcnn_backend *be, pcnn_net *net, const real *w, const real *x, int B)
{
    net->act[0] = (real *)x;
    for (int k = 0; k < net->n; k++) {
        const net_layer *l = &net->layer[k];
        const real *in = net->act[k];
        real *out = net->act[k + 1];
        const int ci = l->ci, co = l->co;
        if (l->op == NET_DENSE) {
            const int ni = (int)in_size(l), no = (int)out_size(l);
            be_copy_rows(be, out, no, w + l->b, 0, no, B, 0);
            be_gemm(be, 0, 1, B, no, ni, 1, in, ni, w + l->w, ni, 1, out, no);
        } else if (l->op == NET_CONV) {
            const pcnn_window g = window(l, B);
            const int M = B * l->ho * l->wo;
            be_im2col_strided(be, net->col, in, &g);
            be_copy_rows(be, out, co, w + l->b, 0, co, M, 0);
            be_gemm(be, 0, 1, M, co, ci * 16, 1, net->col, ci * 16, w + l->w, ci * 16, 1, out, co);
        } else {
            const pcnn_window g = window(l, B);
            const int Ms = B * l->hi * l->wi;
            be_gemm(be, 0, 0, Ms, co * 16, ci, 1, in, ci, w + l->w, co * 16, 0, net->col, co * 16);
            be_copy_rows(be, out, co, w + l->b, 0, co, B * l->ho * l->wo, 0);
            be_col2im_strided(be, out, net->col, &g);
        }
        if (l->relu) be_relu_fwd(be, out, out, (size_t)B * out_size(l));
    }
}

void net_backward(pcnn_backend *be, pcnn_net *net, const real *w, real *g, real *dx, int B)
{
    real *dy = net->dout, *spare = net->dtmp;
    for (int k = net->n - 1; k >= 0; k--) {
        const net_layer *l = &net->layer[k];
        const real *in = net->act[k], *out = net->act[k + 1];
        const int ci = l->ci, co = l->co;
        real *dst = k ? spare : dx; /* where dL/d(input) goes; NULL: not wanted */
        if (l->relu) be_relu_bwd(be, dy, out, dy, (size_t)B * out_size(l));
        if (l->op == NET_DENSE) {
            const int ni = (int)in_size(l), no = (int)out_size(l);
            be_gemm(be, 1, 0, no, ni, B, 1, dy, no, in, ni, 1, g + l->w, ni);
            be_sum_rows(be, g + l->b, dy, 1, B, no);
            if (dst) be_gemm(be, 0, 0, B, ni, no, 1, dy, no, w + l->w, ni, 0, dst, ni);
        } else if (l->op == NET_CONV) {
            const pcnn_window win = window(l, B);
            const int M = B * l->ho * l->wo;
            be_im2col_strided(be, net->col, in, &win);
            be_gemm(be, 1, 0, co, ci * 16, M, 1, dy, co, net->col, ci * 16, 1, g + l->w, ci * 16);
            be_sum_rows(be, g + l->b, dy, 1, M, co);
            if (dst) {
                be_gemm(be, 0, 0, M, ci * 16, co, 1, dy, co, w + l->w, ci * 16, 0, net->col, ci * 16);
                be_zero(be, dst, (size_t)B * in_size(l));
                be_col2im_strided(be, dst, net->col, &win);
            }
        } else {
            const pcnn_window win = window(l, B);
            const int Ms = B * l->hi * l->wi;
            be_im2col_strided(be, net->col, dy, &win);
            be_gemm(be, 1, 0, ci, co * 16, Ms, 1, in, ci, net->col, co * 16, 1, g + l->w, co * 16);
            be_sum_rows(be, g + l->b, dy, 1, B * l->ho * l->wo, co);
            if (dst) be_gemm(be, 0, 1, Ms, ci, co * 16, 1, net->col, co * 16, w + l->w, co * 16, 0, dst, ci);
        }
        if (!dst) break;
        spare = dy;
        dy = dst;
    }
}

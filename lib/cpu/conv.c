/* conv.c -- CPU twin of kernels/conv.cu: the stacks' convolutions (forward, backward data,
 * backward filter), NHWC activations, (cout,cin,kh,kw) weights.
 *
 * Through oneDNN's direct convolution where it takes the shape: the primitive PyTorch runs
 * on CPUs, 2.2x our im2col + OpenBLAS GEMM on the Fashion model's vertical convolution
 * (tests/bench/dnnl.c). Our windows are shifted up and left (output (i, j) reads input
 * (i+oy+r, j+ox+c)): that is a convolution with padding -oy above and -ox on the left, and
 * kh-1+oy below and kw-1+ox on the right. Where one of those is negative (the first
 * layer's vertical window, which skips the current row) and in the double-precision build
 * of the gradient checks, im2col + GEMM does it, with the same arithmetic as before.
 * Primitives are made once per shape and kept; the weights go through a reorder into the
 * layout the primitive prefers on every call (a few hundred KB, next to MBs of
 * activations). oneDNN overwrites its outputs, so the accumulating backward passes write
 * into the scratch ws and add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static void gemm_fwd(real *y, const real *x, const real *w, const pcnn_conv *g, real beta, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_im2col(ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    cpu_gemm(0, 1, M, g->cout, K, 1, ws, K, w, K, beta, y, g->cout);
}

static void gemm_bwd_data(real *dx, const real *dy, const real *w, const pcnn_conv *g, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_gemm(0, 0, M, K, g->cout, 1, dy, g->cout, w, K, 0, ws, K);
    cpu_col2im(dx, ws, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox);
}

static void gemm_bwd_filter(real *dw, const real *dy, const real *x, const pcnn_conv *g, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_im2col(ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    cpu_gemm(1, 0, g->cout, K, M, 1, dy, g->cout, ws, K, 1, dw, K);
}

#ifdef PCNN_DOUBLE
void cpu_conv_fwd(real *y, const real *x, const real *w, const pcnn_conv *g, real beta, real *ws)
{
    gemm_fwd(y, x, w, g, beta, ws);
}
void cpu_conv_bwd_data(real *dx, const real *dy, const real *w, const pcnn_conv *g, real *ws)
{
    gemm_bwd_data(dx, dy, w, g, ws);
}
void cpu_conv_bwd_filter(real *dw, const real *dy, const real *x, const pcnn_conv *g, real *ws)
{
    gemm_bwd_filter(dw, dy, x, g, ws);
}
#else
#include <oneapi/dnnl/dnnl.h>

static void check(dnnl_status_t st, const char *what)
{
    if (st == dnnl_success) return;
    fprintf(stderr, "pcnn: oneDNN error %d in %s\n", (int)st, what); /* a bug, not bad input */
    abort();
}
#define OK(call) check((call), #call)

static dnnl_engine_t engine;
static dnnl_stream_t stream;

enum { FWD, FWD_SUM, DATA, FILTER, KINDS };

typedef struct {
    pcnn_conv g;
    int kind;
    int usable;             /* 0: oneDNN declined the shape, use im2col + GEMM */
    int kh;                 /* the kernel height oneDNN computes (FILTER: maybe more, see below) */
    dnnl_primitive_t prim;
    dnnl_primitive_t w_reorder;    /* user weights (oihw) to the primitive's, or back (FILTER) */
    dnnl_memory_t x, y, w_user, w_prim;
} plan;

static void md(dnnl_memory_desc_t *d, int n, int c, int h, int w, dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {n, c, h, w};
    OK(dnnl_memory_desc_init_by_tag(d, 4, dims, dnnl_f32, tag));
}

/* The forward primitive descriptor of a shape (also the hint of the backward ones);
 * NULL when oneDNN has no implementation or the padding would be negative. */
static dnnl_primitive_desc_t forward_pd(const pcnn_conv *g, int kh, dnnl_prop_kind_t prop, int sum)
{
    dnnl_dims_t strides = {1, 1}, pad_l = {-g->oy, -g->ox}, pad_r = {kh - 1 + g->oy, g->kw - 1 + g->ox};
    if (pad_r[0] < 0 || pad_r[1] < 0) return NULL;
    dnnl_memory_desc_t x, y, w;
    md(&x, g->B, g->cin, g->H, g->W, dnnl_nhwc);
    md(&y, g->B, g->cout, g->H, g->W, dnnl_nhwc);
    md(&w, g->cout, g->cin, kh, g->kw, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    if (dnnl_convolution_forward_desc_init(&cd, prop, dnnl_convolution_direct, &x, &w, NULL, &y, strides,
                                           pad_l, pad_r) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    if (sum) { /* y = conv + y */
        OK(dnnl_primitive_attr_create(&attr));
        OK(dnnl_post_ops_create(&po));
        OK(dnnl_post_ops_append_sum(po, 1.0f));
        OK(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_primitive_desc_create(&pd, &cd, attr, engine, NULL) != dnnl_success) pd = NULL;
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* The backward primitive descriptor (DATA or FILTER) of a shape computed with kernel
 * height kh; NULL where oneDNN has none. */
static dnnl_primitive_desc_t backward_pd(const pcnn_conv *g, int kh, int kind)
{
    dnnl_primitive_desc_t fpd = forward_pd(g, kh, dnnl_forward_training, 0);
    if (!fpd) return NULL;
    dnnl_dims_t strides = {1, 1}, pad_l = {-g->oy, -g->ox}, pad_r = {kh - 1 + g->oy, g->kw - 1 + g->ox};
    dnnl_memory_desc_t x, y, w;
    md(&x, g->B, g->cin, g->H, g->W, dnnl_nhwc);
    md(&y, g->B, g->cout, g->H, g->W, dnnl_nhwc);
    md(&w, g->cout, g->cin, kh, g->kw, dnnl_format_tag_any);
    dnnl_convolution_desc_t cd;
    dnnl_status_t st = kind == DATA
        ? dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &x, &w, &y, strides, pad_l, pad_r)
        : dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &x, &w, NULL, &y, strides, pad_l, pad_r);
    dnnl_primitive_desc_t pd = NULL;
    if (st == dnnl_success && dnnl_primitive_desc_create(&pd, &cd, NULL, engine, fpd) != dnnl_success) pd = NULL;
    dnnl_primitive_desc_destroy(fpd);
    return pd;
}

static int avx512(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           strstr(impl, "avx512");
}

static dnnl_primitive_t reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t rpd;
    dnnl_primitive_t r;
    OK(dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, NULL));
    OK(dnnl_primitive_create(&r, rpd));
    dnnl_primitive_desc_destroy(rpd);
    return r;
}

static plan *plan_for(const pcnn_conv *g, int kind)
{
    static plan plans[128];
    static int nplans, next;
    for (int i = 0; i < nplans; i++)
        if (plans[i].kind == kind && !memcmp(&plans[i].g, g, sizeof *g)) return &plans[i];
    if (!engine) {
        OK(dnnl_engine_create(&engine, dnnl_cpu, 0));
        OK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    }
    plan *p = &plans[next];
    if (nplans == 128 && p->prim) { /* more shapes than any model has: recycle the oldest */
        dnnl_primitive_destroy(p->prim), dnnl_primitive_destroy(p->w_reorder);
        dnnl_memory_destroy(p->x), dnnl_memory_destroy(p->y);
        dnnl_memory_destroy(p->w_user), dnnl_memory_destroy(p->w_prim);
    }
    next = (next + 1) % 128;
    if (nplans < 128) nplans++;
    memset(p, 0, sizeof *p);
    p->g = *g;
    p->kind = kind;

    p->kh = g->kh;
    dnnl_primitive_desc_t pd = kind <= FWD_SUM ? forward_pd(g, g->kh, dnnl_forward_inference, kind == FWD_SUM)
                                               : backward_pd(g, g->kh, kind);
    /* For the vertical window (padded above only) oneDNN 2.6 has only its AVX2
     * backward-weights kernel, 1.5x slower on an AVX-512 CPU than its AVX-512 one on the
     * window extended to as many rows below as above (tests/bench/README.md). Those extra
     * rows read pixels the real window never does; their gradient is computed and dropped. */
    if (pd && kind == FILTER && -g->oy > g->kh - 1 + g->oy && !avx512(pd) &&
        dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core) {
        int kh = 1 - 2 * g->oy; /* rows i+oy .. i-oy */
        dnnl_primitive_desc_t wide = backward_pd(g, kh, kind);
        if (wide && avx512(wide)) {
            dnnl_primitive_desc_destroy(pd);
            pd = wide, p->kh = kh;
        } else if (wide) {
            dnnl_primitive_desc_destroy(wide);
        }
    }
    if (!pd) return p;
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(
        pd, kind == FILTER ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    dnnl_memory_desc_t x, y, wu;
    md(&x, g->B, g->cin, g->H, g->W, dnnl_nhwc);
    md(&y, g->B, g->cout, g->H, g->W, dnnl_nhwc);
    md(&wu, g->cout, g->cin, p->kh, g->kw, dnnl_oihw);
    OK(dnnl_memory_create(&p->x, &x, engine, DNNL_MEMORY_NONE));
    OK(dnnl_memory_create(&p->y, &y, engine, DNNL_MEMORY_NONE));
    OK(dnnl_memory_create(&p->w_user, &wu, engine, DNNL_MEMORY_NONE));
    OK(dnnl_memory_create(&p->w_prim, wmd, engine, DNNL_MEMORY_ALLOCATE));
    p->w_reorder = kind == FILTER ? reorder(wmd, &wu) : reorder(&wu, wmd);
    OK(dnnl_primitive_create(&p->prim, pd));
    dnnl_primitive_desc_destroy(pd);
    p->usable = 1;
    return p;
}

static void run(dnnl_primitive_t prim, int n, const dnnl_exec_arg_t *args)
{
    OK(dnnl_primitive_execute(prim, stream, n, args));
    OK(dnnl_stream_wait(stream));
}

void cpu_conv_fwd(real *y, const real *x, const real *w, const pcnn_conv *g, real beta, real *ws)
{
    plan *p = (beta == 0 || beta == 1) ? plan_for(g, beta == 0 ? FWD : FWD_SUM) : NULL;
    if (!p || !p->usable) {
        gemm_fwd(y, x, w, g, beta, ws);
        return;
    }
    OK(dnnl_memory_set_data_handle(p->x, (void *)x));
    OK(dnnl_memory_set_data_handle(p->y, y));
    OK(dnnl_memory_set_data_handle(p->w_user, (void *)w));
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_user}, {DNNL_ARG_TO, p->w_prim}};
    run(p->w_reorder, 2, r);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->x}, {DNNL_ARG_WEIGHTS, p->w_prim}, {DNNL_ARG_DST, p->y}};
    run(p->prim, 3, a);
}

void cpu_conv_bwd_data(real *dx, const real *dy, const real *w, const pcnn_conv *g, real *ws)
{
    plan *p = plan_for(g, DATA);
    if (!p->usable) {
        gemm_bwd_data(dx, dy, w, g, ws);
        return;
    }
    OK(dnnl_memory_set_data_handle(p->x, ws));
    OK(dnnl_memory_set_data_handle(p->y, (void *)dy));
    OK(dnnl_memory_set_data_handle(p->w_user, (void *)w));
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_user}, {DNNL_ARG_TO, p->w_prim}};
    run(p->w_reorder, 2, r);
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_SRC, p->x}, {DNNL_ARG_WEIGHTS, p->w_prim}, {DNNL_ARG_DIFF_DST, p->y}};
    run(p->prim, 3, a);
    cpu_add(dx, ws, (size_t)g->B * g->H * g->W * g->cin);
}

void cpu_conv_bwd_filter(real *dw, const real *dy, const real *x, const pcnn_conv *g, real *ws)
{
    plan *p = plan_for(g, FILTER);
    if (!p->usable) {
        gemm_bwd_filter(dw, dy, x, g, ws);
        return;
    }
    OK(dnnl_memory_set_data_handle(p->x, (void *)x));
    OK(dnnl_memory_set_data_handle(p->y, (void *)dy));
    OK(dnnl_memory_set_data_handle(p->w_user, ws));
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->x}, {DNNL_ARG_DIFF_WEIGHTS, p->w_prim}, {DNNL_ARG_DIFF_DST, p->y}};
    run(p->prim, 3, a);
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_prim}, {DNNL_ARG_TO, p->w_user}};
    run(p->w_reorder, 2, r);
    if (p->kh == g->kh) {
        cpu_add(dw, ws, (size_t)g->cout * g->cin * g->kh * g->kw);
        return;
    }
    /* the first kh rows of each (out, in) kernel of the wider window */
    const size_t pairs = (size_t)g->cout * g->cin, rows = (size_t)g->kh * g->kw;
    for (size_t k = 0; k < pairs; k++) cpu_add(dw + k * rows, ws + k * p->kh * g->kw, rows);
}
#endif

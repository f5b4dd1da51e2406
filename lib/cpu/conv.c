/* conv.c -- CPU twin of kernels/conv.cu: the stacks' convolutions (forward, backward data,
 * backward filter), NHWC activations, (cout,cin,kh,kw) weights.
 *
 * Through oneDNN's direct convolution where it takes the shape: the primitive PyTorch runs
 * on CPUs, 2.2x our im2col + OpenBLAS GEMM on the Fashion model's vertical convolution
 * (tests/bench/dnnl.c). Our windows are shifted up and left (output (i, j) reads input
 * (i+oy+r, j+ox+c)): that is a convolution with padding -oy above and -ox on the left, and
 * kh-1+oy below and kw-1+ox on the right. Where one of those is negative (the first
 * layer's vertical window, which skips the current row) and in the double-precision build
 * of the gradient checks, im2col + GEMM does it, with the same arithmetic as before (the
 * backward filter there: conv_filter.c's sgemms, in the single-precision build). On AVX2
 * the horizontal window's forward pass at maps that are not whole vectors of 8 is
 * conv_taps.c's kernel, where oneDNN 2.6's runs at half speed; the backward filter of a
 * window, on AVX2 and at maps that are not whole vectors of 16, conv_filter.c's sgemms.
 * Primitives are made once per shape and kept in the instance's context (with the engine
 * and stream); the weights go through a reorder into the
 * layout the primitive prefers on every call (a few hundred KB, next to MBs of
 * activations). The backward passes also take their activations in the layout oneDNN
 * prefers for them (nChw8c on AVX2), reordered in and out through scratch kept in the
 * context: on AVX2, its backward kernels on blocked channels are 1.15-1.4x faster than on
 * NHWC at the horizontal convolution, reorders included (tests/bench/README.md); so is,
 * on AVX2 at maps that are not whole vectors of 8, the vertical window's forward pass. oneDNN
 * overwrites its outputs, so backward data accumulates through its reorder back to NHWC
 * (a sum post-op), or writes into the scratch ws and adds; backward filter writes into
 * scratch and adds. A bias is oneDNN's own: the forward pass adds it (DNNL_ARG_BIAS), where
 * filling y with it for a sum post-op cost a write and a read of y more, 2.5-3% of an NLL
 * pass of the CIFAR-like model; the backward filter sums its gradient (DNNL_ARG_DIFF_BIAS)
 * in no measurable time, where sum_rows read dy once more. A oneDNN call that fails records
 * the failure in the instance and the convolution returns. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

/* with a bias and beta 0, y starts as the bias and the product adds to it; with beta
 * not 0, the bias is added after */
static void gemm_fwd(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                     const pcnn_conv *g, real beta, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    const int first = bias && beta == 0;
    if (first) cpu_copy_rows(be, y, g->cout, bias, 0, g->cout, M, 0);
    cpu_im2col(be, ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    cpu_gemm(be, 0, 1, M, g->cout, K, 1, ws, K, w, K, first ? 1 : beta, y, g->cout);
    if (bias && !first) cpu_add_rows(be, y, bias, 1, M, g->cout);
}

static void gemm_bwd_data(pcnn_backend *be, real *dx, const real *dy, const real *w,
                          const pcnn_conv *g, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_gemm(be, 0, 0, M, K, g->cout, 1, dy, g->cout, w, K, 0, ws, K);
    cpu_col2im(be, dx, ws, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox);
}

#ifdef PCNN_DOUBLE
static void gemm_bwd_filter(pcnn_backend *be, real *dw, const real *dy, const real *x,
                            const pcnn_conv *g, real *ws)
{
    const int M = g->B * g->H * g->W, K = g->cin * g->kh * g->kw;
    cpu_im2col(be, ws, x, g->B, g->H, g->W, g->cin, g->kh, g->kw, g->oy, g->ox, 0, g->H, 0, g->W);
    cpu_gemm(be, 1, 0, g->cout, K, M, 1, dy, g->cout, ws, K, 1, dw, K);
}

int cpu_conv_open(pcnn_backend *be)
{
    (void)be;
    return 0;
}
void cpu_conv_close(pcnn_backend *be) { (void)be; }
void cpu_conv_fwd(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                  const pcnn_conv *g, real beta, real *ws)
{
    gemm_fwd(be, y, x, w, bias, g, beta, ws);
}
void cpu_conv_bwd(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy, const real *x,
                  const real *w, const pcnn_conv *g, real *ws)
{
    gemm_bwd_filter(be, dw, dy, x, g, ws);
    if (db) cpu_sum_rows(be, db, dy, 1, g->B * g->H * g->W, g->cout);
    if (dx) gemm_bwd_data(be, dx, dy, w, g, ws);
}
#else
#include <oneapi/dnnl/dnnl.h>

/* 1 when a oneDNN call succeeded; else records it in be (the first failure) and gives 0 */
static int ok(pcnn_backend *be, dnnl_status_t st, const char *call, int line)
{
    if (st == dnnl_success) return 1;
    pcnn_backend_fail(be, "oneDNN error %d in %s at %s:%d", (int)st, call, __FILE__, line);
    return 0;
}
#define OK(call) ok(be, (call), #call, __LINE__)

/* what a plan computes: one of FWD, DATA, FILTER, with flags */
enum {
    FWD = 0, DATA = 1, FILTER = 2, OP = 3,
    SUM = 4,       /* the forward pass adds to y */
    BIAS = 32,     /* the forward pass adds a bias (cout); FILTER also sums the bias's gradient */
    WT = 8,        /* the user's weights are (cin, cout), a product's B (cpu_conv_product) */
    KEEP_NHWC = 16, /* a backward pass on the NHWC activations themselves */
};
enum { PLANS = 128 }; /* more shapes than any model has; beyond, the oldest is remade */

typedef struct {
    pcnn_conv g;
    int kind;
    int usable;             /* 0: oneDNN declined the shape, use im2col + GEMM */
    int tall;               /* FILTER: the zero rows that make the padding even (plan_for), or 0 */
    dnnl_primitive_t prim;
    dnnl_primitive_t w_reorder;    /* user weights (oihw) to the primitive's, or back (FILTER) */
    dnnl_memory_t x, y, w_user, w_prim;
    dnnl_memory_t b; /* with BIAS: the bias (FWD) or its gradient (FILTER, in scratch 3), (cout) */
    /* NULL where the primitive takes NHWC: x (FWD, FILTER: in; DATA: out, summed into the
     * user's dx) and y (FWD: out, summed with SUM; backward: dy, in) between NHWC and the
     * primitive's layout, whose memory xb, yb lives in the context's scratch; a tall
     * plan's xb and yb are its own, zeroed once, and the reorders write the image's H rows
     * of them (xb_rows, yb_rows), or, NHWC to NHWC (x_reorder and y_reorder NULL),
     * copy_rows does */
    dnnl_primitive_t x_reorder, y_reorder;
    dnnl_memory_t xb, yb, xb_rows, yb_rows;
} plan;

/* the instance's oneDNN state (cpu_context) */
typedef struct convs {
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    plan plans[PLANS];
    int nplans, next;
    /* the blocked x and y of the backward pass running now; a filter gradient as oneDNN
     * writes it (bwd_filter); the bias's gradient */
    void *scratch[4];
    size_t scratch_size[4];
} convs;

static int md(pcnn_backend *be, dnnl_memory_desc_t *d, int n, int c, int h, int w,
              dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {n, c, h, w};
    return OK(dnnl_memory_desc_init_by_tag(d, 4, dims, dnnl_f32, tag));
}

/* x (B,cin,H,W), y (B,cout,H,W) in NHWC, weights (cout,cin,kh,kw) in the layout wtag */
static int mds(pcnn_backend *be, dnnl_memory_desc_t *x, dnnl_memory_desc_t *y,
               dnnl_memory_desc_t *w, const pcnn_conv *g, dnnl_format_tag_t wtag)
{
    return md(be, x, g->B, g->cin, g->H, g->W, dnnl_nhwc) && md(be, y, g->B, g->cout, g->H, g->W, dnnl_nhwc) &&
           md(be, w, g->cout, g->cin, g->kh, g->kw, wtag);
}

/* *attr: NULL, or (sum) one whose post-op adds what the output held (y = op + y); 0 when
 * a oneDNN call failed */
static int sum_attr(pcnn_backend *be, int sum, dnnl_primitive_attr_t *attr)
{
    dnnl_post_ops_t po = NULL;
    *attr = NULL;
    if (!sum) return 1;
    int done = OK(dnnl_primitive_attr_create(attr)) && OK(dnnl_post_ops_create(&po)) &&
               OK(dnnl_post_ops_append_sum(po, 1.0f)) && OK(dnnl_primitive_attr_set_post_ops(*attr, po));
    if (po) dnnl_post_ops_destroy(po);
    if (!done && *attr) dnnl_primitive_attr_destroy(*attr), *attr = NULL;
    return done;
}

/* The forward primitive descriptor of a shape (also the hint of the backward ones);
 * NULL when oneDNN has no implementation or the padding would be negative. */
static dnnl_primitive_desc_t forward_pd(pcnn_backend *be, const pcnn_conv *g, dnnl_prop_kind_t prop, int sum,
                                        const dnnl_memory_desc_t *bias, dnnl_format_tag_t xytag)
{
    convs *c = CPU_CONTEXT(be)->convs;
    const int kh = g->kh;
    dnnl_dims_t strides = {1, 1}, pad_l = {-g->oy, -g->ox}, pad_r = {kh - 1 + g->oy, g->kw - 1 + g->ox};
    if (pad_r[0] < 0 || pad_r[1] < 0) return NULL;
    dnnl_memory_desc_t x, y, w;
    if (!(md(be, &x, g->B, g->cin, g->H, g->W, xytag) && md(be, &y, g->B, g->cout, g->H, g->W, xytag) &&
          md(be, &w, g->cout, g->cin, kh, g->kw, dnnl_format_tag_any)))
        return NULL;
    dnnl_convolution_desc_t cd;
    if (dnnl_convolution_forward_desc_init(&cd, prop, dnnl_convolution_direct, &x, &w, bias, &y, strides,
                                           pad_l, pad_r) != dnnl_success)
        return NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (!sum_attr(be, sum, &attr)) return NULL;
    if (dnnl_primitive_desc_create(&pd, &cd, attr, c->engine, NULL) != dnnl_success) pd = NULL;
    if (attr) dnnl_primitive_attr_destroy(attr);
    return pd;
}

/* The backward primitive descriptor (DATA or FILTER) of a shape, activations in the
 * layout oneDNN prefers (NHWC with KEEP_NHWC), the bias's gradient with FILTER | BIAS
 * (bias: its layout); NULL where oneDNN has none. */
static dnnl_primitive_desc_t backward_pd(pcnn_backend *be, const pcnn_conv *g, int kind,
                                         const dnnl_memory_desc_t *bias)
{
    convs *c = CPU_CONTEXT(be)->convs;
    const int kh = g->kh;
    const dnnl_format_tag_t xytag = kind & KEEP_NHWC ? dnnl_nhwc : dnnl_format_tag_any;
    if (!(kind & BIAS)) bias = NULL;
    dnnl_primitive_desc_t fpd = forward_pd(be, g, dnnl_forward_training, 0, bias, xytag);
    if (!fpd) return NULL;
    dnnl_dims_t strides = {1, 1}, pad_l = {-g->oy, -g->ox}, pad_r = {kh - 1 + g->oy, g->kw - 1 + g->ox};
    dnnl_memory_desc_t x, y, w;
    dnnl_primitive_desc_t pd = NULL;
    if (md(be, &x, g->B, g->cin, g->H, g->W, xytag) && md(be, &y, g->B, g->cout, g->H, g->W, xytag) &&
        md(be, &w, g->cout, g->cin, kh, g->kw, dnnl_format_tag_any)) {
        dnnl_convolution_desc_t cd;
        dnnl_status_t st = (kind & OP) == DATA
            ? dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &x, &w, &y, strides, pad_l, pad_r)
            : dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &x, &w, bias, &y, strides, pad_l, pad_r);
        if (st == dnnl_success && dnnl_primitive_desc_create(&pd, &cd, NULL, c->engine, fpd) != dnnl_success)
            pd = NULL;
    }
    dnnl_primitive_desc_destroy(fpd);
    return pd;
}

static int avx512(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl &&
           strstr(impl, "avx512");
}

/* A backward primitive descriptor as backward_pd's, taking the NHWC activations as they
 * are where its kernel is an AVX-512 one and both sides' maps are whole vectors of 16:
 * there oneDNN 2.6's backward kernels ran as fast on NHWC as on blocked maps, and the
 * reorders in and out of the blocked layout were 6.5% of a Fashion training step's oneDNN
 * time. At 126 maps (a tail in every pixel) NHWC ran 10-20% slower, and on AVX2 its
 * filter kernel was slower: there the blocked layout stays (tests/bench/README.md). */
static dnnl_primitive_desc_t backward_fast(pcnn_backend *be, const pcnn_conv *g, int kind,
                                           const dnnl_memory_desc_t *bias)
{
    if (!(kind & KEEP_NHWC) && g->cin % 16 == 0 && g->cout % 16 == 0 &&
        dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core) {
        dnnl_primitive_desc_t pd = backward_pd(be, g, kind | KEEP_NHWC, bias);
        if (pd && avx512(pd)) return pd;
        if (pd) dnnl_primitive_desc_destroy(pd);
    }
    return backward_pd(be, g, kind, bias);
}

/* a reorder that overwrites its output, or adds to it (sum) */
static dnnl_primitive_t reorder(pcnn_backend *be, const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                int sum)
{
    convs *c = CPU_CONTEXT(be)->convs;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_primitive_desc_t rpd = NULL;
    dnnl_primitive_t r = NULL;
    if (sum_attr(be, sum, &attr) && OK(dnnl_reorder_primitive_desc_create(&rpd, from, c->engine, to, c->engine, attr)) &&
        !OK(dnnl_primitive_create(&r, rpd)))
        r = NULL;
    if (rpd) dnnl_primitive_desc_destroy(rpd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return r;
}

/* frees what a plan holds (all of it may be NULL) */
static void plan_clear(plan *p)
{
    dnnl_primitive_destroy(p->prim), dnnl_primitive_destroy(p->w_reorder);
    dnnl_primitive_destroy(p->x_reorder), dnnl_primitive_destroy(p->y_reorder);
    dnnl_memory_destroy(p->x), dnnl_memory_destroy(p->y);
    dnnl_memory_destroy(p->xb), dnnl_memory_destroy(p->yb);
    dnnl_memory_destroy(p->xb_rows), dnnl_memory_destroy(p->yb_rows);
    dnnl_memory_destroy(p->w_user), dnnl_memory_destroy(p->w_prim), dnnl_memory_destroy(p->b);
    memset(p, 0, sizeof *p);
}

/* A tall plan's memory *m of layout d (H + tall rows), its own and zeroed, and, unless d
 * is NHWC (copy_rows), a reorder to_rows from the user's from (H rows) into its H rows
 * from row r (*rows); 0 when a oneDNN call failed */
static int own_rows(pcnn_backend *be, const dnnl_memory_desc_t *d, const dnnl_memory_desc_t *from, int r,
                    dnnl_memory_t *m, dnnl_memory_t *rows, dnnl_primitive_t *to_rows)
{
    convs *c = CPU_CONTEXT(be)->convs;
    dnnl_dims_t at = {0, 0, r, 0};
    dnnl_memory_desc_t sub, plain;
    void *mem;
    if (!(OK(dnnl_memory_create(m, d, c->engine, DNNL_MEMORY_ALLOCATE)) && OK(dnnl_memory_get_data_handle(*m, &mem)) &&
          OK(dnnl_memory_desc_init_by_tag(&plain, 4, d->dims, dnnl_f32, dnnl_nhwc))))
        return 0;
    memset(mem, 0, dnnl_memory_desc_get_size(d));
    /* NHWC on both sides: copy_rows copies whole images (oneDNN's reorder into the rows of
     * a taller NHWC image is its generic one, element by element) */
    if (dnnl_memory_desc_equal(d, &plain)) return 1;
    return OK(dnnl_memory_desc_init_submemory(&sub, d, from->dims, at)) &&
           OK(dnnl_memory_create(rows, &sub, c->engine, mem)) && (*to_rows = reorder(be, from, &sub, 0));
}

/* A backward plan's reorders between the user's NHWC x, y and the layouts of pd, where
 * they differ. 0 when a oneDNN call failed. */
static int blocked(pcnn_backend *be, plan *p, const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *x,
                   const dnnl_memory_desc_t *y)
{
    convs *c = CPU_CONTEXT(be)->convs;
    const int data = (p->kind & OP) == DATA;
    const dnnl_memory_desc_t *xmd = dnnl_primitive_desc_query_md(pd, data ? dnnl_query_diff_src_md : dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *ymd = dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0);
    if (p->tall) /* x at rows tall.. of xb, dy at rows ..H-1 of yb */
        return own_rows(be, xmd, x, p->tall, &p->xb, &p->xb_rows, &p->x_reorder) &&
               own_rows(be, ymd, y, 0, &p->yb, &p->yb_rows, &p->y_reorder);
    if (!dnnl_memory_desc_equal(xmd, x) &&
        !(OK(dnnl_memory_create(&p->xb, xmd, c->engine, DNNL_MEMORY_NONE)) &&
          (p->x_reorder = data ? reorder(be, xmd, x, 1) : reorder(be, x, xmd, 0))))
        return 0;
    if (!dnnl_memory_desc_equal(ymd, y) &&
        !(OK(dnnl_memory_create(&p->yb, ymd, c->engine, DNNL_MEMORY_NONE)) && (p->y_reorder = reorder(be, y, ymd, 0))))
        return 0;
    return 1;
}

/* A blocked forward plan's reorders: the user's NHWC x into the primitive's layout, and
 * its y back out, overwriting the user's y or adding to it (a plan with SUM). 0 when a
 * oneDNN call failed. */
static int blocked_fwd(pcnn_backend *be, plan *p, const_dnnl_primitive_desc_t pd, const dnnl_memory_desc_t *x,
                       const dnnl_memory_desc_t *y)
{
    convs *c = CPU_CONTEXT(be)->convs;
    const dnnl_memory_desc_t *xmd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *ymd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    return OK(dnnl_memory_create(&p->xb, xmd, c->engine, DNNL_MEMORY_NONE)) && (p->x_reorder = reorder(be, x, xmd, 0)) &&
           OK(dnnl_memory_create(&p->yb, ymd, c->engine, DNNL_MEMORY_NONE)) &&
           (p->y_reorder = reorder(be, ymd, y, p->kind & SUM));
}

/* The plan of a shape, made on first use; unusable (im2col + GEMM) where oneDNN declines
 * it. NULL when a oneDNN call failed (recorded in be). */
static plan *plan_for(pcnn_backend *be, const pcnn_conv *g, int kind)
{
    convs *c = CPU_CONTEXT(be)->convs;
    for (int i = 0; i < c->nplans; i++)
        if (c->plans[i].kind == kind && !memcmp(&c->plans[i].g, g, sizeof *g)) return &c->plans[i];
    if (!c->engine && !(OK(dnnl_engine_create(&c->engine, dnnl_cpu, 0)) &&
                        OK(dnnl_stream_create(&c->stream, c->engine, dnnl_stream_default_flags))))
        return NULL;
    plan *p = &c->plans[c->next];
    plan_clear(p);
    c->next = (c->next + 1) % PLANS;
    if (c->nplans < PLANS) c->nplans++;
    p->g = *g;
    p->kind = kind;

    const int op = kind & OP;
    dnnl_memory_desc_t bias;
    const dnnl_dims_t nbias = {g->cout};
    if (kind & BIAS && !OK(dnnl_memory_desc_init_by_tag(&bias, 1, nbias, dnnl_f32, dnnl_a))) return NULL;
    /* On AVX2 the forward pass of a window of several rows, at maps that are not whole
     * vectors of 8 (the CIFAR-sized model's 126), runs on blocked maps (nChw8c), x
     * reordered in and y back out, adding to y there where the pass adds: oneDNN 2.6's
     * kernel took 142 ms a call there against 159 on NHWC, the reorders 3.9
     * (tests/bench/README.md). Elsewhere, and where oneDNN declines it, NHWC. */
    const dnnl_memory_desc_t *b = kind & BIAS ? &bias : NULL;
    dnnl_primitive_desc_t pd = NULL;
    if (op == FWD && g->kh > 1 && (g->cin % 8 || g->cout % 8) &&
        dnnl_get_effective_cpu_isa() < dnnl_cpu_isa_avx512_core)
        pd = forward_pd(be, g, dnnl_forward_inference, 0, b, dnnl_nChw8c);
    const int fwd_blocked = pd != NULL;
    if (!pd)
        pd = op == FWD ? forward_pd(be, g, dnnl_forward_inference, kind & SUM, b, dnnl_nhwc)
                       : backward_fast(be, g, kind, &bias);
    /* For the vertical window (padded above only) oneDNN 2.6 has only its AVX2
     * backward-weights kernel, 1.5x slower on an AVX-512 CPU than its AVX-512 one, which
     * takes no more than kh/2 rows of padding on either side. So the image gets d zero
     * rows on top, to pad it evenly, and dy d zero rows below, whose terms add nothing to
     * dw: d/H more work (tests/bench/README.md; the window widened to as many rows below
     * as above did 5/3 as much). */
    const int d = -g->oy - g->kh / 2; /* the padding above beyond kh/2 */
    if (pd && op == FILTER && d > 0 && g->kh % 2 && !avx512(pd) &&
        dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core) {
        pcnn_conv even = *g;
        even.H += d, even.oy += d;
        dnnl_primitive_desc_t tall = backward_fast(be, &even, kind, &bias);
        if (tall && avx512(tall)) {
            dnnl_primitive_desc_destroy(pd);
            pd = tall, p->tall = d;
        } else if (tall) {
            dnnl_primitive_desc_destroy(tall);
        }
    }
    if (!pd) return be->failed ? NULL : p;
    const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(
        pd, op == FILTER ? dnnl_query_diff_weights_md : dnnl_query_weights_md, 0);
    dnnl_memory_desc_t x, y, wu;
    if (mds(be, &x, &y, &wu, g, kind & WT ? dnnl_iohw : dnnl_oihw) &&
        OK(dnnl_memory_create(&p->x, &x, c->engine, DNNL_MEMORY_NONE)) &&
        OK(dnnl_memory_create(&p->y, &y, c->engine, DNNL_MEMORY_NONE)) &&
        OK(dnnl_memory_create(&p->w_user, &wu, c->engine, DNNL_MEMORY_NONE)) &&
        (!(kind & BIAS) || OK(dnnl_memory_create(&p->b, &bias, c->engine, DNNL_MEMORY_NONE))) &&
        OK(dnnl_memory_create(&p->w_prim, wmd, c->engine, DNNL_MEMORY_ALLOCATE)) &&
        (p->w_reorder = op == FILTER ? reorder(be, wmd, &wu, 0) : reorder(be, &wu, wmd, 0)) &&
        (op == FWD ? !fwd_blocked || blocked_fwd(be, p, pd, &x, &y) : blocked(be, p, pd, &x, &y)) &&
        OK(dnnl_primitive_create(&p->prim, pd)))
        p->usable = 1;
    dnnl_primitive_desc_destroy(pd);
    return be->failed ? NULL : p;
}

static int run(pcnn_backend *be, dnnl_primitive_t prim, int n, const dnnl_exec_arg_t *args)
{
    convs *c = CPU_CONTEXT(be)->convs;
    return OK(dnnl_primitive_execute(prim, c->stream, n, args)) && OK(dnnl_stream_wait(c->stream));
}

int cpu_conv_open(pcnn_backend *be)
{
    if ((CPU_CONTEXT(be)->convs = calloc(1, sizeof(convs)))) return 0;
    pcnn_backend_fail(be, "out of memory for the CPU backend");
    return -1;
}

void cpu_conv_close(pcnn_backend *be)
{
    convs *c = CPU_CONTEXT(be)->convs;
    if (!c) return;
    for (int i = 0; i < c->nplans; i++) plan_clear(&c->plans[i]);
    for (int i = 0; i < 4; i++) free(c->scratch[i]);
    if (c->stream) dnnl_stream_destroy(c->stream);
    if (c->engine) dnnl_engine_destroy(c->engine);
    free(c);
    CPU_CONTEXT(be)->convs = NULL;
}

/* points the plan's memory objects at this call's buffers */
static int bind(pcnn_backend *be, plan *p, const real *x, const real *y, const real *w)
{
    return OK(dnnl_memory_set_data_handle(p->x, (void *)x)) && OK(dnnl_memory_set_data_handle(p->y, (void *)y)) &&
           OK(dnnl_memory_set_data_handle(p->w_user, (void *)w));
}

static int bind_blocked(pcnn_backend *be, dnnl_memory_t m, int i);

/* y (+)= conv(x, w) (+ bias, a plan with BIAS) through the forward plan p; a blocked
 * plan's maps in the context's scratch 0 (x) and 1 (y) */
static void forward(pcnn_backend *be, plan *p, real *y, const real *x, const real *w, const real *bias)
{
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_user}, {DNNL_ARG_TO, p->w_prim}};
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, p->xb ? p->xb : p->x}, {DNNL_ARG_WEIGHTS, p->w_prim},
                            {DNNL_ARG_DST, p->yb ? p->yb : p->y}, {DNNL_ARG_BIAS, p->b}};
    dnnl_exec_arg_t xin[2] = {{DNNL_ARG_FROM, p->x}, {DNNL_ARG_TO, p->xb}};
    dnnl_exec_arg_t yout[2] = {{DNNL_ARG_FROM, p->yb}, {DNNL_ARG_TO, p->y}};
    if (!(bind(be, p, x, y, w) && (!p->b || OK(dnnl_memory_set_data_handle(p->b, (void *)bias))) &&
          bind_blocked(be, p->xb, 0) && bind_blocked(be, p->yb, 1) && run(be, p->w_reorder, 2, r) &&
          (!p->x_reorder || run(be, p->x_reorder, 2, xin)) && run(be, p->prim, p->b ? 4 : 3, a)))
        return;
    if (p->y_reorder) run(be, p->y_reorder, 2, yout);
}

void cpu_conv_fwd(pcnn_backend *be, real *y, const real *x, const real *w, const real *bias,
                  const pcnn_conv *g, real beta, real *ws)
{
    if (beta != 0 && beta != 1) {
        gemm_fwd(be, y, x, w, bias, g, beta, ws);
        return;
    }
    if (cpu_conv_taps_takes(be, g)) {
        cpu_conv_taps(be, y, x, w, bias, g, beta == 1);
        return;
    }
    plan *p = plan_for(be, g, FWD | (beta == 0 ? 0 : SUM) | (bias ? BIAS : 0));
    if (!p) return;
    if (!p->usable) {
        gemm_fwd(be, y, x, w, bias, g, beta, ws);
        return;
    }
    forward(be, p, y, x, w, bias);
}

/* the context's scratch i, grown to size bytes; NULL when out of memory (recorded in be) */
static void *scratch(pcnn_backend *be, int i, size_t size)
{
    convs *c = CPU_CONTEXT(be)->convs;
    if (size > c->scratch_size[i]) {
        free(c->scratch[i]);
        c->scratch_size[i] = 0;
        if (!(c->scratch[i] = aligned_alloc(64, (size + 63) / 64 * 64))) {
            pcnn_backend_fail(be, "out of memory for a convolution's scratch (%zu bytes)", size);
            return NULL;
        }
        c->scratch_size[i] = size;
    }
    return c->scratch[i];
}

/* Points a plan's blocked memory (where it has one) at the context's scratch
 * i; 0 when out of memory (recorded in be) or a oneDNN call failed. */
static int bind_blocked(pcnn_backend *be, dnnl_memory_t m, int i)
{
    if (!m) return 1;
    const dnnl_memory_desc_t *d;
    void *at;
    return OK(dnnl_memory_get_memory_desc(m, &d)) && (at = scratch(be, i, dnnl_memory_desc_get_size(d))) &&
           OK(dnnl_memory_set_data_handle(m, at));
}

/* A tall plan's NHWC maps from (B, H, W, c) into the rows from r of its own to (B, H +
 * tall, W, c), image by image; 0 when a oneDNN call failed */
static int copy_rows(pcnn_backend *be, plan *p, dnnl_memory_t to, const real *from, int c, int r)
{
    const pcnn_conv *g = &p->g;
    void *mem;
    if (!OK(dnnl_memory_get_data_handle(to, &mem))) return 0;
    const size_t image = (size_t)g->H * g->W * c, row = (size_t)g->W * c;
#pragma omp parallel for schedule(static) if (g->B * image > PCNN_OMP_MIN)
    for (int b = 0; b < g->B; b++)
        memcpy((real *)mem + (size_t)b * (image + p->tall * row) + r * row, from + b * image, image * sizeof *from);
    return 1;
}

/* x into a FILTER plan's layout (its reorder, or a tall plan's copy), where it needs one */
static int x_in(pcnn_backend *be, plan *p, const real *x)
{
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->x}, {DNNL_ARG_TO, p->xb_rows ? p->xb_rows : p->xb}};
    if (p->tall && !p->x_reorder) return copy_rows(be, p, p->xb, x, p->g.cin, p->tall);
    return !p->x_reorder || run(be, p->x_reorder, 2, r);
}

/* runs a backward plan's y reorder (dy into the primitive's layout), if it has one */
static int dy_in(pcnn_backend *be, plan *p)
{
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->y}, {DNNL_ARG_TO, p->yb_rows ? p->yb_rows : p->yb}};
    if (p->tall && !p->y_reorder) {
        void *dy;
        return OK(dnnl_memory_get_data_handle(p->y, &dy)) && copy_rows(be, p, p->yb, dy, p->g.cout, 0);
    }
    return !p->y_reorder || run(be, p->y_reorder, 2, r);
}

/* dw += dy^T x (and db += dy summed over the pixels, unless NULL) through the FILTER
 * plan p (a failed oneDNN call is recorded in be). oneDNN overwrites its dw: it lands in scratch 2
 * and is added from there (the caller's ws is sized for im2col's matrix, which a batch
 * of fewer pixels than the filter has outputs makes smaller than dw: one 4x4 image of a
 * 32-map model had written past it) */
static void bwd_filter(pcnn_backend *be, plan *p, real *dw, real *db, const real *dy, const real *x)
{
    const pcnn_conv *g = &p->g;
    const size_t nw = (size_t)g->cout * g->cin * g->kh * g->kw;
    real *ws = scratch(be, 2, nw * sizeof *ws);
    if (!ws) return;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, p->xb ? p->xb : p->x},
                            {DNNL_ARG_DIFF_WEIGHTS, p->w_prim},
                            {DNNL_ARG_DIFF_DST, p->yb ? p->yb : p->y},
                            {DNNL_ARG_DIFF_BIAS, p->b}};
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_prim}, {DNNL_ARG_TO, p->w_user}};
    if (!(bind(be, p, x, dy, ws) && (p->tall || (bind_blocked(be, p->xb, 0) && bind_blocked(be, p->yb, 1))) &&
          x_in(be, p, x) && dy_in(be, p)))
        return;
    real *dbias = db ? scratch(be, 3, (size_t)g->cout * sizeof *dbias) : NULL;
    if (db && !(dbias && OK(dnnl_memory_set_data_handle(p->b, dbias)))) return;
    if (!(run(be, p->prim, dbias ? 4 : 3, a) && run(be, p->w_reorder, 2, r))) return;
    cpu_add(be, dw, ws, nw);
    if (dbias) cpu_add(be, db, dbias, g->cout);
}

/* dx += conv_data^T(dy, w) through the DATA plan p */
static void bwd_data(pcnn_backend *be, plan *p, real *dx, const real *dy, const real *w, real *ws)
{
    const pcnn_conv *g = &p->g;
    dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->w_user}, {DNNL_ARG_TO, p->w_prim}};
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_SRC, p->xb ? p->xb : p->x},
                            {DNNL_ARG_WEIGHTS, p->w_prim},
                            {DNNL_ARG_DIFF_DST, p->yb ? p->yb : p->y}};
    dnnl_exec_arg_t sum[2] = {{DNNL_ARG_FROM, p->xb}, {DNNL_ARG_TO, p->x}}; /* dx += blocked dx */
    if (!(bind(be, p, p->x_reorder ? dx : ws, dy, w) && bind_blocked(be, p->xb, 0) && bind_blocked(be, p->yb, 1) &&
          run(be, p->w_reorder, 2, r) && dy_in(be, p) && run(be, p->prim, 3, a)))
        return;
    if (p->x_reorder)
        run(be, p->x_reorder, 2, sum);
    else
        cpu_add(be, dx, ws, (size_t)g->B * g->H * g->W * g->cin);
}

/* The backward filter is oneDNN's where it takes the shape and conv_filter.c does not
 * (on AVX2 and at maps that are not whole vectors of 16 its sgemms are faster); the
 * backward data oneDNN's, or im2col + GEMM's where oneDNN declines the shape. */
void cpu_conv_bwd(pcnn_backend *be, real *dx, real *dw, real *db, const real *dy, const real *x,
                  const real *w, const pcnn_conv *g, real *ws)
{
    plan *f = cpu_conv_filter_takes(be, g) ? NULL : plan_for(be, g, db ? FILTER | BIAS : FILTER);
    if (be->failed) return;
    if (f && f->usable) {
        bwd_filter(be, f, dw, db, dy, x);
    } else {
        size_t nsums, ncol = cpu_conv_filter_scratch(g, &nsums);
        real *col = scratch(be, 0, ncol * sizeof *col), *sums = scratch(be, 2, nsums * sizeof *sums);
        if (!(col && sums)) return;
        cpu_conv_filter(be, dw, db, dy, x, g, col, sums);
    }
    if (!dx || be->failed) return;
    plan *d = plan_for(be, g, DATA);
    if (!d) return;
    if (d->usable)
        bwd_data(be, d, dx, dy, w, ws);
    else
        gemm_bwd_data(be, dx, dy, w, g, ws);
}

/* C (+)= op(A) op(B) for a tall product, a long side of rows (pixels) and two short ones
 * (maps), as a oneDNN 1x1 convolution over an image of 1 x rows pixels (gemm.c says where
 * its kernels beat the sgemms).
 * Contiguous operands, alpha 1, beta 0 or 1:
 *   NT  C (R,N) = A (R,K) B (N,K)^T   forward, weights B (cout N, cin K)
 *   NN  C (R,N) = A (R,K) B (K,N)     forward, weights B given as (cin, cout)
 *   TN  C (M,N) = A (R,M)^T B (R,N)   backward filter of x = B, dy = A: dw = C
 * The backward filter keeps NHWC: at p = 64's 1x1 maps the reorders to blocked maps cost
 * more than they save (49-56 GFLOP/s against 59-65, reorders included); at p = 126 blocked
 * was faster (59-69 against 49-62), under 1% of a CIFAR-like step by its share there, and one
 * rule serves both. Returns 0 where oneDNN declines the shape: the caller multiplies. */
int cpu_conv_product(pcnn_backend *be, int ta, int tb, int M, int N, int K, const real *A, const real *B,
                     real beta, real *C)
{
    if (ta && tb) return 0;
    if (!ta) {
        const pcnn_conv g = {1, 1, M, K, N, 1, 1, 0, 0};
        plan *p = plan_for(be, &g, FWD | (beta != 0 ? SUM : 0) | (tb ? 0 : WT));
        if (p && !p->usable) return 0;
        if (p) forward(be, p, C, A, B, NULL);
        return 1;
    }
    const pcnn_conv g = {1, 1, K, N, M, 1, 1, 0, 0};
    plan *p = plan_for(be, &g, FILTER | KEEP_NHWC);
    if (p && !p->usable) return 0;
    if (!p) return 1;
    if (beta == 0) memset(C, 0, (size_t)M * N * sizeof *C);
    bwd_filter(be, p, C, NULL, A, B);
    return 1;
}
#endif

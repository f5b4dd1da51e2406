// pixel.cu -- CUDA twin of lib/cpu/pixel.c: the cached sampler's step at one pixel and
// channel group (pcnn_pixel_step in lib/backend.h). One block per image walks the layers
// in order, its threads sharing each product's columns and meeting at __syncthreads
// where a stage reads what the others wrote; each thread sums its column's terms in
// order, as the CPU does.
#include "cuda.h"

enum { PIXEL_THREADS = 256 };

// y[n] = (sum over k of x[k] w(k, n)) + y[n] for this thread's n in [0, N); w: panels of
// K rows or more, ps apart (backend.h)
__device__ static void matvec(real *y, const real *x, int K, const real *w, size_t ps, int N)
{
    for (int n = (int)threadIdx.x; n < N; n += blockDim.x) {
        const real *wn = w + (size_t)(n / PCNN_PANEL) * ps + n % PCNN_PANEL;
        real acc = 0;
        for (int k = 0; k < K; k++) acc = __fadd_rn(acc, __fmul_rn(x[k], wn[(size_t)k * PCNN_PANEL]));
        y[n] = acc + y[n];
    }
}

__global__ static void pixel_step_k(pcnn_pixel_step st)
{
    const int b = blockIdx.x, H = st.H, W = st.W, C = st.C, K = st.K, p = st.p, s = st.s;
    const int i = st.i, j = st.j, g = st.g, q = p / C, known = (g + 1) * q, ld = (s + W) * p;
    const size_t q2 = PCNN_PADDED(2 * q), q1 = PCNN_PADDED(q), P = PCNN_PANEL; // a group's blocks
    const size_t left = (size_t)s * p * q2, mid = (size_t)p * q2, out1 = (size_t)p * q1;
    real *ha = st.ha + (size_t)b * 2 * p, *t1 = st.t1 + (size_t)b * p, *t2 = st.t2 + (size_t)b * p;
    for (int l = 0; l <= st.L; l++) {
        const real *base = st.hbase + ((size_t)l * st.B * W + (size_t)b * W + j) * 2 * p + 2 * g * q;
        const real *wl = st.hleft + ((size_t)l * C + g) * left, *wm = st.hmid + ((size_t)l * C + g) * mid;
        const real *below = l ? st.hrow + (size_t)(l - 1) * st.B * ld + (size_t)b * ld : NULL;
        real *hg = st.hg + ((size_t)l * st.B + b) * p;
        real *out = st.hrow + (size_t)l * st.B * ld + (size_t)b * ld + (size_t)(s + j) * p + g * q;
        for (int c = threadIdx.x; c < 2 * q; c += blockDim.x) ha[c] = base[c];
        if (l == 0) { // the image: the taps left of j, then channels before g at j (mask A)
            const real *row = st.inmap + ((size_t)b * H + i) * W * C;
            for (int tap = 0; tap < s; tap++)
                if (j - s + tap >= 0) matvec(ha, row + (size_t)(j - s + tap) * C, C, wl + tap * C * P, s * p * P, 2 * q);
            matvec(ha, row + (size_t)j * C, g, wm, p * P, 2 * q);
        } else { // the layer below: columns j-s..j-1, then groups 0..g at j (mask B)
            matvec(ha, below + (size_t)j * p, s * p, wl, s * p * P, 2 * q);
            matvec(ha, below + (size_t)(s + j) * p, known, wm, p * P, 2 * q);
        }
        __syncthreads(); // the gate reads columns c and q + c, two threads' work
        for (int c = threadIdx.x; c < q; c += blockDim.x)
            hg[g * q + c] = tanhf(ha[c]) / (1 + expf(-ha[q + c]));
        __syncthreads(); // the output reads all of hg's groups 0..g
        for (int c = threadIdx.x; c < q; c += blockDim.x) out[c] = st.out_b[(size_t)l * p + g * q + c];
        matvec(out, hg, known, st.out_w + ((size_t)l * C + g) * out1, p * P, q);
        if (l)
            for (int c = threadIdx.x; c < q; c += blockDim.x) out[c] = out[c] + below[(size_t)(s + j) * p + g * q + c];
        __syncthreads(); // the next layer reads all of this one's row
    }
    const real *top = st.hrow + (size_t)st.L * st.B * ld + (size_t)b * ld + (size_t)(s + j) * p;
    for (int c = g * q + threadIdx.x; c < g * q + q; c += blockDim.x) t1[c] = top[c] > 0 ? top[c] : 0;
    __syncthreads();
    for (int c = g * q + threadIdx.x; c < g * q + q; c += blockDim.x) t2[c] = st.out1_b[c];
    matvec(t2 + g * q, t1, known, st.out1_w + (size_t)g * out1, p * P, q);
    for (int c = g * q + threadIdx.x; c < g * q + q; c += blockDim.x) t2[c] = t2[c] > 0 ? t2[c] : 0;
    __syncthreads();
    real *logits = st.logits + (size_t)b * C * K;
    for (int k = g * K + threadIdx.x; k < g * K + K; k += blockDim.x) logits[k] = st.out2_b[k];
    matvec(logits + (size_t)g * K, t2, known, st.out2_w + (size_t)g * p * PCNN_PADDED(K), p * P, K);
}

void cuda_pixel_step(pcnn_backend *be, const pcnn_pixel_step *st)
{
    pixel_step_k<<<st->B, PIXEL_THREADS>>>(*st);
    LAUNCH_CHECK(be);
}

/* elementwise.c -- CPU twin of kernels/elementwise.cu: relu, strided row copies, add,
 * mask, sum of squares. */
#include "cpu.h"

PCNN_VECTOR
void cpu_relu_fwd(pcnn_backend *be, real *y, const real *x, size_t n)
{
    (void)be;
#pragma omp parallel for schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

PCNN_VECTOR
void cpu_relu_bwd(pcnn_backend *be, real *dx, const real *x, const real *dy, size_t n)
{
    (void)be;
#pragma omp parallel for schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dy[i] : 0;
}

PCNN_VECTOR
void cpu_copy_rows(pcnn_backend *be, real *dst, int ldd, const real *src, int lds, int n, int rows,
                   real beta)
{
    (void)be;
#pragma omp parallel for schedule(static) if ((size_t)n * rows > PCNN_OMP_MIN)
    for (int r = 0; r < rows; r++) {
        real *d = dst + (size_t)r * ldd;
        const real *s = src + (size_t)r * lds;
        if (beta == 0)
            for (int k = 0; k < n; k++) d[k] = s[k];
        else
            for (int k = 0; k < n; k++) d[k] = beta * d[k] + s[k];
    }
}

PCNN_VECTOR
void cpu_add(pcnn_backend *be, real *y, const real *x, size_t n)
{
    (void)be;
#pragma omp parallel for schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

PCNN_VECTOR
void cpu_mul(pcnn_backend *be, real *x, const real *mask, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++) x[i] *= mask[i];
}

PCNN_VECTOR
double cpu_sumsq(pcnn_backend *be, const real *x, size_t n)
{
    (void)be;
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > PCNN_OMP_MIN)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

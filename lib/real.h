/* real.h -- the number type of the compute code.
 * The library is built with float. The gradient-check test compiles the very same
 * model and CPU code with -DPCNN_DOUBLE so that finite differences can be taken in
 * double precision without a second implementation. */
#ifndef PCNN_REAL_H
#define PCNN_REAL_H
#include <math.h>

#ifdef PCNN_DOUBLE
typedef double real;
#define cblas_rgemm cblas_dgemm
#define rexp exp
#define rlog log
#define rtanh tanh
#define rsqrt sqrt
#else
typedef float real;
#define cblas_rgemm cblas_sgemm
#define rexp expf
#define rlog logf
#define rtanh tanhf
#define rsqrt sqrtf
#endif

#endif

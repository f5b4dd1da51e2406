/* fastmath.h -- exp and sigmoid for the CPU backend's elementwise loops, written so
 * that the compiler vectorizes them (glibc's vector expf/tanhf fall back to scalar calls).
 * expf: Cephes' range reduction and degree-6 polynomial, ~1 ulp on [-87, 88] (the gate's
 * tanh is built on it in gate.c). The double build (gradient checks) uses libm. */
#ifndef PCNN_FASTMATH_H
#define PCNN_FASTMATH_H
#include <stdint.h>
#include <string.h>

#include "../real.h"

#ifdef PCNN_DOUBLE
static inline real fast_exp(real x) { return exp(x); }
#else
static inline float fast_exp(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* n = round(x / ln 2) by adding 1.5 * 2^23, which leaves n in the low bits of the
     * mantissa: no float-to-int conversion, which after the clamp above keeps GCC from
     * vectorizing the loop at all ("control flow in loop") */
    union { float f; int32_t i; } u = {.f = x * 1.44269504088896341f + 12582912.0f};
    float fn = u.f - 12582912.0f;
    int32_t n = u.i - 0x4B400000;
    float r = x - fn * 0.693359375f + fn * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float e = p * r * r + r + 1.0f;
    /* unsigned: a NaN x gives a meaningless n, whose shift must not be undefined */
    union { uint32_t i; float f; } scale = {.i = (uint32_t)(n + 127) << 23};
    return e * scale.f;
}

#endif

static inline real fast_sigmoid(real x) { return 1 / (1 + fast_exp(-x)); }

#endif

/* fastmath.h -- exp, sigmoid and the gate's tanh and sigmoid for the CPU backend's
 * elementwise loops, written so that the compiler vectorizes them (glibc's vector
 * expf/tanhf fall back to scalar calls). expf: Cephes' range reduction and degree-6
 * polynomial, ~1 ulp on [-87, 88]. The double build (gradient checks) uses libm. */
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

/* tanh(f) and sigmoid(g) from one division: with E = e^2f and G = e^-g, tanh f =
 * (E-1)/(E+1) and sigmoid g = 1/(1+G) are both products with r = 1/((E+1)(1+G)).
 * f is clamped to ±15 (where tanh is ±1 in float) and g to ±30 (sigmoid within 1e-13
 * of 0 or 1), so the product stays finite. Near f = 0, E - 1 keeps tanh's absolute
 * accuracy (~1e-7), not its relative one; a gate needs no more. Against two divisions and
 * a select for small f, this is 3.5x faster: GCC chained the loop's iterations through a
 * masked merge of that select, so each waited for the last one's division. */
static inline void tanh_sigmoid(real f, real g, real *t, real *s)
{
#ifdef PCNN_DOUBLE
    *t = tanh(f), *s = 1 / (1 + exp(-g));
#else
    /* one bound a statement: each becomes a max or a min (NaN kept), where a chained
     * select became masked merges */
    f = f < -15.0f ? -15.0f : f;
    f = f > 15.0f ? 15.0f : f;
    g = g < -30.0f ? -30.0f : g;
    g = g > 30.0f ? 30.0f : g;
    float E = fast_exp(2.0f * f), G = fast_exp(-g), r = 1.0f / ((E + 1.0f) * (1.0f + G));
    *t = (E - 1.0f) * (1.0f + G) * r;
    *s = (E + 1.0f) * r;
#endif
}

#endif

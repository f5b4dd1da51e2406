/* rans.c -- entropy coding of levels with a model's probabilities (the coder of
 * pcnn-compress, issue #14): range ANS (Duda, 2013) with a 32-bit state, renormalised a
 * byte at a time, over probabilities quantized to 16-bit frequencies. Only integer
 * arithmetic, so that an encoder and a decoder that see the same frequencies agree on any
 * machine; making the frequencies themselves the same is the caller's part. */
#include <stdlib.h>
#include <string.h>

#include "pcnn-impl.h"
#include "cpu/fastmath.h"

#define STATE_LOW (1u << 23) /* the state stays in [STATE_LOW, 256 * STATE_LOW) */

/* Every level at least 1 of 2^16, so that no value is impossible to code; the rest of
 * the total shared out in proportion to softmax(logits), in one fixed order of float
 * operations, the remainder of the rounding going to the first likeliest level. */
int pcnn_rans_freqs(const float *logits, int K, uint32_t *freq)
{
    if (K < 2 || K > 256) return pcnn_seterr("%d levels cannot be coded (2 to 256)", K);
    float mx = logits[0], e[256], sum = 0;
    int top = 0;
    for (int k = 0; k < K; k++) {
        if (!(logits[k] - logits[k] == 0)) return pcnn_seterr("the model's probabilities are not finite");
        if (logits[k] > mx) mx = logits[k], top = k;
    }
    for (int k = 0; k < K; k++) sum += e[k] = fast_exp(logits[k] - mx);
    const float spare = (float)(PCNN_RANS_TOTAL - K);
    uint32_t given = 0;
    for (int k = 0; k < K; k++) {
        float share = e[k] / sum * spare; /* in [0, spare]: no overflow of the cast */
        freq[k] = 1 + (uint32_t)share;
        given += freq[k];
    }
    if (given > PCNN_RANS_TOTAL) return pcnn_seterr("frequencies exceed their total"); /* cannot happen */
    freq[top] += PCNN_RANS_TOTAL - given;
    return 0;
}

void pcnn_rans_starts(const uint32_t *freq, int K, uint32_t *start)
{
    uint32_t c = 0;
    for (int k = 0; k < K; k++) start[k] = c, c += freq[k];
}

/* Codes n symbols, the i-th with frequency freq[i] starting at start[i] of the total, last
 * first (rANS decodes in the reverse order of encoding), into *out (malloc'd, *len bytes). */
int pcnn_rans_encode(const uint32_t *start, const uint32_t *freq, size_t n, uint8_t **out, size_t *len)
{
    /* at most 2 bytes per symbol (a frequency of 1 costs 16 bits) and the final state */
    size_t cap = 2 * n + 8;
    uint8_t *buf = malloc(cap), *p = buf + cap;
    if (!buf) return pcnn_seterr("out of memory for %zu coded values", n);
    uint32_t x = STATE_LOW;
    for (size_t i = n; i-- > 0;) {
        const uint32_t f = freq[i];
        if (f == 0 || f > PCNN_RANS_TOTAL || start[i] + f > PCNN_RANS_TOTAL) {
            free(buf);
            return pcnn_seterr("value %zu has frequency %u at %u of %u", i, f, start[i], PCNN_RANS_TOTAL);
        }
        const uint32_t x_max = ((STATE_LOW >> PCNN_RANS_BITS) << 8) * f;
        while (x >= x_max) *--p = (uint8_t)x, x >>= 8;
        x = ((x / f) << PCNN_RANS_BITS) + x % f + start[i];
    }
    for (int b = 0; b < 4; b++) *--p = (uint8_t)(x >> (8 * b)); /* big-endian, read first */
    *len = (size_t)(buf + cap - p);
    memmove(buf, p, *len);
    *out = buf;
    return 0;
}

int pcnn_rans_dec_init(pcnn_rans_dec *d, const uint8_t *buf, size_t len)
{
    if (len < 4) return pcnn_seterr("coded data of %zu bytes is shorter than its state", len);
    d->p = buf + 4, d->end = buf + len;
    d->x = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
    if (d->x < STATE_LOW) return pcnn_seterr("the coded data's first state is out of range");
    return 0;
}

/* The next symbol of K with these frequencies and starts; -1 when the data ran out
 * (truncated or corrupted input). */
int pcnn_rans_dec_get(pcnn_rans_dec *d, const uint32_t *freq, const uint32_t *start, int K)
{
    const uint32_t slot = d->x & (PCNN_RANS_TOTAL - 1);
    int lo = 0, hi = K - 1; /* the last level whose start is <= slot */
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (start[mid] <= slot) lo = mid;
        else hi = mid - 1;
    }
    d->x = freq[lo] * (d->x >> PCNN_RANS_BITS) + slot - start[lo];
    while (d->x < STATE_LOW) {
        if (d->p == d->end) return -1;
        d->x = d->x << 8 | *d->p++;
    }
    return lo;
}

/* After the last symbol: 1 when the decoder is back at the encoder's first state with
 * every byte read, as it must be for data that was not corrupted. */
int pcnn_rans_dec_done(const pcnn_rans_dec *d) { return d->x == STATE_LOW && d->p == d->end; }

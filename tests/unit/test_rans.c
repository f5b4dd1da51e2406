/* test_rans.c -- the rANS coder of levels: frequencies from logits (each level at least
 * 1 of 2^16, summing to 2^16, the rounding's remainder given to the likeliest level),
 * round trips of random symbols under random distributions, a coded size within a few
 * bytes of the ideal, and truncated or corrupted data noticed without reading past its
 * end. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model-impl.h"

static void test_freqs(void)
{
    uint64_t rng = 1;
    const int Ks[] = {2, 16, 256};
    for (int a = 0; a < 3; a++)
        for (int trial = 0; trial < 50; trial++) {
            const int K = Ks[a];
            float z[256];
            uint32_t f[256], sum = 0, least = PCNN_RANS_TOTAL;
            int top = 0;
            for (int k = 0; k < K; k++) {
                z[k] = (float)(40 * (pcnn_rng_uniform(&rng) - 0.5)); /* up to e^40 apart */
                if (z[k] > z[top]) top = k;
            }
            CHECK(pcnn_rans_freqs(z, K, f) == 0, "%s", pcnn_errstr());
            for (int k = 0; k < K; k++) sum += f[k], least = f[k] < least ? f[k] : least;
            CHECK(sum == PCNN_RANS_TOTAL && least >= 1, "K=%d: sum %u, least %u", K, sum, least);
            int above = 0;
            for (int k = 0; k < K; k++) above += f[k] > f[top];
            CHECK(above == 0, "K=%d: %d levels above the likeliest", K, above);
            /* the rounding's remainder (up to K - 1) goes to the likeliest level alone:
             * every other level gets 1 + its share rounded down, so no more than 1 + its
             * share in double (+1 for the float sums) */
            double e[256], se = 0;
            int over = -1;
            for (int k = 0; k < K; k++) se += e[k] = exp((double)z[k] - z[top]);
            for (int k = 0; k < K; k++)
                if (k != top && f[k] > 2 + e[k] / se * (PCNN_RANS_TOTAL - K)) over = k;
            CHECK(over < 0, "K=%d: level %d (not the likeliest, %d) got %u, above its share %.2f", K, over, top,
                  over < 0 ? 0 : f[over], over < 0 ? 0 : e[over] / se * (PCNN_RANS_TOTAL - K));
        }
    /* pinned by hand: shares (65536 - 4) * softmax = 1349.50, 27105.48, 9971.55, 27105.48;
     * 1 + each rounded down sum to 65534, and the 2 left over go to level 1, the first of
     * the two likeliest (not level 0, nor level 3) */
    const float pin[4] = {-2, 1, 0, 1};
    uint32_t fp[4];
    CHECK(pcnn_rans_freqs(pin, 4, fp) == 0 && fp[0] == 1350 && fp[1] == 27108 && fp[2] == 9972 && fp[3] == 27106,
          "frequencies of (-2, 1, 0, 1): %u %u %u %u, want 1350 27108 9972 27106", fp[0], fp[1], fp[2], fp[3]);
    float z[2] = {0, 0}, bad[2] = {NAN, 0}, bad2[2] = {0, NAN}, inf[2] = {0, INFINITY};
    uint32_t f[2];
    pcnn_rans_freqs(z, 2, f);
    CHECK(f[0] == f[1] && f[0] == PCNN_RANS_TOTAL / 2, "two equal levels get %u and %u", f[0], f[1]);
    CHECK(pcnn_rans_freqs(bad, 2, f) != 0, "a NaN logit accepted");
    CHECK(pcnn_rans_freqs(bad2, 2, f) != 0, "a NaN logit after the first accepted");
    CHECK(pcnn_rans_freqs(inf, 2, f) != 0, "an infinite logit accepted");
    CHECK(pcnn_rans_freqs(z, 1, f) != 0, "one level accepted");
}

/* n symbols drawn from random distributions over K levels, with their frequencies */
typedef struct {
    size_t n;
    int K;
    uint32_t *freq, *start; /* (n, K) */
    uint8_t *sym;
    uint32_t *sf, *ss; /* each symbol's own frequency and start */
    double ideal_bits;
} stream;

static stream make_stream(size_t n, int K, uint64_t seed)
{
    stream s = {.n = n, .K = K, .freq = malloc(n * K * 4), .start = malloc(n * K * 4), .sym = malloc(n),
                .sf = malloc(n * 4), .ss = malloc(n * 4)};
    uint64_t rng = seed;
    for (size_t i = 0; i < n; i++) {
        float z[256];
        double spread = 1 + 10 * pcnn_rng_uniform(&rng);
        for (int k = 0; k < K; k++) z[k] = (float)(spread * (pcnn_rng_uniform(&rng) - 0.5));
        uint32_t *f = s.freq + i * K, *st = s.start + i * K;
        pcnn_rans_freqs(z, K, f);
        pcnn_rans_starts(f, K, st);
        /* a symbol drawn from the quantized distribution itself */
        uint32_t u = (uint32_t)(pcnn_rng_uniform(&rng) * PCNN_RANS_TOTAL);
        int k = 0;
        while (k < K - 1 && st[k + 1] <= u) k++;
        s.sym[i] = (uint8_t)k, s.sf[i] = f[k], s.ss[i] = st[k];
        s.ideal_bits += PCNN_RANS_BITS - log2(f[k]);
    }
    return s;
}

static void free_stream(stream *s) { free(s->freq), free(s->start), free(s->sym), free(s->sf), free(s->ss); }

/* decodes s from buf; 0: every symbol right and the data whole */
static int decode(const stream *s, const uint8_t *buf, size_t len)
{
    pcnn_rans_dec d;
    if (pcnn_rans_dec_init(&d, buf, len)) return -1;
    for (size_t i = 0; i < s->n; i++) {
        int k = pcnn_rans_dec_get(&d, s->freq + i * s->K, s->start + i * s->K, s->K);
        if (k != s->sym[i]) return 1;
    }
    return pcnn_rans_dec_done(&d) ? 0 : 2;
}

static void test_round_trip(void)
{
    const int Ks[] = {2, 16, 256};
    for (int a = 0; a < 3; a++) {
        stream s = make_stream(20000, Ks[a], 7 + a);
        uint8_t *buf;
        size_t len;
        CHECK(pcnn_rans_encode(s.ss, s.sf, s.n, &buf, &len) == 0, "%s", pcnn_errstr());
        CHECK(decode(&s, buf, len) == 0, "K=%d: the round trip fails", s.K);
        double ideal = s.ideal_bits / 8;
        printf("K=%d: %zu symbols in %zu bytes, ideal %.1f (+%.2f%%)\n", s.K, s.n, len, ideal, 100 * (len / ideal - 1));
        CHECK(len <= ideal * 1.001 + 8, "K=%d: %zu bytes for an ideal %.1f", s.K, len, ideal);
        /* cut short, or a byte changed: noticed, never read past the end */
        CHECK(decode(&s, buf, len - 1) != 0, "K=%d: a truncated stream decodes whole", s.K);
        uint64_t rng = 99;
        int unnoticed = 0;
        for (int t = 0; t < 50; t++) {
            uint8_t *bad = malloc(len);
            memcpy(bad, buf, len);
            bad[(size_t)(pcnn_rng_uniform(&rng) * len)] ^= (uint8_t)(1 + pcnn_rng_uniform(&rng) * 255);
            unnoticed += decode(&s, bad, len) == 0;
            free(bad);
        }
        CHECK(unnoticed == 0, "K=%d: %d of 50 corruptions went unnoticed", s.K, unnoticed);
        free(buf);
        free_stream(&s);
    }
    uint8_t *buf;
    size_t len;
    CHECK(pcnn_rans_encode(NULL, NULL, 0, &buf, &len) == 0 && len == 4, "nothing codes to the 4-byte state");
    free(buf);
    uint32_t f0 = 0, s0 = 0;
    CHECK(pcnn_rans_encode(&s0, &f0, 1, &buf, &len) != 0, "a zero frequency accepted");
}

int main(void)
{
    test_freqs();
    test_round_trip();
    return check_summary("test_rans");
}

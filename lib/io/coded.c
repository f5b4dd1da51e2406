/* coded.c -- the files of pcnn-compress (pcnn-coded(5)): a header, then the images in
 * batches, each batch its images' conditioning and one rANS stream (compress.c).
 * Every integer little-endian. Readers check each field before it sizes anything, and
 * grow a buffer only as its bytes arrive, so that a lying length costs no more memory
 * than the file holds. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "io-impl.h"

static const uint8_t MAGIC[8] = {0x89, 'P', 'C', 'Z', '\r', '\n', 0x1a, '\n'};
/* version 2: the sampler's sums in the order of its pixel step (lib/cpu/pixel.c); a version 1
 * file's probabilities came from sums in another order, and decode only with that pcnn */
enum { HEADER = 56, VERSION = 2 };

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff), put16(p + 2, v >> 16); }
static unsigned get16(const uint8_t *p) { return p[0] | (unsigned)p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }

static uint32_t crc(const void *p, size_t n)
{
    uLong c = crc32(0, Z_NULL, 0);
    for (const uint8_t *b = p; n > 0;) { /* crc32 takes a uInt length */
        uInt k = n > (1u << 30) ? 1u << 30 : (uInt)n;
        c = crc32(c, b, k), b += k, n -= k;
    }
    return (uint32_t)c;
}


/* IEEE half precision, by hand (a compiler's _Float16 is not everywhere yet): rounding to
 * nearest, ties to even; beyond 65504 infinity, below 2^-24 subnormals and zero. */
static uint16_t to_half(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    const uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    const uint32_t a = u & 0x7fffffff;
    if (a >= 0x7f800000) return sign | 0x7c00 | (a > 0x7f800000 ? 0x200 : 0); /* Inf, NaN */
    if (a >= 0x477ff000) return sign | 0x7c00; /* rounds to 65536 and beyond */
    uint32_t r, rem, halfway;
    if (a < 0x38800000) { /* below 2^-14: a subnormal half, units of 2^-24 */
        if (a < 0x33000000) return sign; /* at most 2^-25: zero */
        const int shift = 126 - (int)(a >> 23); /* 14..24 */
        const uint32_t m = (a & 0x7fffff) | 0x800000;
        r = m >> shift, rem = m & ((1u << shift) - 1), halfway = 1u << (shift - 1);
    } else { /* the exponent rebiased from 127 to 15, the mantissa cut from 23 bits to 10 */
        r = (a - 0x38000000) >> 13, rem = a & 0x1fff, halfway = 0x1000;
    }
    if (rem > halfway || (rem == halfway && (r & 1))) r++; /* a carry makes the next exponent */
    return (uint16_t)(sign | r);
}

static float from_half(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float f;
    if (e == 0) { /* zero or subnormal: m units of 2^-24 */
        f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    const uint32_t u = sign | (e == 0x1f ? 0x7f800000 | m << 13 : (e + 112) << 23 | m << 13);
    memcpy(&f, &u, 4);
    return f;
}

uint32_t pcnn_coded_crc(const uint8_t *levels, size_t n) { return crc(levels, n); }

/* the bytes of the conditioning of one image */
static size_t cond_bytes(const pcnn_coded_header *h)
{
    switch (h->cond) {
    case PCNN_CODED_CLASS: return 2;
    case PCNN_CODED_VECTOR: return 4 * (size_t)h->D;
    case PCNN_CODED_CODE: return 2 * (size_t)h->D;
    default: return 0;
    }
}

/* the most bytes the coder makes for n images (rans.c: 2 per value and the state) */
static size_t max_stream(const pcnn_coded_header *h, int n)
{
    return 2 * (size_t)n * h->C * h->H * h->W + 8;
}

static const char *check_header(const pcnn_coded_header *h)
{
    if (h->n < 1) return "it holds no image";
    if (h->C != 1 && h->C != 3) return "its images have neither 1 nor 3 channels";
    if (h->H < 1 || h->W < 1 || h->H > PCNN_MAX_SIDE || h->W > PCNN_MAX_SIDE ||
        (long)h->C * h->H * h->W > PCNN_MAX_PIXELS)
        return "its image size is out of range";
    if (h->K < 2 || h->K > 256) return "its number of levels is not 2 to 256";
    if (h->maxval < 1 || h->maxval > 255 || (h->maxval + 1) % h->K) return "its maxval does not fit its levels";
    if (h->cond < PCNN_CODED_NONE || h->cond > PCNN_CODED_CODE) return "its kind of conditioning is unknown";
    if ((h->cond == PCNN_CODED_NONE) != (h->D == 0) || h->D > PCNN_MAX_CLASSES)
        return "its conditioning size is out of range";
    if (h->batch < 1 || h->batch > PCNN_CODED_MAX_BATCH) return "its batch size is out of range";
    return NULL;
}

/* the header's 56 bytes: see pcnn-coded(5) */
static void header_bytes(uint8_t *hd, const pcnn_coded_header *h)
{
    memset(hd, 0, HEADER);
    memcpy(hd, MAGIC, 8);
    put16(hd + 8, VERSION);
    memcpy(hd + 12, h->hash, 16);
    put32(hd + 28, h->n);
    put16(hd + 32, (unsigned)h->C), put16(hd + 34, (unsigned)h->H), put16(hd + 36, (unsigned)h->W);
    put16(hd + 38, (unsigned)h->K), put16(hd + 40, (unsigned)h->maxval);
    hd[42] = (uint8_t)h->cond;
    put32(hd + 44, (uint32_t)h->D);
    put16(hd + 48, (unsigned)h->batch);
    put32(hd + 52, crc(hd, 52));
}

/* image k's conditioning: a class (u16), D float32 values or D half-precision ones */
static void cond_put(uint8_t *p, const pcnn_coded_header *h, const pcnn_coded_batch *b, int k)
{
    if (h->cond == PCNN_CODED_CLASS) put16(p, (unsigned)b->cls[k]);
    for (int d = 0; h->cond >= PCNN_CODED_VECTOR && d < h->D; d++) {
        const float x = b->h[(size_t)k * h->D + d];
        if (h->cond == PCNN_CODED_VECTOR) {
            uint32_t u;
            memcpy(&u, &x, 4);
            put32(p + 4 * (size_t)d, u);
        } else {
            put16(p + 2 * (size_t)d, to_half(x));
        }
    }
}

static void cond_get(const uint8_t *p, const pcnn_coded_header *h, pcnn_coded_batch *b, int k)
{
    if (h->cond == PCNN_CODED_CLASS) b->cls[k] = (int)get16(p);
    for (int d = 0; h->cond >= PCNN_CODED_VECTOR && d < h->D; d++) {
        float x;
        if (h->cond == PCNN_CODED_VECTOR) {
            const uint32_t u = get32(p + 4 * (size_t)d);
            memcpy(&x, &u, 4);
        } else {
            x = from_half((uint16_t)get16(p + 2 * (size_t)d));
        }
        b->h[(size_t)k * h->D + d] = x;
    }
}

static int put_all(FILE *f, const void *p, size_t n) { return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1; }

static int write_all(FILE *f, const pcnn_coded_header *h, const pcnn_coded_batch *b, int nb)
{
    uint8_t hd[HEADER];
    header_bytes(hd, h);
    if (put_all(f, hd, HEADER)) return -1;
    const size_t cb = cond_bytes(h);
    uint8_t *side = malloc(cb ? cb : 1);
    if (!side) return -1;
    for (int i = 0; i < nb; i++) {
        for (int k = 0; k < b[i].n && cb; k++) {
            cond_put(side, h, &b[i], k);
            if (put_all(f, side, cb)) return free(side), -1;
        }
        uint8_t len[4], sum[4];
        put32(len, (uint32_t)b[i].len), put32(sum, b[i].crc);
        if (put_all(f, len, 4) || put_all(f, b[i].data, b[i].len) || put_all(f, sum, 4)) return free(side), -1;
    }
    free(side);
    return 0;
}

int pcnn_coded_write_file(const char *path, const pcnn_coded_header *h, const pcnn_coded_batch *b, int nb)
{
    const char *bad = check_header(h);
    if (bad) return pcnn_seterr("a coded file that %s", bad);
    if (!path || !strcmp(path, "-")) {
        if (write_all(stdout, h, b, nb) || fflush(stdout)) return pcnn_seterr("stdout: write error");
        return 0;
    }
    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) return -1;
    if (write_all(out.f, h, b, nb)) {
        pcnn_atomic_abort(&out);
        return pcnn_seterr("%s: write error", path);
    }
    return pcnn_atomic_commit(&out);
}

float pcnn_coded_half(float x) { return from_half(to_half(x)); }

/* ---- reading ---- */
static int get_exact(FILE *f, void *p, size_t n) { return n == 0 || fread(p, 1, n, f) == n ? 0 : -1; }

int pcnn_coded_read_header(FILE *f, const char *name, pcnn_coded_header *h)
{
    uint8_t hd[HEADER];
    size_t got = fread(hd, 1, HEADER, f);
    if (got == 0 && feof(f)) return 0;
    if (got < 8 || memcmp(hd, MAGIC, 8))
        return pcnn_seterr("%s: not a pcnn-compress file (no PCZ signature)", name);
    if (got < HEADER) return pcnn_seterr("%s: truncated in its header", name);
    if (get16(hd + 8) == 1)
        return pcnn_seterr("%s: version 1 of the format, from an earlier pcnn whose sums ran in another order: "
                           "decompress it with that pcnn", name);
    if (get16(hd + 8) != VERSION)
        return pcnn_seterr("%s: version %u of the format; this pcnn reads version %d", name, get16(hd + 8), VERSION);
    if (get32(hd + 52) != crc(hd, 52)) return pcnn_seterr("%s: corrupted header (its checksum does not match)", name);
    memset(h, 0, sizeof *h);
    memcpy(h->hash, hd + 12, 16);
    h->n = get32(hd + 28);
    h->C = (int)get16(hd + 32), h->H = (int)get16(hd + 34), h->W = (int)get16(hd + 36);
    h->K = (int)get16(hd + 38), h->maxval = (int)get16(hd + 40), h->cond = hd[42];
    const uint32_t D = get32(hd + 44);
    h->D = D > PCNN_MAX_CLASSES ? PCNN_MAX_CLASSES + 1 : (int)D;
    h->batch = (int)get16(hd + 48);
    const char *bad = get16(hd + 10) || hd[43] || get16(hd + 50) ? "its reserved fields are not zero" : check_header(h);
    if (bad) return pcnn_seterr("%s: corrupted header (%s)", name, bad);
    return 1;
}

/* n bytes into a buffer grown as they arrive */
static uint8_t *read_grown(FILE *f, size_t n)
{
    size_t have = 0, cap = n < (1u << 20) ? n : 1u << 20;
    uint8_t *buf = malloc(cap ? cap : 1);
    while (buf && have < n) {
        if (have == cap) {
            cap = cap * 2 < n ? cap * 2 : n;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) break;
            buf = nb;
        }
        size_t k = fread(buf + have, 1, cap - have, f);
        if (k == 0) break;
        have += k;
    }
    if (buf && have == n) return buf;
    free(buf);
    return NULL;
}

int pcnn_coded_read_batch(FILE *f, const char *name, const pcnn_coded_header *h, int n, pcnn_coded_batch *b)
{
    memset(b, 0, sizeof *b);
    b->n = n;
    const size_t cb = cond_bytes(h);
    uint8_t *side = cb ? read_grown(f, cb * n) : NULL, v[4];
    if (cb && !side) return pcnn_seterr("%s: truncated", name);
    if (h->cond == PCNN_CODED_CLASS) b->cls = malloc((size_t)n * sizeof *b->cls);
    if (h->cond == PCNN_CODED_VECTOR || h->cond == PCNN_CODED_CODE) b->h = malloc((size_t)n * h->D * sizeof *b->h);
    if ((h->cond == PCNN_CODED_CLASS && !b->cls) || (h->cond >= PCNN_CODED_VECTOR && !b->h)) {
        free(side), pcnn_coded_batch_free(b);
        return pcnn_seterr("%s: out of memory", name);
    }
    for (int k = 0; k < n && cb; k++) cond_get(side + (size_t)k * cb, h, b, k);
    free(side);
    if (get_exact(f, v, 4)) goto truncated;
    b->len = get32(v);
    if (b->len > max_stream(h, n)) {
        pcnn_coded_batch_free(b);
        return pcnn_seterr("%s: corrupted (a stream of %zu bytes for %d images)", name, b->len, n);
    }
    if (!(b->data = read_grown(f, b->len)) || get_exact(f, v, 4)) goto truncated;
    b->crc = get32(v);
    return 0;
truncated:
    pcnn_coded_batch_free(b);
    return pcnn_seterr("%s: truncated", name);
}

void pcnn_coded_batch_free(pcnn_coded_batch *b)
{
    free(b->cls), free(b->h), free(b->data);
    b->cls = NULL, b->h = NULL, b->data = NULL;
}

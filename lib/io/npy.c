/* npy.c -- NumPy .npy records of float32 vectors, read from and written to streams.
 * Messages do not name the file: the caller adds it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"

#define NPY_MAX_HEADER 65536
#define NPY_MAX_VALUES (1L << 24)
#define NPY_MAX_DIMS 8

static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* ---- the header: a Python dict literal ---------------------------------------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...", no escapes) into out[size]. */
static int parse_str(cursor *c, char *out, size_t size)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return pcnn_seterr("header: expected a quoted string");
    char q = *c->p++;
    const char *s = c->p;
    while (c->p < c->end && *c->p != q && *c->p != '\\')
        c->p++;
    if (c->p >= c->end || *c->p != q)
        return pcnn_seterr("header: bad string");
    size_t len = (size_t)(c->p - s);
    if (len >= size)
        len = size - 1; /* long strings are cut; they are wrong anyway */
    memcpy(out, s, len);
    out[len] = '\0';
    c->p++;
    return 0;
}

static int parse_bool(cursor *c, int *v)
{
    skip_ws(c);
    size_t left = (size_t)(c->end - c->p);
    if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
        *v = 1;
        c->p += 4;
    } else if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
        *v = 0;
        c->p += 5;
    } else {
        return pcnn_seterr("header: 'fortran_order' is not True or False");
    }
    return 0;
}

/* A tuple of non-negative integers: (), (3,), (1, 3), (3L,) */
static int parse_shape(cursor *c, long long *dims, int *nd)
{
    *nd = 0;
    if (!eat(c, '('))
        return pcnn_seterr("header: 'shape' is not a tuple");
    for (;;) {
        if (eat(c, ')'))
            return 0;
        skip_ws(c);
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return pcnn_seterr("header: bad 'shape'");
        long long v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            if (v > (1LL << 40))
                return pcnn_seterr("header: 'shape' has a dimension that is too large");
            v = v * 10 + (*c->p++ - '0');
        }
        if (c->p < c->end && *c->p == 'L')
            c->p++;
        if (*nd == NPY_MAX_DIMS)
            return pcnn_seterr("header: 'shape' has too many dimensions");
        dims[(*nd)++] = v;
        if (!eat(c, ',')) {
            if (eat(c, ')'))
                return 0;
            return pcnn_seterr("header: bad 'shape'");
        }
    }
}

static void shape_str(char *buf, size_t size, const long long *dims, int nd)
{
    size_t k = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < nd && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, i ? ", %lld" : "%lld", dims[i]);
    if (k < size)
        snprintf(buf + k, size - k, nd == 1 ? ",)" : ")");
}

/* Parses the header dict; sets *n to the number of values. */
static int parse_header(const char *h, size_t len, size_t *n)
{
    cursor c = {h, h + len};
    char key[32], descr[32];
    long long dims[NPY_MAX_DIMS];
    int nd = 0, fortran = 0, have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!eat(&c, '{'))
        return pcnn_seterr("header is not a dict");
    while (!eat(&c, '}')) {
        if (parse_str(&c, key, sizeof key) < 0)
            return -1;
        if (!eat(&c, ':'))
            return pcnn_seterr("header: expected ':' after '%s'", key);
        if (strcmp(key, "descr") == 0 && !have_descr) {
            if (parse_str(&c, descr, sizeof descr) < 0)
                return -1;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
            if (parse_bool(&c, &fortran) < 0)
                return -1;
            have_fortran = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if (parse_shape(&c, dims, &nd) < 0)
                return -1;
            have_shape = 1;
        } else {
            return pcnn_seterr("header: unexpected or repeated key '%s'", key);
        }
        if (!eat(&c, ',')) {
            if (eat(&c, '}'))
                break;
            return pcnn_seterr("header: expected ',' or '}' after '%s'", key);
        }
    }
    skip_ws(&c);
    if (c.p != c.end)
        return pcnn_seterr("header: junk after the dict");
    if (!have_descr || !have_fortran || !have_shape)
        return pcnn_seterr("header lacks '%s'", !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");
    if (strcmp(descr, "<f4") != 0)
        return pcnn_seterr("dtype '%s' is not <f4", descr);
    /* fortran_order is irrelevant: every accepted shape is a vector */
    (void)fortran;
    long long v;
    if (nd == 1)
        v = dims[0];
    else if (nd == 2 && (dims[0] == 1 || dims[1] == 1))
        v = dims[0] * dims[1];
    else {
        char s[128];
        shape_str(s, sizeof s, dims, nd);
        return pcnn_seterr("shape %s is not (n,), (1, n) or (n, 1)", s);
    }
    if (v < 1)
        return pcnn_seterr("empty array (shape has a 0)");
    if (v > NPY_MAX_VALUES)
        return pcnn_seterr("%lld values exceed the limit of %ld", v, NPY_MAX_VALUES);
    *n = (size_t)v;
    return 0;
}

/* ---- reading ----------------------------------------------------------------------- */

static int read_error(FILE *f, const char *what)
{
    if (ferror(f))
        return pcnn_seterr("read error: %s", strerror(errno));
    return pcnn_seterr("%s", what);
}

int pcnn_npy_read(FILE *f, float **v, size_t *n)
{
    unsigned char pre[8];
    if (!f || !v || !n)
        return pcnn_seterr("pcnn_npy_read: NULL argument");
    *v = NULL;
    *n = 0;
    size_t got = fread(pre, 1, 8, f);
    if (got == 0)
        return ferror(f) ? pcnn_seterr("read error: %s", strerror(errno)) : 0;
    if (memcmp(pre, npy_magic, got < 6 ? got : 6) != 0)
        return pcnn_seterr("bad magic (not a .npy record)");
    if (got < 8)
        return read_error(f, "truncated header");
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return pcnn_seterr("unsupported .npy version %d.%d", pre[6], pre[7]);
    unsigned char lb[4] = {0, 0, 0, 0};
    size_t lsize = pre[6] == 1 ? 2 : 4;
    if (fread(lb, 1, lsize, f) != lsize)
        return read_error(f, "truncated header");
    unsigned long hlen = lb[0] | (unsigned long)lb[1] << 8 | (unsigned long)lb[2] << 16 |
                         (unsigned long)lb[3] << 24;
    if (hlen > NPY_MAX_HEADER)
        return pcnn_seterr("header length %lu exceeds the limit of %d", hlen, NPY_MAX_HEADER);
    char *h = malloc(hlen + 1);
    if (!h)
        return pcnn_seterr("out of memory");
    if (fread(h, 1, hlen, f) != hlen) {
        free(h);
        return read_error(f, "truncated header");
    }
    h[hlen] = '\0';
    size_t cnt = 0;
    int rc = parse_header(h, hlen, &cnt);
    free(h);
    if (rc < 0)
        return -1;

    float *out = malloc(cnt * sizeof *out);
    unsigned char buf[4096];
    if (!out)
        return pcnn_seterr("out of memory");
    for (size_t i = 0; i < cnt;) {
        size_t k = cnt - i < sizeof buf / 4 ? cnt - i : sizeof buf / 4;
        size_t r = fread(buf, 4, k, f);
        for (size_t j = 0; j < r; j++) {
            const unsigned char *b = buf + 4 * j;
            uint32_t u = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
            memcpy(&out[i + j], &u, 4);
        }
        i += r;
        if (r < k) {
            free(out);
            if (ferror(f))
                return pcnn_seterr("read error: %s", strerror(errno));
            return pcnn_seterr("truncated data (%zu of %zu values)", i, cnt);
        }
    }
    *v = out;
    *n = cnt;
    return 1;
}

/* ---- writing ----------------------------------------------------------------------- */

int pcnn_npy_write(FILE *f, const float *v, size_t n)
{
    if (!f || !v)
        return pcnn_seterr("pcnn_npy_write: NULL argument");
    if (n < 1 || n > (size_t)NPY_MAX_VALUES)
        return pcnn_seterr("writing .npy record: %zu values (must be 1..%ld)", n, NPY_MAX_VALUES);
    char h[192];
    memcpy(h, npy_magic, 6);
    h[6] = 1;
    h[7] = 0;
    int dl = snprintf(h + 10, sizeof h - 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu,), }", n);
    /* as numpy: pad with spaces and end with '\n' so that data starts at a multiple of 64 */
    size_t total = 10 + (size_t)dl + 1;
    size_t pad = 64 - total % 64;
    memset(h + 10 + dl, ' ', pad);
    total += pad;
    h[total - 1] = '\n';
    h[8] = (char)((total - 10) & 0xff);
    h[9] = (char)((total - 10) >> 8);
    if (fwrite(h, 1, total, f) != total)
        return pcnn_seterr("writing .npy record: %s", strerror(errno));
    unsigned char buf[4096];
    for (size_t i = 0; i < n;) {
        size_t k = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
        for (size_t j = 0; j < k; j++) {
            uint32_t u;
            memcpy(&u, &v[i + j], 4);
            buf[4 * j] = (unsigned char)u;
            buf[4 * j + 1] = (unsigned char)(u >> 8);
            buf[4 * j + 2] = (unsigned char)(u >> 16);
            buf[4 * j + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(buf, 4, k, f) != k)
            return pcnn_seterr("writing .npy record: %s", strerror(errno));
        i += k;
    }
    return 0;
}

/* image.c -- the image reader: tells netpbm, PNG and IDX inputs apart by their
 * first bytes, and CIFAR-10 binary records by a name ending in ".bin"; also the byte
 * source (raw or gzip) and IDX parsing that labels.c shares. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"

enum { FMT_NONE, FMT_NETPBM, FMT_PNG, FMT_IDX, FMT_CIFAR };

struct pcnn_imgreader {
    FILE *f;
    int own;            /* f was opened here and is closed by _free */
    char *name;         /* "stdin" for "-" */
    int fmt;            /* FMT_NONE until the first _next looks at the data (CIFAR: set by _open) */
    int state;          /* 0 reading, 1 ended, -1 failed */
    long count;         /* images handed out */
    char *err;          /* the failure, repeated by later calls */
    pcnn_netpbm *nr;
    uint8_t *idx;       /* IDX: all images, (N,H,W) */
    size_t idx_n;
    int idx_h, idx_w, idx_maxval;
};

/* ---- byte sources ---------------------------------------------------------- */

int pcnn_src_init(pcnn_src *s, FILE *f, int gz, const char *name)
{
    memset(s, 0, sizeof *s);
    s->f = f;
    s->name = name;
    s->gz = gz;
    if (gz) {
        /* 16 + MAX_WBITS: gzip wrapper only */
        if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
            return pcnn_seterr("%s: cannot set up gzip decompression", name);
        s->zinit = 1;
    }
    return 0;
}

void pcnn_src_end(pcnn_src *s)
{
    if (s->zinit)
        inflateEnd(&s->z);
    s->zinit = 0;
}

static long read_error(pcnn_src *s)
{
    return pcnn_seterr("%s: read error: %s", s->name, strerror(errno));
}

/* After the end of a gzip member: another member may follow. */
static long gz_member_end(pcnn_src *s)
{
    if (s->z.avail_in == 0) {
        int c = getc(s->f);
        if (c == EOF) {
            if (ferror(s->f))
                return read_error(s);
            s->zend = 1;
            return 0;
        }
        s->in[0] = (unsigned char)c;
        s->z.next_in = s->in;
        s->z.avail_in = 1;
    }
    if (inflateReset(&s->z) != Z_OK)
        return pcnn_seterr("%s: corrupt gzip data", s->name);
    return 0;
}

long pcnn_src_read(pcnn_src *s, void *buf, size_t n)
{
    if (n > LONG_MAX)
        n = LONG_MAX;
    if (!s->gz) {
        size_t got = fread(buf, 1, n, s->f);
        if (got < n && ferror(s->f))
            return read_error(s);
        return (long)got;
    }
    size_t got = 0;
    while (got < n && !s->zend) {
        int eof = 0;
        if (s->z.avail_in == 0) {
            size_t r = fread(s->in, 1, sizeof s->in, s->f);
            if (r == 0 && ferror(s->f))
                return read_error(s);
            eof = r == 0;
            s->z.next_in = s->in;
            s->z.avail_in = (uInt)r;
        }
        size_t want = n - got;
        if (want > UINT_MAX)
            want = UINT_MAX;
        s->z.next_out = (Bytef *)buf + got;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        got += want - s->z.avail_out;
        if (rc == Z_STREAM_END) {
            if (gz_member_end(s) < 0)
                return -1;
        } else if (rc == Z_BUF_ERROR) {
            if (eof)
                return pcnn_seterr("%s: truncated gzip data", s->name);
        } else if (rc != Z_OK) {
            return pcnn_seterr("%s: corrupt gzip data (%s)", s->name,
                               s->z.msg ? s->z.msg : "inflate failed");
        }
    }
    return (long)got;
}

/* ---- IDX --------------------------------------------------------------------- */

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

int pcnn_idx_header(pcnn_src *s, int ndim, uint32_t *dims)
{
    unsigned char b[4];
    long r = pcnn_src_read(s, b, 4);
    if (r < 0)
        return -1;
    if (r < 4)
        return pcnn_seterr("%s: truncated IDX header", s->name);
    if (b[0] != 0 || b[1] != 0)
        return pcnn_seterr("%s: bad IDX magic 0x%02x%02x%02x%02x", s->name, b[0], b[1], b[2], b[3]);
    if (b[2] != 0x08)
        return pcnn_seterr("%s: IDX data type 0x%02x is not unsigned byte (0x08)", s->name, b[2]);
    if (b[3] == 1 && ndim == 3)
        return pcnn_seterr("%s: IDX labels, not images (give labels with -l)", s->name);
    if (b[3] == 3 && ndim == 1)
        return pcnn_seterr("%s: IDX images, not labels", s->name);
    if (b[3] != ndim)
        return pcnn_seterr("%s: IDX file has %d dimension%s, expected %d (magic 0x%08x)", s->name,
                           b[3], b[3] == 1 ? "" : "s", ndim, (unsigned)be32(b));
    for (int i = 0; i < ndim; i++) {
        r = pcnn_src_read(s, b, 4);
        if (r < 0)
            return -1;
        if (r < 4)
            return pcnn_seterr("%s: truncated IDX header", s->name);
        dims[i] = be32(b);
    }
    return 0;
}

int pcnn_idx_data(pcnn_src *s, size_t len, uint8_t **data)
{
    size_t cap = len < ((size_t)1 << 20) ? len : (size_t)1 << 20, have = 0;
    uint8_t *buf = malloc(cap ? cap : 1);
    *data = NULL;
    if (!buf)
        return pcnn_seterr("%s: out of memory", s->name);
    while (have < len) {
        if (have == cap) {
            cap = cap > len / 2 ? len : cap * 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                return pcnn_seterr("%s: out of memory", s->name);
            }
            buf = nb;
        }
        long r = pcnn_src_read(s, buf + have, cap - have);
        if (r < 0) {
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        have += (size_t)r;
    }
    if (have < len) {
        free(buf);
        return pcnn_seterr("%s: truncated IDX data (%zu of %zu bytes)", s->name, have, len);
    }
    unsigned char extra;
    long r = pcnn_src_read(s, &extra, 1);
    if (r != 0) {
        free(buf);
        return r < 0 ? -1 : pcnn_seterr("%s: trailing data after %zu bytes of IDX data", s->name, len);
    }
    *data = buf;
    return 0;
}

/* Loads a whole IDX image file (N,H,W); gray, maxval 1 if every sample is 0 or 1. */
static int idx_load(pcnn_imgreader *r, int gz)
{
    pcnn_src s;
    uint32_t d[3];
    if (pcnn_src_init(&s, r->f, gz, r->name) < 0)
        return -1;
    int rc = pcnn_idx_header(&s, 3, d);
    if (rc == 0) {
        if (d[0] == 0)
            rc = pcnn_seterr("%s: IDX file holds no images", r->name);
        else if (d[1] < 1 || d[2] < 1 || d[1] > PCNN_MAX_SIDE || d[2] > PCNN_MAX_SIDE ||
                 (uint64_t)d[1] * d[2] > (uint64_t)PCNN_MAX_PIXELS)
            rc = pcnn_seterr("%s: IDX image size %ux%u is out of range (1..%d per side, %ld pixels)",
                             r->name, (unsigned)d[2], (unsigned)d[1], PCNN_MAX_SIDE, PCNN_MAX_PIXELS);
        else if ((uint64_t)d[0] * d[1] * d[2] > (uint64_t)(SIZE_MAX / 2))
            rc = pcnn_seterr("%s: IDX file of %u images is too large", r->name, (unsigned)d[0]);
    }
    if (rc == 0)
        rc = pcnn_idx_data(&s, (size_t)d[0] * d[1] * d[2], &r->idx);
    pcnn_src_end(&s);
    if (rc < 0)
        return -1;
    r->idx_n = d[0];
    r->idx_h = (int)d[1];
    r->idx_w = (int)d[2];
    r->idx_maxval = 1;
    size_t len = (size_t)d[0] * d[1] * d[2];
    for (size_t i = 0; i < len; i++)
        if (r->idx[i] > 1) {
            r->idx_maxval = 255;
            break;
        }
    return 0;
}

static int idx_next(pcnn_imgreader *r, pcnn_image *out)
{
    if ((size_t)r->count >= r->idx_n)
        return 0;
    size_t sz = (size_t)r->idx_h * r->idx_w;
    out->data = malloc(sz);
    if (!out->data)
        return pcnn_seterr("%s: out of memory", r->name);
    memcpy(out->data, r->idx + (size_t)r->count * sz, sz);
    out->c = 1;
    out->h = r->idx_h;
    out->w = r->idx_w;
    out->maxval = r->idx_maxval;
    if ((size_t)r->count + 1 == r->idx_n) { /* the last one: the bulk is no longer needed */
        free(r->idx);
        r->idx = NULL;
    }
    return 1;
}

/* ---- CIFAR-10 ---------------------------------------------------------------------- */

static int cifar_next(pcnn_imgreader *r, pcnn_image *out)
{
    uint8_t rec[PCNN_CIFAR_RECORD];
    int rc = pcnn_cifar_read(r->f, r->name, r->count, rec);
    if (rc <= 0)
        return rc;
    size_t sz = PCNN_CIFAR_RECORD - 1;
    out->data = malloc(sz);
    if (!out->data)
        return pcnn_seterr("%s: out of memory", r->name);
    memcpy(out->data, rec + 1, sz); /* the planes are already (C,H,W) */
    out->c = 3;
    out->h = out->w = PCNN_CIFAR_SIDE;
    out->maxval = 255;
    return 1;
}

/* ---- the reader ---------------------------------------------------------------- */

/* Looks at the first bytes and sets up the reader for that format. */
static int sniff(pcnn_imgreader *r)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    int c = getc(r->f);
    if (c == EOF) {
        if (ferror(r->f))
            return pcnn_seterr("%s: read error: %s", r->name, strerror(errno));
        return pcnn_seterr("%s: empty input", r->name);
    }
    if (c == 'P') {
        ungetc(c, r->f);
        r->nr = pcnn_netpbm_open(r->f, r->name);
        if (!r->nr)
            return -1;
        r->fmt = FMT_NETPBM;
    } else if (c == png_sig[0]) {
        unsigned char sig[8];
        sig[0] = (unsigned char)c;
        size_t got = fread(sig + 1, 1, 7, r->f);
        if (got < 7 && ferror(r->f))
            return pcnn_seterr("%s: read error: %s", r->name, strerror(errno));
        if (got < 7 || memcmp(sig, png_sig, 8) != 0) {
            const char *looks = pcnn_sniff(sig, 1 + got);
            if (looks) return pcnn_seterr("%s: not an image (looks like %s)", r->name, looks);
            return pcnn_seterr("%s: not a PNG file (bad signature)", r->name);
        }
        r->fmt = FMT_PNG;
    } else if (c == 0x00 || c == 0x1f) {
        ungetc(c, r->f);
        if (idx_load(r, c == 0x1f) < 0)
            return -1;
        r->fmt = FMT_IDX;
    } else {
        return pcnn_seterr("%s: unknown image format (not netpbm, PNG or IDX; CIFAR-10 records need a "
                           "name ending in .bin)", r->name);
    }
    return 0;
}

pcnn_imgreader *pcnn_imgreader_open(const char *path)
{
    if (!path) {
        pcnn_seterr("pcnn_imgreader_open: no path");
        return NULL;
    }
    pcnn_imgreader *r = calloc(1, sizeof *r);
    int is_stdin = strcmp(path, "-") == 0;
    if (!r || !(r->name = strdup(is_stdin ? "stdin" : path))) {
        free(r);
        pcnn_seterr("%s: out of memory", path);
        return NULL;
    }
    if (is_stdin) {
        r->f = stdin;
    } else {
        r->f = fopen(path, "rb");
        if (!r->f) {
            pcnn_seterr("%s: %s", path, strerror(errno));
            free(r->name);
            free(r);
            return NULL;
        }
        r->own = 1;
        if (pcnn_cifar_name(path)) {
            if (pcnn_cifar_check(r->f, r->name) < 0) {
                pcnn_imgreader_free(r);
                return NULL;
            }
            r->fmt = FMT_CIFAR;
        }
    }
    return r;
}

int pcnn_imgreader_next(pcnn_imgreader *r, pcnn_image *out)
{
    if (!r || !out)
        return pcnn_seterr("pcnn_imgreader_next: NULL argument");
    memset(out, 0, sizeof *out);
    if (r->state < 0)
        return pcnn_seterr("%s", r->err ? r->err : "reader failed earlier");
    if (r->state > 0)
        return 0;
    int rc = r->fmt == FMT_NONE ? sniff(r) : 0;
    if (rc == 0) {
        switch (r->fmt) {
        case FMT_NETPBM: rc = pcnn_netpbm_next(r->nr, out); break;
        case FMT_PNG:
            rc = r->count > 0 ? 0 : pcnn_png_read(r->f, r->name, out);
            if (rc == 0 && r->count == 0)
                rc = 1;
            break;
        case FMT_CIFAR: rc = cifar_next(r, out); break;
        default: rc = idx_next(r, out); break;
        }
    }
    if (rc > 0) {
        r->count++;
    } else if (rc == 0) {
        r->state = 1;
    } else {
        r->state = -1;
        r->err = strdup(pcnn_errstr());
        memset(out, 0, sizeof *out);
    }
    return rc;
}

const char *pcnn_imgreader_name(const pcnn_imgreader *r)
{
    return r ? r->name : "";
}

void pcnn_imgreader_free(pcnn_imgreader *r)
{
    if (!r)
        return;
    pcnn_netpbm_free(r->nr);
    if (r->own)
        fclose(r->f);
    free(r->idx);
    free(r->err);
    free(r->name);
    free(r);
}

void pcnn_image_free(pcnn_image *img)
{
    if (!img)
        return;
    free(img->data);
    img->data = NULL;
}

int pcnn_images_load(pcnn_image **out, size_t *n, const char *const *paths, int npaths)
{
    pcnn_image *imgs = NULL;
    size_t cnt = 0, cap = 0;
    if (!out || !n || (npaths > 0 && !paths))
        return pcnn_seterr("pcnn_images_load: NULL argument");
    *out = NULL;
    *n = 0;
    for (int i = 0; i < npaths; i++) {
        pcnn_imgreader *r = pcnn_imgreader_open(paths[i]);
        if (!r)
            goto fail;
        for (;;) {
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 16;
                pcnn_image *ni = realloc(imgs, nc * sizeof *ni);
                if (!ni) {
                    pcnn_seterr("%s: out of memory", pcnn_imgreader_name(r));
                    pcnn_imgreader_free(r);
                    goto fail;
                }
                imgs = ni;
                cap = nc;
            }
            int rc = pcnn_imgreader_next(r, &imgs[cnt]);
            if (rc < 0) {
                pcnn_imgreader_free(r);
                goto fail;
            }
            if (rc == 0)
                break;
            cnt++;
        }
        pcnn_imgreader_free(r);
    }
    *out = imgs;
    *n = cnt;
    return 0;
fail:
    for (size_t i = 0; i < cnt; i++)
        pcnn_image_free(&imgs[i]);
    free(imgs);
    return -1;
}

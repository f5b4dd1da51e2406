/* fuzz.h -- shared by the libFuzzer harnesses of tests/fuzz/: the readers take paths, so
 * each input is written to a file of this process (in $TMPDIR, else /dev/shm, else /tmp)
 * whose name ends in the suffix the reader needs, read through the public API, and the
 * file is removed again. Nothing here is part of libpcnn. */
#ifndef PCNN_FUZZ_H
#define PCNN_FUZZ_H
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "pcnn.h"

/* A path of this process ending in suffix (".pgm", ".bin", ...); the same every call. */
static inline const char *fuzz_path(const char *suffix)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/pcnn-fuzz-%ld%s", dir, (long)getpid(), suffix);
    return path;
}

/* Writes the bytes to path; aborts when it cannot (a broken setup, not a finding). */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

/* data as a gzip stream in two members split at `split` (0: one member), into a fresh
 * buffer; *n gets its length. NULL when out of memory. */
static inline unsigned char *fuzz_gzip(const uint8_t *data, size_t size, size_t split, size_t *n)
{
    size_t cap = 2 * (compressBound((uLong)size) + 64), len = 0;
    unsigned char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t parts[2][2] = {{0, split && split < size ? split : size}, {split && split < size ? split : size, size}};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && parts[1][0] == size)
            break;
        z_stream z;
        memset(&z, 0, sizeof z);
        if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            abort();
        z.next_in = (Bytef *)data + parts[k][0];
        z.avail_in = (uInt)(parts[k][1] - parts[k][0]);
        z.next_out = out + len;
        z.avail_out = (uInt)(cap - len);
        if (deflate(&z, Z_FINISH) != Z_STREAM_END)
            abort();
        len = cap - z.avail_out;
        deflateEnd(&z);
    }
    *n = len;
    return out;
}

/* What reading every image of a path gave: the last status (0 clean end, -1 error), the
 * images handed out, and a checksum of their shapes and samples (to compare two reads). */
typedef struct {
    int rc;
    long count;
    uint64_t sum;
} fuzz_images;

/* Reads every image of path through pcnn_imgreader, checks what each image promises
 * (pcnn.h: C 1 or 3, sides 1..PCNN_MAX_SIDE, maxval 1..255, every sample <= maxval) and
 * touches every byte, so that a short buffer shows under ASan. A broken promise aborts. */
static inline fuzz_images fuzz_read_images(const char *path)
{
    fuzz_images res = {0, 0, 1469598103934665603ULL};
    pcnn_imgreader *r = pcnn_imgreader_open(path);
    if (!r) {
        res.rc = -1;
        return res;
    }
    pcnn_image img;
    int rc;
    while ((rc = pcnn_imgreader_next(r, &img)) == 1) {
        if ((img.c != 1 && img.c != 3) || img.h < 1 || img.w < 1 || img.h > PCNN_MAX_SIDE ||
            img.w > PCNN_MAX_SIDE || img.maxval < 1 || img.maxval > 255 || !img.data) {
            fprintf(stderr, "fuzz: image %ld: c=%d h=%d w=%d maxval=%d data=%p\n", res.count + 1,
                    img.c, img.h, img.w, img.maxval, (void *)img.data);
            abort();
        }
        size_t len = (size_t)img.c * img.h * img.w;
        uint64_t s = res.sum ^ ((uint64_t)img.c << 40 | (uint64_t)img.h << 20 | (uint64_t)img.w);
        for (size_t i = 0; i < len; i++) {
            if (img.data[i] > img.maxval) {
                fprintf(stderr, "fuzz: image %ld: sample %zu is %d > maxval %d\n", res.count + 1, i,
                        img.data[i], img.maxval);
                abort();
            }
            s = (s ^ img.data[i]) * 1099511628211ULL;
        }
        res.sum = s ^ (uint64_t)img.maxval;
        res.count++;
        pcnn_image_free(&img);
    }
    if (rc != 0 && rc != -1) {
        fprintf(stderr, "fuzz: pcnn_imgreader_next returned %d\n", rc);
        abort();
    }
    /* the end and a failure are both sticky */
    int again = pcnn_imgreader_next(r, &img);
    if (again != rc || img.data) {
        fprintf(stderr, "fuzz: a read after %d returned %d\n", rc, again);
        abort();
    }
    res.rc = rc;
    pcnn_imgreader_free(r);
    return res;
}

#endif

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
static const char *fuzz_path(const char *suffix)
{
    static char path[512];
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/pcnn-fuzz-%ld%s", dir, (long)getpid(), suffix);
    return path;
}

/* Writes the bytes to path; aborts when it cannot (a broken setup, not a finding). */
static void fuzz_write(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        fprintf(stderr, "fuzz: cannot write %s\n", path);
        abort();
    }
}

/* data as a gzip stream in two members split at `split` (0: one member), into a fresh
 * buffer; *n gets its length. NULL when out of memory. */
static unsigned char *fuzz_gzip(const uint8_t *data, size_t size, size_t split, size_t *n)
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

#endif

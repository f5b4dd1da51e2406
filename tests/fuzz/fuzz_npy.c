/* fuzz_npy.c -- libFuzzer harness: a stream of .npy records read with pcnn_npy_read from a
 * FILE (fmemopen) to its end. Every record read is written back with pcnn_npy_write and
 * read again: the same values, bit for bit, and then the end of the stream. */
#include "fuzz.h"

static void round_trip(const float *v, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *w = open_memstream(&buf, &len);
    if (!w)
        return;
    int wrc = pcnn_npy_write(w, v, n);
    fclose(w);
    if (wrc != 0) {
        fprintf(stderr, "fuzz: a record of %zu values read but not written: %s\n", n, pcnn_errstr());
        abort();
    }
    FILE *r = fmemopen(buf, len, "rb");
    float *v2 = NULL;
    size_t n2 = 0;
    int rc = pcnn_npy_read(r, &v2, &n2);
    if (rc != 1 || n2 != n || memcmp(v, v2, n * sizeof *v) != 0) {
        fprintf(stderr, "fuzz: round trip of %zu values gave rc=%d n=%zu\n", n, rc, n2);
        abort();
    }
    free(v2);
    if (pcnn_npy_read(r, &v2, &n2) != 0) {
        fprintf(stderr, "fuzz: more than one record after a round trip\n");
        abort();
    }
    fclose(r);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return -1;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    int rc;
    float *v;
    size_t n;
    while ((rc = pcnn_npy_read(f, &v, &n)) == 1) {
        if (n < 1 || !v) {
            fprintf(stderr, "fuzz: a record of %zu values\n", n);
            abort();
        }
        round_trip(v, n);
        free(v);
    }
    if (rc != 0 && (rc != -1 || v || n)) {
        fprintf(stderr, "fuzz: pcnn_npy_read returned %d, n=%zu\n", rc, n);
        abort();
    }
    fclose(f);
    return 0;
}

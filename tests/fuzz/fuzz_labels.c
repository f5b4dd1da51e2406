/* fuzz_labels.c -- libFuzzer harness: class labels with pcnn_labels_load: an IDX label file
 * (magic 0x801, raw or gzip) or text, one non-negative integer per line. An input starting
 * with 0x00 is also gzip-compressed here and read again: same labels or same failure. */
#include "fuzz.h"

static int load(const char *path, int **l, size_t *n)
{
    int rc = pcnn_labels_load(l, n, path);
    if (rc == 0) {
        if (*n < 1 || !*l) {
            fprintf(stderr, "fuzz: success with %zu labels\n", *n);
            abort();
        }
        for (size_t i = 0; i < *n; i++)
            if ((*l)[i] < 0) {
                fprintf(stderr, "fuzz: label %zu is %d\n", i, (*l)[i]);
                abort();
            }
    } else if (rc != -1 || *l || *n) {
        fprintf(stderr, "fuzz: failure %d left %zu labels\n", rc, *n);
        abort();
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".labels");
    fuzz_write(path, data, size);
    int *l = NULL;
    size_t n = 0;
    int rc = load(path, &l, &n);
    if (size > 0 && data[0] == 0x00) {
        size_t zn;
        unsigned char *gz = fuzz_gzip(data, size, size / 2, &zn);
        if (gz) {
            fuzz_write(path, gz, zn);
            free(gz);
            int *l2 = NULL;
            size_t n2 = 0;
            int rc2 = load(path, &l2, &n2);
            if (rc2 != rc || n2 != n || (n && memcmp(l, l2, n * sizeof *l) != 0)) {
                fprintf(stderr, "fuzz: raw rc=%d n=%zu, gzip rc=%d n=%zu\n", rc, n, rc2, n2);
                abort();
            }
            free(l2);
        }
    }
    free(l);
    unlink(path);
    return 0;
}

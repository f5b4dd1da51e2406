/* fuzz_labels.c -- libFuzzer harness: class labels with pcnn_labels_load: an IDX label file
 * (magic 0x801, raw or gzip) or text, one non-negative integer per line. An input starting
 * with 0x00 is also gzip-compressed here and read again: same labels or same failure. The
 * same file through pcnn_labels_read, which also takes text of class names: what
 * pcnn_labels_load takes it reads the same, without names; names are valid, distinct, in
 * sorted order, each label below their number, and a renumbering by their own table (in
 * reverse) gives every label its mirror. */
#include "fuzz.h"
#include "pcnn-impl.h"

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

static void check_read(const char *path, int rc_load, const int *l, size_t n)
{
    pcnn_labels r;
    int rc = pcnn_labels_read(&r, path);
    if (rc != 0) {
        if (rc != -1 || r.label || r.names || r.n || rc_load == 0) {
            fprintf(stderr, "fuzz: pcnn_labels_read failed (%d) where pcnn_labels_load did not, or left data\n", rc);
            abort();
        }
        return;
    }
    if (rc_load == 0 && (r.names || r.n != n || memcmp(r.label, l, n * sizeof *l))) {
        fprintf(stderr, "fuzz: pcnn_labels_read differs from pcnn_labels_load\n");
        abort();
    }
    if (rc_load != 0 && (!r.names || r.nnames < 1 || r.nnames > PCNN_MAX_CLASSES)) {
        fprintf(stderr, "fuzz: numbers that pcnn_labels_load refused, or no names\n");
        abort();
    }
    for (int k = 0; r.names && k < r.nnames; k++)
        if (pcnn_name_problem(r.names[k], strlen(r.names[k])) ||
            (k && pcnn_name_cmp(r.names[k - 1], r.names[k]) >= 0) || r.line[k] < 1) {
            fprintf(stderr, "fuzz: name %d '%s' invalid or out of order\n", k, r.names[k]);
            abort();
        }
    for (size_t i = 0; r.names && i < r.n; i++)
        if (r.label[i] < 0 || r.label[i] >= r.nnames) {
            fprintf(stderr, "fuzz: label %zu is %d of %d names\n", i, r.label[i], r.nnames);
            abort();
        }
    if (r.names) {
        int nn = r.nnames;
        const char **rev = malloc((size_t)nn * sizeof *rev);
        int *before = malloc(r.n * sizeof *before);
        if (!rev || !before) abort();
        for (int k = 0; k < nn; k++) rev[k] = r.names[nn - 1 - k];
        memcpy(before, r.label, r.n * sizeof *before);
        if (pcnn_labels_map(&r, rev, nn) != 0 || r.names) {
            fprintf(stderr, "fuzz: renumbering by its own table failed: %s\n", pcnn_errstr());
            abort();
        }
        for (size_t i = 0; i < r.n; i++)
            if (r.label[i] != nn - 1 - before[i]) {
                fprintf(stderr, "fuzz: label %zu renumbered %d, not %d\n", i, r.label[i], nn - 1 - before[i]);
                abort();
            }
        free(rev), free(before);
    }
    pcnn_labels_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".labels");
    fuzz_write(path, data, size);
    int *l = NULL;
    size_t n = 0;
    int rc = load(path, &l, &n);
    check_read(path, rc, l, n);
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

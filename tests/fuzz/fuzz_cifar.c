/* fuzz_cifar.c -- libFuzzer harness: CIFAR-10 binary records (a path ending in ".bin"),
 * read both as images (pcnn_imgreader) and as labels (pcnn_labels_load). When both
 * succeed they must agree: one label per image, the first byte of its record. */
#include "fuzz.h"

#define RECORD 3073

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_path(".bin");
    fuzz_write(path, data, size);
    fuzz_images im = fuzz_read_images(path);
    int *labels = NULL;
    size_t n = 0;
    int rc = pcnn_labels_load(&labels, &n, path);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            if (labels[i] != data[i * RECORD]) {
                fprintf(stderr, "fuzz: label %zu is %d, its record's byte is %d\n", i, labels[i],
                        data[i * RECORD]);
                abort();
            }
    }
    if (rc == 0 && im.rc == 0 && (size_t)im.count != n) {
        fprintf(stderr, "fuzz: %ld images but %zu labels\n", im.count, n);
        abort();
    }
    if ((rc == 0) != (im.rc == 0)) { /* the same bytes: both readers accept or refuse them */
        fprintf(stderr, "fuzz: labels rc=%d, images rc=%d\n", rc, im.rc);
        abort();
    }
    free(labels);
    unlink(path);
    return 0;
}

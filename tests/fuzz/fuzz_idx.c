/* fuzz_idx.c -- libFuzzer harness: IDX image files, raw and gzip, read with pcnn_imgreader.
 * An input starting with 0x1f is read as it is (a gzip stream, corrupt or not). One
 * starting with 0x00 is read raw, then gzip-compressed here (in two members) and read
 * again: the gzip byte source must give the same images, or the same failure. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || (data[0] != 0x00 && data[0] != 0x1f))
        return -1;
    const char *path = fuzz_path(".idx");
    fuzz_write(path, data, size);
    fuzz_images raw = fuzz_read_images(path);
    if (data[0] == 0x00) {
        size_t n;
        unsigned char *gz = fuzz_gzip(data, size, size / 3, &n);
        if (gz) {
            fuzz_write(path, gz, n);
            free(gz);
            fuzz_images z = fuzz_read_images(path);
            if (z.rc != raw.rc || z.count != raw.count || z.sum != raw.sum) {
                fprintf(stderr, "fuzz: raw read rc=%d count=%ld, gzip read rc=%d count=%ld (%s)\n",
                        raw.rc, raw.count, z.rc, z.count, z.sum != raw.sum ? "samples differ" : "");
                abort();
            }
        }
    }
    unlink(path);
    return 0;
}

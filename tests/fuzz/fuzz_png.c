/* fuzz_png.c -- libFuzzer harness: one PNG file read with pcnn_imgreader (libpng under
 * png.c's error handling). Inputs not starting with the signature's first byte are
 * another format. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || data[0] != 0x89)
        return -1;
    const char *path = fuzz_path(".png");
    fuzz_write(path, data, size);
    fuzz_images r = fuzz_read_images(path);
    if (r.count > 1) { /* a PNG file holds one image */
        fprintf(stderr, "fuzz: %ld images from one PNG\n", r.count);
        abort();
    }
    unlink(path);
    return 0;
}

/* fuzz_netpbm.c -- libFuzzer harness: a netpbm stream (P1..P7, several images one after
 * another) read to its end with pcnn_imgreader. Inputs not starting with 'P' are another
 * format and are left to the other harnesses. */
#include "fuzz.h"

/* libnetpbm leaks the comment buffer of a PAM header it rejects (pnm_readpaminit strdups
 * it, then pm_error jumps out before it is freed or handed over; tests/fuzz/README). The
 * stack of that allocation ends inside libnetpbm (no frame pointers there), so the leaks
 * suppressed are those allocated by libnetpbm itself; a leak of what netpbm.c allocates
 * is still found. (The slow unwinder would reach pnm_readpaminit by name, at 1/30 of the
 * speed.) */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libnetpbm.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || data[0] != 'P')
        return -1;
    const char *path = fuzz_path(".pnm");
    fuzz_write(path, data, size);
    fuzz_read_images(path);
    unlink(path);
    return 0;
}

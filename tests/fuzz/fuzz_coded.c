/* fuzz_coded.c -- libFuzzer harness: pcnn-compress files (pcnn_coded_read_header and
 * pcnn_coded_read_batch) read from a FILE (fmemopen) to their end, file after file.
 * Whatever header is accepted is within its bounds; a batch read gives a stream no longer
 * than its bound and conditioning of the header's kind. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return -1;
    FILE *f = fmemopen((void *)data, size, "rb");
    if (!f)
        return 0;
    pcnn_coded_header h;
    int rc;
    while ((rc = pcnn_coded_read_header(f, "fuzz", &h)) == 1) {
        if (h.n < 1 || h.batch < 1 || h.batch > PCNN_CODED_MAX_BATCH || h.K < 2 || h.K > 256 ||
            (long)h.C * h.H * h.W > PCNN_MAX_PIXELS) {
            fprintf(stderr, "fuzz: a header out of bounds accepted\n");
            abort();
        }
        for (uint32_t done = 0; done < h.n;) {
            const int n = (int)(h.n - done < (uint32_t)h.batch ? h.n - done : (uint32_t)h.batch);
            pcnn_coded_batch b;
            if (pcnn_coded_read_batch(f, "fuzz", &h, n, &b)) goto end;
            if (b.len > 2 * (size_t)n * h.C * h.H * h.W + 8 || (h.cond == PCNN_CODED_CLASS) != !!b.cls ||
                (h.cond >= PCNN_CODED_VECTOR) != !!b.h) {
                fprintf(stderr, "fuzz: a batch out of bounds accepted\n");
                abort();
            }
            pcnn_coded_batch_free(&b);
            done += (uint32_t)n;
        }
    }
end:
    fclose(f);
    return 0;
}

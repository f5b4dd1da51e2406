/* cifar.c -- CIFAR-10 binary records: 3073 bytes each, a label byte and then the 1024 red,
 * 1024 green and 1024 blue samples of a 32x32 image, row-major. The format has no magic,
 * so a file is taken for it by its name (see pcnn_cifar_name). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "io-impl.h"

int pcnn_cifar_name(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".bin") == 0;
}

int pcnn_cifar_check(FILE *f, const char *name)
{
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        return pcnn_seterr("%s: %s", name, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return 0; /* a pipe or device: a short last record shows when it is read */
    if (st.st_size == 0)
        return pcnn_seterr("%s: empty input (no CIFAR-10 records)", name);
    if (st.st_size % PCNN_CIFAR_RECORD != 0)
        return pcnn_seterr("%s: not CIFAR-10 binary records (size %lld is not a multiple of %d)", name,
                           (long long)st.st_size, PCNN_CIFAR_RECORD);
    return 0;
}

int pcnn_cifar_read(FILE *f, const char *name, long index, uint8_t *rec)
{
    size_t got = fread(rec, 1, PCNN_CIFAR_RECORD, f);
    if (got == PCNN_CIFAR_RECORD)
        return 1;
    if (ferror(f))
        return pcnn_seterr("%s: record %ld: read error: %s", name, index + 1, strerror(errno));
    if (got == 0)
        return 0;
    return pcnn_seterr("%s: record %ld: truncated CIFAR-10 record (%zu of %d bytes)", name, index + 1, got,
                       PCNN_CIFAR_RECORD);
}

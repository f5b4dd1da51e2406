/* sniff.c -- what a file looks like from its first bytes, for the message that refuses
 * it where another kind of file was wanted ("not a pcnn model (looks like a PGM image)").
 * Only the formats a user of pcnn has at hand; NULL for anything else. */
#include <string.h>

#include "io-impl.h"

const char *pcnn_sniff(const uint8_t *b, size_t n)
{
    static const char *const netpbm[] = {"a PBM image", "a PGM image", "a PPM image",
                                         "a PBM image", "a PGM image", "a PPM image", "a PAM image"};
    if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return netpbm[b[1] - '1'];
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return "a PNG image";
    if (n >= 8 && !memcmp(b, "\x89PCZ\r\n\x1a\n", 8)) return "a pcnn-compress file";
    if (n >= 6 && !memcmp(b, "\x93NUMPY", 6)) return "a .npy record";
    if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "a gzip file (IDX images or labels?)";
    if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08 && b[3] == 1) return "IDX labels";
    if (n >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0x08 && b[3] == 3) return "IDX images";
    return NULL;
}

/* data.h -- the programs' input side: image files to level arrays, labels and
 * conditioning vectors to rows of h. Every failure here exits through cli_fail. */
#ifndef PCNN_DATA_H
#define PCNN_DATA_H
#include "cli.h"

typedef struct {
    size_t n;          /* images */
    int C, H, W;
    uint8_t *x;        /* (n,C,H,W) levels 0..K-1 */
} cli_dataset;

/* Reads every image of the paths ("-" is stdin); all must share one shape, and that of
 * want when want != NULL. Samples are quantized to K levels. At most limit images
 * (0 = all). */
void cli_load_images(cli_dataset *d, const char *const *paths, int npaths, int K,
                     const pcnn_hparams *want, size_t limit);
void cli_dataset_free(cli_dataset *d);

/* Labels file → one-hot rows h (n,classes); checks count and range. */
float *cli_onehot_from_labels(const char *path, size_t n, int classes, int *maxlabel);
/* One class for every image. */
float *cli_onehot_repeat(int cls, size_t n, int classes);
/* Reads n .npy records (or until end when n == 0, setting *n) of length *D (when *D is
 * 0, that of the first record, which it sets). */
float *cli_read_vectors(const char *path, size_t *n, int *D);
#endif

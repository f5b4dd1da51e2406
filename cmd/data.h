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

/* The images of several paths ("-" is stdin) one batch at a time, so that a program can
 * answer each batch as it arrives: all share one shape, that of want when want != NULL,
 * quantized to K levels. */
typedef struct {
    const char *const *paths;
    int npaths, next;     /* paths, and the index of the next to open */
    pcnn_imgreader *r;    /* the one open now */
    int K;
    const pcnn_hparams *want;
    int C, H, W;          /* the shape, once the first image is read */
    size_t n;             /* images read so far */
    size_t in_file;       /* of them, from the open path (messages count in their file) */
} cli_image_stream;
void cli_image_stream_open(cli_image_stream *s, const char *const *paths, int npaths, int K,
                           const pcnn_hparams *want);
/* Up to max images into x (max,C,H,W); returns how many (0 at the end of the last path;
 * no image at all is an error). */
int cli_image_stream_next(cli_image_stream *s, uint8_t *x, int max);

/* .npy records one at a time, each of D values, checked as conditioning. */
typedef struct {
    FILE *f;
    const char *name;
    int D;                /* 0 until the first record tells it */
    size_t n;             /* records read so far */
} cli_vector_stream;
void cli_vector_stream_open(cli_vector_stream *s, const char *path, int D);
/* The next record into v (D values); 1, or 0 at the end. */
int cli_vector_stream_next(cli_vector_stream *s, float *v);
void cli_vector_stream_close(cli_vector_stream *s);

/* Reads every image of the paths ("-" is stdin); all must share one shape, and that of
 * want when want != NULL. Samples are quantized to K levels. At most limit images
 * (0 = all). */
void cli_load_images(cli_dataset *d, const char *const *paths, int npaths, int K,
                     const pcnn_hparams *want, size_t limit);
void cli_dataset_free(cli_dataset *d);

/* The labels of n images (a file of at least n). */
void cli_labels_read(pcnn_labels *l, const char *path, size_t n);
/* Names renumbered by a model's table (names NULL: its classes have numbers only). */
void cli_labels_map(pcnn_labels *l, const pcnn_model *m);
/* The largest of the first n labels. */
int cli_labels_max(const pcnn_labels *l, size_t n);
/* One-hot rows h (n,classes) of the first n labels; each must be below classes. */
float *cli_onehot(const pcnn_labels *l, size_t n, int classes);
/* The class that a -c argument names (a class name or number of the model); a usage
 * error (exit 2) otherwise. */
int cli_class_arg(const pcnn_model *m, const char *model_path, const char *opt, const char *arg);
/* One class for every image. */
float *cli_onehot_repeat(int cls, size_t n, int classes);
/* Reads n .npy records (or until end when n == 0, setting *n) of length *D (when *D is
 * 0, that of the first record, which it sets). */
float *cli_read_vectors(const char *path, size_t *n, int *D);
#endif

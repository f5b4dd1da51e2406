/* pcnn.h -- the one public header of libpcnn: Gated and Conditional PixelCNN.
 *
 * Conventions
 *  - Functions that can fail return 0 on success and -1 on failure; the reason is
 *    in pcnn_errstr() (thread-local, overwritten by the next failure). The library
 *    never prints and never exits.
 *  - Readers that walk a stream return 1 (got one), 0 (clean end of stream), -1 (error).
 *  - Images are uint8, channel-planar (C,H,W), with an explicit maxval (1..255).
 *  - Activations inside the model are channels-last (B,H,W,C); the model file stores
 *    weights in PyTorch's (out,in,kh,kw) layout (see pcnn-model(5)).
 *  - pcnn_<object>_free(NULL) is always safe.
 */
#ifndef PCNN_H
#define PCNN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */
const char *pcnn_errstr(void);
/* Sets the message returned by pcnn_errstr(); always returns -1. */
int pcnn_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sizes read from files are checked against these before anything is allocated. */
#define PCNN_MAX_SIDE 8192            /* width or height of one image */
#define PCNN_MAX_PIXELS (1L << 26)    /* w*h*c of one image */

/* ---- images ------------------------------------------------------------ */
typedef struct {
    int c, h, w;      /* channels (1 gray, 3 RGB), height, width */
    int maxval;       /* largest sample value, 1..255 */
    uint8_t *data;    /* (C,H,W), owned */
} pcnn_image;

void pcnn_image_free(pcnn_image *img); /* frees data, keeps the struct */

/* A reader over one input: a netpbm stream (P1..P7, several images one after
 * another), a PNG file, or an IDX image file (gzip or raw). The format is told
 * by the first bytes, so "-" (stdin) works for every format. */
typedef struct pcnn_imgreader pcnn_imgreader;
pcnn_imgreader *pcnn_imgreader_open(const char *path); /* NULL on error */
int pcnn_imgreader_next(pcnn_imgreader *r, pcnn_image *out); /* 1 / 0 / -1 */
const char *pcnn_imgreader_name(const pcnn_imgreader *r);     /* "-" shows as "stdin" */
void pcnn_imgreader_free(pcnn_imgreader *r);

/* Reads every image of every path into one array. */
int pcnn_images_load(pcnn_image **out, size_t *n, const char *const *paths, int npaths);

/* Labels: an IDX label file (gzip or raw, magic 0x801) or a text file of one
 * non-negative integer per line. */
int pcnn_labels_load(int **labels, size_t *n, const char *path);

/* Writes one image as a netpbm image (P5 for C=1, P6 for C=3) to an open stream. */
int pcnn_netpbm_write(FILE *f, const pcnn_image *img);
/* Writes n equal-sized images as one PNG grid with ncol columns (1 px gaps),
 * scaled to 8 bits, atomically (temporary file, fsync, rename). */
int pcnn_png_write_grid(const char *path, const pcnn_image *imgs, int n, int ncol);

/* ---- .npy records -------------------------------------------------------- */
/* One record: NumPy .npy v1 (or v2/v3), dtype '<f4', C order, shape (n,) or (1,n).
 * Reading allocates *v (caller frees). Returns 1 / 0 (end of stream) / -1. */
int pcnn_npy_read(FILE *f, float **v, size_t *n);
int pcnn_npy_write(FILE *f, const float *v, size_t n); /* shape (n,), v1 */

/* ---- safetensors --------------------------------------------------------- */
typedef struct {
    char name[128];
    int ndim;
    int64_t shape[4];
    float *data; /* F32, owned */
} pcnn_tensor;

typedef struct {
    pcnn_tensor *t;
    int n;
    char **meta_keys, **meta_vals; /* __metadata__ string pairs */
    int nmeta;
} pcnn_st;

/* Reads a whole .safetensors file; only F32 tensors of rank <= 4 are accepted. */
int pcnn_st_read(pcnn_st *st, const char *path);
/* Writes atomically: path.tmpXXXXXX, fsync, rename. */
int pcnn_st_write(const pcnn_st *st, const char *path);
const pcnn_tensor *pcnn_st_find(const pcnn_st *st, const char *name);
const char *pcnn_st_meta(const pcnn_st *st, const char *key); /* NULL if absent */
void pcnn_st_free(pcnn_st *st); /* frees contents, keeps the struct */

/* ---- the model ------------------------------------------------------------ */
typedef struct {
    int L;       /* gated layers after the first (mask A) layer */
    int p;       /* feature maps per stack; a multiple of 3 when C == 3 */
    int n;       /* filter size, odd */
    int C, H, W; /* image shape */
    int K;       /* levels per channel (2..256) */
    int D;       /* conditioning vector size, 0 = unconditional */
    int classes; /* > 0: h is a one-hot of this many classes (then D == classes) */
} pcnn_hparams;

typedef struct pcnn_model pcnn_model;

int pcnn_hparams_check(const pcnn_hparams *hp);
pcnn_model *pcnn_model_new(const pcnn_hparams *hp, uint64_t seed); /* random init */
pcnn_model *pcnn_model_load(const char *path);
/* Saves weights, hyperparameters and, if train != NULL, the training state. */
struct pcnn_train_state;
int pcnn_model_save(const pcnn_model *m, const struct pcnn_train_state *train, const char *path);
const pcnn_hparams *pcnn_model_hparams(const pcnn_model *m);
size_t pcnn_model_nparams(const pcnn_model *m);
void pcnn_model_free(pcnn_model *m);

/* Input quantization: an 8-bit sample with maxval M becomes level floor(u*K/(M+1)). */
int pcnn_quantize(uint8_t *levels, const pcnn_image *img, int K);

/* Evaluation: x levels (B,C,H,W), h (B,D) or NULL. Writes per-image negative
 * log-likelihood in nats (sum over all C*H*W dims) into nll[B]. */
int pcnn_model_nll(pcnn_model *m, float *nll, const uint8_t *x, const float *h, int B);

/* Logits for all pixels: out (B,H,W,C,K), x (B,C,H,W) levels. */
int pcnn_model_logits(pcnn_model *m, float *out, const uint8_t *x, const float *h, int B);

#ifdef __cplusplus
}
#endif
#endif

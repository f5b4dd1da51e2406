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
 * another), a PNG file, an IDX image file (gzip or raw), or CIFAR-10 binary records
 * (3073 bytes each: a label byte, then the R, G and B planes of a 32x32 image). The
 * format is told by the first bytes, so "-" (stdin) works for every format but
 * CIFAR-10, which has no magic and is told by a path ending in ".bin". */
typedef struct pcnn_imgreader pcnn_imgreader;
pcnn_imgreader *pcnn_imgreader_open(const char *path); /* NULL on error */
int pcnn_imgreader_next(pcnn_imgreader *r, pcnn_image *out); /* 1 / 0 / -1 */
const char *pcnn_imgreader_name(const pcnn_imgreader *r);     /* "-" shows as "stdin" */
void pcnn_imgreader_free(pcnn_imgreader *r);

/* Reads every image of every path into one array. */
int pcnn_images_load(pcnn_image **out, size_t *n, const char *const *paths, int npaths);

/* Labels: an IDX label file (gzip or raw, magic 0x801), the label bytes of CIFAR-10
 * binary records (a path ending in ".bin"), or a text file of one non-negative
 * integer per line. */
int pcnn_labels_load(int **labels, size_t *n, const char *path);

/* Whether path can be written as an output file: its directory exists and is writable,
 * and it is not something other than a regular file (a device, a FIFO, a directory). */
int pcnn_output_check(const char *path);

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

/* Selects where models made or loaded from now on compute: "cpu", "cuda", or "auto"
 * (CUDA when this build has it and a GPU is usable, else the CPU). *used gets the name of
 * the backend chosen. Returns 0; 1 when "cuda" was asked for and the CPU is used instead;
 * -1 for an unknown name. */
int pcnn_device_select(const char *name, const char **used);

int pcnn_hparams_check(const pcnn_hparams *hp);
pcnn_model *pcnn_model_new(const pcnn_hparams *hp, uint64_t seed); /* random init */
pcnn_model *pcnn_model_load(const char *path);
/* Saves weights and hyperparameters (atomically). */
int pcnn_model_save(const pcnn_model *m, const char *path);
const pcnn_hparams *pcnn_model_hparams(const pcnn_model *m);
size_t pcnn_model_nparams(const pcnn_model *m);
/* Floating-point operations of one forward pass over one image: 2 per multiply-add of
 * every convolution and head GEMM as computed (masked zeros included), conditioning and
 * elementwise work left out. A training step costs about three times this. */
double pcnn_model_flops(const pcnn_model *m);
void pcnn_model_free(pcnn_model *m);

/* Input quantization: an 8-bit sample with maxval M becomes level floor(u*K/(M+1)). */
int pcnn_quantize(uint8_t *levels, const pcnn_image *img, int K);

/* Evaluation: x levels (B,C,H,W), h (B,D) or NULL. Writes per-image negative
 * log-likelihood in nats (sum over all C*H*W dims) into nll[B]. */
int pcnn_model_nll(pcnn_model *m, float *nll, const uint8_t *x, const float *h, int B);

/* Logits for all pixels: out (B,H,W,C,K), x (B,C,H,W) levels. */
int pcnn_model_logits(pcnn_model *m, float *out, const uint8_t *x, const float *h, int B);

/* ---- training ------------------------------------------------------------------ */
typedef struct {
    int batch;       /* images per step */
    uint64_t seed;   /* data order (and the model's initial weights, chosen by the caller) */
    float lr, beta1, beta2, eps; /* Adam */
    float clip;      /* largest global gradient norm, 0 = no clipping */
} pcnn_train_opts;

/* Optimizer state beside a model it does not own: Adam moments, step count, data order.
 * A trainer saved and loaded continues exactly as if it had never stopped. */
typedef struct pcnn_trainer pcnn_trainer;
void pcnn_train_opts_default(pcnn_train_opts *o);
pcnn_trainer *pcnn_trainer_new(pcnn_model *m, const pcnn_train_opts *o);
/* Reads the state saved with pcnn_trainer_save from path (the model was loaded from it). */
pcnn_trainer *pcnn_trainer_load(pcnn_model *m, const char *path);
/* Model and training state in one file, atomically. */
int pcnn_trainer_save(const pcnn_trainer *t, const char *path);
const pcnn_train_opts *pcnn_trainer_opts(const pcnn_trainer *t);
int64_t pcnn_trainer_step_count(const pcnn_trainer *t);
/* The dataset indices of the next step's batch, for a dataset of n images: a fresh
 * permutation each epoch, derived from (seed, epoch) alone. idx has opts.batch slots. */
int pcnn_trainer_batch(pcnn_trainer *t, size_t n, size_t *idx);
/* One Adam step on the mean negative log-likelihood of the batch; *bpd gets its value
 * in bits per dimension (before the step). */
int pcnn_trainer_step(pcnn_trainer *t, const uint8_t *x, const float *h, int B, float *bpd);
void pcnn_trainer_free(pcnn_trainer *t);

/* nats per image → bits per dimension */
double pcnn_bits_per_dim(const pcnn_hparams *hp, double nats);

/* ---- sampling --------------------------------------------------------------------- */
/* Draws B images pixel by pixel in raster order, channel by channel: x (B,C,H,W) levels,
 * h (B,D) or NULL. Image b takes its random numbers from stream (seed, b) alone, so the
 * same seed draws the same images whatever the batch. progress may be NULL.
 * pcnn_model_sample keeps the activations later pixels need (one column of work per
 * pixel and layer); pcnn_model_sample_naive reruns the network for every pixel. Both
 * compute the same function. */
int pcnn_model_sample(pcnn_model *m, uint8_t *x, const float *h, int B, float temperature,
                      uint64_t seed, void (*progress)(long done, long total, void *arg), void *arg);
int pcnn_model_sample_naive(pcnn_model *m, uint8_t *x, const float *h, int B, float temperature,
                            uint64_t seed, void (*progress)(long done, long total, void *arg),
                            void *arg);

#ifdef __cplusplus
}
#endif
#endif

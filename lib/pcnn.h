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

/* The length of the valid UTF-8 at the start of s[0..n) (n when all of it is; a NUL
 * byte ends it too): what the model files' metadata and class names must be. */
size_t pcnn_utf8_check(const uint8_t *s, size_t n);

/* Sizes read from files are checked against these before anything is allocated. */
#define PCNN_VERSION "0.1.0"          /* of the library and its programs */
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
 * integer per line. A text file of class names is refused here (pcnn_labels_read). */
int pcnn_labels_load(int **labels, size_t *n, const char *path);
/* Writes n labels as text, one integer per line, atomically (temporary file, rename). */
int pcnn_labels_write(const char *path, const int *labels, size_t n);

/* Class names. A text label file may name its classes instead of numbering them: one
 * name per line, blanks (space, tab, CR) around it ignored, blank lines only at the end.
 * A name is 1..PCNN_MAX_NAME bytes of UTF-8 without control characters (inner spaces
 * allowed) and not all digits: every line of a file is a number, or every line a name.
 * The distinct names of a file are its classes, numbered in sorted order: runs of digits
 * compare as numbers (s2 before s10), other bytes as bytes; names equal so ("s01", "s1")
 * by their bytes. The order depends on the set of names alone, not on the file's order. */
#define PCNN_MAX_NAME 64       /* bytes of a class name */
#define PCNN_MAX_CLASSES 65536 /* classes of a model, distinct names of a label file */
typedef struct {
    int *label;    /* (n) the class of each image, owned */
    size_t n;
    char **names;  /* (nnames) the name of class k, owned (one allocation); NULL for numbers */
    int nnames;
    long *line;    /* (nnames) the line where each name first appears, for messages */
    char *path;    /* the file as messages name it ("stdin" for "-"), owned */
} pcnn_labels;
/* Reads a labels input of any of the formats above; numbers give names == NULL. */
int pcnn_labels_read(pcnn_labels *l, const char *path);
/* Renumbers named labels by a model's table of names (ntable of them; NULL, 0 for a model
 * whose classes have no names): a name not in it fails, the message naming the file, the
 * line and the name. Afterwards label indexes the table and names is NULL. Numbers are
 * left as they are. */
int pcnn_labels_map(pcnn_labels *l, const char *const *table, int ntable);
void pcnn_labels_free(pcnn_labels *l); /* frees the contents, keeps the struct */
/* Writes n labels as text, atomically: the names of their classes (names[labels[i]]) one
 * per line, or with names == NULL as pcnn_labels_write. */
int pcnn_labels_write_names(const char *path, const int *labels, size_t n, const char *const *names);

/* Whether path can be written as an output file: a non-empty name not ending in '/', its
 * directory exists and is writable, it is not something other than a regular file (a
 * device, a FIFO, a directory), and its temporary name (path.tmpXXXXXX) fits. */
int pcnn_output_check(const char *path);
/* Removes the temporary files an interrupted write of path left beside it: regular
 * files of this user named exactly path.tmp and six of [A-Za-z0-9], that no write in
 * progress holds locked. Returns how many, or -1 when the directory cannot be read. */
int pcnn_output_clean_temps(const char *path);
/* Removes the temporary files of the writes in progress in this process, for a program
 * about to die of a signal: none is left beside its target. Safe from any thread. */
void pcnn_output_abandon(void);

/* Writes one image as a netpbm image (P5 for C=1, P6 for C=3) to an open stream. */
int pcnn_netpbm_write(FILE *f, const pcnn_image *img);
/* Writes n images as one netpbm stream to path, atomically (temporary file, fsync, rename). */
int pcnn_netpbm_write_file(const char *path, const pcnn_image *imgs, int n);
/* Writes n equal-sized images as one PNG grid with ncol columns (1 px gaps), levels
 * scaled to 8 bits, every pixel drawn as a scale x scale block (1: as they are),
 * atomically (temporary file, fsync, rename). */
int pcnn_png_write_grid(const char *path, const pcnn_image *imgs, int n, int ncol, int scale);
/* The same grid with a column of text at its left: labels[r] (ceil(n / ncol) of them;
 * NULL or "" for none) at the left of grid row r, black on white, in libnetpbm's built-in
 * BDF font at its own size (about 12 pixels high) whatever the scale. A row shorter than
 * the text gets taller, its images at the top. UTF-8 beyond Latin-1 shows as '?'.
 * labels == NULL writes exactly what pcnn_png_write_grid writes. */
int pcnn_png_write_grid_labels(const char *path, const pcnn_image *imgs, int n, int ncol, int scale,
                               const char *const *labels);

/* ---- coded files (pcnn-compress; pcnn-coded(5)) ---------------------------- */
enum { PCNN_CODED_NONE, PCNN_CODED_CLASS, PCNN_CODED_VECTOR, PCNN_CODED_CODE };
#define PCNN_CODED_MAX_BATCH 64
typedef struct {
    uint8_t hash[16];   /* the model's (pcnn_model_hash) */
    uint32_t n;         /* images */
    int C, H, W, K;     /* their shape, and the model's levels */
    int maxval;         /* of the images: level l is sample l * (maxval + 1) / K */
    int cond;           /* PCNN_CODED_*: what each image's conditioning is */
    int D;              /* classes (CLASS), or values per vector (VECTOR, CODE); 0 for NONE */
    int batch;          /* images per stream (the last batch may hold fewer) */
} pcnn_coded_header;
typedef struct {
    int n;              /* images */
    int *cls;           /* (n) CLASS */
    float *h;           /* (n,D) VECTOR; CODE, stored in half precision */
    uint8_t *data;      /* the rANS stream (pcnn_model_compress), len bytes */
    size_t len;
    uint32_t crc;       /* pcnn_coded_crc of the batch's levels (n,C,H,W) */
} pcnn_coded_batch;
/* Writes a header and its batches to path ("-" or NULL: stdout), atomically. */
int pcnn_coded_write_file(const char *path, const pcnn_coded_header *h, const pcnn_coded_batch *b, int nb);
/* Reads a header: 1, 0 at a clean end of f (files may follow one another), -1. */
int pcnn_coded_read_header(FILE *f, const char *name, pcnn_coded_header *h);
/* Reads the next batch, of n images, into b (pcnn_coded_batch_free frees it). */
int pcnn_coded_read_batch(FILE *f, const char *name, const pcnn_coded_header *h, int n, pcnn_coded_batch *b);
void pcnn_coded_batch_free(pcnn_coded_batch *b);
uint32_t pcnn_coded_crc(const uint8_t *levels, size_t n);
/* x rounded to half precision, as a CODE is stored: code with the rounded values */
float pcnn_coded_half(float x);

/* ---- .npy records -------------------------------------------------------- */
/* One record: NumPy .npy v1 (or v2/v3), dtype '<f4', C order, shape (n,) or (1,n).
 * Reading allocates *v (caller frees). Returns 1 / 0 (end of stream) / -1. */
int pcnn_npy_read(FILE *f, float **v, size_t *n);
int pcnn_npy_write(FILE *f, const float *v, size_t n); /* shape (n,), v1 */

/* ---- the model ------------------------------------------------------------ */
typedef struct {
    int L;       /* gated layers after the first (mask A) layer */
    int p;       /* feature maps per stack; a multiple of 3 when C == 3 */
    int n;       /* filter size, odd */
    int C, H, W; /* image shape */
    int K;       /* levels per channel (2..256) */
    int D;       /* conditioning vector size, 0 = unconditional */
    int classes; /* > 0: h is a one-hot of this many classes (then D == classes); for an
                    embedding net, the identities it was trained on */
    int S;       /* > 0: location-dependent conditioning: h → s = m(h), S maps of H×W, and
                    each layer adds 1×1 convolutions of s; 0: each layer adds V h */
    int encoder; /* 1: h is computed from the image by a convolutional encoder (the
                    PixelCNN autoencoder); D is its bottleneck size */
    int q;       /* feature maps of the small nets (encoder, m(), decoder, embedding net) */
    int kind;    /* PCNN_PIXELCNN, PCNN_MSE_AUTOENCODER or PCNN_EMBEDDING */
} pcnn_hparams;

/* What a model is: a PixelCNN (conditional or not, maybe with an encoder), an encoder
 * with a deconvolutional decoder trained on mean squared error (for comparison with the
 * PixelCNN decoder), or an embedding net trained with a triplet loss. */
enum { PCNN_PIXELCNN = 0, PCNN_MSE_AUTOENCODER = 1, PCNN_EMBEDDING = 2 };
const char *pcnn_kind_name(int kind);

/* What h, the conditioning argument of a model's functions, carries: the one question
 * programs ask instead of combining kind, classes, encoder and D themselves. */
enum {
    PCNN_COND_NONE,     /* unconditional: h is NULL */
    PCNN_COND_CLASS,    /* one-hots of hp.classes classes */
    PCNN_COND_VECTOR,   /* any vectors of hp.D values */
    PCNN_COND_CODE,     /* codes of hp.D values that the model's own encoder makes from
                           images (a PixelCNN or MSE autoencoder): h == NULL encodes the
                           images given, h given is decoded */
    PCNN_COND_IDENTITY, /* an embedding net: h is one-hots of identities, in training only */
};

typedef struct pcnn_model pcnn_model;

/* Where a model computes: a backend instance, opened once and passed to
 * pcnn_model_new or pcnn_model_load. Each instance has its own handles, caches and
 * scratch, and its models use them; closing it frees them, after its models are freed.
 * A failure of the device (a CUDA error, out of memory inside a kernel library) makes
 * the model functions that use it return -1 with the reason, from then on. */
typedef struct pcnn_backend pcnn_backend;
/* "cpu", "cuda", or "auto" (CUDA when this build has it and a GPU is usable, else the
 * CPU). "cuda" without a usable GPU opens the CPU too: pcnn_backend_name tells which was
 * opened. NULL for an unknown name, or when the device cannot be set up.
 * The CUDA backend is a library of its own, libpcnn-cuda.so, loaded only by an open
 * that uses the GPU ("auto" asks the CUDA driver first whether there is one); the
 * environment variable PCNN_CUDA_LIB names the file, else it is looked for beside the
 * running program, then where make install put it. */
pcnn_backend *pcnn_backend_open(const char *name);
const char *pcnn_backend_name(const pcnn_backend *be); /* "cpu" or "cuda" */
/* One line for a log: on the GPU its name and memory ("NVIDIA H200, 139 GiB"); on the
 * CPU opened for "cuda" or "auto", why the GPU is not used ("no CUDA driver", "no CUDA
 * device", the loader's message about libpcnn-cuda.so); "" on the CPU asked for. */
const char *pcnn_backend_describe(const pcnn_backend *be);
void pcnn_backend_close(pcnn_backend *be);

int pcnn_hparams_check(const pcnn_hparams *hp);
/* A model on the backend be, which must stay open until the model is freed. */
pcnn_model *pcnn_model_new(pcnn_backend *be, const pcnn_hparams *hp, uint64_t seed); /* random init */
pcnn_model *pcnn_model_load(pcnn_backend *be, const char *path);
/* Saves weights and hyperparameters (atomically). */
int pcnn_model_save(const pcnn_model *m, const char *path);
const pcnn_hparams *pcnn_model_hparams(const pcnn_model *m);
size_t pcnn_model_nparams(const pcnn_model *m);
int pcnn_model_cond(const pcnn_model *m); /* PCNN_COND_* */
/* the unit of the training loss pcnn_trainer_step reports: "bpd", "mse" or "triplet" */
const char *pcnn_model_loss_unit(const pcnn_model *m);
/* Floating-point operations of one forward pass over one image: 2 per multiply-add of
 * every convolution and head GEMM that the masks keep (their zeros left out),
 * conditioning and elementwise work left out; 0 for a model that is not a PixelCNN, or
 * out of memory. A training step costs about three times this. */
double pcnn_model_flops(const pcnn_model *m);
void pcnn_model_free(pcnn_model *m);

/* The names of a model's classes (or an embedding net's identities): hp.classes of them,
 * class k named names[k]; NULL when its classes are numbered only. Saved with the model
 * (pcnn-model(5)). */
const char *const *pcnn_model_class_names(const pcnn_model *m);
/* Names the classes: n == hp.classes valid, distinct names (see pcnn_labels_read), copied;
 * NULL, 0 takes the names away. */
int pcnn_model_set_class_names(pcnn_model *m, const char *const *names, int n);
/* The class that s names: one of the model's class names, or a class number (digits
 * only) below hp.classes. -1, with the reason, when it is neither. */
int pcnn_model_class(const pcnn_model *m, const char *s);

/* Conditioning values must be finite and within +-PCNN_MAX_COND: finite but huge values
 * (3e38) would overflow the layers' sums into Inf and NaN, and the output be noise.
 * pcnn_cond_check returns 0 when the n values pass, else -1 with the reason; every
 * function below that takes h checks it. */
#define PCNN_MAX_COND 1e6
int pcnn_cond_check(const float *h, size_t n);

/* Input quantization: an 8-bit sample with maxval M becomes level floor(u*K/(M+1)). */
int pcnn_quantize(uint8_t *levels, const pcnn_image *img, int K);

/* Evaluation: x levels (B,C,H,W), h (B,D) or NULL. Writes per-image negative
 * log-likelihood in nats (sum over all C*H*W dims) into nll[B]. */
int pcnn_model_nll(pcnn_model *m, float *nll, const uint8_t *x, const float *h, int B);

/* Logits for all pixels: out (B,H,W,C,K), x (B,C,H,W) levels. */
int pcnn_model_logits(pcnn_model *m, float *out, const uint8_t *x, const float *h, int B);

/* For a model with an encoder (hp.encoder, an MSE autoencoder, an embedding net): h
 * (B,D) of the images x (B,C,H,W) levels. An embedding has unit length. For a PixelCNN
 * autoencoder, pcnn_model_nll and pcnn_model_logits with h == NULL encode x themselves
 * (the reconstruction likelihood); with h given they decode h. */
int pcnn_model_encode(pcnn_model *m, float *h, const uint8_t *x, int B);
/* For an MSE autoencoder: the decoder's reconstruction x (B,C,H,W) levels of h (B,D). */
int pcnn_model_decode(pcnn_model *m, uint8_t *x, const float *h, int B);

/* Lossless coding (pcnn-compress): B images of levels x (B,C,H,W), conditioned on h
 * (B,D) as for sampling (an autoencoder's h is its code, which the caller makes and keeps:
 * the decoder needs it), into one rANS stream *out (malloc'd, *len bytes). Decompressing
 * needs the same model, h and B, and gives back x exactly. Both run on the CPU backend in
 * a fixed order of arithmetic, so that any machine, build and thread count decodes what
 * any other coded; they cost what drawing the batch costs. */
int pcnn_model_compress(pcnn_model *m, uint8_t **out, size_t *len, const uint8_t *x, const float *h, int B);
int pcnn_model_decompress(pcnn_model *m, uint8_t *x, const float *h, int B, const uint8_t *in, size_t len);
/* 16 bytes that name what fixes a model's probabilities: its shape and weights (XXH3-128). */
int pcnn_model_hash(pcnn_model *m, uint8_t hash[16]);

/* Verification accuracy of embeddings e (n,D) with identities id (n): of all triplets
 * (anchor, same identity, other identity), the fraction where the anchor is closer to
 * the one of its own identity (0.5 is chance). *triplets gets how many were counted.
 * NaN, with the reason in pcnn_errstr(), when there is no triplet or no memory. */
double pcnn_verify_accuracy(const float *e, const int *id, size_t n, int D, double *triplets);

/* ---- training ------------------------------------------------------------------ */
/* Learning-rate schedules: after a linear warm-up over `warmup` steps, the rate stays
 * (constant), is multiplied by lr_decay every step (exp), or follows half a cosine
 * from lr to 0 at step lr_steps (cosine). */
enum { PCNN_LR_CONSTANT = 0, PCNN_LR_EXP = 1, PCNN_LR_COSINE = 2 };
/* Which images of a training set a run holds out when it is given no separate held-out
 * set: a random 5% chosen by the seed, or the last 5% (runs saved before the choice was
 * recorded; a sorted input then held out whole classes). */
enum { PCNN_HELD_OUT_RANDOM = 0, PCNN_HELD_OUT_LAST = 1 };

typedef struct {
    int batch;       /* images per step */
    uint64_t seed;   /* data order (and the model's initial weights, chosen by the caller) */
    float lr, beta1, beta2, eps; /* Adam */
    float clip;      /* largest global gradient norm, 0 = no clipping */
    int schedule;    /* PCNN_LR_* */
    int64_t warmup;  /* steps of linear warm-up from 0 to lr */
    float lr_decay;  /* exp: factor per step after the warm-up */
    int64_t lr_steps; /* cosine: the step at which the rate reaches 0 */
    float ema;       /* decay of the weights' moving average (Polyak); 0 = none */
    float dropout;   /* rate of dropout on the residual layers' gated output; 0 = none */
    int held_out;    /* PCNN_HELD_OUT_* */
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
/* The learning rate of step t (1-based) under o's schedule. */
double pcnn_train_lr(const pcnn_train_opts *o, int64_t t);
const char *pcnn_lr_schedule_name(int schedule); /* "constant", "exp", "cosine" */
/* The decay of the weights' average at step t: min(ema, (1 + t) / (10 + t)), so that the
 * average forgets the initial weights within the first steps (as TensorFlow's
 * ExponentialMovingAverage with num_updates), then ema. */
double pcnn_train_ema_decay(const pcnn_train_opts *o, int64_t t);
/* With a moving average (opts.ema > 0), on = 1 puts the averaged weights in the model
 * (for validation, sampling, saving a plain model) and on = 0 the trained ones back;
 * steps need the trained ones. A no-op without averaging. */
void pcnn_trainer_use_average(pcnn_trainer *t, int on);
/* Marks in held[0..n) the n / 20 images of a training set of n that o holds out (1) and
 * those it trains on (0): a function of o->seed and o->held_out alone. */
void pcnn_train_held_out(const pcnn_train_opts *o, size_t n, unsigned char *held);
/* Records a validation figure v at the current step (lower is better, or higher with
 * higher_better); returns 1 when it is the best so far, which the saved state keeps. */
int pcnn_trainer_note_valid(pcnn_trainer *t, double v, int higher_better);
/* The best validation figure recorded (NaN: none yet) and its step. */
double pcnn_trainer_best(const pcnn_trainer *t, int64_t *step);
/* The dataset indices of the next step's batch, for a dataset of n images: a fresh
 * permutation each epoch, derived from (seed, epoch) alone. idx has opts.batch slots. */
int pcnn_trainer_batch(pcnn_trainer *t, size_t n, size_t *idx);
/* One Adam step on the batch's loss; in a job (pcnn_trainer_set_dist) x and h hold this
 * rank's share, B images, and *bpd is the whole batch's. *bpd gets its value (before the step): for a
 * PixelCNN the mean negative log-likelihood in bits per dimension, for an MSE
 * autoencoder the mean squared error per dimension (on the [-1, 1] scale), for an
 * embedding net the triplet loss per image. h: the conditioning (B,D), NULL for a model
 * with an encoder; for an embedding net, one-hots of the images' identities (B,classes). */
int pcnn_trainer_step(pcnn_trainer *t, const uint8_t *x, const float *h, int B, float *bpd);
void pcnn_trainer_free(pcnn_trainer *t);

/* ---- data-parallel training ------------------------------------------------------ */
/* A job of processes (ranks) that train one model together (pcnn-train(1)): each takes
 * its share of every batch, their gradients are summed, and every rank makes the same
 * step. MPI carries it (dist.c); a process not started by a launcher (mpirun, srun), or
 * a build without MPI, is a job of one. */
typedef struct pcnn_dist pcnn_dist;
/* Joins the job this process was started in (MPI_Init when a launcher started it).
 * timeout: the seconds a rank waits for the others in any
 * exchange before it gives up with an error (0: for ever), since a rank that hangs is
 * something MPI never reports. NULL, with the reason, when MPI fails, or when a launcher
 * started several copies of a build without MPI. */
pcnn_dist *pcnn_dist_open(double timeout);
int pcnn_dist_rank(const pcnn_dist *d);       /* 0..size-1; 0 for NULL */
int pcnn_dist_size(const pcnn_dist *d);       /* 1 for NULL */
int pcnn_dist_local_size(const pcnn_dist *d); /* ranks on this machine */
/* the compute threads a rank should use: the online cores shared among the ranks on this
 * machine, and no more than the cores the launcher bound it to */
int pcnn_dist_threads(const pcnn_dist *d);
/* for a log line: "rank 0 of 2, 2 on this machine (Open MPI v4.1.4)" */
const char *pcnn_dist_describe(const pcnn_dist *d);
/* *flag = the largest of every rank's *flag (a collective: every rank calls it) */
int pcnn_dist_any(pcnn_dist *d, int *flag);
/* Leaves the job (MPI_Finalize); NULL is safe. */
void pcnn_dist_close(pcnn_dist *d);
/* Makes t one rank of the job d (NULL: alone again): opts.batch stays the global batch,
 * of which pcnn_trainer_shard names this rank's images; pcnn_trainer_step takes those
 * and sums the gradients over the ranks. Collective: fails, with the reason, when the
 * ranks do not hold the same weights, optimizer state and step, or the batch is smaller
 * than the job. */
int pcnn_trainer_set_dist(pcnn_trainer *t, pcnn_dist *d);
/* This rank's images of the step's batch: idx[*first .. *first + *count) of what
 * pcnn_trainer_batch gives (all of them without a job). */
void pcnn_trainer_shard(const pcnn_trainer *t, int *first, int *count);

/* nats per image → bits per dimension */
double pcnn_bits_per_dim(const pcnn_hparams *hp, double nats);

/* ---- sampling --------------------------------------------------------------------- */
/* How to draw. Image b takes its random numbers from stream (seed, b mod per_row) alone,
 * so the same seed draws the same images whatever the batch; with per_row > 0, images b,
 * b + per_row, b + 2*per_row, ... share one stream: rows of per_row images whose
 * conditioning changes from row to row (an interpolation) then draw with the same
 * noise, so that a column changes only as the conditioning does. Each value is drawn
 * from softmax(logits / temperature) (temperature > 0); with top_p < 1, from its
 * nucleus (Holtzman et al. 2020): the fewest levels, likeliest first (of equal ones the
 * lower first), whose probabilities sum to at least top_p, renormalised.
 * temperature = top_p = 1 draws from the model itself. */
typedef struct {
    float temperature, top_p;
    uint64_t seed;
    int per_row;   /* 0: every image its own stream */
    int naive;     /* rerun the whole network for every pixel (for comparison); the default
                      keeps the activations later pixels need, one column of work per pixel
                      and layer. Both compute the same function. */
    void (*progress)(long done, long total, void *arg); /* may be NULL */
    void *arg;
    /* completion: where known (H,W) is 1, every channel of the pixel is kept from given
     * (B,C,H,W levels) instead of drawn, and the pixels after it are drawn given it. Both
     * NULL: draw every pixel. The random numbers of the drawn values are those they would
     * have without known pixels. */
    const uint8_t *given, *known;
} pcnn_sample_opts;
/* temperature 1, top_p 1, seed 1, per_row 0, cached, no progress; temperature 0 is
 * greedy: every value the likeliest level (the lowest of equal ones) */
void pcnn_sample_opts_default(pcnn_sample_opts *o);
/* Draws B images pixel by pixel in raster order, channel by channel: x (B,C,H,W) levels,
 * h (B,D) or NULL. Any B: the work goes in chunks of 64 images, whose memory it needs. */
int pcnn_model_sample(pcnn_model *m, uint8_t *x, const float *h, int B, const pcnn_sample_opts *o);

#ifdef __cplusplus
}
#endif
#endif

/* pcnn-impl.h -- what the library's files (and its tests) share beyond the public header:
 * setting the error that pcnn_errstr() returns, and the .safetensors container that model
 * files are written in (lib/io/safetensors.c). Not installed. */
#ifndef PCNN_IMPL_H
#define PCNN_IMPL_H
#include "pcnn.h"

/* Sets the message returned by pcnn_errstr(); always returns -1. */
int pcnn_seterr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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

/* ---- class names (names.c) ------------------------------------------------- */
/* NULL when the len bytes at s are a valid class name (pcnn_labels_read), else what is
 * wrong with them, as a phrase ("is longer than 64 bytes"). */
const char *pcnn_name_problem(const char *s, size_t len);
/* The order of classes by name: runs of digits as numbers, other bytes as bytes, names
 * equal so by their bytes. A total order. */
int pcnn_name_cmp(const char *a, const char *b);
/* A copy of n names in one allocation (the pointers, then the strings: free() it once),
 * each checked and no two the same; NULL with the reason. */
char **pcnn_names_copy(const char *const *names, int n);
/* The model file's form of a table: the names joined by newlines (malloc'd), and back
 * (exactly n valid distinct names, else NULL with the reason). */
char *pcnn_names_join(const char *const *names, int n);
char **pcnn_names_split(const char *s, int n);

/* ---- rANS coding of levels (rans.c) --------------------------------------- */
#define PCNN_RANS_BITS 16
#define PCNN_RANS_TOTAL (1u << PCNN_RANS_BITS)
/* K (2..256) levels' frequencies out of PCNN_RANS_TOTAL from their logits, each >= 1. */
int pcnn_rans_freqs(const float *logits, int K, uint32_t *freq);
/* The cumulative starts of the frequencies. */
void pcnn_rans_starts(const uint32_t *freq, int K, uint32_t *start);
/* n symbols given by their start and frequency into *out (malloc'd), *len bytes. */
int pcnn_rans_encode(const uint32_t *start, const uint32_t *freq, size_t n, uint8_t **out, size_t *len);
typedef struct {
    uint32_t x;
    const uint8_t *p, *end;
} pcnn_rans_dec;
int pcnn_rans_dec_init(pcnn_rans_dec *d, const uint8_t *buf, size_t len);
/* The next symbol (0..K-1), or -1 when the data ran out. */
int pcnn_rans_dec_get(pcnn_rans_dec *d, const uint32_t *freq, const uint32_t *start, int K);
/* 1 when every byte was read and the state is the encoder's first: the data was whole. */
int pcnn_rans_dec_done(const pcnn_rans_dec *d);

#endif

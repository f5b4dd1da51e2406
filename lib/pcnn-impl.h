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

#endif

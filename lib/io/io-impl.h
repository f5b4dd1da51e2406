/* io-impl.h -- private interfaces shared by the files of lib/io/.
 * Not installed; nothing here is part of libpcnn's API. */
#ifndef PCNN_IO_IMPL_H
#define PCNN_IO_IMPL_H

#include <stdint.h>
#include <stdio.h>
#include <zlib.h>

#include "pcnn-impl.h"

/* ---- atomic writes (atomic.c) ----------------------------------------------
 * open: checks the target (pcnn_output_check), creates path.tmpXXXXXX beside it;
 * commit: flush, fsync, close, rename (the temporary file is removed on failure);
 * abort: removes the temporary file. */
typedef struct {
    FILE *f;
    char *tmp;
    const char *path;
} pcnn_atomic;
int pcnn_atomic_open(pcnn_atomic *a, const char *path);
int pcnn_atomic_commit(pcnn_atomic *a);
void pcnn_atomic_abort(pcnn_atomic *a);

/* ---- what a file looks like (sniff.c) -------------------------------------
 * From its first bytes (8 are enough): "a PGM image", "a PNG image", "IDX labels",
 * ...; NULL when none of the formats pcnn reads. */
const char *pcnn_sniff(const uint8_t *b, size_t n);

/* ---- byte sources (image.c) ----------------------------------------------
 * Reads a FILE either as is or through gzip (inflate on the FILE itself, so
 * a pipe whose first bytes were already read works). Concatenated gzip
 * members are read one after another. */
typedef struct {
    FILE *f;
    const char *name;          /* for error messages */
    int gz;                    /* 1: inflate the bytes of f */
    int zinit, zend;           /* inflate state set up; end of data seen */
    z_stream z;
    unsigned char in[16384];
} pcnn_src;

int pcnn_src_init(pcnn_src *s, FILE *f, int gz, const char *name);
/* Reads up to n bytes; returns how many (fewer only at the end of the data),
 * or -1 on a read or gzip error. */
long pcnn_src_read(pcnn_src *s, void *buf, size_t n);
void pcnn_src_end(pcnn_src *s);

/* ---- IDX u8 files (image.c) ------------------------------------------------
 * Reads the magic (0x0000 08 ndim) and ndim big-endian u32 dimensions. */
int pcnn_idx_header(pcnn_src *s, int ndim, uint32_t *dims);
/* Reads exactly len bytes of data and checks that nothing follows; the buffer
 * grows with the data actually read, so a lying header cannot make it big. */
int pcnn_idx_data(pcnn_src *s, size_t len, uint8_t **data);

/* ---- netpbm streams (netpbm.c) ---------------------------------------------- */
typedef struct pcnn_netpbm pcnn_netpbm;
pcnn_netpbm *pcnn_netpbm_open(FILE *f, const char *name);
int pcnn_netpbm_next(pcnn_netpbm *nr, pcnn_image *out); /* 1 / 0 / -1 */
void pcnn_netpbm_free(pcnn_netpbm *nr);

/* ---- PNG (png.c) ------------------------------------------------------------
 * Reads one PNG image from f, whose first 8 bytes (the signature) were already
 * read and checked by the caller. */
int pcnn_png_read(FILE *f, const char *name, pcnn_image *out);

/* ---- CIFAR-10 binary records (cifar.c) --------------------------------------
 * Each record: a label byte, then 1024 red, 1024 green, 1024 blue samples of a 32x32
 * image, row-major. No magic: a path is taken for CIFAR-10 when it ends in ".bin". */
#define PCNN_CIFAR_SIDE 32
#define PCNN_CIFAR_RECORD (1 + 3 * PCNN_CIFAR_SIDE * PCNN_CIFAR_SIDE)
int pcnn_cifar_name(const char *path);
/* For a regular file: its size is a non-zero multiple of the record size. Other files
 * (pipes) pass; their short last record shows when read. */
int pcnn_cifar_check(FILE *f, const char *name);
/* Reads the next record into rec[PCNN_CIFAR_RECORD]; index (from 0) is its number, for
 * messages. Returns 1, 0 at the end, -1 on a read error or a truncated record. */
int pcnn_cifar_read(FILE *f, const char *name, long index, uint8_t *rec);

#endif

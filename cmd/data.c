/* data.c -- see data.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

void cli_load_images(cli_dataset *d, const char *const *paths, int npaths, int K,
                     const pcnn_hparams *want, size_t limit)
{
    memset(d, 0, sizeof *d);
    size_t cap = 0;
    for (int f = 0; f < npaths && (!limit || d->n < limit); f++) {
        pcnn_imgreader *r = pcnn_imgreader_open(paths[f]);
        if (!r) cli_fail("%s", pcnn_errstr());
        pcnn_image img;
        int got;
        while ((!limit || d->n < limit) && (got = pcnn_imgreader_next(r, &img)) == 1) {
            const char *name = pcnn_imgreader_name(r);
            if (d->n == 0 && !want) d->C = img.c, d->H = img.h, d->W = img.w;
            if (d->n == 0 && want) d->C = want->C, d->H = want->H, d->W = want->W;
            if (img.c != d->C || img.h != d->H || img.w != d->W)
                cli_fail("%s: image %zu is %dx%d with %d channel%s; %s %dx%d with %d", name,
                         d->n + 1, img.w, img.h, img.c, img.c > 1 ? "s" : "",
                         want ? "the model wants" : "the first was", d->W, d->H, d->C);
            size_t sz = (size_t)d->C * d->H * d->W;
            if (d->n == cap) {
                cap = cap ? 2 * cap : 64;
                uint8_t *nx = realloc(d->x, cap * sz);
                if (!nx) cli_fail("%s: out of memory after %zu images", name, d->n);
                d->x = nx;
            }
            if (pcnn_quantize(d->x + d->n * sz, &img, K)) cli_fail("%s: %s", name, pcnn_errstr());
            pcnn_image_free(&img);
            d->n++;
        }
        if (got < 0) cli_fail("%s", pcnn_errstr());
        pcnn_imgreader_free(r);
    }
    if (d->n == 0) cli_fail("%s: no images", npaths ? paths[0] : "stdin");
}

void cli_dataset_free(cli_dataset *d) { free(d->x); }

float *cli_onehot_repeat(int cls, size_t n, int classes)
{
    float *h = calloc(n * (size_t)classes, sizeof *h);
    if (!h) cli_fail("out of memory");
    for (size_t i = 0; i < n; i++) h[i * classes + cls] = 1;
    return h;
}

float *cli_onehot_from_labels(const char *path, size_t n, int classes, int *maxlabel)
{
    int *lab;
    size_t nl;
    if (pcnn_labels_load(&lab, &nl, path)) cli_fail("%s", pcnn_errstr());
    if (nl < n) cli_fail("%s: %zu labels for %zu images", path, nl, n);
    int mx = 0;
    for (size_t i = 0; i < n; i++) mx = lab[i] > mx ? lab[i] : mx;
    if (maxlabel) *maxlabel = mx;
    if (classes <= 0) classes = mx + 1;
    if (mx >= classes) cli_fail("%s: label %d is not below the %d classes", path, mx, classes);
    float *h = calloc(n * (size_t)classes, sizeof *h);
    if (!h) cli_fail("out of memory");
    for (size_t i = 0; i < n; i++) h[i * classes + lab[i]] = 1;
    free(lab);
    return h;
}

float *cli_read_vectors(const char *path, size_t *n, int *Dp)
{
    int D = *Dp;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    const char *name = strcmp(path, "-") ? path : "stdin";
    if (!f) cli_fail("%s: cannot open: %s", name, strerror(errno));
    size_t cap = *n ? *n : 16, got = 0;
    float *h = NULL;
    for (;;) {
        if (*n && got == *n) break;
        float *v;
        size_t len;
        int rc = pcnn_npy_read(f, &v, &len);
        if (rc < 0) cli_fail("%s: record %zu: %s", name, got + 1, pcnn_errstr());
        if (rc == 0) break;
        if (D == 0) { /* the first record tells the size */
            if (len < 1 || len > 65536) cli_fail("%s: record 1 has %zu values (1..65536 allowed)", name, len);
            D = (int)len;
        }
        if (!h && !(h = malloc(cap * (size_t)D * sizeof *h))) cli_fail("out of memory");
        if (len != (size_t)D) cli_fail("%s: record %zu has %zu values; the model wants %d", name, got + 1, len, D);
        if (pcnn_cond_check(v, len)) cli_fail("%s: record %zu: %s", name, got + 1, pcnn_errstr());
        if (got == cap) {
            cap *= 2;
            float *nh = realloc(h, cap * (size_t)D * sizeof *h);
            if (!nh) cli_fail("out of memory");
            h = nh;
        }
        memcpy(h + got * D, v, (size_t)D * sizeof *h);
        free(v);
        got++;
    }
    if (f != stdin) fclose(f);
    if (got == 0) cli_fail("%s: no conditioning vectors (.npy records)", name);
    if (*n && got < *n) cli_fail("%s: %zu conditioning vectors for %zu images", name, got, *n);
    *n = got;
    *Dp = D;
    return h;
}

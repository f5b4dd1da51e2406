/* data.c -- see data.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

void cli_image_stream_open(cli_image_stream *s, const char *const *paths, int npaths, int K,
                           const pcnn_hparams *want)
{
    *s = (cli_image_stream){.paths = paths, .npaths = npaths, .K = K, .want = want};
    /* images typed at a terminal never come: say so instead of waiting in silence */
    for (int i = 0; i < npaths; i++)
        if (!strcmp(paths[i], "-") && isatty(0))
            cli_usage_error("reading images from a terminal; give a file or a pipe");
    if (want) s->C = want->C, s->H = want->H, s->W = want->W;
}

/* the next image of the stream, quantized into x; 0 at the end */
static int next_image(cli_image_stream *s, uint8_t *x)
{
    pcnn_image img;
    for (;;) {
        if (!s->r) {
            if (s->next == s->npaths) return 0;
            if (!(s->r = pcnn_imgreader_open(s->paths[s->next++]))) cli_fail("%s", pcnn_errstr());
            s->in_file = 0;
        }
        int got = pcnn_imgreader_next(s->r, &img);
        if (got < 0) cli_fail("%s", pcnn_errstr());
        if (got == 1) break;
        pcnn_imgreader_free(s->r);
        s->r = NULL;
    }
    const char *name = pcnn_imgreader_name(s->r);
    if (s->n == 0 && !s->want) s->C = img.c, s->H = img.h, s->W = img.w;
    if (img.c != s->C || img.h != s->H || img.w != s->W)
        cli_fail("%s: image %zu is %dx%d with %d channel%s; %s %dx%d with %d", name, s->in_file + 1, img.w,
                 img.h, img.c, img.c > 1 ? "s" : "", s->want ? "the model wants" : "the first was", s->W,
                 s->H, s->C);
    if (pcnn_quantize(x, &img, s->K)) cli_fail("%s: %s", name, pcnn_errstr());
    pcnn_image_free(&img);
    s->n++, s->in_file++;
    return 1;
}

int cli_image_stream_next(cli_image_stream *s, uint8_t *x, int max)
{
    int got = 0;
    while (got < max && next_image(s, x + (size_t)got * s->C * s->H * s->W)) got++;
    if (s->n == 0) cli_fail("%s: no images", s->npaths ? s->paths[0] : "stdin");
    return got;
}

void cli_load_images(cli_dataset *d, const char *const *paths, int npaths, int K,
                     const pcnn_hparams *want, size_t limit)
{
    memset(d, 0, sizeof *d);
    cli_image_stream s;
    cli_image_stream_open(&s, paths, npaths, K, want);
    /* each image goes through a one-image buffer: of the wanted shape, or (until the first
     * image tells the shape) of the largest one a reader accepts */
    uint8_t *one = malloc(want ? (size_t)want->C * want->H * want->W : (size_t)PCNN_MAX_PIXELS);
    if (!one) cli_fail("out of memory");
    size_t cap = 0, sz = 0;
    while ((!limit || d->n < limit) && cli_image_stream_next(&s, one, 1)) {
        sz = (size_t)s.C * s.H * s.W;
        if (d->n == cap) {
            cap = cap ? 2 * cap : 64;
            uint8_t *nx = realloc(d->x, cap * sz);
            if (!nx) cli_fail("%s: out of memory after %zu images", s.r ? pcnn_imgreader_name(s.r) : "input", d->n);
            d->x = nx;
        }
        memcpy(d->x + d->n * sz, one, sz);
        d->n++;
    }
    free(one);
    if (s.r) pcnn_imgreader_free(s.r);
    d->C = s.C, d->H = s.H, d->W = s.W;
}

void cli_dataset_free(cli_dataset *d) { free(d->x); }

float *cli_onehot_repeat(int cls, size_t n, int classes)
{
    float *h = calloc(n * (size_t)classes, sizeof *h);
    if (!h) cli_fail("out of memory");
    for (size_t i = 0; i < n; i++) h[i * classes + cls] = 1;
    return h;
}

void cli_labels_read(pcnn_labels *l, const char *path, size_t n)
{
    if (pcnn_labels_read(l, path)) cli_fail("%s", pcnn_errstr());
    if (l->n < n) cli_fail("%s: %zu labels for %zu images", l->path, l->n, n);
}

void cli_labels_map(pcnn_labels *l, const pcnn_model *m)
{
    if (pcnn_labels_map(l, pcnn_model_class_names(m), pcnn_model_hparams(m)->classes))
        cli_fail("%s", pcnn_errstr());
}

int cli_labels_max(const pcnn_labels *l, size_t n)
{
    int mx = 0;
    for (size_t i = 0; i < n; i++) mx = l->label[i] > mx ? l->label[i] : mx;
    return mx;
}

float *cli_onehot(const pcnn_labels *l, size_t n, int classes)
{
    int mx = cli_labels_max(l, n);
    if (mx >= classes) cli_fail("%s: label %d is not below the %d classes", l->path, mx, classes);
    float *h = calloc(n * (size_t)classes, sizeof *h);
    if (!h) cli_fail("out of memory");
    for (size_t i = 0; i < n; i++) h[i * classes + l->label[i]] = 1;
    return h;
}

int cli_class_arg(const pcnn_model *m, const char *model_path, const char *opt, const char *arg)
{
    int k = pcnn_model_class(m, arg);
    if (k >= 0) return k;
    const pcnn_hparams *hp = pcnn_model_hparams(m);
    const char *const *names = pcnn_model_class_names(m);
    if (!names)
        cli_usage_error("%s: '%s' is not a class of %s (0..%d)", opt, arg, model_path, hp->classes - 1);
    /* the first names, to show what the model takes */
    char some[160] = "";
    size_t len = 0;
    int c = 0;
    for (; c < hp->classes && len < 80; c++)
        len += (size_t)snprintf(some + len, sizeof some - len, "%s%s", c ? ", " : "", names[c]);
    cli_usage_error("%s: '%s' is not a class of %s (0..%d, or a name: %s%s)", opt, arg, model_path,
                    hp->classes - 1, some, c < hp->classes ? ", ..." : "");
}

void cli_vector_stream_open(cli_vector_stream *s, const char *path, int D)
{
    const int std = !strcmp(path, "-");
    *s = (cli_vector_stream){.f = std ? stdin : fopen(path, "rb"), .name = std ? "stdin" : path, .D = D};
    if (!s->f) cli_fail("%s: cannot open: %s", path, strerror(errno));
}

int cli_vector_stream_next(cli_vector_stream *s, float *v)
{
    float *rec;
    size_t len;
    int rc = pcnn_npy_read(s->f, &rec, &len);
    if (rc < 0) cli_fail("%s: record %zu: %s", s->name, s->n + 1, pcnn_errstr());
    if (rc == 0) return 0;
    if (s->D == 0) { /* the first record tells the size */
        if (len < 1 || len > 65536) cli_fail("%s: record 1 has %zu values (1..65536 allowed)", s->name, len);
        s->D = (int)len;
    }
    if (len != (size_t)s->D) cli_fail("%s: record %zu has %zu values; the model wants %d", s->name, s->n + 1, len, s->D);
    if (pcnn_cond_check(rec, len)) cli_fail("%s: record %zu: %s", s->name, s->n + 1, pcnn_errstr());
    memcpy(v, rec, len * sizeof *v);
    free(rec);
    s->n++;
    return 1;
}

void cli_vector_stream_close(cli_vector_stream *s)
{
    if (s->f && s->f != stdin) fclose(s->f);
    s->f = NULL;
}

float *cli_read_vectors(const char *path, size_t *n, int *Dp)
{
    cli_vector_stream s;
    cli_vector_stream_open(&s, path, *Dp);
    float one[65536], *h = NULL;
    size_t cap = 0;
    while ((!*n || s.n < *n) && cli_vector_stream_next(&s, one)) {
        if (s.n > cap) {
            cap = cap ? 2 * cap : (*n ? *n : 16);
            float *nh = realloc(h, cap * (size_t)s.D * sizeof *h);
            if (!nh) cli_fail("out of memory");
            h = nh;
        }
        memcpy(h + (s.n - 1) * s.D, one, (size_t)s.D * sizeof *h);
    }
    cli_vector_stream_close(&s);
    if (s.n == 0) cli_fail("%s: no conditioning vectors (.npy records)", s.name);
    if (*n && s.n < *n) cli_fail("%s: %zu conditioning vectors for %zu images", s.name, s.n, *n);
    *n = s.n;
    *Dp = s.D;
    return h;
}

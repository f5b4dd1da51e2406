/* labels.c -- class labels: an IDX label file (magic 0x00000801, gzip or raw),
 * the first bytes of CIFAR-10 binary records (a path ending in ".bin"), or text, one
 * non-negative integer per line. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "io-impl.h"

#define MAX_LABELS 10000000

static int load_idx(int **labels, size_t *n, FILE *f, int gz, const char *name)
{
    pcnn_src s;
    uint32_t cnt;
    uint8_t *raw = NULL;
    if (pcnn_src_init(&s, f, gz, name) < 0)
        return -1;
    int rc = pcnn_idx_header(&s, 1, &cnt);
    if (rc == 0 && cnt == 0)
        rc = pcnn_seterr("%s: no labels", name);
    if (rc == 0 && cnt > MAX_LABELS)
        rc = pcnn_seterr("%s: %lu labels exceed the limit of %d", name, (unsigned long)cnt, MAX_LABELS);
    if (rc == 0)
        rc = pcnn_idx_data(&s, cnt, &raw);
    pcnn_src_end(&s);
    if (rc < 0)
        return -1;
    int *l = malloc(cnt * sizeof *l);
    if (!l) {
        free(raw);
        return pcnn_seterr("%s: out of memory", name);
    }
    for (uint32_t i = 0; i < cnt; i++)
        l[i] = raw[i];
    free(raw);
    *labels = l;
    *n = cnt;
    return 0;
}

/* Doubles the room of a label array (frees it on failure). */
static int grow(int **l, size_t *cap, const char *name)
{
    size_t nc = *cap ? *cap * 2 : 1024;
    int *nl = realloc(*l, nc * sizeof *nl);
    if (!nl) {
        free(*l);
        *l = NULL;
        return pcnn_seterr("%s: out of memory", name);
    }
    *l = nl;
    *cap = nc;
    return 0;
}

/* The label byte of every record; the image bytes are read past. */
static int load_cifar(int **labels, size_t *n, FILE *f, const char *name)
{
    if (pcnn_cifar_check(f, name) < 0)
        return -1;
    int *l = NULL;
    size_t cnt = 0, cap = 0;
    uint8_t rec[PCNN_CIFAR_RECORD];
    int rc;
    while ((rc = pcnn_cifar_read(f, name, (long)cnt, rec)) == 1) {
        if (cnt == MAX_LABELS) {
            free(l);
            return pcnn_seterr("%s: more than %d labels", name, MAX_LABELS);
        }
        if (cnt == cap && grow(&l, &cap, name)) return -1;
        l[cnt++] = rec[0];
    }
    if (rc < 0 || cnt == 0) {
        free(l);
        return rc < 0 ? -1 : pcnn_seterr("%s: empty input (no CIFAR-10 records)", name);
    }
    *labels = l;
    *n = cnt;
    return 0;
}

static int is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Text: one integer per line, blanks around it allowed; blank lines only at the end. */
static int load_text(int **labels, size_t *n, FILE *f, const char *name)
{
    int *l = NULL;
    size_t cnt = 0, cap = 0;
    long line = 0, first_blank = 0; /* first blank line seen, 0 if none */
    int c = 0;
    while (c != EOF) {
        line++;
        long long v = -1;
        int bad = 0, big = 0;
        while (is_blank(c = getc(f)))
            ;
        while (c >= '0' && c <= '9') {
            v = (v < 0 ? 0 : v * 10) + (c - '0');
            if (v > INT_MAX)
                big = 1, v = INT_MAX;
            c = getc(f);
        }
        while (is_blank(c))
            c = getc(f);
        if (c != '\n' && c != EOF) {
            bad = 1;
            while (c != '\n' && c != EOF)
                c = getc(f);
        }
        if (c == EOF && ferror(f)) {
            free(l);
            return pcnn_seterr("%s: read error: %s", name, strerror(errno));
        }
        if (!bad && v < 0) { /* a blank line */
            if (!first_blank)
                first_blank = line;
            continue;
        }
        if (first_blank) {
            free(l);
            return pcnn_seterr("%s:%ld: not a non-negative integer (blank line)", name, first_blank);
        }
        if (bad || big) {
            free(l);
            return pcnn_seterr("%s:%ld: not a non-negative integer%s", name, line,
                               !bad ? " (too large)" : "");
        }
        if (cnt == MAX_LABELS) {
            free(l);
            return pcnn_seterr("%s:%ld: more than %d labels", name, line, MAX_LABELS);
        }
        if (cnt == cap && grow(&l, &cap, name)) return -1;
        l[cnt++] = (int)v;
    }
    if (cnt == 0)
        return pcnn_seterr("%s: no labels", name);
    *labels = l;
    *n = cnt;
    return 0;
}

int pcnn_labels_write(const char *path, const int *labels, size_t n)
{
    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) return -1;
    for (size_t i = 0; i < n; i++)
        if (fprintf(out.f, "%d\n", labels[i]) < 0) {
            pcnn_atomic_abort(&out);
            return pcnn_seterr("%s: %s", path, strerror(errno));
        }
    return pcnn_atomic_commit(&out);
}

int pcnn_labels_load(int **labels, size_t *n, const char *path)
{
    if (!labels || !n || !path)
        return pcnn_seterr("pcnn_labels_load: NULL argument");
    *labels = NULL;
    *n = 0;
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return pcnn_seterr("%s: %s", path, strerror(errno));
    if (!is_stdin && pcnn_cifar_name(path)) {
        int rc = load_cifar(labels, n, f, name);
        fclose(f);
        return rc;
    }
    int rc, c = getc(f);
    if (c == EOF) {
        rc = ferror(f) ? pcnn_seterr("%s: read error: %s", name, strerror(errno))
                       : pcnn_seterr("%s: empty input", name);
    } else {
        ungetc(c, f);
        if (c == 0x00 || c == 0x1f)
            rc = load_idx(labels, n, f, c == 0x1f, name);
        else
            rc = load_text(labels, n, f, name);
    }
    if (!is_stdin)
        fclose(f);
    return rc;
}

/* labels.c -- class labels: an IDX label file (magic 0x00000801, gzip or raw),
 * the first bytes of CIFAR-10 binary records (a path ending in ".bin"), or text, one
 * non-negative integer per line or one class name per line (numbered in the sorted order
 * of names.c), and the renumbering of names by a model's table. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

/* The distinct names of a text file in the order they come, with the line of each's
 * first appearance, and an open-addressing hash of them (slot: index + 1, 0 empty). */
typedef struct {
    char **name;
    long *line;
    int n, cap;
    int *slot;
    size_t nslot; /* a power of two, at least twice n */
} name_set;

static void names_free(name_set *s)
{
    for (int k = 0; k < s->n; k++) free(s->name[k]);
    free(s->name), free(s->line), free(s->slot);
    memset(s, 0, sizeof *s);
}

static size_t hash(const char *b, size_t len)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)b[i]) * 1099511628211ULL;
    return (size_t)h;
}

static int rehash(name_set *s, size_t nslot)
{
    int *slot = calloc(nslot, sizeof *slot);
    if (!slot) return -1;
    for (int k = 0; k < s->n; k++) {
        size_t i = hash(s->name[k], strlen(s->name[k])) & (nslot - 1);
        while (slot[i]) i = (i + 1) & (nslot - 1);
        slot[i] = k + 1;
    }
    free(s->slot);
    s->slot = slot;
    s->nslot = nslot;
    return 0;
}

/* The index of the name b[0..len) (valid, no NUL in it), added when new; -1 when out of
 * memory, -2 when it would be one name too many. */
static int names_index(name_set *s, const char *b, size_t len, long line)
{
    size_t i = s->nslot ? hash(b, len) & (s->nslot - 1) : 0;
    for (; s->nslot && s->slot[i]; i = (i + 1) & (s->nslot - 1)) {
        const char *t = s->name[s->slot[i] - 1];
        if (strlen(t) == len && !memcmp(t, b, len)) return s->slot[i] - 1;
    }
    if (s->n == PCNN_MAX_CLASSES) return -2;
    if (s->n == s->cap) {
        int nc = s->cap ? 2 * s->cap : 64;
        char **nn = realloc(s->name, (size_t)nc * sizeof *nn);
        if (nn) s->name = nn;
        long *nl = realloc(s->line, (size_t)nc * sizeof *nl);
        if (nl) s->line = nl;
        if (!nn || !nl) return -1;
        s->cap = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, b, len);
    copy[len] = 0;
    s->name[s->n] = copy;
    s->line[s->n] = line;
    s->n++;
    if ((size_t)s->n * 2 > s->nslot) return rehash(s, s->nslot ? 2 * s->nslot : 256) ? -1 : s->n - 1;
    s->slot[i] = s->n;
    return s->n - 1;
}

/* a name and its number: of a file's table while it is sorted, or of a model's table */
typedef struct {
    const char *name;
    int k;
} entry;

static int by_name(const void *a, const void *b)
{
    return pcnn_name_cmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* The names in sorted order into l (names, line), the labels renumbered so. */
static int number_names(pcnn_labels *l, name_set *s, const char *name)
{
    const int n = s->n;
    entry *order = malloc((size_t)n * sizeof *order);
    int *rank = malloc((size_t)n * sizeof *rank);
    const char **sorted = malloc((size_t)n * sizeof *sorted);
    l->line = malloc((size_t)n * sizeof *l->line);
    if (!order || !rank || !sorted || !l->line) {
        free(order), free(rank), free(sorted);
        return pcnn_seterr("%s: out of memory for %d class names", name, n);
    }
    for (int k = 0; k < n; k++) order[k] = (entry){s->name[k], k};
    qsort(order, (size_t)n, sizeof *order, by_name);
    for (int r = 0; r < n; r++) {
        rank[order[r].k] = r;
        sorted[r] = order[r].name;
        l->line[r] = s->line[order[r].k];
    }
    for (size_t i = 0; i < l->n; i++) l->label[i] = rank[l->label[i]];
    l->names = pcnn_names_copy(sorted, n); /* one allocation; checked names, distinct */
    l->nnames = n;
    free(order), free(rank), free(sorted);
    return l->names ? 0 : pcnn_seterr("%s: %s", name, pcnn_errstr());
}

/* Text: one label per line, blanks around it allowed; blank lines only at the end. Every
 * line a non-negative integer, or (unless numbers_only) every line a class name. */
static int load_text(pcnn_labels *l, FILE *f, const char *name, int numbers_only)
{
    int *lab = NULL;
    size_t cnt = 0, cap = 0;
    long line = 0, first_blank = 0; /* first blank line seen, 0 if none */
    long kind_line = 0;             /* the first label's line, which sets the kind */
    int names = 0;                  /* the kind: 0 numbers, 1 names */
    name_set set = {0};
    char buf[PCNN_MAX_NAME];
    int c = 0, rc = -1;
    while (c != EOF) {
        line++;
        /* the line's bytes after leading blanks: the first ones kept; end is the length
         * without trailing blanks */
        size_t total = 0, end = 0;
        long long v = 0;
        int number = 1, big = 0, inner_blank = 0;
        while (is_blank(c = getc(f)))
            ;
        for (; c != '\n' && c != EOF; c = getc(f)) {
            if (total < sizeof buf) buf[total] = (char)c;
            total++;
            if (is_blank(c)) {
                inner_blank = 1;
                continue;
            }
            end = total;
            if (inner_blank || c < '0' || c > '9') number = 0;
            if (!number) continue;
            v = v * 10 + (c - '0');
            if (v > INT_MAX) big = 1, v = INT_MAX;
        }
        if (c == EOF && ferror(f)) {
            pcnn_seterr("%s: read error: %s", name, strerror(errno));
            goto out;
        }
        if (end == 0) { /* a blank line */
            if (!first_blank) first_blank = line;
            continue;
        }
        if (first_blank) {
            if (names) pcnn_seterr("%s:%ld: a blank line (blank lines may only come at the end)", name, first_blank);
            else pcnn_seterr("%s:%ld: not a non-negative integer (blank line)", name, first_blank);
            goto out;
        }
        if (!kind_line) kind_line = line, names = !number && !numbers_only;
        if (number && names) {
            pcnn_seterr("%s:%ld: '%.*s' is a class number, but line %ld is a class name (a label file "
                        "holds class numbers or class names, not both)", name, line, end > 20 ? 20 : (int)end,
                        buf, kind_line);
            goto out;
        }
        if (!number && !names) {
            if (numbers_only || line == kind_line) pcnn_seterr("%s:%ld: not a non-negative integer", name, line);
            else pcnn_seterr("%s:%ld: not a non-negative integer, as line %ld is (a label file holds "
                             "class numbers or class names, not both)", name, line, kind_line);
            goto out;
        }
        if (big) {
            pcnn_seterr("%s:%ld: not a non-negative integer (too large)", name, line);
            goto out;
        }
        if (cnt == MAX_LABELS) {
            pcnn_seterr("%s:%ld: more than %d labels", name, line, MAX_LABELS);
            goto out;
        }
        if (cnt == cap && grow(&lab, &cap, name)) goto out;
        if (names) {
            const char *why = pcnn_name_problem(buf, end);
            if (why) {
                pcnn_seterr("%s:%ld: the class name '%.*s%s' %s", name, line, end > 20 ? 20 : (int)end, buf,
                            end > 20 ? "..." : "", why);
                goto out;
            }
            int k = names_index(&set, buf, end, line);
            if (k == -2) pcnn_seterr("%s:%ld: more than %d class names", name, line, PCNN_MAX_CLASSES);
            else if (k < 0) pcnn_seterr("%s: out of memory", name);
            if (k < 0) goto out;
            v = k;
        }
        lab[cnt++] = (int)v;
    }
    if (cnt == 0) {
        pcnn_seterr("%s: no labels", name);
        goto out;
    }
    l->label = lab, l->n = cnt;
    lab = NULL;
    rc = names ? number_names(l, &set, name) : 0;
out:
    free(lab);
    names_free(&set);
    return rc;
}

int pcnn_labels_write_names(const char *path, const int *labels, size_t n, const char *const *names)
{
    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) return -1;
    for (size_t i = 0; i < n; i++)
        if ((names ? fprintf(out.f, "%s\n", names[labels[i]]) : fprintf(out.f, "%d\n", labels[i])) < 0) {
            pcnn_atomic_abort(&out);
            return pcnn_seterr("%s: %s", path, strerror(errno));
        }
    return pcnn_atomic_commit(&out);
}

int pcnn_labels_write(const char *path, const int *labels, size_t n)
{
    return pcnn_labels_write_names(path, labels, n, NULL);
}

void pcnn_labels_free(pcnn_labels *l)
{
    if (!l) return;
    free(l->label), free(l->names), free(l->line), free(l->path);
    memset(l, 0, sizeof *l);
}

/* What a file that is no labels looks like (an image, a model, a .npy record), or NULL.
 * A regular file is peeked at and rewound, past a UTF-8 byte order mark; of stdin or a
 * pipe only the first byte c is known: one that no UTF-8 text starts with (0x80-0xbf,
 * as in PNG's and .npy's first bytes) is binary data. */
static const char *not_labels(FILE *f, int c, int is_stdin)
{
    struct stat st;
    if (is_stdin || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
        return c >= 0x80 && c <= 0xbf ? "binary data" : NULL;
    uint8_t head[16];
    size_t n = fread(head, 1, sizeof head, f);
    const char *looks = pcnn_sniff(head, n);
    /* a model: a header's length in 8 little-endian bytes (far below 2^32), its JSON */
    if (!looks && n >= 9 && !memcmp(head + 4, "\0\0\0\0", 4) && head[8] == '{') looks = "a safetensors file (a model?)";
    /* gzip and IDX labels are labels */
    if (looks && (head[0] == 0x1f || !strcmp(looks, "IDX labels"))) looks = NULL;
    int bom = n >= 3 && !memcmp(head, "\xef\xbb\xbf", 3);
    if (fseek(f, bom ? 3 : 0, SEEK_SET) != 0) return "an unreadable file";
    return looks;
}

static int read_labels(pcnn_labels *l, const char *path, int numbers_only)
{
    memset(l, 0, sizeof *l);
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    if (!(l->path = strdup(name))) return pcnn_seterr("%s: out of memory", name);
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    int rc, c;
    if (!f) {
        rc = pcnn_seterr("%s: %s", path, strerror(errno));
    } else if (!is_stdin && pcnn_cifar_name(path)) {
        rc = load_cifar(&l->label, &l->n, f, name);
    } else if ((c = getc(f)) == EOF) {
        rc = ferror(f) ? pcnn_seterr("%s: read error: %s", name, strerror(errno))
                       : pcnn_seterr("%s: empty input", name);
    } else {
        ungetc(c, f);
        const char *looks = not_labels(f, c, is_stdin);
        if (looks)
            rc = pcnn_seterr("%s: not labels (looks like %s)", name, looks);
        else if (c == 0x00 || c == 0x1f)
            rc = load_idx(&l->label, &l->n, f, c == 0x1f, name);
        else
            rc = load_text(l, f, name, numbers_only);
    }
    if (f && !is_stdin)
        fclose(f);
    if (rc < 0)
        pcnn_labels_free(l);
    return rc;
}

int pcnn_labels_read(pcnn_labels *l, const char *path)
{
    if (!l || !path)
        return pcnn_seterr("pcnn_labels_read: NULL argument");
    return read_labels(l, path, 0);
}

int pcnn_labels_load(int **labels, size_t *n, const char *path)
{
    if (!labels || !n || !path)
        return pcnn_seterr("pcnn_labels_load: NULL argument");
    *labels = NULL;
    *n = 0;
    pcnn_labels l;
    if (read_labels(&l, path, 1))
        return -1;
    *labels = l.label;
    *n = l.n;
    l.label = NULL;
    pcnn_labels_free(&l);
    return 0;
}

static int by_bytes(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

int pcnn_labels_map(pcnn_labels *l, const char *const *table, int ntable)
{
    if (!l->names)
        return 0;
    if (!table || ntable < 1) {
        int first = 0; /* the name on the file's first line */
        for (int k = 1; k < l->nnames; k++) first = l->line[k] < l->line[first] ? k : first;
        return pcnn_seterr("%s:%ld: '%s' is a class name, but the model's classes have numbers, not names",
                           l->path, l->line[first], l->names[first]);
    }
    /* the table sorted by bytes: a binary search for each name */
    entry *sorted = malloc((size_t)ntable * sizeof *sorted);
    int *to = malloc((size_t)l->nnames * sizeof *to);
    if (!sorted || !to) {
        free(sorted), free(to);
        return pcnn_seterr("%s: out of memory", l->path);
    }
    for (int k = 0; k < ntable; k++) sorted[k] = (entry){table[k], k};
    qsort(sorted, (size_t)ntable, sizeof *sorted, by_bytes);
    int unknown = -1; /* of the unknown names, the one that comes first in the file */
    for (int k = 0; k < l->nnames; k++) {
        const entry key = {l->names[k], 0}, *hit = bsearch(&key, sorted, (size_t)ntable, sizeof *sorted, by_bytes);
        if (hit) to[k] = hit->k;
        else if (unknown < 0 || l->line[k] < l->line[unknown]) unknown = k;
    }
    free(sorted);
    if (unknown >= 0) {
        free(to);
        return pcnn_seterr("%s:%ld: no class of the model is named '%s'", l->path, l->line[unknown],
                           l->names[unknown]);
    }
    for (size_t i = 0; i < l->n; i++) l->label[i] = to[l->label[i]];
    free(to);
    free(l->names), free(l->line);
    l->names = NULL, l->line = NULL, l->nnames = 0;
    return 0;
}

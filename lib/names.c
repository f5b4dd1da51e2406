/* names.c -- class names: what a valid name is, the order that numbers a label file's
 * names, a model's table of names (saved in its file as the names joined by newlines,
 * see pcnn-model(5)) and the lookup of a class by name or number. */
#include <stdlib.h>
#include <string.h>

#include "model-impl.h"

const char *pcnn_name_problem(const char *s, size_t len)
{
    static _Thread_local char why[64];
    if (len == 0) return "is empty";
    if (len > PCNN_MAX_NAME) {
        snprintf(why, sizeof why, "is %zu bytes long, more than %d", len, PCNN_MAX_NAME);
        return why;
    }
    int digits = 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, sizeof why, "holds a control character (byte 0x%02x)", c);
            return why;
        }
        digits &= c >= '0' && c <= '9';
    }
    if (digits) return "is all digits (a class number, not a name)";
    if (pcnn_utf8_check((const uint8_t *)s, len) != len) return "is not UTF-8 text";
    if (s[0] == ' ' || s[len - 1] == ' ') return "begins or ends with a space";
    return NULL;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

int pcnn_name_cmp(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        if (is_digit(*p) && is_digit(*q)) { /* two numbers: by value, leading zeros aside */
            while (*p == '0') p++;
            while (*q == '0') q++;
            size_t np = 0, nq = 0;
            while (is_digit(p[np])) np++;
            while (is_digit(q[nq])) nq++;
            if (np != nq) return np < nq ? -1 : 1;
            int c = memcmp(p, q, np);
            if (c) return c < 0 ? -1 : 1;
            p += np, q += nq;
            continue;
        }
        if (*p != *q) return *p < *q ? -1 : 1;
        p++, q++;
    }
    if (*p || *q) return *p ? 1 : -1;
    int c = strcmp(a, b); /* "s01" and "s1" */
    return c < 0 ? -1 : c > 0;
}

static int cmp_bytes(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char **pcnn_names_copy(const char *const *names, int n)
{
    if (n < 1 || n > PCNN_MAX_CLASSES || !names) {
        pcnn_seterr("a table of %d class names (1..%d)", n, PCNN_MAX_CLASSES);
        return NULL;
    }
    size_t bytes = (size_t)n * sizeof(char *);
    for (int k = 0; k < n; k++) {
        const char *why = names[k] ? pcnn_name_problem(names[k], strlen(names[k])) : "is missing";
        if (why) {
            pcnn_seterr("class name %d '%.*s' %s", k, PCNN_MAX_NAME, names[k] ? names[k] : "", why);
            return NULL;
        }
        bytes += strlen(names[k]) + 1;
    }
    char **out = malloc(bytes);
    const char **sorted = malloc((size_t)n * sizeof *sorted);
    if (!out || !sorted) {
        free(out), free(sorted);
        pcnn_seterr("out of memory for %d class names", n);
        return NULL;
    }
    char *at = (char *)(out + n);
    for (int k = 0; k < n; k++) {
        size_t len = strlen(names[k]) + 1;
        memcpy(at, names[k], len);
        out[k] = at;
        at += len;
    }
    memcpy(sorted, out, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_bytes);
    for (int k = 1; k < n; k++)
        if (!strcmp(sorted[k - 1], sorted[k])) {
            pcnn_seterr("class name '%s' appears twice", sorted[k]);
            free(out), free(sorted);
            return NULL;
        }
    free(sorted);
    return out;
}

char *pcnn_names_join(const char *const *names, int n)
{
    size_t bytes = 1;
    for (int k = 0; k < n; k++) bytes += strlen(names[k]) + 1;
    char *s = malloc(bytes), *at = s;
    if (!s) {
        pcnn_seterr("out of memory for %d class names", n);
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        size_t len = strlen(names[k]);
        memcpy(at, names[k], len);
        at += len;
        if (k + 1 < n) *at++ = '\n';
    }
    *at = 0;
    return s;
}

char **pcnn_names_split(const char *s, int n)
{
    size_t lines = 1;
    for (const char *c = s; *c; c++) lines += *c == '\n';
    if (n < 1 || lines != (size_t)n) {
        pcnn_seterr("%zu class names for %d classes", lines, n);
        return NULL;
    }
    const char **names = malloc((size_t)n * sizeof *names);
    char *copy = strdup(s);
    if (!names || !copy) {
        free(names), free(copy);
        pcnn_seterr("out of memory for %d class names", n);
        return NULL;
    }
    char *at = copy;
    for (int k = 0; k < n; k++) {
        names[k] = at;
        at += strcspn(at, "\n");
        if (*at) *at++ = 0;
    }
    char **out = pcnn_names_copy(names, n);
    free(names), free(copy);
    return out;
}

/* ---- a model's table ---------------------------------------------------------- */

const char *const *pcnn_model_class_names(const pcnn_model *m)
{
    return (const char *const *)m->names;
}

int pcnn_model_set_class_names(pcnn_model *m, const char *const *names, int n)
{
    if (!names) {
        free(m->names);
        m->names = NULL;
        return 0;
    }
    if (n != m->hp.classes)
        return pcnn_seterr("%d class names for a model of %d classes", n, m->hp.classes);
    char **copy = pcnn_names_copy(names, n);
    if (!copy) return -1;
    free(m->names);
    m->names = copy;
    return 0;
}

int pcnn_model_class(const pcnn_model *m, const char *s)
{
    const int n = m->hp.classes;
    if (!s || !*s) return pcnn_seterr("an empty class");
    if (strspn(s, "0123456789") == strlen(s)) {
        size_t len = strlen(s);
        while (len > 1 && *s == '0') s++, len--; /* "007" is class 7 */
        long k = len <= 6 ? strtol(s, NULL, 10) : n;
        if (k < n) return (int)k;
        return pcnn_seterr("class %.20s%s is not below the model's %d", s, len > 20 ? "..." : "", n);
    }
    for (int k = 0; m->names && k < n; k++)
        if (!strcmp(m->names[k], s)) return k;
    if (!m->names) return pcnn_seterr("'%.*s': the model's classes have numbers, not names", PCNN_MAX_NAME, s);
    return pcnn_seterr("no class of the model is named '%.*s'", PCNN_MAX_NAME, s);
}

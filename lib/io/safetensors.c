/* safetensors.c -- reads and writes .safetensors files (F32 tensors of rank <= 4).
 *
 * The format: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON, then the
 * data area. The JSON is an object mapping each tensor name to
 *   {"dtype":"F32","shape":[d0,...],"data_offsets":[begin,end]}
 * (offsets relative to the start of the data area), plus an optional "__metadata__"
 * object of string -> string. Tensor data is little-endian and row-major.
 *
 * The reader checks every size and offset against the file's real length before it
 * allocates or copies anything; on failure *st is left zeroed. The writer lays the
 * tensors out contiguously in the order given and pads the header with spaces so that
 * the data area starts at an 8-byte aligned offset, as the reference implementation
 * does; it writes to a temporary file, fsyncs it and renames it onto the target. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "io-impl.h"

#include "pcnn-impl.h"

#define ST_MAX_HEADER (100u << 20) /* 100 MiB, the reference implementation's limit */
#define ST_MAX_NAME 127            /* bytes; pcnn_tensor.name holds 128 with the NUL */
#define ST_MAX_INT 9007199254740992.0 /* 2^53: every integer up to here is exact in a double */

static_assert(CHAR_BIT == 8, "bytes must be 8 bits");
static_assert(sizeof(float) == 4 && sizeof(uint32_t) == 4, "float must be 32 bits");

/* ---- little-endian byte order, independent of the host's ---------------- */

static uint64_t load_u64le(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | b[i];
    return v;
}

static void store_u64le(uint8_t *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

static float load_f32le(const uint8_t *b)
{
    uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f); /* same bits; float and uint32_t share byte order */
    return f;
}

static void store_f32le(uint8_t *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    for (int i = 0; i < 4; i++) b[i] = (uint8_t)(u >> (8 * i));
}

/* ---- small helpers -------------------------------------------------------- */

void pcnn_st_free(pcnn_st *st)
{
    if (!st) return;
    if (st->t)
        for (int i = 0; i < st->n; i++) free(st->t[i].data);
    free(st->t);
    for (int i = 0; i < st->nmeta; i++) {
        if (st->meta_keys) free(st->meta_keys[i]);
        if (st->meta_vals) free(st->meta_vals[i]);
    }
    free(st->meta_keys);
    free(st->meta_vals);
    memset(st, 0, sizeof *st);
}

const pcnn_tensor *pcnn_st_find(const pcnn_st *st, const char *name)
{
    if (!st || !name || !st->t) return NULL;
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->t[i].name, name) == 0) return &st->t[i];
    return NULL;
}

const char *pcnn_st_meta(const pcnn_st *st, const char *key)
{
    if (!st || !key || !st->meta_keys || !st->meta_vals) return NULL;
    for (int i = 0; i < st->nmeta; i++)
        if (st->meta_keys[i] && strcmp(st->meta_keys[i], key) == 0) return st->meta_vals[i];
    return NULL;
}

static char *dupstr(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* "[2, 3]" into buf, for messages. */
static const char *shape_str(char *buf, size_t size, const uint64_t *shape, int ndim)
{
    size_t k = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && k < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%" PRIu64, i ? ", " : "", shape[i]);
    if (k < size) snprintf(buf + k, size - k, "]");
    return buf;
}

/* Number of elements of a shape, or -1 if it (or its size in bytes) overflows
 * 64 bits. Any zero extent makes the tensor empty whatever the others are. */
static int shape_count(uint64_t *count, const uint64_t *shape, int ndim)
{
    uint64_t c = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) { *count = 0; return 0; }
    for (int i = 0; i < ndim; i++) {
        if (c > UINT64_MAX / shape[i]) return -1;
        c *= shape[i];
    }
    if (c > UINT64_MAX / sizeof(float)) return -1;
    *count = c;
    return 0;
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sets *dup to a name that occurs twice among names[0..n) (or NULL if none). */
static int find_duplicate(const char **dup, const char *const *names, size_t n)
{
    *dup = NULL;
    if (n < 2) return 0;
    const char **s = malloc(n * sizeof *s);
    if (!s) return -1;
    memcpy(s, names, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_strp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i - 1], s[i]) == 0) {
            /* Point into the caller's array, not at our copy. */
            for (size_t j = 0; j < n; j++)
                if (names[j] == s[i]) *dup = names[j];
            break;
        }
    free(s);
    return 0;
}

/* Offset of the first byte that is not part of valid UTF-8 (or is NUL), or n. */
size_t pcnn_utf8_check(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0) return i;
        if (c < 0x80) { i++; continue; }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1Fu; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0Fu; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07u; min = 0x10000; }
        else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3Fu);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

/* ---- reading -------------------------------------------------------------- */

/* Reads n bytes at the file's current position; 0, or -1 with the reason set. */
static int read_all(int fd, uint8_t *b, size_t n, const char *path)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return pcnn_seterr("%s: file shrank while being read", path);
        if (r < 0) return pcnn_seterr("%s: %s", path, strerror(errno));
        got += (size_t)r;
    }
    return 0;
}

/* Reads the whole regular file into a fresh buffer, once its first bytes look like a
 * safetensors header: a header length that fits the file and a JSON object after it. */
static int read_file(uint8_t **buf, size_t *size, const char *path)
{
    *buf = NULL;
    *size = 0;
    /* non-blocking, so that a FIFO is refused here instead of waiting for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return pcnn_seterr("%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = errno;
        close(fd);
        return pcnn_seterr("%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return pcnn_seterr("%s: not a regular file", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (sb.st_size < 8) {
        close(fd);
        return pcnn_seterr("%s: file is %jd bytes, too short for the 8-byte header length",
                           path, (intmax_t)sb.st_size);
    }
    if ((uintmax_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return pcnn_seterr("%s: file of %jd bytes is too large", path, (intmax_t)sb.st_size);
    }
    size_t n = (size_t)sb.st_size;
    uint8_t head[9] = {0};
    const size_t nhead = n < 9 ? 8 : 9; /* the length, and the header's first byte */
    if (read_all(fd, head, nhead, path)) {
        close(fd);
        return -1;
    }
    uint64_t hlen = load_u64le(head);
    if (hlen > n - 8 || hlen > ST_MAX_HEADER || head[8] != '{') {
        close(fd);
        const char *looks = pcnn_sniff(head, nhead);
        if (looks) return pcnn_seterr("%s: not a pcnn model (looks like %s)", path, looks);
        if (hlen > n - 8)
            return pcnn_seterr("%s: header length %" PRIu64 " exceeds file size %zu", path, hlen, n);
        if (hlen > ST_MAX_HEADER)
            return pcnn_seterr("%s: header length %" PRIu64 " exceeds the limit of %u bytes", path, hlen, ST_MAX_HEADER);
        return pcnn_seterr("%s: header is not a JSON object", path);
    }
    uint8_t *b = malloc(n);
    if (!b) {
        close(fd);
        return pcnn_seterr("%s: out of memory reading %zu bytes", path, n);
    }
    memcpy(b, head, nhead);
    int rc = read_all(fd, b + nhead, n - nhead, path);
    close(fd);
    if (rc) {
        free(b);
        return -1;
    }
    *buf = b;
    *size = n;
    return 0;
}

/* A JSON number that is an integer in 0..2^53. */
static int get_uint(uint64_t *v, const cJSON *it)
{
    if (!cJSON_IsNumber(it)) return -1;
    double d = it->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_INT)) return -1;
    uint64_t u = (uint64_t)d;
    if ((double)u != d) return -1;
    *v = u;
    return 0;
}

/* Describes a JSON value that should have been a non-negative integer. */
static const char *describe(char *buf, size_t size, const cJSON *it)
{
    if (cJSON_IsNumber(it)) snprintf(buf, size, "%.15g", it->valuedouble);
    else if (cJSON_IsString(it)) snprintf(buf, size, "a string");
    else if (cJSON_IsArray(it)) snprintf(buf, size, "an array");
    else if (cJSON_IsObject(it)) snprintf(buf, size, "an object");
    else if (cJSON_IsBool(it)) snprintf(buf, size, "a boolean");
    else snprintf(buf, size, "null");
    return buf;
}

/* Validates one tensor entry and copies its data out of the data area. */
static int read_tensor(pcnn_tensor *t, const char *path, const cJSON *e,
                       const uint8_t *data, size_t dsize)
{
    const char *name = e->string;
    char d1[64], d2[64], sh[128];
    size_t len = strlen(name);
    if (len > ST_MAX_NAME)
        return pcnn_seterr("%s: tensor name '%.40s...' is %zu bytes; at most %d are supported",
                           path, name, len, ST_MAX_NAME);
    if (!cJSON_IsObject(e))
        return pcnn_seterr("%s: tensor '%s': entry is not a JSON object", path, name);

    const cJSON *dtype = NULL, *shape = NULL, *offs = NULL, *f;
    cJSON_ArrayForEach(f, e) {
        const cJSON **slot = strcmp(f->string, "dtype") == 0 ? &dtype
                           : strcmp(f->string, "shape") == 0 ? &shape
                           : strcmp(f->string, "data_offsets") == 0 ? &offs : NULL;
        if (!slot) return pcnn_seterr("%s: tensor '%s': unexpected field '%s'", path, name, f->string);
        if (*slot) return pcnn_seterr("%s: tensor '%s': field '%s' appears twice", path, name, f->string);
        *slot = f;
    }
    if (!dtype) return pcnn_seterr("%s: tensor '%s': no dtype", path, name);
    if (!shape) return pcnn_seterr("%s: tensor '%s': no shape", path, name);
    if (!offs) return pcnn_seterr("%s: tensor '%s': no data_offsets", path, name);

    if (!cJSON_IsString(dtype))
        return pcnn_seterr("%s: tensor '%s': dtype is not a string", path, name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return pcnn_seterr("%s: tensor '%s' has dtype %.20s; only F32 is supported",
                           path, name, dtype->valuestring);

    if (!cJSON_IsArray(shape))
        return pcnn_seterr("%s: tensor '%s': shape is not an array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > 4)
        return pcnn_seterr("%s: tensor '%s' has rank %d; at most 4 is supported", path, name, ndim);
    uint64_t dims[4];
    for (int i = 0; i < ndim; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (get_uint(&dims[i], d) < 0)
            return pcnn_seterr("%s: tensor '%s': shape[%d] is %s, not a non-negative integer",
                               path, name, i, describe(d1, sizeof d1, d));
    }
    uint64_t count;
    if (shape_count(&count, dims, ndim) < 0)
        return pcnn_seterr("%s: tensor '%s': shape %s has too many elements", path, name,
                           shape_str(sh, sizeof sh, dims, ndim));
    uint64_t nbytes = count * sizeof(float);

    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return pcnn_seterr("%s: tensor '%s': data_offsets is not an array of two integers", path, name);
    uint64_t begin, end;
    const cJSON *b = cJSON_GetArrayItem(offs, 0), *en = cJSON_GetArrayItem(offs, 1);
    if (get_uint(&begin, b) < 0 || get_uint(&end, en) < 0)
        return pcnn_seterr("%s: tensor '%s': data_offsets [%s, %s] are not non-negative integers",
                           path, name, describe(d1, sizeof d1, b), describe(d2, sizeof d2, en));
    if (begin > end)
        return pcnn_seterr("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] end before they begin",
                           path, name, begin, end);
    if (end > dsize)
        return pcnn_seterr("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] run past the "
                           "end of the %zu-byte data area (file truncated?)", path, name, begin, end, dsize);
    if (end - begin != nbytes)
        return pcnn_seterr("%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
                           " bytes, but F32 shape %s needs %" PRIu64, path, name, begin, end,
                           end - begin, shape_str(sh, sizeof sh, dims, ndim), nbytes);

    /* nbytes <= dsize, so count fits a size_t. */
    float *v = malloc(nbytes ? (size_t)nbytes : sizeof(float));
    if (!v) return pcnn_seterr("%s: tensor '%s': out of memory", path, name);
    const uint8_t *src = data + begin;
    for (size_t i = 0; i < (size_t)count; i++) v[i] = load_f32le(src + 4 * i);

    memcpy(t->name, name, len + 1);
    t->ndim = ndim;
    for (int i = 0; i < 4; i++) t->shape[i] = i < ndim ? (int64_t)dims[i] : 0;
    t->data = v;
    return 0;
}

static int read_meta(pcnn_st *st, const char *path, const cJSON *m)
{
    if (cJSON_IsNull(m)) return 0;
    if (!cJSON_IsObject(m)) return pcnn_seterr("%s: __metadata__ is not a JSON object", path);
    int n = cJSON_GetArraySize(m);
    if (n == 0) return 0;
    st->meta_keys = calloc((size_t)n, sizeof *st->meta_keys);
    st->meta_vals = calloc((size_t)n, sizeof *st->meta_vals);
    if (!st->meta_keys || !st->meta_vals) return pcnn_seterr("%s: out of memory", path);
    st->nmeta = n;
    int i = 0;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, m) {
        if (!cJSON_IsString(kv))
            return pcnn_seterr("%s: __metadata__ value of '%.100s' is not a string", path, kv->string);
        st->meta_keys[i] = dupstr(kv->string);
        st->meta_vals[i] = dupstr(kv->valuestring);
        if (!st->meta_keys[i] || !st->meta_vals[i]) return pcnn_seterr("%s: out of memory", path);
        i++;
    }
    const char *dup;
    if (find_duplicate(&dup, (const char *const *)st->meta_keys, (size_t)n) < 0)
        return pcnn_seterr("%s: out of memory", path);
    if (dup) return pcnn_seterr("%s: __metadata__ key '%.100s' appears twice", path, dup);
    return 0;
}

static int parse(pcnn_st *st, const char *path, const uint8_t *buf, size_t size)
{
    uint64_t hlen = load_u64le(buf);
    if (hlen > size - 8)
        return pcnn_seterr("%s: header length %" PRIu64 " exceeds file size %zu", path, hlen, size);
    if (hlen > ST_MAX_HEADER)
        return pcnn_seterr("%s: header length %" PRIu64 " exceeds the limit of %u bytes",
                           path, hlen, ST_MAX_HEADER);
    const char *hdr = (const char *)buf + 8;
    size_t hn = (size_t)hlen;
    const uint8_t *data = buf + 8 + hn;
    size_t dsize = size - 8 - hn;

    size_t bad = pcnn_utf8_check((const uint8_t *)hdr, hn);
    if (bad < hn)
        return pcnn_seterr("%s: header is not valid UTF-8 text (byte %zu)", path, bad);
    if (hn == 0 || hdr[0] != '{')
        return pcnn_seterr("%s: header is not a JSON object", path);
    /* an escaped NUL would cut a name short once decoded ("out1.bias\u0000x" read as
     * "out1.bias"); escapes come in pairs, so "\\u0000" (a backslash, then u0000) is skipped */
    for (size_t i = 0; i + 1 < hn; i++)
        if (hdr[i] == '\\') {
            if (hdr[i + 1] == 'u' && i + 5 < hn && !memcmp(hdr + i + 2, "0000", 4))
                return pcnn_seterr("%s: header holds a NUL character (\\u0000 at byte %zu)", path, i);
            i++;
        }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, hn, &end, 0);
    if (!root) {
        size_t at = end && end >= hdr && end <= hdr + hn ? (size_t)(end - hdr) : 0;
        return pcnn_seterr("%s: header is not valid JSON (near byte %zu of %zu)", path, at, hn);
    }
    int rc = -1;
    for (const char *p = end; p < hdr + hn; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            pcnn_seterr("%s: header has bytes after the JSON object (at byte %td)", path, p - hdr);
            goto out;
        }
    if (!cJSON_IsObject(root)) {
        pcnn_seterr("%s: header is not a JSON object", path);
        goto out;
    }

    const cJSON *meta = NULL, *e;
    int n = 0;
    cJSON_ArrayForEach(e, root) {
        if (strcmp(e->string, "__metadata__") == 0) {
            if (meta) {
                pcnn_seterr("%s: __metadata__ appears twice", path);
                goto out;
            }
            meta = e;
        } else {
            if (n == INT_MAX) {
                pcnn_seterr("%s: too many tensors", path);
                goto out;
            }
            n++;
        }
    }
    if (meta && read_meta(st, path, meta) < 0) goto out;

    st->t = calloc(n ? (size_t)n : 1, sizeof *st->t);
    if (!st->t) {
        pcnn_seterr("%s: out of memory", path);
        goto out;
    }
    st->n = n;
    int i = 0;
    cJSON_ArrayForEach(e, root) {
        if (e == meta) continue;
        if (read_tensor(&st->t[i], path, e, data, dsize) < 0) goto out;
        i++;
    }
    const char **names = malloc((n ? (size_t)n : 1) * sizeof *names);
    if (!names) {
        pcnn_seterr("%s: out of memory", path);
        goto out;
    }
    for (i = 0; i < n; i++) names[i] = st->t[i].name;
    const char *dup;
    int drc = find_duplicate(&dup, names, (size_t)n);
    if (drc < 0) pcnn_seterr("%s: out of memory", path);
    else if (dup) pcnn_seterr("%s: tensor '%s' appears twice", path, dup);
    free(names);
    if (drc < 0 || dup) goto out;
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}

int pcnn_st_read(pcnn_st *st, const char *path)
{
    memset(st, 0, sizeof *st);
    uint8_t *buf;
    size_t size;
    if (read_file(&buf, &size, path) < 0) return -1;
    int rc = parse(st, path, buf, size);
    free(buf);
    if (rc < 0) pcnn_st_free(st);
    return rc;
}

/* ---- writing -------------------------------------------------------------- */

/* Checks what the reader will check, so that we never write a file we cannot read. */
static int check_for_write(const pcnn_st *st, const char *path)
{
    if (st->n < 0 || st->nmeta < 0)
        return pcnn_seterr("%s: negative tensor or metadata count", path);
    if (st->n > 0 && !st->t) return pcnn_seterr("%s: %d tensors but no tensor array", path, st->n);
    if (st->nmeta > 0 && (!st->meta_keys || !st->meta_vals))
        return pcnn_seterr("%s: %d metadata entries but no arrays", path, st->nmeta);
    for (int i = 0; i < st->n; i++) {
        const pcnn_tensor *t = &st->t[i];
        if (memchr(t->name, '\0', sizeof t->name) == NULL)
            return pcnn_seterr("%s: tensor %d: name is not NUL-terminated", path, i);
        if (strcmp(t->name, "__metadata__") == 0)
            return pcnn_seterr("%s: tensor %d: the name __metadata__ is reserved", path, i);
        if (pcnn_utf8_check((const uint8_t *)t->name, strlen(t->name)) != strlen(t->name))
            return pcnn_seterr("%s: tensor %d: name is not valid UTF-8", path, i);
        if (t->ndim < 0 || t->ndim > 4)
            return pcnn_seterr("%s: tensor '%s' has rank %d; 0..4 are supported", path, t->name, t->ndim);
        uint64_t dims[4], count;
        for (int k = 0; k < t->ndim; k++) {
            if (t->shape[k] < 0 || (double)t->shape[k] > ST_MAX_INT)
                return pcnn_seterr("%s: tensor '%s': shape[%d] is %" PRId64, path, t->name, k, t->shape[k]);
            dims[k] = (uint64_t)t->shape[k];
        }
        if (shape_count(&count, dims, t->ndim) < 0 || count > (uint64_t)(SIZE_MAX / sizeof(float)))
            return pcnn_seterr("%s: tensor '%s' has too many elements", path, t->name);
        if (count > 0 && !t->data) return pcnn_seterr("%s: tensor '%s' has no data", path, t->name);
    }
    for (int i = 0; i < st->nmeta; i++) {
        const char *k = st->meta_keys[i], *v = st->meta_vals[i];
        if (!k || !v) return pcnn_seterr("%s: metadata entry %d is NULL", path, i);
        if (pcnn_utf8_check((const uint8_t *)k, strlen(k)) != strlen(k) ||
            pcnn_utf8_check((const uint8_t *)v, strlen(v)) != strlen(v))
            return pcnn_seterr("%s: metadata entry '%.100s' is not valid UTF-8", path, k);
    }

    const char **names = malloc((st->n ? (size_t)st->n : 1) * sizeof *names);
    if (!names) return pcnn_seterr("%s: out of memory", path);
    for (int i = 0; i < st->n; i++) names[i] = st->t[i].name;
    const char *dup, *mdup = NULL;
    int rc = find_duplicate(&dup, names, (size_t)st->n);
    free(names);
    if (rc == 0) rc = find_duplicate(&mdup, (const char *const *)st->meta_keys, (size_t)st->nmeta);
    if (rc < 0) return pcnn_seterr("%s: out of memory", path);
    if (dup) return pcnn_seterr("%s: tensor '%s' appears twice", path, dup);
    if (mdup) return pcnn_seterr("%s: metadata key '%.100s' appears twice", path, mdup);
    return 0;
}

static cJSON *uint_item(uint64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v); /* plain digits: a double could print 1e+16 */
    return cJSON_CreateRaw(num);
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static char *make_header(size_t *len, const pcnn_st *st, const char *path)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) goto oom;
    if (st->nmeta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
        if (!m) goto oom;
        for (int i = 0; i < st->nmeta; i++)
            if (!cJSON_AddStringToObject(m, st->meta_keys[i], st->meta_vals[i])) goto oom;
    }
    uint64_t off = 0;
    for (int i = 0; i < st->n; i++) {
        const pcnn_tensor *t = &st->t[i];
        uint64_t dims[4], count = 0;
        for (int k = 0; k < t->ndim; k++) dims[k] = (uint64_t)t->shape[k];
        shape_count(&count, dims, t->ndim); /* checked by check_for_write */
        uint64_t nbytes = count * sizeof(float);
        if (off > UINT64_MAX - nbytes) {
            cJSON_Delete(root);
            pcnn_seterr("%s: tensors too large in total", path);
            return NULL;
        }
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape, *offs;
        if (!e || !cJSON_AddStringToObject(e, "dtype", "F32")) goto oom;
        if (!(shape = cJSON_AddArrayToObject(e, "shape"))) goto oom;
        for (int k = 0; k < t->ndim; k++) {
            cJSON *d = uint_item(dims[k]);
            if (!d || !cJSON_AddItemToArray(shape, d)) { cJSON_Delete(d); goto oom; }
        }
        if (!(offs = cJSON_AddArrayToObject(e, "data_offsets"))) goto oom;
        uint64_t be[2] = {off, off + nbytes};
        for (int k = 0; k < 2; k++) {
            cJSON *d = uint_item(be[k]);
            if (!d || !cJSON_AddItemToArray(offs, d)) { cJSON_Delete(d); goto oom; }
        }
        off += nbytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    root = NULL;
    if (!json) goto oom;
    size_t n = strlen(json), padded = (n + 7) / 8 * 8;
    char *h = malloc(padded + 1);
    if (!h) {
        cJSON_free(json);
        goto oom;
    }
    memcpy(h, json, n);
    memset(h + n, ' ', padded - n);
    h[padded] = '\0';
    cJSON_free(json);
    *len = padded;
    return h;
oom:
    cJSON_Delete(root);
    pcnn_seterr("%s: out of memory building the header", path);
    return NULL;
}

static int write_body(FILE *f, const pcnn_st *st, const char *hdr, size_t hlen)
{
    uint8_t b[8];
    store_u64le(b, hlen);
    if (fwrite(b, 1, 8, f) != 8 || fwrite(hdr, 1, hlen, f) != hlen) return -1;
    uint8_t chunk[4096];
    for (int i = 0; i < st->n; i++) {
        const pcnn_tensor *t = &st->t[i];
        size_t count = 1;
        for (int k = 0; k < t->ndim; k++) count *= (size_t)t->shape[k]; /* checked */
        size_t k = 0;
        while (k < count) {
            size_t m = 0;
            for (; m < sizeof chunk / 4 && k < count; m++, k++) store_f32le(chunk + 4 * m, t->data[k]);
            if (fwrite(chunk, 4, m, f) != m) return -1;
        }
    }
    return 0;
}

int pcnn_st_write(const pcnn_st *st, const char *path)
{
    if (check_for_write(st, path) < 0) return -1;
    size_t hlen;
    char *hdr = make_header(&hlen, st, path);
    if (!hdr) return -1;

    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) {
        free(hdr);
        return -1;
    }
    if (write_body(out.f, st, hdr, hlen) < 0) {
        pcnn_seterr("%s: writing: %s", path, errno ? strerror(errno) : "I/O error");
        pcnn_atomic_abort(&out);
        free(hdr);
        return -1;
    }
    free(hdr);
    return pcnn_atomic_commit(&out);
}

/* test_safetensors.c -- pcnn_st_read / pcnn_st_write: round trips, the hand-written
 * reference fixture, malformed files, and writes that must fail without leaving a file.
 * Run from the repository root (fixtures are found at tests/fixtures/). */
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pcnn-impl.h"

#define FIXTURE "tests/fixtures/st_reference.safetensors"
#define FIXTURE_SCRIPT "tests/fixtures/make_st_reference.py"

static char dir[64]; /* a fresh temporary directory for everything this test writes */

static const char *tpath(const char *name)
{
    static char buf[8][256];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static int write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = n ? fwrite(b, 1, n, f) : 0;
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* A file with the given header text (not padded) followed by ndata bytes of data. */
static int write_st(const char *path, const char *json, size_t ndata)
{
    size_t hn = strlen(json), n = 8 + hn + ndata;
    unsigned char *b = calloc(1, n);
    if (!b) return -1;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hn >> (8 * i));
    memcpy(b + 8, json, hn);
    for (size_t i = 0; i < ndata; i++) b[8 + hn + i] = (unsigned char)i;
    int rc = write_bytes(path, b, n);
    free(b);
    return rc;
}

static int is_zeroed(const pcnn_st *st)
{
    return st->t == NULL && st->n == 0 && st->meta_keys == NULL && st->meta_vals == NULL &&
           st->nmeta == 0;
}

/* Reads path, which must fail with a message naming the file and containing want. */
static void expect_bad(const char *path, const char *want)
{
    pcnn_st st;
    memset(&st, 0xAB, sizeof st);
    int rc = pcnn_st_read(&st, path);
    const char *e = pcnn_errstr();
    CHECK(rc == -1, "%s: read returned %d, want -1 (%s)", path, rc, want);
    CHECK(strstr(e, path) != NULL, "message does not name the file: %s", e);
    CHECK(strstr(e, want) != NULL, "message '%s' lacks '%s'", e, want);
    CHECK(is_zeroed(&st), "%s: *st not zeroed after failure", path);
    pcnn_st_free(&st);
}

static void bad_header(const char *name, const char *json, size_t ndata, const char *want)
{
    const char *p = tpath(name);
    CHECK(write_st(p, json, ndata) == 0, "cannot write %s", p);
    expect_bad(p, want);
}

/* Entries of dir other than . and .., and how many of them look like temporary files. */
static int count_entries(const char *d, int *ntmp)
{
    DIR *dp = opendir(d);
    if (!dp) return -1;
    int n = 0;
    *ntmp = 0;
    struct dirent *de;
    while ((de = readdir(dp))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        n++;
        if (strstr(de->d_name, ".tmp")) ++*ntmp;
    }
    closedir(dp);
    return n;
}

static int exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

static int same_bits(const float *a, const float *b, size_t n)
{
    return n == 0 || memcmp(a, b, n * sizeof *a) == 0;
}

static size_t numel(const pcnn_tensor *t)
{
    size_t n = 1;
    for (int k = 0; k < t->ndim; k++) n *= (size_t)t->shape[k];
    return n;
}

/* ---- round trip ------------------------------------------------------------ */

static void test_round_trip(void)
{
    static float v0[1] = {-1.5f}, v1[7], v2[12], v3[24], v4[3000];
    for (int i = 0; i < 7; i++) v1[i] = (float)i * 0.25f - 1.0f;
    for (int i = 0; i < 12; i++) v2[i] = 1.0f / (float)(i + 1);
    for (int i = 0; i < 24; i++) v3[i] = (float)(i * i) - 100.0f;
    for (int i = 0; i < 3000; i++) v4[i] = (float)i * 1e-3f - 1.0f; /* spans several write chunks */
    v3[3] = -0.0f;
    v3[4] = INFINITY;
    v3[5] = NAN;
    v3[6] = 1.401298464324817e-45f; /* smallest subnormal */
    pcnn_tensor t[6] = {
        {.name = "scalar", .ndim = 0, .data = v0},
        {.name = "layers.0.bias", .ndim = 1, .shape = {7}, .data = v1},
        {.name = "matrix \"quoted\" caf\xc3\xa9", .ndim = 2, .shape = {3, 4}, .data = v2},
        {.name = "rank3", .ndim = 3, .shape = {2, 3, 4}, .data = v3},
        {.name = "conv.weight", .ndim = 4, .shape = {10, 3, 10, 10}, .data = v4},
        {.name = "empty", .ndim = 3, .shape = {4, 0, 2}, .data = NULL},
    };
    char *keys[] = {"format", "pcnn.hparams", "note"};
    char *vals[] = {"pt", "{\"L\": 7, \"p\": 16}", "line1\nline2\ttab \xe2\x9c\x93"};
    pcnn_st st = {.t = t, .n = 6, .meta_keys = keys, .meta_vals = vals, .nmeta = 3};
    const char *p = tpath("round.safetensors");
    CHECK(pcnn_st_write(&st, p) == 0, "write: %s", pcnn_errstr());

    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0644, "mode %o, want 0644", (unsigned)sb.st_mode & 0777);
    int ntmp, n = count_entries(dir, &ntmp);
    CHECK(ntmp == 0, "%d temporary files left behind", ntmp);
    (void)n;

    /* Layout: header length a multiple of 8, padded with spaces, "__metadata__" first. */
    FILE *f = fopen(p, "rb");
    unsigned char b8[8];
    char head[32] = {0};
    CHECK(f && fread(b8, 1, 8, f) == 8 && fread(head, 1, 16, f) == 16, "cannot read back %s", p);
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--) hn = hn << 8 | b8[i];
    CHECK(hn % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)hn);
    CHECK(strncmp(head, "{\"__metadata__\":", 16) == 0, "header starts '%s'", head);
    if (f) {
        char *h = calloc(1, (size_t)hn + 1);
        CHECK(h && fseek(f, 8, SEEK_SET) == 0 && fread(h, 1, (size_t)hn, f) == hn, "cannot read header");
        if (h) {
            char *close = strrchr(h, '}');
            CHECK(close != NULL && strspn(close + 1, " ") == strlen(close + 1), "header not padded with spaces");
            CHECK(strstr(h, "\"data_offsets\":[0,4]") != NULL, "first tensor not at offset 0: %s", h);
        }
        free(h);
        fclose(f);
    }

    pcnn_st r;
    CHECK(pcnn_st_read(&r, p) == 0, "read: %s", pcnn_errstr());
    CHECK(r.n == 6, "n = %d", r.n);
    for (int i = 0; i < 6 && i < r.n; i++) {
        CHECK(strcmp(r.t[i].name, t[i].name) == 0, "tensor %d is '%s', want '%s'", i, r.t[i].name, t[i].name);
        CHECK(r.t[i].ndim == t[i].ndim, "%s: ndim %d", t[i].name, r.t[i].ndim);
        CHECK(memcmp(r.t[i].shape, t[i].shape, sizeof t[i].shape) == 0, "%s: shape differs", t[i].name);
        CHECK(r.t[i].data != NULL, "%s: data is NULL", t[i].name);
        CHECK(same_bits(r.t[i].data, t[i].data, numel(&t[i])), "%s: data differs", t[i].name);
    }
    CHECK(numel(&r.t[0]) == 1 && r.t[0].data[0] == -1.5f, "scalar");
    CHECK(r.nmeta == 3, "nmeta = %d", r.nmeta);
    for (int i = 0; i < 3; i++) {
        const char *v = pcnn_st_meta(&r, keys[i]);
        CHECK(v && strcmp(v, vals[i]) == 0, "meta %s = %s", keys[i], v ? v : "(null)");
    }
    const pcnn_tensor *ft = pcnn_st_find(&r, "conv.weight");
    CHECK(ft && ft->shape[3] == 10 && ft->data[2999] == v4[2999], "find conv.weight");
    CHECK(pcnn_st_find(&r, "conv") == NULL, "find of an absent name");
    CHECK(pcnn_st_find(&r, "__metadata__") == NULL, "find of __metadata__");
    CHECK(pcnn_st_meta(&r, "absent") == NULL, "meta of an absent key");

    /* The standard-library Python reader accepts our output (alignment, contiguity...). */
    if (system("command -v python3 >/dev/null 2>&1") == 0) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "python3 " FIXTURE_SCRIPT " --check '%s' >/dev/null", p);
        CHECK(system(cmd) == 0, "%s rejects our output %s", FIXTURE_SCRIPT, p);
    } else {
        SKIP("python3 not found; writer output not checked by " FIXTURE_SCRIPT);
    }

    /* Overwriting replaces the file; an empty set round-trips too. */
    pcnn_st empty = {0};
    CHECK(pcnn_st_write(&empty, p) == 0, "write empty: %s", pcnn_errstr());
    pcnn_st_free(&r);
    CHECK(is_zeroed(&r), "pcnn_st_free does not zero the struct");
    pcnn_st_free(&r); /* twice is harmless */
    CHECK(pcnn_st_read(&r, p) == 0 && r.n == 0 && r.nmeta == 0, "read empty: %s", pcnn_errstr());
    CHECK(pcnn_st_find(&r, "scalar") == NULL && pcnn_st_meta(&r, "format") == NULL, "lookups in empty");
    pcnn_st_free(&r);
    pcnn_st_free(NULL);
    CHECK(pcnn_st_find(NULL, "x") == NULL && pcnn_st_meta(NULL, "x") == NULL, "lookups in NULL");
    unlink(p);
}

/* ---- the reference fixture --------------------------------------------------- */

static void test_reference(void)
{
    pcnn_st st;
    if (pcnn_st_read(&st, FIXTURE) < 0) {
        CHECK(0, "cannot read the fixture (run from the repository root): %s", pcnn_errstr());
        return;
    }
    /* The header lists tensors in reverse data order; we keep header order. */
    static const char *names[] = {"special", "zeta.empty", "epsilon.conv.weight", "delta.rank3",
                                  "gamma.matrix", "beta.vector", "alpha.scalar"};
    CHECK(st.n == 7, "n = %d", st.n);
    for (int i = 0; i < 7 && i < st.n; i++)
        CHECK(strcmp(st.t[i].name, names[i]) == 0, "tensor %d is %s", i, st.t[i].name);

    const pcnn_tensor *t = pcnn_st_find(&st, "alpha.scalar");
    CHECK(t && t->ndim == 0 && t->data[0] == 3.25f, "alpha.scalar");
    t = pcnn_st_find(&st, "beta.vector");
    CHECK(t && t->ndim == 1 && t->shape[0] == 5, "beta.vector shape");
    for (int i = 0; t && i < 5; i++) CHECK(t->data[i] == 0.5f * (float)i - 1.0f, "beta[%d] = %g", i, t->data[i]);
    t = pcnn_st_find(&st, "gamma.matrix");
    CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3, "gamma.matrix shape");
    for (int r = 0; t && r < 2; r++)
        for (int c = 0; c < 3; c++)
            CHECK(t->data[r * 3 + c] == (float)(10 * r + c), "gamma[%d][%d] = %g", r, c, t->data[r * 3 + c]);
    t = pcnn_st_find(&st, "delta.rank3");
    CHECK(t && t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 1 && t->shape[2] == 3, "delta shape");
    for (int i = 0; t && i < 6; i++) CHECK(t->data[i] == -(float)(i + 1) / 8, "delta[%d] = %g", i, t->data[i]);
    t = pcnn_st_find(&st, "epsilon.conv.weight");
    CHECK(t && t->ndim == 4 && t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 2 && t->shape[3] == 2,
          "epsilon shape");
    for (int i = 0; t && i < 24; i++) CHECK(t->data[i] == (float)(i % 7) - 3.0f, "epsilon[%d] = %g", i, t->data[i]);
    t = pcnn_st_find(&st, "zeta.empty");
    CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 4 && t->data, "zeta.empty");

    /* Bit patterns of make_st_reference.py's SPECIAL, as struct.pack('<f') writes them. */
    static const uint32_t special[9] = {0x00000000, 0x80000000, 0x3f800000, 0xc0200000, 0x7f7fffff,
                                        0x00000001, 0x7f800000, 0xff800000, 0x7fc00000};
    t = pcnn_st_find(&st, "special");
    CHECK(t && t->ndim == 1 && t->shape[0] == 9, "special shape");
    for (int i = 0; t && i < 9; i++) {
        uint32_t u;
        memcpy(&u, &t->data[i], 4);
        CHECK(u == special[i], "special[%d] bits %08x, want %08x", i, (unsigned)u, (unsigned)special[i]);
    }
    CHECK(st.nmeta == 3, "nmeta = %d", st.nmeta);
    const char *m = pcnn_st_meta(&st, "format");
    CHECK(m && strcmp(m, "pt") == 0, "format = %s", m ? m : "(null)");
    m = pcnn_st_meta(&st, "pcnn.note");
    CHECK(m && strcmp(m, "caf\xc3\xa9 \xe2\x9c\x93 \"quoted\"\ttab\nline") == 0, "note = %s", m ? m : "(null)");
    m = pcnn_st_meta(&st, "empty");
    CHECK(m && *m == '\0', "empty metadata value");
    pcnn_st_free(&st);
}

/* ---- malformed files ----------------------------------------------------------- */

static void test_bad_inputs(void)
{
    const char *p = tpath("empty.safetensors");
    CHECK(write_bytes(p, "", 0) == 0, "write");
    expect_bad(p, "too short");
    p = tpath("three.safetensors");
    CHECK(write_bytes(p, "\x02\0\0", 3) == 0, "write");
    expect_bad(p, "too short");
    expect_bad(tpath("no-such-file.safetensors"), "No such file");
    expect_bad(dir, "not a regular file");

    p = tpath("longhdr.safetensors");
    CHECK(write_bytes(p, "\xff\0\0\0\0\0\0\0{}", 10) == 0, "write");
    expect_bad(p, "header length 255 exceeds file size 10");
    p = tpath("hugehdr.safetensors");
    CHECK(write_bytes(p, "\0\0\0\0\0\0\0\x80", 8) == 0, "write");
    expect_bad(p, "header length 9223372036854775808 exceeds file size 8");
    /* A sparse file just over the 100 MiB header limit. */
    p = tpath("limit.safetensors");
    {
        uint64_t n = (100u << 20) + 8;
        unsigned char b[8];
        for (int i = 0; i < 8; i++) b[i] = (unsigned char)(n >> (8 * i));
        FILE *f = fopen(p, "wb");
        CHECK(f && fwrite(b, 1, 8, f) == 8 && ftruncate(fileno(f), (off_t)(8 + n)) == 0, "sparse file");
        if (f) fclose(f);
        expect_bad(p, "exceeds the limit");
        unlink(p);
    }

    bad_header("notjson.st", "{not json}", 0, "not valid JSON");
    /* a NUL escaped in a name would load "out1.bias\u0000x" as "out1.bias" (issue 10, hole 10) */
    bad_header("nulname.st", "{\"out1.bias\\u0000x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "NUL character");
    bad_header("nulmeta.st", "{\"__metadata__\":{\"k\":\"a\\u0000b\"}}", 0, "NUL character");
    { /* an escaped backslash before u0000 is no NUL */
        const char *p = tpath("backslash.st");
        CHECK(write_st(p, "{\"__metadata__\":{\"k\":\"a\\\\u0000b\"}}", 0) == 0, "cannot write %s", p);
        pcnn_st st;
        CHECK(pcnn_st_read(&st, p) == 0 && !strcmp(pcnn_st_meta(&st, "k"), "a\\u0000b"),
              "an escaped backslash then u0000 reads as text: %s", pcnn_errstr());
        pcnn_st_free(&st);
    }
    bad_header("notjson2.st", "{\"a\":{\"dtype\":\"F32\",", 0, "not valid JSON");
    bad_header("array.st", "[1,2,3]", 0, "not a JSON object");
    bad_header("string.st", "\"abc\"", 0, "not a JSON object");
    bad_header("zerohdr.st", "", 4, "not a JSON object");
    bad_header("trailing.st", "{}  x", 0, "after the JSON object");
    bad_header("utf8.st", "{\"\xff\":{}}", 0, "not valid UTF-8");
    p = tpath("nul.st");
    CHECK(write_bytes(p, "\x04\0\0\0\0\0\0\0{}\0 ", 12) == 0, "write");
    expect_bad(p, "not valid UTF-8 text (byte 2)"); /* a NUL byte is not JSON text */

    bad_header("f16.st", "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
               "tensor 'w' has dtype F16");
    bad_header("dtypenum.st", "{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
               "dtype is not a string");
    bad_header("neg.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,8]}}", 8,
               "shape[1] is -3");
    bad_header("frac.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8,
               "shape[0] is 2.5");
    bad_header("strdim.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8,
               "shape[0] is a string");
    bad_header("rank5.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               "rank 5");
    bad_header("shapeobj.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4,
               "shape is not an array");
    bad_header("past.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16,
               "run past the end of the 16-byte data area");
    bad_header("incons.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,8]}}", 24,
               "hold 8 bytes, but F32 shape [2, 3] needs 24");
    bad_header("backwards.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
               "end before they begin");
    bad_header("offs3.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
               "not an array of two integers");
    bad_header("offsneg.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
               "are not non-negative integers");
    bad_header("overflow.st",
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0,
               "too many elements");
    bad_header("overflow4.st",
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648,2],\"data_offsets\":[0,0]}}", 0,
               "too many elements");
    bad_header("hugedim.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1e300],\"data_offsets\":[0,0]}}", 0,
               "not a non-negative integer");
    bad_header("truncated.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 12,
               "file truncated?");
    bad_header("metanum.st", "{\"__metadata__\":{\"a\":\"x\",\"epochs\":12}}", 0,
               "__metadata__ value of 'epochs' is not a string");
    bad_header("metaarr.st", "{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not a JSON object");
    bad_header("metadup.st", "{\"__metadata__\":{\"a\":\"x\",\"a\":\"y\"}}", 0, "key 'a' appears twice");
    bad_header("meta2.st", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice");
    bad_header("nodtype.st", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "no dtype");
    bad_header("noshape.st", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "no shape");
    bad_header("nooffs.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "no data_offsets");
    bad_header("extra.st", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
               "unexpected field 'x'");
    bad_header("twice.st", "{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               "field 'dtype' appears twice");
    bad_header("entrynum.st", "{\"w\":7}", 0, "entry is not a JSON object");
    bad_header("dupname.st",
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor 'w' appears twice");
    /* The first tensor is fine and allocated; the second fails: nothing may leak. */
    bad_header("second.st",
               "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}", 16, "tensor 'b' has dtype I64");

    char longname[300];
    memset(longname, 'n', 128);
    snprintf(longname + 128, sizeof longname - 128, "\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}");
    char json[400];
    snprintf(json, sizeof json, "{\"%s", longname);
    bad_header("longname.st", json, 4, "is 128 bytes");
}

/* Files the reader must accept although they are unusual. */
static void test_odd_but_valid(void)
{
    pcnn_st st;
    const char *p = tpath("odd.st");
    /* Zero extents make even enormous shapes empty; 127-byte names; null metadata;
     * trailing whitespace; exponent-form integers; unused bytes in the data area. */
    char name[128];
    memset(name, 'x', 127);
    name[127] = '\0';
    char json[600];
    snprintf(json, sizeof json,
             "{\"__metadata__\":null,"
             "\"big\":{\"dtype\":\"F32\",\"shape\":[9007199254740992,9007199254740992,0],\"data_offsets\":[0,0]},"
             "\"%s\":{\"dtype\":\"F32\",\"shape\":[1,1,1,2],\"data_offsets\":[4,12]},"
             "\"e\":{\"data_offsets\":[0,4],\"shape\":[1e0],\"dtype\":\"F32\"}} \n\t\r",
             name);
    CHECK(write_st(p, json, 16) == 0, "write");
    int rc = pcnn_st_read(&st, p);
    CHECK(rc == 0, "read: %s", pcnn_errstr());
    if (rc == 0) {
        CHECK(st.n == 3 && st.nmeta == 0, "n %d nmeta %d", st.n, st.nmeta);
        const pcnn_tensor *t = pcnn_st_find(&st, name);
        /* write_st fills data byte i with i: bytes 4..7 are 04 05 06 07 little-endian. */
        uint32_t u = 0;
        if (t) memcpy(&u, &t->data[0], 4);
        CHECK(t && t->ndim == 4 && t->shape[3] == 2 && u == 0x07060504u, "long-named tensor, bits %08x", (unsigned)u);
        t = pcnn_st_find(&st, "big");
        CHECK(t && t->shape[0] == 9007199254740992LL && t->shape[2] == 0 && t->data, "big empty tensor");
        t = pcnn_st_find(&st, "e");
        CHECK(t && t->ndim == 1 && t->shape[0] == 1, "exponent-form dimension");
    }
    pcnn_st_free(&st);
    unlink(p);
}

/* ---- writes that must fail ------------------------------------------------------ */

static void expect_write_fails(const pcnn_st *st, const char *path, const char *want)
{
    int ntmp0, n0 = count_entries(dir, &ntmp0);
    int had = exists(path);
    int rc = pcnn_st_write(st, path);
    const char *e = pcnn_errstr();
    CHECK(rc == -1, "write to %s returned %d (%s)", path, rc, want);
    CHECK(strstr(e, path) != NULL, "message does not name the file: %s", e);
    CHECK(strstr(e, want) != NULL, "message '%s' lacks '%s'", e, want);
    int ntmp, n = count_entries(dir, &ntmp);
    CHECK(n == n0 && ntmp == 0, "failed write left files behind (%d -> %d entries, %d temporary)", n0, n, ntmp);
    CHECK(exists(path) == had, "failed write created or removed %s", path);
}

static void test_write_failures(void)
{
    float v[4] = {1, 2, 3, 4};
    pcnn_tensor t[2] = {{.name = "a", .ndim = 1, .shape = {4}, .data = v},
                        {.name = "b", .ndim = 2, .shape = {2, 2}, .data = v}};
    pcnn_st st = {.t = t, .n = 2};

    expect_write_fails(&st, tpath("no/such/dir/out.safetensors"), "No such file");
    CHECK(!exists(tpath("no")), "directory created");

    /* Invalid contents are refused before anything is created. */
    const char *p = tpath("invalid.safetensors");
    t[1].ndim = 5;
    expect_write_fails(&st, p, "rank 5");
    t[1].ndim = 2;
    t[1].shape[1] = -2;
    expect_write_fails(&st, p, "shape[1] is -2");
    t[1].shape[1] = 2;
    strcpy(t[1].name, "a");
    expect_write_fails(&st, p, "tensor 'a' appears twice");
    strcpy(t[1].name, "__metadata__");
    expect_write_fails(&st, p, "reserved");
    strcpy(t[1].name, "b");
    t[1].data = NULL;
    expect_write_fails(&st, p, "has no data");
    t[1].data = v;
    char *keys[] = {"k", "k"}, *vals[] = {"1", "2"};
    pcnn_st sm = {.t = t, .n = 2, .meta_keys = keys, .meta_vals = vals, .nmeta = 2};
    expect_write_fails(&sm, p, "metadata key 'k' appears twice");

    /* a directory as the target is refused before anything is written */
    const char *d = tpath("target.safetensors");
    CHECK(mkdir(d, 0755) == 0, "mkdir %s", d);
    char inner[300];
    snprintf(inner, sizeof inner, "%s/keep", d);
    CHECK(write_bytes(inner, "x", 1) == 0, "write %s", inner);
    expect_write_fails(&st, d, "not a regular file");
    struct stat sb;
    CHECK(stat(d, &sb) == 0 && S_ISDIR(sb.st_mode) && exists(inner), "target directory damaged");

    /* A write that runs out of room (RLIMIT_FSIZE) leaves the previous file intact. */
    p = tpath("keep.safetensors");
    CHECK(pcnn_st_write(&st, p) == 0, "write: %s", pcnn_errstr());
    enum { BIG = 1 << 16 };
    float *big = calloc(BIG, sizeof *big);
    pcnn_tensor tb = {.name = "big", .ndim = 1, .shape = {BIG}, .data = big};
    pcnn_st sb_big = {.t = &tb, .n = 1};
    struct rlimit old, lim;
    if (big && getrlimit(RLIMIT_FSIZE, &old) == 0) {
        lim = old;
        lim.rlim_cur = 4096;
        void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            expect_write_fails(&sb_big, p, "writing");
            CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0, "cannot restore RLIMIT_FSIZE");
        } else {
            SKIP("cannot lower RLIMIT_FSIZE");
        }
        signal(SIGXFSZ, oldsig);
        pcnn_st r;
        CHECK(pcnn_st_read(&r, p) == 0 && r.n == 2 && r.t[1].data[3] == 4.0f,
              "previous file damaged: %s", pcnn_errstr());
        pcnn_st_free(&r);
    }
    free(big);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* an error quoting a damaged file stays one line: a dtype "F\n2" once split it in two */
static void test_error_one_line(void)
{
    pcnn_seterr("x.pcnn: tensor 'w' has dtype %s; only F32 is supported", "F\n2\r");
    CHECK(!strchr(pcnn_errstr(), '\n') && !strchr(pcnn_errstr(), '\r'), "error is not one line: %s", pcnn_errstr());
    CHECK(strstr(pcnn_errstr(), "dtype F?2?;") != NULL, "control characters not shown as '?': %s", pcnn_errstr());
}

int main(void)
{
    test_error_one_line();
    strcpy(dir, "/tmp/test_st.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("test_safetensors: mkdtemp");
        return 1;
    }
    test_round_trip();
    test_reference();
    test_bad_inputs();
    test_odd_but_valid();
    test_write_failures();
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary("test_safetensors");
}

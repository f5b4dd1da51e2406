/* test_io.c -- image, label and .npy input/output (lib/io/). */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "check.h"
#include "pcnn-impl.h"

static char tmpdir[64];

/* A path in the temporary directory (a ring of buffers, so a few can be alive). */
static const char *tp(const char *name)
{
    static char bufs[8][320];
    static int k;
    char *b = bufs[k++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%.200s", tmpdir, name);
    return b;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, data, (unsigned)len) != (int)len || gzclose(g) != Z_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = malloc(1 << 20);
    *len = f ? fread(b, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return b;
}

/* Makes stdin read the given bytes (small enough for a pipe's buffer). */
static void feed_stdin(const void *data, size_t len)
{
    int p[2];
    if (pipe(p) != 0 || write(p[1], data, len) != (ssize_t)len) {
        fprintf(stderr, "pipe failed\n");
        exit(2);
    }
    close(p[1]);
    dup2(p[0], 0);
    close(p[0]);
    clearerr(stdin);
}

/* stderr goes to a file while libraries are given bad input; nothing may be printed. */
static int saved_stderr = -1;
static void stderr_capture(void)
{
    fflush(stderr);
    saved_stderr = dup(2);
    FILE *f = fopen(tp("stderr.txt"), "w");
    dup2(fileno(f), 2);
    fclose(f);
}
static long stderr_release(void)
{
    struct stat st;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    return stat(tp("stderr.txt"), &st) == 0 ? (long)st.st_size : -1;
}

/* Reads all images of path; returns the count or -1; keeps the first in *first. */
static int read_all(const char *path, pcnn_image *first)
{
    pcnn_imgreader *r = pcnn_imgreader_open(path);
    pcnn_image img;
    int n = 0, rc;
    if (first)
        memset(first, 0, sizeof *first);
    if (!r)
        return -1;
    while ((rc = pcnn_imgreader_next(r, &img)) == 1) {
        if (n++ == 0 && first)
            *first = img;
        else
            pcnn_image_free(&img);
    }
    pcnn_imgreader_free(r);
    if (rc < 0 && first)
        pcnn_image_free(first);
    return rc < 0 ? -1 : n;
}

/* A bad input: the reader must fail with a message, and say nothing. */
static void expect_bad_image(const char *what, const void *data, size_t len, const char *needle)
{
    const char *path = tp("bad.img");
    write_file(path, data, len);
    pcnn_seterr("%s", "");
    stderr_capture();
    int n = read_all(path, NULL);
    long printed = stderr_release();
    CHECK(n == -1, "%s: read_all gave %d", what, n);
    CHECK(pcnn_errstr()[0] != '\0' && strcmp(pcnn_errstr(), "no error") != 0, "%s: no message", what);
    CHECK(strstr(pcnn_errstr(), "bad.img") != NULL, "%s: message '%s' does not name the file", what, pcnn_errstr());
    if (needle)
        CHECK(strstr(pcnn_errstr(), needle) != NULL, "%s: message '%s' lacks '%s'", what, pcnn_errstr(), needle);
    CHECK(printed == 0, "%s: %ld bytes printed on stderr", what, printed);
}

static pcnn_image make_image(int c, int h, int w, int maxval, int seed)
{
    pcnn_image img = {c, h, w, maxval, malloc((size_t)c * h * w)};
    for (int i = 0; i < c * h * w; i++)
        img.data[i] = (uint8_t)((i * 37 + seed * 11) % (maxval + 1));
    return img;
}

static int same_image(const pcnn_image *a, const pcnn_image *b)
{
    return a->c == b->c && a->h == b->h && a->w == b->w && a->maxval == b->maxval && a->data && b->data &&
           memcmp(a->data, b->data, (size_t)a->c * a->h * a->w) == 0;
}

/* ---- netpbm -------------------------------------------------------------------- */

static void test_netpbm_roundtrip(void)
{
    pcnn_image g = make_image(1, 3, 4, 200, 1), c = make_image(3, 5, 2, 255, 2), g2 = make_image(1, 2, 2, 1, 3);
    pcnn_image back;

    FILE *f = fopen(tp("g.pgm"), "wb");
    CHECK(pcnn_netpbm_write(f, &g) == 0, "write P5: %s", pcnn_errstr());
    fclose(f);
    CHECK(read_all(tp("g.pgm"), &back) == 1, "read P5: %s", pcnn_errstr());
    CHECK(same_image(&g, &back), "P5 round trip differs");
    pcnn_image_free(&back);

    f = fopen(tp("c.ppm"), "wb");
    CHECK(pcnn_netpbm_write(f, &c) == 0, "write P6: %s", pcnn_errstr());
    fclose(f);
    CHECK(read_all(tp("c.ppm"), &back) == 1, "read P6: %s", pcnn_errstr());
    CHECK(same_image(&c, &back), "P6 round trip differs");
    pcnn_image_free(&back);

    /* a stream of three images, of different kinds and sizes */
    f = fopen(tp("multi.pnm"), "wb");
    CHECK(pcnn_netpbm_write(f, &g) == 0 && pcnn_netpbm_write(f, &c) == 0 && pcnn_netpbm_write(f, &g2) == 0,
          "write stream: %s", pcnn_errstr());
    fclose(f);
    pcnn_imgreader *r = pcnn_imgreader_open(tp("multi.pnm"));
    CHECK(r != NULL, "open stream: %s", pcnn_errstr());
    const pcnn_image *want[3] = {&g, &c, &g2};
    for (int i = 0; r && i < 3; i++) {
        int rc = pcnn_imgreader_next(r, &back);
        CHECK(rc == 1, "stream image %d: rc %d: %s", i, rc, pcnn_errstr());
        CHECK(rc == 1 && same_image(want[i], &back), "stream image %d differs", i);
        pcnn_image_free(&back);
    }
    CHECK(r && pcnn_imgreader_next(r, &back) == 0, "stream: no clean end");
    CHECK(r && pcnn_imgreader_next(r, &back) == 0, "stream: end is not sticky");
    pcnn_imgreader_free(r);

    /* pcnn_images_load over two files */
    const char *paths[2] = {tp("multi.pnm"), tp("g.pgm")};
    pcnn_image *all = NULL;
    size_t n = 0;
    CHECK(pcnn_images_load(&all, &n, paths, 2) == 0 && n == 4, "images_load: n=%zu: %s", n, pcnn_errstr());
    CHECK(n == 4 && same_image(&all[1], &c) && same_image(&all[3], &g), "images_load: wrong images");
    for (size_t i = 0; i < n; i++)
        pcnn_image_free(&all[i]);
    free(all);
    const char *badpaths[2] = {tp("g.pgm"), tp("does-not-exist")};
    CHECK(pcnn_images_load(&all, &n, badpaths, 2) == -1 && all == NULL && n == 0, "images_load of a missing file");

    /* stdin through a pipe */
    size_t len;
    unsigned char *bytes = read_file(tp("multi.pnm"), &len);
    feed_stdin(bytes, len);
    free(bytes);
    r = pcnn_imgreader_open("-");
    CHECK(r && strcmp(pcnn_imgreader_name(r), "stdin") == 0, "stdin name");
    int cnt = 0;
    while (r && pcnn_imgreader_next(r, &back) == 1) {
        cnt++;
        pcnn_image_free(&back);
    }
    CHECK(cnt == 3, "stdin stream: %d images", cnt);
    pcnn_imgreader_free(r);

    pcnn_image bad = g;
    bad.maxval = 300;
    f = fopen(tp("x.pgm"), "wb");
    CHECK(pcnn_netpbm_write(f, &bad) == -1, "write maxval 300 accepted");
    /* a sample above its image's maxval: refused, not a file that no reader takes */
    uint8_t over[4] = {0, 1, 2, 1};
    pcnn_image small = {.c = 1, .h = 2, .w = 2, .maxval = 1, .data = over};
    long at = ftell(f);
    CHECK(pcnn_netpbm_write(f, &small) == -1 && strstr(pcnn_errstr(), "above maxval") && ftell(f) == at,
          "a sample of 2 with maxval 1 written (%s)", pcnn_errstr());
    fclose(f);
    f = fopen("/dev/full", "wb");
    if (f) {
        setvbuf(f, NULL, _IONBF, 0);
        CHECK(pcnn_netpbm_write(f, &c) == -1, "write to /dev/full succeeded");
        fclose(f);
    }
    pcnn_image_free(&g);
    pcnn_image_free(&c);
    pcnn_image_free(&g2);
}

static void test_netpbm_formats(void)
{
    pcnn_image img;
    /* P2 with a comment */
    const char p2[] = "P2\n# a comment\n3 2\n9\n0 1 2\n3 4 9\n";
    write_file(tp("a.pgm"), p2, sizeof p2 - 1);
    CHECK(read_all(tp("a.pgm"), &img) == 1, "P2: %s", pcnn_errstr());
    CHECK(img.c == 1 && img.h == 2 && img.w == 3 && img.maxval == 9, "P2 shape");
    CHECK(img.data && img.data[0] == 0 && img.data[4] == 4 && img.data[5] == 9, "P2 values");
    pcnn_image_free(&img);

    /* P3: planar result */
    const char p3[] = "P3 2 1 255 255 0 0  0 128 255\n";
    write_file(tp("a.ppm"), p3, sizeof p3 - 1);
    CHECK(read_all(tp("a.ppm"), &img) == 1, "P3: %s", pcnn_errstr());
    CHECK(img.c == 3 && img.h == 1 && img.w == 2 && img.maxval == 255, "P3 shape");
    CHECK(img.data && img.data[0] == 255 && img.data[1] == 0 && img.data[2] == 0 && img.data[3] == 128 &&
          img.data[4] == 0 && img.data[5] == 255, "P3 values");
    pcnn_image_free(&img);

    /* P1 and P4: 1 is black; samples come out in PGM sense (0 black, 1 white) */
    const uint8_t want_pbm[6] = {0, 1, 0, 1, 1, 0};
    const char p1[] = "P1\n3 2\n1 0 1\n0 0 1\n";
    write_file(tp("a.pbm"), p1, sizeof p1 - 1);
    CHECK(read_all(tp("a.pbm"), &img) == 1, "P1: %s", pcnn_errstr());
    CHECK(img.c == 1 && img.h == 2 && img.w == 3 && img.maxval == 1, "P1 shape");
    CHECK(img.data && memcmp(img.data, want_pbm, 6) == 0, "P1 values");
    pcnn_image_free(&img);
    const char p4[] = "P4\n3 2\n\xa0\x20";
    write_file(tp("b.pbm"), p4, sizeof p4 - 1);
    CHECK(read_all(tp("b.pbm"), &img) == 1, "P4: %s", pcnn_errstr());
    CHECK(img.maxval == 1 && img.data && memcmp(img.data, want_pbm, 6) == 0, "P4 values");
    pcnn_image_free(&img);

    /* P7 gray, and RGB_ALPHA with the alpha dropped */
    const char p7[] = "P7\nWIDTH 2\nHEIGHT 2\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n\x01\x02\x03\xff";
    write_file(tp("a.pam"), p7, sizeof p7 - 1);
    CHECK(read_all(tp("a.pam"), &img) == 1, "P7: %s", pcnn_errstr());
    CHECK(img.c == 1 && img.h == 2 && img.w == 2 && img.maxval == 255 && img.data && img.data[0] == 1 &&
          img.data[3] == 255, "P7 gray values");
    pcnn_image_free(&img);
    const char p7a[] = "P7\nWIDTH 2\nHEIGHT 1\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
                       "\x0a\x0b\x0c\xff\x14\x15\x16\x00";
    write_file(tp("b.pam"), p7a, sizeof p7a - 1);
    CHECK(read_all(tp("b.pam"), &img) == 1, "P7 RGBA: %s", pcnn_errstr());
    CHECK(img.c == 3 && img.w == 2 && img.h == 1 && img.data && img.data[0] == 10 && img.data[1] == 20 &&
          img.data[2] == 11 && img.data[5] == 22, "P7 RGBA values");
    pcnn_image_free(&img);
    /* GRAYSCALE_ALPHA (depth 2) is gray with the alpha dropped, as RGB_ALPHA is RGB */
    const char p7ga[] = "P7\nWIDTH 3\nHEIGHT 1\nDEPTH 2\nMAXVAL 255\nTUPLTYPE GRAYSCALE_ALPHA\nENDHDR\n"
                        "\x05\xff\x09\x00\xc8\x80";
    write_file(tp("c.pam"), p7ga, sizeof p7ga - 1);
    CHECK(read_all(tp("c.pam"), &img) == 1, "P7 GRAYSCALE_ALPHA: %s", pcnn_errstr());
    CHECK(img.c == 1 && img.w == 3 && img.h == 1 && img.maxval == 255 && img.data && img.data[0] == 5 &&
          img.data[1] == 9 && img.data[2] == 200, "P7 GRAYSCALE_ALPHA values");
    pcnn_image_free(&img);
}

static void test_netpbm_bad(void)
{
    expect_bad_image("empty", "", 0, "empty input");
    const char tr[] = "P5 4 4 255\n\x01\x02\x03\x04\x05";
    expect_bad_image("truncated P5", tr, sizeof tr - 1, "truncated");
    const char tr2[] = "P5 8192 8192 255\nabc";
    expect_bad_image("truncated big P5", tr2, sizeof tr2 - 1, "truncated");
    const char lie[] = "P5 100000 100000 255\n\x01\x02";
    expect_bad_image("lying header", lie, sizeof lie - 1, "out of range");
    char p16[200];
    int n = snprintf(p16, sizeof p16, "P6 5 5 65535\n");
    memset(p16 + n, 7, 150);
    expect_bad_image("16-bit P6", p16, (size_t)n + 150, "16-bit");
    const char badmagic[] = "P9 2 2 255\n1234";
    expect_bad_image("bad netpbm magic", badmagic, sizeof badmagic - 1, NULL);
    const char junk[] = "hello, world\n";
    expect_bad_image("unknown format", junk, sizeof junk - 1, "unknown image format");
    const char p2bad[] = "P2 2 2 9\n1 2 x 4\n";
    expect_bad_image("P2 with junk", p2bad, sizeof p2bad - 1, NULL);
    const char p2big[] = "P2 2 1 9\n1 12\n";
    expect_bad_image("P2 sample over maxval", p2big, sizeof p2big - 1, NULL);
    const char depth5[] = "P7\nWIDTH 1\nHEIGHT 1\nDEPTH 5\nMAXVAL 255\nENDHDR\nabcde";
    expect_bad_image("P7 depth 5", depth5, sizeof depth5 - 1, "depth 5");
    const char trail[] = "P5 1 1 255\nAjunk";
    expect_bad_image("junk after an image", trail, sizeof trail - 1, "image 2");

    /* an error is sticky */
    const char tr3[] = "P5 1 1 255\n\x05P5 4 4 255\n\x01";
    write_file(tp("sticky.pgm"), tr3, sizeof tr3 - 1);
    pcnn_imgreader *r = pcnn_imgreader_open(tp("sticky.pgm"));
    pcnn_image img;
    CHECK(r && pcnn_imgreader_next(r, &img) == 1, "sticky: first image");
    pcnn_image_free(&img);
    CHECK(r && pcnn_imgreader_next(r, &img) == -1 && img.data == NULL, "sticky: second image");
    CHECK(r && pcnn_imgreader_next(r, &img) == -1, "sticky: third call");
    CHECK(strstr(pcnn_errstr(), "truncated") != NULL, "sticky message '%s'", pcnn_errstr());
    pcnn_imgreader_free(r);

    /* truncated through a pipe: found by libnetpbm while reading, not by fstat */
    feed_stdin("P5 4 4 255\n\x01\x02", 13);
    stderr_capture();
    CHECK(read_all("-", NULL) == -1, "truncated P5 on stdin");
    long printed = stderr_release();
    CHECK(printed == 0, "libnetpbm printed %ld bytes", printed);
    CHECK(strncmp(pcnn_errstr(), "stdin: ", 7) == 0, "stdin message '%s'", pcnn_errstr());
    feed_stdin("", 0);
    CHECK(read_all("-", NULL) == -1 && strcmp(pcnn_errstr(), "stdin: empty input") == 0,
          "empty stdin: '%s'", pcnn_errstr());

    CHECK(pcnn_imgreader_open(tp("does-not-exist")) == NULL && strstr(pcnn_errstr(), "does-not-exist"),
          "missing file: '%s'", pcnn_errstr());
}

/* ---- PNG -------------------------------------------------------------------------- */

static int count_tmp_files(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp"))
            n++;
    if (d)
        closedir(d);
    return n;
}

static int same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = read_file(a, &na), *y = read_file(b, &nb);
    int same = na == nb && na > 0 && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

/* g: three gray 2x3 images (test_png) */
static void test_png_labels(const pcnn_image *g)
{
    CHECK(pcnn_png_write_grid_labels(tp("nl.png"), g, 3, 2, 2, NULL) == 0 &&
          pcnn_png_write_grid(tp("pl.png"), g, 3, 2, 2) == 0 && same_bytes(tp("nl.png"), tp("pl.png")),
          "without labels, not the plain grid's bytes: %s", pcnn_errstr());
    /* 20x10 images, taller than the text: the grid keeps its rows */
    pcnn_image t[3];
    for (int i = 0; i < 3; i++) t[i] = make_image(1, 20, 10, 255, 20 + i);
    const char *const labels[2] = {"s10", "sneaker"};
    pcnn_image plain, lab;
    CHECK(pcnn_png_write_grid(tp("p.png"), t, 3, 2, 1) == 0 && read_all(tp("p.png"), &plain) == 1, "plain: %s",
          pcnn_errstr());
    CHECK(pcnn_png_write_grid_labels(tp("l.png"), t, 3, 2, 1, labels) == 0 && read_all(tp("l.png"), &lab) == 1,
          "labelled: %s", pcnn_errstr());
    int lw = lab.w - plain.w;
    CHECK(lab.h == plain.h && lw > 20 && lw < 80 && lab.c == 1, "labelled grid %dx%d, plain %dx%d", lab.w, lab.h,
          plain.w, plain.h);
    if (lab.h == plain.h && lw > 0) {
        int same = 1, ink[2] = {0, 0}, other = 0;
        for (int y = 0; y < lab.h; y++) {
            for (int x = 0; x < plain.w; x++) same &= lab.data[y * lab.w + lw + x] == plain.data[y * plain.w + x];
            for (int x = 0; x < lw; x++) {
                uint8_t v = lab.data[y * lab.w + x];
                if (v == 0 && y < 20) ink[0]++;
                else if (v == 0 && y > 20) ink[1]++;
                else other += v != 255 && v != 0;
            }
        }
        CHECK(same, "the grid beside the labels is not the plain grid");
        CHECK(ink[0] > 10 && ink[1] > ink[0] && other == 0, "ink of the labels: %d, %d, %d other", ink[0], ink[1], other);
        /* no ink in the 3 columns at each side of the text */
        int margin = 0;
        for (int y = 0; y < lab.h; y++)
            for (int x = 0; x < 3; x++) margin += lab.data[y * lab.w + x] != 255 || lab.data[y * lab.w + lw - 1 - x] != 255;
        CHECK(margin == 0, "ink in the margins (%d)", margin);
    }
    pcnn_image_free(&lab);
    /* a row without a label: its band is white */
    const char *const one[2] = {NULL, "x"};
    CHECK(pcnn_png_write_grid_labels(tp("l.png"), t, 3, 2, 1, one) == 0 && read_all(tp("l.png"), &lab) == 1,
          "one label: %s", pcnn_errstr());
    int ink = 0;
    for (int y = 0; y < 20 && lab.data; y++)
        for (int x = 0; x < lab.w - plain.w; x++) ink += lab.data[y * lab.w + x] != 255;
    CHECK(ink == 0, "a row without a label has %d dark pixels", ink);
    pcnn_image_free(&lab);
    pcnn_image_free(&plain);
    for (int i = 0; i < 3; i++) pcnn_image_free(&t[i]);

    /* 2x3 images, shorter than the text: each band as tall as the text, the images at its top */
    const char *const ab[2] = {"a", "b"};
    CHECK(pcnn_png_write_grid_labels(tp("s.png"), g, 3, 2, 1, ab) == 0 && read_all(tp("s.png"), &lab) == 1,
          "short rows: %s", pcnn_errstr());
    CHECK(lab.h > 2 * 10 && lab.h < 2 * 20, "two bands of text and a gap: %d rows", lab.h);
    if (lab.data && lab.h > 20) {
        int W = lab.w, x0 = W - 7;
        CHECK(lab.data[x0] == g[0].data[0] && lab.data[W + x0 + 2] == g[0].data[5], "image 1 at the top of its band");
        CHECK(lab.data[2 * W + x0] == 128 && lab.data[(lab.h / 2 - 1) * W + x0] == 128, "the band below the images is gap");
        int gap = (lab.h - 1) / 2; /* the one-pixel gap between the two bands */
        CHECK(lab.data[(gap + 1) * W + x0] == 0 && lab.data[(gap + 1) * W + x0 + 1] == 255, "image 3 after the gap");
    }
    pcnn_image_free(&lab);

    /* RGB, UTF-8 beyond Latin-1 ('?'), a label too long for the grid's limit */
    pcnn_image c = make_image(3, 16, 16, 255, 9);
    const char *const u[1] = {"\xe6\x97\xa5 caf\xc3\xa9 \xff"};
    CHECK(pcnn_png_write_grid_labels(tp("u.png"), &c, 1, 1, 1, u) == 0 && read_all(tp("u.png"), &lab) == 1 &&
          lab.c == 3 && lab.w > 16, "RGB labelled: %s", pcnn_errstr());
    pcnn_image_free(&lab);
    char *huge = malloc(200001);
    memset(huge, 'W', 200000);
    huge[200000] = 0;
    const char *const h1[1] = {huge};
    CHECK(pcnn_png_write_grid_labels(tp("h.png"), &c, 1, 1, 1, h1) == -1 && strstr(pcnn_errstr(), "too large") &&
          access(tp("h.png"), F_OK) != 0, "a label 2 million pixels wide: %s", pcnn_errstr());
    free(huge);
    pcnn_image_free(&c);
    CHECK(count_tmp_files() == 0, "temporary files left behind by labelled grids");
}

static void test_png(void)
{
    pcnn_image g[3];
    for (int i = 0; i < 3; i++)
        g[i] = make_image(1, 2, 3, 255, i);
    g[2].maxval = 1;
    for (int i = 0; i < 6; i++)
        g[2].data[i] = (uint8_t)(i % 2);
    /* 3 images of 2x3 in 2 columns: 7 wide, 5 high */
    CHECK(pcnn_png_write_grid(tp("grid.png"), g, 3, 2, 1) == 0, "write gray grid: %s", pcnn_errstr());
    pcnn_image img;
    CHECK(read_all(tp("grid.png"), &img) == 1, "read gray grid: %s", pcnn_errstr());
    CHECK(img.c == 1 && img.h == 5 && img.w == 7 && img.maxval == 255, "gray grid shape %dx%dx%d",
          img.c, img.h, img.w);
    if (img.data && img.h == 5 && img.w == 7) {
#define PX(y, x) img.data[(y) * 7 + (x)]
        CHECK(PX(0, 0) == g[0].data[0] && PX(1, 2) == g[0].data[5], "grid image 1");
        CHECK(PX(0, 4) == g[1].data[0] && PX(1, 6) == g[1].data[5], "grid image 2");
        CHECK(PX(3, 0) == 0 && PX(3, 1) == 255 && PX(4, 2) == 255, "grid image 3 (maxval 1 scaled)");
        CHECK(PX(0, 3) == 128 && PX(2, 0) == 128 && PX(2, 5) == 128, "grid gaps");
        CHECK(PX(3, 4) == 128 && PX(4, 6) == 128, "grid empty cell");
#undef PX
    }
    pcnn_image_free(&img);

    /* the same grid 3x larger: pixel (y, x) is pixel (y/3, x/3) of the plain one */
    pcnn_image plain, big;
    CHECK(read_all(tp("grid.png"), &plain) == 1, "reread gray grid: %s", pcnn_errstr());
    CHECK(pcnn_png_write_grid(tp("big.png"), g, 3, 2, 3) == 0, "write scaled grid: %s", pcnn_errstr());
    CHECK(read_all(tp("big.png"), &big) == 1, "read scaled grid: %s", pcnn_errstr());
    CHECK(big.c == 1 && big.h == 15 && big.w == 21, "scaled grid shape %dx%dx%d", big.c, big.h, big.w);
    if (big.data && plain.data && big.h == 15 && big.w == 21) {
        int same = 1;
        for (int y = 0; y < 15; y++)
            for (int x = 0; x < 21; x++) same &= big.data[y * 21 + x] == plain.data[y / 3 * 7 + x / 3];
        CHECK(same, "scaled grid is not the plain one's pixels repeated");
    }
    pcnn_image_free(&plain);
    pcnn_image_free(&big);
    CHECK(pcnn_png_write_grid(tp("s0.png"), g, 3, 2, 0) == -1, "scale 0 accepted");

    /* RGB in one column */
    pcnn_image c[2] = {make_image(3, 2, 2, 255, 5), make_image(3, 2, 2, 15, 6)};
    CHECK(pcnn_png_write_grid(tp("rgb.png"), c, 2, 1, 1) == 0, "write RGB grid: %s", pcnn_errstr());
    CHECK(read_all(tp("rgb.png"), &img) == 1, "read RGB grid: %s", pcnn_errstr());
    CHECK(img.c == 3 && img.h == 5 && img.w == 2, "RGB grid shape %dx%dx%d", img.c, img.h, img.w);
    if (img.data && img.c == 3 && img.h == 5 && img.w == 2) {
        int plane = 10;
        CHECK(img.data[0] == c[0].data[0] && img.data[plane + 1] == c[0].data[4 + 1] &&
              img.data[2 * plane + 3] == c[0].data[8 + 3], "RGB image 1");
        CHECK(img.data[2 * 2 + 0] == 128 && img.data[plane + 2 * 2 + 1] == 128, "RGB gap row");
        int v = c[1].data[4 + 2], want = (v * 255 + 7) / 15; /* G plane, (y 1, x 0) of image 2 */
        CHECK(img.data[plane + 4 * 2 + 0] == want, "RGB image 2 scaled: %d vs %d", img.data[plane + 8], want);
    }
    pcnn_image_free(&img);
    CHECK(count_tmp_files() == 0, "temporary files left behind");

    /* write failures leave nothing */
    CHECK(pcnn_png_write_grid(tp("no-such-dir/x.png"), g, 3, 2, 1) == -1 && pcnn_errstr()[0], "write into a missing dir");
    pcnn_image mixed[2] = {g[0], c[0]};
    CHECK(pcnn_png_write_grid(tp("mixed.png"), mixed, 2, 2, 1) == -1, "mixed sizes accepted");
    CHECK(access(tp("mixed.png"), F_OK) != 0, "mixed.png created");
    CHECK(pcnn_png_write_grid(tp("zero.png"), g, 0, 2, 1) == -1, "n = 0 accepted");
    CHECK(count_tmp_files() == 0, "temporary files left behind after failures");

    /* a label column: the plain grid's pixels to its right, row bands as tall as the text */
    test_png_labels(g);

    /* PNG on stdin */
    size_t len;
    unsigned char *bytes = read_file(tp("grid.png"), &len);
    feed_stdin(bytes, len);
    CHECK(read_all("-", NULL) == 1, "PNG on stdin: %s", pcnn_errstr());

    /* truncated and damaged PNGs */
    expect_bad_image("truncated PNG", bytes, len / 2, "truncated");
    expect_bad_image("PNG without IEND", bytes, len - 12, NULL);
    expect_bad_image("PNG signature only", bytes, 8, "truncated");
    unsigned char *dmg = malloc(len);
    memcpy(dmg, bytes, len);
    dmg[3] = 'X';
    expect_bad_image("bad PNG signature", dmg, len, "signature");
    memcpy(dmg, bytes, len);
    dmg[len - 20] ^= 0x55; /* inside IDAT (or its CRC) */
    expect_bad_image("damaged PNG", dmg, len, NULL);
    /* IHDR claiming 100000x100000 */
    memcpy(dmg, bytes, len);
    dmg[16] = 0, dmg[17] = 1, dmg[18] = 0x86, dmg[19] = 0xa0;
    dmg[20] = 0, dmg[21] = 1, dmg[22] = 0x86, dmg[23] = 0xa0;
    uLong crc = crc32(0, dmg + 12, 17);
    dmg[29] = (unsigned char)(crc >> 24), dmg[30] = (unsigned char)(crc >> 16);
    dmg[31] = (unsigned char)(crc >> 8), dmg[32] = (unsigned char)crc;
    expect_bad_image("huge PNG", dmg, len, NULL);
    free(dmg);
    free(bytes);

    for (int i = 0; i < 3; i++)
        pcnn_image_free(&g[i]);
    pcnn_image_free(&c[0]);
    pcnn_image_free(&c[1]);
}

/* A PNG file written by hand (zlib's compress and crc32, no libpng): one row of w pixels
 * of the given bit depth and colour type, its bytes (filter byte 0 added here), and a
 * palette of np RGB entries for colour type 3. */
static void png_by_hand(const char *path, int w, int depth, int type, const uint8_t *row, size_t rowlen,
                        const uint8_t *plte, int np)
{
    unsigned char png[512], raw[64], z[256];
    uLongf zlen = sizeof z;
    raw[0] = 0;
    memcpy(raw + 1, row, rowlen);
    if (compress(z, &zlen, raw, (uLong)rowlen + 1) != Z_OK) {
        fprintf(stderr, "cannot compress %s\n", path);
        exit(2);
    }
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    size_t k = 8;
    const unsigned char ihdr[13] = {0, 0, 0, (unsigned char)w, 0, 0, 0, 1, /* w x 1 */
                                    (unsigned char)depth, (unsigned char)type, 0, 0, 0};
    const struct { const char *type; const unsigned char *data; size_t len; } chunks[] = {
        {"IHDR", ihdr, 13}, {"PLTE", plte, (size_t)np * 3}, {"IDAT", z, zlen}, {"IEND", NULL, 0}};
    for (int c = 0; c < 4; c++) {
        if (c == 1 && !np) continue;
        size_t n = chunks[c].len;
        png[k++] = (unsigned char)(n >> 24), png[k++] = (unsigned char)(n >> 16);
        png[k++] = (unsigned char)(n >> 8), png[k++] = (unsigned char)n;
        memcpy(png + k, chunks[c].type, 4);
        if (n) memcpy(png + k + 4, chunks[c].data, n);
        uLong crc = crc32(0, png + k, (uInt)(4 + n));
        k += 4 + n;
        png[k++] = (unsigned char)(crc >> 24), png[k++] = (unsigned char)(crc >> 16);
        png[k++] = (unsigned char)(crc >> 8), png[k++] = (unsigned char)crc;
    }
    write_file(path, png, k);
}

/* PNG inputs other than 8-bit gray and RGB, as pcnn-stream(5) says they are read: gray of
 * 1, 2 or 4 bits keeps its values (maxval 1, 3, 15); 16-bit samples are scaled to 8 bits
 * with rounding (v / 257, not the high byte); a palette becomes RGB (also a 4-bit one);
 * alpha is dropped. Our grids are 8-bit gray or RGB, so nothing above reads these. */
static void test_png_kinds(void)
{
    pcnn_image img;
    /* gray, 1, 2 and 4 bits: 8, 4 and 2 pixels to a byte, the first in the high bits */
    static const struct { int depth, w; uint8_t row[2]; uint8_t want[8]; } gray[] = {
        {1, 8, {0xb1}, {1, 0, 1, 1, 0, 0, 0, 1}},
        {2, 4, {0x1b}, {0, 1, 2, 3}},
        {4, 4, {0x0f, 0x7a}, {0, 15, 7, 10}},
    };
    for (int i = 0; i < 3; i++) {
        png_by_hand(tp("low.png"), gray[i].w, gray[i].depth, 0, gray[i].row,
                    (size_t)(gray[i].w * gray[i].depth + 7) / 8, NULL, 0);
        int n = read_all(tp("low.png"), &img);
        CHECK(n == 1 && img.c == 1 && img.h == 1 && img.w == gray[i].w && img.maxval == (1 << gray[i].depth) - 1 &&
              memcmp(img.data, gray[i].want, (size_t)gray[i].w) == 0,
              "%d-bit gray PNG: n %d, %dx%dx%d maxval %d", gray[i].depth, n, img.c, img.h, img.w, img.maxval);
        pcnn_image_free(&img);
    }
    /* 16-bit gray, big-endian samples 0, 255, 511, 65535: 0, 1, 2, 255 (the high bytes would give 0, 0, 1, 255) */
    const uint8_t g16[8] = {0x00, 0x00, 0x00, 0xff, 0x01, 0xff, 0xff, 0xff}, want16[4] = {0, 1, 2, 255};
    png_by_hand(tp("g16.png"), 4, 16, 0, g16, 8, NULL, 0);
    int n = read_all(tp("g16.png"), &img);
    CHECK(n == 1 && img.c == 1 && img.w == 4 && img.maxval == 255 && memcmp(img.data, want16, 4) == 0,
          "16-bit gray PNG: n %d, %d %d %d %d", n, n == 1 ? img.data[0] : -1, n == 1 ? img.data[1] : -1,
          n == 1 ? img.data[2] : -1, n == 1 ? img.data[3] : -1);
    pcnn_image_free(&img);
    /* palette: 8-bit indices 1, 0, 1 and 4-bit indices 0, 1, 1; planar RGB, maxval 255 */
    const uint8_t plte[6] = {10, 20, 30, 200, 100, 50}, idx8[3] = {1, 0, 1}, idx4[2] = {0x01, 0x10};
    const uint8_t want_p8[9] = {200, 10, 200, 100, 20, 100, 50, 30, 50};
    const uint8_t want_p4[9] = {10, 200, 200, 20, 100, 100, 30, 50, 50};
    png_by_hand(tp("p8.png"), 3, 8, 3, idx8, 3, plte, 2);
    CHECK(read_all(tp("p8.png"), &img) == 1 && img.c == 3 && img.w == 3 && img.maxval == 255 &&
          memcmp(img.data, want_p8, 9) == 0, "8-bit palette PNG: c %d maxval %d", img.c, img.maxval);
    pcnn_image_free(&img);
    png_by_hand(tp("p4.png"), 3, 4, 3, idx4, 2, plte, 2);
    CHECK(read_all(tp("p4.png"), &img) == 1 && img.c == 3 && img.w == 3 && img.maxval == 255 &&
          memcmp(img.data, want_p4, 9) == 0, "4-bit palette PNG: c %d maxval %d", img.c, img.maxval);
    pcnn_image_free(&img);
    /* gray with alpha (colour type 4): the alpha is dropped */
    const uint8_t ga[4] = {7, 255, 9, 0}, want_ga[2] = {7, 9};
    png_by_hand(tp("ga.png"), 2, 8, 4, ga, 4, NULL, 0);
    CHECK(read_all(tp("ga.png"), &img) == 1 && img.c == 1 && img.w == 2 && img.maxval == 255 &&
          memcmp(img.data, want_ga, 2) == 0, "gray+alpha PNG: c %d", img.c);
    pcnn_image_free(&img);
}

/* ---- quantization ------------------------------------------------------------------- */

/* pcnn_quantize, the step from a reader's samples to a model's levels: sample u of maxval M
 * is level floor(u*K/(M+1)) (pcnn.h), so each level holds (M+1)/K samples when K divides
 * M+1. The tests elsewhere quantize 8-bit images for 256 levels, where any of the usual
 * formulas is the identity. */
static void test_quantize(void)
{
    static const struct { int maxval, K; uint8_t in[6], want[6]; } cases[] = {
        {255, 2, {0, 1, 127, 128, 200, 255}, {0, 0, 0, 1, 1, 1}},
        {255, 16, {0, 15, 16, 31, 128, 255}, {0, 0, 1, 1, 8, 15}},
        {1, 256, {0, 1, 0, 1, 1, 0}, {0, 128, 0, 128, 128, 0}}, /* a binarized image, as pcnn-convert writes it */
        {9, 10, {0, 1, 4, 5, 8, 9}, {0, 1, 4, 5, 8, 9}},
        {9, 256, {0, 1, 4, 5, 8, 9}, {0, 25, 102, 128, 204, 230}},
        {3, 2, {0, 1, 2, 3, 3, 0}, {0, 0, 1, 1, 1, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t in[6], out[6] = {0};
        memcpy(in, cases[i].in, 6);
        pcnn_image img = {1, 2, 3, cases[i].maxval, in};
        CHECK(pcnn_quantize(out, &img, cases[i].K) == 0 && memcmp(out, cases[i].want, 6) == 0,
              "maxval %d to %d levels: %d %d %d %d %d %d", cases[i].maxval, cases[i].K, out[0], out[1], out[2], out[3],
              out[4], out[5]);
    }
    uint8_t bad[2] = {3, 4}, out[2];
    pcnn_image img = {1, 1, 2, 3, bad};
    CHECK(pcnn_quantize(out, &img, 2) == -1 && strstr(pcnn_errstr(), "exceeds maxval 3"), "a sample above maxval: %s",
          pcnn_errstr());
}

/* ---- IDX ---------------------------------------------------------------------------- */

static size_t idx_bytes(unsigned char *b, int ndim, const uint32_t *dims, const uint8_t *data, size_t len)
{
    size_t k = 0;
    b[k++] = 0, b[k++] = 0, b[k++] = 8, b[k++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        b[k++] = (unsigned char)(dims[i] >> 24), b[k++] = (unsigned char)(dims[i] >> 16);
        b[k++] = (unsigned char)(dims[i] >> 8), b[k++] = (unsigned char)dims[i];
    }
    memcpy(b + k, data, len);
    return k + len;
}

static void test_idx(void)
{
    unsigned char b[256];
    uint8_t data[12];
    for (int i = 0; i < 12; i++)
        data[i] = (uint8_t)(i * 17);
    const uint32_t dims[3] = {2, 2, 3};
    size_t len = idx_bytes(b, 3, dims, data, 12);
    pcnn_image img;

    write_file(tp("imgs.idx"), b, len);
    write_gz(tp("imgs.idx.gz"), b, len);
    const char *names[2] = {"imgs.idx", "imgs.idx.gz"};
    for (int k = 0; k < 2; k++) {
        pcnn_imgreader *r = pcnn_imgreader_open(tp(names[k]));
        CHECK(r && pcnn_imgreader_next(r, &img) == 1, "%s: first: %s", names[k], pcnn_errstr());
        CHECK(img.c == 1 && img.h == 2 && img.w == 3 && img.maxval == 255 && img.data &&
              memcmp(img.data, data, 6) == 0, "%s: first image", names[k]);
        pcnn_image_free(&img);
        CHECK(r && pcnn_imgreader_next(r, &img) == 1 && img.data && memcmp(img.data, data + 6, 6) == 0,
              "%s: second image", names[k]);
        pcnn_image_free(&img);
        CHECK(r && pcnn_imgreader_next(r, &img) == 0, "%s: end", names[k]);
        pcnn_imgreader_free(r);
    }

    /* gzip through a pipe, as two concatenated gzip members */
    {
        unsigned char gz[512];
        size_t glen = 0;
        const char *parts[2] = {"part1.gz", "part2.gz"};
        write_gz(tp(parts[0]), b, 10);
        write_gz(tp(parts[1]), b + 10, len - 10);
        for (int k = 0; k < 2; k++) {
            size_t l;
            unsigned char *p = read_file(tp(parts[k]), &l);
            memcpy(gz + glen, p, l);
            glen += l;
            free(p);
        }
        feed_stdin(gz, glen);
        CHECK(read_all("-", &img) == 2, "gzip IDX on stdin: %s", pcnn_errstr());
        CHECK(img.data && memcmp(img.data, data, 6) == 0, "gzip IDX on stdin: values");
        pcnn_image_free(&img);
        /* the same, cut short */
        feed_stdin(gz, glen - 5);
        stderr_capture();
        CHECK(read_all("-", NULL) == -1, "truncated gzip accepted");
        stderr_release();
    }

    /* binarized: maxval 1 */
    uint8_t bin[12] = {0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0};
    len = idx_bytes(b, 3, dims, bin, 12);
    write_gz(tp("bin.idx.gz"), b, len);
    CHECK(read_all(tp("bin.idx.gz"), &img) == 2 && img.maxval == 1 && img.data && memcmp(img.data, bin, 6) == 0,
          "binarized IDX: maxval %d", img.maxval);
    pcnn_image_free(&img);

    /* bad IDX */
    len = idx_bytes(b, 3, dims, data, 11);
    expect_bad_image("truncated IDX", b, len, "truncated");
    len = idx_bytes(b, 3, dims, data, 12);
    b[len++] = 0;
    expect_bad_image("IDX with trailing data", b, len, "trailing");
    const uint32_t huge[3] = {2000000000, 28, 28};
    len = idx_bytes(b, 3, huge, data, 12);
    expect_bad_image("IDX with a lying count", b, len, "truncated");
    const uint32_t big[3] = {1, 100000, 28};
    len = idx_bytes(b, 3, big, data, 12);
    expect_bad_image("IDX too wide", b, len, "out of range");
    const uint32_t one[1] = {12};
    len = idx_bytes(b, 1, one, data, 12);
    expect_bad_image("label file as images", b, len, "IDX labels, not images");
    len = idx_bytes(b, 3, dims, data, 12);
    b[2] = 0x0d;
    expect_bad_image("IDX of floats", b, len, "unsigned byte");
    const unsigned char notgz[] = {0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    expect_bad_image("corrupt gzip", notgz, sizeof notgz, "gzip");
}

/* ---- CIFAR-10 binary records ------------------------------------------------------------ */

#define CIFAR_REC 3073

/* n records: label labels[k], then sample (channel c, row y, column x) of image k */
static uint8_t cifar_sample(int k, int c, int y, int x)
{
    return (uint8_t)(k * 7 + c * 50 + y * 3 + x * 5);
}

static uint8_t *cifar_bytes(int n, const uint8_t *labels)
{
    uint8_t *b = malloc((size_t)n * CIFAR_REC);
    for (int k = 0; k < n; k++) {
        uint8_t *r = b + (size_t)k * CIFAR_REC;
        r[0] = labels[k];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    r[1 + c * 1024 + y * 32 + x] = cifar_sample(k, c, y, x);
    }
    return b;
}

/* A path ending in .bin whose reads come from a pipe holding the given bytes: a symlink to
 * /proc/self/fd/N (no file size to check, so a short last record shows only when read).
 * Returns NULL where /proc is missing. */
static const char *cifar_pipe(const char *name, const void *data, size_t len)
{
    int p[2];
    char target[64];
    if (access("/proc/self/fd", X_OK) != 0)
        return NULL;
    if (pipe(p) != 0 || write(p[1], data, len) != (ssize_t)len) {
        fprintf(stderr, "pipe failed\n");
        exit(2);
    }
    close(p[1]);
    snprintf(target, sizeof target, "/proc/self/fd/%d", p[0]);
    const char *path = tp(name);
    unlink(path);
    if (symlink(target, path) != 0) {
        fprintf(stderr, "symlink failed\n");
        exit(2);
    }
    return path;
}

static void test_cifar(void)
{
    const uint8_t labels[3] = {7, 0, 9};
    uint8_t *b = cifar_bytes(3, labels);
    pcnn_image img;
    int *l = NULL;
    size_t n = 0;

    /* three records: 32x32 RGB, maxval 255, the planes as they are in the file */
    write_file(tp("c.bin"), b, 3 * CIFAR_REC);
    pcnn_imgreader *r = pcnn_imgreader_open(tp("c.bin"));
    CHECK(r != NULL, "open c.bin: %s", pcnn_errstr());
    for (int k = 0; r && k < 3; k++) {
        CHECK(pcnn_imgreader_next(r, &img) == 1, "c.bin image %d: %s", k + 1, pcnn_errstr());
        CHECK(img.c == 3 && img.h == 32 && img.w == 32 && img.maxval == 255, "c.bin image %d: %dx%dx%d maxval %d",
              k + 1, img.c, img.h, img.w, img.maxval);
        CHECK(img.data && memcmp(img.data, b + (size_t)k * CIFAR_REC + 1, 3072) == 0, "c.bin image %d: samples",
              k + 1);
        /* (C,H,W): green, row 2, column 5 */
        CHECK(img.data && img.data[1 * 1024 + 2 * 32 + 5] == cifar_sample(k, 1, 2, 5), "c.bin image %d: G(2,5)",
              k + 1);
        pcnn_image_free(&img);
    }
    CHECK(r && pcnn_imgreader_next(r, &img) == 0, "c.bin: end after 3 images");
    pcnn_imgreader_free(r);
    pcnn_image *all = NULL;
    const char *paths[2] = {tp("c.bin"), tp("c.bin")};
    CHECK(pcnn_images_load(&all, &n, paths, 2) == 0 && n == 6, "c.bin twice: %zu images: %s", n, pcnn_errstr());
    for (size_t i = 0; all && i < n; i++)
        pcnn_image_free(&all[i]);
    free(all);

    /* the labels of the same file */
    CHECK(pcnn_labels_load(&l, &n, tp("c.bin")) == 0 && n == 3 && l[0] == 7 && l[1] == 0 && l[2] == 9,
          "c.bin labels: %s", pcnn_errstr());
    free(l);

    /* told by the name: the same bytes as c.dat are no known format */
    write_file(tp("c.dat"), b, 3 * CIFAR_REC);
    stderr_capture();
    CHECK(read_all(tp("c.dat"), NULL) == -1 && strstr(pcnn_errstr(), "unknown image format"),
          "c.dat read as images: '%s'", pcnn_errstr());
    stderr_release();

    /* a regular file whose size is not a multiple of 3073, or 0 */
    char want[128];
    write_file(tp("short.bin"), b, 3 * CIFAR_REC - 100);
    snprintf(want, sizeof want, "short.bin: not CIFAR-10 binary records (size %d is not a multiple of 3073)",
             3 * CIFAR_REC - 100);
    stderr_capture();
    r = pcnn_imgreader_open(tp("short.bin"));
    CHECK(r == NULL && strstr(pcnn_errstr(), want), "short.bin as images: '%s'", pcnn_errstr());
    pcnn_imgreader_free(r);
    l = (int *)1;
    CHECK(pcnn_labels_load(&l, &n, tp("short.bin")) == -1 && l == NULL && n == 0 && strstr(pcnn_errstr(), want),
          "short.bin as labels: '%s'", pcnn_errstr());
    write_file(tp("long.bin"), b, CIFAR_REC + 1);
    CHECK(pcnn_imgreader_open(tp("long.bin")) == NULL && strstr(pcnn_errstr(), "long.bin: not CIFAR-10") &&
          strstr(pcnn_errstr(), "size 3074"), "long.bin: '%s'", pcnn_errstr());
    write_file(tp("empty.bin"), b, 0);
    CHECK(pcnn_imgreader_open(tp("empty.bin")) == NULL && strstr(pcnn_errstr(), "empty.bin: empty input"),
          "empty.bin as images: '%s'", pcnn_errstr());
    CHECK(pcnn_labels_load(&l, &n, tp("empty.bin")) == -1 && strstr(pcnn_errstr(), "empty.bin: empty input"),
          "empty.bin as labels: '%s'", pcnn_errstr());
    CHECK(pcnn_imgreader_open(tp("nope.bin")) == NULL && strstr(pcnn_errstr(), "nope.bin"), "missing .bin");
    CHECK(stderr_release() == 0, "CIFAR-10 errors printed on stderr");

    /* through a pipe: two whole records, then a truncated third */
    const char *pp = cifar_pipe("pipe.bin", b, 3 * CIFAR_REC - 100);
    if (!pp) {
        SKIP("no /proc/self/fd: truncated CIFAR-10 records through a pipe not checked");
    } else {
        stderr_capture();
        r = pcnn_imgreader_open(pp);
        CHECK(r && pcnn_imgreader_next(r, &img) == 1, "pipe.bin image 1: %s", pcnn_errstr());
        pcnn_image_free(&img);
        CHECK(r && pcnn_imgreader_next(r, &img) == 1 && img.data &&
                  memcmp(img.data, b + CIFAR_REC + 1, 3072) == 0, "pipe.bin image 2: %s", pcnn_errstr());
        pcnn_image_free(&img);
        CHECK(r && pcnn_imgreader_next(r, &img) == -1 && strstr(pcnn_errstr(), "pipe.bin: record 3: truncated") &&
                  strstr(pcnn_errstr(), "2973 of 3073"), "pipe.bin image 3: '%s'", pcnn_errstr());
        pcnn_imgreader_free(r);
        pp = cifar_pipe("pipe.bin", b, 2 * CIFAR_REC + 1);
        CHECK(pcnn_labels_load(&l, &n, pp) == -1 && strstr(pcnn_errstr(), "pipe.bin: record 3: truncated"),
              "pipe.bin labels: '%s'", pcnn_errstr());
        pp = cifar_pipe("pipe.bin", b, 2 * CIFAR_REC);
        CHECK(pcnn_labels_load(&l, &n, pp) == 0 && n == 2 && l[0] == 7 && l[1] == 0, "pipe.bin labels, whole: %s",
              pcnn_errstr());
        free(l);
        CHECK(stderr_release() == 0, "CIFAR-10 pipe errors printed on stderr");
    }
    free(b);
}

/* ---- labels --------------------------------------------------------------------------- */

static void expect_bad_labels(const char *what, const char *text, const char *needle)
{
    int *l = (int *)1;
    size_t n = 99;
    write_file(tp("labels.txt"), text, strlen(text));
    CHECK(pcnn_labels_load(&l, &n, tp("labels.txt")) == -1 && l == NULL && n == 0, "%s accepted", what);
    CHECK(strstr(pcnn_errstr(), needle) != NULL, "%s: message '%s' lacks '%s'", what, pcnn_errstr(), needle);
}

static void test_labels(void)
{
    unsigned char b[64];
    const uint8_t data[5] = {3, 0, 9, 255, 1};
    const uint32_t n5 = 5;
    size_t len = idx_bytes(b, 1, &n5, data, 5);
    int *l = NULL;
    size_t n = 0;

    write_file(tp("lab.idx"), b, len);
    write_gz(tp("lab.idx.gz"), b, len);
    CHECK(pcnn_labels_load(&l, &n, tp("lab.idx")) == 0 && n == 5 && l[0] == 3 && l[3] == 255 && l[4] == 1,
          "IDX labels: %s", pcnn_errstr());
    free(l);
    CHECK(pcnn_labels_load(&l, &n, tp("lab.idx.gz")) == 0 && n == 5 && l[2] == 9, "gzip IDX labels: %s",
          pcnn_errstr());
    free(l);
    write_file(tp("lab.idx"), b, len - 1);
    CHECK(pcnn_labels_load(&l, &n, tp("lab.idx")) == -1 && strstr(pcnn_errstr(), "truncated"),
          "short IDX labels: '%s'", pcnn_errstr());
    b[len] = 7;
    write_file(tp("lab.idx"), b, len + 1);
    CHECK(pcnn_labels_load(&l, &n, tp("lab.idx")) == -1 && strstr(pcnn_errstr(), "trailing"),
          "long IDX labels: '%s'", pcnn_errstr());
    const uint32_t many = 20000000;
    len = idx_bytes(b, 1, &many, data, 5);
    write_file(tp("lab.idx"), b, len);
    CHECK(pcnn_labels_load(&l, &n, tp("lab.idx")) == -1 && strstr(pcnn_errstr(), "limit"),
          "20M IDX labels: '%s'", pcnn_errstr());

    const char good[] = "3\n0\n 7 \r\n12\n2147483647\n\n\n";
    write_file(tp("labels.txt"), good, strlen(good));
    CHECK(pcnn_labels_load(&l, &n, tp("labels.txt")) == 0 && n == 5 && l[0] == 3 && l[2] == 7 && l[3] == 12 &&
          l[4] == 2147483647, "text labels: %s", pcnn_errstr());
    free(l);
    const char nonl[] = "4\n5";
    write_file(tp("labels.txt"), nonl, strlen(nonl));
    CHECK(pcnn_labels_load(&l, &n, tp("labels.txt")) == 0 && n == 2 && l[1] == 5, "no final newline");
    free(l);
    feed_stdin("1\n2\n", 4);
    CHECK(pcnn_labels_load(&l, &n, "-") == 0 && n == 2 && l[1] == 2, "labels on stdin: %s", pcnn_errstr());
    free(l);

    expect_bad_labels("a word", "1\n2\n3\n4\n5\n6\nseven\n8\n", "labels.txt:7: not a non-negative integer");
    expect_bad_labels("negative", "1\n-2\n", "labels.txt:2: not a non-negative integer");
    expect_bad_labels("two numbers", "1 2\n", "labels.txt:1:");
    expect_bad_labels("a blank line inside", "1\n\n2\n", "labels.txt:2:");
    expect_bad_labels("too large", "2147483648\n", "labels.txt:1:");
    expect_bad_labels("a fraction", "1.5\n", "labels.txt:1:");
    expect_bad_labels("empty", "", "empty input");
    expect_bad_labels("blank only", "\n\n", "no labels");
    CHECK(pcnn_labels_load(&l, &n, tp("nope.txt")) == -1 && strstr(pcnn_errstr(), "nope.txt"), "missing labels");
    /* class names are for pcnn_labels_read */
    expect_bad_labels("names", "sneaker\nboot\n", "labels.txt:1: not a non-negative integer");
}

static void expect_bad_names(const char *what, const char *text, size_t len, const char *needle)
{
    pcnn_labels l = {.n = 99};
    write_file(tp("names.txt"), text, len);
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == -1 && !l.label && !l.names && l.n == 0, "%s accepted", what);
    CHECK(strstr(pcnn_errstr(), needle) != NULL, "%s: message '%s' lacks '%s'", what, pcnn_errstr(), needle);
}

/* text label files of class names: the table in sorted order, the labels numbered by it,
 * the renumbering by a model's table, and what is refused */
static void test_named_labels(void)
{
    pcnn_labels l;
    const char text[] = "sneaker\n boot\t\r\ns10\nsneaker\nankle boot\ns2\n\n";
    write_file(tp("names.txt"), text, strlen(text));
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == 0, "names: %s", pcnn_errstr());
    static const char *want[] = {"ankle boot", "boot", "s2", "s10", "sneaker"};
    static const int wlab[] = {4, 1, 3, 4, 0, 2};
    static const long wline[] = {5, 2, 6, 3, 1};
    int ok = l.n == 6 && l.nnames == 5 && l.names;
    for (int k = 0; ok && k < 5; k++) ok = !strcmp(l.names[k], want[k]) && l.line[k] == wline[k];
    for (int i = 0; ok && i < 6; i++) ok = l.label[i] == wlab[i];
    CHECK(ok, "names table or labels (n %zu, %d names)", l.n, l.nnames);
    CHECK(l.path && !strcmp(l.path, tp("names.txt")), "path");
    pcnn_labels_free(&l);
    CHECK(l.label == NULL && l.names == NULL && l.n == 0, "freed");

    /* the order of the lines does not change the table */
    const char shuffled[] = "s2\nankle boot\nsneaker\ns10\nboot\n";
    write_file(tp("names.txt"), shuffled, strlen(shuffled));
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == 0 && l.nnames == 5, "shuffled: %s", pcnn_errstr());
    ok = l.nnames == 5;
    for (int k = 0; ok && k < 5; k++) ok = !strcmp(l.names[k], want[k]);
    CHECK(ok && l.label[0] == 2 && l.label[4] == 1, "shuffled names: another table");

    /* by a model's table in another order: the same images, the model's numbers */
    static const char *table[] = {"sneaker", "s2", "extra", "boot", "ankle boot", "s10"};
    CHECK(pcnn_labels_map(&l, table, 6) == 0 && l.names == NULL && l.nnames == 0, "map: %s", pcnn_errstr());
    CHECK(l.label[0] == 1 && l.label[1] == 4 && l.label[2] == 0 && l.label[3] == 5 && l.label[4] == 3, "mapped labels");
    pcnn_labels_free(&l);
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == 0 && pcnn_labels_map(&l, table, 3) == -1, "unknown names taken");
    CHECK(strstr(pcnn_errstr(), "names.txt:2: no class of the model is named 'ankle boot'"), "the first unknown: %s",
          pcnn_errstr());
    CHECK(pcnn_labels_map(&l, NULL, 0) == -1 && strstr(pcnn_errstr(), "names.txt:1: 's2' is a class name, but the "
          "model's classes have numbers"), "names for numbered classes: %s", pcnn_errstr());
    pcnn_labels_free(&l);

    /* numbers stay numbers, mapped or not */
    write_file(tp("names.txt"), "3\n0\n", 4);
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == 0 && !l.names && l.n == 2 && l.label[0] == 3, "numbers: %s",
          pcnn_errstr());
    CHECK(pcnn_labels_map(&l, table, 6) == 0 && l.label[0] == 3, "numbers mapped");
    pcnn_labels_free(&l);
    feed_stdin("b\na\n", 4);
    CHECK(pcnn_labels_read(&l, "-") == 0 && l.nnames == 2 && l.label[0] == 1 && !strcmp(l.path, "stdin"),
          "names on stdin: %s", pcnn_errstr());
    pcnn_labels_free(&l);

    /* the written names read back the same */
    static const int some[] = {4, 0, 4, 2};
    CHECK(pcnn_labels_write_names(tp("w.txt"), some, 4, want) == 0 && pcnn_labels_read(&l, tp("w.txt")) == 0 &&
          l.nnames == 3 && !strcmp(l.names[0], "ankle boot") && !strcmp(l.names[2], "sneaker") && l.label[0] == 2 &&
          l.label[3] == 1, "names written and read: %s", pcnn_errstr());
    pcnn_labels_free(&l);

    expect_bad_names("a number among names", "boot\ns2\n7\n", 10, "names.txt:3: '7' is a class number, but line 1");
    expect_bad_names("a name among numbers", "1\n2\nboot\n", 10, "names.txt:3: not a non-negative integer, as line 1");
    expect_bad_names("a negative number among numbers", "1\n-2\n", 6, "names.txt:2: not a non-negative integer");
    expect_bad_names("a blank line", "a\n\nb\n", 5, "names.txt:2: a blank line");
    expect_bad_names("a tab inside", "a\tb\n", 4, "names.txt:1: the class name 'a?b' holds a control character");
    expect_bad_names("a NUL", "a\0b\n", 4, "control character");
    expect_bad_names("not UTF-8", "caf\xe9\n", 5, "is not UTF-8");
    char *big = malloc(10002);
    memset(big, 'x', 10000);
    memcpy(big + 10000, "\n", 2);
    expect_bad_names("a 10 kB name", big, 10001, "names.txt:1: the class name 'xxxxxxxxxxxxxxxxxxxx...' is 10000 bytes long, more than 64");
    /* a name of 64 bytes and blanks after it is a name of 64 bytes */
    memset(big, 'y', 64);
    memset(big + 64, ' ', 1000);
    memcpy(big + 1064, "\n", 2);
    write_file(tp("names.txt"), big, 1065);
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == 0 && l.nnames == 1 && strlen(l.names[0]) == 64, "64 bytes: %s",
          pcnn_errstr());
    pcnn_labels_free(&l);
    free(big);
    /* one name more than a model can have classes */
    size_t cap = (PCNN_MAX_CLASSES + 1) * 8;
    char *many = malloc(cap), *at = many;
    for (int k = 0; k <= PCNN_MAX_CLASSES; k++) at += sprintf(at, "c%d\n", k);
    expect_bad_names("65537 names", many, (size_t)(at - many), "names.txt:65537: more than 65536 class names");
    at -= strlen("c65536\n");
    write_file(tp("names.txt"), many, (size_t)(at - many));
    CHECK(pcnn_labels_read(&l, tp("names.txt")) == 0 && l.nnames == PCNN_MAX_CLASSES &&
          !strcmp(l.names[PCNN_MAX_CLASSES - 1], "c65535") && l.label[1000] == 1000, "65536 names: %s", pcnn_errstr());
    pcnn_labels_free(&l);
    free(many);
}

/* ---- .npy -------------------------------------------------------------------------------- */

/* Exact bytes written by NumPy 1.24 (checked with /usr/bin/python3), as octal escapes. */
/* np.save(f, np.arange(3, dtype='<f4')) */
static const char npy_arange3[] =
    "\223NUMPY\001\000v\000"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }                                                            \012"
    "\000\000\000\000\000\000\200\077\000\000\000@";
/* np.save(f, np.arange(3, dtype='<f4').reshape(1, 3)) */
static const char npy_1x3[] =
    "\223NUMPY\001\000v\000"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3), }                                                          \012"
    "\000\000\000\000\000\000\200\077\000\000\000@";
/* np.lib.format.write_array(f, np.array([1.5, -2], dtype='<f4'), version=(2, 0)) */
static const char npy_v2[] =
    "\223NUMPY\002\000t\000\000\000"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }                                                          \012"
    "\000\000\300\077\000\000\000\300";
/* np.save(f, np.arange(2, dtype='<f8')) */
static const char npy_f8[] =
    "\223NUMPY\001\000v\000"
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }                                                            \012"
    "\000\000\000\000\000\000\000\000\000\000\000\000\000\000\360\077";

/* Reads one record from bytes; returns the status. */
static int npy_from(const void *bytes, size_t len, float **v, size_t *n)
{
    FILE *f = len ? fmemopen((void *)bytes, len, "rb") : fopen("/dev/null", "rb");
    int rc = pcnn_npy_read(f, v, n);
    fclose(f);
    return rc;
}

static void expect_bad_npy(const char *what, const void *bytes, size_t len, const char *needle)
{
    float *v = NULL;
    size_t n = 0;
    pcnn_seterr("%s", "");
    int rc = npy_from(bytes, len, &v, &n);
    CHECK(rc == -1 && v == NULL, "%s: rc %d", what, rc);
    CHECK(strstr(pcnn_errstr(), needle) != NULL, "%s: message '%s' lacks '%s'", what, pcnn_errstr(), needle);
    free(v);
}

static void test_npy(void)
{
    float *v = NULL;
    size_t n = 0;

    CHECK(sizeof npy_arange3 - 1 == 140 && sizeof npy_1x3 - 1 == 140 && sizeof npy_v2 - 1 == 136 &&
          sizeof npy_f8 - 1 == 144, "embedded NumPy bytes have the wrong length");
    CHECK(npy_from(npy_arange3, sizeof npy_arange3 - 1, &v, &n) == 1 && n == 3 && v[0] == 0 && v[1] == 1 &&
          v[2] == 2, "numpy arange(3): %s", pcnn_errstr());
    free(v);
    CHECK(npy_from(npy_1x3, sizeof npy_1x3 - 1, &v, &n) == 1 && n == 3 && v[2] == 2, "numpy (1,3): %s",
          pcnn_errstr());
    free(v);
    CHECK(npy_from(npy_v2, sizeof npy_v2 - 1, &v, &n) == 1 && n == 2 && v[0] == 1.5f && v[1] == -2.0f,
          "numpy v2: %s", pcnn_errstr());
    free(v);
    /* version 3.0 is 2.0 with a UTF-8 header (NumPy writes it for non-Latin-1 names) */
    char v3[sizeof npy_v2];
    memcpy(v3, npy_v2, sizeof v3);
    v3[6] = 3;
    CHECK(npy_from(v3, sizeof v3 - 1, &v, &n) == 1 && n == 2 && v[0] == 1.5f && v[1] == -2.0f, "numpy v3: %s",
          pcnn_errstr());
    free(v);
    CHECK(npy_from("", 0, &v, &n) == 0 && v == NULL && n == 0, "empty stream is a clean end");

    /* our writer produces NumPy's bytes */
    char buf[512];
    FILE *f = fmemopen(buf, sizeof buf, "wb");
    const float a3[3] = {0, 1, 2};
    CHECK(pcnn_npy_write(f, a3, 3) == 0, "npy write: %s", pcnn_errstr());
    long pos = ftell(f);
    fclose(f);
    CHECK(pos == 140 && memcmp(buf, npy_arange3, 140) == 0, "npy write differs from NumPy (%ld bytes)", pos);

    /* several records in one stream */
    f = fopen(tp("rec.npy"), "w+b");
    float *big = malloc(1000 * sizeof *big);
    for (int i = 0; i < 1000; i++)
        big[i] = (float)i * 0.25f - 3.0f;
    const float one = -0.0f, odd[5] = {1e-30f, 3.4e38f, -1.0f, 0.1f, 1.0f / 3.0f};
    CHECK(pcnn_npy_write(f, &one, 1) == 0 && pcnn_npy_write(f, odd, 5) == 0 && pcnn_npy_write(f, big, 1000) == 0,
          "npy write records: %s", pcnn_errstr());
    rewind(f);
    size_t sizes[3] = {1, 5, 1000};
    const float *want[3] = {&one, odd, big};
    for (int k = 0; k < 3; k++) {
        int rc = pcnn_npy_read(f, &v, &n);
        CHECK(rc == 1 && n == sizes[k] && memcmp(v, want[k], n * sizeof *v) == 0, "record %d: rc %d n %zu: %s",
              k, rc, n, pcnn_errstr());
        free(v);
    }
    CHECK(pcnn_npy_read(f, &v, &n) == 0, "end of records");
    fclose(f);
    free(big);
    CHECK(pcnn_npy_write(stdout, a3, 0) == -1, "writing 0 values accepted");

    /* bad records */
    expect_bad_npy("dtype <f8", npy_f8, sizeof npy_f8 - 1, "dtype '<f8' is not <f4");
    expect_bad_npy("truncated data", npy_arange3, sizeof npy_arange3 - 3, "truncated data");
    expect_bad_npy("truncated header", npy_arange3, 60, "truncated header");
    expect_bad_npy("truncated prefix", npy_arange3, 7, "truncated header");
    expect_bad_npy("bad magic", "\x93NUMPX\x01\x00\x76\x00{}", 12, "bad magic");
    expect_bad_npy("text", "hello", 5, "bad magic");
    char rec[256];
    memcpy(rec, npy_arange3, sizeof npy_arange3);
    rec[6] = 4;
    expect_bad_npy("version 4", rec, 140, "version");
    const char *bad_headers[][2] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (100000000,), }", "limit"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", "too large"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", "empty"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", "shape (2, 3)"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "shape ()"},
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", "dtype '>f4'"},
        {"{'descr': '<f4', 'shape': (3,), }", "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3,), }", "fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", "'x'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", "junk"},
        {"['descr']", "not a dict"},
    };
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        size_t hl = strlen(bad_headers[i][0]);
        memcpy(rec, "\x93NUMPY\x01\x00", 8);
        rec[8] = (char)(hl + 1), rec[9] = 0;
        memcpy(rec + 10, bad_headers[i][0], hl);
        rec[10 + hl] = '\n';
        memset(rec + 11 + hl, 0, 12);
        expect_bad_npy(bad_headers[i][0], rec, 11 + hl + 12, bad_headers[i][1]);
    }
    memcpy(rec, "\x93NUMPY\x02\x00\x00\x00\x00\x01", 12); /* header of 16 MiB */
    expect_bad_npy("huge header", rec, 12, "header length");

    /* fortran_order True with a vector is fine; (3, 1) too */
    const char *ok = "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 1), }";
    size_t hl = strlen(ok);
    memcpy(rec, "\x93NUMPY\x01\x00", 8);
    rec[8] = (char)(hl + 1), rec[9] = 0;
    memcpy(rec + 10, ok, hl);
    rec[10 + hl] = '\n';
    memcpy(rec + 11 + hl, npy_arange3 + 128, 12);
    CHECK(npy_from(rec, 11 + hl + 12, &v, &n) == 1 && n == 3 && v[1] == 1.0f, "fortran (3,1): %s", pcnn_errstr());
    free(v);
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* pcnn_output_check refuses what cannot be written before any work (issue 10, hole 9) */
static void test_output_check(void)
{
    CHECK(pcnn_output_check(tp("ok.png")) == 0, "a new file in a directory: %s", pcnn_errstr());
    CHECK(pcnn_output_check("") == -1 && strstr(pcnn_errstr(), "empty"), "'': %s", pcnn_errstr());
    CHECK(pcnn_output_check(tp("")) == -1 && strstr(pcnn_errstr(), "directory"), "DIR/: %s", pcnn_errstr());
    CHECK(pcnn_output_check(tp("newdir/")) == -1 && strstr(pcnn_errstr(), "directory"), "NEWDIR/: %s",
          pcnn_errstr());
    CHECK(pcnn_output_check(tmpdir) == -1 && strstr(pcnn_errstr(), "not a regular file"), "DIR: %s",
          pcnn_errstr());
    CHECK(pcnn_output_check(tp("missing/x.png")) == -1 && strstr(pcnn_errstr(), "no such directory"),
          "missing directory: %s", pcnn_errstr());

    /* a name of 246 bytes: NAME.tmpXXXXXX would be 256, one more than a name may have */
    char name[300], path[400];
    memset(name, 'a', 246);
    name[246] = 0;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    CHECK(pcnn_output_check(path) == -1 && strstr(pcnn_errstr(), "too long"), "246-byte name: %s",
          pcnn_errstr());
    pcnn_image g = make_image(1, 2, 2, 255, 1);
    CHECK(pcnn_png_write_grid(path, &g, 1, 1, 1) == -1 && !exists(path), "246-byte name written");
    /* 245 bytes: the temporary name fits, and the write works */
    name[245] = 0;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    CHECK(pcnn_output_check(path) == 0, "245-byte name: %s", pcnn_errstr());
    CHECK(pcnn_png_write_grid(path, &g, 1, 1, 1) == 0 && exists(path), "245-byte name: %s", pcnn_errstr());
    unlink(path);
    pcnn_image_free(&g);

    /* a path whose temporary name would not fit in PATH_MAX */
    size_t n = 5000;
    char *deep = malloc(n + 1);
    for (size_t i = 0; i < n; i++) deep[i] = i % 2 ? '/' : 'd';
    deep[n - 1] = 'x';
    deep[n] = 0;
    CHECK(pcnn_output_check(deep) == -1 && strstr(pcnn_errstr(), "too long"), "a 5000-byte path: %.60s",
          pcnn_errstr());
    free(deep);
}

/* pcnn_output_clean_temps removes what an interrupted atomic write left, and only that */
static void test_output_clean_temps(void)
{
    static const char *const gone[] = {"m.pcnn.tmpAb12Cd", "m.pcnn.tmp000000", "m.pcnn.tmpzzZZ99"};
    static const char *const kept[] = {"m.pcnn", "m.pcnn.tmpAb12C", "m.pcnn.tmpAb12Cde", "m.pcnn.tmp_b12Cd",
                                       "m.pcnn.tmp", "n.pcnn.tmpAb12Cd", "xm.pcnn.tmpAb12Cd", "m.pcnntmpAb12Cd"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) write_file(tp(gone[i]), "x", 1);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) write_file(tp(kept[i]), "x", 1);
    /* not ours to remove: a symbolic link, a second name of another file, a directory */
    CHECK(symlink("m.pcnn", tp("m.pcnn.tmpLink01")) == 0, "symlink");
    CHECK(link(tp("m.pcnn"), tp("m.pcnn.tmpHard01")) == 0, "link");
    CHECK(mkdir(tp("m.pcnn.tmpDir001"), 0700) == 0, "mkdir");
    /* a write in progress holds its temporary file locked */
    write_file(tp("m.pcnn.tmpLive01"), "x", 1);
    int live = open(tp("m.pcnn.tmpLive01"), O_RDONLY);
    CHECK(live >= 0 && flock(live, LOCK_EX) == 0, "lock");

    int n = pcnn_output_clean_temps(tp("m.pcnn"));
    CHECK(n == 3, "removed %d, not 3: %s", n, n < 0 ? pcnn_errstr() : "");
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++) CHECK(!exists(tp(gone[i])), "%s is still there", gone[i]);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) CHECK(exists(tp(kept[i])), "%s was removed", kept[i]);
    CHECK(exists(tp("m.pcnn.tmpLink01")) && exists(tp("m.pcnn.tmpHard01")) && exists(tp("m.pcnn.tmpDir001")),
          "a link or a directory was removed");
    CHECK(exists(tp("m.pcnn.tmpLive01")), "a locked temporary file (a write in progress) was removed");
    CHECK(pcnn_output_clean_temps(tp("m.pcnn")) == 0, "a second clean removed something");
    close(live); /* the writer is gone: its file is a leftover now */
    CHECK(pcnn_output_clean_temps(tp("m.pcnn")) == 1 && !exists(tp("m.pcnn.tmpLive01")),
          "an unlocked leftover stays");
    CHECK(pcnn_output_clean_temps(tp("missing/m.pcnn")) == -1, "a missing directory");
    rmdir(tp("m.pcnn.tmpDir001"));
}

/* labels written as text read back the same; a failed write leaves nothing */
static void test_labels_write(void)
{
    const int want[4] = {3, 0, 9, 12};
    CHECK(pcnn_labels_write(tp("w.txt"), want, 4) == 0, "write labels: %s", pcnn_errstr());
    int *got = NULL;
    size_t n = 0;
    CHECK(pcnn_labels_load(&got, &n, tp("w.txt")) == 0, "read written labels: %s", pcnn_errstr());
    CHECK(n == 4 && got && !memcmp(got, want, sizeof want), "labels differ after a round trip (%zu)", n);
    free(got);
    CHECK(pcnn_labels_write(tp("no-such-dir/w.txt"), want, 4) == -1 && pcnn_errstr()[0],
          "labels written into a missing folder");
    CHECK(count_tmp_files() == 0, "temporary files left behind by labels");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_io.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_netpbm_roundtrip();
    test_netpbm_formats();
    test_netpbm_bad();
    test_png();
    test_png_kinds();
    test_quantize();
    test_idx();
    test_cifar();
    test_labels();
    test_named_labels();
    test_labels_write();
    test_npy();
    test_output_check();
    test_output_clean_temps();

    DIR *d = opendir(tmpdir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(tp(e->d_name));
    if (d)
        closedir(d);
    rmdir(tmpdir);
    return check_summary("test_io");
}

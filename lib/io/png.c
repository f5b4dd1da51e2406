/* png.c -- reading one PNG image (libpng) and writing image grids as PNG, with a
 * label at the left of each row if asked (text in libnetpbm's built-in font).
 *
 * libpng reports errors through on_error below, which keeps the message and
 * jumps back to the setjmp(png_jmpbuf()) of the reading or writing function;
 * warnings are dropped, so libpng never prints. Locals changed after setjmp
 * are volatile. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netpbm/pbmfont.h>
#include <png.h>

#include "io-impl.h"

#define GRID_MAX_SIDE 1000000 /* libpng's default read limit: keep grids readable */
#define GAP_VALUE 128
/* Ancillary chunks that nothing here uses: skipped unread, never allocated. libpng 1.6
 * allocates a text or profile chunk's whole stated length before reading it, and its size
 * check is only a warning, so an 80-byte file with a tEXt chunk that says 2 GB made it
 * allocate 2 GB (found by tests/fuzz/fuzz_png). */
static const png_byte skip_chunks[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0pCAL\0"
                                      "pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";

static _Thread_local char err_msg[256], warn_msg[128];

/* libpng rejects a too large IHDR with "Invalid IHDR data" after a warning that
 * says why; the warning is added to such errors. Other warnings are dropped. */
static void on_error(png_structp png, png_const_charp msg)
{
    if (!msg)
        msg = "libpng error";
    if (strstr(msg, "IHDR") && warn_msg[0])
        snprintf(err_msg, sizeof err_msg, "%s (%s)", msg, warn_msg);
    else
        snprintf(err_msg, sizeof err_msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    snprintf(warn_msg, sizeof warn_msg, "%s", msg ? msg : "");
}

static void read_bytes(png_structp png, png_bytep buf, size_t n)
{
    FILE *f = png_get_io_ptr(png);
    if (fread(buf, 1, n, f) != n)
        png_error(png, ferror(f) ? "read error" : "truncated PNG data");
}

int pcnn_png_read(FILE *f, const char *name, pcnn_image *out)
{
    png_structp png;
    png_infop info;
    uint8_t *volatile buf = NULL, *volatile data = NULL;
    png_bytep *volatile rows = NULL;

    err_msg[0] = warn_msg[0] = '\0';
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, on_error, on_warning);
    if (!png)
        return pcnn_seterr("%s: out of memory", name);
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return pcnn_seterr("%s: out of memory", name);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buf);
        free(rows);
        free(data);
        return pcnn_seterr("%s: %s", name, err_msg[0] ? err_msg : "PNG read error");
    }
    png_set_read_fn(png, f, read_bytes);
    png_set_sig_bytes(png, 8);
    png_set_user_limits(png, PCNN_MAX_SIDE, PCNN_MAX_SIDE);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skip_chunks, (int)(sizeof skip_chunks / 5));
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if (w < 1 || h < 1 || w > PCNN_MAX_SIDE || h > PCNN_MAX_SIDE)
        png_error(png, "image size is out of range");
    int maxval = 255;
    if (type == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_packing(png); /* one sample a byte, values kept: maxval 1, 3 or 15 */
        maxval = (1 << depth) - 1;
    }
    if (depth == 16)
        png_set_scale_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int c = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((c != 1 && c != 3) || png_get_bit_depth(png, info) != 8 || rowbytes != (size_t)w * c)
        png_error(png, "unsupported PNG pixel layout");
    if ((long long)w * h * c > (long long)PCNN_MAX_PIXELS)
        png_error(png, "image has too many samples");
    buf = malloc(rowbytes * h);
    rows = malloc(h * sizeof *rows);
    data = malloc((size_t)w * h * c);
    if (!buf || !rows || !data)
        png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        rows[y] = buf + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    size_t plane = (size_t)w * h;
    for (png_uint_32 y = 0; y < h; y++)
        for (png_uint_32 x = 0; x < w; x++)
            for (int k = 0; k < c; k++)
                data[k * plane + (size_t)y * w + x] = buf[y * rowbytes + (size_t)x * c + k];
    png_destroy_read_struct(&png, &info, NULL);
    free(buf);
    free(rows);
    out->c = c;
    out->h = (int)h;
    out->w = (int)w;
    out->maxval = maxval;
    out->data = data;
    return 0;
}

/* ---- writing grids ---------------------------------------------------------------- */

static uint8_t scale8(unsigned v, unsigned maxval)
{
    if (v >= maxval)
        return 255;
    return (uint8_t)((v * 255 + maxval / 2) / maxval);
}

/* ---- row labels: libnetpbm's built-in BDF font, drawn at its own size ----------------
 * A font's glyphs sit on a baseline: glyph g's bitmap (g->width x g->height, a byte per
 * pixel, 1 for ink) has g->y rows of the line below its bottom row above the baseline
 * and begins g->x pixels right of the pen, which then moves g->xadd. */
#define LABEL_PAD 3 /* white pixels left and right of the text */
#define TEXT_INK 0
#define TEXT_PAPER 255

static const struct font *label_font(void)
{
    return pbm_defaultfont("bdf"); /* static data: nothing allocated, nothing to fail */
}

/* the glyph of the next character of s (UTF-8; code points beyond Latin-1, bytes that are
 * not UTF-8 and characters the font lacks show as '?'); advances *s */
static const struct glyph *next_glyph(const struct font *f, const unsigned char **s)
{
    const unsigned char *p = *s;
    size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xE0) == 0xC0 ? 2 : (p[0] & 0xF0) == 0xE0 ? 3 : (p[0] & 0xF8) == 0xF0 ? 4 : 0;
    unsigned cp = '?';
    if (len && strnlen((const char *)p, len) == len && pcnn_utf8_check(p, len) == len)
        cp = len == 1 ? p[0] : len == 2 ? (p[0] & 0x1Fu) << 6 | (p[1] & 0x3Fu) : 0x100; /* 0x100: not in the font */
    else
        len = 1; /* not UTF-8: one byte, shown as '?' */
    *s = p + len;
    const struct glyph *g = cp < 256 ? f->glyph[cp] : NULL;
    return g ? g : f->glyph['?'];
}

/* the width of text in pixels, as text_draw draws it */
static int text_width(const struct font *f, const char *text)
{
    int pen = 0, right = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        const struct glyph *g = next_glyph(f, &s);
        if (!g) continue;
        int x0 = pen + g->x < 0 ? 0 : pen + g->x;
        if (x0 + (int)g->width > right) right = x0 + (int)g->width;
        pen += (int)g->xadd;
    }
    return right > pen ? right : pen;
}

/* draws text with ink into box (bw x bh, a byte per pixel) with its line's top at row top
 * and its pen starting at column left; what falls outside is clipped */
static void text_draw(uint8_t *box, int bw, int bh, const struct font *f, const char *text, int left, int top)
{
    const int ascent = (int)f->maxheight + f->y; /* rows from the line's top to the baseline */
    int pen = left;
    for (const unsigned char *s = (const unsigned char *)text; *s;) {
        const struct glyph *g = next_glyph(f, &s);
        if (!g) continue;
        int x0 = pen + g->x < left ? left : pen + g->x;
        int y0 = top + ascent - g->y - (int)g->height;
        for (int r = 0; r < (int)g->height; r++)
            for (int c = 0; c < (int)g->width; c++) {
                int x = x0 + c, y = y0 + r;
                if (g->bmap[r * (int)g->width + c] && x >= 0 && x < bw && y >= 0 && y < bh)
                    box[(size_t)y * bw + x] = TEXT_INK;
            }
        pen += (int)g->xadd;
    }
}

/* The layout of a grid: cols x rows cells of w x h images, 1-pixel gaps; every pixel of it
 * a scale x scale block; with labels a column lw wide at the left, and each grid row band
 * (>= h * scale) pixels high, its images at the top. */
typedef struct {
    int cols, rows, scale;
    int W;       /* the cells and gaps across, before scaling */
    int lw;      /* the label column, pixels (0: none) */
    int band;    /* pixels of a grid row, gaps between rows apart */
    int text_h;  /* pixels of a line of text */
} grid_layout;

/* Writes the grid to fp. The caller has checked every size. */
static int write_grid(FILE *fp, const char *path, const pcnn_image *imgs, int n, const grid_layout *L,
                      const char *const *labels)
{
    png_structp png;
    png_infop info;
    uint8_t *volatile row = NULL, *volatile big = NULL, *volatile box = NULL;
    int c = imgs[0].c, h = imgs[0].h, w = imgs[0].w;
    const int scale = L->scale, W = L->W, cols = L->cols;
    const size_t out_w = (size_t)L->lw + (size_t)W * scale;
    const int out_h = L->rows * L->band + (L->rows - 1) * scale;

    err_msg[0] = warn_msg[0] = '\0';
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, on_error, on_warning);
    if (!png)
        return pcnn_seterr("%s: out of memory", path);
    info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return pcnn_seterr("%s: out of memory", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        free(big);
        free(box);
        return pcnn_seterr("%s: %s", path, err_msg[0] ? err_msg : "PNG write error");
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)out_w, (png_uint_32)out_h, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    row = malloc((size_t)W * c);
    big = malloc(out_w * c);
    box = L->lw ? malloc((size_t)L->lw * L->band) : NULL;
    if (!row || !big || (L->lw && !box))
        png_error(png, "out of memory");
    size_t plane = (size_t)h * w;
    for (int gr = 0; gr < L->rows; gr++) {
        if (L->lw) { /* this row's label, centred on the band's height */
            memset(box, TEXT_PAPER, (size_t)L->lw * L->band);
            if (labels[gr])
                text_draw(box, L->lw, L->band, label_font(), labels[gr], LABEL_PAD, (L->band - L->text_h) / 2);
        }
        const int lines = L->band + (gr + 1 < L->rows ? scale : 0); /* the gap below, but the last */
        for (int y = 0; y < lines; y++) {
            int iy = y / scale; /* the image row, h or more for the gaps */
            if (y % scale == 0) { /* a new row before scaling */
                memset(row, GAP_VALUE, (size_t)W * c);
                for (int gc = 0; iy < h && gc < cols; gc++) {
                    int k = gr * cols + gc;
                    if (k >= n)
                        break;
                    const pcnn_image *im = &imgs[k];
                    uint8_t *dst = row + (size_t)gc * (w + 1) * c;
                    for (int x = 0; x < w; x++)
                        for (int ch = 0; ch < c; ch++)
                            dst[x * c + ch] = scale8(im->data[ch * plane + (size_t)iy * w + x], (unsigned)im->maxval);
                }
                uint8_t *grid = big + (size_t)L->lw * c;
                for (size_t x = 0; x < (size_t)W * scale; x++) /* nearest neighbour */
                    memcpy(grid + x * c, row + x / scale * c, (size_t)c);
            }
            for (int x = 0; x < L->lw; x++) /* the label column: the band's text, white below */
                memset(big + (size_t)x * c, y < L->band ? box[(size_t)y * L->lw + x] : TEXT_PAPER, (size_t)c);
            png_write_row(png, big);
        }
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    free(big);
    free(box);
    return 0;
}

static int check_grid(const char *path, const pcnn_image *imgs, int n, int ncol)
{
    if (!path || !imgs || n < 1 || ncol < 1)
        return pcnn_seterr("pcnn_png_write_grid: bad arguments (n=%d, ncol=%d)", n, ncol);
    for (int i = 0; i < n; i++) {
        const pcnn_image *im = &imgs[i];
        if (!im->data || (im->c != 1 && im->c != 3) || im->h < 1 || im->w < 1 ||
            im->h > PCNN_MAX_SIDE || im->w > PCNN_MAX_SIDE || im->maxval < 1 || im->maxval > 255)
            return pcnn_seterr("%s: image %d is invalid (c=%d h=%d w=%d maxval=%d)", path, i + 1,
                               im->c, im->h, im->w, im->maxval);
        if (im->c != imgs[0].c || im->h != imgs[0].h || im->w != imgs[0].w)
            return pcnn_seterr("%s: image %d is %dx%dx%d, image 1 is %dx%dx%d", path, i + 1,
                               im->c, im->h, im->w, imgs[0].c, imgs[0].h, imgs[0].w);
    }
    return 0;
}

int pcnn_png_write_grid_labels(const char *path, const pcnn_image *imgs, int n, int ncol, int scale,
                               const char *const *labels)
{
    if (check_grid(path, imgs, n, ncol) < 0)
        return -1;
    if (scale < 1 || scale > GRID_MAX_SIDE)
        return pcnn_seterr("%s: scale %d is not in 1..%d", path, scale, GRID_MAX_SIDE);
    grid_layout L = {.cols = ncol < n ? ncol : n, .scale = scale};
    L.rows = (n + L.cols - 1) / L.cols;
    long long W = (long long)L.cols * (imgs[0].w + 1) - 1, H = (long long)L.rows * (imgs[0].h + 1) - 1;
    long long lw = 0, band = (long long)imgs[0].h * scale;
    if (labels) {
        const struct font *f = label_font();
        long long widest = 0;
        for (int r = 0; r < L.rows; r++) {
            /* a long text is cut where it would make the grid too wide anyway */
            if (labels[r] && strnlen(labels[r], GRID_MAX_SIDE) == GRID_MAX_SIDE)
                return pcnn_seterr("%s: the label of row %d is too long", path, r + 1);
            int tw = labels[r] ? text_width(f, labels[r]) : 0;
            widest = tw > widest ? tw : widest;
        }
        L.text_h = (int)f->maxheight;
        lw = 2 * LABEL_PAD + widest;
        band = band > L.text_h ? band : L.text_h;
    }
    long long out_w = lw + W * scale, out_h = L.rows * band + (L.rows - 1) * (long long)scale;
    if (W * scale > GRID_MAX_SIDE || H * scale > GRID_MAX_SIDE || out_w > GRID_MAX_SIDE || out_h > GRID_MAX_SIDE)
        return pcnn_seterr("%s: a grid of %lldx%lld pixels is too large (limit %d per side)",
                           path, out_w, out_h, GRID_MAX_SIDE);
    L.W = (int)W, L.lw = (int)lw, L.band = (int)band;

    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) return -1;
    if (write_grid(out.f, path, imgs, n, &L, labels) < 0) {
        pcnn_atomic_abort(&out);
        return -1;
    }
    return pcnn_atomic_commit(&out);
}

int pcnn_png_write_grid(const char *path, const pcnn_image *imgs, int n, int ncol, int scale)
{
    return pcnn_png_write_grid_labels(path, imgs, n, ncol, scale, NULL);
}

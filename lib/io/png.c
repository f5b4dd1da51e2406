/* png.c -- reading one PNG image (libpng) and writing image grids as PNG.
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

/* Writes the grid to fp, each pixel (gaps too) as a scale x scale block; W and H are
 * the grid's size before scaling. The caller has checked every size. */
static int write_grid(FILE *fp, const char *path, const pcnn_image *imgs, int n, int cols, int W, int H,
                      int scale)
{
    png_structp png;
    png_infop info;
    uint8_t *volatile row = NULL, *volatile big = NULL;
    int c = imgs[0].c, h = imgs[0].h, w = imgs[0].w;

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
        return pcnn_seterr("%s: %s", path, err_msg[0] ? err_msg : "PNG write error");
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)W * scale, (png_uint_32)H * scale, 8,
                 c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    row = malloc((size_t)W * c);
    big = malloc((size_t)W * scale * c);
    if (!row || !big)
        png_error(png, "out of memory");
    size_t plane = (size_t)h * w;
    for (int gy = 0; gy < H; gy++) {
        int iy = gy % (h + 1), gr = gy / (h + 1);
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
        for (size_t x = 0; x < (size_t)W * scale; x++) /* nearest neighbour */
            memcpy(big + x * c, row + x / scale * c, (size_t)c);
        for (int r = 0; r < scale; r++)
            png_write_row(png, big);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    free(big);
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

int pcnn_png_write_grid(const char *path, const pcnn_image *imgs, int n, int ncol, int scale)
{
    if (check_grid(path, imgs, n, ncol) < 0)
        return -1;
    if (scale < 1 || scale > GRID_MAX_SIDE)
        return pcnn_seterr("%s: scale %d is not in 1..%d", path, scale, GRID_MAX_SIDE);
    int cols = ncol < n ? ncol : n, rows = (n + cols - 1) / cols;
    long long W = (long long)cols * (imgs[0].w + 1) - 1, H = (long long)rows * (imgs[0].h + 1) - 1;
    if (W * scale > GRID_MAX_SIDE || H * scale > GRID_MAX_SIDE)
        return pcnn_seterr("%s: a grid of %lldx%lld pixels is too large (limit %d per side)",
                           path, W * scale, H * scale, GRID_MAX_SIDE);

    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) return -1;
    if (write_grid(out.f, path, imgs, n, cols, (int)W, (int)H, scale) < 0) {
        pcnn_atomic_abort(&out);
        return -1;
    }
    return pcnn_atomic_commit(&out);
}

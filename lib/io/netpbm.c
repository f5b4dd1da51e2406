/* netpbm.c -- netpbm streams (P1..P7, several images one after another) read with
 * libnetpbm's pam API, and P5/P6 writing.
 *
 * libnetpbm reports errors with pm_error(), which prints and exits unless a
 * jump buffer is set (pm_setjmpbufsave) and a message function is installed
 * (pm_setusererrormsgfn). Both are done here so that libnetpbm never prints:
 * its message is caught in pm_msg and becomes our error. Everything allocated
 * while a jump is possible lives in the heap struct pcnn_netpbm, not in locals
 * of the function that calls setjmp, so nothing is lost or stale after a jump. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <errno.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netpbm/pam.h>

#include "io-impl.h"

struct pcnn_netpbm {
    FILE *f;
    const char *name;   /* borrowed from the reader */
    int count;          /* images read so far */
    struct pam pam;
    tuple *row;         /* scratch, freed on every exit */
    uint8_t *data;      /* the image being read; handed out on success */
    jmp_buf jb;
};

static _Thread_local char pm_msg[400];

static void pm_errfn(const char *msg)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.'))
        n--;
    if (n >= sizeof pm_msg)
        n = sizeof pm_msg - 1;
    memcpy(pm_msg, msg, n);
    pm_msg[n] = '\0';
}

static void pm_msgfn(const char *msg)
{
    (void)msg; /* informational messages are dropped: the library never prints */
}

static void pm_setup(void)
{
    static int inited;
    if (!inited) {
        pm_init("pcnn", 0);
        inited = 1;
    }
    pm_setusererrormsgfn(pm_errfn);
    pm_setusermessagefn(pm_msgfn);
}

pcnn_netpbm *pcnn_netpbm_open(FILE *f, const char *name)
{
    pcnn_netpbm *nr = calloc(1, sizeof *nr);
    if (!nr) {
        pcnn_seterr("%s: out of memory", name);
        return NULL;
    }
    nr->f = f;
    nr->name = name;
    return nr;
}

static void scratch_free(pcnn_netpbm *nr)
{
    if (nr->row)
        pnm_freepamrow(nr->row);
    nr->row = NULL;
    free(nr->data);
    nr->data = NULL;
}

void pcnn_netpbm_free(pcnn_netpbm *nr)
{
    if (!nr)
        return;
    scratch_free(nr);
    free(nr);
}

/* "name: " or "name: image 3: " for an error in a later image of a stream. */
static int nerr(const pcnn_netpbm *nr, const char *what)
{
    if (nr->count > 0)
        return pcnn_seterr("%s: image %d: %s", nr->name, nr->count + 1, what);
    return pcnn_seterr("%s: %s", nr->name, what);
}

/* For a raw image in a regular file: is the rest of the file long enough? */
static int check_length(pcnn_netpbm *nr, size_t need)
{
    struct stat st;
    if (fstat(fileno(nr->f), &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    off_t pos = ftello(nr->f);
    if (pos < 0 || pos > st.st_size)
        return 0;
    if ((unsigned long long)(st.st_size - pos) < need) {
        char msg[160];
        snprintf(msg, sizeof msg, "truncated image data (%dx%d needs %zu bytes, %lld left)",
                 nr->pam.width, nr->pam.height, need, (long long)(st.st_size - pos));
        return nerr(nr, msg);
    }
    return 0;
}

/* Checks the header just read; sets *c. */
static int check_header(pcnn_netpbm *nr, int *c)
{
    const struct pam *p = &nr->pam;
    char msg[200];
    if (p->maxval > 255) {
        snprintf(msg, sizeof msg, "16-bit samples (maxval %lu) are not supported; maxval must be 1..255",
                 (unsigned long)p->maxval);
        return nerr(nr, msg);
    }
    if (p->maxval < 1)
        return nerr(nr, "maxval 0 is invalid");
    if (p->width < 1 || p->height < 1 || p->width > PCNN_MAX_SIDE || p->height > PCNN_MAX_SIDE) {
        snprintf(msg, sizeof msg, "image size %dx%d is out of range (1..%d per side)",
                 p->width, p->height, PCNN_MAX_SIDE);
        return nerr(nr, msg);
    }
    if ((long long)p->width * p->height * p->depth > (long long)PCNN_MAX_PIXELS) {
        snprintf(msg, sizeof msg, "image of %dx%dx%u samples exceeds the limit of %ld",
                 p->width, p->height, p->depth, PCNN_MAX_PIXELS);
        return nerr(nr, msg);
    }
    if (p->depth == 1 || p->depth == 3) {
        *c = (int)p->depth;
    } else if ((p->depth == 2 || p->depth == 4) && p->visual && p->have_opacity &&
               p->opacity_plane == p->depth - 1) {
        *c = (int)p->depth - 1; /* GRAYSCALE_ALPHA, RGB_ALPHA: alpha is dropped */
    } else {
        snprintf(msg, sizeof msg, "depth %u%s%.60s%s is not supported; need 1 (gray) or 3 (RGB)", p->depth,
                 p->tuple_type[0] ? " (tuple type " : "", p->tuple_type, p->tuple_type[0] ? ")" : "");
        return nerr(nr, msg);
    }
    int raw = p->format == RPBM_FORMAT || p->format == RPGM_FORMAT || p->format == RPPM_FORMAT ||
              p->format == PAM_FORMAT;
    if (raw) {
        size_t rowbytes = p->format == RPBM_FORMAT ? ((size_t)p->width + 7) / 8
                        : (size_t)p->width * p->depth * p->bytes_per_sample;
        return check_length(nr, rowbytes * (size_t)p->height);
    }
    return 0;
}

/* The part of pcnn_netpbm_next that may jump back on a libnetpbm error. Kept out
 * of line so that its locals never become locals of the function that calls
 * setjmp; all it leaves behind is in *nr. */
__attribute__((noinline)) static int read_image(pcnn_netpbm *nr, pcnn_image *out)
{
    if (nr->count > 0) {
        int eof = 0;
        pnm_nextimage(nr->f, &eof);
        if (eof)
            return 0;
    }
    memset(&nr->pam, 0, sizeof nr->pam);
    nr->pam.comment_p = NULL;
    /* PAM_STRUCT_SIZE(opacity_plane), without the null-pointer offsetof */
    pnm_readpaminit(nr->f, &nr->pam, (int)(offsetof(struct pam, opacity_plane) + sizeof nr->pam.opacity_plane));
    int c = 0;
    if (check_header(nr, &c) < 0)
        return -1;
    int w = nr->pam.width, h = nr->pam.height;
    size_t plane = (size_t)w * h;
    nr->data = malloc(plane * c);
    if (!nr->data)
        return nerr(nr, "out of memory");
    nr->row = pnm_allocpamrow(&nr->pam);
    sample maxval = nr->pam.maxval;
    for (int y = 0; y < h; y++) {
        pnm_readpamrow(&nr->pam, nr->row);
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                sample v = nr->row[x][k];
                if (v > maxval) {
                    char msg[120];
                    snprintf(msg, sizeof msg, "sample value %lu exceeds maxval %lu at row %d",
                             (unsigned long)v, (unsigned long)maxval, y);
                    return nerr(nr, msg);
                }
                nr->data[k * plane + (size_t)y * w + x] = (uint8_t)v;
            }
    }
    pnm_freepamrow(nr->row);
    nr->row = NULL;
    /* PBM: libnetpbm gives 0 = black, 1 = white, which is already the PGM sense. */
    out->c = c;
    out->h = h;
    out->w = w;
    out->maxval = (int)maxval;
    out->data = nr->data;
    nr->data = NULL;
    nr->count++;
    return 1;
}

int pcnn_netpbm_next(pcnn_netpbm *nr, pcnn_image *out)
{
    jmp_buf *old = NULL;
    pm_setup();
    pm_msg[0] = '\0';
    pm_setjmpbufsave(&nr->jb, &old);
    if (setjmp(nr->jb) != 0) {
        pm_setjmpbuf(old);
        scratch_free(nr);
        const char *msg = pm_msg[0] ? pm_msg : "netpbm read error";
        if (feof(nr->f)) { /* libnetpbm ran out of data: say so plainly */
            char buf[sizeof pm_msg + 32];
            snprintf(buf, sizeof buf, "truncated image data (%s)", msg);
            return nerr(nr, buf);
        }
        return nerr(nr, msg);
    }
    int rc = read_image(nr, out);
    pm_setjmpbuf(old);
    if (rc < 0)
        scratch_free(nr);
    return rc;
}

/* ---- writing ----------------------------------------------------------------------- */

int pcnn_netpbm_write(FILE *f, const pcnn_image *img)
{
    if (!f || !img || !img->data)
        return pcnn_seterr("pcnn_netpbm_write: NULL argument");
    if ((img->c != 1 && img->c != 3) || img->h < 1 || img->w < 1 || img->h > PCNN_MAX_SIDE ||
        img->w > PCNN_MAX_SIDE || img->maxval < 1 || img->maxval > 255)
        return pcnn_seterr("writing netpbm image: bad image (c=%d h=%d w=%d maxval=%d)",
                           img->c, img->h, img->w, img->maxval);
    size_t plane = (size_t)img->h * img->w;
    /* a sample above maxval would make a file no netpbm reader takes: the caller's bug */
    for (size_t i = 0; i < plane * img->c; i++)
        if (img->data[i] > img->maxval)
            return pcnn_seterr("writing netpbm image: sample %d above maxval %d", img->data[i], img->maxval);
    if (fprintf(f, "P%c\n%d %d\n%d\n", img->c == 1 ? '5' : '6', img->w, img->h, img->maxval) < 0)
        return pcnn_seterr("writing netpbm image: %s", strerror(errno));
    if (img->c == 1) {
        if (fwrite(img->data, 1, plane, f) != plane)
            return pcnn_seterr("writing netpbm image: %s", strerror(errno));
        return 0;
    }
    uint8_t *row = malloc((size_t)img->w * 3);
    if (!row)
        return pcnn_seterr("writing netpbm image: out of memory");
    for (int y = 0; y < img->h; y++) {
        for (int x = 0; x < img->w; x++)
            for (int k = 0; k < 3; k++)
                row[x * 3 + k] = img->data[k * plane + (size_t)y * img->w + x];
        if (fwrite(row, 1, (size_t)img->w * 3, f) != (size_t)img->w * 3) {
            free(row);
            return pcnn_seterr("writing netpbm image: %s", strerror(errno));
        }
    }
    free(row);
    return 0;
}

int pcnn_netpbm_write_file(const char *path, const pcnn_image *imgs, int n)
{
    pcnn_atomic out;
    if (pcnn_atomic_open(&out, path)) return -1;
    for (int i = 0; i < n; i++)
        if (pcnn_netpbm_write(out.f, &imgs[i])) {
            char why[256];
            snprintf(why, sizeof why, "%s", pcnn_errstr());
            pcnn_atomic_abort(&out);
            return pcnn_seterr("%s: %s", path, why);
        }
    return pcnn_atomic_commit(&out);
}

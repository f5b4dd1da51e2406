/* test_fuzz_regress.c -- every input that made a fuzz harness fail (tests/fuzz/crashes/
 * READER/, see tests/fuzz/README) read again through its reader: each must end cleanly,
 * with a status and, on failure, a reason; the known ones must be refused. Run from the
 * repository root. */
#if !defined(_GNU_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700
#endif
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pcnn.h"

static pcnn_backend *cpu; /* the device of every model here, opened in main */

#define CRASHES "tests/fuzz/crashes"

/* libnetpbm leaks the comment buffer of a PAM header it rejects (a jump out of
 * pnm_readpaminit); not ours, so a SAN=1 run does not count it. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libnetpbm.so\n";
}

static char tmpdir[64];

/* A copy of src named with the suffix its reader needs (CIFAR-10: ".bin"). */
static const char *copy_as(const char *src, const char *suffix)
{
    static char dst[256];
    snprintf(dst, sizeof dst, "%s/input%s", tmpdir, suffix);
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    char buf[4096];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, out);
    if (!in || !out || fclose(out) != 0) {
        fprintf(stderr, "cannot copy %s to %s\n", src, dst);
        exit(2);
    }
    fclose(in);
    return dst;
}

/* Reads path to its end with the reader of `reader`; 0 (read) or -1 (refused). */
static int read_with(const char *reader, const char *path)
{
    if (!strcmp(reader, "netpbm") || !strcmp(reader, "png") || !strcmp(reader, "idx") ||
        !strcmp(reader, "cifar")) {
        if (!strcmp(reader, "cifar"))
            path = copy_as(path, ".bin");
        pcnn_imgreader *r = pcnn_imgreader_open(path);
        if (!r)
            return -1;
        pcnn_image img;
        int rc;
        while ((rc = pcnn_imgreader_next(r, &img)) == 1)
            pcnn_image_free(&img);
        pcnn_imgreader_free(r);
        if (rc == 0 && !strcmp(reader, "cifar")) { /* the same records as labels */
            int *l = NULL;
            size_t n;
            rc = pcnn_labels_load(&l, &n, path);
            free(l);
        }
        return rc;
    }
    if (!strcmp(reader, "labels")) {
        int *l = NULL;
        size_t n;
        int rc = pcnn_labels_load(&l, &n, copy_as(path, ".labels"));
        free(l);
        return rc;
    }
    if (!strcmp(reader, "npy")) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return -1;
        float *v;
        size_t n;
        int rc;
        while ((rc = pcnn_npy_read(f, &v, &n)) == 1)
            free(v);
        fclose(f);
        return rc;
    }
    if (!strcmp(reader, "coded")) {
        FILE *f = fopen(path, "rb");
        if (!f)
            return -1;
        pcnn_coded_header h;
        int rc;
        while ((rc = pcnn_coded_read_header(f, path, &h)) == 1)
            for (uint32_t done = 0; rc == 1 && done < h.n; done += (uint32_t)h.batch) {
                pcnn_coded_batch b;
                int n = (int)(h.n - done < (uint32_t)h.batch ? h.n - done : (uint32_t)h.batch);
                if (pcnn_coded_read_batch(f, path, &h, n, &b)) rc = -1;
                pcnn_coded_batch_free(&b);
            }
        fclose(f);
        return rc;
    }
    if (!strcmp(reader, "model")) {
        pcnn_model *m = pcnn_model_load(cpu, path);
        pcnn_model_free(m);
        return m ? 0 : -1;
    }
    fprintf(stderr, "unknown reader %s\n", reader);
    exit(2);
}

/* Every committed input of every reader: a clean end. */
static void sweep(void)
{
    static const char *readers[] = {"netpbm", "png", "idx", "cifar", "labels", "npy", "coded", "model"};
    int files = 0;
    for (size_t k = 0; k < sizeof readers / sizeof *readers; k++) {
        char dir[128];
        snprintf(dir, sizeof dir, CRASHES "/%s", readers[k]);
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            int rc = read_with(readers[k], path);
            CHECK(rc == 0 || (rc == -1 && strcmp(pcnn_errstr(), "no error") != 0),
                  "%s: status %d (%s)", path, rc, pcnn_errstr());
            files++;
        }
        closedir(d);
    }
    CHECK(files >= 4, "only %d inputs under " CRASHES, files);
}

/* Each finding, refused with its reason. */
static void expect_refused(const char *reader, const char *name, const char *why)
{
    char path[512];
    snprintf(path, sizeof path, CRASHES "/%s/%s", reader, name);
    if (access(path, R_OK) != 0) {
        CHECK(0, "%s is missing", path);
        return;
    }
    int rc = read_with(reader, path);
    CHECK(rc == -1 && strstr(pcnn_errstr(), why), "%s: status %d, '%s' (expected an error with '%s')",
          path, rc, pcnn_errstr(), why);
}

int main(void)
{
    cpu = pcnn_backend_open("cpu");
    if (!cpu) {
        fprintf(stderr, "%s\n", pcnn_errstr());
        return 1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/pcnn-fuzz-regress.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    sweep();
    /* fuzz_png: a tEXt chunk that says it holds 2 GB in a 42-byte file made libpng
     * allocate 2 GB before finding the file truncated; such chunks are now skipped unread */
    expect_refused("png", "oom-text-chunk-2gb.png", "truncated PNG data");
    expect_refused("png", "oom-fc2ab7d54db76840ad88471b2903a46a776e3130", "truncated PNG data");
    /* fuzz_netpbm: a bad PAM header line; libnetpbm leaks its comment buffer (suppressed) */
    expect_refused("netpbm", "leak-pam-bad-header.pam", "leak-pam-bad-header.pam: ");
    expect_refused("netpbm", "leak-cfcf47d8ffd43954e312e4db3883abeda81cb1e7", "WIDTH");

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    pcnn_backend_close(cpu);
    return check_summary("test_fuzz_regress");
}

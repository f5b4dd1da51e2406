/* atomic.c -- writing a file so that a reader sees either the old file or the whole new
 * one, never a part: a temporary file beside the target, fsync, rename. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-impl.h"

int pcnn_output_check(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return pcnn_seterr("%s: exists and is not a regular file", path);
    char *copy = strdup(path);
    if (!copy) return pcnn_seterr("%s: out of memory", path);
    const char *dir = dirname(copy);
    int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    int e = errno;
    if (ok && access(dir, W_OK) != 0) {
        pcnn_seterr("%s: cannot write in directory %s: %s", path, dir, strerror(errno));
        free(copy);
        return -1;
    }
    free(copy);
    if (!ok) return pcnn_seterr("%s: no such directory: %s", path, strerror(e ? e : ENOENT));
    return 0;
}

int pcnn_atomic_open(pcnn_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    if (pcnn_output_check(path)) return -1;
    size_t len = strlen(path);
    a->tmp = malloc(len + sizeof ".tmpXXXXXX");
    if (!a->tmp) return pcnn_seterr("%s: out of memory", path);
    memcpy(a->tmp, path, len);
    memcpy(a->tmp + len, ".tmpXXXXXX", sizeof ".tmpXXXXXX");
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        pcnn_seterr("%s: cannot create a temporary file: %s", path, strerror(errno));
        free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    mode_t mask = umask(0); /* mkstemp makes the file 0600; give it the usual mode */
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(a->f = fdopen(fd, "wb"))) {
        pcnn_seterr("%s: %s", a->tmp, strerror(errno));
        close(fd);
        unlink(a->tmp);
        free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    return 0;
}

void pcnn_atomic_abort(pcnn_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    free(a->tmp);
    a->f = NULL;
    a->tmp = NULL;
}

int pcnn_atomic_commit(pcnn_atomic *a)
{
    int rc = 0;
    if (fflush(a->f) != 0 || ferror(a->f) || fsync(fileno(a->f)) != 0)
        rc = pcnn_seterr("%s: writing: %s", a->path, strerror(errno ? errno : EIO));
    if (fclose(a->f) != 0 && rc == 0) rc = pcnn_seterr("%s: writing: %s", a->path, strerror(errno));
    a->f = NULL;
    if (rc == 0 && rename(a->tmp, a->path) != 0)
        rc = pcnn_seterr("%s: renaming %s: %s", a->path, a->tmp, strerror(errno));
    if (rc) unlink(a->tmp);
    free(a->tmp);
    a->tmp = NULL;
    return rc;
}

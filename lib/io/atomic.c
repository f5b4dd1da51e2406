/* atomic.c -- writing a file so that a reader sees either the old file or the whole new
 * one, never a part: a temporary file beside the target, fsync, rename. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-impl.h"

/* what mkstemp adds to the target's name: ".tmp" and six characters of [A-Za-z0-9] */
#define TMP_SUFFIX ".tmpXXXXXX"

int pcnn_output_check(const char *path)
{
    struct stat st;
    size_t len = strlen(path);
    if (len == 0) return pcnn_seterr("the output file name is empty");
    if (path[len - 1] == '/') return pcnn_seterr("%s: names a directory (ends in '/'), not a file", path);
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return pcnn_seterr("%s: exists and is not a regular file", path);
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (len + sizeof TMP_SUFFIX > PATH_MAX)
        return pcnn_seterr("%.40s...: the path is too long (%zu bytes; at most %zu, to leave room for %s)", path,
                           len, (size_t)PATH_MAX - sizeof TMP_SUFFIX, TMP_SUFFIX);
    char *copy = strdup(path);
    if (!copy) return pcnn_seterr("%s: out of memory", path);
    const char *dir = dirname(copy);
    errno = 0;
    int ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    int e = errno ? errno : ENOTDIR;
    if (ok && access(dir, W_OK) != 0) {
        pcnn_seterr("%s: cannot write in directory %s: %s", path, dir, strerror(errno));
        free(copy);
        return -1;
    }
    /* the temporary file's name is the longest this file system must take */
    long name_max = ok ? pathconf(dir, _PC_NAME_MAX) : -1;
    if (name_max <= 0) name_max = NAME_MAX;
    free(copy);
    if (!ok) return pcnn_seterr("%s: no such directory: %s", path, strerror(e));
    if (strlen(base) + sizeof TMP_SUFFIX - 1 > (size_t)name_max)
        return pcnn_seterr("%s: the file name is too long (%zu bytes; at most %ld, to leave room for %s)", path,
                           strlen(base), name_max - (long)(sizeof TMP_SUFFIX - 1), TMP_SUFFIX);
    return 0;
}

/* name is base + ".tmp" + six characters of mkstemp's alphabet */
static int is_tmp_of(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp", 4) != 0) return 0;
    const char *x = name + blen + 4;
    for (int i = 0; i < 6; i++)
        if (!((x[i] >= 'a' && x[i] <= 'z') || (x[i] >= 'A' && x[i] <= 'Z') || (x[i] >= '0' && x[i] <= '9')))
            return 0;
    return x[6] == 0;
}

int pcnn_output_clean_temps(const char *path)
{
    char *copy = strdup(path), *copy2 = strdup(path);
    if (!copy || !copy2) {
        free(copy), free(copy2);
        return pcnn_seterr("%s: out of memory", path);
    }
    const char *dir = dirname(copy), *base = basename(copy2);
    size_t blen = strlen(base);
    DIR *d = opendir(dir);
    if (!d) {
        pcnn_seterr("%s: cannot read directory %s: %s", path, dir, strerror(errno));
        free(copy), free(copy2);
        return -1;
    }
    int removed = 0;
    uid_t me = geteuid();
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        /* only what an interrupted pcnn_atomic_open left: a regular file of ours, not a
         * link of either kind, and not locked by a write in progress (see below) */
        if (!is_tmp_of(e->d_name, base, blen) || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != me || st.st_nlink != 1)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == me && st.st_nlink == 1 &&
            flock(fd, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
        close(fd);
    }
    closedir(d);
    free(copy), free(copy2);
    return removed;
}

/* The temporary names of the writes in progress, for pcnn_output_abandon. A program
 * writes one or two files at a time; a write beyond the slots is still atomic, only not
 * removed at a signal (the next run's pcnn_output_clean_temps takes it). */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pending[8];

static void pending_set(char *from, char *to)
{
    pthread_mutex_lock(&pending_lock);
    for (size_t i = 0; i < sizeof pending / sizeof *pending; i++)
        if (pending[i] == from) {
            pending[i] = to;
            break;
        }
    pthread_mutex_unlock(&pending_lock);
}

void pcnn_output_abandon(void)
{
    pthread_mutex_lock(&pending_lock);
    for (size_t i = 0; i < sizeof pending / sizeof *pending; i++)
        if (pending[i]) unlink(pending[i]);
    pthread_mutex_unlock(&pending_lock);
}

int pcnn_atomic_open(pcnn_atomic *a, const char *path)
{
    memset(a, 0, sizeof *a);
    a->path = path;
    if (pcnn_output_check(path)) return -1;
    size_t len = strlen(path);
    a->tmp = malloc(len + sizeof TMP_SUFFIX);
    if (!a->tmp) return pcnn_seterr("%s: out of memory", path);
    memcpy(a->tmp, path, len);
    memcpy(a->tmp + len, TMP_SUFFIX, sizeof TMP_SUFFIX);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        pcnn_seterr("%s: cannot create a temporary file: %s", path, strerror(errno));
        free(a->tmp);
        a->tmp = NULL;
        return -1;
    }
    /* held until the file is closed: pcnn_output_clean_temps leaves a locked file alone,
     * so that it removes only what a killed writer left, never a write in progress */
    flock(fd, LOCK_EX | LOCK_NB);
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
    pending_set(NULL, a->tmp);
    return 0;
}

void pcnn_atomic_abort(pcnn_atomic *a)
{
    if (a->f) fclose(a->f);
    if (a->tmp) unlink(a->tmp);
    if (a->tmp) pending_set(a->tmp, NULL);
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
    pending_set(a->tmp, NULL);
    free(a->tmp);
    a->tmp = NULL;
    return rc;
}

/* device.c -- backend instances: opened by name and closed (their sticky status is
 * status.c). The one place outside kernels/ that knows a CUDA backend may exist:
 * libpcnn-cuda.so, opened with dlopen only when a program asks for the GPU, or asks for
 * "auto" on a machine that has one (backend.h). */
#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "pcnn-impl.h"

/* where make install puts libpcnn-cuda.so (the Makefile passes $(PREFIX)/lib/pcnn) */
#ifndef PCNN_LIBDIR
#define PCNN_LIBDIR "/usr/local/lib/pcnn"
#endif
#define CUDA_LIB "libpcnn-cuda.so"

/* buf = dir/name when it fits and the file exists */
static int found(char *buf, size_t n, const char *dir, const char *name)
{
    int k = snprintf(buf, n, "%s/%s", dir, name);
    return k > 0 && (size_t)k < n && access(buf, F_OK) == 0;
}

int pcnn_cuda_lib_path(char *buf, size_t n, const char *env, const char *exe, const char *libdir)
{
    if (env && *env) {
        int k = snprintf(buf, n, "%s", env);
        if (k > 0 && (size_t)k < n) return 0;
        snprintf(buf, n, "PCNN_CUDA_LIB: the path is too long");
        return -1;
    }
    char dir[PATH_MAX] = "";
    const char *slash = exe ? strrchr(exe, '/') : NULL;
    if (slash && slash - exe < (ptrdiff_t)sizeof dir) {
        memcpy(dir, exe, (size_t)(slash - exe));
        dir[slash - exe] = 0;
    }
    if (*dir && (found(buf, n, dir, CUDA_LIB) || found(buf, n, dir, "../lib/pcnn/" CUDA_LIB))) return 0;
    if (found(buf, n, libdir, CUDA_LIB)) return 0;
    if (*dir) snprintf(buf, n, "no " CUDA_LIB " in %s or %s", dir, libdir);
    else snprintf(buf, n, "no " CUDA_LIB " in %s", libdir);
    return -1;
}

/* be->about, cut to its size (a path in it may be long) */
__attribute__((format(printf, 2, 3))) static void about(pcnn_backend *be, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->about, sizeof be->about, fmt, ap);
    va_end(ap);
}

#ifdef PCNN_CUDA
/* Is there a GPU? Asked of the driver (libcuda.so.1, a few MB) and not through the CUDA
 * runtime, so that a machine without one does not load the backend's 1 GB of libraries
 * to find out. 0 with be->about saying why not. Nothing is closed: the driver, once
 * initialized, stays for the CUDA runtime to use. */
static int gpu_present(pcnn_backend *be)
{
    void *drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!drv) {
        about(be, "no CUDA driver");
        return 0;
    }
    int (*init)(unsigned) = (int (*)(unsigned))dlsym(drv, "cuInit");
    int (*count)(int *) = (int (*)(int *))dlsym(drv, "cuDeviceGetCount");
    int (*errstr)(int, const char **) = (int (*)(int, const char **))dlsym(drv, "cuGetErrorString");
    if (!init || !count) {
        about(be, "libcuda.so.1 is not a CUDA driver");
        return 0;
    }
    int n = 0, rc = init(0);
    if (rc == 0) rc = count(&n);
    const char *why = NULL;
    if (rc == 100 || (rc == 0 && n < 1)) { /* CUDA_ERROR_NO_DEVICE */
        about(be, "no CUDA device");
        return 0;
    }
    if (rc) {
        if (!errstr || errstr(rc, &why) || !why) why = "unknown error";
        about(be, "CUDA driver: %s", why);
        return 0;
    }
    return 1;
}
#endif

/* 0 with be open on the GPU, 1 when there is none to use (be->about says why), -1 with
 * be failed. "auto" (lazy) asks the driver first and loads the library only when there
 * is a GPU; "cuda" loads it first, so that a missing or broken library is reported
 * also where there is no GPU. */
static int cuda_init(pcnn_backend *be, int lazy)
{
#ifndef PCNN_CUDA
    (void)lazy;
    about(be, "this build has no CUDA backend");
    return 1;
#else
    if (lazy && !gpu_present(be)) return 1;
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[k > 0 ? k : 0] = 0;
    if (pcnn_cuda_lib_path(path, sizeof path, getenv("PCNN_CUDA_LIB"), exe, PCNN_LIBDIR)) {
        about(be, "%s", path);
        return 1;
    }
    /* Never closed: the table of an open instance is in it, and the CUDA runtime it
     * loads cannot be unloaded safely once it has run. */
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char *e = dlerror();
        about(be, "%s", e ? e : path);
        return 1;
    }
    pcnn_backend_cuda_init_fn *init = (pcnn_backend_cuda_init_fn *)dlsym(lib, "pcnn_backend_cuda_init");
    if (!init) {
        about(be, "%s: not pcnn's CUDA backend", path);
        return 1;
    }
    if (!lazy && !gpu_present(be)) return 1;
    int rc = init(be, PCNN_BACKEND_ABI);
    if (rc == 2) about(be, "%s: built from other pcnn sources", path);
    return rc == 2 ? 1 : rc;
#endif
}

pcnn_backend *pcnn_backend_open(const char *name)
{
    int cpu = !strcmp(name, "cpu");
    if (!cpu && strcmp(name, "cuda") && strcmp(name, "auto")) {
        pcnn_seterr("unknown device '%s' (cpu, cuda or auto)", name);
        return NULL;
    }
    pcnn_backend *be = calloc(1, sizeof *be);
    if (!be) {
        pcnn_seterr("out of memory");
        return NULL;
    }
    int rc = cpu ? 1 : cuda_init(be, !strcmp(name, "auto"));
    if (rc == 1) rc = pcnn_backend_cpu_init(be);
    if (rc) {
        pcnn_seterr("%s", be->err);
        free(be);
        return NULL;
    }
    return be;
}

const char *pcnn_backend_name(const pcnn_backend *be) { return be->op->name; }

const char *pcnn_backend_describe(const pcnn_backend *be) { return be->about; }

void pcnn_backend_close(pcnn_backend *be)
{
    if (!be) return;
    be->op->close(be);
    free(be);
}

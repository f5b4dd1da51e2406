/* device.c -- backend instances: opened by name, closed, and their sticky status (see
 * backend.h). The one place outside kernels/ that knows a CUDA backend may exist. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "pcnn-impl.h"

/* 0 with be open on the GPU, 1 when there is none to use */
static int cuda_init(pcnn_backend *be)
{
#ifdef PCNN_CUDA
    return pcnn_backend_cuda_init(be);
#else
    (void)be;
    return 1;
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
    int rc = cpu ? 1 : cuda_init(be);
    if (rc == 1) rc = pcnn_backend_cpu_init(be);
    if (rc) {
        pcnn_seterr("%s", be->err);
        free(be);
        return NULL;
    }
    return be;
}

const char *pcnn_backend_name(const pcnn_backend *be) { return be->op->name; }

void pcnn_backend_close(pcnn_backend *be)
{
    if (!be) return;
    be->op->close(be);
    free(be);
}

void pcnn_backend_fail(pcnn_backend *be, const char *fmt, ...)
{
    if (be->failed) return; /* the first failure is the cause; later ones follow from it */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err, sizeof be->err, fmt, ap);
    va_end(ap);
    be->failed = 1;
}

int pcnn_backend_nomem(pcnn_backend *be, size_t bytes, const char *what, ...)
{
    if (be->failed) return pcnn_seterr("%s", be->err);
    char buf[128];
    va_list ap;
    va_start(ap, what);
    vsnprintf(buf, sizeof buf, what, ap);
    va_end(ap);
    return pcnn_seterr("out of memory on %s for %s (needed %zu MiB)", be->op->name, buf,
                       (bytes + (1 << 20) - 1) >> 20);
}

int pcnn_backend_check(pcnn_backend *be)
{
    if (!be->failed) be->op->synchronize(be);
    return be->failed ? pcnn_seterr("%s", be->err) : 0;
}

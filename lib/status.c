/* status.c -- a backend instance's sticky status (see backend.h): the first failure of a
 * call on the device is kept, and the library reports it at the next graph boundary.
 * Beside the floors, like errors.c: every op of every backend may record a failure. */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"
#include "pcnn-impl.h"

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

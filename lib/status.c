/* status.c -- a backend instance's sticky status (see backend.h): the first failure of a
 * call on the device is kept (fail.c), and the library reports it at the next graph
 * boundary. Beside the floors, like errors.c: any floor may check an instance. */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"
#include "pcnn-impl.h"

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

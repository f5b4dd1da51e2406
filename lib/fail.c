/* fail.c -- recording a failure in a backend instance's sticky status (see backend.h;
 * status.c reports it). Every op of every backend may record one, so this file is built
 * into libpcnn-cuda.so as well as libpcnn.a: it needs only the C library. */
#include <stdarg.h>
#include <stdio.h>

#include "backend.h"

void pcnn_backend_fail(pcnn_backend *be, const char *fmt, ...)
{
    if (be->failed) return; /* the first failure is the cause; later ones follow from it */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(be->err, sizeof be->err, fmt, ap);
    va_end(ap);
    be->failed = 1;
}

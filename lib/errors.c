/* errors.c -- the library's one error slot: set by a failing call, read by pcnn_errstr(). */
#include <stdarg.h>
#include <stdio.h>

#include "pcnn.h"

static _Thread_local char errbuf[512];

const char *pcnn_errstr(void) { return errbuf[0] ? errbuf : "no error"; }

int pcnn_seterr(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

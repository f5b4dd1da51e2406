/* check.h -- the tiny assertion header of pcnn's C tests.
 * Each test program counts checks; main() ends with `return check_summary("name");`
 * which prints "name: N passed, N failed" and returns non-zero on any failure. */
#ifndef PCNN_CHECK_H
#define PCNN_CHECK_H
#include <stdio.h>
#include <math.h>

static int check_passed, check_failed;

#define CHECK(cond, ...) do { \
    if (cond) { check_passed++; } \
    else { check_failed++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
           fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* Relative closeness |a-b| <= tol * max(1, |a|, |b|), NaN always fails. */
#define CHECK_CLOSE(a, b, tol, ...) do { double a_ = (a), b_ = (b); \
    double s_ = fmax(1.0, fmax(fabs(a_), fabs(b_))); \
    CHECK(!isnan(a_) && !isnan(b_) && fabs(a_ - b_) <= (tol) * s_, __VA_ARGS__); } while (0)

#define SKIP(...) do { fprintf(stderr, "SKIP: "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } while (0)

static inline int check_summary(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}
#endif

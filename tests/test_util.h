/* test_util.h - small helpers shared by the Criterion tests. */
#ifndef BRUNO_TEST_UTIL_H
#define BRUNO_TEST_UTIL_H
#include <math.h>
/* Relative difference, safe at 0. */
static inline double rel_diff(double a, double b)
{
    double d = fabs(a - b), m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return m > 0 ? d / m : 0.0;
}
#endif

#ifndef CVECTORMATH_H
#define CVECTORMATH_H

#include "gelu.h"
#include "maxpool.h"

/// Elementwise `y[i] = erff(x[i])` for `i < n`, on glibc's vector math
/// library (libmvec: its AVX-512, AVX2 or SSE variant, the widest the CPU
/// runs, 16, 8 or 4 lanes per call) on x86-64, the scalar libm function
/// elsewhere and for the tail. `x` and `y` may be the same array.
void cvm_erff(const float *x, float *y, long n);

/// Elementwise `y[i] = expf(x[i])`, as `cvm_erff`.
void cvm_expf(const float *x, float *y, long n);

#endif

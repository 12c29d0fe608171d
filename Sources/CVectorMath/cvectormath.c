#include "cvectormath.h"
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>

/* libmvec's SSE entry points (x86-64 vector function ABI, 4 lanes). */
extern __m128 _ZGVbN4v_erff(__m128 x);
extern __m128 _ZGVbN4v_expf(__m128 x);

#define VECTOR_LOOP(vector, scalar)                                      \
    long i = 0;                                                          \
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, vector(_mm_loadu_ps(x + i))); \
    for (; i < n; i++) y[i] = scalar(x[i]);
#else
#define VECTOR_LOOP(vector, scalar) for (long i = 0; i < n; i++) y[i] = scalar(x[i]);
#endif

void cvm_erff(const float *x, float *y, long n) { VECTOR_LOOP(_ZGVbN4v_erff, erff) }

void cvm_expf(const float *x, float *y, long n) { VECTOR_LOOP(_ZGVbN4v_expf, expf) }

#include "cvectormath.h"
#include "lanes.h"
#include <math.h>

#if defined(__x86_64__)
#include "libmvec.h"

int cvm_vector_width(void) {
    static int width = 0;
    if (width == 0) {
        __builtin_cpu_init();
        width = __builtin_cpu_supports("avx512f") ? 16
              : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 8 : 4;
    }
    return width;
}

/* y[i] = f(x[i]) for i < n: `wide` over the leading multiple of its lanes
   (`lanes`), then the SSE variant, then the scalar function for the tail. */
#define DEFINE_MAP(name, sse, avx2, avx512, scalar)                                   \
    __attribute__((target("avx512f"))) static long name##_16(const float *x, float *y, long n) { \
        long i = 0;                                                                  \
        for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, avx512(_mm512_loadu_ps(x + i))); \
        return i;                                                                    \
    }                                                                                \
    __attribute__((target("avx2,fma"))) static long name##_8(const float *x, float *y, long n) { \
        long i = 0;                                                                  \
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, avx2(_mm256_loadu_ps(x + i))); \
        return i;                                                                    \
    }                                                                                \
    void name(const float *x, float *y, long n) {                                    \
        int width = cvm_vector_width();                                                  \
        long i = width == 16 ? name##_16(x, y, n) : (width == 8 ? name##_8(x, y, n) : 0); \
        for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, sse(_mm_loadu_ps(x + i)));   \
        for (; i < n; i++) y[i] = scalar(x[i]);                                      \
    }

DEFINE_MAP(cvm_erff, _ZGVbN4v_erff, _ZGVdN8v_erff, _ZGVeN16v_erff, erff)
DEFINE_MAP(cvm_expf, _ZGVbN4v_expf, _ZGVdN8v_expf, _ZGVeN16v_expf, expf)
#else
int cvm_vector_width(void) { return 4; }

void cvm_erff(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = erff(x[i]); }

void cvm_expf(const float *x, float *y, long n) { for (long i = 0; i < n; i++) y[i] = expf(x[i]); }
#endif

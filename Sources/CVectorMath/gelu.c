#include "gelu.h"
#include "lanes.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include "libmvec.h"
#endif

/* One kernel, written once over a vector of `width` floats (GCC/Clang
   vector extensions) and compiled per width: `erf` and `exp` are libmvec's
   variants of that width, and everything between them stays in registers
   (no stored CDF or density). The tail of fewer than `width` values is run
   as one vector over a zero-padded copy. `function` is a constant in each
   of `name`'s four calls of the loop, so each loop is specialised. */
#define DEFINE_GELU(name, attributes, width, erf, exp)                                                   \
    typedef float name##_lanes __attribute__((vector_size(4 * (width))));                             \
    typedef int name##_mask __attribute__((vector_size(4 * (width))));                                \
    static inline __attribute__((always_inline)) attributes name##_lanes name##_map(                   \
        cvm_gelu_function function, name##_lanes x, name##_lanes v) {                                   \
        const name##_lanes zero = {0}, one = zero + 1.0f;                                              \
        int absolute = function == CVM_GELU_ABSOLUTE_VJP || function == CVM_GELU_CONTRIBUTION;         \
        name##_lanes t = absolute ? (name##_lanes)((name##_mask)x & 0x7fffffff) : x;                 \
        name##_lanes cdf = 0.5f * (one + erf(t * 0.70710678118654752f));                               \
        if (function == CVM_GELU_VALUE) return x * cdf;                                                \
        name##_lanes derivative = cdf + t * (exp(-0.5f * t * t) * 0.39894228040143268f);              \
        if (function != CVM_GELU_CONTRIBUTION) return v * derivative;                                  \
        name##_lanes negative = (name##_lanes)((name##_mask)(x < zero) & (name##_mask)one);            \
        return v * t * (2.0f * derivative - negative);                                                 \
    }                                                                                                  \
    static inline __attribute__((always_inline)) attributes void name##_loop(                          \
        cvm_gelu_function function, const float *x, const float *v, float *out, long n) {             \
        long i = 0;                                                                                    \
        for (; i + (width) <= n; i += (width)) {                                                       \
            name##_lanes a, b, y;                                                                      \
            memcpy(&a, x + i, sizeof a);                                                               \
            memcpy(&b, v + i, sizeof b);                                                               \
            y = name##_map(function, a, b);                                                            \
            memcpy(out + i, &y, sizeof y);                                                             \
        }                                                                                              \
        if (i < n) {                                                                                   \
            name##_lanes a = {0}, b = {0}, y;                                                          \
            memcpy(&a, x + i, sizeof(float) * (size_t)(n - i));                                        \
            memcpy(&b, v + i, sizeof(float) * (size_t)(n - i));                                        \
            y = name##_map(function, a, b);                                                            \
            memcpy(out + i, &y, sizeof(float) * (size_t)(n - i));                                      \
        }                                                                                              \
    }                                                                                                  \
    attributes static void name(cvm_gelu_function function, const float *x, const float *v, float *out, long n) { \
        switch (function) {                                                                            \
        case CVM_GELU_VALUE: name##_loop(CVM_GELU_VALUE, x, v, out, n); break;                         \
        case CVM_GELU_VJP: name##_loop(CVM_GELU_VJP, x, v, out, n); break;                             \
        case CVM_GELU_ABSOLUTE_VJP: name##_loop(CVM_GELU_ABSOLUTE_VJP, x, v, out, n); break;           \
        case CVM_GELU_CONTRIBUTION: name##_loop(CVM_GELU_CONTRIBUTION, x, v, out, n); break;           \
        }                                                                                              \
    }

#if defined(__x86_64__)
DEFINE_GELU(gelu16, __attribute__((target("avx512f"))), 16, _ZGVeN16v_erff, _ZGVeN16v_expf)
DEFINE_GELU(gelu8, __attribute__((target("avx2,fma"))), 8, _ZGVdN8v_erff, _ZGVdN8v_expf)
DEFINE_GELU(gelu4, , 4, _ZGVbN4v_erff, _ZGVbN4v_expf)

void cvm_gelu(cvm_gelu_function function, const float *x, const float *v, float *out, long n) {
    int width = cvm_vector_width();
    if (width == 16) gelu16(function, x, v, out, n);
    else if (width == 8) gelu8(function, x, v, out, n);
    else gelu4(function, x, v, out, n);
}
#else
/* erff and expf lane by lane. */
typedef float scalar_lanes __attribute__((vector_size(16)));
static inline scalar_lanes erf_lanes(scalar_lanes x) { for (int k = 0; k < 4; k++) x[k] = erff(x[k]); return x; }
static inline scalar_lanes exp_lanes(scalar_lanes x) { for (int k = 0; k < 4; k++) x[k] = expf(x[k]); return x; }
DEFINE_GELU(gelu4, , 4, erf_lanes, exp_lanes)

void cvm_gelu(cvm_gelu_function function, const float *x, const float *v, float *out, long n) {
    gelu4(function, x, v, out, n);
}
#endif

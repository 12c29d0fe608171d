#ifndef CVECTORMATH_LIBMVEC_H
#define CVECTORMATH_LIBMVEC_H

#if defined(__x86_64__)
#include <immintrin.h>

/* libmvec's entry points (x86-64 vector function ABI): SSE 4 lanes, AVX2 8
   lanes, AVX-512 16 lanes. Each is an IFUNC of its own; the widest the CPU
   runs is chosen once (`cvm_vector_width`). */
extern __m128 _ZGVbN4v_erff(__m128 x);
extern __m128 _ZGVbN4v_expf(__m128 x);
__attribute__((target("avx2,fma"))) extern __m256 _ZGVdN8v_erff(__m256 x);
__attribute__((target("avx2,fma"))) extern __m256 _ZGVdN8v_expf(__m256 x);
__attribute__((target("avx512f"))) extern __m512 _ZGVeN16v_erff(__m512 x);
__attribute__((target("avx512f"))) extern __m512 _ZGVeN16v_expf(__m512 x);
#endif

#endif

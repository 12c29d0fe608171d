#ifndef CVECTORMATH_GELU_H
#define CVECTORMATH_GELU_H

/// The exact (erf) GELU's elementwise maps, with the standard normal CDF
/// `Phi(t) = 0.5 (1 + erf(t / sqrt 2))` and density
/// `phi(t) = exp(-t^2 / 2) / sqrt(2 pi)` at `t = x` or `t = |x|`:
typedef enum {
    /// `x Phi(x)` (the forward; `v` is unused: pass `x`).
    CVM_GELU_VALUE = 0,
    /// `v gelu'(x) = v (Phi(x) + x phi(x))` (the VJP).
    CVM_GELU_VJP = 1,
    /// `v gelu'(|x|)` (the absolute twin's VJP).
    CVM_GELU_ABSOLUTE_VJP = 2,
    /// `v |x| (2 gelu'(|x|) - [x < 0])` (absLRP's contribution
    /// `x gelu'(x) v + |x| gelu'(|x|) v`, as `gelu'(-t) = 1 - gelu'(t)`).
    CVM_GELU_CONTRIBUTION = 3
} cvm_gelu_function;

/// `out[i] = function(x[i], v[i])` for `i < n`, in one pass: the widest
/// vector unit the CPU runs (16, 8 or 4 lanes of libmvec's `erff` and
/// `expf`) on x86-64, the scalar libm functions elsewhere. `out` may be
/// `x` or `v`.
void cvm_gelu(cvm_gelu_function function, const float *x, const float *v, float *out, long n);

#endif

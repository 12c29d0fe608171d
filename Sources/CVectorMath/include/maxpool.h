#ifndef CVECTORMATH_MAXPOOL_H
#define CVECTORMATH_MAXPOOL_H

/// Max pooling over `planes` consecutive image planes of `h` x `w` values
/// (a square window of `k`, `stride`, `padding` values of -inf on every
/// side), output planes of `oh` x `ow` (floor mode: every window holds at
/// least one input value). The argmax of a window is its first maximum in
/// row-major order, a NaN wins (the last NaN), as PyTorch's CPU kernel;
/// the argmax of `|x|` likewise. Every function writes every value of its
/// output planes.

/// `y[o]` = the maximum of window `o`.
void cvm_maxpool_forward(const float *x, float *y, long planes, long h, long w, long k, long stride,
                         long padding, long oh, long ow);

/// What `cvm_maxpool_backward` accumulates at the input, per window `o`
/// with `s_o = v[o] / (|y[o]| + epsilon)` (`divides`) or `s_o = v[o]`.
typedef enum {
    /// `s_o` at the argmax of `x` (the VJP).
    CVM_MAXPOOL_GRADIENT = 0,
    /// `s_o` at the argmax of `|x|` (the absolute twin's VJP).
    CVM_MAXPOOL_ABSOLUTE_GRADIENT = 1,
    /// `x_i s_o` at the argmax `i` of `x` and `|x_j| s_o` at the argmax `j`
    /// of `|x|` (absLRP's contributions).
    CVM_MAXPOOL_CONTRIBUTIONS = 2
} cvm_maxpool_routing;

/// `out` (shape of `x`) = the sum over windows of what `routing` routes;
/// `y` is read only when `divides` is nonzero.
void cvm_maxpool_backward(const float *x, const float *v, const float *y, float *out, long planes, long h, long w,
                          long k, long stride, long padding, long oh, long ow, cvm_maxpool_routing routing,
                          int divides, float epsilon);

#endif

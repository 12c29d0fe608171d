#ifndef CVECTORMATH_LANES_H
#define CVECTORMATH_LANES_H

/* Float lanes of the widest vector unit this CPU runs: 16 (AVX-512), 8
   (AVX2 with FMA) or 4; 4 on other architectures. Determined once. */
int cvm_vector_width(void);

#endif

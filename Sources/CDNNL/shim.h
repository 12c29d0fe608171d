#ifndef CDNNL_SHIM_H
#define CDNNL_SHIM_H
#include <dnnl.h>
// oneDNN (Debian's libdnnl) runs on OpenMP (libgomp). Its thread count is
// the calling thread's OpenMP setting; these two libgomp entry points are
// declared here (omp.h lives in GCC's private include folder, which the
// Swift toolchain's clang does not search).
void omp_set_num_threads(int);
int omp_get_max_threads(void);
#endif

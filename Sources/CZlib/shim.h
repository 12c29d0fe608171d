#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H
// The system zlib (zlib1g-dev): GAE reads gzipped IDX files with gzopen/gzread.
#include <zlib.h>
#endif

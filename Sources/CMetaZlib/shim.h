#ifndef CMETAZLIB_SHIM_H
#define CMETAZLIB_SHIM_H
#include <zlib.h>
#endif

#ifndef CFREETYPE_SHIM_H
#define CFREETYPE_SHIM_H
#include <ft2build.h>
#include <freetype/freetype.h>

/// FT_LOAD_RENDER as a typed constant (the macro is an expression Swift does not import).
static const int metajit_ft_load_render = FT_LOAD_RENDER;
#endif

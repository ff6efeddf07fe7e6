// System zlib, seen by the WebSocket module only (permessage-deflate, RFC 7692).
#ifndef STADIUM_CZLIB_SHIM_H
#define STADIUM_CZLIB_SHIM_H

#include <zlib.h>

// Swift cannot call zlib's function-like macros; these inline functions stand in for them.

static inline int sz_inflate_init_raw(z_streamp stream, int window_bits) {
    return inflateInit2(stream, -window_bits);
}

static inline int sz_deflate_init_raw(z_streamp stream, int level, int window_bits, int mem_level) {
    return deflateInit2(stream, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY);
}

#endif

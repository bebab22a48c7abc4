#ifndef RELAY_MALLOC_SHIM_H
#define RELAY_MALLOC_SHIM_H

#include <malloc.h>

/// Sets glibc's M_TRIM_THRESHOLD (a macro, so not visible to Swift); returns 1 on success.
static inline int relay_malloc_set_trim_threshold(int bytes) {
    return mallopt(M_TRIM_THRESHOLD, bytes);
}

#endif

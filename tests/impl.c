/* The one translation unit of the tests that compiles the implementation. */
/* POSIX: the default allocator's 64-byte aligned posix_memalign (bruno.h) */
#define _POSIX_C_SOURCE 200809L
#define BRUNO_IMPLEMENTATION
#include "bruno.h"

/* The one translation unit of the tests that compiles the implementation. */
/* POSIX: the default allocator's 64-byte aligned posix_memalign (bruno.h) */
#define _POSIX_C_SOURCE 200809L
/* chunks of one network step: a threaded forward pass moves its work items
   between threads as often as it can, and the thread tests see that */
#define BRUNO_FELIF_CHUNK_UPDATES 1
#define BRUNO_IMPLEMENTATION
#include "bruno.h"

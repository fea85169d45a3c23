/* The one translation unit of the tests that compiles the implementation. */
#define BRUNO_IMPLEMENTATION
#include "bruno.h"

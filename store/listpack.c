/* The listpack: see listpack.h. */
#include "listpack.h"

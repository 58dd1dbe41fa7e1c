/* SORT and SORT_RO over lists, sets and sorted sets. */
#include "cmd.h"

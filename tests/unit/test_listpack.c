/* Unit tests of store/listpack.c: filled in with the module. */
#include <criterion/criterion.h>

/* Unit tests of store/t_hash.c: filled in with the module. */
#include <criterion/criterion.h>

/* Unit tests of store/t_zset.c: filled in with the module. */
#include <criterion/criterion.h>

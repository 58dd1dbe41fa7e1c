/* Unit tests of store/t_set.c: filled in with the module. */
#include <criterion/criterion.h>

/* Unit tests of store/t_list.c: filled in with the module. */
#include <criterion/criterion.h>

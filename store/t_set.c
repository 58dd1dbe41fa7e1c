/* The set type. */
#include <malloc.h>
#include <stdlib.h>

#include "cmd.h"

static void obj_free(void *obj, int enc)
{
    (void)enc;
    free(obj);
}

static void *obj_dup(const void *obj, int enc)
{
    (void)obj;
    (void)enc;
    abort();
}

static size_t obj_mem(const void *obj, int enc)
{
    (void)enc;
    return malloc_usable_size((void *)obj);
}

const struct obj_ops set_ops = {obj_free, obj_dup, obj_mem};

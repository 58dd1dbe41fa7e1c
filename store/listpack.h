/* The listpack, Redis 7 format: written with the hash type. */
#ifndef SLUICE_LISTPACK_H
#define SLUICE_LISTPACK_H
#endif

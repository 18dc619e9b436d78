/* sealroom: memory for secrets and plaintext: locked, never dumped, wiped. */
#ifndef SEALROOM_SECMEM_H
#define SEALROOM_SECMEM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocates n zeroed bytes that are mlock'ed (best effort: if the lock
 * limit is reached the memory is still returned, and sr_secure_locked()
 * reports it) and excluded from core dumps. Returns NULL on failure. */
void *sr_secure_alloc(size_t n);
/* Wipes and frees memory from sr_secure_alloc. n must be the size asked. */
void sr_secure_free(void *p, size_t n);
/* 1 if the region returned by sr_secure_alloc is locked in RAM. */
int sr_secure_locked(const void *p);

/* Wipes n bytes in a way the compiler cannot remove. */
void sr_memzero(void *p, size_t n);
/* Constant-time equality: 1 if equal, 0 otherwise; time depends on n only. */
int sr_ct_equal(const void *a, const void *b, size_t n);

#ifdef __cplusplus
}
#endif
#endif

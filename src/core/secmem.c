#include "sealroom/secmem.h"

#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Layout of a secure allocation: one header page-aligned mapping
 *   [header: size_t total, int locked][user bytes...]
 * The header sits at the start of the mapping; the user pointer follows it
 * at a 64-byte offset to keep alignment for any type. */
#define SR_SECMEM_HEADER 64u

struct secmem_header {
    size_t total;
    int locked;
};

void *sr_secure_alloc(size_t n)
{
    if (n > SIZE_MAX - SR_SECMEM_HEADER - 4096)
        return NULL;
    size_t total = n + SR_SECMEM_HEADER;
    void *base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return NULL;
    struct secmem_header *h = base;
    h->total = total;
    h->locked = (mlock(base, total) == 0);
#ifdef MADV_DONTDUMP
    (void)madvise(base, total, MADV_DONTDUMP);
#endif
    return (uint8_t *)base + SR_SECMEM_HEADER;
}

void sr_secure_free(void *p, size_t n)
{
    if (p == NULL)
        return;
    uint8_t *base = (uint8_t *)p - SR_SECMEM_HEADER;
    struct secmem_header *h = (struct secmem_header *)base;
    size_t total = h->total;
    (void)n;
    OPENSSL_cleanse(base, total);
    munlock(base, total);
    munmap(base, total);
}

int sr_secure_locked(const void *p)
{
    if (p == NULL)
        return 0;
    const struct secmem_header *h = (const struct secmem_header *)((const uint8_t *)p - SR_SECMEM_HEADER);
    return h->locked;
}

void sr_memzero(void *p, size_t n)
{
    if (p != NULL && n > 0)
        OPENSSL_cleanse(p, n);
}

int sr_ct_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

/* sealroom engine: random sources for the DP samplers (system CSPRNG, or a
 * seeded AES-256-CTR keystream for reproducible tests). */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sealroom/dp.h"
#include "sealroom/secmem.h"

#define RNG_BUF 4096

struct sr_rng {
    int seeded;
    EVP_CIPHER_CTX *ctr; /* seeded only */
    size_t pos;          /* next unread byte in buf */
    size_t len;          /* valid bytes in buf */
    uint8_t buf[RNG_BUF];
};

static const char RNG_LABEL[] = "sealroom-dp-rng-v1";

sr_rng *sr_rng_new_system(sr_error *err)
{
    sr_rng *r = calloc(1, sizeof *r);
    if (r == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory for random source");
        return NULL;
    }
    return r;
}

sr_rng *sr_rng_new_seeded(const void *seed, size_t seedlen, sr_error *err)
{
    uint8_t key[32];
    uint8_t iv[16] = {0};
    unsigned klen = 0;
    EVP_MD_CTX *md = NULL;
    sr_rng *r = calloc(1, sizeof *r);
    if (r == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory for random source");
        return NULL;
    }
    r->seeded = 1;
    md = EVP_MD_CTX_new();
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, RNG_LABEL, sizeof RNG_LABEL - 1) != 1 ||
        (seedlen > 0 && EVP_DigestUpdate(md, seed, seedlen) != 1) ||
        EVP_DigestFinal_ex(md, key, &klen) != 1 || klen != sizeof key) {
        EVP_MD_CTX_free(md);
        sr_error_openssl(err, "seeding random source");
        free(r);
        return NULL;
    }
    EVP_MD_CTX_free(md);
    r->ctr = EVP_CIPHER_CTX_new();
    if (r->ctr == NULL || EVP_EncryptInit_ex(r->ctr, EVP_aes_256_ctr(), NULL, key, iv) != 1) {
        sr_memzero(key, sizeof key);
        sr_error_openssl(err, "seeding random source");
        EVP_CIPHER_CTX_free(r->ctr);
        free(r);
        return NULL;
    }
    sr_memzero(key, sizeof key);
    return r;
}

sr_rng *sr_rng_new_seed_u64(uint64_t seed, sr_error *err)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(seed >> (8 * i));
    return sr_rng_new_seeded(b, sizeof b, err);
}

sr_rng *sr_rng_new_child(sr_rng *parent, sr_error *err)
{
    uint8_t seed[32];
    if (sr_rng_bytes(parent, seed, sizeof seed, err) != SR_OK)
        return NULL;
    sr_rng *c = sr_rng_new_seeded(seed, sizeof seed, err);
    sr_memzero(seed, sizeof seed);
    return c;
}

void sr_rng_free(sr_rng *r)
{
    if (r == NULL)
        return;
    EVP_CIPHER_CTX_free(r->ctr);
    sr_memzero(r, sizeof *r);
    free(r);
}

int sr_rng_is_seeded(const sr_rng *r) { return r != NULL && r->seeded; }

static int refill(sr_rng *r, sr_error *err)
{
    if (r->seeded) {
        static const uint8_t zeros[RNG_BUF];
        int outl = 0;
        if (EVP_EncryptUpdate(r->ctr, r->buf, &outl, zeros, RNG_BUF) != 1 || outl != RNG_BUF)
            return sr_error_openssl(err, "random keystream");
    } else {
        if (RAND_priv_bytes(r->buf, RNG_BUF) != 1)
            return sr_error_openssl(err, "RAND_priv_bytes");
    }
    r->pos = 0;
    r->len = RNG_BUF;
    return SR_OK;
}

int sr_rng_bytes(sr_rng *r, void *out, size_t n, sr_error *err)
{
    uint8_t *o = out;
    if (r == NULL)
        return sr_error_set(err, SR_EINVAL, "no random source");
    while (n > 0) {
        if (r->pos == r->len && refill(r, err) != SR_OK)
            return err ? err->code : SR_ECRYPTO;
        size_t take = r->len - r->pos;
        if (take > n)
            take = n;
        memcpy(o, r->buf + r->pos, take);
        sr_memzero(r->buf + r->pos, take);
        r->pos += take;
        o += take;
        n -= take;
    }
    return SR_OK;
}

int sr_rng_uniform(sr_rng *r, uint64_t n, uint64_t *out, sr_error *err)
{
    if (n == 0)
        return sr_error_set(err, SR_EINVAL, "uniform draw from an empty range");
    if (n == 1) {
        *out = 0;
        return SR_OK;
    }
    uint64_t m = n - 1;
    int bits = 64 - __builtin_clzll(m);
    size_t nbytes = (size_t)(bits + 7) / 8;
    uint64_t mask = bits == 64 ? UINT64_MAX : ((UINT64_C(1) << bits) - 1);
    for (;;) {
        uint8_t b[8] = {0};
        if (sr_rng_bytes(r, b, nbytes, err) != SR_OK)
            return err ? err->code : SR_ECRYPTO;
        uint64_t v = 0;
        for (size_t i = 0; i < nbytes; i++)
            v |= (uint64_t)b[i] << (8 * i);
        v &= mask;
        if (v < n) {
            *out = v;
            return SR_OK;
        }
    }
}

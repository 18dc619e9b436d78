/* sealroom crypto: AES-256-GCM with 96-bit nonces and 128-bit tags
 * (OpenSSL 3 EVP). An sr_gcm keeps one encryption and one decryption
 * EVP_CIPHER_CTX keyed once; each segment only sets its IV. */
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* NIST SP 800-38D: at most 2^39 - 256 bits of plaintext per invocation. */
#define GCM_MAX_PT ((((uint64_t)1) << 36) - 32)
/* EVP takes int lengths: feed at most 1 GiB per call. */
#define GCM_CHUNK ((size_t)1 << 30)

struct sr_gcm {
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
};

static EVP_CIPHER_CTX *keyed_ctx(const uint8_t key[SR_AES256_KEY_LEN], int encrypt, sr_error *err)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        sr_error_openssl(err, "aes-256-gcm: new context");
        return NULL;
    }
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL, encrypt) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SR_GCM_NONCE_LEN, NULL) != 1) {
        sr_error_openssl(err, "aes-256-gcm: set key");
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int check_lengths(const uint8_t *aad, size_t aadlen, const uint8_t *in, size_t n, const uint8_t *out,
                         sr_error *err)
{
    if ((aad == NULL && aadlen != 0) || (n != 0 && (in == NULL || out == NULL)))
        return sr_error_set(err, SR_EINVAL, "aes-256-gcm: NULL buffer with nonzero length");
    if ((uint64_t)n > GCM_MAX_PT)
        return sr_error_set(err, SR_ELIMIT, "aes-256-gcm: %zu bytes exceed the GCM message limit", n);
    if ((uint64_t)aadlen > ((uint64_t)1 << 61))
        return sr_error_set(err, SR_ELIMIT, "aes-256-gcm: associated data too long");
    return SR_OK;
}

static int feed_aad(EVP_CIPHER_CTX *ctx, const uint8_t *aad, size_t aadlen)
{
    int outl = 0;
    while (aadlen > 0) {
        size_t chunk = aadlen > GCM_CHUNK ? GCM_CHUNK : aadlen;
        if (EVP_CipherUpdate(ctx, NULL, &outl, aad, (int)chunk) != 1)
            return 0;
        aad += chunk;
        aadlen -= chunk;
    }
    return 1;
}

static int feed_data(EVP_CIPHER_CTX *ctx, const uint8_t *in, size_t n, uint8_t *out)
{
    int outl = 0;
    while (n > 0) {
        size_t chunk = n > GCM_CHUNK ? GCM_CHUNK : n;
        if (EVP_CipherUpdate(ctx, out, &outl, in, (int)chunk) != 1 || (size_t)outl != chunk)
            return 0;
        in += chunk;
        out += chunk;
        n -= chunk;
    }
    return 1;
}

static int seal_with(EVP_CIPHER_CTX *ctx, const uint8_t nonce[SR_GCM_NONCE_LEN], const uint8_t *aad,
                     size_t aadlen, const uint8_t *pt, size_t n, uint8_t *ct, uint8_t tag[SR_GCM_TAG_LEN],
                     sr_error *err)
{
    int rc = check_lengths(aad, aadlen, pt, n, ct, err);
    if (rc != SR_OK)
        return rc;
    int outl = 0;
    uint8_t last[16];
    if (EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 || !feed_aad(ctx, aad, aadlen) ||
        !feed_data(ctx, pt, n, ct) || EVP_EncryptFinal_ex(ctx, last, &outl) != 1 || outl != 0 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SR_GCM_TAG_LEN, tag) != 1) {
        if (n > 0)
            sr_memzero(ct, n);
        return sr_error_openssl(err, "aes-256-gcm: encrypt");
    }
    return SR_OK;
}

static int open_with(EVP_CIPHER_CTX *ctx, const uint8_t nonce[SR_GCM_NONCE_LEN], const uint8_t *aad,
                     size_t aadlen, const uint8_t *ct, size_t n, const uint8_t tag[SR_GCM_TAG_LEN], uint8_t *pt,
                     sr_error *err)
{
    int rc = check_lengths(aad, aadlen, ct, n, pt, err);
    if (rc != SR_OK)
        return rc;
    int outl = 0;
    uint8_t last[16];
    uint8_t tagcopy[SR_GCM_TAG_LEN];
    memcpy(tagcopy, tag, sizeof tagcopy);
    if (EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, nonce) != 1 || !feed_aad(ctx, aad, aadlen) ||
        !feed_data(ctx, ct, n, pt) ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SR_GCM_TAG_LEN, tagcopy) != 1) {
        if (n > 0)
            sr_memzero(pt, n);
        return sr_error_openssl(err, "aes-256-gcm: decrypt");
    }
    /* EVP_DecryptFinal_ex compares the tag in constant time. */
    if (EVP_DecryptFinal_ex(ctx, last, &outl) != 1) {
        if (n > 0)
            sr_memzero(pt, n);
        ERR_clear_error();
        return sr_error_set(err, SR_EVERIFY, "aes-256-gcm: authentication failed (wrong key, or data altered)");
    }
    return SR_OK;
}

int sr_aes256gcm_encrypt(const uint8_t key[SR_AES256_KEY_LEN], const uint8_t nonce[SR_GCM_NONCE_LEN],
                         const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t n, uint8_t *ct,
                         uint8_t tag[SR_GCM_TAG_LEN], sr_error *err)
{
    EVP_CIPHER_CTX *ctx = keyed_ctx(key, 1, err);
    if (ctx == NULL)
        return SR_ECRYPTO;
    int rc = seal_with(ctx, nonce, aad, aadlen, pt, n, ct, tag, err);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int sr_aes256gcm_decrypt(const uint8_t key[SR_AES256_KEY_LEN], const uint8_t nonce[SR_GCM_NONCE_LEN],
                         const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t n,
                         const uint8_t tag[SR_GCM_TAG_LEN], uint8_t *pt, sr_error *err)
{
    EVP_CIPHER_CTX *ctx = keyed_ctx(key, 0, err);
    if (ctx == NULL)
        return SR_ECRYPTO;
    int rc = open_with(ctx, nonce, aad, aadlen, ct, n, tag, pt, err);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

sr_gcm *sr_gcm_new(const uint8_t key[SR_AES256_KEY_LEN], sr_error *err)
{
    sr_gcm *g = calloc(1, sizeof *g);
    if (g == NULL) {
        sr_error_set(err, SR_ENOMEM, "aes-256-gcm: out of memory");
        return NULL;
    }
    g->enc = keyed_ctx(key, 1, err);
    g->dec = g->enc != NULL ? keyed_ctx(key, 0, err) : NULL;
    if (g->dec == NULL) {
        sr_gcm_free(g);
        return NULL;
    }
    return g;
}

int sr_gcm_seal(sr_gcm *g, const uint8_t nonce[SR_GCM_NONCE_LEN], const uint8_t *aad, size_t aadlen,
                const uint8_t *pt, size_t n, uint8_t *ct, uint8_t tag[SR_GCM_TAG_LEN], sr_error *err)
{
    if (g == NULL)
        return sr_error_set(err, SR_EINVAL, "aes-256-gcm: no context");
    return seal_with(g->enc, nonce, aad, aadlen, pt, n, ct, tag, err);
}

int sr_gcm_open(sr_gcm *g, const uint8_t nonce[SR_GCM_NONCE_LEN], const uint8_t *aad, size_t aadlen,
                const uint8_t *ct, size_t n, const uint8_t tag[SR_GCM_TAG_LEN], uint8_t *pt, sr_error *err)
{
    if (g == NULL)
        return sr_error_set(err, SR_EINVAL, "aes-256-gcm: no context");
    return open_with(g->dec, nonce, aad, aadlen, ct, n, tag, pt, err);
}

void sr_gcm_free(sr_gcm *g)
{
    if (g == NULL)
        return;
    /* EVP_CIPHER_CTX_free cleanses the key schedule. */
    EVP_CIPHER_CTX_free(g->enc);
    EVP_CIPHER_CTX_free(g->dec);
    free(g);
}

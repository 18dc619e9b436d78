/* sealroom crypto: SHA-256/384, HMAC-SHA256, HKDF-SHA256, random bytes
 * (OpenSSL 3 EVP). */
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* The void hash functions cannot report errors. With OpenSSL's built-in
 * SHA-2 the only possible failure is an allocation failure inside OpenSSL;
 * returning an arbitrary digest would be unsafe, so they abort. */
static void digest_or_abort(const EVP_MD *md, const void *data, size_t n, uint8_t *out)
{
    unsigned int len = 0;
    if (EVP_Digest(n ? data : "", n, out, &len, md, NULL) != 1)
        abort();
}

void sr_sha256(const void *data, size_t n, uint8_t out[SR_SHA256_LEN])
{
    digest_or_abort(EVP_sha256(), data, n, out);
}

void sr_sha384(const void *data, size_t n, uint8_t out[SR_SHA384_LEN])
{
    digest_or_abort(EVP_sha384(), data, n, out);
}

struct sr_sha256_ctx {
    EVP_MD_CTX *md;
};

sr_sha256_ctx *sr_sha256_new(void)
{
    sr_sha256_ctx *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->md = EVP_MD_CTX_new();
    if (c->md == NULL || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        free(c);
        return NULL;
    }
    return c;
}

/* update/final on NULL (an unchecked failed sr_sha256_new) abort cleanly
 * instead of dereferencing it. */
void sr_sha256_update(sr_sha256_ctx *c, const void *data, size_t n)
{
    if (c == NULL)
        abort();
    if (n == 0)
        return;
    if (EVP_DigestUpdate(c->md, data, n) != 1)
        abort();
}

void sr_sha256_final(sr_sha256_ctx *c, uint8_t out[SR_SHA256_LEN])
{
    unsigned int len = 0;
    if (c == NULL)
        abort();
    if (EVP_DigestFinal_ex(c->md, out, &len) != 1 || len != SR_SHA256_LEN)
        abort();
    EVP_MD_CTX_free(c->md);
    free(c);
}

int sr_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t n,
                   uint8_t out[SR_SHA256_LEN], sr_error *err)
{
    static const uint8_t empty[1] = {0};
    size_t outlen = 0;
    if ((key == NULL && keylen != 0) || (data == NULL && n != 0))
        return sr_error_set(err, SR_EINVAL, "hmac-sha256: NULL input with nonzero length");
    if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, keylen ? key : empty, keylen,
                  n ? data : empty, n, out, SR_SHA256_LEN, &outlen) == NULL ||
        outlen != SR_SHA256_LEN)
        return sr_error_openssl(err, "hmac-sha256");
    return SR_OK;
}

int sr_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
                   const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen, sr_error *err)
{
    if (outlen == 0 || outlen > 255 * SR_SHA256_LEN)
        return sr_error_set(err, SR_EINVAL, "hkdf-sha256: output length %zu not in 1..%d", outlen,
                            255 * SR_SHA256_LEN);
    if ((ikm == NULL && ikmlen != 0) || (salt == NULL && saltlen != 0) || (info == NULL && infolen != 0))
        return sr_error_set(err, SR_EINVAL, "hkdf-sha256: NULL input with nonzero length");
    if (ikmlen == 0) {
        /* OpenSSL refuses an empty key; RFC 5869 allows it. PRK = HMAC(salt, "")
         * then expand, done by hand with HMAC. */
        uint8_t prk[SR_SHA256_LEN], t[SR_SHA256_LEN];
        uint8_t zeros[SR_SHA256_LEN] = {0};
        int rc = sr_hmac_sha256(saltlen ? salt : zeros, saltlen ? saltlen : sizeof zeros, "", 0, prk, err);
        size_t done = 0, tlen = 0;
        uint8_t *msg = NULL;
        for (unsigned i = 1; rc == SR_OK && done < outlen; i++) {
            size_t mlen = tlen + infolen + 1;
            msg = malloc(mlen);
            if (msg == NULL) {
                rc = sr_error_set(err, SR_ENOMEM, "hkdf-sha256: out of memory");
                break;
            }
            memcpy(msg, t, tlen);
            if (infolen)
                memcpy(msg + tlen, info, infolen);
            msg[mlen - 1] = (uint8_t)i;
            rc = sr_hmac_sha256(prk, sizeof prk, msg, mlen, t, err);
            sr_memzero(msg, mlen);
            free(msg);
            msg = NULL;
            tlen = SR_SHA256_LEN;
            size_t take = outlen - done < SR_SHA256_LEN ? outlen - done : SR_SHA256_LEN;
            if (rc == SR_OK)
                memcpy(out + done, t, take);
            done += take;
        }
        sr_memzero(prk, sizeof prk);
        sr_memzero(t, sizeof t);
        if (rc != SR_OK)
            sr_memzero(out, outlen);
        return rc;
    }
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL)
        return sr_error_openssl(err, "hkdf-sha256: fetch HKDF");
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL)
        return sr_error_openssl(err, "hkdf-sha256: new context");
    OSSL_PARAM params[5];
    size_t np = 0;
    params[np++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
    if (saltlen > 0)
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
    if (infolen > 0)
        params[np++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
    params[np] = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(kctx, out, outlen, params) == 1;
    EVP_KDF_CTX_free(kctx);
    if (!ok) {
        sr_memzero(out, outlen);
        return sr_error_openssl(err, "hkdf-sha256: derive");
    }
    return SR_OK;
}

int sr_random(void *out, size_t n, sr_error *err)
{
    uint8_t *p = out;
    while (n > 0) {
        int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
        if (RAND_bytes(p, chunk) != 1)
            return sr_error_openssl(err, "random bytes");
        p += chunk;
        n -= (size_t)chunk;
    }
    return SR_OK;
}

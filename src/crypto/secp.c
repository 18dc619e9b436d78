/* sealroom crypto: secp256k1 keys, ECDH, tweaks and recoverable ECDSA
 * (libsecp256k1 0.2.0).
 *
 * Contexts: operations on a secret key (public key derivation, ECDH,
 * signing) create their own context per call and randomize it with 32
 * fresh random bytes (side-channel blinding); it is destroyed before
 * returning. With libsecp256k1 >= 0.2.0 a context holds no precomputed
 * tables, so this costs a few microseconds. Operations on public data only
 * (parsing, recovery, public tweak) use the library's read-only
 * secp256k1_context_static. No state is kept between calls. */
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#include <secp256k1.h>
#include <secp256k1_ecdh.h>
#include <secp256k1_recovery.h>
#include <string.h>

static secp256k1_context *secret_ctx(sr_error *err)
{
    uint8_t seed[32];
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == NULL) {
        sr_error_set(err, SR_ENOMEM, "secp256k1: cannot create context");
        return NULL;
    }
    if (sr_random(seed, sizeof seed, err) != SR_OK) {
        secp256k1_context_destroy(ctx);
        return NULL;
    }
    int ok = secp256k1_context_randomize(ctx, seed);
    sr_memzero(seed, sizeof seed);
    if (!ok) {
        secp256k1_context_destroy(ctx);
        sr_error_set(err, SR_ECRYPTO, "secp256k1: context randomization failed");
        return NULL;
    }
    return ctx;
}

int sr_secp_seckey_verify(const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    if (!secp256k1_ec_seckey_verify(secp256k1_context_static, sk))
        return sr_error_set(err, SR_EFORMAT, "secp256k1: secret key is zero or not below the group order");
    return SR_OK;
}

int sr_secp_seckey_generate(uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    /* A random 256-bit string is out of range with probability < 2^-127. */
    for (int tries = 0; tries < 64; tries++) {
        int rc = sr_random(sk, SR_SECP_SECKEY_LEN, err);
        if (rc != SR_OK)
            return rc;
        if (secp256k1_ec_seckey_verify(secp256k1_context_static, sk))
            return SR_OK;
    }
    sr_memzero(sk, SR_SECP_SECKEY_LEN);
    return sr_error_set(err, SR_ECRYPTO, "secp256k1: random generator produced no valid key");
}

static int derive_pubkey(const uint8_t sk[SR_SECP_SECKEY_LEN], secp256k1_pubkey *pk, sr_error *err)
{
    secp256k1_context *ctx = secret_ctx(err);
    if (ctx == NULL)
        return err != NULL ? err->code : SR_ECRYPTO;
    int ok = secp256k1_ec_pubkey_create(ctx, pk, sk);
    secp256k1_context_destroy(ctx);
    if (!ok)
        return sr_error_set(err, SR_EFORMAT, "secp256k1: invalid secret key");
    return SR_OK;
}

static int serialize(const secp256k1_pubkey *pk, uint8_t *out, size_t len, sr_error *err)
{
    size_t outlen = len;
    unsigned flags = len == SR_SECP_PUBKEY_LEN ? SECP256K1_EC_COMPRESSED : SECP256K1_EC_UNCOMPRESSED;
    if (!secp256k1_ec_pubkey_serialize(secp256k1_context_static, out, &outlen, pk, flags) || outlen != len)
        return sr_error_set(err, SR_EINTERNAL, "secp256k1: public key serialisation failed");
    return SR_OK;
}

static int parse_pubkey(const uint8_t *pub, size_t publen, secp256k1_pubkey *pk, sr_error *err)
{
    if (pub == NULL || (publen != SR_SECP_PUBKEY_LEN && publen != SR_SECP_PUBKEY_FULL_LEN))
        return sr_error_set(err, SR_EFORMAT, "secp256k1: public key must be 33 or 65 bytes, not %zu", publen);
    /* libsecp256k1 also accepts the "hybrid" 0x06/0x07 form; sealroom does not. */
    if (publen == SR_SECP_PUBKEY_FULL_LEN && pub[0] != 0x04)
        return sr_error_set(err, SR_EFORMAT, "secp256k1: uncompressed public key must start with 0x04");
    if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, pk, pub, publen))
        return sr_error_set(err, SR_EFORMAT, "secp256k1: public key is not a point on the curve");
    return SR_OK;
}

int sr_secp_pubkey(const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t pub[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    secp256k1_pubkey pk;
    int rc = derive_pubkey(sk, &pk, err);
    return rc != SR_OK ? rc : serialize(&pk, pub, SR_SECP_PUBKEY_LEN, err);
}

int sr_secp_pubkey_full(const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t pub[SR_SECP_PUBKEY_FULL_LEN], sr_error *err)
{
    secp256k1_pubkey pk;
    int rc = derive_pubkey(sk, &pk, err);
    return rc != SR_OK ? rc : serialize(&pk, pub, SR_SECP_PUBKEY_FULL_LEN, err);
}

int sr_secp_pubkey_normalize(const uint8_t *pub, size_t publen, uint8_t out[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    secp256k1_pubkey pk;
    int rc = parse_pubkey(pub, publen, &pk, err);
    return rc != SR_OK ? rc : serialize(&pk, out, SR_SECP_PUBKEY_LEN, err);
}

int sr_secp_pubkey_decompress(const uint8_t pub[SR_SECP_PUBKEY_LEN], uint8_t out[SR_SECP_PUBKEY_FULL_LEN],
                              sr_error *err)
{
    secp256k1_pubkey pk;
    int rc = parse_pubkey(pub, SR_SECP_PUBKEY_LEN, &pk, err);
    return rc != SR_OK ? rc : serialize(&pk, out, SR_SECP_PUBKEY_FULL_LEN, err);
}

int sr_secp_ecdh(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t pub[SR_SECP_PUBKEY_LEN], uint8_t shared[32],
                 sr_error *err)
{
    secp256k1_pubkey pk;
    int rc = parse_pubkey(pub, SR_SECP_PUBKEY_LEN, &pk, err);
    if (rc != SR_OK)
        return rc;
    secp256k1_context *ctx = secret_ctx(err);
    if (ctx == NULL)
        return err != NULL ? err->code : SR_ECRYPTO;
    int ok = secp256k1_ecdh(ctx, shared, &pk, sk, NULL, NULL);
    secp256k1_context_destroy(ctx);
    if (!ok) {
        sr_memzero(shared, 32);
        return sr_error_set(err, SR_EFORMAT, "secp256k1 ecdh: invalid secret key");
    }
    return SR_OK;
}

int sr_secp_pubkey_tweak_add(const uint8_t pub[SR_SECP_PUBKEY_LEN], const uint8_t tweak[32],
                             uint8_t out[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    secp256k1_pubkey pk;
    int rc = parse_pubkey(pub, SR_SECP_PUBKEY_LEN, &pk, err);
    if (rc != SR_OK)
        return rc;
    if (!secp256k1_ec_pubkey_tweak_add(secp256k1_context_static, &pk, tweak))
        return sr_error_set(err, SR_EINVAL, "secp256k1: tweak is not below the group order or gives infinity");
    return serialize(&pk, out, SR_SECP_PUBKEY_LEN, err);
}

int sr_secp_seckey_tweak_add(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t tweak[32],
                             uint8_t out[SR_SECP_SECKEY_LEN], sr_error *err)
{
    uint8_t tmp[SR_SECP_SECKEY_LEN];
    memcpy(tmp, sk, sizeof tmp);
    if (!secp256k1_ec_seckey_tweak_add(secp256k1_context_static, tmp, tweak)) {
        sr_memzero(tmp, sizeof tmp);
        return sr_error_set(err, SR_EINVAL,
                            "secp256k1: invalid secret key, tweak not below the group order, or zero result");
    }
    memcpy(out, tmp, sizeof tmp);
    sr_memzero(tmp, sizeof tmp);
    return SR_OK;
}

int sr_secp_sign_recoverable(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t digest[32],
                             uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_signature plain;
    int recid = -1;
    secp256k1_context *ctx = secret_ctx(err);
    if (ctx == NULL)
        return err != NULL ? err->code : SR_ECRYPTO;
    /* NULL nonce function = RFC 6979 with HMAC-SHA256. */
    int ok = secp256k1_ecdsa_sign_recoverable(ctx, &rsig, digest, sk, NULL, NULL);
    secp256k1_context_destroy(ctx);
    if (!ok)
        return sr_error_set(err, SR_EFORMAT, "secp256k1 sign: invalid secret key");
    if (!secp256k1_ecdsa_recoverable_signature_serialize_compact(secp256k1_context_static, sig, &recid, &rsig))
        return sr_error_set(err, SR_EINTERNAL, "secp256k1 sign: serialisation failed");
    /* libsecp256k1 always emits low-s; check rather than assume. */
    if (!secp256k1_ecdsa_recoverable_signature_convert(secp256k1_context_static, &plain, &rsig) ||
        secp256k1_ecdsa_signature_normalize(secp256k1_context_static, NULL, &plain))
        return sr_error_set(err, SR_EINTERNAL, "secp256k1 sign: signature is not low-s");
    if (recid != 0 && recid != 1) /* r >= n: probability about 2^-127 */
        return sr_error_set(err, SR_ECRYPTO, "secp256k1 sign: recovery id %d not expressible as v", recid);
    sig[64] = (uint8_t)(27 + recid);
    return SR_OK;
}

int sr_secp_recover(const uint8_t digest[32], const uint8_t sig[SR_ETH_SIG_LEN], uint8_t pub[SR_SECP_PUBKEY_FULL_LEN],
                    sr_error *err)
{
    int recid;
    switch (sig[64]) {
    case 0: case 27: recid = 0; break;
    case 1: case 28: recid = 1; break;
    default:
        return sr_error_set(err, SR_EFORMAT, "signature: v must be 0, 1, 27 or 28, not %u", (unsigned)sig[64]);
    }
    secp256k1_ecdsa_recoverable_signature rsig;
    secp256k1_ecdsa_signature plain;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(secp256k1_context_static, &rsig, sig, recid))
        return sr_error_set(err, SR_EFORMAT, "signature: r or s is not below the group order");
    if (!secp256k1_ecdsa_recoverable_signature_convert(secp256k1_context_static, &plain, &rsig))
        return sr_error_set(err, SR_EINTERNAL, "signature: conversion failed");
    if (secp256k1_ecdsa_signature_normalize(secp256k1_context_static, NULL, &plain))
        return sr_error_set(err, SR_EVERIFY, "signature: high-s (malleable) signature rejected");
    if (!secp256k1_ecdsa_recover(secp256k1_context_static, &pk, &rsig, digest))
        return sr_error_set(err, SR_EVERIFY, "signature: no public key recovers from this signature");
    return serialize(&pk, pub, SR_SECP_PUBKEY_FULL_LEN, err);
}

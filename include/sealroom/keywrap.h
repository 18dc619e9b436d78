/* sealroom: recipe-bound key wrapping (specified in docs/FORMAT.md,
 * "Key derivation and wrapping").
 *
 * The KMS has a secp256k1 root key (sk_root, P_root). For a recipe binding
 * (app id, compose hash, owner id) anyone can compute a public tweak
 *   t = HKDF-SHA256(ikm = P_root (33 B compressed), salt = "sealroom/v1/recipe-key",
 *                   info = app_id || compose_hash || owner_id)
 * and the recipe key P = P_root + t*G. Owners wrap a random data key (DEK)
 * to P with ECIES (ephemeral ECDH + HKDF + AES-256-GCM). Only the holder of
 * sk_root can compute sk = sk_root + t and unwrap; sk must never leave the
 * KMS (with the public t it reveals sk_root). Change one byte of the recipe,
 * the app id or the owner id and the DEK no longer unwraps. */
#ifndef SEALROOM_KEYWRAP_H
#define SEALROOM_KEYWRAP_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/crypto.h"
#include "sealroom/error.h"
#include "sealroom/recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_DEK_LEN 32
#define SR_WRAPPED_DEK_LEN (SR_DEK_LEN + SR_GCM_TAG_LEN) /* 48: ciphertext || tag */

#define SR_KEYWRAP_SALT_TWEAK "sealroom/v1/recipe-key"
#define SR_KEYWRAP_SALT_WRAP "sealroom/v1/dek-wrap"
#define SR_KEYWRAP_ALG "secp256k1-ecdh-hkdf-sha256-aes-256-gcm"

/* What a wrapped DEK is bound to. */
typedef struct sr_keywrap_binding {
    uint8_t app_id[SR_APP_ID_LEN];
    uint8_t compose_hash[SR_RECIPE_HASH_LEN];
    char owner_id[SR_OWNER_ID_MAX];
} sr_keywrap_binding;

/* A wrapped DEK: the ephemeral public key and AES-GCM(DEK) || tag. */
typedef struct sr_keywrap_envelope {
    uint8_t ephemeral[SR_SECP_PUBKEY_LEN];
    uint8_t wrapped[SR_WRAPPED_DEK_LEN];
} sr_keywrap_envelope;

/* Fills a binding (checks the owner id). */
int sr_keywrap_binding_set(sr_keywrap_binding *b, const uint8_t app_id[SR_APP_ID_LEN],
                           const uint8_t compose_hash[SR_RECIPE_HASH_LEN], const char *owner_id, sr_error *err);

/* The public tweak t (a valid scalar in [1, n-1]) and the recipe public key
 * P = P_root + t*G (33 B compressed). */
int sr_keywrap_tweak(const uint8_t root_pub[SR_SECP_PUBKEY_LEN], const sr_keywrap_binding *b,
                     uint8_t tweak[32], sr_error *err);
int sr_keywrap_recipe_pubkey(const uint8_t root_pub[SR_SECP_PUBKEY_LEN], const sr_keywrap_binding *b,
                             uint8_t recipe_pub[SR_SECP_PUBKEY_LEN], sr_error *err);

/* Owner side: wraps dek to the recipe key derived from root_pub and b. */
int sr_keywrap_wrap(const uint8_t root_pub[SR_SECP_PUBKEY_LEN], const sr_keywrap_binding *b,
                    const uint8_t dek[SR_DEK_LEN], sr_keywrap_envelope *env, sr_error *err);

/* KMS side: computes sk = sk_root + t inside the call (wiped before return)
 * and unwraps. SR_EVERIFY when the envelope was not made for this root key
 * and binding. dek should be secure memory. */
int sr_keywrap_unwrap(const uint8_t root_sk[SR_SECP_SECKEY_LEN], const sr_keywrap_binding *b,
                      const sr_keywrap_envelope *env, uint8_t dek[SR_DEK_LEN], sr_error *err);

/* The generic layer, reusable for re-wrapping a DEK to another key (e.g.
 * the KMS wrapping it to an attested VM's key): ECIES of dek to recipient
 * public key `to`, with `context` bound into the wrap key. The recipe
 * functions above use context = app_id || compose_hash || owner_id. */
int sr_keywrap_seal_to(const uint8_t to[SR_SECP_PUBKEY_LEN], const uint8_t *context, size_t context_len,
                       const uint8_t dek[SR_DEK_LEN], sr_keywrap_envelope *env, sr_error *err);
int sr_keywrap_open_with(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t *context, size_t context_len,
                         const sr_keywrap_envelope *env, uint8_t dek[SR_DEK_LEN], sr_error *err);

/* ---- the KMS root key folder (`sealroom kms init --dir DIR`) ------------ */
/* DIR (created 0700 if missing) holds root.key (the secret, 0600, one line
 * of 64 hex digits, see sr_keyfile_write) and root.pub (compressed public
 * key, 66 hex digits and a newline). Refuses to overwrite an existing key. */
#define SR_KMS_ROOT_KEY_FILE "root.key"
#define SR_KMS_ROOT_PUB_FILE "root.pub"
int sr_kms_root_init(const char *dir, uint8_t root_pub[SR_SECP_PUBKEY_LEN], sr_error *err);
/* Reads DIR/root.key (must be 0600 or stricter); root_pub may be NULL. */
int sr_kms_root_load(const char *dir, uint8_t root_sk[SR_SECP_SECKEY_LEN], uint8_t root_pub[SR_SECP_PUBKEY_LEN],
                     sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

/* sealroom: crypto core. OpenSSL 3 for SHA-2/HKDF/AES-GCM, libsecp256k1 for
 * secp256k1; Keccak-256 is written here (Debian 12's OpenSSL 3.0 lacks it). */
#ifndef SEALROOM_CRYPTO_H
#define SEALROOM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/buf.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_SHA256_LEN 32
#define SR_SHA384_LEN 48
#define SR_KECCAK256_LEN 32
#define SR_AES256_KEY_LEN 32
#define SR_GCM_NONCE_LEN 12
#define SR_GCM_TAG_LEN 16
#define SR_SECP_SECKEY_LEN 32
#define SR_SECP_PUBKEY_LEN 33      /* compressed */
#define SR_SECP_PUBKEY_FULL_LEN 65 /* uncompressed, 0x04 || X || Y */
#define SR_ETH_ADDR_LEN 20
#define SR_ETH_SIG_LEN 65 /* r || s || v, v = 27 or 28 */

/* ---- hashes ---------------------------------------------------------- */
void sr_sha256(const void *data, size_t n, uint8_t out[SR_SHA256_LEN]);
void sr_sha384(const void *data, size_t n, uint8_t out[SR_SHA384_LEN]);
/* Original Keccak-256 (Ethereum's, padding 0x01), not NIST SHA3-256. */
void sr_keccak256(const void *data, size_t n, uint8_t out[SR_KECCAK256_LEN]);

/* Incremental SHA-256 and Keccak-256. */
typedef struct sr_sha256_ctx sr_sha256_ctx;
sr_sha256_ctx *sr_sha256_new(void);
void sr_sha256_update(sr_sha256_ctx *c, const void *data, size_t n);
void sr_sha256_final(sr_sha256_ctx *c, uint8_t out[SR_SHA256_LEN]); /* also frees c */

typedef struct sr_keccak_ctx {
    uint64_t state[25];
    size_t pos; /* bytes absorbed into the current block */
} sr_keccak_ctx;
void sr_keccak256_init(sr_keccak_ctx *c);
void sr_keccak256_update(sr_keccak_ctx *c, const void *data, size_t n);
void sr_keccak256_final(sr_keccak_ctx *c, uint8_t out[SR_KECCAK256_LEN]);

/* HMAC-SHA256 and HKDF-SHA256 (RFC 5869, extract then expand). */
int sr_hmac_sha256(const uint8_t *key, size_t keylen, const void *data, size_t n,
                   uint8_t out[SR_SHA256_LEN], sr_error *err);
int sr_hkdf_sha256(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen,
                   const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen, sr_error *err);

/* Cryptographically secure random bytes (OpenSSL RAND_bytes). */
int sr_random(void *out, size_t n, sr_error *err);

/* ---- AES-256-GCM (one-shot) ------------------------------------------ */
/* Encrypts n bytes of pt into ct (n bytes) and writes the 16-byte tag. */
int sr_aes256gcm_encrypt(const uint8_t key[SR_AES256_KEY_LEN], const uint8_t nonce[SR_GCM_NONCE_LEN],
                         const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t n, uint8_t *ct,
                         uint8_t tag[SR_GCM_TAG_LEN], sr_error *err);
/* Decrypts and authenticates; SR_EVERIFY if the tag does not match (pt is
 * then wiped). */
int sr_aes256gcm_decrypt(const uint8_t key[SR_AES256_KEY_LEN], const uint8_t nonce[SR_GCM_NONCE_LEN],
                         const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t n,
                         const uint8_t tag[SR_GCM_TAG_LEN], uint8_t *pt, sr_error *err);

/* A reusable AES-256-GCM context for many segments under one key (avoids
 * re-keying cost per segment). Keys are wiped on free. */
typedef struct sr_gcm sr_gcm;
sr_gcm *sr_gcm_new(const uint8_t key[SR_AES256_KEY_LEN], sr_error *err);
int sr_gcm_seal(sr_gcm *g, const uint8_t nonce[SR_GCM_NONCE_LEN], const uint8_t *aad, size_t aadlen,
                const uint8_t *pt, size_t n, uint8_t *ct, uint8_t tag[SR_GCM_TAG_LEN], sr_error *err);
int sr_gcm_open(sr_gcm *g, const uint8_t nonce[SR_GCM_NONCE_LEN], const uint8_t *aad, size_t aadlen,
                const uint8_t *ct, size_t n, const uint8_t tag[SR_GCM_TAG_LEN], uint8_t *pt, sr_error *err);
void sr_gcm_free(sr_gcm *g);

/* ---- secp256k1 -------------------------------------------------------- */
/* A secret key is 32 bytes, a valid scalar in [1, n-1]. */
int sr_secp_seckey_generate(uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
int sr_secp_seckey_verify(const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
/* Compressed (33 B) and uncompressed (65 B) public keys of sk. */
int sr_secp_pubkey(const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t pub[SR_SECP_PUBKEY_LEN], sr_error *err);
int sr_secp_pubkey_full(const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t pub[SR_SECP_PUBKEY_FULL_LEN],
                        sr_error *err);
/* Parses a 33- or 65-byte public key and re-serialises it compressed /
 * uncompressed. Fails with SR_EFORMAT if it is not a point on the curve. */
int sr_secp_pubkey_normalize(const uint8_t *pub, size_t publen, uint8_t out[SR_SECP_PUBKEY_LEN], sr_error *err);
int sr_secp_pubkey_decompress(const uint8_t pub[SR_SECP_PUBKEY_LEN], uint8_t out[SR_SECP_PUBKEY_FULL_LEN],
                              sr_error *err);
/* ECDH: shared = SHA-256(compressed shared point) (libsecp256k1's default
 * hash: SHA-256 of 0x02|0x03 parity byte || X). */
int sr_secp_ecdh(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t pub[SR_SECP_PUBKEY_LEN],
                 uint8_t shared[32], sr_error *err);
/* Tweaks: pub' = pub + t*G, sk' = sk + t (mod n). t must be a valid
 * scalar (< n); a result at infinity / zero is an error. */
int sr_secp_pubkey_tweak_add(const uint8_t pub[SR_SECP_PUBKEY_LEN], const uint8_t tweak[32],
                             uint8_t out[SR_SECP_PUBKEY_LEN], sr_error *err);
int sr_secp_seckey_tweak_add(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t tweak[32],
                             uint8_t out[SR_SECP_SECKEY_LEN], sr_error *err);
/* Recoverable ECDSA over a 32-byte digest (RFC 6979 nonces, low-s).
 * sig = r(32) || s(32) || v(1) with v = 27 + recovery id (Ethereum style). */
int sr_secp_sign_recoverable(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t digest[32],
                             uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
/* Recovers the signer's uncompressed public key. Accepts v in {0,1,27,28};
 * rejects high-s signatures (SR_EVERIFY). */
int sr_secp_recover(const uint8_t digest[32], const uint8_t sig[SR_ETH_SIG_LEN],
                    uint8_t pub[SR_SECP_PUBKEY_FULL_LEN], sr_error *err);

/* ---- Ethereum --------------------------------------------------------- */
/* address = last 20 bytes of keccak256(X || Y) of the uncompressed key. */
int sr_eth_address_from_pubkey(const uint8_t *pub, size_t publen, uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err);
int sr_eth_address_from_seckey(const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err);
/* EIP-55 checksummed "0x" + 40 hex; out needs 43 bytes. */
void sr_eth_address_to_string(const uint8_t addr[SR_ETH_ADDR_LEN], char out[43]);
/* Parses "0x"+40 hex (any case; a mixed-case string must have a valid
 * EIP-55 checksum). */
int sr_eth_address_parse(const char *s, uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err);
/* Recovers the signer's address of a digest. */
int sr_eth_recover_address(const uint8_t digest[32], const uint8_t sig[SR_ETH_SIG_LEN],
                           uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err);

/* EIP-191 personal_sign digest: keccak256("\x19Ethereum Signed Message:\n" || len || msg). */
void sr_eip191_digest(const void *msg, size_t n, uint8_t digest[32]);

/* EIP-712. The domain is EIP712Domain(string name,string version,uint256
 * chainId,address verifyingContract). */
typedef struct sr_eip712_domain {
    const char *name;
    const char *version;
    uint64_t chain_id;
    uint8_t verifying_contract[SR_ETH_ADDR_LEN];
} sr_eip712_domain;
void sr_eip712_domain_separator(const sr_eip712_domain *d, uint8_t out[32]);
/* typeHash = keccak256(type string), e.g. "Approve(bytes32 composeHash,...)". */
void sr_eip712_type_hash(const char *type_string, uint8_t out[32]);
/* structHash = keccak256(typeHash || enc(field_1) || ... ) where each field
 * is already ABI-encoded as one 32-byte word (use the helpers below for
 * address, uint, bytes32, string/bytes which encode as their keccak). */
void sr_eip712_struct_hash(const uint8_t type_hash[32], const uint8_t (*words)[32], size_t nwords,
                           uint8_t out[32]);
/* digest = keccak256(0x19 0x01 || domainSeparator || structHash). */
void sr_eip712_digest(const uint8_t domain_separator[32], const uint8_t struct_hash[32], uint8_t out[32]);
/* 32-byte word encoders for EIP-712 / ABI static values. */
void sr_word_uint64(uint64_t v, uint8_t out[32]);
void sr_word_address(const uint8_t addr[SR_ETH_ADDR_LEN], uint8_t out[32]);
void sr_word_bytes_hash(const void *data, size_t n, uint8_t out[32]); /* keccak of string/bytes */

/* ---- secp256k1 key files --------------------------------------------- */
/* A key file holds one line: the secret key as 64 lowercase hex digits and
 * a newline. Written 0600 atomically; reading refuses files readable by
 * group or others (SR_EDENIED) unless allow_loose_mode is set. */
int sr_keyfile_write(const char *path, const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
int sr_keyfile_read(const char *path, uint8_t sk[SR_SECP_SECKEY_LEN], int allow_loose_mode, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

/* sealroom: recipe-bound key wrapping. See include/sealroom/keywrap.h and
 * docs/FORMAT.md ("Key derivation and wrapping"). */
#include "sealroom/keywrap.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealroom/buf.h"
#include "sealroom/secmem.h"

/* context = app_id (20) || compose_hash (32) || owner_id (1..63 bytes). */
#define CONTEXT_MAX (SR_APP_ID_LEN + SR_RECIPE_HASH_LEN + SR_OWNER_ID_MAX)
#define WRAP_CONTEXT_MAX 4096

static size_t binding_context(const sr_keywrap_binding *b, uint8_t out[CONTEXT_MAX])
{
    size_t n = strnlen(b->owner_id, SR_OWNER_ID_MAX - 1);
    memcpy(out, b->app_id, SR_APP_ID_LEN);
    memcpy(out + SR_APP_ID_LEN, b->compose_hash, SR_RECIPE_HASH_LEN);
    memcpy(out + SR_APP_ID_LEN + SR_RECIPE_HASH_LEN, b->owner_id, n);
    return SR_APP_ID_LEN + SR_RECIPE_HASH_LEN + n;
}

int sr_keywrap_binding_set(sr_keywrap_binding *b, const uint8_t app_id[SR_APP_ID_LEN],
                           const uint8_t compose_hash[SR_RECIPE_HASH_LEN], const char *owner_id, sr_error *err)
{
    memset(b, 0, sizeof *b);
    if (sr_owner_id_check(owner_id, err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    memcpy(b->app_id, app_id, SR_APP_ID_LEN);
    memcpy(b->compose_hash, compose_hash, SR_RECIPE_HASH_LEN);
    memcpy(b->owner_id, owner_id, strlen(owner_id) + 1);
    return SR_OK;
}

int sr_keywrap_tweak(const uint8_t root_pub[SR_SECP_PUBKEY_LEN], const sr_keywrap_binding *b, uint8_t tweak[32],
                     sr_error *err)
{
    uint8_t info[CONTEXT_MAX + 1];
    if (sr_owner_id_check(b->owner_id, err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    uint8_t norm[SR_SECP_PUBKEY_LEN];
    if (sr_secp_pubkey_normalize(root_pub, SR_SECP_PUBKEY_LEN, norm, err) != SR_OK)
        return sr_error_prefix(err, "KMS root public key");
    size_t n = binding_context(b, info);
    /* Counter retry: t_0 uses info as is; if it is not a valid scalar
     * (0 or >= n, probability about 2^-128) t_c appends the byte c. */
    for (unsigned c = 0; c < 256; c++) {
        size_t len = n;
        if (c > 0)
            info[len++] = (uint8_t)c;
        if (sr_hkdf_sha256(norm, sizeof norm, (const uint8_t *)SR_KEYWRAP_SALT_TWEAK,
                           strlen(SR_KEYWRAP_SALT_TWEAK), info, len, tweak, 32, err) != SR_OK)
            return err ? err->code : SR_ECRYPTO;
        if (sr_secp_seckey_verify(tweak, NULL) == SR_OK)
            return SR_OK;
    }
    return sr_error_set(err, SR_EINTERNAL, "no valid tweak scalar after 256 tries");
}

int sr_keywrap_recipe_pubkey(const uint8_t root_pub[SR_SECP_PUBKEY_LEN], const sr_keywrap_binding *b,
                             uint8_t recipe_pub[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    uint8_t t[32];
    int rc = sr_keywrap_tweak(root_pub, b, t, err);
    if (rc == SR_OK)
        rc = sr_secp_pubkey_tweak_add(root_pub, t, recipe_pub, err);
    return rc;
}

/* K_wrap = HKDF-SHA256(ikm = ECDH secret, salt = "sealroom/v1/dek-wrap",
 *                      info = E || R || context). */
static int wrap_key(const uint8_t shared[32], const uint8_t eph[SR_SECP_PUBKEY_LEN],
                    const uint8_t recip[SR_SECP_PUBKEY_LEN], const uint8_t *ctx, size_t ctxlen,
                    uint8_t key[SR_AES256_KEY_LEN], sr_error *err)
{
    uint8_t info[2 * SR_SECP_PUBKEY_LEN + WRAP_CONTEXT_MAX];
    if (ctxlen > WRAP_CONTEXT_MAX)
        return sr_error_set(err, SR_ELIMIT, "key wrap context of %zu bytes exceeds %d", ctxlen, WRAP_CONTEXT_MAX);
    memcpy(info, eph, SR_SECP_PUBKEY_LEN);
    memcpy(info + SR_SECP_PUBKEY_LEN, recip, SR_SECP_PUBKEY_LEN);
    if (ctxlen > 0)
        memcpy(info + 2 * SR_SECP_PUBKEY_LEN, ctx, ctxlen);
    return sr_hkdf_sha256(shared, 32, (const uint8_t *)SR_KEYWRAP_SALT_WRAP, strlen(SR_KEYWRAP_SALT_WRAP), info,
                          2 * SR_SECP_PUBKEY_LEN + ctxlen, key, SR_AES256_KEY_LEN, err);
}

static const uint8_t zero_nonce[SR_GCM_NONCE_LEN] = {0};

int sr_keywrap_seal_to(const uint8_t to[SR_SECP_PUBKEY_LEN], const uint8_t *context, size_t context_len,
                       const uint8_t dek[SR_DEK_LEN], sr_keywrap_envelope *env, sr_error *err)
{
    uint8_t eph_sk[SR_SECP_SECKEY_LEN], shared[32], key[SR_AES256_KEY_LEN], recip[SR_SECP_PUBKEY_LEN];
    int rc;
    memset(env, 0, sizeof *env);
    if ((rc = sr_secp_pubkey_normalize(to, SR_SECP_PUBKEY_LEN, recip, err)) != SR_OK) {
        sr_error_prefix(err, "recipient public key");
        goto out;
    }
    if ((rc = sr_secp_seckey_generate(eph_sk, err)) != SR_OK ||
        (rc = sr_secp_pubkey(eph_sk, env->ephemeral, err)) != SR_OK ||
        (rc = sr_secp_ecdh(eph_sk, recip, shared, err)) != SR_OK ||
        (rc = wrap_key(shared, env->ephemeral, recip, context, context_len, key, err)) != SR_OK)
        goto out;
    /* The wrap key is used once (fresh ephemeral key), so a fixed nonce is safe. */
    rc = sr_aes256gcm_encrypt(key, zero_nonce, NULL, 0, dek, SR_DEK_LEN, env->wrapped, env->wrapped + SR_DEK_LEN,
                              err);
out:
    sr_memzero(eph_sk, sizeof eph_sk);
    sr_memzero(shared, sizeof shared);
    sr_memzero(key, sizeof key);
    if (rc != SR_OK)
        memset(env, 0, sizeof *env);
    return rc;
}

int sr_keywrap_open_with(const uint8_t sk[SR_SECP_SECKEY_LEN], const uint8_t *context, size_t context_len,
                         const sr_keywrap_envelope *env, uint8_t dek[SR_DEK_LEN], sr_error *err)
{
    uint8_t shared[32], key[SR_AES256_KEY_LEN], recip[SR_SECP_PUBKEY_LEN], eph[SR_SECP_PUBKEY_LEN];
    int rc;
    if ((rc = sr_secp_pubkey(sk, recip, err)) != SR_OK)
        goto out;
    if ((rc = sr_secp_pubkey_normalize(env->ephemeral, SR_SECP_PUBKEY_LEN, eph, err)) != SR_OK) {
        sr_error_prefix(err, "ephemeral public key");
        rc = SR_EVERIFY;
        if (err)
            err->code = SR_EVERIFY;
        goto out;
    }
    if ((rc = sr_secp_ecdh(sk, eph, shared, err)) != SR_OK ||
        (rc = wrap_key(shared, env->ephemeral, recip, context, context_len, key, err)) != SR_OK)
        goto out;
    rc = sr_aes256gcm_decrypt(key, zero_nonce, NULL, 0, env->wrapped, SR_DEK_LEN, env->wrapped + SR_DEK_LEN, dek,
                              err);
    if (rc != SR_OK) {
        sr_memzero(dek, SR_DEK_LEN);
        rc = sr_error_set(err, SR_EVERIFY,
                          "the data key does not unwrap: the archive is bound to another KMS key, app id, "
                          "recipe (compose hash) or owner id, or it was altered");
    }
out:
    sr_memzero(shared, sizeof shared);
    sr_memzero(key, sizeof key);
    return rc;
}

int sr_keywrap_wrap(const uint8_t root_pub[SR_SECP_PUBKEY_LEN], const sr_keywrap_binding *b,
                    const uint8_t dek[SR_DEK_LEN], sr_keywrap_envelope *env, sr_error *err)
{
    uint8_t p[SR_SECP_PUBKEY_LEN], ctx[CONTEXT_MAX];
    int rc = sr_keywrap_recipe_pubkey(root_pub, b, p, err);
    if (rc != SR_OK)
        return rc;
    size_t n = binding_context(b, ctx);
    return sr_keywrap_seal_to(p, ctx, n, dek, env, err);
}

int sr_keywrap_unwrap(const uint8_t root_sk[SR_SECP_SECKEY_LEN], const sr_keywrap_binding *b,
                      const sr_keywrap_envelope *env, uint8_t dek[SR_DEK_LEN], sr_error *err)
{
    uint8_t root_pub[SR_SECP_PUBKEY_LEN], t[32], ctx[CONTEXT_MAX];
    uint8_t *sk = sr_secure_alloc(SR_SECP_SECKEY_LEN);
    int rc;
    if (sk == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    if ((rc = sr_secp_pubkey(root_sk, root_pub, err)) != SR_OK ||
        (rc = sr_keywrap_tweak(root_pub, b, t, err)) != SR_OK ||
        (rc = sr_secp_seckey_tweak_add(root_sk, t, sk, err)) != SR_OK)
        goto out;
    size_t n = binding_context(b, ctx);
    rc = sr_keywrap_open_with(sk, ctx, n, env, dek, err);
out:
    sr_secure_free(sk, SR_SECP_SECKEY_LEN);
    sr_memzero(t, sizeof t);
    return rc;
}

/* ---- KMS root folder -------------------------------------------------- */

static int join(char *out, size_t cap, const char *dir, const char *name, sr_error *err)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return sr_error_set(err, SR_EINVAL, "path too long: %s/%s", dir, name);
    return SR_OK;
}

int sr_kms_root_init(const char *dir, uint8_t root_pub[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    char kpath[4096], ppath[4096];
    uint8_t sk[SR_SECP_SECKEY_LEN];
    int rc;
    if (join(kpath, sizeof kpath, dir, SR_KMS_ROOT_KEY_FILE, err) != SR_OK ||
        join(ppath, sizeof ppath, dir, SR_KMS_ROOT_PUB_FILE, err) != SR_OK)
        return SR_EINVAL;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sr_error_set(err, SR_EIO, "cannot create %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sr_error_set(err, SR_EIO, "%s is not a folder", dir);
    if (access(kpath, F_OK) == 0)
        return sr_error_set(err, SR_ESTATE, "%s already exists: refusing to replace a KMS root key", kpath);
    if ((rc = sr_secp_seckey_generate(sk, err)) != SR_OK || (rc = sr_secp_pubkey(sk, root_pub, err)) != SR_OK ||
        (rc = sr_keyfile_write(kpath, sk, err)) != SR_OK)
        goto out;
    char line[2 * SR_SECP_PUBKEY_LEN + 2];
    sr_hex_encode(root_pub, SR_SECP_PUBKEY_LEN, line);
    strcat(line, "\n");
    rc = sr_file_write_atomic(ppath, line, strlen(line), 0644, err);
out:
    sr_memzero(sk, sizeof sk);
    return rc;
}

int sr_kms_root_load(const char *dir, uint8_t root_sk[SR_SECP_SECKEY_LEN], uint8_t root_pub[SR_SECP_PUBKEY_LEN],
                     sr_error *err)
{
    char kpath[4096];
    if (join(kpath, sizeof kpath, dir, SR_KMS_ROOT_KEY_FILE, err) != SR_OK)
        return SR_EINVAL;
    int rc = sr_keyfile_read(kpath, root_sk, 0, err);
    if (rc == SR_OK && root_pub != NULL)
        rc = sr_secp_pubkey(root_sk, root_pub, err);
    if (rc != SR_OK)
        sr_memzero(root_sk, SR_SECP_SECKEY_LEN);
    return rc;
}

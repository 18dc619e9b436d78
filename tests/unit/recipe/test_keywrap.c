#include "test.h"

#include <sys/stat.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/keywrap.h"
#include "sealroom/secmem.h"

static void make_binding(sr_keywrap_binding *b)
{
    sr_error err;
    uint8_t app[20], ch[32];
    for (int i = 0; i < 20; i++)
        app[i] = (uint8_t)(0xa0 + i);
    sr_sha256("recipe bytes", 12, ch);
    CHECK_OK(sr_keywrap_binding_set(b, app, ch, "hospital-a", &err), &err);
}

static void test_tweak_matches_secret_side(void)
{
    sr_error err;
    uint8_t sk[32], pub[33], t[32], p[33], skp[32], p2[33];
    sr_keywrap_binding b;
    make_binding(&b);
    CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(sk, pub, &err), &err);
    CHECK_OK(sr_keywrap_tweak(pub, &b, t, &err), &err);
    CHECK_OK(sr_keywrap_recipe_pubkey(pub, &b, p, &err), &err);
    /* (sk_root + t) * G == P_root + t * G */
    CHECK_OK(sr_secp_seckey_tweak_add(sk, t, skp, &err), &err);
    CHECK_OK(sr_secp_pubkey(skp, p2, &err), &err);
    CHECK_EQ_MEM(p, p2, 33);
    CHECK(memcmp(p, pub, 33) != 0);
    /* deterministic */
    uint8_t t2[32];
    CHECK_OK(sr_keywrap_tweak(pub, &b, t2, &err), &err);
    CHECK_EQ_MEM(t, t2, 32);
    /* The tweak is HKDF(ikm = P_root, salt = label, info = app||hash||owner). */
    uint8_t info[20 + 32 + 10], t3[32];
    memcpy(info, b.app_id, 20);
    memcpy(info + 20, b.compose_hash, 32);
    memcpy(info + 52, "hospital-a", 10);
    CHECK_OK(sr_hkdf_sha256(pub, 33, (const uint8_t *)"sealroom/v1/recipe-key", 22, info, sizeof info, t3, 32, &err),
             &err);
    CHECK_EQ_MEM(t, t3, 32);
    sr_memzero(sk, 32);
    sr_memzero(skp, 32);
}

static void test_wrap_unwrap_and_binding(void)
{
    sr_error err;
    uint8_t sk[32], pub[33], dek[32], out[32];
    sr_keywrap_binding b;
    make_binding(&b);
    CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(sk, pub, &err), &err);
    CHECK_OK(sr_random(dek, 32, &err), &err);
    sr_keywrap_envelope env;
    CHECK_OK(sr_keywrap_wrap(pub, &b, dek, &env, &err), &err);
    CHECK_OK(sr_keywrap_unwrap(sk, &b, &env, out, &err), &err);
    CHECK_EQ_MEM(dek, out, 32);

    /* Two wraps of the same DEK differ (fresh ephemeral key). */
    sr_keywrap_envelope env2;
    CHECK_OK(sr_keywrap_wrap(pub, &b, dek, &env2, &err), &err);
    CHECK(memcmp(&env, &env2, sizeof env) != 0);

    /* Change one byte of the compose hash, the app id or the owner id: the
     * DEK no longer unwraps. */
    sr_keywrap_binding c = b;
    c.compose_hash[31] ^= 1;
    CHECK_EQ_INT(sr_keywrap_unwrap(sk, &c, &env, out, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "does not unwrap");
    c = b;
    c.app_id[0] ^= 0x80;
    CHECK_EQ_INT(sr_keywrap_unwrap(sk, &c, &env, out, &err), SR_EVERIFY);
    c = b;
    c.owner_id[9] = 'b';
    CHECK_EQ_INT(sr_keywrap_unwrap(sk, &c, &env, out, &err), SR_EVERIFY);
    c = b;
    strcpy(c.owner_id, "hospital-a2");
    CHECK_EQ_INT(sr_keywrap_unwrap(sk, &c, &env, out, &err), SR_EVERIFY);

    /* Another KMS root key cannot unwrap. */
    uint8_t sk2[32];
    CHECK_OK(sr_secp_seckey_generate(sk2, &err), &err);
    CHECK_EQ_INT(sr_keywrap_unwrap(sk2, &b, &env, out, &err), SR_EVERIFY);

    /* Each byte of the envelope matters. */
    for (size_t i = 0; i < sizeof env; i++) {
        sr_keywrap_envelope e = env;
        ((uint8_t *)&e)[i] ^= 0x01;
        CHECK_MSG(sr_keywrap_unwrap(sk, &b, &e, out, &err) != SR_OK, "flip of envelope byte %zu accepted", i);
    }
    /* The root secret alone, without the tweak, cannot unwrap either. */
    uint8_t ctx[20 + 32 + 10];
    memcpy(ctx, b.app_id, 20);
    memcpy(ctx + 20, b.compose_hash, 32);
    memcpy(ctx + 52, "hospital-a", 10);
    CHECK_EQ_INT(sr_keywrap_open_with(sk, ctx, sizeof ctx, &env, out, &err), SR_EVERIFY);
    sr_memzero(sk, 32);
}

static void test_generic_seal_to(void)
{
    sr_error err;
    uint8_t sk[32], pub[33], dek[32], out[32];
    CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(sk, pub, &err), &err);
    CHECK_OK(sr_random(dek, 32, &err), &err);
    sr_keywrap_envelope env;
    CHECK_OK(sr_keywrap_seal_to(pub, (const uint8_t *)"ctx", 3, dek, &env, &err), &err);
    CHECK_OK(sr_keywrap_open_with(sk, (const uint8_t *)"ctx", 3, &env, out, &err), &err);
    CHECK_EQ_MEM(dek, out, 32);
    CHECK_EQ_INT(sr_keywrap_open_with(sk, (const uint8_t *)"ctY", 3, &env, out, &err), SR_EVERIFY);
    CHECK_EQ_INT(sr_keywrap_open_with(sk, NULL, 0, &env, out, &err), SR_EVERIFY);
    uint8_t bad[33] = {0x02};
    CHECK(sr_keywrap_seal_to(bad, NULL, 0, dek, &env, &err) != SR_OK);
    sr_memzero(sk, 32);
}

static void test_kms_root_folder(void)
{
    sr_error err;
    uint8_t pub[33], sk[32], pub2[33];
    (void)sr_test_sh("rm -rf kmsdir");
    CHECK_OK(sr_kms_root_init("kmsdir", pub, &err), &err);
    struct stat st;
    CHECK(stat("kmsdir/root.key", &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat("kmsdir", &st) == 0 && (st.st_mode & 0077) == 0);
    CHECK_OK(sr_kms_root_load("kmsdir", sk, pub2, &err), &err);
    CHECK_EQ_MEM(pub, pub2, 33);
    sr_buf b = {0};
    CHECK_OK(sr_file_read("kmsdir/root.pub", 1000, &b, &err), &err);
    char hex[67];
    sr_hex_encode(pub, 33, hex);
    CHECK(b.len == 67 && memcmp(b.data, hex, 66) == 0 && b.data[66] == '\n');
    sr_buf_free(&b);
    CHECK_EQ_INT(sr_kms_root_init("kmsdir", pub2, &err), SR_ESTATE);
    CHECK_CONTAINS(err.msg, "refusing");
    CHECK(sr_kms_root_load("nodir", sk, NULL, &err) != SR_OK);
    sr_memzero(sk, 32);
}

/* Known-answer vector, computed independently with Python (cryptography +
 * ecdsa) from docs/FORMAT.md; the same values are listed in that document. */
static void test_known_answer(void)
{
    sr_error err;
    uint8_t sk[32], pub[33], want_pub[33], app[20], ch[32], t[32], want_t[32], p[33], want_p[33], dek[32],
        want_dek[32];
    sr_keywrap_envelope env;
    sr_test_unhex("fa18207aa3ff13998ecfcf62c84a9f8f4a55525742a335856a200f2548ba6402", sk, 32);
    sr_test_unhex("035fd6be11207b350f8345f9ba6f938cd42f39de300eb8e5567beb2e67bbe402af", want_pub, 33);
    sr_test_unhex("00112233445566778899aabbccddeeff00112233", app, 20);
    sr_test_unhex("c3aa9744214caf6eb993d6f88f3f1dda3e4e60d59f712b6463c4ce2c4b00dfa1", ch, 32);
    sr_test_unhex("7aee853cca88431ff158f8936ebd4461ebec2e3338739bdf8df36418ac86a54b", want_t, 32);
    sr_test_unhex("02c70aad4ade7d70cd47fc7cc0c995ebeb0445bdf29fed340c1c553873e38287fb", want_p, 33);
    sr_test_unhex("03e2f06b561f70060eb602929148a52e4ebfdaa59d08a42594011fb55ba5f0f6d0", env.ephemeral, 33);
    sr_test_unhex("425668029a13712ae73e5002176c7ad64d2baba7da5b3be70a752447ab9826a2"
                  "dd1a3134d292ebc416a74ce51100e080", env.wrapped, 48);
    sr_test_unhex("a44392fe6bf50dfba67fcefcb0caf8da54ddc9d7c96fc1c4f8cebf9517cb58a3", want_dek, 32);
    uint8_t h[32];
    sr_sha256("{\"version\": 1}", 14, h);
    CHECK_EQ_MEM(h, ch, 32);
    CHECK_OK(sr_secp_pubkey(sk, pub, &err), &err);
    CHECK_EQ_MEM(pub, want_pub, 33);
    sr_keywrap_binding b;
    CHECK_OK(sr_keywrap_binding_set(&b, app, ch, "hospital-a", &err), &err);
    CHECK_OK(sr_keywrap_tweak(pub, &b, t, &err), &err);
    CHECK_EQ_MEM(t, want_t, 32);
    CHECK_OK(sr_keywrap_recipe_pubkey(pub, &b, p, &err), &err);
    CHECK_EQ_MEM(p, want_p, 33);
    CHECK_OK(sr_keywrap_unwrap(sk, &b, &env, dek, &err), &err);
    CHECK_EQ_MEM(dek, want_dek, 32);
}

int main(void)
{
    SR_RUN(test_tweak_matches_secret_side);
    SR_RUN(test_wrap_unwrap_and_binding);
    SR_RUN(test_generic_seal_to);
    SR_RUN(test_kms_root_folder);
    SR_RUN(test_known_answer);
    return sr_test_finish();
}

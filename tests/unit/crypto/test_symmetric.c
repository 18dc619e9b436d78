/* Unit tests: SHA-2, HMAC, HKDF, Keccak-256, AES-256-GCM. */
#include "test.h"

#include <stdlib.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

static void check_hex(const uint8_t *got, size_t n, const char *want_hex)
{
    char hex[2 * 256 + 1];
    CHECK(n <= 256);
    sr_hex_encode(got, n, hex);
    CHECK_EQ_STR(hex, want_hex);
}

static void test_sha2(void)
{
    uint8_t h[SR_SHA384_LEN];
    sr_sha256("", 0, h);
    check_hex(h, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sr_sha256("abc", 3, h);
    check_hex(h, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sr_sha256(two, strlen(two), h);
    check_hex(h, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sr_sha384("abc", 3, h);
    check_hex(h, 48,
              "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");

    /* incremental = one-shot, split anywhere */
    for (size_t cut = 0; cut <= strlen(two); cut += 7) {
        sr_sha256_ctx *c = sr_sha256_new();
        CHECK(c != NULL);
        if (c == NULL)
            return;
        sr_sha256_update(c, two, cut);
        sr_sha256_update(c, two + cut, strlen(two) - cut);
        sr_sha256_final(c, h);
        check_hex(h, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    }
}

static void test_hmac(void)
{
    sr_error err;
    uint8_t mac[32];
    /* RFC 4231 test case 2 */
    const char *data = "what do ya want for nothing?";
    CHECK_OK(sr_hmac_sha256((const uint8_t *)"Jefe", 4, data, strlen(data), mac, &err), &err);
    check_hex(mac, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 1 */
    uint8_t key[20];
    memset(key, 0x0b, sizeof key);
    CHECK_OK(sr_hmac_sha256(key, sizeof key, "Hi There", 8, mac, &err), &err);
    check_hex(mac, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    /* empty key / empty message (values from Python's hmac module) */
    CHECK_OK(sr_hmac_sha256(NULL, 0, "abc", 3, mac, &err), &err);
    check_hex(mac, 32, "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
    CHECK_OK(sr_hmac_sha256((const uint8_t *)"k", 1, NULL, 0, mac, &err), &err);
    check_hex(mac, 32, "8bb990c40a7d61cb97597a942125025be50ac8beb74436e3735b98893a7f6620");
    CHECK_EQ_INT(sr_hmac_sha256(NULL, 3, "abc", 3, mac, &err), SR_EINVAL);
}

static void test_hkdf_rfc5869(void)
{
    sr_error err;
    uint8_t ikm[80], salt[80], info[80], okm[82];
    /* case 1 */
    memset(ikm, 0x0b, 22);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    CHECK_OK(sr_hkdf_sha256(ikm, 22, salt, 13, info, 10, okm, 42, &err), &err);
    check_hex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
    /* case 2 */
    for (int i = 0; i < 80; i++) {
        ikm[i] = (uint8_t)i;
        salt[i] = (uint8_t)(0x60 + i);
        info[i] = (uint8_t)(0xb0 + i);
    }
    CHECK_OK(sr_hkdf_sha256(ikm, 80, salt, 80, info, 80, okm, 82, &err), &err);
    check_hex(okm, 82,
              "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2"
              "f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
    /* case 3: no salt, no info */
    memset(ikm, 0x0b, 22);
    CHECK_OK(sr_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, okm, 42, &err), &err);
    check_hex(okm, 42, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
    /* empty IKM (value from python3-cryptography) */
    CHECK_OK(sr_hkdf_sha256(NULL, 0, (const uint8_t *)"salt", 4, (const uint8_t *)"info", 4, okm, 40, &err), &err);
    check_hex(okm, 40, "7aac7b8120501c2c8e1ee50e6cde135361e99ceb9d8d406ac528b9e9175614c060cbc045f3b60eda");
    /* bounds */
    static uint8_t big[255 * 32 + 1];
    CHECK_OK(sr_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, big, 255 * 32, &err), &err);
    CHECK_EQ_INT(sr_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, big, 255 * 32 + 1, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_hkdf_sha256(ikm, 22, NULL, 0, NULL, 0, big, 0, &err), SR_EINVAL);
}

static void test_keccak_vectors(void)
{
    uint8_t h[32];
    sr_keccak256("", 0, h);
    check_hex(h, 32, "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    sr_keccak256("abc", 3, h);
    check_hex(h, 32, "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    /* not SHA3-256("abc") = 3a985da7... */
    CHECK(h[0] != 0x3a);
    uint8_t a[136];
    memset(a, 'a', sizeof a);
    /* rate - 1 bytes: pad bytes 0x01 and 0x80 share one byte (0x81) */
    sr_keccak256(a, 135, h);
    check_hex(h, 32, "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
    /* exactly one block: padding goes in a second block */
    sr_keccak256(a, 136, h);
    check_hex(h, 32, "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
    /* 200 bytes 0..199 crosses the rate boundary (value from pycryptodome) */
    uint8_t m[200];
    for (int i = 0; i < 200; i++)
        m[i] = (uint8_t)i;
    sr_keccak256(m, sizeof m, h);
    check_hex(h, 32, "bfb0aa97863e797943cf7c33bb7e880bb4543f3d2703c0923c6901c2af57b890");
}

static void test_keccak_incremental(void)
{
    uint8_t m[200], want[32], got[32];
    for (int i = 0; i < 200; i++)
        m[i] = (uint8_t)(i * 7 + 3);
    sr_keccak256(m, sizeof m, want);
    int bad = 0;
    for (size_t cut = 0; cut <= sizeof m; cut++) {
        sr_keccak_ctx c;
        sr_keccak256_init(&c);
        sr_keccak256_update(&c, m, cut);
        sr_keccak256_update(&c, m + cut, sizeof m - cut);
        sr_keccak256_final(&c, got);
        bad += memcmp(got, want, 32) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    /* two cuts, and byte-at-a-time */
    bad = 0;
    for (size_t c1 = 0; c1 <= sizeof m; c1 += 5) {
        for (size_t c2 = c1; c2 <= sizeof m; c2 += 3) {
            sr_keccak_ctx c;
            sr_keccak256_init(&c);
            sr_keccak256_update(&c, m, c1);
            sr_keccak256_update(&c, m + c1, c2 - c1);
            sr_keccak256_update(&c, m + c2, sizeof m - c2);
            sr_keccak256_final(&c, got);
            bad += memcmp(got, want, 32) != 0;
        }
    }
    CHECK_EQ_INT(bad, 0);
    sr_keccak_ctx c;
    sr_keccak256_init(&c);
    for (size_t i = 0; i < sizeof m; i++)
        sr_keccak256_update(&c, m + i, 1);
    sr_keccak256_final(&c, got);
    CHECK_EQ_MEM(got, want, 32);
}

/* McGrew & Viega, "The GCM mode of operation", test case 16 (AES-256). */
static const char *GCM_K = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
static const char *GCM_P = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e"
                           "2449a6b525b16aedf5aa0de657ba637b39";
static const char *GCM_A = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char *GCM_IV = "cafebabefacedbaddecaf888";
static const char *GCM_C = "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b"
                           "1056828838c5f61e6393ba7a0abcc9f662";
static const char *GCM_T = "76fc6ece0f4e1768cddf8853bb2d551b";

static void test_gcm_vector(void)
{
    sr_error err;
    uint8_t k[32], iv[12], a[20], p[60], c[60], t[16], out[60], tag[16];
    CHECK_EQ_INT(sr_test_unhex(GCM_K, k, sizeof k), 32);
    CHECK_EQ_INT(sr_test_unhex(GCM_IV, iv, sizeof iv), 12);
    CHECK_EQ_INT(sr_test_unhex(GCM_A, a, sizeof a), 20);
    CHECK_EQ_INT(sr_test_unhex(GCM_P, p, sizeof p), 60);
    CHECK_EQ_INT(sr_test_unhex(GCM_C, c, sizeof c), 60);
    CHECK_EQ_INT(sr_test_unhex(GCM_T, t, sizeof t), 16);

    CHECK_OK(sr_aes256gcm_encrypt(k, iv, a, sizeof a, p, sizeof p, out, tag, &err), &err);
    CHECK_EQ_MEM(out, c, 60);
    CHECK_EQ_MEM(tag, t, 16);
    CHECK_OK(sr_aes256gcm_decrypt(k, iv, a, sizeof a, c, sizeof c, t, out, &err), &err);
    CHECK_EQ_MEM(out, p, 60);

    /* test case 13: empty everything */
    uint8_t zk[32] = {0}, ziv[12] = {0};
    CHECK_OK(sr_aes256gcm_encrypt(zk, ziv, NULL, 0, NULL, 0, NULL, tag, &err), &err);
    check_hex(tag, 16, "530f8afbc74536b9a963b4f1c4cb738b");
    CHECK_OK(sr_aes256gcm_decrypt(zk, ziv, NULL, 0, NULL, 0, tag, NULL, &err), &err);

    /* the reusable context gives the same answers, many times over */
    sr_gcm *g = sr_gcm_new(k, &err);
    CHECK(g != NULL);
    if (g == NULL)
        return;
    for (int round = 0; round < 3; round++) {
        memset(out, 0, sizeof out);
        CHECK_OK(sr_gcm_seal(g, iv, a, sizeof a, p, sizeof p, out, tag, &err), &err);
        CHECK_EQ_MEM(out, c, 60);
        CHECK_EQ_MEM(tag, t, 16);
        CHECK_OK(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out, &err), &err);
        CHECK_EQ_MEM(out, p, 60);
        /* a different nonce in between must not leak into the next segment */
        uint8_t iv2[12] = {1};
        CHECK_OK(sr_gcm_seal(g, iv2, NULL, 0, p, sizeof p, out, tag, &err), &err);
        CHECK(memcmp(out, c, 60) != 0);
    }
    /* in place */
    memcpy(out, p, 60);
    CHECK_OK(sr_gcm_seal(g, iv, a, sizeof a, out, sizeof out, out, tag, &err), &err);
    CHECK_EQ_MEM(out, c, 60);
    CHECK_OK(sr_gcm_open(g, iv, a, sizeof a, out, sizeof out, tag, out, &err), &err);
    CHECK_EQ_MEM(out, p, 60);
    sr_gcm_free(g);
    sr_gcm_free(NULL);
}

static void test_gcm_tamper(void)
{
    sr_error err;
    uint8_t k[32], iv[12], a[20], c[60], t[16], out[60];
    sr_test_unhex(GCM_K, k, sizeof k);
    sr_test_unhex(GCM_IV, iv, sizeof iv);
    sr_test_unhex(GCM_A, a, sizeof a);
    sr_test_unhex(GCM_C, c, sizeof c);
    sr_test_unhex(GCM_T, t, sizeof t);
    sr_gcm *g = sr_gcm_new(k, &err);
    CHECK(g != NULL);
    if (g == NULL)
        return;
    static const size_t spots[] = {0, 15, 59};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        c[spots[i]] ^= 0x01;
        memset(out, 0x55, sizeof out);
        CHECK_EQ_INT(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out, &err), SR_EVERIFY);
        CHECK_CONTAINS(err.msg, "authentication failed");
        uint8_t zero[60] = {0};
        CHECK_EQ_MEM(out, zero, 60); /* plaintext wiped */
        c[spots[i]] ^= 0x01;
    }
    t[15] ^= 0x80;
    CHECK_EQ_INT(sr_aes256gcm_decrypt(k, iv, a, sizeof a, c, sizeof c, t, out, &err), SR_EVERIFY);
    CHECK_EQ_INT(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out, &err), SR_EVERIFY);
    t[15] ^= 0x80;
    a[0] ^= 0x01;
    CHECK_EQ_INT(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out, &err), SR_EVERIFY);
    a[0] ^= 0x01;
    CHECK_EQ_INT(sr_gcm_open(g, iv, a, sizeof a - 1, c, sizeof c, t, out, &err), SR_EVERIFY);
    iv[11] ^= 0x01;
    CHECK_EQ_INT(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out, &err), SR_EVERIFY);
    iv[11] ^= 0x01;
    CHECK_EQ_INT(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c - 1, t, out, &err), SR_EVERIFY);
    /* untouched: opens again after all the failures */
    CHECK_OK(sr_gcm_open(g, iv, a, sizeof a, c, sizeof c, t, out, &err), &err);
    /* wrong key */
    uint8_t k2[32];
    memcpy(k2, k, 32);
    k2[0] ^= 1;
    CHECK_EQ_INT(sr_aes256gcm_decrypt(k2, iv, a, sizeof a, c, sizeof c, t, out, &err), SR_EVERIFY);
    /* NULL data with a length */
    CHECK_EQ_INT(sr_gcm_seal(g, iv, NULL, 5, c, sizeof c, out, t, &err), SR_EINVAL);
    sr_gcm_free(g);
}

static void test_gcm_large_roundtrip(void)
{
    sr_error err;
    size_t n = 1000003;
    uint8_t *p = malloc(n), *c = malloc(n), *q = malloc(n);
    uint8_t key[32], nonce[12], tag[16];
    CHECK(p && c && q);
    if (!(p && c && q)) {
        free(p), free(c), free(q);
        return;
    }
    CHECK_OK(sr_random(key, sizeof key, &err), &err);
    CHECK_OK(sr_random(nonce, sizeof nonce, &err), &err);
    CHECK_OK(sr_random(p, n, &err), &err);
    CHECK_OK(sr_aes256gcm_encrypt(key, nonce, (const uint8_t *)"hdr", 3, p, n, c, tag, &err), &err);
    CHECK(memcmp(p, c, 64) != 0);
    CHECK_OK(sr_aes256gcm_decrypt(key, nonce, (const uint8_t *)"hdr", 3, c, n, tag, q, &err), &err);
    CHECK(memcmp(p, q, n) == 0);
    free(p);
    free(c);
    free(q);
}

static void test_random(void)
{
    sr_error err;
    uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};
    CHECK_OK(sr_random(a, sizeof a, &err), &err);
    CHECK_OK(sr_random(b, sizeof b, &err), &err);
    CHECK(memcmp(a, zero, 32) != 0);
    CHECK(memcmp(a, b, 32) != 0);
}

int main(void)
{
    SR_RUN(test_sha2);
    SR_RUN(test_hmac);
    SR_RUN(test_hkdf_rfc5869);
    SR_RUN(test_keccak_vectors);
    SR_RUN(test_keccak_incremental);
    SR_RUN(test_gcm_vector);
    SR_RUN(test_gcm_tamper);
    SR_RUN(test_gcm_large_roundtrip);
    SR_RUN(test_random);
    return sr_test_finish();
}

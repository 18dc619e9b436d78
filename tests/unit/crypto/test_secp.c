/* Unit tests: secp256k1, Ethereum addresses, EIP-55/191/712, key files. */
#include "test.h"

#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

static const char *ORDER_N = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

static void addr_str_of_sk(const uint8_t sk[32], char out[43])
{
    sr_error err;
    uint8_t a[20];
    memset(out, 0, 43);
    CHECK_OK(sr_eth_address_from_seckey(sk, a, &err), &err);
    sr_eth_address_to_string(a, out);
}

static void test_known_addresses(void)
{
    uint8_t sk[32] = {0};
    char s[43];
    sk[31] = 1;
    addr_str_of_sk(sk, s);
    CHECK_EQ_STR(s, "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
    sk[31] = 2;
    addr_str_of_sk(sk, s);
    CHECK_EQ_STR(s, "0x2B5AD5c4795c026514f8317c7a215E218DcCD6cF");
    sr_test_unhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", sk, 32);
    addr_str_of_sk(sk, s);
    CHECK_EQ_STR(s, "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23");
    /* EIP-712 example "cow" key = keccak256("cow") */
    sr_keccak256("cow", 3, sk);
    addr_str_of_sk(sk, s);
    CHECK_EQ_STR(s, "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826");

    /* address from compressed and uncompressed keys agree */
    sr_error err;
    uint8_t pub[33], full[65], a1[20], a2[20], a3[20];
    CHECK_OK(sr_secp_pubkey(sk, pub, &err), &err);
    CHECK_OK(sr_secp_pubkey_full(sk, full, &err), &err);
    CHECK(pub[0] == 0x02 || pub[0] == 0x03);
    CHECK(full[0] == 0x04);
    CHECK_EQ_MEM(pub + 1, full + 1, 32);
    CHECK_OK(sr_eth_address_from_pubkey(pub, 33, a1, &err), &err);
    CHECK_OK(sr_eth_address_from_pubkey(full, 65, a2, &err), &err);
    CHECK_OK(sr_eth_address_from_seckey(sk, a3, &err), &err);
    CHECK_EQ_MEM(a1, a2, 20);
    CHECK_EQ_MEM(a1, a3, 20);
    CHECK_EQ_INT(sr_eth_address_from_pubkey(full, 64, a2, &err), SR_EFORMAT);
}

static void test_pubkey_formats(void)
{
    sr_error err;
    uint8_t sk[32], pub[33], full[65], back[65], norm[33], addr_out[20];
    CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
    CHECK_OK(sr_secp_seckey_verify(sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(sk, pub, &err), &err);
    CHECK_OK(sr_secp_pubkey_full(sk, full, &err), &err);
    CHECK_OK(sr_secp_pubkey_decompress(pub, back, &err), &err);
    CHECK_EQ_MEM(back, full, 65);
    CHECK_OK(sr_secp_pubkey_normalize(full, 65, norm, &err), &err);
    CHECK_EQ_MEM(norm, pub, 33);
    CHECK_OK(sr_secp_pubkey_normalize(pub, 33, norm, &err), &err);
    CHECK_EQ_MEM(norm, pub, 33);
    /* hybrid form (0x06/0x07 + X + Y) refused even when its parity is right */
    full[0] = (uint8_t)(0x06 | (full[64] & 1));
    CHECK_EQ_INT(sr_secp_pubkey_normalize(full, 65, norm, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_from_pubkey(full, 65, addr_out, &err), SR_EFORMAT);
    full[0] = 0x04;
    CHECK_OK(sr_secp_pubkey_normalize(full, 65, norm, &err), &err);
    /* off the curve: change Y */
    full[64] ^= 1;
    CHECK_EQ_INT(sr_secp_pubkey_normalize(full, 65, norm, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_from_pubkey(full, 65, sk, &err), SR_EFORMAT);
    /* bad prefix, bad length */
    pub[0] = 0x05;
    CHECK_EQ_INT(sr_secp_pubkey_normalize(pub, 33, norm, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_secp_pubkey_normalize(pub, 32, norm, &err), SR_EFORMAT);
    /* invalid secret keys: zero and n */
    uint8_t zero[32] = {0}, n[32];
    sr_test_unhex(ORDER_N, n, 32);
    CHECK_EQ_INT(sr_secp_seckey_verify(zero, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_secp_seckey_verify(n, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_secp_pubkey(n, norm, &err), SR_EFORMAT);
    n[31] -= 1; /* n - 1 is the largest valid key */
    CHECK_OK(sr_secp_seckey_verify(n, &err), &err);
    /* two generated keys differ */
    uint8_t sk2[32];
    CHECK_OK(sr_secp_seckey_generate(sk2, &err), &err);
    CHECK(memcmp(sk, sk2, 32) != 0);
}

static void test_ecdh(void)
{
    sr_error err;
    uint8_t a[32], b[32], pa[33], pb[33], s1[32], s2[32];
    CHECK_OK(sr_secp_seckey_generate(a, &err), &err);
    CHECK_OK(sr_secp_seckey_generate(b, &err), &err);
    CHECK_OK(sr_secp_pubkey(a, pa, &err), &err);
    CHECK_OK(sr_secp_pubkey(b, pb, &err), &err);
    CHECK_OK(sr_secp_ecdh(a, pb, s1, &err), &err);
    CHECK_OK(sr_secp_ecdh(b, pa, s2, &err), &err);
    CHECK_EQ_MEM(s1, s2, 32);
    /* the hash: with sk = 1 the shared point is B itself, so shared = SHA-256(compressed B) */
    uint8_t one[32] = {0}, h[32];
    one[31] = 1;
    CHECK_OK(sr_secp_ecdh(one, pb, s1, &err), &err);
    sr_sha256(pb, 33, h);
    CHECK_EQ_MEM(s1, h, 32);
    /* a different peer gives a different secret */
    CHECK_OK(sr_secp_ecdh(a, pa, s2, &err), &err);
    CHECK_OK(sr_secp_ecdh(a, pb, s1, &err), &err);
    CHECK(memcmp(s1, s2, 32) != 0);
    pb[0] = 0x07;
    CHECK_EQ_INT(sr_secp_ecdh(a, pb, s1, &err), SR_EFORMAT);
}

static void test_tweak(void)
{
    sr_error err;
    uint8_t sk[32], t[32], sk2[32], p[33], pt[33], p2[33];
    for (int i = 0; i < 8; i++) {
        CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
        CHECK_OK(sr_secp_seckey_generate(t, &err), &err);
        CHECK_OK(sr_secp_pubkey(sk, p, &err), &err);
        CHECK_OK(sr_secp_seckey_tweak_add(sk, t, sk2, &err), &err);
        CHECK_OK(sr_secp_pubkey_tweak_add(p, t, pt, &err), &err);
        CHECK_OK(sr_secp_pubkey(sk2, p2, &err), &err);
        CHECK_EQ_MEM(p2, pt, 33); /* (sk + t) G == P + t G */
        CHECK(memcmp(p2, p, 33) != 0);
    }
    /* small numbers: 5 + 7 = 12 */
    uint8_t five[32] = {0}, seven[32] = {0}, twelve[32] = {0}, out[32];
    five[31] = 5, seven[31] = 7, twelve[31] = 12;
    CHECK_OK(sr_secp_seckey_tweak_add(five, seven, out, &err), &err);
    CHECK_EQ_MEM(out, twelve, 32);
    /* wrap-around: (n - 1) + 2 = 1 */
    uint8_t nm1[32], two[32] = {0}, one[32] = {0};
    sr_test_unhex(ORDER_N, nm1, 32);
    nm1[31] -= 1;
    two[31] = 2, one[31] = 1;
    CHECK_OK(sr_secp_seckey_tweak_add(nm1, two, out, &err), &err);
    CHECK_EQ_MEM(out, one, 32);
    /* tweak >= n refused; result zero refused */
    uint8_t n[32];
    sr_test_unhex(ORDER_N, n, 32);
    CHECK_EQ_INT(sr_secp_seckey_tweak_add(five, n, out, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_secp_pubkey_tweak_add(p, n, pt, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_secp_seckey_tweak_add(nm1, one, out, &err), SR_EINVAL);
    /* P + t G at infinity: P = (n-1) G, t = 1 */
    uint8_t pn[33];
    CHECK_OK(sr_secp_pubkey(nm1, pn, &err), &err);
    CHECK_EQ_INT(sr_secp_pubkey_tweak_add(pn, one, pt, &err), SR_EINVAL);
}

/* s' = n - s (big-endian, 32 bytes) */
static void negate_mod_n(uint8_t s[32])
{
    uint8_t n[32];
    sr_test_unhex(ORDER_N, n, 32);
    int borrow = 0;
    for (int i = 31; i >= 0; i--) {
        int d = n[i] - s[i] - borrow;
        borrow = d < 0;
        s[i] = (uint8_t)(d + (borrow ? 256 : 0));
    }
}

static void test_sign_recover(void)
{
    sr_error err;
    uint8_t sk[32], full[65], rec[65], digest[32], sig[65], addr[20], raddr[20];
    for (int i = 0; i < 16; i++) {
        CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
        CHECK_OK(sr_secp_pubkey_full(sk, full, &err), &err);
        CHECK_OK(sr_random(digest, 32, &err), &err);
        CHECK_OK(sr_secp_sign_recoverable(sk, digest, sig, &err), &err);
        CHECK(sig[64] == 27 || sig[64] == 28);
        CHECK(sig[32] < 0x80); /* low-s: s <= n/2 < 0x7fff.. */
        CHECK_OK(sr_secp_recover(digest, sig, rec, &err), &err);
        CHECK_EQ_MEM(rec, full, 65);
        /* deterministic (RFC 6979) */
        uint8_t sig2[65];
        CHECK_OK(sr_secp_sign_recoverable(sk, digest, sig2, &err), &err);
        CHECK_EQ_MEM(sig, sig2, 65);
        /* v as 0/1 also accepted */
        sig2[64] = (uint8_t)(sig[64] - 27);
        CHECK_OK(sr_secp_recover(digest, sig2, rec, &err), &err);
        CHECK_EQ_MEM(rec, full, 65);
        CHECK_OK(sr_eth_address_from_seckey(sk, addr, &err), &err);
        CHECK_OK(sr_eth_recover_address(digest, sig, raddr, &err), &err);
        CHECK_EQ_MEM(addr, raddr, 20);
        /* another digest recovers someone else (or nothing) */
        digest[0] ^= 1;
        int rc = sr_eth_recover_address(digest, sig, raddr, &err);
        CHECK(rc != SR_OK || memcmp(addr, raddr, 20) != 0);
        digest[0] ^= 1;
        /* wrong v recovers someone else */
        sig2[64] = (uint8_t)(sig[64] == 27 ? 28 : 27);
        rc = sr_eth_recover_address(digest, sig2, raddr, &err);
        CHECK(rc != SR_OK || memcmp(addr, raddr, 20) != 0);
        /* high-s twin (n - s, flipped v) is rejected */
        memcpy(sig2, sig, 65);
        negate_mod_n(sig2 + 32);
        sig2[64] = (uint8_t)(sig[64] == 27 ? 28 : 27);
        CHECK_EQ_INT(sr_secp_recover(digest, sig2, rec, &err), SR_EVERIFY);
        CHECK_CONTAINS(err.msg, "high-s");
    }
    /* bad v */
    sig[64] = 29;
    CHECK_EQ_INT(sr_secp_recover(digest, sig, rec, &err), SR_EFORMAT);
    sig[64] = 2;
    CHECK_EQ_INT(sr_secp_recover(digest, sig, rec, &err), SR_EFORMAT);
    /* r >= n */
    sig[64] = 27;
    memset(sig, 0xff, 32);
    CHECK_EQ_INT(sr_secp_recover(digest, sig, rec, &err), SR_EFORMAT);
    /* r = 0 */
    memset(sig, 0, 32);
    CHECK(sr_secp_recover(digest, sig, rec, &err) != SR_OK);
    /* signing with an invalid key */
    uint8_t zero[32] = {0};
    CHECK_EQ_INT(sr_secp_sign_recoverable(zero, digest, sig, &err), SR_EFORMAT);
}

static void test_eip55(void)
{
    static const char *good[] = {
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        "0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77", "0x27b1fdb04752bbc536007a920d24acb045561c26",
    };
    sr_error err;
    uint8_t a[20];
    char s[43];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CHECK_OK(sr_eth_address_parse(good[i], a, &err), &err);
        sr_eth_address_to_string(a, s);
        CHECK_EQ_STR(s, good[i]); /* the vectors are their own checksum form */
    }
    /* all lower / all upper forms of a checksummed address parse to the same bytes */
    uint8_t b[20];
    CHECK_OK(sr_eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", b, &err), &err);
    CHECK_OK(sr_eth_address_parse("0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED", a, &err), &err);
    CHECK_EQ_MEM(a, b, 20);
    /* one letter's case changed: checksum fails */
    CHECK_EQ_INT(sr_eth_address_parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", a, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "checksum");
    CHECK_EQ_INT(sr_eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", a, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed0", a, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_parse("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed00", a, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg", a, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_parse("", a, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_eth_address_parse(NULL, a, &err), SR_EINVAL);
}

static void test_eip191(void)
{
    uint8_t d[32];
    char hex[65];
    /* ethers.hashMessage("Hello World") */
    sr_eip191_digest("Hello World", 11, d);
    sr_hex_encode(d, 32, hex);
    CHECK_EQ_STR(hex, "a1de988600a42c4b4ab089b619297c17d53cffae5d5120d82d8a92d0bb3b78f2");
    /* the same as hashing the prefixed message by hand */
    uint8_t e[32];
    const char *m = "\x19" "Ethereum Signed Message:\n" "11" "Hello World";
    sr_keccak256(m, strlen(m), e);
    CHECK_EQ_MEM(d, e, 32);
}

static void person_hash(const char *name, const char *wallet, uint8_t out[32])
{
    sr_error err;
    uint8_t th[32], words[2][32], a[20];
    sr_eip712_type_hash("Person(string name,address wallet)", th);
    sr_word_bytes_hash(name, strlen(name), words[0]);
    CHECK_OK(sr_eth_address_parse(wallet, a, &err), &err);
    sr_word_address(a, words[1]);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])words, 2, out);
}

/* The "Mail" example of EIP-712 (assets/eip-712/Example.js). */
static void test_eip712_mail(void)
{
    sr_error err;
    sr_eip712_domain d = {.name = "Ether Mail", .version = "1", .chain_id = 1};
    CHECK_OK(sr_eth_address_parse("0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC", d.verifying_contract, &err), &err);
    uint8_t ds[32], sh[32], dg[32], words[3][32], th[32];
    char hex[131];
    sr_eip712_domain_separator(&d, ds);
    sr_hex_encode(ds, 32, hex);
    CHECK_EQ_STR(hex, "f2cee375fa42b42143804025fc449deafd50cc031ca257e0b194a650a912090f");

    sr_eip712_type_hash("Mail(Person from,Person to,string contents)Person(string name,address wallet)", th);
    sr_hex_encode(th, 32, hex);
    CHECK_EQ_STR(hex, "a0cedeb2dc280ba39b857546d74f5549c3a1d7bdc2dd96bf881f76108e23dac2");
    person_hash("Cow", "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", words[0]);
    person_hash("Bob", "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB", words[1]);
    sr_word_bytes_hash("Hello, Bob!", 11, words[2]);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])words, 3, sh);
    sr_hex_encode(sh, 32, hex);
    CHECK_EQ_STR(hex, "c52c0ee5d84264471806290a3f2c4cecfc5490626bf912d01f240d7a274b371e");
    sr_eip712_digest(ds, sh, dg);
    sr_hex_encode(dg, 32, hex);
    CHECK_EQ_STR(hex, "be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2");

    uint8_t cow[32], sig[65];
    sr_keccak256("cow", 3, cow);
    CHECK_OK(sr_secp_sign_recoverable(cow, dg, sig, &err), &err);
    sr_hex_encode(sig, 65, hex);
    CHECK_EQ_STR(hex, "4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d"
                      "07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562"
                      "1c");
    uint8_t a[20], want[20];
    CHECK_OK(sr_eth_recover_address(dg, sig, a, &err), &err);
    sr_eth_address_parse("0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826", want, &err);
    CHECK_EQ_MEM(a, want, 20);
}

static void test_words(void)
{
    uint8_t w[32], want[32] = {0};
    sr_word_uint64(0x0102030405060708ull, w);
    want[24] = 1, want[25] = 2, want[26] = 3, want[27] = 4, want[28] = 5, want[29] = 6, want[30] = 7, want[31] = 8;
    CHECK_EQ_MEM(w, want, 32);
    uint8_t a[20];
    memset(a, 0xab, 20);
    sr_word_address(a, w);
    memset(want, 0, 12);
    memset(want + 12, 0xab, 20);
    CHECK_EQ_MEM(w, want, 32);
    uint8_t k[32];
    sr_word_bytes_hash(NULL, 0, w);
    sr_keccak256("", 0, k);
    CHECK_EQ_MEM(w, k, 32);
}

static void test_keyfile(void)
{
    sr_error err;
    uint8_t sk[32], back[32];
    mode_t old = umask(0);
    CHECK_OK(sr_secp_seckey_generate(sk, &err), &err);
    unlink("k1.key");
    CHECK_OK(sr_keyfile_write("k1.key", sk, &err), &err);
    umask(old);
    struct stat st;
    CHECK(stat("k1.key", &st) == 0 && (st.st_mode & 07777) == 0600);
    CHECK_EQ_INT(st.st_size, 65);
    char text[80] = {0}, hex[65];
    FILE *f = fopen("k1.key", "r");
    CHECK(f != NULL);
    if (f != NULL) {
        CHECK(fgets(text, sizeof text, f) != NULL);
        fclose(f);
    }
    sr_hex_encode(sk, 32, hex);
    CHECK(strlen(text) == 65 && memcmp(text, hex, 64) == 0 && text[64] == '\n');
    CHECK_OK(sr_keyfile_read("k1.key", back, 0, &err), &err);
    CHECK_EQ_MEM(back, sk, 32);

    /* loose mode refused unless allowed */
    CHECK(chmod("k1.key", 0644) == 0);
    memset(back, 0x11, 32);
    CHECK_EQ_INT(sr_keyfile_read("k1.key", back, 0, &err), SR_EDENIED);
    CHECK_CONTAINS(err.msg, "0644");
    uint8_t zero[32] = {0};
    CHECK_EQ_MEM(back, zero, 32);
    CHECK_OK(sr_keyfile_read("k1.key", back, 1, &err), &err);
    CHECK_EQ_MEM(back, sk, 32);
    CHECK(chmod("k1.key", 0640) == 0);
    CHECK_EQ_INT(sr_keyfile_read("k1.key", back, 0, &err), SR_EDENIED);
    CHECK(chmod("k1.key", 0400) == 0);
    CHECK_OK(sr_keyfile_read("k1.key", back, 0, &err), &err);
    /* overwrite keeps 0600 */
    CHECK(chmod("k1.key", 0600) == 0);
    CHECK_OK(sr_keyfile_write("k1.key", sk, &err), &err);
    CHECK(stat("k1.key", &st) == 0 && (st.st_mode & 07777) == 0600);

    /* bad contents */
    static const char *bad[] = {
        "", "\n", "abcd\n", "zz\n",
        "000000000000000000000000000000000000000000000000000000000000000g\n",
        "0000000000000000000000000000000000000000000000000000000000000000\n", /* zero key */
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\n", /* n */
        "00000000000000000000000000000000000000000000000000000000000000011\n",
        "0000000000000000000000000000000000000000000000000000000000000001\n\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unlink("bad.key");
        FILE *g = fopen("bad.key", "w");
        CHECK(g != NULL);
        if (g == NULL)
            continue;
        fputs(bad[i], g);
        fclose(g);
        chmod("bad.key", 0600);
        CHECK_MSG(sr_keyfile_read("bad.key", back, 0, &err) == SR_EFORMAT, "case %zu", i);
    }
    /* tolerated: no newline, 0x prefix, CRLF, uppercase */
    static const char *ok[] = {
        "0000000000000000000000000000000000000000000000000000000000000001",
        "0x0000000000000000000000000000000000000000000000000000000000000001\n",
        "0000000000000000000000000000000000000000000000000000000000000001\r\n",
    };
    uint8_t one[32] = {0};
    one[31] = 1;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        unlink("ok.key");
        FILE *g = fopen("ok.key", "w");
        CHECK(g != NULL);
        if (g == NULL)
            continue;
        fputs(ok[i], g);
        fclose(g);
        chmod("ok.key", 0600);
        CHECK_OK(sr_keyfile_read("ok.key", back, 0, &err), &err);
        CHECK_EQ_MEM(back, one, 32);
    }
    CHECK_EQ_INT(sr_keyfile_read("missing.key", back, 0, &err), SR_ENOTFOUND);
    CHECK_EQ_INT(sr_keyfile_read(".", back, 1, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_keyfile_write("k2.key", zero, &err), SR_EFORMAT);
    CHECK(access("k2.key", F_OK) != 0);
    unlink("k1.key");
    unlink("bad.key");
    unlink("ok.key");
}

/* No hidden shared state: threads signing, recovering and doing ECDH at
 * the same time all get the single-threaded answers. */
struct worker {
    uint8_t sk[32];
    uint8_t want_sig[65];
    uint8_t want_shared[32];
    uint8_t peer[33];
    int bad;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    sr_error err;
    uint8_t digest[32], sig[65], shared[32], full[65], pub[65];
    sr_keccak256("thread", 6, digest);
    if (sr_secp_pubkey_full(w->sk, pub, &err) != SR_OK)
        w->bad++;
    for (int i = 0; i < 200; i++) {
        if (sr_secp_sign_recoverable(w->sk, digest, sig, &err) != SR_OK || memcmp(sig, w->want_sig, 65) != 0)
            w->bad++;
        if (sr_secp_recover(digest, sig, full, &err) != SR_OK || memcmp(full, pub, 65) != 0)
            w->bad++;
        if (sr_secp_ecdh(w->sk, w->peer, shared, &err) != SR_OK || memcmp(shared, w->want_shared, 32) != 0)
            w->bad++;
    }
    return NULL;
}

static void test_threads(void)
{
    sr_error err;
    struct worker w[4];
    pthread_t t[4];
    uint8_t digest[32], peer_sk[32];
    sr_keccak256("thread", 6, digest);
    CHECK_OK(sr_secp_seckey_generate(peer_sk, &err), &err);
    for (int i = 0; i < 4; i++) {
        memset(&w[i], 0, sizeof w[i]);
        CHECK_OK(sr_secp_seckey_generate(w[i].sk, &err), &err);
        CHECK_OK(sr_secp_pubkey(peer_sk, w[i].peer, &err), &err);
        CHECK_OK(sr_secp_sign_recoverable(w[i].sk, digest, w[i].want_sig, &err), &err);
        CHECK_OK(sr_secp_ecdh(w[i].sk, w[i].peer, w[i].want_shared, &err), &err);
    }
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ_INT(w[i].bad, 0);
    }
}

int main(void)
{
    SR_RUN(test_known_addresses);
    SR_RUN(test_pubkey_formats);
    SR_RUN(test_ecdh);
    SR_RUN(test_tweak);
    SR_RUN(test_sign_recover);
    SR_RUN(test_eip55);
    SR_RUN(test_eip191);
    SR_RUN(test_eip712_mail);
    SR_RUN(test_words);
    SR_RUN(test_keyfile);
    SR_RUN(test_threads);
    return sr_test_finish();
}

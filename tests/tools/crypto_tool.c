/* sr_crypto_tool: drives the crypto library for the interop tests and the
 * micro-benchmark. Byte arguments and results are hex (an empty string is
 * zero bytes). Exit 0 ok, 1 operation failed (message on stderr), 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#define MAX_ARG 65536

static sr_error err;

static int fail(void)
{
    fprintf(stderr, "sr_crypto_tool: %s: %s\n", sr_code_name(err.code), err.msg);
    return 1;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: sr_crypto_tool CMD ARGS   (bytes in hex)\n"
            "  keccak HEX | keccak-lines (hex per stdin line) | sha256 HEX\n"
            "  hkdf IKM SALT INFO LEN\n"
            "  gcm-seal KEY NONCE AAD PT       -> CT||TAG\n"
            "  gcm-open KEY NONCE AAD CT||TAG  -> PT (exit 1 if it does not verify)\n"
            "  pubkey SK | pubkey-full SK | address SK | ecdh SK PUB\n"
            "  sign SK DIGEST | recover DIGEST SIG (-> address)\n"
            "  eip191-sign SK TEXT | eip191-recover TEXT SIG\n"
            "  approve-digest NAME VERSION CHAINID CONTRACT COMPOSEHASH APP\n"
            "  approve-sign SK NAME VERSION CHAINID CONTRACT COMPOSEHASH APP\n"
            "  address-parse STRING (-> lowercase hex) | address-string HEX (-> EIP-55)\n"
            "  bench [SECONDS]\n");
    return 2;
}

/* Decodes hex into a malloc'd buffer (never NULL on success). */
static uint8_t *unhex(const char *hex, size_t *n)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *p = malloc(cap);
    if (p == NULL)
        return NULL;
    if (sr_hex_decode(hex, p, cap, n, &err) != SR_OK) {
        free(p);
        return NULL;
    }
    return p;
}

static int unhex_exact(const char *hex, uint8_t *out, size_t n)
{
    return sr_hex_decode_exact(hex, out, n, &err);
}

static void print_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (s == NULL)
        exit(1);
    sr_hex_encode(p, n, s);
    printf("%s\n", s);
    free(s);
}

static int cmd_keccak_lines(void)
{
    static char line[2 * MAX_ARG + 4];
    static uint8_t buf[MAX_ARG];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t l = strlen(line);
        while (l > 0 && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = '\0';
        size_t n = 0;
        if (sr_hex_decode(line, buf, sizeof buf, &n, &err) != SR_OK)
            return fail();
        uint8_t h[32];
        sr_keccak256(buf, n, h);
        print_hex(h, 32);
    }
    return 0;
}

/* Approve(bytes32 composeHash,address app) under the given domain. */
static int approve_digest(char **a, uint8_t digest[32])
{
    sr_eip712_domain d;
    uint8_t ds[32], th[32], words[2][32], app[20];
    char *end = NULL;
    d.name = a[0];
    d.version = a[1];
    d.chain_id = strtoull(a[2], &end, 10);
    if (end == a[2] || *end != '\0') {
        sr_error_set(&err, SR_EINVAL, "chain id: not a number");
        return -1;
    }
    if (sr_eth_address_parse(a[3], d.verifying_contract, &err) != SR_OK ||
        unhex_exact(a[4], words[0], 32) != SR_OK || sr_eth_address_parse(a[5], app, &err) != SR_OK)
        return -1;
    sr_word_address(app, words[1]);
    sr_eip712_domain_separator(&d, ds);
    sr_eip712_type_hash("Approve(bytes32 composeHash,address app)", th);
    uint8_t sh[32];
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])words, 2, sh);
    sr_eip712_digest(ds, sh, digest);
    return 0;
}

/* CPU time of this process: on a shared machine it measures the work, not
 * the wait for a core. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_bench(double secs)
{
    uint8_t sk[32], sk2[32], pub2[33], shared[32], digest[32], sig[65], full[65];
    if (sr_secp_seckey_generate(sk, &err) || sr_secp_seckey_generate(sk2, &err) || sr_secp_pubkey(sk2, pub2, &err))
        return fail();
    sr_random(digest, 32, &err);
    double t0, el;
    long n;

    for (n = 0, t0 = now(); (el = now() - t0) < secs; n++)
        if (sr_secp_ecdh(sk, pub2, shared, &err))
            return fail();
    printf("ecdh_per_s %.0f\n", n / el);
    for (n = 0, t0 = now(); (el = now() - t0) < secs; n++) {
        digest[0] = (uint8_t)n;
        if (sr_secp_sign_recoverable(sk, digest, sig, &err))
            return fail();
    }
    printf("sign_per_s %.0f\n", n / el);
    for (n = 0, t0 = now(); (el = now() - t0) < secs; n++)
        if (sr_secp_recover(digest, sig, full, &err))
            return fail();
    printf("recover_per_s %.0f\n", n / el);

    size_t len = (size_t)1 << 20;
    uint8_t *buf = malloc(len), *out = malloc(len), h[32], key[32], nonce[12] = {0}, tag[16];
    if (buf == NULL || out == NULL)
        return 1;
    memset(buf, 0x5a, len);
    for (n = 0, t0 = now(); (el = now() - t0) < secs; n++)
        sr_keccak256(buf, len, h);
    printf("keccak_mb_per_s %.1f\n", (double)n * (double)len / el / 1e6);
    sr_random(key, 32, &err);
    sr_gcm *g = sr_gcm_new(key, &err);
    if (g == NULL)
        return fail();
    for (n = 0, t0 = now(); (el = now() - t0) < secs; n++) {
        sr_store_be64(nonce + 4, (uint64_t)n);
        if (sr_gcm_seal(g, nonce, NULL, 0, buf, len, out, tag, &err))
            return fail();
    }
    printf("aes_gcm_seal_gb_per_s %.2f\n", (double)n * (double)len / el / 1e9);
    /* 64 KiB segments, as an archive would use */
    size_t seg = 65536;
    for (n = 0, t0 = now(); (el = now() - t0) < secs; n++) {
        sr_store_be64(nonce + 4, (uint64_t)n);
        if (sr_gcm_seal(g, nonce, nonce, 12, buf, seg, out, tag, &err))
            return fail();
    }
    printf("aes_gcm_seal_64k_segments_gb_per_s %.2f\n", (double)n * (double)seg / el / 1e9);
    sr_gcm_free(g);
    free(buf);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *c = argv[1];
    char **a = argv + 2;
    int na = argc - 2;
    sr_error_clear(&err);

    if (strcmp(c, "keccak") == 0 && na == 1) {
        size_t n;
        uint8_t *p = unhex(a[0], &n), h[32];
        if (p == NULL)
            return fail();
        sr_keccak256(p, n, h);
        free(p);
        print_hex(h, 32);
        return 0;
    }
    if (strcmp(c, "keccak-lines") == 0 && na == 0)
        return cmd_keccak_lines();
    if (strcmp(c, "sha256") == 0 && na == 1) {
        size_t n;
        uint8_t *p = unhex(a[0], &n), h[32];
        if (p == NULL)
            return fail();
        sr_sha256(p, n, h);
        free(p);
        print_hex(h, 32);
        return 0;
    }
    if (strcmp(c, "hkdf") == 0 && na == 4) {
        size_t ni, ns, nf;
        uint8_t *ikm = unhex(a[0], &ni), *salt = unhex(a[1], &ns), *info = unhex(a[2], &nf);
        size_t len = strtoul(a[3], NULL, 10);
        uint8_t *out = malloc(len + 1);
        int rc = ikm && salt && info && out ? sr_hkdf_sha256(ikm, ni, salt, ns, info, nf, out, len, &err) : 1;
        if (rc == SR_OK)
            print_hex(out, len);
        free(ikm), free(salt), free(info), free(out);
        return rc == SR_OK ? 0 : fail();
    }
    if ((strcmp(c, "gcm-seal") == 0 || strcmp(c, "gcm-open") == 0) && na == 4) {
        uint8_t key[32], nonce[12];
        size_t naad, nin;
        if (unhex_exact(a[0], key, 32) || unhex_exact(a[1], nonce, 12))
            return fail();
        uint8_t *aad = unhex(a[2], &naad), *in = unhex(a[3], &nin);
        if (aad == NULL || in == NULL)
            return fail();
        uint8_t *out = malloc(nin + 16);
        int rc;
        if (c[4] == 's') {
            rc = sr_aes256gcm_encrypt(key, nonce, aad, naad, in, nin, out, out + nin, &err);
            if (rc == SR_OK)
                print_hex(out, nin + 16);
        } else if (nin < 16) {
            rc = sr_error_set(&err, SR_EFORMAT, "ciphertext shorter than a tag");
        } else {
            rc = sr_aes256gcm_decrypt(key, nonce, aad, naad, in, nin - 16, in + nin - 16, out, &err);
            if (rc == SR_OK)
                print_hex(out, nin - 16);
        }
        free(aad), free(in), free(out);
        return rc == SR_OK ? 0 : fail();
    }
    if ((strcmp(c, "pubkey") == 0 || strcmp(c, "pubkey-full") == 0 || strcmp(c, "address") == 0) && na == 1) {
        uint8_t sk[32], full[65], addr[20];
        char s[43];
        if (unhex_exact(a[0], sk, 32) || sr_secp_pubkey_full(sk, full, &err))
            return fail();
        if (strcmp(c, "pubkey") == 0) {
            uint8_t comp[33];
            if (sr_secp_pubkey_normalize(full, 65, comp, &err))
                return fail();
            print_hex(comp, 33);
        } else if (strcmp(c, "pubkey-full") == 0) {
            print_hex(full, 65);
        } else {
            if (sr_eth_address_from_pubkey(full, 65, addr, &err))
                return fail();
            sr_eth_address_to_string(addr, s);
            printf("%s\n", s);
        }
        return 0;
    }
    if (strcmp(c, "ecdh") == 0 && na == 2) {
        uint8_t sk[32], pub[65], comp[33], shared[32];
        size_t np;
        if (unhex_exact(a[0], sk, 32) || sr_hex_decode(a[1], pub, sizeof pub, &np, &err) ||
            sr_secp_pubkey_normalize(pub, np, comp, &err) || sr_secp_ecdh(sk, comp, shared, &err))
            return fail();
        print_hex(shared, 32);
        return 0;
    }
    if (strcmp(c, "sign") == 0 && na == 2) {
        uint8_t sk[32], d[32], sig[65];
        if (unhex_exact(a[0], sk, 32) || unhex_exact(a[1], d, 32) || sr_secp_sign_recoverable(sk, d, sig, &err))
            return fail();
        print_hex(sig, 65);
        return 0;
    }
    if ((strcmp(c, "recover") == 0 || strcmp(c, "eip191-recover") == 0) && na == 2) {
        uint8_t d[32], sig[65], addr[20];
        char s[43];
        if (c[0] == 'r') {
            if (unhex_exact(a[0], d, 32))
                return fail();
        } else {
            sr_eip191_digest(a[0], strlen(a[0]), d);
        }
        if (unhex_exact(a[1], sig, 65) || sr_eth_recover_address(d, sig, addr, &err))
            return fail();
        sr_eth_address_to_string(addr, s);
        printf("%s\n", s);
        return 0;
    }
    if (strcmp(c, "eip191-sign") == 0 && na == 2) {
        uint8_t sk[32], d[32], sig[65];
        sr_eip191_digest(a[1], strlen(a[1]), d);
        if (unhex_exact(a[0], sk, 32) || sr_secp_sign_recoverable(sk, d, sig, &err))
            return fail();
        print_hex(sig, 65);
        return 0;
    }
    if (strcmp(c, "approve-digest") == 0 && na == 6) {
        uint8_t d[32];
        if (approve_digest(a, d))
            return fail();
        print_hex(d, 32);
        return 0;
    }
    if (strcmp(c, "approve-sign") == 0 && na == 7) {
        uint8_t sk[32], d[32], sig[65];
        if (unhex_exact(a[0], sk, 32) || approve_digest(a + 1, d) || sr_secp_sign_recoverable(sk, d, sig, &err))
            return fail();
        print_hex(sig, 65);
        return 0;
    }
    if (strcmp(c, "address-parse") == 0 && na == 1) {
        uint8_t addr[20];
        if (sr_eth_address_parse(a[0], addr, &err))
            return fail();
        print_hex(addr, 20);
        return 0;
    }
    if (strcmp(c, "address-string") == 0 && na == 1) {
        uint8_t addr[20];
        char s[43];
        if (unhex_exact(a[0], addr, 20))
            return fail();
        sr_eth_address_to_string(addr, s);
        printf("%s\n", s);
        return 0;
    }
    if (strcmp(c, "bench") == 0 && na <= 1)
        return cmd_bench(na == 1 ? atof(a[0]) : 1.0);
    return usage();
}

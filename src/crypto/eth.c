/* sealroom crypto: Ethereum addresses (EIP-55), EIP-191 personal messages,
 * EIP-712 typed-data hashing and 32-byte ABI words. */
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#include <stdio.h>
#include <string.h>

int sr_eth_address_from_pubkey(const uint8_t *pub, size_t publen, uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err)
{
    uint8_t full[SR_SECP_PUBKEY_FULL_LEN];
    uint8_t h[SR_KECCAK256_LEN];
    if (pub == NULL)
        return sr_error_set(err, SR_EINVAL, "address: no public key");
    if (publen == SR_SECP_PUBKEY_LEN) {
        int rc = sr_secp_pubkey_decompress(pub, full, err);
        if (rc != SR_OK)
            return rc;
    } else if (publen == SR_SECP_PUBKEY_FULL_LEN) {
        /* Re-serialise so that an off-curve or hybrid (0x06/0x07) key is refused. */
        uint8_t comp[SR_SECP_PUBKEY_LEN];
        int rc = sr_secp_pubkey_normalize(pub, publen, comp, err);
        if (rc == SR_OK)
            rc = sr_secp_pubkey_decompress(comp, full, err);
        if (rc != SR_OK)
            return rc;
    } else {
        return sr_error_set(err, SR_EFORMAT, "address: public key must be 33 or 65 bytes, not %zu", publen);
    }
    sr_keccak256(full + 1, 64, h);
    memcpy(addr, h + 12, SR_ETH_ADDR_LEN);
    return SR_OK;
}

int sr_eth_address_from_seckey(const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err)
{
    uint8_t full[SR_SECP_PUBKEY_FULL_LEN];
    uint8_t h[SR_KECCAK256_LEN];
    int rc = sr_secp_pubkey_full(sk, full, err);
    if (rc != SR_OK)
        return rc;
    sr_keccak256(full + 1, 64, h);
    memcpy(addr, h + 12, SR_ETH_ADDR_LEN);
    return SR_OK;
}

void sr_eth_address_to_string(const uint8_t addr[SR_ETH_ADDR_LEN], char out[43])
{
    char lower[41];
    uint8_t h[SR_KECCAK256_LEN];
    sr_hex_encode(addr, SR_ETH_ADDR_LEN, lower);
    sr_keccak256(lower, 40, h);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < 40; i++) {
        int nibble = (i % 2 == 0) ? (h[i / 2] >> 4) : (h[i / 2] & 0x0f);
        char c = lower[i];
        if (c >= 'a' && c <= 'f' && nibble >= 8)
            c = (char)(c - 'a' + 'A');
        out[2 + i] = c;
    }
    out[42] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sr_eth_address_parse(const char *s, uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err)
{
    if (s == NULL)
        return sr_error_set(err, SR_EINVAL, "address: none given");
    size_t len = strnlen(s, 43);
    if (len != 42 || s[0] != '0' || s[1] != 'x')
        return sr_error_set(err, SR_EFORMAT, "address: expected \"0x\" and 40 hex digits");
    uint8_t tmp[SR_ETH_ADDR_LEN];
    int upper = 0, lower = 0;
    for (int i = 0; i < 40; i++) {
        char c = s[2 + i];
        int v = hexval(c);
        if (v < 0)
            return sr_error_set(err, SR_EFORMAT, "address: '%c' at position %d is not a hex digit", c, 2 + i);
        if (c >= 'a' && c <= 'f')
            lower = 1;
        else if (c >= 'A' && c <= 'F')
            upper = 1;
        if (i % 2 == 0)
            tmp[i / 2] = (uint8_t)(v << 4);
        else
            tmp[i / 2] |= (uint8_t)v;
    }
    if (upper && lower) {
        char want[43];
        sr_eth_address_to_string(tmp, want);
        if (memcmp(want, s, 42) != 0)
            return sr_error_set(err, SR_EFORMAT, "address: bad EIP-55 checksum (expected %s)", want);
    }
    memcpy(addr, tmp, SR_ETH_ADDR_LEN);
    return SR_OK;
}

int sr_eth_recover_address(const uint8_t digest[32], const uint8_t sig[SR_ETH_SIG_LEN], uint8_t addr[SR_ETH_ADDR_LEN],
                           sr_error *err)
{
    uint8_t full[SR_SECP_PUBKEY_FULL_LEN];
    uint8_t h[SR_KECCAK256_LEN];
    int rc = sr_secp_recover(digest, sig, full, err);
    if (rc != SR_OK)
        return rc;
    sr_keccak256(full + 1, 64, h);
    memcpy(addr, h + 12, SR_ETH_ADDR_LEN);
    return SR_OK;
}

void sr_eip191_digest(const void *msg, size_t n, uint8_t digest[32])
{
    static const char prefix[] = "\x19" "Ethereum Signed Message:\n";
    char len[24];
    int l = snprintf(len, sizeof len, "%zu", n);
    sr_keccak_ctx c;
    sr_keccak256_init(&c);
    sr_keccak256_update(&c, prefix, sizeof prefix - 1);
    sr_keccak256_update(&c, len, (size_t)l);
    if (n > 0)
        sr_keccak256_update(&c, msg, n);
    sr_keccak256_final(&c, digest);
}

#define EIP712_DOMAIN_TYPE "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"

void sr_eip712_domain_separator(const sr_eip712_domain *d, uint8_t out[32])
{
    uint8_t words[4][32];
    uint8_t th[32];
    const char *name = d->name != NULL ? d->name : "";
    const char *version = d->version != NULL ? d->version : "";
    sr_eip712_type_hash(EIP712_DOMAIN_TYPE, th);
    sr_word_bytes_hash(name, strlen(name), words[0]);
    sr_word_bytes_hash(version, strlen(version), words[1]);
    sr_word_uint64(d->chain_id, words[2]);
    sr_word_address(d->verifying_contract, words[3]);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])words, 4, out);
}

void sr_eip712_type_hash(const char *type_string, uint8_t out[32])
{
    sr_keccak256(type_string, strlen(type_string), out);
}

void sr_eip712_struct_hash(const uint8_t type_hash[32], const uint8_t (*words)[32], size_t nwords, uint8_t out[32])
{
    sr_keccak_ctx c;
    sr_keccak256_init(&c);
    sr_keccak256_update(&c, type_hash, 32);
    for (size_t i = 0; i < nwords; i++)
        sr_keccak256_update(&c, words[i], 32);
    sr_keccak256_final(&c, out);
}

void sr_eip712_digest(const uint8_t domain_separator[32], const uint8_t struct_hash[32], uint8_t out[32])
{
    uint8_t buf[66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    memcpy(buf + 2, domain_separator, 32);
    memcpy(buf + 34, struct_hash, 32);
    sr_keccak256(buf, sizeof buf, out);
}

void sr_word_uint64(uint64_t v, uint8_t out[32])
{
    memset(out, 0, 24);
    sr_store_be64(out + 24, v);
}

void sr_word_address(const uint8_t addr[SR_ETH_ADDR_LEN], uint8_t out[32])
{
    memset(out, 0, 12);
    memcpy(out + 12, addr, SR_ETH_ADDR_LEN);
}

void sr_word_bytes_hash(const void *data, size_t n, uint8_t out[32])
{
    sr_keccak256(n ? data : "", n, out);
}

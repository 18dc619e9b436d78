/* libFuzzer target: Ethereum address parsing (EIP-55), hex decoding and
 * secp256k1 public key / signature parsing on arbitrary bytes.
 * Invariants checked: a parsed address re-encodes to a string that parses
 * back to the same bytes, and to the input itself when the input was
 * mixed-case; hex decode round-trips; a normalised public key normalises
 * to itself; recovery never accepts a high-s signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"

static void check_address(const char *s)
{
    sr_error err;
    uint8_t a[SR_ETH_ADDR_LEN], b[SR_ETH_ADDR_LEN];
    char out[43];
    if (sr_eth_address_parse(s, a, &err) != SR_OK)
        return;
    sr_eth_address_to_string(a, out);
    if (sr_eth_address_parse(out, b, &err) != SR_OK || memcmp(a, b, sizeof a) != 0)
        abort();
    int upper = 0, lower = 0;
    for (size_t i = 2; i < 42; i++) {
        upper |= s[i] >= 'A' && s[i] <= 'F';
        lower |= s[i] >= 'a' && s[i] <= 'f';
    }
    if (upper && lower && strcmp(out, s) != 0)
        abort();
}

static void check_hex(const char *s)
{
    sr_error err;
    uint8_t buf[128];
    size_t n = 0;
    if (sr_hex_decode(s, buf, sizeof buf, &n, &err) != SR_OK)
        return;
    if (n > sizeof buf)
        abort();
    char enc[2 * sizeof buf + 1];
    uint8_t back[128];
    size_t m = 0;
    sr_hex_encode(buf, n, enc);
    if (sr_hex_decode(enc, back, sizeof back, &m, &err) != SR_OK || m != n || memcmp(buf, back, n) != 0)
        abort();
}

static void check_pubkey(const uint8_t *p, size_t n)
{
    sr_error err;
    uint8_t comp[SR_SECP_PUBKEY_LEN], again[SR_SECP_PUBKEY_LEN], full[SR_SECP_PUBKEY_FULL_LEN];
    uint8_t a1[SR_ETH_ADDR_LEN], a2[SR_ETH_ADDR_LEN];
    if (sr_secp_pubkey_normalize(p, n, comp, &err) != SR_OK)
        return;
    if (sr_secp_pubkey_normalize(comp, sizeof comp, again, &err) != SR_OK || memcmp(comp, again, sizeof comp) != 0)
        abort();
    if (sr_secp_pubkey_decompress(comp, full, &err) != SR_OK)
        abort();
    if (sr_eth_address_from_pubkey(comp, sizeof comp, a1, &err) != SR_OK ||
        sr_eth_address_from_pubkey(full, sizeof full, a2, &err) != SR_OK || memcmp(a1, a2, sizeof a1) != 0)
        abort();
}

static void check_recover(const uint8_t *p, size_t n)
{
    sr_error err;
    uint8_t full[SR_SECP_PUBKEY_FULL_LEN];
    if (n < 32 + SR_ETH_SIG_LEN)
        return;
    if (sr_secp_recover(p, p + 32, full, &err) != SR_OK)
        return;
    /* accepted signatures are low-s: s <= n/2 = 7fffffff...5d576e7357a4501ddfe92f46681b20a0 */
    if (p[32 + 32] >= 0x80)
        abort();
    if (full[0] != 0x04)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 4096)
        return 0;
    char *s = malloc(size);
    if (s == NULL)
        return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    switch (data[0] % 4) {
    case 0: check_address(s); break;
    case 1: check_hex(s); break;
    case 2: check_pubkey(data + 1, size - 1); break;
    default: check_recover(data + 1, size - 1); break;
    }
    free(s);
    return 0;
}

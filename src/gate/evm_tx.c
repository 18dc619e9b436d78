/* sealroom: EIP-1559 (type 2) transaction encoding and signing. */
#include <string.h>

#include "sealroom/crypto.h"
#include "sealroom/evm.h"
#include "sealroom/secmem.h"

/* rlp payload (without list header) of the 9 unsigned fields. */
static int tx_fields(const sr_eth_tx *tx, sr_buf *p, sr_error *err) {
    int rc;
    if ((rc = sr_rlp_put_uint(p, tx->chain_id, err))) return rc;
    if ((rc = sr_rlp_put_uint(p, tx->nonce, err))) return rc;
    if ((rc = sr_rlp_put_uint(p, tx->max_priority_fee, err))) return rc;
    if ((rc = sr_rlp_put_uint(p, tx->max_fee, err))) return rc;
    if ((rc = sr_rlp_put_uint(p, tx->gas_limit, err))) return rc;
    if ((rc = sr_rlp_put_bytes(p, tx->to, tx->has_to ? 20 : 0, err))) return rc;
    if ((rc = sr_rlp_put_uint256(p, tx->value, err))) return rc;
    if (tx->data_len && !tx->data) return sr_error_set(err, SR_EINVAL, "transaction data is NULL");
    if ((rc = sr_rlp_put_bytes(p, tx->data, tx->data_len, err))) return rc;
    return sr_rlp_put_list(p, NULL, 0, err); /* empty access list */
}

static int typed_envelope(const sr_buf *payload, sr_buf *out, sr_error *err) {
    int rc = sr_buf_append_u8(out, 0x02, err);
    if (rc) return rc;
    return sr_rlp_put_list(out, payload->data, payload->len, err);
}

int sr_eth_tx_signing_hash(const sr_eth_tx *tx, uint8_t out[32], sr_error *err) {
    sr_buf p = {0}, env = {0};
    int rc = tx_fields(tx, &p, err);
    if (!rc) rc = typed_envelope(&p, &env, err);
    if (!rc) sr_keccak256(env.data, env.len, out);
    sr_buf_free(&p);
    sr_buf_free(&env);
    return rc;
}

int sr_eth_tx_sign(const sr_eth_tx *tx, const uint8_t sk[32], sr_buf *raw, uint8_t hash[32], sr_error *err) {
    uint8_t digest[32], sig[SR_ETH_SIG_LEN];
    sr_buf p = {0};
    int rc = sr_eth_tx_signing_hash(tx, digest, err);
    if (!rc) rc = sr_secp_sign_recoverable(sk, digest, sig, err);
    if (!rc && sig[64] != 27 && sig[64] != 28)
        rc = sr_error_set(err, SR_EINTERNAL, "unexpected recovery byte %u", sig[64]);
    if (!rc) rc = tx_fields(tx, &p, err);
    if (!rc) rc = sr_rlp_put_uint(&p, (uint64_t)(sig[64] - 27), err);
    if (!rc) rc = sr_rlp_put_uint256(&p, sig, err);
    if (!rc) rc = sr_rlp_put_uint256(&p, sig + 32, err);
    size_t start = raw->len;
    if (!rc) rc = typed_envelope(&p, raw, err);
    if (!rc && hash) sr_keccak256(raw->data + start, raw->len - start, hash);
    sr_buf_free(&p);
    sr_memzero(sig, sizeof sig);
    return rc;
}

int sr_eth_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t out[20], sr_error *err) {
    sr_buf p = {0}, l = {0};
    int rc = sr_rlp_put_bytes(&p, sender, 20, err);
    if (!rc) rc = sr_rlp_put_uint(&p, nonce, err);
    if (!rc) rc = sr_rlp_put_list(&l, p.data, p.len, err);
    if (!rc) {
        uint8_t h[32];
        sr_keccak256(l.data, l.len, h);
        memcpy(out, h + 12, 20);
    }
    sr_buf_free(&p);
    sr_buf_free(&l);
    return rc;
}

/* sealroom gate: the `evm:RPC_URL@ADDRESS` backend — a ConsortiumApp
 * contract (contracts/ConsortiumApp.sol) on an Ethereum node, reached over
 * JSON-RPC. Writes are EIP-1559 transactions: the owner's own call
 * (approve/revoke/freeze/changeOwners/requireOwners) when the sender key is the signer,
 * else the *BySig variant carrying the owner's EIP-712 signature, sent by
 * the sender key. Reads are eth_call pinned to one block number. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate_backend.h"
#include "sealroom/evm.h"
#include "sealroom/secmem.h"

extern const char sr_evm_consortium_code_hex[];
extern const size_t sr_evm_consortium_code_hex_len;

#define OWNER_T "(string,address,string,string)"
#define CONFIG_RET "(string," OWNER_T "[],uint256,bytes,uint256)"
#define STATUS_RET "(uint256[],address,string,uint256,address,string,uint256,bytes32,address[])"

typedef struct evm_impl {
    sr_ethrpc *rpc;
    uint8_t addr[20];
} evm_impl;

static evm_impl *IMPL(sr_gate *g) { return g->impl; }

/* ---- small JSON helpers ------------------------------------------------- */
static json_t *hexj(const uint8_t *d, size_t n) {
    char s[2 * 128 + 3];
    if (n > 128) return NULL;
    s[0] = '0';
    s[1] = 'x';
    sr_hex_encode(d, n, s + 2);
    return json_string(s);
}

static json_t *owners_json(const sr_gate_owner *owners, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_pack("[s,o,s,s]", owners[i].id, hexj(owners[i].addr, 20), owners[i].jurisdiction,
                              owners[i].grades);
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int get_u64(json_t *v, uint64_t *out, const char *what, sr_error *err) {
    const char *s = json_string_value(v);
    if (!s) return sr_error_set(err, SR_EFORMAT, "contract: %s: number expected", what);
    errno = 0;
    char *end = NULL;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || strlen(s) > 20) return sr_error_set(err, SR_EFORMAT, "contract: %s out of range", what);
    *out = (uint64_t)x;
    return SR_OK;
}

static int get_hex(json_t *v, uint8_t *out, size_t n, const char *what, sr_error *err) {
    const char *s = json_string_value(v);
    if (!s || sr_hex_decode_exact(s, out, n, NULL)) return sr_error_set(err, SR_EFORMAT, "contract: bad %s", what);
    return SR_OK;
}

static int get_str(json_t *v, char *out, size_t maxlen, const char *what, sr_error *err) {
    const char *s = json_string_value(v);
    if (!s || json_string_length(v) > maxlen)
        return sr_error_set(err, SR_EFORMAT, "contract: %s missing or longer than %zu bytes", what, maxlen);
    memcpy(out, s, json_string_length(v) + 1);
    return SR_OK;
}

/* ---- calls ----------------------------------------------------------------- */
static int view_call(evm_impl *m, const char *sig, json_t *args, const char *ret, uint64_t block, json_t **out,
                     sr_error *err) {
    sr_buf data = {0}, res = {0};
    *out = NULL;
    int rc = args ? sr_abi_encode_call(sig, args, &data, err) : sr_error_set(err, SR_ENOMEM, "out of memory");
    if (!rc) rc = sr_ethrpc_eth_call(m->rpc, NULL, m->addr, data.data, data.len, block, &res, err);
    if (!rc) {
        rc = sr_abi_decode_params(ret, res.data, res.len, out, err);
        if (rc) sr_error_prefix(err, "decoding %s", sig);
    }
    json_decref(args);
    sr_buf_free(&data);
    sr_buf_free(&res);
    return rc;
}

/* Sends a transaction to the contract from the gate's sender key. */
static int send_call(sr_gate *g, const char *sig, json_t *args, sr_eth_sent *sent, sr_error *err) {
    evm_impl *m = IMPL(g);
    if (!g->has_sender)
        return sr_error_set(err, SR_EINVAL, "evm gate: no key to send the transaction with (set a sender)");
    sr_buf data = {0};
    int rc = args ? sr_abi_encode_call(sig, args, &data, err) : sr_error_set(err, SR_ENOMEM, "out of memory");
    json_decref(args);
    if (!rc) rc = sr_ethrpc_transact(m->rpc, g->sender_sk, m->addr, data.data, data.len, 0, sent, err);
    sr_buf_free(&data);
    return rc;
}

static int sender_is(sr_gate *g, const uint8_t signer[20]) {
    uint8_t a[20];
    return g->has_sender && sr_eth_address_from_seckey(g->sender_sk, a, NULL) == SR_OK && memcmp(a, signer, 20) == 0;
}

static int check_sig(const uint8_t digest[32], const uint8_t signer[20], const uint8_t sig[65], sr_error *err) {
    uint8_t got[20];
    sr_error e2;
    if (sr_eth_recover_address(digest, sig, got, &e2) != SR_OK)
        return sr_error_set(err, SR_EVERIFY, "signature does not verify: %s", e2.msg);
    if (memcmp(got, signer, 20) != 0)
        return sr_error_set(err, SR_EVERIFY, "signature does not match the signer for this gate's domain");
    return SR_OK;
}

static int one_hash_action(sr_gate *g, const char *direct, const char *bysig, const uint8_t word[32],
                           const uint8_t digest[32], const uint8_t signer[20], const uint8_t sig[65], sr_error *err) {
    int rc = check_sig(digest, signer, sig, err);
    if (rc) return rc;
    sr_eth_sent sent;
    if (sender_is(g, signer)) return send_call(g, direct, json_pack("[o]", hexj(word, 32)), &sent, err);
    return send_call(g, bysig, json_pack("[o,o,o]", hexj(word, 32), hexj(signer, 20), hexj(sig, 65)), &sent, err);
}

static int evm_approve(sr_gate *g, const uint8_t h[32], const uint8_t signer[20], const uint8_t sig[65], sr_error *err) {
    uint8_t d[32];
    sr_gate_approve_digest(&g->domain, h, d);
    return one_hash_action(g, "approve(bytes32)", "approveBySig(bytes32,address,bytes)", h, d, signer, sig, err);
}

static int evm_revoke(sr_gate *g, const uint8_t h[32], const uint8_t signer[20], const uint8_t sig[65], sr_error *err) {
    uint8_t d[32];
    sr_gate_revoke_digest(&g->domain, h, d);
    return one_hash_action(g, "revoke(bytes32)", "revokeBySig(bytes32,address,bytes)", h, d, signer, sig, err);
}

static int evm_freeze(sr_gate *g, const uint8_t reason[32], const uint8_t signer[20], const uint8_t sig[65],
                      sr_error *err) {
    uint8_t d[32];
    sr_gate_freeze_digest(&g->domain, reason, d);
    return one_hash_action(g, "freeze(bytes32)", "freezeBySig(bytes32,address,bytes)", reason, d, signer, sig, err);
}

static int evm_change_owners(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold, uint64_t nonce,
                             const uint8_t signer[20], const uint8_t sig[65], int *applied, sr_error *err) {
    *applied = 0;
    if (n == 0 || n > SR_GATE_MAX_OWNERS) return sr_error_set(err, SR_EINVAL, "owner change: 1..%d owners", SR_GATE_MAX_OWNERS);
    /* the new list must be a valid configuration (bounds, character sets,
     * distinct ids and addresses, 1 <= k <= n) before anyone votes for it */
    sr_gate_config *nc = calloc(1, sizeof *nc);
    if (!nc) return sr_error_set(err, SR_ENOMEM, "out of memory");
    snprintf(nc->name, sizeof nc->name, "owner change");
    memcpy(nc->owners, owners, n * sizeof *owners);
    nc->n_owners = n;
    nc->threshold = threshold;
    nc->kms_pubkey_len = 1;
    int rc = sr_gate_config_validate(nc, err);
    free(nc);
    if (rc) return rc;
    uint8_t d[32];
    sr_gate_change_owners_digest(&g->domain, owners, n, threshold, nonce, d);
    rc = check_sig(d, signer, sig, err);
    if (rc) return rc;
    sr_eth_sent sent;
    json_t *args;
    const char *fn;
    if (sender_is(g, signer)) {
        fn = "changeOwners(" OWNER_T "[],uint256,uint256)";
        args = json_pack("[o,I,I]", owners_json(owners, n), (json_int_t)threshold, (json_int_t)nonce);
    } else {
        fn = "changeOwnersBySig(" OWNER_T "[],uint256,uint256,address,bytes)";
        args = json_pack("[o,I,I,o,o]", owners_json(owners, n), (json_int_t)threshold, (json_int_t)nonce,
                         hexj(signer, 20), hexj(sig, 65));
    }
    if ((rc = send_call(g, fn, args, &sent, err))) return rc;
    json_t *res = NULL;
    if ((rc = view_call(IMPL(g), "configNonce()", json_array(), "(uint256)", sent.block, &res, err))) return rc;
    uint64_t now = 0;
    rc = get_u64(json_array_get(res, 0), &now, "configNonce", err);
    json_decref(res);
    if (!rc) *applied = now > nonce;
    return rc;
}

static int evm_require_owners(sr_gate *g, const uint8_t h[32], const uint8_t (*addrs)[20], size_t n,
                              const uint8_t signer[20], const uint8_t sig[65], sr_error *err) {
    uint8_t d[32];
    sr_gate_require_owners_digest(&g->domain, h, addrs, n, d);
    int rc = check_sig(d, signer, sig, err);
    if (rc) return rc;
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        if (json_array_append_new(list, hexj(addrs[i], 20))) {
            json_decref(list);
            list = NULL;
        }
    }
    sr_eth_sent sent;
    if (sender_is(g, signer))
        return send_call(g, "requireOwners(bytes32,address[])", json_pack("[o,o]", hexj(h, 32), list), &sent, err);
    return send_call(g, "requireOwnersBySig(bytes32,address[],address,bytes)",
                     json_pack("[o,o,o,o]", hexj(h, 32), list, hexj(signer, 20), hexj(sig, 65)), &sent, err);
}

/* ---- reads ------------------------------------------------------------------- */
static int read_config(evm_impl *m, uint64_t block, sr_gate_config *cfg, uint64_t *nonce, sr_error *err) {
    json_t *r = NULL;
    int rc = view_call(m, "getConfig()", json_array(), CONFIG_RET, block, &r, err);
    if (rc) return rc;
    uint64_t k = 0;
    json_t *ow = json_array_get(r, 1);
    size_t n = json_array_size(ow);
    if (n == 0 || n > SR_GATE_MAX_OWNERS) {
        rc = sr_error_set(err, SR_EFORMAT, "contract: %zu owners (expected 1..%d)", n, SR_GATE_MAX_OWNERS);
        goto done;
    }
    if ((rc = get_str(json_array_get(r, 0), cfg->name, SR_GATE_NAME_MAX, "name", err))) goto done;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(ow, i);
        sr_gate_owner *d = &cfg->owners[i];
        if ((rc = get_str(json_array_get(o, 0), d->id, SR_GATE_ID_MAX, "owner id", err))) goto done;
        if ((rc = get_hex(json_array_get(o, 1), d->addr, 20, "owner address", err))) goto done;
        if ((rc = get_str(json_array_get(o, 2), d->jurisdiction, SR_GATE_JURIS_MAX, "jurisdiction", err))) goto done;
        if ((rc = get_str(json_array_get(o, 3), d->grades, SR_GATE_GRADES_MAX, "grades", err))) goto done;
    }
    cfg->n_owners = n;
    if ((rc = get_u64(json_array_get(r, 2), &k, "threshold", err))) goto done;
    if (k == 0 || k > n) {
        rc = sr_error_set(err, SR_EFORMAT, "contract: threshold %llu out of range", (unsigned long long)k);
        goto done;
    }
    cfg->threshold = (uint32_t)k;
    {
        const char *kh = json_string_value(json_array_get(r, 3));
        size_t kl = 0;
        if (!kh || sr_hex_decode(kh, cfg->kms_pubkey, sizeof cfg->kms_pubkey, &kl, NULL) || kl == 0) {
            rc = sr_error_set(err, SR_EFORMAT, "contract: bad KMS root key");
            goto done;
        }
        cfg->kms_pubkey_len = kl;
    }
    if ((rc = get_u64(json_array_get(r, 4), nonce, "configNonce", err))) goto done;
    if ((rc = sr_gate_config_validate(cfg, err))) sr_error_prefix(err, "contract holds an invalid configuration");
done:
    json_decref(r);
    return rc;
}

static int evm_get_config(sr_gate *g, sr_gate_config *out, uint64_t *nonce, sr_error *err) {
    memset(out, 0, sizeof *out);
    out->chain_id = g->domain.chain_id;
    return read_config(IMPL(g), UINT64_MAX, out, nonce, err);
}

static int evm_status(sr_gate *g, const uint8_t h[32], sr_gate_status *st, sr_error *err) {
    evm_impl *m = IMPL(g);
    uint64_t block = 0;
    int rc = sr_ethrpc_block_number(m->rpc, &block, err);
    if (rc) return rc;
    st->domain = g->domain;
    st->config.chain_id = g->domain.chain_id;
    memcpy(st->compose_hash, h, 32);
    st->snapshot = block;
    snprintf(st->pos_unit, sizeof st->pos_unit, "block");
    if ((rc = read_config(m, block, &st->config, &st->config_nonce, err))) return rc;
    json_t *r = NULL;
    if ((rc = view_call(m, "status(bytes32)", json_pack("[o]", hexj(h, 32)), STATUS_RET, block, &r, err))) return rc;
    json_t *ab = json_array_get(r, 0);
    if (json_array_size(ab) != st->config.n_owners) {
        rc = sr_error_set(err, SR_EFORMAT, "contract: approvals for %zu owners, config has %zu", json_array_size(ab),
                          st->config.n_owners);
        goto done;
    }
    for (size_t i = 0; i < st->config.n_owners; i++) {
        uint64_t at = 0;
        if ((rc = get_u64(json_array_get(ab, i), &at, "approval block", err))) goto done;
        st->approved[i] = at != 0;
        st->approved_pos[i] = at;
        st->n_approved += at != 0;
    }
    static const uint8_t zero[20];
    if ((rc = get_hex(json_array_get(r, 1), st->revoked_by_addr, 20, "revoker", err))) goto done;
    st->revoked = memcmp(st->revoked_by_addr, zero, 20) != 0;
    if ((rc = get_str(json_array_get(r, 2), st->revoked_by, SR_GATE_ID_MAX, "revoker id", err))) goto done;
    if ((rc = get_u64(json_array_get(r, 3), &st->revoked_pos, "revocation block", err))) goto done;
    if ((rc = get_hex(json_array_get(r, 4), st->frozen_by_addr, 20, "freezer", err))) goto done;
    st->frozen = memcmp(st->frozen_by_addr, zero, 20) != 0;
    if ((rc = get_str(json_array_get(r, 5), st->frozen_by, SR_GATE_ID_MAX, "freezer id", err))) goto done;
    if ((rc = get_u64(json_array_get(r, 6), &st->frozen_pos, "freeze block", err))) goto done;
    if ((rc = get_hex(json_array_get(r, 7), st->frozen_reason, 32, "freeze reason", err))) goto done;
    /* the required owners declared for h (requireOwners) */
    json_t *rq = json_array_get(r, 8);
    if (json_array_size(rq) > SR_GATE_MAX_OWNERS) {
        rc = sr_error_set(err, SR_EFORMAT, "contract: %zu required owners (max %d)", json_array_size(rq),
                          SR_GATE_MAX_OWNERS);
        goto done;
    }
    for (size_t i = 0; i < json_array_size(rq); i++)
        if ((rc = get_hex(json_array_get(rq, i), st->declared[i], 20, "required owner", err))) goto done;
    st->n_declared = json_array_size(rq);
    st->has_declared = 1;
done:
    json_decref(r);
    return rc;
}

static void evm_close(sr_gate *g) {
    evm_impl *m = IMPL(g);
    if (!m) return;
    sr_ethrpc_close(m->rpc);
    free(m);
    g->impl = NULL;
}

static const sr_gate_ops evm_ops = {
    "evm", evm_approve, evm_revoke, evm_freeze, evm_change_owners, evm_get_config, evm_status, NULL, evm_close,
    evm_require_owners,
};

int sr_gate_evm_open(sr_gate *g, const char *url, const uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err) {
    evm_impl *m = calloc(1, sizeof *m);
    if (!m) return sr_error_set(err, SR_ENOMEM, "out of memory");
    memcpy(m->addr, addr, 20);
    int rc = sr_ethrpc_open(url, 0, &m->rpc, err);
    uint64_t chain = 0;
    sr_buf code = {0};
    if (!rc) rc = sr_ethrpc_chain_id(m->rpc, &chain, err);
    if (!rc) rc = sr_ethrpc_get_code(m->rpc, addr, UINT64_MAX, &code, err);
    if (!rc && code.len == 0) {
        char a[43];
        sr_eth_address_to_string(addr, a);
        rc = sr_error_set(err, SR_ENOTFOUND, "evm gate: no contract at %s on %s", a, url);
    }
    sr_buf_free(&code);
    if (rc) {
        sr_ethrpc_close(m->rpc);
        free(m);
        return rc;
    }
    g->ops = &evm_ops;
    g->impl = m;
    g->domain.chain_id = chain;
    memcpy(g->domain.app, addr, 20);
    return SR_OK;
}

int sr_gate_evm_create(const char *url, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                       uint8_t app_out[SR_ETH_ADDR_LEN], sr_error *err) {
    int rc = sr_gate_config_validate(cfg, err);
    if (rc) return rc;
    sr_buf code = {0};
    rc = sr_buf_reserve(&code, sr_evm_consortium_code_hex_len / 2 + 4096, err);
    if (!rc) {
        size_t got = 0;
        rc = sr_hex_decode(sr_evm_consortium_code_hex, code.data, code.cap, &got, err);
        code.len = got;
    }
    json_t *args = json_pack("[s,o,I,o]", cfg->name, owners_json(cfg->owners, cfg->n_owners),
                             (json_int_t)cfg->threshold, hexj(cfg->kms_pubkey, cfg->kms_pubkey_len));
    if (!rc && !args) rc = sr_error_set(err, SR_ENOMEM, "out of memory");
    if (!rc) rc = sr_abi_encode_params("(string," OWNER_T "[],uint256,bytes)", args, &code, err);
    json_decref(args);
    sr_ethrpc *rpc = NULL;
    sr_eth_sent sent;
    if (!rc) rc = sr_ethrpc_open(url, 0, &rpc, err);
    if (!rc) rc = sr_ethrpc_transact(rpc, deployer_sk, NULL, code.data, code.len, 0, &sent, err);
    if (!rc && !sent.has_contract) rc = sr_error_set(err, SR_EFORMAT, "deployment receipt has no contract address");
    if (!rc) memcpy(app_out, sent.contract, 20);
    if (rc) sr_error_prefix(err, "deploying ConsortiumApp");
    sr_ethrpc_close(rpc);
    sr_buf_free(&code);
    return rc;
}

/* sr_evm_suite URL: the gate's "must be shown" semantics, through the C gate
 * API, on the EVM backend against a running node (anvil, funded accounts 0
 * and 1). Run by tests/interop/gate/test_evm_gate.sh, which starts anvil.
 * Prints "key=value" facts at the end (app address, gas) for the bench.
 * Exit 0 when every check passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/crypto.h"
#include "sealroom/evm.h"
#include "sealroom/gate.h"
#include "test.h"

/* anvil's well-known dev accounts 0 and 1 */
static const char *ANVIL0 = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
static const char *ANVIL1 = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

static const char *url;
static char spec[SR_GATE_SPEC_MAX + 64];
static uint8_t app[20];
static uint8_t sk_dep[32], sk_a[32], sk_b[32], sk_c[32], sk_d[32], sk_e[32], sk_x[32];
static sr_gate_owner own_a, own_b, own_c, own_d, own_e;

static void key_from_label(const char *label, uint8_t sk[32]) { sr_keccak256(label, strlen(label), sk); }

static void owner(sr_gate_owner *o, const char *id, const uint8_t sk[32], const char *jur, const char *grades) {
    sr_error err;
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", id);
    snprintf(o->jurisdiction, sizeof o->jurisdiction, "%s", jur);
    snprintf(o->grades, sizeof o->grades, "%s", grades);
    CHECK_OK(sr_eth_address_from_seckey(sk, o->addr, &err), &err);
}

static void hash_of(const char *text, uint8_t h[32]) { sr_sha256(text, strlen(text), h); }

static sr_gate *open_gate(int with_sender) {
    sr_error err;
    sr_gate *g = NULL;
    CHECK_OK(sr_gate_open(spec, &g, &err), &err);
    if (g && with_sender) CHECK_OK(sr_gate_set_sender(g, sk_dep, &err), &err);
    return g;
}

static void status_of(sr_gate *g, const uint8_t h[32], const char *const *req, size_t nreq, sr_gate_status *st) {
    sr_error err;
    CHECK_OK(sr_gate_status_get(g, h, req, nreq, st, &err), &err);
}

static void test_create_and_open(void) {
    sr_error err;
    sr_gate_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.name, sizeof cfg.name, "evm suite");
    cfg.owners[0] = own_a;
    cfg.owners[1] = own_b;
    cfg.owners[2] = own_c;
    cfg.owners[3] = own_d;
    cfg.n_owners = 4;
    cfg.threshold = 3;
    cfg.kms_pubkey_len = 33;
    CHECK_OK(sr_secp_pubkey(sk_x, cfg.kms_pubkey, &err), &err);
    char cspec[1100];
    snprintf(cspec, sizeof cspec, "evm:%s", url);
    CHECK_OK(sr_gate_create(cspec, &cfg, sk_dep, app, spec, sizeof spec, &err), &err);
    sr_gate *g = open_gate(0);
    if (!g) return;
    CHECK_EQ_STR(sr_gate_backend(g), "evm");
    sr_gate_config got;
    uint64_t nonce = 99;
    CHECK_OK(sr_gate_get_config(g, &got, &nonce, &err), &err);
    CHECK_EQ_INT(got.n_owners, 4);
    CHECK_EQ_INT(got.threshold, 3);
    CHECK_EQ_INT(nonce, 0);
    CHECK_EQ_STR(got.name, "evm suite");
    CHECK_EQ_STR(got.owners[3].id, "D");
    CHECK_EQ_STR(got.owners[0].grades, "HIPAA");
    CHECK_EQ_MEM(got.owners[2].addr, own_c.addr, 20);
    CHECK_EQ_INT(got.kms_pubkey_len, 33);
    CHECK_EQ_MEM(got.kms_pubkey, cfg.kms_pubkey, 33);
    CHECK_EQ_INT(got.chain_id, 31337);
    sr_gate_domain dom;
    sr_gate_get_domain(g, &dom);
    CHECK_EQ_MEM(dom.app, app, 20);
    sr_gate_close(g);
    /* a wrong address is "not found" */
    char bad[1200];
    snprintf(bad, sizeof bad, "evm:%s@0x000000000000000000000000000000000000dead", url);
    CHECK(sr_gate_open(bad, &g, &err) == SR_ENOTFOUND);
    printf("app=0x");
    for (int i = 0; i < 20; i++) printf("%02x", app[i]);
    printf("\n");
}

static void test_quorum_and_rejections(void) {
    sr_error err;
    sr_gate *g = open_gate(1);
    if (!g) return;
    uint8_t h1[32], h2[32], d[32], sig[65];
    hash_of("recipe one", h1);
    hash_of("recipe two", h2);
    sr_gate_status st;

    CHECK_OK(sr_gate_approve(g, h1, sk_a, &err), &err); /* relayed by the deployer */
    status_of(g, h1, NULL, 0, &st);
    CHECK_EQ_INT(st.n_approved, 1);
    CHECK(!st.allowed);
    CHECK_CONTAINS(st.reason, "not approved: 1/4 (k=3)");
    CHECK_EQ_STR(st.pos_unit, "block");
    CHECK(st.approved[0] && st.approved_pos[0] > 0 && st.approved_pos[0] <= st.snapshot);

    /* same owner twice: refused, counted once */
    CHECK(sr_gate_approve(g, h1, sk_a, &err) == SR_ESTATE);
    CHECK_CONTAINS(err.msg, "already approved");
    /* non-owner */
    CHECK(sr_gate_approve(g, h1, sk_x, &err) == SR_EDENIED);
    CHECK_CONTAINS(err.msg, "not an owner");
    /* B's signature for h1 replayed for h2 */
    sr_gate_domain dom;
    sr_gate_get_domain(g, &dom);
    sr_gate_approve_digest(&dom, h1, d);
    CHECK_OK(sr_gate_sign_digest(d, sk_b, sig, &err), &err);
    CHECK(sr_gate_approve_sig(g, h2, own_b.addr, sig, &err) == SR_EVERIFY);
    /* ... for another chain id */
    sr_gate_domain other = dom;
    other.chain_id = dom.chain_id + 1;
    sr_gate_approve_digest(&other, h1, d);
    CHECK_OK(sr_gate_sign_digest(d, sk_b, sig, &err), &err);
    CHECK(sr_gate_approve_sig(g, h1, own_b.addr, sig, &err) == SR_EVERIFY);
    /* ... for another app */
    other = dom;
    other.app[19] ^= 1;
    sr_gate_approve_digest(&other, h1, d);
    CHECK_OK(sr_gate_sign_digest(d, sk_b, sig, &err), &err);
    CHECK(sr_gate_approve_sig(g, h1, own_b.addr, sig, &err) == SR_EVERIFY);
    /* ... a revoke signature used as an approval */
    sr_gate_revoke_digest(&dom, h1, d);
    CHECK_OK(sr_gate_sign_digest(d, sk_b, sig, &err), &err);
    CHECK(sr_gate_approve_sig(g, h1, own_b.addr, sig, &err) == SR_EVERIFY);
    /* the proper signature, submitted by someone else (the relayer) */
    sr_gate_approve_digest(&dom, h1, d);
    CHECK_OK(sr_gate_sign_digest(d, sk_b, sig, &err), &err);
    CHECK_OK(sr_gate_approve_sig(g, h1, own_b.addr, sig, &err), &err);
    status_of(g, h1, NULL, 0, &st);
    CHECK_EQ_INT(st.n_approved, 2);
    CHECK(!st.allowed);
    /* the contract itself refuses a bad signature even if the client is bypassed */
    {
        sr_ethrpc *r = NULL;
        sr_buf data = {0};
        char a[43], s[133] = "0x";
        sr_eth_address_to_string(own_c.addr, a);
        sr_hex_encode(sig, 65, s + 2);
        char hx[67] = "0x";
        sr_hex_encode(h2, 32, hx + 2);
        json_t *args = json_pack("[s,s,s]", hx, a, s);
        CHECK_OK(sr_ethrpc_open(url, 0, &r, &err), &err);
        CHECK_OK(sr_abi_encode_call("approveBySig(bytes32,address,bytes)", args, &data, &err), &err);
        CHECK(sr_ethrpc_transact(r, sk_dep, app, data.data, data.len, 0, NULL, &err) == SR_EVERIFY);
        CHECK_CONTAINS(err.msg, "refused by the contract: signature does not match");
        json_decref(args);
        sr_buf_free(&data);
        sr_ethrpc_close(r);
    }

    /* D approves with its own funded key in its own transaction (no relayer) */
    sr_gate *g2 = open_gate(0);
    CHECK_OK(sr_gate_approve(g2, h1, sk_d, &err), &err);
    sr_gate_close(g2);
    status_of(g, h1, NULL, 0, &st);
    CHECK_EQ_INT(st.n_approved, 3);
    CHECK(st.allowed); /* exactly at k */
    CHECK_CONTAINS(st.reason, "allowed: 3/4 approvals (k=3)");
    /* exactly one ComposeHashAdded(h1) (dstack event), when the quorum was reached */
    {
        sr_ethrpc *r = NULL;
        json_t *logs = NULL;
        uint8_t topic[32];
        const char *ev = "ComposeHashAdded(bytes32)";
        sr_keccak256(ev, strlen(ev), topic);
        CHECK_OK(sr_ethrpc_open(url, 0, &r, &err), &err);
        CHECK_OK(sr_ethrpc_get_logs(r, app, 0, UINT64_MAX, topic, &logs, &err), &err);
        CHECK_EQ_INT(json_array_size(logs), 1);
        char hx[67] = "0x";
        sr_hex_encode(h1, 32, hx + 2);
        const char *data = json_string_value(json_object_get(json_array_get(logs, 0), "data"));
        CHECK(data && strcmp(data, hx) == 0);
        json_decref(logs);
        sr_ethrpc_close(r);
    }
    /* every required owner must approve: C has not */
    const char *req[] = {"A", "C"};
    status_of(g, h1, req, 2, &st);
    CHECK(!st.allowed);
    CHECK_CONTAINS(st.reason, "missing C");
    const char *unk[] = {"nobody"};
    status_of(g, h1, unk, 1, &st);
    CHECK(!st.allowed);
    CHECK_CONTAINS(st.reason, "unknown owner nobody");
    sr_gate_close(g);
}

static void test_revoke(void) {
    sr_error err;
    sr_gate *g = open_gate(1);
    if (!g) return;
    uint8_t h1[32];
    hash_of("recipe one", h1);
    sr_gate_status st;
    CHECK_OK(sr_gate_revoke(g, h1, sk_c, &err), &err); /* one owner alone */
    status_of(g, h1, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK(st.revoked);
    CHECK_EQ_STR(st.revoked_by, "C");
    CHECK_EQ_MEM(st.revoked_by_addr, own_c.addr, 20);
    CHECK_CONTAINS(st.reason, "revoked by C at block ");
    CHECK(sr_gate_approve(g, h1, sk_c, &err) == SR_EDENIED);
    CHECK_CONTAINS(err.msg, "revoked");
    CHECK(sr_gate_revoke(g, h1, sk_a, &err) == SR_ESTATE);
    CHECK(sr_gate_revoke(g, h1, sk_x, &err) == SR_EDENIED);
    sr_gate_close(g);
}

static void test_owner_change(void) {
    sr_error err;
    sr_gate *g = open_gate(1);
    if (!g) return;
    sr_gate_owner next[5] = {own_a, own_b, own_c, own_d, own_e};
    int applied = -1;
    uint64_t nonce = 9;
    sr_gate_config cfg;
    CHECK_OK(sr_gate_change_owners(g, next, 5, 2, 0, sk_a, &applied, &err), &err);
    CHECK_EQ_INT(applied, 0);
    CHECK(sr_gate_change_owners(g, next, 5, 2, 0, sk_a, &applied, &err) == SR_ESTATE); /* same vote twice */
    CHECK(sr_gate_change_owners(g, next, 5, 2, 0, sk_x, &applied, &err) == SR_EDENIED);
    CHECK(sr_gate_change_owners(g, next, 5, 2, 1, sk_b, &applied, &err) == SR_ESTATE);  /* wrong nonce */
    CHECK(sr_gate_change_owners(g, next, 5, 6, 0, sk_b, &applied, &err) == SR_EINVAL);  /* k > n */
    {   /* the contract refuses an invalid proposal by itself (client bypassed) */
        sr_ethrpc *r = NULL;
        sr_buf data = {0};
        char a[43];
        sr_eth_address_to_string(own_a.addr, a);
        json_t *args = json_pack("[[[s,s,s,s]],i,i]", "A", a, "US", "", 9, 0);
        CHECK_OK(sr_ethrpc_open(url, 0, &r, &err), &err);
        CHECK_OK(sr_abi_encode_call("changeOwners((string,address,string,string)[],uint256,uint256)", args, &data, &err),
                 &err);
        CHECK(sr_ethrpc_transact(r, sk_d, app, data.data, data.len, 0, NULL, &err) == SR_EINVAL);
        CHECK_CONTAINS(err.msg, "threshold must be 1..n");
        json_decref(args);
        sr_buf_free(&data);
        sr_ethrpc_close(r);
    }
    sr_gate_owner dup[2] = {own_a, own_a};
    CHECK(sr_gate_change_owners(g, dup, 2, 1, 0, sk_b, &applied, &err) == SR_EINVAL);   /* duplicate owner */
    /* a vote for a different proposal does not add up with A's */
    CHECK_OK(sr_gate_change_owners(g, next, 5, 3, 0, sk_b, &applied, &err), &err);
    CHECK_EQ_INT(applied, 0);
    CHECK_OK(sr_gate_get_config(g, &cfg, &nonce, &err), &err);
    CHECK_EQ_INT(cfg.n_owners, 4);
    CHECK_EQ_INT(nonce, 0);
    CHECK_OK(sr_gate_change_owners(g, next, 5, 2, 0, sk_c, &applied, &err), &err);
    CHECK_EQ_INT(applied, 0);
    CHECK_OK(sr_gate_change_owners(g, next, 5, 2, 0, sk_d, &applied, &err), &err); /* third vote: k=3 */
    CHECK_EQ_INT(applied, 1);
    CHECK_OK(sr_gate_get_config(g, &cfg, &nonce, &err), &err);
    CHECK_EQ_INT(cfg.n_owners, 5);
    CHECK_EQ_INT(cfg.threshold, 2);
    CHECK_EQ_INT(nonce, 1);
    CHECK_EQ_STR(cfg.owners[4].id, "E");
    /* the old proposal's pending vote (B, k=3, nonce 0) is stale now */
    CHECK(sr_gate_change_owners(g, next, 5, 3, 0, sk_c, &applied, &err) == SR_ESTATE);
    sr_gate_close(g);
}

static uint64_t gas_of_last = 0;

static void test_is_app_allowed_and_freeze(void) {
    sr_error err;
    sr_gate *g = open_gate(1);
    if (!g) return;
    uint8_t h2[32], h3[32], reason[32];
    hash_of("recipe two", h2);
    hash_of("recipe three", h3);
    hash_of("incident 7", reason);
    sr_gate_status st;
    CHECK_OK(sr_gate_approve(g, h2, sk_e, &err), &err);
    CHECK_OK(sr_gate_approve(g, h2, sk_a, &err), &err);
    status_of(g, h2, NULL, 0, &st);
    CHECK(st.allowed); /* k=2 after the change */
    uint64_t before = st.snapshot;

    /* dstack's isAppAllowed(AppBootInfo) */
    sr_ethrpc *r = NULL;
    CHECK_OK(sr_ethrpc_open(url, 0, &r, &err), &err);
    char appx[43] = "0x", hx[67] = "0x";
    sr_hex_encode(app, 20, appx + 2);
    sr_hex_encode(h2, 32, hx + 2);
    const char *z32 = "0x0000000000000000000000000000000000000000000000000000000000000000";
    const char *sig = "isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]))";
    json_t *args = json_pack("[[s,s,s,s,s,s,s,s,[]]]", appx, hx, "0x0000000000000000000000000000000000000001", z32, z32,
                             z32, z32, "UpToDate");
    sr_buf data = {0}, out = {0};
    json_t *res = NULL;
    CHECK_OK(sr_abi_encode_call(sig, args, &data, &err), &err);
    CHECK_OK(sr_ethrpc_eth_call(r, NULL, app, data.data, data.len, UINT64_MAX, &out, &err), &err);
    CHECK_OK(sr_abi_decode_params("(bool,string)", out.data, out.len, &res, &err), &err);
    CHECK(json_is_true(json_array_get(res, 0)));
    json_decref(res);
    uint8_t from[20];
    CHECK_OK(sr_eth_address_from_seckey(sk_dep, from, &err), &err);
    CHECK_OK(sr_ethrpc_estimate_gas(r, from, app, data.data, data.len, &gas_of_last, &err), &err);
    printf("gas_isAppAllowed=%llu\n", (unsigned long long)gas_of_last);

    /* freeze by a single owner: nothing is allowed any more */
    CHECK_OK(sr_gate_freeze(g, reason, sk_e, &err), &err);
    status_of(g, h2, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK(st.frozen);
    CHECK_EQ_STR(st.frozen_by, "E");
    CHECK_EQ_MEM(st.frozen_reason, reason, 32);
    CHECK_CONTAINS(st.reason, "frozen by E at block ");
    CHECK(sr_gate_approve(g, h3, sk_a, &err) == SR_EDENIED);
    CHECK(sr_gate_freeze(g, reason, sk_a, &err) == SR_ESTATE);
    sr_buf_reset(&out);
    CHECK_OK(sr_ethrpc_eth_call(r, NULL, app, data.data, data.len, UINT64_MAX, &out, &err), &err);
    CHECK_OK(sr_abi_decode_params("(bool,string)", out.data, out.len, &res, &err), &err);
    CHECK(json_is_false(json_array_get(res, 0)));
    CHECK_EQ_STR(json_string_value(json_array_get(res, 1)), "app is frozen");
    json_decref(res);
    /* a read pinned to the block before the freeze still sees it allowed */
    sr_buf_reset(&out);
    CHECK_OK(sr_ethrpc_eth_call(r, NULL, app, data.data, data.len, before, &out, &err), &err);
    CHECK_OK(sr_abi_decode_params("(bool,string)", out.data, out.len, &res, &err), &err);
    CHECK(json_is_true(json_array_get(res, 0)));
    json_decref(res);
    json_decref(args);
    sr_buf_free(&data);
    sr_buf_free(&out);
    sr_ethrpc_close(r);
    sr_gate_close(g);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: sr_evm_suite RPC_URL\n");
        return 2;
    }
    url = argv[1];
    sr_test_unhex(ANVIL0, sk_dep, 32);
    sr_test_unhex(ANVIL1, sk_d, 32);
    key_from_label("sealroom evm suite owner A", sk_a);
    key_from_label("sealroom evm suite owner B", sk_b);
    key_from_label("sealroom evm suite owner C", sk_c);
    key_from_label("sealroom evm suite owner E", sk_e);
    key_from_label("sealroom evm suite outsider", sk_x);
    owner(&own_a, "A", sk_a, "US", "HIPAA");
    owner(&own_b, "B", sk_b, "EU-DE", "GDPR");
    owner(&own_c, "C", sk_c, "EU-FR", "GDPR,PCI");
    owner(&own_d, "D", sk_d, "US", "");
    owner(&own_e, "E", sk_e, "UK", "GDPR");
    SR_RUN(test_create_and_open);
    SR_RUN(test_quorum_and_rejections);
    SR_RUN(test_revoke);
    SR_RUN(test_owner_change);
    SR_RUN(test_is_app_allowed_and_freeze);
    return sr_test_finish();
}

/* sr_evm_tool: driver for the EVM interop tests (tests/interop/gate/test_evm*).
 *   abi-encode TYPES JSON        -> hex of the ABI encoding (TYPES a tuple "(..)")
 *   abi-decode TYPES HEX         -> JSON of the decoded values
 *   selector SIGNATURE           -> 4-byte selector hex
 *   tx-sign SKHEX JSON           -> "RAWHEX HASHHEX"; JSON has chainId, nonce,
 *                                   maxPriorityFeePerGas, maxFeePerGas, gasLimit,
 *                                   to (or null), value (hex), data (hex)
 *   rpc URL METHOD PARAMSJSON    -> result JSON
 *   transact URL SKHEX TO|- DATAHEX -> "TXHASH BLOCK GASUSED [CONTRACT]"
 *   call URL TO SIGNATURE ARGSJSON RETTYPES [BLOCK] -> decoded JSON
 *   gate-create URL DEPLOYERSK NAME K KMSHEX OWNER...  -> contract address
 *                                   (OWNER as ID=0xADDR[:JURISDICTION[:GRADES]])
 *   gate-sign SPEC SK approve|revoke|freeze HASH  -> "SIGNER SIG"
 *   gate-submit SPEC SENDERSK approve|revoke|freeze HASH SIGNER SIG
 *   gate-status SPEC HASH [REQUIRED_ID...]        -> status JSON
 *   bench URL N                    -> JSON figures (bench/gate_evm.sh) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/evm.h"
#include "sealroom/gate.h"
#include "sealroom/secmem.h"

static int fail(const sr_error *e) {
    fprintf(stderr, "sr_evm_tool: %s: %s\n", sr_code_name(e->code), e->msg);
    return 1;
}

static void print_hex(const uint8_t *d, size_t n) {
    char *s = malloc(2 * n + 1);
    sr_hex_encode(d, n, s);
    printf("0x%s", s);
    free(s);
}

static json_t *parse_arg(const char *s) {
    json_error_t je;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &je);
    if (!v) fprintf(stderr, "sr_evm_tool: bad JSON argument: %s\n", je.text);
    return v;
}

static int hex_arg(const char *s, sr_buf *out, sr_error *err) {
    size_t n = strlen(s), got = 0;
    int rc = sr_buf_reserve(out, n / 2 + 1, err);
    if (rc) return rc;
    rc = sr_hex_decode(s, out->data, n / 2 + 1, &got, err);
    out->len = got;
    return rc;
}

static uint64_t u64_field(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    if (json_is_integer(v)) return (uint64_t)json_integer_value(v);
    if (json_is_string(v)) return strtoull(json_string_value(v), NULL, 0);
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Gas of one contract call sent by sk (from the receipt). */
static int gas_of(sr_ethrpc *r, const uint8_t sk[32], const uint8_t app[20], const char *sig, json_t *args,
                  uint64_t *gas, sr_error *err) {
    sr_buf d = {0};
    sr_eth_sent sent;
    int rc = sr_abi_encode_call(sig, args, &d, err);
    json_decref(args);
    if (!rc) rc = sr_ethrpc_transact(r, sk, app, d.data, d.len, 0, &sent, err);
    sr_buf_free(&d);
    if (!rc) *gas = sent.gas_used;
    return rc;
}

/* Deploys a 3-of-4 consortium (owners: 3 fresh keys whose approvals are
 * relayed by anvil account 0, and anvil account 1 which sends its own tx),
 * then measures approval latency (sign -> mined, through sr_gate_approve),
 * status reads per second (sr_gate_status_get, block-pinned) and gas. */
static int bench(const char *url, int n) {
    sr_error err;
    uint8_t dep[32], own[4][32], app[20], h[32], d[32], sig[65];
    char spec[SR_GATE_SPEC_MAX + 64], cspec[1100], label[64];
    sr_gate_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (n < 1 || n > 100000) return 2;
    sr_hex_decode_exact("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", dep, 32, NULL);
    sr_hex_decode_exact("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", own[3], 32, NULL);
    snprintf(cfg.name, sizeof cfg.name, "bench");
    for (int i = 0; i < 4; i++) {
        if (i < 3) {
            snprintf(label, sizeof label, "bench owner %d", i);
            sr_keccak256(label, strlen(label), own[i]);
        }
        snprintf(cfg.owners[i].id, sizeof cfg.owners[i].id, "owner-%d", i);
        if (sr_eth_address_from_seckey(own[i], cfg.owners[i].addr, &err)) return fail(&err);
    }
    cfg.n_owners = 4;
    cfg.threshold = 3;
    cfg.kms_pubkey_len = 33;
    memset(cfg.kms_pubkey, 2, 33);
    snprintf(cspec, sizeof cspec, "evm:%s", url);
    sr_gate *g = NULL;
    sr_ethrpc *r = NULL;
    if (sr_gate_create(cspec, &cfg, dep, app, spec, sizeof spec, &err) || sr_gate_open(spec, &g, &err) ||
        sr_gate_set_sender(g, dep, &err) || sr_ethrpc_open(url, 0, &r, &err))
        return fail(&err);
    double *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        snprintf(label, sizeof label, "bench recipe %d", i);
        sr_sha256(label, strlen(label), h);
        double t0 = now_s();
        if (sr_gate_approve(g, h, own[i % 3], &err)) return fail(&err);
        lat[i] = now_s() - t0;
    }
    qsort(lat, (size_t)n, sizeof *lat, cmp_d);
    sr_gate_status *st = calloc(1, sizeof *st);
    int reads = n * 4;
    double t0 = now_s();
    for (int i = 0; i < reads; i++)
        if (sr_gate_status_get(g, h, NULL, 0, st, &err)) return fail(&err);
    double rps = reads / (now_s() - t0);
    /* gas: approveBySig (relayed), approve (own tx), revokeBySig, revoke (own), isAppAllowed,
     * requireOwners (own tx), isAppAllowed with a declared set */
    uint64_t g_by = 0, g_own = 0, g_rev_by = 0, g_rev = 0, g_allowed = 0;
    sr_gate_domain dom;
    sr_gate_get_domain(g, &dom);
    char hx[67] = "0x", sx[133] = "0x", ax[43] = "0x", appx[43] = "0x";
    sr_sha256("gas recipe", 10, h);
    sr_hex_encode(h, 32, hx + 2);
    sr_hex_encode(cfg.owners[0].addr, 20, ax + 2);
    sr_hex_encode(app, 20, appx + 2);
    sr_gate_approve_digest(&dom, h, d);
    if (sr_gate_sign_digest(d, own[0], sig, &err)) return fail(&err);
    sr_hex_encode(sig, 65, sx + 2);
    if (gas_of(r, dep, app, "approveBySig(bytes32,address,bytes)", json_pack("[s,s,s]", hx, ax, sx), &g_by, &err) ||
        gas_of(r, own[3], app, "approve(bytes32)", json_pack("[s]", hx), &g_own, &err))
        return fail(&err);
    {
        const char *z = "0x0000000000000000000000000000000000000000000000000000000000000000";
        json_t *args = json_pack("[[s,s,s,s,s,s,s,s,[]]]", appx, hx, appx, z, z, z, z, "UpToDate");
        sr_buf cd = {0};
        uint8_t from[20];
        sr_eth_address_from_seckey(dep, from, NULL);
        if (sr_abi_encode_call("isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]))",
                               args, &cd, &err) ||
            sr_ethrpc_estimate_gas(r, from, app, cd.data, cd.len, &g_allowed, &err))
            return fail(&err);
        json_decref(args);
        sr_buf_free(&cd);
    }
    /* requireOwners (own tx, 2 owners listed) on a fresh hash, then all
     * approve it: isAppAllowed on the allowed path with a declared set */
    uint64_t g_req = 0, g_allowed_req = 0;
    {
        uint8_t hr[32];
        char hrx[67] = "0x", a3[43] = "0x";
        sr_sha256("gas recipe required", 19, hr);
        sr_hex_encode(hr, 32, hrx + 2);
        sr_hex_encode(cfg.owners[3].addr, 20, a3 + 2);
        if (gas_of(r, own[3], app, "requireOwners(bytes32,address[])", json_pack("[s,[s,s]]", hrx, ax, a3), &g_req,
                   &err))
            return fail(&err);
        for (int i = 0; i < 4; i++)
            if (sr_gate_approve(g, hr, own[i], &err)) return fail(&err);
        const char *z = "0x0000000000000000000000000000000000000000000000000000000000000000";
        json_t *args = json_pack("[[s,s,s,s,s,s,s,s,[]]]", appx, hrx, appx, z, z, z, z, "UpToDate");
        sr_buf cd = {0};
        uint8_t from[20];
        sr_eth_address_from_seckey(dep, from, NULL);
        if (sr_abi_encode_call("isAppAllowed((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]))",
                               args, &cd, &err) ||
            sr_ethrpc_estimate_gas(r, from, app, cd.data, cd.len, &g_allowed_req, &err))
            return fail(&err);
        json_decref(args);
        sr_buf_free(&cd);
    }
    sr_gate_revoke_digest(&dom, h, d);
    if (sr_gate_sign_digest(d, own[0], sig, &err)) return fail(&err);
    sr_hex_encode(sig, 65, sx + 2);
    if (gas_of(r, dep, app, "revokeBySig(bytes32,address,bytes)", json_pack("[s,s,s]", hx, ax, sx), &g_rev_by, &err))
        return fail(&err);
    sr_sha256("gas recipe 2", 12, h);
    sr_hex_encode(h, 32, hx + 2);
    if (gas_of(r, own[3], app, "revoke(bytes32)", json_pack("[s]", hx), &g_rev, &err)) return fail(&err);
    printf("{\"approvals\":%d,\"approve_latency_ms\":{\"median\":%.2f,\"p90\":%.2f,\"max\":%.2f},"
           "\"status_reads\":%d,\"status_reads_per_s\":%.0f,"
           "\"gas\":{\"approveBySig\":%llu,\"approve\":%llu,\"revokeBySig\":%llu,\"revoke\":%llu,"
           "\"isAppAllowed_estimate\":%llu,\"requireOwners\":%llu,\"isAppAllowed_required_estimate\":%llu}}\n",
           n, lat[n / 2] * 1e3, lat[(n * 9) / 10] * 1e3, lat[n - 1] * 1e3, reads, rps, (unsigned long long)g_by,
           (unsigned long long)g_own, (unsigned long long)g_rev_by, (unsigned long long)g_rev,
           (unsigned long long)g_allowed, (unsigned long long)g_req, (unsigned long long)g_allowed_req);
    free(lat);
    free(st);
    sr_ethrpc_close(r);
    sr_gate_close(g);
    return 0;
}

int main(int argc, char **argv) {
    sr_error err;
    sr_error_clear(&err);
    if (argc < 2) {
        fprintf(stderr, "usage: sr_evm_tool abi-encode|abi-decode|selector|tx-sign|rpc|transact|call ...\n");
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "abi-encode") && argc == 4) {
        json_t *v = parse_arg(argv[3]);
        if (!v) return 2;
        sr_buf b = {0};
        int rc = sr_abi_encode_params(argv[2], v, &b, &err);
        json_decref(v);
        if (rc) return fail(&err);
        print_hex(b.data, b.len);
        printf("\n");
        sr_buf_free(&b);
        return 0;
    }
    if (!strcmp(cmd, "abi-decode") && argc == 4) {
        sr_buf b = {0};
        json_t *out = NULL;
        if (hex_arg(argv[3], &b, &err) || sr_abi_decode_params(argv[2], b.data, b.len, &out, &err)) {
            sr_buf_free(&b);
            return fail(&err);
        }
        char *s = json_dumps(out, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(out);
        sr_buf_free(&b);
        return 0;
    }
    if (!strcmp(cmd, "selector") && argc == 3) {
        uint8_t sel[4];
        sr_abi_selector(argv[2], sel);
        print_hex(sel, 4);
        printf("\n");
        return 0;
    }
    if (!strcmp(cmd, "tx-sign") && argc == 4) {
        uint8_t sk[32];
        json_t *o = parse_arg(argv[3]);
        if (!o) return 2;
        sr_eth_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.chain_id = u64_field(o, "chainId");
        tx.nonce = u64_field(o, "nonce");
        tx.max_priority_fee = u64_field(o, "maxPriorityFeePerGas");
        tx.max_fee = u64_field(o, "maxFeePerGas");
        tx.gas_limit = u64_field(o, "gasLimit");
        json_t *to = json_object_get(o, "to");
        sr_buf data = {0}, val = {0}, raw = {0};
        uint8_t h[32];
        int rc = sr_hex_decode_exact(argv[2], sk, 32, &err);
        if (!rc && json_is_string(to)) {
            tx.has_to = 1;
            rc = sr_hex_decode_exact(json_string_value(to), tx.to, 20, &err);
        }
        if (!rc) rc = hex_arg(json_string_value(json_object_get(o, "value")), &val, &err);
        if (!rc && val.len > 32) rc = sr_error_set(&err, SR_EINVAL, "value too long");
        if (!rc) memcpy(tx.value + 32 - val.len, val.data, val.len);
        if (!rc) rc = hex_arg(json_string_value(json_object_get(o, "data")), &data, &err);
        tx.data = data.data;
        tx.data_len = data.len;
        if (!rc) rc = sr_eth_tx_sign(&tx, sk, &raw, h, &err);
        json_decref(o);
        if (rc) return fail(&err);
        print_hex(raw.data, raw.len);
        printf(" ");
        print_hex(h, 32);
        printf("\n");
        sr_buf_free(&data);
        sr_buf_free(&val);
        sr_buf_free(&raw);
        return 0;
    }
    if (!strcmp(cmd, "rpc") && argc == 5) {
        sr_ethrpc *r = NULL;
        json_t *params = parse_arg(argv[4]), *res = NULL;
        if (!params) return 2;
        if (sr_ethrpc_open(argv[2], 10000, &r, &err) || sr_ethrpc_call(r, argv[3], params, &res, &err)) {
            sr_ethrpc_close(r);
            return fail(&err);
        }
        char *s = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", s);
        free(s);
        json_decref(res);
        sr_ethrpc_close(r);
        return 0;
    }
    if (!strcmp(cmd, "transact") && argc == 6) {
        sr_ethrpc *r = NULL;
        uint8_t sk[32], to[20];
        sr_buf data = {0};
        sr_eth_sent sent;
        int has_to = strcmp(argv[4], "-") != 0;
        int rc = sr_ethrpc_open(argv[2], 10000, &r, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[3], sk, 32, &err);
        if (!rc && has_to) rc = sr_hex_decode_exact(argv[4], to, 20, &err);
        if (!rc) rc = hex_arg(argv[5], &data, &err);
        if (!rc) rc = sr_ethrpc_transact(r, sk, has_to ? to : NULL, data.data, data.len, 0, &sent, &err);
        sr_ethrpc_close(r);
        sr_buf_free(&data);
        if (rc) return fail(&err);
        print_hex(sent.hash, 32);
        printf(" %llu %llu", (unsigned long long)sent.block, (unsigned long long)sent.gas_used);
        if (sent.has_contract) {
            printf(" ");
            print_hex(sent.contract, 20);
        }
        printf("\n");
        return 0;
    }
    if (!strcmp(cmd, "call") && (argc == 7 || argc == 8)) {
        sr_ethrpc *r = NULL;
        uint8_t to[20];
        sr_buf data = {0}, out = {0};
        json_t *args = parse_arg(argv[5]), *res = NULL;
        if (!args) return 2;
        uint64_t block = argc == 8 ? strtoull(argv[7], NULL, 0) : UINT64_MAX;
        int rc = sr_ethrpc_open(argv[2], 10000, &r, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[3], to, 20, &err);
        if (!rc) rc = sr_abi_encode_call(argv[4], args, &data, &err);
        if (!rc) rc = sr_ethrpc_eth_call(r, NULL, to, data.data, data.len, block, &out, &err);
        if (!rc) rc = sr_abi_decode_params(argv[6], out.data, out.len, &res, &err);
        json_decref(args);
        sr_ethrpc_close(r);
        sr_buf_free(&data);
        sr_buf_free(&out);
        if (rc) return fail(&err);
        char *s = json_dumps(res, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(res);
        return 0;
    }
    if (!strcmp(cmd, "gate-create") && argc >= 8) {
        sr_gate_config cfg;
        uint8_t sk[32], app[20];
        char spec[SR_GATE_SPEC_MAX + 64], made[SR_GATE_SPEC_MAX + 64];
        memset(&cfg, 0, sizeof cfg);
        snprintf(cfg.name, sizeof cfg.name, "%s", argv[4]);
        cfg.threshold = (uint32_t)strtoul(argv[5], NULL, 10);
        int rc = sr_hex_decode_exact(argv[3], sk, 32, &err);
        if (!rc) rc = sr_hex_decode(argv[6], cfg.kms_pubkey, sizeof cfg.kms_pubkey, &cfg.kms_pubkey_len, &err);
        for (int i = 7; !rc && i < argc && cfg.n_owners < SR_GATE_MAX_OWNERS; i++)
            rc = sr_gate_owner_parse(argv[i], &cfg.owners[cfg.n_owners++], &err);
        snprintf(spec, sizeof spec, "evm:%s", argv[2]);
        if (!rc) rc = sr_gate_create(spec, &cfg, sk, app, made, sizeof made, &err);
        sr_memzero(sk, sizeof sk);
        if (rc) return fail(&err);
        print_hex(app, 20);
        printf("\n");
        return 0;
    }
    if (!strcmp(cmd, "gate-sign") && argc == 6) {
        sr_gate *g = NULL;
        uint8_t sk[32], h[32], d[32], sig[65], who[20];
        int rc = sr_gate_open(argv[2], &g, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[3], sk, 32, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[5], h, 32, &err);
        if (!rc) {
            sr_gate_domain dom;
            sr_gate_get_domain(g, &dom);
            if (!strcmp(argv[4], "approve")) sr_gate_approve_digest(&dom, h, d);
            else if (!strcmp(argv[4], "revoke")) sr_gate_revoke_digest(&dom, h, d);
            else sr_gate_freeze_digest(&dom, h, d);
            rc = sr_gate_sign_digest(d, sk, sig, &err);
        }
        if (!rc) rc = sr_eth_address_from_seckey(sk, who, &err);
        sr_gate_close(g);
        sr_memzero(sk, sizeof sk);
        if (rc) return fail(&err);
        print_hex(who, 20);
        printf(" ");
        print_hex(sig, 65);
        printf("\n");
        return 0;
    }
    if (!strcmp(cmd, "gate-submit") && argc == 8) {
        sr_gate *g = NULL;
        uint8_t sk[32], h[32], sig[65], who[20];
        int rc = sr_gate_open(argv[2], &g, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[3], sk, 32, &err);
        if (!rc) rc = sr_gate_set_sender(g, sk, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[5], h, 32, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[6], who, 20, &err);
        if (!rc) rc = sr_hex_decode_exact(argv[7], sig, 65, &err);
        if (!rc) {
            if (!strcmp(argv[4], "approve")) rc = sr_gate_approve_sig(g, h, who, sig, &err);
            else if (!strcmp(argv[4], "revoke")) rc = sr_gate_revoke_sig(g, h, who, sig, &err);
            else rc = sr_gate_freeze_sig(g, h, who, sig, &err);
        }
        sr_gate_close(g);
        sr_memzero(sk, sizeof sk);
        if (rc) return fail(&err);
        printf("ok\n");
        return 0;
    }
    if (!strcmp(cmd, "gate-status") && argc >= 4) {
        sr_gate *g = NULL;
        uint8_t h[32];
        sr_gate_status *st = calloc(1, sizeof *st);
        int rc = st ? sr_gate_open(argv[2], &g, &err) : sr_error_set(&err, SR_ENOMEM, "out of memory");
        if (!rc) rc = sr_hex_decode_exact(argv[3], h, 32, &err);
        if (!rc) rc = sr_gate_status_get(g, h, (const char *const *)argv + 4, (size_t)(argc - 4), st, &err);
        if (!rc) {
            char *j = sr_gate_status_json(st, sr_gate_backend(g));
            printf("%s\n", j ? j : "null");
            free(j);
        }
        sr_gate_close(g);
        free(st);
        if (rc) return fail(&err);
        return 0;
    }
    if (!strcmp(cmd, "bench") && argc == 4) return bench(argv[2], atoi(argv[3]));
    fprintf(stderr, "sr_evm_tool: unknown command or wrong argument count\n");
    return 2;
}

/* sealroom gate: spec dispatch, EIP-712 digests, the decision rule, status
 * JSON, configuration checks and consortium-list criteria. Backend
 * independent; see docs/GATE.md. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gate_backend.h"
#include "sealroom/buf.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

/* ---- spec dispatch ------------------------------------------------------ */

/* Splits "evm:URL@0xADDR" at the last '@' whose tail is an address. */
static int parse_evm_spec(const char *rest, char *url, size_t urlcap, uint8_t addr[SR_ETH_ADDR_LEN], int *has_addr,
                          sr_error *err)
{
    const char *at = strrchr(rest, '@');
    size_t ulen = strlen(rest);
    *has_addr = 0;
    if (at != NULL && strlen(at + 1) == 42 && at[1] == '0' && (at[2] == 'x' || at[2] == 'X')) {
        if (sr_eth_address_parse(at + 1, addr, err) != SR_OK)
            return sr_error_prefix(err, "gate spec address");
        *has_addr = 1;
        ulen = (size_t)(at - rest);
    }
    if (ulen == 0)
        return sr_error_set(err, SR_EINVAL, "gate spec: evm: needs an RPC URL");
    if (ulen >= urlcap)
        return sr_error_set(err, SR_ELIMIT, "gate spec: RPC URL too long");
    memcpy(url, rest, ulen);
    url[ulen] = '\0';
    return SR_OK;
}

static int check_spec(const char *spec, sr_error *err)
{
    if (spec == NULL || spec[0] == '\0')
        return sr_error_set(err, SR_EINVAL, "empty gate spec");
    if (strlen(spec) > SR_GATE_SPEC_MAX)
        return sr_error_set(err, SR_ELIMIT, "gate spec longer than %d bytes", SR_GATE_SPEC_MAX);
    return SR_OK;
}

int sr_gate_open(const char *spec, sr_gate **out, sr_error *err)
{
    *out = NULL;
    if (check_spec(spec, err) != SR_OK)
        return err ? err->code : SR_EINVAL;
    sr_gate *g = calloc(1, sizeof *g);
    if (g == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc;
    if (strncmp(spec, "ledger:", 7) == 0) {
        if (spec[7] == '\0') {
            free(g);
            return sr_error_set(err, SR_EINVAL, "gate spec: ledger: needs a path");
        }
        rc = sr_gate_ledger_open(g, spec + 7, err);
    } else if (strncmp(spec, "evm:", 4) == 0) {
        char url[SR_GATE_SPEC_MAX + 1];
        uint8_t addr[SR_ETH_ADDR_LEN];
        int has_addr;
        rc = parse_evm_spec(spec + 4, url, sizeof url, addr, &has_addr, err);
        if (rc == SR_OK && !has_addr)
            rc = sr_error_set(err, SR_EINVAL, "gate spec: evm:URL@0xADDRESS needs the contract address");
        if (rc == SR_OK)
            rc = sr_gate_evm_open(g, url, addr, err);
    } else {
        rc = sr_error_set(err, SR_EINVAL, "gate spec '%.64s': expected ledger:PATH or evm:URL@0xADDRESS", spec);
    }
    if (rc != SR_OK) {
        free(g);
        return rc;
    }
    *out = g;
    return SR_OK;
}

void sr_gate_close(sr_gate *g)
{
    if (g == NULL)
        return;
    if (g->ops != NULL && g->ops->close != NULL)
        g->ops->close(g);
    sr_memzero(g->sender_sk, sizeof g->sender_sk);
    free(g);
}

int sr_gate_create(const char *spec, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                   uint8_t app_out[SR_ETH_ADDR_LEN], char *spec_out, size_t spec_out_cap, sr_error *err)
{
    if (check_spec(spec, err) != SR_OK)
        return err ? err->code : SR_EINVAL;
    if (sr_gate_config_validate(cfg, err) != SR_OK)
        return err ? err->code : SR_EINVAL;
    int rc;
    char made[SR_GATE_SPEC_MAX + 64];
    if (strncmp(spec, "ledger:", 7) == 0) {
        if (spec[7] == '\0')
            return sr_error_set(err, SR_EINVAL, "gate spec: ledger: needs a path");
        rc = sr_gate_ledger_create(spec + 7, cfg, deployer_sk, app_out, err);
        snprintf(made, sizeof made, "%s", spec);
    } else if (strncmp(spec, "evm:", 4) == 0) {
        char url[SR_GATE_SPEC_MAX + 1];
        uint8_t addr[SR_ETH_ADDR_LEN];
        int has_addr;
        rc = parse_evm_spec(spec + 4, url, sizeof url, addr, &has_addr, err);
        if (rc == SR_OK && has_addr)
            rc = sr_error_set(err, SR_EINVAL, "gate spec: create takes evm:URL without an address");
        if (rc == SR_OK)
            rc = sr_gate_evm_create(url, cfg, deployer_sk, app_out, err);
        if (rc == SR_OK) {
            char a[43];
            sr_eth_address_to_string(app_out, a);
            snprintf(made, sizeof made, "evm:%s@%s", url, a);
        }
    } else {
        return sr_error_set(err, SR_EINVAL, "gate spec '%.64s': expected ledger:PATH or evm:URL", spec);
    }
    if (rc != SR_OK)
        return rc;
    if (spec_out != NULL) {
        if (strlen(made) >= spec_out_cap)
            return sr_error_set(err, SR_ELIMIT, "gate spec buffer too small");
        memcpy(spec_out, made, strlen(made) + 1);
    }
    return SR_OK;
}

const char *sr_gate_backend(const sr_gate *g) { return g->ops->name; }

void sr_gate_get_domain(const sr_gate *g, sr_gate_domain *out) { *out = g->domain; }

int sr_gate_set_sender(sr_gate *g, const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    if (sr_secp_seckey_verify(sk, err) != SR_OK)
        return sr_error_prefix(err, "sender key");
    memcpy(g->sender_sk, sk, SR_SECP_SECKEY_LEN);
    g->has_sender = 1;
    return SR_OK;
}

/* ---- EIP-712 ------------------------------------------------------------ */

void sr_gate_domain_separator(const sr_gate_domain *d, uint8_t out[32])
{
    sr_eip712_domain dom;
    dom.name = SR_GATE_DOMAIN_NAME;
    dom.version = SR_GATE_DOMAIN_VERSION;
    dom.chain_id = d->chain_id;
    memcpy(dom.verifying_contract, d->app, SR_ETH_ADDR_LEN);
    sr_eip712_domain_separator(&dom, out);
}

static void digest_one_word(const sr_gate_domain *d, const char *type, const uint8_t word[32], uint8_t digest[32])
{
    uint8_t th[32], sh[32], ds[32];
    uint8_t words[1][32];
    memcpy(words[0], word, 32);
    sr_eip712_type_hash(type, th);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])words, 1, sh);
    sr_gate_domain_separator(d, ds);
    sr_eip712_digest(ds, sh, digest);
}

void sr_gate_approve_digest(const sr_gate_domain *d, const uint8_t compose_hash[32], uint8_t digest[32])
{
    digest_one_word(d, SR_GATE_TYPE_APPROVE, compose_hash, digest);
}

void sr_gate_revoke_digest(const sr_gate_domain *d, const uint8_t compose_hash[32], uint8_t digest[32])
{
    digest_one_word(d, SR_GATE_TYPE_REVOKE, compose_hash, digest);
}

void sr_gate_freeze_digest(const sr_gate_domain *d, const uint8_t reason[32], uint8_t digest[32])
{
    digest_one_word(d, SR_GATE_TYPE_FREEZE, reason, digest);
}

void sr_gate_owner_hash(const sr_gate_owner *o, uint8_t out[32])
{
    uint8_t th[32];
    uint8_t w[4][32];
    sr_eip712_type_hash(SR_GATE_TYPE_OWNER, th);
    sr_word_bytes_hash(o->id, strlen(o->id), w[0]);
    sr_word_address(o->addr, w[1]);
    sr_word_bytes_hash(o->jurisdiction, strlen(o->jurisdiction), w[2]);
    sr_word_bytes_hash(o->grades, strlen(o->grades), w[3]);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])w, 4, out);
}

void sr_gate_change_owners_digest(const sr_gate_domain *d, const sr_gate_owner *owners, size_t n,
                                  uint32_t threshold, uint64_t nonce, uint8_t digest[32])
{
    sr_keccak_ctx kc;
    uint8_t th[32], sh[32], ds[32];
    uint8_t w[3][32];
    sr_keccak256_init(&kc);
    for (size_t i = 0; i < n; i++) {
        uint8_t oh[32];
        sr_gate_owner_hash(&owners[i], oh);
        sr_keccak256_update(&kc, oh, 32);
    }
    sr_keccak256_final(&kc, w[0]);
    sr_word_uint64(threshold, w[1]);
    sr_word_uint64(nonce, w[2]);
    sr_eip712_type_hash(SR_GATE_TYPE_CHANGE_OWNERS, th);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])w, 3, sh);
    sr_gate_domain_separator(d, ds);
    sr_eip712_digest(ds, sh, digest);
}

void sr_gate_require_owners_digest(const sr_gate_domain *d, const uint8_t compose_hash[32],
                                   const uint8_t (*addrs)[SR_ETH_ADDR_LEN], size_t n, uint8_t digest[32])
{
    sr_keccak_ctx kc;
    uint8_t th[32], sh[32], ds[32];
    uint8_t w[2][32];
    memcpy(w[0], compose_hash, 32);
    sr_keccak256_init(&kc);
    for (size_t i = 0; i < n; i++) {
        uint8_t aw[32];
        sr_word_address(addrs[i], aw);
        sr_keccak256_update(&kc, aw, 32);
    }
    sr_keccak256_final(&kc, w[1]);
    sr_eip712_type_hash(SR_GATE_TYPE_REQUIRE_OWNERS, th);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])w, 2, sh);
    sr_gate_domain_separator(d, ds);
    sr_eip712_digest(ds, sh, digest);
}

int sr_gate_sign_digest(const uint8_t digest[32], const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t sig[SR_ETH_SIG_LEN],
                        sr_error *err)
{
    return sr_secp_sign_recoverable(sk, digest, sig, err);
}

/* ---- actions ------------------------------------------------------------ */

int sr_gate_approve_sig(sr_gate *g, const uint8_t compose_hash[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                        const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    return g->ops->approve(g, compose_hash, signer, sig, err);
}

int sr_gate_revoke_sig(sr_gate *g, const uint8_t compose_hash[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                       const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    return g->ops->revoke(g, compose_hash, signer, sig, err);
}

int sr_gate_freeze_sig(sr_gate *g, const uint8_t reason[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                       const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    return g->ops->freeze(g, reason, signer, sig, err);
}

int sr_gate_change_owners_sig(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold,
                              uint64_t nonce, const uint8_t signer[SR_ETH_ADDR_LEN],
                              const uint8_t sig[SR_ETH_SIG_LEN], int *applied, sr_error *err)
{
    int dummy;
    return g->ops->change_owners(g, owners, n, threshold, nonce, signer, sig, applied ? applied : &dummy, err);
}

static int require_owners_check(sr_gate *g, size_t n, sr_error *err)
{
    if (g->ops->require_owners == NULL)
        return sr_error_set(err, SR_ESTATE,
                            "declaring required owners is not available on the %s backend (it has the recipe when "
                            "it decides)",
                            g->ops->name);
    if (n == 0 || n > SR_GATE_MAX_OWNERS)
        return sr_error_set(err, SR_EINVAL, "required owners: 1..%d addresses", SR_GATE_MAX_OWNERS);
    return SR_OK;
}

int sr_gate_require_owners_sig(sr_gate *g, const uint8_t compose_hash[32], const uint8_t (*addrs)[SR_ETH_ADDR_LEN],
                               size_t n, const uint8_t signer[SR_ETH_ADDR_LEN], const uint8_t sig[SR_ETH_SIG_LEN],
                               sr_error *err)
{
    int rc = require_owners_check(g, n, err);
    if (rc != SR_OK)
        return rc;
    return g->ops->require_owners(g, compose_hash, addrs, n, signer, sig, err);
}

/* Signs with sk; if no sender key is set, sk is the sender for this call. */
typedef struct keyed {
    uint8_t signer[SR_ETH_ADDR_LEN];
    uint8_t sig[SR_ETH_SIG_LEN];
    int temp_sender;
} keyed;

static int keyed_begin(sr_gate *g, const uint8_t digest[32], const uint8_t sk[SR_SECP_SECKEY_LEN], keyed *k,
                       sr_error *err)
{
    k->temp_sender = 0;
    if (sr_eth_address_from_seckey(sk, k->signer, err) != SR_OK)
        return err ? err->code : SR_ECRYPTO;
    if (sr_gate_sign_digest(digest, sk, k->sig, err) != SR_OK)
        return err ? err->code : SR_ECRYPTO;
    if (!g->has_sender) {
        memcpy(g->sender_sk, sk, SR_SECP_SECKEY_LEN);
        g->has_sender = 1;
        k->temp_sender = 1;
    }
    return SR_OK;
}

static void keyed_end(sr_gate *g, keyed *k)
{
    if (k->temp_sender) {
        sr_memzero(g->sender_sk, sizeof g->sender_sk);
        g->has_sender = 0;
    }
}

int sr_gate_approve(sr_gate *g, const uint8_t compose_hash[32], const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    uint8_t d[32];
    keyed k;
    sr_gate_approve_digest(&g->domain, compose_hash, d);
    int rc = keyed_begin(g, d, sk, &k, err);
    if (rc == SR_OK)
        rc = g->ops->approve(g, compose_hash, k.signer, k.sig, err);
    keyed_end(g, &k);
    return rc;
}

int sr_gate_revoke(sr_gate *g, const uint8_t compose_hash[32], const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    uint8_t d[32];
    keyed k;
    sr_gate_revoke_digest(&g->domain, compose_hash, d);
    int rc = keyed_begin(g, d, sk, &k, err);
    if (rc == SR_OK)
        rc = g->ops->revoke(g, compose_hash, k.signer, k.sig, err);
    keyed_end(g, &k);
    return rc;
}

int sr_gate_freeze(sr_gate *g, const uint8_t reason[32], const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    uint8_t d[32];
    keyed k;
    sr_gate_freeze_digest(&g->domain, reason, d);
    int rc = keyed_begin(g, d, sk, &k, err);
    if (rc == SR_OK)
        rc = g->ops->freeze(g, reason, k.signer, k.sig, err);
    keyed_end(g, &k);
    return rc;
}

int sr_gate_change_owners(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold, uint64_t nonce,
                          const uint8_t sk[SR_SECP_SECKEY_LEN], int *applied, sr_error *err)
{
    uint8_t d[32];
    keyed k;
    int dummy;
    if (n > SR_GATE_MAX_OWNERS)
        return sr_error_set(err, SR_ELIMIT, "more than %d owners", SR_GATE_MAX_OWNERS);
    sr_gate_change_owners_digest(&g->domain, owners, n, threshold, nonce, d);
    int rc = keyed_begin(g, d, sk, &k, err);
    if (rc == SR_OK)
        rc = g->ops->change_owners(g, owners, n, threshold, nonce, k.signer, k.sig, applied ? applied : &dummy, err);
    keyed_end(g, &k);
    return rc;
}

int sr_gate_require_owners(sr_gate *g, const uint8_t compose_hash[32], const uint8_t (*addrs)[SR_ETH_ADDR_LEN],
                           size_t n, const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    uint8_t d[32];
    keyed k;
    int rc = require_owners_check(g, n, err);
    if (rc != SR_OK)
        return rc;
    sr_gate_require_owners_digest(&g->domain, compose_hash, addrs, n, d);
    rc = keyed_begin(g, d, sk, &k, err);
    if (rc == SR_OK)
        rc = g->ops->require_owners(g, compose_hash, addrs, n, k.signer, k.sig, err);
    keyed_end(g, &k);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

int sr_gate_get_config(sr_gate *g, sr_gate_config *out, uint64_t *nonce, sr_error *err)
{
    uint64_t dummy;
    return g->ops->get_config(g, out, nonce ? nonce : &dummy, err);
}

int sr_gate_status_get(sr_gate *g, const uint8_t compose_hash[32], const char *const *required, size_t n_required,
                       sr_gate_status *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = g->ops->status(g, compose_hash, out, err);
    if (rc != SR_OK)
        return rc;
    if (out->n_declared == 0) {
        sr_gate_decide(out, required, n_required);
        return SR_OK;
    }
    /* the owners declared on chain are required too (as isAppAllowed does):
     * by id, or by address text when no longer an owner (then "unknown") */
    if (out->n_declared > SR_GATE_MAX_OWNERS)
        return sr_error_set(err, SR_EFORMAT, "%zu required owners declared (max %d)", out->n_declared,
                            SR_GATE_MAX_OWNERS);
    size_t total = n_required + out->n_declared;
    const char **all = calloc(total, sizeof *all);
    char(*txt)[43] = calloc(out->n_declared, sizeof *txt);
    if (all == NULL || txt == NULL) {
        free(all);
        free(txt);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_required; i++)
        all[i] = required[i];
    for (size_t j = 0; j < out->n_declared; j++) {
        int oi = sr_gate_owner_index_addr(&out->config, out->declared[j]);
        if (oi >= 0) {
            all[n_required + j] = out->config.owners[oi].id;
        } else {
            sr_eth_address_to_string(out->declared[j], txt[j]);
            all[n_required + j] = txt[j];
        }
    }
    sr_gate_decide(out, all, total);
    free(all);
    free(txt);
    return SR_OK;
}

int sr_gate_entry_hash(sr_gate *g, uint64_t pos, uint8_t out[32], sr_error *err)
{
    if (g->ops->entry_hash == NULL)
        return sr_error_set(err, SR_ESTATE, "entry hashes are not available on the %s backend", g->ops->name);
    return g->ops->entry_hash(g, pos, out, err);
}

int sr_gate_history(sr_gate *g, sr_gate_event **out, size_t *n, sr_error *err)
{
    *out = NULL;
    *n = 0;
    if (strcmp(g->ops->name, "ledger") != 0)
        return sr_error_set(err, SR_ESTATE, "history is not available on the %s backend", g->ops->name);
    return sr_gate_ledger_history(g, out, n, err);
}

/* Appends formatted text to a fixed buffer, truncating safely. */
static void cat(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cat(char *dst, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(dst);
    if (len + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst + len, cap - len, fmt, ap);
    va_end(ap);
}

void sr_gate_decide(sr_gate_status *st, const char *const *required, size_t n_required)
{
    const sr_gate_config *c = &st->config;
    const char *unit = st->pos_unit[0] ? st->pos_unit : "seq";
    st->allowed = 0;
    st->reason[0] = '\0';
    if (st->frozen) {
        cat(st->reason, sizeof st->reason, "frozen by %s at %s %llu", st->frozen_by[0] ? st->frozen_by : "?", unit,
            (unsigned long long)st->frozen_pos);
        return;
    }
    if (st->revoked) {
        cat(st->reason, sizeof st->reason, "revoked by %s at %s %llu", st->revoked_by[0] ? st->revoked_by : "?",
            unit, (unsigned long long)st->revoked_pos);
        return;
    }
    for (size_t i = 0; i < n_required; i++) {
        if (sr_gate_owner_index_id(c, required[i]) < 0) {
            cat(st->reason, sizeof st->reason, "not approved: unknown owner %.64s", required[i]);
            return;
        }
    }
    size_t a = 0;
    for (size_t i = 0; i < c->n_owners && i < SR_GATE_MAX_OWNERS; i++)
        if (st->approved[i])
            a++;
    st->n_approved = a;
    int missing = 0;
    char miss[SR_GATE_REASON_MAX] = "";
    for (size_t i = 0; i < n_required; i++) {
        int idx = sr_gate_owner_index_id(c, required[i]);
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(required[j], required[i]) == 0)
                dup = 1;
        if (!dup && !st->approved[idx]) {
            cat(miss, sizeof miss, "%s%s", missing ? "," : "", required[i]);
            missing++;
        }
    }
    if (a >= c->threshold && c->threshold > 0 && missing == 0) {
        st->allowed = 1;
        cat(st->reason, sizeof st->reason, "allowed: %zu/%zu approvals (k=%u)", a, c->n_owners, c->threshold);
        return;
    }
    cat(st->reason, sizeof st->reason, "not approved: %zu/%zu (k=%u)", a, c->n_owners, c->threshold);
    if (missing)
        cat(st->reason, sizeof st->reason, ", missing %s", miss);
}

static json_t *addr_json(const uint8_t a[SR_ETH_ADDR_LEN])
{
    char s[43];
    sr_eth_address_to_string(a, s);
    return json_string(s);
}

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char s[2 + 2 * SR_GATE_KMS_KEY_MAX + 1];
    if (n > SR_GATE_KMS_KEY_MAX)
        n = SR_GATE_KMS_KEY_MAX;
    s[0] = '0';
    s[1] = 'x';
    sr_hex_encode(p, n, s + 2);
    return json_string(s);
}

char *sr_gate_status_json(const sr_gate_status *st, const char *backend)
{
    const sr_gate_config *c = &st->config;
    json_t *o = json_object();
    json_t *owners = json_array();
    if (o == NULL || owners == NULL) {
        json_decref(o);
        json_decref(owners);
        return NULL;
    }
    for (size_t i = 0; i < c->n_owners && i < SR_GATE_MAX_OWNERS; i++) {
        const sr_gate_owner *w = &c->owners[i];
        json_t *e = json_object();
        json_object_set_new(e, "id", json_string(w->id));
        json_object_set_new(e, "address", addr_json(w->addr));
        json_object_set_new(e, "jurisdiction", json_string(w->jurisdiction));
        json_object_set_new(e, "grades", json_string(w->grades));
        json_object_set_new(e, "approved", json_boolean(st->approved[i]));
        json_object_set_new(e, "pos", st->approved[i] ? json_integer((json_int_t)st->approved_pos[i]) : json_null());
        json_array_append_new(owners, e);
    }
    json_object_set_new(o, "allowed", json_boolean(st->allowed));
    json_object_set_new(o, "reason", json_string(st->reason));
    json_object_set_new(o, "backend", json_string(backend ? backend : ""));
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "app", addr_json(st->domain.app));
    json_object_set_new(o, "chain_id", json_integer((json_int_t)st->domain.chain_id));
    json_object_set_new(o, "compose_hash", hex_json(st->compose_hash, 32));
    json_object_set_new(o, "threshold", json_integer(c->threshold));
    json_object_set_new(o, "n_owners", json_integer((json_int_t)c->n_owners));
    json_object_set_new(o, "approvals", json_integer((json_int_t)st->n_approved));
    json_object_set_new(o, "owners", owners);
    json_object_set_new(o, "kms_pubkey", hex_json(c->kms_pubkey, c->kms_pubkey_len));
    json_object_set_new(o, "revoked", json_boolean(st->revoked));
    json_object_set_new(o, "revoked_by", st->revoked ? json_string(st->revoked_by) : json_null());
    json_object_set_new(o, "revoked_pos", st->revoked ? json_integer((json_int_t)st->revoked_pos) : json_null());
    json_object_set_new(o, "frozen", json_boolean(st->frozen));
    json_object_set_new(o, "frozen_by", st->frozen ? json_string(st->frozen_by) : json_null());
    json_object_set_new(o, "frozen_pos", st->frozen ? json_integer((json_int_t)st->frozen_pos) : json_null());
    json_object_set_new(o, "snapshot", json_integer((json_int_t)st->snapshot));
    json_object_set_new(o, "pos_unit", json_string(st->pos_unit[0] ? st->pos_unit : "seq"));
    json_object_set_new(o, "config_nonce", json_integer((json_int_t)st->config_nonce));
    json_object_set_new(o, "head_hash", st->has_snapshot_hash ? hex_json(st->snapshot_hash, 32) : json_null());
    if (st->has_declared) {
        json_t *req = json_array();
        for (size_t j = 0; req != NULL && j < st->n_declared && j < SR_GATE_MAX_OWNERS; j++) {
            int oi = sr_gate_owner_index_addr(c, st->declared[j]);
            json_array_append_new(req, oi >= 0 ? json_string(c->owners[oi].id) : addr_json(st->declared[j]));
        }
        json_object_set_new(o, "required_on_chain", req);
    } else {
        json_object_set_new(o, "required_on_chain", json_null());
    }
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* ---- configuration ------------------------------------------------------ */

static int id_char(int ch) { return isalnum(ch) || ch == '.' || ch == '_' || ch == '-'; }

static int check_token(const char *s, size_t minlen, size_t maxlen, const char *what, sr_error *err)
{
    size_t n = strnlen(s, maxlen + 1);
    if (n < minlen || n > maxlen)
        return sr_error_set(err, SR_EINVAL, "%s must be %zu..%zu characters", what, minlen, maxlen);
    for (size_t i = 0; i < n; i++)
        if (!id_char((unsigned char)s[i]))
            return sr_error_set(err, SR_EINVAL, "%s '%.64s' has a character outside [A-Za-z0-9._-]", what, s);
    return SR_OK;
}

int sr_gate_grades_canonical(const char *in, char *out, sr_error *err)
{
    char buf[SR_GATE_GRADES_MAX + 1];
    size_t n = strnlen(in, SR_GATE_GRADES_MAX + 1);
    if (n > SR_GATE_GRADES_MAX)
        return sr_error_set(err, SR_ELIMIT, "grades longer than %d characters", SR_GATE_GRADES_MAX);
    buf[0] = '\0';
    size_t blen = 0;
    const char *p = in;
    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t tl = e ? (size_t)(e - p) : strlen(p);
        if (tl == 0)
            return sr_error_set(err, SR_EINVAL, "grades '%.128s' has an empty entry", in);
        char tok[SR_GATE_GRADES_MAX + 1];
        for (size_t i = 0; i < tl; i++) {
            int ch = (unsigned char)p[i];
            if (!(isalnum(ch) || ch == '_' || ch == '-'))
                return sr_error_set(err, SR_EINVAL, "grade '%.*s' has a character outside [A-Z0-9_-]", (int)tl, p);
            tok[i] = (char)toupper(ch);
        }
        tok[tl] = '\0';
        /* drop duplicates */
        int dup = 0;
        const char *q = buf;
        while (*q != '\0') {
            const char *qe = strchr(q, ',');
            size_t ql = qe ? (size_t)(qe - q) : strlen(q);
            if (ql == tl && memcmp(q, tok, tl) == 0)
                dup = 1;
            q += ql;
            if (*q == ',')
                q++;
        }
        if (!dup) {
            if (blen + (blen ? 1 : 0) + tl > SR_GATE_GRADES_MAX)
                return sr_error_set(err, SR_ELIMIT, "grades too long");
            if (blen)
                buf[blen++] = ',';
            memcpy(buf + blen, tok, tl);
            blen += tl;
            buf[blen] = '\0';
        }
        p += tl;
        if (*p == ',') {
            p++;
            if (*p == '\0')
                return sr_error_set(err, SR_EINVAL, "grades '%.128s' ends with a comma", in);
        }
    }
    memcpy(out, buf, blen + 1);
    return SR_OK;
}

int sr_gate_config_validate(const sr_gate_config *cfg, sr_error *err)
{
    size_t nl = strnlen(cfg->name, SR_GATE_NAME_MAX + 1);
    if (nl == 0 || nl > SR_GATE_NAME_MAX)
        return sr_error_set(err, SR_EINVAL, "consortium name must be 1..%d characters", SR_GATE_NAME_MAX);
    for (size_t i = 0; i < nl; i++) {
        unsigned char ch = (unsigned char)cfg->name[i];
        if (ch < 0x20 || ch > 0x7e)
            return sr_error_set(err, SR_EINVAL, "consortium name must be printable ASCII");
    }
    if (cfg->n_owners == 0 || cfg->n_owners > SR_GATE_MAX_OWNERS)
        return sr_error_set(err, SR_EINVAL, "a consortium needs 1..%d owners (got %zu)", SR_GATE_MAX_OWNERS,
                            cfg->n_owners);
    if (cfg->threshold < 1 || cfg->threshold > cfg->n_owners)
        return sr_error_set(err, SR_EINVAL, "threshold %u outside 1..%zu", cfg->threshold, cfg->n_owners);
    if (cfg->kms_pubkey_len < 1 || cfg->kms_pubkey_len > SR_GATE_KMS_KEY_MAX)
        return sr_error_set(err, SR_EINVAL, "KMS root public key must be 1..%d bytes", SR_GATE_KMS_KEY_MAX);
    static const uint8_t zero[SR_ETH_ADDR_LEN];
    for (size_t i = 0; i < cfg->n_owners; i++) {
        const sr_gate_owner *o = &cfg->owners[i];
        if (check_token(o->id, 1, SR_GATE_ID_MAX, "owner id", err) != SR_OK)
            return err ? err->code : SR_EINVAL;
        if (check_token(o->jurisdiction, 0, SR_GATE_JURIS_MAX, "jurisdiction", err) != SR_OK)
            return sr_error_prefix(err, "owner %s", o->id);
        char canon[SR_GATE_GRADES_MAX + 1];
        if (sr_gate_grades_canonical(o->grades, canon, err) != SR_OK)
            return sr_error_prefix(err, "owner %s", o->id);
        if (strcmp(canon, o->grades) != 0)
            return sr_error_set(err, SR_EINVAL, "owner %s: grades '%s' not canonical (expected '%s')", o->id,
                                o->grades, canon);
        if (memcmp(o->addr, zero, SR_ETH_ADDR_LEN) == 0)
            return sr_error_set(err, SR_EINVAL, "owner %s has the zero address", o->id);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->owners[j].id, o->id) == 0)
                return sr_error_set(err, SR_EINVAL, "owner id %s appears twice", o->id);
            if (memcmp(cfg->owners[j].addr, o->addr, SR_ETH_ADDR_LEN) == 0)
                return sr_error_set(err, SR_EINVAL, "owners %s and %s have the same address", cfg->owners[j].id,
                                    o->id);
        }
    }
    return SR_OK;
}

int sr_gate_owner_parse(const char *text, sr_gate_owner *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    const char *eq = strchr(text, '=');
    if (eq == NULL)
        return sr_error_set(err, SR_EINVAL, "owner '%.80s': expected ID=0xADDRESS[:JURISDICTION[:GRADES]]", text);
    size_t idl = (size_t)(eq - text);
    if (idl == 0 || idl > SR_GATE_ID_MAX)
        return sr_error_set(err, SR_EINVAL, "owner '%.80s': id must be 1..%d characters", text, SR_GATE_ID_MAX);
    memcpy(out->id, text, idl);
    out->id[idl] = '\0';
    if (check_token(out->id, 1, SR_GATE_ID_MAX, "owner id", err) != SR_OK)
        return err ? err->code : SR_EINVAL;
    const char *a = eq + 1;
    const char *c1 = strchr(a, ':');
    size_t al = c1 ? (size_t)(c1 - a) : strlen(a);
    char abuf[64];
    if (al >= sizeof abuf)
        return sr_error_set(err, SR_EINVAL, "owner %s: bad address", out->id);
    memcpy(abuf, a, al);
    abuf[al] = '\0';
    if (sr_eth_address_parse(abuf, out->addr, err) != SR_OK)
        return sr_error_prefix(err, "owner %s", out->id);
    if (c1 == NULL)
        return SR_OK;
    const char *j = c1 + 1;
    const char *c2 = strchr(j, ':');
    size_t jl = c2 ? (size_t)(c2 - j) : strlen(j);
    if (jl > SR_GATE_JURIS_MAX)
        return sr_error_set(err, SR_EINVAL, "owner %s: jurisdiction longer than %d", out->id, SR_GATE_JURIS_MAX);
    memcpy(out->jurisdiction, j, jl);
    out->jurisdiction[jl] = '\0';
    if (check_token(out->jurisdiction, 0, SR_GATE_JURIS_MAX, "jurisdiction", err) != SR_OK)
        return sr_error_prefix(err, "owner %s", out->id);
    if (c2 == NULL)
        return SR_OK;
    if (sr_gate_grades_canonical(c2 + 1, out->grades, err) != SR_OK)
        return sr_error_prefix(err, "owner %s", out->id);
    return SR_OK;
}

int sr_gate_owner_index_addr(const sr_gate_config *cfg, const uint8_t addr[SR_ETH_ADDR_LEN])
{
    for (size_t i = 0; i < cfg->n_owners && i < SR_GATE_MAX_OWNERS; i++)
        if (memcmp(cfg->owners[i].addr, addr, SR_ETH_ADDR_LEN) == 0)
            return (int)i;
    return -1;
}

int sr_gate_owner_index_id(const sr_gate_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_owners && i < SR_GATE_MAX_OWNERS; i++)
        if (strcmp(cfg->owners[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* ---- consortium list criteria -------------------------------------------- */

const char *sr_gate_match_name(sr_gate_match m)
{
    switch (m) {
    case SR_GATE_MATCH:
        return "match";
    case SR_GATE_PARTIAL:
        return "partial";
    default:
        return "miss";
    }
}

/* 1 if the canonical grades list g contains token t (case-insensitive). */
static int grades_has(const char *g, const char *t, size_t tl)
{
    while (*g != '\0') {
        const char *e = strchr(g, ',');
        size_t gl = e ? (size_t)(e - g) : strlen(g);
        if (gl == tl && strncasecmp(g, t, tl) == 0)
            return 1;
        g += gl;
        if (*g == ',')
            g++;
    }
    return 0;
}

static int eval_one(const sr_gate_config *cfg, const char *c, sr_gate_criterion *out, sr_error *err)
{
    size_t n = cfg->n_owners;
    if (strncmp(c, "owners>=", 8) == 0) {
        const char *num = c + 8;
        char *end;
        if (!isdigit((unsigned char)num[0]))
            return sr_error_set(err, SR_EINVAL, "criterion '%s': expected owners>=N", c);
        unsigned long v = strtoul(num, &end, 10);
        if (*end != '\0' || v < 1 || v > 1000000)
            return sr_error_set(err, SR_EINVAL, "criterion '%s': expected owners>=N with N >= 1", c);
        if (n >= v)
            out->result = SR_GATE_MATCH;
        else if (n >= 2 && 2 * n >= v)
            out->result = SR_GATE_PARTIAL;
        else
            out->result = SR_GATE_MISS;
        snprintf(out->detail, sizeof out->detail, "%zu owner%s", n, n == 1 ? "" : "s");
        return SR_OK;
    }
    if (strcasecmp(c, "multi-jurisdiction") == 0) {
        const char *seen[SR_GATE_MAX_OWNERS];
        size_t ns = 0, unknown = 0;
        for (size_t i = 0; i < n; i++) {
            const char *j = cfg->owners[i].jurisdiction;
            if (j[0] == '\0') {
                unknown++;
                continue;
            }
            int dup = 0;
            for (size_t k = 0; k < ns; k++)
                if (strcasecmp(seen[k], j) == 0)
                    dup = 1;
            if (!dup)
                seen[ns++] = j;
        }
        out->result = ns >= 2 ? SR_GATE_MATCH : unknown > 0 ? SR_GATE_PARTIAL : SR_GATE_MISS;
        snprintf(out->detail, sizeof out->detail, "%zu jurisdiction%s", ns, ns == 1 ? "" : "s");
        for (size_t k = 0; k < ns; k++)
            cat(out->detail, sizeof out->detail, "%s%s", k ? ", " : ": ", seen[k]);
        if (unknown)
            cat(out->detail, sizeof out->detail, " (%zu unknown)", unknown);
        return SR_OK;
    }
    /* G1|G2|... */
    for (const char *p = c; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '|'))
            return sr_error_set(err, SR_EINVAL,
                                "criterion '%s': expected owners>=N, multi-jurisdiction or GRADE|GRADE...", c);
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = c;
        int ok = 0;
        while (*p != '\0') {
            const char *e = strchr(p, '|');
            size_t tl = e ? (size_t)(e - p) : strlen(p);
            if (tl == 0)
                return sr_error_set(err, SR_EINVAL, "criterion '%s' has an empty grade", c);
            if (grades_has(cfg->owners[i].grades, p, tl))
                ok = 1;
            p += tl;
            if (*p == '|')
                p++;
        }
        if (ok)
            have++;
    }
    out->result = (have == n && n > 0) ? SR_GATE_MATCH : have > 0 ? SR_GATE_PARTIAL : SR_GATE_MISS;
    snprintf(out->detail, sizeof out->detail, "%zu/%zu owners", have, n);
    return SR_OK;
}

int sr_gate_criteria_eval(const sr_gate_config *cfg, const char *criteria, sr_gate_criterion *out, size_t cap,
                          size_t *n_out, sr_error *err)
{
    *n_out = 0;
    const char *p = criteria;
    if (strlen(criteria) > 4096)
        return sr_error_set(err, SR_ELIMIT, "criteria too long");
    while (*p != '\0') {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l > 0 && isspace((unsigned char)*p)) {
            p++;
            l--;
        }
        while (l > 0 && isspace((unsigned char)p[l - 1]))
            l--;
        if (l == 0)
            return sr_error_set(err, SR_EINVAL, "criteria '%.80s' has an empty entry", criteria);
        if (l > SR_GATE_GRADES_MAX)
            return sr_error_set(err, SR_ELIMIT, "criterion too long");
        if (*n_out >= cap)
            return sr_error_set(err, SR_ELIMIT, "more than %zu criteria", cap);
        sr_gate_criterion *c = &out[*n_out];
        memset(c, 0, sizeof *c);
        memcpy(c->text, p, l);
        c->text[l] = '\0';
        if (eval_one(cfg, c->text, c, err) != SR_OK)
            return err ? err->code : SR_EINVAL;
        (*n_out)++;
        p += (e ? (size_t)(e - p) + 1 : strlen(p));
        if (e && *p == '\0')
            return sr_error_set(err, SR_EINVAL, "criteria end with a comma");
    }
    return SR_OK;
}

/* Offline verification of receipts (docs/RECEIPT.md "Verification"): nine
 * named checks, each filling one line of the report. The receipt is
 * untrusted input: every field is type- and size-checked in "format"
 * before any other check reads it; when "format" fails the others are
 * reported as skipped. */
#include "sealroom/receipt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"
#include "sealroom/engine.h"
#include "sealroom/gate.h"
#include "sealroom/json.h"
#include "sealroom/kms.h"
#include "sealroom/kmsstore.h"
#include "sealroom/recipe.h"

#define MAX_STATEMENT (1u << 20)
#define MAX_CERT_PAYLOAD (1u << 20)
#define MAX_EVENT_LOG (4u << 20)
#define MAX_RECIPE_B64 (((SR_RECIPE_MAX_BYTES + 2) / 3) * 4)
#define MAX_RUN_ID 128

typedef struct vctx {
    const json_t *r;
    const sr_receipt_policy *pol;
    sr_receipt_report *rep;
    /* from "format" */
    json_t *st; /* parsed statement */
    const char *statement, *payload, *event_log, *tee, *cert_payload;
    const json_t *cert, *gpu, *st_gate, *st_inputs;
    uint8_t sig[SR_ETH_SIG_LEN];
    uint8_t cvm_pub[SR_SECP_PUBKEY_LEN];
    uint8_t nonce[32];
    uint8_t compose[32];
    uint8_t payload_sha[32];
    sr_buf quote;
    sr_recipe *recipe;
    int64_t created;
    double eps, delta;
    /* later */
    sr_attest_result *att;
    sr_gate *gate;
    int gate_failed;
    char gate_err[SR_ERROR_MSG_MAX];
} vctx;

static void add(sr_receipt_report *rep, const char *name, int ok, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(sr_receipt_report *rep, const char *name, int ok, const char *fmt, ...)
{
    if (rep->nchecks >= SR_RECEIPT_MAX_CHECKS)
        return;
    sr_receipt_check *c = &rep->checks[rep->nchecks++];
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ok = ok;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->detail, sizeof c->detail, fmt, ap);
    va_end(ap);
    /* details are shown on a terminal and in JSON: printable ASCII only (no
     * control characters, no UTF-8 sequence cut by the truncation) */
    for (char *p = c->detail; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
}

static int only_keys(const json_t *o, const char *const *keys, const char **extra)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        (void)v;
        int known = 0;
        for (size_t i = 0; keys[i] != NULL && !known; i++)
            known = strcmp(keys[i], k) == 0;
        if (!known) {
            *extra = k;
            return 0;
        }
    }
    return 1;
}

/* A string field of at most max bytes. */
static int get_str(const json_t *o, const char *key, size_t max, const char **out, const char *what, sr_error *err)
{
    int rc = sr_json_get_str(o, key, 1, out, what, err);
    if (rc != SR_OK)
        return rc;
    if (strlen(*out) > max)
        return sr_error_set(err, SR_ELIMIT, "%s: %s is longer than %zu bytes", what, key, max);
    return SR_OK;
}

static int get_hex32(const json_t *o, const char *key, uint8_t out[32], const char *what, sr_error *err)
{
    const char *s = NULL;
    int rc = get_str(o, key, 66, &s, what, err);
    if (rc != SR_OK)
        return rc;
    if (sr_hex_decode_exact(s, out, 32, err) != SR_OK)
        return sr_error_set(err, SR_EFORMAT, "%s: %s is not 32 bytes of hex", what, key);
    return SR_OK;
}

static int hash_is(const json_t *o, const char *key, const void *data, size_t n, const char *what, sr_error *err)
{
    uint8_t want[32], got[32];
    int rc = get_hex32(o, key, want, "statement", err);
    if (rc != SR_OK)
        return rc;
    sr_sha256(data, n, got);
    if (memcmp(want, got, 32) != 0)
        return sr_error_set(err, SR_EVERIFY, "statement %s does not match the envelope's %s", key, what);
    return SR_OK;
}

static int real_ok(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return 0;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0)
        return 0;
    *out = d;
    return 1;
}

static int check_inputs(const json_t *in, sr_error *err)
{
    if (!json_is_array(in) || json_array_size(in) == 0 || json_array_size(in) > SR_KMS_MAX_DATASETS)
        return sr_error_set(err, SR_EFORMAT, "statement inputs: expected 1..%d entries", SR_KMS_MAX_DATASETS);
    static const char *const keys[] = {"archive_id", "manifest_sha256", "owner_id", NULL};
    size_t i;
    json_t *e;
    json_array_foreach(in, i, e)
    {
        const char *extra = NULL, *owner = NULL, *aid = NULL;
        uint8_t b16[16], b32[32];
        char what[48];
        snprintf(what, sizeof what, "statement inputs[%zu]", i);
        if (!json_is_object(e))
            return sr_error_set(err, SR_EFORMAT, "%s: not an object", what);
        if (!only_keys(e, keys, &extra))
            return sr_error_set(err, SR_EFORMAT, "%s: unknown field %.64s", what, extra);
        int rc;
        if ((rc = get_str(e, "owner_id", SR_OWNER_ID_MAX, &owner, what, err)) != SR_OK ||
            (rc = sr_owner_id_check(owner, err)) != SR_OK)
            return sr_error_prefix(err, "%s", what);
        if ((rc = get_str(e, "archive_id", 34, &aid, what, err)) != SR_OK)
            return rc;
        if (sr_hex_decode_exact(aid, b16, 16, err) != SR_OK)
            return sr_error_set(err, SR_EFORMAT, "%s: archive_id is not 16 bytes of hex", what);
        if ((rc = get_hex32(e, "manifest_sha256", b32, what, err)) != SR_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            const json_t *o = json_array_get(in, j);
            if (strcmp(json_string_value(json_object_get(o, "owner_id")), owner) == 0 &&
                strcasecmp(json_string_value(json_object_get(o, "archive_id")), aid) == 0)
                return sr_error_set(err, SR_EFORMAT, "%s: dataset %s/%s listed twice", what, owner, aid);
        }
    }
    return SR_OK;
}

/* 1. format */
static int check_format(vctx *v, sr_error *err)
{
    const json_t *r = v->r;
    int rc;
    const char *s = NULL, *extra = NULL;
    int64_t ver = 0;
    if (!json_is_object(r))
        return sr_error_set(err, SR_EFORMAT, "the receipt is not a JSON object");
    static const char *const top[] = {"format", "version", "statement", "signature", "payload", "cvm_pubkey",
                                      "quote", "event_log", "kms_nonce", "kms_certificate", "recipe", "tee",
                                      "gpu_evidence", NULL};
    if (!only_keys(r, top, &extra))
        return sr_error_set(err, SR_EFORMAT, "unknown field %.64s", extra);
    if ((rc = get_str(r, "format", 64, &s, "receipt", err)) != SR_OK)
        return rc;
    if (strcmp(s, SR_RECEIPT_FORMAT) != 0)
        return sr_error_set(err, SR_EFORMAT, "format is not \"%s\"", SR_RECEIPT_FORMAT);
    if ((rc = sr_json_get_int(r, "version", 1, &ver, "receipt", err)) != SR_OK)
        return rc;
    if (ver != SR_RECEIPT_VERSION)
        return sr_error_set(err, SR_EFORMAT, "unsupported receipt version %lld", (long long)ver);

    /* statement */
    if ((rc = get_str(r, "statement", MAX_STATEMENT, &v->statement, "receipt", err)) != SR_OK)
        return rc;
    v->st = sr_json_parse(v->statement, strlen(v->statement), MAX_STATEMENT, err);
    if (v->st == NULL)
        return sr_error_prefix(err, "statement");
    if (!json_is_object(v->st))
        return sr_error_set(err, SR_EFORMAT, "statement is not a JSON object");
    static const char *const stk[] = {"compose_hash", "created", "cvm_pubkey", "dp", "gate", "inputs",
                                      "kms_certificate_sha256", "payload_sha256", "quote_sha256", "run_id",
                                      "tee", "version", NULL};
    if (!only_keys(v->st, stk, &extra))
        return sr_error_set(err, SR_EFORMAT, "statement: unknown field %.64s", extra);
    if ((rc = sr_json_get_int(v->st, "version", 1, &ver, "statement", err)) != SR_OK)
        return rc;
    if (ver != SR_RECEIPT_VERSION)
        return sr_error_set(err, SR_EFORMAT, "unsupported statement version %lld", (long long)ver);
    if ((rc = sr_json_get_int(v->st, "created", 1, &v->created, "statement", err)) != SR_OK)
        return rc;
    if (v->created < 0)
        return sr_error_set(err, SR_EFORMAT, "statement: created is negative");
    if ((rc = get_str(v->st, "run_id", MAX_RUN_ID, &s, "statement", err)) != SR_OK)
        return rc;
    if (s[0] == '\0')
        return sr_error_set(err, SR_EFORMAT, "statement: run_id is empty");
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return sr_error_set(err, SR_EFORMAT, "statement: run_id has a character outside printable ASCII");
    json_t *dp = json_object_get(v->st, "dp");
    static const char *const dpk[] = {"delta_spent", "epsilon_spent", NULL};
    if (!json_is_object(dp) || !only_keys(dp, dpk, &extra) ||
        !real_ok(json_object_get(dp, "epsilon_spent"), &v->eps) ||
        !real_ok(json_object_get(dp, "delta_spent"), &v->delta))
        return sr_error_set(err, SR_EFORMAT,
                            "statement: dp must be {\"delta_spent\", \"epsilon_spent\"} with finite numbers >= 0");
    v->st_gate = json_object_get(v->st, "gate");
    if (!json_is_object(v->st_gate))
        return sr_error_set(err, SR_EFORMAT, "statement: gate is not an object");
    v->st_inputs = json_object_get(v->st, "inputs");
    if ((rc = check_inputs(v->st_inputs, err)) != SR_OK)
        return rc;
    if ((rc = get_hex32(v->st, "payload_sha256", v->payload_sha, "statement", err)) != SR_OK)
        return rc;

    /* envelope fields */
    if ((rc = get_str(r, "signature", 2 + 2 * SR_ETH_SIG_LEN, &s, "receipt", err)) != SR_OK)
        return rc;
    if (sr_hex_decode_exact(s, v->sig, SR_ETH_SIG_LEN, err) != SR_OK)
        return sr_error_set(err, SR_EFORMAT, "signature is not %d bytes of hex", SR_ETH_SIG_LEN);
    if ((rc = get_str(r, "payload", SR_RECEIPT_MAX_BYTES, &v->payload, "receipt", err)) != SR_OK)
        return rc;
    if ((rc = get_str(r, "cvm_pubkey", 2 + 2 * SR_SECP_PUBKEY_LEN, &s, "receipt", err)) != SR_OK)
        return rc;
    if (sr_hex_decode_exact(s, v->cvm_pub, SR_SECP_PUBKEY_LEN, err) != SR_OK)
        return sr_error_set(err, SR_EFORMAT, "cvm_pubkey is not %d bytes of hex", SR_SECP_PUBKEY_LEN);
    uint8_t norm[SR_SECP_PUBKEY_LEN];
    if (sr_secp_pubkey_normalize(v->cvm_pub, SR_SECP_PUBKEY_LEN, norm, err) != SR_OK)
        return sr_error_set(err, SR_EFORMAT, "cvm_pubkey is not a secp256k1 public key");
    uint8_t st_pub[SR_SECP_PUBKEY_LEN];
    if ((rc = get_str(v->st, "cvm_pubkey", 2 + 2 * SR_SECP_PUBKEY_LEN, &s, "statement", err)) != SR_OK)
        return rc;
    if (sr_hex_decode_exact(s, st_pub, SR_SECP_PUBKEY_LEN, err) != SR_OK ||
        memcmp(st_pub, v->cvm_pub, SR_SECP_PUBKEY_LEN) != 0)
        return sr_error_set(err, SR_EVERIFY, "statement cvm_pubkey does not match the envelope's");
    if ((rc = get_str(r, "quote", 2 + 2 * (size_t)SR_QUOTE_MAX_LEN, &s, "receipt", err)) != SR_OK)
        return rc;
    if ((rc = sr_buf_reserve(&v->quote, strlen(s) / 2 + 1, err)) != SR_OK)
        return rc;
    size_t qlen = 0;
    if (sr_hex_decode(s, v->quote.data, v->quote.cap, &qlen, err) != SR_OK || qlen == 0)
        return sr_error_set(err, SR_EFORMAT, "quote is not hex");
    v->quote.len = qlen;
    if ((rc = hash_is(v->st, "quote_sha256", v->quote.data, v->quote.len, "quote", err)) != SR_OK)
        return rc;
    if ((rc = get_str(r, "event_log", MAX_EVENT_LOG, &v->event_log, "receipt", err)) != SR_OK)
        return rc;
    if ((rc = get_str(r, "kms_nonce", 66, &s, "receipt", err)) != SR_OK)
        return rc;
    if (sr_hex_decode_exact(s, v->nonce, 32, err) != SR_OK)
        return sr_error_set(err, SR_EFORMAT, "kms_nonce is not 32 bytes of hex");

    /* certificate */
    v->cert = json_object_get(r, "kms_certificate");
    static const char *const ck[] = {"payload", "signature", NULL};
    if (!json_is_object(v->cert) || !only_keys(v->cert, ck, &extra))
        return sr_error_set(err, SR_EFORMAT, "kms_certificate must be {\"payload\", \"signature\"}");
    if ((rc = get_str(v->cert, "payload", MAX_CERT_PAYLOAD, &v->cert_payload, "kms_certificate", err)) != SR_OK ||
        (rc = get_str(v->cert, "signature", 2 + 2 * SR_ETH_SIG_LEN, &s, "kms_certificate", err)) != SR_OK)
        return rc;
    if ((rc = hash_is(v->st, "kms_certificate_sha256", v->cert_payload, strlen(v->cert_payload),
                      "certificate payload", err)) != SR_OK)
        return rc;

    /* recipe and compose hash */
    if ((rc = get_str(r, "recipe", MAX_RECIPE_B64, &s, "receipt", err)) != SR_OK)
        return rc;
    sr_buf rb;
    sr_buf_init(&rb);
    if ((rc = sr_base64_decode(s, &rb, err)) != SR_OK) {
        sr_buf_free(&rb);
        return sr_error_prefix(err, "recipe");
    }
    rc = sr_recipe_parse(rb.data ? (const char *)rb.data : "", rb.len, &v->recipe, err);
    sr_buf_free(&rb);
    if (rc != SR_OK)
        return sr_error_prefix(err, "recipe");
    memcpy(v->compose, sr_recipe_compose_hash(v->recipe), 32);
    if ((rc = get_str(v->st, "compose_hash", 66, &s, "statement", err)) != SR_OK)
        return rc;
    uint8_t sch[32];
    if (strncmp(s, "0x", 2) != 0 || sr_hex_decode_exact(s, sch, 32, err) != SR_OK)
        return sr_error_set(err, SR_EFORMAT, "statement: compose_hash is not 0x + 32 bytes of hex");
    if (memcmp(sch, v->compose, 32) != 0)
        return sr_error_set(err, SR_EVERIFY, "statement compose_hash is not SHA-256 of the recipe");

    /* tee */
    const char *st_tee = NULL;
    if ((rc = get_str(r, "tee", 16, &v->tee, "receipt", err)) != SR_OK ||
        (rc = get_str(v->st, "tee", 16, &st_tee, "statement", err)) != SR_OK)
        return rc;
    if (strcmp(v->tee, "tdx") != 0 && strcmp(v->tee, "simulated") != 0)
        return sr_error_set(err, SR_EFORMAT, "tee must be \"tdx\" or \"simulated\"");
    if (strcmp(v->tee, st_tee) != 0)
        return sr_error_set(err, SR_EVERIFY, "statement tee does not match the envelope's");

    /* gpu evidence: absent, null or an object (its binding is checked in report-data) */
    v->gpu = json_object_get(r, "gpu_evidence");
    if (v->gpu != NULL && !json_is_null(v->gpu) && !json_is_object(v->gpu))
        return sr_error_set(err, SR_EFORMAT, "gpu_evidence must be an object or null");
    if (json_is_null(v->gpu))
        v->gpu = NULL;
    return SR_OK;
}

/* 3. the statement signature recovers to cvm_pubkey */
static int check_signature(vctx *v, sr_error *err)
{
    uint8_t h[32], pub[SR_SECP_PUBKEY_FULL_LEN], cpub[SR_SECP_PUBKEY_LEN];
    sr_sha256_ctx *c = sr_sha256_new();
    if (c == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    sr_sha256_update(c, SR_RECEIPT_SIG_LABEL, sizeof SR_RECEIPT_SIG_LABEL - 1);
    sr_sha256_update(c, v->statement, strlen(v->statement));
    sr_sha256_final(c, h);
    if (sr_secp_recover(h, v->sig, pub, err) != SR_OK)
        return sr_error_prefix(err, "statement signature");
    if (sr_secp_pubkey_normalize(pub, sizeof pub, cpub, err) != SR_OK)
        return sr_error_prefix(err, "statement signature");
    if (memcmp(cpub, v->cvm_pub, sizeof cpub) != 0)
        return sr_error_set(err, SR_EVERIFY, "the statement signature does not recover to cvm_pubkey");
    return SR_OK;
}

/* 4. quote chain */
static int check_quote(vctx *v, char *detail, size_t cap, sr_error *err)
{
    sr_attest_policy ap;
    memset(&ap, 0, sizeof ap);
    ap.roots = v->pol->roots;
    ap.root_lens = v->pol->root_lens;
    ap.nroots = v->pol->roots ? v->pol->nroots : 0;
    ap.allow_simulated = v->pol->allow_simulated;
    ap.now = (time_t)v->pol->now;
    if (v->pol->collateral != NULL) {
        ap.collateral = v->pol->collateral;
        ap.collateral_len = v->pol->collateral_len;
    }
    /* allow_out_of_date stays 0: the KMS's policy (sr_attest_tcb_verdict) */
    int rc = sr_attest_verify(v->quote.data, v->quote.len, &ap, v->att, err);
    /* Without collateral the status is "NotEvaluated"; with it, the evaluated
     * status (also when the policy refused it), or "" when the quote or the
     * collateral failed before the evaluation. */
    if (v->pol->collateral == NULL || strcmp(v->att->tcb_status, "NotEvaluated") != 0) {
        snprintf(v->rep->tcb_status, sizeof v->rep->tcb_status, "%s", v->att->tcb_status);
        snprintf(v->rep->advisory_ids, sizeof v->rep->advisory_ids, "%s", v->att->advisory_ids);
    }
    if (rc != SR_OK)
        return rc;
    const char *verdict_tee = v->att->verdict == SR_ATTEST_SIMULATED ? "simulated" : "tdx";
    if (strcmp(verdict_tee, v->tee) != 0)
        return sr_error_set(err, SR_EVERIFY, "the quote verifies as %s but the receipt says tee \"%s\"",
                            sr_attest_verdict_name(v->att->verdict), v->tee);
    const char *st = v->att->tcb_status, *adv = v->att->advisory_ids;
    const char *kind = v->att->verdict == SR_ATTEST_SIMULATED ? "SIMULATED TEE" : "TDX";
    if (v->pol->collateral == NULL) {
        snprintf(detail, cap, "%s quote v%u rooted at \"%.100s\", TCB NotEvaluated (no --collateral)", kind,
                 v->att->quote.version, v->att->root_cn);
    } else if (sr_attest_tcb_verdict(st, 0) == SR_TCB_WARN) {
        snprintf(v->rep->warning, sizeof v->rep->warning, "TCB status %s: %s%s%.96s%s", st,
                 sr_attest_tcb_meaning(st), adv[0] ? " (" : "", adv, adv[0] ? ")" : "");
        snprintf(detail, cap, "%s quote v%u rooted at \"%.64s\", TCB %s (accepted with a WARNING%s%.48s)", kind,
                 v->att->quote.version, v->att->root_cn, st, adv[0] ? ": " : "", adv);
    } else {
        snprintf(detail, cap, "%s quote v%u rooted at \"%.100s\", TCB %s", kind, v->att->quote.version,
                 v->att->root_cn, st);
    }
    return SR_OK;
}

/* 5. REPORTDATA (+ GPU evidence binding) */
static int check_report_data(vctx *v, sr_error *err)
{
    uint8_t rd[64];
    sr_kms_report_data(v->compose, v->cvm_pub, v->nonce, rd);
    if (memcmp(rd, v->att->quote.body.report_data, 64) != 0)
        return sr_error_set(err, SR_EVERIFY,
                            "REPORTDATA does not bind this compose hash, cvm_pubkey and kms_nonce");
    if (v->gpu != NULL) {
        char *text = json_dumps(v->gpu, JSON_COMPACT);
        if (text == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        int rc = sr_gpu_evidence_check_binding(text, strlen(text), rd, err);
        free(text);
        if (rc != SR_OK)
            return sr_error_prefix(err, "gpu_evidence");
    }
    return SR_OK;
}

/* 6. RTMR3 replay */
static int check_rtmr3(vctx *v, sr_error *err)
{
    uint8_t rtmr[48], ch[32];
    size_t n = 0, plen = 0;
    int rc = sr_eventlog_replay(v->event_log, strlen(v->event_log), rtmr, &n, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "event log");
    if (memcmp(rtmr, v->att->quote.body.rtmr[3], 48) != 0)
        return sr_error_set(err, SR_EVERIFY, "the event log (%zu events) does not replay to the quote's RTMR3", n);
    rc = sr_eventlog_find(v->event_log, strlen(v->event_log), SR_EVENT_COMPOSE_HASH, ch, sizeof ch, &plen, err);
    if (rc == SR_ENOTFOUND)
        return sr_error_set(err, SR_EVERIFY, "event log: no compose-hash event");
    if (rc != SR_OK)
        return sr_error_prefix(err, "event log");
    if (plen != 32 || memcmp(ch, v->compose, 32) != 0)
        return sr_error_set(err, SR_EVERIFY, "event log: the VM measured another compose hash than the recipe's");
    return SR_OK;
}

static int open_gate(vctx *v)
{
    if (v->gate != NULL || v->gate_failed || v->pol->gate_spec == NULL)
        return v->gate != NULL;
    sr_error e;
    sr_error_clear(&e);
    if (sr_gate_open(v->pol->gate_spec, &v->gate, &e) != SR_OK) {
        v->gate_failed = 1;
        v->gate = NULL;
        snprintf(v->gate_err, sizeof v->gate_err, "%s", e.msg);
        return 0;
    }
    return 1;
}

static int hex_field_is(const json_t *o, const char *key, const uint8_t *want, size_t n, int need_0x, sr_error *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    uint8_t got[64];
    if (s == NULL || n > sizeof got || strlen(s) > 2 + 2 * n || (need_0x && strncmp(s, "0x", 2) != 0) ||
        sr_hex_decode_exact(s, got, n, err) != SR_OK || memcmp(got, want, n) != 0)
        return sr_error_set(err, SR_EVERIFY, "kms certificate: %s does not match", key);
    return SR_OK;
}

/* 7. KMS certificate */
static int check_cert(vctx *v, char *detail, size_t cap, sr_error *err)
{
    uint8_t root[SR_SECP_PUBKEY_LEN];
    const char *root_from = NULL;
    if (v->pol->gate_spec != NULL) {
        if (!open_gate(v))
            return sr_error_set(err, SR_EIO, "cannot open the gate to read the KMS root: %s", v->gate_err);
        sr_gate_config cfg;
        uint64_t nonce = 0;
        int rc = sr_gate_get_config(v->gate, &cfg, &nonce, err);
        if (rc != SR_OK)
            return sr_error_prefix(err, "gate");
        if (cfg.kms_pubkey_len != SR_SECP_PUBKEY_LEN)
            return sr_error_set(err, SR_EVERIFY, "the gate's KMS key is not a compressed secp256k1 key");
        if (v->pol->kms_root_pub != NULL && memcmp(v->pol->kms_root_pub, cfg.kms_pubkey, SR_SECP_PUBKEY_LEN) != 0)
            return sr_error_set(err, SR_EVERIFY, "--kms-root differs from the KMS root key the gate trusts");
        memcpy(root, cfg.kms_pubkey, SR_SECP_PUBKEY_LEN);
        root_from = "the gate";
    } else if (v->pol->kms_root_pub != NULL) {
        memcpy(root, v->pol->kms_root_pub, SR_SECP_PUBKEY_LEN);
        root_from = "--kms-root";
    } else {
        return sr_error_set(err, SR_EINVAL, "no KMS root key to check against (give --kms-root HEX or --gate SPEC)");
    }
    json_t *doc = NULL;
    int rc = sr_kms_cert_verify(v->cert, root, &doc, err);
    if (rc != SR_OK)
        return rc;
    int64_t ver = 0, issued = 0, eps_micro = 0;
    const char *tee = NULL;
    json_t *ds = NULL;
    if (!json_is_object(doc)) {
        rc = sr_error_set(err, SR_EFORMAT, "kms certificate: payload is not an object");
        goto out;
    }
    if ((rc = sr_json_get_int(doc, "version", 1, &ver, "kms certificate", err)) != SR_OK ||
        (rc = sr_json_get_int(doc, "issued_at", 1, &issued, "kms certificate", err)) != SR_OK ||
        (rc = sr_json_get_int(doc, "epsilon_micro", 1, &eps_micro, "kms certificate", err)) != SR_OK ||
        (rc = sr_json_get_str(doc, "tee", 1, &tee, "kms certificate", err)) != SR_OK ||
        (rc = sr_json_get_arr(doc, "datasets", 1, &ds, "kms certificate", err)) != SR_OK)
        goto out;
    if (ver != SR_KMS_PROTOCOL_VERSION) {
        rc = sr_error_set(err, SR_EFORMAT, "kms certificate: unsupported version %lld", (long long)ver);
        goto out;
    }
    if ((rc = hex_field_is(doc, "kms_pubkey", root, SR_SECP_PUBKEY_LEN, 0, err)) != SR_OK ||
        (rc = hex_field_is(doc, "compose_hash", v->compose, 32, 1, err)) != SR_OK ||
        (rc = hex_field_is(doc, "client_pubkey", v->cvm_pub, SR_SECP_PUBKEY_LEN, 0, err)) != SR_OK ||
        (rc = hex_field_is(doc, "app_id", sr_recipe_app_id(v->recipe), SR_APP_ID_LEN, 1, err)) != SR_OK)
        goto out;
    const char *want_tee = strcmp(v->tee, "simulated") == 0 ? "simulated" : "valid";
    if (strcmp(tee, want_tee) != 0) {
        rc = sr_error_set(err, SR_EVERIFY, "kms certificate: the KMS saw a \"%.32s\" quote, the receipt says tee \"%s\"",
                          tee, v->tee);
        goto out;
    }
    if (issued > v->created) {
        rc = sr_error_set(err, SR_EVERIFY, "kms certificate: issued at %lld, after the receipt was created (%lld)",
                          (long long)issued, (long long)v->created);
        goto out;
    }
    /* budget charged = the recipe's privacy.epsilon (docs/PROTOCOL.md step 10) */
    double budget = 0;
    json_t *priv = json_object_get(sr_recipe_json(v->recipe), "privacy");
    if (json_is_object(priv) && sr_json_get_real(priv, "epsilon", 0, &budget, "recipe privacy", err) != SR_OK)
        budget = -1;
    int64_t want_micro = -1;
    if (!(budget >= 0) || sr_kms_eps_to_micro(budget, 1, &want_micro, err) != SR_OK || want_micro != eps_micro) {
        rc = sr_error_set(err, SR_EVERIFY, "kms certificate: epsilon_micro %lld is not the recipe's privacy.epsilon",
                          (long long)eps_micro);
        goto out;
    }
    /* datasets: exactly the statement's inputs, as owner/archive_id */
    if (json_array_size(ds) != json_array_size(v->st_inputs)) {
        rc = sr_error_set(err, SR_EVERIFY, "kms certificate: %zu datasets released, the statement lists %zu inputs",
                          json_array_size(ds), json_array_size(v->st_inputs));
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(v->st_inputs, i, e)
    {
        char id[SR_OWNER_ID_MAX + 40];
        int olen = snprintf(id, sizeof id, "%s/", json_string_value(json_object_get(e, "owner_id")));
        uint8_t aid[16];
        if (olen < 0 || (size_t)olen + 33 > sizeof id ||
            sr_hex_decode_exact(json_string_value(json_object_get(e, "archive_id")), aid, 16, err) != SR_OK) {
            rc = sr_error_set(err, SR_EINTERNAL, "statement input %zu", i);
            goto out;
        }
        sr_hex_encode(aid, 16, id + olen); /* the KMS writes lowercase hex */
        int found = 0;
        size_t j;
        json_t *d;
        json_array_foreach(ds, j, d) found |= json_is_string(d) && strcmp(json_string_value(d), id) == 0;
        if (!found) {
            rc = sr_error_set(err, SR_EVERIFY, "kms certificate: input %s was not released by the KMS", id);
            goto out;
        }
    }
    if (!json_equal(json_object_get(doc, "gate"), (json_t *)v->st_gate)) {
        rc = sr_error_set(err, SR_EVERIFY, "kms certificate: its gate snapshot differs from the statement's");
        goto out;
    }
    /* tcb_status: what the KMS's own TCB evaluation said (absent in
     * certificates of KMSes before it was added) */
    const char *kms_tcb = NULL;
    if ((rc = sr_json_get_str(doc, "tcb_status", 0, &kms_tcb, "kms certificate", err)) != SR_OK)
        goto out;
    if (kms_tcb != NULL && (strlen(kms_tcb) == 0 || strlen(kms_tcb) >= SR_TCB_STATUS_MAX)) {
        rc = sr_error_set(err, SR_EFORMAT, "kms certificate: tcb_status is empty or longer than %d bytes",
                          SR_TCB_STATUS_MAX - 1);
        goto out;
    }
    snprintf(detail, cap,
             "signed by the KMS root %02x%02x%02x%02x... (from %s), %zu dataset(s), issued at %lld%s%.48s", root[0],
             root[1], root[2], root[3], root_from, json_array_size(ds), (long long)issued,
             kms_tcb ? ", TCB seen by the KMS: " : "", kms_tcb ? kms_tcb : "");
out:
    json_decref(doc);
    return rc;
}

typedef struct snap {
    const char *backend, *pos_unit;
    uint8_t app[20];
    int64_t chain_id, snapshot, threshold, owners;
    size_t napprovers;
    char ids[SR_GATE_MAX_OWNERS][SR_GATE_ID_MAX + 1];
    uint8_t addrs[SR_GATE_MAX_OWNERS][20];
} snap;

/* Internal consistency of the statement's gate snapshot against the recipe. */
static int snapshot_parse(vctx *v, snap *s, sr_error *err)
{
    const json_t *g = v->st_gate;
    const char *app = NULL, *extra = NULL;
    json_t *ap = NULL;
    int rc;
    static const char *const keys[] = {"app", "approvers", "backend", "chain_id", "owners", "pos_unit",
                                       "snapshot", "threshold", NULL};
    if (!only_keys(g, keys, &extra))
        return sr_error_set(err, SR_EFORMAT, "gate snapshot: unknown field %.64s", extra);
    if ((rc = get_str(g, "backend", 16, &s->backend, "gate snapshot", err)) != SR_OK ||
        (rc = get_str(g, "pos_unit", 8, &s->pos_unit, "gate snapshot", err)) != SR_OK ||
        (rc = get_str(g, "app", 42, &app, "gate snapshot", err)) != SR_OK ||
        (rc = sr_json_get_int(g, "chain_id", 1, &s->chain_id, "gate snapshot", err)) != SR_OK ||
        (rc = sr_json_get_int(g, "snapshot", 1, &s->snapshot, "gate snapshot", err)) != SR_OK ||
        (rc = sr_json_get_int(g, "threshold", 1, &s->threshold, "gate snapshot", err)) != SR_OK ||
        (rc = sr_json_get_int(g, "owners", 1, &s->owners, "gate snapshot", err)) != SR_OK ||
        (rc = sr_json_get_arr(g, "approvers", 1, &ap, "gate snapshot", err)) != SR_OK)
        return rc;
    if (!((strcmp(s->backend, "ledger") == 0 && strcmp(s->pos_unit, "seq") == 0) ||
          (strcmp(s->backend, "evm") == 0 && strcmp(s->pos_unit, "block") == 0)))
        return sr_error_set(err, SR_EFORMAT, "gate snapshot: backend/pos_unit must be ledger/seq or evm/block");
    if (sr_eth_address_parse(app, s->app, err) != SR_OK)
        return sr_error_prefix(err, "gate snapshot app");
    if (memcmp(s->app, sr_recipe_app_id(v->recipe), 20) != 0)
        return sr_error_set(err, SR_EVERIFY, "gate snapshot: app %s is not the recipe's app id", app);
    if (s->chain_id < 0 || s->snapshot < 0 || s->owners < 1 || s->owners > SR_GATE_MAX_OWNERS ||
        s->threshold < 1 || s->threshold > s->owners)
        return sr_error_set(err, SR_EFORMAT, "gate snapshot: need chain_id, snapshot >= 0 and 1 <= threshold <= owners <= %d",
                            SR_GATE_MAX_OWNERS);
    if (json_array_size(ap) > (size_t)s->owners)
        return sr_error_set(err, SR_EVERIFY, "gate snapshot: %zu approvers but only %lld owners", json_array_size(ap),
                            (long long)s->owners);
    size_t i;
    json_t *e;
    json_array_foreach(ap, i, e)
    {
        const char *id = NULL, *a = NULL;
        static const char *const ak[] = {"address", "id", NULL};
        if (!json_is_object(e) || !only_keys(e, ak, &extra) ||
            get_str(e, "id", SR_GATE_ID_MAX, &id, "gate snapshot approver", err) != SR_OK ||
            get_str(e, "address", 42, &a, "gate snapshot approver", err) != SR_OK ||
            sr_eth_address_parse(a, s->addrs[i], err) != SR_OK)
            return sr_error_set(err, SR_EFORMAT, "gate snapshot: approvers[%zu] must be {\"id\", \"address\"}", i);
        snprintf(s->ids[i], sizeof s->ids[i], "%s", id);
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->ids[j], id) == 0 || memcmp(s->addrs[j], s->addrs[i], 20) == 0)
                return sr_error_set(err, SR_EVERIFY, "gate snapshot: approver %s listed twice", id);
    }
    s->napprovers = json_array_size(ap);
    if ((int64_t)s->napprovers < s->threshold)
        return sr_error_set(err, SR_EVERIFY, "gate snapshot: %zu approvals, below the threshold %lld", s->napprovers,
                            (long long)s->threshold);
    for (size_t d = 0; d < sr_recipe_dataset_count(v->recipe); d++) {
        const char *owner = sr_recipe_dataset_owner(v->recipe, d);
        int found = 0;
        for (size_t j = 0; j < s->napprovers; j++)
            found |= strcmp(s->ids[j], owner) == 0;
        if (!found)
            return sr_error_set(err, SR_EVERIFY, "gate snapshot: dataset owner %s is not among the approvers", owner);
    }
    return SR_OK;
}

/* Re-reads the approvals from the ledger's verified history: approvals,
 * revocation, freeze and threshold as of the snapshot position. */
static int reread_history(vctx *v, const snap *s, const sr_gate_event *ev, size_t nev, char *detail, size_t cap,
                          sr_error *err)
{
    uint64_t pos = (uint64_t)s->snapshot;
    if (nev == 0 || ev[nev - 1].pos < pos)
        return sr_error_set(err, SR_EVERIFY, "the snapshot position seq %llu is beyond the ledger's end",
                            (unsigned long long)pos);
    int64_t threshold = -1, n_owners = -1;
    size_t counted = 0;
    int approved[SR_GATE_MAX_OWNERS] = {0};
    for (size_t i = 0; i < nev && ev[i].pos <= pos; i++) {
        const sr_gate_event *e = &ev[i];
        if (strcmp(e->kind, "create") == 0 || (strcmp(e->kind, "owners") == 0 && e->applied)) {
            threshold = e->threshold;
            n_owners = (int64_t)e->n_owners;
        }
        else if (strcmp(e->kind, "revoke") == 0 && memcmp(e->word, v->compose, 32) == 0)
            return sr_error_set(err, SR_EDENIED, "revoked by %s at seq %llu, at or before the snapshot", e->signer_id,
                                (unsigned long long)e->pos);
        else if (strcmp(e->kind, "freeze") == 0)
            return sr_error_set(err, SR_EDENIED, "frozen by %s at seq %llu, at or before the snapshot", e->signer_id,
                                (unsigned long long)e->pos);
        else if (strcmp(e->kind, "approve") == 0 && memcmp(e->word, v->compose, 32) == 0) {
            for (size_t j = 0; j < s->napprovers; j++)
                if (memcmp(s->addrs[j], e->signer, 20) == 0 && strcmp(s->ids[j], e->signer_id) == 0)
                    approved[j] = 1;
        }
    }
    for (size_t j = 0; j < s->napprovers; j++) {
        if (!approved[j])
            return sr_error_set(err, SR_EVERIFY, "%s (%02x%02x..) did not approve this compose hash at or before seq %llu",
                                s->ids[j], s->addrs[j][0], s->addrs[j][1], (unsigned long long)pos);
        counted++;
    }
    if (threshold != s->threshold || n_owners != s->owners)
        return sr_error_set(err, SR_EVERIFY,
                            "the gate at seq %llu had k=%lld of %lld owners, the snapshot says k=%lld of %lld",
                            (unsigned long long)pos, (long long)threshold, (long long)n_owners,
                            (long long)s->threshold, (long long)s->owners);
    snprintf(detail, cap, "re-read from the ledger: %zu approvals at seq %llu (k=%lld), not revoked, not frozen",
             counted, (unsigned long long)pos, (long long)threshold);
    return SR_OK;
}

/* Re-reads from the current status (backends without history: evm). */
static int reread_status(vctx *v, const snap *s, char *detail, size_t cap, sr_error *err)
{
    sr_gate_status *st = calloc(1, sizeof *st);
    if (st == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = sr_gate_status_get(v->gate, v->compose, NULL, 0, st, err);
    uint64_t pos = (uint64_t)s->snapshot;
    if (rc != SR_OK) {
        sr_error_prefix(err, "gate");
        goto out;
    }
    if (st->snapshot < pos) {
        rc = sr_error_set(err, SR_EVERIFY, "the snapshot position %s %llu is beyond the gate's current %llu",
                          st->pos_unit, (unsigned long long)pos, (unsigned long long)st->snapshot);
        goto out;
    }
    if (st->frozen && st->frozen_pos <= pos) {
        rc = sr_error_set(err, SR_EDENIED, "frozen by %s at %s %llu, at or before the snapshot", st->frozen_by,
                          st->pos_unit, (unsigned long long)st->frozen_pos);
        goto out;
    }
    if (st->revoked && st->revoked_pos <= pos) {
        rc = sr_error_set(err, SR_EDENIED, "revoked by %s at %s %llu, at or before the snapshot", st->revoked_by,
                          st->pos_unit, (unsigned long long)st->revoked_pos);
        goto out;
    }
    for (size_t j = 0; j < s->napprovers; j++) {
        int k = sr_gate_owner_index_addr(&st->config, s->addrs[j]);
        if (k < 0 || !st->approved[k] || st->approved_pos[k] > pos) {
            rc = sr_error_set(err, SR_EVERIFY, "%s did not approve this compose hash at or before %s %llu (as the gate "
                              "reads now)", s->ids[j], st->pos_unit, (unsigned long long)pos);
            goto out;
        }
    }
    snprintf(detail, cap, "re-read from the gate: %zu approvals at %s %llu (k=%lld), not revoked, not frozen",
             s->napprovers, st->pos_unit, (unsigned long long)pos, (long long)s->threshold);
out:
    free(st);
    return rc;
}

/* 8. gate approvals */
static int check_gate(vctx *v, char *detail, size_t cap, sr_error *err)
{
    snap *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = snapshot_parse(v, s, err);
    if (rc != SR_OK)
        goto out;
    if (v->pol->gate_spec == NULL) {
        snprintf(detail, cap,
                 "snapshot consistent: %zu approvals at %s %lld (k=%lld of %lld); NOT re-read (no --gate)",
                 s->napprovers, s->pos_unit, (long long)s->snapshot, (long long)s->threshold, (long long)s->owners);
        goto out;
    }
    if (!open_gate(v)) {
        rc = sr_error_set(err, SR_EIO, "cannot open the gate: %s", v->gate_err);
        goto out;
    }
    sr_gate_domain dom;
    sr_gate_get_domain(v->gate, &dom);
    if (strcmp(sr_gate_backend(v->gate), s->backend) != 0 || memcmp(dom.app, s->app, 20) != 0 ||
        (int64_t)dom.chain_id != s->chain_id) {
        rc = sr_error_set(err, SR_EVERIFY, "the snapshot names another gate (backend, app or chain id) than --gate");
        goto out;
    }
    sr_gate_event *ev = NULL;
    size_t nev = 0;
    sr_error e2;
    sr_error_clear(&e2);
    int hrc = sr_gate_history(v->gate, &ev, &nev, &e2);
    if (hrc == SR_OK) {
        rc = reread_history(v, s, ev, nev, detail, cap, err);
        free(ev);
    } else if (hrc == SR_ESTATE) {
        rc = reread_status(v, s, detail, cap, err);
    } else {
        rc = sr_error_set(err, hrc, "gate history: %s", e2.msg);
    }
out:
    free(s);
    return rc;
}

static int close_enough(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/* 9. output contract */
static int check_outputs(vctx *v, char *detail, size_t cap, sr_error *err)
{
    size_t nds = sr_recipe_dataset_count(v->recipe);
    if (nds > SR_RECIPE_MAX_OWNERS)
        return sr_error_set(err, SR_ELIMIT, "recipe: too many datasets");
    sr_engine_dataset ds[SR_RECIPE_MAX_OWNERS];
    for (size_t i = 0; i < nds; i++) {
        ds[i].owner = sr_recipe_dataset_owner(v->recipe, i);
        ds[i].schema = sr_recipe_dataset_schema(v->recipe, i);
    }
    sr_plan *plan = NULL;
    int rc = sr_plan_new(sr_recipe_json(v->recipe), ds, nds, &plan, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "recipe");
    json_t *res = sr_json_parse(v->payload, strlen(v->payload), SR_RECEIPT_MAX_BYTES, err);
    if (res == NULL) {
        rc = sr_error_prefix(err, "payload");
        goto out;
    }
    if (!json_is_object(res)) {
        rc = sr_error_set(err, SR_EFORMAT, "payload is not a JSON object");
        goto out;
    }
    const char *fmt = json_string_value(json_object_get(res, "format"));
    if (fmt == NULL || strcmp(fmt, "sealroom-result-v1") != 0) {
        rc = sr_error_set(err, SR_EFORMAT, "payload: format is not \"sealroom-result-v1\"");
        goto out;
    }
    const char *ch = json_string_value(json_object_get(res, "compose_hash"));
    uint8_t chb[32];
    if (ch == NULL || strlen(ch) > 66 || sr_hex_decode_exact(ch, chb, 32, err) != SR_OK ||
        memcmp(chb, v->compose, 32) != 0) {
        rc = sr_error_set(err, SR_EVERIFY, "payload: compose_hash is not the recipe's");
        goto out;
    }
    if ((rc = sr_engine_check_result(plan, res, err)) != SR_OK) {
        sr_error_prefix(err, "payload");
        goto out;
    }
    double b_eps, b_delta, s_eps, s_delta, p_eps = -1, p_delta = -1;
    sr_plan_privacy(plan, &b_eps, &b_delta, &s_eps, &s_delta);
    json_t *pp = json_object_get(res, "privacy");
    if (!json_is_object(pp) || !real_ok(json_object_get(pp, "epsilon_spent"), &p_eps) ||
        !real_ok(json_object_get(pp, "delta_spent"), &p_delta) || !close_enough(p_eps, s_eps) ||
        !close_enough(p_delta, s_delta)) {
        rc = sr_error_set(err, SR_EVERIFY, "payload: privacy spent is not what the recipe's outputs spend (%g, %g)",
                          s_eps, s_delta);
        goto out;
    }
    if (!close_enough(v->eps, s_eps) || !close_enough(v->delta, s_delta)) {
        rc = sr_error_set(err, SR_EVERIFY,
                          "statement dp (epsilon %g, delta %g) is not what the recipe's outputs spend (%g, %g)", v->eps,
                          v->delta, s_eps, s_delta);
        goto out;
    }
    snprintf(detail, cap, "%zu declared output(s) with their types and shapes; epsilon %g, delta %g spent",
             sr_plan_output_count(plan), s_eps, s_delta);
out:
    json_decref(res);
    sr_plan_free(plan);
    return rc;
}

static const char *const check_names[] = {"format",       "payload-hash",    "payload-signature",
                                          "quote-chain",  "report-data",     "rtmr3-replay",
                                          "kms-certificate", "gate-approvals", "output-contract"};

int sr_receipt_verify(const json_t *receipt, const sr_receipt_policy *policy, sr_receipt_report *report,
                      sr_error *err)
{
    memset(report, 0, sizeof *report);
    snprintf(report->tee, sizeof report->tee, "unknown");
    vctx v;
    memset(&v, 0, sizeof v);
    v.r = receipt;
    v.pol = policy;
    v.rep = report;
    sr_buf_init(&v.quote);
    sr_error e;
    char detail[SR_RECEIPT_CHECK_DETAIL];
    const char *first = NULL;
    char first_msg[SR_ERROR_MSG_MAX] = "";
#define RECORD(name, rc, okdetail)                                                                                   \
    do {                                                                                                             \
        if ((rc) == SR_OK) {                                                                                         \
            add(report, name, 1, "%s", okdetail);                                                                    \
        } else {                                                                                                     \
            add(report, name, 0, "%s", e.msg);                                                                       \
            if (first == NULL) {                                                                                     \
                first = name;                                                                                        \
                snprintf(first_msg, sizeof first_msg, "%s", e.msg);                                                  \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

    sr_error_clear(&e);
    int rc = check_format(&v, &e);
    RECORD("format", rc, "fields, sizes, statement, compose hash and envelope agree");
    if (rc != SR_OK) {
        for (size_t i = 1; i < sizeof check_names / sizeof check_names[0]; i++)
            add(report, check_names[i], -1, "not checked: the receipt is malformed");
        goto done;
    }

    uint8_t ph[32];
    sr_sha256(v.payload, strlen(v.payload), ph);
    sr_error_clear(&e);
    rc = memcmp(ph, v.payload_sha, 32) == 0
             ? SR_OK
             : sr_error_set(&e, SR_EVERIFY, "SHA-256 of the payload is not the statement's payload_sha256");
    snprintf(detail, sizeof detail, "SHA-256 %02x%02x%02x%02x... of %zu bytes", ph[0], ph[1], ph[2], ph[3],
             strlen(v.payload));
    RECORD("payload-hash", rc, detail);

    sr_error_clear(&e);
    rc = check_signature(&v, &e);
    snprintf(detail, sizeof detail, "statement signed by the run key %02x%02x%02x%02x...", v.cvm_pub[0],
             v.cvm_pub[1], v.cvm_pub[2], v.cvm_pub[3]);
    RECORD("payload-signature", rc, detail);

    v.att = calloc(1, sizeof *v.att);
    if (v.att == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto cleanup;
    }
    sr_error_clear(&e);
    detail[0] = '\0';
    rc = check_quote(&v, detail, sizeof detail, &e);
    if (v.att->verdict == SR_ATTEST_SIMULATED || v.att->verdict == SR_ATTEST_VALID)
        snprintf(report->tee, sizeof report->tee, "%s", v.att->verdict == SR_ATTEST_SIMULATED ? "simulated" : "tdx");
    RECORD("quote-chain", rc, detail);

    if (!v.att->parsed) {
        add(report, "report-data", -1, "not checked: the quote does not parse");
        add(report, "rtmr3-replay", -1, "not checked: the quote does not parse");
    } else {
        sr_error_clear(&e);
        rc = check_report_data(&v, &e);
        RECORD("report-data", rc,
               v.gpu ? "REPORTDATA binds compose hash, run key and KMS nonce; GPU evidence nonce bound (its report is "
                       "not verified)"
                     : "REPORTDATA binds compose hash, run key and KMS nonce");
        sr_error_clear(&e);
        rc = check_rtmr3(&v, &e);
        RECORD("rtmr3-replay", rc, "event log replays to RTMR3; its last compose-hash event is the recipe's");
    }

    sr_error_clear(&e);
    detail[0] = '\0';
    rc = check_cert(&v, detail, sizeof detail, &e);
    RECORD("kms-certificate", rc, detail);

    sr_error_clear(&e);
    detail[0] = '\0';
    rc = check_gate(&v, detail, sizeof detail, &e);
    RECORD("gate-approvals", rc, detail);

    sr_error_clear(&e);
    detail[0] = '\0';
    rc = check_outputs(&v, detail, sizeof detail, &e);
    RECORD("output-contract", rc, detail);
#undef RECORD

done:
    report->valid = first == NULL;
    for (size_t i = 0; i < report->nchecks; i++)
        if (report->checks[i].ok == 0)
            report->valid = 0;
    rc = report->valid ? SR_OK : sr_error_set(err, SR_EVERIFY, "%s: %s", first ? first : "?", first_msg);
cleanup:
    if (v.gate)
        sr_gate_close(v.gate);
    free(v.att);
    sr_recipe_free(v.recipe);
    json_decref(v.st);
    sr_buf_free(&v.quote);
    return rc;
}

json_t *sr_receipt_report_json(const sr_receipt_report *r)
{
    json_t *checks = json_array();
    if (checks == NULL)
        return NULL;
    for (size_t i = 0; i < r->nchecks && i < SR_RECEIPT_MAX_CHECKS; i++) {
        const sr_receipt_check *c = &r->checks[i];
        json_t *ok = c->ok < 0 ? json_null() : json_boolean(c->ok == 1);
        if (json_array_append_new(checks, json_pack("{s:s,s:o,s:s}", "name", c->name, "ok", ok, "detail",
                                                    c->detail)) != 0) {
            json_decref(checks);
            return NULL;
        }
    }
    json_t *adv = json_array(), *warnings = json_array();
    if (adv == NULL || warnings == NULL)
        goto oom;
    /* advisory ids: comma-separated in the report */
    for (const char *p = r->advisory_ids; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > 0 && json_array_append_new(adv, json_stringn(p, n)) != 0)
            goto oom;
        p += n + (e ? 1 : 0);
    }
    if (r->warning[0] && json_array_append_new(warnings, json_string(r->warning)) != 0)
        goto oom;
    return json_pack("{s:b,s:s,s:o,s:o,s:o,s:o}", "valid", r->valid, "tee", r->tee, "tcb_status",
                     r->tcb_status[0] ? json_string(r->tcb_status) : json_null(), "advisory_ids", adv, "warnings",
                     warnings, "checks", checks);
oom:
    json_decref(adv);
    json_decref(warnings);
    json_decref(checks);
    return NULL;
}

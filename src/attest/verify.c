/* TDX quote verification: signatures, QE binding, PCK chain, policy. */
#include "attest_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

static const uint8_t INTEL_QE_VENDOR_ID[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                                0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

#define MAX_CHAIN_CERTS 5

const char *sr_attest_verdict_name(sr_attest_verdict v)
{
    switch (v) {
    case SR_ATTEST_VALID:
        return "valid";
    case SR_ATTEST_SIMULATED:
        return "simulated";
    default:
        return "invalid";
    }
}

/* ---- time ---------------------------------------------------------------- */

int sr_attest_parse_time(const char *s, time_t *out, sr_error *err)
{
    if (s == NULL || *s == '\0')
        return sr_error_set(err, SR_EINVAL, "empty time");
    int digits = 1;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            digits = 0;
    if (digits) {
        if (strlen(s) > 12)
            return sr_error_set(err, SR_EINVAL, "time \"%s\" is out of range", s);
        *out = (time_t)strtoll(s, NULL, 10);
        return SR_OK;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &n) != 6)
        return sr_error_set(err, SR_EINVAL, "time \"%s\" is not RFC 3339 (YYYY-MM-DDTHH:MM:SSZ) or Unix seconds", s);
    const char *rest = s + n;
    if (*rest == '.') { /* fractional seconds: ignored */
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    if (strcmp(rest, "Z") != 0 && strcmp(rest, "z") != 0 && strcmp(rest, "+00:00") != 0)
        return sr_error_set(err, SR_EINVAL, "time \"%s\" must be UTC (Z)", s);
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return sr_error_set(err, SR_EINVAL, "time \"%s\" is out of range", s);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return SR_OK;
}

static time_t asn1_time_t(const ASN1_TIME *a)
{
    struct tm tm;
    if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
        return 0;
    return timegm(&tm);
}

/* ---- cache ----------------------------------------------------------------- */

struct cache_entry {
    int used;
    uint8_t key[32];
    STACK_OF(X509) *chain; /* verified: leaf .. anchor */
    int has_ext;
    sr_pck_ext ext;
    time_t not_before, not_after;
    uint64_t stamp;
};

/* Parsed attestation keys (a QE keeps its key across many quotes): saves
 * building and checking the EVP_PKEY on every call. */
#define AK_SLOTS 16
struct ak_entry {
    int used;
    uint8_t xy[64];
    EVP_PKEY *key;
    uint64_t stamp;
};

struct sr_attest_cache {
    pthread_mutex_t mu;
    struct cache_entry *e;
    size_t n;
    struct ak_entry ak[AK_SLOTS];
    uint64_t clock, hits, misses;
};

sr_attest_cache *sr_attest_cache_new(size_t max_entries)
{
    if (max_entries == 0)
        max_entries = 64;
    sr_attest_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->e = calloc(max_entries, sizeof *c->e);
    if (c->e == NULL) {
        free(c);
        return NULL;
    }
    c->n = max_entries;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void sr_attest_cache_free(sr_attest_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (c->e[i].used)
            sk_X509_pop_free(c->e[i].chain, X509_free);
    for (size_t i = 0; i < AK_SLOTS; i++)
        EVP_PKEY_free(c->ak[i].key);
    pthread_mutex_destroy(&c->mu);
    free(c->e);
    free(c);
}

void sr_attest_cache_stats(sr_attest_cache *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->mu);
    if (hits)
        *hits = c->hits;
    if (misses)
        *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}

/* Looks up key; on a hit within its validity window returns an up-ref'd
 * copy of the chain. */
static STACK_OF(X509) *cache_get(sr_attest_cache *c, const uint8_t key[32], time_t now, int *has_ext, sr_pck_ext *ext)
{
    STACK_OF(X509) *out = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++) {
        struct cache_entry *e = &c->e[i];
        if (e->used && memcmp(e->key, key, 32) == 0 && now >= e->not_before && now <= e->not_after) {
            out = X509_chain_up_ref(e->chain);
            if (out != NULL) {
                *has_ext = e->has_ext;
                *ext = e->ext;
                e->stamp = ++c->clock;
            }
            break;
        }
    }
    if (out)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return out;
}

static void cache_put(sr_attest_cache *c, const uint8_t key[32], STACK_OF(X509) *chain, int has_ext,
                      const sr_pck_ext *ext)
{
    STACK_OF(X509) *copy = X509_chain_up_ref(chain);
    if (copy == NULL)
        return;
    time_t nb = 0, na = (time_t)INT64_MAX;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        time_t b = asn1_time_t(X509_get0_notBefore(x)), a = asn1_time_t(X509_get0_notAfter(x));
        if (b > nb)
            nb = b;
        if (a < na)
            na = a;
    }
    pthread_mutex_lock(&c->mu);
    struct cache_entry *slot = NULL;
    for (size_t i = 0; i < c->n; i++) {
        if (!c->e[i].used || memcmp(c->e[i].key, key, 32) == 0) {
            slot = &c->e[i];
            break;
        }
        if (slot == NULL || c->e[i].stamp < slot->stamp)
            slot = &c->e[i];
    }
    if (slot->used)
        sk_X509_pop_free(slot->chain, X509_free);
    slot->used = 1;
    memcpy(slot->key, key, 32);
    slot->chain = copy;
    slot->has_ext = has_ext;
    slot->ext = *ext;
    slot->not_before = nb;
    slot->not_after = na;
    slot->stamp = ++c->clock;
    pthread_mutex_unlock(&c->mu);
}

/* The attestation key as an EVP_PKEY (a new reference), through the cache
 * when there is one. */
static EVP_PKEY *ak_key(sr_attest_cache *c, const uint8_t xy[64], sr_error *err)
{
    if (c != NULL) {
        EVP_PKEY *k = NULL;
        pthread_mutex_lock(&c->mu);
        for (size_t i = 0; i < AK_SLOTS; i++) {
            if (c->ak[i].used && memcmp(c->ak[i].xy, xy, 64) == 0 && EVP_PKEY_up_ref(c->ak[i].key) == 1) {
                k = c->ak[i].key;
                c->ak[i].stamp = ++c->clock;
                break;
            }
        }
        pthread_mutex_unlock(&c->mu);
        if (k != NULL)
            return k;
    }
    EVP_PKEY *k = sr_att_p256_pubkey(xy, err);
    if (k == NULL || c == NULL)
        return k;
    pthread_mutex_lock(&c->mu);
    struct ak_entry *slot = &c->ak[0];
    for (size_t i = 0; i < AK_SLOTS; i++) {
        if (!c->ak[i].used) {
            slot = &c->ak[i];
            break;
        }
        if (c->ak[i].stamp < slot->stamp)
            slot = &c->ak[i];
    }
    if (EVP_PKEY_up_ref(k) == 1) {
        EVP_PKEY_free(slot->key);
        slot->used = 1;
        memcpy(slot->xy, xy, 64);
        slot->key = k;
        slot->stamp = ++c->clock;
    }
    pthread_mutex_unlock(&c->mu);
    return k;
}

/* ---- verification ------------------------------------------------------------ */

struct vctx {
    sr_attest_result *out;
    sr_error *err;
};

/* Records the failure reason and returns the code. */
static int fail(struct vctx *v, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct vctx *v, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->out->reason, sizeof v->out->reason, fmt, ap);
    va_end(ap);
    v->out->verdict = SR_ATTEST_INVALID;
    return sr_error_set(v->err, code, "%s", v->out->reason);
}

static int fail_err(struct vctx *v, const sr_error *e)
{
    return fail(v, e->code ? e->code : SR_EVERIFY, "%s", e->msg);
}

/* The default root, parsed once. */
static pthread_once_t intel_once = PTHREAD_ONCE_INIT;
static STACK_OF(X509) *intel_roots;

static void intel_init(void)
{
    sr_error e;
    intel_roots = sr_att_parse_certs((const uint8_t *)sr_intel_sgx_root_ca_pem, strlen(sr_intel_sgx_root_ca_pem), 1,
                                     "Intel SGX Root CA", &e);
}

static STACK_OF(X509) *load_roots(const sr_attest_policy *p, sr_error *err)
{
    if (p->nroots == 0) {
        pthread_once(&intel_once, intel_init);
        if (intel_roots == NULL) {
            sr_error_set(err, SR_EINTERNAL, "the built-in Intel SGX Root CA does not parse");
            return NULL;
        }
        STACK_OF(X509) *s = X509_chain_up_ref(intel_roots);
        if (s == NULL)
            sr_error_set(err, SR_ENOMEM, "out of memory");
        return s;
    }
    STACK_OF(X509) *all = sk_X509_new_null();
    if (all == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < p->nroots; i++) {
        STACK_OF(X509) *one = sr_att_parse_certs(p->roots[i], p->root_lens[i], 16, "pinned root", err);
        if (one == NULL) {
            sk_X509_pop_free(all, X509_free);
            return NULL;
        }
        while (sk_X509_num(one) > 0)
            sk_X509_push(all, sk_X509_shift(one));
        sk_X509_free(one);
    }
    return all;
}

static int self_signed(X509 *c)
{
    return X509_check_issued(c, c) == X509_V_OK;
}

/* Verifies the embedded chain and returns the verified chain (leaf first). */
static int verify_pck_chain(struct vctx *v, const sr_quote *q, STACK_OF(X509) *roots, time_t now,
                            STACK_OF(X509) **verified)
{
    sr_error e;
    sr_error_clear(&e);
    STACK_OF(X509) *certs = sr_att_parse_certs(q->pck_chain, q->pck_chain_len, MAX_CHAIN_CERTS, "PCK chain", &e);
    if (certs == NULL)
        return fail_err(v, &e);
    int rc = SR_OK;
    int n = sk_X509_num(certs);
    if (n < 2) {
        rc = fail(v, SR_EVERIFY, "PCK chain holds %d certificate(s); at least leaf and intermediate are needed", n);
        goto done;
    }
    /* Intel's PEM chains are leaf first; DER chains (Intel's synthetic
     * sample) may be root first: a self-signed first certificate means the
     * order is reversed. */
    if (self_signed(sk_X509_value(certs, 0))) {
        STACK_OF(X509) *rev = sk_X509_new_null();
        for (int i = n - 1; i >= 0; i--)
            sk_X509_push(rev, sk_X509_value(certs, i));
        sk_X509_free(certs);
        certs = rev;
    }
    X509 *leaf = sk_X509_value(certs, 0);
    X509 *embedded_root = NULL;
    STACK_OF(X509) *inter = sk_X509_new_null();
    for (int i = 1; i < n; i++) {
        X509 *c = sk_X509_value(certs, i);
        if (self_signed(c)) {
            if (embedded_root != NULL || i != n - 1) {
                sk_X509_free(inter);
                rc = fail(v, SR_EVERIFY, "PCK chain: a self-signed certificate must come last, once");
                goto done;
            }
            embedded_root = c;
        } else {
            sk_X509_push(inter, c);
        }
    }
    rc = sr_att_verify_chain(leaf, inter, roots, now, verified, &e);
    sk_X509_free(inter);
    if (rc != SR_OK) {
        sr_error_prefix(&e, "PCK");
        if (embedded_root != NULL) {
            char cn[128];
            sr_att_subject_cn(embedded_root, cn, sizeof cn);
            if (sr_att_is_sim_root(embedded_root))
                rc = fail(v, SR_EVERIFY, "%s; the quote's chain is rooted at \"%s\" (a simulated TEE), not a pinned root",
                          e.msg, cn);
            else
                rc = fail_err(v, &e);
        } else {
            rc = fail_err(v, &e);
        }
        goto done;
    }
    /* Every embedded certificate must be part of the verified chain, and an
     * embedded root must be the pinned anchor itself. */
    for (int i = 0; i < n; i++) {
        X509 *c = sk_X509_value(certs, i);
        int found = 0;
        for (int j = 0; j < sk_X509_num(*verified); j++)
            if (X509_cmp(c, sk_X509_value(*verified, j)) == 0)
                found = 1;
        if (!found) {
            char cn[128];
            sr_att_subject_cn(c, cn, sizeof cn);
            rc = fail(v, SR_EVERIFY, "PCK chain: certificate \"%s\" is not part of the verified chain%s", cn,
                      c == embedded_root ? " (embedded root differs from the pinned root)" : "");
            sk_X509_pop_free(*verified, X509_free);
            *verified = NULL;
            goto done;
        }
    }
done:
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static int chain_cache_key(const sr_quote *q, STACK_OF(X509) *roots, uint8_t key[32])
{
    sr_sha256_ctx *h = sr_sha256_new();
    if (h == NULL)
        return -1;
    static const char tag[] = "sealroom attest chain cache v1";
    sr_sha256_update(h, tag, sizeof tag);
    uint8_t len8[8];
    sr_store_le64(len8, q->pck_chain_len);
    sr_sha256_update(h, len8, 8);
    sr_sha256_update(h, q->pck_chain, q->pck_chain_len);
    for (int i = 0; i < sk_X509_num(roots); i++) {
        uint8_t md[32];
        unsigned mdl = 0;
        X509_digest(sk_X509_value(roots, i), EVP_sha256(), md, &mdl);
        sr_sha256_update(h, md, 32);
    }
    sr_sha256_final(h, key);
    return 0;
}

sr_tcb_verdict sr_attest_tcb_verdict(const char *s, int allow_out_of_date)
{
    if (s == NULL)
        return SR_TCB_REFUSE;
    if (strcmp(s, "UpToDate") == 0 || strcmp(s, "NotEvaluated") == 0)
        return SR_TCB_ACCEPT;
    if (strcmp(s, "SWHardeningNeeded") == 0 || strcmp(s, "ConfigurationNeeded") == 0 ||
        strcmp(s, "ConfigurationAndSWHardeningNeeded") == 0)
        return SR_TCB_WARN;
    if (strcmp(s, "OutOfDate") == 0 || strcmp(s, "OutOfDateConfigurationNeeded") == 0)
        return allow_out_of_date ? SR_TCB_WARN : SR_TCB_REFUSE;
    return SR_TCB_REFUSE; /* Revoked, or a status this code does not know */
}

const char *sr_attest_tcb_meaning(const char *s)
{
    if (s == NULL)
        return "no TCB status";
    if (strcmp(s, "UpToDate") == 0)
        return "the platform and the quoting enclave are up to date";
    if (strcmp(s, "NotEvaluated") == 0)
        return "no collateral was given, so the TCB status was not evaluated";
    if (strcmp(s, "SWHardeningNeeded") == 0)
        return "the platform is up to date but needs software hardening against the listed advisories";
    if (strcmp(s, "ConfigurationNeeded") == 0)
        return "the platform is up to date but its configuration needs changes for the listed advisories";
    if (strcmp(s, "ConfigurationAndSWHardeningNeeded") == 0)
        return "the platform is up to date but needs configuration changes and software hardening";
    if (strcmp(s, "OutOfDate") == 0)
        return "the platform or quoting enclave misses security updates";
    if (strcmp(s, "OutOfDateConfigurationNeeded") == 0)
        return "the platform misses security updates and needs configuration changes";
    if (strcmp(s, "Revoked") == 0)
        return "the platform's or quoting enclave's TCB is revoked";
    return "unknown TCB status";
}

int sr_attest_verify(const uint8_t *quote, size_t len, const sr_attest_policy *policy, sr_attest_result *out,
                     sr_error *err)
{
    static const sr_attest_policy defaults;
    if (policy == NULL)
        policy = &defaults;
    memset(out, 0, sizeof *out);
    out->verdict = SR_ATTEST_INVALID;
    snprintf(out->tcb_status, sizeof out->tcb_status, "NotEvaluated");
    struct vctx v = {out, err};
    sr_error e;
    sr_error_clear(&e);
    sr_error_clear(err);

    int rc = sr_quote_parse(quote, len, &out->quote, &e);
    if (rc != SR_OK)
        return fail_err(&v, &e);
    out->parsed = 1;
    const sr_quote *q = &out->quote;
    time_t now = policy->now ? policy->now : time(NULL);

    STACK_OF(X509) *roots = NULL, *chain = NULL;
    STACK_OF(X509_CRL) *crls = NULL;
    sr_collateral *col = NULL;
    EVP_PKEY *ak = NULL;

    roots = load_roots(policy, &e);
    if (roots == NULL) {
        rc = fail_err(&v, &e);
        goto done;
    }
    crls = sk_X509_CRL_new_null();
    for (size_t i = 0; i < policy->ncrls; i++) {
        STACK_OF(X509_CRL) *one = sr_att_parse_crls(policy->crls[i], policy->crl_lens[i], "CRL", &e);
        if (one == NULL) {
            rc = fail_err(&v, &e);
            goto done;
        }
        while (sk_X509_CRL_num(one) > 0)
            sk_X509_CRL_push(crls, sk_X509_CRL_shift(one));
        sk_X509_CRL_free(one);
    }
    if (policy->collateral != NULL) {
        if ((rc = sr_collateral_parse(policy->collateral, policy->collateral_len, &col, &e)) != SR_OK ||
            (rc = sr_collateral_check_time(col, now, &e)) != SR_OK) {
            rc = fail_err(&v, &e);
            goto done;
        }
        STACK_OF(X509_CRL) *cc = sr_collateral_crls(col);
        for (int i = 0; i < sk_X509_CRL_num(cc); i++) {
            X509_CRL *c = sk_X509_CRL_value(cc, i);
            X509_CRL_up_ref(c);
            sk_X509_CRL_push(crls, c);
        }
    }

    /* 1. PCK chain (cached by chain bytes + pinned roots). */
    uint8_t key[32];
    int have_key = policy->cache != NULL && chain_cache_key(q, roots, key) == 0;
    sr_pck_ext ext;
    int has_ext = 0;
    if (have_key)
        chain = cache_get(policy->cache, key, now, &has_ext, &ext);
    if (chain == NULL) {
        if ((rc = verify_pck_chain(&v, q, roots, now, &chain)) != SR_OK)
            goto done;
        /* A PCK certificate carries the SGX extension (FMSPC, TCB, PCE id);
         * a leaf without it is some other certificate of the same CA. */
        if (sr_att_pck_ext(sk_X509_value(chain, 0), &ext, &e) != SR_OK) {
            rc = fail(&v, SR_EVERIFY, "PCK leaf: %s", e.msg);
            goto done;
        }
        has_ext = 1;
        if (have_key)
            cache_put(policy->cache, key, chain, has_ext, &ext);
    }
    X509 *leaf = sk_X509_value(chain, 0);
    X509 *anchor = sk_X509_value(chain, sk_X509_num(chain) - 1);
    sr_att_subject_cn(anchor, out->root_cn, sizeof out->root_cn);
    if (has_ext) {
        out->has_pck_ext = 1;
        memcpy(out->fmspc, ext.fmspc, 6);
        memcpy(out->pce_id, ext.pce_id, 2);
        memcpy(out->cpusvn, ext.cpusvn, 16);
        memcpy(out->sgx_tcb_comp, ext.comp, 16);
        out->pcesvn = ext.pcesvn;
    }
    if ((rc = sr_att_check_crls(chain, crls, now, &e)) != SR_OK) {
        rc = fail_err(&v, &e);
        goto done;
    }
    int simulated = sr_att_is_sim_root(anchor);
    if (simulated && !policy->allow_simulated) {
        rc = fail(&v, SR_EDENIED,
                  "quote is from a simulated TEE (root \"%s\"); refused without allow_simulated (--allow-simulated)",
                  out->root_cn);
        goto done;
    }

    /* 2. QE report signed by the PCK leaf. */
    if (sr_att_ecdsa_verify_raw(X509_get0_pubkey(leaf), q->qe_report_raw, SR_QE_REPORT_LEN, q->qe_report_sig, &e) !=
        SR_OK) {
        rc = fail(&v, e.code == SR_EVERIFY ? SR_EVERIFY : e.code, "QE report signature does not verify with the PCK leaf key%s%s",
                  e.code == SR_EVERIFY ? "" : ": ", e.code == SR_EVERIFY ? "" : e.msg);
        goto done;
    }
    /* 3. Attestation key bound to the QE report. */
    {
        sr_sha256_ctx *h = sr_sha256_new();
        if (h == NULL) {
            rc = fail(&v, SR_ENOMEM, "out of memory");
            goto done;
        }
        uint8_t md[32];
        static const uint8_t zero[32];
        sr_sha256_update(h, q->attest_key, 64);
        sr_sha256_update(h, q->qe_auth_data, q->qe_auth_len);
        sr_sha256_final(h, md);
        if (memcmp(md, q->qe_report.report_data, 32) != 0 || memcmp(q->qe_report.report_data + 32, zero, 32) != 0) {
            rc = fail(&v, SR_EVERIFY,
                      "attestation key is not bound to the QE report (REPORTDATA != SHA-256(key || QE auth data) || 0^32)");
            goto done;
        }
    }
    /* 4. Quote signature by the attestation key over header [+ descriptor] + body. */
    ak = ak_key(policy->cache, q->attest_key, &e);
    if (ak == NULL) {
        rc = fail_err(&v, &e);
        goto done;
    }
    if (sr_att_ecdsa_verify_raw(ak, quote, q->signed_len, q->signature, &e) != SR_OK) {
        rc = fail(&v, e.code, "quote signature does not verify with the attestation key%s%s",
                  e.code == SR_EVERIFY ? "" : ": ", e.code == SR_EVERIFY ? "" : e.msg);
        goto done;
    }
    /* 5. Policy: QE vendor, TD attributes. */
    if (memcmp(q->qe_vendor_id, INTEL_QE_VENDOR_ID, 16) != 0) {
        rc = fail(&v, SR_EVERIFY, "QE vendor id is not Intel's (939A7233F79C4CA9940A0DB3957F0607)");
        goto done;
    }
    uint64_t attrs = sr_quote_td_attributes(q);
    if ((attrs & SR_TD_ATTR_DEBUG) && !policy->allow_debug) {
        rc = fail(&v, SR_EDENIED, "TD is a debug TD (TDATTRIBUTES.DEBUG set); refused without allow_debug");
        goto done;
    }
    /* 6. Collateral: TCB status. */
    if (col != NULL) {
        if ((rc = sr_collateral_evaluate(col, roots, now, q, has_ext ? &ext : NULL, out, &e)) != SR_OK) {
            rc = fail_err(&v, &e);
            goto done;
        }
        if (sr_attest_tcb_verdict(out->tcb_status, policy->allow_out_of_date) == SR_TCB_REFUSE) {
            if (strncmp(out->tcb_status, "OutOfDate", 9) == 0)
                rc = fail(&v, SR_EDENIED, "TCB status is %s; refused without allow_out_of_date", out->tcb_status);
            else
                rc = fail(&v, SR_EDENIED, "TCB status is %s", out->tcb_status);
            goto done;
        }
    }
    /* 7. Event log replayed against RTMR3. */
    if (policy->event_log != NULL) {
        uint8_t r3[48];
        size_t nev = 0;
        if ((rc = sr_eventlog_replay(policy->event_log, policy->event_log_len, r3, &nev, &e)) != SR_OK) {
            rc = fail(&v, rc, "event log: %s", e.msg);
            goto done;
        }
        if (memcmp(r3, q->body.rtmr[3], 48) != 0) {
            rc = fail(&v, SR_EVERIFY, "event log (%zu events) does not replay to the quote's RTMR3", nev);
            goto done;
        }
        out->eventlog_checked = 1;
        size_t hn = 0;
        int fr = sr_eventlog_find(policy->event_log, policy->event_log_len, SR_EVENT_COMPOSE_HASH, out->compose_hash,
                                  sizeof out->compose_hash, &hn, &e);
        if (fr == SR_OK && hn == 32) {
            out->has_compose_hash = 1;
        } else if (fr == SR_OK) {
            rc = fail(&v, SR_EFORMAT, "event log: compose-hash payload is %zu bytes, not 32", hn);
            goto done;
        }
    }
    out->verdict = simulated ? SR_ATTEST_SIMULATED : SR_ATTEST_VALID;
    out->reason[0] = '\0';
    sr_error_clear(err);
    rc = SR_OK;
done:
    EVP_PKEY_free(ak);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(roots, X509_free);
    sk_X509_CRL_pop_free(crls, X509_CRL_free);
    sr_collateral_free(col);
    ERR_clear_error();
    return rc;
}

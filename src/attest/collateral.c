/* Intel PCS collateral: TCB info v3 (TDX) and QE identity v2 (TD_QE), their
 * signatures and validity, and the TCB status of a quote. */
#include "attest_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "sealroom/json.h"

#define COLLATERAL_MAX_BYTES (1u << 20)
#define MAX_LEVELS 256

struct sr_collateral {
    json_t *root;
    const char *tcb_info; /* exact signed bytes */
    size_t tcb_info_len;
    uint8_t tcb_sig[64];
    const char *tcb_chain;
    const char *qe_identity;
    size_t qe_identity_len;
    uint8_t qe_sig[64];
    const char *qe_chain;
    STACK_OF(X509_CRL) *crls;
};

void sr_collateral_free(sr_collateral *c)
{
    if (c == NULL)
        return;
    json_decref(c->root);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    free(c);
}

STACK_OF(X509_CRL) *sr_collateral_crls(sr_collateral *c)
{
    return c->crls;
}

static int get_str_len(json_t *o, const char *k, const char **s, size_t *n, sr_error *err)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v))
        return sr_error_set(err, SR_EFORMAT, "collateral: field \"%s\" missing or not a string", k);
    *s = json_string_value(v);
    if (n)
        *n = json_string_length(v);
    return SR_OK;
}

static int add_crl_hex(sr_collateral *c, const char *k, sr_error *err)
{
    json_t *v = json_object_get(c->root, k);
    if (v == NULL)
        return SR_OK; /* optional */
    if (!json_is_string(v))
        return sr_error_set(err, SR_EFORMAT, "collateral: field \"%s\" is not a string", k);
    const char *h = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0)
        return SR_OK;
    uint8_t *der = malloc(n / 2 + 1);
    if (der == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    size_t dl = 0;
    int rc;
    if (n >= 10 && memcmp(h, "-----BEGIN", 10) == 0) {
        STACK_OF(X509_CRL) *one = sr_att_parse_crls((const uint8_t *)h, n, k, err);
        rc = one ? SR_OK : SR_EFORMAT;
        while (one && sk_X509_CRL_num(one) > 0)
            sk_X509_CRL_push(c->crls, sk_X509_CRL_shift(one));
        sk_X509_CRL_free(one);
    } else if ((rc = sr_hex_decode(h, der, n / 2 + 1, &dl, err)) == SR_OK) {
        STACK_OF(X509_CRL) *one = sr_att_parse_crls(der, dl, k, err);
        rc = one ? SR_OK : SR_EFORMAT;
        while (one && sk_X509_CRL_num(one) > 0)
            sk_X509_CRL_push(c->crls, sk_X509_CRL_shift(one));
        sk_X509_CRL_free(one);
    } else {
        sr_error_prefix(err, "collateral: %s", k);
    }
    free(der);
    return rc;
}

int sr_collateral_parse(const char *json, size_t len, sr_collateral **out, sr_error *err)
{
    *out = NULL;
    sr_collateral *c = calloc(1, sizeof *c);
    if (c == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    c->crls = sk_X509_CRL_new_null();
    c->root = sr_json_parse(json, len, COLLATERAL_MAX_BYTES, err);
    if (c->root == NULL) {
        rc = sr_error_prefix(err, "collateral");
        goto bad;
    }
    if (!json_is_object(c->root)) {
        rc = sr_error_set(err, SR_EFORMAT, "collateral: not a JSON object");
        goto bad;
    }
    const char *sig = NULL;
    size_t sl = 0;
    if ((rc = get_str_len(c->root, "tcb_info", &c->tcb_info, &c->tcb_info_len, err)) != SR_OK ||
        (rc = get_str_len(c->root, "tcb_info_issuer_chain", &c->tcb_chain, NULL, err)) != SR_OK ||
        (rc = get_str_len(c->root, "qe_identity", &c->qe_identity, &c->qe_identity_len, err)) != SR_OK ||
        (rc = get_str_len(c->root, "qe_identity_issuer_chain", &c->qe_chain, NULL, err)) != SR_OK)
        goto bad;
    if ((rc = get_str_len(c->root, "tcb_info_signature", &sig, &sl, err)) != SR_OK ||
        (rc = sr_hex_decode_exact(sig, c->tcb_sig, 64, err)) != SR_OK) {
        sr_error_prefix(err, "collateral: tcb_info_signature");
        goto bad;
    }
    if ((rc = get_str_len(c->root, "qe_identity_signature", &sig, &sl, err)) != SR_OK ||
        (rc = sr_hex_decode_exact(sig, c->qe_sig, 64, err)) != SR_OK) {
        sr_error_prefix(err, "collateral: qe_identity_signature");
        goto bad;
    }
    if ((rc = add_crl_hex(c, "pck_crl", err)) != SR_OK || (rc = add_crl_hex(c, "root_ca_crl", err)) != SR_OK)
        goto bad;
    *out = c;
    return SR_OK;
bad:
    sr_collateral_free(c);
    return rc;
}

/* Verifies a signed collateral document: its issuer chain to the roots at
 * now, and the ECDSA signature of the first certificate over the bytes. */
static int check_signed(const char *what, const char *chain_pem, const char *doc, size_t doclen,
                        const uint8_t sig[64], STACK_OF(X509) *roots, time_t now, sr_error *err)
{
    STACK_OF(X509) *certs = sr_att_parse_certs((const uint8_t *)chain_pem, strlen(chain_pem), 4, what, err);
    if (certs == NULL)
        return SR_EFORMAT;
    STACK_OF(X509) *inter = sk_X509_new_null(), *verified = NULL;
    for (int i = 1; i < sk_X509_num(certs); i++)
        if (X509_check_issued(sk_X509_value(certs, i), sk_X509_value(certs, i)) != X509_V_OK)
            sk_X509_push(inter, sk_X509_value(certs, i));
    int rc = sr_att_verify_chain(sk_X509_value(certs, 0), inter, roots, now, &verified, err);
    if (rc != SR_OK) {
        sr_error_prefix(err, "%s issuer chain", what);
    } else if ((rc = sr_att_ecdsa_verify_raw(X509_get0_pubkey(sk_X509_value(certs, 0)), (const uint8_t *)doc, doclen,
                                             sig, err)) != SR_OK) {
        sr_error_set(err, SR_EVERIFY, "%s signature does not verify", what);
    }
    sk_X509_free(inter);
    sk_X509_pop_free(verified, X509_free);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static int check_window(const char *what, json_t *o, time_t now, time_t *next_out, sr_error *err)
{
    const char *issue, *next;
    time_t ti, tn;
    if (sr_json_get_str(o, "issueDate", 1, &issue, what, err) != SR_OK ||
        sr_json_get_str(o, "nextUpdate", 1, &next, what, err) != SR_OK)
        return SR_EFORMAT;
    if (sr_attest_parse_time(issue, &ti, err) != SR_OK || sr_attest_parse_time(next, &tn, err) != SR_OK)
        return sr_error_prefix(err, "%s", what);
    char nowtxt[32];
    sr_att_format_time(now, nowtxt);
    if (now < ti)
        return sr_error_set(err, SR_EVERIFY, "collateral not yet valid: %s issueDate %s is after now %s", what, issue,
                            nowtxt);
    if (now > tn)
        return sr_error_set(err, SR_EVERIFY, "collateral expired: %s nextUpdate %s is before now %s", what, next,
                            nowtxt);
    *next_out = tn;
    return SR_OK;
}

/* Hex string field of exactly n bytes (any case). */
static int hexfield(json_t *o, const char *k, uint8_t *out, size_t n, const char *what, sr_error *err)
{
    return sr_json_get_hex(o, k, out, n, what, err);
}

static int status_rank(const char *s)
{
    /* Higher = worse. */
    if (strcmp(s, "UpToDate") == 0)
        return 0;
    if (strcmp(s, "SWHardeningNeeded") == 0)
        return 1;
    if (strcmp(s, "ConfigurationNeeded") == 0)
        return 2;
    if (strcmp(s, "ConfigurationAndSWHardeningNeeded") == 0)
        return 3;
    if (strcmp(s, "OutOfDate") == 0)
        return 4;
    if (strcmp(s, "OutOfDateConfigurationNeeded") == 0)
        return 5;
    if (strcmp(s, "Revoked") == 0)
        return 6;
    return -1;
}

static void add_advisories(json_t *level, char *out, size_t cap)
{
    json_t *ids = json_object_get(level, "advisoryIDs");
    if (!json_is_array(ids))
        return;
    for (size_t i = 0; i < json_array_size(ids) && i < 64; i++) {
        json_t *id = json_array_get(ids, i);
        if (!json_is_string(id))
            continue;
        const char *s = json_string_value(id);
        if (strstr(out, s) != NULL) /* already listed */
            continue;
        size_t used = strlen(out);
        snprintf(out + used, cap - used, "%s%s", used ? "," : "", s);
    }
}

/* svn component array of 16 {"svn": n} objects. */
static int comp_svns(json_t *arr, uint8_t out[16], const char *what, sr_error *err)
{
    if (!json_is_array(arr) || json_array_size(arr) != 16)
        return sr_error_set(err, SR_EFORMAT, "TCB info: %s must be an array of 16 components", what);
    for (size_t i = 0; i < 16; i++) {
        int64_t v;
        if (sr_json_get_int(json_array_get(arr, i), "svn", 1, &v, what, err) != SR_OK)
            return SR_EFORMAT;
        if (v < 0 || v > 255)
            return sr_error_set(err, SR_EFORMAT, "TCB info: %s svn %lld out of range", what, (long long)v);
        out[i] = (uint8_t)v;
    }
    return SR_OK;
}

static int eval_tcb_info(json_t *ti, const sr_quote *q, const sr_pck_ext *pck, sr_attest_result *res, sr_error *err)
{
    const char *id;
    int64_t version;
    if (sr_json_get_str(ti, "id", 1, &id, "TCB info", err) != SR_OK ||
        sr_json_get_int(ti, "version", 1, &version, "TCB info", err) != SR_OK)
        return SR_EFORMAT;
    if (strcmp(id, "TDX") != 0 || version != 3)
        return sr_error_set(err, SR_EFORMAT, "TCB info: id %s version %lld (expected TDX version 3)", id,
                            (long long)version);
    uint8_t fmspc[6], pce[2];
    if (hexfield(ti, "fmspc", fmspc, 6, "TCB info", err) != SR_OK || hexfield(ti, "pceId", pce, 2, "TCB info", err) != SR_OK)
        return SR_EFORMAT;
    if (pck == NULL)
        return sr_error_set(err, SR_EVERIFY, "TCB evaluation needs the PCK certificate's SGX extension (none)");
    if (memcmp(fmspc, pck->fmspc, 6) != 0)
        return sr_error_set(err, SR_EVERIFY, "TCB info FMSPC does not match the PCK certificate's");
    if (memcmp(pce, pck->pce_id, 2) != 0)
        return sr_error_set(err, SR_EVERIFY, "TCB info PCE id does not match the PCK certificate's");

    /* TDX module: MRSIGNERSEAM and SEAMATTRIBUTES under the mask. */
    json_t *mod = json_object_get(ti, "tdxModule");
    if (mod != NULL) {
        uint8_t mrs[48], at[8], mask[8];
        if (hexfield(mod, "mrsigner", mrs, 48, "tdxModule", err) != SR_OK ||
            hexfield(mod, "attributes", at, 8, "tdxModule", err) != SR_OK ||
            hexfield(mod, "attributesMask", mask, 8, "tdxModule", err) != SR_OK)
            return SR_EFORMAT;
        if (memcmp(mrs, q->body.mrsignerseam, 48) != 0)
            return sr_error_set(err, SR_EVERIFY, "MRSIGNERSEAM does not match the TCB info's TDX module signer");
        for (int i = 0; i < 8; i++)
            if ((q->body.seam_attributes[i] & mask[i]) != at[i])
                return sr_error_set(err, SR_EVERIFY, "SEAMATTRIBUTES do not match the TCB info's TDX module");
    }
    /* TDX module identity (TDX 1.5 collateral): TEE_TCB_SVN[1] is the module
     * major version; when non-zero the module's own levels apply and the
     * first two TDX components are not compared below. */
    const char *module_status = NULL;
    int skip_module_comps = 0;
    json_t *mids = json_object_get(ti, "tdxModuleIdentities");
    if (json_is_array(mids) && q->body.tee_tcb_svn[1] > 0) {
        char want[16];
        snprintf(want, sizeof want, "TDX_%02X", q->body.tee_tcb_svn[1]);
        json_t *found = NULL;
        for (size_t i = 0; i < json_array_size(mids) && i < MAX_LEVELS; i++) {
            const char *mid;
            json_t *m = json_array_get(mids, i);
            if (sr_json_get_str(m, "id", 1, &mid, "tdxModuleIdentities", err) != SR_OK)
                return SR_EFORMAT;
            if (strcasecmp(mid, want) == 0)
                found = m;
        }
        if (found == NULL)
            return sr_error_set(err, SR_EVERIFY, "TCB info has no TDX module identity %s", want);
        skip_module_comps = 1;
        uint8_t mrs[48], at[8], mask[8];
        if (hexfield(found, "mrsigner", mrs, 48, want, err) != SR_OK ||
            hexfield(found, "attributes", at, 8, want, err) != SR_OK ||
            hexfield(found, "attributesMask", mask, 8, want, err) != SR_OK)
            return SR_EFORMAT;
        if (memcmp(mrs, q->body.mrsignerseam, 48) != 0)
            return sr_error_set(err, SR_EVERIFY, "MRSIGNERSEAM does not match TDX module identity %s", want);
        for (int i = 0; i < 8; i++)
            if ((q->body.seam_attributes[i] & mask[i]) != at[i])
                return sr_error_set(err, SR_EVERIFY, "SEAMATTRIBUTES do not match TDX module identity %s", want);
        json_t *levels = json_object_get(found, "tcbLevels");
        for (size_t i = 0; json_is_array(levels) && i < json_array_size(levels) && i < MAX_LEVELS; i++) {
            json_t *lv = json_array_get(levels, i), *tcb;
            int64_t isvsvn;
            const char *st;
            if (sr_json_get_obj(lv, "tcb", 1, &tcb, want, err) != SR_OK ||
                sr_json_get_int(tcb, "isvsvn", 1, &isvsvn, want, err) != SR_OK ||
                sr_json_get_str(lv, "tcbStatus", 1, &st, want, err) != SR_OK)
                return SR_EFORMAT;
            if (q->body.tee_tcb_svn[0] >= isvsvn) {
                module_status = st;
                break;
            }
        }
        if (module_status == NULL)
            return sr_error_set(err, SR_EVERIFY, "TDX module SVN %u matches no level of identity %s",
                                q->body.tee_tcb_svn[0], want);
    }

    json_t *levels = json_object_get(ti, "tcbLevels");
    if (!json_is_array(levels))
        return sr_error_set(err, SR_EFORMAT, "TCB info: tcbLevels missing");
    json_t *match = NULL;
    for (size_t i = 0; i < json_array_size(levels) && i < MAX_LEVELS; i++) {
        json_t *lv = json_array_get(levels, i), *tcb;
        int64_t pcesvn;
        uint8_t sgx[16], tdx[16];
        if (sr_json_get_obj(lv, "tcb", 1, &tcb, "TCB level", err) != SR_OK ||
            sr_json_get_int(tcb, "pcesvn", 1, &pcesvn, "TCB level", err) != SR_OK ||
            comp_svns(json_object_get(tcb, "sgxtcbcomponents"), sgx, "sgxtcbcomponents", err) != SR_OK ||
            comp_svns(json_object_get(tcb, "tdxtcbcomponents"), tdx, "tdxtcbcomponents", err) != SR_OK)
            return SR_EFORMAT;
        int ok = pck->pcesvn >= pcesvn;
        for (int k = 0; k < 16 && ok; k++)
            if (pck->comp[k] < sgx[k])
                ok = 0;
        for (int k = skip_module_comps ? 2 : 0; k < 16 && ok; k++)
            if (q->body.tee_tcb_svn[k] < tdx[k])
                ok = 0;
        if (ok) {
            match = lv;
            break;
        }
    }
    if (match == NULL)
        return sr_error_set(err, SR_EVERIFY, "no TCB level of the TCB info matches this platform (TCB not supported)");
    const char *st;
    if (sr_json_get_str(match, "tcbStatus", 1, &st, "TCB level", err) != SR_OK)
        return SR_EFORMAT;
    if (status_rank(st) < 0)
        return sr_error_set(err, SR_EFORMAT, "TCB level status \"%s\" is unknown", st);
    snprintf(res->platform_tcb_status, sizeof res->platform_tcb_status, "%s", st);
    add_advisories(match, res->advisory_ids, sizeof res->advisory_ids);
    if (module_status != NULL && status_rank(module_status) > status_rank(st)) {
        if (status_rank(module_status) < 0)
            return sr_error_set(err, SR_EFORMAT, "TDX module status \"%s\" is unknown", module_status);
        snprintf(res->platform_tcb_status, sizeof res->platform_tcb_status, "%s", module_status);
    }
    return SR_OK;
}

static int eval_qe_identity(json_t *qi, const sr_quote *q, sr_attest_result *res, sr_error *err)
{
    const char *id;
    int64_t version, prod;
    if (sr_json_get_str(qi, "id", 1, &id, "QE identity", err) != SR_OK ||
        sr_json_get_int(qi, "version", 1, &version, "QE identity", err) != SR_OK ||
        sr_json_get_int(qi, "isvprodid", 1, &prod, "QE identity", err) != SR_OK)
        return SR_EFORMAT;
    if (strcmp(id, "TD_QE") != 0 || version != 2)
        return sr_error_set(err, SR_EFORMAT, "QE identity: id %s version %lld (expected TD_QE version 2)", id,
                            (long long)version);
    uint8_t mrsigner[32], misc[4], miscmask[4], attr[16], attrmask[16];
    if (hexfield(qi, "mrsigner", mrsigner, 32, "QE identity", err) != SR_OK ||
        hexfield(qi, "miscselect", misc, 4, "QE identity", err) != SR_OK ||
        hexfield(qi, "miscselectMask", miscmask, 4, "QE identity", err) != SR_OK ||
        hexfield(qi, "attributes", attr, 16, "QE identity", err) != SR_OK ||
        hexfield(qi, "attributesMask", attrmask, 16, "QE identity", err) != SR_OK)
        return SR_EFORMAT;
    const sr_qe_report *r = &q->qe_report;
    if (memcmp(mrsigner, r->mrsigner, 32) != 0)
        return sr_error_set(err, SR_EVERIFY, "QE MRSIGNER does not match the QE identity");
    if (r->isvprodid != prod)
        return sr_error_set(err, SR_EVERIFY, "QE ISVPRODID %u does not match the QE identity (%lld)", r->isvprodid,
                            (long long)prod);
    /* miscselect is a big-endian hex string of the u32 */
    uint32_t m = sr_load_be32(misc), mm = sr_load_be32(miscmask);
    if ((r->miscselect & mm) != m)
        return sr_error_set(err, SR_EVERIFY, "QE MISCSELECT does not match the QE identity");
    for (int i = 0; i < 16; i++)
        if ((r->attributes[i] & attrmask[i]) != attr[i])
            return sr_error_set(err, SR_EVERIFY, "QE ATTRIBUTES do not match the QE identity");
    json_t *levels = json_object_get(qi, "tcbLevels");
    if (!json_is_array(levels))
        return sr_error_set(err, SR_EFORMAT, "QE identity: tcbLevels missing");
    for (size_t i = 0; i < json_array_size(levels) && i < MAX_LEVELS; i++) {
        json_t *lv = json_array_get(levels, i), *tcb;
        int64_t isvsvn;
        const char *st;
        if (sr_json_get_obj(lv, "tcb", 1, &tcb, "QE TCB level", err) != SR_OK ||
            sr_json_get_int(tcb, "isvsvn", 1, &isvsvn, "QE TCB level", err) != SR_OK ||
            sr_json_get_str(lv, "tcbStatus", 1, &st, "QE TCB level", err) != SR_OK)
            return SR_EFORMAT;
        if (r->isvsvn >= isvsvn) {
            if (status_rank(st) < 0)
                return sr_error_set(err, SR_EFORMAT, "QE TCB status \"%s\" is unknown", st);
            snprintf(res->qe_tcb_status, sizeof res->qe_tcb_status, "%s", st);
            add_advisories(lv, res->advisory_ids, sizeof res->advisory_ids);
            return SR_OK;
        }
    }
    snprintf(res->qe_tcb_status, sizeof res->qe_tcb_status, "Revoked");
    return SR_OK;
}

/* Intel's convergence of platform and QE status. */
static void converge(sr_attest_result *res)
{
    const char *p = res->platform_tcb_status, *qe = res->qe_tcb_status;
    const char *s = p;
    if (strcmp(qe, "Revoked") == 0 || strcmp(p, "Revoked") == 0) {
        s = "Revoked";
    } else if (strcmp(qe, "OutOfDate") == 0) {
        if (strcmp(p, "UpToDate") == 0 || strcmp(p, "SWHardeningNeeded") == 0 || strcmp(p, "OutOfDate") == 0)
            s = "OutOfDate";
        else
            s = "OutOfDateConfigurationNeeded";
    }
    snprintf(res->tcb_status, sizeof res->tcb_status, "%s", s);
}

int sr_collateral_check_time(sr_collateral *c, time_t now, sr_error *err)
{
    json_t *ti = sr_json_parse(c->tcb_info, c->tcb_info_len, COLLATERAL_MAX_BYTES, err);
    if (ti == NULL)
        return sr_error_prefix(err, "TCB info");
    json_t *qi = sr_json_parse(c->qe_identity, c->qe_identity_len, COLLATERAL_MAX_BYTES, err);
    if (qi == NULL) {
        json_decref(ti);
        return sr_error_prefix(err, "QE identity");
    }
    time_t n1, n2;
    int rc = check_window("TCB info", ti, now, &n1, err);
    if (rc == SR_OK)
        rc = check_window("QE identity", qi, now, &n2, err);
    json_decref(ti);
    json_decref(qi);
    return rc;
}

int sr_collateral_evaluate(sr_collateral *c, STACK_OF(X509) *roots, time_t now, const sr_quote *q,
                           const sr_pck_ext *pck, sr_attest_result *res, sr_error *err)
{
    int rc;
    if ((rc = check_signed("TCB info", c->tcb_chain, c->tcb_info, c->tcb_info_len, c->tcb_sig, roots, now, err)) !=
        SR_OK)
        return rc;
    if ((rc = check_signed("QE identity", c->qe_chain, c->qe_identity, c->qe_identity_len, c->qe_sig, roots, now,
                           err)) != SR_OK)
        return rc;
    return sr_collateral_eval_tcb(c, now, q, pck, res, err);
}

int sr_collateral_eval_tcb(sr_collateral *c, time_t now, const sr_quote *q, const sr_pck_ext *pck,
                           sr_attest_result *res, sr_error *err)
{
    int rc;
    json_t *ti = sr_json_parse(c->tcb_info, c->tcb_info_len, COLLATERAL_MAX_BYTES, err);
    if (ti == NULL)
        return sr_error_prefix(err, "TCB info");
    json_t *qi = sr_json_parse(c->qe_identity, c->qe_identity_len, COLLATERAL_MAX_BYTES, err);
    if (qi == NULL) {
        json_decref(ti);
        return sr_error_prefix(err, "QE identity");
    }
    time_t n1 = 0, n2 = 0;
    if ((rc = check_window("TCB info", ti, now, &n1, err)) == SR_OK &&
        (rc = check_window("QE identity", qi, now, &n2, err)) == SR_OK &&
        (rc = eval_tcb_info(ti, q, pck, res, err)) == SR_OK && (rc = eval_qe_identity(qi, q, res, err)) == SR_OK) {
        res->collateral_not_after = n1 < n2 ? n1 : n2;
        converge(res);
    }
    json_decref(ti);
    json_decref(qi);
    return rc;
}

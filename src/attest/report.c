/* The verification result as JSON (for the CLI, the KMS and auditors). */
#include "sealroom/attest.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void put_hex(json_t *o, const char *k, const uint8_t *v, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (h == NULL)
        return;
    sr_hex_encode(v, n, h);
    json_object_set_new(o, k, json_string(h));
    free(h);
}

char *sr_attest_result_json(const sr_attest_result *r, int pretty)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "verdict", json_string(sr_attest_verdict_name(r->verdict)));
    json_object_set_new(o, "reason", json_string(r->reason));
    if (r->parsed) {
        const sr_quote *q = &r->quote;
        const sr_tdx_body *b = &q->body;
        json_object_set_new(o, "version", json_integer(q->version));
        json_object_set_new(o, "att_key_type", json_integer(q->att_key_type));
        json_object_set_new(o, "tee_type", json_string(q->tee_type == SR_TDX_TEE_TYPE ? "TDX" : "unknown"));
        json_object_set_new(o, "body_type", json_integer(q->body_type));
        json_object_set_new(o, "body_size", json_integer(q->body_len));
        json_object_set_new(o, "signed_len", json_integer((json_int_t)q->signed_len));
        json_object_set_new(o, "quote_len", json_integer((json_int_t)q->total_len));
        json_object_set_new(o, "qe_svn", json_integer(q->qe_svn));
        json_object_set_new(o, "pce_svn", json_integer(q->pce_svn));
        put_hex(o, "qe_vendor_id", q->qe_vendor_id, 16);
        put_hex(o, "user_data", q->user_data, 20);
        put_hex(o, "tee_tcb_svn", b->tee_tcb_svn, 16);
        put_hex(o, "mrseam", b->mrseam, 48);
        put_hex(o, "mrsignerseam", b->mrsignerseam, 48);
        put_hex(o, "seam_attributes", b->seam_attributes, 8);
        put_hex(o, "td_attributes", b->td_attributes, 8);
        json_object_set_new(o, "td_debug", json_boolean(sr_quote_td_attributes(q) & SR_TD_ATTR_DEBUG));
        put_hex(o, "xfam", b->xfam, 8);
        put_hex(o, "mrtd", b->mrtd, 48);
        put_hex(o, "mrconfigid", b->mrconfigid, 48);
        put_hex(o, "mrowner", b->mrowner, 48);
        put_hex(o, "mrownerconfig", b->mrownerconfig, 48);
        put_hex(o, "rtmr0", b->rtmr[0], 48);
        put_hex(o, "rtmr1", b->rtmr[1], 48);
        put_hex(o, "rtmr2", b->rtmr[2], 48);
        put_hex(o, "rtmr3", b->rtmr[3], 48);
        put_hex(o, "report_data", b->report_data, 64);
        if (q->body_type == 3) {
            put_hex(o, "tee_tcb_svn2", b->tee_tcb_svn2, 16);
            put_hex(o, "mrservicetd", b->mrservicetd, 48);
        }
        put_hex(o, "attestation_key", q->attest_key, 64);
        put_hex(o, "signature", q->signature, 64);
        json_t *qe = json_object();
        put_hex(qe, "mrenclave", q->qe_report.mrenclave, 32);
        put_hex(qe, "mrsigner", q->qe_report.mrsigner, 32);
        json_object_set_new(qe, "isvprodid", json_integer(q->qe_report.isvprodid));
        json_object_set_new(qe, "isvsvn", json_integer(q->qe_report.isvsvn));
        put_hex(qe, "report_data", q->qe_report.report_data, 64);
        json_object_set_new(o, "qe_report", qe);
        json_object_set_new(o, "qe_auth_data_len", json_integer((json_int_t)q->qe_auth_len));
        json_object_set_new(o, "pck_chain_len", json_integer((json_int_t)q->pck_chain_len));
    }
    if (r->has_pck_ext) {
        put_hex(o, "fmspc", r->fmspc, 6);
        put_hex(o, "pce_id", r->pce_id, 2);
        json_object_set_new(o, "pcesvn", json_integer(r->pcesvn));
        put_hex(o, "cpusvn", r->cpusvn, 16);
    } else {
        json_object_set_new(o, "fmspc", json_null());
    }
    json_object_set_new(o, "root", json_string(r->root_cn));
    json_object_set_new(o, "tcb_status", json_string(r->tcb_status));
    if (r->platform_tcb_status[0])
        json_object_set_new(o, "platform_tcb_status", json_string(r->platform_tcb_status));
    if (r->qe_tcb_status[0])
        json_object_set_new(o, "qe_tcb_status", json_string(r->qe_tcb_status));
    json_t *adv = json_array();
    const char *s = r->advisory_ids;
    while (*s) {
        const char *c = strchr(s, ',');
        size_t n = c ? (size_t)(c - s) : strlen(s);
        json_array_append_new(adv, json_stringn(s, n));
        s += n + (c ? 1 : 0);
    }
    json_object_set_new(o, "advisory_ids", adv);
    if (r->collateral_not_after)
        json_object_set_new(o, "collateral_next_update", json_integer((json_int_t)r->collateral_not_after));
    json_object_set_new(o, "event_log_checked", json_boolean(r->eventlog_checked));
    if (r->has_compose_hash)
        put_hex(o, "compose_hash", r->compose_hash, 32);
    char *txt = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_SORT_KEYS);
    json_decref(o);
    return txt;
}

/* TCB status evaluation (docs/ATTESTATION.md §3) on the real dcap-qvl
 * collateral with the quote's fields varied. The signature checks are
 * covered by test_quote.c; here the evaluation logic is driven directly. */
#include "test.h"

#include <stdlib.h>

#include <jansson.h>

#include "../../../src/attest/attest_int.h"
#include "sealroom/attest.h"
#include "sealroom/buf.h"

static sr_buf load(const char *rel)
{
    sr_buf b;
    sr_error err;
    sr_buf_init(&b);
    if (sr_file_read(sr_test_data(rel), 1u << 24, &b, &err) != SR_OK)
        abort();
    return b;
}

struct fx {
    sr_buf quote;
    sr_quote q;
    sr_pck_ext pck;
    json_t *col;
    time_t now;
};

static void setup(struct fx *f)
{
    sr_error err;
    memset(f, 0, sizeof *f);
    f->quote = load("tdx/v4_dcapqvl.quote");
    if (sr_quote_parse(f->quote.data, f->quote.len, &f->q, &err) != SR_OK)
        abort();
    STACK_OF(X509) *certs = sr_att_parse_certs(f->q.pck_chain, f->q.pck_chain_len, 5, "chain", &err);
    if (certs == NULL || sr_att_pck_ext(sk_X509_value(certs, 0), &f->pck, &err) != SR_OK)
        abort();
    sk_X509_pop_free(certs, X509_free);
    sr_buf c = load("tdx/v4_dcapqvl.collateral.json");
    json_error_t je;
    f->col = json_loadb((const char *)c.data, c.len, 0, &je);
    sr_buf_free(&c);
    sr_attest_parse_time("2025-07-01T00:00:00Z", &f->now, &err);
}

static void teardown(struct fx *f)
{
    json_decref(f->col);
    sr_buf_free(&f->quote);
}

/* Replaces the last occurrence of `from` with `to` in a string field (in
 * tcb_info the platform tcbLevels come after the module identities). */
static void edit(struct fx *f, const char *key, const char *from, const char *to)
{
    const char *s = json_string_value(json_object_get(f->col, key));
    const char *p = NULL;
    for (const char *q = strstr(s, from); q != NULL; q = strstr(q + 1, from))
        p = q;
    CHECK_MSG(p != NULL, "%s lacks %s", key, from);
    if (p == NULL)
        return;
    size_t n = strlen(s) - strlen(from) + strlen(to) + 1;
    char *o = malloc(n);
    snprintf(o, n, "%.*s%s%s", (int)(p - s), s, to, p + strlen(from));
    json_object_set_new(f->col, key, json_string(o));
    free(o);
}

static int eval(struct fx *f, sr_attest_result *r, sr_error *err)
{
    char *txt = json_dumps(f->col, JSON_COMPACT);
    sr_collateral *c = NULL;
    memset(r, 0, sizeof *r);
    int rc = sr_collateral_parse(txt, strlen(txt), &c, err);
    if (rc == SR_OK)
        rc = sr_collateral_eval_tcb(c, f->now, &f->q, &f->pck, r, err);
    sr_collateral_free(c);
    free(txt);
    return rc;
}

static void test_uptodate(void)
{
    struct fx f;
    setup(&f);
    sr_attest_result r;
    sr_error err;
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.tcb_status, "UpToDate");
    CHECK_EQ_STR(r.platform_tcb_status, "UpToDate");
    CHECK_EQ_STR(r.qe_tcb_status, "UpToDate");
    CHECK_EQ_STR(r.advisory_ids, "");
    teardown(&f);
}

static void test_platform_out_of_date(void)
{
    struct fx f;
    setup(&f);
    sr_attest_result r;
    sr_error err;
    f.pck.pcesvn = 10; /* below the UpToDate level's 11, above the OutOfDate level's 5 */
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.tcb_status, "OutOfDate");
    CHECK_CONTAINS(r.advisory_ids, "INTEL-SA-00837");
    f.pck.pcesvn = 4; /* no level at all */
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "no TCB level");
    f.pck.pcesvn = 11;
    f.pck.comp[7] = 4; /* SEAMLDR ACM component below every level */
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    f.pck.comp[7] = 5;
    f.q.body.tee_tcb_svn[2] = 1; /* TDX late microcode below every level */
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    teardown(&f);
}

static void test_module_identity(void)
{
    struct fx f;
    setup(&f);
    sr_attest_result r;
    sr_error err;
    f.q.body.tee_tcb_svn[0] = 3; /* TDX_01 levels: 4 UpToDate, 2 OutOfDate */
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.platform_tcb_status, "OutOfDate");
    CHECK_EQ_STR(r.tcb_status, "OutOfDate");
    f.q.body.tee_tcb_svn[0] = 1; /* below every module level */
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    f.q.body.tee_tcb_svn[0] = 6;
    f.q.body.tee_tcb_svn[1] = 2; /* no identity TDX_02 */
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "TDX_02");
    f.q.body.tee_tcb_svn[1] = 1;
    f.q.body.mrsignerseam[0] = 1;
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "MRSIGNERSEAM");
    f.q.body.mrsignerseam[0] = 0;
    f.q.body.seam_attributes[0] = 1;
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    teardown(&f);
}

static void test_qe_identity(void)
{
    struct fx f;
    setup(&f);
    sr_attest_result r;
    sr_error err;
    f.q.qe_report.isvsvn = 3; /* the only QE level is isvsvn 4 */
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.qe_tcb_status, "Revoked");
    CHECK_EQ_STR(r.tcb_status, "Revoked");
    /* add an OutOfDate QE level: platform UpToDate + QE OutOfDate = OutOfDate */
    edit(&f, "qe_identity", "\"tcbStatus\":\"UpToDate\"}]",
         "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"isvsvn\":1},\"tcbDate\":\"2023-01-01T00:00:00Z\","
         "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-99999\"]}]");
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.qe_tcb_status, "OutOfDate");
    CHECK_EQ_STR(r.tcb_status, "OutOfDate");
    CHECK_CONTAINS(r.advisory_ids, "INTEL-SA-99999");
    /* platform ConfigurationNeeded + QE OutOfDate = OutOfDateConfigurationNeeded */
    edit(&f, "tcb_info", "\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"ConfigurationNeeded\"");
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.platform_tcb_status, "ConfigurationNeeded");
    CHECK_EQ_STR(r.tcb_status, "OutOfDateConfigurationNeeded");
    f.q.qe_report.isvsvn = 6;
    CHECK_OK(eval(&f, &r, &err), &err);
    CHECK_EQ_STR(r.tcb_status, "ConfigurationNeeded");
    /* identity mismatches */
    f.q.qe_report.mrsigner[0] ^= 1;
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "MRSIGNER");
    f.q.qe_report.mrsigner[0] ^= 1;
    f.q.qe_report.isvprodid = 1;
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    f.q.qe_report.isvprodid = 2;
    f.q.qe_report.attributes[0] ^= 0x10; /* inside the mask */
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    f.q.qe_report.attributes[0] ^= 0x10;
    f.q.qe_report.attributes[0] ^= 0x04; /* masked-out bit (mask FB): ignored */
    CHECK_OK(eval(&f, &r, &err), &err);
    teardown(&f);
}

static void test_fmspc_and_unknown_status(void)
{
    struct fx f;
    setup(&f);
    sr_attest_result r;
    sr_error err;
    f.pck.fmspc[0] ^= 1;
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "FMSPC");
    f.pck.fmspc[0] ^= 1;
    edit(&f, "tcb_info", "\"tcbStatus\":\"UpToDate\"", "\"tcbStatus\":\"Splendid\"");
    CHECK_EQ_INT(eval(&f, &r, &err), SR_EFORMAT);
    /* the time window */
    teardown(&f);
    setup(&f);
    sr_attest_parse_time("2025-07-20T00:00:00Z", &f.now, &err);
    char *txt = json_dumps(f.col, JSON_COMPACT);
    sr_collateral *c = NULL;
    CHECK_OK(sr_collateral_parse(txt, strlen(txt), &c, &err), &err);
    CHECK_EQ_INT(sr_collateral_check_time(c, f.now, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "collateral expired");
    sr_collateral_free(c);
    free(txt);
    teardown(&f);
}

/* Intel's PCS samples (TCB info v3 without module identities, QE identity
 * v2) for the SPR E4 platform of v4_spr_e4.quote (FMSPC 50806f000000). */
static void test_pcs_samples_spr(void)
{
    sr_error err;
    sr_buf qb = load("tdx/v4_spr_e4.quote"), tb = load("tdx/tcbinfo_sample.json"), ib = load("tdx/qeidentity_sample.json");
    sr_quote q;
    sr_pck_ext pck;
    CHECK_OK(sr_quote_parse(qb.data, qb.len, &q, &err), &err);
    STACK_OF(X509) *certs = sr_att_parse_certs(q.pck_chain, q.pck_chain_len, 5, "chain", &err);
    CHECK(certs != NULL);
    if (certs == NULL)
        return;
    CHECK_OK(sr_att_pck_ext(sk_X509_value(certs, 0), &pck, &err), &err);
    sk_X509_pop_free(certs, X509_free);
    json_error_t je;
    json_t *t = json_loadb((const char *)tb.data, tb.len, 0, &je), *i = json_loadb((const char *)ib.data, ib.len, 0, &je);
    char *ti = json_dumps(json_object_get(t, "tcbInfo"), JSON_COMPACT);
    char *qi = json_dumps(json_object_get(i, "enclaveIdentity"), JSON_COMPACT);
    json_t *col = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "tcb_info", ti, "tcb_info_signature",
                            json_string_value(json_object_get(t, "signature")), "tcb_info_issuer_chain", "",
                            "qe_identity", qi, "qe_identity_signature",
                            json_string_value(json_object_get(i, "signature")), "qe_identity_issuer_chain", "");
    char *txt = json_dumps(col, JSON_COMPACT);
    sr_collateral *c = NULL;
    CHECK_OK(sr_collateral_parse(txt, strlen(txt), &c, &err), &err);
    time_t now;
    sr_attest_parse_time("2023-06-20T00:00:00Z", &now, &err);
    sr_attest_result r;
    if (c != NULL) {
        CHECK_OK(sr_collateral_check_time(c, now, &err), &err);
        /* this pre-production platform (CPUSVN component 0 = 3, TDX
         * microcode SVN 4) is below both TCB levels (5 and 5): not supported */
        memset(&r, 0, sizeof r);
        CHECK_EQ_INT(sr_collateral_eval_tcb(c, now, &q, &pck, &r, &err), SR_EVERIFY);
        CHECK_CONTAINS(err.msg, "no TCB level");
        /* raised to the first level's SVNs it is UpToDate; PCESVN 10 gives OutOfDate */
        static const uint8_t lvl[16] = {5, 5, 2, 2, 3, 1, 0, 3};
        memcpy(pck.comp, lvl, 16);
        q.body.tee_tcb_svn[2] = 5;
        memset(&r, 0, sizeof r);
        CHECK_OK(sr_collateral_eval_tcb(c, now, &q, &pck, &r, &err), &err);
        CHECK_EQ_STR(r.tcb_status, "UpToDate");
        CHECK_EQ_STR(r.qe_tcb_status, "UpToDate");
        pck.pcesvn = 10;
        memset(&r, 0, sizeof r);
        CHECK_OK(sr_collateral_eval_tcb(c, now, &q, &pck, &r, &err), &err);
        CHECK_EQ_STR(r.tcb_status, "OutOfDate");
        CHECK_CONTAINS(r.advisory_ids, "INTEL-SA-00477");
    }
    sr_collateral_free(c);
    free(txt);
    free(ti);
    free(qi);
    json_decref(col);
    json_decref(t);
    json_decref(i);
    sr_buf_free(&qb);
    sr_buf_free(&tb);
    sr_buf_free(&ib);
}

/* The one TCB policy every verifier applies (sr_attest_verify, KMS, receipt). */
static void test_tcb_verdict_table(void)
{
    static const struct {
        const char *status;
        sr_tcb_verdict strict, lenient; /* allow_out_of_date 0 / 1 */
    } t[] = {
        {"UpToDate", SR_TCB_ACCEPT, SR_TCB_ACCEPT},
        {"NotEvaluated", SR_TCB_ACCEPT, SR_TCB_ACCEPT},
        {"SWHardeningNeeded", SR_TCB_WARN, SR_TCB_WARN},
        {"ConfigurationNeeded", SR_TCB_WARN, SR_TCB_WARN},
        {"ConfigurationAndSWHardeningNeeded", SR_TCB_WARN, SR_TCB_WARN},
        {"OutOfDate", SR_TCB_REFUSE, SR_TCB_WARN},
        {"OutOfDateConfigurationNeeded", SR_TCB_REFUSE, SR_TCB_WARN},
        {"Revoked", SR_TCB_REFUSE, SR_TCB_REFUSE},
        {"uptodate", SR_TCB_REFUSE, SR_TCB_REFUSE},
        {"", SR_TCB_REFUSE, SR_TCB_REFUSE},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        CHECK_MSG(sr_attest_tcb_verdict(t[i].status, 0) == t[i].strict, "%s strict", t[i].status);
        CHECK_MSG(sr_attest_tcb_verdict(t[i].status, 1) == t[i].lenient, "%s lenient", t[i].status);
        CHECK(sr_attest_tcb_meaning(t[i].status)[0] != '\0');
    }
    CHECK(sr_attest_tcb_verdict(NULL, 1) == SR_TCB_REFUSE);
}

int main(void)
{
    SR_RUN(test_tcb_verdict_table);
    SR_RUN(test_uptodate);
    SR_RUN(test_platform_out_of_date);
    SR_RUN(test_module_identity);
    SR_RUN(test_qe_identity);
    SR_RUN(test_fmspc_and_unknown_status);
    SR_RUN(test_pcs_samples_spr);
    return sr_test_finish();
}

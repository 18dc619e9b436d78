/* Quote parsing and verification against the real test vectors. */
#include "test.h"

#include <pthread.h>
#include <stdlib.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"

static sr_buf load(const char *rel)
{
    sr_buf b;
    sr_error err;
    sr_buf_init(&b);
    if (sr_file_read(sr_test_data(rel), 1u << 24, &b, &err) != SR_OK) {
        fprintf(stderr, "cannot read %s: %s\n", rel, err.msg);
        abort();
    }
    return b;
}

static time_t at(const char *s)
{
    time_t t = 0;
    sr_error err;
    if (sr_attest_parse_time(s, &t, &err) != SR_OK)
        abort();
    return t;
}

static const char *intel_quotes[] = {"tdx/v4_spr_e4.quote", "tdx/v4_dcapqvl.quote", "tdx/v4_dstack.quote",
                                     "tdx/v5_tdx15.quote"};

static void test_parse_layouts(void)
{
    sr_error err;
    sr_quote q;
    sr_buf b = load("tdx/v4_spr_e4.quote");
    CHECK_OK(sr_quote_parse(b.data, b.len, &q, &err), &err);
    CHECK_EQ_INT(q.version, 4);
    CHECK_EQ_INT(q.body_type, 2);
    CHECK_EQ_INT(q.signed_len, 632);
    CHECK_EQ_INT(q.total_len, 4935); /* the file has 39 trailing bytes */
    CHECK(b.len > q.total_len);
    CHECK_EQ_INT(q.cert_type, 5);
    CHECK_EQ_INT(q.qe_auth_len, 32);
    CHECK(sr_quote_td_attributes(&q) == 0x40000000ull);
    sr_buf_free(&b);

    b = load("tdx/v5_tdx15.quote");
    CHECK_OK(sr_quote_parse(b.data, b.len, &q, &err), &err);
    CHECK_EQ_INT(q.version, 5);
    CHECK_EQ_INT(q.body_type, 3);
    CHECK_EQ_INT(q.body_len, 648);
    CHECK_EQ_INT(q.signed_len, 48 + 6 + 648);
    CHECK_EQ_INT(q.total_len, b.len);
    /* RTMR3 sits 472 bytes into the body, after the 6-byte descriptor */
    CHECK_EQ_MEM(q.body.rtmr[3], b.data + 54 + 472, 48);
    CHECK_EQ_MEM(q.body.report_data, b.data + 54 + 520, 64);
    CHECK_EQ_MEM(q.body.mrservicetd, b.data + 54 + 600, 48);
    sr_buf_free(&b);

    b = load("tdx/v4_dcapqvl.quote");
    CHECK_OK(sr_quote_parse(b.data, b.len, &q, &err), &err);
    CHECK_EQ_INT(q.total_len, 4936);
    CHECK_EQ_INT(b.len, 5006); /* zero padding after the signature data */
    CHECK_EQ_MEM(q.body.mrtd, b.data + 48 + 136, 48);
    sr_buf_free(&b);
}

static void test_truncation_and_bounds(void)
{
    sr_error err;
    sr_quote q;
    sr_buf b = load("tdx/v4_dcapqvl.quote");
    CHECK_OK(sr_quote_parse(b.data, b.len, &q, &err), &err);
    size_t total = q.total_len;
    int bad = 0;
    /* every prefix shorter than the quote is refused (never read past len) */
    for (size_t n = 0; n < total; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, b.data, n);
        if (sr_quote_parse(copy, n, &q, &err) == SR_OK)
            bad++;
        free(copy);
    }
    CHECK_EQ_INT(bad, 0);
    /* a signature data length pointing past the buffer */
    uint8_t *c = malloc(b.len);
    memcpy(c, b.data, b.len);
    sr_store_le32(c + 632, 0xfffffff0u);
    CHECK_EQ_INT(sr_quote_parse(c, b.len, &q, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "signature data length");
    /* a wrong version and TEE type */
    memcpy(c, b.data, b.len);
    c[0] = 3;
    CHECK_EQ_INT(sr_quote_parse(c, b.len, &q, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "version 3");
    memcpy(c, b.data, b.len);
    c[4] = 0;
    CHECK_EQ_INT(sr_quote_parse(c, b.len, &q, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "not TDX");
    free(c);
    sr_buf_free(&b);

    /* v5 with a body size that disagrees with its type */
    b = load("tdx/v5_tdx15.quote");
    sr_store_le32(b.data + 50, 584);
    CHECK_EQ_INT(sr_quote_parse(b.data, b.len, &q, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "body type 3");
    sr_buf_free(&b);
}

static void test_hex_input(void)
{
    sr_error err;
    sr_buf b = load("tdx/v4_dstack.quote");
    char *hex = malloc(2 * b.len + 8);
    strcpy(hex, "0x");
    sr_hex_encode(b.data, b.len, hex + 2);
    strcat(hex, "\n");
    sr_buf raw;
    sr_buf_init(&raw);
    CHECK_OK(sr_quote_decode_input((const uint8_t *)hex, strlen(hex), &raw, &err), &err);
    CHECK(raw.len == b.len && memcmp(raw.data, b.data, b.len) == 0);
    sr_buf_reset(&raw);
    CHECK_OK(sr_quote_decode_input((const uint8_t *)hex + 2, strlen(hex) - 2, &raw, &err), &err);
    CHECK(raw.len == b.len);
    sr_buf_reset(&raw);
    CHECK_OK(sr_quote_decode_input(b.data, b.len, &raw, &err), &err); /* raw passes through */
    CHECK(raw.len == b.len);
    sr_buf_reset(&raw);
    hex[10] = 'g';
    CHECK_EQ_INT(sr_quote_decode_input((const uint8_t *)hex, strlen(hex), &raw, &err), SR_EFORMAT);
    free(hex);
    sr_buf_free(&raw);
    sr_buf_free(&b);
}

static void test_verify_intel_quotes(void)
{
    sr_error err;
    sr_attest_result *r = malloc(sizeof *r);
    for (size_t i = 0; i < sizeof intel_quotes / sizeof *intel_quotes; i++) {
        sr_buf b = load(intel_quotes[i]);
        sr_attest_policy pol;
        memset(&pol, 0, sizeof pol);
        pol.now = at("2026-02-01T00:00:00Z"); /* inside every leaf's validity */
        int rc = sr_attest_verify(b.data, b.len, &pol, r, &err);
        CHECK_MSG(rc == SR_OK, "%s: %s", intel_quotes[i], err.msg);
        CHECK_EQ_INT(r->verdict, SR_ATTEST_VALID);
        CHECK_EQ_STR(r->root_cn, "Intel SGX Root CA");
        CHECK(r->has_pck_ext);
        CHECK_EQ_STR(r->tcb_status, "NotEvaluated");
        sr_buf_free(&b);
    }
    /* the synthetic quote: only against its own TEST root */
    sr_buf b = load("tdx/synthetic_intel_test.quote");
    sr_buf root = load("tdx/synthetic_intel_test_root.pem");
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.now = at("2026-02-01T00:00:00Z");
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "pinned root");
    const uint8_t *rp[1] = {root.data};
    size_t rl[1] = {root.len};
    pol.roots = rp;
    pol.root_lens = rl;
    pol.nroots = 1;
    CHECK_OK(sr_attest_verify(b.data, b.len, &pol, r, &err), &err);
    CHECK_EQ_INT(r->verdict, SR_ATTEST_VALID);
    /* and a production quote fails against the TEST root */
    sr_buf p = load("tdx/v4_spr_e4.quote");
    CHECK_EQ_INT(sr_attest_verify(p.data, p.len, &pol, r, &err), SR_EVERIFY);
    CHECK_EQ_INT(r->verdict, SR_ATTEST_INVALID);
    CHECK(r->parsed);
    sr_buf_free(&p);
    sr_buf_free(&root);
    sr_buf_free(&b);
    free(r);
}

static void test_validity_time(void)
{
    sr_error err;
    sr_attest_result *r = malloc(sizeof *r);
    sr_buf b = load("tdx/v4_dcapqvl.quote");
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.now = at("2024-01-01T00:00:00Z"); /* before the leaf's notBefore (2025-02-06) */
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "not yet valid");
    pol.now = at("2033-01-01T00:00:00Z"); /* after the leaf's notAfter */
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "expired");
    sr_buf_free(&b);
    free(r);
}

static void test_collateral(void)
{
    sr_error err;
    sr_attest_result *r = malloc(sizeof *r);
    sr_buf b = load("tdx/v4_dcapqvl.quote");
    sr_buf col = load("tdx/v4_dcapqvl.collateral.json");
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.collateral = (const char *)col.data;
    pol.collateral_len = col.len;
    pol.now = at("2025-07-01T00:00:00Z");
    CHECK_OK(sr_attest_verify(b.data, b.len, &pol, r, &err), &err);
    CHECK_EQ_STR(r->tcb_status, "UpToDate");
    CHECK_EQ_STR(r->platform_tcb_status, "UpToDate");
    CHECK_EQ_STR(r->qe_tcb_status, "UpToDate");
    char fm[13];
    sr_hex_encode(r->fmspc, 6, fm);
    CHECK_EQ_STR(fm, "b0c06f000000");
    CHECK(r->collateral_not_after == at("2025-07-19T10:16:03Z"));

    /* outside the window: a clear "collateral expired" */
    pol.now = at("2025-08-01T00:00:00Z");
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "collateral expired");
    CHECK_CONTAINS(err.msg, "nextUpdate");
    pol.now = at("2025-06-01T00:00:00Z");
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "not yet valid");

    /* a tampered TCB info (status changed) fails its signature */
    pol.now = at("2025-07-01T00:00:00Z");
    char *t = malloc(col.len + 1);
    memcpy(t, col.data, col.len);
    t[col.len] = '\0';
    char *p = strstr(t, "\\\"fmspc\\\":\\\"B0C06F000000\\\"");
    CHECK(p != NULL);
    if (p) {
        p[strlen("\\\"fmspc\\\":\\\"B0")] = '1';
        pol.collateral = t;
        CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
        CHECK_CONTAINS(r->reason, "TCB info signature");
    }
    /* the collateral of another platform: FMSPC mismatch is reported */
    sr_buf other = load("tdx/v4_spr_e4.quote");
    pol.collateral = (const char *)col.data;
    CHECK(sr_attest_verify(other.data, other.len, &pol, r, &err) != SR_OK);
    sr_buf_free(&other);
    /* malformed collateral JSON */
    pol.collateral = "{\"tcb_info\": 5}";
    pol.collateral_len = strlen(pol.collateral);
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EFORMAT);
    free(t);
    sr_buf_free(&col);
    sr_buf_free(&b);
    free(r);
}

static void test_crls(void)
{
    sr_error err;
    sr_attest_result *r = malloc(sizeof *r);
    sr_buf b = load("tdx/v4_spr_e4.quote");
    sr_buf pck = load("tdx/pck_platform_crl.der"), root = load("tdx/root_crl.der");
    const uint8_t *cp[2] = {pck.data, root.data};
    size_t cl[2] = {pck.len, root.len};
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.crls = cp;
    pol.crl_lens = cl;
    pol.ncrls = 2;
    pol.now = at("2023-06-20T00:00:00Z"); /* inside both CRLs' windows */
    CHECK_OK(sr_attest_verify(b.data, b.len, &pol, r, &err), &err);
    pol.now = at("2026-02-01T00:00:00Z"); /* both CRLs past nextUpdate */
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "CRL");
    /* a corrupted CRL signature */
    pol.now = at("2023-06-20T00:00:00Z");
    pck.data[pck.len - 5] ^= 1;
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "signature");
    sr_buf_free(&pck);
    sr_buf_free(&root);
    sr_buf_free(&b);
    free(r);
}

static void test_cache(void)
{
    sr_error err;
    sr_attest_result *r = malloc(sizeof *r);
    sr_attest_cache *c = sr_attest_cache_new(4);
    CHECK(c != NULL);
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.cache = c;
    pol.now = at("2026-02-01T00:00:00Z");
    sr_buf b = load("tdx/v4_dstack.quote");
    for (int i = 0; i < 3; i++)
        CHECK_OK(sr_attest_verify(b.data, b.len, &pol, r, &err), &err);
    uint64_t hits = 0, misses = 0;
    sr_attest_cache_stats(c, &hits, &misses);
    CHECK_EQ_INT(hits, 2);
    CHECK_EQ_INT(misses, 1);
    /* a cached chain still honours the time and the signatures */
    b.data[600] ^= 1;
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    b.data[600] ^= 1;
    pol.now = at("2040-01-01T00:00:00Z");
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    /* other roots = other key: no cross-root hit */
    sr_buf root = load("tdx/synthetic_intel_test_root.pem");
    const uint8_t *rp[1] = {root.data};
    size_t rl[1] = {root.len};
    pol.roots = rp;
    pol.root_lens = rl;
    pol.nroots = 1;
    pol.now = at("2026-02-01T00:00:00Z");
    CHECK_EQ_INT(sr_attest_verify(b.data, b.len, &pol, r, &err), SR_EVERIFY);
    sr_buf_free(&root);
    sr_buf_free(&b);
    sr_attest_cache_free(c);
    free(r);
}

struct thr {
    sr_attest_cache *cache;
    const sr_buf *quotes;
    int failures;
};

static void *verify_many(void *arg)
{
    struct thr *t = arg;
    sr_attest_result *r = malloc(sizeof *r);
    sr_error err;
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.cache = t->cache;
    pol.now = 1769904000; /* 2026-02-01 */
    for (int i = 0; i < 40; i++) {
        const sr_buf *b = &t->quotes[i % 3];
        if (sr_attest_verify(b->data, b->len, &pol, r, &err) != SR_OK)
            t->failures++;
    }
    free(r);
    return NULL;
}

static void test_cache_threads(void)
{
    sr_buf q[3] = {load("tdx/v4_dstack.quote"), load("tdx/v5_tdx15.quote"), load("tdx/v4_spr_e4.quote")};
    sr_attest_cache *c = sr_attest_cache_new(2); /* smaller than the working set: evictions */
    struct thr t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){c, q, 0};
        CHECK(pthread_create(&th[i], NULL, verify_many, &t[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(t[i].failures, 0);
    }
    uint64_t hits = 0, misses = 0;
    sr_attest_cache_stats(c, &hits, &misses);
    CHECK_EQ_INT(hits + misses, 160);
    sr_attest_cache_free(c);
    for (int i = 0; i < 3; i++)
        sr_buf_free(&q[i]);
}

static void test_json_result(void)
{
    sr_error err;
    sr_attest_result *r = malloc(sizeof *r);
    sr_buf b = load("tdx/v5_tdx15.quote");
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.now = at("2026-02-01T00:00:00Z");
    CHECK_OK(sr_attest_verify(b.data, b.len, &pol, r, &err), &err);
    char *j = sr_attest_result_json(r, 0);
    CHECK(j != NULL);
    if (j) {
        CHECK_CONTAINS(j, "\"verdict\":\"valid\"");
        CHECK_CONTAINS(j, "\"version\":5");
        CHECK_CONTAINS(j, "\"body_type\":3");
        CHECK_CONTAINS(j, "\"mrservicetd\"");
        CHECK_CONTAINS(j, "\"fmspc\":\"90c06f000000\"");
    }
    free(j);
    sr_buf_free(&b);
    free(r);
}

static void test_parse_time(void)
{
    sr_error err;
    time_t t;
    CHECK_OK(sr_attest_parse_time("1970-01-02T00:00:00Z", &t, &err), &err);
    CHECK(t == 86400);
    CHECK_OK(sr_attest_parse_time("1752920163", &t, &err), &err);
    CHECK(t == 1752920163);
    CHECK_OK(sr_attest_parse_time("2025-07-19T10:16:03.123Z", &t, &err), &err);
    CHECK(t == 1752920163);
    CHECK(sr_attest_parse_time("2025-07-19T10:16:03+02:00", &t, &err) != SR_OK);
    CHECK(sr_attest_parse_time("yesterday", &t, &err) != SR_OK);
    CHECK(sr_attest_parse_time("2025-13-19T10:16:03Z", &t, &err) != SR_OK);
}

int main(void)
{
    SR_RUN(test_parse_layouts);
    SR_RUN(test_truncation_and_bounds);
    SR_RUN(test_hex_input);
    SR_RUN(test_verify_intel_quotes);
    SR_RUN(test_validity_time);
    SR_RUN(test_collateral);
    SR_RUN(test_crls);
    SR_RUN(test_cache);
    SR_RUN(test_cache_threads);
    SR_RUN(test_json_result);
    SR_RUN(test_parse_time);
    return sr_test_finish();
}

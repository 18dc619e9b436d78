/* Gate common code: EIP-712 digests (vectors from ethers 6's
 * TypedDataEncoder), the decision rule and its reason strings, owner
 * parsing, config validation, status JSON, consortium-list criteria. */
#include <stdlib.h>
#include <string.h>

#include "sealroom/crypto.h"
#include "sealroom/gate.h"
#include "sealroom/json.h"
#include "test.h"

static void hex32(const char *h, uint8_t out[32]) { CHECK_EQ_INT(sr_test_unhex(h, out, 32), 32); }

static void check_digest(const uint8_t got[32], const char *want_hex)
{
    char g[65];
    sr_hex_encode(got, 32, g);
    CHECK_EQ_STR(g, want_hex);
}

static void test_eip712_vectors(void)
{
    /* ethers.TypedDataEncoder with domain {sealroom, 1, 24225,
     * 0x00112233445566778899aabbccddeeff00112233} and 0xabab.. as the word */
    sr_gate_domain d;
    uint8_t w[32], out[32];
    d.chain_id = 24225;
    CHECK_EQ_INT(sr_test_unhex("00112233445566778899aabbccddeeff00112233", d.app, 20), 20);
    memset(w, 0xab, 32);
    sr_gate_domain_separator(&d, out);
    check_digest(out, "2a5e8a60d886c205ee0c15151ea693cd93e69f6600134824f68f72c8d41bd291");
    sr_gate_approve_digest(&d, w, out);
    check_digest(out, "68ae87f0320407a5d689610e23fac929b3b6c62c640eef2ab5b9e6d3a85ef74f");
    sr_gate_revoke_digest(&d, w, out);
    check_digest(out, "7d764d6fe42cab39bc7da2ffd40fe6cf6e21ed4bd3bf306e065281ed4479f620");
    sr_gate_freeze_digest(&d, w, out);
    check_digest(out, "7cc677ffacfdd3a465cdebb471a8175e42ff27cf63b861a64d9c819e6528a2d0");
    sr_gate_owner o[2];
    sr_error err;
    CHECK_OK(sr_gate_owner_parse("hospital-A=0x1111111111111111111111111111111111111111:US:HIPAA", &o[0], &err), &err);
    CHECK_OK(sr_gate_owner_parse("bank-B=0x2222222222222222222222222222222222222222:EU-DE:gdpr,PCI", &o[1], &err), &err);
    CHECK_EQ_STR(o[1].grades, "GDPR,PCI");
    sr_gate_change_owners_digest(&d, o, 2, 2, 5, out);
    check_digest(out, "90a6453e4b4bbcd8e60106dbf00d3ed6f08d703743c67ec102308445fecc98fb");
    /* RequireOwners(bytes32 composeHash,address[] owners): ethers hashes the
     * address[] as kec of the 32-byte-padded addresses; order matters */
    uint8_t req[2][20];
    memcpy(req[0], o[0].addr, 20);
    memcpy(req[1], o[1].addr, 20);
    sr_gate_require_owners_digest(&d, w, (const uint8_t(*)[20])req, 2, out);
    check_digest(out, "88c04a5df47bd691d211ccf77c6ba2c9ab09b3a352e8df4e896365d96f0e02f8");
    memcpy(req[0], o[1].addr, 20);
    memcpy(req[1], o[0].addr, 20);
    sr_gate_require_owners_digest(&d, w, (const uint8_t(*)[20])req, 2, out);
    check_digest(out, "ec0ebd9bfdf7a05737bc9c0f24145338bf67cd13142d41d0de2c6c4e996028f4");
    sr_gate_change_owners_digest(&d, o, 2, 2, 5, out);
    /* a change of any field changes the digest */
    uint8_t out2[32];
    sr_gate_change_owners_digest(&d, o, 2, 2, 6, out2);
    CHECK(memcmp(out, out2, 32) != 0);
    d.chain_id = 24226;
    sr_gate_approve_digest(&d, w, out2);
    CHECK(memcmp(out2, out, 32) != 0);
    (void)hex32;
}

static void test_sign_recover(void)
{
    sr_error err;
    uint8_t sk[32], addr[20], rec[20], digest[32], sig[65];
    memset(sk, 0x42, 32);
    CHECK_OK(sr_eth_address_from_seckey(sk, addr, &err), &err);
    sr_gate_domain d = {.chain_id = 1};
    memset(d.app, 0x99, 20);
    uint8_t h[32];
    memset(h, 7, 32);
    sr_gate_approve_digest(&d, h, digest);
    CHECK_OK(sr_gate_sign_digest(digest, sk, sig, &err), &err);
    CHECK(sig[64] == 27 || sig[64] == 28);
    CHECK_OK(sr_eth_recover_address(digest, sig, rec, &err), &err);
    CHECK_EQ_MEM(rec, addr, 20);
}

static void base_status(sr_gate_status *st)
{
    sr_error err;
    memset(st, 0, sizeof *st);
    strcpy(st->config.name, "c");
    CHECK_OK(sr_gate_owner_parse("hospital-A=0x1111111111111111111111111111111111111111", &st->config.owners[0], &err), &err);
    CHECK_OK(sr_gate_owner_parse("hospital-B=0x2222222222222222222222222222222222222222", &st->config.owners[1], &err), &err);
    CHECK_OK(sr_gate_owner_parse("bank-C=0x3333333333333333333333333333333333333333", &st->config.owners[2], &err), &err);
    CHECK_OK(sr_gate_owner_parse("lab-D=0x4444444444444444444444444444444444444444", &st->config.owners[3], &err), &err);
    st->config.n_owners = 4;
    st->config.threshold = 3;
    strcpy(st->pos_unit, "seq");
}

static void test_decide(void)
{
    static sr_gate_status st;
    base_status(&st);
    const char *req[] = {"hospital-A", "lab-D", "hospital-A"};
    sr_gate_decide(&st, NULL, 0);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "not approved: 0/4 (k=3)");
    st.approved[0] = st.approved[1] = st.approved[2] = 1;
    sr_gate_decide(&st, NULL, 0);
    CHECK(st.allowed);
    CHECK_EQ_STR(st.reason, "allowed: 3/4 approvals (k=3)");
    sr_gate_decide(&st, req, 3);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "not approved: 3/4 (k=3), missing lab-D");
    st.approved[2] = 0;
    st.approved[3] = 1;
    sr_gate_decide(&st, req, 3);
    CHECK(st.allowed);
    st.approved[0] = 0;
    st.approved[3] = 0;
    sr_gate_decide(&st, req, 2);
    CHECK_EQ_STR(st.reason, "not approved: 1/4 (k=3), missing hospital-A,lab-D");
    const char *unk[] = {"nobody"};
    sr_gate_decide(&st, unk, 1);
    CHECK_EQ_STR(st.reason, "not approved: unknown owner nobody");
    /* precedence: frozen > revoked > the rest */
    st.revoked = 1;
    strcpy(st.revoked_by, "bank-C");
    st.revoked_pos = 12;
    sr_gate_decide(&st, unk, 1);
    CHECK_EQ_STR(st.reason, "revoked by bank-C at seq 12");
    st.frozen = 1;
    strcpy(st.frozen_by, "lab-D");
    st.frozen_pos = 13;
    strcpy(st.pos_unit, "block");
    sr_gate_decide(&st, unk, 1);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "frozen by lab-D at block 13");
    /* frozen wins even with every approval */
    for (int i = 0; i < 4; i++)
        st.approved[i] = 1;
    st.revoked = 0;
    sr_gate_decide(&st, NULL, 0);
    CHECK(!st.allowed);
}

static void test_status_json(void)
{
    static sr_gate_status st;
    sr_error err;
    base_status(&st);
    st.approved[1] = 1;
    st.approved_pos[1] = 5;
    st.snapshot = 9;
    memset(st.compose_hash, 0xcd, 32);
    memset(st.config.kms_pubkey, 0x5a, SR_GATE_KMS_KEY_MAX);
    st.config.kms_pubkey_len = SR_GATE_KMS_KEY_MAX;
    sr_gate_decide(&st, NULL, 0);
    char *s = sr_gate_status_json(&st, "ledger");
    CHECK(s != NULL);
    json_t *j = sr_json_parse(s, strlen(s), 1 << 20, &err);
    CHECK(j != NULL);
    if (j != NULL) {
        CHECK(json_is_false(json_object_get(j, "allowed")));
        CHECK_EQ_STR(json_string_value(json_object_get(j, "reason")), "not approved: 1/4 (k=3)");
        CHECK_EQ_INT(json_integer_value(json_object_get(j, "snapshot")), 9);
        CHECK_EQ_INT(json_integer_value(json_object_get(j, "approvals")), 1);
        CHECK_EQ_STR(json_string_value(json_object_get(j, "backend")), "ledger");
        json_t *o = json_array_get(json_object_get(j, "owners"), 1);
        CHECK(json_is_true(json_object_get(o, "approved")));
        CHECK_EQ_INT(json_integer_value(json_object_get(o, "pos")), 5);
        CHECK_EQ_STR(json_string_value(json_object_get(o, "id")), "hospital-B");
        CHECK(json_is_null(json_object_get(j, "revoked_by")));
        CHECK_CONTAINS(json_string_value(json_object_get(j, "compose_hash")), "0xcdcd");
        CHECK_EQ_INT(strlen(json_string_value(json_object_get(j, "kms_pubkey"))), 2 + 2 * SR_GATE_KMS_KEY_MAX);
        json_decref(j);
    }
    free(s);
}

static void test_owner_parse(void)
{
    sr_error err;
    sr_gate_owner o;
    CHECK_OK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111", &o, &err), &err);
    CHECK_EQ_STR(o.id, "a");
    CHECK_EQ_STR(o.jurisdiction, "");
    CHECK_OK(sr_gate_owner_parse("x.y_z=0x1111111111111111111111111111111111111111:EU:hipaa,gdpr,HIPAA", &o, &err), &err);
    CHECK_EQ_STR(o.grades, "HIPAA,GDPR");
    CHECK_EQ_STR(o.jurisdiction, "EU");
    CHECK_OK(sr_gate_owner_parse("x=0x1111111111111111111111111111111111111111::PCI", &o, &err), &err);
    CHECK_EQ_STR(o.grades, "PCI");
    CHECK(sr_gate_owner_parse("noaddress", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("=0x1111111111111111111111111111111111111111", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("a b=0x1111111111111111111111111111111111111111", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("a=0x11111111111111111111111111111111111111", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111:E U", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111:EU:A,,B", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111:EU:A,", &o, &err) != SR_OK);
    CHECK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111:EU:A B", &o, &err) != SR_OK);
    /* bad EIP-55 checksum in mixed case */
    CHECK(sr_gate_owner_parse("a=0xAbCdEf1111111111111111111111111111111111", &o, &err) != SR_OK);
    char longid[128];
    memset(longid, 'a', 65);
    strcpy(longid + 65, "=0x1111111111111111111111111111111111111111");
    CHECK(sr_gate_owner_parse(longid, &o, &err) != SR_OK);
}

static void test_config_validate(void)
{
    static sr_gate_config c;
    sr_error err;
    memset(&c, 0, sizeof c);
    strcpy(c.name, "ok");
    CHECK_OK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111", &c.owners[0], &err), &err);
    c.n_owners = 1;
    c.threshold = 1;
    c.kms_pubkey_len = 1;
    CHECK_OK(sr_gate_config_validate(&c, &err), &err);
    c.kms_pubkey_len = 0;
    CHECK_EQ_INT(sr_gate_config_validate(&c, &err), SR_EINVAL);
    c.kms_pubkey_len = 33;
    strcpy(c.owners[0].grades, "hipaa");
    CHECK_EQ_INT(sr_gate_config_validate(&c, &err), SR_EINVAL); /* not canonical */
    strcpy(c.owners[0].grades, "HIPAA");
    c.name[0] = '\0';
    CHECK_EQ_INT(sr_gate_config_validate(&c, &err), SR_EINVAL);
    strcpy(c.name, "bad\nname");
    CHECK_EQ_INT(sr_gate_config_validate(&c, &err), SR_EINVAL);
    strcpy(c.name, "ok");
    memset(c.owners[0].addr, 0, 20);
    CHECK_EQ_INT(sr_gate_config_validate(&c, &err), SR_EINVAL);
    CHECK_CONTAINS(err.msg, "zero address");
}

static void test_criteria(void)
{
    static sr_gate_config c;
    sr_error err;
    sr_gate_criterion cr[SR_GATE_MAX_CRITERIA];
    size_t n;
    memset(&c, 0, sizeof c);
    strcpy(c.name, "x");
    CHECK_OK(sr_gate_owner_parse("a=0x1111111111111111111111111111111111111111:US:HIPAA", &c.owners[0], &err), &err);
    CHECK_OK(sr_gate_owner_parse("b=0x2222222222222222222222222222222222222222:EU:GDPR,PCI", &c.owners[1], &err), &err);
    CHECK_OK(sr_gate_owner_parse("c=0x3333333333333333333333333333333333333333:US:PCI", &c.owners[2], &err), &err);
    c.n_owners = 3;
    c.threshold = 2;
    CHECK_OK(sr_gate_criteria_eval(&c, "owners>=3,multi-jurisdiction,hipaa|gdpr, PCI ,owners>=5,owners>=7,sox",
                                   cr, SR_GATE_MAX_CRITERIA, &n, &err),
             &err);
    CHECK_EQ_INT(n, 7);
    CHECK_EQ_INT(cr[0].result, SR_GATE_MATCH);
    CHECK_EQ_INT(cr[1].result, SR_GATE_MATCH);
    CHECK_CONTAINS(cr[1].detail, "2 jurisdictions");
    CHECK_EQ_INT(cr[2].result, SR_GATE_PARTIAL); /* c has neither */
    CHECK_EQ_STR(cr[2].detail, "2/3 owners");
    CHECK_EQ_STR(cr[3].text, "PCI");
    CHECK_EQ_INT(cr[3].result, SR_GATE_PARTIAL);
    CHECK_EQ_INT(cr[4].result, SR_GATE_PARTIAL); /* 3 of 5: 2n >= N */
    CHECK_EQ_INT(cr[5].result, SR_GATE_MISS);    /* 3 of 7 */
    CHECK_EQ_INT(cr[6].result, SR_GATE_MISS);
    CHECK_EQ_STR(sr_gate_match_name(cr[6].result), "miss");
    /* single jurisdiction known, one unknown -> partial; all same -> miss */
    strcpy(c.owners[1].jurisdiction, "US");
    CHECK_OK(sr_gate_criteria_eval(&c, "multi-jurisdiction", cr, SR_GATE_MAX_CRITERIA, &n, &err), &err);
    CHECK_EQ_INT(cr[0].result, SR_GATE_MISS);
    c.owners[1].jurisdiction[0] = '\0';
    CHECK_OK(sr_gate_criteria_eval(&c, "multi-jurisdiction", cr, SR_GATE_MAX_CRITERIA, &n, &err), &err);
    CHECK_EQ_INT(cr[0].result, SR_GATE_PARTIAL);
    CHECK_OK(sr_gate_criteria_eval(&c, "HIPAA|GDPR|PCI", cr, SR_GATE_MAX_CRITERIA, &n, &err), &err);
    CHECK_EQ_INT(cr[0].result, SR_GATE_MATCH);
    /* one owner: owners>=2 is a miss */
    c.n_owners = 1;
    CHECK_OK(sr_gate_criteria_eval(&c, "owners>=2", cr, SR_GATE_MAX_CRITERIA, &n, &err), &err);
    CHECK_EQ_INT(cr[0].result, SR_GATE_MISS);
    /* errors */
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "owners>=x", cr, SR_GATE_MAX_CRITERIA, &n, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "owners>=0", cr, SR_GATE_MAX_CRITERIA, &n, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "a,,b", cr, SR_GATE_MAX_CRITERIA, &n, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "a,", cr, SR_GATE_MAX_CRITERIA, &n, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "A||B", cr, SR_GATE_MAX_CRITERIA, &n, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "owners<3", cr, SR_GATE_MAX_CRITERIA, &n, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_criteria_eval(&c, "a,b,c", cr, 2, &n, &err), SR_ELIMIT);
}

int main(void)
{
    SR_RUN(test_eip712_vectors);
    SR_RUN(test_sign_recover);
    SR_RUN(test_decide);
    SR_RUN(test_status_json);
    SR_RUN(test_owner_parse);
    SR_RUN(test_config_validate);
    SR_RUN(test_criteria);
    return sr_test_finish();
}

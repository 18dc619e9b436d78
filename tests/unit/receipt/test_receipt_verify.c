/* Receipt verification: a real receipt built in-process (ledger gate with
 * k=2 of 3, simulated TEE quote binding the run key, a KMS certificate
 * signed by a root key made here, an engine result over two CSVs) verifies
 * with all nine checks; every field of the envelope, the statement, the
 * KMS certificate and the payload's outputs is tampered with, one at a
 * time, and the expected named check is the first to fail. */
#include "test.h"
#include "tcb_fixture.h"

#include <stdlib.h>
#include <time.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"
#include "sealroom/dp.h"
#include "sealroom/engine.h"
#include "sealroom/gate.h"
#include "sealroom/json.h"
#include "sealroom/kms.h"
#include "sealroom/kmsstore.h"
#include "sealroom/receipt.h"
#include "sealroom/recipe.h"

typedef struct owner {
    const char *id;
    uint8_t sk[32];
    uint8_t addr[20];
    char addr_s[43];
} owner;

static owner owners[3] = {{.id = "hospital-a"}, {.id = "hospital-b"}, {.id = "bank-c"}};
static uint8_t kms_sk[32], kms_pub[33], other_sk[32], other_pub[33];
static uint8_t app[20];
static char app_s[43];
static char recipe_text[4096], recipe2_text[4096];
static uint8_t compose[32];
static const char *gate_spec = "ledger:gate.db";
static sr_buf sim_root;

/* the good parts */
static uint8_t cvm_sk[32], cvm_pub[33], nonce[32];
static sr_buf quote, event_log;
static char *payload;
static json_t *inputs, *gate_snap, *cert_doc, *cert;
static double eps_spent, delta_spent;
static int64_t created;

static void make_owner(owner *o)
{
    sr_error err;
    CHECK_OK(sr_secp_seckey_generate(o->sk, &err), &err);
    CHECK_OK(sr_eth_address_from_seckey(o->sk, o->addr, &err), &err);
    sr_eth_address_to_string(o->addr, o->addr_s);
}

static void write_recipe(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap,
             "{\n  \"version\": 1,\n  \"consortium\": {\"name\": \"Cardio-renal cohort\", \"app_id\": \"%s\",\n"
             "    \"owners\": [{\"id\": \"hospital-a\", \"address\": \"%s\"}, {\"id\": \"hospital-b\", \"address\": \"%s\"},\n"
             "                {\"id\": \"bank-c\", \"address\": \"%s\"}]},\n"
             "  \"datasets\": {\n"
             "    \"hospital-a\": {\"schema\": [{\"name\": \"patient_id\", \"type\": \"string\"}, {\"name\": \"age\", \"type\": \"int\"}, {\"name\": \"egfr\", \"type\": \"float\"}]},\n"
             "    \"hospital-b\": {\"schema\": [{\"name\": \"patient_id\", \"type\": \"string\"}, {\"name\": \"age\", \"type\": \"int\"}, {\"name\": \"egfr\", \"type\": \"float\"}]}},\n"
             "  \"analysis\": {\"sources\": {\"union\": [\"hospital-a\", \"hospital-b\"]}},\n"
             "  \"outputs\": [\n"
             "    {\"name\": \"patients\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5}},\n"
             "    {\"name\": \"mean_egfr\", \"type\": \"mean\", \"column\": \"egfr\",\n"
             "     \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5, \"clamp\": [0, 150]}}],\n"
             "  \"privacy\": {\"epsilon\": 1.0, \"person_id\": \"patient_id\"},\n"
             "  \"note\": \"%s\"\n}\n",
             app_s, owners[0].addr_s, owners[1].addr_s, owners[2].addr_s, tag);
}

static void make_gate(void)
{
    sr_error err;
    sr_gate_config cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.name, sizeof cfg.name, "Cardio-renal cohort");
    for (int i = 0; i < 3; i++) {
        snprintf(cfg.owners[i].id, sizeof cfg.owners[i].id, "%s", owners[i].id);
        memcpy(cfg.owners[i].addr, owners[i].addr, 20);
    }
    cfg.n_owners = 3;
    cfg.threshold = 2;
    memcpy(cfg.kms_pubkey, kms_pub, 33);
    cfg.kms_pubkey_len = 33;
    uint8_t deployer[32];
    CHECK_OK(sr_secp_seckey_generate(deployer, &err), &err);
    CHECK_OK(sr_gate_create(gate_spec, &cfg, deployer, app, NULL, 0, &err), &err);
    sr_eth_address_to_string(app, app_s);
}

/* The gate snapshot object the KMS writes (kms.c gate_snapshot_json). */
static json_t *snapshot_json(const sr_gate_status *st, int add_c)
{
    json_t *ap = json_array();
    for (size_t i = 0; i < st->config.n_owners; i++) {
        if (!st->approved[i] && !(add_c && i == 2))
            continue;
        char a[43];
        sr_eth_address_to_string(st->config.owners[i].addr, a);
        json_array_append_new(ap, json_pack("{s:s,s:s}", "id", st->config.owners[i].id, "address", a));
    }
    return json_pack("{s:s,s:I,s:s,s:I,s:s,s:I,s:I,s:o}", "backend", "ledger", "chain_id",
                     (json_int_t)st->domain.chain_id, "app", app_s, "snapshot", (json_int_t)st->snapshot, "pos_unit",
                     st->pos_unit, "threshold", (json_int_t)st->config.threshold, "owners",
                     (json_int_t)st->config.n_owners, "approvers", ap);
}

static json_t *read_snapshot(int add_c)
{
    sr_error err;
    sr_gate *g = NULL;
    sr_gate_status *st = calloc(1, sizeof *st);
    CHECK_OK(sr_gate_open(gate_spec, &g, &err), &err);
    const char *req[] = {"hospital-a", "hospital-b"};
    CHECK_OK(sr_gate_status_get(g, compose, req, 2, st, &err), &err);
    json_t *j = snapshot_json(st, add_c);
    free(st);
    sr_gate_close(g);
    return j;
}

/* Signs a certificate payload document with sk (the KMS root's format). */
static json_t *sign_cert(const json_t *doc, const uint8_t *sk)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    uint8_t d[32], sig[65];
    sr_sha256_ctx *h = sr_sha256_new();
    sr_sha256_update(h, SR_KMS_CERT_LABEL, sizeof SR_KMS_CERT_LABEL - 1);
    sr_sha256_update(h, text, strlen(text));
    sr_sha256_final(h, d);
    sr_error err;
    CHECK_OK(sr_secp_sign_recoverable(sk, d, sig, &err), &err);
    char sh[2 + 130 + 1] = "0x";
    sr_hex_encode(sig, 65, sh + 2);
    json_t *c = json_pack("{s:s,s:s}", "payload", text, "signature", sh);
    free(text);
    return c;
}

static void run_engine(void)
{
    sr_error err;
    const char *a = "patient_id,age,egfr\nA1,61,55.5\nA2,47,90.25\nA3,70,44\n";
    const char *b = "patient_id,age,egfr\nB1,52,60\nB2,39,101.5\n";
    CHECK_OK(sr_file_write_atomic("a.csv", a, strlen(a), 0644, &err), &err);
    CHECK_OK(sr_file_write_atomic("b.csv", b, strlen(b), 0644, &err), &err);
    sr_recipe *r = NULL;
    CHECK_OK(sr_recipe_parse(recipe_text, strlen(recipe_text), &r, &err), &err);
    if (r == NULL)
        return;
    sr_engine_dataset ds[2];
    for (size_t i = 0; i < 2; i++) {
        ds[i].owner = sr_recipe_dataset_owner(r, i);
        ds[i].schema = sr_recipe_dataset_schema(r, i);
    }
    sr_plan *plan = NULL;
    CHECK_OK(sr_plan_new(sr_recipe_json(r), ds, 2, &plan, &err), &err);
    sr_engine_csv *ca = NULL, *cb = NULL;
    CHECK_OK(sr_engine_csv_open("a.csv", sr_recipe_schema_for(r, "hospital-a"), 16, &ca, &err), &err);
    CHECK_OK(sr_engine_csv_open("b.csv", sr_recipe_schema_for(r, "hospital-b"), 16, &cb, &err), &err);
    sr_engine_source src[2];
    sr_engine_csv_source(ca, "hospital-a", &src[0]);
    sr_engine_csv_source(cb, "hospital-b", &src[1]);
    sr_rng *rng = sr_rng_new_seed_u64(7, &err);
    sr_engine_opts o = {.rng = rng, .mode = "signed by an attested analysis VM", .threads = 1, .compose_hash = compose};
    json_t *res = NULL;
    CHECK_OK(sr_engine_run(plan, src, 2, &o, &res, &err), &err);
    double be, bd;
    sr_plan_privacy(plan, &be, &bd, &eps_spent, &delta_spent);
    payload = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(res);
    sr_rng_free(rng);
    sr_engine_csv_close(ca);
    sr_engine_csv_close(cb);
    sr_plan_free(plan);
    sr_recipe_free(r);
}

static void make_quote(const uint8_t *bind_pub, const uint8_t *bind_nonce, const uint8_t *measured, sr_buf *q,
                       sr_buf *log)
{
    sr_error err;
    sr_tee *t = NULL;
    CHECK_OK(sr_tee_open_sim("sim", &t, &err), &err);
    if (t == NULL)
        return;
    CHECK_OK(sr_tee_extend_rtmr3(t, SR_EVENT_COMPOSE_HASH, measured, 32, &err), &err);
    uint8_t rd[64];
    sr_kms_report_data(compose, bind_pub, bind_nonce, rd);
    CHECK_OK(sr_tee_quote(t, rd, q, &err), &err);
    CHECK_OK(sr_tee_event_log(t, log, &err), &err);
    CHECK_OK(sr_buf_append_u8(log, 0, &err), &err);
    sr_tee_close(t);
}

static json_t *cert_payload_doc(void)
{
    char kp[67], cp[67], ch[67] = "0x";
    sr_hex_encode(kms_pub, 33, kp);
    sr_hex_encode(cvm_pub, 33, cp);
    sr_hex_encode(compose, 32, ch + 2);
    json_t *ds = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(inputs, i, e)
    {
        char id[128];
        snprintf(id, sizeof id, "%s/%s", json_string_value(json_object_get(e, "owner_id")),
                 json_string_value(json_object_get(e, "archive_id")));
        json_array_append_new(ds, json_string(id));
    }
    int64_t micro = 0;
    sr_error err;
    CHECK_OK(sr_kms_eps_to_micro(1.0, 1, &micro, &err), &err);
    return json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:o,s:I,s:I}", "version", 1, "kms_pubkey", kp, "app_id", app_s,
                     "compose_hash", ch, "client_pubkey", cp, "tee", "simulated", "tcb_status", "NotEvaluated",
                     "gate", gate_snap, "datasets", ds,
                     "epsilon_micro", (json_int_t)micro, "issued_at", (json_int_t)(created - 5));
}

static void setup(void)
{
    sr_error err;
    /* the scratch folder persists between runs */
    CHECK(system("rm -rf sim gate.db gate.db-wal gate.db-shm gate.db-journal a.csv b.csv") == 0);
    for (int i = 0; i < 3; i++)
        make_owner(&owners[i]);
    CHECK_OK(sr_secp_seckey_generate(kms_sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(kms_sk, kms_pub, &err), &err);
    CHECK_OK(sr_secp_seckey_generate(other_sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(other_sk, other_pub, &err), &err);
    make_gate();
    write_recipe(recipe_text, sizeof recipe_text, "v1");
    write_recipe(recipe2_text, sizeof recipe2_text, "v2");
    sr_sha256(recipe_text, strlen(recipe_text), compose);
    sr_gate *g = NULL;
    CHECK_OK(sr_gate_open(gate_spec, &g, &err), &err);
    CHECK_OK(sr_gate_approve(g, compose, owners[0].sk, &err), &err);
    CHECK_OK(sr_gate_approve(g, compose, owners[1].sk, &err), &err);
    sr_gate_close(g);
    gate_snap = read_snapshot(0);

    CHECK_OK(sr_tee_sim_init("sim", NULL, 0, &err), &err);
    sr_buf_init(&sim_root);
    CHECK_OK(sr_tee_sim_root_pem("sim", &sim_root, &err), &err);
    CHECK_OK(sr_secp_seckey_generate(cvm_sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(cvm_sk, cvm_pub, &err), &err);
    for (int i = 0; i < 32; i++)
        nonce[i] = (uint8_t)(i * 7 + 1);
    sr_buf_init(&quote);
    sr_buf_init(&event_log);
    make_quote(cvm_pub, nonce, compose, &quote, &event_log);

    run_engine();
    created = (int64_t)time(NULL);
    inputs = json_pack("[{s:s,s:s,s:s},{s:s,s:s,s:s}]", "owner_id", "hospital-a", "archive_id",
                       "00112233445566778899aabbccddeeff", "manifest_sha256",
                       "1111111111111111111111111111111111111111111111111111111111111111", "owner_id", "hospital-b",
                       "archive_id", "ffeeddccbbaa99887766554433221100", "manifest_sha256",
                       "2222222222222222222222222222222222222222222222222222222222222222");
    cert_doc = cert_payload_doc();
    cert = sign_cert(cert_doc, kms_sk);
}

static sr_receipt_parts good_parts(void)
{
    sr_receipt_parts p = {
        .run_id = "r-test-1",
        .payload = payload,
        .recipe = (const uint8_t *)recipe_text,
        .recipe_len = strlen(recipe_text),
        .compose_hash = compose,
        .cvm_sk = cvm_sk,
        .cvm_pub = cvm_pub,
        .quote = quote.data,
        .quote_len = quote.len,
        .event_log = (const char *)event_log.data,
        .kms_nonce = nonce,
        .kms_certificate = cert,
        .inputs = inputs,
        .epsilon_spent = eps_spent,
        .delta_spent = delta_spent,
        .tee = "simulated",
        .gpu_evidence = NULL,
        .created = created,
    };
    return p;
}

static json_t *build(const sr_receipt_parts *p)
{
    sr_error err;
    json_t *r = NULL;
    CHECK_OK(sr_receipt_build(p, &r, &err), &err);
    return r;
}

static sr_receipt_policy sim_policy(void)
{
    static const uint8_t *roots[1];
    static size_t lens[1];
    roots[0] = sim_root.data;
    lens[0] = sim_root.len;
    sr_receipt_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.roots = roots;
    pol.root_lens = lens;
    pol.nroots = 1;
    pol.allow_simulated = 1;
    pol.kms_root_pub = kms_pub;
    return pol;
}

/* Name of the first failed check, or "" when valid. */
static const char *first_failure(const sr_receipt_report *rep)
{
    for (size_t i = 0; i < rep->nchecks; i++)
        if (rep->checks[i].ok == 0)
            return rep->checks[i].name;
    return "";
}

static const char *verify_first(const json_t *r, const sr_receipt_policy *pol, sr_receipt_report *rep)
{
    sr_error err;
    sr_error_clear(&err);
    int rc = sr_receipt_verify(r, pol, rep, &err);
    const char *f = first_failure(rep);
    CHECK_MSG((rc == SR_OK) == (f[0] == '\0') && (rc == SR_OK) == (rep->valid == 1), "rc %d valid %d first %s", rc,
              rep->valid, f);
    if (rc != SR_OK)
        CHECK_CONTAINS(err.msg, f);
    return f;
}

static void test_valid(void)
{
    sr_receipt_parts p = good_parts();
    json_t *r = build(&p);
    sr_receipt_policy pol = sim_policy();
    sr_receipt_report rep;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "");
    static const char *names[] = {"format", "payload-hash", "payload-signature", "quote-chain", "report-data",
                                  "rtmr3-replay", "kms-certificate", "gate-approvals", "output-contract"};
    CHECK_EQ_INT(rep.nchecks, 9);
    for (size_t i = 0; i < 9 && i < rep.nchecks; i++) {
        CHECK_EQ_STR(rep.checks[i].name, names[i]);
        CHECK_MSG(rep.checks[i].ok == 1, "%s: %s", rep.checks[i].name, rep.checks[i].detail);
    }
    CHECK_EQ_STR(rep.tee, "simulated");
    CHECK_CONTAINS(rep.checks[3].detail, "SIMULATED TEE");
    CHECK_CONTAINS(rep.checks[7].detail, "NOT re-read");
    CHECK_CONTAINS(rep.checks[6].detail, "TCB seen by the KMS: NotEvaluated");

    /* the report as JSON */
    json_t *j = sr_receipt_report_json(&rep);
    CHECK(json_is_true(json_object_get(j, "valid")));
    CHECK_EQ_STR(json_string_value(json_object_get(j, "tee")), "simulated");
    CHECK_EQ_INT(json_array_size(json_object_get(j, "checks")), 9);
    CHECK_EQ_STR(json_string_value(json_object_get(json_array_get(json_object_get(j, "checks"), 8), "name")),
                 "output-contract");
    json_decref(j);

    /* a JSON round trip (what a file does) keeps it valid */
    char *text = json_dumps(r, JSON_INDENT(1));
    json_t *r2 = json_loads(text, 0, NULL);
    CHECK_EQ_STR(verify_first(r2, &pol, &rep), "");
    free(text);
    json_decref(r2);

    /* with --gate: approvals re-read, KMS root read from the gate */
    sr_receipt_policy pg = pol;
    pg.gate_spec = gate_spec;
    pg.kms_root_pub = NULL;
    CHECK_EQ_STR(verify_first(r, &pg, &rep), "");
    CHECK_CONTAINS(rep.checks[7].detail, "re-read from the ledger: 2 approvals");
    CHECK_CONTAINS(rep.checks[6].detail, "from the gate");
    json_decref(r);
}

static void test_policies(void)
{
    sr_receipt_parts p = good_parts();
    json_t *r = build(&p);
    sr_receipt_report rep;
    sr_receipt_policy pol = sim_policy();
    /* without --allow-simulated */
    pol.allow_simulated = 0;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "quote-chain");
    /* only the Intel root (the default) */
    pol = sim_policy();
    pol.roots = NULL;
    pol.root_lens = NULL;
    pol.nroots = 0;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "quote-chain");
    CHECK_EQ_INT(rep.nchecks, 9);
    /* no KMS root at all */
    pol = sim_policy();
    pol.kms_root_pub = NULL;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "kms-certificate");
    CHECK_CONTAINS(rep.checks[6].detail, "--kms-root");
    /* another KMS root */
    pol.kms_root_pub = other_pub;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "kms-certificate");
    /* --kms-root that disagrees with the gate */
    pol.gate_spec = gate_spec;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "kms-certificate");
    /* a gate that does not exist */
    pol = sim_policy();
    pol.gate_spec = "ledger:missing.db";
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "kms-certificate");
    CHECK(rep.checks[7].ok == 0);
    json_decref(r);
}

/* ---- tampering ---------------------------------------------------------- */

static void set_str(json_t *o, const char *k, const char *v) { json_object_set_new(o, k, json_string(v)); }

static void flip_hex(json_t *o, const char *k, size_t pos)
{
    char *s = strdup(json_string_value(json_object_get(o, k)));
    size_t n = strlen(s);
    if (pos >= n)
        pos = n - 1;
    s[pos] = s[pos] == '0' ? '1' : '0';
    set_str(o, k, s);
    free(s);
}

/* statement edit helpers: parse, edit, dump (optionally re-sign with key) */
static json_t *st_get(json_t *r) { return json_loads(json_string_value(json_object_get(r, "statement")), 0, NULL); }

static void st_put(json_t *r, json_t *st, const uint8_t *resign_sk)
{
    char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    set_str(r, "statement", text);
    if (resign_sk) {
        uint8_t h[32], sig[65];
        sr_sha256_ctx *c = sr_sha256_new();
        sr_sha256_update(c, SR_RECEIPT_SIG_LABEL, sizeof SR_RECEIPT_SIG_LABEL - 1);
        sr_sha256_update(c, text, strlen(text));
        sr_sha256_final(c, h);
        sr_error err;
        CHECK_OK(sr_secp_sign_recoverable(resign_sk, h, sig, &err), &err);
        char sh[133] = "0x";
        sr_hex_encode(sig, 65, sh + 2);
        set_str(r, "signature", sh);
    }
    free(text);
    json_decref(st);
}

#define ST_EDIT(name, resign, stmt)                                                                                  \
    static void name(json_t *r)                                                                                      \
    {                                                                                                                \
        json_t *st = st_get(r);                                                                                      \
        stmt;                                                                                                        \
        st_put(r, st, resign);                                                                                       \
    }

/* envelope, raw */
static void t_format(json_t *r) { set_str(r, "format", "sealroom-receipt-v0"); }
static void t_version(json_t *r) { json_object_set_new(r, "version", json_integer(2)); }
static void t_extra(json_t *r) { json_object_set_new(r, "note", json_string("x")); }
static void t_statement_garbage(json_t *r) { set_str(r, "statement", "{not json"); }
static void t_statement_missing(json_t *r) { json_object_del(r, "statement"); }
static void t_sig_r(json_t *r) { flip_hex(r, "signature", 10); }
static void t_sig_s(json_t *r) { flip_hex(r, "signature", 2 + 64 + 10); }
static void t_sig_v(json_t *r)
{
    char *s = strdup(json_string_value(json_object_get(r, "signature")));
    size_t n = strlen(s);
    s[n - 1] = s[n - 1] == 'b' ? 'c' : 'b'; /* 27 <-> 28 */
    set_str(r, "signature", s);
    free(s);
}
static void t_payload_value(json_t *r)
{
    json_t *p = json_loads(json_string_value(json_object_get(r, "payload")), 0, NULL);
    json_t *o = json_object_get(json_object_get(p, "outputs"), "patients");
    json_object_set_new(o, "value", json_real(json_number_value(json_object_get(o, "value")) + 1));
    char *t = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    set_str(r, "payload", t);
    free(t);
    json_decref(p);
}
static void t_payload_space(json_t *r)
{
    char t[1 << 14];
    snprintf(t, sizeof t, "%s ", json_string_value(json_object_get(r, "payload")));
    set_str(r, "payload", t);
}
static void t_cvm_pubkey(json_t *r)
{
    char h[67];
    sr_hex_encode(other_pub, 33, h);
    set_str(r, "cvm_pubkey", h);
}
static void t_quote_raw(json_t *r) { flip_hex(r, "quote", 2 * 200); }
static void t_event_log_line(json_t *r)
{
    const char *s = json_string_value(json_object_get(r, "event_log"));
    sr_buf b;
    sr_buf_init(&b);
    sr_error err;
    CHECK_OK(sr_buf_append_str(&b, s, &err), &err);
    uint8_t pl[32] = {1};
    CHECK_OK(sr_eventlog_append(&b, "extra", pl, 32, &err), &err);
    CHECK_OK(sr_buf_append_u8(&b, 0, &err), &err);
    set_str(r, "event_log", (const char *)b.data);
    sr_buf_free(&b);
}
static void t_event_log_digest(json_t *r)
{
    /* change one hex digit of the first line's digest */
    char *s = strdup(json_string_value(json_object_get(r, "event_log")));
    char *d = strstr(s, "\"digest\"");
    if (d != NULL) {
        d = strchr(d + 8, '"');
        if (d != NULL)
            d[3] = d[3] == '0' ? '1' : '0';
    }
    set_str(r, "event_log", s);
    free(s);
}
static void t_event_log_empty(json_t *r) { set_str(r, "event_log", ""); }
static void t_nonce(json_t *r) { flip_hex(r, "kms_nonce", 5); }
static void t_cert_payload_raw(json_t *r)
{
    json_t *c = json_object_get(r, "kms_certificate");
    char t[1 << 14];
    snprintf(t, sizeof t, "%s ", json_string_value(json_object_get(c, "payload")));
    set_str(c, "payload", t);
}
static void t_cert_sig(json_t *r) { flip_hex(json_object_get(r, "kms_certificate"), "signature", 20); }
static void t_cert_missing(json_t *r) { json_object_del(r, "kms_certificate"); }
static void t_recipe_raw(json_t *r)
{
    char *b64 = sr_base64_encode((const uint8_t *)recipe2_text, strlen(recipe2_text));
    set_str(r, "recipe", b64);
    free(b64);
}
static void t_recipe_not_b64(json_t *r) { set_str(r, "recipe", "%%%"); }
static void t_tee(json_t *r) { set_str(r, "tee", "tdx"); }
static void t_tee_bad(json_t *r) { set_str(r, "tee", "sgx"); }
static void t_gpu_str(json_t *r) { set_str(r, "gpu_evidence", "nvidia"); }
static void t_gpu_unbound(json_t *r)
{
    json_object_set_new(r, "gpu_evidence",
                        json_pack("{s:s,s:s,s:s,s:s,s:s}", "vendor", "nvidia", "arch", "HOPPER", "nonce",
                                  "0000000000000000000000000000000000000000000000000000000000000000", "report",
                                  "AAAA", "cert_chain", "AAAA"));
}

/* statement, raw (not re-signed) */
ST_EDIT(s_compose, NULL, set_str(st, "compose_hash", "0x1111111111111111111111111111111111111111111111111111111111111111"))
ST_EDIT(s_created, NULL, json_object_set_new(st, "created", json_integer(created + 1)))
ST_EDIT(s_cvm_pubkey, NULL, set_str(st, "cvm_pubkey", "02aa"))
ST_EDIT(s_dp, NULL, json_object_set_new(json_object_get(st, "dp"), "epsilon_spent", json_real(0.25)))
ST_EDIT(s_dp_delta, NULL, json_object_set_new(json_object_get(st, "dp"), "delta_spent", json_real(1e-6)))
ST_EDIT(s_gate, NULL, json_object_set_new(json_object_get(st, "gate"), "snapshot", json_integer(1)))
ST_EDIT(s_inputs, NULL, set_str(json_array_get(json_object_get(st, "inputs"), 0), "manifest_sha256",
                                "3333333333333333333333333333333333333333333333333333333333333333"))
ST_EDIT(s_cert_sha, NULL, set_str(st, "kms_certificate_sha256",
                                  "4444444444444444444444444444444444444444444444444444444444444444"))
ST_EDIT(s_payload_sha, NULL, set_str(st, "payload_sha256",
                                     "5555555555555555555555555555555555555555555555555555555555555555"))
ST_EDIT(s_quote_sha, NULL, set_str(st, "quote_sha256",
                                   "6666666666666666666666666666666666666666666666666666666666666666"))
ST_EDIT(s_run_id, NULL, set_str(st, "run_id", "r-other"))
ST_EDIT(s_tee, NULL, set_str(st, "tee", "tdx"))
ST_EDIT(s_version, NULL, json_object_set_new(st, "version", json_integer(2)))
ST_EDIT(s_extra, NULL, json_object_set_new(st, "extra", json_true()))
ST_EDIT(s_missing, NULL, json_object_del(st, "inputs"))

/* statement, re-signed with the run key */
ST_EDIT(rs_dp, cvm_sk, json_object_set_new(json_object_get(st, "dp"), "epsilon_spent", json_real(0.25)))
ST_EDIT(rs_gate_approvers, cvm_sk, json_array_remove(json_object_get(json_object_get(st, "gate"), "approvers"), 1))
ST_EDIT(rs_gate_snapshot, cvm_sk, json_object_set_new(json_object_get(st, "gate"), "snapshot", json_integer(99)))
ST_EDIT(rs_inputs, cvm_sk, set_str(json_array_get(json_object_get(st, "inputs"), 1), "archive_id",
                                   "0123456789abcdef0123456789abcdef"))
ST_EDIT(rs_inputs_drop, cvm_sk, json_array_remove(json_object_get(st, "inputs"), 1))
ST_EDIT(rs_inputs_dup, cvm_sk, json_array_set(json_object_get(st, "inputs"), 1, json_array_get(json_object_get(st, "inputs"), 0)))
ST_EDIT(rs_created, cvm_sk, json_object_set_new(st, "created", json_integer(created - 3600)))

/* another key replaces the run key and signs the statement */
static void t_swap_key(json_t *r)
{
    char h[67];
    sr_hex_encode(other_pub, 33, h);
    set_str(r, "cvm_pubkey", h);
    json_t *st = st_get(r);
    set_str(st, "cvm_pubkey", h);
    st_put(r, st, other_sk);
}

/* certificate payload fields, re-signed by the KMS root (the receipt is rebuilt) */
static json_t *cert_variant; /* set by the parts mutators below */
static void cert_resign(json_t *doc) { cert_variant = sign_cert(doc, kms_sk); json_decref(doc); }
#define CERT_EDIT(name, stmt)                                                                                        \
    static void name(sr_receipt_parts *p)                                                                            \
    {                                                                                                                \
        json_t *doc = json_deep_copy(cert_doc);                                                                      \
        stmt;                                                                                                        \
        cert_resign(doc);                                                                                            \
        p->kms_certificate = cert_variant;                                                                           \
    }
CERT_EDIT(c_app, set_str(doc, "app_id", owners[0].addr_s))
CERT_EDIT(c_client, { char h[67]; sr_hex_encode(other_pub, 33, h); set_str(doc, "client_pubkey", h); })
CERT_EDIT(c_compose, set_str(doc, "compose_hash", "0x7777777777777777777777777777777777777777777777777777777777777777"))
CERT_EDIT(c_datasets, json_array_remove(json_object_get(doc, "datasets"), 0))
CERT_EDIT(c_datasets_other, json_array_set_new(json_object_get(doc, "datasets"), 0,
                                               json_string("hospital-a/99999999999999999999999999999999")))
CERT_EDIT(c_eps, json_object_set_new(doc, "epsilon_micro", json_integer(1)))
CERT_EDIT(c_gate, json_array_remove(json_object_get(json_object_get(doc, "gate"), "approvers"), 0))
CERT_EDIT(c_gate_chain, json_object_set_new(json_object_get(doc, "gate"), "chain_id", json_integer(1)))
CERT_EDIT(c_issued, json_object_set_new(doc, "issued_at", json_integer(created + 3600)))
CERT_EDIT(c_kms_pubkey, { char h[67]; sr_hex_encode(other_pub, 33, h); set_str(doc, "kms_pubkey", h); })
CERT_EDIT(c_tee, set_str(doc, "tee", "valid"))
CERT_EDIT(c_tcb_type, json_object_set_new(doc, "tcb_status", json_integer(1)))
CERT_EDIT(c_tcb_long, set_str(doc, "tcb_status", "UpToDateUpToDateUpToDateUpToDateUpToDateUpToDateUpToDate"))
CERT_EDIT(c_version, json_object_set_new(doc, "version", json_integer(2)))
static void c_other_signer(sr_receipt_parts *p)
{
    cert_variant = sign_cert(cert_doc, other_sk);
    p->kms_certificate = cert_variant;
}
static void c_payload_unsigned(sr_receipt_parts *p)
{
    json_t *c = json_deep_copy(cert);
    json_t *doc = json_deep_copy(cert_doc);
    json_object_set_new(doc, "epsilon_micro", json_integer(5));
    char *t = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    set_str(c, "payload", t);
    free(t);
    json_decref(doc);
    cert_variant = c;
    p->kms_certificate = c;
}

static void c_gate_unsigned(sr_receipt_parts *p)
{
    json_t *c = json_deep_copy(cert);
    json_t *doc = json_deep_copy(cert_doc);
    json_array_remove(json_object_get(json_object_get(doc, "gate"), "approvers"), 0);
    char *t = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    set_str(c, "payload", t);
    free(t);
    json_decref(doc);
    cert_variant = c;
    p->kms_certificate = c;
}

/* payload (the result), rebuilt and re-signed by the run key */
static char *payload_variant;
#define PAYLOAD_EDIT(name, stmt)                                                                                     \
    static void name(sr_receipt_parts *p)                                                                            \
    {                                                                                                                \
        json_t *doc = json_loads(payload, 0, NULL);                                                                  \
        json_t *outs = json_object_get(doc, "outputs");                                                              \
        (void)outs;                                                                                                  \
        stmt;                                                                                                        \
        payload_variant = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);                                          \
        json_decref(doc);                                                                                            \
        p->payload = payload_variant;                                                                                \
    }
PAYLOAD_EDIT(p_remove, json_object_del(outs, "mean_egfr"))
PAYLOAD_EDIT(p_extra, json_object_set_new(outs, "secret", json_pack("{s:s,s:s,s:f}", "type", "mean", "privacy",
                                                                    "none", "value", 42.0)))
PAYLOAD_EDIT(p_type, set_str(json_object_get(outs, "patients"), "type", "sum"))
PAYLOAD_EDIT(p_privacy, json_object_set_new(json_object_get(outs, "patients"), "privacy", json_string("none")))
PAYLOAD_EDIT(p_compose, set_str(doc, "compose_hash", "8888888888888888888888888888888888888888888888888888888888888888"))
PAYLOAD_EDIT(p_format, set_str(doc, "format", "sealroom-result-v0"))
PAYLOAD_EDIT(p_eps, json_object_set_new(json_object_get(doc, "privacy"), "epsilon_spent", json_real(0.5)))
PAYLOAD_EDIT(p_not_json, { json_decref(doc); doc = json_string("not an object"); })

/* other parts, rebuilt */
static sr_buf quote_variant, log_variant;
static void q_body(sr_receipt_parts *p)
{
    sr_buf_reset(&quote_variant);
    sr_error err;
    CHECK_OK(sr_buf_append(&quote_variant, quote.data, quote.len, &err), &err);
    quote_variant.data[200] ^= 0x01; /* MRTD, inside the signed body */
    p->quote = quote_variant.data;
    p->quote_len = quote_variant.len;
}
static void q_reportdata(sr_receipt_parts *p)
{
    uint8_t n2[32] = {9};
    sr_buf_reset(&quote_variant);
    sr_buf_reset(&log_variant);
    make_quote(cvm_pub, n2, compose, &quote_variant, &log_variant);
    p->quote = quote_variant.data;
    p->quote_len = quote_variant.len;
    p->event_log = (const char *)log_variant.data;
}
static void q_measured_other(sr_receipt_parts *p)
{
    uint8_t other[32];
    sr_sha256(recipe2_text, strlen(recipe2_text), other);
    sr_buf_reset(&quote_variant);
    sr_buf_reset(&log_variant);
    make_quote(cvm_pub, nonce, other, &quote_variant, &log_variant);
    p->quote = quote_variant.data;
    p->quote_len = quote_variant.len;
    p->event_log = (const char *)log_variant.data;
}
static void q_log_other_vm(sr_receipt_parts *p)
{
    /* an event log from another (correct-looking) VM session */
    sr_buf_reset(&quote_variant);
    sr_buf_reset(&log_variant);
    make_quote(cvm_pub, nonce, compose, &quote_variant, &log_variant);
    sr_error err;
    log_variant.len--; /* drop the NUL */
    uint8_t pl[4] = {1, 2, 3, 4};
    CHECK_OK(sr_eventlog_append(&log_variant, "extra", pl, 4, &err), &err);
    CHECK_OK(sr_buf_append_u8(&log_variant, 0, &err), &err);
    p->event_log = (const char *)log_variant.data;
}
static void r_tee_tdx(sr_receipt_parts *p) { p->tee = "tdx"; }
static void r_recipe_and_hash(sr_receipt_parts *p)
{
    static uint8_t h2[32];
    sr_sha256(recipe2_text, strlen(recipe2_text), h2);
    p->recipe = (const uint8_t *)recipe2_text;
    p->recipe_len = strlen(recipe2_text);
    p->compose_hash = h2;
}
static void r_recipe_only(sr_receipt_parts *p)
{
    p->recipe = (const uint8_t *)recipe2_text;
    p->recipe_len = strlen(recipe2_text);
}
static void r_nonce(sr_receipt_parts *p)
{
    static uint8_t n2[32] = {0xaa};
    p->kms_nonce = n2;
}
static void r_delta(sr_receipt_parts *p) { p->delta_spent = 1e-5; }
static void r_eps(sr_receipt_parts *p) { p->epsilon_spent = 2.0; }

typedef struct tamper {
    const char *what;
    void (*raw)(json_t *r);
    void (*parts)(sr_receipt_parts *p);
    const char *expect;
    int with_gate; /* verify with --gate */
} tamper;

static const tamper tampers[] = {
    /* envelope */
    {"format", t_format, NULL, "format", 0},
    {"version", t_version, NULL, "format", 0},
    {"unknown top-level field", t_extra, NULL, "format", 0},
    {"statement not JSON", t_statement_garbage, NULL, "format", 0},
    {"statement missing", t_statement_missing, NULL, "format", 0},
    {"signature r byte", t_sig_r, NULL, "payload-signature", 0},
    {"signature s byte", t_sig_s, NULL, "payload-signature", 0},
    {"signature v", t_sig_v, NULL, "payload-signature", 0},
    {"payload output value", t_payload_value, NULL, "payload-hash", 0},
    {"payload one more byte", t_payload_space, NULL, "payload-hash", 0},
    {"cvm_pubkey", t_cvm_pubkey, NULL, "format", 0},
    {"quote byte (raw)", t_quote_raw, NULL, "format", 0},
    {"event_log extra line", t_event_log_line, NULL, "rtmr3-replay", 0},
    {"event_log digest digit", t_event_log_digest, NULL, "rtmr3-replay", 0},
    {"event_log empty", t_event_log_empty, NULL, "rtmr3-replay", 0},
    {"kms_nonce", t_nonce, NULL, "report-data", 0},
    {"kms_certificate payload (raw)", t_cert_payload_raw, NULL, "format", 0},
    {"kms_certificate signature", t_cert_sig, NULL, "kms-certificate", 0},
    {"kms_certificate missing", t_cert_missing, NULL, "format", 0},
    {"recipe (raw)", t_recipe_raw, NULL, "format", 0},
    {"recipe not base64", t_recipe_not_b64, NULL, "format", 0},
    {"tee", t_tee, NULL, "format", 0},
    {"tee unknown", t_tee_bad, NULL, "format", 0},
    {"gpu_evidence not an object", t_gpu_str, NULL, "format", 0},
    {"gpu_evidence not bound to the quote", t_gpu_unbound, NULL, "report-data", 0},
    /* statement fields, not re-signed */
    {"statement.compose_hash", s_compose, NULL, "format", 0},
    {"statement.created", s_created, NULL, "payload-signature", 0},
    {"statement.cvm_pubkey", s_cvm_pubkey, NULL, "format", 0},
    {"statement.dp.epsilon_spent", s_dp, NULL, "payload-signature", 0},
    {"statement.dp.delta_spent", s_dp_delta, NULL, "payload-signature", 0},
    {"statement.gate", s_gate, NULL, "payload-signature", 0},
    {"statement.inputs", s_inputs, NULL, "payload-signature", 0},
    {"statement.kms_certificate_sha256", s_cert_sha, NULL, "format", 0},
    {"statement.payload_sha256", s_payload_sha, NULL, "payload-hash", 0},
    {"statement.quote_sha256", s_quote_sha, NULL, "format", 0},
    {"statement.run_id", s_run_id, NULL, "payload-signature", 0},
    {"statement.tee", s_tee, NULL, "format", 0},
    {"statement.version", s_version, NULL, "format", 0},
    {"statement unknown field", s_extra, NULL, "format", 0},
    {"statement field missing", s_missing, NULL, "format", 0},
    /* statement fields, re-signed by the run key */
    {"statement.dp re-signed", rs_dp, NULL, "output-contract", 0},
    {"statement.gate.approvers edited, re-signed", rs_gate_approvers, NULL, "kms-certificate", 0},
    {"statement.gate.snapshot re-signed", rs_gate_snapshot, NULL, "kms-certificate", 0},
    {"statement.inputs archive re-signed", rs_inputs, NULL, "kms-certificate", 0},
    {"statement.inputs dropped, re-signed", rs_inputs_drop, NULL, "kms-certificate", 0},
    {"statement.inputs duplicated, re-signed", rs_inputs_dup, NULL, "format", 0},
    {"statement.created before the certificate, re-signed", rs_created, NULL, "kms-certificate", 0},
    {"run key swapped, re-signed by it", t_swap_key, NULL, "report-data", 0},
    /* certificate fields, re-signed by the KMS root */
    {"certificate app_id", NULL, c_app, "kms-certificate", 0},
    {"certificate client_pubkey", NULL, c_client, "kms-certificate", 0},
    {"certificate compose_hash", NULL, c_compose, "kms-certificate", 0},
    {"certificate datasets (one dropped)", NULL, c_datasets, "kms-certificate", 0},
    {"certificate datasets (another archive)", NULL, c_datasets_other, "kms-certificate", 0},
    {"certificate epsilon_micro", NULL, c_eps, "kms-certificate", 0},
    {"certificate gate approvers edited, not re-signed", NULL, c_gate_unsigned, "kms-certificate", 0},
    {"certificate gate approvers below k, re-signed", NULL, c_gate, "gate-approvals", 0},
    {"certificate gate chain_id, re-signed (--gate)", NULL, c_gate_chain, "gate-approvals", 1},
    {"certificate issued_at after created", NULL, c_issued, "kms-certificate", 0},
    {"certificate kms_pubkey", NULL, c_kms_pubkey, "kms-certificate", 0},
    {"certificate tee", NULL, c_tee, "kms-certificate", 0},
    {"certificate tcb_status not a string", NULL, c_tcb_type, "kms-certificate", 0},
    {"certificate tcb_status too long", NULL, c_tcb_long, "kms-certificate", 0},
    {"certificate version", NULL, c_version, "kms-certificate", 0},
    {"certificate signed by another key", NULL, c_other_signer, "kms-certificate", 0},
    {"certificate payload edited, not re-signed", NULL, c_payload_unsigned, "kms-certificate", 0},
    /* payload outputs, re-signed by the run key */
    {"payload output removed", NULL, p_remove, "output-contract", 0},
    {"payload output added", NULL, p_extra, "output-contract", 0},
    {"payload output type", NULL, p_type, "output-contract", 0},
    {"payload output privacy", NULL, p_privacy, "output-contract", 0},
    {"payload compose_hash", NULL, p_compose, "output-contract", 0},
    {"payload format", NULL, p_format, "output-contract", 0},
    {"payload privacy spent", NULL, p_eps, "output-contract", 0},
    {"payload not an object", NULL, p_not_json, "output-contract", 0},
    /* other parts, rebuilt and re-signed */
    {"quote body byte", NULL, q_body, "quote-chain", 0},
    {"quote for another nonce", NULL, q_reportdata, "report-data", 0},
    {"VM measured another recipe", NULL, q_measured_other, "rtmr3-replay", 0},
    {"event log with an unmeasured event", NULL, q_log_other_vm, "rtmr3-replay", 0},
    {"tee tdx on a simulated quote", NULL, r_tee_tdx, "quote-chain", 0},
    {"recipe and compose hash replaced", NULL, r_recipe_and_hash, "report-data", 0},
    {"recipe replaced, compose hash kept", NULL, r_recipe_only, "format", 0},
    {"kms_nonce", NULL, r_nonce, "report-data", 0},
    {"dp delta", NULL, r_delta, "output-contract", 0},
    {"dp epsilon", NULL, r_eps, "output-contract", 0},
};

static void test_tamper(void)
{
    sr_receipt_parts good = good_parts();
    json_t *base = build(&good);
    sr_receipt_policy pol = sim_policy();
    sr_receipt_report rep;
    CHECK_EQ_STR(verify_first(base, &pol, &rep), "");
    sr_buf_init(&quote_variant);
    sr_buf_init(&log_variant);
    size_t n = sizeof tampers / sizeof tampers[0];
    for (size_t i = 0; i < n; i++) {
        const tamper *t = &tampers[i];
        json_t *r = NULL;
        cert_variant = NULL;
        payload_variant = NULL;
        if (t->raw) {
            r = json_deep_copy(base);
            t->raw(r);
        } else {
            sr_receipt_parts p = good_parts();
            t->parts(&p);
            r = build(&p);
        }
        sr_receipt_policy tp = pol;
        if (t->with_gate)
            tp.gate_spec = gate_spec;
        const char *got = r ? verify_first(r, &tp, &rep) : "(build failed)";
        CHECK_MSG(strcmp(got, t->expect) == 0, "tamper \"%s\": first failed check \"%s\", expected \"%s\"", t->what,
                  got, t->expect);
        json_decref(r);
        json_decref(cert_variant);
        free(payload_variant);
    }
    sr_buf_free(&quote_variant);
    sr_buf_free(&log_variant);
    /* every top-level, statement and certificate field was covered */
    static const char *const fields[] = {"format", "version", "statement", "signature", "payload", "cvm_pubkey",
                                         "quote", "event_log", "kms_nonce", "kms_certificate", "recipe", "tee",
                                         "gpu_evidence", "statement.compose_hash", "statement.created",
                                         "statement.cvm_pubkey", "statement.dp", "statement.gate", "statement.inputs",
                                         "statement.kms_certificate_sha256", "statement.payload_sha256",
                                         "statement.quote_sha256", "statement.run_id", "statement.tee",
                                         "statement.version", "certificate app_id", "certificate client_pubkey",
                                         "certificate compose_hash", "certificate datasets", "certificate epsilon_micro",
                                         "certificate gate", "certificate issued_at", "certificate kms_pubkey",
                                         "certificate tee", "certificate version", "payload output"};
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++)
            seen = strncmp(tampers[i].what, fields[f], strlen(fields[f])) == 0;
        CHECK_MSG(seen, "no tamper case for %s", fields[f]);
    }
    json_t *keys = json_object_get(base, "format") ? base : NULL;
    CHECK_EQ_INT(json_object_size(keys), 13);
    json_decref(base);
}

/* --gate: approvals valid at the snapshot survive a later revocation; a
 * snapshot claiming an owner who never approved fails. */
static void test_gate_reread(void)
{
    sr_error err;
    sr_receipt_parts p = good_parts();
    json_t *r = build(&p);
    sr_receipt_policy pol = sim_policy();
    pol.gate_spec = gate_spec;
    sr_receipt_report rep;

    /* a snapshot that claims bank-c approved (signed by the KMS root, so only the re-read catches it) */
    json_t *snap_c = read_snapshot(1);
    json_t *doc = json_deep_copy(cert_doc);
    json_object_set(doc, "gate", snap_c);
    json_t *cert_c = sign_cert(doc, kms_sk);
    json_decref(doc);
    sr_receipt_parts pc = good_parts();
    pc.kms_certificate = cert_c;
    json_t *rc_ = build(&pc);
    /* the statement's gate comes from the certificate */
    sr_receipt_policy nog = sim_policy();
    CHECK_EQ_STR(verify_first(rc_, &nog, &rep), "");
    CHECK_EQ_STR(verify_first(rc_, &pol, &rep), "gate-approvals");
    CHECK_CONTAINS(rep.checks[7].detail, "bank-c (");
    CHECK_CONTAINS(rep.checks[7].detail, "did not approve");

    /* a snapshot position beyond the ledger */
    json_t *snap_far = json_deep_copy(gate_snap);
    json_object_set_new(snap_far, "snapshot", json_integer(1000));
    doc = json_deep_copy(cert_doc);
    json_object_set_new(doc, "gate", snap_far);
    json_t *cert_far = sign_cert(doc, kms_sk);
    json_decref(doc);
    pc.kms_certificate = cert_far;
    json_t *r_far = build(&pc);
    CHECK_EQ_STR(verify_first(r_far, &pol, &rep), "gate-approvals");

    /* a snapshot that lies about the threshold (1 of 3) */
    json_t *snap_k = json_deep_copy(gate_snap);
    json_object_set_new(snap_k, "threshold", json_integer(1));
    doc = json_deep_copy(cert_doc);
    json_object_set_new(doc, "gate", snap_k);
    json_t *cert_k = sign_cert(doc, kms_sk);
    json_decref(doc);
    pc.kms_certificate = cert_k;
    json_t *r_k = build(&pc);
    CHECK_EQ_STR(verify_first(r_k, &pol, &rep), "gate-approvals");

    /* a snapshot that lies about the number of owners */
    json_t *snap_n = json_deep_copy(gate_snap);
    json_object_set_new(snap_n, "owners", json_integer(4));
    doc = json_deep_copy(cert_doc);
    json_object_set_new(doc, "gate", snap_n);
    json_t *cert_n = sign_cert(doc, kms_sk);
    json_decref(doc);
    pc.kms_certificate = cert_n;
    json_t *r_n = build(&pc);
    CHECK_EQ_STR(verify_first(r_n, &nog, &rep), "");
    CHECK_EQ_STR(verify_first(r_n, &pol, &rep), "gate-approvals");
    CHECK_CONTAINS(rep.checks[7].detail, "k=2 of 3 owners");
    json_decref(cert_n);
    json_decref(r_n);

    /* bank-c now approves and then revokes: after the snapshot, so the old receipt still verifies */
    sr_gate *g = NULL;
    CHECK_OK(sr_gate_open(gate_spec, &g, &err), &err);
    CHECK_OK(sr_gate_approve(g, compose, owners[2].sk, &err), &err);
    CHECK_OK(sr_gate_revoke(g, compose, owners[2].sk, &err), &err);
    sr_gate_close(g);
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "");
    CHECK_CONTAINS(rep.checks[7].detail, "not revoked");
    /* bank-c's late approval does not make the bank-c snapshot true at its position */
    CHECK_EQ_STR(verify_first(rc_, &pol, &rep), "gate-approvals");

    /* a snapshot taken after the revocation fails */
    json_t *snap_late = read_snapshot(0);
    doc = json_deep_copy(cert_doc);
    json_object_set_new(doc, "gate", snap_late);
    json_t *cert_late = sign_cert(doc, kms_sk);
    json_decref(doc);
    pc.kms_certificate = cert_late;
    json_t *r_late = build(&pc);
    CHECK_EQ_STR(verify_first(r_late, &pol, &rep), "gate-approvals");
    CHECK_CONTAINS(rep.checks[7].detail, "revoked by bank-c");

    json_decref(snap_c);
    json_decref(cert_c);
    json_decref(cert_far);
    json_decref(cert_k);
    json_decref(cert_late);
    json_decref(r);
    json_decref(rc_);
    json_decref(r_far);
    json_decref(r_k);
    json_decref(r_late);
}

static void test_not_object(void)
{
    sr_receipt_policy pol = sim_policy();
    sr_receipt_report rep;
    json_t *v = json_integer(3);
    CHECK_EQ_STR(verify_first(v, &pol, &rep), "format");
    CHECK_EQ_INT(rep.nchecks, 9);
    CHECK(rep.checks[8].ok == -1);
    json_t *j = sr_receipt_report_json(&rep);
    CHECK(json_is_false(json_object_get(j, "valid")));
    CHECK(json_is_null(json_object_get(json_array_get(json_object_get(j, "checks"), 8), "ok")));
    json_decref(j);
    json_decref(v);
    /* a field name with UTF-8 and control characters, cut inside a sequence by the detail's bound */
    v = json_object();
    char key[200];
    size_t k = 0;
    key[k++] = '\x1b';
    while (k + 2 < sizeof key) {
        key[k++] = (char)0xc3;
        key[k++] = (char)0xa9;
    }
    key[k] = '\0';
    json_object_set_new(v, key, json_true());
    CHECK_EQ_STR(verify_first(v, &pol, &rep), "format");
    for (const char *p = rep.checks[0].detail; *p; p++)
        CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
    j = sr_receipt_report_json(&rep);
    CHECK(j != NULL);
    json_decref(j);
    json_decref(v);
}

static void test_build_refuses(void)
{
    sr_error err;
    json_t *r = NULL;
    sr_receipt_parts p = good_parts();
    p.cvm_pub = other_pub; /* not cvm_sk's key */
    CHECK(sr_receipt_build(&p, &r, &err) == SR_EINVAL);
    CHECK_CONTAINS(err.msg, "cvm_pub");
    p = good_parts();
    p.tee = "sgx";
    CHECK(sr_receipt_build(&p, &r, &err) == SR_EINVAL);
    p = good_parts();
    p.kms_certificate = inputs; /* no payload */
    CHECK(sr_receipt_build(&p, &r, &err) == SR_EINVAL);
    CHECK(r == NULL);
}

/* ---- TCB status from collateral (a real TDX quote wrapped in a receipt) ----
 * The real quote does not bind this receipt's key (report-data and what
 * follows fail), but quote-chain is checked on its own: with the real Intel
 * collateral it reports the TCB status; expired or edited collateral fails it. */

static sr_buf load_data(const char *rel)
{
    sr_buf b;
    sr_error err;
    sr_buf_init(&b);
    CHECK_OK(sr_file_read(sr_test_data(rel), 1u << 24, &b, &err), &err);
    return b;
}

static time_t at(const char *t)
{
    time_t v = 0;
    sr_error err;
    CHECK_OK(sr_attest_parse_time(t, &v, &err), &err);
    return v;
}

static void test_collateral(void)
{
    sr_buf rq = load_data("tdx/v4_dcapqvl.quote"), col = load_data("tdx/v4_dcapqvl.collateral.json");
    sr_receipt_parts p = good_parts();
    p.quote = rq.data;
    p.quote_len = rq.len;
    p.tee = "tdx";
    json_t *r = build(&p);
    sr_receipt_report rep;
    sr_receipt_policy pol;
    memset(&pol, 0, sizeof pol); /* the Intel root only */
    pol.kms_root_pub = kms_pub;
    pol.now = (int64_t)at("2025-07-01T00:00:00Z");

    /* without collateral: as before, NotEvaluated */
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "report-data");
    CHECK(rep.checks[3].ok == 1);
    CHECK_CONTAINS(rep.checks[3].detail, "TCB NotEvaluated");
    CHECK_EQ_STR(rep.tcb_status, "NotEvaluated");
    CHECK_EQ_STR(rep.tee, "tdx");

    /* with the collateral inside its window: UpToDate, no warning */
    pol.collateral = (const char *)col.data;
    pol.collateral_len = col.len;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "report-data");
    CHECK_MSG(rep.checks[3].ok == 1, "%s", rep.checks[3].detail);
    CHECK_CONTAINS(rep.checks[3].detail, "TDX quote v4");
    CHECK_CONTAINS(rep.checks[3].detail, "TCB UpToDate");
    CHECK_EQ_STR(rep.tcb_status, "UpToDate");
    CHECK_EQ_STR(rep.warning, "");
    json_t *j = sr_receipt_report_json(&rep);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "tcb_status")), "UpToDate");
    CHECK_EQ_INT(json_array_size(json_object_get(j, "warnings")), 0);
    CHECK(json_is_array(json_object_get(j, "advisory_ids")));
    json_decref(j);

    /* after the TCB info's nextUpdate: expired collateral fails quote-chain */
    pol.now = (int64_t)at("2025-08-01T00:00:00Z");
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "quote-chain");
    CHECK_CONTAINS(rep.checks[3].detail, "collateral expired");
    CHECK_CONTAINS(rep.checks[3].detail, "nextUpdate");
    CHECK_EQ_STR(rep.tcb_status, "");
    j = sr_receipt_report_json(&rep);
    CHECK(json_is_null(json_object_get(j, "tcb_status")));
    json_decref(j);
    /* the same time without collateral passes quote-chain: the failure is the collateral's */
    pol.collateral = NULL;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "report-data");
    pol.collateral = (const char *)col.data;

    /* edited collateral: the signed TCB info bytes or their signature */
    pol.now = (int64_t)at("2025-07-01T00:00:00Z");
    json_t *cj = json_loadb((const char *)col.data, col.len, 0, NULL);
    CHECK(cj != NULL);
    for (int k = 0; k < 3; k++) {
        json_t *c2 = json_deep_copy(cj);
        const char *key = k == 0 ? "tcb_info" : k == 1 ? "tcb_info_signature" : "qe_identity";
        char *t = strdup(json_string_value(json_object_get(c2, key)));
        char *d = k == 1 ? t + 10 : strstr(t, "\"tcbEvaluationDataNumber\":") + 26;
        *d = *d == '1' ? '2' : '1';
        json_object_set_new(c2, key, json_string(t));
        char *txt = json_dumps(c2, JSON_COMPACT);
        pol.collateral = txt;
        pol.collateral_len = strlen(txt);
        CHECK_EQ_STR(verify_first(r, &pol, &rep), "quote-chain");
        CHECK_CONTAINS(rep.checks[3].detail, k == 2 ? "QE identity signature does not verify"
                                                     : "TCB info signature does not verify");
        free(txt);
        free(t);
        json_decref(c2);
    }
    /* not collateral at all */
    pol.collateral = "{}";
    pol.collateral_len = 2;
    CHECK_EQ_STR(verify_first(r, &pol, &rep), "quote-chain");
    CHECK_CONTAINS(rep.checks[3].detail, "tcb_info");
    json_decref(cj);

    /* a simulated receipt (valid without collateral) with Intel's
     * collateral: no TCB status is claimed for it, quote-chain fails */
    sr_receipt_parts sp = good_parts();
    json_t *sr = build(&sp);
    pol = sim_policy();
    CHECK_EQ_STR(verify_first(sr, &pol, &rep), "");
    pol.collateral = (const char *)col.data;
    pol.collateral_len = col.len;
    CHECK_EQ_STR(verify_first(sr, &pol, &rep), "quote-chain");
    CHECK_CONTAINS(rep.checks[3].detail, "collateral");
    json_decref(sr);

    json_decref(r);
    sr_buf_free(&rq);
    sr_buf_free(&col);
}

static void test_collateral_statuses(void)
{
    sr_buf rq = load_data("tdx/v4_dcapqvl.quote"), col = load_data("tdx/v4_dcapqvl.collateral.json");
    /* a test signer pinned next to the Intel root re-signs edited TCB info */
    sr_test_tcb_signer *ts = sr_test_tcb_signer_new(at("2020-01-01T00:00:00Z"), at("2040-01-01T00:00:00Z"));
    CHECK(ts != NULL);
    const char *tcb_pem = sr_test_tcb_signer_pem(ts);
    sr_receipt_parts p = good_parts();
    p.quote = rq.data;
    p.quote_len = rq.len;
    p.tee = "tdx";
    json_t *r = build(&p);
    const uint8_t *roots[2] = {(const uint8_t *)sr_intel_sgx_root_ca_pem, (const uint8_t *)tcb_pem};
    size_t lens[2] = {strlen(sr_intel_sgx_root_ca_pem), strlen(tcb_pem)};
    sr_receipt_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.roots = roots;
    pol.root_lens = lens;
    pol.nroots = 2;
    pol.kms_root_pub = kms_pub;
    pol.now = (int64_t)at("2025-07-01T00:00:00Z");
    sr_receipt_report rep;
    static const struct {
        const char *level, *status;
        int ok, warn;
        const char *detail;
    } t[] = {
        {"\"tcbStatus\":\"UpToDate\"", "UpToDate", 1, 0, "TCB UpToDate"},
        {"\"tcbStatus\":\"SWHardeningNeeded\",\"advisoryIDs\":[\"INTEL-SA-00615\",\"INTEL-SA-00657\"]",
         "SWHardeningNeeded", 1, 1, "TCB SWHardeningNeeded (accepted with a WARNING: INTEL-SA-00615,INTEL-SA-00657)"},
        {"\"tcbStatus\":\"ConfigurationNeeded\",\"advisoryIDs\":[\"INTEL-SA-00828\"]", "ConfigurationNeeded", 1, 1,
         "TCB ConfigurationNeeded (accepted with a WARNING: INTEL-SA-00828)"},
        {"\"tcbStatus\":\"ConfigurationAndSWHardeningNeeded\"", "ConfigurationAndSWHardeningNeeded", 1, 1,
         "accepted with a WARNING"},
        {"\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00837\"]", "OutOfDate", 0, 0,
         "TCB status is OutOfDate"},
        {"\"tcbStatus\":\"OutOfDateConfigurationNeeded\"", "OutOfDateConfigurationNeeded", 0, 0,
         "TCB status is OutOfDateConfigurationNeeded"},
        {"\"tcbStatus\":\"Revoked\"", "Revoked", 0, 0, "TCB status is Revoked"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char *c = sr_test_collateral_with_level(ts, (const char *)col.data, col.len, t[i].level);
        CHECK(c != NULL);
        pol.collateral = c;
        pol.collateral_len = strlen(c);
        CHECK_EQ_STR(verify_first(r, &pol, &rep), t[i].ok ? "report-data" : "quote-chain");
        CHECK_MSG(rep.checks[3].ok == t[i].ok, "%s: %s", t[i].status, rep.checks[3].detail);
        CHECK_CONTAINS(rep.checks[3].detail, t[i].detail);
        CHECK_EQ_STR(rep.tcb_status, t[i].status);
        CHECK_MSG((rep.warning[0] != '\0') == t[i].warn, "%s: warning \"%s\"", t[i].status, rep.warning);
        if (t[i].warn)
            CHECK_CONTAINS(rep.warning, t[i].status);
        json_t *j = sr_receipt_report_json(&rep);
        CHECK_EQ_STR(json_string_value(json_object_get(j, "tcb_status")), t[i].status);
        CHECK_EQ_INT(json_array_size(json_object_get(j, "warnings")), t[i].warn);
        if (i == 1) {
            CHECK_EQ_INT(json_array_size(json_object_get(j, "advisory_ids")), 2);
            CHECK_EQ_STR(json_string_value(json_array_get(json_object_get(j, "advisory_ids"), 1)), "INTEL-SA-00657");
        }
        json_decref(j);
        /* the same collateral without the test signer pinned: refused */
        if (i == 0) {
            pol.nroots = 1;
            CHECK_EQ_STR(verify_first(r, &pol, &rep), "quote-chain");
            CHECK_CONTAINS(rep.checks[3].detail, "TCB info issuer chain");
            pol.nroots = 2;
        }
        free(c);
    }
    json_decref(r);
    sr_test_tcb_signer_free(ts);
    sr_buf_free(&rq);
    sr_buf_free(&col);
}

int main(void)
{
    SR_RUN(setup);
    SR_RUN(test_valid);
    SR_RUN(test_policies);
    SR_RUN(test_tamper);
    SR_RUN(test_gate_reread);
    SR_RUN(test_not_object);
    SR_RUN(test_build_refuses);
    SR_RUN(test_collateral);
    SR_RUN(test_collateral_statuses);
    json_decref(inputs);
    json_decref(gate_snap);
    json_decref(cert_doc);
    json_decref(cert);
    free(payload);
    sr_buf_free(&quote);
    sr_buf_free(&event_log);
    sr_buf_free(&sim_root);
    return sr_test_finish();
}

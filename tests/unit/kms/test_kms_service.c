/* KMS end to end over loopback HTTP: a ledger gate, sealed archives, a
 * simulated TEE, and every refusal cause with its message; budget exactness
 * under 200 concurrent requests; kill -9 of a KMS process mid-burst. */
#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sealroom/archive.h"
#include "sealroom/attest.h"
#include "sealroom/gate.h"
#include "sealroom/http.h"
#include "sealroom/json.h"
#include "sealroom/kms.h"
#include "sealroom/kmsstore.h"
#include "sealroom/recipe.h"

static int64_t fake_now = 1800000000;
static int64_t test_clock(void *ctx)
{
    (void)ctx;
    return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

typedef struct owner {
    const char *id;
    uint8_t sk[32];
    uint8_t addr[20];
    char addr_s[43];
} owner;

static owner owners[3] = {{.id = "hospital-a"}, {.id = "hospital-b"}, {.id = "bank-c"}};
static uint8_t kms_pub[33];
static uint8_t app[20], app2[20];
static char recipe_text[4096], recipe2_text[4096];
static uint8_t compose[32];
static sr_buf sim_event_log;

static void make_owner(owner *o)
{
    sr_error err;
    CHECK_OK(sr_secp_seckey_generate(o->sk, &err), &err);
    CHECK_OK(sr_eth_address_from_seckey(o->sk, o->addr, &err), &err);
    sr_eth_address_to_string(o->addr, o->addr_s);
}

static void make_gate(const char *spec, uint8_t app_out[20])
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
    CHECK_OK(sr_gate_create(spec, &cfg, deployer, app_out, NULL, 0, &err), &err);
}

static void write_recipe(char *out, size_t cap, const uint8_t app_id[20], const char *path, const char *tag)
{
    char a[43];
    sr_eth_address_to_string(app_id, a);
    snprintf(out, cap,
             "{\n  \"version\": 1,\n  \"consortium\": {\"name\": \"Cardio-renal cohort\", \"app_id\": \"%s\",\n"
             "    \"owners\": [{\"id\": \"hospital-a\", \"address\": \"%s\"}, {\"id\": \"hospital-b\", \"address\": \"%s\"},\n"
             "                {\"id\": \"bank-c\", \"address\": \"%s\"}]},\n"
             "  \"datasets\": {\"hospital-a\": {\"schema\": [{\"name\": \"age\", \"type\": \"int\"}, {\"name\": \"egfr\", \"type\": \"float\"}]},\n"
             "               \"hospital-b\": {\"schema\": [{\"name\": \"age\", \"type\": \"int\"}, {\"name\": \"egfr\", \"type\": \"float\"}]}},\n"
             "  \"run\": \"%s\",\n  \"privacy\": {\"epsilon\": 0.1}\n}\n",
             a, owners[0].addr_s, owners[1].addr_s, owners[2].addr_s, tag);
    sr_error err;
    CHECK_OK(sr_file_write_atomic(path, out, strlen(out), 0644, &err), &err);
}

/* Seals a small CSV for owner i under a recipe; returns the manifest entry JSON. */
static json_t *seal_entry(int i, const char *recipe_path, const char *out_path)
{
    sr_error err;
    char csv[64];
    snprintf(csv, sizeof csv, "%s.csv", owners[i].id);
    const char *data = "age,egfr\n61,55.5\n47,90.25\n,71\n";
    CHECK_OK(sr_file_write_atomic(csv, data, strlen(data), 0644, &err), &err);
    sr_recipe *r = NULL;
    CHECK_OK(sr_recipe_load(recipe_path, &r, &err), &err);
    sr_seal_opts o;
    memset(&o, 0, sizeof o);
    o.recipe = r;
    o.owner_id = owners[i].id;
    o.owner_sk = owners[i].sk;
    o.kms_root_pub = kms_pub;
    o.epsilon_total = 3.7;
    o.keystore_dir = "";
    sr_seal_result res;
    CHECK_OK(sr_archive_seal(csv, out_path, &o, &res, &err), &err);
    sr_recipe_free(r);
    sr_archive *a = NULL;
    CHECK_OK(sr_archive_open(out_path, &a, &err), &err);
    if (a == NULL)
        return json_object();
    json_t *e = sr_kms_manifest_entry(a);
    sr_archive_close(a);
    return e;
}

typedef struct client {
    uint8_t sk[32];
    uint8_t pub[33];
} client;

static void make_client(client *c)
{
    sr_error err;
    CHECK_OK(sr_secp_seckey_generate(c->sk, &err), &err);
    CHECK_OK(sr_secp_pubkey(c->sk, c->pub, &err), &err);
}

/* Builds a /v1/keys request body. quote_for: the key REPORTDATA binds (normally c->pub). */
static char *build_request(sr_tee *tee, const char *kms_url, const client *c, const uint8_t *quote_for,
                           const char *rtext, json_t *manifests, uint8_t nonce_out[32], int flip_byte)
{
    sr_error err;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/nonce", kms_url);
    json_t *nr = NULL;
    long status = 0;
    CHECK_OK(sr_http_json_call("GET", url, NULL, 10000, &nr, &status, &err), &err);
    uint8_t nonce[32] = {0};
    CHECK_OK(sr_json_get_hex(nr, "nonce", nonce, 32, "nonce reply", &err), &err);
    json_decref(nr);
    if (nonce_out)
        memcpy(nonce_out, nonce, 32);
    uint8_t h[32], rd[64];
    sr_sha256(rtext, strlen(rtext), h);
    sr_kms_report_data(h, quote_for ? quote_for : c->pub, nonce, rd);
    sr_buf q;
    sr_buf_init(&q);
    CHECK_OK(sr_tee_quote(tee, rd, &q, &err), &err);
    if (flip_byte >= 0 && (size_t)flip_byte < q.len)
        q.data[flip_byte] ^= 0x01;
    sr_buf log;
    sr_buf_init(&log);
    CHECK_OK(sr_tee_event_log(tee, &log, &err), &err);
    CHECK_OK(sr_buf_append_u8(&log, 0, &err), &err);
    json_t *req = sr_kms_request_new((const uint8_t *)rtext, strlen(rtext), q.data, q.len, (const char *)log.data,
                                     c->pub, nonce, manifests);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    sr_buf_free(&q);
    sr_buf_free(&log);
    return text;
}

/* n request bodies for recipe rtext / manifests from one VM key, each with
 * its own fresh nonce; free them with free_requests. */
static void build_requests(sr_tee *tee, const char *kms_url, const client *c, const char *rtext, json_t *manifests,
                           char **bodies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bodies[i] = build_request(tee, kms_url, c, NULL, rtext, manifests, NULL, -1);
}

static void free_requests(char **bodies, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(bodies[i]);
}

static int post_keys(const char *kms_url, const char *body, json_t **reply, sr_error *err)
{
    char url[256];
    snprintf(url, sizeof url, "%s/v1/keys", kms_url);
    json_t *tmp = NULL;
    json_t *req = json_loads(body, 0, NULL);
    long status = 0;
    int rc = sr_http_json_call("POST", url, req, 30000, reply ? reply : &tmp, &status, err);
    json_decref(req);
    json_decref(tmp);
    return rc;
}

static sr_tee *open_tee(const char *dir, const char *rtext, int measure)
{
    sr_error err;
    sr_tee *t = NULL;
    CHECK_OK(sr_tee_open_sim(dir, &t, &err), &err);
    if (t != NULL && measure) {
        uint8_t h[32];
        sr_sha256(rtext, strlen(rtext), h);
        CHECK_OK(sr_tee_extend_rtmr3(t, SR_EVENT_COMPOSE_HASH, h, 32, &err), &err);
    }
    return t;
}

static void write_runtimes(const char *sim_dir, const char *path, int wrong)
{
    sr_error err;
    sr_tee *t = open_tee(sim_dir, "x", 0);
    uint8_t rd[64] = {0};
    sr_buf q;
    sr_buf_init(&q);
    CHECK_OK(sr_tee_quote(t, rd, &q, &err), &err);
    sr_quote pq;
    CHECK_OK(sr_quote_parse(q.data, q.len, &pq, &err), &err);
    char h[4][97];
    if (wrong)
        pq.body.mrtd[0] ^= 1;
    sr_hex_encode(pq.body.mrtd, 48, h[0]);
    for (int i = 0; i < 3; i++)
        sr_hex_encode(pq.body.rtmr[i], 48, h[i + 1]);
    json_t *j = json_pack("[{s:s,s:s,s:s,s:s,s:s}]", "name", "sim-analysis", "mrtd", h[0], "rtmr0", h[1], "rtmr1",
                          h[2], "rtmr2", h[3]);
    CHECK(json_dump_file(j, path, 0) == 0);
    json_decref(j);
    sr_buf_free(&q);
    sr_tee_close(t);
}

typedef struct server {
    sr_kms *kms;
    sr_http_server *http;
    char url[64];
} server;

static const char *kms_gate = "ledger:gate.db"; /* the gate start_kms serves */
static void (*kms_before_commit)(void *, size_t);  /* the group-commit hook start_kms sets */
static void *kms_before_commit_ctx;

static void start_kms(server *s, int allow_sim, const char *runtimes, const char *sim_dir)
{
    sr_error err;
    sr_kms_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.dir = "kmsdir";
    cfg.gate_spec = kms_gate;
    cfg.runtimes_path = runtimes;
    cfg.any_runtime = runtimes == NULL;
    cfg.allow_simulated = allow_sim;
    cfg.sim_root_path = sim_dir;
    cfg.clock = test_clock;
    cfg.before_commit = kms_before_commit;
    cfg.before_commit_ctx = kms_before_commit_ctx;
    memset(s, 0, sizeof *s);
    CHECK_OK(sr_kms_new(&cfg, &s->kms, &err), &err);
    sr_http_limits lim = {.max_body = SR_KMS_MAX_REQUEST, .threads = 8, .max_connections = 512};
    CHECK_OK(sr_http_server_start("127.0.0.1:0", &lim, sr_kms_http_handler, s->kms, &s->http, &err), &err);
    if (s->http)
        snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", sr_http_server_port(s->http));
}

static void stop_kms(server *s)
{
    sr_http_server_stop(s->http);
    sr_kms_free(s->kms);
}

static json_t *manifests_ab;

static void setup(void)
{
    sr_error err;
    CHECK(sr_test_sh("rm -rf kmsdir sim sim-bare gate.db* gate2.db* gate-rb.* *.tar *.csv crash") == 0);
    CHECK_OK(sr_kms_root_init("kmsdir", kms_pub, &err), &err);
    for (int i = 0; i < 3; i++)
        make_owner(&owners[i]);
    make_gate("ledger:gate.db", app);
    make_gate("ledger:gate2.db", app2);
    write_recipe(recipe_text, sizeof recipe_text, app, "recipe.json", "main");
    write_recipe(recipe2_text, sizeof recipe2_text, app2, "recipe2.json", "main");
    sr_sha256(recipe_text, strlen(recipe_text), compose);
    manifests_ab = json_array();
    json_array_append_new(manifests_ab, seal_entry(0, "recipe.json", "a.tar"));
    json_array_append_new(manifests_ab, seal_entry(1, "recipe.json", "b.tar"));
    CHECK_OK(sr_tee_sim_init("sim", (const uint8_t *)"analysis-image-v1", 17, &err), &err);
    CHECK_OK(sr_tee_sim_init("sim-bare", (const uint8_t *)"analysis-image-v1", 17, &err), &err);
    write_runtimes("sim", "runtimes.json", 0);
    write_runtimes("sim", "runtimes-other.json", 1);
    sr_buf_init(&sim_event_log);
}

static void approve(int i, const uint8_t hash[32])
{
    sr_error err;
    sr_gate *g = NULL;
    CHECK_OK(sr_gate_open("ledger:gate.db", &g, &err), &err);
    CHECK_OK(sr_gate_approve(g, hash, owners[i].sk, &err), &err);
    sr_gate_close(g);
}

static void expect_refusal(server *s, sr_tee *t, const client *c, const uint8_t *quote_for, const char *rtext,
                           json_t *m, int flip, const char *want)
{
    sr_error err;
    char *body = build_request(t, s->url, c, quote_for, rtext, m, NULL, flip);
    int rc = post_keys(s->url, body, NULL, &err);
    CHECK_MSG(rc != SR_OK, "expected refusal '%s'", want);
    CHECK_CONTAINS(err.msg, want);
    free(body);
}

static void test_refusals_and_release(void)
{
    server s;
    start_kms(&s, 1, "runtimes.json", "sim");
    if (s.http == NULL)
        return;
    client c, other;
    make_client(&c);
    make_client(&other);
    sr_tee *t = open_tee("sim", recipe_text, 1);

    /* not approved: only hospital-a so far (k = 2, the recipe reads a and b) */
    approve(0, compose);
    expect_refusal(&s, t, &c, NULL, recipe_text, manifests_ab, -1, "not approved: 1/3 (k=2), missing hospital-b");
    approve(1, compose);

    /* a quote whose REPORTDATA binds another key */
    expect_refusal(&s, t, &c, other.pub, recipe_text, manifests_ab, -1, "REPORTDATA does not bind");
    /* QE report signature broken (v4: QE report signature at byte 1154) */
    expect_refusal(&s, t, &c, NULL, recipe_text, manifests_ab, 1160, "quote: QE report signature");
    /* a manifest from another app */
    json_t *foreign = json_array();
    json_array_append_new(foreign, seal_entry(0, "recipe2.json", "a-other-app.tar"));
    expect_refusal(&s, t, &c, NULL, recipe_text, foreign, -1, "manifest of hospital-a is bound to another app");
    json_decref(foreign);
    /* a VM that did not measure any compose hash (its own simulated platform) */
    server sb;
    start_kms(&sb, 1, NULL, "sim-bare");
    sr_tee *bare = open_tee("sim-bare", recipe_text, 0);
    if (sb.http != NULL && bare != NULL)
        expect_refusal(&sb, bare, &c, NULL, recipe_text, manifests_ab, -1, "event log: no compose-hash event");
    sr_tee_close(bare);
    if (sb.http != NULL)
        stop_kms(&sb);

    /* released: keys open with the VM key and unlock the archives; the certificate verifies */
    sr_error err;
    uint8_t nonce[32];
    char *body = build_request(t, s.url, &c, NULL, recipe_text, manifests_ab, nonce, -1);
    json_t *reply = NULL;
    const char *dump = getenv("SR_KMS_DUMP_REQUEST"); /* seeds the fuzz corpus */
    if (dump != NULL)
        (void)sr_file_write_atomic(dump, body, strlen(body), 0644, &err);
    CHECK_OK(sr_kms_request_check((const uint8_t *)body, strlen(body), &err), &err);
    CHECK_OK(post_keys(s.url, body, &reply, &err), &err);
    json_t *keys = json_object_get(reply, "keys");
    CHECK_EQ_INT(json_array_size(keys), 2);
    for (size_t i = 0; i < json_array_size(keys); i++) {
        uint8_t aid[16], dek[32];
        CHECK_OK(sr_kms_open_key(json_array_get(keys, i), compose, c.sk, aid, dek, &err), &err);
        sr_archive *a = NULL;
        CHECK_OK(sr_archive_open(i == 0 ? "a.tar" : "b.tar", &a, &err), &err);
        CHECK_OK(sr_archive_unlock(a, dek, &err), &err);
        sr_archive_close(a);
        /* another VM key cannot open it */
        CHECK(sr_kms_open_key(json_array_get(keys, i), compose, other.sk, aid, dek, &err) != SR_OK);
    }
    json_t *payload = NULL;
    CHECK_OK(sr_kms_cert_verify(json_object_get(reply, "certificate"), kms_pub, &payload, &err), &err);
    char hex[67] = "0x";
    sr_hex_encode(compose, 32, hex + 2);
    CHECK_EQ_STR(json_string_value(json_object_get(payload, "compose_hash")), hex);
    CHECK_EQ_INT(json_array_size(json_object_get(json_object_get(payload, "gate"), "approvers")), 2);
    CHECK_EQ_STR(json_string_value(json_object_get(payload, "tee")), "simulated");
    /* the KMS's TCB evaluation is in the certificate (none configured here) */
    CHECK_EQ_STR(json_string_value(json_object_get(payload, "tcb_status")), "NotEvaluated");
    /* a certificate checked against another key fails */
    uint8_t wrong[33];
    memcpy(wrong, owners[0].addr, 20);
    CHECK(sr_kms_cert_verify(json_object_get(reply, "certificate"), other.pub, &payload, &err) == SR_EVERIFY);
    json_decref(payload);
    json_decref(reply);

    /* the same request again: replayed nonce */
    CHECK(post_keys(s.url, body, NULL, &err) == SR_EDENIED);
    CHECK_EQ_STR(err.msg, "nonce already used");
    free(body);

    /* nonce expired: 61 s between nonce and use */
    body = build_request(t, s.url, &c, NULL, recipe_text, manifests_ab, NULL, -1);
    __atomic_add_fetch(&fake_now, 61, __ATOMIC_SEQ_CST);
    CHECK(post_keys(s.url, body, NULL, &err) == SR_EDENIED);
    CHECK_EQ_STR(err.msg, "nonce expired");
    free(body);

    /* revoked by any single owner */
    sr_gate *g = NULL;
    CHECK_OK(sr_gate_open("ledger:gate.db", &g, &err), &err);
    CHECK_OK(sr_gate_revoke(g, compose, owners[2].sk, &err), &err);
    sr_gate_close(g);
    expect_refusal(&s, t, &c, NULL, recipe_text, manifests_ab, -1, "revoked by bank-c at seq");

    sr_tee_close(t);
    stop_kms(&s);
}

static void test_runtime_and_simulation_policy(void)
{
    client c;
    make_client(&c);
    sr_tee *t = open_tee("sim", recipe_text, 1);
    server s;
    start_kms(&s, 1, "runtimes-other.json", "sim");
    if (s.http) {
        expect_refusal(&s, t, &c, NULL, recipe_text, manifests_ab, -1, "runtime not allowed");
        stop_kms(&s);
    }
    start_kms(&s, 0, "runtimes.json", "sim");
    if (s.http) {
        expect_refusal(&s, t, &c, NULL, recipe_text, manifests_ab, -1, "quote: ");
        stop_kms(&s);
    }
    sr_tee_close(t);
}

/* ---- budget under load ---------------------------------------------------- */

struct load {
    const char *url;
    char **bodies;
    int n;
    int next;
    int released;
    int budget_refusals;
    int other;
    int unreachable;
    pthread_mutex_t mu;
};

/* ---- gate rollback and fork ------------------------------------------- */

static void gate_action(const char *spec, int owner_i, const uint8_t hash[32], int revoke)
{
    sr_error err;
    sr_gate *g = NULL;
    CHECK_OK(sr_gate_open(spec, &g, &err), &err);
    if (g == NULL)
        return;
    if (revoke)
        CHECK_OK(sr_gate_revoke(g, hash, owners[owner_i].sk, &err), &err);
    else
        CHECK_OK(sr_gate_approve(g, hash, owners[owner_i].sk, &err), &err);
    sr_gate_close(g);
}

/* Puts a saved copy in place of the ledger, as someone with write access to
 * the file would while the KMS is stopped. */
static void restore_ledger(const char *copy)
{
    CHECK(sr_test_sh("rm -f gate-rb.db-wal gate-rb.db-shm && cp %s gate-rb.db", copy) == 0);
}

struct audit_count {
    const char *compose_hex;
    int released, rolled_back, forked;
};

static int count_rb(void *ctx, int64_t seq, const sr_kms_audit_record *rec, const char *hash)
{
    (void)seq;
    (void)hash;
    struct audit_count *a = ctx;
    if (rec->compose_hash == NULL || strcmp(rec->compose_hash, a->compose_hex) != 0)
        return 0;
    if (rec->allowed)
        a->released++;
    else if (rec->reason && strstr(rec->reason, "gate ledger rolled back"))
        a->rolled_back++;
    else if (rec->reason && strstr(rec->reason, "gate ledger forked"))
        a->forked++;
    return 0;
}

static void test_gate_rollback_and_fork(void)
{
    sr_error err;
    const char *spec = "ledger:gate-rb.db";
    uint8_t app_rb[20], h[32];
    static char rtext[4096];
    make_gate(spec, app_rb);
    write_recipe(rtext, sizeof rtext, app_rb, "recipe-rb.json", "rollback");
    sr_sha256(rtext, strlen(rtext), h);
    json_t *m = json_array();
    json_array_append_new(m, seal_entry(0, "recipe-rb.json", "a-rb.tar"));
    json_array_append_new(m, seal_entry(1, "recipe-rb.json", "b-rb.tar"));
    gate_action(spec, 0, h, 0); /* seq 2 */
    gate_action(spec, 1, h, 0); /* seq 3: allowed */
    CHECK(sr_test_sh("cp gate-rb.db gate-rb.before") == 0);

    kms_gate = spec;
    server s;
    client c;
    make_client(&c);
    sr_tee *t = open_tee("sim", rtext, 1);
    start_kms(&s, 1, "runtimes.json", "sim");
    if (s.http == NULL || t == NULL)
        goto out;
    char *body = build_request(t, s.url, &c, NULL, rtext, m, NULL, -1);
    CHECK_OK(post_keys(s.url, body, NULL, &err), &err);
    free(body);
    /* bank-c revokes (seq 4); the KMS sees it */
    gate_action(spec, 2, h, 1);
    expect_refusal(&s, t, &c, NULL, rtext, m, -1, "revoked by bank-c at seq 4");
    stop_kms(&s);
    CHECK(sr_test_sh("cp gate-rb.db gate-rb.after") == 0);

    /* the copy from before the revoke is put back: verifies on its own, but
     * the KMS remembers seq 4 */
    restore_ledger("gate-rb.before");
    start_kms(&s, 1, "runtimes.json", "sim");
    if (s.http == NULL)
        goto out;
    expect_refusal(&s, t, &c, NULL, rtext, m, -1, "gate ledger rolled back: sequence 3, KMS has seen 4");
    stop_kms(&s);

    /* a fork: the old copy gets another entry at seq 4 (an approval instead of the revoke) */
    restore_ledger("gate-rb.before");
    gate_action(spec, 2, h, 0);
    start_kms(&s, 1, "runtimes.json", "sim");
    if (s.http == NULL)
        goto out;
    expect_refusal(&s, t, &c, NULL, rtext, m, -1, "gate ledger forked at sequence 4");
    /* ... and grows past it (seq 5): the entry at 4 is still not the one seen */
    uint8_t other[32];
    memset(other, 0x5a, sizeof other);
    gate_action(spec, 0, other, 1);
    expect_refusal(&s, t, &c, NULL, rtext, m, -1, "gate ledger forked at sequence 4");
    stop_kms(&s);

    /* the true ledger back: accepted by the anchor, refused for the revoke */
    restore_ledger("gate-rb.after");
    start_kms(&s, 1, "runtimes.json", "sim");
    if (s.http == NULL)
        goto out;
    expect_refusal(&s, t, &c, NULL, rtext, m, -1, "revoked by bank-c at seq 4");
    /* every refusal audited; the only release is the first one */
    char hex[67] = "0x";
    sr_hex_encode(h, 32, hex + 2);
    struct audit_count a = {.compose_hex = hex};
    sr_kms_store *st = NULL;
    CHECK_OK(sr_kms_store_open("kmsdir", NULL, &st, &err), &err);
    if (st != NULL) {
        CHECK_OK(sr_kms_audit_list(st, count_rb, &a, &err), &err);
        sr_kms_store_close(st);
    }
    CHECK_EQ_INT(a.released, 1);
    CHECK_EQ_INT(a.rolled_back, 1);
    CHECK_EQ_INT(a.forked, 2);
    stop_kms(&s);
out:
    kms_gate = "ledger:gate.db";
    sr_tee_close(t);
    json_decref(m);
}

static void *load_worker(void *arg)
{
    struct load *l = arg;
    for (;;) {
        pthread_mutex_lock(&l->mu);
        int i = l->next < l->n ? l->next++ : -1;
        pthread_mutex_unlock(&l->mu);
        if (i < 0)
            return NULL;
        sr_error err;
        int rc = post_keys(l->url, l->bodies[i], NULL, &err);
        pthread_mutex_lock(&l->mu);
        if (rc == SR_OK)
            l->released++;
        else if (rc == SR_EDENIED && strstr(err.msg, "budget exhausted for dataset") != NULL)
            l->budget_refusals++;
        else if (rc == SR_ENET)
            l->unreachable++; /* the KMS was killed */
        else {
            l->other++;
            fprintf(stderr, "unexpected: %s\n", err.msg);
        }
        pthread_mutex_unlock(&l->mu);
    }
}

static void load_init(struct load *l, const char *url, char **bodies, int n)
{
    memset(l, 0, sizeof *l);
    l->url = url;
    l->bodies = bodies;
    l->n = n;
    pthread_mutex_init(&l->mu, NULL);
}

static void run_load(struct load *l, int clients)
{
    pthread_t th[64];
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, load_worker, l);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
}

/* A fresh recipe (new compose hash, new budgets), approved by a and b. */
static json_t *fresh_recipe(const char *path, char *text, size_t cap, const char *tag)
{
    write_recipe(text, cap, app, path, tag);
    uint8_t h[32];
    sr_sha256(text, strlen(text), h);
    approve(0, h);
    approve(1, h);
    json_t *m = json_array();
    char a[64], b[64];
    snprintf(a, sizeof a, "a-%s.tar", tag);
    snprintf(b, sizeof b, "b-%s.tar", tag);
    json_array_append_new(m, seal_entry(0, path, a));
    json_array_append_new(m, seal_entry(1, path, b));
    return m;
}

static void test_budget_exact_under_200_concurrent(void)
{
    char text[4096];
    json_t *m = fresh_recipe("recipe-load.json", text, sizeof text, "load");
    sr_recipe *chk = NULL;
    sr_error err;
    CHECK_OK(sr_recipe_load("recipe-load.json", &chk, &err), &err);
    sr_recipe_free(chk);
    server s;
    start_kms(&s, 1, "runtimes.json", "sim");
    if (s.http == NULL)
        return;
    client c;
    make_client(&c);
    sr_tee *t = open_tee("sim", text, 1);
    enum { N = 200 };
    char *bodies[N];
    build_requests(t, s.url, &c, text, m, bodies, N);
    struct load l;
    load_init(&l, s.url, bodies, N);
    run_load(&l, 32);
    CHECK_EQ_INT(l.released, 37); /* epsilon_total 3.7 / 0.1 per run */
    CHECK_EQ_INT(l.budget_refusals, 163);
    CHECK_EQ_INT(l.other, 0);
    free_requests(bodies, N);
    sr_tee_close(t);
    stop_kms(&s);
    json_decref(m);
}

/* ---- group commit ---------------------------------------------------------- */

/* Holds the first group's leader before its commit until the test opens
 * the gate, so that the requests arriving meanwhile queue behind it. */
struct hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
    int open;
};

static void hold_first_commit(void *ctx, size_t n)
{
    (void)n;
    struct hold *h = ctx;
    pthread_mutex_lock(&h->mu);
    if (h->calls++ == 0) {
        while (!h->open)
            pthread_cond_wait(&h->cv, &h->mu);
    }
    pthread_mutex_unlock(&h->mu);
}

static void *load_thread(void *arg)
{
    run_load(arg, 32);
    return NULL;
}

struct hash_count {
    const char *compose_hex;
    int released, refused;
};

static int count_hash(void *ctx, int64_t seq, const sr_kms_audit_record *rec, const char *hash)
{
    (void)seq;
    (void)hash;
    struct hash_count *a = ctx;
    if (rec->compose_hash != NULL && strcmp(rec->compose_hash, a->compose_hex) == 0) {
        if (rec->allowed)
            a->released++;
        else
            a->refused++;
    }
    return 0;
}

static void test_group_commit_under_load(void)
{
    char text[4096];
    json_t *m = fresh_recipe("recipe-group.json", text, sizeof text, "group");
    struct hold h = {.calls = 0, .open = 0};
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    kms_before_commit = hold_first_commit;
    kms_before_commit_ctx = &h;
    server s;
    start_kms(&s, 1, "runtimes.json", "sim");
    kms_before_commit = NULL;
    kms_before_commit_ctx = NULL;
    if (s.http == NULL)
        return;
    client c;
    make_client(&c);
    sr_tee *t = open_tee("sim", text, 1);
    enum { N = 200 };
    char *bodies[N];
    build_requests(t, s.url, &c, text, m, bodies, N);
    struct load l;
    load_init(&l, s.url, bodies, N);
    pthread_t lt;
    pthread_create(&lt, NULL, load_thread, &l);
    /* Wait (bounded) until 4 requests queue behind the held commit: the
     * server has 8 threads and 32 clients keep them busy. */
    sr_kms_commit_stats st;
    for (int i = 0; i < 60000; i++) {
        sr_kms_get_commit_stats(s.kms, &st);
        if (st.queued >= 4)
            break;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK(st.queued >= 4);
    pthread_mutex_lock(&h.mu);
    h.open = 1;
    pthread_cond_broadcast(&h.cv);
    pthread_mutex_unlock(&h.mu);
    pthread_join(lt, NULL);
    /* exact as ever: 37 releases, every other request refused for budget */
    CHECK_EQ_INT(l.released, 37);
    CHECK_EQ_INT(l.budget_refusals, 163);
    CHECK_EQ_INT(l.other, 0);
    sr_kms_get_commit_stats(s.kms, &st);
    CHECK_EQ_INT(st.requests, N); /* all 200 were decided by the store... */
    CHECK(st.max_group >= 4);     /* ...the queued ones together, behind the held commit */
    CHECK(st.commits < st.requests);
    CHECK_EQ_INT(h.calls, (int)st.commits);
    stop_kms(&s);
    /* one audit record per request, the chain intact, the budget spent exactly */
    char hex[67] = "0x";
    uint8_t ch[32];
    sr_sha256(text, strlen(text), ch);
    sr_hex_encode(ch, 32, hex + 2);
    struct hash_count a = {.compose_hex = hex};
    sr_error err;
    sr_kms_store *store = NULL;
    CHECK_OK(sr_kms_store_open("kmsdir", NULL, &store, &err), &err);
    if (store != NULL) {
        int64_t count = 0;
        CHECK_OK(sr_kms_audit_verify(store, &count, &err), &err);
        CHECK_OK(sr_kms_audit_list(store, count_hash, &a, &err), &err);
        for (size_t i = 0; i < json_array_size(m); i++) {
            sr_manifest *man = NULL;
            sr_buf mb;
            sr_buf_init(&mb);
            CHECK_OK(sr_base64_decode(json_string_value(json_object_get(json_array_get(m, i), "manifest")), &mb, &err),
                     &err);
            CHECK_OK(sr_manifest_parse(mb.data, mb.len, &man, &err), &err);
            char ds[128], aid[33];
            sr_hex_encode(man->archive_id, 16, aid);
            snprintf(ds, sizeof ds, "%s/%s", man->owner_id, aid);
            int64_t spent = 0;
            CHECK_OK(sr_kms_budget_spent(store, ds, &spent, &err), &err);
            CHECK_EQ_INT(spent, 37 * 100000);
            free(man);
            sr_buf_free(&mb);
        }
        sr_kms_store_close(store);
    }
    CHECK_EQ_INT(a.released, 37);
    CHECK_EQ_INT(a.refused, 163);
    free_requests(bodies, N);
    sr_tee_close(t);
    json_decref(m);
    pthread_mutex_destroy(&h.mu);
    pthread_cond_destroy(&h.cv);
}

/* ---- kill -9 mid-burst ----------------------------------------------------- */

static pid_t spawn_kms(char *url, size_t cap)
{
    const char *cli = getenv("SEALROOM");
    int fds[2];
    if (cli == NULL || pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        execl(cli, cli, "kms", "serve", "--dir", "kmsdir", "--gate", "ledger:gate.db", "--listen", "127.0.0.1:0",
              "--runtimes", "runtimes.json", "--allow-simulated-tee", "--sim-root", "sim", "--threads", "8",
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256] = "";
    if (f == NULL || fgets(line, sizeof line, f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    char *u = strstr(line, "http://");
    if (u == NULL)
        return -1;
    u[strcspn(u, "\n")] = '\0';
    snprintf(url, cap, "%s", u);
    return pid;
}

struct kill_ctx {
    pid_t pid;
    struct load *l;
    int after_answers;
};

/* Kills the KMS with SIGKILL once it has answered a few requests of the burst. */
static void *killer(void *arg)
{
    struct kill_ctx *k = arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&k->l->mu);
        int answered = k->l->released + k->l->budget_refusals + k->l->other;
        pthread_mutex_unlock(&k->l->mu);
        if (answered >= k->after_answers)
            break;
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(k->pid, SIGKILL);
    return NULL;
}

static int count_releases(void *ctx, int64_t seq, const sr_kms_audit_record *rec, const char *hash)
{
    (void)seq;
    (void)hash;
    if (rec->allowed && rec->compose_hash && strstr(rec->compose_hash, (const char *)((void **)ctx)[1]))
        (*(int *)((void **)ctx)[0])++;
    return 0;
}

static void test_kill9_mid_burst(void)
{
    /* the KMS process uses the real clock: nonces must not look expired */
    char text[4096];
    json_t *m = fresh_recipe("recipe-crash.json", text, sizeof text, "crash");
    uint8_t h[32];
    sr_sha256(text, strlen(text), h);
    char hh[65];
    sr_hex_encode(h, 32, hh);
    client c;
    make_client(&c);
    sr_tee *t = open_tee("sim", text, 1);
    char url[128];
    pid_t pid = spawn_kms(url, sizeof url);
    CHECK(pid > 0);
    if (pid <= 0)
        return;
    enum { N = 120 };
    char *bodies[N];
    build_requests(t, url, &c, text, m, bodies, N);
    struct load l;
    load_init(&l, url, bodies, N);
    struct kill_ctx kc = {pid, &l, 10};
    pthread_t kt;
    pthread_create(&kt, NULL, killer, &kc);
    run_load(&l, 16);
    pthread_join(kt, NULL);
    CHECK(l.unreachable > 0); /* the kill landed in the middle of the burst */
    CHECK_EQ_INT(l.other, 0);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    /* Restart, finish the burst with the requests not yet answered. */
    pid = spawn_kms(url, sizeof url);
    CHECK(pid > 0);
    int released_before = l.released;
    int rest = pid > 0 ? N : 0;
    char *again[N];
    build_requests(t, url, &c, text, m, again, (size_t)rest);
    struct load l2;
    load_init(&l2, url, again, rest);
    if (pid > 0)
        run_load(&l2, 16);
    CHECK_EQ_INT(l2.other, 0);
    if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, &st, 0);
    }
    free_requests(again, (size_t)rest);
    free_requests(bodies, N);
    /* the log is intact; every charge has exactly one release record */
    sr_error err;
    sr_kms_store *store = NULL;
    uint8_t sk[32], pub[33], akey[32];
    CHECK_OK(sr_kms_root_load("kmsdir", sk, pub, &err), &err);
    CHECK_OK(sr_hkdf_sha256(sk, 32, (const uint8_t *)"sealroom/v1/kms-audit-key", 25, NULL, 0, akey, 32, &err), &err);
    CHECK_OK(sr_kms_store_open("kmsdir", akey, &store, &err), &err);
    int64_t count = 0;
    CHECK_OK(sr_kms_audit_verify(store, &count, &err), &err);
    int released = 0;
    void *ctx[2] = {&released, hh};
    CHECK_OK(sr_kms_audit_list(store, count_releases, ctx, &err), &err);
    CHECK(released >= released_before + l2.released); /* a release may be committed with its reply lost */
    CHECK(released <= 37);
    CHECK_EQ_INT(released, 37); /* the restarted KMS spends the rest of the budget, no more */
    for (size_t i = 0; i < json_array_size(m); i++) {
        sr_manifest *man = NULL;
        sr_buf mb;
        sr_buf_init(&mb);
        CHECK_OK(sr_base64_decode(json_string_value(json_object_get(json_array_get(m, i), "manifest")), &mb, &err), &err);
        CHECK_OK(sr_manifest_parse(mb.data, mb.len, &man, &err), &err);
        char ds[128], aid[33];
        sr_hex_encode(man->archive_id, 16, aid);
        snprintf(ds, sizeof ds, "%s/%s", man->owner_id, aid);
        int64_t spent = 0;
        CHECK_OK(sr_kms_budget_spent(store, ds, &spent, &err), &err);
        CHECK_EQ_INT(spent, (int64_t)released * 100000); /* never double-charged */
        free(man);
        sr_buf_free(&mb);
    }
    sr_kms_store_close(store);
    sr_tee_close(t);
    json_decref(m);
}

int main(void)
{
    SR_RUN(setup);
    SR_RUN(test_refusals_and_release);
    SR_RUN(test_runtime_and_simulation_policy);
    SR_RUN(test_gate_rollback_and_fork);
    SR_RUN(test_budget_exact_under_200_concurrent);
    SR_RUN(test_group_commit_under_load);
    SR_RUN(test_kill9_mid_burst);
    json_decref(manifests_ab);
    return sr_test_finish();
}

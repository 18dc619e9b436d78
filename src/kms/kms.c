/* The KMS release policy (see include/sealroom/kms.h, docs/PROTOCOL.md). */
#include "sealroom/kms.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/archive.h"
#include "sealroom/attest.h"
#include "sealroom/buf.h"
#include "sealroom/gate.h"
#include "sealroom/json.h"
#include "sealroom/kmsstore.h"
#include "sealroom/recipe.h"
#include "sealroom/secmem.h"

#define MAX_RUNTIMES 64
#define MAX_GROUP 64 /* requests in one group commit (kms serve has at most 64 threads) */

/* A request waiting at the commit step (sr_kms_release): queued under
 * group_mu until a leader has committed it; lives on its thread's stack. */
typedef struct commit_waiter {
    sr_kms_release_item item;
    int done;
    struct commit_waiter *next;
} commit_waiter;

typedef struct runtime {
    char name[64];
    uint8_t mr[4][48]; /* MRTD, RTMR0, RTMR1, RTMR2 */
} runtime;

struct sr_kms {
    char dir[1024];
    char gate_spec[SR_GATE_SPEC_MAX];
    uint8_t *root_sk; /* secure memory, 32 bytes */
    uint8_t root_pub[SR_SECP_PUBKEY_LEN];
    uint8_t audit_key[32];
    runtime runtimes[MAX_RUNTIMES];
    size_t nruntimes;
    int any_runtime;
    int allow_simulated;
    int allow_debug;
    sr_buf sim_root;
    sr_buf collateral;
    sr_attest_cache *cache;
    sr_kms_clock_fn clock;
    void *clock_ctx;
    /* One gate handle and one store connection for the process, each used
     * under its mutex: the ledger handle refreshes incrementally on every
     * status read (so revocations are seen at once) and the store's
     * transactions never wait on each other's SQLite locks. */
    sr_gate *gate;
    pthread_mutex_t gate_mu;
    sr_kms_store *store;
    pthread_mutex_t store_mu;
    /* Group commit: requests reaching the release transaction while one is
     * in flight queue here; the next leader commits the whole queue in one
     * transaction (one fsync) and wakes them (docs/PROTOCOL.md). */
    pthread_mutex_t group_mu;
    pthread_cond_t group_cv;
    commit_waiter *queue_head, **queue_tail;
    size_t queued;
    int committing;
    sr_kms_commit_stats stats;
    void (*before_commit)(void *ctx, size_t n);
    void *before_commit_ctx;
};

static int64_t kms_now(const sr_kms *k)
{
    return k->clock ? k->clock(k->clock_ctx) : (int64_t)time(NULL);
}

static int load_runtimes(sr_kms *k, const char *path, sr_error *err)
{
    sr_buf b;
    sr_buf_init(&b);
    int rc = sr_file_read(path, 1u << 20, &b, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "runtimes");
    json_t *j = sr_json_parse(b.data, b.len, 1u << 20, err);
    sr_buf_free(&b);
    if (j == NULL)
        return sr_error_prefix(err, "runtimes %s", path);
    json_t *list = json_is_array(j) ? j : json_object_get(j, "runtimes");
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_RUNTIMES) {
        json_decref(j);
        return sr_error_set(err, SR_EFORMAT, "runtimes %s: expected a list of 1..%d runtimes", path, MAX_RUNTIMES);
    }
    static const char *const keys[4] = {"mrtd", "rtmr0", "rtmr1", "rtmr2"};
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        runtime *r = &k->runtimes[i];
        const char *name = "unnamed";
        if ((rc = sr_json_get_str(e, "name", 0, &name, "runtime", err)) != SR_OK)
            break;
        snprintf(r->name, sizeof r->name, "%s", name);
        for (int m = 0; m < 4 && rc == SR_OK; m++)
            rc = sr_json_get_hex(e, keys[m], r->mr[m], 48, "runtime", err);
        if (rc != SR_OK)
            break;
    }
    if (rc == SR_OK)
        k->nruntimes = json_array_size(list);
    json_decref(j);
    return rc == SR_OK ? SR_OK : sr_error_prefix(err, "runtimes %s", path);
}

int sr_kms_new(const sr_kms_config *cfg, sr_kms **out, sr_error *err)
{
    if (cfg->dir == NULL || cfg->gate_spec == NULL)
        return sr_error_set(err, SR_EINVAL, "kms: --dir and --gate are required");
    if (cfg->runtimes_path == NULL && !cfg->any_runtime)
        return sr_error_set(err, SR_EINVAL, "kms: give the allowed runtimes (--runtimes FILE) or --any-runtime");
    if (cfg->allow_simulated && cfg->sim_root_path == NULL)
        return sr_error_set(err, SR_EINVAL, "kms: --allow-simulated-tee needs --sim-root (PEM or sim folder)");
    sr_kms *k = calloc(1, sizeof *k);
    if (k == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    pthread_mutex_init(&k->gate_mu, NULL);
    pthread_mutex_init(&k->store_mu, NULL);
    pthread_mutex_init(&k->group_mu, NULL);
    pthread_cond_init(&k->group_cv, NULL);
    snprintf(k->dir, sizeof k->dir, "%s", cfg->dir);
    snprintf(k->gate_spec, sizeof k->gate_spec, "%s", cfg->gate_spec);
    k->any_runtime = cfg->any_runtime;
    k->allow_simulated = cfg->allow_simulated;
    k->allow_debug = cfg->allow_debug;
    k->clock = cfg->clock;
    k->clock_ctx = cfg->clock_ctx;
    k->before_commit = cfg->before_commit;
    k->before_commit_ctx = cfg->before_commit_ctx;
    k->queue_tail = &k->queue_head;
    sr_buf_init(&k->sim_root);
    sr_buf_init(&k->collateral);
    k->root_sk = sr_secure_alloc(32);
    if (k->root_sk == NULL) {
        sr_kms_free(k);
        return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    }
    if ((rc = sr_kms_root_load(cfg->dir, k->root_sk, k->root_pub, err)) != SR_OK)
        goto fail;
    if ((rc = sr_hkdf_sha256(k->root_sk, 32, (const uint8_t *)"sealroom/v1/kms-audit-key", 25, NULL, 0, k->audit_key,
                             32, err)) != SR_OK)
        goto fail;
    if (cfg->runtimes_path != NULL && (rc = load_runtimes(k, cfg->runtimes_path, err)) != SR_OK)
        goto fail;
    if (cfg->allow_simulated) {
        rc = sr_tee_sim_root_pem(cfg->sim_root_path, &k->sim_root, err);
        if (rc != SR_OK) {
            sr_buf_reset(&k->sim_root);
            rc = sr_file_read(cfg->sim_root_path, 1u << 20, &k->sim_root, err);
        }
        if (rc != SR_OK) {
            sr_error_prefix(err, "--sim-root");
            goto fail;
        }
    }
    if (cfg->collateral_path != NULL &&
        (rc = sr_file_read(cfg->collateral_path, 8u << 20, &k->collateral, err)) != SR_OK)
        goto fail;
    if ((rc = sr_gate_open(k->gate_spec, &k->gate, err)) != SR_OK) {
        sr_error_prefix(err, "gate %s", k->gate_spec);
        goto fail;
    }
    if ((rc = sr_kms_store_open(k->dir, k->audit_key, &k->store, err)) != SR_OK)
        goto fail;
    k->cache = sr_attest_cache_new(64);
    *out = k;
    return SR_OK;
fail:
    sr_kms_free(k);
    return rc;
}

void sr_kms_free(sr_kms *k)
{
    if (k == NULL)
        return;
    sr_secure_free(k->root_sk, 32);
    sr_memzero(k->audit_key, sizeof k->audit_key);
    sr_buf_free(&k->sim_root);
    sr_buf_free(&k->collateral);
    sr_attest_cache_free(k->cache);
    sr_gate_close(k->gate);
    sr_kms_store_close(k->store);
    pthread_mutex_destroy(&k->gate_mu);
    pthread_mutex_destroy(&k->store_mu);
    pthread_mutex_destroy(&k->group_mu);
    pthread_cond_destroy(&k->group_cv);
    free(k);
}

int sr_kms_issue_nonce(sr_kms *k, json_t **reply, sr_error *err)
{
    uint8_t nonce[SR_KMS_NONCE_LEN];
    int64_t now = kms_now(k);
    pthread_mutex_lock(&k->store_mu);
    int rc = sr_kms_nonce_issue(k->store, now, nonce, err);
    pthread_mutex_unlock(&k->store_mu);
    if (rc != SR_OK)
        return rc;
    char hex[2 * SR_KMS_NONCE_LEN + 1];
    sr_hex_encode(nonce, sizeof nonce, hex);
    *reply = json_pack("{s:s,s:I}", "nonce", hex, "expires_at", (json_int_t)(now + SR_KMS_NONCE_TTL));
    return *reply ? SR_OK : sr_error_set(err, SR_ENOMEM, "out of memory");
}

void sr_kms_report_data(const uint8_t compose_hash[32], const uint8_t client_pub[SR_SECP_PUBKEY_LEN],
                        const uint8_t nonce[32], uint8_t out[64])
{
    sr_sha256_ctx *c = sr_sha256_new();
    sr_sha256_update(c, SR_KMS_REPORTDATA_LABEL, sizeof SR_KMS_REPORTDATA_LABEL - 1);
    sr_sha256_update(c, compose_hash, 32);
    sr_sha256_update(c, client_pub, SR_SECP_PUBKEY_LEN);
    sr_sha256_update(c, nonce, 32);
    sr_sha256_final(c, out);
    memset(out + 32, 0, 32);
}

size_t sr_kms_release_context(const uint8_t compose_hash[32], const uint8_t archive_id[16], uint8_t out[96])
{
    size_t n = sizeof SR_KMS_RELEASE_LABEL - 1;
    memcpy(out, SR_KMS_RELEASE_LABEL, n);
    memcpy(out + n, compose_hash, 32);
    memcpy(out + n + 32, archive_id, 16);
    return n + 48;
}

/* ---- group commit ----------------------------------------------------------- */

/* Runs the release transaction of item: queues it, and either becomes the
 * leader (no commit in flight) and commits everything queued, up to
 * MAX_GROUP, in one transaction, or waits until a leader has. Returns once
 * the transaction holding item is durable (or failed); item->rc says how it
 * went. The leader holds store_mu only for the transaction itself. */
static void group_commit(sr_kms *k, sr_kms_release_item *item)
{
    commit_waiter me = {.item = *item};
    pthread_mutex_lock(&k->group_mu);
    *k->queue_tail = &me;
    k->queue_tail = &me.next;
    k->queued++;
    while (!me.done) {
        if (k->committing) {
            pthread_cond_wait(&k->group_cv, &k->group_mu);
            continue;
        }
        /* Lead: take the queue's head (me among it, unless an earlier
         * leader's group was full and I am still waiting further back). */
        k->committing = 1;
        commit_waiter *group[MAX_GROUP];
        sr_kms_release_item *items[MAX_GROUP];
        size_t n = 0;
        while (k->queue_head != NULL && n < MAX_GROUP) {
            group[n] = k->queue_head;
            items[n] = &group[n]->item;
            n++;
            k->queue_head = k->queue_head->next;
        }
        if (k->queue_head == NULL)
            k->queue_tail = &k->queue_head;
        k->queued -= n;
        pthread_mutex_unlock(&k->group_mu);
        if (k->before_commit != NULL)
            k->before_commit(k->before_commit_ctx, n);
        pthread_mutex_lock(&k->store_mu);
        /* on failure every member's rc names the cause: nothing more to do */
        (void)sr_kms_release_commit_group(k->store, items, n, NULL);
        pthread_mutex_unlock(&k->store_mu);
        pthread_mutex_lock(&k->group_mu);
        k->stats.commits++;
        k->stats.requests += n;
        if (n > k->stats.max_group)
            k->stats.max_group = n;
        for (size_t i = 0; i < n; i++)
            group[i]->done = 1;
        k->committing = 0;
        pthread_cond_broadcast(&k->group_cv);
    }
    pthread_mutex_unlock(&k->group_mu);
    item->rc = me.item.rc;
    item->err = me.item.err;
}

void sr_kms_get_commit_stats(sr_kms *k, sr_kms_commit_stats *out)
{
    pthread_mutex_lock(&k->group_mu);
    *out = k->stats;
    out->queued = k->queued;
    pthread_mutex_unlock(&k->group_mu);
}

/* ---- one release request ------------------------------------------------ */

typedef struct release_ctx {
    sr_kms *k;
    json_t *req;
    sr_recipe *recipe;
    uint8_t compose_hash[32];
    uint8_t client_pub[SR_SECP_PUBKEY_LEN];
    uint8_t nonce[32];
    sr_buf quote;
    const char *event_log;
    sr_attest_result att;
    sr_gate_status gate;
    char gate_backend[16];
    sr_manifest *manifests[SR_KMS_MAX_DATASETS];
    size_t nmanifests;
    char dataset_ids[SR_KMS_MAX_DATASETS][SR_OWNER_ID_MAX + 40];
    json_t *keys;
    double epsilon;
    /* audit */
    char app_hex[43];
    char compose_hex[67];
    char client_hex[67];
    char *measurements;
    char *datasets;
} release_ctx;

static int deny(sr_error *err, const char *fmt, const char *a, const char *b)
{
    return sr_error_set(err, SR_EDENIED, fmt, a, b);
}

static int parse_request(release_ctx *c, sr_error *err)
{
    json_t *r = c->req;
    int64_t version = 0;
    const char *s = NULL;
    int rc;
    if ((rc = sr_json_get_int(r, "version", 1, &version, "request", err)) != SR_OK)
        return rc;
    if (version != SR_KMS_PROTOCOL_VERSION)
        return sr_error_set(err, SR_EFORMAT, "request: unsupported version %lld", (long long)version);
    if ((rc = sr_json_get_str(r, "quote", 1, &s, "request", err)) != SR_OK)
        return rc;
    if (strlen(s) > 2 * SR_QUOTE_MAX_LEN + 2)
        return sr_error_set(err, SR_ELIMIT, "request: quote too large");
    if ((rc = sr_buf_reserve(&c->quote, strlen(s) / 2 + 1, err)) != SR_OK)
        return rc;
    if ((rc = sr_hex_decode(s, c->quote.data, c->quote.cap, &c->quote.len, err)) != SR_OK)
        return sr_error_prefix(err, "request: quote");
    if ((rc = sr_json_get_str(r, "event_log", 1, &c->event_log, "request", err)) != SR_OK)
        return rc;
    if ((rc = sr_json_get_hex(r, "client_pubkey", c->client_pub, SR_SECP_PUBKEY_LEN, "request", err)) != SR_OK)
        return rc;
    if ((rc = sr_secp_pubkey_normalize(c->client_pub, SR_SECP_PUBKEY_LEN, c->client_pub, err)) != SR_OK)
        return sr_error_prefix(err, "request: client_pubkey");
    if ((rc = sr_json_get_hex(r, "nonce", c->nonce, 32, "request", err)) != SR_OK)
        return rc;
    const char *recipe_b64 = NULL;
    if ((rc = sr_json_get_str(r, "recipe", 1, &recipe_b64, "request", err)) != SR_OK)
        return rc;
    sr_buf rb;
    sr_buf_init(&rb);
    if ((rc = sr_base64_decode(recipe_b64, &rb, err)) != SR_OK) {
        sr_buf_free(&rb);
        return sr_error_prefix(err, "request: recipe");
    }
    rc = sr_recipe_parse(rb.data, rb.len, &c->recipe, err);
    sr_buf_free(&rb);
    if (rc != SR_OK)
        return sr_error_prefix(err, "request: recipe");
    memcpy(c->compose_hash, sr_recipe_compose_hash(c->recipe), 32);
    const char *claimed = NULL;
    if ((rc = sr_json_get_str(r, "compose_hash", 0, &claimed, "request", err)) != SR_OK)
        return rc;
    if (claimed != NULL) {
        uint8_t h[32];
        if (sr_hex_decode_exact(claimed, h, 32, err) != SR_OK)
            return sr_error_prefix(err, "request: compose_hash");
        if (memcmp(h, c->compose_hash, 32) != 0)
            return sr_error_set(err, SR_EFORMAT, "request: compose_hash is not the SHA-256 of the recipe");
    }
    /* The run's epsilon: privacy.epsilon of the recipe (0 when it declares none). */
    const json_t *priv = json_object_get(sr_recipe_json(c->recipe), "privacy");
    c->epsilon = 0;
    if (json_is_object(priv) && (rc = sr_json_get_real(priv, "epsilon", 0, &c->epsilon, "recipe privacy", err)) != SR_OK)
        return rc;
    if (!(c->epsilon >= 0))
        return sr_error_set(err, SR_EFORMAT, "recipe privacy: epsilon must not be negative");
    sr_eth_address_to_string(sr_recipe_app_id(c->recipe), c->app_hex);
    c->compose_hex[0] = '0';
    c->compose_hex[1] = 'x';
    sr_hex_encode(c->compose_hash, 32, c->compose_hex + 2);
    sr_hex_encode(c->client_pub, SR_SECP_PUBKEY_LEN, c->client_hex);
    return SR_OK;
}

static int check_quote(release_ctx *c, sr_error *err)
{
    sr_kms *k = c->k;
    const uint8_t *roots[2];
    size_t lens[2];
    size_t nroots = 0;
    roots[nroots] = (const uint8_t *)sr_intel_sgx_root_ca_pem;
    lens[nroots++] = strlen(sr_intel_sgx_root_ca_pem);
    if (k->allow_simulated) {
        roots[nroots] = k->sim_root.data;
        lens[nroots++] = k->sim_root.len;
    }
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.roots = roots;
    pol.root_lens = lens;
    pol.nroots = nroots;
    pol.now = (time_t)kms_now(k);
    pol.allow_debug = k->allow_debug;
    pol.allow_simulated = k->allow_simulated;
    pol.event_log = c->event_log;
    pol.event_log_len = strlen(c->event_log);
    pol.cache = k->cache;
    if (k->collateral.len > 0) {
        pol.collateral = (const char *)k->collateral.data;
        pol.collateral_len = k->collateral.len;
    }
    sr_error e;
    int rc = sr_attest_verify(c->quote.data, c->quote.len, &pol, &c->att, &e);
    if (c->att.parsed) {
        const sr_tdx_body *b = &c->att.quote.body;
        char h[5][97];
        sr_hex_encode(b->mrtd, 48, h[0]);
        for (int i = 0; i < 4; i++)
            sr_hex_encode(b->rtmr[i], 48, h[i + 1]);
        json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "mrtd", h[0], "rtmr0", h[1], "rtmr1", h[2], "rtmr2", h[3],
                              "rtmr3", h[4], "tee", sr_attest_verdict_name(c->att.verdict));
        c->measurements = m ? json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(m);
    }
    if (rc != SR_OK)
        return sr_error_set(err, rc == SR_EFORMAT ? SR_EFORMAT : SR_EDENIED, "quote: %s", e.msg);
    uint8_t want[64];
    sr_kms_report_data(c->compose_hash, c->client_pub, c->nonce, want);
    if (!sr_ct_equal(want, c->att.quote.body.report_data, 64))
        return sr_error_set(err, SR_EDENIED,
                            "quote: REPORTDATA does not bind this compose hash, client key and nonce");
    if (!c->att.eventlog_checked || !c->att.has_compose_hash)
        return sr_error_set(err, SR_EDENIED, "event log: no compose-hash event");
    if (memcmp(c->att.compose_hash, c->compose_hash, 32) != 0)
        return sr_error_set(err, SR_EDENIED, "event log: the VM measured another compose hash than the request's");
    if (!c->k->any_runtime) {
        const sr_tdx_body *b = &c->att.quote.body;
        for (size_t i = 0; i < c->k->nruntimes; i++) {
            const runtime *r = &c->k->runtimes[i];
            if (memcmp(r->mr[0], b->mrtd, 48) == 0 && memcmp(r->mr[1], b->rtmr[0], 48) == 0 &&
                memcmp(r->mr[2], b->rtmr[1], 48) == 0 && memcmp(r->mr[3], b->rtmr[2], 48) == 0)
                return SR_OK;
        }
        char mrtd[17];
        sr_hex_encode(b->mrtd, 8, mrtd);
        return sr_error_set(err, SR_EDENIED, "runtime not allowed: MRTD %s... and RTMR0-2 are not in the allowed list",
                            mrtd);
    }
    return SR_OK;
}

/* Rollback / fork detection (docs/PROTOCOL.md "Gate anchors"): the gate
 * just read (c->gate) must not be behind what this KMS has seen before, and
 * on the ledger the entry at the anchored sequence must be the one seen.
 * Then the anchor moves up to this read. Caller holds gate_mu. */
static int check_anchor(release_ctx *c, sr_error *err)
{
    sr_kms *k = c->k;
    const sr_gate_status *st = &c->gate;
    char app[43], key[SR_KMS_GATE_KEY_MAX + 1];
    sr_eth_address_to_string(st->domain.app, app);
    snprintf(key, sizeof key, "%s:%llu:%s", c->gate_backend, (unsigned long long)st->domain.chain_id, app);
    int ledger = st->has_snapshot_hash;
    sr_kms_anchor seen, now;
    int found = 0;
    pthread_mutex_lock(&k->store_mu);
    int rc = sr_kms_anchor_get(k->store, key, &seen, &found, err);
    pthread_mutex_unlock(&k->store_mu);
    if (rc != SR_OK)
        return sr_error_prefix(err, "gate anchor");
    if (found && st->snapshot < seen.pos) {
        if (ledger)
            return sr_error_set(err, SR_EDENIED, "gate ledger rolled back: sequence %llu, KMS has seen %llu",
                                (unsigned long long)st->snapshot, (unsigned long long)seen.pos);
        return sr_error_set(err, SR_EDENIED, "gate chain went back: block %llu, KMS has seen %llu",
                            (unsigned long long)st->snapshot, (unsigned long long)seen.pos);
    }
    if (found && ledger && seen.has_hash) {
        uint8_t h[32];
        if (seen.pos == st->snapshot)
            memcpy(h, st->snapshot_hash, 32);
        else if ((rc = sr_gate_entry_hash(k->gate, seen.pos, h, err)) != SR_OK)
            return sr_error_prefix(err, "gate");
        if (memcmp(h, seen.hash, 32) != 0)
            return sr_error_set(err, SR_EDENIED, "gate ledger forked at sequence %llu",
                                (unsigned long long)seen.pos);
    }
    if (found && st->snapshot == seen.pos)
        return SR_OK;
    memset(&now, 0, sizeof now);
    now.pos = st->snapshot;
    now.has_hash = ledger;
    if (ledger)
        memcpy(now.hash, st->snapshot_hash, 32);
    pthread_mutex_lock(&k->store_mu);
    rc = sr_kms_anchor_advance(k->store, key, &now, err);
    pthread_mutex_unlock(&k->store_mu);
    return rc == SR_OK ? SR_OK : sr_error_prefix(err, "gate anchor");
}

static int check_gate(release_ctx *c, sr_error *err)
{
    sr_gate *g = c->k->gate;
    int rc = SR_OK;
    snprintf(c->gate_backend, sizeof c->gate_backend, "%s", sr_gate_backend(g));
    size_t nds = sr_recipe_dataset_count(c->recipe);
    const char *required[SR_KMS_MAX_DATASETS];
    if (nds > SR_KMS_MAX_DATASETS)
        return sr_error_set(err, SR_ELIMIT, "recipe reads more than %d datasets", SR_KMS_MAX_DATASETS);
    for (size_t i = 0; i < nds; i++)
        required[i] = sr_recipe_dataset_owner(c->recipe, i);
    /* The status read, the anchor check and its advance under one lock, so
     * two requests never compare a read against an anchor set by a newer one. */
    pthread_mutex_lock(&c->k->gate_mu);
    rc = sr_gate_status_get(g, c->compose_hash, required, nds, &c->gate, err);
    if (rc != SR_OK) {
        pthread_mutex_unlock(&c->k->gate_mu);
        return sr_error_prefix(err, "gate");
    }
    rc = check_anchor(c, err);
    pthread_mutex_unlock(&c->k->gate_mu);
    if (rc != SR_OK)
        return rc;
    if (memcmp(c->gate.domain.app, sr_recipe_app_id(c->recipe), SR_ETH_ADDR_LEN) != 0) {
        char gapp[43];
        sr_eth_address_to_string(c->gate.domain.app, gapp);
        return deny(err, "recipe app id %s is not the gate's app %s", c->app_hex, gapp);
    }
    if (c->gate.config.kms_pubkey_len != SR_SECP_PUBKEY_LEN ||
        memcmp(c->gate.config.kms_pubkey, c->k->root_pub, SR_SECP_PUBKEY_LEN) != 0)
        return sr_error_set(err, SR_EDENIED, "the gate trusts another KMS root key than this KMS's");
    if (!c->gate.allowed)
        return sr_error_set(err, SR_EDENIED, "%s", c->gate.reason);
    return SR_OK;
}

static int check_manifests(release_ctx *c, sr_error *err)
{
    json_t *list = NULL;
    int rc = sr_json_get_arr(c->req, "manifests", 1, &list, "request", err);
    if (rc != SR_OK)
        return rc;
    if (json_array_size(list) == 0 || json_array_size(list) > SR_KMS_MAX_DATASETS)
        return sr_error_set(err, SR_EFORMAT, "request: 1..%d manifests expected", SR_KMS_MAX_DATASETS);
    json_t *dsids = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *mb64 = NULL;
        uint8_t sig[SR_ETH_SIG_LEN];
        if ((rc = sr_json_get_str(e, "manifest", 1, &mb64, "manifest entry", err)) != SR_OK ||
            (rc = sr_json_get_hex(e, "signature", sig, sizeof sig, "manifest entry", err)) != SR_OK)
            break;
        sr_buf mb;
        sr_buf_init(&mb);
        if ((rc = sr_base64_decode(mb64, &mb, err)) != SR_OK) {
            sr_buf_free(&mb);
            sr_error_prefix(err, "manifest %zu", i);
            break;
        }
        sr_manifest *m = NULL;
        rc = sr_manifest_parse(mb.data, mb.len, &m, err);
        if (rc == SR_OK) {
            c->manifests[c->nmanifests++] = m;
            rc = sr_manifest_verify_sig(mb.data, mb.len, sig, m->owner_address, err);
            if (rc != SR_OK)
                rc = sr_error_set(err, SR_EDENIED, "manifest of %s: owner signature invalid", m->owner_id);
        } else {
            sr_error_prefix(err, "manifest %zu", i);
        }
        sr_buf_free(&mb);
        if (rc != SR_OK)
            break;
        const char *who = m->owner_id;
        int oi = sr_gate_owner_index_id(&c->gate.config, who);
        if (oi < 0) {
            rc = deny(err, "manifest of %s: %s is not an owner of the consortium", who, who);
            break;
        }
        if (memcmp(c->gate.config.owners[oi].addr, m->owner_address, SR_ETH_ADDR_LEN) != 0) {
            rc = deny(err, "manifest of %s: signed by an address that is not owner %s's", who, who);
            break;
        }
        if (memcmp(m->app_id, sr_recipe_app_id(c->recipe), SR_APP_ID_LEN) != 0) {
            char other[43];
            sr_eth_address_to_string(m->app_id, other);
            rc = deny(err, "manifest of %s is bound to another app (%s)", who, other);
            break;
        }
        if (memcmp(m->compose_hash, c->compose_hash, 32) != 0) {
            rc = deny(err, "manifest of %s is bound to another recipe%s", who, "");
            break;
        }
        if (memcmp(m->kms_root_pub, c->k->root_pub, SR_SECP_PUBKEY_LEN) != 0) {
            rc = deny(err, "manifest of %s was sealed for another KMS root key%s", who, "");
            break;
        }
        if (sr_recipe_schema_for(c->recipe, who) == NULL) {
            rc = deny(err, "manifest of %s: the recipe reads no dataset of %s", who, who);
            break;
        }
        char aid[2 * SR_ARCHIVE_ID_LEN + 1];
        sr_hex_encode(m->archive_id, SR_ARCHIVE_ID_LEN, aid);
        snprintf(c->dataset_ids[c->nmanifests - 1], sizeof c->dataset_ids[0], "%s/%s", who, aid);
        for (size_t j = 0; j + 1 < c->nmanifests; j++) {
            if (strcmp(c->dataset_ids[j], c->dataset_ids[c->nmanifests - 1]) == 0) {
                rc = sr_error_set(err, SR_EFORMAT, "request: dataset %s given twice", c->dataset_ids[j]);
                break;
            }
        }
        if (rc != SR_OK)
            break;
        json_array_append_new(dsids, json_string(c->dataset_ids[c->nmanifests - 1]));
    }
    c->datasets = json_dumps(dsids, JSON_COMPACT);
    json_decref(dsids);
    return rc;
}

static int release_keys(release_ctx *c, sr_error *err)
{
    c->keys = json_array();
    uint8_t *dek = sr_secure_alloc(SR_DEK_LEN);
    if (dek == NULL || c->keys == NULL) {
        sr_secure_free(dek, SR_DEK_LEN);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    int rc = SR_OK;
    for (size_t i = 0; i < c->nmanifests && rc == SR_OK; i++) {
        const sr_manifest *m = c->manifests[i];
        sr_keywrap_binding b;
        if ((rc = sr_manifest_binding(m, &b, err)) != SR_OK)
            break;
        if ((rc = sr_keywrap_unwrap(c->k->root_sk, &b, &m->key, dek, err)) != SR_OK) {
            rc = sr_error_set(err, SR_EDENIED, "manifest of %s: its data key does not unwrap for this recipe",
                              m->owner_id);
            break;
        }
        uint8_t ctx[96];
        size_t n = sr_kms_release_context(c->compose_hash, m->archive_id, ctx);
        sr_keywrap_envelope env;
        if ((rc = sr_keywrap_seal_to(c->client_pub, ctx, n, dek, &env, err)) != SR_OK)
            break;
        char aid[33], eph[67], wr[2 * SR_WRAPPED_DEK_LEN + 1];
        sr_hex_encode(m->archive_id, 16, aid);
        sr_hex_encode(env.ephemeral, sizeof env.ephemeral, eph);
        sr_hex_encode(env.wrapped, sizeof env.wrapped, wr);
        json_array_append_new(c->keys, json_pack("{s:s,s:s,s:s,s:s,s:s}", "owner_id", m->owner_id, "archive_id", aid,
                                                 "dataset", c->dataset_ids[i], "ephemeral", eph, "wrapped", wr));
    }
    sr_secure_free(dek, SR_DEK_LEN);
    return rc;
}

static json_t *gate_snapshot_json(const release_ctx *c)
{
    char app[43];
    sr_eth_address_to_string(c->gate.domain.app, app);
    json_t *approvers = json_array();
    for (size_t i = 0; i < c->gate.config.n_owners; i++) {
        if (!c->gate.approved[i])
            continue;
        char a[43];
        sr_eth_address_to_string(c->gate.config.owners[i].addr, a);
        json_array_append_new(approvers, json_pack("{s:s,s:s}", "id", c->gate.config.owners[i].id, "address", a));
    }
    return json_pack("{s:s,s:I,s:s,s:I,s:s,s:I,s:I,s:o}", "backend", c->gate_backend, "chain_id",
                     (json_int_t)c->gate.domain.chain_id, "app", app, "snapshot", (json_int_t)c->gate.snapshot,
                     "pos_unit", c->gate.pos_unit, "threshold", (json_int_t)c->gate.config.threshold, "owners",
                     (json_int_t)c->gate.config.n_owners, "approvers", approvers);
}

static int make_certificate(release_ctx *c, int64_t now, json_t **cert, sr_error *err)
{
    char kpub[67];
    sr_hex_encode(c->k->root_pub, SR_SECP_PUBKEY_LEN, kpub);
    json_t *ds = json_loads(c->datasets ? c->datasets : "[]", 0, NULL);
    int64_t eps_micro = 0;
    (void)sr_kms_eps_to_micro(c->epsilon, 1, &eps_micro, NULL);
    json_t *payload = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "version", SR_KMS_PROTOCOL_VERSION,
                                "kms_pubkey", kpub, "app_id", c->app_hex, "compose_hash", c->compose_hex,
                                "client_pubkey", c->client_hex, "tee", sr_attest_verdict_name(c->att.verdict),
                                "tcb_status", c->att.tcb_status, "gate",
                                gate_snapshot_json(c), "datasets", ds ? ds : json_array(), "epsilon_micro",
                                (json_int_t)eps_micro, "issued_at", (json_int_t)now);
    char *text = payload ? json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(payload);
    if (text == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    uint8_t digest[32], sig[SR_ETH_SIG_LEN];
    sr_sha256_ctx *h = sr_sha256_new();
    sr_sha256_update(h, SR_KMS_CERT_LABEL, sizeof SR_KMS_CERT_LABEL - 1);
    sr_sha256_update(h, text, strlen(text));
    sr_sha256_final(h, digest);
    int rc = sr_secp_sign_recoverable(c->k->root_sk, digest, sig, err);
    if (rc == SR_OK) {
        char sh[2 + 2 * SR_ETH_SIG_LEN + 1] = "0x";
        sr_hex_encode(sig, sizeof sig, sh + 2);
        *cert = json_pack("{s:s,s:s}", "payload", text, "signature", sh);
    }
    free(text);
    return rc;
}

int sr_kms_cert_verify(const json_t *cert, const uint8_t kms_root_pub[SR_SECP_PUBKEY_LEN], json_t **payload,
                       sr_error *err)
{
    const char *text = NULL;
    uint8_t sig[SR_ETH_SIG_LEN];
    int rc;
    if ((rc = sr_json_get_str(cert, "payload", 1, &text, "kms certificate", err)) != SR_OK ||
        (rc = sr_json_get_hex(cert, "signature", sig, sizeof sig, "kms certificate", err)) != SR_OK)
        return rc;
    uint8_t digest[32], pub[SR_SECP_PUBKEY_FULL_LEN], want[SR_SECP_PUBKEY_FULL_LEN];
    sr_sha256_ctx *h = sr_sha256_new();
    sr_sha256_update(h, SR_KMS_CERT_LABEL, sizeof SR_KMS_CERT_LABEL - 1);
    sr_sha256_update(h, text, strlen(text));
    sr_sha256_final(h, digest);
    if (sr_secp_recover(digest, sig, pub, err) != SR_OK ||
        sr_secp_pubkey_decompress(kms_root_pub, want, err) != SR_OK || memcmp(pub, want, sizeof pub) != 0)
        return sr_error_set(err, SR_EVERIFY, "kms certificate: not signed by the KMS root key");
    json_t *p = sr_json_parse(text, strlen(text), 1u << 20, err);
    if (p == NULL)
        return sr_error_prefix(err, "kms certificate payload");
    *payload = p;
    return SR_OK;
}

json_t *sr_kms_request_new(const uint8_t *recipe, size_t recipe_len, const uint8_t *quote, size_t quote_len,
                           const char *event_log, const uint8_t client_pub[SR_SECP_PUBKEY_LEN],
                           const uint8_t nonce[32], const json_t *manifests)
{
    char *qhex = malloc(2 * quote_len + 1);
    char *rb64 = sr_base64_encode(recipe, recipe_len);
    json_t *req = NULL;
    if (qhex != NULL && rb64 != NULL) {
        char pub[2 * SR_SECP_PUBKEY_LEN + 1], nh[65];
        sr_hex_encode(quote, quote_len, qhex);
        sr_hex_encode(client_pub, SR_SECP_PUBKEY_LEN, pub);
        sr_hex_encode(nonce, 32, nh);
        req = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:O}", "version", SR_KMS_PROTOCOL_VERSION, "quote", qhex,
                        "event_log", event_log, "recipe", rb64, "client_pubkey", pub, "nonce", nh, "manifests",
                        manifests);
    }
    free(qhex);
    free(rb64);
    return req;
}

json_t *sr_kms_manifest_entry(const struct sr_archive *a)
{
    size_t n = 0;
    const uint8_t *mb = sr_archive_manifest_bytes(a, &n);
    char *b64 = sr_base64_encode(mb, n);
    char sig[2 * SR_ETH_SIG_LEN + 1];
    sr_hex_encode(sr_archive_signature(a), SR_ETH_SIG_LEN, sig);
    json_t *e = b64 ? json_pack("{s:s,s:s}", "manifest", b64, "signature", sig) : NULL;
    free(b64);
    return e;
}

int sr_kms_open_key(const json_t *key_entry, const uint8_t compose_hash[32], const uint8_t client_sk[32],
                    uint8_t archive_id[16], uint8_t dek[SR_DEK_LEN], sr_error *err)
{
    sr_keywrap_envelope env;
    int rc;
    if ((rc = sr_json_get_hex(key_entry, "archive_id", archive_id, 16, "released key", err)) != SR_OK ||
        (rc = sr_json_get_hex(key_entry, "ephemeral", env.ephemeral, sizeof env.ephemeral, "released key", err)) !=
            SR_OK ||
        (rc = sr_json_get_hex(key_entry, "wrapped", env.wrapped, sizeof env.wrapped, "released key", err)) != SR_OK)
        return rc;
    uint8_t ctx[96];
    size_t n = sr_kms_release_context(compose_hash, archive_id, ctx);
    return sr_keywrap_open_with(client_sk, ctx, n, &env, dek, err);
}

static void audit_refusal(release_ctx *c, int64_t now, const char *reason)
{
    sr_error e;
    sr_kms_audit_record rec = {
        .time = now,
        .allowed = 0,
        .reason = reason,
        .app_id = c->recipe ? c->app_hex : NULL,
        .compose_hash = c->recipe ? c->compose_hex : NULL,
        .measurements = c->measurements,
        .datasets = c->datasets,
        .client = c->client_hex[0] ? c->client_hex : NULL,
    };
    pthread_mutex_lock(&c->k->store_mu);
    if (sr_kms_audit_refusal(c->k->store, &rec, &e) != SR_OK)
        fprintf(stderr, "kms: cannot audit a refusal (%s): %s\n", reason, e.msg);
    pthread_mutex_unlock(&c->k->store_mu);
}

int sr_kms_release(sr_kms *k, const uint8_t *body, size_t len, json_t **reply, sr_error *err)
{
    release_ctx c;
    memset(&c, 0, sizeof c);
    c.k = k;
    sr_buf_init(&c.quote);
    int64_t now = kms_now(k);
    int rc = SR_OK;
    c.req = sr_json_parse(body, len, SR_KMS_MAX_REQUEST, err);
    if (c.req == NULL) {
        rc = err ? err->code : SR_EFORMAT;
        goto refuse;
    }
    if ((rc = parse_request(&c, err)) != SR_OK)
        goto refuse;
    pthread_mutex_lock(&k->store_mu);
    rc = sr_kms_nonce_check(k->store, c.nonce, now, err);
    pthread_mutex_unlock(&k->store_mu);
    if (rc != SR_OK)
        goto refuse;
    if ((rc = check_quote(&c, err)) != SR_OK)
        goto refuse;
    if ((rc = check_gate(&c, err)) != SR_OK)
        goto refuse;
    if ((rc = check_manifests(&c, err)) != SR_OK)
        goto refuse;
    if ((rc = release_keys(&c, err)) != SR_OK)
        goto refuse;
    json_t *cert = NULL;
    if ((rc = make_certificate(&c, now, &cert, err)) != SR_OK)
        goto done;

    sr_kms_charge charges[SR_KMS_MAX_DATASETS];
    int64_t charge = 0;
    if ((rc = sr_kms_eps_to_micro(c.epsilon, 1, &charge, err)) != SR_OK) {
        json_decref(cert);
        goto refuse;
    }
    for (size_t i = 0; i < c.nmanifests; i++) {
        charges[i].dataset = c.dataset_ids[i];
        charges[i].charge_micro = charge;
        (void)sr_kms_eps_to_micro(c.manifests[i]->epsilon_total, 0, &charges[i].total_micro, NULL);
    }
    sr_kms_audit_record rec = {
        .time = now,
        .allowed = 1,
        .reason = k->any_runtime ? "released (any runtime accepted)" : "released",
        .app_id = c.app_hex,
        .compose_hash = c.compose_hex,
        .measurements = c.measurements,
        .datasets = c.datasets,
        .client = c.client_hex,
    };
    /* Nonce use, budget charges and the audit record: one transaction,
     * shared with the requests that reach this step at the same time. The
     * keys are handed back only once it is durable. */
    sr_kms_release_item item = {
        .nonce = c.nonce, .now = now, .charges = charges, .ncharges = c.nmanifests, .rec = &rec};
    group_commit(k, &item);
    rc = item.rc;
    if (rc != SR_OK)
        sr_error_set(err, rc, "%s", item.err.msg);
    if (rc != SR_OK) {
        json_decref(cert);
        goto done; /* a refusal here is already audited by the store */
    }
    *reply = json_pack("{s:i,s:s,s:o,s:o}", "version", SR_KMS_PROTOCOL_VERSION, "compose_hash", c.compose_hex,
                       "keys", c.keys, "certificate", cert);
    c.keys = NULL;
    if (*reply == NULL)
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
    goto done;
refuse:
    audit_refusal(&c, now, err ? err->msg : "refused");
done:
    json_decref(c.keys);
    json_decref(c.req);
    sr_recipe_free(c.recipe);
    for (size_t i = 0; i < c.nmanifests; i++)
        free(c.manifests[i]);
    free(c.measurements);
    free(c.datasets);
    sr_buf_free(&c.quote);
    return rc;
}

int sr_kms_request_check(const uint8_t *body, size_t len, sr_error *err)
{
    release_ctx c;
    memset(&c, 0, sizeof c);
    sr_buf_init(&c.quote);
    int rc = SR_OK;
    c.req = sr_json_parse(body, len, SR_KMS_MAX_REQUEST, err);
    if (c.req == NULL)
        return err ? err->code : SR_EFORMAT;
    rc = parse_request(&c, err);
    sr_quote q;
    if (rc == SR_OK)
        rc = sr_quote_parse(c.quote.data, c.quote.len, &q, err);
    json_t *list = NULL;
    if (rc == SR_OK)
        rc = sr_json_get_arr(c.req, "manifests", 1, &list, "request", err);
    size_t i;
    json_t *e;
    if (rc == SR_OK) {
        json_array_foreach(list, i, e) {
            const char *mb64 = NULL;
            uint8_t sig[SR_ETH_SIG_LEN];
            sr_buf mb;
            sr_buf_init(&mb);
            sr_manifest *m = NULL;
            if ((rc = sr_json_get_str(e, "manifest", 1, &mb64, "manifest entry", err)) == SR_OK &&
                (rc = sr_json_get_hex(e, "signature", sig, sizeof sig, "manifest entry", err)) == SR_OK &&
                (rc = sr_base64_decode(mb64, &mb, err)) == SR_OK)
                rc = sr_manifest_parse(mb.data, mb.len, &m, err);
            free(m);
            sr_buf_free(&mb);
            if (rc != SR_OK || i >= SR_KMS_MAX_DATASETS)
                break;
        }
    }
    json_decref(c.req);
    sr_recipe_free(c.recipe);
    sr_buf_free(&c.quote);
    return rc;
}

void sr_kms_http_handler(void *ctx, const sr_http_request *req, sr_http_response *resp)
{
    sr_kms *k = ctx;
    sr_error err;
    sr_error_clear(&err);
    json_t *reply = NULL;
    if (strcmp(req->path, "/v1/health") == 0 && strcmp(req->method, "GET") == 0) {
        char pub[67];
        sr_hex_encode(k->root_pub, SR_SECP_PUBKEY_LEN, pub);
        sr_http_reply_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "kms_pubkey", pub));
        return;
    }
    if (strcmp(req->path, "/v1/nonce") == 0) {
        if (strcmp(req->method, "GET") != 0) {
            sr_http_reply_error(resp, 405, "method", "use GET");
            return;
        }
        if (sr_kms_issue_nonce(k, &reply, &err) != SR_OK) {
            sr_http_reply_error(resp, sr_http_status_for(err.code), sr_code_name(err.code), err.msg);
            return;
        }
        sr_http_reply_json(resp, 200, reply);
        return;
    }
    if (strcmp(req->path, "/v1/keys") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            sr_http_reply_error(resp, 405, "method", "use POST");
            return;
        }
        int rc = sr_kms_release(k, req->body, req->body_len, &reply, &err);
        if (rc != SR_OK) {
            sr_http_reply_error(resp, sr_http_status_for(rc), sr_code_name(rc), err.msg);
            return;
        }
        sr_http_reply_json(resp, 200, reply);
        return;
    }
    sr_http_reply_error(resp, 404, "notfound", "no such endpoint");
}

/* One run: fetch -> check manifests -> wait for approvals -> measure,
 * quote, request keys -> decrypt in locked memory -> engine -> output
 * contract -> sign -> store -> wipe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sealroom/archive.h"
#include "sealroom/buf.h"
#include "sealroom/dp.h"
#include "sealroom/engine.h"
#include "sealroom/gate.h"
#include "sealroom/json.h"
#include "sealroom/kms.h"
#include "sealroom/receipt.h"
#include "sealroom/recipe.h"
#include "sealroom/secmem.h"
#include "serve_internal.h"

#define MAX_INPUTS 64
#define MAX_FETCH (8ull << 30)

typedef struct input {
    char owner[SR_OWNER_ID_MAX];
    char path[1200];
    sr_archive *archive;
    sr_engine_arch *source;
} input;

typedef struct run_ctx {
    sr_serve *s;
    const char *id;
    sr_recipe *recipe;
    input in[MAX_INPUTS];
    size_t nin;
    uint8_t *cvm_sk; /* secure, 32 */
    uint8_t cvm_pub[33];
    uint8_t nonce[32];
    sr_buf quote;
    sr_buf event_log;
    json_t *kms_reply;
} run_ctx;

static void set_status(run_ctx *c, const char *status, const char *reason, json_t *detail)
{
    char *d = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
    sr_error err;
    if (sr_serve_store_set(c->s, c->id, status, reason, d, NULL, &err) != SR_OK)
        fprintf(stderr, "sealroom serve: run %s: cannot record status %s: %s\n", c->id, status, err.msg);
    free(d);
    json_decref(detail);
}

/* file:// URIs are read in place; http(s):// archives (ciphertext) are
 * downloaded into DATA_DIR/fetch/<run>/<owner>.tar. */
static int fetch_input(run_ctx *c, input *in, const char *uri, sr_error *err)
{
    if (strncmp(uri, "file://", 7) == 0) {
        snprintf(in->path, sizeof in->path, "%s", uri + 7);
        return SR_OK;
    }
    if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
        return sr_error_set(err, SR_EINVAL, "input of %s: unsupported URI scheme (file://, http://, https://)",
                            in->owner);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/fetch", c->s->data_dir);
    mkdir(dir, 0700);
    snprintf(dir, sizeof dir, "%s/fetch/%s", c->s->data_dir, c->id);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sr_error_set(err, SR_EIO, "%s: %s", dir, strerror(errno));
    char owner[SR_OWNER_ID_MAX];
    snprintf(owner, sizeof owner, "%s", in->owner);
    snprintf(in->path, sizeof in->path, "%s/%s.tar", dir, owner);
    sr_buf body;
    sr_buf_init(&body);
    long status = 0;
    int rc = sr_http_fetch("GET", uri, NULL, NULL, 0, (size_t)MAX_FETCH, 600000, &status, &body, err);
    if (rc == SR_OK && status != 200)
        rc = sr_error_set(err, SR_ENET, "input of %s: %s answered HTTP %ld", in->owner, uri, status);
    if (rc == SR_OK)
        rc = sr_file_write_atomic(in->path, body.data, body.len, 0600, err);
    sr_buf_free(&body);
    return rc;
}

static int open_inputs(run_ctx *c, json_t *inputs, sr_error *err)
{
    const char *owner;
    json_t *v;
    json_object_foreach(inputs, owner, v) {
        if (c->nin >= MAX_INPUTS)
            return sr_error_set(err, SR_ELIMIT, "more than %d inputs", MAX_INPUTS);
        input *in = &c->in[c->nin++];
        snprintf(in->owner, sizeof in->owner, "%s", owner);
        int rc = fetch_input(c, in, json_string_value(v), err);
        if (rc == SR_OK)
            rc = sr_archive_open(in->path, &in->archive, err);
        if (rc == SR_OK)
            rc = sr_archive_verify_digests(in->archive, err);
        if (rc == SR_OK)
            rc = sr_archive_check_recipe(in->archive, c->recipe, err);
        if (rc == SR_OK && strcmp(sr_archive_manifest(in->archive)->owner_id, owner) != 0)
            rc = sr_error_set(err, SR_EINVAL, "the archive given for %s belongs to %s", owner,
                              sr_archive_manifest(in->archive)->owner_id);
        if (rc != SR_OK)
            return sr_error_prefix(err, "input of %s", owner);
    }
    for (size_t i = 0; i < sr_recipe_dataset_count(c->recipe); i++) {
        const char *need = sr_recipe_dataset_owner(c->recipe, i);
        if (json_object_get(inputs, need) == NULL)
            return sr_error_set(err, SR_EINVAL, "no input for dataset owner %s", need);
    }
    return SR_OK;
}

/* 1 = allowed, 0 = refused (reason in err), -1 = error */
static int wait_for_approval(run_ctx *c, sr_error *err)
{
    if (c->s->gate_spec[0] == '\0')
        return 1;
    size_t nds = sr_recipe_dataset_count(c->recipe);
    const char *req[MAX_INPUTS];
    for (size_t i = 0; i < nds && i < MAX_INPUTS; i++)
        req[i] = sr_recipe_dataset_owner(c->recipe, i);
    double deadline = (double)time(NULL) + c->s->approval_wait_s;
    for (;;) {
        sr_gate *g = NULL;
        sr_gate_status st;
        int rc = sr_gate_open(c->s->gate_spec, &g, err);
        if (rc == SR_OK)
            rc = sr_gate_status_get(g, sr_recipe_compose_hash(c->recipe), req, nds, &st, err);
        sr_gate_close(g);
        if (rc != SR_OK)
            return -1;
        if (st.allowed)
            return 1;
        if (st.revoked || st.frozen) {
            sr_error_set(err, SR_EDENIED, "%s", st.reason);
            return 0;
        }
        set_status(c, "awaiting_approval", st.reason,
                   json_pack("{s:I,s:I,s:I}", "approvals", (json_int_t)st.n_approved, "threshold",
                             (json_int_t)st.config.threshold, "owners", (json_int_t)st.config.n_owners));
        if ((double)time(NULL) > deadline) {
            sr_error_set(err, SR_EDENIED, "timed out waiting for approvals (%s)", st.reason);
            return 0;
        }
        pthread_mutex_lock(&c->s->q_mu);
        int stop = c->s->stopping;
        pthread_mutex_unlock(&c->s->q_mu);
        if (stop) {
            sr_error_set(err, SR_ESTATE, "service stopping");
            return -1;
        }
        struct timespec ts = {c->s->poll_ms / 1000, (long)(c->s->poll_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static int request_keys(run_ctx *c, sr_error *err)
{
    int rc;
    const uint8_t *h = sr_recipe_compose_hash(c->recipe);
    c->cvm_sk = sr_secure_alloc(32);
    if (c->cvm_sk == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    if ((rc = sr_secp_seckey_generate(c->cvm_sk, err)) != SR_OK || (rc = sr_secp_pubkey(c->cvm_sk, c->cvm_pub, err)) != SR_OK)
        return rc;
    char url[600];
    snprintf(url, sizeof url, "%s/v1/nonce", c->s->kms_url);
    json_t *nr = NULL;
    long status = 0;
    if ((rc = sr_http_json_call("GET", url, NULL, 30000, &nr, &status, err)) != SR_OK)
        return sr_error_prefix(err, "KMS nonce");
    rc = sr_json_get_hex(nr, "nonce", c->nonce, 32, "KMS nonce reply", err);
    json_decref(nr);
    if (rc != SR_OK)
        return rc;
    uint8_t rd[64];
    sr_kms_report_data(h, c->cvm_pub, c->nonce, rd);
    /* Measure the recipe into RTMR3 and quote, as one step. */
    pthread_mutex_lock(&c->s->tee_mu);
    rc = sr_tee_extend_rtmr3(c->s->tee, SR_EVENT_COMPOSE_HASH, h, 32, err);
    if (rc == SR_OK)
        rc = sr_tee_quote(c->s->tee, rd, &c->quote, err);
    if (rc == SR_OK)
        rc = sr_tee_event_log(c->s->tee, &c->event_log, err);
    pthread_mutex_unlock(&c->s->tee_mu);
    if (rc != SR_OK)
        return sr_error_prefix(err, "TEE");
    if ((rc = sr_buf_append_u8(&c->event_log, 0, err)) != SR_OK)
        return rc;
    c->event_log.len--; /* keep the NUL terminator out of the length */

    json_t *manifests = json_array();
    for (size_t i = 0; i < c->nin; i++)
        json_array_append_new(manifests, sr_kms_manifest_entry(c->in[i].archive));
    size_t rlen = 0;
    const uint8_t *rbytes = sr_recipe_bytes(c->recipe, &rlen);
    json_t *req = sr_kms_request_new(rbytes, rlen, c->quote.data, c->quote.len, (const char *)c->event_log.data,
                                     c->cvm_pub, c->nonce, manifests);
    json_decref(manifests);
    if (req == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    snprintf(url, sizeof url, "%s/v1/keys", c->s->kms_url);
    rc = sr_http_json_call("POST", url, req, 120000, &c->kms_reply, &status, err);
    json_decref(req);
    return rc;
}

static int unlock_inputs(run_ctx *c, sr_error *err)
{
    json_t *keys = json_object_get(c->kms_reply, "keys");
    if (!json_is_array(keys) || json_array_size(keys) != c->nin)
        return sr_error_set(err, SR_EFORMAT, "KMS reply: expected %zu keys", c->nin);
    uint8_t *dek = sr_secure_alloc(SR_DEK_LEN);
    if (dek == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    int rc = SR_OK;
    for (size_t k = 0; k < json_array_size(keys) && rc == SR_OK; k++) {
        uint8_t aid[16];
        rc = sr_kms_open_key(json_array_get(keys, k), sr_recipe_compose_hash(c->recipe), c->cvm_sk, aid, dek, err);
        if (rc != SR_OK)
            break;
        size_t i = 0;
        while (i < c->nin && memcmp(sr_archive_manifest(c->in[i].archive)->archive_id, aid, 16) != 0)
            i++;
        if (i == c->nin) {
            rc = sr_error_set(err, SR_EFORMAT, "KMS reply: a key for an archive this run did not ask for");
            break;
        }
        rc = sr_archive_unlock(c->in[i].archive, dek, err);
    }
    sr_secure_free(dek, SR_DEK_LEN);
    return rc;
}

static int compute(run_ctx *c, char **payload, double *eps, double *delta, sr_error *err)
{
    size_t nds = sr_recipe_dataset_count(c->recipe);
    sr_engine_dataset ds[MAX_INPUTS];
    for (size_t i = 0; i < nds && i < MAX_INPUTS; i++) {
        ds[i].owner = sr_recipe_dataset_owner(c->recipe, i);
        ds[i].schema = sr_recipe_dataset_schema(c->recipe, i);
    }
    sr_plan *plan = NULL;
    int rc = sr_plan_new(sr_recipe_json(c->recipe), ds, nds, &plan, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "recipe");
    sr_engine_source src[MAX_INPUTS];
    size_t nsrc = 0;
    for (size_t i = 0; i < c->nin && rc == SR_OK; i++) {
        int used = 0;
        for (size_t k = 0; k < sr_plan_source_count(plan); k++)
            used |= strcmp(sr_plan_source_owner(plan, k), c->in[i].owner) == 0;
        if (!used)
            continue;
        rc = sr_engine_archive_open(c->in[i].archive, plan, c->in[i].owner, &c->in[i].source, err);
        if (rc == SR_OK)
            sr_engine_archive_source(c->in[i].source, c->in[i].owner, &src[nsrc++]);
    }
    sr_rng *rng = rc == SR_OK ? sr_rng_new_system(err) : NULL;
    json_t *result = NULL;
    if (rc == SR_OK && rng == NULL)
        rc = err->code ? err->code : SR_ECRYPTO;
    if (rc == SR_OK) {
        sr_engine_opts o = {.rng = rng, .mode = "signed by an attested analysis VM", .threads = 2,
                            .compose_hash = sr_recipe_compose_hash(c->recipe)};
        rc = sr_engine_run(plan, src, nsrc, &o, &result, err);
    }
    if (rc == SR_OK)
        rc = sr_engine_check_result(plan, result, err); /* output contract, before anything is signed */
    if (rc == SR_OK) {
        double b_eps, b_delta;
        sr_plan_privacy(plan, &b_eps, &b_delta, eps, delta);
        *payload = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        if (*payload == NULL)
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    json_decref(result);
    sr_rng_free(rng);
    sr_plan_free(plan);
    return rc;
}

static void run_free(run_ctx *c)
{
    for (size_t i = 0; i < c->nin; i++) {
        sr_engine_archive_close(c->in[i].source);
        sr_archive_close(c->in[i].archive); /* wipes the DEK and decrypted chunks */
    }
    sr_secure_free(c->cvm_sk, 32);
    sr_buf_free(&c->quote);
    sr_buf_free(&c->event_log);
    json_decref(c->kms_reply);
    sr_recipe_free(c->recipe);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/fetch/%s", c->s->data_dir, c->id);
    for (size_t i = 0; i < c->nin; i++) {
        if (strncmp(c->in[i].path, dir, strlen(dir)) == 0)
            unlink(c->in[i].path);
    }
    rmdir(dir);
}

void sr_serve_run_one(sr_serve *s, const char *id, const char *recipe_text, const char *inputs_text)
{
    run_ctx c;
    memset(&c, 0, sizeof c);
    c.s = s;
    c.id = id;
    sr_buf_init(&c.quote);
    sr_buf_init(&c.event_log);
    sr_error err;
    sr_error_clear(&err);
    const char *fail_status = "failed";
    char *payload = NULL;
    json_t *inputs = json_loads(inputs_text, 0, NULL);
    int rc = sr_recipe_parse(recipe_text, strlen(recipe_text), &c.recipe, &err);
    if (rc != SR_OK || inputs == NULL) {
        if (rc == SR_OK)
            sr_error_set(&err, SR_EFORMAT, "inputs are not JSON");
        goto fail;
    }
    if ((rc = open_inputs(&c, inputs, &err)) != SR_OK)
        goto fail;
    int allowed = wait_for_approval(&c, &err);
    if (allowed <= 0) {
        fail_status = allowed == 0 ? "refused" : "failed";
        goto fail;
    }
    /* From here on the KMS may charge the budget: a crash leaves "running",
     * which a restart marks failed instead of running it twice. */
    set_status(&c, "running", NULL, NULL);
    if ((rc = request_keys(&c, &err)) != SR_OK) {
        fail_status = (rc == SR_EDENIED || rc == SR_EVERIFY) ? "refused" : "failed";
        goto fail;
    }
    if ((rc = unlock_inputs(&c, &err)) != SR_OK)
        goto fail;
    double eps = 0, delta = 0;
    if ((rc = compute(&c, &payload, &eps, &delta, &err)) != SR_OK)
        goto fail;
    json_t *in_list = json_array();
    for (size_t i = 0; i < c.nin; i++) {
        const sr_manifest *m = sr_archive_manifest(c.in[i].archive);
        char aid[33], mh[65];
        sr_hex_encode(m->archive_id, 16, aid);
        sr_hex_encode(sr_archive_manifest_hash(c.in[i].archive), 32, mh);
        json_array_append_new(in_list, json_pack("{s:s,s:s,s:s}", "owner_id", m->owner_id, "archive_id", aid,
                                                 "manifest_sha256", mh));
    }
    size_t rlen = 0;
    const uint8_t *rbytes = sr_recipe_bytes(c.recipe, &rlen);
    sr_receipt_parts parts = {
        .run_id = id,
        .payload = payload,
        .recipe = rbytes,
        .recipe_len = rlen,
        .compose_hash = sr_recipe_compose_hash(c.recipe),
        .cvm_sk = c.cvm_sk,
        .cvm_pub = c.cvm_pub,
        .quote = c.quote.data,
        .quote_len = c.quote.len,
        .event_log = (const char *)c.event_log.data,
        .kms_nonce = c.nonce,
        .kms_certificate = json_object_get(c.kms_reply, "certificate"),
        .inputs = in_list,
        .epsilon_spent = eps,
        .delta_spent = delta,
        .tee = strcmp(sr_tee_backend(s->tee), "sim") == 0 ? "simulated" : "tdx",
        .gpu_evidence = NULL,
        .created = (int64_t)time(NULL),
    };
    json_t *receipt = NULL;
    rc = sr_receipt_build(&parts, &receipt, &err);
    json_decref(in_list);
    if (rc != SR_OK)
        goto fail;
    char *rtext = json_dumps(receipt, JSON_INDENT(1) | JSON_ENSURE_ASCII);
    json_decref(receipt);
    json_t *detail = json_pack("{s:f,s:f}", "epsilon_spent", eps, "delta_spent", delta);
    char *d = json_dumps(detail, JSON_COMPACT);
    json_decref(detail);
    rc = rtext ? sr_serve_store_set(s, id, "done", "", d, rtext, &err) : sr_error_set(&err, SR_ENOMEM, "out of memory");
    free(d);
    free(rtext);
    if (rc != SR_OK)
        goto fail;
    free(payload);
    json_decref(inputs);
    run_free(&c);
    return;
fail:
    set_status(&c, fail_status, err.msg[0] ? err.msg : "failed", NULL);
    free(payload);
    json_decref(inputs);
    run_free(&c);
}

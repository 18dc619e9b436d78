/* The analysis service: REST API, worker, console files. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sealroom/archive.h"
#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/gate.h"
#include "sealroom/json.h"
#include "sealroom/receipt.h"
#include "sealroom/recipe.h"
#include "serve_internal.h"

static void *worker_main(void *arg)
{
    sr_serve *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->q_mu);
        int stop = s->stopping;
        pthread_mutex_unlock(&s->q_mu);
        if (stop)
            return NULL;
        char id[64];
        char *recipe = NULL, *inputs = NULL;
        sr_error err;
        int got = sr_serve_store_claim(s, id, &recipe, &inputs, &err);
        if (got == 1)
            sr_serve_run_one(s, id, recipe, inputs);
        free(recipe);
        free(inputs);
        if (got != 1) {
            pthread_mutex_lock(&s->q_mu);
            if (!s->stopping) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&s->q_cv, &s->q_mu, &ts);
            }
            pthread_mutex_unlock(&s->q_mu);
        }
    }
}

int sr_serve_new(const sr_serve_config *cfg, sr_serve **out, sr_error *err)
{
    if (cfg->kms_url == NULL || cfg->data_dir == NULL || cfg->tee == NULL)
        return sr_error_set(err, SR_EINVAL, "serve: --kms, --tee and --data-dir are required");
    if (strcmp(cfg->tee, "sim") != 0 && strcmp(cfg->tee, "tdx") != 0)
        return sr_error_set(err, SR_EINVAL, "serve: --tee must be sim or tdx");
    if (cfg->nconsortia > SR_SERVE_MAX_GATES)
        return sr_error_set(err, SR_ELIMIT, "serve: at most %d consortia", SR_SERVE_MAX_GATES);
    sr_serve *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    snprintf(s->kms_url, sizeof s->kms_url, "%s", cfg->kms_url);
    snprintf(s->tee_kind, sizeof s->tee_kind, "%s", cfg->tee);
    snprintf(s->data_dir, sizeof s->data_dir, "%s", cfg->data_dir);
    if (cfg->sim_dir)
        snprintf(s->sim_dir, sizeof s->sim_dir, "%s", cfg->sim_dir);
    else
        snprintf(s->sim_dir, sizeof s->sim_dir, "%s/sim", cfg->data_dir);
    if (cfg->gate_spec)
        snprintf(s->gate_spec, sizeof s->gate_spec, "%s", cfg->gate_spec);
    if (cfg->web_dir)
        snprintf(s->web_dir, sizeof s->web_dir, "%s", cfg->web_dir);
    if (cfg->openapi_path)
        snprintf(s->openapi_path, sizeof s->openapi_path, "%s", cfg->openapi_path);
    if (cfg->gate_spec && (s->consortia[s->nconsortia] = strdup(cfg->gate_spec)) != NULL)
        s->nconsortia++;
    for (size_t i = 0; i < cfg->nconsortia && s->nconsortia < SR_SERVE_MAX_GATES; i++) {
        if (cfg->gate_spec && strcmp(cfg->consortia[i], cfg->gate_spec) == 0)
            continue;
        if ((s->consortia[s->nconsortia] = strdup(cfg->consortia[i])) != NULL)
            s->nconsortia++;
    }
    s->approval_wait_s = cfg->approval_wait_s ? cfg->approval_wait_s : 600;
    s->poll_ms = cfg->poll_ms ? cfg->poll_ms : 500;
    pthread_mutex_init(&s->db_mu, NULL);
    pthread_mutex_init(&s->tee_mu, NULL);
    pthread_mutex_init(&s->q_mu, NULL);
    pthread_cond_init(&s->q_cv, NULL);
    int rc = SR_OK;
    if (mkdir(s->data_dir, 0700) != 0 && errno != EEXIST) {
        rc = sr_error_set(err, SR_EIO, "%s: %s", s->data_dir, strerror(errno));
        goto fail;
    }
    if (strcmp(cfg->tee, "sim") == 0) {
        struct stat st;
        char probe[1200];
        snprintf(probe, sizeof probe, "%s", s->sim_dir);
        if (stat(probe, &st) != 0 && (rc = sr_tee_sim_init(s->sim_dir, NULL, 0, err)) != SR_OK)
            goto fail;
        rc = sr_tee_open_sim(s->sim_dir, &s->tee, err);
    } else {
        rc = sr_tee_open_tdx(NULL, &s->tee, err);
    }
    if (rc != SR_OK) {
        sr_error_prefix(err, "serve: TEE");
        goto fail;
    }
    if ((rc = sr_serve_store_open(s, err)) != SR_OK)
        goto fail;
    int resumed = 0, failed = 0;
    if ((rc = sr_serve_store_recover(s, &resumed, &failed, err)) != SR_OK)
        goto fail;
    if (resumed || failed)
        fprintf(stderr, "sealroom serve: after restart: %d run(s) resumed, %d marked failed\n", resumed, failed);
    if (pthread_create(&s->worker, NULL, worker_main, s) != 0) {
        rc = sr_error_set(err, SR_EINTERNAL, "serve: cannot start the worker");
        goto fail;
    }
    s->worker_started = 1;
    *out = s;
    return SR_OK;
fail:
    sr_serve_free(s);
    return rc;
}

void sr_serve_free(sr_serve *s)
{
    if (s == NULL)
        return;
    if (s->worker_started) {
        pthread_mutex_lock(&s->q_mu);
        s->stopping = 1;
        pthread_cond_broadcast(&s->q_cv);
        pthread_mutex_unlock(&s->q_mu);
        pthread_join(s->worker, NULL);
    }
    sqlite3_close(s->db);
    sr_tee_close(s->tee);
    for (size_t i = 0; i < s->nconsortia; i++)
        free(s->consortia[i]);
    pthread_mutex_destroy(&s->db_mu);
    pthread_mutex_destroy(&s->tee_mu);
    pthread_mutex_destroy(&s->q_mu);
    pthread_cond_destroy(&s->q_cv);
    free(s);
}

int sr_serve_submit(sr_serve *s, const uint8_t *body, size_t len, json_t **reply, sr_error *err)
{
    json_t *req = sr_json_parse(body, len, SR_SERVE_MAX_REQUEST, err);
    if (req == NULL)
        return err->code;
    const char *compose = NULL;
    json_t *inputs = NULL;
    int rc = sr_json_get_str(req, "compose", 1, &compose, "run request", err);
    if (rc == SR_OK)
        rc = sr_json_get_obj(req, "inputs", 1, &inputs, "run request", err);
    sr_recipe *r = NULL;
    if (rc == SR_OK && (rc = sr_recipe_parse(compose, strlen(compose), &r, err)) != SR_OK)
        sr_error_prefix(err, "compose");
    const char *owner;
    json_t *v;
    if (rc == SR_OK) {
        json_object_foreach(inputs, owner, v) {
            if (!json_is_string(v) || sr_recipe_schema_for(r, owner) == NULL) {
                rc = sr_error_set(err, SR_EFORMAT, "inputs.%s: %s", owner,
                                  json_is_string(v) ? "the recipe reads no dataset of this owner" : "must be a URI string");
                break;
            }
        }
    }
    json_t *owners = json_object_get(req, "owners");
    if (rc == SR_OK && owners != NULL) {
        size_t i;
        json_array_foreach(owners, i, v) {
            if (!json_is_string(v) || json_object_get(inputs, json_string_value(v)) == NULL) {
                rc = sr_error_set(err, SR_EFORMAT, "owners[%zu]: no input given for this owner", i);
                break;
            }
        }
    }
    char id[40], compose_hex[67] = "0x";
    if (rc == SR_OK) {
        uint8_t rnd[12];
        if ((rc = sr_random(rnd, sizeof rnd, err)) == SR_OK) {
            memcpy(id, "run-", 4);
            sr_hex_encode(rnd, sizeof rnd, id + 4);
            sr_hex_encode(sr_recipe_compose_hash(r), 32, compose_hex + 2);
            char *in_text = json_dumps(inputs, JSON_COMPACT | JSON_SORT_KEYS);
            rc = in_text ? sr_serve_store_insert(s, id, compose_hex, compose, in_text, err)
                         : sr_error_set(err, SR_ENOMEM, "out of memory");
            free(in_text);
        }
    }
    sr_recipe_free(r);
    json_decref(req);
    if (rc != SR_OK)
        return rc;
    pthread_mutex_lock(&s->q_mu);
    pthread_cond_broadcast(&s->q_cv);
    pthread_mutex_unlock(&s->q_mu);
    *reply = json_pack("{s:s,s:s,s:s}", "id", id, "compose_hash", compose_hex, "status", "queued");
    return SR_OK;
}

int sr_serve_get_run(sr_serve *s, const char *id, json_t **reply, sr_error *err)
{
    json_t *j = sr_serve_store_get(s, id, 1);
    if (j == NULL)
        return sr_error_set(err, SR_ENOTFOUND, "no run %s", id);
    *reply = j;
    return SR_OK;
}

/* ---- dashboard ----------------------------------------------------------- */

/* Dataset sizes for the "records" column: the signed manifests of the input
 * archives of the most recent runs (bounded: RECORDS_RUNS runs, RECORDS_FILES
 * distinct archives). Per (app, owner) only the newest manifest counts. */
#define RECORDS_RUNS 64
#define RECORDS_FILES 64

typedef struct seen_dataset {
    uint8_t app_id[SR_APP_ID_LEN];
    char owner_id[SR_OWNER_ID_MAX];
    int64_t created;
    uint64_t rows;
} seen_dataset;

static void seen_add(seen_dataset *d, size_t *n, const sr_manifest *m)
{
    for (size_t i = 0; i < *n; i++) {
        if (memcmp(d[i].app_id, m->app_id, SR_APP_ID_LEN) == 0 && strcmp(d[i].owner_id, m->owner_id) == 0) {
            if (m->created > d[i].created) {
                d[i].created = m->created;
                d[i].rows = m->rows;
            }
            return;
        }
    }
    if (*n >= RECORDS_FILES)
        return;
    memcpy(d[*n].app_id, m->app_id, SR_APP_ID_LEN);
    snprintf(d[*n].owner_id, sizeof d[*n].owner_id, "%s", m->owner_id);
    d[*n].created = m->created;
    d[*n].rows = m->rows;
    (*n)++;
}

static size_t seen_datasets(sr_serve *s, seen_dataset *d)
{
    char(*paths)[1200] = malloc(RECORDS_FILES * sizeof *paths);
    size_t npaths = 0, n = 0;
    if (paths == NULL)
        return 0;
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT id, inputs FROM runs ORDER BY seq DESC LIMIT ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int(st, 1, RECORDS_RUNS);
        while (npaths < RECORDS_FILES && sqlite3_step(st) == SQLITE_ROW) {
            const char *id = (const char *)sqlite3_column_text(st, 0);
            const char *text = (const char *)sqlite3_column_text(st, 1);
            json_t *in = text ? json_loads(text, 0, NULL) : NULL;
            const char *owner;
            json_t *v;
            json_object_foreach(in, owner, v) {
                const char *uri = json_string_value(v);
                char p[1200];
                if (uri == NULL || npaths >= RECORDS_FILES)
                    continue;
                if (strncmp(uri, "file://", 7) == 0)
                    snprintf(p, sizeof p, "%s", uri + 7);
                else if (id != NULL && strlen(owner) < SR_OWNER_ID_MAX) /* fetched copy, if still there */
                    snprintf(p, sizeof p, "%s/fetch/%s/%s.tar", s->data_dir, id, owner);
                else
                    continue;
                size_t k = 0;
                while (k < npaths && strcmp(paths[k], p) != 0)
                    k++;
                if (k == npaths)
                    memcpy(paths[npaths++], p, sizeof p);
            }
            json_decref(in);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    for (size_t i = 0; i < npaths; i++) {
        sr_error err;
        sr_archive *a = NULL;
        if (sr_archive_open(paths[i], &a, &err) == SR_OK) /* checks the owner's signature */
            seen_add(d, &n, sr_archive_manifest(a));
        sr_archive_close(a);
    }
    free(paths);
    return n;
}

static json_t *consortium_json(sr_serve *s, const char *spec, const seen_dataset *seen, size_t nseen)
{
    sr_error err;
    sr_gate *g = NULL;
    if (sr_gate_open(spec, &g, &err) != SR_OK)
        return json_pack("{s:s,s:s}", "gate", spec, "error", err.msg);
    sr_gate_config cfg;
    uint64_t nonce = 0;
    json_t *j = NULL;
    if (sr_gate_get_config(g, &cfg, &nonce, &err) != SR_OK) {
        j = json_pack("{s:s,s:s}", "gate", spec, "error", err.msg);
        sr_gate_close(g);
        return j;
    }
    sr_gate_domain dom;
    sr_gate_get_domain(g, &dom);
    char app[43];
    sr_eth_address_to_string(dom.app, app);
    json_t *owners = json_array();
    for (size_t i = 0; i < cfg.n_owners; i++) {
        char a[43];
        sr_eth_address_to_string(cfg.owners[i].addr, a);
        json_array_append_new(owners, json_pack("{s:s,s:s,s:s,s:s}", "id", cfg.owners[i].id, "address", a,
                                                "jurisdiction", cfg.owners[i].jurisdiction, "grades",
                                                cfg.owners[i].grades));
    }
    sr_gate_criterion crit[3];
    size_t nc = 0;
    json_t *criteria = json_array();
    if (sr_gate_criteria_eval(&cfg, "owners>=3,multi-jurisdiction,HIPAA|GDPR", crit, 3, &nc, &err) == SR_OK) {
        for (size_t i = 0; i < nc; i++)
            json_array_append_new(criteria, json_pack("{s:s,s:s,s:s}", "criterion", crit[i].text, "result",
                                                      sr_gate_match_name(crit[i].result), "detail", crit[i].detail));
    }
    /* live: some recipe this service has seen is allowed on the gate now */
    json_t *hashes = sr_serve_store_compose_hashes(s);
    const char *live = "forming";
    size_t i;
    json_t *h;
    json_array_foreach(hashes, i, h) {
        uint8_t ch[32];
        sr_gate_status st;
        if (sr_hex_decode_exact(json_string_value(h), ch, 32, NULL) == SR_OK &&
            sr_gate_status_get(g, ch, NULL, 0, &st, &err) == SR_OK && st.allowed) {
            live = "live";
            break;
        }
    }
    json_decref(hashes);
    uint64_t records = 0;
    size_t datasets = 0;
    for (size_t k = 0; k < nseen; k++) {
        if (memcmp(seen[k].app_id, dom.app, SR_APP_ID_LEN) == 0 &&
            sr_gate_owner_index_id(&cfg, seen[k].owner_id) >= 0) {
            records += seen[k].rows;
            datasets++;
        }
    }
    j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:o,s:o,s:s,s:I,s:I}", "gate", spec, "backend", sr_gate_backend(g),
                  "name", cfg.name, "app", app, "threshold", (json_int_t)cfg.threshold, "chain_id",
                  (json_int_t)dom.chain_id, "owners", owners, "criteria", criteria, "status", live, "records",
                  (json_int_t)records, "datasets", (json_int_t)datasets);
    sr_gate_close(g);
    return j;
}

/* ---- HTTP ------------------------------------------------------------------ */

static const char *content_type_for(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot == NULL)
        return "application/octet-stream";
    if (strcmp(dot, ".html") == 0)
        return "text/html; charset=utf-8";
    if (strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (strcmp(dot, ".json") == 0)
        return "application/json";
    if (strcmp(dot, ".svg") == 0)
        return "image/svg+xml";
    if (strcmp(dot, ".png") == 0)
        return "image/png";
    return "application/octet-stream";
}

static void serve_file(const char *path, sr_http_response *resp)
{
    sr_error err;
    sr_buf_reset(&resp->body);
    if (sr_file_read(path, 16u << 20, &resp->body, &err) != SR_OK) {
        sr_http_reply_error(resp, 404, "notfound", "no such file");
        return;
    }
    resp->status = 200;
    resp->content_type = content_type_for(path);
}

static void serve_static(sr_serve *s, const char *url, sr_http_response *resp)
{
    if (s->web_dir[0] == '\0') {
        sr_http_reply_error(resp, 404, "notfound", "no console configured");
        return;
    }
    const char *rel = strcmp(url, "/") == 0 ? "index.html" : url + 1;
    /* Only plain file names and one level of folders of [A-Za-z0-9._-]; no "..". */
    size_t n = strlen(rel);
    int ok = n > 0 && n < 128 && rel[0] != '.';
    for (size_t i = 0; ok && i < n; i++) {
        char c = rel[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
             c == '-' || c == '/';
        if (c == '.' && i + 1 < n && rel[i + 1] == '.')
            ok = 0;
    }
    if (!ok) {
        sr_http_reply_error(resp, 404, "notfound", "no such file");
        return;
    }
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", s->web_dir, rel);
    serve_file(path, resp);
}

static void reply_rc(sr_http_response *resp, int rc, const sr_error *err)
{
    sr_http_reply_error(resp, sr_http_status_for(rc), sr_code_name(rc), err->msg);
}

static const char *query_value(const char *query, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    const char *p = query;
    while (p && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            const char *v = p + kl + 1;
            size_t vl = strcspn(v, "&");
            if (vl >= cap)
                return NULL;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return out;
        }
        p = strchr(p, '&');
        if (p)
            p++;
    }
    return NULL;
}

static void attestation(sr_serve *s, const sr_http_request *req, sr_http_response *resp)
{
    char nh[80];
    uint8_t nonce[32] = {0}, rd[64] = {0};
    sr_error err;
    if (query_value(req->query, "nonce", nh, sizeof nh) != NULL && sr_hex_decode_exact(nh, nonce, 32, &err) != SR_OK) {
        sr_http_reply_error(resp, 400, "format", "nonce must be 32 bytes of hex");
        return;
    }
    sr_sha256_ctx *c = sr_sha256_new();
    sr_sha256_update(c, "sealroom/v1/service-attestation", 31);
    sr_sha256_update(c, nonce, 32);
    sr_sha256_final(c, rd);
    sr_buf q, log;
    sr_buf_init(&q);
    sr_buf_init(&log);
    pthread_mutex_lock(&s->tee_mu);
    int rc = sr_tee_quote(s->tee, rd, &q, &err);
    if (rc == SR_OK)
        rc = sr_tee_event_log(s->tee, &log, &err);
    pthread_mutex_unlock(&s->tee_mu);
    if (rc == SR_OK)
        rc = sr_buf_append_u8(&log, 0, &err);
    if (rc != SR_OK) {
        sr_buf_free(&q);
        sr_buf_free(&log);
        reply_rc(resp, rc, &err);
        return;
    }
    char *qhex = malloc(2 * q.len + 1);
    if (qhex != NULL) {
        sr_hex_encode(q.data, q.len, qhex);
        char rdh[129];
        sr_hex_encode(rd, 64, rdh);
        sr_http_reply_json(resp, 200,
                           json_pack("{s:s,s:s,s:s,s:s,s:s}", "tee",
                                     strcmp(sr_tee_backend(s->tee), "sim") == 0 ? "simulated" : "tdx", "quote", qhex,
                                     "event_log", (const char *)log.data, "report_data", rdh, "report_data_rule",
                                     "SHA-256(\"sealroom/v1/service-attestation\" || nonce) || 0^32"));
    } else {
        sr_http_reply_error(resp, 500, "nomem", "out of memory");
    }
    free(qhex);
    sr_buf_free(&q);
    sr_buf_free(&log);
}

static void gate_view(sr_serve *s, const sr_http_request *req, sr_http_response *resp)
{
    char hex[80], spec_buf[8];
    (void)spec_buf;
    uint8_t h[32];
    sr_error err;
    if (s->gate_spec[0] == '\0') {
        sr_http_reply_error(resp, 404, "notfound", "this service was started without --gate");
        return;
    }
    if (query_value(req->query, "compose_hash", hex, sizeof hex) == NULL || sr_hex_decode_exact(hex, h, 32, &err) != SR_OK) {
        sr_http_reply_error(resp, 400, "format", "compose_hash=HEX (32 bytes) is required");
        return;
    }
    sr_gate *g = NULL;
    sr_gate_status st;
    int rc = sr_gate_open(s->gate_spec, &g, &err);
    if (rc == SR_OK)
        rc = sr_gate_status_get(g, h, NULL, 0, &st, &err);
    if (rc != SR_OK) {
        sr_gate_close(g);
        reply_rc(resp, rc, &err);
        return;
    }
    char *text = sr_gate_status_json(&st, sr_gate_backend(g));
    sr_gate_close(g);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    sr_http_reply_json(resp, j ? 200 : 500, j ? j : json_pack("{s:s}", "error", "out of memory"));
}

/* GET /v1/runs/{id}/verification: the stored receipt verified by this
 * service like `sealroom verify` would: the gate's KMS root and approvals,
 * the simulated root when the service runs on the simulated TEE. */
static void verification(sr_serve *s, const char *id, sr_http_response *resp)
{
    sr_error err;
    json_t *run = sr_serve_store_get(s, id, 1);
    if (run == NULL) {
        sr_http_reply_error(resp, 404, "notfound", "no such run");
        return;
    }
    json_t *receipt = json_object_get(run, "receipt");
    if (!json_is_object(receipt)) {
        json_decref(run);
        sr_http_reply_error(resp, 409, "state", "this run has no receipt (yet)");
        return;
    }
    sr_buf root;
    sr_buf_init(&root);
    sr_receipt_policy pol;
    memset(&pol, 0, sizeof pol);
    const uint8_t *roots[1];
    size_t root_lens[1];
    if (strcmp(s->tee_kind, "sim") == 0) {
        if (sr_tee_sim_root_pem(s->sim_dir, &root, &err) != SR_OK) {
            json_decref(run);
            sr_buf_free(&root);
            reply_rc(resp, err.code, &err);
            return;
        }
        roots[0] = root.data;
        root_lens[0] = root.len;
        pol.roots = roots;
        pol.root_lens = root_lens;
        pol.nroots = 1;
        pol.allow_simulated = 1;
    }
    pol.gate_spec = s->gate_spec[0] ? s->gate_spec : NULL;
    sr_receipt_report rep;
    sr_receipt_verify(receipt, &pol, &rep, &err); /* the report says which link failed */
    json_decref(run);
    sr_buf_free(&root);
    json_t *j = sr_receipt_report_json(&rep);
    sr_http_reply_json(resp, j ? 200 : 500, j ? j : json_pack("{s:s}", "error", "out of memory"));
}

void sr_serve_http_handler(void *ctx, const sr_http_request *req, sr_http_response *resp)
{
    sr_serve *s = ctx;
    sr_error err;
    sr_error_clear(&err);
    json_t *reply = NULL;
    int get = strcmp(req->method, "GET") == 0;
    if (strcmp(req->path, "/v1/runs") == 0) {
        if (get) {
            sr_http_reply_json(resp, 200, json_pack("{s:o}", "runs", sr_serve_store_list(s, 100)));
            return;
        }
        if (strcmp(req->method, "POST") != 0) {
            sr_http_reply_error(resp, 405, "method", "use GET or POST");
            return;
        }
        int rc = sr_serve_submit(s, req->body, req->body_len, &reply, &err);
        if (rc != SR_OK) {
            reply_rc(resp, rc, &err);
            return;
        }
        snprintf(resp->location, sizeof resp->location, "/v1/runs/%s", json_string_value(json_object_get(reply, "id")));
        sr_http_reply_json(resp, 202, reply);
        return;
    }
    if (!get) {
        sr_http_reply_error(resp, 405, "method", "use GET");
        return;
    }
    if (strncmp(req->path, "/v1/runs/", 9) == 0) {
        const char *id = req->path + 9;
        const char *slash = strchr(id, '/');
        if (slash != NULL && strcmp(slash, "/verification") == 0 && slash - id > 0 && slash - id <= 60) {
            char rid[64];
            snprintf(rid, sizeof rid, "%.*s", (int)(slash - id), id);
            verification(s, rid, resp);
            return;
        }
        if (strlen(id) == 0 || strlen(id) > 60) {
            sr_http_reply_error(resp, 404, "notfound", "no such run");
            return;
        }
        int rc = sr_serve_get_run(s, id, &reply, &err);
        if (rc != SR_OK) {
            reply_rc(resp, rc, &err);
            return;
        }
        sr_http_reply_json(resp, 200, reply);
        return;
    }
    if (strcmp(req->path, "/v1/attestation") == 0) {
        attestation(s, req, resp);
        return;
    }
    if (strcmp(req->path, "/v1/gate") == 0) {
        gate_view(s, req, resp);
        return;
    }
    if (strcmp(req->path, "/v1/consortia") == 0) {
        json_t *list = json_array();
        seen_dataset *seen = calloc(RECORDS_FILES, sizeof *seen);
        size_t nseen = seen ? seen_datasets(s, seen) : 0;
        for (size_t i = 0; i < s->nconsortia; i++)
            json_array_append_new(list, consortium_json(s, s->consortia[i], seen, nseen));
        free(seen);
        sr_http_reply_json(resp, 200, json_pack("{s:o,s:[s,s,s]}", "consortia", list, "criteria", "owners>=3",
                                                "multi-jurisdiction", "HIPAA|GDPR"));
        return;
    }
    if (strcmp(req->path, "/v1/openapi.json") == 0) {
        if (s->openapi_path[0] == '\0') {
            sr_http_reply_error(resp, 404, "notfound", "no OpenAPI document configured");
            return;
        }
        serve_file(s->openapi_path, resp);
        return;
    }
    if (strcmp(req->path, "/v1/health") == 0) {
        sr_http_reply_json(resp, 200, json_pack("{s:s,s:s}", "status", "ok", "tee", sr_tee_backend(s->tee)));
        return;
    }
    if (strncmp(req->path, "/v1/", 4) == 0) {
        sr_http_reply_error(resp, 404, "notfound", "no such endpoint");
        return;
    }
    serve_static(s, req->path, resp);
}

#include "sealroom/kmsstore.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

#define AUDIT_LABEL "sealroom/v1/kms-audit"

struct sr_kms_store {
    sqlite3 *db;
    int has_key;
    uint8_t audit_key[32];
};

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS nonces(nonce BLOB PRIMARY KEY, expires INTEGER NOT NULL,"
    " used INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS nonces_expires ON nonces(expires);"
    "CREATE TABLE IF NOT EXISTS budgets(dataset TEXT PRIMARY KEY, spent INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS charges(audit_seq INTEGER NOT NULL, dataset TEXT NOT NULL,"
    " micro INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, record TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL, entry_hash TEXT NOT NULL, mac TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_head(id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
    " entry_hash TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS gate_anchors(gate TEXT PRIMARY KEY, pos INTEGER NOT NULL,"
    " hash TEXT NOT NULL);";

static int db_fail(sr_kms_store *s, sr_error *err, const char *what)
{
    return sr_error_set(err, SR_EIO, "kms store: %s: %s", what, sqlite3_errmsg(s->db));
}

int sr_kms_store_open(const char *dir, const uint8_t *audit_key, sr_kms_store **out, sr_error *err)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/kms.db", dir);
    if (n < 0 || (size_t)n >= sizeof path)
        return sr_error_set(err, SR_EINVAL, "kms store: path too long");
    sr_kms_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sr_error_set(err, SR_ENOMEM, "kms store: out of memory");
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        int rc = sr_error_set(err, SR_EIO, "kms store: cannot open %s: %s", path,
                              s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sqlite3_close(s->db);
        free(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sr_error_set(err, SR_EIO, "kms store: %s: %s", path, msg ? msg : "schema failed");
        sqlite3_free(msg);
        sqlite3_close(s->db);
        free(s);
        return rc;
    }
    if (audit_key != NULL) {
        memcpy(s->audit_key, audit_key, 32);
        s->has_key = 1;
    }
    *out = s;
    return SR_OK;
}

void sr_kms_store_close(sr_kms_store *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    sr_memzero(s->audit_key, sizeof s->audit_key);
    free(s);
}

int sr_kms_eps_to_micro(double eps, int round_up, int64_t *out, sr_error *err)
{
    if (!isfinite(eps) || eps < 0 || eps > 1e6)
        return sr_error_set(err, SR_EINVAL, "epsilon %g out of range [0, 1e6]", eps);
    double m = eps * SR_KMS_EPS_SCALE;
    /* Tolerate binary noise of decimal inputs (1.5 -> 1500000 exactly). */
    double r = nearbyint(m);
    if (fabs(m - r) < 1e-6)
        m = r;
    *out = (int64_t)(round_up ? ceil(m) : floor(m));
    return SR_OK;
}

static int exec_simple(sr_kms_store *s, const char *sql, sr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sr_error_set(err, SR_EIO, "kms store: %s: %s", sql, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return SR_OK;
}

int sr_kms_nonce_issue(sr_kms_store *s, int64_t now, uint8_t nonce[SR_KMS_NONCE_LEN], sr_error *err)
{
    sqlite3_stmt *st = NULL;
    /* Anyone may ask for nonces: bound how many can be outstanding. */
    if (sqlite3_prepare_v2(s->db, "SELECT COUNT(*) FROM nonces WHERE expires >= ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "count nonces");
    sqlite3_bind_int64(st, 1, now);
    int64_t live = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (live >= SR_KMS_MAX_LIVE_NONCES)
        return sr_error_set(err, SR_ELIMIT, "too many outstanding nonces (%lld); try again in a minute",
                            (long long)live);
    int rc = sr_random(nonce, SR_KMS_NONCE_LEN, err);
    if (rc != SR_OK)
        return rc;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO nonces(nonce, expires) VALUES(?, ?)", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare nonce");
    sqlite3_bind_blob(st, 1, nonce, SR_KMS_NONCE_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now + SR_KMS_NONCE_TTL);
    rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "insert nonce");
    sqlite3_finalize(st);
    if (rc != SR_OK)
        return rc;
    /* Forget nonces that expired more than an hour ago (used or not). */
    if (sqlite3_prepare_v2(s->db, "DELETE FROM nonces WHERE expires < ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, now - 3600);
        (void)sqlite3_step(st);
        sqlite3_finalize(st);
    }
    return SR_OK;
}

static json_t *record_json(const sr_kms_audit_record *r)
{
    json_t *j = json_object();
    if (j == NULL)
        return NULL;
    json_object_set_new(j, "time", json_integer(r->time));
    json_object_set_new(j, "allowed", json_boolean(r->allowed));
#define OPT_STR(k, v) json_object_set_new(j, k, (v) ? json_string(v) : json_null())
    OPT_STR("reason", r->reason);
    OPT_STR("app_id", r->app_id);
    OPT_STR("compose_hash", r->compose_hash);
    OPT_STR("client", r->client);
#undef OPT_STR
    /* measurements and datasets are JSON texts; store them parsed when valid */
    const char *jk[2] = {"measurements", "datasets"};
    const char *jv[2] = {r->measurements, r->datasets};
    for (int i = 0; i < 2; i++) {
        json_t *v = NULL;
        if (jv[i] != NULL) {
            v = json_loads(jv[i], 0, NULL);
            if (v == NULL)
                v = json_string(jv[i]);
        }
        json_object_set_new(j, jk[i], v ? v : json_null());
    }
    return j;
}

static void entry_hash(const uint8_t prev[32], int64_t seq, const char *record, uint8_t out[32])
{
    sr_sha256_ctx *c = sr_sha256_new();
    uint8_t seqb[8];
    sr_store_be64(seqb, (uint64_t)seq);
    sr_sha256_update(c, AUDIT_LABEL, sizeof AUDIT_LABEL - 1);
    sr_sha256_update(c, prev, 32);
    sr_sha256_update(c, seqb, 8);
    sr_sha256_update(c, record, strlen(record));
    sr_sha256_final(c, out);
}

static int entry_mac(const sr_kms_store *s, const uint8_t hash[32], char out[65], sr_error *err)
{
    uint8_t mac[32] = {0};
    if (s->has_key) {
        int rc = sr_hmac_sha256(s->audit_key, 32, hash, 32, mac, err);
        if (rc != SR_OK)
            return rc;
    }
    sr_hex_encode(mac, 32, out);
    return SR_OK;
}

/* Appends one audit row; the caller holds a write transaction. */
static int audit_append(sr_kms_store *s, const sr_kms_audit_record *rec, int64_t *seq_out, sr_error *err)
{
    uint8_t prev[32] = {0};
    int64_t seq = 1;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT seq, entry_hash FROM audit_head WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "read audit head");
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0) + 1;
        const char *h = (const char *)sqlite3_column_text(st, 1);
        if (h == NULL || sr_hex_decode_exact(h, prev, 32, err) != SR_OK) {
            sqlite3_finalize(st);
            return sr_error_set(err, SR_EVERIFY, "kms audit: corrupt head");
        }
    }
    sqlite3_finalize(st);
    json_t *j = record_json(rec);
    char *text = j ? sr_json_dump_canonical(j) : NULL;
    json_decref(j);
    if (text == NULL)
        return sr_error_set(err, SR_ENOMEM, "kms audit: out of memory");
    uint8_t h[32];
    char prev_hex[65], hash_hex[65], mac_hex[65];
    entry_hash(prev, seq, text, h);
    sr_hex_encode(prev, 32, prev_hex);
    sr_hex_encode(h, 32, hash_hex);
    int rc = entry_mac(s, h, mac_hex, err);
    if (rc != SR_OK) {
        free(text);
        return rc;
    }
    if (sqlite3_prepare_v2(s->db, "INSERT INTO audit(seq, record, prev_hash, entry_hash, mac) VALUES(?,?,?,?,?)", -1,
                           &st, NULL) != SQLITE_OK) {
        free(text);
        return db_fail(s, err, "prepare audit");
    }
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, prev_hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, hash_hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, mac_hex, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "append audit");
    sqlite3_finalize(st);
    free(text);
    if (rc != SR_OK)
        return rc;
    if (sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO audit_head(id, seq, entry_hash) VALUES(1, ?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare head");
    sqlite3_bind_int64(st, 1, seq);
    sqlite3_bind_text(st, 2, hash_hex, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "update head");
    sqlite3_finalize(st);
    if (rc == SR_OK && seq_out != NULL)
        *seq_out = seq;
    return rc;
}

int sr_kms_audit_refusal(sr_kms_store *s, const sr_kms_audit_record *rec, sr_error *err)
{
    if (rec->allowed)
        return sr_error_set(err, SR_EINVAL, "kms audit: a refusal record must have allowed = 0");
    int rc = exec_simple(s, "BEGIN IMMEDIATE", err);
    if (rc != SR_OK)
        return rc;
    rc = audit_append(s, rec, NULL, err);
    if (rc == SR_OK)
        rc = exec_simple(s, "COMMIT", err);
    if (rc != SR_OK)
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Checks the nonce inside the transaction; sets *cause on refusal. */
static int nonce_consume(sr_kms_store *s, const uint8_t nonce[SR_KMS_NONCE_LEN], int64_t now, char *cause,
                         size_t causecap, sr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT expires, used FROM nonces WHERE nonce = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare nonce lookup");
    sqlite3_bind_blob(st, 1, nonce, SR_KMS_NONCE_LEN, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step != SQLITE_ROW) {
        sqlite3_finalize(st);
        snprintf(cause, causecap, "nonce unknown");
        return SR_EDENIED;
    }
    int64_t expires = sqlite3_column_int64(st, 0);
    int used = sqlite3_column_int(st, 1);
    sqlite3_finalize(st);
    if (used) {
        snprintf(cause, causecap, "nonce already used");
        return SR_EDENIED;
    }
    if (now > expires) {
        snprintf(cause, causecap, "nonce expired");
        return SR_EDENIED;
    }
    if (sqlite3_prepare_v2(s->db, "UPDATE nonces SET used = 1 WHERE nonce = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare nonce use");
    sqlite3_bind_blob(st, 1, nonce, SR_KMS_NONCE_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "use nonce");
    sqlite3_finalize(st);
    return rc;
}

int sr_kms_nonce_check(sr_kms_store *s, const uint8_t nonce[SR_KMS_NONCE_LEN], int64_t now, sr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT expires, used FROM nonces WHERE nonce = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare nonce lookup");
    sqlite3_bind_blob(st, 1, nonce, SR_KMS_NONCE_LEN, SQLITE_STATIC);
    int rc = SR_OK;
    if (sqlite3_step(st) != SQLITE_ROW)
        rc = sr_error_set(err, SR_EDENIED, "nonce unknown");
    else if (sqlite3_column_int(st, 1))
        rc = sr_error_set(err, SR_EDENIED, "nonce already used");
    else if (now > sqlite3_column_int64(st, 0))
        rc = sr_error_set(err, SR_EDENIED, "nonce expired");
    sqlite3_finalize(st);
    return rc;
}

static int budget_get(sr_kms_store *s, const char *dataset, int64_t *spent, sr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT spent FROM budgets WHERE dataset = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare budget");
    sqlite3_bind_text(st, 1, dataset, -1, SQLITE_TRANSIENT);
    *spent = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return SR_OK;
}

static int budget_charge(sr_kms_store *s, const sr_kms_charge *c, int64_t audit_seq, sr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO budgets(dataset, spent) VALUES(?1, ?2) "
                           "ON CONFLICT(dataset) DO UPDATE SET spent = spent + ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare charge");
    sqlite3_bind_text(st, 1, c->dataset, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, c->charge_micro);
    int rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "charge budget");
    sqlite3_finalize(st);
    if (rc != SR_OK)
        return rc;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO charges(audit_seq, dataset, micro) VALUES(?,?,?)", -1, &st, NULL) !=
        SQLITE_OK)
        return db_fail(s, err, "prepare charge record");
    sqlite3_bind_int64(st, 1, audit_seq);
    sqlite3_bind_text(st, 2, c->dataset, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, c->charge_micro);
    rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "record charge");
    sqlite3_finalize(st);
    return rc;
}

static void fmt_eps(int64_t micro, char *out, size_t cap)
{
    snprintf(out, cap, "%.6g", (double)micro / SR_KMS_EPS_SCALE);
    if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL && strlen(out) + 2 < cap)
        strcat(out, ".0");
}

/* One request inside the group's transaction: consumes the nonce, checks
 * every dataset against what is spent so far (earlier members of the group
 * included), then appends either the release record and its charges, or a
 * refusal record. Sets it->rc to SR_OK or SR_EDENIED; any other return is
 * a store failure that aborts the whole group. */
static int release_one(sr_kms_store *s, sr_kms_release_item *it, sr_error *err)
{
    char cause[SR_ERROR_MSG_MAX] = "";
    int rc = nonce_consume(s, it->nonce, it->now, cause, sizeof cause, err);
    for (size_t i = 0; rc == SR_OK && i < it->ncharges; i++) {
        const sr_kms_charge *c = &it->charges[i];
        int64_t spent = 0;
        rc = budget_get(s, c->dataset, &spent, err);
        if (rc == SR_OK && spent + c->charge_micro > c->total_micro) {
            char a[32], b[32];
            fmt_eps(spent, a, sizeof a);
            fmt_eps(c->total_micro, b, sizeof b);
            snprintf(cause, sizeof cause, "budget exhausted for dataset %s: %s of %s spent", c->dataset, a, b);
            rc = SR_EDENIED;
        }
    }
    if (rc == SR_OK) {
        int64_t seq = 0;
        rc = audit_append(s, it->rec, &seq, err);
        for (size_t i = 0; rc == SR_OK && i < it->ncharges; i++)
            rc = budget_charge(s, &it->charges[i], seq, err);
        it->rc = SR_OK;
        return rc;
    }
    if (rc != SR_EDENIED)
        return rc;
    /* Refused: nothing charged; the nonce is burnt all the same (single
     * use; nonce_consume may have refused before marking it) and the
     * refusal audited, in the same transaction. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "UPDATE nonces SET used = 1 WHERE nonce = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare nonce use");
    sqlite3_bind_blob(st, 1, it->nonce, SR_KMS_NONCE_LEN, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "use nonce");
    sqlite3_finalize(st);
    if (rc != SR_OK)
        return rc;
    sr_kms_audit_record refusal = *it->rec;
    refusal.allowed = 0;
    refusal.reason = cause;
    if ((rc = audit_append(s, &refusal, NULL, err)) != SR_OK)
        return rc;
    it->rc = sr_error_set(&it->err, SR_EDENIED, "%s", cause);
    return SR_OK;
}

int sr_kms_release_commit_group(sr_kms_store *s, sr_kms_release_item *const *items, size_t n, sr_error *err)
{
    int todo = 0;
    for (size_t k = 0; k < n; k++) {
        sr_kms_release_item *it = items[k];
        sr_error_clear(&it->err);
        it->rc = SR_OK;
        if (!it->rec->allowed)
            it->rc = sr_error_set(&it->err, SR_EINVAL, "kms: release record must have allowed = 1");
        for (size_t i = 0; it->rc == SR_OK && i < it->ncharges; i++) {
            const sr_kms_charge *c = &it->charges[i];
            if (c->dataset == NULL || c->charge_micro < 0 || c->total_micro < 0)
                it->rc = sr_error_set(&it->err, SR_EINVAL, "kms: invalid charge %zu", i);
        }
        todo += it->rc == SR_OK;
    }
    if (todo == 0)
        return SR_OK;
    sr_error e;
    sr_error_clear(&e);
    int rc = exec_simple(s, "BEGIN IMMEDIATE", &e);
    for (size_t k = 0; rc == SR_OK && k < n; k++) {
        if (items[k]->rc == SR_OK)
            rc = release_one(s, items[k], &e);
    }
    if (rc == SR_OK)
        rc = exec_simple(s, "COMMIT", &e); /* synchronous=FULL: durable once this returns */
    if (rc == SR_OK)
        return SR_OK;
    if (!sqlite3_get_autocommit(s->db))
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    /* Nothing of the group was committed: every member fails with the cause. */
    for (size_t k = 0; k < n; k++) {
        if (items[k]->rc == SR_OK || items[k]->rc == SR_EDENIED)
            items[k]->rc = sr_error_set(&items[k]->err, rc, "%s", e.msg);
    }
    return sr_error_set(err, rc, "%s", e.msg);
}

int sr_kms_release_commit(sr_kms_store *s, const uint8_t nonce[SR_KMS_NONCE_LEN], int64_t now,
                          const sr_kms_charge *charges, size_t ncharges, const sr_kms_audit_record *rec,
                          sr_error *err)
{
    sr_kms_release_item it = {.nonce = nonce, .now = now, .charges = charges, .ncharges = ncharges, .rec = rec};
    sr_kms_release_item *one = &it;
    int rc = sr_kms_release_commit_group(s, &one, 1, err);
    if (rc != SR_OK)
        return rc;
    if (it.rc != SR_OK)
        sr_error_set(err, it.rc, "%s", it.err.msg);
    return it.rc;
}

static int anchor_key_ok(const char *gate_key, sr_error *err)
{
    if (gate_key == NULL || gate_key[0] == '\0' || strlen(gate_key) > SR_KMS_GATE_KEY_MAX)
        return sr_error_set(err, SR_EINVAL, "kms store: gate key must be 1..%d characters", SR_KMS_GATE_KEY_MAX);
    return SR_OK;
}

int sr_kms_anchor_get(sr_kms_store *s, const char *gate_key, sr_kms_anchor *out, int *found, sr_error *err)
{
    memset(out, 0, sizeof *out);
    *found = 0;
    int rc = anchor_key_ok(gate_key, err);
    if (rc != SR_OK)
        return rc;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT pos, hash FROM gate_anchors WHERE gate = ?", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare anchor");
    sqlite3_bind_text(st, 1, gate_key, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        sqlite3_int64 pos = sqlite3_column_int64(st, 0);
        const char *h = (const char *)sqlite3_column_text(st, 1);
        if (pos < 0 || h == NULL || (h[0] != '\0' && sr_hex_decode_exact(h, out->hash, 32, NULL) != SR_OK)) {
            rc = sr_error_set(err, SR_EVERIFY, "kms store: the gate anchor of %s is malformed", gate_key);
        } else {
            out->pos = (uint64_t)pos;
            out->has_hash = h[0] != '\0';
            *found = 1;
        }
    } else if (step != SQLITE_DONE) {
        rc = db_fail(s, err, "read anchor");
    }
    sqlite3_finalize(st);
    return rc;
}

int sr_kms_anchor_advance(sr_kms_store *s, const char *gate_key, const sr_kms_anchor *a, sr_error *err)
{
    int rc = anchor_key_ok(gate_key, err);
    if (rc != SR_OK)
        return rc;
    if (a->pos > (uint64_t)INT64_MAX)
        return sr_error_set(err, SR_EINVAL, "kms store: gate position out of range");
    char hex[65] = "";
    if (a->has_hash)
        sr_hex_encode(a->hash, 32, hex);
    sqlite3_stmt *st = NULL;
    /* One statement, so it is its own transaction (autocommit). */
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO gate_anchors(gate, pos, hash) VALUES(?1, ?2, ?3) "
                           "ON CONFLICT(gate) DO UPDATE SET pos = excluded.pos, hash = excluded.hash "
                           "WHERE excluded.pos > gate_anchors.pos",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare anchor advance");
    sqlite3_bind_text(st, 1, gate_key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)a->pos);
    sqlite3_bind_text(st, 3, hex, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(st) == SQLITE_DONE ? SR_OK : db_fail(s, err, "advance anchor");
    sqlite3_finalize(st);
    return rc;
}

int sr_kms_budget_spent(sr_kms_store *s, const char *dataset, int64_t *spent_micro, sr_error *err)
{
    return budget_get(s, dataset, spent_micro, err);
}

static int record_from_json(const char *text, json_t **holder, sr_kms_audit_record *rec)
{
    memset(rec, 0, sizeof *rec);
    json_t *j = json_loads(text, 0, NULL);
    if (j == NULL)
        return -1;
    *holder = j;
    rec->time = json_integer_value(json_object_get(j, "time"));
    rec->allowed = json_is_true(json_object_get(j, "allowed"));
    rec->reason = json_string_value(json_object_get(j, "reason"));
    rec->app_id = json_string_value(json_object_get(j, "app_id"));
    rec->compose_hash = json_string_value(json_object_get(j, "compose_hash"));
    rec->client = json_string_value(json_object_get(j, "client"));
    return 0;
}

int sr_kms_audit_list(sr_kms_store *s, sr_kms_audit_fn fn, void *ctx, sr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT seq, record, entry_hash FROM audit ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare audit list");
    int rc = SR_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 1);
        json_t *holder = NULL;
        sr_kms_audit_record rec;
        if (text == NULL || record_from_json(text, &holder, &rec) != 0) {
            rc = sr_error_set(err, SR_EFORMAT, "kms audit: record %lld is not JSON", (long long)sqlite3_column_int64(st, 0));
            break;
        }
        /* measurements/datasets are handed over as JSON text */
        char *m = json_dumps(json_object_get(holder, "measurements"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *d = json_dumps(json_object_get(holder, "datasets"), JSON_COMPACT | JSON_ENCODE_ANY);
        rec.measurements = m;
        rec.datasets = d;
        int stop = fn(ctx, sqlite3_column_int64(st, 0), &rec, (const char *)sqlite3_column_text(st, 2));
        free(m);
        free(d);
        json_decref(holder);
        if (stop)
            break;
    }
    sqlite3_finalize(st);
    return rc;
}

int sr_kms_audit_verify(sr_kms_store *s, int64_t *count, sr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT seq, record, prev_hash, entry_hash, mac FROM audit ORDER BY seq", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare audit verify");
    uint8_t prev[32] = {0};
    int64_t expect = 1;
    int rc = SR_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 1);
        const char *ph = (const char *)sqlite3_column_text(st, 2);
        const char *eh = (const char *)sqlite3_column_text(st, 3);
        const char *mh = (const char *)sqlite3_column_text(st, 4);
        uint8_t h[32], stored[32], stored_prev[32], stored_mac[32], mac[32];
        char mac_hex[65];
        if (seq != expect) {
            rc = sr_error_set(err, SR_EVERIFY, "kms audit: record %lld missing (found %lld)", (long long)expect,
                              (long long)seq);
            break;
        }
        if (text == NULL || ph == NULL || eh == NULL || mh == NULL ||
            sr_hex_decode_exact(ph, stored_prev, 32, NULL) != SR_OK ||
            sr_hex_decode_exact(eh, stored, 32, NULL) != SR_OK || sr_hex_decode_exact(mh, stored_mac, 32, NULL) != SR_OK) {
            rc = sr_error_set(err, SR_EVERIFY, "kms audit: record %lld is malformed", (long long)seq);
            break;
        }
        entry_hash(prev, seq, text, h);
        if (!sr_ct_equal(stored_prev, prev, 32) || !sr_ct_equal(stored, h, 32)) {
            rc = sr_error_set(err, SR_EVERIFY, "kms audit: record %lld was edited (hash chain broken)", (long long)seq);
            break;
        }
        if ((rc = entry_mac(s, h, mac_hex, err)) != SR_OK)
            break;
        (void)sr_hex_decode_exact(mac_hex, mac, 32, NULL);
        if (s->has_key && !sr_ct_equal(mac, stored_mac, 32)) {
            rc = sr_error_set(err, SR_EVERIFY, "kms audit: record %lld has a bad MAC (rewritten without the KMS key)",
                              (long long)seq);
            break;
        }
        memcpy(prev, h, 32);
        expect++;
    }
    sqlite3_finalize(st);
    if (rc != SR_OK)
        return rc;
    /* The head pins the last record, so dropping the tail is detected. */
    if (sqlite3_prepare_v2(s->db, "SELECT seq, entry_hash FROM audit_head WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(s, err, "prepare audit head");
    if (sqlite3_step(st) == SQLITE_ROW) {
        uint8_t head[32];
        const char *hh = (const char *)sqlite3_column_text(st, 1);
        if (sqlite3_column_int64(st, 0) != expect - 1 || hh == NULL ||
            sr_hex_decode_exact(hh, head, 32, NULL) != SR_OK || !sr_ct_equal(head, prev, 32))
            rc = sr_error_set(err, SR_EVERIFY, "kms audit: the log ends at %lld but its head says %lld",
                              (long long)(expect - 1), (long long)sqlite3_column_int64(st, 0));
    } else if (expect != 1) {
        rc = sr_error_set(err, SR_EVERIFY, "kms audit: head record missing");
    }
    sqlite3_finalize(st);
    if (rc == SR_OK && count != NULL)
        *count = expect - 1;
    return rc;
}

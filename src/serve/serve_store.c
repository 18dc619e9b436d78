/* The run store: DATA_DIR/runs.db (SQLite, WAL). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_internal.h"

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS runs(id TEXT PRIMARY KEY, seq INTEGER NOT NULL, created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL, status TEXT NOT NULL, compose_hash TEXT NOT NULL, recipe TEXT NOT NULL,"
    " inputs TEXT NOT NULL, reason TEXT, detail TEXT, receipt TEXT);"
    "CREATE INDEX IF NOT EXISTS runs_status ON runs(status, seq);"
    /* newest-first listings and MAX(seq) read the index, not a sort of every row (receipts included) */
    "CREATE INDEX IF NOT EXISTS runs_seq ON runs(seq);";

int sr_serve_store_open(sr_serve *s, sr_error *err)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/runs.db", s->data_dir);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) !=
        SQLITE_OK)
        return sr_error_set(err, SR_EIO, "run store %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
    sqlite3_busy_timeout(s->db, 10000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sr_error_set(err, SR_EIO, "run store %s: %s", path, msg ? msg : "schema");
        sqlite3_free(msg);
        return rc;
    }
    return SR_OK;
}

int sr_serve_store_insert(sr_serve *s, const char *id, const char *compose_hex, const char *recipe,
                          const char *inputs_json, sr_error *err)
{
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    int rc = SR_OK;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO runs(id, seq, created, updated, status, compose_hash, recipe, inputs) "
                           "VALUES(?1, (SELECT IFNULL(MAX(seq), 0) + 1 FROM runs), ?2, ?2, 'queued', ?3, ?4, ?5)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sr_error_set(err, SR_EIO, "run store: %s", sqlite3_errmsg(s->db));
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)time(NULL));
        sqlite3_bind_text(st, 3, compose_hex, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, recipe, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, inputs_json, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sr_error_set(err, SR_EIO, "run store: %s", sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

int sr_serve_store_set(sr_serve *s, const char *id, const char *status, const char *reason, const char *detail,
                       const char *receipt, sr_error *err)
{
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    int rc = SR_OK;
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE runs SET status = ?2, updated = ?3, reason = IFNULL(?4, reason),"
                           " detail = IFNULL(?5, detail), receipt = IFNULL(?6, receipt) WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sr_error_set(err, SR_EIO, "run store: %s", sqlite3_errmsg(s->db));
    } else {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
        if (reason)
            sqlite3_bind_text(st, 4, reason, -1, SQLITE_TRANSIENT);
        if (detail)
            sqlite3_bind_text(st, 5, detail, -1, SQLITE_TRANSIENT);
        if (receipt)
            sqlite3_bind_text(st, 6, receipt, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sr_error_set(err, SR_EIO, "run store: %s", sqlite3_errmsg(s->db));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

int sr_serve_store_claim(sr_serve *s, char id[64], char **recipe, char **inputs, sr_error *err)
{
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT id, recipe, inputs FROM runs WHERE status = 'queued' ORDER BY seq LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        sr_error_set(err, SR_EIO, "run store: %s", sqlite3_errmsg(s->db));
        pthread_mutex_unlock(&s->db_mu);
        return -1;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(id, 64, "%s", (const char *)sqlite3_column_text(st, 0));
        *recipe = strdup((const char *)sqlite3_column_text(st, 1));
        *inputs = strdup((const char *)sqlite3_column_text(st, 2));
        found = (*recipe && *inputs) ? 1 : -1;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    if (found == 1 && sr_serve_store_set(s, id, "fetching", NULL, NULL, NULL, err) != SR_OK)
        found = -1;
    return found;
}

static json_t *row_json(sqlite3_stmt *st, int with_receipt)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", json_string((const char *)sqlite3_column_text(st, 0)));
    json_object_set_new(j, "created", json_integer(sqlite3_column_int64(st, 1)));
    json_object_set_new(j, "updated", json_integer(sqlite3_column_int64(st, 2)));
    json_object_set_new(j, "status", json_string((const char *)sqlite3_column_text(st, 3)));
    json_object_set_new(j, "compose_hash", json_string((const char *)sqlite3_column_text(st, 4)));
    const char *reason = (const char *)sqlite3_column_text(st, 5);
    json_object_set_new(j, "reason", reason ? json_string(reason) : json_null());
    const char *detail = (const char *)sqlite3_column_text(st, 6);
    json_t *d = detail ? json_loads(detail, 0, NULL) : NULL;
    json_object_set_new(j, "detail", d ? d : json_null());
    if (with_receipt) {
        const char *rc = (const char *)sqlite3_column_text(st, 7);
        json_t *r = rc ? json_loads(rc, 0, NULL) : NULL;
        if (r != NULL) {
            json_t *p = json_loads(json_string_value(json_object_get(r, "payload")), 0, NULL);
            json_object_set_new(j, "payload", p ? p : json_null());
            json_object_set_new(j, "receipt", r);
        }
        json_object_set_new(j, "recipe", json_string((const char *)sqlite3_column_text(st, 8)));
        json_t *in = json_loads((const char *)sqlite3_column_text(st, 9), 0, NULL);
        json_object_set_new(j, "inputs", in ? in : json_null());
    }
    return j;
}

#define ROW_COLS "id, created, updated, status, compose_hash, reason, detail, receipt, recipe, inputs"

json_t *sr_serve_store_get(sr_serve *s, const char *id, int with_receipt)
{
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " ROW_COLS " FROM runs WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            j = row_json(st, with_receipt);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return j;
}

json_t *sr_serve_store_list(sr_serve *s, int limit)
{
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    json_t *list = json_array();
    if (sqlite3_prepare_v2(s->db, "SELECT " ROW_COLS " FROM runs ORDER BY seq DESC LIMIT ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int(st, 1, limit);
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(list, row_json(st, 0));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return list;
}

json_t *sr_serve_store_compose_hashes(sr_serve *s)
{
    pthread_mutex_lock(&s->db_mu);
    sqlite3_stmt *st = NULL;
    json_t *list = json_array();
    if (sqlite3_prepare_v2(s->db, "SELECT DISTINCT compose_hash FROM runs ORDER BY compose_hash", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(list, json_string((const char *)sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->db_mu);
    return list;
}

int sr_serve_store_recover(sr_serve *s, int *resumed, int *failed, sr_error *err)
{
    pthread_mutex_lock(&s->db_mu);
    char *msg = NULL;
    int rc = SR_OK;
    /* Before the key request nothing was spent: resume. After it the
     * budget was charged: never run twice, never half report. */
    if (sqlite3_exec(s->db,
                     "UPDATE runs SET status = 'queued', reason = 'resumed after a restart'"
                     " WHERE status IN ('fetching', 'awaiting_approval');",
                     NULL, NULL, &msg) != SQLITE_OK) {
        rc = sr_error_set(err, SR_EIO, "run store: %s", msg ? msg : "recover");
        sqlite3_free(msg);
    }
    *resumed = sqlite3_changes(s->db);
    if (rc == SR_OK &&
        sqlite3_exec(s->db,
                     "UPDATE runs SET status = 'failed', reason = 'interrupted by a restart after its key request;"
                     " not run again so that no privacy budget is spent twice' WHERE status = 'running';",
                     NULL, NULL, &msg) != SQLITE_OK) {
        rc = sr_error_set(err, SR_EIO, "run store: %s", msg ? msg : "recover");
        sqlite3_free(msg);
    }
    *failed = sqlite3_changes(s->db);
    pthread_mutex_unlock(&s->db_mu);
    return rc;
}

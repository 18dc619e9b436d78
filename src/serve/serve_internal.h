/* Private to src/serve. */
#ifndef SEALROOM_SERVE_INTERNAL_H
#define SEALROOM_SERVE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "sealroom/attest.h"
#include "sealroom/serve.h"

struct sr_serve {
    char kms_url[512];
    char tee_kind[8];
    char sim_dir[1024];
    char data_dir[1024];
    char gate_spec[1024];
    char *consortia[SR_SERVE_MAX_GATES];
    size_t nconsortia;
    char web_dir[1024];
    char openapi_path[1024];
    unsigned approval_wait_s;
    unsigned poll_ms;

    sqlite3 *db;            /* runs.db, used under db_mu */
    pthread_mutex_t db_mu;
    sr_tee *tee;            /* used under tee_mu: extend + quote are one step */
    pthread_mutex_t tee_mu;

    pthread_t worker;
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    int stopping;
    int worker_started;
};

/* Run store (serve_store.c); all take db_mu themselves. */
int sr_serve_store_open(sr_serve *s, sr_error *err);
int sr_serve_store_insert(sr_serve *s, const char *id, const char *compose_hex, const char *recipe,
                          const char *inputs_json, sr_error *err);
/* Updates status (and optionally reason / detail JSON / receipt text; NULL keeps). */
int sr_serve_store_set(sr_serve *s, const char *id, const char *status, const char *reason, const char *detail,
                       const char *receipt, sr_error *err);
/* Claims the oldest queued run: copies id, recipe and inputs (malloc'd). 0 if none. */
int sr_serve_store_claim(sr_serve *s, char id[64], char **recipe, char **inputs, sr_error *err);
json_t *sr_serve_store_get(sr_serve *s, const char *id, int with_receipt);
json_t *sr_serve_store_list(sr_serve *s, int limit);
/* Compose hashes and per-owner record counts seen in runs (dashboard). */
json_t *sr_serve_store_compose_hashes(sr_serve *s);
int sr_serve_store_recover(sr_serve *s, int *resumed, int *failed, sr_error *err);

/* One run (serve_run.c). Updates the store as it goes; never throws away a
 * finished receipt. */
void sr_serve_run_one(sr_serve *s, const char *id, const char *recipe, const char *inputs);

#endif

/* sealroom: the analysis service that runs inside the confidential VM.
 * REST API (docs/openapi.json, docs/SERVE.md):
 *   POST /v1/runs            {compose, inputs: {owner: URI}} -> 202 {id, compose_hash}
 *   GET  /v1/runs            recent runs
 *   GET  /v1/runs/{id}       status; when done the payload and its receipt
 *   GET  /v1/attestation     the service's quote and event log (?nonce=HEX binds freshness)
 *   GET  /v1/consortia       dashboard data with the product page's criteria
 *   GET  /v1/gate?compose_hash=HEX   approval state of one compose hash
 *   GET  /v1/openapi.json    the API description
 *   GET  /                   the web console (static files)
 * Runs are kept in DATA_DIR/runs.db and survive a restart: a run cut before
 * its key request is resumed, one cut after it is marked failed (never
 * half reported, never charged twice). Plaintext and keys stay in locked
 * memory; only ciphertext archives fetched over http(s) touch the disk. */
#ifndef SEALROOM_SERVE_H
#define SEALROOM_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/error.h"
#include "sealroom/http.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_SERVE_MAX_REQUEST (4u << 20)
#define SR_SERVE_MAX_GATES 16

typedef struct sr_serve_config {
    const char *kms_url;        /* required: http://HOST:PORT of the KMS */
    const char *tee;            /* "sim" or "tdx" (required) */
    const char *sim_dir;        /* sim backend folder (created if missing); default DATA_DIR/sim */
    const char *data_dir;       /* required */
    const char *gate_spec;      /* optional: approval waits, /v1/gate */
    const char *const *consortia; /* optional extra gate specs for /v1/consortia */
    size_t nconsortia;
    const char *web_dir;        /* console files; NULL = no console */
    const char *openapi_path;   /* docs/openapi.json; NULL = none */
    unsigned approval_wait_s;   /* how long a run waits for approvals (0 = 600) */
    unsigned poll_ms;           /* approval poll interval (0 = 500) */
} sr_serve_config;

typedef struct sr_serve sr_serve;

/* Opens the run store, recovers interrupted runs, starts the worker. */
int sr_serve_new(const sr_serve_config *cfg, sr_serve **out, sr_error *err);
/* Stops the worker (a run in progress finishes its current step) and frees. */
void sr_serve_free(sr_serve *s);
void sr_serve_http_handler(void *ctx, const sr_http_request *req, sr_http_response *resp);

/* The API without HTTP. */
int sr_serve_submit(sr_serve *s, const uint8_t *body, size_t len, json_t **reply, sr_error *err);
int sr_serve_get_run(sr_serve *s, const char *id, json_t **reply, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

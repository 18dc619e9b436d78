/* sealroom: the key management service. It releases each dataset's data key
 * (DEK) to an analysis VM only when
 *   1. the VM's TDX quote verifies (attest.h) and its REPORTDATA binds the
 *      compose hash, the VM's per-run public key and a fresh KMS nonce,
 *   2. its event log replays to RTMR3 and records that compose hash, and
 *      MRTD + RTMR0-2 are an allowed runtime,
 *   3. the gate allows the compose hash now (read for every request),
 *   4. every sealed archive's manifest is signed by its owner and bound to
 *      this app and compose hash,
 *   5. each dataset's privacy budget can pay the recipe's epsilon (charged
 *      atomically with the nonce use and the audit record, kmsstore.h;
 *      concurrent requests share one group-committed transaction).
 * The DEKs are re-wrapped to the VM's key; the KMS root signs a certificate
 * of what it released. Wire format: docs/PROTOCOL.md. */
#ifndef SEALROOM_KMS_H
#define SEALROOM_KMS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/crypto.h"
#include "sealroom/error.h"
#include "sealroom/http.h"
#include "sealroom/keywrap.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_KMS_PROTOCOL_VERSION 1
#define SR_KMS_REPORTDATA_LABEL "sealroom/v1/kms-request"
#define SR_KMS_RELEASE_LABEL "sealroom/v1/kms-release"
#define SR_KMS_CERT_LABEL "sealroom/v1/kms-certificate"
#define SR_KMS_MAX_REQUEST (8u << 20)
#define SR_KMS_MAX_DATASETS 64

typedef int64_t (*sr_kms_clock_fn)(void *ctx); /* unix seconds */

typedef struct sr_kms_config {
    const char *dir;           /* kms init folder: root.key, kms.db */
    const char *gate_spec;     /* ledger:PATH | evm:URL@ADDR */
    const char *runtimes_path; /* JSON list of allowed runtimes (required unless any_runtime) */
    int any_runtime;           /* accept any MRTD/RTMR0-2 (tests, demos; logged in every audit record) */
    int allow_simulated;       /* accept quotes from the simulated TEE... */
    const char *sim_root_path; /* ...rooted at this PEM (or a sim folder holding root.pem) */
    const char *collateral_path; /* optional Intel collateral JSON for TCB status */
    int allow_debug;           /* accept debug TDs (never in production) */
    sr_kms_clock_fn clock;     /* NULL = time(NULL) */
    void *clock_ctx;
    /* Tests: called by a group commit's leader, holding no lock, just
     * before it commits its group of n requests. NULL in production. */
    void (*before_commit)(void *ctx, size_t n);
    void *before_commit_ctx;
} sr_kms_config;

typedef struct sr_kms sr_kms;

int sr_kms_new(const sr_kms_config *cfg, sr_kms **out, sr_error *err);
void sr_kms_free(sr_kms *k);

/* Group commit counters since sr_kms_new (docs/PROTOCOL.md "Group
 * commit"): release transactions committed, requests they decided
 * (released or refused by the store), the largest group, and the requests
 * queued behind the commit in flight right now. */
typedef struct sr_kms_commit_stats {
    uint64_t commits;
    uint64_t requests;
    size_t max_group;
    size_t queued;
} sr_kms_commit_stats;
void sr_kms_get_commit_stats(sr_kms *k, sr_kms_commit_stats *out);
/* The HTTP handler for an sr_http_server: GET /v1/nonce, POST /v1/keys,
 * GET /v1/health. ctx is the sr_kms. */
void sr_kms_http_handler(void *ctx, const sr_http_request *req, sr_http_response *resp);

/* The same operations without HTTP (tests, embedding). On refusal the
 * return is SR_EDENIED (policy), SR_EFORMAT (malformed request) or
 * SR_EVERIFY, and err->msg names the cause. *reply is a new reference. */
int sr_kms_issue_nonce(sr_kms *k, json_t **reply, sr_error *err);
int sr_kms_release(sr_kms *k, const uint8_t *body, size_t len, json_t **reply, sr_error *err);

/* Parses a /v1/keys body as far as possible without keys or the gate
 * (JSON, fields, recipe, quote structure, manifests): the fuzz target. */
int sr_kms_request_check(const uint8_t *body, size_t len, sr_error *err);

/* ---- the VM's side ----------------------------------------------------- */
/* REPORTDATA = SHA-256(label || compose_hash || client_pub || nonce) || 32 zero bytes. */
void sr_kms_report_data(const uint8_t compose_hash[32], const uint8_t client_pub[SR_SECP_PUBKEY_LEN],
                        const uint8_t nonce[32], uint8_t out[64]);
/* Context bound into each re-wrapped DEK: label || compose_hash || archive_id. */
size_t sr_kms_release_context(const uint8_t compose_hash[32], const uint8_t archive_id[16], uint8_t out[96]);
/* Builds a /v1/keys request body (docs/PROTOCOL.md); manifests is a JSON
 * array of sr_kms_manifest_entry values (borrowed). New reference or NULL. */
struct sr_archive;
json_t *sr_kms_request_new(const uint8_t *recipe, size_t recipe_len, const uint8_t *quote, size_t quote_len,
                           const char *event_log, const uint8_t client_pub[SR_SECP_PUBKEY_LEN],
                           const uint8_t nonce[32], const json_t *manifests);
/* {"manifest": base64 of MANIFEST.json, "signature": hex of MANIFEST.sig} of an open archive. */
json_t *sr_kms_manifest_entry(const struct sr_archive *a);
/* Opens one released key from a /v1/keys reply entry with the VM's secret. */
int sr_kms_open_key(const json_t *key_entry, const uint8_t compose_hash[32], const uint8_t client_sk[32],
                    uint8_t archive_id[16], uint8_t dek[SR_DEK_LEN], sr_error *err);

/* ---- certificates -------------------------------------------------------- */
/* A certificate is {"payload": "<JSON text>", "signature": "0x<65 bytes>"}:
 * the KMS root's recoverable secp256k1 signature over
 * SHA-256(SR_KMS_CERT_LABEL || payload bytes). Verifies the signature under
 * kms_root_pub and returns the parsed payload (new reference). */
int sr_kms_cert_verify(const json_t *cert, const uint8_t kms_root_pub[SR_SECP_PUBKEY_LEN], json_t **payload,
                       sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

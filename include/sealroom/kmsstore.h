/* sealroom: the KMS's durable state: single-use nonces, the privacy-budget
 * ledger and the append-only, hash-chained audit log, in one SQLite file
 * (DIR/kms.db, WAL). Every key release commits its nonce use, its budget
 * charges and its audit record in ONE transaction, so a crash (kill -9) at
 * any point leaves either all three or none: budgets are never charged
 * twice and no release goes unaudited. */
#ifndef SEALROOM_KMSSTORE_H
#define SEALROOM_KMSSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_KMS_NONCE_LEN 32
#define SR_KMS_NONCE_TTL 60 /* seconds */
#define SR_KMS_MAX_LIVE_NONCES 100000 /* unexpired nonces at once; more are refused (SR_ELIMIT) */
/* Budgets are kept in integer micro-epsilon (1e-6) so sums are exact. */
#define SR_KMS_EPS_SCALE 1000000

typedef struct sr_kms_store sr_kms_store;

/* Opens (creating if needed) DIR/kms.db. audit_key (32 bytes, may be NULL)
 * keys an HMAC over each audit entry hash, so that someone who can write
 * the file but does not hold the KMS root cannot rebuild a consistent
 * chain after editing it; the KMS derives it from its root secret. */
int sr_kms_store_open(const char *dir, const uint8_t *audit_key, sr_kms_store **out, sr_error *err);
void sr_kms_store_close(sr_kms_store *s);

/* Issues a fresh random nonce valid for SR_KMS_NONCE_TTL seconds from now
 * (unix seconds, injected for tests). */
int sr_kms_nonce_issue(sr_kms_store *s, int64_t now, uint8_t nonce[SR_KMS_NONCE_LEN], sr_error *err);

/* Read-only look at a nonce: SR_OK if it exists, is unused and unexpired
 * at now; else SR_EDENIED with the cause ("nonce unknown", "nonce already
 * used", "nonce expired"). The release transaction checks again. */
int sr_kms_nonce_check(sr_kms_store *s, const uint8_t nonce[SR_KMS_NONCE_LEN], int64_t now, sr_error *err);

/* Converts epsilon to micro-epsilon, rounding a charge up and a total down
 * (never in the owner's disfavour). Fails on negative / non-finite / huge. */
int sr_kms_eps_to_micro(double eps, int round_up, int64_t *out, sr_error *err);

/* One dataset's charge for a release. dataset is a stable id (the hex
 * SHA-256 of the archive's manifest core, or owner/dataset name). */
typedef struct sr_kms_charge {
    const char *dataset;
    int64_t total_micro;  /* the owner's epsilon_total for this dataset */
    int64_t charge_micro; /* this run's epsilon */
} sr_kms_charge;

/* What the audit log records for each request. Strings may be NULL. */
typedef struct sr_kms_audit_record {
    int64_t time;
    int allowed;
    const char *reason;        /* refusal cause, or "released" */
    const char *app_id;        /* 0x... */
    const char *compose_hash;  /* hex */
    const char *measurements;  /* JSON text: MRTD, RTMR0-3 */
    const char *datasets;      /* JSON text: dataset ids */
    const char *client;        /* CVM public key hex */
} sr_kms_audit_record;

/* The release transaction: consumes the nonce (must exist, be unused and
 * unexpired at `now`), charges every dataset (all or nothing; refused if
 * any would pass its total), appends the audit record with allowed = 1.
 * On a refusal nothing is charged, a refusal record naming the cause is
 * appended instead (in the same transaction), and the function returns
 * SR_EDENIED with the cause as message: "nonce expired", "nonce unknown",
 * "nonce already used", "budget exhausted for dataset X: 9.0 of 10.0 spent". */
int sr_kms_release_commit(sr_kms_store *s, const uint8_t nonce[SR_KMS_NONCE_LEN], int64_t now,
                          const sr_kms_charge *charges, size_t ncharges, const sr_kms_audit_record *rec,
                          sr_error *err);

/* Group commit: the release transaction of several requests at once, in
 * ONE SQLite transaction (one fsync). Members are decided in array order,
 * each exactly as sr_kms_release_commit would at that point (nonce, then
 * every budget against what is spent so far, earlier members included),
 * and each gets its own audit record (the release, or the refusal naming
 * the cause), so the hash chain's order is the group's order. Returns
 * SR_OK once the transaction is durable; each member's rc is then SR_OK
 * (released), SR_EDENIED (refused, audited, nonce burnt) or SR_EINVAL (a
 * malformed member, left out: nothing written for it). Any other return
 * means nothing of the group was committed, and every member's rc is that
 * error. The single-request call below is a group of one. */
typedef struct sr_kms_release_item {
    const uint8_t *nonce; /* SR_KMS_NONCE_LEN bytes */
    int64_t now;
    const sr_kms_charge *charges;
    size_t ncharges;
    const sr_kms_audit_record *rec; /* allowed = 1 */
    int rc;                         /* out */
    sr_error err;                   /* out: the cause when rc != SR_OK */
} sr_kms_release_item;
int sr_kms_release_commit_group(sr_kms_store *s, sr_kms_release_item *const *items, size_t n, sr_error *err);

/* Appends a refusal decided before the store was involved (bad quote, gate
 * refusal...). rec->allowed must be 0. */
int sr_kms_audit_refusal(sr_kms_store *s, const sr_kms_audit_record *rec, sr_error *err);

/* ---- gate anchors ------------------------------------------------------
 * Per gate (key: "BACKEND:CHAIN_ID:0xAPP", see docs/PROTOCOL.md), the
 * highest position the KMS has read (ledger: sequence number, with the hash
 * of that entry; evm: block number, no hash). The KMS refuses a gate read
 * that is behind its anchor or disagrees with the anchored entry, so a
 * ledger restored from an older copy cannot re-enable a revoked recipe. */
#define SR_KMS_GATE_KEY_MAX 128
typedef struct sr_kms_anchor {
    uint64_t pos;     /* <= INT64_MAX */
    int has_hash;     /* ledger: 1 */
    uint8_t hash[32]; /* entry hash at pos */
} sr_kms_anchor;

/* The anchor of gate_key: *found = 0 (and out zeroed) if none yet. */
int sr_kms_anchor_get(sr_kms_store *s, const char *gate_key, sr_kms_anchor *out, int *found, sr_error *err);

/* Records a (pos, hash) for gate_key in its own committed transaction: inserts
 * it if the gate has no anchor, replaces it if a->pos is higher than the
 * stored one, and otherwise leaves the stored anchor as it is (an anchor
 * never goes back, even when two processes race). */
int sr_kms_anchor_advance(sr_kms_store *s, const char *gate_key, const sr_kms_anchor *a, sr_error *err);

/* Spent micro-epsilon for a dataset (0 if never charged). */
int sr_kms_budget_spent(sr_kms_store *s, const char *dataset, int64_t *spent_micro, sr_error *err);

/* Walks the audit log in order; the callback gets each record and its
 * sequence number and entry hash (hex); returning non-zero stops. */
typedef int (*sr_kms_audit_fn)(void *ctx, int64_t seq, const sr_kms_audit_record *rec, const char *entry_hash);
int sr_kms_audit_list(sr_kms_store *s, sr_kms_audit_fn fn, void *ctx, sr_error *err);

/* Recomputes the whole chain; SR_EVERIFY naming the first bad sequence
 * number if any row was edited, removed or reordered. *count receives the
 * number of records. */
int sr_kms_audit_verify(sr_kms_store *s, int64_t *count, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

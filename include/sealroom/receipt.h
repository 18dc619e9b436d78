/* sealroom: receipts — the signed envelope of a run's output, and its
 * offline verification back to the TEE root and the gate. Format:
 * docs/RECEIPT.md. */
#ifndef SEALROOM_RECEIPT_H
#define SEALROOM_RECEIPT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/crypto.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_RECEIPT_FORMAT "sealroom-receipt"
#define SR_RECEIPT_VERSION 1
#define SR_RECEIPT_SIG_LABEL "sealroom/v1/receipt"
#define SR_RECEIPT_MAX_BYTES (64u << 20)

/* What the analysis VM puts into a receipt (all borrowed). */
typedef struct sr_receipt_parts {
    const char *run_id;
    const char *payload;         /* the result document as JSON text (exact bytes signed) */
    const uint8_t *recipe;       /* recipe bytes */
    size_t recipe_len;
    const uint8_t *compose_hash; /* 32 */
    const uint8_t *cvm_sk;       /* per-run secret key (32): signs the statement */
    const uint8_t *cvm_pub;      /* 33 */
    const uint8_t *quote;
    size_t quote_len;
    const char *event_log;       /* RTMR3 event log text */
    const uint8_t *kms_nonce;    /* 32: bound in REPORTDATA with the compose hash and cvm_pub */
    const json_t *kms_certificate; /* {"payload","signature"} from the KMS */
    const json_t *inputs;        /* [{"owner_id","archive_id","manifest_sha256"}] */
    double epsilon_spent;
    double delta_spent;
    const char *tee;             /* "tdx" or "simulated" */
    const json_t *gpu_evidence;  /* optional, may be NULL */
    int64_t created;             /* unix seconds */
} sr_receipt_parts;

/* Builds and signs a receipt; *out is a new JSON object. */
int sr_receipt_build(const sr_receipt_parts *p, json_t **out, sr_error *err);

/* ---- verification ------------------------------------------------------ */

typedef struct sr_receipt_policy {
    const uint8_t *const *roots; /* pinned TEE roots (PEM or DER); NULL = Intel SGX root */
    const size_t *root_lens;
    size_t nroots;
    int allow_simulated;         /* accept a simulated TEE (its root must be among roots) */
    const char *gate_spec;       /* re-read approvals from this gate (NULL = trust the snapshot in the certificate) */
    const uint8_t *kms_root_pub; /* 33; NULL = read from the gate (needs gate_spec) */
    int64_t now;                 /* for collateral / quote checks; 0 = time(NULL) */
    /* Intel PCS collateral JSON (docs/ATTESTATION.md §3) for the quote's TCB
     * status; NULL = not evaluated ("NotEvaluated"). The status is judged by
     * sr_attest_tcb_verdict (no allow_out_of_date), as the KMS does. */
    const char *collateral;
    size_t collateral_len;
} sr_receipt_policy;

#define SR_RECEIPT_MAX_CHECKS 16
#define SR_RECEIPT_CHECK_NAME 48
#define SR_RECEIPT_CHECK_DETAIL 256

typedef struct sr_receipt_check {
    char name[SR_RECEIPT_CHECK_NAME]; /* stable id, e.g. "payload-signature" */
    int ok;                            /* 1 pass, 0 fail, -1 skipped */
    char detail[SR_RECEIPT_CHECK_DETAIL];
} sr_receipt_check;

typedef struct sr_receipt_report {
    sr_receipt_check checks[SR_RECEIPT_MAX_CHECKS];
    size_t nchecks;
    int valid;       /* every non-skipped check passed */
    char tee[16];    /* "tdx" / "simulated" as the quote verdict says */
    /* The quote's TCB status: "NotEvaluated" without collateral, the
     * evaluated status (even when the policy refused it), or "" when the
     * quote or collateral did not get that far. */
    char tcb_status[48];
    char advisory_ids[256]; /* comma-separated, from the TCB level */
    /* Non-empty when the receipt passed with a warning (a TCB status that
     * sr_attest_tcb_verdict accepts with a warning). */
    char warning[SR_RECEIPT_CHECK_DETAIL];
} sr_receipt_report;

/* Verifies every link; fills report (always) and returns SR_OK when valid,
 * SR_EVERIFY naming the first failed check otherwise. Check names, in
 * order: "format", "payload-hash", "payload-signature", "quote-chain",
 * "report-data", "rtmr3-replay", "kms-certificate", "gate-approvals",
 * "output-contract". */
int sr_receipt_verify(const json_t *receipt, const sr_receipt_policy *policy, sr_receipt_report *report,
                      sr_error *err);
/* The report as JSON: {"valid":bool,"tee":..,"tcb_status":..,"advisory_ids":[..],
 * "warnings":[..],"checks":[{"name","ok","detail"}]}. */
json_t *sr_receipt_report_json(const sr_receipt_report *r);

#ifdef __cplusplus
}
#endif
#endif

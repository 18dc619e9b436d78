/* sealroom: TEE attestation. TDX DCAP quotes (v4 and v5) are parsed by their
 * length fields and verified with OpenSSL 3 back to a pinned root; Intel PCS
 * collateral (TCB info v3, QE identity v2) yields the TCB status; quotes are
 * produced by a TDX guest (Linux configfs-tsm) or by a simulated TEE that
 * emits the same layout under its own, clearly marked root. An RTMR3 event
 * log records what the runtime measured (at least "compose-hash").
 * The byte layouts and rules are specified in docs/ATTESTATION.md. */
#ifndef SEALROOM_ATTEST_H
#define SEALROOM_ATTEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sealroom/buf.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_TDX_MR_LEN 48         /* MRTD, RTMRs, MRSEAM ... (SHA-384) */
#define SR_TDX_REPORTDATA_LEN 64 /* REPORTDATA */
#define SR_TDX_TEE_TYPE 0x81u
#define SR_QUOTE_HEADER_LEN 48
#define SR_TDX10_BODY_LEN 584 /* body type 2 */
#define SR_TDX15_BODY_LEN 648 /* body type 3 */
#define SR_QE_REPORT_LEN 384
#define SR_QUOTE_MAX_LEN (1u << 20) /* refuse quotes larger than 1 MiB */

/* TD attribute bits (TDATTRIBUTES, little-endian u64). */
#define SR_TD_ATTR_DEBUG (1ull << 0)
#define SR_TD_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define SR_TD_ATTR_PKS (1ull << 30)
#define SR_TD_ATTR_KL (1ull << 31)
#define SR_TD_ATTR_PERFMON (1ull << 63)

/* The TD report body (TDX 1.0 = the first 584 bytes; TDX 1.5 adds the last
 * two fields, which stay zero for body type 2). */
typedef struct sr_tdx_body {
    uint8_t tee_tcb_svn[16];
    uint8_t mrseam[48];
    uint8_t mrsignerseam[48];
    uint8_t seam_attributes[8];
    uint8_t td_attributes[8];
    uint8_t xfam[8];
    uint8_t mrtd[48];
    uint8_t mrconfigid[48];
    uint8_t mrowner[48];
    uint8_t mrownerconfig[48];
    uint8_t rtmr[4][48];
    uint8_t report_data[64];
    uint8_t tee_tcb_svn2[16]; /* TDX 1.5 only */
    uint8_t mrservicetd[48];  /* TDX 1.5 only */
} sr_tdx_body;

/* The 384-byte SGX enclave report of the quoting enclave. */
typedef struct sr_qe_report {
    uint8_t cpusvn[16];
    uint32_t miscselect;
    uint8_t attributes[16];
    uint8_t mrenclave[32];
    uint8_t mrsigner[32];
    uint16_t isvprodid;
    uint16_t isvsvn;
    uint8_t report_data[64];
} sr_qe_report;

/* A parsed quote. The pointers (qe_auth_data, pck_chain, raw) borrow from
 * the bytes given to sr_quote_parse: they are valid while those live. */
typedef struct sr_quote {
    uint16_t version;  /* 4 or 5 */
    uint16_t att_key_type; /* 2 = ECDSA-256 with P-256 */
    uint32_t tee_type; /* 0x81 = TDX */
    uint16_t qe_svn;   /* header bytes 8..9 */
    uint16_t pce_svn;  /* header bytes 10..11 */
    uint8_t qe_vendor_id[16];
    uint8_t user_data[20];
    uint16_t body_type; /* 2 = TDX 1.0, 3 = TDX 1.5 (v4 is always 2) */
    uint32_t body_len;  /* 584 or 648 */
    sr_tdx_body body;
    /* signature data */
    size_t signed_len; /* header (+ v5 descriptor) + body: what the AK signs */
    size_t total_len;  /* bytes the quote occupies; trailing bytes ignored */
    uint32_t sig_data_len;
    uint8_t signature[64];  /* r || s, big-endian */
    uint8_t attest_key[64]; /* X || Y */
    uint16_t outer_cert_type; /* 6 = QE report certification data */
    uint8_t qe_report_raw[SR_QE_REPORT_LEN];
    sr_qe_report qe_report;
    uint8_t qe_report_sig[64];
    const uint8_t *qe_auth_data;
    size_t qe_auth_len;
    uint16_t cert_type; /* 5 = PCK chain (PEM or concatenated DER) */
    const uint8_t *pck_chain;
    size_t pck_chain_len;
    const uint8_t *raw; /* the quote's first byte */
} sr_quote;

/* Parses a quote from its bytes. len may exceed the quote (trailing bytes
 * are ignored); every length field is bounded by len. Fails with SR_EFORMAT
 * naming the offending field and offset. */
int sr_quote_parse(const uint8_t *data, size_t len, sr_quote *q, sr_error *err);

/* Decodes a quote file's contents: raw bytes, or hex text (optional 0x,
 * surrounding whitespace allowed). out receives the raw bytes. */
int sr_quote_decode_input(const uint8_t *data, size_t len, sr_buf *out, sr_error *err);

/* TD attributes as a u64. */
uint64_t sr_quote_td_attributes(const sr_quote *q);

/* ---- verification ------------------------------------------------------ */

typedef enum sr_attest_verdict {
    SR_ATTEST_INVALID = 0,
    SR_ATTEST_VALID = 1,     /* rooted at a pinned (Intel) root */
    SR_ATTEST_SIMULATED = 2, /* rooted at a sealroom simulated-TEE root */
} sr_attest_verdict;

/* A cache of PCK chain verification results keyed by SHA-256 of (chain
 * bytes, pinned roots, CRLs). A hit skips certificate parsing and chain
 * signature checks; validity windows are still checked against `now`.
 * Thread-safe. */
typedef struct sr_attest_cache sr_attest_cache;
sr_attest_cache *sr_attest_cache_new(size_t max_entries);
void sr_attest_cache_free(sr_attest_cache *c);
/* Counters since creation. */
void sr_attest_cache_stats(sr_attest_cache *c, uint64_t *hits, uint64_t *misses);

/* What a verifier trusts and accepts. Zero-initialise, then set fields.
 * Byte blobs may be PEM or DER. */
typedef struct sr_attest_policy {
    /* Pinned roots; none = the production Intel SGX Root CA. Each blob may
     * hold several PEM certificates. */
    const uint8_t *const *roots;
    const size_t *root_lens;
    size_t nroots;
    /* CRLs (PEM or DER), each checked against the chain and `now`. */
    const uint8_t *const *crls;
    const size_t *crl_lens;
    size_t ncrls;
    /* Collateral JSON (dcap-qvl QuoteCollateralV3 shape, see the docs);
     * NULL = no TCB evaluation (tcb_status "NotEvaluated"). */
    const char *collateral;
    size_t collateral_len;
    /* Unix time for every validity check; 0 = time(NULL). */
    time_t now;
    int allow_debug;     /* accept TDs with the DEBUG attribute */
    int allow_simulated; /* accept quotes rooted at a simulated-TEE root */
    int allow_out_of_date; /* accept OutOfDate* TCB (Revoked never) */
    /* Optional RTMR3 event log (JSON lines) replayed against RTMR3. */
    const char *event_log;
    size_t event_log_len;
    sr_attest_cache *cache; /* optional */
} sr_attest_policy;

#define SR_ATTEST_REASON_MAX 384
#define SR_TCB_STATUS_MAX 48

typedef struct sr_attest_result {
    sr_attest_verdict verdict;
    char reason[SR_ATTEST_REASON_MAX]; /* why invalid; empty otherwise */
    int parsed;                        /* quote fields below are set */
    sr_quote quote;
    /* From the PCK leaf certificate's SGX extension (when present). */
    int has_pck_ext;
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint8_t cpusvn[16];
    uint8_t sgx_tcb_comp[16];
    uint16_t pcesvn;
    char root_cn[128]; /* CN of the root the chain ended at */
    /* TCB evaluation (collateral): "UpToDate", "SWHardeningNeeded",
     * "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
     * "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked", or
     * "NotEvaluated" without collateral. */
    char tcb_status[SR_TCB_STATUS_MAX];
    char platform_tcb_status[SR_TCB_STATUS_MAX];
    char qe_tcb_status[SR_TCB_STATUS_MAX];
    char advisory_ids[256]; /* comma-separated */
    time_t collateral_not_after; /* earliest nextUpdate; 0 without */
    /* Event log (when the policy carries one and it replays to RTMR3). */
    int eventlog_checked;
    int has_compose_hash;
    uint8_t compose_hash[32];
} sr_attest_result;

/* Verifies a quote: structure, quote signature (attestation key over header
 * [+ descriptor] + body), QE report signature (PCK leaf), binding of the
 * attestation key to the QE report, PCK chain to a pinned root (+ CRLs),
 * QE vendor id, TD attributes, collateral and TCB status, event log.
 * Returns SR_OK when out->verdict is VALID or SIMULATED; otherwise an error
 * code (SR_EFORMAT, SR_EVERIFY, SR_EDENIED...) with err->msg equal to
 * out->reason. out is always fully written. */
int sr_attest_verify(const uint8_t *quote, size_t len, const sr_attest_policy *policy,
                     sr_attest_result *out, sr_error *err);

/* The TCB status policy every verifier applies (sr_attest_verify, hence the
 * KMS, `quote verify` and the receipt check; docs/ATTESTATION.md §2 step 12):
 *   UpToDate, NotEvaluated (no collateral)                    -> ACCEPT
 *   SWHardeningNeeded, ConfigurationNeeded,
 *   ConfigurationAndSWHardeningNeeded                         -> WARN (accepted)
 *   OutOfDate, OutOfDateConfigurationNeeded                   -> REFUSE, or WARN
 *                                                                with allow_out_of_date
 *   Revoked, NULL, anything else                              -> REFUSE */
typedef enum sr_tcb_verdict {
    SR_TCB_ACCEPT = 0,
    SR_TCB_WARN = 1,
    SR_TCB_REFUSE = 2,
} sr_tcb_verdict;
sr_tcb_verdict sr_attest_tcb_verdict(const char *tcb_status, int allow_out_of_date);
/* One sentence on what a status means for a relying party (for warnings):
 * e.g. "the platform needs software hardening (see the advisories)". */
const char *sr_attest_tcb_meaning(const char *tcb_status);

/* The result as a JSON object (field names in docs/ATTESTATION.md): a
 * malloc'd NUL-terminated string (indented when pretty), NULL on OOM. */
char *sr_attest_result_json(const sr_attest_result *r, int pretty);

/* "valid", "simulated" or "invalid". */
const char *sr_attest_verdict_name(sr_attest_verdict v);

/* The production Intel SGX Root CA (PEM, NUL-terminated). */
extern const char sr_intel_sgx_root_ca_pem[];

/* Parses "2025-07-01T00:00:00Z" (RFC 3339, Z or +00:00) or decimal Unix
 * seconds into *out. */
int sr_attest_parse_time(const char *s, time_t *out, sr_error *err);

/* ---- RTMR3 event log --------------------------------------------------- */
/* One event per line (JSON lines):
 *   {"imr":3,"event":"compose-hash","payload":"<hex>","digest":"<hex 48 B>"}
 * digest = SHA-384(u32le(len(event)) || event || payload);
 * replay: R = 0^48; for each event R = SHA-384(R || digest). */
#define SR_EVENT_NAME_MAX 64
#define SR_EVENT_PAYLOAD_MAX 4096
#define SR_EVENTLOG_MAX_EVENTS 4096
#define SR_EVENT_COMPOSE_HASH "compose-hash"

void sr_event_digest(const char *name, const uint8_t *payload, size_t n, uint8_t out[48]);
/* RTMR extend: rtmr = SHA-384(rtmr || digest). */
void sr_rtmr_extend(uint8_t rtmr[48], const uint8_t digest[48]);
/* Appends one event line (with its newline) to out. */
int sr_eventlog_append(sr_buf *out, const char *name, const uint8_t *payload, size_t n, sr_error *err);
/* Replays a log into rtmr3_out; checks each line's digest. *nevents gets
 * the count (may be NULL). */
int sr_eventlog_replay(const char *text, size_t len, uint8_t rtmr3_out[48], size_t *nevents,
                       sr_error *err);
/* Payload of the last event named `name`: SR_ENOTFOUND if none. */
int sr_eventlog_find(const char *text, size_t len, const char *name, uint8_t *payload, size_t cap,
                     size_t *n, sr_error *err);

/* ---- GPU evidence (NVIDIA H100 confidential computing) -------------------
 * Key requests and receipts may carry an optional "gpu_evidence" object
 * (docs/ATTESTATION.md, "GPU evidence"):
 *   {"vendor":"nvidia","arch":"HOPPER","nonce":"<hex 32 B>",
 *    "report":"<base64 GPU attestation report>",
 *    "cert_chain":"<base64 GPU device certificate chain>"}
 * The GPU report is requested with nonce = SHA-256("sealroom-gpu-evidence-v1"
 * || REPORTDATA of the CPU quote), which binds it to that quote. Only the
 * shape and this binding are checked here; the report's signature, chain
 * to NVIDIA's root and measurements are NOT verified by this module. */
#define SR_GPU_EVIDENCE_MAX 65536
void sr_gpu_nonce(const uint8_t report_data[64], uint8_t nonce[32]);
/* Checks the gpu_evidence JSON text: fields, sizes, base64, and that its
 * nonce is bound to report_data. SR_EVERIFY if the nonce is not bound. */
int sr_gpu_evidence_check_binding(const char *json, size_t len, const uint8_t report_data[64], sr_error *err);

/* ---- producing quotes -------------------------------------------------- */

/* An sr_tee is not thread-safe: callers serialise extend/quote/event_log
 * on one handle (a quote must see a complete event log). */
typedef struct sr_tee sr_tee;

/* Simulated platform in a directory (created 0700): a local root CA
 * "sealroom SIMULATED TEE root - not Intel", a PCK-like intermediate and
 * leaf, a P-256 QE attestation key, and the measurements of a declared
 * runtime image (MRTD, RTMR0-2 derived from the image bytes). Fails with
 * SR_ESTATE if the directory is already initialised. image may be NULL
 * (an empty image). */
int sr_tee_sim_init(const char *dir, const uint8_t *image, size_t image_len, sr_error *err);
int sr_tee_open_sim(const char *dir, sr_tee **out, sr_error *err);
/* PEM of the simulated root (for the verifier's pinned roots). */
int sr_tee_sim_root_pem(const char *dir, sr_buf *out, sr_error *err);

/* TDX guest backend. Paths may be NULL for the defaults:
 * configfs_dir "/sys/kernel/config/tsm/report", rtmr_file
 * "/sys/class/misc/tdx_guest/measurements/rtmr3:sha384" (absent = RTMR
 * extension unsupported), event_log path "/run/sealroom/rtmr3.jsonl". */
typedef struct sr_tdx_paths {
    const char *configfs_dir;
    const char *rtmr_file;
    const char *event_log;
    unsigned busy_retries; /* EBUSY / generation race retries; 0 = 10 */
} sr_tdx_paths;
int sr_tee_open_tdx(const sr_tdx_paths *paths, sr_tee **out, sr_error *err);

/* "sim" or "tdx". */
const char *sr_tee_backend(const sr_tee *t);
/* Measures an event into RTMR3 and appends it to the event log. */
int sr_tee_extend_rtmr3(sr_tee *t, const char *event, const uint8_t *payload, size_t n, sr_error *err);
/* Produces a quote over report_data; appends its bytes to out. */
int sr_tee_quote(sr_tee *t, const uint8_t report_data[64], sr_buf *out, sr_error *err);
/* Appends the current event log text (JSON lines) to out. */
int sr_tee_event_log(sr_tee *t, sr_buf *out, sr_error *err);
void sr_tee_close(sr_tee *t);

#ifdef __cplusplus
}
#endif
#endif

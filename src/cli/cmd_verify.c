/* sealroom verify: the auditor. Checks a receipt offline, link by link,
 * back to the TEE root, the KMS root and the gate (docs/RECEIPT.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sealroom/attest.h"
#include "sealroom/buf.h"
#include "sealroom/json.h"
#include "sealroom/receipt.h"

const char sr_cmd_verify_summary[] = "verify a run's receipt: signature, quote, KMS certificate, approvals, outputs";

#define MAX_ROOTS 8

static void usage(void)
{
    printf("Usage: sealroom verify RECEIPT.json [--gate SPEC] [--kms-root HEX|FILE] [--root PEM]...\n"
           "                      [--allow-simulated] [--collateral FILE] [--now TIME] [--json]\n"
           "\n"
           "Checks a receipt offline and prints one line per link, with a check mark or a cross:\n"
           "  format             fields and sizes; the statement, recipe and envelope agree\n"
           "  payload-hash       SHA-256 of the payload is the signed statement's\n"
           "  payload-signature  the statement is signed by the run's key (cvm_pubkey)\n"
           "  quote-chain        the TDX quote verifies to a pinned root (Intel SGX Root CA by default);\n"
           "                     with --collateral also its TCB status (else reported as NotEvaluated)\n"
           "  report-data        REPORTDATA binds the compose hash, the run key and the KMS nonce\n"
           "  rtmr3-replay       the event log replays to RTMR3 and measured this compose hash\n"
           "  kms-certificate    the KMS root signed the release to this key, recipe, datasets, snapshot\n"
           "  gate-approvals     k approvals at the snapshot, not revoked, not frozen (re-read with --gate)\n"
           "  output-contract    the payload has exactly the recipe's declared outputs\n"
           "\n"
           "Options:\n"
           "  --gate SPEC        re-read the approvals and the KMS root key from the gate\n"
           "                     (ledger:PATH or evm:RPC_URL@0xADDRESS)\n"
           "  --kms-root HEX     the consortium's KMS root public key (33 bytes, hex, or a file holding\n"
           "                     it, e.g. KMS_DIR/root.pub); with --gate it must equal the gate's\n"
           "  --root PEM         pin this TEE root (a PEM/DER file, or a simulated-TEE folder holding\n"
           "                     root.pem) instead of the Intel SGX Root CA; repeatable\n"
           "  --allow-simulated  accept a quote from a simulated TEE (its root must be given with --root)\n"
           "  --collateral FILE  Intel PCS collateral JSON (TCB info v3, QE identity v2, signatures, issuer\n"
           "                     chains, CRLs; docs/ATTESTATION.md) for the quote: evaluates its TCB status.\n"
           "                     UpToDate passes; SWHardeningNeeded, ConfigurationNeeded and\n"
           "                     ConfigurationAndSWHardeningNeeded pass with a WARNING; OutOfDate*,\n"
           "                     Revoked, expired or badly signed collateral fail quote-chain (the KMS's\n"
           "                     policy). The collateral's issuer chains must verify to the pinned roots.\n"
           "  --now TIME         check every validity window (certificates, CRLs, collateral) at TIME\n"
           "                     (2025-07-01T00:00:00Z or Unix seconds) instead of the current time\n"
           "  --json             print {\"valid\", \"tee\", \"tcb_status\", \"advisory_ids\", \"warnings\",\n"
           "                     \"checks\": [{\"name\", \"ok\", \"detail\"}]}\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 every check passed, 1 a check failed (or the receipt cannot be read),\n"
           "2 usage error.\n");
}

static int read_root(const char *path, sr_buf *out, sr_error *err)
{
    struct stat sb;
    char p[4096];
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        if ((size_t)snprintf(p, sizeof p, "%s/root.pem", path) >= sizeof p)
            return sr_error_set(err, SR_EINVAL, "--root: path too long");
        path = p;
    }
    int rc = sr_file_read(path, 1u << 20, out, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "--root %s", path);
    return SR_OK;
}

static void print_human(const sr_receipt_report *r, const char *path, const char *claimed_tee)
{
    printf("receipt %s\n", path);
    for (size_t i = 0; i < r->nchecks; i++) {
        const sr_receipt_check *c = &r->checks[i];
        const char *mark = c->ok == 1 ? "\xe2\x9c\x93" : c->ok == 0 ? "\xe2\x9c\x97" : "-";
        printf("  %s %-18s %s\n", mark, c->name, c->detail);
    }
    int sim = strcmp(r->tee, "simulated") == 0;
    if (r->warning[0])
        printf("WARNING: %s\n", r->warning);
    int evaluated = r->tcb_status[0] && strcmp(r->tcb_status, "NotEvaluated") != 0;
    if (r->valid && sim)
        printf("VALID (SIMULATED TEE: not a hardware attestation)\n");
    else if (r->valid && evaluated)
        printf("VALID (TDX, TCB %s%s)\n", r->tcb_status, r->warning[0] ? ", with a WARNING" : "");
    else if (r->valid)
        printf("VALID (TDX)\n");
    else {
        const char *first = "?";
        for (size_t i = 0; i < r->nchecks; i++)
            if (r->checks[i].ok == 0) {
                first = r->checks[i].name;
                break;
            }
        if (sim)
            printf("INVALID: %s failed (SIMULATED TEE)\n", first);
        else if (strcmp(first, "quote-chain") == 0 && claimed_tee != NULL && strcmp(claimed_tee, "simulated") == 0)
            printf("INVALID: %s failed (the receipt claims a SIMULATED TEE: accepting one needs --allow-simulated "
                   "and its root with --root)\n", first);
        else
            printf("INVALID: %s failed\n", first);
    }
}

int sr_cmd_verify(int argc, char **argv)
{
    const char *cmd = "verify";
    const char *path = NULL, *gate = NULL, *kms_root = NULL, *collateral = NULL, *now_s = NULL;
    const char *roots[MAX_ROOTS];
    size_t nroots = 0;
    int json = 0, allow_sim = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--allow-simulated") == 0) {
            allow_sim = 1;
        } else if (strcmp(a, "--gate") == 0 || strcmp(a, "--kms-root") == 0 || strcmp(a, "--root") == 0 ||
                   strcmp(a, "--collateral") == 0 || strcmp(a, "--now") == 0) {
            if (i + 1 >= argc)
                return sr_cli_usage_error(cmd, "%s needs a value", a);
            const char *val = argv[++i];
            if (strcmp(a, "--gate") == 0)
                gate = val;
            else if (strcmp(a, "--collateral") == 0)
                collateral = val;
            else if (strcmp(a, "--now") == 0)
                now_s = val;
            else if (strcmp(a, "--kms-root") == 0)
                kms_root = val;
            else if (nroots >= MAX_ROOTS)
                return sr_cli_usage_error(cmd, "at most %d --root options", MAX_ROOTS);
            else
                roots[nroots++] = val;
        } else if (a[0] == '-' && a[1] != '\0') {
            return sr_cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (path == NULL) {
            path = a;
        } else {
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", a);
        }
    }
    if (path == NULL)
        return sr_cli_usage_error(cmd, "RECEIPT.json is required");
    uint8_t kpub[SR_SECP_PUBKEY_LEN];
    sr_error err;
    sr_error_clear(&err);
    time_t now = 0;
    if (now_s != NULL && (sr_attest_parse_time(now_s, &now, &err) != SR_OK || now <= 0))
        return sr_cli_usage_error(cmd, "--now must be a time like 2025-07-01T00:00:00Z or Unix seconds");
    if (kms_root != NULL && sr_hex_decode_exact(kms_root, kpub, sizeof kpub, &err) != SR_OK) {
        /* or a file holding it (e.g. the KMS folder's root.pub) */
        sr_buf kb;
        sr_buf_init(&kb);
        int ok = sr_file_read(kms_root, 256, &kb, &err) == SR_OK;
        char text[257] = "";
        if (ok) {
            size_t n = kb.len;
            if (n > 0)
                memcpy(text, kb.data, n);
            while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
                n--;
            text[n] = '\0';
        }
        sr_buf_free(&kb);
        if (!ok || sr_hex_decode_exact(text, kpub, sizeof kpub, &err) != SR_OK)
            return sr_cli_usage_error(cmd, "--kms-root must be a 33-byte public key in hex, or a file holding one");
    }

    int status = SR_EXIT_FAIL;
    sr_buf rbuf[MAX_ROOTS], file, col;
    const uint8_t *rptr[MAX_ROOTS];
    size_t rlen[MAX_ROOTS];
    for (size_t i = 0; i < MAX_ROOTS; i++)
        sr_buf_init(&rbuf[i]);
    sr_buf_init(&file);
    sr_buf_init(&col);
    json_t *doc = NULL;
    for (size_t i = 0; i < nroots; i++) {
        if (read_root(roots[i], &rbuf[i], &err) != SR_OK) {
            sr_cli_fail(cmd, &err);
            goto out;
        }
        rptr[i] = rbuf[i].data;
        rlen[i] = rbuf[i].len;
    }
    if (collateral != NULL && sr_file_read(collateral, 8u << 20, &col, &err) != SR_OK) {
        sr_error_prefix(&err, "--collateral");
        sr_cli_fail(cmd, &err);
        goto out;
    }
    if (sr_file_read(path, SR_RECEIPT_MAX_BYTES, &file, &err) != SR_OK) {
        sr_cli_fail(cmd, &err);
        goto out;
    }
    doc = sr_json_parse(file.data ? (const char *)file.data : "", file.len, SR_RECEIPT_MAX_BYTES, &err);
    if (doc == NULL) {
        sr_error_prefix(&err, "%s", path);
        sr_cli_fail(cmd, &err);
        goto out;
    }
    /* A run record from the service API ({"status", "receipt": {...}}) holds the receipt. */
    const json_t *receipt = doc;
    if (json_is_object(doc) && json_object_get(doc, "format") == NULL && json_is_object(json_object_get(doc, "receipt")))
        receipt = json_object_get(doc, "receipt");

    sr_receipt_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.roots = nroots ? rptr : NULL;
    pol.root_lens = nroots ? rlen : NULL;
    pol.nroots = nroots;
    pol.allow_simulated = allow_sim;
    pol.gate_spec = gate;
    pol.kms_root_pub = kms_root ? kpub : NULL;
    pol.now = (int64_t)now;
    if (collateral != NULL) {
        pol.collateral = col.data ? (const char *)col.data : "";
        pol.collateral_len = col.len;
    }
    sr_receipt_report *rep = calloc(1, sizeof *rep);
    if (rep == NULL) {
        sr_error_set(&err, SR_ENOMEM, "out of memory");
        sr_cli_fail(cmd, &err);
        goto out;
    }
    int rc = sr_receipt_verify(receipt, &pol, rep, &err);
    if (rc != SR_OK && rc != SR_EVERIFY) {
        free(rep);
        sr_cli_fail(cmd, &err);
        goto out;
    }
    if (json) {
        json_t *j = sr_receipt_report_json(rep);
        char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII) : NULL;
        json_decref(j);
        if (s != NULL)
            printf("%s\n", s);
        free(s);
    } else {
        print_human(rep, path, json_string_value(json_object_get(receipt, "tee")));
    }
    status = rep->valid ? SR_EXIT_OK : SR_EXIT_FAIL;
    free(rep);
out:
    json_decref(doc);
    sr_buf_free(&file);
    sr_buf_free(&col);
    for (size_t i = 0; i < MAX_ROOTS; i++)
        sr_buf_free(&rbuf[i]);
    return status;
}

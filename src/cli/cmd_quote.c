/* sealroom quote: verify / show TDX quotes; drive the simulated TEE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sealroom/attest.h"
#include "sealroom/buf.h"

const char sr_cmd_quote_summary[] = "verify or show a TDX quote; create quotes with the simulated TEE";

#define MAX_BLOBS 8

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sealroom quote verify FILE [--root PEM]... [--crl FILE]... [--collateral JSON]\n"
            "                             [--now TIME] [--event-log FILE] [--allow-debug]\n"
            "                             [--allow-simulated] [--allow-out-of-date] [--json]\n"
            "       sealroom quote show FILE [--json]\n"
            "       sealroom quote sim-init DIR [--image FILE]\n"
            "       sealroom quote sim-extend DIR --event NAME --payload HEX\n"
            "       sealroom quote sim-quote DIR --report-data HEX [-o FILE] [--hex]\n"
            "       sealroom quote sim-root DIR\n"
            "       sealroom quote sim-log DIR\n"
            "       sealroom quote tdx-quote --report-data HEX [-o FILE] [--hex] [--configfs DIR]\n"
            "       sealroom quote tdx-extend --event NAME --payload HEX [--rtmr-file F] [--event-log F]\n\n"
            "verify  checks a TDX DCAP quote (v4/v5, raw bytes or hex) back to a pinned root:\n"
            "        quote and QE report signatures, attestation-key binding, PCK chain\n"
            "        (+ CRLs), QE vendor, TD attributes; with --collateral (Intel PCS TCB\n"
            "        info + QE identity) also the TCB status. Exit 0 only when valid.\n"
            "  --root PEM          pinned root(s) (default: production Intel SGX Root CA)\n"
            "  --crl FILE          CRL (PEM or DER) to check the chain against\n"
            "  --collateral JSON   collateral (tcb_info, qe_identity, signatures, chains, CRLs)\n"
            "  --now TIME          evaluation time: RFC 3339 (2025-07-01T00:00:00Z) or Unix seconds\n"
            "  --event-log FILE    RTMR3 event log (JSON lines) to replay against RTMR3\n"
            "  --allow-debug       accept a debug TD\n"
            "  --allow-simulated   accept a quote from the sealroom simulated TEE (its root\n"
            "                      must be given with --root); the verdict is then 'simulated'\n"
            "  --allow-out-of-date accept an OutOfDate TCB status (Revoked is never accepted)\n"
            "  --json              print the result as JSON\n"
            "show    prints the quote's fields without verifying anything.\n"
            "sim-*   the simulated TEE in DIR: init (local root CA, PCK-like chain, QE key,\n"
            "        measurements of --image), extend RTMR3 with an event, emit a quote,\n"
            "        print its root (PEM) or its event log.\n"
            "tdx-*   on a TDX guest: a quote through configfs-tsm (default\n"
            "        /sys/kernel/config/tsm/report), or an RTMR3 extension + event log line.\n");
}

static int read_quote(const char *path, sr_buf *raw, sr_error *err)
{
    sr_buf file;
    sr_buf_init(&file);
    int rc = sr_file_read(path, 2u * SR_QUOTE_MAX_LEN + 64, &file, err);
    if (rc == SR_OK)
        rc = sr_quote_decode_input(file.data, file.len, raw, err);
    if (rc != SR_OK)
        sr_error_prefix(err, "%s", path);
    sr_buf_free(&file);
    return rc;
}

static void hexline(const char *label, const uint8_t *v, size_t n)
{
    char h[2 * 64 + 1];
    sr_hex_encode(v, n, h);
    printf("%-16s %s\n", label, h);
}

static void print_text(const sr_attest_result *r, int verified)
{
    if (r->parsed) {
        const sr_quote *q = &r->quote;
        printf("%-16s %u\n", "version", q->version);
        printf("%-16s %s (body type %u, %u bytes)\n", "tee", q->tee_type == SR_TDX_TEE_TYPE ? "TDX" : "?",
               q->body_type, q->body_len);
        hexline("mrtd", q->body.mrtd, 48);
        for (int i = 0; i < 4; i++) {
            char l[8];
            snprintf(l, sizeof l, "rtmr%d", i);
            hexline(l, q->body.rtmr[i], 48);
        }
        hexline("mrconfigid", q->body.mrconfigid, 48);
        hexline("mrowner", q->body.mrowner, 48);
        hexline("report_data", q->body.report_data, 64);
        uint64_t a = sr_quote_td_attributes(q);
        char at[17];
        sr_hex_encode(q->body.td_attributes, 8, at);
        printf("%-16s %s%s\n", "td_attributes", at, (a & SR_TD_ATTR_DEBUG) ? " (DEBUG)" : "");
        hexline("mrseam", q->body.mrseam, 48);
        hexline("tee_tcb_svn", q->body.tee_tcb_svn, 16);
    }
    if (!verified)
        return;
    if (r->has_pck_ext)
        hexline("fmspc", r->fmspc, 6);
    else
        printf("%-16s -\n", "fmspc");
    if (r->root_cn[0])
        printf("%-16s %s\n", "root", r->root_cn);
    printf("%-16s %s\n", "tcb_status", r->tcb_status);
    if (r->advisory_ids[0])
        printf("%-16s %s\n", "advisories", r->advisory_ids);
    if (r->eventlog_checked) {
        printf("%-16s replays to RTMR3\n", "event_log");
        if (r->has_compose_hash)
            hexline("compose_hash", r->compose_hash, 32);
    }
    printf("%-16s %s%s%s\n", "verdict", sr_attest_verdict_name(r->verdict), r->reason[0] ? ": " : "", r->reason);
}

static int cmd_verify(int argc, char **argv)
{
    const char *file = NULL, *collateral = NULL, *now_s = NULL, *evlog = NULL;
    const char *roots[MAX_BLOBS], *crls[MAX_BLOBS];
    size_t nroots = 0, ncrls = 0;
    int json = 0, allow_debug = 0, allow_sim = 0, allow_ood = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if (strcmp(a, "--root") == 0 && has_next) {
            if (nroots == MAX_BLOBS)
                return sr_cli_usage_error("quote verify", "at most %d --root", MAX_BLOBS);
            roots[nroots++] = argv[++i];
        } else if (strcmp(a, "--crl") == 0 && has_next) {
            if (ncrls == MAX_BLOBS)
                return sr_cli_usage_error("quote verify", "at most %d --crl", MAX_BLOBS);
            crls[ncrls++] = argv[++i];
        } else if (strcmp(a, "--collateral") == 0 && has_next) {
            collateral = argv[++i];
        } else if (strcmp(a, "--now") == 0 && has_next) {
            now_s = argv[++i];
        } else if (strcmp(a, "--event-log") == 0 && has_next) {
            evlog = argv[++i];
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--allow-debug") == 0) {
            allow_debug = 1;
        } else if (strcmp(a, "--allow-simulated") == 0) {
            allow_sim = 1;
        } else if (strcmp(a, "--allow-out-of-date") == 0) {
            allow_ood = 1;
        } else if (a[0] == '-' && a[1] != '\0') {
            return sr_cli_usage_error("quote verify", "unknown or incomplete option %s", a);
        } else if (file == NULL) {
            file = a;
        } else {
            return sr_cli_usage_error("quote verify", "unexpected argument %s", a);
        }
    }
    if (file == NULL)
        return sr_cli_usage_error("quote verify", "missing FILE");
    sr_error err;
    sr_error_clear(&err);
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.allow_debug = allow_debug;
    pol.allow_simulated = allow_sim;
    pol.allow_out_of_date = allow_ood;
    if (now_s != NULL && sr_attest_parse_time(now_s, &pol.now, &err) != SR_OK)
        return sr_cli_usage_error("quote verify", "--now: %s", err.msg);

    sr_buf raw, blobs[2 * MAX_BLOBS], col, ev;
    const uint8_t *rp[MAX_BLOBS], *cp[MAX_BLOBS];
    size_t rl[MAX_BLOBS], cl[MAX_BLOBS];
    sr_buf_init(&raw);
    sr_buf_init(&col);
    sr_buf_init(&ev);
    for (size_t i = 0; i < 2 * MAX_BLOBS; i++)
        sr_buf_init(&blobs[i]);
    int rc = read_quote(file, &raw, &err);
    for (size_t i = 0; rc == SR_OK && i < nroots; i++) {
        rc = sr_file_read(roots[i], 1u << 20, &blobs[i], &err);
        rp[i] = blobs[i].data;
        rl[i] = blobs[i].len;
    }
    for (size_t i = 0; rc == SR_OK && i < ncrls; i++) {
        rc = sr_file_read(crls[i], 16u << 20, &blobs[MAX_BLOBS + i], &err);
        cp[i] = blobs[MAX_BLOBS + i].data;
        cl[i] = blobs[MAX_BLOBS + i].len;
    }
    if (rc == SR_OK && collateral != NULL)
        rc = sr_file_read(collateral, 16u << 20, &col, &err);
    if (rc == SR_OK && evlog != NULL)
        rc = sr_file_read(evlog, 64u << 20, &ev, &err);
    int exit_code = SR_EXIT_FAIL;
    if (rc != SR_OK) {
        exit_code = sr_cli_fail("quote verify", &err);
        goto done;
    }
    pol.roots = rp;
    pol.root_lens = rl;
    pol.nroots = nroots;
    pol.crls = cp;
    pol.crl_lens = cl;
    pol.ncrls = ncrls;
    if (collateral != NULL) {
        pol.collateral = col.len ? (const char *)col.data : "";
        pol.collateral_len = col.len;
    }
    if (evlog != NULL) {
        pol.event_log = ev.len ? (const char *)ev.data : "";
        pol.event_log_len = ev.len;
    }
    sr_attest_result *res = malloc(sizeof *res);
    if (res == NULL) {
        sr_error_set(&err, SR_ENOMEM, "out of memory");
        exit_code = sr_cli_fail("quote verify", &err);
        goto done;
    }
    rc = sr_attest_verify(raw.data, raw.len, &pol, res, &err);
    if (json) {
        char *t = sr_attest_result_json(res, 1);
        if (t)
            printf("%s\n", t);
        free(t);
    } else {
        print_text(res, 1);
    }
    if (rc != SR_OK)
        fprintf(stderr, "sealroom quote verify: %s: %s\n", file, err.msg);
    exit_code = rc == SR_OK ? SR_EXIT_OK : SR_EXIT_FAIL;
    free(res);
done:
    sr_buf_free(&raw);
    sr_buf_free(&col);
    sr_buf_free(&ev);
    for (size_t i = 0; i < 2 * MAX_BLOBS; i++)
        sr_buf_free(&blobs[i]);
    return exit_code;
}

static int cmd_show(int argc, char **argv)
{
    const char *file = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return sr_cli_usage_error("quote show", "unknown option %s", argv[i]);
        else if (file == NULL)
            file = argv[i];
        else
            return sr_cli_usage_error("quote show", "unexpected argument %s", argv[i]);
    }
    if (file == NULL)
        return sr_cli_usage_error("quote show", "missing FILE");
    sr_error err;
    sr_error_clear(&err);
    sr_buf raw;
    sr_buf_init(&raw);
    sr_attest_result *res = calloc(1, sizeof *res);
    int rc = res ? read_quote(file, &raw, &err) : sr_error_set(&err, SR_ENOMEM, "out of memory");
    if (rc == SR_OK)
        rc = sr_quote_parse(raw.data, raw.len, &res->quote, &err);
    int code;
    if (rc != SR_OK) {
        code = sr_cli_fail("quote show", &err);
    } else {
        res->parsed = 1;
        snprintf(res->reason, sizeof res->reason, "not verified (quote show)");
        snprintf(res->tcb_status, sizeof res->tcb_status, "NotEvaluated");
        if (json) {
            char *t = sr_attest_result_json(res, 1);
            if (t)
                printf("%s\n", t);
            free(t);
        } else {
            print_text(res, 0);
        }
        code = SR_EXIT_OK;
    }
    free(res);
    sr_buf_free(&raw);
    return code;
}

static int cmd_sim_init(int argc, char **argv)
{
    const char *dir = NULL, *image = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--image") == 0 && i + 1 < argc)
            image = argv[++i];
        else if (argv[i][0] == '-')
            return sr_cli_usage_error("quote sim-init", "unknown or incomplete option %s", argv[i]);
        else if (dir == NULL)
            dir = argv[i];
        else
            return sr_cli_usage_error("quote sim-init", "unexpected argument %s", argv[i]);
    }
    if (dir == NULL)
        return sr_cli_usage_error("quote sim-init", "missing DIR");
    sr_error err;
    sr_error_clear(&err);
    sr_buf img;
    sr_buf_init(&img);
    int rc = image ? sr_file_read(image, 1u << 30, &img, &err) : SR_OK;
    if (rc == SR_OK)
        rc = sr_tee_sim_init(dir, img.data, img.len, &err);
    sr_buf_free(&img);
    if (rc != SR_OK)
        return sr_cli_fail("quote sim-init", &err);
    printf("simulated TEE created in %s (root: %s/root.pem; NOT Intel, for tests and demos only)\n", dir, dir);
    return SR_EXIT_OK;
}

static int cmd_extend(int argc, char **argv, int tdx)
{
    const char *name = tdx ? "quote tdx-extend" : "quote sim-extend";
    const char *dir = NULL, *event = NULL, *payload = NULL, *rtmr_file = NULL, *evlog = NULL;
    for (int i = 1; i < argc; i++) {
        if (tdx && strcmp(argv[i], "--rtmr-file") == 0 && i + 1 < argc)
            rtmr_file = argv[++i];
        else if (tdx && strcmp(argv[i], "--event-log") == 0 && i + 1 < argc)
            evlog = argv[++i];
        else if (strcmp(argv[i], "--event") == 0 && i + 1 < argc)
            event = argv[++i];
        else if (strcmp(argv[i], "--payload") == 0 && i + 1 < argc)
            payload = argv[++i];
        else if (argv[i][0] == '-')
            return sr_cli_usage_error(name, "unknown or incomplete option %s", argv[i]);
        else if (dir == NULL && !tdx)
            dir = argv[i];
        else
            return sr_cli_usage_error(name, "unexpected argument %s", argv[i]);
    }
    if ((dir == NULL && !tdx) || event == NULL || payload == NULL)
        return sr_cli_usage_error(name, "needs %s--event and --payload", tdx ? "" : "DIR, ");
    sr_error err;
    sr_error_clear(&err);
    uint8_t p[SR_EVENT_PAYLOAD_MAX];
    size_t n = 0;
    if (sr_hex_decode(payload, p, sizeof p, &n, &err) != SR_OK)
        return sr_cli_usage_error(name, "--payload: %s", err.msg);
    sr_tee *t = NULL;
    int rc;
    if (tdx) {
        sr_tdx_paths paths = {NULL, rtmr_file, evlog, 0};
        rc = sr_tee_open_tdx(&paths, &t, &err);
    } else {
        rc = sr_tee_open_sim(dir, &t, &err);
    }
    if (rc == SR_OK)
        rc = sr_tee_extend_rtmr3(t, event, p, n, &err);
    sr_tee_close(t);
    if (rc != SR_OK)
        return sr_cli_fail(name, &err);
    return SR_EXIT_OK;
}

static int cmd_quote_out(int argc, char **argv, int tdx)
{
    const char *name = tdx ? "quote tdx-quote" : "quote sim-quote";
    const char *dir = NULL, *rd = NULL, *outp = NULL, *configfs = NULL;
    int hex = 0;
    for (int i = 1; i < argc; i++) {
        if (tdx && strcmp(argv[i], "--configfs") == 0 && i + 1 < argc)
            configfs = argv[++i];
        else if (strcmp(argv[i], "--report-data") == 0 && i + 1 < argc)
            rd = argv[++i];
        else if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--out") == 0) && i + 1 < argc)
            outp = argv[++i];
        else if (strcmp(argv[i], "--hex") == 0)
            hex = 1;
        else if (argv[i][0] == '-')
            return sr_cli_usage_error(name, "unknown or incomplete option %s", argv[i]);
        else if (dir == NULL && !tdx)
            dir = argv[i];
        else
            return sr_cli_usage_error(name, "unexpected argument %s", argv[i]);
    }
    if ((dir == NULL && !tdx) || rd == NULL)
        return sr_cli_usage_error(name, "needs %s--report-data HEX (up to 64 bytes)", tdx ? "" : "DIR and ");
    sr_error err;
    sr_error_clear(&err);
    uint8_t data[64] = {0};
    size_t n = 0;
    if (sr_hex_decode(rd, data, sizeof data, &n, &err) != SR_OK)
        return sr_cli_usage_error(name, "--report-data: %s", err.msg);
    sr_tee *t = NULL;
    sr_buf q;
    sr_buf_init(&q);
    int rc;
    if (tdx) {
        sr_tdx_paths paths = {configfs, NULL, NULL, 0};
        rc = sr_tee_open_tdx(&paths, &t, &err);
    } else {
        rc = sr_tee_open_sim(dir, &t, &err);
    }
    if (rc == SR_OK)
        rc = sr_tee_quote(t, data, &q, &err);
    sr_tee_close(t);
    if (rc == SR_OK && hex) {
        char *h = malloc(2 * q.len + 2);
        if (h == NULL) {
            rc = sr_error_set(&err, SR_ENOMEM, "out of memory");
        } else {
            sr_hex_encode(q.data, q.len, h);
            size_t hl = strlen(h);
            h[hl] = '\n';
            sr_buf_reset(&q);
            rc = sr_buf_append(&q, h, hl + 1, &err);
            free(h);
        }
    }
    if (rc == SR_OK) {
        if (outp != NULL)
            rc = sr_file_write_atomic(outp, q.data, q.len, 0644, &err);
        else if (fwrite(q.data, 1, q.len, stdout) != q.len)
            rc = sr_error_set(&err, SR_EIO, "writing to stdout failed");
    }
    sr_buf_free(&q);
    if (rc != SR_OK)
        return sr_cli_fail(name, &err);
    return SR_EXIT_OK;
}

static int cmd_sim_print(int argc, char **argv, int root)
{
    const char *name = root ? "quote sim-root" : "quote sim-log";
    if (argc != 2 || argv[1][0] == '-')
        return sr_cli_usage_error(name, "needs exactly DIR");
    sr_error err;
    sr_error_clear(&err);
    sr_buf b;
    sr_buf_init(&b);
    int rc;
    if (root) {
        rc = sr_tee_sim_root_pem(argv[1], &b, &err);
    } else {
        sr_tee *t = NULL;
        rc = sr_tee_open_sim(argv[1], &t, &err);
        if (rc == SR_OK)
            rc = sr_tee_event_log(t, &b, &err);
        sr_tee_close(t);
    }
    if (rc == SR_OK && b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
        rc = sr_error_set(&err, SR_EIO, "writing to stdout failed");
    sr_buf_free(&b);
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail(name, &err);
}

int sr_cmd_quote(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SR_EXIT_USAGE;
    }
    if (sr_cli_wants_help(argc, argv)) {
        usage(stdout);
        return SR_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(sub, "show") == 0)
        return cmd_show(argc - 1, argv + 1);
    if (strcmp(sub, "sim-init") == 0)
        return cmd_sim_init(argc - 1, argv + 1);
    if (strcmp(sub, "sim-extend") == 0)
        return cmd_extend(argc - 1, argv + 1, 0);
    if (strcmp(sub, "sim-quote") == 0)
        return cmd_quote_out(argc - 1, argv + 1, 0);
    if (strcmp(sub, "tdx-extend") == 0)
        return cmd_extend(argc - 1, argv + 1, 1);
    if (strcmp(sub, "tdx-quote") == 0)
        return cmd_quote_out(argc - 1, argv + 1, 1);
    if (strcmp(sub, "sim-root") == 0)
        return cmd_sim_print(argc - 1, argv + 1, 1);
    if (strcmp(sub, "sim-log") == 0)
        return cmd_sim_print(argc - 1, argv + 1, 0);
    return sr_cli_usage_error("quote", "unknown sub-command %s", sub);
}

/* sealroom kms init | serve | audit */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sealroom/buf.h"
#include "sealroom/http.h"
#include "sealroom/keywrap.h"
#include "sealroom/kms.h"
#include "sealroom/kmsstore.h"
#include "sealroom/secmem.h"

const char sr_cmd_kms_summary[] = "key service: init the root key, serve key releases, read the audit log";

static void kms_usage(FILE *f)
{
    fprintf(f, "usage: sealroom kms init --dir DIR [--json]\n"
               "       sealroom kms serve --dir DIR --gate SPEC --listen HOST:PORT\n"
               "                          (--runtimes FILE | --any-runtime)\n"
               "                          [--allow-simulated-tee --sim-root DIR|PEM] [--collateral FILE]\n"
               "                          [--threads N] [--allow-debug-td]\n"
               "       sealroom kms audit --dir DIR [--json] [--verify]\n\n"
               "init   creates the KMS root key (secp256k1) in DIR/root.key (0600) and prints its\n"
               "       compressed public key (hex): owners seal to it, the gate records it.\n"
               "serve  releases per-dataset keys to attested analysis VMs (GET /v1/nonce,\n"
               "       POST /v1/keys; docs/PROTOCOL.md). Every request, allowed or refused, is\n"
               "       written to the audit log in DIR/kms.db. Stops on SIGINT/SIGTERM.\n"
               "audit  lists the audit log; --verify checks its hash chain and MACs.\n");
}

static int kms_init(int argc, char **argv)
{
    const char *dir = NULL;
    int json = 0;
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'}, {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'h') {
            kms_usage(stdout);
            return SR_EXIT_OK;
        } else
            return sr_cli_usage_error("kms init", "unknown option");
    }
    if (dir == NULL)
        return sr_cli_usage_error("kms init", "--dir is required");
    sr_error err;
    uint8_t pub[SR_SECP_PUBKEY_LEN];
    if (sr_kms_root_init(dir, pub, &err) != SR_OK)
        return sr_cli_fail("kms init", &err);
    char hex[2 * SR_SECP_PUBKEY_LEN + 1];
    sr_hex_encode(pub, sizeof pub, hex);
    if (json)
        printf("{\"kms_pubkey\":\"%s\",\"dir\":\"%s\"}\n", hex, dir);
    else
        printf("%s\n", hex);
    return SR_EXIT_OK;
}

static int kms_serve(int argc, char **argv)
{
    sr_kms_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *listen = NULL;
    unsigned long long threads = 4;
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"gate", required_argument, 0, 'g'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"runtimes", required_argument, 0, 'r'},
                                         {"any-runtime", no_argument, 0, 'a'},
                                         {"allow-simulated-tee", no_argument, 0, 's'},
                                         {"sim-root", required_argument, 0, 'S'},
                                         {"collateral", required_argument, 0, 'c'},
                                         {"threads", required_argument, 0, 't'},
                                         {"allow-debug-td", no_argument, 0, 'D'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': cfg.dir = optarg; break;
        case 'g': cfg.gate_spec = optarg; break;
        case 'l': listen = optarg; break;
        case 'r': cfg.runtimes_path = optarg; break;
        case 'a': cfg.any_runtime = 1; break;
        case 's': cfg.allow_simulated = 1; break;
        case 'S': cfg.sim_root_path = optarg; break;
        case 'c': cfg.collateral_path = optarg; break;
        case 'D': cfg.allow_debug = 1; break;
        case 't':
            if (sr_cli_parse_u64("kms serve", "--threads", optarg, &threads) != 0)
                return SR_EXIT_USAGE;
            break;
        case 'h': kms_usage(stdout); return SR_EXIT_OK;
        default: return sr_cli_usage_error("kms serve", "unknown option");
        }
    }
    if (cfg.dir == NULL || cfg.gate_spec == NULL || listen == NULL)
        return sr_cli_usage_error("kms serve", "--dir, --gate and --listen are required");
    if (threads == 0 || threads > 64)
        return sr_cli_usage_error("kms serve", "--threads must be 1..64");
    if (cfg.sim_root_path != NULL && !cfg.allow_simulated)
        return sr_cli_usage_error("kms serve", "--sim-root needs --allow-simulated-tee");
    sr_http_block_signals();
    sr_error err;
    sr_kms *k = NULL;
    if (sr_kms_new(&cfg, &k, &err) != SR_OK)
        return sr_cli_fail("kms serve", &err);
    sr_http_limits lim = {.max_body = SR_KMS_MAX_REQUEST, .timeout_s = 30, .max_connections = 512,
                          .threads = (unsigned)threads};
    sr_http_server *srv = NULL;
    if (sr_http_server_start(listen, &lim, sr_kms_http_handler, k, &srv, &err) != SR_OK) {
        sr_kms_free(k);
        return sr_cli_fail("kms serve", &err);
    }
    if (cfg.allow_simulated)
        fprintf(stderr, "sealroom kms: WARNING: accepting SIMULATED TEE quotes (not Intel-rooted)\n");
    if (cfg.any_runtime)
        fprintf(stderr, "sealroom kms: WARNING: accepting any runtime measurement (--any-runtime)\n");
    sr_cli_serve_until_signal("kms", listen, srv);
    sr_kms_commit_stats st;
    sr_kms_get_commit_stats(k, &st);
    fprintf(stderr, "sealroom kms: %llu release transactions for %llu requests (largest group %zu)\n",
            (unsigned long long)st.commits, (unsigned long long)st.requests, st.max_group);
    sr_kms_free(k);
    return SR_EXIT_OK;
}

struct audit_print {
    int json;
    json_t *list;
};

static int print_audit(void *ctx, int64_t seq, const sr_kms_audit_record *r, const char *hash)
{
    struct audit_print *p = ctx;
    if (p->json) {
        json_t *m = r->measurements ? json_loads(r->measurements, JSON_DECODE_ANY, NULL) : NULL;
        json_t *d = r->datasets ? json_loads(r->datasets, JSON_DECODE_ANY, NULL) : NULL;
        json_array_append_new(p->list, json_pack("{s:I,s:I,s:b,s:s?,s:s?,s:s?,s:s?,s:o?,s:o?,s:s}", "seq",
                                                 (json_int_t)seq, "time", (json_int_t)r->time, "allowed", r->allowed,
                                                 "reason", r->reason, "app_id", r->app_id, "compose_hash",
                                                 r->compose_hash, "client", r->client, "measurements", m, "datasets",
                                                 d, "entry_hash", hash));
    } else {
        printf("%6lld  %lld  %-8s  %s  %s\n", (long long)seq, (long long)r->time, r->allowed ? "RELEASE" : "REFUSE",
               r->compose_hash ? r->compose_hash : "-", r->reason ? r->reason : "");
    }
    return 0;
}

static int kms_audit(int argc, char **argv)
{
    const char *dir = NULL;
    int json = 0, verify = 0;
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'}, {"json", no_argument, 0, 'j'},
                                         {"verify", no_argument, 0, 'v'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'j')
            json = 1;
        else if (c == 'v')
            verify = 1;
        else if (c == 'h') {
            kms_usage(stdout);
            return SR_EXIT_OK;
        } else
            return sr_cli_usage_error("kms audit", "unknown option");
    }
    if (dir == NULL)
        return sr_cli_usage_error("kms audit", "--dir is required");
    sr_error err;
    uint8_t *sk = sr_secure_alloc(32);
    uint8_t pub[SR_SECP_PUBKEY_LEN], audit_key[32];
    if (sk == NULL)
        return SR_EXIT_FAIL;
    int rc = sr_kms_root_load(dir, sk, pub, &err);
    if (rc == SR_OK)
        rc = sr_hkdf_sha256(sk, 32, (const uint8_t *)"sealroom/v1/kms-audit-key", 25, NULL, 0, audit_key, 32, &err);
    sr_secure_free(sk, 32);
    if (rc != SR_OK)
        return sr_cli_fail("kms audit", &err);
    sr_kms_store *st = NULL;
    rc = sr_kms_store_open(dir, audit_key, &st, &err);
    sr_memzero(audit_key, sizeof audit_key);
    if (rc != SR_OK)
        return sr_cli_fail("kms audit", &err);
    if (verify) {
        int64_t n = 0;
        rc = sr_kms_audit_verify(st, &n, &err);
        sr_kms_store_close(st);
        if (rc != SR_OK) {
            if (json)
                printf("{\"valid\":false,\"error\":\"%s\"}\n", err.msg);
            return sr_cli_fail("kms audit", &err);
        }
        if (json)
            printf("{\"valid\":true,\"records\":%lld}\n", (long long)n);
        else
            printf("audit log valid: %lld records, hash chain and MACs intact\n", (long long)n);
        return SR_EXIT_OK;
    }
    struct audit_print p = {json, json ? json_array() : NULL};
    rc = sr_kms_audit_list(st, print_audit, &p, &err);
    sr_kms_store_close(st);
    if (json) {
        char *text = json_dumps(p.list, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(p.list);
    }
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail("kms audit", &err);
}

int sr_cmd_kms(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        kms_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
    }
    if (strcmp(argv[1], "init") == 0)
        return kms_init(argc - 1, argv + 1);
    if (strcmp(argv[1], "serve") == 0)
        return kms_serve(argc - 1, argv + 1);
    if (strcmp(argv[1], "audit") == 0)
        return kms_audit(argc - 1, argv + 1);
    return sr_cli_usage_error("kms", "unknown subcommand '%s' (init, serve, audit)", argv[1]);
}

/* sealroom serve: the analysis service (runs inside the confidential VM). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sealroom/http.h"
#include "sealroom/serve.h"

const char sr_cmd_serve_summary[] = "run the analysis service (REST API /v1/runs and the web console)";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sealroom serve --kms URL --tee sim|tdx --listen HOST:PORT --data-dir DIR\n"
            "                      [--gate SPEC] [--consortium SPEC]... [--sim-dir DIR]\n"
            "                      [--web DIR] [--approval-wait SECONDS]\n\n"
            "Accepts analysis runs (POST /v1/runs), fetches the sealed archives, waits until the gate\n"
            "allows the recipe (with --gate), measures the recipe into RTMR3, proves itself to the KMS\n"
            "with a fresh quote, decrypts in locked memory, runs the recipe, and signs the declared\n"
            "outputs with a receipt (docs/RECEIPT.md). Runs survive a restart (DIR/runs.db).\n"
            "--tee sim uses a simulated TEE kept in --sim-dir (default DIR/sim); every receipt then\n"
            "says \"simulated\". The web console is served at / from --web (default: the source tree's\n"
            "web/ folder). Stops on SIGINT/SIGTERM.\n");
}

int sr_cmd_serve(int argc, char **argv)
{
    sr_serve_config cfg;
    memset(&cfg, 0, sizeof cfg);
    const char *listen = NULL;
    const char *consortia[16];
    size_t ncons = 0;
    unsigned long long wait_s = 0;
    static const struct option opts[] = {{"kms", required_argument, 0, 'k'},
                                         {"tee", required_argument, 0, 't'},
                                         {"listen", required_argument, 0, 'l'},
                                         {"data-dir", required_argument, 0, 'd'},
                                         {"gate", required_argument, 0, 'g'},
                                         {"consortium", required_argument, 0, 'c'},
                                         {"sim-dir", required_argument, 0, 's'},
                                         {"web", required_argument, 0, 'w'},
                                         {"approval-wait", required_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': cfg.kms_url = optarg; break;
        case 't': cfg.tee = optarg; break;
        case 'l': listen = optarg; break;
        case 'd': cfg.data_dir = optarg; break;
        case 'g': cfg.gate_spec = optarg; break;
        case 'c':
            if (ncons >= 16)
                return sr_cli_usage_error("serve", "at most 16 --consortium");
            consortia[ncons++] = optarg;
            break;
        case 's': cfg.sim_dir = optarg; break;
        case 'w': cfg.web_dir = optarg; break;
        case 'a':
            if (sr_cli_parse_u64("serve", "--approval-wait", optarg, &wait_s) != 0)
                return SR_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return SR_EXIT_OK;
        default: return sr_cli_usage_error("serve", "unknown option");
        }
    }
    if (cfg.kms_url == NULL || cfg.tee == NULL || listen == NULL || cfg.data_dir == NULL)
        return sr_cli_usage_error("serve", "--kms, --tee, --listen and --data-dir are required");
    cfg.consortia = consortia;
    cfg.nconsortia = ncons;
    cfg.approval_wait_s = (unsigned)wait_s;
    struct stat st;
    if (cfg.web_dir == NULL && stat(SR_SOURCE_DIR "/web/index.html", &st) == 0)
        cfg.web_dir = SR_SOURCE_DIR "/web";
    if (stat(SR_SOURCE_DIR "/docs/openapi.json", &st) == 0)
        cfg.openapi_path = SR_SOURCE_DIR "/docs/openapi.json";
    sr_http_block_signals();
    sr_error err;
    sr_serve *svc = NULL;
    if (sr_serve_new(&cfg, &svc, &err) != SR_OK)
        return sr_cli_fail("serve", &err);
    sr_http_limits lim = {.max_body = SR_SERVE_MAX_REQUEST, .timeout_s = 30, .max_connections = 512, .threads = 4};
    sr_http_server *srv = NULL;
    if (sr_http_server_start(listen, &lim, sr_serve_http_handler, svc, &srv, &err) != SR_OK) {
        sr_serve_free(svc);
        return sr_cli_fail("serve", &err);
    }
    if (strcmp(cfg.tee, "sim") == 0)
        fprintf(stderr, "sealroom serve: WARNING: SIMULATED TEE — receipts will say \"simulated\"\n");
    sr_cli_serve_until_signal("serve", listen, srv);
    sr_serve_free(svc);
    return SR_EXIT_OK;
}

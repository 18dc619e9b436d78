/* sr_gate_tool: drives the gate library for interop tests and benchmarks.
 *
 *   sr_gate_tool bench-ledger PATH N [READS]
 *       creates a ledger at PATH (must not exist) with 3 owners (k = 2), makes
 *       N approvals of distinct compose hashes (sign + commit, each timed),
 *       then READS status reads on the open handle, then one fresh open (full
 *       verification of N+1 entries). Prints JSON with the figures.
 *   sr_gate_tool digest approve|revoke|freeze CHAIN_ID 0xAPP 0xWORD
 *       prints the EIP-712 digest (hex) of that action.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/gate.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_ledger(const char *path, long n, long reads)
{
    sr_error err;
    static sr_gate_config cfg;
    uint8_t sk[3][32], app[20];
    char spec[4096];
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "bench");
    for (int i = 0; i < 3; i++) {
        if (sr_secp_seckey_generate(sk[i], &err) != SR_OK || sr_eth_address_from_seckey(sk[i], cfg.owners[i].addr, &err))
            goto fail;
        snprintf(cfg.owners[i].id, sizeof cfg.owners[i].id, "owner-%d", i);
    }
    cfg.n_owners = 3;
    cfg.threshold = 2;
    cfg.kms_pubkey_len = 33;
    memset(cfg.kms_pubkey, 2, 33);
    snprintf(spec, sizeof spec, "ledger:%s", path);
    if (sr_gate_create(spec, &cfg, sk[0], app, NULL, 0, &err) != SR_OK)
        goto fail;
    sr_gate *g;
    if (sr_gate_open(spec, &g, &err) != SR_OK)
        goto fail;
    double *lat = calloc((size_t)n, sizeof *lat);
    if (lat == NULL)
        return 1;
    uint8_t h[32];
    for (long i = 0; i < n; i++) {
        char name[64];
        snprintf(name, sizeof name, "bench-%ld", i);
        sr_sha256(name, strlen(name), h);
        double t0 = now();
        if (sr_gate_approve(g, h, sk[i % 3], &err) != SR_OK) {
            free(lat);
            sr_gate_close(g);
            goto fail;
        }
        lat[i] = (now() - t0) * 1e3;
    }
    static sr_gate_status st;
    double t0 = now();
    for (long i = 0; i < reads; i++) {
        if (sr_gate_status_get(g, h, NULL, 0, &st, &err) != SR_OK) {
            free(lat);
            sr_gate_close(g);
            goto fail;
        }
    }
    double rs = reads / (now() - t0);
    sr_gate_close(g);
    t0 = now();
    if (sr_gate_open(spec, &g, &err) != SR_OK) {
        free(lat);
        goto fail;
    }
    double open_ms = (now() - t0) * 1e3;
    sr_gate_close(g);
    qsort(lat, (size_t)n, sizeof *lat, cmp_double);
    printf("{\"entries\": %ld, \"approve_ms_median\": %.3f, \"approve_ms_p95\": %.3f, \"status_reads_per_s\": %.0f, "
           "\"open_verify_ms\": %.2f}\n",
           n + 1, lat[n / 2], lat[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1], rs, open_ms);
    free(lat);
    return 0;
fail:
    fprintf(stderr, "sr_gate_tool: %s\n", err.msg);
    return 1;
}

static int digest(const char *what, const char *chain, const char *app_hex, const char *word_hex)
{
    sr_error err;
    sr_gate_domain d;
    uint8_t w[32], out[32];
    char hex[65];
    d.chain_id = strtoull(chain, NULL, 10);
    if (sr_hex_decode_exact(app_hex, d.app, 20, &err) != SR_OK || sr_hex_decode_exact(word_hex, w, 32, &err) != SR_OK) {
        fprintf(stderr, "sr_gate_tool: %s\n", err.msg);
        return 2;
    }
    if (strcmp(what, "approve") == 0)
        sr_gate_approve_digest(&d, w, out);
    else if (strcmp(what, "revoke") == 0)
        sr_gate_revoke_digest(&d, w, out);
    else if (strcmp(what, "freeze") == 0)
        sr_gate_freeze_digest(&d, w, out);
    else
        return 2;
    sr_hex_encode(out, 32, hex);
    printf("0x%s\n", hex);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "bench-ledger") == 0)
        return bench_ledger(argv[2], atol(argv[3]) > 0 ? atol(argv[3]) : 1, argc > 4 ? atol(argv[4]) : 10000);
    if (argc == 6 && strcmp(argv[1], "digest") == 0)
        return digest(argv[2], argv[3], argv[4], argv[5]);
    fprintf(stderr, "usage: sr_gate_tool bench-ledger PATH N [READS] | digest approve|revoke|freeze CHAIN 0xAPP 0xWORD\n");
    return 2;
}

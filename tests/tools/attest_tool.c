/* sr_attest_tool: drives the attestation library for benchmarks and interop.
 *   sr_attest_tool bench QUOTE SECONDS [--cache] [--root PEM] [--now TIME]
 *     verifies QUOTE repeatedly for about SECONDS and prints the rate per
 *     CPU second and per wall second (timing is informational). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: sr_attest_tool bench QUOTE SECONDS [--cache] [--root PEM] [--now TIME]\n");
        return 2;
    }
    const char *quote = argv[1];
    double secs = atof(argv[2]);
    int use_cache = 0;
    const char *root = NULL, *now = NULL;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--cache") == 0)
            use_cache = 1;
        else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc)
            root = argv[++i];
        else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc)
            now = argv[++i];
        else {
            fprintf(stderr, "sr_attest_tool bench: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    sr_error err;
    sr_buf q, r;
    sr_buf_init(&q);
    sr_buf_init(&r);
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    const uint8_t *rp[1];
    size_t rl[1];
    if (sr_file_read(quote, 1u << 22, &q, &err) != SR_OK ||
        (root && sr_file_read(root, 1u << 20, &r, &err) != SR_OK) ||
        (now && sr_attest_parse_time(now, &pol.now, &err) != SR_OK)) {
        fprintf(stderr, "sr_attest_tool: %s\n", err.msg);
        return 1;
    }
    if (root) {
        rp[0] = r.data;
        rl[0] = r.len;
        pol.roots = rp;
        pol.root_lens = rl;
        pol.nroots = 1;
        pol.allow_simulated = 1;
    }
    if (use_cache)
        pol.cache = sr_attest_cache_new(16);
    sr_attest_result *res = malloc(sizeof *res);
    if (sr_attest_verify(q.data, q.len, &pol, res, &err) != SR_OK) {
        fprintf(stderr, "sr_attest_tool: quote does not verify: %s\n", err.msg);
        return 1;
    }
    unsigned long n = 0;
    double t0 = now_s(), c0 = cpu_s(), t;
    do {
        for (int i = 0; i < 16; i++, n++)
            if (sr_attest_verify(q.data, q.len, &pol, res, &err) != SR_OK) {
                fprintf(stderr, "sr_attest_tool: verification %lu failed: %s\n", n, err.msg);
                return 1;
            }
        t = now_s() - t0;
    } while (t < secs);
    double c = cpu_s() - c0;
    /* per CPU second (comparable with openssl speed, which divides by user
     * CPU time) and per wall-clock second */
    printf("verifications_per_cpu_second %.0f wall %.0f cache %s (%lu in %.2f s wall, %.2f s CPU)\n",
           (double)n / c, (double)n / t, use_cache ? "on" : "off", n, t, c);
    sr_attest_cache_free(pol.cache);
    free(res);
    sr_buf_free(&q);
    sr_buf_free(&r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        return bench(argc - 1, argv + 1);
    fprintf(stderr, "usage: sr_attest_tool bench QUOTE SECONDS [--cache] [--root PEM] [--now TIME]\n");
    return 2;
}

#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sr_cli_fail(const char *cmd, const sr_error *err)
{
    fprintf(stderr, "sealroom %s: error: %s\n", cmd, err != NULL && err->msg[0] ? err->msg : "failed");
    return SR_EXIT_FAIL;
}

int sr_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sealroom %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'sealroom %s --help'.\n", cmd);
    return SR_EXIT_USAGE;
}

int sr_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int sr_cli_stderr_is_tty(void)
{
    return isatty(STDERR_FILENO);
}

int sr_cli_parse_double(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !isfinite(v)) {
        sr_cli_usage_error(cmd, "%s: not a number: '%s'", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int sr_cli_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out)
{
    char *end = NULL;
    errno = 0;
    if (s[0] == '-') {
        sr_cli_usage_error(cmd, "%s: must not be negative: '%s'", opt, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        sr_cli_usage_error(cmd, "%s: not a whole number: '%s'", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

double sr_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sr_progress_start(sr_progress *p)
{
    p->enabled = sr_cli_stderr_is_tty();
    p->start = sr_cli_now();
    p->last_draw = 0;
}

static void human_bytes(unsigned long long n, char *out, size_t cap)
{
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
}

void sr_progress_update(sr_progress *p, unsigned long long done, unsigned long long total,
                        unsigned long long rows)
{
    if (!p->enabled)
        return;
    double now = sr_cli_now();
    if (now - p->last_draw < 0.1)
        return;
    p->last_draw = now;
    double el = now - p->start;
    char d[32], t[32];
    human_bytes(done, d, sizeof d);
    human_bytes(total, t, sizeof t);
    double rate = el > 0 ? (double)rows / el : 0;
    if (total > 0 && done > 0) {
        double eta = el * ((double)total - (double)done) / (double)done;
        fprintf(stderr, "\r%s / %s  %3.0f%%  %.0f rows/s  ETA %.0fs   ", d, t, 100.0 * (double)done / (double)total,
                rate, eta);
    } else {
        fprintf(stderr, "\r%s  %.0f rows/s   ", d, rate);
    }
    fflush(stderr);
}

void sr_progress_finish(sr_progress *p)
{
    if (p->enabled)
        fprintf(stderr, "\r%*s\r", 70, "");
}

void sr_cli_serve_until_signal(const char *name, const char *listen, sr_http_server *srv)
{
    const char *colon = strrchr(listen, ':');
    int hostlen = colon ? (int)(colon - listen) : (int)strlen(listen);
    printf("sealroom %s listening on http://%.*s:%u\n", name, hostlen, listen, sr_http_server_port(srv));
    fflush(stdout);
    int sig = sr_http_wait_for_signal();
    fprintf(stderr, "sealroom %s: signal %d, stopping\n", name, sig);
    sr_http_server_stop(srv);
}

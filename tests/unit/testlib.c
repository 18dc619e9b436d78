#include "test.h"

#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>

int sr_test_failures = 0;
int sr_test_checks = 0;
const char *sr_test_current = "";

void sr_test_report(const char *name, int failures_before)
{
    printf("%s %s\n", sr_test_failures == failures_before ? "ok  " : "FAIL", name);
    fflush(stdout);
}

int sr_test_finish(void)
{
    printf("%d checks, %d failed\n", sr_test_checks, sr_test_failures);
    if (sr_test_checks == 0) {
        printf("no checks ran: failing\n");
        return 1;
    }
    return sr_test_failures == 0 ? 0 : 1;
}

static int nib(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t sr_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    size_t n = strlen(hex) / 2;
    if (n > cap) {
        fprintf(stderr, "sr_test_unhex: vector too long\n");
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "sr_test_unhex: bad hex\n");
            abort();
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n;
}

const char *sr_test_data(const char *rel)
{
    static char path[4096];
    const char *root = getenv("SR_TESTDATA");
    snprintf(path, sizeof path, "%s/%s", root ? root : "../shared/testdata", rel);
    return path;
}

int sr_test_sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

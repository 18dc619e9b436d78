/* sealroom unit tests: a tiny harness. Each test file is one executable;
 * main() calls SR_RUN(fn) for each case and returns sr_test_finish(). A
 * failed CHECK prints file:line and the expression and marks the case
 * failed; the run continues with the next CHECK. */
#ifndef SEALROOM_TEST_H
#define SEALROOM_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int sr_test_failures;
extern int sr_test_checks;
extern const char *sr_test_current;

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        sr_test_checks++;                                                                        \
        if (!(cond)) {                                                                           \
            sr_test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__, sr_test_current, \
                    #cond);                                                                      \
        }                                                                                        \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                     \
    do {                                                                                         \
        sr_test_checks++;                                                                        \
        if (!(cond)) {                                                                           \
            sr_test_failures++;                                                                  \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s: ", __FILE__, __LINE__, sr_test_current, \
                    #cond);                                                                      \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fputc('\n', stderr);                                                                 \
        }                                                                                        \
    } while (0)

/* Checks a status code is SR_OK, printing the error message if not. */
#define CHECK_OK(expr, errp) CHECK_MSG((expr) == 0, "%s", (errp)->msg)
#define CHECK_EQ_INT(a, b) CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_EQ_STR(a, b) CHECK_MSG(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))
#define CHECK_EQ_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)
/* Checks that a message contains a substring. */
#define CHECK_CONTAINS(hay, needle) CHECK_MSG(strstr((hay), (needle)) != NULL, "\"%s\" lacks \"%s\"", (hay), (needle))

#define SR_RUN(fn)                          \
    do {                                    \
        sr_test_current = #fn;              \
        int before_ = sr_test_failures;     \
        fn();                               \
        sr_test_report(#fn, before_);       \
    } while (0)

void sr_test_report(const char *name, int failures_before);
int sr_test_finish(void);
/* Hex helper for vectors: decodes into out (cap bytes), returns length. */
size_t sr_test_unhex(const char *hex, uint8_t *out, size_t cap);
/* Path of a file under ../shared/testdata (from $SR_TESTDATA). */
const char *sr_test_data(const char *rel);
/* Runs a shell command, returns its exit status (or -1). */
int sr_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

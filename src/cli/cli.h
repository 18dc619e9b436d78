/* sealroom CLI: shared helpers for the subcommands (thin layer only). */
#ifndef SEALROOM_CLI_H
#define SEALROOM_CLI_H

#include <stdio.h>

#include "sealroom/error.h"
#include "sealroom/http.h"

/* Exit codes: 0 success, 1 failure (including a failed verification),
 * 2 usage error. */
#define SR_EXIT_OK 0
#define SR_EXIT_FAIL 1
#define SR_EXIT_USAGE 2

/* Prints "sealroom CMD: error: MESSAGE" to stderr; returns SR_EXIT_FAIL. */
int sr_cli_fail(const char *cmd, const sr_error *err);
/* Prints "sealroom CMD: FORMATTED" and a hint to use --help; returns
 * SR_EXIT_USAGE. */
int sr_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 if argv has -h or --help anywhere. */
int sr_cli_wants_help(int argc, char **argv);
/* 1 if stdout (or stderr for progress) is a terminal. */
int sr_cli_stderr_is_tty(void);

/* Parses a decimal double / uint64 option value; prints a usage error
 * naming the option on failure. Return 0 on success. */
int sr_cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
int sr_cli_parse_u64(const char *cmd, const char *opt, const char *s, unsigned long long *out);

/* A progress line on stderr, redrawn in place; no-op unless stderr is a TTY.
 * done/total in bytes (total 0 = unknown); rows counted. */
typedef struct sr_progress {
    int enabled;
    double start;
    double last_draw;
} sr_progress;
void sr_progress_start(sr_progress *p);
void sr_progress_update(sr_progress *p, unsigned long long done, unsigned long long total,
                        unsigned long long rows);
void sr_progress_finish(sr_progress *p);

double sr_cli_now(void); /* monotonic seconds */

/* For `... serve` commands: prints "sealroom NAME listening on http://HOST:PORT"
 * (the line scripts wait for), blocks until SIGINT/SIGTERM (signals must have
 * been blocked with sr_http_block_signals before any thread started), then
 * stops the server. */
void sr_cli_serve_until_signal(const char *name, const char *listen, sr_http_server *srv);

#endif

/* sealroom: error codes and the error object every fallible function fills. */
#ifndef SEALROOM_ERROR_H
#define SEALROOM_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success; every other value names a class of failure.
 * The message in sr_error says what exactly went wrong. */
enum sr_code {
    SR_OK = 0,
    SR_EINVAL = 1,    /* bad argument or usage */
    SR_ENOMEM = 2,    /* allocation failed */
    SR_EIO = 3,       /* file or socket I/O failed */
    SR_EFORMAT = 4,   /* malformed input (parse error) */
    SR_ECRYPTO = 5,   /* a crypto library call failed */
    SR_EVERIFY = 6,   /* a signature, MAC, digest or chain did not verify */
    SR_ENOTFOUND = 7, /* a named thing does not exist */
    SR_EDENIED = 8,   /* policy refused (not approved, revoked, budget...) */
    SR_ELIMIT = 9,    /* a size or count limit was exceeded */
    SR_ESTATE = 10,   /* operation not valid in the current state */
    SR_ENET = 11,     /* network / RPC failure */
    SR_EINTERNAL = 12 /* bug: an invariant did not hold */
};

#define SR_ERROR_MSG_MAX 512

typedef struct sr_error {
    int code;
    char msg[SR_ERROR_MSG_MAX];
} sr_error;

/* Resets err to SR_OK with an empty message. err may be NULL. */
void sr_error_clear(sr_error *err);

/* Sets code and a printf-style message; returns code so callers can
 * `return sr_error_set(err, SR_EINVAL, "...")`. err may be NULL. */
int sr_error_set(sr_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends context ("reading X: " + old message) keeping the code; returns
 * the code. err may be NULL. */
int sr_error_prefix(sr_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets an SR_ECRYPTO error with the message of OpenSSL's most recent error
 * appended, and clears OpenSSL's error queue. Returns SR_ECRYPTO. */
int sr_error_openssl(sr_error *err, const char *what);

/* Short stable name of a code, e.g. "format", "verify". */
const char *sr_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif

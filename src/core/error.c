#include "sealroom/error.h"

#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sr_error_clear(sr_error *err)
{
    if (err == NULL)
        return;
    err->code = SR_OK;
    err->msg[0] = '\0';
}

int sr_error_set(sr_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
    return code;
}

int sr_error_prefix(sr_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return SR_EINTERNAL;
    char prefix[SR_ERROR_MSG_MAX];
    char old[SR_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    size_t plen = strnlen(prefix, sizeof prefix - 1);
    if (plen > sizeof err->msg - 3)
        plen = sizeof err->msg - 3;
    memcpy(err->msg, prefix, plen);
    memcpy(err->msg + plen, ": ", 2);
    size_t room = sizeof err->msg - plen - 3;
    size_t olen = strnlen(old, room);
    memcpy(err->msg + plen + 2, old, olen);
    err->msg[plen + 2 + olen] = '\0';
    if (err->code == SR_OK)
        err->code = SR_EINTERNAL;
    return err->code;
}

int sr_error_openssl(sr_error *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char detail[256] = "no detail";
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    return sr_error_set(err, SR_ECRYPTO, "%s: %s", what, detail);
}

const char *sr_code_name(int code)
{
    switch (code) {
    case SR_OK: return "ok";
    case SR_EINVAL: return "invalid";
    case SR_ENOMEM: return "nomem";
    case SR_EIO: return "io";
    case SR_EFORMAT: return "format";
    case SR_ECRYPTO: return "crypto";
    case SR_EVERIFY: return "verify";
    case SR_ENOTFOUND: return "notfound";
    case SR_EDENIED: return "denied";
    case SR_ELIMIT: return "limit";
    case SR_ESTATE: return "state";
    case SR_ENET: return "net";
    case SR_EINTERNAL: return "internal";
    default: return "unknown";
    }
}

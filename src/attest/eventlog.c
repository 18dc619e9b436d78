/* RTMR3 event log: JSON lines, SHA-384 digests, replay. */
#include "sealroom/attest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/crypto.h"
#include "sealroom/json.h"

void sr_event_digest(const char *name, const uint8_t *payload, size_t n, uint8_t out[48])
{
    size_t nl = strlen(name);
    size_t total = 4 + nl + n;
    uint8_t small[512];
    uint8_t *buf = total <= sizeof small ? small : malloc(total);
    if (buf == NULL) { /* cannot happen for bounded inputs; hash a marker */
        memset(out, 0, 48);
        return;
    }
    sr_store_le32(buf, (uint32_t)nl);
    memcpy(buf + 4, name, nl);
    if (n)
        memcpy(buf + 4 + nl, payload, n);
    sr_sha384(buf, total, out);
    if (buf != small)
        free(buf);
}

void sr_rtmr_extend(uint8_t rtmr[48], const uint8_t digest[48])
{
    uint8_t b[96];
    memcpy(b, rtmr, 48);
    memcpy(b + 48, digest, 48);
    sr_sha384(b, 96, rtmr);
}

static int check_name(const char *name, sr_error *err)
{
    size_t n = strlen(name);
    if (n == 0 || n > SR_EVENT_NAME_MAX)
        return sr_error_set(err, SR_EINVAL, "event name must be 1..%d characters", SR_EVENT_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return sr_error_set(err, SR_EINVAL, "event name \"%s\": only a-z 0-9 - _ . are allowed", name);
    }
    return SR_OK;
}

int sr_eventlog_append(sr_buf *out, const char *name, const uint8_t *payload, size_t n, sr_error *err)
{
    int rc = check_name(name, err);
    if (rc != SR_OK)
        return rc;
    if (n > SR_EVENT_PAYLOAD_MAX)
        return sr_error_set(err, SR_ELIMIT, "event payload of %zu bytes exceeds %d", n, SR_EVENT_PAYLOAD_MAX);
    uint8_t d[48];
    sr_event_digest(name, payload, n, d);
    char dh[97];
    char *ph = malloc(2 * n + 1);
    if (ph == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    sr_hex_encode(payload, n, ph);
    sr_hex_encode(d, 48, dh);
    rc = sr_buf_append_str(out, "{\"imr\":3,\"event\":\"", err);
    if (rc == SR_OK)
        rc = sr_buf_append_str(out, name, err);
    if (rc == SR_OK)
        rc = sr_buf_append_str(out, "\",\"payload\":\"", err);
    if (rc == SR_OK)
        rc = sr_buf_append_str(out, ph, err);
    if (rc == SR_OK)
        rc = sr_buf_append_str(out, "\",\"digest\":\"", err);
    if (rc == SR_OK)
        rc = sr_buf_append_str(out, dh, err);
    if (rc == SR_OK)
        rc = sr_buf_append_str(out, "\"}\n", err);
    free(ph);
    return rc;
}

/* Calls cb for each event line in order. */
typedef int (*ev_cb)(const char *name, const uint8_t *payload, size_t n, const uint8_t digest[48], void *ctx,
                     sr_error *err);

static int each_event(const char *text, size_t len, ev_cb cb, void *ctx, size_t *count, sr_error *err)
{
    size_t off = 0, line = 0, nev = 0;
    uint8_t *payload = malloc(SR_EVENT_PAYLOAD_MAX);
    if (payload == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    while (off < len && rc == SR_OK) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl ? (size_t)(nl - text) : len;
        line++;
        size_t a = off;
        off = end + 1;
        while (a < end && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
            a++;
        if (a == end)
            continue; /* blank line */
        if (++nev > SR_EVENTLOG_MAX_EVENTS) {
            rc = sr_error_set(err, SR_ELIMIT, "more than %d events", SR_EVENTLOG_MAX_EVENTS);
            break;
        }
        json_t *o = sr_json_parse(text + a, end - a, 2 * SR_EVENT_PAYLOAD_MAX + 1024, err);
        if (o == NULL) {
            rc = sr_error_prefix(err, "line %zu", line);
            break;
        }
        const char *name = NULL, *ph = NULL;
        int64_t imr = -1;
        uint8_t d[48], want[48];
        size_t pn = 0;
        if ((rc = sr_json_get_int(o, "imr", 1, &imr, "event", err)) == SR_OK &&
            (rc = sr_json_get_str(o, "event", 1, &name, "event", err)) == SR_OK &&
            (rc = sr_json_get_str(o, "payload", 1, &ph, "event", err)) == SR_OK &&
            (rc = sr_json_get_hex(o, "digest", d, 48, "event", err)) == SR_OK) {
            if (imr != 3)
                rc = sr_error_set(err, SR_EFORMAT, "imr %lld is not 3", (long long)imr);
            else if ((rc = check_name(name, err)) != SR_OK)
                rc = SR_EFORMAT;
            else if ((rc = sr_hex_decode(ph, payload, SR_EVENT_PAYLOAD_MAX, &pn, err)) != SR_OK)
                ;
            else {
                sr_event_digest(name, payload, pn, want);
                if (memcmp(want, d, 48) != 0)
                    rc = sr_error_set(err, SR_EVERIFY, "digest does not match event \"%s\" and its payload", name);
                else
                    rc = cb(name, payload, pn, d, ctx, err);
            }
        }
        json_decref(o);
        if (rc != SR_OK)
            sr_error_prefix(err, "line %zu", line);
    }
    free(payload);
    if (count)
        *count = nev;
    return rc;
}

static int replay_cb(const char *name, const uint8_t *payload, size_t n, const uint8_t digest[48], void *ctx,
                     sr_error *err)
{
    (void)name;
    (void)payload;
    (void)n;
    (void)err;
    sr_rtmr_extend(ctx, digest);
    return SR_OK;
}

int sr_eventlog_replay(const char *text, size_t len, uint8_t rtmr3_out[48], size_t *nevents, sr_error *err)
{
    uint8_t r[48] = {0};
    int rc = each_event(text, len, replay_cb, r, nevents, err);
    if (rc == SR_OK)
        memcpy(rtmr3_out, r, 48);
    return rc;
}

struct find_ctx {
    const char *name;
    uint8_t *out;
    size_t cap;
    size_t n;
    int found;
};

static int find_cb(const char *name, const uint8_t *payload, size_t n, const uint8_t digest[48], void *ctx,
                   sr_error *err)
{
    (void)digest;
    struct find_ctx *f = ctx;
    if (strcmp(name, f->name) != 0)
        return SR_OK;
    if (n > f->cap)
        return sr_error_set(err, SR_ELIMIT, "event \"%s\" payload of %zu bytes exceeds %zu", name, n, f->cap);
    memcpy(f->out, payload, n);
    f->n = n;
    f->found = 1;
    return SR_OK;
}

int sr_eventlog_find(const char *text, size_t len, const char *name, uint8_t *payload, size_t cap, size_t *n,
                     sr_error *err)
{
    struct find_ctx f = {name, payload, cap, 0, 0};
    int rc = each_event(text, len, find_cb, &f, NULL, err);
    if (rc != SR_OK)
        return rc;
    if (!f.found)
        return sr_error_set(err, SR_ENOTFOUND, "event log has no \"%s\" event", name);
    *n = f.n;
    return SR_OK;
}

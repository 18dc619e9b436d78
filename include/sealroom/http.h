/* sealroom: a small HTTP/1.1 server over libmicrohttpd (bounded bodies,
 * timeouts, a thread pool) and a client over libcurl, both JSON-minded.
 * Used by the KMS and the analysis service. Loopback or a given address. */
#ifndef SEALROOM_HTTP_H
#define SEALROOM_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/buf.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sr_http_request {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* URL path without the query */
    const char *query;  /* raw query string after '?', or "" */
    const uint8_t *body;
    size_t body_len;
    const char *content_type; /* or NULL */
} sr_http_request;

typedef struct sr_http_response {
    int status;               /* 200 if the handler leaves it 0 */
    const char *content_type; /* static string; default application/json */
    sr_buf body;
    char location[256];       /* optional Location header */
} sr_http_response;

/* Fills the response; return value is ignored by the server (any failure
 * to build a response becomes a 500). Runs on a pool thread: handlers must
 * be thread-safe. */
typedef void (*sr_http_handler)(void *ctx, const sr_http_request *req, sr_http_response *resp);

typedef struct sr_http_limits {
    size_t max_body;          /* bytes; larger requests get 413 (0 = 1 MiB) */
    unsigned timeout_s;       /* idle connection timeout (0 = 30) */
    unsigned max_connections; /* (0 = 256) */
    unsigned threads;         /* worker threads (0 = 4) */
} sr_http_limits;

typedef struct sr_http_server sr_http_server;

/* listen is "HOST:PORT" with HOST an IPv4 address (e.g. 127.0.0.1); PORT 0
 * picks a free port (see sr_http_server_port). */
int sr_http_server_start(const char *listen, const sr_http_limits *limits, sr_http_handler handler, void *ctx,
                         sr_http_server **out, sr_error *err);
uint16_t sr_http_server_port(const sr_http_server *s);
void sr_http_server_stop(sr_http_server *s);

/* Response helpers. sr_http_reply_json takes ownership of body (decref'd). */
void sr_http_reply_json(sr_http_response *r, int status, json_t *body);
/* {"error": {"code": code, "message": message}} */
void sr_http_reply_error(sr_http_response *r, int status, const char *code, const char *message);
/* Maps an sr_error code to an HTTP status (EFORMAT/EINVAL 400, EDENIED 403,
 * ENOTFOUND 404, ELIMIT 413, EVERIFY 403, others 500). */
int sr_http_status_for(int sr_code);

/* For `... serve` commands: call sr_http_block_signals() before starting
 * any thread (so SIGINT/SIGTERM reach no worker), then
 * sr_http_wait_for_signal() blocks until one arrives and returns it. */
void sr_http_block_signals(void);
int sr_http_wait_for_signal(void);

/* Client: one request; the response body (bounded by max_response) is
 * appended to resp; *status receives the HTTP status. Network failures are
 * SR_ENET. timeout_ms bounds the whole transfer. */
int sr_http_fetch(const char *method, const char *url, const char *content_type, const void *body, size_t body_len,
                  size_t max_response, long timeout_ms, long *status, sr_buf *resp, sr_error *err);
/* POST/GET JSON: parses the reply. A non-2xx reply with an error object
 * becomes SR_EDENIED/SR_EFORMAT/... carrying the server's message. */
int sr_http_json_call(const char *method, const char *url, const json_t *body, long timeout_ms, json_t **reply,
                      long *status, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

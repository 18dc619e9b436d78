#include "sealroom/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sr_http_server {
    struct MHD_Daemon *daemon;
    sr_http_handler handler;
    void *ctx;
    size_t max_body;
    uint16_t port;
};

/* Per-connection request state, kept in MHD's con_cls. */
struct request_state {
    sr_buf body;
    int too_large;
};

static void reply_into(struct MHD_Connection *c, const sr_http_response *r, enum MHD_Result *ret)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(r->body.len, r->body.len ? r->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        *ret = MHD_NO;
        return;
    }
    MHD_add_response_header(resp, "Content-Type", r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->location[0])
        MHD_add_response_header(resp, "Location", r->location);
    *ret = MHD_queue_response(c, (unsigned)(r->status ? r->status : 200), resp);
    MHD_destroy_response(resp);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    sr_buf *q = cls;
    if (q->len > 0)
        (void)sr_buf_append_u8(q, '&', NULL);
    (void)sr_buf_append_str(q, key, NULL);
    if (value != NULL) {
        (void)sr_buf_append_u8(q, '=', NULL);
        (void)sr_buf_append_str(q, value, NULL);
    }
    return q->len < 4096 ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    struct sr_http_server *s = cls;
    struct request_state *st = *con_cls;
    if (st == NULL) {
        st = calloc(1, sizeof *st);
        if (st == NULL)
            return MHD_NO;
        *con_cls = st;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > s->max_body)
            st->too_large = 1;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!st->too_large) {
            if (st->body.len + *upload_data_size > s->max_body ||
                sr_buf_append(&st->body, upload_data, *upload_data_size, NULL) != SR_OK) {
                st->too_large = 1;
                sr_buf_free(&st->body);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    sr_http_response resp;
    memset(&resp, 0, sizeof resp);
    enum MHD_Result ret = MHD_NO;
    if (st->too_large) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body larger than %zu bytes", s->max_body);
        sr_http_reply_error(&resp, 413, "too_large", msg);
    } else {
        sr_buf query;
        sr_buf_init(&query);
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &query);
        (void)sr_buf_append_u8(&query, 0, NULL);
        sr_http_request req = {
            .method = method,
            .path = url,
            .query = query.data ? (const char *)query.data : "",
            .body = st->body.data,
            .body_len = st->body.len,
            .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        };
        s->handler(s->ctx, &req, &resp);
        sr_buf_free(&query);
    }
    reply_into(c, &resp, &ret);
    sr_buf_free(&resp.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct request_state *st = *con_cls;
    if (st != NULL) {
        sr_buf_free(&st->body);
        free(st);
        *con_cls = NULL;
    }
}

int sr_http_server_start(const char *listen, const sr_http_limits *limits, sr_http_handler handler, void *ctx,
                         sr_http_server **out, sr_error *err)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || (size_t)(colon - listen) >= sizeof host || colon == listen)
        return sr_error_set(err, SR_EINVAL, "listen address must be HOST:PORT, got '%s'", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end = NULL;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535 || colon[1] == '\0')
        return sr_error_set(err, SR_EINVAL, "bad port in '%s'", listen);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return sr_error_set(err, SR_EINVAL, "listen host must be an IPv4 address, got '%s'", host);

    sr_http_server *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    s->handler = handler;
    s->ctx = ctx;
    s->max_body = limits && limits->max_body ? limits->max_body : (1u << 20);
    unsigned timeout = limits && limits->timeout_s ? limits->timeout_s : 30;
    unsigned maxconn = limits && limits->max_connections ? limits->max_connections : 256;
    unsigned threads = limits && limits->threads ? limits->threads : 4;
    s->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
                                 MHD_OPTION_CONNECTION_TIMEOUT, timeout, MHD_OPTION_CONNECTION_LIMIT, maxconn,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (s->daemon == NULL) {
        free(s);
        return sr_error_set(err, SR_EIO, "cannot listen on %s (address in use or not permitted)", listen);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : (uint16_t)port;
    *out = s;
    return SR_OK;
}

uint16_t sr_http_server_port(const sr_http_server *s)
{
    return s->port;
}

void sr_http_server_stop(sr_http_server *s)
{
    if (s == NULL)
        return;
    MHD_stop_daemon(s->daemon);
    free(s);
}

void sr_http_reply_json(sr_http_response *r, int status, json_t *body)
{
    r->status = status;
    r->content_type = "application/json";
    sr_buf_reset(&r->body);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(body);
    if (text == NULL) {
        r->status = 500;
        (void)sr_buf_append_str(&r->body, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", NULL);
        return;
    }
    (void)sr_buf_append_str(&r->body, text, NULL);
    (void)sr_buf_append_u8(&r->body, '\n', NULL);
    free(text);
}

void sr_http_reply_error(sr_http_response *r, int status, const char *code, const char *message)
{
    sr_http_reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", message));
}

int sr_http_status_for(int code)
{
    switch (code) {
    case SR_OK: return 200;
    case SR_EFORMAT:
    case SR_EINVAL: return 400;
    case SR_EDENIED:
    case SR_EVERIFY: return 403;
    case SR_ENOTFOUND: return 404;
    case SR_ESTATE: return 409;
    case SR_ELIMIT: return 413;
    case SR_ENET: return 502;
    default: return 500;
    }
}

void sr_http_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int sr_http_wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    while (sigwait(&set, &sig) != 0) {
    }
    return sig;
}

/* ---- client ----------------------------------------------------------- */

/* libcurl needs one process-wide initialisation; done once, thread-safely. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct sink {
    sr_buf *out;
    size_t max;
    size_t got;
    int overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *cls)
{
    struct sink *k = cls;
    size_t len = size * n;
    if (k->got + len > k->max) {
        k->overflow = 1;
        return 0;
    }
    if (sr_buf_append(k->out, p, len, NULL) != SR_OK)
        return 0;
    k->got += len;
    return len;
}

int sr_http_fetch(const char *method, const char *url, const char *content_type, const void *body, size_t body_len,
                  size_t max_response, long timeout_ms, long *status, sr_buf *resp, sr_error *err)
{
    pthread_once(&curl_once, curl_init_once);
    CURL *c = curl_easy_init();
    if (c == NULL)
        return sr_error_set(err, SR_ENOMEM, "curl: cannot create a handle");
    struct sink k = {resp, max_response, 0, 0};
    struct curl_slist *hdr = NULL;
    char ct[128];
    if (content_type != NULL) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        hdr = curl_slist_append(hdr, ct);
    }
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 30000L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (k.overflow)
        return sr_error_set(err, SR_ELIMIT, "%s: response larger than %zu bytes", url, max_response);
    if (rc != CURLE_OK)
        return sr_error_set(err, SR_ENET, "%s: %s", url, curl_easy_strerror(rc));
    if (status != NULL)
        *status = code;
    return SR_OK;
}

int sr_http_json_call(const char *method, const char *url, const json_t *body, long timeout_ms, json_t **reply,
                      long *status, sr_error *err)
{
    char *text = NULL;
    if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    sr_buf resp;
    sr_buf_init(&resp);
    long code = 0;
    int rc = sr_http_fetch(method, url, text ? "application/json" : NULL, text, text ? strlen(text) : 0,
                           (16u << 20), timeout_ms, &code, &resp, err);
    free(text);
    if (rc != SR_OK) {
        sr_buf_free(&resp);
        return rc;
    }
    if (status != NULL)
        *status = code;
    json_error_t je;
    json_t *j = json_loadb(resp.len ? (const char *)resp.data : "", resp.len, JSON_REJECT_DUPLICATES, &je);
    sr_buf_free(&resp);
    if (j == NULL)
        return sr_error_set(err, code >= 400 ? SR_ENET : SR_EFORMAT, "%s: HTTP %ld, reply is not JSON: %s", url, code,
                            je.text);
    if (code < 200 || code > 299) {
        const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
        int ec = code == 403 ? SR_EDENIED : code == 404 ? SR_ENOTFOUND : code == 400 ? SR_EFORMAT
                 : code == 409 ? SR_ESTATE : code == 413 ? SR_ELIMIT : SR_ENET;
        sr_error_set(err, ec, "%s", msg ? msg : "request failed");
        if (reply != NULL)
            *reply = j;
        else
            json_decref(j);
        return ec;
    }
    if (reply != NULL)
        *reply = j;
    else
        json_decref(j);
    return SR_OK;
}

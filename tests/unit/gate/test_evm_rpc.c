/* The JSON-RPC client against a scripted loopback HTTP server: hostile or
 * broken nodes (oversized body, garbage, wrong id, HTTP error, silence) give
 * precise errors within the bounds, and a good answer is read. */
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sealroom/evm.h"

typedef struct {
    int fd;
    int port;
    const char *status;  /* "200 OK" */
    const char *body;    /* NULL: send big_len bytes of '[' */
    size_t big_len;
    int silent;          /* accept, read, never answer */
} server;

static void *serve_one(void *arg) {
    server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0) return NULL;
    char req[8192];
    ssize_t got = read(c, req, sizeof req); /* the whole small request */
    (void)got;
    if (s->silent) {
        sleep(1);
        close(c);
        return NULL;
    }
    char head[256];
    size_t blen = s->body ? strlen(s->body) : s->big_len;
    int hl = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n", s->status, blen);
    if (send(c, head, (size_t)hl, MSG_NOSIGNAL) < 0) goto out;
    if (s->body) {
        if (send(c, s->body, blen, MSG_NOSIGNAL) < 0) goto out;
    } else {
        char chunk[65536];
        memset(chunk, '[', sizeof chunk);
        for (size_t sent = 0; sent < blen;) {
            size_t n = blen - sent < sizeof chunk ? blen - sent : sizeof chunk;
            ssize_t w = send(c, chunk, n, MSG_NOSIGNAL); /* the client hangs up early */
            if (w <= 0) break;
            sent += (size_t)w;
        }
    }
out:
    close(c);
    return NULL;
}

static int start(server *s, pthread_t *th) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) || listen(s->fd, 4)) return -1;
    socklen_t al = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    return pthread_create(th, NULL, serve_one, s);
}

/* Runs one eth_blockNumber against a server answering with s. */
static int one(server *s, long timeout_ms, uint64_t *out, sr_error *err) {
    pthread_t th;
    if (start(s, &th)) {
        sr_error_set(err, SR_EIO, "cannot start the test server");
        return -1;
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", s->port);
    sr_ethrpc *r = NULL;
    int rc = sr_ethrpc_open(url, timeout_ms, &r, err);
    if (!rc) rc = sr_ethrpc_block_number(r, out, err);
    sr_ethrpc_close(r);
    pthread_join(th, NULL);
    close(s->fd);
    return rc;
}

static void test_good_answer(void) {
    sr_error err;
    uint64_t v = 0;
    server s = {.status = "200 OK", .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x2a\"}"};
    CHECK_OK(one(&s, 5000, &v, &err), &err);
    CHECK_EQ_INT(v, 42);
}

static void test_oversized_body(void) {
    sr_error err;
    uint64_t v = 0;
    server s = {.status = "200 OK", .body = NULL, .big_len = SR_ETHRPC_MAX_RESPONSE + 100000};
    CHECK(one(&s, 10000, &v, &err) == SR_ELIMIT);
    CHECK_CONTAINS(err.msg, "larger than");
}

static void test_garbage_and_mismatch(void) {
    sr_error err;
    uint64_t v = 0;
    server s = {.status = "200 OK", .body = "<html>not json</html>"};
    CHECK(one(&s, 5000, &v, &err) == SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "eth_blockNumber");
    server s2 = {.status = "200 OK", .body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":\"0x1\"}"};
    CHECK(one(&s2, 5000, &v, &err) == SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "id does not match");
    server s3 = {.status = "200 OK", .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x01\"}"};
    CHECK(one(&s3, 5000, &v, &err) == SR_EFORMAT);
    server s4 = {.status = "200 OK",
                 .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"method not found\"}}"};
    CHECK(one(&s4, 5000, &v, &err) == SR_ENET);
    CHECK_CONTAINS(err.msg, "rpc error -32601: method not found");
}

static void test_http_error(void) {
    sr_error err;
    uint64_t v = 0;
    server s = {.status = "503 Service Unavailable", .body = ""};
    CHECK(one(&s, 5000, &v, &err) == SR_ENET);
    CHECK_CONTAINS(err.msg, "HTTP status 503");
}

static void test_timeout(void) {
    sr_error err;
    uint64_t v = 0;
    server s = {.status = "200 OK", .silent = 1};
    CHECK(one(&s, 300, &v, &err) == SR_ENET);
    CHECK_CONTAINS(err.msg, "eth_blockNumber");
}

int main(void) {
    SR_RUN(test_good_answer);
    SR_RUN(test_oversized_body);
    SR_RUN(test_garbage_and_mismatch);
    SR_RUN(test_http_error);
    SR_RUN(test_timeout);
    return sr_test_finish();
}

#include "test.h"

#include <stdlib.h>

#include "sealroom/http.h"

static void echo(void *ctx, const sr_http_request *req, sr_http_response *resp)
{
    int *calls = ctx;
    __atomic_add_fetch(calls, 1, __ATOMIC_SEQ_CST);
    if (strcmp(req->path, "/echo") == 0 && strcmp(req->method, "POST") == 0) {
        json_t *in = json_loadb((const char *)req->body, req->body_len, 0, NULL);
        if (in == NULL) {
            sr_http_reply_error(resp, 400, "bad_json", "body is not JSON");
            return;
        }
        sr_http_reply_json(resp, 200, json_pack("{s:o,s:s}", "got", in, "query", req->query));
        return;
    }
    sr_http_reply_error(resp, 404, "not_found", "no such route");
}

static void test_roundtrip_limits_and_errors(void)
{
    sr_error err;
    int calls = 0;
    sr_http_limits lim = {.max_body = 1024, .timeout_s = 5, .threads = 2};
    sr_http_server *s = NULL;
    CHECK_OK(sr_http_server_start("127.0.0.1:0", &lim, echo, &calls, &s, &err), &err);
    if (s == NULL)
        return;
    uint16_t port = sr_http_server_port(s);
    CHECK(port != 0);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo?x=1", port);

    json_t *body = json_pack("{s:i}", "a", 42);
    json_t *reply = NULL;
    long status = 0;
    CHECK_OK(sr_http_json_call("POST", url, body, 5000, &reply, &status, &err), &err);
    CHECK_EQ_INT(status, 200);
    CHECK_EQ_INT(json_integer_value(json_object_get(json_object_get(reply, "got"), "a")), 42);
    CHECK_EQ_STR(json_string_value(json_object_get(reply, "query")), "x=1");
    json_decref(reply);
    json_decref(body);

    /* a body over the limit is refused with 413, without reaching the handler */
    int before = calls;
    char *big = malloc(4096);
    memset(big, 'a', 4096);
    sr_buf out;
    sr_buf_init(&out);
    CHECK_OK(sr_http_fetch("POST", url, "application/json", big, 4096, 65536, 5000, &status, &out, &err), &err);
    CHECK_EQ_INT(status, 413);
    CHECK_EQ_INT(calls, before);
    free(big);
    sr_buf_free(&out);

    /* server errors come back as sr_error with the server's message */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/nothing", port);
    CHECK_EQ_INT(sr_http_json_call("GET", url, NULL, 5000, NULL, &status, &err), SR_ENOTFOUND);
    CHECK_EQ_STR(err.msg, "no such route");

    /* a response larger than the client's bound is an error, not a truncation */
    sr_buf_init(&out);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/nothing", port);
    CHECK_EQ_INT(sr_http_fetch("GET", url, NULL, NULL, 0, 8, 5000, &status, &out, &err), SR_ELIMIT);
    sr_buf_free(&out);
    sr_http_server_stop(s);

    /* nothing listens any more */
    sr_buf_init(&out);
    CHECK_EQ_INT(sr_http_fetch("GET", url, NULL, NULL, 0, 100, 2000, &status, &out, &err), SR_ENET);
    sr_buf_free(&out);
}

static void test_bad_listen(void)
{
    sr_error err;
    sr_http_server *s = NULL;
    CHECK_EQ_INT(sr_http_server_start("nope", NULL, echo, NULL, &s, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_http_server_start("127.0.0.1:99999", NULL, echo, NULL, &s, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_http_server_start("example.org:80", NULL, echo, NULL, &s, &err), SR_EINVAL);
}

int main(void)
{
    SR_RUN(test_roundtrip_limits_and_errors);
    SR_RUN(test_bad_listen);
    return sr_test_finish();
}

/* sealroom: Ethereum JSON-RPC client over libcurl, and the transaction
 * helper (nonce, fees, gas, sign, send, wait for the receipt). */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/crypto.h"
#include "sealroom/evm.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

struct sr_ethrpc {
    CURL *curl;
    struct curl_slist *headers;
    char *url;
    long timeout_ms;
    int64_t next_id;
};

int sr_ethrpc_open(const char *url, long timeout_ms, sr_ethrpc **out, sr_error *err) {
    *out = NULL;
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
        return sr_error_set(err, SR_EINVAL, "rpc url must start with http:// or https://");
    if (strlen(url) > 1024) return sr_error_set(err, SR_EINVAL, "rpc url too long");
    sr_ethrpc *r = calloc(1, sizeof *r);
    if (!r) return sr_error_set(err, SR_ENOMEM, "out of memory");
    r->url = strdup(url);
    r->curl = curl_easy_init();
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!r->url || !r->curl || !r->headers) {
        sr_ethrpc_close(r);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    r->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
    r->next_id = 1;
    *out = r;
    return SR_OK;
}

void sr_ethrpc_close(sr_ethrpc *r) {
    if (!r) return;
    if (r->curl) curl_easy_cleanup(r->curl);
    curl_slist_free_all(r->headers);
    free(r->url);
    free(r);
}

typedef struct {
    sr_buf body;
    int overflow;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud) {
    sink *s = ud;
    size_t n = size * nmemb;
    if (s->body.len + n > SR_ETHRPC_MAX_RESPONSE) {
        s->overflow = 1;
        return 0;
    }
    if (sr_buf_append(&s->body, p, n, NULL)) return 0;
    return n;
}

int sr_ethrpc_parse_response(const void *body, size_t len, int64_t expect_id, json_t **result, sr_error *err) {
    *result = NULL;
    sr_error local;
    if (!err) err = &local;
    json_t *doc = sr_json_parse(body, len, SR_ETHRPC_MAX_RESPONSE, err);
    if (!doc) {
        sr_error_prefix(err, "rpc response");
        return err->code ? err->code : SR_EFORMAT;
    }
    int rc = SR_OK;
    if (!json_is_object(doc)) {
        rc = sr_error_set(err, SR_EFORMAT, "rpc response is not a JSON object");
        goto done;
    }
    const char *ver = NULL;
    if ((rc = sr_json_get_str(doc, "jsonrpc", 1, &ver, "rpc response", err))) goto done;
    if (strcmp(ver, "2.0")) {
        rc = sr_error_set(err, SR_EFORMAT, "rpc response: jsonrpc is not \"2.0\"");
        goto done;
    }
    json_t *id = json_object_get(doc, "id");
    json_t *res = json_object_get(doc, "result");
    json_t *e = json_object_get(doc, "error");
    if (e && !json_is_null(e)) {
        int64_t code = 0;
        const char *msg = "(no message)";
        if (!json_is_object(e)) {
            rc = sr_error_set(err, SR_EFORMAT, "rpc response: error is not an object");
            goto done;
        }
        if ((rc = sr_json_get_int(e, "code", 0, &code, "rpc error", err))) goto done;
        if ((rc = sr_json_get_str(e, "message", 0, &msg, "rpc error", err))) goto done;
        json_t *data = json_object_get(e, "data");
        char reason[256] = "";
        if (json_is_string(data)) {
            /* revert data: decode Error(string) when present */
            const char *h = json_string_value(data);
            size_t hl = strlen(h);
            if (hl >= 2 && hl <= 2 + 2 * 4096 && h[0] == '0' && h[1] == 'x') {
                uint8_t *raw = malloc(hl / 2 + 1);
                size_t rl = 0;
                if (raw && sr_hex_decode(h, raw, hl / 2 + 1, &rl, NULL) == SR_OK)
                    sr_evm_revert_reason(raw, rl, reason, sizeof reason);
                free(raw);
            }
        }
        rc = sr_error_set(err, SR_ENET, "rpc error %lld: %.200s%s%s", (long long)code, msg, reason[0] ? ": " : "",
                          reason);
        goto done;
    }
    if (!id || !json_is_integer(id) || json_integer_value(id) != expect_id) {
        rc = sr_error_set(err, SR_EFORMAT, "rpc response: id does not match the request (%lld)", (long long)expect_id);
        goto done;
    }
    if (!res) {
        rc = sr_error_set(err, SR_EFORMAT, "rpc response has neither result nor error");
        goto done;
    }
    *result = json_incref(res);
done:
    json_decref(doc);
    return rc;
}

int sr_ethrpc_call(sr_ethrpc *r, const char *method, json_t *params, json_t **result, sr_error *err) {
    *result = NULL;
    if (!params) params = json_array();
    int64_t id = r->next_id++;
    json_t *req = json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)id, "method", method,
                            "params", params);
    if (!req) return sr_error_set(err, SR_ENOMEM, "rpc %s: cannot build request", method);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!body) return sr_error_set(err, SR_ENOMEM, "out of memory");
    sink s = {{0}, 0};
    char ebuf[CURL_ERROR_SIZE] = "";
    CURL *c = r->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms < 10000 ? r->timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    CURLcode cc = curl_easy_perform(c);
    free(body);
    int rc;
    if (s.overflow) {
        rc = sr_error_set(err, SR_ELIMIT, "rpc %s: response larger than %u bytes", method, SR_ETHRPC_MAX_RESPONSE);
    } else if (cc != CURLE_OK) {
        rc = sr_error_set(err, SR_ENET, "rpc %s: %s: %s", method, r->url, ebuf[0] ? ebuf : curl_easy_strerror(cc));
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 && s.body.len == 0) {
            rc = sr_error_set(err, SR_ENET, "rpc %s: HTTP status %ld", method, status);
        } else {
            rc = sr_ethrpc_parse_response(s.body.data ? (const void *)s.body.data : "", s.body.len, id, result, err);
            if (rc) sr_error_prefix(err, "%s", method);
        }
    }
    sr_buf_free(&s.body);
    return rc;
}

/* ---- quantities and helpers ------------------------------------------- */
int sr_ethrpc_quantity(const json_t *v, uint64_t *out, sr_error *err) {
    if (!json_is_string(v)) return sr_error_set(err, SR_EFORMAT, "quantity: hex string expected");
    const char *s = json_string_value(v);
    if (s[0] != '0' || s[1] != 'x' || !s[2]) return sr_error_set(err, SR_EFORMAT, "quantity: \"0x\" prefix expected");
    s += 2;
    if (strlen(s) > 16 || (s[0] == '0' && s[1])) return sr_error_set(err, SR_EFORMAT, "quantity: bad or too large");
    uint64_t x = 0;
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9') d = *s - '0';
        else if (*s >= 'a' && *s <= 'f') d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F') d = *s - 'A' + 10;
        else return sr_error_set(err, SR_EFORMAT, "quantity: bad hex digit");
        x = (x << 4) | (uint64_t)d;
    }
    *out = x;
    return SR_OK;
}

static json_t *hexj(const uint8_t *d, size_t n) {
    char *s = malloc(2 * n + 3);
    if (!s) return NULL;
    s[0] = '0';
    s[1] = 'x';
    sr_hex_encode(d, n, s + 2);
    json_t *j = json_string(s);
    free(s);
    return j;
}

static json_t *qty(uint64_t v) {
    char s[24];
    snprintf(s, sizeof s, "0x%llx", (unsigned long long)v);
    return json_string(s);
}

static json_t *block_tag(uint64_t block) {
    return block == UINT64_MAX ? json_string("latest") : qty(block);
}

static int call_quantity(sr_ethrpc *r, const char *method, json_t *params, uint64_t *out, sr_error *err) {
    json_t *res = NULL;
    int rc = sr_ethrpc_call(r, method, params, &res, err);
    if (rc) return rc;
    rc = sr_ethrpc_quantity(res, out, err);
    if (rc) sr_error_prefix(err, "%s", method);
    json_decref(res);
    return rc;
}

int sr_ethrpc_chain_id(sr_ethrpc *r, uint64_t *out, sr_error *err) {
    return call_quantity(r, "eth_chainId", NULL, out, err);
}

int sr_ethrpc_block_number(sr_ethrpc *r, uint64_t *out, sr_error *err) {
    return call_quantity(r, "eth_blockNumber", NULL, out, err);
}

int sr_ethrpc_nonce(sr_ethrpc *r, const uint8_t addr[20], const char *block, uint64_t *out, sr_error *err) {
    return call_quantity(r, "eth_getTransactionCount", json_pack("[o,s]", hexj(addr, 20), block), out, err);
}

static int hex_result(json_t *res, sr_buf *out, const char *what, sr_error *err) {
    if (!json_is_string(res)) return sr_error_set(err, SR_EFORMAT, "%s: hex string expected", what);
    const char *s = json_string_value(res);
    size_t n = strlen(s);
    if (n < 2 || s[0] != '0' || s[1] != 'x' || n % 2) return sr_error_set(err, SR_EFORMAT, "%s: bad hex data", what);
    int rc = sr_buf_reserve(out, n / 2, err);
    if (rc) return rc;
    size_t got = 0;
    rc = sr_hex_decode(s, out->data + out->len, n / 2, &got, err);
    if (rc) return sr_error_prefix(err, "%s", what);
    out->len += got;
    return SR_OK;
}

int sr_ethrpc_get_code(sr_ethrpc *r, const uint8_t addr[20], uint64_t block, sr_buf *out, sr_error *err) {
    json_t *res = NULL;
    int rc = sr_ethrpc_call(r, "eth_getCode", json_pack("[o,o]", hexj(addr, 20), block_tag(block)), &res, err);
    if (rc) return rc;
    rc = hex_result(res, out, "eth_getCode", err);
    json_decref(res);
    return rc;
}

static json_t *call_object(const uint8_t *from, const uint8_t *to, const uint8_t *data, size_t len) {
    json_t *o = json_object();
    if (!o) return NULL;
    if (from) json_object_set_new(o, "from", hexj(from, 20));
    if (to) json_object_set_new(o, "to", hexj(to, 20));
    json_object_set_new(o, "data", hexj(data, len));
    json_object_set_new(o, "input", hexj(data, len));
    return o;
}

int sr_ethrpc_eth_call(sr_ethrpc *r, const uint8_t *from, const uint8_t to[20], const uint8_t *data, size_t len,
                       uint64_t block, sr_buf *out, sr_error *err) {
    json_t *res = NULL;
    int rc = sr_ethrpc_call(r, "eth_call", json_pack("[o,o]", call_object(from, to, data, len), block_tag(block)),
                            &res, err);
    if (rc) return rc;
    rc = hex_result(res, out, "eth_call", err);
    json_decref(res);
    return rc;
}

int sr_ethrpc_estimate_gas(sr_ethrpc *r, const uint8_t from[20], const uint8_t *to, const uint8_t *data, size_t len,
                           uint64_t *gas, sr_error *err) {
    return call_quantity(r, "eth_estimateGas", json_pack("[o]", call_object(from, to, data, len)), gas, err);
}

int sr_ethrpc_send_raw(sr_ethrpc *r, const uint8_t *raw, size_t len, uint8_t hash[32], sr_error *err) {
    json_t *res = NULL;
    int rc = sr_ethrpc_call(r, "eth_sendRawTransaction", json_pack("[o]", hexj(raw, len)), &res, err);
    if (rc) return rc;
    if (!json_is_string(res) || sr_hex_decode_exact(json_string_value(res), hash, 32, NULL))
        rc = sr_error_set(err, SR_EFORMAT, "eth_sendRawTransaction: bad transaction hash");
    json_decref(res);
    return rc;
}

int sr_ethrpc_get_logs(sr_ethrpc *r, const uint8_t addr[20], uint64_t from, uint64_t to, const uint8_t *topic0,
                       json_t **logs, sr_error *err) {
    *logs = NULL;
    json_t *filter = json_pack("{s:o, s:o, s:o}", "address", hexj(addr, 20), "fromBlock", qty(from), "toBlock",
                               block_tag(to));
    if (!filter) return sr_error_set(err, SR_ENOMEM, "out of memory");
    if (topic0) json_object_set_new(filter, "topics", json_pack("[o]", hexj(topic0, 32)));
    json_t *res = NULL;
    int rc = sr_ethrpc_call(r, "eth_getLogs", json_pack("[o]", filter), &res, err);
    if (rc) return rc;
    if (!json_is_array(res)) rc = sr_error_set(err, SR_EFORMAT, "eth_getLogs: array expected");
    for (size_t i = 0; !rc && i < json_array_size(res); i++) {
        json_t *l = json_array_get(res, i);
        if (!json_is_object(l) || !json_is_array(json_object_get(l, "topics")) ||
            !json_is_string(json_object_get(l, "data")))
            rc = sr_error_set(err, SR_EFORMAT, "eth_getLogs: log %zu lacks topics or data", i);
    }
    if (rc) {
        json_decref(res);
        return rc;
    }
    *logs = res;
    return SR_OK;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int sr_ethrpc_wait_receipt(sr_ethrpc *r, const uint8_t hash[32], long wait_ms, json_t **receipt, sr_error *err) {
    *receipt = NULL;
    double deadline = now_ms() + (double)wait_ms;
    long pause = 2;
    for (;;) {
        json_t *res = NULL;
        int rc = sr_ethrpc_call(r, "eth_getTransactionReceipt", json_pack("[o]", hexj(hash, 32)), &res, err);
        if (rc) return rc;
        if (json_is_object(res)) {
            *receipt = res;
            return SR_OK;
        }
        json_decref(res);
        if (now_ms() >= deadline) {
            char h[65];
            sr_hex_encode(hash, 32, h);
            return sr_error_set(err, SR_ENET, "no receipt for transaction 0x%s after %ld ms", h, wait_ms);
        }
        sleep_ms(pause);
        if (pause < 200) pause *= 2;
    }
}

/* ---- revert reasons ---------------------------------------------------- */
void sr_evm_revert_reason(const uint8_t *data, size_t len, char *out, size_t cap) {
    if (!cap) return;
    out[0] = 0;
    static const uint8_t err_sel[4] = {0x08, 0xc3, 0x79, 0xa0};   /* Error(string) */
    static const uint8_t panic_sel[4] = {0x4e, 0x48, 0x7b, 0x71}; /* Panic(uint256) */
    if (len < 4) {
        snprintf(out, cap, "%s", len ? "reverted with short data" : "reverted without a reason");
        return;
    }
    json_t *v = NULL;
    if (!memcmp(data, err_sel, 4) && sr_abi_decode_params("(string)", data + 4, len - 4, &v, NULL) == SR_OK) {
        const char *s = json_string_value(json_array_get(v, 0));
        size_t j = 0;
        for (; s && *s && j + 1 < cap; s++) out[j++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
        out[j] = 0;
    } else if (!memcmp(data, panic_sel, 4) &&
               sr_abi_decode_params("(uint256)", data + 4, len - 4, &v, NULL) == SR_OK) {
        snprintf(out, cap, "panic %s", json_string_value(json_array_get(v, 0)));
    } else {
        snprintf(out, cap, "reverted with custom error 0x%02x%02x%02x%02x", data[0], data[1], data[2], data[3]);
    }
    json_decref(v);
}

/* ---- transactions ------------------------------------------------------- */
static int base_fee(sr_ethrpc *r, uint64_t *out, sr_error *err) {
    json_t *blk = NULL;
    int rc = sr_ethrpc_call(r, "eth_getBlockByNumber", json_pack("[s,b]", "latest", 0), &blk, err);
    if (rc) return rc;
    json_t *bf = json_is_object(blk) ? json_object_get(blk, "baseFeePerGas") : NULL;
    if (!bf) rc = sr_error_set(err, SR_ESTATE, "node has no EIP-1559 base fee (pre-London chain?)");
    else rc = sr_ethrpc_quantity(bf, out, err);
    json_decref(blk);
    return rc;
}

int sr_ethrpc_transact(sr_ethrpc *r, const uint8_t sk[32], const uint8_t *to, const uint8_t *data, size_t len,
                       uint64_t gas_limit, sr_eth_sent *sent, sr_error *err) {
    uint8_t from[20];
    int rc = sr_eth_address_from_seckey(sk, from, err);
    if (rc) return rc;
    sr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    if ((rc = sr_ethrpc_chain_id(r, &tx.chain_id, err))) return rc;
    if ((rc = sr_ethrpc_nonce(r, from, "pending", &tx.nonce, err))) return rc;
    if (!gas_limit) {
        uint64_t est = 0;
        rc = sr_ethrpc_estimate_gas(r, from, to, data, len, &est, err);
        if (rc && !err) return rc;
        if (rc) {
            /* The node refused to simulate it: a revert carries the
             * contract's reason, whose first word gives the class. */
            static const struct { const char *word; int code; } cls[] = {
                {"denied: ", SR_EDENIED}, {"state: ", SR_ESTATE}, {"verify: ", SR_EVERIFY}, {"invalid: ", SR_EINVAL}};
            for (size_t i = 0; i < sizeof cls / sizeof *cls; i++) {
                const char *p = strstr(err->msg, cls[i].word);
                if (!p) continue;
                char reason[256];
                size_t j = 0;
                p += strlen(cls[i].word);
                while (p[j] && p[j] != ':' && j + 1 < sizeof reason) {
                    reason[j] = p[j];
                    j++;
                }
                reason[j] = 0;
                return sr_error_set(err, cls[i].code, "refused by the contract: %s", reason);
            }
            return rc;
        }
        gas_limit = est + est / 4;
    }
    uint64_t bf = 0, prio = 0;
    if ((rc = base_fee(r, &bf, err))) return rc;
    if (call_quantity(r, "eth_maxPriorityFeePerGas", NULL, &prio, NULL)) prio = 1000000000u;
    if (bf > (UINT64_MAX - prio) / 2) return sr_error_set(err, SR_ELIMIT, "base fee %llu too large", (unsigned long long)bf);
    tx.max_priority_fee = prio;
    tx.max_fee = 2 * bf + prio;
    tx.gas_limit = gas_limit;
    if (to) {
        tx.has_to = 1;
        memcpy(tx.to, to, 20);
    }
    tx.data = data;
    tx.data_len = len;
    uint8_t hash[32];
    /* Another process sending from the same key may take our nonce between
     * the read and the send: re-read it and retry a few times. */
    for (int attempt = 0;; attempt++) {
        sr_buf raw = {0};
        rc = sr_eth_tx_sign(&tx, sk, &raw, hash, err);
        if (!rc) rc = sr_ethrpc_send_raw(r, raw.data, raw.len, hash, err);
        sr_buf_free(&raw);
        if (!rc) break;
        int nonce_clash = err && (strstr(err->msg, "nonce too low") || strstr(err->msg, "already known") ||
                                  strstr(err->msg, "replacement transaction underpriced") ||
                                  strstr(err->msg, "nonce has already been used"));
        if (!nonce_clash || attempt >= 8) return rc;
        sleep_ms(5L << (attempt < 5 ? attempt : 5));
        if ((rc = sr_ethrpc_nonce(r, from, "pending", &tx.nonce, err))) return rc;
    }
    json_t *rcpt = NULL;
    if ((rc = sr_ethrpc_wait_receipt(r, hash, 120000, &rcpt, err))) return rc;
    uint64_t st = 0, blk = 0, gas = 0;
    rc = sr_ethrpc_quantity(json_object_get(rcpt, "status"), &st, err);
    if (!rc) rc = sr_ethrpc_quantity(json_object_get(rcpt, "blockNumber"), &blk, err);
    if (!rc) rc = sr_ethrpc_quantity(json_object_get(rcpt, "gasUsed"), &gas, err);
    if (rc) {
        sr_error_prefix(err, "transaction receipt");
    } else if (st != 1) {
        /* Replay at the parent block to learn why. */
        sr_buf o = {0};
        sr_error e2;
        sr_error_clear(&e2);
        rc = SR_EDENIED;
        if (to && sr_ethrpc_eth_call(r, from, to, data, len, blk ? blk - 1 : 0, &o, &e2))
            sr_error_set(err, SR_EDENIED, "transaction reverted: %s", e2.msg);
        else
            sr_error_set(err, SR_EDENIED, "transaction reverted (gas used %llu of %llu)", (unsigned long long)gas,
                         (unsigned long long)gas_limit);
        sr_buf_free(&o);
    } else if (sent) {
        memset(sent, 0, sizeof *sent);
        memcpy(sent->hash, hash, 32);
        sent->block = blk;
        sent->gas_used = gas;
        json_t *ca = json_object_get(rcpt, "contractAddress");
        if (json_is_string(ca) && sr_hex_decode_exact(json_string_value(ca), sent->contract, 20, NULL) == SR_OK)
            sent->has_contract = 1;
    }
    json_decref(rcpt);
    return rc;
}

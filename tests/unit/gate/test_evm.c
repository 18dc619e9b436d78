/* Unit tests for the EVM plumbing: RLP, ABI, EIP-1559 signing, JSON-RPC
 * response reading. Independent cross-checks against ethers are in
 * tests/interop/gate/test_evm_ethers.mjs. */
#include "test.h"

#include <stdlib.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/evm.h"

static int buf_is_hex(const sr_buf *b, const char *hex) {
    uint8_t want[4096];
    size_t n = sr_test_unhex(hex, want, sizeof want);
    if (n != b->len || memcmp(b->data, want, n)) {
        char *got = malloc(2 * b->len + 1);
        sr_hex_encode(b->data, b->len, got);
        fprintf(stderr, "  got  %s\n  want %s\n", got, hex);
        free(got);
        return 0;
    }
    return 1;
}

static void test_rlp_vectors(void) {
    sr_error err;
    sr_buf b = {0}, p = {0};
    CHECK_OK(sr_rlp_put_bytes(&b, (const uint8_t *)"dog", 3, &err), &err);
    CHECK(buf_is_hex(&b, "83646f67"));
    sr_buf_reset(&b);
    CHECK_OK(sr_rlp_put_bytes(&p, (const uint8_t *)"cat", 3, &err), &err);
    CHECK_OK(sr_rlp_put_bytes(&p, (const uint8_t *)"dog", 3, &err), &err);
    CHECK_OK(sr_rlp_put_list(&b, p.data, p.len, &err), &err);
    CHECK(buf_is_hex(&b, "c88363617483646f67"));
    sr_buf_reset(&b);
    CHECK_OK(sr_rlp_put_bytes(&b, NULL, 0, &err), &err);
    CHECK_OK(sr_rlp_put_uint(&b, 0, &err), &err);
    CHECK_OK(sr_rlp_put_uint(&b, 15, &err), &err);
    CHECK_OK(sr_rlp_put_uint(&b, 1024, &err), &err);
    CHECK_OK(sr_rlp_put_list(&b, NULL, 0, &err), &err);
    CHECK(buf_is_hex(&b, "8080" "0f" "820400" "c0"));
    sr_buf_reset(&b);
    const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    CHECK_OK(sr_rlp_put_bytes(&b, (const uint8_t *)lorem, strlen(lorem), &err), &err);
    CHECK_EQ_INT(b.len, 58);
    CHECK_EQ_INT(b.data[0], 0xb8);
    CHECK_EQ_INT(b.data[1], 0x38);

    /* decoder round trip and strictness */
    size_t pos = 0, plen = 0;
    int is_list = -1;
    const uint8_t *pl = NULL;
    CHECK_OK(sr_rlp_next(b.data, b.len, &pos, &is_list, &pl, &plen, &err), &err);
    CHECK_EQ_INT(is_list, 0);
    CHECK_EQ_INT(plen, 56);
    CHECK_EQ_INT(pos, 58);
    CHECK(memcmp(pl, lorem, 56) == 0);
    static const uint8_t noncanon1[] = {0x81, 0x05};        /* single byte must not be wrapped */
    static const uint8_t noncanon2[] = {0xb8, 0x05, 1, 2, 3, 4, 5}; /* long form for short */
    static const uint8_t trunc[] = {0x83, 'd', 'o'};
    static const uint8_t longlen[] = {0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    pos = 0;
    CHECK(sr_rlp_next(noncanon1, sizeof noncanon1, &pos, &is_list, &pl, &plen, &err) == SR_EFORMAT);
    pos = 0;
    CHECK(sr_rlp_next(noncanon2, sizeof noncanon2, &pos, &is_list, &pl, &plen, &err) == SR_EFORMAT);
    pos = 0;
    CHECK(sr_rlp_next(trunc, sizeof trunc, &pos, &is_list, &pl, &plen, &err) == SR_EFORMAT);
    pos = 0;
    CHECK(sr_rlp_next(longlen, sizeof longlen, &pos, &is_list, &pl, &plen, &err) == SR_EFORMAT);
    sr_buf_free(&b);
    sr_buf_free(&p);
}

static void test_create_address(void) {
    sr_error err;
    uint8_t sender[20], out[20], want[20];
    sr_test_unhex("6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0", sender, 20);
    CHECK_OK(sr_eth_create_address(sender, 0, out, &err), &err);
    sr_test_unhex("cd234a471b72ba2f1ccf0a70fcaba648a5eecd8d", want, 20);
    CHECK_EQ_MEM(out, want, 20);
    CHECK_OK(sr_eth_create_address(sender, 1, out, &err), &err);
    sr_test_unhex("343c43a37d37dff08ae8c4a11544c718abb4fcf8", want, 20);
    CHECK_EQ_MEM(out, want, 20);
}

static json_t *J(const char *text) {
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    if (!v) fprintf(stderr, "bad test json: %s\n", je.text);
    return v;
}

static void test_abi_solidity_doc_vectors(void) {
    sr_error err;
    sr_buf b = {0};
    uint8_t sel[4];
    sr_abi_selector("baz(uint32,bool)", sel);
    CHECK(sel[0] == 0xcd && sel[1] == 0xcd && sel[2] == 0x77 && sel[3] == 0xc0);
    json_t *a = J("[69, true]");
    CHECK_OK(sr_abi_encode_call("baz(uint32,bool)", a, &b, &err), &err);
    CHECK(buf_is_hex(&b, "cdcd77c0"
                         "0000000000000000000000000000000000000000000000000000000000000045"
                         "0000000000000000000000000000000000000000000000000000000000000001"));
    json_decref(a);
    sr_buf_reset(&b);
    a = J("[\"0x64617665\", true, [1, \"2\", \"0x3\"]]");
    CHECK_OK(sr_abi_encode_call("sam(bytes,bool,uint256[])", a, &b, &err), &err);
    const char *sam = "a5643bf2"
                      "0000000000000000000000000000000000000000000000000000000000000060"
                      "0000000000000000000000000000000000000000000000000000000000000001"
                      "00000000000000000000000000000000000000000000000000000000000000a0"
                      "0000000000000000000000000000000000000000000000000000000000000004"
                      "6461766500000000000000000000000000000000000000000000000000000000"
                      "0000000000000000000000000000000000000000000000000000000000000003"
                      "0000000000000000000000000000000000000000000000000000000000000001"
                      "0000000000000000000000000000000000000000000000000000000000000002"
                      "0000000000000000000000000000000000000000000000000000000000000003";
    CHECK(buf_is_hex(&b, sam));
    json_decref(a);
    /* decode it back */
    json_t *out = NULL;
    CHECK_OK(sr_abi_decode_params("(bytes,bool,uint256[])", b.data + 4, b.len - 4, &out, &err), &err);
    char *s = json_dumps(out, JSON_COMPACT);
    CHECK_EQ_STR(s, "[\"0x64617665\",true,[\"1\",\"2\",\"3\"]]");
    free(s);
    json_decref(out);

    /* f(uint256,uint32[],bytes10,bytes) from the Solidity docs */
    sr_buf_reset(&b);
    a = J("[\"0x123\", [\"0x456\", \"0x789\"], \"0x31323334353637383930\", \"0x48656c6c6f2c20776f726c6421\"]");
    CHECK_OK(sr_abi_encode_call("f(uint256,uint32[],bytes10,bytes)", a, &b, &err), &err);
    CHECK(buf_is_hex(&b, "8be65246"
                         "0000000000000000000000000000000000000000000000000000000000000123"
                         "0000000000000000000000000000000000000000000000000000000000000080"
                         "3132333435363738393000000000000000000000000000000000000000000000"
                         "00000000000000000000000000000000000000000000000000000000000000e0"
                         "0000000000000000000000000000000000000000000000000000000000000002"
                         "0000000000000000000000000000000000000000000000000000000000000456"
                         "0000000000000000000000000000000000000000000000000000000000000789"
                         "000000000000000000000000000000000000000000000000000000000000000d"
                         "48656c6c6f2c20776f726c642100000000000000000000000000000000000000"));
    json_decref(a);
    sr_buf_free(&b);
}

static void roundtrip(const char *type, const char *value, const char *expect_decoded) {
    sr_error err;
    sr_abi_type *t = NULL;
    sr_buf b = {0};
    json_t *v = J(value), *out = NULL;
    CHECK_OK(sr_abi_type_parse(type, &t, &err), &err);
    if (!t) return;
    CHECK_OK(sr_abi_encode(t, v, &b, &err), &err);
    CHECK_OK(sr_abi_decode(t, b.data, b.len, &out, &err), &err);
    char *s = out ? json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    CHECK_MSG(s && strcmp(s, expect_decoded) == 0, "%s: got %s want %s", type, s ? s : "(null)", expect_decoded);
    free(s);
    json_decref(out);
    json_decref(v);
    sr_buf_free(&b);
    sr_abi_type_free(t);
}

static void test_abi_roundtrips(void) {
    roundtrip("int8", "-128", "\"-128\"");
    roundtrip("int256", "\"-1\"", "\"-1\"");
    roundtrip("uint256", "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"",
              "\"115792089237316195423570985008687907853269984665640564039457584007913129639935\"");
    roundtrip("(address,bytes32,string[])",
              "[\"0x00000000000000000000000000000000000000AB\", "
              "\"0x0101010101010101010101010101010101010101010101010101010101010101\", [\"a\", \"\", \"h\\u00e9\"]]",
              "[\"0x00000000000000000000000000000000000000ab\","
              "\"0x0101010101010101010101010101010101010101010101010101010101010101\",[\"a\",\"\",\"h\xc3\xa9\"]]");
    roundtrip("(string,address,string,string)[]", "[[\"a\",\"0x0000000000000000000000000000000000000001\",\"US\",\"HIPAA\"]]",
              "[[\"a\",\"0x0000000000000000000000000000000000000001\",\"US\",\"HIPAA\"]]");
    roundtrip("(bool,string)", "[false, \"no\"]", "[false,\"no\"]");
    roundtrip("uint8[2][]", "[[1,2],[3,4]]", "[[\"1\",\"2\"],[\"3\",\"4\"]]");
    roundtrip("bytes[2]", "[\"0x\", \"0xff\"]", "[\"0x\",\"0xff\"]");
}

static void test_abi_rejects(void) {
    sr_error err;
    sr_abi_type *t = NULL;
    sr_buf b = {0};
    const char *bad_types[] = {"uint7", "uint264", "bytes33", "bytes0", "(uint256", "uint256[0]", "foo", "(,)",
                               "uint256[]]", "int", "uint01"};
    for (size_t i = 0; i < sizeof bad_types / sizeof *bad_types; i++) {
        CHECK_MSG(sr_abi_type_parse(bad_types[i], &t, &err) != SR_OK, "accepted %s", bad_types[i]);
        CHECK(t == NULL);
    }
    char deep[200] = "uint8";
    for (int i = 0; i < 20; i++) strcat(deep, "[]");
    CHECK(sr_abi_type_parse(deep, &t, &err) == SR_ELIMIT);

    /* encode range checks */
    json_t *v = J("256");
    CHECK_OK(sr_abi_type_parse("uint8", &t, &err), &err);
    CHECK(sr_abi_encode(t, v, &b, &err) == SR_ELIMIT);
    json_decref(v);
    sr_abi_type_free(t);
    v = J("128");
    CHECK_OK(sr_abi_type_parse("int8", &t, &err), &err);
    CHECK(sr_abi_encode(t, v, &b, &err) == SR_ELIMIT);
    json_decref(v);
    sr_abi_type_free(t);

    /* decode strictness */
    uint8_t w[96];
    json_t *out = NULL;
    memset(w, 0, sizeof w);
    w[31] = 2; /* bool 2 */
    CHECK_OK(sr_abi_type_parse("bool", &t, &err), &err);
    CHECK(sr_abi_decode(t, w, 32, &out, &err) == SR_EFORMAT);
    CHECK(sr_abi_decode(t, w, 31, &out, &err) == SR_EFORMAT); /* truncated */
    sr_abi_type_free(t);
    memset(w, 0, sizeof w);
    w[0] = 1; /* dirty address */
    CHECK_OK(sr_abi_type_parse("address", &t, &err), &err);
    CHECK(sr_abi_decode(t, w, 32, &out, &err) == SR_EFORMAT);
    sr_abi_type_free(t);
    memset(w, 0, sizeof w);
    w[31] = 0x40; /* offset 64 -> length word at 64 says 2^64-ish */
    memset(w + 64, 0xff, 32);
    CHECK_OK(sr_abi_type_parse("(string)", &t, &err), &err);
    CHECK(sr_abi_decode(t, w, 96, &out, &err) == SR_EFORMAT);
    w[31] = 0xe0; /* offset past the end */
    CHECK(sr_abi_decode(t, w, 96, &out, &err) == SR_EFORMAT);
    sr_abi_type_free(t);
    /* huge array count */
    memset(w, 0, sizeof w);
    w[31] = 0x20;
    memset(w + 48, 0xff, 16);
    CHECK_OK(sr_abi_type_parse("(uint256[])", &t, &err), &err);
    CHECK(sr_abi_decode(t, w, 64, &out, &err) == SR_EFORMAT);
    sr_abi_type_free(t);
    CHECK(out == NULL);
    sr_buf_free(&b);
}

/* An array of N strings whose offsets all point at the same long string:
 * the decoder's budget must stop the blow-up. */
static void test_abi_overlap_budget(void) {
    sr_error err;
    size_t n = 2000, strlen_ = 2048;
    size_t len = 32 + 32 + 32 * n + 32 + strlen_;
    uint8_t *d = calloc(1, len);
    d[31] = 0x20;                        /* offset of the array */
    sr_store_be64(d + 32 + 24, n);       /* count */
    size_t str_off = 32 * n;             /* relative to the array's items */
    for (size_t i = 0; i < n; i++) sr_store_be64(d + 64 + 32 * i + 24, str_off);
    sr_store_be64(d + 64 + str_off + 24, strlen_);
    memset(d + 64 + str_off + 32, 'a', strlen_);
    json_t *out = NULL;
    int rc = sr_abi_decode_params("(string[])", d, len, &out, &err);
    CHECK_MSG(rc == SR_ELIMIT, "rc %d: %s", rc, err.msg);
    CHECK(out == NULL);
    free(d);
}

static void test_tx_signing_deterministic(void) {
    sr_error err;
    uint8_t sk[32];
    sr_test_unhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80", sk, 32);
    sr_eth_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.chain_id = 31337;
    tx.nonce = 7;
    tx.max_priority_fee = 1000000000;
    tx.max_fee = 3000000000u;
    tx.gas_limit = 21000;
    tx.has_to = 1;
    sr_test_unhex("70997970c51812dc3a010c7d01b50e0d17dc79c8", tx.to, 20);
    tx.value[31] = 1;
    sr_buf raw = {0};
    uint8_t h[32], h2[32], digest[32];
    CHECK_OK(sr_eth_tx_sign(&tx, sk, &raw, h, &err), &err);
    CHECK(raw.len > 100 && raw.data[0] == 0x02);
    sr_keccak256(raw.data, raw.len, h2);
    CHECK_EQ_MEM(h, h2, 32);
    /* parse it back: list of 12, signature recovers to the sender */
    size_t pos = 1, plen, ipos = 0, n = 0;
    int is_list;
    const uint8_t *pl, *items[12];
    size_t ilen[12];
    CHECK_OK(sr_rlp_next(raw.data, raw.len, &pos, &is_list, &pl, &plen, &err), &err);
    CHECK(is_list && pos == raw.len);
    while (ipos < plen && n < 12) {
        int il;
        CHECK_OK(sr_rlp_next(pl, plen, &ipos, &il, &items[n], &ilen[n], &err), &err);
        n++;
    }
    CHECK_EQ_INT(n, 12);
    CHECK_EQ_INT(ilen[5], 20);
    CHECK_OK(sr_eth_tx_signing_hash(&tx, digest, &err), &err);
    uint8_t sig[65] = {0}, addr[20], want[20];
    memcpy(sig + 32 - ilen[10], items[10], ilen[10]);
    memcpy(sig + 64 - ilen[11], items[11], ilen[11]);
    sig[64] = (uint8_t)(27 + (ilen[9] ? items[9][0] : 0));
    CHECK_OK(sr_eth_recover_address(digest, sig, addr, &err), &err);
    sr_test_unhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266", want, 20);
    CHECK_EQ_MEM(addr, want, 20);
    sr_buf_free(&raw);
}

static void test_rpc_response_reader(void) {
    sr_error err;
    json_t *res = NULL;
    const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":\"0x7a69\"}";
    CHECK_OK(sr_ethrpc_parse_response(ok, strlen(ok), 5, &res, &err), &err);
    uint64_t q = 0;
    CHECK_OK(sr_ethrpc_quantity(res, &q, &err), &err);
    CHECK_EQ_INT(q, 31337);
    json_decref(res);
    CHECK(sr_ethrpc_parse_response(ok, strlen(ok), 6, &res, &err) == SR_EFORMAT);
    const char *e = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":3,\"message\":\"execution reverted\","
                    "\"data\":\"0x08c379a00000000000000000000000000000000000000000000000000000000000000020"
                    "000000000000000000000000000000000000000000000000000000000000000e"
                    "64656e6965643a2066726f7a656e00000000000000000000000000000000000000\"}}";
    CHECK(sr_ethrpc_parse_response(e, strlen(e), 1, &res, &err) == SR_ENET);
    CHECK_CONTAINS(err.msg, "rpc error 3: execution reverted: denied: frozen");
    const char *bads[] = {"", "[]", "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}", "{\"jsonrpc\":\"2.0\",\"id\":1}",
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"result\":2}", "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}",
                          "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":7}"};
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        CHECK_MSG(sr_ethrpc_parse_response(bads[i], strlen(bads[i]), 1, &res, &err) != SR_OK, "accepted %s", bads[i]);
        CHECK(res == NULL);
    }
    json_t *j = json_string("0x0");
    CHECK_OK(sr_ethrpc_quantity(j, &q, &err), &err);
    CHECK_EQ_INT(q, 0);
    json_decref(j);
    const char *badq[] = {"0x", "0x01", "7", "0x10000000000000000", "0xg"};
    for (size_t i = 0; i < sizeof badq / sizeof *badq; i++) {
        j = json_string(badq[i]);
        CHECK_MSG(sr_ethrpc_quantity(j, &q, &err) == SR_EFORMAT, "accepted %s", badq[i]);
        json_decref(j);
    }
    /* an unreachable node is a network error, not a crash */
    sr_ethrpc *r = NULL;
    CHECK(sr_ethrpc_open("ftp://x", 0, &r, &err) == SR_EINVAL);
    CHECK_OK(sr_ethrpc_open("http://127.0.0.1:1", 2000, &r, &err), &err);
    CHECK(sr_ethrpc_block_number(r, &q, &err) == SR_ENET);
    sr_ethrpc_close(r);
}

static void test_revert_reason(void) {
    char out[64];
    sr_evm_revert_reason(NULL, 0, out, sizeof out);
    CHECK_EQ_STR(out, "reverted without a reason");
    uint8_t panic[36] = {0x4e, 0x48, 0x7b, 0x71};
    panic[35] = 0x11;
    sr_evm_revert_reason(panic, sizeof panic, out, sizeof out);
    CHECK_EQ_STR(out, "panic 17");
}

int main(void) {
    SR_RUN(test_rlp_vectors);
    SR_RUN(test_create_address);
    SR_RUN(test_abi_solidity_doc_vectors);
    SR_RUN(test_abi_roundtrips);
    SR_RUN(test_abi_rejects);
    SR_RUN(test_abi_overlap_budget);
    SR_RUN(test_tx_signing_deterministic);
    SR_RUN(test_rpc_response_reader);
    SR_RUN(test_revert_reason);
    return sr_test_finish();
}

#include "test.h"

#include <stdlib.h>
#include <sys/stat.h>

#include "sealroom/buf.h"
#include "sealroom/error.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

static void test_error_set_and_prefix(void)
{
    sr_error err;
    sr_error_clear(&err);
    CHECK_EQ_INT(err.code, SR_OK);
    CHECK_EQ_INT(sr_error_set(&err, SR_EFORMAT, "bad %d", 7), SR_EFORMAT);
    CHECK_EQ_STR(err.msg, "bad 7");
    CHECK_EQ_INT(sr_error_prefix(&err, "reading %s", "x.csv"), SR_EFORMAT);
    CHECK_EQ_STR(err.msg, "reading x.csv: bad 7");
    CHECK_EQ_STR(sr_code_name(SR_EVERIFY), "verify");
    CHECK_EQ_INT(sr_error_set(NULL, SR_EIO, "ignored"), SR_EIO);
}

static void test_buf_growth_and_endianness(void)
{
    sr_error err;
    sr_buf b;
    sr_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        CHECK_OK(sr_buf_append_u8(&b, (uint8_t)i, &err), &err);
    CHECK_EQ_INT(b.len, 1000);
    CHECK_EQ_INT(b.data[999], (uint8_t)999);
    sr_buf_reset(&b);
    CHECK_OK(sr_buf_append_be32(&b, 0x01020304u, &err), &err);
    CHECK_OK(sr_buf_append_le64(&b, 0x0102030405060708ull, &err), &err);
    CHECK(b.len == 12 && b.data[0] == 1 && b.data[3] == 4 && b.data[4] == 8 && b.data[11] == 1);
    CHECK(sr_load_be32(b.data) == 0x01020304u);
    CHECK(sr_load_le64(b.data + 4) == 0x0102030405060708ull);
    sr_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0);

    sr_buf s;
    sr_buf_init_secure(&s);
    CHECK_OK(sr_buf_append(&s, "secret", 6, &err), &err);
    CHECK(memcmp(s.data, "secret", 6) == 0);
    sr_buf_free(&s);
}

static void test_hex(void)
{
    sr_error err;
    uint8_t out[8];
    size_t n = 0;
    char txt[17];
    CHECK_OK(sr_hex_decode("0xDEadBEef", out, sizeof out, &n, &err), &err);
    CHECK(n == 4 && out[0] == 0xde && out[3] == 0xef);
    sr_hex_encode(out, 4, txt);
    CHECK_EQ_STR(txt, "deadbeef");
    CHECK_EQ_INT(sr_hex_decode("abc", out, sizeof out, &n, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_hex_decode("zz", out, sizeof out, &n, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_hex_decode("000000000000000000", out, sizeof out, &n, &err), SR_ELIMIT);
    CHECK_EQ_INT(sr_hex_decode_exact("0011", out, 3, &err), SR_EFORMAT);
    CHECK_OK(sr_hex_decode_exact("001122", out, 3, &err), &err);
}

static void test_base64(void)
{
    sr_error err;
    const char *vec[][2] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < 5; i++) {
        char *enc = sr_base64_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]));
        CHECK_EQ_STR(enc, vec[i][1]);
        free(enc);
        sr_buf b;
        sr_buf_init(&b);
        CHECK_OK(sr_base64_decode(vec[i][1], &b, &err), &err);
        CHECK(b.len == strlen(vec[i][0]) && (b.len == 0 || memcmp(b.data, vec[i][0], b.len) == 0));
        sr_buf_free(&b);
    }
    sr_buf b;
    sr_buf_init(&b);
    CHECK_EQ_INT(sr_base64_decode("Zm=v", &b, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_base64_decode("Zm9", &b, &err), SR_EFORMAT);
    sr_buf_free(&b);
}

static void test_file_atomic_mode(void)
{
    sr_error err;
    CHECK_OK(sr_file_write_atomic("secret.bin", "abc", 3, 0600, &err), &err);
    struct stat st;
    CHECK(stat("secret.bin", &st) == 0 && (st.st_mode & 0777) == 0600);
    sr_buf b;
    sr_buf_init(&b);
    CHECK_OK(sr_file_read("secret.bin", 100, &b, &err), &err);
    CHECK(b.len == 3 && memcmp(b.data, "abc", 3) == 0);
    sr_buf_reset(&b);
    CHECK_EQ_INT(sr_file_read("secret.bin", 2, &b, &err), SR_ELIMIT);
    CHECK_EQ_INT(sr_file_read("does-not-exist", 2, &b, &err), SR_ENOTFOUND);
    sr_buf_free(&b);
}

static void test_secmem(void)
{
    uint8_t *p = sr_secure_alloc(100);
    CHECK(p != NULL);
    for (int i = 0; i < 100; i++)
        CHECK(p[i] == 0);
    memset(p, 0xAA, 100);
    sr_secure_free(p, 100);
    CHECK(sr_ct_equal("abcd", "abcd", 4) == 1);
    CHECK(sr_ct_equal("abcd", "abce", 4) == 0);
}

static void test_json_helpers(void)
{
    sr_error err;
    const char *doc = "{\"a\":\"x\",\"n\":5,\"r\":1.5,\"b\":true,\"h\":\"0x0102\"}";
    json_t *j = sr_json_parse(doc, strlen(doc), 1024, &err);
    CHECK(j != NULL);
    const char *s = NULL;
    int64_t n = 0;
    double r = 0;
    int bo = 0;
    uint8_t h[2];
    CHECK_OK(sr_json_get_str(j, "a", 1, &s, "doc", &err), &err);
    CHECK_EQ_STR(s, "x");
    CHECK_OK(sr_json_get_int(j, "n", 1, &n, "doc", &err), &err);
    CHECK_EQ_INT(n, 5);
    CHECK_OK(sr_json_get_real(j, "r", 1, &r, "doc", &err), &err);
    CHECK(r == 1.5);
    CHECK_OK(sr_json_get_bool(j, "b", 1, &bo, "doc", &err), &err);
    CHECK(bo == 1);
    CHECK_OK(sr_json_get_hex(j, "h", h, 2, "doc", &err), &err);
    CHECK(h[0] == 1 && h[1] == 2);
    CHECK_EQ_INT(sr_json_get_str(j, "missing", 1, &s, "doc", &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "missing field \"missing\"");
    CHECK_OK(sr_json_get_str(j, "missing", 0, &s, "doc", &err), &err);
    CHECK_EQ_INT(sr_json_get_int(j, "a", 1, &n, "doc", &err), SR_EFORMAT);
    json_decref(j);

    CHECK(sr_json_parse("{\"a\":1,\"a\":2}", 13, 1024, &err) == NULL);
    CHECK(sr_json_parse(doc, strlen(doc), 10, &err) == NULL && err.code == SR_ELIMIT);
    CHECK(sr_json_parse("{\"a\":", 5, 1024, &err) == NULL && err.code == SR_EFORMAT);
}

int main(void)
{
    SR_RUN(test_error_set_and_prefix);
    SR_RUN(test_buf_growth_and_endianness);
    SR_RUN(test_hex);
    SR_RUN(test_base64);
    SR_RUN(test_file_atomic_mode);
    SR_RUN(test_secmem);
    SR_RUN(test_json_helpers);
    return sr_test_finish();
}

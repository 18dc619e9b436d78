/* Unit tests: types, dates, chunks, dictionaries, chunk encoding. */
#include "test.h"

#include <math.h>
#include <stdlib.h>

#include "sealroom/column.h"

static void test_type_names(void)
{
    sr_error err;
    sr_type t;
    CHECK_EQ_STR(sr_type_name(SR_TYPE_INT64), "int");
    CHECK_EQ_STR(sr_type_name(SR_TYPE_STRING), "string");
    CHECK_OK(sr_type_parse("double", &t, &err), &err);
    CHECK_EQ_INT(t, SR_TYPE_FLOAT64);
    CHECK_OK(sr_type_parse("boolean", &t, &err), &err);
    CHECK_EQ_INT(t, SR_TYPE_BOOL);
    CHECK_OK(sr_type_parse("str", &t, &err), &err);
    CHECK_EQ_INT(t, SR_TYPE_STRING);
    CHECK_EQ_INT(sr_type_parse("decimal", &t, &err), SR_EINVAL);
    CHECK_CONTAINS(err.msg, "decimal");
    sr_schema *s = calloc(1, sizeof *s);
    s->ncols = 2;
    strcpy(s->cols[0].name, "a");
    strcpy(s->cols[1].name, "bb");
    CHECK_EQ_INT(sr_schema_find(s, "bb"), 1);
    CHECK_EQ_INT(sr_schema_find(s, "b"), -1);
    free(s);
}

static void test_dates(void)
{
    int32_t d;
    char out[11];
    CHECK_OK(sr_date_parse("1970-01-01", 10, &d), &(sr_error){0});
    CHECK_EQ_INT(d, 0);
    CHECK(sr_date_parse("2000-03-01", 10, &d) == 0 && d == 11017);
    CHECK(sr_date_parse("1969-12-31", 10, &d) == 0 && d == -1);
    CHECK(sr_date_parse("2024-02-29", 10, &d) == 0);
    CHECK(sr_date_parse("2000-02-29", 10, &d) == 0);
    CHECK_EQ_INT(sr_date_parse("2023-02-29", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("1900-02-29", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023-04-31", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023-13-01", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023-00-01", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023-01-00", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("0000-01-01", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023-1-01", 9, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023/01/01", 10, &d), SR_EFORMAT);
    CHECK_EQ_INT(sr_date_parse("2023-01-0a", 10, &d), SR_EFORMAT);
    CHECK(sr_date_parse("0001-01-01", 10, &d) == 0 && d == SR_DATE_MIN);
    CHECK(sr_date_parse("9999-12-31", 10, &d) == 0 && d == SR_DATE_MAX);
    /* every day in a long range formats and parses back */
    int bad = 0;
    for (int32_t x = SR_DATE_MIN; x <= SR_DATE_MAX; x += 7) {
        sr_date_format(x, out);
        if (sr_date_parse(out, 10, &d) != 0 || d != x)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    sr_date_format(19782, out);
    CHECK_EQ_STR(out, "2024-02-29");
}

static void test_utf8(void)
{
    const char *ok[] = {"", "abc", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\x9f\xbf",
                        "\xf4\x8f\xbf\xbf"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK_EQ_INT(sr_utf8_check((const uint8_t *)ok[i], strlen(ok[i])), strlen(ok[i]));
    const char *bad[] = {"\xc0\xaf",         /* overlong '/' */
                         "\xe0\x80\xaf",     /* overlong */
                         "\xf0\x80\x80\xaf", /* overlong */
                         "\xed\xa0\x80",     /* surrogate D800 */
                         "\xed\xbf\xbf",     /* surrogate DFFF */
                         "\xf4\x90\x80\x80", /* > U+10FFFF */
                         "\xf5\x80\x80\x80", "\xff", "\x80", /* stray continuation */
                         "\xe2\x82",         /* truncated */
                         "\xc3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_EQ_INT(sr_utf8_check((const uint8_t *)bad[i], strlen(bad[i])), 0);
    CHECK_EQ_INT(sr_utf8_check((const uint8_t *)"ab\xe2\x82x", 5), 2);
}

static void fill_chunk(sr_chunk *c, sr_type t, size_t n, int with_nulls, sr_error *err)
{
    char s[32];
    for (size_t i = 0; i < n; i++) {
        if (with_nulls && i % 5 == 3) {
            CHECK_OK(sr_chunk_append_null(c, err), err);
            continue;
        }
        switch (t) {
        case SR_TYPE_INT64:
            CHECK_OK(sr_chunk_append_i64(c, (int64_t)(i * 2654435761u) - (1ll << 40), err), err);
            break;
        case SR_TYPE_FLOAT64:
            CHECK_OK(sr_chunk_append_f64(c, (double)i * 0.1 - 3.0, err), err);
            break;
        case SR_TYPE_BOOL:
            CHECK_OK(sr_chunk_append_bool(c, (int)(i % 3 == 0), err), err);
            break;
        case SR_TYPE_DATE:
            CHECK_OK(sr_chunk_append_date(c, (int32_t)(i * 37 % 40000) - 20000, err), err);
            break;
        case SR_TYPE_STRING:
            snprintf(s, sizeof s, "v%zu", i % 7 == 0 ? i : i % 11);
            CHECK_OK(sr_chunk_append_str(c, s, strlen(s), err), err);
            break;
        }
    }
}

static int chunks_equal(const sr_chunk *a, const sr_chunk *b)
{
    if (a->type != b->type || a->nrows != b->nrows || a->null_count != b->null_count)
        return 0;
    for (size_t i = 0; i < a->nrows; i++) {
        if (sr_chunk_is_null(a, i) != sr_chunk_is_null(b, i))
            return 0;
        if (sr_chunk_is_null(a, i))
            continue;
        switch (a->type) {
        case SR_TYPE_INT64:
            if (a->v.i64[i] != b->v.i64[i])
                return 0;
            break;
        case SR_TYPE_FLOAT64:
            if (memcmp(&a->v.f64[i], &b->v.f64[i], 8) != 0)
                return 0;
            break;
        case SR_TYPE_BOOL:
            if (a->v.b[i] != b->v.b[i])
                return 0;
            break;
        case SR_TYPE_DATE:
            if (a->v.date[i] != b->v.date[i])
                return 0;
            break;
        case SR_TYPE_STRING: {
            size_t na, nb;
            const char *pa = sr_chunk_str(a, i, &na), *pb = sr_chunk_str(b, i, &nb);
            if (na != nb || memcmp(pa, pb, na) != 0)
                return 0;
            break;
        }
        }
    }
    return 1;
}

/* Encodes a filled chunk of type t with n rows into enc (reset first). */
static void encode_filled(sr_type t, size_t n, int with_nulls, sr_buf *enc)
{
    sr_error err;
    sr_chunk c;
    CHECK_OK(sr_chunk_init(&c, t, n, 0, &err), &err);
    fill_chunk(&c, t, n, with_nulls, &err);
    sr_buf_reset(enc);
    CHECK_OK(sr_chunk_encode(&c, enc, &err), &err);
    sr_chunk_free(&c);
}

/* sr_chunk_decode_reuse: a run of chunks of changing types, sizes and null
 * bitmaps decoded into one chunk equals fresh decodes; storage is reused
 * only where type, secure flag and room allow, and rows past nrows are 0. */
static void test_decode_reuse(void)
{
    static const struct {
        sr_type t;
        size_t n;
        int nulls, secure, reused;
    } seq[] = {
        {SR_TYPE_INT64, 1000, 1, 1, 0},  /* from a zeroed chunk */
        {SR_TYPE_INT64, 500, 0, 1, 1},   /* smaller, no nulls: same storage */
        {SR_TYPE_INT64, 800, 1, 1, 1},   /* nulls again, still fits */
        {SR_TYPE_INT64, 1200, 0, 1, 0},  /* too big: new storage */
        {SR_TYPE_FLOAT64, 300, 1, 1, 0}, /* other type */
        {SR_TYPE_FLOAT64, 300, 0, 0, 0}, /* other secure flag */
        {SR_TYPE_STRING, 200, 1, 0, 0},  /* strings are never reused */
        {SR_TYPE_STRING, 100, 0, 0, 0},
        {SR_TYPE_DATE, 400, 1, 1, 0},
        {SR_TYPE_DATE, 399, 1, 1, 1},
        {SR_TYPE_BOOL, 64, 0, 1, 0},
        {SR_TYPE_BOOL, 1, 1, 1, 1},
    };
    sr_error err;
    sr_buf enc;
    sr_buf_init(&enc);
    sr_chunk r;
    memset(&r, 0, sizeof r);
    for (size_t k = 0; k < sizeof seq / sizeof seq[0]; k++) {
        encode_filled(seq[k].t, seq[k].n, seq[k].nulls, &enc);
        const void *before = r.v.i64;
        size_t used = 0;
        CHECK_OK(sr_chunk_decode_reuse(enc.data, enc.len, seq[k].t, seq[k].n, &r, &used, seq[k].secure, &err),
                 &err);
        CHECK_EQ_INT(used, enc.len);
        sr_chunk fresh;
        CHECK_OK(sr_chunk_decode(enc.data, enc.len, seq[k].t, seq[k].n, &fresh, NULL, seq[k].secure, &err), &err);
        CHECK_MSG(chunks_equal(&r, &fresh), "step %zu: reused decode differs from a fresh one", k);
        CHECK_MSG((r.v.i64 == before) == seq[k].reused, "step %zu: storage %s", k,
                  seq[k].reused ? "not reused" : "reused where it should not be");
        CHECK(r.cap >= r.nrows && r.secure == seq[k].secure);
        if (seq[k].t != SR_TYPE_STRING) {
            size_t w = seq[k].t == SR_TYPE_BOOL ? 1 : seq[k].t == SR_TYPE_DATE ? 4 : 8;
            const uint8_t *v = (const uint8_t *)r.v.i64;
            size_t dirty = 0;
            for (size_t i = r.nrows * w; i < r.cap * w; i++)
                dirty += v[i] != 0;
            CHECK_MSG(dirty == 0, "step %zu: %zu bytes past nrows not zero", k, dirty);
            for (size_t i = r.nrows; r.nulls != NULL && i < r.cap; i++)
                dirty += sr_chunk_is_null(&r, i);
            CHECK_MSG(dirty == 0, "step %zu: null bits past nrows", k);
        }
        sr_chunk_free(&fresh);
    }
    /* a corrupt chunk leaves the target freed */
    encode_filled(SR_TYPE_INT64, 10, 0, &enc);
    CHECK_EQ_INT(sr_chunk_decode_reuse(enc.data, enc.len - 1, SR_TYPE_INT64, 10, &r, NULL, 1, &err), SR_EFORMAT);
    CHECK(r.v.i64 == NULL && r.nrows == 0);
    sr_chunk_free(&r);
    sr_buf_free(&enc);
}

static void roundtrip(sr_type t, size_t n, int with_nulls, int secure)
{
    sr_error err;
    sr_chunk c, d;
    CHECK_OK(sr_chunk_init(&c, t, n, secure, &err), &err);
    fill_chunk(&c, t, n, with_nulls, &err);
    sr_buf enc;
    sr_buf_init(&enc);
    CHECK_OK(sr_buf_append(&enc, "x", 1, &err), &err); /* encode appends */
    CHECK_OK(sr_chunk_encode(&c, &enc, &err), &err);
    CHECK_OK(sr_buf_append(&enc, "trailer", 7, &err), &err);
    size_t used = 0;
    CHECK_OK(sr_chunk_decode(enc.data + 1, enc.len - 1, t, n, &d, &used, secure, &err), &err);
    CHECK_EQ_INT(used, enc.len - 8);
    CHECK_MSG(chunks_equal(&c, &d), "type %s n %zu nulls %d", sr_type_name(t), n, with_nulls);
    /* re-encoding the decoded chunk gives the same bytes */
    sr_buf enc2;
    sr_buf_init(&enc2);
    CHECK_OK(sr_chunk_encode(&d, &enc2, &err), &err);
    CHECK(enc2.len == used && memcmp(enc2.data, enc.data + 1, used) == 0);
    /* max_rows is enforced */
    if (n > 0) {
        sr_chunk e;
        CHECK_EQ_INT(sr_chunk_decode(enc.data + 1, enc.len - 1, t, n - 1, &e, NULL, 0, &err),
                     SR_EFORMAT);
        CHECK_CONTAINS(err.msg, "exceeds");
    }
    /* expect checks the type */
    sr_chunk e;
    sr_type other = t == SR_TYPE_INT64 ? SR_TYPE_STRING : SR_TYPE_INT64;
    CHECK_EQ_INT(sr_chunk_decode(enc.data + 1, enc.len - 1, other, n, &e, NULL, 0, &err), SR_EFORMAT);
    /* every truncation point fails cleanly */
    int bad = 0;
    for (size_t cut = 0; cut < used; cut++) {
        sr_chunk x;
        int rc = sr_chunk_decode(enc.data + 1, cut, t, n, &x, NULL, 0, &err);
        if (rc != SR_EFORMAT)
            bad++;
        if (rc == SR_OK)
            sr_chunk_free(&x);
    }
    CHECK_EQ_INT(bad, 0);
    sr_buf_free(&enc);
    sr_buf_free(&enc2);
    sr_chunk_free(&c);
    sr_chunk_free(&d);
}

static void test_chunk_roundtrip_all_types(void)
{
    sr_type types[] = {SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_BOOL, SR_TYPE_DATE, SR_TYPE_STRING};
    for (size_t k = 0; k < 5; k++) {
        roundtrip(types[k], 0, 0, 0);
        roundtrip(types[k], 1, 0, 0);
        roundtrip(types[k], 37, 0, 0);
        roundtrip(types[k], 37, 1, 0);
        roundtrip(types[k], 64, 1, 1);
    }
}

static void test_chunk_all_null_and_empty_string(void)
{
    sr_error err;
    sr_chunk c, d;
    CHECK_OK(sr_chunk_init(&c, SR_TYPE_STRING, 4, 0, &err), &err);
    CHECK_OK(sr_chunk_append_null(&c, &err), &err);
    CHECK_OK(sr_chunk_append_str(&c, "", 0, &err), &err);
    CHECK_OK(sr_chunk_append_null(&c, &err), &err);
    CHECK_OK(sr_chunk_append_str(&c, "", 0, &err), &err);
    CHECK_EQ_INT(c.dict_count, 1);
    CHECK_EQ_INT(sr_chunk_append_str(&c, "x", 1, &err), SR_ELIMIT); /* full */
    sr_buf enc = {0};
    CHECK_OK(sr_chunk_encode(&c, &enc, &err), &err);
    CHECK_OK(sr_chunk_decode(enc.data, enc.len, SR_TYPE_STRING, 4, &d, NULL, 0, &err), &err);
    CHECK(chunks_equal(&c, &d));
    CHECK(sr_chunk_is_null(&d, 0) && !sr_chunk_is_null(&d, 1));
    sr_chunk_free(&d);
    sr_buf_free(&enc);
    sr_chunk_free(&c);
    /* all-null int chunk */
    CHECK_OK(sr_chunk_init(&c, SR_TYPE_INT64, 3, 0, &err), &err);
    for (int i = 0; i < 3; i++)
        CHECK_OK(sr_chunk_append_null(&c, &err), &err);
    CHECK_OK(sr_chunk_encode(&c, &enc, &err), &err);
    CHECK_OK(sr_chunk_decode(enc.data, enc.len, 0, 3, &d, NULL, 0, &err), &err);
    CHECK(d.null_count == 3 && chunks_equal(&c, &d));
    sr_chunk_free(&d);
    sr_buf_free(&enc);
    sr_chunk_free(&c);
}

static void test_large_dictionary(void)
{
    sr_error err;
    sr_chunk c, d;
    size_t n = 70000; /* > 65536 distinct values: 4-byte codes */
    CHECK_OK(sr_chunk_init(&c, SR_TYPE_STRING, n, 0, &err), &err);
    char s[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(s, sizeof s, "acct-%06zu", (i * 7919) % 69000);
        CHECK(sr_chunk_append_str(&c, s, strlen(s), NULL) == 0);
    }
    CHECK_EQ_INT(c.dict_count, 69000);
    size_t len;
    const char *p = sr_chunk_str(&c, 1, &len);
    CHECK(len == 11 && memcmp(p, "acct-007919", 11) == 0);
    sr_buf enc = {0};
    CHECK_OK(sr_chunk_encode(&c, &enc, &err), &err);
    CHECK_EQ_INT(enc.data[2], 4);
    CHECK_OK(sr_chunk_decode(enc.data, enc.len, SR_TYPE_STRING, n, &d, NULL, 0, &err), &err);
    CHECK(chunks_equal(&c, &d));
    /* appending to a decoded chunk reuses its dictionary */
    sr_chunk_free(&d);
    sr_buf_free(&enc);
    /* medium dictionary: 2-byte codes */
    sr_chunk_reset(&c);
    CHECK_EQ_INT(c.nrows, 0);
    CHECK_EQ_INT(c.dict_count, 0);
    for (size_t i = 0; i < 1000; i++) {
        snprintf(s, sizeof s, "m%zu", i % 300);
        CHECK(sr_chunk_append_str(&c, s, strlen(s), NULL) == 0);
    }
    CHECK_EQ_INT(c.dict_count, 300);
    CHECK_OK(sr_chunk_encode(&c, &enc, &err), &err);
    CHECK_EQ_INT(enc.data[2], 2);
    CHECK_OK(sr_chunk_decode(enc.data, enc.len, SR_TYPE_STRING, n, &d, NULL, 0, &err), &err);
    CHECK(chunks_equal(&c, &d));
    sr_chunk_free(&d);
    sr_buf_free(&enc);
    sr_chunk_free(&c);
}

/* Decodes bytes expected to be rejected; returns the message. */
static int rejects(const uint8_t *p, size_t n, sr_type t, const char *needle)
{
    sr_error err;
    sr_chunk d;
    int rc = sr_chunk_decode(p, n, t, 1000, &d, NULL, 0, &err);
    if (rc == SR_OK) {
        sr_chunk_free(&d);
        return 0;
    }
    if (rc != SR_EFORMAT || strstr(err.msg, needle) == NULL) {
        fprintf(stderr, "message: %s\n", err.msg);
        return 0;
    }
    return 1;
}

static void test_decode_rejects_corruption(void)
{
    sr_error err;
    sr_chunk c;
    CHECK_OK(sr_chunk_init(&c, SR_TYPE_STRING, 8, 0, &err), &err);
    CHECK_OK(sr_chunk_append_str(&c, "ab", 2, &err), &err);
    CHECK_OK(sr_chunk_append_null(&c, &err), &err);
    CHECK_OK(sr_chunk_append_str(&c, "cde", 3, &err), &err);
    CHECK_OK(sr_chunk_append_str(&c, "ab", 2, &err), &err);
    sr_buf enc = {0};
    CHECK_OK(sr_chunk_encode(&c, &enc, &err), &err);
    /* layout: hdr(8) bitmap(1) count(4) offs(12) bytes(5) codes(4) = 34 */
    CHECK_EQ_INT(enc.len, 34);
    uint8_t b[64];
    memcpy(b, enc.data, enc.len);
    CHECK(rejects(b, 34, SR_TYPE_STRING, "") == 0); /* the original is fine */
    b[0] = 9;
    CHECK(rejects(b, 34, 0, "unknown type"));
    memcpy(b, enc.data, 34);
    b[1] = 3;
    CHECK(rejects(b, 34, SR_TYPE_STRING, "flags"));
    memcpy(b, enc.data, 34);
    b[4] = 200; /* nrows 200: bitmap too short / truncated */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "corrupt"));
    memcpy(b, enc.data, 34);
    b[8] = 0x06; /* null bits for a non-null row whose code is nonzero */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "null row"));
    memcpy(b, enc.data, 34);
    b[8] = 0x12; /* bit past the last row */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "past the last row"));
    memcpy(b, enc.data, 34);
    b[9] = 0xff; /* dictionary count huge */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "dictionary"));
    memcpy(b, enc.data, 34);
    b[9] = 3; /* count 3 > rows? no, 3 <= 4 but offsets/bytes now misread */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "corrupt"));
    memcpy(b, enc.data, 34);
    b[17] = 1; /* offsets[1] = 1 then offsets[2]=5 fine, but make it out of order */
    b[17] = 9;
    CHECK(rejects(b, 34, SR_TYPE_STRING, "offsets"));
    memcpy(b, enc.data, 34);
    b[21] = 0xff; /* last offset beyond input */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "truncated dictionary bytes"));
    memcpy(b, enc.data, 34);
    b[25] = 0xc0; /* invalid UTF-8 in dictionary */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "UTF-8"));
    memcpy(b, enc.data, 34);
    b[32] = 2; /* code out of range */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "out of range"));
    memcpy(b, enc.data, 34);
    b[2] = 2; /* wrong code width */
    CHECK(rejects(b, 34, SR_TYPE_STRING, "width"));
    memcpy(b, enc.data, 34);
    memcpy(b + 27, "ab", 2); /* "cde" -> "abe"? make entry 1 equal entry 0: */
    b[21] = 4;               /* offsets 0,2,4: "ab","ab" */
    CHECK(rejects(b, 33, SR_TYPE_STRING, "corrupt"));
    sr_buf_free(&enc);
    sr_chunk_free(&c);

    /* duplicate dictionary entries, built by hand */
    uint8_t dup[] = {5, 0, 1, 0, 2, 0, 0, 0, /* string, 2 rows, width 1 */
                     2, 0, 0, 0,             /* 2 entries */
                     0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 'a', 'a', 0, 1};
    CHECK(rejects(dup, sizeof dup, SR_TYPE_STRING, "duplicate"));
    /* each entry must be valid UTF-8 on its own ("a\xc3" + "\xa9") */
    uint8_t split[] = {5, 0, 1, 0, 2, 0, 0, 0, 2, 0, 0, 0,
                       0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 'a', 0xc3, 0xa9, 0, 1};
    CHECK(rejects(split, sizeof split, SR_TYPE_STRING, "UTF-8"));
    /* bool values must be 0 or 1 */
    uint8_t bl[] = {3, 0, 0, 0, 2, 0, 0, 0, 1, 2};
    CHECK(rejects(bl, sizeof bl, SR_TYPE_BOOL, "bool value"));
    /* date out of range */
    uint8_t dt[] = {4, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f};
    CHECK(rejects(dt, sizeof dt, SR_TYPE_DATE, "date outside"));
    /* bitmap present but no nulls */
    uint8_t bm[] = {3, 1, 0, 0, 1, 0, 0, 0, 0, 1};
    CHECK(rejects(bm, sizeof bm, SR_TYPE_BOOL, "empty"));
    /* width on a non-string chunk */
    uint8_t wd[] = {3, 0, 1, 0, 1, 0, 0, 0, 1};
    CHECK(rejects(wd, sizeof wd, SR_TYPE_BOOL, "width"));
    /* row count above SR_CHUNK_MAX_ROWS even with a large max_rows */
    uint8_t big[] = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    sr_chunk d;
    CHECK_EQ_INT(sr_chunk_decode(big, sizeof big, 0, SIZE_MAX, &d, NULL, 0, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_chunk_decode(NULL, 0, 0, 10, &d, NULL, 0, &err), SR_EFORMAT);
}

static void test_append_type_checks(void)
{
    sr_error err;
    sr_chunk c;
    CHECK_OK(sr_chunk_init(&c, SR_TYPE_INT64, 2, 0, &err), &err);
    CHECK_EQ_INT(sr_chunk_append_f64(&c, 1.0, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_chunk_append_str(&c, "a", 1, &err), SR_EINVAL);
    CHECK_OK(sr_chunk_append_i64(&c, 5, &err), &err);
    CHECK_OK(sr_chunk_append_i64(&c, 6, &err), &err);
    CHECK_EQ_INT(sr_chunk_append_i64(&c, 7, &err), SR_ELIMIT);
    sr_chunk_reset(&c);
    CHECK_OK(sr_chunk_append_i64(&c, 8, &err), &err);
    CHECK_EQ_INT(c.v.i64[0], 8);
    sr_chunk_free(&c);
    CHECK_EQ_INT(sr_chunk_init(&c, (sr_type)9, 2, 0, &err), SR_EINVAL);
    CHECK_OK(sr_chunk_init(&c, SR_TYPE_DATE, 2, 0, &err), &err);
    CHECK_EQ_INT(sr_chunk_append_date(&c, SR_DATE_MAX + 1, &err), SR_EINVAL);
    sr_chunk_free(&c);
    /* batch */
    sr_schema *s = calloc(1, sizeof *s);
    s->ncols = 2;
    strcpy(s->cols[0].name, "a");
    s->cols[0].type = SR_TYPE_INT64;
    strcpy(s->cols[1].name, "b");
    s->cols[1].type = SR_TYPE_STRING;
    sr_batch b;
    CHECK_OK(sr_batch_init(&b, s, 10, 1, &err), &err);
    CHECK(b.ncols == 2 && b.cols[1].type == SR_TYPE_STRING && b.cols[1].secure);
    CHECK_OK(sr_chunk_append_str(&b.cols[1], "secret", 6, &err), &err);
    sr_batch_reset(&b);
    CHECK_EQ_INT(b.cols[1].nrows, 0);
    sr_batch_free(&b);
    s->cols[1].type = (sr_type)0;
    CHECK_EQ_INT(sr_batch_init(&b, s, 10, 0, &err), SR_EINVAL);
    CHECK_CONTAINS(err.msg, "column 2 (b)");
    free(s);
}

int main(void)
{
    SR_RUN(test_type_names);
    SR_RUN(test_dates);
    SR_RUN(test_utf8);
    SR_RUN(test_chunk_roundtrip_all_types);
    SR_RUN(test_chunk_all_null_and_empty_string);
    SR_RUN(test_large_dictionary);
    SR_RUN(test_decode_rejects_corruption);
    SR_RUN(test_decode_reuse);
    SR_RUN(test_append_type_checks);
    return sr_test_finish();
}

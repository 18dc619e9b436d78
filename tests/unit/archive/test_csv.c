/* Unit tests: CSV reader (sequential and block-parallel), value parsing,
 * schema inference, writer round trip, bounded memory. */
#include "test.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "sealroom/csv.h"

static sr_schema *schema_of(const char *spec)
{
    /* spec: "name:type,name:type" */
    sr_schema *s = calloc(1, sizeof *s);
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *tokp = strtok(buf, ","); tokp != NULL; tokp = strtok(NULL, ",")) {
        char *colon = strchr(tokp, ':');
        *colon = '\0';
        snprintf(s->cols[s->ncols].name, SR_MAX_NAME, "%s", tokp);
        sr_error err;
        if (sr_type_parse(colon + 1, &s->cols[s->ncols].type, &err) != 0)
            abort();
        s->ncols++;
    }
    return s;
}

/* Parses text with schema spec into one batch; returns status, fills err. */
static int parse_all(const char *text, size_t len, const char *spec, sr_batch *b, sr_error *err)
{
    sr_schema *s = schema_of(spec);
    int rc = -1;
    sr_csv_reader *r = sr_csv_open_mem(text, len, err);
    if (r == NULL) {
        free(s);
        return err->code;
    }
    if ((rc = sr_csv_check_header(r, s, err)) == 0 && (rc = sr_batch_init(b, s, 100, 0, err)) == 0) {
        rc = sr_csv_read_batch(r, s, b, err);
        if (rc != 0)
            sr_batch_free(b);
    }
    sr_csv_close(r);
    free(s);
    return rc;
}

static int str_is(const sr_chunk *c, size_t i, const char *want)
{
    size_t n;
    const char *p = sr_chunk_str(c, i, &n);
    return !sr_chunk_is_null(c, i) && n == strlen(want) && memcmp(p, want, n) == 0;
}

static void test_quoting_and_line_endings(void)
{
    sr_error err;
    sr_batch b;
    const char *t = "id,name,note\r\n"
                    "1,\"Smith, John\",\"said \"\"hi\"\"\"\r\n"
                    "2,plain,\"two\nlines\"\n"
                    "3,,\"\"\r\n"
                    "4,\"\xc3\xa9t\xc3\xa9\",last";
    CHECK_OK(parse_all(t, strlen(t), "id:int,name:string,note:string", &b, &err), &err);
    CHECK_EQ_INT(b.nrows, 4);
    CHECK_EQ_INT(b.cols[0].v.i64[3], 4);
    CHECK(str_is(&b.cols[1], 0, "Smith, John"));
    CHECK(str_is(&b.cols[2], 0, "said \"hi\""));
    CHECK(str_is(&b.cols[2], 1, "two\nlines"));
    CHECK(sr_chunk_is_null(&b.cols[1], 2));      /* empty = NULL */
    CHECK(str_is(&b.cols[2], 2, ""));            /* "" = empty string */
    CHECK(str_is(&b.cols[1], 3, "\xc3\xa9t\xc3\xa9"));
    CHECK(str_is(&b.cols[2], 3, "last"));        /* no final newline */
    CHECK_EQ_INT(b.cols[1].null_count, 1);
    sr_batch_free(&b);
    /* a BOM is skipped; trailing empty field is NULL */
    const char *t2 = "\xEF\xBB\xBFx,y\n1,\n";
    CHECK_OK(parse_all(t2, strlen(t2), "x:int,y:float", &b, &err), &err);
    CHECK(b.nrows == 1 && sr_chunk_is_null(&b.cols[1], 0) && !sr_chunk_is_null(&b.cols[0], 0));
    sr_batch_free(&b);
}

static void expect_error(const char *text, const char *spec, const char *needle)
{
    sr_error err;
    sr_batch b;
    int rc = parse_all(text, strlen(text), spec, &b, &err);
    CHECK_MSG(rc == SR_EFORMAT, "rc %d for %s", rc, text);
    if (rc == 0)
        sr_batch_free(&b);
    else
        CHECK_CONTAINS(err.msg, needle);
}

static void test_errors_name_line_and_column(void)
{
    expect_error("a,b\n1,2\n3\n", "a:int,b:int", "line 3, column 2 (b): missing field");
    expect_error("a,b\n1,2,3\n", "a:int,b:int", "line 2, column 3: extra field");
    expect_error("a,b\n1,2\n\n", "a:int,b:int", "line 3, column 2 (b): missing field");
    expect_error("a,b\n1,x\"y\n", "a:int,b:string", "line 2, column 2 (b): quote inside an unquoted");
    expect_error("a,b\n1,\"xy\"z\n", "a:int,b:string", "after the closing quote");
    expect_error("a,b\n1,\"xy\n", "a:int,b:string", "line 2, column 2 (b): unterminated quoted field");
    expect_error("a,b\n1,x\ry\n", "a:int,b:string", "carriage return");
    expect_error("a,b\n1,2\n1x,3\n", "a:int,b:int", "line 3, column 1 (a): not an integer: \"1x\"");
    expect_error("a\n9223372036854775808\n", "a:int", "line 2, column 1 (a): integer out of range");
    expect_error("a\n-9223372036854775809\n", "a:int", "integer out of range");
    expect_error("a\n99999999999999999999999\n", "a:int", "integer out of range");
    expect_error("a\n1e999\n", "a:float", "number out of range");
    expect_error("a\nnan\n", "a:float", "not a number");
    expect_error("a\n 1.5\n", "a:float", "not a number");
    expect_error("a\nyes\n", "a:bool", "not a bool");
    expect_error("d\n2024-02-29\n2023-02-29\n", "d:date", "line 3, column 1 (d): not a date (YYYY-MM-DD): \"2023-02-29\"");
    /* invalid UTF-8: overlong, surrogate, truncated (at end of field and of input), stray */
    expect_error("s\n\xc0\xaf\n", "s:string", "line 2, column 1 (s): invalid UTF-8");
    expect_error("s\nab\xed\xa0\x80z\n", "s:string", "invalid UTF-8");
    expect_error("s,t\n\xe2\x82,x\n", "s:string,t:string", "line 2, column 1 (s): invalid UTF-8");
    expect_error("s\n\"ok\xe2\x82\"\n", "s:string", "invalid UTF-8");
    expect_error("s\nab\xf0\x9f", "s:string", "invalid UTF-8");
    expect_error("s\n\x80\n", "s:string", "invalid UTF-8");
    /* the line number counts newlines inside quoted fields */
    expect_error("a,b\n1,\"x\ny\nz\"\n2,\"w\"\n3x,q\n", "a:int,b:string", "line 6, column 1 (a)");

    sr_error err;
    sr_batch b;
    const char nul[] = "s\na\0b\n";
    CHECK_EQ_INT(parse_all(nul, sizeof nul - 1, "s:string", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "NUL");
    /* header problems */
    CHECK_EQ_INT(parse_all("", 0, "a:int", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "no header");
    CHECK_EQ_INT(parse_all("a,b\n", 4, "a:int,c:int", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "header column 2 is \"b\", the schema expects \"c\"");
    CHECK_EQ_INT(parse_all("a,b\n", 4, "a:int", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "header has 2 columns");
    CHECK_EQ_INT(parse_all("a,a\n", 4, "a:int,b:int", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "duplicate column name");
    CHECK_EQ_INT(parse_all("a,,b\n", 5, "a:int", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "empty");
    /* a 128-byte name is too long; 1025 columns are too many */
    char hdr[8192];
    memset(hdr, 'n', 128);
    hdr[128] = '\n';
    CHECK_EQ_INT(parse_all(hdr, 129, "a:int", &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "longer than 127 bytes");
    size_t o = 0;
    for (int i = 0; i <= SR_MAX_COLUMNS; i++)
        o += (size_t)snprintf(hdr + o, sizeof hdr - o, "%sc%d", i ? "," : "", i);
    hdr[o++] = '\n';
    CHECK_EQ_INT(parse_all(hdr, o, "a:int", &b, &err), SR_ELIMIT);
    CHECK_CONTAINS(err.msg, "more than 1024 columns");
    /* the reader names the file in open errors */
    sr_csv_reader *r = sr_csv_open("no/such/file.csv", &err);
    CHECK(r == NULL && err.code == SR_EIO);
    CHECK_CONTAINS(err.msg, "no/such/file.csv");
}

static void test_value_parsers(void)
{
    int64_t v;
    CHECK(sr_csv_parse_int("-9223372036854775808", 20, &v) == 0 && v == INT64_MIN);
    CHECK(sr_csv_parse_int("9223372036854775807", 19, &v) == 0 && v == INT64_MAX);
    CHECK(sr_csv_parse_int("+42", 3, &v) == 0 && v == 42);
    CHECK_EQ_INT(sr_csv_parse_int("-", 1, &v), SR_EFORMAT);
    CHECK_EQ_INT(sr_csv_parse_int("1.0", 3, &v), SR_EFORMAT);
    CHECK_EQ_INT(sr_csv_parse_int("18446744073709551616", 20, &v), SR_ELIMIT);
    int bv;
    CHECK(sr_csv_parse_bool("TRUE", 4, &bv) == 0 && bv == 1);
    CHECK(sr_csv_parse_bool("False", 5, &bv) == 0 && bv == 0);
    CHECK(sr_csv_parse_bool("1", 1, &bv) == 0 && bv == 1);
    CHECK_EQ_INT(sr_csv_parse_bool("t", 1, &bv), SR_EFORMAT);
    /* the fast float path agrees with strtod bit for bit */
    const char *fl[] = {"0.1",   "1.5",      "-0.0",  "123456.789", "1e22", "1e23",   "4.9e-324",
                        ".5",    "5.",       "+2.25", "0.000001",   "1E-5", "99999999999999999",
                        "1.7976931348623157e308", "2.2250738585072014e-308",
                        "0.30000000000000004", "123456789012345678901234567890"};
    int bad = 0;
    for (size_t i = 0; i < sizeof fl / sizeof fl[0]; i++) {
        double d, want = strtod(fl[i], NULL);
        if (sr_csv_parse_float(fl[i], strlen(fl[i]), &d) != 0 || memcmp(&d, &want, 8) != 0) {
            fprintf(stderr, "float %s\n", fl[i]);
            bad++;
        }
    }
    /* random decimals with 2 and 6 places */
    srand(7);
    char tmp[64];
    for (int i = 0; i < 200000; i++) {
        snprintf(tmp, sizeof tmp, "%d.%0*d", rand() % 100000 - 50000, i & 1 ? 2 : 6,
                 rand() % (i & 1 ? 100 : 1000000));
        double d, want = strtod(tmp, NULL);
        if (sr_csv_parse_float(tmp, strlen(tmp), &d) != 0 || memcmp(&d, &want, 8) != 0)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    double d;
    const char *nf[] = {"", ".", "-", "e5", "1e", "1e+", "inf", "NaN", "0x10", "1.2.3", "1,5", "1 "};
    for (size_t i = 0; i < sizeof nf / sizeof nf[0]; i++)
        CHECK_MSG(sr_csv_parse_float(nf[i], strlen(nf[i]), &d) == SR_EFORMAT, "%s", nf[i]);
    /* shortest round-trip formatting */
    char out[32];
    sr_csv_format_float(0.1, out);
    CHECK_EQ_STR(out, "0.1");
    sr_csv_format_float(1.5, out);
    CHECK_EQ_STR(out, "1.5");
    sr_csv_format_float(0.1 + 0.2, out);
    CHECK_EQ_STR(out, "0.30000000000000004");
    sr_csv_format_float(-0.0, out);
    CHECK_EQ_STR(out, "-0");
    sr_csv_format_float(1e100, out);
    CHECK_EQ_STR(out, "1e+100");
    /* edges of the fast path, against the plain definition */
    const double edge[] = {0.0001, 0.00012, 0.00001, 1e-5, 123456789012345.0, 999999999999999.0,
                           1e15, 1234567890123456.0, 0.5, -0.5, 100.0, -100.25, 1e14 + 0.5,
                           12345678901.234567, 0.000123456, 3.0e-4, 9.999999e-5, 0.1 + 0.7, 2.5e-7,
                           -999999.999999, 4503599627370496.5, 0.0, 5e-324};
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        char ref[32];
        for (int k = 15; k <= 17; k++) {
            snprintf(ref, sizeof ref, "%.*g", k, edge[i]);
            double rb = strtod(ref, NULL);
            if (memcmp(&rb, &edge[i], 8) == 0)
                break;
        }
        sr_csv_format_float(edge[i], out);
        CHECK_EQ_STR(out, ref);
    }
}

/* Random doubles: the shortest text parses back to the same bits, through
 * both the fast path and strtod. */
static void test_float_text_round_trip(void)
{
    uint64_t x = 88172645463325252ull;
    int bad = 0;
    char out[32];
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        if (i % 2) {
            memcpy(&v, &x, 8); /* any bit pattern */
            if (!isfinite(v))
                continue;
        } else {
            int64_t k = (int64_t)(x % 2000000000) - 1000000000;
            static const double scale[8] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7};
            v = (double)k / scale[(x >> 40) % 8]; /* 0..7 decimals, incl. small values */
            if (i % 4 == 0)
                v = (double)((int64_t)(x % 2000000) - 1000000) / 100.0; /* 2-decimal amounts */
        }
        sr_csv_format_float(v, out);
        /* the same text as the plain definition: first of %.15g/%.16g/%.17g
         * that reads back */
        char ref[32];
        for (int k = 15; k <= 17; k++) {
            snprintf(ref, sizeof ref, "%.*g", k, v);
            double rb = strtod(ref, NULL);
            if (memcmp(&rb, &v, 8) == 0)
                break;
        }
        if (strcmp(ref, out) != 0 && bad++ < 5)
            fprintf(stderr, "format %s, reference %s\n", out, ref);
        double back;
        if (sr_csv_parse_float(out, strlen(out), &back) != 0 || memcmp(&back, &v, 8) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "float text %s\n", out);
        }
        if (i % 4 == 0 && strlen(out) > 9)
            bad++; /* amounts print short: at most "-10000.00" */
    }
    CHECK_EQ_INT(bad, 0);
}

/* A batch smaller than the block: the block is consumed over several calls;
 * secure batches work the same. */
static void test_block_partial_and_secure(void)
{
    sr_error err;
    const char *t = "a,b\n1,x\n2,\"y\ny\"\n3,z\n4,\n5,x\n";
    sr_schema *s = schema_of("a:int,b:string");
    sr_csv_reader *r = sr_csv_open_mem(t, strlen(t), &err);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    sr_csv_block blk;
    sr_csv_block_init(&blk);
    CHECK_OK(sr_csv_read_block(r, 100, &blk, &err), &err);
    CHECK_EQ_INT(blk.nrecords, 5);
    CHECK_EQ_INT(blk.first_line, 2);
    sr_batch b;
    CHECK_OK(sr_batch_init(&b, s, 2, 1, &err), &err);
    int64_t sum = 0;
    size_t calls = 0, nulls = 0;
    for (;;) {
        CHECK_OK(sr_csv_parse_block(&blk, s, &b, &err), &err);
        if (b.nrows == 0)
            break;
        calls++;
        for (size_t i = 0; i < b.nrows; i++)
            sum += b.cols[0].v.i64[i];
        nulls += b.cols[1].null_count;
        CHECK(b.cols[1].secure);
    }
    CHECK_EQ_INT(calls, 3);
    CHECK_EQ_INT(sum, 15);
    CHECK_EQ_INT(nulls, 1);
    CHECK_EQ_INT(blk.line, 8);
    CHECK_OK(sr_csv_read_block(r, 100, &blk, &err), &err);
    CHECK_EQ_INT(blk.len, 0);
    CHECK_EQ_INT(sr_csv_read_block(r, 0, &blk, &err), SR_EINVAL);
    /* mismatched batch and schema */
    sr_schema *s2 = schema_of("a:int,b:int");
    CHECK_EQ_INT(sr_csv_parse_block(&blk, s2, &b, &err), SR_EINVAL);
    free(s2);
    sr_batch b0;
    CHECK_OK(sr_batch_init(&b0, s, 0, 0, &err), &err);
    CHECK_EQ_INT(sr_csv_parse_block(&blk, s, &b0, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_csv_read_batch(r, s, &b0, &err), SR_EINVAL);
    sr_batch_free(&b0);
    sr_batch_free(&b);
    sr_csv_block_free(&blk);
    sr_csv_close(r);
    free(s);
}

static void test_inference(void)
{
    sr_error err;
    const char *t = "i,f,b,d,s,e,mixed,n\n"
                    "1,1.5,true,2024-01-31,x,,1,-3\n"
                    "-2,2,FALSE,1999-12-31,\"y,z\",,true,\n"
                    ",,,,,,,7\n";
    sr_csv_reader *r = sr_csv_open_mem(t, strlen(t), &err);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_EQ_INT(sr_csv_ncols(r), 8);
    CHECK_EQ_STR(sr_csv_colname(r, 6), "mixed");
    sr_schema *s = calloc(1, sizeof *s);
    CHECK_OK(sr_csv_infer_schema(r, s, &err), &err);
    sr_type want[] = {SR_TYPE_INT64, SR_TYPE_FLOAT64, SR_TYPE_BOOL,   SR_TYPE_DATE,
                      SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_STRING, SR_TYPE_INT64};
    for (int j = 0; j < 8; j++)
        CHECK_MSG(s->cols[j].type == want[j], "column %d: %s", j, sr_type_name(s->cols[j].type));
    /* after inference the reader is back at the first data row */
    CHECK_EQ_INT(sr_csv_line(r), 2);
    sr_batch b;
    CHECK_OK(sr_batch_init(&b, s, 10, 0, &err), &err);
    CHECK_OK(sr_csv_read_batch(r, s, &b, &err), &err);
    CHECK_EQ_INT(b.nrows, 3);
    CHECK(b.cols[2].v.b[0] == 1 && b.cols[2].v.b[1] == 0);
    CHECK(str_is(&b.cols[4], 1, "y,z"));
    CHECK_OK(sr_csv_read_batch(r, s, &b, &err), &err);
    CHECK_EQ_INT(b.nrows, 0);
    sr_batch_free(&b);
    sr_csv_close(r);
    /* inference reports malformed input */
    const char *t2 = "a,b\n1,2\n3\n";
    r = sr_csv_open_mem(t2, strlen(t2), &err);
    CHECK_EQ_INT(sr_csv_infer_schema(r, s, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "line 3");
    sr_csv_close(r);
    free(s);
}

/* Canonical CSV with every type and nulls reads and writes back to the
 * identical text. */
static void test_writer_round_trip(void)
{
    sr_error err;
    const char *t = "id,amount,ok,day,who\n"
                    "1,1.5,true,2024-02-29,alice\n"
                    "-7,0.1,false,1970-01-01,\"b,ob\"\n"
                    ",,,,\n"
                    "9223372036854775807,-0.30000000000000004,true,9999-12-31,\"say \"\"x\"\"\"\n"
                    "0,1e+100,false,0001-01-01,\"\"\n"
                    "42,-2,,2000-01-01,\"multi\nline\"\n"
                    "3,123456.78,true,,\xe2\x82\xac\n";
    sr_schema *s = schema_of("id:int,amount:float,ok:bool,day:date,who:string");
    sr_csv_reader *r = sr_csv_open_mem(t, strlen(t), &err);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_OK(sr_csv_check_header(r, s, &err), &err);
    sr_batch b;
    CHECK_OK(sr_batch_init(&b, s, 3, 0, &err), &err); /* several batches */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    CHECK_OK(sr_csv_write_header(f, s, &err), &err);
    int batches = 0;
    for (;;) {
        int rc = sr_csv_read_batch(r, s, &b, &err);
        CHECK_OK(rc, &err);
        if (b.nrows == 0 || rc != 0)
            break;
        batches++;
        CHECK_OK(sr_csv_write_batch(f, s, &b, &err), &err);
    }
    fclose(f);
    CHECK_EQ_INT(batches, 3);
    CHECK_EQ_STR(out, t);
    free(out);
    sr_batch_free(&b);
    sr_csv_close(r);
    free(s);
}

/* A first column whose name itself starts with the bytes of a byte order
 * mark (after the file's own BOM) must survive a write and a read: the
 * writer quotes it, so the reader does not strip it as the file's BOM. */
static void test_writer_keeps_bom_in_first_name(void)
{
    sr_error err;
    const char t[] = "\xEF\xBB\xBF\xEF\xBB\xBFx,y\n1,2\n";
    sr_csv_reader *r = sr_csv_open_mem(t, sizeof t - 1, &err);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    sr_schema s;
    CHECK_OK(sr_csv_infer_schema(r, &s, &err), &err);
    sr_csv_close(r);
    CHECK_EQ_INT((int)s.ncols, 2);
    CHECK_EQ_STR(s.cols[0].name, "\xEF\xBB\xBFx");
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    CHECK_OK(sr_csv_write_header(f, &s, &err), &err);
    fclose(f);
    CHECK_EQ_STR(out, "\"\xEF\xBB\xBFx\",y\n");
    r = sr_csv_open_mem(out, outlen, &err);
    CHECK(r != NULL);
    sr_schema back;
    if (r != NULL) {
        CHECK_OK(sr_csv_infer_schema(r, &back, &err), &err);
        CHECK_EQ_STR(back.cols[0].name, "\xEF\xBB\xBFx");
        sr_csv_close(r);
    }
    free(out);
}

/* Writes a CSV file with quoted newlines and escapes; returns its size. */
static size_t write_test_file(const char *path, size_t rows)
{
    FILE *f = fopen(path, "w");
    fputs("id,amount,flag,day,cat,note\n", f);
    for (size_t i = 0; i < rows; i++) {
        if (i % 97 == 5)
            fprintf(f, "%zu,,,,,\n", i);
        else if (i % 13 == 0)
            fprintf(f, "%zu,%zu.%02zu,%s,2020-%02zu-%02zu,c%zu,\"multi\nline \"\"%zu\"\"\"\r\n", i, i % 1000,
                    i % 100, i % 2 ? "true" : "false", i % 12 + 1, i % 28 + 1, i % 20, i);
        else
            fprintf(f, "%zu,%zu.%02zu,%s,2020-%02zu-%02zu,c%zu,note %zu\n", i, i % 1000, i % 100,
                    i % 3 ? "true" : "false", i % 12 + 1, i % 28 + 1, i % 20, i % 5000);
    }
    long size = ftell(f);
    fclose(f);
    return (size_t)size;
}

static int batches_equal(const sr_batch *a, const sr_batch *b)
{
    if (a->nrows != b->nrows || a->ncols != b->ncols)
        return 0;
    for (size_t j = 0; j < a->ncols; j++) {
        const sr_chunk *x = &a->cols[j], *y = &b->cols[j];
        if (x->null_count != y->null_count)
            return 0;
        for (size_t i = 0; i < a->nrows; i++) {
            if (sr_chunk_is_null(x, i) != sr_chunk_is_null(y, i))
                return 0;
            if (x->type == SR_TYPE_STRING) {
                size_t n1, n2;
                const char *p1 = sr_chunk_str(x, i, &n1), *p2 = sr_chunk_str(y, i, &n2);
                if (n1 != n2 || memcmp(p1, p2, n1) != 0 || x->v.codes[i] != y->v.codes[i])
                    return 0;
            } else {
                size_t w = x->type == SR_TYPE_BOOL ? 1 : x->type == SR_TYPE_DATE ? 4 : 8;
                if (memcmp((const uint8_t *)x->v.b + i * w, (const uint8_t *)y->v.b + i * w, w) != 0)
                    return 0;
            }
        }
    }
    return 1;
}

/* Checks every row of a batch from write_test_file against the values
 * the generator wrote for its id (an oracle independent of the reader),
 * and that string codes follow first appearance. Returns the bad rows. */
static size_t check_test_rows(const sr_batch *b)
{
    size_t bad = 0;
    char want[64];
    for (size_t r = 0; r < b->nrows; r++) {
        size_t i = (size_t)b->cols[0].v.i64[r];
        if (i % 97 == 5) {
            bad += !(sr_chunk_is_null(&b->cols[4], r) && sr_chunk_is_null(&b->cols[5], r) &&
                     sr_chunk_is_null(&b->cols[1], r));
            continue;
        }
        snprintf(want, sizeof want, "c%zu", i % 20);
        bad += !str_is(&b->cols[4], r, want);
        if (i % 13 == 0)
            snprintf(want, sizeof want, "multi\nline \"%zu\"", i);
        else
            snprintf(want, sizeof want, "note %zu", i % 5000);
        bad += !str_is(&b->cols[5], r, want);
        bad += b->cols[1].v.f64[r] != (double)(i % 1000) + (double)(i % 100) / 100.0 &&
               fabs(b->cols[1].v.f64[r] - ((double)(i % 1000) + (double)(i % 100) / 100.0)) > 1e-9;
    }
    for (size_t j = 4; j < 6; j++) { /* codes in order of first appearance */
        uint32_t next = 0;
        for (size_t r = 0; r < b->nrows; r++) {
            if (sr_chunk_is_null(&b->cols[j], r))
                continue;
            uint32_t code = b->cols[j].v.codes[r];
            if (code > next)
                bad++;
            if (code == next)
                next++;
        }
        if (next != b->cols[j].dict_count)
            bad++;
    }
    return bad;
}

typedef struct job {
    sr_csv_block *blk;
    const sr_schema *s;
    sr_batch *b;
    int rc;
    sr_error err;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    j->rc = sr_csv_parse_block(j->blk, j->s, j->b, &j->err);
    return NULL;
}

static void test_parallel_blocks_match_sequential(void)
{
    sr_error err;
    size_t rows = 90000, cap = 777;
    size_t fsize = write_test_file("par.csv", rows);
    CHECK(fsize > (3u << 20)); /* crosses the reader's 1 MiB buffer several times */
    sr_schema *s = schema_of("id:int,amount:float,flag:bool,day:date,cat:string,note:string");
    /* sequential reader over memory (no buffer refills) vs blocks from the file */
    sr_buf content = {0};
    CHECK_OK(sr_file_read("par.csv", 1 << 26, &content, &err), &err);
    sr_csv_reader *seq = sr_csv_open_mem(content.data, content.len, &err);
    sr_csv_reader *par = sr_csv_open("par.csv", &err);
    CHECK(seq != NULL && par != NULL);
    if (seq == NULL || par == NULL)
        return;
    sr_batch sb, pb[2];
    sr_csv_block blk[2];
    CHECK_OK(sr_batch_init(&sb, s, cap, 0, &err), &err);
    for (int k = 0; k < 2; k++) {
        CHECK_OK(sr_batch_init(&pb[k], s, cap, 0, &err), &err);
        sr_csv_block_init(&blk[k]);
    }
    size_t total = 0, mismatches = 0;
    int done = 0;
    uint64_t expect_line = 2;
    while (!done) {
        job jobs[2];
        pthread_t th[2];
        int nj = 0;
        for (int k = 0; k < 2; k++) {
            CHECK_OK(sr_csv_read_block(par, cap, &blk[k], &err), &err);
            if (blk[k].len == 0)
                break;
            CHECK_EQ_INT(blk[k].first_line, expect_line);
            /* count lines in the block to predict the next first_line */
            for (size_t i = 0; i < blk[k].len; i++)
                expect_line += blk[k].data[i] == '\n';
            jobs[k] = (job){&blk[k], s, &pb[k], 0, {0}};
            pthread_create(&th[k], NULL, worker, &jobs[k]);
            nj++;
        }
        for (int k = 0; k < nj; k++) {
            pthread_join(th[k], NULL);
            CHECK_OK(jobs[k].rc, &jobs[k].err);
            CHECK_EQ_INT(pb[k].nrows, blk[k].nrecords);
            CHECK_OK(sr_csv_read_batch(seq, s, &sb, &err), &err);
            if (!batches_equal(&sb, &pb[k]))
                mismatches++;
            mismatches += check_test_rows(&pb[k]);
            total += sb.nrows;
            /* the block is exhausted */
            sr_batch tmp = pb[k];
            CHECK_OK(sr_csv_parse_block(&blk[k], s, &tmp, &err), &err);
            CHECK_EQ_INT(tmp.nrows, 0);
        }
        if (nj < 2)
            done = 1;
    }
    CHECK_OK(sr_csv_read_batch(seq, s, &sb, &err), &err);
    CHECK_EQ_INT(sb.nrows, 0);
    CHECK_EQ_INT(total, rows);
    CHECK_EQ_INT(mismatches, 0);
    CHECK_EQ_INT(sr_csv_bytes_read(par), sr_csv_bytes_total(par));
    for (int k = 0; k < 2; k++) {
        sr_batch_free(&pb[k]);
        sr_csv_block_free(&blk[k]);
    }
    sr_batch_free(&sb);
    sr_csv_close(seq);
    sr_csv_close(par);
    sr_buf_free(&content);

    /* the same over memory, and an error in a late block names the global line */
    FILE *f = fopen("par.csv", "a");
    fputs("1,2.0,true,2020-01-01,x,\"a\nb\"\n", f);
    fputs("oops,2.0,true,2020-01-01,x,y\n", f);
    fclose(f);
    sr_buf all = {0};
    CHECK_OK(sr_file_read("par.csv", 1 << 26, &all, &err), &err);
    sr_csv_reader *m = sr_csv_open_mem(all.data, all.len, &err);
    CHECK(m != NULL);
    sr_csv_block bk;
    sr_csv_block_init(&bk);
    CHECK_OK(sr_batch_init(&sb, s, 4096, 0, &err), &err);
    int rc = 0;
    for (;;) {
        CHECK_OK(sr_csv_read_block(m, 4096, &bk, &err), &err);
        if (bk.len == 0)
            break;
        rc = sr_csv_parse_block(&bk, s, &sb, &err);
        if (rc != 0)
            break;
    }
    CHECK_EQ_INT(rc, SR_EFORMAT);
    char want[64];
    snprintf(want, sizeof want, "line %llu, column 1 (id): not an integer", (unsigned long long)expect_line + 2);
    CHECK_CONTAINS(err.msg, want);
    sr_csv_block_free(&bk);
    sr_batch_free(&sb);
    sr_csv_close(m);
    sr_buf_free(&all);
    free(s);
    remove("par.csv");
}

static void test_unterminated_quote_is_bounded(void)
{
    sr_error err;
    FILE *f = fopen("unterminated.csv", "w");
    fputs("a,b\n1,\"never closed\n", f);
    char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = '\0';
    for (int i = 0; i < 18 * 1024; i++) /* 18 MiB > SR_CSV_MAX_LINE */
        fputs(line, f);
    fclose(f);
    sr_csv_reader *r = sr_csv_open("unterminated.csv", &err);
    CHECK(r != NULL);
    sr_schema *s = schema_of("a:int,b:string");
    sr_batch b;
    CHECK_OK(sr_batch_init(&b, s, 10, 0, &err), &err);
    CHECK_EQ_INT(sr_csv_read_batch(r, s, &b, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "line 2: record longer than");
    sr_batch_free(&b);
    sr_csv_close(r);
    free(s);
    remove("unterminated.csv");
}

/* A 50 MB file streams through a small batch with bounded memory. */
static void test_streaming_memory_bound(void)
{
    sr_error err;
    size_t size = write_test_file("big.csv", 1300000);
    CHECK(size > 50u * 1000 * 1000);
    sr_schema *s = schema_of("id:int,amount:float,flag:bool,day:date,cat:string,note:string");
    sr_csv_reader *r = sr_csv_open("big.csv", &err);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_EQ_INT(sr_csv_bytes_total(r), size);
    sr_batch b;
    CHECK_OK(sr_batch_init(&b, s, 1024, 0, &err), &err);
    size_t rows = 0, nulls = 0;
    int64_t idsum = 0;
    for (;;) {
        int rc = sr_csv_read_batch(r, s, &b, &err);
        CHECK_OK(rc, &err);
        if (rc != 0 || b.nrows == 0)
            break;
        for (size_t i = 0; i < b.nrows; i++)
            idsum += b.cols[0].v.i64[i];
        nulls += b.cols[4].null_count;
        rows += b.nrows;
    }
    CHECK_EQ_INT(rows, 1300000);
    CHECK_EQ_INT(idsum, (int64_t)1300000 * 1299999 / 2);
    CHECK_EQ_INT(nulls, (1300000 - 6) / 97 + 1);
    CHECK_EQ_INT(sr_csv_bytes_read(r), size);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    CHECK_MSG(ru.ru_maxrss < 64 * 1024, "peak RSS %ld KiB", ru.ru_maxrss);
    sr_batch_free(&b);
    sr_csv_close(r);
    free(s);
    remove("big.csv");
}

int main(void)
{
    /* first, so that peak RSS reflects streaming only */
    SR_RUN(test_streaming_memory_bound);
    SR_RUN(test_quoting_and_line_endings);
    SR_RUN(test_errors_name_line_and_column);
    SR_RUN(test_value_parsers);
    SR_RUN(test_float_text_round_trip);
    SR_RUN(test_block_partial_and_secure);
    SR_RUN(test_inference);
    SR_RUN(test_writer_round_trip);
    SR_RUN(test_writer_keeps_bom_in_first_name);
    SR_RUN(test_parallel_blocks_match_sequential);
    SR_RUN(test_unterminated_quote_is_bounded);
    return sr_test_finish();
}

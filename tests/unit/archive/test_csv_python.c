/* Cross-check against an independent RFC 4180 implementation: Python's csv
 * module (Debian's /usr/bin/python3) writes random CSV files (quoted commas,
 * quotes, LF and CRLF inside fields, non-ASCII text, minimal and full
 * quoting, LF and CRLF line ends) and reads them back with csv.reader; the
 * sealroom reader (sequential over the file, and the block API over memory)
 * must see exactly the same fields. */
#include "test.h"

#include <stdlib.h>

#include "sealroom/csv.h"

static const char gen_py[] =
    "import csv, io, random, sys\n"
    "random.seed(int(sys.argv[1]))\n"
    "alpha = ['a', 'b', 'Z', ',', '\"', '\\n', '\\r\\n', ' ', '\\u00e9', '\\u20ac', '\\U0001F600',\n"
    "         'x\"y', '', '1', '-', '.']\n"
    "ncols = random.randint(1, 6)\n"
    "rows = [[''.join(random.choice(alpha) for _ in range(random.randint(0, 6)))\n"
    "         for _ in range(ncols)] for _ in range(random.randint(1, 2000))]\n"
    "buf = io.StringIO()\n"
    "w = csv.writer(buf, lineterminator=random.choice(['\\n', '\\r\\n']),\n"
    "               quoting=random.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))\n"
    "w.writerow(['c%d' % i for i in range(ncols)])\n"
    "w.writerows(rows)\n"
    "data = buf.getvalue()\n"
    "if random.random() < 0.3:\n"
    "    data = data.rstrip('\\r\\n')  # no final line end\n"
    "open('in.csv', 'w', newline='', encoding='utf-8').write(data)\n"
    "with open('expect.txt', 'w') as f:\n"
    "    for r in list(csv.reader(io.StringIO(data, newline='')))[1:]:\n"
    "        f.write(' '.join(v.encode().hex() if v else '-' for v in r) + '\\n')\n";

/* Appends the batch as "hex hex -\n" lines (empty string and NULL as -). */
static void dump(const sr_batch *b, sr_buf *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < b->nrows; i++) {
        for (size_t j = 0; j < b->ncols; j++) {
            size_t n;
            const char *p = sr_chunk_str(&b->cols[j], i, &n);
            if (j > 0)
                sr_buf_append_u8(out, ' ', NULL);
            if (n == 0)
                sr_buf_append_u8(out, '-', NULL);
            for (size_t k = 0; k < n; k++) {
                sr_buf_append_u8(out, (uint8_t)hx[(uint8_t)p[k] >> 4], NULL);
                sr_buf_append_u8(out, (uint8_t)hx[(uint8_t)p[k] & 15], NULL);
            }
        }
        sr_buf_append_u8(out, '\n', NULL);
    }
}

static void test_python_csv_agrees(void)
{
    sr_error err;
    FILE *f = fopen("gen.py", "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs(gen_py, f);
    fclose(f);
    int files = 0, mismatches = 0;
    for (int seed = 1; seed <= 25; seed++) {
        if (sr_test_sh("/usr/bin/python3 gen.py %d", seed) != 0) {
            CHECK_MSG(0, "python generator failed (seed %d)", seed);
            continue;
        }
        sr_buf expect = {0}, input = {0}, got1 = {0}, got2 = {0};
        CHECK_OK(sr_file_read("expect.txt", 1 << 26, &expect, &err), &err);
        CHECK_OK(sr_file_read("in.csv", 1 << 26, &input, &err), &err);
        sr_csv_reader *r = sr_csv_open("in.csv", &err);
        CHECK_MSG(r != NULL, "seed %d: %s", seed, err.msg);
        if (r == NULL)
            continue;
        sr_schema *s = calloc(1, sizeof *s);
        s->ncols = sr_csv_ncols(r);
        for (size_t j = 0; j < s->ncols; j++) {
            snprintf(s->cols[j].name, SR_MAX_NAME, "%s", sr_csv_colname(r, j));
            s->cols[j].type = SR_TYPE_STRING;
        }
        size_t cap = (size_t)(seed * 37 % 300) + 1;
        sr_batch b;
        CHECK_OK(sr_batch_init(&b, s, cap, 0, &err), &err);
        /* 1: sequential reader over the file */
        for (;;) {
            int rc = sr_csv_read_batch(r, s, &b, &err);
            CHECK_MSG(rc == 0, "seed %d: %s", seed, err.msg);
            if (rc != 0 || b.nrows == 0)
                break;
            dump(&b, &got1);
        }
        /* 2: block API over memory */
        sr_csv_reader *m = sr_csv_open_mem(input.data, input.len, &err);
        CHECK(m != NULL);
        sr_csv_block blk;
        sr_csv_block_init(&blk);
        while (m != NULL) {
            int rc = sr_csv_read_block(m, cap, &blk, &err);
            CHECK_OK(rc, &err);
            if (rc != 0 || blk.len == 0)
                break;
            rc = sr_csv_parse_block(&blk, s, &b, &err);
            CHECK_MSG(rc == 0, "seed %d: %s", seed, err.msg);
            if (rc != 0)
                break;
            dump(&b, &got2);
        }
        int same1 = got1.len == expect.len && memcmp(got1.data, expect.data, expect.len) == 0;
        int same2 = got2.len == expect.len && memcmp(got2.data, expect.data, expect.len) == 0;
        if (!same1 || !same2) {
            mismatches++;
            fprintf(stderr, "seed %d: sequential %s, blocks %s (expected %zu bytes, got %zu / %zu)\n", seed,
                    same1 ? "ok" : "DIFFERS", same2 ? "ok" : "DIFFERS", expect.len, got1.len, got2.len);
        }
        files++;
        sr_csv_block_free(&blk);
        sr_csv_close(m);
        sr_batch_free(&b);
        sr_csv_close(r);
        free(s);
        sr_buf_free(&expect);
        sr_buf_free(&input);
        sr_buf_free(&got1);
        sr_buf_free(&got2);
    }
    CHECK_EQ_INT(files, 25);
    CHECK_EQ_INT(mismatches, 0);
    remove("gen.py");
    remove("in.csv");
    remove("expect.txt");
}

int main(void)
{
    SR_RUN(test_python_csv_agrees);
    return sr_test_finish();
}

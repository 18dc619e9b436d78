/* libFuzzer target: the CSV reader over memory. The first byte picks a
 * batch size and a fixed-schema type pattern; the rest is the CSV text.
 * Each input is read twice: with the inferred schema and with the fixed
 * one. Whatever parses must write back as CSV and read back to the same
 * values (writer/reader round trip); the block API must agree with the
 * sequential reader. Nothing may crash, leak, or read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/csv.h"

static int same_batch(const sr_batch *a, const sr_batch *b)
{
    if (a->nrows != b->nrows || a->ncols != b->ncols)
        return 0;
    for (size_t j = 0; j < a->ncols; j++) {
        const sr_chunk *x = &a->cols[j], *y = &b->cols[j];
        for (size_t i = 0; i < a->nrows; i++) {
            if (sr_chunk_is_null(x, i) != sr_chunk_is_null(y, i))
                return 0;
            if (sr_chunk_is_null(x, i))
                continue;
            size_t n1, n2;
            const char *p1, *p2;
            switch (x->type) {
            case SR_TYPE_INT64: if (x->v.i64[i] != y->v.i64[i]) return 0; break;
            case SR_TYPE_FLOAT64: if (memcmp(&x->v.f64[i], &y->v.f64[i], 8) != 0) return 0; break;
            case SR_TYPE_BOOL: if (x->v.b[i] != y->v.b[i]) return 0; break;
            case SR_TYPE_DATE: if (x->v.date[i] != y->v.date[i]) return 0; break;
            case SR_TYPE_STRING:
                p1 = sr_chunk_str(x, i, &n1);
                p2 = sr_chunk_str(y, i, &n2);
                if (n1 != n2 || memcmp(p1, p2, n1) != 0) return 0;
                break;
            }
        }
    }
    return 1;
}

/* Reads all of data with schema s (batch size cap); on success writes the
 * CSV to *out. Returns the read status. */
static int read_all(const uint8_t *data, size_t size, const sr_schema *s, size_t cap, char **out,
                    size_t *outlen, int check_blocks)
{
    sr_error err;
    sr_csv_reader *r = sr_csv_open_mem(data, size, &err);
    sr_csv_reader *r2 = check_blocks ? sr_csv_open_mem(data, size, &err) : NULL;
    if (r == NULL)
        return 1;
    sr_batch b, b2;
    if (sr_batch_init(&b, s, cap, 0, &err) != SR_OK || sr_batch_init(&b2, s, cap, 0, &err) != SR_OK)
        abort();
    sr_csv_block blk;
    sr_csv_block_init(&blk);
    FILE *f = open_memstream(out, outlen);
    int rc = sr_csv_write_header(f, s, &err);
    while (rc == SR_OK) {
        rc = sr_csv_read_batch(r, s, &b, &err);
        if (rc != SR_OK || b.nrows == 0)
            break;
        if (sr_csv_write_batch(f, s, &b, &err) != SR_OK)
            abort();
        if (r2 != NULL) {
            if (sr_csv_read_block(r2, cap, &blk, &err) != SR_OK)
                abort();
            if (blk.nrecords != b.nrows || sr_csv_parse_block(&blk, s, &b2, &err) != SR_OK ||
                !same_batch(&b, &b2))
                abort();
        }
    }
    fclose(f);
    sr_csv_block_free(&blk);
    sr_batch_free(&b);
    sr_batch_free(&b2);
    sr_csv_close(r);
    sr_csv_close(r2);
    return rc;
}

static void round_trip(const uint8_t *data, size_t size, const sr_schema *s, size_t cap)
{
    char *out = NULL, *out2 = NULL;
    size_t outlen = 0, outlen2 = 0;
    if (read_all(data, size, s, cap, &out, &outlen, 1) == SR_OK) {
        /* the written text reads back and writes identically */
        if (read_all((const uint8_t *)out, outlen, s, cap, &out2, &outlen2, 0) != SR_OK)
            abort();
        if (outlen != outlen2 || memcmp(out, out2, outlen) != 0)
            abort();
    }
    free(out);
    free(out2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t cap = 1 + (data[0] & 7);
    unsigned pattern = data[0] >> 3;
    data++;
    size--;
    sr_error err;
    sr_schema *s = malloc(sizeof *s);
    sr_csv_reader *r = sr_csv_open_mem(data, size, &err);
    if (r != NULL) {
        if (sr_csv_infer_schema(r, s, &err) == SR_OK) {
            if (s->ncols != sr_csv_ncols(r))
                abort();
            round_trip(data, size, s, cap);
            /* fixed schema: types from the pattern bits */
            for (size_t j = 0; j < s->ncols; j++)
                s->cols[j].type = (sr_type)(1 + (pattern + j * 3) % 5);
            round_trip(data, size, s, cap);
        }
        sr_csv_close(r);
    }
    free(s);
    return 0;
}

/* sealroom: streaming RFC 4180 CSV reader and writer, typed into column
 * batches. Memory use is bounded by the batch size, never the file size. */
#ifndef SEALROOM_CSV_H
#define SEALROOM_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "sealroom/column.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_CSV_MAX_FIELD (1u << 20) /* bytes in one field */
#define SR_CSV_MAX_LINE (16u << 20) /* bytes in one record */

typedef struct sr_csv_reader sr_csv_reader;

/* Opens a CSV file and reads its header line (column names). */
sr_csv_reader *sr_csv_open(const char *path, sr_error *err);
/* Same, over a memory buffer (not copied; must outlive the reader). */
sr_csv_reader *sr_csv_open_mem(const void *data, size_t len, sr_error *err);
void sr_csv_close(sr_csv_reader *r);

/* Header names, in file order. */
size_t sr_csv_ncols(const sr_csv_reader *r);
const char *sr_csv_colname(const sr_csv_reader *r, size_t i);

/* Infers a type for every column by reading the rest of the input (one
 * pass, memory bounded), then rewinds to the first data row. A column whose
 * non-empty values all parse as int is int; else float; else bool
 * (true/false, any case); else date (YYYY-MM-DD); else string. An
 * all-empty column is string. */
int sr_csv_infer_schema(sr_csv_reader *r, sr_schema *out, sr_error *err);

/* Checks the header against a schema (same names in the same order). */
int sr_csv_check_header(const sr_csv_reader *r, const sr_schema *s, sr_error *err);

/* Reads up to batch capacity rows into b (reset first), converting fields
 * to the schema's types; empty field = NULL. On a malformed record, a value
 * that does not parse as its type, or invalid UTF-8, fails with
 * SR_EFORMAT and a message naming the line and column ("line 12, column 3
 * (amount): not an integer: \"1x\""). Sets b->nrows = 0 at end of input. */
int sr_csv_read_batch(sr_csv_reader *r, const sr_schema *s, sr_batch *b, sr_error *err);

/* Starts reading again at the first data row (after the header). */
int sr_csv_rewind(sr_csv_reader *r, sr_error *err);

/* Bytes consumed so far and total input size (0 if unknown) for progress. */
uint64_t sr_csv_bytes_read(const sr_csv_reader *r);
uint64_t sr_csv_bytes_total(const sr_csv_reader *r);
/* Current 1-based line number (of the next record). */
uint64_t sr_csv_line(const sr_csv_reader *r);

/* Writes a header line, then batches, as RFC 4180 CSV (quoting fields that
 * need it, NULL as an empty field, the empty string as "", floats in the
 * shortest of %.15g/%.16g/%.17g that reads back to the same bits, dates
 * YYYY-MM-DD, bools true/false, line ending \n). */
int sr_csv_write_header(FILE *f, const sr_schema *s, sr_error *err);
int sr_csv_write_batch(FILE *f, const sr_schema *s, const sr_batch *b, sr_error *err);

/* ------------------------------------------------------------------
 * Parallel parsing. One thread cuts the input into blocks of whole records
 * (sr_csv_read_block, quote-aware, never splits a record); any thread then
 * converts a block into batches (sr_csv_parse_block). Blocks carry the line
 * number of their first byte, so error messages name the same line as the
 * sequential reader. A block of max_records records parsed into a batch of
 * capacity max_records gives exactly the batch sr_csv_read_batch gives with
 * that capacity (sr_csv_read_batch is built on these two calls). After an
 * error, stop using the reader (its position is unspecified).
 *
 *   reader thread:  sr_csv_read_block(r, cap, &blk[i], err)  (in order)
 *   worker thread:  sr_csv_parse_block(&blk[i], s, &batch[i], err)
 *
 * A block owns its bytes (file input) or points into the caller's memory
 * (sr_csv_open_mem); it stays valid until the next sr_csv_read_block on it
 * or sr_csv_block_free, and does not depend on the reader otherwise. */
typedef struct sr_csv_block {
    const uint8_t *data; /* whole records; no NUL terminator */
    size_t len;
    uint64_t offset;     /* input byte offset of data[0] */
    uint64_t first_line; /* 1-based line number of data[0] */
    size_t nrecords;     /* records in the block, counted by the splitter */
    /* parse cursor, advanced by sr_csv_parse_block */
    size_t pos;
    uint64_t line;
    /* private storage */
    sr_buf storage;
    sr_buf scratch;
} sr_csv_block;

void sr_csv_block_init(sr_csv_block *blk);
void sr_csv_block_free(sr_csv_block *blk); /* wipes */

/* Cuts the next block of at most max_records (>= 1) records from the
 * input. blk->len == 0 (and nrecords == 0) at end of input. Fails with
 * SR_EFORMAT if one record exceeds SR_CSV_MAX_LINE bytes (e.g. an
 * unterminated quote), SR_EIO on read errors. */
int sr_csv_read_block(sr_csv_reader *r, size_t max_records, sr_csv_block *blk, sr_error *err);

/* Converts records from the block's cursor into b (reset first) until b is
 * full or the block is exhausted; b->nrows == 0 once it is. Same rules and
 * messages as sr_csv_read_batch. Thread-safe for distinct blocks/batches;
 * s and b must have the same columns and types. */
int sr_csv_parse_block(sr_csv_block *blk, const sr_schema *s, sr_batch *b, sr_error *err);

/* Value parsers used by the reader (exposed for the engine and tests). Each
 * returns SR_OK, or SR_EFORMAT (not a value of the type) or SR_ELIMIT (out
 * of range); no message. Floats: [+-]digits[.digits][(e|E)[+-]digits] (or
 * .digits), no inf/nan, no spaces; bools: true/false in any case, 1, 0. */
int sr_csv_parse_int(const char *s, size_t n, int64_t *out);
int sr_csv_parse_float(const char *s, size_t n, double *out);
int sr_csv_parse_bool(const char *s, size_t n, int *out);
/* Shortest text (%.15g, %.16g or %.17g) that strtod's back to v's bits. */
void sr_csv_format_float(double v, char out[32]);

#ifdef __cplusplus
}
#endif
#endif

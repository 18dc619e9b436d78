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

/* Bytes consumed so far and total input size (0 if unknown) for progress. */
uint64_t sr_csv_bytes_read(const sr_csv_reader *r);
uint64_t sr_csv_bytes_total(const sr_csv_reader *r);
/* Current 1-based line number (of the next record). */
uint64_t sr_csv_line(const sr_csv_reader *r);

/* Writes a header line, then batches, as RFC 4180 CSV (quoting fields that
 * need it, NULL as an empty field, floats with %.17g, dates YYYY-MM-DD,
 * bools true/false, line ending \n). */
int sr_csv_write_header(FILE *f, const sr_schema *s, sr_error *err);
int sr_csv_write_batch(FILE *f, const sr_schema *s, const sr_batch *b, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

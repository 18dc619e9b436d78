/* sealroom: typed columns, schemas, and column chunks (the unit of storage
 * in sealed archives and of execution in the engine). */
#ifndef SEALROOM_COLUMN_H
#define SEALROOM_COLUMN_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/buf.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sr_type {
    SR_TYPE_INT64 = 1,   /* signed 64-bit integer */
    SR_TYPE_FLOAT64 = 2, /* IEEE-754 double */
    SR_TYPE_BOOL = 3,    /* stored as one byte, 0 or 1 */
    SR_TYPE_DATE = 4,    /* int32 days since 1970-01-01 (proleptic Gregorian) */
    SR_TYPE_STRING = 5   /* UTF-8, dictionary-encoded per chunk */
} sr_type;

/* "int", "float", "bool", "date", "string". */
const char *sr_type_name(sr_type t);
/* Accepts the names above (and "int64", "float64", "double", "boolean", "str"). */
int sr_type_parse(const char *name, sr_type *out, sr_error *err);

#define SR_MAX_COLUMNS 1024
#define SR_MAX_NAME 128 /* column and owner names, bytes incl. NUL */

typedef struct sr_column_def {
    char name[SR_MAX_NAME];
    sr_type type;
} sr_column_def;

typedef struct sr_schema {
    size_t ncols;
    sr_column_def cols[SR_MAX_COLUMNS];
} sr_schema;

/* Index of a column by name, or -1. */
int sr_schema_find(const sr_schema *s, const char *name);

/* One column's values for a run of rows. Nulls: bit i of `nulls` set means
 * row i is NULL (nulls may be NULL when the chunk has none). Values of null
 * rows are 0 / empty. Strings are dictionary-encoded: codes[i] indexes the
 * chunk's dictionary; dict entry k is dict_bytes[dict_offsets[k] ..
 * dict_offsets[k+1]). All arrays are owned by the chunk. */
typedef struct sr_chunk {
    sr_type type;
    size_t nrows;
    size_t cap;      /* rows allocated */
    uint8_t *nulls;  /* (cap + 7) / 8 bytes, or NULL */
    size_t null_count;
    union {
        int64_t *i64;
        double *f64;
        uint8_t *b;
        int32_t *date;
        uint32_t *codes;
    } v;
    /* string dictionary (type SR_TYPE_STRING only) */
    size_t dict_count;
    size_t dict_cap;
    uint32_t *dict_offsets; /* dict_count + 1 entries */
    sr_buf dict_bytes;
    void *dict_index;       /* private hash index used while building */
    int secure;             /* storage from sr_secure_alloc (plaintext) */
} sr_chunk;

int sr_chunk_init(sr_chunk *c, sr_type type, size_t cap, int secure, sr_error *err);
void sr_chunk_reset(sr_chunk *c); /* nrows = 0, keeps storage */
void sr_chunk_free(sr_chunk *c);  /* wipes */
static inline int sr_chunk_is_null(const sr_chunk *c, size_t i)
{
    return c->nulls != NULL && (c->nulls[i >> 3] >> (i & 7)) & 1;
}
/* Appenders (nrows must be < cap). */
int sr_chunk_append_null(sr_chunk *c, sr_error *err);
int sr_chunk_append_i64(sr_chunk *c, int64_t v, sr_error *err);
int sr_chunk_append_f64(sr_chunk *c, double v, sr_error *err);
int sr_chunk_append_bool(sr_chunk *c, int v, sr_error *err);
int sr_chunk_append_date(sr_chunk *c, int32_t days, sr_error *err);
int sr_chunk_append_str(sr_chunk *c, const char *s, size_t n, sr_error *err);
/* String value of row i (not NUL-terminated); *n receives its length. */
const char *sr_chunk_str(const sr_chunk *c, size_t i, size_t *n);

/* A batch: one chunk per schema column, all with the same nrows. */
typedef struct sr_batch {
    size_t ncols;
    size_t nrows;
    sr_chunk *cols; /* ncols entries */
} sr_batch;

int sr_batch_init(sr_batch *b, const sr_schema *s, size_t cap, int secure, sr_error *err);
void sr_batch_reset(sr_batch *b);
void sr_batch_free(sr_batch *b);

/* Serialised chunk: the byte form stored (encrypted) in archives. Its
 * layout is specified in docs/CSV.md ("Column chunk encoding"). Encoding
 * appends to out. Decoding reads one chunk from the front of data,
 * bounds-checks every length against len and against max_rows, and reports
 * how many bytes it used; expect 0 accepts any type. On failure (SR_EFORMAT
 * with a message) *out is left freed/zeroed. The decoded chunk has
 * cap == nrows and owns its storage (sr_chunk_free). */
int sr_chunk_encode(const sr_chunk *c, sr_buf *out, sr_error *err);
int sr_chunk_decode(const uint8_t *data, size_t len, sr_type expect, size_t max_rows, sr_chunk *out,
                    size_t *used, int secure, sr_error *err);
/* The same, where *out is a chunk from an earlier decode (or zeroed): its
 * storage is reused when it is not a string chunk, has the same type and
 * secure flag and room for the rows (then cap >= nrows, and the rows past
 * nrows are zero); what is not reused is freed. For secure chunks this
 * saves an mmap, mlock, wipe and munmap per chunk. */
int sr_chunk_decode_reuse(const uint8_t *data, size_t len, sr_type expect, size_t max_rows, sr_chunk *out,
                          size_t *used, int secure, sr_error *err);

/* Dates: "YYYY-MM-DD" <-> days since 1970-01-01. Years 0001..9999;
 * sr_date_parse returns SR_OK or SR_EFORMAT (no message). Chunks only hold
 * dates in [SR_DATE_MIN, SR_DATE_MAX]. */
#define SR_DATE_MIN (-719162) /* 0001-01-01 */
#define SR_DATE_MAX 2932896   /* 9999-12-31 */
int sr_date_parse(const char *s, size_t n, int32_t *days);
void sr_date_format(int32_t days, char out[11]);

/* Most rows one chunk may hold (init capacity and decoded row count). */
#define SR_CHUNK_MAX_ROWS (1u << 24)

/* Validates UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF, no
 * truncated sequence). Returns n if s[0..n) is valid, else the offset of
 * the first byte of the first invalid sequence. */
size_t sr_utf8_check(const uint8_t *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif

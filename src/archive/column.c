/* sealroom: typed columns, chunks with per-chunk string dictionaries,
 * batches, and the chunk byte encoding (docs/CSV.md, "Column chunk
 * encoding"). */
#include "sealroom/column.h"
#include "sealroom/secmem.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- types */

const char *sr_type_name(sr_type t)
{
    switch (t) {
    case SR_TYPE_INT64: return "int";
    case SR_TYPE_FLOAT64: return "float";
    case SR_TYPE_BOOL: return "bool";
    case SR_TYPE_DATE: return "date";
    case SR_TYPE_STRING: return "string";
    }
    return "?";
}

int sr_type_parse(const char *name, sr_type *out, sr_error *err)
{
    static const struct {
        const char *name;
        sr_type t;
    } names[] = {
        {"int", SR_TYPE_INT64},     {"int64", SR_TYPE_INT64},     {"float", SR_TYPE_FLOAT64},
        {"float64", SR_TYPE_FLOAT64}, {"double", SR_TYPE_FLOAT64}, {"bool", SR_TYPE_BOOL},
        {"boolean", SR_TYPE_BOOL},  {"date", SR_TYPE_DATE},       {"string", SR_TYPE_STRING},
        {"str", SR_TYPE_STRING},
    };
    if (name == NULL)
        return sr_error_set(err, SR_EINVAL, "missing type name");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].t;
            return SR_OK;
        }
    }
    return sr_error_set(err, SR_EINVAL,
                        "unknown type \"%.64s\" (expected int, float, bool, date or string)", name);
}

static int type_valid(int t)
{
    return t >= SR_TYPE_INT64 && t <= SR_TYPE_STRING;
}

static size_t type_width(sr_type t)
{
    switch (t) {
    case SR_TYPE_INT64: return 8;
    case SR_TYPE_FLOAT64: return 8;
    case SR_TYPE_BOOL: return 1;
    case SR_TYPE_DATE: return 4;
    case SR_TYPE_STRING: return 4;
    }
    return 0;
}

int sr_schema_find(const sr_schema *s, const char *name)
{
    if (s == NULL || name == NULL)
        return -1;
    for (size_t i = 0; i < s->ncols && i < SR_MAX_COLUMNS; i++) {
        if (strncmp(s->cols[i].name, name, SR_MAX_NAME) == 0)
            return (int)i;
    }
    return -1;
}

/* ---------------------------------------------------------------- UTF-8 */

size_t sr_utf8_check(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0; /* overlong */
            else if (c == 0xED)
                hi = 0x9F; /* surrogates */
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90; /* overlong */
            else if (c == 0xF4)
                hi = 0x8F; /* > U+10FFFF */
        } else {
            return i; /* continuation byte, C0/C1 overlong, or F5..FF */
        }
        if (n - i <= need)
            return i; /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        }
        i += need + 1;
    }
    return n;
}

/* ---------------------------------------------------------------- dates */

/* Civil date of a day number (days since 1970-01-01, proleptic Gregorian):
 * the count is shifted to eras of 400 years starting on 0000-03-01, so the
 * leap day falls last in each computed year. */
static void ymd_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int sr_date_parse(const char *s, size_t n, int32_t *days)
{
    if (s == NULL || n != 10 || s[4] != '-' || s[7] != '-')
        return SR_EFORMAT;
    const uint8_t *u = (const uint8_t *)s;
    /* unsigned: bytes below '0' wrap to large values */
    unsigned a0 = u[0] - '0', a1 = u[1] - '0', a2 = u[2] - '0', a3 = u[3] - '0';
    unsigned m0 = u[5] - '0', m1 = u[6] - '0', d0 = u[8] - '0', d1 = u[9] - '0';
    if ((a0 > 9) | (a1 > 9) | (a2 > 9) | (a3 > 9) | (m0 > 9) | (m1 > 9) | (d0 > 9) | (d1 > 9))
        return SR_EFORMAT;
    int y = (int)(a0 * 1000 + a1 * 100 + a2 * 10 + a3);
    int m = (int)(m0 * 10 + m1);
    int day = (int)(d0 * 10 + d1);
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    static const int before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    if (y < 1 || m < 1 || m > 12 || day < 1)
        return SR_EFORMAT;
    int leap = is_leap(y);
    if (day > mdays[m - 1] + (m == 2 && leap))
        return SR_EFORMAT;
    /* whole years since 0001-01-01, then days into the year; 719162 days
     * separate 0001-01-01 from 1970-01-01 */
    int64_t yy = y - 1;
    int64_t z = yy * 365 + yy / 4 - yy / 100 + yy / 400 + before[m - 1] + (m > 2 && leap) + day - 1;
    *days = (int32_t)(z - 719162);
    return SR_OK;
}

void sr_date_format(int32_t days, char out[11])
{
    int64_t y, m, d;
    if (days < SR_DATE_MIN || days > SR_DATE_MAX) {
        memcpy(out, "0000-00-00", 11);
        return;
    }
    ymd_from_days(days, &y, &m, &d);
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}

/* ---------------------------------------------------------------- chunks */

/* Private open-addressing index from string to dictionary code, used while
 * a chunk is being built. A slot is 32 bits, (tag << 25) | (code + 1) with
 * the top 7 bits of the string's hash as tag (0 = empty slot; codes are
 * below SR_CHUNK_MAX_ROWS = 2^24), so most probes settle without touching
 * the dictionary, and the slots of a 64K-entry dictionary fit in 256 KiB. */
#define SLOT_CODE_BITS 25
#define SLOT_CODE_MASK ((1u << SLOT_CODE_BITS) - 1)
typedef struct dict_index {
    uint32_t *slots;
    size_t nslots; /* power of two; load kept at or below 3/4 */
} dict_index;

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

/* Hash of a byte string (not cryptographic: only spreads dictionary
 * entries over the index). Reads only p[0..n). */
static inline uint32_t str_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)n * 0xD6E8FEB86659FD93ull), w;
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            h = (h ^ load64(p + i)) * 0xFF51AFD7ED558CCDull;
            h ^= h >> 32;
        }
        w = load64(p + n - 8); /* the last 8 bytes (overlapping) */
    } else if (n >= 4) {
        w = (uint64_t)load32(p) | ((uint64_t)load32(p + n - 4) << 32);
    } else if (n > 0) {
        w = (uint64_t)p[0] | ((uint64_t)p[n / 2] << 8) | ((uint64_t)p[n - 1] << 16);
    } else {
        w = 0;
    }
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 29;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    return (uint32_t)h;
}

static void *zalloc(size_t n, int secure)
{
    if (n == 0)
        n = 1;
    return secure ? sr_secure_alloc(n) : calloc(1, n);
}

static void zfree(void *p, size_t n, int secure)
{
    if (p == NULL)
        return;
    if (n == 0)
        n = 1;
    if (secure) {
        sr_secure_free(p, n);
    } else {
        sr_memzero(p, n);
        free(p);
    }
}

static void index_free(sr_chunk *c)
{
    dict_index *ix = c->dict_index;
    if (ix == NULL)
        return;
    free(ix->slots);
    free(ix);
    c->dict_index = NULL;
}

int sr_chunk_init(sr_chunk *c, sr_type type, size_t cap, int secure, sr_error *err)
{
    memset(c, 0, sizeof *c);
    if (!type_valid((int)type))
        return sr_error_set(err, SR_EINVAL, "invalid column type %d", (int)type);
    if (cap > SR_CHUNK_MAX_ROWS)
        return sr_error_set(err, SR_ELIMIT, "chunk capacity %zu exceeds %u rows", cap,
                            (unsigned)SR_CHUNK_MAX_ROWS);
    c->type = type;
    c->cap = cap;
    c->secure = secure ? 1 : 0;
    void *v = zalloc(cap * type_width(type), c->secure);
    if (v == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a %zu-row chunk", cap);
    c->v.i64 = v;
    if (c->secure)
        sr_buf_init_secure(&c->dict_bytes);
    else
        sr_buf_init(&c->dict_bytes);
    if (type == SR_TYPE_STRING) {
        c->dict_cap = 16;
        c->dict_offsets = calloc(c->dict_cap + 1, sizeof(uint32_t));
        /* dict_bytes always has storage, so entry pointers are never NULL */
        if (c->dict_offsets == NULL || sr_buf_reserve(&c->dict_bytes, 16, NULL) != SR_OK) {
            sr_chunk_free(c);
            return sr_error_set(err, SR_ENOMEM, "out of memory for a dictionary");
        }
    }
    return SR_OK;
}

void sr_chunk_reset(sr_chunk *c)
{
    if (c->nulls != NULL)
        memset(c->nulls, 0, (c->cap + 7) / 8);
    if (c->v.i64 != NULL && c->nrows > 0)
        memset(c->v.i64, 0, c->nrows * type_width(c->type));
    c->nrows = 0;
    c->null_count = 0;
    if (c->type == SR_TYPE_STRING) {
        c->dict_count = 0;
        if (c->dict_offsets != NULL)
            c->dict_offsets[0] = 0;
        sr_buf_reset(&c->dict_bytes);
        dict_index *ix = c->dict_index;
        if (ix != NULL)
            memset(ix->slots, 0, ix->nslots * sizeof(uint32_t));
    }
}

void sr_chunk_free(sr_chunk *c)
{
    if (c == NULL)
        return;
    zfree(c->nulls, (c->cap + 7) / 8, c->secure);
    zfree(c->v.i64, c->cap * type_width(c->type), c->secure);
    free(c->dict_offsets);
    sr_buf_free(&c->dict_bytes);
    index_free(c);
    memset(c, 0, sizeof *c);
}

static int ensure_room(sr_chunk *c, sr_error *err)
{
    if (c->nrows >= c->cap)
        return sr_error_set(err, SR_ELIMIT, "chunk full (%zu rows)", c->cap);
    return SR_OK;
}

int sr_chunk_append_null(sr_chunk *c, sr_error *err)
{
    int rc = ensure_room(c, err);
    if (rc != SR_OK)
        return rc;
    if (c->nulls == NULL) {
        c->nulls = zalloc((c->cap + 7) / 8, c->secure);
        if (c->nulls == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory for a null bitmap");
    }
    size_t i = c->nrows;
    c->nulls[i >> 3] |= (uint8_t)(1u << (i & 7));
    /* values of null rows stay 0 (storage is zeroed) */
    c->null_count++;
    c->nrows++;
    return SR_OK;
}

int sr_chunk_append_i64(sr_chunk *c, int64_t v, sr_error *err)
{
    int rc = ensure_room(c, err);
    if (rc != SR_OK)
        return rc;
    if (c->type != SR_TYPE_INT64)
        return sr_error_set(err, SR_EINVAL, "append int to a %s chunk", sr_type_name(c->type));
    c->v.i64[c->nrows++] = v;
    return SR_OK;
}

int sr_chunk_append_f64(sr_chunk *c, double v, sr_error *err)
{
    int rc = ensure_room(c, err);
    if (rc != SR_OK)
        return rc;
    if (c->type != SR_TYPE_FLOAT64)
        return sr_error_set(err, SR_EINVAL, "append float to a %s chunk", sr_type_name(c->type));
    c->v.f64[c->nrows++] = v;
    return SR_OK;
}

int sr_chunk_append_bool(sr_chunk *c, int v, sr_error *err)
{
    int rc = ensure_room(c, err);
    if (rc != SR_OK)
        return rc;
    if (c->type != SR_TYPE_BOOL)
        return sr_error_set(err, SR_EINVAL, "append bool to a %s chunk", sr_type_name(c->type));
    c->v.b[c->nrows++] = v ? 1 : 0;
    return SR_OK;
}

int sr_chunk_append_date(sr_chunk *c, int32_t days, sr_error *err)
{
    int rc = ensure_room(c, err);
    if (rc != SR_OK)
        return rc;
    if (c->type != SR_TYPE_DATE)
        return sr_error_set(err, SR_EINVAL, "append date to a %s chunk", sr_type_name(c->type));
    if (days < SR_DATE_MIN || days > SR_DATE_MAX)
        return sr_error_set(err, SR_EINVAL, "date %ld outside 0001-01-01..9999-12-31", (long)days);
    c->v.date[c->nrows++] = days;
    return SR_OK;
}

static inline int entry_equals(const sr_chunk *c, size_t k, const uint8_t *s, size_t n)
{
    uint32_t off = c->dict_offsets[k];
    if (c->dict_offsets[k + 1] - off != n)
        return 0;
    const uint8_t *p = c->dict_bytes.data + off;
    if (n >= 8 && n <= 16) /* two overlapping 8-byte compares */
        return load64(p) == load64(s) && load64(p + n - 8) == load64(s + n - 8);
    if (n >= 4 && n < 8)
        return load32(p) == load32(s) && load32(p + n - 4) == load32(s + n - 4);
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            if (p[i] != s[i])
                return 0;
        return 1;
    }
    return memcmp(p, s, n) == 0;
}

/* (Re)builds the slots of c's index with nslots slots from the
 * dictionary. *dup (if not NULL) is set when two entries are equal. */
static int index_fill(sr_chunk *c, size_t nslots, int *dup, sr_error *err)
{
    dict_index *ix = c->dict_index;
    uint32_t *slots = calloc(nslots, sizeof(uint32_t));
    if (slots == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a dictionary index");
    free(ix->slots);
    ix->slots = slots;
    ix->nslots = nslots;
    size_t mask = nslots - 1;
    for (size_t k = 0; k < c->dict_count; k++) {
        const uint8_t *p = c->dict_bytes.data + c->dict_offsets[k];
        size_t n = c->dict_offsets[k + 1] - c->dict_offsets[k];
        uint32_t h = str_hash(p, n), tag = h >> SLOT_CODE_BITS;
        size_t s = h & mask;
        while (slots[s] != 0) {
            uint32_t e = slots[s];
            if (dup != NULL && (e >> SLOT_CODE_BITS) == tag && entry_equals(c, (e & SLOT_CODE_MASK) - 1, p, n))
                *dup = 1;
            s = (s + 1) & mask;
        }
        slots[s] = (tag << SLOT_CODE_BITS) | (uint32_t)(k + 1);
    }
    return SR_OK;
}

/* Creates the index for a chunk that has none (new, or decoded). *dup (if
 * not NULL) is set when two dictionary entries are equal. */
static int index_create(sr_chunk *c, int *dup, sr_error *err)
{
    dict_index *ix = calloc(1, sizeof *ix);
    if (ix == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a dictionary index");
    c->dict_index = ix;
    size_t nslots = 64;
    while (3 * nslots < 4 * (c->dict_count + 1))
        nslots *= 2;
    return index_fill(c, nslots, dup, err);
}

/* Finds s in the dictionary, adding it if new; *code receives its code. */
static int dict_lookup_add(sr_chunk *c, const uint8_t *s, size_t n, uint32_t *code, sr_error *err)
{
    int rc;
    if (c->dict_index == NULL && (rc = index_create(c, NULL, err)) != SR_OK)
        return rc;
    dict_index *ix = c->dict_index;
    uint32_t h = str_hash(s, n), tag = h >> SLOT_CODE_BITS;
    size_t mask = ix->nslots - 1;
    size_t slot = h & mask;
    for (;;) {
        uint32_t e = ix->slots[slot];
        if (e == 0)
            break;
        if ((e >> SLOT_CODE_BITS) == tag) {
            size_t k = (e & SLOT_CODE_MASK) - 1;
            if (entry_equals(c, k, s, n)) {
                *code = (uint32_t)k;
                return SR_OK;
            }
        }
        slot = (slot + 1) & mask;
    }
    /* new entry */
    if (c->dict_bytes.len + n > UINT32_MAX)
        return sr_error_set(err, SR_ELIMIT, "chunk dictionary larger than 4 GiB");
    if (c->dict_count == c->dict_cap) {
        size_t ncap = c->dict_cap * 2;
        uint32_t *no = realloc(c->dict_offsets, (ncap + 1) * sizeof(uint32_t));
        if (no == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory for a dictionary");
        c->dict_offsets = no;
        c->dict_cap = ncap;
    }
    if ((rc = sr_buf_append(&c->dict_bytes, s, n, err)) != SR_OK)
        return rc;
    size_t k = c->dict_count++;
    c->dict_offsets[k + 1] = (uint32_t)c->dict_bytes.len;
    ix->slots[slot] = (tag << SLOT_CODE_BITS) | (uint32_t)(k + 1);
    if (4 * c->dict_count > 3 * ix->nslots && (rc = index_fill(c, ix->nslots * 2, NULL, err)) != SR_OK)
        return rc;
    *code = (uint32_t)k;
    return SR_OK;
}

int sr_chunk_append_str(sr_chunk *c, const char *s, size_t n, sr_error *err)
{
    int rc = ensure_room(c, err);
    if (rc != SR_OK)
        return rc;
    if (c->type != SR_TYPE_STRING)
        return sr_error_set(err, SR_EINVAL, "append string to a %s chunk", sr_type_name(c->type));
    uint32_t code = 0;
    if ((rc = dict_lookup_add(c, (const uint8_t *)s, n, &code, err)) != SR_OK)
        return rc;
    c->v.codes[c->nrows++] = code;
    return SR_OK;
}

const char *sr_chunk_str(const sr_chunk *c, size_t i, size_t *n)
{
    if (c->type != SR_TYPE_STRING || i >= c->nrows || sr_chunk_is_null(c, i)) {
        *n = 0;
        return "";
    }
    uint32_t k = c->v.codes[i];
    if (k >= c->dict_count) {
        *n = 0;
        return "";
    }
    uint32_t off = c->dict_offsets[k];
    *n = c->dict_offsets[k + 1] - off;
    return c->dict_bytes.len ? (const char *)c->dict_bytes.data + off : "";
}

/* ---------------------------------------------------------------- batches */

int sr_batch_init(sr_batch *b, const sr_schema *s, size_t cap, int secure, sr_error *err)
{
    memset(b, 0, sizeof *b);
    if (s == NULL || s->ncols == 0 || s->ncols > SR_MAX_COLUMNS)
        return sr_error_set(err, SR_EINVAL, "schema must have 1..%d columns", SR_MAX_COLUMNS);
    b->cols = calloc(s->ncols, sizeof(sr_chunk));
    if (b->cols == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a batch");
    for (size_t i = 0; i < s->ncols; i++) {
        int rc = sr_chunk_init(&b->cols[i], s->cols[i].type, cap, secure, err);
        if (rc != SR_OK) {
            b->ncols = i;
            sr_batch_free(b);
            return sr_error_prefix(err, "column %zu (%.64s)", i + 1, s->cols[i].name);
        }
    }
    b->ncols = s->ncols;
    return SR_OK;
}

void sr_batch_reset(sr_batch *b)
{
    for (size_t i = 0; i < b->ncols; i++)
        sr_chunk_reset(&b->cols[i]);
    b->nrows = 0;
}

void sr_batch_free(sr_batch *b)
{
    if (b == NULL)
        return;
    if (b->cols != NULL) {
        for (size_t i = 0; i < b->ncols; i++)
            sr_chunk_free(&b->cols[i]);
        free(b->cols);
    }
    memset(b, 0, sizeof *b);
}

/* ---------------------------------------------------------------- encoding */

#define CHUNK_FLAG_NULLS 0x01u
#define CHUNK_HEADER 8u

static unsigned code_width(size_t dict_count)
{
    if (dict_count <= 0x100)
        return 1;
    if (dict_count <= 0x10000)
        return 2;
    return 4;
}

int sr_chunk_encode(const sr_chunk *c, sr_buf *out, sr_error *err)
{
    int rc;
    if (!type_valid((int)c->type))
        return sr_error_set(err, SR_EINVAL, "invalid column type %d", (int)c->type);
    if (c->nrows > SR_CHUNK_MAX_ROWS)
        return sr_error_set(err, SR_ELIMIT, "chunk has too many rows");
    size_t n = c->nrows;
    int has_nulls = c->null_count > 0 && c->nulls != NULL;
    unsigned width = c->type == SR_TYPE_STRING ? code_width(c->dict_count) : 0;
    size_t bitmap = has_nulls ? (n + 7) / 8 : 0;
    size_t body;
    if (c->type == SR_TYPE_STRING)
        body = 4 + 4 * (c->dict_count + 1) + c->dict_bytes.len + n * width;
    else
        body = n * type_width(c->type);
    if ((rc = sr_buf_reserve(out, CHUNK_HEADER + bitmap + body, err)) != SR_OK)
        return rc;
    uint8_t *p = out->data + out->len;
    p[0] = (uint8_t)c->type;
    p[1] = has_nulls ? CHUNK_FLAG_NULLS : 0;
    p[2] = (uint8_t)width;
    p[3] = 0;
    sr_store_le32(p + 4, (uint32_t)n);
    p += CHUNK_HEADER;
    if (has_nulls) {
        memcpy(p, c->nulls, bitmap);
        if (n & 7)
            p[bitmap - 1] &= (uint8_t)((1u << (n & 7)) - 1);
        p += bitmap;
    }
    switch (c->type) {
    case SR_TYPE_INT64:
        for (size_t i = 0; i < n; i++, p += 8)
            sr_store_le64(p, sr_chunk_is_null(c, i) ? 0 : (uint64_t)c->v.i64[i]);
        break;
    case SR_TYPE_FLOAT64:
        for (size_t i = 0; i < n; i++, p += 8) {
            uint64_t bits = 0;
            if (!sr_chunk_is_null(c, i))
                memcpy(&bits, &c->v.f64[i], 8);
            sr_store_le64(p, bits);
        }
        break;
    case SR_TYPE_BOOL:
        for (size_t i = 0; i < n; i++)
            *p++ = (!sr_chunk_is_null(c, i) && c->v.b[i]) ? 1 : 0;
        break;
    case SR_TYPE_DATE:
        for (size_t i = 0; i < n; i++, p += 4)
            sr_store_le32(p, sr_chunk_is_null(c, i) ? 0 : (uint32_t)c->v.date[i]);
        break;
    case SR_TYPE_STRING:
        sr_store_le32(p, (uint32_t)c->dict_count);
        p += 4;
        for (size_t k = 0; k <= c->dict_count; k++, p += 4)
            sr_store_le32(p, c->dict_offsets[k]);
        if (c->dict_bytes.len) {
            memcpy(p, c->dict_bytes.data, c->dict_bytes.len);
            p += c->dict_bytes.len;
        }
        for (size_t i = 0; i < n; i++) {
            uint32_t code = 0;
            if (!sr_chunk_is_null(c, i))
                code = c->v.codes[i];
            if (width == 1)
                *p++ = (uint8_t)code;
            else if (width == 2) {
                sr_store_le16(p, (uint16_t)code);
                p += 2;
            } else {
                sr_store_le32(p, code);
                p += 4;
            }
        }
        break;
    }
    out->len += CHUNK_HEADER + bitmap + body;
    return SR_OK;
}

static int bad(sr_error *err, const char *what)
{
    return sr_error_set(err, SR_EFORMAT, "corrupt column chunk: %s", what);
}

/* Takes the value storage (and null bitmap) of spare into out, which is
 * zeroed, when spare is a non-string chunk of this type and secure flag
 * with room for n rows. Values past n that spare held are wiped; the rows
 * below n are all written by the decoder. Returns 1 when taken. */
static int take_storage(sr_chunk *out, sr_chunk *spare, sr_type type, size_t n, int secure)
{
    if (spare == NULL || spare->v.i64 == NULL || type == SR_TYPE_STRING || spare->type != type ||
        spare->secure != (secure ? 1 : 0) || spare->cap < n)
        return 0;
    size_t w = type_width(type);
    if (spare->nrows > n)
        sr_memzero((uint8_t *)spare->v.i64 + n * w, (spare->nrows - n) * w);
    out->type = type;
    out->cap = spare->cap;
    out->secure = spare->secure;
    out->v.i64 = spare->v.i64;
    out->nulls = spare->nulls;
    if (out->nulls != NULL)
        memset(out->nulls, 0, (out->cap + 7) / 8);
    out->dict_bytes = spare->dict_bytes; /* empty for non-string chunks */
    memset(spare, 0, sizeof *spare);
    return 1;
}

static int chunk_decode(const uint8_t *data, size_t len, sr_type expect, size_t max_rows, sr_chunk *out,
                        size_t *used, int secure, sr_chunk *spare, sr_error *err)
{
    memset(out, 0, sizeof *out);
    if (used != NULL)
        *used = 0;
    if (data == NULL || len < CHUNK_HEADER)
        return bad(err, "truncated header");
    int type = data[0];
    unsigned flags = data[1], width = data[2];
    size_t n = sr_load_le32(data + 4);
    if (!type_valid(type))
        return sr_error_set(err, SR_EFORMAT, "corrupt column chunk: unknown type %d", type);
    if ((int)expect != 0 && type != (int)expect)
        return sr_error_set(err, SR_EFORMAT, "corrupt column chunk: type %s, expected %s",
                            sr_type_name((sr_type)type), sr_type_name(expect));
    if ((flags & ~CHUNK_FLAG_NULLS) != 0 || data[3] != 0)
        return bad(err, "unknown flags");
    if (n > max_rows || n > SR_CHUNK_MAX_ROWS)
        return sr_error_set(err, SR_EFORMAT, "corrupt column chunk: %zu rows exceeds the limit of %zu",
                            n, max_rows < SR_CHUNK_MAX_ROWS ? max_rows : (size_t)SR_CHUNK_MAX_ROWS);
    if (type != SR_TYPE_STRING && width != 0)
        return bad(err, "code width set on a non-string chunk");
    size_t pos = CHUNK_HEADER;
    const uint8_t *bitmap = NULL;
    size_t nulls = 0;
    if (flags & CHUNK_FLAG_NULLS) {
        size_t nb = (n + 7) / 8;
        if (n == 0 || len - pos < nb)
            return bad(err, n == 0 ? "null bitmap on an empty chunk" : "truncated null bitmap");
        bitmap = data + pos;
        if ((n & 7) && (bitmap[nb - 1] >> (n & 7)) != 0)
            return bad(err, "null bitmap has bits past the last row");
        for (size_t i = 0; i < nb; i++)
            nulls += (size_t)__builtin_popcount(bitmap[i]);
        if (nulls == 0)
            return bad(err, "null bitmap present but empty");
        pos += nb;
    }
    /* the values need at least one byte per row (string codes) or the type
     * width: check before allocating, so allocation follows the input size */
    if ((len - pos) / (type == SR_TYPE_STRING ? 1 : type_width((sr_type)type)) < n)
        return bad(err, "truncated values");
#define ISNULL(i) (bitmap != NULL && ((bitmap[(i) >> 3] >> ((i) & 7)) & 1))
    int rc = SR_OK;
    if (!take_storage(out, spare, (sr_type)type, n, secure) &&
        (rc = sr_chunk_init(out, (sr_type)type, n, secure, err)) != SR_OK)
        return rc;
    if (bitmap != NULL) {
        if (out->nulls == NULL)
            out->nulls = zalloc((out->cap + 7) / 8, out->secure);
        if (out->nulls == NULL) {
            sr_chunk_free(out);
            return sr_error_set(err, SR_ENOMEM, "out of memory for a null bitmap");
        }
        memcpy(out->nulls, bitmap, (n + 7) / 8);
        out->null_count = nulls;
    }
    const char *why = NULL;
    switch (type) {
    case SR_TYPE_INT64:
    case SR_TYPE_FLOAT64:
        if ((len - pos) / 8 < n) {
            why = "truncated values";
            break;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (bitmap == NULL) { /* no nulls to check: the stored form is the memory form */
            memcpy(out->v.i64, data + pos, 8 * n);
            pos += 8 * n;
            break;
        }
#endif
        for (size_t i = 0; i < n; i++) {
            uint64_t v = sr_load_le64(data + pos + 8 * i);
            if (v != 0 && ISNULL(i)) {
                why = "null row with a value";
                break;
            }
            memcpy(&out->v.i64[i], &v, 8);
        }
        pos += 8 * n;
        break;
    case SR_TYPE_BOOL:
        if (len - pos < n) {
            why = "truncated values";
            break;
        }
        for (size_t i = 0; i < n; i++) {
            uint8_t v = data[pos + i];
            if (v > 1) {
                why = "bool value not 0 or 1";
                break;
            }
            if (v != 0 && ISNULL(i)) {
                why = "null row with a value";
                break;
            }
            out->v.b[i] = v;
        }
        pos += n;
        break;
    case SR_TYPE_DATE:
        if ((len - pos) / 4 < n) {
            why = "truncated values";
            break;
        }
        for (size_t i = 0; i < n; i++) {
            int32_t v = (int32_t)sr_load_le32(data + pos + 4 * i);
            if (ISNULL(i)) {
                if (v != 0) {
                    why = "null row with a value";
                    break;
                }
            } else if (v < SR_DATE_MIN || v > SR_DATE_MAX) {
                why = "date outside 0001-01-01..9999-12-31";
                break;
            }
            out->v.date[i] = v;
        }
        pos += 4 * n;
        break;
    case SR_TYPE_STRING: {
        if (len - pos < 4) {
            why = "truncated dictionary count";
            break;
        }
        size_t count = sr_load_le32(data + pos);
        pos += 4;
        if (count > n) {
            why = "dictionary larger than the row count";
            break;
        }
        if (width != code_width(count)) {
            why = "code width does not match the dictionary size";
            break;
        }
        if ((len - pos) / 4 < count + 1) {
            why = "truncated dictionary offsets";
            break;
        }
        const uint8_t *offs = data + pos;
        pos += 4 * (count + 1);
        if (sr_load_le32(offs) != 0) {
            why = "first dictionary offset not 0";
            break;
        }
        size_t total = sr_load_le32(offs + 4 * count);
        if (len - pos < total) {
            why = "truncated dictionary bytes";
            break;
        }
        const uint8_t *bytes = data + pos;
        pos += total;
        uint32_t *no = realloc(out->dict_offsets, (count + 1) * sizeof(uint32_t));
        if (no == NULL) {
            sr_chunk_free(out);
            return sr_error_set(err, SR_ENOMEM, "out of memory for a dictionary");
        }
        out->dict_offsets = no;
        out->dict_cap = count > 0 ? count : 1;
        if (count == 0) { /* keep room for one entry so appends can grow it */
            no = realloc(out->dict_offsets, 2 * sizeof(uint32_t));
            if (no == NULL) {
                sr_chunk_free(out);
                return sr_error_set(err, SR_ENOMEM, "out of memory for a dictionary");
            }
            out->dict_offsets = no;
        }
        uint32_t prev = 0;
        for (size_t k = 0; k <= count; k++) {
            uint32_t o = sr_load_le32(offs + 4 * k);
            if (o < prev || o > total) {
                why = "dictionary offsets out of order";
                break;
            }
            out->dict_offsets[k] = o;
            prev = o;
        }
        if (why != NULL)
            break;
        for (size_t k = 0; k < count; k++) { /* each entry on its own */
            size_t o = out->dict_offsets[k], l = out->dict_offsets[k + 1] - o;
            if (sr_utf8_check(bytes + o, l) != l) {
                why = "dictionary entry is not valid UTF-8";
                break;
            }
        }
        if (why != NULL)
            break;
        if ((rc = sr_buf_append(&out->dict_bytes, bytes, total, err)) != SR_OK) {
            sr_chunk_free(out);
            return rc;
        }
        out->dict_count = count;
        if ((len - pos) / width < n) {
            why = "truncated codes";
            break;
        }
        for (size_t i = 0; i < n; i++) {
            const uint8_t *q = data + pos + width * i;
            uint32_t code = width == 1 ? q[0] : width == 2 ? sr_load_le16(q) : sr_load_le32(q);
            if (ISNULL(i)) {
                if (code != 0) {
                    why = "null row with a value";
                    break;
                }
            } else if (code >= count) {
                why = "string code out of range";
                break;
            }
            out->v.codes[i] = code;
        }
        if (why != NULL)
            break;
        pos += width * n;
        /* dictionary entries must be distinct: build the index and check */
        int dup = 0;
        if ((rc = index_create(out, &dup, err)) != SR_OK) {
            sr_chunk_free(out);
            return rc;
        }
        if (dup)
            why = "duplicate dictionary entry";
        break;
    }
    }
#undef ISNULL
    if (why != NULL) {
        sr_chunk_free(out);
        return bad(err, why);
    }
    out->nrows = n;
    if (used != NULL)
        *used = pos;
    return SR_OK;
}

int sr_chunk_decode(const uint8_t *data, size_t len, sr_type expect, size_t max_rows, sr_chunk *out,
                    size_t *used, int secure, sr_error *err)
{
    return chunk_decode(data, len, expect, max_rows, out, used, secure, NULL, err);
}

int sr_chunk_decode_reuse(const uint8_t *data, size_t len, sr_type expect, size_t max_rows, sr_chunk *out,
                          size_t *used, int secure, sr_error *err)
{
    sr_chunk spare = *out;
    int rc = chunk_decode(data, len, expect, max_rows, out, used, secure, &spare, err);
    sr_chunk_free(&spare);
    return rc;
}

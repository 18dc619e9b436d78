/* sealroom: streaming RFC 4180 CSV reader (sequential and block-parallel)
 * and writer. Specification: docs/CSV.md. */
#include "sealroom/csv.h"
#include "sealroom/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define READ_BUF_SIZE (1u << 20) /* file read buffer: memory independent of file size */
#define INFER_BLOCK 8192         /* records per block while inferring */

struct sr_csv_reader {
    int fd;              /* -1 for memory input */
    const uint8_t *data; /* current window data[pos..end) */
    uint8_t *buf;        /* file read buffer (READ_BUF_SIZE) */
    size_t pos, end;
    uint64_t base; /* input offset of data[0] */
    int eof;       /* nothing beyond end */
    uint64_t total;
    uint64_t line; /* line number of the next byte at the splitter */
    uint64_t data_off, data_line;
    size_t ncols;
    char (*names)[SR_MAX_NAME];
    sr_csv_block blk; /* used by sr_csv_read_batch */
};

/* ---------------------------------------------------------------- helpers */

/* Length of the valid UTF-8 sequence starting with a byte >= 0x80 at p, or
 * 0 if it is invalid or truncated (same rules as sr_utf8_check). */
static inline size_t utf8_seq(const uint8_t *p, size_t avail)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < need; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    }
    return need;
}

/* Character classes for the tight scanning loops: nonzero = stop. */
static const uint8_t UCLS[256] = {
    [0] = 1, [','] = 1, ['\n'] = 1, ['\r'] = 1, ['"'] = 1, [0x80 ... 0xFF] = 1,
};
static const uint8_t QCLS[256] = {
    [0] = 1, ['\n'] = 1, ['"'] = 1, [0x80 ... 0xFF] = 1,
};

/* Advances q to the first byte at or after q with cls[byte] != 0 (or to
 * end). With SSE2, 16 bytes at a time: every stop byte is below 45 as a
 * signed char (',', '"', CR, LF, NUL, and the bytes >= 0x80), so one signed
 * compare finds the candidates, and the table settles each. */
static inline __attribute__((always_inline)) const uint8_t *skip_plain(const uint8_t *q, const uint8_t *end,
                                                                     const uint8_t *cls)
{
#ifdef __SSE2__
    const __m128i lim = _mm_set1_epi8(45);
    while (end - q >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, lim));
        while (mask) {
            unsigned b = (unsigned)__builtin_ctz(mask);
            if (cls[q[b]])
                return q + b;
            mask &= mask - 1;
        }
        q += 16;
    }
#endif
    while (q < end && !cls[*q])
        q++;
    return q;
}

/* Quoted preview of a value for error messages: at most 40 bytes,
 * non-printable bytes as \xHH. */
static void preview(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 8 < cap; i++) {
        if (i == 40) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        uint8_t c = p[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            out[o++] = (char)c;
        } else {
            static const char hx[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hx[c >> 4];
            out[o++] = hx[c & 15];
        }
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* ---------------------------------------------------------------- values */

int sr_csv_parse_int(const char *s, size_t n, int64_t *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    int neg = 0, ovf = 0;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == n)
        return SR_EFORMAT;
    uint64_t v = 0;
    if (n - i <= 19) { /* at most 19 digits: fits in uint64 without checks */
        for (; i < n; i++) {
            unsigned d = (unsigned)p[i] - '0';
            if (d > 9)
                return SR_EFORMAT;
            v = v * 10 + d;
        }
    }
    for (; i < n; i++) {
        unsigned d = (unsigned)p[i] - '0';
        if (d > 9)
            return SR_EFORMAT;
        if (v > (UINT64_MAX - d) / 10)
            ovf = 1;
        else
            v = v * 10 + d;
    }
    if (ovf)
        return SR_ELIMIT;
    if (neg) {
        if (v > (uint64_t)INT64_MAX + 1)
            return SR_ELIMIT;
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return SR_ELIMIT;
        *out = (int64_t)v;
    }
    return SR_OK;
}

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int sr_csv_parse_float(const char *s, size_t n, double *out)
{
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    int neg = 0;
    if (n > 0 && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    uint64_t m = 0;
    int sig = 0, digits = 0;
    long frac = 0, dropped = 0;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
        if (m == 0 && p[i] == '0')
            continue;
        if (sig < 19) {
            m = m * 10 + (unsigned)(p[i] - '0');
            sig++;
        } else {
            dropped++;
        }
    }
    if (i < n && p[i] == '.') {
        i++;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, digits++) {
            if (m == 0 && p[i] == '0') {
                frac++;
                continue;
            }
            if (sig < 19) {
                m = m * 10 + (unsigned)(p[i] - '0');
                sig++;
                frac++;
            } else {
                dropped++; /* beyond 19 digits: slow path below */
            }
        }
    }
    if (digits == 0)
        return SR_EFORMAT;
    long e = 0;
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < n && (p[i] == '-' || p[i] == '+')) {
            eneg = p[i] == '-';
            i++;
        }
        int ed = 0;
        for (; i < n && p[i] >= '0' && p[i] <= '9'; i++, ed++) {
            if (e < 100000)
                e = e * 10 + (p[i] - '0');
        }
        if (ed == 0)
            return SR_EFORMAT;
        if (eneg)
            e = -e;
    }
    if (i != n)
        return SR_EFORMAT;
    long e10 = e - frac;
    if (dropped == 0 && sig <= 15 && e10 >= -22 && e10 <= 22) {
        /* m < 10^15 < 2^53 and 10^|e10| are exact doubles: one correctly
         * rounded operation gives the correctly rounded result. */
        double v = (double)m;
        v = e10 < 0 ? v / pow10_exact[-e10] : v * pow10_exact[e10];
        *out = neg ? -v : v;
        return SR_OK;
    }
    char tmp[256];
    if (n >= sizeof tmp)
        return SR_EFORMAT;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    char *endp = NULL;
    double v = strtod(tmp, &endp);
    if (endp != tmp + n)
        return SR_EFORMAT;
    if (isinf(v))
        return SR_ELIMIT;
    *out = v;
    return SR_OK;
}

/* Case-insensitive match of p[0..n) against the lowercase ASCII word w. */
static inline int is_word(const uint8_t *p, size_t n, const char *w, size_t wn)
{
    if (n != wn)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if ((p[i] | 0x20) != (uint8_t)w[i])
            return 0;
    }
    return 1;
}

int sr_csv_parse_bool(const char *s, size_t n, int *out)
{
    const uint8_t *p = (const uint8_t *)s;
    if (is_word(p, n, "true", 4) || (n == 1 && p[0] == '1')) {
        *out = 1;
        return SR_OK;
    }
    if (is_word(p, n, "false", 5) || (n == 1 && p[0] == '0')) {
        *out = 0;
        return SR_OK;
    }
    return SR_EFORMAT;
}

/* Fast path of sr_csv_format_float for values with at most 6 decimals and
 * 15 significant digits in %g's fixed-notation range (1e-4 <= |v| < 1e15):
 * v is the double nearest to k / 10^d, so %.15g prints exactly the digits
 * of k / 10^d (v is within 1.1e-16 relative of it, far inside half a unit
 * of the 15th digit), and that text reads back to v. Writes that text and
 * returns 1, or returns 0 to let snprintf decide. */
static int format_float_fast(double v, char *out)
{
    static const double p10[7] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    double a = fabs(v);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (int d = 0; d <= 6; d++) {
        double sc = v * p10[d];
        if (fabs(sc) >= 1e15)
            return 0; /* more than 15 significant digits */
        int64_t k = (int64_t)nearbyint(sc);
        if ((double)k / p10[d] != v)
            continue;
        uint64_t u = k < 0 ? (uint64_t)0 - (uint64_t)k : (uint64_t)k;
        char digits[24];
        int nd = 0;
        do {
            digits[nd++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        while (nd <= d)
            digits[nd++] = '0'; /* leading zeros of the fraction: 0.00012 */
        int frac = d;
        while (frac > 0 && digits[d - frac] == '0')
            frac--; /* trailing zeros of the fraction */
        char *o = out;
        if (v < 0)
            *o++ = '-';
        for (int i = nd - 1; i >= d; i--)
            *o++ = digits[i];
        if (frac > 0) {
            *o++ = '.';
            for (int i = d - 1; i >= d - frac; i--)
                *o++ = digits[i];
        }
        *o = '\0';
        return 1;
    }
    return 0;
}

void sr_csv_format_float(double v, char out[32])
{
    if (format_float_fast(v, out))
        return;
    if (isnan(v)) {
        strcpy(out, "nan");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v < 0 ? "-inf" : "inf");
        return;
    }
    static const char *fmts[3] = {"%.15g", "%.16g", "%.17g"};
    for (int k = 0; k < 3; k++) {
        snprintf(out, 32, fmts[k], v);
        double back = strtod(out, NULL);
        if (memcmp(&back, &v, sizeof v) == 0)
            return;
    }
}

/* ---------------------------------------------------------------- tokenizer */

typedef struct tok {
    const uint8_t *d;
    size_t len, pos;
    uint64_t line;
    sr_buf *scratch;
    const char *why; /* error, when next_field returns -1 */
} tok;

typedef struct field {
    const uint8_t *p;
    size_t n;
    int quoted;
} field;

/* Reads one field at t->pos. Returns 0 if a ',' follows (more fields), 1 if
 * the record ended (line end or end of block), -1 on error (t->why). */
static inline __attribute__((always_inline)) int next_field(tok *t, field *f, const uint8_t *ucls,
                                                            const uint8_t *qcls)
{
    const uint8_t *d = t->d, *end = d + t->len;
    const uint8_t *p = d + t->pos;
    if (p < end && *p == '"') {
        const uint8_t *q = p + 1, *start = q;
        int copied = 0;
        for (;;) {
            q = skip_plain(q, end, qcls);
            if (q >= end) {
                t->why = "unterminated quoted field";
                return -1;
            }
            uint8_t c = *q;
            if (c == '"') {
                if (q + 1 < end && q[1] == '"') {
                    if (!copied) {
                        t->scratch->len = 0;
                        copied = 1;
                    }
                    if ((size_t)(q + 1 - start) > SR_CSV_MAX_FIELD ||
                        t->scratch->len > SR_CSV_MAX_FIELD) {
                        t->why = "field longer than 1 MiB";
                        return -1;
                    }
                    if (sr_buf_append(t->scratch, start, (size_t)(q + 1 - start), NULL) != SR_OK) {
                        t->why = "out of memory";
                        return -1;
                    }
                    q += 2;
                    start = q;
                    continue;
                }
                break;
            }
            if (c == '\n') {
                t->line++;
                q++;
                continue;
            }
            if (c == 0) {
                t->why = "NUL byte in field";
                return -1;
            }
            size_t k = utf8_seq(q, (size_t)(end - q));
            if (k == 0) {
                t->why = "invalid UTF-8";
                return -1;
            }
            q += k;
        }
        if (copied) {
            if (sr_buf_append(t->scratch, start, (size_t)(q - start), NULL) != SR_OK) {
                t->why = "out of memory";
                return -1;
            }
            f->p = t->scratch->data;
            f->n = t->scratch->len;
        } else {
            f->p = start;
            f->n = (size_t)(q - start);
        }
        f->quoted = 1;
        p = q + 1;
    } else {
        const uint8_t *q = p;
        for (;;) {
            q = skip_plain(q, end, ucls);
            if (q >= end)
                break;
            uint8_t c = *q;
            if (c == ',' || c == '\n' || c == '\r')
                break;
            if (c == '"') {
                t->why = "quote inside an unquoted field";
                return -1;
            }
            if (c == 0) {
                t->why = "NUL byte in field";
                return -1;
            }
            size_t k = utf8_seq(q, (size_t)(end - q));
            if (k == 0) {
                t->why = "invalid UTF-8";
                return -1;
            }
            q += k;
        }
        f->p = p;
        f->n = (size_t)(q - p);
        f->quoted = 0;
        p = q;
    }
    if (f->n > SR_CSV_MAX_FIELD) {
        t->why = "field longer than 1 MiB";
        return -1;
    }
    if (p >= end) {
        t->pos = t->len;
        return 1;
    }
    if (*p == ',') {
        t->pos = (size_t)(p + 1 - d);
        return 0;
    }
    if (*p == '\n') {
        t->line++;
        t->pos = (size_t)(p + 1 - d);
        return 1;
    }
    if (*p == '\r') {
        if (p + 1 < end && p[1] == '\n') {
            t->line++;
            t->pos = (size_t)(p + 2 - d);
            return 1;
        }
        t->why = "carriage return not followed by a line feed";
        return -1;
    }
    t->why = "unexpected character after the closing quote";
    return -1;
}

/* ---------------------------------------------------------------- splitter */

/* Scans p[0..n) for record boundaries (line feeds outside quotes). *inq is
 * the quote parity, *lines counts every line feed, *nrec counts records and
 * the scan stops right after record number `want`. *last receives the
 * offset just past the last boundary seen (unchanged if none) and
 * *lines_at_last the line count there. Returns the bytes consumed. */
static inline unsigned popcount16(unsigned x)
{
    x = x - ((x >> 1) & 0x5555u);
    x = (x & 0x3333u) + ((x >> 2) & 0x3333u);
    x = (x + (x >> 4)) & 0x0F0Fu;
    return (x + (x >> 8)) & 0x1Fu;
}

static size_t scan_records(const uint8_t *p, size_t n, int *inq, uint64_t *lines, size_t *nrec,
                           size_t want, size_t *last, uint64_t *lines_at_last)
{
    size_t i = 0;
    int q = *inq;
    uint64_t ln = *lines;
    size_t nr = *nrec;
#ifdef __SSE2__
    const __m128i vq = _mm_set1_epi8('"'), vn = _mm_set1_epi8('\n');
    while (i + 16 <= n) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        unsigned mq = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vq));
        unsigned mn = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, vn));
        if (mq == 0) {
            if (mn == 0) {
                i += 16;
                continue;
            }
            unsigned c = popcount16(mn);
            if (q) {
                ln += c;
                i += 16;
                continue;
            }
            if (nr + c < want) {
                nr += c;
                ln += c;
                *last = i + (31u - (unsigned)__builtin_clz(mn)) + 1;
                *lines_at_last = ln;
                i += 16;
                continue;
            }
        }
        unsigned m = mq | mn;
        while (m) {
            unsigned b = (unsigned)__builtin_ctz(m);
            m &= m - 1;
            if ((mq >> b) & 1) {
                q ^= 1;
            } else {
                ln++;
                if (!q) {
                    nr++;
                    *last = i + b + 1;
                    *lines_at_last = ln;
                    if (nr == want) {
                        *inq = q;
                        *lines = ln;
                        *nrec = nr;
                        return i + b + 1;
                    }
                }
            }
        }
        i += 16;
    }
#endif
    for (; i < n; i++) {
        uint8_t c = p[i];
        if (c == '"') {
            q ^= 1;
        } else if (c == '\n') {
            ln++;
            if (!q) {
                nr++;
                *last = i + 1;
                *lines_at_last = ln;
                if (nr == want) {
                    i++;
                    break;
                }
            }
        }
    }
    *inq = q;
    *lines = ln;
    *nrec = nr;
    return i;
}

static int fill(sr_csv_reader *r, sr_error *err)
{
    r->base += r->end;
    r->pos = r->end = 0;
    ssize_t k;
    do {
        k = read(r->fd, r->buf, READ_BUF_SIZE);
    } while (k < 0 && errno == EINTR);
    if (k < 0)
        return sr_error_set(err, SR_EIO, "reading CSV input: %s", strerror(errno));
    if (k == 0)
        r->eof = 1;
    r->end = (size_t)k;
    return SR_OK;
}

void sr_csv_block_init(sr_csv_block *blk)
{
    memset(blk, 0, sizeof *blk);
    sr_buf_init(&blk->storage);
    sr_buf_init(&blk->scratch);
}

void sr_csv_block_free(sr_csv_block *blk)
{
    if (blk == NULL)
        return;
    sr_buf_free(&blk->storage);
    sr_buf_free(&blk->scratch);
    memset(blk, 0, sizeof *blk);
}

int sr_csv_read_block(sr_csv_reader *r, size_t max_records, sr_csv_block *blk, sr_error *err)
{
    int rc;
    if (max_records == 0)
        return sr_error_set(err, SR_EINVAL, "read_block: max_records must be >= 1");
    /* reuse the storage without wiping it here: the next block overwrites
     * it, and sr_buf frees (and reallocations) always wipe */
    blk->storage.len = 0;
    blk->data = NULL;
    blk->len = 0;
    blk->nrecords = 0;
    blk->pos = 0;
    blk->offset = r->base + r->pos;
    blk->first_line = blk->line = r->line;
    const uint8_t *memstart = r->data + r->pos;
    size_t blen = 0, rec_start = 0, nrec = 0;
    uint64_t lines = 0, rec_line = r->line;
    int inq = 0;
    for (;;) {
        if (r->pos == r->end) {
            if (r->fd < 0 || r->eof)
                break;
            if ((rc = fill(r, err)) != SR_OK)
                return rc;
            if (r->end == 0)
                break;
        }
        size_t seg = r->end - r->pos, last = SIZE_MAX;
        uint64_t lines_at_last = 0;
        size_t used = scan_records(r->data + r->pos, seg, &inq, &lines, &nrec, max_records, &last,
                                   &lines_at_last);
        if (last != SIZE_MAX) {
            rec_start = blen + last;
            rec_line = r->line + lines_at_last;
        }
        if (r->fd >= 0 && (rc = sr_buf_append(&blk->storage, r->data + r->pos, used, err)) != SR_OK)
            return rc;
        blen += used;
        r->pos += used;
        if (nrec == max_records)
            break;
        if (blen - rec_start > SR_CSV_MAX_LINE)
            return sr_error_set(err, SR_EFORMAT,
                                "line %" PRIu64 ": record longer than %u bytes (unterminated quoted field?)",
                                rec_line, (unsigned)SR_CSV_MAX_LINE);
    }
    if (blen > rec_start)
        nrec++; /* last record without a final line feed */
    r->line += lines;
    blk->data = r->fd >= 0 ? blk->storage.data : memstart;
    blk->len = blen;
    blk->nrecords = nrec;
    return SR_OK;
}

/* ---------------------------------------------------------------- parser */

/* Error for a field; the value preview is shown when p is not NULL. Takes
 * the value by pointer and length (not the field struct) so the parser's
 * state can stay in registers. */
static __attribute__((noinline, cold)) int field_error(sr_error *err, uint64_t line, size_t col,
                                                       const char *name, const char *why,
                                                       const uint8_t *p, size_t n)
{
    char pv[200];
    if (p != NULL) {
        preview(p, n, pv, sizeof pv);
        return sr_error_set(err, SR_EFORMAT, "line %" PRIu64 ", column %zu (%.64s): %s: %s", line, col,
                            name, why, pv);
    }
    return sr_error_set(err, SR_EFORMAT, "line %" PRIu64 ", column %zu (%.64s): %s", line, col, name,
                        why);
}

static int set_null(sr_chunk *c, size_t row, sr_error *err)
{
    if (c->nulls == NULL) {
        size_t nb = (c->cap + 7) / 8;
        c->nulls = c->secure ? sr_secure_alloc(nb ? nb : 1) : calloc(1, nb ? nb : 1);
        if (c->nulls == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory for a null bitmap");
    }
    c->nulls[row >> 3] |= (uint8_t)(1u << (row & 7));
    c->null_count++;
    return SR_OK;
}

int sr_csv_parse_block(sr_csv_block *blk, const sr_schema *s, sr_batch *b, sr_error *err)
{
    if (s == NULL || b == NULL || b->ncols != s->ncols || s->ncols == 0)
        return sr_error_set(err, SR_EINVAL, "parse_block: batch and schema differ");
    size_t ncols = s->ncols, cap = SIZE_MAX;
    for (size_t j = 0; j < ncols; j++) {
        if (b->cols[j].type != s->cols[j].type)
            return sr_error_set(err, SR_EINVAL, "parse_block: batch column %zu is not %s", j + 1,
                                sr_type_name(s->cols[j].type));
        if (b->cols[j].cap < cap)
            cap = b->cols[j].cap;
    }
    if (cap == 0) /* would never make progress */
        return sr_error_set(err, SR_EINVAL, "parse_block: batch has no capacity");
    sr_batch_reset(b);
    const uint8_t *ucls = UCLS, *qcls = QCLS;
    tok t = {blk->data, blk->len, blk->pos, blk->line, &blk->scratch, NULL};
    field f;
    int rc;
    while (b->nrows < cap && t.pos < t.len) {
        size_t row = b->nrows;
        for (size_t j = 0;; j++) {
            uint64_t fline = t.line;
            int r = next_field(&t, &f, ucls, qcls);
            if (r < 0)
                return field_error(err, fline, j + 1, j < ncols ? s->cols[j].name : "?", t.why, NULL, 0);
            if (j >= ncols)
                return sr_error_set(err, SR_EFORMAT,
                                    "line %" PRIu64 ", column %zu: extra field (the header has %zu columns)",
                                    fline, j + 1, ncols);
            sr_chunk *c = &b->cols[j];
            const char *name = s->cols[j].name;
            if (f.n == 0 && (!f.quoted || c->type != SR_TYPE_STRING)) {
                if ((rc = set_null(c, row, err)) != SR_OK)
                    return rc;
            } else {
                switch (c->type) {
                case SR_TYPE_INT64:
                    rc = sr_csv_parse_int((const char *)f.p, f.n, &c->v.i64[row]);
                    if (rc != SR_OK)
                        return field_error(err, fline, j + 1, name,
                                           rc == SR_ELIMIT ? "integer out of range" : "not an integer",
                                           f.p, f.n);
                    break;
                case SR_TYPE_FLOAT64:
                    rc = sr_csv_parse_float((const char *)f.p, f.n, &c->v.f64[row]);
                    if (rc != SR_OK)
                        return field_error(err, fline, j + 1, name,
                                           rc == SR_ELIMIT ? "number out of range" : "not a number", f.p, f.n);
                    break;
                case SR_TYPE_BOOL: {
                    int v;
                    if (sr_csv_parse_bool((const char *)f.p, f.n, &v) != SR_OK)
                        return field_error(err, fline, j + 1, name, "not a bool (true/false/1/0)", f.p, f.n);
                    c->v.b[row] = (uint8_t)v;
                    break;
                }
                case SR_TYPE_DATE:
                    if (sr_date_parse((const char *)f.p, f.n, &c->v.date[row]) != SR_OK)
                        return field_error(err, fline, j + 1, name, "not a date (YYYY-MM-DD)", f.p, f.n);
                    break;
                case SR_TYPE_STRING:
                    c->nrows = row; /* sr_chunk_append_str appends at nrows */
                    if ((rc = sr_chunk_append_str(c, (const char *)f.p, f.n, err)) != SR_OK)
                        return sr_error_prefix(err, "line %" PRIu64 ", column %zu (%.64s)", fline, j + 1,
                                               name);
                    break;
                }
            }
            c->nrows = row + 1;
            if (r == 1) {
                if (j + 1 < ncols)
                    return sr_error_set(err, SR_EFORMAT,
                                        "line %" PRIu64 ", column %zu (%.64s): missing field (record has "
                                        "%zu fields, expected %zu)",
                                        fline,
                                        j + 2, s->cols[j + 1].name, j + 1, ncols);
                break;
            }
        }
        b->nrows = row + 1;
    }
    blk->pos = t.pos;
    blk->line = t.line;
    return SR_OK;
}

/* ---------------------------------------------------------------- reader */

static sr_csv_reader *reader_new(sr_error *err)
{
    sr_csv_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory for a CSV reader");
        return NULL;
    }
    r->fd = -1;
    r->line = 1;
    sr_csv_block_init(&r->blk);
    return r;
}

/* Reads the header record, skipping a UTF-8 byte order mark. */
static int read_header(sr_csv_reader *r, sr_error *err)
{
    int rc;
    if (r->fd >= 0 && r->pos == r->end && !r->eof && (rc = fill(r, err)) != SR_OK)
        return rc;
    if (r->end - r->pos >= 3 && memcmp(r->data + r->pos, "\xEF\xBB\xBF", 3) == 0)
        r->pos += 3;
    sr_csv_block hb;
    sr_csv_block_init(&hb);
    if ((rc = sr_csv_read_block(r, 1, &hb, err)) != SR_OK)
        goto out;
    if (hb.len == 0) {
        rc = sr_error_set(err, SR_EFORMAT, "empty input: no header line");
        goto out;
    }
    r->names = calloc(SR_MAX_COLUMNS, SR_MAX_NAME);
    if (r->names == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory for the header");
        goto out;
    }
    tok t = {hb.data, hb.len, 0, hb.first_line, &hb.scratch, NULL};
    field f;
    for (size_t j = 0;; j++) {
        int k = next_field(&t, &f, UCLS, QCLS);
        if (k < 0) {
            rc = sr_error_set(err, SR_EFORMAT, "line %" PRIu64 ", column %zu: header: %s", hb.first_line,
                              j + 1, t.why);
            goto out;
        }
        if (j >= SR_MAX_COLUMNS) {
            rc = sr_error_set(err, SR_ELIMIT, "header has more than %d columns", SR_MAX_COLUMNS);
            goto out;
        }
        if (f.n == 0 || f.n >= SR_MAX_NAME) {
            rc = sr_error_set(err, SR_EFORMAT, "line %" PRIu64 ", column %zu: header: column name %s",
                              hb.first_line, j + 1, f.n == 0 ? "is empty" : "longer than 127 bytes");
            goto out;
        }
        memcpy(r->names[j], f.p, f.n);
        r->names[j][f.n] = '\0';
        for (size_t i = 0; i < j; i++) {
            if (strcmp(r->names[i], r->names[j]) == 0) {
                rc = sr_error_set(err, SR_EFORMAT,
                                  "line %" PRIu64 ", column %zu: header: duplicate column name \"%s\"",
                                  hb.first_line, j + 1, r->names[j]);
                goto out;
            }
        }
        r->ncols = j + 1;
        if (k == 1)
            break;
    }
    r->data_off = r->base + r->pos;
    r->data_line = r->line;
    rc = SR_OK;
out:
    sr_csv_block_free(&hb);
    return rc;
}

sr_csv_reader *sr_csv_open(const char *path, sr_error *err)
{
    sr_csv_reader *r = reader_new(err);
    if (r == NULL)
        return NULL;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        sr_error_set(err, SR_EIO, "cannot open %s: %s", path, strerror(errno));
        sr_csv_close(r);
        return NULL;
    }
    struct stat st;
    if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode))
        r->total = (uint64_t)st.st_size;
    r->buf = malloc(READ_BUF_SIZE);
    if (r->buf == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory for a read buffer");
        sr_csv_close(r);
        return NULL;
    }
    r->data = r->buf;
    if (read_header(r, err) != SR_OK) {
        sr_error_prefix(err, "%s", path);
        sr_csv_close(r);
        return NULL;
    }
    return r;
}

sr_csv_reader *sr_csv_open_mem(const void *data, size_t len, sr_error *err)
{
    sr_csv_reader *r = reader_new(err);
    if (r == NULL)
        return NULL;
    r->data = data != NULL ? data : (const uint8_t *)"";
    r->end = data != NULL ? len : 0;
    r->eof = 1;
    r->total = r->end;
    if (read_header(r, err) != SR_OK) {
        sr_csv_close(r);
        return NULL;
    }
    return r;
}

void sr_csv_close(sr_csv_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->buf != NULL) {
        sr_memzero(r->buf, READ_BUF_SIZE);
        free(r->buf);
    }
    free(r->names);
    sr_csv_block_free(&r->blk);
    free(r);
}

size_t sr_csv_ncols(const sr_csv_reader *r)
{
    return r->ncols;
}

const char *sr_csv_colname(const sr_csv_reader *r, size_t i)
{
    return i < r->ncols ? r->names[i] : NULL;
}

static int rewind_data(sr_csv_reader *r, sr_error *err)
{
    if (r->fd >= 0) {
        if (lseek(r->fd, (off_t)r->data_off, SEEK_SET) < 0)
            return sr_error_set(err, SR_EIO, "cannot rewind the CSV input: %s", strerror(errno));
        r->base = r->data_off;
        r->pos = r->end = 0;
        r->eof = 0;
    } else {
        r->pos = (size_t)r->data_off;
    }
    r->line = r->data_line;
    r->blk.pos = r->blk.len = 0;
    return SR_OK;
}

int sr_csv_rewind(sr_csv_reader *r, sr_error *err)
{
    return rewind_data(r, err);
}

enum { CAN_INT = 1, CAN_FLOAT = 2, CAN_BOOL = 4, CAN_DATE = 8, SEEN = 16 };

int sr_csv_infer_schema(sr_csv_reader *r, sr_schema *out, sr_error *err)
{
    int rc;
    size_t ncols = r->ncols;
    uint8_t *fl = malloc(ncols);
    if (fl == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    memset(fl, CAN_INT | CAN_FLOAT | CAN_BOOL | CAN_DATE, ncols);
    if ((rc = rewind_data(r, err)) != SR_OK)
        goto out;
    sr_csv_block blk;
    sr_csv_block_init(&blk);
    const uint8_t *ucls = UCLS, *qcls = QCLS;
    for (;;) {
        if ((rc = sr_csv_read_block(r, INFER_BLOCK, &blk, err)) != SR_OK)
            break;
        if (blk.len == 0)
            break;
        tok t = {blk.data, blk.len, 0, blk.first_line, &blk.scratch, NULL};
        field f;
        while (t.pos < t.len && rc == SR_OK) {
            for (size_t j = 0;; j++) {
                uint64_t fline = t.line;
                int k = next_field(&t, &f, ucls, qcls);
                if (k < 0) {
                    rc = field_error(err, fline, j + 1, j < ncols ? r->names[j] : "?", t.why, NULL, 0);
                    break;
                }
                if (j >= ncols) {
                    rc = sr_error_set(err, SR_EFORMAT,
                                      "line %" PRIu64 ", column %zu: extra field (the header has %zu columns)",
                                      fline, j + 1, ncols);
                    break;
                }
                if (f.n > 0) {
                    uint8_t m = fl[j];
                    const char *sp = (const char *)f.p;
                    int64_t iv;
                    double dv;
                    int32_t dd;
                    if ((m & CAN_INT) && sr_csv_parse_int(sp, f.n, &iv) != SR_OK)
                        m &= (uint8_t)~CAN_INT;
                    if ((m & CAN_FLOAT) && sr_csv_parse_float(sp, f.n, &dv) != SR_OK)
                        m &= (uint8_t)~CAN_FLOAT;
                    if ((m & CAN_BOOL) && !(is_word(f.p, f.n, "true", 4) || is_word(f.p, f.n, "false", 5)))
                        m &= (uint8_t)~CAN_BOOL;
                    if ((m & CAN_DATE) && sr_date_parse(sp, f.n, &dd) != SR_OK)
                        m &= (uint8_t)~CAN_DATE;
                    fl[j] = m | SEEN;
                }
                if (k == 1) {
                    if (j + 1 < ncols)
                        rc = sr_error_set(err, SR_EFORMAT,
                                          "line %" PRIu64 ", column %zu (%.64s): missing field (record has "
                                          "%zu fields, expected %zu)",
                                          fline, j + 2, r->names[j + 1], j + 1, ncols);
                    break;
                }
            }
        }
        if (rc != SR_OK)
            break;
    }
    sr_csv_block_free(&blk);
    if (rc != SR_OK)
        goto out;
    memset(out, 0, sizeof *out);
    out->ncols = ncols;
    for (size_t j = 0; j < ncols; j++) {
        uint8_t m = fl[j];
        sr_type ty = SR_TYPE_STRING;
        if (m & SEEN) {
            if (m & CAN_INT)
                ty = SR_TYPE_INT64;
            else if (m & CAN_FLOAT)
                ty = SR_TYPE_FLOAT64;
            else if (m & CAN_BOOL)
                ty = SR_TYPE_BOOL;
            else if (m & CAN_DATE)
                ty = SR_TYPE_DATE;
        }
        memcpy(out->cols[j].name, r->names[j], SR_MAX_NAME);
        out->cols[j].type = ty;
    }
    rc = rewind_data(r, err);
out:
    free(fl);
    return rc;
}

int sr_csv_check_header(const sr_csv_reader *r, const sr_schema *s, sr_error *err)
{
    if (s->ncols != r->ncols)
        return sr_error_set(err, SR_EFORMAT, "header has %zu columns, the schema has %zu", r->ncols,
                            s->ncols);
    for (size_t j = 0; j < r->ncols; j++) {
        if (strncmp(r->names[j], s->cols[j].name, SR_MAX_NAME) != 0)
            return sr_error_set(err, SR_EFORMAT,
                                "header column %zu is \"%.64s\", the schema expects \"%.64s\"", j + 1,
                                r->names[j], s->cols[j].name);
    }
    return SR_OK;
}

int sr_csv_read_batch(sr_csv_reader *r, const sr_schema *s, sr_batch *b, sr_error *err)
{
    int rc;
    if (r->blk.pos >= r->blk.len) {
        size_t cap = SIZE_MAX;
        for (size_t j = 0; j < b->ncols; j++)
            if (b->cols[j].cap < cap)
                cap = b->cols[j].cap;
        if (b->ncols == 0 || cap == 0)
            return sr_error_set(err, SR_EINVAL, "read_batch: empty batch");
        if ((rc = sr_csv_read_block(r, cap, &r->blk, err)) != SR_OK)
            return rc;
    }
    return sr_csv_parse_block(&r->blk, s, b, err);
}

uint64_t sr_csv_bytes_read(const sr_csv_reader *r)
{
    return r->base + r->pos;
}

uint64_t sr_csv_bytes_total(const sr_csv_reader *r)
{
    return r->total;
}

uint64_t sr_csv_line(const sr_csv_reader *r)
{
    return r->blk.pos < r->blk.len ? r->blk.line : r->line;
}

/* ---------------------------------------------------------------- writer */

typedef struct wbuf {
    FILE *f;
    char b[1 << 16];
    size_t n;
    int failed;
} wbuf;

static void wflush(wbuf *w)
{
    if (w->n > 0 && !w->failed && fwrite(w->b, 1, w->n, w->f) != w->n)
        w->failed = 1;
    w->n = 0;
}

static void wput(wbuf *w, const void *p, size_t n)
{
    if (n > sizeof w->b - w->n) {
        wflush(w);
        if (n > sizeof w->b) {
            if (!w->failed && fwrite(p, 1, n, w->f) != n)
                w->failed = 1;
            return;
        }
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void wputc(wbuf *w, char c)
{
    if (w->n == sizeof w->b)
        wflush(w);
    w->b[w->n++] = c;
}

/* Writes one field, quoted when it is empty, holds a separator, quote or
 * line break, or when force is set. */
static void write_str(wbuf *w, const char *s, size_t n, int force)
{
    int quote = n == 0 || force;
    for (size_t i = 0; i < n && !quote; i++) {
        char c = s[i];
        quote = c == ',' || c == '"' || c == '\r' || c == '\n';
    }
    if (!quote) {
        wput(w, s, n);
        return;
    }
    wputc(w, '"');
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            wput(w, s + start, i + 1 - start);
            wputc(w, '"');
            start = i + 1;
        }
    }
    wput(w, s + start, n - start);
    wputc(w, '"');
}

static int wfinish(wbuf *w, sr_error *err)
{
    wflush(w);
    int failed = w->failed;
    free(w);
    if (failed)
        return sr_error_set(err, SR_EIO, "writing CSV: %s", strerror(errno));
    return SR_OK;
}

int sr_csv_write_header(FILE *f, const sr_schema *s, sr_error *err)
{
    wbuf *w = calloc(1, sizeof *w);
    if (w == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    w->f = f;
    for (size_t j = 0; j < s->ncols; j++) {
        if (j > 0)
            wputc(w, ',');
        size_t n = strnlen(s->cols[j].name, SR_MAX_NAME);
        /* a first name that starts with a UTF-8 byte order mark is quoted,
         * or the reader would take those bytes for the file's BOM */
        int bom = j == 0 && n >= 3 && memcmp(s->cols[j].name, "\xEF\xBB\xBF", 3) == 0;
        write_str(w, s->cols[j].name, n, bom);
    }
    wputc(w, '\n');
    return wfinish(w, err);
}

int sr_csv_write_batch(FILE *f, const sr_schema *s, const sr_batch *b, sr_error *err)
{
    if (b->ncols != s->ncols)
        return sr_error_set(err, SR_EINVAL, "write_batch: batch has %zu columns, schema %zu", b->ncols,
                            s->ncols);
    for (size_t j = 0; j < b->ncols; j++) {
        if (b->cols[j].type != s->cols[j].type || b->cols[j].nrows < b->nrows)
            return sr_error_set(err, SR_EINVAL, "write_batch: column %zu does not match the schema",
                                j + 1);
    }
    wbuf *w = calloc(1, sizeof *w);
    if (w == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    w->f = f;
    char tmp[40];
    for (size_t i = 0; i < b->nrows; i++) {
        for (size_t j = 0; j < b->ncols; j++) {
            const sr_chunk *c = &b->cols[j];
            if (j > 0)
                wputc(w, ',');
            if (sr_chunk_is_null(c, i))
                continue;
            switch (c->type) {
            case SR_TYPE_INT64: {
                int64_t v = c->v.i64[i];
                uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
                char *e = tmp + sizeof tmp, *p = e;
                do {
                    *--p = (char)('0' + u % 10);
                    u /= 10;
                } while (u);
                if (v < 0)
                    *--p = '-';
                wput(w, p, (size_t)(e - p));
                break;
            }
            case SR_TYPE_FLOAT64:
                sr_csv_format_float(c->v.f64[i], tmp);
                wput(w, tmp, strlen(tmp));
                break;
            case SR_TYPE_BOOL:
                if (c->v.b[i])
                    wput(w, "true", 4);
                else
                    wput(w, "false", 5);
                break;
            case SR_TYPE_DATE:
                sr_date_format(c->v.date[i], tmp);
                wput(w, tmp, 10);
                break;
            case SR_TYPE_STRING: {
                size_t n;
                const char *p = sr_chunk_str(c, i, &n);
                write_str(w, p, n, 0);
                break;
            }
            }
        }
        wputc(w, '\n');
    }
    return wfinish(w, err);
}

/* sealroom: Solidity ABI encoding and bounded decoding, values as JSON. */
#include <stdlib.h>
#include <string.h>

#include "sealroom/crypto.h"
#include "sealroom/evm.h"

enum { T_UINT, T_INT, T_ADDRESS, T_BOOL, T_FBYTES, T_BYTES, T_STRING, T_ARRAY, T_FARRAY, T_TUPLE };

#define MAX_FIXED_COUNT 4096u
#define MAX_TUPLE_FIELDS 256u
#define MAX_HEAD (1u << 24)

struct sr_abi_type {
    int kind;
    unsigned size;    /* bits (uint/int) or byte count (bytesN) */
    size_t count;     /* T[k] */
    sr_abi_type *elem; /* T[] and T[k] */
    sr_abi_type **fields;
    size_t nfields;
    int dynamic;
    size_t head; /* bytes this type takes in a head: 32 if dynamic */
};

void sr_abi_type_free(sr_abi_type *t) {
    if (!t) return;
    sr_abi_type_free(t->elem);
    for (size_t i = 0; i < t->nfields; i++) sr_abi_type_free(t->fields[i]);
    free(t->fields);
    free(t);
}

/* ---- type parser ---------------------------------------------------- */
typedef struct {
    const char *s;
    size_t pos;
    sr_error *err;
} tparser;

static int finish(sr_abi_type *t, sr_error *err) {
    switch (t->kind) {
    case T_BYTES: case T_STRING: case T_ARRAY:
        t->dynamic = 1;
        break;
    case T_FARRAY:
        t->dynamic = t->elem->dynamic;
        if (!t->dynamic) {
            if (t->elem->head && t->count > MAX_HEAD / t->elem->head)
                return sr_error_set(err, SR_ELIMIT, "abi type: fixed array too large");
            t->head = t->count * t->elem->head;
        }
        break;
    case T_TUPLE: {
        size_t h = 0;
        for (size_t i = 0; i < t->nfields; i++) {
            if (t->fields[i]->dynamic) t->dynamic = 1;
            h += t->fields[i]->head;
            if (h > MAX_HEAD) return sr_error_set(err, SR_ELIMIT, "abi type: tuple too large");
        }
        if (!t->dynamic) t->head = h;
        break;
    }
    default:
        t->head = 32;
    }
    if (t->dynamic) t->head = 32;
    return SR_OK;
}

static int read_num(tparser *p, unsigned long *out) {
    const char *s = p->s + p->pos;
    if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9')) return -1;
    unsigned long v = 0;
    while (*s >= '0' && *s <= '9') {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 1000000) return -1;
        s++;
    }
    p->pos = (size_t)(s - p->s);
    *out = v;
    return 0;
}

static int parse_type(tparser *p, int depth, sr_abi_type **out) {
    if (depth > SR_ABI_MAX_DEPTH)
        return sr_error_set(p->err, SR_ELIMIT, "abi type: nesting deeper than %d", SR_ABI_MAX_DEPTH);
    sr_abi_type *t = calloc(1, sizeof *t);
    if (!t) return sr_error_set(p->err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    const char *s = p->s;
    if (s[p->pos] == '(') {
        t->kind = T_TUPLE;
        p->pos++;
        size_t cap = 0;
        if (s[p->pos] == ')') {
            p->pos++;
        } else {
            for (;;) {
                if (t->nfields == MAX_TUPLE_FIELDS) {
                    rc = sr_error_set(p->err, SR_ELIMIT, "abi type: tuple with over %u fields", MAX_TUPLE_FIELDS);
                    goto fail;
                }
                if (t->nfields == cap) {
                    size_t nc = cap ? cap * 2 : 4;
                    sr_abi_type **nf = realloc(t->fields, nc * sizeof *nf);
                    if (!nf) { rc = sr_error_set(p->err, SR_ENOMEM, "out of memory"); goto fail; }
                    t->fields = nf;
                    cap = nc;
                }
                sr_abi_type *f = NULL;
                if ((rc = parse_type(p, depth + 1, &f))) goto fail;
                t->fields[t->nfields++] = f;
                if (s[p->pos] == ',') { p->pos++; continue; }
                if (s[p->pos] == ')') { p->pos++; break; }
                rc = sr_error_set(p->err, SR_EFORMAT, "abi type: expected ',' or ')' at position %zu", p->pos);
                goto fail;
            }
        }
    } else {
        size_t start = p->pos;
        while ((s[p->pos] >= 'a' && s[p->pos] <= 'z')) p->pos++;
        size_t wl = p->pos - start;
        const char *w = s + start;
        unsigned long n = 0;
        int has_num = s[p->pos] >= '0' && s[p->pos] <= '9';
        if (has_num && read_num(p, &n)) {
            rc = sr_error_set(p->err, SR_EFORMAT, "abi type: bad size at position %zu", p->pos);
            goto fail;
        }
        if (wl == 4 && !memcmp(w, "uint", 4) && has_num) t->kind = T_UINT;
        else if (wl == 3 && !memcmp(w, "int", 3) && has_num) t->kind = T_INT;
        else if (wl == 7 && !memcmp(w, "address", 7) && !has_num) t->kind = T_ADDRESS;
        else if (wl == 4 && !memcmp(w, "bool", 4) && !has_num) t->kind = T_BOOL;
        else if (wl == 6 && !memcmp(w, "string", 6) && !has_num) t->kind = T_STRING;
        else if (wl == 5 && !memcmp(w, "bytes", 5)) t->kind = has_num ? T_FBYTES : T_BYTES;
        else {
            rc = sr_error_set(p->err, SR_EFORMAT, "abi type: unknown type at position %zu", start);
            goto fail;
        }
        if ((t->kind == T_UINT || t->kind == T_INT) && (n == 0 || n > 256 || n % 8)) {
            rc = sr_error_set(p->err, SR_EFORMAT, "abi type: bad integer width %lu", n);
            goto fail;
        }
        if (t->kind == T_FBYTES && (n == 0 || n > 32)) {
            rc = sr_error_set(p->err, SR_EFORMAT, "abi type: bad bytes width %lu", n);
            goto fail;
        }
        t->size = (unsigned)n;
    }
    if ((rc = finish(t, p->err))) goto fail;
    while (s[p->pos] == '[') {
        if (++depth > SR_ABI_MAX_DEPTH) {
            rc = sr_error_set(p->err, SR_ELIMIT, "abi type: nesting deeper than %d", SR_ABI_MAX_DEPTH);
            goto fail;
        }
        p->pos++;
        sr_abi_type *a = calloc(1, sizeof *a);
        if (!a) { rc = sr_error_set(p->err, SR_ENOMEM, "out of memory"); goto fail; }
        a->elem = t;
        t = a;
        if (s[p->pos] == ']') {
            t->kind = T_ARRAY;
        } else {
            unsigned long n = 0;
            if (read_num(p, &n) || n == 0 || n > MAX_FIXED_COUNT) {
                rc = sr_error_set(p->err, SR_EFORMAT, "abi type: bad array size at position %zu", p->pos);
                goto fail;
            }
            t->kind = T_FARRAY;
            t->count = n;
        }
        if (s[p->pos] != ']') {
            rc = sr_error_set(p->err, SR_EFORMAT, "abi type: expected ']' at position %zu", p->pos);
            goto fail;
        }
        p->pos++;
        if ((rc = finish(t, p->err))) goto fail;
    }
    *out = t;
    return SR_OK;
fail:
    sr_abi_type_free(t);
    return rc;
}

int sr_abi_type_parse(const char *text, sr_abi_type **out, sr_error *err) {
    *out = NULL;
    if (!text || strlen(text) > SR_ABI_MAX_TYPE_LEN)
        return sr_error_set(err, SR_EINVAL, "abi type: missing or longer than %d characters", SR_ABI_MAX_TYPE_LEN);
    tparser p = {text, 0, err};
    sr_abi_type *t = NULL;
    int rc = parse_type(&p, 0, &t);
    if (rc) return rc;
    if (text[p.pos]) {
        sr_abi_type_free(t);
        return sr_error_set(err, SR_EFORMAT, "abi type: trailing text at position %zu", p.pos);
    }
    *out = t;
    return SR_OK;
}

/* ---- 256-bit integers as 32-byte big-endian words -------------------- */
static void word_negate(uint8_t w[32]) {
    unsigned carry = 1;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)(uint8_t)~w[i] + carry;
        w[i] = (uint8_t)v;
        carry = v >> 8;
    }
}

/* w = w * 10 + d; returns 1 on overflow. */
static int word_mul10_add(uint8_t w[32], unsigned d) {
    unsigned carry = d;
    for (int i = 31; i >= 0; i--) {
        unsigned v = (unsigned)w[i] * 10u + carry;
        w[i] = (uint8_t)v;
        carry = v >> 8;
    }
    return carry != 0;
}

static void word_to_decimal(const uint8_t in[32], char *out /* >= 80 */) {
    uint8_t w[32];
    memcpy(w, in, 32);
    char tmp[80];
    size_t n = 0;
    for (;;) {
        int zero = 1;
        unsigned rem = 0;
        for (int i = 0; i < 32; i++) {
            unsigned cur = (rem << 8) | w[i];
            w[i] = (uint8_t)(cur / 10);
            rem = cur % 10;
            if (w[i]) zero = 0;
        }
        tmp[n++] = (char)('0' + rem);
        if (zero) break;
    }
    for (size_t i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}

/* Checks that a word holds a uintN (unsigned) or intN (two's complement). */
static int word_fits(const uint8_t w[32], int is_signed, unsigned bits) {
    unsigned nbytes = bits / 8, lead = 32 - nbytes;
    if (!is_signed) {
        for (unsigned i = 0; i < lead; i++)
            if (w[i]) return 0;
        return 1;
    }
    uint8_t ext = (w[lead] & 0x80) ? 0xff : 0x00;
    for (unsigned i = 0; i < lead; i++)
        if (w[i] != ext) return 0;
    return 1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int int_from_json(const sr_abi_type *t, const json_t *v, uint8_t w[32], sr_error *err) {
    memset(w, 0, 32);
    int neg = 0;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        uint64_t mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
        neg = x < 0;
        sr_store_be64(w + 24, mag);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (*s == '-') { neg = 1; s++; }
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            s += 2;
            size_t n = strlen(s);
            if (n == 0 || n > 64) return sr_error_set(err, SR_EFORMAT, "abi: bad hex integer");
            for (size_t i = 0; i < n; i++) {
                int d = hexval(s[n - 1 - i]);
                if (d < 0) return sr_error_set(err, SR_EFORMAT, "abi: bad hex integer");
                w[31 - i / 2] |= (uint8_t)(d << (4 * (i % 2)));
            }
        } else {
            if (!*s) return sr_error_set(err, SR_EFORMAT, "abi: empty integer");
            for (; *s; s++) {
                if (*s < '0' || *s > '9') return sr_error_set(err, SR_EFORMAT, "abi: bad decimal integer");
                if (word_mul10_add(w, (unsigned)(*s - '0')))
                    return sr_error_set(err, SR_ELIMIT, "abi: integer over 256 bits");
            }
        }
    } else {
        return sr_error_set(err, SR_EFORMAT, "abi: integer expected");
    }
    if (t->kind == T_UINT) {
        int zero = 1;
        for (int i = 0; i < 32; i++) if (w[i]) zero = 0;
        if (neg && !zero) return sr_error_set(err, SR_EFORMAT, "abi: negative value for uint%u", t->size);
        if (!word_fits(w, 0, t->size)) return sr_error_set(err, SR_ELIMIT, "abi: value does not fit uint%u", t->size);
        return SR_OK;
    }
    /* intN: magnitude limit 2^(N-1)-1 (positive) or 2^(N-1) (negative). */
    uint8_t lim[32] = {0};
    lim[32 - t->size / 8] = 0x80; /* 2^(N-1) */
    int cmp = memcmp(w, lim, 32);
    if (cmp > 0 || (cmp == 0 && !neg)) return sr_error_set(err, SR_ELIMIT, "abi: value does not fit int%u", t->size);
    if (neg) word_negate(w);
    return SR_OK;
}

/* ---- encoder --------------------------------------------------------- */
static int hex_from_json(const json_t *v, sr_buf *out, sr_error *err) {
    if (!json_is_string(v)) return sr_error_set(err, SR_EFORMAT, "abi: hex string expected");
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || n % 2)
        return sr_error_set(err, SR_EFORMAT, "abi: \"0x\" + even hex digits expected");
    size_t bl = (n - 2) / 2;
    int rc = sr_buf_reserve(out, bl + 1, err);
    if (rc) return rc;
    for (size_t i = 0; i < bl; i++) {
        int a = hexval(s[2 + 2 * i]), b = hexval(s[3 + 2 * i]);
        if (a < 0 || b < 0) return sr_error_set(err, SR_EFORMAT, "abi: bad hex digit");
        out->data[out->len++] = (uint8_t)(a << 4 | b);
    }
    return SR_OK;
}

static int put_padded(sr_buf *out, const uint8_t *d, size_t n, sr_error *err) {
    int rc = sr_buf_reserve(out, n + 32, err);
    if (rc) return rc;
    if (n) memcpy(out->data + out->len, d, n);
    size_t pad = (32 - n % 32) % 32;
    memset(out->data + out->len + n, 0, pad);
    out->len += n + pad;
    return SR_OK;
}

static int encode_value(const sr_abi_type *t, const json_t *v, sr_buf *out, sr_error *err);

static const sr_abi_type *item_type(const sr_abi_type *t, size_t i) {
    return t->kind == T_TUPLE ? t->fields[i] : t->elem;
}

/* Encodes n items (json array a) of a tuple or array t as head || tail. */
static int encode_seq(const sr_abi_type *t, const json_t *a, size_t n, sr_buf *out, sr_error *err) {
    size_t head = 0;
    for (size_t i = 0; i < n; i++) {
        head += item_type(t, i)->head;
        if (head > MAX_HEAD) return sr_error_set(err, SR_ELIMIT, "abi: value too large");
    }
    sr_buf tail = {0};
    int rc = SR_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        const sr_abi_type *it = item_type(t, i);
        const json_t *v = json_array_get(a, i);
        if (it->dynamic) {
            uint8_t w[32];
            sr_word_uint64((uint64_t)(head + tail.len), w);
            rc = sr_buf_append(out, w, 32, err);
            if (!rc) rc = encode_value(it, v, &tail, err);
        } else {
            rc = encode_value(it, v, out, err);
        }
        if (rc) sr_error_prefix(err, "item %zu", i);
    }
    if (!rc && tail.len) rc = sr_buf_append(out, tail.data, tail.len, err);
    sr_buf_free(&tail);
    return rc;
}

static int encode_value(const sr_abi_type *t, const json_t *v, sr_buf *out, sr_error *err) {
    uint8_t w[32];
    int rc;
    if (!v) return sr_error_set(err, SR_EFORMAT, "abi: missing value");
    switch (t->kind) {
    case T_UINT: case T_INT:
        if ((rc = int_from_json(t, v, w, err))) return rc;
        return sr_buf_append(out, w, 32, err);
    case T_BOOL:
        if (!json_is_boolean(v)) return sr_error_set(err, SR_EFORMAT, "abi: bool expected");
        sr_word_uint64(json_is_true(v) ? 1 : 0, w);
        return sr_buf_append(out, w, 32, err);
    case T_ADDRESS: case T_FBYTES: {
        sr_buf b = {0};
        size_t want = t->kind == T_ADDRESS ? 20 : t->size;
        rc = hex_from_json(v, &b, err);
        if (!rc && b.len != want) rc = sr_error_set(err, SR_EFORMAT, "abi: expected %zu bytes, got %zu", want, b.len);
        if (!rc) {
            memset(w, 0, 32);
            if (t->kind == T_ADDRESS) memcpy(w + 12, b.data, 20);
            else memcpy(w, b.data, want);
            rc = sr_buf_append(out, w, 32, err);
        }
        sr_buf_free(&b);
        return rc;
    }
    case T_BYTES: case T_STRING: {
        sr_buf b = {0};
        const uint8_t *d;
        size_t n;
        if (t->kind == T_STRING) {
            if (!json_is_string(v)) return sr_error_set(err, SR_EFORMAT, "abi: string expected");
            d = (const uint8_t *)json_string_value(v);
            n = json_string_length(v);
        } else {
            if ((rc = hex_from_json(v, &b, err))) { sr_buf_free(&b); return rc; }
            d = b.data;
            n = b.len;
        }
        sr_word_uint64((uint64_t)n, w);
        rc = sr_buf_append(out, w, 32, err);
        if (!rc) rc = put_padded(out, d, n, err);
        sr_buf_free(&b);
        return rc;
    }
    case T_ARRAY: {
        if (!json_is_array(v)) return sr_error_set(err, SR_EFORMAT, "abi: array expected");
        size_t n = json_array_size(v);
        sr_word_uint64((uint64_t)n, w);
        if ((rc = sr_buf_append(out, w, 32, err))) return rc;
        return encode_seq(t, v, n, out, err);
    }
    case T_FARRAY: case T_TUPLE: {
        size_t n = t->kind == T_TUPLE ? t->nfields : t->count;
        if (!json_is_array(v) || json_array_size(v) != n)
            return sr_error_set(err, SR_EFORMAT, "abi: array of %zu items expected", n);
        return encode_seq(t, v, n, out, err);
    }
    }
    return sr_error_set(err, SR_EINTERNAL, "abi: unknown type kind");
}

int sr_abi_encode(const sr_abi_type *t, const json_t *value, sr_buf *out, sr_error *err) {
    return encode_value(t, value, out, err);
}

/* ---- decoder --------------------------------------------------------- */
typedef struct {
    size_t budget; /* bytes of output we still allow */
    sr_error *err;
} dctx;

static int charge(dctx *c, size_t n) {
    if (n > c->budget) return sr_error_set(c->err, SR_ELIMIT, "abi: decoded value too large for its input");
    c->budget -= n;
    return SR_OK;
}

static int hex_json(const uint8_t *d, size_t n, json_t **out, sr_error *err) {
    char *s = malloc(2 * n + 3);
    if (!s) return sr_error_set(err, SR_ENOMEM, "out of memory");
    s[0] = '0';
    s[1] = 'x';
    sr_hex_encode(d, n, s + 2);
    *out = json_string(s);
    free(s);
    return *out ? SR_OK : sr_error_set(err, SR_ENOMEM, "out of memory");
}

/* Reads a word as a length/offset that must be <= limit. */
static int read_size(const uint8_t *w, size_t limit, size_t *out, const char *what, sr_error *err) {
    for (int i = 0; i < 24; i++)
        if (w[i]) return sr_error_set(err, SR_EFORMAT, "abi: %s out of range", what);
    uint64_t v = sr_load_be64(w + 24);
    if (v > limit) return sr_error_set(err, SR_EFORMAT, "abi: %s %llu past the end of the data", what,
                                       (unsigned long long)v);
    *out = (size_t)v;
    return SR_OK;
}

static int decode_value(dctx *c, const sr_abi_type *t, const uint8_t *p, size_t plen, json_t **out);

/* Decodes n items of t laid out as head || tail starting at p. */
static int decode_seq(dctx *c, const sr_abi_type *t, size_t n, const uint8_t *p, size_t plen, json_t **out) {
    json_t *arr = json_array();
    if (!arr) return sr_error_set(c->err, SR_ENOMEM, "out of memory");
    size_t hp = 0;
    int rc = SR_OK;
    for (size_t i = 0; i < n; i++) {
        const sr_abi_type *it = item_type(t, i);
        json_t *v = NULL;
        if (it->head > plen || hp > plen - it->head) {
            rc = sr_error_set(c->err, SR_EFORMAT, "abi: item %zu: head past the end of the data", i);
            break;
        }
        if (it->dynamic) {
            size_t off = 0;
            if ((rc = read_size(p + hp, plen, &off, "offset", c->err))) break;
            rc = decode_value(c, it, p + off, plen - off, &v);
        } else {
            rc = decode_value(c, it, p + hp, plen - hp, &v);
        }
        if (rc) {
            sr_error_prefix(c->err, "item %zu", i);
            break;
        }
        if (json_array_append_new(arr, v)) { rc = sr_error_set(c->err, SR_ENOMEM, "out of memory"); break; }
        hp += it->head;
    }
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return SR_OK;
}

static int decode_value(dctx *c, const sr_abi_type *t, const uint8_t *p, size_t plen, json_t **out) {
    int rc;
    if ((rc = charge(c, 32))) return rc;
    if (t->kind != T_FARRAY && t->kind != T_TUPLE && plen < 32)
        return sr_error_set(c->err, SR_EFORMAT, "abi: truncated data");
    switch (t->kind) {
    case T_UINT: case T_INT: {
        if (!word_fits(p, t->kind == T_INT, t->size))
            return sr_error_set(c->err, SR_EFORMAT, "abi: value does not fit %sint%u", t->kind == T_INT ? "" : "u",
                                t->size);
        uint8_t w[32];
        char dec[82];
        memcpy(w, p, 32);
        int neg = t->kind == T_INT && (w[0] & 0x80);
        if (neg) word_negate(w);
        dec[0] = '-';
        word_to_decimal(w, dec + neg);
        *out = json_string(dec);
        break;
    }
    case T_BOOL:
        for (int i = 0; i < 31; i++)
            if (p[i]) return sr_error_set(c->err, SR_EFORMAT, "abi: bad bool");
        if (p[31] > 1) return sr_error_set(c->err, SR_EFORMAT, "abi: bad bool");
        *out = json_boolean(p[31]);
        break;
    case T_ADDRESS:
        for (int i = 0; i < 12; i++)
            if (p[i]) return sr_error_set(c->err, SR_EFORMAT, "abi: address with dirty high bytes");
        return hex_json(p + 12, 20, out, c->err);
    case T_FBYTES:
        for (unsigned i = t->size; i < 32; i++)
            if (p[i]) return sr_error_set(c->err, SR_EFORMAT, "abi: bytes%u with dirty padding", t->size);
        return hex_json(p, t->size, out, c->err);
    case T_BYTES: case T_STRING: {
        size_t n;
        if ((rc = read_size(p, plen - 32, &n, "length", c->err))) return rc;
        size_t padded = n + (32 - n % 32) % 32;
        if (padded > plen - 32) return sr_error_set(c->err, SR_EFORMAT, "abi: padding past the end of the data");
        for (size_t i = n; i < padded; i++)
            if (p[32 + i]) return sr_error_set(c->err, SR_EFORMAT, "abi: dirty padding");
        if ((rc = charge(c, 2 * n))) return rc;
        if (t->kind == T_BYTES) return hex_json(p + 32, n, out, c->err);
        if (memchr(p + 32, 0, n)) return sr_error_set(c->err, SR_EFORMAT, "abi: string contains NUL");
        *out = json_stringn((const char *)p + 32, n);
        if (!*out) return sr_error_set(c->err, SR_EFORMAT, "abi: string is not valid UTF-8");
        return SR_OK;
    }
    case T_ARRAY: {
        size_t n;
        if ((rc = read_size(p, (plen - 32) / 32, &n, "array length", c->err))) return rc;
        if (t->elem->head && n > (plen - 32) / t->elem->head)
            return sr_error_set(c->err, SR_EFORMAT, "abi: array longer than the data");
        return decode_seq(c, t, n, p + 32, plen - 32, out);
    }
    case T_FARRAY:
        return decode_seq(c, t, t->count, p, plen, out);
    case T_TUPLE:
        return decode_seq(c, t, t->nfields, p, plen, out);
    }
    if (!*out) return sr_error_set(c->err, SR_ENOMEM, "out of memory");
    return SR_OK;
}

int sr_abi_decode(const sr_abi_type *t, const uint8_t *data, size_t len, json_t **out, sr_error *err) {
    *out = NULL;
    if (!data && len) return sr_error_set(err, SR_EINVAL, "abi: NULL data");
    static const uint8_t empty[1] = {0};
    dctx c = {len * 8 + 4096, err};
    int rc = decode_value(&c, t, data ? data : empty, len, out);
    if (rc) return rc;
    if (!*out) return sr_error_set(err, SR_ENOMEM, "out of memory");
    return SR_OK;
}

int sr_abi_encode_params(const char *types, const json_t *args, sr_buf *out, sr_error *err) {
    sr_abi_type *t = NULL;
    int rc = sr_abi_type_parse(types, &t, err);
    if (rc) return rc;
    if (t->kind != T_TUPLE) rc = sr_error_set(err, SR_EINVAL, "abi: parameter list must be a tuple");
    else rc = sr_abi_encode(t, args, out, err);
    sr_abi_type_free(t);
    return rc;
}

int sr_abi_decode_params(const char *types, const uint8_t *data, size_t len, json_t **out, sr_error *err) {
    sr_abi_type *t = NULL;
    *out = NULL;
    int rc = sr_abi_type_parse(types, &t, err);
    if (rc) return rc;
    if (t->kind != T_TUPLE) rc = sr_error_set(err, SR_EINVAL, "abi: parameter list must be a tuple");
    else rc = sr_abi_decode(t, data, len, out, err);
    sr_abi_type_free(t);
    return rc;
}

void sr_abi_selector(const char *signature, uint8_t sel[4]) {
    uint8_t h[32];
    sr_keccak256(signature, strlen(signature), h);
    memcpy(sel, h, 4);
}

int sr_abi_encode_call(const char *signature, const json_t *args, sr_buf *out, sr_error *err) {
    const char *paren = strchr(signature, '(');
    if (!paren) return sr_error_set(err, SR_EINVAL, "abi: bad function signature \"%s\"", signature);
    uint8_t sel[4];
    sr_abi_selector(signature, sel);
    int rc = sr_buf_append(out, sel, 4, err);
    if (rc) return rc;
    return sr_abi_encode_params(paren, args, out, err);
}

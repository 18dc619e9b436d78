/* sealroom: RLP (Ethereum recursive length prefix) encoder and a strict
 * decoder. */
#include <string.h>

#include "sealroom/evm.h"

static int put_header(sr_buf *out, uint8_t short_base, size_t n, sr_error *err) {
    if (n <= 55) return sr_buf_append_u8(out, (uint8_t)(short_base + n), err);
    uint8_t len_be[8];
    size_t nb = 0;
    for (size_t v = n; v; v >>= 8) nb++;
    for (size_t i = 0; i < nb; i++) len_be[i] = (uint8_t)(n >> (8 * (nb - 1 - i)));
    int rc = sr_buf_append_u8(out, (uint8_t)(short_base + 55 + nb), err);
    if (rc) return rc;
    return sr_buf_append(out, len_be, nb, err);
}

int sr_rlp_put_bytes(sr_buf *out, const uint8_t *data, size_t n, sr_error *err) {
    if (n == 1 && data[0] < 0x80) return sr_buf_append_u8(out, data[0], err);
    int rc = put_header(out, 0x80, n, err);
    if (rc) return rc;
    return n ? sr_buf_append(out, data, n, err) : SR_OK;
}

int sr_rlp_put_uint(sr_buf *out, uint64_t v, sr_error *err) {
    uint8_t be[8];
    sr_store_be64(be, v);
    size_t i = 0;
    while (i < 8 && be[i] == 0) i++;
    return sr_rlp_put_bytes(out, be + i, 8 - i, err);
}

int sr_rlp_put_uint256(sr_buf *out, const uint8_t be[32], sr_error *err) {
    size_t i = 0;
    while (i < 32 && be[i] == 0) i++;
    return sr_rlp_put_bytes(out, be + i, 32 - i, err);
}

int sr_rlp_put_list(sr_buf *out, const uint8_t *payload, size_t payload_len, sr_error *err) {
    int rc = put_header(out, 0xc0, payload_len, err);
    if (rc) return rc;
    return payload_len ? sr_buf_append(out, payload, payload_len, err) : SR_OK;
}

int sr_rlp_next(const uint8_t *data, size_t len, size_t *pos, int *is_list, const uint8_t **payload,
                size_t *plen, sr_error *err) {
    size_t p = *pos;
    if (p >= len) return sr_error_set(err, SR_EFORMAT, "rlp: item expected at offset %zu, data ends", p);
    uint8_t b = data[p];
    size_t hdr, n;
    int list = b >= 0xc0;
    if (b < 0x80) {
        hdr = 0;
        n = 1;
    } else if (b <= 0xb7 || (b >= 0xc0 && b <= 0xf7)) {
        hdr = 1;
        n = (size_t)(b - (list ? 0xc0 : 0x80));
        if (!list && n == 1) {
            if (p + 1 >= len) return sr_error_set(err, SR_EFORMAT, "rlp: truncated item at offset %zu", p);
            if (data[p + 1] < 0x80)
                return sr_error_set(err, SR_EFORMAT, "rlp: non-canonical single byte at offset %zu", p);
        }
    } else {
        size_t nb = (size_t)(b - (list ? 0xf7 : 0xb7));
        if (nb > 8 || p + 1 + nb > len)
            return sr_error_set(err, SR_EFORMAT, "rlp: bad or truncated length at offset %zu", p);
        if (data[p + 1] == 0) return sr_error_set(err, SR_EFORMAT, "rlp: length with leading zero at offset %zu", p);
        uint64_t v = 0;
        for (size_t i = 0; i < nb; i++) v = (v << 8) | data[p + 1 + i];
        if (v <= 55) return sr_error_set(err, SR_EFORMAT, "rlp: long form for a short item at offset %zu", p);
        if (v > len) return sr_error_set(err, SR_EFORMAT, "rlp: item length %llu exceeds data at offset %zu",
                                         (unsigned long long)v, p);
        hdr = 1 + nb;
        n = (size_t)v;
    }
    if (hdr > len - p || n > len - p - hdr)
        return sr_error_set(err, SR_EFORMAT, "rlp: item at offset %zu runs past the end", p);
    *is_list = list;
    *payload = data + p + hdr;
    *plen = n;
    *pos = p + hdr + n;
    return SR_OK;
}

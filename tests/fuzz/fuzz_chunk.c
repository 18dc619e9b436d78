/* libFuzzer target: sr_chunk_decode on untrusted bytes. The decoder accepts
 * only the canonical encoding, so whatever decodes must re-encode to exactly
 * the bytes it used; nothing may crash, leak, or read out of bounds. Then
 * the input is read as a run of chunks decoded into one reused chunk
 * (sr_chunk_decode_reuse, as the archive reader does): each must re-encode
 * to its bytes too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/column.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_error err;
    sr_chunk c;
    size_t used = 0;
    if (sr_chunk_decode(data, size, 0, 1u << 16, &c, &used, 0, &err) == SR_OK) {
        if (used > size)
            abort();
        sr_buf enc = {0};
        if (sr_chunk_encode(&c, &enc, &err) != SR_OK)
            abort();
        if (enc.len != used || memcmp(enc.data, data, used) != 0)
            abort();
        /* string access stays in bounds, and appending to a decoded chunk works */
        for (size_t i = 0; i < c.nrows; i++) {
            size_t n;
            const char *p = sr_chunk_str(&c, i, &n);
            if (n > 0 && (p == NULL || sr_utf8_check((const uint8_t *)p, n) != n))
                abort();
        }
        sr_buf_free(&enc);
        sr_chunk_free(&c);
    } else if (err.code != SR_EFORMAT && err.code != SR_ENOMEM) {
        abort();
    }
    sr_chunk r;
    memset(&r, 0, sizeof r);
    for (size_t off = 0, k = 0; off < size && k < 64; k++) {
        int secure = (int)(k & 1) ^ (data[0] & 1);
        if (sr_chunk_decode_reuse(data + off, size - off, 0, 1u << 16, &r, &used, secure, &err) != SR_OK)
            break;
        sr_buf enc = {0};
        if (used == 0 || used > size - off || sr_chunk_encode(&r, &enc, &err) != SR_OK || enc.len != used ||
            memcmp(enc.data, data + off, used) != 0)
            abort();
        sr_buf_free(&enc);
        off += used;
    }
    sr_chunk_free(&r);
    return 0;
}

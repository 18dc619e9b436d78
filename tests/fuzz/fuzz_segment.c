/* libFuzzer target: column segment streams under a fixed key.
 * Byte 0 picks the mode:
 *   even: the rest is a ciphertext stream; decrypt it segment by segment
 *         (layout checks, authentication) and, if it authenticates, walk
 *         its chunk records as the column reader does;
 *   odd:  the rest is a plaintext stream; encrypt it, decrypt it back
 *         (must round-trip exactly), and walk its chunk records.
 * Byte 1 picks the segment size (64 << (b % 6)). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/archive/archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/column.h"

static const uint8_t key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t dhash[32] = {0xd4};

typedef struct mem {
    const uint8_t *p;
    size_t n;
} mem;

static int mem_src(void *ctx, uint64_t off, uint8_t *p, size_t n, sr_error *err)
{
    mem *m = ctx;
    if (off > m->n || n > m->n - off)
        return sr_error_set(err, SR_EFORMAT, "read past the end");
    memcpy(p, m->p + off, n);
    return SR_OK;
}

static int buf_sink(void *ctx, const uint8_t *p, size_t n, sr_error *err)
{
    return sr_buf_append(ctx, p, n, err);
}

/* Decrypts a whole stream into out; SR_OK only if it authenticates. */
static int decrypt_all(const uint8_t *ct, size_t n, uint32_t segsize, sr_buf *out)
{
    sr_error err;
    sr_segr r;
    mem m = {ct, n};
    if (sr_segr_init(&r, key, dhash, 3, segsize, n, mem_src, &m, &err) != SR_OK)
        return -1;
    uint8_t *pt = malloc(segsize);
    int rc = 0, last = 0;
    while (!last && rc == 0) {
        size_t k = 0;
        if (sr_segr_next(&r, pt, &k, &last, &err) != SR_OK)
            rc = -1;
        else if (sr_buf_append(out, pt, k, &err) != SR_OK)
            rc = -1;
    }
    free(pt);
    sr_segr_free(&r);
    return rc;
}

/* Walks le32-length chunk records like the column reader. */
static void walk_records(const uint8_t *p, size_t n)
{
    size_t pos = 0;
    while (n - pos >= 4) {
        uint32_t len = sr_load_le32(p + pos);
        if (len == 0 || len > n - pos - 4)
            return;
        sr_chunk c;
        size_t used = 0;
        sr_error err;
        if (sr_chunk_decode(p + pos + 4, len, 0, 1u << 16, &c, &used, 1, &err) != SR_OK)
            return;
        if (used > len)
            abort();
        sr_chunk_free(&c);
        pos += 4 + (size_t)len;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint32_t segsize = 64u << (data[1] % 6);
    const uint8_t *p = data + 2;
    size_t n = size - 2;
    sr_buf out = {0};
    sr_error err;
    if ((data[0] & 1) == 0) {
        if (decrypt_all(p, n, segsize, &out) == 0)
            walk_records(out.data, out.len);
    } else {
        sr_buf ct = {0};
        sr_segw w;
        if (sr_segw_init(&w, key, dhash, 3, segsize, buf_sink, &ct, &err) != SR_OK)
            abort();
        /* feed in uneven pieces */
        size_t pos = 0, step = 1;
        while (pos < n) {
            size_t k = n - pos < step ? n - pos : step;
            if (sr_segw_write(&w, p + pos, k, &err) != SR_OK)
                abort();
            pos += k;
            step = step * 3 + 1;
        }
        if (sr_segw_finish(&w, &err) != SR_OK)
            abort();
        sr_segw_free(&w);
        uint64_t nseg, last;
        if (sr_seg_layout(ct.len, segsize, &nseg, &last, &err) != SR_OK)
            abort();
        if (decrypt_all(ct.data, ct.len, segsize, &out) != 0 || out.len != n || (n && memcmp(out.data, p, n) != 0))
            abort();
        /* any flipped byte must fail */
        if (ct.len > 0) {
            ct.data[(size_t)data[0] * 7 % ct.len] ^= 0x20;
            sr_buf junk = {0};
            if (decrypt_all(ct.data, ct.len, segsize, &junk) == 0)
                abort();
            sr_buf_free(&junk);
        }
        walk_records(out.data, out.len);
        sr_buf_free(&ct);
    }
    sr_buf_free(&out);
    return 0;
}

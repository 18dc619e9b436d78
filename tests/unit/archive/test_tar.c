/* Canonical ustar headers and segment-stream layout/crypto (internals). */
#include "test.h"

#include <stdlib.h>

#include "../../../src/archive/archive_internal.h"
#include "sealroom/buf.h"

static void test_header_fields(void)
{
    sr_error err;
    uint8_t h[512];
    CHECK_OK(sr_tar_header(h, "MANIFEST.json", 1234, 1700000000, &err), &err);
    CHECK(memcmp(h, "MANIFEST.json\0", 14) == 0);
    CHECK(memcmp(h + 100, "0000644\0", 8) == 0);
    CHECK(memcmp(h + 124, "00000002322\0", 12) == 0); /* 1234 = 02322 */
    CHECK(memcmp(h + 136, "14524770400\0", 12) == 0); /* 1700000000 */
    CHECK(h[156] == '0');
    CHECK(memcmp(h + 257, "ustar\0" "00", 8) == 0);
    CHECK(memcmp(h + 265, "sealroom\0", 9) == 0);
    /* checksum: 6 octal digits, NUL, space; equals the byte sum with the
     * field as spaces */
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    char want[8];
    snprintf(want, sizeof want, "%06o", sum);
    CHECK(memcmp(h + 148, want, 6) == 0 && h[154] == 0 && h[155] == ' ');
    for (int i = 345; i < 512; i++)
        CHECK(h[i] == 0);

    uint64_t size = 0;
    int64_t mtime = 0;
    CHECK_OK(sr_tar_header_check(h, "MANIFEST.json", &size, &mtime, &err), &err);
    CHECK(size == 1234 && mtime == 1700000000);
    CHECK_EQ_INT(sr_tar_header_check(h, "MANIFEST.sig", &size, &mtime, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "expected member MANIFEST.sig");

    /* every single-byte change is refused */
    int accepted = 0;
    for (int i = 0; i < 512; i++) {
        for (int bit = 0; bit < 8; bit++) {
            h[i] ^= (uint8_t)(1u << bit);
            if (sr_tar_header_check(h, "MANIFEST.json", &size, &mtime, NULL) == SR_OK)
                accepted++;
            h[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK_EQ_INT(accepted, 0);
    uint8_t z[512] = {0};
    CHECK_EQ_INT(sr_tar_header_check(z, "col/0001.bin", &size, &mtime, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "archive ends");

    /* limits */
    CHECK_EQ_INT(sr_tar_header(h, "x", 1ull << 33, 0, &err), SR_ELIMIT);
    CHECK_OK(sr_tar_header(h, "x", (1ull << 33) - 1, 0, &err), &err);
    CHECK(sr_tar_header(h, "", 1, 0, &err) != SR_OK);
    char longname[120];
    memset(longname, 'a', 100);
    longname[100] = 0;
    CHECK(sr_tar_header(h, longname, 1, 0, &err) != SR_OK);
    CHECK(sr_tar_header(h, "x", 1, -1, &err) != SR_OK);
    char name[32];
    sr_tar_column_name(7, name);
    CHECK_EQ_STR(name, "col/0007.bin");
    sr_tar_column_name(1023, name);
    CHECK_EQ_STR(name, "col/1023.bin");
    CHECK_EQ_INT(sr_tar_pad(0), 0);
    CHECK_EQ_INT(sr_tar_pad(1), 511);
    CHECK_EQ_INT(sr_tar_pad(512), 0);
    CHECK_EQ_INT(sr_tar_pad(65), 447);
}

static void test_layout(void)
{
    sr_error err;
    uint64_t n = 0, last = 0;
    /* S = 64: full segment = 80 bytes of ciphertext */
    CHECK_OK(sr_seg_layout(16, 64, &n, &last, &err), &err);
    CHECK(n == 1 && last == 16);
    CHECK_OK(sr_seg_layout(80, 64, &n, &last, &err), &err);
    CHECK(n == 1 && last == 80);
    CHECK_OK(sr_seg_layout(96, 64, &n, &last, &err), &err);
    CHECK(n == 2 && last == 16);
    CHECK_OK(sr_seg_layout(160, 64, &n, &last, &err), &err);
    CHECK(n == 2 && last == 80);
    CHECK_EQ_INT(sr_seg_layout(15, 64, &n, &last, &err), SR_EFORMAT);
    CHECK_EQ_INT(sr_seg_layout(0, 64, &n, &last, &err), SR_EFORMAT);
    for (uint64_t s = 81; s < 96; s++)
        CHECK(sr_seg_layout(s, 64, &n, &last, NULL) == SR_EFORMAT);
    CHECK_EQ_INT(sr_seg_layout(100, 63, &n, &last, &err), SR_EFORMAT);
}

typedef struct mem {
    const uint8_t *p;
    size_t n;
} mem;

static int mem_src(void *ctx, uint64_t off, uint8_t *p, size_t n, sr_error *err)
{
    mem *m = ctx;
    if (off > m->n || n > m->n - off)
        return sr_error_set(err, SR_EFORMAT, "past the end");
    memcpy(p, m->p + off, n);
    return SR_OK;
}

static int buf_sink(void *ctx, const uint8_t *p, size_t n, sr_error *err)
{
    return sr_buf_append(ctx, p, n, err);
}

static int decrypt_all(const uint8_t key[32], const uint8_t dh[32], uint32_t col, const sr_buf *ct, sr_buf *pt,
                       sr_error *err)
{
    sr_segr r;
    mem m = {ct->data, ct->len};
    int rc = sr_segr_init(&r, key, dh, col, 64, ct->len, mem_src, &m, err);
    if (rc != SR_OK)
        return rc;
    uint8_t seg[64];
    int last = 0;
    while (!last && rc == SR_OK) {
        size_t n = 0;
        rc = sr_segr_next(&r, seg, &n, &last, err);
        if (rc == SR_OK)
            rc = sr_buf_append(pt, seg, n, err);
    }
    if (rc == SR_OK) /* reading past the last segment is refused */
        rc = sr_segr_next(&r, seg, &(size_t){0}, &last, NULL) == SR_ESTATE ? SR_OK : SR_EINTERNAL;
    sr_segr_free(&r);
    return rc;
}

static void test_stream_roundtrip_and_binding(void)
{
    sr_error err;
    uint8_t key[32], key2[32], dh[32] = {1}, dek[32] = {9}, id[16] = {7};
    CHECK_OK(sr_column_key(dek, id, 0, key, &err), &err);
    CHECK_OK(sr_column_key(dek, id, 1, key2, &err), &err);
    CHECK(memcmp(key, key2, 32) != 0);
    size_t sizes[] = {0, 1, 63, 64, 65, 128, 129, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        uint8_t *pt = malloc(n + 1);
        for (size_t i = 0; i < n; i++)
            pt[i] = (uint8_t)(i * 31 + k);
        sr_buf ct = {0}, back = {0};
        sr_segw w;
        CHECK_OK(sr_segw_init(&w, key, dh, 0, 64, buf_sink, &ct, &err), &err);
        CHECK_OK(sr_segw_write(&w, pt, n / 2, &err), &err);
        CHECK_OK(sr_segw_write(&w, pt + n / 2, n - n / 2, &err), &err);
        CHECK_OK(sr_segw_finish(&w, &err), &err);
        sr_segw_free(&w);
        size_t nseg = n == 0 ? 1 : (n + 63) / 64;
        CHECK_EQ_INT(ct.len, n + 16 * nseg);
        CHECK_OK(decrypt_all(key, dh, 0, &ct, &back, &err), &err);
        CHECK(back.len == n && (n == 0 || memcmp(back.data, pt, n) == 0));
        /* wrong column index, key or data hash: refused */
        sr_buf_reset(&back);
        CHECK_EQ_INT(decrypt_all(key, dh, 1, &ct, &back, &err), SR_EVERIFY);
        sr_buf_reset(&back);
        CHECK_EQ_INT(decrypt_all(key2, dh, 0, &ct, &back, &err), SR_EVERIFY);
        uint8_t dh2[32] = {2};
        sr_buf_reset(&back);
        CHECK_EQ_INT(decrypt_all(key, dh2, 0, &ct, &back, &err), SR_EVERIFY);
        /* appending a copy of the last segment: refused */
        if (nseg >= 1 && n > 0) {
            sr_buf ext = {0};
            size_t last_len = ct.len - (nseg - 1) * 80;
            sr_buf_append(&ext, ct.data, ct.len, &err);
            sr_buf_append(&ext, ct.data + ct.len - last_len, last_len, &err);
            sr_buf_reset(&back);
            CHECK(decrypt_all(key, dh, 0, &ext, &back, NULL) != SR_OK);
            sr_buf_free(&ext);
        }
        sr_buf_free(&ct);
        sr_buf_free(&back);
        free(pt);
    }
}

int main(void)
{
    SR_RUN(test_header_fields);
    SR_RUN(test_layout);
    SR_RUN(test_stream_roundtrip_and_binding);
    return sr_test_finish();
}

/* sealroom: per-column AES-256-GCM segment streams (docs/FORMAT.md,
 * "Column streams").
 *
 * Segment j of column i: nonce = be88(j) || last (0x01 on the final
 * segment, else 0x00); AAD = data_hash || be32(i) || be64(j); ciphertext =
 * AES-256-GCM(K_i) || 16-byte tag. Every segment but the last carries
 * exactly segment_size plaintext bytes; the last carries 0..segment_size
 * (0 only when the whole stream is empty). */
#include <stdlib.h>
#include <string.h>

#include "archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/secmem.h"

int sr_column_key(const uint8_t dek[SR_DEK_LEN], const uint8_t archive_id[SR_ARCHIVE_ID_LEN], uint32_t col,
                  uint8_t key[SR_AES256_KEY_LEN], sr_error *err)
{
    uint8_t info[SR_ARCHIVE_ID_LEN + 4];
    memcpy(info, archive_id, SR_ARCHIVE_ID_LEN);
    sr_store_be32(info + SR_ARCHIVE_ID_LEN, col);
    return sr_hkdf_sha256(dek, SR_DEK_LEN, (const uint8_t *)SR_COLUMN_KEY_SALT, strlen(SR_COLUMN_KEY_SALT), info,
                          sizeof info, key, SR_AES256_KEY_LEN, err);
}

int sr_seg_layout(uint64_t size, uint32_t segment_size, uint64_t *nseg, uint64_t *last_ct, sr_error *err)
{
    uint64_t full = (uint64_t)segment_size + SR_GCM_TAG_LEN;
    if (segment_size < SR_ARCHIVE_MIN_SEGMENT || segment_size > SR_ARCHIVE_MAX_SEGMENT)
        return sr_error_set(err, SR_EFORMAT, "segment size %u is out of range", segment_size);
    if (size < SR_GCM_TAG_LEN)
        return sr_error_set(err, SR_EFORMAT, "column stream of %llu bytes is shorter than one tag",
                            (unsigned long long)size);
    uint64_t n = size / full, rem = size % full;
    if (rem == 0) {
        *nseg = n;
        *last_ct = full;
    } else if (rem >= SR_GCM_TAG_LEN) {
        *nseg = n + 1;
        *last_ct = rem;
    } else {
        return sr_error_set(err, SR_EFORMAT, "column stream of %llu bytes does not end on a segment",
                            (unsigned long long)size);
    }
    if (*nseg > (1ull << 56))
        return sr_error_set(err, SR_EFORMAT, "column stream has too many segments");
    return SR_OK;
}

static void seg_nonce_aad(const uint8_t data_hash[SR_SHA256_LEN], uint32_t col, uint64_t seg, int last,
                          uint8_t nonce[SR_GCM_NONCE_LEN], uint8_t aad[SR_SEG_AAD_LEN])
{
    /* 11-byte big-endian counter: the top 3 bytes are zero (counts < 2^64). */
    memset(nonce, 0, 3);
    sr_store_be64(nonce + 3, seg);
    nonce[11] = last ? 1 : 0;
    memcpy(aad, data_hash, SR_SHA256_LEN);
    sr_store_be32(aad + SR_SHA256_LEN, col);
    sr_store_be64(aad + SR_SHA256_LEN + 4, seg);
}

int sr_segw_init(sr_segw *w, const uint8_t key[SR_AES256_KEY_LEN], const uint8_t data_hash[SR_SHA256_LEN],
                 uint32_t col, uint32_t segsize, sr_sink_fn sink, void *sink_ctx, sr_error *err)
{
    memset(w, 0, sizeof *w);
    if (segsize < SR_ARCHIVE_MIN_SEGMENT || segsize > SR_ARCHIVE_MAX_SEGMENT)
        return sr_error_set(err, SR_EINVAL, "segment size %u is out of range [%u, %u]", segsize,
                            SR_ARCHIVE_MIN_SEGMENT, SR_ARCHIVE_MAX_SEGMENT);
    w->gcm = sr_gcm_new(key, err);
    if (w->gcm == NULL)
        return err ? err->code : SR_ECRYPTO;
    memcpy(w->data_hash, data_hash, SR_SHA256_LEN);
    w->col = col;
    w->segsize = segsize;
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    w->pt = sr_secure_alloc(segsize);
    w->ct = sr_secure_alloc((size_t)segsize + SR_GCM_TAG_LEN);
    if (w->pt == NULL || w->ct == NULL) {
        sr_segw_free(w);
        return sr_error_set(err, SR_ENOMEM, "out of memory for a segment buffer");
    }
    return SR_OK;
}

static int segw_flush(sr_segw *w, int last, sr_error *err)
{
    uint8_t nonce[SR_GCM_NONCE_LEN], aad[SR_SEG_AAD_LEN];
    seg_nonce_aad(w->data_hash, w->col, w->seg, last, nonce, aad);
    int rc = sr_gcm_seal(w->gcm, nonce, aad, sizeof aad, w->pt, w->fill, w->ct, w->ct + w->fill, err);
    if (rc != SR_OK)
        return rc;
    rc = w->sink(w->sink_ctx, w->ct, w->fill + SR_GCM_TAG_LEN, err);
    if (rc != SR_OK)
        return rc;
    w->seg++;
    w->fill = 0;
    return SR_OK;
}

int sr_segw_write(sr_segw *w, const uint8_t *p, size_t n, sr_error *err)
{
    while (n > 0) {
        /* A full segment is sealed only once more data follows, so the
         * final segment is always known when it is sealed. */
        if (w->fill == w->segsize) {
            int rc = segw_flush(w, 0, err);
            if (rc != SR_OK)
                return rc;
        }
        size_t take = w->segsize - w->fill;
        if (take > n)
            take = n;
        memcpy(w->pt + w->fill, p, take);
        w->fill += take;
        p += take;
        n -= take;
    }
    return SR_OK;
}

int sr_segw_finish(sr_segw *w, sr_error *err)
{
    return segw_flush(w, 1, err);
}

void sr_segw_free(sr_segw *w)
{
    if (w->gcm)
        sr_gcm_free(w->gcm);
    if (w->pt)
        sr_secure_free(w->pt, w->segsize);
    if (w->ct)
        sr_secure_free(w->ct, (size_t)w->segsize + SR_GCM_TAG_LEN);
    memset(w, 0, sizeof *w);
}

int sr_segr_init(sr_segr *r, const uint8_t key[SR_AES256_KEY_LEN], const uint8_t data_hash[SR_SHA256_LEN],
                 uint32_t col, uint32_t segsize, uint64_t ct_size, sr_source_fn src, void *src_ctx, sr_error *err)
{
    memset(r, 0, sizeof *r);
    int rc = sr_seg_layout(ct_size, segsize, &r->nseg, &r->last_ct, err);
    if (rc != SR_OK)
        return rc;
    r->gcm = sr_gcm_new(key, err);
    if (r->gcm == NULL)
        return err ? err->code : SR_ECRYPTO;
    memcpy(r->data_hash, data_hash, SR_SHA256_LEN);
    r->col = col;
    r->segsize = segsize;
    r->src = src;
    r->src_ctx = src_ctx;
    r->ct = malloc((size_t)segsize + SR_GCM_TAG_LEN);
    if (r->ct == NULL) {
        sr_segr_free(r);
        return sr_error_set(err, SR_ENOMEM, "out of memory for a segment buffer");
    }
    return SR_OK;
}

int sr_segr_next(sr_segr *r, uint8_t *pt, size_t *n, int *last, sr_error *err)
{
    if (r->next >= r->nseg)
        return sr_error_set(err, SR_ESTATE, "column stream already read to its end");
    uint64_t full = (uint64_t)r->segsize + SR_GCM_TAG_LEN;
    int is_last = r->next + 1 == r->nseg;
    size_t ctlen = (size_t)(is_last ? r->last_ct : full);
    int rc = r->src(r->src_ctx, r->next * full, r->ct, ctlen, err);
    if (rc != SR_OK)
        return rc;
    uint8_t nonce[SR_GCM_NONCE_LEN], aad[SR_SEG_AAD_LEN];
    size_t ptlen = ctlen - SR_GCM_TAG_LEN;
    seg_nonce_aad(r->data_hash, r->col, r->next, is_last, nonce, aad);
    rc = sr_gcm_open(r->gcm, nonce, aad, sizeof aad, r->ct, ptlen, r->ct + ptlen, pt, err);
    if (rc != SR_OK)
        return sr_error_set(err, SR_EVERIFY,
                            "column %u, segment %llu of %llu: authentication failed (altered, truncated, "
                            "reordered or spliced data, or a wrong key)",
                            r->col, (unsigned long long)r->next, (unsigned long long)r->nseg);
    /* Only the last segment may be short; an empty last segment only for an
     * empty stream. */
    if (is_last && ptlen == 0 && r->nseg > 1)
        return sr_error_set(err, SR_EFORMAT, "column %u: empty final segment after data", r->col);
    *n = ptlen;
    *last = is_last;
    r->next++;
    return SR_OK;
}

void sr_segr_free(sr_segr *r)
{
    if (r->gcm)
        sr_gcm_free(r->gcm);
    free(r->ct);
    memset(r, 0, sizeof *r);
}

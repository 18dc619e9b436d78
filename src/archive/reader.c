/* sealroom: reading sealed archives: strict structure check, signature,
 * digests, unlocking, column readers and column-subset scans. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/csv.h"
#include "sealroom/secmem.h"

struct sr_archive {
    int fd;
    int own_fd;
    uint64_t file_size;
    uint8_t *mbytes;
    size_t mlen;
    uint8_t mhash[SR_SHA256_LEN];
    uint8_t sig[SR_ETH_SIG_LEN];
    sr_manifest *m;
    uint64_t *col_off;
    uint8_t data_hash[SR_SHA256_LEN];
    uint8_t *dek; /* secure; NULL while locked */
};

static int pread_all(int fd, uint64_t off, uint8_t *p, size_t n, sr_error *err)
{
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return sr_error_set(err, SR_EIO, "read failed: %s", strerror(errno));
        if (r == 0)
            return sr_error_set(err, SR_EFORMAT, "tar: archive is truncated");
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return SR_OK;
}

/* Checks that n bytes at off are zero (padding, end blocks). */
static int check_zero(int fd, uint64_t off, uint64_t n, const char *what, sr_error *err)
{
    uint8_t buf[8192];
    while (n > 0) {
        size_t k = n > sizeof buf ? sizeof buf : (size_t)n;
        int rc = pread_all(fd, off, buf, k, err);
        if (rc != SR_OK)
            return rc;
        for (size_t i = 0; i < k; i++)
            if (buf[i] != 0)
                return sr_error_set(err, SR_EFORMAT, "tar: non-zero byte in %s at offset %llu", what,
                                    (unsigned long long)(off + i));
        off += k;
        n -= k;
    }
    return SR_OK;
}

/* Reads and checks the header of member `name` at *off; returns the size
 * and advances *off to the content. */
static int member_header(sr_archive *a, uint64_t *off, const char *name, uint64_t *size, int64_t *mtime,
                         sr_error *err)
{
    uint8_t hdr[SR_TAR_BLOCK];
    if (*off + SR_TAR_BLOCK > a->file_size)
        return sr_error_set(err, SR_EFORMAT, "tar: archive is truncated before member %s", name);
    int rc = pread_all(a->fd, *off, hdr, sizeof hdr, err);
    if (rc == SR_OK)
        rc = sr_tar_header_check(hdr, name, size, mtime, err);
    if (rc != SR_OK)
        return rc;
    *off += SR_TAR_BLOCK;
    if (*size > a->file_size - *off || sr_tar_pad(*size) > a->file_size - *off - *size)
        return sr_error_set(err, SR_EFORMAT, "tar: member %s of %llu bytes runs past the end of the archive", name,
                            (unsigned long long)*size);
    return SR_OK;
}

static int open_checks(sr_archive *a, sr_error *err)
{
    struct stat st;
    int rc;
    if (fstat(a->fd, &st) != 0)
        return sr_error_set(err, SR_EIO, "stat failed: %s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return sr_error_set(err, SR_EFORMAT, "not a regular file");
    a->file_size = (uint64_t)st.st_size;
    if (a->file_size % SR_TAR_BLOCK != 0)
        return sr_error_set(err, SR_EFORMAT, "tar: size %llu is not a multiple of 512 (truncated?)",
                            (unsigned long long)a->file_size);
    uint64_t off = 0, size;
    int64_t mtime, mtime0;

    /* MANIFEST.json */
    if ((rc = member_header(a, &off, SR_MANIFEST_NAME, &size, &mtime0, err)) != SR_OK)
        return rc;
    if (size == 0 || size > SR_ARCHIVE_MAX_MANIFEST)
        return sr_error_set(err, SR_EFORMAT, "tar: MANIFEST.json of %llu bytes (limit %u)", (unsigned long long)size,
                            SR_ARCHIVE_MAX_MANIFEST);
    a->mlen = (size_t)size;
    a->mbytes = malloc(a->mlen + 1); /* NUL-terminated for callers' convenience */
    if (a->mbytes == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    if ((rc = pread_all(a->fd, off, a->mbytes, a->mlen, err)) != SR_OK ||
        (rc = check_zero(a->fd, off + size, sr_tar_pad(size), "padding of MANIFEST.json", err)) != SR_OK)
        return rc;
    off += size + sr_tar_pad(size);
    a->mbytes[a->mlen] = 0;
    sr_sha256(a->mbytes, a->mlen, a->mhash);
    if ((rc = sr_manifest_parse(a->mbytes, a->mlen, &a->m, err)) != SR_OK)
        return rc;
    const sr_manifest *m = a->m;
    if (mtime0 != m->created)
        return sr_error_set(err, SR_EFORMAT, "tar: MANIFEST.json mtime differs from the manifest's creation time");

    /* MANIFEST.sig */
    if ((rc = member_header(a, &off, SR_SIG_NAME, &size, &mtime, err)) != SR_OK)
        return rc;
    if (size != SR_ETH_SIG_LEN || mtime != m->created)
        return sr_error_set(err, SR_EFORMAT, "tar: MANIFEST.sig must be %d bytes with the manifest's mtime",
                            SR_ETH_SIG_LEN);
    if ((rc = pread_all(a->fd, off, a->sig, SR_ETH_SIG_LEN, err)) != SR_OK ||
        (rc = check_zero(a->fd, off + size, sr_tar_pad(size), "padding of MANIFEST.sig", err)) != SR_OK)
        return rc;
    off += size + sr_tar_pad(size);

    /* column members */
    a->col_off = calloc(m->schema.ncols, sizeof(uint64_t));
    if (a->col_off == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->schema.ncols; i++) {
        char name[32];
        sr_tar_column_name(i, name);
        if ((rc = member_header(a, &off, name, &size, &mtime, err)) != SR_OK)
            return rc;
        if (size != m->columns[i].size)
            return sr_error_set(err, SR_EFORMAT, "tar: member %s has %llu bytes, the manifest says %llu", name,
                                (unsigned long long)size, (unsigned long long)m->columns[i].size);
        if (mtime != m->created)
            return sr_error_set(err, SR_EFORMAT, "tar: member %s mtime differs from the manifest's", name);
        a->col_off[i] = off;
        if ((rc = check_zero(a->fd, off + size, sr_tar_pad(size), name, err)) != SR_OK)
            return rc;
        off += size + sr_tar_pad(size);
    }
    /* end of archive: at least two zero blocks, nothing but zeros after */
    if (a->file_size - off < 2 * SR_TAR_BLOCK)
        return sr_error_set(err, SR_EFORMAT, "tar: missing end-of-archive blocks (truncated, or extra members?)");
    if ((rc = check_zero(a->fd, off, a->file_size - off, "end-of-archive blocks (extra member?)", err)) != SR_OK)
        return rc;

    /* owner signature */
    if ((rc = sr_manifest_verify_sig(a->mbytes, a->mlen, a->sig, m->owner_address, err)) != SR_OK)
        return rc;
    sr_manifest_data_hash(m, a->data_hash);
    return SR_OK;
}

int sr_archive_open_fd(int fd, sr_archive **out, sr_error *err)
{
    *out = NULL;
    sr_archive *a = calloc(1, sizeof *a);
    if (a == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    a->fd = fd;
    int rc = open_checks(a, err);
    if (rc != SR_OK) {
        sr_archive_close(a);
        return rc;
    }
    *out = a;
    return SR_OK;
}

int sr_archive_open(const char *path, sr_archive **out, sr_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sr_error_set(err, SR_EIO, "cannot open %s: %s", path, strerror(errno));
    int rc = sr_archive_open_fd(fd, out, err);
    if (rc != SR_OK) {
        close(fd);
        return sr_error_prefix(err, "%s", path);
    }
    (*out)->own_fd = 1;
    return SR_OK;
}

void sr_archive_close(sr_archive *a)
{
    if (a == NULL)
        return;
    if (a->own_fd)
        close(a->fd);
    if (a->dek)
        sr_secure_free(a->dek, SR_DEK_LEN);
    free(a->mbytes);
    free(a->m);
    free(a->col_off);
    free(a);
}

const sr_manifest *sr_archive_manifest(const sr_archive *a) { return a->m; }
const uint8_t *sr_archive_manifest_hash(const sr_archive *a) { return a->mhash; }
const uint8_t *sr_archive_signature(const sr_archive *a) { return a->sig; }
uint64_t sr_archive_column_offset(const sr_archive *a, size_t i) { return a->col_off[i]; }
int sr_archive_fd(const sr_archive *a) { return a->fd; }

const uint8_t *sr_archive_manifest_bytes(const sr_archive *a, size_t *len)
{
    if (len)
        *len = a->mlen;
    return a->mbytes;
}

int sr_archive_verify_digests(sr_archive *a, sr_error *err)
{
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    for (size_t i = 0; rc == SR_OK && i < a->m->schema.ncols; i++) {
        sr_sha256_ctx *c = sr_sha256_new();
        if (c == NULL) {
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
            break;
        }
        uint64_t off = a->col_off[i], left = a->m->columns[i].size;
        while (left > 0 && rc == SR_OK) {
            size_t k = left > cap ? cap : (size_t)left;
            rc = pread_all(a->fd, off, buf, k, err);
            sr_sha256_update(c, buf, k);
            off += k;
            left -= k;
        }
        uint8_t h[SR_SHA256_LEN];
        sr_sha256_final(c, h);
        if (rc == SR_OK && memcmp(h, a->m->columns[i].sha256, SR_SHA256_LEN) != 0) {
            char name[32];
            sr_tar_column_name(i, name);
            rc = sr_error_set(err, SR_EVERIFY, "%s (column \"%s\"): SHA-256 does not match the manifest", name,
                              a->m->schema.cols[i].name);
        }
    }
    free(buf);
    return rc;
}

int sr_archive_check_recipe(const sr_archive *a, const sr_recipe *r, sr_error *err)
{
    const sr_manifest *m = a->m;
    if (memcmp(m->compose_hash, sr_recipe_compose_hash(r), SR_RECIPE_HASH_LEN) != 0)
        return sr_error_set(err, SR_EVERIFY, "the archive is bound to another recipe (compose hash differs)");
    if (memcmp(m->app_id, sr_recipe_app_id(r), SR_APP_ID_LEN) != 0)
        return sr_error_set(err, SR_EVERIFY, "the archive is bound to another app id");
    const sr_recipe_owner *ow = sr_recipe_owner_find(r, m->owner_id);
    if (ow == NULL)
        return sr_error_set(err, SR_EVERIFY, "owner \"%s\" is not in the recipe", m->owner_id);
    if (memcmp(ow->address, m->owner_address, SR_ETH_ADDR_LEN) != 0)
        return sr_error_set(err, SR_EVERIFY, "owner \"%s\" has another address in the recipe", m->owner_id);
    const sr_schema *s = sr_recipe_schema_for(r, m->owner_id);
    if (s == NULL)
        return sr_error_set(err, SR_EVERIFY, "the recipe reads no dataset of owner \"%s\"", m->owner_id);
    if (s->ncols != m->schema.ncols)
        return sr_error_set(err, SR_EVERIFY, "schema differs from the recipe's: %zu columns, the recipe has %zu",
                            m->schema.ncols, s->ncols);
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->cols[i].name, m->schema.cols[i].name) != 0 || s->cols[i].type != m->schema.cols[i].type)
            return sr_error_set(err, SR_EVERIFY, "schema differs from the recipe's at column %zu (%s)", i + 1,
                                m->schema.cols[i].name);
    return SR_OK;
}

/* ---- decryption ------------------------------------------------------------ */

typedef struct src_ctx {
    int fd;
    uint64_t base;
} src_ctx;

static int src_read(void *ctx, uint64_t off, uint8_t *p, size_t n, sr_error *err)
{
    src_ctx *s = ctx;
    return pread_all(s->fd, s->base + off, p, n, err);
}

struct sr_column_reader {
    sr_archive *a;
    size_t col;
    src_ctx src;
    sr_segr segr;
    sr_buf acc; /* secure: decrypted bytes not consumed yet start at pos */
    size_t pos;
    int done; /* last segment read */
    uint64_t rows, chunks;
};

int sr_column_reader_open(sr_archive *a, size_t col, sr_column_reader **out, sr_error *err)
{
    *out = NULL;
    if (a->dek == NULL)
        return sr_error_set(err, SR_ESTATE, "the archive is locked: unlock it with its data key first");
    if (col >= a->m->schema.ncols)
        return sr_error_set(err, SR_EINVAL, "column %zu does not exist (the archive has %zu)", col,
                            a->m->schema.ncols);
    sr_column_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    r->a = a;
    r->col = col;
    r->src.fd = a->fd;
    r->src.base = a->col_off[col];
    sr_buf_init_secure(&r->acc);
    uint8_t key[SR_AES256_KEY_LEN];
    int rc = sr_column_key(a->dek, a->m->archive_id, (uint32_t)col, key, err);
    if (rc == SR_OK)
        rc = sr_segr_init(&r->segr, key, a->data_hash, (uint32_t)col, a->m->segment_size, a->m->columns[col].size,
                          src_read, &r->src, err);
    sr_memzero(key, sizeof key);
    if (rc != SR_OK) {
        sr_column_reader_close(r);
        return rc;
    }
    *out = r;
    return SR_OK;
}

static int pull(sr_column_reader *r, sr_error *err)
{
    if (r->pos > 0) {
        size_t left = r->acc.len - r->pos;
        memmove(r->acc.data, r->acc.data + r->pos, left);
        r->acc.len = left;
        r->pos = 0;
    }
    int rc = sr_buf_reserve(&r->acc, r->segr.segsize, err);
    if (rc != SR_OK)
        return rc;
    size_t n = 0;
    int last = 0;
    rc = sr_segr_next(&r->segr, r->acc.data + r->acc.len, &n, &last, err);
    if (rc != SR_OK)
        return rc;
    r->acc.len += n;
    r->done = last;
    return SR_OK;
}

int sr_column_reader_next(sr_column_reader *r, sr_chunk *out, sr_error *err)
{
    const sr_manifest *m = r->a->m;
    sr_type type = m->schema.cols[r->col].type;
    int rc;
    out->nrows = 0; /* storage kept for the next decode */
    if (out->v.i64 == NULL)
        out->type = type;
    while (r->acc.len - r->pos < 4 && !r->done)
        if ((rc = pull(r, err)) != SR_OK)
            return rc;
    size_t avail = r->acc.len - r->pos;
    if (avail == 0) {
        if (r->rows != m->rows || r->chunks != m->chunks)
            return sr_error_set(err, SR_EFORMAT, "column %zu ends after %llu rows in %llu chunks; the manifest says "
                                "%llu rows in %llu chunks", r->col, (unsigned long long)r->rows,
                                (unsigned long long)r->chunks, (unsigned long long)m->rows,
                                (unsigned long long)m->chunks);
        return SR_OK;
    }
    if (avail < 4)
        return sr_error_set(err, SR_EFORMAT, "column %zu: stream ends inside a chunk length", r->col);
    uint32_t len = sr_load_le32(r->acc.data + r->pos);
    if (len == 0 || len > SR_ARCHIVE_MAX_CHUNK_BYTES)
        return sr_error_set(err, SR_EFORMAT, "column %zu: chunk length %u is out of range", r->col, len);
    while (r->acc.len - r->pos < 4 + (size_t)len && !r->done)
        if ((rc = pull(r, err)) != SR_OK)
            return rc;
    if (r->acc.len - r->pos < 4 + (size_t)len)
        return sr_error_set(err, SR_EFORMAT, "column %zu: stream ends inside a chunk", r->col);
    size_t used = 0;
    rc = sr_chunk_decode_reuse(r->acc.data + r->pos + 4, len, type, m->chunk_rows, out, &used, 1, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "column %zu, chunk %llu", r->col, (unsigned long long)r->chunks);
    if (used != len || out->nrows == 0 || out->nrows > m->rows - r->rows) {
        sr_chunk_free(out);
        memset(out, 0, sizeof *out);
        return sr_error_set(err, SR_EFORMAT, "column %zu, chunk %llu: bad length or row count", r->col,
                            (unsigned long long)r->chunks);
    }
    r->pos += 4 + (size_t)len;
    r->rows += out->nrows;
    r->chunks++;
    return SR_OK;
}

void sr_column_reader_close(sr_column_reader *r)
{
    if (r == NULL)
        return;
    sr_segr_free(&r->segr);
    sr_buf_free(&r->acc);
    free(r);
}

int sr_archive_unlock(sr_archive *a, const uint8_t dek[SR_DEK_LEN], sr_error *err)
{
    if (a->dek == NULL) {
        a->dek = sr_secure_alloc(SR_DEK_LEN);
        if (a->dek == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    }
    memcpy(a->dek, dek, SR_DEK_LEN);
    /* Check the key on the first segment of the first column. */
    sr_column_reader *r = NULL;
    int rc = sr_column_reader_open(a, 0, &r, err);
    if (rc == SR_OK)
        rc = pull(r, err);
    sr_column_reader_close(r);
    if (rc != SR_OK) {
        sr_secure_free(a->dek, SR_DEK_LEN);
        a->dek = NULL;
        if (err && err->code == SR_EVERIFY)
            sr_error_set(err, SR_EVERIFY, "wrong data key for this archive (or its first segment was altered)");
    }
    return rc;
}

int sr_archive_unlock_kms(sr_archive *a, const uint8_t root_sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    uint8_t pub[SR_SECP_PUBKEY_LEN];
    sr_keywrap_binding b;
    int rc = sr_secp_pubkey(root_sk, pub, err);
    if (rc != SR_OK)
        return rc;
    if (memcmp(pub, a->m->kms_root_pub, SR_SECP_PUBKEY_LEN) != 0) {
        char want[67], got[67];
        sr_hex_encode(a->m->kms_root_pub, SR_SECP_PUBKEY_LEN, want);
        sr_hex_encode(pub, SR_SECP_PUBKEY_LEN, got);
        return sr_error_set(err, SR_EVERIFY, "the archive is sealed to KMS key %s, not %s", want, got);
    }
    if ((rc = sr_manifest_binding(a->m, &b, err)) != SR_OK)
        return rc;
    uint8_t *dek = sr_secure_alloc(SR_DEK_LEN);
    if (dek == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    rc = sr_keywrap_unwrap(root_sk, &b, &a->m->key, dek, err);
    if (rc == SR_OK)
        rc = sr_archive_unlock(a, dek, err);
    sr_secure_free(dek, SR_DEK_LEN);
    return rc;
}

int sr_archive_dek(const sr_archive *a, uint8_t dek[SR_DEK_LEN], sr_error *err)
{
    if (a->dek == NULL)
        return sr_error_set(err, SR_ESTATE, "the archive is locked");
    memcpy(dek, a->dek, SR_DEK_LEN);
    return SR_OK;
}

/* ---- scans -------------------------------------------------------------------- */

struct sr_archive_scan {
    sr_archive *a;
    size_t n;
    size_t *cols;
    sr_column_reader **r;
};

int sr_archive_scan_open(sr_archive *a, const size_t *cols, size_t ncols, sr_archive_scan **out, sr_error *err)
{
    *out = NULL;
    if (ncols == 0 || ncols > SR_MAX_COLUMNS)
        return sr_error_set(err, SR_EINVAL, "a scan needs 1..%d columns", SR_MAX_COLUMNS);
    sr_archive_scan *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    s->a = a;
    s->n = ncols;
    s->cols = calloc(ncols, sizeof(size_t));
    s->r = calloc(ncols, sizeof(sr_column_reader *));
    int rc = (s->cols == NULL || s->r == NULL) ? sr_error_set(err, SR_ENOMEM, "out of memory") : SR_OK;
    for (size_t i = 0; rc == SR_OK && i < ncols; i++) {
        s->cols[i] = cols[i];
        rc = sr_column_reader_open(a, cols[i], &s->r[i], err);
    }
    if (rc != SR_OK) {
        sr_archive_scan_close(s);
        return rc;
    }
    *out = s;
    return SR_OK;
}

int sr_archive_read_batch(sr_archive_scan *s, sr_batch *b, sr_error *err)
{
    if (b->cols == NULL) {
        b->cols = calloc(s->n, sizeof(sr_chunk));
        if (b->cols == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        b->ncols = s->n;
    }
    if (b->ncols != s->n)
        return sr_error_set(err, SR_EINVAL, "batch has %zu columns, the scan %zu", b->ncols, s->n);
    b->nrows = 0;
    for (size_t i = 0; i < s->n; i++) {
        int rc = sr_column_reader_next(s->r[i], &b->cols[i], err);
        if (rc != SR_OK)
            return rc;
        if (i > 0 && b->cols[i].nrows != b->cols[0].nrows)
            return sr_error_set(err, SR_EFORMAT, "columns %zu and %zu have chunks of different row counts (%zu, %zu)",
                                s->cols[0], s->cols[i], b->cols[0].nrows, b->cols[i].nrows);
    }
    b->nrows = b->cols[0].nrows;
    return SR_OK;
}

void sr_archive_scan_close(sr_archive_scan *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; s->r != NULL && i < s->n; i++)
        sr_column_reader_close(s->r[i]);
    free(s->r);
    free(s->cols);
    free(s);
}

int sr_archive_unseal_csv(sr_archive *a, FILE *out, sr_seal_progress_fn progress, void *progress_ctx, sr_error *err)
{
    const sr_manifest *m = a->m;
    size_t *cols = malloc(m->schema.ncols * sizeof(size_t));
    if (cols == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < m->schema.ncols; i++)
        cols[i] = i;
    sr_archive_scan *s = NULL;
    sr_batch b;
    memset(&b, 0, sizeof b);
    uint64_t rows = 0;
    int rc = sr_archive_scan_open(a, cols, m->schema.ncols, &s, err);
    if (rc == SR_OK)
        rc = sr_csv_write_header(out, &m->schema, err);
    while (rc == SR_OK) {
        rc = sr_archive_read_batch(s, &b, err);
        if (rc != SR_OK || b.nrows == 0)
            break;
        rc = sr_csv_write_batch(out, &m->schema, &b, err);
        rows += b.nrows;
        if (progress != NULL)
            progress(progress_ctx, rows, m->rows, rows);
    }
    if (rc == SR_OK && fflush(out) != 0)
        rc = sr_error_set(err, SR_EIO, "write failed: %s", strerror(errno));
    sr_batch_free(&b);
    sr_archive_scan_close(s);
    free(cols);
    return rc;
}

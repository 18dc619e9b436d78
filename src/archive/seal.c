/* sealroom: sealing a CSV file into an archive (docs/FORMAT.md, "Sealing").
 *
 * Pipeline: the calling thread cuts the CSV into blocks of at most
 * chunk_rows records (sr_csv_read_block); worker threads parse a block into
 * a batch and encode each column's chunk; then, in block order (a
 * turnstile), the worker appends the encoded chunks to the per-column
 * segment streams, which encrypt and write them to unnamed temporary files
 * next to the output. At the end the DEK is wrapped, the manifest written
 * and signed, and the tar assembled from the temporary files. Memory is
 * bounded by (workers + 2) blocks and batches, whatever the file size. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/csv.h"
#include "sealroom/secmem.h"

int sr_write_all(int fd, const void *p, size_t n, sr_error *err)
{
    const uint8_t *q = p;
    while (n > 0) {
        ssize_t w = write(fd, q, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return sr_error_set(err, SR_EIO, "write failed: %s", strerror(errno));
        }
        q += w;
        n -= (size_t)w;
    }
    return SR_OK;
}

int sr_copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t len, sr_error *err)
{
    loff_t off = (loff_t)in_off;
    while (len > 0) {
        size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t n = copy_file_range(in_fd, &off, out_fd, NULL, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* unsupported here (or EOF): fall back to read/write */
        len -= (uint64_t)n;
    }
    if (len == 0)
        return SR_OK;
    size_t cap = 1u << 20;
    uint8_t *buf = malloc(cap);
    if (buf == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    while (len > 0 && rc == SR_OK) {
        size_t want = len > cap ? cap : (size_t)len;
        ssize_t n = pread(in_fd, buf, want, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = sr_error_set(err, SR_EIO, "read failed while copying: %s", n < 0 ? strerror(errno) : "early end");
            break;
        }
        rc = sr_write_all(out_fd, buf, (size_t)n, err);
        off += n;
        len -= (uint64_t)n;
    }
    free(buf);
    return rc;
}

static const uint8_t zero_block[2 * SR_TAR_BLOCK];

static int write_member(int fd, const char *name, const uint8_t *data, uint64_t size, int64_t mtime, int src_fd,
                        uint64_t src_off, sr_error *err)
{
    uint8_t hdr[SR_TAR_BLOCK];
    int rc = sr_tar_header(hdr, name, size, mtime, err);
    if (rc == SR_OK)
        rc = sr_write_all(fd, hdr, sizeof hdr, err);
    if (rc == SR_OK)
        rc = data != NULL ? sr_write_all(fd, data, (size_t)size, err) : sr_copy_range(src_fd, src_off, fd, size, err);
    if (rc == SR_OK)
        rc = sr_write_all(fd, zero_block, (size_t)sr_tar_pad(size), err);
    return rc;
}

static int dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return snprintf(out, cap, ".") >= (int)cap ? -1 : 0;
    size_t n = (size_t)(slash - path);
    if (n == 0)
        n = 1;
    if (n >= cap)
        return -1;
    memcpy(out, path, n);
    out[n] = 0;
    return 0;
}

/* An unnamed file in the folder of path (O_TMPFILE, else create+unlink). */
static int temp_fd(const char *path, sr_error *err)
{
    char dir[PATH_MAX];
    if (dir_of(path, dir, sizeof dir) != 0) {
        sr_error_set(err, SR_EINVAL, "path too long: %s", path);
        return -1;
    }
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    for (int i = 0; i < 100; i++) {
        char tmp[PATH_MAX + 64];
        unsigned r = 0;
        sr_random(&r, sizeof r, NULL);
        snprintf(tmp, sizeof tmp, "%s/.sealroom-tmp-%08x", dir, r);
        fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            unlink(tmp);
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    sr_error_set(err, SR_EIO, "cannot create a temporary file in %s: %s", dir, strerror(errno));
    return -1;
}

int sr_archive_assemble(const char *out_path, const sr_manifest *m, const uint8_t *manifest, size_t mlen,
                        const uint8_t sig[SR_ETH_SIG_LEN], const int *col_fds, const uint64_t *col_offs,
                        sr_error *err)
{
    char tmp[PATH_MAX + 32];
    unsigned r = 0;
    sr_random(&r, sizeof r, NULL);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%08x", out_path, r) >= (int)sizeof tmp)
        return sr_error_set(err, SR_EINVAL, "path too long: %s", out_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return sr_error_set(err, SR_EIO, "cannot create %s: %s", tmp, strerror(errno));
    int rc = write_member(fd, SR_MANIFEST_NAME, manifest, mlen, m->created, -1, 0, err);
    if (rc == SR_OK)
        rc = write_member(fd, SR_SIG_NAME, sig, SR_ETH_SIG_LEN, m->created, -1, 0, err);
    for (size_t i = 0; rc == SR_OK && i < m->schema.ncols; i++) {
        char name[32];
        sr_tar_column_name(i, name);
        rc = write_member(fd, name, NULL, m->columns[i].size, m->created, col_fds[i], col_offs[i], err);
    }
    if (rc == SR_OK)
        rc = sr_write_all(fd, zero_block, sizeof zero_block, err);
    if (rc == SR_OK && fsync(fd) != 0)
        rc = sr_error_set(err, SR_EIO, "fsync %s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == SR_OK)
        rc = sr_error_set(err, SR_EIO, "close %s: %s", tmp, strerror(errno));
    if (rc == SR_OK && rename(tmp, out_path) != 0)
        rc = sr_error_set(err, SR_EIO, "rename %s to %s: %s", tmp, out_path, strerror(errno));
    if (rc != SR_OK)
        unlink(tmp);
    return rc;
}

/* ---- pipeline ------------------------------------------------------------ */

typedef struct col_out {
    int fd;
    sr_sha256_ctx *sha;
    uint64_t size;
    sr_segw w;
} col_out;

static int col_sink(void *ctx, const uint8_t *p, size_t n, sr_error *err)
{
    col_out *c = ctx;
    int rc = sr_write_all(c->fd, p, n, err);
    if (rc == SR_OK) {
        sr_sha256_update(c->sha, p, n);
        c->size += n;
    }
    return rc;
}

enum { SLOT_FREE, SLOT_READY, SLOT_BUSY };

typedef struct slot {
    int state;
    uint64_t seq;
    sr_csv_block blk;
} slot;

typedef struct pipe_ctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    const sr_schema *schema;
    size_t ncols;
    uint32_t chunk_rows;
    slot *slots;
    size_t nslots;
    uint64_t next_parse;  /* next sequence number a worker takes */
    uint64_t next_write;  /* sequence number whose turn it is to write */
    uint64_t nread;       /* blocks handed out by the reader so far */
    int eof;              /* reader saw the end */
    int failed;
    sr_error err;
    col_out *cols;
    uint64_t rows, chunks;
} pipe_ctx;

static void pipe_fail(pipe_ctx *p, const sr_error *e)
{
    /* mu held */
    if (!p->failed) {
        p->failed = 1;
        p->err = *e;
    }
    pthread_cond_broadcast(&p->cv);
}

static void *worker(void *arg)
{
    pipe_ctx *p = arg;
    sr_error err;
    sr_error_clear(&err);
    sr_batch b;
    sr_buf *enc = calloc(p->ncols, sizeof(sr_buf));
    int rc = enc == NULL ? sr_error_set(&err, SR_ENOMEM, "out of memory") : SR_OK;
    if (rc == SR_OK)
        rc = sr_batch_init(&b, p->schema, p->chunk_rows, 1, &err);
    else
        memset(&b, 0, sizeof b);
    for (size_t i = 0; enc != NULL && i < p->ncols; i++)
        sr_buf_init_secure(&enc[i]);
    if (rc != SR_OK) {
        pthread_mutex_lock(&p->mu);
        pipe_fail(p, &err);
        pthread_mutex_unlock(&p->mu);
        free(enc);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->failed && p->next_parse >= p->nread && !p->eof)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->failed || p->next_parse >= p->nread) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        uint64_t seq = p->next_parse++;
        slot *s = &p->slots[seq % p->nslots];
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&p->mu);

        /* parse + encode, in parallel with the other workers */
        rc = sr_csv_parse_block(&s->blk, p->schema, &b, &err);
        if (rc == SR_OK && (b.nrows == 0 || b.nrows != s->blk.nrecords))
            rc = sr_error_set(&err, SR_EINTERNAL, "block of %zu records parsed into %zu rows", s->blk.nrecords,
                              b.nrows);
        for (size_t c = 0; rc == SR_OK && c < p->ncols; c++) {
            sr_buf_reset(&enc[c]);
            rc = sr_buf_append_le32(&enc[c], 0, &err);
            if (rc == SR_OK)
                rc = sr_chunk_encode(&b.cols[c], &enc[c], &err);
            if (rc == SR_OK && enc[c].len - 4 > SR_ARCHIVE_MAX_CHUNK_BYTES)
                rc = sr_error_set(&err, SR_ELIMIT,
                                  "column %zu (%s): one chunk of %zu rows encodes to %zu bytes, over the limit of "
                                  "%u (use a smaller chunk size)",
                                  c + 1, p->schema->cols[c].name, b.nrows, enc[c].len - 4,
                                  SR_ARCHIVE_MAX_CHUNK_BYTES);
            if (rc == SR_OK)
                sr_store_le32(enc[c].data, (uint32_t)(enc[c].len - 4));
        }

        /* write in block order */
        pthread_mutex_lock(&p->mu);
        while (!p->failed && p->next_write != seq)
            pthread_cond_wait(&p->cv, &p->mu);
        if (p->failed || rc != SR_OK) {
            if (rc != SR_OK)
                pipe_fail(p, &err);
            pthread_mutex_unlock(&p->mu);
            break;
        }
        pthread_mutex_unlock(&p->mu);
        /* Only this worker writes now (it holds the turn). */
        for (size_t c = 0; rc == SR_OK && c < p->ncols; c++)
            rc = sr_segw_write(&p->cols[c].w, enc[c].data, enc[c].len, &err);
        pthread_mutex_lock(&p->mu);
        if (rc != SR_OK) {
            pipe_fail(p, &err);
            pthread_mutex_unlock(&p->mu);
            break;
        }
        p->rows += b.nrows;
        p->chunks++;
        p->next_write++;
        s->state = SLOT_FREE;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    sr_batch_free(&b);
    for (size_t i = 0; i < p->ncols; i++)
        sr_buf_free(&enc[i]);
    free(enc);
    return NULL;
}

/* Reads blocks and hands them to the workers; returns when the input is
 * exhausted or the pipeline failed. */
static void run_reader(pipe_ctx *p, sr_csv_reader *r, const sr_seal_opts *o)
{
    sr_error err;
    sr_error_clear(&err);
    for (uint64_t seq = 0;; seq++) {
        slot *s = &p->slots[seq % p->nslots];
        pthread_mutex_lock(&p->mu);
        while (!p->failed && s->state != SLOT_FREE)
            pthread_cond_wait(&p->cv, &p->mu);
        int failed = p->failed;
        uint64_t rows = p->rows;
        pthread_mutex_unlock(&p->mu);
        if (failed)
            return;
        if (o->progress != NULL && rows > 0)
            o->progress(o->progress_ctx, sr_csv_bytes_read(r), sr_csv_bytes_total(r), rows);
        int rc = sr_csv_read_block(r, p->chunk_rows, &s->blk, &err);
        pthread_mutex_lock(&p->mu);
        if (rc != SR_OK) {
            pipe_fail(p, &err);
        } else if (s->blk.nrecords == 0) {
            p->eof = 1;
            pthread_cond_broadcast(&p->cv);
        } else {
            s->state = SLOT_READY;
            s->seq = seq;
            p->nread = seq + 1;
            pthread_cond_broadcast(&p->cv);
        }
        int stop = p->failed || p->eof;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            return;
    }
}

static int check_owner(const sr_seal_opts *o, const sr_schema **schema, uint8_t addr[SR_ETH_ADDR_LEN],
                       sr_error *err)
{
    if (o->recipe == NULL || o->owner_id == NULL || o->owner_sk == NULL || o->kms_root_pub == NULL)
        return sr_error_set(err, SR_EINVAL, "seal: recipe, owner id, owner key and KMS public key are required");
    const sr_recipe_owner *ow = sr_recipe_owner_find(o->recipe, o->owner_id);
    if (ow == NULL)
        return sr_error_set(err, SR_EDENIED, "owner \"%s\" is not a member of the recipe's consortium", o->owner_id);
    *schema = sr_recipe_schema_for(o->recipe, o->owner_id);
    if (*schema == NULL)
        return sr_error_set(err, SR_EDENIED, "the recipe reads no dataset of owner \"%s\"", o->owner_id);
    int rc = sr_eth_address_from_seckey(o->owner_sk, addr, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "owner key");
    if (memcmp(addr, ow->address, SR_ETH_ADDR_LEN) != 0) {
        char a[43], b[43];
        sr_eth_address_to_string(addr, a);
        sr_eth_address_to_string(ow->address, b);
        return sr_error_set(err, SR_EDENIED, "the owner key's address %s is not %s, owner \"%s\" in the recipe", a, b,
                            o->owner_id);
    }
    uint8_t norm[SR_SECP_PUBKEY_LEN];
    if (sr_secp_pubkey_normalize(o->kms_root_pub, SR_SECP_PUBKEY_LEN, norm, err) != SR_OK)
        return sr_error_prefix(err, "KMS public key");
    double eps = o->epsilon_total == 0 ? 1.0 : o->epsilon_total;
    if (!(eps > 0 && eps <= SR_ARCHIVE_MAX_EPSILON))
        return sr_error_set(err, SR_EINVAL, "epsilon budget %g must be in (0, %g]", eps, SR_ARCHIVE_MAX_EPSILON);
    return SR_OK;
}

int sr_archive_seal(const char *csv_path, const char *out_path, const sr_seal_opts *o, sr_seal_result *res,
                    sr_error *err)
{
    const sr_schema *schema = NULL;
    uint8_t addr[SR_ETH_ADDR_LEN];
    int rc;
    if (res != NULL)
        memset(res, 0, sizeof *res);
    if ((rc = check_owner(o, &schema, addr, err)) != SR_OK)
        return rc;
    uint32_t segsize = o->segment_size ? o->segment_size : SR_ARCHIVE_DEFAULT_SEGMENT;
    uint32_t chunk_rows = o->chunk_rows ? o->chunk_rows : SR_ARCHIVE_DEFAULT_CHUNK_ROWS;
    if (segsize < SR_ARCHIVE_MIN_SEGMENT || segsize > SR_ARCHIVE_MAX_SEGMENT)
        return sr_error_set(err, SR_EINVAL, "segment size %u is out of range [%u, %u]", segsize,
                            SR_ARCHIVE_MIN_SEGMENT, SR_ARCHIVE_MAX_SEGMENT);
    if (chunk_rows == 0 || chunk_rows > SR_ARCHIVE_MAX_CHUNK_ROWS)
        return sr_error_set(err, SR_EINVAL, "chunk rows %u is out of range [1, %u]", chunk_rows,
                            SR_ARCHIVE_MAX_CHUNK_ROWS);
    int nworkers = o->threads > 0 ? o->threads : 2;
    if (nworkers > 64)
        nworkers = 64;

    sr_manifest *m = sr_manifest_new(err);
    uint8_t *dek = sr_secure_alloc(SR_DEK_LEN);
    sr_csv_reader *r = NULL;
    col_out *cols = NULL;
    pipe_ctx p;
    memset(&p, 0, sizeof p);
    pthread_t th[64];
    int nstarted = 0;
    sr_buf mbuf = {0};
    uint8_t key[SR_AES256_KEY_LEN];
    if (m == NULL || dek == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto out;
    }
    m->schema = *schema;
    memcpy(m->owner_address, addr, SR_ETH_ADDR_LEN); /* part of the data header */
    m->segment_size = segsize;
    m->chunk_rows = chunk_rows;
    if ((rc = sr_random(m->archive_id, SR_ARCHIVE_ID_LEN, err)) != SR_OK || (rc = sr_random(dek, SR_DEK_LEN, err)) != SR_OK)
        goto out;

    struct stat sin, sout;
    if (stat(csv_path, &sin) == 0 && stat(out_path, &sout) == 0 && sin.st_dev == sout.st_dev &&
        sin.st_ino == sout.st_ino) {
        rc = sr_error_set(err, SR_EINVAL, "the output %s is the input file", out_path);
        goto out;
    }
    r = sr_csv_open(csv_path, err);
    if (r == NULL) {
        rc = err ? err->code : SR_EIO;
        goto out;
    }
    if ((rc = sr_csv_check_header(r, schema, err)) != SR_OK) {
        sr_error_prefix(err, "%s: does not match owner \"%s\"'s dataset in the recipe", csv_path, o->owner_id);
        goto out;
    }

    uint8_t data_hash[SR_SHA256_LEN];
    sr_manifest_data_hash(m, data_hash);
    cols = calloc(schema->ncols, sizeof *cols);
    if (cols == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < schema->ncols; i++)
        cols[i].fd = -1;
    for (size_t i = 0; i < schema->ncols; i++) {
        cols[i].fd = temp_fd(out_path, err);
        if (cols[i].fd < 0) {
            rc = err ? err->code : SR_EIO;
            goto out;
        }
        cols[i].sha = sr_sha256_new();
        if (cols[i].sha == NULL) {
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
            goto out;
        }
        if ((rc = sr_column_key(dek, m->archive_id, (uint32_t)i, key, err)) != SR_OK ||
            (rc = sr_segw_init(&cols[i].w, key, data_hash, (uint32_t)i, segsize, col_sink, &cols[i], err)) != SR_OK)
            goto out;
    }
    sr_memzero(key, sizeof key);

    /* run the pipeline */
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    p.schema = schema;
    p.ncols = schema->ncols;
    p.chunk_rows = chunk_rows;
    p.cols = cols;
    p.nslots = (size_t)nworkers + 2;
    p.slots = calloc(p.nslots, sizeof(slot));
    if (p.slots == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto out_pipe;
    }
    for (size_t i = 0; i < p.nslots; i++)
        sr_csv_block_init(&p.slots[i].blk);
    for (int i = 0; i < nworkers; i++) {
        if (pthread_create(&th[i], NULL, worker, &p) != 0) {
            sr_error e;
            sr_error_set(&e, SR_ENOMEM, "cannot start a worker thread");
            pthread_mutex_lock(&p.mu);
            pipe_fail(&p, &e);
            pthread_mutex_unlock(&p.mu);
            break;
        }
        nstarted++;
    }
    if (nstarted > 0)
        run_reader(&p, r, o);
    for (int i = 0; i < nstarted; i++)
        pthread_join(th[i], NULL);
    if (!p.failed && p.next_write != p.nread) {
        p.failed = 1;
        sr_error_set(&p.err, SR_EINTERNAL, "pipeline stopped after %llu of %llu blocks",
                     (unsigned long long)p.next_write, (unsigned long long)p.nread);
    }
    if (p.failed) {
        if (err)
            *err = p.err;
        rc = p.err.code ? p.err.code : SR_EINTERNAL;
        if (p.err.msg[0] && strncmp(p.err.msg, csv_path, strlen(csv_path)) != 0)
            sr_error_prefix(err, "%s", csv_path);
        goto out_pipe;
    }
    if (o->progress != NULL)
        o->progress(o->progress_ctx, sr_csv_bytes_read(r), sr_csv_bytes_total(r), p.rows);

    /* finish the streams */
    for (size_t i = 0; i < schema->ncols; i++) {
        if ((rc = sr_segw_finish(&cols[i].w, err)) != SR_OK)
            goto out_pipe;
        sr_sha256_final(cols[i].sha, m->columns[i].sha256);
        cols[i].sha = NULL;
        m->columns[i].size = cols[i].size;
        if (cols[i].size > SR_ARCHIVE_MAX_MEMBER) {
            rc = sr_error_set(err, SR_ELIMIT, "column %zu encrypts to %llu bytes, over the ustar limit of 8 GiB",
                              i + 1, (unsigned long long)cols[i].size);
            goto out_pipe;
        }
    }

    /* manifest */
    sr_keywrap_binding bind;
    m->rows = p.rows;
    m->chunks = p.chunks;
    m->created = o->created ? o->created : (int64_t)time(NULL);
    m->epsilon_total = o->epsilon_total == 0 ? 1.0 : o->epsilon_total;
    memcpy(m->owner_id, o->owner_id, strlen(o->owner_id) + 1);
    memcpy(m->app_id, sr_recipe_app_id(o->recipe), SR_APP_ID_LEN);
    memcpy(m->compose_hash, sr_recipe_compose_hash(o->recipe), SR_RECIPE_HASH_LEN);
    sr_secp_pubkey_normalize(o->kms_root_pub, SR_SECP_PUBKEY_LEN, m->kms_root_pub, NULL);
    uint8_t sig[SR_ETH_SIG_LEN];
    int fds[SR_MAX_COLUMNS];
    uint64_t offs[SR_MAX_COLUMNS];
    if ((rc = sr_manifest_binding(m, &bind, err)) != SR_OK ||
        (rc = sr_keywrap_wrap(m->kms_root_pub, &bind, dek, &m->key, err)) != SR_OK ||
        (rc = sr_manifest_write(m, &mbuf, err)) != SR_OK ||
        (rc = sr_manifest_sign(mbuf.data, mbuf.len, o->owner_sk, sig, err)) != SR_OK)
        goto out_pipe;
    for (size_t i = 0; i < schema->ncols; i++) {
        fds[i] = cols[i].fd;
        offs[i] = 0;
    }
    /* Keep the DEK for the owner first: an archive without its keystore
     * entry could not be rewrapped later. */
    char kdir[PATH_MAX];
    const char *ks = o->keystore_dir;
    if (ks == NULL) {
        if ((rc = sr_keystore_default_dir(kdir, sizeof kdir, err)) != SR_OK)
            goto out_pipe;
        ks = kdir;
    }
    if (ks[0] != 0 && (rc = sr_keystore_put(ks, m->archive_id, m->owner_id, dek, res ? res->keystore_path : NULL,
                                            res ? sizeof res->keystore_path : 0, err)) != SR_OK)
        goto out_pipe;
    if ((rc = sr_archive_assemble(out_path, m, mbuf.data, mbuf.len, sig, fds, offs, err)) != SR_OK)
        goto out_pipe;
    if (res != NULL) {
        memcpy(res->archive_id, m->archive_id, SR_ARCHIVE_ID_LEN);
        sr_sha256(mbuf.data, mbuf.len, res->manifest_hash);
        res->rows = m->rows;
        res->chunks = m->chunks;
        res->bytes_in = sr_csv_bytes_read(r);
        struct stat st;
        res->bytes_out = stat(out_path, &st) == 0 ? (uint64_t)st.st_size : 0;
    }
out_pipe:
    if (p.slots != NULL) {
        for (size_t i = 0; i < p.nslots; i++)
            sr_csv_block_free(&p.slots[i].blk);
        free(p.slots);
    }
    pthread_cond_destroy(&p.cv);
    pthread_mutex_destroy(&p.mu);
out:
    sr_memzero(key, sizeof key);
    if (cols != NULL) {
        for (size_t i = 0; i < schema->ncols; i++) {
            if (cols[i].fd >= 0)
                close(cols[i].fd);
            if (cols[i].sha != NULL) {
                uint8_t junk[SR_SHA256_LEN];
                sr_sha256_final(cols[i].sha, junk);
            }
            sr_segw_free(&cols[i].w);
        }
        free(cols);
    }
    sr_buf_free(&mbuf);
    sr_csv_close(r);
    if (dek != NULL)
        sr_secure_free(dek, SR_DEK_LEN);
    free(m);
    return rc;
}

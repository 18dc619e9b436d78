/* sealroom archive room: internals shared by manifest.c, tar.c, segment.c,
 * seal.c, reader.c and rewrap.c (not part of the public API). */
#ifndef SEALROOM_ARCHIVE_INTERNAL_H
#define SEALROOM_ARCHIVE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/archive.h"

#define SR_TAR_BLOCK 512u
#define SR_MANIFEST_NAME "MANIFEST.json"
#define SR_SIG_NAME "MANIFEST.sig"
#define SR_COLUMN_KEY_SALT "sealroom/v1/column-key"
#define SR_DATA_HEADER_MAGIC "sealroom/v1/data"
#define SR_SEG_AAD_LEN (SR_SHA256_LEN + 4 + 8)

/* ---- tar (tar.c): canonical ustar headers ------------------------------ */
/* Member name of column i: "col/0000.bin". */
void sr_tar_column_name(size_t i, char out[32]);
/* Builds the one canonical header for (name, size, mtime). */
int sr_tar_header(uint8_t hdr[SR_TAR_BLOCK], const char *name, uint64_t size, int64_t mtime, sr_error *err);
/* Reads size and mtime from a header and checks that the header is exactly
 * the canonical one for `name` with those values. */
int sr_tar_header_check(const uint8_t hdr[SR_TAR_BLOCK], const char *name, uint64_t *size, int64_t *mtime,
                        sr_error *err);
/* Padding after a member of `size` bytes. */
static inline uint64_t sr_tar_pad(uint64_t size) { return (SR_TAR_BLOCK - size % SR_TAR_BLOCK) % SR_TAR_BLOCK; }

/* ---- segment streams (segment.c) ---------------------------------------- */
/* Column key K_i = HKDF-SHA256(DEK, salt "sealroom/v1/column-key",
 * info = archive_id || be32(i)). */
int sr_column_key(const uint8_t dek[SR_DEK_LEN], const uint8_t archive_id[SR_ARCHIVE_ID_LEN], uint32_t col,
                  uint8_t key[SR_AES256_KEY_LEN], sr_error *err);
/* Number of segments and size of the last one for a ciphertext of size
 * bytes; SR_EFORMAT if no stream has that size. */
int sr_seg_layout(uint64_t size, uint32_t segment_size, uint64_t *nseg, uint64_t *last_ct, sr_error *err);

typedef int (*sr_sink_fn)(void *ctx, const uint8_t *p, size_t n, sr_error *err);

typedef struct sr_segw {
    sr_gcm *gcm;
    uint8_t data_hash[SR_SHA256_LEN];
    uint32_t col;
    uint32_t segsize;
    uint64_t seg;
    uint8_t *pt; /* secure, segsize bytes */
    size_t fill;
    uint8_t *ct; /* segsize + tag */
    sr_sink_fn sink;
    void *sink_ctx;
} sr_segw;
int sr_segw_init(sr_segw *w, const uint8_t key[SR_AES256_KEY_LEN], const uint8_t data_hash[SR_SHA256_LEN],
                 uint32_t col, uint32_t segsize, sr_sink_fn sink, void *sink_ctx, sr_error *err);
int sr_segw_write(sr_segw *w, const uint8_t *p, size_t n, sr_error *err);
int sr_segw_finish(sr_segw *w, sr_error *err); /* seals the last segment */
void sr_segw_free(sr_segw *w);

typedef int (*sr_source_fn)(void *ctx, uint64_t off, uint8_t *p, size_t n, sr_error *err);

typedef struct sr_segr {
    sr_gcm *gcm;
    uint8_t data_hash[SR_SHA256_LEN];
    uint32_t col;
    uint32_t segsize;
    uint64_t nseg, next, last_ct;
    uint8_t *ct;
    sr_source_fn src;
    void *src_ctx;
} sr_segr;
int sr_segr_init(sr_segr *r, const uint8_t key[SR_AES256_KEY_LEN], const uint8_t data_hash[SR_SHA256_LEN],
                 uint32_t col, uint32_t segsize, uint64_t ct_size, sr_source_fn src, void *src_ctx, sr_error *err);
/* Decrypts the next segment into pt (segsize bytes of room). *n receives
 * its plaintext length, *last 1 for the final segment. SR_ESTATE after the
 * last one. */
int sr_segr_next(sr_segr *r, uint8_t *pt, size_t *n, int *last, sr_error *err);
void sr_segr_free(sr_segr *r);

/* ---- manifest helpers (manifest.c) -------------------------------------- */
/* "YYYY-MM-DDTHH:MM:SSZ" <-> unix seconds. */
int sr_time_format(int64_t t, char out[32], sr_error *err);
int sr_time_parse(const char *s, int64_t *out, sr_error *err);
/* Allocates a zeroed manifest. */
sr_manifest *sr_manifest_new(sr_error *err);

/* ---- reader internals used by rewrap (reader.c) ------------------------- */
/* Absolute file offset of column member i's content. */
uint64_t sr_archive_column_offset(const sr_archive *a, size_t i);
int sr_archive_fd(const sr_archive *a);

/* ---- file helpers (seal.c) ---------------------------------------------- */
/* Writes all n bytes to fd. */
int sr_write_all(int fd, const void *p, size_t n, sr_error *err);
/* Copies len bytes from in_fd at in_off to out_fd's current position,
 * optionally hashing them (sha may be NULL). */
int sr_copy_range(int in_fd, uint64_t in_off, int out_fd, uint64_t len, sr_error *err);
/* Writes the final tar: manifest, signature, then the column members read
 * from the given fds (each from offset offs[i], sizes from the manifest),
 * the end-of-archive blocks; atomically at out_path. */
int sr_archive_assemble(const char *out_path, const sr_manifest *m, const uint8_t *manifest, size_t mlen,
                        const uint8_t sig[SR_ETH_SIG_LEN], const int *col_fds, const uint64_t *col_offs,
                        sr_error *err);

#endif

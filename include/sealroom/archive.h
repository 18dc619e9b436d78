/* sealroom: sealed archives (specified byte for byte in docs/FORMAT.md).
 *
 * A sealed archive is a POSIX ustar file: MANIFEST.json (public envelope),
 * MANIFEST.sig (the owner's signature over the manifest hash), then one
 * member col/NNNN.bin per column: that column's chunks, encrypted as an
 * AES-256-GCM segment stream under a per-column key derived from the data
 * key (DEK). The DEK is wrapped to the recipe-bound KMS key (keywrap.h).
 *
 * Reading: sr_archive_open checks the tar structure strictly (every header
 * byte), parses the manifest and verifies the owner's signature; it needs
 * no key. sr_archive_verify_digests additionally hashes every column
 * member. With the DEK (sr_archive_unlock, or sr_archive_unlock_kms with
 * the KMS root secret), column readers decrypt one column segment by
 * segment and yield chunks; sr_archive_read_batch zips a column subset. */
#ifndef SEALROOM_ARCHIVE_H
#define SEALROOM_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sealroom/column.h"
#include "sealroom/crypto.h"
#include "sealroom/error.h"
#include "sealroom/keywrap.h"
#include "sealroom/recipe.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_ARCHIVE_FORMAT "sealroom-archive"
#define SR_ARCHIVE_VERSION 1
#define SR_ARCHIVE_ID_LEN 16
#define SR_ARCHIVE_DATA_ALG "aes-256-gcm-segments-v1"
#define SR_ARCHIVE_DEFAULT_SEGMENT (1u << 20)   /* plaintext bytes per segment */
#define SR_ARCHIVE_MIN_SEGMENT 64u
#define SR_ARCHIVE_MAX_SEGMENT (16u << 20)
#define SR_ARCHIVE_DEFAULT_CHUNK_ROWS 16384u   /* most rows in one chunk */
#define SR_ARCHIVE_MAX_CHUNK_ROWS (1u << 20)
#define SR_ARCHIVE_MAX_CHUNK_BYTES (256u << 20) /* one encoded chunk */
#define SR_ARCHIVE_MAX_MANIFEST (4u << 20)      /* MANIFEST.json bytes */
#define SR_ARCHIVE_MAX_MEMBER 077777777777ull   /* ustar size field: 8 GiB - 1 */
#define SR_ARCHIVE_MAX_EPSILON 1000.0

typedef struct sr_manifest_column {
    uint64_t size;                  /* ciphertext bytes of the member */
    uint8_t sha256[SR_SHA256_LEN];  /* SHA-256 of those bytes */
} sr_manifest_column;

/* The parsed MANIFEST.json. */
typedef struct sr_manifest {
    int version;
    uint8_t archive_id[SR_ARCHIVE_ID_LEN];
    int64_t created; /* unix seconds (UTC) */
    char owner_id[SR_OWNER_ID_MAX];
    uint8_t owner_address[SR_ETH_ADDR_LEN];
    uint8_t app_id[SR_APP_ID_LEN];
    uint8_t compose_hash[SR_RECIPE_HASH_LEN];
    uint8_t kms_root_pub[SR_SECP_PUBKEY_LEN];
    sr_keywrap_envelope key; /* wrapped DEK */
    uint32_t segment_size;
    uint32_t chunk_rows;
    uint64_t rows;
    uint64_t chunks;
    double epsilon_total;
    sr_schema schema;
    sr_manifest_column columns[SR_MAX_COLUMNS]; /* schema.ncols entries */
} sr_manifest;

/* Parses and validates manifest bytes (untrusted: bounded sizes, counts,
 * names, exact field set). *out is heap-allocated; free with free(). */
int sr_manifest_parse(const uint8_t *data, size_t len, sr_manifest **out, sr_error *err);
/* Serialises a manifest (the form seal writes: 2-space indented JSON, fixed
 * key order, trailing newline). */
int sr_manifest_write(const sr_manifest *m, sr_buf *out, sr_error *err);
/* The data header hash bound into every segment's AAD: SHA-256 of the
 * rewrap-invariant part of the manifest (archive id, owner address,
 * segment size, chunk rows, schema). */
void sr_manifest_data_hash(const sr_manifest *m, uint8_t out[SR_SHA256_LEN]);
/* The binding the DEK is wrapped to: (app id, compose hash, owner id). */
int sr_manifest_binding(const sr_manifest *m, sr_keywrap_binding *b, sr_error *err);
/* Owner signature: 65-byte r||s||v over EIP-191("\x19Ethereum Signed
 * Message:\n32" || SHA-256(manifest bytes)). */
int sr_manifest_sign(const uint8_t *manifest, size_t len, const uint8_t owner_sk[SR_SECP_SECKEY_LEN],
                     uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
int sr_manifest_verify_sig(const uint8_t *manifest, size_t len, const uint8_t sig[SR_ETH_SIG_LEN],
                           const uint8_t expect_addr[SR_ETH_ADDR_LEN], sr_error *err);

/* ---- sealing ----------------------------------------------------------- */

typedef void (*sr_seal_progress_fn)(void *ctx, uint64_t bytes_done, uint64_t bytes_total, uint64_t rows);

typedef struct sr_seal_opts {
    const sr_recipe *recipe;                /* required */
    const char *owner_id;                   /* required: an owner with a dataset in the recipe */
    const uint8_t *owner_sk;                /* required: 32 bytes; its address must match the recipe */
    const uint8_t *kms_root_pub;            /* required: 33 bytes compressed */
    double epsilon_total;                   /* privacy budget granted; 0 = 1.0 */
    uint32_t segment_size;                  /* 0 = SR_ARCHIVE_DEFAULT_SEGMENT */
    uint32_t chunk_rows;                    /* 0 = SR_ARCHIVE_DEFAULT_CHUNK_ROWS */
    int threads;                            /* parse/encode workers; 0 = 2 */
    const char *keystore_dir;               /* NULL = sr_keystore_default_dir(); "" = do not keep the DEK */
    int64_t created;                        /* 0 = now */
    sr_seal_progress_fn progress;           /* may be NULL; called from the sealing thread */
    void *progress_ctx;
} sr_seal_opts;

typedef struct sr_seal_result {
    uint8_t archive_id[SR_ARCHIVE_ID_LEN];
    uint8_t manifest_hash[SR_SHA256_LEN];
    uint64_t rows;
    uint64_t chunks;
    uint64_t bytes_in;
    uint64_t bytes_out;
    char keystore_path[4096]; /* "" when no keystore entry was written */
} sr_seal_result;

/* CSV file -> sealed archive at out_path (written atomically: temporary
 * files next to it, renamed at the end). The CSV header must match the
 * owner's dataset schema in the recipe. */
int sr_archive_seal(const char *csv_path, const char *out_path, const sr_seal_opts *o, sr_seal_result *res,
                    sr_error *err);

/* ---- the owner's keystore ------------------------------------------------ */
/* One file per archive, DIR/<archive id hex>.json, mode 0600 (DIR 0700):
 * {"version":1,"archive_id":hex,"owner_id":...,"dek":hex}. Default DIR:
 * $SEALROOM_KEYSTORE, else $HOME/.sealroom/keystore. */
int sr_keystore_default_dir(char *out, size_t cap, sr_error *err);
int sr_keystore_put(const char *dir, const uint8_t archive_id[SR_ARCHIVE_ID_LEN], const char *owner_id,
                    const uint8_t dek[SR_DEK_LEN], char *path_out, size_t path_cap, sr_error *err);
int sr_keystore_get(const char *dir, const uint8_t archive_id[SR_ARCHIVE_ID_LEN], const char *owner_id,
                    uint8_t dek[SR_DEK_LEN], sr_error *err);

/* ---- reading ------------------------------------------------------------- */

typedef struct sr_archive sr_archive;

/* Opens and checks structure + manifest + signature (no key needed). */
int sr_archive_open(const char *path, sr_archive **out, sr_error *err);
/* Same over an open file descriptor (not closed by the archive). */
int sr_archive_open_fd(int fd, sr_archive **out, sr_error *err);
void sr_archive_close(sr_archive *a);

const sr_manifest *sr_archive_manifest(const sr_archive *a);
/* The exact MANIFEST.json bytes (followed by a NUL not counted in len). */
const uint8_t *sr_archive_manifest_bytes(const sr_archive *a, size_t *len);
const uint8_t *sr_archive_manifest_hash(const sr_archive *a); /* 32 bytes */
const uint8_t *sr_archive_signature(const sr_archive *a);     /* 65 bytes */
/* Hashes every column member and compares with the manifest. */
int sr_archive_verify_digests(sr_archive *a, sr_error *err);
/* Checks the archive belongs to this recipe: compose hash, app id, the
 * owner and its address, and the schema. */
int sr_archive_check_recipe(const sr_archive *a, const sr_recipe *r, sr_error *err);

/* Gives the archive its DEK (copied into secure memory). The key is checked
 * by authenticating the first segment of the first column. */
int sr_archive_unlock(sr_archive *a, const uint8_t dek[SR_DEK_LEN], sr_error *err);
/* Unwraps the DEK with the KMS root secret (operator / test path). */
int sr_archive_unlock_kms(sr_archive *a, const uint8_t root_sk[SR_SECP_SECKEY_LEN], sr_error *err);
/* Copies the unlocked DEK out (for re-wrapping); SR_ESTATE if locked. */
int sr_archive_dek(const sr_archive *a, uint8_t dek[SR_DEK_LEN], sr_error *err);

/* One column, decrypted segment by segment into secure memory. */
typedef struct sr_column_reader sr_column_reader;
int sr_column_reader_open(sr_archive *a, size_t col, sr_column_reader **out, sr_error *err);
/* Decodes the next chunk into *out (which must be zero-initialised or a
 * chunk from a previous call, whose secure storage is reused when it fits:
 * sr_chunk_decode_reuse; free it with sr_chunk_free when done).
 * At the end of the column out->nrows is 0, after checking the stream ended
 * with its last segment and that row and chunk counts match the manifest. */
int sr_column_reader_next(sr_column_reader *r, sr_chunk *out, sr_error *err);
void sr_column_reader_close(sr_column_reader *r);

/* A column subset read in step: each call yields one chunk per selected
 * column (same rows). The batch must be zero-initialised ({0}) before the
 * first call; free it with sr_batch_free. b->nrows is 0 at the end. */
typedef struct sr_archive_scan sr_archive_scan;
int sr_archive_scan_open(sr_archive *a, const size_t *cols, size_t ncols, sr_archive_scan **out, sr_error *err);
int sr_archive_read_batch(sr_archive_scan *s, sr_batch *b, sr_error *err);
void sr_archive_scan_close(sr_archive_scan *s);

/* Decrypts every column and writes the table as CSV (see csv.h). */
int sr_archive_unseal_csv(sr_archive *a, FILE *out, sr_seal_progress_fn progress, void *progress_ctx,
                          sr_error *err);

/* ---- rewrap ---------------------------------------------------------------- */

typedef struct sr_rewrap_opts {
    const sr_recipe *recipe;     /* the new recipe (required) */
    const uint8_t *owner_sk;     /* required: signs the new manifest */
    const uint8_t *dek;          /* the archive's DEK (e.g. from sr_keystore_get) */
    const uint8_t *kms_root_pub; /* NULL = keep the archive's */
    double epsilon_total;        /* 0 = keep */
    int64_t created;             /* 0 = now */
} sr_rewrap_opts;

/* Re-binds an archive to a new recipe: new wrapped DEK and a new signed
 * manifest; column members are copied unchanged (no re-encryption). */
int sr_archive_rewrap(const char *in_path, const char *out_path, const sr_rewrap_opts *o, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

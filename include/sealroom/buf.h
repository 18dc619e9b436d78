/* sealroom: growable byte buffers, hex and base64, whole-file I/O. */
#ifndef SEALROOM_BUF_H
#define SEALROOM_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A growable byte buffer. Zero-initialised ({0}) is a valid empty buffer.
 * When `secure` is set, storage comes from sr_secure_alloc (locked, wiped on
 * free and on every reallocation). */
typedef struct sr_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    int secure;
} sr_buf;

void sr_buf_init(sr_buf *b);
void sr_buf_init_secure(sr_buf *b);
/* Makes room for `extra` more bytes after len. */
int sr_buf_reserve(sr_buf *b, size_t extra, sr_error *err);
int sr_buf_append(sr_buf *b, const void *p, size_t n, sr_error *err);
int sr_buf_append_str(sr_buf *b, const char *s, sr_error *err);
int sr_buf_append_u8(sr_buf *b, uint8_t v, sr_error *err);
/* Appends big-endian / little-endian fixed-width integers. */
int sr_buf_append_be32(sr_buf *b, uint32_t v, sr_error *err);
int sr_buf_append_be64(sr_buf *b, uint64_t v, sr_error *err);
int sr_buf_append_le32(sr_buf *b, uint32_t v, sr_error *err);
int sr_buf_append_le64(sr_buf *b, uint64_t v, sr_error *err);
/* Empties the buffer, keeping its storage (wiping it if secure). */
void sr_buf_reset(sr_buf *b);
/* Frees storage; wipes first (always, secure or not). */
void sr_buf_free(sr_buf *b);

/* Lowercase hex of n bytes into out (needs 2n+1 bytes, NUL-terminated). */
void sr_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes hex (optional 0x/0X prefix, either case) into out. Fails unless
 * the text has an even number of hex digits and the result fits outcap.
 * *outlen receives the decoded length. */
int sr_hex_decode(const char *hex, uint8_t *out, size_t outcap, size_t *outlen,
                  sr_error *err);
/* Decodes hex that must be exactly n bytes long. */
int sr_hex_decode_exact(const char *hex, uint8_t *out, size_t n, sr_error *err);

/* Standard base64 with padding. sr_base64_encode returns a malloc'd string. */
char *sr_base64_encode(const uint8_t *in, size_t n);
int sr_base64_decode(const char *text, sr_buf *out, sr_error *err);

/* Reads a whole file into out (appending). Fails with SR_ELIMIT if it is
 * larger than max bytes. */
int sr_file_read(const char *path, size_t max, sr_buf *out, sr_error *err);
/* Writes a file atomically (temporary file in the same folder, fsync,
 * rename) with the given mode (e.g. 0600 for secrets). */
int sr_file_write_atomic(const char *path, const void *data, size_t n,
                         unsigned mode, sr_error *err);

/* Little/big-endian loads from byte arrays (no alignment assumed). */
static inline uint16_t sr_load_le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t sr_load_le32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t sr_load_le64(const uint8_t *p) {
    return (uint64_t)sr_load_le32(p) | ((uint64_t)sr_load_le32(p + 4) << 32);
}
static inline uint32_t sr_load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint64_t sr_load_be64(const uint8_t *p) {
    return ((uint64_t)sr_load_be32(p) << 32) | (uint64_t)sr_load_be32(p + 4);
}
static inline void sr_store_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void sr_store_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void sr_store_le64(uint8_t *p, uint64_t v) { sr_store_le32(p, (uint32_t)v); sr_store_le32(p + 4, (uint32_t)(v >> 32)); }
static inline void sr_store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void sr_store_be64(uint8_t *p, uint64_t v) { sr_store_be32(p, (uint32_t)(v >> 32)); sr_store_be32(p + 4, (uint32_t)v); }

#ifdef __cplusplus
}
#endif
#endif

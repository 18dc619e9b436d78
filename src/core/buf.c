#include "sealroom/buf.h"
#include "sealroom/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sr_buf_init(sr_buf *b)
{
    memset(b, 0, sizeof *b);
}

void sr_buf_init_secure(sr_buf *b)
{
    memset(b, 0, sizeof *b);
    b->secure = 1;
}

static uint8_t *buf_alloc(int secure, size_t n)
{
    return secure ? sr_secure_alloc(n) : malloc(n);
}

static void buf_release(int secure, uint8_t *p, size_t cap)
{
    if (p == NULL)
        return;
    if (secure) {
        sr_secure_free(p, cap);
    } else {
        sr_memzero(p, cap);
        free(p);
    }
}

int sr_buf_reserve(sr_buf *b, size_t extra, sr_error *err)
{
    if (extra > SIZE_MAX - b->len)
        return sr_error_set(err, SR_ELIMIT, "buffer size overflow");
    size_t need = b->len + extra;
    if (need <= b->cap)
        return SR_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *p = buf_alloc(b->secure, cap);
    if (p == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory (%zu bytes)", cap);
    if (b->len > 0)
        memcpy(p, b->data, b->len);
    buf_release(b->secure, b->data, b->cap);
    b->data = p;
    b->cap = cap;
    return SR_OK;
}

int sr_buf_append(sr_buf *b, const void *p, size_t n, sr_error *err)
{
    if (n == 0)
        return SR_OK;
    int rc = sr_buf_reserve(b, n, err);
    if (rc != SR_OK)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return SR_OK;
}

int sr_buf_append_str(sr_buf *b, const char *s, sr_error *err)
{
    return sr_buf_append(b, s, strlen(s), err);
}

int sr_buf_append_u8(sr_buf *b, uint8_t v, sr_error *err)
{
    return sr_buf_append(b, &v, 1, err);
}

int sr_buf_append_be32(sr_buf *b, uint32_t v, sr_error *err)
{
    uint8_t t[4];
    sr_store_be32(t, v);
    return sr_buf_append(b, t, 4, err);
}

int sr_buf_append_be64(sr_buf *b, uint64_t v, sr_error *err)
{
    uint8_t t[8];
    sr_store_be64(t, v);
    return sr_buf_append(b, t, 8, err);
}

int sr_buf_append_le32(sr_buf *b, uint32_t v, sr_error *err)
{
    uint8_t t[4];
    sr_store_le32(t, v);
    return sr_buf_append(b, t, 4, err);
}

int sr_buf_append_le64(sr_buf *b, uint64_t v, sr_error *err)
{
    uint8_t t[8];
    sr_store_le64(t, v);
    return sr_buf_append(b, t, 8, err);
}

void sr_buf_reset(sr_buf *b)
{
    if (b->data != NULL)
        sr_memzero(b->data, b->len);
    b->len = 0;
}

void sr_buf_free(sr_buf *b)
{
    buf_release(b->secure, b->data, b->cap);
    int secure = b->secure;
    memset(b, 0, sizeof *b);
    b->secure = secure;
}

void sr_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sr_hex_decode(const char *hex, uint8_t *out, size_t outcap, size_t *outlen, sr_error *err)
{
    if (hex == NULL)
        return sr_error_set(err, SR_EINVAL, "hex: no input");
    if (hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        hex += 2;
    size_t n = strlen(hex);
    if (n % 2 != 0)
        return sr_error_set(err, SR_EFORMAT, "hex: odd number of digits (%zu)", n);
    if (n / 2 > outcap)
        return sr_error_set(err, SR_ELIMIT, "hex: %zu bytes do not fit in %zu", n / 2, outcap);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return sr_error_set(err, SR_EFORMAT, "hex: invalid digit at position %zu", 2 * i + (hi < 0 ? 0 : 1));
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (outlen != NULL)
        *outlen = n / 2;
    return SR_OK;
}

int sr_hex_decode_exact(const char *hex, uint8_t *out, size_t n, sr_error *err)
{
    size_t got = 0;
    if (hex == NULL)
        return sr_error_set(err, SR_EINVAL, "hex: no input");
    const char *digits = hex;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        digits += 2;
    if (strlen(digits) != 2 * n)
        return sr_error_set(err, SR_EFORMAT, "hex: expected %zu bytes (%zu digits), got %zu digits", n, 2 * n,
                            strlen(digits));
    return sr_hex_decode(hex, out, n, &got, err);
}

char *sr_base64_encode(const uint8_t *in, size_t n)
{
    if (n > (size_t)INT_MAX / 4 * 3 - 3)
        return NULL;
    size_t outlen = 4 * ((n + 2) / 3) + 1;
    char *out = malloc(outlen);
    if (out == NULL)
        return NULL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int sr_base64_decode(const char *text, sr_buf *out, sr_error *err)
{
    size_t n = strlen(text);
    if (n % 4 != 0)
        return sr_error_set(err, SR_EFORMAT, "base64: length %zu is not a multiple of 4", n);
    int rc = sr_buf_reserve(out, n / 4 * 3, err);
    if (rc != SR_OK)
        return rc;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            char c = text[i + (size_t)j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad > 0 || (v[j] = b64_value(c)) < 0)
                return sr_error_set(err, SR_EFORMAT, "base64: invalid character at %zu", i + (size_t)j);
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        uint8_t bytes[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        memcpy(out->data + out->len, bytes, (size_t)(3 - pad));
        out->len += (size_t)(3 - pad);
    }
    return SR_OK;
}

int sr_file_read(const char *path, size_t max, sr_buf *out, sr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sr_error_set(err, errno == ENOENT ? SR_ENOTFOUND : SR_EIO, "%s: %s", path, strerror(errno));
    int rc = SR_OK;
    size_t total = 0;
    for (;;) {
        if ((rc = sr_buf_reserve(out, 65536, err)) != SR_OK)
            break;
        ssize_t r = read(fd, out->data + out->len, 65536);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = sr_error_set(err, SR_EIO, "%s: read: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        total += (size_t)r;
        if (total > max) {
            rc = sr_error_set(err, SR_ELIMIT, "%s: larger than the limit of %zu bytes", path, max);
            break;
        }
        out->len += (size_t)r;
    }
    close(fd);
    return rc;
}

int sr_file_write_atomic(const char *path, const void *data, size_t n, unsigned mode, sr_error *err)
{
    char tmp[PATH_MAX];
    int len = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof tmp)
        return sr_error_set(err, SR_EINVAL, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return sr_error_set(err, SR_EIO, "%s: %s", tmp, strerror(errno));
    (void)fchmod(fd, (mode_t)mode); /* umask must not widen or narrow it */
    const uint8_t *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return sr_error_set(err, SR_EIO, "%s: write: %s", tmp, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    int synced = fsync(fd);
    int e = errno;
    if (close(fd) != 0 && synced == 0) {
        synced = -1;
        e = errno;
    }
    if (synced != 0) {
        unlink(tmp);
        return sr_error_set(err, SR_EIO, "%s: %s", tmp, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sr_error_set(err, SR_EIO, "rename to %s: %s", path, strerror(e));
    }
    return SR_OK;
}

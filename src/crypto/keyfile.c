/* sealroom crypto: secp256k1 secret key files ("<64 lowercase hex>\n",
 * mode 0600). */
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest accepted file: "0x" + 64 hex + "\r\n". */
#define KEYFILE_MAX 68

int sr_keyfile_write(const char *path, const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err)
{
    if (path == NULL)
        return sr_error_set(err, SR_EINVAL, "key file: no path");
    int rc = sr_secp_seckey_verify(sk, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "key file %s", path);
    char text[2 * SR_SECP_SECKEY_LEN + 2];
    sr_hex_encode(sk, SR_SECP_SECKEY_LEN, text);
    text[2 * SR_SECP_SECKEY_LEN] = '\n';
    text[2 * SR_SECP_SECKEY_LEN + 1] = '\0';
    rc = sr_file_write_atomic(path, text, 2 * SR_SECP_SECKEY_LEN + 1, 0600, err);
    sr_memzero(text, sizeof text);
    return rc;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sr_keyfile_read(const char *path, uint8_t sk[SR_SECP_SECKEY_LEN], int allow_loose_mode, sr_error *err)
{
    sr_memzero(sk, SR_SECP_SECKEY_LEN); /* on any failure the output is all zero */
    if (path == NULL)
        return sr_error_set(err, SR_EINVAL, "key file: no path");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return sr_error_set(err, errno == ENOENT ? SR_ENOTFOUND : SR_EIO, "key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sr_error_set(err, SR_EIO, "key file %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sr_error_set(err, SR_EFORMAT, "key file %s: not a regular file", path);
    }
    if ((st.st_mode & 077) != 0 && !allow_loose_mode) {
        close(fd);
        return sr_error_set(err, SR_EDENIED,
                            "key file %s: mode %04o lets group or others access it (chmod 600 it)", path,
                            (unsigned)(st.st_mode & 07777));
    }
    char text[KEYFILE_MAX + 1];
    size_t len = 0;
    int rc = SR_OK;
    for (;;) {
        ssize_t r = read(fd, text + len, sizeof text - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = sr_error_set(err, SR_EIO, "key file %s: %s", path, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == sizeof text) {
            rc = sr_error_set(err, SR_EFORMAT, "key file %s: longer than a key", path);
            break;
        }
    }
    close(fd);
    if (rc == SR_OK) {
        const char *p = text;
        size_t n = len;
        if (n >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
            p += 2;
            n -= 2;
        }
        if (n > 0 && p[n - 1] == '\n')
            n--;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n != 2 * SR_SECP_SECKEY_LEN) {
            rc = sr_error_set(err, SR_EFORMAT, "key file %s: expected 64 hex digits and a newline", path);
        } else {
            for (size_t i = 0; i < SR_SECP_SECKEY_LEN; i++) {
                int hi = hexval(p[2 * i]), lo = hexval(p[2 * i + 1]);
                if (hi < 0 || lo < 0) {
                    rc = sr_error_set(err, SR_EFORMAT, "key file %s: not hex", path);
                    break;
                }
                sk[i] = (uint8_t)(hi << 4 | lo);
            }
            if (rc == SR_OK && sr_secp_seckey_verify(sk, err) != SR_OK)
                rc = sr_error_prefix(err, "key file %s", path);
        }
    }
    sr_memzero(text, sizeof text);
    if (rc != SR_OK)
        sr_memzero(sk, SR_SECP_SECKEY_LEN);
    return rc;
}

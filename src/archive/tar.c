/* sealroom: the canonical ustar headers of sealed archives. Every member
 * has exactly one valid 512-byte header, so the reader compares headers
 * byte for byte instead of interpreting them (docs/FORMAT.md, "Tar
 * layout"). A general tar library would accept many spellings of the same
 * header (and ignore fields), which defeats byte-exact tamper detection. */
#include <stdio.h>
#include <string.h>

#include "archive_internal.h"

#define OFF_NAME 0
#define OFF_MODE 100
#define OFF_UID 108
#define OFF_GID 116
#define OFF_SIZE 124
#define OFF_MTIME 136
#define OFF_CHKSUM 148
#define OFF_TYPE 156
#define OFF_MAGIC 257
#define OFF_VERSION 263
#define OFF_UNAME 265
#define OFF_GNAME 297
#define OFF_DEVMAJOR 329
#define OFF_DEVMINOR 337
#define TAR_OWNER "sealroom"
#define OCTAL11_MAX 077777777777ull

void sr_tar_column_name(size_t i, char out[32])
{
    snprintf(out, 32, "col/%04zu.bin", i);
}

/* width-1 octal digits, zero-padded, then NUL. */
static void octal(uint8_t *p, size_t width, uint64_t v)
{
    for (size_t i = width - 1; i-- > 0;) {
        p[i] = (uint8_t)('0' + (v & 7));
        v >>= 3;
    }
    p[width - 1] = 0;
}

int sr_tar_header(uint8_t hdr[SR_TAR_BLOCK], const char *name, uint64_t size, int64_t mtime, sr_error *err)
{
    size_t nl = strlen(name);
    memset(hdr, 0, SR_TAR_BLOCK);
    if (nl == 0 || nl > 99)
        return sr_error_set(err, SR_EINVAL, "tar member name \"%.40s\" must be 1..99 bytes", name);
    if (size > OCTAL11_MAX)
        return sr_error_set(err, SR_ELIMIT, "tar member %s of %llu bytes exceeds the ustar limit (8 GiB - 1)", name,
                            (unsigned long long)size);
    if (mtime < 0 || (uint64_t)mtime > OCTAL11_MAX)
        return sr_error_set(err, SR_EINVAL, "tar mtime %lld is out of range", (long long)mtime);
    memcpy(hdr + OFF_NAME, name, nl);
    octal(hdr + OFF_MODE, 8, 0644);
    octal(hdr + OFF_UID, 8, 0);
    octal(hdr + OFF_GID, 8, 0);
    octal(hdr + OFF_SIZE, 12, size);
    octal(hdr + OFF_MTIME, 12, (uint64_t)mtime);
    hdr[OFF_TYPE] = '0';
    memcpy(hdr + OFF_MAGIC, "ustar", 6); /* with its NUL */
    memcpy(hdr + OFF_VERSION, "00", 2);
    memcpy(hdr + OFF_UNAME, TAR_OWNER, strlen(TAR_OWNER));
    memcpy(hdr + OFF_GNAME, TAR_OWNER, strlen(TAR_OWNER));
    octal(hdr + OFF_DEVMAJOR, 8, 0);
    octal(hdr + OFF_DEVMINOR, 8, 0);
    /* checksum: sum of all bytes with the checksum field as 8 spaces;
     * written as 6 octal digits, NUL, space. */
    memset(hdr + OFF_CHKSUM, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < SR_TAR_BLOCK; i++)
        sum += hdr[i];
    octal(hdr + OFF_CHKSUM, 7, sum);
    hdr[OFF_CHKSUM + 7] = ' ';
    return SR_OK;
}

static int read_octal(const uint8_t *p, size_t width, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i + 1 < width; i++) {
        if (p[i] < '0' || p[i] > '7')
            return -1;
        v = (v << 3) | (uint64_t)(p[i] - '0');
    }
    if (p[width - 1] != 0)
        return -1;
    *out = v;
    return 0;
}

int sr_tar_header_check(const uint8_t hdr[SR_TAR_BLOCK], const char *name, uint64_t *size, int64_t *mtime,
                        sr_error *err)
{
    uint64_t sz, mt;
    uint8_t want[SR_TAR_BLOCK];
    int all_zero = 1;
    for (size_t i = 0; i < SR_TAR_BLOCK && all_zero; i++)
        all_zero = hdr[i] == 0;
    if (all_zero)
        return sr_error_set(err, SR_EFORMAT, "tar: archive ends where member %s was expected", name);
    if (read_octal(hdr + OFF_SIZE, 12, &sz) != 0 || read_octal(hdr + OFF_MTIME, 12, &mt) != 0)
        return sr_error_set(err, SR_EFORMAT, "tar: header of %s: size or mtime is not 11 octal digits", name);
    if (sr_tar_header(want, name, sz, (int64_t)mt, err) != SR_OK)
        return sr_error_prefix(err, "tar: header of %s", name);
    if (memcmp(want, hdr, SR_TAR_BLOCK) != 0) {
        size_t i = 0;
        while (want[i] == hdr[i])
            i++;
        if (memcmp(want, hdr, 100) != 0 && strncmp((const char *)hdr, name, 100) != 0)
            return sr_error_set(err, SR_EFORMAT, "tar: expected member %s, found \"%.99s\"", name,
                                (const char *)hdr);
        return sr_error_set(err, SR_EFORMAT, "tar: header of %s is not canonical (byte %zu differs)", name, i);
    }
    *size = sz;
    *mtime = (int64_t)mt;
    return SR_OK;
}

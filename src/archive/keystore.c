/* sealroom: the owner's local keystore of archive data keys (for rewrap).
 * DIR/<archive id hex>.json, 0600, in a 0700 folder. See docs/FORMAT.md
 * ("Owner keystore"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

int sr_keystore_default_dir(char *out, size_t cap, sr_error *err)
{
    const char *env = getenv("SEALROOM_KEYSTORE");
    int n;
    if (env != NULL && env[0] != 0) {
        n = snprintf(out, cap, "%s", env);
    } else {
        const char *home = getenv("HOME");
        if (home == NULL || home[0] == 0)
            return sr_error_set(err, SR_EINVAL, "no keystore folder: set HOME or SEALROOM_KEYSTORE, or pass --keystore");
        n = snprintf(out, cap, "%s/.sealroom/keystore", home);
    }
    if (n < 0 || (size_t)n >= cap)
        return sr_error_set(err, SR_EINVAL, "keystore path too long");
    return SR_OK;
}

/* mkdir -p with mode 0700 for the folders it creates. */
static int mkdirs(const char *dir, sr_error *err)
{
    char tmp[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof tmp)
        return sr_error_set(err, SR_EINVAL, "bad keystore folder \"%s\"", dir);
    memcpy(tmp, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] == '/' || tmp[i] == 0) {
            char c = tmp[i];
            tmp[i] = 0;
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
                return sr_error_set(err, SR_EIO, "cannot create %s: %s", tmp, strerror(errno));
            tmp[i] = c;
        }
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return sr_error_set(err, SR_EIO, "keystore %s is not a folder", dir);
    return SR_OK;
}

static int entry_path(const char *dir, const uint8_t id[SR_ARCHIVE_ID_LEN], char *out, size_t cap, sr_error *err)
{
    char hex[2 * SR_ARCHIVE_ID_LEN + 1];
    sr_hex_encode(id, SR_ARCHIVE_ID_LEN, hex);
    int n = snprintf(out, cap, "%s/%s.json", dir, hex);
    if (n < 0 || (size_t)n >= cap)
        return sr_error_set(err, SR_EINVAL, "keystore path too long");
    return SR_OK;
}

int sr_keystore_put(const char *dir, const uint8_t archive_id[SR_ARCHIVE_ID_LEN], const char *owner_id,
                    const uint8_t dek[SR_DEK_LEN], char *path_out, size_t path_cap, sr_error *err)
{
    char path[4096], idhex[2 * SR_ARCHIVE_ID_LEN + 1];
    char *text = sr_secure_alloc(512);
    int rc;
    if (text == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of secure memory");
    if ((rc = sr_owner_id_check(owner_id, err)) != SR_OK || (rc = mkdirs(dir, err)) != SR_OK ||
        (rc = entry_path(dir, archive_id, path, sizeof path, err)) != SR_OK)
        goto out;
    sr_hex_encode(archive_id, SR_ARCHIVE_ID_LEN, idhex);
    /* Written by hand (not jansson) so the DEK only lives in secure memory. */
    int n = snprintf(text, 512, "{\"version\": 1, \"archive_id\": \"%s\", \"owner_id\": \"%s\", \"dek\": \"", idhex,
                     owner_id);
    sr_hex_encode(dek, SR_DEK_LEN, text + n);
    n += 2 * SR_DEK_LEN;
    n += snprintf(text + n, 512 - (size_t)n, "\"}\n");
    rc = sr_file_write_atomic(path, text, (size_t)n, 0600, err);
    if (rc == SR_OK && path_out != NULL && path_cap > 0)
        snprintf(path_out, path_cap, "%s", path);
out:
    sr_secure_free(text, 512);
    return rc;
}

int sr_keystore_get(const char *dir, const uint8_t archive_id[SR_ARCHIVE_ID_LEN], const char *owner_id,
                    uint8_t dek[SR_DEK_LEN], sr_error *err)
{
    char path[4096];
    int rc = entry_path(dir, archive_id, path, sizeof path, err);
    if (rc != SR_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0)
        return sr_error_set(err, SR_ENOTFOUND, "no keystore entry for this archive: %s: %s", path, strerror(errno));
    if ((st.st_mode & 077) != 0)
        return sr_error_set(err, SR_EDENIED, "%s is readable by others (mode %03o): chmod 600 it", path,
                            (unsigned)(st.st_mode & 0777));
    sr_buf b;
    sr_buf_init_secure(&b);
    json_t *doc = NULL;
    if ((rc = sr_file_read(path, 4096, &b, err)) != SR_OK)
        goto out;
    doc = sr_json_parse(b.data, b.len, 4096, err);
    if (doc == NULL) {
        rc = sr_error_prefix(err, "%s", path);
        goto out;
    }
    uint8_t id[SR_ARCHIVE_ID_LEN];
    const char *owner = NULL;
    int64_t version = 0;
    if ((rc = sr_json_get_int(doc, "version", 1, &version, path, err)) != SR_OK ||
        (rc = sr_json_get_hex(doc, "archive_id", id, sizeof id, path, err)) != SR_OK ||
        (rc = sr_json_get_str(doc, "owner_id", 1, &owner, path, err)) != SR_OK)
        goto out;
    if (version != 1 || memcmp(id, archive_id, sizeof id) != 0) {
        rc = sr_error_set(err, SR_EFORMAT, "%s: not the keystore entry of this archive", path);
        goto out;
    }
    if (owner_id != NULL && strcmp(owner, owner_id) != 0) {
        rc = sr_error_set(err, SR_EDENIED, "%s: belongs to owner \"%s\", not \"%s\"", path, owner, owner_id);
        goto out;
    }
    rc = sr_json_get_hex(doc, "dek", dek, SR_DEK_LEN, path, err);
out:
    if (doc != NULL) {
        /* wipe jansson's copy of the hex DEK */
        json_t *d = json_object_get(doc, "dek");
        if (json_is_string(d))
            sr_memzero((char *)json_string_value(d), json_string_length(d));
        json_decref(doc);
    }
    sr_buf_free(&b);
    return rc;
}

/* sealroom: MANIFEST.json of sealed archives: strict parser, writer, data
 * header hash, owner signature. See docs/FORMAT.md ("MANIFEST.json"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

sr_manifest *sr_manifest_new(sr_error *err)
{
    sr_manifest *m = calloc(1, sizeof *m);
    if (m == NULL)
        sr_error_set(err, SR_ENOMEM, "out of memory for a manifest");
    return m;
}

int sr_time_format(int64_t t, char out[32], sr_error *err)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t < 0 || t > 253402300799LL || gmtime_r(&tt, &tm) == NULL)
        return sr_error_set(err, SR_EINVAL, "time %lld is out of range", (long long)t);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return SR_OK;
}

int sr_time_parse(const char *s, int64_t *out, sr_error *err)
{
    /* Strict form: exactly YYYY-MM-DDTHH:MM:SSZ, and canonical (formats back
     * to the same text), so every instant has one spelling. */
    static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof pat - 1)
        return sr_error_set(err, SR_EFORMAT, "time \"%.32s\" is not YYYY-MM-DDTHH:MM:SSZ", s);
    for (size_t i = 0; i < sizeof pat - 1; i++) {
        int ok = pat[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == pat[i];
        if (!ok)
            return sr_error_set(err, SR_EFORMAT, "time \"%.32s\" is not YYYY-MM-DDTHH:MM:SSZ", s);
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = atoi(s) - 1900;
    tm.tm_mon = atoi(s + 5) - 1;
    tm.tm_mday = atoi(s + 8);
    tm.tm_hour = atoi(s + 11);
    tm.tm_min = atoi(s + 14);
    tm.tm_sec = atoi(s + 17);
    time_t t = timegm(&tm);
    char back[32];
    if (t < 0 || sr_time_format((int64_t)t, back, NULL) != SR_OK || strcmp(back, s) != 0)
        return sr_error_set(err, SR_EFORMAT, "time \"%.32s\" is not a valid UTC time", s);
    *out = (int64_t)t;
    return SR_OK;
}

static int only_keys(const json_t *obj, const char *const *keys, const char *what, sr_error *err)
{
    const char *k;
    json_t *v;
    size_t nk = 0;
    json_object_foreach((json_t *)obj, k, v) {
        int known = 0;
        for (size_t i = 0; keys[i] != NULL; i++)
            if (strcmp(k, keys[i]) == 0)
                known = 1;
        if (!known)
            return sr_error_set(err, SR_EFORMAT, "%s: unknown field \"%.40s\"", what, k);
    }
    for (size_t i = 0; keys[i] != NULL; i++)
        nk++;
    if (json_object_size(obj) != nk) {
        for (size_t i = 0; keys[i] != NULL; i++)
            if (json_object_get(obj, keys[i]) == NULL)
                return sr_error_set(err, SR_EFORMAT, "%s: missing field \"%s\"", what, keys[i]);
    }
    return SR_OK;
}

static int get_u64(const json_t *obj, const char *key, uint64_t max, uint64_t *out, const char *what,
                   sr_error *err)
{
    int64_t v = 0;
    if (sr_json_get_int(obj, key, 1, &v, what, err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    if (v < 0 || (uint64_t)v > max)
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" = %lld is out of range [0, %llu]", what, key,
                            (long long)v, (unsigned long long)max);
    *out = (uint64_t)v;
    return SR_OK;
}

/* A hex field of exactly n bytes, lowercase, no 0x prefix. */
static int get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n, const char *what, sr_error *err)
{
    const char *s = NULL;
    if (sr_json_get_str(obj, key, 1, &s, what, err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    size_t len = strlen(s);
    if (len != 2 * n)
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be %zu lowercase hex digits", what, key, 2 * n);
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be %zu lowercase hex digits", what, key,
                                2 * n);
    return sr_hex_decode_exact(s, out, n, err);
}

static int get_pubkey(const json_t *obj, const char *key, uint8_t out[SR_SECP_PUBKEY_LEN], const char *what,
                      sr_error *err)
{
    uint8_t norm[SR_SECP_PUBKEY_LEN];
    if (get_hex(obj, key, out, SR_SECP_PUBKEY_LEN, what, err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    if (sr_secp_pubkey_normalize(out, SR_SECP_PUBKEY_LEN, norm, NULL) != SR_OK ||
        memcmp(norm, out, SR_SECP_PUBKEY_LEN) != 0)
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" is not a compressed secp256k1 point", what, key);
    return SR_OK;
}

static int parse_doc(const json_t *doc, sr_manifest *m, sr_error *err)
{
    static const char *const top_keys[] = {"format", "version", "archive_id", "created", "owner", "recipe", "key",
                                           "data", "epsilon_total", "schema", "columns", NULL};
    static const char *const owner_keys[] = {"id", "address", NULL};
    static const char *const recipe_keys[] = {"app_id", "compose_hash", NULL};
    static const char *const key_keys[] = {"algorithm", "kms_root_pubkey", "ephemeral", "wrapped_dek", NULL};
    static const char *const data_keys[] = {"algorithm", "segment_size", "chunk_rows", "rows", "chunks", NULL};
    static const char *const col_keys[] = {"member", "size", "sha256", NULL};
    const char *s = NULL;
    json_t *o = NULL;
    uint64_t u = 0;

    if (!json_is_object(doc))
        return sr_error_set(err, SR_EFORMAT, "manifest: not a JSON object");
    if (only_keys(doc, top_keys, "manifest", err) != SR_OK)
        return SR_EFORMAT;
    if (sr_json_get_str(doc, "format", 1, &s, "manifest", err) != SR_OK)
        return SR_EFORMAT;
    if (strcmp(s, SR_ARCHIVE_FORMAT) != 0)
        return sr_error_set(err, SR_EFORMAT, "manifest: format \"%.40s\" is not \"%s\"", s, SR_ARCHIVE_FORMAT);
    if (get_u64(doc, "version", 1000, &u, "manifest", err) != SR_OK)
        return SR_EFORMAT;
    if (u != SR_ARCHIVE_VERSION)
        return sr_error_set(err, SR_EFORMAT, "manifest: version %llu is not supported (this build reads %d)",
                            (unsigned long long)u, SR_ARCHIVE_VERSION);
    m->version = (int)u;
    if (get_hex(doc, "archive_id", m->archive_id, SR_ARCHIVE_ID_LEN, "manifest", err) != SR_OK)
        return SR_EFORMAT;
    if (sr_json_get_str(doc, "created", 1, &s, "manifest", err) != SR_OK ||
        sr_time_parse(s, &m->created, err) != SR_OK)
        return sr_error_prefix(err, "manifest.created");

    /* owner */
    if (sr_json_get_obj(doc, "owner", 1, &o, "manifest", err) != SR_OK ||
        only_keys(o, owner_keys, "manifest.owner", err) != SR_OK ||
        sr_json_get_str(o, "id", 1, &s, "manifest.owner", err) != SR_OK)
        return SR_EFORMAT;
    if (sr_owner_id_check(s, err) != SR_OK)
        return sr_error_prefix(err, "manifest.owner.id");
    memcpy(m->owner_id, s, strlen(s) + 1);
    if (sr_json_get_str(o, "address", 1, &s, "manifest.owner", err) != SR_OK)
        return SR_EFORMAT;
    if (sr_eth_address_parse(s, m->owner_address, err) != SR_OK)
        return sr_error_prefix(err, "manifest.owner.address");

    /* recipe binding */
    if (sr_json_get_obj(doc, "recipe", 1, &o, "manifest", err) != SR_OK ||
        only_keys(o, recipe_keys, "manifest.recipe", err) != SR_OK ||
        sr_json_get_str(o, "app_id", 1, &s, "manifest.recipe", err) != SR_OK)
        return SR_EFORMAT;
    if (strncmp(s, "0x", 2) != 0 || strlen(s) != 42)
        return sr_error_set(err, SR_EFORMAT, "manifest.recipe.app_id: must be \"0x\" and 40 hex digits");
    if (sr_hex_decode_exact(s, m->app_id, SR_APP_ID_LEN, err) != SR_OK)
        return sr_error_prefix(err, "manifest.recipe.app_id");
    if (get_hex(o, "compose_hash", m->compose_hash, SR_RECIPE_HASH_LEN, "manifest.recipe", err) != SR_OK)
        return SR_EFORMAT;

    /* wrapped key */
    if (sr_json_get_obj(doc, "key", 1, &o, "manifest", err) != SR_OK ||
        only_keys(o, key_keys, "manifest.key", err) != SR_OK ||
        sr_json_get_str(o, "algorithm", 1, &s, "manifest.key", err) != SR_OK)
        return SR_EFORMAT;
    if (strcmp(s, SR_KEYWRAP_ALG) != 0)
        return sr_error_set(err, SR_EFORMAT, "manifest.key.algorithm \"%.60s\" is not \"%s\"", s, SR_KEYWRAP_ALG);
    if (get_pubkey(o, "kms_root_pubkey", m->kms_root_pub, "manifest.key", err) != SR_OK ||
        get_pubkey(o, "ephemeral", m->key.ephemeral, "manifest.key", err) != SR_OK ||
        get_hex(o, "wrapped_dek", m->key.wrapped, SR_WRAPPED_DEK_LEN, "manifest.key", err) != SR_OK)
        return SR_EFORMAT;

    /* data layout */
    if (sr_json_get_obj(doc, "data", 1, &o, "manifest", err) != SR_OK ||
        only_keys(o, data_keys, "manifest.data", err) != SR_OK ||
        sr_json_get_str(o, "algorithm", 1, &s, "manifest.data", err) != SR_OK)
        return SR_EFORMAT;
    if (strcmp(s, SR_ARCHIVE_DATA_ALG) != 0)
        return sr_error_set(err, SR_EFORMAT, "manifest.data.algorithm \"%.60s\" is not \"%s\"", s,
                            SR_ARCHIVE_DATA_ALG);
    if (get_u64(o, "segment_size", SR_ARCHIVE_MAX_SEGMENT, &u, "manifest.data", err) != SR_OK)
        return SR_EFORMAT;
    if (u < SR_ARCHIVE_MIN_SEGMENT)
        return sr_error_set(err, SR_EFORMAT, "manifest.data.segment_size %llu is below %u", (unsigned long long)u,
                            SR_ARCHIVE_MIN_SEGMENT);
    m->segment_size = (uint32_t)u;
    if (get_u64(o, "chunk_rows", SR_ARCHIVE_MAX_CHUNK_ROWS, &u, "manifest.data", err) != SR_OK)
        return SR_EFORMAT;
    if (u == 0)
        return sr_error_set(err, SR_EFORMAT, "manifest.data.chunk_rows must be at least 1");
    m->chunk_rows = (uint32_t)u;
    if (get_u64(o, "rows", (1ull << 53), &m->rows, "manifest.data", err) != SR_OK ||
        get_u64(o, "chunks", (1ull << 53), &m->chunks, "manifest.data", err) != SR_OK)
        return SR_EFORMAT;
    /* Chunks hold 1..chunk_rows rows each. */
    uint64_t min_chunks = (m->rows + m->chunk_rows - 1) / m->chunk_rows;
    if (m->chunks < min_chunks || m->chunks > m->rows)
        return sr_error_set(err, SR_EFORMAT, "manifest.data: %llu chunks cannot hold %llu rows (1..%u rows each)",
                            (unsigned long long)m->chunks, (unsigned long long)m->rows, m->chunk_rows);

    /* budget */
    if (sr_json_get_real(doc, "epsilon_total", 1, &m->epsilon_total, "manifest", err) != SR_OK)
        return SR_EFORMAT;
    if (!isfinite(m->epsilon_total) || m->epsilon_total <= 0 || m->epsilon_total > SR_ARCHIVE_MAX_EPSILON)
        return sr_error_set(err, SR_EFORMAT, "manifest.epsilon_total must be in (0, %g]", SR_ARCHIVE_MAX_EPSILON);

    /* schema and columns */
    if (sr_json_get_arr(doc, "schema", 1, &o, "manifest", err) != SR_OK ||
        sr_schema_from_json(o, &m->schema, "manifest.schema", err) != SR_OK)
        return SR_EFORMAT;
    if (sr_json_get_arr(doc, "columns", 1, &o, "manifest", err) != SR_OK)
        return SR_EFORMAT;
    if (json_array_size(o) != m->schema.ncols)
        return sr_error_set(err, SR_EFORMAT, "manifest.columns: %zu entries for %zu schema columns",
                            json_array_size(o), m->schema.ncols);
    for (size_t i = 0; i < m->schema.ncols; i++) {
        char w[64], name[32];
        snprintf(w, sizeof w, "manifest.columns[%zu]", i);
        json_t *c = json_array_get(o, i);
        if (!json_is_object(c))
            return sr_error_set(err, SR_EFORMAT, "%s: not an object", w);
        if (only_keys(c, col_keys, w, err) != SR_OK || sr_json_get_str(c, "member", 1, &s, w, err) != SR_OK)
            return SR_EFORMAT;
        sr_tar_column_name(i, name);
        if (strcmp(s, name) != 0)
            return sr_error_set(err, SR_EFORMAT, "%s: member \"%.40s\" is not \"%s\"", w, s, name);
        if (get_u64(c, "size", SR_ARCHIVE_MAX_MEMBER, &m->columns[i].size, w, err) != SR_OK ||
            get_hex(c, "sha256", m->columns[i].sha256, SR_SHA256_LEN, w, err) != SR_OK)
            return SR_EFORMAT;
        uint64_t nseg, last;
        if (sr_seg_layout(m->columns[i].size, m->segment_size, &nseg, &last, err) != SR_OK)
            return sr_error_prefix(err, "%s", w);
    }
    return SR_OK;
}

int sr_manifest_parse(const uint8_t *data, size_t len, sr_manifest **out, sr_error *err)
{
    *out = NULL;
    if (len > SR_ARCHIVE_MAX_MANIFEST)
        return sr_error_set(err, SR_ELIMIT, "manifest of %zu bytes exceeds the limit of %u", len,
                            SR_ARCHIVE_MAX_MANIFEST);
    json_t *doc = sr_json_parse(data, len, SR_ARCHIVE_MAX_MANIFEST, err);
    if (doc == NULL)
        return sr_error_prefix(err, "manifest");
    sr_manifest *m = sr_manifest_new(err);
    if (m == NULL) {
        json_decref(doc);
        return SR_ENOMEM;
    }
    int rc = parse_doc(doc, m, err);
    json_decref(doc);
    if (rc != SR_OK) {
        free(m);
        return err && err->code ? err->code : SR_EFORMAT;
    }
    *out = m;
    return SR_OK;
}

static json_t *hexstr(const uint8_t *p, size_t n)
{
    char buf[2 * 256 + 1];
    if (n > 256)
        return NULL;
    sr_hex_encode(p, n, buf);
    return json_string(buf);
}

int sr_manifest_write(const sr_manifest *m, sr_buf *out, sr_error *err)
{
    char created[32], addr[43], app[43];
    int rc;
    if ((rc = sr_time_format(m->created, created, err)) != SR_OK)
        return rc;
    sr_eth_address_to_string(m->owner_address, addr);
    app[0] = '0';
    app[1] = 'x';
    sr_hex_encode(m->app_id, SR_APP_ID_LEN, app + 2);
    json_t *cols = json_array();
    json_t *schema = sr_schema_to_json(&m->schema);
    json_t *doc = NULL;
    if (cols == NULL || schema == NULL)
        goto nomem;
    for (size_t i = 0; i < m->schema.ncols; i++) {
        char name[32];
        sr_tar_column_name(i, name);
        json_t *c = json_pack("{s:s, s:I, s:o}", "member", name, "size", (json_int_t)m->columns[i].size, "sha256",
                              hexstr(m->columns[i].sha256, SR_SHA256_LEN));
        if (c == NULL || json_array_append_new(cols, c) != 0)
            goto nomem;
    }
    doc = json_pack("{s:s, s:i, s:o, s:s, s:{s:s, s:s}, s:{s:s, s:o}, s:{s:s, s:o, s:o, s:o},"
                    " s:{s:s, s:I, s:I, s:I, s:I}, s:f, s:o, s:o}",
                    "format", SR_ARCHIVE_FORMAT, "version", SR_ARCHIVE_VERSION, "archive_id",
                    hexstr(m->archive_id, SR_ARCHIVE_ID_LEN), "created", created, "owner", "id", m->owner_id,
                    "address", addr, "recipe", "app_id", app, "compose_hash",
                    hexstr(m->compose_hash, SR_RECIPE_HASH_LEN), "key", "algorithm", SR_KEYWRAP_ALG,
                    "kms_root_pubkey", hexstr(m->kms_root_pub, SR_SECP_PUBKEY_LEN), "ephemeral",
                    hexstr(m->key.ephemeral, SR_SECP_PUBKEY_LEN), "wrapped_dek",
                    hexstr(m->key.wrapped, SR_WRAPPED_DEK_LEN), "data", "algorithm", SR_ARCHIVE_DATA_ALG,
                    "segment_size", (json_int_t)m->segment_size, "chunk_rows", (json_int_t)m->chunk_rows, "rows",
                    (json_int_t)m->rows, "chunks", (json_int_t)m->chunks, "epsilon_total", m->epsilon_total,
                    "schema", schema, "columns", cols);
    schema = cols = NULL; /* stolen by json_pack ("o"), even on failure */
    if (doc == NULL)
        goto nomem;
    /* Shortest precision that gives epsilon back exactly. */
    int prec = 17;
    for (int p = 15; p < 17; p++) {
        char t[64];
        snprintf(t, sizeof t, "%.*g", p, m->epsilon_total);
        if (strtod(t, NULL) == m->epsilon_total) {
            prec = p;
            break;
        }
    }
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(prec));
    json_decref(doc);
    if (text == NULL)
        goto nomem;
    rc = sr_buf_append_str(out, text, err);
    if (rc == SR_OK)
        rc = sr_buf_append_u8(out, '\n', err);
    free(text);
    return rc;
nomem:
    json_decref(cols);
    json_decref(schema);
    json_decref(doc);
    return sr_error_set(err, SR_ENOMEM, "out of memory writing the manifest");
}

void sr_manifest_data_hash(const sr_manifest *m, uint8_t out[SR_SHA256_LEN])
{
    sr_sha256_ctx *c = sr_sha256_new();
    uint8_t b[8];
    if (c == NULL) {
        memset(out, 0, SR_SHA256_LEN); /* cannot happen short of ENOMEM; no key will match */
        return;
    }
    sr_sha256_update(c, SR_DATA_HEADER_MAGIC, strlen(SR_DATA_HEADER_MAGIC));
    sr_sha256_update(c, m->archive_id, SR_ARCHIVE_ID_LEN);
    sr_sha256_update(c, m->owner_address, SR_ETH_ADDR_LEN);
    sr_store_be32(b, m->segment_size);
    sr_sha256_update(c, b, 4);
    sr_store_be32(b, m->chunk_rows);
    sr_sha256_update(c, b, 4);
    sr_store_be32(b, (uint32_t)m->schema.ncols);
    sr_sha256_update(c, b, 4);
    for (size_t i = 0; i < m->schema.ncols; i++) {
        size_t n = strlen(m->schema.cols[i].name);
        b[0] = (uint8_t)m->schema.cols[i].type;
        b[1] = (uint8_t)n;
        sr_sha256_update(c, b, 2);
        sr_sha256_update(c, m->schema.cols[i].name, n);
    }
    sr_sha256_final(c, out);
}

int sr_manifest_binding(const sr_manifest *m, sr_keywrap_binding *b, sr_error *err)
{
    return sr_keywrap_binding_set(b, m->app_id, m->compose_hash, m->owner_id, err);
}

static void sig_digest(const uint8_t *manifest, size_t len, uint8_t digest[32])
{
    uint8_t h[SR_SHA256_LEN];
    sr_sha256(manifest, len, h);
    sr_eip191_digest(h, sizeof h, digest);
}

int sr_manifest_sign(const uint8_t *manifest, size_t len, const uint8_t owner_sk[SR_SECP_SECKEY_LEN],
                     uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    uint8_t d[32];
    sig_digest(manifest, len, d);
    return sr_secp_sign_recoverable(owner_sk, d, sig, err);
}

int sr_manifest_verify_sig(const uint8_t *manifest, size_t len, const uint8_t sig[SR_ETH_SIG_LEN],
                           const uint8_t expect_addr[SR_ETH_ADDR_LEN], sr_error *err)
{
    uint8_t d[32], addr[SR_ETH_ADDR_LEN];
    char want[43], got[43];
    sig_digest(manifest, len, d);
    if (sig[64] != 27 && sig[64] != 28)
        return sr_error_set(err, SR_EVERIFY, "MANIFEST.sig: v byte %u is not 27 or 28", sig[64]);
    if (sr_eth_recover_address(d, sig, addr, err) != SR_OK)
        return sr_error_set(err, SR_EVERIFY, "MANIFEST.sig: not a valid signature of the manifest");
    if (memcmp(addr, expect_addr, SR_ETH_ADDR_LEN) != 0) {
        sr_eth_address_to_string(expect_addr, want);
        sr_eth_address_to_string(addr, got);
        return sr_error_set(err, SR_EVERIFY, "MANIFEST.sig: signed by %s, not by the owner %s", got, want);
    }
    return SR_OK;
}

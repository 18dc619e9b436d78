/* sealroom: recipe loading and validation (skeleton: version, consortium,
 * owners, datasets). See docs/RECIPES.md. */
#include "sealroom/recipe.h"

#include <stdlib.h>
#include <string.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/json.h"

struct sr_recipe {
    uint8_t *bytes;
    size_t len;
    uint8_t hash[SR_RECIPE_HASH_LEN];
    json_t *doc;
    int version;
    char *consortium_name;
    uint8_t app_id[SR_APP_ID_LEN];
    size_t nowners;
    sr_recipe_owner owners[SR_RECIPE_MAX_OWNERS];
    size_t ndatasets;
    char dataset_owner[SR_RECIPE_MAX_OWNERS][SR_OWNER_ID_MAX];
    sr_schema *schemas[SR_RECIPE_MAX_OWNERS];
};

int sr_owner_id_check(const char *id, sr_error *err)
{
    size_t n = strlen(id);
    if (n == 0)
        return sr_error_set(err, SR_EFORMAT, "owner id is empty");
    if (n >= SR_OWNER_ID_MAX)
        return sr_error_set(err, SR_EFORMAT, "owner id \"%.20s...\" is longer than %d bytes", id,
                            SR_OWNER_ID_MAX - 1);
    if (id[0] == '.' || id[0] == '-')
        return sr_error_set(err, SR_EFORMAT, "owner id \"%s\" must not start with '%c'", id, id[0]);
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                 c == '_' || c == '-';
        if (!ok)
            return sr_error_set(err, SR_EFORMAT,
                                "owner id \"%s\": character %zu is not one of A-Z a-z 0-9 . _ -", id, i + 1);
    }
    return SR_OK;
}

static const struct {
    const char *name;
    sr_type type;
} type_names[] = {
    {"int", SR_TYPE_INT64},     {"int64", SR_TYPE_INT64},  {"float", SR_TYPE_FLOAT64},
    {"float64", SR_TYPE_FLOAT64}, {"double", SR_TYPE_FLOAT64}, {"bool", SR_TYPE_BOOL},
    {"boolean", SR_TYPE_BOOL},  {"date", SR_TYPE_DATE},    {"string", SR_TYPE_STRING},
    {"str", SR_TYPE_STRING},
};

int sr_recipe_type_parse(const char *name, sr_type *out, sr_error *err)
{
    for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
        if (strcmp(name, type_names[i].name) == 0) {
            *out = type_names[i].type;
            return SR_OK;
        }
    }
    return sr_error_set(err, SR_EFORMAT, "unknown column type \"%.40s\" (want int, float, bool, date or string)",
                        name);
}

static const char *type_canonical_name(sr_type t)
{
    switch (t) {
    case SR_TYPE_INT64: return "int";
    case SR_TYPE_FLOAT64: return "float";
    case SR_TYPE_BOOL: return "bool";
    case SR_TYPE_DATE: return "date";
    case SR_TYPE_STRING: return "string";
    }
    return "?";
}

/* Fails if obj has a key not in the NULL-terminated list. */
static int only_keys(const json_t *obj, const char *const *keys, const char *what, sr_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int known = 0;
        for (size_t i = 0; keys[i] != NULL; i++)
            if (strcmp(k, keys[i]) == 0)
                known = 1;
        if (!known)
            return sr_error_set(err, SR_EFORMAT, "%s: unknown field \"%.40s\"", what, k);
    }
    return SR_OK;
}

int sr_schema_from_json(const json_t *arr, sr_schema *out, const char *what, sr_error *err)
{
    static const char *const col_keys[] = {"name", "type", NULL};
    if (!json_is_array(arr))
        return sr_error_set(err, SR_EFORMAT, "%s: must be an array of {\"name\", \"type\"}", what);
    size_t n = json_array_size(arr);
    if (n == 0)
        return sr_error_set(err, SR_EFORMAT, "%s: has no columns", what);
    if (n > SR_MAX_COLUMNS)
        return sr_error_set(err, SR_ELIMIT, "%s: %zu columns exceed the limit of %d", what, n, SR_MAX_COLUMNS);
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        char cw[160];
        snprintf(cw, sizeof cw, "%s[%zu]", what, i);
        json_t *c = json_array_get(arr, i);
        const char *name = NULL, *type = NULL;
        if (!json_is_object(c))
            return sr_error_set(err, SR_EFORMAT, "%s: must be an object {\"name\", \"type\"}", cw);
        if (only_keys(c, col_keys, cw, err) != SR_OK || sr_json_get_str(c, "name", 1, &name, cw, err) != SR_OK ||
            sr_json_get_str(c, "type", 1, &type, cw, err) != SR_OK)
            return err ? err->code : SR_EFORMAT;
        size_t nl = json_string_length(json_object_get(c, "name"));
        if (nl == 0 || nl >= SR_MAX_NAME || strlen(name) != nl)
            return sr_error_set(err, SR_EFORMAT, "%s: name must be 1..%d bytes", cw, SR_MAX_NAME - 1);
        for (size_t j = 0; j < nl; j++)
            if ((unsigned char)name[j] < 0x20 || name[j] == 0x7f)
                return sr_error_set(err, SR_EFORMAT, "%s: name contains a control character", cw);
        for (size_t j = 0; j < i; j++)
            if (strcmp(out->cols[j].name, name) == 0)
                return sr_error_set(err, SR_EFORMAT, "%s: duplicate column name \"%s\"", cw, name);
        if (sr_recipe_type_parse(type, &out->cols[i].type, err) != SR_OK)
            return sr_error_prefix(err, "%s", cw);
        memcpy(out->cols[i].name, name, nl + 1);
        out->ncols = i + 1;
    }
    return SR_OK;
}

json_t *sr_schema_to_json(const sr_schema *s)
{
    json_t *arr = json_array();
    if (arr == NULL)
        return NULL;
    for (size_t i = 0; i < s->ncols; i++) {
        json_t *c = json_pack("{s:s, s:s}", "name", s->cols[i].name, "type", type_canonical_name(s->cols[i].type));
        if (c == NULL || json_array_append_new(arr, c) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static int parse_app_id(const char *s, uint8_t out[SR_APP_ID_LEN], const char *what, sr_error *err)
{
    if (strncmp(s, "0x", 2) != 0 || strlen(s) != 2 + 2 * SR_APP_ID_LEN)
        return sr_error_set(err, SR_EFORMAT, "%s: must be \"0x\" followed by 40 hex digits", what);
    if (sr_hex_decode_exact(s, out, SR_APP_ID_LEN, err) != SR_OK)
        return sr_error_prefix(err, "%s", what);
    return SR_OK;
}

static int parse_consortium(sr_recipe *r, const json_t *c, sr_error *err)
{
    static const char *const keys[] = {"name", "app_id", "owners", NULL};
    static const char *const owner_keys[] = {"id", "address", NULL};
    const char *name = NULL, *app = NULL;
    json_t *owners = NULL;
    if (!json_is_object(c))
        return sr_error_set(err, SR_EFORMAT, "consortium: must be an object");
    if (only_keys(c, keys, "consortium", err) != SR_OK ||
        sr_json_get_str(c, "name", 1, &name, "consortium", err) != SR_OK ||
        sr_json_get_str(c, "app_id", 1, &app, "consortium", err) != SR_OK ||
        sr_json_get_arr(c, "owners", 1, &owners, "consortium", err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    size_t nl = json_string_length(json_object_get(c, "name"));
    if (nl == 0 || nl > 256 || strlen(name) != nl)
        return sr_error_set(err, SR_EFORMAT, "consortium.name: must be 1..256 bytes");
    r->consortium_name = strdup(name);
    if (r->consortium_name == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    if (parse_app_id(app, r->app_id, "consortium.app_id", err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    size_t n = json_array_size(owners);
    if (n == 0)
        return sr_error_set(err, SR_EFORMAT, "consortium.owners: must list at least one owner");
    if (n > SR_RECIPE_MAX_OWNERS)
        return sr_error_set(err, SR_ELIMIT, "consortium.owners: %zu owners exceed the limit of %d", n,
                            SR_RECIPE_MAX_OWNERS);
    for (size_t i = 0; i < n; i++) {
        char w[64];
        snprintf(w, sizeof w, "consortium.owners[%zu]", i);
        json_t *o = json_array_get(owners, i);
        const char *id = NULL, *addr = NULL;
        if (!json_is_object(o))
            return sr_error_set(err, SR_EFORMAT, "%s: must be an object {\"id\", \"address\"}", w);
        if (only_keys(o, owner_keys, w, err) != SR_OK || sr_json_get_str(o, "id", 1, &id, w, err) != SR_OK ||
            sr_json_get_str(o, "address", 1, &addr, w, err) != SR_OK)
            return err ? err->code : SR_EFORMAT;
        if (strlen(id) != json_string_length(json_object_get(o, "id")) || sr_owner_id_check(id, err) != SR_OK)
            return sr_error_prefix(err, "%s.id", w);
        sr_recipe_owner *ow = &r->owners[i];
        memcpy(ow->id, id, strlen(id) + 1);
        if (sr_eth_address_parse(addr, ow->address, err) != SR_OK)
            return sr_error_prefix(err, "%s.address", w);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(r->owners[j].id, id) == 0)
                return sr_error_set(err, SR_EFORMAT, "%s.id: duplicate owner id \"%s\"", w, id);
            if (memcmp(r->owners[j].address, ow->address, 20) == 0)
                return sr_error_set(err, SR_EFORMAT, "%s.address: same address as owner \"%s\"", w,
                                    r->owners[j].id);
        }
        r->nowners = i + 1;
    }
    return SR_OK;
}

static int parse_datasets(sr_recipe *r, const json_t *d, sr_error *err)
{
    if (!json_is_object(d))
        return sr_error_set(err, SR_EFORMAT, "datasets: must be an object keyed by owner id");
    if (json_object_size(d) == 0)
        return sr_error_set(err, SR_EFORMAT, "datasets: must name at least one owner's dataset");
    const char *k;
    json_t *v;
    /* jansson iterates in insertion (file) order. */
    json_object_foreach((json_t *)d, k, v) {
        char w[128];
        snprintf(w, sizeof w, "datasets.%.64s", k);
        if (sr_recipe_owner_find(r, k) == NULL)
            return sr_error_set(err, SR_EFORMAT, "%s: \"%.64s\" is not an owner listed in consortium.owners", w, k);
        if (!json_is_object(v))
            return sr_error_set(err, SR_EFORMAT, "%s: must be an object with a \"schema\"", w);
        json_t *schema = NULL;
        if (sr_json_get_arr(v, "schema", 1, &schema, w, err) != SR_OK)
            return err ? err->code : SR_EFORMAT;
        size_t i = r->ndatasets;
        r->schemas[i] = calloc(1, sizeof(sr_schema));
        if (r->schemas[i] == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        r->ndatasets = i + 1;
        memcpy(r->dataset_owner[i], k, strlen(k) + 1);
        char sw[160];
        snprintf(sw, sizeof sw, "%s.schema", w);
        if (sr_schema_from_json(schema, r->schemas[i], sw, err) != SR_OK)
            return err ? err->code : SR_EFORMAT;
    }
    return SR_OK;
}

int sr_recipe_parse(const void *data, size_t len, sr_recipe **out, sr_error *err)
{
    *out = NULL;
    if (len > SR_RECIPE_MAX_BYTES)
        return sr_error_set(err, SR_ELIMIT, "recipe of %zu bytes exceeds the limit of %u bytes", len,
                            SR_RECIPE_MAX_BYTES);
    sr_recipe *r = calloc(1, sizeof *r);
    if (r == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    r->bytes = malloc(len ? len : 1);
    if (r->bytes == NULL) {
        free(r);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    memcpy(r->bytes, data, len);
    r->len = len;
    sr_sha256(r->bytes, len, r->hash);

    int rc;
    r->doc = sr_json_parse(r->bytes, len, SR_RECIPE_MAX_BYTES, err);
    if (r->doc == NULL) {
        rc = err ? err->code : SR_EFORMAT;
        goto fail;
    }
    if (!json_is_object(r->doc)) {
        rc = sr_error_set(err, SR_EFORMAT, "a recipe must be a JSON object");
        goto fail;
    }
    int64_t version = 0;
    json_t *cons = NULL, *ds = NULL;
    if ((rc = sr_json_get_int(r->doc, "version", 1, &version, "recipe", err)) != SR_OK)
        goto fail;
    if (version != SR_RECIPE_VERSION) {
        rc = sr_error_set(err, SR_EFORMAT, "recipe: version %lld is not supported (this build reads version %d)",
                          (long long)version, SR_RECIPE_VERSION);
        goto fail;
    }
    r->version = (int)version;
    if ((rc = sr_json_get_obj(r->doc, "consortium", 1, &cons, "recipe", err)) != SR_OK ||
        (rc = parse_consortium(r, cons, err)) != SR_OK)
        goto fail;
    if ((rc = sr_json_get_obj(r->doc, "datasets", 1, &ds, "recipe", err)) != SR_OK ||
        (rc = parse_datasets(r, ds, err)) != SR_OK)
        goto fail;
    *out = r;
    return SR_OK;
fail:
    sr_recipe_free(r);
    return rc;
}

int sr_recipe_load(const char *path, sr_recipe **out, sr_error *err)
{
    sr_buf b = {0};
    *out = NULL;
    int rc = sr_file_read(path, SR_RECIPE_MAX_BYTES, &b, err);
    if (rc == SR_OK)
        rc = sr_recipe_parse(b.data ? b.data : (const uint8_t *)"", b.len, out, err);
    sr_buf_free(&b);
    if (rc != SR_OK)
        sr_error_prefix(err, "%s", path);
    return rc;
}

int sr_recipe_hash_file(const char *path, uint8_t out[SR_RECIPE_HASH_LEN], sr_error *err)
{
    sr_buf b = {0};
    int rc = sr_file_read(path, SR_RECIPE_MAX_BYTES, &b, err);
    if (rc == SR_OK)
        sr_sha256(b.data ? b.data : (const uint8_t *)"", b.len, out);
    else
        sr_error_prefix(err, "%s", path);
    sr_buf_free(&b);
    return rc;
}

void sr_recipe_free(sr_recipe *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ndatasets; i++)
        free(r->schemas[i]);
    free(r->consortium_name);
    json_decref(r->doc);
    free(r->bytes);
    free(r);
}

const uint8_t *sr_recipe_bytes(const sr_recipe *r, size_t *len)
{
    if (len)
        *len = r->len;
    return r->bytes;
}
const uint8_t *sr_recipe_compose_hash(const sr_recipe *r) { return r->hash; }
const json_t *sr_recipe_json(const sr_recipe *r) { return r->doc; }
int sr_recipe_version(const sr_recipe *r) { return r->version; }
const char *sr_recipe_consortium_name(const sr_recipe *r) { return r->consortium_name; }
const uint8_t *sr_recipe_app_id(const sr_recipe *r) { return r->app_id; }
size_t sr_recipe_owner_count(const sr_recipe *r) { return r->nowners; }

const sr_recipe_owner *sr_recipe_owner_at(const sr_recipe *r, size_t i)
{
    return i < r->nowners ? &r->owners[i] : NULL;
}

const sr_recipe_owner *sr_recipe_owner_find(const sr_recipe *r, const char *id)
{
    for (size_t i = 0; i < r->nowners; i++)
        if (strcmp(r->owners[i].id, id) == 0)
            return &r->owners[i];
    return NULL;
}

size_t sr_recipe_dataset_count(const sr_recipe *r) { return r->ndatasets; }

const char *sr_recipe_dataset_owner(const sr_recipe *r, size_t i)
{
    return i < r->ndatasets ? r->dataset_owner[i] : NULL;
}

const sr_schema *sr_recipe_dataset_schema(const sr_recipe *r, size_t i)
{
    return i < r->ndatasets ? r->schemas[i] : NULL;
}

const sr_schema *sr_recipe_schema_for(const sr_recipe *r, const char *owner_id)
{
    for (size_t i = 0; i < r->ndatasets; i++)
        if (strcmp(r->dataset_owner[i], owner_id) == 0)
            return r->schemas[i];
    return NULL;
}

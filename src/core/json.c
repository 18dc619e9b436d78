#include "sealroom/json.h"
#include "sealroom/buf.h"

#include <stdlib.h>
#include <string.h>

json_t *sr_json_parse(const void *data, size_t len, size_t max_bytes, sr_error *err)
{
    if (len > max_bytes) {
        sr_error_set(err, SR_ELIMIT, "JSON document of %zu bytes exceeds the limit of %zu", len, max_bytes);
        return NULL;
    }
    json_error_t je;
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (v == NULL)
        sr_error_set(err, SR_EFORMAT, "JSON: %s at line %d column %d", je.text, je.line, je.column);
    return v;
}

static int field(const json_t *obj, const char *key, int required, const char *what, json_t **out,
                 sr_error *err)
{
    if (!json_is_object(obj))
        return sr_error_set(err, SR_EFORMAT, "%s: not a JSON object", what);
    *out = json_object_get(obj, key);
    if (*out == NULL && required)
        return sr_error_set(err, SR_EFORMAT, "%s: missing field \"%s\"", what, key);
    return SR_OK;
}

int sr_json_get_str(const json_t *obj, const char *key, int required, const char **out, const char *what,
                    sr_error *err)
{
    json_t *v;
    int rc = field(obj, key, required, what, &v, err);
    if (rc != SR_OK || v == NULL)
        return rc;
    if (!json_is_string(v))
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be a string", what, key);
    *out = json_string_value(v);
    return SR_OK;
}

int sr_json_get_int(const json_t *obj, const char *key, int required, int64_t *out, const char *what,
                    sr_error *err)
{
    json_t *v;
    int rc = field(obj, key, required, what, &v, err);
    if (rc != SR_OK || v == NULL)
        return rc;
    if (!json_is_integer(v))
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be an integer", what, key);
    *out = (int64_t)json_integer_value(v);
    return SR_OK;
}

int sr_json_get_real(const json_t *obj, const char *key, int required, double *out, const char *what,
                     sr_error *err)
{
    json_t *v;
    int rc = field(obj, key, required, what, &v, err);
    if (rc != SR_OK || v == NULL)
        return rc;
    if (!json_is_number(v))
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be a number", what, key);
    *out = json_number_value(v);
    return SR_OK;
}

int sr_json_get_bool(const json_t *obj, const char *key, int required, int *out, const char *what,
                     sr_error *err)
{
    json_t *v;
    int rc = field(obj, key, required, what, &v, err);
    if (rc != SR_OK || v == NULL)
        return rc;
    if (!json_is_boolean(v))
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be true or false", what, key);
    *out = json_is_true(v);
    return SR_OK;
}

int sr_json_get_obj(const json_t *obj, const char *key, int required, json_t **out, const char *what,
                    sr_error *err)
{
    json_t *v;
    int rc = field(obj, key, required, what, &v, err);
    if (rc != SR_OK || v == NULL)
        return rc;
    if (!json_is_object(v))
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be an object", what, key);
    *out = v;
    return SR_OK;
}

int sr_json_get_arr(const json_t *obj, const char *key, int required, json_t **out, const char *what,
                    sr_error *err)
{
    json_t *v;
    int rc = field(obj, key, required, what, &v, err);
    if (rc != SR_OK || v == NULL)
        return rc;
    if (!json_is_array(v))
        return sr_error_set(err, SR_EFORMAT, "%s: field \"%s\" must be an array", what, key);
    *out = v;
    return SR_OK;
}

int sr_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n, const char *what, sr_error *err)
{
    const char *s = NULL;
    int rc = sr_json_get_str(obj, key, 1, &s, what, err);
    if (rc != SR_OK)
        return rc;
    rc = sr_hex_decode_exact(s, out, n, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "%s: field \"%s\"", what, key);
    return SR_OK;
}

char *sr_json_dump_canonical(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

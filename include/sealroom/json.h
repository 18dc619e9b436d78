/* sealroom: small helpers over jansson for reading untrusted JSON. */
#ifndef SEALROOM_JSON_H
#define SEALROOM_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Upper bound for JSON documents read from untrusted sources. */
#define SR_JSON_MAX_BYTES (16u * 1024u * 1024u)

/* Parses len bytes (not NUL-terminated) as one JSON value. Rejects inputs
 * over max_bytes, duplicate keys, and NUL bytes inside strings. The error
 * names line and column. Returns a new reference or NULL. */
json_t *sr_json_parse(const void *data, size_t len, size_t max_bytes, sr_error *err);

/* Field getters: `what` names the owning object in messages. A required
 * field that is missing or of the wrong type is an SR_EFORMAT error. For
 * optional fields pass required = 0: a missing field leaves *out untouched
 * and returns SR_OK, a wrong type still fails. */
int sr_json_get_str(const json_t *obj, const char *key, int required,
                    const char **out, const char *what, sr_error *err);
int sr_json_get_int(const json_t *obj, const char *key, int required,
                    int64_t *out, const char *what, sr_error *err);
int sr_json_get_real(const json_t *obj, const char *key, int required,
                     double *out, const char *what, sr_error *err);
int sr_json_get_bool(const json_t *obj, const char *key, int required,
                     int *out, const char *what, sr_error *err);
int sr_json_get_obj(const json_t *obj, const char *key, int required,
                    json_t **out, const char *what, sr_error *err);
int sr_json_get_arr(const json_t *obj, const char *key, int required,
                    json_t **out, const char *what, sr_error *err);
/* Reads a hex string field of exactly n bytes (0x prefix allowed). */
int sr_json_get_hex(const json_t *obj, const char *key, uint8_t *out, size_t n,
                    const char *what, sr_error *err);

/* Serialises compactly with sorted keys (a stable byte form): malloc'd. */
char *sr_json_dump_canonical(const json_t *v);

#ifdef __cplusplus
}
#endif
#endif

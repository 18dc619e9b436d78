/* sealroom: recipes (the analysis a consortium approves) and compose hashes.
 *
 * A recipe is a JSON file. Its compose hash is SHA-256 of the file's exact
 * bytes: owners approve exactly the bytes they read, and the key derivation,
 * the gate and the attestation all bind that hash. The layout is specified
 * in docs/RECIPES.md. This module parses and validates the skeleton
 * (version, consortium, owners, datasets); later sections (analysis,
 * outputs, privacy) are read by their own modules from sr_recipe_json(). */
#ifndef SEALROOM_RECIPE_H
#define SEALROOM_RECIPE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/column.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_RECIPE_VERSION 1
#define SR_RECIPE_MAX_BYTES (1u << 20) /* a recipe file is at most 1 MiB */
#define SR_RECIPE_MAX_OWNERS 64
#define SR_RECIPE_HASH_LEN 32 /* SHA-256 */
#define SR_APP_ID_LEN 20
/* Owner ids: 1..63 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
 * They appear in file names and in the key derivation. */
#define SR_OWNER_ID_MAX 64 /* bytes incl. NUL */

typedef struct sr_recipe_owner {
    char id[SR_OWNER_ID_MAX];
    uint8_t address[20]; /* Ethereum address of the owner's signing key */
} sr_recipe_owner;

typedef struct sr_recipe sr_recipe;

/* Reads, hashes and validates a recipe file. On error *out is NULL and err
 * names the problem ("recipe.json: consortium.owners[1].address: ..."). */
int sr_recipe_load(const char *path, sr_recipe **out, sr_error *err);
/* Same, from bytes in memory (copied). */
int sr_recipe_parse(const void *data, size_t len, sr_recipe **out, sr_error *err);
void sr_recipe_free(sr_recipe *r);

/* The exact bytes and their SHA-256 (the compose hash). */
const uint8_t *sr_recipe_bytes(const sr_recipe *r, size_t *len);
const uint8_t *sr_recipe_compose_hash(const sr_recipe *r); /* 32 bytes */
/* The parsed document (borrowed; valid until sr_recipe_free). */
const json_t *sr_recipe_json(const sr_recipe *r);

int sr_recipe_version(const sr_recipe *r);
const char *sr_recipe_consortium_name(const sr_recipe *r);
const uint8_t *sr_recipe_app_id(const sr_recipe *r); /* 20 bytes */

size_t sr_recipe_owner_count(const sr_recipe *r);
const sr_recipe_owner *sr_recipe_owner_at(const sr_recipe *r, size_t i);
/* NULL when no owner has that id. */
const sr_recipe_owner *sr_recipe_owner_find(const sr_recipe *r, const char *id);

/* Datasets, in file order; each belongs to one owner (its key in
 * "datasets") and has a schema. */
size_t sr_recipe_dataset_count(const sr_recipe *r);
const char *sr_recipe_dataset_owner(const sr_recipe *r, size_t i);
const sr_schema *sr_recipe_dataset_schema(const sr_recipe *r, size_t i);
/* The schema of an owner's dataset, or NULL when the recipe reads none. */
const sr_schema *sr_recipe_schema_for(const sr_recipe *r, const char *owner_id);

/* SHA-256 of a file's exact bytes (at most SR_RECIPE_MAX_BYTES), without
 * validating it. */
int sr_recipe_hash_file(const char *path, uint8_t out[SR_RECIPE_HASH_LEN], sr_error *err);

/* Checks an owner id against the rule above. */
int sr_owner_id_check(const char *id, sr_error *err);
/* Parses a column type name ("int", "float", "bool", "date", "string" and
 * the aliases of sr_type_parse). Kept here so the recipe room does not need
 * the archive room. */
int sr_recipe_type_parse(const char *name, sr_type *out, sr_error *err);
/* Parses a JSON schema array [{"name": N, "type": T}, ...] into out
 * (names unique, 1..127 bytes, no control characters). `what` prefixes
 * messages. Used by recipes and archive manifests alike. */
int sr_schema_from_json(const json_t *arr, sr_schema *out, const char *what, sr_error *err);
/* Builds the JSON array form of a schema (new reference, NULL on ENOMEM). */
json_t *sr_schema_to_json(const sr_schema *s);

#ifdef __cplusplus
}
#endif
#endif

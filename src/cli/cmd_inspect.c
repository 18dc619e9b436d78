/* sealroom inspect: show a sealed archive's manifest and verify it without
 * keys (structure, owner signature, ciphertext digests). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "archive_cli.h"
#include "cli.h"
#include "sealroom/archive.h"
#include "sealroom/json.h"

const char sr_cmd_inspect_summary[] = "show a sealed archive's manifest and verify signature, digests, structure";

static void usage(void)
{
    printf("Usage: sealroom inspect FILE.tar [--recipe RECIPE.json] [--json]\n"
           "\n"
           "Shows the public manifest of a sealed archive and verifies, without any key:\n"
           "  - the tar structure (every header byte, member order, padding, end blocks),\n"
           "  - the owner's signature over the manifest hash (recovered address = the\n"
           "    manifest's owner address),\n"
           "  - the SHA-256 of every column member against the manifest.\n"
           "With --recipe it also checks that the archive is bound to that recipe (compose\n"
           "hash, app id), that the owner and its address are the recipe's, and that the\n"
           "schema is the recipe's dataset schema for the owner.\n"
           "\n"
           "Options:\n"
           "  --recipe FILE  also check the binding to this recipe\n"
           "  --json         print {\"valid\": ..., \"error\": ..., \"manifest\": {...}, ...}\n"
           "  -h, --help     show this help\n"
           "\n"
           "Exit status: 0 valid, 1 any mismatch or unreadable archive, 2 usage error.\n");
}

static const char *type_name(sr_type t)
{
    static const char *names[] = {"?", "int", "float", "bool", "date", "string"};
    return names[(int)t >= 1 && (int)t <= 5 ? (int)t : 0];
}

static void print_text(const char *file, const sr_archive *a)
{
    const sr_manifest *m = sr_archive_manifest(a);
    char id[33], mh[65], ch[65], kp[67], ep[67], addr[43], created[32];
    sr_hex_encode(m->archive_id, SR_ARCHIVE_ID_LEN, id);
    sr_hex_encode(sr_archive_manifest_hash(a), SR_SHA256_LEN, mh);
    sr_hex_encode(m->compose_hash, SR_RECIPE_HASH_LEN, ch);
    sr_hex_encode(m->kms_root_pub, SR_SECP_PUBKEY_LEN, kp);
    sr_hex_encode(m->key.ephemeral, SR_SECP_PUBKEY_LEN, ep);
    sr_eth_address_to_string(m->owner_address, addr);
    time_t t = (time_t)m->created;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(created, sizeof created, "%lld", (long long)m->created);
    char app[43] = "0x";
    sr_hex_encode(m->app_id, SR_APP_ID_LEN, app + 2);
    printf("archive          %s\n", file);
    printf("format           %s v%d\n", SR_ARCHIVE_FORMAT, m->version);
    printf("archive id       %s\n", id);
    printf("created          %s\n", created);
    printf("owner            %s (%s)\n", m->owner_id, addr);
    printf("manifest sha256  %s\n", mh);
    printf("app id           %s\n", app);
    printf("compose hash     %s\n", ch);
    printf("kms root key     %s\n", kp);
    printf("wrapped key      %s, ephemeral %s\n", SR_KEYWRAP_ALG, ep);
    printf("data             %s, %u-byte segments, %llu rows in %llu chunks of <= %u rows\n", SR_ARCHIVE_DATA_ALG,
           m->segment_size, (unsigned long long)m->rows, (unsigned long long)m->chunks, m->chunk_rows);
    printf("epsilon total    %g\n", m->epsilon_total);
    printf("columns          %zu\n", m->schema.ncols);
    for (size_t i = 0; i < m->schema.ncols; i++) {
        char h[65];
        sr_hex_encode(m->columns[i].sha256, SR_SHA256_LEN, h);
        printf("  col/%04zu.bin  %-24s %-6s %12llu bytes  sha256 %s\n", i, m->schema.cols[i].name,
               type_name(m->schema.cols[i].type), (unsigned long long)m->columns[i].size, h);
    }
}

int sr_cmd_inspect(int argc, char **argv)
{
    const char *cmd = "inspect", *file = NULL, *recipe = NULL;
    int json = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int r = sr_acli_opt(cmd, argc, argv, &i, "--recipe", &recipe);
        if (r < 0)
            return SR_EXIT_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != 0)
            return sr_cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (file == NULL)
            file = argv[i];
        else
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    if (file == NULL)
        return sr_cli_usage_error(cmd, "an archive FILE is required");

    sr_error err;
    sr_error_clear(&err);
    sr_archive *a = NULL;
    sr_recipe *r = NULL;
    int structure_ok = 0, sig_ok = 0, digests_ok = 0, recipe_ok = -1;
    int rc = sr_archive_open(file, &a, &err);
    if (rc == SR_OK) {
        structure_ok = sig_ok = 1;
        rc = sr_archive_verify_digests(a, &err);
        digests_ok = rc == SR_OK;
    }
    if (rc == SR_OK && recipe != NULL) {
        rc = sr_recipe_load(recipe, &r, &err);
        if (rc == SR_OK) {
            rc = sr_archive_check_recipe(a, r, &err);
            recipe_ok = rc == SR_OK;
        }
    }
    if (json) {
        json_t *man = NULL;
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(file));
        json_object_set_new(o, "valid", json_boolean(rc == SR_OK));
        json_object_set_new(o, "error", rc == SR_OK ? json_null() : json_string(err.msg));
        json_object_set_new(o, "structure", json_boolean(structure_ok));
        json_object_set_new(o, "signature", json_boolean(sig_ok));
        json_object_set_new(o, "digests", json_boolean(digests_ok));
        if (recipe != NULL)
            json_object_set_new(o, "recipe", recipe_ok < 0 ? json_null() : json_boolean(recipe_ok));
        if (a != NULL) {
            size_t len = 0;
            const uint8_t *mb = sr_archive_manifest_bytes(a, &len);
            char mh[65], addr[43];
            sr_hex_encode(sr_archive_manifest_hash(a), SR_SHA256_LEN, mh);
            sr_eth_address_to_string(sr_archive_manifest(a)->owner_address, addr);
            json_object_set_new(o, "manifest_sha256", json_string(mh));
            json_object_set_new(o, "signer", json_string(addr));
            man = sr_json_parse(mb, len, SR_ARCHIVE_MAX_MANIFEST, NULL);
            json_object_set_new(o, "manifest", man ? man : json_null());
        }
        sr_acli_print_json(o);
    } else if (a != NULL) {
        char addr[43];
        sr_eth_address_to_string(sr_archive_manifest(a)->owner_address, addr);
        print_text(file, a);
        printf("structure        ok (canonical ustar)\n");
        printf("signature        ok (signed by %s)\n", addr);
        printf("digests          %s\n", digests_ok ? "ok" : "MISMATCH");
        if (recipe != NULL)
            printf("recipe           %s\n", recipe_ok == 1 ? "ok (bound to this recipe)" : "MISMATCH");
    }
    sr_recipe_free(r);
    sr_archive_close(a);
    if (rc != SR_OK)
        return sr_cli_fail(cmd, &err);
    return SR_EXIT_OK;
}

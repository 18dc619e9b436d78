/* sealroom recipe hash | check */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/recipe.h"

const char sr_cmd_recipe_summary[] = "compose hash of a recipe file, and validation of its skeleton";

static void usage(FILE *f)
{
    fprintf(f, "Usage: sealroom recipe hash FILE [--json]\n"
               "       sealroom recipe check FILE [--json]\n"
               "\n"
               "hash   prints the recipe's compose hash: SHA-256 of the file's exact bytes\n"
               "       (64 lowercase hex digits). Owners approve exactly these bytes; the\n"
               "       key derivation, the gate and the attestation all bind this hash.\n"
               "check  parses and validates the recipe (version, consortium, owners,\n"
               "       datasets and their schemas; docs/RECIPES.md) and prints a summary.\n"
               "\n"
               "Options:\n"
               "  --json       machine-readable output\n"
               "  -h, --help   show this help\n"
               "\n"
               "Exit status: 0 ok, 1 failure (unreadable or invalid recipe), 2 usage error.\n");
}

static int parse_args(const char *cmd, int argc, char **argv, const char **file, int *json)
{
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            *json = 1;
        else if (argv[i][0] == '-' && argv[i][1] != 0)
            return sr_cli_usage_error(cmd, "unknown option '%s'", argv[i]);
        else if (*file == NULL)
            *file = argv[i];
        else
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    if (*file == NULL)
        return sr_cli_usage_error(cmd, "a recipe FILE is required");
    return 0;
}

static int do_hash(int argc, char **argv)
{
    const char *cmd = "recipe hash", *file = NULL;
    int json = 0, u = parse_args(cmd, argc, argv, &file, &json);
    if (u != 0)
        return u;
    sr_error err;
    uint8_t h[SR_RECIPE_HASH_LEN];
    if (sr_recipe_hash_file(file, h, &err) != SR_OK)
        return sr_cli_fail(cmd, &err);
    char hex[2 * SR_RECIPE_HASH_LEN + 1];
    sr_hex_encode(h, sizeof h, hex);
    if (json) {
        json_t *o = json_pack("{s:s, s:s}", "file", file, "compose_hash", hex);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("%s\n", hex);
    }
    return SR_EXIT_OK;
}

static int do_check(int argc, char **argv)
{
    const char *cmd = "recipe check", *file = NULL;
    int json = 0, u = parse_args(cmd, argc, argv, &file, &json);
    if (u != 0)
        return u;
    sr_error err;
    sr_recipe *r = NULL;
    if (sr_recipe_load(file, &r, &err) != SR_OK) {
        if (json) {
            json_t *o = json_pack("{s:s, s:b, s:s}", "file", file, "valid", 0, "error", err.msg);
            char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            printf("%s\n", s ? s : "{}");
            free(s);
            json_decref(o);
        }
        return sr_cli_fail(cmd, &err);
    }
    char hash[65], app[43];
    sr_hex_encode(sr_recipe_compose_hash(r), SR_RECIPE_HASH_LEN, hash);
    app[0] = '0';
    app[1] = 'x';
    sr_hex_encode(sr_recipe_app_id(r), SR_APP_ID_LEN, app + 2);
    if (json) {
        json_t *owners = json_array(), *ds = json_object();
        for (size_t i = 0; i < sr_recipe_owner_count(r); i++) {
            char a[43];
            const sr_recipe_owner *o = sr_recipe_owner_at(r, i);
            sr_eth_address_to_string(o->address, a);
            json_array_append_new(owners, json_pack("{s:s, s:s}", "id", o->id, "address", a));
        }
        for (size_t i = 0; i < sr_recipe_dataset_count(r); i++)
            json_object_set_new(ds, sr_recipe_dataset_owner(r, i), sr_schema_to_json(sr_recipe_dataset_schema(r, i)));
        json_t *o = json_pack("{s:s, s:b, s:s, s:i, s:s, s:s, s:o, s:o}", "file", file, "valid", 1, "compose_hash",
                              hash, "version", sr_recipe_version(r), "consortium", sr_recipe_consortium_name(r),
                              "app_id", app, "owners", owners, "datasets", ds);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(o);
    } else {
        printf("%s: valid recipe (version %d)\n", file, sr_recipe_version(r));
        printf("compose hash  %s\n", hash);
        printf("consortium    %s\n", sr_recipe_consortium_name(r));
        printf("app id        %s\n", app);
        for (size_t i = 0; i < sr_recipe_owner_count(r); i++) {
            char a[43];
            const sr_recipe_owner *o = sr_recipe_owner_at(r, i);
            sr_eth_address_to_string(o->address, a);
            const sr_schema *s = sr_recipe_schema_for(r, o->id);
            printf("owner         %-24s %s  ", o->id, a);
            if (s == NULL) {
                printf("(no dataset)\n");
                continue;
            }
            printf("dataset of %zu column%s:", s->ncols, s->ncols == 1 ? "" : "s");
            for (size_t j = 0; j < s->ncols; j++) {
                static const char *names[] = {"?", "int", "float", "bool", "date", "string"};
                int t = (int)s->cols[j].type;
                printf(" %s:%s", s->cols[j].name, names[t >= 1 && t <= 5 ? t : 0]);
            }
            printf("\n");
        }
    }
    sr_recipe_free(r);
    return SR_EXIT_OK;
}

int sr_cmd_recipe(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? SR_EXIT_USAGE : SR_EXIT_OK;
    }
    if (sr_cli_wants_help(argc, argv)) {
        usage(stdout);
        return SR_EXIT_OK;
    }
    if (strcmp(argv[1], "hash") == 0)
        return do_hash(argc, argv);
    if (strcmp(argv[1], "check") == 0)
        return do_check(argc, argv);
    return sr_cli_usage_error("recipe", "unknown sub-command '%s' (want hash or check)", argv[1]);
}

/* sealroom analyze: a local dry run of a recipe's analysis on plaintext CSV
 * files (or sealed archives the operator can unlock), for owners and
 * analysts to try a recipe on mock data. The result is marked "unsigned
 * local dry run": it carries no receipt and proves nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sealroom/archive.h"
#include "sealroom/crypto.h"
#include "sealroom/engine.h"
#include "sealroom/recipe.h"
#include "sealroom/secmem.h"

const char sr_cmd_analyze_summary[] = "dry-run a recipe's analysis locally on CSV files or sealed archives";

#define DRY_RUN "unsigned local dry run"
#define MAX_DATA 64

static void usage(void)
{
    printf("Usage: sealroom analyze --recipe R --data OWNER=FILE ... [options]\n"
           "\n"
           "Runs the recipe's analysis (docs/RECIPES.md) over each owner's data and prints\n"
           "the declared outputs, noised as declared. FILE is a CSV with the owner's schema\n"
           "from the recipe, or a sealed archive (.tar) which needs --kms-dir or a keystore\n"
           "entry to decrypt. The output is marked \"" DRY_RUN "\".\n"
           "\n"
           "Options:\n"
           "  --recipe R         the recipe file (required)\n"
           "  --data OWNER=FILE  one per owner the recipe's sources read (required)\n"
           "  --json             print the result document as JSON\n"
           "  --seed N           reproducible noise from a seeded generator (tests only;\n"
           "                     default: the system CSPRNG)\n"
           "  --kms-dir D        the `kms init` folder (D/root.key unwraps archive keys)\n"
           "  --keystore D       an owner keystore holding archive keys (default:\n"
           "                     $SEALROOM_KEYSTORE or ~/.sealroom/keystore)\n"
           "  --out FILE         also write the JSON result to FILE\n"
           "  --model-memory M   MiB of rows a regression output may hold in memory before\n"
           "                     it re-reads the data on every pass instead (default 32;\n"
           "                     0: always re-read; same results either way)\n"
           "  -h, --help         show this help\n"
           "\n"
           "Exit status: 0 ok, 1 failure (including a rejected recipe), 2 usage error.\n");
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static void print_text(const json_t *res)
{
    const json_t *outs = json_object_get(res, "outputs");
    const json_t *pv = json_object_get(res, "privacy");
    printf("sealroom analyze: %s\n", DRY_RUN);
    printf("privacy: epsilon spent %.6g of %.6g (delta %.3g)\n",
           json_number_value(json_object_get(pv, "epsilon_spent")),
           json_number_value(json_object_get(pv, "epsilon_budget")),
           json_number_value(json_object_get(pv, "delta_spent")));
    const char *name;
    json_t *o;
    json_object_foreach((json_t *)outs, name, o) {
        char *cell = json_dumps(o, JSON_COMPACT);
        printf("%s (%s): %s\n", name, json_string_value(json_object_get(o, "type")),
               cell ? cell : "?");
        free(cell);
    }
}

int sr_cmd_analyze(int argc, char **argv)
{
    const char *cmd = "analyze";
    const char *recipe_path = NULL, *kms_dir = NULL, *keystore = NULL, *out_path = NULL;
    const char *data_owner[MAX_DATA], *data_path[MAX_DATA];
    char owners_buf[MAX_DATA][SR_MAX_NAME];
    size_t ndata = 0;
    int json = 0, have_seed = 0;
    unsigned long long seed = 0, model_mib = 0;
    int have_model_mib = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
#define OPT(name) (strcmp(a, name) == 0 ? (i + 1 < argc ? (val = argv[++i], 1) : -1) : 0)
        int r;
        if ((r = OPT("--recipe")) != 0) {
            if (r < 0)
                return sr_cli_usage_error(cmd, "--recipe needs a file");
            recipe_path = val;
        } else if ((r = OPT("--data")) != 0) {
            if (r < 0)
                return sr_cli_usage_error(cmd, "--data needs OWNER=FILE");
            const char *eq = strchr(val, '=');
            if (eq == NULL || eq == val || eq[1] == '\0' || (size_t)(eq - val) >= SR_MAX_NAME)
                return sr_cli_usage_error(cmd, "--data needs OWNER=FILE, got '%s'", val);
            if (ndata >= MAX_DATA)
                return sr_cli_usage_error(cmd, "at most %d --data options", MAX_DATA);
            memcpy(owners_buf[ndata], val, (size_t)(eq - val));
            owners_buf[ndata][eq - val] = '\0';
            data_owner[ndata] = owners_buf[ndata];
            data_path[ndata] = eq + 1;
            ndata++;
        } else if ((r = OPT("--seed")) != 0) {
            if (r < 0 || sr_cli_parse_u64(cmd, "--seed", val, &seed) != 0)
                return r < 0 ? sr_cli_usage_error(cmd, "--seed needs a number") : SR_EXIT_USAGE;
            have_seed = 1;
        } else if ((r = OPT("--model-memory")) != 0) {
            if (r < 0 || sr_cli_parse_u64(cmd, "--model-memory", val, &model_mib) != 0)
                return r < 0 ? sr_cli_usage_error(cmd, "--model-memory needs a number of MiB")
                             : SR_EXIT_USAGE;
            if (model_mib > 1024 * 1024)
                return sr_cli_usage_error(cmd, "--model-memory: at most 1048576 MiB");
            have_model_mib = 1;
        } else if ((r = OPT("--kms-dir")) != 0) {
            if (r < 0)
                return sr_cli_usage_error(cmd, "--kms-dir needs a folder");
            kms_dir = val;
        } else if ((r = OPT("--keystore")) != 0) {
            if (r < 0)
                return sr_cli_usage_error(cmd, "--keystore needs a folder");
            keystore = val;
        } else if ((r = OPT("--out")) != 0) {
            if (r < 0)
                return sr_cli_usage_error(cmd, "--out needs a file");
            out_path = val;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else {
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", a);
        }
#undef OPT
    }
    if (recipe_path == NULL)
        return sr_cli_usage_error(cmd, "--recipe R is required");
    if (ndata == 0)
        return sr_cli_usage_error(cmd, "at least one --data OWNER=FILE is required");

    sr_error err;
    sr_error_clear(&err);
    sr_recipe *recipe = NULL;
    sr_plan *plan = NULL;
    sr_rng *rng = NULL;
    json_t *res = NULL;
    sr_engine_source src[MAX_DATA];
    sr_engine_csv *csv[MAX_DATA] = {0};
    sr_archive *arch[MAX_DATA] = {0};
    sr_engine_arch *asrc[MAX_DATA] = {0};
    sr_engine_dataset ds[SR_RECIPE_MAX_OWNERS];
    uint8_t root_sk[SR_SECP_SECKEY_LEN];
    int have_root = 0, rc = SR_EXIT_FAIL;

    if (sr_recipe_load(recipe_path, &recipe, &err) != SR_OK)
        goto fail;
    size_t nds = sr_recipe_dataset_count(recipe);
    if (nds > SR_RECIPE_MAX_OWNERS)
        nds = SR_RECIPE_MAX_OWNERS;
    for (size_t i = 0; i < nds; i++) {
        ds[i].owner = sr_recipe_dataset_owner(recipe, i);
        ds[i].schema = sr_recipe_dataset_schema(recipe, i);
    }
    if (sr_plan_new(sr_recipe_json(recipe), ds, nds, &plan, &err) != SR_OK) {
        sr_error_prefix(&err, "%s", recipe_path);
        goto fail;
    }
    for (size_t i = 0; i < ndata; i++) {
        const sr_schema *sc = sr_recipe_schema_for(recipe, data_owner[i]);
        int used = 0;
        for (size_t k = 0; k < sr_plan_source_count(plan); k++)
            used |= strcmp(sr_plan_source_owner(plan, k), data_owner[i]) == 0;
        if (sc == NULL || !used) {
            sr_error_set(&err, SR_EINVAL, "--data %s: the recipe's analysis reads no dataset of "
                         "owner \"%s\"", data_owner[i], data_owner[i]);
            goto fail;
        }
        if (ends_with(data_path[i], ".tar")) {
            if (sr_archive_open(data_path[i], &arch[i], &err) ||
                sr_archive_check_recipe(arch[i], recipe, &err)) {
                sr_error_prefix(&err, "%s", data_path[i]);
                goto fail;
            }
            if (kms_dir != NULL) {
                if (!have_root) {
                    char kp[4096];
                    snprintf(kp, sizeof kp, "%s/root.key", kms_dir);
                    if (sr_keyfile_read(kp, root_sk, 0, &err))
                        goto fail;
                    have_root = 1;
                }
                if (sr_archive_unlock_kms(arch[i], root_sk, &err)) {
                    sr_error_prefix(&err, "%s", data_path[i]);
                    goto fail;
                }
            } else {
                char dir[4096];
                uint8_t dek[SR_DEK_LEN];
                if (keystore != NULL)
                    snprintf(dir, sizeof dir, "%s", keystore);
                else if (sr_keystore_default_dir(dir, sizeof dir, &err))
                    goto fail;
                int krc = sr_keystore_get(dir, sr_archive_manifest(arch[i])->archive_id,
                                          data_owner[i], dek, &err);
                if (krc == SR_OK)
                    krc = sr_archive_unlock(arch[i], dek, &err);
                sr_memzero(dek, sizeof dek);
                if (krc) {
                    sr_error_prefix(&err, "%s (give --kms-dir or --keystore)", data_path[i]);
                    goto fail;
                }
            }
            if (sr_engine_archive_open(arch[i], plan, data_owner[i], &asrc[i], &err))
                goto fail;
            sr_engine_archive_source(asrc[i], data_owner[i], &src[i]);
        } else {
            if (sr_engine_csv_open(data_path[i], sc, 65536, &csv[i], &err)) {
                sr_error_prefix(&err, "%s", data_path[i]);
                goto fail;
            }
            sr_engine_csv_source(csv[i], data_owner[i], &src[i]);
        }
    }
    rng = have_seed ? sr_rng_new_seed_u64(seed, &err) : sr_rng_new_system(&err);
    if (rng == NULL)
        goto fail;
    sr_engine_opts opts = {rng, DRY_RUN, 2, sr_recipe_compose_hash(recipe),
                           !have_model_mib ? 0 : model_mib == 0 ? 1 : (size_t)model_mib << 20};
    if (sr_engine_run(plan, src, ndata, &opts, &res, &err) != SR_OK)
        goto fail;
    if (sr_engine_check_result(plan, res, &err) != SR_OK)
        goto fail;
    if (out_path != NULL) {
        char *txt = json_dumps(res, JSON_INDENT(2));
        if (txt == NULL) {
            sr_error_set(&err, SR_ENOMEM, "out of memory");
            goto fail;
        }
        size_t n = strlen(txt);
        txt[n] = '\0';
        int wrc = sr_file_write_atomic(out_path, txt, n, 0644, &err);
        free(txt);
        if (wrc)
            goto fail;
    }
    if (json) {
        char *txt = json_dumps(res, JSON_INDENT(2));
        if (txt)
            printf("%s\n", txt);
        free(txt);
    } else {
        print_text(res);
    }
    rc = SR_EXIT_OK;
    goto done;
fail:
    rc = sr_cli_fail(cmd, &err);
done:
    if (have_root)
        sr_memzero(root_sk, sizeof root_sk);
    for (size_t i = 0; i < ndata; i++) {
        sr_engine_csv_close(csv[i]);
        sr_engine_archive_close(asrc[i]);
        sr_archive_close(arch[i]);
    }
    json_decref(res);
    sr_rng_free(rng);
    sr_plan_free(plan);
    sr_recipe_free(recipe);
    return rc;
}

/* Every recipe in examples/recipes/ loads and builds a valid plan (budget,
 * bounds, domains), and runs over an empty table with the result passing
 * the output contract. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/csv.h"
#include "sealroom/engine.h"
#include "sealroom/recipe.h"
#include "test.h"

static void check_one(const char *path)
{
    sr_error err = {0};
    sr_recipe *r = NULL;
    sr_plan *p = NULL;
    CHECK_MSG(sr_recipe_load(path, &r, &err) == SR_OK, "%s: %s", path, err.msg);
    if (r == NULL)
        return;
    sr_engine_dataset ds[16];
    size_t n = sr_recipe_dataset_count(r);
    for (size_t i = 0; i < n && i < 16; i++) {
        ds[i].owner = sr_recipe_dataset_owner(r, i);
        ds[i].schema = sr_recipe_dataset_schema(r, i);
    }
    CHECK_MSG(sr_plan_new(sr_recipe_json(r), ds, n, &p, &err) == SR_OK, "%s: %s", path, err.msg);
    if (p != NULL) {
        double be, bd, se, sd;
        sr_plan_privacy(p, &be, &bd, &se, &sd);
        CHECK_MSG(se > 0 && se <= be * (1 + 1e-9), "%s: spends %g of %g", path, se, be);
        /* empty CSVs (header only) for each source: the run still produces
         * every declared output (all cells suppressed or noised) */
        sr_engine_source src[16];
        sr_engine_csv *csv[16] = {0};
        size_t ns = sr_plan_source_count(p);
        int ok = 1;
        for (size_t i = 0; i < ns && ok; i++) {
            const char *owner = sr_plan_source_owner(p, i);
            char fn[256];
            snprintf(fn, sizeof fn, "empty_%zu.csv", i);
            FILE *f = fopen(fn, "w");
            if (f == NULL || sr_csv_write_header(f, sr_recipe_schema_for(r, owner), &err))
                ok = 0;
            if (f)
                fclose(f);
            ok = ok && sr_engine_csv_open(fn, sr_recipe_schema_for(r, owner), 1024, &csv[i], &err) == SR_OK;
            if (ok)
                sr_engine_csv_source(csv[i], owner, &src[i]);
        }
        CHECK_MSG(ok, "%s: %s", path, err.msg);
        sr_rng *rng = sr_rng_new_seed_u64(1, &err);
        sr_engine_opts o = {rng, "test", 1, NULL, 0};
        json_t *res = NULL;
        if (ok) {
            int rc = sr_engine_run(p, src, ns, &o, &res, &err);
            /* regressions cannot fit zero rows: that is the one allowed failure */
            CHECK_MSG(rc == SR_OK || strstr(err.msg, "no rows to fit") != NULL, "%s: %s", path, err.msg);
            if (rc == SR_OK)
                CHECK_OK(sr_engine_check_result(p, res, &err), &err);
        }
        json_decref(res);
        sr_rng_free(rng);
        for (size_t i = 0; i < ns; i++)
            sr_engine_csv_close(csv[i]);
    }
    sr_plan_free(p);
    sr_recipe_free(r);
}

static void test_examples(void)
{
    const char *src = getenv("SR_SOURCE_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/examples/recipes", src ? src : "../../..");
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (d == NULL)
        return;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        check_one(path);
        count++;
    }
    closedir(d);
    CHECK(count >= 5);
}

int main(void)
{
    SR_RUN(test_examples);
    return sr_test_finish();
}

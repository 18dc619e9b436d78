/* libFuzzer target: the recipe analysis language. Input bytes are a recipe
 * document (analysis/outputs/privacy) over a fixed two-owner schema. A plan
 * that builds is run over a small batch with nulls; its result must pass
 * the output contract (abort otherwise). Nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/engine.h"
#include "sealroom/json.h"

static sr_schema schema;
static sr_batch batch;
static int ready;

static void setup(void)
{
    static const struct { const char *n; sr_type t; } cols[] = {
        {"pid", SR_TYPE_INT64}, {"s", SR_TYPE_STRING}, {"x", SR_TYPE_FLOAT64},
        {"d", SR_TYPE_DATE}, {"b", SR_TYPE_BOOL}, {"k", SR_TYPE_INT64}};
    sr_error err;
    schema.ncols = 6;
    for (size_t i = 0; i < 6; i++) {
        snprintf(schema.cols[i].name, SR_MAX_NAME, "%s", cols[i].n);
        schema.cols[i].type = cols[i].t;
    }
    if (sr_batch_init(&batch, &schema, 64, 0, &err) != SR_OK)
        abort();
    static const char *strs[] = {"a", "b", "c", ""};
    for (int i = 0; i < 48; i++) {
        sr_chunk_append_i64(&batch.cols[0], i % 20, &err);
        if (i % 7 == 3)
            sr_chunk_append_null(&batch.cols[1], &err);
        else
            sr_chunk_append_str(&batch.cols[1], strs[i % 4], 1, &err);
        if (i % 5 == 4)
            sr_chunk_append_null(&batch.cols[2], &err);
        else
            sr_chunk_append_f64(&batch.cols[2], (i * 37 % 101) - 20.5, &err);
        sr_chunk_append_date(&batch.cols[3], 19000 + i * 3, &err);
        sr_chunk_append_bool(&batch.cols[4], i % 3 == 0, &err);
        sr_chunk_append_i64(&batch.cols[5], i % 4, &err);
    }
    batch.nrows = 48;
    ready = 1;
}

typedef struct { int done; } src_state;

static int next(void *ctx, const sr_batch **b, sr_error *err)
{
    (void)err;
    static sr_batch empty = {0, 0, NULL};
    src_state *s = ctx;
    *b = s->done ? &empty : &batch;
    s->done = 1;
    return SR_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        setup();
    sr_error err;
    json_t *doc = sr_json_parse(data, size, 1 << 16, &err);
    if (doc == NULL)
        return 0;
    sr_engine_dataset ds[2] = {{"a", &schema}, {"b", &schema}};
    sr_plan *p = NULL;
    if (sr_plan_new(doc, ds, 2, &p, &err) == SR_OK) {
        src_state sa = {0}, sb = {0};
        sr_engine_source src[2] = {{"a", next, &sa, 0}, {"b", next, &sb, 0}};
        size_t nsrc = sr_plan_source_count(p);
        if (nsrc == 1 && strcmp(sr_plan_source_owner(p, 0), "b") == 0)
            src[0].owner = "b";
        sr_rng *rng = sr_rng_new_seed_u64(size, &err);
        sr_engine_opts o = {rng, "fuzz", 1, NULL};
        json_t *res = NULL;
        if (sr_engine_run(p, src, nsrc, &o, &res, &err) == SR_OK) {
            if (sr_engine_check_result(p, res, &err) != SR_OK) {
                fprintf(stderr, "contract: %s\n", err.msg);
                abort();
            }
            json_decref(res);
        }
        sr_rng_free(rng);
        sr_plan_free(p);
    }
    json_decref(doc);
    return 0;
}

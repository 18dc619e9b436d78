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

static sr_schema schema, cschema;
static sr_batch batch, cbatch;
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
    /* owner c: a different schema, joinable with a/b on k */
    cschema.ncols = 3;
    snprintf(cschema.cols[0].name, SR_MAX_NAME, "k");
    cschema.cols[0].type = SR_TYPE_INT64;
    snprintf(cschema.cols[1].name, SR_MAX_NAME, "z");
    cschema.cols[1].type = SR_TYPE_FLOAT64;
    snprintf(cschema.cols[2].name, SR_MAX_NAME, "t");
    cschema.cols[2].type = SR_TYPE_STRING;
    if (sr_batch_init(&cbatch, &cschema, 8, 0, &err) != SR_OK)
        abort();
    for (int i = 0; i < 5; i++) {
        if (i == 4)
            sr_chunk_append_null(&cbatch.cols[0], &err);
        else
            sr_chunk_append_i64(&cbatch.cols[0], i, &err);
        sr_chunk_append_f64(&cbatch.cols[1], i * 1.5, &err);
        sr_chunk_append_str(&cbatch.cols[2], &"xyz"[i % 3], 1, &err);
    }
    cbatch.nrows = 5;
    ready = 1;
}

typedef struct { int done; const sr_batch *b; } src_state;

static int next(void *ctx, const sr_batch **b, sr_error *err)
{
    (void)err;
    static sr_batch empty = {0, 0, NULL};
    src_state *s = ctx;
    *b = s->done ? &empty : s->b;
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
    sr_engine_dataset ds[3] = {{"a", &schema}, {"b", &schema}, {"c", &cschema}};
    sr_plan *p = NULL;
    if (sr_plan_new(doc, ds, 3, &p, &err) == SR_OK) {
        src_state st[2];
        sr_engine_source src[2];
        size_t nsrc = sr_plan_source_count(p);
        for (size_t i = 0; i < nsrc && i < 2; i++) {
            const char *o = sr_plan_source_owner(p, i);
            st[i].done = 0;
            st[i].b = strcmp(o, "c") == 0 ? &cbatch : &batch;
            src[i].owner = o;
            src[i].next = next;
            src[i].ctx = &st[i];
            src[i].lookahead = 0;
            src[i].rewind = NULL;
        }
        sr_rng *rng = sr_rng_new_seed_u64(size, &err);
        sr_engine_opts o = {rng, "fuzz", 1, NULL, 0};
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

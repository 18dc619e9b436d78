/* Engine model outputs streamed from rewindable sources: logistic (exact
 * and DP), linear and Cox regressions over 27000 rows (several model
 * blocks, CSV batches that straddle them) with a filter, a derived feature,
 * NULLs and contribution bounding must give exactly the result of the
 * in-memory path (the same sources without rewind), whether they stream
 * from the first row or switch in the middle of the data (model_memory);
 * under the default limit the rows stay in memory (no rewind); the
 * streaming run must have re-read its sources (also over the strided warm-start pass of a
 * large logistic regression); a read error in a later pass must fail the run
 * with its message (no worker left waiting). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/dp.h"
#include "sealroom/engine.h"
#include "test.h"

static sr_schema SCHEMA;

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static double unif(uint64_t *s)
{
    return (double)lcg(s) / 2147483648.0;
}

static void write_csv(const char *path, size_t n, uint64_t seed, size_t npids)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return;
    fputs("pid,grp,x1,x2,y,t,ev\n", f);
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double x1 = unif(&s) * 4 - 2;
        int x2 = (int)(lcg(&s) % 7);
        double eta = 0.8 * x1 - 0.3 * x2 + 0.5;
        int y = unif(&s) < 1 / (1 + exp(-eta));
        double t = floor(-log(unif(&s) + 1e-9) / exp(0.4 * x1) * 50) / 10;
        int ev = unif(&s) < 0.7;
        int grp = (int)(lcg(&s) % 4);
        fprintf(f, "p%zu,g%d,", i % npids, grp);
        if (lcg(&s) % 50 != 0)
            fprintf(f, "%.6f", x1);
        fprintf(f, ",%d,%d,%.1f,%s\n", x2, y, t, ev ? "true" : "false");
    }
    fclose(f);
}

static void setup(void)
{
    static const struct { const char *n; sr_type t; } cols[] = {
        {"pid", SR_TYPE_STRING}, {"grp", SR_TYPE_STRING}, {"x1", SR_TYPE_FLOAT64},
        {"x2", SR_TYPE_INT64}, {"y", SR_TYPE_INT64}, {"t", SR_TYPE_FLOAT64}, {"ev", SR_TYPE_BOOL}};
    SCHEMA.ncols = 7;
    for (size_t i = 0; i < 7; i++) {
        snprintf(SCHEMA.cols[i].name, SR_MAX_NAME, "%s", cols[i].n);
        SCHEMA.cols[i].type = cols[i].t;
    }
    write_csv("ms_a.csv", 20000, 1, 7000); /* people with 2 or 3 rows: bounding drops some */
    write_csv("ms_b.csv", 7000, 2, 1000000);
}

static const char RECIPE[] =
    "{\"analysis\": {\"sources\": {\"union\": [\"a\", \"b\"]},"
    "  \"filter\": {\"op\": \"!=\", \"args\": [{\"col\": \"grp\"}, \"g3\"]},"
    "  \"derive\": [{\"name\": \"x3\", \"expr\": {\"op\": \"*\", \"args\": [{\"col\": \"x1\"}, {\"col\": \"x2\"}]}}]},"
    " \"outputs\": ["
    "  {\"name\": \"lr\", \"type\": \"logistic_regression\", \"features\": [\"x1\", \"x2\", \"x3\"], \"label\": \"y\","
    "   \"l2\": 1, \"intercept\": true, \"standardize\": true, \"privacy\": \"none\"},"
    "  {\"name\": \"lin\", \"type\": \"linear_regression\", \"features\": [\"x1\", \"x3\"], \"label\": \"t\", \"privacy\": \"none\"},"
    "  {\"name\": \"cox\", \"type\": \"cox_regression\", \"features\": [\"x1\", \"x2\"], \"time\": \"t\", \"event\": \"ev\","
    "   \"ties\": \"efron\", \"privacy\": \"none\"},"
    "  {\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"},"
    "  {\"name\": \"lr_dp\", \"type\": \"logistic_regression\", \"features\": [\"x1\", \"x2\"], \"label\": \"y\","
    "   \"l2\": 10, \"intercept\": true, \"standardize\": false,"
    "   \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5, \"clip\": 5}}],"
    " \"privacy\": {\"epsilon\": 1, \"person_id\": \"pid\", \"max_rows_per_person\": 2}}";

/* A CSV source behind a wrapper: counts rewinds, can hide rewind (the
 * in-memory path) and can fail a read after the first rewind. */
typedef struct wsrc {
    sr_engine_source in;
    int rewinds;
    int fail_after; /* batches read after the first rewind before failing; -1 never */
    int reads;
} wsrc;

static int w_next(void *ctx, const sr_batch **b, sr_error *err)
{
    wsrc *w = ctx;
    if (w->rewinds > 0 && w->fail_after >= 0 && w->reads++ >= w->fail_after)
        return sr_error_set(err, SR_EIO, "injected read failure");
    return w->in.next(w->in.ctx, b, err);
}

static int w_rewind(void *ctx, const uint8_t *mask, sr_error *err)
{
    wsrc *w = ctx;
    w->rewinds++;
    return w->in.rewind(w->in.ctx, mask, err);
}

/* Runs the recipe; *rewinds gets the rewinds of source a. */
static int run(int rewindable, size_t model_memory, unsigned threads, int fail_after, json_t **res,
               int *rewinds, sr_error *err)
{
    sr_engine_dataset ds[2] = {{"a", &SCHEMA}, {"b", &SCHEMA}};
    json_error_t je;
    json_t *r = json_loads(RECIPE, 0, &je);
    sr_plan *p = NULL;
    sr_engine_csv *ca = NULL, *cb = NULL;
    sr_rng *rng = sr_rng_new_seed_u64(7, err);
    wsrc w[2];
    sr_engine_source src[2];
    int rc = r == NULL ? SR_EFORMAT : sr_plan_new(r, ds, 2, &p, err);
    *res = NULL;
    if (rc == SR_OK && rng == NULL)
        rc = SR_ENOMEM;
    if (rc == SR_OK)
        rc = sr_engine_csv_open("ms_a.csv", &SCHEMA, 1000, &ca, err);
    if (rc == SR_OK)
        rc = sr_engine_csv_open("ms_b.csv", &SCHEMA, 777, &cb, err);
    if (rc == SR_OK) {
        memset(w, 0, sizeof w);
        sr_engine_csv_source(ca, "a", &w[0].in);
        sr_engine_csv_source(cb, "b", &w[1].in);
        for (int k = 0; k < 2; k++) {
            w[k].fail_after = k == 1 ? fail_after : -1;
            src[k].owner = w[k].in.owner;
            src[k].next = w_next;
            src[k].ctx = &w[k];
            src[k].lookahead = w[k].in.lookahead;
            src[k].rewind = rewindable ? w_rewind : NULL;
        }
        sr_engine_opts o = {rng, "test", threads, NULL, model_memory};
        rc = sr_engine_run(p, src, 2, &o, res, err);
        if (rc == SR_OK)
            rc = sr_engine_check_result(p, *res, err);
        *rewinds = w[0].rewinds;
    }
    sr_engine_csv_close(ca);
    sr_engine_csv_close(cb);
    sr_rng_free(rng);
    sr_plan_free(p);
    json_decref(r);
    return rc;
}

static double coef(const json_t *res, const char *out, const char *name)
{
    const json_t *o = json_object_get(json_object_get(res, "outputs"), out);
    const json_t *v = json_object_get(json_object_get(o, "coefficients"), name);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void test_stream_equals_memory(void)
{
    /* model_memory: 1 streams from the first row; 100000 bytes switches
     * after about 3000 rows; 0 (32 MiB) keeps these rows in memory */
    static const size_t mm[] = {1, 100000, 0};
    for (unsigned threads = 1; threads <= 2; threads++) {
        sr_error err = {0};
        json_t *mem = NULL;
        int rw_mem = -1;
        CHECK_OK(run(0, 1, threads, -1, &mem, &rw_mem, &err), &err);
        CHECK_EQ_INT(rw_mem, 0);
        char *a = mem ? json_dumps(mem, JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
        CHECK(a != NULL);
        for (size_t k = 0; k < 3 && a != NULL; k++) {
            json_t *str = NULL;
            int rw_str = -1;
            CHECK_OK(run(1, mm[k], threads, -1, &str, &rw_str, &err), &err);
            if (mm[k] == 0)
                CHECK_MSG(rw_str == 0, "rows under the limit were re-read (%d rewinds)", rw_str);
            else /* logistic: stats + Newton passes; linear: 1-2; Cox: stats + Newton; DP: 1+ */
                CHECK_MSG(rw_str >= 8, "streaming run rewound %d times", rw_str);
            char *b = str ? json_dumps(str, JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
            CHECK(b != NULL);
            if (b)
                CHECK_MSG(strcmp(a, b) == 0, "model_memory %zu: result differs from in-memory:\n%s\n%s",
                          mm[k], a, b);
            /* the models did fit something (the data has these signs) */
            if (str) {
                CHECK_MSG(coef(str, "lr", "x1") > 0.5 && coef(str, "lr", "x2") < -0.1, "lr %g %g",
                          coef(str, "lr", "x1"), coef(str, "lr", "x2"));
                CHECK_MSG(coef(str, "cox", "x1") > 0.2, "cox %g", coef(str, "cox", "x1"));
                CHECK(isfinite(coef(str, "lin", "x3")) && isfinite(coef(str, "lr_dp", "x1")));
            }
            free(b);
            json_decref(str);
        }
        free(a);
        json_decref(mem);
    }
}

static void test_stream_read_error(void)
{
    for (int fail_after = 0; fail_after < 12; fail_after += 5) {
        sr_error err = {0};
        json_t *res = NULL;
        int rw = 0;
        CHECK(run(1, 1, 2, fail_after, &res, &rw, &err) == SR_EIO);
        CHECK_CONTAINS(err.msg, "injected read failure");
        CHECK(res == NULL);
        json_decref(res);
    }
}

/* Over 128 blocks logistic regression first fits on every 8th block (a
 * strided pass): 1.1M rows of two small integer columns. */
static void test_stream_strided(void)
{
    sr_schema sc;
    memset(&sc, 0, sizeof sc);
    sc.ncols = 2;
    snprintf(sc.cols[0].name, SR_MAX_NAME, "x");
    snprintf(sc.cols[1].name, SR_MAX_NAME, "y");
    sc.cols[0].type = sc.cols[1].type = SR_TYPE_INT64;
    FILE *f = fopen("ms_big.csv", "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("x,y\n", f);
    uint64_t s = 3;
    for (size_t i = 0; i < 1100000; i++) {
        int x = (int)(lcg(&s) % 10);
        fprintf(f, "%d,%d\n", x, unif(&s) < 1 / (1 + exp(-(x - 4.5) * 0.3)));
    }
    fclose(f);
    static const char rec[] =
        "{\"analysis\": {\"sources\": {\"union\": [\"a\"]}},"
        " \"outputs\": [{\"name\": \"lr\", \"type\": \"logistic_regression\", \"features\": [\"x\"],"
        "  \"label\": \"y\", \"l2\": 1, \"intercept\": true, \"privacy\": \"none\"}],"
        " \"privacy\": {\"epsilon\": 0}}";
    sr_engine_dataset ds[1] = {{"a", &sc}};
    json_t *r = json_loads(rec, 0, NULL);
    sr_plan *p = NULL;
    sr_error err = {0};
    CHECK_OK(sr_plan_new(r, ds, 1, &p, &err), &err);
    char *dump[2] = {NULL, NULL};
    int rewinds = 0;
    for (int k = 0; k < 2 && p != NULL; k++) {
        sr_engine_csv *c = NULL;
        wsrc w;
        sr_engine_source src;
        json_t *res = NULL;
        memset(&w, 0, sizeof w);
        w.fail_after = -1;
        CHECK_OK(sr_engine_csv_open("ms_big.csv", &sc, 65536, &c, &err), &err);
        if (c == NULL)
            break;
        sr_engine_csv_source(c, "a", &w.in);
        src = w.in;
        src.next = w_next;
        src.ctx = &w;
        src.rewind = k == 1 ? w_rewind : NULL;
        sr_engine_opts o = {NULL, "test", 2, NULL, 1};
        CHECK_OK(sr_engine_run(p, &src, 1, &o, &res, &err), &err);
        if (res)
            dump[k] = json_dumps(res, JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
        if (k == 1)
            rewinds = w.rewinds;
        json_decref(res);
        sr_engine_csv_close(c);
    }
    CHECK(dump[0] != NULL && dump[1] != NULL);
    if (dump[0] && dump[1])
        CHECK_MSG(strcmp(dump[0], dump[1]) == 0, "streamed result differs:\n%s\n%s", dump[0], dump[1]);
    CHECK_MSG(rewinds >= 3, "rewinds %d", rewinds);
    free(dump[0]);
    free(dump[1]);
    sr_plan_free(p);
    json_decref(r);
    remove("ms_big.csv");
}

int main(void)
{
    setup();
    SR_RUN(test_stream_equals_memory);
    SR_RUN(test_stream_read_error);
    SR_RUN(test_stream_strided);
    return sr_test_finish();
}

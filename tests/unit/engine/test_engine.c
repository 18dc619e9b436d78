/* Engine: the recipe language (validation messages), operators over
 * batches (filter, derive, group-by, nulls), exact aggregates on a small
 * hand-checked table, contribution bounding, suppression, the output
 * contract, and DP error over 2000 runs against the theoretical scales. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/engine.h"
#include "test.h"

/* pid,sex,age,egfr,visit,admit,discharge,smoker
 * egfr has one NULL; ages 30..80 */
static const char CSV[] =
    "pid,sex,age,egfr,admit,discharge,smoker\n"
    "p1,F,30,90.5,2024-01-01,2024-01-05,true\n"
    "p2,M,45,60,2024-01-02,2024-01-03,false\n"
    "p3,F,50,,2024-02-01,2024-02-11,false\n"
    "p4,M,62,40.25,2024-03-01,2024-03-02,true\n"
    "p5,F,70,35,2024-03-05,2024-03-09,false\n"
    "p6,M,80,20,2024-04-01,2024-04-21,true\n"
    "p1,F,30,88,2024-05-01,2024-05-02,true\n"
    "p1,F,30,87,2024-06-01,2024-06-02,true\n";

static sr_schema SCHEMA;

static void setup_schema(void)
{
    static const struct { const char *n; sr_type t; } cols[] = {
        {"pid", SR_TYPE_STRING}, {"sex", SR_TYPE_STRING}, {"age", SR_TYPE_INT64},
        {"egfr", SR_TYPE_FLOAT64}, {"admit", SR_TYPE_DATE}, {"discharge", SR_TYPE_DATE},
        {"smoker", SR_TYPE_BOOL}};
    SCHEMA.ncols = 7;
    for (size_t i = 0; i < 7; i++) {
        snprintf(SCHEMA.cols[i].name, SR_MAX_NAME, "%s", cols[i].n);
        SCHEMA.cols[i].type = cols[i].t;
    }
    FILE *f = fopen("a.csv", "w");
    fputs(CSV, f);
    fclose(f);
    f = fopen("b.csv", "w");
    fputs("pid,sex,age,egfr,admit,discharge,smoker\np9,M,55,70,2024-01-01,2024-01-31,false\n", f);
    fclose(f);
}

static json_t *recipe(const char *analysis, const char *outputs, const char *privacy)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "{\"analysis\": %s, \"outputs\": %s, \"privacy\": %s}", analysis,
             outputs, privacy);
    json_error_t je;
    json_t *j = json_loads(buf, 0, &je);
    if (j == NULL)
        fprintf(stderr, "bad test JSON: %s: %s\n", je.text, buf);
    return j;
}

static const char *UNION2 = "{\"sources\": {\"union\": [\"a\", \"b\"]}}";
static const char *PNONE = "{\"epsilon\": 0}";

/* Builds a plan; returns its status and the message in err. */
static int plan_of(const char *an, const char *outs, const char *priv, sr_plan **p, sr_error *err)
{
    sr_engine_dataset ds[2] = {{"a", &SCHEMA}, {"b", &SCHEMA}};
    json_t *r = recipe(an, outs, priv);
    if (r == NULL)
        return -1;
    int rc = sr_plan_new(r, ds, 2, p, err);
    json_decref(r);
    return rc;
}

static json_t *run_csv(sr_plan *p, sr_rng *rng, sr_error *err)
{
    sr_engine_csv *a = NULL, *b = NULL;
    sr_engine_source src[2];
    json_t *res = NULL;
    if (sr_engine_csv_open("a.csv", &SCHEMA, 3, &a, err) ||
        sr_engine_csv_open("b.csv", &SCHEMA, 3, &b, err))
        goto out;
    sr_engine_csv_source(a, "a", &src[0]);
    sr_engine_csv_source(b, "b", &src[1]);
    sr_engine_opts o = {rng, "test", 2, NULL, 0};
    if (sr_engine_run(p, src, 2, &o, &res, err) == SR_OK && sr_engine_check_result(p, res, err)) {
        json_decref(res);
        res = NULL;
    }
out:
    sr_engine_csv_close(a);
    sr_engine_csv_close(b);
    return res;
}

static double outval(const json_t *res, const char *name)
{
    const json_t *v = json_object_get(json_object_get(json_object_get(res, "outputs"), name), "value");
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const json_t *group_cell(const json_t *res, const char *name, size_t g)
{
    return json_array_get(json_object_get(json_object_get(json_object_get(res, "outputs"), name),
                                          "groups"), g);
}

static void test_exact_aggregates(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    const char *outs =
        "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"},"
        " {\"name\": \"n_egfr\", \"type\": \"count\", \"column\": \"egfr\", \"privacy\": \"none\"},"
        " {\"name\": \"sum_age\", \"type\": \"sum\", \"column\": \"age\", \"privacy\": \"none\"},"
        " {\"name\": \"mean_egfr\", \"type\": \"mean\", \"column\": \"egfr\", \"privacy\": \"none\"},"
        " {\"name\": \"var_age\", \"type\": \"variance\", \"column\": \"age\", \"privacy\": \"none\"},"
        " {\"name\": \"n_by_sex\", \"type\": \"count\", \"group_by\": [{\"column\": \"sex\", \"domain\": [\"F\", \"M\", \"X\"]}], \"privacy\": \"none\"},"
        " {\"name\": \"stay\", \"type\": \"mean\", \"column\": \"stay_days\", \"group_by\": [{\"column\": \"smoker\", \"domain\": [true, false]}], \"privacy\": \"none\"},"
        " {\"name\": \"age_hist\", \"type\": \"histogram\", \"column\": \"age\", \"bins\": [0, 40, 60, 100], \"privacy\": \"none\"},"
        " {\"name\": \"sex_hist\", \"type\": \"histogram\", \"column\": \"sex\", \"categories\": [\"M\", \"F\"], \"privacy\": \"none\"},"
        " {\"name\": \"band\", \"type\": \"count\", \"group_by\": [{\"column\": \"age_band\", \"domain\": [0, 1, 2]}], \"privacy\": \"none\"},"
        " {\"name\": \"q_age\", \"type\": \"quantiles\", \"column\": \"age\", \"quantiles\": [0, 0.5, 0.9, 1], \"privacy\": \"none\"}]";
    const char *an = "{\"sources\": {\"union\": [\"a\", \"b\"]},"
                     " \"derive\": [{\"name\": \"stay_days\", \"expr\": {\"op\": \"date_diff\", \"args\": [{\"col\": \"discharge\"}, {\"col\": \"admit\"}]}},"
                     "              {\"name\": \"age_band\", \"expr\": {\"op\": \"bucket\", \"args\": [{\"col\": \"age\"}], \"edges\": [0, 40, 65, 200]}}]}";
    CHECK_OK(plan_of(an, outs, PNONE, &p, &err), &err);
    if (p == NULL)
        return;
    json_t *res = run_csv(p, NULL, &err);
    CHECK_MSG(res != NULL, "%s", err.msg);
    if (res != NULL) {
        /* ages: 30 45 50 62 70 80 30 30 55 (9 rows) */
        CHECK(outval(res, "n") == 9);
        CHECK(outval(res, "n_egfr") == 8);
        CHECK(outval(res, "sum_age") == 452);
        double eg = (90.5 + 60 + 40.25 + 35 + 20 + 88 + 87 + 70) / 8;
        CHECK(fabs(outval(res, "mean_egfr") - eg) < 1e-12);
        double ages[] = {30, 45, 50, 62, 70, 80, 30, 30, 55}, m = 452.0 / 9, ss = 0;
        for (int i = 0; i < 9; i++)
            ss += (ages[i] - m) * (ages[i] - m);
        CHECK_MSG(fabs(outval(res, "var_age") - ss / 8) < 1e-9, "%g vs %g", outval(res, "var_age"), ss / 8);
        CHECK(json_number_value(json_object_get(group_cell(res, "n_by_sex", 0), "value")) == 5);
        CHECK(json_number_value(json_object_get(group_cell(res, "n_by_sex", 1), "value")) == 4);
        CHECK(json_number_value(json_object_get(group_cell(res, "n_by_sex", 2), "value")) == 0);
        CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(group_cell(res, "n_by_sex", 1), "key"), "sex")), "M");
        /* stays: smokers 4,1,20,1,1 = 27/5; non-smokers 1,10,4,30 = 45/4 */
        CHECK(fabs(json_number_value(json_object_get(group_cell(res, "stay", 0), "value")) - 27.0 / 5) < 1e-12);
        CHECK(fabs(json_number_value(json_object_get(group_cell(res, "stay", 1), "value")) - 45.0 / 4) < 1e-12);
        const json_t *bins = json_object_get(json_object_get(json_object_get(res, "outputs"), "age_hist"), "bins");
        CHECK(json_array_size(bins) == 3);
        CHECK(json_number_value(json_object_get(json_array_get(bins, 0), "count")) == 3);
        CHECK(json_number_value(json_object_get(json_array_get(bins, 1), "count")) == 3);
        CHECK(json_number_value(json_object_get(json_array_get(bins, 2), "count")) == 3);
        bins = json_object_get(json_object_get(json_object_get(res, "outputs"), "sex_hist"), "bins");
        CHECK(json_number_value(json_object_get(json_array_get(bins, 0), "count")) == 4);
        CHECK(json_number_value(json_object_get(group_cell(res, "band", 0), "value")) == 3);
        CHECK(json_number_value(json_object_get(group_cell(res, "band", 1), "value")) == 4);
        CHECK(json_number_value(json_object_get(group_cell(res, "band", 2), "value")) == 2);
        const json_t *qs = json_object_get(json_object_get(json_object_get(res, "outputs"), "q_age"), "quantiles");
        /* sorted: 30 30 30 45 50 55 62 70 80; q=0.9 -> pos 7.2 -> 70 + .2*10 */
        CHECK(json_number_value(json_object_get(json_array_get(qs, 0), "value")) == 30);
        CHECK(json_number_value(json_object_get(json_array_get(qs, 1), "value")) == 50);
        CHECK(fabs(json_number_value(json_object_get(json_array_get(qs, 2), "value")) - 72) < 1e-12);
        CHECK(json_number_value(json_object_get(json_array_get(qs, 3), "value")) == 80);
        CHECK_EQ_STR(json_string_value(json_object_get(res, "mode")), "test");
    }
    json_decref(res);
    sr_plan_free(p);
}

static void test_filters(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    const char *outs = "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"}]";
    static const struct { const char *filter; double want; } cases[] = {
        {"{\"op\": \">=\", \"args\": [{\"col\": \"age\"}, 50]}", 5},
        {"{\"op\": \"and\", \"args\": [{\"op\": \"==\", \"args\": [{\"col\": \"sex\"}, \"F\"]}, {\"op\": \"not\", \"args\": [{\"col\": \"smoker\"}]}]}", 2},
        {"{\"op\": \"or\", \"args\": [{\"op\": \"<\", \"args\": [{\"col\": \"egfr\"}, 30]}, {\"op\": \"is_null\", \"args\": [{\"col\": \"egfr\"}]}]}", 2},
        {"{\"op\": \"in\", \"args\": [{\"col\": \"pid\"}], \"values\": [\"p1\", \"p9\", \"zz\"]}", 4},
        {"{\"op\": \">\", \"args\": [{\"col\": \"egfr\"}, 50]}", 5}, /* NULL is not > 50 */
        {"{\"op\": \"not\", \"args\": [{\"op\": \">\", \"args\": [{\"col\": \"egfr\"}, 50]}]}", 3},
        {"{\"op\": \">=\", \"args\": [{\"col\": \"admit\"}, \"2024-03-01\"]}", 5},
        {"{\"op\": \"==\", \"args\": [{\"op\": \"*\", \"args\": [{\"col\": \"age\"}, 2]}, 60]}", 3},
        {"{\"op\": \"!=\", \"args\": [{\"col\": \"sex\"}, \"F\"]}", 4},
        {"{\"op\": \"in\", \"args\": [{\"col\": \"age\"}], \"values\": [30, 80]}", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char an[1024];
        snprintf(an, sizeof an, "{\"sources\": {\"union\": [\"a\", \"b\"]}, \"filter\": %s}",
                 cases[i].filter);
        p = NULL;
        CHECK_OK(plan_of(an, outs, PNONE, &p, &err), &err);
        if (p == NULL)
            continue;
        json_t *res = run_csv(p, NULL, &err);
        CHECK_MSG(res && outval(res, "n") == cases[i].want, "filter %zu: got %g want %g (%s)", i,
                  res ? outval(res, "n") : -1, cases[i].want, err.msg);
        json_decref(res);
        sr_plan_free(p);
    }
}

/* Each case must be rejected with a message containing `needle`. */
static void test_validation(void)
{
    static const struct { const char *an, *outs, *priv, *needle; } cases[] = {
        {NULL, "[{\"name\": \"s\", \"type\": \"sum\", \"column\": \"age\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5}}]",
         "{\"epsilon\": 1, \"person_id\": \"pid\"}", "unbounded sum"},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.7}},"
               " {\"name\": \"d\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.7}}]",
         "{\"epsilon\": 1, \"person_id\": \"pid\"}", "budget exceeded"},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"gaussian\", \"rho\": 0.1}}]",
         "{\"epsilon\": 5, \"person_id\": \"pid\"}", "delta"},
        {NULL, "[{\"name\": \"c\", \"type\": \"mean\", \"column\": \"weight\", \"privacy\": \"none\"}]", NULL, "unknown column \"weight\""},
        {NULL, "[{\"name\": \"c\", \"type\": \"mean\", \"column\": \"sex\", \"privacy\": \"none\"}]", NULL, "type mismatch"},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\"}]", NULL, "declares no privacy treatment"},
        {NULL, "[{\"name\": \"c\", \"type\": \"median\", \"column\": \"age\", \"privacy\": \"none\"}]", NULL, "unknown output type \"median\""},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\", \"extra\": 1}]", NULL, "unknown field \"extra\""},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"group_by\": [{\"column\": \"sex\"}], \"privacy\": \"none\"}]", NULL, "declared \"domain\""},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5}}]",
         "{\"epsilon\": 1}", "person_id is required"},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\"}, {\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\"}]", NULL, "repeats"},
        {"{\"sources\": {\"union\": [\"a\", \"zed\"]}}", "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\"}]", NULL, "owner \"zed\""},
        {"{\"sources\": {\"union\": [\"a\"]}, \"filter\": {\"op\": \"+\", \"args\": [{\"col\": \"age\"}, 1]}}", "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\"}]", NULL, "must be bool"},
        {"{\"sources\": {\"union\": [\"a\"]}, \"filter\": {\"op\": \"<\", \"args\": [{\"col\": \"sex\"}, 3]}}", "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\"}]", NULL, "type mismatch"},
        {"{\"sources\": {\"union\": [\"a\"]}, \"filter\": {\"op\": \"like\", \"args\": []}}", "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": \"none\"}]", NULL, "unknown operator"},
        {NULL, "[{\"name\": \"q\", \"type\": \"quantiles\", \"column\": \"age\", \"quantiles\": [0.5], \"privacy\": {\"mechanism\": \"exponential\", \"epsilon\": 0.5, \"clamp\": [0, 100]}}]",
         "{\"epsilon\": 1, \"person_id\": \"pid\"}", "grid"},
        {NULL, "[{\"name\": \"c\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5}}]",
         "{\"epsilon\": 1, \"person_id\": \"pid\", \"mystery\": 2}", "unknown field \"mystery\""},
        {NULL, "[{\"name\": \"lr\", \"type\": \"logistic_regression\", \"features\": [\"age\"], \"label\": \"smoker\", \"l2\": 1, \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5}}]",
         "{\"epsilon\": 1, \"person_id\": \"pid\"}", "missing \"clip\""},
        {NULL, "[{\"name\": \"lr\", \"type\": \"logistic_regression\", \"features\": [\"age\"], \"label\": \"smoker\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5, \"clip\": 2}}]",
         "{\"epsilon\": 1, \"person_id\": \"pid\"}", "needs \"l2\" > 0"},
        {NULL, "[{\"name\": \"lr\", \"type\": \"linear_regression\", \"features\": [\"sex\"], \"label\": \"age\", \"privacy\": \"none\"}]", NULL, "type mismatch"},
        {NULL, "[{\"name\": \"km\", \"type\": \"kaplan_meier\", \"time\": \"age\", \"event\": \"smoker\", \"times\": [5, 3], \"privacy\": \"none\"}]", NULL, "ascending"},
        {NULL, "[{\"name\": \"km\", \"type\": \"count\", \"times\": [5], \"privacy\": \"none\"}]", NULL, "does not apply to a count"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sr_error err = {0};
        sr_plan *p = NULL;
        int rc = plan_of(cases[i].an ? cases[i].an : UNION2, cases[i].outs,
                         cases[i].priv ? cases[i].priv : PNONE, &p, &err);
        CHECK_MSG(rc != SR_OK && rc != -1 && p == NULL, "case %zu accepted", i);
        CHECK_MSG(strstr(err.msg, cases[i].needle) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  err.msg, cases[i].needle);
        sr_plan_free(p);
    }
}

static void test_bounding_and_suppression(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    /* p1 has 3 rows; max 2 rows per person -> 8 rows counted */
    const char *outs = "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"},"
                       " {\"name\": \"g\", \"type\": \"count\", \"group_by\": [{\"column\": \"sex\", \"domain\": [\"F\", \"M\"]}], \"privacy\": \"none\"}]";
    CHECK_OK(plan_of(UNION2, outs, "{\"epsilon\": 0, \"person_id\": \"pid\", \"max_rows_per_person\": 2, \"min_group_size\": 5}", &p, &err), &err);
    if (p == NULL)
        return;
    json_t *res = run_csv(p, NULL, &err);
    CHECK_MSG(res != NULL, "%s", err.msg);
    if (res) {
        CHECK(outval(res, "n") == 8);
        /* F: 4 rows after bounding (p1 x2, p3, p5) -> suppressed at 5; M: 4 -> suppressed */
        CHECK(json_is_true(json_object_get(group_cell(res, "g", 0), "suppressed")));
        CHECK(json_object_get(group_cell(res, "g", 0), "value") == NULL);
        CHECK(json_is_true(json_object_get(group_cell(res, "g", 1), "suppressed")));
    }
    json_decref(res);
    sr_plan_free(p);
}

static void test_contract(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    const char *outs = "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"},"
                       " {\"name\": \"g\", \"type\": \"mean\", \"column\": \"age\", \"group_by\": [{\"column\": \"sex\", \"domain\": [\"F\", \"M\"]}], \"privacy\": \"none\"}]";
    CHECK_OK(plan_of(UNION2, outs, PNONE, &p, &err), &err);
    if (p == NULL)
        return;
    json_t *res = run_csv(p, NULL, &err);
    CHECK(res != NULL);
    if (res) {
        CHECK_OK(sr_engine_check_result(p, res, &err), &err);
        json_t *outs_j = json_object_get(res, "outputs");
        json_t *t = json_deep_copy(res);
        json_object_set_new(json_object_get(t, "outputs"), "secret", json_integer(1));
        CHECK(sr_engine_check_result(p, t, &err) == SR_EVERIFY);
        CHECK_CONTAINS(err.msg, "not declared");
        json_decref(t);
        t = json_deep_copy(res);
        json_object_del(json_object_get(t, "outputs"), "n");
        CHECK(sr_engine_check_result(p, t, &err) == SR_EVERIFY);
        json_decref(t);
        t = json_deep_copy(res);
        json_array_append_new(json_object_get(json_object_get(json_object_get(t, "outputs"), "g"), "groups"), json_object());
        CHECK(sr_engine_check_result(p, t, &err) == SR_EVERIFY);
        json_decref(t);
        t = json_deep_copy(res);
        json_object_set_new(json_object_get(json_object_get(t, "outputs"), "n"), "rows", json_integer(9));
        CHECK(sr_engine_check_result(p, t, &err) == SR_EVERIFY);
        json_decref(t);
        t = json_deep_copy(res);
        json_object_set_new(json_object_get(json_object_get(t, "outputs"), "n"), "type", json_string("sum"));
        CHECK(sr_engine_check_result(p, t, &err) == SR_EVERIFY);
        json_decref(t);
        (void)outs_j;
    }
    json_decref(res);
    sr_plan_free(p);
}

/* ---- DP error over 2000 runs, on an in-memory batch ------------------------ */

typedef struct memsrc {
    sr_batch *b;
    int done;
} memsrc;

static int mem_next(void *ctx, const sr_batch **b, sr_error *err)
{
    (void)err;
    memsrc *m = ctx;
    static sr_batch empty = {0, 0, NULL};
    *b = m->done ? &empty : m->b;
    m->done = 1;
    return SR_OK;
}

static void test_dp_error_matches_scale(void)
{
    sr_error err = {0};
    sr_schema s = {0};
    s.ncols = 2;
    snprintf(s.cols[0].name, SR_MAX_NAME, "pid");
    s.cols[0].type = SR_TYPE_INT64;
    snprintf(s.cols[1].name, SR_MAX_NAME, "x");
    s.cols[1].type = SR_TYPE_FLOAT64;
    sr_batch b;
    const size_t n = 1000;
    CHECK_OK(sr_batch_init(&b, &s, n, 0, &err), &err);
    double truesum = 0;
    for (size_t i = 0; i < n; i++) {
        double x = (double)(i % 100) * 0.37; /* in [0, 36.63] */
        sr_chunk_append_i64(&b.cols[0], (int64_t)i, &err);
        sr_chunk_append_f64(&b.cols[1], x, &err);
        truesum += x;
    }
    b.nrows = n;
    double truemean = truesum / (double)n;
    sr_engine_dataset ds = {"o", &s};
    json_t *r = json_loads(
        "{\"analysis\": {\"sources\": {\"union\": [\"o\"]}},"
        " \"outputs\": ["
        "  {\"name\": \"c\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5}},"
        "  {\"name\": \"s\", \"type\": \"sum\", \"column\": \"x\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5, \"clamp\": [0, 40]}},"
        "  {\"name\": \"m\", \"type\": \"mean\", \"column\": \"x\", \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.5, \"clamp\": [0, 40]}},"
        "  {\"name\": \"g\", \"type\": \"count\", \"privacy\": {\"mechanism\": \"gaussian\", \"rho\": 0.02}},"
        "  {\"name\": \"h\", \"type\": \"histogram\", \"column\": \"x\", \"bins\": [0, 10, 20, 40], \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 0.25}},"
        "  {\"name\": \"gs\", \"type\": \"sum\", \"column\": \"x\", \"privacy\": {\"mechanism\": \"gaussian\", \"rho\": 0.05, \"clamp\": [0, 40]}}],"
        " \"privacy\": {\"epsilon\": 8, \"delta\": 1e-6, \"person_id\": \"pid\"}}", 0, NULL);
    sr_plan *p = NULL;
    CHECK_OK(sr_plan_new(r, &ds, 1, &p, &err), &err);
    json_decref(r);
    if (p == NULL) {
        sr_batch_free(&b);
        return;
    }
    sr_rng *rng = sr_rng_new_seed_u64(2024, &err);
    const int runs = 2000;
    double se_c = 0, se_s = 0, se_m = 0, se_g = 0, se_h = 0, se_gs = 0;
    double hist_true[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        double xv = (double)(i % 100) * 0.37;
        hist_true[xv < 10 ? 0 : xv < 20 ? 1 : 2]++;
    }
    double sc_c = 0, sc_s = 0, sc_g = 0;
    for (int k = 0; k < runs; k++) {
        memsrc m = {&b, 0};
        sr_engine_source src = {"o", mem_next, &m, 0, NULL};
        sr_engine_opts o = {rng, "test", 1, NULL, 0};
        json_t *res = NULL;
        if (sr_engine_run(p, &src, 1, &o, &res, &err) != SR_OK) {
            CHECK_MSG(0, "%s", err.msg);
            break;
        }
        const json_t *outs = json_object_get(res, "outputs");
        double c = outval(res, "c"), sm = outval(res, "s"), mn = outval(res, "m"), g = outval(res, "g");
        se_c += (c - (double)n) * (c - (double)n);
        se_s += (sm - truesum) * (sm - truesum);
        se_m += (mn - truemean) * (mn - truemean);
        se_g += (g - (double)n) * (g - (double)n);
        const json_t *bins = json_object_get(json_object_get(outs, "h"), "bins");
        for (size_t bi = 0; bi < 3; bi++) {
            double hc = json_number_value(json_object_get(json_array_get(bins, bi), "count"));
            se_h += (hc - hist_true[bi]) * (hc - hist_true[bi]);
        }
        double gsv = outval(res, "gs");
        se_gs += (gsv - truesum) * (gsv - truesum);
        sc_c = json_number_value(json_object_get(json_object_get(json_object_get(outs, "c"), "noise"), "count_scale"));
        sc_s = json_number_value(json_object_get(json_object_get(json_object_get(outs, "s"), "noise"), "sum_scale"));
        sc_g = json_number_value(json_object_get(json_object_get(json_object_get(outs, "g"), "noise"), "count_scale"));
        json_decref(res);
    }
    /* theory: count, Laplace b = 1/0.5 = 2 -> sd of the discrete Laplace */
    CHECK(fabs(sc_c - 2) < 1e-12);
    double sd_c = sqrt(sr_dp_discrete_laplace_var(2));
    double emp_c = sqrt(se_c / runs);
    CHECK_MSG(fabs(emp_c / sd_c - 1) < 0.10, "count: empirical %g vs theory %g", emp_c, sd_c);
    /* sum: b = 40 / 0.5 = 80 (resolution 2^-15 units, continuous limit) */
    CHECK_MSG(fabs(sc_s - 80) < 1e-6, "sum scale %g", sc_s);
    double sd_s = sqrt(2) * 80, emp_s = sqrt(se_s / runs);
    CHECK_MSG(fabs(emp_s / sd_s - 1) < 0.10, "sum: empirical %g vs theory %g", emp_s, sd_s);
    /* mean: count b = 1/0.25 = 4, centred sum b = 20/0.25 = 80; delta method */
    double cs = truesum - 20.0 * (double)n; /* centred sum */
    double var_m = (2 * 80.0 * 80.0 + (cs / n) * (cs / n) * sr_dp_discrete_laplace_var(4)) / ((double)n * n);
    double emp_m = sqrt(se_m / runs);
    CHECK_MSG(fabs(emp_m / sqrt(var_m) - 1) < 0.10, "mean: empirical %g vs theory %g", emp_m, sqrt(var_m));
    /* gaussian count: sigma^2 = 1 / (2 * 0.02) = 25 */
    CHECK_MSG(fabs(sc_g - 5) < 1e-9, "gauss sigma %g", sc_g);
    double emp_g = sqrt(se_g / runs);
    CHECK_MSG(fabs(emp_g / 5 - 1) < 0.10, "gaussian count: empirical %g vs theory 5", emp_g);
    /* histogram bins: Laplace b = 1/0.25 = 4 each */
    double emp_h = sqrt(se_h / (3.0 * runs)), sd_h = sqrt(sr_dp_discrete_laplace_var(4));
    CHECK_MSG(fabs(emp_h / sd_h - 1) < 0.10, "histogram: empirical %g vs theory %g", emp_h, sd_h);
    /* gaussian sum: sigma = 40 / sqrt(2 * 0.05) */
    double sd_gs = 40 / sqrt(0.1), emp_gs = sqrt(se_gs / runs);
    CHECK_MSG(fabs(emp_gs / sd_gs - 1) < 0.10, "gaussian sum: empirical %g vs theory %g", emp_gs, sd_gs);
    /* spent: pure 1.5 + rho 0.02 -> (eps, delta) via zCDP */
    double be, bd, spe, spd;
    sr_plan_privacy(p, &be, &bd, &spe, &spd);
    double split = 1.75 + sr_dp_epsilon_of_rho(0.07, 1e-6);
    CHECK(split < sr_dp_epsilon_of_rho(3 * 0.125 + 0.25 * 0.25 / 2 + 0.07, 1e-6));
    CHECK_MSG(fabs(spe - split) < 1e-12 && spd == 1e-6 && spe <= be, "%g vs %g", spe, split);
    sr_rng_free(rng);
    sr_plan_free(p);
    sr_batch_free(&b);
}

/* The exponential mechanism for quantiles draws exactly from its
 * distribution: values 0,1,1,2,2,2,3,3,4,4 on the grid 0..4, median,
 * epsilon 1, m 1: P[g_i] is proportional to exp(-(|L_i - 5| - 1) / 2) with
 * L = (0, 1, 3, 6, 8). Chi-square over 20000 runs. */
static void test_em_distribution(void)
{
    sr_error err = {0};
    sr_schema s = {0};
    s.ncols = 2;
    snprintf(s.cols[0].name, SR_MAX_NAME, "pid");
    s.cols[0].type = SR_TYPE_INT64;
    snprintf(s.cols[1].name, SR_MAX_NAME, "x");
    s.cols[1].type = SR_TYPE_FLOAT64;
    sr_batch b;
    static const double xs[10] = {0, 1, 1, 2, 2, 2, 3, 3, 4, 4};
    CHECK_OK(sr_batch_init(&b, &s, 10, 0, &err), &err);
    for (int i = 0; i < 10; i++) {
        sr_chunk_append_i64(&b.cols[0], i, &err);
        sr_chunk_append_f64(&b.cols[1], xs[i], &err);
    }
    b.nrows = 10;
    sr_engine_dataset ds = {"o", &s};
    json_t *r = json_loads(
        "{\"analysis\": {\"sources\": {\"union\": [\"o\"]}},"
        " \"outputs\": [{\"name\": \"q\", \"type\": \"quantiles\", \"column\": \"x\", \"quantiles\": [0.5],"
        "   \"privacy\": {\"mechanism\": \"exponential\", \"epsilon\": 1, \"clamp\": [0, 4], \"grid\": 1}}],"
        " \"privacy\": {\"epsilon\": 1, \"person_id\": \"pid\"}}", 0, NULL);
    sr_plan *p = NULL;
    CHECK_OK(sr_plan_new(r, &ds, 1, &p, &err), &err);
    json_decref(r);
    if (p == NULL) {
        sr_batch_free(&b);
        return;
    }
    sr_rng *rng = sr_rng_new_seed_u64(77, &err);
    const int runs = 20000;
    double hits[5] = {0};
    for (int k = 0; k < runs; k++) {
        memsrc m = {&b, 0};
        sr_engine_source src = {"o", mem_next, &m, 0, NULL};
        sr_engine_opts o = {rng, "test", 1, NULL, 0};
        json_t *res = NULL;
        if (sr_engine_run(p, &src, 1, &o, &res, &err) != SR_OK) {
            CHECK_MSG(0, "%s", err.msg);
            break;
        }
        double v = json_number_value(json_object_get(json_array_get(json_object_get(
            json_object_get(json_object_get(res, "outputs"), "q"), "quantiles"), 0), "value"));
        if (v >= 0 && v <= 4 && v == floor(v))
            hits[(int)v]++;
        json_decref(res);
    }
    static const double gam[5] = {2, 1.5, 0.5, 0, 1};
    double z = 0, chi = 0;
    for (int i = 0; i < 5; i++)
        z += exp(-gam[i]);
    for (int i = 0; i < 5; i++) {
        double e = runs * exp(-gam[i]) / z;
        chi += (hits[i] - e) * (hits[i] - e) / e;
    }
    /* 4 degrees of freedom: P[chi2 > 23.5] = 1e-4 */
    CHECK_MSG(chi < 23.5, "exponential mechanism chi2 %g (%g %g %g %g %g)", chi, hits[0], hits[1],
              hits[2], hits[3], hits[4]);
    sr_rng_free(rng);
    sr_plan_free(p);
    sr_batch_free(&b);
}

static void test_dp_quantile_and_seeded(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    const char *outs = "[{\"name\": \"q\", \"type\": \"quantiles\", \"column\": \"age\", \"quantiles\": [0.5], \"privacy\": {\"mechanism\": \"exponential\", \"epsilon\": 5, \"clamp\": [0, 100], \"grid\": 1}},"
                       " {\"name\": \"h\", \"type\": \"histogram\", \"column\": \"age\", \"bins\": [0, 50, 100], \"privacy\": {\"mechanism\": \"laplace\", \"epsilon\": 1}}]";
    CHECK_OK(plan_of(UNION2, outs, "{\"epsilon\": 6, \"person_id\": \"pid\", \"max_rows_per_person\": 3}", &p, &err), &err);
    if (p == NULL)
        return;
    sr_rng *r1 = sr_rng_new_seed_u64(5, &err), *r2 = sr_rng_new_seed_u64(5, &err);
    json_t *a = run_csv(p, r1, &err), *b = run_csv(p, r2, &err);
    CHECK_MSG(a && b, "%s", err.msg);
    if (a && b) {
        CHECK(json_equal(a, b)); /* same seed, same result */
        double med = json_number_value(json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(a, "outputs"), "q"), "quantiles"), 0), "value"));
        CHECK(med >= 0 && med <= 100 && med == floor(med));
    }
    /* no random source for a noised recipe is an error */
    json_t *c = run_csv(p, NULL, &err);
    CHECK(c == NULL);
    CHECK_CONTAINS(err.msg, "random source");
    json_decref(a);
    json_decref(b);
    sr_rng_free(r1);
    sr_rng_free(r2);
    sr_plan_free(p);
}

/* A malformed row deep in a file fails the run (reader thread) with the
 * CSV reader's message, and so does a source whose schema types differ. */
static void test_read_errors(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    FILE *f = fopen("bad.csv", "w");
    fputs("pid,sex,age,egfr,admit,discharge,smoker\n", f);
    for (int i = 0; i < 10; i++)
        fputs("p1,F,30,90.5,2024-01-01,2024-01-05,true\n", f);
    fputs("p2,M,4x5,60,2024-01-02,2024-01-03,false\n", f);
    fclose(f);
    CHECK_OK(plan_of("{\"sources\": {\"union\": [\"a\"]}}",
                     "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"}]", PNONE, &p, &err), &err);
    if (p == NULL)
        return;
    for (unsigned threads = 1; threads <= 2; threads++) {
        sr_engine_csv *c = NULL;
        sr_engine_source src;
        json_t *res = NULL;
        CHECK_OK(sr_engine_csv_open("bad.csv", &SCHEMA, 2, &c, &err), &err);
        if (c == NULL)
            break;
        sr_engine_csv_source(c, "a", &src);
        sr_engine_opts o = {NULL, "test", threads, NULL, 0};
        CHECK(sr_engine_run(p, &src, 1, &o, &res, &err) == SR_EFORMAT);
        CHECK(res == NULL);
        CHECK_CONTAINS(err.msg, "reading a's data");
        CHECK_CONTAINS(err.msg, "line 12");
        sr_engine_csv_close(c);
    }
    sr_plan_free(p);
}

/* Vertical join: left a.csv (7 columns) with a lab table on pid; unique
 * right keys, inner join semantics, NULL keys never join, repeated right
 * keys rejected, column masks per side. */
static void test_join(void)
{
    sr_error err = {0};
    sr_schema lab = {0};
    lab.ncols = 2;
    snprintf(lab.cols[0].name, SR_MAX_NAME, "pid");
    lab.cols[0].type = SR_TYPE_STRING;
    snprintf(lab.cols[1].name, SR_MAX_NAME, "hba1c");
    lab.cols[1].type = SR_TYPE_FLOAT64;
    FILE *f = fopen("lab.csv", "w");
    fputs("pid,hba1c\np2,6.5\np1,7.0\np5,5.5\np7,9.9\n,8.0\np6,\n", f);
    fclose(f);
    f = fopen("lab_dup.csv", "w");
    fputs("pid,hba1c\np2,6.5\np2,7.0\n", f);
    fclose(f);
    sr_engine_dataset ds[2] = {{"a", &SCHEMA}, {"lab", &lab}};
    json_t *r = recipe("{\"sources\": {\"join\": {\"left\": \"a\", \"right\": \"lab\", \"on\": \"pid\"}}}",
                       "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"},"
                       " {\"name\": \"m\", \"type\": \"mean\", \"column\": \"hba1c\", \"group_by\": [{\"column\": \"sex\", \"domain\": [\"F\", \"M\"]}], \"privacy\": \"none\"}]",
                       PNONE);
    sr_plan *p = NULL;
    CHECK_OK(sr_plan_new(r, ds, 2, &p, &err), &err);
    if (p != NULL) {
        uint8_t ml[7], mr[2];
        CHECK_OK(sr_plan_columns_used(p, "a", ml, 7, &err), &err);
        CHECK(ml[0] == 1 && ml[1] == 1 && ml[2] == 0 && ml[3] == 0);
        CHECK_OK(sr_plan_columns_used(p, "lab", mr, 2, &err), &err);
        CHECK(mr[0] == 1 && mr[1] == 1);
        const char *files[2] = {"lab.csv", "lab_dup.csv"};
        for (int k = 0; k < 2; k++) {
            sr_engine_csv *ca = NULL, *cl = NULL;
            sr_engine_source src[2];
            json_t *res = NULL;
            CHECK_OK(sr_engine_csv_open("a.csv", &SCHEMA, 2, &ca, &err), &err);
            CHECK_OK(sr_engine_csv_open(files[k], &lab, 2, &cl, &err), &err);
            if (ca && cl) {
                sr_engine_csv_source(cl, "lab", &src[0]);
                sr_engine_csv_source(ca, "a", &src[1]);
                sr_engine_opts o = {NULL, "test", 2, NULL, 0};
                int rc = sr_engine_run(p, src, 2, &o, &res, &err);
                if (k == 0) {
                    CHECK_OK(rc, &err);
                    /* a.csv rows p1 x3 (F), p2 (M), p5 (F), p6 (M); lab: p1 7.0, p2 6.5, p5 5.5, p6 NULL */
                    CHECK(res && outval(res, "n") == 6);
                    CHECK(res && fabs(json_number_value(json_object_get(group_cell(res, "m", 0), "value")) - (7.0 * 3 + 5.5) / 4) < 1e-12);
                    CHECK(res && fabs(json_number_value(json_object_get(group_cell(res, "m", 1), "value")) - 6.5) < 1e-12);
                    CHECK(res && sr_engine_check_result(p, res, &err) == SR_OK);
                } else {
                    CHECK(rc == SR_EFORMAT);
                    CHECK_CONTAINS(err.msg, "repeated key");
                }
            }
            json_decref(res);
            sr_engine_csv_close(ca);
            sr_engine_csv_close(cl);
        }
    }
    sr_plan_free(p);
    json_decref(r);
    /* a column on both sides (other than the key) is rejected */
    r = recipe("{\"sources\": {\"join\": {\"left\": \"a\", \"right\": \"b\", \"on\": \"pid\"}}}",
               "[{\"name\": \"n\", \"type\": \"count\", \"privacy\": \"none\"}]", PNONE);
    sr_engine_dataset ds2[2] = {{"a", &SCHEMA}, {"b", &SCHEMA}};
    p = NULL;
    CHECK(sr_plan_new(r, ds2, 2, &p, &err) == SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "exists on both sides");
    json_decref(r);
}

/* A batch whose string column is entirely NULL (an empty dictionary) must
 * not be indexed by its codes: comparisons give NULL, rows are filtered. */
static void test_all_null_strings(void)
{
    sr_error err = {0};
    FILE *f = fopen("nulls.csv", "w");
    fputs("pid,sex,age,egfr,admit,discharge,smoker\n"
          ",,30,1,2024-01-01,2024-01-02,true\n,,31,2,2024-01-01,2024-01-02,true\n"
          "p3,F,32,3,2024-01-01,2024-01-02,true\np4,M,33,4,2024-01-01,2024-01-02,false\n", f);
    fclose(f);
    static const char *filters[] = {
        "{\"op\": \"==\", \"args\": [{\"col\": \"sex\"}, \"F\"]}",
        "{\"op\": \"!=\", \"args\": [{\"col\": \"sex\"}, {\"col\": \"pid\"}]}",
        "{\"op\": \"in\", \"args\": [{\"col\": \"sex\"}], \"values\": [\"M\"]}"};
    static const double want[] = {1, 2, 1};
    for (int k = 0; k < 3; k++) {
        char an[512];
        snprintf(an, sizeof an, "{\"sources\": {\"union\": [\"a\"]}, \"filter\": %s}", filters[k]);
        sr_plan *p = NULL;
        CHECK_OK(plan_of(an, "[{\"name\": \"n\", \"type\": \"count\", \"group_by\": [{\"column\": \"sex\", \"domain\": [\"F\", \"M\"]}], \"privacy\": \"none\"},"
                             " {\"name\": \"t\", \"type\": \"count\", \"privacy\": \"none\"}]", PNONE, &p, &err), &err);
        if (p == NULL)
            continue;
        sr_engine_csv *c = NULL;
        sr_engine_source src;
        json_t *res = NULL;
        CHECK_OK(sr_engine_csv_open("nulls.csv", &SCHEMA, 2, &c, &err), &err);
        if (c) {
            sr_engine_csv_source(c, "a", &src);
            sr_engine_opts o = {NULL, "test", 1, NULL, 0};
            CHECK_OK(sr_engine_run(p, &src, 1, &o, &res, &err), &err);
            CHECK_MSG(res && outval(res, "t") == want[k], "filter %d: %g", k, res ? outval(res, "t") : -1);
        }
        json_decref(res);
        sr_engine_csv_close(c);
        sr_plan_free(p);
    }
}

static void test_columns_used(void)
{
    sr_error err = {0};
    sr_plan *p = NULL;
    const char *an = "{\"sources\": {\"union\": [\"a\", \"b\"]}, \"filter\": {\"op\": \">\", \"args\": [{\"col\": \"stay\"}, 2]},"
                     " \"derive\": [{\"name\": \"stay\", \"expr\": {\"op\": \"date_diff\", \"args\": [{\"col\": \"discharge\"}, {\"col\": \"admit\"}]}}]}";
    CHECK_OK(plan_of(an, "[{\"name\": \"n\", \"type\": \"mean\", \"column\": \"age\", \"privacy\": \"none\"}]", PNONE, &p, &err), &err);
    if (p == NULL)
        return;
    uint8_t mask[7];
    CHECK_OK(sr_plan_columns_used(p, "a", mask, 7, &err), &err);
    CHECK(mask[0] == 0 && mask[1] == 0 && mask[2] == 1 && mask[3] == 0 && mask[4] == 1 && mask[5] == 1 && mask[6] == 0);
    CHECK(sr_plan_columns_used(p, "nobody", mask, 7, &err) == SR_ENOTFOUND);
    CHECK(sr_plan_source_count(p) == 2);
    CHECK_EQ_STR(sr_plan_output_name(p, 0), "n");
    sr_plan_free(p);
}

int main(void)
{
    setup_schema();
    SR_RUN(test_exact_aggregates);
    SR_RUN(test_filters);
    SR_RUN(test_validation);
    SR_RUN(test_bounding_and_suppression);
    SR_RUN(test_contract);
    SR_RUN(test_columns_used);
    SR_RUN(test_read_errors);
    SR_RUN(test_join);
    SR_RUN(test_all_null_strings);
    SR_RUN(test_dp_quantile_and_seeded);
    SR_RUN(test_em_distribution);
    SR_RUN(test_dp_error_matches_scale);
    return sr_test_finish();
}

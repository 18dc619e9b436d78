/* Unit tests of the models (src/engine/model_*.c): hand-computed
 * Kaplan–Meier, exact linear fits, logistic optimality conditions,
 * invariance to threads and block sizes, error paths, and the DP variants'
 * noise against the scales derived in docs/MODELS.md. Oracle comparisons
 * with sklearn / statsmodels / R are in tests/interop/engine/test_model_*. */
#include "test.h"

#include <math.h>
#include <stdlib.h>

#include "sealroom/dp.h"
#include "sealroom/models.h"

static double urand(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static double nrand(uint64_t *s)
{
    double u = urand(s), v = urand(s);
    return sqrt(-2 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* synthetic logistic data: p features, n rows */
typedef struct ds {
    size_t n, p;
    double *cols[8];
    double *y;
} ds;

static void ds_make(ds *d, size_t n, size_t p, uint64_t seed)
{
    d->n = n;
    d->p = p;
    for (size_t j = 0; j < p; j++)
        d->cols[j] = malloc(n * sizeof(double));
    d->y = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double eta = 0.3;
        for (size_t j = 0; j < p; j++) {
            double x = nrand(&seed) * (1.0 + (double)j);
            d->cols[j][i] = x;
            eta += (j % 2 ? -0.4 : 0.7) * x / (1.0 + (double)j);
        }
        d->y[i] = urand(&seed) < 1 / (1 + exp(-eta)) ? 1.0 : 0.0;
    }
}

static void ds_free(ds *d)
{
    for (size_t j = 0; j < d->p; j++)
        free(d->cols[j]);
    free(d->y);
}

static void test_logreg_optimality_and_invariance(void)
{
    sr_error err;
    ds d;
    ds_make(&d, 3000, 4, 42);
    sr_model_array arr;
    sr_model_data data;
    sr_model_fit f1, f2;
    CHECK_OK(sr_model_data_from_array(&data, &arr, (const double *const *)d.cols, d.y, d.n, d.p,
                                      1000, &err), &err);
    sr_logreg_opts o = {.l2 = 2.5, .intercept = 1, .threads = 1};
    CHECK_OK(sr_logreg_fit(&data, &o, &f1, &err), &err);
    CHECK(f1.n == 3000);
    /* gradient of the objective vanishes at the solution */
    double g[5] = {0};
    for (size_t i = 0; i < d.n; i++) {
        double eta = f1.intercept;
        for (size_t j = 0; j < d.p; j++)
            eta += f1.coef[j] * d.cols[j][i];
        double r = 1 / (1 + exp(-eta)) - d.y[i];
        for (size_t j = 0; j < d.p; j++)
            g[j] += r * d.cols[j][i];
        g[4] += r;
    }
    for (size_t j = 0; j < d.p; j++)
        g[j] += o.l2 * f1.coef[j];
    for (int j = 0; j < 5; j++)
        CHECK_MSG(fabs(g[j]) < 1e-8, "gradient[%d] = %g", j, g[j]);
    /* the true signs are recovered */
    CHECK(f1.coef[0] > 0.4 && f1.coef[1] < -0.05);
    /* 3 threads and other block sizes give the same answer */
    CHECK_OK(sr_model_data_from_array(&data, &arr, (const double *const *)d.cols, d.y, d.n, d.p, 77,
                                      &err), &err);
    o.threads = 3;
    CHECK_OK(sr_logreg_fit(&data, &o, &f2, &err), &err);
    for (size_t j = 0; j < d.p; j++)
        CHECK_MSG(fabs(f1.coef[j] - f2.coef[j]) < 1e-10 * (1 + fabs(f1.coef[j])), "coef %zu", j);
    CHECK(fabs(f1.intercept - f2.intercept) < 1e-10);
    /* 188 blocks: the warm start on a block subsample runs first; same answer */
    CHECK_OK(sr_model_data_from_array(&data, &arr, (const double *const *)d.cols, d.y, d.n, d.p, 16,
                                      &err), &err);
    CHECK(data.nblocks >= 128);
    o.threads = 2;
    CHECK_OK(sr_logreg_fit(&data, &o, &f2, &err), &err);
    for (size_t j = 0; j < d.p; j++)
        CHECK_MSG(fabs(f1.coef[j] - f2.coef[j]) < 1e-10 * (1 + fabs(f1.coef[j])), "warm coef %zu",
                  j);
    CHECK(fabs(f1.intercept - f2.intercept) < 1e-10);
    CHECK(f2.iterations <= f1.iterations);
    /* standardize: penalty on s_j w_j; the gradient condition changes accordingly */
    o.standardize = 1;
    CHECK_OK(sr_logreg_fit(&data, &o, &f2, &err), &err);
    CHECK(fabs(f2.scale[3] - 4.0) < 0.3); /* sd of feature 3 is about 4 */
    CHECK(fabs(f2.coef[3] - f1.coef[3]) > 1e-6);
    ds_free(&d);
}

static void test_logreg_errors(void)
{
    sr_error err;
    double x[6] = {-3, -2, -1, 1, 2, 3}, y[6] = {0, 0, 0, 1, 1, 1};
    const double *cols[1] = {x};
    sr_model_array arr;
    sr_model_data data;
    sr_model_fit f;
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols, y, 6, 1, 0, &err), &err);
    sr_logreg_opts o = {.l2 = 0, .intercept = 1, .max_iter = 30};
    /* separable without penalty: no finite optimum */
    CHECK_EQ_INT(sr_logreg_fit(&data, &o, &f, &err), SR_ESTATE);
    CHECK_CONTAINS(err.msg, "l2");
    o.l2 = 1;
    CHECK_OK(sr_logreg_fit(&data, &o, &f, &err), &err);
    CHECK(f.coef[0] > 0 && fabs(f.intercept) < 1e-9); /* symmetric data */
    y[2] = 2;
    CHECK_EQ_INT(sr_logreg_fit(&data, &o, &f, &err), SR_EINVAL);
    CHECK_CONTAINS(err.msg, "label");
    o.l2 = -1;
    CHECK_EQ_INT(sr_logreg_fit(&data, &o, &f, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_model_data_from_array(&data, &arr, cols, y, 6, SR_MODEL_MAX_FEATURES + 5, 0,
                                          &err), SR_ELIMIT);
    /* the widest array source (Cox: max covariates + event column), last worker */
    const double *wide[SR_MODEL_MAX_FEATURES + 1];
    for (size_t j = 0; j <= SR_MODEL_MAX_FEATURES; j++)
        wide[j] = x;
    CHECK_OK(sr_model_data_from_array(&data, &arr, wide, y, 6, SR_MODEL_MAX_FEATURES + 1, 4, &err),
             &err);
    sr_model_block blk;
    CHECK_OK(data.block(data.ctx, SR_MODEL_MAX_THREADS - 1, 1, &blk, &err), &err);
    CHECK(blk.n == 2 && blk.x[SR_MODEL_MAX_FEATURES] == x + 4 && blk.y == y + 4);
    CHECK_EQ_INT(data.block(data.ctx, SR_MODEL_MAX_THREADS, 0, &blk, &err), SR_EINVAL);
}

static void test_linreg_exact(void)
{
    sr_error err;
    enum { N = 50 };
    double x1[N], x2[N], y[N];
    uint64_t s = 9;
    for (int i = 0; i < N; i++) {
        x1[i] = nrand(&s) + 1000;
        x2[i] = nrand(&s) * 0.01;
        y[i] = 1.5 + 2 * x1[i] - 300 * x2[i];
    }
    const double *cols[2] = {x1, x2};
    sr_model_array arr;
    sr_model_data data;
    sr_model_fit f;
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols, y, N, 2, 7, &err), &err);
    sr_linreg_opts o = {.intercept = 1, .threads = 2};
    CHECK_OK(sr_linreg_fit(&data, &o, &f, &err), &err);
    CHECK_MSG(fabs(f.coef[0] - 2) < 1e-9 && fabs(f.coef[1] + 300) < 1e-7 &&
                  fabs(f.intercept - 1.5) < 1e-6,
              "%.17g %.17g %.17g", f.coef[0], f.coef[1], f.intercept);
    CHECK(f.rss < 1e-12 && fabs(f.r2 - 1) < 1e-12);
    CHECK(f.df_resid == N - 3);
    /* a duplicated (scaled) column is refused */
    double x3[N];
    for (int i = 0; i < N; i++)
        x3[i] = 3 * x1[i];
    const double *cols3[3] = {x1, x2, x3};
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols3, y, N, 3, 0, &err), &err);
    CHECK_EQ_INT(sr_linreg_fit(&data, &o, &f, &err), SR_ESTATE);
    CHECK_CONTAINS(err.msg, "collinear");
}

static void test_km_by_hand(void)
{
    sr_error err;
    sr_km *km = NULL, *km2 = NULL;
    double t[7] = {1, 2, 2, 3, 4, 2, 5};
    uint8_t e[7] = {1, 1, 0, 1, 0, 1, 1};
    uint32_t g[7] = {0, 0, 0, 0, 0, 1, 1};
    CHECK_OK(sr_km_new(&km, 2, &err), &err);
    CHECK_OK(sr_km_new(&km2, 2, &err), &err);
    CHECK_OK(sr_km_add(km, t, e, g, 3, &err), &err);
    CHECK_OK(sr_km_add(km2, t + 3, e + 3, g + 3, 4, &err), &err);
    CHECK_OK(sr_km_merge(km, km2, &err), &err);
    CHECK_OK(sr_km_finish(km, &err), &err);
    CHECK_EQ_INT(sr_km_add(km, t, e, g, 1, &err), SR_ESTATE);
    size_t np;
    const sr_km_point *p = sr_km_curve(km, 0, &np);
    CHECK_EQ_INT(np, 4);
    /* times 1,2,3,4: n 5,4,2,1; d 1,1,1,0 */
    double S[4] = {0.8, 0.6, 0.3, 0.3};
    double V[4] = {1.0 / 20, 1.0 / 20 + 1.0 / 12, 1.0 / 20 + 1.0 / 12 + 1.0 / 2, 0};
    V[3] = V[2];
    for (size_t i = 0; i < 4 && i < np; i++) {
        CHECK(fabs(p[i].surv - S[i]) < 1e-15);
        CHECK(fabs(p[i].se_log - sqrt(V[i])) < 1e-15);
        CHECK(fabs(p[i].se_surv - S[i] * sqrt(V[i])) < 1e-15);
    }
    CHECK(p[1].n_risk == 4 && p[1].n_event == 1 && p[1].n_censor == 1);
    double at[4] = {0.5, 2, 2.5, 100}, sv[4], se[4];
    CHECK_OK(sr_km_at(km, 0, at, 4, sv, se, &err), &err);
    CHECK(sv[0] == 1 && se[0] == 0 && fabs(sv[1] - 0.6) < 1e-15 && fabs(sv[2] - 0.6) < 1e-15 &&
          fabs(sv[3] - 0.3) < 1e-15);
    /* group 1: everyone dies, S reaches 0, the Greenwood sum is infinite */
    p = sr_km_curve(km, 1, &np);
    CHECK_EQ_INT(np, 2);
    CHECK(p[1].surv == 0 && isinf(p[1].se_log));
    sr_km_free(km2);
    CHECK_EQ_INT(sr_km_new(&km2, 0, &err), SR_ELIMIT);
    CHECK(km2 == NULL);
    sr_km_free(km);
}

static void test_km_bins_exact_on_grid(void)
{
    sr_error err;
    /* times on the grid: the binned curve is the exact one */
    uint64_t s = 5;
    enum { N = 400 };
    double t[N];
    uint8_t e[N];
    uint32_t g[N];
    for (int i = 0; i < N; i++) {
        t[i] = (double)(1 + (int)(urand(&s) * 12));
        e[i] = urand(&s) < 0.7;
        g[i] = urand(&s) < 0.4;
    }
    double pts[12];
    for (int k = 0; k < 12; k++)
        pts[k] = k + 1;
    sr_km *km = NULL;
    sr_km_bins *b = NULL;
    CHECK_OK(sr_km_new(&km, 2, &err), &err);
    CHECK_OK(sr_km_add(km, t, e, g, N, &err), &err);
    CHECK_OK(sr_km_finish(km, &err), &err);
    CHECK_OK(sr_km_bins_new(&b, 2, pts, 12, &err), &err);
    CHECK_OK(sr_km_bins_add(b, t, e, g, N, &err), &err);
    sr_km_point out[24];
    CHECK_OK(sr_km_bins_release(b, NULL, out, NULL, &err), &err);
    for (size_t gi = 0; gi < 2; gi++) {
        double sv[12], se[12];
        CHECK_OK(sr_km_at(km, gi, pts, 12, sv, se, &err), &err);
        for (int k = 0; k < 12; k++) {
            CHECK_MSG(fabs(out[gi * 12 + k].surv - sv[k]) < 1e-12, "g%zu k%d %g %g", gi, k,
                      out[gi * 12 + k].surv, sv[k]);
            if (isfinite(se[k]))
                CHECK(fabs(out[gi * 12 + k].se_surv - se[k]) < 1e-12);
        }
    }
    double bad[2] = {3, 3};
    sr_km_bins *b2 = NULL;
    CHECK_EQ_INT(sr_km_bins_new(&b2, 1, bad, 2, &err), SR_EINVAL);
    sr_km_bins_free(b);
    sr_km_free(km);
}

/* Over many releases the noise of each count has the derived variance:
 * discrete Laplace of scale m/epsilon, discrete Gaussian of sigma^2 =
 * m^2/(2 rho). Counts are large so that clamping at 0 never acts. */
static void test_km_dp_noise_scale(void)
{
    sr_error err;
    enum { N = 3000 };
    static double t[N];
    static uint8_t e[N];
    for (int i = 0; i < N; i++) {
        t[i] = (double)(i % 3) + 0.5; /* bins (-inf,1], (1,2], (2,3] */
        e[i] = (i / 3) % 2;
    }
    double pts[3] = {1, 2, 3};
    sr_km_bins *b = NULL;
    CHECK_OK(sr_km_bins_new(&b, 1, pts, 3, &err), &err);
    CHECK_OK(sr_km_bins_add(b, t, e, NULL, N, &err), &err);
    sr_km_point exact[3], out[3];
    CHECK_OK(sr_km_bins_release(b, NULL, exact, NULL, &err), &err);
    CHECK(exact[0].n_risk == N && exact[0].n_event == 500 && exact[2].n_censor == 500);
    sr_rng *rng = sr_rng_new_seed_u64(77, &err);
    CHECK(rng != NULL);
    for (int mech = SR_MODEL_DP_LAPLACE; mech <= SR_MODEL_DP_GAUSSIAN; mech++) {
        sr_model_dp dp = {.mechanism = mech, .epsilon = 0.5, .rho = 0.125, .rows_per_person = 2,
                          .rng = rng};
        enum { RUNS = 4000 };
        double ss = 0, sm = 0, scale = 0;
        size_t cnt = 0;
        for (int r = 0; r < RUNS; r++) {
            CHECK_OK(sr_km_bins_release(b, &dp, out, &scale, &err), &err);
            for (int k = 0; k < 3; k++) {
                double z1 = out[k].n_event - exact[k].n_event;
                double z2 = out[k].n_censor - exact[k].n_censor;
                sm += z1 + z2;
                ss += z1 * z1 + z2 * z2;
                cnt += 2;
            }
        }
        double mean = sm / (double)cnt, var = ss / (double)cnt - mean * mean;
        double want;
        if (mech == SR_MODEL_DP_LAPLACE) {
            CHECK(fabs(scale - 4.0) < 1e-12); /* m / epsilon */
            want = sr_dp_discrete_laplace_var(scale);
        } else {
            CHECK(fabs(scale - 4.0) < 1e-9); /* m / sqrt(2 rho) */
            want = scale * scale;
        }
        CHECK_MSG(fabs(var / want - 1) < 0.1, "mechanism %d: variance %g, derived %g", mech, var,
                  want);
        CHECK_MSG(fabs(mean) < 0.2, "mechanism %d: mean %g", mech, mean);
    }
    sr_rng_free(rng);
    sr_km_bins_free(b);
}

/* DP logistic regression: the released coefficients are the clipped,
 * fully penalised fit (reproduced here by clipping rows of (x, 1) by hand
 * and fitting without intercept) plus noise of the derived scale. */
static void test_logreg_dp_noise_scale(void)
{
    sr_error err;
    ds d;
    ds_make(&d, 400, 2, 3);
    const double clip = 2.0, l2 = 5.0;
    /* reference: (x, 1) rows clipped to norm <= clip, no intercept */
    double *c0 = malloc(d.n * sizeof(double)), *c1 = malloc(d.n * sizeof(double));
    double *c2 = malloc(d.n * sizeof(double));
    for (size_t i = 0; i < d.n; i++) {
        double nr = sqrt(d.cols[0][i] * d.cols[0][i] + d.cols[1][i] * d.cols[1][i] + 1);
        double f = nr > clip ? clip / nr : 1.0;
        c0[i] = f * d.cols[0][i];
        c1[i] = f * d.cols[1][i];
        c2[i] = f;
    }
    const double *rc[3] = {c0, c1, c2};
    sr_model_array arr;
    sr_model_data data;
    sr_model_fit ref, f;
    CHECK_OK(sr_model_data_from_array(&data, &arr, rc, d.y, d.n, 3, 0, &err), &err);
    sr_logreg_opts o = {.l2 = l2, .intercept = 0};
    CHECK_OK(sr_logreg_fit(&data, &o, &ref, &err), &err);

    CHECK_OK(sr_model_data_from_array(&data, &arr, (const double *const *)d.cols, d.y, d.n, 2, 128,
                                      &err), &err);
    o.intercept = 1;
    sr_rng *rng = sr_rng_new_seed_u64(1234, &err);
    for (int mech = SR_MODEL_DP_LAPLACE; mech <= SR_MODEL_DP_GAUSSIAN; mech++) {
        sr_model_dp dp = {.mechanism = mech, .epsilon = 1.0, .rho = 0.5, .rows_per_person = 1,
                          .rng = rng};
        enum { RUNS = 700 };
        double ss = 0, sm = 0, scale = 0;
        size_t cnt = 0;
        for (int r = 0; r < RUNS; r++) {
            CHECK_OK(sr_logreg_fit_dp(&data, &o, clip, &dp, &f, &scale, &err), &err);
            double z[3] = {f.coef[0] - ref.coef[0], f.coef[1] - ref.coef[1],
                           f.intercept - ref.coef[2]};
            for (int j = 0; j < 3; j++) {
                sm += z[j];
                ss += z[j] * z[j];
                cnt++;
            }
        }
        CHECK(f.n == 0 && isnan(f.objective));
        double sens = clip / l2, want;
        if (mech == SR_MODEL_DP_LAPLACE) {
            double b = sqrt(3.0) * sens * (1 + sqrt(3.0) / 65536) / dp.epsilon;
            CHECK_MSG(fabs(scale / b - 1) < 1e-4, "laplace scale %g vs %g", scale, b);
            want = 2 * scale * scale; /* continuous limit of the discrete Laplace */
        } else {
            double sg = sens * (1 + sqrt(3.0) / 65536) / sqrt(2 * dp.rho);
            CHECK_MSG(fabs(scale / sg - 1) < 1e-4, "gaussian sigma %g vs %g", scale, sg);
            want = scale * scale;
        }
        double mean = sm / (double)cnt, var = ss / (double)cnt - mean * mean;
        CHECK_MSG(fabs(var / want - 1) < 0.1, "mechanism %d: variance %g, derived %g", mech, var,
                  want);
        CHECK_MSG(fabs(mean) < 4 * sqrt(want / (double)cnt), "mechanism %d: mean %g", mech, mean);
    }
    /* refusals */
    sr_model_dp dp = {.mechanism = SR_MODEL_DP_GAUSSIAN, .rho = 1, .rng = rng};
    o.l2 = 0;
    CHECK_EQ_INT(sr_logreg_fit_dp(&data, &o, clip, &dp, &f, NULL, &err), SR_EINVAL);
    o.l2 = 1;
    o.standardize = 1;
    CHECK_EQ_INT(sr_logreg_fit_dp(&data, &o, clip, &dp, &f, NULL, &err), SR_EINVAL);
    sr_rng_free(rng);
    free(c0);
    free(c1);
    free(c2);
    ds_free(&d);
}

/* Cox by hand: times 1, 2, 3 all events, x = 1, 0, 1. The partial
 * likelihood u/(2u+1) * 1/(1+u) (u = e^b) peaks at u = 1/sqrt(2); the
 * information is the sum of the risk sets' binary variances. */
static void test_cox_by_hand(void)
{
    sr_error err;
    double x[3] = {1, 0, 1}, ev[3] = {1, 1, 1}, t[3] = {1, 2, 3};
    const double *cols[2] = {x, ev};
    sr_model_array arr;
    sr_model_data data;
    sr_model_fit f;
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols, t, 3, 2, 2, &err), &err);
    for (int ties = SR_COX_BRESLOW; ties <= SR_COX_EFRON; ties++) {
        sr_cox_opts o = {.ties = ties};
        CHECK_OK(sr_cox_fit(&data, &o, &f, &err), &err);
        double u = 1 / sqrt(2.0), m1 = 2 * u / (2 * u + 1), m2 = u / (1 + u);
        double info = m1 * (1 - m1) + m2 * (1 - m2);
        CHECK_MSG(fabs(f.coef[0] + 0.5 * log(2.0)) < 1e-12, "%.17g", f.coef[0]);
        CHECK_MSG(fabs(f.se[0] - 1 / sqrt(info)) < 1e-10, "%.17g", f.se[0]);
        CHECK(fabs(f.objective - log(u / (2 * u + 1) / (1 + u))) < 1e-12);
    }
    /* monotone likelihood: x separates the order of events */
    double x2[3] = {2, 1, 0};
    const double *cols2[2] = {x2, ev};
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols2, t, 3, 2, 0, &err), &err);
    sr_cox_opts o = {.ties = SR_COX_EFRON, .max_iter = 30};
    CHECK(sr_cox_fit(&data, &o, &f, &err) != SR_OK);
    /* no events, bad flags */
    double none[3] = {0, 0, 0}, bad[3] = {1, 2, 0};
    const double *cols3[2] = {x, none};
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols3, t, 3, 2, 0, &err), &err);
    CHECK_EQ_INT(sr_cox_fit(&data, &o, &f, &err), SR_EINVAL);
    CHECK_CONTAINS(err.msg, "no events");
    const double *cols4[2] = {x, bad};
    CHECK_OK(sr_model_data_from_array(&data, &arr, cols4, t, 3, 2, 0, &err), &err);
    CHECK_EQ_INT(sr_cox_fit(&data, &o, &f, &err), SR_EINVAL);
    CHECK_CONTAINS(err.msg, "event flag");
}

int main(void)
{
    SR_RUN(test_logreg_optimality_and_invariance);
    SR_RUN(test_logreg_errors);
    SR_RUN(test_linreg_exact);
    SR_RUN(test_km_by_hand);
    SR_RUN(test_km_bins_exact_on_grid);
    SR_RUN(test_km_dp_noise_scale);
    SR_RUN(test_logreg_dp_noise_scale);
    SR_RUN(test_cox_by_hand);
    return sr_test_finish();
}

/* DP samplers: exactness (chi-square against the exact pmf over 10^6
 * samples), moments, Bernoulli(exp) frequencies, rational rounding, and the
 * zCDP ledger. Seeded sources make every run identical (no flakiness). */
#include <math.h>
#include <stdlib.h>

#include "sealroom/dp.h"
#include "test.h"

/* Upper-tail p-value of chi-square with k degrees of freedom
 * (Wilson-Hilferty normal approximation; fine for k >= 3). */
static double chi2_pvalue(double x, double k)
{
    double z = (pow(x / k, 1.0 / 3) - (1 - 2 / (9 * k))) / sqrt(2 / (9 * k));
    return 0.5 * erfc(z / sqrt(2));
}

#define RANGE 4000 /* values in [-RANGE, RANGE] are binned individually */

/* Bins samples, merges tails where the expected count is < 20, returns the
 * p-value of the chi-square statistic. */
static double chi2_test(const int64_t *xs, size_t n, double (*pmf)(int64_t, double), double par,
                        int *df_out)
{
    static double obs[2 * RANGE + 1], expv[2 * RANGE + 1];
    for (int i = 0; i < 2 * RANGE + 1; i++) {
        obs[i] = 0;
        expv[i] = pmf(i - RANGE, par) * (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        int64_t x = xs[i];
        if (x < -RANGE) x = -RANGE;
        if (x > RANGE) x = RANGE;
        obs[x + RANGE]++;
    }
    /* fold the mass beyond +-RANGE into the end bins (negligible for the
     * parameters used) and merge low-expectation bins left to right */
    double chi = 0, eo = 0, ee = 0;
    int df = -1;
    for (int i = 0; i < 2 * RANGE + 1; i++) {
        eo += obs[i];
        ee += expv[i];
        if (ee >= 20 && (i == 2 * RANGE || 1)) {
            /* close a bin once it has enough expectation, unless the rest of
             * the distribution is too thin to form another bin */
            double rest = 0;
            for (int j = i + 1; j < 2 * RANGE + 1 && rest < 20; j++)
                rest += expv[j];
            if (rest >= 20 || i == 2 * RANGE) {
                chi += (eo - ee) * (eo - ee) / ee;
                df++;
                eo = ee = 0;
            }
        }
    }
    if (ee > 0) {
        chi += (eo - ee) * (eo - ee) / ee;
        df++;
    }
    *df_out = df;
    return chi2_pvalue(chi, df);
}

#define NS 1000000

static void moments(const int64_t *xs, size_t n, double *mean, double *var)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)xs[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = (double)xs[i] - *mean;
        s2 += d * d;
    }
    *var = s2 / (double)(n - 1);
}

static void test_laplace_chi2(void)
{
    sr_error err = {0};
    static const struct { uint64_t num, den; } ps[] = {{1, 1}, {7, 2}, {30, 1}, {1, 3}};
    int64_t *xs = malloc(NS * sizeof *xs);
    sr_rng *r = sr_rng_new_seed_u64(11, &err);
    CHECK(r != NULL && xs != NULL);
    for (size_t p = 0; p < sizeof ps / sizeof ps[0]; p++) {
        double t = (double)ps[p].num / (double)ps[p].den;
        int ok = 1;
        for (size_t i = 0; i < NS && ok; i++)
            ok = sr_dp_discrete_laplace(r, ps[p].num, ps[p].den, &xs[i], &err) == SR_OK;
        CHECK_OK(ok ? 0 : 1, &err);
        int df;
        double pv = chi2_test(xs, NS, sr_dp_discrete_laplace_pmf, t, &df);
        CHECK_MSG(pv > 1e-4, "laplace t=%g chi2 p=%g df=%d", t, pv, df);
        double m, v;
        moments(xs, NS, &m, &v);
        double tv = sr_dp_discrete_laplace_var(t);
        CHECK_MSG(fabs(m) < 5 * sqrt(tv / NS), "laplace t=%g mean %g", t, m);
        CHECK_MSG(fabs(v / tv - 1) < 0.02, "laplace t=%g var %g vs %g", t, v, tv);
    }
    sr_rng_free(r);
    free(xs);
}

static double true_dg_var(double s2)
{
    double z = 0, m2 = 0;
    double lim = floor(20 * sqrt(s2) + 20);
    for (double k = -lim; k <= lim; k++) {
        double w = exp(-k * k / (2 * s2));
        z += w;
        m2 += k * k * w;
    }
    return m2 / z;
}

static void test_gaussian_chi2(void)
{
    sr_error err = {0};
    static const struct { uint64_t num, den; } ps[] = {{1, 1}, {25, 4}, {400, 1}, {1, 10}, {3, 1}};
    int64_t *xs = malloc(NS * sizeof *xs);
    sr_rng *r = sr_rng_new_seed_u64(12, &err);
    CHECK(r != NULL && xs != NULL);
    for (size_t p = 0; p < sizeof ps / sizeof ps[0]; p++) {
        double s2 = (double)ps[p].num / (double)ps[p].den;
        int ok = 1;
        for (size_t i = 0; i < NS && ok; i++)
            ok = sr_dp_discrete_gaussian(r, ps[p].num, ps[p].den, &xs[i], &err) == SR_OK;
        CHECK_OK(ok ? 0 : 1, &err);
        int df;
        double pv = chi2_test(xs, NS, sr_dp_discrete_gaussian_pmf, s2, &df);
        CHECK_MSG(pv > 1e-4, "gaussian s2=%g chi2 p=%g df=%d", s2, pv, df);
        double m, v;
        moments(xs, NS, &m, &v);
        double tv = true_dg_var(s2);
        CHECK_MSG(fabs(m) < 5 * sqrt(tv / NS), "gaussian s2=%g mean %g", s2, m);
        CHECK_MSG(fabs(v / tv - 1) < 0.02, "gaussian s2=%g var %g vs %g", s2, v, tv);
    }
    sr_rng_free(r);
    free(xs);
}

/* The chi-square test must be able to fail: samples from the wrong scale
 * are rejected. */
static void test_chi2_detects_wrong_scale(void)
{
    sr_error err = {0};
    int64_t *xs = malloc(200000 * sizeof *xs);
    sr_rng *r = sr_rng_new_seed_u64(13, &err);
    for (size_t i = 0; i < 200000; i++)
        CHECK(sr_dp_discrete_laplace(r, 21, 2, &xs[i], &err) == SR_OK);
    int df;
    double pv = chi2_test(xs, 200000, sr_dp_discrete_laplace_pmf, 10.0, &df);
    CHECK_MSG(pv < 1e-6, "p=%g", pv);
    sr_rng_free(r);
    free(xs);
}

static void test_bernoulli_exp(void)
{
    sr_error err = {0};
    sr_rng *r = sr_rng_new_seed_u64(14, &err);
    static const struct { uint64_t num, den; } ps[] = {{0, 1}, {1, 2}, {1, 1}, {5, 2}, {7, 3}};
    for (size_t p = 0; p < sizeof ps / sizeof ps[0]; p++) {
        double q = exp(-(double)ps[p].num / (double)ps[p].den);
        int n1 = 0, b;
        const int n = 200000;
        for (int i = 0; i < n; i++) {
            CHECK(sr_dp_bernoulli_exp(r, ps[p].num, ps[p].den, &b, &err) == SR_OK);
            n1 += b;
        }
        double se = sqrt(q * (1 - q) / n) + 1e-12;
        CHECK_MSG(fabs(n1 / (double)n - q) < 5 * se, "exp(-%llu/%llu): %g vs %g",
                  (unsigned long long)ps[p].num, (unsigned long long)ps[p].den, n1 / (double)n, q);
    }
    CHECK(sr_dp_bernoulli_exp(r, 1, 0, &(int){0}, &err) == SR_EINVAL);
    CHECK(sr_dp_bernoulli(r, 3, 2, &(int){0}, &err) == SR_EINVAL);
    CHECK(sr_dp_discrete_gaussian(r, 0, 1, &(int64_t){0}, &err) == SR_EINVAL);
    CHECK(sr_dp_discrete_laplace(r, 1, 0, &(int64_t){0}, &err) == SR_EINVAL);
    sr_rng_free(r);
}

static void test_seeded_reproducible(void)
{
    sr_error err = {0};
    sr_rng *a = sr_rng_new_seed_u64(99, &err), *b = sr_rng_new_seed_u64(99, &err);
    sr_rng *c = sr_rng_new_seed_u64(100, &err);
    int same = 1, diff = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t x, y, z;
        CHECK(sr_dp_discrete_gaussian(a, 50, 1, &x, &err) == SR_OK);
        CHECK(sr_dp_discrete_gaussian(b, 50, 1, &y, &err) == SR_OK);
        CHECK(sr_dp_discrete_gaussian(c, 50, 1, &z, &err) == SR_OK);
        same &= x == y;
        diff |= x != z;
    }
    CHECK(same);
    CHECK(diff);
    CHECK(sr_rng_is_seeded(a));
    sr_rng_free(a);
    sr_rng_free(b);
    sr_rng_free(c);
    sr_rng *s = sr_rng_new_system(&err);
    CHECK(s != NULL && !sr_rng_is_seeded(s));
    uint64_t u, hits[4] = {0};
    for (int i = 0; i < 4000; i++) {
        CHECK(sr_rng_uniform(s, 4, &u, &err) == SR_OK);
        CHECK(u < 4);
        hits[u & 3]++;
    }
    for (int i = 0; i < 4; i++)
        CHECK(hits[i] > 800 && hits[i] < 1200);
    sr_rng_free(s);
}

static void test_rational_and_fixed(void)
{
    sr_error err = {0};
    uint64_t n, d;
    CHECK_OK(sr_dp_rational_up(0.5, &n, &d, &err), &err);
    CHECK(n == 1 && d == 2);
    CHECK_OK(sr_dp_rational_up(10.0, &n, &d, &err), &err);
    CHECK(n == 10 && d == 1);
    CHECK_OK(sr_dp_rational_up(1.0 / 3, &n, &d, &err), &err);
    CHECK((double)n / (double)d >= 1.0 / 3 && (double)n / (double)d < 1.0 / 3 + 1e-9);
    CHECK(sr_dp_rational_up(-1, &n, &d, &err) == SR_EINVAL);
    CHECK(sr_dp_rational_up(NAN, &n, &d, &err) == SR_EINVAL);

    /* fixed-point Laplace on a mean: empirical variance matches the scale */
    sr_rng *r = sr_rng_new_seed_u64(15, &err);
    double sum = 0, sum2 = 0, scale = 0;
    const int n_runs = 100000;
    for (int i = 0; i < n_runs; i++) {
        double out;
        CHECK(sr_dp_laplace_fixed(r, 12.345, 0.5, 1.0, 0.001, &out, &scale, &err) == SR_OK);
        sum += out - 12.345;
        sum2 += (out - 12.345) * (out - 12.345);
    }
    CHECK_MSG(fabs(scale - 0.5) < 1e-9, "scale %g", scale);
    double v = sum2 / n_runs, tv = 2 * 0.5 * 0.5;
    CHECK_MSG(fabs(v / tv - 1) < 0.03, "fixed laplace var %g vs %g", v, tv);
    sum = sum2 = 0;
    double sigma = 0;
    for (int i = 0; i < n_runs; i++) {
        double out;
        CHECK(sr_dp_gaussian_fixed(r, -3.0, 2.0, 0.125, 0.01, &out, &sigma, &err) == SR_OK);
        sum2 += (out + 3.0) * (out + 3.0);
    }
    CHECK_MSG(fabs(sigma - 4.0) < 1e-6, "sigma %g", sigma);
    CHECK_MSG(fabs(sum2 / n_runs / 16.0 - 1) < 0.03, "fixed gaussian var %g", sum2 / n_runs);
    sr_rng_free(r);
}

static void test_ledger(void)
{
    sr_error err = {0};
    sr_dp_ledger l;
    double e, d;
    sr_dp_ledger_init(&l);
    sr_dp_ledger_add_pure(&l, 0.5);
    sr_dp_ledger_add_pure(&l, 0.25);
    sr_dp_ledger_guarantee(&l, 1e-6, &e, &d);
    CHECK(fabs(e - 0.75) < 1e-12 && d == 0);
    CHECK_OK(sr_dp_ledger_check(&l, 0.75, 0, &err), &err);
    CHECK(sr_dp_ledger_check(&l, 0.7, 0, &err) == SR_EDENIED);
    CHECK_CONTAINS(err.msg, "budget");
    /* add Gaussian: eps = rho + 2 sqrt(rho ln(1/delta)) */
    sr_dp_ledger_add_rho(&l, 0.01);
    double rho = 0.5 * 0.5 / 2 + 0.25 * 0.25 / 2 + 0.01;
    sr_dp_ledger_guarantee(&l, 1e-6, &e, &d);
    double all = rho + 2 * sqrt(rho * log(1e6));
    double split = 0.75 + (0.01 + 2 * sqrt(0.01 * log(1e6)));
    CHECK(split < all);
    CHECK_MSG(fabs(e - split) < 1e-12 && d == 1e-6, "%g vs %g", e, split);
    /* with a large Gaussian share, composing everything in zCDP is tighter */
    sr_dp_ledger l2;
    sr_dp_ledger_init(&l2);
    sr_dp_ledger_add_pure(&l2, 0.1);
    sr_dp_ledger_add_rho(&l2, 2.0);
    sr_dp_ledger_guarantee(&l2, 1e-6, &e, &d);
    CHECK(fabs(e - sr_dp_epsilon_of_rho(2.005, 1e-6)) < 1e-12);
    CHECK(sr_dp_ledger_check(&l, 10, 0, &err) == SR_EDENIED);
    CHECK_CONTAINS(err.msg, "delta");
    CHECK(fabs(sr_dp_epsilon_of_rho(sr_dp_rho_of_budget(1.0, 1e-5), 1e-5) - 1.0) < 1e-12);
    CHECK(fabs(sr_dp_rho_of_gaussian(2, 4) - 0.5) < 1e-15);
}

int main(void)
{
    SR_RUN(test_bernoulli_exp);
    SR_RUN(test_seeded_reproducible);
    SR_RUN(test_laplace_chi2);
    SR_RUN(test_gaussian_chi2);
    SR_RUN(test_chi2_detects_wrong_scale);
    SR_RUN(test_rational_and_fixed);
    SR_RUN(test_ledger);
    return sr_test_finish();
}

/* sealroom engine: exact discrete Laplace and discrete Gaussian samplers
 * (Canonne, Kamath, Steinke 2020), integer arithmetic only. Rationals are
 * carried as unsigned 128-bit numerator/denominator pairs; every product is
 * overflow-checked. */
#include <math.h>
#include <stdint.h>

#include "sealroom/dp.h"

typedef unsigned __int128 u128;

#define U128_MAX (~(u128)0)

static int mul_ok(u128 a, u128 b, u128 *out)
{
    if (a != 0 && b > U128_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* Uniform in [0, n), n >= 1, 128-bit. */
static int uniform128(sr_rng *r, u128 n, u128 *out, sr_error *err)
{
    if (n <= UINT64_MAX) {
        uint64_t v;
        int rc = sr_rng_uniform(r, (uint64_t)n, &v, err);
        *out = v;
        return rc;
    }
    u128 m = n - 1;
    int bits = 128;
    while (bits > 0 && ((m >> (bits - 1)) & 1) == 0)
        bits--;
    u128 mask = bits == 128 ? U128_MAX : (((u128)1 << bits) - 1);
    for (;;) {
        uint8_t b[16];
        if (sr_rng_bytes(r, b, sizeof b, err) != SR_OK)
            return err ? err->code : SR_ECRYPTO;
        u128 v = 0;
        for (int i = 0; i < 16; i++)
            v |= (u128)b[i] << (8 * i);
        v &= mask;
        if (v < n) {
            *out = v;
            return SR_OK;
        }
    }
}

/* Bernoulli(num/den), num <= den. */
static int bern128(sr_rng *r, u128 num, u128 den, int *out, sr_error *err)
{
    if (num >= den) {
        *out = 1;
        return SR_OK;
    }
    if (num == 0) {
        *out = 0;
        return SR_OK;
    }
    u128 u;
    int rc = uniform128(r, den, &u, err);
    if (rc != SR_OK)
        return rc;
    *out = u < num;
    return SR_OK;
}

/* Bernoulli(exp(-num/den)) for 0 <= num/den <= 1: K = 1; while
 * Bernoulli(gamma/K) succeeds, K++; the result is K odd. Bernoulli(gamma/K)
 * is drawn as Bernoulli(num/den) AND Bernoulli(1/K) so no product of
 * denominators is formed. */
static int bern_exp_unit(sr_rng *r, u128 num, u128 den, int *out, sr_error *err)
{
    uint64_t k = 1;
    for (;;) {
        int a, rc;
        rc = bern128(r, num, den, &a, err);
        if (rc != SR_OK)
            return rc;
        if (a) {
            uint64_t u;
            rc = sr_rng_uniform(r, k, &u, err);
            if (rc != SR_OK)
                return rc;
            a = u == 0;
        }
        if (!a)
            break;
        if (k == UINT64_MAX)
            return sr_error_set(err, SR_EINTERNAL, "Bernoulli(exp) loop did not terminate");
        k++;
    }
    *out = (int)(k & 1);
    return SR_OK;
}

/* Bernoulli(exp(-num/den)) for any num/den >= 0: floor(gamma) draws of
 * Bernoulli(exp(-1)) (stopping at the first failure), then the fraction. */
static int bern_exp128(sr_rng *r, u128 num, u128 den, int *out, sr_error *err)
{
    u128 whole = num / den, rem = num % den;
    for (u128 i = 0; i < whole; i++) {
        int b, rc = bern_exp_unit(r, 1, 1, &b, err);
        if (rc != SR_OK)
            return rc;
        if (!b) {
            *out = 0;
            return SR_OK;
        }
    }
    return bern_exp_unit(r, rem, den, out, err);
}

int sr_dp_bernoulli_exp_wide(sr_rng *r, unsigned __int128 num, unsigned __int128 den, int *out,
                             sr_error *err)
{
    if (den == 0)
        return sr_error_set(err, SR_EINVAL, "Bernoulli(exp): zero denominator");
    return bern_exp128(r, num, den, out, err);
}

int sr_dp_bernoulli(sr_rng *r, uint64_t num, uint64_t den, int *out, sr_error *err)
{
    if (den == 0 || num > den)
        return sr_error_set(err, SR_EINVAL, "Bernoulli(%llu/%llu): need 0 <= p <= 1",
                            (unsigned long long)num, (unsigned long long)den);
    return bern128(r, num, den, out, err);
}

int sr_dp_bernoulli_exp(sr_rng *r, uint64_t num, uint64_t den, int *out, sr_error *err)
{
    if (den == 0)
        return sr_error_set(err, SR_EINVAL, "Bernoulli(exp(-%llu/0)): zero denominator",
                            (unsigned long long)num);
    return bern_exp128(r, num, den, out, err);
}

#define PARAM_MAX (UINT64_C(1) << 62)

/* CKS Algorithm 2 with scale t/s. */
static int dlap(sr_rng *r, uint64_t t, uint64_t s, int64_t *out, sr_error *err)
{
    for (;;) {
        uint64_t u;
        int d, rc;
        rc = sr_rng_uniform(r, t, &u, err);
        if (rc != SR_OK)
            return rc;
        rc = bern_exp128(r, u, t, &d, err);
        if (rc != SR_OK)
            return rc;
        if (!d)
            continue;
        u128 v = 0;
        for (;;) {
            int a;
            rc = bern_exp_unit(r, 1, 1, &a, err);
            if (rc != SR_OK)
                return rc;
            if (!a)
                break;
            v++;
        }
        u128 x;
        if (!mul_ok(v, t, &x) || x > U128_MAX - u)
            return sr_error_set(err, SR_ELIMIT, "discrete Laplace: sample overflow");
        x += u;
        u128 y = x / s;
        int b;
        rc = bern128(r, 1, 2, &b, err);
        if (rc != SR_OK)
            return rc;
        if (b && y == 0)
            continue;
        if (y > (u128)INT64_MAX)
            return sr_error_set(err, SR_ELIMIT, "discrete Laplace: sample exceeds 64 bits");
        *out = b ? -(int64_t)y : (int64_t)y;
        return SR_OK;
    }
}

int sr_dp_discrete_laplace(sr_rng *r, uint64_t scale_num, uint64_t scale_den, int64_t *out,
                           sr_error *err)
{
    if (scale_num == 0 || scale_den == 0 || scale_num >= PARAM_MAX || scale_den >= PARAM_MAX)
        return sr_error_set(err, SR_EINVAL,
                            "discrete Laplace scale %llu/%llu: both parts must be in [1, 2^62)",
                            (unsigned long long)scale_num, (unsigned long long)scale_den);
    return dlap(r, scale_num, scale_den, out, err);
}

static uint64_t isqrt64(uint64_t x)
{
    uint64_t lo = 0, hi = (uint64_t)1 << 32;
    /* largest y with y*y <= x */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if ((u128)mid * mid <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

int sr_dp_discrete_gaussian(sr_rng *r, uint64_t n, uint64_t d, int64_t *out, sr_error *err)
{
    if (n == 0 || d == 0 || n >= (UINT64_C(1) << 56) || d >= (UINT64_C(1) << 32))
        return sr_error_set(err, SR_EINVAL,
                            "discrete Gaussian sigma^2 = %llu/%llu: need 1 <= num < 2^56, "
                            "1 <= den < 2^32",
                            (unsigned long long)n, (unsigned long long)d);
    uint64_t t = isqrt64(n / d) + 1; /* floor(sigma) + 1 */
    /* gamma = (|Y| - sigma^2/t)^2 / (2 sigma^2) = (|Y| d t - n)^2 / (2 n d t^2) */
    u128 dt = (u128)d * t;                     /* < 2^32 * 2^29 */
    u128 q = (u128)2 * n * d;                  /* < 2^89 */
    if (!mul_ok(q, (u128)t * t, &q))           /* 2 n d t^2 <= ~2^118 */
        return sr_error_set(err, SR_EINTERNAL, "discrete Gaussian: parameter overflow");
    for (;;) {
        int64_t y;
        int rc = dlap(r, t, 1, &y, err);
        if (rc != SR_OK)
            return rc;
        u128 ay = (u128)(y < 0 ? -(uint64_t)y : (uint64_t)y);
        u128 ydt, a, a2;
        int c;
        if (mul_ok(ay, dt, &ydt)) {
            a = ydt >= n ? ydt - n : n - ydt;
            if (mul_ok(a, a, &a2)) {
                rc = bern_exp128(r, a2, q, &c, err);
                if (rc != SR_OK)
                    return rc;
                if (c) {
                    *out = y;
                    return SR_OK;
                }
                continue;
            }
        }
        /* a^2 >= 2^128 > 2^64 * q here, so gamma > 64: exp(-gamma) =
         * exp(-64) * exp(-(gamma - 64)). Draw the first factor exactly; it
         * rejects with probability 1 - e^-64. */
        for (int i = 0; i < 64; i++) {
            rc = bern_exp_unit(r, 1, 1, &c, err);
            if (rc != SR_OK)
                return rc;
            if (!c)
                break;
        }
        if (!c)
            continue;
        return sr_error_set(err, SR_ELIMIT, "discrete Gaussian: intermediate exceeds 128 bits");
    }
}

int sr_dp_rational_up(double x, uint64_t *num, uint64_t *den, sr_error *err)
{
    if (!isfinite(x) || x <= 0)
        return sr_error_set(err, SR_EINVAL, "noise scale %g is not a positive finite number", x);
    if (x >= 4503599627370496.0) /* 2^52 */
        return sr_error_set(err, SR_ELIMIT, "noise scale %g is too large", x);
    int k = 32;
    while (k > 0 && ldexp(x, k) >= 4503599627370496.0)
        k--;
    double s = ceil(ldexp(x, k)); /* exact: x * 2^k is exact, ceil of it too */
    if (s < 1)
        s = 1;
    *num = (uint64_t)s;
    *den = UINT64_C(1) << k;
    while (*den > 1 && (*num & 1) == 0) {
        *num >>= 1;
        *den >>= 1;
    }
    return SR_OK;
}

static int to_units(double v, double resolution, int64_t *k, sr_error *err)
{
    if (!isfinite(resolution) || resolution <= 0)
        return sr_error_set(err, SR_EINVAL, "resolution %g must be positive", resolution);
    double q = nearbyint(v / resolution);
    if (!isfinite(q) || fabs(q) > 9.0e15)
        return sr_error_set(err, SR_ELIMIT,
                            "value %g at resolution %g does not fit the fixed-point range", v,
                            resolution);
    *k = (int64_t)q;
    return SR_OK;
}

static int sens_units(double sensitivity, double resolution, double *u, sr_error *err)
{
    if (!isfinite(sensitivity) || sensitivity <= 0)
        return sr_error_set(err, SR_EINVAL, "sensitivity %g must be positive", sensitivity);
    double s = ceil(sensitivity / resolution - 1e-9);
    if (s < 1)
        s = 1;
    if (s > 1.0e15)
        return sr_error_set(err, SR_ELIMIT, "sensitivity %g at resolution %g is too large",
                            sensitivity, resolution);
    *u = s;
    return SR_OK;
}

int sr_dp_laplace_fixed(sr_rng *r, double v, double sensitivity, double epsilon, double resolution,
                        double *out, double *scale_out, sr_error *err)
{
    int64_t k = 0, z = 0;
    double su = 0;
    uint64_t num = 0, den = 1;
    int rc;
    if (!isfinite(epsilon) || epsilon <= 0)
        return sr_error_set(err, SR_EINVAL, "epsilon %g must be positive", epsilon);
    if ((rc = to_units(v, resolution, &k, err)) != SR_OK ||
        (rc = sens_units(sensitivity, resolution, &su, err)) != SR_OK)
        return rc;
    if ((rc = sr_dp_rational_up(su / epsilon, &num, &den, err)) != SR_OK)
        return rc;
    if ((rc = sr_dp_discrete_laplace(r, num, den, &z, err)) != SR_OK)
        return rc;
    *out = (double)(k + z) * resolution;
    if (scale_out)
        *scale_out = (double)num / (double)den * resolution;
    return SR_OK;
}

int sr_dp_gaussian_fixed(sr_rng *r, double v, double sensitivity, double rho, double resolution,
                         double *out, double *sigma_out, sr_error *err)
{
    int64_t k = 0, z = 0;
    double su = 0;
    uint64_t num = 0, den = 1;
    int rc;
    if (!isfinite(rho) || rho <= 0)
        return sr_error_set(err, SR_EINVAL, "rho %g must be positive", rho);
    if ((rc = to_units(v, resolution, &k, err)) != SR_OK ||
        (rc = sens_units(sensitivity, resolution, &su, err)) != SR_OK)
        return rc;
    if ((rc = sr_dp_rational_up(su * su / (2 * rho), &num, &den, err)) != SR_OK)
        return rc;
    /* The Gaussian sampler takes num < 2^56, den < 2^32: rational_up gives
     * num < 2^52 and den <= 2^32; halve an even-sized den if needed. */
    while (den >= (UINT64_C(1) << 32)) {
        num = (num + 1) / 2;
        den /= 2;
    }
    if ((rc = sr_dp_discrete_gaussian(r, num, den, &z, err)) != SR_OK)
        return rc;
    *out = (double)(k + z) * resolution;
    if (sigma_out)
        *sigma_out = sqrt((double)num / (double)den) * resolution;
    return SR_OK;
}

double sr_dp_discrete_laplace_pmf(int64_t x, double t)
{
    double e = exp(1.0 / t);
    return (e - 1) / (e + 1) * exp(-fabs((double)x) / t);
}

double sr_dp_discrete_laplace_var(double t)
{
    double e = exp(1.0 / t);
    return 2 * e / ((e - 1) * (e - 1));
}

double sr_dp_discrete_gaussian_pmf(int64_t x, double sigma2)
{
    double z = 1; /* term for 0 */
    double lim = 12 * sqrt(sigma2) + 10;
    for (double k = 1; k <= lim; k++)
        z += 2 * exp(-k * k / (2 * sigma2));
    return exp(-(double)x * (double)x / (2 * sigma2)) / z;
}

/* sealroom: differential privacy primitives. Exact samplers for the discrete
 * Laplace and discrete Gaussian distributions (Canonne, Kamath, Steinke 2020,
 * "The Discrete Gaussian for Differential Privacy"), driven by a CSPRNG and
 * using integer arithmetic only (no floating point touches a noise value;
 * Mironov 2012), plus zCDP accounting and its conversion to (epsilon, delta).
 * docs/DP.md specifies every algorithm precisely. */
#ifndef SEALROOM_DP_H
#define SEALROOM_DP_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- random source ------------------------------------------------------ */

/* A random bit source. Not thread-safe: give each thread its own.
 * - system: OpenSSL RAND_priv_bytes (the CSPRNG), for real runs;
 * - seeded: AES-256-CTR keystream under key SHA-256("sealroom-dp-rng-v1" ||
 *   seed), IV zero, for reproducible tests and dry runs. Never use seeded
 *   sources for released results. */
typedef struct sr_rng sr_rng;

sr_rng *sr_rng_new_system(sr_error *err);
sr_rng *sr_rng_new_seeded(const void *seed, size_t seedlen, sr_error *err);
/* Seeded from a 64-bit integer (its 8 little-endian bytes). */
sr_rng *sr_rng_new_seed_u64(uint64_t seed, sr_error *err);
/* Derives an independent seeded source (for worker threads): its seed is
 * 32 bytes drawn from parent. */
sr_rng *sr_rng_new_child(sr_rng *parent, sr_error *err);
void sr_rng_free(sr_rng *r); /* wipes buffered randomness */
int sr_rng_is_seeded(const sr_rng *r);

int sr_rng_bytes(sr_rng *r, void *out, size_t n, sr_error *err);
/* Uniform integer in [0, n), n >= 1, by rejection (no modulo bias). */
int sr_rng_uniform(sr_rng *r, uint64_t n, uint64_t *out, sr_error *err);

/* ---- exact samplers (integer arithmetic only) --------------------------- */

/* Bernoulli(num/den), 0 <= num <= den, den >= 1. *out is 0 or 1. */
int sr_dp_bernoulli(sr_rng *r, uint64_t num, uint64_t den, int *out, sr_error *err);
/* Bernoulli(exp(-num/den)), num >= 0, den >= 1 (CKS Algorithm 1). */
int sr_dp_bernoulli_exp(sr_rng *r, uint64_t num, uint64_t den, int *out, sr_error *err);
/* Discrete Laplace with scale t = scale_num/scale_den: P[x] proportional to
 * exp(-|x|/t) over all integers x (CKS Algorithm 2). Both parts >= 1 and
 * < 2^62. */
int sr_dp_discrete_laplace(sr_rng *r, uint64_t scale_num, uint64_t scale_den, int64_t *out,
                           sr_error *err);
/* Discrete Gaussian with sigma^2 = var_num/var_den: P[x] proportional to
 * exp(-x^2 / (2 sigma^2)) over all integers x (CKS Algorithm 3). Both parts
 * >= 1, var_num < 2^56, var_den < 2^32 (SR_EINVAL otherwise). */
int sr_dp_discrete_gaussian(sr_rng *r, uint64_t var_num, uint64_t var_den, int64_t *out,
                            sr_error *err);

/* Smallest rational num/den >= x with den = 2^k (k <= 32) chosen as large as
 * keeps num < 2^52 (so num/den is x rounded up in its last bits). x must be
 * finite and > 0; fails with SR_ELIMIT if x >= 2^52. Used to turn a real
 * noise scale into the exact rational the samplers take, always rounding the
 * scale up (more noise, never less privacy). */
int sr_dp_rational_up(double x, uint64_t *num, uint64_t *den, sr_error *err);

/* ---- noise on fixed-point statistics ------------------------------------ */

/* A statistic value v is scaled to the integer k = round(v / resolution),
 * noised with an integer sample of scale (sensitivity_units / epsilon) where
 * sensitivity_units = ceil(sensitivity / resolution), and returned as
 * (k + noise) * resolution. *scale_out (may be NULL) receives the real
 * noise scale in the statistic's units (the Laplace b = sensitivity_units *
 * resolution / epsilon). Pure epsilon-DP for a statistic of the given L1
 * sensitivity. */
int sr_dp_laplace_fixed(sr_rng *r, double v, double sensitivity, double epsilon, double resolution,
                        double *out, double *scale_out, sr_error *err);
/* Same with the discrete Gaussian for rho-zCDP: sigma^2 (in units) =
 * sensitivity_units^2 / (2 rho), rounded up to a rational. *sigma_out (may be
 * NULL) receives sigma in the statistic's units. */
int sr_dp_gaussian_fixed(sr_rng *r, double v, double sensitivity, double rho, double resolution,
                         double *out, double *sigma_out, sr_error *err);

/* ---- pmfs (for tests and docs; floating point, never used for noise) ----- */

/* Discrete Laplace with scale t: (e^{1/t} - 1)/(e^{1/t} + 1) * e^{-|x|/t}. */
double sr_dp_discrete_laplace_pmf(int64_t x, double scale);
/* Discrete Gaussian with variance parameter sigma2 (normalised by summing
 * the series); its true variance is slightly below sigma2. */
double sr_dp_discrete_gaussian_pmf(int64_t x, double sigma2);
/* Variance of the discrete Laplace with scale t: 2 e^{1/t} / (e^{1/t}-1)^2. */
double sr_dp_discrete_laplace_var(double scale);

/* ---- accounting ---------------------------------------------------------- */

/* zCDP of pure epsilon-DP (Bun & Steinke 2016): rho = epsilon^2 / 2. */
double sr_dp_rho_of_epsilon(double epsilon);
/* zCDP of the discrete Gaussian: rho = sensitivity^2 / (2 sigma^2). */
double sr_dp_rho_of_gaussian(double sensitivity, double sigma2);
/* (epsilon, delta)-DP implied by rho-zCDP: epsilon = rho + 2 sqrt(rho ln(1/delta)). */
double sr_dp_epsilon_of_rho(double rho, double delta);
/* Inverse: the largest rho whose epsilon_of_rho(rho, delta) <= epsilon. */
double sr_dp_rho_of_budget(double epsilon, double delta);

/* A run's ledger. Pure-DP charges add epsilon (basic composition) and rho;
 * Gaussian charges add rho only. The run's guarantee: if every charge was
 * pure, (sum epsilon, 0)-DP; otherwise (epsilon, delta)-DP with epsilon the
 * smaller of epsilon_of_rho(total rho, delta) (everything composed in zCDP)
 * and sum epsilon + epsilon_of_rho(Gaussian rho, delta) (the Gaussian part
 * converted, then composed with the pure part by basic composition). */
typedef struct sr_dp_ledger {
    double eps_pure; /* sum of pure epsilon charges */
    double rho;      /* sum of all charges as zCDP */
    double rho_gauss; /* sum of the Gaussian charges */
    size_t n_pure;
    size_t n_gauss;
} sr_dp_ledger;

void sr_dp_ledger_init(sr_dp_ledger *l);
void sr_dp_ledger_add_pure(sr_dp_ledger *l, double epsilon);
void sr_dp_ledger_add_rho(sr_dp_ledger *l, double rho);
/* The guarantee as (epsilon, delta): delta is 0 when every charge is pure. */
void sr_dp_ledger_guarantee(const sr_dp_ledger *l, double delta, double *eps_out, double *delta_out);
/* Fails with SR_EDENIED and a message giving both figures if the ledger's
 * guarantee exceeds (budget_eps, budget_delta). */
int sr_dp_ledger_check(const sr_dp_ledger *l, double budget_eps, double budget_delta, sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

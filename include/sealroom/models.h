/* sealroom: statistical models of the analysis engine — logistic and linear
 * regression, Kaplan–Meier, Cox proportional hazards — and their
 * differentially private variants.
 *
 * Pure numerics over double blocks: the engine turns column chunks into
 * blocks (dropping null rows, deriving columns) and hands them to the model
 * through sr_model_data. Models make several passes over the blocks and
 * never need all rows in memory. The specification (objectives, stopping
 * rules, standardization, DP noise scales) is docs/MODELS.md. */
#ifndef SEALROOM_MODELS_H
#define SEALROOM_MODELS_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/dp.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_MODEL_MAX_FEATURES 128 /* p, not counting the intercept */
#define SR_MODEL_MAX_THREADS 16

/* ------------------------------------------------------------------ data */

/* One block of rows, column-major: x[j][i] is feature j of row i, y[i] the
 * label (logistic: 0 or 1) or the target (linear). */
typedef struct sr_model_block {
    size_t n;
    const double *const *x; /* p column pointers, each n doubles */
    const double *y;        /* n doubles */
} sr_model_block;

/* The engine's view of the rows: nblocks blocks of p features. block()
 * fills *out with block `index` (< nblocks). It is called concurrently from
 * up to `threads` worker threads, each with its own `worker` number
 * (0 .. threads-1); the arrays it returns must stay valid until the next
 * call with the same worker number (so one buffer per worker suffices).
 * A non-zero return aborts the fit with that status and err. */
typedef struct sr_model_data {
    size_t p;
    size_t nblocks;
    int (*block)(void *ctx, unsigned worker, size_t index, sr_model_block *out, sr_error *err);
    void *ctx;
    /* Optional (NULL for in-memory data), for sources that produce blocks
     * in order by re-reading their input. begin_pass() is called on the
     * calling thread before every pass: the pass then asks, from `threads`
     * workers, for blocks q * stride (q = 0, 1, ... while < nblocks), each
     * exactly once, worker q % threads asking for q; each worker asks in
     * increasing q. cancel() is called by a worker whose block() or
     * accumulation failed and that will ask no more: a source that makes
     * workers wait for their turn must then release them (their block()
     * fails). */
    int (*begin_pass)(void *ctx, unsigned threads, size_t stride, sr_error *err);
    void (*cancel)(void *ctx);
} sr_model_data;

/* In-memory source over a row set already in memory (tools, tests):
 * column pointers x[0..p-1] of n rows each, cut into blocks of block_rows
 * rows (0 = 8192). `arr` must outlive `data`. */
typedef struct sr_model_array {
    const double *const *x;
    const double *y;
    size_t n, p, block_rows;
    /* per worker column pointers (+1: Cox's event column) */
    const double *xs[SR_MODEL_MAX_THREADS][SR_MODEL_MAX_FEATURES + 1];
} sr_model_array;
int sr_model_data_from_array(sr_model_data *data, sr_model_array *arr, const double *const *x,
                             const double *y, size_t n, size_t p, size_t block_rows, sr_error *err);

/* ---------------------------------------------------- logistic regression */

/* Objective (minimised), with eta_i = b + w.x_i and y_i in {0,1}:
 *   sum_i [ log(1 + exp(eta_i)) - y_i eta_i ] + (l2 / 2) * sum_j (s_j w_j)^2
 * The intercept b is never penalised. s_j = 1, or with standardize the
 * population standard deviation of feature j (= fitting on standardized
 * features and mapping the coefficients back to the original scale).
 * scikit-learn's LogisticRegression(C=c) is l2 = 1 / c. Solved by Newton's
 * method with backtracking; one pass over the data per iteration. */
typedef struct sr_logreg_opts {
    double l2;        /* >= 0 */
    int intercept;    /* 1: fit an (unpenalised) intercept */
    int standardize;  /* 1: penalty on the standardized scale (one extra pass) */
    int max_iter;     /* Newton iterations; 0 = 100 */
    double tol;       /* stop when max_j |step_j| / (1 + |beta_j|) < tol; 0 = 1e-10 */
    unsigned threads; /* worker threads; 0 = 2 */
} sr_logreg_opts;

typedef struct sr_model_fit {
    size_t p;
    uint64_t n;                          /* rows seen */
    double coef[SR_MODEL_MAX_FEATURES];  /* original scale */
    double intercept;                    /* 0 when not fitted */
    double scale[SR_MODEL_MAX_FEATURES]; /* s_j used for the penalty (1 if not standardized) */
    int iterations;                      /* Newton iterations (logistic, Cox) */
    double objective;                    /* objective value at the solution */
    /* standard errors (NaN when l2 > 0): linear and logistic regression, Cox */
    double se[SR_MODEL_MAX_FEATURES];
    double se_intercept;
    /* linear regression only */
    double rss, tss, r2, r2_adj, sigma2;
    double df_resid;
} sr_model_fit;

int sr_logreg_fit(const sr_model_data *data, const sr_logreg_opts *opts, sr_model_fit *out,
                  sr_error *err);

/* ------------------------------------------------------------ DP variants */

/* Neighbouring data sets differ by adding or removing one person, who owns
 * at most rows_per_person rows (the engine enforces the bound). */
enum { SR_MODEL_DP_LAPLACE = 1, SR_MODEL_DP_GAUSSIAN = 2 };
typedef struct sr_model_dp {
    int mechanism;            /* SR_MODEL_DP_LAPLACE: pure epsilon-DP (discrete Laplace);
                                 SR_MODEL_DP_GAUSSIAN: rho-zCDP (discrete Gaussian) */
    double epsilon;           /* Laplace */
    double rho;               /* Gaussian */
    unsigned rows_per_person; /* m; 0 = 1 */
    sr_rng *rng;              /* noise source (dp.h) */
} sr_model_dp;

/* DP logistic regression by output perturbation with clipping: every row's
 * vector (x_i, 1) (or x_i without intercept) is scaled to L2 norm <= clip,
 * the objective above is minimised with the intercept penalised like the
 * features (l2 > 0 required, no standardize), and each coefficient gets
 * independent exact integer noise at fixed point: the minimiser's L2
 * sensitivity is Delta = m * clip / l2; Gaussian sigma^2 = Delta'^2 /
 * (2 rho), Laplace scale sqrt(k) Delta' / epsilon (k coefficients; Delta'
 * includes the fixed-point rounding, docs/MODELS.md). *noise_scale (may be
 * NULL) receives sigma or the Laplace scale per coefficient. out->n,
 * objective and iterations are not released (0 / NaN). */
int sr_logreg_fit_dp(const sr_model_data *data, const sr_logreg_opts *opts, double clip,
                     const sr_model_dp *dp, sr_model_fit *out, double *noise_scale, sr_error *err);

/* ------------------------------------------------------ linear regression */

/* Least squares, optionally ridge: minimise
 *   sum_i (y_i - b - w.x_i)^2 + l2 * sum_j (s_j w_j)^2
 * computed by a streaming Householder QR of [1 X y] (R factors of blocks
 * merged pairwise), never forming X'X. Standard errors, R² as in
 * statsmodels OLS (l2 = 0): sigma² = RSS / (n - k), se = sqrt(diag(sigma²
 * (X'X)^-1)); R² is centred with an intercept, uncentred without. */
typedef struct sr_linreg_opts {
    double l2;
    int intercept;
    int standardize;
    unsigned threads;
} sr_linreg_opts;

int sr_linreg_fit(const sr_model_data *data, const sr_linreg_opts *opts, sr_model_fit *out,
                  sr_error *err);

/* ------------------------------------------------------------ Kaplan–Meier */

/* Accumulator of per-(group, distinct time) counts. Memory grows with the
 * number of distinct times per group, not with rows. Add blocks, merge
 * accumulators (threads, owners), then finish to build the curves. */
typedef struct sr_km sr_km;

typedef struct sr_km_point {
    double time;
    double n_risk;   /* at risk just before time (counts, or noisy counts in DP) */
    double n_event;
    double n_censor;
    double surv;     /* S(time) */
    double se_log;   /* Greenwood: sqrt(sum d / (n (n - d))), se of -log S (= R survfit $std.err) */
    double se_surv;  /* surv * se_log (= R summary(survfit)$std.err) */
} sr_km_point;

/* ngroups groups numbered 0 .. ngroups-1 (1 for an ungrouped curve). */
int sr_km_new(sr_km **out, size_t ngroups, sr_error *err);
void sr_km_free(sr_km *km);
/* n rows: time[i] (finite), event[i] (1 event, 0 censored), group[i] (<
 * ngroups; group may be NULL = all group 0). */
int sr_km_add(sr_km *km, const double *time, const uint8_t *event, const uint32_t *group, size_t n,
              sr_error *err);
int sr_km_merge(sr_km *dst, const sr_km *src, sr_error *err);
/* Sorts and builds the curves; after it, no more adds. */
int sr_km_finish(sr_km *km, sr_error *err);
size_t sr_km_ngroups(const sr_km *km);
/* Points of a group's curve, one per distinct time (event or censoring),
 * ascending; valid until sr_km_free. */
const sr_km_point *sr_km_curve(const sr_km *km, size_t group, size_t *npoints);
/* S and its standard error at declared times: the last point with time <=
 * t (S = 1, se = 0 before the first). */
int sr_km_at(const sr_km *km, size_t group, const double *t, size_t k, double *surv,
             double *se_surv, sr_error *err);

/* DP Kaplan–Meier on declared time points t_1 < ... < t_K: per group, the
 * counts of events d_k and censorings c_k with time in (t_{k-1}, t_k]
 * (t_0 = -inf) and the count s of rows with time > t_K are the released
 * statistics (each row falls in exactly one cell: L1 = L2 sensitivity m).
 * With dp == NULL they are exact. The at-risk numbers are suffix sums
 * n_k = sum_{j>=k} (d_j + c_j) + s, and the curve is the KM product over
 * the bins (events of a bin counted at its right end, censorings after
 * them): exact KM when every time lies on the grid. Noisy counts are
 * clamped to >= 0 (and d_k <= n_k) before the product. */
typedef struct sr_km_bins sr_km_bins;
int sr_km_bins_new(sr_km_bins **out, size_t ngroups, const double *points, size_t npoints,
                   sr_error *err);
void sr_km_bins_free(sr_km_bins *b);
int sr_km_bins_add(sr_km_bins *b, const double *time, const uint8_t *event, const uint32_t *group,
                   size_t n, sr_error *err);
int sr_km_bins_merge(sr_km_bins *dst, const sr_km_bins *src, sr_error *err);
/* out: ngroups * npoints points, group-major (time = t_k, n_risk, n_event,
 * n_censor noisy; surv, se_log, se_surv from them). *noise_scale (may be
 * NULL): Laplace scale m/epsilon or Gaussian sigma = m/sqrt(2 rho) per count. */
int sr_km_bins_release(const sr_km_bins *b, const sr_model_dp *dp, sr_km_point *out,
                       double *noise_scale, sr_error *err);

/* ----------------------------------------------------------------- Cox PH */

/* Cox proportional hazards by Newton on the partial likelihood, Breslow or
 * Efron ties. Data: blocks with x = covariates, y = time, plus per-row
 * event flags given as an extra column: the caller passes p + 1 columns and
 * the last one is the event flag (1 event, 0 censored). */
enum { SR_COX_BRESLOW = 0, SR_COX_EFRON = 1 };
typedef struct sr_cox_opts {
    int ties;        /* SR_COX_BRESLOW or SR_COX_EFRON */
    int max_iter;    /* 0 = 50 */
    double tol;      /* 0 = 1e-10 */
} sr_cox_opts;
/* out->coef, out->se (from the inverse information), out->objective =
 * log partial likelihood, out->iterations. data->p counts the event column. */
int sr_cox_fit(const sr_model_data *data, const sr_cox_opts *opts, sr_model_fit *out,
               sr_error *err);

#ifdef __cplusplus
}
#endif
#endif

/* L2-regularised logistic regression by Newton's method over streamed
 * blocks: each pass accumulates the loss, gradient and Hessian at the
 * current coefficients on every worker thread, the partial sums are merged
 * in worker order, and the small k x k Newton system is solved on the
 * calling thread. See docs/MODELS.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define LR_TILE 256
/* warm start on a subsample when there are at least this many blocks */
#define LR_WARM_MIN_BLOCKS 128
#define LR_WARM_STRIDE 8

/* Parameter layout: beta[0..p-1] feature coefficients, beta[p] intercept
 * (when fitted); k = p + intercept. */
struct lr_acc {
    size_t p, k;
    int intercept;
    const double *beta;
    double clip;  /* > 0: rows' (x, 1) vectors scaled to L2 norm <= clip */
    double n;
    double loss;
    double *g;  /* k */
    double *H;  /* k*k, upper triangle accumulated */
    double *u;  /* p * LR_TILE scratch: weight * x */
};

/* Dot products and sums over a tile, in 4-wide vectors (GCC vector
 * extensions; with GCC on x86-64 the kernels are also compiled for AVX2
 * and picked at load time). Summation order is fixed: results do not
 * depend on the CPU beyond the usual floating-point contract. */
typedef double v4d __attribute__((vector_size(32)));
/* unaligned view for loads and stores (the build uses -fno-strict-aliasing) */
typedef double v4du __attribute__((vector_size(32), aligned(8)));
#define LD4(p) (*(const v4du *)(const void *)(p))
#define ST4(p, v) (*(v4du *)(void *)(p) = (v))
#define HSUM4(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(SR_NO_CLONES)
#define SR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SR_CLONES
#endif

static inline double dot4(const double *a, const double *b, size_t n)
{
    v4d s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += LD4(a + i) * LD4(b + i);
        s1 += LD4(a + i + 4) * LD4(b + i + 4);
    }
    double t = HSUM4(s0 + s1);
    for (; i < n; i++)
        t += a[i] * b[i];
    return t;
}

static inline double sum4(const double *a, size_t n)
{
    v4d s0 = {0, 0, 0, 0}, s1 = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 += LD4(a + i);
        s1 += LD4(a + i + 4);
    }
    double t = HSUM4(s0 + s1);
    for (; i < n; i++)
        t += a[i];
    return t;
}

/* Hessian and gradient of one tile of m rows: u_j = wt * x_j (p rows of
 * LR_TILE), x column pointers (already offset to the tile), r residuals,
 * wt weights. H upper triangle (k x k), g (k). */
SR_CLONES
static void lr_tile_accumulate(double *H, double *g, size_t p, size_t k, int intercept,
                               const double *u, const double *const *x, size_t start,
                               const double *r, const double *wt, size_t m)
{
    size_t j = 0;
    /* 2 x 2 blocks of (u_j, u_j+1) x (x_c, x_c+1) */
    for (; j + 2 <= p; j += 2) {
        const double *u0 = u + j * LR_TILE, *u1 = u0 + LR_TILE;
        /* diagonal block: (j,j), (j,j+1), (j+1,j+1) */
        {
            const double *x0 = x[j] + start, *x1 = x[j + 1] + start;
            v4d a00 = {0, 0, 0, 0}, a01 = a00, a11 = a00;
            size_t i = 0;
            for (; i + 4 <= m; i += 4) {
                v4d p0 = LD4(u0 + i), p1 = LD4(u1 + i), q0 = LD4(x0 + i), q1 = LD4(x1 + i);
                a00 += p0 * q0;
                a01 += p0 * q1;
                a11 += p1 * q1;
            }
            double s00 = HSUM4(a00), s01 = HSUM4(a01), s11 = HSUM4(a11);
            for (; i < m; i++) {
                s00 += u0[i] * x0[i];
                s01 += u0[i] * x1[i];
                s11 += u1[i] * x1[i];
            }
            H[j * k + j] += s00;
            H[j * k + j + 1] += s01;
            H[(j + 1) * k + j + 1] += s11;
        }
        size_t c = j + 2;
        for (; c + 2 <= p; c += 2) {
            const double *x0 = x[c] + start, *x1 = x[c + 1] + start;
            v4d a00 = {0, 0, 0, 0}, a01 = a00, a10 = a00, a11 = a00;
            size_t i = 0;
            for (; i + 4 <= m; i += 4) {
                v4d p0 = LD4(u0 + i), p1 = LD4(u1 + i), q0 = LD4(x0 + i), q1 = LD4(x1 + i);
                a00 += p0 * q0;
                a01 += p0 * q1;
                a10 += p1 * q0;
                a11 += p1 * q1;
            }
            double s00 = HSUM4(a00), s01 = HSUM4(a01), s10 = HSUM4(a10), s11 = HSUM4(a11);
            for (; i < m; i++) {
                s00 += u0[i] * x0[i];
                s01 += u0[i] * x1[i];
                s10 += u1[i] * x0[i];
                s11 += u1[i] * x1[i];
            }
            H[j * k + c] += s00;
            H[j * k + c + 1] += s01;
            H[(j + 1) * k + c] += s10;
            H[(j + 1) * k + c + 1] += s11;
        }
        for (; c < p; c++) {
            H[j * k + c] += dot4(u0, x[c] + start, m);
            H[(j + 1) * k + c] += dot4(u1, x[c] + start, m);
        }
    }
    for (; j < p; j++) /* odd p: the last row */
        H[j * k + j] += dot4(u + j * LR_TILE, x[j] + start, m);
    for (j = 0; j < p; j++) {
        g[j] += dot4(r, x[j] + start, m);
        if (intercept)
            H[j * k + p] += sum4(u + j * LR_TILE, m);
    }
    if (intercept) {
        g[p] += sum4(r, m);
        H[p * k + p] += sum4(wt, m);
    }
}

/* eta[i] += w * x[i] / u[i] = w[i] * x[i], 4-wide */
static inline void axpy4(double *eta, double w, const double *x, size_t m)
{
    v4d wv = {w, w, w, w};
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        ST4(eta + i, LD4(eta + i) + wv * LD4(x + i));
    }
    for (; i < m; i++)
        eta[i] += w * x[i];
}

static inline void mul4(double *u, const double *w, const double *x, size_t m)
{
    size_t i = 0;
    for (; i + 4 <= m; i += 4) {
        ST4(u + i, LD4(w + i) * LD4(x + i));
    }
    for (; i < m; i++)
        u[i] = w[i] * x[i];
}

SR_CLONES
static int lr_block(void *accp, const sr_model_block *b, sr_error *err)
{
    struct lr_acc *a = accp;
    const size_t p = a->p, k = a->k;
    double eta[LR_TILE], r[LR_TILE], wt[LR_TILE], fac[LR_TILE];
    if (b->y == NULL)
        return sr_error_set(err, SR_EINVAL, "logistic regression: block without labels");
    for (size_t start = 0; start < b->n; start += LR_TILE) {
        size_t m = b->n - start < LR_TILE ? b->n - start : LR_TILE;
        const double *y = b->y + start;
        double b0 = a->intercept ? a->beta[p] : 0.0;
        for (size_t i = 0; i < m; i++)
            eta[i] = b0;
        for (size_t j = 0; j < p; j++)
            axpy4(eta, a->beta[j], b->x[j] + start, m);
        if (a->clip > 0) {
            /* row factor f_i = min(1, clip / ||(x_i, 1)||): the fit sees f_i (x_i, 1) */
            double c2 = a->clip * a->clip;
            for (size_t i = 0; i < m; i++)
                fac[i] = a->intercept ? 1.0 : 0.0;
            for (size_t j = 0; j < p; j++) {
                const double *xj = b->x[j] + start;
                for (size_t i = 0; i < m; i++)
                    fac[i] += xj[i] * xj[i];
            }
            for (size_t i = 0; i < m; i++) {
                fac[i] = fac[i] > c2 ? a->clip / sqrt(fac[i]) : 1.0;
                eta[i] *= fac[i];
            }
        }
        /* loss_i = max(eta,0) - y eta + log(1 + e), e = exp(-|eta|) in (0,1].
         * The log terms of a tile are summed as log(prod u_i), u_i =
         * fl(1 + e_i) in (1, 2] (at most 2^256: no overflow), plus the
         * first-order corrections (e_i - (u_i - 1)) / u_i that make
         * log(u_i) + c_i = log1p(e_i) to within c_i^2/2: one log per tile
         * instead of one log1p per row, with a rounding error of about one
         * ulp per row (as the summation itself has). */
        double loss = 0, prod = 1.0, corr = 0;
        for (size_t i = 0; i < m; i++) {
            double e = eta[i];
            if (!isfinite(e))
                return sr_error_set(err, SR_EINVAL,
                                    "logistic regression: non-finite feature value or overflow");
            if (y[i] != 0.0 && y[i] != 1.0)
                return sr_error_set(err, SR_EINVAL,
                                    "logistic regression: label %g is not 0 or 1", y[i]);
            double ex = exp(-fabs(e));
            double u = 1.0 + ex, inv = 1.0 / u;
            double mu = e >= 0 ? inv : ex * inv;
            prod *= u;
            corr += (ex - (u - 1.0)) * inv;
            loss += (e > 0 ? e : 0.0) - y[i] * e;
            r[i] = mu - y[i];
            wt[i] = mu * (1.0 - mu);
        }
        loss += log(prod) + corr;
        if (a->clip > 0) {
            /* gradient and Hessian of the clipped rows: r f x, wt f^2 x x' */
            for (size_t i = 0; i < m; i++) {
                r[i] *= fac[i];
                wt[i] *= fac[i] * fac[i];
            }
        }
        a->loss += loss;
        for (size_t j = 0; j < p; j++)
            mul4(a->u + j * LR_TILE, wt, b->x[j] + start, m);
        lr_tile_accumulate(a->H, a->g, p, k, a->intercept, a->u, b->x, start, r, wt, m);
    }
    a->n += (double)b->n;
    return SR_OK;
}

struct lr_state {
    const sr_model_data *data;
    unsigned threads;
    size_t p, k;
    int intercept;
    const double *pen; /* k penalty weights: l2 * s_j^2, intercept 0 (or l2 in DP) */
    double clip;
    size_t stride;     /* 1, or the warm-start subsample's block stride */
    /* workspace: step, trial point, gradient and Hessian (current, trial) */
    double *step, *trial, *g, *H, *g2, *H2;
    struct lr_acc acc[SR_MODEL_MAX_THREADS];
    double *mem;
};

/* Evaluates f, g, H (penalty included) at beta. */
static int lr_eval(struct lr_state *s, const double *beta, double *f, double *g, double *H,
                   double *n, sr_error *err)
{
    void *ptrs[SR_MODEL_MAX_THREADS] = {0};
    size_t k = s->k;
    for (unsigned t = 0; t < s->threads; t++) {
        struct lr_acc *a = &s->acc[t];
        a->beta = beta;
        a->clip = s->clip;
        a->n = 0;
        a->loss = 0;
        memset(a->g, 0, k * sizeof(double));
        memset(a->H, 0, k * k * sizeof(double));
        ptrs[t] = a;
    }
    int rc = sr_model_pass_strided(s->data, s->threads, s->stride, ptrs, lr_block, err);
    if (rc != SR_OK)
        return rc;
    double loss = 0, rows = 0;
    memset(g, 0, k * sizeof(double));
    memset(H, 0, k * k * sizeof(double));
    for (unsigned t = 0; t < s->threads; t++) {
        const struct lr_acc *a = &s->acc[t];
        loss += a->loss;
        rows += a->n;
        for (size_t i = 0; i < k; i++)
            g[i] += a->g[i];
        for (size_t i = 0; i < k * k; i++)
            H[i] += a->H[i];
    }
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            H[i * k + j] = H[j * k + i];
    for (size_t j = 0; j < k; j++) {
        loss += 0.5 * s->pen[j] * beta[j] * beta[j];
        g[j] += s->pen[j] * beta[j];
        H[j * k + j] += s->pen[j];
    }
    *f = loss;
    *n = rows;
    return SR_OK;
}

/* Newton's method from beta (updated in place) on the blocks selected by
 * s->stride; on return s->H holds the Hessian of the last pass. */
static int lr_newton(struct lr_state *s, double *beta, int max_iter, double tol, int *iters_out,
                     double *f_out, double *n_out, sr_error *err)
{
    const size_t k = s->k;
    double *step = s->step, *trial = s->trial, *g = s->g, *H = s->H, *g2 = s->g2, *H2 = s->H2;
    double f, f2, n;
    int rc = lr_eval(s, beta, &f, g, H, &n, err);
    if (rc != SR_OK)
        return rc;
    if (n == 0)
        return sr_error_set(err, SR_EINVAL, "logistic regression: no rows");
    int it, iters = 0, converged = 0;
    for (it = 1; it <= max_iter && !converged; it++) {
        rc = sr_model_spd_solve(k, H, g, step, NULL, err);
        if (rc != SR_OK) {
            return sr_error_prefix(err, "logistic regression (iteration %d)", it);
        }
        double gd = 0;
        for (size_t i = 0; i < k; i++)
            gd += g[i] * step[i];
        double t = 1.0;
        int tiny = 0;
        for (;;) {
            double rel = 0;
            for (size_t i = 0; i < k; i++) {
                trial[i] = beta[i] - t * step[i];
                double r = fabs(t * step[i]) / (1.0 + fabs(beta[i]));
                if (r > rel)
                    rel = r;
            }
            if (t == 1.0 && rel < tol) {
                /* a full Newton step below tol: beta is within ~step^2 of
                 * the optimum; take the step without another pass */
                converged = 1;
                tiny = 1;
                break;
            }
            rc = lr_eval(s, trial, &f2, g2, H2, &n, err);
            if (rc != SR_OK)
                return rc;
            if (rel < tol) {
                converged = 1;
                break;
            }
            if (isfinite(f2) && f2 <= f - 1e-4 * t * gd)
                break;
            /* near the optimum the decrease (about gd/2, gd the squared
             * Newton decrement) drowns in the rounding of f: a full Newton
             * step is then safe (quadratic region) and is taken as is */
            if (t == 1.0 && isfinite(f2) && gd < 1e-2 && gd < 1e-10 * (fabs(f) + 1.0))
                break;
            t *= 0.5;
            if (t < 1e-12)
                return sr_error_set(err, SR_ESTATE,
                                    "logistic regression: line search failed at iteration %d", it);
        }
        memcpy(beta, trial, k * sizeof(double));
        iters = it;
        if (tiny)
            break;
        memcpy(g, g2, k * sizeof(double));
        memcpy(H, H2, k * k * sizeof(double));
        f = f2;
    }
    if (!converged)
        return sr_error_set(err, SR_ESTATE,
                            "logistic regression: no convergence in %d Newton iterations "
                            "(separable data? use l2 > 0)", max_iter);
    *iters_out = iters;
    *f_out = f;
    *n_out = n;
    return SR_OK;
}

/* The fit; clip > 0 clips rows and penalises the intercept like the
 * features (the DP variant's objective). */
static int lr_fit(const sr_model_data *data, const sr_logreg_opts *opts, double clip,
                  sr_model_fit *out, sr_error *err)
{
    if (data == NULL || opts == NULL || out == NULL || data->block == NULL)
        return sr_error_set(err, SR_EINVAL, "logistic regression: NULL argument");
    const size_t p = data->p;
    if (p > SR_MODEL_MAX_FEATURES)
        return sr_error_set(err, SR_ELIMIT, "logistic regression: %zu features exceed the limit %d",
                            p, SR_MODEL_MAX_FEATURES);
    if (!(opts->l2 >= 0) || !isfinite(opts->l2))
        return sr_error_set(err, SR_EINVAL, "logistic regression: l2 must be a finite number >= 0");
    if (p == 0 && !opts->intercept)
        return sr_error_set(err, SR_EINVAL, "logistic regression: no features and no intercept");
    const int max_iter = opts->max_iter > 0 ? opts->max_iter : 100;
    const double tol = opts->tol > 0 ? opts->tol : 1e-10;

    struct lr_state s;
    memset(&s, 0, sizeof(s));
    s.data = data;
    s.threads = sr_model_threads(opts->threads, data->nblocks);
    s.p = p;
    s.intercept = opts->intercept ? 1 : 0;
    s.k = p + (size_t)s.intercept;
    const size_t k = s.k;

    memset(out, 0, sizeof(*out));
    out->p = p;
    double mean[SR_MODEL_MAX_FEATURES], pen[SR_MODEL_MAX_FEATURES + 1];
    for (size_t j = 0; j < p; j++)
        out->scale[j] = 1.0;
    int rc;
    if (opts->standardize && p > 0) {
        uint64_t n0;
        rc = sr_model_feature_stats(data, s.threads, mean, out->scale, &n0, err);
        if (rc != SR_OK)
            return sr_error_prefix(err, "logistic regression");
        for (size_t j = 0; j < p; j++)
            if (!(out->scale[j] > 0))
                return sr_error_set(err, SR_EINVAL,
                                    "logistic regression: feature %zu is constant, cannot "
                                    "standardize", j);
    }
    for (size_t j = 0; j < p; j++)
        pen[j] = opts->l2 * out->scale[j] * out->scale[j];
    pen[p] = clip > 0 ? opts->l2 : 0.0;
    s.pen = pen;
    s.clip = clip;

    /* per-thread g, H, u; then beta, step, trial, g, H (current and trial) */
    size_t per = k + k * k + p * LR_TILE;
    size_t total = per * s.threads + 4 * k + 2 * (k + k * k) + 1;
    s.mem = calloc(total, sizeof(double));
    if (s.mem == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    double *q = s.mem;
    for (unsigned t = 0; t < s.threads; t++) {
        s.acc[t].p = p;
        s.acc[t].k = k;
        s.acc[t].intercept = s.intercept;
        s.acc[t].g = q;
        q += k;
        s.acc[t].H = q;
        q += k * k;
        s.acc[t].u = q;
        q += p * LR_TILE;
    }
    double *beta = q; q += k;
    double *step = q; q += k;
    double *trial = q; q += k;
    double *g = q; q += k;
    double *H = q; q += k * k;
    double *g2 = q; q += k;
    double *H2 = q; q += k * k;

    s.step = step;
    s.trial = trial;
    s.g = g;
    s.H = H;
    s.g2 = g2;
    s.H2 = H2;
    double f, n;
    int iters = 0;
    if (data->nblocks >= LR_WARM_MIN_BLOCKS) {
        /* warm start: Newton on every LR_WARM_STRIDE-th block with the
         * penalty scaled to that fraction; its optimum is within sampling
         * error of the full one, so the full-data Newton below needs
         * fewer passes. Any failure just means starting from zero. */
        double pen_sub[SR_MODEL_MAX_FEATURES + 1];
        size_t nsub = (data->nblocks + LR_WARM_STRIDE - 1) / LR_WARM_STRIDE;
        double frac = (double)nsub / (double)data->nblocks;
        for (size_t j = 0; j < k; j++)
            pen_sub[j] = pen[j] * frac;
        s.pen = pen_sub;
        s.stride = LR_WARM_STRIDE;
        int warm_iters = 0;
        if (lr_newton(&s, beta, 50, 1e-6, &warm_iters, &f, &n, err) != SR_OK) {
            memset(beta, 0, k * sizeof(double));
            sr_error_clear(err);
        }
        s.pen = pen;
    }
    s.stride = 1;
    rc = lr_newton(&s, beta, max_iter, tol, &iters, &f, &n, err);
    if (rc != SR_OK)
        goto fail;
    for (size_t j = 0; j < p; j++)
        out->coef[j] = beta[j];
    out->intercept = s.intercept ? beta[p] : 0.0;
    out->iterations = iters;
    out->objective = f;
    out->n = (uint64_t)n;
    for (size_t j = 0; j < p; j++)
        out->se[j] = NAN;
    out->se_intercept = NAN;
    if (opts->l2 == 0 && clip == 0) {
        /* maximum-likelihood standard errors: sqrt(diag(H^-1)), H the
         * Hessian of the last pass (within a sub-tolerance step of beta) */
        double *inv = H2;
        if (sr_model_spd_solve(k, H, NULL, NULL, inv, err) == SR_OK) {
            for (size_t j = 0; j < p; j++)
                out->se[j] = sqrt(inv[j * k + j]);
            if (s.intercept)
                out->se_intercept = sqrt(inv[p * k + p]);
        }
        sr_error_clear(err);
    }
    free(s.mem);
    return SR_OK;
fail:
    free(s.mem);
    return rc;
}

int sr_logreg_fit(const sr_model_data *data, const sr_logreg_opts *opts, sr_model_fit *out,
                  sr_error *err)
{
    return lr_fit(data, opts, 0.0, out, err);
}

int sr_logreg_fit_dp(const sr_model_data *data, const sr_logreg_opts *opts, double clip,
                     const sr_model_dp *dp, sr_model_fit *out, double *noise_scale, sr_error *err)
{
    if (data == NULL || opts == NULL || dp == NULL || out == NULL)
        return sr_error_set(err, SR_EINVAL, "DP logistic regression: NULL argument");
    if (!(opts->l2 > 0) || !isfinite(opts->l2))
        return sr_error_set(err, SR_EINVAL, "DP logistic regression: l2 must be > 0 (it bounds "
                            "the sensitivity)");
    if (opts->standardize)
        return sr_error_set(err, SR_EINVAL, "DP logistic regression: standardize is not "
                            "available (use declared feature scales and clip)");
    if (!(clip > 0) || !isfinite(clip))
        return sr_error_set(err, SR_EINVAL, "DP logistic regression: clip must be > 0");
    double m = dp->rows_per_person ? (double)dp->rows_per_person : 1.0;
    size_t k = data->p + (opts->intercept ? 1 : 0);
    /* add/remove one person (m rows): the minimiser of an l2-strongly convex
     * objective moves by at most ||sum of the rows' loss gradients|| / l2
     * <= m * clip / l2 (|dloss/deta| <= 1, ||f_i (x_i,1)|| <= clip) */
    double sens2 = m * clip / opts->l2;
    int rc = lr_fit(data, opts, clip, out, err);
    if (rc != SR_OK)
        return rc;
    double coef[SR_MODEL_MAX_FEATURES + 1];
    for (size_t j = 0; j < data->p; j++)
        coef[j] = out->coef[j];
    coef[data->p] = out->intercept;
    rc = sr_model_dp_vector(dp, coef, k, sens2, noise_scale, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "DP logistic regression");
    for (size_t j = 0; j < data->p; j++)
        out->coef[j] = coef[j];
    out->intercept = opts->intercept ? coef[data->p] : 0.0;
    /* nothing data-dependent but the noised coefficients leaves */
    out->n = 0;
    out->objective = NAN;
    out->iterations = 0;
    return SR_OK;
}

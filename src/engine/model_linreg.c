/* Linear least squares (optionally ridge) by a streaming Householder QR.
 *
 * The design matrix with the target appended, A = [1 X y] (the 1 column
 * only with an intercept), is never formed: each worker keeps the m x m
 * upper-triangular R of the rows it has seen and folds every tile of rows
 * into it with Householder reflections (R' of [R; tile]). Workers' R are
 * merged the same way. Then, with R = [[R11, r], [0, rho]]:
 *   coefficients  R11 b = r,  RSS = rho^2 (OLS),
 *   (X'X)^-1 = R11^-1 R11^-T  (standard errors),
 *   ||y||^2 = ||R e_y||^2, and with the intercept first, the centred
 *   TSS = sum over rows i >= 1 of R[i][y]^2.
 * Ridge adds the rows sqrt(l2) s_j e_j (target 0) before solving; RSS is
 * then ||R_data [-b; 1]||^2 from the data-only factor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define QR_TILE 128

struct qr_acc {
    size_t p, m;      /* features, columns of A */
    int intercept;
    double n;
    double *R;        /* m x m, row-major, upper triangle */
    double *tile;     /* column-major, QR_TILE x m */
};

/* Folds `rows` rows (column-major in t with leading dimension ld) into R.
 * t is overwritten. */
static void qr_absorb(double *R, size_t m, double *t, size_t ld, size_t rows)
{
    for (size_t c = 0; c < m; c++) {
        double *tc = t + c * ld;
        double alpha = R[c * m + c];
        double xn2 = 0;
        for (size_t i = 0; i < rows; i++)
            xn2 += tc[i] * tc[i];
        if (xn2 == 0)
            continue;
        double norm = sqrt(alpha * alpha + xn2);
        double beta = alpha >= 0 ? -norm : norm;
        double scale = 1.0 / (alpha - beta);
        for (size_t i = 0; i < rows; i++)
            tc[i] *= scale; /* v = [1; tc] */
        double tau = (beta - alpha) / beta;
        for (size_t c2 = c + 1; c2 < m; c2++) {
            double *t2 = t + c2 * ld;
            double s = R[c * m + c2];
            for (size_t i = 0; i < rows; i++)
                s += tc[i] * t2[i];
            s *= tau;
            R[c * m + c2] -= s;
            for (size_t i = 0; i < rows; i++)
                t2[i] -= s * tc[i];
        }
        R[c * m + c] = beta;
    }
}

static int qr_block(void *accp, const sr_model_block *b, sr_error *err)
{
    struct qr_acc *a = accp;
    const size_t m = a->m, off = a->intercept ? 1 : 0;
    if (b->y == NULL)
        return sr_error_set(err, SR_EINVAL, "linear regression: block without targets");
    for (size_t start = 0; start < b->n; start += QR_TILE) {
        size_t rows = b->n - start < QR_TILE ? b->n - start : QR_TILE;
        if (a->intercept)
            for (size_t i = 0; i < rows; i++)
                a->tile[i] = 1.0;
        for (size_t j = 0; j < a->p; j++) {
            const double *x = b->x[j] + start;
            double *tc = a->tile + (j + off) * QR_TILE;
            for (size_t i = 0; i < rows; i++) {
                if (!isfinite(x[i]))
                    return sr_error_set(err, SR_EINVAL, "linear regression: feature %zu has a "
                                        "non-finite value", j);
                tc[i] = x[i];
            }
        }
        double *ty = a->tile + (m - 1) * QR_TILE;
        for (size_t i = 0; i < rows; i++) {
            if (!isfinite(b->y[start + i]))
                return sr_error_set(err, SR_EINVAL, "linear regression: non-finite target");
            ty[i] = b->y[start + i];
        }
        qr_absorb(a->R, m, a->tile, QR_TILE, rows);
    }
    a->n += (double)b->n;
    return SR_OK;
}

/* Solves the upper-triangular R11 (k x k, inside m x m R) b = r. */
static void back_solve(const double *R, size_t m, size_t k, double *b)
{
    for (size_t ii = k; ii-- > 0;) {
        double s = R[ii * m + (m - 1)];
        for (size_t c = ii + 1; c < k; c++)
            s -= R[ii * m + c] * b[c];
        b[ii] = s / R[ii * m + ii];
    }
}

int sr_linreg_fit(const sr_model_data *data, const sr_linreg_opts *opts, sr_model_fit *out,
                  sr_error *err)
{
    if (data == NULL || opts == NULL || out == NULL || data->block == NULL)
        return sr_error_set(err, SR_EINVAL, "linear regression: NULL argument");
    const size_t p = data->p;
    if (p > SR_MODEL_MAX_FEATURES)
        return sr_error_set(err, SR_ELIMIT, "linear regression: %zu features exceed the limit %d",
                            p, SR_MODEL_MAX_FEATURES);
    if (!(opts->l2 >= 0) || !isfinite(opts->l2))
        return sr_error_set(err, SR_EINVAL, "linear regression: l2 must be a finite number >= 0");
    const int icpt = opts->intercept ? 1 : 0;
    const size_t k = p + (size_t)icpt, m = k + 1, off = (size_t)icpt;
    if (k == 0)
        return sr_error_set(err, SR_EINVAL, "linear regression: no features and no intercept");
    unsigned threads = sr_model_threads(opts->threads, data->nblocks);

    memset(out, 0, sizeof(*out));
    out->p = p;
    for (size_t j = 0; j < p; j++)
        out->scale[j] = 1.0;
    int rc;
    if (opts->standardize && p > 0) {
        double mean[SR_MODEL_MAX_FEATURES];
        uint64_t n0;
        rc = sr_model_feature_stats(data, threads, mean, out->scale, &n0, err);
        if (rc != SR_OK)
            return sr_error_prefix(err, "linear regression");
        for (size_t j = 0; j < p; j++)
            if (!(out->scale[j] > 0))
                return sr_error_set(err, SR_EINVAL,
                                    "linear regression: feature %zu is constant, cannot "
                                    "standardize", j);
    }

    struct qr_acc acc[SR_MODEL_MAX_THREADS];
    void *ptrs[SR_MODEL_MAX_THREADS] = {0};
    size_t per = m * m + QR_TILE * m;
    double *mem = calloc(per * threads + 3 * m * m + m * (m > QR_TILE ? m : QR_TILE) + 2 * m,
                         sizeof(double));
    if (mem == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    double *q = mem;
    for (unsigned t = 0; t < threads; t++) {
        acc[t].p = p;
        acc[t].m = m;
        acc[t].intercept = icpt;
        acc[t].n = 0;
        acc[t].R = q;
        q += m * m;
        acc[t].tile = q;
        q += QR_TILE * m;
        ptrs[t] = &acc[t];
    }
    double *R = acc[0].R;
    double *Rd = q; q += m * m;   /* data-only factor */
    double *Ri = q; q += m * m;   /* R11^-1 */
    double *scratch = q; q += m * m;
    double *work = q; q += m * (m > QR_TILE ? m : QR_TILE);
    double *beta = q; q += m;
    double *rv = q; q += m;
    (void)scratch;

    rc = sr_model_pass(data, threads, ptrs, qr_block, err);
    if (rc != SR_OK)
        goto done;
    double n = acc[0].n;
    for (unsigned t = 1; t < threads; t++) {
        /* stack R_t under R: rows of R_t as a column-major tile of m rows */
        for (size_t c = 0; c < m; c++)
            for (size_t r = 0; r < m; r++)
                work[c * m + r] = acc[t].R[r * m + c];
        qr_absorb(R, m, work, m, m);
        n += acc[t].n;
    }
    if (n == 0) {
        rc = sr_error_set(err, SR_EINVAL, "linear regression: no rows");
        goto done;
    }
    memcpy(Rd, R, m * m * sizeof(double));
    /* column norms of A = norms of R's columns; rank check on the diagonal */
    if (opts->l2 > 0) {
        for (size_t j = 0; j < p; j++) {
            memset(work, 0, m * sizeof(double));
            work[j + off] = sqrt(opts->l2) * out->scale[j];
            /* one row: column-major with ld 1 */
            qr_absorb(R, m, work, 1, 1);
        }
    }
    for (size_t c = 0; c < k; c++) {
        double cn = 0;
        for (size_t r = 0; r <= c; r++)
            cn += R[r * m + c] * R[r * m + c];
        cn = sqrt(cn);
        if (!(fabs(R[c * m + c]) > 1e-12 * cn) || cn == 0) {
            size_t which = c;
            if (icpt && c == 0) {
                rc = sr_error_set(err, SR_ESTATE, "linear regression: intercept column is "
                                  "collinear with the features");
            } else {
                rc = sr_error_set(err, SR_ESTATE, "linear regression: feature %zu is constant or "
                                  "collinear with the others", which - off);
            }
            goto done;
        }
    }
    back_solve(R, m, k, beta);

    /* RSS = ||Rd [-b; 1]||^2 */
    double rss = 0;
    for (size_t r = 0; r < m; r++) {
        double s = Rd[r * m + (m - 1)];
        for (size_t c = r; c < k; c++)
            s -= Rd[r * m + c] * beta[c];
        rv[r] = s;
        rss += s * s;
    }
    double tss = 0;
    for (size_t r = (size_t)icpt; r < m; r++)
        tss += Rd[r * m + (m - 1)] * Rd[r * m + (m - 1)];

    double df = n - (double)k;
    out->n = (uint64_t)n;
    out->rss = rss;
    out->tss = tss;
    out->df_resid = df;
    out->r2 = tss > 0 ? 1.0 - rss / tss : NAN;
    out->r2_adj = (df > 0 && tss > 0) ? 1.0 - (n - (double)icpt) / df * (rss / tss) : NAN;
    out->sigma2 = df > 0 ? rss / df : NAN;
    for (size_t j = 0; j < p; j++)
        out->coef[j] = beta[j + off];
    out->intercept = icpt ? beta[0] : 0.0;
    double pen = 0;
    for (size_t j = 0; j < p; j++)
        pen += opts->l2 * out->scale[j] * out->scale[j] * beta[j + off] * beta[j + off];
    out->objective = rss + pen;

    /* standard errors (OLS only): diag of sigma2 * R11^-1 R11^-T */
    for (size_t j = 0; j < p; j++)
        out->se[j] = NAN;
    out->se_intercept = NAN;
    if (opts->l2 == 0 && df > 0) {
        memset(Ri, 0, m * m * sizeof(double));
        for (size_t c = 0; c < k; c++) {
            /* column c of R11^-1: solve R11 z = e_c (upper triangular) */
            for (size_t ii = c + 1; ii-- > 0;) {
                double s = (ii == c) ? 1.0 : 0.0;
                for (size_t t = ii + 1; t <= c; t++)
                    s -= R[ii * m + t] * Ri[t * m + c];
                Ri[ii * m + c] = s / R[ii * m + ii];
            }
        }
        for (size_t r = 0; r < k; r++) {
            double v = 0;
            for (size_t c = r; c < k; c++)
                v += Ri[r * m + c] * Ri[r * m + c];
            double se = sqrt(out->sigma2 * v);
            if (icpt && r == 0)
                out->se_intercept = se;
            else
                out->se[r - off] = se;
        }
    }
    rc = SR_OK;
done:
    free(mem);
    return rc;
}

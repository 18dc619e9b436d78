/* Shared machinery of the models: in-memory data source, threaded passes,
 * feature statistics, small symmetric positive definite solves. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* ------------------------------------------------------------ array source */

static int array_block(void *ctx, unsigned worker, size_t index, sr_model_block *out,
                       sr_error *err)
{
    sr_model_array *a = ctx;
    if (worker >= SR_MODEL_MAX_THREADS)
        return sr_error_set(err, SR_EINVAL, "model data: worker %u out of range", worker);
    size_t start = index * a->block_rows;
    if (start >= a->n)
        return sr_error_set(err, SR_EINVAL, "model data: block %zu out of range", index);
    size_t n = a->n - start < a->block_rows ? a->n - start : a->block_rows;
    for (size_t j = 0; j < a->p; j++)
        a->xs[worker][j] = a->x[j] + start;
    out->n = n;
    out->x = a->xs[worker];
    out->y = a->y ? a->y + start : NULL;
    return SR_OK;
}

int sr_model_data_from_array(sr_model_data *data, sr_model_array *arr, const double *const *x,
                             const double *y, size_t n, size_t p, size_t block_rows, sr_error *err)
{
    if (data == NULL || arr == NULL || (p > 0 && x == NULL))
        return sr_error_set(err, SR_EINVAL, "model data: NULL argument");
    if (p > SR_MODEL_MAX_FEATURES + 1) /* +1: Cox passes the event column */
        return sr_error_set(err, SR_ELIMIT, "model data: %zu features exceed the limit %d", p,
                            SR_MODEL_MAX_FEATURES);
    memset(arr, 0, sizeof(*arr));
    arr->x = x;
    arr->y = y;
    arr->n = n;
    arr->p = p;
    arr->block_rows = block_rows ? block_rows : 8192;
    data->p = p;
    data->nblocks = (n + arr->block_rows - 1) / arr->block_rows;
    data->block = array_block;
    data->ctx = arr;
    data->begin_pass = NULL;
    data->cancel = NULL;
    return SR_OK;
}

/* ------------------------------------------------------------------ passes */

unsigned sr_model_threads(unsigned requested, size_t nblocks)
{
    unsigned t = requested ? requested : 2;
    if (t > SR_MODEL_MAX_THREADS)
        t = SR_MODEL_MAX_THREADS;
    if (nblocks < t)
        t = nblocks ? (unsigned)nblocks : 1;
    return t;
}

struct pass_job {
    const sr_model_data *data;
    unsigned worker, threads;
    size_t stride;
    void *acc;
    sr_model_block_fn fn;
    int rc;
    sr_error err;
    /* order of failure (sources with cancel(): the first failure is the
     * cause, later ones are workers released by cancel()) */
    pthread_mutex_t *mu;
    unsigned *nfail;
    unsigned fail_seq;
};

static void *pass_worker(void *arg)
{
    struct pass_job *j = arg;
    j->rc = SR_OK;
    sr_error_clear(&j->err);
    for (size_t q = j->worker; q < (j->data->nblocks + j->stride - 1) / j->stride;
         q += j->threads) {
        size_t i = q * j->stride;
        sr_model_block b;
        memset(&b, 0, sizeof(b));
        j->rc = j->data->block(j->data->ctx, j->worker, i, &b, &j->err);
        if (j->rc != SR_OK)
            break;
        if (b.n == 0)
            continue;
        if (b.x == NULL && j->data->p > 0) {
            j->rc = sr_error_set(&j->err, SR_EINVAL, "model data: block %zu has no columns", i);
            break;
        }
        j->rc = j->fn(j->acc, &b, &j->err);
        if (j->rc != SR_OK)
            break;
    }
    if (j->rc != SR_OK && j->data->cancel != NULL) {
        pthread_mutex_lock(j->mu);
        j->fail_seq = ++*j->nfail;
        pthread_mutex_unlock(j->mu);
        j->data->cancel(j->data->ctx);
    }
    return NULL;
}

int sr_model_pass(const sr_model_data *data, unsigned threads, void *const *accs,
                  sr_model_block_fn fn, sr_error *err)
{
    return sr_model_pass_strided(data, threads, 1, accs, fn, err);
}

int sr_model_pass_strided(const sr_model_data *data, unsigned threads, size_t stride,
                          void *const *accs, sr_model_block_fn fn, sr_error *err)
{
    struct pass_job jobs[SR_MODEL_MAX_THREADS];
    pthread_t tids[SR_MODEL_MAX_THREADS];
    int started[SR_MODEL_MAX_THREADS] = {0};
    if (threads == 0 || threads > SR_MODEL_MAX_THREADS)
        return sr_error_set(err, SR_EINVAL, "model pass: bad thread count %u", threads);
    if (stride == 0)
        return sr_error_set(err, SR_EINVAL, "model pass: stride 0");
    if (data->begin_pass != NULL && data->begin_pass(data->ctx, threads, stride, err) != SR_OK)
        return err ? err->code : SR_EIO;
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    unsigned nfail = 0;
    for (unsigned t = 0; t < threads; t++) {
        jobs[t].mu = &mu;
        jobs[t].nfail = &nfail;
        jobs[t].fail_seq = 0;
        jobs[t].stride = stride;
        jobs[t].data = data;
        jobs[t].worker = t;
        jobs[t].threads = threads;
        jobs[t].acc = accs[t];
        jobs[t].fn = fn;
        jobs[t].rc = SR_OK;
    }
    /* worker 0 runs on the calling thread */
    for (unsigned t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, pass_worker, &jobs[t]) == 0) {
            started[t] = 1;
        } else {
            jobs[t].rc = sr_error_set(&jobs[t].err, SR_EINTERNAL, "model pass: cannot start a thread");
            if (data->cancel != NULL) {
                pthread_mutex_lock(&mu);
                jobs[t].fail_seq = ++nfail;
                pthread_mutex_unlock(&mu);
                data->cancel(data->ctx);
            }
        }
    }
    pass_worker(&jobs[0]);
    for (unsigned t = 1; t < threads; t++)
        if (started[t])
            pthread_join(tids[t], NULL);
    pthread_mutex_destroy(&mu);
    if (nfail > 0) { /* report the first failure, the cause of the others */
        for (unsigned t = 0; t < threads; t++) {
            if (jobs[t].fail_seq == 1) {
                if (err) {
                    err->code = jobs[t].err.code;
                    memcpy(err->msg, jobs[t].err.msg, sizeof(err->msg));
                }
                return jobs[t].rc;
            }
        }
    }
    for (unsigned t = 0; t < threads; t++) {
        if (jobs[t].rc != SR_OK) {
            if (err) {
                err->code = jobs[t].err.code;
                memcpy(err->msg, jobs[t].err.msg, sizeof(err->msg));
            }
            return jobs[t].rc;
        }
    }
    return SR_OK;
}

/* ------------------------------------------------------- feature statistics */

struct stats_acc {
    size_t p;
    double n;
    double mean[SR_MODEL_MAX_FEATURES + 1];
    double m2[SR_MODEL_MAX_FEATURES + 1];
};

/* Merges (nb, mb, qb) into a: Chan et al. pairwise update. */
static void stats_merge1(double *na_mean, double *na_m2, double na, double mb, double qb, double nb)
{
    double n = na + nb;
    double delta = mb - *na_mean;
    *na_mean += delta * (nb / n);
    *na_m2 += qb + delta * delta * (na * nb / n);
}

static int stats_block(void *accp, const sr_model_block *b, sr_error *err)
{
    struct stats_acc *a = accp;
    double nb = (double)b->n;
    for (size_t j = 0; j < a->p; j++) {
        const double *x = b->x[j];
        double s = 0;
        for (size_t i = 0; i < b->n; i++)
            s += x[i];
        double m = s / nb;
        double q = 0;
        for (size_t i = 0; i < b->n; i++) {
            double d = x[i] - m;
            q += d * d;
        }
        if (!isfinite(m) || !isfinite(q))
            return sr_error_set(err, SR_EINVAL, "feature %zu has a non-finite value", j);
        if (a->n == 0) {
            a->mean[j] = m;
            a->m2[j] = q;
        } else {
            stats_merge1(&a->mean[j], &a->m2[j], a->n, m, q, nb);
        }
    }
    a->n += nb;
    return SR_OK;
}

int sr_model_feature_stats(const sr_model_data *data, unsigned threads, double *mean, double *sd,
                           uint64_t *n, sr_error *err)
{
    struct stats_acc *accs = calloc(threads, sizeof(*accs));
    void *ptrs[SR_MODEL_MAX_THREADS] = {0};
    if (accs == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (unsigned t = 0; t < threads; t++) {
        accs[t].p = data->p;
        ptrs[t] = &accs[t];
    }
    int rc = sr_model_pass(data, threads, ptrs, stats_block, err);
    if (rc == SR_OK) {
        for (unsigned t = 1; t < threads; t++) {
            if (accs[t].n == 0)
                continue;
            for (size_t j = 0; j < data->p; j++) {
                if (accs[0].n == 0) {
                    accs[0].mean[j] = accs[t].mean[j];
                    accs[0].m2[j] = accs[t].m2[j];
                } else {
                    stats_merge1(&accs[0].mean[j], &accs[0].m2[j], accs[0].n, accs[t].mean[j],
                                 accs[t].m2[j], accs[t].n);
                }
            }
            accs[0].n += accs[t].n;
        }
        for (size_t j = 0; j < data->p; j++) {
            mean[j] = accs[0].mean[j];
            sd[j] = accs[0].n > 0 ? sqrt(accs[0].m2[j] / accs[0].n) : 0;
        }
        *n = (uint64_t)accs[0].n;
    }
    free(accs);
    return rc;
}

/* ------------------------------------------------------------------ solves */

int sr_model_spd_solve(size_t k, const double *A, const double *b, double *x, double *inv,
                       sr_error *err)
{
    if (k == 0)
        return SR_OK;
    long double *L = calloc(k * k, sizeof(long double));
    long double *d = calloc(k, sizeof(long double));
    long double *z = calloc(k, sizeof(long double));
    int rc = SR_OK;
    if (L == NULL || d == NULL || z == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto done;
    }
    /* D = diag(A)^-1/2; factor D A D = L L' */
    for (size_t i = 0; i < k; i++) {
        double a = A[i * k + i];
        if (!(a > 0) || !isfinite(a)) {
            rc = sr_error_set(err, SR_ESTATE,
                              "singular system: coefficient %zu has no information (constant or "
                              "empty feature?)", i);
            goto done;
        }
        d[i] = 1.0L / sqrtl((long double)a);
    }
    for (size_t j = 0; j < k; j++) {
        long double s = (long double)A[j * k + j] * d[j] * d[j];
        for (size_t m = 0; m < j; m++)
            s -= L[j * k + m] * L[j * k + m];
        if (!(s > 1e-15L)) {
            rc = sr_error_set(err, SR_ESTATE,
                              "singular system: features are collinear (pivot %zu vanished)", j);
            goto done;
        }
        long double ljj = sqrtl(s);
        L[j * k + j] = ljj;
        for (size_t i = j + 1; i < k; i++) {
            long double t = (long double)A[i * k + j] * d[i] * d[j];
            for (size_t m = 0; m < j; m++)
                t -= L[i * k + m] * L[j * k + m];
            L[i * k + j] = t / ljj;
        }
    }
    /* solve (DAD) u = D b, x = D u */
    if (b != NULL && x != NULL) {
        for (size_t i = 0; i < k; i++) {
            long double t = (long double)b[i] * d[i];
            for (size_t m = 0; m < i; m++)
                t -= L[i * k + m] * z[m];
            z[i] = t / L[i * k + i];
        }
        for (size_t ii = k; ii-- > 0;) {
            long double t = z[ii];
            for (size_t m = ii + 1; m < k; m++)
                t -= L[m * k + ii] * z[m];
            z[ii] = t / L[ii * k + ii];
        }
        for (size_t i = 0; i < k; i++)
            x[i] = (double)(z[i] * d[i]);
    }
    if (inv != NULL) {
        /* columns of (DAD)^-1, then scale: A^-1 = D (DAD)^-1 D */
        for (size_t c = 0; c < k; c++) {
            for (size_t i = 0; i < k; i++) {
                long double t = (i == c) ? 1.0L : 0.0L;
                for (size_t m = 0; m < i; m++)
                    t -= L[i * k + m] * z[m];
                z[i] = t / L[i * k + i];
            }
            for (size_t ii = k; ii-- > 0;) {
                long double t = z[ii];
                for (size_t m = ii + 1; m < k; m++)
                    t -= L[m * k + ii] * z[m];
                z[ii] = t / L[ii * k + ii];
            }
            for (size_t i = 0; i < k; i++)
                inv[i * k + c] = (double)(z[i] * d[i] * d[c]);
        }
    }
done:
    free(L);
    free(d);
    free(z);
    return rc;
}

/* ---------------------------------------------------------------- DP noise */

int sr_model_dp_vector(const sr_model_dp *dp, double *v, size_t k, double sens2, double *scale,
                       sr_error *err)
{
    if (dp == NULL || dp->rng == NULL)
        return sr_error_set(err, SR_EINVAL, "DP: no random source");
    if (!(sens2 > 0) || !isfinite(sens2))
        return sr_error_set(err, SR_EINVAL, "DP: bad sensitivity %g", sens2);
    double rk = sqrt((double)k);
    int rc = SR_OK;
    if (dp->mechanism == SR_MODEL_DP_GAUSSIAN) {
        if (!(dp->rho > 0) || !isfinite(dp->rho))
            return sr_error_set(err, SR_EINVAL, "DP: rho must be > 0");
        double res = sens2 / 65536.0;
        /* rounding each entry to the grid moves it by <= res/2: the rounded
         * vectors of neighbours differ by <= sens2 + sqrt(k) res in L2 */
        double s = sens2 + rk * res;
        for (size_t i = 0; i < k && rc == SR_OK; i++)
            rc = sr_dp_gaussian_fixed(dp->rng, v[i], s, dp->rho, res, &v[i], scale, err);
    } else if (dp->mechanism == SR_MODEL_DP_LAPLACE) {
        if (!(dp->epsilon > 0) || !isfinite(dp->epsilon))
            return sr_error_set(err, SR_EINVAL, "DP: epsilon must be > 0");
        double l1 = rk * sens2; /* L1 <= sqrt(k) L2 */
        double res = l1 / 65536.0;
        double s = l1 + (double)k * res;
        for (size_t i = 0; i < k && rc == SR_OK; i++)
            rc = sr_dp_laplace_fixed(dp->rng, v[i], s, dp->epsilon, res, &v[i], scale, err);
    } else {
        return sr_error_set(err, SR_EINVAL, "DP: unknown mechanism %d", dp->mechanism);
    }
    return rc;
}

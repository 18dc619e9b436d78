/* Cox proportional hazards by Newton–Raphson on the partial likelihood,
 * Breslow or Efron ties, over streamed blocks.
 *
 * Covariates are centred by their means (one first pass; the partial
 * likelihood does not change). Each Newton pass accumulates, per distinct
 * time t, with r = exp(beta.x):
 *   all rows with time t: S0 = sum r, S1 = sum r x, S2 = sum r x x'
 *   events at t:          d, E0, E1, E2 (the same sums), sum x, sum beta.x
 * so memory grows with distinct times x p^2, not rows. The risk-set sums
 * R_t = sum over times >= t of S are suffix sums over the sorted times.
 * Breslow: loglik = sum_t [sum_ev beta.x - d log R0];
 * Efron: for l = 0..d-1 the denominator is R - (l/d) E. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define COX_MAX_TIMES 1000000u

struct cox_table {
    size_t p, rec;  /* record: see REC_* offsets */
    size_t n, cap;  /* distinct times */
    double *time;
    double *val;    /* n * rec */
    size_t hcap;
    size_t *slot;
};

/* record layout */
#define R_S0 0
#define R_S1 1
#define R_S2(p) (1 + (p))
#define R_D(p) (1 + (p) + (p) * (p))
#define R_E0(p) (R_D(p) + 1)
#define R_E1(p) (R_D(p) + 2)
#define R_E2(p) (R_D(p) + 2 + (p))
#define R_SX(p) (R_E2(p) + (p) * (p))
#define R_SETA(p) (R_SX(p) + (p))
#define R_SIZE(p) (R_SETA(p) + 1)

static size_t cox_hash(double t)
{
    uint64_t u;
    if (t == 0)
        t = 0;
    memcpy(&u, &t, sizeof(u));
    u ^= u >> 31;
    u *= 0x9e3779b97f4a7c15ULL;
    u ^= u >> 29;
    return (size_t)u;
}

static void table_free(struct cox_table *t)
{
    free(t->time);
    free(t->val);
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

static int table_rehash(struct cox_table *t, size_t hcap)
{
    size_t *slot = calloc(hcap, sizeof(size_t));
    if (slot == NULL)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = cox_hash(t->time[i]) & (hcap - 1);
        while (slot[h] != 0)
            h = (h + 1) & (hcap - 1);
        slot[h] = i + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->hcap = hcap;
    return 0;
}

/* Record of time tm (created zeroed if absent), or NULL. */
static double *table_get(struct cox_table *t, double tm, sr_error *err)
{
    if (t->hcap == 0 || 2 * (t->n + 1) > t->hcap) {
        if (table_rehash(t, t->hcap ? t->hcap * 2 : 256) != 0) {
            sr_error_set(err, SR_ENOMEM, "out of memory");
            return NULL;
        }
    }
    size_t h = cox_hash(tm) & (t->hcap - 1);
    while (t->slot[h] != 0) {
        size_t i = t->slot[h] - 1;
        if (t->time[i] == tm)
            return t->val + i * t->rec;
        h = (h + 1) & (t->hcap - 1);
    }
    if (t->n >= COX_MAX_TIMES) {
        sr_error_set(err, SR_ELIMIT, "cox: more than %u distinct times", COX_MAX_TIMES);
        return NULL;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        double *a = realloc(t->time, nc * sizeof(double));
        if (a == NULL) {
            sr_error_set(err, SR_ENOMEM, "out of memory");
            return NULL;
        }
        t->time = a;
        if ((a = realloc(t->val, nc * t->rec * sizeof(double))) == NULL) {
            sr_error_set(err, SR_ENOMEM, "out of memory");
            return NULL;
        }
        t->val = a;
        t->cap = nc;
    }
    t->time[t->n] = tm == 0 ? 0.0 : tm;
    double *r = t->val + t->n * t->rec;
    memset(r, 0, t->rec * sizeof(double));
    t->slot[h] = ++t->n;
    return r;
}

struct cox_acc {
    size_t p;
    const double *beta, *mean;
    double n;
    struct cox_table tab;
};

static int cox_block(void *accp, const sr_model_block *b, sr_error *err)
{
    struct cox_acc *a = accp;
    const size_t p = a->p;
    double xc[SR_MODEL_MAX_FEATURES];
    if (b->y == NULL)
        return sr_error_set(err, SR_EINVAL, "cox: block without times");
    for (size_t i = 0; i < b->n; i++) {
        double tm = b->y[i], ev = b->x[p][i];
        if (!isfinite(tm))
            return sr_error_set(err, SR_EINVAL, "cox: non-finite time");
        if (ev != 0.0 && ev != 1.0)
            return sr_error_set(err, SR_EINVAL, "cox: event flag %g is not 0 or 1", ev);
        double eta = 0;
        for (size_t j = 0; j < p; j++) {
            xc[j] = b->x[j][i] - a->mean[j];
            eta += a->beta[j] * xc[j];
        }
        double r = exp(eta);
        if (!isfinite(r) || !isfinite(eta))
            return sr_error_set(err, SR_EINVAL, "cox: overflow in exp(beta.x) (non-finite "
                                "covariate or diverging fit)");
        double *rec = table_get(&a->tab, tm, err);
        if (rec == NULL)
            return err ? err->code : SR_ENOMEM;
        rec[R_S0] += r;
        double *s1 = rec + R_S1, *s2 = rec + R_S2(p);
        for (size_t j = 0; j < p; j++) {
            double rx = r * xc[j];
            s1[j] += rx;
            for (size_t c = j; c < p; c++)
                s2[j * p + c] += rx * xc[c];
        }
        if (ev == 1.0) {
            rec[R_D(p)] += 1;
            rec[R_E0(p)] += r;
            double *e1 = rec + R_E1(p), *e2 = rec + R_E2(p), *sx = rec + R_SX(p);
            for (size_t j = 0; j < p; j++) {
                double rx = r * xc[j];
                e1[j] += rx;
                sx[j] += xc[j];
                for (size_t c = j; c < p; c++)
                    e2[j * p + c] += rx * xc[c];
            }
            rec[R_SETA(p)] += eta;
        }
    }
    a->n += (double)b->n;
    return SR_OK;
}

struct cox_order {
    double t;
    size_t i;
};

static int order_desc(const void *x, const void *y)
{
    double a = ((const struct cox_order *)x)->t, b = ((const struct cox_order *)y)->t;
    return (a < b) - (a > b);
}

struct cox_state {
    const sr_model_data *data;
    unsigned threads;
    size_t p;
    int ties;
    const double *mean;
    struct cox_acc acc[SR_MODEL_MAX_THREADS];
    struct cox_table all;
};

/* loglik, score U (p), information I (p x p) at beta. */
static int cox_eval(struct cox_state *s, const double *beta, double *ll, double *U, double *I,
                    double *nrows, double *nevents, sr_error *err)
{
    const size_t p = s->p, rec = R_SIZE(p);
    void *ptrs[SR_MODEL_MAX_THREADS] = {0};
    for (unsigned t = 0; t < s->threads; t++) {
        s->acc[t].beta = beta;
        s->acc[t].mean = s->mean;
        s->acc[t].n = 0;
        s->acc[t].tab.n = 0;
        if (s->acc[t].tab.slot)
            memset(s->acc[t].tab.slot, 0, s->acc[t].tab.hcap * sizeof(size_t));
        ptrs[t] = &s->acc[t];
    }
    int rc = sr_model_pass(s->data, s->threads, ptrs, cox_block, err);
    if (rc != SR_OK)
        return rc;
    /* merge the workers' tables, in worker order */
    struct cox_table *all = &s->all;
    all->n = 0;
    if (all->slot)
        memset(all->slot, 0, all->hcap * sizeof(size_t));
    double n = 0;
    for (unsigned t = 0; t < s->threads; t++) {
        const struct cox_table *tt = &s->acc[t].tab;
        for (size_t i = 0; i < tt->n; i++) {
            double *dst = table_get(all, tt->time[i], err);
            if (dst == NULL)
                return err ? err->code : SR_ENOMEM;
            const double *src = tt->val + i * rec;
            for (size_t q = 0; q < rec; q++)
                dst[q] += src[q];
        }
        n += s->acc[t].n;
    }
    struct cox_order *ord = malloc((all->n ? all->n : 1) * sizeof(*ord));
    double *R = calloc(1 + p + p * p, sizeof(double));
    double *D1 = calloc(p, sizeof(double));
    if (ord == NULL || R == NULL || D1 == NULL) {
        free(ord);
        free(R);
        free(D1);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < all->n; i++) {
        ord[i].t = all->time[i];
        ord[i].i = i;
    }
    qsort(ord, all->n, sizeof(*ord), order_desc);
    double L = 0, events = 0;
    memset(U, 0, p * sizeof(double));
    memset(I, 0, p * p * sizeof(double));
    for (size_t q = 0; q < all->n; q++) {
        const double *v = all->val + ord[q].i * rec;
        /* risk set at this time: every row with time >= t */
        R[0] += v[R_S0];
        for (size_t j = 0; j < p; j++)
            R[1 + j] += v[R_S1 + j];
        for (size_t j = 0; j < p * p; j++)
            R[1 + p + j] += v[R_S2(p) + j];
        double d = v[R_D(p)];
        if (d == 0)
            continue;
        events += d;
        L += v[R_SETA(p)];
        for (size_t j = 0; j < p; j++)
            U[j] += v[R_SX(p) + j];
        size_t reps = (s->ties == SR_COX_EFRON) ? (size_t)d : 1;
        double w = (s->ties == SR_COX_EFRON) ? 1.0 : d;
        for (size_t l = 0; l < reps; l++) {
            double f = (s->ties == SR_COX_EFRON) ? (double)l / d : 0.0;
            double D0 = R[0] - f * v[R_E0(p)];
            if (!(D0 > 0)) {
                free(ord);
                free(R);
                free(D1);
                return sr_error_set(err, SR_EINTERNAL, "cox: empty risk set");
            }
            L -= w * log(D0);
            for (size_t j = 0; j < p; j++) {
                D1[j] = (R[1 + j] - f * v[R_E1(p) + j]) / D0;
                U[j] -= w * D1[j];
            }
            for (size_t j = 0; j < p; j++)
                for (size_t c = j; c < p; c++) {
                    double d2 = (R[1 + p + j * p + c] - f * v[R_E2(p) + j * p + c]) / D0;
                    I[j * p + c] += w * (d2 - D1[j] * D1[c]);
                }
        }
    }
    for (size_t j = 0; j < p; j++)
        for (size_t c = 0; c < j; c++)
            I[j * p + c] = I[c * p + j];
    free(ord);
    free(R);
    free(D1);
    *ll = L;
    *nrows = n;
    *nevents = events;
    return SR_OK;
}

int sr_cox_fit(const sr_model_data *data, const sr_cox_opts *opts, sr_model_fit *out,
               sr_error *err)
{
    if (data == NULL || opts == NULL || out == NULL || data->block == NULL)
        return sr_error_set(err, SR_EINVAL, "cox: NULL argument");
    if (data->p < 2)
        return sr_error_set(err, SR_EINVAL, "cox: needs at least one covariate and the event "
                            "column");
    const size_t p = data->p - 1;
    if (p > SR_MODEL_MAX_FEATURES)
        return sr_error_set(err, SR_ELIMIT, "cox: %zu covariates exceed the limit %d", p,
                            SR_MODEL_MAX_FEATURES);
    if (opts->ties != SR_COX_BRESLOW && opts->ties != SR_COX_EFRON)
        return sr_error_set(err, SR_EINVAL, "cox: unknown ties method %d", opts->ties);
    const int max_iter = opts->max_iter > 0 ? opts->max_iter : 50;
    const double tol = opts->tol > 0 ? opts->tol : 1e-10;

    struct cox_state s;
    memset(&s, 0, sizeof(s));
    s.data = data;
    s.threads = sr_model_threads(2, data->nblocks);
    s.p = p;
    s.ties = opts->ties;
    memset(out, 0, sizeof(*out));
    out->p = p;
    double mean[SR_MODEL_MAX_FEATURES + 1], sd[SR_MODEL_MAX_FEATURES + 1];
    uint64_t n0;
    int rc = sr_model_feature_stats(data, s.threads, mean, sd, &n0, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "cox");
    s.mean = mean;
    for (unsigned t = 0; t < s.threads; t++) {
        s.acc[t].p = p;
        s.acc[t].tab.p = p;
        s.acc[t].tab.rec = R_SIZE(p);
    }
    s.all.p = p;
    s.all.rec = R_SIZE(p);
    double *mem = calloc(5 * p + 2 * p * p, sizeof(double));
    if (mem == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    double *beta = mem, *trial = beta + p, *step = trial + p, *U = step + p, *U2 = U + p;
    double *I = U2 + p, *I2 = I + p * p;
    double ll, ll2, n, ev;
    rc = cox_eval(&s, beta, &ll, U, I, &n, &ev, err);
    if (rc != SR_OK)
        goto done;
    if (ev == 0) {
        rc = sr_error_set(err, SR_EINVAL, "cox: no events");
        goto done;
    }
    int it, converged = 0;
    for (it = 1; it <= max_iter && !converged; it++) {
        rc = sr_model_spd_solve(p, I, U, step, NULL, err);
        if (rc != SR_OK) {
            sr_error_prefix(err, "cox (iteration %d)", it);
            goto done;
        }
        double t = 1.0;
        for (;;) {
            double rel = 0;
            for (size_t j = 0; j < p; j++) {
                trial[j] = beta[j] + t * step[j];
                double r = fabs(t * step[j]) / (1.0 + fabs(beta[j]));
                if (r > rel)
                    rel = r;
            }
            rc = cox_eval(&s, trial, &ll2, U2, I2, &n, &ev, err);
            if (rc != SR_OK && t > 1e-3 && err && err->code == SR_EINVAL &&
                strstr(err->msg, "overflow") != NULL) {
                t *= 0.5; /* overshoot into overflow: halve */
                continue;
            }
            if (rc != SR_OK)
                goto done;
            if (rel < tol) {
                converged = 1;
                break;
            }
            if (ll2 >= ll - 1e-12 * fabs(ll))
                break;
            t *= 0.5;
            if (t < 1e-12) {
                rc = sr_error_set(err, SR_ESTATE, "cox: step halving failed at iteration %d", it);
                goto done;
            }
        }
        memcpy(beta, trial, p * sizeof(double));
        memcpy(U, U2, p * sizeof(double));
        memcpy(I, I2, p * p * sizeof(double));
        ll = ll2;
    }
    if (!converged) {
        rc = sr_error_set(err, SR_ESTATE, "cox: no convergence in %d iterations (monotone "
                          "likelihood? a covariate may separate the events)", max_iter);
        goto done;
    }
    double *inv = I2;
    rc = sr_model_spd_solve(p, I, NULL, NULL, inv, err);
    if (rc != SR_OK) {
        sr_error_prefix(err, "cox: information matrix");
        goto done;
    }
    for (size_t j = 0; j < p; j++) {
        out->coef[j] = beta[j];
        out->se[j] = sqrt(inv[j * p + j]);
        out->scale[j] = 1.0;
    }
    out->se_intercept = NAN;
    out->objective = ll;
    out->iterations = it - 1;
    out->n = (uint64_t)n;
    rc = SR_OK;
done:
    for (unsigned t = 0; t < s.threads; t++)
        table_free(&s.acc[t].tab);
    table_free(&s.all);
    free(mem);
    return rc;
}

/* Kaplan–Meier survival curves with Greenwood standard errors, by group,
 * from streamed (time, event, group) rows. Each group keeps one entry per
 * distinct time (events d, censorings c) in an open-addressing hash; the
 * curve is built by sorting the entries. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define KM_MAX_GROUPS 100000u

struct km_group {
    size_t n, cap;      /* distinct times */
    double *time, *d, *c;
    size_t hcap;        /* power of two; 0 = no table */
    size_t *slot;       /* hcap entries: index + 1, 0 = empty */
    sr_km_point *pts;
    size_t npts;
};

struct sr_km {
    size_t ngroups;
    int finished;
    struct km_group *g;
};

int sr_km_new(sr_km **out, size_t ngroups, sr_error *err)
{
    if (out == NULL)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    *out = NULL;
    if (ngroups == 0 || ngroups > KM_MAX_GROUPS)
        return sr_error_set(err, SR_ELIMIT, "kaplan-meier: group count %zu not in 1..%u", ngroups,
                            KM_MAX_GROUPS);
    sr_km *km = calloc(1, sizeof(*km));
    if (km == NULL || (km->g = calloc(ngroups, sizeof(struct km_group))) == NULL) {
        free(km);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    km->ngroups = ngroups;
    *out = km;
    return SR_OK;
}

void sr_km_free(sr_km *km)
{
    if (km == NULL)
        return;
    for (size_t i = 0; i < km->ngroups; i++) {
        struct km_group *g = &km->g[i];
        free(g->time);
        free(g->d);
        free(g->c);
        free(g->slot);
        free(g->pts);
    }
    free(km->g);
    free(km);
}

static size_t hash_time(double t)
{
    uint64_t u;
    if (t == 0)
        t = 0; /* -0.0 and 0.0 are one time */
    memcpy(&u, &t, sizeof(u));
    u ^= u >> 33;
    u *= 0xff51afd7ed558ccdULL;
    u ^= u >> 33;
    u *= 0xc4ceb9fe1a85ec53ULL;
    u ^= u >> 33;
    return (size_t)u;
}

static int group_rehash(struct km_group *g, size_t hcap)
{
    size_t *slot = calloc(hcap, sizeof(size_t));
    if (slot == NULL)
        return -1;
    for (size_t i = 0; i < g->n; i++) {
        size_t h = hash_time(g->time[i]) & (hcap - 1);
        while (slot[h] != 0)
            h = (h + 1) & (hcap - 1);
        slot[h] = i + 1;
    }
    free(g->slot);
    g->slot = slot;
    g->hcap = hcap;
    return 0;
}

/* Adds d events and c censorings at time t. */
static int group_add(struct km_group *g, double t, double d, double c, sr_error *err)
{
    if (g->hcap == 0 || 2 * (g->n + 1) > g->hcap) {
        if (group_rehash(g, g->hcap ? g->hcap * 2 : 64) != 0)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    size_t h = hash_time(t) & (g->hcap - 1);
    while (g->slot[h] != 0) {
        size_t i = g->slot[h] - 1;
        if (g->time[i] == t) {
            g->d[i] += d;
            g->c[i] += c;
            return SR_OK;
        }
        h = (h + 1) & (g->hcap - 1);
    }
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 32;
        double *a = realloc(g->time, nc * sizeof(double));
        if (a == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        g->time = a;
        if ((a = realloc(g->d, nc * sizeof(double))) == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        g->d = a;
        if ((a = realloc(g->c, nc * sizeof(double))) == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        g->c = a;
        g->cap = nc;
    }
    g->time[g->n] = t == 0 ? 0.0 : t;
    g->d[g->n] = d;
    g->c[g->n] = c;
    g->slot[h] = ++g->n;
    return SR_OK;
}

int sr_km_add(sr_km *km, const double *time, const uint8_t *event, const uint32_t *group, size_t n,
              sr_error *err)
{
    if (km == NULL || (n > 0 && (time == NULL || event == NULL)))
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    if (km->finished)
        return sr_error_set(err, SR_ESTATE, "kaplan-meier: add after finish");
    for (size_t i = 0; i < n; i++) {
        uint32_t gi = group ? group[i] : 0;
        if (gi >= km->ngroups)
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: group %u out of range", gi);
        if (!isfinite(time[i]))
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: non-finite time");
        if (event[i] > 1)
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: event flag %u is not 0 or 1",
                                event[i]);
        int rc = group_add(&km->g[gi], time[i], event[i] ? 1 : 0, event[i] ? 0 : 1, err);
        if (rc != SR_OK)
            return rc;
    }
    return SR_OK;
}

int sr_km_merge(sr_km *dst, const sr_km *src, sr_error *err)
{
    if (dst == NULL || src == NULL)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    if (dst->finished || src->finished)
        return sr_error_set(err, SR_ESTATE, "kaplan-meier: merge after finish");
    if (dst->ngroups != src->ngroups)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: merging %zu groups into %zu",
                            src->ngroups, dst->ngroups);
    for (size_t gi = 0; gi < src->ngroups; gi++) {
        const struct km_group *s = &src->g[gi];
        for (size_t i = 0; i < s->n; i++) {
            int rc = group_add(&dst->g[gi], s->time[i], s->d[i], s->c[i], err);
            if (rc != SR_OK)
                return rc;
        }
    }
    return SR_OK;
}

struct km_entry {
    double t, d, c;
};

static int entry_cmp(const void *a, const void *b)
{
    double x = ((const struct km_entry *)a)->t, y = ((const struct km_entry *)b)->t;
    return (x > y) - (x < y);
}

/* Builds the curve of points (time, n_risk, n_event, n_censor) given in
 * pts[0..n): fills surv, se_log, se_surv. Exposed to the DP variant. */
void sr_km_fill_curve(sr_km_point *pts, size_t n);
void sr_km_fill_curve(sr_km_point *pts, size_t n)
{
    double s = 1.0, v = 0.0;
    for (size_t i = 0; i < n; i++) {
        double r = pts[i].n_risk, d = pts[i].n_event;
        if (d > 0 && r > 0) {
            s *= 1.0 - d / r;
            v += r > d ? d / (r * (r - d)) : INFINITY;
        }
        pts[i].surv = s;
        pts[i].se_log = sqrt(v);
        pts[i].se_surv = s * sqrt(v);
        if (isinf(v))
            pts[i].se_surv = NAN;
    }
}

int sr_km_finish(sr_km *km, sr_error *err)
{
    if (km == NULL)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    if (km->finished)
        return SR_OK;
    for (size_t gi = 0; gi < km->ngroups; gi++) {
        struct km_group *g = &km->g[gi];
        if (g->n == 0)
            continue;
        struct km_entry *e = malloc(g->n * sizeof(*e));
        g->pts = calloc(g->n, sizeof(sr_km_point));
        if (e == NULL || g->pts == NULL) {
            free(e);
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        }
        double total = 0;
        for (size_t i = 0; i < g->n; i++) {
            e[i].t = g->time[i];
            e[i].d = g->d[i];
            e[i].c = g->c[i];
            total += e[i].d + e[i].c;
        }
        qsort(e, g->n, sizeof(*e), entry_cmp);
        double risk = total;
        for (size_t i = 0; i < g->n; i++) {
            g->pts[i].time = e[i].t;
            g->pts[i].n_risk = risk;
            g->pts[i].n_event = e[i].d;
            g->pts[i].n_censor = e[i].c;
            risk -= e[i].d + e[i].c;
        }
        g->npts = g->n;
        sr_km_fill_curve(g->pts, g->npts);
        free(e);
    }
    km->finished = 1;
    return SR_OK;
}

size_t sr_km_ngroups(const sr_km *km)
{
    return km ? km->ngroups : 0;
}

const sr_km_point *sr_km_curve(const sr_km *km, size_t group, size_t *npoints)
{
    if (npoints)
        *npoints = 0;
    if (km == NULL || !km->finished || group >= km->ngroups)
        return NULL;
    if (npoints)
        *npoints = km->g[group].npts;
    return km->g[group].pts;
}

int sr_km_at(const sr_km *km, size_t group, const double *t, size_t k, double *surv,
             double *se_surv, sr_error *err)
{
    if (km == NULL || (k > 0 && (t == NULL || surv == NULL)))
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    if (!km->finished)
        return sr_error_set(err, SR_ESTATE, "kaplan-meier: curve not finished");
    if (group >= km->ngroups)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: group %zu out of range", group);
    const struct km_group *g = &km->g[group];
    for (size_t q = 0; q < k; q++) {
        /* last point with time <= t[q] */
        size_t lo = 0, hi = g->npts;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (g->pts[mid].time <= t[q])
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == 0) {
            surv[q] = 1.0;
            if (se_surv)
                se_surv[q] = 0.0;
        } else {
            surv[q] = g->pts[lo - 1].surv;
            if (se_surv)
                se_surv[q] = g->pts[lo - 1].se_surv;
        }
    }
    return SR_OK;
}

/* ------------------------------------------------------- binned / DP curve */

struct sr_km_bins {
    size_t ngroups, npoints;
    double *points; /* npoints, strictly increasing */
    double *cnt;    /* per group: npoints events, npoints censorings, 1 survivors */
};

#define KMB_STRIDE(b) (2 * (b)->npoints + 1)

int sr_km_bins_new(sr_km_bins **out, size_t ngroups, const double *points, size_t npoints,
                   sr_error *err)
{
    if (out == NULL || (npoints > 0 && points == NULL))
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    *out = NULL;
    if (ngroups == 0 || ngroups > KM_MAX_GROUPS)
        return sr_error_set(err, SR_ELIMIT, "kaplan-meier: group count %zu not in 1..%u", ngroups,
                            KM_MAX_GROUPS);
    if (npoints == 0 || npoints > 100000)
        return sr_error_set(err, SR_ELIMIT, "kaplan-meier: %zu time points (1..100000)", npoints);
    for (size_t i = 0; i < npoints; i++) {
        if (!isfinite(points[i]))
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: time point %zu is not finite", i);
        if (i > 0 && !(points[i] > points[i - 1]))
            return sr_error_set(err, SR_EINVAL,
                                "kaplan-meier: time points must be strictly increasing (%g, %g)",
                                points[i - 1], points[i]);
    }
    sr_km_bins *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    b->ngroups = ngroups;
    b->npoints = npoints;
    b->points = malloc(npoints * sizeof(double));
    b->cnt = calloc(ngroups * KMB_STRIDE(b), sizeof(double));
    if (b->points == NULL || b->cnt == NULL) {
        sr_km_bins_free(b);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    memcpy(b->points, points, npoints * sizeof(double));
    *out = b;
    return SR_OK;
}

void sr_km_bins_free(sr_km_bins *b)
{
    if (b == NULL)
        return;
    free(b->points);
    free(b->cnt);
    free(b);
}

int sr_km_bins_add(sr_km_bins *b, const double *time, const uint8_t *event, const uint32_t *group,
                   size_t n, sr_error *err)
{
    if (b == NULL || (n > 0 && (time == NULL || event == NULL)))
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    const size_t K = b->npoints;
    for (size_t i = 0; i < n; i++) {
        uint32_t gi = group ? group[i] : 0;
        if (gi >= b->ngroups)
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: group %u out of range", gi);
        if (!isfinite(time[i]))
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: non-finite time");
        if (event[i] > 1)
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: event flag %u is not 0 or 1",
                                event[i]);
        /* first k with time <= t_k: bin (t_{k-1}, t_k]; K = past the last */
        size_t lo = 0, hi = K;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (b->points[mid] < time[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        double *c = b->cnt + gi * KMB_STRIDE(b);
        if (lo == K)
            c[2 * K] += 1;
        else
            c[event[i] ? lo : K + lo] += 1;
    }
    return SR_OK;
}

int sr_km_bins_merge(sr_km_bins *dst, const sr_km_bins *src, sr_error *err)
{
    if (dst == NULL || src == NULL)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    if (dst->ngroups != src->ngroups || dst->npoints != src->npoints ||
        memcmp(dst->points, src->points, dst->npoints * sizeof(double)) != 0)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: merging different binnings");
    size_t total = dst->ngroups * KMB_STRIDE(dst);
    for (size_t i = 0; i < total; i++)
        dst->cnt[i] += src->cnt[i];
    return SR_OK;
}

static int noisy_count(const sr_model_dp *dp, double m, double v, double *out, double *scale,
                       sr_error *err)
{
    if (dp->mechanism == SR_MODEL_DP_LAPLACE)
        return sr_dp_laplace_fixed(dp->rng, v, m, dp->epsilon, 1.0, out, scale, err);
    return sr_dp_gaussian_fixed(dp->rng, v, m, dp->rho, 1.0, out, scale, err);
}

int sr_km_bins_release(const sr_km_bins *b, const sr_model_dp *dp, sr_km_point *out,
                       double *noise_scale, sr_error *err)
{
    if (b == NULL || out == NULL)
        return sr_error_set(err, SR_EINVAL, "kaplan-meier: NULL argument");
    const size_t K = b->npoints, stride = KMB_STRIDE(b);
    double m = 1.0;
    if (dp != NULL) {
        if (dp->rng == NULL)
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: no random source");
        if (dp->mechanism == SR_MODEL_DP_LAPLACE) {
            if (!(dp->epsilon > 0) || !isfinite(dp->epsilon))
                return sr_error_set(err, SR_EINVAL, "kaplan-meier: epsilon must be > 0");
        } else if (dp->mechanism == SR_MODEL_DP_GAUSSIAN) {
            if (!(dp->rho > 0) || !isfinite(dp->rho))
                return sr_error_set(err, SR_EINVAL, "kaplan-meier: rho must be > 0");
        } else {
            return sr_error_set(err, SR_EINVAL, "kaplan-meier: unknown mechanism %d",
                                dp->mechanism);
        }
        m = dp->rows_per_person ? (double)dp->rows_per_person : 1.0;
    }
    if (noise_scale)
        *noise_scale = 0;
    double *c = malloc(stride * sizeof(double));
    if (c == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    for (size_t g = 0; g < b->ngroups && rc == SR_OK; g++) {
        memcpy(c, b->cnt + g * stride, stride * sizeof(double));
        for (size_t i = 0; dp != NULL && i < stride && rc == SR_OK; i++) {
            rc = noisy_count(dp, m, c[i], &c[i], noise_scale, err);
            if (c[i] < 0)
                c[i] = 0;
        }
        if (rc != SR_OK)
            break;
        sr_km_point *pt = out + g * K;
        double risk = c[2 * K];
        for (size_t k = K; k-- > 0;) {
            risk += c[k] + c[K + k];
            pt[k].time = b->points[k];
            pt[k].n_risk = risk;
            pt[k].n_event = c[k];
            pt[k].n_censor = c[K + k];
        }
        sr_km_fill_curve(pt, K);
    }
    free(c);
    if (rc != SR_OK)
        return sr_error_prefix(err, "kaplan-meier");
    return SR_OK;
}

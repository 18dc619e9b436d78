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

/* sealroom engine: execution. Vectorised operators over column batches:
 * expression evaluation into per-node vectors, filter -> selection vector,
 * contribution bounding (a hash table of person ids), dense group indexes
 * from declared domains, per-output accumulators, then exact DP noise on
 * fixed-point statistics and the result document. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "sealroom/buf.h"
#include "sealroom/csv.h"
#include "sealroom/dp.h"
#include "sealroom/models.h"

/* ---- vectors ---------------------------------------------------------------- */

typedef struct vec {
    const double *num;   /* VT_NUM / VT_DATE */
    const uint8_t *b;    /* VT_BOOL: 0/1 */
    const uint8_t *nul;  /* 1 = NULL */
    const sr_chunk *sc;  /* VT_STR: the chunk (codes + dictionary) */
    const char *lit;     /* VT_STR literal */
    /* owned storage */
    double *own_num;
    uint8_t *own_b;
    uint8_t *own_nul;
} vec;

typedef struct xstate {
    const sr_plan *p;
    size_t cap;
    vec *slots;   /* one per expression node */
    vec *colv;    /* one per plan column */
    uint8_t *zeros;
    uint32_t *sel;
    size_t nsel;
    uint32_t *gidx; /* group cell per selected row, per output scratch */
    int32_t *lut;   /* string dictionary -> domain index scratch */
    uint8_t used[SR_MAX_COLUMNS]; /* source columns the plan reads */
    size_t lutcap;
    size_t nrows;   /* rows of the batch being processed */
} xstate;

static void vec_free(vec *v)
{
    free(v->own_num);
    free(v->own_b);
    free(v->own_nul);
}

static int vec_alloc(vec *v, size_t cap, int need_num, int need_b, sr_error *err)
{
    if (need_num && v->own_num == NULL && (v->own_num = malloc(cap * sizeof(double))) == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a column vector");
    if (need_b && v->own_b == NULL && (v->own_b = malloc(cap)) == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a column vector");
    if (v->own_nul == NULL && (v->own_nul = malloc(cap)) == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for a column vector");
    return SR_OK;
}

static int xs_init(xstate *x, const sr_plan *p, size_t cap, sr_error *err)
{
    memset(x, 0, sizeof *x);
    x->p = p;
    x->cap = cap;
    x->slots = calloc(p->nexpr + 1, sizeof *x->slots);
    x->colv = calloc(p->ncols + 1, sizeof *x->colv);
    x->zeros = calloc(cap, 1);
    x->sel = malloc(cap * sizeof *x->sel);
    x->gidx = malloc(cap * sizeof *x->gidx);
    if (!x->slots || !x->colv || !x->zeros || !x->sel || !x->gidx)
        return sr_error_set(err, SR_ENOMEM, "out of memory for the executor");
    sr_plan_used_mask(p, x->used);
    return SR_OK;
}

static void xs_free(xstate *x)
{
    if (x->slots)
        for (size_t i = 0; i < x->p->nexpr; i++)
            vec_free(&x->slots[i]);
    if (x->colv)
        for (size_t i = 0; i < x->p->ncols; i++)
            vec_free(&x->colv[i]);
    free(x->slots);
    free(x->colv);
    free(x->zeros);
    free(x->sel);
    free(x->gidx);
    free(x->lut);
}

/* Source column -> vector (no copy for floats and bools). */
static int load_col(xstate *x, size_t ci, const sr_chunk *c, sr_error *err)
{
    vec *v = &x->colv[ci];
    size_t n = c->nrows;
    const sr_pcol *pc = &x->p->cols[ci];
    if (c->type != pc->stype)
        return sr_error_set(err, SR_EFORMAT, "column \"%s\": batch has type %s, schema says %s",
                            pc->name, sr_type_name(c->type), sr_type_name(pc->stype));
    if (c->nulls != NULL && c->null_count > 0) {
        if (vec_alloc(v, x->cap, 0, 0, err))
            return err->code;
        for (size_t i = 0; i < n; i++)
            v->own_nul[i] = (c->nulls[i >> 3] >> (i & 7)) & 1;
        v->nul = v->own_nul;
    } else {
        v->nul = x->zeros;
    }
    switch (c->type) {
    case SR_TYPE_FLOAT64:
        v->num = c->v.f64;
        break;
    case SR_TYPE_INT64:
        if (vec_alloc(v, x->cap, 1, 0, err))
            return err->code;
        for (size_t i = 0; i < n; i++)
            v->own_num[i] = (double)c->v.i64[i];
        v->num = v->own_num;
        break;
    case SR_TYPE_DATE:
        if (vec_alloc(v, x->cap, 1, 0, err))
            return err->code;
        for (size_t i = 0; i < n; i++)
            v->own_num[i] = (double)c->v.date[i];
        v->num = v->own_num;
        break;
    case SR_TYPE_BOOL:
        v->b = c->v.b;
        break;
    case SR_TYPE_STRING:
        v->sc = c;
        break;
    }
    return SR_OK;
}

static int str_eq_lit(const sr_chunk *c, size_t i, const char *lit, size_t litlen)
{
    size_t n;
    const char *s = sr_chunk_str(c, i, &n);
    return n == litlen && memcmp(s, lit, n) == 0;
}

/* Per-chunk dictionary lookup: lut[code] = index of the entry in `set` (of
 * nset strings) or -1. */
static int build_lut(xstate *x, const sr_chunk *c, char *const *set, size_t nset, sr_error *err)
{
    if (c->dict_count > x->lutcap) {
        int32_t *nl = realloc(x->lut, c->dict_count * sizeof *nl);
        if (nl == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        x->lut = nl;
        x->lutcap = c->dict_count;
    }
    for (size_t k = 0; k < c->dict_count; k++) {
        const char *s = (const char *)c->dict_bytes.data + c->dict_offsets[k];
        size_t len = c->dict_offsets[k + 1] - c->dict_offsets[k];
        x->lut[k] = -1;
        for (size_t j = 0; j < nset; j++)
            if (strlen(set[j]) == len && memcmp(set[j], s, len) == 0) {
                x->lut[k] = (int32_t)j;
                break;
            }
    }
    return SR_OK;
}

static int eval(xstate *x, const sr_expr *e, size_t n, sr_error *err);

static int eval(xstate *x, const sr_expr *e, size_t n, sr_error *err)
{
    vec *v = &x->slots[e->slot];
    for (size_t i = 0; i < e->nargs; i++)
        if (eval(x, e->a[i], n, err))
            return err->code;
    const vec *a = e->nargs > 0 ? &x->slots[e->a[0]->slot] : NULL;
    const vec *b = e->nargs > 1 ? &x->slots[e->a[1]->slot] : NULL;
    switch (e->op) {
    case E_COL: {
        const vec *c = &x->colv[e->col];
        v->num = c->num;
        v->b = c->b;
        v->nul = c->nul;
        v->sc = c->sc;
        return SR_OK;
    }
    case E_NUM: case E_BOOL: case E_NULL:
        if (vec_alloc(v, x->cap, 1, 1, err))
            return err->code;
        for (size_t i = 0; i < n; i++) {
            v->own_num[i] = e->num;
            v->own_b[i] = (uint8_t)(e->num != 0);
            v->own_nul[i] = e->op == E_NULL;
        }
        v->num = v->own_num;
        v->b = v->own_b;
        v->nul = v->own_nul;
        return SR_OK;
    case E_STR:
        v->lit = e->str;
        v->nul = x->zeros;
        return SR_OK;
    default:
        break;
    }
    int is_bool = e->vt == VT_BOOL;
    if (vec_alloc(v, x->cap, !is_bool, is_bool, err))
        return err->code;
    double *o = v->own_num;
    uint8_t *ob = v->own_b, *on = v->own_nul;
    v->num = o;
    v->b = ob;
    v->nul = on;
    switch (e->op) {
    case E_AND:
        for (size_t i = 0; i < n; i++) {
            int fa = !a->nul[i] && !a->b[i], fb = !b->nul[i] && !b->b[i];
            ob[i] = !(fa || fb) && !a->nul[i] && !b->nul[i];
            on[i] = !(fa || fb) && (a->nul[i] || b->nul[i]);
        }
        break;
    case E_OR:
        for (size_t i = 0; i < n; i++) {
            int ta = !a->nul[i] && a->b[i], tb = !b->nul[i] && b->b[i];
            ob[i] = (uint8_t)(ta || tb);
            on[i] = !(ta || tb) && (a->nul[i] || b->nul[i]);
        }
        break;
    case E_NOT:
        for (size_t i = 0; i < n; i++) {
            ob[i] = !a->b[i];
            on[i] = a->nul[i];
        }
        break;
    case E_ISNULL:
        for (size_t i = 0; i < n; i++) {
            ob[i] = a->nul[i];
            on[i] = 0;
        }
        break;
    case E_IN:
        if (e->a[0]->vt == VT_STR) {
            if (a->sc) {
                if (build_lut(x, a->sc, e->set_str, e->nset, err))
                    return err->code;
                for (size_t i = 0; i < n; i++) {
                    on[i] = a->nul[i];
                    ob[i] = !a->nul[i] && x->lut[a->sc->v.codes[i]] >= 0;
                }
            } else {
                int hit = 0;
                for (size_t j = 0; j < e->nset; j++)
                    hit |= strcmp(e->set_str[j], a->lit) == 0;
                memset(ob, hit, n);
                memset(on, 0, n);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                double val = e->a[0]->vt == VT_BOOL ? a->b[i] : a->num[i];
                int hit = 0;
                for (size_t j = 0; j < e->nset && !hit; j++)
                    hit = e->set_num[j] == val;
                ob[i] = (uint8_t)hit;
                on[i] = a->nul[i];
            }
        }
        break;
    case E_EQ: case E_NE: case E_LT: case E_LE: case E_GT: case E_GE: {
        int vt = e->a[0]->vt;
        if (vt == VT_STR) {
            int want = e->op == E_EQ;
            if (a->sc && b->sc) {
                for (size_t i = 0; i < n; i++) {
                    size_t la, lb;
                    on[i] = a->nul[i] || b->nul[i];
                    ob[i] = 0;
                    if (on[i])
                        continue; /* never touch the codes of NULL rows */
                    const char *sa = sr_chunk_str(a->sc, i, &la), *sb = sr_chunk_str(b->sc, i, &lb);
                    ob[i] = (uint8_t)((la == lb && memcmp(sa, sb, la) == 0) == want);
                }
            } else if (a->sc || b->sc) {
                const vec *cv = a->sc ? a : b;
                const char *lit = a->sc ? b->lit : a->lit;
                char *set[1] = {(char *)lit};
                if (build_lut(x, cv->sc, set, 1, err))
                    return err->code;
                for (size_t i = 0; i < n; i++) {
                    on[i] = cv->nul[i];
                    ob[i] = !on[i] && (uint8_t)((x->lut[cv->sc->v.codes[i]] == 0) == want);
                }
            } else {
                memset(ob, (strcmp(a->lit, b->lit) == 0) == want, n);
                memset(on, 0, n);
            }
            (void)str_eq_lit;
            break;
        }
        for (size_t i = 0; i < n; i++) {
            double xa = vt == VT_BOOL ? a->b[i] : a->num[i];
            double xb = vt == VT_BOOL ? b->b[i] : b->num[i];
            int r = 0;
            switch (e->op) {
            case E_EQ: r = xa == xb; break;
            case E_NE: r = xa != xb; break;
            case E_LT: r = xa < xb; break;
            case E_LE: r = xa <= xb; break;
            case E_GT: r = xa > xb; break;
            default: r = xa >= xb; break;
            }
            ob[i] = (uint8_t)r;
            on[i] = a->nul[i] || b->nul[i];
        }
        break;
    }
    case E_ADD:
        for (size_t i = 0; i < n; i++) {
            o[i] = a->num[i] + b->num[i];
            on[i] = a->nul[i] || b->nul[i];
        }
        break;
    case E_SUB: case E_DATEDIFF:
        for (size_t i = 0; i < n; i++) {
            o[i] = a->num[i] - b->num[i];
            on[i] = a->nul[i] || b->nul[i];
        }
        break;
    case E_MUL:
        for (size_t i = 0; i < n; i++) {
            o[i] = a->num[i] * b->num[i];
            on[i] = a->nul[i] || b->nul[i] || !isfinite(o[i]);
        }
        break;
    case E_DIV:
        for (size_t i = 0; i < n; i++) {
            on[i] = a->nul[i] || b->nul[i] || b->num[i] == 0;
            o[i] = on[i] ? 0 : a->num[i] / b->num[i];
            if (!isfinite(o[i])) {
                o[i] = 0;
                on[i] = 1;
            }
        }
        break;
    case E_NEG:
        for (size_t i = 0; i < n; i++) {
            o[i] = -a->num[i];
            on[i] = a->nul[i];
        }
        break;
    case E_ABS:
        for (size_t i = 0; i < n; i++) {
            o[i] = fabs(a->num[i]);
            on[i] = a->nul[i];
        }
        break;
    case E_BUCKET:
        for (size_t i = 0; i < n; i++) {
            double val = a->num[i];
            on[i] = 1;
            o[i] = 0;
            if (a->nul[i] || !(val >= e->set_num[0]) || !(val < e->set_num[e->nset - 1]))
                continue;
            size_t lo = 0, hi = e->nset - 1; /* edges[lo] <= val < edges[hi] */
            while (hi - lo > 1) {
                size_t mid = (lo + hi) / 2;
                if (val >= e->set_num[mid])
                    lo = mid;
                else
                    hi = mid;
            }
            o[i] = (double)lo;
            on[i] = 0;
        }
        break;
    default:
        return sr_error_set(err, SR_EINTERNAL, "unknown expression op %d", e->op);
    }
    return SR_OK;
}

/* ---- contribution bounding ---------------------------------------------------- */

typedef struct ptable {
    uint64_t *keys; /* 0 = empty */
    uint32_t *cnt;
    size_t cap, n;
} ptable;

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash_bytes(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint64_t h = 0xcbf29ce484222325ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return mix64(h);
}

static int pt_grow(ptable *t, sr_error *err)
{
    size_t ncap = t->cap ? t->cap * 2 : 4096;
    uint64_t *nk = calloc(ncap, sizeof *nk);
    uint32_t *nc = calloc(ncap, sizeof *nc);
    if (nk == NULL || nc == NULL) {
        free(nk);
        free(nc);
        return sr_error_set(err, SR_ENOMEM, "out of memory for the person-id table (%zu ids)", t->n);
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->keys[i] == 0)
            continue;
        size_t j = t->keys[i] & (ncap - 1);
        while (nk[j] != 0)
            j = (j + 1) & (ncap - 1);
        nk[j] = t->keys[i];
        nc[j] = t->cnt[i];
    }
    free(t->keys);
    free(t->cnt);
    t->keys = nk;
    t->cnt = nc;
    t->cap = ncap;
    return SR_OK;
}

/* Counts one more row for person key; *keep = 1 while the person has at
 * most max rows. */
static int pt_take(ptable *t, uint64_t key, uint64_t max, int *keep, sr_error *err)
{
    if (key == 0)
        key = 1;
    if ((t->n + 1) * 2 > t->cap && pt_grow(t, err))
        return err->code;
    size_t j = key & (t->cap - 1);
    while (t->keys[j] != 0 && t->keys[j] != key)
        j = (j + 1) & (t->cap - 1);
    if (t->keys[j] == 0) {
        t->keys[j] = key;
        t->n++;
    }
    if (t->cnt[j] < max) {
        t->cnt[j]++;
        *keep = 1;
    } else {
        *keep = 0;
    }
    return SR_OK;
}

/* ---- accumulators --------------------------------------------------------------- */

typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

typedef struct ostate {
    uint64_t *cnt; /* ngroups * nbins (histogram) or ngroups (others) */
    double *sum, *sum2;
    uint64_t *grid; /* DP quantiles: ngroups * ngrid */
    dvec *vals;     /* exact quantiles: ngroups */
    dvec *mcols;    /* regressions held in memory: nfeat feature columns, [event], label;
                       NULL once dropped for streaming */
    /* regressions over rewindable sources: keep[r / 8] bit r % 8 is set
     * when source row r (counted over all sources, in the order read) is a
     * model row; once the rows held pass mem_limit bytes they are dropped
     * and the passes re-read the sources, taking the marked rows */
    int stream;
    size_t mem_limit;
    uint8_t *keep;
    size_t keepcap;  /* bytes */
    uint64_t rows;   /* source rows seen */
    uint64_t nkept;  /* model rows */
    sr_km *km;      /* Kaplan-Meier, exact */
    sr_km_bins *kb; /* Kaplan-Meier, DP bins */
} ostate;

static int dvec_push(dvec *d, double v, sr_error *err)
{
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        double *nv = realloc(d->v, nc * sizeof *nv);
        if (nv == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory holding values for exact quantiles");
        d->v = nv;
        d->cap = nc;
    }
    d->v[d->n++] = v;
    return SR_OK;
}

static int ostate_init(ostate *s, const sr_output *o, int stream, size_t mem_limit, sr_error *err)
{
    memset(s, 0, sizeof *s);
    s->stream = stream && (o->kind == O_LOGREG || o->kind == O_LINREG || o->kind == O_COX);
    s->mem_limit = mem_limit;
    s->cnt = calloc(o->ngroups * o->nbins, sizeof *s->cnt);
    s->sum = calloc(o->ngroups, sizeof *s->sum);
    s->sum2 = calloc(o->ngroups, sizeof *s->sum2);
    if (!s->cnt || !s->sum || !s->sum2)
        return sr_error_set(err, SR_ENOMEM, "out of memory for output %s", o->name);
    if (o->kind == O_LOGREG || o->kind == O_LINREG || o->kind == O_COX) {
        s->mcols = calloc(o->nfeat + 2, sizeof *s->mcols);
        if (s->mcols == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory for output %s", o->name);
    }
    if (o->kind == O_KM) {
        if (o->mech == M_NONE ? sr_km_new(&s->km, o->ngroups, err)
                              : sr_km_bins_new(&s->kb, o->ngroups, o->times, o->ntimes, err))
            return sr_error_prefix(err, "output %s", o->name);
    }
    if (o->kind == O_QUANTILES) {
        if (o->mech == M_EXPONENTIAL) {
            s->grid = calloc(o->ngroups * o->ngrid, sizeof *s->grid);
            if (s->grid == NULL)
                return sr_error_set(err, SR_ENOMEM, "out of memory for output %s", o->name);
        } else {
            s->vals = calloc(o->ngroups, sizeof *s->vals);
            if (s->vals == NULL)
                return sr_error_set(err, SR_ENOMEM, "out of memory for output %s", o->name);
        }
    }
    return SR_OK;
}

static void ostate_free(ostate *s, const sr_output *o)
{
    free(s->cnt);
    free(s->sum);
    free(s->sum2);
    free(s->grid);
    if (s->vals)
        for (size_t g = 0; g < o->ngroups; g++)
            free(s->vals[g].v);
    free(s->vals);
    if (s->mcols)
        for (size_t j = 0; j <= o->nfeat + 1; j++)
            free(s->mcols[j].v);
    free(s->mcols);
    s->mcols = NULL;
    free(s->keep);
    sr_km_free(s->km);
    sr_km_bins_free(s->kb);
}

/* Model rows: regressions keep the rows whose features and label are all
 * non-null (materialised: models make several passes); Kaplan-Meier adds
 * (time, event, group) of rows with both present to its accumulator. */
static int accumulate_model(xstate *x, const sr_output *o, ostate *s, sr_error *err)
{
    const sr_plan *p = x->p;
    if (o->kind == O_KM) {
        size_t n = 0;
        double *t = malloc((x->nsel + 1) * sizeof *t);
        uint8_t *ev = malloc(x->nsel + 1);
        uint32_t *gr = malloc((x->nsel + 1) * sizeof *gr);
        const vec *tv = &x->colv[o->time_col], *evv = &x->colv[o->event_col];
        int ebool = p->cols[o->event_col].vt == VT_BOOL;
        int rc = SR_OK;
        if (!t || !ev || !gr) {
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
            goto km_out;
        }
        for (size_t k = 0; k < x->nsel; k++) {
            size_t i = x->sel[k];
            if (x->gidx[k] == UINT32_MAX || tv->nul[i] || evv->nul[i] || !isfinite(tv->num[i]))
                continue;
            double e = ebool ? evv->b[i] : evv->num[i];
            if (e != 0 && e != 1) {
                rc = sr_error_set(err, SR_EFORMAT, "output %s: event value %g is not 0 or 1", o->name,
                                  e);
                goto km_out;
            }
            t[n] = tv->num[i];
            ev[n] = (uint8_t)e;
            gr[n] = x->gidx[k];
            n++;
        }
        if (n > 0)
            rc = s->km ? sr_km_add(s->km, t, ev, gr, n, err) : sr_km_bins_add(s->kb, t, ev, gr, n, err);
    km_out:
        free(t);
        free(ev);
        free(gr);
        return rc;
    }
    /* columns: features, [Cox: event], label (Cox: time) */
    int mc[SR_ENGINE_MAX_FEATURES + 2];
    size_t nm = 0;
    for (size_t j = 0; j < o->nfeat; j++)
        mc[nm++] = o->feat[j];
    if (o->kind == O_COX)
        mc[nm++] = o->event_col;
    mc[nm++] = o->label;
    if (s->stream) {
        uint64_t need = (s->rows + x->nrows + 7) / 8;
        if (need > s->keepcap) {
            size_t nc = s->keepcap ? s->keepcap : 8192;
            while (nc < need)
                nc *= 2;
            uint8_t *nk = realloc(s->keep, nc);
            if (nk == NULL)
                return sr_error_set(err, SR_ENOMEM, "out of memory for output %s's row bitmap",
                                    o->name);
            memset(nk + s->keepcap, 0, nc - s->keepcap);
            s->keep = nk;
            s->keepcap = nc;
        }
    }
    for (size_t k = 0; k < x->nsel; k++) {
        size_t i = x->sel[k];
        int skip = 0;
        for (size_t j = 0; j < nm && !skip; j++) {
            int c = mc[j];
            skip = x->colv[c].nul[i] ||
                   (p->cols[c].vt == VT_NUM && !isfinite(x->colv[c].num[i]));
        }
        if (skip)
            continue;
        if (s->stream && s->mcols != NULL && s->mcols[0].n == s->mcols[0].cap) {
            /* holding more would pass the limit: drop the rows, stream */
            size_t nc = s->mcols[0].cap ? s->mcols[0].cap * 2 : 1024;
            if (nc > s->mem_limit / sizeof(double) / nm) {
                for (size_t j = 0; j < nm; j++)
                    free(s->mcols[j].v);
                free(s->mcols);
                s->mcols = NULL;
            }
        }
        for (size_t j = 0; j < nm; j++) {
            int c = mc[j];
            double v = p->cols[c].vt == VT_BOOL ? x->colv[c].b[i] : x->colv[c].num[i];
            int binary = (o->kind == O_LOGREG && j == nm - 1) || (o->kind == O_COX && j == nm - 2);
            if (binary && v != 0 && v != 1)
                return sr_error_set(err, SR_EFORMAT, "output %s: %s value %g is not 0 or 1",
                                    o->name, o->kind == O_COX ? "event" : "label", v);
            if (s->mcols != NULL && dvec_push(&s->mcols[j], v, err))
                return err->code;
        }
        if (s->stream) {
            uint64_t r = s->rows + i;
            s->keep[r >> 3] |= (uint8_t)(1u << (r & 7));
            s->nkept++;
        }
    }
    if (s->stream)
        s->rows += x->nrows;
    return SR_OK;
}

/* Domain index of row i's value, or -1. */
static int domain_index(xstate *x, const sr_domain *d, size_t i)
{
    const vec *v = &x->colv[d->col];
    if (v->nul[i])
        return -1;
    if (d->vt == VT_STR)
        return x->lut[v->sc->v.codes[i]];
    double val = d->vt == VT_BOOL ? v->b[i] : v->num[i];
    for (size_t k = 0; k < d->n; k++)
        if (d->num[k] == val)
            return (int)k;
    return -1;
}

/* Computes the group cell of every selected row (UINT32_MAX = outside the
 * declared domains). */
static int group_cells(xstate *x, const sr_output *o, sr_error *err)
{
    for (size_t k = 0; k < x->nsel; k++)
        x->gidx[k] = 0;
    for (size_t g = 0; g < o->ngb; g++) {
        const sr_domain *d = &o->gb[g];
        if (d->vt == VT_STR && build_lut(x, x->colv[d->col].sc, d->str, d->n, err))
            return err->code;
        for (size_t k = 0; k < x->nsel; k++) {
            if (x->gidx[k] == UINT32_MAX)
                continue;
            int di = domain_index(x, d, x->sel[k]);
            x->gidx[k] = di < 0 ? UINT32_MAX : x->gidx[k] * (uint32_t)d->n + (uint32_t)di;
        }
    }
    return SR_OK;
}

static double clampv(const sr_output *o, double v)
{
    if (!o->has_clamp)
        return v;
    return v < o->lo ? o->lo : v > o->hi ? o->hi : v;
}

static int accumulate(xstate *x, const sr_output *o, ostate *s, sr_error *err)
{
    if (group_cells(x, o, err))
        return err->code;
    if (o->kind == O_LOGREG || o->kind == O_LINREG || o->kind == O_KM || o->kind == O_COX)
        return accumulate_model(x, o, s, err);
    const vec *v = o->col >= 0 ? &x->colv[o->col] : NULL;
    int isbool = o->col >= 0 && x->p->cols[o->col].vt == VT_BOOL;
    double mid = o->has_clamp ? (o->lo + o->hi) / 2 : 0;
    /* noised mean/variance accumulate values centred on the clamp midpoint */
    double centre = (o->mech != M_NONE && (o->kind == O_MEAN || o->kind == O_VARIANCE)) ? mid : 0;
    if (o->kind == O_HISTOGRAM && o->hist_cat && o->cats.vt == VT_STR &&
        build_lut(x, v->sc, o->cats.str, o->cats.n, err))
        return err->code;
    for (size_t k = 0; k < x->nsel; k++) {
        uint32_t g = x->gidx[k];
        size_t i = x->sel[k];
        if (g == UINT32_MAX)
            continue;
        if (o->kind == O_COUNT) {
            if (v == NULL || !v->nul[i])
                s->cnt[g]++;
            continue;
        }
        if (v->nul[i])
            continue;
        if (o->kind == O_HISTOGRAM) {
            long bin = -1;
            if (o->hist_cat) {
                bin = domain_index(x, &o->cats, i);
            } else {
                double val = clampv(o, v->num[i]);
                if (val >= o->edges[0] && val <= o->edges[o->nbins]) {
                    size_t lo = 0, hi = o->nbins; /* last bin closed on the right */
                    while (hi - lo > 1) {
                        size_t m = (lo + hi) / 2;
                        if (val >= o->edges[m])
                            lo = m;
                        else
                            hi = m;
                    }
                    bin = (long)lo;
                }
            }
            if (bin >= 0)
                s->cnt[(size_t)g * o->nbins + (size_t)bin]++;
            continue;
        }
        double val = clampv(o, isbool ? v->b[i] : v->num[i]);
        if (isnan(val))
            continue;
        s->cnt[g]++;
        if (o->kind == O_QUANTILES) {
            if (s->grid) {
                double c = floor((val - o->lo) / o->grid);
                size_t ci = c < 0 ? 0 : c >= (double)o->ngrid ? o->ngrid - 1 : (size_t)c;
                s->grid[(size_t)g * o->ngrid + ci]++;
            } else if (dvec_push(&s->vals[g], val, err)) {
                return err->code;
            }
            continue;
        }
        double cv = val - centre;
        s->sum[g] += cv;
        s->sum2[g] += cv * cv;
    }
    return SR_OK;
}

/* ---- noise and results -------------------------------------------------------------- */

typedef struct noise {
    const sr_plan *p;
    const sr_output *o;
    sr_rng *rng;
    double share;  /* fraction of the output's budget per component */
    sr_error *err;
} noise;

/* Noises one statistic with the output's mechanism and `share` of its
 * budget. sens: L1 (Laplace) / L2 (Gaussian) sensitivity of the statistic
 * vector over all cells. scale_out: Laplace b or Gaussian sigma. */
static int add_noise(noise *nz, double v, double sens, double res, double *out, double *scale_out)
{
    const sr_output *o = nz->o;
    if (o->mech == M_LAPLACE || o->mech == M_EXPONENTIAL)
        return sr_dp_laplace_fixed(nz->rng, v, sens, o->epsilon * nz->share, res, out, scale_out,
                                   nz->err);
    return sr_dp_gaussian_fixed(nz->rng, v, sens, o->rho * nz->share, res, out, scale_out, nz->err);
}

static double default_res(double sens)
{
    /* about 2^-20 of the sensitivity, a power of two */
    return ldexp(1.0, (int)floor(log2(sens)) - 20);
}

/* Exact exponential mechanism over the grid (docs/DP.md): candidate i with
 * utility -|L_i - q n| (L_i = values below candidate i) is drawn with
 * probability proportional to exp(-eps (Umax - U_i) / (2 m)), by uniform
 * proposals accepted with Bernoulli(exp(-gamma_i)). */
static int em_quantile(sr_rng *rng, const uint64_t *grid, size_t ngrid, double q, double eps,
                       uint64_t m, size_t *pick, sr_error *err)
{
    typedef unsigned __int128 u128;
    uint64_t n = 0;
    for (size_t i = 0; i < ngrid; i++)
        n += grid[i];
    const uint64_t qd = 1u << 16;
    uint64_t qn = (uint64_t)llround(q * (double)qd);
    uint64_t en = (uint64_t)floor(eps * 1048576.0); /* eps rounded down to 2^-20 */
    if (en == 0)
        en = 1;
    /* U_i (scaled by qd) as distance; find its minimum */
    uint64_t dmin = UINT64_MAX, L = 0;
    uint64_t *dist = malloc(ngrid * sizeof *dist);
    if (dist == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < ngrid; i++) {
        u128 a = (u128)L * qd, b = (u128)qn * n;
        dist[i] = (uint64_t)(a > b ? a - b : b - a);
        if (dist[i] < dmin)
            dmin = dist[i];
        L += grid[i];
    }
    u128 den = (u128)2 * 1048576u * m * qd;
    for (;;) {
        uint64_t i;
        int acc;
        if (sr_rng_uniform(rng, ngrid, &i, err) ||
            sr_dp_bernoulli_exp_wide(rng, (u128)en * (dist[i] - dmin), den, &acc, err)) {
            free(dist);
            return err->code;
        }
        if (acc) {
            *pick = i;
            free(dist);
            return SR_OK;
        }
    }
}

/* Puts the k-th smallest of v[lo..hi] at v[k], smaller ones before it and
 * larger ones after (quickselect, median-of-three pivots; expected linear). */
static void select_kth(double *v, size_t lo, size_t hi, size_t k)
{
    while (hi > lo) {
        size_t mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double piv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < piv)
                i++;
            while (v[j] > piv)
                j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return;
    }
}

/* quantile_cont for several ascending-position quantiles: linear
 * interpolation between order statistics at (n-1) q. Reorders v. */
static void exact_quantiles(double *v, size_t n, const double *qs, size_t nq, double *out)
{
    size_t order[100];
    for (size_t k = 0; k < nq; k++)
        order[k] = k;
    for (size_t a = 1; a < nq; a++) /* insertion sort of quantile indexes by q */
        for (size_t b = a; b > 0 && qs[order[b]] < qs[order[b - 1]]; b--) {
            size_t t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    size_t from = 0; /* v[0..from) holds the smallest values, in no order past selections */
    for (size_t a = 0; a < nq; a++) {
        double q = qs[order[a]];
        double pos = (double)(n - 1) * q;
        size_t lo = (size_t)floor(pos);
        if (lo >= n)
            lo = n - 1;
        select_kth(v, from, n - 1, lo);
        double x = v[lo], y = x;
        if (lo + 1 < n && pos > (double)lo) {
            y = v[lo + 1];
            for (size_t i = lo + 2; i < n; i++)
                if (v[i] < y)
                    y = v[i];
        }
        out[order[a]] = x + (pos - (double)lo) * (y - x);
        from = lo;
    }
}

static int set_num(json_t *o, const char *k, double v)
{
    return json_object_set_new(o, k, json_real(v));
}

/* The cell object of group g: value / bins / quantiles, or suppressed. */
static int finish_cell(noise *nz, ostate *s, size_t g, json_t *cell, json_t *noise_info)
{
    const sr_plan *p = nz->p;
    const sr_output *o = nz->o;
    sr_error *err = nz->err;
    int dp = o->mech != M_NONE;
    uint64_t m = p->max_rows;
    double cnt = (double)s->cnt[g];
    double scale;
    int need_count = p->min_group > 0 && (o->kind == O_SUM || o->kind == O_QUANTILES);
    switch (o->kind) {
    case O_COUNT:
        if (dp) {
            nz->share = 1;
            if (add_noise(nz, cnt, (double)m, 1, &cnt, &scale))
                return err->code;
            set_num(noise_info, "count_scale", scale);
        }
        if (p->min_group > 0 && cnt < (double)p->min_group)
            return json_object_set_new(cell, "suppressed", json_true());
        return json_object_set_new(cell, "value", json_real(cnt));
    case O_SUM: {
        double sum = s->sum[g];
        if (dp) {
            double sens = (double)m * fmax(fabs(o->lo), fabs(o->hi));
            nz->share = need_count ? 0.5 : 1;
            if (need_count) {
                if (add_noise(nz, cnt, (double)m, 1, &cnt, &scale))
                    return err->code;
                set_num(noise_info, "count_scale", scale);
            }
            if (add_noise(nz, sum, sens, o->resolution > 0 ? o->resolution : default_res(sens), &sum,
                          &scale))
                return err->code;
            set_num(noise_info, "sum_scale", scale);
        }
        if (p->min_group > 0 && cnt < (double)p->min_group)
            return json_object_set_new(cell, "suppressed", json_true());
        return json_object_set_new(cell, "value", json_real(sum));
    }
    case O_MEAN:
    case O_VARIANCE: {
        double s1 = s->sum[g], s2 = s->sum2[g];
        double h = o->has_clamp ? (o->hi - o->lo) / 2 : 0, mid = o->has_clamp ? (o->lo + o->hi) / 2 : 0;
        if (dp) {
            nz->share = o->kind == O_MEAN ? 0.5 : 1.0 / 3;
            double sens1 = (double)m * h, sens2 = (double)m * h * h;
            if (add_noise(nz, cnt, (double)m, 1, &cnt, &scale))
                return err->code;
            set_num(noise_info, "count_scale", scale);
            if (add_noise(nz, s1, sens1, o->resolution > 0 ? o->resolution : default_res(sens1), &s1,
                          &scale))
                return err->code;
            set_num(noise_info, "sum_scale", scale);
            if (o->kind == O_VARIANCE) {
                if (add_noise(nz, s2, sens2, o->resolution > 0 ? o->resolution : default_res(sens2),
                              &s2, &scale))
                    return err->code;
                set_num(noise_info, "sum_squares_scale", scale);
            }
        }
        if (p->min_group > 0 && cnt < (double)p->min_group)
            return json_object_set_new(cell, "suppressed", json_true());
        if (!dp && cnt < (o->kind == O_MEAN ? 1 : 2))
            return json_object_set_new(cell, "value", json_null());
        double c = dp ? fmax(cnt, o->kind == O_MEAN ? 1 : 2) : cnt;
        double val;
        if (o->kind == O_MEAN) {
            val = (dp ? mid : 0) + s1 / c;
            if (dp)
                val = fmin(fmax(val, o->lo), o->hi);
        } else {
            val = (s2 - s1 * s1 / c) / (c - 1);
            if (dp)
                val = fmin(fmax(val, 0), h * h * 4);
            if (val < 0)
                val = 0;
        }
        return json_object_set_new(cell, "value", json_real(val));
    }
    case O_HISTOGRAM: {
        json_t *bins = json_array();
        if (bins == NULL || json_object_set_new(cell, "bins", bins))
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        for (size_t b = 0; b < o->nbins; b++) {
            double c = (double)s->cnt[g * o->nbins + b];
            if (dp) {
                nz->share = 1;
                if (add_noise(nz, c, (double)m, 1, &c, &scale))
                    return err->code;
                set_num(noise_info, "count_scale", scale);
            }
            json_t *bo = json_object();
            if (bo == NULL || json_array_append_new(bins, bo))
                return sr_error_set(err, SR_ENOMEM, "out of memory");
            if (o->hist_cat) {
                json_object_set(bo, "category", json_array_get(o->cats.json, b));
            } else {
                set_num(bo, "lo", o->edges[b]);
                set_num(bo, "hi", o->edges[b + 1]);
            }
            if (p->min_group > 0 && c < (double)p->min_group)
                json_object_set_new(bo, "suppressed", json_true());
            else
                set_num(bo, "count", c);
        }
        return SR_OK;
    }
    case O_QUANTILES: {
        double qs[100];
        if (dp) {
            size_t parts = o->nq + (size_t)need_count;
            nz->share = 1.0 / (double)parts;
            if (need_count) {
                if (add_noise(nz, cnt, (double)m, 1, &cnt, &scale))
                    return err->code;
                set_num(noise_info, "count_scale", scale);
            }
            if (!(p->min_group > 0 && cnt < (double)p->min_group)) {
                for (size_t k = 0; k < o->nq; k++) {
                    size_t pick = 0;
                    if (em_quantile(nz->rng, s->grid + g * o->ngrid, o->ngrid, o->qs[k],
                                    o->epsilon * nz->share, m, &pick, err))
                        return err->code;
                    qs[k] = o->lo + (double)pick * o->grid;
                }
                set_num(noise_info, "epsilon_per_quantile", o->epsilon * nz->share);
            }
        } else {
            dvec *d = &s->vals[g];
            if (d->n)
                exact_quantiles(d->v, d->n, o->qs, o->nq, qs);
            else
                for (size_t k = 0; k < o->nq; k++)
                    qs[k] = NAN;
        }
        if (p->min_group > 0 && cnt < (double)p->min_group)
            return json_object_set_new(cell, "suppressed", json_true());
        json_t *arr = json_array();
        if (arr == NULL || json_object_set_new(cell, "quantiles", arr))
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        for (size_t k = 0; k < o->nq; k++) {
            json_t *qo = json_object();
            if (qo == NULL || json_array_append_new(arr, qo))
                return sr_error_set(err, SR_ENOMEM, "out of memory");
            set_num(qo, "q", o->qs[k]);
            json_object_set_new(qo, "value", isnan(qs[k]) ? json_null() : json_real(qs[k]));
        }
        return SR_OK;
    }
    }
    return sr_error_set(err, SR_EINTERNAL, "unknown output kind");
}

/* ---- streamed model rows ------------------------------------------------------------ */

/* Model data that re-reads the sources on every pass: rows whose bit is set
 * in the output's keep bitmap (filter, contribution bounding and null
 * dropping, decided once in the main pass) are cut into blocks of
 * MS_BLOCK rows, the same blocks as the in-memory path. Blocks are produced
 * in order: the worker asking for request q (block q * stride) waits until
 * requests 0 .. q-1 are served, then reads on from the sources into its own
 * buffer. Only the columns the model's values need are read (and, for a
 * sealed archive, decrypted); derived columns among them are evaluated. */
#define MS_BLOCK 8192

typedef struct mstream {
    const sr_plan *p;
    const sr_output *o;
    sr_engine_source *src;
    size_t nsrc;
    const uint8_t *keep;
    uint64_t nrows, nkept;
    int mc[SR_ENGINE_MAX_FEATURES + 2]; /* plan columns: features, [Cox: event], label */
    size_t nm;
    uint8_t *need;                      /* plan columns to load or evaluate */
    xstate x;
    size_t cap;
    double *buf;                        /* per worker: nm columns of MS_BLOCK */
    unsigned nbuf;                      /* workers with a buffer */
    const double *cols[SR_MODEL_MAX_THREADS][SR_ENGINE_MAX_FEATURES + 2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t stride, next_q;
    int cancelled;
    /* read position (touched only by the worker whose turn it is) */
    size_t si;
    const sr_batch *b;
    size_t bi;
    uint64_t row;  /* source row index of b's first row */
    int loaded;    /* b's needed columns are in x */
    uint64_t kpos; /* model rows passed in this pass */
} mstream;

static void need_expr(const sr_plan *p, const sr_expr *e, uint8_t *need)
{
    if (e->op == E_COL && !need[e->col]) {
        need[e->col] = 1;
        if (p->cols[e->col].derived)
            need_expr(p, p->cols[e->col].expr, need);
    }
    for (size_t i = 0; i < e->nargs; i++)
        need_expr(p, e->a[i], need);
}

static int ms_begin(void *ctx, unsigned threads, size_t stride, sr_error *err)
{
    mstream *m = ctx;
    (void)threads;
    for (size_t k = 0; k < m->nsrc; k++)
        if (m->src[k].rewind(m->src[k].ctx, m->need, err) != SR_OK)
            return sr_error_prefix(err, "output %s: re-reading %s's data", m->o->name,
                                   m->src[k].owner);
    m->stride = stride;
    m->next_q = 0;
    m->cancelled = 0;
    m->si = 0;
    m->b = NULL;
    m->bi = 0;
    m->row = 0;
    m->loaded = 0;
    m->kpos = 0;
    return SR_OK;
}

static void ms_cancel(void *ctx)
{
    mstream *m = ctx;
    pthread_mutex_lock(&m->mu);
    m->cancelled = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* Loads the needed source columns of the current batch and evaluates the
 * needed derived ones. */
static int ms_load(mstream *m, sr_error *err)
{
    const sr_plan *p = m->p;
    const sr_batch *b = m->b;
    size_t n = b->nrows;
    if (n > m->cap) {
        if (m->cap > 0)
            xs_free(&m->x);
        m->cap = n < 65536 ? 65536 : n;
        if (xs_init(&m->x, p, m->cap, err) != SR_OK) {
            xs_free(&m->x);
            m->cap = 0;
            return err->code;
        }
    }
    if (b->ncols != p->schema.ncols)
        return sr_error_set(err, SR_EFORMAT, "batch has %zu columns, schema has %zu", b->ncols,
                            p->schema.ncols);
    for (size_t c = 0; c < p->schema.ncols; c++) {
        if (!m->need[c])
            continue;
        if (b->cols[c].nrows != n)
            return sr_error_set(err, SR_EFORMAT, "column \"%s\" has %zu rows, batch has %zu",
                                p->cols[c].name, b->cols[c].nrows, n);
        if (load_col(&m->x, c, &b->cols[c], err))
            return err->code;
    }
    for (size_t c = p->schema.ncols; c < p->ncols; c++) {
        if (!m->need[c])
            continue;
        const sr_expr *e = p->cols[c].expr;
        if (eval(&m->x, e, n, err))
            return err->code;
        const vec *ev = &m->x.slots[e->slot];
        vec *cv = &m->x.colv[c];
        cv->num = ev->num;
        cv->b = ev->b;
        cv->nul = ev->nul;
        cv->sc = ev->sc;
    }
    m->loaded = 1;
    return SR_OK;
}

/* Reads on until block `index` is in worker's buffer. */
static int ms_fill(mstream *m, unsigned worker, size_t index, sr_model_block *out, sr_error *err)
{
    const sr_plan *p = m->p;
    uint64_t start = (uint64_t)index * MS_BLOCK;
    uint64_t end = start + MS_BLOCK < m->nkept ? start + MS_BLOCK : m->nkept;
    double *dst = m->buf + (size_t)worker * m->nm * MS_BLOCK;
    if (start >= m->nkept || m->kpos > start)
        return sr_error_set(err, SR_EINTERNAL, "model rows: block %zu out of order", index);
    while (m->kpos < end) {
        if (m->b == NULL || m->bi == m->b->nrows) {
            if (m->b != NULL)
                m->row += m->b->nrows;
            m->b = NULL;
            while (m->si < m->nsrc) {
                const sr_batch *b;
                if (m->src[m->si].next(m->src[m->si].ctx, &b, err) != SR_OK)
                    return sr_error_prefix(err, "re-reading %s's data", m->src[m->si].owner);
                if (b->nrows > 0) {
                    m->b = b;
                    break;
                }
                m->si++;
            }
            if (m->b == NULL || m->row + m->b->nrows > m->nrows)
                return sr_error_set(err, SR_ESTATE, "the data changed between passes (%s rows)",
                                    m->b == NULL ? "fewer" : "more");
            m->bi = 0;
            m->loaded = 0;
        }
        const sr_batch *b = m->b;
        for (; m->bi < b->nrows && m->kpos < end; m->bi++) {
            uint64_t r = m->row + m->bi;
            if (!((m->keep[r >> 3] >> (r & 7)) & 1))
                continue;
            if (m->kpos >= start) {
                if (!m->loaded && ms_load(m, err) != SR_OK)
                    return err->code;
                size_t i = m->bi, k = (size_t)(m->kpos - start);
                for (size_t j = 0; j < m->nm; j++) {
                    int c = m->mc[j];
                    const vec *v = &m->x.colv[c];
                    if (v->nul[i])
                        return sr_error_set(err, SR_ESTATE, "the data changed between passes");
                    dst[j * MS_BLOCK + k] = p->cols[c].vt == VT_BOOL ? v->b[i] : v->num[i];
                }
            }
            m->kpos++;
        }
    }
    for (size_t j = 0; j + 1 < m->nm; j++)
        m->cols[worker][j] = dst + j * MS_BLOCK;
    out->n = (size_t)(end - start);
    out->x = m->cols[worker];
    out->y = dst + (m->nm - 1) * MS_BLOCK;
    return SR_OK;
}

static int ms_block(void *ctx, unsigned worker, size_t index, sr_model_block *out, sr_error *err)
{
    mstream *m = ctx;
    if (worker >= m->nbuf || m->stride == 0 || index % m->stride != 0)
        return sr_error_set(err, SR_EINTERNAL, "model rows: unexpected block request");
    size_t q = index / m->stride;
    pthread_mutex_lock(&m->mu);
    while (!m->cancelled && m->next_q != q)
        pthread_cond_wait(&m->cv, &m->mu);
    int cancelled = m->cancelled;
    pthread_mutex_unlock(&m->mu);
    if (cancelled)
        return sr_error_set(err, SR_ESTATE, "model pass stopped");
    int rc = ms_fill(m, worker, index, out, err);
    if (rc != SR_OK) /* the turn is never passed on: the pass calls ms_cancel */
        return rc;
    pthread_mutex_lock(&m->mu);
    m->next_q++;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return SR_OK;
}

static void ms_free(mstream *m)
{
    if (m->cap > 0)
        xs_free(&m->x);
    free(m->need);
    free(m->buf);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
}

static int ms_init(mstream *m, sr_model_data *data, const sr_plan *p, const sr_output *o,
                   const ostate *s, sr_engine_source *src, size_t nsrc, unsigned threads,
                   sr_error *err)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    m->p = p;
    m->o = o;
    m->src = src;
    m->nsrc = nsrc;
    m->keep = s->keep;
    m->nrows = s->rows;
    m->nkept = s->nkept;
    for (size_t j = 0; j < o->nfeat; j++)
        m->mc[m->nm++] = o->feat[j];
    if (o->kind == O_COX)
        m->mc[m->nm++] = o->event_col;
    m->mc[m->nm++] = o->label;
    if (threads > SR_MODEL_MAX_THREADS)
        threads = SR_MODEL_MAX_THREADS;
    m->need = calloc(p->ncols > SR_MAX_COLUMNS ? p->ncols : SR_MAX_COLUMNS, 1);
    m->nbuf = threads ? threads : 2;
    m->buf = malloc((size_t)m->nbuf * m->nm * MS_BLOCK * sizeof(double));
    if (m->need == NULL || m->buf == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory for output %s", o->name);
    for (size_t j = 0; j < m->nm; j++) {
        sr_expr col = {0};
        col.op = E_COL;
        col.col = m->mc[j];
        need_expr(p, &col, m->need);
    }
    memset(data, 0, sizeof *data);
    data->p = m->nm - 1;
    data->nblocks = (size_t)((m->nkept + MS_BLOCK - 1) / MS_BLOCK);
    data->block = ms_block;
    data->ctx = m;
    data->begin_pass = ms_begin;
    data->cancel = ms_cancel;
    return SR_OK;
}

/* The sources a run read, for outputs that read them again. */
typedef struct runsrc {
    sr_engine_source *src;
    size_t nsrc;
} runsrc;

static int fit_regression(const sr_plan *p, const sr_output *o, sr_model_data *data, sr_rng *rng,
                          unsigned threads, sr_model_fit *fit, json_t *ni, sr_error *err);

static int finish_regression(const sr_plan *p, const sr_output *o, ostate *s, sr_rng *rng,
                             const runsrc *rs, unsigned threads, json_t *jo, json_t *ni,
                             sr_error *err)
{
    sr_model_data data;
    sr_model_fit fit;
    int rc;
    memset(&fit, 0, sizeof fit);
    if (s->mcols == NULL) {
        mstream m;
        if (s->nkept == 0)
            return sr_error_set(err, SR_EINVAL, "output %s: no rows to fit", o->name);
        rc = ms_init(&m, &data, p, o, s, rs->src, rs->nsrc, threads, err);
        if (rc == SR_OK)
            rc = fit_regression(p, o, &data, rng, threads, &fit, ni, err);
        ms_free(&m);
    } else {
        sr_model_array arr;
        const double *xs[SR_ENGINE_MAX_FEATURES + 1];
        size_t nx = o->nfeat + (o->kind == O_COX ? 1 : 0); /* Cox: event column last */
        size_t n = s->mcols[nx].n;
        if (n == 0)
            return sr_error_set(err, SR_EINVAL, "output %s: no rows to fit", o->name);
        for (size_t j = 0; j < nx; j++)
            xs[j] = s->mcols[j].v;
        rc = sr_model_data_from_array(&data, &arr, xs, s->mcols[nx].v, n, nx, 0, err);
        if (rc == SR_OK)
            rc = fit_regression(p, o, &data, rng, threads, &fit, ni, err);
    }
    if (rc)
        return sr_error_prefix(err, "output %s", o->name);
    json_t *coef = json_object();
    if (coef == NULL || json_object_set_new(jo, "coefficients", coef))
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t j = 0; j < o->nfeat; j++)
        set_num(coef, p->cols[o->feat[j]].name, fit.coef[j]);
    json_object_set_new(jo, "intercept", o->intercept ? json_real(fit.intercept) : json_null());
    return SR_OK;
}

static int fit_regression(const sr_plan *p, const sr_output *o, sr_model_data *data, sr_rng *rng,
                          unsigned threads, sr_model_fit *fit, json_t *ni, sr_error *err)
{
    int rc;
    if (o->kind == O_COX) {
        sr_cox_opts co = {o->ties, 0, 0};
        rc = sr_cox_fit(data, &co, fit, err);
    } else if (o->kind == O_LINREG) {
        sr_linreg_opts lo = {o->l2, o->intercept, o->standardize, threads};
        rc = sr_linreg_fit(data, &lo, fit, err);
    } else {
        sr_logreg_opts lo = {o->l2, o->intercept, o->standardize, 0, 0, threads};
        if (o->mech == M_NONE) {
            rc = sr_logreg_fit(data, &lo, fit, err);
        } else {
            double scale = 0;
            sr_model_dp dp = {o->mech == M_GAUSSIAN ? SR_MODEL_DP_GAUSSIAN : SR_MODEL_DP_LAPLACE,
                              o->epsilon, o->rho, (unsigned)p->max_rows, rng};
            rc = sr_logreg_fit_dp(data, &lo, o->clip, &dp, fit, &scale, err);
            if (rc == SR_OK)
                set_num(ni, "coefficient_scale", scale);
        }
    }
    return rc;
}

static int km_cell(const sr_plan *p, const sr_output *o, ostate *s, sr_rng *rng, size_t g,
                   const sr_km_point *pts, json_t *cell, sr_error *err)
{
    double surv[SR_ENGINE_MAX_TIMES], se[SR_ENGINE_MAX_TIMES];
    double total = 0;
    (void)rng;
    if (s->km) {
        size_t np;
        const sr_km_point *c = sr_km_curve(s->km, g, &np);
        total = np > 0 ? c[0].n_risk : 0;
        if (sr_km_at(s->km, g, o->times, o->ntimes, surv, se, err))
            return err->code;
    } else {
        total = pts[g * o->ntimes].n_risk;
    }
    if (p->min_group > 0 && total < (double)p->min_group)
        return json_object_set_new(cell, "suppressed", json_true());
    json_t *curve = json_array();
    if (curve == NULL || json_object_set_new(cell, "curve", curve))
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t k = 0; k < o->ntimes; k++) {
        json_t *pt = json_object();
        if (pt == NULL || json_array_append_new(curve, pt))
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        set_num(pt, "time", o->times[k]);
        if (s->km) {
            set_num(pt, "surv", surv[k]);
            set_num(pt, "se", se[k]);
        } else {
            const sr_km_point *q = &pts[g * o->ntimes + k];
            set_num(pt, "surv", q->surv);
            set_num(pt, "n_risk", q->n_risk);
            set_num(pt, "n_event", q->n_event);
        }
    }
    return SR_OK;
}

static int finish_output(const sr_plan *p, const sr_output *o, ostate *s, sr_rng *rng,
                         const runsrc *rs, json_t *outs, sr_error *err)
{
    json_t *jo = json_object();
    json_t *ni = json_object();
    if (jo == NULL || ni == NULL || json_object_set_new(outs, o->name, jo)) {
        json_decref(ni);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    json_object_set_new(jo, "type", json_string(sr_engine_kind_name(o->kind)));
    json_object_set(jo, "privacy", o->privacy_json);
    noise nz = {p, o, rng, 1, err};
    if (o->mech != M_NONE && rng == NULL) {
        json_decref(ni);
        return sr_error_set(err, SR_EINVAL, "output %s is noised but no random source was given",
                            o->name);
    }
    sr_km_point *pts = NULL;
    int rc = SR_OK;
    if (o->kind == O_LOGREG || o->kind == O_LINREG || o->kind == O_COX) {
        rc = finish_regression(p, o, s, rng, rs, 2, jo, ni, err);
        goto done;
    }
    if (o->kind == O_KM) {
        if (s->km) {
            rc = sr_km_finish(s->km, err);
        } else {
            double scale = 0;
            sr_model_dp dp = {o->mech == M_GAUSSIAN ? SR_MODEL_DP_GAUSSIAN : SR_MODEL_DP_LAPLACE,
                              o->epsilon, o->rho, (unsigned)p->max_rows, rng};
            pts = calloc(o->ngroups * o->ntimes, sizeof *pts);
            rc = pts == NULL ? sr_error_set(err, SR_ENOMEM, "out of memory")
                             : sr_km_bins_release(s->kb, &dp, pts, &scale, err);
            set_num(ni, "count_scale", scale);
        }
        if (rc)
            goto done;
        if (o->ngb == 0) {
            rc = km_cell(p, o, s, rng, 0, pts, jo, err);
            goto done;
        }
    }
    if (o->ngb == 0) {
        if (finish_cell(&nz, s, 0, jo, ni)) {
            json_decref(ni);
            return err->code;
        }
    } else {
        json_t *groups = json_array();
        if (groups == NULL || json_object_set_new(jo, "groups", groups)) {
            json_decref(ni);
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        }
        for (size_t g = 0; g < o->ngroups; g++) {
            json_t *cell = json_object(), *key = json_object();
            if (cell == NULL || key == NULL || json_array_append_new(groups, cell) ||
                json_object_set_new(cell, "key", key)) {
                json_decref(ni);
                return sr_error_set(err, SR_ENOMEM, "out of memory");
            }
            size_t rem = g, idx[4];
            for (size_t k = o->ngb; k-- > 0;) {
                idx[k] = rem % o->gb[k].n;
                rem /= o->gb[k].n;
            }
            for (size_t k = 0; k < o->ngb; k++)
                json_object_set(key, p->cols[o->gb[k].col].name,
                                json_array_get(o->gb[k].json, idx[k]));
            if (o->kind == O_KM ? km_cell(p, o, s, rng, g, pts, cell, err)
                                : finish_cell(&nz, s, g, cell, ni)) {
                json_decref(ni);
                free(pts);
                return err->code;
            }
        }
    }
done:
    free(pts);
    if (rc) {
        json_decref(ni);
        return rc;
    }
    if (o->mech != M_NONE) {
        json_object_set_new(ni, "max_rows_per_person", json_integer((json_int_t)p->max_rows));
        json_object_set_new(jo, "noise", ni);
    } else {
        json_decref(ni);
    }
    return SR_OK;
}

/* ---- the run ---------------------------------------------------------------------- */

static int person_key(xstate *x, size_t i, uint64_t *key)
{
    const sr_plan *p = x->p;
    const vec *v = &x->colv[p->person_col];
    if (v->nul[i])
        return 0;
    switch (p->cols[p->person_col].vt) {
    case VT_STR: {
        size_t n;
        const char *s = sr_chunk_str(v->sc, i, &n);
        *key = hash_bytes(s, n);
        return 1;
    }
    case VT_BOOL:
        *key = mix64(v->b[i]);
        return 1;
    default: {
        double d = v->num[i];
        uint64_t u;
        memcpy(&u, &d, sizeof u);
        *key = mix64(u);
        return 1;
    }
    }
}

static int process_batch(xstate *x, const sr_batch *b, ptable *pt, ostate *st, sr_error *err)
{
    const sr_plan *p = x->p;
    size_t n = b->nrows;
    if (n > x->cap)
        return sr_error_set(err, SR_ELIMIT, "batch of %zu rows exceeds the executor's %zu", n,
                            x->cap);
    if (b->ncols != p->schema.ncols)
        return sr_error_set(err, SR_EFORMAT, "batch has %zu columns, schema has %zu", b->ncols,
                            p->schema.ncols);
    const uint8_t *used = x->used;
    for (size_t c = 0; c < p->schema.ncols; c++) {
        if (!used[c])
            continue;
        if (b->cols[c].nrows != n)
            return sr_error_set(err, SR_EFORMAT, "column \"%s\" has %zu rows, batch has %zu",
                                p->cols[c].name, b->cols[c].nrows, n);
        if (load_col(x, c, &b->cols[c], err))
            return err->code;
    }
    for (size_t c = p->schema.ncols; c < p->ncols; c++) {
        const sr_expr *e = p->cols[c].expr;
        if (eval(x, e, n, err))
            return err->code;
        const vec *ev = &x->slots[e->slot];
        vec *cv = &x->colv[c];
        cv->num = ev->num;
        cv->b = ev->b;
        cv->nul = ev->nul;
        cv->sc = ev->sc;
    }
    x->nrows = n;
    x->nsel = 0;
    if (p->filter) {
        if (eval(x, p->filter, n, err))
            return err->code;
        const vec *fv = &x->slots[p->filter->slot];
        for (size_t i = 0; i < n; i++)
            if (!fv->nul[i] && fv->b[i])
                x->sel[x->nsel++] = (uint32_t)i;
    } else {
        for (size_t i = 0; i < n; i++)
            x->sel[i] = (uint32_t)i;
        x->nsel = n;
    }
    if (p->person_col >= 0) {
        size_t k = 0;
        for (size_t j = 0; j < x->nsel; j++) {
            uint64_t key;
            int keep = 0;
            if (person_key(x, x->sel[j], &key) && pt_take(pt, key, p->max_rows, &keep, err))
                return err->code;
            if (keep)
                x->sel[k++] = x->sel[j];
        }
        x->nsel = k;
    }
    for (size_t o = 0; o < p->nout; o++)
        if (accumulate(x, &p->out[o], &st[o], err))
            return err->code;
    return SR_OK;
}

/* Processes one batch, growing the executor's vectors when needed. */
static int take_batch(xstate *x, const sr_batch *b, size_t *cap, ptable *pt, ostate *st,
                      const char *owner, sr_error *err)
{
    if (b->nrows > *cap) {
        if (*cap > 0)
            xs_free(x);
        *cap = b->nrows < 65536 ? 65536 : b->nrows;
        if (xs_init(x, x->p, *cap, err) != SR_OK) {
            *cap = 0;
            return err->code;
        }
    }
    if (process_batch(x, b, pt, st, err) != SR_OK)
        return sr_error_prefix(err, "%s's data", owner);
    return SR_OK;
}

/* A one-slot hand-off between the reader thread and the processing thread. */
typedef struct reader {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sr_engine_source *src;
    size_t nsrc;
    const sr_batch *slot; /* batch ready for the consumer, or NULL */
    size_t slot_src;
    int full;             /* slot holds a batch */
    int done;             /* reader finished (error or end of every source) */
    int stop;             /* consumer failed: reader must stop */
    int rc;
    sr_error err;
} reader;

static void *reader_main(void *arg)
{
    reader *r = arg;
    for (size_t s = 0; s < r->nsrc; s++) {
        for (;;) {
            const sr_batch *b = NULL;
            sr_error e;
            sr_error_clear(&e);
            int rc = r->src[s].next(r->src[s].ctx, &b, &e);
            pthread_mutex_lock(&r->mu);
            if (rc != SR_OK || r->stop) {
                if (rc != SR_OK) {
                    r->rc = rc;
                    r->err = e;
                    sr_error_prefix(&r->err, "reading %s's data", r->src[s].owner);
                }
                r->done = 1;
                pthread_cond_broadcast(&r->cv);
                pthread_mutex_unlock(&r->mu);
                return NULL;
            }
            if (b->nrows == 0) {
                pthread_mutex_unlock(&r->mu);
                break;
            }
            while (r->full && !r->stop)
                pthread_cond_wait(&r->cv, &r->mu);
            r->slot = b;
            r->slot_src = s;
            r->full = 1;
            pthread_cond_broadcast(&r->cv);
            /* wait until the consumer has taken it: the source may then
             * overwrite only the buffer before this one */
            while (r->full && !r->stop)
                pthread_cond_wait(&r->cv, &r->mu);
            pthread_mutex_unlock(&r->mu);
        }
    }
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static int read_all(xstate *x, sr_engine_source *src, size_t nsrc, int threaded, size_t *cap,
                    ptable *pt, ostate *st, sr_error *err)
{
    int all_lookahead = 1;
    for (size_t s = 0; s < nsrc; s++)
        all_lookahead &= src[s].lookahead != 0;
    if (!threaded || !all_lookahead) {
        for (size_t s = 0; s < nsrc; s++) {
            for (;;) {
                const sr_batch *b;
                if (src[s].next(src[s].ctx, &b, err) != SR_OK)
                    return sr_error_prefix(err, "reading %s's data", src[s].owner);
                if (b->nrows == 0)
                    break;
                if (take_batch(x, b, cap, pt, st, src[s].owner, err))
                    return err->code;
            }
        }
        return SR_OK;
    }
    reader r;
    memset(&r, 0, sizeof r);
    r.src = src;
    r.nsrc = nsrc;
    pthread_t th;
    if (pthread_mutex_init(&r.mu, NULL) != 0)
        return sr_error_set(err, SR_EINTERNAL, "mutex init failed");
    if (pthread_cond_init(&r.cv, NULL) != 0) {
        pthread_mutex_destroy(&r.mu);
        return sr_error_set(err, SR_EINTERNAL, "condition init failed");
    }
    if (pthread_create(&th, NULL, reader_main, &r) != 0) {
        pthread_cond_destroy(&r.cv);
        pthread_mutex_destroy(&r.mu);
        return sr_error_set(err, SR_EINTERNAL, "cannot start the reader thread");
    }
    int rc = SR_OK;
    for (;;) {
        pthread_mutex_lock(&r.mu);
        while (!r.full && !r.done)
            pthread_cond_wait(&r.cv, &r.mu);
        if (!r.full) { /* done */
            if (r.rc != SR_OK) {
                rc = r.rc;
                if (err)
                    *err = r.err;
            }
            pthread_mutex_unlock(&r.mu);
            break;
        }
        const sr_batch *b = r.slot;
        size_t si = r.slot_src;
        r.full = 0; /* taken: the reader may fetch the next one now */
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);
        if ((rc = take_batch(x, b, cap, pt, st, src[si].owner, err)) != SR_OK) {
            pthread_mutex_lock(&r.mu);
            r.stop = 1;
            pthread_cond_broadcast(&r.cv);
            pthread_mutex_unlock(&r.mu);
            break;
        }
    }
    pthread_join(th, NULL);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    return rc;
}

/* ---- vertical join ------------------------------------------------------------------ */

/* The right side is materialised (a copy of each of its batches, used
 * columns only) with a hash index on the key; left batches stream through
 * and each left row with a matching right row becomes one joined row. */
typedef struct jtable {
    sr_batch *blocks;
    size_t nblocks, capblocks;
    uint64_t *hash;  /* open addressing: 0 = empty */
    uint64_t *ref;   /* block << 32 | row */
    size_t cap, n;
} jtable;

static int copy_value(sr_chunk *dst, const sr_chunk *src, size_t i, sr_error *err)
{
    if (sr_chunk_is_null(src, i))
        return sr_chunk_append_null(dst, err);
    switch (src->type) {
    case SR_TYPE_INT64: return sr_chunk_append_i64(dst, src->v.i64[i], err);
    case SR_TYPE_FLOAT64: return sr_chunk_append_f64(dst, src->v.f64[i], err);
    case SR_TYPE_BOOL: return sr_chunk_append_bool(dst, src->v.b[i], err);
    case SR_TYPE_DATE: return sr_chunk_append_date(dst, src->v.date[i], err);
    case SR_TYPE_STRING: {
        size_t n;
        const char *s = sr_chunk_str(src, i, &n);
        return sr_chunk_append_str(dst, s, n, err);
    }
    }
    return sr_error_set(err, SR_EINTERNAL, "unknown column type");
}

/* Hash of a key value; 0 = NULL key (never joins). */
static uint64_t key_hash(const sr_chunk *c, size_t i)
{
    uint64_t h;
    if (sr_chunk_is_null(c, i))
        return 0;
    switch (c->type) {
    case SR_TYPE_STRING: {
        size_t n;
        const char *s = sr_chunk_str(c, i, &n);
        h = hash_bytes(s, n);
        break;
    }
    case SR_TYPE_INT64: h = mix64((uint64_t)c->v.i64[i]); break;
    case SR_TYPE_DATE: h = mix64((uint64_t)(int64_t)c->v.date[i]); break;
    default: h = mix64(c->v.b[i]); break;
    }
    return h ? h : 1;
}

static int key_equal(const sr_chunk *a, size_t i, const sr_chunk *b, size_t j)
{
    switch (a->type) {
    case SR_TYPE_STRING: {
        size_t n, m;
        const char *s = sr_chunk_str(a, i, &n), *t = sr_chunk_str(b, j, &m);
        return n == m && memcmp(s, t, n) == 0;
    }
    case SR_TYPE_INT64: return a->v.i64[i] == b->v.i64[j];
    case SR_TYPE_DATE: return a->v.date[i] == b->v.date[j];
    default: return a->v.b[i] == b->v.b[j];
    }
}

static void jtable_free(jtable *t)
{
    for (size_t k = 0; k < t->nblocks; k++)
        sr_batch_free(&t->blocks[k]);
    free(t->blocks);
    free(t->hash);
    free(t->ref);
}

static int jtable_grow(jtable *t, sr_error *err)
{
    size_t ncap = t->cap ? t->cap * 2 : 4096;
    uint64_t *nh = calloc(ncap, sizeof *nh), *nr = calloc(ncap, sizeof *nr);
    if (nh == NULL || nr == NULL) {
        free(nh);
        free(nr);
        return sr_error_set(err, SR_ENOMEM, "out of memory for the join index");
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->hash[i] == 0)
            continue;
        size_t j = t->hash[i] & (ncap - 1);
        while (nh[j] != 0)
            j = (j + 1) & (ncap - 1);
        nh[j] = t->hash[i];
        nr[j] = t->ref[i];
    }
    free(t->hash);
    free(t->ref);
    t->hash = nh;
    t->ref = nr;
    t->cap = ncap;
    return SR_OK;
}

/* Right row matching left key (chunk lk, row i), or -1. */
static int64_t jtable_find(const jtable *t, int rkey, const sr_chunk *lk, size_t i)
{
    uint64_t h = key_hash(lk, i);
    if (h == 0 || t->cap == 0)
        return -1;
    size_t j = h & (t->cap - 1);
    while (t->hash[j] != 0) {
        if (t->hash[j] == h) {
            uint64_t r = t->ref[j];
            const sr_chunk *rk = &t->blocks[r >> 32].cols[rkey];
            if (key_equal(lk, i, rk, r & 0xffffffffu))
                return (int64_t)r;
        }
        j = (j + 1) & (t->cap - 1);
    }
    return -1;
}

static int jtable_load(const sr_plan *p, jtable *t, sr_engine_source *rs, const uint8_t *rmask,
                       sr_error *err)
{
    const sr_schema *sc = &p->side_schema[1];
    int rkey = p->key_col[1];
    for (;;) {
        const sr_batch *b;
        if (rs->next(rs->ctx, &b, err) != SR_OK)
            return sr_error_prefix(err, "reading %s's data", rs->owner);
        if (b->nrows == 0)
            return SR_OK;
        if (b->nrows > 0xffffffffu || t->nblocks >= 0xffffffffu)
            return sr_error_set(err, SR_ELIMIT, "join: right side too large");
        if (t->nblocks == t->capblocks) {
            size_t nc = t->capblocks ? t->capblocks * 2 : 16;
            sr_batch *nb = realloc(t->blocks, nc * sizeof *nb);
            if (nb == NULL)
                return sr_error_set(err, SR_ENOMEM, "out of memory for the join's right side");
            t->blocks = nb;
            t->capblocks = nc;
        }
        sr_batch *dst = &t->blocks[t->nblocks];
        memset(dst, 0, sizeof *dst);
        if (sr_batch_init(dst, sc, b->nrows, 1, err))
            return err->code;
        t->nblocks++;
        for (size_t c = 0; c < sc->ncols; c++) {
            if (!rmask[c])
                continue;
            for (size_t i = 0; i < b->nrows; i++)
                if (copy_value(&dst->cols[c], &b->cols[c], i, err))
                    return err->code;
        }
        dst->nrows = b->nrows;
        const sr_chunk *kc = &dst->cols[rkey];
        for (size_t i = 0; i < b->nrows; i++) {
            if (key_hash(kc, i) == 0)
                continue; /* NULL keys never join */
            if (jtable_find(t, rkey, kc, i) >= 0)
                return sr_error_set(err, SR_EFORMAT, "join: %s has a repeated key in column \"%s\" "
                                    "(the right side of a join needs unique keys)", rs->owner,
                                    sc->cols[rkey].name);
            if ((t->n + 1) * 2 > t->cap && jtable_grow(t, err))
                return err->code;
            uint64_t h = key_hash(kc, i);
            size_t j = h & (t->cap - 1);
            while (t->hash[j] != 0)
                j = (j + 1) & (t->cap - 1);
            t->hash[j] = h;
            t->ref[j] = ((uint64_t)(t->nblocks - 1) << 32) | i;
            t->n++;
        }
    }
}

static int run_join(xstate *x, sr_engine_source *ls, sr_engine_source *rs, size_t *cap, ptable *pt,
                    ostate *st, sr_error *err)
{
    const sr_plan *p = x->p;
    jtable t;
    sr_batch jb;
    size_t jcap = 0;
    uint8_t rmask[SR_MAX_COLUMNS], jm[SR_MAX_COLUMNS];
    int rc = SR_OK;
    memset(&t, 0, sizeof t);
    memset(&jb, 0, sizeof jb);
    if (sr_plan_columns_used(p, p->owners[1], rmask, p->side_schema[1].ncols, err))
        return err->code;
    sr_plan_used_mask(p, jm);
    if ((rc = jtable_load(p, &t, rs, rmask, err)) != SR_OK)
        goto out;
    for (;;) {
        const sr_batch *b;
        if ((rc = ls->next(ls->ctx, &b, err)) != SR_OK) {
            sr_error_prefix(err, "reading %s's data", ls->owner);
            break;
        }
        if (b->nrows == 0)
            break;
        if (b->nrows > jcap) {
            sr_batch_free(&jb);
            if ((rc = sr_batch_init(&jb, &p->schema, b->nrows, 1, err)) != SR_OK)
                break;
            jcap = b->nrows;
        } else {
            sr_batch_reset(&jb);
        }
        const sr_chunk *lk = &b->cols[p->key_col[0]];
        size_t n = 0;
        for (size_t i = 0; i < b->nrows && rc == SR_OK; i++) {
            int64_t r = jtable_find(&t, p->key_col[1], lk, i);
            if (r < 0)
                continue;
            const sr_batch *rb = &t.blocks[(uint64_t)r >> 32];
            size_t ri = (uint64_t)r & 0xffffffffu;
            for (size_t j = 0; j < p->schema.ncols && rc == SR_OK; j++) {
                if (!jm[j])
                    continue;
                rc = p->jside[j] == 0 ? copy_value(&jb.cols[j], &b->cols[p->jcol[j]], i, err)
                                      : copy_value(&jb.cols[j], &rb->cols[p->jcol[j]], ri, err);
            }
            n++;
        }
        if (rc != SR_OK)
            break;
        jb.nrows = n;
        if (n > 0 && (rc = take_batch(x, &jb, cap, pt, st, "joined", err)) != SR_OK)
            break;
    }
out:
    sr_batch_free(&jb);
    jtable_free(&t);
    return rc;
}

int sr_engine_run(const sr_plan *p, sr_engine_source *src, size_t nsrc, const sr_engine_opts *opts,
                  json_t **result, sr_error *err)
{
    xstate x;
    ptable pt = {0};
    ostate *st = NULL;
    json_t *res = NULL;
    int rc = SR_OK;
    *result = NULL;
    /* every plan source exactly once */
    for (size_t i = 0; i < p->nsrc; i++) {
        size_t hits = 0;
        for (size_t k = 0; k < nsrc; k++)
            hits += strcmp(src[k].owner, p->owners[i]) == 0;
        if (hits != 1)
            return sr_error_set(err, SR_EINVAL, "owner \"%s\": %zu data sources given, need 1",
                                p->owners[i], hits);
    }
    if (nsrc != p->nsrc)
        return sr_error_set(err, SR_EINVAL, "%zu data sources given; the recipe reads %zu", nsrc,
                            p->nsrc);
    if (p->any_dp && (opts == NULL || opts->rng == NULL))
        return sr_error_set(err, SR_EINVAL, "the recipe noises outputs: a random source is needed");
    size_t cap = 0;
    st = calloc(p->nout, sizeof *st);
    if (st == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    memset(&x, 0, sizeof x);
    x.p = p;
    /* regressions re-read the sources on every pass when they all can be
     * rewound; a join's rows come from a hash table of one side and are
     * held in memory instead (docs/MODELS.md) */
    int stream = !p->join;
    for (size_t k = 0; k < nsrc; k++)
        stream &= src[k].rewind != NULL;
    runsrc rs = {src, nsrc};
    for (size_t o = 0; o < p->nout && rc == SR_OK; o++)
        rc = ostate_init(&st[o], &p->out[o], stream,
                         opts && opts->model_memory ? opts->model_memory : SR_ENGINE_MODEL_MEMORY,
                         err);
    unsigned threads = opts && opts->threads ? opts->threads : 2;
    if (rc == SR_OK && p->join) {
        sr_engine_source *ls = NULL, *rs = NULL;
        for (size_t k = 0; k < nsrc; k++) {
            if (strcmp(src[k].owner, p->owners[0]) == 0)
                ls = &src[k];
            else
                rs = &src[k];
        }
        rc = run_join(&x, ls, rs, &cap, &pt, st, err);
    } else if (rc == SR_OK) {
        rc = read_all(&x, src, nsrc, threads >= 2, &cap, &pt, st, err);
    }
    if (rc == SR_OK) {
        res = json_object();
        json_t *outs = json_object(), *priv = json_object();
        if (res == NULL || outs == NULL || priv == NULL) {
            json_decref(outs);
            json_decref(priv);
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        } else {
            json_object_set_new(res, "format", json_string("sealroom-result-v1"));
            json_object_set_new(res, "mode", json_string(opts && opts->mode ? opts->mode : "run"));
            if (opts && opts->compose_hash) {
                char hex[65];
                sr_hex_encode(opts->compose_hash, 32, hex);
                json_object_set_new(res, "compose_hash", json_string(hex));
            }
            json_object_set_new(priv, "epsilon_budget", json_real(p->budget_eps));
            json_object_set_new(priv, "delta_budget", json_real(p->budget_delta));
            json_object_set_new(priv, "epsilon_spent", json_real(p->spent_eps));
            json_object_set_new(priv, "delta_spent", json_real(p->spent_delta));
            json_object_set_new(priv, "rho_spent", json_real(p->spent_rho));
            json_object_set_new(priv, "person_id", p->person_col >= 0
                                                       ? json_string(p->cols[p->person_col].name)
                                                       : json_null());
            json_object_set_new(priv, "max_rows_per_person", json_integer((json_int_t)p->max_rows));
            json_object_set_new(priv, "min_group_size", json_integer((json_int_t)p->min_group));
            json_object_set_new(res, "privacy", priv);
            json_object_set_new(res, "outputs", outs);
            for (size_t o = 0; o < p->nout && rc == SR_OK; o++)
                rc = finish_output(p, &p->out[o], &st[o], opts ? opts->rng : NULL, &rs, outs, err);
        }
    }
    if (cap > 0)
        xs_free(&x);
    for (size_t o = 0; o < p->nout; o++)
        ostate_free(&st[o], &p->out[o]);
    free(st);
    free(pt.keys);
    free(pt.cnt);
    if (rc != SR_OK) {
        json_decref(res);
        return rc;
    }
    *result = res;
    return SR_OK;
}

/* ---- CSV source ------------------------------------------------------------------------ */

struct sr_engine_csv {
    sr_csv_reader *r;
    sr_schema schema;
    sr_batch batch[2]; /* alternate, so a batch outlives the next call */
    int cur;
    int open_batch;
};

int sr_engine_csv_open(const char *path, const sr_schema *schema, size_t batch_rows,
                       sr_engine_csv **out, sr_error *err)
{
    *out = NULL;
    sr_engine_csv *c = calloc(1, sizeof *c);
    if (c == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    c->schema = *schema;
    c->r = sr_csv_open(path, err);
    if (c->r == NULL) {
        free(c);
        return err ? err->code : SR_EIO;
    }
    if (sr_csv_check_header(c->r, schema, err)) {
        int code = err ? err->code : SR_EFORMAT;
        sr_engine_csv_close(c);
        return code;
    }
    for (int k = 0; k < 2; k++) {
        if (sr_batch_init(&c->batch[k], schema, batch_rows ? batch_rows : 65536, 1, err)) {
            int code = err ? err->code : SR_ENOMEM;
            sr_engine_csv_close(c);
            return code;
        }
        c->open_batch = k + 1;
    }
    *out = c;
    return SR_OK;
}

void sr_engine_csv_close(sr_engine_csv *c)
{
    if (c == NULL)
        return;
    for (int k = 0; k < c->open_batch; k++)
        sr_batch_free(&c->batch[k]);
    sr_csv_close(c->r);
    free(c);
}

static int csv_next(void *ctx, const sr_batch **b, sr_error *err)
{
    sr_engine_csv *c = ctx;
    c->cur ^= 1;
    int rc = sr_csv_read_batch(c->r, &c->schema, &c->batch[c->cur], err);
    *b = &c->batch[c->cur];
    return rc;
}

static int csv_rewind(void *ctx, const uint8_t *mask, sr_error *err)
{
    sr_engine_csv *c = ctx;
    (void)mask; /* a CSV record is parsed whole */
    return sr_csv_rewind(c->r, err);
}

void sr_engine_csv_source(sr_engine_csv *c, const char *owner, sr_engine_source *src)
{
    src->rewind = csv_rewind;
    src->owner = owner;
    src->next = csv_next;
    src->ctx = c;
    src->lookahead = 1;
}

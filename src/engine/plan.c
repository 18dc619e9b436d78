/* sealroom engine: the recipe analysis language. Parses and validates
 * "analysis", "outputs" and "privacy" into a plan (docs/RECIPES.md). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "sealroom/dp.h"
#include "sealroom/models.h"

typedef struct pctx {
    sr_plan *p;
    sr_error *err;
} pctx;

static const char *vt_name(int vt)
{
    switch (vt) {
    case VT_NUM: return "number";
    case VT_BOOL: return "bool";
    case VT_STR: return "string";
    case VT_DATE: return "date";
    }
    return "?";
}

static int vt_of_type(sr_type t)
{
    switch (t) {
    case SR_TYPE_INT64:
    case SR_TYPE_FLOAT64: return VT_NUM;
    case SR_TYPE_BOOL: return VT_BOOL;
    case SR_TYPE_DATE: return VT_DATE;
    case SR_TYPE_STRING: return VT_STR;
    }
    return 0;
}

/* Rejects keys other than the allowed ones (a typo must not silently
 * change what a recipe means). */
static int check_keys(const json_t *obj, const char *const *allowed, const char *what, sr_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++)
            if (strcmp(k, allowed[i]) == 0)
                ok = 1;
        if (!ok)
            return sr_error_set(err, SR_EFORMAT, "%s: unknown field \"%s\"", what, k);
    }
    return SR_OK;
}

static int find_col(const sr_plan *p, const char *name)
{
    for (size_t i = 0; i < p->ncols; i++)
        if (strcmp(p->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

static sr_expr *new_expr(pctx *c, int op, const char *what)
{
    sr_plan *p = c->p;
    if (p->nexpr >= SR_ENGINE_MAX_EXPR_NODES) {
        sr_error_set(c->err, SR_ELIMIT, "%s: more than %d expression nodes", what,
                     SR_ENGINE_MAX_EXPR_NODES);
        return NULL;
    }
    sr_expr *e = calloc(1, sizeof *e);
    sr_expr **ne = realloc(p->exprs, (p->nexpr + 1) * sizeof *ne);
    if (e == NULL || ne == NULL) {
        free(e);
        if (ne)
            p->exprs = ne;
        sr_error_set(c->err, SR_ENOMEM, "out of memory");
        return NULL;
    }
    p->exprs = ne;
    e->op = op;
    e->col = -1;
    e->slot = (int)p->nexpr;
    p->exprs[p->nexpr++] = e;
    return e;
}

static const struct {
    const char *name;
    int op;
    int nargs;
} OPS[] = {
    {"and", E_AND, -1}, {"or", E_OR, -1}, {"not", E_NOT, 1}, {"is_null", E_ISNULL, 1},
    {"in", E_IN, 1}, {"==", E_EQ, 2}, {"!=", E_NE, 2}, {"<", E_LT, 2}, {"<=", E_LE, 2},
    {">", E_GT, 2}, {">=", E_GE, 2}, {"+", E_ADD, 2}, {"-", E_SUB, 2}, {"*", E_MUL, 2},
    {"/", E_DIV, 2}, {"neg", E_NEG, 1}, {"abs", E_ABS, 1}, {"bucket", E_BUCKET, 1},
    {"date_diff", E_DATEDIFF, 2}, {NULL, 0, 0}};

static sr_expr *parse_expr(pctx *c, const json_t *j, const char *what, int depth);

/* A string literal compared with a date is parsed as a date. */
static int coerce_str_to_date(pctx *c, sr_expr *e, const char *what)
{
    int32_t d;
    if (e->op != E_STR)
        return SR_OK;
    if (sr_date_parse(e->str, strlen(e->str), &d) != 0)
        return sr_error_set(c->err, SR_EFORMAT, "%s: \"%s\" is not a date (YYYY-MM-DD)", what,
                            e->str);
    e->op = E_NUM;
    e->num = d;
    e->vt = VT_DATE;
    return SR_OK;
}

/* Builds a binary/and-or chain node from a list of operands. */
static sr_expr *parse_op(pctx *c, const char *opname, const json_t *args, const json_t *obj,
                         const char *what, int depth)
{
    int op = 0, want = 0;
    for (size_t i = 0; OPS[i].name; i++)
        if (strcmp(OPS[i].name, opname) == 0) {
            op = OPS[i].op;
            want = OPS[i].nargs;
        }
    if (op == 0) {
        sr_error_set(c->err, SR_EFORMAT, "%s: unknown operator \"%s\"", what, opname);
        return NULL;
    }
    static const char *const k_plain[] = {"op", "args", NULL};
    static const char *const k_in[] = {"op", "args", "values", NULL};
    static const char *const k_bucket[] = {"op", "args", "edges", NULL};
    if (check_keys(obj, op == E_IN ? k_in : op == E_BUCKET ? k_bucket : k_plain, what, c->err))
        return NULL;
    if (!json_is_array(args)) {
        sr_error_set(c->err, SR_EFORMAT, "%s: \"args\" must be an array", what);
        return NULL;
    }
    size_t n = json_array_size(args);
    if ((want >= 0 && n != (size_t)want) || (want < 0 && n < 1)) {
        sr_error_set(c->err, SR_EFORMAT, "%s: operator \"%s\" takes %d argument%s, got %zu", what,
                     opname, want < 0 ? 1 : want, want == 1 ? "" : "s", n);
        return NULL;
    }
    if (op == E_AND || op == E_OR) {
        /* left-fold into binary nodes */
        sr_expr *acc = parse_expr(c, json_array_get(args, 0), what, depth + 1);
        if (acc == NULL)
            return NULL;
        if (acc->vt != VT_BOOL) {
            sr_error_set(c->err, SR_EFORMAT, "%s: \"%s\" needs bool operands, got %s", what,
                         opname, vt_name(acc->vt));
            return NULL;
        }
        for (size_t i = 1; i < n; i++) {
            sr_expr *b = parse_expr(c, json_array_get(args, i), what, depth + 1);
            if (b == NULL)
                return NULL;
            if (b->vt != VT_BOOL) {
                sr_error_set(c->err, SR_EFORMAT, "%s: \"%s\" needs bool operands, got %s", what,
                             opname, vt_name(b->vt));
                return NULL;
            }
            sr_expr *e = new_expr(c, op, what);
            if (e == NULL)
                return NULL;
            e->vt = VT_BOOL;
            e->a[0] = acc;
            e->a[1] = b;
            e->nargs = 2;
            acc = e;
        }
        return acc;
    }
    sr_expr *e = new_expr(c, op, what);
    if (e == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        e->a[i] = parse_expr(c, json_array_get(args, i), what, depth + 1);
        if (e->a[i] == NULL)
            return NULL;
    }
    e->nargs = n;
    sr_expr *x = e->a[0], *y = n > 1 ? e->a[1] : NULL;
    switch (op) {
    case E_NOT:
        if (x->vt != VT_BOOL)
            goto type_err;
        e->vt = VT_BOOL;
        break;
    case E_ISNULL:
        e->vt = VT_BOOL;
        break;
    case E_IN: {
        const json_t *vals = json_object_get(obj, "values");
        if (!json_is_array(vals) || json_array_size(vals) == 0 || json_array_size(vals) > 4096) {
            sr_error_set(c->err, SR_EFORMAT, "%s: \"in\" needs \"values\": an array of 1..4096 literals",
                         what);
            return NULL;
        }
        e->nset = json_array_size(vals);
        e->vt = VT_BOOL;
        if (x->vt == VT_STR) {
            e->set_str = calloc(e->nset, sizeof *e->set_str);
            if (e->set_str == NULL)
                goto nomem;
        } else {
            e->set_num = calloc(e->nset, sizeof *e->set_num);
            if (e->set_num == NULL)
                goto nomem;
        }
        for (size_t i = 0; i < e->nset; i++) {
            const json_t *v = json_array_get(vals, i);
            if (x->vt == VT_STR && json_is_string(v)) {
                e->set_str[i] = strdup(json_string_value(v));
                if (e->set_str[i] == NULL)
                    goto nomem;
            } else if (x->vt == VT_NUM && json_is_number(v)) {
                e->set_num[i] = json_number_value(v);
            } else if (x->vt == VT_BOOL && json_is_boolean(v)) {
                e->set_num[i] = json_is_true(v);
            } else if (x->vt == VT_DATE && json_is_string(v)) {
                int32_t d;
                const char *s = json_string_value(v);
                if (sr_date_parse(s, strlen(s), &d) != 0) {
                    sr_error_set(c->err, SR_EFORMAT, "%s: \"%s\" is not a date", what, s);
                    return NULL;
                }
                e->set_num[i] = d;
            } else {
                sr_error_set(c->err, SR_EFORMAT, "%s: \"in\" values[%zu] is not a %s", what, i,
                             vt_name(x->vt));
                return NULL;
            }
        }
        break;
    }
    case E_EQ: case E_NE: case E_LT: case E_LE: case E_GT: case E_GE:
        if (x->vt == VT_DATE && coerce_str_to_date(c, y, what))
            return NULL;
        if (y->vt == VT_DATE && coerce_str_to_date(c, x, what))
            return NULL;
        if (x->op == E_NULL || y->op == E_NULL) {
            sr_error_set(c->err, SR_EFORMAT, "%s: compare with null using \"is_null\"", what);
            return NULL;
        }
        if (x->vt != y->vt)
            goto type_err;
        if (x->vt == VT_STR && op != E_EQ && op != E_NE) {
            sr_error_set(c->err, SR_EFORMAT, "%s: strings support only == and !=", what);
            return NULL;
        }
        if (x->vt == VT_BOOL && op != E_EQ && op != E_NE)
            goto type_err;
        e->vt = VT_BOOL;
        break;
    case E_ADD: case E_SUB: case E_MUL: case E_DIV:
        if (x->vt != VT_NUM || y->vt != VT_NUM)
            goto type_err;
        e->vt = VT_NUM;
        break;
    case E_NEG: case E_ABS:
        if (x->vt != VT_NUM)
            goto type_err;
        e->vt = VT_NUM;
        break;
    case E_DATEDIFF:
        if (coerce_str_to_date(c, x, what) || coerce_str_to_date(c, y, what))
            return NULL;
        if (x->vt != VT_DATE || y->vt != VT_DATE)
            goto type_err;
        e->vt = VT_NUM;
        break;
    case E_BUCKET: {
        const json_t *ed = json_object_get(obj, "edges");
        if (x->vt != VT_NUM && x->vt != VT_DATE)
            goto type_err;
        if (!json_is_array(ed) || json_array_size(ed) < 2 || json_array_size(ed) > 4097) {
            sr_error_set(c->err, SR_EFORMAT, "%s: \"bucket\" needs \"edges\": 2..4097 ascending numbers",
                         what);
            return NULL;
        }
        e->nset = json_array_size(ed);
        e->set_num = calloc(e->nset, sizeof *e->set_num);
        if (e->set_num == NULL)
            goto nomem;
        for (size_t i = 0; i < e->nset; i++) {
            const json_t *v = json_array_get(ed, i);
            if (!json_is_number(v) || (i > 0 && json_number_value(v) <= e->set_num[i - 1]) ||
                !isfinite(json_number_value(v))) {
                sr_error_set(c->err, SR_EFORMAT, "%s: bucket edges must be ascending numbers", what);
                return NULL;
            }
            e->set_num[i] = json_number_value(v);
        }
        e->vt = VT_NUM;
        break;
    }
    }
    return e;
type_err:
    sr_error_set(c->err, SR_EFORMAT, "%s: type mismatch: \"%s\" cannot take %s%s%s", what, opname,
                 vt_name(x->vt), y ? " and " : "", y ? vt_name(y->vt) : "");
    return NULL;
nomem:
    sr_error_set(c->err, SR_ENOMEM, "out of memory");
    return NULL;
}

static sr_expr *parse_expr(pctx *c, const json_t *j, const char *what, int depth)
{
    sr_expr *e;
    if (depth > SR_ENGINE_MAX_EXPR_DEPTH) {
        sr_error_set(c->err, SR_ELIMIT, "%s: expression nested deeper than %d", what,
                     SR_ENGINE_MAX_EXPR_DEPTH);
        return NULL;
    }
    if (json_is_number(j)) {
        if (!isfinite(json_number_value(j))) {
            sr_error_set(c->err, SR_EFORMAT, "%s: number is not finite", what);
            return NULL;
        }
        if ((e = new_expr(c, E_NUM, what)) == NULL)
            return NULL;
        e->num = json_number_value(j);
        e->vt = VT_NUM;
        return e;
    }
    if (json_is_boolean(j)) {
        if ((e = new_expr(c, E_BOOL, what)) == NULL)
            return NULL;
        e->num = json_is_true(j);
        e->vt = VT_BOOL;
        return e;
    }
    if (json_is_string(j)) {
        if ((e = new_expr(c, E_STR, what)) == NULL)
            return NULL;
        e->str = strdup(json_string_value(j));
        if (e->str == NULL) {
            sr_error_set(c->err, SR_ENOMEM, "out of memory");
            return NULL;
        }
        e->vt = VT_STR;
        return e;
    }
    if (json_is_null(j)) {
        if ((e = new_expr(c, E_NULL, what)) == NULL)
            return NULL;
        e->vt = VT_NUM;
        return e;
    }
    if (json_is_object(j)) {
        const json_t *col = json_object_get(j, "col");
        if (col != NULL) {
            if (json_object_size(j) != 1 || !json_is_string(col)) {
                sr_error_set(c->err, SR_EFORMAT, "%s: a column reference is {\"col\": NAME}", what);
                return NULL;
            }
            int ci = find_col(c->p, json_string_value(col));
            if (ci < 0) {
                sr_error_set(c->err, SR_ENOTFOUND, "%s: unknown column \"%s\"", what,
                             json_string_value(col));
                return NULL;
            }
            if ((e = new_expr(c, E_COL, what)) == NULL)
                return NULL;
            e->col = ci;
            e->vt = c->p->cols[ci].vt;
            c->p->cols[ci].used = 1;
            return e;
        }
        const json_t *op = json_object_get(j, "op");
        if (!json_is_string(op)) {
            sr_error_set(c->err, SR_EFORMAT, "%s: an expression object needs \"col\" or \"op\"", what);
            return NULL;
        }
        return parse_op(c, json_string_value(op), json_object_get(j, "args"), j, what, depth);
    }
    sr_error_set(c->err, SR_EFORMAT, "%s: not an expression", what);
    return NULL;
}

/* ---- domains -------------------------------------------------------------- */

static int parse_domain(pctx *c, const json_t *arr, int col, sr_domain *d, size_t max,
                        const char *what)
{
    int vt = c->p->cols[col].vt;
    d->col = col;
    d->vt = vt;
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > max)
        return sr_error_set(c->err, SR_EFORMAT, "%s: needs a declared domain of 1..%zu values",
                            what, max);
    d->n = json_array_size(arr);
    d->json = json_deep_copy(arr);
    if (vt == VT_STR)
        d->str = calloc(d->n, sizeof *d->str);
    else
        d->num = calloc(d->n, sizeof *d->num);
    if (d->json == NULL || (d->str == NULL && d->num == NULL))
        return sr_error_set(c->err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < d->n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (vt == VT_STR && json_is_string(v)) {
            if ((d->str[i] = strdup(json_string_value(v))) == NULL)
                return sr_error_set(c->err, SR_ENOMEM, "out of memory");
        } else if (vt == VT_NUM && json_is_number(v) && isfinite(json_number_value(v))) {
            d->num[i] = json_number_value(v);
        } else if (vt == VT_BOOL && json_is_boolean(v)) {
            d->num[i] = json_is_true(v);
        } else if (vt == VT_DATE && json_is_string(v)) {
            int32_t dd;
            const char *s = json_string_value(v);
            if (sr_date_parse(s, strlen(s), &dd) != 0)
                return sr_error_set(c->err, SR_EFORMAT, "%s: domain value \"%s\" is not a date",
                                    what, s);
            d->num[i] = dd;
        } else {
            return sr_error_set(c->err, SR_EFORMAT, "%s: domain value %zu is not a %s", what, i,
                                vt_name(vt));
        }
        for (size_t k = 0; k < i; k++)
            if (vt == VT_STR ? strcmp(d->str[k], d->str[i]) == 0 : d->num[k] == d->num[i])
                return sr_error_set(c->err, SR_EFORMAT, "%s: domain value %zu repeats value %zu",
                                    what, i, k);
    }
    return SR_OK;
}

static void free_domain(sr_domain *d)
{
    if (d->str)
        for (size_t i = 0; i < d->n; i++)
            free(d->str[i]);
    free(d->str);
    free(d->num);
    json_decref(d->json);
}

/* ---- outputs -------------------------------------------------------------- */

static const struct {
    const char *name;
    int kind;
} KINDS[] = {{"count", O_COUNT}, {"sum", O_SUM}, {"mean", O_MEAN}, {"variance", O_VARIANCE},
             {"histogram", O_HISTOGRAM}, {"quantiles", O_QUANTILES},
             {"logistic_regression", O_LOGREG}, {"linear_regression", O_LINREG},
             {"kaplan_meier", O_KM}, {"cox_regression", O_COX}, {NULL, 0}};

const char *sr_engine_kind_name(int kind)
{
    for (size_t i = 0; KINDS[i].name; i++)
        if (KINDS[i].kind == kind)
            return KINDS[i].name;
    return "?";
}

static int get_num(const json_t *o, const char *k, double *out, int required, const char *what,
                   sr_error *err)
{
    const json_t *v = json_object_get(o, k);
    if (v == NULL) {
        if (required)
            return sr_error_set(err, SR_EFORMAT, "%s: missing \"%s\"", what, k);
        return SR_OK;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return sr_error_set(err, SR_EFORMAT, "%s: \"%s\" must be a number", what, k);
    *out = json_number_value(v);
    return SR_OK;
}

static int parse_privacy(pctx *c, sr_output *o, const json_t *pj, const char *what)
{
    sr_error *err = c->err;
    char w[300];
    if (pj == NULL)
        return sr_error_set(err, SR_EFORMAT,
                            "%s: declares no privacy treatment (give \"privacy\": \"none\" or a "
                            "mechanism)", what);
    o->privacy_json = json_deep_copy(pj);
    if (o->privacy_json == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    if (json_is_string(pj)) {
        if (strcmp(json_string_value(pj), "none") != 0)
            return sr_error_set(err, SR_EFORMAT, "%s: privacy must be \"none\" or an object", what);
        o->mech = M_NONE;
        return SR_OK;
    }
    if (!json_is_object(pj))
        return sr_error_set(err, SR_EFORMAT, "%s: privacy must be \"none\" or an object", what);
    snprintf(w, sizeof w, "%s.privacy", what);
    static const char *const keys[] = {"mechanism", "epsilon", "rho", "clamp", "resolution", "grid",
                                       "clip", NULL};
    if (check_keys(pj, keys, w, err))
        return err->code;
    const json_t *m = json_object_get(pj, "mechanism");
    if (!json_is_string(m))
        return sr_error_set(err, SR_EFORMAT, "%s: missing \"mechanism\" (laplace, gaussian, "
                            "exponential)", w);
    const char *ms = json_string_value(m);
    if (strcmp(ms, "laplace") == 0)
        o->mech = M_LAPLACE;
    else if (strcmp(ms, "gaussian") == 0)
        o->mech = M_GAUSSIAN;
    else if (strcmp(ms, "exponential") == 0)
        o->mech = M_EXPONENTIAL;
    else
        return sr_error_set(err, SR_EFORMAT, "%s: unknown mechanism \"%s\"", w, ms);
    if (o->kind == O_QUANTILES && o->mech != M_EXPONENTIAL)
        return sr_error_set(err, SR_EFORMAT, "%s: noised quantiles use the \"exponential\" mechanism",
                            w);
    if (o->kind != O_QUANTILES && o->mech == M_EXPONENTIAL)
        return sr_error_set(err, SR_EFORMAT, "%s: the exponential mechanism is for quantiles only", w);
    if (o->mech == M_GAUSSIAN) {
        if (json_object_get(pj, "epsilon"))
            return sr_error_set(err, SR_EFORMAT, "%s: a gaussian output declares \"rho\" (zCDP), "
                                "not \"epsilon\"", w);
        if (get_num(pj, "rho", &o->rho, 1, w, err))
            return err->code;
        if (!(o->rho > 0) || o->rho > 100)
            return sr_error_set(err, SR_EFORMAT, "%s: rho must be in (0, 100]", w);
    } else {
        if (json_object_get(pj, "rho"))
            return sr_error_set(err, SR_EFORMAT, "%s: \"rho\" is for the gaussian mechanism", w);
        if (get_num(pj, "epsilon", &o->epsilon, 1, w, err))
            return err->code;
        if (!(o->epsilon > 0) || o->epsilon > 100)
            return sr_error_set(err, SR_EFORMAT, "%s: epsilon must be in (0, 100]", w);
    }
    const json_t *cl = json_object_get(pj, "clamp");
    if (cl != NULL) {
        if (!json_is_array(cl) || json_array_size(cl) != 2 ||
            !json_is_number(json_array_get(cl, 0)) || !json_is_number(json_array_get(cl, 1)))
            return sr_error_set(err, SR_EFORMAT, "%s: \"clamp\" must be [lo, hi]", w);
        o->lo = json_number_value(json_array_get(cl, 0));
        o->hi = json_number_value(json_array_get(cl, 1));
        if (!isfinite(o->lo) || !isfinite(o->hi) || !(o->lo < o->hi) || fabs(o->lo) > 1e15 ||
            fabs(o->hi) > 1e15)
            return sr_error_set(err, SR_EFORMAT, "%s: clamp needs finite lo < hi within 1e15", w);
        o->has_clamp = 1;
    }
    if (get_num(pj, "resolution", &o->resolution, 0, w, err))
        return err->code;
    if (json_object_get(pj, "resolution") && !(o->resolution > 0))
        return sr_error_set(err, SR_EFORMAT, "%s: resolution must be positive", w);
    if (get_num(pj, "grid", &o->grid, 0, w, err))
        return err->code;
    if (o->kind == O_LINREG || o->kind == O_COX)
        return sr_error_set(err, SR_EDENIED, "%s: %s has no DP variant in this engine version; "
                            "declare \"privacy\": \"none\"", w, sr_engine_kind_name(o->kind));
    if (o->kind == O_LOGREG) {
        if (get_num(pj, "clip", &o->clip, 1, w, err))
            return err->code;
        if (!(o->clip > 0))
            return sr_error_set(err, SR_EFORMAT, "%s: clip must be positive", w);
        if (!(o->l2 > 0) || o->standardize)
            return sr_error_set(err, SR_EDENIED, "%s: DP logistic regression needs \"l2\" > 0 and "
                                "no standardization (the sensitivity is m * clip / l2)", w);
    } else if (json_object_get(pj, "clip")) {
        return sr_error_set(err, SR_EFORMAT, "%s: \"clip\" applies to logistic regression only", w);
    }
    int needs_clamp = o->kind == O_SUM || o->kind == O_MEAN || o->kind == O_VARIANCE ||
                      o->kind == O_QUANTILES;
    if (needs_clamp && !o->has_clamp)
        return sr_error_set(err, SR_EDENIED,
                            "%s: unbounded %s: a noised %s needs \"clamp\": [lo, hi] to bound "
                            "each row's contribution", w, sr_engine_kind_name(o->kind),
                            sr_engine_kind_name(o->kind));
    if (!needs_clamp && o->has_clamp && o->kind != O_HISTOGRAM)
        return sr_error_set(err, SR_EFORMAT, "%s: \"clamp\" does not apply to a %s", w,
                            sr_engine_kind_name(o->kind));
    if (o->kind == O_QUANTILES) {
        if (!(o->grid > 0))
            return sr_error_set(err, SR_EFORMAT, "%s: noised quantiles need \"grid\": the step "
                                "between candidate values", w);
        double g = floor((o->hi - o->lo) / o->grid + 1e-9) + 1;
        if (!(g >= 2) || g > SR_ENGINE_MAX_GRID)
            return sr_error_set(err, SR_ELIMIT, "%s: clamp/grid gives %.0f candidates (2..%d)", w,
                                g, SR_ENGINE_MAX_GRID);
        o->ngrid = (size_t)g;
        if (o->ngrid * o->ngroups > ((size_t)1 << 22))
            return sr_error_set(err, SR_ELIMIT, "%s: %zu groups x %zu grid candidates exceed 2^22 "
                                "counters", w, o->ngroups, o->ngrid);
    } else if (json_object_get(pj, "grid")) {
        return sr_error_set(err, SR_EFORMAT, "%s: \"grid\" applies to quantiles only", w);
    }
    return SR_OK;
}

static int model_col(pctx *c, const json_t *j, const char *field, int bool_ok, int *out,
                     const char *what)
{
    if (!json_is_string(j))
        return sr_error_set(c->err, SR_EFORMAT, "%s: \"%s\" must be a column name", what, field);
    int ci = find_col(c->p, json_string_value(j));
    if (ci < 0)
        return sr_error_set(c->err, SR_ENOTFOUND, "%s: unknown column \"%s\"", what,
                            json_string_value(j));
    int vt = c->p->cols[ci].vt;
    if (vt != VT_NUM && !(bool_ok && vt == VT_BOOL))
        return sr_error_set(c->err, SR_EFORMAT, "%s: type mismatch: %s column \"%s\" is %s, needs "
                            "a number%s", what, field, c->p->cols[ci].name, vt_name(vt),
                            bool_ok ? " or bool" : "");
    c->p->cols[ci].used = 1;
    *out = ci;
    return SR_OK;
}

/* Fields of the model outputs; rejects them on other kinds. */
static int parse_model(pctx *c, sr_output *o, const json_t *oj, const char *what)
{
    sr_error *err = c->err;
    int is_reg = o->kind == O_LOGREG || o->kind == O_LINREG, is_km = o->kind == O_KM;
    int is_cox = o->kind == O_COX;
    static const struct {
        const char *field;
        int reg, km, cox;
    } applies[] = {{"features", 1, 0, 1}, {"label", 1, 0, 0},    {"l2", 1, 0, 0},
                   {"intercept", 1, 0, 0}, {"standardize", 1, 0, 0}, {"time", 0, 1, 1},
                   {"event", 0, 1, 1},    {"times", 0, 1, 0},    {"ties", 0, 0, 1}};
    for (size_t i = 0; i < sizeof applies / sizeof applies[0]; i++) {
        int ok = (is_reg && applies[i].reg) || (is_km && applies[i].km) || (is_cox && applies[i].cox);
        if (!ok && json_object_get(oj, applies[i].field))
            return sr_error_set(err, SR_EFORMAT, "%s: \"%s\" does not apply to a %s", what,
                                applies[i].field, sr_engine_kind_name(o->kind));
    }
    if (is_cox) {
        const json_t *f = json_object_get(oj, "features");
        if (!json_is_array(f) || json_array_size(f) == 0 ||
            json_array_size(f) >= SR_ENGINE_MAX_FEATURES)
            return sr_error_set(err, SR_EFORMAT, "%s: \"features\" must list 1..%d columns", what,
                                SR_ENGINE_MAX_FEATURES - 1);
        o->nfeat = json_array_size(f);
        for (size_t i = 0; i < o->nfeat; i++) {
            if (model_col(c, json_array_get(f, i), "feature", 1, &o->feat[i], what))
                return err->code;
            for (size_t k = 0; k < i; k++)
                if (o->feat[k] == o->feat[i])
                    return sr_error_set(err, SR_EFORMAT, "%s: feature \"%s\" listed twice", what,
                                        c->p->cols[o->feat[i]].name);
        }
        if (model_col(c, json_object_get(oj, "time"), "time", 0, &o->time_col, what) ||
            model_col(c, json_object_get(oj, "event"), "event", 1, &o->event_col, what))
            return err->code;
        o->label = o->time_col;
        o->intercept = 0;
        o->ties = SR_COX_EFRON;
        const json_t *t = json_object_get(oj, "ties");
        if (t != NULL) {
            if (json_is_string(t) && strcmp(json_string_value(t), "efron") == 0)
                o->ties = SR_COX_EFRON;
            else if (json_is_string(t) && strcmp(json_string_value(t), "breslow") == 0)
                o->ties = SR_COX_BRESLOW;
            else
                return sr_error_set(err, SR_EFORMAT, "%s: \"ties\" must be \"efron\" or \"breslow\"",
                                    what);
        }
        if (json_object_get(oj, "group_by"))
            return sr_error_set(err, SR_EFORMAT, "%s: regressions are not grouped", what);
    }
    if (is_reg) {
        const json_t *f = json_object_get(oj, "features");
        if (!json_is_array(f) || json_array_size(f) == 0 ||
            json_array_size(f) > SR_ENGINE_MAX_FEATURES)
            return sr_error_set(err, SR_EFORMAT, "%s: \"features\" must list 1..%d columns", what,
                                SR_ENGINE_MAX_FEATURES);
        o->nfeat = json_array_size(f);
        for (size_t i = 0; i < o->nfeat; i++) {
            if (model_col(c, json_array_get(f, i), "feature", 1, &o->feat[i], what))
                return err->code;
            for (size_t k = 0; k < i; k++)
                if (o->feat[k] == o->feat[i])
                    return sr_error_set(err, SR_EFORMAT, "%s: feature \"%s\" listed twice", what,
                                        c->p->cols[o->feat[i]].name);
        }
        if (model_col(c, json_object_get(oj, "label"), "label", 1, &o->label, what))
            return err->code;
        o->intercept = 1;
        if (get_num(oj, "l2", &o->l2, 0, what, err))
            return err->code;
        if (!(o->l2 >= 0) || o->l2 > 1e12)
            return sr_error_set(err, SR_EFORMAT, "%s: l2 must be in [0, 1e12]", what);
        const json_t *b = json_object_get(oj, "intercept");
        if (b && !json_is_boolean(b))
            return sr_error_set(err, SR_EFORMAT, "%s: \"intercept\" must be true or false", what);
        if (b)
            o->intercept = json_is_true(b);
        b = json_object_get(oj, "standardize");
        if (b && !json_is_boolean(b))
            return sr_error_set(err, SR_EFORMAT, "%s: \"standardize\" must be true or false", what);
        if (b)
            o->standardize = json_is_true(b);
        if (json_object_get(oj, "group_by"))
            return sr_error_set(err, SR_EFORMAT, "%s: regressions are not grouped", what);
    }
    if (is_km) {
        if (model_col(c, json_object_get(oj, "time"), "time", 0, &o->time_col, what) ||
            model_col(c, json_object_get(oj, "event"), "event", 1, &o->event_col, what))
            return err->code;
        const json_t *t = json_object_get(oj, "times");
        if (!json_is_array(t) || json_array_size(t) == 0 || json_array_size(t) > SR_ENGINE_MAX_TIMES)
            return sr_error_set(err, SR_EFORMAT, "%s: \"times\" must list 1..%d ascending time "
                                "points", what, SR_ENGINE_MAX_TIMES);
        o->ntimes = json_array_size(t);
        o->times = calloc(o->ntimes, sizeof *o->times);
        if (o->times == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        for (size_t i = 0; i < o->ntimes; i++) {
            const json_t *v = json_array_get(t, i);
            if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
                (i > 0 && json_number_value(v) <= o->times[i - 1]))
                return sr_error_set(err, SR_EFORMAT, "%s: \"times\" must be ascending numbers",
                                    what);
            o->times[i] = json_number_value(v);
        }
    }
    return SR_OK;
}

static int parse_output(pctx *c, const json_t *oj, size_t idx)
{
    sr_plan *p = c->p;
    sr_error *err = c->err;
    sr_output *o = &p->out[idx];
    char what[400];
    o->col = -1;
    o->nbins = 1;
    if (!json_is_object(oj))
        return sr_error_set(err, SR_EFORMAT, "outputs[%zu]: not an object", idx);
    const json_t *nm = json_object_get(oj, "name");
    if (!json_is_string(nm) || json_string_length(nm) == 0 || json_string_length(nm) >= SR_MAX_NAME)
        return sr_error_set(err, SR_EFORMAT, "outputs[%zu]: \"name\" must be 1..%d bytes", idx,
                            SR_MAX_NAME - 1);
    snprintf(o->name, sizeof o->name, "%s", json_string_value(nm));
    for (const char *s = o->name; *s; s++)
        if ((unsigned char)*s < 0x20)
            return sr_error_set(err, SR_EFORMAT, "outputs[%zu]: name has a control character", idx);
    snprintf(what, sizeof what, "outputs[%zu] (%s)", idx, o->name);
    for (size_t k = 0; k < idx; k++)
        if (strcmp(p->out[k].name, o->name) == 0)
            return sr_error_set(err, SR_EFORMAT, "%s: name repeats outputs[%zu]", what, k);
    static const char *const keys[] = {"name", "type", "column", "group_by", "bins", "categories",
                                       "quantiles", "privacy", "features", "label", "l2", "intercept",
                                       "standardize", "time", "event", "times", "ties", NULL};
    if (check_keys(oj, keys, what, err))
        return err->code;
    const json_t *tj = json_object_get(oj, "type");
    if (!json_is_string(tj))
        return sr_error_set(err, SR_EFORMAT, "%s: missing \"type\"", what);
    for (size_t i = 0; KINDS[i].name; i++)
        if (strcmp(KINDS[i].name, json_string_value(tj)) == 0)
            o->kind = KINDS[i].kind;
    if (o->kind == 0)
        return sr_error_set(err, SR_EFORMAT,
                            "%s: unknown output type \"%s\" (count, sum, mean, variance, histogram, "
                            "quantiles)", what, json_string_value(tj));
    const json_t *cj = json_object_get(oj, "column");
    if (cj != NULL) {
        if (!json_is_string(cj))
            return sr_error_set(err, SR_EFORMAT, "%s: \"column\" must be a string", what);
        o->col = find_col(p, json_string_value(cj));
        if (o->col < 0)
            return sr_error_set(err, SR_ENOTFOUND, "%s: unknown column \"%s\"", what,
                                json_string_value(cj));
        p->cols[o->col].used = 1;
    }
    int vt = o->col >= 0 ? p->cols[o->col].vt : 0;
    switch (o->kind) {
    case O_COUNT:
        break;
    case O_SUM: case O_MEAN: case O_VARIANCE: case O_QUANTILES:
        if (o->col < 0)
            return sr_error_set(err, SR_EFORMAT, "%s: a %s needs \"column\"", what,
                                sr_engine_kind_name(o->kind));
        if (vt != VT_NUM && !(vt == VT_BOOL && o->kind != O_QUANTILES))
            return sr_error_set(err, SR_EFORMAT, "%s: type mismatch: a %s needs a numeric column, "
                                "\"%s\" is %s", what, sr_engine_kind_name(o->kind),
                                p->cols[o->col].name, vt_name(vt));
        break;
    case O_HISTOGRAM:
        if (o->col < 0)
            return sr_error_set(err, SR_EFORMAT, "%s: a histogram needs \"column\"", what);
        break;
    default:
        if (o->col >= 0)
            return sr_error_set(err, SR_EFORMAT, "%s: a %s takes no \"column\"", what,
                                sr_engine_kind_name(o->kind));
        break;
    }
    /* histogram bins */
    const json_t *bj = json_object_get(oj, "bins"), *catj = json_object_get(oj, "categories");
    if (o->kind == O_HISTOGRAM) {
        if ((bj == NULL) == (catj == NULL))
            return sr_error_set(err, SR_EFORMAT, "%s: a histogram declares either \"bins\" (edges) "
                                "or \"categories\"", what);
        if (bj) {
            if (vt != VT_NUM)
                return sr_error_set(err, SR_EFORMAT, "%s: type mismatch: \"bins\" need a numeric "
                                    "column", what);
            if (!json_is_array(bj) || json_array_size(bj) < 2 || json_array_size(bj) > 4097)
                return sr_error_set(err, SR_EFORMAT, "%s: \"bins\" must be 2..4097 ascending edges",
                                    what);
            o->nbins = json_array_size(bj) - 1;
            o->edges = calloc(o->nbins + 1, sizeof *o->edges);
            if (o->edges == NULL)
                return sr_error_set(err, SR_ENOMEM, "out of memory");
            for (size_t i = 0; i <= o->nbins; i++) {
                const json_t *v = json_array_get(bj, i);
                if (!json_is_number(v) || !isfinite(json_number_value(v)) ||
                    (i > 0 && json_number_value(v) <= o->edges[i - 1]))
                    return sr_error_set(err, SR_EFORMAT, "%s: \"bins\" must be ascending numbers",
                                        what);
                o->edges[i] = json_number_value(v);
            }
        } else {
            o->hist_cat = 1;
            char w2[450];
            snprintf(w2, sizeof w2, "%s.categories", what);
            if (parse_domain(c, catj, o->col, &o->cats, 4096, w2))
                return err->code;
            o->nbins = o->cats.n;
        }
    } else if (bj || catj) {
        return sr_error_set(err, SR_EFORMAT, "%s: \"bins\"/\"categories\" apply to histograms only",
                            what);
    }
    /* quantiles */
    const json_t *qj = json_object_get(oj, "quantiles");
    if (o->kind == O_QUANTILES) {
        if (!json_is_array(qj) || json_array_size(qj) == 0 || json_array_size(qj) > 99)
            return sr_error_set(err, SR_EFORMAT, "%s: \"quantiles\" must list 1..99 values in [0, 1]",
                                what);
        o->nq = json_array_size(qj);
        o->qs = calloc(o->nq, sizeof *o->qs);
        if (o->qs == NULL)
            return sr_error_set(err, SR_ENOMEM, "out of memory");
        for (size_t i = 0; i < o->nq; i++) {
            const json_t *v = json_array_get(qj, i);
            double q = json_is_number(v) ? json_number_value(v) : -1;
            if (!(q >= 0 && q <= 1))
                return sr_error_set(err, SR_EFORMAT, "%s: quantiles[%zu] is not in [0, 1]", what, i);
            o->qs[i] = q;
        }
    } else if (qj) {
        return sr_error_set(err, SR_EFORMAT, "%s: \"quantiles\" applies to quantile outputs only",
                            what);
    }
    if (parse_model(c, o, oj, what))
        return err->code;
    /* group by */
    o->ngroups = 1;
    const json_t *gj = json_object_get(oj, "group_by");
    if (gj != NULL) {
        if (!json_is_array(gj) || json_array_size(gj) == 0 || json_array_size(gj) > 4)
            return sr_error_set(err, SR_EFORMAT, "%s: \"group_by\" must list 1..4 columns", what);
        o->ngb = json_array_size(gj);
        for (size_t g = 0; g < o->ngb; g++) {
            const json_t *ge = json_array_get(gj, g);
            char w2[450];
            snprintf(w2, sizeof w2, "%s.group_by[%zu]", what, g);
            static const char *const gkeys[] = {"column", "domain", NULL};
            if (!json_is_object(ge))
                return sr_error_set(err, SR_EFORMAT, "%s: must be {\"column\", \"domain\"}", w2);
            if (check_keys(ge, gkeys, w2, err))
                return err->code;
            const json_t *gc = json_object_get(ge, "column");
            if (!json_is_string(gc))
                return sr_error_set(err, SR_EFORMAT, "%s: missing \"column\"", w2);
            int ci = find_col(p, json_string_value(gc));
            if (ci < 0)
                return sr_error_set(err, SR_ENOTFOUND, "%s: unknown column \"%s\"", w2,
                                    json_string_value(gc));
            p->cols[ci].used = 1;
            if (json_object_get(ge, "domain") == NULL)
                return sr_error_set(err, SR_EFORMAT, "%s: group-by column \"%s\" needs a declared "
                                    "\"domain\"", w2, p->cols[ci].name);
            if (parse_domain(c, json_object_get(ge, "domain"), ci, &o->gb[g], 4096, w2))
                return err->code;
            o->ngroups *= o->gb[g].n;
            if (o->ngroups * o->nbins > SR_ENGINE_MAX_GROUPS)
                return sr_error_set(err, SR_ELIMIT, "%s: more than %d cells", what,
                                    SR_ENGINE_MAX_GROUPS);
        }
    }
    snprintf(what + strlen(what), sizeof what - strlen(what), "%s", "");
    return parse_privacy(c, o, json_object_get(oj, "privacy"), what);
}

/* ---- the plan --------------------------------------------------------------- */

static int schemas_equal(const sr_schema *a, const sr_schema *b)
{
    if (a->ncols != b->ncols)
        return 0;
    for (size_t i = 0; i < a->ncols; i++)
        if (a->cols[i].type != b->cols[i].type || strcmp(a->cols[i].name, b->cols[i].name) != 0)
            return 0;
    return 1;
}

static const sr_schema *schema_of(const sr_engine_dataset *ds, size_t nds, const char *owner)
{
    for (size_t i = 0; i < nds; i++)
        if (strcmp(ds[i].owner, owner) == 0)
            return ds[i].schema;
    return NULL;
}

static int parse_join(pctx *c, const json_t *j, const sr_engine_dataset *ds, size_t nds)
{
    sr_plan *p = c->p;
    sr_error *err = c->err;
    static const char *const keys[] = {"left", "right", "on", NULL};
    if (!json_is_object(j))
        return sr_error_set(err, SR_EFORMAT, "analysis.sources.join: must be {\"left\", \"right\", \"on\"}");
    if (check_keys(j, keys, "analysis.sources.join", err))
        return err->code;
    const char *side_name[2] = {"left", "right"};
    for (int k = 0; k < 2; k++) {
        const json_t *o = json_object_get(j, side_name[k]);
        if (!json_is_string(o) || json_string_length(o) >= SR_MAX_NAME)
            return sr_error_set(err, SR_EFORMAT, "analysis.sources.join.%s: not an owner id",
                                side_name[k]);
        const sr_schema *sc = schema_of(ds, nds, json_string_value(o));
        if (sc == NULL)
            return sr_error_set(err, SR_ENOTFOUND, "analysis.sources.join.%s: owner \"%s\" has no "
                                "dataset in the recipe", side_name[k], json_string_value(o));
        snprintf(p->owners[k], SR_MAX_NAME, "%s", json_string_value(o));
        p->side_schema[k] = *sc;
    }
    if (strcmp(p->owners[0], p->owners[1]) == 0)
        return sr_error_set(err, SR_EFORMAT, "analysis.sources.join: left and right are the same "
                            "owner");
    p->nsrc = 2;
    p->join = 1;
    const json_t *on = json_object_get(j, "on");
    if (!json_is_string(on))
        return sr_error_set(err, SR_EFORMAT, "analysis.sources.join.on: must be a column name");
    for (int k = 0; k < 2; k++) {
        p->key_col[k] = sr_schema_find(&p->side_schema[k], json_string_value(on));
        if (p->key_col[k] < 0)
            return sr_error_set(err, SR_ENOTFOUND, "analysis.sources.join.on: %s owner \"%s\" has "
                                "no column \"%s\"", side_name[k], p->owners[k],
                                json_string_value(on));
    }
    sr_type kt = p->side_schema[0].cols[p->key_col[0]].type;
    if (kt != p->side_schema[1].cols[p->key_col[1]].type)
        return sr_error_set(err, SR_EFORMAT, "analysis.sources.join.on: type mismatch: the key is "
                            "%s on the left and %s on the right", sr_type_name(kt),
                            sr_type_name(p->side_schema[1].cols[p->key_col[1]].type));
    if (kt == SR_TYPE_FLOAT64)
        return sr_error_set(err, SR_EFORMAT, "analysis.sources.join.on: a float column cannot be "
                            "a join key");
    sr_schema *js = &p->schema;
    js->ncols = 0;
    for (int k = 0; k < 2; k++) {
        const sr_schema *sc = &p->side_schema[k];
        for (size_t i = 0; i < sc->ncols; i++) {
            if (k == 1 && (int)i == p->key_col[1])
                continue;
            if (js->ncols >= SR_MAX_COLUMNS)
                return sr_error_set(err, SR_ELIMIT, "analysis.sources.join: more than %d columns",
                                    SR_MAX_COLUMNS);
            if (sr_schema_find(js, sc->cols[i].name) >= 0)
                return sr_error_set(err, SR_EFORMAT, "analysis.sources.join: column \"%s\" exists "
                                    "on both sides (only the key may)", sc->cols[i].name);
            js->cols[js->ncols] = sc->cols[i];
            p->jside[js->ncols] = k;
            p->jcol[js->ncols] = (int)i;
            js->ncols++;
        }
    }
    return SR_OK;
}

static int parse_sources(pctx *c, const json_t *an, const sr_engine_dataset *ds, size_t nds)
{
    sr_plan *p = c->p;
    sr_error *err = c->err;
    const json_t *s = json_object_get(an, "sources");
    if (!json_is_object(s))
        return sr_error_set(err, SR_EFORMAT, "analysis: missing \"sources\": {\"union\": [owners]} "
                            "or {\"join\": {...}}");
    static const char *const keys[] = {"union", "join", NULL};
    if (check_keys(s, keys, "analysis.sources", err))
        return err->code;
    if (json_object_size(s) != 1)
        return sr_error_set(err, SR_EFORMAT, "analysis.sources: give exactly one of \"union\" and "
                            "\"join\"");
    if (json_object_get(s, "join"))
        return parse_join(c, json_object_get(s, "join"), ds, nds);
    const json_t *u = json_object_get(s, "union");
    if (!json_is_array(u) || json_array_size(u) == 0 || json_array_size(u) > 64)
        return sr_error_set(err, SR_EFORMAT, "analysis.sources.union: must list 1..64 owners");
    const sr_schema *first = NULL;
    for (size_t i = 0; i < json_array_size(u); i++) {
        const json_t *o = json_array_get(u, i);
        if (!json_is_string(o) || json_string_length(o) >= SR_MAX_NAME)
            return sr_error_set(err, SR_EFORMAT, "analysis.sources.union[%zu]: not an owner id", i);
        const char *id = json_string_value(o);
        const sr_schema *sc = schema_of(ds, nds, id);
        if (sc == NULL)
            return sr_error_set(err, SR_ENOTFOUND, "analysis.sources.union[%zu]: owner \"%s\" has no "
                                "dataset in the recipe", i, id);
        for (size_t k = 0; k < p->nsrc; k++)
            if (strcmp(p->owners[k], id) == 0)
                return sr_error_set(err, SR_EFORMAT, "analysis.sources.union[%zu]: owner \"%s\" "
                                    "listed twice", i, id);
        if (first == NULL)
            first = sc;
        else if (!schemas_equal(first, sc))
            return sr_error_set(err, SR_EFORMAT, "analysis.sources.union: owner \"%s\"'s schema "
                                "differs from \"%s\"'s (a union needs one schema)", id, p->owners[0]);
        snprintf(p->owners[p->nsrc++], SR_MAX_NAME, "%s", id);
    }
    p->schema = *first;
    return SR_OK;
}

void sr_plan_free(sr_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nexpr; i++) {
        sr_expr *e = p->exprs[i];
        free(e->str);
        free(e->set_num);
        if (e->set_str)
            for (size_t k = 0; k < e->nset; k++)
                free(e->set_str[k]);
        free(e->set_str);
        free(e);
    }
    free(p->exprs);
    for (size_t i = 0; i < p->nout; i++) {
        sr_output *o = &p->out[i];
        for (size_t g = 0; g < o->ngb; g++)
            free_domain(&o->gb[g]);
        free_domain(&o->cats);
        free(o->edges);
        free(o->qs);
        free(o->times);
        json_decref(o->privacy_json);
    }
    free(p->out);
    free(p->cols);
    free(p);
}

static int plan_build(pctx *c, const json_t *root, const sr_engine_dataset *ds, size_t nds)
{
    sr_plan *p = c->p;
    sr_error *err = c->err;
    if (!json_is_object(root))
        return sr_error_set(err, SR_EFORMAT, "recipe: not an object");
    const json_t *an = json_object_get(root, "analysis");
    if (!json_is_object(an))
        return sr_error_set(err, SR_EFORMAT, "recipe: missing \"analysis\" object");
    static const char *const akeys[] = {"sources", "filter", "derive", NULL};
    if (check_keys(an, akeys, "analysis", err))
        return err->code;
    if (parse_sources(c, an, ds, nds))
        return err->code;
    /* columns: source + derived */
    const json_t *dj = json_object_get(an, "derive");
    size_t nder = 0;
    if (dj != NULL) {
        if (!json_is_array(dj) || json_array_size(dj) > 256)
            return sr_error_set(err, SR_EFORMAT, "analysis.derive: must be an array of at most 256");
        nder = json_array_size(dj);
    }
    p->cols = calloc(p->schema.ncols + nder + 1, sizeof *p->cols);
    if (p->cols == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->schema.ncols; i++) {
        snprintf(p->cols[i].name, SR_MAX_NAME, "%s", p->schema.cols[i].name);
        p->cols[i].stype = p->schema.cols[i].type;
        p->cols[i].vt = vt_of_type(p->schema.cols[i].type);
    }
    p->ncols = p->schema.ncols;
    for (size_t i = 0; i < nder; i++) {
        const json_t *d = json_array_get(dj, i);
        char what[200];
        snprintf(what, sizeof what, "analysis.derive[%zu]", i);
        static const char *const dkeys[] = {"name", "expr", NULL};
        if (!json_is_object(d))
            return sr_error_set(err, SR_EFORMAT, "%s: must be {\"name\", \"expr\"}", what);
        if (check_keys(d, dkeys, what, err))
            return err->code;
        const json_t *nm = json_object_get(d, "name");
        if (!json_is_string(nm) || json_string_length(nm) == 0 ||
            json_string_length(nm) >= SR_MAX_NAME)
            return sr_error_set(err, SR_EFORMAT, "%s: \"name\" must be 1..%d bytes", what,
                                SR_MAX_NAME - 1);
        if (find_col(p, json_string_value(nm)) >= 0)
            return sr_error_set(err, SR_EFORMAT, "%s: column \"%s\" already exists", what,
                                json_string_value(nm));
        snprintf(what + strlen(what), sizeof what - strlen(what), " (%s)", json_string_value(nm));
        sr_expr *e = parse_expr(c, json_object_get(d, "expr"), what, 0);
        if (e == NULL)
            return err->code;
        if (e->vt == VT_STR && e->op != E_COL)
            return sr_error_set(err, SR_EFORMAT, "%s: a derived column cannot be a string literal",
                                what);
        sr_pcol *pc = &p->cols[p->ncols++];
        snprintf(pc->name, SR_MAX_NAME, "%s", json_string_value(nm));
        pc->vt = e->vt;
        pc->derived = 1;
        pc->expr = e;
    }
    const json_t *fj = json_object_get(an, "filter");
    if (fj != NULL) {
        p->filter = parse_expr(c, fj, "analysis.filter", 0);
        if (p->filter == NULL)
            return err->code;
        if (p->filter->vt != VT_BOOL)
            return sr_error_set(err, SR_EFORMAT, "analysis.filter: type mismatch: must be bool, "
                                "is %s", vt_name(p->filter->vt));
    }
    /* outputs */
    const json_t *oj = json_object_get(root, "outputs");
    if (!json_is_array(oj) || json_array_size(oj) == 0 ||
        json_array_size(oj) > SR_ENGINE_MAX_OUTPUTS)
        return sr_error_set(err, SR_EFORMAT, "recipe: \"outputs\" must list 1..%d outputs",
                            SR_ENGINE_MAX_OUTPUTS);
    p->out = calloc(json_array_size(oj), sizeof *p->out);
    if (p->out == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < json_array_size(oj); i++) {
        p->nout = i + 1;
        if (parse_output(c, json_array_get(oj, i), i))
            return err->code;
    }
    /* privacy */
    const json_t *pj = json_object_get(root, "privacy");
    if (!json_is_object(pj))
        return sr_error_set(err, SR_EFORMAT, "recipe: missing \"privacy\" object (the run's budget)");
    static const char *const pkeys[] = {"epsilon", "delta", "person_id", "max_rows_per_person",
                                        "min_group_size", NULL};
    if (check_keys(pj, pkeys, "privacy", err))
        return err->code;
    p->budget_eps = 0;
    p->budget_delta = 0;
    if (get_num(pj, "epsilon", &p->budget_eps, 1, "privacy", err) ||
        get_num(pj, "delta", &p->budget_delta, 0, "privacy", err))
        return err->code;
    if (!(p->budget_eps >= 0) || p->budget_eps > 100)
        return sr_error_set(err, SR_EFORMAT, "privacy.epsilon must be in [0, 100]");
    if (!(p->budget_delta >= 0 && p->budget_delta < 1))
        return sr_error_set(err, SR_EFORMAT, "privacy.delta must be in [0, 1)");
    p->person_col = -1;
    p->max_rows = 1;
    const json_t *pid = json_object_get(pj, "person_id");
    if (pid != NULL) {
        if (!json_is_string(pid))
            return sr_error_set(err, SR_EFORMAT, "privacy.person_id must be a column name");
        p->person_col = find_col(p, json_string_value(pid));
        if (p->person_col < 0 || p->cols[p->person_col].derived)
            return sr_error_set(err, SR_ENOTFOUND, "privacy.person_id: unknown source column \"%s\"",
                                json_string_value(pid));
        p->cols[p->person_col].used = 1;
    }
    const json_t *mr = json_object_get(pj, "max_rows_per_person");
    if (mr != NULL) {
        if (!json_is_integer(mr) || json_integer_value(mr) < 1 || json_integer_value(mr) > 1000000)
            return sr_error_set(err, SR_EFORMAT, "privacy.max_rows_per_person must be an integer in "
                                "[1, 1000000]");
        if (pid == NULL)
            return sr_error_set(err, SR_EFORMAT, "privacy.max_rows_per_person needs person_id");
        p->max_rows = (uint64_t)json_integer_value(mr);
    }
    const json_t *mg = json_object_get(pj, "min_group_size");
    if (mg != NULL) {
        if (!json_is_integer(mg) || json_integer_value(mg) < 0 ||
            json_integer_value(mg) > 1000000000)
            return sr_error_set(err, SR_EFORMAT, "privacy.min_group_size must be a non-negative "
                                "integer");
        p->min_group = (uint64_t)json_integer_value(mg);
    }
    /* budget */
    sr_dp_ledger l;
    sr_dp_ledger_init(&l);
    for (size_t i = 0; i < p->nout; i++) {
        sr_output *o = &p->out[i];
        if (o->mech == M_NONE)
            continue;
        p->any_dp = 1;
        if (o->mech == M_GAUSSIAN)
            sr_dp_ledger_add_rho(&l, o->rho);
        else
            sr_dp_ledger_add_pure(&l, o->epsilon);
    }
    if (p->any_dp && p->person_col < 0)
        return sr_error_set(err, SR_EDENIED, "privacy.person_id is required when an output is "
                            "noised: the engine bounds each person's rows (max_rows_per_person) "
                            "itself");
    if (p->any_dp && sr_dp_ledger_check(&l, p->budget_eps, p->budget_delta, err) != SR_OK)
        return sr_error_prefix(err, "privacy");
    sr_dp_ledger_guarantee(&l, p->budget_delta, &p->spent_eps, &p->spent_delta);
    p->spent_rho = l.rho;
    return SR_OK;
}

int sr_plan_new(const json_t *recipe, const sr_engine_dataset *ds, size_t nds, sr_plan **out,
                sr_error *err)
{
    *out = NULL;
    sr_plan *p = calloc(1, sizeof *p);
    if (p == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    pctx c = {p, err};
    if (plan_build(&c, recipe, ds, nds) != SR_OK) {
        int code = err ? err->code : SR_EFORMAT;
        sr_plan_free(p);
        return code ? code : SR_EFORMAT;
    }
    *out = p;
    return SR_OK;
}

size_t sr_plan_source_count(const sr_plan *p) { return p->nsrc; }
const char *sr_plan_source_owner(const sr_plan *p, size_t i)
{
    return i < p->nsrc ? p->owners[i] : NULL;
}
size_t sr_plan_output_count(const sr_plan *p) { return p->nout; }
const char *sr_plan_output_name(const sr_plan *p, size_t i)
{
    return i < p->nout ? p->out[i].name : NULL;
}

void sr_plan_privacy(const sr_plan *p, double *be, double *bd, double *se, double *sd)
{
    if (be) *be = p->budget_eps;
    if (bd) *bd = p->budget_delta;
    if (se) *se = p->spent_eps;
    if (sd) *sd = p->spent_delta;
}

static void mark_expr(const sr_plan *p, const sr_expr *e, uint8_t *mask)
{
    if (e == NULL)
        return;
    if (e->op == E_COL) {
        const sr_pcol *c = &p->cols[e->col];
        if (c->derived)
            mark_expr(p, c->expr, mask);
        else
            mask[e->col] = 1;
    }
    for (size_t i = 0; i < e->nargs; i++)
        mark_expr(p, e->a[i], mask);
}

void sr_plan_used_mask(const sr_plan *p, uint8_t *mask)
{
    memset(mask, 0, p->schema.ncols);
    for (size_t i = 0; i < p->ncols; i++) {
        if (!p->cols[i].used)
            continue;
        if (p->cols[i].derived)
            mark_expr(p, p->cols[i].expr, mask);
        else
            mask[i] = 1;
    }
    mark_expr(p, p->filter, mask);
}

int sr_plan_columns_used(const sr_plan *p, const char *owner, uint8_t *mask, size_t ncols,
                         sr_error *err)
{
    int side = -1;
    for (size_t i = 0; i < p->nsrc; i++)
        if (strcmp(p->owners[i], owner) == 0)
            side = (int)i;
    if (side < 0)
        return sr_error_set(err, SR_ENOTFOUND, "the plan reads no dataset of owner \"%s\"", owner);
    const sr_schema *sc = p->join ? &p->side_schema[side] : &p->schema;
    if (ncols != sc->ncols)
        return sr_error_set(err, SR_EINVAL, "column mask has %zu entries, schema has %zu", ncols,
                            sc->ncols);
    uint8_t jm[SR_MAX_COLUMNS];
    sr_plan_used_mask(p, jm);
    if (!p->join) {
        memcpy(mask, jm, ncols);
        return SR_OK;
    }
    memset(mask, 0, ncols);
    for (size_t j = 0; j < p->schema.ncols; j++)
        if (jm[j] && p->jside[j] == side)
            mask[p->jcol[j]] = 1;
    mask[p->key_col[side]] = 1;
    return SR_OK;
}

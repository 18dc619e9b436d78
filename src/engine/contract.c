/* sealroom engine: the output contract. A result document may hold only the
 * outputs its plan declares, each with the declared type and shape. */
#include <string.h>

#include "engine_internal.h"

static int only_keys(const json_t *o, const char *const *allowed, const char *what, sr_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i]; i++)
            ok |= strcmp(allowed[i], k) == 0;
        if (!ok)
            return sr_error_set(err, SR_EVERIFY, "%s: undeclared field \"%s\"", what, k);
    }
    return SR_OK;
}

static int check_cell(const sr_plan *pl, const sr_output *o, const json_t *cell, int grouped, const char *what,
                      sr_error *err)
{
    static const char *const k_out[] = {"type", "privacy", "noise", "value", "bins", "quantiles",
                                        "suppressed", "groups", "coefficients", "intercept",
                                        "curve", NULL};
    static const char *const k_cell[] = {"key", "value", "bins", "quantiles", "suppressed", "curve",
                                         NULL};
    if (!json_is_object(cell))
        return sr_error_set(err, SR_EVERIFY, "%s: not an object", what);
    if (only_keys(cell, grouped ? k_cell : k_out, what, err))
        return err->code;
    const json_t *sup = json_object_get(cell, "suppressed");
    if (sup != NULL) {
        if (!json_is_true(sup) || json_object_get(cell, "value") || json_object_get(cell, "bins") ||
            json_object_get(cell, "quantiles") || json_object_get(cell, "curve") ||
            json_object_get(cell, "coefficients"))
            return sr_error_set(err, SR_EVERIFY, "%s: a suppressed cell carries no values", what);
        return SR_OK;
    }
    switch (o->kind) {
    case O_COUNT: case O_SUM: case O_MEAN: case O_VARIANCE: {
        const json_t *v = json_object_get(cell, "value");
        if (v == NULL || !(json_is_number(v) || (json_is_null(v) && o->kind != O_COUNT &&
                                                 o->kind != O_SUM)))
            return sr_error_set(err, SR_EVERIFY, "%s: \"value\" must be a number", what);
        if (json_object_get(cell, "bins") || json_object_get(cell, "quantiles"))
            return sr_error_set(err, SR_EVERIFY, "%s: a %s has only \"value\"", what,
                                sr_engine_kind_name(o->kind));
        return SR_OK;
    }
    case O_HISTOGRAM: {
        const json_t *b = json_object_get(cell, "bins");
        if (!json_is_array(b) || json_array_size(b) != o->nbins)
            return sr_error_set(err, SR_EVERIFY, "%s: \"bins\" must have the %zu declared bins",
                                what, o->nbins);
        if (json_object_get(cell, "value") || json_object_get(cell, "quantiles"))
            return sr_error_set(err, SR_EVERIFY, "%s: a histogram has only \"bins\"", what);
        for (size_t i = 0; i < o->nbins; i++) {
            const json_t *bi = json_array_get(b, i);
            static const char *const kb[] = {"lo", "hi", "category", "count", "suppressed", NULL};
            if (!json_is_object(bi) || only_keys(bi, kb, what, err))
                return sr_error_set(err, SR_EVERIFY, "%s: bins[%zu] is malformed", what, i);
            if (o->hist_cat ? !json_equal(json_object_get(bi, "category"),
                                          json_array_get(o->cats.json, i))
                            : (json_real_value(json_object_get(bi, "lo")) != o->edges[i] ||
                               json_real_value(json_object_get(bi, "hi")) != o->edges[i + 1]))
                return sr_error_set(err, SR_EVERIFY, "%s: bins[%zu] is not the declared bin", what,
                                    i);
            if (!json_is_number(json_object_get(bi, "count")) &&
                !json_is_true(json_object_get(bi, "suppressed")))
                return sr_error_set(err, SR_EVERIFY, "%s: bins[%zu] has no count", what, i);
        }
        return SR_OK;
    }
    case O_QUANTILES: {
        const json_t *q = json_object_get(cell, "quantiles");
        if (!json_is_array(q) || json_array_size(q) != o->nq)
            return sr_error_set(err, SR_EVERIFY, "%s: \"quantiles\" must have the %zu declared "
                                "quantiles", what, o->nq);
        if (json_object_get(cell, "value") || json_object_get(cell, "bins"))
            return sr_error_set(err, SR_EVERIFY, "%s: quantiles have only \"quantiles\"", what);
        for (size_t i = 0; i < o->nq; i++) {
            const json_t *qi = json_array_get(q, i);
            static const char *const kq[] = {"q", "value", NULL};
            if (!json_is_object(qi) || only_keys(qi, kq, what, err) ||
                json_real_value(json_object_get(qi, "q")) != o->qs[i] ||
                !(json_is_number(json_object_get(qi, "value")) ||
                  json_is_null(json_object_get(qi, "value"))))
                return sr_error_set(err, SR_EVERIFY, "%s: quantiles[%zu] is not the declared "
                                    "quantile", what, i);
        }
        return SR_OK;
    }
    case O_LOGREG: case O_LINREG: case O_COX: {
        const json_t *co = json_object_get(cell, "coefficients");
        const json_t *ic = json_object_get(cell, "intercept");
        if (!json_is_object(co) || json_object_size(co) != o->nfeat)
            return sr_error_set(err, SR_EVERIFY, "%s: \"coefficients\" must have the %zu declared "
                                "features", what, o->nfeat);
        for (size_t j = 0; j < o->nfeat; j++)
            if (!json_is_number(json_object_get(co, pl->cols[o->feat[j]].name)))
                return sr_error_set(err, SR_EVERIFY, "%s: no coefficient for \"%s\"", what,
                                    pl->cols[o->feat[j]].name);
        if (o->intercept ? !json_is_number(ic) : !json_is_null(ic))
            return sr_error_set(err, SR_EVERIFY, "%s: intercept does not match the declaration",
                                what);
        if (json_object_get(cell, "value") || json_object_get(cell, "curve"))
            return sr_error_set(err, SR_EVERIFY, "%s: a regression has only coefficients", what);
        return SR_OK;
    }
    case O_KM: {
        const json_t *cv = json_object_get(cell, "curve");
        if (!json_is_array(cv) || json_array_size(cv) != o->ntimes)
            return sr_error_set(err, SR_EVERIFY, "%s: \"curve\" must have the %zu declared times",
                                what, o->ntimes);
        for (size_t k = 0; k < o->ntimes; k++) {
            const json_t *pt = json_array_get(cv, k);
            static const char *const kp[] = {"time", "surv", "se", "n_risk", "n_event", NULL};
            if (!json_is_object(pt) || only_keys(pt, kp, what, err) ||
                json_number_value(json_object_get(pt, "time")) != o->times[k] ||
                !json_is_number(json_object_get(pt, "surv")))
                return sr_error_set(err, SR_EVERIFY, "%s: curve[%zu] is not the declared point",
                                    what, k);
        }
        if (json_object_get(cell, "value") || json_object_get(cell, "coefficients"))
            return sr_error_set(err, SR_EVERIFY, "%s: a survival curve has only \"curve\"", what);
        return SR_OK;
    }
    }
    return sr_error_set(err, SR_EINTERNAL, "unknown kind");
}

int sr_engine_check_result(const sr_plan *p, const json_t *res, sr_error *err)
{
    static const char *const k_top[] = {"format", "mode", "compose_hash", "privacy", "outputs",
                                        NULL};
    if (!json_is_object(res))
        return sr_error_set(err, SR_EVERIFY, "result: not an object");
    if (only_keys(res, k_top, "result", err))
        return err->code;
    const json_t *f = json_object_get(res, "format");
    if (!json_is_string(f) || strcmp(json_string_value(f), "sealroom-result-v1") != 0)
        return sr_error_set(err, SR_EVERIFY, "result: format is not sealroom-result-v1");
    const json_t *outs = json_object_get(res, "outputs");
    if (!json_is_object(outs))
        return sr_error_set(err, SR_EVERIFY, "result: missing \"outputs\"");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)outs, k, v) {
        int found = 0;
        for (size_t i = 0; i < p->nout; i++)
            found |= strcmp(p->out[i].name, k) == 0;
        if (!found)
            return sr_error_set(err, SR_EVERIFY, "result: output \"%s\" is not declared by the "
                                "recipe", k);
    }
    for (size_t i = 0; i < p->nout; i++) {
        const sr_output *o = &p->out[i];
        char what[300];
        snprintf(what, sizeof what, "result: output \"%s\"", o->name);
        const json_t *jo = json_object_get(outs, o->name);
        if (jo == NULL)
            return sr_error_set(err, SR_EVERIFY, "%s is missing", what);
        const json_t *t = json_object_get(jo, "type");
        if (!json_is_string(t) || strcmp(json_string_value(t), sr_engine_kind_name(o->kind)) != 0)
            return sr_error_set(err, SR_EVERIFY, "%s: type must be %s", what,
                                sr_engine_kind_name(o->kind));
        if (!json_equal(json_object_get(jo, "privacy"), o->privacy_json))
            return sr_error_set(err, SR_EVERIFY, "%s: privacy differs from the declared treatment",
                                what);
        if (o->ngb == 0) {
            if (json_object_get(jo, "groups"))
                return sr_error_set(err, SR_EVERIFY, "%s: an ungrouped output has no groups", what);
            if (check_cell(p, o, jo, 0, what, err))
                return err->code;
            continue;
        }
        const json_t *gs = json_object_get(jo, "groups");
        if (!json_is_array(gs) || json_array_size(gs) != o->ngroups)
            return sr_error_set(err, SR_EVERIFY, "%s: \"groups\" must have the %zu declared cells",
                                what, o->ngroups);
        if (json_object_get(jo, "value") || json_object_get(jo, "bins") ||
            json_object_get(jo, "quantiles") || json_object_get(jo, "suppressed"))
            return sr_error_set(err, SR_EVERIFY, "%s: a grouped output holds values in its groups",
                                what);
        for (size_t g = 0; g < o->ngroups; g++) {
            const json_t *cell = json_array_get(gs, g);
            const json_t *key = json_object_get(cell, "key");
            char w2[340];
            snprintf(w2, sizeof w2, "%s: groups[%zu]", what, g);
            size_t rem = g, idx[4];
            for (size_t kk = o->ngb; kk-- > 0;) {
                idx[kk] = rem % o->gb[kk].n;
                rem /= o->gb[kk].n;
            }
            if (!json_is_object(key) || json_object_size(key) != o->ngb)
                return sr_error_set(err, SR_EVERIFY, "%s: bad key", w2);
            for (size_t kk = 0; kk < o->ngb; kk++)
                if (!json_equal(json_object_get(key, p->cols[o->gb[kk].col].name),
                                json_array_get(o->gb[kk].json, idx[kk])))
                    return sr_error_set(err, SR_EVERIFY, "%s: key is not the declared cell", w2);
            if (check_cell(p, o, cell, 1, w2, err))
                return err->code;
        }
    }
    return SR_OK;
}

/* sealroom engine: internal plan structures shared by plan.c, exec.c and
 * contract.c. */
#ifndef SR_ENGINE_INTERNAL_H
#define SR_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/engine.h"

/* Static value types of expressions. */
enum { VT_NUM = 1, VT_BOOL = 2, VT_STR = 3, VT_DATE = 4 };

enum {
    E_COL = 1, E_NUM, E_BOOL, E_STR, E_NULL,
    E_AND, E_OR, E_NOT, E_ISNULL, E_IN,
    E_EQ, E_NE, E_LT, E_LE, E_GT, E_GE,
    E_ADD, E_SUB, E_MUL, E_DIV, E_NEG, E_ABS,
    E_BUCKET, E_DATEDIFF
};

typedef struct sr_expr {
    int op;
    int vt;          /* static type of the value */
    int col;         /* E_COL: plan column index */
    double num;      /* E_NUM, E_BOOL (0/1), E_STR as date (when compared to dates) */
    char *str;       /* E_STR */
    struct sr_expr *a[2];
    size_t nargs;
    /* E_IN: literal set (numbers for NUM/BOOL/DATE, strings for STR);
     * E_BUCKET: ascending edges */
    double *set_num;
    char **set_str;
    size_t nset;
    int slot;        /* vector slot (exec) */
} sr_expr;

/* Plan columns: source columns first (index = schema index), then derived. */
typedef struct sr_pcol {
    char name[SR_MAX_NAME];
    int vt;
    sr_type stype;   /* source columns: their storage type */
    int derived;
    sr_expr *expr;   /* derived only */
    int used;
} sr_pcol;

enum { O_COUNT = 1, O_SUM, O_MEAN, O_VARIANCE, O_HISTOGRAM, O_QUANTILES, O_LOGREG, O_LINREG, O_KM, O_COX };
#define SR_ENGINE_MAX_FEATURES 128
#define SR_ENGINE_MAX_TIMES 1024
enum { M_NONE = 0, M_LAPLACE, M_GAUSSIAN, M_EXPONENTIAL };

typedef struct sr_domain {
    int col;        /* plan column */
    int vt;
    size_t n;
    double *num;    /* NUM / BOOL / DATE domain values */
    char **str;     /* STR domain values */
    json_t *json;   /* declared values, for the result keys */
} sr_domain;

typedef struct sr_output {
    char name[SR_MAX_NAME];
    int kind;
    int col;            /* value column (-1: count rows) */
    size_t ngb;
    sr_domain gb[4];    /* group-by columns */
    size_t ngroups;     /* product of domain sizes (1 if ungrouped) */
    /* histogram: numeric edges (nbins + 1) or categories */
    int hist_cat;
    sr_domain cats;
    double *edges;
    size_t nbins;       /* histogram bins (1 for other kinds) */
    /* quantiles */
    double *qs;
    size_t nq;
    /* privacy */
    int mech;
    double epsilon;     /* laplace / exponential */
    double rho;         /* gaussian */
    int has_clamp;
    double lo, hi;
    double resolution;
    double grid;        /* DP quantile candidate step */
    size_t ngrid;
    json_t *privacy_json; /* declared privacy, echoed in the result */
    /* models */
    size_t nfeat;
    int feat[SR_ENGINE_MAX_FEATURES]; /* feature columns */
    int label;          /* label / target column */
    double l2;
    int intercept, standardize;
    double clip;        /* DP logistic regression: row norm bound */
    int time_col, event_col; /* Kaplan-Meier, Cox */
    int ties;           /* Cox: SR_COX_EFRON or SR_COX_BRESLOW */
    double *times;
    size_t ntimes;
} sr_output;

struct sr_plan {
    size_t nsrc;
    char owners[64][SR_MAX_NAME];
    sr_schema schema;        /* the (common) source schema, or the joined schema */
    /* join: owners[0] (left) and owners[1] (right) on key_col[side]; the
     * joined schema is the left columns, then the right ones but the key;
     * joined column j comes from side jside[j], column jcol[j] */
    int join;
    sr_schema side_schema[2];
    int key_col[2];
    int jside[SR_MAX_COLUMNS];
    int jcol[SR_MAX_COLUMNS];
    size_t ncols;            /* plan columns */
    sr_pcol *cols;
    sr_expr *filter;         /* may be NULL */
    size_t nexpr;            /* expression nodes (slots) */
    sr_expr **exprs;         /* all nodes, for freeing and slots */
    size_t nout;
    sr_output *out;
    /* privacy */
    double budget_eps, budget_delta;
    double spent_eps, spent_delta, spent_rho;
    int person_col;          /* plan column, -1 = none */
    uint64_t max_rows;       /* rows per person kept (>= 1) */
    uint64_t min_group;      /* suppression threshold (0 = none) */
    int any_dp;
};

/* dp_sample.c: Bernoulli(exp(-num/den)) on 128-bit rationals. */
int sr_dp_bernoulli_exp_wide(sr_rng *r, unsigned __int128 num, unsigned __int128 den, int *out,
                             sr_error *err);
/* plan.c */
const char *sr_engine_kind_name(int kind);
/* Used columns of the plan's (union or joined) schema. */
void sr_plan_used_mask(const sr_plan *p, uint8_t *mask);

#endif

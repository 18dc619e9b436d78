/* sealroom: the analysis engine. A plan is built from a recipe's
 * "analysis", "outputs" and "privacy" sections (docs/RECIPES.md) and the
 * schemas of the datasets it reads; running it streams column batches from
 * one source per dataset (plaintext CSV or a sealed archive reader),
 * filters and derives columns, bounds each person's contribution, and
 * produces exactly the declared outputs, noised as declared (docs/DP.md). */
#ifndef SEALROOM_ENGINE_H
#define SEALROOM_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/column.h"
#include "sealroom/dp.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_ENGINE_MAX_OUTPUTS 256
#define SR_ENGINE_MAX_GROUPS 65536   /* cells of one grouped output */
#define SR_ENGINE_MAX_EXPR_DEPTH 32
#define SR_ENGINE_MAX_EXPR_NODES 4096
#define SR_ENGINE_MAX_GRID 1000000   /* candidates of a DP quantile */

/* A dataset the plan may read: its owner id and schema. */
typedef struct sr_engine_dataset {
    const char *owner;
    const sr_schema *schema;
} sr_engine_dataset;

typedef struct sr_plan sr_plan;

/* Builds and validates a plan from a whole recipe document (the object
 * holding "analysis", "outputs", "privacy"). Every problem is an error with
 * a message naming the path, e.g. "outputs[2] (mean_age): a noised mean
 * needs privacy.clamp [lo, hi]". */
int sr_plan_new(const json_t *recipe, const sr_engine_dataset *ds, size_t nds, sr_plan **out,
                sr_error *err);
void sr_plan_free(sr_plan *p);

/* Owners whose datasets the plan reads, in source order. */
size_t sr_plan_source_count(const sr_plan *p);
const char *sr_plan_source_owner(const sr_plan *p, size_t i);
/* Which columns of an owner's schema the plan uses: mask[c] = 1 for used
 * columns (mask has schema->ncols entries). A reader may skip (never
 * decrypt) the others; their chunks in the batches it returns may be
 * empty. */
int sr_plan_columns_used(const sr_plan *p, const char *owner, uint8_t *mask, size_t ncols,
                         sr_error *err);
/* The run's budget and the guarantee its outputs spend. */
void sr_plan_privacy(const sr_plan *p, double *budget_eps, double *budget_delta, double *spent_eps,
                     double *spent_delta);
size_t sr_plan_output_count(const sr_plan *p);
const char *sr_plan_output_name(const sr_plan *p, size_t i);

/* A source of batches for one dataset. next() returns the next batch in *b
 * (its columns follow the dataset schema) or a batch with nrows = 0 at the
 * end. A batch is borrowed until the next call, or, when `lookahead` is
 * set, until the call after the next: the engine then reads (decrypts,
 * parses) the next batch on a second thread while it processes the
 * current one. */
typedef struct sr_engine_source {
    const char *owner;
    int (*next)(void *ctx, const sr_batch **b, sr_error *err);
    void *ctx;
    int lookahead;
    /* Optional (NULL: the source is read once). Starts the source again at
     * its first row: next() then returns the same rows in the same order,
     * with only the columns mask[c] != 0 (over the dataset schema) needing
     * to be filled (others may be empty chunks). Model outputs re-read
     * rewindable sources on every pass instead of holding their rows
     * when these pass opts->model_memory (docs/MODELS.md). */
    int (*rewind)(void *ctx, const uint8_t *mask, sr_error *err);
} sr_engine_source;

typedef struct sr_engine_opts {
    sr_rng *rng;        /* noise source (required if any output is noised) */
    const char *mode;   /* written as result "mode", e.g. "unsigned local dry run" */
    unsigned threads;   /* threads: 1 = all on the caller's; 0 or >= 2 = a reader thread for
                           lookahead sources and 2 workers for models */
    const uint8_t *compose_hash; /* 32 bytes written as result "compose_hash", or NULL */
    /* Bytes of rows a regression output may hold in memory (0 =
     * SR_ENGINE_MODEL_MEMORY). Past it, when every source can be rewound
     * and the plan is no join, the output drops its rows and its model
     * re-reads the sources on every pass (docs/MODELS.md); 1 streams from
     * the first row. Results are the same either way. */
    size_t model_memory;
} sr_engine_opts;

#define SR_ENGINE_MODEL_MEMORY ((size_t)32 << 20)

/* Runs the plan over the sources (one per plan source owner, any order)
 * and builds the result document (docs/RECIPES.md "Outputs"): only the
 * declared outputs, each with its declared type and shape. */
int sr_engine_run(const sr_plan *p, sr_engine_source *src, size_t nsrc, const sr_engine_opts *opts,
                  json_t **result, sr_error *err);

/* Output contract: checks that a result document has exactly the plan's
 * outputs, each with its type and shape (group cells, bins, quantiles,
 * coefficients); anything extra or missing is an error. */
int sr_engine_check_result(const sr_plan *p, const json_t *result, sr_error *err);

/* A CSV file as a source (schema checked against the header). */
typedef struct sr_engine_csv sr_engine_csv;
int sr_engine_csv_open(const char *path, const sr_schema *schema, size_t batch_rows,
                       sr_engine_csv **out, sr_error *err);
void sr_engine_csv_close(sr_engine_csv *c);
/* Fills *src (owner borrowed) to read from c. */
void sr_engine_csv_source(sr_engine_csv *c, const char *owner, sr_engine_source *src);

/* A sealed archive as a source: decrypts only the columns the plan uses
 * (sr_plan_columns_used) through sr_archive_scan. The archive must be
 * unlocked and outlive the source. */
struct sr_archive;
typedef struct sr_engine_arch sr_engine_arch;
int sr_engine_archive_open(struct sr_archive *a, const sr_plan *p, const char *owner,
                           sr_engine_arch **out, sr_error *err);
void sr_engine_archive_close(sr_engine_arch *s);
void sr_engine_archive_source(sr_engine_arch *s, const char *owner, sr_engine_source *src);

#ifdef __cplusplus
}
#endif
#endif

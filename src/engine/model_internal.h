/* Internal helpers shared by src/engine/model_*.c (not a public API). */
#ifndef SR_MODEL_INTERNAL_H
#define SR_MODEL_INTERNAL_H

#include <stddef.h>

#include "sealroom/models.h"

/* Per-block callback of a data pass: folds block b into the worker's
 * accumulator acc. */
typedef int (*sr_model_block_fn)(void *acc, const sr_model_block *b, sr_error *err);

/* One pass over all blocks with `threads` workers. Worker t handles the
 * blocks t, t+threads, t+2*threads, ... in order (deterministic for a
 * given thread count) into accs[t]; the caller merges accs afterwards in
 * worker order. Returns the first failing status. */
int sr_model_pass(const sr_model_data *data, unsigned threads, void *const *accs,
                  sr_model_block_fn fn, sr_error *err);

/* The same over the blocks 0, stride, 2*stride, ... only (block q*stride
 * goes to worker q mod threads). */
int sr_model_pass_strided(const sr_model_data *data, unsigned threads, size_t stride,
                          void *const *accs, sr_model_block_fn fn, sr_error *err);

/* Number of workers to use: opts value (0 = 2), capped by
 * SR_MODEL_MAX_THREADS and by the number of blocks (at least 1). */
unsigned sr_model_threads(unsigned requested, size_t nblocks);

/* Column means and population standard deviations of the p features
 * (pairwise-merged Welford). n receives the row count. */
int sr_model_feature_stats(const sr_model_data *data, unsigned threads, double *mean, double *sd,
                           uint64_t *n, sr_error *err);

/* Solves A x = b for a symmetric positive definite k x k matrix A
 * (row-major, full storage; only read), by symmetric equilibration and a
 * Cholesky factorisation in long double. inv (may be NULL) receives A^-1.
 * Returns SR_ESTATE when A is not numerically positive definite. */
int sr_model_spd_solve(size_t k, const double *A, const double *b, double *x, double *inv,
                       sr_error *err);

/* Adds DP noise to the vector v[0..k) whose L2 sensitivity is sens2, at a
 * fixed-point resolution of sens2 / 2^16 (rounding included in the
 * sensitivity). *scale (may be NULL): sigma (Gaussian) or the Laplace scale
 * of each entry's noise. */
int sr_model_dp_vector(const sr_model_dp *dp, double *v, size_t k, double sens2, double *scale,
                       sr_error *err);

#endif

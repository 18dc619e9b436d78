/* sealroom engine: a sealed archive as a batch source, decrypting only the
 * columns the plan reads. */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "sealroom/archive.h"

struct sr_engine_arch {
    struct sr_archive *a;
    sr_archive_scan *scan;
    size_t ncols;              /* schema columns */
    size_t nsel;
    size_t sel[SR_MAX_COLUMNS];
    int cur;                   /* two alternating buffers (lookahead) */
    sr_batch sub[2];           /* the scanned subset */
    sr_chunk *view_cols[2];    /* schema.ncols chunks; unused ones empty */
    sr_batch view[2];
};

int sr_engine_archive_open(struct sr_archive *a, const sr_plan *p, const char *owner,
                           sr_engine_arch **out, sr_error *err)
{
    *out = NULL;
    const sr_manifest *m = sr_archive_manifest(a);
    uint8_t mask[SR_MAX_COLUMNS];
    /* a join reads each side with its own dataset schema, a union the common one */
    const sr_schema *sc = &p->schema;
    if (p->join)
        for (size_t i = 0; i < p->nsrc && i < 2; i++)
            if (strcmp(p->owners[i], owner) == 0)
                sc = &p->side_schema[i];
    if (m->schema.ncols != sc->ncols)
        return sr_error_set(err, SR_EFORMAT, "archive of %s has %zu columns, the recipe's schema %zu",
                            owner, m->schema.ncols, sc->ncols);
    for (size_t c = 0; c < m->schema.ncols; c++)
        if (m->schema.cols[c].type != sc->cols[c].type || strcmp(m->schema.cols[c].name, sc->cols[c].name) != 0)
            return sr_error_set(err, SR_EFORMAT, "archive of %s: column %zu (%s) differs from the "
                                "recipe's schema", owner, c, m->schema.cols[c].name);
    if (sr_plan_columns_used(p, owner, mask, sc->ncols, err))
        return err->code;
    sr_engine_arch *s = calloc(1, sizeof *s);
    if (s == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    s->a = a;
    s->ncols = sc->ncols;
    for (size_t c = 0; c < s->ncols; c++)
        if (mask[c])
            s->sel[s->nsel++] = c;
    if (s->nsel == 0) /* a plain count still needs the row structure */
        s->sel[s->nsel++] = 0;
    s->view_cols[0] = calloc(s->ncols, sizeof(sr_chunk));
    s->view_cols[1] = calloc(s->ncols, sizeof(sr_chunk));
    if (s->view_cols[0] == NULL || s->view_cols[1] == NULL) {
        sr_engine_archive_close(s);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    if (sr_archive_scan_open(a, s->sel, s->nsel, &s->scan, err)) {
        sr_engine_archive_close(s);
        return err->code;
    }
    *out = s;
    return SR_OK;
}

void sr_engine_archive_close(sr_engine_arch *s)
{
    if (s == NULL)
        return;
    if (s->scan)
        sr_archive_scan_close(s->scan);
    for (int k = 0; k < 2; k++) {
        sr_batch_free(&s->sub[k]);
        free(s->view_cols[k]);
    }
    free(s);
}

static int arch_next(void *ctx, const sr_batch **b, sr_error *err)
{
    sr_engine_arch *s = ctx;
    int c = s->cur ^= 1;
    sr_batch *sub = &s->sub[c];
    int rc = sr_archive_read_batch(s->scan, sub, err);
    if (rc != SR_OK)
        return rc;
    if (sub->ncols != s->nsel && sub->nrows > 0)
        return sr_error_set(err, SR_EINTERNAL, "archive scan returned %zu columns, asked %zu",
                            sub->ncols, s->nsel);
    memset(s->view_cols[c], 0, s->ncols * sizeof(sr_chunk));
    for (size_t k = 0; k < s->nsel && sub->nrows > 0; k++)
        s->view_cols[c][s->sel[k]] = sub->cols[k]; /* shallow: read only */
    s->view[c].ncols = s->ncols;
    s->view[c].nrows = sub->nrows;
    s->view[c].cols = s->view_cols[c];
    *b = &s->view[c];
    return SR_OK;
}

/* Reopens the scan at the first row, over the masked columns only. */
static int arch_rewind(void *ctx, const uint8_t *mask, sr_error *err)
{
    sr_engine_arch *s = ctx;
    size_t sel[SR_MAX_COLUMNS], nsel = 0;
    for (size_t c = 0; c < s->ncols; c++)
        if (mask[c])
            sel[nsel++] = c;
    if (nsel == 0) /* the row structure still needs one column */
        sel[nsel++] = 0;
    sr_archive_scan *scan = NULL;
    if (sr_archive_scan_open(s->a, sel, nsel, &scan, err))
        return err->code;
    sr_archive_scan_close(s->scan);
    s->scan = scan;
    memcpy(s->sel, sel, nsel * sizeof sel[0]);
    s->nsel = nsel;
    for (int k = 0; k < 2; k++) /* the scanned subset's columns change */
        sr_batch_free(&s->sub[k]);
    return SR_OK;
}

void sr_engine_archive_source(sr_engine_arch *s, const char *owner, sr_engine_source *src)
{
    src->rewind = arch_rewind;
    src->owner = owner;
    src->next = arch_next;
    src->ctx = s;
    src->lookahead = 1;
}

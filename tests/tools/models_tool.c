/* sr_models_tool: driver for the models' interop tests and benchmark.
 *
 *   sr_models_tool logreg|linreg|km|cox [options] FILE.csv...
 *
 * Reads numeric CSV files (header row of column names; every file must
 * have the same columns; rows of all files are taken together, in order),
 * fits the model and prints one JSON object on stdout.
 *
 * Options:
 *   --features a,b,c    feature columns (logreg/linreg/cox; default: all but label)
 *   --label NAME        label / target column (logreg, linreg)
 *   --l2 X              L2 penalty (logreg, linreg)
 *   --no-intercept      fit without intercept
 *   --standardize       penalty on the standardized scale
 *   --threads N         worker threads (default 2)
 *   --block-rows N      rows per block (default 8192)
 *   --bin FILE --p N    instead of CSV: raw little-endian float64, column-major,
 *                       p feature columns then the label column, n rows each
 *   --time NAME --event NAME [--group NAME] [--at t1,t2,..]   (km, cox)
 *   --ties breslow|efron (cox; default efron)
 *   --dp laplace|gaussian --epsilon E | --rho R [--clip C (logreg, default 1)]
 *       [--rows-per-person M] [--seed N]   DP variants (docs/MODELS.md): logreg
 *       by output perturbation; km on the --at points (binned, noisy counts).
 *       --seed makes the noise reproducible (tests only).
 *   --binned            km: the binned curve on the --at points without noise
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/dp.h"
#include "sealroom/models.h"

#define MAXCOLS 256

typedef struct table {
    size_t ncols, nrows, cap;
    char *names[MAXCOLS];
    double *cols[MAXCOLS];
} table;

static void table_free(table *t)
{
    for (size_t j = 0; j < t->ncols; j++) {
        free(t->names[j]);
        free(t->cols[j]);
    }
    memset(t, 0, sizeof(*t));
}

static int table_find(const table *t, const char *name)
{
    for (size_t j = 0; j < t->ncols; j++)
        if (strcmp(t->names[j], name) == 0)
            return (int)j;
    return -1;
}

/* Splits line at commas in place (no quoting: numeric files only). */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    char *s = line;
    for (;;) {
        if (n == max)
            return max + 1;
        fields[n++] = s;
        char *c = strchr(s, ',');
        if (c == NULL)
            break;
        *c = '\0';
        s = c + 1;
    }
    return n;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static int read_csv(const char *path, table *t)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *line = NULL;
    size_t lcap = 0;
    char *fields[MAXCOLS + 1];
    int rc = -1;
    if (getline(&line, &lcap, f) < 0) {
        fprintf(stderr, "%s: empty file\n", path);
        goto done;
    }
    chomp(line);
    size_t nf = split(line, fields, MAXCOLS);
    if (nf > MAXCOLS) {
        fprintf(stderr, "%s: too many columns\n", path);
        goto done;
    }
    if (t->ncols == 0) {
        for (size_t j = 0; j < nf; j++) {
            const char *nm = fields[j];
            size_t L = strlen(nm);
            if (L >= 2 && nm[0] == '"' && nm[L - 1] == '"') {
                t->names[j] = strndup(nm + 1, L - 2);
            } else {
                t->names[j] = strdup(nm);
            }
        }
        t->ncols = nf;
    } else if (nf != t->ncols) {
        fprintf(stderr, "%s: %zu columns, expected %zu\n", path, nf, t->ncols);
        goto done;
    }
    size_t lineno = 1;
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        chomp(line);
        if (line[0] == '\0')
            continue;
        nf = split(line, fields, MAXCOLS);
        if (nf != t->ncols) {
            fprintf(stderr, "%s:%zu: %zu fields, expected %zu\n", path, lineno, nf, t->ncols);
            goto done;
        }
        if (t->nrows == t->cap) {
            size_t nc = t->cap ? t->cap * 2 : 1024;
            for (size_t j = 0; j < t->ncols; j++) {
                double *p = realloc(t->cols[j], nc * sizeof(double));
                if (p == NULL) {
                    fprintf(stderr, "out of memory\n");
                    goto done;
                }
                t->cols[j] = p;
            }
            t->cap = nc;
        }
        for (size_t j = 0; j < t->ncols; j++) {
            char *end;
            errno = 0;
            double v = strtod(fields[j], &end);
            if (end == fields[j] || *end != '\0') {
                fprintf(stderr, "%s:%zu: column %s: not a number: '%s'\n", path, lineno,
                        t->names[j], fields[j]);
                goto done;
            }
            t->cols[j][t->nrows] = v;
        }
        t->nrows++;
    }
    rc = 0;
done:
    free(line);
    fclose(f);
    return rc;
}

static int read_bin(const char *path, size_t p, table *t)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return -1;
    }
    long sz = ftell(f);
    rewind(f);
    size_t ncols = p + 1;
    if (sz <= 0 || (size_t)sz % (ncols * sizeof(double)) != 0 || ncols > MAXCOLS) {
        fprintf(stderr, "%s: size %ld is not a multiple of %zu columns\n", path, sz, ncols);
        fclose(f);
        return -1;
    }
    size_t n = (size_t)sz / (ncols * sizeof(double));
    for (size_t j = 0; j < ncols; j++) {
        char nm[32];
        if (j < p)
            snprintf(nm, sizeof(nm), "x%zu", j);
        else
            snprintf(nm, sizeof(nm), "y");
        t->names[j] = strdup(nm);
        t->cols[j] = malloc(n * sizeof(double));
        t->ncols = j + 1;
        if (t->cols[j] == NULL || fread(t->cols[j], sizeof(double), n, f) != n) {
            fprintf(stderr, "%s: read failed\n", path);
            fclose(f);
            return -1;
        }
    }
    t->nrows = t->cap = n;
    fclose(f);
    return 0;
}

static size_t parse_list(const char *s, char **out, size_t max)
{
    size_t n = 0;
    char *dup = strdup(s);
    char *save = NULL;
    for (char *tok = strtok_r(dup, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        out[n++] = strdup(tok);
    free(dup);
    return n;
}

static void pnum(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

static void parr(const double *v, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++) {
        if (i)
            putchar(',');
        pnum(v[i]);
    }
    putchar(']');
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pnames(char **names, size_t n)
{
    putchar('[');
    for (size_t i = 0; i < n; i++)
        printf("%s\"%s\"", i ? "," : "", names[i]);
    putchar(']');
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: sr_models_tool logreg|linreg|km|cox [options] FILE.csv...\n");
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    const char *features = NULL, *label = NULL, *bin = NULL, *tcol = NULL, *ecol = NULL,
               *gcol = NULL, *at = NULL, *ties = "efron";
    double l2 = 0, dp_eps = 0, dp_rho = 0, clip = 1.0;
    const char *dpmech = NULL;
    unsigned rows_per_person = 1;
    unsigned long long seed = 0;
    int have_seed = 0, binned = 0;
    int intercept = 1, standardize = 0;
    unsigned threads = 2;
    size_t block_rows = 8192, binp = 0;
    const char *files[64];
    size_t nfiles = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v != NULL && (i++, 1))
        if (OPT("--features"))
            features = v;
        else if (OPT("--label"))
            label = v;
        else if (OPT("--l2"))
            l2 = strtod(v, NULL);
        else if (strcmp(a, "--no-intercept") == 0)
            intercept = 0;
        else if (strcmp(a, "--standardize") == 0)
            standardize = 1;
        else if (OPT("--threads"))
            threads = (unsigned)strtoul(v, NULL, 10);
        else if (OPT("--block-rows"))
            block_rows = strtoull(v, NULL, 10);
        else if (OPT("--bin"))
            bin = v;
        else if (OPT("--p"))
            binp = strtoull(v, NULL, 10);
        else if (OPT("--time"))
            tcol = v;
        else if (OPT("--event"))
            ecol = v;
        else if (OPT("--group"))
            gcol = v;
        else if (OPT("--at"))
            at = v;
        else if (OPT("--ties"))
            ties = v;
        else if (OPT("--dp"))
            dpmech = v;
        else if (OPT("--epsilon"))
            dp_eps = strtod(v, NULL);
        else if (OPT("--rho"))
            dp_rho = strtod(v, NULL);
        else if (OPT("--clip"))
            clip = strtod(v, NULL);
        else if (OPT("--rows-per-person"))
            rows_per_person = (unsigned)strtoul(v, NULL, 10);
        else if (OPT("--seed")) {
            seed = strtoull(v, NULL, 10);
            have_seed = 1;
        } else if (strcmp(a, "--binned") == 0)
            binned = 1;
        else if (a[0] != '-' && nfiles < 64)
            files[nfiles++] = a;
        else {
            fprintf(stderr, "unknown or incomplete option %s\n", a);
            return 2;
        }
#undef OPT
    }
    table t;
    memset(&t, 0, sizeof(t));
    double t0 = now();
    if (bin) {
        if (read_bin(bin, binp, &t) != 0)
            return 1;
        if (label == NULL)
            label = "y";
    } else {
        if (nfiles == 0) {
            fprintf(stderr, "no input files\n");
            return 2;
        }
        for (size_t f = 0; f < nfiles; f++)
            if (read_csv(files[f], &t) != 0) {
                table_free(&t);
                return 1;
            }
    }
    double load_s = now() - t0;
    int rc = 1;
    sr_error err;
    sr_error_clear(&err);
    sr_model_dp dp = {0};
    double noise_scale = 0;
    if (dpmech) {
        if (strcmp(dpmech, "laplace") == 0)
            dp.mechanism = SR_MODEL_DP_LAPLACE;
        else if (strcmp(dpmech, "gaussian") == 0)
            dp.mechanism = SR_MODEL_DP_GAUSSIAN;
        else {
            fprintf(stderr, "--dp must be laplace or gaussian\n");
            table_free(&t);
            return 2;
        }
        dp.epsilon = dp_eps;
        dp.rho = dp_rho;
        dp.rows_per_person = rows_per_person;
        dp.rng = have_seed ? sr_rng_new_seed_u64(seed, &err) : sr_rng_new_system(&err);
        if (dp.rng == NULL) {
            fprintf(stderr, "error: %s\n", err.msg);
            table_free(&t);
            return 1;
        }
    }
    char *fnames[MAXCOLS];
    size_t nfeat = 0;
    const double *fx[MAXCOLS + 1];

    if (strcmp(cmd, "km") != 0) {
        if (features) {
            nfeat = parse_list(features, fnames, MAXCOLS);
        } else {
            for (size_t j = 0; j < t.ncols; j++) {
                const char *nm = t.names[j];
                if ((label && strcmp(nm, label) == 0) || (tcol && strcmp(nm, tcol) == 0) ||
                    (ecol && strcmp(nm, ecol) == 0))
                    continue;
                fnames[nfeat++] = strdup(nm);
            }
        }
        for (size_t j = 0; j < nfeat; j++) {
            int c = table_find(&t, fnames[j]);
            if (c < 0) {
                fprintf(stderr, "no column %s\n", fnames[j]);
                goto out;
            }
            fx[j] = t.cols[c];
        }
    }

    if (strcmp(cmd, "logreg") == 0 || strcmp(cmd, "linreg") == 0) {
        int lc = label ? table_find(&t, label) : -1;
        if (lc < 0) {
            fprintf(stderr, "no label column\n");
            goto out;
        }
        sr_model_array arr;
        sr_model_data data;
        if (sr_model_data_from_array(&data, &arr, fx, t.cols[lc], t.nrows, nfeat, block_rows,
                                     &err) != 0)
            goto fail;
        sr_model_fit fit;
        double t1 = now(), c1 = cpu_now();
        if (cmd[0] == 'l' && cmd[1] == 'o') {
            sr_logreg_opts o = {.l2 = l2, .intercept = intercept, .standardize = standardize,
                                .threads = threads};
            if (dpmech) {
                if (sr_logreg_fit_dp(&data, &o, clip, &dp, &fit, &noise_scale, &err) != 0)
                    goto fail;
            } else if (sr_logreg_fit(&data, &o, &fit, &err) != 0) {
                goto fail;
            }
        } else {
            sr_linreg_opts o = {.l2 = l2, .intercept = intercept, .standardize = standardize,
                                .threads = threads};
            if (sr_linreg_fit(&data, &o, &fit, &err) != 0)
                goto fail;
        }
        double fit_s = now() - t1, fit_cpu = cpu_now() - c1;
        printf("{\"model\":\"%s\",\"n\":%llu,\"features\":", cmd, (unsigned long long)fit.n);
        pnames(fnames, nfeat);
        printf(",\"coef\":");
        parr(fit.coef, nfeat);
        printf(",\"intercept\":");
        pnum(fit.intercept);
        printf(",\"objective\":");
        pnum(fit.objective);
        printf(",\"iterations\":%d", fit.iterations);
        printf(",\"se\":");
        parr(fit.se, nfeat);
        printf(",\"se_intercept\":");
        pnum(fit.se_intercept);
        if (cmd[1] == 'i') {
            printf(",\"rss\":");
            pnum(fit.rss);
            printf(",\"r2\":");
            pnum(fit.r2);
            printf(",\"r2_adj\":");
            pnum(fit.r2_adj);
            printf(",\"sigma2\":");
            pnum(fit.sigma2);
            printf(",\"df_resid\":");
            pnum(fit.df_resid);
        }
        if (dpmech) {
            printf(",\"dp\":\"%s\",\"noise_scale\":", dpmech);
            pnum(noise_scale);
        }
        printf(",\"load_seconds\":%.6f,\"fit_seconds\":%.6f,\"fit_cpu_seconds\":%.6f}\n", load_s,
               fit_s, fit_cpu);
        rc = 0;
    } else if (strcmp(cmd, "km") == 0) {
        int tc = tcol ? table_find(&t, tcol) : -1, ec = ecol ? table_find(&t, ecol) : -1;
        int gc = gcol ? table_find(&t, gcol) : -1;
        if (tc < 0 || ec < 0 || (gcol && gc < 0)) {
            fprintf(stderr, "km needs --time and --event columns (and --group if given)\n");
            goto out;
        }
        /* groups: distinct values of the group column, ascending */
        double gvals[256];
        size_t ng = 0;
        uint8_t *ev = malloc(t.nrows + 1);
        uint32_t *gr = malloc((t.nrows + 1) * sizeof(uint32_t));
        if (ev == NULL || gr == NULL) {
            free(ev);
            free(gr);
            goto out;
        }
        for (size_t i = 0; i < t.nrows; i++) {
            ev[i] = t.cols[ec][i] != 0;
            gr[i] = 0;
            if (gc >= 0) {
                double g = t.cols[gc][i];
                size_t k = 0;
                while (k < ng && gvals[k] != g)
                    k++;
                if (k == ng) {
                    if (ng == 256) {
                        fprintf(stderr, "too many groups\n");
                        free(ev);
                        free(gr);
                        goto out;
                    }
                    gvals[ng++] = g;
                }
            }
        }
        if (ng == 0)
            gvals[ng++] = 0;
        /* sort group values */
        for (size_t a = 1; a < ng; a++)
            for (size_t b = a; b > 0 && gvals[b - 1] > gvals[b]; b--) {
                double tmp = gvals[b];
                gvals[b] = gvals[b - 1];
                gvals[b - 1] = tmp;
            }
        if (gc >= 0)
            for (size_t i = 0; i < t.nrows; i++) {
                uint32_t k = 0;
                while (gvals[k] != t.cols[gc][i])
                    k++;
                gr[i] = k;
            }
        if (dpmech || binned) {
            char *ts[256];
            size_t nt = at ? parse_list(at, ts, 256) : 0;
            double tv[256];
            for (size_t i = 0; i < nt; i++) {
                tv[i] = strtod(ts[i], NULL);
                free(ts[i]);
            }
            sr_km_bins *kb = NULL;
            sr_km_point *pts = calloc(ng * (nt ? nt : 1), sizeof(sr_km_point));
            int ok = pts != NULL && sr_km_bins_new(&kb, ng, tv, nt, &err) == 0 &&
                     sr_km_bins_add(kb, t.cols[tc], ev, gr, t.nrows, &err) == 0 &&
                     sr_km_bins_release(kb, dpmech ? &dp : NULL, pts, &noise_scale, &err) == 0;
            if (ok) {
                printf("{\"model\":\"km\",\"binned\":true,\"noise_scale\":");
                pnum(noise_scale);
                printf(",\"groups\":[");
                for (size_t g = 0; g < ng; g++) {
                    const sr_km_point *pt = pts + g * nt;
                    size_t np = nt;
                    printf("%s{\"group\":", g ? "," : "");
                    pnum(gvals[g]);
                    printf(",\"time\":[");
                    for (size_t i = 0; i < np; i++) {
                        if (i)
                            putchar(',');
                        pnum(pt[i].time);
                    }
#define FIELD(nm, f)                       \
    printf("],\"" nm "\":[");              \
    for (size_t i = 0; i < np; i++) {      \
        if (i)                             \
            putchar(',');                  \
        pnum(pt[i].f);                     \
    }
                    FIELD("n_risk", n_risk)
                    FIELD("n_event", n_event)
                    FIELD("n_censor", n_censor)
                    FIELD("surv", surv)
                    FIELD("se_surv", se_surv)
#undef FIELD
                    printf("]}");
                }
                printf("]}\n");
                rc = 0;
            }
            sr_km_bins_free(kb);
            free(pts);
            free(ev);
            free(gr);
            if (!ok)
                goto fail;
            goto out;
        }
        sr_km *km = NULL;
        int ok = sr_km_new(&km, ng, &err) == 0;
        /* add in blocks of block_rows, into two accumulators, then merge:
         * exercises merge the way threads/owners would use it */
        sr_km *km2 = NULL;
        ok = ok && sr_km_new(&km2, ng, &err) == 0;
        for (size_t s = 0, b = 0; ok && s < t.nrows; s += block_rows, b++) {
            size_t m = t.nrows - s < block_rows ? t.nrows - s : block_rows;
            ok = sr_km_add(b % 2 ? km2 : km, t.cols[tc] + s, ev + s, gr + s, m, &err) == 0;
        }
        ok = ok && sr_km_merge(km, km2, &err) == 0;
        ok = ok && sr_km_finish(km, &err) == 0;
        if (ok) {
            printf("{\"model\":\"km\",\"groups\":[");
            for (size_t g = 0; g < ng; g++) {
                size_t np;
                const sr_km_point *pt = sr_km_curve(km, g, &np);
                printf("%s{\"group\":", g ? "," : "");
                pnum(gvals[g]);
                printf(",\"time\":[");
                for (size_t i = 0; i < np; i++) {
                    if (i)
                        putchar(',');
                    pnum(pt[i].time);
                }
#define FIELD(nm, f)                       \
    printf("],\"" nm "\":[");              \
    for (size_t i = 0; i < np; i++) {      \
        if (i)                             \
            putchar(',');                  \
        pnum(pt[i].f);                     \
    }
                FIELD("n_risk", n_risk)
                FIELD("n_event", n_event)
                FIELD("n_censor", n_censor)
                FIELD("surv", surv)
                FIELD("se_log", se_log)
                FIELD("se_surv", se_surv)
#undef FIELD
                putchar(']');
                if (at) {
                    char *ts[256];
                    size_t nt = parse_list(at, ts, 256);
                    double tv[256], sv[256], se[256];
                    for (size_t i = 0; i < nt; i++) {
                        tv[i] = strtod(ts[i], NULL);
                        free(ts[i]);
                    }
                    if (sr_km_at(km, g, tv, nt, sv, se, &err) != 0) {
                        ok = 0;
                        break;
                    }
                    printf(",\"at\":");
                    parr(tv, nt);
                    printf(",\"at_surv\":");
                    parr(sv, nt);
                    printf(",\"at_se\":");
                    parr(se, nt);
                }
                putchar('}');
            }
            if (ok) {
                printf("]}\n");
                rc = 0;
            }
        }
        sr_km_free(km);
        sr_km_free(km2);
        free(ev);
        free(gr);
        if (!ok)
            goto fail;
    } else if (strcmp(cmd, "cox") == 0) {
        int tc = tcol ? table_find(&t, tcol) : -1, ec = ecol ? table_find(&t, ecol) : -1;
        if (tc < 0 || ec < 0) {
            fprintf(stderr, "cox needs --time and --event columns\n");
            goto out;
        }
        fx[nfeat] = t.cols[ec];
        sr_model_array arr;
        sr_model_data data;
        if (sr_model_data_from_array(&data, &arr, fx, t.cols[tc], t.nrows, nfeat + 1, block_rows,
                                     &err) != 0)
            goto fail;
        sr_cox_opts o = {.ties = strcmp(ties, "breslow") == 0 ? SR_COX_BRESLOW : SR_COX_EFRON};
        sr_model_fit fit;
        if (sr_cox_fit(&data, &o, &fit, &err) != 0)
            goto fail;
        printf("{\"model\":\"cox\",\"n\":%llu,\"features\":", (unsigned long long)fit.n);
        pnames(fnames, nfeat);
        printf(",\"coef\":");
        parr(fit.coef, nfeat);
        printf(",\"se\":");
        parr(fit.se, nfeat);
        printf(",\"loglik\":");
        pnum(fit.objective);
        printf(",\"iterations\":%d}\n", fit.iterations);
        rc = 0;
    } else {
        fprintf(stderr, "unknown command %s\n", cmd);
        rc = 2;
    }
    goto out;
fail:
    fprintf(stderr, "error: %s\n", err.msg);
    rc = 1;
out:
    sr_rng_free(dp.rng);
    for (size_t j = 0; j < nfeat; j++)
        free(fnames[j]);
    table_free(&t);
    return rc;
}

/* gen_silos: deterministic synthetic datasets for `make demo` (the product
 * page's silos other than Bank C, which bench/gen_transactions.c writes).
 *
 *   cc -O2 -o gen_silos demo/gen_silos.c -lm
 *   ./gen_silos SILO ROWS SEED OUT.csv      SILO = ehr | imaging | samples | assays
 *
 * Every patient is a function of (seed, patient index i): its hashed key
 * ("pk" + 16 hex digits), demographics, labs, imaging and outcome are drawn
 * from a generator seeded with (seed, i), so Hospital A's EHR and Hospital
 * B's imaging agree on the patients they share without exchanging anything.
 *   ehr      patient_key, age, sex, egfr, systolic_bp, diabetes, hypertension,
 *            smoker, admit_date, cardio_event, followup_days, event
 *            (one row per patient i = 0..ROWS-1)
 *   imaging  patient_key, lvef, calcium_score, lv_mass, scan_date
 *            (one row per patient of a subset: row j is patient 2j or 2j+1,
 *            so ROWS imaging rows need an EHR of at least 2*ROWS patients)
 *   samples  sample_id, patient_key, genotype, biomarker
 *   assays   assay_id, patient_key, troponin, bnp, crp
 *            (samples and assays draw patients among the first ROWS*4 indexes;
 *            a patient can have several)
 * About 1% of lab values are empty (NULL). Same arguments: same bytes. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint64_t s;
} rng;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t next(rng *r) /* splitmix64 */
{
    return mix(r->s += 0x9E3779B97F4A7C15ull);
}

static double unif(rng *r) /* [0, 1) */
{
    return (double)(next(r) >> 11) * 0x1.0p-53;
}

static double gauss(rng *r)
{
    double u = unif(r), v = unif(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

typedef struct {
    char key[20];
    int age, sex_f, diabetes, hypertension, smoker, sbp, admit_day, followup, event, cardio;
    double egfr, lvef, cac, lv_mass;
    int scan_day;
} patient;

static void patient_key(uint64_t seed, uint64_t i, char out[20])
{
    snprintf(out, 20, "pk%016llx", (unsigned long long)mix(mix(seed ^ 0x5ea1) + i));
}

static void make_patient(uint64_t seed, uint64_t i, patient *p)
{
    rng r = {mix(seed * 0x100000001b3ull + i + 1)};
    patient_key(seed, i, p->key);
    p->age = (int)clampd(62 + 14 * gauss(&r), 18, 99);
    p->sex_f = unif(&r) < 0.48;
    p->smoker = unif(&r) < 0.18;
    p->diabetes = unif(&r) < 0.08 + 0.004 * (p->age - 40);
    p->hypertension = unif(&r) < 0.15 + 0.008 * (p->age - 40);
    p->sbp = (int)clampd(118 + 0.45 * (p->age - 50) + 12 * p->hypertension + 13 * gauss(&r), 85, 220);
    p->egfr = clampd(120 - 0.85 * p->age - 9 * p->diabetes + 14 * gauss(&r), 4, 140);
    p->cac = clampd(exp(1.2 + 0.055 * (p->age - 40) + 0.5 * p->diabetes + 0.4 * p->smoker + 1.1 * gauss(&r)) - 3,
                    0, 4000);
    p->lvef = clampd(61 - 0.06 * (p->age - 50) - 3 * p->diabetes + 6 * gauss(&r), 15, 78);
    p->lv_mass = clampd((p->sex_f ? 135 : 175) + 0.6 * (p->sbp - 120) + 25 * gauss(&r), 60, 400);
    /* outcome: logistic in the risk factors, imaging included */
    double z = -7.0 + 0.045 * p->age + 0.9 * p->diabetes + 0.012 * (p->sbp - 120) - 0.018 * (p->egfr - 90) +
               0.45 * p->smoker - 0.05 * (p->lvef - 60) + 0.35 * log1p(p->cac) + 0.3 * !p->sex_f;
    p->cardio = unif(&r) < 1.0 / (1.0 + exp(-z));
    p->admit_day = 19358 + (int)(unif(&r) * 730); /* 2023-01-01 + 0..729 */
    p->scan_day = p->admit_day + (int)(unif(&r) * 60);
    /* follow-up: time to event (exponential, hazard grows with risk) or censoring */
    double hazard = 0.00035 * exp(0.6 * (z + 2.0));
    double t_event = -log(1.0 - unif(&r)) / hazard;
    double t_cens = 30 + unif(&r) * 1065;
    p->event = t_event <= t_cens;
    p->followup = (int)(p->event ? t_event : t_cens) + 1;
}

static char *put_date(char *p, int64_t z) /* days since 1970-01-01 -> YYYY-MM-DD */
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    return p + sprintf(p, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

static const char *tf(int b)
{
    return b ? "true" : "false";
}

/* a lab value, empty (NULL) about 1% of the time */
static int put_lab(char *p, rng *r, const char *fmt, double v)
{
    if (unif(r) < 0.01)
        return 0;
    return sprintf(p, fmt, v);
}

static int gen(const char *silo, uint64_t rows, uint64_t seed, FILE *out)
{
    char line[512];
    rng r = {mix(seed ^ 0xd1ce)};
    patient p;
    if (strcmp(silo, "ehr") == 0) {
        fputs("patient_key,age,sex,egfr,systolic_bp,diabetes,hypertension,smoker,admit_date,cardio_event,"
              "followup_days,event\n",
              out);
        for (uint64_t i = 0; i < rows; i++) {
            make_patient(seed, i, &p);
            char *q = line;
            q += sprintf(q, "%s,%d,%s,", p.key, p.age, p.sex_f ? "F" : "M");
            q += put_lab(q, &r, "%.1f", p.egfr);
            q += sprintf(q, ",%d,%s,%s,%s,", p.sbp, tf(p.diabetes), tf(p.hypertension), tf(p.smoker));
            q = put_date(q, p.admit_day);
            q += sprintf(q, ",%s,%d,%s\n", tf(p.cardio), p.followup, tf(p.event));
            fwrite(line, 1, (size_t)(q - line), out);
        }
    } else if (strcmp(silo, "imaging") == 0) {
        fputs("patient_key,lvef,calcium_score,lv_mass,scan_date\n", out);
        for (uint64_t j = 0; j < rows; j++) {
            make_patient(seed, 2 * j + (mix(seed + j) & 1), &p);
            char *q = line;
            q += sprintf(q, "%s,", p.key);
            q += put_lab(q, &r, "%.1f", p.lvef);
            q += sprintf(q, ",%.0f,%.1f,", p.cac, p.lv_mass);
            q = put_date(q, p.scan_day);
            *q++ = '\n';
            fwrite(line, 1, (size_t)(q - line), out);
        }
    } else if (strcmp(silo, "samples") == 0) {
        static const char *geno[6] = {"e3/e3", "e3/e4", "e2/e3", "e4/e4", "e2/e4", "e2/e2"};
        static const double gp[6] = {0.60, 0.83, 0.95, 0.977, 0.996, 1.0};
        fputs("sample_id,patient_key,genotype,biomarker\n", out);
        for (uint64_t j = 0; j < rows; j++) {
            char key[20];
            patient_key(seed, next(&r) % (rows * 4), key);
            double u = unif(&r);
            int g = 0;
            while (g < 5 && u >= gp[g])
                g++;
            char *q = line;
            q += sprintf(q, "RD-%07llu,%s,%s,", (unsigned long long)j + 1, key, geno[g]);
            q += put_lab(q, &r, "%.2f", exp(3.2 + 0.9 * gauss(&r))); /* Lp(a), nmol/L */
            *q++ = '\n';
            fwrite(line, 1, (size_t)(q - line), out);
        }
    } else if (strcmp(silo, "assays") == 0) {
        fputs("assay_id,patient_key,troponin,bnp,crp\n", out);
        for (uint64_t j = 0; j < rows; j++) {
            char key[20];
            patient_key(seed, next(&r) % (rows * 4), key);
            char *q = line;
            q += sprintf(q, "LE-%08llu,%s,", (unsigned long long)j + 1, key);
            q += put_lab(q, &r, "%.1f", exp(1.5 + 1.0 * gauss(&r))); /* hs-troponin T, ng/L */
            *q++ = ',';
            q += put_lab(q, &r, "%.0f", exp(4.3 + 1.1 * gauss(&r))); /* BNP, pg/mL */
            *q++ = ',';
            q += put_lab(q, &r, "%.2f", exp(0.7 + 1.0 * gauss(&r))); /* hs-CRP, mg/L */
            *q++ = '\n';
            fwrite(line, 1, (size_t)(q - line), out);
        }
    } else {
        fprintf(stderr, "gen_silos: unknown silo '%s' (ehr, imaging, samples, assays)\n", silo);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: gen_silos ehr|imaging|samples|assays ROWS SEED OUT.csv\n");
        return 2;
    }
    char *end;
    uint64_t rows = strtoull(argv[2], &end, 10);
    if (*end || rows == 0 || rows > 100000000) {
        fprintf(stderr, "gen_silos: ROWS must be 1..100000000\n");
        return 2;
    }
    uint64_t seed = strtoull(argv[3], &end, 10);
    if (*end) {
        fprintf(stderr, "gen_silos: SEED must be a number\n");
        return 2;
    }
    FILE *out = fopen(argv[4], "w");
    if (out == NULL) {
        perror(argv[4]);
        return 1;
    }
    static char obuf[1 << 20];
    setvbuf(out, obuf, _IOFBF, sizeof obuf);
    int rc = gen(argv[1], rows, seed, out);
    if (fclose(out) != 0) {
        perror(argv[4]);
        return 1;
    }
    return rc;
}

/* gen_transactions: writes a deterministic synthetic transactions CSV for
 * benchmarks (sealing, parsing, engine queries).
 *
 *   cc -O2 -o gen_transactions bench/gen_transactions.c
 *   ./gen_transactions [--rows N] [--seed S] [--out FILE]   (default 12000000 rows, stdout)
 *
 * Columns: tx_id int (1..N), account string ("a" + 5 digits, 100000
 * accounts, skewed), merchant_category string (20 values), amount float (2
 * decimals, 0.01..9999.99, skewed to small), ts_date date (2023-01-01 +
 * 0..729 days), country string (30 ISO codes), is_fraud bool (~1% true),
 * channel string (5 values). About 1% of merchant_category, amount, country
 * and channel fields are empty (NULL). Same seed and rows: same bytes.
 * Standalone on purpose (no sealroom library), so the bench script can build
 * it with plain cc. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

static uint64_t next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)(((next() >> 32) * (uint64_t)n) >> 32);
}

static const char *categories[20] = {
    "grocery", "fuel",   "restaurant", "travel",  "airline", "hotel",   "electronics",
    "apparel", "pharmacy", "utilities", "telecom", "gaming",  "books",   "furniture",
    "auto",    "insurance", "education", "charity", "cash",    "other"};
static const char *countries[30] = {"US", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT",
                                    "SE", "NO", "DK", "FI", "PL", "PT", "IE", "CA", "MX", "BR",
                                    "AR", "JP", "KR", "CN", "IN", "SG", "AU", "NZ", "ZA", "AE"};
static const char *channels[5] = {"web", "pos", "atm", "mobile", "phone"};

static char *put_u(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_s(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* days since 1970-01-01 -> YYYY-MM-DD (civil calendar) */
static char *put_date(char *p, int64_t z)
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
    p[0] = (char)('0' + y / 1000);
    p[1] = (char)('0' + y / 100 % 10);
    p[2] = (char)('0' + y / 10 % 10);
    p[3] = (char)('0' + y % 10);
    p[4] = '-';
    p[5] = (char)('0' + m / 10);
    p[6] = (char)('0' + m % 10);
    p[7] = '-';
    p[8] = (char)('0' + d / 10);
    p[9] = (char)('0' + d % 10);
    return p + 10;
}

static void usage(void)
{
    fprintf(stderr, "usage: gen_transactions [--rows N] [--seed S] [--out FILE]\n");
}

int main(int argc, char **argv)
{
    uint64_t rows = 12000000, seed = 42;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            rows = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            return 0;
        } else {
            usage();
            return 2;
        }
    }
    FILE *f = out ? fopen(out, "wb") : stdout;
    if (f == NULL) {
        perror(out);
        return 1;
    }
    rng_state = seed;
    static char buf[1 << 20];
    size_t n = 0;
    const int64_t day0 = 19358; /* 2023-01-01 */
    n = (size_t)(put_s(buf, "tx_id,account,merchant_category,amount,ts_date,country,is_fraud,channel\n") - buf);
    for (uint64_t i = 1; i <= rows; i++) {
        if (n > sizeof buf - 256) {
            if (fwrite(buf, 1, n, f) != n) {
                perror("write");
                return 1;
            }
            n = 0;
        }
        char *p = buf + n;
        uint64_t r = next();
        p = put_u(p, i);
        *p++ = ',';
        /* skewed account: min of two draws favours low ids */
        uint32_t a1 = below(100000), a2 = below(100000);
        uint32_t acct = (r & 1) ? (a1 < a2 ? a1 : a2) : a1;
        *p++ = 'a';
        for (int k = 4; k >= 0; k--) {
            static const uint32_t pw[5] = {1, 10, 100, 1000, 10000};
            *p++ = (char)('0' + acct / pw[k] % 10);
        }
        *p++ = ',';
        if (((r >> 8) & 127) != 0)
            p = put_s(p, categories[below(20)]);
        *p++ = ',';
        if (((r >> 16) & 127) != 0) {
            /* cents: log-uniform-ish between 1 and 999999 */
            uint32_t mag = below(6);
            static const uint32_t lim[6] = {10, 100, 1000, 10000, 100000, 1000000};
            uint32_t cents = 1 + below(lim[mag] - 1);
            p = put_u(p, cents / 100);
            *p++ = '.';
            *p++ = (char)('0' + cents / 10 % 10);
            *p++ = (char)('0' + cents % 10);
        }
        *p++ = ',';
        p = put_date(p, day0 + below(730));
        *p++ = ',';
        if (((r >> 24) & 127) != 0)
            p = put_s(p, countries[below(30)]);
        *p++ = ',';
        p = put_s(p, below(100) == 0 ? "true" : "false");
        *p++ = ',';
        if (((r >> 32) & 127) != 0)
            p = put_s(p, channels[below(5)]);
        *p++ = '\n';
        n = (size_t)(p - buf);
    }
    if (fwrite(buf, 1, n, f) != n || (out && fclose(f) != 0)) {
        perror("write");
        return 1;
    }
    if (!out)
        fflush(stdout);
    return 0;
}

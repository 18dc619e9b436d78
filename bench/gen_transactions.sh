#!/usr/bin/env bash
# Builds bench/gen_transactions.c, writes the transactions CSV, and measures
# the CSV parse throughput of the sealroom reader on it: the sequential
# reader (1 thread) and the block API with 2 worker threads (each worker
# cuts a block under a mutex, then parses it into its own batch, as the seal
# pipeline does). Parsing only: no encoding, encryption or writing.
#
# Usage: bench/gen_transactions.sh [--rows N] [--build DIR] [--out FILE] [--keep]
#   --rows N     rows to generate (default 12000000, about 646 MB)
#   --build DIR  a configured build folder with sr_archive built (default build)
#   --out FILE   where to write the CSV (default: a temporary file, removed)
#   --keep       keep the CSV
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rows=12000000
build=$here/build
out=
keep=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cc_=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[[ -n $out ]] || out=$tmp/transactions.csv

"$cc_" -O2 -o "$tmp/gen" "$here/bench/gen_transactions.c"
t0=$(date +%s.%N)
"$tmp/gen" --rows "$rows" --out "$out"
t1=$(date +%s.%N)
echo "# generated $rows rows, $(stat -c %s "$out") bytes in $(echo "$t1 - $t0" | bc) s: $out"

lib=$build/src/archive/libsr_archive.a
core=$build/src/core/libsr_core.a
if [[ ! -f $lib || ! -f $core ]]; then
  echo "# $lib not found; build it with: cmake --build $build --target sr_archive (parse figures skipped)"
  exit 0
fi
cat > "$tmp/parse.c" <<'EOF'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "sealroom/csv.h"
static sr_csv_reader *R;
static sr_schema S;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static size_t cap = 65536;
static long rows;
static void die(const sr_error *e) { fprintf(stderr, "%s\n", e->msg); exit(1); }
static void *work(void *a)
{
    (void)a;
    sr_error err;
    sr_csv_block blk;
    sr_batch b;
    sr_csv_block_init(&blk);
    if (sr_batch_init(&b, &S, cap, 1, &err)) die(&err);
    long n = 0;
    for (;;) {
        pthread_mutex_lock(&mu);
        int rc = sr_csv_read_block(R, cap, &blk, &err);
        pthread_mutex_unlock(&mu);
        if (rc) die(&err);
        if (blk.len == 0) break;
        for (;;) {
            if (sr_csv_parse_block(&blk, &S, &b, &err)) die(&err);
            if (b.nrows == 0) break;
            n += (long)b.nrows;
        }
    }
    __atomic_add_fetch(&rows, n, __ATOMIC_SEQ_CST);
    sr_batch_free(&b);
    sr_csv_block_free(&blk);
    return NULL;
}
int main(int argc, char **argv)
{
    sr_error err;
    int threads = atoi(argv[2]);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if ((R = sr_csv_open(argv[1], &err)) == NULL) die(&err);
    const char *types[8] = {"int", "string", "string", "float", "date", "string", "bool", "string"};
    S.ncols = 8;
    for (int j = 0; j < 8; j++) {
        snprintf(S.cols[j].name, SR_MAX_NAME, "%s", sr_csv_colname(R, (size_t)j));
        if (sr_type_parse(types[j], &S.cols[j].type, &err)) die(&err);
    }
    if (threads == 0) { /* sequential reader */
        sr_batch b;
        if (sr_batch_init(&b, &S, cap, 1, &err)) die(&err);
        for (;;) {
            if (sr_csv_read_batch(R, &S, &b, &err)) die(&err);
            if (b.nrows == 0) break;
            rows += (long)b.nrows;
        }
        sr_batch_free(&b);
    } else {
        pthread_t th[16];
        for (int i = 0; i < threads && i < 16; i++) pthread_create(&th[i], NULL, work, NULL);
        for (int i = 0; i < threads && i < 16; i++) pthread_join(th[i], NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double mb = (double)sr_csv_bytes_total(R) / 1e6;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec / 1e6;
    printf("%s: %ld rows, %.1f MB in %.3f s = %.0f MB/s (CPU %.2f s = %.0f MB per CPU-second)\n",
           threads == 0 ? "sequential reader, 1 thread" : threads == 1 ? "block API, 1 worker" : "block API, 2 workers",
           rows, mb, s, mb / s, cpu, mb / cpu);
    sr_csv_close(R);
    return 0;
}
EOF
"$cc_" -O2 -I"$here/include" -o "$tmp/parse" "$tmp/parse.c" "$lib" "$core" -lcrypto -ljansson -lpthread -lm
cat "$out" > /dev/null # warm the page cache
"$tmp/parse" "$out" 0
"$tmp/parse" "$out" 2
[[ $keep == 1 || $out != $tmp/* ]] || rm -f "$out"

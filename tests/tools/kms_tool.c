/* sr_kms_tool: drives a running KMS for benchmarks.
 *   sr_kms_tool bench --url URL --sim DIR --recipe R --archive A.tar... --clients N --requests M
 *     prints {"clients":N,"requests":M,"released":..,"refused":..,"seconds":..,"per_second":..,
 *             "p50_ms":..,"p99_ms":..}
 *   sr_kms_tool ecdh-rate SECONDS    secp256k1 ECDH operations per second (one core)
 * Quotes are made before the clock starts; only the HTTP round trips are timed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/archive.h"
#include "sealroom/attest.h"
#include "sealroom/http.h"
#include "sealroom/json.h"
#include "sealroom/kms.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const sr_error *err)
{
    fprintf(stderr, "sr_kms_tool: %s: %s\n", what, err ? err->msg : "failed");
    return 1;
}

struct job {
    const char *url;
    char **bodies;
    double *lat;
    int n;
    int next;
    int released;
    int refused;
    pthread_mutex_t mu;
};

static void *worker(void *arg)
{
    struct job *j = arg;
    char url[256];
    snprintf(url, sizeof url, "%s/v1/keys", j->url);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next < j->n ? j->next++ : -1;
        pthread_mutex_unlock(&j->mu);
        if (i < 0)
            return NULL;
        sr_error err;
        sr_buf out;
        sr_buf_init(&out);
        long status = 0;
        double t0 = now_s();
        int rc = sr_http_fetch("POST", url, "application/json", j->bodies[i], strlen(j->bodies[i]), 1u << 20, 60000,
                               &status, &out, &err);
        j->lat[i] = now_s() - t0;
        sr_buf_free(&out);
        pthread_mutex_lock(&j->mu);
        if (rc == SR_OK && status == 200)
            j->released++;
        else
            j->refused++;
        pthread_mutex_unlock(&j->mu);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench(int argc, char **argv)
{
    const char *url = NULL, *sim = NULL, *recipe_path = NULL;
    const char *archives[16];
    int narch = 0, clients = 1, requests = 100;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--sim")) sim = argv[i + 1];
        else if (!strcmp(argv[i], "--recipe")) recipe_path = argv[i + 1];
        else if (!strcmp(argv[i], "--archive") && narch < 16) archives[narch++] = argv[i + 1];
        else if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--requests")) requests = atoi(argv[i + 1]);
    }
    if (!url || !sim || !recipe_path || narch == 0 || clients < 1 || clients > 256 || requests < 1)
        return die("usage: bench --url U --sim DIR --recipe R --archive A... --clients N --requests M", NULL);
    sr_error err;
    sr_buf rb;
    sr_buf_init(&rb);
    if (sr_file_read(recipe_path, 1u << 20, &rb, &err) != SR_OK)
        return die("recipe", &err);
    uint8_t h[32];
    sr_sha256(rb.data, rb.len, h);
    json_t *manifests = json_array();
    for (int i = 0; i < narch; i++) {
        sr_archive *a = NULL;
        if (sr_archive_open(archives[i], &a, &err) != SR_OK)
            return die(archives[i], &err);
        json_array_append_new(manifests, sr_kms_manifest_entry(a));
        sr_archive_close(a);
    }
    sr_tee *t = NULL;
    if (sr_tee_open_sim(sim, &t, &err) != SR_OK || sr_tee_extend_rtmr3(t, SR_EVENT_COMPOSE_HASH, h, 32, &err) != SR_OK)
        return die("sim tee", &err);
    sr_buf log;
    sr_buf_init(&log);
    if (sr_tee_event_log(t, &log, &err) != SR_OK || sr_buf_append_u8(&log, 0, &err) != SR_OK)
        return die("event log", &err);
    uint8_t sk[32], pub[33];
    if (sr_secp_seckey_generate(sk, &err) != SR_OK || sr_secp_pubkey(sk, pub, &err) != SR_OK)
        return die("client key", &err);
    char **bodies = calloc((size_t)requests, sizeof *bodies);
    double *lat = calloc((size_t)requests, sizeof *lat);
    char nurl[256];
    snprintf(nurl, sizeof nurl, "%s/v1/nonce", url);
    for (int i = 0; i < requests; i++) {
        json_t *nr = NULL;
        long st = 0;
        uint8_t nonce[32], rd[64];
        if (sr_http_json_call("GET", nurl, NULL, 10000, &nr, &st, &err) != SR_OK ||
            sr_json_get_hex(nr, "nonce", nonce, 32, "nonce", &err) != SR_OK)
            return die("nonce", &err);
        json_decref(nr);
        sr_kms_report_data(h, pub, nonce, rd);
        sr_buf q;
        sr_buf_init(&q);
        if (sr_tee_quote(t, rd, &q, &err) != SR_OK)
            return die("quote", &err);
        json_t *req = sr_kms_request_new(rb.data, rb.len, q.data, q.len, (const char *)log.data, pub, nonce, manifests);
        bodies[i] = json_dumps(req, JSON_COMPACT);
        json_decref(req);
        sr_buf_free(&q);
    }
    struct job j = {.url = url, .bodies = bodies, .lat = lat, .n = requests};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[256];
    double t0 = now_s();
    for (int i = 0; i < clients; i++)
        pthread_create(&th[i], NULL, worker, &j);
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double el = now_s() - t0;
    qsort(lat, (size_t)requests, sizeof *lat, cmp_double);
    printf("{\"clients\":%d,\"requests\":%d,\"released\":%d,\"refused\":%d,\"seconds\":%.3f,\"per_second\":%.1f,"
           "\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
           clients, requests, j.released, j.refused, el, requests / el, 1000 * lat[requests / 2],
           1000 * lat[(requests * 99) / 100 < requests ? (requests * 99) / 100 : requests - 1]);
    for (int i = 0; i < requests; i++)
        free(bodies[i]);
    free(bodies);
    free(lat);
    sr_buf_free(&rb);
    sr_buf_free(&log);
    json_decref(manifests);
    sr_tee_close(t);
    return j.refused == 0 ? 0 : 2;
}

static int ecdh_rate(double seconds)
{
    sr_error err;
    uint8_t sk[32], pk2[32], pub[33], shared[32];
    if (sr_secp_seckey_generate(sk, &err) || sr_secp_seckey_generate(pk2, &err) || sr_secp_pubkey(pk2, pub, &err))
        return die("keys", &err);
    long n = 0;
    double t0 = now_s(), el = 0;
    do {
        for (int i = 0; i < 100; i++)
            if (sr_secp_ecdh(sk, pub, shared, &err) != SR_OK)
                return die("ecdh", &err);
        n += 100;
        el = now_s() - t0;
    } while (el < seconds);
    printf("{\"ecdh_per_second\":%.0f}\n", n / el);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "bench"))
        return bench(argc, argv);
    if (argc >= 3 && !strcmp(argv[1], "ecdh-rate"))
        return ecdh_rate(atof(argv[2]));
    fprintf(stderr, "usage: sr_kms_tool bench ... | ecdh-rate SECONDS\n");
    return 1;
}

/* The simulated TEE, the RTMR3 event log, and the configfs-tsm backend
 * against a fake configfs tree. Runs in a scratch folder. */
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"
#include "sealroom/crypto.h"

/* test hook from src/attest/tee.c */
void sr_tee_tdx_set_fake_kernel(sr_tee *t, int (*fn)(const char *entry, int stage, void *ctx), void *ctx);

static void rm_rf(const char *p)
{
    sr_test_sh("rm -rf '%s'", p);
}

static int verify_sim(const char *dir, const sr_buf *quote, const sr_buf *evlog, int allow_sim, int use_sim_root,
                      sr_attest_result *r, sr_error *err)
{
    sr_buf root;
    sr_buf_init(&root);
    sr_tee_sim_root_pem(dir, &root, err);
    const uint8_t *rp[1] = {root.data};
    size_t rl[1] = {root.len};
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    if (use_sim_root) {
        pol.roots = rp;
        pol.root_lens = rl;
        pol.nroots = 1;
    }
    pol.allow_simulated = allow_sim;
    if (evlog) {
        pol.event_log = evlog->len ? (const char *)evlog->data : "";
        pol.event_log_len = evlog->len;
    }
    int rc = sr_attest_verify(quote->data, quote->len, &pol, r, err);
    sr_buf_free(&root);
    return rc;
}

static void test_event_log(void)
{
    sr_error err;
    sr_buf log;
    sr_buf_init(&log);
    uint8_t h[32];
    sr_sha256("recipe", 6, h);
    CHECK_OK(sr_eventlog_append(&log, "compose-hash", h, 32, &err), &err);
    CHECK_OK(sr_eventlog_append(&log, "app-start", (const uint8_t *)"x", 1, &err), &err);
    /* replay equals two manual extensions */
    uint8_t r[48] = {0}, d[48], got[48];
    sr_event_digest("compose-hash", h, 32, d);
    sr_rtmr_extend(r, d);
    sr_event_digest("app-start", (const uint8_t *)"x", 1, d);
    sr_rtmr_extend(r, d);
    size_t n = 0;
    CHECK_OK(sr_eventlog_replay((const char *)log.data, log.len, got, &n, &err), &err);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_MEM(got, r, 48);
    /* the digest definition: SHA-384(u32le(len(name)) || name || payload) */
    uint8_t pre[4 + 12 + 32];
    sr_store_le32(pre, 12);
    memcpy(pre + 4, "compose-hash", 12);
    memcpy(pre + 16, h, 32);
    uint8_t want[48];
    sr_sha384(pre, sizeof pre, want);
    sr_event_digest("compose-hash", h, 32, d);
    CHECK_EQ_MEM(d, want, 48);
    uint8_t p[64];
    CHECK_OK(sr_eventlog_find((const char *)log.data, log.len, "compose-hash", p, sizeof p, &n, &err), &err);
    CHECK(n == 32 && memcmp(p, h, 32) == 0);
    CHECK_EQ_INT(sr_eventlog_find((const char *)log.data, log.len, "nope", p, sizeof p, &n, &err), SR_ENOTFOUND);
    /* a tampered payload no longer matches its digest */
    char *t = malloc(log.len + 1);
    memcpy(t, log.data, log.len);
    t[log.len] = '\0';
    char *pl = strstr(t, "\"payload\":\"");
    pl[12] = pl[12] == '0' ? '1' : '0';
    CHECK_EQ_INT(sr_eventlog_replay(t, log.len, got, &n, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "line 1");
    free(t);
    /* bad names and other IMRs are refused */
    CHECK_EQ_INT(sr_eventlog_append(&log, "Bad Name", NULL, 0, &err), SR_EINVAL);
    const char *imr2 = "{\"imr\":2,\"event\":\"a\",\"payload\":\"\",\"digest\":\"00\"}\n";
    CHECK(sr_eventlog_replay(imr2, strlen(imr2), got, &n, &err) != SR_OK);
    /* an empty log replays to zero */
    CHECK_OK(sr_eventlog_replay("", 0, got, &n, &err), &err);
    static const uint8_t zero[48];
    CHECK(n == 0 && memcmp(got, zero, 48) == 0);
    sr_buf_free(&log);
}

static void test_sim_roundtrip(void)
{
    sr_error err;
    const char *dir = "sim1";
    rm_rf(dir);
    const char *image = "runtime image v1";
    CHECK_OK(sr_tee_sim_init(dir, (const uint8_t *)image, strlen(image), &err), &err);
    CHECK_EQ_INT(sr_tee_sim_init(dir, NULL, 0, &err), SR_ESTATE);
    struct stat st;
    CHECK(stat("sim1/qe_key.pem", &st) == 0 && (st.st_mode & 077) == 0);
    CHECK(stat("sim1/pck_key.pem", &st) == 0 && (st.st_mode & 077) == 0);

    sr_tee *t = NULL;
    CHECK_OK(sr_tee_open_sim(dir, &t, &err), &err);
    if (t == NULL)
        return;
    CHECK_EQ_STR(sr_tee_backend(t), "sim");
    uint8_t compose[32];
    sr_sha256("recipe bytes", 12, compose);
    CHECK_OK(sr_tee_extend_rtmr3(t, SR_EVENT_COMPOSE_HASH, compose, 32, &err), &err);
    uint8_t rd[64];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)(i * 3);
    sr_buf q, log;
    sr_buf_init(&q);
    sr_buf_init(&log);
    CHECK_OK(sr_tee_quote(t, rd, &q, &err), &err);
    CHECK_OK(sr_tee_event_log(t, &log, &err), &err);
    sr_tee_close(t);

    sr_attest_result *r = malloc(sizeof *r);
    CHECK_OK(verify_sim(dir, &q, &log, 1, 1, r, &err), &err);
    CHECK_EQ_INT(r->verdict, SR_ATTEST_SIMULATED);
    CHECK_EQ_STR(sr_attest_verdict_name(r->verdict), "simulated");
    CHECK_CONTAINS(r->root_cn, "SIMULATED");
    CHECK(r->eventlog_checked && r->has_compose_hash);
    CHECK_EQ_MEM(r->compose_hash, compose, 32);
    CHECK_EQ_MEM(r->quote.body.report_data, rd, 64);
    CHECK_EQ_INT(r->quote.version, 4);
    CHECK_EQ_INT(r->quote.cert_type, 5);
    CHECK(r->has_pck_ext);
    char fm[13];
    sr_hex_encode(r->fmspc, 6, fm);
    CHECK_EQ_STR(fm, "00feed000000");
    /* MRTD is derived from the declared image: SHA-384("sealroom sim MRTD\0" || image) */
    uint8_t buf[64], mrtd[48];
    memcpy(buf, "sealroom sim MRTD", 18);
    memcpy(buf + 18, image, strlen(image));
    sr_sha384(buf, 18 + strlen(image), mrtd);
    CHECK_EQ_MEM(r->quote.body.mrtd, mrtd, 48);

    /* refused without allow_simulated, even with the sim root pinned */
    CHECK_EQ_INT(verify_sim(dir, &q, NULL, 0, 1, r, &err), SR_EDENIED);
    CHECK_CONTAINS(r->reason, "simulated");
    CHECK_EQ_INT(r->verdict, SR_ATTEST_INVALID);
    /* refused with the Intel root, allow_simulated or not */
    CHECK_EQ_INT(verify_sim(dir, &q, NULL, 1, 0, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "simulated TEE");
    /* another sim's root does not verify this sim's quotes */
    rm_rf("sim2");
    CHECK_OK(sr_tee_sim_init("sim2", NULL, 0, &err), &err);
    CHECK(verify_sim("sim2", &q, NULL, 1, 1, r, &err) != SR_OK);
    /* an event log that does not replay to RTMR3 */
    sr_buf other;
    sr_buf_init(&other);
    sr_eventlog_append(&other, SR_EVENT_COMPOSE_HASH, rd, 32, &err);
    CHECK_EQ_INT(verify_sim(dir, &q, &other, 1, 1, r, &err), SR_EVERIFY);
    CHECK_CONTAINS(r->reason, "RTMR3");
    sr_buf_free(&other);
    /* every byte of the sim quote before its chain matters too */
    int passed = 0;
    sr_quote pq;
    CHECK_OK(sr_quote_parse(q.data, q.len, &pq, &err), &err);
    size_t chain_off = (size_t)(pq.pck_chain - q.data);
    for (size_t i = 0; i < chain_off; i += 3) {
        q.data[i] ^= 0x04;
        if (verify_sim(dir, &q, NULL, 1, 1, r, &err) == SR_OK)
            passed++;
        q.data[i] ^= 0x04;
    }
    CHECK_EQ_INT(passed, 0);
    free(r);
    sr_buf_free(&q);
    sr_buf_free(&log);
}

static void test_sim_debug_td(void)
{
    sr_error err;
    rm_rf("simdbg");
    CHECK_OK(sr_tee_sim_init("simdbg", NULL, 0, &err), &err);
    /* declare a debug TD in the platform description */
    CHECK_EQ_INT(sr_test_sh("sed -i 's/\"td_attributes\": \"0000001000000000\"/\"td_attributes\": \"0100001000000000\"/' "
                            "simdbg/platform.json && grep -q 0100001000000000 simdbg/platform.json"),
                 0);
    sr_tee *t = NULL;
    CHECK_OK(sr_tee_open_sim("simdbg", &t, &err), &err);
    if (t == NULL)
        return;
    uint8_t rd[64] = {1};
    sr_buf q;
    sr_buf_init(&q);
    CHECK_OK(sr_tee_quote(t, rd, &q, &err), &err);
    sr_tee_close(t);
    sr_buf root;
    sr_buf_init(&root);
    CHECK_OK(sr_tee_sim_root_pem("simdbg", &root, &err), &err);
    const uint8_t *rp[1] = {root.data};
    size_t rl[1] = {root.len};
    sr_attest_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.roots = rp;
    pol.root_lens = rl;
    pol.nroots = 1;
    pol.allow_simulated = 1;
    sr_attest_result *r = malloc(sizeof *r);
    CHECK_EQ_INT(sr_attest_verify(q.data, q.len, &pol, r, &err), SR_EDENIED);
    CHECK_CONTAINS(r->reason, "debug");
    pol.allow_debug = 1;
    CHECK_OK(sr_attest_verify(q.data, q.len, &pol, r, &err), &err);
    free(r);
    sr_buf_free(&q);
    sr_buf_free(&root);
}

/* ---- fake configfs-tsm ------------------------------------------------ */

struct fake {
    sr_tee *sim;
    int race_first;  /* report generation 2 on the first attempt */
    int busy_first;  /* inject EBUSY on the first outblob read */
    int attempts;
    int always_busy;
};

static void put(const char *dir, const char *name, const void *d, size_t n)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        if (n)
            fwrite(d, 1, n, f);
        fclose(f);
    }
}

static int fake_kernel(const char *entry, int stage, void *ctx)
{
    struct fake *fk = ctx;
    char p[4200];
    if (stage == 0) { /* mkdir: the kernel creates the attributes */
        fk->attempts++;
        put(entry, "provider", "tdx_guest\n", 10);
        put(entry, "generation", "0\n", 2);
        put(entry, "inblob", "", 0);
        put(entry, "outblob", "", 0);
        return 0;
    }
    if (stage == 1) { /* inblob written: produce the quote */
        if (fk->always_busy || (fk->busy_first && fk->attempts == 1))
            return EBUSY;
        uint8_t rd[64];
        snprintf(p, sizeof p, "%s/inblob", entry);
        FILE *f = fopen(p, "rb");
        size_t n = f ? fread(rd, 1, 64, f) : 0;
        if (f)
            fclose(f);
        if (n != 64)
            return EINVAL;
        sr_buf q;
        sr_buf_init(&q);
        sr_error err;
        if (sr_tee_quote(fk->sim, rd, &q, &err) != SR_OK)
            return EIO;
        /* configfs pads nothing, but add trailing bytes to prove they are cut */
        sr_buf_append(&q, "\0\0\0\0", 4, &err);
        put(entry, "outblob", q.data, q.len);
        sr_buf_free(&q);
        if (fk->race_first && fk->attempts == 1)
            put(entry, "generation", "2\n", 2);
        else
            put(entry, "generation", "1\n", 2);
        return 0;
    }
    if (stage == 3) { /* rmdir: configfs removes attributes with the item */
        const char *names[] = {"provider", "generation", "inblob", "outblob"};
        for (int i = 0; i < 4; i++) {
            snprintf(p, sizeof p, "%s/%s", entry, names[i]);
            unlink(p);
        }
    }
    return 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void test_tdx_configfs_fake(void)
{
    sr_error err;
    rm_rf("cfg");
    rm_rf("simk");
    CHECK_EQ_INT(sr_test_sh("mkdir -p cfg/tsm/report cfg/meas && : > cfg/meas/rtmr3_sha384"), 0);
    CHECK_OK(sr_tee_sim_init("simk", NULL, 0, &err), &err);
    struct fake fk;
    memset(&fk, 0, sizeof fk);
    CHECK_OK(sr_tee_open_sim("simk", &fk.sim, &err), &err);

    sr_tdx_paths paths = {"cfg/tsm/report", "cfg/meas/rtmr3_sha384", "cfg/rtmr3.jsonl", 3};
    sr_tee *t = NULL;
    CHECK_OK(sr_tee_open_tdx(&paths, &t, &err), &err);
    if (t == NULL || fk.sim == NULL)
        return;
    CHECK_EQ_STR(sr_tee_backend(t), "tdx");
    sr_tee_tdx_set_fake_kernel(t, fake_kernel, &fk);

    uint8_t rd[64];
    memset(rd, 0xab, 64);
    sr_buf q;
    sr_buf_init(&q);
    CHECK_OK(sr_tee_quote(t, rd, &q, &err), &err);
    sr_quote pq;
    CHECK_OK(sr_quote_parse(q.data, q.len, &pq, &err), &err);
    CHECK_EQ_INT(q.len, pq.total_len); /* trailing bytes cut */
    CHECK_EQ_MEM(pq.body.report_data, rd, 64);
    CHECK_EQ_INT(fk.attempts, 1);
    CHECK_EQ_INT(count_entries("cfg/tsm/report"), 0); /* rmdir'd */

    /* a racing writer (generation != 1): retried with a fresh entry */
    fk.attempts = 0;
    fk.race_first = 1;
    sr_buf_reset(&q);
    CHECK_OK(sr_tee_quote(t, rd, &q, &err), &err);
    CHECK_EQ_INT(fk.attempts, 2);
    fk.race_first = 0;
    /* EBUSY: retried */
    fk.attempts = 0;
    fk.busy_first = 1;
    sr_buf_reset(&q);
    CHECK_OK(sr_tee_quote(t, rd, &q, &err), &err);
    CHECK_EQ_INT(fk.attempts, 2);
    fk.busy_first = 0;
    /* always busy: gives up after the configured retries */
    fk.attempts = 0;
    fk.always_busy = 1;
    sr_buf_reset(&q);
    CHECK_EQ_INT(sr_tee_quote(t, rd, &q, &err), SR_EIO);
    CHECK_CONTAINS(err.msg, "gave up");
    CHECK_EQ_INT(fk.attempts, 3);
    CHECK_EQ_INT(count_entries("cfg/tsm/report"), 0);
    fk.always_busy = 0;

    /* RTMR3 extension: the 48-byte digest goes to the kernel file and the
     * event is logged */
    uint8_t h[32];
    sr_sha256("recipe", 6, h);
    CHECK_OK(sr_tee_extend_rtmr3(t, SR_EVENT_COMPOSE_HASH, h, 32, &err), &err);
    sr_buf k;
    sr_buf_init(&k);
    CHECK_OK(sr_file_read("cfg/meas/rtmr3_sha384", 4096, &k, &err), &err);
    uint8_t d[48];
    sr_event_digest(SR_EVENT_COMPOSE_HASH, h, 32, d);
    CHECK(k.len == 48 && memcmp(k.data, d, 48) == 0);
    sr_buf log;
    sr_buf_init(&log);
    CHECK_OK(sr_tee_event_log(t, &log, &err), &err);
    char *lt = calloc(1, log.len + 1);
    memcpy(lt, log.data, log.len);
    CHECK_CONTAINS(lt, "compose-hash");
    free(lt);
    sr_tee_close(t);

    /* a kernel without RTMR extension */
    sr_tdx_paths p2 = {"cfg/tsm/report", "cfg/meas/absent", "cfg/rtmr3b.jsonl", 0};
    CHECK_OK(sr_tee_open_tdx(&p2, &t, &err), &err);
    CHECK_EQ_INT(sr_tee_extend_rtmr3(t, SR_EVENT_COMPOSE_HASH, h, 32, &err), SR_ENOTFOUND);
    sr_tee_close(t);
    /* no configfs at all */
    sr_tdx_paths p3 = {"cfg/none", NULL, NULL, 0};
    CHECK_EQ_INT(sr_tee_open_tdx(&p3, &t, &err), SR_ENOTFOUND);
    CHECK_CONTAINS(err.msg, "configfs-tsm");
    sr_tee_close(fk.sim);
    sr_buf_free(&q);
    sr_buf_free(&k);
    sr_buf_free(&log);
}

int main(void)
{
    SR_RUN(test_event_log);
    SR_RUN(test_sim_roundtrip);
    SR_RUN(test_sim_debug_td);
    SR_RUN(test_tdx_configfs_fake);
    return sr_test_finish();
}

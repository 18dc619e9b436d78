#include "test.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sealroom/kmsstore.h"

static sr_kms_audit_record rec_allowed(void)
{
    sr_kms_audit_record r = {0};
    r.time = 1000;
    r.allowed = 1;
    r.reason = "released";
    r.app_id = "0x1111111111111111111111111111111111111111";
    r.compose_hash = "ab";
    r.measurements = "{\"mrtd\":\"00\"}";
    r.datasets = "[\"ds\"]";
    return r;
}

static void test_nonce_lifecycle(void)
{
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK_OK(sr_kms_store_open(".", NULL, &s, &err), &err);
    uint8_t n1[32], n2[32], unknown[32] = {1};
    CHECK_OK(sr_kms_nonce_issue(s, 100, n1, &err), &err);
    CHECK_OK(sr_kms_nonce_issue(s, 100, n2, &err), &err);
    CHECK(memcmp(n1, n2, 32) != 0);
    sr_kms_audit_record r = rec_allowed();
    CHECK_OK(sr_kms_release_commit(s, n1, 159, NULL, 0, &r, &err), &err);
    CHECK_EQ_INT(sr_kms_release_commit(s, n1, 159, NULL, 0, &r, &err), SR_EDENIED);
    CHECK_EQ_STR(err.msg, "nonce already used");
    CHECK_EQ_INT(sr_kms_release_commit(s, n2, 161, NULL, 0, &r, &err), SR_EDENIED);
    CHECK_EQ_STR(err.msg, "nonce expired");
    CHECK_EQ_INT(sr_kms_release_commit(s, unknown, 100, NULL, 0, &r, &err), SR_EDENIED);
    CHECK_EQ_STR(err.msg, "nonce unknown");
    int64_t count = 0;
    CHECK_OK(sr_kms_audit_verify(s, &count, &err), &err);
    CHECK_EQ_INT(count, 4); /* one release, three audited refusals */
    sr_kms_store_close(s);
}

static void test_budget_message_and_exactness(void)
{
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK_OK(sr_kms_store_open(".", NULL, &s, &err), &err);
    int64_t total = 0, charge = 0;
    CHECK_OK(sr_kms_eps_to_micro(10.0, 0, &total, &err), &err);
    CHECK_OK(sr_kms_eps_to_micro(1.5, 1, &charge, &err), &err);
    CHECK_EQ_INT(total, 10000000);
    CHECK_EQ_INT(charge, 1500000);
    sr_kms_charge c = {"hospital-a", total, charge};
    sr_kms_audit_record r = rec_allowed();
    int released = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t n[32];
        CHECK_OK(sr_kms_nonce_issue(s, 100, n, &err), &err);
        if (sr_kms_release_commit(s, n, 100, &c, 1, &r, &err) == SR_OK)
            released++;
    }
    CHECK_EQ_INT(released, 6); /* 6 x 1.5 = 9.0; a 7th would pass 10.0 */
    CHECK_EQ_STR(err.msg, "budget exhausted for dataset hospital-a: 9.0 of 10.0 spent");
    int64_t spent = 0;
    CHECK_OK(sr_kms_budget_spent(s, "hospital-a", &spent, &err), &err);
    CHECK_EQ_INT(spent, 9000000);

    /* all or nothing across datasets */
    sr_kms_charge two[2] = {{"fresh", total, charge}, {"hospital-a", total, charge}};
    uint8_t n[32];
    CHECK_OK(sr_kms_nonce_issue(s, 100, n, &err), &err);
    CHECK_EQ_INT(sr_kms_release_commit(s, n, 100, two, 2, &r, &err), SR_EDENIED);
    CHECK_OK(sr_kms_budget_spent(s, "fresh", &spent, &err), &err);
    CHECK_EQ_INT(spent, 0);
    sr_kms_store_close(s);
}

struct burst {
    int released;
    int refused;
    int errors;
};

static void *burst_thread(void *arg)
{
    struct burst *b = arg;
    sr_error err;
    sr_kms_store *s = NULL;
    if (sr_kms_store_open("burst", NULL, &s, &err) != SR_OK) {
        b->errors++;
        return NULL;
    }
    sr_kms_charge c = {"bank-c", 37 * 100000, 100000};
    sr_kms_audit_record r = rec_allowed();
    for (int i = 0; i < 25; i++) {
        uint8_t n[32];
        if (sr_kms_nonce_issue(s, 100, n, &err) != SR_OK) {
            b->errors++;
            continue;
        }
        int rc = sr_kms_release_commit(s, n, 100, &c, 1, &r, &err);
        if (rc == SR_OK)
            b->released++;
        else if (rc == SR_EDENIED)
            b->refused++;
        else
            b->errors++;
    }
    sr_kms_store_close(s);
    return NULL;
}

static void test_concurrent_budget_exact(void)
{
    /* 8 connections x 25 requests = 200 against a budget of 37 runs. */
    CHECK(sr_test_sh("rm -rf burst && mkdir burst") == 0);
    pthread_t t[8];
    struct burst b[8];
    memset(b, 0, sizeof b);
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, burst_thread, &b[i]);
    int released = 0, refused = 0, errors = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        released += b[i].released;
        refused += b[i].refused;
        errors += b[i].errors;
    }
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(released, 37);
    CHECK_EQ_INT(refused, 163);
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK_OK(sr_kms_store_open("burst", NULL, &s, &err), &err);
    int64_t count = 0, spent = 0;
    CHECK_OK(sr_kms_audit_verify(s, &count, &err), &err);
    CHECK_EQ_INT(count, 200);
    CHECK_OK(sr_kms_budget_spent(s, "bank-c", &spent, &err), &err);
    CHECK_EQ_INT(spent, 37 * 100000);
    sr_kms_store_close(s);
}

struct seen {
    int n;
    int allowed[16];
    char reason[16][96];
};

static int collect(void *ctx, int64_t seq, const sr_kms_audit_record *rec, const char *hash)
{
    (void)seq;
    (void)hash;
    struct seen *v = ctx;
    if (v->n < 16) {
        v->allowed[v->n] = rec->allowed;
        snprintf(v->reason[v->n], sizeof v->reason[0], "%s", rec->reason ? rec->reason : "");
    }
    v->n++;
    return 0;
}

/* One group: each member decided in order against what earlier members
 * spent, each with its own record in the chain, in group order. */
static void test_group_commit_in_order(void)
{
    CHECK(sr_test_sh("rm -rf group && mkdir group") == 0);
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK_OK(sr_kms_store_open("group", NULL, &s, &err), &err);
    sr_kms_charge c = {"lab-g", 3 * 100000, 100000}; /* room for 3 runs */
    sr_kms_charge bad = {NULL, 1, 1};
    sr_kms_audit_record r = rec_allowed();
    enum { N = 7 };
    uint8_t nonces[N][32], unknown[32] = {9};
    for (int i = 0; i < N; i++)
        CHECK_OK(sr_kms_nonce_issue(s, 100, nonces[i], &err), &err);
    sr_kms_release_item it[N];
    sr_kms_release_item *p[N];
    memset(it, 0, sizeof it);
    for (int i = 0; i < N; i++) {
        it[i] = (sr_kms_release_item){.nonce = nonces[i], .now = 100, .charges = &c, .ncharges = 1, .rec = &r};
        p[i] = &it[i];
    }
    it[2].nonce = nonces[1]; /* the same nonce as member 1: already used by then */
    it[3].charges = &bad;    /* malformed: left out, nothing written */
    it[5].nonce = unknown;
    CHECK_OK(sr_kms_release_commit_group(s, p, N, &err), &err);
    CHECK_EQ_INT(it[0].rc, SR_OK);
    CHECK_EQ_INT(it[1].rc, SR_OK);
    CHECK_EQ_INT(it[2].rc, SR_EDENIED);
    CHECK_EQ_STR(it[2].err.msg, "nonce already used");
    CHECK_EQ_INT(it[3].rc, SR_EINVAL);
    CHECK_EQ_INT(it[4].rc, SR_OK); /* the 3rd run: the budget is now spent */
    CHECK_EQ_INT(it[5].rc, SR_EDENIED);
    CHECK_EQ_STR(it[5].err.msg, "nonce unknown");
    CHECK_EQ_INT(it[6].rc, SR_EDENIED);
    CHECK_EQ_STR(it[6].err.msg, "budget exhausted for dataset lab-g: 0.3 of 0.3 spent");
    int64_t spent = 0, count = 0;
    CHECK_OK(sr_kms_budget_spent(s, "lab-g", &spent, &err), &err);
    CHECK_EQ_INT(spent, 3 * 100000);
    CHECK_OK(sr_kms_audit_verify(s, &count, &err), &err);
    CHECK_EQ_INT(count, 6);
    struct seen v = {0};
    CHECK_OK(sr_kms_audit_list(s, collect, &v, &err), &err);
    CHECK_EQ_INT(v.n, 6);
    const int want_allowed[6] = {1, 1, 0, 1, 0, 0};
    const char *want_reason[6] = {"released", "released", "nonce already used", "released", "nonce unknown",
                                  "budget exhausted for dataset lab-g: 0.3 of 0.3 spent"};
    for (int i = 0; i < 6 && i < v.n; i++) {
        CHECK_EQ_INT(v.allowed[i], want_allowed[i]);
        CHECK_EQ_STR(v.reason[i], want_reason[i]);
    }
    /* the refused member's nonce was burnt, the used ones stay used */
    CHECK_EQ_INT(sr_kms_nonce_check(s, nonces[6], 100, &err), SR_EDENIED);
    CHECK_EQ_INT(sr_kms_nonce_check(s, nonces[0], 100, &err), SR_EDENIED);
    /* the malformed member's nonce is untouched and still usable */
    CHECK_OK(sr_kms_nonce_check(s, nonces[3], 100, &err), &err);
    sr_kms_store_close(s);
}

static int count_allowed(void *ctx, int64_t seq, const sr_kms_audit_record *rec, const char *hash)
{
    (void)seq;
    (void)hash;
    if (rec->allowed)
        (*(int *)ctx)++;
    return 0;
}

static void test_kill9_never_double_charges(void)
{
    CHECK(sr_test_sh("rm -rf crash && mkdir crash") == 0);
    uint8_t key[32];
    memset(key, 7, sizeof key);
    for (int round = 0; round < 3; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            sr_error err;
            sr_kms_store *s = NULL;
            if (sr_kms_store_open("crash", key, &s, &err) != SR_OK)
                _exit(3);
            sr_kms_charge c = {"lab-e", 1000000000, 1000};
            sr_kms_audit_record r = rec_allowed();
            for (;;) {
                uint8_t n[32];
                if (sr_kms_nonce_issue(s, 100, n, &err) != SR_OK)
                    _exit(4);
                if (sr_kms_release_commit(s, n, 100, &c, 1, &r, &err) != SR_OK)
                    _exit(5);
            }
        }
        struct timespec ts = {0, 150 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int st = 0;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK_OK(sr_kms_store_open("crash", key, &s, &err), &err);
    int64_t count = 0, spent = 0;
    CHECK_OK(sr_kms_audit_verify(s, &count, &err), &err);
    int allowed = 0;
    CHECK_OK(sr_kms_audit_list(s, count_allowed, &allowed, &err), &err);
    CHECK_OK(sr_kms_budget_spent(s, "lab-e", &spent, &err), &err);
    CHECK(allowed > 0);
    CHECK_EQ_INT(spent, (int64_t)allowed * 1000); /* every charge has its audit record, and only one */
    sr_kms_store_close(s);
}

static void test_edit_detected(void)
{
    uint8_t key[32];
    memset(key, 9, sizeof key);
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK(sr_test_sh("rm -rf edit && mkdir edit") == 0);
    CHECK_OK(sr_kms_store_open("edit", key, &s, &err), &err);
    sr_kms_audit_record r = rec_allowed();
    for (int i = 0; i < 5; i++) {
        uint8_t n[32];
        CHECK_OK(sr_kms_nonce_issue(s, 100, n, &err), &err);
        CHECK_OK(sr_kms_release_commit(s, n, 100, NULL, 0, &r, &err), &err);
    }
    int64_t count = 0;
    CHECK_OK(sr_kms_audit_verify(s, &count, &err), &err);
    sr_kms_store_close(s);

    sqlite3 *db = NULL;
    CHECK(sqlite3_open("edit/kms.db", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE audit SET record = replace(record, 'released', 'refused') WHERE seq = 3", NULL, NULL,
                       NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_OK(sr_kms_store_open("edit", key, &s, &err), &err);
    CHECK_EQ_INT(sr_kms_audit_verify(s, &count, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "record 3 was edited");
    sr_kms_store_close(s);

    /* dropping the last record is detected through the head */
    CHECK(sqlite3_open("edit/kms.db", &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE audit SET record = replace(record, 'refused', 'released') WHERE seq = 3;"
                           "DELETE FROM audit WHERE seq = 5",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_OK(sr_kms_store_open("edit", key, &s, &err), &err);
    CHECK_EQ_INT(sr_kms_audit_verify(s, &count, &err), SR_EVERIFY);
    CHECK_CONTAINS(err.msg, "head says 5");
    sr_kms_store_close(s);
}

/* Gate anchors: absent, set, only ever moved up, kept across reopen. */
static void test_gate_anchor_monotonic(void)
{
    sr_error err;
    sr_kms_store *s = NULL;
    CHECK(sr_test_sh("rm -rf anchor && mkdir anchor") == 0);
    CHECK_OK(sr_kms_store_open("anchor", NULL, &s, &err), &err);
    if (s == NULL)
        return;
    const char *key = "ledger:24225:0x00000000000000000000000000000000000000aa";
    sr_kms_anchor a, b;
    int found = 1;
    CHECK_OK(sr_kms_anchor_get(s, key, &a, &found, &err), &err);
    CHECK_EQ_INT(found, 0);
    memset(&a, 0, sizeof a);
    a.pos = 4;
    a.has_hash = 1;
    memset(a.hash, 0x44, 32);
    CHECK_OK(sr_kms_anchor_advance(s, key, &a, &err), &err);
    /* lower and equal positions leave it unchanged */
    b = a;
    b.pos = 3;
    memset(b.hash, 0x33, 32);
    CHECK_OK(sr_kms_anchor_advance(s, key, &b, &err), &err);
    b.pos = 4;
    CHECK_OK(sr_kms_anchor_advance(s, key, &b, &err), &err);
    CHECK_OK(sr_kms_anchor_get(s, key, &b, &found, &err), &err);
    CHECK_EQ_INT(found, 1);
    CHECK_EQ_INT((int)b.pos, 4);
    CHECK(b.has_hash && memcmp(b.hash, a.hash, 32) == 0);
    /* another gate (evm: no hash) is separate */
    sr_kms_anchor e = {.pos = 100};
    CHECK_OK(sr_kms_anchor_advance(s, "evm:31337:0x00000000000000000000000000000000000000bb", &e, &err), &err);
    CHECK_OK(sr_kms_anchor_get(s, "evm:31337:0x00000000000000000000000000000000000000bb", &b, &found, &err), &err);
    CHECK(found && b.pos == 100 && !b.has_hash);
    /* higher moves it, and it survives a reopen */
    a.pos = 9;
    memset(a.hash, 0x99, 32);
    CHECK_OK(sr_kms_anchor_advance(s, key, &a, &err), &err);
    sr_kms_store_close(s);
    CHECK_OK(sr_kms_store_open("anchor", NULL, &s, &err), &err);
    CHECK_OK(sr_kms_anchor_get(s, key, &b, &found, &err), &err);
    CHECK(found && b.pos == 9 && memcmp(b.hash, a.hash, 32) == 0);
    CHECK_EQ_INT(sr_kms_anchor_get(s, "", &b, &found, &err), SR_EINVAL);
    sr_kms_store_close(s);
}

static void test_nonce_flood_bounded(void)
{
    sr_error err;
    CHECK(sr_test_sh("rm -rf flood && mkdir flood") == 0);
    sr_kms_store *s = NULL;
    CHECK_OK(sr_kms_store_open("flood", NULL, &s, &err), &err);
    sr_kms_store_close(s);
    /* fill the table up to the cap directly (one transaction), then ask once more */
    sqlite3 *db = NULL;
    CHECK(sqlite3_open("flood/kms.db", &db) == SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d) "
             "INSERT INTO nonces(nonce, expires) SELECT randomblob(32), 1000 FROM c",
             SR_KMS_MAX_LIVE_NONCES);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK_OK(sr_kms_store_open("flood", NULL, &s, &err), &err);
    uint8_t n[32];
    CHECK_EQ_INT(sr_kms_nonce_issue(s, 990, n, &err), SR_ELIMIT);
    CHECK_CONTAINS(err.msg, "too many outstanding nonces");
    /* once they expire, nonces are issued again */
    CHECK_OK(sr_kms_nonce_issue(s, 1001, n, &err), &err);
    sr_kms_store_close(s);
}

int main(void)
{
    CHECK(sr_test_sh("rm -f kms.db kms.db-wal kms.db-shm") == 0);
    SR_RUN(test_nonce_lifecycle);
    SR_RUN(test_budget_message_and_exactness);
    SR_RUN(test_concurrent_budget_exact);
    SR_RUN(test_group_commit_in_order);
    SR_RUN(test_kill9_never_double_charges);
    SR_RUN(test_edit_detected);
    SR_RUN(test_nonce_flood_bounded);
    SR_RUN(test_gate_anchor_monotonic);
    return sr_test_finish();
}

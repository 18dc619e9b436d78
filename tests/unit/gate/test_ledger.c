/* Ledger backend: every "must be shown" rule of the gate on ledger:PATH,
 * tamper detection, and concurrent writers (fork). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sealroom/crypto.h"
#include "sealroom/gate.h"
#include "test.h"

#define NK 6
static uint8_t sk[NK][32];
static uint8_t addr[NK][20];

static void keys(void)
{
    sr_error err;
    for (int i = 0; i < NK; i++) {
        /* deterministic keys: 0x11.., 0x22.., ... */
        memset(sk[i], 0x11 * (i + 1), 32);
        CHECK_OK(sr_eth_address_from_seckey(sk[i], addr[i], &err), &err);
    }
}

/* owners 0..n-1 of the keys, ids A, B, C, ... */
static void make_cfg(sr_gate_config *c, size_t n, uint32_t k)
{
    memset(c, 0, sizeof *c);
    strcpy(c->name, "test consortium");
    for (size_t i = 0; i < n; i++) {
        snprintf(c->owners[i].id, sizeof c->owners[i].id, "owner-%c", (char)('A' + i));
        memcpy(c->owners[i].addr, addr[i], 20);
        strcpy(c->owners[i].jurisdiction, i % 2 ? "EU" : "US");
        strcpy(c->owners[i].grades, i % 2 ? "GDPR" : "HIPAA");
    }
    c->n_owners = n;
    c->threshold = k;
    c->kms_pubkey_len = 33;
    memset(c->kms_pubkey, 0x02, 33);
}

static sr_gate *new_gate(const char *path, size_t n, uint32_t k, uint8_t app[20])
{
    sr_gate_config c;
    sr_error err;
    char spec[256];
    char made[300];
    sr_gate *g = NULL;
    make_cfg(&c, n, k);
    unlink(path);
    snprintf(spec, sizeof spec, "ledger:%s", path);
    CHECK_OK(sr_gate_create(spec, &c, sk[NK - 1], app, made, sizeof made, &err), &err);
    CHECK_EQ_STR(made, spec);
    CHECK_OK(sr_gate_open(spec, &g, &err), &err);
    return g;
}

static void hash_of(const char *s, uint8_t h[32]) { sr_sha256(s, strlen(s), h); }

static void status(sr_gate *g, const uint8_t h[32], const char *const *req, size_t nreq, sr_gate_status *st)
{
    sr_error err;
    CHECK_OK(sr_gate_status_get(g, h, req, nreq, st, &err), &err);
}

static void test_quorum_at_k(void)
{
    sr_error err;
    uint8_t app[20], h[32];
    static sr_gate_status st;
    sr_gate *g = new_gate("q.db", 4, 3, app);
    hash_of("recipe-1", h);
    status(g, h, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "not approved: 0/4 (k=3)");
    CHECK_OK(sr_gate_approve(g, h, sk[0], &err), &err);
    CHECK_OK(sr_gate_approve(g, h, sk[1], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK_EQ_INT(st.n_approved, 2);
    CHECK_EQ_STR(st.reason, "not approved: 2/4 (k=3)");
    CHECK_OK(sr_gate_approve(g, h, sk[2], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(st.allowed);
    CHECK_EQ_INT(st.n_approved, 3);
    CHECK_EQ_STR(st.reason, "allowed: 3/4 approvals (k=3)");
    CHECK_EQ_INT(st.snapshot, 4); /* create + 3 approvals */
    CHECK_EQ_STR(st.pos_unit, "seq");
    CHECK(st.approved[0] && st.approved[1] && st.approved[2] && !st.approved[3]);
    CHECK_EQ_INT(st.approved_pos[2], 4);
    /* required owner D has not approved */
    const char *req[] = {"owner-A", "owner-D"};
    status(g, h, req, 2, &st);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "not approved: 3/4 (k=3), missing owner-D");
    const char *unk[] = {"owner-Z"};
    status(g, h, unk, 1, &st);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "not approved: unknown owner owner-Z");
    /* another hash is independent */
    uint8_t h2[32];
    hash_of("recipe-2", h2);
    status(g, h2, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK_EQ_INT(st.n_approved, 0);
    /* a fresh open sees the same (full verification) */
    sr_gate_close(g);
    CHECK_OK(sr_gate_open("ledger:q.db", &g, &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(st.allowed);
    sr_gate_domain d;
    sr_gate_get_domain(g, &d);
    CHECK_EQ_MEM(d.app, app, 20);
    CHECK_EQ_INT(d.chain_id, SR_GATE_LEDGER_DEFAULT_CHAIN_ID);
    CHECK_EQ_STR(sr_gate_backend(g), "ledger");
    /* no on-chain required owners here: the ledger is always asked with the
     * recipe's list, so declaring is refused and status has none */
    CHECK(!st.has_declared);
    CHECK_EQ_INT(st.n_declared, 0);
    uint8_t one[1][20];
    memcpy(one[0], d.app, 20);
    CHECK_EQ_INT(sr_gate_require_owners(g, h2, (const uint8_t(*)[20])one, 1, sk[0], &err), SR_ESTATE);
    CHECK_CONTAINS(err.msg, "not available on the ledger backend");
    char *js = sr_gate_status_json(&st, "ledger");
    CHECK(js != NULL);
    CHECK_CONTAINS(js, "\"required_on_chain\": null");
    free(js);
    sr_gate_close(g);
}

static void test_rejections(void)
{
    sr_error err;
    uint8_t app[20], h[32], h2[32], d[32], sig[65];
    static sr_gate_status st;
    sr_gate *g = new_gate("r.db", 3, 2, app);
    sr_gate_domain dom;
    sr_gate_get_domain(g, &dom);
    hash_of("recipe-r", h);
    hash_of("recipe-other", h2);

    /* non-owner (key 4) */
    CHECK_EQ_INT(sr_gate_approve(g, h, sk[4], &err), SR_EDENIED);
    CHECK_CONTAINS(err.msg, "not an owner");

    /* signature for another compose hash, claimed for h */
    sr_gate_approve_digest(&dom, h2, d);
    CHECK_OK(sr_gate_sign_digest(d, sk[0], sig, &err), &err);
    CHECK_EQ_INT(sr_gate_approve_sig(g, h, addr[0], sig, &err), SR_EVERIFY);
    /* a revoke signature replayed as an approval */
    sr_gate_revoke_digest(&dom, h, d);
    CHECK_OK(sr_gate_sign_digest(d, sk[0], sig, &err), &err);
    CHECK_EQ_INT(sr_gate_approve_sig(g, h, addr[0], sig, &err), SR_EVERIFY);
    /* another chain id */
    sr_gate_domain other = dom;
    other.chain_id = dom.chain_id + 1;
    sr_gate_approve_digest(&other, h, d);
    CHECK_OK(sr_gate_sign_digest(d, sk[0], sig, &err), &err);
    CHECK_EQ_INT(sr_gate_approve_sig(g, h, addr[0], sig, &err), SR_EVERIFY);
    /* another app (a second ledger with the same owners) */
    uint8_t app2[20];
    sr_gate *g2 = new_gate("r2.db", 3, 2, app2);
    CHECK(memcmp(app, app2, 20) != 0);
    sr_gate_domain dom2;
    sr_gate_get_domain(g2, &dom2);
    sr_gate_approve_digest(&dom2, h, d);
    CHECK_OK(sr_gate_sign_digest(d, sk[0], sig, &err), &err);
    CHECK_OK(sr_gate_approve_sig(g2, h, addr[0], sig, &err), &err); /* valid there */
    CHECK_EQ_INT(sr_gate_approve_sig(g, h, addr[0], sig, &err), SR_EVERIFY); /* not here */
    sr_gate_close(g2);
    /* signature claimed for another signer */
    sr_gate_approve_digest(&dom, h, d);
    CHECK_OK(sr_gate_sign_digest(d, sk[0], sig, &err), &err);
    CHECK_EQ_INT(sr_gate_approve_sig(g, h, addr[1], sig, &err), SR_EVERIFY);
    /* a corrupted signature */
    uint8_t bad[65];
    memcpy(bad, sig, 65);
    bad[10] ^= 1;
    CHECK(sr_gate_approve_sig(g, h, addr[0], bad, &err) != SR_OK);
    status(g, h, NULL, 0, &st);
    CHECK_EQ_INT(st.n_approved, 0);

    /* the right signature works once; the same owner again is refused */
    CHECK_OK(sr_gate_approve_sig(g, h, addr[0], sig, &err), &err);
    CHECK_EQ_INT(sr_gate_approve_sig(g, h, addr[0], sig, &err), SR_ESTATE);
    CHECK_CONTAINS(err.msg, "already approved");
    CHECK_EQ_INT(sr_gate_approve(g, h, sk[0], &err), SR_ESTATE);
    status(g, h, NULL, 0, &st);
    CHECK_EQ_INT(st.n_approved, 1);
    CHECK(!st.allowed);
    CHECK_EQ_INT(st.snapshot, 2);
    sr_gate_close(g);
}

static void test_revoke(void)
{
    sr_error err;
    uint8_t app[20], h[32], h2[32];
    static sr_gate_status st;
    sr_gate *g = new_gate("v.db", 3, 2, app);
    hash_of("recipe-v", h);
    hash_of("recipe-v2", h2);
    CHECK_OK(sr_gate_approve(g, h, sk[0], &err), &err);
    CHECK_OK(sr_gate_approve(g, h, sk[1], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(st.allowed);
    /* one owner revokes alone; immediate */
    CHECK_OK(sr_gate_revoke(g, h, sk[2], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK(st.revoked);
    CHECK_EQ_STR(st.reason, "revoked by owner-C at seq 4");
    CHECK_EQ_STR(st.revoked_by, "owner-C");
    /* final: cannot re-approve, cannot revoke twice */
    CHECK_EQ_INT(sr_gate_approve(g, h, sk[2], &err), SR_EDENIED);
    CHECK_CONTAINS(err.msg, "revoked");
    CHECK_EQ_INT(sr_gate_revoke(g, h, sk[0], &err), SR_ESTATE);
    /* non-owner cannot revoke */
    CHECK_EQ_INT(sr_gate_revoke(g, h2, sk[4], &err), SR_EDENIED);
    /* pre-emptive revoke of a hash nobody approved */
    CHECK_OK(sr_gate_revoke(g, h2, sk[0], &err), &err);
    CHECK_EQ_INT(sr_gate_approve(g, h2, sk[1], &err), SR_EDENIED);
    /* survives reopen */
    sr_gate_close(g);
    CHECK_OK(sr_gate_open("ledger:v.db", &g, &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "revoked by owner-C at seq 4");
    sr_gate_close(g);
}

/* The head (sequence, entry hash) in the status, and the hash of any earlier
 * entry, as the KMS uses them to anchor the ledger. */
static void test_head_and_entry_hash(void)
{
    sr_error err;
    uint8_t app[20], h[32], head3[32], e[32];
    static sr_gate_status st;
    sr_gate *g = new_gate("head.db", 3, 2, app);
    hash_of("recipe-head", h);
    CHECK_OK(sr_gate_approve(g, h, sk[0], &err), &err);
    CHECK_OK(sr_gate_approve(g, h, sk[1], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK_EQ_INT((int)st.snapshot, 3);
    CHECK(st.has_snapshot_hash);
    memcpy(head3, st.snapshot_hash, 32);
    CHECK_OK(sr_gate_entry_hash(g, 3, e, &err), &err);
    CHECK(memcmp(e, head3, 32) == 0);
    CHECK_EQ_INT(sr_gate_entry_hash(g, 4, e, &err), SR_ENOTFOUND);
    CHECK_EQ_INT(sr_gate_entry_hash(g, 0, e, &err), SR_ENOTFOUND);
    /* written by another handle: this one answers after its next read */
    sr_gate *g2 = NULL;
    CHECK_OK(sr_gate_open("ledger:head.db", &g2, &err), &err);
    CHECK_OK(sr_gate_revoke(g2, h, sk[2], &err), &err);
    sr_gate_close(g2);
    status(g, h, NULL, 0, &st);
    CHECK_EQ_INT((int)st.snapshot, 4);
    CHECK(memcmp(st.snapshot_hash, head3, 32) != 0);
    CHECK_OK(sr_gate_entry_hash(g, 3, e, &err), &err);
    CHECK(memcmp(e, head3, 32) == 0);
    CHECK_OK(sr_gate_entry_hash(g, 4, e, &err), &err);
    CHECK(memcmp(e, st.snapshot_hash, 32) == 0);
    /* the hashes are the stored entry_hash column */
    char hex[65];
    sr_hex_encode(head3, 32, hex);
    CHECK(sr_test_sh("test \"$(sqlite3 head.db 'SELECT entry_hash FROM entries WHERE seq = 3')\" = %s", hex) == 0);
    /* JSON carries it */
    char *js = sr_gate_status_json(&st, "ledger");
    sr_hex_encode(st.snapshot_hash, 32, hex);
    CHECK_CONTAINS(js, hex);
    CHECK_CONTAINS(js, "\"head_hash\"");
    free(js);
    sr_gate_close(g);
}

static void test_freeze(void)
{
    sr_error err;
    uint8_t app[20], h[32], h2[32], reason[32] = {0};
    static sr_gate_status st;
    sr_gate *g = new_gate("f.db", 3, 1, app);
    hash_of("recipe-f", h);
    hash_of("recipe-f2", h2);
    CHECK_OK(sr_gate_approve(g, h, sk[0], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(st.allowed);
    CHECK_EQ_INT(sr_gate_freeze(g, reason, sk[4], &err), SR_EDENIED); /* non-owner */
    sr_keccak256("breach", 6, reason);
    CHECK_OK(sr_gate_freeze(g, reason, sk[1], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK(st.frozen);
    CHECK_EQ_STR(st.reason, "frozen by owner-B at seq 3");
    CHECK_EQ_MEM(st.frozen_reason, reason, 32);
    /* nothing is accepted any more */
    CHECK_EQ_INT(sr_gate_approve(g, h2, sk[0], &err), SR_EDENIED);
    CHECK_CONTAINS(err.msg, "frozen");
    CHECK_EQ_INT(sr_gate_revoke(g, h, sk[0], &err), SR_EDENIED);
    CHECK_EQ_INT(sr_gate_freeze(g, reason, sk[0], &err), SR_EDENIED);
    int applied = 7;
    sr_gate_config c;
    make_cfg(&c, 2, 1);
    CHECK_EQ_INT(sr_gate_change_owners(g, c.owners, 2, 1, 0, sk[0], &applied, &err), SR_EDENIED);
    status(g, h2, NULL, 0, &st);
    CHECK(!st.allowed);
    sr_gate_close(g);
}

static void test_change_owners(void)
{
    sr_error err;
    uint8_t app[20], h[32];
    static sr_gate_status st;
    sr_gate *g = new_gate("o.db", 3, 2, app);
    hash_of("recipe-o", h);
    /* proposal: owners A, B, C, E (key 4) with threshold 3 */
    sr_gate_config nc;
    make_cfg(&nc, 3, 2);
    strcpy(nc.owners[3].id, "owner-E");
    memcpy(nc.owners[3].addr, addr[4], 20);
    strcpy(nc.owners[3].jurisdiction, "UK");
    nc.n_owners = 4;
    int applied = -1;
    uint64_t nonce = 99;
    sr_gate_config cur;
    CHECK_OK(sr_gate_get_config(g, &cur, &nonce, &err), &err);
    CHECK_EQ_INT(nonce, 0);
    CHECK_EQ_INT(cur.n_owners, 3);
    /* a non-owner's vote is refused */
    CHECK_EQ_INT(sr_gate_change_owners(g, nc.owners, 4, 3, 0, sk[4], &applied, &err), SR_EDENIED);
    /* an invalid proposal (threshold > n) is refused */
    CHECK_EQ_INT(sr_gate_change_owners(g, nc.owners, 4, 5, 0, sk[0], &applied, &err), SR_EINVAL);
    /* one vote (k = 2): not applied */
    CHECK_OK(sr_gate_change_owners(g, nc.owners, 4, 3, 0, sk[0], &applied, &err), &err);
    CHECK_EQ_INT(applied, 0);
    CHECK_EQ_INT(sr_gate_change_owners(g, nc.owners, 4, 3, 0, sk[0], &applied, &err), SR_ESTATE); /* again */
    CHECK_OK(sr_gate_get_config(g, &cur, &nonce, &err), &err);
    CHECK_EQ_INT(cur.n_owners, 3);
    CHECK_EQ_INT(cur.threshold, 2);
    /* a vote for a different proposal does not add up with it */
    CHECK_OK(sr_gate_change_owners(g, nc.owners, 4, 2, 0, sk[1], &applied, &err), &err);
    CHECK_EQ_INT(applied, 0);
    CHECK_OK(sr_gate_get_config(g, &cur, &nonce, &err), &err);
    CHECK_EQ_INT(cur.n_owners, 3);
    /* the second vote for the same proposal applies it */
    CHECK_OK(sr_gate_change_owners(g, nc.owners, 4, 3, 0, sk[2], &applied, &err), &err);
    CHECK_EQ_INT(applied, 1);
    CHECK_OK(sr_gate_get_config(g, &cur, &nonce, &err), &err);
    CHECK_EQ_INT(cur.n_owners, 4);
    CHECK_EQ_INT(cur.threshold, 3);
    CHECK_EQ_INT(nonce, 1);
    CHECK_EQ_STR(cur.owners[3].id, "owner-E");
    /* stale nonce refused */
    CHECK_EQ_INT(sr_gate_change_owners(g, nc.owners, 4, 2, 0, sk[0], &applied, &err), SR_ESTATE);
    CHECK_CONTAINS(err.msg, "stale");
    /* the new owner can approve; k is now 3 */
    CHECK_OK(sr_gate_approve(g, h, sk[4], &err), &err);
    CHECK_OK(sr_gate_approve(g, h, sk[0], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(!st.allowed);
    CHECK_EQ_STR(st.reason, "not approved: 2/4 (k=3)");
    CHECK_OK(sr_gate_approve(g, h, sk[1], &err), &err);
    status(g, h, NULL, 0, &st);
    CHECK(st.allowed);
    /* remove owner-A with 3 votes (k=3): A's approval stops counting */
    sr_gate_config rc;
    memset(&rc, 0, sizeof rc);
    rc.owners[0] = cur.owners[1];
    rc.owners[1] = cur.owners[2];
    rc.owners[2] = cur.owners[3];
    CHECK_OK(sr_gate_change_owners(g, rc.owners, 3, 2, 1, sk[1], &applied, &err), &err);
    CHECK_OK(sr_gate_change_owners(g, rc.owners, 3, 2, 1, sk[2], &applied, &err), &err);
    CHECK_EQ_INT(applied, 0);
    CHECK_OK(sr_gate_change_owners(g, rc.owners, 3, 2, 1, sk[4], &applied, &err), &err);
    CHECK_EQ_INT(applied, 1);
    status(g, h, NULL, 0, &st);
    CHECK_EQ_INT(st.n_approved, 2); /* B and E */
    CHECK(st.allowed);              /* k = 2 now */
    CHECK_EQ_INT(sr_gate_approve(g, h, sk[0], &err), SR_EDENIED); /* A is no owner now */
    /* the history: create, 6 votes, 3 approvals (refused actions leave
     * no entry), signer ids at the time */
    sr_gate_event *ev = NULL;
    size_t nev = 0;
    CHECK_OK(sr_gate_history(g, &ev, &nev, &err), &err);
    CHECK_EQ_INT(nev, 10);
    if (nev == 10) {
        CHECK_EQ_STR(ev[0].kind, "create");
        CHECK_EQ_STR(ev[0].signer_id, ""); /* deployer, not an owner */
        CHECK_EQ_INT(ev[0].threshold, 2);
        CHECK_EQ_STR(ev[1].kind, "owners");
        CHECK_EQ_STR(ev[1].signer_id, "owner-A");
        CHECK_EQ_INT(ev[1].applied, 0);
        CHECK_EQ_INT(ev[3].applied, 1);
        CHECK_EQ_INT(ev[3].n_owners, 4);
        CHECK_EQ_STR(ev[4].kind, "approve");
        CHECK_EQ_STR(ev[4].signer_id, "owner-E");
        CHECK_EQ_MEM(ev[4].word, h, 32);
        CHECK_EQ_MEM(ev[4].signer, addr[4], 20);
        CHECK_EQ_INT(ev[9].pos, 10);
        CHECK_EQ_STR(ev[9].signer_id, "owner-E");
        CHECK_EQ_INT(ev[9].applied, 1);
        CHECK_EQ_INT(ev[9].nonce, 1);
    }
    free(ev);
    /* the whole history re-verifies */
    sr_gate_close(g);
    CHECK_OK(sr_gate_open("ledger:o.db", &g, &err), &err);
    CHECK_OK(sr_gate_get_config(g, &cur, &nonce, &err), &err);
    CHECK_EQ_INT(nonce, 2);
    CHECK_EQ_INT(cur.n_owners, 3);
    sr_gate_close(g);
}

/* Runs one SQL statement on the ledger file directly (the "attacker"). */
static void tamper(const char *path, const char *sql)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    CHECK_MSG(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
    sqlite3_free(msg);
    CHECK(sqlite3_changes(db) >= 1);
    sqlite3_close(db);
}

static void copy_file(const char *from, const char *to)
{
    sqlite3 *a, *b;
    CHECK(sqlite3_open(from, &a) == SQLITE_OK);
    unlink(to);
    CHECK(sqlite3_open(to, &b) == SQLITE_OK);
    sqlite3_backup *bk = sqlite3_backup_init(b, "main", a, "main");
    CHECK(bk != NULL);
    if (bk) {
        sqlite3_backup_step(bk, -1);
        sqlite3_backup_finish(bk);
    }
    sqlite3_close(a);
    sqlite3_close(b);
}

static void expect_tampered(const char *path, const char *sql, const char *needle)
{
    sr_error err;
    sr_gate *g = NULL;
    char spec[128];
    copy_file("t.db", path);
    tamper(path, sql);
    snprintf(spec, sizeof spec, "ledger:%s", path);
    int rc = sr_gate_open(spec, &g, &err);
    CHECK_MSG(rc == SR_EVERIFY, "%s: rc %d (%s)", sql, rc, err.msg);
    if (rc == SR_EVERIFY && needle != NULL)
        CHECK_CONTAINS(err.msg, needle);
    sr_gate_close(g);
}

static void test_tamper(void)
{
    sr_error err;
    uint8_t app[20], h[32];
    sr_gate *g = new_gate("t.db", 3, 2, app);
    hash_of("recipe-t", h);
    CHECK_OK(sr_gate_approve(g, h, sk[0], &err), &err);
    CHECK_OK(sr_gate_revoke(g, h, sk[1], &err), &err);
    uint8_t h2[32];
    hash_of("recipe-t2", h2);
    CHECK_OK(sr_gate_approve(g, h2, sk[2], &err), &err);
    sr_gate_close(g);
    /* the untouched copy verifies */
    copy_file("t.db", "t-ok.db");
    CHECK_OK(sr_gate_open("ledger:t-ok.db", &g, &err), &err);
    sr_gate_close(g);

    /* delete the revocation */
    expect_tampered("t1.db", "DELETE FROM entries WHERE kind = 'revoke'", "gap");
    /* change which hash was revoked, keep the stored hash */
    char sql[512];
    char hx[65];
    sr_hex_encode(h2, 32, hx);
    snprintf(sql, sizeof sql, "UPDATE entries SET payload = '{\"compose_hash\":\"0x%s\"}' WHERE seq = 3", hx);
    expect_tampered("t2.db", sql, "entry hash mismatch");
    /* swap the signer */
    expect_tampered("t3.db", "UPDATE entries SET signer = (SELECT signer FROM entries WHERE seq = 2) WHERE seq = 3",
                    NULL);
    /* edit the threshold in the creation entry */
    expect_tampered("t4.db", "UPDATE entries SET payload = replace(payload, '\"threshold\":2', '\"threshold\":1') WHERE seq = 1",
                    "edited");
    /* break the chain link */
    expect_tampered("t5.db", "UPDATE entries SET prev_hash = entry_hash WHERE seq = 4", "chain");
    /* change a signature byte (to 0x00, or 0x01 when it already is 0x00: the
     * signature is over a random salt's app, so its first byte is 00 in 1 run of 256) */
    expect_tampered("t6.db",
                    "UPDATE entries SET signature = '0x' || (CASE substr(signature, 3, 2) WHEN '00' THEN '01' "
                    "ELSE '00' END) || substr(signature, 5) WHERE seq = 2",
                    NULL);
    /* reorder: swap seq of two entries */
    expect_tampered("t7.db", "UPDATE entries SET seq = seq + 10 WHERE seq = 2", NULL);
    /* a forged entry with a correct hash chain but no valid signature:
     * re-hash is possible for anyone, a signature is not. The ledger's
     * write path refuses it, so splice one via a copy of entry 2's columns
     * with another compose hash and a recomputed hash is covered by
     * entry-hash and signature checks above; here: non-canonical payload */
    expect_tampered("t8.db", "UPDATE entries SET payload = replace(payload, '{', '{ ') WHERE seq = 2", NULL);
    /* truncation of the tail is not detectable from the file alone (see
     * docs/GATE.md), but an open handle notices entries disappearing */
    copy_file("t.db", "t9.db");
    CHECK_OK(sr_gate_open("ledger:t9.db", &g, &err), &err);
    tamper("t9.db", "DELETE FROM entries WHERE seq = 4");
    static sr_gate_status st;
    CHECK_EQ_INT(sr_gate_status_get(g, h2, NULL, 0, &st, &err), SR_EVERIFY);
    sr_gate_close(g);
    /* an edit behind an open handle's back is noticed on its next read */
    copy_file("t.db", "t10.db");
    CHECK_OK(sr_gate_open("ledger:t10.db", &g, &err), &err);
    tamper("t10.db", "UPDATE entries SET entry_hash = prev_hash WHERE seq = 4");
    CHECK_EQ_INT(sr_gate_status_get(g, h2, NULL, 0, &st, &err), SR_EVERIFY);
    sr_gate_close(g);
    /* ... and so is an edit of an early entry (not the last one) */
    copy_file("t.db", "t11.db");
    CHECK_OK(sr_gate_open("ledger:t11.db", &g, &err), &err);
    CHECK_OK(sr_gate_status_get(g, h2, NULL, 0, &st, &err), &err);
    tamper("t11.db", "UPDATE entries SET signer = '0x' || substr(signer, 3, 38) || 'ff' WHERE seq = 2");
    CHECK_EQ_INT(sr_gate_status_get(g, h2, NULL, 0, &st, &err), SR_EVERIFY);
    sr_gate_config cfg;
    uint64_t nonce;
    CHECK_EQ_INT(sr_gate_get_config(g, &cfg, &nonce, &err), SR_EVERIFY);
    sr_gate_close(g);
}

static void test_create_refusals(void)
{
    sr_error err;
    sr_gate_config c;
    uint8_t app[20];
    make_cfg(&c, 3, 2);
    unlink("c.db");
    CHECK_OK(sr_gate_create("ledger:c.db", &c, sk[0], app, NULL, 0, &err), &err);
    /* an existing ledger is not overwritten */
    CHECK_EQ_INT(sr_gate_create("ledger:c.db", &c, sk[0], app, NULL, 0, &err), SR_ESTATE);
    sr_gate *g;
    CHECK_OK(sr_gate_open("ledger:c.db", &g, &err), &err);
    sr_gate_close(g);
    /* bad configs */
    c.threshold = 4;
    CHECK_EQ_INT(sr_gate_create("ledger:c2.db", &c, sk[0], app, NULL, 0, &err), SR_EINVAL);
    c.threshold = 0;
    CHECK_EQ_INT(sr_gate_create("ledger:c2.db", &c, sk[0], app, NULL, 0, &err), SR_EINVAL);
    make_cfg(&c, 3, 2);
    memcpy(c.owners[1].addr, c.owners[0].addr, 20);
    CHECK_EQ_INT(sr_gate_create("ledger:c2.db", &c, sk[0], app, NULL, 0, &err), SR_EINVAL);
    make_cfg(&c, 3, 2);
    strcpy(c.owners[1].id, c.owners[0].id);
    CHECK_EQ_INT(sr_gate_create("ledger:c2.db", &c, sk[0], app, NULL, 0, &err), SR_EINVAL);
    make_cfg(&c, 3, 2);
    strcpy(c.owners[1].id, "bad id");
    CHECK_EQ_INT(sr_gate_create("ledger:c2.db", &c, sk[0], app, NULL, 0, &err), SR_EINVAL);
    CHECK(access("c2.db", F_OK) != 0);
    /* chain id chosen */
    make_cfg(&c, 2, 1);
    c.chain_id = 777;
    unlink("c3.db");
    CHECK_OK(sr_gate_create("ledger:c3.db", &c, sk[0], app, NULL, 0, &err), &err);
    CHECK_OK(sr_gate_open("ledger:c3.db", &g, &err), &err);
    sr_gate_domain d;
    sr_gate_get_domain(g, &d);
    CHECK_EQ_INT(d.chain_id, 777);
    CHECK_EQ_MEM(d.app, app, 20);
    sr_gate_close(g);
    /* bad specs */
    CHECK_EQ_INT(sr_gate_open("ledger:nonexistent.db", &g, &err), SR_ENOTFOUND);
    CHECK_EQ_INT(sr_gate_open("ftp:x", &g, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_open("ledger:", &g, &err), SR_EINVAL);
    CHECK_EQ_INT(sr_gate_open("evm:http://127.0.0.1:1", &g, &err), SR_EINVAL); /* no address */
    /* not a ledger */
    FILE *f = fopen("junk.db", "w");
    fputs("this is not sqlite", f);
    fclose(f);
    CHECK(sr_gate_open("ledger:junk.db", &g, &err) != SR_OK);
}

/* 8 processes x 20 approvals of distinct hashes, at once. */
static void test_concurrent(void)
{
    sr_error err;
    uint8_t app[20];
    sr_gate *g = new_gate("cc.db", 4, 2, app);
    sr_gate_close(g);
    enum { P = 8, N = 20 };
    pid_t pids[P];
    for (int p = 0; p < P; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            sr_gate *cg;
            sr_error e;
            int bad = 0;
            if (sr_gate_open("ledger:cc.db", &cg, &e) != SR_OK)
                _exit(10);
            for (int i = 0; i < N; i++) {
                char name[64];
                uint8_t h[32];
                snprintf(name, sizeof name, "cc-%d-%d", p, i);
                sr_sha256(name, strlen(name), h);
                if (sr_gate_approve(cg, h, sk[p % 4], &e) != SR_OK) {
                    fprintf(stderr, "child %d: %s\n", p, e.msg);
                    bad++;
                }
            }
            sr_gate_close(cg);
            _exit(bad ? 1 : 0);
        }
    }
    for (int p = 0; p < P; p++) {
        int ws = 0;
        CHECK(waitpid(pids[p], &ws, 0) == pids[p]);
        CHECK_MSG(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "child %d status %d", p, ws);
    }
    CHECK_OK(sr_gate_open("ledger:cc.db", &g, &err), &err);
    static sr_gate_status st;
    int present = 0;
    for (int p = 0; p < P; p++)
        for (int i = 0; i < N; i++) {
            char name[64];
            uint8_t h[32];
            snprintf(name, sizeof name, "cc-%d-%d", p, i);
            sr_sha256(name, strlen(name), h);
            if (sr_gate_status_get(g, h, NULL, 0, &st, &err) == SR_OK && st.approved[p % 4] && st.n_approved == 1)
                present++;
        }
    CHECK_EQ_INT(present, P * N);
    CHECK_EQ_INT(st.snapshot, 1 + P * N);
    sr_gate_close(g);
}

int main(void)
{
    keys();
    SR_RUN(test_quorum_at_k);
    SR_RUN(test_rejections);
    SR_RUN(test_revoke);
    SR_RUN(test_freeze);
    SR_RUN(test_head_and_entry_hash);
    SR_RUN(test_change_owners);
    SR_RUN(test_tamper);
    SR_RUN(test_create_refusals);
    SR_RUN(test_concurrent);
    return sr_test_finish();
}

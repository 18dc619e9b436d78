/* libFuzzer target: opening (= fully verifying) a ledger file whose rows
 * come from the input. Input: one flag byte, then rows separated by '\n',
 * each "kind\tpayload\tsigner\tsignature[\tprev_hash\tentry_hash]". With flag
 * bit 0 set the harness recomputes prev_hash/entry_hash per docs/GATE.md
 * (so mutated payloads get past the chain check to the payload parser, the
 * signature check and the rules). Whatever the rows, the open must either
 * fail cleanly or yield a state that reads back; no crash, no leak. */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/gate.h"

/* On tmpfs when there is one (fsync is free there), else in the cwd. */
static char db_path[256], db_wal[272], db_shm[272], db_spec[272];

static void paths(void)
{
    if (db_path[0] != '\0')
        return;
    if (access("/dev/shm", W_OK) == 0)
        snprintf(db_path, sizeof db_path, "/dev/shm/sr-fuzz-ledger-%ld.db", (long)getpid());
    else
        snprintf(db_path, sizeof db_path, "fuzz-ledger-%ld.db", (long)getpid());
    snprintf(db_wal, sizeof db_wal, "%s-wal", db_path);
    snprintf(db_shm, sizeof db_shm, "%s-shm", db_path);
    snprintf(db_spec, sizeof db_spec, "ledger:%s", db_path);
}

static void field(char **p, const char **out)
{
    *out = *p;
    char *t = strchr(*p, '\t');
    if (t != NULL) {
        *t = '\0';
        *p = t + 1;
    } else {
        *p += strlen(*p);
    }
}

static void chain_hash(uint64_t seq, const char *kind, const char *payload, const char *signer_hex, const char *sig_hex,
                       const uint8_t prev[32], uint8_t out[32])
{
    uint8_t signer[20] = {0}, sig[65] = {0}, be[8];
    sr_error err;
    static const uint8_t zero = 0;
    (void)sr_hex_decode_exact(signer_hex, signer, 20, &err);
    (void)sr_hex_decode_exact(sig_hex, sig, 65, &err);
    sr_store_be64(be, seq);
    sr_sha256_ctx *c = sr_sha256_new();
    if (c == NULL) {
        memset(out, 0, 32);
        return;
    }
    sr_sha256_update(c, "sealroom-ledger-v1", 18);
    sr_sha256_update(c, &zero, 1);
    sr_sha256_update(c, be, 8);
    sr_sha256_update(c, kind, strlen(kind));
    sr_sha256_update(c, &zero, 1);
    sr_sha256_update(c, payload, strlen(payload));
    sr_sha256_update(c, &zero, 1);
    sr_sha256_update(c, signer, 20);
    sr_sha256_update(c, sig, 65);
    sr_sha256_update(c, prev, 32);
    sr_sha256_final(c, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    int fix = data[0] & 1;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    paths();
    unlink(db_path);
    unlink(db_wal);
    unlink(db_shm);
    sqlite3 *db;
    if (sqlite3_open(db_path, &db) != SQLITE_OK)
        abort();
    sqlite3_exec(db,
                 "PRAGMA synchronous=OFF; BEGIN; CREATE TABLE entries(seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,"
                 " payload TEXT NOT NULL, signer TEXT NOT NULL, signature TEXT NOT NULL, prev_hash TEXT NOT NULL,"
                 " entry_hash TEXT NOT NULL)",
                 NULL, NULL, NULL);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "INSERT INTO entries VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st, NULL) != SQLITE_OK)
        abort();
    uint8_t prev[32] = {0};
    char *line = text;
    for (uint64_t seq = 1; line != NULL && *line != '\0' && seq <= 64; seq++) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        const char *kind, *payload, *signer, *sig, *ph, *eh;
        char *p = line;
        field(&p, &kind);
        field(&p, &payload);
        field(&p, &signer);
        field(&p, &sig);
        field(&p, &ph);
        field(&p, &eh);
        char phx[65], ehx[65];
        if (fix) {
            uint8_t h[32];
            chain_hash(seq, kind, payload, signer, sig, prev, h);
            sr_hex_encode(prev, 32, phx);
            sr_hex_encode(h, 32, ehx);
            memcpy(prev, h, 32);
            ph = phx;
            eh = ehx;
        }
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, payload, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, signer, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, sig, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, ph, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, eh, -1, SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
        line = nl ? nl + 1 : NULL;
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    free(text);

    sr_gate *g = NULL;
    sr_error err;
    if (sr_gate_open(db_spec, &g, &err) == SR_OK) {
        static sr_gate_config cfg;
        static sr_gate_status s;
        uint64_t nonce;
        uint8_t h[32] = {0};
        if (sr_gate_get_config(g, &cfg, &nonce, &err) != SR_OK || sr_gate_config_validate(&cfg, &err) != SR_OK)
            abort();
        if (sr_gate_status_get(g, h, NULL, 0, &s, &err) != SR_OK)
            abort();
        sr_gate_close(g);
    }
    unlink(db_path);
    return 0;
}

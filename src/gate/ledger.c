/* sealroom gate: the embedded ledger backend ("ledger:PATH").
 *
 * One SQLite file in WAL mode holding a hash chain of signed entries
 * (create, approve, revoke, freeze, owners). State is a fold over the
 * entries; opening verifies every entry hash, every signature and every
 * rule, so an edited file is refused. Writes run in BEGIN IMMEDIATE
 * transactions (busy timeout) so concurrent processes serialise and lose
 * nothing. Format: docs/GATE.md, "Ledger backend". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

#include "gate_backend.h"
#include "sealroom/buf.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

#define LEDGER_FORMAT 1
#define LEDGER_BUSY_MS 60000
#define LEDGER_PAYLOAD_MAX (64u * 1024u)
#define LEDGER_MAX_ENTRIES 100000000ull
#define LEDGER_HASH_TAG "sealroom-ledger-v1"
#define LEDGER_TYPE_CREATE                                                                                \
    "CreateConsortium(string name,Owner[] owners,uint256 threshold,bytes kmsRoot,bytes32 salt)" SR_GATE_TYPE_OWNER

enum { K_CREATE = 1, K_APPROVE, K_REVOKE, K_FREEZE, K_OWNERS };
static const char *const kind_names[] = {"", "create", "approve", "revoke", "freeze", "owners"};

typedef struct appr {
    uint8_t hash[32];
    uint8_t addr[SR_ETH_ADDR_LEN];
    uint64_t seq;
} appr;

typedef struct revk {
    uint8_t hash[32];
    uint8_t addr[SR_ETH_ADDR_LEN];
    char id[SR_GATE_ID_MAX + 1];
    uint64_t seq;
} revk;

typedef struct vote {
    uint8_t digest[32];
    uint8_t addr[SR_ETH_ADDR_LEN];
} vote;

typedef struct lstate {
    int created;
    sr_gate_config cfg;
    uint64_t nonce;
    sr_gate_domain dom;
    appr *ap;
    size_t nap, capap;
    revk *rv;
    size_t nrv, caprv;
    vote *vt;
    size_t nvt, capvt;
    /* open-addressing indexes into ap / rv: slot = position + 1, 0 = empty;
     * sizes are powers of two, at least twice the element count */
    uint32_t *apix, *rvix;
    size_t apix_cap, rvix_cap;
    int frozen;
    uint8_t frozen_addr[SR_ETH_ADDR_LEN];
    char frozen_id[SR_GATE_ID_MAX + 1];
    uint64_t frozen_seq;
    uint8_t frozen_reason[32];
    uint64_t seq;     /* last folded entry */
    uint8_t head[32]; /* its entry hash (zeros before the first) */
    /* hashes[i] = entry hash of entry i + 1, for every folded entry (so the
     * hash at any sequence can be answered from the verified fold) */
    uint8_t (*hashes)[32];
    size_t caphash;
} lstate;

typedef struct ledger {
    sqlite3 *db;
    lstate st;
    int64_t data_version;
    uint64_t max_seen; /* highest sequence number ever folded by this handle */
} ledger;

/* One action, as decoded from a payload or built for writing. */
typedef struct action {
    int kind;
    uint8_t word[32];   /* approve/revoke: compose hash; freeze: reason; create: salt */
    sr_gate_config cfg; /* create: all; owners: owners, n_owners, threshold */
    uint64_t nonce;     /* owners */
    uint8_t signer[SR_ETH_ADDR_LEN];
    uint8_t sig[SR_ETH_SIG_LEN];
} action;

/* ---- state ----------------------------------------------------------- */

static void state_free(lstate *s)
{
    free(s->ap);
    free(s->rv);
    free(s->vt);
    free(s->apix);
    free(s->rvix);
    free(s->hashes);
    memset(s, 0, sizeof *s);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, sr_error *err)
{
    if (need <= *cap)
        return SR_OK;
    size_t nc = *cap ? *cap * 2 : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (q == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    *p = q;
    *cap = nc;
    return SR_OK;
}

/* Slot hash: compose hashes and addresses are hash outputs, but may be
 * chosen by owners, so mix all of the bytes. */
static uint64_t mix(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < na; i++)
        h = (h ^ a[i]) * 0x100000001b3ull;
    for (size_t i = 0; i < nb; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static uint64_t ap_key(const uint8_t hash[32], const uint8_t addr[SR_ETH_ADDR_LEN])
{
    return mix(hash, 32, addr, SR_ETH_ADDR_LEN);
}

static uint64_t rv_key(const uint8_t hash[32]) { return mix(hash, 32, NULL, 0); }

static void ix_put(uint32_t *ix, size_t cap, uint64_t key, uint32_t val)
{
    size_t i = (size_t)key & (cap - 1);
    while (ix[i] != 0)
        i = (i + 1) & (cap - 1);
    ix[i] = val;
}

/* Makes room for one more element (count = elements before the insert). */
static int ix_reserve(uint32_t **ix, size_t *cap, size_t count, int approvals, const lstate *s, sr_error *err)
{
    if ((count + 1) * 2 <= *cap)
        return SR_OK;
    if (count >= UINT32_MAX / 4)
        return sr_error_set(err, SR_ELIMIT, "ledger state too large");
    size_t nc = *cap ? *cap * 2 : 256;
    while (nc < (count + 1) * 2)
        nc *= 2;
    uint32_t *n = calloc(nc, sizeof *n);
    if (n == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        ix_put(n, nc, approvals ? ap_key(s->ap[i].hash, s->ap[i].addr) : rv_key(s->rv[i].hash), (uint32_t)(i + 1));
    free(*ix);
    *ix = n;
    *cap = nc;
    return SR_OK;
}

static const appr *find_approval(const lstate *s, const uint8_t hash[32], const uint8_t addr[SR_ETH_ADDR_LEN])
{
    if (s->apix_cap == 0)
        return NULL;
    size_t i = (size_t)ap_key(hash, addr) & (s->apix_cap - 1);
    while (s->apix[i] != 0) {
        const appr *p = &s->ap[s->apix[i] - 1];
        if (memcmp(p->hash, hash, 32) == 0 && memcmp(p->addr, addr, SR_ETH_ADDR_LEN) == 0)
            return p;
        i = (i + 1) & (s->apix_cap - 1);
    }
    return NULL;
}

static const revk *find_revocation(const lstate *s, const uint8_t hash[32])
{
    if (s->rvix_cap == 0)
        return NULL;
    size_t i = (size_t)rv_key(hash) & (s->rvix_cap - 1);
    while (s->rvix[i] != 0) {
        const revk *r = &s->rv[s->rvix[i] - 1];
        if (memcmp(r->hash, hash, 32) == 0)
            return r;
        i = (i + 1) & (s->rvix_cap - 1);
    }
    return NULL;
}

static void create_digest(const sr_gate_config *c, const uint8_t salt[32], uint8_t digest[32])
{
    sr_gate_domain d;
    memset(&d, 0, sizeof d);
    d.chain_id = c->chain_id;
    sr_keccak_ctx kc;
    uint8_t th[32], sh[32], ds[32];
    uint8_t w[5][32];
    sr_word_bytes_hash(c->name, strlen(c->name), w[0]);
    sr_keccak256_init(&kc);
    for (size_t i = 0; i < c->n_owners; i++) {
        uint8_t oh[32];
        sr_gate_owner_hash(&c->owners[i], oh);
        sr_keccak256_update(&kc, oh, 32);
    }
    sr_keccak256_final(&kc, w[1]);
    sr_word_uint64(c->threshold, w[2]);
    sr_word_bytes_hash(c->kms_pubkey, c->kms_pubkey_len, w[3]);
    memcpy(w[4], salt, 32);
    sr_eip712_type_hash(LEDGER_TYPE_CREATE, th);
    sr_eip712_struct_hash(th, (const uint8_t(*)[32])w, 5, sh);
    sr_gate_domain_separator(&d, ds);
    sr_eip712_digest(ds, sh, digest);
}

/* The digest the signer of an action must have signed, given the state
 * before it. */
static void action_digest(const lstate *s, const action *a, uint8_t digest[32])
{
    switch (a->kind) {
    case K_CREATE:
        create_digest(&a->cfg, a->word, digest);
        break;
    case K_APPROVE:
        sr_gate_approve_digest(&s->dom, a->word, digest);
        break;
    case K_REVOKE:
        sr_gate_revoke_digest(&s->dom, a->word, digest);
        break;
    case K_FREEZE:
        sr_gate_freeze_digest(&s->dom, a->word, digest);
        break;
    default:
        sr_gate_change_owners_digest(&s->dom, a->cfg.owners, a->cfg.n_owners, a->cfg.threshold, a->nonce, digest);
        break;
    }
}

static int check_signature(const lstate *s, const action *a, uint8_t digest[32], sr_error *err)
{
    uint8_t rec[SR_ETH_ADDR_LEN];
    char want[43];
    action_digest(s, a, digest);
    sr_eth_address_to_string(a->signer, want);
    sr_error e2;
    sr_error_clear(&e2);
    if (sr_eth_recover_address(digest, a->sig, rec, &e2) != SR_OK)
        return sr_error_set(err, SR_EVERIFY, "signature of %s does not verify: %s", want, e2.msg);
    if (memcmp(rec, a->signer, SR_ETH_ADDR_LEN) != 0) {
        char got[43];
        sr_eth_address_to_string(rec, got);
        return sr_error_set(err, SR_EVERIFY,
                            "signature is not by %s (it recovers to %s: signed for another action, compose "
                            "hash, app or chain id)",
                            want, got);
    }
    return SR_OK;
}

/* Applies the chain id default and derives the app id from the creation
 * entry's hash: app = last 20 bytes of keccak256(entry_hash). */
static void app_from_entry(const uint8_t entry_hash[32], uint8_t app[SR_ETH_ADDR_LEN])
{
    uint8_t k[32];
    sr_keccak256(entry_hash, 32, k);
    memcpy(app, k + 12, SR_ETH_ADDR_LEN);
}

/* Checks action a against state s and, if valid, applies it as entry seq.
 * Nothing is changed on failure. *applied (owners): 1 if the change took
 * effect. entry_hash is that of this entry (used by create). */
static int state_apply(lstate *s, const action *a, uint64_t seq, const uint8_t entry_hash[32], int *applied,
                       sr_error *err)
{
    uint8_t digest[32];
    *applied = 0;
    if (a->kind == K_CREATE) {
        if (s->created || seq != 1)
            return sr_error_set(err, SR_EFORMAT, "a create entry may only be the first");
        if (sr_gate_config_validate(&a->cfg, err) != SR_OK)
            return err ? err->code : SR_EINVAL;
        if (a->cfg.chain_id == 0)
            return sr_error_set(err, SR_EFORMAT, "create entry has chain id 0");
        if (check_signature(s, a, digest, err) != SR_OK)
            return err ? err->code : SR_EVERIFY;
        s->created = 1;
        s->cfg = a->cfg;
        s->nonce = 0;
        s->dom.chain_id = a->cfg.chain_id;
        app_from_entry(entry_hash, s->dom.app);
        return SR_OK;
    }
    if (!s->created)
        return sr_error_set(err, SR_EFORMAT, "the first entry is not a create entry");
    if (check_signature(s, a, digest, err) != SR_OK)
        return err ? err->code : SR_EVERIFY;
    char who[43];
    sr_eth_address_to_string(a->signer, who);
    int oi = sr_gate_owner_index_addr(&s->cfg, a->signer);
    if (oi < 0)
        return sr_error_set(err, SR_EDENIED, "%s is not an owner of this consortium", who);
    const char *oid = s->cfg.owners[oi].id;
    if (s->frozen)
        return sr_error_set(err, SR_EDENIED, "app is frozen (by %s at seq %llu)", s->frozen_id,
                            (unsigned long long)s->frozen_seq);
    switch (a->kind) {
    case K_APPROVE: {
        const revk *r = find_revocation(s, a->word);
        if (r != NULL)
            return sr_error_set(err, SR_EDENIED, "compose hash revoked by %s at seq %llu; it cannot be approved again",
                                r->id, (unsigned long long)r->seq);
        const appr *p = find_approval(s, a->word, a->signer);
        if (p != NULL)
            return sr_error_set(err, SR_ESTATE, "%s already approved this compose hash at seq %llu", oid,
                                (unsigned long long)p->seq);
        if (grow((void **)&s->ap, &s->capap, s->nap + 1, sizeof *s->ap, err) != SR_OK ||
            ix_reserve(&s->apix, &s->apix_cap, s->nap, 1, s, err) != SR_OK)
            return err ? err->code : SR_ENOMEM;
        appr *n = &s->ap[s->nap++];
        memcpy(n->hash, a->word, 32);
        memcpy(n->addr, a->signer, SR_ETH_ADDR_LEN);
        n->seq = seq;
        ix_put(s->apix, s->apix_cap, ap_key(n->hash, n->addr), (uint32_t)s->nap);
        return SR_OK;
    }
    case K_REVOKE: {
        const revk *r = find_revocation(s, a->word);
        if (r != NULL)
            return sr_error_set(err, SR_ESTATE, "compose hash already revoked by %s at seq %llu", r->id,
                                (unsigned long long)r->seq);
        if (grow((void **)&s->rv, &s->caprv, s->nrv + 1, sizeof *s->rv, err) != SR_OK ||
            ix_reserve(&s->rvix, &s->rvix_cap, s->nrv, 0, s, err) != SR_OK)
            return err ? err->code : SR_ENOMEM;
        revk *n = &s->rv[s->nrv++];
        memcpy(n->hash, a->word, 32);
        memcpy(n->addr, a->signer, SR_ETH_ADDR_LEN);
        memcpy(n->id, oid, strlen(oid) + 1);
        n->seq = seq;
        ix_put(s->rvix, s->rvix_cap, rv_key(n->hash), (uint32_t)s->nrv);
        return SR_OK;
    }
    case K_FREEZE:
        s->frozen = 1;
        memcpy(s->frozen_addr, a->signer, SR_ETH_ADDR_LEN);
        memcpy(s->frozen_id, oid, strlen(oid) + 1);
        s->frozen_seq = seq;
        memcpy(s->frozen_reason, a->word, 32);
        return SR_OK;
    case K_OWNERS: {
        if (a->nonce != s->nonce)
            return sr_error_set(err, SR_ESTATE, "owner change nonce %llu is stale (current nonce %llu)",
                                (unsigned long long)a->nonce, (unsigned long long)s->nonce);
        sr_gate_config nc = s->cfg;
        memcpy(nc.owners, a->cfg.owners, sizeof nc.owners);
        nc.n_owners = a->cfg.n_owners;
        nc.threshold = a->cfg.threshold;
        if (sr_gate_config_validate(&nc, err) != SR_OK)
            return sr_error_prefix(err, "proposed owners");
        size_t count = 0;
        for (size_t i = 0; i < s->nvt; i++) {
            if (memcmp(s->vt[i].digest, digest, 32) != 0)
                continue;
            if (memcmp(s->vt[i].addr, a->signer, SR_ETH_ADDR_LEN) == 0)
                return sr_error_set(err, SR_ESTATE, "%s already voted for this owner change", oid);
            if (sr_gate_owner_index_addr(&s->cfg, s->vt[i].addr) >= 0)
                count++;
        }
        if (count + 1 >= s->cfg.threshold) {
            s->cfg = nc;
            s->nonce++;
            s->nvt = 0;
            *applied = 1;
            return SR_OK;
        }
        if (grow((void **)&s->vt, &s->capvt, s->nvt + 1, sizeof *s->vt, err) != SR_OK)
            return SR_ENOMEM;
        memcpy(s->vt[s->nvt].digest, digest, 32);
        memcpy(s->vt[s->nvt].addr, a->signer, SR_ETH_ADDR_LEN);
        s->nvt++;
        return SR_OK;
    }
    default:
        return sr_error_set(err, SR_EFORMAT, "unknown entry kind %d", a->kind);
    }
}

/* ---- payloads ---------------------------------------------------------- */

static json_t *hexj(const uint8_t *p, size_t n)
{
    char s[2 + 2 * SR_GATE_KMS_KEY_MAX + 1];
    s[0] = '0';
    s[1] = 'x';
    sr_hex_encode(p, n, s + 2);
    return json_string(s);
}

static json_t *owners_json(const sr_gate_owner *o, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "id", json_string(o[i].id));
        json_object_set_new(e, "addr", hexj(o[i].addr, SR_ETH_ADDR_LEN));
        json_object_set_new(e, "jurisdiction", json_string(o[i].jurisdiction));
        json_object_set_new(e, "grades", json_string(o[i].grades));
        json_array_append_new(arr, e);
    }
    return arr;
}

/* Canonical JSON text of an action's payload (malloc'd). */
static char *action_payload(const action *a)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    switch (a->kind) {
    case K_CREATE:
        json_object_set_new(o, "format", json_integer(LEDGER_FORMAT));
        json_object_set_new(o, "name", json_string(a->cfg.name));
        json_object_set_new(o, "owners", owners_json(a->cfg.owners, a->cfg.n_owners));
        json_object_set_new(o, "threshold", json_integer(a->cfg.threshold));
        json_object_set_new(o, "kms_pubkey", hexj(a->cfg.kms_pubkey, a->cfg.kms_pubkey_len));
        json_object_set_new(o, "chain_id", json_integer((json_int_t)a->cfg.chain_id));
        json_object_set_new(o, "salt", hexj(a->word, 32));
        break;
    case K_APPROVE:
    case K_REVOKE:
        json_object_set_new(o, "compose_hash", hexj(a->word, 32));
        break;
    case K_FREEZE:
        json_object_set_new(o, "reason", hexj(a->word, 32));
        break;
    default:
        json_object_set_new(o, "owners", owners_json(a->cfg.owners, a->cfg.n_owners));
        json_object_set_new(o, "threshold", json_integer(a->cfg.threshold));
        json_object_set_new(o, "nonce", json_integer((json_int_t)a->nonce));
        break;
    }
    char *s = sr_json_dump_canonical(o);
    json_decref(o);
    return s;
}

static int copy_str(const json_t *o, const char *key, char *out, size_t maxlen, sr_error *err)
{
    const char *s;
    if (sr_json_get_str(o, key, 1, &s, "ledger entry", err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    size_t n = strlen(s);
    if (n > maxlen)
        return sr_error_set(err, SR_EFORMAT, "ledger entry: %s longer than %zu", key, maxlen);
    memcpy(out, s, n + 1);
    return SR_OK;
}

static int get_u64(const json_t *o, const char *key, uint64_t max, uint64_t *out, sr_error *err)
{
    int64_t v;
    if (sr_json_get_int(o, key, 1, &v, "ledger entry", err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    if (v < 0 || (uint64_t)v > max)
        return sr_error_set(err, SR_EFORMAT, "ledger entry: %s out of range", key);
    *out = (uint64_t)v;
    return SR_OK;
}

static int parse_owners(const json_t *o, sr_gate_config *cfg, sr_error *err)
{
    json_t *arr;
    if (sr_json_get_arr(o, "owners", 1, &arr, "ledger entry", err) != SR_OK)
        return err ? err->code : SR_EFORMAT;
    size_t n = json_array_size(arr);
    if (n == 0 || n > SR_GATE_MAX_OWNERS)
        return sr_error_set(err, SR_EFORMAT, "ledger entry: 1..%d owners expected", SR_GATE_MAX_OWNERS);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(arr, i);
        sr_gate_owner *w = &cfg->owners[i];
        if (!json_is_object(e))
            return sr_error_set(err, SR_EFORMAT, "ledger entry: owner %zu is not an object", i);
        if (copy_str(e, "id", w->id, SR_GATE_ID_MAX, err) != SR_OK ||
            copy_str(e, "jurisdiction", w->jurisdiction, SR_GATE_JURIS_MAX, err) != SR_OK ||
            copy_str(e, "grades", w->grades, SR_GATE_GRADES_MAX, err) != SR_OK ||
            sr_json_get_hex(e, "addr", w->addr, SR_ETH_ADDR_LEN, "ledger owner", err) != SR_OK)
            return err ? err->code : SR_EFORMAT;
    }
    cfg->n_owners = n;
    return SR_OK;
}

/* Decodes a stored (kind, payload) into a; the payload must be exactly the
 * canonical form of what it decodes to. */
static int action_parse(const char *kind, const char *payload, size_t plen, action *a, sr_error *err)
{
    memset(a, 0, sizeof *a);
    for (int k = K_CREATE; k <= K_OWNERS; k++)
        if (strcmp(kind, kind_names[k]) == 0)
            a->kind = k;
    if (a->kind == 0)
        return sr_error_set(err, SR_EFORMAT, "unknown entry kind '%.32s'", kind);
    json_t *o = sr_json_parse(payload, plen, LEDGER_PAYLOAD_MAX, err);
    if (o == NULL)
        return err ? err->code : SR_EFORMAT;
    int rc = SR_OK;
    uint64_t v = 0;
    if (!json_is_object(o)) {
        rc = sr_error_set(err, SR_EFORMAT, "payload is not an object");
        goto out;
    }
    switch (a->kind) {
    case K_CREATE: {
        size_t kl;
        const char *ks;
        if (get_u64(o, "format", 1000, &v, err) != SR_OK)
            goto fail;
        if (v != LEDGER_FORMAT) {
            rc = sr_error_set(err, SR_EFORMAT, "ledger format %llu not supported", (unsigned long long)v);
            goto out;
        }
        if (copy_str(o, "name", a->cfg.name, SR_GATE_NAME_MAX, err) != SR_OK || parse_owners(o, &a->cfg, err) != SR_OK ||
            get_u64(o, "threshold", SR_GATE_MAX_OWNERS, &v, err) != SR_OK)
            goto fail;
        a->cfg.threshold = (uint32_t)v;
        if (get_u64(o, "chain_id", UINT64_MAX >> 1, &a->cfg.chain_id, err) != SR_OK ||
            sr_json_get_hex(o, "salt", a->word, 32, "ledger entry", err) != SR_OK ||
            sr_json_get_str(o, "kms_pubkey", 1, &ks, "ledger entry", err) != SR_OK)
            goto fail;
        if (sr_hex_decode(ks, a->cfg.kms_pubkey, SR_GATE_KMS_KEY_MAX, &kl, err) != SR_OK)
            goto fail;
        a->cfg.kms_pubkey_len = kl;
        break;
    }
    case K_APPROVE:
    case K_REVOKE:
        if (sr_json_get_hex(o, "compose_hash", a->word, 32, "ledger entry", err) != SR_OK)
            goto fail;
        break;
    case K_FREEZE:
        if (sr_json_get_hex(o, "reason", a->word, 32, "ledger entry", err) != SR_OK)
            goto fail;
        break;
    default:
        if (parse_owners(o, &a->cfg, err) != SR_OK || get_u64(o, "threshold", SR_GATE_MAX_OWNERS, &v, err) != SR_OK)
            goto fail;
        a->cfg.threshold = (uint32_t)v;
        if (get_u64(o, "nonce", UINT64_MAX >> 1, &a->nonce, err) != SR_OK)
            goto fail;
        break;
    }
    {
        char *canon = action_payload(a);
        if (canon == NULL) {
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
            goto out;
        }
        if (strlen(canon) != plen || memcmp(canon, payload, plen) != 0)
            rc = sr_error_set(err, SR_EFORMAT, "payload is not in canonical form");
        free(canon);
    }
    goto out;
fail:
    rc = err && err->code ? err->code : SR_EFORMAT;
out:
    json_decref(o);
    return rc;
}

/* entry_hash = SHA-256(tag 0x00 || be64(seq) || kind 0x00 || payload 0x00
 *                      || signer(20) || sig(65) || prev_hash(32)) */
static void entry_hash(uint64_t seq, const char *kind, const char *payload, size_t plen,
                       const uint8_t signer[SR_ETH_ADDR_LEN], const uint8_t sig[SR_ETH_SIG_LEN], const uint8_t prev[32],
                       uint8_t out[32])
{
    static const uint8_t zero = 0;
    uint8_t be[8];
    sr_store_be64(be, seq);
    sr_sha256_ctx *c = sr_sha256_new();
    if (c == NULL) {
        memset(out, 0, 32);
        return;
    }
    sr_sha256_update(c, LEDGER_HASH_TAG, strlen(LEDGER_HASH_TAG));
    sr_sha256_update(c, &zero, 1);
    sr_sha256_update(c, be, 8);
    sr_sha256_update(c, kind, strlen(kind));
    sr_sha256_update(c, &zero, 1);
    sr_sha256_update(c, payload, plen);
    sr_sha256_update(c, &zero, 1);
    sr_sha256_update(c, signer, SR_ETH_ADDR_LEN);
    sr_sha256_update(c, sig, SR_ETH_SIG_LEN);
    sr_sha256_update(c, prev, 32);
    sr_sha256_final(c, out);
}

/* ---- SQLite ------------------------------------------------------------ */

static int db_error(sqlite3 *db, sr_error *err, const char *what)
{
    int busy = sqlite3_errcode(db) == SQLITE_BUSY || sqlite3_errcode(db) == SQLITE_LOCKED;
    return sr_error_set(err, busy ? SR_ESTATE : SR_EIO, "ledger: %s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, sr_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = sr_error_set(err, SR_EIO, "ledger: %s: %s", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return SR_OK;
}

static int data_version(sqlite3 *db, int64_t *out, sr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "data_version");
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_error(db, err, "data_version");
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return SR_OK;
}

static int col_hex(sqlite3_stmt *st, int col, uint8_t *out, size_t n, const char *what, uint64_t seq, sr_error *err)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (t == NULL || sr_hex_decode_exact((const char *)t, out, n, err) != SR_OK)
        return sr_error_set(err, SR_EVERIFY, "ledger entry %llu: bad %s", (unsigned long long)seq, what);
    return SR_OK;
}

typedef struct history {
    sr_gate_event *ev;
    size_t n, cap;
} history;

/* Called for each entry folded: the action, the signer's owner id before it
 * applied ("" if none) and whether an owner change applied. */
typedef int (*fold_cb)(void *ctx, uint64_t seq, const action *a, const char *signer_id, int applied, sr_error *err);

/* Folds every entry after s->seq into s, verifying the chain. */
static int fold_new_cb(sqlite3 *db, lstate *s, fold_cb cb, void *ctx, sr_error *err);
static int fold_new(sqlite3 *db, lstate *s, sr_error *err) { return fold_new_cb(db, s, NULL, NULL, err); }

static int fold_new_cb(sqlite3 *db, lstate *s, fold_cb cb, void *ctx, sr_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, kind, payload, signer, signature, prev_hash, entry_hash FROM entries "
                           "WHERE seq > ?1 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(db, err, "reading entries");
    sqlite3_bind_int64(st, 1, (sqlite3_int64)s->seq);
    int rc = SR_OK, step;
    action *a = malloc(sizeof *a);
    if (a == NULL) {
        sqlite3_finalize(st);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_int64 seq = sqlite3_column_int64(st, 0);
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        const char *payload = (const char *)sqlite3_column_text(st, 2);
        int plen = sqlite3_column_bytes(st, 2);
        uint8_t prev[32], stored[32], computed[32];
        if (seq < 1 || (uint64_t)seq != s->seq + 1) {
            rc = sr_error_set(err, SR_EVERIFY, "ledger: entry %lld follows %llu (gap or reordering)", (long long)seq,
                              (unsigned long long)s->seq);
            break;
        }
        if (kind == NULL || payload == NULL || plen < 0 || (size_t)plen > LEDGER_PAYLOAD_MAX ||
            strlen(payload) != (size_t)plen) {
            rc = sr_error_set(err, SR_EVERIFY, "ledger entry %lld: bad kind or payload", (long long)seq);
            break;
        }
        /* a is filled by action_parse; signer/sig from columns */
        if (action_parse(kind, payload, (size_t)plen, a, err) != SR_OK) {
            rc = sr_error_prefix(err, "ledger entry %lld", (long long)seq);
            if (err)
                err->code = SR_EVERIFY;
            rc = SR_EVERIFY;
            break;
        }
        if ((rc = col_hex(st, 3, a->signer, SR_ETH_ADDR_LEN, "signer", (uint64_t)seq, err)) != SR_OK ||
            (rc = col_hex(st, 4, a->sig, SR_ETH_SIG_LEN, "signature", (uint64_t)seq, err)) != SR_OK ||
            (rc = col_hex(st, 5, prev, 32, "prev_hash", (uint64_t)seq, err)) != SR_OK ||
            (rc = col_hex(st, 6, stored, 32, "entry_hash", (uint64_t)seq, err)) != SR_OK)
            break;
        if (memcmp(prev, s->head, 32) != 0) {
            rc = sr_error_set(err, SR_EVERIFY, "ledger entry %lld: prev_hash does not match entry %llu (chain broken)",
                              (long long)seq, (unsigned long long)s->seq);
            break;
        }
        entry_hash((uint64_t)seq, kind, payload, (size_t)plen, a->signer, a->sig, prev, computed);
        if (memcmp(computed, stored, 32) != 0) {
            rc = sr_error_set(err, SR_EVERIFY, "ledger entry %lld: entry hash mismatch (the entry was edited)",
                              (long long)seq);
            break;
        }
        int applied;
        char who[SR_GATE_ID_MAX + 1] = "";
        int oi = s->created ? sr_gate_owner_index_addr(&s->cfg, a->signer) : -1;
        if (oi >= 0)
            memcpy(who, s->cfg.owners[oi].id, sizeof who);
        if (state_apply(s, a, (uint64_t)seq, computed, &applied, err) != SR_OK) {
            sr_error_prefix(err, "ledger entry %lld invalid", (long long)seq);
            if (err)
                err->code = SR_EVERIFY;
            rc = SR_EVERIFY;
            break;
        }
        if (cb != NULL && (rc = cb(ctx, (uint64_t)seq, a, who, applied, err)) != SR_OK)
            break;
        if ((rc = grow((void **)&s->hashes, &s->caphash, (size_t)seq, sizeof *s->hashes, err)) != SR_OK)
            break;
        memcpy(s->hashes[seq - 1], computed, 32);
        s->seq = (uint64_t)seq;
        memcpy(s->head, computed, 32);
    }
    if (rc == SR_OK && step != SQLITE_DONE)
        rc = db_error(db, err, "reading entries");
    free(a);
    sqlite3_finalize(st);
    return rc;
}

/* Brings l->st up to date with the file. Must run inside a transaction.
 * If the last folded entry changed (history rewritten), folds from scratch. */
enum { REFRESH_INCREMENTAL = 0, REFRESH_FULL = 1, REFRESH_FULL_IF_CHANGED = 2 };

static int refresh(ledger *l, int mode, sr_error *err)
{
    int64_t dv = 0;
    if (data_version(l->db, &dv, err) != SR_OK)
        return err ? err->code : SR_EIO;
    if (mode != REFRESH_FULL && l->st.created && dv == l->data_version)
        return SR_OK;
    int full = mode != REFRESH_INCREMENTAL || !l->st.created;
    if (!full) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(l->db, "SELECT entry_hash FROM entries WHERE seq = ?1", -1, &st, NULL) != SQLITE_OK)
            return db_error(l->db, err, "reading head");
        sqlite3_bind_int64(st, 1, (sqlite3_int64)l->st.seq);
        uint8_t h[32];
        sr_error e2;
        if (sqlite3_step(st) != SQLITE_ROW || col_hex(st, 0, h, 32, "entry_hash", l->st.seq, &e2) != SR_OK ||
            memcmp(h, l->st.head, 32) != 0)
            full = 1;
        sqlite3_finalize(st);
    }
    if (full) {
        uint8_t app[SR_ETH_ADDR_LEN];
        int had = l->st.created;
        memcpy(app, l->st.dom.app, sizeof app);
        state_free(&l->st);
        if (fold_new(l->db, &l->st, err) != SR_OK) {
            state_free(&l->st);
            return err ? err->code : SR_EVERIFY;
        }
        if (!l->st.created) {
            state_free(&l->st);
            return sr_error_set(err, SR_EVERIFY, "ledger has no creation entry");
        }
        if (had && memcmp(app, l->st.dom.app, sizeof app) != 0) {
            state_free(&l->st);
            return sr_error_set(err, SR_EVERIFY, "ledger was replaced by another consortium's");
        }
    } else if (fold_new(l->db, &l->st, err) != SR_OK) {
        state_free(&l->st);
        return err ? err->code : SR_EVERIFY;
    }
    if (l->st.seq < l->max_seen) {
        uint64_t was = l->max_seen;
        state_free(&l->st);
        return sr_error_set(err, SR_EVERIFY, "ledger shrank from %llu to fewer entries (entries deleted)",
                            (unsigned long long)was);
    }
    l->max_seen = l->st.seq;
    l->data_version = dv;
    return SR_OK;
}

/* Read transaction around refresh. A read re-verifies the whole chain
 * whenever another connection committed since the last read (so a
 * long-lived handle, e.g. the KMS's, notices an edit anywhere in the file);
 * writes only check the last folded entry and fold the new ones. */
static int read_state(ledger *l, sr_error *err)
{
    if (exec(l->db, "BEGIN", err) != SR_OK)
        return err ? err->code : SR_EIO;
    int rc = refresh(l, REFRESH_FULL_IF_CHANGED, err);
    exec(l->db, "COMMIT", NULL);
    return rc;
}

static int db_open(const char *path, int create, sqlite3 **out, sr_error *err)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    *out = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = sr_error_set(err, create ? SR_EIO : SR_ENOTFOUND, "ledger %s: %s", path,
                              db ? sqlite3_errmsg(db) : "cannot open");
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, LEDGER_BUSY_MS);
    sqlite3_extended_result_codes(db, 0);
    if (exec(db, "PRAGMA journal_mode=WAL", err) != SR_OK || exec(db, "PRAGMA synchronous=FULL", err) != SR_OK ||
        exec(db, "PRAGMA foreign_keys=OFF", err) != SR_OK) {
        sqlite3_close(db);
        return sr_error_prefix(err, "ledger %s", path);
    }
    *out = db;
    return SR_OK;
}

/* ---- backend ops --------------------------------------------------------- */

static int ledger_write(sr_gate *g, action *a, int *applied, sr_error *err)
{
    ledger *l = g->impl;
    int dummy;
    if (applied == NULL)
        applied = &dummy;
    *applied = 0;
    if (exec(l->db, "BEGIN IMMEDIATE", err) != SR_OK)
        return sr_error_prefix(err, "ledger busy");
    /* a create entry goes into the fresh, empty table */
    int rc = a->kind == K_CREATE ? SR_OK : refresh(l, REFRESH_INCREMENTAL, err);
    if (rc != SR_OK)
        goto rollback;
    if (l->st.seq >= LEDGER_MAX_ENTRIES) {
        rc = sr_error_set(err, SR_ELIMIT, "ledger full");
        goto rollback;
    }
    char *payload = action_payload(a);
    if (payload == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto rollback;
    }
    uint64_t seq = l->st.seq + 1;
    if (grow((void **)&l->st.hashes, &l->st.caphash, (size_t)seq, sizeof *l->st.hashes, err) != SR_OK) {
        rc = SR_ENOMEM;
        free(payload);
        goto rollback;
    }
    const char *kind = kind_names[a->kind];
    uint8_t h[32];
    entry_hash(seq, kind, payload, strlen(payload), a->signer, a->sig, l->st.head, h);
    /* Validate against the state; on failure nothing changed. */
    rc = state_apply(&l->st, a, seq, h, applied, err);
    if (rc != SR_OK) {
        free(payload);
        goto rollback;
    }
    sqlite3_stmt *st;
    char signer[2 * SR_ETH_ADDR_LEN + 3] = "0x", sig[2 * SR_ETH_SIG_LEN + 3] = "0x", prev[65], eh[65];
    sr_hex_encode(a->signer, SR_ETH_ADDR_LEN, signer + 2);
    sr_hex_encode(a->sig, SR_ETH_SIG_LEN, sig + 2);
    sr_hex_encode(l->st.head, 32, prev);
    sr_hex_encode(h, 32, eh);
    if (sqlite3_prepare_v2(l->db,
                           "INSERT INTO entries(seq, kind, payload, signer, signature, prev_hash, entry_hash) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = db_error(l->db, err, "insert");
        free(payload);
        goto broken;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, payload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, signer, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, sig, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, prev, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, eh, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    free(payload);
    if (step != SQLITE_DONE) {
        rc = db_error(l->db, err, "insert");
        goto broken;
    }
    if (exec(l->db, "COMMIT", err) != SR_OK) {
        rc = err ? err->code : SR_EIO;
        goto broken;
    }
    l->st.seq = seq;
    memcpy(l->st.head, h, 32);
    memcpy(l->st.hashes[seq - 1], h, 32);
    l->max_seen = seq;
    /* our own commit does not change data_version for this connection */
    return SR_OK;
broken:
    /* state already holds the action: drop the cache, refold next time */
    state_free(&l->st);
    exec(l->db, "ROLLBACK", NULL);
    return rc;
rollback:
    exec(l->db, "ROLLBACK", NULL);
    return rc;
}

/* Approve, revoke and freeze carry one 32-byte word (compose hash or reason). */
static int write_word_action(sr_gate *g, int kind, const uint8_t word[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                             const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    action *a = calloc(1, sizeof *a);
    if (a == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    a->kind = kind;
    memcpy(a->word, word, 32);
    memcpy(a->signer, signer, SR_ETH_ADDR_LEN);
    memcpy(a->sig, sig, SR_ETH_SIG_LEN);
    int rc = ledger_write(g, a, NULL, err);
    free(a);
    return rc;
}

static int op_approve(sr_gate *g, const uint8_t h[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                      const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    return write_word_action(g, K_APPROVE, h, signer, sig, err);
}

static int op_revoke(sr_gate *g, const uint8_t h[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                     const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    return write_word_action(g, K_REVOKE, h, signer, sig, err);
}

static int op_freeze(sr_gate *g, const uint8_t reason[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                     const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err)
{
    return write_word_action(g, K_FREEZE, reason, signer, sig, err);
}

static int op_change_owners(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold, uint64_t nonce,
                            const uint8_t signer[SR_ETH_ADDR_LEN], const uint8_t sig[SR_ETH_SIG_LEN], int *applied,
                            sr_error *err)
{
    if (n == 0 || n > SR_GATE_MAX_OWNERS)
        return sr_error_set(err, SR_EINVAL, "an owner change needs 1..%d owners", SR_GATE_MAX_OWNERS);
    if (nonce > (UINT64_MAX >> 1))
        return sr_error_set(err, SR_EINVAL, "nonce out of range");
    action *a = calloc(1, sizeof *a);
    if (a == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    a->kind = K_OWNERS;
    memcpy(a->cfg.owners, owners, n * sizeof *owners);
    a->cfg.n_owners = n;
    a->cfg.threshold = threshold;
    a->nonce = nonce;
    memcpy(a->signer, signer, SR_ETH_ADDR_LEN);
    memcpy(a->sig, sig, SR_ETH_SIG_LEN);
    int rc = ledger_write(g, a, applied, err);
    free(a);
    return rc;
}

static int op_get_config(sr_gate *g, sr_gate_config *out, uint64_t *nonce, sr_error *err)
{
    ledger *l = g->impl;
    int rc = read_state(l, err);
    if (rc != SR_OK)
        return rc;
    *out = l->st.cfg;
    out->chain_id = l->st.dom.chain_id;
    *nonce = l->st.nonce;
    return SR_OK;
}

static int op_status(sr_gate *g, const uint8_t h[32], sr_gate_status *out, sr_error *err)
{
    ledger *l = g->impl;
    int rc = read_state(l, err);
    if (rc != SR_OK)
        return rc;
    const lstate *s = &l->st;
    out->domain = s->dom;
    out->config = s->cfg;
    out->config.chain_id = s->dom.chain_id;
    out->config_nonce = s->nonce;
    memcpy(out->compose_hash, h, 32);
    out->n_approved = 0;
    for (size_t i = 0; i < s->cfg.n_owners; i++) {
        const appr *p = find_approval(s, h, s->cfg.owners[i].addr);
        out->approved[i] = p != NULL;
        out->approved_pos[i] = p ? p->seq : 0;
        if (p)
            out->n_approved++;
    }
    const revk *r = find_revocation(s, h);
    if (r != NULL) {
        out->revoked = 1;
        memcpy(out->revoked_by, r->id, sizeof out->revoked_by);
        memcpy(out->revoked_by_addr, r->addr, SR_ETH_ADDR_LEN);
        out->revoked_pos = r->seq;
    }
    if (s->frozen) {
        out->frozen = 1;
        memcpy(out->frozen_by, s->frozen_id, sizeof out->frozen_by);
        memcpy(out->frozen_by_addr, s->frozen_addr, SR_ETH_ADDR_LEN);
        out->frozen_pos = s->frozen_seq;
        memcpy(out->frozen_reason, s->frozen_reason, 32);
    }
    out->snapshot = s->seq;
    memcpy(out->pos_unit, "seq", 4);
    out->has_snapshot_hash = 1;
    memcpy(out->snapshot_hash, s->head, 32);
    return SR_OK;
}

/* From the fold of the last read: no new read (see gate.h). */
static int op_entry_hash(sr_gate *g, uint64_t pos, uint8_t out[32], sr_error *err)
{
    const ledger *l = g->impl;
    if (pos == 0 || pos > l->st.seq || l->st.hashes == NULL)
        return sr_error_set(err, SR_ENOTFOUND, "ledger has no entry %llu (it ends at %llu)", (unsigned long long)pos,
                            (unsigned long long)l->st.seq);
    memcpy(out, l->st.hashes[pos - 1], 32);
    return SR_OK;
}

static int history_add(void *ctx, uint64_t seq, const action *a, const char *signer_id, int applied, sr_error *err)
{
    history *h = ctx;
    if (grow((void **)&h->ev, &h->cap, h->n + 1, sizeof *h->ev, err) != SR_OK)
        return SR_ENOMEM;
    sr_gate_event *e = &h->ev[h->n++];
    memset(e, 0, sizeof *e);
    e->pos = seq;
    snprintf(e->kind, sizeof e->kind, "%s", kind_names[a->kind]);
    memcpy(e->signer, a->signer, SR_ETH_ADDR_LEN);
    snprintf(e->signer_id, sizeof e->signer_id, "%s", signer_id);
    memcpy(e->word, a->word, 32);
    if (a->kind == K_CREATE || a->kind == K_OWNERS) {
        e->n_owners = a->cfg.n_owners;
        e->threshold = a->cfg.threshold;
    }
    e->nonce = a->nonce;
    e->applied = applied;
    return SR_OK;
}

int sr_gate_ledger_history(sr_gate *g, sr_gate_event **out, size_t *n, sr_error *err)
{
    ledger *l = g->impl;
    history h = {0};
    lstate tmp;
    memset(&tmp, 0, sizeof tmp);
    *out = NULL;
    *n = 0;
    if (exec(l->db, "BEGIN", err) != SR_OK)
        return err ? err->code : SR_EIO;
    int rc = fold_new_cb(l->db, &tmp, history_add, &h, err);
    exec(l->db, "COMMIT", NULL);
    if (rc == SR_OK && memcmp(tmp.dom.app, l->st.dom.app, SR_ETH_ADDR_LEN) != 0)
        rc = sr_error_set(err, SR_EVERIFY, "ledger was replaced by another consortium's");
    state_free(&tmp);
    if (rc != SR_OK) {
        free(h.ev);
        return rc;
    }
    *out = h.ev;
    *n = h.n;
    return SR_OK;
}

static void op_close(sr_gate *g)
{
    ledger *l = g->impl;
    if (l == NULL)
        return;
    state_free(&l->st);
    sqlite3_close(l->db);
    free(l);
    g->impl = NULL;
}

static const sr_gate_ops ledger_ops = {
    .name = "ledger",
    .approve = op_approve,
    .revoke = op_revoke,
    .freeze = op_freeze,
    .change_owners = op_change_owners,
    .get_config = op_get_config,
    .status = op_status,
    .entry_hash = op_entry_hash,
    .close = op_close,
};

int sr_gate_ledger_open(sr_gate *g, const char *path, sr_error *err)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sr_error_set(err, SR_ENOTFOUND, "ledger %s: %s", path, strerror(errno));
    ledger *l = calloc(1, sizeof *l);
    if (l == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    if (db_open(path, 0, &l->db, err) != SR_OK) {
        free(l);
        return err ? err->code : SR_EIO;
    }
    /* Full verification of the chain. */
    int rc = exec(l->db, "BEGIN", err);
    if (rc == SR_OK) {
        rc = refresh(l, REFRESH_FULL, err);
        exec(l->db, "COMMIT", NULL);
    }
    if (rc != SR_OK) {
        sr_error_prefix(err, "ledger %s", path);
        state_free(&l->st);
        sqlite3_close(l->db);
        free(l);
        return rc;
    }
    g->ops = &ledger_ops;
    g->impl = l;
    g->domain = l->st.dom;
    return SR_OK;
}

int sr_gate_ledger_create(const char *path, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                          uint8_t app_out[SR_ETH_ADDR_LEN], sr_error *err)
{
    if (sr_gate_config_validate(cfg, err) != SR_OK)
        return err ? err->code : SR_EINVAL;
    if (cfg->chain_id > (UINT64_MAX >> 1))
        return sr_error_set(err, SR_EINVAL, "chain id out of range");
    /* Claim the path: O_EXCL, so a concurrent create cannot share it and a
     * failure below only removes our own file. SQLite takes a 0-byte file
     * as an empty database. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0)
        return sr_error_set(err, errno == EEXIST ? SR_ESTATE : SR_EIO, "ledger %s: %s", path,
                            errno == EEXIST ? "already exists" : strerror(errno));
    close(fd);
    action *a = calloc(1, sizeof *a);
    if (a == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    a->kind = K_CREATE;
    a->cfg = *cfg;
    if (a->cfg.chain_id == 0)
        a->cfg.chain_id = SR_GATE_LEDGER_DEFAULT_CHAIN_ID;
    uint8_t digest[32];
    int rc = SR_OK;
    sqlite3 *db = NULL;
    if ((rc = sr_random(a->word, 32, err)) != SR_OK ||
        (rc = sr_eth_address_from_seckey(deployer_sk, a->signer, err)) != SR_OK)
        goto fail;
    create_digest(&a->cfg, a->word, digest);
    if ((rc = sr_secp_sign_recoverable(deployer_sk, digest, a->sig, err)) != SR_OK)
        goto fail;
    if ((rc = db_open(path, 1, &db, err)) != SR_OK)
        goto fail;
    rc = exec(db,
              "BEGIN IMMEDIATE;"
              "CREATE TABLE entries("
              " seq INTEGER PRIMARY KEY,"
              " kind TEXT NOT NULL,"
              " payload TEXT NOT NULL,"
              " signer TEXT NOT NULL,"
              " signature TEXT NOT NULL,"
              " prev_hash TEXT NOT NULL,"
              " entry_hash TEXT NOT NULL);",
              err);
    sr_gate g;
    memset(&g, 0, sizeof g);
    ledger *l = calloc(1, sizeof *l);
    if (rc == SR_OK && l == NULL)
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
    if (rc == SR_OK) {
        exec(db, "COMMIT", NULL);
        l->db = db;
        g.impl = l;
        g.ops = &ledger_ops;
        rc = ledger_write(&g, a, NULL, err);
    }
    if (rc == SR_OK)
        memcpy(app_out, l->st.dom.app, SR_ETH_ADDR_LEN);
    if (l != NULL) {
        state_free(&l->st);
        free(l);
    }
fail:
    if (db != NULL && rc != SR_OK)
        exec(db, "ROLLBACK", NULL);
    sqlite3_close(db);
    free(a);
    if (rc != SR_OK) {
        char side[4096];
        unlink(path);
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
        sr_error_prefix(err, "creating ledger %s", path);
    }
    return rc;
}

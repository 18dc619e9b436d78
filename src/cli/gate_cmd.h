/* sealroom CLI: helpers shared by the gate commands (consortium, approve,
 * revoke, freeze, status). Static inline so each command file stays
 * self-contained; the logic lives in the gate library. */
#ifndef SEALROOM_GATE_CMD_H
#define SEALROOM_GATE_CMD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/gate.h"
#include "sealroom/recipe.h"
#include "sealroom/secmem.h"

/* Matches "--name VALUE" or "--name=VALUE" at argv[*i]. Returns 1 and sets
 * *val (advancing *i), 0 if argv[*i] is another option, -1 if the value is
 * missing (a usage error was printed). */
static inline int gc_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        sr_cli_usage_error(cmd, "%s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

/* What an action or query is about: a compose hash, the ids of owners whose
 * datasets the recipe reads, and the app id the recipe names. */
typedef struct gc_target {
    uint8_t hash[32];
    char **required; /* malloc'd copies */
    size_t n_required;
    int has_app;
    uint8_t app[SR_ETH_ADDR_LEN];
} gc_target;

static inline void gc_target_free(gc_target *t)
{
    for (size_t i = 0; i < t->n_required; i++)
        free(t->required[i]);
    free(t->required);
    memset(t, 0, sizeof *t);
}

static inline int gc_add_required(gc_target *t, const char *id, size_t len, sr_error *err)
{
    char **nr = realloc(t->required, (t->n_required + 1) * sizeof *nr);
    if (nr == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    t->required = nr;
    nr[t->n_required] = strndup(id, len);
    if (nr[t->n_required] == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    t->n_required++;
    return SR_OK;
}

/* From --recipe FILE (validated recipe: hash, dataset owners, app id) or
 * --compose-hash HEX [--require ID,ID...]. */
static inline int gc_target_load(const char *recipe, const char *hash_hex, const char *require, gc_target *t,
                                 sr_error *err)
{
    memset(t, 0, sizeof *t);
    if (recipe != NULL) {
        sr_recipe *r;
        if (sr_recipe_load(recipe, &r, err) != SR_OK)
            return err->code;
        memcpy(t->hash, sr_recipe_compose_hash(r), 32);
        memcpy(t->app, sr_recipe_app_id(r), SR_ETH_ADDR_LEN);
        t->has_app = 1;
        for (size_t i = 0; i < sr_recipe_dataset_count(r); i++) {
            const char *o = sr_recipe_dataset_owner(r, i);
            if (gc_add_required(t, o, strlen(o), err) != SR_OK) {
                sr_recipe_free(r);
                gc_target_free(t);
                return err->code;
            }
        }
        sr_recipe_free(r);
    } else if (sr_hex_decode_exact(hash_hex, t->hash, 32, err) != SR_OK) {
        return sr_error_prefix(err, "--compose-hash");
    }
    if (require != NULL && require[0] != '\0') {
        const char *p = require;
        while (*p) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (l == 0 || l > SR_GATE_ID_MAX) {
                gc_target_free(t);
                return sr_error_set(err, SR_EINVAL, "--require: bad owner id list '%.80s'", require);
            }
            if (gc_add_required(t, p, l, err) != SR_OK) {
                gc_target_free(t);
                return err->code;
            }
            p += l;
            if (*p == ',')
                p++;
        }
    }
    return SR_OK;
}

/* Refuses a recipe bound to another app than the gate's. */
static inline int gc_target_check_app(const gc_target *t, const sr_gate *g, sr_error *err)
{
    sr_gate_domain d;
    sr_gate_get_domain(g, &d);
    if (t->has_app && memcmp(t->app, d.app, SR_ETH_ADDR_LEN) != 0) {
        char a[43], b[43];
        sr_eth_address_to_string(t->app, a);
        sr_eth_address_to_string(d.app, b);
        return sr_error_set(err, SR_EDENIED, "the recipe names app %s but this gate is app %s", a, b);
    }
    return SR_OK;
}

static inline int gc_open(const char *spec, const char *sender_key, sr_gate **g, sr_error *err)
{
    if (sr_gate_open(spec, g, err) != SR_OK)
        return err->code;
    if (sender_key != NULL) {
        uint8_t sk[SR_SECP_SECKEY_LEN];
        int rc = sr_keyfile_read(sender_key, sk, 0, err);
        if (rc == SR_OK)
            rc = sr_gate_set_sender(*g, sk, err);
        sr_memzero(sk, sizeof sk);
        if (rc != SR_OK) {
            sr_gate_close(*g);
            *g = NULL;
            return sr_error_prefix(err, "--sender-key %s", sender_key);
        }
    }
    return SR_OK;
}

/* --signature 0x.. (65 bytes) and --signer 0x.. (address). */
static inline int gc_sig(const char *sig_hex, const char *signer_hex, uint8_t sig[SR_ETH_SIG_LEN],
                         uint8_t signer[SR_ETH_ADDR_LEN], sr_error *err)
{
    if (sr_hex_decode_exact(sig_hex, sig, SR_ETH_SIG_LEN, err) != SR_OK)
        return sr_error_prefix(err, "--signature (65 bytes: r || s || v)");
    if (sr_eth_address_parse(signer_hex, signer, err) != SR_OK)
        return sr_error_prefix(err, "--signer");
    return SR_OK;
}

static inline void gc_print_sig(const uint8_t digest[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                                const uint8_t sig[SR_ETH_SIG_LEN], const sr_gate_domain *d)
{
    char a[43], s[2 * SR_ETH_SIG_LEN + 1], h[65], app[43];
    sr_eth_address_to_string(signer, a);
    sr_eth_address_to_string(d->app, app);
    sr_hex_encode(sig, SR_ETH_SIG_LEN, s);
    sr_hex_encode(digest, 32, h);
    printf("{\"signer\": \"%s\", \"signature\": \"0x%s\", \"digest\": \"0x%s\", \"chain_id\": %llu, \"app\": \"%s\"}\n",
           a, s, h, (unsigned long long)d->chain_id, app);
}

/* One-line summary after an action. */
static inline void gc_print_summary(const sr_gate_status *st)
{
    char h[65];
    sr_hex_encode(st->compose_hash, 32, h);
    printf("compose hash 0x%s: %s\n", h, st->reason);
}

/* The declared required owners as "id,id,..." (an address for one that is
 * no longer an owner). */
static inline void gc_declared_ids(const sr_gate_status *st, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t j = 0; j < st->n_declared && j < SR_GATE_MAX_OWNERS; j++) {
        char a[43];
        int oi = sr_gate_owner_index_addr(&st->config, st->declared[j]);
        if (oi < 0)
            sr_eth_address_to_string(st->declared[j], a);
        int w = snprintf(out + len, cap - len, "%s%s", j ? "," : "", oi >= 0 ? st->config.owners[oi].id : a);
        if (w < 0 || (size_t)w >= cap - len)
            return;
        len += (size_t)w;
    }
}

/* approve --recipe on an EVM gate: the required owners declared on chain
 * for the hash must be the owners whose datasets the recipe reads (else
 * refused before anything is signed). When none are declared and no owner
 * approved the hash yet, they are declared first (RequireOwners signed with
 * sk; sk NULL: check only). *declared is set to 1 when this call declared. */
static inline int gc_required_on_chain(sr_gate *g, const gc_target *t, const uint8_t *sk, int *declared,
                                       sr_error *err)
{
    *declared = 0;
    if (strcmp(sr_gate_backend(g), "evm") != 0)
        return SR_OK; /* the ledger has no declarations (it decides with the recipe) */
    sr_gate_status *st = calloc(1, sizeof *st);
    if (st == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = SR_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        rc = sr_gate_status_get(g, t->hash, NULL, 0, st, err);
        if (rc != SR_OK || !st->has_declared)
            break;
        uint8_t want[SR_GATE_MAX_OWNERS][SR_ETH_ADDR_LEN];
        size_t nw = 0;
        int unknown = 0;
        char rids[SR_GATE_REASON_MAX] = "";
        size_t rl = 0;
        for (size_t i = 0; i < t->n_required; i++) {
            int dup = 0;
            for (size_t j = 0; j < i; j++)
                dup |= strcmp(t->required[i], t->required[j]) == 0;
            if (dup)
                continue;
            int w = snprintf(rids + rl, sizeof rids - rl, "%s%.64s", rl ? "," : "", t->required[i]);
            if (w > 0 && (size_t)w < sizeof rids - rl)
                rl += (size_t)w;
            int oi = sr_gate_owner_index_id(&st->config, t->required[i]);
            if (oi < 0 || nw >= SR_GATE_MAX_OWNERS)
                unknown = 1;
            else
                memcpy(want[nw++], st->config.owners[oi].addr, SR_ETH_ADDR_LEN);
        }
        if (st->n_declared > 0) {
            int same = !unknown && nw == st->n_declared;
            for (size_t i = 0; same && i < nw; i++) {
                int found = 0;
                for (size_t j = 0; j < st->n_declared; j++)
                    found |= memcmp(want[i], st->declared[j], SR_ETH_ADDR_LEN) == 0;
                same = found;
            }
            if (!same) {
                char ids[SR_GATE_REASON_MAX];
                gc_declared_ids(st, ids, sizeof ids);
                rc = sr_error_set(err, SR_ESTATE,
                                  "the gate requires owners [%s] for this compose hash but the recipe reads datasets "
                                  "of [%s]; not approving",
                                  ids, rids);
            }
            break;
        }
        if (st->n_approved > 0 || nw == 0 || unknown || sk == NULL)
            break;
        rc = sr_gate_require_owners(g, t->hash, (const uint8_t(*)[SR_ETH_ADDR_LEN])want, nw, sk, err);
        if (rc == SR_OK) {
            *declared = 1;
            break;
        }
        if (rc != SR_ESTATE || attempt > 0) {
            sr_error_prefix(err, "declaring the required owners [%s]", rids);
            break;
        }
        /* someone declared or approved meanwhile: read again */
        sr_error_clear(err);
        rc = SR_OK;
    }
    free(st);
    return rc;
}

static inline void gc_print_status(const sr_gate_status *st, const char *backend)
{
    char app[43], h[65];
    const sr_gate_config *c = &st->config;
    sr_eth_address_to_string(st->domain.app, app);
    sr_hex_encode(st->compose_hash, 32, h);
    printf("consortium:   %s (%s, app %s, chain id %llu)\n", c->name, backend, app,
           (unsigned long long)st->domain.chain_id);
    printf("compose hash: 0x%s\n", h);
    printf("threshold:    %u of %zu owners; %zu approved\n", c->threshold, c->n_owners, st->n_approved);
    printf("owners:\n");
    for (size_t i = 0; i < c->n_owners; i++) {
        char a[43];
        sr_eth_address_to_string(c->owners[i].addr, a);
        printf("  %-20s %s %-8s %-16s ", c->owners[i].id, a, c->owners[i].jurisdiction[0] ? c->owners[i].jurisdiction : "-",
               c->owners[i].grades[0] ? c->owners[i].grades : "-");
        if (st->approved[i])
            printf("approved at %s %llu\n", st->pos_unit, (unsigned long long)st->approved_pos[i]);
        else
            printf("not approved\n");
    }
    if (st->revoked)
        printf("revoked:      by %s at %s %llu\n", st->revoked_by, st->pos_unit, (unsigned long long)st->revoked_pos);
    else
        printf("revoked:      no\n");
    if (st->frozen)
        printf("frozen:       by %s at %s %llu\n", st->frozen_by, st->pos_unit, (unsigned long long)st->frozen_pos);
    else
        printf("frozen:       no\n");
    printf("snapshot:     %s %llu\n", st->pos_unit, (unsigned long long)st->snapshot);
    if (st->has_snapshot_hash) {
        char hh[65];
        sr_hex_encode(st->snapshot_hash, 32, hh);
        printf("ledger head:  seq %llu, entry hash 0x%s\n", (unsigned long long)st->snapshot, hh);
    }
    if (st->has_declared) {
        char ids[SR_GATE_REASON_MAX];
        gc_declared_ids(st, ids, sizeof ids);
        if (st->n_declared > 0)
            printf("required:     %s (declared on chain)\n", ids);
        else
            printf("required:     none declared on chain\n");
    }
    printf("allowed:      %s\n", st->allowed ? "yes" : "no");
    printf("reason:       %s\n", st->reason);
}

/* approve / revoke: the same options, a different action. */
static inline void gc_hash_action_usage(const char *word, const char *what)
{
    printf("Usage: sealroom %s --gate SPEC (--recipe FILE | --compose-hash HEX)\n"
           "       %*s (--key OWNER.key [--sign-only] | --signature 0xSIG --signer 0xADDRESS)\n"
           "       %*s [--sender-key KEY] [--require ID,...] [--json]\n"
           "\n"
           "%s\n"
           "The action is an EIP-712 signature (domain \"sealroom\" version \"1\", the gate's chain id,\n"
           "verifyingContract = the app address; type %s(bytes32 composeHash)); see docs/GATE.md.\n"
           "\n"
           "Options:\n"
           "  --gate SPEC          ledger:PATH or evm:RPC_URL@0xADDRESS\n"
           "  --recipe FILE        the recipe (compose hash = SHA-256 of its bytes; its app id must be the gate's)\n"
           "  --compose-hash HEX   the compose hash itself (32 bytes)\n"
           "  --key FILE           the owner's secp256k1 key file: sign here and submit\n"
           "  --sign-only          with --key: print {signer, signature, digest} as JSON, submit nothing\n"
           "  --signature 0xSIG    submit a signature made elsewhere (wallet, ethers signTypedData) ...\n"
           "  --signer 0xADDRESS   ... by this owner address\n"
           "  --sender-key FILE    evm: key that sends the transaction (default: --key)\n"
           "  --require ID,...     owners whose datasets the recipe reads (with --compose-hash; for the summary)\n"

           "  --json               print the resulting status as JSON (as `sealroom status --json`)\n"
           "  -h, --help           show this help\n"           "\n"
           "approve --recipe on an evm: gate: if nobody approved the hash yet and no required owners are\n"
           "declared for it, first declares the recipe's dataset owners on chain (RequireOwners, signed with\n"
           "--key), so the contract's isAppAllowed requires their approvals too; if a declared set differs\n"
           "from the recipe's, refuses before signing. --compose-hash never declares.\n"
           "\n"
           "Exit status: 0 done, 1 refused or failed, 2 usage error.\n",
           word, (int)strlen(word), "", (int)strlen(word), "", what, word[0] == 'a' ? "Approve" : "Revoke");
}

static inline int gc_hash_action(int argc, char **argv, int revoke)
{
    const char *cmd = revoke ? "revoke" : "approve";
    const char *gate = NULL, *recipe = NULL, *hash_hex = NULL, *key = NULL, *sig_hex = NULL, *signer_hex = NULL,
               *sender = NULL, *require = NULL;
    int sign_only = 0, json = 0, declared = 0;
    if (sr_cli_wants_help(argc, argv)) {
        gc_hash_action_usage(cmd, revoke ? "Revokes a compose hash for everyone, at once and for good (any single owner)."
                                         : "Records an owner's approval of a compose hash.");
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = gc_opt(cmd, argc, argv, &i, "--gate", &gate)) || (r = gc_opt(cmd, argc, argv, &i, "--recipe", &recipe)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--compose-hash", &hash_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--key", &key)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--signature", &sig_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--signer", &signer_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--sender-key", &sender)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--require", &require))) {
            if (r < 0)
                return SR_EXIT_USAGE;
        } else if (strcmp(argv[i], "--sign-only") == 0) {
            sign_only = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (gate == NULL)
        return sr_cli_usage_error(cmd, "--gate SPEC is required");
    if ((recipe == NULL) == (hash_hex == NULL))
        return sr_cli_usage_error(cmd, "give exactly one of --recipe FILE and --compose-hash HEX");
    if ((key == NULL) == (sig_hex == NULL))
        return sr_cli_usage_error(cmd, "give exactly one of --key FILE and --signature 0xSIG");
    if (sig_hex != NULL && signer_hex == NULL)
        return sr_cli_usage_error(cmd, "--signature needs --signer 0xADDRESS");
    if (sign_only && key == NULL)
        return sr_cli_usage_error(cmd, "--sign-only needs --key");

    sr_error err;
    sr_error_clear(&err);
    gc_target t;
    sr_gate *g = NULL;
    sr_gate_status *st = calloc(1, sizeof *st);
    uint8_t sk[SR_SECP_SECKEY_LEN], who[SR_ETH_ADDR_LEN] = {0};
    int rc = st ? SR_OK : sr_error_set(&err, SR_ENOMEM, "out of memory");
    if (rc == SR_OK)
        rc = gc_target_load(recipe, hash_hex, require, &t, &err);
    if (rc != SR_OK) {
        free(st);
        return sr_cli_fail(cmd, &err);
    }
    rc = gc_open(gate, sender, &g, &err);
    if (rc == SR_OK)
        rc = gc_target_check_app(&t, g, &err);
    if (rc == SR_OK && key != NULL) {
        rc = sr_keyfile_read(key, sk, 0, &err);
        if (rc == SR_OK && sign_only) {
            sr_gate_domain d;
            uint8_t digest[32], sig[SR_ETH_SIG_LEN], signer[SR_ETH_ADDR_LEN];
            sr_gate_get_domain(g, &d);
            if (revoke)
                sr_gate_revoke_digest(&d, t.hash, digest);
            else
                sr_gate_approve_digest(&d, t.hash, digest);
            rc = sr_gate_sign_digest(digest, sk, sig, &err);
            if (rc == SR_OK)
                rc = sr_eth_address_from_seckey(sk, signer, &err);
            if (rc == SR_OK)
                gc_print_sig(digest, signer, sig, &d);
        } else if (rc == SR_OK) {
            rc = sr_eth_address_from_seckey(sk, who, &err);
            if (rc == SR_OK && !revoke && recipe != NULL)
                rc = gc_required_on_chain(g, &t, sk, &declared, &err);
            if (rc == SR_OK)
                rc = revoke ? sr_gate_revoke(g, t.hash, sk, &err) : sr_gate_approve(g, t.hash, sk, &err);
        }
        sr_memzero(sk, sizeof sk);
    } else if (rc == SR_OK) {
        uint8_t sig[SR_ETH_SIG_LEN], signer[SR_ETH_ADDR_LEN];
        rc = gc_sig(sig_hex, signer_hex, sig, signer, &err);
        if (rc == SR_OK && !revoke && recipe != NULL)
            rc = gc_required_on_chain(g, &t, NULL, &declared, &err);
        if (rc == SR_OK)
            rc = revoke ? sr_gate_revoke_sig(g, t.hash, signer, sig, &err)
                        : sr_gate_approve_sig(g, t.hash, signer, sig, &err);
        memcpy(who, signer, SR_ETH_ADDR_LEN);
    }
    if (rc == SR_OK && !sign_only) {
        rc = sr_gate_status_get(g, t.hash, (const char *const *)t.required, t.n_required, st, &err);
        if (rc == SR_OK) {
            if (json) {
                char *js = sr_gate_status_json(st, sr_gate_backend(g));
                if (js != NULL)
                    printf("%s\n", js);
                free(js);
            } else {
                if (declared) {
                    char ids[SR_GATE_REASON_MAX];
                    gc_declared_ids(st, ids, sizeof ids);
                    printf("required owners declared on chain: %s\n", ids);
                }
                int oi = sr_gate_owner_index_addr(&st->config, who);
                uint64_t pos = revoke ? st->revoked_pos : oi >= 0 ? st->approved_pos[oi] : st->snapshot;
                printf("%s by %s recorded at %s %llu\n", revoke ? "revocation" : "approval",
                       oi >= 0 ? st->config.owners[oi].id : "?", st->pos_unit, (unsigned long long)pos);
                gc_print_summary(st);
            }
        }
    }
    sr_gate_close(g);
    gc_target_free(&t);
    free(st);
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail(cmd, &err);
}

#endif

/* sealroom consortium: create, inspect, list and re-shape consortia on a gate. */
#include <errno.h>

#include "gate_cmd.h"

const char sr_cmd_consortium_summary[] = "create a consortium on a gate, show it, list consortia by criteria, change owners";

static void usage(FILE *f)
{
    fprintf(f, "Usage: sealroom consortium create --name NAME --owner ID=0xADDRESS[:JURISDICTION[:GRADES]]...\n"
           "                                  --threshold K --kms-pubkey HEX|FILE --gate SPEC --key DEPLOYER.key\n"
           "                                  [--chain-id N] [--json]\n"
           "       sealroom consortium info --gate SPEC [--json]\n"
           "       sealroom consortium list --gate SPEC... [--criteria C,C,...] [--json]\n"
           "       sealroom consortium log --gate SPEC [--json]\n"
           "       sealroom consortium change-owners --gate SPEC --owner ...  --threshold K\n"
           "                                  (--key OWNER.key [--sign-only] | --signature 0xSIG --signer 0xADDRESS)\n"
           "                                  [--nonce N] [--sender-key KEY]\n"
           "\n"
           "create   makes a consortium: a new ledger file (ledger:PATH, must not exist) or a deployed\n"
           "         ConsortiumApp contract (evm:RPC_URL). Prints the app id / contract address\n"
           "         (0x + 40 hex). GRADES is a comma-separated list such as HIPAA,GDPR. The KMS\n"
           "         root public key is a secp256k1 key (33 or 65 bytes in hex, or a file holding\n"
           "         the hex), stored compressed.\n"
           "         --chain-id (ledger only) sets the EIP-712 chain id (default 24225).\n"
           "info     prints the consortium: app, chain id, owners, threshold, KMS root key, nonce.\n"
           "list     one row per gate, with match / partial / miss for each criterion:\n"
           "           owners>=N           match if n >= N; partial if n >= 2 and 2n >= N\n"
           "           multi-jurisdiction  match if >= 2 distinct jurisdictions; partial if fewer\n"
           "                               but some owner's jurisdiction is unknown\n"
           "           G1|G2               match if every owner has one of these grades; partial if some\n"
           "log      the verified history of a ledger gate: every entry with its position, kind, signer\n"
           "         (owner id at the time) and subject (compose hash, freeze reason, owner change).\n"
           "change-owners  one owner's vote (EIP-712 ChangeOwners) for a new owner list and threshold;\n"
           "         applied once k current owners voted for the identical proposal. --nonce defaults\n"
           "         to the gate's current nonce.\n"
           "\n"
           "Exit status: 0 ok, 1 failure (list: some gate could not be read), 2 usage error.\n");
}

/* Options shared by the sub-commands. */
typedef struct opts {
    const char *name, *threshold, *kms, *key, *chain_id, *criteria, *sig, *signer, *nonce, *sender;
    const char *gates[64];
    size_t ngates;
    const char *owners[SR_GATE_MAX_OWNERS + 1];
    size_t nowners;
    int json, sign_only;
} opts;

static int parse_opts(const char *cmd, int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        int r;
        const char *v = NULL;
        if ((r = gc_opt(cmd, argc, argv, &i, "--gate", &v)) != 0) {
            if (r < 0)
                return -1;
            if (o->ngates >= sizeof o->gates / sizeof o->gates[0]) {
                sr_cli_usage_error(cmd, "too many --gate options");
                return -1;
            }
            o->gates[o->ngates++] = v;
        } else if ((r = gc_opt(cmd, argc, argv, &i, "--owner", &v)) != 0) {
            if (r < 0)
                return -1;
            if (o->nowners >= SR_GATE_MAX_OWNERS) {
                sr_cli_usage_error(cmd, "more than %d --owner options", SR_GATE_MAX_OWNERS);
                return -1;
            }
            o->owners[o->nowners++] = v;
        } else if ((r = gc_opt(cmd, argc, argv, &i, "--name", &o->name)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--threshold", &o->threshold)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--kms-pubkey", &o->kms)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--key", &o->key)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--chain-id", &o->chain_id)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--criteria", &o->criteria)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--signature", &o->sig)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--signer", &o->signer)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--nonce", &o->nonce)) ||
                   (r = gc_opt(cmd, argc, argv, &i, "--sender-key", &o->sender))) {
            if (r < 0)
                return -1;
        } else if (strcmp(argv[i], "--json") == 0) {
            o->json = 1;
        } else if (strcmp(argv[i], "--sign-only") == 0) {
            o->sign_only = 1;
        } else {
            sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
            return -1;
        }
    }
    return 0;
}

static int one_gate(const char *cmd, const opts *o)
{
    if (o->ngates != 1) {
        sr_cli_usage_error(cmd, "exactly one --gate SPEC is required");
        return -1;
    }
    return 0;
}

static int parse_owners(const char *cmd, const opts *o, sr_gate_owner *out, size_t *n, uint32_t *threshold)
{
    sr_error err;
    unsigned long long k;
    if (o->nowners == 0) {
        sr_cli_usage_error(cmd, "at least one --owner ID=0xADDRESS is required");
        return SR_EXIT_USAGE;
    }
    if (o->threshold == NULL) {
        sr_cli_usage_error(cmd, "--threshold K is required");
        return SR_EXIT_USAGE;
    }
    if (sr_cli_parse_u64(cmd, "--threshold", o->threshold, &k) != 0)
        return SR_EXIT_USAGE;
    if (k < 1 || k > o->nowners) {
        sr_cli_usage_error(cmd, "--threshold %llu must be between 1 and the number of owners (%zu)", k, o->nowners);
        return SR_EXIT_USAGE;
    }
    *threshold = (uint32_t)k;
    for (size_t i = 0; i < o->nowners; i++) {
        sr_error_clear(&err);
        if (sr_gate_owner_parse(o->owners[i], &out[i], &err) != SR_OK) {
            sr_cli_usage_error(cmd, "--owner: %s", err.msg);
            return SR_EXIT_USAGE;
        }
    }
    *n = o->nowners;
    return 0;
}

/* --kms-pubkey HEX|FILE: a secp256k1 public key (33 or 65 bytes, hex, or a
 * file holding the hex), stored compressed. */
static int read_kms_pubkey(const char *arg, uint8_t out[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    char text[300];
    const char *hex = arg;
    FILE *f = fopen(arg, "r");
    if (f != NULL) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[n] = '\0';
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' ' || text[n - 1] == '\t'))
            text[--n] = '\0';
        hex = text;
    }
    uint8_t raw[SR_SECP_PUBKEY_FULL_LEN];
    size_t len;
    if (sr_hex_decode(hex, raw, sizeof raw, &len, err) != SR_OK)
        return sr_error_prefix(err, "expected 66 (or 130) hex digits or a file holding them");
    if (len != SR_SECP_PUBKEY_LEN && len != SR_SECP_PUBKEY_FULL_LEN)
        return sr_error_set(err, SR_EINVAL, "a secp256k1 public key is 33 or 65 bytes, not %zu", len);
    if (sr_secp_pubkey_normalize(raw, len, out, err) != SR_OK)
        return sr_error_prefix(err, "not a secp256k1 public key");
    return SR_OK;
}

static int cmd_create(int argc, char **argv)
{
    const char *cmd = "consortium create";
    opts o;
    if (parse_opts(cmd, argc, argv, &o) != 0 || one_gate(cmd, &o) != 0)
        return SR_EXIT_USAGE;
    if (o.name == NULL)
        return sr_cli_usage_error(cmd, "--name NAME is required");
    if (o.kms == NULL)
        return sr_cli_usage_error(cmd, "--kms-pubkey HEX is required");
    if (o.key == NULL)
        return sr_cli_usage_error(cmd, "--key DEPLOYER.key is required");
    sr_gate_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return SR_EXIT_FAIL;
    int rc = parse_owners(cmd, &o, cfg->owners, &cfg->n_owners, &cfg->threshold);
    if (rc != 0) {
        free(cfg);
        return rc;
    }
    if (strlen(o.name) > SR_GATE_NAME_MAX) {
        free(cfg);
        return sr_cli_usage_error(cmd, "--name longer than %d characters", SR_GATE_NAME_MAX);
    }
    memcpy(cfg->name, o.name, strlen(o.name) + 1);
    if (o.chain_id != NULL) {
        unsigned long long c;
        if (sr_cli_parse_u64(cmd, "--chain-id", o.chain_id, &c) != 0 || c == 0) {
            free(cfg);
            return c == 0 && o.chain_id ? sr_cli_usage_error(cmd, "--chain-id must not be 0") : SR_EXIT_USAGE;
        }
        cfg->chain_id = c;
    }
    sr_error err;
    sr_error_clear(&err);
    if (read_kms_pubkey(o.kms, cfg->kms_pubkey, &err) != SR_OK) {
        free(cfg);
        return sr_cli_usage_error(cmd, "--kms-pubkey: %s", err.msg);
    }
    cfg->kms_pubkey_len = SR_SECP_PUBKEY_LEN;
    uint8_t sk[SR_SECP_SECKEY_LEN], app[SR_ETH_ADDR_LEN];
    char spec[SR_GATE_SPEC_MAX + 64];
    rc = sr_keyfile_read(o.key, sk, 0, &err);
    if (rc == SR_OK)
        rc = sr_gate_create(o.gates[0], cfg, sk, app, spec, sizeof spec, &err);
    sr_memzero(sk, sizeof sk);
    free(cfg);
    if (rc != SR_OK)
        return sr_cli_fail(cmd, &err);
    char a[43];
    sr_eth_address_to_string(app, a);
    if (o.json) {
        json_t *j = json_pack("{s:s, s:s}", "app", a, "gate", spec);
        char *s = j ? json_dumps(j, JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(j);
    } else {
        printf("%s\n", a);
    }
    return SR_EXIT_OK;
}

static json_t *config_json(const sr_gate *g, const sr_gate_config *c, uint64_t nonce)
{
    sr_gate_domain d;
    char a[43];
    sr_gate_get_domain(g, &d);
    sr_eth_address_to_string(d.app, a);
    json_t *o = json_object();
    json_t *owners = json_array();
    for (size_t i = 0; i < c->n_owners; i++) {
        char oa[43];
        sr_eth_address_to_string(c->owners[i].addr, oa);
        json_array_append_new(owners, json_pack("{s:s, s:s, s:s, s:s}", "id", c->owners[i].id, "address", oa,
                                                "jurisdiction", c->owners[i].jurisdiction, "grades",
                                                c->owners[i].grades));
    }
    char kms[2 * SR_GATE_KMS_KEY_MAX + 3] = "0x";
    sr_hex_encode(c->kms_pubkey, c->kms_pubkey_len, kms + 2);
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "backend", json_string(sr_gate_backend(g)));
    json_object_set_new(o, "app", json_string(a));
    json_object_set_new(o, "chain_id", json_integer((json_int_t)d.chain_id));
    json_object_set_new(o, "threshold", json_integer(c->threshold));
    json_object_set_new(o, "n_owners", json_integer((json_int_t)c->n_owners));
    json_object_set_new(o, "owners", owners);
    json_object_set_new(o, "kms_pubkey", json_string(kms));
    json_object_set_new(o, "config_nonce", json_integer((json_int_t)nonce));
    return o;
}

static int cmd_info(int argc, char **argv)
{
    const char *cmd = "consortium info";
    opts o;
    if (parse_opts(cmd, argc, argv, &o) != 0 || one_gate(cmd, &o) != 0)
        return SR_EXIT_USAGE;
    sr_error err;
    sr_error_clear(&err);
    sr_gate *g;
    sr_gate_config *c = calloc(1, sizeof *c);
    uint64_t nonce = 0;
    if (c == NULL)
        return SR_EXIT_FAIL;
    if (sr_gate_open(o.gates[0], &g, &err) != SR_OK) {
        free(c);
        return sr_cli_fail(cmd, &err);
    }
    int rc = sr_gate_get_config(g, c, &nonce, &err);
    if (rc == SR_OK) {
        json_t *j = config_json(g, c, nonce);
        if (o.json) {
            char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("%s\n", s ? s : "{}");
            free(s);
        } else {
            printf("name:        %s\nbackend:     %s\napp:         %s\nchain id:    %lld\nthreshold:   %u of %zu\n"
                   "kms root:    %s\nnonce:       %llu\nowners:\n",
                   c->name, sr_gate_backend(g), json_string_value(json_object_get(j, "app")),
                   (long long)json_integer_value(json_object_get(j, "chain_id")), c->threshold, c->n_owners,
                   json_string_value(json_object_get(j, "kms_pubkey")), (unsigned long long)nonce);
            for (size_t i = 0; i < c->n_owners; i++) {
                char oa[43];
                sr_eth_address_to_string(c->owners[i].addr, oa);
                printf("  %-20s %s %-8s %s\n", c->owners[i].id, oa,
                       c->owners[i].jurisdiction[0] ? c->owners[i].jurisdiction : "-",
                       c->owners[i].grades[0] ? c->owners[i].grades : "-");
            }
        }
        json_decref(j);
    }
    sr_gate_close(g);
    free(c);
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail(cmd, &err);
}

static int cmd_list(int argc, char **argv)
{
    const char *cmd = "consortium list";
    opts o;
    if (parse_opts(cmd, argc, argv, &o) != 0)
        return SR_EXIT_USAGE;
    if (o.ngates == 0)
        return sr_cli_usage_error(cmd, "at least one --gate SPEC is required");
    sr_gate_config *c = calloc(1, sizeof *c);
    sr_gate_criterion *crit = calloc(SR_GATE_MAX_CRITERIA, sizeof *crit);
    if (c == NULL || crit == NULL) {
        free(c);
        free(crit);
        return SR_EXIT_FAIL;
    }
    int failed = 0;
    json_t *rows = json_array();
    if (!o.json) {
        printf("%-24s %-42s %-7s %-5s", "CONSORTIUM", "APP", "BACKEND", "K/N");
        if (o.criteria)
            printf("  CRITERIA");
        printf("\n");
    }
    for (size_t gi = 0; gi < o.ngates; gi++) {
        sr_error err;
        sr_error_clear(&err);
        sr_gate *g = NULL;
        uint64_t nonce;
        size_t nc = 0;
        int rc = sr_gate_open(o.gates[gi], &g, &err);
        if (rc == SR_OK)
            rc = sr_gate_get_config(g, c, &nonce, &err);
        if (rc == SR_OK && o.criteria != NULL) {
            rc = sr_gate_criteria_eval(c, o.criteria, crit, SR_GATE_MAX_CRITERIA, &nc, &err);
            if (rc == SR_EINVAL || rc == SR_ELIMIT) {
                sr_gate_close(g);
                json_decref(rows);
                free(c);
                free(crit);
                return sr_cli_usage_error(cmd, "--criteria: %s", err.msg);
            }
        }
        if (rc != SR_OK) {
            failed = 1;
            fprintf(stderr, "sealroom %s: %s: %s\n", cmd, o.gates[gi], err.msg);
            if (o.json)
                json_array_append_new(rows, json_pack("{s:s, s:s}", "gate", o.gates[gi], "error", err.msg));
            sr_gate_close(g);
            continue;
        }
        json_t *row = config_json(g, c, nonce);
        json_object_set_new(row, "gate", json_string(o.gates[gi]));
        json_t *cj = json_array();
        for (size_t i = 0; i < nc; i++)
            json_array_append_new(cj, json_pack("{s:s, s:s, s:s}", "criterion", crit[i].text, "result",
                                                sr_gate_match_name(crit[i].result), "detail", crit[i].detail));
        json_object_set_new(row, "criteria", cj);
        if (!o.json) {
            char kn[16];
            snprintf(kn, sizeof kn, "%u/%zu", c->threshold, c->n_owners);
            printf("%-24s %-42s %-7s %-5s", c->name, json_string_value(json_object_get(row, "app")), sr_gate_backend(g),
                   kn);
            for (size_t i = 0; i < nc; i++)
                printf("  %s: %s (%s)", crit[i].text, sr_gate_match_name(crit[i].result), crit[i].detail);
            printf("\n");
        }
        json_array_append_new(rows, row);
        sr_gate_close(g);
    }
    if (o.json) {
        char *s = json_dumps(rows, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", s ? s : "[]");
        free(s);
    }
    json_decref(rows);
    free(c);
    free(crit);
    return failed ? SR_EXIT_FAIL : SR_EXIT_OK;
}

static int cmd_log(int argc, char **argv)
{
    const char *cmd = "consortium log";
    opts o;
    if (parse_opts(cmd, argc, argv, &o) != 0 || one_gate(cmd, &o) != 0)
        return SR_EXIT_USAGE;
    sr_error err;
    sr_error_clear(&err);
    sr_gate *g;
    sr_gate_event *ev = NULL;
    size_t n = 0;
    if (sr_gate_open(o.gates[0], &g, &err) != SR_OK)
        return sr_cli_fail(cmd, &err);
    int rc = sr_gate_history(g, &ev, &n, &err);
    sr_gate_close(g);
    if (rc != SR_OK)
        return sr_cli_fail(cmd, &err);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const sr_gate_event *e = &ev[i];
        char a[43], w[67] = "0x";
        sr_eth_address_to_string(e->signer, a);
        sr_hex_encode(e->word, 32, w + 2);
        json_t *j = json_pack("{s:I, s:s, s:s, s:s}", "pos", (json_int_t)e->pos, "kind", e->kind, "signer", a,
                              "signer_id", e->signer_id);
        if (strcmp(e->kind, "approve") == 0 || strcmp(e->kind, "revoke") == 0)
            json_object_set_new(j, "compose_hash", json_string(w));
        else if (strcmp(e->kind, "freeze") == 0)
            json_object_set_new(j, "reason", json_string(w));
        else {
            json_object_set_new(j, "n_owners", json_integer((json_int_t)e->n_owners));
            json_object_set_new(j, "threshold", json_integer(e->threshold));
            if (strcmp(e->kind, "owners") == 0) {
                json_object_set_new(j, "nonce", json_integer((json_int_t)e->nonce));
                json_object_set_new(j, "applied", json_boolean(e->applied));
            }
        }
        json_array_append_new(arr, j);
        if (!o.json) {
            printf("seq %-6llu %-8s %-20s %s", (unsigned long long)e->pos, e->kind,
                   e->signer_id[0] ? e->signer_id : "(deployer)", a);
            if (strcmp(e->kind, "approve") == 0 || strcmp(e->kind, "revoke") == 0 || strcmp(e->kind, "freeze") == 0)
                printf(" %s", w);
            else if (strcmp(e->kind, "create") == 0)
                printf(" %zu owners, k=%u", e->n_owners, e->threshold);
            else
                printf(" vote: %zu owners, k=%u, nonce %llu%s", e->n_owners, e->threshold,
                       (unsigned long long)e->nonce, e->applied ? " (applied)" : "");
            printf("\n");
        }
    }
    if (o.json) {
        char *js = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", js ? js : "[]");
        free(js);
    }
    json_decref(arr);
    free(ev);
    return SR_EXIT_OK;
}

static int cmd_change_owners(int argc, char **argv)
{
    const char *cmd = "consortium change-owners";
    opts o;
    if (parse_opts(cmd, argc, argv, &o) != 0 || one_gate(cmd, &o) != 0)
        return SR_EXIT_USAGE;
    if ((o.key == NULL) == (o.sig == NULL))
        return sr_cli_usage_error(cmd, "give exactly one of --key FILE and --signature 0xSIG");
    if (o.sig != NULL && o.signer == NULL)
        return sr_cli_usage_error(cmd, "--signature needs --signer 0xADDRESS");
    if (o.sign_only && o.key == NULL)
        return sr_cli_usage_error(cmd, "--sign-only needs --key");
    sr_gate_owner *owners = calloc(SR_GATE_MAX_OWNERS, sizeof *owners);
    sr_gate_config *cur = calloc(1, sizeof *cur);
    size_t n = 0;
    uint32_t k = 0;
    if (owners == NULL || cur == NULL) {
        free(owners);
        free(cur);
        return SR_EXIT_FAIL;
    }
    int rc = parse_owners(cmd, &o, owners, &n, &k);
    unsigned long long nonce = 0;
    if (rc == 0 && o.nonce != NULL && sr_cli_parse_u64(cmd, "--nonce", o.nonce, &nonce) != 0)
        rc = SR_EXIT_USAGE;
    if (rc != 0) {
        free(owners);
        free(cur);
        return rc;
    }
    sr_error err;
    sr_error_clear(&err);
    sr_gate *g = NULL;
    uint64_t cur_nonce = 0;
    int applied = 0;
    rc = gc_open(o.gates[0], o.sender, &g, &err);
    if (rc == SR_OK)
        rc = sr_gate_get_config(g, cur, &cur_nonce, &err);
    if (rc == SR_OK && o.nonce == NULL)
        nonce = cur_nonce;
    if (rc == SR_OK && o.key != NULL) {
        uint8_t sk[SR_SECP_SECKEY_LEN];
        rc = sr_keyfile_read(o.key, sk, 0, &err);
        if (rc == SR_OK && o.sign_only) {
            sr_gate_domain d;
            uint8_t digest[32], sig[SR_ETH_SIG_LEN], signer[SR_ETH_ADDR_LEN];
            sr_gate_get_domain(g, &d);
            sr_gate_change_owners_digest(&d, owners, n, k, nonce, digest);
            rc = sr_gate_sign_digest(digest, sk, sig, &err);
            if (rc == SR_OK)
                rc = sr_eth_address_from_seckey(sk, signer, &err);
            if (rc == SR_OK)
                gc_print_sig(digest, signer, sig, &d);
        } else if (rc == SR_OK) {
            rc = sr_gate_change_owners(g, owners, n, k, nonce, sk, &applied, &err);
        }
        sr_memzero(sk, sizeof sk);
    } else if (rc == SR_OK) {
        uint8_t sig[SR_ETH_SIG_LEN], signer[SR_ETH_ADDR_LEN];
        rc = gc_sig(o.sig, o.signer, sig, signer, &err);
        if (rc == SR_OK)
            rc = sr_gate_change_owners_sig(g, owners, n, k, nonce, signer, sig, &applied, &err);
    }
    if (rc == SR_OK && !o.sign_only) {
        if (applied)
            printf("owner change applied: %zu owners, threshold %u (nonce now %llu)\n", n, k, nonce + 1);
        else
            printf("vote recorded for nonce %llu; the change applies once %u owners voted for it\n", nonce,
                   cur->threshold);
    }
    sr_gate_close(g);
    free(owners);
    free(cur);
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail(cmd, &err);
}

int sr_cmd_consortium(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SR_EXIT_USAGE;
    }
    if (sr_cli_wants_help(argc, argv)) {
        usage(stdout);
        return SR_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0)
        return cmd_create(argc, argv);
    if (strcmp(argv[1], "info") == 0)
        return cmd_info(argc, argv);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list(argc, argv);
    if (strcmp(argv[1], "change-owners") == 0)
        return cmd_change_owners(argc, argv);
    if (strcmp(argv[1], "log") == 0)
        return cmd_log(argc, argv);
    return sr_cli_usage_error("consortium", "unknown sub-command '%s' (create, info, list, log, change-owners)",
                              argv[1]);
}

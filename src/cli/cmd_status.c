/* sealroom status: is a recipe allowed on the gate, and if not, why. */
#include "gate_cmd.h"

const char sr_cmd_status_summary[] = "show a recipe's approvals on the consortium gate: allowed or why not";

static void usage(void)
{
    printf("Usage: sealroom status --gate SPEC (--recipe FILE | --compose-hash HEX [--require ID,...]) [--json]\n"
           "\n"
           "Reads the gate (the ledger is verified entry by entry; the EVM is read at one block) and\n"
           "shows the owners, who approved, k of n, who revoked, whether the app is frozen, and\n"
           "whether the compose hash is allowed, or why not. A compose hash is allowed when the app\n"
           "is not frozen, nobody revoked it, every owner whose dataset the recipe reads approved it,\n"
           "and at least k owners approved it.\n"
           "\n"
           "Options:\n"
           "  --gate SPEC          ledger:PATH or evm:RPC_URL@0xADDRESS\n"
           "  --recipe FILE        the recipe: compose hash, dataset owners, and app id (must be the gate's)\n"
           "  --compose-hash HEX   a compose hash (32 bytes) ...\n"
           "  --require ID,...     ... and the owners whose datasets it reads\n"
           "  --json               print JSON with top-level \"allowed\" and \"reason\" (see docs/GATE.md)\n"
           "  -h, --help           show this help\n"
           "\n"
           "Exit status: 0 the gate was read (allowed or not: see the output), 1 failure (including\n"
           "a ledger that fails verification), 2 usage error.\n");
}

int sr_cmd_status(int argc, char **argv)
{
    const char *cmd = "status";
    const char *gate = NULL, *recipe = NULL, *hash_hex = NULL, *require = NULL;
    int json = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = gc_opt(cmd, argc, argv, &i, "--gate", &gate)) || (r = gc_opt(cmd, argc, argv, &i, "--recipe", &recipe)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--compose-hash", &hash_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--require", &require))) {
            if (r < 0)
                return SR_EXIT_USAGE;
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

    sr_error err;
    sr_error_clear(&err);
    gc_target t;
    if (gc_target_load(recipe, hash_hex, require, &t, &err) != SR_OK)
        return sr_cli_fail(cmd, &err);
    sr_gate *g = NULL;
    sr_gate_status *st = calloc(1, sizeof *st);
    int rc = st ? SR_OK : sr_error_set(&err, SR_ENOMEM, "out of memory");
    if (rc == SR_OK)
        rc = gc_open(gate, NULL, &g, &err);
    if (rc == SR_OK)
        rc = sr_gate_status_get(g, t.hash, (const char *const *)t.required, t.n_required, st, &err);
    if (rc == SR_OK) {
        sr_error e2;
        if (gc_target_check_app(&t, g, &e2) != SR_OK) {
            st->allowed = 0;
            snprintf(st->reason, sizeof st->reason, "not approved: %.400s", e2.msg);
        }
        if (json) {
            char *js = sr_gate_status_json(st, sr_gate_backend(g));
            if (js == NULL)
                rc = sr_error_set(&err, SR_ENOMEM, "out of memory");
            else
                printf("%s\n", js);
            free(js);
        } else {
            gc_print_status(st, sr_gate_backend(g));
        }
    }
    sr_gate_close(g);
    gc_target_free(&t);
    free(st);
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail(cmd, &err);
}

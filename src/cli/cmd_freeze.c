/* sealroom freeze: any single owner freezes the whole app, for good. */
#include "gate_cmd.h"

const char sr_cmd_freeze_summary[] = "freeze the consortium app: nothing is allowed any more (any single owner, final)";

static void usage(void)
{
    printf("Usage: sealroom freeze --gate SPEC (--key OWNER.key [--sign-only] | --signature 0xSIG --signer 0xADDRESS)\n"
           "                      [--reason TEXT | --reason-hash HEX] [--sender-key KEY]\n"
           "\n"
           "Freezes the app: from now on no compose hash is allowed and no approval, revocation or\n"
           "owner change is accepted. Any single owner may do it, alone; it cannot be undone.\n"
           "The action is the EIP-712 message Freeze(bytes32 reason) (see docs/GATE.md); reason is\n"
           "keccak256 of --reason TEXT, or --reason-hash, or 32 zero bytes.\n"
           "\n"
           "Options:\n"
           "  --gate SPEC          ledger:PATH or evm:RPC_URL@0xADDRESS\n"
           "  --key FILE           the owner's secp256k1 key file: sign here and submit\n"
           "  --sign-only          with --key: print {signer, signature, digest} as JSON, submit nothing\n"
           "  --signature 0xSIG    submit a signature made elsewhere ...\n"
           "  --signer 0xADDRESS   ... by this owner address\n"
           "  --reason TEXT        why (only its keccak256 is recorded)\n"
           "  --reason-hash HEX    the 32-byte reason word itself\n"
           "  --sender-key FILE    evm: key that sends the transaction (default: --key)\n"
           "  -h, --help           show this help\n"
           "\n"
           "Exit status: 0 frozen, 1 refused or failed, 2 usage error.\n");
}

int sr_cmd_freeze(int argc, char **argv)
{
    const char *cmd = "freeze";
    const char *gate = NULL, *key = NULL, *sig_hex = NULL, *signer_hex = NULL, *sender = NULL, *reason = NULL,
               *reason_hex = NULL;
    int sign_only = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int r;
        if ((r = gc_opt(cmd, argc, argv, &i, "--gate", &gate)) || (r = gc_opt(cmd, argc, argv, &i, "--key", &key)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--signature", &sig_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--signer", &signer_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--sender-key", &sender)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--reason-hash", &reason_hex)) ||
            (r = gc_opt(cmd, argc, argv, &i, "--reason", &reason))) {
            if (r < 0)
                return SR_EXIT_USAGE;
        } else if (strcmp(argv[i], "--sign-only") == 0) {
            sign_only = 1;
        } else {
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (gate == NULL)
        return sr_cli_usage_error(cmd, "--gate SPEC is required");
    if ((key == NULL) == (sig_hex == NULL))
        return sr_cli_usage_error(cmd, "give exactly one of --key FILE and --signature 0xSIG");
    if (sig_hex != NULL && signer_hex == NULL)
        return sr_cli_usage_error(cmd, "--signature needs --signer 0xADDRESS");
    if (reason != NULL && reason_hex != NULL)
        return sr_cli_usage_error(cmd, "give at most one of --reason and --reason-hash");
    if (sign_only && key == NULL)
        return sr_cli_usage_error(cmd, "--sign-only needs --key");

    sr_error err;
    sr_error_clear(&err);
    uint8_t word[32] = {0};
    if (reason != NULL)
        sr_keccak256(reason, strlen(reason), word);
    else if (reason_hex != NULL && sr_hex_decode_exact(reason_hex, word, 32, &err) != SR_OK)
        return sr_cli_fail(cmd, &err);
    sr_gate *g = NULL;
    int rc = gc_open(gate, sender, &g, &err);
    if (rc == SR_OK && key != NULL) {
        uint8_t sk[SR_SECP_SECKEY_LEN];
        rc = sr_keyfile_read(key, sk, 0, &err);
        if (rc == SR_OK && sign_only) {
            sr_gate_domain d;
            uint8_t digest[32], sig[SR_ETH_SIG_LEN], signer[SR_ETH_ADDR_LEN];
            sr_gate_get_domain(g, &d);
            sr_gate_freeze_digest(&d, word, digest);
            rc = sr_gate_sign_digest(digest, sk, sig, &err);
            if (rc == SR_OK)
                rc = sr_eth_address_from_seckey(sk, signer, &err);
            if (rc == SR_OK)
                gc_print_sig(digest, signer, sig, &d);
        } else if (rc == SR_OK) {
            rc = sr_gate_freeze(g, word, sk, &err);
        }
        sr_memzero(sk, sizeof sk);
    } else if (rc == SR_OK) {
        uint8_t sig[SR_ETH_SIG_LEN], signer[SR_ETH_ADDR_LEN];
        rc = gc_sig(sig_hex, signer_hex, sig, signer, &err);
        if (rc == SR_OK)
            rc = sr_gate_freeze_sig(g, word, signer, sig, &err);
    }
    if (rc == SR_OK && !sign_only) {
        sr_gate_status *st = calloc(1, sizeof *st);
        if (st != NULL && sr_gate_status_get(g, word, NULL, 0, st, &err) == SR_OK)
            printf("app frozen: %s\n", st->reason);
        free(st);
    }
    sr_gate_close(g);
    return rc == SR_OK ? SR_EXIT_OK : sr_cli_fail(cmd, &err);
}

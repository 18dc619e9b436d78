/* sealroom keygen: make a secp256k1 key file and print its identity. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/secmem.h"

const char sr_cmd_keygen_summary[] = "make a secp256k1 key file (0600) and print its Ethereum address";

static void usage(void)
{
    printf("Usage: sealroom keygen --out FILE [--force] [--json]\n"
           "\n"
           "Makes a new secp256k1 secret key, writes it to FILE (64 lowercase hex digits\n"
           "and a newline, mode 0600, written atomically) and prints the key's Ethereum\n"
           "address (EIP-55) and compressed public key (33 bytes, hex).\n"
           "\n"
           "Options:\n"
           "  --out FILE   where to write the key (required)\n"
           "  --force      replace FILE if it exists (default: refuse)\n"
           "  --json       print {\"address\": ..., \"public_key\": ...} instead of text\n"
           "  -h, --help   show this help\n"
           "\n"
           "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

int sr_cmd_keygen(int argc, char **argv)
{
    const char *cmd = "keygen";
    const char *out = NULL;
    int force = 0, json = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0) {
            if (i + 1 >= argc)
                return sr_cli_usage_error(cmd, "--out needs a file name");
            out = argv[++i];
        } else if (strncmp(argv[i], "--out=", 6) == 0) {
            out = argv[i] + 6;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
        }
    }
    if (out == NULL || out[0] == '\0')
        return sr_cli_usage_error(cmd, "--out FILE is required");

    sr_error err;
    sr_error_clear(&err);
    struct stat st;
    if (!force && lstat(out, &st) == 0) {
        sr_error_set(&err, SR_EINVAL, "%s already exists (use --force to replace it)", out);
        return sr_cli_fail(cmd, &err);
    }

    uint8_t sk[SR_SECP_SECKEY_LEN];
    uint8_t pub[SR_SECP_PUBKEY_LEN];
    uint8_t addr[SR_ETH_ADDR_LEN];
    int rc = sr_secp_seckey_generate(sk, &err);
    if (rc == SR_OK)
        rc = sr_secp_pubkey(sk, pub, &err);
    if (rc == SR_OK)
        rc = sr_eth_address_from_pubkey(pub, sizeof pub, addr, &err);
    if (rc == SR_OK)
        rc = sr_keyfile_write(out, sk, &err);
    sr_memzero(sk, sizeof sk);
    if (rc != SR_OK)
        return sr_cli_fail(cmd, &err);

    char addr_s[43];
    char pub_s[2 * SR_SECP_PUBKEY_LEN + 1];
    sr_eth_address_to_string(addr, addr_s);
    sr_hex_encode(pub, sizeof pub, pub_s);
    if (json)
        printf("{\"address\": \"%s\", \"public_key\": \"%s\"}\n", addr_s, pub_s);
    else
        printf("address:    %s\npublic_key: %s\nkey file:   %s\n", addr_s, pub_s, out);
    return SR_EXIT_OK;
}

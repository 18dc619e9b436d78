/* sealroom CLI: small helpers shared by seal, inspect, unseal and rewrap
 * (static inline: the CLI build compiles only cmd_*.c). */
#ifndef SEALROOM_ARCHIVE_CLI_H
#define SEALROOM_ARCHIVE_CLI_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "sealroom/buf.h"
#include "sealroom/crypto.h"

/* "--name VALUE" or "--name=VALUE" at argv[*i]; returns 1 and sets *val
 * when argv[*i] is that option, -1 (after printing a usage error) when the
 * value is missing, 0 otherwise. */
static inline int sr_acli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != 0)
        return 0;
    if (*i + 1 >= argc) {
        sr_cli_usage_error(cmd, "%s needs a value", name);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

/* The KMS public key: 66 hex digits (optional 0x), or a file holding them
 * (e.g. the root.pub of `sealroom kms init`). */
static inline int sr_acli_kms_pubkey(const char *arg, uint8_t out[SR_SECP_PUBKEY_LEN], sr_error *err)
{
    char text[200];
    const char *hex = arg;
    size_t n = strlen(arg);
    int is_hex = n == 66 || (n == 68 && arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'));
    if (!is_hex) {
        FILE *f = fopen(arg, "r");
        if (f == NULL)
            return sr_error_set(err, SR_EINVAL, "--kms-pubkey: '%s' is neither 66 hex digits nor a readable file",
                                arg);
        size_t k = fread(text, 1, sizeof text - 1, f);
        fclose(f);
        text[k] = 0;
        while (k > 0 && isspace((unsigned char)text[k - 1]))
            text[--k] = 0;
        hex = text;
    }
    uint8_t raw[SR_SECP_PUBKEY_LEN];
    if (sr_hex_decode_exact(hex, raw, sizeof raw, err) != SR_OK)
        return sr_error_prefix(err, "--kms-pubkey");
    if (sr_secp_pubkey_normalize(raw, sizeof raw, out, err) != SR_OK)
        return sr_error_prefix(err, "--kms-pubkey");
    return SR_OK;
}

/* Prints a JSON value compactly on one line and drops the reference. */
static inline void sr_acli_print_json(json_t *v)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    printf("%s\n", s ? s : "null");
    free(s);
    json_decref(v);
}

static inline void sr_acli_hex(const uint8_t *p, size_t n, char *out)
{
    sr_hex_encode(p, n, out);
}

#endif

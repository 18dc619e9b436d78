/* sealroom seal: CSV -> recipe-bound sealed archive. */
#include <stdio.h>
#include <string.h>

#include "archive_cli.h"
#include "cli.h"
#include "sealroom/archive.h"
#include "sealroom/secmem.h"

const char sr_cmd_seal_summary[] = "seal a CSV dataset into a recipe-bound encrypted archive (owner side)";

static void usage(void)
{
    printf("Usage: sealroom seal --owner ID --key OWNER.key --recipe RECIPE.json --kms-pubkey HEX|FILE\n"
           "                     --in DATA.csv --out DATA.tar [--epsilon-budget E] [--keystore DIR]\n"
           "                     [--threads N] [--segment-size BYTES] [--chunk-rows N] [--json]\n"
           "\n"
           "Encrypts a CSV file column by column into a sealed archive (POSIX tar; format in\n"
           "docs/FORMAT.md). The CSV header must match the owner's dataset schema in the\n"
           "recipe, and OWNER.key's address must be the owner's address there. A random data\n"
           "key (DEK) encrypts the data; it is wrapped to a key that only the KMS holding the\n"
           "root secret can derive, and only for this recipe (compose hash), app id and owner.\n"
           "The owner signs the manifest. The DEK is also kept in the owner's keystore\n"
           "(0600) so that `sealroom rewrap` can re-bind the archive to a new recipe.\n"
           "\n"
           "Options:\n"
           "  --owner ID            owner id in the recipe (required)\n"
           "  --key FILE            owner's secp256k1 key file (required; see `sealroom keygen`)\n"
           "  --recipe FILE         the recipe (required)\n"
           "  --kms-pubkey HEX|FILE KMS root public key: 66 hex digits, or a file holding them\n"
           "                        such as DIR/root.pub from `sealroom kms init` (required)\n"
           "  --in FILE             CSV input with a header line (required)\n"
           "  --out FILE            archive to write (required; written atomically)\n"
           "  --epsilon-budget E    privacy budget (epsilon) granted to this dataset (default 1)\n"
           "  --keystore DIR        where to keep the DEK (default $SEALROOM_KEYSTORE or\n"
           "                        ~/.sealroom/keystore); --keystore '' keeps none\n"
           "  --threads N           parse/encode workers (default 2)\n"
           "  --segment-size BYTES  plaintext bytes per encrypted segment (default 1048576)\n"
           "  --chunk-rows N        rows per column chunk (default 16384)\n"
           "  --json                print the result as JSON\n"
           "  -h, --help            show this help\n"
           "\n"
           "A progress line (bytes, rows/s, ETA) is drawn on stderr when it is a terminal.\n"
           "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static void progress_cb(void *ctx, uint64_t done, uint64_t total, uint64_t rows)
{
    sr_progress_update(ctx, (unsigned long long)done, (unsigned long long)total, (unsigned long long)rows);
}

int sr_cmd_seal(int argc, char **argv)
{
    const char *cmd = "seal";
    const char *owner = NULL, *key = NULL, *recipe = NULL, *kms = NULL, *in = NULL, *out = NULL, *eps = NULL,
               *keystore = NULL, *threads = NULL, *segsize = NULL, *chunk = NULL;
    int json = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        struct {
            const char *name;
            const char **val;
        } opts[] = {{"--owner", &owner},       {"--key", &key},           {"--recipe", &recipe},
                    {"--kms-pubkey", &kms},    {"--in", &in},             {"--out", &out},
                    {"--epsilon-budget", &eps}, {"--keystore", &keystore}, {"--threads", &threads},
                    {"--segment-size", &segsize}, {"--chunk-rows", &chunk}};
        int matched = 0;
        for (size_t k = 0; k < sizeof opts / sizeof opts[0] && !matched; k++) {
            int r = sr_acli_opt(cmd, argc, argv, &i, opts[k].name, opts[k].val);
            if (r < 0)
                return SR_EXIT_USAGE;
            matched = r;
        }
        if (matched)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    if (owner == NULL || key == NULL || recipe == NULL || kms == NULL || in == NULL || out == NULL)
        return sr_cli_usage_error(cmd, "--owner, --key, --recipe, --kms-pubkey, --in and --out are required");

    sr_seal_opts o;
    memset(&o, 0, sizeof o);
    double e = 0;
    unsigned long long v;
    if (eps != NULL) {
        if (sr_cli_parse_double(cmd, "--epsilon-budget", eps, &e) != 0)
            return SR_EXIT_USAGE;
        if (!(e > 0 && e <= SR_ARCHIVE_MAX_EPSILON))
            return sr_cli_usage_error(cmd, "--epsilon-budget must be in (0, %g]", SR_ARCHIVE_MAX_EPSILON);
        o.epsilon_total = e;
    }
    if (threads != NULL) {
        if (sr_cli_parse_u64(cmd, "--threads", threads, &v) != 0)
            return SR_EXIT_USAGE;
        if (v < 1 || v > 64)
            return sr_cli_usage_error(cmd, "--threads must be 1..64");
        o.threads = (int)v;
    }
    if (segsize != NULL) {
        if (sr_cli_parse_u64(cmd, "--segment-size", segsize, &v) != 0)
            return SR_EXIT_USAGE;
        if (v < SR_ARCHIVE_MIN_SEGMENT || v > SR_ARCHIVE_MAX_SEGMENT)
            return sr_cli_usage_error(cmd, "--segment-size must be %u..%u", SR_ARCHIVE_MIN_SEGMENT,
                                      SR_ARCHIVE_MAX_SEGMENT);
        o.segment_size = (uint32_t)v;
    }
    if (chunk != NULL) {
        if (sr_cli_parse_u64(cmd, "--chunk-rows", chunk, &v) != 0)
            return SR_EXIT_USAGE;
        if (v < 1 || v > SR_ARCHIVE_MAX_CHUNK_ROWS)
            return sr_cli_usage_error(cmd, "--chunk-rows must be 1..%u", SR_ARCHIVE_MAX_CHUNK_ROWS);
        o.chunk_rows = (uint32_t)v;
    }

    sr_error err;
    sr_error_clear(&err);
    uint8_t kms_pub[SR_SECP_PUBKEY_LEN];
    uint8_t *sk = sr_secure_alloc(SR_SECP_SECKEY_LEN);
    sr_recipe *r = NULL;
    int rc = sk == NULL ? sr_error_set(&err, SR_ENOMEM, "out of secure memory") : SR_OK;
    if (rc == SR_OK)
        rc = sr_acli_kms_pubkey(kms, kms_pub, &err);
    if (rc == SR_OK)
        rc = sr_keyfile_read(key, sk, 0, &err);
    if (rc == SR_OK)
        rc = sr_recipe_load(recipe, &r, &err);
    sr_seal_result res;
    memset(&res, 0, sizeof res);
    sr_progress prog;
    double t0 = sr_cli_now();
    if (rc == SR_OK) {
        o.recipe = r;
        o.owner_id = owner;
        o.owner_sk = sk;
        o.kms_root_pub = kms_pub;
        o.keystore_dir = keystore;
        sr_progress_start(&prog);
        o.progress = progress_cb;
        o.progress_ctx = &prog;
        rc = sr_archive_seal(in, out, &o, &res, &err);
        sr_progress_finish(&prog);
    }
    double secs = sr_cli_now() - t0;
    if (sk != NULL)
        sr_secure_free(sk, SR_SECP_SECKEY_LEN);
    sr_recipe_free(r);
    if (rc != SR_OK)
        return sr_cli_fail(cmd, &err);

    char id[2 * SR_ARCHIVE_ID_LEN + 1], mh[65];
    sr_hex_encode(res.archive_id, SR_ARCHIVE_ID_LEN, id);
    sr_hex_encode(res.manifest_hash, SR_SHA256_LEN, mh);
    if (json) {
        sr_acli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:s?}", "in", in, "out", out,
                                     "archive_id", id, "manifest_sha256", mh, "rows", (json_int_t)res.rows, "chunks",
                                     (json_int_t)res.chunks, "bytes_in", (json_int_t)res.bytes_in, "bytes_out",
                                     (json_int_t)res.bytes_out, "seconds", secs, "keystore",
                                     res.keystore_path[0] ? res.keystore_path : NULL));
    } else {
        printf("sealed %llu rows (%llu chunks, %llu bytes of CSV) into %s (%llu bytes) in %.2fs\n",
               (unsigned long long)res.rows, (unsigned long long)res.chunks, (unsigned long long)res.bytes_in, out,
               (unsigned long long)res.bytes_out, secs);
        printf("archive id       %s\n", id);
        printf("manifest sha256  %s\n", mh);
        if (res.keystore_path[0])
            printf("data key kept in %s\n", res.keystore_path);
    }
    return SR_EXIT_OK;
}

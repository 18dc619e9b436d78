/* sealroom rewrap: the owner re-binds a sealed archive to a new recipe
 * without re-encrypting the data. */
#include <stdio.h>
#include <string.h>

#include "archive_cli.h"
#include "cli.h"
#include "sealroom/archive.h"
#include "sealroom/secmem.h"

const char sr_cmd_rewrap_summary[] = "re-bind a sealed archive to a new recipe without re-encrypting (owner side)";

static void usage(void)
{
    printf("Usage: sealroom rewrap --key OWNER.key --recipe NEW.json --in FILE.tar --out NEW.tar\n"
           "                       [--keystore DIR] [--kms-pubkey HEX|FILE] [--epsilon-budget E] [--json]\n"
           "\n"
           "Takes the archive's data key from the owner's keystore (written by `sealroom\n"
           "seal`), wraps it to the key derived for the new recipe (its compose hash and app\n"
           "id), and writes a new archive with a new manifest signed by the owner. The\n"
           "column members are copied byte for byte: nothing is re-encrypted. The owner must\n"
           "be in the new recipe with the same address and the same dataset schema.\n"
           "\n"
           "Options:\n"
           "  --key FILE            owner's key file (required; must be the archive's owner)\n"
           "  --recipe FILE         the new recipe (required)\n"
           "  --in FILE             the sealed archive (required)\n"
           "  --out FILE            the re-bound archive to write (required; may equal --in)\n"
           "  --keystore DIR        owner keystore (default $SEALROOM_KEYSTORE or ~/.sealroom/keystore)\n"
           "  --kms-pubkey HEX|FILE bind to another KMS root key (default: keep the archive's)\n"
           "  --epsilon-budget E    new privacy budget for the dataset (default: keep)\n"
           "  --json                print the result as JSON\n"
           "  -h, --help            show this help\n"
           "\n"
           "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

int sr_cmd_rewrap(int argc, char **argv)
{
    const char *cmd = "rewrap";
    const char *key = NULL, *recipe = NULL, *in = NULL, *out = NULL, *keystore = NULL, *kms = NULL, *eps = NULL;
    int json = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        struct {
            const char *name;
            const char **val;
        } opts[] = {{"--key", &key}, {"--recipe", &recipe}, {"--in", &in}, {"--out", &out},
                    {"--keystore", &keystore}, {"--kms-pubkey", &kms}, {"--epsilon-budget", &eps}};
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
    if (key == NULL || recipe == NULL || in == NULL || out == NULL)
        return sr_cli_usage_error(cmd, "--key, --recipe, --in and --out are required");
    sr_rewrap_opts o;
    memset(&o, 0, sizeof o);
    if (eps != NULL) {
        double e = 0;
        if (sr_cli_parse_double(cmd, "--epsilon-budget", eps, &e) != 0)
            return SR_EXIT_USAGE;
        if (!(e > 0 && e <= SR_ARCHIVE_MAX_EPSILON))
            return sr_cli_usage_error(cmd, "--epsilon-budget must be in (0, %g]", SR_ARCHIVE_MAX_EPSILON);
        o.epsilon_total = e;
    }

    sr_error err;
    sr_error_clear(&err);
    uint8_t kms_pub[SR_SECP_PUBKEY_LEN];
    uint8_t *sk = sr_secure_alloc(SR_SECP_SECKEY_LEN), *dek = sr_secure_alloc(SR_DEK_LEN);
    sr_recipe *r = NULL;
    sr_archive *a = NULL;
    char kdir[4096];
    int rc = (sk == NULL || dek == NULL) ? sr_error_set(&err, SR_ENOMEM, "out of secure memory") : SR_OK;
    if (rc == SR_OK && kms != NULL)
        rc = sr_acli_kms_pubkey(kms, kms_pub, &err);
    if (rc == SR_OK)
        rc = sr_keyfile_read(key, sk, 0, &err);
    if (rc == SR_OK)
        rc = sr_recipe_load(recipe, &r, &err);
    if (rc == SR_OK && keystore == NULL) {
        rc = sr_keystore_default_dir(kdir, sizeof kdir, &err);
        keystore = kdir;
    }
    /* the archive id and owner, to find the keystore entry */
    uint8_t id[SR_ARCHIVE_ID_LEN];
    if (rc == SR_OK)
        rc = sr_archive_open(in, &a, &err);
    if (rc == SR_OK) {
        memcpy(id, sr_archive_manifest(a)->archive_id, SR_ARCHIVE_ID_LEN);
        rc = sr_keystore_get(keystore, id, sr_archive_manifest(a)->owner_id, dek, &err);
    }
    sr_archive_close(a);
    a = NULL;
    if (rc == SR_OK) {
        o.recipe = r;
        o.owner_sk = sk;
        o.dek = dek;
        o.kms_root_pub = kms != NULL ? kms_pub : NULL;
        rc = sr_archive_rewrap(in, out, &o, &err);
    }
    if (sk != NULL)
        sr_secure_free(sk, SR_SECP_SECKEY_LEN);
    if (dek != NULL)
        sr_secure_free(dek, SR_DEK_LEN);
    if (rc == SR_OK)
        rc = sr_archive_open(out, &a, &err);
    if (rc != SR_OK) {
        sr_recipe_free(r);
        return sr_cli_fail(cmd, &err);
    }
    char ids[33], mh[65], ch[65];
    sr_hex_encode(id, SR_ARCHIVE_ID_LEN, ids);
    sr_hex_encode(sr_archive_manifest_hash(a), SR_SHA256_LEN, mh);
    sr_hex_encode(sr_recipe_compose_hash(r), SR_RECIPE_HASH_LEN, ch);
    if (json)
        sr_acli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "in", in, "out", out, "archive_id", ids,
                                     "compose_hash", ch, "manifest_sha256", mh));
    else
        printf("re-bound %s to recipe %s into %s (columns copied, not re-encrypted)\nmanifest sha256  %s\n", in, ch,
               out, mh);
    sr_archive_close(a);
    sr_recipe_free(r);
    return SR_EXIT_OK;
}

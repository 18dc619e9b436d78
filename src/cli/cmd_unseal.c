/* sealroom unseal: operator tool (tests, recovery) that uses the KMS root
 * secret to decrypt a sealed archive back to CSV. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "archive_cli.h"
#include "cli.h"
#include "sealroom/archive.h"
#include "sealroom/keywrap.h"
#include "sealroom/secmem.h"

const char sr_cmd_unseal_summary[] = "decrypt a sealed archive back to CSV with the KMS root key (operator tool)";

static void usage(void)
{
    printf("Usage: sealroom unseal --kms-dir DIR --in FILE.tar --out FILE.csv [--verify] [--json]\n"
           "\n"
           "Operator tool for tests and recovery: reads the KMS root secret from DIR (made by\n"
           "`sealroom kms init`), derives the archive's recipe key, unwraps its data key and\n"
           "decrypts every column, writing the table back as CSV (mode 0600, atomically; no\n"
           "partial file is left on failure). Every segment is authenticated; truncated,\n"
           "reordered, spliced or altered data is an error. In production only the KMS and\n"
           "an attested analysis VM ever see data keys.\n"
           "\n"
           "Options:\n"
           "  --kms-dir DIR   folder holding root.key (required)\n"
           "  --in FILE       sealed archive (required)\n"
           "  --out FILE      CSV to write, or - for stdout (required)\n"
           "  --verify        also check the ciphertext digests first (like inspect)\n"
           "  --json          print a JSON summary\n"
           "  -h, --help      show this help\n"
           "\n"
           "Exit status: 0 ok, 1 failure, 2 usage error.\n");
}

static void progress_cb(void *ctx, uint64_t done, uint64_t total, uint64_t rows)
{
    sr_progress_update(ctx, (unsigned long long)done, (unsigned long long)total, (unsigned long long)rows);
}

int sr_cmd_unseal(int argc, char **argv)
{
    const char *cmd = "unseal", *dir = NULL, *in = NULL, *out = NULL;
    int json = 0, verify = 0;
    if (sr_cli_wants_help(argc, argv)) {
        usage();
        return SR_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        int r = sr_acli_opt(cmd, argc, argv, &i, "--kms-dir", &dir);
        if (r == 0)
            r = sr_acli_opt(cmd, argc, argv, &i, "--in", &in);
        if (r == 0)
            r = sr_acli_opt(cmd, argc, argv, &i, "--out", &out);
        if (r < 0)
            return SR_EXIT_USAGE;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--verify") == 0)
            verify = 1;
        else
            return sr_cli_usage_error(cmd, "unexpected argument '%s'", argv[i]);
    }
    if (dir == NULL || in == NULL || out == NULL)
        return sr_cli_usage_error(cmd, "--kms-dir, --in and --out are required");

    sr_error err;
    sr_error_clear(&err);
    sr_archive *a = NULL;
    uint8_t *sk = sr_secure_alloc(SR_SECP_SECKEY_LEN);
    int rc = sk == NULL ? sr_error_set(&err, SR_ENOMEM, "out of secure memory") : SR_OK;
    if (rc == SR_OK)
        rc = sr_kms_root_load(dir, sk, NULL, &err);
    if (rc == SR_OK)
        rc = sr_archive_open(in, &a, &err);
    if (rc == SR_OK && verify)
        rc = sr_archive_verify_digests(a, &err);
    if (rc == SR_OK)
        rc = sr_archive_unlock_kms(a, sk, &err);
    if (sk != NULL)
        sr_secure_free(sk, SR_SECP_SECKEY_LEN);

    int to_stdout = strcmp(out, "-") == 0;
    char tmp[4200] = "";
    FILE *f = NULL;
    if (rc == SR_OK) {
        if (to_stdout) {
            f = stdout;
        } else {
            unsigned rnd = 0;
            sr_random(&rnd, sizeof rnd, NULL);
            snprintf(tmp, sizeof tmp, "%s.tmp-%08x", out, rnd);
            int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            f = fd >= 0 ? fdopen(fd, "w") : NULL;
            if (f == NULL) {
                rc = sr_error_set(&err, SR_EIO, "cannot create %s: %s", tmp, strerror(errno));
                if (fd >= 0)
                    close(fd);
                tmp[0] = 0;
            }
        }
    }
    double t0 = sr_cli_now();
    if (rc == SR_OK) {
        static char iobuf[1 << 20];
        setvbuf(f, iobuf, _IOFBF, sizeof iobuf);
        sr_progress prog;
        sr_progress_start(&prog);
        rc = sr_archive_unseal_csv(a, f, progress_cb, &prog, &err);
        sr_progress_finish(&prog);
    }
    if (f != NULL && !to_stdout) {
        if (rc == SR_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
            rc = sr_error_set(&err, SR_EIO, "write %s: %s", tmp, strerror(errno));
        if (fclose(f) != 0 && rc == SR_OK)
            rc = sr_error_set(&err, SR_EIO, "write %s: %s", tmp, strerror(errno));
        if (rc == SR_OK && rename(tmp, out) != 0)
            rc = sr_error_set(&err, SR_EIO, "rename %s: %s", tmp, strerror(errno));
        if (rc != SR_OK)
            unlink(tmp);
    } else if (f != NULL) {
        fflush(f);
    }
    double secs = sr_cli_now() - t0;
    unsigned long long rows = a != NULL ? (unsigned long long)sr_archive_manifest(a)->rows : 0;
    sr_archive_close(a);
    if (rc != SR_OK)
        return sr_cli_fail(cmd, &err);
    if (json && !to_stdout)
        sr_acli_print_json(json_pack("{s:s, s:s, s:I, s:f}", "in", in, "out", out, "rows", (json_int_t)rows,
                                     "seconds", secs));
    else if (!to_stdout)
        printf("unsealed %llu rows from %s into %s in %.2fs\n", rows, in, out, secs);
    return SR_EXIT_OK;
}

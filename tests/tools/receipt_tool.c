/* sr_receipt_tool: receipt fixtures for interop tests.
 *   sr_receipt_tool wrap-quote QUOTE OUT.json
 *     writes a well-formed receipt (tee "tdx", fresh run key, a one-dataset
 *     recipe, a placeholder KMS certificate) that carries the quote file's
 *     bytes. Its format, payload-hash, payload-signature and quote-chain
 *     checks can pass; report-data cannot (the quote binds another key), so
 *     it serves to check `sealroom verify`'s quote-chain link on real
 *     Intel quotes (e.g. --collateral).
 *   sr_receipt_tool resign-tcb COLLATERAL LEVEL OUT.json SIGNER.pem
 *     writes COLLATERAL with its first platform TCB level's status replaced
 *     by LEVEL (JSON members, e.g. "tcbStatus":"OutOfDate") and its TCB info
 *     re-signed by a fresh TEST signer, whose certificate goes to SIGNER.pem
 *     (to pin with --root). See tests/unit/tcb_fixture.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/json.h"
#include "sealroom/receipt.h"
#include "sealroom/attest.h"
#include "sealroom/secmem.h"
#include "tcb_fixture.h"

static const char recipe[] =
    "{\n  \"version\": 1,\n"
    "  \"consortium\": {\"name\": \"fixture\", \"app_id\": \"0x5e41a1c0ffee00000000000000000000000c0de1\",\n"
    "    \"owners\": [{\"id\": \"hospital-a\", \"address\": \"0x7e5f4552091a69125d5dfcb7b8c2659029395bdf\"}]},\n"
    "  \"datasets\": {\"hospital-a\": {\"schema\": [{\"name\": \"age\", \"type\": \"int\"}]}},\n"
    "  \"analysis\": {\"sources\": {\"union\": [\"hospital-a\"]}},\n"
    "  \"outputs\": [{\"name\": \"patients\", \"type\": \"count\", \"privacy\": \"none\"}]\n}\n";

static int wrap_quote(const char *quote_path, const char *out_path)
{
    sr_error err;
    sr_buf q;
    sr_buf_init(&q);
    uint8_t sk[32], pub[33], compose[32], nonce[32] = {0};
    json_t *cert = NULL, *inputs = NULL, *r = NULL;
    int rc = sr_file_read(quote_path, 1u << 20, &q, &err);
    if (rc == SR_OK)
        rc = sr_secp_seckey_generate(sk, &err);
    if (rc == SR_OK)
        rc = sr_secp_pubkey(sk, pub, &err);
    if (rc != SR_OK) {
        fprintf(stderr, "sr_receipt_tool: %s\n", err.msg);
        sr_buf_free(&q);
        return 1;
    }
    sr_sha256(recipe, strlen(recipe), compose);
    cert = json_pack("{s:s,s:s}", "payload", "{\"gate\":{},\"version\":1}", "signature", "0x00");
    inputs = json_pack("[{s:s,s:s,s:s}]", "owner_id", "hospital-a", "archive_id", "00112233445566778899aabbccddeeff",
                       "manifest_sha256", "1111111111111111111111111111111111111111111111111111111111111111");
    sr_receipt_parts p = {
        .run_id = "r-fixture",
        .payload = "{\"format\":\"sealroom-result-v1\"}",
        .recipe = (const uint8_t *)recipe,
        .recipe_len = strlen(recipe),
        .compose_hash = compose,
        .cvm_sk = sk,
        .cvm_pub = pub,
        .quote = q.data,
        .quote_len = q.len,
        .event_log = "",
        .kms_nonce = nonce,
        .kms_certificate = cert,
        .inputs = inputs,
        .tee = "tdx",
        .created = (int64_t)time(NULL),
    };
    rc = sr_receipt_build(&p, &r, &err);
    if (rc == SR_OK && json_dump_file(r, out_path, JSON_INDENT(1)) != 0)
        rc = sr_error_set(&err, SR_EIO, "cannot write %s", out_path);
    if (rc != SR_OK)
        fprintf(stderr, "sr_receipt_tool: %s\n", err.msg);
    json_decref(r);
    json_decref(cert);
    json_decref(inputs);
    sr_buf_free(&q);
    sr_memzero(sk, sizeof sk);
    return rc == SR_OK ? 0 : 1;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fputs(text, f) >= 0;
    if (f != NULL && fclose(f) != 0)
        ok = 0;
    return ok;
}

static int resign_tcb(const char *col_path, const char *level, const char *out_path, const char *pem_path)
{
    sr_error err;
    sr_buf col;
    sr_buf_init(&col);
    time_t nb = 0, na = 0;
    if (sr_file_read(col_path, 8u << 20, &col, &err) != SR_OK ||
        sr_attest_parse_time("2020-01-01T00:00:00Z", &nb, &err) != SR_OK ||
        sr_attest_parse_time("2040-01-01T00:00:00Z", &na, &err) != SR_OK) {
        fprintf(stderr, "sr_receipt_tool: %s\n", err.msg);
        sr_buf_free(&col);
        return 1;
    }
    sr_test_tcb_signer *s = sr_test_tcb_signer_new(nb, na);
    char *c = s ? sr_test_collateral_with_level(s, (const char *)col.data, col.len, level) : NULL;
    int ok = c != NULL && write_text(out_path, c) && write_text(pem_path, sr_test_tcb_signer_pem(s));
    if (!ok)
        fprintf(stderr, "sr_receipt_tool: cannot re-sign %s\n", col_path);
    free(c);
    sr_test_tcb_signer_free(s);
    sr_buf_free(&col);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "resign-tcb") == 0)
        return resign_tcb(argv[2], argv[3], argv[4], argv[5]);
    if (argc == 4 && strcmp(argv[1], "wrap-quote") == 0)
        return wrap_quote(argv[2], argv[3]);
    fprintf(stderr, "usage: sr_receipt_tool wrap-quote QUOTE OUT.json\n"
                    "       sr_receipt_tool resign-tcb COLLATERAL LEVEL OUT.json SIGNER.pem\n");
    return 2;
}

/* libFuzzer target: a receipt as untrusted JSON through the whole offline
 * verifier (format checks, statement, signature recovery, quote parsing and
 * chain, event log replay, KMS certificate, gate snapshot consistency,
 * recipe plan and output contract) and the report's JSON form. No gate is
 * opened; the KMS root is taken from the certificate payload when it holds
 * one, so the certificate checks past the signature are reached too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/buf.h"
#include "sealroom/json.h"
#include "sealroom/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_error err;
    json_t *doc = sr_json_parse(data, size, SR_RECEIPT_MAX_BYTES, &err);
    if (doc == NULL)
        return 0;
    uint8_t root[SR_SECP_PUBKEY_LEN];
    memset(root, 0, sizeof root);
    root[0] = 0x02;
    root[32] = 0x01;
    const char *cp = json_string_value(json_object_get(json_object_get(doc, "kms_certificate"), "payload"));
    if (cp != NULL) {
        json_t *c = json_loads(cp, 0, NULL);
        const char *k = json_string_value(json_object_get(c, "kms_pubkey"));
        if (k != NULL && strlen(k) == 2 * SR_SECP_PUBKEY_LEN)
            (void)sr_hex_decode_exact(k, root, sizeof root, &err);
        json_decref(c);
    }
    sr_receipt_policy pol;
    memset(&pol, 0, sizeof pol);
    pol.allow_simulated = 1;
    pol.kms_root_pub = root;
    sr_receipt_report *rep = calloc(1, sizeof *rep);
    if (rep != NULL) {
        (void)sr_receipt_verify(doc, &pol, rep, &err);
        json_t *j = sr_receipt_report_json(rep);
        json_decref(j);
        free(rep);
    }
    json_decref(doc);
    return 0;
}

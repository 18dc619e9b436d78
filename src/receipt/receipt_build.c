/* Building and signing receipts (docs/RECEIPT.md). */
#include "sealroom/receipt.h"

#include <stdlib.h>
#include <string.h>

#include "sealroom/buf.h"
#include "sealroom/json.h"

static void hex32(const uint8_t *p, char out[65])
{
    sr_hex_encode(p, 32, out);
}

int sr_receipt_build(const sr_receipt_parts *p, json_t **out, sr_error *err)
{
    if (p->payload == NULL || p->recipe == NULL || p->compose_hash == NULL || p->cvm_sk == NULL ||
        p->cvm_pub == NULL || p->quote == NULL || p->event_log == NULL || p->kms_nonce == NULL ||
        p->kms_certificate == NULL || p->inputs == NULL || p->tee == NULL || p->run_id == NULL)
        return sr_error_set(err, SR_EINVAL, "receipt: missing part");
    if (strcmp(p->tee, "tdx") != 0 && strcmp(p->tee, "simulated") != 0)
        return sr_error_set(err, SR_EINVAL, "receipt: tee must be \"tdx\" or \"simulated\"");
    uint8_t derived[SR_SECP_PUBKEY_LEN];
    int krc = sr_secp_pubkey(p->cvm_sk, derived, err);
    if (krc != SR_OK)
        return krc;
    if (memcmp(derived, p->cvm_pub, sizeof derived) != 0)
        return sr_error_set(err, SR_EINVAL, "receipt: cvm_pub is not the public key of cvm_sk");
    const char *cert_payload = json_string_value(json_object_get(p->kms_certificate, "payload"));
    if (cert_payload == NULL)
        return sr_error_set(err, SR_EINVAL, "receipt: KMS certificate has no payload");
    json_t *cert_doc = json_loads(cert_payload, 0, NULL);
    json_t *gate = cert_doc ? json_object_get(cert_doc, "gate") : NULL;
    if (gate == NULL) {
        json_decref(cert_doc);
        return sr_error_set(err, SR_EINVAL, "receipt: KMS certificate payload has no gate snapshot");
    }
    uint8_t h[32];
    char payload_h[65], quote_h[65], cert_h[65], compose_hex[67] = "0x", pub[67];
    sr_sha256(p->payload, strlen(p->payload), h);
    hex32(h, payload_h);
    sr_sha256(p->quote, p->quote_len, h);
    hex32(h, quote_h);
    sr_sha256(cert_payload, strlen(cert_payload), h);
    hex32(h, cert_h);
    hex32(p->compose_hash, compose_hex + 2);
    sr_hex_encode(p->cvm_pub, SR_SECP_PUBKEY_LEN, pub);
    json_t *statement = json_pack("{s:s,s:I,s:s,s:{s:f,s:f},s:O,s:O,s:s,s:s,s:s,s:s,s:s,s:i}", "compose_hash",
                                  compose_hex, "created", (json_int_t)p->created, "cvm_pubkey", pub, "dp",
                                  "delta_spent", p->delta_spent, "epsilon_spent", p->epsilon_spent, "gate", gate,
                                  "inputs", p->inputs, "kms_certificate_sha256", cert_h, "payload_sha256", payload_h,
                                  "quote_sha256", quote_h, "run_id", p->run_id, "tee", p->tee, "version",
                                  SR_RECEIPT_VERSION);
    json_decref(cert_doc);
    char *stext = statement ? json_dumps(statement, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII) : NULL;
    json_decref(statement);
    if (stext == NULL)
        return sr_error_set(err, SR_ENOMEM, "receipt: out of memory");
    sr_sha256_ctx *c = sr_sha256_new();
    if (c == NULL) {
        free(stext);
        return sr_error_set(err, SR_ENOMEM, "receipt: out of memory");
    }
    sr_sha256_update(c, SR_RECEIPT_SIG_LABEL, sizeof SR_RECEIPT_SIG_LABEL - 1);
    sr_sha256_update(c, stext, strlen(stext));
    sr_sha256_final(c, h);
    uint8_t sig[SR_ETH_SIG_LEN];
    int rc = sr_secp_sign_recoverable(p->cvm_sk, h, sig, err);
    if (rc != SR_OK) {
        free(stext);
        return rc;
    }
    char sighex[2 + 2 * SR_ETH_SIG_LEN + 1] = "0x";
    sr_hex_encode(sig, sizeof sig, sighex + 2);
    char *quote_hex = malloc(2 * p->quote_len + 1);
    char *recipe_b64 = sr_base64_encode(p->recipe, p->recipe_len);
    char nonce_hex[65];
    hex32(p->kms_nonce, nonce_hex);
    if (quote_hex == NULL || recipe_b64 == NULL) {
        free(stext);
        free(quote_hex);
        free(recipe_b64);
        return sr_error_set(err, SR_ENOMEM, "receipt: out of memory");
    }
    sr_hex_encode(p->quote, p->quote_len, quote_hex);
    json_t *r = json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s,s:O}", "format", SR_RECEIPT_FORMAT,
                          "version", SR_RECEIPT_VERSION, "statement", stext, "signature", sighex, "payload", p->payload,
                          "cvm_pubkey", pub, "quote", quote_hex, "event_log", p->event_log, "kms_nonce", nonce_hex,
                          "kms_certificate", p->kms_certificate, "recipe", recipe_b64, "tee", p->tee,
                          "gpu_evidence", p->gpu_evidence ? p->gpu_evidence : json_null());
    free(stext);
    free(quote_hex);
    free(recipe_b64);
    if (r == NULL)
        return sr_error_set(err, SR_ENOMEM, "receipt: out of memory");
    *out = r;
    return SR_OK;
}

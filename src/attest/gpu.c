/* GPU evidence: the shape of the optional gpu_evidence object and its
 * binding to the CPU quote. GPU report verification itself is not done here
 * (docs/ATTESTATION.md describes how it is to be done). */
#include "sealroom/attest.h"

#include <string.h>

#include "sealroom/crypto.h"
#include "sealroom/json.h"

#define GPU_TAG "sealroom-gpu-evidence-v1"

void sr_gpu_nonce(const uint8_t report_data[64], uint8_t nonce[32])
{
    uint8_t b[sizeof GPU_TAG - 1 + 64];
    memcpy(b, GPU_TAG, sizeof GPU_TAG - 1);
    memcpy(b + sizeof GPU_TAG - 1, report_data, 64);
    sr_sha256(b, sizeof b, nonce);
}

static int b64_field(json_t *o, const char *k, sr_error *err)
{
    const char *s;
    if (sr_json_get_str(o, k, 1, &s, "gpu_evidence", err) != SR_OK)
        return SR_EFORMAT;
    if (strlen(s) == 0 || strlen(s) > SR_GPU_EVIDENCE_MAX * 4 / 3 + 4)
        return sr_error_set(err, SR_ELIMIT, "gpu_evidence: %s must be 1..%d bytes", k, SR_GPU_EVIDENCE_MAX);
    sr_buf b;
    sr_buf_init(&b);
    int rc = sr_base64_decode(s, &b, err);
    sr_buf_free(&b);
    if (rc != SR_OK)
        return sr_error_prefix(err, "gpu_evidence: %s", k);
    return SR_OK;
}

int sr_gpu_evidence_check_binding(const char *json, size_t len, const uint8_t report_data[64], sr_error *err)
{
    json_t *o = sr_json_parse(json, len, 4 * SR_GPU_EVIDENCE_MAX, err);
    if (o == NULL)
        return sr_error_prefix(err, "gpu_evidence");
    const char *vendor;
    uint8_t nonce[32], want[32];
    int rc;
    if ((rc = sr_json_get_str(o, "vendor", 1, &vendor, "gpu_evidence", err)) != SR_OK)
        goto done;
    if (strcmp(vendor, "nvidia") != 0) {
        rc = sr_error_set(err, SR_EFORMAT, "gpu_evidence: vendor \"%s\" is not supported (nvidia)", vendor);
        goto done;
    }
    if ((rc = sr_json_get_hex(o, "nonce", nonce, 32, "gpu_evidence", err)) != SR_OK ||
        (rc = b64_field(o, "report", err)) != SR_OK || (rc = b64_field(o, "cert_chain", err)) != SR_OK)
        goto done;
    sr_gpu_nonce(report_data, want);
    if (memcmp(nonce, want, 32) != 0)
        rc = sr_error_set(err, SR_EVERIFY, "gpu_evidence: nonce is not bound to the CPU quote's REPORTDATA");
done:
    json_decref(o);
    return rc;
}

/* gpu_evidence: shape and binding of the nonce to the CPU quote. */
#include "test.h"

#include <stdlib.h>

#include "sealroom/attest.h"
#include "sealroom/crypto.h"

static char *evidence(const uint8_t nonce[32], const char *vendor, const char *report)
{
    char h[65];
    sr_hex_encode(nonce, 32, h);
    char *s = malloc(512);
    snprintf(s, 512, "{\"vendor\":\"%s\",\"arch\":\"HOPPER\",\"nonce\":\"%s\",\"report\":\"%s\",\"cert_chain\":\"AAEC\"}",
             vendor, h, report);
    return s;
}

static void test_binding(void)
{
    sr_error err;
    uint8_t rd[64], n[32];
    for (int i = 0; i < 64; i++)
        rd[i] = (uint8_t)i;
    sr_gpu_nonce(rd, n);
    /* nonce = SHA-256("sealroom-gpu-evidence-v1" || REPORTDATA) */
    uint8_t b[24 + 64], want[32];
    memcpy(b, "sealroom-gpu-evidence-v1", 24);
    memcpy(b + 24, rd, 64);
    sr_sha256(b, sizeof b, want);
    CHECK_EQ_MEM(n, want, 32);
    char *e = evidence(n, "nvidia", "cmVwb3J0");
    CHECK_OK(sr_gpu_evidence_check_binding(e, strlen(e), rd, &err), &err);
    rd[5] ^= 1; /* another quote */
    CHECK_EQ_INT(sr_gpu_evidence_check_binding(e, strlen(e), rd, &err), SR_EVERIFY);
    rd[5] ^= 1;
    free(e);
    e = evidence(n, "amd", "cmVwb3J0");
    CHECK_EQ_INT(sr_gpu_evidence_check_binding(e, strlen(e), rd, &err), SR_EFORMAT);
    free(e);
    e = evidence(n, "nvidia", "not base64!");
    CHECK(sr_gpu_evidence_check_binding(e, strlen(e), rd, &err) != SR_OK);
    free(e);
    e = evidence(n, "nvidia", "");
    CHECK(sr_gpu_evidence_check_binding(e, strlen(e), rd, &err) != SR_OK);
    free(e);
    CHECK(sr_gpu_evidence_check_binding("{}", 2, rd, &err) != SR_OK);
}

int main(void)
{
    SR_RUN(test_binding);
    return sr_test_finish();
}

/* libFuzzer target: the TDX quote parser, the raw/hex input decoder, and the
 * verifier's structural path (strict PEM/DER chain parsing, policy). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_error err;
    sr_quote q;
    if (sr_quote_parse(data, size, &q, &err) == SR_OK) {
        /* every borrowed pointer lies inside the input */
        if (q.total_len > size || q.pck_chain < data || q.pck_chain + q.pck_chain_len > data + size ||
            q.signed_len > q.total_len)
            __builtin_trap();
        sr_attest_result r;
        sr_attest_policy pol;
        memset(&pol, 0, sizeof pol);
        pol.now = 1750000000;
        pol.allow_simulated = 1;
        (void)sr_attest_verify(data, size, &pol, &r, &err);
        if (r.verdict != SR_ATTEST_INVALID && r.reason[0] != '\0')
            __builtin_trap();
    }
    sr_buf raw;
    sr_buf_init(&raw);
    if (sr_quote_decode_input(data, size, &raw, &err) == SR_OK)
        (void)sr_quote_parse(raw.data, raw.len, &q, &err);
    sr_buf_free(&raw);
    return 0;
}

/* libFuzzer target: the JSON-RPC response reader (untrusted node replies),
 * the quantity parser and the revert-reason decoder. */
#include <stdint.h>
#include <stdlib.h>

#include "sealroom/evm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sr_error err;
    json_t *res = NULL;
    int rc = sr_ethrpc_parse_response(data, size, 1, &res, &err);
    if (rc == SR_OK) {
        if (!res) abort();
        uint64_t q;
        (void)sr_ethrpc_quantity(res, &q, &err);
        json_decref(res);
    } else if (res) {
        abort();
    }
    char reason[128];
    sr_evm_revert_reason(data, size, reason, sizeof reason);
    return 0;
}

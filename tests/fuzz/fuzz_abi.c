/* libFuzzer target: the ABI decoder on untrusted return data. The first
 * byte picks a type; the rest is the data. Whatever decodes must re-encode
 * and decode to the same value (round trip), and nothing may crash, leak or
 * take more than linear memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/evm.h"

static const char *const types[] = {
    "(bool,string)",
    "(uint256[],address,string,uint256,address,string,uint256,bytes32)",
    "(string,(string,address,string,string)[],uint256,bytes,uint256)",
    "((address,bytes32,address,bytes32,bytes32,bytes32,bytes32,string,string[]))",
    "(bytes,int8,uint16[3],bytes[])",
    "(string[][])",
    "((uint8,bytes)[2],int256)",
    "(uint256)",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *ts = types[data[0] % (sizeof types / sizeof *types)];
    sr_abi_type *t = NULL;
    sr_error err;
    if (sr_abi_type_parse(ts, &t, &err) != SR_OK) abort();
    json_t *v = NULL;
    if (sr_abi_decode(t, data + 1, size - 1, &v, &err) == SR_OK) {
        sr_buf enc = {0};
        json_t *v2 = NULL;
        if (sr_abi_encode(t, v, &enc, &err) != SR_OK) abort();
        if (sr_abi_decode(t, enc.data, enc.len, &v2, &err) != SR_OK) abort();
        if (!json_equal(v, v2)) abort();
        json_decref(v2);
        sr_buf_free(&enc);
        json_decref(v);
    }
    sr_abi_type_free(t);
    /* the type parser itself on the raw bytes */
    char text[256];
    size_t n = size - 1 < sizeof text - 1 ? size - 1 : sizeof text - 1;
    memcpy(text, data + 1, n);
    text[n] = 0;
    if (sr_abi_type_parse(text, &t, &err) == SR_OK) sr_abi_type_free(t);
    return 0;
}

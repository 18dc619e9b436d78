/* libFuzzer target: the MANIFEST.json parser (untrusted input). Whatever
 * parses must serialise, parse back, and serialise to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_error err;
    sr_manifest *m = NULL;
    if (sr_manifest_parse(data, size, &m, &err) != SR_OK)
        return 0;
    sr_buf a = {0}, b = {0};
    sr_manifest *m2 = NULL;
    if (sr_manifest_write(m, &a, &err) != SR_OK) {
        fprintf(stderr, "write failed: %s\n", err.msg);
        abort();
    }
    if (sr_manifest_parse(a.data, a.len, &m2, &err) != SR_OK) {
        fprintf(stderr, "re-parse failed: %s\n", err.msg);
        abort();
    }
    if (sr_manifest_write(m2, &b, &err) != SR_OK || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        abort();
    uint8_t h1[32], h2[32];
    sr_manifest_data_hash(m, h1);
    sr_manifest_data_hash(m2, h2);
    if (memcmp(h1, h2, 32) != 0)
        abort();
    free(m);
    free(m2);
    sr_buf_free(&a);
    sr_buf_free(&b);
    return 0;
}

/* libFuzzer target: the KMS /v1/keys request parser (JSON, recipe, quote
 * structure, manifests) — everything the KMS reads before it uses a key. */
#include <stddef.h>
#include <stdint.h>

#include "sealroom/kms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_error err;
    (void)sr_kms_request_check(data, size, &err);
    return 0;
}

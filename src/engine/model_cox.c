/* Cox proportional hazards (placeholder until the implementation lands). */
#include <string.h>

#include "model_internal.h"

int sr_cox_fit(const sr_model_data *data, const sr_cox_opts *opts, sr_model_fit *out,
               sr_error *err)
{
    (void)data;
    (void)opts;
    if (out)
        memset(out, 0, sizeof(*out));
    return sr_error_set(err, SR_ESTATE, "cox: not implemented yet");
}

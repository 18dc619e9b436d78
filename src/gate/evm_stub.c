/* TEMPORARY stub so the gate room builds before the EVM backend exists.
 * evm helper: DELETE THIS FILE when you add src/gate/evm*.c defining
 * sr_gate_evm_open and sr_gate_evm_create (see gate_backend.h). */
#include "gate_backend.h"

int sr_gate_evm_open(sr_gate *g, const char *url, const uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err)
{
    (void)g;
    (void)url;
    (void)addr;
    return sr_error_set(err, SR_ESTATE, "EVM backend not built");
}

int sr_gate_evm_create(const char *url, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                       uint8_t app_out[SR_ETH_ADDR_LEN], sr_error *err)
{
    (void)url;
    (void)cfg;
    (void)deployer_sk;
    (void)app_out;
    return sr_error_set(err, SR_ESTATE, "EVM backend not built");
}

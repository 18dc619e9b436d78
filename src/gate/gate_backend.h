/* sealroom gate: the private backend interface. gate.c parses the spec,
 * allocates the sr_gate and calls a backend constructor, which sets ops,
 * impl and domain. Backends: ledger.c (ledger:PATH), evm*.c (evm:URL@ADDR).
 *
 * Contract for every backend op:
 *  - write ops get the claimed signer and its 65-byte signature; the backend
 *    must check that the signature recovers to signer under the gate's
 *    domain (or let the contract check it) and apply the refusal rules of
 *    gate.h with the codes given there;
 *  - status fills only the facts of sr_gate_status (domain, config,
 *    config_nonce, compose_hash, approved[], approved_pos[], n_approved,
 *    revoked*, frozen*, snapshot, pos_unit and, where the backend has one,
 *    has_snapshot_hash / snapshot_hash, has_declared / n_declared /
 *    declared); gate.c then calls
 *    sr_gate_decide so the decision and reason text are common code.
 *  - close frees impl (not g).
 * The sender key (EVM transaction sender) is g->sender_sk when
 * g->has_sender is non-zero. */
#ifndef SEALROOM_GATE_BACKEND_H
#define SEALROOM_GATE_BACKEND_H

#include "sealroom/gate.h"

typedef struct sr_gate_ops {
    const char *name; /* "ledger" / "evm" */
    int (*approve)(sr_gate *g, const uint8_t compose_hash[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                   const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
    int (*revoke)(sr_gate *g, const uint8_t compose_hash[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                  const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
    int (*freeze)(sr_gate *g, const uint8_t reason[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                  const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
    int (*change_owners)(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold, uint64_t nonce,
                         const uint8_t signer[SR_ETH_ADDR_LEN], const uint8_t sig[SR_ETH_SIG_LEN], int *applied,
                         sr_error *err);
    int (*get_config)(sr_gate *g, sr_gate_config *out, uint64_t *nonce, sr_error *err);
    int (*status)(sr_gate *g, const uint8_t compose_hash[32], sr_gate_status *out, sr_error *err);
    /* Hash of entry pos as of the last read (may be NULL: no entries). */
    int (*entry_hash)(sr_gate *g, uint64_t pos, uint8_t out[32], sr_error *err);
    void (*close)(sr_gate *g);
    /* evm only (NULL elsewhere): RequireOwners for a compose hash. */
    int (*require_owners)(sr_gate *g, const uint8_t compose_hash[32], const uint8_t (*addrs)[SR_ETH_ADDR_LEN],
                          size_t n, const uint8_t signer[SR_ETH_ADDR_LEN], const uint8_t sig[SR_ETH_SIG_LEN],
                          sr_error *err);
} sr_gate_ops;

struct sr_gate {
    const sr_gate_ops *ops;
    void *impl;
    sr_gate_domain domain;
    int has_sender;
    uint8_t sender_sk[SR_SECP_SECKEY_LEN];
};

/* Backend constructors. open: fill g (ops, impl, domain). create: make a
 * new consortium, return its app address. */
int sr_gate_ledger_open(sr_gate *g, const char *path, sr_error *err);
int sr_gate_ledger_create(const char *path, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                          uint8_t app_out[SR_ETH_ADDR_LEN], sr_error *err);
/* History of a ledger gate (g must be a ledger handle). */
int sr_gate_ledger_history(sr_gate *g, sr_gate_event **out, size_t *n, sr_error *err);
/* url is the JSON-RPC URL (http://127.0.0.1:8545). create: cfg->chain_id is
 * ignored (the node's chain id is used); deploys ConsortiumApp. */
int sr_gate_evm_open(sr_gate *g, const char *url, const uint8_t addr[SR_ETH_ADDR_LEN], sr_error *err);
int sr_gate_evm_create(const char *url, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                       uint8_t app_out[SR_ETH_ADDR_LEN], sr_error *err);

#endif

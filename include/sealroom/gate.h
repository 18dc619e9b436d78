/* sealroom: the consortium gate. A consortium (app) has owners, a threshold
 * k of n and the KMS root public key it trusts. A compose hash (SHA-256 of a
 * recipe file's bytes) is ALLOWED when
 *   - the app is not frozen, and
 *   - nobody revoked that compose hash, and
 *   - every owner whose dataset the recipe reads (the "required" owners)
 *     approved it, and
 *   - at least k distinct current owners approved it.
 * Any single owner may revoke a compose hash (final) or freeze the app
 * (final) alone. Changing the owners or the threshold needs k votes.
 *
 * Every action is an EIP-712 typed-data signature by an owner's Ethereum
 * key, so any wallet can make one. Domain and types (identical on every
 * backend; see docs/GATE.md "Semantics and signatures"):
 *
 *   EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)
 *     name = "sealroom", version = "1", chainId = the gate's chain id,
 *     verifyingContract = the app address (ledger: app id; evm: contract)
 *   Approve(bytes32 composeHash)
 *   Revoke(bytes32 composeHash)
 *   Freeze(bytes32 reason)
 *   ChangeOwners(Owner[] owners,uint256 threshold,uint256 nonce)Owner(string id,address addr,string jurisdiction,string grades)
 *   RequireOwners(bytes32 composeHash,address[] owners)      (EVM only)
 *
 * Backends, chosen by a spec string:
 *   "ledger:PATH"            embedded SQLite hash-chained signed ledger
 *   "evm:RPC_URL@0xADDRESS"  ConsortiumApp contract on an Ethereum node
 *                            (for sr_gate_create: "evm:RPC_URL", deploys)
 */
#ifndef SEALROOM_GATE_H
#define SEALROOM_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "sealroom/crypto.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SR_GATE_MAX_OWNERS 32
#define SR_GATE_NAME_MAX 64    /* consortium name: 1..64 printable ASCII, no control chars */
#define SR_GATE_ID_MAX 64      /* owner id: 1..64 of [A-Za-z0-9._-] */
#define SR_GATE_JURIS_MAX 32   /* jurisdiction: 0..32 of [A-Za-z0-9._-] (e.g. "US", "EU-DE") */
#define SR_GATE_GRADES_MAX 128 /* grades: 0..128 chars, comma-separated tokens of [A-Z0-9_-] */
#define SR_GATE_KMS_KEY_MAX 97 /* KMS root public key bytes (sealroom uses 33: compressed secp256k1) */
#define SR_GATE_REASON_MAX 512
#define SR_GATE_SPEC_MAX 1024

#define SR_GATE_DOMAIN_NAME "sealroom"
#define SR_GATE_DOMAIN_VERSION "1"
/* Chain id a new ledger gets unless the creator picks another (0x5ea1). */
#define SR_GATE_LEDGER_DEFAULT_CHAIN_ID 24225u

/* EIP-712 type strings (exact bytes hashed into typeHash). */
#define SR_GATE_TYPE_APPROVE "Approve(bytes32 composeHash)"
#define SR_GATE_TYPE_REVOKE "Revoke(bytes32 composeHash)"
#define SR_GATE_TYPE_FREEZE "Freeze(bytes32 reason)"
#define SR_GATE_TYPE_OWNER "Owner(string id,address addr,string jurisdiction,string grades)"
#define SR_GATE_TYPE_CHANGE_OWNERS \
    "ChangeOwners(Owner[] owners,uint256 threshold,uint256 nonce)" SR_GATE_TYPE_OWNER
#define SR_GATE_TYPE_REQUIRE_OWNERS "RequireOwners(bytes32 composeHash,address[] owners)"

/* An open gate (backend handle). A handle is used by one thread at a time;
 * open one per thread (ledger: SQLite serialises the processes and threads). */
typedef struct sr_gate sr_gate;

typedef struct sr_gate_owner {
    char id[SR_GATE_ID_MAX + 1];
    uint8_t addr[SR_ETH_ADDR_LEN];
    char jurisdiction[SR_GATE_JURIS_MAX + 1]; /* may be empty */
    char grades[SR_GATE_GRADES_MAX + 1];      /* canonical: upper case, "HIPAA,GDPR"; may be empty */
} sr_gate_owner;

typedef struct sr_gate_config {
    char name[SR_GATE_NAME_MAX + 1];
    sr_gate_owner owners[SR_GATE_MAX_OWNERS]; /* order is significant (ChangeOwners hash) */
    size_t n_owners;                          /* 1..SR_GATE_MAX_OWNERS */
    uint32_t threshold;                       /* k, 1..n_owners */
    uint8_t kms_pubkey[SR_GATE_KMS_KEY_MAX];
    size_t kms_pubkey_len; /* 1..SR_GATE_KMS_KEY_MAX */
    uint64_t chain_id;     /* ledger: chosen at creation (0 = default); evm: the node's */
} sr_gate_config;

/* The EIP-712 domain of an open gate. */
typedef struct sr_gate_domain {
    uint64_t chain_id;
    uint8_t app[SR_ETH_ADDR_LEN]; /* verifyingContract */
} sr_gate_domain;

/* A snapshot of the gate as seen for one compose hash. Positions ("pos")
 * are ledger sequence numbers or block numbers (pos_unit says which). */
typedef struct sr_gate_status {
    sr_gate_domain domain;
    sr_gate_config config;       /* current owners, threshold, KMS key */
    uint64_t config_nonce;       /* ChangeOwners nonce the next change must use */
    uint8_t compose_hash[32];
    int approved[SR_GATE_MAX_OWNERS];       /* per config.owners[i]: 1 if approved */
    uint64_t approved_pos[SR_GATE_MAX_OWNERS];
    size_t n_approved;                      /* distinct current owners who approved */
    int revoked;
    char revoked_by[SR_GATE_ID_MAX + 1];    /* owner id (at the time) */
    uint8_t revoked_by_addr[SR_ETH_ADDR_LEN];
    uint64_t revoked_pos;
    int frozen;
    char frozen_by[SR_GATE_ID_MAX + 1];
    uint8_t frozen_by_addr[SR_ETH_ADDR_LEN];
    uint64_t frozen_pos;
    uint8_t frozen_reason[32];
    uint64_t snapshot;     /* ledger: last sequence number; evm: block number read at */
    char pos_unit[8];      /* "seq" or "block" */
    /* ledger: the entry hash of entry `snapshot` (the head of the chain;
     * has_snapshot_hash = 1); evm: not filled (0). Owners pin
     * (snapshot, snapshot_hash) out of band; the KMS keeps it as its anchor. */
    int has_snapshot_hash;
    uint8_t snapshot_hash[32];
    /* evm: the required owners declared on chain for this compose hash
     * (requireOwners; has_declared = 1, n_declared = 0 when none was
     * declared); ledger: has_declared = 0. sr_gate_status_get adds them to
     * the caller's required list, so the decision matches the contract's. */
    int has_declared;
    size_t n_declared;
    uint8_t declared[SR_GATE_MAX_OWNERS][SR_ETH_ADDR_LEN];
    /* Decision, filled by sr_gate_status (common code, same on every backend). */
    int allowed;
    char reason[SR_GATE_REASON_MAX];
} sr_gate_status;

/* ---- specs, open, create --------------------------------------------- */

/* Opens an existing gate. The ledger backend verifies the whole chain
 * (every entry hash and signature) and fails with SR_EVERIFY if the file was
 * edited. */
int sr_gate_open(const char *spec, sr_gate **out, sr_error *err);
void sr_gate_close(sr_gate *g);

/* Creates a consortium. cfg is validated (sr_gate_config_validate). The
 * deployer key signs the ledger's creation entry / sends the EVM deployment.
 * app_out receives the app address (ledger app id or contract address).
 * spec_out (may be NULL) receives the spec to open it with afterwards. */
int sr_gate_create(const char *spec, const sr_gate_config *cfg, const uint8_t deployer_sk[SR_SECP_SECKEY_LEN],
                   uint8_t app_out[SR_ETH_ADDR_LEN], char *spec_out, size_t spec_out_cap, sr_error *err);

/* The backend name ("ledger" or "evm") and the EIP-712 domain of g. */
const char *sr_gate_backend(const sr_gate *g);
void sr_gate_get_domain(const sr_gate *g, sr_gate_domain *out);

/* EVM: the key that sends transactions carrying other people's signatures
 * (pays gas). If none is set, the *_with_key functions send with the
 * signer's own key. The ledger ignores it. Copied; wiped on close. */
int sr_gate_set_sender(sr_gate *g, const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);

/* ---- EIP-712 digests (pure, backend independent) --------------------- */

void sr_gate_domain_separator(const sr_gate_domain *d, uint8_t out[32]);
void sr_gate_approve_digest(const sr_gate_domain *d, const uint8_t compose_hash[32], uint8_t digest[32]);
void sr_gate_revoke_digest(const sr_gate_domain *d, const uint8_t compose_hash[32], uint8_t digest[32]);
void sr_gate_freeze_digest(const sr_gate_domain *d, const uint8_t reason[32], uint8_t digest[32]);
/* hashStruct(Owner) and the ChangeOwners digest over owners[0..n). */
void sr_gate_owner_hash(const sr_gate_owner *o, uint8_t out[32]);
void sr_gate_change_owners_digest(const sr_gate_domain *d, const sr_gate_owner *owners, size_t n,
                                  uint32_t threshold, uint64_t nonce, uint8_t digest[32]);
/* RequireOwners digest: hashStruct = kec(typeHash || composeHash ||
 * kec(addr_0 padded to 32 bytes || ... || addr_n-1 padded)). */
void sr_gate_require_owners_digest(const sr_gate_domain *d, const uint8_t compose_hash[32],
                                   const uint8_t (*addrs)[SR_ETH_ADDR_LEN], size_t n, uint8_t digest[32]);

/* ---- actions with a signature made elsewhere (wallet, ethers) -------- */
/* signer is the claimed owner address; the signature must recover to it
 * for this gate's domain (else SR_EVERIFY). Refusals: signer not a current
 * owner (SR_EDENIED), app frozen (SR_EDENIED), hash revoked (SR_EDENIED),
 * already approved/revoked/frozen by that action (SR_ESTATE), stale nonce
 * (SR_ESTATE). */
int sr_gate_approve_sig(sr_gate *g, const uint8_t compose_hash[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                        const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
int sr_gate_revoke_sig(sr_gate *g, const uint8_t compose_hash[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                       const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
int sr_gate_freeze_sig(sr_gate *g, const uint8_t reason[32], const uint8_t signer[SR_ETH_ADDR_LEN],
                       const uint8_t sig[SR_ETH_SIG_LEN], sr_error *err);
/* One owner's vote for a new owner list and threshold at the current nonce.
 * When k (the CURRENT threshold) distinct current owners have voted for the
 * same (owners, threshold, nonce), the change applies and the nonce goes up
 * by one; *applied (may be NULL) is set to 1 then, else 0. Approvals stay
 * recorded by address: after a change only current owners' approvals count. */
int sr_gate_change_owners_sig(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold,
                              uint64_t nonce, const uint8_t signer[SR_ETH_ADDR_LEN],
                              const uint8_t sig[SR_ETH_SIG_LEN], int *applied, sr_error *err);
/* EVM only: declares the owners (addresses, 1..32, distinct current owners)
 * whose approval the contract's isAppAllowed requires for compose_hash.
 * Once per hash, by a current owner, before any current owner approved it,
 * not revoked, not frozen (contract refusals map to SR_EDENIED / SR_ESTATE /
 * SR_EINVAL). The ledger backend refuses with SR_ESTATE: it always has the
 * recipe when it decides. */
int sr_gate_require_owners_sig(sr_gate *g, const uint8_t compose_hash[32], const uint8_t (*addrs)[SR_ETH_ADDR_LEN],
                               size_t n, const uint8_t signer[SR_ETH_ADDR_LEN], const uint8_t sig[SR_ETH_SIG_LEN],
                               sr_error *err);

/* ---- actions signed here with an owner key ---------------------------- */
int sr_gate_approve(sr_gate *g, const uint8_t compose_hash[32], const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
int sr_gate_revoke(sr_gate *g, const uint8_t compose_hash[32], const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
int sr_gate_freeze(sr_gate *g, const uint8_t reason[32], const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
int sr_gate_change_owners(sr_gate *g, const sr_gate_owner *owners, size_t n, uint32_t threshold, uint64_t nonce,
                          const uint8_t sk[SR_SECP_SECKEY_LEN], int *applied, sr_error *err);
int sr_gate_require_owners(sr_gate *g, const uint8_t compose_hash[32], const uint8_t (*addrs)[SR_ETH_ADDR_LEN],
                           size_t n, const uint8_t sk[SR_SECP_SECKEY_LEN], sr_error *err);
/* Signs an action digest (any of the above) with sk: r||s||v, v = 27/28. */
int sr_gate_sign_digest(const uint8_t digest[32], const uint8_t sk[SR_SECP_SECKEY_LEN], uint8_t sig[SR_ETH_SIG_LEN],
                        sr_error *err);

/* ---- reading ---------------------------------------------------------- */

/* Current configuration (owners, threshold, KMS key, chain id). */
int sr_gate_get_config(sr_gate *g, sr_gate_config *out, uint64_t *nonce, sr_error *err);

/* Status of compose_hash; required[0..n_required) are the owner ids whose
 * datasets the recipe reads (may be 0). Fills out->allowed and out->reason:
 *   "allowed: A/N approvals (k=K)"
 *   "frozen by ID at UNIT POS"                 (first precedence)
 *   "revoked by ID at UNIT POS"
 *   "not approved: unknown owner ID"           (a required id not an owner)
 *   "not approved: A/N (k=K)[, missing ID[,ID...]]"  (missing = required owners
 *                                               who have not approved)
 * UNIT is "seq" (ledger) or "block" (evm). Returns SR_OK whether or not the
 * hash is allowed; an error means the gate could not be read/verified. */
int sr_gate_status_get(sr_gate *g, const uint8_t compose_hash[32], const char *const *required, size_t n_required,
                       sr_gate_status *out, sr_error *err);

/* Applies the decision rule to a status whose facts are filled (config,
 * approved[], revoked*, frozen*, pos_unit): sets allowed and reason. Used by
 * sr_gate_status_get; public so KMS code and tests can reuse it. */
void sr_gate_decide(sr_gate_status *st, const char *const *required, size_t n_required);

/* JSON for `sealroom status --json` (malloc'd, caller frees):
 * {"allowed":bool,"reason":str,"backend":str,"app":"0x..","chain_id":int,
 *  "compose_hash":"0x..","threshold":k,"n_owners":n,"approvals":a,
 *  "owners":[{"id","address","jurisdiction","grades","approved","pos"}...],
 *  "revoked":bool,"revoked_by":str|null,"revoked_pos":int|null,
 *  "frozen":bool,"frozen_by":str|null,"frozen_pos":int|null,
 *  "snapshot":int,"pos_unit":"seq"|"block","config_nonce":int,
 *  "head_hash":"0x<64 hex>"|null,   (ledger: the entry hash at sequence
 *                                     "snapshot"; evm: null)
 *  "required_on_chain":[id...]|null} (evm: the declared required owners'
 *                                     ids, or "0x.." for an address that is no
 *                                     longer an owner; [] = none declared;
 *                                     ledger: null) */
char *sr_gate_status_json(const sr_gate_status *st, const char *backend);

/* Hash of the ledger entry at sequence pos (1..snapshot) as of this
 * handle's last read (sr_gate_status_get / sr_gate_get_config): no new read
 * is made, so a caller that just read a status under its own lock gets the
 * hash from the same verified chain (the KMS compares it with the entry it
 * saw before to detect a forked or restored ledger). SR_ENOTFOUND if pos is
 * 0 or past that head; SR_ESTATE on backends without entries (evm). */
int sr_gate_entry_hash(sr_gate *g, uint64_t pos, uint8_t out[32], sr_error *err);

/* ---- history (audit) --------------------------------------------------- */
/* One verified entry of the gate's history, oldest first. */
typedef struct sr_gate_event {
    uint64_t pos;                      /* ledger sequence number */
    char kind[16];                     /* "create", "approve", "revoke", "freeze", "owners" */
    uint8_t signer[SR_ETH_ADDR_LEN];
    char signer_id[SR_GATE_ID_MAX + 1]; /* owner id at that point; "" for the deployer */
    uint8_t word[32];                  /* approve/revoke: compose hash; freeze: reason; create: salt */
    size_t n_owners;                   /* create/owners: proposed owner count */
    uint32_t threshold;                /* create/owners: proposed threshold */
    uint64_t nonce;                    /* owners: the vote's nonce */
    int applied;                       /* owners: 1 if this vote applied the change */
} sr_gate_event;
/* Verifies and returns the whole history (*out malloc'd, caller frees).
 * Ledger only for now: SR_ESTATE on other backends. */
int sr_gate_history(sr_gate *g, sr_gate_event **out, size_t *n, sr_error *err);

/* ---- configuration helpers ------------------------------------------- */

/* Checks every field bound and character set, 1 <= k <= n, distinct ids,
 * distinct non-zero addresses. */
int sr_gate_config_validate(const sr_gate_config *cfg, sr_error *err);
/* Parses "ID=0xADDRESS[:JURISDICTION[:GRADES]]" (GRADES comma-separated,
 * canonicalised to upper case). */
int sr_gate_owner_parse(const char *text, sr_gate_owner *out, sr_error *err);
/* Validates a grades string and writes its canonical form (upper case,
 * duplicates dropped, order kept) into out (SR_GATE_GRADES_MAX + 1). */
int sr_gate_grades_canonical(const char *in, char *out, sr_error *err);
/* Index of the owner with that address / id in cfg, or -1. */
int sr_gate_owner_index_addr(const sr_gate_config *cfg, const uint8_t addr[SR_ETH_ADDR_LEN]);
int sr_gate_owner_index_id(const sr_gate_config *cfg, const char *id);

/* ---- consortium list criteria ----------------------------------------- */
/* A comma-separated list of criteria (`consortium list --criteria`):
 *   owners>=N            (N >= 1) match if n >= N; partial if n < N but
 *                        n >= 2 and 2n >= N; miss otherwise
 *   multi-jurisdiction   match if >= 2 distinct non-empty jurisdictions;
 *                        partial if fewer but some owner's jurisdiction is
 *                        empty (unknown); miss otherwise
 *   G1|G2|...            (grade names, case-insensitive) match if every
 *                        owner has one of them, partial if some, miss if none */
typedef enum { SR_GATE_MISS = 0, SR_GATE_PARTIAL = 1, SR_GATE_MATCH = 2 } sr_gate_match;
#define SR_GATE_MAX_CRITERIA 16
typedef struct sr_gate_criterion {
    char text[SR_GATE_GRADES_MAX + 1]; /* as given, trimmed */
    sr_gate_match result;
    char detail[128]; /* e.g. "4 owners", "2 jurisdictions: EU, US", "2/3 owners" */
} sr_gate_criterion;
int sr_gate_criteria_eval(const sr_gate_config *cfg, const char *criteria, sr_gate_criterion *out, size_t cap,
                          size_t *n_out, sr_error *err);
const char *sr_gate_match_name(sr_gate_match m); /* "match" / "partial" / "miss" */

#ifdef __cplusplus
}
#endif
#endif

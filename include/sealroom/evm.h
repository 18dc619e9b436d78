/* sealroom: Ethereum plumbing for the EVM gate backend — Solidity ABI
 * encoding/decoding (values as JSON), RLP, EIP-1559 transactions and a
 * JSON-RPC client over libcurl. See docs/GATE.md, section "EVM backend". */
#ifndef SEALROOM_EVM_H
#define SEALROOM_EVM_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "sealroom/buf.h"
#include "sealroom/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ABI ---------------------------------------------------------------
 * Types are written as in Solidity's canonical signatures: uintN, intN,
 * address, bool, bytesN (1..32), bytes, string, T[], T[k] and tuples
 * "(T1,T2,...)". Values are JSON:
 *   uintN/intN   encode: JSON integer, decimal string ("-5" for intN) or
 *                "0x" hex string; decode: decimal string.
 *   address      "0x" + 40 hex (decode: lowercase).
 *   bool         true / false.
 *   bytesN/bytes "0x" + hex (decode: lowercase).
 *   string       JSON string (UTF-8, may not contain NUL).
 *   T[] / T[k]   JSON array; tuples: JSON array with one item per field.
 * Decoding is strict and bounded: every offset and length is checked
 * against the data, padding must be zero, bools are 0/1, addresses have
 * 12 zero bytes, values must fit their width, nesting is limited to
 * SR_ABI_MAX_DEPTH and the total decoded size to a budget proportional to
 * the input, so hostile return data cannot make it loop or balloon. */
#define SR_ABI_MAX_DEPTH 16
#define SR_ABI_MAX_TYPE_LEN 4096

typedef struct sr_abi_type sr_abi_type;

/* Parses a type string such as "(address,bytes32,string[])". */
int sr_abi_type_parse(const char *text, sr_abi_type **out, sr_error *err);
void sr_abi_type_free(sr_abi_type *t);

/* Appends the ABI encoding of value (as type t) to out. */
int sr_abi_encode(const sr_abi_type *t, const json_t *value, sr_buf *out, sr_error *err);
/* Decodes data as type t into a new JSON value. */
int sr_abi_decode(const sr_abi_type *t, const uint8_t *data, size_t len, json_t **out, sr_error *err);

/* Convenience over a parameter list: types is a tuple type string such as
 * "(bytes32,bytes)" and args / the result a JSON array. */
int sr_abi_encode_params(const char *types, const json_t *args, sr_buf *out, sr_error *err);
int sr_abi_decode_params(const char *types, const uint8_t *data, size_t len, json_t **out, sr_error *err);

/* 4-byte selector of a canonical function signature "approve(bytes32)". */
void sr_abi_selector(const char *signature, uint8_t sel[4]);
/* selector(signature) || encode(parameter tuple of signature, args). */
int sr_abi_encode_call(const char *signature, const json_t *args, sr_buf *out, sr_error *err);

/* ---- RLP ----------------------------------------------------------------
 * Encoder: append items to a payload buffer, then wrap it as a list. */
int sr_rlp_put_bytes(sr_buf *out, const uint8_t *data, size_t n, sr_error *err);
/* An unsigned integer: big-endian with no leading zero bytes (0 -> 0x80). */
int sr_rlp_put_uint(sr_buf *out, uint64_t v, sr_error *err);
/* A 256-bit big-endian unsigned integer, leading zeros stripped. */
int sr_rlp_put_uint256(sr_buf *out, const uint8_t be[32], sr_error *err);
/* Appends a list header for payload_len bytes followed by the payload. */
int sr_rlp_put_list(sr_buf *out, const uint8_t *payload, size_t payload_len, sr_error *err);

/* Decoder: reads one item at data[*pos..len). Strict (canonical forms
 * only: single bytes < 0x80 never wrapped, minimal length-of-length, no
 * leading zeros in lengths). *is_list tells a list from a string;
 * payload/plen the item's contents; *pos advances past the item. */
int sr_rlp_next(const uint8_t *data, size_t len, size_t *pos, int *is_list, const uint8_t **payload,
                size_t *plen, sr_error *err);

/* ---- EIP-1559 transactions --------------------------------------------- */
typedef struct sr_eth_tx {
    uint64_t chain_id;
    uint64_t nonce;
    uint64_t max_priority_fee; /* wei per gas */
    uint64_t max_fee;          /* wei per gas */
    uint64_t gas_limit;
    int has_to;                /* 0: contract creation */
    uint8_t to[20];
    uint8_t value[32];         /* wei, big-endian */
    const uint8_t *data;
    size_t data_len;
} sr_eth_tx;

/* keccak256(0x02 || rlp([chainId, nonce, maxPriorityFeePerGas,
 * maxFeePerGas, gasLimit, to, value, data, accessList=[]])). */
int sr_eth_tx_signing_hash(const sr_eth_tx *tx, uint8_t out[32], sr_error *err);
/* Signs: raw = 0x02 || rlp([... 9 fields ..., yParity, r, s]);
 * hash = keccak256(raw) (the transaction hash). */
int sr_eth_tx_sign(const sr_eth_tx *tx, const uint8_t sk[32], sr_buf *raw, uint8_t hash[32], sr_error *err);
/* Address of a contract created by sender with nonce:
 * keccak256(rlp([sender, nonce]))[12:]. */
int sr_eth_create_address(const uint8_t sender[20], uint64_t nonce, uint8_t out[20], sr_error *err);

/* ---- JSON-RPC over HTTP (libcurl) -------------------------------------- */
#define SR_ETHRPC_MAX_RESPONSE (8u * 1024u * 1024u)

typedef struct sr_ethrpc sr_ethrpc;

/* url: "http://host:port[/path]" (http or https). timeout_ms bounds each
 * request (0 = 30 s). */
int sr_ethrpc_open(const char *url, long timeout_ms, sr_ethrpc **out, sr_error *err);
void sr_ethrpc_close(sr_ethrpc *r);

/* Reads a JSON-RPC 2.0 response body: must be an object with "jsonrpc":
 * "2.0", the expected numeric id, and exactly one of "result" / "error".
 * An error object becomes SR_ENET with "rpc error CODE: MESSAGE" (and the
 * revert data if any). *result gets a new reference. */
int sr_ethrpc_parse_response(const void *body, size_t len, int64_t expect_id, json_t **result, sr_error *err);

/* Calls method with params (a JSON array, reference stolen; NULL = []). */
int sr_ethrpc_call(sr_ethrpc *r, const char *method, json_t *params, json_t **result, sr_error *err);

/* Parses a quantity "0x..." (no leading zeros except "0x0") into u64. */
int sr_ethrpc_quantity(const json_t *v, uint64_t *out, sr_error *err);

int sr_ethrpc_chain_id(sr_ethrpc *r, uint64_t *out, sr_error *err);
int sr_ethrpc_block_number(sr_ethrpc *r, uint64_t *out, sr_error *err);
/* block: "latest", "pending" or a number formatted by the caller. */
int sr_ethrpc_nonce(sr_ethrpc *r, const uint8_t addr[20], const char *block, uint64_t *out, sr_error *err);
int sr_ethrpc_get_code(sr_ethrpc *r, const uint8_t addr[20], uint64_t block, sr_buf *out, sr_error *err);
/* eth_call of data at `to`, pinned to block (UINT64_MAX = "latest"). */
int sr_ethrpc_eth_call(sr_ethrpc *r, const uint8_t *from, const uint8_t to[20], const uint8_t *data,
                       size_t len, uint64_t block, sr_buf *out, sr_error *err);
int sr_ethrpc_estimate_gas(sr_ethrpc *r, const uint8_t from[20], const uint8_t *to, const uint8_t *data,
                           size_t len, uint64_t *gas, sr_error *err);
int sr_ethrpc_send_raw(sr_ethrpc *r, const uint8_t *raw, size_t len, uint8_t hash[32], sr_error *err);
/* eth_getLogs of the contract at addr over blocks [from, to] (to =
 * UINT64_MAX: "latest"), optionally filtered on topic0 (NULL = any). *logs
 * gets the JSON array as the node returns it (each log checked to be an
 * object with "topics" and "data"). */
int sr_ethrpc_get_logs(sr_ethrpc *r, const uint8_t addr[20], uint64_t from, uint64_t to, const uint8_t *topic0,
                       json_t **logs, sr_error *err);
/* Polls eth_getTransactionReceipt until it exists (or wait_ms passes:
 * SR_ENET "timed out"). */
int sr_ethrpc_wait_receipt(sr_ethrpc *r, const uint8_t hash[32], long wait_ms, json_t **receipt, sr_error *err);

/* Builds, signs, sends an EIP-1559 transaction from sk's address and waits
 * for its receipt. to NULL = deployment. gas_limit 0 = eth_estimateGas
 * + 25%. Fees: maxPriorityFee = eth_maxPriorityFeePerGas (1 gwei if the
 * node lacks it), maxFee = 2 * latest baseFee + priority. A reverted
 * transaction fails with SR_EDENIED and the revert reason (re-run with
 * eth_call at the block before). Fills the optional outputs. */
typedef struct sr_eth_sent {
    uint8_t hash[32];
    uint64_t block;
    uint64_t gas_used;
    int has_contract;
    uint8_t contract[20];
} sr_eth_sent;
int sr_ethrpc_transact(sr_ethrpc *r, const uint8_t sk[32], const uint8_t *to, const uint8_t *data, size_t len,
                       uint64_t gas_limit, sr_eth_sent *sent, sr_error *err);

/* Decodes revert data (Error(string) or Panic(uint256)) to text in out. */
void sr_evm_revert_reason(const uint8_t *data, size_t len, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif

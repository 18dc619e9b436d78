/* Internal helpers shared by the attest room's files (not public API). */
#ifndef SEALROOM_ATTEST_INT_H
#define SEALROOM_ATTEST_INT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "sealroom/attest.h"

/* Parses a certificate list: strict PEM ("-----BEGIN CERTIFICATE-----"
 * blocks, only CR/LF inside the base64, only whitespace and NUL after the
 * last block) or concatenated DER (each certificate consuming exactly its
 * own length). Returns a new stack in file order. max limits the count. */
STACK_OF(X509) *sr_att_parse_certs(const uint8_t *data, size_t len, size_t max, const char *what, sr_error *err);
/* Same for CRLs (one or more PEM "X509 CRL" blocks, or one DER CRL). */
STACK_OF(X509_CRL) *sr_att_parse_crls(const uint8_t *data, size_t len, const char *what, sr_error *err);

/* Verifies an ECDSA P-256/SHA-256 signature given as raw r||s. Returns
 * SR_OK, SR_EVERIFY (mismatch) or SR_ECRYPTO. */
int sr_att_ecdsa_verify_raw(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[64], sr_error *err);
/* EVP_PKEY of an uncompressed P-256 point X||Y (64 bytes). */
EVP_PKEY *sr_att_p256_pubkey(const uint8_t xy[64], sr_error *err);
/* Signs with a P-256 key, writing raw r||s. */
int sr_att_ecdsa_sign_raw(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t sig[64], sr_error *err);
/* X||Y of a P-256 key. */
int sr_att_p256_xy(EVP_PKEY *key, uint8_t xy[64], sr_error *err);

/* Verifies `chain` (leaf first) to one of `roots` at time now. On success
 * *verified gets the verified chain (leaf .. anchor; caller frees with
 * OSSL_STACK_OF_X509_free / sk_X509_pop_free). */
int sr_att_verify_chain(X509 *leaf, STACK_OF(X509) *intermediates, STACK_OF(X509) *roots, time_t now,
                        STACK_OF(X509) **verified, sr_error *err);

/* Checks each CRL whose issuer is a certificate of `chain`: signature by
 * that certificate, lastUpdate <= now <= nextUpdate, and no certificate of
 * the chain issued by it listed as revoked. */
int sr_att_check_crls(STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls, time_t now, sr_error *err);

/* The CN of a certificate's subject into out (truncated). */
void sr_att_subject_cn(X509 *c, char *out, size_t cap);
/* 1 if the certificate is a sealroom simulated-TEE root. */
int sr_att_is_sim_root(X509 *c);
#define SR_SIM_ROOT_CN "sealroom SIMULATED TEE root - not Intel"
#define SR_SIM_ORG "sealroom simulated TEE"

/* PCK certificate SGX extension (OID 1.2.840.113741.1.13.1). */
typedef struct sr_pck_ext {
    uint8_t fmspc[6];
    uint8_t pce_id[2];
    uint8_t cpusvn[16];
    uint8_t comp[16];
    uint16_t pcesvn;
} sr_pck_ext;
/* SR_ENOTFOUND when the certificate has no SGX extension. */
int sr_att_pck_ext(X509 *leaf, sr_pck_ext *out, sr_error *err);
/* DER of an SGX extension value holding the given fields (for the sim). */
int sr_att_pck_ext_der(const sr_pck_ext *e, sr_buf *out, sr_error *err);

/* Collateral evaluation (collateral.c). */
typedef struct sr_collateral sr_collateral;
int sr_collateral_parse(const char *json, size_t len, sr_collateral **out, sr_error *err);
void sr_collateral_free(sr_collateral *c);
/* CRLs carried by the collateral (may be empty; owned by c). */
STACK_OF(X509_CRL) *sr_collateral_crls(sr_collateral *c);
/* Checks the issueDate..nextUpdate windows of TCB info and QE identity. */
int sr_collateral_check_time(sr_collateral *c, time_t now, sr_error *err);
/* Checks signatures (issuer chains to roots), validity at now, and
 * evaluates the TCB status of the quote / PCK extension into res. */
int sr_collateral_evaluate(sr_collateral *c, STACK_OF(X509) *roots, time_t now, const sr_quote *q,
                           const sr_pck_ext *pck, sr_attest_result *res, sr_error *err);

/* The TCB part of sr_collateral_evaluate without the signature checks:
 * only for callers that checked them (and for the fuzzer). */
int sr_collateral_eval_tcb(sr_collateral *c, time_t now, const sr_quote *q, const sr_pck_ext *pck,
                           sr_attest_result *res, sr_error *err);

/* Formats a time as RFC 3339 UTC into out (needs 21 bytes). */
void sr_att_format_time(time_t t, char out[32]);

#endif

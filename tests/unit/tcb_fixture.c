/* Test-only TCB info signer: see tcb_fixture.h. */
#include "tcb_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

struct sr_test_tcb_signer {
    EVP_PKEY *key;
    char *pem;
};

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

void sr_test_tcb_signer_free(sr_test_tcb_signer *s)
{
    if (s == NULL)
        return;
    EVP_PKEY_free(s->key);
    free(s->pem);
    free(s);
}

sr_test_tcb_signer *sr_test_tcb_signer_new(time_t not_before, time_t not_after)
{
    sr_test_tcb_signer *s = calloc(1, sizeof *s);
    X509 *x = X509_new();
    X509_NAME *n = X509_NAME_new();
    BIO *b = BIO_new(BIO_s_mem());
    int ok = s != NULL && x != NULL && n != NULL && b != NULL && (s->key = EVP_EC_gen("P-256")) != NULL;
    ok = ok && X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), 7) == 1 &&
         X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"sealroom TEST TCB Signing - not Intel", -1, -1, 0) == 1 &&
         X509_set_subject_name(x, n) == 1 && X509_set_issuer_name(x, n) == 1 &&
         ASN1_TIME_set(X509_getm_notBefore(x), not_before) != NULL &&
         ASN1_TIME_set(X509_getm_notAfter(x), not_after) != NULL && X509_set_pubkey(x, s->key) == 1 &&
         add_ext(x, NID_basic_constraints, "critical,CA:TRUE") &&
         add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
         add_ext(x, NID_subject_key_identifier, "hash") && add_ext(x, NID_authority_key_identifier, "keyid:always") &&
         X509_sign(x, s->key, EVP_sha256()) > 0 && PEM_write_bio_X509(b, x) == 1;
    if (ok) {
        char *p = NULL;
        long len = BIO_get_mem_data(b, &p);
        ok = len > 0 && (s->pem = strndup(p, (size_t)len)) != NULL;
    }
    BIO_free(b);
    X509_NAME_free(n);
    X509_free(x);
    if (!ok) {
        sr_test_tcb_signer_free(s);
        return NULL;
    }
    return s;
}

const char *sr_test_tcb_signer_pem(const sr_test_tcb_signer *s)
{
    return s->pem;
}

/* ECDSA P-256/SHA-256 over doc as hex of r || s (what collateral carries). */
static int sign_hex(EVP_PKEY *key, const char *doc, char hex[129])
{
    unsigned char der[128], raw[64];
    size_t dl = sizeof der;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL && EVP_DigestSignInit(m, NULL, EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestSign(m, der, &dl, (const unsigned char *)doc, strlen(doc)) == 1;
    EVP_MD_CTX_free(m);
    if (!ok)
        return 0;
    const unsigned char *q = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)dl);
    if (es == NULL)
        return 0;
    const BIGNUM *r = NULL, *sv = NULL;
    ECDSA_SIG_get0(es, &r, &sv);
    ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(sv, raw + 32, 32) == 32;
    ECDSA_SIG_free(es);
    for (int i = 0; ok && i < 64; i++)
        snprintf(hex + 2 * i, 3, "%02x", raw[i]);
    return ok;
}

char *sr_test_collateral_with_level(const sr_test_tcb_signer *s, const char *collateral, size_t len,
                                    const char *level)
{
    static const char status[] = "\"tcbStatus\":\"UpToDate\"";
    static const char anchor[] = "\"tcbStatus\":\"UpToDate\"},{\"tcb\":{\"sgxtcbcomponents\"";
    char *out = NULL, *ti = NULL, hex[129];
    json_t *c = json_loadb(collateral, len, 0, NULL);
    const char *old = json_string_value(json_object_get(c, "tcb_info"));
    const char *at = old ? strstr(old, anchor) : NULL;
    if (at == NULL || strstr(at + 1, anchor) != NULL)
        goto out;
    size_t n = strlen(old) + strlen(level) + 1;
    if ((ti = malloc(n)) == NULL)
        goto out;
    snprintf(ti, n, "%.*s%s%s", (int)(at - old), old, level, at + strlen(status));
    if (!sign_hex(s->key, ti, hex) || json_object_set_new(c, "tcb_info", json_string(ti)) != 0 ||
        json_object_set_new(c, "tcb_info_signature", json_string(hex)) != 0 ||
        json_object_set_new(c, "tcb_info_issuer_chain", json_string(s->pem)) != 0)
        goto out;
    out = json_dumps(c, JSON_COMPACT);
out:
    free(ti);
    json_decref(c);
    return out;
}

/* X.509, ECDSA and DER helpers for attestation (OpenSSL 3). */
#include "attest_int.h"

#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#define PEM_BEGIN_CERT "-----BEGIN CERTIFICATE-----"
#define PEM_END_CERT "-----END CERTIFICATE-----"
#define PEM_BEGIN_CRL "-----BEGIN X509 CRL-----"
#define PEM_END_CRL "-----END X509 CRL-----"

/* ---- strict base64 ------------------------------------------------------ */

static int b64val(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes base64 allowing CR/LF between characters; padding only at the
 * end; the unused bits of the last group must be zero (so that exactly one
 * text encodes a given byte string, up to line breaks). */
static int b64_strict(const uint8_t *in, size_t n, sr_buf *out, sr_error *err)
{
    uint32_t acc = 0;
    int nacc = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (c == '\n' || c == '\r')
            continue;
        if (c == '=') {
            pad++;
            if (pad > 2)
                return sr_error_set(err, SR_EFORMAT, "PEM: too much base64 padding");
            continue;
        }
        int v = b64val(c);
        if (v < 0 || pad)
            return sr_error_set(err, SR_EFORMAT, "PEM: invalid base64 character 0x%02x", c);
        acc = acc << 6 | (uint32_t)v;
        if (++nacc == 4) {
            uint8_t b[3] = {(uint8_t)(acc >> 16), (uint8_t)(acc >> 8), (uint8_t)acc};
            int rc = sr_buf_append(out, b, 3, err);
            if (rc != SR_OK)
                return rc;
            acc = 0;
            nacc = 0;
        }
    }
    if (nacc + pad != 4 && !(nacc == 0 && pad == 0))
        return sr_error_set(err, SR_EFORMAT, "PEM: base64 length is not a multiple of 4");
    if (nacc == 3) { /* 18 bits, 16 used */
        if (acc & 0x3)
            return sr_error_set(err, SR_EFORMAT, "PEM: non-zero base64 padding bits");
        uint8_t b[2] = {(uint8_t)(acc >> 10), (uint8_t)(acc >> 2)};
        return sr_buf_append(out, b, 2, err);
    }
    if (nacc == 2) { /* 12 bits, 8 used */
        if (acc & 0xf)
            return sr_error_set(err, SR_EFORMAT, "PEM: non-zero base64 padding bits");
        uint8_t b = (uint8_t)(acc >> 4);
        return sr_buf_append(out, &b, 1, err);
    }
    if (nacc == 1)
        return sr_error_set(err, SR_EFORMAT, "PEM: truncated base64");
    return SR_OK;
}

static const uint8_t *find(const uint8_t *p, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m > n)
        return NULL;
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(p + i, needle, m) == 0)
            return p + i;
    return NULL;
}

static int is_pem_space(uint8_t c)
{
    return c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == 0;
}

/* Splits strict PEM into DER blobs; cb receives each. */
typedef int (*der_cb)(const uint8_t *der, size_t n, void *ctx, sr_error *err);

static int pem_each(const uint8_t *p, size_t n, const char *begin, const char *end, size_t max, const char *what,
                    der_cb cb, void *ctx, sr_error *err)
{
    size_t off = 0, count = 0;
    sr_buf der;
    sr_buf_init(&der);
    int rc = SR_OK;
    for (;;) {
        while (off < n && is_pem_space(p[off]))
            off++;
        if (off == n)
            break;
        size_t bl = strlen(begin), el = strlen(end);
        if (n - off < bl || memcmp(p + off, begin, bl) != 0) {
            rc = sr_error_set(err, SR_EFORMAT, "%s: unexpected bytes at offset %zu (expected %s)", what, off, begin);
            break;
        }
        off += bl;
        const uint8_t *e = find(p + off, n - off, end);
        if (e == NULL) {
            rc = sr_error_set(err, SR_EFORMAT, "%s: missing %s", what, end);
            break;
        }
        if (++count > max) {
            rc = sr_error_set(err, SR_ELIMIT, "%s: more than %zu entries", what, max);
            break;
        }
        sr_buf_reset(&der);
        if ((rc = b64_strict(p + off, (size_t)(e - (p + off)), &der, err)) != SR_OK) {
            sr_error_prefix(err, "%s: entry %zu", what, count);
            break;
        }
        off = (size_t)(e - p) + el;
        if ((rc = cb(der.data, der.len, ctx, err)) != SR_OK)
            break;
    }
    if (rc == SR_OK && count == 0)
        rc = sr_error_set(err, SR_EFORMAT, "%s: no PEM entries", what);
    sr_buf_free(&der);
    return rc;
}

static int push_cert(const uint8_t *der, size_t n, void *ctx, sr_error *err)
{
    STACK_OF(X509) *sk = ctx;
    const uint8_t *q = der;
    X509 *c = d2i_X509(NULL, &q, (long)n);
    if (c == NULL) {
        ERR_clear_error();
        return sr_error_set(err, SR_EFORMAT, "certificate %d: not valid DER", sk_X509_num(sk) + 1);
    }
    if ((size_t)(q - der) != n) {
        X509_free(c);
        return sr_error_set(err, SR_EFORMAT, "certificate %d: %zu trailing bytes", sk_X509_num(sk) + 1,
                            n - (size_t)(q - der));
    }
    if (!sk_X509_push(sk, c)) {
        X509_free(c);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    return SR_OK;
}

/* Length of the DER TLV at p (n bytes available), or 0 if malformed. */
static size_t der_tlv_len(const uint8_t *p, size_t n)
{
    if (n < 2)
        return 0;
    size_t len, hl;
    if (p[1] < 0x80) {
        len = p[1];
        hl = 2;
    } else {
        size_t k = p[1] & 0x7f;
        if (k == 0 || k > 4 || n < 2 + k)
            return 0;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | p[2 + i];
        hl = 2 + k;
    }
    if (len > n - hl)
        return 0;
    return hl + len;
}

STACK_OF(X509) *sr_att_parse_certs(const uint8_t *data, size_t len, size_t max, const char *what, sr_error *err)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    if (sk == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = SR_OK;
    if (len > 0 && data[0] == 0x30) { /* concatenated DER */
        size_t off = 0;
        while (off < len && rc == SR_OK) {
            size_t t = der_tlv_len(data + off, len - off);
            if (t == 0) {
                rc = sr_error_set(err, SR_EFORMAT, "%s: malformed DER at offset %zu", what, off);
                break;
            }
            if ((size_t)sk_X509_num(sk) >= max) {
                rc = sr_error_set(err, SR_ELIMIT, "%s: more than %zu certificates", what, max);
                break;
            }
            rc = push_cert(data + off, t, sk, err);
            off += t;
        }
        if (rc != SR_OK)
            sr_error_prefix(err, "%s", what);
    } else {
        rc = pem_each(data, len, PEM_BEGIN_CERT, PEM_END_CERT, max, what, push_cert, sk, err);
    }
    if (rc != SR_OK) {
        sk_X509_pop_free(sk, X509_free);
        return NULL;
    }
    return sk;
}

static int push_crl(const uint8_t *der, size_t n, void *ctx, sr_error *err)
{
    STACK_OF(X509_CRL) *sk = ctx;
    const uint8_t *q = der;
    X509_CRL *c = d2i_X509_CRL(NULL, &q, (long)n);
    if (c == NULL || (size_t)(q - der) != n) {
        X509_CRL_free(c);
        ERR_clear_error();
        return sr_error_set(err, SR_EFORMAT, "CRL %d: not valid DER", sk_X509_CRL_num(sk) + 1);
    }
    if (!sk_X509_CRL_push(sk, c)) {
        X509_CRL_free(c);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    return SR_OK;
}

STACK_OF(X509_CRL) *sr_att_parse_crls(const uint8_t *data, size_t len, const char *what, sr_error *err)
{
    STACK_OF(X509_CRL) *sk = sk_X509_CRL_new_null();
    if (sk == NULL) {
        sr_error_set(err, SR_ENOMEM, "out of memory");
        return NULL;
    }
    int rc;
    if (len > 0 && data[0] == 0x30)
        rc = push_crl(data, len, sk, err);
    else
        rc = pem_each(data, len, PEM_BEGIN_CRL, PEM_END_CRL, 16, what, push_crl, sk, err);
    if (rc != SR_OK) {
        sr_error_prefix(err, "%s", what);
        sk_X509_CRL_pop_free(sk, X509_CRL_free);
        return NULL;
    }
    return sk;
}

/* ---- ECDSA ----------------------------------------------------------------- */

EVP_PKEY *sr_att_p256_pubkey(const uint8_t xy[64], sr_error *err)
{
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, xy, 64);
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt);
    params[2] = OSSL_PARAM_construct_end();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    EVP_PKEY *key = NULL;
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        sr_error_set(err, SR_EVERIFY, "attestation key is not a valid P-256 point");
        return NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    /* fromdata does not check the point is on the curve: check it (the
     * quick check: on the curve, not infinity; P-256 has cofactor 1, so the
     * order check of the full public_check adds nothing but a scalar
     * multiplication). */
    EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    int ok = chk != NULL && EVP_PKEY_public_check_quick(chk) == 1;
    EVP_PKEY_CTX_free(chk);
    if (!ok) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        sr_error_set(err, SR_EVERIFY, "attestation key is not a valid P-256 point");
        return NULL;
    }
    return key;
}

int sr_att_p256_xy(EVP_PKEY *key, uint8_t xy[64], sr_error *err)
{
    uint8_t pt[65];
    size_t n = 0;
    if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt, &n) != 1 || n != 65 ||
        pt[0] != 0x04)
        return sr_error_openssl(err, "reading a P-256 public key");
    memcpy(xy, pt + 1, 64);
    return SR_OK;
}

int sr_att_ecdsa_verify_raw(EVP_PKEY *key, const uint8_t *msg, size_t n, const uint8_t sig[64], sr_error *err)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
    uint8_t *der = NULL;
    int derlen = -1;
    if (s != NULL && r != NULL && ss != NULL && ECDSA_SIG_set0(s, r, ss) == 1) {
        r = ss = NULL; /* owned by s */
        derlen = i2d_ECDSA_SIG(s, &der);
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    if (derlen <= 0) {
        OPENSSL_free(der);
        return sr_error_openssl(err, "encoding an ECDSA signature");
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int rc;
    if (md == NULL || EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1) {
        rc = sr_error_openssl(err, "ECDSA verify init");
    } else {
        int v = EVP_DigestVerify(md, der, (size_t)derlen, msg, n);
        if (v == 1) {
            rc = SR_OK;
        } else {
            ERR_clear_error();
            rc = sr_error_set(err, SR_EVERIFY, "ECDSA signature does not verify");
        }
    }
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return rc;
}

int sr_att_ecdsa_sign_raw(EVP_PKEY *key, const uint8_t *msg, size_t n, uint8_t sig[64], sr_error *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t der[80];
    size_t derlen = sizeof der;
    int rc = SR_OK;
    if (md == NULL || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, der, &derlen, msg, n) != 1) {
        rc = sr_error_openssl(err, "ECDSA sign");
    }
    EVP_MD_CTX_free(md);
    if (rc != SR_OK)
        return rc;
    const uint8_t *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (s == NULL)
        return sr_error_openssl(err, "decoding an ECDSA signature");
    const BIGNUM *r, *ss;
    ECDSA_SIG_get0(s, &r, &ss);
    if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(ss, sig + 32, 32) != 32)
        rc = sr_error_set(err, SR_ECRYPTO, "ECDSA signature component too large");
    ECDSA_SIG_free(s);
    return rc;
}

/* ---- chains and CRLs ------------------------------------------------------- */

void sr_att_subject_cn(X509 *c, char *out, size_t cap)
{
    out[0] = '\0';
    X509_NAME *nm = X509_get_subject_name(c);
    int i = X509_NAME_get_index_by_NID(nm, NID_commonName, -1);
    if (i < 0)
        return;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i));
    int n = ASN1_STRING_length(s);
    const unsigned char *d = ASN1_STRING_get0_data(s);
    size_t k = 0;
    for (int j = 0; j < n && k + 1 < cap; j++)
        out[k++] = (d[j] >= 0x20 && d[j] < 0x7f) ? (char)d[j] : '?';
    out[k] = '\0';
}

int sr_att_is_sim_root(X509 *c)
{
    char cn[128];
    sr_att_subject_cn(c, cn, sizeof cn);
    return strncmp(cn, "sealroom SIMULATED", 18) == 0;
}

int sr_att_verify_chain(X509 *leaf, STACK_OF(X509) *intermediates, STACK_OF(X509) *roots, time_t now,
                        STACK_OF(X509) **verified, sr_error *err)
{
    *verified = NULL;
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int rc = SR_OK;
    if (st == NULL || ctx == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < sk_X509_num(roots); i++) {
        if (X509_STORE_add_cert(st, sk_X509_value(roots, i)) != 1) {
            ERR_clear_error(); /* duplicate roots are harmless */
        }
    }
    if (X509_STORE_CTX_init(ctx, st, leaf, intermediates) != 1) {
        rc = sr_error_openssl(err, "X509_STORE_CTX_init");
        goto done;
    }
    X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(vp, now);
    X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
    X509_VERIFY_PARAM_set_depth(vp, 4);
    if (X509_verify_cert(ctx) != 1) {
        int e = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        ERR_clear_error();
        rc = sr_error_set(err, SR_EVERIFY, "chain does not verify to a pinned root: %s (depth %d)",
                          X509_verify_cert_error_string(e), depth);
        goto done;
    }
    *verified = X509_STORE_CTX_get1_chain(ctx);
    if (*verified == NULL)
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
done:
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return rc;
}

int sr_att_check_crls(STACK_OF(X509) *chain, STACK_OF(X509_CRL) *crls, time_t now, sr_error *err)
{
    for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(crls, i);
        X509_NAME *iss = X509_CRL_get_issuer(crl);
        X509 *issuer = NULL;
        for (int j = 0; j < sk_X509_num(chain); j++) {
            if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(chain, j)), iss) == 0) {
                issuer = sk_X509_value(chain, j);
                break;
            }
        }
        if (issuer == NULL)
            continue; /* a CRL of another CA: not about this chain */
        char cn[128];
        sr_att_subject_cn(issuer, cn, sizeof cn);
        EVP_PKEY *k = X509_get0_pubkey(issuer);
        if (k == NULL || X509_CRL_verify(crl, k) != 1) {
            ERR_clear_error();
            return sr_error_set(err, SR_EVERIFY, "CRL of \"%s\": signature does not verify", cn);
        }
        const ASN1_TIME *lu = X509_CRL_get0_lastUpdate(crl), *nu = X509_CRL_get0_nextUpdate(crl);
        if (lu == NULL || X509_cmp_time(lu, &now) > 0)
            return sr_error_set(err, SR_EVERIFY, "CRL of \"%s\" is not yet valid at the evaluation time", cn);
        if (nu == NULL || X509_cmp_time(nu, &now) < 0)
            return sr_error_set(err, SR_EVERIFY, "collateral expired: the CRL of \"%s\" is past its nextUpdate", cn);
        for (int j = 0; j < sk_X509_num(chain); j++) {
            X509 *c = sk_X509_value(chain, j);
            if (X509_NAME_cmp(X509_get_issuer_name(c), iss) != 0 || c == issuer)
                continue;
            X509_REVOKED *rev = NULL;
            if (X509_CRL_get0_by_cert(crl, &rev, c) == 1) {
                char ccn[128];
                sr_att_subject_cn(c, ccn, sizeof ccn);
                return sr_error_set(err, SR_EVERIFY, "certificate \"%s\" is revoked by the CRL of \"%s\"", ccn, cn);
            }
        }
    }
    return SR_OK;
}

/* ---- SGX extension (DER) ------------------------------------------------- */

/* 1.2.840.113741.1.13.1 */
static const uint8_t SGX_OID[] = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

struct der {
    const uint8_t *p;
    size_t n;
};

/* Reads one TLV (definite length, single-byte tag). */
static int der_next(struct der *d, uint8_t *tag, struct der *val)
{
    size_t t = der_tlv_len(d->p, d->n);
    if (t == 0)
        return -1;
    size_t hl = (d->p[1] < 0x80) ? 2 : 2 + (size_t)(d->p[1] & 0x7f);
    *tag = d->p[0];
    val->p = d->p + hl;
    val->n = t - hl;
    d->p += t;
    d->n -= t;
    return 0;
}

static int oid_is(const struct der *oid, const uint8_t *suffix, size_t slen)
{
    return oid->n == sizeof SGX_OID + slen && memcmp(oid->p, SGX_OID, sizeof SGX_OID) == 0 &&
           memcmp(oid->p + sizeof SGX_OID, suffix, slen) == 0;
}

static int der_uint(const struct der *v, uint32_t max, uint32_t *out)
{
    if (v->n == 0 || v->n > 5)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < v->n; i++)
        x = x << 8 | v->p[i];
    if (v->p[0] & 0x80 || x > max)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

int sr_att_pck_ext(X509 *leaf, sr_pck_ext *out, sr_error *err)
{
    memset(out, 0, sizeof *out);
    int idx = -1;
    for (int i = 0; i < X509_get_ext_count(leaf); i++) {
        ASN1_OBJECT *o = X509_EXTENSION_get_object(X509_get_ext(leaf, i));
        char txt[64];
        if (OBJ_obj2txt(txt, sizeof txt, o, 1) > 0 && strcmp(txt, "1.2.840.113741.1.13.1") == 0) {
            idx = i;
            break;
        }
    }
    if (idx < 0)
        return sr_error_set(err, SR_ENOTFOUND, "PCK certificate has no SGX extension");
    ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
    struct der top = {ASN1_STRING_get0_data(os), (size_t)ASN1_STRING_length(os)}, seq, item, oid, val;
    uint8_t tag;
    int have = 0;
    if (der_next(&top, &tag, &seq) != 0 || tag != 0x30 || top.n != 0)
        goto bad;
    while (seq.n > 0) {
        if (der_next(&seq, &tag, &item) != 0 || tag != 0x30)
            goto bad;
        if (der_next(&item, &tag, &oid) != 0 || tag != 0x06 || der_next(&item, &tag, &val) != 0)
            goto bad;
        static const uint8_t s_tcb[] = {0x02}, s_pce[] = {0x03}, s_fmspc[] = {0x04};
        if (oid_is(&oid, s_fmspc, 1)) {
            if (tag != 0x04 || val.n != 6)
                goto bad;
            memcpy(out->fmspc, val.p, 6);
            have |= 1;
        } else if (oid_is(&oid, s_pce, 1)) {
            if (tag != 0x04 || val.n != 2)
                goto bad;
            memcpy(out->pce_id, val.p, 2);
            have |= 2;
        } else if (oid_is(&oid, s_tcb, 1)) {
            if (tag != 0x30)
                goto bad;
            struct der comps = val, c, coid, cval;
            while (comps.n > 0) {
                if (der_next(&comps, &tag, &c) != 0 || tag != 0x30)
                    goto bad;
                if (der_next(&c, &tag, &coid) != 0 || tag != 0x06 || der_next(&c, &tag, &cval) != 0)
                    goto bad;
                if (coid.n != sizeof SGX_OID + 2 || memcmp(coid.p, SGX_OID, sizeof SGX_OID) != 0 ||
                    coid.p[sizeof SGX_OID] != 0x02)
                    continue;
                uint8_t k = coid.p[sizeof SGX_OID + 1];
                uint32_t v;
                if (k >= 1 && k <= 16) {
                    if (tag != 0x02 || der_uint(&cval, 255, &v) != 0)
                        goto bad;
                    out->comp[k - 1] = (uint8_t)v;
                } else if (k == 17) {
                    if (tag != 0x02 || der_uint(&cval, 65535, &v) != 0)
                        goto bad;
                    out->pcesvn = (uint16_t)v;
                } else if (k == 18) {
                    if (tag != 0x04 || cval.n != 16)
                        goto bad;
                    memcpy(out->cpusvn, cval.p, 16);
                }
            }
            have |= 4;
        }
    }
    if (have != 7)
        goto bad;
    return SR_OK;
bad:
    return sr_error_set(err, SR_EFORMAT, "PCK certificate: malformed SGX extension");
}

static int der_put(sr_buf *b, uint8_t tag, const uint8_t *v, size_t n, sr_error *err)
{
    uint8_t h[4];
    size_t hl;
    h[0] = tag;
    if (n < 0x80) {
        h[1] = (uint8_t)n;
        hl = 2;
    } else if (n < 0x100) {
        h[1] = 0x81;
        h[2] = (uint8_t)n;
        hl = 3;
    } else {
        h[1] = 0x82;
        h[2] = (uint8_t)(n >> 8);
        h[3] = (uint8_t)n;
        hl = 4;
    }
    int rc = sr_buf_append(b, h, hl, err);
    return rc != SR_OK ? rc : sr_buf_append(b, v, n, err);
}

static int der_oid_item(sr_buf *b, const uint8_t *suffix, size_t slen, uint8_t tag, const uint8_t *v, size_t n,
                        sr_error *err)
{
    sr_buf it, oid;
    sr_buf_init(&it);
    sr_buf_init(&oid);
    int rc = sr_buf_append(&oid, SGX_OID, sizeof SGX_OID, err);
    if (rc == SR_OK)
        rc = sr_buf_append(&oid, suffix, slen, err);
    if (rc == SR_OK)
        rc = der_put(&it, 0x06, oid.data, oid.len, err);
    if (rc == SR_OK)
        rc = der_put(&it, tag, v, n, err);
    if (rc == SR_OK)
        rc = der_put(b, 0x30, it.data, it.len, err);
    sr_buf_free(&it);
    sr_buf_free(&oid);
    return rc;
}

int sr_att_pck_ext_der(const sr_pck_ext *e, sr_buf *out, sr_error *err)
{
    sr_buf items, tcb;
    sr_buf_init(&items);
    sr_buf_init(&tcb);
    int rc = SR_OK;
    for (uint8_t k = 1; k <= 18 && rc == SR_OK; k++) {
        uint8_t suf[2] = {0x02, k};
        uint8_t iv[3];
        size_t in;
        if (k <= 16) {
            /* INTEGER: add a 0x00 when the top bit is set */
            uint8_t v = e->comp[k - 1];
            in = 0;
            if (v & 0x80)
                iv[in++] = 0;
            iv[in++] = v;
            rc = der_oid_item(&tcb, suf, 2, 0x02, iv, in, err);
        } else if (k == 17) {
            in = 0;
            if (e->pcesvn > 0xff) {
                if (e->pcesvn & 0x8000)
                    iv[in++] = 0;
                iv[in++] = (uint8_t)(e->pcesvn >> 8);
                iv[in++] = (uint8_t)e->pcesvn;
            } else {
                if (e->pcesvn & 0x80)
                    iv[in++] = 0;
                iv[in++] = (uint8_t)e->pcesvn;
            }
            rc = der_oid_item(&tcb, suf, 2, 0x02, iv, in, err);
        } else {
            rc = der_oid_item(&tcb, suf, 2, 0x04, e->cpusvn, 16, err);
        }
    }
    static const uint8_t s_tcb[] = {0x02}, s_pce[] = {0x03}, s_fmspc[] = {0x04};
    if (rc == SR_OK)
        rc = der_oid_item(&items, s_tcb, 1, 0x30, tcb.data, tcb.len, err);
    if (rc == SR_OK)
        rc = der_oid_item(&items, s_pce, 1, 0x04, e->pce_id, 2, err);
    if (rc == SR_OK)
        rc = der_oid_item(&items, s_fmspc, 1, 0x04, e->fmspc, 6, err);
    if (rc == SR_OK)
        rc = der_put(out, 0x30, items.data, items.len, err);
    sr_buf_free(&items);
    sr_buf_free(&tcb);
    return rc;
}

void sr_att_format_time(time_t t, char out[32])
{
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "%lld", (long long)t);
}

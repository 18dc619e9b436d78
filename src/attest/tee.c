/* Quote producers: a simulated TEE kept in a directory, and the TDX guest
 * backend over Linux configfs-tsm. */
#include "attest_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "sealroom/crypto.h"
#include "sealroom/json.h"
#include "sealroom/secmem.h"

#define SIM_PLATFORM "platform.json"
#define SIM_CHAIN "pck_chain.pem"
#define SIM_ROOT "root.pem"
#define SIM_PCK_KEY "pck_key.pem"
#define SIM_QE_KEY "qe_key.pem"
#define SIM_EVENTLOG "eventlog.jsonl"
#define SIM_FMSPC "00FEED000000"

static const uint8_t INTEL_VENDOR[16] = {0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9,
                                         0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07};

struct sr_tee {
    int kind; /* 0 sim, 1 tdx */
    char *dir;
    /* sim */
    EVP_PKEY *pck_key, *qe_key;
    sr_buf chain; /* PEM, leaf first */
    uint8_t mrtd[48], rtmr[3][48], mrseam[48];
    uint8_t td_attributes[8], xfam[8], tee_tcb_svn[16];
    /* tdx */
    char *configfs, *rtmr_file, *event_log;
    unsigned retries;
    int (*fake_kernel)(const char *entry, int stage, void *ctx);
    void *fake_ctx;
    unsigned seq;
};

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int read_file_at(const char *dir, const char *name, size_t max, sr_buf *out, sr_error *err)
{
    char *p = path_join(dir, name);
    if (p == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = sr_file_read(p, max, out, err);
    free(p);
    return rc;
}

static int write_file_at(const char *dir, const char *name, const void *data, size_t n, unsigned mode,
                         sr_error *err)
{
    char *p = path_join(dir, name);
    if (p == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int rc = sr_file_write_atomic(p, data, n, mode, err);
    free(p);
    return rc;
}

/* ---- certificates for the simulated platform ----------------------------- */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value, sr_error *err)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ex == NULL || X509_add_ext(cert, ex, -1) != 1) {
        X509_EXTENSION_free(ex);
        return sr_error_openssl(err, "adding a certificate extension");
    }
    X509_EXTENSION_free(ex);
    return SR_OK;
}

static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, int ca, int pathlen,
                       const sr_buf *sgx_ext, sr_error *err)
{
    X509 *c = X509_new();
    X509_NAME *nm = X509_NAME_new();
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    int ok = c != NULL && nm != NULL && RAND_bytes(serial, sizeof serial) == 1;
    serial[0] &= 0x7f;
    if (ok)
        ok = (bn = BN_bin2bn(serial, sizeof serial, NULL)) != NULL &&
             BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) != NULL && X509_set_version(c, 2) == 1;
    BN_free(bn);
    if (ok)
        ok = X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) == 1 &&
             X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)SR_SIM_ORG, -1, -1, 0) ==
                 1 &&
             X509_set_subject_name(c, nm) == 1 &&
             X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : nm) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(c), -86400) != NULL &&
             X509_gmtime_adj(X509_getm_notAfter(c), (long)86400 * 365 * 30) != NULL && X509_set_pubkey(c, key) == 1;
    X509_NAME_free(nm);
    if (!ok) {
        X509_free(c);
        sr_error_openssl(err, "creating a simulated certificate");
        return NULL;
    }
    X509 *iss = issuer ? issuer : c;
    char bc[64];
    if (ca)
        snprintf(bc, sizeof bc, "critical,CA:TRUE,pathlen:%d", pathlen);
    else
        snprintf(bc, sizeof bc, "critical,CA:FALSE");
    int rc = add_ext(c, iss, NID_basic_constraints, bc, err);
    if (rc == SR_OK)
        rc = add_ext(c, iss, NID_key_usage, ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation",
                     err);
    if (rc == SR_OK)
        rc = add_ext(c, iss, NID_subject_key_identifier, "hash", err);
    if (rc == SR_OK)
        rc = add_ext(c, iss, NID_authority_key_identifier, "keyid:always", err);
    if (rc == SR_OK && sgx_ext != NULL) {
        ASN1_OBJECT *o = OBJ_txt2obj("1.2.840.113741.1.13.1", 1);
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *ex = NULL;
        if (o == NULL || os == NULL || ASN1_OCTET_STRING_set(os, sgx_ext->data, (int)sgx_ext->len) != 1 ||
            (ex = X509_EXTENSION_create_by_OBJ(NULL, o, 0, os)) == NULL || X509_add_ext(c, ex, -1) != 1)
            rc = sr_error_openssl(err, "adding the SGX extension");
        X509_EXTENSION_free(ex);
        ASN1_OCTET_STRING_free(os);
        ASN1_OBJECT_free(o);
    }
    if (rc == SR_OK && X509_sign(c, issuer_key, EVP_sha256()) <= 0)
        rc = sr_error_openssl(err, "signing a simulated certificate");
    if (rc != SR_OK) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static int cert_pem(X509 *c, sr_buf *out, sr_error *err)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    long n;
    if (b == NULL || PEM_write_bio_X509(b, c) != 1 || (n = BIO_get_mem_data(b, &p)) <= 0) {
        BIO_free(b);
        return sr_error_openssl(err, "writing a certificate");
    }
    int rc = sr_buf_append(out, p, (size_t)n, err);
    BIO_free(b);
    return rc;
}

static int key_write(const char *dir, const char *name, EVP_PKEY *k, sr_error *err)
{
    BIO *b = BIO_new(BIO_s_secmem());
    char *p;
    long n;
    if (b == NULL || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1 ||
        (n = BIO_get_mem_data(b, &p)) <= 0) {
        BIO_free(b);
        return sr_error_openssl(err, "writing a key");
    }
    int rc = write_file_at(dir, name, p, (size_t)n, 0600, err);
    BIO_free(b);
    return rc;
}

static EVP_PKEY *key_read(const char *dir, const char *name, sr_error *err)
{
    sr_buf b;
    sr_buf_init_secure(&b);
    EVP_PKEY *k = NULL;
    if (read_file_at(dir, name, 65536, &b, err) == SR_OK) {
        BIO *bio = BIO_new_mem_buf(b.data, (int)b.len);
        k = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        if (k == NULL)
            sr_error_openssl(err, "reading a simulated TEE key");
    }
    sr_buf_free(&b);
    return k;
}

static void derive48(const char *label, const uint8_t *image, size_t n, uint8_t out[48])
{
    size_t ll = strlen(label);
    uint8_t *b = malloc(ll + 1 + n);
    if (b == NULL) {
        sr_sha384(label, ll, out);
        return;
    }
    memcpy(b, label, ll + 1); /* includes the NUL separator */
    if (n)
        memcpy(b + ll + 1, image, n);
    sr_sha384(b, ll + 1 + n, out);
    free(b);
}

static int json_set_hex(json_t *o, const char *k, const uint8_t *v, size_t n)
{
    char h[2 * 64 + 1];
    sr_hex_encode(v, n, h);
    return json_object_set_new(o, k, json_string(h));
}

int sr_tee_sim_init(const char *dir, const uint8_t *image, size_t image_len, sr_error *err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return sr_error_set(err, SR_EIO, "%s: mkdir: %s", dir, strerror(errno));
    char *pp = path_join(dir, SIM_PLATFORM);
    if (pp == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    int exists = access(pp, F_OK) == 0;
    free(pp);
    if (exists)
        return sr_error_set(err, SR_ESTATE, "%s is already a simulated TEE (platform.json exists)", dir);

    int rc = SR_OK;
    EVP_PKEY *rk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *ik = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *lk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *qk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *root = NULL, *inter = NULL, *leaf = NULL;
    sr_buf chain, ext, rootpem;
    sr_buf_init(&chain);
    sr_buf_init(&ext);
    sr_buf_init(&rootpem);
    json_t *pl = NULL;
    char *txt = NULL;
    if (!rk || !ik || !lk || !qk) {
        rc = sr_error_openssl(err, "generating P-256 keys");
        goto done;
    }
    sr_pck_ext pe;
    memset(&pe, 0, sizeof pe);
    sr_hex_decode_exact(SIM_FMSPC, pe.fmspc, 6, err);
    if ((rc = sr_att_pck_ext_der(&pe, &ext, err)) != SR_OK)
        goto done;
    if ((root = make_cert(SR_SIM_ROOT_CN, rk, NULL, rk, 1, 1, NULL, err)) == NULL ||
        (inter = make_cert("sealroom SIMULATED PCK Platform CA", ik, root, rk, 1, 0, NULL, err)) == NULL ||
        (leaf = make_cert("sealroom SIMULATED PCK Certificate", lk, inter, ik, 0, 0, &ext, err)) == NULL) {
        rc = err ? err->code : SR_ECRYPTO;
        goto done;
    }
    if ((rc = cert_pem(leaf, &chain, err)) != SR_OK || (rc = cert_pem(inter, &chain, err)) != SR_OK ||
        (rc = cert_pem(root, &chain, err)) != SR_OK || (rc = cert_pem(root, &rootpem, err)) != SR_OK)
        goto done;
    uint8_t mrtd[48], r0[48], r1[48], r2[48], mrseam[48], d[48];
    derive48("sealroom sim MRTD", image, image_len, mrtd);
    memset(r0, 0, 48);
    memset(r1, 0, 48);
    memset(r2, 0, 48);
    derive48("sealroom sim RTMR0 firmware", image, image_len, d);
    sr_rtmr_extend(r0, d);
    derive48("sealroom sim RTMR1 kernel", image, image_len, d);
    sr_rtmr_extend(r1, d);
    derive48("sealroom sim RTMR2 cmdline+initrd", image, image_len, d);
    sr_rtmr_extend(r2, d);
    derive48("sealroom sim TDX module", NULL, 0, mrseam);
    uint8_t img[48];
    sr_sha384(image ? (const void *)image : (const void *)"", image_len, img);
    static const uint8_t attrs[8] = {0, 0, 0, 0x10, 0, 0, 0, 0}; /* SEPT_VE_DISABLE */
    static const uint8_t xfam[8] = {0xe7, 0x02, 0x06, 0, 0, 0, 0, 0};
    static const uint8_t svn[16] = {0x03, 0x00, 0x04};
    pl = json_object();
    json_object_set_new(pl, "kind", json_string("sealroom simulated TDX platform"));
    json_object_set_new(pl, "version", json_integer(1));
    json_set_hex(pl, "image_sha384", img, 48);
    json_set_hex(pl, "mrtd", mrtd, 48);
    json_set_hex(pl, "rtmr0", r0, 48);
    json_set_hex(pl, "rtmr1", r1, 48);
    json_set_hex(pl, "rtmr2", r2, 48);
    json_set_hex(pl, "mrseam", mrseam, 48);
    json_set_hex(pl, "td_attributes", attrs, 8);
    json_set_hex(pl, "xfam", xfam, 8);
    json_set_hex(pl, "tee_tcb_svn", svn, 16);
    txt = json_dumps(pl, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (txt == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = key_write(dir, SIM_PCK_KEY, lk, err)) != SR_OK || (rc = key_write(dir, SIM_QE_KEY, qk, err)) != SR_OK ||
        (rc = write_file_at(dir, SIM_CHAIN, chain.data, chain.len, 0644, err)) != SR_OK ||
        (rc = write_file_at(dir, SIM_ROOT, rootpem.data, rootpem.len, 0644, err)) != SR_OK ||
        (rc = write_file_at(dir, SIM_EVENTLOG, "", 0, 0600, err)) != SR_OK ||
        (rc = write_file_at(dir, SIM_PLATFORM, txt, strlen(txt), 0644, err)) != SR_OK)
        goto done;
done:
    free(txt);
    json_decref(pl);
    X509_free(root);
    X509_free(inter);
    X509_free(leaf);
    EVP_PKEY_free(rk); /* the root and intermediate keys are never stored */
    EVP_PKEY_free(ik);
    EVP_PKEY_free(lk);
    EVP_PKEY_free(qk);
    sr_buf_free(&chain);
    sr_buf_free(&ext);
    sr_buf_free(&rootpem);
    return rc;
}

int sr_tee_sim_root_pem(const char *dir, sr_buf *out, sr_error *err)
{
    return read_file_at(dir, SIM_ROOT, 65536, out, err);
}

int sr_tee_open_sim(const char *dir, sr_tee **out, sr_error *err)
{
    *out = NULL;
    sr_tee *t = calloc(1, sizeof *t);
    if (t == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    t->kind = 0;
    sr_buf_init(&t->chain);
    sr_buf pl;
    sr_buf_init(&pl);
    json_t *j = NULL;
    int rc = SR_OK;
    if ((t->dir = strdup(dir)) == NULL) {
        rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        goto bad;
    }
    if ((rc = read_file_at(dir, SIM_PLATFORM, 65536, &pl, err)) != SR_OK) {
        sr_error_prefix(err, "not a simulated TEE (run sim-init first)");
        goto bad;
    }
    if ((j = sr_json_parse(pl.data, pl.len, 65536, err)) == NULL ||
        (rc = sr_json_get_hex(j, "mrtd", t->mrtd, 48, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "rtmr0", t->rtmr[0], 48, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "rtmr1", t->rtmr[1], 48, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "rtmr2", t->rtmr[2], 48, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "mrseam", t->mrseam, 48, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "td_attributes", t->td_attributes, 8, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "xfam", t->xfam, 8, "platform.json", err)) != SR_OK ||
        (rc = sr_json_get_hex(j, "tee_tcb_svn", t->tee_tcb_svn, 16, "platform.json", err)) != SR_OK) {
        rc = rc ? rc : SR_EFORMAT;
        goto bad;
    }
    if ((rc = read_file_at(dir, SIM_CHAIN, 65536, &t->chain, err)) != SR_OK)
        goto bad;
    if ((t->pck_key = key_read(dir, SIM_PCK_KEY, err)) == NULL ||
        (t->qe_key = key_read(dir, SIM_QE_KEY, err)) == NULL) {
        rc = SR_ECRYPTO;
        goto bad;
    }
    json_decref(j);
    sr_buf_free(&pl);
    *out = t;
    return SR_OK;
bad:
    json_decref(j);
    sr_buf_free(&pl);
    sr_tee_close(t);
    return rc;
}

/* Current RTMR3 of the sim: replay of its event log. */
static int sim_rtmr3(sr_tee *t, uint8_t r3[48], sr_error *err)
{
    sr_buf log;
    sr_buf_init(&log);
    int rc = read_file_at(t->dir, SIM_EVENTLOG, 64u << 20, &log, err);
    if (rc == SR_OK)
        rc = sr_eventlog_replay((const char *)log.data, log.len, r3, NULL, err);
    sr_buf_free(&log);
    return rc;
}

static int sim_quote(sr_tee *t, const uint8_t report_data[64], sr_buf *out, sr_error *err)
{
    uint8_t r3[48];
    int rc = sim_rtmr3(t, r3, err);
    if (rc != SR_OK)
        return sr_error_prefix(err, "simulated TEE event log");
    uint8_t ak[64];
    if ((rc = sr_att_p256_xy(t->qe_key, ak, err)) != SR_OK)
        return rc;
    /* header + body */
    uint8_t hb[SR_QUOTE_HEADER_LEN + SR_TDX10_BODY_LEN];
    memset(hb, 0, sizeof hb);
    sr_store_le16(hb, 4);
    sr_store_le16(hb + 2, 2);
    sr_store_le32(hb + 4, SR_TDX_TEE_TYPE);
    memcpy(hb + 12, INTEL_VENDOR, 16);
    uint8_t *b = hb + SR_QUOTE_HEADER_LEN;
    memcpy(b + 0, t->tee_tcb_svn, 16);
    memcpy(b + 16, t->mrseam, 48);
    /* mrsignerseam (64..112) and seam attributes (112..120) zero */
    memcpy(b + 120, t->td_attributes, 8);
    memcpy(b + 128, t->xfam, 8);
    memcpy(b + 136, t->mrtd, 48);
    /* mrconfigid 184, mrowner 232, mrownerconfig 280: zero */
    memcpy(b + 328, t->rtmr[0], 48);
    memcpy(b + 376, t->rtmr[1], 48);
    memcpy(b + 424, t->rtmr[2], 48);
    memcpy(b + 472, r3, 48);
    memcpy(b + 520, report_data, 64);
    uint8_t sig[64];
    if ((rc = sr_att_ecdsa_sign_raw(t->qe_key, hb, sizeof hb, sig, err)) != SR_OK)
        return rc;
    /* QE report */
    uint8_t auth[32];
    sr_sha256("sealroom sim QE auth data", 25, auth);
    uint8_t qr[SR_QE_REPORT_LEN];
    memset(qr, 0, sizeof qr);
    qr[48] = 0x11; /* attributes: INIT | MODE64BIT, as Intel's TD QE */
    sr_sha256("sealroom sim QE", 15, qr + 64);          /* MRENCLAVE */
    sr_sha256("sealroom sim QE signer", 22, qr + 128);  /* MRSIGNER */
    sr_store_le16(qr + 256, 2);                          /* ISVPRODID (TD_QE) */
    sr_store_le16(qr + 258, 4);                          /* ISVSVN */
    sr_sha256_ctx *h = sr_sha256_new();
    if (h == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    sr_sha256_update(h, ak, 64);
    sr_sha256_update(h, auth, sizeof auth);
    sr_sha256_final(h, qr + 320);
    uint8_t qsig[64];
    if ((rc = sr_att_ecdsa_sign_raw(t->pck_key, qr, sizeof qr, qsig, err)) != SR_OK)
        return rc;
    size_t chain_len = t->chain.len + 1; /* PEM + NUL, as Intel's QE emits */
    size_t cert6 = SR_QE_REPORT_LEN + 64 + 2 + sizeof auth + 6 + chain_len;
    size_t sigdata = 64 + 64 + 6 + cert6;
    if ((rc = sr_buf_reserve(out, sizeof hb + 4 + sigdata, err)) != SR_OK)
        return rc;
    uint8_t w[6];
    sr_buf_append(out, hb, sizeof hb, err);
    sr_buf_append_le32(out, (uint32_t)sigdata, err);
    sr_buf_append(out, sig, 64, err);
    sr_buf_append(out, ak, 64, err);
    sr_store_le16(w, 6);
    sr_store_le32(w + 2, (uint32_t)cert6);
    sr_buf_append(out, w, 6, err);
    sr_buf_append(out, qr, sizeof qr, err);
    sr_buf_append(out, qsig, 64, err);
    sr_store_le16(w, sizeof auth);
    sr_buf_append(out, w, 2, err);
    sr_buf_append(out, auth, sizeof auth, err);
    sr_store_le16(w, 5);
    sr_store_le32(w + 2, (uint32_t)chain_len);
    sr_buf_append(out, w, 6, err);
    sr_buf_append(out, t->chain.data, t->chain.len, err);
    return sr_buf_append_u8(out, 0, err);
}

/* Appends one line to a log file (created 0600), durably. */
static int append_line(const char *path, const sr_buf *line, sr_error *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return sr_error_set(err, SR_EIO, "%s: %s", path, strerror(errno));
    size_t off = 0;
    while (off < line->len) {
        ssize_t w = write(fd, line->data + off, line->len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = errno;
            close(fd);
            return sr_error_set(err, SR_EIO, "%s: write: %s", path, strerror(e));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return sr_error_set(err, SR_EIO, "%s: fsync: %s", path, strerror(e));
    }
    close(fd);
    return SR_OK;
}

/* ---- TDX guest (configfs-tsm) --------------------------------------------------- */

int sr_tee_open_tdx(const sr_tdx_paths *paths, sr_tee **out, sr_error *err)
{
    static const sr_tdx_paths defaults;
    if (paths == NULL)
        paths = &defaults;
    *out = NULL;
    sr_tee *t = calloc(1, sizeof *t);
    if (t == NULL)
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    t->kind = 1;
    sr_buf_init(&t->chain);
    t->configfs = strdup(paths->configfs_dir ? paths->configfs_dir : "/sys/kernel/config/tsm/report");
    t->rtmr_file = strdup(paths->rtmr_file ? paths->rtmr_file : "/sys/class/misc/tdx_guest/measurements/rtmr3:sha384");
    t->event_log = strdup(paths->event_log ? paths->event_log : "/run/sealroom/rtmr3.jsonl");
    t->retries = paths->busy_retries ? paths->busy_retries : 10;
    if (!t->configfs || !t->rtmr_file || !t->event_log) {
        sr_tee_close(t);
        return sr_error_set(err, SR_ENOMEM, "out of memory");
    }
    struct stat st;
    if (stat(t->configfs, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = errno;
        sr_error_set(err, SR_ENOTFOUND, "%s: configfs-tsm report directory not available (%s); not a TDX guest?",
                     t->configfs, stat(t->configfs, &st) != 0 ? strerror(e) : "not a directory");
        sr_tee_close(t);
        return SR_ENOTFOUND;
    }
    *out = t;
    return SR_OK;
}

/* Test hook (declared in the tests, not the public header): a fake kernel
 * called after mkdir (stage 0), after the inblob write (stage 1) and before
 * the generation read (stage 2) and before rmdir (stage 3); a non-zero return is an errno injected as
 * the result of that step. */
void sr_tee_tdx_set_fake_kernel(sr_tee *t, int (*fn)(const char *entry, int stage, void *ctx), void *ctx);
void sr_tee_tdx_set_fake_kernel(sr_tee *t, int (*fn)(const char *entry, int stage, void *ctx), void *ctx)
{
    t->fake_kernel = fn;
    t->fake_ctx = ctx;
}

static int hook(sr_tee *t, const char *entry, int stage)
{
    return t->fake_kernel ? t->fake_kernel(entry, stage, t->fake_ctx) : 0;
}

static int write_all_path(const char *path, const uint8_t *d, size_t n)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC); /* configfs attributes: no truncate */
    if (fd < 0)
        return errno;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, d + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            close(fd);
            return e;
        }
        off += (size_t)w;
    }
    return close(fd) == 0 ? 0 : errno;
}

static int read_all_path(const char *path, size_t max, sr_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    for (;;) {
        uint8_t b[4096];
        ssize_t r = read(fd, b, sizeof b);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return e;
        }
        if (r == 0)
            break;
        if (out->len + (size_t)r > max) {
            close(fd);
            return EFBIG;
        }
        sr_error e2;
        if (sr_buf_append(out, b, (size_t)r, &e2) != SR_OK) {
            close(fd);
            return ENOMEM;
        }
    }
    close(fd);
    return 0;
}

static int tdx_quote(sr_tee *t, const uint8_t report_data[64], sr_buf *out, sr_error *err)
{
    char entry[4096], f[4200];
    snprintf(entry, sizeof entry, "%s/sealroom-%ld-%u", t->configfs, (long)getpid(), t->seq++);
    int rc = SR_OK;
    for (unsigned attempt = 0;; attempt++) {
        if (attempt >= t->retries)
            return sr_error_set(err, SR_EIO, "configfs-tsm: gave up after %u attempts (busy or racing writers)",
                                attempt);
        if (mkdir(entry, 0700) != 0) {
            int e = errno;
            if (e == EBUSY || e == EAGAIN)
                continue;
            return sr_error_set(err, SR_EIO, "configfs-tsm: mkdir %s: %s", entry, strerror(e));
        }
        int e = hook(t, entry, 0);
        sr_buf blob;
        sr_buf_init(&blob);
        int retry = 0;
        if (e == 0) {
            snprintf(f, sizeof f, "%s/provider", entry);
            sr_buf prov;
            sr_buf_init(&prov);
            if (read_all_path(f, 256, &prov) == 0 &&
                !(prov.len >= 9 && memcmp(prov.data, "tdx_guest", 9) == 0)) {
                sr_buf_free(&prov);
                hook(t, entry, 3);
                rmdir(entry);
                return sr_error_set(err, SR_ESTATE, "configfs-tsm provider is not tdx_guest");
            }
            sr_buf_free(&prov);
            snprintf(f, sizeof f, "%s/inblob", entry);
            e = write_all_path(f, report_data, 64);
            if (e == 0)
                e = hook(t, entry, 1);
        }
        if (e == 0) {
            snprintf(f, sizeof f, "%s/outblob", entry);
            e = read_all_path(f, SR_QUOTE_MAX_LEN, &blob);
        }
        if (e == 0)
            e = hook(t, entry, 2);
        if (e == 0) {
            snprintf(f, sizeof f, "%s/generation", entry);
            sr_buf g;
            sr_buf_init(&g);
            e = read_all_path(f, 64, &g);
            if (e == 0) {
                char txt[65];
                size_t n = g.len < 64 ? g.len : 64;
                memcpy(txt, g.data, n);
                txt[n] = '\0';
                /* one write since our mkdir: anything else means another
                 * writer raced us and the outblob may not be ours */
                if (strtoul(txt, NULL, 10) != 1)
                    retry = 1;
            }
            sr_buf_free(&g);
        }
        hook(t, entry, 3);
        rmdir(entry);
        if (e == EBUSY || e == EAGAIN || retry) {
            sr_buf_free(&blob);
            snprintf(entry, sizeof entry, "%s/sealroom-%ld-%u", t->configfs, (long)getpid(), t->seq++);
            continue;
        }
        if (e != 0) {
            sr_buf_free(&blob);
            return sr_error_set(err, SR_EIO, "configfs-tsm: %s", strerror(e));
        }
        /* The quote must be well-formed and carry our REPORTDATA. */
        sr_quote q;
        rc = sr_quote_parse(blob.data, blob.len, &q, err);
        if (rc == SR_OK && memcmp(q.body.report_data, report_data, 64) != 0)
            rc = sr_error_set(err, SR_EVERIFY, "configfs-tsm returned a quote over different REPORTDATA");
        if (rc == SR_OK)
            rc = sr_buf_append(out, blob.data, q.total_len, err);
        else
            sr_error_prefix(err, "configfs-tsm outblob");
        sr_buf_free(&blob);
        return rc;
    }
}

static int tdx_extend(sr_tee *t, const uint8_t digest[48], sr_error *err)
{
    int fd = open(t->rtmr_file, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return sr_error_set(err, SR_ENOTFOUND, "%s: this kernel offers no RTMR extension", t->rtmr_file);
        return sr_error_set(err, SR_EIO, "%s: %s", t->rtmr_file, strerror(errno));
    }
    ssize_t w;
    do
        w = write(fd, digest, 48);
    while (w < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (w != 48)
        return sr_error_set(err, SR_EIO, "%s: extending RTMR3: %s", t->rtmr_file, w < 0 ? strerror(e) : "short write");
    return SR_OK;
}

/* ---- common ------------------------------------------------------------------------- */

const char *sr_tee_backend(const sr_tee *t)
{
    return t->kind == 0 ? "sim" : "tdx";
}

int sr_tee_extend_rtmr3(sr_tee *t, const char *event, const uint8_t *payload, size_t n, sr_error *err)
{
    sr_buf line;
    sr_buf_init(&line);
    int rc = sr_eventlog_append(&line, event, payload, n, err);
    if (rc == SR_OK && t->kind == 1) {
        uint8_t d[48];
        sr_event_digest(event, payload, n, d);
        rc = tdx_extend(t, d, err);
    }
    if (rc == SR_OK) {
        char *p = t->kind == 0 ? path_join(t->dir, SIM_EVENTLOG) : strdup(t->event_log);
        if (p == NULL)
            rc = sr_error_set(err, SR_ENOMEM, "out of memory");
        else
            rc = append_line(p, &line, err);
        free(p);
    }
    sr_buf_free(&line);
    return rc;
}

int sr_tee_quote(sr_tee *t, const uint8_t report_data[64], sr_buf *out, sr_error *err)
{
    return t->kind == 0 ? sim_quote(t, report_data, out, err) : tdx_quote(t, report_data, out, err);
}

int sr_tee_event_log(sr_tee *t, sr_buf *out, sr_error *err)
{
    if (t->kind == 0)
        return read_file_at(t->dir, SIM_EVENTLOG, 64u << 20, out, err);
    int rc = sr_file_read(t->event_log, 64u << 20, out, err);
    if (rc == SR_ENOTFOUND) { /* nothing extended yet */
        sr_error_clear(err);
        return SR_OK;
    }
    return rc;
}

void sr_tee_close(sr_tee *t)
{
    if (t == NULL)
        return;
    EVP_PKEY_free(t->pck_key);
    EVP_PKEY_free(t->qe_key);
    sr_buf_free(&t->chain);
    free(t->dir);
    free(t->configfs);
    free(t->rtmr_file);
    free(t->event_log);
    free(t);
}

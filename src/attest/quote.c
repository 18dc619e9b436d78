/* TDX DCAP quote parsing (v4, v5) by the quote's own length fields. */
#include "sealroom/attest.h"

#include <ctype.h>
#include <string.h>

#include "sealroom/buf.h"

/* A bounded reader over the input: every take checks the remaining length. */
struct rd {
    const uint8_t *p;
    size_t len;
    size_t off;
};

static int take(struct rd *r, size_t n, const uint8_t **out, const char *what, sr_error *err)
{
    if (n > r->len - r->off)
        return sr_error_set(err, SR_EFORMAT, "quote truncated: %s needs %zu bytes at offset %zu, %zu left", what,
                            n, r->off, r->len - r->off);
    *out = r->p + r->off;
    r->off += n;
    return SR_OK;
}

static void parse_body(const uint8_t *b, uint32_t body_len, sr_tdx_body *t)
{
    memset(t, 0, sizeof *t);
    size_t o = 0;
#define FLD(f)                           \
    memcpy(t->f, b + o, sizeof t->f);    \
    o += sizeof t->f;
    FLD(tee_tcb_svn)
    FLD(mrseam)
    FLD(mrsignerseam)
    FLD(seam_attributes)
    FLD(td_attributes)
    FLD(xfam)
    FLD(mrtd)
    FLD(mrconfigid)
    FLD(mrowner)
    FLD(mrownerconfig)
    FLD(rtmr)
    FLD(report_data)
    if (body_len == SR_TDX15_BODY_LEN) {
        FLD(tee_tcb_svn2)
        FLD(mrservicetd)
    }
#undef FLD
}

static void parse_qe_report(const uint8_t *b, sr_qe_report *r)
{
    /* SGX REPORTBODY: CPUSVN 0..16, MISCSELECT 16..20, reserved 20..48,
     * ATTRIBUTES 48..64, MRENCLAVE 64..96, reserved 96..128, MRSIGNER
     * 128..160, reserved 160..256, ISVPRODID 256, ISVSVN 258, reserved
     * 260..320, REPORTDATA 320..384. */
    memcpy(r->cpusvn, b, 16);
    r->miscselect = sr_load_le32(b + 16);
    memcpy(r->attributes, b + 48, 16);
    memcpy(r->mrenclave, b + 64, 32);
    memcpy(r->mrsigner, b + 128, 32);
    r->isvprodid = sr_load_le16(b + 256);
    r->isvsvn = sr_load_le16(b + 258);
    memcpy(r->report_data, b + 320, 64);
}

int sr_quote_parse(const uint8_t *data, size_t len, sr_quote *q, sr_error *err)
{
    memset(q, 0, sizeof *q);
    if (data == NULL)
        return sr_error_set(err, SR_EINVAL, "quote: no data");
    if (len > SR_QUOTE_MAX_LEN)
        len = SR_QUOTE_MAX_LEN; /* never look further than the limit */
    struct rd r = {data, len, 0};
    const uint8_t *h = NULL;
    int rc;
    if ((rc = take(&r, SR_QUOTE_HEADER_LEN, &h, "header", err)) != SR_OK)
        return rc;
    q->raw = data;
    q->version = sr_load_le16(h);
    q->att_key_type = sr_load_le16(h + 2);
    q->tee_type = sr_load_le32(h + 4);
    q->qe_svn = sr_load_le16(h + 8);
    q->pce_svn = sr_load_le16(h + 10);
    memcpy(q->qe_vendor_id, h + 12, 16);
    memcpy(q->user_data, h + 28, 20);
    if (q->version != 4 && q->version != 5)
        return sr_error_set(err, SR_EFORMAT, "quote version %u is not supported (4 or 5)", q->version);
    if (q->tee_type != SR_TDX_TEE_TYPE)
        return sr_error_set(err, SR_EFORMAT, "TEE type 0x%x is not TDX (0x81)", q->tee_type);
    if (q->att_key_type != 2)
        return sr_error_set(err, SR_EFORMAT, "attestation key type %u is not ECDSA-256-with-P-256 (2)",
                            q->att_key_type);
    if (q->version == 4) {
        q->body_type = 2;
        q->body_len = SR_TDX10_BODY_LEN;
    } else {
        const uint8_t *d = NULL;
        if ((rc = take(&r, 6, &d, "v5 body descriptor", err)) != SR_OK)
            return rc;
        q->body_type = sr_load_le16(d);
        q->body_len = sr_load_le32(d + 2);
        if (q->body_type == 2 && q->body_len != SR_TDX10_BODY_LEN)
            return sr_error_set(err, SR_EFORMAT, "v5 body type 2 has size %u, expected 584", q->body_len);
        if (q->body_type == 3 && q->body_len != SR_TDX15_BODY_LEN)
            return sr_error_set(err, SR_EFORMAT, "v5 body type 3 has size %u, expected 648", q->body_len);
        if (q->body_type != 2 && q->body_type != 3)
            return sr_error_set(err, SR_EFORMAT, "v5 body type %u is not a TDX report (2 or 3)", q->body_type);
    }
    const uint8_t *b = NULL;
    if ((rc = take(&r, q->body_len, &b, "TD report body", err)) != SR_OK)
        return rc;
    parse_body(b, q->body_len, &q->body);
    q->signed_len = r.off;

    const uint8_t *p = NULL;
    if ((rc = take(&r, 4, &p, "signature data length", err)) != SR_OK)
        return rc;
    q->sig_data_len = sr_load_le32(p);
    /* Everything that follows must lie inside the signature data. */
    if (q->sig_data_len > r.len - r.off)
        return sr_error_set(err, SR_EFORMAT, "signature data length %u at offset %zu exceeds the %zu bytes left",
                            q->sig_data_len, r.off - 4, r.len - r.off);
    q->total_len = r.off + q->sig_data_len;
    struct rd s = {r.p, q->total_len, r.off};

    if ((rc = take(&s, 64, &p, "quote signature", err)) != SR_OK)
        return rc;
    memcpy(q->signature, p, 64);
    if ((rc = take(&s, 64, &p, "attestation key", err)) != SR_OK)
        return rc;
    memcpy(q->attest_key, p, 64);
    if ((rc = take(&s, 6, &p, "certification data header", err)) != SR_OK)
        return rc;
    q->outer_cert_type = sr_load_le16(p);
    uint32_t outer_size = sr_load_le32(p + 2);
    if (q->outer_cert_type != 6)
        return sr_error_set(err, SR_EFORMAT,
                            "certification data type %u is not supported (6 = QE report certification data)",
                            q->outer_cert_type);
    if (outer_size != s.len - s.off)
        return sr_error_set(err, SR_EFORMAT,
                            "certification data size %u does not match the %zu bytes left in the signature data",
                            outer_size, s.len - s.off);
    if ((rc = take(&s, SR_QE_REPORT_LEN, &p, "QE report", err)) != SR_OK)
        return rc;
    memcpy(q->qe_report_raw, p, SR_QE_REPORT_LEN);
    parse_qe_report(p, &q->qe_report);
    if ((rc = take(&s, 64, &p, "QE report signature", err)) != SR_OK)
        return rc;
    memcpy(q->qe_report_sig, p, 64);
    if ((rc = take(&s, 2, &p, "QE authentication data length", err)) != SR_OK)
        return rc;
    q->qe_auth_len = sr_load_le16(p);
    if ((rc = take(&s, q->qe_auth_len, &q->qe_auth_data, "QE authentication data", err)) != SR_OK)
        return rc;
    if ((rc = take(&s, 6, &p, "PCK certification data header", err)) != SR_OK)
        return rc;
    q->cert_type = sr_load_le16(p);
    uint32_t chain_size = sr_load_le32(p + 2);
    if (q->cert_type != 5)
        return sr_error_set(err, SR_EFORMAT, "PCK certification data type %u is not supported (5 = PCK chain)",
                            q->cert_type);
    if (chain_size != s.len - s.off)
        return sr_error_set(err, SR_EFORMAT, "PCK chain size %u does not match the %zu bytes left", chain_size,
                            s.len - s.off);
    if (chain_size == 0)
        return sr_error_set(err, SR_EFORMAT, "PCK chain is empty");
    if ((rc = take(&s, chain_size, &q->pck_chain, "PCK chain", err)) != SR_OK)
        return rc;
    q->pck_chain_len = chain_size;
    return SR_OK;
}

uint64_t sr_quote_td_attributes(const sr_quote *q)
{
    return sr_load_le64(q->body.td_attributes);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int sr_quote_decode_input(const uint8_t *data, size_t len, sr_buf *out, sr_error *err)
{
    /* Raw quotes start with version 4 or 5 as a little-endian u16: byte 0 is
     * 0x04/0x05, never a hex digit or whitespace. */
    size_t a = 0, z = len;
    while (a < z && isspace(data[a]))
        a++;
    while (z > a && isspace(data[z - 1]))
        z--;
    int is_text = len > 0 && (data[0] != 4 && data[0] != 5);
    if (!is_text)
        return sr_buf_append(out, data, len, err);
    if (z - a >= 2 && data[a] == '0' && (data[a + 1] == 'x' || data[a + 1] == 'X'))
        a += 2;
    if ((z - a) % 2 != 0)
        return sr_error_set(err, SR_EFORMAT, "quote hex text has an odd number of digits");
    if ((z - a) / 2 > SR_QUOTE_MAX_LEN)
        return sr_error_set(err, SR_ELIMIT, "quote hex text is larger than %u bytes", SR_QUOTE_MAX_LEN);
    int rc = sr_buf_reserve(out, (z - a) / 2, err);
    if (rc != SR_OK)
        return rc;
    for (size_t i = a; i < z; i += 2) {
        int hi = hexval(data[i]), lo = hexval(data[i + 1]);
        if (hi < 0 || lo < 0)
            return sr_error_set(err, SR_EFORMAT, "quote is neither raw bytes nor hex (bad character at %zu)",
                                hexval(data[i]) < 0 ? i : i + 1);
        out->data[out->len++] = (uint8_t)(hi << 4 | lo);
    }
    return SR_OK;
}

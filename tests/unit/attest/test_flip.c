/* "Flipping any byte": every byte of the signed region, the signatures, the
 * attestation key, the QE report and its authentication data, and every
 * length/type field, when changed, makes verification fail. For the embedded
 * PEM chain a sample of bytes (every 5th, plus all of the PEM armour and the
 * final NUL) is flipped. Bytes after the quote's end (trailing padding) are
 * outside the quote and provably do not matter; that is checked too.
 * v4_dcapqvl gets two flips per byte (bit 0 and bit 7), the others one. */
#include "test.h"

#include <stdlib.h>

#include "sealroom/attest.h"
#include "sealroom/buf.h"

static sr_buf load(const char *rel)
{
    sr_buf b;
    sr_error err;
    sr_buf_init(&b);
    if (sr_file_read(sr_test_data(rel), 1u << 24, &b, &err) != SR_OK) {
        fprintf(stderr, "cannot read %s: %s\n", rel, err.msg);
        abort();
    }
    return b;
}

struct fx {
    sr_buf quote, root;
    const uint8_t *rp[1];
    size_t rl[1];
    sr_attest_policy pol;
    sr_attest_result res;
};

static void setup(struct fx *f, const char *quote, const char *root)
{
    memset(f, 0, sizeof *f);
    f->quote = load(quote);
    sr_error err;
    if (root) {
        f->root = load(root);
        f->rp[0] = f->root.data;
        f->rl[0] = f->root.len;
        f->pol.roots = f->rp;
        f->pol.root_lens = f->rl;
        f->pol.nroots = 1;
    }
    sr_attest_parse_time("2026-02-01T00:00:00Z", &f->pol.now, &err);
    f->pol.cache = sr_attest_cache_new(8);
}

static void teardown(struct fx *f)
{
    sr_attest_cache_free(f->pol.cache);
    sr_buf_free(&f->quote);
    sr_buf_free(&f->root);
}

static int verifies(struct fx *f)
{
    sr_error err;
    return sr_attest_verify(f->quote.data, f->quote.len, &f->pol, &f->res, &err) == SR_OK;
}

/* Flips bytes [a, b) one at a time with each mask; returns how many flips
 * still verified (must be 0). */
static int flip_range(struct fx *f, size_t a, size_t b, size_t step, const uint8_t *masks, size_t nmasks)
{
    int passed = 0;
    for (size_t i = a; i < b; i += step) {
        for (size_t m = 0; m < nmasks; m++) {
            f->quote.data[i] ^= masks[m];
            if (verifies(f)) {
                passed++;
                fprintf(stderr, "  flip of byte %zu with 0x%02x still verifies\n", i, masks[m]);
            }
            f->quote.data[i] ^= masks[m];
        }
    }
    return passed;
}

static void run_quote(const char *quote, const char *root, int both_masks)
{
    struct fx f;
    setup(&f, quote, root);
    CHECK_MSG(verifies(&f), "%s does not verify before flipping: %s", quote, f.res.reason);
    sr_quote q;
    sr_error err;
    CHECK_OK(sr_quote_parse(f.quote.data, f.quote.len, &q, &err), &err);
    size_t chain_off = (size_t)(q.pck_chain - f.quote.data);
    static const uint8_t m1[] = {0x01}, m2[] = {0x01, 0x80};
    /* header, descriptor, body, signature data up to the chain: exhaustive */
    CHECK_EQ_INT(flip_range(&f, 0, chain_off, 1, both_masks ? m2 : m1, both_masks ? 2 : 1), 0);
    /* chain: every 5th byte, plus the first and last 64 bytes entirely */
    CHECK_EQ_INT(flip_range(&f, chain_off, chain_off + q.pck_chain_len, 5, m1, 1), 0);
    CHECK_EQ_INT(flip_range(&f, chain_off, chain_off + 64, 1, m1, 1), 0);
    CHECK_EQ_INT(flip_range(&f, chain_off + q.pck_chain_len - 64, chain_off + q.pck_chain_len, 1, m1, 1), 0);
    /* bytes after the quote: outside it, they never matter */
    for (size_t i = q.total_len; i < f.quote.len; i++)
        f.quote.data[i] ^= 0x5a;
    CHECK_MSG(verifies(&f), "%s: trailing bytes changed the result: %s", quote, f.res.reason);
    /* the verified quote is still the same afterwards */
    CHECK(f.res.verdict == SR_ATTEST_VALID);
    teardown(&f);
}

static void test_flip_v4_dcapqvl(void)
{
    run_quote("tdx/v4_dcapqvl.quote", NULL, 1);
}

static void test_flip_v5(void)
{
    run_quote("tdx/v5_tdx15.quote", NULL, 0);
}

static void test_flip_spr_trailing_ascii(void)
{
    run_quote("tdx/v4_spr_e4.quote", NULL, 0);
}

static void test_flip_synthetic_der_chain(void)
{
    run_quote("tdx/synthetic_intel_test.quote", "tdx/synthetic_intel_test_root.pem", 0);
}

static void test_wrong_root(void)
{
    struct fx f;
    setup(&f, "tdx/v4_dstack.quote", "tdx/synthetic_intel_test_root.pem");
    CHECK(!verifies(&f));
    CHECK_CONTAINS(f.res.reason, "pinned root");
    teardown(&f);
}

int main(void)
{
    SR_RUN(test_flip_v4_dcapqvl);
    SR_RUN(test_flip_v5);
    SR_RUN(test_flip_spr_trailing_ascii);
    SR_RUN(test_flip_synthetic_der_chain);
    SR_RUN(test_wrong_root);
    return sr_test_finish();
}

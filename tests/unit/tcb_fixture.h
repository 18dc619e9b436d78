/* Test-only TCB info signer (tests/unit/tcb_fixture.c, in sr_testlib; links
 * against OpenSSL and jansson through the room under test). A self-signed
 * P-256 certificate "sealroom TEST TCB Signing - not Intel": pinned next to
 * the Intel root, it lets tests re-sign edited copies of Intel's TCB info so
 * every TCB status can be driven through a verifier. Never a production
 * trust anchor. */
#ifndef SEALROOM_TCB_FIXTURE_H
#define SEALROOM_TCB_FIXTURE_H

#include <stddef.h>
#include <time.h>

typedef struct sr_test_tcb_signer sr_test_tcb_signer;

/* A new key and certificate valid from not_before to not_after; NULL on
 * failure. */
sr_test_tcb_signer *sr_test_tcb_signer_new(time_t not_before, time_t not_after);
void sr_test_tcb_signer_free(sr_test_tcb_signer *s);
/* The certificate (PEM, NUL-terminated). */
const char *sr_test_tcb_signer_pem(const sr_test_tcb_signer *s);

/* Collateral JSON text (malloc'd; NULL on failure) equal to `collateral`
 * except that in tcb_info the first platform TCB level's
 * "tcbStatus":"UpToDate" is replaced by `level` (e.g.
 * "\"tcbStatus\":\"OutOfDate\",\"advisoryIDs\":[\"INTEL-SA-00837\"]"), and
 * tcb_info is re-signed by s with its certificate as the issuer chain.
 * Made for v4_dcapqvl.collateral.json, whose first platform level is the
 * only "UpToDate" one followed by another level. */
char *sr_test_collateral_with_level(const sr_test_tcb_signer *s, const char *collateral, size_t len,
                                    const char *level);

#endif

/* libFuzzer target: the collateral JSON reader and TCB evaluation (without
 * the signature checks, which random input never passes), and the RTMR3
 * event log reader. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../src/attest/attest_int.h"
#include "sealroom/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sr_error err;
    sr_collateral *c = NULL;
    if (sr_collateral_parse((const char *)data, size, &c, &err) == SR_OK) {
        sr_quote q;
        memset(&q, 0, sizeof q);
        q.body.tee_tcb_svn[0] = 6;
        q.body.tee_tcb_svn[1] = 1;
        q.body.tee_tcb_svn[2] = 3;
        q.qe_report.isvprodid = 2;
        q.qe_report.isvsvn = 6;
        q.qe_report.attributes[0] = 0x11;
        sr_pck_ext pck;
        memset(&pck, 0, sizeof pck);
        memcpy(pck.fmspc, "\xb0\xc0\x6f\x00\x00\x00", 6);
        memset(pck.comp, 3, sizeof pck.comp);
        pck.pcesvn = 11;
        sr_attest_result r;
        memset(&r, 0, sizeof r);
        (void)sr_collateral_check_time(c, 1751328000, &err);
        (void)sr_collateral_eval_tcb(c, 1751328000, &q, &pck, &r, &err);
        sr_collateral_free(c);
    }
    uint8_t r3[48];
    size_t n;
    (void)sr_eventlog_replay((const char *)data, size, r3, &n, &err);
    uint8_t p[64];
    (void)sr_eventlog_find((const char *)data, size, "compose-hash", p, sizeof p, &n, &err);
    return 0;
}

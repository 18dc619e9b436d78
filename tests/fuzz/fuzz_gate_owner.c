/* libFuzzer target: the gate's text inputs: owner specs
 * ("ID=0xADDR[:JURISDICTION[:GRADES]]"), grades lists and consortium-list
 * criteria. Input: up to 4 owner specs and one criteria string, separated
 * by newlines. Checks: a parsed owner's grades are canonical (idempotent),
 * a config built from parsed owners validates iff ids/addresses are
 * distinct, criteria results are in range, nothing crashes or leaks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealroom/gate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    static sr_gate_config cfg;
    memset(&cfg, 0, sizeof cfg);
    strcpy(cfg.name, "fuzz");
    cfg.kms_pubkey_len = 1;
    sr_error err;
    char *line = text, *criteria = NULL;
    for (int i = 0; i < 5 && line != NULL; i++) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (i == 4) {
            criteria = line;
            break;
        }
        sr_gate_owner o;
        if (sr_gate_owner_parse(line, &o, &err) == SR_OK) {
            char canon[SR_GATE_GRADES_MAX + 1];
            if (sr_gate_grades_canonical(o.grades, canon, &err) != SR_OK || strcmp(canon, o.grades) != 0)
                abort();
            if (strlen(o.id) == 0 || strlen(o.id) > SR_GATE_ID_MAX)
                abort();
            cfg.owners[cfg.n_owners++] = o;
        }
        line = nl ? nl + 1 : NULL;
    }
    if (cfg.n_owners > 0) {
        cfg.threshold = 1;
        int distinct = 1;
        static const uint8_t zero[20];
        for (size_t i = 0; i < cfg.n_owners; i++) {
            if (memcmp(cfg.owners[i].addr, zero, 20) == 0)
                distinct = 0;
            for (size_t j = 0; j < i; j++)
                if (strcmp(cfg.owners[i].id, cfg.owners[j].id) == 0 ||
                    memcmp(cfg.owners[i].addr, cfg.owners[j].addr, 20) == 0)
                    distinct = 0;
        }
        if ((sr_gate_config_validate(&cfg, &err) == SR_OK) != distinct)
            abort();
        uint8_t h[32];
        sr_gate_owner_hash(&cfg.owners[0], h);
    }
    if (criteria != NULL) {
        sr_gate_criterion out[SR_GATE_MAX_CRITERIA];
        size_t n = 0;
        if (sr_gate_criteria_eval(&cfg, criteria, out, SR_GATE_MAX_CRITERIA, &n, &err) == SR_OK) {
            if (n > SR_GATE_MAX_CRITERIA)
                abort();
            for (size_t i = 0; i < n; i++)
                if (out[i].result > SR_GATE_MATCH)
                    abort();
        }
    }
    free(text);
    return 0;
}

/* sealroom: re-binding an archive to a new recipe without re-encrypting
 * (docs/FORMAT.md, "Rewrap"). Column keys and segment AADs depend only on
 * the DEK, the archive id and the data header (never on the recipe), so a
 * new wrapped DEK and a new signed manifest are enough. */
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include "archive_internal.h"
#include "sealroom/buf.h"
#include "sealroom/secmem.h"

int sr_archive_rewrap(const char *in_path, const char *out_path, const sr_rewrap_opts *o, sr_error *err)
{
    if (o->recipe == NULL || o->owner_sk == NULL || o->dek == NULL)
        return sr_error_set(err, SR_EINVAL, "rewrap: recipe, owner key and data key are required");
    sr_archive *a = NULL;
    sr_manifest *m = NULL;
    sr_buf mbuf = {0};
    int rc = sr_archive_open(in_path, &a, err);
    if (rc != SR_OK)
        return rc;
    if ((rc = sr_archive_verify_digests(a, err)) != SR_OK)
        goto out;
    /* The DEK must be this archive's: authenticate the first segment. */
    if ((rc = sr_archive_unlock(a, o->dek, err)) != SR_OK)
        goto out;
    const sr_manifest *old = sr_archive_manifest(a);
    m = sr_manifest_new(err);
    if (m == NULL) {
        rc = SR_ENOMEM;
        goto out;
    }
    *m = *old;

    /* The owner must be in the new recipe with the same address and schema. */
    uint8_t addr[SR_ETH_ADDR_LEN];
    if ((rc = sr_eth_address_from_seckey(o->owner_sk, addr, err)) != SR_OK)
        goto out;
    if (memcmp(addr, old->owner_address, SR_ETH_ADDR_LEN) != 0) {
        rc = sr_error_set(err, SR_EDENIED, "the key is not the archive owner's (\"%s\")", old->owner_id);
        goto out;
    }
    memcpy(m->app_id, sr_recipe_app_id(o->recipe), SR_APP_ID_LEN);
    memcpy(m->compose_hash, sr_recipe_compose_hash(o->recipe), SR_RECIPE_HASH_LEN);
    if (o->kms_root_pub != NULL &&
        (rc = sr_secp_pubkey_normalize(o->kms_root_pub, SR_SECP_PUBKEY_LEN, m->kms_root_pub, err)) != SR_OK) {
        sr_error_prefix(err, "KMS public key");
        goto out;
    }
    if (o->epsilon_total != 0)
        m->epsilon_total = o->epsilon_total;
    if (!(m->epsilon_total > 0 && m->epsilon_total <= SR_ARCHIVE_MAX_EPSILON)) {
        rc = sr_error_set(err, SR_EINVAL, "epsilon budget must be in (0, %g]", SR_ARCHIVE_MAX_EPSILON);
        goto out;
    }
    m->created = o->created ? o->created : (int64_t)time(NULL);

    sr_keywrap_binding b;
    uint8_t sig[SR_ETH_SIG_LEN];
    int fds[SR_MAX_COLUMNS];
    uint64_t offs[SR_MAX_COLUMNS];
    if ((rc = sr_manifest_binding(m, &b, err)) != SR_OK ||
        (rc = sr_keywrap_wrap(m->kms_root_pub, &b, o->dek, &m->key, err)) != SR_OK ||
        (rc = sr_manifest_write(m, &mbuf, err)) != SR_OK)
        goto out;
    /* Check the new recipe accepts the result before signing it. */
    {
        const sr_recipe_owner *ow = sr_recipe_owner_find(o->recipe, m->owner_id);
        const sr_schema *s = sr_recipe_schema_for(o->recipe, m->owner_id);
        if (ow == NULL || s == NULL) {
            rc = sr_error_set(err, SR_EDENIED, "the new recipe has no dataset of owner \"%s\"", m->owner_id);
            goto out;
        }
        if (memcmp(ow->address, addr, SR_ETH_ADDR_LEN) != 0) {
            rc = sr_error_set(err, SR_EDENIED, "owner \"%s\" has another address in the new recipe", m->owner_id);
            goto out;
        }
        int same = s->ncols == m->schema.ncols;
        for (size_t i = 0; same && i < s->ncols; i++)
            same = strcmp(s->cols[i].name, m->schema.cols[i].name) == 0 && s->cols[i].type == m->schema.cols[i].type;
        if (!same) {
            rc = sr_error_set(err, SR_EDENIED,
                              "the new recipe's schema for \"%s\" differs from the archive's (rewrap cannot change "
                              "the data; seal again)", m->owner_id);
            goto out;
        }
    }
    if ((rc = sr_manifest_sign(mbuf.data, mbuf.len, o->owner_sk, sig, err)) != SR_OK)
        goto out;
    for (size_t i = 0; i < m->schema.ncols; i++) {
        fds[i] = sr_archive_fd(a);
        offs[i] = sr_archive_column_offset(a, i);
    }
    rc = sr_archive_assemble(out_path, m, mbuf.data, mbuf.len, sig, fds, offs, err);
out:
    sr_buf_free(&mbuf);
    free(m);
    sr_archive_close(a);
    return rc;
}

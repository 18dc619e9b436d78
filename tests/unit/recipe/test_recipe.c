#include "test.h"

#include <stdlib.h>

#include "sealroom/buf.h"
#include "sealroom/crypto.h"
#include "sealroom/recipe.h"

static const char *good =
    "{\n"
    "  \"version\": 1,\n"
    "  \"consortium\": {\n"
    "    \"name\": \"Oncology consortium\",\n"
    "    \"app_id\": \"0x00112233445566778899aabbccddeeff00112233\",\n"
    "    \"owners\": [\n"
    "      {\"id\": \"hospital-a\", \"address\": \"0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf\"},\n"
    "      {\"id\": \"hospital_b.2\", \"address\": \"0x2b5ad5c4795c026514f8317c7a215e218dccd6cf\"}\n"
    "    ]\n"
    "  },\n"
    "  \"datasets\": {\n"
    "    \"hospital-a\": {\"schema\": [{\"name\": \"age\", \"type\": \"int\"}, {\"name\": \"bmi\", \"type\": \"float\"},\n"
    "                    {\"name\": \"smoker\", \"type\": \"bool\"}, {\"name\": \"dx\", \"type\": \"date\"},\n"
    "                    {\"name\": \"site\", \"type\": \"string\"}]},\n"
    "    \"hospital_b.2\": {\"schema\": [{\"name\": \"age\", \"type\": \"int64\"}]}\n"
    "  },\n"
    "  \"analysis\": {\"future\": true}\n"
    "}\n";

static void test_parse_good(void)
{
    sr_error err;
    sr_recipe *r = NULL;
    CHECK_OK(sr_recipe_parse(good, strlen(good), &r, &err), &err);
    if (r == NULL)
        return;
    uint8_t h[32];
    sr_sha256(good, strlen(good), h);
    CHECK_EQ_MEM(sr_recipe_compose_hash(r), h, 32);
    size_t n = 0;
    CHECK(memcmp(sr_recipe_bytes(r, &n), good, strlen(good)) == 0 && n == strlen(good));
    CHECK_EQ_INT(sr_recipe_version(r), 1);
    CHECK_EQ_STR(sr_recipe_consortium_name(r), "Oncology consortium");
    CHECK(sr_recipe_app_id(r)[0] == 0x00 && sr_recipe_app_id(r)[19] == 0x33);
    CHECK_EQ_INT(sr_recipe_owner_count(r), 2);
    CHECK_EQ_STR(sr_recipe_owner_at(r, 1)->id, "hospital_b.2");
    CHECK(sr_recipe_owner_find(r, "hospital-a") != NULL && sr_recipe_owner_find(r, "nobody") == NULL);
    CHECK(sr_recipe_owner_find(r, "hospital-a")->address[0] == 0x7e);
    CHECK_EQ_INT(sr_recipe_dataset_count(r), 2);
    CHECK_EQ_STR(sr_recipe_dataset_owner(r, 0), "hospital-a");
    const sr_schema *s = sr_recipe_schema_for(r, "hospital-a");
    CHECK(s != NULL && s->ncols == 5);
    if (s != NULL && s->ncols == 5) {
        CHECK_EQ_STR(s->cols[3].name, "dx");
        CHECK_EQ_INT(s->cols[0].type, SR_TYPE_INT64);
        CHECK_EQ_INT(s->cols[1].type, SR_TYPE_FLOAT64);
        CHECK_EQ_INT(s->cols[2].type, SR_TYPE_BOOL);
        CHECK_EQ_INT(s->cols[3].type, SR_TYPE_DATE);
        CHECK_EQ_INT(s->cols[4].type, SR_TYPE_STRING);
    }
    CHECK(json_is_object(json_object_get(sr_recipe_json(r), "analysis")));
    /* schema JSON round trip */
    json_t *j = sr_schema_to_json(s);
    sr_schema s2;
    CHECK_OK(sr_schema_from_json(j, &s2, "x", &err), &err);
    CHECK(s2.ncols == 5 && strcmp(s2.cols[4].name, "site") == 0 && s2.cols[4].type == SR_TYPE_STRING);
    json_decref(j);
    sr_recipe_free(r);
}

/* Replaces the first occurrence of `from` in good by `to` and expects a
 * parse failure whose message contains `msg`. */
static void expect_bad(const char *from, const char *to, const char *msg)
{
    const char *p = strstr(good, from);
    CHECK_MSG(p != NULL, "fixture lacks %s", from);
    if (p == NULL)
        return;
    char buf[4096];
    size_t pre = (size_t)(p - good);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)pre, good, to, p + strlen(from));
    sr_error err;
    sr_error_clear(&err);
    sr_recipe *r = NULL;
    int rc = sr_recipe_parse(buf, strlen(buf), &r, &err);
    CHECK_MSG(rc != SR_OK && r == NULL, "accepted after replacing %s by %s", from, to);
    CHECK_CONTAINS(err.msg, msg);
    sr_recipe_free(r);
}

static void test_validation_messages(void)
{
    expect_bad("\"version\": 1", "\"version\": 2", "version 2 is not supported");
    expect_bad("\"version\": 1,", "", "missing field \"version\"");
    expect_bad("0x00112233445566778899aabbccddeeff00112233", "0x0011", "consortium.app_id");
    expect_bad("0x00112233445566778899aabbccddeeff00112233", "00112233445566778899aabbccddeeff0011223344",
               "consortium.app_id");
    expect_bad("\"hospital_b.2\", \"address", "\"hospital-a\", \"address", "duplicate owner id");
    expect_bad("0x2b5ad5c4795c026514f8317c7a215e218dccd6cf", "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf",
               "same address as owner \"hospital-a\"");
    expect_bad("0x2b5ad5c4795c026514f8317c7a215e218dccd6cf", "0x2b5ad5c4795c026514f8317c7a215e218dccd6", 
               "consortium.owners[1].address");
    expect_bad("\"id\": \"hospital-a\"", "\"id\": \"hospital a\"", "consortium.owners[0].id");
    expect_bad("\"id\": \"hospital-a\"", "\"id\": \"-x\"", "must not start with");
    expect_bad("\"type\": \"float\"", "\"type\": \"decimal\"", "datasets.hospital-a.schema[1]: unknown column type");
    expect_bad("\"name\": \"bmi\"", "\"name\": \"age\"", "duplicate column name \"age\"");
    expect_bad("\"name\": \"bmi\"", "\"name\": \"\"", "schema[1]: name must be");
    expect_bad("\"hospital_b.2\": {", "\"stranger\": {", "not an owner listed");
    expect_bad("{\"name\": \"age\", \"type\": \"int64\"}", "", "has no columns");
    expect_bad("\"owners\": [", "\"owner\": 1, \"owners\": [", "consortium: unknown field \"owner\"");
    expect_bad("{\"id\": \"hospital-a\",", "{\"role\": 1, \"id\": \"hospital-a\",", "unknown field \"role\"");
    expect_bad("\"version\": 1,", "\"version\": 1, \"version\": 1,", "JSON");
    expect_bad("\"datasets\": {", "\"datasets\": [], \"x\": {", "field \"datasets\" must be an object");
}

static void test_load_and_hash_file(void)
{
    sr_error err;
    CHECK_OK(sr_file_write_atomic("r.json", good, strlen(good), 0644, &err), &err);
    sr_recipe *r = NULL;
    CHECK_OK(sr_recipe_load("r.json", &r, &err), &err);
    uint8_t h[32];
    CHECK_OK(sr_recipe_hash_file("r.json", h, &err), &err);
    CHECK(r != NULL && memcmp(h, sr_recipe_compose_hash(r), 32) == 0);
    sr_recipe_free(r);
    /* One changed byte (a space) changes the compose hash. */
    char buf[4096];
    snprintf(buf, sizeof buf, "%s ", good);
    CHECK_OK(sr_file_write_atomic("r2.json", buf, strlen(buf), 0644, &err), &err);
    uint8_t h2[32];
    CHECK_OK(sr_recipe_hash_file("r2.json", h2, &err), &err);
    CHECK(memcmp(h, h2, 32) != 0);
    CHECK(sr_recipe_load("missing.json", &r, &err) != SR_OK && r == NULL);
    CHECK_CONTAINS(err.msg, "missing.json");
    CHECK_OK(sr_file_write_atomic("bad.json", "{\"version\": 1,", 14, 0644, &err), &err);
    CHECK_EQ_INT(sr_recipe_load("bad.json", &r, &err), SR_EFORMAT);
    CHECK_CONTAINS(err.msg, "bad.json: JSON");
    /* Known vector: SHA-256("") */
    CHECK_OK(sr_file_write_atomic("empty.json", "", 0, 0644, &err), &err);
    CHECK_OK(sr_recipe_hash_file("empty.json", h, &err), &err);
    char hex[65];
    sr_hex_encode(h, 32, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_owner_ids(void)
{
    sr_error err;
    CHECK_OK(sr_owner_id_check("a", &err), &err);
    CHECK_OK(sr_owner_id_check("Org_1.x-y", &err), &err);
    CHECK(sr_owner_id_check("", &err) != SR_OK);
    CHECK(sr_owner_id_check(".hidden", &err) != SR_OK);
    CHECK(sr_owner_id_check("a/b", &err) != SR_OK);
    char longid[80];
    memset(longid, 'a', 64);
    longid[64] = 0;
    CHECK(sr_owner_id_check(longid, &err) != SR_OK);
    longid[63] = 0;
    CHECK_OK(sr_owner_id_check(longid, &err), &err);
}

int main(void)
{
    SR_RUN(test_parse_good);
    SR_RUN(test_validation_messages);
    SR_RUN(test_load_and_hash_file);
    SR_RUN(test_owner_ids);
    return sr_test_finish();
}

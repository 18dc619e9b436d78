/* sealroom run: submit a recipe to an analysis service and wait for it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "sealroom/buf.h"
#include "sealroom/http.h"
#include "sealroom/json.h"

const char sr_cmd_run_summary[] = "submit a recipe to an analysis service and fetch the signed result";

static void usage(FILE *f)
{
    fprintf(f, "usage: sealroom run --api URL --recipe R --input OWNER=URI... [--wait] [--timeout SECONDS]\n"
               "                    [--out RESULT.json] [--json]\n\n"
               "Submits POST URL/v1/runs with the recipe's exact bytes and one input URI per owner\n"
               "(file:///path/to/sealed.tar or http(s)://...). With --wait, polls until the run is\n"
               "done, refused or failed; a done run's receipt (the signed payload and its evidence) is\n"
               "written to --out, which an auditor checks with `sealroom verify`. Exit status 1 when\n"
               "the run is refused or fails.\n");
}

int sr_cmd_run(int argc, char **argv)
{
    const char *api = NULL, *recipe = NULL, *out = NULL;
    int wait = 0, json = 0;
    unsigned long long timeout = 600;
    json_t *inputs = json_object();
    static const struct option opts[] = {{"api", required_argument, 0, 'a'},   {"recipe", required_argument, 0, 'r'},
                                         {"input", required_argument, 0, 'i'}, {"wait", no_argument, 0, 'w'},
                                         {"out", required_argument, 0, 'o'},   {"timeout", required_argument, 0, 't'},
                                         {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': api = optarg; break;
        case 'r': recipe = optarg; break;
        case 'i': {
            const char *eq = strchr(optarg, '=');
            if (eq == NULL || eq == optarg)
                return sr_cli_usage_error("run", "--input must be OWNER=URI, got '%s'", optarg);
            char owner[128];
            snprintf(owner, sizeof owner, "%.*s", (int)(eq - optarg), optarg);
            json_object_set_new(inputs, owner, json_string(eq + 1));
            break;
        }
        case 'w': wait = 1; break;
        case 'o': out = optarg; break;
        case 'j': json = 1; break;
        case 't':
            if (sr_cli_parse_u64("run", "--timeout", optarg, &timeout) != 0)
                return SR_EXIT_USAGE;
            break;
        case 'h': usage(stdout); json_decref(inputs); return SR_EXIT_OK;
        default: json_decref(inputs); return sr_cli_usage_error("run", "unknown option");
        }
    }
    if (api == NULL || recipe == NULL || json_object_size(inputs) == 0) {
        json_decref(inputs);
        return sr_cli_usage_error("run", "--api, --recipe and at least one --input are required");
    }
    sr_error err;
    sr_buf rb;
    sr_buf_init(&rb);
    if (sr_file_read(recipe, 1u << 20, &rb, &err) != SR_OK || sr_buf_append_u8(&rb, 0, &err) != SR_OK) {
        json_decref(inputs);
        return sr_cli_fail("run", &err);
    }
    json_t *req = json_pack("{s:s,s:o}", "compose", (const char *)rb.data, "inputs", inputs);
    sr_buf_free(&rb);
    char url[1024];
    snprintf(url, sizeof url, "%s/v1/runs", api);
    json_t *reply = NULL;
    long status = 0;
    int rc = sr_http_json_call("POST", url, req, 60000, &reply, &status, &err);
    json_decref(req);
    if (rc != SR_OK)
        return sr_cli_fail("run", &err);
    char id[80];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(reply, "id")));
    if (!json)
        fprintf(stderr, "submitted %s (compose hash %s)\n", id, json_string_value(json_object_get(reply, "compose_hash")));
    json_decref(reply);
    if (!wait) {
        printf("%s\n", id);
        return SR_EXIT_OK;
    }
    snprintf(url, sizeof url, "%s/v1/runs/%s", api, id);
    time_t deadline = time(NULL) + (time_t)timeout;
    char last[64] = "";
    for (;;) {
        reply = NULL;
        if (sr_http_json_call("GET", url, NULL, 30000, &reply, &status, &err) != SR_OK)
            return sr_cli_fail("run", &err);
        const char *st = json_string_value(json_object_get(reply, "status"));
        if (st == NULL)
            st = "?";
        if (!json && strcmp(st, last) != 0) {
            const char *reason = json_string_value(json_object_get(reply, "reason"));
            fprintf(stderr, "  %s%s%s\n", st, reason && reason[0] ? ": " : "", reason && reason[0] ? reason : "");
            snprintf(last, sizeof last, "%s", st);
        }
        if (strcmp(st, "done") == 0 || strcmp(st, "refused") == 0 || strcmp(st, "failed") == 0) {
            int ok = strcmp(st, "done") == 0;
            if (ok && out != NULL) {
                char *text = json_dumps(json_object_get(reply, "receipt"), JSON_INDENT(1) | JSON_ENSURE_ASCII);
                rc = text ? sr_file_write_atomic(out, text, strlen(text), 0644, &err) : SR_ENOMEM;
                free(text);
                if (rc != SR_OK) {
                    json_decref(reply);
                    return sr_cli_fail("run", &err);
                }
            }
            if (json) {
                char *text = json_dumps(reply, JSON_INDENT(2));
                printf("%s\n", text ? text : "{}");
                free(text);
            } else if (ok) {
                char *text = json_dumps(json_object_get(reply, "payload"), JSON_INDENT(2));
                printf("%s\n", text ? text : "{}");
                free(text);
                if (out)
                    fprintf(stderr, "receipt written to %s\n", out);
            }
            if (!ok)
                fprintf(stderr, "sealroom run: %s %s\n", id, st);
            json_decref(reply);
            return ok ? SR_EXIT_OK : SR_EXIT_FAIL;
        }
        if (time(NULL) > deadline) {
            sr_error_set(&err, SR_ESTATE, "run %s still %s after %llu s", id, st, timeout);
            json_decref(reply);
            return sr_cli_fail("run", &err);
        }
        json_decref(reply);
        struct timespec ts = {0, 300 * 1000 * 1000L};
        nanosleep(&ts, NULL);
    }
}

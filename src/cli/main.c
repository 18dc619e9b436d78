/* sealroom: command dispatch. Subcommands live in cmd_<word>.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define SR_COMMAND(w)                          \
    extern int sr_cmd_##w(int argc, char **argv); \
    extern const char sr_cmd_##w##_summary[];
#include "commands.inc"
#undef SR_COMMAND

struct command {
    const char *word;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
#define SR_COMMAND(w) {#w, sr_cmd_##w, sr_cmd_##w##_summary},
#include "commands.inc"
#undef SR_COMMAND
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: sealroom COMMAND [OPTIONS]\n\n"
               "Compute-to-data on confidential VMs: seal datasets where they live, approve one\n"
               "recipe, release keys only to an attested VM, publish signed DP aggregates.\n\n"
               "Commands:\n");
    for (size_t i = 0; commands[i].word != NULL; i++)
        fprintf(f, "  %-12s %s\n", commands[i].word, commands[i].summary);
    fprintf(f, "\nRun 'sealroom COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return SR_EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return SR_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sealroom 0.1.0\n");
        return SR_EXIT_OK;
    }
    for (size_t i = 0; commands[i].word != NULL; i++) {
        if (strcmp(argv[1], commands[i].word) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "sealroom: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return SR_EXIT_USAGE;
}

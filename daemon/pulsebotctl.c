/*
 * pulsebotctl: administrative commands that work beside a running daemon, on its configuration
 * and state directory. Each command is in its own ctl_<name>.c (see ctl.h).
 *
 *   pulsebotctl [-c FILE] COMMAND [ARGS]
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "log.h"

static const struct pb_ctl_command *const commands[] = {
    &pb_ctl_link,
    &pb_ctl_report,
    &pb_ctl_plan,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: pulsebotctl [-c FILE] COMMAND [ARGS]\n"
                 "  -c, --config FILE   the daemon's configuration (default "
                 "/etc/pulsebot/pulsebot.conf)\n"
                 "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %s %s\n", commands[i]->name, commands[i]->usage);
}

static const struct pb_ctl_command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *path = "/etc/pulsebot/pulsebot.conf";
    pb_log_init();
    pb_log_set_level(PB_LOG_WARNING);
    int opt;
    /* '+': options end at the command, whose own options are its to parse. */
    while ((opt = getopt_long(argc, argv, "+c:h", options, NULL)) != -1) {
        if (opt == 'c') {
            path = optarg;
        } else if (opt == 'h') {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    const struct pb_ctl_command *cmd = optind < argc ? find_command(argv[optind]) : NULL;
    if (!cmd) {
        if (optind < argc)
            fprintf(stderr, "pulsebotctl: no command %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    struct pb_diag diag = {0};
    struct pb_config *cfg = NULL;
    if (pb_config_load(path, &cfg, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.lines[i]);
        pb_diag_free(&diag);
        return 1;
    }
    pb_diag_free(&diag);
    char **cmd_argv = argv + optind;
    int cmd_argc = argc - optind;
    optind = 0; /* GNU getopt: start afresh on the command's arguments */
    int rc = cmd->run(cfg, cmd_argc, cmd_argv);
    if (rc == 2)
        fprintf(stderr, "usage: pulsebotctl [-c FILE] %s %s\n", cmd->name, cmd->usage);
    pb_config_free(cfg);
    return rc;
}

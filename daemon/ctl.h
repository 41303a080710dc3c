/*
 * pulsebotctl's commands. Each lives in its own ctl_<name>.c and is listed in pulsebotctl.c's
 * table; it gets the loaded configuration and its own arguments (argv[0] is the command's
 * name), parses them with getopt_long (optind is reset for it), and returns the exit status:
 * 0 done, 1 failed (said on stderr), 2 wrong usage.
 */
#ifndef PB_CTL_H
#define PB_CTL_H

#include "config.h"

struct pb_ctl_command {
    const char *name;
    const char *usage; /* the arguments after the name, and a line saying what it does */
    int (*run)(const struct pb_config *cfg, int argc, char **argv);
};

extern const struct pb_ctl_command pb_ctl_link;
extern const struct pb_ctl_command pb_ctl_report;
extern const struct pb_ctl_command pb_ctl_plan;

#endif

/*
 * pulsebotctl report SURVEY [--since DATE] [--until DATE] [--schedule ID] [--round N]
 *                           [--by team|question] [--format text|csv|json]
 * pulsebotctl report --alerts [SURVEY] [--since DATE] [--until DATE] [--format ...]
 *
 * Prints a survey's report (report.h) or the alert figures (report_alerts.c) from the daemon's
 * database, opened read-only beside the running daemon. Every format goes through report.c, so
 * the anonymity thresholds apply to exports as much as to the text.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "report.h"
#include "tz.h"

#define DAY_MS (24LL * 3600 * 1000)

/* "YYYY-MM-DD" (a whole day) or "YYYY-MM-DDTHH:MM" (a minute), in UTC; *day says which. */
static int parse_date(const char *text, int64_t *ms, int *day)
{
    int y, mo, d, h = 0, mi = 0, n = 0;
    if (sscanf(text, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    *day = text[n] == '\0';
    if (!*day) {
        int m = 0;
        if ((text[n] != 'T' && text[n] != ' ') ||
            sscanf(text + n + 1, "%2d:%2d%n", &h, &mi, &m) != 2 || m != 5 ||
            (text[n + 1 + m] != '\0' && strcmp(text + n + 1 + m, "Z") != 0))
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
        return -1;
    int64_t days = pb_tz_days_from_civil(y, mo, d);
    int64_t ny;
    int nm, nd;
    pb_tz_civil_from_days(days, &ny, &nm, &nd);
    if (ny != y || nm != mo || nd != d)
        return -1; /* 2027-02-30 */
    *ms = days * DAY_MS + ((int64_t)h * 60 + mi) * 60 * 1000;
    return 0;
}

static int pick(const char *value, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(value, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

static int open_store(const struct pb_config *cfg, struct pb_store **s)
{
    char path[PATH_MAX], err[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/pulsebot.db", cfg->daemon.state_dir);
    if (pb_store_open_readonly(path, s, err, sizeof err) != PB_OK) {
        fprintf(stderr, "pulsebotctl: %s\n", err);
        return -1;
    }
    return 0;
}

static int survey_report(const struct pb_config *cfg, struct pb_store *s,
                         const struct pb_report_filter *f, int format, int by)
{
    if (!pb_config_survey(cfg, f->survey))
        fprintf(stderr,
                "pulsebotctl: survey %s is not in %s; its answers are reported as "
                "anonymous\n",
                f->survey, cfg->path);
    struct pb_report *r;
    char err[256];
    if (pb_report_build(s, cfg, f, &r, err, sizeof err) != PB_OK) {
        fprintf(stderr, "pulsebotctl: %s\n", err);
        return 1;
    }
    int rc = pb_report_write(r, (enum pb_report_format)format, (enum pb_report_by)by, stdout);
    pb_report_free(r);
    if (rc != PB_OK || fflush(stdout) != 0) {
        fprintf(stderr, "pulsebotctl: could not write the report\n");
        return 1;
    }
    return 0;
}

static int run(const struct pb_config *cfg, int argc, char **argv)
{
    static const struct option options[] = {
        {"since", required_argument, 0, 's'},    {"until", required_argument, 0, 'u'},
        {"by", required_argument, 0, 'b'},       {"format", required_argument, 0, 'f'},
        {"schedule", required_argument, 0, 'S'}, {"round", required_argument, 0, 'r'},
        {"alerts", no_argument, 0, 'a'},         {0, 0, 0, 0},
    };
    static const char *const formats[] = {"text", "csv", "json", NULL};
    static const char *const bys[] = {"question", "team", NULL};
    struct pb_report_filter f = {0};
    int format = PB_REPORT_TEXT, by = PB_REPORT_BY_QUESTION, alerts = 0, opt, day;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 's':
            if (parse_date(optarg, &f.since_ms, &day) != 0) {
                fprintf(stderr, "pulsebotctl: --since %s is not a date such as 2027-01-31\n",
                        optarg);
                return 2;
            }
            break;
        case 'u':
            if (parse_date(optarg, &f.until_ms, &day) != 0) {
                fprintf(stderr, "pulsebotctl: --until %s is not a date such as 2027-01-31\n",
                        optarg);
                return 2;
            }
            if (day) /* a date names a whole day: up to its end */
                f.until_ms += DAY_MS;
            break;
        case 'b':
            if (pick(optarg, bys, &by) != 0) {
                fprintf(stderr, "pulsebotctl: --by is team or question, not %s\n", optarg);
                return 2;
            }
            break;
        case 'f':
            if (pick(optarg, formats, &format) != 0) {
                fprintf(stderr, "pulsebotctl: --format is text, csv or json, not %s\n", optarg);
                return 2;
            }
            break;
        case 'S':
            f.schedule = optarg;
            break;
        case 'r': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*optarg == '\0' || *end || v < 1) {
                fprintf(stderr, "pulsebotctl: --round is a round number from 1, not %s\n", optarg);
                return 2;
            }
            f.round = v;
            break;
        }
        case 'a':
            alerts = 1;
            break;
        default:
            return 2;
        }
    }
    if (argc - optind > 1 || (!alerts && argc - optind != 1))
        return 2;
    if (f.since_ms && f.until_ms && f.until_ms <= f.since_ms) {
        fprintf(stderr, "pulsebotctl: --until must come after --since\n");
        return 2;
    }
    f.survey = optind < argc ? argv[optind] : NULL;
    struct pb_store *s;
    if (open_store(cfg, &s) != 0)
        return 1;
    int rc = alerts ? pb_report_alerts_write(s, cfg, f.survey, f.since_ms, f.until_ms,
                                             (enum pb_report_format)format, stdout)
                    : survey_report(cfg, s, &f, format, by);
    if (alerts && rc != PB_OK) {
        fprintf(stderr, "pulsebotctl: could not read the alerts\n");
        rc = 1;
    }
    pb_store_close(s);
    return rc;
}

const struct pb_ctl_command pb_ctl_report = {
    .name = "report",
    .usage = "SURVEY [--since DATE] [--until DATE] [--schedule ID] [--round N]\n"
             "      [--by team|question] [--format text|csv|json]\n"
             "      a survey's figures per question or team, with the anonymity thresholds\n"
             "  report --alerts [SURVEY] [--since DATE] [--until DATE] [--format ...]\n"
             "      alerts by state, times to acknowledge and resolve, SLA breaches, reasons",
    .run = run,
};

/*
 * What `pulsebotd --check-config` says about each schedule: whom it reaches, under which
 * calendars and spread, and when its next waves are, so that an operator sees a rule's
 * meaning in their people's local times before it fires. Computed from the configuration
 * alone with the functions the daemon uses (schedule.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

#define N_TIMES   3
#define MAX_ZONES 12 /* zones listed per rule; the rest are counted */

static void format_duration(int64_t ms, char *out, size_t len)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{604800000, "w"}, {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ms >= units[i].ms && ms % units[i].ms == 0) {
            snprintf(out, len, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
            return;
        }
    snprintf(out, len, "%lldms", (long long)ms);
}

static void format_time(const struct pb_tz *tz, int64_t ms, char *out, size_t len)
{
    static const char *const wd[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    struct pb_tz_local l;
    pb_tz_to_local(tz, ms, &l);
    snprintf(out, len, "%s %04d-%02d-%02d %02d:%02d %s", wd[l.wday], (int)l.year, l.month, l.day,
             l.hour, l.min, l.abbr);
}

static int time_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void print_times(FILE *out, const struct pb_tz *tz, const int64_t *t, size_t n)
{
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        format_time(tz, t[i], buf, sizeof buf);
        fprintf(out, "%s%s", i ? ", " : "", buf);
    }
    fprintf(out, "%s\n", n ? "" : "never again");
}

static void describe(FILE *out, const struct pb_config *cfg, const struct pb_roster *r,
                     const struct pb_cfg_schedule *sch, int64_t now)
{
    struct pb_schedule_groups g;
    const struct pb_tz *utc;
    char err[256], every[32], first[32], spread[32];
    if (pb_schedule_groups_build(r, sch, &g) != PB_OK || pb_tz_get("UTC", &utc, err, sizeof err))
        return;
    fprintf(out, "schedule %s: survey %s to %zu %s", sch->id, sch->survey, g.audience,
            g.audience == 1 ? "person" : "people");
    if (sch->rule_text) {
        fprintf(out, ", at %s in each person's time zone (%zu zone%s)\n", sch->rule_text, g.n,
                g.n == 1 ? "" : "s");
    } else {
        format_duration(sch->every_ms, every, sizeof every);
        format_duration(sch->first_ms, first, sizeof first);
        fprintf(out, ", first %s after it is new, then every %s\n", first, every);
    }
    if (sch->spread_ms) {
        format_duration(sch->spread_ms, spread, sizeof spread);
        fprintf(out, "  each wave spread over %s\n", spread);
    }
    if (sch->calendar)
        fprintf(out, "  calendar %s on top of each person's own\n", sch->calendar);
    int64_t t[N_TIMES], all[N_TIMES];
    size_t n_all = 0;
    if (!sch->rule_text) {
        n_all = pb_schedule_waves(sch, NULL, now + sch->first_ms, INT64_MAX, all, N_TIMES);
        fprintf(out, "  next waves if it is new now (UTC): ");
        print_times(out, utc, all, n_all);
    } else {
        /* The earliest waves across zones: each zone's next three, the first three of all. */
        int64_t *merged = malloc((g.n ? g.n : 1) * N_TIMES * sizeof *merged);
        for (size_t i = 0; merged && i < g.n; i++)
            n_all += pb_schedule_waves(sch, g.g[i].tz, now, INT64_MAX, merged + n_all, N_TIMES);
        if (merged)
            qsort(merged, n_all, sizeof *merged, time_cmp);
        if (n_all > N_TIMES)
            n_all = N_TIMES;
        if (merged)
            memcpy(all, merged, n_all * sizeof *all);
        free(merged);
        fprintf(out, "  next waves (UTC): ");
        print_times(out, utc, all, n_all);
        for (size_t i = 0; i < g.n && i < MAX_ZONES; i++) {
            size_t k = pb_schedule_waves(sch, g.g[i].tz, now, INT64_MAX, t, N_TIMES);
            fprintf(out, "  in %s (%zu): ", g.g[i].zone, g.g[i].n);
            if (!g.g[i].tz)
                fprintf(out, "unknown time zone: not asked\n");
            else
                print_times(out, g.g[i].tz, t, k);
        }
        if (g.n > MAX_ZONES)
            fprintf(out, "  ... and %zu more zones\n", g.n - MAX_ZONES);
    }
    /* Calendars move sends: say how many people a calendar governs. */
    size_t governed = 0;
    for (size_t i = 0; i < g.n; i++)
        for (size_t k = 0; k < g.g[i].n; k++)
            governed += g.g[i].m[k].cal != NULL || g.cal != NULL;
    if (governed)
        fprintf(out,
                "  %zu of them asked only when their calendar allows (see "
                "`pulsebotctl plan %s`)\n",
                governed, sch->survey);
    pb_schedule_groups_free(&g);
    (void)cfg;
}

void pb_schedule_describe(FILE *out, const struct pb_config *cfg, int64_t now_ms)
{
    struct pb_roster *r;
    if (pb_roster_build(cfg, &r) != PB_OK)
        return;
    for (size_t i = 0; i < cfg->n_schedules; i++)
        describe(out, cfg, r, &cfg->schedules[i], now_ms);
    pb_roster_free(r);
}

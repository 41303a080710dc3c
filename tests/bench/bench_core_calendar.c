/*
 * How fast next occurrences are computed for a large roster: N people (default 100,000)
 * spread over the first 300 zones named in /usr/share/zoneinfo/tzdata.zi, each person's next
 * "weekly on Monday at 09:00 local" after a fixed instant, computed per person (no sharing of
 * results between people of the same zone, as the schedule may not). Prints the time to load
 * the zones, the total and per-person time of the expansion, and the peak resident memory.
 *
 * Usage: bench_core_calendar [people] [rule]
 * Not a test: it checks only that every person got an occurrence (on a Monday at 09:00 local
 * with the default rule), and prints figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"
#include "pulsebot/plugin.h"
#include "tz.h"

#define N_ZONES 300

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Zone names from the "Z <name> ..." lines of tzdata.zi, in file order. */
static size_t zone_names(char names[][64], size_t max)
{
    FILE *f = fopen("/usr/share/zoneinfo/tzdata.zi", "r");
    char line[512];
    size_t n = 0;
    while (f && n < max && fgets(line, sizeof line, f))
        if (line[0] == 'Z' && line[1] == ' ' && sscanf(line + 2, "%63s", names[n]) == 1)
            n++;
    if (f)
        fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    size_t people = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    const char *text = argc > 2 ? argv[2] : "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9";
    static char names[N_ZONES][64];
    size_t nz = zone_names(names, N_ZONES);
    if (nz == 0 || people == 0) {
        fprintf(stderr, "no zones in /usr/share/zoneinfo/tzdata.zi\n");
        return 1;
    }
    char err[256];
    struct pb_cal_rule rule;
    if (pb_cal_parse(text, &rule, err, sizeof err) != PB_OK) {
        fprintf(stderr, "%s: %s\n", text, err);
        return 1;
    }
    /* The roster: each person names their zone, as the roster module keeps it. */
    const char **person_zone = malloc(people * sizeof *person_zone);
    int64_t *next = malloc(people * sizeof *next);
    if (!person_zone || !next)
        return 1;
    for (size_t i = 0; i < people; i++)
        person_zone[i] = names[(i * 7919) % nz]; /* scattered, not sorted by zone */

    double t0 = now_s();
    for (size_t i = 0; i < nz; i++) {
        const struct pb_tz *tz;
        if (pb_tz_get(names[i], &tz, err, sizeof err) != PB_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    double t1 = now_s();
    /* 2025-03-07 12:00 UTC: a Friday, with the US change on the coming Sunday. */
    int64_t after = (pb_tz_days_from_civil(2025, 3, 7) * 86400 + 12 * 3600) * 1000;
    size_t missing = 0;
    for (size_t i = 0; i < people; i++) {
        const struct pb_tz *tz;
        /* by name through the cache, as the schedule would for each recipient */
        if (pb_tz_get(person_zone[i], &tz, err, sizeof err) != PB_OK ||
            pb_cal_next(&rule, tz, after, &next[i]) != PB_OK)
            missing++;
    }
    double t2 = now_s();
    /* Each answer must be a Monday 09:00 local when the default rule is used. */
    size_t wrong = 0;
    for (size_t i = 0; argc <= 2 && i < people; i++) {
        const struct pb_tz *tz;
        struct pb_tz_local l;
        pb_tz_get(person_zone[i], &tz, err, sizeof err);
        pb_tz_to_local(tz, next[i], &l);
        wrong += l.wday != 1 || l.hour != 9 || l.min != 0;
    }
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < people; i++) {
        lo = next[i] < lo ? next[i] : lo;
        hi = next[i] > hi ? next[i] : hi;
    }
    printf("rule: %s\n", text);
    printf("zones: %zu loaded in %.1f ms\n", nz, (t1 - t0) * 1e3);
    printf("people: %zu, next occurrence in %.1f ms total, %.3f us per person (%zu without)\n",
           people, (t2 - t1) * 1e3, (t2 - t1) * 1e6 / (double)people, missing);
    printf("earliest %.2f h, latest %.2f h after the start\n", (double)(lo - after) / 3.6e6,
           (double)(hi - after) / 3.6e6);
    printf("peak RSS (VmHWM): %ld kB\n", peak_rss_kb());
    free(person_zone);
    free(next);
    pb_tz_cache_clear();
    if (wrong)
        printf("%zu answers are not Monday 09:00 local\n", wrong);
    return missing || wrong ? 1 : 0;
}

/*
 * How fast one pulse is expanded into deliveries for a large roster: N people (default
 * 100,000) scattered over the first 300 zones named in /usr/share/zoneinfo/tzdata.zi, one
 * team, one schedule; the wave creates every delivery and its question in the outbox in one
 * transaction on a real SQLite file (WAL, synchronous=FULL, as the daemon runs it). No
 * connector is attached, so nothing is sent: the figure is the expansion alone.
 *
 * Modes: "every" (default) asks everybody in one wave, each person's send moved by the office
 * calendar in their own zone and spread over 15 minutes; "rule" is a calendar rule, one wave
 * per zone, and the clock is walked through all 300 of them (the total is reported; zones
 * with the same offset fall due in the same turn of the engine); "csv" is "every" with the
 * people read from a roster CSV (as an HR export gives them) instead of the configuration. The
 * window (8 days) and the reminder (7 days) keep expiries and reminders out of the figures.
 *
 * Usage: bench_core_schedule [people] [every|rule|csv] [directory]
 *        (defaults: 100000, every, /tmp)
 * Not a test: it checks that every person got a delivery and prints figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "token.h"

#define N_ZONES 300

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
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

static int write_config(const char *path, const char *csv, size_t people, int rule)
{
    static char names[N_ZONES][64];
    size_t nz = zone_names(names, N_ZONES);
    FILE *f = fopen(path, "w");
    if (!f || nz == 0)
        return -1;
    fprintf(f,
            "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
            "calendars = ( { id = \"office\"; weekdays = \"MO-FR\"; hours = \"09:00-17:30\";\n"
            "  days_off = [ \"2027-01-01\", \"2027-12-24\" ]; } );\n"
            "teams = ( { id = \"t\"; calendar = \"office\"; } );\n");
    if (csv) {
        /* The roster as an HR export: the people are not in the configuration's tree. */
        FILE *c = fopen(csv, "w");
        if (!c)
            return -1;
        fprintf(c, "id,team,timezone,web\n");
        for (size_t i = 0; i < people; i++)
            fprintf(c, "p%zu,t,%s,p%zu\n", i, names[(i * 7919) % nz], i);
        if (fclose(c) != 0)
            return -1;
        fprintf(f, "roster = { csv = \"%s\"; };\n", csv);
    } else {
        fprintf(f, "people = (\n");
        for (size_t i = 0; i < people; i++)
            fprintf(f, "  { id = \"p%zu\"; team = \"t\"; timezone = \"%s\"; }%s\n", i,
                    names[(i * 7919) % nz], i + 1 < people ? "," : "");
        fprintf(f, ");\n");
    }
    fprintf(f,
            "surveys = ( { id = \"s\"; window = \"8d\"; reminders = [ \"7d\" ]; questions = (\n"
            "  { id = \"q\"; type = \"scale\"; text = \"How was your week?\"; min = 1; max = 5; "
            "} ); } );\n"
            "schedules = ( { id = \"w\"; survey = \"s\"; %s spread = \"15m\";\n"
            "  audience = { teams = [ \"t\" ]; }; } );\n",
            rule ? "rule = \"FREQ=WEEKLY;BYDAY=MO;BYHOUR=10\";"
                 : "every = \"7d\"; first = \"1s\";");
    return fclose(f);
}

int main(int argc, char **argv)
{
    size_t people = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
    int rule = argc > 2 && strcmp(argv[2], "rule") == 0;
    int csv = argc > 2 && strcmp(argv[2], "csv") == 0;
    const char *base = argc > 3 ? argv[3] : "/tmp";
    char dir[512], path[600], err[256];
    snprintf(dir, sizeof dir, "%s/pb-bench-XXXXXX", base);
    if (!mkdtemp(dir))
        return 1;
    char csv_path[600];
    snprintf(csv_path, sizeof csv_path, "%s/people.csv", dir);
    snprintf(path, sizeof path, "%s/bench.conf", dir);
    if (write_config(path, csv ? csv_path : NULL, people, rule) != 0)
        return 1;

    pb_log_set_level(PB_LOG_WARNING);
    struct pb_fake_clock clock;
    pb_fake_clock_init(&clock, 1800000000000LL); /* Friday 2027-01-15 08:00 UTC */
    pb_clock_set(&clock.clock);
    struct pb_diag diag = {0};
    struct pb_config *cfg;
    double t0 = now_s();
    if (pb_config_load(path, &cfg, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.lines[i]);
        return 1;
    }
    double t1 = now_s();
    long rss_config = peak_rss_kb();
    snprintf(path, sizeof path, "%s/bench.db", dir);
    struct pb_store *store;
    if (pb_store_open(path, &store, err, sizeof err) != PB_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct pb_token_key key = {{1}};
    struct pb_engine *engine;
    struct pb_engine_setup setup = {store, &key, NULL, NULL};
    if (pb_engine_create(&setup, cfg, &engine) != PB_OK)
        return 1;
    double t2 = now_s();
    pb_engine_run(engine); /* the schedule is new: nothing for the past */
    double t3 = now_s();
    size_t waves = 0;
    double expand = 0;
    if (!rule) {
        clock.now += 1000;
        double a = now_s();
        pb_engine_run(engine);
        expand = now_s() - a;
        waves = 1;
    } else {
        /* Every zone's Monday 10:00 within the next week, each its own wave. */
        int64_t until = clock.now + 7LL * 24 * 3600 * 1000;
        for (;;) {
            int64_t next = pb_engine_next_due(engine);
            if (next > until)
                break;
            if (next > clock.now)
                clock.now = next;
            double a = now_s();
            pb_engine_run(engine);
            expand += now_s() - a;
            waves++;
        }
    }
    size_t pending = pb_store_outbox_pending(store);

    printf("people: %zu in %d zones, mode %s\n", people, N_ZONES,
           rule  ? "rule"
           : csv ? "csv"
                 : "every");
    printf("config load: %.3f s (peak RSS so far %ld KiB)\n", t1 - t0, rss_config);
    printf("engine start: %.3f s, first look at the schedule: %.3f s\n", t2 - t1, t3 - t2);
    printf("expansion: %zu deliveries in %zu turn(s) of the engine: %.3f s (%.2f us per person)\n",
           pending, waves, expand, expand * 1e6 / (double)people);
    printf("peak RSS: %ld KiB\n", peak_rss_kb());

    pb_engine_destroy(engine);
    pb_store_close(store);
    pb_config_free(cfg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    return pending == people ? 0 : 1;
}

/*
 * pulsebotctl plan SURVEY [--days N]: a dry run of the schedules that send SURVEY. Lists who
 * would be asked which question and when over the next N days (default 7), in each person's
 * local time and in UTC, honouring calendars, quiet hours, days off, absences and spread. It
 * sends nothing and writes nothing: the state directory's database is opened read-only for
 * where each schedule stands (its last rounds, absences set by chat, sends already waiting in
 * the outbox are not listed), and without one the plan starts from the configuration alone, as
 * if every schedule were new now. The send times come from the functions the daemon uses
 * (schedule.h), so the plan and the daemon agree.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "ctl.h"
#include "engine_internal.h"
#include "schedule.h"
#include "survey_internal.h"

#define MAX_WAVES 64 /* per zone and schedule within the plan's days */

struct row {
    int64_t send;
    const struct pb_wave_member *m;
    const struct pb_cfg_schedule *sch;
    int64_t round, wave;
    int away;
};

struct plan {
    struct row *v;
    size_t n, cap;
};

static int add_row(struct plan *p, struct row r)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        struct row *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = r;
    return 0;
}

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->send != y->send)
        return x->send < y->send ? -1 : 1;
    return strcmp(x->m->p->id, y->m->p->id);
}

/* Where the schedule's round `key` stands: the next wave from the store, or as if new now. */
static int64_t first_wave(struct pb_engine *e, const struct pb_cfg_schedule *sch, const char *key,
                          const struct pb_tz *tz, int64_t now, int64_t *round)
{
    int64_t last = 0;
    *round = 0;
    if (pb_store_schedule_get(e->store, key, round, &last) != PB_OK)
        return sch->rule_text ? now : now + sch->first_ms;
    if (!sch->rule_text)
        return last + sch->every_ms;
    (void)tz;
    return last;
}

/* Adds the waves of one group to the plan, as the daemon's rounds would ask them. */
static int plan_group(struct pb_engine *e, const struct pb_cfg_schedule *sch,
                      const struct pb_cfg_survey *s, const struct pb_schedule_groups *gs,
                      const struct pb_wave_group *g, int64_t now, int64_t until, struct plan *p)
{
    char key[200];
    if (sch->rule_text)
        snprintf(key, sizeof key, "%s@%s", sch->id, g->zone);
    else
        snprintf(key, sizeof key, "%s", sch->id);
    if (sch->rule_text && !g->tz)
        return 0; /* unknown zone: the daemon does not ask them either */
    int64_t round, waves[MAX_WAVES];
    int64_t first = first_wave(e, sch, key, g->tz, now, &round);
    /* A wave the daemon missed while down is asked late if its window is still open; the
     * ones before it are not asked at all. */
    size_t n = pb_schedule_waves(sch, g->tz, first, until, waves, MAX_WAVES);
    size_t from = 0;
    while (from + 1 < n && waves[from + 1] <= now)
        from++;
    if (from < n && waves[from] <= now && now - waves[from] >= s->window_ms)
        from++;
    for (size_t w = from; w < n; w++) {
        int64_t r = round + (int64_t)w + 1;
        for (size_t i = 0; i < g->n; i++) {
            int64_t send;
            if (pb_schedule_send_time(sch, gs, &g->m[i], waves[w], i, g->n, &send) != PB_OK ||
                send > until)
                continue;
            struct row row = {send < now ? now : send, &g->m[i], sch, r, waves[w], 0};
            row.away = pb_away_on(e, g->m[i].p, send);
            if (add_row(p, row) != 0)
                return -1;
        }
    }
    return 0;
}

static void print_local(const struct pb_tz *tz, int64_t ms, char *out, size_t len)
{
    static const char *const wd[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    struct pb_tz_local l;
    pb_tz_to_local(tz, ms, &l);
    snprintf(out, len, "%s %04d-%02d-%02d %02d:%02d:%02d %s", wd[l.wday], (int)l.year, l.month,
             l.day, l.hour, l.min, l.sec, l.abbr);
}

static int print_plan(struct pb_engine *e, const struct pb_cfg_survey *s, struct plan *p, int days,
                      int from_store)
{
    const struct pb_tz *utc;
    char err[256], local[64], in_utc[64];
    if (pb_tz_get("UTC", &utc, err, sizeof err) != PB_OK)
        return 1;
    qsort(p->v, p->n, sizeof *p->v, row_cmp);
    size_t asked = 0, away = 0;
    printf("plan for survey %s over the next %d day%s (%s); nothing is sent\n", s->id, days,
           days == 1 ? "" : "s",
           from_store ? "from the state directory" : "no state yet: as if every schedule were new");
    printf("%-36s %-22s %-24s %-12s %s\n", "local time", "UTC", "person", "question", "schedule");
    for (size_t i = 0; i < p->n; i++) {
        const struct row *r = &p->v[i];
        print_local(r->m->tz, r->send, local, sizeof local);
        print_local(utc, r->send, in_utc, sizeof in_utc);
        const char *q = s->questions[pb_survey_first_question(s, r->round, 0)].id;
        printf("%-36s %-22.19s %-24s %-12s %s round %lld%s\n", local, in_utc + 4, r->m->p->id,
               r->away ? "-" : q, r->sch->id, (long long)r->round,
               r->away ? " (away: not asked)" : "");
        asked += !r->away;
        away += r->away;
    }
    printf("%zu question%s to ask, %zu away\n", asked, asked == 1 ? "" : "s", away);
    (void)e;
    return 0;
}

static int plan(const struct pb_config *cfg, const char *survey, int days)
{
    const struct pb_cfg_survey *s = pb_config_survey(cfg, survey);
    if (!s) {
        fprintf(stderr, "pulsebotctl: no survey %s in %s\n", survey, cfg->path);
        return 1;
    }
    char path[PATH_MAX], err[512];
    snprintf(path, sizeof path, "%s/pulsebot.db", cfg->daemon.state_dir);
    struct pb_store *store = NULL;
    int from_store = access(path, F_OK) == 0;
    if (from_store ? pb_store_open_readonly(path, &store, err, sizeof err) != PB_OK
                   : pb_store_open(":memory:", &store, err, sizeof err) != PB_OK) {
        fprintf(stderr, "pulsebotctl: %s\n", err);
        return 1;
    }
    struct pb_token_key key = {{0}};
    struct pb_engine_setup setup = {store, &key, NULL, NULL};
    struct pb_engine *e = NULL;
    int rc = 1;
    struct plan p = {0};
    struct pb_schedule_groups *groups = calloc(cfg->n_schedules + 1, sizeof *groups);
    if (!groups || pb_engine_create(&setup, cfg, &e) != PB_OK)
        goto out;
    int64_t now = pb_now_ms(), until = now + (int64_t)days * 86400000;
    size_t schedules = 0;
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        const struct pb_cfg_schedule *sch = &cfg->schedules[i];
        if (strcmp(sch->survey, survey) != 0)
            continue;
        schedules++;
        if (pb_schedule_groups_build(e->roster, sch, &groups[i]) != PB_OK)
            goto out;
        for (size_t k = 0; k < groups[i].n; k++)
            if (plan_group(e, sch, s, &groups[i], &groups[i].g[k], now, until, &p) != 0)
                goto out;
    }
    if (!schedules) {
        fprintf(stderr, "pulsebotctl: no schedule sends survey %s\n", survey);
        goto out;
    }
    rc = print_plan(e, s, &p, days, from_store);
out:
    for (size_t i = 0; groups && i < cfg->n_schedules; i++)
        pb_schedule_groups_free(&groups[i]);
    free(groups);
    free(p.v);
    pb_engine_destroy(e);
    pb_store_close(store);
    return rc;
}

static int run(const struct pb_config *cfg, int argc, char **argv)
{
    static const struct option options[] = {
        {"days", required_argument, 0, 'd'},
        {0, 0, 0, 0},
    };
    int days = 7, opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        char *end;
        if (opt != 'd')
            return 2;
        long v = strtol(optarg, &end, 10);
        if (*end || v < 1 || v > 366) {
            fprintf(stderr, "pulsebotctl: --days %s is not a number of days from 1 to 366\n",
                    optarg);
            return 2;
        }
        days = (int)v;
    }
    if (argc - optind != 1)
        return 2;
    return plan(cfg, argv[optind], days);
}

const struct pb_ctl_command pb_ctl_plan = {
    .name = "plan",
    .usage = "SURVEY [--days N]\n"
             "      who would be asked SURVEY and when over the next N days (default 7), in\n"
             "      each person's local time; sends nothing",
    .run = run,
};

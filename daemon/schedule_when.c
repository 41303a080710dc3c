/*
 * When each person of a wave is asked (schedule.h): the audience grouped by time zone once per
 * configuration, each person's calendar resolved once, and the send time of one person. Pure
 * functions of the configuration, so the daemon, `pulsebotctl plan` and `--check-config` get
 * the same answer.
 */
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

const struct pb_cfg_calendar *pb_schedule_team_calendar(const struct pb_config *cfg,
                                                        const char *team)
{
    /* Bounded: a loaded configuration has no loops in its team tree. */
    const struct pb_cfg_team *t = team ? pb_config_team(cfg, team) : NULL;
    for (size_t steps = 0; t && steps <= cfg->n_teams; steps++) {
        if (t->calendar)
            return pb_config_calendar(cfg, t->calendar);
        t = t->parent ? pb_config_team(cfg, t->parent) : NULL;
    }
    for (size_t i = 0; i < cfg->n_calendars; i++)
        if (cfg->calendars[i].is_default)
            return &cfg->calendars[i];
    return NULL;
}

const char *pb_schedule_zone(const struct pb_roster *r, const struct pb_cfg_person *p)
{
    const char *zone = r ? pb_roster_timezone(r, p) : p->timezone;
    return zone ? zone : "UTC";
}

int pb_schedule_allowed(const struct pb_cfg_calendar *a, const struct pb_cfg_calendar *b,
                        const struct pb_tz *tz, int64_t at_ms, int64_t *out_ms)
{
    int64_t t = at_ms;
    /* Each calendar moves the time to its own next allowed one; where both leave it in place,
     * both allow it. Calendars that never agree (weekdays against weekends) stop the walk. */
    for (int turn = 0; turn < 64; turn++) {
        int64_t x = t;
        if (a && pb_cal_allowed_next(&a->allowed, tz, x, &x) != 0)
            return PB_ERR_DONE;
        if (b && pb_cal_allowed_next(&b->allowed, tz, x, &x) != 0)
            return PB_ERR_DONE;
        if (x == t) {
            *out_ms = t;
            return PB_OK;
        }
        t = x;
    }
    return PB_ERR_DONE;
}

int pb_schedule_send_time(const struct pb_cfg_schedule *sch, const struct pb_schedule_groups *g,
                          const struct pb_wave_member *m, int64_t at_ms, size_t index, size_t n,
                          int64_t *send_ms)
{
    const struct pb_cfg_calendar *own = m->cal, *extra = g->cal;
    int64_t t = at_ms;
    /* The calendar first, then the spread: a wave that falls on a weekend starts on Monday
     * morning and is still spread, rather than everyone's spread collapsing onto 09:00. */
    if ((own || extra) && pb_schedule_allowed(own, extra, m->tz, t, &t) != PB_OK)
        return PB_ERR_DONE;
    if (sch->spread_ms > 0 && n > 1 && index < n) {
        /* Even steps by place in the wave: deterministic, and the same in a plan. */
        t += (int64_t)((__int128)sch->spread_ms * (__int128)index / (__int128)n);
        if ((own || extra) && pb_schedule_allowed(own, extra, m->tz, t, &t) != PB_OK)
            return PB_ERR_DONE;
    }
    *send_ms = t;
    return PB_OK;
}

size_t pb_schedule_waves(const struct pb_cfg_schedule *sch, const struct pb_tz *tz,
                         int64_t first_ms, int64_t until_ms, int64_t *out, size_t max)
{
    size_t n = 0;
    int64_t t = first_ms;
    while (n < max) {
        if (sch->rule_text) {
            if (!tz || pb_cal_next(&sch->rule, tz, t, &t) != PB_OK)
                break;
        } else if (n > 0) {
            t += sch->every_ms;
        }
        if (t > until_ms)
            break;
        out[n++] = t;
    }
    return n;
}

/* ---- grouping -------------------------------------------------------------------------- */

struct grouping {
    const struct pb_roster *r;
    const struct pb_config *cfg;
    struct pb_schedule_groups *out;
    struct pb_wave_member *all; /* everyone, in roster order, before they are grouped */
    const char **zones;         /* each member's zone name */
    size_t n, cap;
    const char *last_team; /* people come in runs of one team: resolve its calendar once */
    const struct pb_cfg_calendar *last_cal;
    const char *last_zone;
    const struct pb_tz *last_tz;
};

static int add_member(void *arg, const struct pb_cfg_person *p)
{
    struct grouping *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct pb_wave_member *all = realloc(c->all, cap * sizeof *all);
        if (!all)
            return PB_ERR_NOMEM;
        c->all = all;
        const char **zones = realloc(c->zones, cap * sizeof *zones);
        if (!zones)
            return PB_ERR_NOMEM;
        c->zones = zones;
        c->cap = cap;
    }
    const char *zone = pb_schedule_zone(c->r, p);
    if (!c->last_zone || strcmp(zone, c->last_zone) != 0) {
        char err[256];
        if (pb_tz_get(zone, &c->last_tz, err, sizeof err) != PB_OK &&
            pb_tz_get("UTC", &c->last_tz, err, sizeof err) != PB_OK)
            return PB_ERR;
        c->last_zone = zone;
    }
    if (c->n == 0 || (p->team != c->last_team &&
                      (!p->team || !c->last_team || strcmp(p->team, c->last_team) != 0))) {
        c->last_cal = pb_schedule_team_calendar(c->cfg, p->team);
        c->last_team = p->team;
    }
    c->all[c->n] = (struct pb_wave_member){p, c->last_tz, c->last_cal};
    c->zones[c->n++] = zone;
    return 0;
}

struct zone_ref {
    const char *zone;
    size_t i; /* place in roster order: kept within a zone */
};

static int zone_ref_cmp(const void *a, const void *b)
{
    const struct zone_ref *x = a, *y = b;
    int c = strcmp(x->zone, y->zone);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Splits `all` into one group per zone, each in roster order: one sort, not a pass over the
 * audience per zone. */
static int split_by_zone(struct grouping *c)
{
    struct pb_schedule_groups *out = c->out;
    struct zone_ref *refs = malloc((c->n ? c->n : 1) * sizeof *refs);
    struct pb_wave_member *sorted = malloc((c->n ? c->n : 1) * sizeof *sorted);
    if (!refs || !sorted) {
        free(refs);
        free(sorted);
        return PB_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++)
        refs[i] = (struct zone_ref){c->zones[i], i};
    qsort(refs, c->n, sizeof *refs, zone_ref_cmp);
    size_t groups = 0;
    for (size_t i = 0; i < c->n; i++) {
        sorted[i] = c->all[refs[i].i];
        groups += i == 0 || strcmp(refs[i].zone, refs[i - 1].zone) != 0;
    }
    out->g = calloc(groups ? groups : 1, sizeof *out->g);
    if (!out->g) {
        free(refs);
        free(sorted);
        return PB_ERR_NOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (i == 0 || strcmp(refs[i].zone, refs[i - 1].zone) != 0) {
            struct pb_wave_group *g = &out->g[out->n++];
            char err[256];
            g->zone = refs[i].zone;
            if (pb_tz_get(g->zone, &g->tz, err, sizeof err) != PB_OK)
                g->tz = NULL;
            g->m = &sorted[i];
        }
        out->g[out->n - 1].n++;
    }
    free(refs);
    free(c->all);
    c->all = sorted; /* the groups point into it; freed with the first group */
    return PB_OK;
}

int pb_schedule_groups_build(const struct pb_roster *r, const struct pb_cfg_schedule *sch,
                             struct pb_schedule_groups *out)
{
    memset(out, 0, sizeof *out);
    struct grouping c = {.r = r, .cfg = pb_roster_config(r), .out = out};
    out->cal = sch->calendar ? pb_config_calendar(c.cfg, sch->calendar) : NULL;
    int rc = pb_roster_audience(r, &sch->audience, add_member, &c);
    if (rc == PB_OK && sch->rule_text) {
        rc = split_by_zone(&c);
    } else if (rc == PB_OK) {
        out->g = calloc(1, sizeof *out->g);
        if (!out->g)
            rc = PB_ERR_NOMEM;
        else
            *out->g = (struct pb_wave_group){NULL, NULL, c.all, c.n};
        out->n = out->g ? 1 : 0;
    }
    free(c.zones);
    if (rc != PB_OK) {
        free(c.all);
        free(out->g);
        memset(out, 0, sizeof *out);
        return rc;
    }
    if (out->n == 0)
        free(c.all); /* nobody: no group holds it */
    out->audience = c.n;
    return PB_OK;
}

void pb_schedule_groups_free(struct pb_schedule_groups *g)
{
    if (g->n)
        free(g->g[0].m); /* every group points into one array, the first at its start */
    free(g->g);
    memset(g, 0, sizeof *g);
}

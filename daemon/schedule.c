/*
 * Repeating schedules: a schedule asks its audience its survey once per interval; a person
 * whose last delivery is still open has it closed and gets the new one. When a
 * schedule is first seen its first round is set `first` from now; each round is committed in
 * one transaction with every delivery it creates, so a crash mid-round repeats the round and
 * never half of it. After downtime a restart never produces a burst of stale questions: the
 * latest round that fell due is asked late if its window is still open (the window counted
 * from when it was due), and every other missed round is recorded as missed.
 *
 * A schedule with a calendar rule instead of an interval is evaluated in each person's time
 * zone: every zone of its audience is a round of its own, remembered under "<id>@<zone>", so
 * "Fridays at 14:00" reaches Tokyo, Berlin and New York each at their 14:00, across their
 * daylight-saving changes (tz.h states what happens to times that do not exist or exist
 * twice). A rule that is new fires at its next occurrence, never for the past.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"
#include "tz.h"

#define MOD "schedule"

struct round_ctx {
    struct pb_engine *e;
    const struct pb_cfg_schedule *sch;
    const char *zone; /* a rule's round asks only the people in this time zone */
    const struct pb_cfg_survey *survey;
    int64_t round;
    int64_t at; /* when the round was due: its window is counted from then */
    size_t asked, skipped, away;
    int rc;
};

static const char *person_zone(const struct pb_cfg_person *p)
{
    return p->timezone ? p->timezone : "UTC";
}

/* Whether the person is away on the day `at` falls on in their time zone. */
static int away(const struct pb_cfg_person *p, int64_t at)
{
    const struct pb_tz *tz;
    char err[256];
    if (p->away_first > p->away_last || pb_tz_get(person_zone(p), &tz, err, sizeof err) != PB_OK)
        return 0;
    struct pb_tz_local l;
    pb_tz_to_local(tz, at, &l);
    return l.days >= p->away_first && l.days <= p->away_last;
}

static int ask_person(void *arg, const struct pb_cfg_person *p)
{
    struct round_ctx *c = arg;
    if (c->zone && strcmp(person_zone(p), c->zone) != 0)
        return 0;
    if (away(p, c->at)) {
        c->away++;
        return 0; /* not asked, and so never counted as not answering */
    }
    /* One open delivery per person and survey: the new wave replaces an unanswered one. */
    int rc = pb_survey_supersede(c->e, c->survey->id, p->id);
    if (rc != PB_OK)
        return c->rc = rc; /* the round fails whole and is tried again */
    rc = pb_survey_start(c->e, c->survey, p, c->sch->id, c->round, c->at);
    if (rc == PB_OK)
        c->asked++;
    else if (rc == PB_ERR_UNKNOWN)
        c->skipped++; /* unreachable person: logged, the round goes on */
    else
        c->rc = rc;
    return c->rc;
}

/* Due time of the next round, creating the schedule's state on first sight. */
static int next_round(struct pb_engine *e, const struct pb_cfg_schedule *sch, int64_t now,
                      int64_t *round, int64_t *due)
{
    int64_t last = 0;
    int rc = pb_store_schedule_get(e->store, sch->id, round, &last);
    if (rc == PB_ERR_UNKNOWN) {
        *round = 0;
        last = now + sch->first_ms - sch->every_ms;
        rc = pb_store_schedule_set(e->store, sch->id, 0, last);
        if (rc == PB_OK)
            pb_info(MOD, "schedule %s is new; its first round is in %lld s", sch->id,
                    (long long)(sch->first_ms / 1000));
    }
    *due = last + sch->every_ms;
    return rc;
}

/* Asks round `round`, which was due at `at`, of everyone in the audience (in `zone`, for a
 * rule); `key` names the round's state in the store. */
static void run_round(struct pb_engine *e, const struct pb_cfg_schedule *sch, const char *key,
                      const char *zone, int64_t round, int64_t at)
{
    struct round_ctx c = {.e = e, .sch = sch, .zone = zone, .round = round, .at = at};
    c.survey = pb_config_survey(e->cfg, sch->survey);
    if (!c.survey)
        return;
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = pb_roster_audience(e->roster, &sch->audience, ask_person, &c);
    if (rc == PB_OK)
        rc = c.rc;
    if (rc == PB_OK)
        rc = pb_store_schedule_set(e->store, key, round, at);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        pb_err(MOD, "schedule %s round %lld could not be committed; it will be tried again", key,
               (long long)round);
        pb_engine_hold(e);
        return;
    }
    pb_notice(MOD, "schedule %s round %lld: asked %zu, skipped %zu, away %zu", key,
              (long long)round, c.asked, c.skipped, c.away);
    pb_engine_wake(e);
}

/* Records a round as missed: nobody is asked, and the next one is due an interval later. */
static void skip_round(struct pb_engine *e, const char *key, int64_t round, int64_t at)
{
    if (pb_store_schedule_set(e->store, key, round, at) != PB_OK) {
        pb_engine_hold(e);
        return;
    }
    pb_metrics_add("rounds_missed", 1);
    pb_warn(MOD,
            "schedule %s round %lld was missed: its window closed while the daemon was "
            "down, so nobody is asked a stale question",
            key, (long long)round);
}

/* An interval schedule: one round for everyone, every `every`. */
static void run_interval(struct pb_engine *e, const struct pb_cfg_schedule *sch,
                         const struct pb_cfg_survey *survey, int64_t now)
{
    int64_t round, due;
    if (next_round(e, sch, now, &round, &due) != PB_OK || due > now)
        return;
    /* After downtime only the latest round that fell due can still be asked; the ones before
     * it are counted as missed. The cadence stays on its original times. */
    int64_t behind = (now - due) / sch->every_ms;
    if (behind > 0)
        pb_warn(MOD,
                "schedule %s: %lld round(s) fell due while the daemon was down and are not sent",
                sch->id, (long long)behind);
    round += behind;
    int64_t at = due + behind * sch->every_ms;
    if (now - at < survey->window_ms)
        run_round(e, sch, sch->id, NULL, round + 1, at); /* late, but its window is open */
    else
        skip_round(e, sch->id, round + 1, at);
}

/* ---- calendar rules: each time zone of the audience is a round of its own ---- */

static int collect_zone(void *arg, const struct pb_cfg_person *p)
{
    struct pb_zone_list *z = arg;
    const char *name = person_zone(p);
    for (size_t i = 0; i < z->n; i++)
        if (strcmp(z->names[i], name) == 0)
            return 0;
    const char **names = realloc(z->names, (z->n + 1) * sizeof *names);
    if (!names)
        return PB_ERR_NOMEM;
    z->names = names;
    z->names[z->n++] = name;
    return 0;
}

/* The time zones of schedule `i`'s audience, found once per configuration. */
static const struct pb_zone_list *zones_of(struct pb_engine *e, size_t i)
{
    if (!e->zone_lists)
        e->zone_lists =
            calloc(e->cfg->n_schedules ? e->cfg->n_schedules : 1, sizeof *e->zone_lists);
    if (!e->zone_lists)
        return NULL;
    struct pb_zone_list *z = &e->zone_lists[i];
    if (!z->built) {
        z->built = 1;
        pb_roster_audience(e->roster, &e->cfg->schedules[i].audience, collect_zone, z);
    }
    return z;
}

void pb_schedule_forget_zones(struct pb_engine *e)
{
    for (size_t i = 0; e->zone_lists && i < e->cfg->n_schedules; i++)
        free(e->zone_lists[i].names);
    free(e->zone_lists);
    e->zone_lists = NULL;
}

static void zone_key(const struct pb_cfg_schedule *sch, const char *zone, char *key, size_t len)
{
    snprintf(key, len, "%s@%s", sch->id, zone);
}

/* When a rule next fires in a zone after its last round, creating the state on first sight:
 * a rule that is new fires at its next occurrence, never for the past. */
static int zone_due(struct pb_engine *e, const struct pb_cfg_schedule *sch, const char *zone,
                    const struct pb_tz **tz, int64_t now, int64_t *round, int64_t *due)
{
    char key[200], err[256];
    int64_t last = 0;
    if (pb_tz_get(zone, tz, err, sizeof err) != PB_OK) {
        pb_err(MOD, "schedule %s: %s; its people in that zone are not asked", sch->id, err);
        return PB_ERR_UNKNOWN;
    }
    zone_key(sch, zone, key, sizeof key);
    int rc = pb_store_schedule_get(e->store, key, round, &last);
    if (rc == PB_ERR_UNKNOWN) {
        *round = 0;
        last = now;
        rc = pb_store_schedule_set(e->store, key, 0, last);
    }
    if (rc != PB_OK)
        return rc;
    return pb_cal_next(&sch->rule, *tz, last, due);
}

static void run_rule(struct pb_engine *e, size_t index, const struct pb_cfg_survey *survey,
                     int64_t now)
{
    const struct pb_cfg_schedule *sch = &e->cfg->schedules[index];
    const struct pb_zone_list *zl = zones_of(e, index);
    for (size_t i = 0; zl && i < zl->n; i++) {
        const struct pb_tz *tz;
        int64_t round, due, next;
        char key[200];
        if (zone_due(e, sch, zl->names[i], &tz, now, &round, &due) != PB_OK || due > now)
            continue;
        /* As for intervals: only the latest occurrence that passed can still be asked. */
        int64_t at = due, behind = 0;
        while (behind < 100000 && pb_cal_next(&sch->rule, tz, at, &next) == PB_OK && next <= now) {
            at = next;
            behind++;
        }
        if (behind > 0)
            pb_warn(MOD,
                    "schedule %s in %s: %lld round(s) fell due while the daemon was down "
                    "and are not sent",
                    sch->id, zl->names[i], (long long)behind);
        zone_key(sch, zl->names[i], key, sizeof key);
        if (now - at < survey->window_ms)
            run_round(e, sch, key, zl->names[i], round + behind + 1, at);
        else
            skip_round(e, key, round + behind + 1, at);
    }
}

static int64_t rule_next_due(struct pb_engine *e, size_t index, int64_t now)
{
    const struct pb_cfg_schedule *sch = &e->cfg->schedules[index];
    const struct pb_zone_list *zl = zones_of(e, index);
    int64_t next = PB_ENGINE_IDLE;
    for (size_t i = 0; zl && i < zl->n; i++) {
        const struct pb_tz *tz;
        int64_t round, due;
        if (zone_due(e, sch, zl->names[i], &tz, now, &round, &due) == PB_OK && due < next)
            next = due;
    }
    return next;
}

void pb_schedule_run_due(struct pb_engine *e, int64_t now)
{
    for (size_t i = 0; i < e->cfg->n_schedules; i++) {
        const struct pb_cfg_schedule *sch = &e->cfg->schedules[i];
        const struct pb_cfg_survey *survey = pb_config_survey(e->cfg, sch->survey);
        if (!survey)
            continue;
        if (sch->rule_text)
            run_rule(e, i, survey, now);
        else
            run_interval(e, sch, survey, now);
    }
}

int64_t pb_schedule_next_due(struct pb_engine *e)
{
    int64_t next = PB_ENGINE_IDLE, now = pb_now_ms();
    for (size_t i = 0; i < e->cfg->n_schedules; i++) {
        const struct pb_cfg_schedule *sch = &e->cfg->schedules[i];
        int64_t round, due;
        if (sch->rule_text)
            due = rule_next_due(e, i, now);
        else if (next_round(e, sch, now, &round, &due) != PB_OK)
            continue;
        if (due < next)
            next = due;
    }
    return next;
}

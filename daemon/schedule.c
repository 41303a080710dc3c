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
 *
 * Within a round each person is asked at their own send time (schedule.h: their calendars in
 * their zone, their share of the spread). The round creates every delivery at once; a send
 * time that is later holds the delivery's first question in the outbox until then, and the
 * delivery's window and reminders count from it. The outbox sleeps until the first hold ends,
 * so nothing polls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"
#include "schedule.h"
#include "tz.h"

#define MOD "schedule"

/* Each schedule's audience by zone, with each person's calendar: built on first use after a
 * (re)configuration, so a round walks only its own wave. */
struct pb_zone_list {
    int built;
    struct pb_schedule_groups groups;
};

struct round_ctx {
    struct pb_engine *e;
    const struct pb_cfg_schedule *sch;
    const struct pb_schedule_groups *groups;
    const struct pb_cfg_survey *survey;
    int64_t round;
    int64_t at;  /* when the round was due: a send at it or before counts its window from it */
    int64_t now; /* sends later than this are held in the outbox */
    size_t asked, skipped, away, held;
    const char **held_people; /* the people whose first question waits, and until when */
    int64_t *held_until;
    int rc;
};

/* Whether the person is away on the day `at` falls on in their time zone: the roster's dates
 * or the ones they set by chat (away.c). */
static int away(struct pb_engine *e, const struct pb_cfg_person *p, int64_t at)
{
    return pb_away_on(e, p, at);
}

static int ask_person(struct round_ctx *c, const struct pb_wave_member *m, size_t index, size_t n)
{
    const struct pb_cfg_person *p = m->p;
    int64_t send;
    if (pb_schedule_send_time(c->sch, c->groups, m, c->at, index, n, &send) != PB_OK) {
        pb_warn(MOD, "schedule %s: the calendars of %s allow no time to ask them; not asked",
                c->sch->id, p->id);
        c->skipped++;
        return 0;
    }
    if (away(c->e, p, send)) {
        c->away++;
        return 0; /* not asked, and so never counted as not answering */
    }
    /* One open delivery per person and survey: the new wave replaces an unanswered one. */
    int rc = pb_survey_supersede(c->e, c->survey->id, p->id);
    if (rc != PB_OK)
        return c->rc = rc; /* the round fails whole and is tried again */
    /* The window and the reminders count from the send, however late a calendar moved it. */
    rc = pb_survey_start(c->e, c->survey, p, c->sch->id, c->round, send);
    if (rc == PB_OK) {
        c->asked++;
        if (send > c->now) {
            c->held_people[c->held] = p->id;
            c->held_until[c->held++] = send;
        }
    } else if (rc == PB_ERR_UNKNOWN) {
        c->skipped++; /* unreachable person: recorded, the round goes on */
    } else {
        c->rc = rc;
    }
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

/* Asks round `round`, which was due at `at`, of the people of wave `g` (everyone, or a rule's
 * zone); `key` names the round's state in the store. */
static void run_round(struct pb_engine *e, const struct pb_cfg_schedule *sch,
                      const struct pb_schedule_groups *groups, const struct pb_wave_group *g,
                      const char *key, int64_t round, int64_t at)
{
    struct round_ctx c = {.e = e, .sch = sch, .groups = groups, .round = round, .at = at};
    c.now = pb_now_ms();
    c.survey = pb_config_survey(e->cfg, sch->survey);
    if (!c.survey)
        return;
    c.held_people = malloc((g->n ? g->n : 1) * sizeof *c.held_people);
    c.held_until = malloc((g->n ? g->n : 1) * sizeof *c.held_until);
    int rc = c.held_people && c.held_until ? pb_store_begin(e->store) : PB_ERR_NOMEM;
    int begun = rc == PB_OK;
    for (size_t i = 0; rc == PB_OK && i < g->n; i++)
        rc = ask_person(&c, &g->m[i], i, g->n);
    if (rc == PB_OK)
        rc =
            pb_store_outbox_hold_first(e->store, c.survey->id, c.held_people, c.held_until, c.held);
    if (rc == PB_OK)
        rc = pb_store_schedule_set(e->store, key, round, at);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    free(c.held_people);
    free(c.held_until);
    if (rc != PB_OK) {
        if (begun)
            pb_store_rollback(e->store);
        pb_err(MOD, "schedule %s round %lld could not be committed; it will be tried again", key,
               (long long)round);
        pb_engine_hold(e);
        return;
    }
    pb_notice(MOD,
              "schedule %s round %lld: asked %zu (%zu of them later, by calendar or "
              "spread), skipped %zu, away %zu",
              key, (long long)round, c.asked, c.held, c.skipped, c.away);
    pb_engine_wake(e);
}

/* Schedule `i`'s audience grouped (schedule.h), built once per configuration. */
static const struct pb_zone_list *groups_of(struct pb_engine *e, size_t i)
{
    if (!e->zone_lists)
        e->zone_lists =
            calloc(e->cfg->n_schedules ? e->cfg->n_schedules : 1, sizeof *e->zone_lists);
    if (!e->zone_lists)
        return NULL;
    struct pb_zone_list *z = &e->zone_lists[i];
    if (!z->built) {
        if (pb_schedule_groups_build(e->roster, &e->cfg->schedules[i], &z->groups) != PB_OK)
            return NULL; /* out of memory: tried again on the next turn */
        z->built = 1;
    }
    return z;
}

void pb_schedule_forget_zones(struct pb_engine *e)
{
    for (size_t i = 0; e->zone_lists && i < e->cfg->n_schedules; i++)
        pb_schedule_groups_free(&e->zone_lists[i].groups);
    free(e->zone_lists);
    e->zone_lists = NULL;
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
static void run_interval(struct pb_engine *e, size_t index, const struct pb_cfg_survey *survey,
                         int64_t now)
{
    const struct pb_cfg_schedule *sch = &e->cfg->schedules[index];
    const struct pb_zone_list *zl = groups_of(e, index);
    int64_t round, due;
    if (!zl || zl->groups.n != 1)
        return;
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
        run_round(e, sch, &zl->groups, zl->groups.g, sch->id, round + 1, at); /* late */
    else
        skip_round(e, sch->id, round + 1, at);
}

/* ---- calendar rules: each time zone of the audience is a round of its own ---- */

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
    const struct pb_zone_list *zl = groups_of(e, index);
    for (size_t i = 0; zl && i < zl->groups.n; i++) {
        const struct pb_wave_group *g = &zl->groups.g[i];
        const struct pb_tz *tz;
        int64_t round, due, next;
        char key[200];
        if (zone_due(e, sch, g->zone, &tz, now, &round, &due) != PB_OK || due > now)
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
                    sch->id, g->zone, (long long)behind);
        zone_key(sch, g->zone, key, sizeof key);
        if (now - at < survey->window_ms)
            run_round(e, sch, &zl->groups, g, key, round + behind + 1, at);
        else
            skip_round(e, key, round + behind + 1, at);
    }
}

static int64_t rule_next_due(struct pb_engine *e, size_t index, int64_t now)
{
    const struct pb_cfg_schedule *sch = &e->cfg->schedules[index];
    const struct pb_zone_list *zl = groups_of(e, index);
    int64_t next = PB_ENGINE_IDLE;
    for (size_t i = 0; zl && i < zl->groups.n; i++) {
        const struct pb_tz *tz;
        int64_t round, due;
        if (zone_due(e, sch, zl->groups.g[i].zone, &tz, now, &round, &due) == PB_OK && due < next)
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
            run_interval(e, i, survey, now);
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

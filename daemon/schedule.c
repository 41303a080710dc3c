/*
 * Repeating schedules: a schedule asks its audience its survey once per interval; a person
 * whose last delivery is still open has it closed and gets the new one. When a
 * schedule is first seen its first round is set `first` from now; each round is committed in
 * one transaction with every delivery it creates, so a crash mid-round repeats the round and
 * never half of it. After downtime a restart never produces a burst of stale questions: the
 * latest round that fell due is asked late if its window is still open (the window counted
 * from when it was due), and every other missed round is recorded as missed.
 */
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD "schedule"

struct round_ctx {
    struct pb_engine *e;
    const struct pb_cfg_schedule *sch;
    const struct pb_cfg_survey *survey;
    int64_t round;
    int64_t at; /* when the round was due: its window is counted from then */
    size_t asked, skipped;
    int rc;
};

static int ask_person(void *arg, const struct pb_cfg_person *p)
{
    struct round_ctx *c = arg;
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

/* Asks round `round`, which was due at `at`, of everyone in the audience. */
static void run_round(struct pb_engine *e, const struct pb_cfg_schedule *sch, int64_t round,
                      int64_t at)
{
    struct round_ctx c = {.e = e, .sch = sch, .round = round, .at = at};
    c.survey = pb_config_survey(e->cfg, sch->survey);
    if (!c.survey)
        return;
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = pb_roster_audience(e->roster, &sch->audience, ask_person, &c);
    if (rc == PB_OK)
        rc = c.rc;
    if (rc == PB_OK)
        rc = pb_store_schedule_set(e->store, sch->id, round, at);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        pb_err(MOD, "schedule %s round %lld could not be committed; it will be tried again",
               sch->id, (long long)round);
        pb_engine_hold(e);
        return;
    }
    pb_notice(MOD, "schedule %s round %lld: asked %zu, skipped %zu", sch->id, (long long)round,
              c.asked, c.skipped);
    pb_engine_wake(e);
}

/* Records a round as missed: nobody is asked, and the next one is due an interval later. */
static void skip_round(struct pb_engine *e, const struct pb_cfg_schedule *sch, int64_t round,
                       int64_t at)
{
    if (pb_store_schedule_set(e->store, sch->id, round, at) != PB_OK) {
        pb_engine_hold(e);
        return;
    }
    pb_metrics_add("rounds_missed", 1);
    pb_warn(MOD,
            "schedule %s round %lld was missed: its window closed while the daemon was "
            "down, so nobody is asked a stale question",
            sch->id, (long long)round);
}

void pb_schedule_run_due(struct pb_engine *e, int64_t now)
{
    for (size_t i = 0; i < e->cfg->n_schedules; i++) {
        const struct pb_cfg_schedule *sch = &e->cfg->schedules[i];
        const struct pb_cfg_survey *survey = pb_config_survey(e->cfg, sch->survey);
        int64_t round, due;
        if (!survey || next_round(e, sch, now, &round, &due) != PB_OK || due > now)
            continue;
        /* After downtime only the latest round that fell due can still be asked; the ones
         * before it are counted as missed. The cadence stays on its original times. */
        int64_t behind = (now - due) / sch->every_ms;
        if (behind > 0)
            pb_warn(MOD,
                    "schedule %s: %lld round(s) fell due while the daemon was down and "
                    "are not sent",
                    sch->id, (long long)behind);
        round += behind;
        int64_t at = due + behind * sch->every_ms;
        if (now - at < survey->window_ms)
            run_round(e, sch, round + 1, at); /* late, but its window is still open */
        else
            skip_round(e, sch, round + 1, at);
    }
}

int64_t pb_schedule_next_due(struct pb_engine *e)
{
    int64_t next = PB_ENGINE_IDLE, now = pb_now_ms();
    for (size_t i = 0; i < e->cfg->n_schedules; i++) {
        int64_t round, due;
        if (next_round(e, &e->cfg->schedules[i], now, &round, &due) == PB_OK && due < next)
            next = due;
    }
    return next;
}

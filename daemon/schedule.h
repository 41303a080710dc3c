/*
 * When people are asked: the one place that decides it, shared by the daemon's rounds
 * (schedule.c), `pulsebotctl plan` (ctl_plan.c) and `pulsebotd --check-config` (main.c), so
 * that a plan cannot disagree with what happens.
 *
 * A schedule's wave is due at an instant (an interval's round, or a rule's occurrence in one
 * time zone). Each person of the wave is then asked at their own send time: the first time at
 * or after the wave that their calendars allow in their own time zone (their team's calendar,
 * inherited from parent teams, else the default calendar; and the schedule's calendar on top),
 * plus their share of the schedule's spread, by their place in the wave. docs/schedules.md
 * says it for users.
 */
#ifndef PB_SCHEDULE_H
#define PB_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "calendar.h"
#include "config.h"
#include "roster.h"
#include "tz.h"

/* One person of a schedule's audience, with what their send time depends on. */
struct pb_wave_member {
    const struct pb_cfg_person *p;
    const struct pb_tz *tz;            /* their zone (UTC when they have none or it is unknown) */
    const struct pb_cfg_calendar *cal; /* their team's or the default calendar, or NULL */
};

/* The people one wave asks, in roster order: everyone for an interval schedule, the people of
 * one time zone for a rule. */
struct pb_wave_group {
    const char *zone;       /* a rule's zone; NULL for an interval schedule */
    const struct pb_tz *tz; /* the zone, or NULL when unknown (its people are not asked) */
    struct pb_wave_member *m;
    size_t n;
};

struct pb_schedule_groups {
    const struct pb_cfg_calendar *cal; /* the schedule's own calendar, or NULL */
    struct pb_wave_group *g;
    size_t n;
    size_t audience; /* everyone in all groups */
};

/* Groups a schedule's audience once (per configuration): a rule's wave is one zone's people,
 * so a round never walks the whole roster. */
int pb_schedule_groups_build(const struct pb_roster *r, const struct pb_cfg_schedule *sch,
                             struct pb_schedule_groups *out);
void pb_schedule_groups_free(struct pb_schedule_groups *g);

/* The calendar of a team's people: the team's, its nearest parent's, else the default
 * calendar; NULL when none applies (any time is allowed). `team` may be NULL. */
const struct pb_cfg_calendar *pb_schedule_team_calendar(const struct pb_config *cfg,
                                                        const char *team);

/* A person's zone as schedules read it: the roster's (configured or reported), else "UTC". */
const char *pb_schedule_zone(const struct pb_roster *r, const struct pb_cfg_person *p);

/* The first instant at or after `at_ms` that both calendars allow in `tz` (either may be
 * NULL). PB_ERR_DONE when none is within two years. */
int pb_schedule_allowed(const struct pb_cfg_calendar *a, const struct pb_cfg_calendar *b,
                        const struct pb_tz *tz, int64_t at_ms, int64_t *out_ms);

/* When member `m`, at `index` of a wave of `n` due at `at_ms`, is asked: their calendars'
 * next allowed time, then index/n of the spread, moved again if that leaves the allowed
 * hours. Never before `at_ms`. PB_ERR_DONE when the calendars allow no time at all. */
int pb_schedule_send_time(const struct pb_cfg_schedule *sch, const struct pb_schedule_groups *g,
                          const struct pb_wave_member *m, int64_t at_ms, size_t index, size_t n,
                          int64_t *send_ms);

/* The wave times of a schedule from `first_ms` on, at most `max` of them and none after
 * `until_ms`: for a rule, its occurrences in `tz` strictly after `first_ms`; for an interval,
 * `first_ms` (its next due time) and every `every` after it. Returns how many. */
size_t pb_schedule_waves(const struct pb_cfg_schedule *sch, const struct pb_tz *tz,
                         int64_t first_ms, int64_t until_ms, int64_t *out, size_t max);

/* Prints what each schedule of `cfg` will do, for `pulsebotd --check-config`: its audience,
 * calendars and spread, and its next three wave times after `now_ms` in UTC (an interval's
 * as if it were new now) and, for a rule, in each time zone of its audience. */
void pb_schedule_describe(FILE *out, const struct pb_config *cfg, int64_t now_ms);

#endif

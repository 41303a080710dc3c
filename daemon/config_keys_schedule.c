/*
 * Configuration keys of schedules and their audiences: who is asked which survey, and when.
 * How the tables work is said in config_keys.c; checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- schedules and routing ------------------------------------------------------------- */

static const struct pb_cfg_key audience_keys[] = {
    {.name = "teams",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_audience, teams),
     .off_n = OFF(pb_cfg_audience, n_teams),
     .help = "Team ids; each includes its sub-teams."},
    {.name = "people",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_audience, people),
     .off_n = OFF(pb_cfg_audience, n_people),
     .help = "Person ids, in addition to the teams."},
    {.name = "exclude",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_audience, exclude),
     .off_n = OFF(pb_cfg_audience, n_exclude),
     .help = "Person ids left out."},
    {NULL},
};

static const struct pb_cfg_block audience_block = {
    .kind = "audience",
    .path = "schedules[].audience",
    .intro = "Who gets a scheduled survey: the people of `teams` and `people`, less `exclude`. "
             "It must name somebody.",
    .keys = audience_keys,
};

static void schedule_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    struct pb_cfg_schedule *sc = obj;
    if (!pb_cfg_has(s, "first"))
        sc->first_ms = sc->every_ms;
    if (pb_cfg_has(s, "every") == pb_cfg_has(s, "rule")) {
        pb_cfg_error(ctx, s,
                     "%s: give exactly one of `every` (an interval) and `rule` (a calendar "
                     "rule)",
                     label);
        return;
    }
    char err[256];
    if (sc->rule_text && pb_cal_parse(sc->rule_text, &sc->rule, err, sizeof err) != PB_OK)
        pb_cfg_error(ctx, pb_cfg_at(s, "rule"), "%s: rule: %s", label, err);
}

static const struct pb_cfg_key schedule_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_schedule, id),
     .help = "Unique id of the schedule; its rounds are remembered under it."},
    {.name = "survey",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_schedule, survey),
     .help = "Id of the survey sent."},
    {.name = "every",
     .type = PB_CFG_DURATION,
     .min = 1,
     .off = OFF(pb_cfg_schedule, every_ms),
     .help = "Time between rounds. Give this or `rule`."},
    {.name = "rule",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_schedule, rule_text),
     .help = "A calendar rule (a subset of RFC 5545 RRULE, see docs/schedules.md), such as "
             "`\"FREQ=WEEKLY;BYDAY=FR;BYHOUR=14\"`: each person is asked when it fires in their "
             "own time zone (UTC for people without one). Give this or `every`."},
    {.name = "first",
     .type = PB_CFG_DURATION,
     .def_doc = "`every`",
     .off = OFF(pb_cfg_schedule, first_ms),
     .help = "Delay of the first round after the schedule first appears."},
    {.name = "calendar",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_schedule, calendar),
     .help = "Id of a calendar (see `calendars[]`) that applies on top of each person's own: "
             "a send must be allowed by both, and moves to the next time that is."},
    {.name = "spread",
     .type = PB_CFG_DURATION,
     .def = "0",
     .off = OFF(pb_cfg_schedule, spread_ms),
     .help = "Spreads the sends of one wave evenly over this long (such as `\"15m\"`), in "
             "roster order, so that a large audience does not reach the platform in one second. "
             "Each person's window counts from their own send."},
    {.name = "audience",
     .type = PB_CFG_GROUP,
     .required = 1,
     .sub = &audience_block,
     .off = OFF(pb_cfg_schedule, audience),
     .help = "Who gets it: see `schedules[].audience`."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_schedule_block = {
    .kind = "schedule",
    .path = "schedules[]",
    .label_key = "id",
    .intro = "When employee surveys go out.",
    .keys = schedule_keys,
    .elem_size = sizeof(struct pb_cfg_schedule),
    .has_line = 1,
    .line_off = OFF(pb_cfg_schedule, line),
    .finish = schedule_finish,
};

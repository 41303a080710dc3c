/*
 * Configuration keys of teams and people: the roster as the configuration file gives it.
 * How the tables work is said in config_keys.c; checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- teams and people ------------------------------------------------------------------ */

static void team_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_team *t = obj;
    if (!t->name)
        t->name = t->id;
}

static const struct pb_cfg_key team_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, id),
     .help = "Unique id of the team."},
    {.name = "name",
     .type = PB_CFG_STRING,
     .def_doc = "the id",
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_team, name),
     .help = "Display name."},
    {.name = "parent",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, parent),
     .help = "Id of the team this one belongs to. A team includes its sub-teams in audiences "
             "and routing."},
    {.name = "manager",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, manager),
     .help = "Id of the person who manages the team."},
    {.name = "on_call",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, on_call),
     .help = "Id of the person on call for the team's alerts (see `routing[].mention`)."},
    {.name = "channel",
     .type = PB_CFG_CHANNEL,
     .off = OFF(pb_cfg_team, channel),
     .help = "Where the team's alerts go: `\"connector:address\"`, such as "
             "`\"web:support-leads\"`. A team without one uses its nearest parent's."},
    {.name = "calendar",
     .type = PB_CFG_STRING,
     .def_doc = "the parent's, else the default calendar",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, calendar),
     .help = "Id of the calendar (see `calendars[]`) whose weekdays, hours and days off apply "
             "to the team's people, in each person's own time zone. Sub-teams inherit it."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_team_block = {
    .kind = "team",
    .path = "teams[]",
    .label_key = "id",
    .intro = "Teams form a tree through `parent`.",
    .keys = team_keys,
    .elem_size = sizeof(struct pb_cfg_team),
    .has_line = 1,
    .line_off = OFF(pb_cfg_team, line),
    .finish = team_finish,
};

static void person_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_person *p = obj;
    if (!p->name)
        p->name = p->id;
    p->away_first = 1;
    p->away_last = 0;
    if (!p->away_from && !p->away_until)
        return;
    const char *keys[2] = {"away_from", "away_until"};
    const char *texts[2] = {p->away_from, p->away_until};
    int64_t days[2];
    for (int i = 0; i < 2; i++) {
        int y, m, d;
        char end;
        if (!texts[i] || sscanf(texts[i], "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || m < 1 ||
            m > 12 || d < 1 || d > pb_tz_month_days(y, m)) {
            pb_cfg_error(ctx, texts[i] ? pb_cfg_at(s, keys[i]) : s,
                         "%s: %s: expected a date as YYYY-MM-DD (give both away_from and "
                         "away_until)",
                         label, keys[i]);
            return;
        }
        days[i] = pb_tz_days_from_civil(y, m, d);
    }
    if (days[0] > days[1]) {
        pb_cfg_error(ctx, pb_cfg_at(s, "away_until"), "%s: away_until is before away_from", label);
        return;
    }
    p->away_first = days[0];
    p->away_last = days[1];
}

static const struct pb_cfg_key person_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_person, id),
     .help = "Unique id of the person."},
    {.name = "name",
     .type = PB_CFG_STRING,
     .def_doc = "the id",
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_person, name),
     .help = "Full name, as shown in alerts and reports."},
    {.name = "email",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_email,
     .off = OFF(pb_cfg_person, email),
     .help = "Email address."},
    {.name = "team",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_person, team),
     .help = "Id of the person's team."},
    {.name = "timezone",
     .type = PB_CFG_STRING,
     .def_doc = "the system's time zone",
     .check = &pb_cfg_check_timezone,
     .off = OFF(pb_cfg_person, timezone),
     .help = "IANA time zone name, such as `Europe/Oslo`."},
    {.name = "locale",
     .type = PB_CFG_STRING,
     .def_doc = "`en`",
     .check = &pb_cfg_check_locale,
     .off = OFF(pb_cfg_person, locale),
     .help = "Language of the messages the person gets."},
    {.name = "away_from",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_person, away_from),
     .help = "First day (YYYY-MM-DD, in the person's time zone) of an absence: rounds on the "
             "days from here to `away_until` do not ask them, and they do not count as not "
             "answering."},
    {.name = "away_until",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_person, away_until),
     .help = "Last day of the absence, inclusive."},
    {.name = "handles",
     .type = PB_CFG_HANDLES,
     .off = OFF(pb_cfg_person, handles),
     .off_n = OFF(pb_cfg_person, n_handles),
     .help = "The person's user id on each connector: `{ web = \"alice\"; slack = \"U123\"; }`. "
             "Quote numeric ids."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_person_block = {
    .kind = "person",
    .path = "people[]",
    .label_key = "id",
    .intro = "Everyone who may get an employee survey or an alert.",
    .keys = person_keys,
    .elem_size = sizeof(struct pb_cfg_person),
    .has_line = 1,
    .line_off = OFF(pb_cfg_person, line),
    .finish = person_finish,
};

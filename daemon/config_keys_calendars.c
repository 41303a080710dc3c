/*
 * Configuration keys of named calendars: the weekdays, hours and days off when people may be
 * asked, read in each person's own time zone. A team names its calendar (sub-teams inherit
 * it), one calendar may be the default for everyone else, and a schedule may name one that
 * applies on top. How the tables work is said in config_keys.c; what a calendar does to a send
 * is in schedule_when.c and docs/schedules.md.
 */
#include "config_internal.h"
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const wday_names[7] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};

static int wday_at(const char *p)
{
    for (int i = 0; i < 7; i++)
        if (strncasecmp(p, wday_names[i], 2) == 0)
            return i;
    return -1;
}

/* "MO-FR", "MO,WE,FR", "MO-TH,SA", "FR-MO" (through the weekend): bit 0 = Sunday. */
static int parse_weekdays(const char *text, uint8_t *out)
{
    uint8_t bits = 0;
    const char *p = text;
    for (;;) {
        int a = wday_at(p), b;
        if (a < 0)
            return -1;
        p += 2;
        b = a;
        if (*p == '-') {
            b = wday_at(p + 1);
            if (b < 0)
                return -1;
            p += 3;
        }
        for (int d = a;; d = (d + 1) % 7) {
            bits |= (uint8_t)(1u << d);
            if (d == b)
                break;
        }
        if (*p == '\0')
            break;
        if (*p++ != ',')
            return -1;
        while (*p == ' ')
            p++;
    }
    *out = bits;
    return 0;
}

static int parse_clock(const char *p, int *minutes)
{
    if (strlen(p) < 5 || p[2] != ':' || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9' ||
        p[3] < '0' || p[3] > '5' || p[4] < '0' || p[4] > '9')
        return -1;
    int h = (p[0] - '0') * 10 + (p[1] - '0'), m = (p[3] - '0') * 10 + (p[4] - '0');
    if (h > 24 || (h == 24 && m != 0))
        return -1;
    *minutes = h * 60 + m;
    return 0;
}

/* "09:00-17:30"; "22:00-06:00" crosses midnight; "00:00-24:00" is all day. */
static int parse_hours(const char *text, int *start, int *end)
{
    if (strlen(text) != 11 || text[5] != '-' || parse_clock(text, start) != 0 ||
        parse_clock(text + 6, end) != 0 || *start == 1440 || *start == *end)
        return -1;
    if (*start == 0 && *end == 1440)
        *end = 0; /* equal ends: all day, as pb_cal_allowed reads them */
    return 0;
}

static int parse_date(const char *text, int64_t *day)
{
    int y, m, d;
    char end;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || strlen(text) != 10 || m < 1 ||
        m > 12 || d < 1 || d > pb_tz_month_days(y, m))
        return -1;
    *day = pb_tz_days_from_civil(y, m, d);
    return 0;
}

static int day_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The config owns what its loader allocated through priv->strings, whatever it holds. */
static int keep(struct pb_cfg_ctx *ctx, void *block)
{
    struct pb_cfg_priv *p = ctx->priv;
    if (p->n_strings == p->cap_strings) {
        size_t cap = p->cap_strings ? p->cap_strings * 2 : 16;
        char **v = realloc(p->strings, cap * sizeof *v);
        if (!v)
            return -1;
        p->strings = v;
        p->cap_strings = cap;
    }
    p->strings[p->n_strings++] = block;
    return 0;
}

static void read_days_off(struct pb_cfg_ctx *ctx, config_setting_t *s, struct pb_cfg_calendar *c,
                          const char *label)
{
    int64_t *file_days = NULL;
    size_t n_file = 0;
    char err[512];
    if (c->days_off_file &&
        pb_cal_ical_load(c->days_off_file, &file_days, &n_file, err, sizeof err) != PB_OK) {
        pb_cfg_error(ctx, pb_cfg_at(s, "days_off_file"), "%s: days_off_file: %s", label, err);
        return;
    }
    size_t n = c->n_days_off_text + n_file;
    int64_t *days = malloc((n ? n : 1) * sizeof *days);
    if (!days || keep(ctx, days) != 0) {
        free(days);
        free(file_days);
        pb_cfg_error(ctx, s, "%s: out of memory", label);
        return;
    }
    size_t m = 0;
    config_setting_t *list = config_setting_get_member(s, "days_off");
    for (size_t i = 0; i < c->n_days_off_text; i++) {
        if (parse_date(c->days_off_text[i], &days[m]) == 0) {
            m++;
            continue;
        }
        config_setting_t *el = list ? config_setting_get_elem(list, (unsigned)i) : NULL;
        pb_cfg_error(ctx, el ? el : s, "%s: days_off: expected a date as YYYY-MM-DD, got \"%s\"",
                     label, c->days_off_text[i]);
    }
    if (n_file)
        memcpy(days + m, file_days, n_file * sizeof *days);
    m += n_file;
    free(file_days);
    qsort(days, m, sizeof *days, day_cmp);
    size_t u = 0;
    for (size_t i = 0; i < m; i++)
        if (u == 0 || days[u - 1] != days[i])
            days[u++] = days[i];
    c->allowed.days_off = days;
    c->allowed.n_days_off = u;
}

static void calendar_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    struct pb_cfg_calendar *c = obj;
    c->allowed.weekdays = 0x7f;
    c->allowed.start_min = c->allowed.end_min = 0;
    if (c->weekdays && parse_weekdays(c->weekdays, &c->allowed.weekdays) != 0)
        pb_cfg_error(ctx, pb_cfg_at(s, "weekdays"),
                     "%s: weekdays: expected days such as \"MO-FR\" or \"MO,WE,FR\" (MO TU WE TH "
                     "FR SA SU), got \"%s\"",
                     label, c->weekdays);
    if (c->hours && parse_hours(c->hours, &c->allowed.start_min, &c->allowed.end_min) != 0)
        pb_cfg_error(ctx, pb_cfg_at(s, "hours"),
                     "%s: hours: expected a span such as \"09:00-17:30\" (\"22:00-06:00\" "
                     "crosses midnight, \"00:00-24:00\" is all day), got \"%s\"",
                     label, c->hours);
    if (s)
        read_days_off(ctx, s, c, label);
}

static const struct pb_cfg_key calendar_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_calendar, id),
     .help = "Unique id of the calendar, as teams and schedules name it."},
    {.name = "weekdays",
     .type = PB_CFG_STRING,
     .def_doc = "every day",
     .off = OFF(pb_cfg_calendar, weekdays),
     .help = "Days people may be asked: `\"MO-FR\"`, `\"MO,WE,FR\"`, `\"SU-TH\"`."},
    {.name = "hours",
     .type = PB_CFG_STRING,
     .def_doc = "all day",
     .off = OFF(pb_cfg_calendar, hours),
     .help = "Local hours people may be asked, end exclusive: `\"09:00-17:30\"`. A span may "
             "cross midnight (`\"22:00-06:00\"`) and then belongs to the day it starts on."},
    {.name = "days_off",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_calendar, days_off_text),
     .off_n = OFF(pb_cfg_calendar, n_days_off_text),
     .help = "Local dates (`\"YYYY-MM-DD\"`) nobody is asked, such as public holidays."},
    {.name = "days_off_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_calendar, days_off_file),
     .help = "An iCalendar file (relative to this file) whose all-day events are days off, "
             "as HR tools and holiday feeds export them. Read at start and on reload."},
    {.name = "default",
     .type = PB_CFG_BOOL,
     .def = "false",
     .off = OFF(pb_cfg_calendar, is_default),
     .help = "The calendar of people whose team (and its parents) names none. At most one."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_calendar_block = {
    .kind = "calendar",
    .path = "calendars[]",
    .label_key = "id",
    .intro = "When people may be asked, read in each person's own time zone: a send that falls "
             "outside moves to the next allowed time (docs/schedules.md).",
    .keys = calendar_keys,
    .elem_size = sizeof(struct pb_cfg_calendar),
    .has_line = 1,
    .line_off = OFF(pb_cfg_calendar, line),
    .finish = calendar_finish,
};

/* ---- checks across blocks ------------------------------------------------------------- */

const struct pb_cfg_calendar *pb_config_calendar(const struct pb_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_calendars; i++)
        if (cfg->calendars[i].id && strcmp(cfg->calendars[i].id, id) == 0)
            return &cfg->calendars[i];
    return NULL;
}

static config_setting_t *item_key(struct pb_cfg_ctx *ctx, const char *list, size_t i,
                                  const char *key)
{
    config_setting_t *l = config_lookup(&ctx->priv->lc, list);
    config_setting_t *s =
        l && config_setting_is_aggregate(l) ? config_setting_get_elem(l, (unsigned)i) : NULL;
    return (config_setting_t *)pb_cfg_at(s, key);
}

static void check_ref(struct pb_cfg_ctx *ctx, const char *list, size_t i, const char *what,
                      const char *id, const char *calendar)
{
    const struct pb_config *cfg = ctx->cfg;
    if (!calendar || pb_config_calendar(cfg, calendar))
        return;
    char hint[128];
    pb_cfg_hint(hint, sizeof hint,
                pb_cfg_suggest(calendar, cfg->calendars, cfg->n_calendars, sizeof *cfg->calendars,
                               OFF(pb_cfg_calendar, id)));
    pb_cfg_error(ctx, item_key(ctx, list, i, "calendar"),
                 "%s \"%s\": calendar: unknown calendar \"%s\"%s", what, id ? id : "?", calendar,
                 hint);
}

void pb_cfg_check_calendars(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_calendar *def = NULL;
    for (size_t i = 0; i < cfg->n_calendars; i++) {
        const struct pb_cfg_calendar *c = &cfg->calendars[i];
        if (!c->id)
            continue;
        const struct pb_cfg_calendar *first = pb_config_calendar(cfg, c->id);
        if (first != c)
            pb_cfg_error(ctx, item_key(ctx, "calendars", i, "id"),
                         "duplicate calendar id \"%s\" (first defined at line %d)", c->id,
                         first->line);
        if (c->is_default && def)
            pb_cfg_error(ctx, item_key(ctx, "calendars", i, "default"),
                         "calendar \"%s\": default: calendar \"%s\" is the default already", c->id,
                         def->id);
        else if (c->is_default)
            def = c;
    }
    for (size_t i = 0; i < cfg->n_teams; i++)
        check_ref(ctx, "teams", i, "team", cfg->teams[i].id, cfg->teams[i].calendar);
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        const struct pb_cfg_schedule *sc = &cfg->schedules[i];
        check_ref(ctx, "schedules", i, "schedule", sc->id, sc->calendar);
        if (sc->spread_ms && !sc->rule_text && sc->every_ms && sc->spread_ms >= sc->every_ms)
            pb_cfg_error(ctx, item_key(ctx, "schedules", i, "spread"),
                         "schedule \"%s\": spread must be shorter than every", sc->id);
    }
}

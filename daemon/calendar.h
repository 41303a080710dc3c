/*
 * Calendar rules for schedules, evaluated in a person's own time zone: a subset of RFC 5545
 * RRULE ("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9"), one-off dates, the next time a rule fires after an
 * instant; quiet hours and days off that move a send to the next allowed time; and a minimal
 * iCalendar reader for files of days off. docs/schedules.md is the user's reference for the
 * syntax and the rules below.
 *
 * Wall times are turned into instants with pb_tz_from_local(), so a rule time that does not
 * exist on a spring-forward day moves forward by the gap (02:30 becomes 03:30) and one that
 * exists twice in autumn fires once, at the first of the two instants.
 */
#ifndef PB_CALENDAR_H
#define PB_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#include "tz.h"

enum pb_cal_freq {
    PB_CAL_ONCE = 0, /* no FREQ: the DTSTART (and RDATE) date-times only */
    PB_CAL_DAILY,
    PB_CAL_WEEKLY,
    PB_CAL_MONTHLY,
    PB_CAL_YEARLY,
};

#define PB_CAL_MAX_BYDAY 16
#define PB_CAL_MAX_RDATE 16
#define PB_CAL_NO_DAY    INT64_MIN

/* A local date and time of day, in no particular zone until evaluated. */
struct pb_cal_datetime {
    int64_t days; /* pb_tz_days_from_civil() */
    int sec;      /* second of the day */
};

struct pb_cal_byday {
    int wday; /* 0 = Sunday ... 6 = Saturday */
    int nth;  /* 0: every such weekday; 1..5: the nth in the month; -1..-5: from the end */
};

struct pb_cal_rule {
    enum pb_cal_freq freq;
    int interval;           /* 1 and up */
    uint32_t hours;         /* bit h: fires at hour h (BYHOUR) */
    uint64_t minutes;       /* bit m: at minute m (BYMINUTE) */
    uint16_t months;        /* bit m (1-12): BYMONTH; 0 = any */
    uint32_t monthdays;     /* bit d (1-31): BYMONTHDAY; 0 = any ... */
    uint32_t neg_monthdays; /* ... bit d (1-31): BYMONTHDAY=-d, d-th day from the end */
    size_t n_byday;
    struct pb_cal_byday byday[PB_CAL_MAX_BYDAY];
    int wkst;      /* first day of the week for WEEKLY;INTERVAL>1: 1 = Monday */
    int has_start; /* DTSTART: anchors INTERVAL, no occurrence before it */
    struct pb_cal_datetime start;
    int64_t until_days; /* UNTIL: last local date, inclusive; PB_CAL_NO_DAY if none */
    size_t n_rdate;     /* ONCE: the date-times, sorted */
    struct pb_cal_datetime rdate[PB_CAL_MAX_RDATE];
};

/*
 * Parses a rule. On error returns PB_ERR_INVALID and writes to `err` the 1-based column in
 * `text` and what was expected, e.g. "column 6: expected DAILY, WEEKLY, MONTHLY or YEARLY after
 * FREQ=", for the config module to prefix with file:line.
 */
int pb_cal_parse(const char *text, struct pb_cal_rule *rule, char *err, size_t errlen);

/*
 * The first instant strictly after `after_ms` at which the rule fires in `tz`: 0 and *next_ms,
 * or PB_ERR_DONE when it never fires again (past UNTIL or its last date, or no date matches
 * within 400 years), PB_ERR_INVALID for an instant beyond +-PB_TZ_MAX_MS. Walks matching days,
 * skipping whole months and years that cannot match, so the cost does not depend on how far away
 * the next occurrence is in minutes.
 */
int pb_cal_next(const struct pb_cal_rule *rule, const struct pb_tz *tz, int64_t after_ms,
                int64_t *next_ms);

/* ---- Quiet hours and days off ------------------------------------------------------------ */

struct pb_cal_allowed {
    uint8_t weekdays;        /* bit 0 = Sunday ... bit 6 = Saturday */
    int start_min, end_min;  /* allowed local minutes [start, end) of a day, 0-1440; start >
                                end crosses midnight (22:00-06:00); start == end: all day */
    const int64_t *days_off; /* sorted local dates (day numbers) off */
    size_t n_days_off;
};

/*
 * The first instant at or after `at_ms` that is allowed in `tz`: on an allowed weekday that is
 * not a day off, inside the allowed hours. A span that crosses midnight belongs to the day it
 * starts on (Friday 22:00 to Saturday 06:00 is Friday's). Span ends are wall times read with
 * the gap rule, so on a change day a span is an hour longer or shorter. Returns PB_ERR_DONE if
 * no time is allowed within two years (no weekday allowed, or everything off).
 */
int pb_cal_allowed_next(const struct pb_cal_allowed *a, const struct pb_tz *tz, int64_t at_ms,
                        int64_t *out_ms);

/*
 * Business time: the instant at which `ms` milliseconds of allowed time under `a` in `tz` have
 * passed since `from_ms`. Time outside the allowed hours, weekdays and days off does not count;
 * a start outside them counts from the next allowed time, and a result that lands exactly on
 * the end of a span stays there (not at the start of the next one). `a` NULL allows all time:
 * from_ms + ms. For SLAs in business hours: pass a calendar's `allowed` (config.h) and the
 * zone the SLA is kept in. PB_ERR_DONE when the calendar allows no more time within two years
 * of a step, PB_ERR_INVALID for a negative duration.
 */
int pb_cal_add_allowed_ms(const struct pb_cal_allowed *a, const struct pb_tz *tz, int64_t from_ms,
                          int64_t ms, int64_t *out_ms);

/* ---- iCalendar days off ---------------------------------------------------------------- */

/*
 * Reads the days off from iCalendar text: every VEVENT whose DTSTART is a date
 * (DTSTART;VALUE=DATE:20241225), through DTEND (exclusive; one day if absent). Folded lines are
 * unfolded; events with a date-time DTSTART (not whole days), recurrence rules and every other
 * component or property are ignored. The result is sorted without duplicates; free(*days).
 * Errors carry the line number ("line 12: bad DTSTART date ...").
 */
int pb_cal_ical_parse(const char *text, size_t len, int64_t **days, size_t *n, char *err,
                      size_t errlen);
int pb_cal_ical_load(const char *path, int64_t **days, size_t *n, char *err, size_t errlen);

/* Whether a sorted list holds a day. */
int pb_cal_day_in(const int64_t *days, size_t n, int64_t day);

#endif

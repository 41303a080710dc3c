/*
 * When a calendar rule fires next, and the next time quiet hours and days off allow, in a
 * person's time zone. Both walk local dates, not minutes: a date that cannot match is skipped
 * whole, a month or year that cannot match is jumped over, and only the times of a matching
 * date are turned into instants.
 *
 * Wall times become instants through pb_tz_from_local_days(), whose gap rule can move a time
 * on one date to the next date (the whole of 2011-12-30 in Pacific/Apia) and can make a later
 * wall time an earlier instant (02:30 in the gap lands after 03:00): so the earliest instant
 * is taken over a matching date and the date after it, never just the first one computed.
 */
#include "calendar.h"
#include "pulsebot/plugin.h"

#define SEARCH_YEARS 400 /* a leap-day rule may wait 8 years; a rule that never fires, forever */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

static int byday_match(const struct pb_cal_rule *r, int wday, int day, int mdays)
{
    for (size_t i = 0; i < r->n_byday; i++) {
        const struct pb_cal_byday *b = &r->byday[i];
        if (b->wday != wday)
            continue;
        if (b->nth == 0 || (b->nth > 0 && (day - 1) / 7 + 1 == b->nth) ||
            (b->nth < 0 && (mdays - day) / 7 + 1 == -b->nth))
            return 1;
    }
    return 0;
}

/* The earliest instant after `after` among the rule's times on local date `days`, or keeps
 * *best. */
static void day_times(const struct pb_cal_rule *r, const struct pb_tz *tz, int64_t days,
                      int from_sec, int64_t after, int64_t *best, int *found)
{
    for (int h = 0; h < 24; h++) {
        if (!(r->hours & (1u << h)))
            continue;
        for (int m = 0; m < 60; m++) {
            int sec = h * 3600 + m * 60;
            if (!(r->minutes & (1ull << m)) || sec < from_sec)
                continue;
            int64_t t = pb_tz_from_local_days(tz, days, sec);
            if (t > after && (!*found || t < *best)) {
                *best = t;
                *found = 1;
            }
        }
    }
}

static int next_once(const struct pb_cal_rule *r, const struct pb_tz *tz, int64_t after,
                     int64_t *next)
{
    int found = 0;
    for (size_t i = 0; i < r->n_rdate; i++) {
        const struct pb_cal_datetime *dt = &r->rdate[i];
        if (dt->sec < 0) {
            day_times(r, tz, dt->days, 0, after, next, &found);
            continue;
        }
        int64_t t = pb_tz_from_local_days(tz, dt->days, dt->sec);
        if (t > after && (!found || t < *next)) {
            *next = t;
            found = 1;
        }
    }
    return found ? PB_OK : PB_ERR_DONE;
}

int pb_cal_next(const struct pb_cal_rule *r, const struct pb_tz *tz, int64_t after_ms,
                int64_t *next_ms)
{
    if (after_ms > PB_TZ_MAX_MS || after_ms < -PB_TZ_MAX_MS)
        return PB_ERR_INVALID;
    if (r->freq == PB_CAL_ONCE)
        return next_once(r, tz, after_ms, next_ms);
    struct pb_tz_local l;
    pb_tz_to_local(tz, after_ms, &l);
    /* The day before too: a time in a gap on it may land on today. */
    int64_t day = l.days - 1;
    if (r->has_start && day < r->start.days)
        day = r->start.days;
    int64_t start_y = 0, start_mi = 0, start_week = 0;
    int sm = 0, sd = 0;
    int k = (r->wkst - 4 + 7) % 7; /* a day number on which weeks start (1970-01-01: Thu) */
    if (r->has_start) {
        pb_tz_civil_from_days(r->start.days, &start_y, &sm, &sd);
        start_mi = start_y * 12 + sm - 1;
        start_week = floor_div(r->start.days - k, 7);
    }
    int64_t limit = day + SEARCH_YEARS * 366, found_day = 0;
    int found = 0;
    while (day <= limit) {
        if (found && day > found_day + 1)
            break;
        if (r->until_days != PB_CAL_NO_DAY && day > r->until_days)
            break;
        int64_t y;
        int mo, d;
        pb_tz_civil_from_days(day, &y, &mo, &d);
        int mdays = pb_tz_month_days(y, mo);
        if (r->freq == PB_CAL_YEARLY && r->interval > 1 &&
            floor_mod(y - start_y, r->interval) != 0) {
            day = pb_tz_days_from_civil(y + 1, 1, 1);
            continue;
        }
        if ((r->months && !(r->months & (1u << mo))) ||
            (r->freq == PB_CAL_MONTHLY && r->interval > 1 &&
             floor_mod(y * 12 + mo - 1 - start_mi, r->interval) != 0)) {
            day += mdays - d + 1; /* first of next month */
            continue;
        }
        if (r->freq == PB_CAL_WEEKLY && r->interval > 1) {
            int64_t week = floor_div(day - k, 7);
            if (floor_mod(week - start_week, r->interval) != 0) {
                day = k + (week + 1) * 7;
                continue;
            }
        }
        int ok = !(r->freq == PB_CAL_DAILY && r->interval > 1 &&
                   floor_mod(day - r->start.days, r->interval) != 0);
        if (ok && (r->monthdays || r->neg_monthdays))
            ok = (r->monthdays & (1u << d)) || (r->neg_monthdays & (1u << (mdays - d + 1)));
        if (ok && r->n_byday)
            ok = byday_match(r, pb_tz_weekday(day), d, mdays);
        if (ok) {
            /* nothing before DTSTART's own time on its date */
            int from = r->has_start && day == r->start.days && r->start.sec > 0 ? r->start.sec : 0;
            int was = found;
            day_times(r, tz, day, from, after_ms, next_ms, &found);
            if (found && !was)
                found_day = day;
        }
        day++;
    }
    return found ? PB_OK : PB_ERR_DONE;
}

int pb_cal_day_in(const int64_t *days, size_t n, int64_t day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (days[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && days[lo] == day;
}

int pb_cal_allowed_next(const struct pb_cal_allowed *a, const struct pb_tz *tz, int64_t at_ms,
                        int64_t *out_ms)
{
    if (at_ms > PB_TZ_MAX_MS || at_ms < -PB_TZ_MAX_MS)
        return PB_ERR_INVALID;
    if (!(a->weekdays & 0x7f) || a->start_min < 0 || a->start_min > 1440 || a->end_min < 0 ||
        a->end_min > 1440)
        return PB_ERR_DONE;
    int start = a->start_min, end = a->end_min;
    if (start == end) {
        start = 0;
        end = 1440;
    }
    int cross = start > end;
    struct pb_tz_local l;
    pb_tz_to_local(tz, at_ms, &l);
    /* From the day before: its span may cross midnight into today. Spans start later each
     * day, so the first one not over yet is the answer. */
    for (int64_t day = l.days - 1; day <= l.days + 2 * 366; day++) {
        if (!(a->weekdays & (1u << pb_tz_weekday(day))) ||
            pb_cal_day_in(a->days_off, a->n_days_off, day))
            continue;
        int64_t from = pb_tz_from_local_days(tz, day, start * 60);
        int64_t to = cross || end == 1440 ? pb_tz_from_local_days(tz, day + 1, end % 1440 * 60)
                                          : pb_tz_from_local_days(tz, day, end * 60);
        if (to <= at_ms || from >= to)
            continue; /* over, or empty on a change day */
        struct pb_tz_local fl;
        pb_tz_to_local(tz, from, &fl);
        if (fl.days != day)
            continue; /* a day the zone skipped (Apia, 2011-12-30): the next day's own rules
                         decide, not this day's span read into it by the gap rule */
        *out_ms = from > at_ms ? from : at_ms;
        return PB_OK;
    }
    return PB_ERR_DONE;
}

/*
 * Business time: adding a duration that counts only while a calendar allows (its weekdays and
 * hours, not its days off), read in one time zone. An SLA of "4 business hours" raised on
 * Friday at 16:00 under 09:00-17:00 Monday to Friday runs out on Monday at 12:00. Built on
 * pb_cal_allowed_next, so spans, midnight crossings and daylight-saving days are read exactly
 * as they are for sends.
 */
#include "calendar.h"
#include "pulsebot/plugin.h"

/* The end of the allowed span that holds `t` (t is allowed). A span that crosses midnight
 * belongs to the day it starts on, so the span of the day before may hold it too. */
static int64_t span_end(const struct pb_cal_allowed *a, const struct pb_tz *tz, int64_t t)
{
    int start = a->start_min, end = a->end_min;
    if (start == end) {
        start = 0;
        end = 1440;
    }
    int cross = start > end;
    struct pb_tz_local l;
    pb_tz_to_local(tz, t, &l);
    for (int64_t day = l.days - 1; day <= l.days; day++) {
        if (!(a->weekdays & (1u << pb_tz_weekday(day))) ||
            pb_cal_day_in(a->days_off, a->n_days_off, day))
            continue;
        int64_t from = pb_tz_from_local_days(tz, day, start * 60);
        int64_t to = cross || end == 1440 ? pb_tz_from_local_days(tz, day + 1, end % 1440 * 60)
                                          : pb_tz_from_local_days(tz, day, end * 60);
        if (from <= t && t < to)
            return to;
    }
    return t; /* not inside a span: the caller moves on to the next one */
}

int pb_cal_add_allowed_ms(const struct pb_cal_allowed *a, const struct pb_tz *tz, int64_t from_ms,
                          int64_t ms, int64_t *out_ms)
{
    if (ms < 0)
        return PB_ERR_INVALID;
    if (!a) {
        *out_ms = from_ms + ms;
        return PB_OK;
    }
    int64_t t = from_ms, left = ms;
    /* One turn per allowed span: a day each at most, so a year of business time is a few
     * hundred turns. */
    for (int turns = 0; turns < 100000; turns++) {
        int rc = pb_cal_allowed_next(a, tz, t, &t);
        if (rc != PB_OK)
            return rc;
        int64_t end = span_end(a, tz, t);
        if (end <= t) { /* a span of length zero on a change day: step past it */
            t += 1;
            continue;
        }
        if (left <= end - t) {
            *out_ms = t + left;
            return PB_OK;
        }
        left -= end - t;
        t = end;
    }
    return PB_ERR_DONE;
}

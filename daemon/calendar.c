/*
 * The calendar rule parser: a subset of RFC 5545 RRULE on one line, with DTSTART, UNTIL and
 * RDATE written as parts of the same line so a rule fits one configuration string. Every
 * error names the column and what was expected there, for the config module to report as
 * file:line. Defaults that RFC 5545 takes from DTSTART (the weekday of a WEEKLY rule, the day
 * of a MONTHLY one) are folded into the filters here, so evaluation never special-cases them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "pulsebot/plugin.h"

struct parser {
    const char *text, *p;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct parser *ps, const char *at,
                                                      const char *fmt, ...)
{
    int n = snprintf(ps->err, ps->errlen, "column %d: ", (int)(at - ps->text) + 1);
    if (n >= 0 && (size_t)n < ps->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return PB_ERR_INVALID;
}

static int at_end_of_item(const char *p)
{
    return *p == '\0' || *p == ';' || *p == ',';
}

/* A signed decimal number within [lo, hi]. */
static int parse_int(struct parser *ps, int lo, int hi, const char *what, int *out)
{
    const char *s = ps->p;
    int sign = 1;
    long v = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (*s < '0' || *s > '9')
        return fail(ps, ps->p, "expected %s (a number from %d to %d)", what, lo, hi);
    while (*s >= '0' && *s <= '9' && v < 100000)
        v = v * 10 + (*s++ - '0');
    v *= sign;
    if (v < lo || v > hi || !at_end_of_item(s))
        return fail(ps, ps->p, "expected %s (a number from %d to %d)", what, lo, hi);
    *out = (int)v;
    ps->p = s;
    return PB_OK;
}

static const char *const wday_names[7] = {"SU", "MO", "TU", "WE", "TH", "FR", "SA"};

static int parse_wday(struct parser *ps, int *out)
{
    for (int i = 0; i < 7; i++)
        if (strncasecmp(ps->p, wday_names[i], 2) == 0 && at_end_of_item(ps->p + 2)) {
            *out = i;
            ps->p += 2;
            return PB_OK;
        }
    return fail(ps, ps->p, "expected a weekday (MO, TU, WE, TH, FR, SA or SU)");
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* YYYYMMDD[THHMM[SS]]; sec is -1 for a date alone. */
static int parse_datetime(struct parser *ps, const char *what, struct pb_cal_datetime *dt,
                          int *has_time)
{
    const char *s = ps->p;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (digits(s, 4, &y) || digits(s + 4, 2, &mo) || digits(s + 6, 2, &d))
        return fail(ps, s, "expected %s as YYYYMMDD or YYYYMMDDTHHMM", what);
    if (mo < 1 || mo > 12 || d < 1 || d > pb_tz_month_days(y, mo))
        return fail(ps, s, "%s: %.8s is not a date", what, s);
    s += 8;
    *has_time = 0;
    if (*s == 'T' || *s == 't') {
        s++;
        if (digits(s, 2, &h) || digits(s + 2, 2, &mi))
            return fail(ps, s, "expected the time of %s as HHMM or HHMMSS after T", what);
        s += 4;
        if (*s >= '0' && *s <= '9') {
            if (digits(s, 2, &sec))
                return fail(ps, s, "expected the seconds of %s as two digits", what);
            s += 2;
        }
        if (h > 23 || mi > 59 || sec > 59)
            return fail(ps, ps->p + 9, "%s: not a time of day", what);
        *has_time = 1;
    }
    if (*s == 'Z' || *s == 'z')
        return fail(ps, s, "%s is a wall time in each person's own zone: remove the Z", what);
    if (!at_end_of_item(s))
        return fail(ps, s, "unexpected '%c' after %s", *s, what);
    dt->days = pb_tz_days_from_civil(y, mo, d);
    dt->sec = *has_time ? h * 3600 + mi * 60 + sec : -1;
    ps->p = s;
    return PB_OK;
}

enum part {
    P_FREQ,
    P_INTERVAL,
    P_BYDAY,
    P_BYMONTHDAY,
    P_BYMONTH,
    P_BYHOUR,
    P_BYMINUTE,
    P_WKST,
    P_DTSTART,
    P_UNTIL,
    P_RDATE,
    P_COUNT
};

static const char *const part_names[P_COUNT] = {"FREQ",    "INTERVAL", "BYDAY",    "BYMONTHDAY",
                                                "BYMONTH", "BYHOUR",   "BYMINUTE", "WKST",
                                                "DTSTART", "UNTIL",    "RDATE"};

static const char *const unsupported[] = {"COUNT", "BYSETPOS", "BYWEEKNO", "BYYEARDAY", "BYSECOND"};

/* Parses the value of one part, ps->p at its first character. */
static int parse_value(struct parser *ps, enum part part, struct pb_cal_rule *r, int *start_time)
{
    static const char *const freqs[] = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"};
    int v, rc = PB_OK;
    switch (part) {
    case P_FREQ:
        for (int i = 0; i < 4; i++) {
            size_t n = strlen(freqs[i]);
            if (strncasecmp(ps->p, freqs[i], n) == 0 && at_end_of_item(ps->p + n) &&
                ps->p[n] != ',') {
                r->freq = (enum pb_cal_freq)(PB_CAL_DAILY + i);
                ps->p += n;
                return PB_OK;
            }
        }
        return fail(ps, ps->p, "expected DAILY, WEEKLY, MONTHLY or YEARLY after FREQ=");
    case P_INTERVAL:
        return parse_int(ps, 1, 1000, "INTERVAL", &r->interval);
    case P_WKST:
        return parse_wday(ps, &r->wkst);
    case P_DTSTART:
        return parse_datetime(ps, "DTSTART", &r->start, start_time);
    case P_UNTIL: {
        struct pb_cal_datetime dt;
        int has_time;
        rc = parse_datetime(ps, "UNTIL", &dt, &has_time);
        r->until_days = dt.days; /* a time on UNTIL is accepted and the whole day counts */
        return rc;
    }
    default:
        break;
    }
    /* The rest are lists. */
    for (;;) {
        if (part == P_BYDAY) {
            if (r->n_byday == PB_CAL_MAX_BYDAY)
                return fail(ps, ps->p, "too many BYDAY entries (at most %d)", PB_CAL_MAX_BYDAY);
            struct pb_cal_byday *b = &r->byday[r->n_byday++];
            const char *s = ps->p;
            int sign = 1, nth = 0;
            if (*s == '+' || *s == '-')
                sign = *s++ == '-' ? -1 : 1;
            if (*s >= '1' && *s <= '5' && !(s[1] >= '0' && s[1] <= '9')) {
                nth = (*s++ - '0') * sign;
            } else if (s != ps->p || (*s >= '0' && *s <= '9')) {
                return fail(ps, ps->p,
                            "expected a week of the month from 1 to 5 or -1 to -5 "
                            "before the weekday (1MO, -1FR)");
            }
            ps->p = s;
            b->nth = nth;
            rc = parse_wday(ps, &b->wday);
        } else if (part == P_BYMONTHDAY) {
            rc = parse_int(ps, -31, 31, "a day of the month", &v);
            if (rc == PB_OK && v == 0)
                return fail(ps, ps->p - 1, "BYMONTHDAY=0 is not a day (1 to 31, -1 is the last)");
            if (rc == PB_OK && v > 0)
                r->monthdays |= 1u << v;
            else if (rc == PB_OK)
                r->neg_monthdays |= 1u << -v;
        } else if (part == P_BYMONTH) {
            rc = parse_int(ps, 1, 12, "a month", &v);
            if (rc == PB_OK)
                r->months |= (uint16_t)(1u << v);
        } else if (part == P_BYHOUR) {
            rc = parse_int(ps, 0, 23, "an hour", &v);
            if (rc == PB_OK)
                r->hours |= 1u << v;
        } else if (part == P_BYMINUTE) {
            rc = parse_int(ps, 0, 59, "a minute", &v);
            if (rc == PB_OK)
                r->minutes |= 1ull << v;
        } else { /* P_RDATE */
            if (r->n_rdate == PB_CAL_MAX_RDATE)
                return fail(ps, ps->p, "too many RDATE entries (at most %d)", PB_CAL_MAX_RDATE);
            int has_time;
            rc = parse_datetime(ps, "RDATE", &r->rdate[r->n_rdate++], &has_time);
        }
        if (rc != PB_OK)
            return rc;
        if (*ps->p != ',')
            return PB_OK;
        ps->p++;
    }
}

/* Checks the parts together and folds RFC 5545's defaults from DTSTART into the filters. */
static int finish(struct parser *ps, struct pb_cal_rule *r, int start_time)
{
    const char *end = ps->p;
    int64_t y = 0;
    int mo = 0, d = 0;
    if (r->has_start)
        pb_tz_civil_from_days(r->start.days, &y, &mo, &d);
    if (r->has_start && r->n_rdate < PB_CAL_MAX_RDATE && r->freq == PB_CAL_ONCE) {
        /* DTSTART of a one-off rule is its first date */
        memmove(r->rdate + 1, r->rdate, r->n_rdate * sizeof r->rdate[0]);
        r->rdate[0] = r->start;
        r->n_rdate++;
    }
    /* Time of day: BYHOUR and BYMINUTE, else DTSTART's. */
    if (!r->hours && r->has_start && start_time)
        r->hours = 1u << (r->start.sec / 3600);
    if (!r->minutes)
        r->minutes = r->has_start && start_time ? 1ull << (r->start.sec / 60 % 60) : 1;
    if (r->freq == PB_CAL_ONCE) {
        if (r->n_rdate == 0)
            return fail(ps, end, "expected FREQ=..., or DTSTART or RDATE for a one-off date");
        if (r->interval > 1 || r->n_byday || r->months || r->monthdays || r->neg_monthdays ||
            r->until_days != PB_CAL_NO_DAY)
            return fail(ps, end, "BYDAY, BYMONTH, BYMONTHDAY, INTERVAL and UNTIL need FREQ");
        for (size_t i = 0; i < r->n_rdate; i++)
            if (r->rdate[i].sec < 0 && !r->hours)
                return fail(ps, end, "a one-off date without a time needs BYHOUR");
        for (size_t i = 1; i < r->n_rdate; i++) /* insertion sort: at most 16 */
            for (size_t j = i; j > 0 && r->rdate[j].days < r->rdate[j - 1].days; j--) {
                struct pb_cal_datetime t = r->rdate[j];
                r->rdate[j] = r->rdate[j - 1];
                r->rdate[j - 1] = t;
            }
        return PB_OK;
    }
    if (r->n_rdate)
        return fail(ps, end, "RDATE is for one-off dates: use it without FREQ");
    if (!r->hours)
        return fail(ps, end, "expected BYHOUR (the time of day) or a DTSTART with a time");
    if (r->interval > 1 && !r->has_start)
        return fail(ps, end, "INTERVAL=%d needs DTSTART to say which %s count", r->interval,
                    r->freq == PB_CAL_DAILY     ? "days"
                    : r->freq == PB_CAL_WEEKLY  ? "weeks"
                    : r->freq == PB_CAL_MONTHLY ? "months"
                                                : "years");
    for (size_t i = 0; i < r->n_byday; i++)
        if (r->byday[i].nth != 0 &&
            !(r->freq == PB_CAL_MONTHLY || (r->freq == PB_CAL_YEARLY && r->months)))
            return fail(ps, end,
                        "a numbered BYDAY (1MO, -1FR) needs FREQ=MONTHLY, or YEARLY "
                        "with BYMONTH");
    if ((r->monthdays || r->neg_monthdays) && r->freq == PB_CAL_WEEKLY)
        return fail(ps, end, "BYMONTHDAY does not go with FREQ=WEEKLY");
    int days_given = r->n_byday || r->monthdays || r->neg_monthdays;
    if (r->freq == PB_CAL_WEEKLY && !r->n_byday) {
        if (!r->has_start)
            return fail(ps, end, "FREQ=WEEKLY needs BYDAY or DTSTART to say which weekday");
        r->byday[r->n_byday++] = (struct pb_cal_byday){pb_tz_weekday(r->start.days), 0};
    } else if (r->freq == PB_CAL_MONTHLY && !days_given) {
        if (!r->has_start)
            return fail(ps, end, "FREQ=MONTHLY needs BYDAY, BYMONTHDAY or DTSTART");
        r->monthdays = 1u << d;
    } else if (r->freq == PB_CAL_YEARLY && !days_given) {
        if (!r->has_start && !r->months)
            return fail(ps, end,
                        "FREQ=YEARLY needs BYMONTH with BYMONTHDAY or BYDAY, or "
                        "DTSTART");
        if (!r->has_start)
            return fail(ps, end, "FREQ=YEARLY;BYMONTH needs BYMONTHDAY or BYDAY");
        if (!r->months)
            r->months = (uint16_t)(1u << mo);
        r->monthdays = 1u << d;
    }
    return PB_OK;
}

int pb_cal_parse(const char *text, struct pb_cal_rule *r, char *err, size_t errlen)
{
    struct parser ps = {text, text, err, errlen};
    unsigned seen = 0;
    int start_time = 0;
    memset(r, 0, sizeof *r);
    r->interval = 1;
    r->wkst = 1;
    r->until_days = PB_CAL_NO_DAY;
    if (strncasecmp(ps.p, "RRULE:", 6) == 0)
        ps.p += 6;
    if (*ps.p == '\0')
        return fail(&ps, ps.p, "expected a rule such as FREQ=WEEKLY;BYDAY=MO;BYHOUR=9");
    for (;;) {
        const char *name = ps.p;
        size_t n = strcspn(name, "=;");
        if (name[n] != '=')
            return fail(&ps, name, "expected NAME=VALUE (such as FREQ=WEEKLY)");
        int part = -1;
        for (int i = 0; i < P_COUNT; i++)
            if (strlen(part_names[i]) == n && strncasecmp(name, part_names[i], n) == 0)
                part = i;
        for (size_t i = 0; part < 0 && i < sizeof unsupported / sizeof *unsupported; i++)
            if (strlen(unsupported[i]) == n && strncasecmp(name, unsupported[i], n) == 0)
                return fail(&ps, name, "%s is not supported%s", unsupported[i],
                            i == 0 ? " (use UNTIL)" : "");
        if (part < 0)
            return fail(&ps, name,
                        "unknown part \"%.*s\" (expected FREQ, INTERVAL, BYDAY, BYMONTHDAY, "
                        "BYMONTH, BYHOUR, BYMINUTE, WKST, DTSTART, UNTIL or RDATE)",
                        (int)(n > 20 ? 20 : n), name);
        if (seen & (1u << part))
            return fail(&ps, name, "%s is given twice", part_names[part]);
        seen |= 1u << part;
        ps.p = name + n + 1;
        if (part == P_DTSTART)
            r->has_start = 1;
        int rc = parse_value(&ps, (enum part)part, r, &start_time);
        if (rc != PB_OK)
            return rc;
        if (*ps.p == '\0')
            break;
        if (*ps.p != ';')
            return fail(&ps, ps.p, "expected ';' or the end of the rule");
        ps.p++;
        if (*ps.p == '\0')
            break; /* a trailing ';' is harmless */
    }
    return finish(&ps, r, start_time);
}

/* Calendar rules: the parser and its error messages, next occurrences through the injected
 * clock across daylight-saving changes (New York, Berlin, Lord Howe), odd offsets (Kathmandu),
 * a skipped day (Apia), leap days, first and last weekdays across month and year ends, every
 * other week from an anchor, one-off dates; quiet hours crossing midnight; days off from an
 * iCalendar file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "clock.h"
#include "pulsebot/plugin.h"
#include "tz.h"

static struct pb_fake_clock fake;

static int64_t utc(int64_t y, int mo, int d, int h, int mi)
{
    return (pb_tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

static const struct pb_tz *zone(const char *name)
{
    const struct pb_tz *tz = NULL;
    char err[256];
    if (pb_tz_get(name, &tz, err, sizeof err) != PB_OK)
        fail_msg("%s", err);
    return tz;
}

static struct pb_cal_rule parse_ok(const char *text)
{
    struct pb_cal_rule r;
    char err[256];
    if (pb_cal_parse(text, &r, err, sizeof err) != PB_OK)
        fail_msg("%s: %s", text, err);
    return r;
}

/* Moves the fake clock to the rule's next occurrence and returns it. */
static int64_t step(const struct pb_cal_rule *r, const struct pb_tz *tz)
{
    int64_t next = 0;
    int rc = pb_cal_next(r, tz, pb_now_ms(), &next);
    if (rc != PB_OK)
        fail_msg("no next occurrence after %lld", (long long)pb_now_ms());
    assert_true(next > pb_now_ms());
    fake.now = next;
    return next;
}

/* The next occurrences from local time `from` must be these UTC instants, in order. */
static void walk(const char *rule, const char *zname, int64_t from, const int64_t *want, size_t n)
{
    struct pb_cal_rule r = parse_ok(rule);
    const struct pb_tz *tz = zone(zname);
    fake.now = from;
    for (size_t i = 0; i < n; i++) {
        int64_t got = step(&r, tz);
        if (got != want[i]) {
            struct pb_tz_local l;
            pb_tz_to_local(tz, got, &l);
            fail_msg("%s in %s, #%zu: got %lld-%02d-%02d %02d:%02d %s, want %lld", rule, zname, i,
                     (long long)l.year, l.month, l.day, l.hour, l.min, l.abbr, (long long)want[i]);
        }
    }
}

static void expect_error(const char *text, const char *msg)
{
    struct pb_cal_rule r;
    char err[256] = "";
    assert_int_equal(pb_cal_parse(text, &r, err, sizeof err), PB_ERR_INVALID);
    if (strcmp(err, msg) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", text, err, msg);
}

static void test_parse(void **state)
{
    struct pb_cal_rule r = parse_ok("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30;"
                                    "DTSTART=20240101");
    assert_int_equal(r.freq, PB_CAL_WEEKLY);
    assert_int_equal(r.interval, 2);
    assert_int_equal(r.n_byday, 3);
    assert_int_equal(r.byday[2].wday, 5);
    assert_int_equal(r.hours, 1u << 9);
    assert_true(r.minutes == 1ull << 30);
    r = parse_ok("rrule:freq=monthly;byday=-1fr,1MO;byhour=9,17");
    assert_int_equal(r.byday[0].nth, -1);
    assert_int_equal(r.byday[1].nth, 1);
    assert_int_equal(r.hours, (1u << 9) | (1u << 17));
    assert_true(r.minutes == 1);                          /* minute 0 by default */
    r = parse_ok("DTSTART=20240315T083000;FREQ=MONTHLY"); /* day and time from DTSTART */
    assert_int_equal(r.monthdays, 1u << 15);
    assert_int_equal(r.hours, 1u << 8);
    assert_true(r.minutes == 1ull << 30);
    r = parse_ok("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=9;");
    assert_int_equal(r.months, 1u << 2);

    expect_error("", "column 1: expected a rule such as FREQ=WEEKLY;BYDAY=MO;BYHOUR=9");
    expect_error("FREQ=HOURLY;BYHOUR=9",
                 "column 6: expected DAILY, WEEKLY, MONTHLY or YEARLY after FREQ=");
    expect_error("FREQ=WEEKLY;BYDAY=MO,XX;BYHOUR=9",
                 "column 22: expected a weekday (MO, TU, WE, TH, FR, SA or SU)");
    expect_error("FREQ=DAILY;BYHOUR=24", "column 19: expected an hour (a number from 0 to 23)");
    expect_error("FREQ=DAILY;BYHOUR=9;BYMINUTE=5x",
                 "column 30: expected a minute (a number from 0 to 59)");
    expect_error("FREQ=DAILY;BYHOUR=9;COLOR=red",
                 "column 21: unknown part \"COLOR\" (expected FREQ, INTERVAL, BYDAY, BYMONTHDAY, "
                 "BYMONTH, BYHOUR, BYMINUTE, WKST, DTSTART, UNTIL or RDATE)");
    expect_error("FREQ=DAILY;COUNT=3;BYHOUR=9", "column 12: COUNT is not supported (use UNTIL)");
    expect_error("FREQ=DAILY;BYHOUR=9;FREQ=WEEKLY", "column 21: FREQ is given twice");
    expect_error("FREQ=DAILY BYHOUR=9",
                 "column 6: expected DAILY, WEEKLY, MONTHLY or YEARLY after FREQ=");
    expect_error("FREQ=DAILY;BYHOUR", "column 12: expected NAME=VALUE (such as FREQ=WEEKLY)");
    expect_error("FREQ=WEEKLY;BYDAY=MO",
                 "column 21: expected BYHOUR (the time of day) or a DTSTART with a time");
    expect_error("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9",
                 "column 41: INTERVAL=2 needs DTSTART to say which weeks count");
    expect_error("FREQ=WEEKLY;BYDAY=1MO;BYHOUR=9",
                 "column 31: a numbered BYDAY (1MO, -1FR) needs FREQ=MONTHLY, or YEARLY with "
                 "BYMONTH");
    expect_error("FREQ=MONTHLY;BYDAY=6MO;BYHOUR=9",
                 "column 20: expected a week of the month from 1 to 5 or -1 to -5 before the "
                 "weekday (1MO, -1FR)");
    expect_error("FREQ=MONTHLY;BYMONTHDAY=0;BYHOUR=9",
                 "column 25: BYMONTHDAY=0 is not a day (1 to 31, -1 is the last)");
    expect_error("FREQ=DAILY;BYHOUR=9;DTSTART=20230229",
                 "column 29: DTSTART: 20230229 is not a date");
    expect_error("FREQ=DAILY;DTSTART=20240101T0900Z",
                 "column 33: DTSTART is a wall time in each person's own zone: remove the Z");
    expect_error("FREQ=DAILY;BYHOUR=9;DTSTART=2024-01-01",
                 "column 29: expected DTSTART as YYYYMMDD or YYYYMMDDTHHMM");
    expect_error("FREQ=WEEKLY;BYHOUR=9",
                 "column 21: FREQ=WEEKLY needs BYDAY or DTSTART to say which weekday");
    expect_error("BYHOUR=9", "column 9: expected FREQ=..., or DTSTART or RDATE for a one-off date");
    expect_error("DTSTART=20241224", "column 17: a one-off date without a time needs BYHOUR");
    expect_error("FREQ=DAILY;BYHOUR=9;RDATE=20241224T0900",
                 "column 40: RDATE is for one-off dates: use it without FREQ");
}

/* A weekly 02:30 rule on the Sundays of both changes. */
static void test_new_york_dst(void **state)
{
    const char *ny = "America/New_York";
    /* Spring: 02:30 does not exist on 2024-03-10 and moves forward by the gap to 03:30 EDT. */
    int64_t spring[] = {utc(2024, 3, 3, 7, 30), utc(2024, 3, 10, 7, 30), utc(2024, 3, 17, 6, 30)};
    walk("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", ny, utc(2024, 3, 1, 0, 0), spring, 3);
    /* Autumn: 02:30 exists once in New York (the repeated hour is 01:00-02:00) ... */
    int64_t autumn[] = {utc(2024, 10, 27, 6, 30), utc(2024, 11, 3, 7, 30),
                        utc(2024, 11, 10, 7, 30)};
    walk("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", ny, utc(2024, 10, 26, 0, 0), autumn, 3);
    /* ... and 01:30 twice: it fires once, at the first (EDT). */
    int64_t twice[] = {utc(2024, 11, 3, 5, 30), utc(2024, 11, 10, 6, 30)};
    walk("FREQ=WEEKLY;BYDAY=SU;BYHOUR=1;BYMINUTE=30", ny, utc(2024, 11, 2, 0, 0), twice, 2);
    /* Daily at 09:00 across the change: always 09:00 local. */
    int64_t daily[] = {utc(2024, 3, 9, 14, 0), utc(2024, 3, 10, 13, 0), utc(2024, 3, 11, 13, 0)};
    walk("FREQ=DAILY;BYHOUR=9", ny, utc(2024, 3, 9, 0, 0), daily, 3);
}

static void test_berlin_dst(void **state)
{
    const char *b = "Europe/Berlin";
    int64_t spring[] = {utc(2024, 3, 24, 1, 30), utc(2024, 3, 31, 1, 30), utc(2024, 4, 7, 0, 30)};
    walk("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", b, utc(2024, 3, 20, 0, 0), spring, 3);
    /* 2024-10-27: 02:30 is 00:30 UTC (CEST) and again 01:30 UTC (CET); fires at the first
     * only, even when asked from between the two. */
    int64_t autumn[] = {utc(2024, 10, 27, 0, 30), utc(2024, 11, 3, 1, 30)};
    walk("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", b, utc(2024, 10, 26, 0, 0), autumn, 2);
    int64_t between[] = {utc(2024, 11, 3, 1, 30)};
    walk("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", b, utc(2024, 10, 27, 1, 0), between, 1);
    /* Several times a day through the spring gap: 02:00 and 02:30 both land in 03:xx. */
    int64_t multi[] = {utc(2024, 3, 31, 0, 30), utc(2024, 3, 31, 1, 0), utc(2024, 3, 31, 1, 30),
                       utc(2024, 3, 31, 2, 0)};
    walk("FREQ=DAILY;BYHOUR=1,2,4;BYMINUTE=0,30", b, utc(2024, 3, 31, 0, 0), multi, 4);
}

static void test_odd_zones(void **state)
{
    /* Lord Howe: the 30-minute gap on 2024-10-06 (02:00-02:30) and overlap on 2024-04-07. */
    int64_t lh_spring[] = {utc(2024, 10, 4, 15, 45), utc(2024, 10, 5, 15, 45),
                           utc(2024, 10, 6, 15, 15)};
    walk("FREQ=DAILY;BYHOUR=2;BYMINUTE=15", "Australia/Lord_Howe", utc(2024, 10, 4, 0, 0),
         lh_spring, 3);
    int64_t lh_autumn[] = {utc(2024, 4, 5, 14, 45), utc(2024, 4, 6, 14, 45),
                           utc(2024, 4, 7, 15, 15)};
    walk("FREQ=DAILY;BYHOUR=1;BYMINUTE=45", "Australia/Lord_Howe", utc(2024, 4, 5, 0, 0), lh_autumn,
         3);
    /* Kathmandu +05:45: weekdays at 09:00 are 03:15 UTC; Friday evening -> Monday. */
    int64_t ktm[] = {utc(2024, 6, 3, 3, 15), utc(2024, 6, 4, 3, 15)};
    walk("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9", "Asia/Kathmandu", utc(2024, 5, 31, 12, 0), ktm,
         2);
    /* Apia skipped Friday 2011-12-30: a daily 09:00 fires on the 29th, then the 31st (the
     * 30th's time moved forward by the gap is the same instant), never twice. */
    int64_t apia[] = {utc(2011, 12, 29, 19, 0), utc(2011, 12, 30, 19, 0), utc(2011, 12, 31, 19, 0)};
    walk("FREQ=DAILY;BYHOUR=9", "Pacific/Apia", utc(2011, 12, 28, 20, 0), apia, 3);
    /* A Friday rule that week: the Friday that did not exist fires on Saturday morning. */
    int64_t apia_fri[] = {utc(2011, 12, 23, 19, 0), utc(2011, 12, 30, 19, 0),
                          utc(2012, 1, 5, 19, 0)};
    walk("FREQ=WEEKLY;BYDAY=FR;BYHOUR=9", "Pacific/Apia", utc(2011, 12, 20, 0, 0), apia_fri, 3);
}

static void test_month_and_year_ends(void **state)
{
    const char *b = "Europe/Berlin";
    int64_t last_fri[] = {utc(2024, 11, 29, 9, 0), utc(2024, 12, 27, 9, 0), utc(2025, 1, 31, 9, 0),
                          utc(2025, 2, 28, 9, 0), utc(2025, 3, 28, 9, 0)};
    walk("FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=10", b, utc(2024, 11, 1, 0, 0), last_fri, 5);
    int64_t first_mon[] = {utc(2024, 12, 2, 8, 0), utc(2025, 1, 6, 8, 0), utc(2025, 2, 3, 8, 0),
                           utc(2025, 3, 3, 8, 0), utc(2025, 4, 7, 7, 0)};
    walk("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=9", b, utc(2024, 11, 5, 0, 0), first_mon, 5);
    /* Last day of the month, and the 31st (skipping shorter months). */
    int64_t last_day[] = {utc(2024, 1, 31, 16, 0), utc(2024, 2, 29, 16, 0),
                          utc(2024, 3, 31, 15, 0)};
    walk("FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=17", b, utc(2024, 1, 1, 0, 0), last_day, 3);
    int64_t the_31st[] = {utc(2024, 1, 31, 8, 0), utc(2024, 3, 31, 7, 0), utc(2024, 5, 31, 7, 0)};
    walk("FREQ=MONTHLY;BYMONTHDAY=31;BYHOUR=9", b, utc(2024, 1, 1, 0, 0), the_31st, 3);
    /* Leap day: every four years, and not in 2100. */
    int64_t leap[] = {utc(2028, 2, 29, 8, 0), utc(2032, 2, 29, 8, 0)};
    walk("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=9", b, utc(2024, 3, 1, 0, 0), leap, 2);
    int64_t leap2100[] = {utc(2096, 2, 29, 8, 0), utc(2104, 2, 29, 8, 0)};
    walk("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=9", b, utc(2095, 1, 1, 0, 0), leap2100, 2);
    /* Thanksgiving-style: the 4th Thursday of November, yearly. */
    int64_t thanks[] = {utc(2024, 11, 28, 17, 0), utc(2025, 11, 27, 17, 0)};
    walk("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;BYHOUR=12", "America/New_York", utc(2024, 1, 1, 0, 0),
         thanks, 2);
}

static void test_interval_and_anchor(void **state)
{
    const char *b = "Europe/Berlin";
    /* Weeks of Jan 1, Jan 15, Jan 29, 2024 (Mondays). */
    int64_t fortnight[] = {utc(2024, 1, 3, 8, 30),  utc(2024, 1, 5, 8, 30),
                           utc(2024, 1, 15, 8, 30), utc(2024, 1, 17, 8, 30),
                           utc(2024, 1, 19, 8, 30), utc(2024, 1, 29, 8, 30)};
    walk("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30;DTSTART=20240101", b,
         utc(2024, 1, 2, 12, 0), fortnight, 6);
    /* Far from the anchor, and from before it: the same weeks, nothing before DTSTART. */
    /* (the week of 2024-12-30 is the 52nd after the anchor's: on; that of 2025-01-06 off) */
    int64_t later[] = {utc(2025, 1, 1, 8, 30), utc(2025, 1, 3, 8, 30), utc(2025, 1, 13, 8, 30)};
    walk("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30;DTSTART=20240101", b,
         utc(2025, 1, 1, 0, 0), later, 3);
    int64_t before[] = {utc(2024, 1, 1, 8, 30)};
    walk("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR;BYHOUR=9;BYMINUTE=30;DTSTART=20240101", b,
         utc(2020, 1, 1, 0, 0), before, 1);
    /* Week start matters with a Sunday in the set: WKST=SU makes Sun Jan 7 part of the week
     * of Jan 8, which is off. */
    int64_t mo_start[] = {utc(2024, 1, 1, 8, 0), utc(2024, 1, 7, 8, 0), utc(2024, 1, 15, 8, 0)};
    walk("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;BYHOUR=9;DTSTART=20240101", b, utc(2023, 12, 31, 0, 0),
         mo_start, 3);
    int64_t su_start[] = {utc(2024, 1, 1, 8, 0), utc(2024, 1, 14, 8, 0), utc(2024, 1, 15, 8, 0)};
    walk("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;BYHOUR=9;DTSTART=20240101;WKST=SU", b,
         utc(2023, 12, 31, 0, 0), su_start, 3);
    /* Every 3 days, every 2 months, every 2 years. */
    int64_t three[] = {utc(2024, 1, 1, 8, 0), utc(2024, 1, 4, 8, 0), utc(2024, 1, 7, 8, 0)};
    walk("FREQ=DAILY;INTERVAL=3;BYHOUR=9;DTSTART=20240101", b, utc(2023, 6, 1, 0, 0), three, 3);
    int64_t bimonthly[] = {utc(2024, 3, 15, 8, 0), utc(2024, 5, 15, 7, 0)};
    walk("FREQ=MONTHLY;INTERVAL=2;DTSTART=20240115T0900", b, utc(2024, 1, 16, 0, 0), bimonthly, 2);
    int64_t biennial[] = {utc(2026, 6, 1, 7, 0), utc(2028, 6, 1, 7, 0)};
    walk("FREQ=YEARLY;INTERVAL=2;DTSTART=20240601T0900", b, utc(2024, 6, 2, 0, 0), biennial, 2);
    /* DTSTART's time bounds its own day. */
    int64_t same_day[] = {utc(2024, 1, 1, 15, 0), utc(2024, 1, 2, 8, 0)};
    walk("FREQ=DAILY;BYHOUR=9,16;DTSTART=20240101T1200", b, utc(2024, 1, 1, 0, 0), same_day, 2);
}

static void test_once_and_until(void **state)
{
    const struct pb_tz *b = zone("Europe/Berlin");
    struct pb_cal_rule r = parse_ok("DTSTART=20241224T0900");
    int64_t next;
    assert_int_equal(pb_cal_next(&r, b, utc(2024, 1, 1, 0, 0), &next), PB_OK);
    assert_true(next == utc(2024, 12, 24, 8, 0));
    assert_int_equal(pb_cal_next(&r, b, next, &next), PB_ERR_DONE);
    int64_t dates[] = {utc(2024, 6, 3, 7, 0),  utc(2024, 6, 3, 14, 0), utc(2024, 9, 2, 7, 0),
                       utc(2024, 9, 2, 14, 0), utc(2024, 12, 2, 8, 0), utc(2024, 12, 2, 15, 0)};
    walk("RDATE=20241202,20240603,20240902;BYHOUR=9,16", "Europe/Berlin", utc(2024, 1, 1, 0, 0),
         dates, 6);
    r = parse_ok("RDATE=20241202,20240603,20240902;BYHOUR=9,16");
    assert_int_equal(pb_cal_next(&r, b, pb_now_ms(), &next), PB_ERR_DONE);
    r = parse_ok("FREQ=DAILY;BYHOUR=9;UNTIL=20240103");
    fake.now = utc(2024, 1, 1, 0, 0);
    assert_true(step(&r, b) == utc(2024, 1, 1, 8, 0));
    assert_true(step(&r, b) == utc(2024, 1, 2, 8, 0));
    assert_true(step(&r, b) == utc(2024, 1, 3, 8, 0));
    assert_int_equal(pb_cal_next(&r, b, pb_now_ms(), &next), PB_ERR_DONE);
    /* Out of range. */
    assert_int_equal(pb_cal_next(&r, b, INT64_MAX, &next), PB_ERR_INVALID);
    /* A date that never comes: bounded search, then "done". */
    r = parse_ok("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=9");
    assert_int_equal(pb_cal_next(&r, b, utc(2024, 1, 1, 0, 0), &next), PB_ERR_DONE);
}

/* ---- Quiet hours and days off ------------------------------------------------------------ */

#define WEEKDAYS 0x3e /* Monday to Friday */

static int64_t allowed(const struct pb_cal_allowed *a, const char *z, int64_t at)
{
    int64_t out = 0;
    assert_int_equal(pb_cal_allowed_next(a, zone(z), at, &out), PB_OK);
    assert_true(out >= at);
    return out;
}

static void test_quiet_hours(void **state)
{
    const char *b = "Europe/Berlin";
    struct pb_cal_allowed office = {.weekdays = WEEKDAYS, .start_min = 9 * 60, .end_min = 18 * 60};
    /* Inside: unchanged, to the millisecond. */
    assert_true(allowed(&office, b, utc(2024, 6, 5, 10, 0) + 7) == utc(2024, 6, 5, 10, 0) + 7);
    /* Before, after, on the end minute, at the weekend. */
    assert_true(allowed(&office, b, utc(2024, 6, 5, 5, 0)) == utc(2024, 6, 5, 7, 0));
    assert_true(allowed(&office, b, utc(2024, 6, 5, 16, 0)) == utc(2024, 6, 6, 7, 0));
    assert_true(allowed(&office, b, utc(2024, 6, 7, 16, 30)) == utc(2024, 6, 10, 7, 0));
    assert_true(allowed(&office, b, utc(2024, 6, 8, 12, 0)) == utc(2024, 6, 10, 7, 0));
    /* A day off on the Monday too. */
    int64_t off[] = {pb_tz_days_from_civil(2024, 6, 10)};
    office.days_off = off;
    office.n_days_off = 1;
    assert_true(allowed(&office, b, utc(2024, 6, 8, 12, 0)) == utc(2024, 6, 11, 7, 0));
    /* Crossing midnight: 22:00-06:00, a span belongs to the day it starts on. */
    struct pb_cal_allowed night = {.weekdays = WEEKDAYS, .start_min = 22 * 60, .end_min = 6 * 60};
    assert_true(allowed(&night, b, utc(2024, 6, 8, 1, 0)) == utc(2024, 6, 8, 1, 0)); /* Fri's */
    assert_true(allowed(&night, b, utc(2024, 6, 8, 4, 0)) == utc(2024, 6, 10, 20, 0));
    assert_true(allowed(&night, b, utc(2024, 6, 5, 12, 0)) == utc(2024, 6, 5, 20, 0));
    assert_true(allowed(&night, b, utc(2024, 6, 10, 3, 59)) == utc(2024, 6, 10, 20, 0)); /* Sun */
    /* Over the spring change in New York: Sunday 2024-03-10 01:00-04:00 is two hours long. */
    struct pb_cal_allowed early = {.weekdays = 0x7f, .start_min = 60, .end_min = 240};
    assert_true(allowed(&early, "America/New_York", utc(2024, 3, 10, 7, 59)) ==
                utc(2024, 3, 10, 7, 59));
    assert_true(allowed(&early, "America/New_York", utc(2024, 3, 10, 8, 0)) ==
                utc(2024, 3, 11, 5, 0));
    /* All day, weekends only. */
    struct pb_cal_allowed weekend = {.weekdays = 0x41};
    assert_true(allowed(&weekend, b, utc(2024, 6, 5, 12, 0)) == utc(2024, 6, 7, 22, 0));
    /* Nothing allowed. */
    struct pb_cal_allowed never = {.weekdays = 0};
    int64_t out;
    assert_int_equal(pb_cal_allowed_next(&never, zone(b), 0, &out), PB_ERR_DONE);
}

static void test_ical_holidays(void **state)
{
    int64_t *days;
    size_t n;
    char err[256] = "";
    int rc = pb_cal_ical_load(PB_TEST_DATA "/calendar/holidays-berlin-2024.ics", &days, &n, err,
                              sizeof err);
    if (rc != PB_OK)
        fail_msg("%s", err);
    static const int want[][3] = {{2024, 10, 3},  {2024, 12, 24}, {2024, 12, 25}, {2024, 12, 26},
                                  {2024, 12, 31}, {2025, 1, 1},   {2025, 4, 18},  {2025, 4, 19},
                                  {2025, 4, 20},  {2025, 4, 21}};
    assert_int_equal(n, sizeof want / sizeof *want);
    for (size_t i = 0; i < n; i++)
        assert_true(days[i] == pb_tz_days_from_civil(want[i][0], want[i][1], want[i][2]));
    /* The meeting, the VTODO and the VTIMEZONE's DTSTARTs are not days off. */
    assert_false(pb_cal_day_in(days, n, pb_tz_days_from_civil(2024, 11, 25)));
    assert_false(pb_cal_day_in(days, n, pb_tz_days_from_civil(2024, 11, 11)));
    assert_false(pb_cal_day_in(days, n, pb_tz_days_from_civil(1970, 3, 29)));
    /* A pulse due Monday 23 December after hours moves past Christmas to Friday the 27th,
     * and one on the 30th moves past New Year's Eve and Day to Thursday 2 January. */
    struct pb_cal_allowed a = {.weekdays = WEEKDAYS,
                               .start_min = 9 * 60,
                               .end_min = 18 * 60,
                               .days_off = days,
                               .n_days_off = n};
    assert_true(allowed(&a, "Europe/Berlin", utc(2024, 12, 23, 17, 30)) == utc(2024, 12, 27, 8, 0));
    assert_true(allowed(&a, "Europe/Berlin", utc(2024, 12, 30, 17, 0)) == utc(2025, 1, 2, 8, 0));
    free(days);
}

static void ical_error(const char *text, const char *msg)
{
    int64_t *days;
    size_t n;
    char err[256] = "";
    assert_int_equal(pb_cal_ical_parse(text, strlen(text), &days, &n, err, sizeof err),
                     PB_ERR_INVALID);
    assert_null(days);
    if (strcmp(err, msg) != 0)
        fail_msg("got \"%s\", want \"%s\"", err, msg);
}

static void test_ical_edge_cases(void **state)
{
    /* LF line ends, a fold with a tab, a property value holding ':' in a quoted parameter. */
    const char *text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nX-A;P=\"a:b\":c\nDTST\n\tART;VALUE=DATE:"
                       "20240101\nEND:VEVENT\nEND:VCALENDAR";
    int64_t *days;
    size_t n;
    char err[256];
    assert_int_equal(pb_cal_ical_parse(text, strlen(text), &days, &n, err, sizeof err), PB_OK);
    assert_int_equal(n, 1);
    assert_true(days[0] == pb_tz_days_from_civil(2024, 1, 1));
    free(days);
    ical_error("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20240230\r\nEND:VEVENT\r\n"
               "END:VCALENDAR\r\n",
               "line 3: bad DTSTART \"20240230\" (expected YYYYMMDD)");
    ical_error("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20240101\r\n",
               "line 2: BEGIN:VEVENT is never closed");
    ical_error("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO\r\n",
               "line 3: END:VTODO does not close BEGIN:VEVENT");
    ical_error("hello\r\n", "line 1: expected NAME:VALUE");
    ical_error("", "line 1: not an iCalendar file (expected BEGIN:VCALENDAR)");
    ical_error("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20240101\n"
               "DTEND;VALUE=DATE:20260101\nEND:VEVENT\nEND:VCALENDAR\n",
               "line 2: an event of more than 366 days");
    assert_int_equal(pb_cal_ical_load("/nonexistent/days.ics", &days, &n, err, sizeof err),
                     PB_ERR_UNKNOWN);
}

static int setup(void **state)
{
    pb_fake_clock_init(&fake, 0);
    pb_clock_set(&fake.clock);
    return 0;
}

static int teardown(void **state)
{
    pb_clock_set(NULL);
    pb_tz_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_new_york_dst),
        cmocka_unit_test(test_berlin_dst),
        cmocka_unit_test(test_odd_zones),
        cmocka_unit_test(test_month_and_year_ends),
        cmocka_unit_test(test_interval_and_anchor),
        cmocka_unit_test(test_once_and_until),
        cmocka_unit_test(test_quiet_hours),
        cmocka_unit_test(test_ical_holidays),
        cmocka_unit_test(test_ical_edge_cases),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

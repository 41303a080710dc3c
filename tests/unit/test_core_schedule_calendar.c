/*
 * Calendars and spread at the schedule level, on the fake clock: a Saturday wave moved by
 * each person's calendar in their own zone (a team's calendar inherited by a sub-team, days
 * off from a list and from an iCalendar file, a default calendar's quiet hours), the window
 * and reminders counted from the actual send, absences judged on the send day; 100 people
 * spread evenly over 15 minutes with the outbox sleeping until each send; send times on
 * daylight-saving change days in Berlin, New York, Lord Howe, Kathmandu and Apia; catch-up
 * after three days down; and business time for SLAs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "schedule.h"
#include "test_core_fixture.h"

#define HOUR (60 * MINUTE)
#define DAY  (24 * HOUR)

static size_t questions_to(struct fx *f, const char *person)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && f->sent[i].n_buttons == 5 &&
             strcmp(f->sent[i].target, person) == 0;
    return n;
}

/* Runs the engine at each moment it says it is due, up to `until`. */
static void run_until(struct fx *f, int64_t until)
{
    for (int guard = 0; guard < 10000; guard++) {
        int64_t next = pb_engine_next_due(f->engine);
        if (next > until)
            break;
        if (next > f->clock.now)
            f->clock.now = next;
        pb_engine_run(f->engine);
    }
    f->clock.now = until;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
    return (pb_tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

static void test_calendars_move_sends(void **state)
{
    struct fx *f = fx_new(PB_TEST_DATA "/schedule/calendars.conf");
    const int64_t tokyo_send = utc(2027, 1, 15, 23, 0); /* Sat 08:00 JST: quiet until 08:00 */
    const int64_t berlin_send = utc(2027, 1, 19, 8, 0); /* Tue 09:00 CET: Monday is off */
    const int64_t ny_send = utc(2027, 1, 20, 14, 0);    /* Wed 09:00 EST: Mon, Tue off (ics) */
    pb_engine_run(f->engine);
    /* Tokyo's Saturday 07:00 (Friday 22:00 UTC) creates the delivery; the question waits. */
    run_until(f, utc(2027, 1, 15, 22, 0));
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_of(f->store, "pulse", "tokyo", &d), PB_OK);
    assert_int_equal(d.state, PB_DELIVERY_PENDING);
    assert_int_equal(questions_to(f, "tokyo"), 0);
    assert_true(pb_engine_next_due(f->engine) == tokyo_send);
    run_until(f, tokyo_send - 1);
    assert_int_equal(questions_to(f, "tokyo"), 0);
    run_until(f, tokyo_send);
    assert_int_equal(questions_to(f, "tokyo"), 1);
    /* Berlin's wave on Saturday 06:00 UTC, for a sub-team of the team with the calendar. */
    run_until(f, utc(2027, 1, 16, 6, 0));
    assert_int_equal(pb_store_delivery_open_of(f->store, "pulse", "berlin", &d), PB_OK);
    /* The window and the first reminder count from the send, not from the wave. */
    assert_true(d.expires_ms == berlin_send + DAY);
    assert_true(d.next_reminder_ms == berlin_send + 2 * HOUR);
    /* Away on the day of the send, not of the wave: not asked. */
    assert_int_equal(pb_store_delivery_open_of(f->store, "pulse", "away", &d), PB_ERR_UNKNOWN);
    run_until(f, berlin_send - 1);
    assert_int_equal(questions_to(f, "berlin"), 0);
    assert_int_equal(questions_to(f, "newyork"), 0);
    run_until(f, berlin_send);
    assert_int_equal(questions_to(f, "berlin"), 1);
    run_until(f, ny_send - 1);
    assert_int_equal(questions_to(f, "newyork"), 0);
    assert_int_equal(pb_store_delivery_open_of(f->store, "pulse", "newyork", &d), PB_OK);
    assert_true(d.expires_ms == ny_send + DAY);
    /* A restart while New York's question is held keeps the hold: nothing early, nothing
     * lost. */
    fx_restart(f);
    run_until(f, ny_send - 1);
    assert_int_equal(questions_to(f, "newyork"), 0);
    run_until(f, ny_send);
    assert_int_equal(questions_to(f, "newyork"), 1);
    assert_int_equal(questions_to(f, "tokyo") + questions_to(f, "berlin"), 2);
    assert_int_equal(questions_to(f, "away"), 0);
    fx_free(f);
}

/* Writes a configuration of `n` people in UTC asked every week with a 15-minute spread. */
static void write_spread_config(const char *path, int n, const char *extra)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; "
                 "} );\nteams = ( { id = \"t\"; } );\npeople = (\n");
    for (int i = 0; i < n; i++)
        fprintf(out, "  { id = \"p%02d\"; team = \"t\"; }%s\n", i, i + 1 < n ? "," : "");
    fprintf(out,
            ");\nsurveys = ( { id = \"s\"; window = \"1d\"; questions = ( { id = \"q\"; type = "
            "\"scale\"; text = \"?\"; } ); } );\n%s"
            "schedules = ( { id = \"w\"; survey = \"s\"; every = \"7d\"; first = \"1m\"; "
            "spread = \"15m\"; audience = { teams = [ \"t\" ]; }; } );\n",
            extra);
    fclose(out);
}

static void test_spread_over_fifteen_minutes(void **state)
{
    char path[] = "/tmp/pb-spread-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_spread_config(path, 100, "");
    struct fx *f = fx_new(path);
    pb_engine_run(f->engine);
    const int64_t wave = FX_START_MS + MINUTE;
    assert_true(pb_engine_next_due(f->engine) == wave);
    run_until(f, wave);
    /* All 100 deliveries exist; only the first question went out with the wave. */
    assert_int_equal(f->n_sent, 1);
    assert_string_equal(f->sent[0].target, "p00");
    /* The outbox sleeps until each next send: 15 min / 100 = 9 s apart, in roster order. */
    for (int i = 1; i < 100; i++) {
        assert_true(pb_engine_next_due(f->engine) == wave + 9000LL * i);
        run_until(f, wave + 9000LL * i);
        assert_int_equal(f->n_sent, (size_t)i + 1);
        char who[8];
        snprintf(who, sizeof who, "p%02d", i);
        assert_string_equal(f->sent[i].target, who);
    }
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_of(f->store, "s", "p99", &d), PB_OK);
    assert_true(d.expires_ms == wave + 9000LL * 99 + DAY);
    /* Then nothing is due until the deliveries expire. */
    assert_true(pb_engine_next_due(f->engine) == wave + DAY);
    fx_free(f);
    unlink(path);
}

/* The send time of `person` for a wave due at `at`, through the function the daemon uses. */
static int64_t send_of(struct fx *f, const char *person, int64_t at)
{
    const struct pb_cfg_schedule *sch = &f->cfg->schedules[0];
    struct pb_schedule_groups g;
    assert_int_equal(pb_schedule_groups_build(f->engine->roster, sch, &g), PB_OK);
    int64_t send = 0;
    size_t found = 0;
    for (size_t i = 0; i < g.n; i++)
        for (size_t k = 0; k < g.g[i].n; k++)
            if (strcmp(g.g[i].m[k].p->id, person) == 0) {
                assert_int_equal(pb_schedule_send_time(sch, &g, &g.g[i].m[k], at, 0, 1, &send),
                                 PB_OK);
                found++;
            }
    pb_schedule_groups_free(&g);
    assert_int_equal(found, 1);
    return send;
}

static void test_send_times_on_change_days(void **state)
{
    char path[] = "/tmp/pb-dst-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text =
        "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
        "calendars = ( { id = \"day\"; hours = \"09:00-17:00\"; days_off = [ \"2011-12-31\" ]; },\n"
        "  { id = \"night\"; hours = \"22:00-06:00\"; } );\n"
        "teams = ( { id = \"t\"; calendar = \"day\"; }, { id = \"n\"; calendar = \"night\"; } );\n"
        "people = ( { id = \"berlin\"; team = \"t\"; timezone = \"Europe/Berlin\"; },\n"
        "  { id = \"ny\"; team = \"t\"; timezone = \"America/New_York\"; },\n"
        "  { id = \"lh\"; team = \"t\"; timezone = \"Australia/Lord_Howe\"; },\n"
        "  { id = \"ktm\"; team = \"t\"; timezone = \"Asia/Kathmandu\"; },\n"
        "  { id = \"apia\"; team = \"t\"; timezone = \"Pacific/Apia\"; },\n"
        "  { id = \"nightly\"; team = \"n\"; timezone = \"Europe/Berlin\"; } );\n"
        "surveys = ( { id = \"s\"; questions = ( { id = \"q\"; type = \"scale\"; text = \"?\"; } "
        "); } );\n"
        "schedules = ( { id = \"w\"; survey = \"s\"; every = \"1d\"; audience = { teams = [ "
        "\"t\", \"n\" ]; }; } );\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct fx *f = fx_new(path);
    /* Berlin springs forward on 2027-03-28 (09:00 is CEST, 07:00 UTC) and falls back on
     * 10-31 (09:00 is CET, 08:00 UTC); a wave at 05:00 UTC waits for the local 09:00. */
    assert_true(send_of(f, "berlin", utc(2027, 3, 28, 5, 0)) == utc(2027, 3, 28, 7, 0));
    assert_true(send_of(f, "berlin", utc(2027, 10, 31, 5, 0)) == utc(2027, 10, 31, 8, 0));
    /* After 17:00 CET on the Saturday before: the Sunday's 09:00, already summer time. */
    assert_true(send_of(f, "berlin", utc(2027, 3, 27, 16, 30)) == utc(2027, 3, 28, 7, 0));
    /* New York: 2027-03-14 (EDT, 13:00 UTC) and 11-07 (EST, 14:00 UTC). */
    assert_true(send_of(f, "ny", utc(2027, 3, 14, 5, 0)) == utc(2027, 3, 14, 13, 0));
    assert_true(send_of(f, "ny", utc(2027, 11, 7, 5, 0)) == utc(2027, 11, 7, 14, 0));
    /* Lord Howe goes from +10:30 to +11 on 2027-10-03 at 02:00: 09:00 is 22:00 UTC the day
     * before, where the Saturday's 09:00 was 22:30 UTC. */
    assert_true(send_of(f, "lh", utc(2027, 10, 1, 20, 0)) == utc(2027, 10, 1, 22, 30));
    assert_true(send_of(f, "lh", utc(2027, 10, 2, 20, 0)) == utc(2027, 10, 2, 22, 0));
    /* Kathmandu +05:45: 09:00 is 03:15 UTC; a wave after 17:00 waits for the next morning. */
    assert_true(send_of(f, "ktm", utc(2027, 6, 1, 1, 0)) == utc(2027, 6, 1, 3, 15));
    assert_true(send_of(f, "ktm", utc(2027, 6, 1, 12, 0)) == utc(2027, 6, 2, 3, 15));
    /* Apia skipped Friday 2011-12-30 and the 31st is a day off: after 17:00 on the 29th
     * (-10) the next allowed 09:00 is on 2012-01-01 (+14), 19:00 UTC on 12-31. */
    assert_true(send_of(f, "apia", utc(2011, 12, 29, 19, 0)) == utc(2011, 12, 29, 19, 0));
    assert_true(send_of(f, "apia", utc(2011, 12, 30, 4, 0)) == utc(2011, 12, 31, 19, 0));
    /* A night span crossing midnight, on the night Berlin springs forward: 22:00 CET on the
     * 27th is 21:00 UTC; at 05:30 CEST (03:30 UTC) the span still holds; at 06:00 it ends. */
    assert_true(send_of(f, "nightly", utc(2027, 3, 27, 12, 0)) == utc(2027, 3, 27, 21, 0));
    assert_true(send_of(f, "nightly", utc(2027, 3, 28, 3, 30)) == utc(2027, 3, 28, 3, 30));
    assert_true(send_of(f, "nightly", utc(2027, 3, 28, 4, 0)) == utc(2027, 3, 28, 20, 0));
    fx_free(f);
    unlink(path);
}

static void test_catch_up_after_three_days_down(void **state)
{
    char path[] = "/tmp/pb-catch-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text =
        "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
        "calendars = ( { id = \"office\"; weekdays = \"MO-FR\"; hours = \"09:00-17:00\"; } );\n"
        "teams = ( { id = \"t\"; calendar = \"office\"; } );\n"
        "people = ( { id = \"berlin\"; team = \"t\"; timezone = \"Europe/Berlin\"; } );\n"
        "surveys = ( { id = \"s\"; window = \"2d\"; questions = ( { id = \"q\"; type = "
        "\"scale\"; text = \"?\"; } ); } );\n"
        "schedules = ( { id = \"w\"; survey = \"s\"; rule = \"FREQ=DAILY;BYHOUR=7\";\n"
        "  audience = { teams = [ \"t\" ]; }; } );\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct fx *f = fx_new(path);
    pb_engine_run(f->engine); /* Friday 08:00 UTC: the rule is new */
    /* Down from Friday to Monday 12:00 UTC: Saturday's, Sunday's and Monday's 07:00 fell due.
     * Only Monday's is asked (its window is open), at once, since Monday 13:00 CET is within
     * the office hours; the others are not sent. */
    f->clock.now = utc(2027, 1, 18, 12, 0);
    pb_engine_run(f->engine);
    pb_engine_run(f->engine);
    assert_int_equal(questions_to(f, "berlin"), 1);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_of(f->store, "s", "berlin", &d), PB_OK);
    /* The window counts from Monday 07:00 CET's wave moved to 09:00 CET. */
    assert_true(d.expires_ms == utc(2027, 1, 18, 8, 0) + 2 * DAY);
    fx_free(f);
    unlink(path);
}

static void test_business_time(void **state)
{
    const struct pb_tz *tz;
    char err[256];
    assert_int_equal(pb_tz_get("Europe/Berlin", &tz, err, sizeof err), PB_OK);
    int64_t off[] = {pb_tz_days_from_civil(2027, 1, 18)}; /* a Monday off */
    struct pb_cal_allowed a = {.weekdays = 0x3e, .start_min = 9 * 60, .end_min = 17 * 60};
    int64_t out;
    /* Friday 16:00 CET + 4 business hours: 1 on Friday, 3 on Monday: Monday 12:00. */
    assert_int_equal(pb_cal_add_allowed_ms(&a, tz, utc(2027, 1, 15, 15, 0), 4 * HOUR, &out), PB_OK);
    assert_true(out == utc(2027, 1, 18, 11, 0));
    /* With Monday off: Tuesday 12:00. */
    a.days_off = off;
    a.n_days_off = 1;
    assert_int_equal(pb_cal_add_allowed_ms(&a, tz, utc(2027, 1, 15, 15, 0), 4 * HOUR, &out), PB_OK);
    assert_true(out == utc(2027, 1, 19, 11, 0));
    /* Exactly a span: ends at its end, not at the next morning. */
    assert_int_equal(pb_cal_add_allowed_ms(&a, tz, utc(2027, 1, 19, 8, 0), 8 * HOUR, &out), PB_OK);
    assert_true(out == utc(2027, 1, 19, 16, 0));
    /* Zero from outside the hours: the next start. */
    assert_int_equal(pb_cal_add_allowed_ms(&a, tz, utc(2027, 1, 16, 10, 0), 0, &out), PB_OK);
    assert_true(out == utc(2027, 1, 19, 8, 0));
    /* Across the spring-forward weekend: Friday 16:00 CET + 2 h is Monday 10:00 CEST. */
    a.n_days_off = 0;
    assert_int_equal(pb_cal_add_allowed_ms(&a, tz, utc(2027, 3, 26, 15, 0), 2 * HOUR, &out), PB_OK);
    assert_true(out == utc(2027, 3, 29, 8, 0));
    /* No calendar: plain time. */
    assert_int_equal(pb_cal_add_allowed_ms(NULL, tz, 1000, 5000, &out), PB_OK);
    assert_true(out == 6000);
    /* A night span across midnight: 22:00-06:00 every day, Saturday 05:00 + 2 h = 23:00. */
    struct pb_cal_allowed night = {.weekdays = 0x7f, .start_min = 22 * 60, .end_min = 6 * 60};
    assert_int_equal(pb_cal_add_allowed_ms(&night, tz, utc(2027, 1, 16, 4, 0), 2 * HOUR, &out),
                     PB_OK);
    assert_true(out == utc(2027, 1, 16, 22, 0));
    assert_int_equal(pb_cal_add_allowed_ms(&a, tz, 0, -1, &out), PB_ERR_INVALID);
    struct pb_cal_allowed never = {.weekdays = 0};
    assert_int_equal(pb_cal_add_allowed_ms(&never, tz, 0, HOUR, &out), PB_ERR_DONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calendars_move_sends),
        cmocka_unit_test(test_spread_over_fifteen_minutes),
        cmocka_unit_test(test_send_times_on_change_days),
        cmocka_unit_test(test_catch_up_after_three_days_down),
        cmocka_unit_test(test_business_time),
    };
    return cmocka_run_group_tests_name("schedule calendars", tests, NULL, NULL);
}

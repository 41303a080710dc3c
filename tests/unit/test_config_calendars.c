/*
 * Named calendars in the configuration: what a good block reads into (weekdays, hours across
 * midnight, days off from a list and an iCalendar file merged and sorted, the default), and
 * every mistake as file:line, including an iCalendar error with the file's own line.
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

#include "config.h"
#include "tz.h"

static const char *base =
    "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
    "people = ( { id = \"p\"; team = \"t\"; } );\n"
    "surveys = ( { id = \"s\"; questions = ( { id = \"q\"; type = \"scale\"; text = \"?\"; } ); "
    "} );\n";

/* Loads `base` followed by `text` from a file beside the test data (so that relative iCalendar
 * paths resolve there); returns the config or NULL with the messages in `diag`. */
static struct pb_config *load(const char *text, struct pb_diag *diag)
{
    char path[512];
    snprintf(path, sizeof path, "%s/schedule/tmp-%d.conf", PB_TEST_DATA, (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s%s", base, text);
    fclose(f);
    struct pb_config *cfg = NULL;
    int rc = pb_config_load(path, &cfg, diag);
    unlink(path);
    return rc == 0 ? cfg : NULL;
}

static int has(const struct pb_diag *d, const char *needle)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->lines[i], needle))
            return 1;
    return 0;
}

static void dump(const struct pb_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "  %s\n", d->lines[i]);
}

static void test_good_calendars(void **state)
{
    struct pb_diag d = {0};
    struct pb_config *cfg = load(
        "calendars = ( { id = \"office\"; weekdays = \"MO-TH, SA\"; hours = \"22:00-06:00\";\n"
        "  days_off = [ \"2027-01-19\", \"2027-01-01\" ]; days_off_file = \"us-days-off.ics\"; "
        "},\n"
        "  { id = \"all\"; default = true; hours = \"00:00-24:00\"; weekdays = \"FR-MO\"; } );\n"
        "teams = ( { id = \"top\"; calendar = \"office\"; }, { id = \"t\"; parent = \"top\"; "
        "} );\n"
        "schedules = ( { id = \"w\"; survey = \"s\"; every = \"7d\"; calendar = \"all\"; "
        "spread = \"15m\"; audience = { teams = [ \"t\" ]; }; } );\n",
        &d);
    dump(&d);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_calendars, 2);
    const struct pb_cfg_calendar *c = pb_config_calendar(cfg, "office");
    assert_non_null(c);
    assert_int_equal(c->allowed.weekdays, 0x1e | 0x40); /* MO TU WE TH, SA */
    assert_int_equal(c->allowed.start_min, 22 * 60);
    assert_int_equal(c->allowed.end_min, 6 * 60);
    /* 01-01, 01-18 and 01-19 (the file's two days, one of them also listed), sorted. */
    assert_int_equal(c->allowed.n_days_off, 3);
    assert_true(c->allowed.days_off[0] == pb_tz_days_from_civil(2027, 1, 1));
    assert_true(c->allowed.days_off[1] == pb_tz_days_from_civil(2027, 1, 18));
    assert_true(c->allowed.days_off[2] == pb_tz_days_from_civil(2027, 1, 19));
    const struct pb_cfg_calendar *all = pb_config_calendar(cfg, "all");
    assert_int_equal(all->is_default, 1);
    assert_int_equal(all->allowed.weekdays, 0x63);                  /* FR SA SU MO */
    assert_int_equal(all->allowed.start_min, all->allowed.end_min); /* all day */
    assert_true(cfg->schedules[0].spread_ms == 15 * 60 * 1000);
    assert_string_equal(cfg->schedules[0].calendar, "all");
    pb_config_free(cfg);
    pb_diag_free(&d);
}

static void test_mistakes_are_file_line(void **state)
{
    struct pb_diag d = {0};
    struct pb_config *cfg = load(
        "calendars = (\n"
        "  { id = \"a\"; weekdays = \"MO-XX\"; },\n"           /* line 5 */
        "  { id = \"b\"; hours = \"9-17\"; },\n"               /* 6 */
        "  { id = \"c\"; days_off = [ \"2027-02-30\" ]; },\n"  /* 7 */
        "  { id = \"d\"; days_off_file = \"bad.ics\"; },\n"    /* 8 */
        "  { id = \"e\"; default = true; },\n"                 /* 9 */
        "  { id = \"f\"; default = true; },\n"                 /* 10 */
        "  { id = \"a\"; hours = \"10:00-10:00\"; } );\n"      /* 11 */
        "teams = ( { id = \"t\"; calendar = \"offce\"; } );\n" /* 12 */
        "schedules = ( { id = \"w\"; survey = \"s\"; every = \"1h\"; spread = \"2h\";\n" /* 13 */
        "  calendar = \"nope\"; audience = { teams = [ \"t\" ]; }; } );\n",              /* 14 */
        &d);
    dump(&d);
    assert_null(cfg);
    assert_true(has(&d, ":5: calendar \"a\": weekdays: expected days such as \"MO-FR\""));
    assert_true(has(&d, ":6: calendar \"b\": hours: expected a span such as \"09:00-17:30\""));
    assert_true(has(&d, ":7: calendar \"c\": days_off: expected a date as YYYY-MM-DD, got "
                        "\"2027-02-30\""));
    /* The iCalendar error names the config line of the key, then the file and its line. */
    assert_true(has(&d, ":8: calendar \"d\": days_off_file: "));
    assert_true(has(&d, "bad.ics:3: "));
    assert_true(has(&d, ":10: calendar \"f\": default: calendar \"e\" is the default already"));
    assert_true(has(&d, ":11: duplicate calendar id \"a\" (first defined at line 5)"));
    assert_true(has(&d, ":11: calendar \"a\": hours:"));
    assert_true(has(&d, ":12: team \"t\": calendar: unknown calendar \"offce\""));
    assert_true(has(&d, ":13: schedule \"w\": spread must be shorter than every"));
    assert_true(has(&d, ":14: schedule \"w\": calendar: unknown calendar \"nope\""));
    pb_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_calendars),
        cmocka_unit_test(test_mistakes_are_file_line),
    };
    return cmocka_run_group_tests_name("config calendars", tests, NULL, NULL);
}

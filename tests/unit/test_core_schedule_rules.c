/*
 * Calendar-rule schedules: "Sundays at 09:00" reaches each person at 09:00 in their own time
 * zone (UTC without one), one zone after another, across a daylight-saving change, once each,
 * and a restart in between neither repeats nor loses a zone's round.
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

#include "test_core_fixture.h"

#define SAT_2027_03_13 1804896000000LL /* 00:00 UTC; US clocks go forward on Sunday the 14th */

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
    for (int guard = 0; guard < 1000; guard++) {
        int64_t next = pb_engine_next_due(f->engine);
        if (next > until)
            break;
        if (next > f->clock.now)
            f->clock.now = next;
        pb_engine_run(f->engine);
    }
    f->clock.now = until;
}

static void test_each_zone_at_its_own_nine(void **state)
{
    struct fx *f = fx_new(PB_TEST_DATA "/engine/rules.conf");
    f->clock.now = SAT_2027_03_13;
    pb_engine_run(f->engine); /* the schedule is new: nothing for the past */
    assert_int_equal(f->n_sent, 0);
    /* Sunday 09:00 in Tokyo is 00:00 UTC. */
    assert_int_equal(pb_engine_next_due(f->engine), 1804982400000LL);
    run_until(f, 1804982400000LL);
    assert_int_equal(questions_to(f, "tokyo"), 1);
    assert_int_equal(questions_to(f, "berlin"), 0);
    /* Berlin (CET, +1) at 08:00 UTC, UTC at 09:00 UTC. */
    assert_int_equal(pb_engine_next_due(f->engine), 1805011200000LL);
    run_until(f, 1805014800000LL);
    assert_int_equal(questions_to(f, "berlin"), 1);
    assert_int_equal(questions_to(f, "nozone"), 1);
    assert_int_equal(questions_to(f, "newyork"), 0);
    /* New York sprang forward at 02:00 that morning: 09:00 EDT is 13:00 UTC, not 14:00. */
    assert_int_equal(pb_engine_next_due(f->engine), 1805029200000LL);
    /* A restart before it neither repeats the earlier zones nor skips New York. */
    fx_restart(f);
    run_until(f, 1805029200000LL);
    assert_int_equal(questions_to(f, "newyork"), 1);
    assert_int_equal(
        questions_to(f, "tokyo") + questions_to(f, "berlin") + questions_to(f, "nozone"), 3);
    /* Away from the 14th to the 21st inclusive: not asked on either Sunday. */
    assert_int_equal(questions_to(f, "holiday"), 0);
    /* Two weeks on, Berlin has moved to summer time: 09:00 CEST is 07:00 UTC. */
    run_until(f, 1806217200000LL - 1);
    assert_int_equal(questions_to(f, "berlin"), 2);
    assert_int_equal(questions_to(f, "holiday"), 0);
    run_until(f, 1806217200000LL);
    assert_int_equal(questions_to(f, "berlin"), 3);
    assert_int_equal(questions_to(f, "holiday"), 1); /* back on the 28th */
    fx_free(f);
}

static size_t reminders_to(struct fx *f, const char *person)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && strcmp(f->sent[i].target, person) == 0 &&
             strncmp(f->sent[i].text, "A reminder: ", 12) == 0;
    return n;
}

static void test_reminders_until_answered(void **state)
{
    struct fx *f = fx_new(PB_TEST_DATA "/engine/rules_reminders.conf");
    const int64_t hour = 3600LL * 1000, tokyo_nine = 1804982400000LL;
    f->clock.now = SAT_2027_03_13;
    pb_engine_run(f->engine);
    run_until(f, tokyo_nine + 8 * hour); /* Berlin's 09:00 */
    assert_int_equal(questions_to(f, "tokyo"), 1);
    struct fx_sent *berlin = fx_last_to(f, "berlin");
    char token[PB_TOKEN_MAX], reply[256];
    snprintf(token, sizeof token, "%s", fx_token(berlin, "4"));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, "berlin", token, NULL, reply, sizeof reply),
                     PB_OK);
    uint64_t question = 0;
    for (size_t i = 0; i < f->n_sent && !question; i++)
        if (strcmp(f->sent[i].target, "tokyo") == 0)
            question = f->sent[i].id;
    /* Tokyo's first reminder came two hours after its question. */
    assert_int_equal(reminders_to(f, "tokyo"), 1);
    /* In the question's thread, and saying which question. */
    struct fx_sent *r = NULL;
    for (size_t i = 0; i < f->n_sent; i++)
        if (strcmp(f->sent[i].target, "tokyo") == 0 &&
            strncmp(f->sent[i].text, "A reminder: ", 12) == 0)
            r = &f->sent[i];
    char ref[64];
    snprintf(ref, sizeof ref, "ref-%llu", (unsigned long long)question);
    assert_string_equal(r->thread_ref, ref);
    assert_string_equal(r->text, "A reminder: How was your week?");
    /* A restart neither repeats it nor loses the next one. */
    fx_restart(f);
    run_until(f, tokyo_nine + 20 * hour - 1);
    assert_int_equal(reminders_to(f, "tokyo"), 1);
    run_until(f, tokyo_nine + 20 * hour);
    assert_int_equal(reminders_to(f, "tokyo"), 2);
    run_until(f, tokyo_nine + 23 * hour);
    assert_int_equal(reminders_to(f, "tokyo"), 2); /* two reminders, no more */
    /* Berlin answered before its first reminder and got none. */
    run_until(f, tokyo_nine + 24 * hour);
    assert_int_equal(reminders_to(f, "berlin"), 0);
    assert_int_equal(reminders_to(f, "newyork"), 1); /* 13:00 + 2 h is within the day */
    fx_free(f);
}

static void test_bad_rule_is_a_config_error(void **state)
{
    char path[] = "/tmp/pb-rule-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "connectors = ( { name = \"web\"; type = \"webchat\"; } );\n"
                       "teams = ( { id = \"t\"; } );\n"
                       "people = ( { id = \"p\"; team = \"t\"; away_from = \"2027-02-30\";"
                       " away_until = \"2027-03-02\"; } );\n"
                       "surveys = ( { id = \"s\"; questions = ( { id = \"q\"; type = \"scale\";"
                       " text = \"?\"; } ); } );\n"
                       "schedules = ( { id = \"w\"; survey = \"s\";\n"
                       "  rule = \"FREQ=WEEKLY;BYDAY=XX\"; audience = { teams = [ \"t\" ]; }; },\n"
                       "  { id = \"both\"; survey = \"s\"; every = \"7d\"; rule = \"FREQ=DAILY\";"
                       " audience = { teams = [ \"t\" ]; }; } );\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct pb_config *cfg = NULL;
    struct pb_diag diag = {0};
    assert_int_equal(pb_config_load(path, &cfg, &diag), -1);
    int rule_error = 0, both_error = 0, away_error = 0;
    for (size_t i = 0; i < diag.n; i++) {
        away_error += strstr(diag.lines[i], ":3: person \"p\": away_from: expected a date as "
                                            "YYYY-MM-DD") != NULL;
        rule_error += strstr(diag.lines[i], ":6: schedule \"w\": rule: column") != NULL;
        both_error += strstr(diag.lines[i], "give exactly one of `every`") != NULL;
    }
    assert_int_equal(rule_error, 1);
    assert_int_equal(both_error, 1);
    assert_int_equal(away_error, 1);
    pb_diag_free(&diag);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_zone_at_its_own_nine),
        cmocka_unit_test(test_reminders_until_answered),
        cmocka_unit_test(test_bad_rule_is_a_config_error),
    };
    return cmocka_run_group_tests_name("schedule rules", tests, NULL, NULL);
}

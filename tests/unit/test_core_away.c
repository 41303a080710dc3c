/*
 * Absences (away.c): the roster's dates and the "away"/"back" commands people send the bot.
 * An away person is not asked and not counted as not answering; a command is committed with
 * its confirmation (sent through the outbox); only the exact syntax is a command, and "back"
 * is an answer when a text question is waiting and there is nothing to undo. Days are the
 * person's own, in the time zone the roster or a platform gives.
 */
#include "test_core_fixture.h"

#include "metrics.h"

#define CONFIG PB_TEST_DATA "/engine/audiences.conf"
#define DAY    (24 * 60 * MINUTE)

static int setup(void **state)
{
    pb_metrics_reset();
    *state = fx_new(CONFIG);
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static int text(struct fx *f, const char *user, const char *msg, char *reply, size_t len)
{
    int rc = fx_event(f, PB_EVENT_TEXT, user, NULL, msg, reply, len);
    fx_advance(f, 0);
    return rc;
}

/* Questions (not updates or texts) sent to `user` so far. */
static size_t questions_to(struct fx *f, const char *user)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && f->sent[i].kind == PB_MESSAGE_QUESTION &&
             strcmp(f->sent[i].target, user) == 0;
    return n;
}

static void test_away_command_keeps_a_round_from_asking(void **state)
{
    struct fx *f = *state;
    char reply[256] = "";
    fx_advance(f, 0);
    /* 2027-01-15 in Oslo: away through the 20th. */
    assert_int_equal(text(f, "alice", "away until 2027-01-20", reply, sizeof reply), PB_OK);
    assert_string_equal(reply, "");
    struct fx_sent *m = fx_last_to(f, "alice");
    assert_non_null(m);
    assert_int_equal(m->kind, PB_MESSAGE_TEXT);
    assert_string_equal(m->text, "You are marked away from 2027-01-15 to 2027-01-20 (Europe/Oslo "
                                 "time). Surveys will not ask you on those days. Send \"back\" to "
                                 "undo.");
    assert_int_equal(pb_metrics_get("away_set"), 1);

    fx_advance(f, MINUTE); /* the first round */
    assert_int_equal(questions_to(f, "alice"), 0);
    assert_int_equal(questions_to(f, "tia"), 1);
    assert_int_equal(pb_store_delivery_has_open(f->store, "pulse", "alice"), 0);

    /* Kept in the store: a restart still knows. */
    fx_restart(f);
    const struct pb_cfg_person *alice = pb_config_person(f->cfg, "alice");
    assert_true(pb_away_on(f->engine, alice, FX_START_MS + 2 * DAY));
    assert_false(pb_away_on(f->engine, alice, FX_START_MS + 6 * DAY));

    assert_int_equal(text(f, "alice", "back", reply, sizeof reply), PB_OK);
    assert_string_equal(fx_last_to(f, "alice")->text, "Welcome back. Surveys will ask you again.");
    assert_false(pb_away_on(f->engine, alice, FX_START_MS + 2 * DAY));
    fx_advance(f, 7 * DAY); /* the next round asks her */
    assert_int_equal(questions_to(f, "alice"), 1);
}

static void test_roster_dates(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_advance(f, 0);
    fx_advance(f, MINUTE);
    /* Bob is away 2027-01-14 to 16 in New York: not asked, not a non-respondent. */
    assert_int_equal(questions_to(f, "bob"), 0);
    assert_int_equal(pb_store_delivery_has_open(f->store, "pulse", "bob"), 0);
    /* "back" cannot undo the roster, and says so. */
    assert_int_equal(text(f, "bob", "back", reply, sizeof reply), PB_ERR_DONE);
    assert_string_equal(reply, "The roster has you away from 2027-01-14 to 2027-01-16; ask whoever "
                               "keeps it to change that.");
    assert_int_equal(text(f, "alice", "back", reply, sizeof reply), PB_ERR_DONE);
    assert_string_equal(reply, "You were not marked away.");
    fx_advance(f, 7 * DAY);
    assert_int_equal(questions_to(f, "bob"), 1);
}

static void test_only_the_exact_syntax_is_a_command(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_advance(f, 0);
    size_t sent = f->n_sent;
    /* Not commands: they go on as texts, and nobody asked alice anything. */
    assert_int_equal(text(f, "alice", "away next week", reply, sizeof reply), PB_ERR_UNKNOWN);
    assert_string_equal(reply, "There is no open question for you right now.");
    assert_int_equal(text(f, "alice", "away until 2027-01-20 please", reply, sizeof reply),
                     PB_ERR_UNKNOWN);
    assert_int_equal(text(f, "alice", "going away 2027-01-20", reply, sizeof reply),
                     PB_ERR_UNKNOWN);
    assert_int_equal(f->n_sent, sent);
    /* Commands with a bad day: said so, nothing kept, and the person's text is not echoed. */
    assert_int_equal(text(f, "alice", "away 2027-02-30", reply, sizeof reply), PB_ERR_INVALID);
    assert_string_equal(reply, "That is not a date in the calendar; write it as YYYY-MM-DD.");
    assert_int_equal(text(f, "alice", "away until 2027-01-10", reply, sizeof reply),
                     PB_ERR_INVALID);
    assert_string_equal(reply,
                        "That day has passed. Send, for example, \"away until 2027-01-22\".");
    assert_int_equal(text(f, "alice", "away 2027-01-22 to 2027-01-20", reply, sizeof reply),
                     PB_ERR_INVALID);
    assert_int_equal(text(f, "alice", "away until 2028-06-01", reply, sizeof reply),
                     PB_ERR_INVALID);
    assert_int_equal(f->n_sent, sent);
    /* Case and blanks do not matter; one day alone is a span of one day. */
    assert_int_equal(text(f, "alice", "  Away   2027-01-21   TO 2027-01-23 ", reply, sizeof reply),
                     PB_OK);
    assert_string_equal(fx_last_to(f, "alice")->text,
                        "You are marked away from 2027-01-21 to 2027-01-23 (Europe/Oslo time). "
                        "Surveys will not ask you on those days. Send \"back\" to undo.");
    assert_int_equal(text(f, "alice", "AWAY 2027-01-25", reply, sizeof reply), PB_OK);
    assert_string_equal(fx_last_to(f, "alice")->text,
                        "You are marked away on 2027-01-25 (Europe/Oslo time). Surveys will not "
                        "ask you that day. Send \"back\" to undo.");
    const struct pb_cfg_person *alice = pb_config_person(f->cfg, "alice");
    assert_false(pb_away_on(f->engine, alice, FX_START_MS + 7 * DAY)); /* the 22nd */
    assert_true(pb_away_on(f->engine, alice, FX_START_MS + 10 * DAY)); /* the 25th */
}

static void test_back_is_an_answer_when_a_text_question_waits(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_advance(f, 0);
    fx_advance(f, MINUTE);
    struct fx_sent *q = fx_last_to(f, "tia");
    assert_non_null(q);
    char token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(q, "1"));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, "tia", token, NULL, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
    assert_string_equal(fx_last_to(f, "tia")->text, "What made it hard?");
    /* An away command is a command even now, and the question stays open. */
    assert_int_equal(text(f, "tia", "away 2027-01-30", reply, sizeof reply), PB_OK);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_for(f->store, "web", "tia", &d), PB_OK);
    assert_string_equal(d.step, "hard");
    /* With an absence set, "back" undoes it... */
    assert_int_equal(text(f, "tia", "back", reply, sizeof reply), PB_OK);
    assert_int_equal(pb_store_delivery_open_for(f->store, "web", "tia", &d), PB_OK);
    /* ...and with nothing to undo, it is the answer. */
    assert_int_equal(text(f, "tia", "back", reply, sizeof reply), PB_OK);
    struct pb_answer a = {0};
    assert_int_equal(pb_store_answer_get(f->store, d.id, "hard", &a), PB_OK);
    assert_string_equal(a.text, "back");
    pb_answer_clear(&a);
}

static void test_days_follow_a_zone_the_platform_reported(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_advance(f, 0);
    const struct pb_cfg_person *tia = pb_config_person(f->cfg, "tia");
    assert_null(pb_roster_timezone(f->engine->roster, tia));
    /* A zone the system does not know is ignored; a later good one is not taken over the
     * first answer (one lookup per connector). */
    struct pb_roster_found bad = {.user = "TIA", .timezone = "Mars/Base", .locale = "ja-JP"};
    assert_int_equal(pb_roster_learn_found(f->engine->roster, "refuse", tia, &bad), PB_OK);
    assert_null(pb_roster_timezone(f->engine->roster, tia));
    assert_string_equal(pb_roster_locale(f->engine->roster, tia), "ja-JP");
    pb_roster_free(f->engine->roster);
    assert_int_equal(pb_roster_build(f->cfg, &f->engine->roster), PB_OK);
    struct pb_roster_found good = {.user = "TIA", .timezone = "Asia/Tokyo", .locale = "x y"};
    assert_int_equal(pb_roster_learn_found(f->engine->roster, "refuse", tia, &good), PB_OK);
    assert_string_equal(pb_roster_timezone(f->engine->roster, tia), "Asia/Tokyo");
    assert_null(pb_roster_locale(f->engine->roster, tia)); /* not a language tag */
    /* The roster's own zone wins over a reported one. */
    const struct pb_cfg_person *alice = pb_config_person(f->cfg, "alice");
    struct pb_roster_found other = {.user = "AL", .timezone = "Asia/Tokyo"};
    pb_roster_learn_found(f->engine->roster, "refuse", alice, &other);
    assert_string_equal(pb_roster_timezone(f->engine->roster, alice), "Europe/Oslo");

    /* 2027-01-15 08:00 UTC is 17:00 in Tokyo; 16:00 UTC is already the 16th there. */
    assert_int_equal(text(f, "tia", "away 2027-01-16", reply, sizeof reply), PB_OK);
    assert_string_equal(fx_last_to(f, "tia")->text,
                        "You are marked away on 2027-01-16 (Asia/Tokyo time). Surveys will not "
                        "ask you that day. Send \"back\" to undo.");
    assert_false(pb_away_on(f->engine, tia, FX_START_MS));
    assert_true(pb_away_on(f->engine, tia, FX_START_MS + 8 * 60 * MINUTE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_away_command_keeps_a_round_from_asking, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_roster_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_only_the_exact_syntax_is_a_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_back_is_an_answer_when_a_text_question_waits, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_days_follow_a_zone_the_platform_reported, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Schema v6 in the store: a delivery that could not reach its person ends UNREACHABLE with
 * the reason (compare-and-set, finished, no longer open, no reminders), tallies tell it from
 * "did not answer", and the absences people set by chat are kept one per person.
 */
#include "test_store_helpers.h"

#include "store_internal.h"

static void test_unreachable_transition(void **state)
{
    struct store_fixture *f = *state;
    int64_t id = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_PENDING, "q1", TEST_START_MS + 1);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_get(f->s, id, &d), PB_OK);
    d.next_reminder_ms = TEST_START_MS + 10;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_PENDING), PB_OK);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 1);

    /* Only from the state it names. */
    assert_int_equal(pb_store_delivery_unreachable(f->s, id, PB_DELIVERY_SENT, "x", 5),
                     PB_ERR_DONE);
    assert_int_equal(pb_store_delivery_unreachable(f->s, id + 50, PB_DELIVERY_PENDING, "x", 5),
                     PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_delivery_unreachable(f->s, id, PB_DELIVERY_COMPLETED, "x", 5),
                     PB_ERR_INVALID);
    assert_int_equal(pb_store_delivery_unreachable(f->s, id, PB_DELIVERY_PENDING,
                                                   "slack: user_disabled", TEST_START_MS + 7),
                     PB_OK);
    assert_int_equal(pb_store_delivery_get(f->s, id, &d), PB_OK);
    assert_int_equal(d.state, PB_DELIVERY_UNREACHABLE);
    assert_string_equal(d.reason, "slack: user_disabled");
    assert_string_equal(d.step, "");
    assert_int_equal(d.finished_ms, TEST_START_MS + 7);
    assert_int_equal(d.next_reminder_ms, 0);
    /* Finished: not open, not expiring, no reminder, and a second try changes nothing. */
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 0);
    int64_t ms;
    assert_int_equal(pb_store_delivery_next_expiry(f->s, &ms), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_delivery_next_reminder(f->s, &ms), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_delivery_unreachable(f->s, id, PB_DELIVERY_PENDING, "x", 5),
                     PB_ERR_DONE);
}

static void test_insert_unreachable_with_reason(void **state)
{
    struct store_fixture *f = *state;
    struct pb_delivery d, g;
    memset(&d, 0, sizeof d);
    SET(d.survey, "pulse");
    SET(d.person, "bob");
    d.state = PB_DELIVERY_UNREACHABLE;
    memset(d.reason, 'r', sizeof d.reason); /* no NUL: bound by the field's size */
    assert_int_equal(pb_store_delivery_insert(f->s, &d), PB_OK);
    assert_int_equal(pb_store_delivery_get(f->s, d.id, &g), PB_OK);
    assert_int_equal(g.state, PB_DELIVERY_UNREACHABLE);
    assert_int_equal(strlen(g.reason), sizeof g.reason - 1);
    /* The schema still refuses states that do not exist. */
    d.state = (enum pb_delivery_state)6;
    assert_int_equal(pb_store_delivery_insert(f->s, &d), PB_ERR_INVALID);
}

static void test_tally(void **state)
{
    struct store_fixture *f = *state;
    add_delivery(f->s, "pulse", "a", PB_DELIVERY_SENT, "q1", 0);
    add_delivery(f->s, "pulse", "b", PB_DELIVERY_COMPLETED, "", 0);
    add_delivery(f->s, "pulse", "c", PB_DELIVERY_EXPIRED, "", 0);
    add_delivery(f->s, "pulse", "d", PB_DELIVERY_EXPIRED, "", 0);
    add_delivery(f->s, "pulse", "e", PB_DELIVERY_UNREACHABLE, "", 0);
    add_delivery(f->s, "other", "e", PB_DELIVERY_UNREACHABLE, "", 0);
    f->clock.now += 1000;
    add_delivery(f->s, "pulse", "late", PB_DELIVERY_UNREACHABLE, "", 0);
    struct pb_delivery_tally t;
    assert_int_equal(pb_store_delivery_tally(f->s, "pulse", TEST_START_MS, TEST_START_MS + 1, &t),
                     PB_OK);
    assert_int_equal(t.open, 1);
    assert_int_equal(t.completed, 1);
    assert_int_equal(t.expired, 2);
    assert_int_equal(t.unreachable, 1);
    assert_int_equal(pb_store_delivery_tally(f->s, "pulse", 0, INT64_MAX, &t), PB_OK);
    assert_int_equal(t.unreachable, 2);
}

struct collected {
    char people[4][64];
    int64_t first[4], last[4];
    int n;
};

static int collect(void *arg, const struct pb_away_span *a)
{
    struct collected *c = arg;
    snprintf(c->people[c->n], sizeof c->people[0], "%s", a->person);
    c->first[c->n] = a->first_day;
    c->last[c->n++] = a->last_day;
    return c->n == 4;
}

static void test_away_spans(void **state)
{
    struct store_fixture *f = *state;
    struct pb_away_span a = {.first_day = 100, .last_day = 110, .set_ms = 1};
    SET(a.person, "zed");
    assert_int_equal(pb_store_away_put(f->s, &a), PB_OK);
    SET(a.person, "amy");
    assert_int_equal(pb_store_away_put(f->s, &a), PB_OK);
    a.first_day = 120;
    a.last_day = 121; /* replaces amy's */
    assert_int_equal(pb_store_away_put(f->s, &a), PB_OK);
    a.last_day = 119;
    assert_int_equal(pb_store_away_put(f->s, &a), PB_ERR_INVALID);

    struct collected c = {0};
    assert_int_equal(pb_store_away_scan(f->s, collect, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.people[0], "amy");
    assert_int_equal(c.first[0], 120);
    assert_int_equal(c.last[0], 121);
    assert_string_equal(c.people[1], "zed");

    fixture_reopen(f); /* kept across a restart */
    assert_int_equal(pb_store_away_delete(f->s, "amy"), PB_OK);
    assert_int_equal(pb_store_away_delete(f->s, "amy"), PB_ERR_UNKNOWN);
    memset(&c, 0, sizeof c);
    assert_int_equal(pb_store_away_scan(f->s, collect, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.people[0], "zed");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unreachable_transition, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_insert_unreachable_with_reason, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_tally, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_away_spans, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Alerts: insert and read back, comments, the alerts of a delivery, and every transition of
 * the state machine, valid and invalid, with who did it and when.
 */
#include "test_store_helpers.h"

static int64_t add_alert(struct pb_store *s, int64_t delivery, const char *comment,
                         enum pb_alert_state st)
{
    struct pb_alert a;
    memset(&a, 0, sizeof a);
    a.delivery_id = delivery;
    SET(a.rule, "low-score");
    SET(a.team, "support");
    SET(a.connector, "slack");
    SET(a.channel, "C-support");
    a.state = st;
    SET(a.survey, "csat");
    SET(a.question, "q1");
    a.score = 1;
    a.scale_min = 1;
    a.scale_max = 5;
    a.comment = (char *)comment;
    SET(a.subject, "customer 42");
    SET(a.group_key, "customer:42");
    a.outbox_id = 31;
    assert_int_equal(pb_store_alert_insert(s, &a), PB_OK);
    assert_true(a.id > 0);
    return a.id;
}

static void test_insert_get(void **state)
{
    struct store_fixture *f = *state;
    int64_t d = add_delivery(f->s, "csat", "cust42", PB_DELIVERY_ANSWERING, "q2", 0);
    assert_int_equal(pb_store_alert_count(f->s), 0);
    int64_t id = add_alert(f->s, d, "slow reply", PB_ALERT_OPEN);
    assert_int_equal(pb_store_alert_count(f->s), 1);

    struct pb_alert g;
    assert_int_equal(pb_store_alert_get(f->s, id, &g), PB_OK);
    assert_int_equal(g.id, id);
    assert_int_equal(g.delivery_id, d);
    assert_int_equal(g.answer_id, 0);
    assert_string_equal(g.rule, "low-score");
    assert_string_equal(g.team, "support");
    assert_string_equal(g.connector, "slack");
    assert_string_equal(g.channel, "C-support");
    assert_int_equal(g.state, PB_ALERT_OPEN);
    assert_string_equal(g.survey, "csat");
    assert_string_equal(g.question, "q1");
    assert_int_equal(g.score, 1);
    assert_int_equal(g.scale_min, 1);
    assert_int_equal(g.scale_max, 5);
    assert_string_equal(g.comment, "slow reply");
    assert_string_equal(g.subject, "customer 42");
    assert_int_equal(g.outbox_id, 31);
    assert_int_equal(g.created_ms, TEST_START_MS);
    assert_string_equal(g.ack_by, "");
    assert_int_equal(g.ack_ms, 0);
    assert_string_equal(g.resolved_by, "");
    assert_int_equal(g.resolved_ms, 0);
    pb_alert_clear(&g);
    assert_null(g.comment);

    assert_int_equal(pb_store_alert_get(f->s, id + 1, &g), PB_ERR_UNKNOWN);

    /* An alert may stand without a delivery, but not name one that does not exist. */
    struct pb_alert a;
    memset(&a, 0, sizeof a);
    SET(a.team, "support");
    assert_int_equal(pb_store_alert_insert(f->s, &a), PB_OK);
    a.delivery_id = 999;
    assert_int_equal(pb_store_alert_insert(f->s, &a), PB_ERR_UNKNOWN);
    a.delivery_id = 0;
    a.answer_id = 999;
    assert_int_equal(pb_store_alert_insert(f->s, &a), PB_ERR_UNKNOWN);
    a.answer_id = 0;
    a.state = (enum pb_alert_state)7;
    assert_int_equal(pb_store_alert_insert(f->s, &a), PB_ERR_INVALID);
    assert_int_equal(pb_store_alert_count(f->s), 2);
}

static void test_comment(void **state)
{
    struct store_fixture *f = *state;
    int64_t id = add_alert(f->s, 0, NULL, PB_ALERT_OPEN);
    struct pb_alert g;
    assert_int_equal(pb_store_alert_get(f->s, id, &g), PB_OK);
    assert_null(g.comment);
    pb_alert_clear(&g);

    assert_int_equal(pb_store_alert_set_comment(f->s, id, "called them back"), PB_OK);
    assert_int_equal(pb_store_alert_get(f->s, id, &g), PB_OK);
    assert_string_equal(g.comment, "called them back");
    pb_alert_clear(&g);

    assert_int_equal(pb_store_alert_set_comment(f->s, id, NULL), PB_OK);
    assert_int_equal(pb_store_alert_get(f->s, id, &g), PB_OK);
    assert_null(g.comment);
    pb_alert_clear(&g);

    assert_int_equal(pb_store_alert_set_comment(f->s, id + 5, "x"), PB_ERR_UNKNOWN);
}

static void test_set_outbox(void **state)
{
    struct store_fixture *f = *state;
    int64_t id = add_alert(f->s, 0, "c", PB_ALERT_OPEN);
    int64_t other = add_alert(f->s, 0, NULL, PB_ALERT_OPEN);
    assert_int_equal(pb_store_alert_set_outbox(f->s, id, 444), PB_OK);
    struct pb_alert g;
    assert_int_equal(pb_store_alert_get(f->s, id, &g), PB_OK);
    assert_int_equal(g.outbox_id, 444);
    assert_string_equal(g.comment, "c");
    pb_alert_clear(&g);
    assert_int_equal(pb_store_alert_get(f->s, other, &g), PB_OK);
    assert_int_equal(g.outbox_id, 31);
    pb_alert_clear(&g);
    assert_int_equal(pb_store_alert_set_outbox(f->s, other + 1, 1), PB_ERR_UNKNOWN);
}

static void test_for_delivery(void **state)
{
    struct store_fixture *f = *state;
    int64_t d1 = add_delivery(f->s, "csat", "c1", PB_DELIVERY_ANSWERING, "q2", 0);
    int64_t d2 = add_delivery(f->s, "csat", "c2", PB_DELIVERY_ANSWERING, "q2", 0);
    int64_t a1 = add_alert(f->s, d1, "one", PB_ALERT_OPEN);
    add_alert(f->s, d2, "other", PB_ALERT_OPEN);
    int64_t a2 = add_alert(f->s, d1, NULL, PB_ALERT_OPEN);
    int64_t a3 = add_alert(f->s, d1, "three", PB_ALERT_OPEN);

    struct pb_alert out[4];
    size_t n = 99;
    assert_int_equal(pb_store_alert_for_delivery(f->s, d1, out, 4, &n), PB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].id, a1);
    assert_string_equal(out[0].comment, "one");
    assert_int_equal(out[1].id, a2);
    assert_null(out[1].comment);
    assert_int_equal(out[2].id, a3);
    for (size_t i = 0; i < n; i++)
        pb_alert_clear(&out[i]);

    assert_int_equal(pb_store_alert_for_delivery(f->s, d1, out, 2, &n), PB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].id, a2);
    for (size_t i = 0; i < n; i++)
        pb_alert_clear(&out[i]);

    assert_int_equal(pb_store_alert_for_delivery(f->s, d2 + 10, out, 4, &n), PB_OK);
    assert_int_equal(n, 0);
}

static void expect_state(struct pb_store *s, int64_t id, enum pb_alert_state st, const char *ack_by,
                         int64_t ack_ms, const char *res_by, int64_t res_ms)
{
    struct pb_alert g;
    assert_int_equal(pb_store_alert_get(s, id, &g), PB_OK);
    assert_int_equal(g.state, st);
    assert_string_equal(g.ack_by, ack_by);
    assert_int_equal(g.ack_ms, ack_ms);
    assert_string_equal(g.resolved_by, res_by);
    assert_int_equal(g.resolved_ms, res_ms);
    pb_alert_clear(&g);
}

static void test_transitions(void **state)
{
    struct store_fixture *f = *state;
    struct pb_store *s = f->s;

    /* OPEN -> ACKNOWLEDGED -> RESOLVED: the acknowledgement is kept. */
    int64_t a = add_alert(s, 0, NULL, PB_ALERT_OPEN);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_OPEN, "x", 5), PB_ERR_INVALID);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_ACKNOWLEDGED, "ann", 10), PB_OK);
    expect_state(s, a, PB_ALERT_ACKNOWLEDGED, "ann", 10, "", 0);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_ACKNOWLEDGED, "bob", 11),
                     PB_ERR_DONE);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_OPEN, "bob", 11), PB_ERR_INVALID);
    expect_state(s, a, PB_ALERT_ACKNOWLEDGED, "ann", 10, "", 0);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_RESOLVED, "bob", 20), PB_OK);
    expect_state(s, a, PB_ALERT_RESOLVED, "ann", 10, "bob", 20);

    /* RESOLVED -> anything is "already done", and changes nothing. */
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_ACKNOWLEDGED, "cy", 30), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_RESOLVED, "cy", 30), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_OPEN, "cy", 30), PB_ERR_DONE);
    expect_state(s, a, PB_ALERT_RESOLVED, "ann", 10, "bob", 20);

    /* OPEN -> RESOLVED also records the acknowledgement. */
    int64_t b = add_alert(s, 0, NULL, PB_ALERT_OPEN);
    assert_int_equal(pb_store_alert_transition(s, b, PB_ALERT_RESOLVED, "dee", 40), PB_OK);
    expect_state(s, b, PB_ALERT_RESOLVED, "dee", 40, "dee", 40);
    assert_int_equal(pb_store_alert_transition(s, b, PB_ALERT_ACKNOWLEDGED, "dee", 41),
                     PB_ERR_DONE);

    /* No such alert. */
    assert_int_equal(pb_store_alert_transition(s, b + 100, PB_ALERT_ACKNOWLEDGED, "e", 1),
                     PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_alert_transition(s, b + 100, PB_ALERT_RESOLVED, "e", 1),
                     PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_alert_transition(s, b + 100, PB_ALERT_OPEN, "e", 1), PB_ERR_UNKNOWN);

    /* A NULL actor is stored as "". */
    int64_t c = add_alert(s, 0, NULL, PB_ALERT_OPEN);
    assert_int_equal(pb_store_alert_transition(s, c, PB_ALERT_ACKNOWLEDGED, NULL, 50), PB_OK);
    expect_state(s, c, PB_ALERT_ACKNOWLEDGED, "", 50, "", 0);
}

/* The durable timers: due scans, the earliest due time, each level and the resolve SLA taken
 * once by compare-and-set, and nothing due once the alert is acknowledged or resolved. */
static void test_timers(void **state)
{
    struct store_fixture *f = *state;
    int64_t d = add_delivery(f->s, "csat", "cust42", PB_DELIVERY_ANSWERING, "q2", 0);
    int64_t id = add_alert(f->s, d, NULL, PB_ALERT_OPEN);
    int64_t ms = 0;
    assert_int_equal(pb_store_alert_next_due(f->s, &ms), PB_ERR_UNKNOWN);
    struct pb_alert a;
    assert_int_equal(pb_store_alert_get(f->s, id, &a), PB_OK);
    assert_int_equal(a.group_count, 1);
    a.esc_due_ms = TEST_START_MS + 1000;
    a.resolve_deadline_ms = TEST_START_MS + 5000;
    a.ack_deadline_ms = TEST_START_MS + 1000;
    assert_int_equal(pb_store_alert_move(f->s, &a, "support"), PB_OK);
    assert_int_equal(pb_store_alert_move(f->s, &a, "nobody"), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_next_due(f->s, &ms), PB_OK);
    assert_int_equal(ms, TEST_START_MS + 1000);
    struct pb_alert due[4];
    size_t n = 9;
    assert_int_equal(pb_store_alert_due(f->s, TEST_START_MS + 999, due, 4, &n), PB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(pb_store_alert_due(f->s, TEST_START_MS + 1000, due, 4, &n), PB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(due[0].esc_due_ms, TEST_START_MS + 1000);
    pb_alert_clear(&due[0]);
    /* Level 0 fires once; a second attempt from the same level changes nothing. */
    assert_int_equal(pb_store_alert_escalated(f->s, id, 0, TEST_START_MS + 3000), PB_OK);
    assert_int_equal(pb_store_alert_escalated(f->s, id, 0, TEST_START_MS + 3000), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_next_due(f->s, &ms), PB_OK);
    assert_int_equal(ms, TEST_START_MS + 3000);
    /* Acknowledged: no more levels, but the resolve SLA still counts, once. */
    assert_int_equal(pb_store_alert_transition(f->s, id, PB_ALERT_ACKNOWLEDGED, "mia", 2), PB_OK);
    assert_int_equal(pb_store_alert_next_due(f->s, &ms), PB_OK);
    assert_int_equal(ms, TEST_START_MS + 5000);
    assert_int_equal(pb_store_alert_escalated(f->s, id, 1, 0), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_set_overdue(f->s, id), PB_OK);
    assert_int_equal(pb_store_alert_set_overdue(f->s, id), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_next_due(f->s, &ms), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_alert_due(f->s, TEST_START_MS + 9999, due, 4, &n), PB_OK);
    assert_int_equal(n, 0);

    /* Grouping finds only unresolved alerts of the rule and group key within the window. */
    assert_int_equal(pb_store_alert_get(f->s, id, &a), PB_OK);
    assert_int_equal(a.esc_level, 1);
    assert_int_equal(a.resolve_overdue, 1);
    pb_alert_clear(&a);
    struct pb_alert g;
    assert_int_equal(pb_store_alert_group_find(f->s, "low-score", "customer:42", TEST_START_MS, &g),
                     PB_OK);
    assert_int_equal(g.id, id);
    pb_alert_clear(&g);
    assert_int_equal(
        pb_store_alert_group_find(f->s, "low-score", "customer:42", TEST_START_MS + 1, &g),
        PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_alert_group_find(f->s, "other", "customer:42", 0, &g),
                     PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_alert_group_find(f->s, "low-score", "customer:43", 0, &g),
                     PB_ERR_UNKNOWN);
    /* An alert without a key groups nothing. */
    assert_int_equal(pb_store_alert_group_find(f->s, "low-score", "", 0, &g), PB_ERR_UNKNOWN);
    int64_t d2 = add_delivery(f->s, "csat", "cust43", PB_DELIVERY_ANSWERING, "q2", 0);
    assert_int_equal(pb_store_alert_member_add(f->s, id, d2, 0), PB_OK);
    assert_int_equal(pb_store_alert_grouped(f->s, id, 2), PB_OK);
    struct pb_alert mine[2];
    assert_int_equal(pb_store_alert_for_delivery(f->s, d2, mine, 2, &n), PB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(mine[0].group_count, 2);
    assert_int_equal(mine[0].last_score, 2);
    pb_alert_clear(&mine[0]);
    assert_int_equal(pb_store_alert_transition(f->s, id, PB_ALERT_RESOLVED, "mia", 3), PB_OK);
    assert_int_equal(pb_store_alert_set_resolution(f->s, id, "fixed", "done"), PB_OK);
    assert_int_equal(pb_store_alert_group_find(f->s, "low-score", "customer:42", 0, &g),
                     PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_alert_set_menu(f->s, id, 1), PB_ERR_DONE);
    assert_int_equal(pb_store_alert_get(f->s, id, &a), PB_OK);
    assert_string_equal(a.resolve_reason, "fixed");
    assert_string_equal(a.resolve_note, "done");
    pb_alert_clear(&a);

    struct pb_alert_event ev = {.alert_id = id, .at_ms = 7};
    snprintf(ev.kind, sizeof ev.kind, "resolved");
    snprintf(ev.actor, sizeof ev.actor, "mia");
    assert_int_equal(pb_store_alert_event_add(f->s, &ev), PB_OK);
    ev.alert_id = id + 100;
    assert_int_equal(pb_store_alert_event_add(f->s, &ev), PB_ERR_UNKNOWN); /* foreign key */
    struct pb_alert_event out[2];
    assert_int_equal(pb_store_alert_events(f->s, id, out, 2, &n), PB_OK);
    assert_int_equal(n, 1);
    assert_string_equal(out[0].actor, "mia");
    assert_int_equal(out[0].at_ms, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_comment, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_set_outbox, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_for_delivery, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_transitions, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_timers, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

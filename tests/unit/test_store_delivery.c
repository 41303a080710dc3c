/*
 * Deliveries: insert and read back every field, truncation-safe copies, the compare-and-set
 * update, and the queries the survey module asks (waiting for text, already open, expired,
 * next expiry).
 */
#include "test_store_helpers.h"

#include "store_internal.h"

static void test_insert_get(void **state)
{
    struct store_fixture *f = *state;
    struct pb_delivery d, g;
    memset(&d, 0, sizeof d);
    SET(d.survey, "pulse");
    SET(d.schedule, "weekly");
    d.round = 12;
    SET(d.person, "alice");
    SET(d.connector, "slack");
    SET(d.address, "U123");
    d.state = PB_DELIVERY_PENDING;
    SET(d.step, "q1");
    d.step_outbox_id = 77;
    d.expires_ms = TEST_START_MS + 1000;
    assert_int_equal(pb_store_delivery_insert(f->s, &d), PB_OK);
    assert_true(d.id > 0);
    assert_int_equal(d.created_ms, TEST_START_MS); /* from the fake clock */

    assert_int_equal(pb_store_delivery_get(f->s, d.id, &g), PB_OK);
    assert_int_equal(g.id, d.id);
    assert_string_equal(g.survey, "pulse");
    assert_string_equal(g.schedule, "weekly");
    assert_int_equal(g.round, 12);
    assert_string_equal(g.person, "alice");
    assert_string_equal(g.connector, "slack");
    assert_string_equal(g.address, "U123");
    assert_int_equal(g.state, PB_DELIVERY_PENDING);
    assert_string_equal(g.step, "q1");
    assert_int_equal(g.step_outbox_id, 77);
    assert_int_equal(g.created_ms, TEST_START_MS);
    assert_int_equal(g.sent_ms, 0);
    assert_int_equal(g.expires_ms, TEST_START_MS + 1000);
    assert_int_equal(g.finished_ms, 0);

    assert_int_equal(pb_store_delivery_get(f->s, d.id + 100, &g), PB_ERR_UNKNOWN);

    /* Ids are never reused, even after the newest row is gone: they are inside tokens. */
    int64_t second = add_delivery(f->s, "pulse", "bob", PB_DELIVERY_PENDING, "", 0);
    assert_true(second > d.id);
    assert_int_equal(sqlite3_exec(f->s->db, "DELETE FROM deliveries", NULL, NULL, NULL), SQLITE_OK);
    assert_true(add_delivery(f->s, "pulse", "bob", PB_DELIVERY_PENDING, "", 0) > second);
}

static void test_field_without_nul(void **state)
{
    struct store_fixture *f = *state;
    struct pb_delivery d, g;
    memset(&d, 0, sizeof d);
    memset(d.survey, 'x', sizeof d.survey); /* no terminating NUL */
    /* 62 ASCII bytes then a two-byte character filling the field exactly, no NUL. */
    memset(d.person, 'a', 62);
    d.person[62] = (char)0xc3;
    d.person[63] = (char)0xa9;
    SET(d.connector, "chat");
    SET(d.address, "A");
    assert_int_equal(pb_store_delivery_insert(f->s, &d), PB_OK);
    assert_int_equal(pb_store_delivery_get(f->s, d.id, &g), PB_OK);
    assert_int_equal(strlen(g.survey), sizeof g.survey - 1);
    /* The split character is left out rather than cut in half. */
    assert_int_equal(strlen(g.person), 62);
    assert_int_equal(g.person[61], 'a');
    assert_string_equal(g.connector, "chat");
}

static void test_update_cas(void **state)
{
    struct store_fixture *f = *state;
    int64_t id = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_PENDING, "q1", 0);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_get(f->s, id, &d), PB_OK);

    d.state = PB_DELIVERY_SENT;
    d.sent_ms = TEST_START_MS + 5;
    d.step_outbox_id = 9;
    SET(d.survey, "changed"); /* not part of an update */
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_PENDING), PB_OK);
    /* The same move again: the row is no longer PENDING. */
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_PENDING), PB_ERR_DONE);

    struct pb_delivery g;
    assert_int_equal(pb_store_delivery_get(f->s, id, &g), PB_OK);
    assert_int_equal(g.state, PB_DELIVERY_SENT);
    assert_int_equal(g.sent_ms, TEST_START_MS + 5);
    assert_int_equal(g.step_outbox_id, 9);
    assert_string_equal(g.survey, "pulse");

    d.state = PB_DELIVERY_ANSWERING;
    SET(d.step, "q2");
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_SENT), PB_OK);
    d.state = PB_DELIVERY_COMPLETED;
    SET(d.step, "");
    d.finished_ms = TEST_START_MS + 50;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_SENT), PB_ERR_DONE);
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_ANSWERING), PB_OK);
    assert_int_equal(pb_store_delivery_get(f->s, id, &g), PB_OK);
    assert_int_equal(g.state, PB_DELIVERY_COMPLETED);
    assert_string_equal(g.step, "");
    assert_int_equal(g.finished_ms, TEST_START_MS + 50);
    /* A finished delivery does not move on a replay. */
    d.state = PB_DELIVERY_EXPIRED;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_ANSWERING), PB_ERR_DONE);

    d.id = id + 1000;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_COMPLETED), PB_ERR_UNKNOWN);

    /* A state the schema does not know is refused, and the row keeps its state. */
    d.id = id;
    d.state = (enum pb_delivery_state)9;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_COMPLETED), PB_ERR_INVALID);
    assert_int_equal(pb_store_delivery_get(f->s, id, &g), PB_OK);
    assert_int_equal(g.state, PB_DELIVERY_COMPLETED);
}

static void set_state(struct pb_store *s, int64_t id, enum pb_delivery_state to)
{
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_get(s, id, &d), PB_OK);
    enum pb_delivery_state from = d.state;
    d.state = to;
    assert_int_equal(pb_store_delivery_update(s, &d, from), PB_OK);
}

static void test_open_for(void **state)
{
    struct store_fixture *f = *state;
    struct pb_delivery g;
    assert_int_equal(pb_store_delivery_open_for(f->s, "chat", "U-alice", &g), PB_ERR_UNKNOWN);

    add_delivery(f->s, "s1", "alice", PB_DELIVERY_PENDING, "q1", 0); /* not sent yet */
    add_delivery(f->s, "s2", "alice", PB_DELIVERY_SENT, "", 0);      /* nothing pending */
    int64_t older = add_delivery(f->s, "s3", "alice", PB_DELIVERY_SENT, "q1", 0);
    int64_t newer = add_delivery(f->s, "s4", "alice", PB_DELIVERY_ANSWERING, "q2", 0);
    int64_t done = add_delivery(f->s, "s5", "alice", PB_DELIVERY_SENT, "q1", 0);
    set_state(f->s, done, PB_DELIVERY_COMPLETED);
    add_delivery(f->s, "s6", "bob", PB_DELIVERY_SENT, "q1", 0); /* someone else */

    assert_int_equal(pb_store_delivery_open_for(f->s, "chat", "U-alice", &g), PB_OK);
    assert_int_equal(g.id, newer);
    assert_string_equal(g.step, "q2");

    set_state(f->s, newer, PB_DELIVERY_EXPIRED);
    assert_int_equal(pb_store_delivery_open_for(f->s, "chat", "U-alice", &g), PB_OK);
    assert_int_equal(g.id, older);

    assert_int_equal(pb_store_delivery_open_for(f->s, "slack", "U-alice", &g), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_delivery_open_for(f->s, "chat", "U-carol", &g), PB_ERR_UNKNOWN);
}

static void test_has_open(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 0);
    int64_t id = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_PENDING, "q1", 0);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 1);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "bob"), 0);
    assert_int_equal(pb_store_delivery_has_open(f->s, "other", "alice"), 0);
    set_state(f->s, id, PB_DELIVERY_SENT);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 1);
    set_state(f->s, id, PB_DELIVERY_ANSWERING);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 1);
    set_state(f->s, id, PB_DELIVERY_COMPLETED);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 0);
    id = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_SENT, "q1", 0);
    set_state(f->s, id, PB_DELIVERY_EXPIRED);
    assert_int_equal(pb_store_delivery_has_open(f->s, "pulse", "alice"), 0);
}

static void test_expired_and_next_expiry(void **state)
{
    struct store_fixture *f = *state;
    int64_t ms = -1;
    size_t n = 99;
    struct pb_delivery out[8];
    assert_int_equal(pb_store_delivery_next_expiry(f->s, &ms), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_delivery_expired(f->s, TEST_START_MS * 2, out, 8, &n), PB_OK);
    assert_int_equal(n, 0);

    const int64_t t = TEST_START_MS;
    int64_t c = add_delivery(f->s, "s", "c", PB_DELIVERY_SENT, "q", t + 300);
    int64_t a = add_delivery(f->s, "s", "a", PB_DELIVERY_PENDING, "q", t + 100);
    int64_t b = add_delivery(f->s, "s", "b", PB_DELIVERY_ANSWERING, "q", t + 200);
    int64_t fin = add_delivery(f->s, "s", "d", PB_DELIVERY_SENT, "q", t + 50);
    set_state(f->s, fin, PB_DELIVERY_COMPLETED); /* finished: never expires */
    add_delivery(f->s, "s", "e", PB_DELIVERY_SENT, "q", t + 1000);

    assert_int_equal(pb_store_delivery_next_expiry(f->s, &ms), PB_OK);
    assert_int_equal(ms, t + 100);

    assert_int_equal(pb_store_delivery_expired(f->s, t + 99, out, 8, &n), PB_OK);
    assert_int_equal(n, 0);
    /* expires_ms == now counts, oldest first, finished rows left out. */
    assert_int_equal(pb_store_delivery_expired(f->s, t + 300, out, 8, &n), PB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].id, a);
    assert_int_equal(out[1].id, b);
    assert_int_equal(out[2].id, c);
    assert_int_equal(pb_store_delivery_expired(f->s, t + 300, out, 2, &n), PB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[1].id, b);

    set_state(f->s, a, PB_DELIVERY_EXPIRED);
    assert_int_equal(pb_store_delivery_next_expiry(f->s, &ms), PB_OK);
    assert_int_equal(ms, t + 200);
    assert_int_equal(pb_store_delivery_expired(f->s, t + 300, out, 8, &n), PB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].id, b);
    assert_int_equal(pb_store_delivery_expired(f->s, t, out, 0, &n), PB_OK);
    assert_int_equal(n, 0);
}

static void test_by_outbox(void **state)
{
    struct store_fixture *f = *state;
    struct pb_delivery d, g;
    assert_int_equal(pb_store_delivery_by_outbox(f->s, 5, &g), PB_ERR_UNKNOWN);
    int64_t a = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_PENDING, "q1", 0);
    int64_t b = add_delivery(f->s, "pulse", "bob", PB_DELIVERY_PENDING, "q1", 0);
    assert_int_equal(pb_store_delivery_get(f->s, a, &d), PB_OK);
    d.step_outbox_id = 5;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_PENDING), PB_OK);
    assert_int_equal(pb_store_delivery_get(f->s, b, &d), PB_OK);
    d.step_outbox_id = 6;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_PENDING), PB_OK);

    assert_int_equal(pb_store_delivery_by_outbox(f->s, 5, &g), PB_OK);
    assert_int_equal(g.id, a);
    assert_int_equal(pb_store_delivery_by_outbox(f->s, 6, &g), PB_OK);
    assert_int_equal(g.id, b);
    /* 0 means "no row", never a match for every delivery without one. */
    add_delivery(f->s, "pulse", "carol", PB_DELIVERY_PENDING, "q1", 0);
    assert_int_equal(pb_store_delivery_by_outbox(f->s, 0, &g), PB_ERR_UNKNOWN);

    /* The next question moves the delivery to another row; the old one no longer finds it. */
    assert_int_equal(pb_store_delivery_get(f->s, a, &d), PB_OK);
    d.state = PB_DELIVERY_ANSWERING;
    d.step_outbox_id = 9;
    assert_int_equal(pb_store_delivery_update(f->s, &d, PB_DELIVERY_PENDING), PB_OK);
    assert_int_equal(pb_store_delivery_by_outbox(f->s, 5, &g), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_delivery_by_outbox(f->s, 9, &g), PB_OK);
    assert_int_equal(g.id, a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_field_without_nul, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_update_cas, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_open_for, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_has_open, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_expired_and_next_expiry, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_by_outbox, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

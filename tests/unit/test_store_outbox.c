/*
 * The outbox: rows added pending, due rows per connector in id order filtered by
 * next_attempt_ms, the next due time, and the done/retry/fail settlements with their
 * attempts, errors and the platform's message reference that a later UPDATE row needs.
 */
#include "test_store_helpers.h"

static int64_t add(struct pb_store *s, const char *connector, enum pb_outbox_kind kind, int64_t ref,
                   int64_t next, const char *payload)
{
    struct pb_outbox o;
    memset(&o, 0, sizeof o);
    SET(o.connector, connector);
    o.target_kind = PB_TARGET_PERSON;
    /* Each SEND goes to its own target (named by its payload); an UPDATE to its SEND's. */
    SET(o.target, payload);
    if (kind == PB_OUTBOX_UPDATE && ref) {
        struct pb_outbox r;
        if (pb_store_outbox_get(s, ref, &r) == PB_OK) {
            SET(o.target, r.target);
            pb_outbox_clear(&r);
        }
    }
    o.kind = kind;
    o.ref_id = ref;
    o.payload = (char *)payload;
    o.next_attempt_ms = next;
    o.attempts = 5;           /* ignored: a new row has no attempts */
    o.state = PB_OUTBOX_DONE; /* ignored: a new row is pending */
    assert_int_equal(pb_store_outbox_add(s, &o), PB_OK);
    assert_true(o.id > 0);
    assert_int_equal(o.state, PB_OUTBOX_PENDING);
    assert_int_equal(o.attempts, 0);
    return o.id;
}

static void test_add_get(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(pb_store_outbox_pending(f->s), 0);
    int64_t id = add(f->s, "slack", PB_OUTBOX_SEND, 0, 0, "{\"text\":\"hi\"}");
    assert_int_equal(pb_store_outbox_pending(f->s), 1);

    struct pb_outbox g;
    assert_int_equal(pb_store_outbox_get(f->s, id, &g), PB_OK);
    assert_int_equal(g.id, id);
    assert_string_equal(g.connector, "slack");
    assert_int_equal(g.target_kind, PB_TARGET_PERSON);
    assert_string_equal(g.target, "{\"text\":\"hi\"}");
    assert_int_equal(g.kind, PB_OUTBOX_SEND);
    assert_int_equal(g.ref_id, 0);
    assert_string_equal(g.payload, "{\"text\":\"hi\"}");
    assert_int_equal(g.state, PB_OUTBOX_PENDING);
    assert_int_equal(g.attempts, 0);
    assert_int_equal(g.next_attempt_ms, 0);
    assert_string_equal(g.message_ref, "");
    assert_string_equal(g.error, "");
    assert_int_equal(g.created_ms, TEST_START_MS);
    assert_int_equal(g.done_ms, 0);
    pb_outbox_clear(&g);
    assert_null(g.payload);

    assert_int_equal(pb_store_outbox_get(f->s, id + 1, &g), PB_ERR_UNKNOWN);

    /* An UPDATE must say which SEND it replaces. */
    struct pb_outbox u;
    memset(&u, 0, sizeof u);
    SET(u.connector, "slack");
    u.kind = PB_OUTBOX_UPDATE;
    assert_int_equal(pb_store_outbox_add(f->s, &u), PB_ERR_INVALID);
    assert_int_equal(pb_store_outbox_pending(f->s), 1);
}

static void test_due_order_and_filter(void **state)
{
    struct store_fixture *f = *state;
    const int64_t t = TEST_START_MS;
    int64_t a = add(f->s, "slack", PB_OUTBOX_SEND, 0, t, "a");
    int64_t b = add(f->s, "slack", PB_OUTBOX_SEND, 0, t + 500, "b"); /* later */
    add(f->s, "discord", PB_OUTBOX_SEND, 0, t, "x");                 /* other connector */
    int64_t c = add(f->s, "slack", PB_OUTBOX_SEND, 0, t - 100, "c");
    int64_t d = add(f->s, "slack", PB_OUTBOX_UPDATE, a, t, "d");

    struct pb_outbox out[8];
    size_t n = 99;
    assert_int_equal(pb_store_outbox_due(f->s, "slack", t - 101, out, 8, &n), PB_OK);
    assert_int_equal(n, 0);

    /* Rows due at now, in id order, not by due time; b is not due yet, and d waits behind
     * a, the older row to the same target. */
    assert_int_equal(pb_store_outbox_due(f->s, "slack", t, out, 8, &n), PB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].id, a);
    assert_int_equal(out[1].id, c);
    for (size_t i = 0; i < n; i++)
        pb_outbox_clear(&out[i]);
    /* Once a is settled, d is the head of its target. */
    assert_int_equal(pb_store_outbox_done(f->s, a, "ref-a", t), PB_OK);
    assert_int_equal(pb_store_outbox_due(f->s, "slack", t, out, 8, &n), PB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].id, c);
    assert_int_equal(out[1].id, d);
    assert_string_equal(out[1].payload, "d");
    assert_int_equal(out[1].kind, PB_OUTBOX_UPDATE);
    assert_int_equal(out[1].ref_id, a);
    for (size_t i = 0; i < n; i++)
        pb_outbox_clear(&out[i]);

    assert_int_equal(pb_store_outbox_due(f->s, "slack", t, out, 1, &n), PB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, c);
    for (size_t i = 0; i < n; i++)
        pb_outbox_clear(&out[i]);

    assert_int_equal(pb_store_outbox_due(f->s, "slack", t + 500, out, 8, &n), PB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(out[0].id, b);
    for (size_t i = 0; i < n; i++)
        pb_outbox_clear(&out[i]);

    assert_int_equal(pb_store_outbox_due(f->s, "matrix", t + 500, out, 8, &n), PB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(pb_store_outbox_pending(f->s), 4);
}

static void test_next_due(void **state)
{
    struct store_fixture *f = *state;
    const int64_t t = TEST_START_MS;
    int64_t ms = -1;
    assert_int_equal(pb_store_outbox_next_due(f->s, "slack", &ms), PB_ERR_UNKNOWN);
    int64_t a = add(f->s, "slack", PB_OUTBOX_SEND, 0, t + 300, "a");
    add(f->s, "slack", PB_OUTBOX_SEND, 0, t + 700, "b");
    add(f->s, "discord", PB_OUTBOX_SEND, 0, t + 100, "x");
    assert_int_equal(pb_store_outbox_next_due(f->s, "slack", &ms), PB_OK);
    assert_int_equal(ms, t + 300);
    assert_int_equal(pb_store_outbox_done(f->s, a, "m1", t), PB_OK);
    assert_int_equal(pb_store_outbox_next_due(f->s, "slack", &ms), PB_OK);
    assert_int_equal(ms, t + 700);
    assert_int_equal(pb_store_outbox_next_due(f->s, "discord", &ms), PB_OK);
    assert_int_equal(ms, t + 100);
    assert_int_equal(pb_store_outbox_next_due(f->s, "matrix", &ms), PB_ERR_UNKNOWN);
}

static void test_next_after(void **state)
{
    struct store_fixture *f = *state;
    const int64_t t = TEST_START_MS;
    int64_t ms = -1;
    assert_int_equal(pb_store_outbox_next_after(f->s, "slack", t, &ms), PB_ERR_UNKNOWN);
    add(f->s, "slack", PB_OUTBOX_SEND, 0, t - 50, "due");
    int64_t at_now = add(f->s, "slack", PB_OUTBOX_SEND, 0, t, "due now");
    /* Rows already due do not count: the dispatcher holds them for a reason. */
    assert_int_equal(pb_store_outbox_next_after(f->s, "slack", t, &ms), PB_ERR_UNKNOWN);
    int64_t later = add(f->s, "slack", PB_OUTBOX_SEND, 0, t + 900, "later");
    add(f->s, "slack", PB_OUTBOX_SEND, 0, t + 400, "sooner");
    add(f->s, "discord", PB_OUTBOX_SEND, 0, t + 100, "other connector");
    assert_int_equal(pb_store_outbox_next_after(f->s, "slack", t, &ms), PB_OK);
    assert_int_equal(ms, t + 400);
    assert_int_equal(pb_store_outbox_next_after(f->s, "slack", t + 400, &ms), PB_OK);
    assert_int_equal(ms, t + 900);
    /* Settled rows do not count either. */
    assert_int_equal(pb_store_outbox_fail(f->s, later, "gone", t), PB_OK);
    assert_int_equal(pb_store_outbox_next_after(f->s, "slack", t + 400, &ms), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_outbox_retry(f->s, at_now, t + 600, "429"), PB_OK);
    assert_int_equal(pb_store_outbox_next_after(f->s, "slack", t + 400, &ms), PB_OK);
    assert_int_equal(ms, t + 600);
}

static void test_retry_fail_done(void **state)
{
    struct store_fixture *f = *state;
    const int64_t t = TEST_START_MS;
    int64_t a = add(f->s, "slack", PB_OUTBOX_SEND, 0, t, "a");
    int64_t b = add(f->s, "slack", PB_OUTBOX_SEND, 0, t, "b");
    struct pb_outbox g, out[4];
    size_t n;

    /* Retry: counted, error kept, not due again before its time. */
    assert_int_equal(pb_store_outbox_retry(f->s, a, t + 1000, "HTTP 429"), PB_OK);
    assert_int_equal(pb_store_outbox_retry(f->s, a, t + 2000, "HTTP 503"), PB_OK);
    assert_int_equal(pb_store_outbox_get(f->s, a, &g), PB_OK);
    assert_int_equal(g.state, PB_OUTBOX_PENDING);
    assert_int_equal(g.attempts, 2);
    assert_int_equal(g.next_attempt_ms, t + 2000);
    assert_string_equal(g.error, "HTTP 503");
    pb_outbox_clear(&g);
    assert_int_equal(pb_store_outbox_due(f->s, "slack", t + 1999, out, 4, &n), PB_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].id, b);
    pb_outbox_clear(&out[0]);

    /* Done: the reference is kept for updates, the error cleared. */
    assert_int_equal(pb_store_outbox_done(f->s, a, "1700000000.000100", t + 2001), PB_OK);
    assert_int_equal(pb_store_outbox_get(f->s, a, &g), PB_OK);
    assert_int_equal(g.state, PB_OUTBOX_DONE);
    assert_int_equal(g.attempts, 3);
    assert_string_equal(g.message_ref, "1700000000.000100");
    assert_string_equal(g.error, "");
    assert_int_equal(g.done_ms, t + 2001);
    pb_outbox_clear(&g);

    /* An UPDATE row finds the message it replaces through its ref_id. */
    int64_t u = add(f->s, "slack", PB_OUTBOX_UPDATE, a, t, "closed");
    assert_int_equal(pb_store_outbox_get(f->s, u, &g), PB_OK);
    struct pb_outbox ref;
    assert_int_equal(pb_store_outbox_get(f->s, g.ref_id, &ref), PB_OK);
    assert_string_equal(ref.message_ref, "1700000000.000100");
    pb_outbox_clear(&g);
    pb_outbox_clear(&ref);

    /* Fail: settled for good. */
    assert_int_equal(pb_store_outbox_fail(f->s, b, "user_not_found", t + 5), PB_OK);
    assert_int_equal(pb_store_outbox_get(f->s, b, &g), PB_OK);
    assert_int_equal(g.state, PB_OUTBOX_FAILED);
    assert_int_equal(g.attempts, 1);
    assert_string_equal(g.error, "user_not_found");
    assert_int_equal(g.done_ms, t + 5);
    assert_string_equal(g.message_ref, "");
    pb_outbox_clear(&g);
    assert_int_equal(pb_store_outbox_pending(f->s), 1); /* only u */

    /* A settled row does not settle again; a missing one is unknown. */
    assert_int_equal(pb_store_outbox_done(f->s, a, "other", t), PB_ERR_DONE);
    assert_int_equal(pb_store_outbox_retry(f->s, a, t, "x"), PB_ERR_DONE);
    assert_int_equal(pb_store_outbox_fail(f->s, a, "x", t), PB_ERR_DONE);
    assert_int_equal(pb_store_outbox_done(f->s, b, "late", t), PB_ERR_DONE);
    assert_int_equal(pb_store_outbox_done(f->s, u + 1, "m", t), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_outbox_retry(f->s, u + 1, t, "x"), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_outbox_fail(f->s, u + 1, "x", t), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_outbox_get(f->s, a, &g), PB_OK);
    assert_string_equal(g.message_ref, "1700000000.000100");
    assert_int_equal(g.attempts, 3);
    pb_outbox_clear(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_due_order_and_filter, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_next_due, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_next_after, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_retry_fail_done, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

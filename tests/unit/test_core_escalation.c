/*
 * SLAs and escalation on the fake clock: nothing before the acknowledge SLA runs out, then
 * the reminder, the manager's direct message and the escalation channel, each at its time and
 * each once, across restarts in the middle; acknowledging stops them; the resolve SLA fires
 * once; after downtime the levels that fell due fire in order, once.
 */
#include "test_core_fixture.h"

#define CONFIG PB_TEST_DATA "/engine/alerts.conf"

static int setup(void **state)
{
    *state = fx_new(CONFIG);
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

static size_t titled(struct fx *f, const char *target, const char *title)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && strcmp(f->sent[i].target, target) == 0 &&
             strcmp(f->sent[i].title, title) == 0;
    return n;
}

static void test_levels_fire_once_across_restarts(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "pulse", "alice", 2); /* rule "low": acknowledge within 30 min */
    const int64_t t0 = FX_START_MS;
    assert_int_equal(pb_engine_next_due(f->engine), t0 + 30 * MINUTE);
    fx_advance(f, 29 * MINUTE);
    assert_int_equal(titled(f, "leads", "Reminder"), 0);

    fx_advance(f, MINUTE);
    assert_int_equal(titled(f, "leads", "Reminder"), 1);
    struct fx_sent *r = NULL;
    for (size_t i = 0; i < f->n_sent; i++)
        if (strcmp(f->sent[i].title, "Reminder") == 0)
            r = &f->sent[i];
    assert_int_equal(r->target_kind, PB_TARGET_CHANNEL);
    /* A reply in the alert's thread: the alert's own send reported this reference. */
    char alert_ref[64];
    for (size_t i = 0; i < f->n_sent; i++)
        if (!f->sent[i].update && strcmp(f->sent[i].target, "leads") == 0) {
            snprintf(alert_ref, sizeof alert_ref, "ref-%llu", (unsigned long long)f->sent[i].id);
            break;
        }
    assert_string_equal(r->thread_ref, alert_ref);
    assert_string_equal(r->text, "Nobody has acknowledged a score of 2 of 5 on \"How was your "
                                 "week?\" (Weekly pulse), alert #1 for Support leads within its "
                                 "SLA of 30 min.");
    /* The alert itself says so. */
    struct fx_sent *al = fx_last_to(f, "leads");
    assert_true(al->update);
    assert_string_equal(al->note,
                        "Open: nobody has acknowledged it yet. Not acknowledged within its SLA: "
                        "escalated.");
    assert_int_equal(pb_engine_next_due(f->engine), t0 + 60 * MINUTE);

    /* A restart in the middle: the next level is still known, and the last is not repeated. */
    fx_advance(f, 10 * MINUTE);
    fx_restart(f);
    fx_advance(f, 0); /* a new engine first looks at the outbox */
    assert_int_equal(pb_engine_next_due(f->engine), t0 + 60 * MINUTE);
    assert_int_equal(titled(f, "leads", "Reminder"), 1);
    assert_int_equal(titled(f, "mia", "Escalated to you"), 0);
    fx_advance(f, 20 * MINUTE);
    assert_int_equal(titled(f, "mia", "Escalated to you"), 1);
    struct fx_sent *dm = fx_last_to(f, "mia");
    assert_int_equal(dm->target_kind, PB_TARGET_PERSON);
    assert_non_null(strstr(dm->text, "Nobody in Support leads has acknowledged"));
    assert_null(strstr(dm->text, "Alice")); /* where to look, not who answered */

    fx_restart(f);
    fx_advance(f, 0);
    assert_int_equal(titled(f, "mia", "Escalated to you"), 1);
    assert_int_equal(pb_engine_next_due(f->engine), t0 + 90 * MINUTE);
    fx_advance(f, 30 * MINUTE);
    struct fx_sent *esc = fx_last_to(f, "escalations");
    assert_non_null(esc);
    assert_int_equal(esc->kind, PB_MESSAGE_ALERT);
    assert_int_equal(esc->n_buttons, 0);
    assert_string_equal(
        esc->note, "Escalated: not acknowledged within its SLA of 30 min. Act on it in leads.");
    assert_non_null(strstr(esc->fields, "Score=2 (scale 1 to 5);"));

    /* No level is left; the resolve SLA (1 day) is what comes next, and fires once. */
    assert_int_equal(pb_engine_next_due(f->engine), t0 + 24 * 60 * MINUTE);
    f->clock.now = t0 + 24 * 60 * MINUTE;
    fx_advance(f, 0);
    assert_int_equal(titled(f, "leads", "Overdue"), 1);
    al = fx_last_to(f, "leads");
    assert_true(al->update);
    assert_non_null(strstr(al->note, "Overdue: not resolved within its SLA."));
    fx_restart(f);
    fx_advance(f, 60 * MINUTE);
    assert_int_equal(titled(f, "leads", "Overdue"), 1);
    assert_int_equal(titled(f, "leads", "Reminder"), 1);
    assert_int_equal(titled(f, "escalations", "Low score: 2 of 5"), 1);

    char history[256];
    fx_history(f, 1, history, sizeof history);
    assert_string_equal(history, "raised escalated escalated escalated overdue");
    struct pb_alert_event ev[8];
    size_t n = 0;
    assert_int_equal(pb_store_alert_events(f->store, 1, ev, 8, &n), PB_OK);
    assert_int_equal(ev[1].at_ms, t0 + 30 * MINUTE);
    assert_string_equal(ev[2].detail, "level 2: manager mia");
    assert_int_equal(ev[2].at_ms, t0 + 60 * MINUTE);
    assert_string_equal(ev[3].detail, "level 3: web:escalations");
    assert_int_equal(ev[3].at_ms, t0 + 90 * MINUTE);
}

static void test_acknowledging_stops_escalation(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_answer(f, "pulse", "alice", 2);
    fx_advance(f, 35 * MINUTE);
    assert_int_equal(titled(f, "leads", "Reminder"), 1);
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_int_equal(
        fx_press_on(f, (uint64_t)a.outbox_id, "Acknowledge", "olga", NULL, reply, sizeof reply),
        PB_OK);
    /* Only the resolve SLA is left to wait for. */
    assert_int_equal(pb_engine_next_due(f->engine), FX_START_MS + 24 * 60 * MINUTE);
    fx_advance(f, 3 * 60 * MINUTE);
    assert_int_equal(titled(f, "mia", "Escalated to you"), 0);
    assert_null(fx_last_to(f, "escalations"));
    /* Resolving stops the resolve SLA too. */
    assert_int_equal(fx_press_on(f, (uint64_t)a.outbox_id, "Resolve", "olga", NULL, reply, 256),
                     PB_OK);
    assert_int_equal(fx_press_on(f, (uint64_t)a.outbox_id, "Fixed", "olga", NULL, reply, 256),
                     PB_OK);
    assert_true(pb_engine_next_due(f->engine) > FX_START_MS + 6 * 24 * 60 * MINUTE);
    fx_advance(f, 2 * 24 * 60 * MINUTE);
    assert_int_equal(titled(f, "leads", "Overdue"), 0);
}

static void test_downtime_fires_missed_levels_in_order_once(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "pulse", "alice", 1);
    pb_engine_destroy(f->engine);
    pb_store_close(f->store);
    /* Down for two hours: every level fell due meanwhile. */
    f->clock.now += 2 * 60 * MINUTE;
    fx_open_store(f);
    fx_start_engine(f);
    assert_true(pb_engine_next_due(f->engine) <= f->clock.now);
    size_t before = f->n_sent;
    fx_advance(f, 0);
    const char *order[3] = {NULL, NULL, NULL};
    size_t k = 0;
    for (size_t i = before; i < f->n_sent && k < 3; i++)
        if (!f->sent[i].update)
            order[k++] = f->sent[i].target;
    assert_int_equal(k, 3);
    assert_string_equal(order[0], "leads");
    assert_string_equal(order[1], "mia");
    assert_string_equal(order[2], "escalations");
    fx_restart(f);
    fx_advance(f, MINUTE);
    assert_int_equal(titled(f, "leads", "Reminder"), 1);
    assert_int_equal(titled(f, "mia", "Escalated to you"), 1);
    assert_int_equal(fx_count_to(f, "escalations", 0), 1);
}

static void test_rule_without_sla_never_escalates(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "csat", "carl", 1); /* rule csat-low: no SLA */
    assert_non_null(fx_last_to(f, "csat"));
    assert_true(pb_engine_next_due(f->engine) > FX_START_MS + 6 * 24 * 60 * MINUTE);
    fx_advance(f, 3 * 24 * 60 * MINUTE);
    assert_int_equal(titled(f, "csat", "Reminder"), 0);
    assert_null(fx_last_to(f, "escalations"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_levels_fire_once_across_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acknowledging_stops_escalation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downtime_fires_missed_levels_in_order_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_rule_without_sla_never_escalates, setup, teardown),
    };
    return cmocka_run_group_tests_name("escalation", tests, NULL, NULL);
}

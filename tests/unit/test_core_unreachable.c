/*
 * Deliveries that cannot reach their person (unreachable.c): no handle on any connector, an
 * account a platform found deactivated, or a direct message the platform refused. Each is a
 * finished delivery in state UNREACHABLE with its reason, counted in /metrics apart from
 * expiries, never retried or reminded within its wave, and tried again once by the next wave.
 */
#include "test_core_fixture.h"

#include "metrics.h"

#define CONFIG PB_TEST_DATA "/engine/audiences.conf"
#define DAY    (24 * 60 * MINUTE)

/* The "refuse" connector: every message is refused for good, as for a deleted user. */
struct refuser {
    struct fx *f;
    size_t sends;
};

static int refuse_send(void *self, const struct pb_send *s)
{
    struct refuser *r = self;
    r->sends++;
    struct pb_send_result res = {
        .size = sizeof res, .outcome = PB_SEND_UNREACHABLE, .error = "user_disabled"};
    pb_engine_send_done(r->f->engine, "refuse", s->id, &res);
    return PB_OK;
}

struct state {
    struct fx *f;
    struct refuser r;
};

static void attach_refuser(struct state *st)
{
    struct pb_connector conn = {
        .size = sizeof conn, .self = &st->r, .send = refuse_send, .update = refuse_send};
    assert_int_equal(pb_engine_attach(st->f->engine, "refuse", &conn), PB_OK);
}

static int setup(void **state)
{
    pb_metrics_reset();
    struct state *st = calloc(1, sizeof *st);
    st->f = fx_new(CONFIG);
    st->r.f = st->f;
    attach_refuser(st);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    struct state *st = *state;
    fx_free(st->f);
    free(st);
    return 0;
}

/* Every delivery of `person`, oldest first. */
static size_t deliveries_of(struct fx *f, const char *person, struct pb_delivery *out, size_t max)
{
    size_t n = 0;
    struct pb_delivery d;
    for (int64_t id = 1; id < 200 && n < max; id++)
        if (pb_store_delivery_get(f->store, id, &d) == PB_OK && strcmp(d.person, person) == 0)
            out[n++] = d;
    return n;
}

static void test_no_handle(void **state)
{
    struct fx *f = ((struct state *)*state)->f;
    struct pb_delivery d[4];
    fx_advance(f, 0);
    fx_advance(f, MINUTE);
    assert_int_equal(deliveries_of(f, "nobody", d, 4), 1);
    assert_int_equal(d[0].state, PB_DELIVERY_UNREACHABLE);
    assert_string_equal(d[0].reason, "no handle on any connector");
    assert_string_equal(d[0].schedule, "weekly");
    assert_int_equal(d[0].round, 1);
    assert_true(d[0].finished_ms > 0);
    assert_int_equal(pb_metrics_get("deliveries_unreachable"), 2); /* nobody and zoe */
    /* Not tried again in a loop: the engine runs on through the window, no new rows, no
     * expiry counted for it. */
    for (int i = 0; i < 6; i++)
        fx_advance(f, 12 * 60 * MINUTE);
    assert_int_equal(deliveries_of(f, "nobody", d, 4), 1);
    assert_int_equal(pb_metrics_get("deliveries_unreachable"), 2);
    /* The next wave tries once more. */
    fx_advance(f, 4 * DAY);
    assert_int_equal(deliveries_of(f, "nobody", d, 4), 2);
    assert_int_equal(d[1].round, 2);
    struct pb_delivery_tally t;
    assert_int_equal(pb_store_delivery_tally(f->store, "pulse", 0, INT64_MAX, &t), PB_OK);
    assert_int_equal(t.unreachable, 4);
    assert_true(t.expired >= 2); /* alice and tia did not answer: counted apart */
}

static void test_platform_refused(void **state)
{
    struct state *st = *state;
    struct fx *f = st->f;
    struct pb_delivery d[4];
    fx_advance(f, 0);
    fx_advance(f, MINUTE);
    assert_int_equal(st->r.sends, 1);
    assert_int_equal(deliveries_of(f, "zoe", d, 4), 1);
    assert_int_equal(d[0].state, PB_DELIVERY_UNREACHABLE);
    assert_string_equal(d[0].reason, "refuse refused the message: user_disabled");
    assert_int_equal(d[0].next_reminder_ms, 0);
    struct pb_outbox o;
    assert_int_equal(pb_store_outbox_get(f->store, d[0].step_outbox_id, &o), PB_OK);
    assert_int_equal(o.state, PB_OUTBOX_FAILED);
    pb_outbox_clear(&o);
    /* No reminder and no retry reach the connector for the rest of the window. */
    for (int i = 0; i < 6; i++)
        fx_advance(f, 12 * 60 * MINUTE);
    assert_int_equal(st->r.sends, 1);
    assert_int_equal(pb_store_delivery_get(f->store, d[0].id, &d[1]), PB_OK);
    assert_int_equal(d[1].state, PB_DELIVERY_UNREACHABLE);
    /* Only the first question decides: the next wave sends once more. */
    fx_advance(f, 4 * DAY);
    assert_int_equal(st->r.sends, 2);
}

static void test_deactivated_account(void **state)
{
    struct fx *f = ((struct state *)*state)->f;
    const struct pb_cfg_person *nobody = pb_config_person(f->cfg, "nobody");
    struct pb_roster_found gone = {.user = "UGONE", .unreachable = 1};
    assert_int_equal(pb_roster_learn_found(f->engine->roster, "refuse", nobody, &gone), PB_OK);
    /* Not a handle: nobody is still reached nowhere, and UGONE is nobody's handle. */
    assert_null(pb_roster_handle(f->engine->roster, nobody, "refuse"));
    assert_null(pb_roster_by_handle(f->engine->roster, "refuse", "UGONE"));
    assert_string_equal(pb_roster_unreachable_on(f->engine->roster, nobody), "refuse");
    assert_int_equal(
        pb_survey_start(f->engine, pb_config_survey(f->cfg, "pulse"), nobody, NULL, 0, 0),
        PB_ERR_UNKNOWN);
    struct pb_delivery d[2];
    assert_int_equal(deliveries_of(f, "nobody", d, 2), 1);
    assert_string_equal(d[0].reason, "deactivated or a bot on refuse");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_handle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_platform_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deactivated_account, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

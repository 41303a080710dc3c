/*
 * Alert figures: counts by state per owning team, median times to acknowledge and resolve,
 * acknowledge SLAs that ran out (before the action, or before now while still open) and the
 * reasons alerts were resolved with; the survey and time filter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "log.h"
#include "report.h"
#include "store.h"

#define T   1800000000000LL
#define MIN (60LL * 1000)

static int64_t alert(struct pb_store *s, int64_t delivery, const char *team, const char *survey)
{
    struct pb_alert a;
    memset(&a, 0, sizeof a);
    a.delivery_id = delivery;
    snprintf(a.rule, sizeof a.rule, "low");
    snprintf(a.team, sizeof a.team, "%s", team);
    snprintf(a.connector, sizeof a.connector, "web");
    snprintf(a.channel, sizeof a.channel, "room");
    snprintf(a.survey, sizeof a.survey, "%s", survey);
    snprintf(a.question, sizeof a.question, "q");
    a.score = 1;
    a.scale_min = 1;
    a.scale_max = 5;
    a.created_ms = T;
    a.ack_sla_ms = 30 * MIN;
    a.ack_deadline_ms = T + 30 * MIN;
    assert_int_equal(pb_store_alert_insert(s, &a), PB_OK);
    return a.id;
}

static void resolve(struct pb_store *s, int64_t id, const char *reason, int64_t at)
{
    assert_int_equal(pb_store_alert_transition(s, id, PB_ALERT_RESOLVED, "mia", at), PB_OK);
    assert_int_equal(pb_store_alert_set_resolution(s, id, reason, ""), PB_OK);
}

static void test_figures(void **state)
{
    struct pb_fake_clock clock;
    pb_fake_clock_init(&clock, T);
    pb_clock_set(&clock.clock);
    pb_log_set_level(PB_LOG_WARNING);
    struct pb_store *s;
    char err[256];
    assert_int_equal(pb_store_open(":memory:", &s, err, sizeof err), PB_OK);
    struct pb_delivery d;
    memset(&d, 0, sizeof d);
    snprintf(d.survey, sizeof d.survey, "pulse");
    snprintf(d.person, sizeof d.person, "p");
    snprintf(d.connector, sizeof d.connector, "web");
    snprintf(d.address, sizeof d.address, "p");
    assert_int_equal(pb_store_delivery_insert(s, &d), PB_OK);

    /* support: acknowledged after 10 min and resolved after 70; acknowledged after 50 (late).
     * billing: still open two hours on (late); resolved at once after 20 min. */
    int64_t a = alert(s, d.id, "support", "pulse"), b = alert(s, d.id, "support", "pulse");
    int64_t c = alert(s, d.id, "billing", "pulse"), e = alert(s, d.id, "billing", "pulse");
    alert(s, d.id, "billing", "csat"); /* another survey */
    assert_int_equal(pb_store_alert_transition(s, a, PB_ALERT_ACKNOWLEDGED, "mia", T + 10 * MIN),
                     PB_OK);
    resolve(s, a, "fixed", T + 70 * MIN);
    assert_int_equal(pb_store_alert_transition(s, b, PB_ALERT_ACKNOWLEDGED, "mia", T + 50 * MIN),
                     PB_OK);
    resolve(s, e, "no_action_needed", T + 20 * MIN);
    (void)c;

    struct pb_report_alerts r;
    assert_int_equal(pb_report_alerts_build(s, "pulse", 0, 0, T + 120 * MIN, &r), PB_OK);
    assert_int_equal(r.n_teams, 3);
    const struct pb_report_alert_figures *all = &r.teams[0], *billing = &r.teams[1],
                                         *support = &r.teams[2];
    assert_string_equal(all->team, "");
    assert_string_equal(billing->team, "billing");
    assert_string_equal(support->team, "support");
    assert_int_equal(all->raised, 4);
    assert_int_equal(all->open, 1);
    assert_int_equal(all->acknowledged, 1);
    assert_int_equal(all->resolved, 2);
    assert_int_equal(all->ack_median_ms, 20 * MIN);     /* of 10, 20, 50 */
    assert_int_equal(all->resolve_median_ms, 45 * MIN); /* of 20, 70 */
    assert_int_equal(all->ack_breached, 2);
    assert_int_equal(support->ack_median_ms, 30 * MIN);
    assert_int_equal(support->ack_breached, 1);
    assert_int_equal(billing->raised, 2);
    assert_int_equal(billing->ack_median_ms, 20 * MIN);
    assert_int_equal(billing->ack_breached, 1);
    assert_int_equal(r.n_reasons, 2);
    assert_string_equal(r.reasons[0].reason, "fixed");
    assert_int_equal(r.reasons[0].count, 1);
    pb_report_alerts_clear(&r);

    /* All surveys; and a range after they were raised holds none. */
    assert_int_equal(pb_report_alerts_build(s, NULL, 0, 0, T + 120 * MIN, &r), PB_OK);
    assert_int_equal(r.teams[0].raised, 5);
    pb_report_alerts_clear(&r);
    assert_int_equal(pb_report_alerts_build(s, NULL, T + 1, 0, T + 120 * MIN, &r), PB_OK);
    assert_int_equal(r.n_teams, 1);
    assert_int_equal(r.teams[0].raised, 0);
    assert_int_equal(r.teams[0].ack_median_ms, -1);
    pb_report_alerts_clear(&r);
    pb_store_close(s);
    pb_clock_set(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

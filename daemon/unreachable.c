/*
 * Deliveries that cannot reach their person: nobody knows a handle for them on any connector,
 * the platform found their account deactivated (or a bot), or the platform refused the direct
 * message that carried the first question. Each becomes a delivery row in state UNREACHABLE
 * with the reason, so a report can tell "could not be reached" from "did not answer", and a
 * finished one: it is never retried, reminded or expired. The next wave asks again, once.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD "survey"

int pb_unreachable_record(struct pb_engine *e, const struct pb_cfg_survey *s, const char *person,
                          const char *schedule, int64_t round, const char *reason)
{
    int64_t now = pb_now_ms();
    struct pb_delivery d = {.round = round,
                            .state = PB_DELIVERY_UNREACHABLE,
                            .created_ms = now,
                            .finished_ms = now,
                            .expires_ms = now};
    pb_copy(d.survey, sizeof d.survey, s->id);
    pb_copy(d.schedule, sizeof d.schedule, schedule ? schedule : "");
    pb_copy(d.person, sizeof d.person, person);
    pb_copy(d.reason, sizeof d.reason, reason);
    int rc = pb_store_delivery_insert(e->store, &d);
    if (rc != PB_OK)
        return rc;
    pb_metrics_add("deliveries_unreachable", 1);
    pb_warn(MOD, "survey %s cannot reach %s: %s (delivery %lld)", s->id, person, reason,
            (long long)d.id);
    return PB_OK;
}

void pb_unreachable_refused(struct pb_engine *e, int64_t outbox_id, const char *connector,
                            const char *reason)
{
    struct pb_delivery d;
    /* Only the row that carries a delivery's first question decides it: a later question or
     * a reminder that fails leaves the delivery to expire like any unanswered one. */
    if (pb_store_delivery_by_outbox(e->store, outbox_id, &d) != PB_OK ||
        d.state != PB_DELIVERY_PENDING || d.step_outbox_id != outbox_id)
        return;
    char why[256];
    snprintf(why, sizeof why, "%s refused the message: %s", connector, reason);
    if (pb_store_delivery_unreachable(e->store, d.id, PB_DELIVERY_PENDING, why, pb_now_ms()) !=
        PB_OK)
        return;
    pb_metrics_add("deliveries_unreachable", 1);
    pb_warn(MOD, "delivery %lld of %s: %s cannot be reached (%s); recorded as unreachable",
            (long long)d.id, d.survey, d.person[0] ? d.person : "the recipient", why);
}

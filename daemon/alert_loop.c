/*
 * Closing the loop with the customer. When an alert on a check-in is resolved, and its rule
 * says so, each customer it stands for is told in the chat where they were asked (the
 * connector and user of their check-in), with the team's own words (`tell_customer`, in the
 * customer's language when the rule gives it), and is asked the same survey again after
 * `reask_after` to learn whether things got better.
 *
 * Everything happens in the resolving transaction: the message is an outbox row and the
 * re-ask a scheduled check-in row, both committed with the resolution, so a crash loses
 * neither and a replayed press (already resolved) adds neither. A re-ask is an ordinary
 * check-in, so a customer who said stop is not asked, the contact cap holds, and its answers
 * route like any other; alert_reasks links it to the alert for the recovery figures.
 *
 * A customer who opted out is not told either: "stop" means no more messages from pulsebot.
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "l10n.h"
#include "log.h"
#include "metrics.h"

#define MOD         "route"
#define MAX_MEMBERS 64 /* customers told per alert; a group larger than this is rare */

static const struct pb_cfg_route *rule_of(const struct pb_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].id, id) == 0)
            return &cfg->routes[i];
    return NULL;
}

static int tell(struct pb_engine *e, const struct pb_alert *al, const struct pb_cfg_route *r,
                const struct pb_interaction *in, int64_t now)
{
    /* In the customer's language when the rule has it (the interaction's locale, its
     * language, the survey's default_locale), else as written. */
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, al->survey);
    struct pb_lang lang = {.locale = in->locale[0] ? in->locale : NULL,
                           .fallback = s ? s->default_locale : NULL};
    const char *text = pb_l10n_text(&r->tr, "tell_customer", r->tell_customer, &lang);
    struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .text = text};
    int rc = pb_outbox_queue(e, in->connector, PB_TARGET_PERSON, in->user, &m, NULL);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al->id, "customer_told", "", now, "%s on %s", in->customer,
                            in->connector);
    if (rc == PB_OK)
        pb_metrics_add("alerts_customer_told", 1);
    return rc;
}

static int reask(struct pb_engine *e, const struct pb_alert *al, const struct pb_cfg_route *r,
                 const struct pb_interaction *in, int score, int64_t now)
{
    struct pb_checkin c = {.interaction_id = in->id, .state = PB_CHECKIN_SCHEDULED};
    pb_copy(c.survey, sizeof c.survey, al->survey);
    pb_copy(c.customer, sizeof c.customer, in->customer);
    pb_copy(c.email, sizeof c.email, in->email);
    pb_copy(c.connector, sizeof c.connector, in->connector);
    pb_copy(c.user, sizeof c.user, in->user);
    pb_copy(c.team, sizeof c.team, in->team);
    c.due_ms = now + r->reask_after_ms;
    c.created_ms = now;
    int rc = pb_store_checkin_insert(e->store, &c);
    struct pb_alert_reask ra = {.alert_id = al->id,
                                .checkin_id = c.id,
                                .low_score = score,
                                .recovered_score = r->recovered_score,
                                .created_ms = now};
    pb_copy(ra.rule, sizeof ra.rule, r->id);
    pb_copy(ra.team, sizeof ra.team, al->team);
    pb_copy(ra.question, sizeof ra.question, al->question);
    if (rc == PB_OK)
        rc = pb_store_alert_reask_add(e->store, &ra);
    char due[32];
    pb_alert_format_time(c.due_ms, due, sizeof due);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al->id, "reask_scheduled", "", now, "check-in %lld for %s at %s",
                            (long long)c.id, in->customer, due);
    if (rc == PB_OK)
        pb_metrics_add("alerts_reasks_scheduled", 1);
    return rc;
}

/* One customer of the alert: told and asked again, unless they opted out. */
static int close_with(struct pb_engine *e, const struct pb_alert *al, const struct pb_cfg_route *r,
                      const struct pb_interaction *in, int score, int64_t now)
{
    if (!in->connector[0] || !pb_config_connector(e->cfg, in->connector))
        return pb_alert_event(e, al->id, "customer_not_told", "", now,
                              "%s cannot be reached in chat", in->customer);
    int out = pb_store_optout_has(e->store, in->connector, in->user, in->email);
    if (out < 0)
        return out;
    if (out)
        return pb_alert_event(e, al->id, "customer_not_told", "", now, "%s opted out",
                              in->customer);
    int rc = r->tell_customer ? tell(e, al, r, in, now) : PB_OK;
    if (rc == PB_OK && r->reask_after_ms)
        rc = reask(e, al, r, in, score, now);
    return rc;
}

int pb_alert_loop_resolved(struct pb_engine *e, const struct pb_alert *al, int64_t now)
{
    const struct pb_cfg_route *r = rule_of(e->cfg, al->rule);
    if (!r || (!r->tell_customer && !r->reask_after_ms))
        return PB_OK; /* off by default */
    struct pb_alert_member members[MAX_MEMBERS];
    size_t n = 0;
    int rc = pb_store_alert_members(e->store, al->id, members, MAX_MEMBERS, &n);
    /* A grouped alert may stand for several answers of one customer: each customer once, with
     * their newest interaction, the one the newest low score followed. */
    char done[MAX_MEMBERS][200];
    size_t n_done = 0;
    for (size_t i = n; rc == PB_OK && i-- > 0;) {
        struct pb_interaction in;
        rc = pb_store_alert_interaction(e->store, members[i].delivery_id, &in);
        if (rc == PB_ERR_UNKNOWN) { /* an employee's answer: nobody outside to tell */
            rc = PB_OK;
            continue;
        }
        char reach[200];
        snprintf(reach, sizeof reach, "%s %s", in.connector, in.user);
        int seen = 0;
        for (size_t k = 0; !seen && k < n_done; k++)
            seen = strcmp(done[k], reach) == 0;
        if (rc != PB_OK || seen)
            continue;
        pb_copy(done[n_done++], sizeof done[0], reach);
        rc = close_with(e, al, r, &in, members[i].score, now);
    }
    if (rc == PB_OK && n_done)
        pb_info(MOD, "alert %lld resolved: %zu customer(s) closed the loop with (rule %s)",
                (long long)al->id, n_done, r->id);
    return rc;
}

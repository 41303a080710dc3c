/*
 * SLAs and escalation. An alert's timers are columns of its row: when the acknowledge SLA
 * runs out, and when its next escalation level is due; when the resolve SLA runs out. The
 * engine asks for the earliest of them (pb_escalation_next_due) and, when it comes, each due
 * alert's level fires in one transaction that queues its messages, records it in the alert's
 * history and moves the level on by compare-and-set. A level therefore fires exactly once:
 * a crash before the commit fires it after the restart, a crash after it never again.
 *
 * Levels are counted from when the acknowledge SLA ran out (`after`), in wall-clock time;
 * acknowledging or resolving the alert stops them. The resolve SLA fires once, a reminder in
 * the alert's channel, and marks the alert overdue.
 *
 * The reminder and the overdue notice are replies in the alert's thread (pb_send.thread_ref).
 */
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD       "escalation"
#define DUE_BATCH 32

static int64_t level_due(const struct pb_config *cfg, const struct pb_alert *al, int level)
{
    if (!al->ack_deadline_ms || level < 0 || (size_t)level >= cfg->alerts.n_escalation)
        return 0;
    int64_t due = al->ack_deadline_ms + cfg->alerts.escalation[level].after_ms;
    return due > 0 ? due : 1;
}

void pb_escalation_arm(const struct pb_config *cfg, struct pb_alert *al, int64_t from_ms)
{
    al->ack_deadline_ms = al->ack_sla_ms ? from_ms + al->ack_sla_ms : 0;
    al->esc_level = 0;
    al->esc_due_ms = level_due(cfg, al, 0);
    al->resolve_deadline_ms = al->resolve_sla_ms ? al->created_ms + al->resolve_sla_ms : 0;
}

int64_t pb_escalation_next_due(struct pb_engine *e)
{
    int64_t ms;
    return pb_store_alert_next_due(e->store, &ms) == PB_OK ? ms : PB_ENGINE_IDLE;
}

static void summary(const struct pb_engine *e, const struct pb_alert *al, char *out, size_t len)
{
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, al->survey);
    const struct pb_cfg_question *q = s ? pb_config_question(s, al->question) : NULL;
    snprintf(out, len, "a score of %d of %d on \"%s\" (%s), alert #%lld for %s", al->score,
             al->scale_max, q ? q->text : al->question, s && s->title ? s->title : al->survey,
             (long long)al->id, pb_alert_team_name(e, al->team));
}

static int send_text(struct pb_engine *e, const char *connector, enum pb_target_kind kind,
                     const char *target, const char *title, const char *text)
{
    struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .title = title, .text = text};
    return pb_outbox_queue(e, connector, kind, target, &m, NULL);
}

/* A note about the alert in its own thread, where the platform has threads. */
static int reply_in_thread(struct pb_engine *e, const struct pb_alert *al, const char *title,
                           const char *text)
{
    struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .title = title, .text = text};
    if (!al->outbox_id)
        return send_text(e, al->connector, PB_TARGET_CHANNEL, al->channel, title, text);
    return pb_outbox_queue_reply(e, al->outbox_id, &m);
}

/* Fires level `level` of an alert; `what` says what was done, for its history. */
static int fire_level(struct pb_engine *e, const struct pb_alert *al, int level, char *what,
                      size_t what_len)
{
    const struct pb_cfg_alerts *cfg = &e->cfg->alerts;
    char about[400], text[700], sla[32];
    summary(e, al, about, sizeof about);
    pb_alert_format_duration(al->ack_sla_ms, sla, sizeof sla);
    switch (cfg->escalation[level].to) {
    case PB_ESCALATE_REMINDER:
        snprintf(text, sizeof text, "Nobody has acknowledged %s within its SLA of %s.", about, sla);
        snprintf(what, what_len, "level %d: reminder in %s:%s", level + 1, al->connector,
                 al->channel);
        return reply_in_thread(e, al, "Reminder", text);
    case PB_ESCALATE_MANAGER: {
        const char *id = pb_route_mention(e->cfg, al->team, PB_MENTION_MANAGER);
        const struct pb_cfg_person *m = id ? pb_config_person(e->cfg, id) : NULL;
        const char *handle = NULL;
        const struct pb_cfg_connector *c = m ? pb_roster_reach(e->roster, m, &handle) : NULL;
        if (!c) {
            pb_warn(MOD,
                    "alert %lld: team %s has no manager that pulsebot can reach; level %d "
                    "skipped",
                    (long long)al->id, al->team, level + 1);
            snprintf(what, what_len, "level %d: manager not reachable, skipped", level + 1);
            return PB_OK;
        }
        snprintf(text, sizeof text,
                 "Nobody in %s has acknowledged %s within its SLA of %s. It is in %s.",
                 pb_alert_team_name(e, al->team), about, sla, al->channel);
        snprintf(what, what_len, "level %d: manager %s", level + 1, m->id);
        return send_text(e, c->name, PB_TARGET_PERSON, handle, "Escalated to you", text);
    }
    case PB_ESCALATE_CHANNEL: {
        /* The whole alert, without actions: people act on it in the team's channel. */
        struct pb_alert_view v;
        int rc = pb_alert_render(e, al, &v);
        if (rc != PB_OK)
            return rc;
        v.m.n_buttons = 0;
        snprintf(v.note, sizeof v.note,
                 "Escalated: not acknowledged within its SLA of %s. Act on it in %s.", sla,
                 al->channel);
        snprintf(what, what_len, "level %d: %s:%s", level + 1, cfg->escalation_channel.connector,
                 cfg->escalation_channel.address);
        return pb_outbox_queue(e, cfg->escalation_channel.connector, PB_TARGET_CHANNEL,
                               cfg->escalation_channel.address, &v.m, NULL);
    }
    }
    snprintf(what, what_len, "level %d: nothing to do", level + 1);
    return PB_OK;
}

static int escalate(struct pb_engine *e, const struct pb_alert *al, int64_t now)
{
    char what[200] = "";
    int level = al->esc_level;
    int rc = PB_OK;
    /* Fewer levels than when it was armed (a reload): nothing is left to fire. */
    if ((size_t)level < e->cfg->alerts.n_escalation)
        rc = fire_level(e, al, level, what, sizeof what);
    if (rc == PB_OK)
        rc = pb_store_alert_escalated(e->store, al->id, level, level_due(e->cfg, al, level + 1));
    if (rc == PB_OK && what[0])
        rc = pb_alert_event(e, al->id, "escalated", "", now, "%s", what);
    if (rc == PB_OK && what[0])
        pb_metrics_add("alerts_escalated", 1);
    return rc;
}

static int overdue(struct pb_engine *e, const struct pb_alert *al, int64_t now)
{
    char about[400], text[600], sla[32];
    summary(e, al, about, sizeof about);
    pb_alert_format_duration(al->resolve_sla_ms, sla, sizeof sla);
    snprintf(text, sizeof text, "Nobody has resolved %s within its SLA of %s.", about, sla);
    int rc = pb_store_alert_set_overdue(e->store, al->id);
    if (rc == PB_OK)
        rc = reply_in_thread(e, al, "Overdue", text);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al->id, "overdue", "", now, "resolve SLA of %s ran out", sla);
    if (rc == PB_OK)
        pb_metrics_add("alerts_resolve_overdue", 1);
    return rc;
}

static int run_one(struct pb_engine *e, const struct pb_alert *al, int64_t now)
{
    int rc = pb_store_begin(e->store);
    if (rc != PB_OK)
        return rc;
    if (al->state == PB_ALERT_OPEN && al->esc_due_ms && al->esc_due_ms <= now)
        rc = escalate(e, al, now);
    if (rc == PB_OK && al->state != PB_ALERT_RESOLVED && !al->resolve_overdue &&
        al->resolve_deadline_ms && al->resolve_deadline_ms <= now)
        rc = overdue(e, al, now);
    struct pb_alert fresh;
    if (rc == PB_OK && pb_store_alert_get(e->store, al->id, &fresh) == PB_OK) {
        rc = pb_alert_refresh(e, &fresh);
        pb_alert_clear(&fresh);
    }
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK)
        pb_store_rollback(e->store);
    return rc;
}

void pb_escalation_run_due(struct pb_engine *e, int64_t now)
{
    /* One level per alert per pass; after downtime the levels that fell due meanwhile fire
     * in their order, a pass each. */
    for (int pass = 0; pass < 8; pass++) {
        struct pb_alert due[DUE_BATCH];
        size_t n = 0;
        if (pb_store_alert_due(e->store, now, due, DUE_BATCH, &n) != PB_OK) {
            pb_engine_hold(e);
            return;
        }
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
            int rc = failed ? PB_OK : run_one(e, &due[i], now);
            if (rc != PB_OK && rc != PB_ERR_DONE) {
                pb_err(MOD, "alert %lld: its escalation could not be saved; will try again",
                       (long long)due[i].id);
                failed = 1;
                pb_engine_hold(e);
            }
            pb_alert_clear(&due[i]);
        }
        if (n)
            pb_engine_wake(e);
        if (failed || n == 0)
            return;
    }
}

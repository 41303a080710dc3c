/*
 * People closing the loop from the alert's message: Acknowledge, Resolve (with a reason code
 * when reasons are configured, and an optional note the platform sends with the press),
 * Reassign to another team. Each press is checked (the person must belong to the owning team
 * or manage it or a team above it), then committed in one transaction with the alert's new
 * state, a line of its history (who, when, what) and the update that shows it in place; a
 * resolve also closes the loop with the customer (alert_loop.c). The state machine's
 * compare-and-set makes a replayed or concurrent press change nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD      "route"
#define NOTE_MAX 500

int pb_alert_event(struct pb_engine *e, int64_t alert_id, const char *kind, const char *actor,
                   int64_t at_ms, const char *fmt, ...)
{
    struct pb_alert_event ev = {.alert_id = alert_id, .at_ms = at_ms};
    pb_copy(ev.kind, sizeof ev.kind, kind);
    pb_copy(ev.actor, sizeof ev.actor, actor);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev.detail, sizeof ev.detail, fmt, ap);
    va_end(ap);
    int rc = pb_store_alert_event_add(e->store, &ev);
    /* Every line of the history is also an event for the rule's webhook, committed with it. */
    return rc == PB_OK ? pb_alert_webhook_queue(e, &ev) : rc;
}

int pb_alert_refresh(struct pb_engine *e, const struct pb_alert *al)
{
    if (!al->outbox_id)
        return PB_OK;
    struct pb_alert_view v;
    int rc = pb_alert_render(e, al, &v);
    return rc == PB_OK ? pb_outbox_queue_update(e, al->outbox_id, &v.m) : rc;
}

int pb_alert_move(struct pb_engine *e, struct pb_alert *al, const struct pb_cfg_team *team,
                  const struct pb_cfg_channel *channel, const struct pb_cfg_route *rule,
                  const char *actor, int64_t now, const char *kind, const char *why)
{
    char from_team[64], when[32];
    pb_copy(from_team, sizeof from_team, al->team);
    /* The old message stays where it was, closed, saying where the alert went. */
    struct pb_alert_view v;
    int rc = pb_alert_render(e, al, &v);
    if (rc != PB_OK)
        return rc;
    v.m.n_buttons = 0;
    v.m.flags |= PB_MESSAGE_CLOSED;
    pb_alert_format_time(now, when, sizeof when);
    if (actor && actor[0])
        snprintf(v.note, sizeof v.note, "Moved to %s by %s at %s.",
                 team->name ? team->name : team->id, pb_alert_person_name(e, actor), when);
    else
        snprintf(v.note, sizeof v.note, "Moved to %s at %s: %s.",
                 team->name ? team->name : team->id, when, why ? why : "");
    if (al->outbox_id)
        rc = pb_outbox_queue_update(e, al->outbox_id, &v.m);
    if (rc != PB_OK)
        return rc;

    const struct pb_cfg_channel *ch = channel ? channel : &team->channel;
    const struct pb_cfg_route *mode = rule;
    for (size_t i = 0; !mode && i < e->cfg->n_routes; i++)
        if (strcmp(e->cfg->routes[i].id, al->rule) == 0)
            mode = &e->cfg->routes[i];
    if (rule) {
        pb_copy(al->rule, sizeof al->rule, rule->id);
        al->ack_sla_ms = rule->ack_sla_ms;
        al->resolve_sla_ms = rule->resolve_sla_ms;
    }
    pb_copy(al->team, sizeof al->team, team->id);
    pb_copy(al->connector, sizeof al->connector, ch->connector);
    pb_copy(al->channel, sizeof al->channel, ch->address);
    pb_copy(al->mention, sizeof al->mention,
            mode ? pb_route_mention(e->cfg, team->id, mode->mention) : NULL);
    al->menu = 0;
    /* The new team gets the whole acknowledge SLA; the resolve SLA keeps counting from when
     * the alert was raised. */
    if (al->state == PB_ALERT_OPEN) {
        pb_escalation_arm(e->cfg, al, now);
    } else {
        al->resolve_deadline_ms = al->resolve_sla_ms ? al->created_ms + al->resolve_sla_ms : 0;
        al->esc_due_ms = 0;
    }
    rc = pb_alert_render(e, al, &v);
    if (rc == PB_OK)
        rc =
            pb_outbox_queue(e, al->connector, PB_TARGET_CHANNEL, al->channel, &v.m, &al->outbox_id);
    if (rc == PB_OK)
        rc = pb_store_alert_move(e->store, al, from_team);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al->id, kind, actor ? actor : "", now, "from %s to %s%s%s",
                            from_team, team->id, why ? ": " : "", why ? why : "");
    if (rc == PB_OK)
        pb_notice(MOD, "alert %lld %s from %s to %s%s%s", (long long)al->id, kind, from_team,
                  team->id, actor && actor[0] ? " by " : "", actor ? actor : "");
    return rc;
}

/* Cuts a note to NOTE_MAX bytes without splitting a UTF-8 sequence. */
static void copy_note(char *out, size_t size, const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n > NOTE_MAX)
        n = NOTE_MAX;
    if (n >= size)
        n = size - 1;
    while (n > 0 && text[n] && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    memcpy(out, text ? text : "", n);
    out[n] = '\0';
}

struct press {
    int op, arg;
    const struct pb_cfg_person *who;
    const char *note;
    int64_t now;
    const char *reply_done; /* what to say when the change was already made */
};

static int resolve(struct pb_engine *e, struct pb_alert *al, struct press *p, const char *reason)
{
    int rc = pb_store_alert_transition(e->store, al->id, PB_ALERT_RESOLVED, p->who->id, p->now);
    if (rc == PB_OK)
        rc = pb_store_alert_set_resolution(e->store, al->id, reason, p->note);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al->id, "resolved", p->who->id, p->now, "reason: %s; note: %s",
                            reason[0] ? reason : "(none)", p->note[0] ? p->note : "(none)");
    if (rc == PB_OK)
        rc = pb_alert_loop_resolved(e, al, p->now);
    return rc;
}

static int reassign(struct pb_engine *e, struct pb_alert *al, struct press *p, char *reply,
                    size_t reply_len)
{
    const struct pb_cfg_team *t = pb_roster_alert_team(e->roster, e->cfg->alerts.reassign[p->arg]);
    if (!t) {
        snprintf(reply, reply_len, "That team has no channel for alerts.");
        return PB_ERR_UNKNOWN;
    }
    if (strcmp(t->id, al->team) == 0) {
        snprintf(reply, reply_len, "This alert is already with %s.", t->name ? t->name : t->id);
        return PB_ERR_DONE;
    }
    int rc = pb_alert_move(e, al, t, NULL, NULL, p->who->id, p->now, "reassigned",
                           p->note[0] ? p->note : NULL);
    if (rc == PB_OK)
        pb_metrics_add("alerts_reassigned", 1);
    return rc;
}

/* Applies one press inside the open transaction. */
static int apply(struct pb_engine *e, struct pb_alert *al, struct press *p, char *reply,
                 size_t reply_len)
{
    const struct pb_cfg_alerts *cfg = &e->cfg->alerts;
    if (p->op == PB_ALERT_OP_REASSIGN)
        return reassign(e, al, p, reply, reply_len);
    if (p->op == PB_ALERT_OP_RESOLVE_WITH)
        return resolve(e, al, p, cfg->reasons[p->arg]);
    if (p->arg == PB_ALERT_RESOLVE && !cfg->n_reasons)
        return resolve(e, al, p, "");
    if (p->arg == PB_ALERT_RESOLVE || p->arg == PB_ALERT_BACK)
        return pb_store_alert_set_menu(e->store, al->id, p->arg == PB_ALERT_RESOLVE);
    int rc = pb_store_alert_transition(e->store, al->id, PB_ALERT_ACKNOWLEDGED, p->who->id, p->now);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al->id, "acknowledged", p->who->id, p->now, "note: %s",
                            p->note[0] ? p->note : "(none)");
    return rc;
}

static int valid_press(const struct pb_engine *e, const struct press *p)
{
    const struct pb_cfg_alerts *cfg = &e->cfg->alerts;
    switch (p->op) {
    case PB_ALERT_OP_SIMPLE:
        return p->arg >= PB_ALERT_ACKNOWLEDGE && p->arg <= PB_ALERT_BACK;
    case PB_ALERT_OP_RESOLVE_WITH:
        return (size_t)p->arg < cfg->n_reasons;
    case PB_ALERT_OP_REASSIGN:
        return (size_t)p->arg < cfg->n_reassign;
    }
    return 0;
}

static int check_actor(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                       const struct pb_alert *al, const struct pb_cfg_person **who, char *reply,
                       size_t reply_len)
{
    *who = pb_roster_by_handle(e->roster, connector, ev->user);
    if (!*who) {
        snprintf(reply, reply_len,
                 "You are not on pulsebot's roster, so you cannot act on "
                 "alerts.");
        return PB_ERR_UNKNOWN;
    }
    if (strcmp(al->connector, connector) != 0 || !pb_roster_may_act(e->roster, *who, al->team)) {
        pb_warn(MOD, "alert %lld: %s may not act on alerts of team %s; refused", (long long)al->id,
                (*who)->id, al->team);
        snprintf(reply, reply_len, "Only the team that owns this alert can act on it.");
        return PB_ERR_NOT_YOURS;
    }
    return PB_OK;
}

/* Time to acknowledge and to resolve, for /metrics (the rows keep them for reports). */
static void count_times(const struct pb_alert *before, const struct pb_alert *after)
{
    if (before->state == PB_ALERT_OPEN && after->state != PB_ALERT_OPEN && after->ack_ms) {
        pb_metrics_add("alert_ack_seconds_sum",
                       (uint64_t)((after->ack_ms - after->created_ms) / 1000));
        pb_metrics_add("alert_ack_seconds_count", 1);
        pb_metrics_add("alerts_acknowledged", 1);
    }
    if (before->state != PB_ALERT_RESOLVED && after->state == PB_ALERT_RESOLVED) {
        pb_metrics_add("alert_resolve_seconds_sum",
                       (uint64_t)((after->resolved_ms - after->created_ms) / 1000));
        pb_metrics_add("alert_resolve_seconds_count", 1);
        pb_metrics_add("alerts_resolved", 1);
    }
}

int pb_route_action(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_token *t, char *reply, size_t reply_len)
{
    struct pb_alert al, now_al = {0};
    if (pb_store_alert_get(e->store, (int64_t)t->id, &al) != PB_OK) {
        snprintf(reply, reply_len, "This alert is not known here.");
        return PB_ERR_UNKNOWN;
    }
    char note[NOTE_MAX + 1];
    copy_note(note, sizeof note, ev->text);
    struct press p = {.op = t->index >> 5, .arg = t->index & 0x1f, .note = note};
    int rc = check_actor(e, connector, ev, &al, &p.who, reply, reply_len);
    if (rc == PB_OK && !valid_press(e, &p)) {
        snprintf(reply, reply_len, "This button is no longer valid; use the newest message.");
        rc = PB_ERR_INVALID;
    }
    if (rc == PB_OK && al.state == PB_ALERT_RESOLVED) {
        snprintf(reply, reply_len, "This alert is already resolved.");
        rc = PB_ERR_DONE;
    }
    if (rc != PB_OK) {
        pb_alert_clear(&al);
        return rc;
    }
    p.now = pb_now_ms();
    rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = apply(e, &al, &p, reply, reply_len);
    int moved = p.op == PB_ALERT_OP_REASSIGN;
    if (rc == PB_OK)
        rc = pb_store_alert_get(e->store, al.id, &now_al);
    if (rc == PB_OK && !moved)
        rc = pb_alert_refresh(e, &now_al);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        if (rc == PB_ERR_DONE && !reply[0])
            snprintf(reply, reply_len, "This alert is already %s.",
                     al.state == PB_ALERT_RESOLVED ? "resolved" : "acknowledged");
        else if (rc != PB_ERR_DONE && rc != PB_ERR_UNKNOWN)
            snprintf(reply, reply_len, "Sorry, that could not be saved. Please try again.");
        pb_alert_clear(&al);
        pb_alert_clear(&now_al);
        return rc == PB_ERR_DONE || rc == PB_ERR_UNKNOWN ? rc : PB_ERR_STORE;
    }
    count_times(&al, &now_al);
    pb_notice(MOD, "alert %lld: %s pressed %d/%d; now %s", (long long)al.id, p.who->id, p.op, p.arg,
              now_al.state == PB_ALERT_RESOLVED       ? "resolved"
              : now_al.state == PB_ALERT_ACKNOWLEDGED ? "acknowledged"
                                                      : "open");
    pb_alert_clear(&al);
    pb_alert_clear(&now_al);
    pb_engine_wake(e);
    return PB_OK;
}

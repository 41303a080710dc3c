/*
 * Closing the loop: routing rules turn a low score into an alert in the owning team's channel,
 * and people act on the alert from there. An alert is a state machine (open -> acknowledged ->
 * resolved) whose every change is committed with who and when, together with the update that
 * shows it on the alert's message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"
#include "log.h"
#include "message.h"
#include "metrics.h"

#define MOD "route"

enum alert_action { ACTION_ACKNOWLEDGE = 1, ACTION_RESOLVE = 2 };

static int rule_matches(const struct pb_engine *e, const struct pb_cfg_route *r,
                        const struct pb_cfg_survey *s, const struct pb_answer *a)
{
    if (!a->has_score)
        return 0;
    if (r->survey && strcmp(r->survey, s->id) != 0)
        return 0;
    if (r->team && (!a->team[0] || !pb_config_team_within(e->cfg, a->team, r->team)))
        return 0;
    return a->score >= r->min_score && a->score <= r->max_score;
}

static void format_time(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static const char *person_name(const struct pb_engine *e, const char *id)
{
    const struct pb_cfg_person *p = id[0] ? pb_config_person(e->cfg, id) : NULL;
    return p && p->name ? p->name : id;
}

/* Everything the alert's message shows, rebuilt from the alert row each time it changes. */
struct alert_view {
    struct pb_message m;
    struct pb_field fields[6];
    struct pb_button buttons[2];
    char tokens[2][PB_TOKEN_MAX];
    char title[96], score[48], from[200], note[256];
};

static int render_alert(const struct pb_engine *e, const struct pb_alert *al, struct alert_view *v)
{
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, al->survey);
    const struct pb_cfg_question *q = s ? pb_config_question(s, al->question) : NULL;
    const struct pb_cfg_team *team = pb_config_team(e->cfg, al->team);
    memset(v, 0, sizeof *v);
    v->m.size = sizeof v->m;
    v->m.kind = PB_MESSAGE_ALERT;
    snprintf(v->title, sizeof v->title, "Low score: %d of %d", al->score, al->scale_max);
    v->m.title = v->title;
    v->m.text = q ? q->text : al->question;
    size_t n = 0;
    snprintf(v->score, sizeof v->score, "%d (scale %d to %d)", al->score, al->scale_min,
             al->scale_max);
    v->fields[n++] = (struct pb_field){"Score", v->score};
    if (al->subject[0]) {
        const struct pb_cfg_person *p = pb_config_person(e->cfg, al->subject);
        const struct pb_cfg_team *pt = p && p->team ? pb_config_team(e->cfg, p->team) : NULL;
        snprintf(v->from, sizeof v->from, "%s%s%s%s", person_name(e, al->subject), pt ? " (" : "",
                 pt ? (pt->name ? pt->name : pt->id) : "", pt ? ")" : "");
        v->fields[n++] = (struct pb_field){"From", v->from};
    }
    v->fields[n++] = (struct pb_field){"Survey", s && s->title ? s->title : al->survey};
    v->fields[n++] = (struct pb_field){"Comment", al->comment ? al->comment : "(none yet)"};
    if (team)
        v->fields[n++] = (struct pb_field){"Team", team->name ? team->name : team->id};
    v->m.fields = v->fields;
    v->m.n_fields = n;

    char when[32];
    size_t b = 0;
    if (al->state == PB_ALERT_OPEN) {
        snprintf(v->note, sizeof v->note, "Open: nobody has acknowledged it yet.");
    } else if (al->state == PB_ALERT_ACKNOWLEDGED) {
        format_time(al->ack_ms, when, sizeof when);
        snprintf(v->note, sizeof v->note, "Acknowledged by %s at %s.", person_name(e, al->ack_by),
                 when);
    } else {
        format_time(al->resolved_ms, when, sizeof when);
        snprintf(v->note, sizeof v->note, "Resolved by %s at %s.", person_name(e, al->resolved_by),
                 when);
        v->m.flags |= PB_MESSAGE_CLOSED;
    }
    v->m.note = v->note;
    static const struct {
        enum alert_action action;
        const char *label;
        enum pb_button_style style;
    } actions[] = {{ACTION_ACKNOWLEDGE, "Acknowledge", PB_BUTTON_PRIMARY},
                   {ACTION_RESOLVE, "Resolve", PB_BUTTON_DEFAULT}};
    for (size_t i = 0; i < 2; i++) {
        if (al->state == PB_ALERT_RESOLVED ||
            (actions[i].action == ACTION_ACKNOWLEDGE && al->state != PB_ALERT_OPEN))
            continue;
        struct pb_token t = {
            .kind = PB_TOKEN_ACTION, .id = (uint64_t)al->id, .index = (uint8_t)actions[i].action};
        if (pb_token_sign(e->key, &t, v->tokens[b], PB_TOKEN_MAX) != PB_OK)
            return PB_ERR;
        v->buttons[b] = (struct pb_button){actions[i].label, v->tokens[b], actions[i].style};
        b++;
    }
    v->m.buttons = v->buttons;
    v->m.n_buttons = b;
    return PB_OK;
}

static int raise_alert(struct pb_engine *e, const struct pb_cfg_route *r,
                       const struct pb_delivery *d, const struct pb_cfg_question *q,
                       const struct pb_answer *a)
{
    const struct pb_cfg_team *owner = pb_roster_alert_team(e->roster, r->alert_team);
    if (!owner) {
        pb_err(MOD, "rule %s: team %s has no channel for alerts; give it a channel", r->id,
               r->alert_team);
        return PB_OK; /* the answer is still kept */
    }
    struct pb_alert al = {.delivery_id = d->id, .answer_id = a->id, .state = PB_ALERT_OPEN};
    al.score = a->score;
    al.scale_min = q->min;
    al.scale_max = q->max;
    al.created_ms = a->created_ms;
    pb_copy(al.rule, sizeof al.rule, r->id);
    pb_copy(al.team, sizeof al.team, owner->id);
    pb_copy(al.connector, sizeof al.connector, owner->channel.connector);
    pb_copy(al.channel, sizeof al.channel, owner->channel.address);
    pb_copy(al.survey, sizeof al.survey, d->survey);
    pb_copy(al.question, sizeof al.question, q->id);
    pb_copy(al.subject, sizeof al.subject, a->person);
    int rc = pb_store_alert_insert(e->store, &al);
    struct alert_view v;
    if (rc == PB_OK)
        rc = render_alert(e, &al, &v);
    if (rc == PB_OK)
        rc = pb_outbox_queue(e, al.connector, PB_TARGET_CHANNEL, al.channel, &v.m, &al.outbox_id);
    if (rc == PB_OK)
        rc = pb_store_alert_set_outbox(e->store, al.id, al.outbox_id);
    if (rc == PB_OK) {
        pb_metrics_add("alerts_raised", 1);
        pb_notice(MOD, "alert %lld raised by rule %s for team %s (score %d)", (long long)al.id,
                  r->id, owner->id, a->score);
    }
    return rc;
}

/* A text answer in a delivery that raised alerts becomes their comment. */
static int attach_comment(struct pb_engine *e, const struct pb_delivery *d,
                          const struct pb_answer *a)
{
    struct pb_alert alerts[8];
    size_t n = 0;
    int rc = pb_store_alert_for_delivery(e->store, d->id, alerts, 8, &n);
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        struct pb_alert *al = &alerts[i];
        size_t old = al->comment ? strlen(al->comment) : 0;
        char *comment = malloc(old + strlen(a->text) + 3);
        if (!comment) {
            rc = PB_ERR_NOMEM;
            break;
        }
        sprintf(comment, "%s%s%s", old ? al->comment : "", old ? "\n\n" : "", a->text);
        free(al->comment);
        al->comment = comment;
        rc = pb_store_alert_set_comment(e->store, al->id, comment);
        struct alert_view v;
        if (rc == PB_OK)
            rc = render_alert(e, al, &v);
        if (rc == PB_OK && al->outbox_id)
            rc = pb_outbox_queue_update(e, al->outbox_id, &v.m);
    }
    for (size_t i = 0; i < n; i++)
        pb_alert_clear(&alerts[i]);
    return rc;
}

int pb_route_answer(struct pb_engine *e, const struct pb_delivery *d, const struct pb_cfg_survey *s,
                    const struct pb_cfg_question *q, const struct pb_answer *a)
{
    if (!a->has_score)
        return a->text && a->text[0] ? attach_comment(e, d, a) : PB_OK;
    if (s->anonymous)
        return PB_OK; /* never an alert that could point to an anonymous person */
    for (size_t i = 0; i < e->cfg->n_routes; i++) {
        const struct pb_cfg_route *r = &e->cfg->routes[i];
        if (!rule_matches(e, r, s, a))
            continue;
        int rc = raise_alert(e, r, d, q, a);
        if (rc != PB_OK || !r->cont)
            return rc;
    }
    return PB_OK;
}

int pb_route_action(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_token *t, char *reply, size_t reply_len)
{
    struct pb_alert al;
    if (pb_store_alert_get(e->store, (int64_t)t->id, &al) != PB_OK) {
        snprintf(reply, reply_len, "This alert is not known here.");
        return PB_ERR_UNKNOWN;
    }
    const struct pb_cfg_person *who = pb_roster_by_handle(e->roster, connector, ev->user);
    int rc = PB_OK;
    if (!who) {
        snprintf(reply, reply_len,
                 "You are not on pulsebot's roster, so you cannot act on "
                 "alerts.");
        rc = PB_ERR_UNKNOWN;
    } else if (strcmp(al.connector, connector) != 0 ||
               !pb_roster_may_act(e->roster, who, al.team)) {
        pb_warn(MOD, "alert %lld: %s may not act on alerts of team %s; refused", (long long)al.id,
                who->id, al.team);
        snprintf(reply, reply_len, "Only the team that owns this alert can act on it.");
        rc = PB_ERR_NOT_YOURS;
    }
    enum pb_alert_state to = t->index == ACTION_RESOLVE ? PB_ALERT_RESOLVED : PB_ALERT_ACKNOWLEDGED;
    if (rc == PB_OK && t->index != ACTION_ACKNOWLEDGE && t->index != ACTION_RESOLVE)
        rc = PB_ERR_INVALID;
    if (rc != PB_OK) {
        pb_alert_clear(&al);
        return rc;
    }
    int64_t now = pb_now_ms();
    rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = pb_store_alert_transition(e->store, al.id, to, who->id, now);
    if (rc == PB_OK) {
        pb_alert_clear(&al);
        rc = pb_store_alert_get(e->store, (int64_t)t->id, &al);
    }
    struct alert_view v;
    if (rc == PB_OK)
        rc = render_alert(e, &al, &v);
    if (rc == PB_OK && al.outbox_id)
        rc = pb_outbox_queue_update(e, al.outbox_id, &v.m);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        if (rc == PB_ERR_DONE)
            snprintf(reply, reply_len, "This alert is already %s.",
                     al.state == PB_ALERT_RESOLVED ? "resolved" : "acknowledged");
        else
            snprintf(reply, reply_len, "Sorry, that could not be saved. Please try again.");
        pb_alert_clear(&al);
        return rc == PB_ERR_DONE ? rc : PB_ERR_STORE;
    }
    pb_metrics_add(to == PB_ALERT_RESOLVED ? "alerts_resolved" : "alerts_acknowledged", 1);
    pb_notice(MOD, "alert %lld %s by %s", (long long)al.id,
              to == PB_ALERT_RESOLVED ? "resolved" : "acknowledged", who->id);
    pb_alert_clear(&al);
    pb_engine_wake(e);
    return PB_OK;
}

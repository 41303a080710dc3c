/*
 * What an alert looks like: its message, rebuilt from the alert row every time the row
 * changes, and the short messages escalation sends. Every action is a button, so it works the
 * same on every platform: Resolve with reasons configured swaps the actions for one button per
 * reason (and Back); Reassign is one button per configured team.
 *
 * A button's token carries the alert id and, in its index, the operation in the top three
 * bits and its argument (a reason or a team, by position in the configuration) in the low
 * five; tokens of the first release (index 1 and 2) keep their meaning.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine_internal.h"

void pb_alert_format_time(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

void pb_alert_format_duration(int64_t ms, char *out, size_t len)
{
    int64_t min = ms / 60000;
    if (min < 1)
        snprintf(out, len, "%lld s", (long long)(ms / 1000));
    else if (min < 60)
        snprintf(out, len, "%lld min", (long long)min);
    else if (min < 24 * 60)
        snprintf(out, len, min % 60 ? "%lld h %lld min" : "%lld h", (long long)(min / 60),
                 (long long)(min % 60));
    else
        snprintf(out, len, (min / 60) % 24 ? "%lld d %lld h" : "%lld d",
                 (long long)(min / (24 * 60)), (long long)((min / 60) % 24));
}

const char *pb_alert_person_name(const struct pb_engine *e, const char *id)
{
    const struct pb_cfg_person *p = id && id[0] ? pb_config_person(e->cfg, id) : NULL;
    return p && p->name ? p->name : id;
}

const char *pb_alert_team_name(const struct pb_engine *e, const char *id)
{
    const struct pb_cfg_team *t = pb_config_team(e->cfg, id);
    return t && t->name ? t->name : id;
}

static int add_button(const struct pb_engine *e, const struct pb_alert *al, struct pb_alert_view *v,
                      int op, int arg, const char *label, enum pb_button_style style)
{
    if (v->m.n_buttons >= PB_ALERT_MAX_BUTTONS)
        return PB_OK; /* the configuration caps both lists well below this */
    size_t b = v->m.n_buttons;
    struct pb_token t = {
        .kind = PB_TOKEN_ACTION, .id = (uint64_t)al->id, .index = (uint8_t)PB_ALERT_TOKEN(op, arg)};
    if (pb_token_sign(e->key, &t, v->tokens[b], PB_TOKEN_MAX) != PB_OK)
        return PB_ERR;
    snprintf(v->labels[b], sizeof v->labels[b], "%s", label);
    v->buttons[b] = (struct pb_button){v->labels[b], v->tokens[b], style};
    v->m.n_buttons = b + 1;
    return PB_OK;
}

/* How a reason id reads on a button: "no_action_needed" is shown as "No action needed". */
static void reason_label(const char *id, char *out, size_t len)
{
    snprintf(out, len, "%s", id);
    for (char *c = out; *c; c++)
        if (*c == '_' || *c == '-')
            *c = ' ';
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
}

static int add_buttons(const struct pb_engine *e, const struct pb_alert *al,
                       struct pb_alert_view *v)
{
    const struct pb_cfg_alerts *cfg = &e->cfg->alerts;
    int rc = PB_OK;
    if (al->state == PB_ALERT_RESOLVED)
        return PB_OK;
    if (al->menu && cfg->n_reasons) {
        for (size_t i = 0; rc == PB_OK && i < cfg->n_reasons; i++) {
            char label[96];
            reason_label(cfg->reasons[i], label, sizeof label);
            rc = add_button(e, al, v, PB_ALERT_OP_RESOLVE_WITH, (int)i, label, PB_BUTTON_DEFAULT);
        }
        if (rc == PB_OK)
            rc = add_button(e, al, v, PB_ALERT_OP_SIMPLE, PB_ALERT_BACK, "Back", PB_BUTTON_DEFAULT);
        return rc;
    }
    if (al->state == PB_ALERT_OPEN)
        rc = add_button(e, al, v, PB_ALERT_OP_SIMPLE, PB_ALERT_ACKNOWLEDGE, "Acknowledge",
                        PB_BUTTON_PRIMARY);
    if (rc == PB_OK)
        rc = add_button(e, al, v, PB_ALERT_OP_SIMPLE, PB_ALERT_RESOLVE, "Resolve",
                        PB_BUTTON_DEFAULT);
    for (size_t i = 0; rc == PB_OK && i < cfg->n_reassign; i++) {
        const struct pb_cfg_team *t = pb_roster_alert_team(e->roster, cfg->reassign[i]);
        if (!t || strcmp(t->id, al->team) == 0)
            continue;
        char label[96];
        snprintf(label, sizeof label, "Reassign: %s", t->name ? t->name : t->id);
        rc = add_button(e, al, v, PB_ALERT_OP_REASSIGN, (int)i, label, PB_BUTTON_DEFAULT);
    }
    return rc;
}

static void state_note(const struct pb_engine *e, const struct pb_alert *al,
                       struct pb_alert_view *v)
{
    char when[32];
    size_t n;
    if (al->state == PB_ALERT_OPEN) {
        n = (size_t)snprintf(v->note, sizeof v->note, "Open: nobody has acknowledged it yet.");
        if (al->esc_level > 0)
            n += (size_t)snprintf(v->note + n, sizeof v->note - n,
                                  " Not acknowledged within its SLA: escalated.");
    } else if (al->state == PB_ALERT_ACKNOWLEDGED) {
        pb_alert_format_time(al->ack_ms, when, sizeof when);
        n = (size_t)snprintf(v->note, sizeof v->note, "Acknowledged by %s at %s.",
                             pb_alert_person_name(e, al->ack_by), when);
    } else {
        pb_alert_format_time(al->resolved_ms, when, sizeof when);
        n = (size_t)snprintf(v->note, sizeof v->note, "Resolved by %s at %s.",
                             pb_alert_person_name(e, al->resolved_by), when);
        v->m.flags |= PB_MESSAGE_CLOSED;
    }
    if (n < sizeof v->note && al->state != PB_ALERT_RESOLVED && al->resolve_overdue)
        n += (size_t)snprintf(v->note + n, sizeof v->note - n,
                              " Overdue: not resolved within its SLA.");
    if (n < sizeof v->note && al->state != PB_ALERT_RESOLVED && al->menu &&
        e->cfg->alerts.n_reasons)
        snprintf(v->note + n, sizeof v->note - n, " Pick a reason to resolve it.");
}

int pb_alert_render(const struct pb_engine *e, const struct pb_alert *al, struct pb_alert_view *v)
{
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, al->survey);
    const struct pb_cfg_question *q = s ? pb_config_question(s, al->question) : NULL;
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
        snprintf(v->from, sizeof v->from, "%s%s%s%s", pb_alert_person_name(e, al->subject),
                 pt ? " (" : "", pt ? (pt->name ? pt->name : pt->id) : "", pt ? ")" : "");
        v->fields[n++] = (struct pb_field){"From", v->from};
    }
    v->fields[n++] = (struct pb_field){"Survey", s && s->title ? s->title : al->survey};
    v->fields[n++] = (struct pb_field){al->group_count > 1 ? "Latest comment" : "Comment",
                                       al->comment ? al->comment : "(none yet)"};
    if (al->group_count > 1) {
        snprintf(v->group, sizeof v->group, "%d from %s within the grouping window; latest %d",
                 al->group_count, pb_alert_team_name(e, al->answer_team), al->last_score);
        v->fields[n++] = (struct pb_field){"Answers", v->group};
    }
    if (pb_config_team(e->cfg, al->team))
        v->fields[n++] = (struct pb_field){"Team", pb_alert_team_name(e, al->team)};
    if (al->mention[0]) {
        v->fields[n++] = (struct pb_field){"For", pb_alert_person_name(e, al->mention)};
        /* The platform notifies the person it is for; connectors accept only a real id. */
        const struct pb_cfg_person *p = pb_config_person(e->cfg, al->mention);
        v->m.mention_user = p ? pb_roster_handle(e->roster, p, al->connector) : NULL;
    }
    char when[32];
    if (al->state == PB_ALERT_OPEN && al->ack_deadline_ms) {
        pb_alert_format_time(al->ack_deadline_ms, when, sizeof when);
        snprintf(v->ack_by, sizeof v->ack_by, "%s", when);
        v->fields[n++] = (struct pb_field){"Acknowledge by", v->ack_by};
    }
    if (al->state != PB_ALERT_RESOLVED && al->resolve_deadline_ms) {
        pb_alert_format_time(al->resolve_deadline_ms, when, sizeof when);
        snprintf(v->resolve_by, sizeof v->resolve_by, "%s", when);
        v->fields[n++] = (struct pb_field){"Resolve by", v->resolve_by};
    }
    if (al->resolve_reason[0]) {
        reason_label(al->resolve_reason, v->reason, sizeof v->reason);
        v->fields[n++] = (struct pb_field){"Reason", v->reason};
    }
    if (al->resolve_note[0])
        v->fields[n++] = (struct pb_field){"Resolution note", al->resolve_note};
    v->m.fields = v->fields;
    v->m.n_fields = n;
    state_note(e, al, v);
    v->m.note = v->note;
    v->m.buttons = v->buttons;
    return add_buttons(e, al, v);
}

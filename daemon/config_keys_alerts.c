/*
 * Configuration keys of routing rules, alerts and escalation: where low scores go.
 * How the tables work is said in config_keys.c; checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct pb_cfg_choice score_categories[] = {
    {"nps_detractor", PB_CATEGORY_NPS_DETRACTOR},
    {"nps_passive", PB_CATEGORY_NPS_PASSIVE},
    {"nps_promoter", PB_CATEGORY_NPS_PROMOTER},
    {"csat_dissatisfied", PB_CATEGORY_CSAT_DISSATISFIED},
    {NULL, 0},
};

static const struct pb_cfg_choice mentions[] = {
    {"none", PB_MENTION_NONE},
    {"on_call", PB_MENTION_ON_CALL},
    {"manager", PB_MENTION_MANAGER},
    {NULL, 0},
};

static const struct pb_cfg_choice group_keys[] = {
    {"kind", PB_GROUP_BY_KIND},
    {"team", PB_GROUP_BY_TEAM},
    {"customer", PB_GROUP_BY_CUSTOMER},
    {"none", PB_GROUP_BY_NONE},
    {NULL, 0},
};

/* A webhook's secret comes from one place; the URL is checked for its scheme at load, and
 * plain http is refused when sending unless PULSEBOT_ALLOW_PLAIN is set (tests). */
static void webhook_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, const char *label,
                           const char *url, const char *file, const char *credential)
{
    if (file && credential)
        pb_cfg_error(ctx, pb_cfg_at(s, "webhook_secret_credential"),
                     "%s: give webhook_secret_file or webhook_secret_credential, not both", label);
    if (!url && (file || credential))
        pb_cfg_error(ctx, pb_cfg_at(s, file ? "webhook_secret_file" : "webhook_secret_credential"),
                     "%s: a webhook secret without a webhook URL", label);
    if (url && !file && !credential)
        pb_cfg_error(ctx, pb_cfg_at(s, "webhook"),
                     "%s: a webhook needs a secret to sign with: give webhook_secret_file or "
                     "webhook_secret_credential",
                     label);
}

/* The score range a rule matches ends at max_score: a re-ask above it has recovered, unless
 * the rule says otherwise. */
static void loop_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, struct pb_cfg_route *r,
                        const char *label)
{
    if (r->reask_after_ms && !pb_cfg_has(s, "recovered_score")) {
        if (r->max_score == INT_MAX)
            pb_cfg_error(ctx, pb_cfg_at(s, "reask_after"),
                         "%s: a re-ask needs recovered_score (or max_score) to tell a recovery",
                         label);
        else
            r->recovered_score = r->max_score + 1;
    }
    webhook_finish(ctx, s, label, r->webhook, r->webhook_secret_file, r->webhook_secret_credential);
}

static void route_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    static const int ranges[][2] = {{0, 0}, {0, 6}, {7, 8}, {9, 10}, {1, 2}};
    struct pb_cfg_route *r = obj;
    if (r->category) {
        if (pb_cfg_has(s, "min_score") || pb_cfg_has(s, "max_score"))
            pb_cfg_error(ctx, pb_cfg_at(s, pb_cfg_has(s, "min_score") ? "min_score" : "max_score"),
                         "%s: give either category or min_score/max_score, not both", label);
        r->min_score = ranges[r->category][0];
        r->max_score = ranges[r->category][1];
        loop_finish(ctx, s, r, label);
        return;
    }
    if (!pb_cfg_has(s, "min_score"))
        r->min_score = INT_MIN;
    if (!pb_cfg_has(s, "max_score"))
        r->max_score = INT_MAX;
    if (r->min_score > r->max_score)
        pb_cfg_error(ctx, pb_cfg_at(s, "min_score"),
                     "%s: min_score (%d) is greater than max_score (%d)", label, r->min_score,
                     r->max_score);
    loop_finish(ctx, s, r, label);
}

static const struct pb_cfg_key route_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, id),
     .help = "Unique id of the rule."},
    {.name = "survey",
     .type = PB_CFG_STRING,
     .def_doc = "any survey",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, survey),
     .help = "Only answers to this survey."},
    {.name = "kind",
     .type = PB_CFG_ENUM,
     .def_doc = "either kind",
     .choices = pb_cfg_survey_kinds,
     .off = OFF(pb_cfg_route, kind),
     .help = "Only answers to surveys of this kind."},
    {.name = "team",
     .type = PB_CFG_STRING,
     .def_doc = "anyone",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, team),
     .help = "Only answers from people of this team or its sub-teams."},
    {.name = "min_score",
     .type = PB_CFG_INT,
     .def_doc = "no lower bound",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_route, min_score),
     .help = "Lowest score that matches."},
    {.name = "max_score",
     .type = PB_CFG_INT,
     .def_doc = "no upper bound",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_route, max_score),
     .help = "Highest score that matches."},
    {.name = "category",
     .type = PB_CFG_ENUM,
     .def_doc = "none",
     .choices = score_categories,
     .off = OFF(pb_cfg_route, category),
     .help = "A named score range instead of `min_score`/`max_score`: NPS detractor 0 to 6, "
             "passive 7 to 8, promoter 9 to 10; CSAT dissatisfied 1 to 2."},
    {.name = "words",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_route, words),
     .off_n = OFF(pb_cfg_route, n_words),
     .help = "Match only when the comment holds one of these words or phrases (whole words, "
             "any case). Such a rule is tried when the comment arrives: see `docs/alerts.md`."},
    {.name = "alert",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, alert_team),
     .help = "Id of the team that owns the alert; it goes to its channel or its nearest "
             "parent's."},
    {.name = "channel",
     .type = PB_CFG_CHANNEL,
     .def_doc = "the team's",
     .off = OFF(pb_cfg_route, channel),
     .help = "Where this rule's alerts go instead of the team's channel: "
             "`\"connector:address\"`."},
    {.name = "mention",
     .type = PB_CFG_ENUM,
     .def = "none",
     .choices = mentions,
     .off = OFF(pb_cfg_route, mention),
     .help = "Whom the alert is for, shown as \"For\": nobody, the team's `on_call` person or "
             "its `manager`."},
    {.name = "ack_sla",
     .type = PB_CFG_DURATION,
     .def_doc = "none",
     .min = 1,
     .off = OFF(pb_cfg_route, ack_sla_ms),
     .help = "Time to acknowledge; after it, the `alerts.escalation` levels fire."},
    {.name = "resolve_sla",
     .type = PB_CFG_DURATION,
     .def_doc = "none",
     .min = 1,
     .off = OFF(pb_cfg_route, resolve_sla_ms),
     .help = "Time to resolve, from when the alert was raised; when it runs out the channel is "
             "reminded once and the alert shows it is overdue."},
    {.name = "continue",
     .type = PB_CFG_BOOL,
     .def = "false",
     .off = OFF(pb_cfg_route, cont),
     .help = "Also try the rules after this one; otherwise the first match is the last."},
    {.name = "tags",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_route, tags),
     .off_n = OFF(pb_cfg_route, n_tags),
     .help = "Only answers to check-ins whose interaction has all of these tags: `\"vip\"` "
             "present, `\"tier=enterprise\"` that value (as in `checkins.policies[].tags`). "
             "Never matches an employee's answer."},
    {.name = "group_by",
     .type = PB_CFG_ENUM,
     .def = "kind",
     .choices = group_keys,
     .off = OFF(pb_cfg_route, group_by),
     .help = "Which low scores join one open alert within `alerts.group_window`: `team`, "
             "`customer` (the same customer; the same person on an employee survey), `none`, or "
             "`kind`: customer answers by customer, employee answers by team."},
    {.name = "tell_customer",
     .type = PB_CFG_STRING,
     .def_doc = "nothing",
     .check = &pb_cfg_check_text,
     .translatable = 1,
     .off = OFF(pb_cfg_route, tell_customer),
     .help = "When an alert on a check-in is resolved, this text goes to the customer in the "
             "chat where they were asked, in their language (`tell_customer_de = \"...\"`, "
             "chosen by the interaction's locale). Off when not given."},
    {.name = "reask_after",
     .type = PB_CFG_DURATION,
     .def_doc = "never",
     .min = 1000,
     .off = OFF(pb_cfg_route, reask_after_ms),
     .help = "This long after an alert on a check-in is resolved, the customer is asked the same "
             "survey again (a durable check-in, subject to opt-out and the contact cap)."},
    {.name = "recovered_score",
     .type = PB_CFG_INT,
     .def_doc = "max_score + 1",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_route, recovered_score),
     .help = "A re-ask answered at or above this score counts as recovered."},
    {.name = "webhook",
     .type = PB_CFG_STRING,
     .def_doc = "`alerts.webhook`",
     .check = &pb_cfg_check_url,
     .off = OFF(pb_cfg_route, webhook),
     .help = "Every event of this rule's alerts is posted here as signed JSON: see "
             "`docs/alerts.md`. https only (plain http when `PULSEBOT_ALLOW_PLAIN` is set)."},
    {.name = "webhook_secret_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_route, webhook_secret_file),
     .help = "File holding the secret that signs the webhook's posts."},
    {.name = "webhook_secret_credential",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, webhook_secret_credential),
     .help = "The same secret as a systemd credential."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_route_block = {
    .kind = "route",
    .path = "routing[]",
    .label_key = "id",
    .intro = "Rules from a scored answer to an alert, tried in order. A rule matches scored "
             "answers only, and never an anonymous survey's.",
    .keys = route_keys,
    .elem_size = sizeof(struct pb_cfg_route),
    .has_line = 1,
    .line_off = OFF(pb_cfg_route, line),
    .has_tr = 1,
    .tr_off = OFF(pb_cfg_route, tr),
    .finish = route_finish,
};

/* ---- alerts ---------------------------------------------------------------------------- */

static const struct pb_cfg_choice escalate_targets[] = {
    {"reminder", PB_ESCALATE_REMINDER},
    {"manager", PB_ESCALATE_MANAGER},
    {"channel", PB_ESCALATE_CHANNEL},
    {NULL, 0},
};

static const struct pb_cfg_key escalation_keys[] = {
    {.name = "to",
     .type = PB_CFG_ENUM,
     .required = 1,
     .choices = escalate_targets,
     .off = OFF(pb_cfg_escalation, to),
     .help = "`reminder`: a reminder in the alert's channel; `manager`: the owning team's "
             "manager by direct message; `channel`: the `escalation_channel`."},
    {.name = "after",
     .type = PB_CFG_DURATION,
     .def = "0",
     .off = OFF(pb_cfg_escalation, after_ms),
     .help = "When, counted from the moment the acknowledge SLA ran out."},
    {NULL},
};

static const struct pb_cfg_block escalation_block = {
    .kind = "escalation level",
    .path = "alerts.escalation[]",
    .intro = "What happens to an alert nobody acknowledged within its rule's `ack_sla`, level "
             "by level, each once.",
    .keys = escalation_keys,
    .elem_size = sizeof(struct pb_cfg_escalation),
    .has_line = 1,
    .line_off = OFF(pb_cfg_escalation, line),
};

#define PB_ALERTS_MAX_REASONS  20
#define PB_ALERTS_MAX_REASSIGN 20

static void alerts_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_alerts *a = obj;
    /* Each reason and target is a button whose token carries its index in five bits. */
    if (a->n_reasons > PB_ALERTS_MAX_REASONS)
        pb_cfg_error(ctx, pb_cfg_at(s, "reasons"), "%s: at most %d reasons, got %zu", label,
                     PB_ALERTS_MAX_REASONS, a->n_reasons);
    if (a->n_reassign > PB_ALERTS_MAX_REASSIGN)
        pb_cfg_error(ctx, pb_cfg_at(s, "reassign"), "%s: at most %d reassign teams, got %zu", label,
                     PB_ALERTS_MAX_REASSIGN, a->n_reassign);
    webhook_finish(ctx, s, label, a->webhook, a->webhook_secret_file, a->webhook_secret_credential);
    config_setting_t *levels = s ? config_setting_get_member(s, "escalation") : NULL;
    for (size_t i = 1; i < a->n_escalation; i++)
        if (a->escalation[i].after_ms < a->escalation[i - 1].after_ms)
            pb_cfg_error(ctx, pb_cfg_at(config_setting_get_elem(levels, (unsigned)i), "after"),
                         "%s: escalation level #%zu comes before level #%zu; list them in "
                         "order of `after`",
                         label, i + 1, i);
}

static const struct pb_cfg_key alerts_keys[] = {
    {.name = "reasons",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_alerts, reasons),
     .off_n = OFF(pb_cfg_alerts, n_reasons),
     .help = "Reason codes to resolve with (at most 20), offered as buttons once Resolve is "
             "pressed; none: Resolve resolves at once."},
    {.name = "reassign",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_alerts, reassign),
     .off_n = OFF(pb_cfg_alerts, n_reassign),
     .help = "Ids of the teams an alert can be handed to (at most 20), each a button."},
    {.name = "group_window",
     .type = PB_CFG_DURATION,
     .def_doc = "none",
     .off = OFF(pb_cfg_alerts, group_window_ms),
     .help = "Low scores of one rule from the same team within this time of an unresolved "
             "alert join it instead of raising another."},
    {.name = "escalation_channel",
     .type = PB_CFG_CHANNEL,
     .def_doc = "none",
     .off = OFF(pb_cfg_alerts, escalation_channel),
     .help = "Where the `channel` escalation level posts: `\"connector:address\"`."},
    {.name = "escalation",
     .type = PB_CFG_LIST,
     .sub = &escalation_block,
     .off = OFF(pb_cfg_alerts, escalation),
     .off_n = OFF(pb_cfg_alerts, n_escalation),
     .help = "The escalation levels: see `alerts.escalation[]`."},
    {.name = "webhook",
     .type = PB_CFG_STRING,
     .def_doc = "none",
     .check = &pb_cfg_check_url,
     .off = OFF(pb_cfg_alerts, webhook),
     .help = "Where the events of alerts whose rule names no webhook are posted."},
    {.name = "webhook_secret_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_alerts, webhook_secret_file),
     .help = "File holding the secret that signs those posts."},
    {.name = "webhook_secret_credential",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_alerts, webhook_secret_credential),
     .help = "The same secret as a systemd credential."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_alerts_block = {
    .path = "alerts",
    .intro = "What people can do with alerts, and what happens when nobody does. Every key is "
             "optional. See `docs/alerts.md`.",
    .keys = alerts_keys,
    .finish = alerts_finish,
};

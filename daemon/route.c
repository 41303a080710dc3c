/*
 * Routing: the rules that turn a low score into an alert for the team that owns it. Rules are
 * tried in order and the first that matches decides, unless it says `continue`.
 *
 * A comment arrives after its score (a later text answer in the same delivery), so rules are
 * tried twice. When the score is recorded, rules that need words cannot match yet and are
 * passed over; every other match raises its alert at once, so nobody waits for a comment that
 * may never come. When the comment is recorded it joins the delivery's alerts, and the rules
 * are tried again with it: a rule with words that now matches raises its alert, or, when the
 * delivery's alert came from a rule further down the list that the words rule would have
 * stopped, moves that alert to it, so the result is what first-match-wins gives with the
 * comment known. Rules without words are not raised again.
 *
 * A customer's answer follows the interaction its check-in was for, and a rule may ask for
 * that interaction's tags. Low scores join an open alert within alerts.group_window when they
 * share its group key: the team for employee answers, the customer for customer answers (or as
 * the rule says); each that joins is also a reply in the alert's thread.
 *
 * An anonymous survey never raises an alert, on its score or on its comment.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD "route"

#define MAX_DELIVERY_ALERTS 8
#define MAX_RULES           64 /* rules one answer can raise alerts by */

static int word_char(unsigned char c)
{
    /* Bytes of multi-byte UTF-8 characters count as letters, so "café" is one word. */
    return isalnum(c) || c == '_' || c >= 0x80;
}

int pb_route_words_match(const char *text, const char *const *words, size_t n_words)
{
    if (!text)
        return 0;
    for (size_t w = 0; w < n_words; w++) {
        const char *word = words[w];
        size_t len = strlen(word);
        if (len == 0)
            continue;
        for (const char *p = text; *p; p++) {
            if (p > text && word_char((unsigned char)p[-1]))
                continue;
            if (strncasecmp(p, word, len) == 0 && !word_char((unsigned char)p[len]))
                return 1;
        }
    }
    return 0;
}

int pb_route_tag_holds(const cJSON *tags, const char *want)
{
    const char *eq = strchr(want, '=');
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(eq ? (size_t)(eq - want) : strlen(want)), want);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(tags, name);
    if (!cJSON_IsString(v))
        return 0;
    if (!eq)
        return 1;
    size_t n = strlen(eq + 1);
    for (const char *p = v->valuestring;;) {
        size_t part = strcspn(p, ",");
        if (part == n && strncmp(p, eq + 1, n) == 0)
            return 1;
        if (!p[part])
            return 0;
        p += part + 1;
    }
}

int pb_route_tags_hold(const char *tags, const char *const *want, size_t n_want)
{
    if (n_want == 0)
        return 1;
    if (!tags)
        return 0; /* not an answer to a check-in: no interaction, no tags */
    cJSON *root = cJSON_Parse(tags);
    int all = cJSON_IsObject(root);
    for (size_t i = 0; all && i < n_want; i++)
        all = pb_route_tag_holds(root, want[i]);
    cJSON_Delete(root);
    return all;
}

int pb_route_rule_matches(const struct pb_config *cfg, const struct pb_cfg_route *r,
                          const struct pb_cfg_survey *s, const struct pb_answer *a,
                          const char *comment, const char *tags)
{
    if (!a->has_score)
        return 0;
    if (r->survey && strcmp(r->survey, s->id) != 0)
        return 0;
    if (r->kind && (int)s->kind != r->kind)
        return 0;
    if (r->team && (!a->team[0] || !pb_config_team_within(cfg, a->team, r->team)))
        return 0;
    if (a->score < r->min_score || a->score > r->max_score)
        return 0;
    /* A category means something on its own scale only: an NPS detractor is a 0 to 10
     * answer, a dissatisfied customer a 1 to 5 one. */
    if (r->category) {
        const struct pb_cfg_question *q = pb_config_question(s, a->question);
        int nps = r->category != PB_CATEGORY_CSAT_DISSATISFIED;
        if (!q || q->min != (nps ? 0 : 1) || q->max != (nps ? 10 : 5))
            return 0;
    }
    if (!pb_route_tags_hold(tags, r->tags, r->n_tags))
        return 0;
    return r->n_words == 0 || pb_route_words_match(comment, r->words, r->n_words);
}

const char *pb_route_mention(const struct pb_config *cfg, const char *team, int mention)
{
    if (mention == PB_MENTION_NONE)
        return NULL;
    const struct pb_cfg_team *t = pb_config_team(cfg, team);
    for (size_t steps = 0; t && steps <= cfg->n_teams; steps++) {
        const char *who = mention == PB_MENTION_MANAGER ? t->manager : t->on_call;
        if (who)
            return who;
        t = t->parent ? pb_config_team(cfg, t->parent) : NULL;
    }
    return NULL;
}

size_t pb_route_select(const struct pb_config *cfg, const struct pb_cfg_survey *s,
                       const struct pb_answer *a, const char *comment, const char *tags,
                       size_t *out, size_t max)
{
    size_t n = 0;
    if (s->anonymous)
        return 0; /* never an alert that could point to an anonymous person */
    for (size_t i = 0; i < cfg->n_routes && n < max; i++) {
        const struct pb_cfg_route *r = &cfg->routes[i];
        if (!pb_route_rule_matches(cfg, r, s, a, comment, tags))
            continue;
        out[n++] = i;
        if (!r->cont)
            break;
    }
    return n;
}

void pb_route_group_key(const struct pb_cfg_route *r, const struct pb_cfg_survey *s,
                        const struct pb_delivery *d, const struct pb_answer *a, char *out,
                        size_t len)
{
    int by = r->group_by;
    if (by == PB_GROUP_BY_KIND)
        by = s->kind == PB_SURVEY_CUSTOMER ? PB_GROUP_BY_CUSTOMER : PB_GROUP_BY_TEAM;
    out[0] = '\0';
    if (by == PB_GROUP_BY_TEAM && a->team[0])
        snprintf(out, len, "team:%s", a->team);
    else if (by == PB_GROUP_BY_CUSTOMER && strncmp(d->person, "customer:", 9) == 0)
        snprintf(out, len, "%s", d->person); /* the customer key, "customer:..." */
    else if (by == PB_GROUP_BY_CUSTOMER && d->person[0])
        snprintf(out, len, "person:%s", d->person);
}

/* Who a joining answer is from, for the thread reply: a customer by the name their
 * interaction gave, a person by name. */
static void answer_from(struct pb_engine *e, const struct pb_delivery *d, char *out, size_t len)
{
    struct pb_interaction in;
    if (pb_store_alert_interaction(e->store, d->id, &in) == PB_OK)
        snprintf(out, len, "%s", in.name[0] ? in.name : in.customer);
    else
        snprintf(out, len, "%s", pb_alert_person_name(e, d->person));
}

/* A low score joins the newest unresolved alert of the same rule and group key within the
 * window: the alert's message counts it, and a reply in its thread shows it. */
static int join_group(struct pb_engine *e, const struct pb_cfg_route *r,
                      const struct pb_delivery *d, const struct pb_answer *a, const char *comment,
                      const char *key, int *joined)
{
    *joined = 0;
    int64_t window = e->cfg->alerts.group_window_ms;
    if (window <= 0 || !key[0])
        return PB_OK;
    struct pb_alert al;
    int rc = pb_store_alert_group_find(e->store, r->id, key, a->created_ms - window, &al);
    if (rc == PB_ERR_UNKNOWN)
        return PB_OK;
    if (rc != PB_OK)
        return rc;
    rc = pb_store_alert_member_add(e->store, al.id, d->id, a->id);
    if (rc == PB_OK)
        rc = pb_store_alert_grouped(e->store, al.id, a->score);
    if (rc == PB_OK && comment) {
        rc = pb_store_alert_set_comment(e->store, al.id, comment);
    }
    if (rc == PB_OK)
        rc = pb_alert_event(e, al.id, "grouped", "", a->created_ms, "delivery %lld, score %d",
                            (long long)d->id, a->score);
    if (rc == PB_OK && al.outbox_id) {
        char from[160], text[1200];
        answer_from(e, d, from, sizeof from);
        int n =
            snprintf(text, sizeof text, "Another low score joined this alert: %d of %d from %s.",
                     a->score, al.scale_max, from);
        if (comment && n > 0 && (size_t)n < sizeof text)
            snprintf(text + n, sizeof text - (size_t)n, "\n\n%s", comment);
        struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .text = text};
        rc = pb_outbox_queue_reply(e, al.outbox_id, &m);
    }
    pb_alert_clear(&al);
    if (rc == PB_OK)
        rc = pb_store_alert_get(e->store, al.id, &al);
    if (rc == PB_OK) {
        rc = pb_alert_refresh(e, &al);
        pb_alert_clear(&al);
    }
    if (rc == PB_OK) {
        *joined = 1;
        pb_metrics_add("alerts_grouped", 1);
        pb_info(MOD, "a score of %d joined alert %lld (rule %s)", a->score, (long long)al.id,
                r->id);
    }
    return rc;
}

static int raise_alert(struct pb_engine *e, const struct pb_cfg_route *r,
                       const struct pb_delivery *d, const struct pb_cfg_survey *s,
                       const struct pb_cfg_question *q, const struct pb_answer *a,
                       const char *comment)
{
    int joined;
    char key[160];
    pb_route_group_key(r, s, d, a, key, sizeof key);
    int rc = join_group(e, r, d, a, comment, key, &joined);
    if (rc != PB_OK || joined)
        return rc;
    /* Without a channel of its own the rule's alert goes to the team's, or its nearest
     * parent's, and that team owns it (its people may act on it). */
    const struct pb_cfg_team *owner = r->channel.connector
                                          ? pb_config_team(e->cfg, r->alert_team)
                                          : pb_roster_alert_team(e->roster, r->alert_team);
    if (!owner) {
        pb_err(MOD, "rule %s: team %s has no channel for alerts; give it a channel", r->id,
               r->alert_team);
        return PB_OK; /* the answer is still kept */
    }
    const struct pb_cfg_channel *ch = r->channel.connector ? &r->channel : &owner->channel;
    struct pb_alert al = {.delivery_id = d->id, .answer_id = a->id, .state = PB_ALERT_OPEN};
    al.score = a->score;
    al.last_score = a->score;
    al.group_count = 1;
    al.scale_min = q->min;
    al.scale_max = q->max;
    al.created_ms = pb_now_ms();
    al.comment = (char *)comment;
    pb_copy(al.rule, sizeof al.rule, r->id);
    pb_copy(al.team, sizeof al.team, owner->id);
    pb_copy(al.connector, sizeof al.connector, ch->connector);
    pb_copy(al.channel, sizeof al.channel, ch->address);
    pb_copy(al.survey, sizeof al.survey, d->survey);
    pb_copy(al.question, sizeof al.question, q->id);
    pb_copy(al.subject, sizeof al.subject, a->person);
    pb_copy(al.answer_team, sizeof al.answer_team, a->team);
    pb_copy(al.mention, sizeof al.mention, pb_route_mention(e->cfg, owner->id, r->mention));
    pb_copy(al.group_key, sizeof al.group_key, key);
    al.ack_sla_ms = r->ack_sla_ms;
    al.resolve_sla_ms = r->resolve_sla_ms;
    pb_escalation_arm(e->cfg, &al, al.created_ms);
    rc = pb_store_alert_insert(e->store, &al);
    struct pb_alert_view v;
    if (rc == PB_OK)
        rc = pb_alert_render(e, &al, &v);
    if (rc == PB_OK)
        rc = pb_outbox_queue(e, al.connector, PB_TARGET_CHANNEL, al.channel, &v.m, &al.outbox_id);
    if (rc == PB_OK)
        rc = pb_store_alert_set_outbox(e->store, al.id, al.outbox_id);
    if (rc == PB_OK)
        rc = pb_alert_event(e, al.id, "raised", "", al.created_ms, "rule %s, score %d, team %s",
                            r->id, a->score, owner->id);
    if (rc == PB_OK) {
        pb_metrics_add("alerts_raised", 1);
        pb_notice(MOD, "alert %lld raised by rule %s for team %s (score %d)", (long long)al.id,
                  r->id, owner->id, a->score);
    }
    return rc;
}

/* The comment joins the alerts of its delivery: appended to an alert that stands for this
 * delivery alone, or as the latest comment of a grouped one. */
static int attach_comment(struct pb_engine *e, const struct pb_delivery *d,
                          const struct pb_answer *a, struct pb_alert *alerts, size_t n)
{
    int rc = PB_OK;
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        struct pb_alert *al = &alerts[i];
        int own = al->delivery_id == d->id && al->group_count <= 1;
        size_t old = own && al->comment ? strlen(al->comment) : 0;
        char *comment = malloc(old + strlen(a->text) + 3);
        if (!comment) {
            rc = PB_ERR_NOMEM;
            break;
        }
        sprintf(comment, "%s%s%s", old ? al->comment : "", old ? "\n\n" : "", a->text);
        free(al->comment);
        al->comment = comment;
        rc = pb_store_alert_set_comment(e->store, al->id, comment);
        if (rc == PB_OK)
            rc = pb_alert_event(e, al->id, "commented", "", a->created_ms, "delivery %lld",
                                (long long)d->id);
        if (rc == PB_OK)
            rc = pb_alert_refresh(e, al);
    }
    return rc;
}

static int rule_index(const struct pb_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* The delivery's newest scored answer and its question. */
static int scored_answer(struct pb_engine *e, const struct pb_delivery *d,
                         const struct pb_cfg_survey *s, struct pb_answer *out,
                         const struct pb_cfg_question **q)
{
    int rc = PB_ERR_UNKNOWN;
    for (size_t i = 0; i < s->n_questions; i++) {
        if (s->questions[i].type != PB_QUESTION_SCALE)
            continue;
        struct pb_answer a;
        int got = pb_store_answer_get(e->store, d->id, s->questions[i].id, &a);
        if (got == PB_ERR_UNKNOWN)
            continue;
        if (got != PB_OK)
            return got;
        if (a.has_score && (rc != PB_OK || a.id > out->id)) {
            if (rc == PB_OK)
                pb_answer_clear(out);
            *out = a;
            *q = &s->questions[i];
            rc = PB_OK;
        } else {
            pb_answer_clear(&a);
        }
    }
    return rc;
}

/* The second pass, with the comment known (see the top of the file). */
static int route_comment(struct pb_engine *e, const struct pb_delivery *d,
                         const struct pb_cfg_survey *s, const struct pb_answer *text,
                         const char *tags, struct pb_alert *alerts, size_t n)
{
    const struct pb_config *cfg = e->cfg;
    struct pb_answer a = {0};
    const struct pb_cfg_question *q = NULL;
    int rc = scored_answer(e, d, s, &a, &q);
    if (rc == PB_ERR_UNKNOWN)
        return PB_OK;
    size_t picked[MAX_RULES];
    size_t m = rc == PB_OK ? pb_route_select(cfg, s, &a, text->text, tags, picked, MAX_RULES) : 0;
    for (size_t j = 0; rc == PB_OK && j < m; j++) {
        size_t i = picked[j];
        const struct pb_cfg_route *r = &cfg->routes[i];
        int done = r->n_words == 0; /* raised with the score already */
        for (size_t k = 0; !done && k < n; k++)
            done = strcmp(alerts[k].rule, r->id) == 0;
        /* An alert of this delivery alone, from a rule this one stops before: move it. */
        for (size_t k = 0; !done && !r->cont && k < n; k++) {
            struct pb_alert *al = &alerts[k];
            int from = rule_index(cfg, al->rule);
            if (al->state == PB_ALERT_RESOLVED || al->delivery_id != d->id || al->group_count > 1 ||
                from <= (int)i)
                continue;
            const struct pb_cfg_team *owner = r->channel.connector
                                                  ? pb_config_team(cfg, r->alert_team)
                                                  : pb_roster_alert_team(e->roster, r->alert_team);
            if (!owner)
                break;
            char why[160];
            snprintf(why, sizeof why, "rule %s matched the comment", r->id);
            rc = pb_alert_move(e, al, owner, r->channel.connector ? &r->channel : NULL, r, "",
                               text->created_ms, "rerouted", why);
            if (rc == PB_OK)
                pb_metrics_add("alerts_rerouted", 1);
            done = 1;
        }
        if (!done) {
            a.created_ms = text->created_ms;
            rc = raise_alert(e, r, d, s, q, &a, text->text);
        }
    }
    pb_answer_clear(&a);
    return rc;
}

int pb_route_answer(struct pb_engine *e, const struct pb_delivery *d, const struct pb_cfg_survey *s,
                    const struct pb_cfg_question *q, const struct pb_answer *a)
{
    if (s->anonymous)
        return PB_OK; /* never an alert that could point to an anonymous person */
    if (!a->has_score && (!a->text || !a->text[0]))
        return PB_OK;
    /* A customer's answer: the interaction its check-in followed, for rules on tags. */
    struct pb_interaction *in = malloc(sizeof *in);
    if (!in)
        return PB_ERR_NOMEM;
    int rc = pb_store_alert_interaction(e->store, d->id, in);
    const char *tags = rc == PB_OK ? in->tags : NULL;
    rc = rc == PB_ERR_UNKNOWN ? PB_OK : rc;
    if (rc == PB_OK && !a->has_score) {
        struct pb_alert alerts[MAX_DELIVERY_ALERTS];
        size_t n = 0;
        rc = pb_store_alert_for_delivery(e->store, d->id, alerts, MAX_DELIVERY_ALERTS, &n);
        if (rc == PB_OK)
            rc = attach_comment(e, d, a, alerts, n);
        if (rc == PB_OK)
            rc = route_comment(e, d, s, a, tags, alerts, n);
        for (size_t i = 0; i < n; i++)
            pb_alert_clear(&alerts[i]);
    } else if (rc == PB_OK) {
        size_t picked[MAX_RULES];
        size_t m = pb_route_select(e->cfg, s, a, NULL, tags, picked, MAX_RULES);
        for (size_t j = 0; rc == PB_OK && j < m; j++)
            rc = raise_alert(e, &e->cfg->routes[picked[j]], d, s, q, a, NULL);
    }
    free(in);
    return rc;
}

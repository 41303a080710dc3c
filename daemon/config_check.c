/*
 * The checks that need the whole file: unique ids, references between blocks (a person's team,
 * a route's alert team, a branch's target question), loops in team trees and in surveys, and
 * audiences that reach nobody. They run after parsing, also when parsing found errors, so one
 * run reports everything; every field may therefore be NULL here.
 *
 * Items are matched to their libconfig settings by position: the parser keeps one struct per
 * list element, in order, so teams[i] came from the i-th element of "teams".
 */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static config_setting_t *item(struct pb_cfg_ctx *ctx, const char *list, size_t i)
{
    config_setting_t *l = config_lookup(&ctx->priv->lc, list);
    if (!l || !config_setting_is_aggregate(l))
        return NULL;
    return config_setting_get_elem(l, (unsigned)i);
}

static config_setting_t *elem(config_setting_t *s, const char *key, size_t i)
{
    config_setting_t *l =
        s && config_setting_is_group(s) ? config_setting_get_member(s, key) : NULL;
    return l && config_setting_is_aggregate(l) ? config_setting_get_elem(l, (unsigned)i) : NULL;
}

static void hint_for(char *buf, size_t len, const char *word, const void *base, size_t n,
                     size_t stride)
{
    /* Every struct searched here has its id (or name) first. */
    pb_cfg_hint(buf, len, pb_cfg_suggest(word, base, n, stride, 0));
}

/* ---- duplicates ---------------------------------------------------------------------- */

struct dup_entry {
    const char *scope; /* "" for ids; the connector for handles */
    const char *key;
    size_t index;
    const config_setting_t *at;
};

static int dup_cmp(const void *a, const void *b)
{
    const struct dup_entry *x = a, *y = b;
    int c = strcmp(x->scope, y->scope);
    if (!c)
        c = strcmp(x->key, y->key);
    if (!c)
        c = x->index < y->index ? -1 : x->index > y->index;
    return c;
}

/* Sorting keeps this linear-ish for large rosters; each later duplicate is reported against
 * the first definition. */
static void check_unique(struct pb_cfg_ctx *ctx, const char *list, const char *what,
                         const void *base, size_t n, size_t stride)
{
    struct dup_entry *e = calloc(n ? n : 1, sizeof *e);
    size_t m = 0;
    if (!e)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *id = *(const char *const *)((const char *)base + i * stride);
        if (id)
            e[m++] = (struct dup_entry){"", id, i, item(ctx, list, i)};
    }
    qsort(e, m, sizeof *e, dup_cmp);
    for (size_t i = 1; i < m; i++) {
        size_t first = i - 1;
        while (i < m && strcmp(e[i].key, e[first].key) == 0) {
            pb_cfg_error(ctx, e[i].at, "duplicate %s \"%s\" (first defined at line %u)", what,
                         e[i].key, e[first].at ? config_setting_source_line(e[first].at) : 0);
            i++;
        }
    }
    free(e);
}

/* ---- teams ----------------------------------------------------------------------------- */

static void check_team_cycle(struct pb_cfg_ctx *ctx, size_t i)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_team *t = &cfg->teams[i];
    const struct pb_cfg_team *cur = t;
    /* A walk longer than the number of teams has looped; report a loop once, from its
     * earliest team, and only if the walk comes back to where it began. */
    for (size_t steps = 0; steps <= cfg->n_teams; steps++) {
        cur = cur->parent ? pb_config_team(cfg, cur->parent) : NULL;
        if (!cur)
            return;
        if ((size_t)(cur - cfg->teams) < i)
            return;
        if (cur == t)
            break;
    }
    if (cur != t)
        return;
    char path[512];
    size_t n = (size_t)snprintf(path, sizeof path, "%s", t->id);
    cur = t;
    do {
        cur = pb_config_team(cfg, cur->parent);
        if (n < sizeof path)
            n += (size_t)snprintf(path + n, sizeof path - n, " -> %s", cur->id);
    } while (cur != t);
    pb_cfg_error(ctx, pb_cfg_at(item(ctx, "teams", i), "parent"),
                 "team \"%s\": parent chain loops back to itself: %s", t->id, path);
}

static void check_teams(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    char hint[128];
    check_unique(ctx, "teams", "team id", cfg->teams, cfg->n_teams, sizeof *cfg->teams);
    for (size_t i = 0; i < cfg->n_teams; i++) {
        const struct pb_cfg_team *t = &cfg->teams[i];
        config_setting_t *s = item(ctx, "teams", i);
        if (!t->id)
            continue;
        if (t->parent && !pb_config_team(cfg, t->parent)) {
            hint_for(hint, sizeof hint, t->parent, cfg->teams, cfg->n_teams, sizeof *t);
            pb_cfg_error(ctx, pb_cfg_at(s, "parent"), "team \"%s\": parent: unknown team \"%s\"%s",
                         t->id, t->parent, hint);
        }
        if (t->manager && !pb_config_person(cfg, t->manager)) {
            hint_for(hint, sizeof hint, t->manager, cfg->people, cfg->n_people,
                     sizeof *cfg->people);
            pb_cfg_error(ctx, pb_cfg_at(s, "manager"),
                         "team \"%s\": manager: unknown person \"%s\"%s", t->id, t->manager, hint);
        }
        if (t->on_call && !pb_config_person(cfg, t->on_call)) {
            hint_for(hint, sizeof hint, t->on_call, cfg->people, cfg->n_people,
                     sizeof *cfg->people);
            pb_cfg_error(ctx, pb_cfg_at(s, "on_call"),
                         "team \"%s\": on_call: unknown person \"%s\"%s", t->id, t->on_call, hint);
        }
        if (t->channel.connector && !pb_config_connector(cfg, t->channel.connector)) {
            hint_for(hint, sizeof hint, t->channel.connector, cfg->connectors, cfg->n_connectors,
                     sizeof *cfg->connectors);
            pb_cfg_error(ctx, pb_cfg_at(s, "channel"),
                         "team \"%s\": channel: unknown connector \"%s\"%s", t->id,
                         t->channel.connector, hint);
        }
        check_team_cycle(ctx, i);
    }
}

/* ---- people ---------------------------------------------------------------------------- */

/* Two people with one handle on a connector would make every answer from it ambiguous. A
 * connector with implicit handles gives everyone without an explicit one their id. */
static void check_handles_unique(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    size_t cap = 0;
    for (size_t i = 0; i < cfg->n_people; i++)
        cap += cfg->people[i].n_handles + cfg->n_connectors;
    struct dup_entry *e = calloc(cap ? cap : 1, sizeof *e);
    size_t m = 0;
    if (!e)
        return;
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        config_setting_t *s = item(ctx, "people", i);
        for (size_t h = 0; h < p->n_handles; h++)
            e[m++] =
                (struct dup_entry){p->handles[h].connector, p->handles[h].user, i,
                                   pb_cfg_at(pb_cfg_at(s, "handles"), p->handles[h].connector)};
        for (size_t c = 0; p->id && c < cfg->n_connectors; c++) {
            const struct pb_cfg_connector *con = &cfg->connectors[c];
            int explicit = 0;
            for (size_t h = 0; h < p->n_handles; h++)
                explicit |= con->name && strcmp(p->handles[h].connector, con->name) == 0;
            if (con->name && con->implicit_handles && !explicit)
                e[m++] = (struct dup_entry){con->name, p->id, i, s};
        }
    }
    qsort(e, m, sizeof *e, dup_cmp);
    for (size_t i = 1; i < m; i++) {
        size_t first = i - 1;
        while (i < m && strcmp(e[i].scope, e[first].scope) == 0 &&
               strcmp(e[i].key, e[first].key) == 0) {
            if (e[i].index != e[first].index)
                pb_cfg_error(ctx, e[i].at,
                             "person \"%s\": handle \"%s\" on connector \"%s\" is also the "
                             "handle of person \"%s\"",
                             cfg->people[e[i].index].id ? cfg->people[e[i].index].id : "?",
                             e[i].key, e[i].scope,
                             cfg->people[e[first].index].id ? cfg->people[e[first].index].id : "?");
            i++;
        }
    }
    free(e);
}

static void check_people(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    char hint[128];
    check_unique(ctx, "people", "person id", cfg->people, cfg->n_people, sizeof *cfg->people);
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        config_setting_t *s = item(ctx, "people", i);
        if (!p->id)
            continue;
        if (p->team && !pb_config_team(cfg, p->team)) {
            hint_for(hint, sizeof hint, p->team, cfg->teams, cfg->n_teams, sizeof *cfg->teams);
            pb_cfg_error(ctx, pb_cfg_at(s, "team"), "person \"%s\": team: unknown team \"%s\"%s",
                         p->id, p->team, hint);
        }
        for (size_t h = 0; h < p->n_handles; h++) {
            const char *con = p->handles[h].connector;
            if (pb_config_connector(cfg, con))
                continue;
            hint_for(hint, sizeof hint, con, cfg->connectors, cfg->n_connectors,
                     sizeof *cfg->connectors);
            pb_cfg_error(ctx, pb_cfg_at(pb_cfg_at(s, "handles"), con),
                         "person \"%s\": handles: unknown connector \"%s\"%s", p->id, con, hint);
        }
    }
    check_handles_unique(ctx);
}

/* ---- surveys --------------------------------------------------------------------------- */

struct walk {
    struct pb_cfg_ctx *ctx;
    const struct pb_cfg_survey *sv;
    config_setting_t *s;
    char *color; /* 0 unvisited, 1 on the current path, 2 done */
    size_t *path;
    size_t depth;
};

static void visit(struct walk *w, size_t q);

static void follow(struct walk *w, const char *target)
{
    const struct pb_cfg_question *t = target ? pb_config_question(w->sv, target) : NULL;
    if (!t)
        return;
    size_t v = (size_t)(t - w->sv->questions);
    if (w->color[v] == 2)
        return;
    if (w->color[v] == 0) {
        visit(w, v);
        return;
    }
    /* A way back to a question on the current path: the path from there is the loop. */
    char text[512];
    size_t n = 0, start = 0;
    while (w->path[start] != v)
        start++;
    for (size_t i = start; i < w->depth && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s -> ", w->sv->questions[w->path[i]].id);
    if (n < sizeof text)
        snprintf(text + n, sizeof text - n, "%s", t->id);
    pb_cfg_error(w->ctx, elem(w->s, "questions", v),
                 "survey \"%s\": question \"%s\" can be reached again from itself: %s", w->sv->id,
                 t->id, text);
}

static void visit(struct walk *w, size_t q)
{
    const struct pb_cfg_question *qu = &w->sv->questions[q];
    w->color[q] = 1;
    w->path[w->depth++] = q;
    for (size_t b = 0; b < qu->n_branches; b++)
        follow(w, qu->branches[b].next);
    follow(w, qu->next);
    w->depth--;
    w->color[q] = 2;
}

static void check_loops(struct pb_cfg_ctx *ctx, const struct pb_cfg_survey *sv, config_setting_t *s)
{
    size_t n = sv->n_questions;
    struct walk w = {ctx, sv, s, calloc(n ? n : 1, 1), calloc(n ? n : 1, sizeof(size_t)), 0};
    if (w.color && w.path)
        for (size_t q = 0; q < n; q++)
            if (!w.color[q] && sv->questions[q].id)
                visit(&w, q);
    free(w.color);
    free(w.path);
}

static void check_target(struct pb_cfg_ctx *ctx, const struct pb_cfg_survey *sv,
                         const config_setting_t *at, const char *target, const char *what)
{
    if (!target || pb_config_question(sv, target))
        return;
    char hint[128];
    hint_for(hint, sizeof hint, target, sv->questions, sv->n_questions, sizeof *sv->questions);
    pb_cfg_error(ctx, at, "survey \"%s\": %s goes to unknown question \"%s\"%s", sv->id, what,
                 target, hint);
}

static void check_survey(struct pb_cfg_ctx *ctx, const struct pb_cfg_survey *sv,
                         config_setting_t *s)
{
    char what[256];
    /* Question ids are unique within their survey; "end" would be ambiguous as a target. */
    for (size_t q = 0; q < sv->n_questions; q++) {
        const struct pb_cfg_question *qu = &sv->questions[q];
        config_setting_t *qs = elem(s, "questions", q);
        if (!qu->id)
            continue;
        if (strcmp(qu->id, "end") == 0)
            pb_cfg_error(ctx, pb_cfg_at(qs, "id"),
                         "survey \"%s\": \"end\" is reserved and cannot be a question id", sv->id);
        for (size_t p = 0; p < q; p++) {
            if (sv->questions[p].id && strcmp(sv->questions[p].id, qu->id) == 0) {
                config_setting_t *ps = elem(s, "questions", p);
                pb_cfg_error(ctx, pb_cfg_at(qs, "id"),
                             "survey \"%s\": duplicate question id \"%s\" (first defined at line "
                             "%u)",
                             sv->id, qu->id, ps ? config_setting_source_line(ps) : 0);
                break;
            }
        }
        for (size_t b = 0; b < qu->n_branches; b++) {
            snprintf(what, sizeof what, "branch #%zu of question \"%s\"", b + 1, qu->id);
            check_target(ctx, sv, pb_cfg_at(elem(qs, "branches", b), "next"), qu->branches[b].next,
                         what);
        }
        /* A default next is the following question, which exists by construction. */
        if (pb_cfg_has(qs, "next")) {
            snprintf(what, sizeof what, "question \"%s\"", qu->id);
            check_target(ctx, sv, pb_cfg_at(qs, "next"), qu->next, what);
        }
    }
    check_loops(ctx, sv, s);
}

static void check_surveys(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    check_unique(ctx, "surveys", "survey id", cfg->surveys, cfg->n_surveys, sizeof *cfg->surveys);
    for (size_t i = 0; i < cfg->n_surveys; i++)
        if (cfg->surveys[i].id)
            check_survey(ctx, &cfg->surveys[i], item(ctx, "surveys", i));
}

/* ---- schedules and routing ------------------------------------------------------------- */

static void check_survey_ref(struct pb_cfg_ctx *ctx, const config_setting_t *s, const char *label,
                             const char *survey)
{
    const struct pb_config *cfg = ctx->cfg;
    if (!survey || pb_config_survey(cfg, survey))
        return;
    char hint[128];
    hint_for(hint, sizeof hint, survey, cfg->surveys, cfg->n_surveys, sizeof *cfg->surveys);
    pb_cfg_error(ctx, pb_cfg_at(s, "survey"), "%s: survey: unknown survey \"%s\"%s", label, survey,
                 hint);
}

static int in_list(const char *id, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return 1;
    return 0;
}

static void check_audience(struct pb_cfg_ctx *ctx, const struct pb_cfg_schedule *sc,
                           config_setting_t *s)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_audience *a = &sc->audience;
    config_setting_t *as = s ? config_setting_get_member(s, "audience") : NULL;
    char hint[128];
    int unknown = 0;
    if (!as)
        return; /* reported as missing */
    /* A list of the wrong type was reported already; "names nobody" would only repeat it. */
    for (size_t l = 0; l < 3; l++) {
        static const char *const lists[] = {"teams", "people", "exclude"};
        config_setting_t *m = config_setting_get_member(as, lists[l]);
        if (m && !config_setting_is_aggregate(m))
            unknown++;
    }
    for (size_t i = 0; i < a->n_teams; i++) {
        if (pb_config_team(cfg, a->teams[i]))
            continue;
        unknown++;
        hint_for(hint, sizeof hint, a->teams[i], cfg->teams, cfg->n_teams, sizeof *cfg->teams);
        pb_cfg_error(ctx, elem(as, "teams", i),
                     "schedule \"%s\": audience.teams: unknown team \"%s\"%s", sc->id, a->teams[i],
                     hint);
    }
    const char *const keys[] = {"people", "exclude"};
    const char **lists[] = {a->people, a->exclude};
    size_t counts[] = {a->n_people, a->n_exclude};
    for (size_t l = 0; l < 2; l++) {
        for (size_t i = 0; i < counts[l]; i++) {
            if (pb_config_person(cfg, lists[l][i]))
                continue;
            unknown++;
            hint_for(hint, sizeof hint, lists[l][i], cfg->people, cfg->n_people,
                     sizeof *cfg->people);
            pb_cfg_error(ctx, elem(as, keys[l], i),
                         "schedule \"%s\": audience.%s: unknown person \"%s\"%s", sc->id, keys[l],
                         lists[l][i], hint);
        }
    }
    if (!unknown && !a->n_teams && !a->n_people) {
        pb_cfg_error(ctx, as,
                     "schedule \"%s\": the audience names nobody: give audience.teams "
                     "or audience.people",
                     sc->id);
        return;
    }
    if (unknown)
        return; /* an empty audience would only repeat that */
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        if (!p->id || in_list(p->id, a->exclude, a->n_exclude))
            continue;
        if (in_list(p->id, a->people, a->n_people))
            return;
        for (size_t t = 0; p->team && t < a->n_teams; t++)
            if (pb_config_team_within(cfg, p->team, a->teams[t]))
                return;
    }
    pb_cfg_error(ctx, as,
                 "schedule \"%s\": the audience has nobody in it (its teams have no people, or "
                 "everyone is excluded)",
                 sc->id);
}

static void check_schedules(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    char label[128];
    check_unique(ctx, "schedules", "schedule id", cfg->schedules, cfg->n_schedules,
                 sizeof *cfg->schedules);
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        const struct pb_cfg_schedule *sc = &cfg->schedules[i];
        config_setting_t *s = item(ctx, "schedules", i);
        if (!sc->id)
            continue;
        snprintf(label, sizeof label, "schedule \"%s\"", sc->id);
        check_survey_ref(ctx, s, label, sc->survey);
        check_audience(ctx, sc, s);
    }
}

static int has_channel(const struct pb_config *cfg, const struct pb_cfg_team *t)
{
    for (size_t steps = 0; t && steps <= cfg->n_teams; steps++) {
        if (t->channel.connector)
            return 1;
        t = t->parent ? pb_config_team(cfg, t->parent) : NULL;
    }
    return 0;
}

static void check_team_ref(struct pb_cfg_ctx *ctx, const config_setting_t *s, const char *label,
                           const char *key, const char *team)
{
    const struct pb_config *cfg = ctx->cfg;
    char hint[128];
    hint_for(hint, sizeof hint, team, cfg->teams, cfg->n_teams, sizeof *cfg->teams);
    pb_cfg_error(ctx, pb_cfg_at(s, key), "%s: %s: unknown team \"%s\"%s", label, key, team, hint);
}

static void check_channel_ref(struct pb_cfg_ctx *ctx, const config_setting_t *s, const char *label,
                              const char *key, const struct pb_cfg_channel *ch)
{
    const struct pb_config *cfg = ctx->cfg;
    if (!ch->connector || pb_config_connector(cfg, ch->connector))
        return;
    char hint[128];
    hint_for(hint, sizeof hint, ch->connector, cfg->connectors, cfg->n_connectors,
             sizeof *cfg->connectors);
    pb_cfg_error(ctx, pb_cfg_at(s, key), "%s: %s: unknown connector \"%s\"%s", label, key,
                 ch->connector, hint);
}

/* The person a mention names for a team: its own, else its nearest parent's. */
static const char *mention_of(const struct pb_config *cfg, const struct pb_cfg_team *t, int mention)
{
    for (size_t steps = 0; t && steps <= cfg->n_teams; steps++) {
        const char *who = mention == PB_MENTION_MANAGER ? t->manager : t->on_call;
        if (who)
            return who;
        t = t->parent ? pb_config_team(cfg, t->parent) : NULL;
    }
    return NULL;
}

static void check_route_alert(struct pb_cfg_ctx *ctx, const struct pb_cfg_route *r,
                              config_setting_t *s, const char *label)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_team *alert = pb_config_team(cfg, r->alert_team);
    if (!alert) {
        check_team_ref(ctx, s, label, "alert", r->alert_team);
        return;
    }
    if (!r->channel.connector && !has_channel(cfg, alert))
        pb_cfg_error(ctx, pb_cfg_at(s, "alert"),
                     "%s: team \"%s\" has no channel for alerts, and neither has any team "
                     "above it: give it channel = \"connector:address\"",
                     label, r->alert_team);
    if (r->mention != PB_MENTION_NONE && !mention_of(cfg, alert, r->mention))
        pb_cfg_error(ctx, pb_cfg_at(s, "mention"),
                     "%s: mention = \"%s\", but team \"%s\" and the teams above it have no %s",
                     label, r->mention == PB_MENTION_MANAGER ? "manager" : "on_call", r->alert_team,
                     r->mention == PB_MENTION_MANAGER ? "manager" : "on_call");
}

static void check_routes(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    char label[128];
    check_unique(ctx, "routing", "route id", cfg->routes, cfg->n_routes, sizeof *cfg->routes);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const struct pb_cfg_route *r = &cfg->routes[i];
        config_setting_t *s = item(ctx, "routing", i);
        if (!r->id)
            continue;
        snprintf(label, sizeof label, "route \"%s\"", r->id);
        check_survey_ref(ctx, s, label, r->survey);
        if (r->team && !pb_config_team(cfg, r->team))
            check_team_ref(ctx, s, label, "team", r->team);
        check_channel_ref(ctx, s, label, "channel", &r->channel);
        for (size_t w = 0; w < r->n_words; w++) {
            const char *word = r->words[w];
            size_t n = strspn(word, " \t");
            if (!word[n])
                pb_cfg_error(ctx, elem(s, "words", w), "%s: words: an empty word matches nothing",
                             label);
        }
        if (r->alert_team)
            check_route_alert(ctx, r, s, label);
        /* A re-ask is a check-in: sooner than the contact cap, the cap would skip it. */
        if (r->reask_after_ms && r->reask_after_ms < cfg->checkins.contact_cap_ms)
            pb_cfg_error(ctx, pb_cfg_at(s, "reask_after"),
                         "%s: reask_after is shorter than checkins.contact_cap, which would "
                         "skip the re-ask; make it at least as long",
                         label);
    }
}

static void check_alerts(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_alerts *a = &cfg->alerts;
    config_setting_t *s = config_lookup(&ctx->priv->lc, "alerts");
    char hint[128];
    for (size_t i = 0; i < a->n_reassign; i++) {
        const struct pb_cfg_team *t = pb_config_team(cfg, a->reassign[i]);
        if (!t) {
            hint_for(hint, sizeof hint, a->reassign[i], cfg->teams, cfg->n_teams,
                     sizeof *cfg->teams);
            pb_cfg_error(ctx, elem(s, "reassign", i), "alerts: reassign: unknown team \"%s\"%s",
                         a->reassign[i], hint);
        } else if (!has_channel(cfg, t)) {
            pb_cfg_error(ctx, elem(s, "reassign", i),
                         "alerts: reassign: team \"%s\" has no channel for alerts, and neither "
                         "has any team above it",
                         a->reassign[i]);
        }
    }
    for (size_t i = 0; i < a->n_reasons; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->reasons[i], a->reasons[j]) == 0) {
                pb_cfg_error(ctx, elem(s, "reasons", i), "alerts: reasons: \"%s\" is listed twice",
                             a->reasons[i]);
                break;
            }
    check_channel_ref(ctx, s, "alerts", "escalation_channel", &a->escalation_channel);
    for (size_t i = 0; i < a->n_escalation; i++)
        if (a->escalation[i].to == PB_ESCALATE_CHANNEL && !a->escalation_channel.connector) {
            pb_cfg_error(ctx, pb_cfg_at(elem(s, "escalation", i), "to"),
                         "alerts: escalation level #%zu goes to the escalation channel, but "
                         "alerts.escalation_channel is not set",
                         i + 1);
            break;
        }
}

/* ---- check-ins ------------------------------------------------------------------------- */

const struct pb_cfg_checkin_source *pb_config_checkin_source(const struct pb_config *cfg,
                                                             const char *id)
{
    for (size_t i = 0; id && i < cfg->checkins.n_sources; i++)
        if (cfg->checkins.sources[i].id && strcmp(cfg->checkins.sources[i].id, id) == 0)
            return &cfg->checkins.sources[i];
    return NULL;
}

/* A JSON pointer is "" or "/"-separated tokens where '~' is only ever "~0" or "~1". */
static int pointer_ok(const char *p)
{
    for (const char *c = p; *c; c++)
        if (*c == '~' && c[1] != '0' && c[1] != '1')
            return 0;
    return 1;
}

static void check_field(struct pb_cfg_ctx *ctx, const config_setting_t *at, const char *label,
                        const char *key, const char *value)
{
    if (value && value[0] == '/' && !pointer_ok(value))
        pb_cfg_error(ctx, at,
                     "%s: fields.%s: \"%s\" is not a JSON pointer: '~' must be followed by 0 "
                     "or 1",
                     label, key, value);
}

static void check_sources(struct pb_cfg_ctx *ctx, config_setting_t *cs)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_checkins *c = &cfg->checkins;
    char label[128], hint[128];
    config_setting_t *list = cs ? config_setting_get_member(cs, "sources") : NULL;
    for (size_t i = 0; i < c->n_sources; i++) {
        const struct pb_cfg_checkin_source *src = &c->sources[i];
        config_setting_t *s = list ? config_setting_get_elem(list, (unsigned)i) : NULL;
        if (!src->id)
            continue;
        for (size_t j = 0; j < i; j++)
            if (c->sources[j].id && strcmp(c->sources[j].id, src->id) == 0)
                pb_cfg_error(ctx, pb_cfg_at(s, "id"), "duplicate source id \"%s\"", src->id);
        snprintf(label, sizeof label, "checkins: source \"%s\"", src->id);
        if (src->connector && !pb_config_connector(cfg, src->connector)) {
            hint_for(hint, sizeof hint, src->connector, cfg->connectors, cfg->n_connectors,
                     sizeof *cfg->connectors);
            pb_cfg_error(ctx, pb_cfg_at(s, "connector"),
                         "%s: connector: unknown connector \"%s\"%s", label, src->connector, hint);
        }
        for (size_t j = 0; src->connector && j < i; j++)
            if (c->sources[j].connector && strcmp(c->sources[j].connector, src->connector) == 0)
                pb_cfg_error(ctx, pb_cfg_at(s, "connector"),
                             "%s: connector \"%s\" is already the connector of source \"%s\"",
                             label, src->connector, c->sources[j].id);
        const struct pb_cfg_checkin_fields *f = &src->fields;
        config_setting_t *fs = s ? config_setting_get_member(s, "fields") : NULL;
        const char *const names[] = {"id",
                                     "customer_id",
                                     "customer_name",
                                     "customer_email",
                                     "customer_locale",
                                     "customer_timezone",
                                     "connector",
                                     "user",
                                     "team",
                                     "agent",
                                     "channel",
                                     "touchpoint",
                                     "closed_at"};
        const char *const values[] = {f->id,
                                      f->customer_id,
                                      f->customer_name,
                                      f->customer_email,
                                      f->customer_locale,
                                      f->customer_timezone,
                                      f->connector,
                                      f->user,
                                      f->team,
                                      f->agent,
                                      f->channel,
                                      f->touchpoint,
                                      f->closed_at};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            check_field(ctx, pb_cfg_at(fs, names[k]), label, names[k], values[k]);
        for (size_t k = 0; k < f->n_tags; k++)
            check_field(ctx, pb_cfg_at(pb_cfg_at(fs, "tags"), f->tags[k].connector), label, "tags",
                        f->tags[k].user);
        if (!src->connector && (!f->id || !f->customer_id))
            pb_cfg_error(ctx, fs ? fs : s,
                         "%s: fields: give at least id and customer_id, so that each "
                         "interaction and customer can be told apart",
                         label);
    }
}

static void check_policies(struct pb_cfg_ctx *ctx, config_setting_t *cs)
{
    const struct pb_config *cfg = ctx->cfg;
    const struct pb_cfg_checkins *c = &cfg->checkins;
    char label[128], hint[128];
    config_setting_t *list = cs ? config_setting_get_member(cs, "policies") : NULL;
    for (size_t i = 0; i < c->n_policies; i++) {
        const struct pb_cfg_checkin_policy *p = &c->policies[i];
        config_setting_t *s = list ? config_setting_get_elem(list, (unsigned)i) : NULL;
        snprintf(label, sizeof label, "checkins: policy #%zu", i + 1);
        const struct pb_cfg_survey *sv = p->survey ? pb_config_survey(cfg, p->survey) : NULL;
        if (p->survey && !sv)
            check_survey_ref(ctx, s, label, p->survey);
        else if (sv && sv->kind != PB_SURVEY_CUSTOMER)
            pb_cfg_error(ctx, pb_cfg_at(s, "survey"),
                         "%s: survey \"%s\" is of kind employee; a check-in asks a survey of "
                         "kind = \"customer\"",
                         label, p->survey);
        for (size_t t = 0; t < p->n_teams; t++)
            if (!pb_config_team(cfg, p->teams[t])) {
                hint_for(hint, sizeof hint, p->teams[t], cfg->teams, cfg->n_teams,
                         sizeof *cfg->teams);
                pb_cfg_error(ctx, elem(s, "teams", t), "%s: teams: unknown team \"%s\"%s", label,
                             p->teams[t], hint);
            }
        for (size_t t = 0; t < p->n_tags; t++)
            if (!p->tags[t][0] || p->tags[t][0] == '=')
                pb_cfg_error(ctx, elem(s, "tags", t),
                             "%s: tags: expected \"name\" or \"name=value\", got \"%s\"", label,
                             p->tags[t]);
    }
}

static void check_checkins(struct pb_cfg_ctx *ctx)
{
    config_setting_t *cs = config_lookup(&ctx->priv->lc, "checkins");
    check_sources(ctx, cs);
    check_policies(ctx, cs);
}

void pb_cfg_cross_check(struct pb_cfg_ctx *ctx)
{
    const struct pb_config *cfg = ctx->cfg;
    check_unique(ctx, "connectors", "connector name", cfg->connectors, cfg->n_connectors,
                 sizeof *cfg->connectors);
    check_teams(ctx);
    check_people(ctx);
    check_surveys(ctx);
    check_schedules(ctx);
    pb_cfg_check_calendars(ctx);
    check_routes(ctx);
    check_alerts(ctx);
    check_checkins(ctx);
}

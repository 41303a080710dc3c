/*
 * Customer check-ins: the policies that decide whether and when a customer is asked after an
 * interaction closed, the durable timer that asks them, and what the customer may say back
 * ("stop"). See docs/checkins.md.
 *
 * Two decisions, both committed: at intake (the interaction is kept with what was decided,
 * and a scheduled check-in row is the timer) and when the check-in falls due (the customer
 * may have opted out or been asked meanwhile; otherwise the delivery and its first question
 * are created in the same transaction that marks the check-in sent). The contact cap is
 * checked both times because both can change in between.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD "checkin"

/* ---- policies -------------------------------------------------------------------------- */

unsigned pb_checkin_sample_point(const char *ext_id)
{
    unsigned char h[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)ext_id, strlen(ext_id), h);
    uint32_t v = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    return (unsigned)(v % 10000);
}

static int in_list(const char *s, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

static int policy_matches(const struct pb_config *cfg, const struct pb_cfg_checkin_policy *p,
                          const struct pb_interaction *in, const cJSON *tags)
{
    if (p->n_touchpoints && !in_list(in->touchpoint, p->touchpoints, p->n_touchpoints))
        return 0;
    if (p->n_teams) {
        int any = 0;
        for (size_t i = 0; !any && i < p->n_teams; i++)
            any = in->team[0] && pb_config_team_within(cfg, in->team, p->teams[i]);
        if (!any)
            return 0;
    }
    for (size_t i = 0; i < p->n_tags; i++)
        if (!pb_route_tag_holds(tags, p->tags[i]))
            return 0;
    return 1;
}

/* What the policies decide for an interaction: 1 with the policy, or 0 with `why`. Store
 * errors are returned as they are. */
static int decide(struct pb_engine *e, const struct pb_interaction *in,
                  const struct pb_cfg_checkin_policy **out, char *why, size_t why_len)
{
    const struct pb_config *cfg = e->cfg;
    if (!in->connector[0]) {
        snprintf(why, why_len, "the customer has no chat to be asked in (customer.reach)");
        return 0;
    }
    cJSON *tags = cJSON_Parse(in->tags[0] ? in->tags : "{}");
    const struct pb_cfg_checkin_policy *p = NULL;
    for (size_t i = 0; !p && i < cfg->checkins.n_policies; i++)
        if (policy_matches(cfg, &cfg->checkins.policies[i], in, tags))
            p = &cfg->checkins.policies[i];
    cJSON_Delete(tags);
    if (!p) {
        snprintf(why, why_len, "no check-in policy matches this interaction");
        return 0;
    }
    if (pb_checkin_sample_point(in->ext_id) >= (unsigned)p->sample * 100) {
        snprintf(why, why_len, "not in the %d%% sample of survey %s", p->sample, p->survey);
        return 0;
    }
    const struct pb_cfg_survey *s = pb_config_survey(cfg, p->survey);
    int64_t now = pb_now_ms();
    if (s && in->closed_ms + p->delay_ms + s->window_ms <= now) {
        snprintf(why, why_len, "it closed too long ago: survey %s would already have expired",
                 p->survey);
        return 0;
    }
    int rc = pb_store_optout_has(e->store, in->connector, in->user, in->email);
    if (rc != 0) {
        snprintf(why, why_len, "the customer opted out");
        return rc < 0 ? rc : 0;
    }
    rc = pb_store_checkin_busy(e->store, in->connector, in->user, in->email,
                               now - cfg->checkins.contact_cap_ms, 0, why, why_len);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    *out = p;
    return 1;
}

int pb_checkin_intake(struct pb_engine *e, struct pb_interaction *in, const char *sig,
                      int64_t sig_expires_ms, char *outcome, size_t outcome_len)
{
    struct pb_interaction known;
    const struct pb_cfg_checkin_policy *p = NULL;
    char why[160];
    int64_t now = pb_now_ms();
    in->created_ms = now;
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK && sig) {
        rc = pb_store_webhook_seen(e->store, sig, sig_expires_ms, now);
        if (rc == PB_ERR_DONE)
            rc = PB_ERR_FORGED;
    }
    if (rc == PB_OK) {
        rc = pb_store_interaction_insert(e->store, in, &known);
        if (rc == PB_ERR_DONE) { /* a retry: the same answer, nothing new */
            snprintf(outcome, outcome_len, "%s", known.outcome);
            rc = pb_store_commit(e->store);
            if (rc == PB_OK)
                pb_info(MOD, "interaction %s of %s came again; nothing new", in->ext_id,
                        in->source[0] ? in->source : "the webhook");
            return rc == PB_OK ? PB_ERR_DONE : rc;
        }
    }
    int decided = rc == PB_OK ? decide(e, in, &p, why, sizeof why) : rc;
    if (decided < 0)
        rc = decided;
    struct pb_checkin c = {.interaction_id = in->id, .state = PB_CHECKIN_SCHEDULED};
    if (rc == PB_OK && decided) {
        pb_copy(c.survey, sizeof c.survey, p->survey);
        pb_copy(c.customer, sizeof c.customer, in->customer);
        pb_copy(c.email, sizeof c.email, in->email);
        pb_copy(c.connector, sizeof c.connector, in->connector);
        pb_copy(c.user, sizeof c.user, in->user);
        pb_copy(c.team, sizeof c.team, in->team);
        c.due_ms = in->closed_ms + p->delay_ms;
        c.created_ms = now;
        rc = pb_store_checkin_insert(e->store, &c);
        snprintf(outcome, outcome_len, "scheduled");
    } else if (rc == PB_OK) {
        snprintf(outcome, outcome_len, "skipped: %s", why);
    }
    if (rc == PB_OK)
        rc = pb_store_interaction_set_outcome(e->store, in->id, outcome);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        if (rc != PB_ERR_FORGED)
            pb_err(MOD, "interaction %s could not be stored; the sender should retry", in->ext_id);
        return rc;
    }
    pb_metrics_add(decided ? "checkins_scheduled" : "checkins_skipped", 1);
    pb_info(MOD, "interaction %s of %s: %s", in->ext_id, in->customer, outcome);
    if (decided)
        pb_engine_wake(e);
    return PB_OK;
}

/* ---- the timer ------------------------------------------------------------------------- */

int64_t pb_checkin_next_due(struct pb_engine *e)
{
    int64_t ms;
    if (pb_store_checkin_next_due(e->store, &ms) == PB_OK)
        return ms;
    return PB_ENGINE_IDLE;
}

/* Settles one due check-in: asks the customer, or says why not. One transaction. */
static int fire(struct pb_engine *e, struct pb_checkin *c, int64_t now)
{
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, c->survey);
    int rc = pb_store_begin(e->store);
    int busy = 0;
    c->fired_ms = now;
    c->state = PB_CHECKIN_SKIPPED;
    if (rc != PB_OK)
        goto out;
    if (!s || s->kind != PB_SURVEY_CUSTOMER) {
        snprintf(c->note, sizeof c->note, "survey %s is no longer a customer survey here",
                 c->survey);
    } else if (!pb_engine_attached(e, c->connector) && !pb_config_connector(e->cfg, c->connector)) {
        snprintf(c->note, sizeof c->note, "connector %s is no longer configured", c->connector);
    } else if ((busy = pb_store_optout_has(e->store, c->connector, c->user, c->email)) != 0) {
        snprintf(c->note, sizeof c->note, "the customer opted out");
    } else if ((busy = pb_store_checkin_busy(e->store, c->connector, c->user, c->email,
                                             now - e->cfg->checkins.contact_cap_ms, c->id, c->note,
                                             sizeof c->note)) != 0) {
        /* the note says which limit */
    } else {
        c->state = PB_CHECKIN_SENT;
        rc = pb_survey_start_to(e, s, c->customer, c->connector, c->user, "", 0, now,
                                &c->delivery_id);
    }
    if (busy < 0)
        rc = busy;
    if (rc == PB_OK)
        rc = pb_store_checkin_settle(e->store, c);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
out:
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        return rc;
    }
    if (c->state == PB_CHECKIN_SENT) {
        pb_metrics_add("checkins_sent", 1);
        pb_info(MOD, "check-in %lld: survey %s asked of %s (delivery %lld)", (long long)c->id,
                c->survey, c->customer, (long long)c->delivery_id);
    } else {
        pb_metrics_add("checkins_skipped", 1);
        pb_info(MOD, "check-in %lld of %s was not sent: %s", (long long)c->id, c->customer,
                c->note);
    }
    return PB_OK;
}

void pb_checkin_run_due(struct pb_engine *e, int64_t now)
{
    struct pb_checkin due[32];
    size_t n = 0;
    if (pb_store_checkin_due(e->store, now, due, 32, &n) != PB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        int rc = fire(e, &due[i], now);
        if (rc == PB_ERR_DONE)
            continue; /* settled meanwhile */
        if (rc != PB_OK) {
            pb_err(MOD, "check-in %lld could not be sent; will try again", (long long)due[i].id);
            pb_engine_hold(e);
            return;
        }
    }
    if (n == 32)
        pb_engine_wake(e);
}

void pb_checkin_team_of(struct pb_engine *e, int64_t delivery_id, char *team, size_t len)
{
    if (pb_store_checkin_team(e->store, delivery_id, team, len) != PB_OK)
        team[0] = '\0';
}

/* ---- what customers say ---------------------------------------------------------------- */

static const char *const builtin_stop[] = {
    "stop", "unsubscribe", "stopp", "arrête", "arrêter", "arrete", "alto", "basta", "parar",
};

/* Compares ignoring ASCII case, surrounding spaces and final punctuation ("Stop!", " STOP"). */
static int same_word(const char *text, const char *word)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && (isspace((unsigned char)text[n - 1]) || strchr(".!", text[n - 1])))
        n--;
    return n == strlen(word) && strncasecmp(text, word, n) == 0;
}

int pb_checkin_is_stop(const struct pb_config *cfg, const char *text)
{
    if (!text)
        return 0;
    for (size_t i = 0; i < sizeof builtin_stop / sizeof builtin_stop[0]; i++)
        if (same_word(text, builtin_stop[i]))
            return 1;
    for (size_t i = 0; i < cfg->checkins.n_stop_words; i++)
        if (same_word(text, cfg->checkins.stop_words[i]))
            return 1;
    return 0;
}

static int is_customer(const struct pb_delivery *d)
{
    return strncmp(d->person, "customer:", 9) == 0;
}

/* "stop": never asked again, wherever the customer is known by this reach or email. */
static int opt_out(struct pb_engine *e, const char *connector, const char *user, char *reply,
                   size_t reply_len)
{
    char email[128];
    struct pb_delivery d;
    int rc = pb_store_customer_email(e->store, connector, user, email, sizeof email);
    if (rc == PB_OK)
        rc = pb_store_optout_add(e->store, connector, user, email, pb_now_ms());
    if (rc != PB_OK) {
        snprintf(reply, reply_len, "Sorry, that could not be saved. Please try again.");
        return PB_ERR_STORE;
    }
    /* The open question is closed too, so that nothing is left asking them. */
    if (pb_store_delivery_open_for(e->store, connector, user, &d) == PB_OK && is_customer(&d))
        pb_survey_withdraw(e, &d, "You will not be asked again.");
    pb_metrics_add("checkin_optouts", 1);
    pb_info(MOD, "%s on %s opted out of check-ins", user, connector);
    snprintf(reply, reply_len, "You will not get these questions any more.");
    pb_engine_wake(e);
    return PB_OK;
}

int pb_checkin_text(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    char *reply, size_t reply_len)
{
    struct pb_delivery d;
    if (!ev->user || !ev->text)
        return PB_ERR_INVALID;
    if (pb_checkin_is_stop(e->cfg, ev->text))
        return opt_out(e, connector, ev->user, reply, reply_len);
    if (pb_store_delivery_open_for(e->store, connector, ev->user, &d) == PB_OK && is_customer(&d))
        return pb_survey_text(e, connector, ev, reply, reply_len);
    pb_info(MOD, "%s: a message from %s, who is neither on the roster nor asked anything; ignored",
            connector, ev->user);
    snprintf(reply, reply_len, "You are not on pulsebot's roster.");
    return PB_ERR_UNKNOWN;
}

/* A literal (not a pointer) of a source's field: what applies to interactions in chat. */
static const char *literal(const char *spec)
{
    return spec && spec[0] != '/' ? spec : "";
}

int pb_checkin_closed_event(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                            char *reply, size_t reply_len)
{
    const struct pb_cfg_checkin_source *src = NULL;
    for (size_t i = 0; i < e->cfg->checkins.n_sources; i++)
        if (e->cfg->checkins.sources[i].connector &&
            strcmp(e->cfg->checkins.sources[i].connector, connector) == 0)
            src = &e->cfg->checkins.sources[i];
    if (!src) {
        /* Not acknowledged as taken: nothing was committed for it. */
        pb_info(MOD, "%s reported a closed interaction; no check-in source takes it", connector);
        snprintf(reply, reply_len, "Customer check-ins are not configured.");
        return PB_ERR_UNKNOWN;
    }
    if (!ev->user || !*ev->user || !ev->interaction_id || !*ev->interaction_id)
        return PB_ERR_INVALID;
    struct pb_interaction in = {0};
    const struct pb_cfg_checkin_fields *f = &src->fields;
    int n = snprintf(in.customer, sizeof in.customer, "customer:%s:%s", connector, ev->user);
    if (n < 0 || (size_t)n >= sizeof in.customer || strlen(ev->interaction_id) >= sizeof in.ext_id)
        return PB_ERR_INVALID;
    snprintf(in.source, sizeof in.source, "%s", src->id);
    pb_copy(in.ext_id, sizeof in.ext_id, ev->interaction_id);
    pb_copy(in.connector, sizeof in.connector, connector);
    pb_copy(in.user, sizeof in.user, ev->user);
    pb_copy(in.name, sizeof in.name, ev->user_name);
    pb_copy(in.agent, sizeof in.agent, ev->agent);
    pb_copy(in.channel, sizeof in.channel, ev->conversation);
    pb_copy(in.touchpoint, sizeof in.touchpoint,
            ev->touchpoint && *ev->touchpoint ? ev->touchpoint : literal(f->touchpoint));
    pb_copy(in.team, sizeof in.team, literal(f->team));
    pb_copy(in.locale, sizeof in.locale, literal(f->customer_locale));
    snprintf(in.tags, sizeof in.tags, "{}");
    in.closed_ms = pb_now_ms();
    char outcome[160];
    int rc = pb_checkin_intake(e, &in, NULL, 0, outcome, sizeof outcome);
    if (rc == PB_OK || rc == PB_ERR_DONE) {
        snprintf(reply, reply_len, "Check-in %s.", outcome);
        return PB_OK;
    }
    snprintf(reply, reply_len, "The closed interaction could not be saved; try again.");
    return rc;
}

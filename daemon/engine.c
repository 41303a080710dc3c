/*
 * The engine (see engine.h): events in, decisions committed, work scheduled. This file holds
 * the parts every flow shares: connectors, event dispatch, and the one "what is due next"
 * computation that drives the daemon's single timer (rounds, expiries, alert SLAs, retries).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD "engine"

void pb_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

#define HOLD_MS 5000

void pb_engine_hold(struct pb_engine *e)
{
    e->hold_until = pb_now_ms() + HOLD_MS;
}

void pb_engine_wake(struct pb_engine *e)
{
    if (e->wake)
        e->wake(e->wake_arg);
}

int pb_engine_create(const struct pb_engine_setup *setup, const struct pb_config *cfg,
                     struct pb_engine **out)
{
    struct pb_engine *e = calloc(1, sizeof *e);
    if (!e)
        return PB_ERR_NOMEM;
    e->store = setup->store;
    e->key = setup->key;
    e->wake = setup->wake;
    e->wake_arg = setup->wake_arg;
    e->cfg = cfg;
    char err[512];
    if (pb_checkin_keys_load(&cfg->checkins, &e->checkin_keys, err, sizeof err) != 0) {
        pb_err(MOD, "checkins: %s", err);
        free(e);
        return PB_ERR_INVALID;
    }
    if (pb_roster_build(cfg, &e->roster) != PB_OK) {
        pb_checkin_keys_wipe(&e->checkin_keys);
        free(e);
        return PB_ERR_NOMEM;
    }
    e->outbox_dirty = 1; /* whatever was pending before a restart */
    *out = e;
    return PB_OK;
}

void pb_engine_destroy(struct pb_engine *e)
{
    if (!e)
        return;
    pb_schedule_forget_zones(e);
    pb_away_free(e);
    pb_roster_free(e->roster);
    free(e->lookups);
    pb_checkin_keys_wipe(&e->checkin_keys);
    free(e);
}

int pb_engine_reconfigure(struct pb_engine *e, const struct pb_config *cfg)
{
    struct pb_roster *roster;
    struct pb_checkin_keys keys;
    char err[512];
    /* A secret that cannot be read now keeps the running configuration, secret and all. */
    if (pb_checkin_keys_load(&cfg->checkins, &keys, err, sizeof err) != 0) {
        pb_err(MOD, "checkins: %s", err);
        return PB_ERR_INVALID;
    }
    if (pb_roster_build(cfg, &roster) != PB_OK) {
        pb_checkin_keys_wipe(&keys);
        return PB_ERR_NOMEM;
    }
    pb_checkin_keys_wipe(&e->checkin_keys);
    e->checkin_keys = keys;
    pb_checkin_keys_wipe(&keys);
    pb_schedule_forget_zones(e); /* indexed by the old configuration's schedules */
    pb_roster_free(e->roster);
    e->roster = roster;
    e->cfg = cfg;
    /* Lookups already asked are answered into the new roster; the rest are queued again. */
    for (size_t i = 0; i < e->n_lookups;)
        if (e->lookups[i].request)
            i++;
        else
            e->lookups[i] = e->lookups[--e->n_lookups];
    for (size_t i = 0; i < e->n_connectors; i++)
        pb_handles_discover(e, &e->connectors[i]);
    e->outbox_dirty = 1;
    pb_engine_wake(e);
    return PB_OK;
}

const struct pb_config *pb_engine_config(const struct pb_engine *e)
{
    return e->cfg;
}

struct pb_roster *pb_engine_roster(const struct pb_engine *e)
{
    return e->roster;
}

const struct pb_token_key *pb_engine_key(const struct pb_engine *e)
{
    return e->key;
}

struct pb_attached *pb_engine_attached(struct pb_engine *e, const char *name)
{
    for (size_t i = 0; i < e->n_connectors; i++)
        if (strcmp(e->connectors[i].name, name) == 0)
            return &e->connectors[i];
    return NULL;
}

int pb_engine_attach(struct pb_engine *e, const char *name, const struct pb_connector *conn)
{
    if (pb_engine_attached(e, name) || e->n_connectors == PB_MAX_CONNECTORS)
        return PB_ERR_INVALID;
    struct pb_attached *a = &e->connectors[e->n_connectors++];
    memset(a, 0, sizeof *a);
    pb_copy(a->name, sizeof a->name, name);
    a->conn = *conn;
    pb_handles_discover(e, a); /* known handles now; lookups once the link is up */
    e->outbox_dirty = 1;
    pb_engine_wake(e);
    return PB_OK;
}

void pb_engine_detach(struct pb_engine *e, const char *name)
{
    struct pb_attached *a = pb_engine_attached(e, name);
    if (!a)
        return;
    /* Messages in flight on it stay pending in the store and go out after a restart. */
    for (size_t i = 0; i < e->n_in_flight;)
        if (strcmp(e->in_flight[i].connector, name) == 0)
            e->in_flight[i] = e->in_flight[--e->n_in_flight];
        else
            i++;
    *a = e->connectors[--e->n_connectors];
}

static void connection_changed(struct pb_engine *e, const char *connector,
                               const struct pb_event *ev)
{
    struct pb_attached *a = pb_engine_attached(e, connector);
    if (!a)
        return;
    a->down = !ev->connected;
    if (ev->connected) {
        pb_info(MOD, "connector %s is up", connector);
        pb_handles_pump(e);
        e->outbox_dirty = 1;
        pb_engine_wake(e);
    } else {
        pb_warn(MOD, "connector %s is down: %s; its messages wait until it is back", connector,
                ev->reason ? ev->reason : "no reason given");
    }
}

static int token_event(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                       char *reply, size_t reply_len)
{
    struct pb_token t;
    int rc = pb_token_verify(e->key, ev->token, &t);
    enum pb_token_kind want = ev->type == PB_EVENT_CHOICE ? PB_TOKEN_CHOICE : PB_TOKEN_ACTION;
    if (rc == PB_OK && t.kind != want)
        rc = PB_ERR_INVALID;
    if (rc != PB_OK) {
        pb_warn(MOD, "%s: a %s from %s carried a %s token; refused", connector,
                ev->type == PB_EVENT_CHOICE ? "choice" : "action", ev->user ? ev->user : "?",
                rc == PB_ERR_FORGED ? "forged" : "malformed");
        pb_metrics_add("tokens_refused", 1);
        snprintf(reply, reply_len, "This button is not valid.");
        return rc == PB_ERR_FORGED ? PB_ERR_FORGED : PB_ERR_INVALID;
    }
    if (ev->type == PB_EVENT_CHOICE)
        return pb_survey_choice(e, connector, ev, &t, reply, reply_len);
    return pb_route_action(e, connector, ev, &t, reply, reply_len);
}

int pb_engine_event(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    char *reply, size_t reply_len)
{
    char scratch[8];
    if (!reply || reply_len == 0) {
        reply = scratch;
        reply_len = sizeof scratch;
    }
    reply[0] = '\0';
    if (!ev || ev->size < offsetof(struct pb_event, reserved))
        return PB_ERR_INVALID;
    pb_metrics_add("events", 1);
    switch (ev->type) {
    case PB_EVENT_CONNECTION:
        connection_changed(e, connector, ev);
        return PB_OK;
    case PB_EVENT_CHOICE:
    case PB_EVENT_ACTION:
        if (!ev->token || !ev->user)
            return PB_ERR_INVALID;
        return token_event(e, connector, ev, reply, reply_len);
    case PB_EVENT_TEXT:
        if (!ev->user || !ev->text)
            return PB_ERR_INVALID;
        /* Someone off the roster may be a customer answering a check-in, or saying stop. */
        const struct pb_cfg_person *who = pb_roster_by_handle(e->roster, connector, ev->user);
        if (!who)
            return pb_checkin_text(e, connector, ev, reply, reply_len);
        /* Exactly "away ..." or "back" is a command (away.c says when "back" is an answer). */
        int handled, rc = pb_away_command(e, connector, ev, who, reply, reply_len, &handled);
        if (handled)
            return rc;
        return pb_survey_text(e, connector, ev, reply, reply_len);
    case PB_EVENT_INTERACTION_CLOSED:
        return pb_checkin_closed_event(e, connector, ev, reply, reply_len);
    }
    return PB_ERR_INVALID;
}

void pb_engine_send_done(struct pb_engine *e, const char *connector, uint64_t id,
                         const struct pb_send_result *res)
{
    pb_outbox_done(e, connector, id, res);
}

int64_t pb_engine_next_due(struct pb_engine *e)
{
    int64_t now = pb_now_ms();
    int64_t next = pb_schedule_next_due(e);
    int64_t ms;
    if (pb_store_delivery_next_expiry(e->store, &ms) == PB_OK && ms < next)
        next = ms;
    if (pb_store_delivery_next_reminder(e->store, &ms) == PB_OK && ms < next)
        next = ms;
    ms = pb_escalation_next_due(e);
    if (ms < next)
        next = ms;
    ms = pb_checkin_next_due(e);
    if (ms < next)
        next = ms;
    ms = pb_alert_webhook_next_due(e);
    if (ms < next)
        next = ms;
    if (next < e->hold_until)
        next = e->hold_until; /* rounds and expiries wait out a store failure */
    if (e->lookup_retry && e->lookup_retry < next)
        next = e->lookup_retry;
    ms = pb_outbox_next_due(e, now);
    if (ms < next)
        next = ms;
    return next;
}

void pb_engine_run(struct pb_engine *e)
{
    int64_t now = pb_now_ms();
    if (e->lookup_retry && e->lookup_retry <= now) {
        e->lookup_retry = 0;
        pb_handles_pump(e);
    }
    if (now < e->hold_until) {
        pb_outbox_dispatch(e, now);
        return;
    }
    /* Expire first: a person whose last pulse just closed is asked again by a round due now. */
    pb_survey_expire_due(e, now);
    pb_survey_remind_due(e, now);
    pb_schedule_run_due(e, now);
    pb_checkin_run_due(e, now);
    pb_escalation_run_due(e, now);
    pb_alert_webhook_run_due(e, now);
    pb_outbox_dispatch(e, now);
}

/*
 * The outbox: every message the core decides to send is a row first, committed with the
 * decision that caused it, and only then handed to its connector. A row stays pending until
 * the connector confirms it, so a crash at any point resends it, with the same id, which
 * connectors use as an idempotency key (the web chat stores by it; Discord sends it as the
 * message nonce).
 *
 * Order: messages to one target go out one at a time in the order they were queued, so a
 * follow-up never overtakes its question. An update waits until the message it replaces has
 * been sent (it needs that message's reference), and of several pending updates to one
 * message only the newest is sent. Failures back off exponentially with jitter, or as long as
 * the platform's Retry-After says; nothing is dropped for being rate limited.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "crash_point.h"
#include "engine_internal.h"
#include "log.h"
#include "message.h"
#include "metrics.h"

#define MOD                    "outbox"
#define BATCH                  64
#define IN_FLIGHT_TIMEOUT_MS   120000
#define BACKOFF_MAX_MS         (15 * 60 * 1000)
#define MISCONFIGURED_RETRY_MS (5 * 60 * 1000)

/* Adds one pending row carrying `m`. Rows are due at once (0), not at "now": a dispatch pass
 * that began a moment earlier must still see them. */
static int add_row(struct pb_engine *e, struct pb_outbox *o, const struct pb_message *m,
                   int64_t *id_out)
{
    o->created_ms = pb_now_ms();
    o->next_attempt_ms = 0;
    o->payload = pb_message_to_json(m);
    if (!o->payload)
        return PB_ERR_NOMEM;
    int rc = pb_store_outbox_add(e->store, o);
    free(o->payload);
    o->payload = NULL;
    if (rc == PB_OK && id_out)
        *id_out = o->id;
    e->outbox_dirty = 1;
    return rc;
}

/* A row that goes where an earlier SEND went, naming it in ref_id. */
static int add_row_after(struct pb_engine *e, enum pb_outbox_kind kind, int64_t send_id,
                         const struct pb_message *m)
{
    struct pb_outbox ref;
    int rc = pb_store_outbox_get(e->store, send_id, &ref);
    if (rc != PB_OK)
        return rc;
    struct pb_outbox o = {.target_kind = ref.target_kind, .kind = kind, .ref_id = send_id};
    pb_copy(o.connector, sizeof o.connector, ref.connector);
    pb_copy(o.target, sizeof o.target, ref.target);
    pb_outbox_clear(&ref);
    return add_row(e, &o, m, NULL);
}

int pb_outbox_queue(struct pb_engine *e, const char *connector, enum pb_target_kind kind,
                    const char *target, const struct pb_message *m, int64_t *id_out)
{
    struct pb_outbox o = {.target_kind = kind, .kind = PB_OUTBOX_SEND};
    pb_copy(o.connector, sizeof o.connector, connector);
    pb_copy(o.target, sizeof o.target, target);
    return add_row(e, &o, m, id_out);
}

/* A SEND that names another SEND in ref_id is a reply in that message's thread. It goes to the
 * same target, so it is sent only after the message it answers. */
int pb_outbox_queue_reply(struct pb_engine *e, int64_t thread_send_id, const struct pb_message *m)
{
    return add_row_after(e, PB_OUTBOX_SEND, thread_send_id, m);
}

int pb_outbox_queue_update(struct pb_engine *e, int64_t send_id, const struct pb_message *m)
{
    return add_row_after(e, PB_OUTBOX_UPDATE, send_id, m);
}

static struct pb_in_flight *find_in_flight(struct pb_engine *e, int64_t id)
{
    for (size_t i = 0; i < e->n_in_flight; i++)
        if (e->in_flight[i].id == id)
            return &e->in_flight[i];
    return NULL;
}

static void forget_in_flight(struct pb_engine *e, int64_t id)
{
    struct pb_in_flight *f = find_in_flight(e, id);
    if (f)
        *f = e->in_flight[--e->n_in_flight];
}

static uint32_t jitter(uint32_t ms)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
        r = (uint32_t)pb_now_ms();
    return ms - ms / 5 + (ms ? r % (ms / 5 * 2 + 1) : 0); /* +-20% */
}

static int64_t backoff_ms(int attempts)
{
    int64_t ms = 1000;
    for (int i = 1; i < attempts && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    return jitter((uint32_t)(ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS));
}

/* Hands one row to its connector, or settles it when there is nothing to send. The store
 * returns only the oldest pending row of each target, so an update always comes after the
 * message it replaces (same target, older row) has been settled. */
static void dispatch_row(struct pb_engine *e, struct pb_attached *a, struct pb_outbox *o,
                         int64_t now)
{
    struct pb_outbox ref = {0};
    if (o->kind == PB_OUTBOX_UPDATE && pb_store_outbox_superseded(e->store, o->id, o->ref_id) > 0) {
        pb_store_outbox_done(e->store, o->id, "", now);
        e->outbox_dirty = 1;
        return;
    }
    if (o->ref_id) { /* an update of that message, or a reply in its thread */
        if (pb_store_outbox_get(e->store, o->ref_id, &ref) != PB_OK ||
            ref.state != PB_OUTBOX_DONE) {
            pb_outbox_clear(&ref);
            if (o->kind == PB_OUTBOX_UPDATE) {
                pb_store_outbox_fail(e->store, o->id, "the message to update was never sent", now);
                e->outbox_dirty = 1;
                return;
            }
            /* A reply whose thread never started is sent as a message of its own. */
        }
    }
    struct pb_message_view view;
    if (pb_message_from_json(o->payload, &view) != PB_OK) {
        pb_err(MOD, "row %lld holds a message that cannot be read; it is dropped",
               (long long)o->id);
        pb_store_outbox_fail(e->store, o->id, "unreadable payload", now);
        pb_outbox_clear(&ref);
        e->outbox_dirty = 1;
        return;
    }
    struct pb_send send = {
        .size = sizeof send,
        .id = (uint64_t)o->id,
        .target_kind = (enum pb_target_kind)o->target_kind,
        .target = o->target,
        .message_ref = o->kind == PB_OUTBOX_UPDATE ? ref.message_ref : NULL,
        .thread_ref = o->kind == PB_OUTBOX_SEND && ref.message_ref[0] ? ref.message_ref : NULL,
        .message = &view.message};
    struct pb_in_flight *f = &e->in_flight[e->n_in_flight++];
    f->id = o->id;
    f->started_ms = now;
    pb_copy(f->connector, sizeof f->connector, o->connector);
    pb_copy(f->target, sizeof f->target, o->target);
    int rc = o->kind == PB_OUTBOX_UPDATE ? a->conn.update(a->conn.self, &send)
                                         : a->conn.send(a->conn.self, &send);
    pb_message_view_free(&view);
    pb_outbox_clear(&ref);
    if (rc != PB_OK && find_in_flight(e, o->id)) {
        forget_in_flight(e, o->id);
        pb_store_outbox_retry(e->store, o->id, now + backoff_ms(o->attempts + 1),
                              "the connector did not accept the message");
    }
}

static void dispatch_connector(struct pb_engine *e, struct pb_attached *a, int64_t now)
{
    struct pb_outbox rows[BATCH];
    size_t n = 0;
    if (a->down || pb_store_outbox_due(e->store, a->name, now, rows, BATCH, &n) != PB_OK)
        return;
    /* Each connector gets its share of the in-flight slots, so one that never confirms
     * cannot starve the others. */
    size_t share = PB_MAX_IN_FLIGHT / (e->n_connectors ? e->n_connectors : 1);
    size_t mine = 0, handled = 0;
    for (size_t i = 0; i < e->n_in_flight; i++)
        mine += strcmp(e->in_flight[i].connector, a->name) == 0;
    for (size_t i = 0; i < n && mine < share && e->n_in_flight < PB_MAX_IN_FLIGHT; i++)
        if (!find_in_flight(e, rows[i].id)) {
            mine++;
            dispatch_row(e, a, &rows[i], now);
            handled++;
        }
    if (n == BATCH && handled)
        e->outbox_dirty = 1; /* there may be more behind this batch */
    for (size_t i = 0; i < n; i++)
        pb_outbox_clear(&rows[i]);
}

/* A connector that never answers must not hold its target forever. */
static void expire_in_flight(struct pb_engine *e, int64_t now)
{
    for (size_t i = 0; i < e->n_in_flight;) {
        struct pb_in_flight *f = &e->in_flight[i];
        if (now - f->started_ms < IN_FLIGHT_TIMEOUT_MS) {
            i++;
            continue;
        }
        pb_warn(MOD, "%s did not confirm message %lld within %d s; it will be sent again",
                f->connector, (long long)f->id, IN_FLIGHT_TIMEOUT_MS / 1000);
        struct pb_outbox o = {0};
        int attempts = 0;
        if (pb_store_outbox_get(e->store, f->id, &o) == PB_OK) {
            attempts = o.attempts;
            pb_outbox_clear(&o);
        }
        pb_store_outbox_retry(e->store, f->id, now + backoff_ms(attempts + 1),
                              "no confirmation from the connector");
        *f = e->in_flight[--e->n_in_flight];
        e->outbox_dirty = 1;
    }
}

void pb_outbox_dispatch(struct pb_engine *e, int64_t now)
{
    if (e->dispatching)
        return;
    e->dispatching = 1;
    expire_in_flight(e, now);
    e->outbox_dirty = 1; /* retries may have come due since the last pass */
    for (int pass = 0; e->outbox_dirty && pass < 4; pass++) {
        e->outbox_dirty = 0;
        for (size_t i = 0; i < e->n_connectors; i++)
            dispatch_connector(e, &e->connectors[i], now);
    }
    e->dispatching = 0;
}

int64_t pb_outbox_next_due(struct pb_engine *e, int64_t now)
{
    if (e->outbox_dirty)
        return now;
    int64_t next = PB_ENGINE_IDLE;
    for (size_t i = 0; i < e->n_connectors; i++) {
        int64_t ms;
        if (!e->connectors[i].down &&
            pb_store_outbox_next_after(e->store, e->connectors[i].name, now, &ms) == PB_OK &&
            ms < next)
            next = ms;
    }
    for (size_t i = 0; i < e->n_in_flight; i++)
        if (e->in_flight[i].started_ms + IN_FLIGHT_TIMEOUT_MS < next)
            next = e->in_flight[i].started_ms + IN_FLIGHT_TIMEOUT_MS;
    return next;
}

void pb_outbox_done(struct pb_engine *e, const char *connector, uint64_t id,
                    const struct pb_send_result *res)
{
    struct pb_in_flight *f = find_in_flight(e, (int64_t)id);
    if (!f || strcmp(f->connector, connector) != 0 || !res ||
        res->size < offsetof(struct pb_send_result, reserved)) {
        pb_warn(MOD,
                "%s confirmed message %llu that was not in flight with it, or without a "
                "result; ignored",
                connector, (unsigned long long)id);
        return;
    }
    forget_in_flight(e, (int64_t)id);
    e->outbox_dirty = 1; /* the target is free for its next message */
    int64_t now = pb_now_ms();
    struct pb_outbox o;
    if (pb_store_outbox_get(e->store, (int64_t)id, &o) != PB_OK)
        return;
    const char *error = res->error ? res->error : "no reason given";
    switch (res->outcome) {
    case PB_SEND_DONE:
        if (o.kind == PB_OUTBOX_SEND && o.target_kind == PB_TARGET_CHANNEL)
            pb_crash_point("alert-sent-unconfirmed");
        /* One commit for the confirmation and the delivery it starts. */
        if (pb_store_begin(e->store) == PB_OK) {
            pb_store_outbox_done(e->store, o.id, res->message_ref ? res->message_ref : "", now);
            if (o.kind == PB_OUTBOX_SEND)
                pb_survey_mark_sent(e, o.id);
            if (pb_store_commit(e->store) != PB_OK)
                pb_store_rollback(e->store); /* sent again later: the id keeps it single */
        }
        pb_metrics_add("messages_sent", 1);
        break;
    case PB_SEND_RETRY: {
        int64_t wait = res->retry_after_ms ? res->retry_after_ms : backoff_ms(o.attempts + 1);
        pb_info(MOD, "%s will retry message %lld in %lld ms: %s", connector, (long long)o.id,
                (long long)wait, error);
        pb_store_outbox_retry(e->store, o.id, now + wait, error);
        pb_metrics_add("messages_retried", 1);
        break;
    }
    case PB_SEND_MISCONFIGURED:
        pb_err(MOD,
               "%s cannot send message %lld because of its configuration: %s; will retry "
               "in %d minutes",
               connector, (long long)o.id, error, MISCONFIGURED_RETRY_MS / 60000);
        pb_store_outbox_retry(e->store, o.id, now + MISCONFIGURED_RETRY_MS, error);
        break;
    case PB_SEND_UNREACHABLE:
    default:
        pb_warn(MOD, "%s cannot reach %s for message %lld: %s; not retried", connector, o.target,
                (long long)o.id, error);
        /* One commit for the failed row and the delivery it leaves unreachable. */
        if (pb_store_begin(e->store) == PB_OK) {
            pb_store_outbox_fail(e->store, o.id, error, now);
            if (o.kind == PB_OUTBOX_SEND && res->outcome == PB_SEND_UNREACHABLE)
                pb_unreachable_refused(e, o.id, connector, error);
            if (pb_store_commit(e->store) != PB_OK)
                pb_store_rollback(e->store);
        }
        pb_metrics_add("messages_failed", 1);
        break;
    }
    pb_outbox_clear(&o);
    pb_engine_wake(e);
}

/*
 * Socket Mode links: the connector keeps `connections` slots (Slack allows ten per app and
 * hands each envelope to one of them), each with one websocket that serves.
 *
 * Opening. Every connection, first or not, starts with apps.connections.open and the app-level
 * token: the URL it returns is a single-use ticket. A link counts as up only after Slack's
 * `hello`; the connector reports itself up while at least one link is.
 *
 * Refresh without loss. On `disconnect` (refresh_requested, warning or a reason we do not
 * know) the old link keeps serving while a successor is opened; at the successor's hello the
 * old one is closed. Envelopes that arrive on either are handled and acknowledged on the link
 * they came on, so nothing falls between the two.
 *
 * Failure. An unexpected close, or a link without hello within SK_HELLO_TIMEOUT_MS, is a
 * failure: the slot reconnects after an exponential backoff with jitter (1 s doubling to 60 s,
 * reset by a hello). A link that goes silent for idle_timeout is replaced the same way as a
 * refresh (a half-open TCP link never closes by itself; a healthy quiet one loses nothing by
 * being replaced). `link_disabled` means Socket Mode was turned off for the app: the connector
 * stops, logs a configuration error and does not try again. So do token errors from
 * apps.connections.open, since the same token will fail the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

static void slot_open(struct slack_slot *slot);
static void link_close(struct slack_link *l, int code, const char *reason);

static void update_state(struct slack *sk, const char *reason)
{
    int up = 0;

    for (struct slack_link *l = sk->links; l; l = l->next_all)
        if (l->hello && !l->closing)
            up++;
    sk->links_up = up;
    if (sk->stopped)
        return;
    if (up > 0 && !sk->reported_up) {
        sk->reported_up = 1;
        slack_emit_connection(sk, 1, reason);
    } else if (up == 0 && sk->reported_up) {
        sk->reported_up = 0;
        slack_emit_connection(sk, 0, reason);
    }
}

static void retry_fired(void *arg)
{
    struct slack_slot *slot = arg;

    slot_open(slot);
}

/* The slot needs a link (none serves, or the one that serves is being replaced): get one
 * after the backoff its failures call for. */
static void slot_retry(struct slack_slot *slot)
{
    struct slack *sk = slot->sk;
    uint32_t delay = SK_BACKOFF_MIN_MS;

    if (sk->stopped || sk->disabled || slot->opening)
        return;
    if (slot->cur && !slot->cur->replaced)
        return;
    if (slot->next)
        return;
    for (unsigned i = 0; i < slot->failures && delay < SK_BACKOFF_MAX_MS; i++)
        delay *= 2;
    if (delay > SK_BACKOFF_MAX_MS)
        delay = SK_BACKOFF_MAX_MS;
    delay = slack_jitter(sk, delay);
    slot->failures++;
    sk_log(sk, PB_LOG_INFO, "connection %d: reconnecting in %u ms", slot->index, delay);
    sk->host->timer_arm(slot->retry, delay);
}

static void disable(struct slack *sk, const char *why)
{
    if (sk->disabled)
        return;
    sk->disabled = 1;
    sk_log(sk, PB_LOG_ERR, "%s; the connector stops until its configuration is fixed and reloaded",
           why);
    for (int i = 0; i < sk->n_slots; i++)
        sk->host->timer_cancel(sk->slots[i].retry);
    for (struct slack_link *l = sk->links; l; l = l->next_all)
        link_close(l, SK_CLOSE_NORMAL, "disabled");
    update_state(sk, why);
}

static void link_arm(struct slack_link *l, uint32_t ms)
{
    if (l->idle)
        l->sk->host->timer_arm(l->idle, ms);
}

static void link_close(struct slack_link *l, int code, const char *reason)
{
    if (l->closing || l->dead || !l->ws)
        return;
    l->closing = 1;
    if (l->idle)
        l->sk->host->timer_cancel(l->idle);
    l->sk->host->ws_close(l->ws, code, reason);
}

static void link_free(struct slack_link *l)
{
    struct slack *sk = l->sk;

    if (sk) {
        for (struct slack_link **p = &sk->links; *p; p = &(*p)->next_all)
            if (*p == l) {
                *p = l->next_all;
                break;
            }
        if (l->idle)
            sk->host->timer_free(l->idle);
    }
    free(l);
}

static void link_hello(struct slack_link *l)
{
    struct slack_slot *slot = l->slot;
    struct slack_link *old = NULL;

    if (l->hello)
        return;
    l->hello = 1;
    slot->failures = 0;
    link_arm(l, l->sk->idle_timeout_ms);
    if (l == slot->next) {
        old = slot->cur;
        slot->cur = l;
        slot->next = NULL;
    }
    sk_log(l->sk, PB_LOG_INFO, "connection %d: link %u is up%s", slot->index, l->serial,
           old ? "; the link it replaces drains, then closes" : "");
    update_state(l->sk, "Socket Mode connected");
    if (old) {
        old->draining = 1;
        link_arm(old, SK_DRAIN_MS);
    }
}

/* Opens a successor for `l`, which keeps serving until the successor says hello. */
static void link_replace(struct slack_link *l, const char *why)
{
    struct slack_slot *slot = l->slot;

    if (l->replaced || l->closing)
        return;
    sk_log(l->sk, PB_LOG_INFO, "connection %d: link %u %s; opening its successor", slot->index,
           l->serial, why);
    l->replaced = 1;
    if (l != slot->cur) {
        /* A successor that is told to go before it took over: drop it and start again. */
        link_close(l, SK_CLOSE_NORMAL, why);
        if (slot->next == l)
            slot->next = NULL;
        slot_retry(slot);
        return;
    }
    if (!slot->next && !slot->opening)
        slot_open(slot);
}

static void idle_fired(void *arg)
{
    struct slack_link *l = arg;

    if (l->draining) {
        link_close(l, SK_CLOSE_NORMAL, "refreshed");
        return;
    }
    if (!l->hello) {
        sk_log(l->sk, PB_LOG_WARNING, "connection %d: no hello on link %u within %d s",
               l->slot->index, l->serial, SK_HELLO_TIMEOUT_MS / 1000);
        /* Not `closing`: its end counts as a failure and brings a retry. */
        l->dead = 1;
        l->sk->host->ws_close(l->ws, SK_CLOSE_GOING_AWAY, "no hello");
        return;
    }
    if (l->replaced) {
        /* The successor did not come up either; this link is probably dead: let it go. */
        sk_log(l->sk, PB_LOG_WARNING, "connection %d: link %u still silent; closing it",
               l->slot->index, l->serial);
        l->dead = 1;
        l->sk->host->ws_close(l->ws, SK_CLOSE_GOING_AWAY, "silent");
        return;
    }
    link_arm(l, l->sk->idle_timeout_ms);
    link_replace(l, "has been silent");
}

static void on_open(void *arg, pb_ws *ws)
{
    struct slack_link *l = arg;

    if (!l->sk)
        return;
    l->open = 1;
    link_arm(l, SK_HELLO_TIMEOUT_MS);
}

static void on_message(void *arg, pb_ws *ws, const char *data, size_t len)
{
    struct slack_link *l = arg;
    char reason[64];
    int kind;

    if (!l->sk || l->closing || l->dead)
        return;
    if (l->hello && !l->replaced)
        link_arm(l, l->sk->idle_timeout_ms);
    kind = slack_events_frame(l, data, len, reason, sizeof(reason));
    if (kind == SK_FRAME_HELLO) {
        link_hello(l);
    } else if (kind == SK_FRAME_DISCONNECT) {
        if (strcmp(reason, "link_disabled") == 0) {
            disable(l->sk, "Slack disabled Socket Mode for this app (disconnect: link_disabled); "
                           "turn it on under the app's Socket Mode settings");
            return;
        }
        link_replace(l, strcmp(reason, "warning") == 0 ? "was warned of a refresh"
                                                       : "was asked to refresh");
    }
}

static void on_close(void *arg, pb_ws *ws, int code, const char *reason)
{
    struct slack_link *l = arg;
    struct slack *sk = l->sk;
    struct slack_slot *slot = l->slot;
    int failure;

    if (!sk) {
        link_free(l);
        return;
    }
    failure = !l->closing;
    l->ws = NULL;
    if (slot->cur == l) {
        slot->cur = slot->next; /* a successor on its way takes over at its hello */
        slot->next = NULL;
    } else if (slot->next == l) {
        slot->next = NULL;
    }
    if (failure && !sk->stopped && !sk->disabled)
        sk_log(sk, PB_LOG_WARNING, "connection %d: link %u closed (%d%s%s)", slot->index, l->serial,
               code, reason && *reason ? ": " : "", reason ? reason : "");
    link_free(l);
    update_state(sk, "Socket Mode link closed");
    if (failure)
        slot_retry(slot);
}

static const struct pb_ws_client_ops ws_ops = {
    .size = sizeof(ws_ops),
    .on_open = on_open,
    .on_message = on_message,
    .on_close = on_close,
};

static void link_start(struct slack_slot *slot, const char *url)
{
    struct slack *sk = slot->sk;
    struct slack_link *l = calloc(1, sizeof(*l));

    if (!l)
        goto fail;
    l->sk = sk;
    l->slot = slot;
    l->serial = ++sk->link_serial;
    l->idle = sk->host->timer_new(sk->ctx, idle_fired, l);
    if (!l->idle)
        goto fail;
    l->next_all = sk->links;
    sk->links = l;
    if (slot->cur)
        slot->next = l;
    else
        slot->cur = l;
    l->ws = sk->host->ws_connect(sk->ctx, url, &ws_ops, l);
    if (!l->ws) {
        if (slot->next == l)
            slot->next = NULL;
        if (slot->cur == l)
            slot->cur = NULL;
        link_free(l);
        l = NULL;
        goto fail;
    }
    /* Until hello, a silent half-open attempt must not hang forever. */
    link_arm(l, SK_HELLO_TIMEOUT_MS);
    return;
fail:
    if (l && l->idle)
        sk->host->timer_free(l->idle);
    free(l);
    sk_log(sk, PB_LOG_WARNING, "connection %d: could not open the websocket", slot->index);
    slot_retry(slot);
}

static void opened(void *arg, const struct sk_reply *r)
{
    struct slack_slot *slot = arg;
    struct slack *sk = slot->sk;
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(r->json, "url");
    char *full;
    size_t len;

    slot->opening = 0;
    if (sk->destroying || sk->stopped || sk->disabled)
        return;
    if (r->fate == SK_FATE_CONFIG) {
        char why[160];
        snprintf(why, sizeof(why), "apps.connections.open failed: %s%s", r->error ? r->error : "?",
                 r->error && strcmp(r->error, "not_allowed_token_type") == 0
                     ? ": app_token must be the xapp- token with connections:write"
                     : "");
        disable(sk, why);
        return;
    }
    if (r->fate != SK_FATE_OK || !cJSON_IsString(url) ||
        (strncmp(url->valuestring, "wss://", 6) != 0 &&
         strncmp(url->valuestring, "ws://", 5) != 0)) {
        sk_log(sk, PB_LOG_WARNING, "connection %d: apps.connections.open failed: %s", slot->index,
               r->fate != SK_FATE_OK && r->error ? r->error : "no websocket URL in the reply");
        if (r->retry_after_ms)
            sk->host->timer_arm(slot->retry, r->retry_after_ms);
        else
            slot_retry(slot);
        return;
    }
    len = strlen(url->valuestring) + 32;
    full = malloc(len);
    if (!full) {
        slot_retry(slot);
        return;
    }
    snprintf(full, len, "%s%s", url->valuestring,
             sk->debug_reconnects ? (strchr(url->valuestring, '?') ? "&debug_reconnects=true"
                                                                   : "?debug_reconnects=true")
                                  : "");
    link_start(slot, full);
    free(full);
}

static void slot_open(struct slack_slot *slot)
{
    struct slack *sk = slot->sk;

    if (sk->stopped || sk->disabled || slot->opening)
        return;
    slot->opening = 1;
    if (slack_api_call(sk, "apps.connections.open", SK_BODY_FORM, "", 1, NULL, opened, slot) !=
        PB_OK) {
        slot->opening = 0;
        slot->failures++;
        sk->host->timer_arm(slot->retry, slack_jitter(sk, SK_BACKOFF_MAX_MS));
    }
}

void slack_socket_start(struct slack *sk)
{
    for (int i = 0; i < sk->n_slots; i++) {
        struct slack_slot *slot = &sk->slots[i];
        slot->sk = sk;
        slot->index = i;
        if (!slot->retry)
            slot->retry = sk->host->timer_new(sk->ctx, retry_fired, slot);
        if (slot->retry)
            slot_open(slot);
    }
}

void slack_socket_stop(struct slack *sk)
{
    for (int i = 0; i < sk->n_slots; i++)
        if (sk->slots[i].retry)
            sk->host->timer_cancel(sk->slots[i].retry);
    for (struct slack_link *l = sk->links; l; l = l->next_all)
        link_close(l, SK_CLOSE_GOING_AWAY, "stopping");
}

void slack_socket_destroy(struct slack *sk)
{
    slack_socket_stop(sk);
    for (int i = 0; i < sk->n_slots; i++) {
        if (sk->slots[i].retry)
            sk->host->timer_free(sk->slots[i].retry);
        sk->slots[i].retry = NULL;
    }
    /* Links whose on_close has not come yet are left to it, with no connector behind them. */
    while (sk->links) {
        struct slack_link *l = sk->links;
        sk->links = l->next_all;
        if (l->idle)
            sk->host->timer_free(l->idle);
        l->idle = NULL;
        l->sk = NULL;
        if (!l->ws)
            free(l);
    }
}

int slack_socket_send(struct slack_link *l, const char *data)
{
    if (!l->sk || !l->ws || l->closing)
        return PB_ERR;
    return l->sk->host->ws_send(l->ws, data, strlen(data));
}

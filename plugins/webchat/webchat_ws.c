/*
 * Browser connections on the websocket route: who may open one (Origin), the life of a
 * connection (hello within a time limit, then frames), and pushing messages to the
 * connections of a conversation's members.
 *
 * The first frame must sign the person in (webchat_hello.c); until then only the demo's
 * "people" request is answered and anything else closes the connection with 1008. After
 * hello, a malformed frame gets an error and the connection stays open, up to a limit.
 *
 * A connection is freed only in on_close (or destroy): the host may still deliver a frame
 * after we asked it to close, so a closing connection stays valid and ignores it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webchat.h"

static void conn_unlink_free(struct wc_conn *c)
{
    struct webchat *wc = c->wc;

    if (c->prev)
        c->prev->next = c->next;
    else
        wc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->hello_timer)
        wc->host->timer_free(c->hello_timer);
    for (size_t i = 0; i < c->n_channels; i++)
        free(c->channels[i]);
    free(c->channels);
    free(c);
}

void webchat_ws_send_json(struct wc_conn *c, cJSON *json)
{
    struct webchat *wc = c->wc;
    char *text;

    if (c->closing || !json)
        return;
    text = cJSON_PrintUnformatted(json);
    if (!text) {
        wc_log(wc, PB_LOG_ERR, "out of memory encoding a frame");
        return;
    }
    if (wc->host->ws_conn_send(c->conn, text, strlen(text)) != PB_OK)
        wc_log(wc, PB_LOG_INFO, "could not send to a browser of %s",
               c->user[0] ? c->user : "(not signed in)");
    free(text);
}

/* {"type":"error","text":...}, with the id of the frame it answers when that frame had one,
 * so a page waiting for a result can stop waiting. */
void webchat_ws_error(struct wc_conn *c, const cJSON *id, const char *text)
{
    cJSON *o = cJSON_CreateObject();

    if (o && cJSON_AddStringToObject(o, "type", "error") &&
        cJSON_AddStringToObject(o, "text", text) &&
        (!cJSON_IsNumber(id) || cJSON_AddNumberToObject(o, "id", id->valuedouble)))
        webchat_ws_send_json(c, o);
    cJSON_Delete(o);
}

/* Says why and closes. Nothing more is read from or sent to this connection. */
void webchat_ws_refuse(struct wc_conn *c, int code, const char *text)
{
    if (c->closing)
        return;
    webchat_ws_error(c, NULL, text);
    c->closing = 1;
    if (c->hello_timer)
        c->wc->host->timer_cancel(c->hello_timer);
    c->wc->host->ws_conn_close(c->conn, code, text);
}

int webchat_conn_member(const struct wc_conn *c, const char *conv)
{
    if (!c->ready)
        return 0;
    if (strncmp(conv, "dm:", 3) == 0)
        return strcmp(conv + 3, c->user) == 0;
    if (strncmp(conv, "room:", 5) == 0)
        for (size_t i = 0; i < c->n_channels; i++)
            if (strcmp(conv + 5, c->channels[i]) == 0)
                return 1;
    return 0;
}

void webchat_ws_push(struct webchat *wc, const char *conv, const char *json)
{
    size_t len = strlen(json);

    for (struct wc_conn *c = wc->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing || !webchat_conn_member(c, conv))
            continue;
        if (wc->host->ws_conn_send(c->conn, json, len) != PB_OK)
            wc_log(wc, PB_LOG_INFO, "could not push to a browser of %s", c->user);
    }
}

static int origin_allowed(struct webchat *wc, const struct pb_server_request *req)
{
    const char *origin = req->header ? req->header(req, "Origin") : NULL;
    const char *host;
    size_t n;

    if (!origin || !*origin)
        return 0;
    for (size_t i = 0; i < wc->n_origins; i++)
        if (strcasecmp(origin, wc->origins[i]) == 0)
            return 1;
    if (wc->n_origins > 0)
        return 0;
    /* No list configured: only a page this server served itself, over plain HTTP. */
    host = req->header(req, "Host");
    if (!host || !*host || strncasecmp(origin, "http://", 7) != 0)
        return 0;
    n = strlen(host);
    return strlen(origin + 7) == n && strncasecmp(origin + 7, host, n) == 0;
}

static void hello_timeout(void *arg)
{
    struct wc_conn *c = arg;

    webchat_ws_refuse(c, WC_CLOSE_POLICY, "No hello received in time.");
}

static int on_open(void *arg, pb_ws_conn *conn, const struct pb_server_request *req)
{
    struct webchat *wc = arg;
    struct wc_conn *c;

    if (wc->stopped)
        return 503;
    if (!origin_allowed(wc, req)) {
        wc_log(wc, PB_LOG_NOTICE, "refused a websocket from %s: origin not allowed",
               req->peer ? req->peer : "?");
        if (wc->host->counter_add)
            wc->host->counter_add(wc->ctx, "origin_refused", 1);
        return 403;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return 503;
    c->wc = wc;
    c->conn = conn;
    c->next = wc->conns;
    if (wc->conns)
        wc->conns->prev = c;
    wc->conns = c;
    c->hello_timer = wc->host->timer_new(wc->ctx, hello_timeout, c);
    if (c->hello_timer)
        wc->host->timer_arm(c->hello_timer, WC_HELLO_TIMEOUT_MS);
    wc->host->ws_conn_set_user(conn, c);
    return 0;
}

/* A frame that could not be used. After too many the client is broken or hostile. */
void webchat_ws_bad(struct wc_conn *c, const cJSON *id, const char *text)
{
    if (c->wc->host->counter_add)
        c->wc->host->counter_add(c->wc->ctx, "frames_rejected", 1);
    if (++c->bad_frames >= WC_MAX_BAD_FRAMES) {
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Too many malformed messages.");
        return;
    }
    webchat_ws_error(c, id, text);
}

static void before_hello(struct wc_conn *c, const cJSON *frame, const char *type)
{
    if (type && strcmp(type, "hello") == 0) {
        if (webchat_hello(c, frame) == 0 && c->hello_timer)
            c->wc->host->timer_cancel(c->hello_timer);
        return;
    }
    if (type && strcmp(type, "people") == 0 && c->wc->demo_login &&
        ++c->people_asks <= WC_MAX_PEOPLE_ASKS) {
        webchat_people(c);
        return;
    }
    if (type && strcmp(type, "people") == 0 && !c->wc->demo_login)
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Sign in with your personal link.");
    else
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Say hello first.");
}

static void on_message(void *arg, pb_ws_conn *conn, const char *data, size_t len)
{
    struct webchat *wc = arg;
    struct wc_conn *c = wc->host->ws_conn_user(conn);
    cJSON *frame = NULL;
    const cJSON *type;

    if (!c || c->closing)
        return;
    if (webchat_text_valid(data, len))
        frame = cJSON_ParseWithLength(data, len);
    type = cJSON_GetObjectItemCaseSensitive(frame, "type");
    if (!c->ready) {
        if (!cJSON_IsObject(frame))
            webchat_ws_refuse(c, WC_CLOSE_POLICY, "Say hello first.");
        else
            before_hello(c, frame, cJSON_IsString(type) ? type->valuestring : NULL);
        goto out;
    }
    if (!cJSON_IsObject(frame)) {
        webchat_ws_bad(c, NULL, "That message was not a JSON object.");
        goto out;
    }
    if (!cJSON_IsString(type)) {
        webchat_ws_bad(c, cJSON_GetObjectItemCaseSensitive(frame, "id"), "A message needs a type.");
        goto out;
    }
    webchat_frame(c, frame, type->valuestring);
out:
    cJSON_Delete(frame);
}

static void on_close(void *arg, pb_ws_conn *conn)
{
    struct webchat *wc = arg;
    struct wc_conn *c = wc->host->ws_conn_user(conn);

    if (!c)
        return;
    wc->host->ws_conn_set_user(conn, NULL);
    if (c->ready)
        wc_log(wc, PB_LOG_DEBUG, "%s left", c->user);
    conn_unlink_free(c);
}

void webchat_ws_init(struct webchat *wc)
{
    memset(&wc->ws_ops, 0, sizeof(wc->ws_ops));
    wc->ws_ops.size = sizeof(wc->ws_ops);
    wc->ws_ops.on_open = on_open;
    wc->ws_ops.on_message = on_message;
    wc->ws_ops.on_close = on_close;
    wc->ws_ops.max_message = wc->max_message + WC_FRAME_OVERHEAD;
}

void webchat_ws_close_all(struct webchat *wc)
{
    for (struct wc_conn *c = wc->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        c->closing = 1;
        if (c->hello_timer)
            wc->host->timer_cancel(c->hello_timer);
        wc->host->ws_conn_close(c->conn, WC_CLOSE_GOING_AWAY, "The chat is shutting down.");
    }
}

/* After destroy no callback arrives, so what is left is freed without the host. */
void webchat_ws_free_all(struct webchat *wc)
{
    while (wc->conns)
        conn_unlink_free(wc->conns);
}

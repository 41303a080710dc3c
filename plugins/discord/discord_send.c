/*
 * The connector's send and update: a core message posted to a person's DM channel or a team
 * channel (or a thread under an earlier message), and edits of what was posted.
 *
 * A person's DM channel is opened once (POST /users/@me/channels) and kept in the key/value
 * state as "dm:<user>". Every post carries nonce "pb<outbox id>" with enforce_nonce, so a
 * retry of the same outbox row, after a timeout or a crash, returns the message already
 * posted instead of posting it twice. The reference reported back is "<channel>:<message>";
 * an update edits exactly that message.
 *
 * Outcomes: 50007 (cannot send to this user), unknown user, channel or message: unreachable,
 * not retried. Other 403s (missing access or permissions) and a 401: misconfigured. No answer
 * or a 5xx: retry. A 429 never gets here: the REST queue waits it out.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discord.h"

#define THREAD_NAME "Updates"

enum step { STEP_OPEN_DM, STEP_THREAD, STEP_POST, STEP_EDIT };

struct send_ctx {
    struct discord *dc;
    uint64_t id;
    enum step step;
    int cached_dm; /* the DM channel came from the key/value state */
    char user[DC_MAX_ID];
    char channel[DC_MAX_ID];
    char message[DC_MAX_ID];
    cJSON *body;
};

static void finish(struct send_ctx *c, enum pb_send_outcome outcome, const char *ref,
                   uint32_t retry_after_ms, const char *error)
{
    struct pb_send_result res = {.size = sizeof(res),
                                 .outcome = outcome,
                                 .message_ref = ref,
                                 .retry_after_ms = retry_after_ms,
                                 .error = error};

    c->dc->host->send_done(c->dc->ctx, c->id, &res);
    cJSON_Delete(c->body);
    free(c);
}

/* What a failed call means for the message. */
static enum pb_send_outcome outcome_of(const struct dc_rest_result *r, char *err, size_t len)
{
    cJSON *msg = cJSON_GetObjectItemCaseSensitive(r->json, "message");
    const char *text = cJSON_IsString(msg) ? msg->valuestring : (r->error ? r->error : "");

    if (r->code)
        snprintf(err, len, "HTTP %d code %d: %s", r->status, r->code, text);
    else
        snprintf(err, len, "HTTP %d: %s", r->status, text);
    switch (r->code) {
    case 50007: /* cannot send messages to this user */
    case 10003: /* unknown channel */
    case 10008: /* unknown message */
    case 10013: /* unknown user */
    case 50006: /* empty message */
    case 50035: /* invalid form body: sending it again will not help */
        return PB_SEND_UNREACHABLE;
    default:
        break;
    }
    if (r->status == 0 || r->status >= 500)
        return PB_SEND_RETRY;
    if (r->status == 401 || r->status == 403)
        return PB_SEND_MISCONFIGURED;
    if (r->status == 404 || r->status == 400)
        return PB_SEND_UNREACHABLE;
    return PB_SEND_RETRY;
}

static void step_done(struct discord *dc, void *arg, const struct dc_rest_result *r);

static int call(struct send_ctx *c, const char *method, const char *path, cJSON *body,
                const char *serial)
{
    char *json = body ? cJSON_PrintUnformatted(body) : NULL;
    int rc;

    if (body && !json)
        return PB_ERR_NOMEM;
    rc = dc_rest(c->dc, method, path, json, 0, serial, step_done, c);
    free(json);
    return rc;
}

static void post(struct send_ctx *c)
{
    char path[DC_MAX_ID + 32], nonce[32];

    c->step = STEP_POST;
    snprintf(path, sizeof(path), "/channels/%s/messages", c->channel);
    snprintf(nonce, sizeof(nonce), "pb%llu", (unsigned long long)c->id);
    cJSON_DeleteItemFromObjectCaseSensitive(c->body, "nonce");
    cJSON_DeleteItemFromObjectCaseSensitive(c->body, "enforce_nonce");
    cJSON_AddStringToObject(c->body, "nonce", nonce);
    cJSON_AddTrueToObject(c->body, "enforce_nonce");
    if (call(c, "POST", path, c->body, NULL) != 0)
        finish(c, PB_SEND_RETRY, NULL, 0, "the connector is stopping or refused the call");
}

static void step_done(struct discord *dc, void *arg, const struct dc_rest_result *r)
{
    struct send_ctx *c = arg;
    char err[256], ref[2 * DC_MAX_ID + 2], key[DC_MAX_ID + 8];
    char id[DC_MAX_ID];
    enum pb_send_outcome outcome;

    if (r->status >= 200 && r->status < 300) {
        dc_id(cJSON_GetObjectItemCaseSensitive(r->json, "id"), id, sizeof(id));
        switch (c->step) {
        case STEP_OPEN_DM:
            if (!id[0])
                break;
            memcpy(c->channel, id, sizeof(id));
            snprintf(key, sizeof(key), "dm:%s", c->user);
            dc->host->kv_put(dc->ctx, key, c->channel);
            post(c);
            return;
        case STEP_THREAD:
            if (!id[0])
                break;
            memcpy(c->channel, id, sizeof(id));
            post(c);
            return;
        case STEP_POST:
        case STEP_EDIT:
            if (!id[0] && c->step == STEP_POST)
                break;
            snprintf(ref, sizeof(ref), "%s:%s", c->channel, c->step == STEP_POST ? id : c->message);
            if (dc->host->counter_add)
                dc->host->counter_add(
                    dc->ctx, c->step == STEP_POST ? "messages_posted" : "messages_edited", 1);
            finish(c, PB_SEND_DONE, ref, 0, NULL);
            return;
        }
        finish(c, PB_SEND_RETRY, NULL, 0, "Discord's answer had no id");
        return;
    }
    /* A thread already started on that message has the message's id (160004). */
    if (c->step == STEP_THREAD && r->code == 160004) {
        post(c);
        return;
    }
    outcome = outcome_of(r, err, sizeof(err));
    /* A DM channel we kept may be gone: forget it, and the retry opens a new one. */
    if (c->cached_dm && r->code == 10003) {
        snprintf(key, sizeof(key), "dm:%s", c->user);
        dc->host->kv_delete(dc->ctx, key);
        outcome = PB_SEND_RETRY;
    }
    if (outcome != PB_SEND_RETRY)
        dc_log(dc, PB_LOG_WARNING, "message %llu: %s", (unsigned long long)c->id, err);
    finish(c, outcome, NULL, 0, err);
}

static int valid_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= DC_MAX_ID)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* "<channel>:<message>" into its two ids. */
static int split_ref(const char *ref, char *channel, char *message)
{
    const char *colon = ref ? strchr(ref, ':') : NULL;
    size_t n = colon ? (size_t)(colon - ref) : 0;

    if (!colon || n == 0 || n >= DC_MAX_ID)
        return PB_ERR_INVALID;
    memcpy(channel, ref, n);
    channel[n] = '\0';
    snprintf(message, DC_MAX_ID, "%s", colon + 1);
    return valid_id(channel) && valid_id(message) ? 0 : PB_ERR_INVALID;
}

static struct send_ctx *new_ctx(struct discord *dc, const struct pb_send *s, const char **error)
{
    struct send_ctx *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->dc = dc;
    c->id = s->id;
    c->body = dc_render_message(s->message, error);
    if (!c->body) {
        free(c);
        return NULL;
    }
    return c;
}

static int accepted(const struct discord *dc, const struct pb_send *s)
{
    if (dc->stopped)
        return PB_ERR_BUSY;
    if (!s || s->size < offsetof(struct pb_send, reserved) || !s->message || !s->target)
        return PB_ERR_INVALID;
    return 0;
}

static void refuse(struct discord *dc, uint64_t id, enum pb_send_outcome o, const char *error)
{
    struct pb_send_result res = {.size = sizeof(res), .outcome = o, .error = error};

    dc->host->send_done(dc->ctx, id, &res);
}

int dc_send(void *self, const struct pb_send *s)
{
    struct discord *dc = self;
    const char *error = NULL;
    struct send_ctx *c;
    char key[DC_MAX_ID + 8], *dm = NULL, parent[DC_MAX_ID], parent_msg[DC_MAX_ID];
    char path[2 * DC_MAX_ID + 48];
    int rc = accepted(dc, s);

    if (rc)
        return rc;
    if (dc->unauthorized) {
        refuse(dc, s->id, PB_SEND_MISCONFIGURED, "the bot token was refused");
        return PB_OK;
    }
    if (!valid_id(s->target)) {
        refuse(dc, s->id, PB_SEND_UNREACHABLE, "not a Discord user or channel id");
        return PB_OK;
    }
    c = new_ctx(dc, s, &error);
    if (!c) {
        if (!error)
            return PB_ERR_NOMEM;
        refuse(dc, s->id, PB_SEND_UNREACHABLE, error);
        return PB_OK;
    }
    if (s->target_kind == PB_TARGET_PERSON) {
        snprintf(c->user, sizeof(c->user), "%s", s->target);
        snprintf(key, sizeof(key), "dm:%s", s->target);
        if (dc->host->kv_get(dc->ctx, key, &dm) == 0 && dm && valid_id(dm)) {
            snprintf(c->channel, sizeof(c->channel), "%s", dm);
            c->cached_dm = 1;
            free(dm);
            post(c);
            return PB_OK;
        }
        free(dm);
        c->step = STEP_OPEN_DM;
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "recipient_id", s->target);
        rc = call(c, "POST", "/users/@me/channels", body, NULL);
        cJSON_Delete(body);
    } else if (s->thread_ref && split_ref(s->thread_ref, parent, parent_msg) == 0) {
        /* A thread on an earlier message: start it (or find it: it has the message's id). */
        snprintf(c->channel, sizeof(c->channel), "%s", parent_msg);
        c->step = STEP_THREAD;
        snprintf(path, sizeof(path), "/channels/%s/messages/%s/threads", parent, parent_msg);
        cJSON *body = cJSON_CreateObject();
        cJSON_AddStringToObject(body, "name", THREAD_NAME);
        rc = call(c, "POST", path, body, NULL);
        cJSON_Delete(body);
    } else {
        snprintf(c->channel, sizeof(c->channel), "%s",
                 s->thread_ref && valid_id(s->thread_ref) ? s->thread_ref : s->target);
        post(c);
        return PB_OK;
    }
    if (rc != 0)
        finish(c, PB_SEND_RETRY, NULL, 0, "the connector could not queue the call");
    return PB_OK;
}

int dc_update(void *self, const struct pb_send *s)
{
    struct discord *dc = self;
    const char *error = NULL;
    struct send_ctx *c;
    char path[2 * DC_MAX_ID + 32];
    int rc = accepted(dc, s);

    if (rc)
        return rc;
    if (dc->unauthorized) {
        refuse(dc, s->id, PB_SEND_MISCONFIGURED, "the bot token was refused");
        return PB_OK;
    }
    c = new_ctx(dc, s, &error);
    if (!c) {
        if (!error)
            return PB_ERR_NOMEM;
        refuse(dc, s->id, PB_SEND_UNREACHABLE, error);
        return PB_OK;
    }
    if (split_ref(s->message_ref, c->channel, c->message) != 0) {
        finish(c, PB_SEND_UNREACHABLE, NULL, 0, "not a Discord message reference");
        return PB_OK;
    }
    c->step = STEP_EDIT;
    snprintf(path, sizeof(path), "/channels/%s/messages/%s", c->channel, c->message);
    /* After an interaction callback on the same message, never before it. */
    if (call(c, "PATCH", path, c->body, c->message) != 0)
        finish(c, PB_SEND_RETRY, NULL, 0, "the connector could not queue the call");
    return PB_OK;
}

static void notice_done(struct discord *dc, void *arg, const struct dc_rest_result *r)
{
    (void)arg;
    if (r->status < 200 || r->status >= 300)
        dc_log(dc, PB_LOG_INFO, "a reply could not be posted (%d, code %d)", r->status, r->code);
}

void dc_post_notice(struct discord *dc, const char *channel, const char *text)
{
    struct pb_message m = {.size = sizeof(m), .kind = PB_MESSAGE_TEXT, .text = text};
    const char *error;
    cJSON *body = dc_render_message(&m, &error);
    char path[DC_MAX_ID + 32], *json = body ? cJSON_PrintUnformatted(body) : NULL;

    if (json && valid_id(channel)) {
        snprintf(path, sizeof(path), "/channels/%s/messages", channel);
        dc_rest(dc, "POST", path, json, 0, NULL, notice_done, NULL);
    }
    free(json);
    cJSON_Delete(body);
}

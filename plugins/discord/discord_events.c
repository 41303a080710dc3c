/*
 * What arrives over the gateway, turned into core events.
 *
 * INTERACTION_CREATE (a button or select click): the event goes to the core first, which
 * commits it before emit returns; only then is Discord answered, within its 3 seconds: a
 * choice with UPDATE_MESSAGE (the question with the answer shown and no buttons left), an
 * alert action with DEFERRED_UPDATE_MESSAGE (the core's edit of the alert follows and shows
 * its new state), a refusal with an ephemeral message carrying the core's reply. The clicker
 * is `user` in a DM and `member.user` in a server.
 *
 * MESSAGE_CREATE in a DM from a person is a text reply (the core decides whether a question
 * waits for one). THREAD_UPDATE of a thread in a configured support forum that is archived,
 * locked or tagged resolved reports a closed customer interaction, once per thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discord.h"

#define REPLY_MAX 512

const char *dc_id(const cJSON *item, char *buf, size_t len)
{
    buf[0] = '\0';
    if (cJSON_IsString(item) && strlen(item->valuestring) < len)
        memcpy(buf, item->valuestring, strlen(item->valuestring) + 1);
    else if (cJSON_IsNumber(item) && item->valuedouble >= 0 && item->valuedouble < 9e15)
        snprintf(buf, len, "%.0f", item->valuedouble); /* only small ids survive a double */
    return buf;
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *display_name(const cJSON *user)
{
    const char *n = str(user, "global_name");
    return n && *n ? n : str(user, "username");
}

/* ---- answering an interaction ---- */

struct callback_ctx {
    char what[64];
};

static void callback_done(struct discord *dc, void *arg, const struct dc_rest_result *r)
{
    struct callback_ctx *c = arg;

    if (r->status == 200 || r->status == 204) {
        if (dc->host->counter_add)
            dc->host->counter_add(dc->ctx, "interactions_answered", 1);
    } else {
        /* 10062: answered too late; 40060: answered twice. The answer is committed either
         * way: the core's edit of the message still shows it. */
        dc_log(dc, PB_LOG_WARNING, "interaction callback (%s) failed: %d code %d %s", c->what,
               r->status, r->code, r->error ? r->error : "");
    }
    free(c);
}

static void answer(struct discord *dc, const char *id, const char *token, const char *serial,
                   cJSON *body, const char *what)
{
    char path[512];
    char *json = cJSON_PrintUnformatted(body);
    struct callback_ctx *c = calloc(1, sizeof(*c));

    cJSON_Delete(body);
    if (!json || !c || strlen(token) > 300) {
        free(json);
        free(c);
        return;
    }
    snprintf(c->what, sizeof(c->what), "%s", what);
    snprintf(path, sizeof(path), "/interactions/%s/%s/callback", id, token);
    if (dc_rest(dc, "POST", path, json, DC_REST_NOAUTH | DC_REST_URGENT, serial, callback_done,
                c) != 0)
        free(c);
    free(json);
}

static cJSON *callback_body(int type)
{
    cJSON *b = cJSON_CreateObject();
    if (b)
        cJSON_AddNumberToObject(b, "type", type);
    return b;
}

static cJSON *add_data(cJSON *body)
{
    cJSON *data = cJSON_AddObjectToObject(body, "data");
    cJSON *am = data ? cJSON_AddObjectToObject(data, "allowed_mentions") : NULL;
    if (am)
        cJSON_AddArrayToObject(am, "parse");
    return data;
}

static void answer_ephemeral(struct discord *dc, const char *id, const char *token,
                             const char *serial, const char *text)
{
    cJSON *body = callback_body(4), *data = body ? add_data(body) : NULL;
    struct dc_buf b = {0};

    if (!data) {
        cJSON_Delete(body);
        return;
    }
    dc_escape(&b, text && *text ? text : "Sorry, that did not work. Please try again.");
    cJSON_AddStringToObject(data, "content", b.s ? b.s : "");
    cJSON_AddNumberToObject(data, "flags", 64); /* only the clicker sees it */
    free(b.s);
    answer(dc, id, token, serial, body, "refusal");
}

/* The label of the clicked button (or chosen option) on the message, for showing the answer. */
static const char *clicked_label(const cJSON *message, const char *custom_id, const char *value)
{
    const cJSON *row, *comp, *opt;

    cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(message, "components"))
    {
        cJSON_ArrayForEach(comp, cJSON_GetObjectItemCaseSensitive(row, "components"))
        {
            const char *cid = str(comp, "custom_id");
            if (!cid || strcmp(cid, custom_id) != 0)
                continue;
            if (!value)
                return str(comp, "label");
            cJSON_ArrayForEach(opt, cJSON_GetObjectItemCaseSensitive(comp, "options"))
            {
                const char *v = str(opt, "value");
                if (v && strcmp(v, value) == 0)
                    return str(opt, "label");
            }
        }
    }
    return NULL;
}

/* UPDATE_MESSAGE: the question as it was sent (our own, already escaped content) with the
 * answer under it, and no components left to click. */
static void answer_choice(struct discord *dc, const char *id, const char *token, const char *serial,
                          const cJSON *message, const char *label)
{
    cJSON *body = callback_body(7), *data = body ? add_data(body) : NULL;
    const char *content = str(message, "content");
    struct dc_buf b = {0};
    char *cut;

    if (!data) {
        cJSON_Delete(body);
        return;
    }
    dc_buf_str(&b, content ? content : "");
    dc_buf_str(&b, "\n*Your answer: ");
    dc_escape(&b, label ? label : "received");
    dc_buf_str(&b, "*");
    cut = b.s ? dc_truncate(b.s, DC_MAX_CONTENT) : NULL;
    cJSON_AddStringToObject(data, "content", cut ? cut : "");
    cJSON_AddArrayToObject(data, "components");
    free(cut);
    free(b.s);
    answer(dc, id, token, serial, body, "answer");
}

static void on_interaction(struct discord *dc, const cJSON *d)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(d, "data");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(d, "message");
    const cJSON *member = cJSON_GetObjectItemCaseSensitive(d, "member");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(d, "user");
    const cJSON *values = cJSON_GetObjectItemCaseSensitive(data, "values");
    const char *custom_id = str(data, "custom_id"), *token = str(d, "token");
    const char *ev_token = NULL, *value = NULL;
    char id[DC_MAX_ID], user_id[DC_MAX_ID], channel[DC_MAX_ID], msg_id[DC_MAX_ID];
    char ref[2 * DC_MAX_ID + 2], reply[REPLY_MAX] = "";
    struct pb_event ev = {.size = sizeof(ev)};
    int rc;

    if (!cJSON_IsNumber(type) || type->valueint != 3)
        return; /* only component clicks: we register no commands */
    dc_id(cJSON_GetObjectItemCaseSensitive(d, "id"), id, sizeof(id));
    if (!user)
        user = cJSON_GetObjectItemCaseSensitive(member, "user");
    dc_id(cJSON_GetObjectItemCaseSensitive(user, "id"), user_id, sizeof(user_id));
    dc_id(cJSON_GetObjectItemCaseSensitive(d, "channel_id"), channel, sizeof(channel));
    dc_id(cJSON_GetObjectItemCaseSensitive(message, "id"), msg_id, sizeof(msg_id));
    if (!id[0] || !token || !custom_id || !user_id[0]) {
        dc_log(dc, PB_LOG_DEBUG, "an interaction without id, token, custom_id or user; ignored");
        return;
    }
    if (dc->host->counter_add)
        dc->host->counter_add(dc->ctx, "interactions", 1);
    snprintf(ref, sizeof(ref), "%s:%s", channel, msg_id);
    if (strncmp(custom_id, "c:", 2) == 0 || strncmp(custom_id, "a:", 2) == 0) {
        ev_token = custom_id + 2;
        ev.type = custom_id[0] == 'c' ? PB_EVENT_CHOICE : PB_EVENT_ACTION;
    } else if ((strncmp(custom_id, "sc:", 3) == 0 || strncmp(custom_id, "sa:", 3) == 0) &&
               cJSON_IsArray(values) && cJSON_IsString(cJSON_GetArrayItem(values, 0))) {
        value = cJSON_GetArrayItem(values, 0)->valuestring;
        ev_token = value;
        ev.type = custom_id[1] == 'c' ? PB_EVENT_CHOICE : PB_EVENT_ACTION;
    } else {
        answer_ephemeral(dc, id, token, msg_id, "This button is not valid.");
        return;
    }
    ev.user = user_id;
    ev.user_name = display_name(user);
    ev.conversation = channel[0] ? channel : NULL;
    ev.message_ref = msg_id[0] ? ref : NULL;
    ev.token = ev_token;
    rc = dc->host->emit(dc->ctx, &ev, reply, sizeof(reply));
    if (rc != PB_OK) {
        answer_ephemeral(dc, id, token, msg_id, reply);
        return;
    }
    if (ev.type == PB_EVENT_CHOICE)
        answer_choice(dc, id, token, msg_id, message, clicked_label(message, custom_id, value));
    else
        answer(dc, id, token, msg_id, callback_body(6), "action");
}

/* ---- a direct message ---- */

static void remember_dm(struct discord *dc, const char *user, const char *channel)
{
    char key[DC_MAX_ID + 8], *old = NULL;

    snprintf(key, sizeof(key), "dm:%s", user);
    if (dc->host->kv_get(dc->ctx, key, &old) != 0 || !old || strcmp(old, channel) != 0)
        dc->host->kv_put(dc->ctx, key, channel);
    free(old);
}

static void on_message(struct discord *dc, const cJSON *d)
{
    const cJSON *author = cJSON_GetObjectItemCaseSensitive(d, "author");
    const char *content = str(d, "content");
    char user[DC_MAX_ID], channel[DC_MAX_ID], msg_id[DC_MAX_ID], ref[2 * DC_MAX_ID + 2];
    char reply[REPLY_MAX] = "";
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_TEXT};

    if (cJSON_GetObjectItemCaseSensitive(d, "guild_id"))
        return; /* server messages are not answers */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(author, "bot")))
        return;
    dc_id(cJSON_GetObjectItemCaseSensitive(author, "id"), user, sizeof(user));
    dc_id(cJSON_GetObjectItemCaseSensitive(d, "channel_id"), channel, sizeof(channel));
    dc_id(cJSON_GetObjectItemCaseSensitive(d, "id"), msg_id, sizeof(msg_id));
    if (!user[0] || !channel[0] || strcmp(user, dc->gw.bot_id) == 0)
        return;
    remember_dm(dc, user, channel);
    if (!content || !*content)
        return; /* an attachment or sticker alone says nothing we can take */
    snprintf(ref, sizeof(ref), "%s:%s", channel, msg_id);
    ev.user = user;
    ev.user_name = display_name(author);
    ev.conversation = channel;
    ev.message_ref = ref;
    ev.text = content;
    if (dc->host->emit(dc->ctx, &ev, reply, sizeof(reply)) != PB_OK && reply[0])
        dc_post_notice(dc, channel, reply);
}

/* ---- a support forum thread closed ---- */

static int listed(char *const *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return 1;
    return 0;
}

static void on_thread_update(struct discord *dc, const cJSON *d)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(d, "thread_metadata"), *tag;
    char id[DC_MAX_ID], parent[DC_MAX_ID], owner[DC_MAX_ID], tag_id[DC_MAX_ID];
    char key[DC_MAX_ID + 8], *seen = NULL;
    int closed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "archived")) ||
                 cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "locked"));
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_INTERACTION_CLOSED};

    dc_id(cJSON_GetObjectItemCaseSensitive(d, "id"), id, sizeof(id));
    dc_id(cJSON_GetObjectItemCaseSensitive(d, "parent_id"), parent, sizeof(parent));
    dc_id(cJSON_GetObjectItemCaseSensitive(d, "owner_id"), owner, sizeof(owner));
    if (!id[0] || !owner[0] || !listed(dc->forums, dc->n_forums, parent))
        return;
    cJSON_ArrayForEach(tag, cJSON_GetObjectItemCaseSensitive(d, "applied_tags"))
    {
        if (listed(dc->resolved_tags, dc->n_resolved_tags, dc_id(tag, tag_id, sizeof(tag_id))))
            closed = 1;
    }
    if (!closed)
        return;
    snprintf(key, sizeof(key), "closed:%s", id);
    if (dc->host->kv_get(dc->ctx, key, &seen) == 0 && seen) {
        free(seen);
        return; /* one report per thread, however often it is archived again */
    }
    ev.user = owner;
    ev.conversation = parent;
    ev.interaction_id = id;
    ev.touchpoint = "discord-forum";
    if (dc->host->emit(dc->ctx, &ev, NULL, 0) == PB_OK)
        dc->host->kv_put(dc->ctx, key, "1");
}

void dc_events_dispatch(struct discord *dc, const char *type, const cJSON *d)
{
    if (strcmp(type, "INTERACTION_CREATE") == 0)
        on_interaction(dc, d);
    else if (strcmp(type, "MESSAGE_CREATE") == 0)
        on_message(dc, d);
    else if (strcmp(type, "THREAD_UPDATE") == 0 && dc->n_forums)
        on_thread_update(dc, d);
    /* Everything else (GUILD_CREATE, unknown names) is not ours to handle. */
}

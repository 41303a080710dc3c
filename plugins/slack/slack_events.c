/*
 * What arrives on a Socket Mode link: hello and disconnect (left to slack_socket.c), and
 * envelopes, which carry clicks (`interactive`) and events (`events_api`).
 *
 * Acknowledging. Slack wants {"envelope_id"} within 3 seconds. The connector acknowledges an
 * envelope only after the core committed what it carries (emit returned PB_OK) or refused it
 * for good (a replayed or foreign token, an answered question: the person is told why in an
 * ephemeral message). When the core could not commit (the store failed), the envelope is not
 * acknowledged: for a click Slack shows its error marker and the person clicks again; an
 * event Slack redelivers with retry_attempt. Never a silent loss.
 *
 * Redelivery. An event whose acknowledgement was lost comes again with the same event_id; the
 * ids of committed events are kept in kv (ev/<id>, pruned after a day), so it is acknowledged
 * without being passed to the core twice.
 *
 * Filtering. Only a person's own words in the bot's direct conversation count as a text
 * answer: edits, bot posts (our own included) and other subtypes are ignored. A check-in
 * trigger is the configured reaction, by an agent, on a message in a configured channel,
 * reported as a closed interaction with that message's author.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

#define MAX_TEXT  40000
#define REPLY_LEN 256

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static void ack(struct slack_link *l, const char *envelope_id)
{
    cJSON *o = cJSON_CreateObject();
    char *json = NULL;

    if (o && cJSON_AddStringToObject(o, "envelope_id", envelope_id))
        json = cJSON_PrintUnformatted(o);
    if (!json || slack_socket_send(l, json) != PB_OK)
        sk_log(l->sk, PB_LOG_WARNING, "could not acknowledge envelope %s", envelope_id);
    cJSON_Delete(o);
    free(json);
}

/* A refusal is final: acknowledging it loses nothing. Anything else may succeed next time. */
static int final(int rc)
{
    return rc == PB_OK || rc == PB_ERR_FORGED || rc == PB_ERR_EXPIRED || rc == PB_ERR_NOT_YOURS ||
           rc == PB_ERR_DONE || rc == PB_ERR_UNKNOWN || rc == PB_ERR_INVALID;
}

static void counter(struct slack *sk, const char *name)
{
    if (sk->host->counter_add)
        sk->host->counter_add(sk->ctx, name, 1);
}

static void click(struct slack_link *l, const char *envelope_id, const cJSON *payload)
{
    struct slack *sk = l->sk;
    const cJSON *action =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(payload, "actions"), 0);
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(payload, "user");
    const cJSON *container = cJSON_GetObjectItemCaseSensitive(payload, "container");
    const char *action_id = str(action, "action_id"), *token = str(action, "value");
    const char *channel = str(container, "channel_id"), *ts = str(container, "message_ts");
    const char *name;
    char ref[SK_MAX_REF], reply[REPLY_LEN] = "";
    struct pb_event ev = {.size = sizeof(ev)};
    int rc;

    if (!channel)
        channel = str(cJSON_GetObjectItemCaseSensitive(payload, "channel"), "id");
    if (!ts)
        ts = str(cJSON_GetObjectItemCaseSensitive(payload, "message"), "ts");
    /* Not one of our buttons (or not a complete click): nothing to record. */
    if (!action_id || (strncmp(action_id, "pbq:", 4) != 0 && strncmp(action_id, "pba:", 4) != 0) ||
        !token || !str(user, "id") || !channel || !ts) {
        ack(l, envelope_id);
        return;
    }
    name = str(user, "name") ? str(user, "name") : str(user, "username");
    snprintf(ref, sizeof(ref), "%s:%s", channel, ts);
    ev.type = action_id[2] == 'q' ? PB_EVENT_CHOICE : PB_EVENT_ACTION;
    ev.user = str(user, "id");
    ev.user_name = name;
    ev.conversation = channel;
    ev.message_ref = ref;
    ev.token = token;
    rc = sk->host->emit(sk->ctx, &ev, reply, sizeof(reply));
    if (!final(rc)) {
        sk_log(sk, PB_LOG_WARNING,
               "a click by %s was not acknowledged: the core could not commit it (%d); Slack "
               "shows them an error and they can click again",
               ev.user, rc);
        counter(sk, "clicks_unacknowledged");
        return;
    }
    ack(l, envelope_id);
    counter(sk, rc == PB_OK ? "clicks" : "clicks_refused");
    if (rc != PB_OK && reply[0])
        slack_ephemeral(sk, channel, ev.user, reply);
}

static int dm_text(struct slack *sk, const cJSON *event, char *reply, size_t reply_len,
                   const char **channel, const char **user)
{
    const char *text = str(event, "text"), *ch_type = str(event, "channel_type");
    const char *ts = str(event, "ts");
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_TEXT};
    char ref[SK_MAX_REF], *plain;
    int rc;

    *channel = str(event, "channel");
    *user = str(event, "user");
    if (str(event, "subtype") || str(event, "bot_id") || !*user || !text || !*channel || !ch_type ||
        strcmp(ch_type, "im") != 0 || strcmp(*user, sk->bot_user) == 0)
        return 1; /* not a person writing to us: nothing to pass on */
    /* Slack sends mrkdwn with &, < and > escaped: the core keeps what the person typed. */
    plain = slack_unescape(text, MAX_TEXT);
    if (!plain)
        return PB_ERR_NOMEM;
    snprintf(ref, sizeof(ref), "%s:%s", *channel, ts ? ts : "");
    ev.user = *user;
    ev.conversation = *channel;
    ev.message_ref = ref;
    ev.text = plain;
    rc = sk->host->emit(sk->ctx, &ev, reply, reply_len);
    free(plain);
    return rc;
}

static int reaction(struct slack *sk, const cJSON *event)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(event, "item");
    const char *name = str(event, "reaction"), *agent = str(event, "user");
    const char *author = str(event, "item_user"), *channel = str(item, "channel");
    const char *ts = str(item, "ts"), *type = str(item, "type");
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_INTERACTION_CLOSED};
    char id[SK_MAX_REF];

    if (!sk->reaction || !name || strcmp(name, sk->reaction) != 0 || !type ||
        strcmp(type, "message") != 0 || !channel || !ts || !agent || !author ||
        strcmp(agent, author) == 0 || strcmp(author, sk->bot_user) == 0 ||
        !slack_list_contains(sk->checkin_channels, sk->n_checkin_channels, channel) ||
        (sk->n_agents && !slack_list_contains(sk->agents, sk->n_agents, agent)))
        return 1;
    snprintf(id, sizeof(id), "%s:%s", channel, ts);
    ev.user = author;
    ev.agent = agent;
    ev.conversation = channel;
    ev.message_ref = id;
    ev.interaction_id = id;
    ev.touchpoint = sk->touchpoint;
    sk_log(sk, PB_LOG_INFO, "check-in trigger: %s closed %s with %s", agent, id, author);
    return sk->host->emit(sk->ctx, &ev, NULL, 0);
}

static void event(struct slack_link *l, const char *envelope_id, const cJSON *payload,
                  const cJSON *env)
{
    struct slack *sk = l->sk;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(payload, "event");
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(env, "retry_attempt");
    const char *event_id = str(payload, "event_id"), *type = str(e, "type");
    const char *channel = NULL, *user = NULL;
    char key[SK_MAX_REF], *seen = NULL, reply[REPLY_LEN] = "", when[24];
    int rc = 1;

    if (event_id) {
        snprintf(key, sizeof(key), "ev/%s", event_id);
        if (sk->host->kv_get(sk->ctx, key, &seen) == PB_OK) {
            free(seen);
            sk_log(sk, PB_LOG_DEBUG, "event %s again (retry %d): already taken", event_id,
                   cJSON_IsNumber(retry) ? retry->valueint : 0);
            counter(sk, "events_duplicate");
            ack(l, envelope_id);
            return;
        }
    }
    if (type && strcmp(type, "message") == 0)
        rc = dm_text(sk, e, reply, sizeof(reply), &channel, &user);
    else if (type && strcmp(type, "reaction_added") == 0)
        rc = reaction(sk, e);
    if (rc == 1) {
        ack(l, envelope_id); /* not for us */
        return;
    }
    if (!final(rc)) {
        sk_log(sk, PB_LOG_WARNING,
               "event %s was not acknowledged: the core could not commit it (%d); Slack will "
               "deliver it again",
               event_id ? event_id : "?", rc);
        counter(sk, "events_unacknowledged");
        return;
    }
    if (event_id) {
        snprintf(when, sizeof(when), "%lld", (long long)sk->host->now_ms(sk->ctx));
        if (sk->host->kv_put(sk->ctx, key, when) != PB_OK)
            sk_log(sk, PB_LOG_WARNING, "could not record event %s as taken", event_id);
    }
    ack(l, envelope_id);
    counter(sk, "events");
    if (rc != PB_OK && reply[0] && channel && user)
        slack_ephemeral(sk, channel, user, reply);
}

int slack_events_frame(struct slack_link *l, const char *data, size_t len, char *reason,
                       size_t reason_len)
{
    cJSON *f = cJSON_ParseWithLength(data, len);
    const char *type = str(f, "type"), *envelope_id = str(f, "envelope_id");
    int kind = SK_FRAME_OTHER;

    if (!f) {
        sk_log(l->sk, PB_LOG_WARNING, "a frame that is not JSON; ignored");
        return kind;
    }
    if (type && strcmp(type, "hello") == 0) {
        kind = SK_FRAME_HELLO;
    } else if (type && strcmp(type, "disconnect") == 0) {
        snprintf(reason, reason_len, "%s", str(f, "reason") ? str(f, "reason") : "");
        kind = SK_FRAME_DISCONNECT;
    } else if (envelope_id && type && strcmp(type, "interactive") == 0) {
        const cJSON *payload = cJSON_GetObjectItemCaseSensitive(f, "payload");
        const char *ptype = str(payload, "type");
        if (ptype && strcmp(ptype, "block_actions") == 0)
            click(l, envelope_id, payload);
        else
            ack(l, envelope_id);
    } else if (envelope_id && type && strcmp(type, "events_api") == 0) {
        event(l, envelope_id, cJSON_GetObjectItemCaseSensitive(f, "payload"), f);
    } else if (envelope_id) {
        ack(l, envelope_id); /* slash commands and whatever comes later: not ours */
    }
    cJSON_Delete(f);
    return kind;
}

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
 * trigger is the configured reaction, by an agent, on any message of a thread in a configured
 * channel, reported as a closed interaction with the author of the thread's first message
 * (found with conversations.replies; the event is acknowledged once that is committed).
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
    /* A menu (a long scale) carries the token in the option picked, a button in its value. */
    const cJSON *selected = cJSON_GetObjectItemCaseSensitive(action, "selected_option");
    const char *channel = str(container, "channel_id"), *ts = str(container, "message_ts");
    const char *name;
    char ref[SK_MAX_REF], reply[REPLY_LEN] = "";
    struct pb_event ev = {.size = sizeof(ev)};
    int rc;

    if (!token && selected)
        token = str(selected, "value");
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
    /* Kept before the core decides: its update of this message may come at once. */
    slack_response_url_keep(sk, ref, str(payload, "response_url"));
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

/* What an event came to: passed on (rc from emit), not ours, or waiting for a lookup that
 * will finish it (and acknowledge it) later. */
#define EV_NOT_OURS 1
#define EV_PENDING  2

/* An event whose core commit, and acknowledgement, wait for a Web API answer. The link is
 * found again by its serial: it may have closed meanwhile (then Slack redelivers, and the
 * event id recorded at the commit keeps the redelivery from counting twice). */
struct pending_event {
    struct slack *sk;
    unsigned link_serial;
    char envelope_id[SK_MAX_REF];
    char event_id[SK_MAX_REF];
    char channel[SK_MAX_ID], ts[SK_MAX_ID], agent[SK_MAX_ID], item_user[SK_MAX_ID];
};

static struct slack_link *link_by_serial(struct slack *sk, unsigned serial)
{
    for (struct slack_link *l = sk->links; l; l = l->next_all)
        if (l->serial == serial && l->open && !l->closing && !l->dead)
            return l;
    return NULL;
}

static void event_finish(struct slack *sk, struct slack_link *l, const char *envelope_id,
                         const char *event_id, int rc, const char *reply, const char *channel,
                         const char *user);

static int closed_interaction(struct slack *sk, const char *channel, const char *thread_ts,
                              const char *author, const char *agent)
{
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_INTERACTION_CLOSED};
    char id[SK_MAX_REF];

    if (!author || strcmp(agent, author) == 0 || strcmp(author, sk->bot_user) == 0)
        return EV_NOT_OURS; /* the author closing their own thread, or one of ours */
    snprintf(id, sizeof(id), "%s:%s", channel, thread_ts);
    ev.user = author;
    ev.agent = agent;
    ev.conversation = channel;
    ev.message_ref = id;
    ev.interaction_id = id;
    ev.touchpoint = sk->touchpoint;
    sk_log(sk, PB_LOG_INFO, "check-in trigger: %s closed %s with %s", agent, id, author);
    return sk->host->emit(sk->ctx, &ev, NULL, 0);
}

static const char *id_copy(const char *s, char *buf, size_t len)
{
    if (!s || strlen(s) >= len)
        return NULL;
    snprintf(buf, len, "%s", s);
    return buf;
}

/* conversations.replies answered: its first message is the thread's parent, whoever reacted
 * to whichever message of the thread. */
static void thread_found(void *arg, const struct sk_reply *r)
{
    struct pending_event *p = arg;
    struct slack *sk = p->sk;
    const cJSON *parent =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(r->json, "messages"), 0);
    const char *author = NULL, *thread_ts = NULL;
    int rc;

    if (sk->destroying) {
        free(p);
        return;
    }
    if (r->fate == SK_FATE_OK && parent) {
        author = str(parent, "user");
        thread_ts = str(parent, "thread_ts") ? str(parent, "thread_ts") : str(parent, "ts");
    } else if (r->fate == SK_FATE_RETRY) {
        sk_log(sk, PB_LOG_WARNING,
               "conversations.replies: %s; the reaction waits for Slack to deliver it again",
               r->error ? r->error : "?");
        free(p); /* not acknowledged: Slack redelivers it */
        return;
    } else {
        /* No access to the thread (a missing channels:history or groups:history scope, a
         * thread gone): the reacted message is taken as the thread's first, as it often is. */
        sk_log(sk, PB_LOG_WARNING,
               "conversations.replies: %s; taking the reacted message as the thread's start "
               "(add the channels:history and groups:history scopes to trace replies)",
               r->error ? r->error : "?");
        author = p->item_user[0] ? p->item_user : NULL;
        thread_ts = p->ts;
    }
    rc = thread_ts ? closed_interaction(sk, p->channel, thread_ts, author, p->agent) : EV_NOT_OURS;
    event_finish(sk, link_by_serial(sk, p->link_serial), p->envelope_id,
                 p->event_id[0] ? p->event_id : NULL, rc, "", NULL, NULL);
    free(p);
}

/* The check-in reaction. Slack's reaction_added names the reacted message, not its thread, so
 * the thread's parent (and its author, the customer) is looked up: a reaction on a reply inside
 * a support thread closes it as well as one on the thread's first message. */
static int reaction(struct slack_link *l, const char *envelope_id, const char *event_id,
                    const cJSON *event)
{
    struct slack *sk = l->sk;
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(event, "item");
    const char *name = str(event, "reaction"), *agent = str(event, "user");
    const char *channel = str(item, "channel"), *ts = str(item, "ts"), *type = str(item, "type");
    struct pending_event *p;
    char query[SK_MAX_ID * 3 + 48];

    if (!sk->reaction || !name || strcmp(name, sk->reaction) != 0 || !type ||
        strcmp(type, "message") != 0 || !channel || !ts || !agent ||
        strcmp(agent, sk->bot_user) == 0 ||
        !slack_list_contains(sk->checkin_channels, sk->n_checkin_channels, channel) ||
        (sk->n_agents && !slack_list_contains(sk->agents, sk->n_agents, agent)))
        return EV_NOT_OURS;
    p = calloc(1, sizeof(*p));
    if (!p)
        return PB_ERR_NOMEM;
    p->sk = sk;
    p->link_serial = l->serial;
    if (!id_copy(envelope_id, p->envelope_id, sizeof(p->envelope_id)) ||
        (event_id && !id_copy(event_id, p->event_id, sizeof(p->event_id))) ||
        !id_copy(channel, p->channel, sizeof(p->channel)) || !id_copy(ts, p->ts, sizeof(p->ts)) ||
        !id_copy(agent, p->agent, sizeof(p->agent))) {
        free(p);
        return EV_NOT_OURS; /* ids Slack would not send */
    }
    (void)id_copy(str(event, "item_user"), p->item_user, sizeof(p->item_user));
    /* Both are copied from Slack's payload: form-escaped, whatever they hold. */
    strcpy(query, "channel=");
    if (slack_api_form_escape(channel, query, sizeof(query)) != 0 ||
        strlen(query) + 4 >= sizeof(query)) {
        free(p);
        return EV_NOT_OURS;
    }
    strcat(query, "&ts=");
    if (slack_api_form_escape(ts, query, sizeof(query)) != 0 ||
        strlen(query) + 8 >= sizeof(query)) {
        free(p);
        return EV_NOT_OURS;
    }
    strcat(query, "&limit=1");
    if (slack_api_call(sk, "conversations.replies", SK_BODY_QUERY, query, 0, NULL, thread_found,
                       p) != PB_OK) {
        free(p);
        return PB_ERR_BUSY; /* not acknowledged: Slack delivers it again */
    }
    return EV_PENDING;
}

/* An event the core took (or refused for good): recorded as taken, then acknowledged. */
static void event_finish(struct slack *sk, struct slack_link *l, const char *envelope_id,
                         const char *event_id, int rc, const char *reply, const char *channel,
                         const char *user)
{
    char key[SK_MAX_REF], when[24];

    if (rc == EV_NOT_OURS) {
        if (l)
            ack(l, envelope_id);
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
        snprintf(key, sizeof(key), "ev/%s", event_id);
        snprintf(when, sizeof(when), "%lld", (long long)sk->host->now_ms(sk->ctx));
        if (sk->host->kv_put(sk->ctx, key, when) != PB_OK)
            sk_log(sk, PB_LOG_WARNING, "could not record event %s as taken", event_id);
    }
    if (l)
        ack(l, envelope_id);
    counter(sk, "events");
    if (rc != PB_OK && reply && reply[0] && channel && user)
        slack_ephemeral(sk, channel, user, reply);
}

static void event(struct slack_link *l, const char *envelope_id, const cJSON *payload,
                  const cJSON *env)
{
    struct slack *sk = l->sk;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(payload, "event");
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(env, "retry_attempt");
    const char *event_id = str(payload, "event_id"), *type = str(e, "type");
    const char *channel = NULL, *user = NULL;
    char key[SK_MAX_REF], *seen = NULL, reply[REPLY_LEN] = "";
    int rc = EV_NOT_OURS;

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
        rc = reaction(l, envelope_id, event_id, e);
    if (rc == EV_PENDING)
        return; /* thread_found finishes it */
    event_finish(sk, l, envelope_id, event_id, rc, reply, channel, user);
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

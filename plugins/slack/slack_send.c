/*
 * Sending and updating messages: a person's message goes to the bot's direct conversation with
 * them (conversations.open, its D... id cached in kv as dm/<user>), a team's to its channel;
 * the reference reported to the core is "<channel>:<ts>", which chat.update needs.
 *
 * Slack has no idempotency key for chat.postMessage. A message that was posted is recorded as
 * sent/<outbox id> before the core is told, so when the core asks again for the same row (its
 * confirmation was lost, or the daemon restarted in between) the first post is reported
 * instead of a second one.
 *
 * Each error gets its outcome: retried (rate limits, Slack's own trouble, the network),
 * unreachable (a deactivated user, a bot, a deleted message: a retry cannot help), or
 * misconfigured (tokens, scopes, the app not invited to a team's channel: someone must act).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

#define SENT_KEY_MAX (SK_MAX_ID + 8)

struct send_op {
    struct slack *sk;
    uint64_t id;
    int update;
    int to_person;
    char user[SK_MAX_ID];
    char channel[SK_MAX_ID];
    char ts[SK_MAX_ID];
    char thread_ts[SK_MAX_ID];
    cJSON *body; /* text and blocks, rendered when the core asked */
    /* An update chat.update could not make, while its response_url is tried. */
    enum pb_send_outcome failed_outcome;
    char failed_why[200];
};

static void op_free(struct send_op *op)
{
    cJSON_Delete(op->body);
    free(op);
}

static void op_finish(struct send_op *op, enum pb_send_outcome outcome, const char *ref,
                      uint32_t retry_after_ms, const char *error)
{
    slack_send_result(op->sk, op->id, outcome, ref, retry_after_ms, error);
    op_free(op);
}

/* Slack ids are short runs of letters, digits and a few marks; anything else is not one. */
static int id_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= SK_MAX_ID)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static void sent_key(char *key, size_t len, uint64_t id)
{
    snprintf(key, len, "sent/%llu", (unsigned long long)id);
}

/* The outcome for a failed call, with the wording the log needs. */
static enum pb_send_outcome fail_outcome(struct send_op *op, const char *method,
                                         const struct sk_reply *r, char *why, size_t why_len)
{
    enum pb_send_outcome outcome;
    const char *e = r->error ? r->error : "unknown";
    int chan_err = strcmp(e, "channel_not_found") == 0 || strcmp(e, "not_in_channel") == 0;

    if (chan_err && op->to_person) {
        /* A cached DM that Slack no longer knows: forget it and open it again. */
        char key[SK_MAX_ID + 8];
        snprintf(key, sizeof(key), "dm/%s", op->user);
        op->sk->host->kv_delete(op->sk->ctx, key);
        outcome = op->update ? PB_SEND_UNREACHABLE : PB_SEND_RETRY;
    } else if (chan_err) {
        outcome = strcmp(e, "not_in_channel") == 0 || !op->update ? PB_SEND_MISCONFIGURED
                                                                  : PB_SEND_UNREACHABLE;
    } else {
        switch (r->fate) {
        case SK_FATE_UNREACHABLE:
            outcome = PB_SEND_UNREACHABLE;
            break;
        case SK_FATE_CONFIG:
            outcome = PB_SEND_MISCONFIGURED;
            break;
        default:
            outcome = PB_SEND_RETRY;
        }
    }
    if (outcome == PB_SEND_MISCONFIGURED && strcmp(e, "missing_scope") == 0 && r->json) {
        const cJSON *needed = cJSON_GetObjectItemCaseSensitive(r->json, "needed");
        snprintf(why, why_len, "%s: missing_scope (add the bot scope %s and reinstall)", method,
                 cJSON_IsString(needed) ? needed->valuestring : "?");
    } else if (outcome == PB_SEND_MISCONFIGURED && chan_err) {
        snprintf(why, why_len, "%s: %s (invite the app to channel %s)", method, e, op->channel);
    } else {
        snprintf(why, why_len, "%s: %s", method, e);
    }
    return outcome;
}

static void op_fail_with(struct send_op *op, enum pb_send_outcome outcome, uint32_t retry_after_ms,
                         const char *why)
{
    if (outcome == PB_SEND_MISCONFIGURED)
        sk_log(op->sk, PB_LOG_ERR, "%s", why);
    op_finish(op, outcome, NULL, retry_after_ms, why);
}

static void op_fail(struct send_op *op, const char *method, const struct sk_reply *r)
{
    char why[200];
    enum pb_send_outcome outcome = fail_outcome(op, method, r, why, sizeof(why));

    op_fail_with(op, outcome, r->retry_after_ms, why);
}

/* The response_url's answer to an update chat.update could not make. */
static void responded(void *arg, const struct sk_reply *r)
{
    struct send_op *op = arg;
    char ref[SK_MAX_REF];

    if (r->fate != SK_FATE_OK) {
        sk_log(op->sk, PB_LOG_INFO, "message %llu: the click's response_url failed too (%s)",
               (unsigned long long)op->id, r->error ? r->error : "?");
        op_fail_with(op, op->failed_outcome, 0, op->failed_why);
        return;
    }
    snprintf(ref, sizeof(ref), "%s:%s", op->channel, op->ts);
    sk_log(op->sk, PB_LOG_INFO, "message %llu updated through the click's response_url (%s)",
           (unsigned long long)op->id, op->failed_why);
    if (op->sk->host->counter_add)
        op->sk->host->counter_add(op->sk->ctx, "messages_updated_by_response_url", 1);
    op_finish(op, PB_SEND_DONE, ref, 0, NULL);
}

/* chat.update failed for good: a click on that message may have left a response_url that can
 * still replace it. 1 when it is being tried (the op is then in its hands). */
static int try_response_url(struct send_op *op, const struct sk_reply *r)
{
    char ref[SK_MAX_REF];

    op->failed_outcome = fail_outcome(op, "chat.update", r, op->failed_why, sizeof(op->failed_why));
    if (op->failed_outcome == PB_SEND_RETRY)
        return 0; /* a later chat.update may work: the outbox retries it */
    snprintf(ref, sizeof(ref), "%s:%s", op->channel, op->ts);
    return slack_response_url_replace(op->sk, ref, op->body, responded, op) == PB_OK;
}

static void posted(void *arg, const struct sk_reply *r)
{
    struct send_op *op = arg;
    struct slack *sk = op->sk;
    const cJSON *ch, *ts;
    char ref[SK_MAX_REF], key[SENT_KEY_MAX], value[SK_MAX_REF + 24];

    if (r->fate != SK_FATE_OK) {
        if (!op->update)
            op_fail(op, "chat.postMessage", r);
        else if (!try_response_url(op, r))
            op_fail_with(op, op->failed_outcome, r->retry_after_ms, op->failed_why);
        return;
    }
    ch = cJSON_GetObjectItemCaseSensitive(r->json, "channel");
    ts = cJSON_GetObjectItemCaseSensitive(r->json, "ts");
    if (!cJSON_IsString(ch) || !cJSON_IsString(ts) || !id_valid(ch->valuestring) ||
        !id_valid(ts->valuestring)) {
        op_finish(op, PB_SEND_RETRY, NULL, 0, "Slack's reply has no channel and ts");
        return;
    }
    snprintf(ref, sizeof(ref), "%s:%s", ch->valuestring, ts->valuestring);
    if (!op->update) {
        sent_key(key, sizeof(key), op->id);
        snprintf(value, sizeof(value), "%lld %s", (long long)sk->host->now_ms(sk->ctx), ref);
        if (sk->host->kv_put(sk->ctx, key, value) != PB_OK)
            sk_log(sk, PB_LOG_WARNING,
                   "message %llu was posted but could not be recorded; a resend may repeat it",
                   (unsigned long long)op->id);
    }
    if (sk->host->counter_add)
        sk->host->counter_add(sk->ctx, op->update ? "messages_updated" : "messages_posted", 1);
    op_finish(op, PB_SEND_DONE, ref, 0, NULL);
}

static void post(struct send_op *op)
{
    struct slack *sk = op->sk;
    char *json;
    int rc;

    if (!cJSON_AddStringToObject(op->body, "channel", op->channel) ||
        (op->update && !cJSON_AddStringToObject(op->body, "ts", op->ts)) ||
        (!op->update && op->thread_ts[0] &&
         !cJSON_AddStringToObject(op->body, "thread_ts", op->thread_ts)) ||
        (!op->update && (!cJSON_AddFalseToObject(op->body, "unfurl_links") ||
                         !cJSON_AddFalseToObject(op->body, "unfurl_media")))) {
        op_finish(op, PB_SEND_RETRY, NULL, 0, "out of memory");
        return;
    }
    json = cJSON_PrintUnformatted(op->body);
    if (!json) {
        op_finish(op, PB_SEND_RETRY, NULL, 0, "out of memory");
        return;
    }
    rc = slack_api_call(sk, op->update ? "chat.update" : "chat.postMessage", SK_BODY_JSON, json, 0,
                        op->update ? NULL : op->channel, posted, op);
    free(json);
    if (rc != PB_OK)
        op_finish(op, PB_SEND_RETRY, NULL, 0, "could not start the request");
}

static void dm_opened(void *arg, const struct sk_reply *r)
{
    struct send_op *op = arg;
    const cJSON *ch;
    char key[SK_MAX_ID + 8];

    if (r->fate != SK_FATE_OK) {
        op_fail(op, "conversations.open", r);
        return;
    }
    ch = cJSON_GetObjectItemCaseSensitive(r->json, "channel");
    ch = cJSON_GetObjectItemCaseSensitive(ch, "id");
    if (!cJSON_IsString(ch) || !id_valid(ch->valuestring)) {
        op_finish(op, PB_SEND_RETRY, NULL, 0, "conversations.open: no channel id in the reply");
        return;
    }
    snprintf(op->channel, sizeof(op->channel), "%s", ch->valuestring);
    snprintf(key, sizeof(key), "dm/%s", op->user);
    /* Only a cache: conversations.open gives the same id again if this is lost. */
    (void)op->sk->host->kv_put(op->sk->ctx, key, op->channel);
    post(op);
}

static int send_valid(const struct pb_send *s)
{
    return s && s->size >= offsetof(struct pb_send, reserved) && s->message;
}

/* A new op with the message rendered; reports and returns NULL when the message cannot be. */
static struct send_op *op_new(struct slack *sk, const struct pb_send *s, int update, int *rc)
{
    struct send_op *op = calloc(1, sizeof(*op));
    const char *error = NULL;

    *rc = PB_ERR_NOMEM;
    if (!op)
        return NULL;
    op->sk = sk;
    op->id = s->id;
    op->update = update;
    op->to_person = s->target_kind == PB_TARGET_PERSON;
    op->body = cJSON_CreateObject();
    if (!op->body) {
        free(op);
        return NULL;
    }
    *rc = slack_render(s->message, op->body, &error);
    if (*rc == PB_ERR_INVALID) {
        sk_log(sk, PB_LOG_ERR, "message %llu cannot be shown on Slack: %s",
               (unsigned long long)s->id, error);
        op_finish(op, PB_SEND_UNREACHABLE, NULL, 0, error);
        *rc = PB_OK;
        return NULL;
    }
    if (*rc) {
        op_free(op);
        return NULL;
    }
    return op;
}

int slack_send_message(struct slack *sk, const struct pb_send *s)
{
    struct send_op *op;
    char key[SENT_KEY_MAX], *value = NULL;
    int rc;

    if (!send_valid(s))
        return PB_ERR_INVALID;
    if (!id_valid(s->target)) {
        slack_send_result(sk, s->id, PB_SEND_UNREACHABLE, NULL, 0,
                          "not a Slack user or channel id");
        return PB_OK;
    }
    sent_key(key, sizeof(key), s->id);
    if (sk->host->kv_get(sk->ctx, key, &value) == PB_OK && value) {
        const char *ref = strchr(value, ' ');
        sk_log(sk, PB_LOG_INFO, "message %llu was already posted; reporting that post",
               (unsigned long long)s->id);
        slack_send_result(sk, s->id, PB_SEND_DONE, ref ? ref + 1 : value, 0, NULL);
        free(value);
        return PB_OK;
    }
    free(value);
    value = NULL;
    op = op_new(sk, s, 0, &rc);
    if (!op)
        return rc;
    if (s->thread_ref && *s->thread_ref) {
        /* A thread is named by its parent's ref ("<channel>:<ts>") or by the bare ts. */
        const char *ts = strchr(s->thread_ref, ':');
        snprintf(op->thread_ts, sizeof(op->thread_ts), "%s", ts ? ts + 1 : s->thread_ref);
    }
    if (!op->to_person) {
        snprintf(op->channel, sizeof(op->channel), "%s", s->target);
        post(op);
        return PB_OK;
    }
    snprintf(op->user, sizeof(op->user), "%s", s->target);
    snprintf(key, sizeof(key), "dm/%s", op->user);
    if (sk->host->kv_get(sk->ctx, key, &value) == PB_OK && id_valid(value)) {
        snprintf(op->channel, sizeof(op->channel), "%s", value);
        free(value);
        post(op);
        return PB_OK;
    }
    free(value);
    {
        char body[SK_MAX_ID + 32];
        snprintf(body, sizeof(body), "{\"users\":\"%s\"}", op->user);
        if (slack_api_call(sk, "conversations.open", SK_BODY_JSON, body, 0, NULL, dm_opened, op) !=
            PB_OK) {
            op_free(op);
            return PB_ERR_BUSY;
        }
    }
    return PB_OK;
}

int slack_update_message(struct slack *sk, const struct pb_send *s)
{
    struct send_op *op;
    const char *colon;
    int rc;

    if (!send_valid(s))
        return PB_ERR_INVALID;
    colon = s->message_ref ? strchr(s->message_ref, ':') : NULL;
    if (!colon || (size_t)(colon - s->message_ref) >= SK_MAX_ID || !id_valid(colon + 1)) {
        slack_send_result(sk, s->id, PB_SEND_UNREACHABLE, NULL, 0, "not a Slack message reference");
        return PB_OK;
    }
    op = op_new(sk, s, 1, &rc);
    if (!op)
        return rc;
    snprintf(op->channel, sizeof(op->channel), "%.*s", (int)(colon - s->message_ref),
             s->message_ref);
    snprintf(op->ts, sizeof(op->ts), "%s", colon + 1);
    if (!id_valid(op->channel)) {
        op_finish(op, PB_SEND_UNREACHABLE, NULL, 0, "not a Slack message reference");
        return PB_OK;
    }
    snprintf(op->user, sizeof(op->user), "%s", s->target ? s->target : "");
    post(op);
    return PB_OK;
}

static void ephemeral_done(void *arg, const struct sk_reply *r)
{
    struct slack *sk = arg;

    if (r->fate != SK_FATE_OK)
        sk_log(sk, PB_LOG_INFO, "chat.postEphemeral: %s (the notice was not shown)",
               r->error ? r->error : "?");
}

void slack_ephemeral(struct slack *sk, const char *channel, const char *user, const char *text)
{
    cJSON *body = cJSON_CreateObject();
    char *esc = slack_escape(text, 2000), *json = NULL;

    if (!body || !esc || !id_valid(channel) || !id_valid(user) ||
        !cJSON_AddStringToObject(body, "channel", channel) ||
        !cJSON_AddStringToObject(body, "user", user) || !cJSON_AddStringToObject(body, "text", esc))
        goto out;
    json = cJSON_PrintUnformatted(body);
    if (json)
        (void)slack_api_call(sk, "chat.postEphemeral", SK_BODY_JSON, json, 0, NULL, ephemeral_done,
                             sk);
out:
    cJSON_Delete(body);
    free(esc);
    free(json);
}

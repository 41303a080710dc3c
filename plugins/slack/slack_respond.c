/*
 * The response_url fallback. chat.update is how the connector replaces an answered question's
 * buttons, and it fails where the bot cannot reach the message any more (message_not_found,
 * a channel it was removed from or cannot see, cant_update_message). Slack also gives every
 * click a response_url that can replace the clicked message without the token, up to five
 * times within 30 minutes. The connector keeps the newest one per message and uses it only for
 * an update chat.update could not make, only while it is valid.
 *
 * The URL is a capability (whoever has it can rewrite the message), so it is never logged, and
 * one that does not belong to Slack (hooks.<the Web API's domain>) or to the Web API's own
 * origin (a test server) is not kept: a forged payload cannot make the connector post there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

/* The length of "scheme://host[:port]" at the start of url, or 0. */
static size_t origin_len(const char *url)
{
    const char *host = strstr(url, "://");
    const char *end;

    if (!host)
        return 0;
    host += 3;
    end = strchr(host, '/');
    return end && end > host ? (size_t)(end - url) : 0;
}

static int allowed(const struct slack *sk, const char *url)
{
    size_t n = strlen(url), o = origin_len(sk->api_url), host;
    char hooks[SK_RESPONSE_URL_MAX];

    if (n == 0 || n >= SK_RESPONSE_URL_MAX || strpbrk(url, " \t\r\n\"<>\\"))
        return 0;
    if (o && strncmp(url, sk->api_url, o) == 0 && url[o] == '/')
        return 1;
    /* https://slack.com/api/ -> https://hooks.slack.com/ */
    if (o == 0 || strncmp(sk->api_url, "https://", 8) != 0)
        return 0;
    host = o - 8;
    snprintf(hooks, sizeof(hooks), "https://hooks.%.*s/", (int)host, sk->api_url + 8);
    return strncmp(url, hooks, strlen(hooks)) == 0;
}

void slack_response_url_keep(struct slack *sk, const char *ref, const char *url)
{
    int64_t now = sk->host->now_ms(sk->ctx);
    struct slack_response_url *slot = NULL, *oldest = NULL;

    if (!ref || !url || !allowed(sk, url) || strlen(ref) >= SK_MAX_REF)
        return;
    if (!sk->response_urls) {
        sk->response_urls = calloc(SK_RESPONSE_URLS, sizeof(*sk->response_urls));
        if (!sk->response_urls)
            return;
    }
    /* The same message again (a second click): its newest URL, with Slack's fresh budget. */
    for (size_t i = 0; i < SK_RESPONSE_URLS && !slot; i++) {
        struct slack_response_url *r = &sk->response_urls[i];
        if (r->ref[0] && strcmp(r->ref, ref) == 0)
            slot = r;
    }
    for (size_t i = 0; i < SK_RESPONSE_URLS && !slot; i++) {
        struct slack_response_url *r = &sk->response_urls[i];
        if (!r->ref[0] || r->expires_ms <= now)
            slot = r;
        else if (!oldest || r->expires_ms < oldest->expires_ms)
            oldest = r;
    }
    if (!slot)
        slot = oldest; /* all in use: the one that expires first goes */
    snprintf(slot->ref, sizeof(slot->ref), "%s", ref);
    snprintf(slot->url, sizeof(slot->url), "%s", url);
    slot->expires_ms = now + SK_RESPONSE_URL_TTL_MS;
    slot->uses_left = SK_RESPONSE_URL_USES;
}

int slack_response_url_replace(struct slack *sk, const char *ref, cJSON *body, sk_api_done done,
                               void *arg)
{
    int64_t now = sk->host->now_ms(sk->ctx);
    struct slack_response_url *r = NULL;
    cJSON *out, *item;
    char *json;
    int rc;

    for (size_t i = 0; sk->response_urls && i < SK_RESPONSE_URLS && !r; i++)
        if (sk->response_urls[i].ref[0] && strcmp(sk->response_urls[i].ref, ref) == 0)
            r = &sk->response_urls[i];
    if (!r || r->expires_ms <= now || r->uses_left <= 0) {
        if (r)
            r->ref[0] = '\0';
        return PB_ERR_UNKNOWN;
    }
    out = cJSON_CreateObject();
    if (!out || !cJSON_AddTrueToObject(out, "replace_original")) {
        cJSON_Delete(out);
        return PB_ERR_NOMEM;
    }
    if ((item = cJSON_DetachItemFromObjectCaseSensitive(body, "text")))
        cJSON_AddItemToObject(out, "text", item);
    if ((item = cJSON_DetachItemFromObjectCaseSensitive(body, "blocks")))
        cJSON_AddItemToObject(out, "blocks", item);
    json = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    if (!json)
        return PB_ERR_NOMEM;
    rc = slack_api_post_url(sk, r->url, json, done, arg);
    free(json);
    if (rc == PB_OK)
        r->uses_left--; /* a use is spent whether or not Slack takes it */
    return rc;
}

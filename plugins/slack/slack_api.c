/*
 * Web API calls: one place that builds the request (token in the Authorization header, never
 * in a body), paces it, and turns Slack's answer into a fate the callers act on.
 *
 * Pacing. Slack limits each method per app and workspace in per-minute tiers, and posts per
 * channel to about one a second. A call that would exceed its method's tier (a GCRA bucket
 * with a small burst) or its channel's pace waits on a timer; a wait longer than SK_MAX_WAIT_MS
 * is not queued here but handed back as a retry with that delay, so the durable outbox holds
 * the message rather than this process. A 429 blocks its method for Retry-After; calls of
 * other methods go on. Nothing is dropped because of a limit: the worst is a later retry.
 *
 * Errors. Slack answers most errors with HTTP 200 and {ok:false, error}; the error code
 * decides whether a retry can help (slack_api_fate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

struct slack_call {
    struct slack *sk; /* NULL once the connector is destroyed: the answer is dropped */
    struct slack_call *prev, *next;
    struct slack_method *method;
    char *url;
    char *body;
    enum sk_body kind;
    int app_token;
    int no_auth; /* a response_url: the URL itself authorizes, the token must not travel */
    sk_api_done done;
    void *arg;
    pb_timer *timer;
    int in_flight;
    /* a reply decided without asking Slack (a 429 block), delivered from the timer */
    int synthetic;
    uint32_t synthetic_wait;
};

/* Tiers per Slack's method pages (per minute; verify before raising them). chat.postMessage
 * has a "special" limit: about one per second per channel (paced separately) under a
 * workspace-wide ceiling. */
static const struct {
    const char *name;
    uint32_t per_minute;
} tiers[] = {
    {"apps.connections.open", 10}, {"auth.test", 100},          {"chat.postMessage", 60},
    {"chat.update", 50},           {"chat.postEphemeral", 100}, {"conversations.open", 50},
    {"users.info", 100},           {"users.lookupByEmail", 50}, {"conversations.replies", 50},
};

int slack_api_init(struct slack *sk)
{
    size_t n = sizeof(tiers) / sizeof(tiers[0]);

    sk->methods = calloc(n, sizeof(*sk->methods));
    if (!sk->methods)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        sk->methods[i].name = tiers[i].name;
        sk->methods[i].per_minute = tiers[i].per_minute;
        sk->methods[i].burst = tiers[i].per_minute / 5 ? tiers[i].per_minute / 5 : 1;
    }
    sk->n_methods = n;
    return 0;
}

static void call_unlink(struct slack_call *c)
{
    struct slack *sk = c->sk;

    if (!sk)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        sk->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void call_free(struct slack_call *c)
{
    if (c->timer && c->sk)
        c->sk->host->timer_free(c->timer);
    free(c->url);
    free(c->body);
    free(c);
}

void slack_api_destroy(struct slack *sk)
{
    struct sk_reply r = {.status = 0, .error = "cancelled", .fate = SK_FATE_RETRY};

    sk->destroying = 1;
    /* Each owner frees what it hung on its call; an answer that comes later is dropped. */
    while (sk->calls) {
        struct slack_call *c = sk->calls;
        call_unlink(c);
        if (c->done)
            c->done(c->arg, &r);
        if (c->timer)
            sk->host->timer_free(c->timer);
        c->timer = NULL;
        c->sk = NULL;
        if (!c->in_flight)
            call_free(c); /* else the host still owes it its done, which frees it */
    }
    free(sk->methods);
    sk->methods = NULL;
    free(sk->paces);
    sk->paces = NULL;
}

static struct slack_method *find_method(struct slack *sk, const char *name)
{
    for (size_t i = 0; i < sk->n_methods; i++)
        if (strcmp(sk->methods[i].name, name) == 0)
            return &sk->methods[i];
    return NULL;
}

static struct slack_pace *find_pace(struct slack *sk, const char *channel, int64_t now)
{
    struct slack_pace *p;

    for (size_t i = 0; i < sk->n_paces; i++)
        if (strcmp(sk->paces[i].channel, channel) == 0)
            return &sk->paces[i];
    /* Reuse an idle slot before growing: a channel whose pace lies in the past is free. */
    for (size_t i = 0; i < sk->n_paces; i++)
        if (sk->paces[i].tat <= now) {
            p = &sk->paces[i];
            goto fill;
        }
    if (sk->n_paces == sk->cap_paces) {
        size_t cap = sk->cap_paces ? sk->cap_paces * 2 : 16;
        struct slack_pace *grown = realloc(sk->paces, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        sk->paces = grown;
        sk->cap_paces = cap;
    }
    p = &sk->paces[sk->n_paces++];
fill:
    snprintf(p->channel, sizeof(p->channel), "%s", channel);
    p->tat = now;
    return p;
}

/* GCRA: when a call may start, given the bucket's theoretical arrival time. */
static int64_t gcra_start(int64_t tat, int64_t now, int64_t interval, int64_t burst)
{
    int64_t earliest = tat - burst * interval;

    if (tat < now)
        return now;
    return earliest > now ? earliest : now;
}

/* How long the call must wait; commits the bucket only when it will be made. -1: too long,
 * with the wait in *wait. */
static int pace(struct slack *sk, struct slack_method *m, const char *channel, int64_t now,
                int64_t *wait)
{
    int64_t start = now, m_int = 0, c_int = sk->channel_interval_ms;
    struct slack_pace *p = NULL;

    if (m && m->blocked_until > now) {
        *wait = m->blocked_until - now;
        return -1;
    }
    if (sk->pacing && m) {
        m_int = 60000 / m->per_minute;
        start = gcra_start(m->tat, now, m_int, m->burst);
    }
    if (channel && c_int) {
        p = find_pace(sk, channel, now);
        if (p) {
            int64_t cs = gcra_start(p->tat, now, c_int, 0);
            if (cs > start)
                start = cs;
        }
    }
    *wait = start - now;
    if (*wait > SK_MAX_WAIT_MS)
        return -1;
    if (sk->pacing && m)
        m->tat = (m->tat > now ? m->tat : now) + m_int;
    if (p)
        p->tat = (p->tat > now ? p->tat : now) + c_int;
    return 0;
}

static const char *resp_header(const struct pb_http_response *r, const char *name)
{
    return r->header ? r->header(r, name) : NULL;
}

static void finish(struct slack_call *c, struct sk_reply *r)
{
    struct slack *sk = c->sk;

    call_unlink(c);
    if (sk && c->done)
        c->done(c->arg, r);
    call_free(c);
}

static void http_done(void *arg, const struct pb_http_response *resp)
{
    struct slack_call *c = arg;
    struct sk_reply r = {.status = resp->status};
    cJSON *json = NULL;
    const cJSON *ok, *err;
    char what[48];

    c->in_flight = 0;
    if (!c->sk) {
        call_free(c);
        return;
    }
    if (resp->body && resp->body_len)
        json = cJSON_ParseWithLength(resp->body, resp->body_len);
    r.json = json;
    ok = cJSON_GetObjectItemCaseSensitive(json, "ok");
    err = cJSON_GetObjectItemCaseSensitive(json, "error");
    if (resp->status == 429) {
        const char *ra = resp_header(resp, "Retry-After");
        r.retry_after_ms = resp->retry_after_ms;
        if (!r.retry_after_ms && ra)
            r.retry_after_ms = (uint32_t)strtoul(ra, NULL, 10) * 1000u;
        if (!r.retry_after_ms)
            r.retry_after_ms = 30000; /* Slack always sends one; be patient if it did not */
        if (c->method)
            c->method->blocked_until = c->sk->host->now_ms(c->sk->ctx) + r.retry_after_ms;
        r.error = "ratelimited";
        r.fate = SK_FATE_RETRY;
        if (c->sk->host->counter_add)
            c->sk->host->counter_add(c->sk->ctx, "rate_limited", 1);
        sk_log(c->sk, PB_LOG_NOTICE, "%s: rate limited, Retry-After %u ms",
               c->method ? c->method->name : "?", r.retry_after_ms);
    } else if (resp->status == 200 && cJSON_IsTrue(ok)) {
        r.fate = SK_FATE_OK;
    } else if (resp->status == 200 && c->no_auth && !cJSON_IsFalse(ok)) {
        r.fate = SK_FATE_OK; /* a response_url answers a bare "ok" or {"ok":true} */
    } else if (resp->status == 200 && cJSON_IsString(err)) {
        r.error = err->valuestring;
        r.fate = slack_api_fate(r.error, resp->status);
    } else if (resp->status == 0) {
        r.error = resp->error ? resp->error : "no response";
        r.fate = SK_FATE_RETRY;
    } else {
        snprintf(what, sizeof(what), "HTTP %d", resp->status);
        r.error = what;
        r.fate = slack_api_fate(NULL, resp->status);
    }
    finish(c, &r);
    cJSON_Delete(json);
}

static int issue(struct slack_call *c)
{
    struct slack *sk = c->sk;
    char auth[SK_MAX_TOKEN + 16];
    struct pb_header headers[2] = {{"Authorization", auth}, {"Content-Type", NULL}};
    struct pb_http_request req = {.size = sizeof(req)};
    int rc;

    snprintf(auth, sizeof(auth), "Bearer %s", c->app_token ? sk->app_token : sk->bot_token);
    req.url = c->url;
    req.headers = c->no_auth ? headers + 1 : headers;
    req.n_headers = c->no_auth ? 0 : 1;
    if (c->kind == SK_BODY_QUERY) {
        req.method = "GET";
    } else {
        req.method = "POST";
        headers[1].value = c->kind == SK_BODY_JSON ? "application/json; charset=utf-8"
                                                   : "application/x-www-form-urlencoded";
        req.n_headers++;
        req.body = c->body ? c->body : "";
        req.body_len = strlen(req.body);
    }
    c->in_flight = 1;
    rc = sk->host->http_request(sk->ctx, &req, http_done, c);
    explicit_bzero(auth, sizeof(auth));
    if (rc != PB_OK)
        c->in_flight = 0;
    return rc;
}

static void timer_fired(void *arg)
{
    struct slack_call *c = arg;
    struct slack *sk = c->sk;
    struct sk_reply r = {.status = 0, .fate = SK_FATE_RETRY};
    int64_t wait;

    if (c->synthetic) {
        r.status = 429;
        r.error = "ratelimited";
        r.retry_after_ms = c->synthetic_wait;
        finish(c, &r);
        return;
    }
    /* A 429 may have come in for this method while the call waited. */
    wait = c->method ? c->method->blocked_until - sk->host->now_ms(sk->ctx) : 0;
    if (wait > 0) {
        r.status = 429;
        r.error = "ratelimited";
        r.retry_after_ms = (uint32_t)wait;
        finish(c, &r);
        return;
    }
    if (issue(c) != PB_OK) {
        r.error = "the host did not take the request";
        finish(c, &r);
    }
}

/* A call to `method` of the Web API, or (method NULL) a POST of JSON to `url` without the
 * token: what a response_url takes. */
static int call_start(struct slack *sk, const char *method, const char *url, enum sk_body kind,
                      const char *body, int app_token, const char *channel, sk_api_done done,
                      void *arg)
{
    struct slack_call *c;
    size_t ulen;
    int64_t wait = 0, now = sk->host->now_ms(sk->ctx);
    int rc = PB_ERR_NOMEM;

    if (sk->destroying || !sk->methods)
        return PB_ERR_BUSY;
    c = calloc(1, sizeof(*c));
    if (!c)
        return PB_ERR_NOMEM;
    c->sk = sk;
    c->method = method ? find_method(sk, method) : NULL;
    c->kind = kind;
    c->app_token = app_token;
    c->no_auth = method == NULL;
    c->done = done;
    c->arg = arg;
    if (method) {
        ulen = strlen(sk->api_url) + strlen(method) +
               (kind == SK_BODY_QUERY && body ? strlen(body) + 1 : 0) + 1;
        c->url = malloc(ulen);
        if (c->url)
            snprintf(c->url, ulen, "%s%s%s%s", sk->api_url, method,
                     kind == SK_BODY_QUERY && body ? "?" : "",
                     kind == SK_BODY_QUERY && body ? body : "");
    } else {
        c->url = strdup(url);
    }
    if (!c->url)
        goto fail;
    if (kind != SK_BODY_QUERY && body && !(c->body = strdup(body)))
        goto fail;
    c->timer = sk->host->timer_new(sk->ctx, timer_fired, c);
    if (!c->timer)
        goto fail;
    c->next = sk->calls;
    if (sk->calls)
        sk->calls->prev = c;
    sk->calls = c;
    if (pace(sk, c->method, channel, now, &wait) != 0) {
        c->synthetic = 1;
        c->synthetic_wait = (uint32_t)wait;
        wait = 0;
    }
    /* Always from a timer: the caller's `done` never runs inside this call. */
    sk->host->timer_arm(c->timer, (uint64_t)wait);
    return PB_OK;
fail:
    call_free(c);
    return rc;
}

int slack_api_call(struct slack *sk, const char *method, enum sk_body kind, const char *body,
                   int app_token, const char *channel, sk_api_done done, void *arg)
{
    return call_start(sk, method, NULL, kind, body, app_token, channel, done, arg);
}

int slack_api_post_url(struct slack *sk, const char *url, const char *json, sk_api_done done,
                       void *arg)
{
    return call_start(sk, NULL, url, SK_BODY_JSON, json, 0, NULL, done, arg);
}

enum sk_fate slack_api_fate(const char *error, int http_status)
{
    static const char *const unreachable[] = {"user_not_found",
                                              "users_not_found",
                                              "user_disabled",
                                              "cannot_dm_bot",
                                              "message_not_found",
                                              "cant_update_message",
                                              "edit_window_closed",
                                              "is_archived",
                                              "msg_too_long",
                                              "invalid_blocks",
                                              "too_many_blocks",
                                              "no_text",
                                              "invalid_arguments",
                                              "user_not_visible",
                                              "restricted_action",
                                              "channel_is_archived",
                                              NULL};
    static const char *const config[] = {"invalid_auth",
                                         "not_authed",
                                         "token_revoked",
                                         "token_expired",
                                         "account_inactive",
                                         "missing_scope",
                                         "not_allowed_token_type",
                                         "no_permission",
                                         "ekm_access_denied",
                                         "team_access_not_granted",
                                         "org_login_required",
                                         "invalid_token",
                                         NULL};
    static const char *const retry[] = {"ratelimited",         "internal_error",  "fatal_error",
                                        "service_unavailable", "request_timeout", NULL};

    if (!error) {
        if (http_status == 401 || http_status == 403 || http_status == 404 || http_status == 410)
            return SK_FATE_CONFIG;
        return SK_FATE_RETRY; /* 5xx and anything odd: the outbox backs off */
    }
    for (const char *const *e = retry; *e; e++)
        if (strcmp(*e, error) == 0)
            return SK_FATE_RETRY;
    for (const char *const *e = unreachable; *e; e++)
        if (strcmp(*e, error) == 0)
            return SK_FATE_UNREACHABLE;
    for (const char *const *e = config; *e; e++)
        if (strcmp(*e, error) == 0)
            return SK_FATE_CONFIG;
    /* channel_not_found and not_in_channel depend on the target: the caller decides. An
     * unknown code is retried with backoff rather than dropped. */
    return SK_FATE_RETRY;
}

int slack_api_form_escape(const char *s, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(buf);

    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~';
        if (n + (plain ? 1 : 3) >= len)
            return PB_ERR_INVALID;
        if (plain) {
            buf[n++] = (char)ch;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[ch >> 4];
            buf[n++] = hex[ch & 15];
        }
    }
    buf[n] = '\0';
    return 0;
}

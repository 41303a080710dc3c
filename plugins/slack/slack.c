/*
 * The Slack connector's entry points: the ABI handshake, its options, and the connector's
 * life (create, start, send, update, lookup_user, stop, destroy). The work is in the other
 * slack_*.c files (see slack.h for the map and the key/value layout).
 *
 * Start: auth.test with the bot token (to know our own user id, and to say early and clearly
 * when the token is wrong), then the Socket Mode links. Sends do not wait for the links: the
 * Web API works without them, and the core holds messages while the connector is down.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "slack.h"

#define SK_VERSION      "1.0.0"
#define DEFAULT_API_URL "https://slack.com/api/"
#define PRUNE_EVERY_MS  (60 * 60 * 1000)
#define EVENT_KEEP_MS   (24 * 60 * 60 * 1000LL)
#define SENT_KEEP_MS    (7 * 24 * 60 * 60 * 1000LL)
#define MAX_URL         512

static const struct pb_option options[] = {
    {"bot_token", PB_OPT_SECRET, 1,
     "The bot token (xoxb-...), for every Web API call: bot_token_file = \"/path\" or "
     "bot_token_credential = \"name\"."},
    {"app_token", PB_OPT_SECRET, 1,
     "The app-level token (xapp-...) with connections:write, for Socket Mode only: "
     "app_token_file or app_token_credential."},
    {"api_url", PB_OPT_STRING, 0,
     "Base URL of the Web API, ending in '/'. Default \"https://slack.com/api/\"; set it for a "
     "test server or a Slack deployment with its own domain."},
    {"connections", PB_OPT_INT, 0,
     "Socket Mode connections kept open at once, 1 to 10 (Slack hands each envelope to one of "
     "them). Default 1; 2 keeps events flowing while one reconnects."},
    {"idle_timeout", PB_OPT_INT, 0,
     "Seconds without any frame after which a link is replaced (a half-open link never closes "
     "by itself), 10 to 3600. Default 300."},
    {"rate_pacing", PB_OPT_BOOL, 0,
     "Pace Web API calls to each method's published tier before Slack has to say 429. Default "
     "true. Slack's 429 and Retry-After are always honoured."},
    {"channel_interval", PB_OPT_INT, 0,
     "Least milliseconds between two posts to one conversation (Slack allows about one a "
     "second), 0 to 10000. Default 1000."},
    {"user_cache_ttl", PB_OPT_INT, 0,
     "Seconds a user lookup (id, time zone, locale) is reused, 0 to 2592000. Default 86400."},
    {"debug_reconnects", PB_OPT_BOOL, 0,
     "Ask Slack to refresh connections every few minutes, to exercise reconnection. Default "
     "false."},
    {"checkin_reaction", PB_OPT_STRING, 0,
     "Reaction name (without colons, such as \"white_check_mark\") that marks a support thread "
     "as closed and starts a customer check-in with the thread's author. Default: none."},
    {"checkin_channels", PB_OPT_LIST, 0,
     "Channel ids (C...) where checkin_reaction counts. Required with checkin_reaction."},
    {"checkin_agents", PB_OPT_LIST, 0,
     "User ids (U...) whose reaction counts; default: anyone but the thread's author."},
    {"checkin_touchpoint", PB_OPT_STRING, 0,
     "The touchpoint reported with such a check-in. Default \"slack\"."},
    {NULL, 0, 0, NULL},
};

uint32_t slack_jitter(struct slack *sk, uint32_t ms)
{
    uint32_t r = 0;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
        r = (uint32_t)sk->host->now_ms(sk->ctx);
    return ms - ms / 5 + (ms ? r % (ms / 5 * 2 + 1) : 0); /* +-20% */
}

int slack_list_contains(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

void slack_send_result(struct slack *sk, uint64_t id, enum pb_send_outcome outcome, const char *ref,
                       uint32_t retry_after_ms, const char *error)
{
    struct pb_send_result res = {
        .size = sizeof(res),
        .outcome = outcome,
        .message_ref = ref,
        .retry_after_ms = retry_after_ms,
        .error = error,
    };

    if (sk->destroying)
        return; /* the core resends whatever was not confirmed */
    sk->host->send_done(sk->ctx, id, &res);
}

void slack_emit_connection(struct slack *sk, int up, const char *reason)
{
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_CONNECTION};

    ev.connected = up;
    ev.reason = reason;
    if (sk->host->emit(sk->ctx, &ev, NULL, 0) != PB_OK)
        sk_log(sk, PB_LOG_WARNING, "the core did not take the connection event");
}

struct prune {
    int64_t before;
    char **keys;
    size_t n, cap;
};

static int prune_visit(void *arg, const char *key, const char *value)
{
    struct prune *p = arg;
    char **grown;

    if (strtoll(value, NULL, 10) >= p->before)
        return 0;
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 32;
        grown = realloc(p->keys, p->cap * sizeof(*grown));
        if (!grown)
            return 1;
        p->keys = grown;
    }
    p->keys[p->n] = strdup(key);
    if (p->keys[p->n])
        p->n++;
    return 0;
}

void slack_kv_prune(struct slack *sk, const char *prefix, int64_t max_age_ms)
{
    struct prune p = {.before = sk->host->now_ms(sk->ctx) - max_age_ms};

    /* Collected first, deleted after: the scan is not asked to survive its own deletions. */
    (void)sk->host->kv_scan(sk->ctx, prefix, prune_visit, &p);
    for (size_t i = 0; i < p.n; i++) {
        (void)sk->host->kv_delete(sk->ctx, p.keys[i]);
        free(p.keys[i]);
    }
    free(p.keys);
}

static void prune_fired(void *arg)
{
    struct slack *sk = arg;

    slack_kv_prune(sk, "ev/", EVENT_KEEP_MS);
    slack_kv_prune(sk, "sent/", SENT_KEEP_MS);
    sk->host->timer_arm(sk->prune, PRUNE_EVERY_MS);
}

static void auth_done(void *arg, const struct sk_reply *r)
{
    struct slack *sk = arg;
    const char *user = NULL;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(r->json, "user_id");

    if (sk->destroying)
        return;
    if (r->fate == SK_FATE_OK && cJSON_IsString(u))
        user = u->valuestring;
    if (user && strlen(user) < sizeof(sk->bot_user)) {
        snprintf(sk->bot_user, sizeof(sk->bot_user), "%s", user);
        sk_log(sk, PB_LOG_INFO, "signed in as bot user %s", sk->bot_user);
    } else if (r->fate == SK_FATE_CONFIG) {
        sk_log(sk, PB_LOG_ERR,
               "auth.test refused the bot token (%s): check bot_token (xoxb-...) and that the "
               "app is installed",
               r->error ? r->error : "?");
    } else {
        sk_log(sk, PB_LOG_WARNING,
               "auth.test failed (%s); our own messages are still "
               "recognised by their bot_id",
               r->error ? r->error : "?");
    }
}

static int sk_start(void *self)
{
    struct slack *sk = self;

    if (sk->started)
        return 0;
    sk->started = 1;
    sk->prune = sk->host->timer_new(sk->ctx, prune_fired, sk);
    if (sk->prune)
        sk->host->timer_arm(sk->prune, 60000);
    (void)slack_api_call(sk, "auth.test", SK_BODY_QUERY, NULL, 0, NULL, auth_done, sk);
    slack_socket_start(sk);
    sk_log(sk, PB_LOG_INFO, "Web API at %s; opening %d Socket Mode connection%s", sk->api_url,
           sk->n_slots, sk->n_slots == 1 ? "" : "s");
    return 0;
}

static int sk_send(void *self, const struct pb_send *s)
{
    struct slack *sk = self;

    if (sk->stopped)
        return PB_ERR_BUSY;
    return slack_send_message(sk, s);
}

static int sk_update(void *self, const struct pb_send *s)
{
    struct slack *sk = self;

    if (sk->stopped)
        return PB_ERR_BUSY;
    return slack_update_message(sk, s);
}

static int sk_lookup(void *self, uint64_t request, const char *email)
{
    return slack_lookup_user(self, request, email);
}

static void sk_stop(void *self)
{
    struct slack *sk = self;

    sk->stopped = 1;
    if (sk->prune)
        sk->host->timer_cancel(sk->prune);
    slack_socket_stop(sk);
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void sk_destroy(void *self)
{
    struct slack *sk = self;

    if (!sk)
        return;
    sk->stopped = 1;
    slack_api_destroy(sk); /* sets destroying: nothing more reaches the host */
    slack_socket_destroy(sk);
    if (sk->prune)
        sk->host->timer_free(sk->prune);
    explicit_bzero(sk->bot_token, sizeof(sk->bot_token));
    explicit_bzero(sk->app_token, sizeof(sk->app_token));
    if (sk->response_urls)
        explicit_bzero(sk->response_urls, SK_RESPONSE_URLS * sizeof(*sk->response_urls));
    free(sk->response_urls);
    free(sk->api_url);
    free(sk->reaction);
    free(sk->touchpoint);
    free_list(sk->checkin_channels, sk->n_checkin_channels);
    free_list(sk->agents, sk->n_agents);
    free(sk);
}

static int read_int(struct slack *sk, const char *key, long long def, long long lo, long long hi,
                    long long *out)
{
    long long v = def;

    if (sk->host->config_int(sk->ctx, key, &v) != 0)
        v = def;
    if (v < lo || v > hi) {
        sk_log(sk, PB_LOG_ERR, "%s must be between %lld and %lld", key, lo, hi);
        return PB_ERR_INVALID;
    }
    *out = v;
    return 0;
}

static int read_list(struct slack *sk, const char *key, char ***out, size_t *n)
{
    const char *v;

    for (size_t i = 0; (v = sk->host->config_list(sk->ctx, key, i)); i++) {
        char **grown = realloc(*out, (*n + 1) * sizeof(*grown));
        if (!grown)
            return PB_ERR_NOMEM;
        *out = grown;
        if (!(grown[*n] = strdup(v)))
            return PB_ERR_NOMEM;
        (*n)++;
    }
    return 0;
}

static int read_token(struct slack *sk, const char *key, const char *prefix, char *buf, size_t len)
{
    if (sk->host->secret(sk->ctx, key, buf, len) != PB_OK || !buf[0]) {
        sk_log(sk, PB_LOG_ERR, "%s: the secret could not be read (%s_file or %s_credential)", key,
               key, key);
        return PB_ERR_INVALID;
    }
    if (strncmp(buf, prefix, strlen(prefix)) != 0)
        /* A warning only: test servers and other deployments may use other tokens. */
        sk_log(sk, PB_LOG_WARNING, "%s does not start with \"%s\"; is it the right token?", key,
               prefix);
    return 0;
}

static int read_options(struct slack *sk)
{
    const char *url = sk->host->config_string(sk->ctx, "api_url");
    const char *s;
    long long v;
    int b, rc;
    size_t len;

    rc = read_token(sk, "bot_token", "xoxb-", sk->bot_token, sizeof(sk->bot_token));
    if (!rc)
        rc = read_token(sk, "app_token", "xapp-", sk->app_token, sizeof(sk->app_token));
    if (rc)
        return rc;
    if (!url || !*url)
        url = DEFAULT_API_URL;
    len = strlen(url);
    if (len > MAX_URL || (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0) ||
        strpbrk(url, "?# \"<>")) {
        sk_log(sk, PB_LOG_ERR, "api_url must be an http(s) URL such as \"%s\"", DEFAULT_API_URL);
        return PB_ERR_INVALID;
    }
    sk->api_url = malloc(len + 2);
    if (!sk->api_url)
        return PB_ERR_NOMEM;
    snprintf(sk->api_url, len + 2, "%s%s", url, url[len - 1] == '/' ? "" : "/");
    if ((rc = read_int(sk, "connections", 1, 1, SK_MAX_CONNECTIONS, &v)))
        return rc;
    sk->n_slots = (int)v;
    if ((rc = read_int(sk, "idle_timeout", 300, 10, 3600, &v)))
        return rc;
    sk->idle_timeout_ms = (uint32_t)v * 1000u;
    if ((rc = read_int(sk, "channel_interval", 1000, 0, 10000, &v)))
        return rc;
    sk->channel_interval_ms = (uint32_t)v;
    if ((rc = read_int(sk, "user_cache_ttl", 86400, 0, 2592000, &v)))
        return rc;
    sk->user_ttl_ms = v * 1000;
    sk->pacing = sk->host->config_bool(sk->ctx, "rate_pacing", &b) == 0 ? b != 0 : 1;
    sk->debug_reconnects = sk->host->config_bool(sk->ctx, "debug_reconnects", &b) == 0 && b;
    s = sk->host->config_string(sk->ctx, "checkin_reaction");
    if (s && *s) {
        /* People write it as shown in Slack, ":white_check_mark:"; events carry the bare name. */
        size_t n = strlen(s);
        if (s[0] == ':' && n > 2 && s[n - 1] == ':')
            sk->reaction = strndup(s + 1, n - 2);
        else
            sk->reaction = strdup(s);
        if (!sk->reaction)
            return PB_ERR_NOMEM;
    }
    s = sk->host->config_string(sk->ctx, "checkin_touchpoint");
    sk->touchpoint = strdup(s && *s ? s : "slack");
    if (!sk->touchpoint)
        return PB_ERR_NOMEM;
    if ((rc = read_list(sk, "checkin_channels", &sk->checkin_channels, &sk->n_checkin_channels)) ||
        (rc = read_list(sk, "checkin_agents", &sk->agents, &sk->n_agents)))
        return rc;
    if (sk->reaction && sk->n_checkin_channels == 0) {
        sk_log(sk, PB_LOG_ERR,
               "checkin_reaction needs checkin_channels: the support channels "
               "where it counts");
        return PB_ERR_INVALID;
    }
    return 0;
}

/* Everything this connector calls; a host without one of them cannot run it. lookup_done is
 * optional: without it lookup_user says so. */
static int host_complete(const struct pb_host *h)
{
    return h && h->size >= offsetof(struct pb_host, reserved) && h->log && h->config_string &&
           h->config_int && h->config_bool && h->config_list && h->secret && h->now_ms &&
           h->timer_new && h->timer_arm && h->timer_cancel && h->timer_free && h->http_request &&
           h->ws_connect && h->ws_send && h->ws_close && h->kv_get && h->kv_put && h->kv_delete &&
           h->kv_scan && h->emit && h->send_done;
}

static int sk_create(const struct pb_host *host, pb_host_ctx *ctx, struct pb_connector *out)
{
    struct slack *sk;
    int rc;

    if (!host_complete(host) || !out)
        return PB_ERR_INVALID;
    sk = calloc(1, sizeof(*sk));
    if (!sk)
        return PB_ERR_NOMEM;
    sk->host = host;
    sk->ctx = ctx;
    rc = read_options(sk);
    if (!rc)
        rc = slack_api_init(sk);
    if (rc) {
        sk_destroy(sk);
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    out->self = sk;
    out->start = sk_start;
    out->send = sk_send;
    out->update = sk_update;
    out->stop = sk_stop;
    out->destroy = sk_destroy;
    out->lookup_user = sk_lookup;
    return 0;
}

static const struct pb_plugin_info info = {
    .size = sizeof(info),
    .name = "slack",
    .version = SK_VERSION,
    .options = options,
    .create = sk_create,
};

PB_PLUGIN_EXPORT(info)

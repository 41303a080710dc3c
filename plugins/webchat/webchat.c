/*
 * The web chat connector's entry points: the ABI handshake, its options, and the connector's
 * life (create, start, send, update, stop, destroy). The work is in the other webchat_*.c
 * files: the page, the websocket, the history in the key/value store.
 *
 * A send is durable once its message is in the key/value store: send_done(PB_SEND_DONE) is
 * reported right after that commit, and only then is the message pushed to open browsers.
 * A browser that is not open gets it from the history at its next hello.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webchat.h"

#define WC_VERSION "1.0.0"
#define MAX_PATH   200
#define MAX_ORIGIN 200

static const struct pb_option options[] = {
    {"demo_login", PB_OPT_BOOL, 0,
     "Let a person pick their name from the roster instead of opening a personal link. "
     "For demos only: anyone who can reach the page can be anyone. Default false."},
    {"allowed_origins", PB_OPT_LIST, 0,
     "Origins allowed to open the chat websocket, such as \"https://chat.example.com\". "
     "Default: only \"http://\" + the request's Host header (set this behind a TLS proxy)."},
    {"path", PB_OPT_STRING, 0,
     "Where the page is served, ending in '/'. The websocket is at path + \"ws\". Default \"/\"."},
    {"max_message", PB_OPT_INT, 0,
     "Longest text a person may send, in bytes (256 to 1048576). Default 16384."},
    {"history", PB_OPT_INT, 0, "Messages kept per conversation (1 to 10000). Default 200."},
    {NULL, 0, 0, NULL},
};

static void send_done(struct webchat *wc, uint64_t id, enum pb_send_outcome outcome,
                      const char *ref, const char *error)
{
    struct pb_send_result res = {
        .size = sizeof(res),
        .outcome = outcome,
        .message_ref = ref,
        .error = error,
    };

    wc->host->send_done(wc->ctx, id, &res);
}

static int send_valid(const struct pb_send *s)
{
    return s && s->size >= offsetof(struct pb_send, reserved) && s->message;
}

static int wc_send(void *self, const struct pb_send *s)
{
    struct webchat *wc = self;
    char conv[WC_MAX_CONV], ref[WC_MAX_KEY];
    const char *error;
    cJSON *msg = NULL;
    char *json = NULL;
    int rc, duplicate, trimmed;

    if (wc->stopped)
        return PB_ERR_BUSY;
    if (!send_valid(s))
        return PB_ERR_INVALID;
    if (webchat_conv_for_target(s->target_kind, s->target, conv, sizeof(conv)) != 0) {
        send_done(wc, s->id, PB_SEND_UNREACHABLE, NULL, "not a web chat user or channel");
        return PB_OK;
    }
    snprintf(ref, sizeof(ref), "%s/%020llu", conv, (unsigned long long)s->id);
    rc = webchat_render(s->message, conv, ref, "bot", wc->host->now_ms(wc->ctx), &msg, &error);
    if (rc == PB_ERR_INVALID) {
        send_done(wc, s->id, PB_SEND_UNREACHABLE, NULL, error);
        return PB_OK;
    }
    if (rc)
        return rc;
    rc = PB_ERR_NOMEM;
    json = cJSON_PrintUnformatted(msg);
    if (!json)
        goto out;
    rc = webchat_history_add(wc, conv, s->id, json, &duplicate, &trimmed);
    if (rc == PB_ERR_NOMEM)
        goto out;
    if (rc) {
        send_done(wc, s->id, PB_SEND_RETRY, NULL, "could not store the message");
        rc = PB_OK;
        goto out;
    }
    send_done(wc, s->id, PB_SEND_DONE, ref, NULL);
    /* A repeat was shown the first time; one too old to keep was never going to be seen. */
    if (!duplicate && !trimmed) {
        webchat_ws_push(wc, conv, json);
        if (wc->host->counter_add)
            wc->host->counter_add(wc->ctx, "messages_sent", 1);
    }
out:
    cJSON_Delete(msg);
    free(json);
    return rc;
}

/* Replaces a sent message where it stands: same key, same ref, same time. */
static int wc_update(void *self, const struct pb_send *s)
{
    struct webchat *wc = self;
    char conv[WC_MAX_CONV];
    const char *error, *ref;
    cJSON *old = NULL, *msg = NULL, *at;
    char *json = NULL;
    int rc;

    if (wc->stopped)
        return PB_ERR_BUSY;
    if (!send_valid(s))
        return PB_ERR_INVALID;
    ref = s->message_ref;
    if (webchat_ref_split(ref, conv, sizeof(conv)) != 0) {
        send_done(wc, s->id, PB_SEND_UNREACHABLE, NULL, "not a web chat message reference");
        return PB_OK;
    }
    rc = webchat_history_get(wc, ref, &old);
    if (rc == PB_ERR_UNKNOWN) {
        send_done(wc, s->id, PB_SEND_UNREACHABLE, NULL, "no such message (trimmed or never sent)");
        return PB_OK;
    }
    if (rc) {
        send_done(wc, s->id, PB_SEND_RETRY, NULL, "could not read the message");
        return PB_OK;
    }
    at = cJSON_GetObjectItemCaseSensitive(old, "at");
    rc = webchat_render(s->message, conv, ref, "bot",
                        cJSON_IsNumber(at) ? (int64_t)at->valuedouble : wc->host->now_ms(wc->ctx),
                        &msg, &error);
    if (rc == PB_ERR_INVALID) {
        send_done(wc, s->id, PB_SEND_UNREACHABLE, NULL, error);
        rc = PB_OK;
        goto out;
    }
    if (rc)
        goto out;
    rc = PB_ERR_NOMEM;
    json = cJSON_PrintUnformatted(msg);
    if (!json)
        goto out;
    if (webchat_history_replace(wc, ref, json) != 0) {
        send_done(wc, s->id, PB_SEND_RETRY, NULL, "could not store the message");
        rc = PB_OK;
        goto out;
    }
    send_done(wc, s->id, PB_SEND_DONE, ref, NULL);
    /* Stored as a message (the welcome replays it as one); pushed as an update of it. */
    free(json);
    cJSON_ReplaceItemInObjectCaseSensitive(msg, "type", cJSON_CreateString("update"));
    json = cJSON_PrintUnformatted(msg);
    if (json)
        webchat_ws_push(wc, conv, json);
    rc = PB_OK;
out:
    cJSON_Delete(old);
    cJSON_Delete(msg);
    free(json);
    return rc;
}

static int wc_start(void *self)
{
    struct webchat *wc = self;
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_CONNECTION, .connected = 1};
    int rc;

    if (wc->started)
        return 0;
    if (webchat_page_register(wc) != 0 ||
        wc->host->ws_route(wc->ctx, wc->ws_path, &wc->ws_ops, wc) != PB_OK) {
        wc_log(wc, PB_LOG_ERR, "could not register the routes under %s", wc->path);
        return PB_ERR;
    }
    wc->started = 1;
    wc_log(wc, PB_LOG_INFO, "page at %s, websocket at %s%s", wc->path, wc->ws_path,
           wc->demo_login ? " (demo sign-in is on)" : "");
    /* The web chat is its own platform: it is up as soon as browsers can reach it. */
    ev.reason = "page and websocket routes registered";
    rc = wc->host->emit(wc->ctx, &ev, NULL, 0);
    if (rc != PB_OK)
        wc_log(wc, PB_LOG_WARNING, "the core did not take the connection event (%d)", rc);
    return 0;
}

static void wc_stop(void *self)
{
    struct webchat *wc = self;

    wc->stopped = 1;
    webchat_ws_close_all(wc);
}

static void free_options(struct webchat *wc)
{
    for (size_t i = 0; i < wc->n_origins; i++)
        free(wc->origins[i]);
    free(wc->origins);
    free(wc->path);
    free(wc->ws_path);
    free(wc->js_path);
    free(wc->css_path);
}

static void wc_destroy(void *self)
{
    struct webchat *wc = self;

    if (!wc)
        return;
    webchat_ws_free_all(wc);
    free_options(wc);
    free(wc);
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);

    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb + 1);
    }
    return s;
}

/* A plain absolute path of printable ASCII, with no query, fragment, escapes or dot steps. */
static int path_valid(const char *p, size_t len)
{
    if (p[0] != '/' || len > MAX_PATH || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../") ||
        strpbrk(p, "?#%\\\"'<>"))
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7E)
            return 0;
    return 1;
}

static int read_path(struct webchat *wc)
{
    const char *p = wc->host->config_string(wc->ctx, "path");
    size_t len;

    if (!p || !*p)
        p = "/";
    len = strlen(p);
    /* The page's relative links and the websocket hang off a directory-like path. */
    wc->path = p[len - 1] == '/' ? strdup(p) : concat(p, "/");
    if (!wc->path)
        return PB_ERR_NOMEM;
    if (!path_valid(wc->path, strlen(wc->path))) {
        wc_log(wc, PB_LOG_ERR, "path must be an absolute URL path like \"/chat/\"");
        return PB_ERR_INVALID;
    }
    wc->ws_path = concat(wc->path, "ws");
    wc->js_path = concat(wc->path, "chat.js");
    wc->css_path = concat(wc->path, "chat.css");
    return wc->ws_path && wc->js_path && wc->css_path ? 0 : PB_ERR_NOMEM;
}

/* An origin is "scheme://host[:port]": no path, no trailing slash (one is forgiven). */
static int read_origins(struct webchat *wc)
{
    const char *o;

    for (size_t n = 0; (o = wc->host->config_list(wc->ctx, "allowed_origins", n)); n++) {
        size_t len = strlen(o);
        const char *rest = strncmp(o, "http://", 7) == 0    ? o + 7
                           : strncmp(o, "https://", 8) == 0 ? o + 8
                                                            : NULL;
        char **grown;

        if (len > 0 && o[len - 1] == '/')
            len--;
        if (!rest || len > MAX_ORIGIN || (size_t)(rest - o) >= len ||
            memchr(rest, '/', len - (size_t)(rest - o))) {
            wc_log(wc, PB_LOG_ERR,
                   "allowed_origins: \"%s\" is not an origin such as "
                   "\"https://chat.example.com\"",
                   o);
            return PB_ERR_INVALID;
        }
        grown = realloc(wc->origins, (wc->n_origins + 1) * sizeof(*grown));
        if (!grown)
            return PB_ERR_NOMEM;
        wc->origins = grown;
        wc->origins[wc->n_origins] = strndup(o, len);
        if (!wc->origins[wc->n_origins])
            return PB_ERR_NOMEM;
        wc->n_origins++;
    }
    return 0;
}

static int read_int(struct webchat *wc, const char *key, long long def, long long lo, long long hi,
                    size_t *out)
{
    long long v = def;

    if (wc->host->config_int(wc->ctx, key, &v) != 0)
        v = def;
    if (v < lo || v > hi) {
        wc_log(wc, PB_LOG_ERR, "%s must be between %lld and %lld", key, lo, hi);
        return PB_ERR_INVALID;
    }
    *out = (size_t)v;
    return 0;
}

static int read_options(struct webchat *wc)
{
    int demo = 0, rc;

    if (wc->host->config_bool(wc->ctx, "demo_login", &demo) != 0)
        demo = 0;
    wc->demo_login = demo != 0;
    rc = read_path(wc);
    if (!rc)
        rc = read_origins(wc);
    if (!rc)
        rc = read_int(wc, "max_message", 16384, 256, 1048576, &wc->max_message);
    if (!rc)
        rc = read_int(wc, "history", 200, 1, 10000, &wc->history);
    return rc;
}

/* Everything this connector calls; a host without one of them cannot run it. */
static int host_complete(const struct pb_host *h)
{
    return h && h->size >= offsetof(struct pb_host, reserved) && h->log && h->config_string &&
           h->config_int && h->config_bool && h->config_list && h->now_ms && h->timer_new &&
           h->timer_arm && h->timer_cancel && h->timer_free && h->http_route && h->ws_route &&
           h->ws_conn_send && h->ws_conn_close && h->ws_conn_set_user && h->ws_conn_user &&
           h->kv_get && h->kv_put && h->kv_delete && h->kv_scan && h->emit && h->send_done &&
           h->directory_people && h->directory_channels && h->link_verify;
}

static int wc_create(const struct pb_host *host, pb_host_ctx *ctx, struct pb_connector *out)
{
    struct webchat *wc;
    int rc;

    if (!host_complete(host) || !out)
        return PB_ERR_INVALID;
    wc = calloc(1, sizeof(*wc));
    if (!wc)
        return PB_ERR_NOMEM;
    wc->host = host;
    wc->ctx = ctx;
    rc = read_options(wc);
    if (rc) {
        wc_destroy(wc);
        return rc;
    }
    webchat_ws_init(wc);
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    out->self = wc;
    out->start = wc_start;
    out->send = wc_send;
    out->update = wc_update;
    out->stop = wc_stop;
    out->destroy = wc_destroy;
    return 0;
}

static const struct pb_plugin_info info = {
    .size = sizeof(info),
    .name = "webchat",
    .version = WC_VERSION,
    .options = options,
    .create = wc_create,
};

PB_PLUGIN_EXPORT(info)

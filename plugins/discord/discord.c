/*
 * The Discord connector's entry points: the ABI handshake, its options, and the connector's
 * life (create, start, stop, destroy). The gateway session is in discord_gateway.c, REST
 * calls and their rate limits in discord_rest.c, what arrives in discord_events.c, sends and
 * edits in discord_send.c, and the message layout in discord_render.c.
 *
 * Intents are the fewest the configured features need: DIRECT_MESSAGES always (text replies
 * come by DM, and DM content needs no privileged intent), GUILDS only when support forums are
 * watched (THREAD_UPDATE), MESSAGE_CONTENT only when asked for (it is privileged: without it
 * enabled in the Developer Portal, Discord closes with 4014).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "discord.h"

static const struct pb_option options[] = {
    {"bot_token", PB_OPT_SECRET, 1,
     "The bot's token (Developer Portal, Bot, Reset Token): bot_token_file = \"/path\" or "
     "bot_token_credential = \"name\" (a systemd credential)."},
    {"api_base", PB_OPT_STRING, 0,
     "REST API base URL. Default \"https://discord.com/api/v10\" (tests point it at a fake)."},
    {"gateway_url", PB_OPT_STRING, 0,
     "Gateway URL to use instead of the one GET /gateway/bot names (tests only)."},
    {"message_content", PB_OPT_BOOL, 0,
     "Ask for the privileged MESSAGE_CONTENT intent. Default false: not needed for DMs."},
    {"support_forums", PB_OPT_LIST, 0,
     "Forum channel ids whose threads are customer support conversations: a thread archived, "
     "locked or tagged resolved reports a closed interaction. Default none."},
    {"resolved_tags", PB_OPT_LIST, 0,
     "Forum tag ids that mark a support thread as resolved. Default none."},
    {NULL, 0, 0, NULL},
};

uint32_t dc_random(uint32_t below)
{
    uint32_t r = 0;

    if (below <= 1)
        return 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)rand();
    return r % below;
}

void dc_report_connection(struct discord *dc, int up, const char *reason)
{
    struct pb_event ev = {
        .size = sizeof(ev), .type = PB_EVENT_CONNECTION, .connected = up, .reason = reason};

    if (dc->gw.up_reported == up + 1)
        return; /* the core already knows */
    dc->gw.up_reported = up + 1;
    if (dc->host->emit(dc->ctx, &ev, NULL, 0) != PB_OK)
        dc_log(dc, PB_LOG_WARNING, "the core did not take the connection event");
}

static int dc_start(void *self)
{
    struct discord *dc = self;
    int rc;

    if (dc->started)
        return 0;
    dc->started = 1;
    rc = dc_gateway_start(dc);
    if (rc)
        dc_log(dc, PB_LOG_ERR, "could not start the gateway session (%d)", rc);
    return rc;
}

static void dc_stop(void *self)
{
    struct discord *dc = self;

    if (dc->stopped)
        return;
    dc->stopped = 1;
    if (dc->started)
        dc_gateway_stop(dc);
    dc_rest_cancel(dc, "the connector is stopping");
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
}

static void dc_destroy(void *self)
{
    struct discord *dc = self;

    if (!dc)
        return;
    dc->stopped = 1;
    dc_rest_free(dc);
    dc_gateway_free(dc);
    free_list(dc->forums, dc->n_forums);
    free_list(dc->resolved_tags, dc->n_resolved_tags);
    memset(dc->token, 0, sizeof(dc->token));
    free(dc);
}

static int read_url(struct discord *dc, const char *key, const char *def, char *out, size_t len)
{
    const char *v = dc->host->config_string(dc->ctx, key);
    size_t n;

    if (!v || !*v)
        v = def;
    if (!v)
        return 0;
    n = strlen(v);
    while (n > 1 && v[n - 1] == '/')
        n--;
    if (n >= len || (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0 &&
                     strncmp(v, "wss://", 6) != 0 && strncmp(v, "ws://", 5) != 0)) {
        dc_log(dc, PB_LOG_ERR, "%s must be an absolute URL", key);
        return PB_ERR_INVALID;
    }
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

static int read_ids(struct discord *dc, const char *key, char **list, size_t *n)
{
    const char *v;

    for (size_t i = 0; (v = dc->host->config_list(dc->ctx, key, i)); i++) {
        size_t len = strlen(v);
        if (i >= DC_MAX_FORUMS || len == 0 || len >= DC_MAX_ID || strspn(v, "0123456789") != len) {
            dc_log(dc, PB_LOG_ERR, "%s: \"%s\" is not a Discord id (at most %d of them)", key, v,
                   DC_MAX_FORUMS);
            return PB_ERR_INVALID;
        }
        list[i] = strdup(v);
        if (!list[i])
            return PB_ERR_NOMEM;
        *n = i + 1;
    }
    return 0;
}

static int read_options(struct discord *dc)
{
    int content = 0, rc;

    if (dc->host->secret(dc->ctx, "bot_token", dc->token, sizeof(dc->token)) != 0 ||
        !dc->token[0]) {
        dc_log(dc, PB_LOG_ERR,
               "the bot token could not be read (bot_token_file or "
               "bot_token_credential)");
        return PB_ERR_INVALID;
    }
    if (strpbrk(dc->token, " \r\n\t\"\\")) {
        dc_log(dc, PB_LOG_ERR, "the bot token holds characters a token never has");
        return PB_ERR_INVALID;
    }
    rc = read_url(dc, "api_base", DC_API_BASE, dc->api_base, sizeof(dc->api_base));
    if (!rc)
        rc = read_url(dc, "gateway_url", NULL, dc->gateway_override, sizeof(dc->gateway_override));
    if (!rc)
        rc = read_ids(dc, "support_forums", dc->forums, &dc->n_forums);
    if (!rc)
        rc = read_ids(dc, "resolved_tags", dc->resolved_tags, &dc->n_resolved_tags);
    if (rc)
        return rc;
    if (dc->host->config_bool(dc->ctx, "message_content", &content) != 0)
        content = 0;
    dc->intents = DC_INTENT_DIRECT_MESSAGES;
    if (dc->n_forums)
        dc->intents |= DC_INTENT_GUILDS;
    if (content)
        dc->intents |= DC_INTENT_MESSAGE_CONTENT;
    return 0;
}

/* Everything this connector calls; a host without one of them cannot run it. */
static int host_complete(const struct pb_host *h)
{
    return h && h->size >= offsetof(struct pb_host, reserved) && h->log && h->config_string &&
           h->config_bool && h->config_list && h->secret && h->now_ms && h->timer_new &&
           h->timer_arm && h->timer_cancel && h->timer_free && h->http_request && h->ws_connect &&
           h->ws_send && h->ws_close && h->kv_get && h->kv_put && h->kv_delete && h->emit &&
           h->send_done;
}

static int dc_create(const struct pb_host *host, pb_host_ctx *ctx, struct pb_connector *out)
{
    struct discord *dc;
    int rc;

    if (!host_complete(host) || !out)
        return PB_ERR_INVALID;
    dc = calloc(1, sizeof(*dc));
    if (!dc)
        return PB_ERR_NOMEM;
    dc->host = host;
    dc->ctx = ctx;
    dc->gw.seq = -1;
    rc = read_options(dc);
    if (!rc) {
        dc_rest_init(dc);
        if (!dc->rest_timer)
            rc = PB_ERR_NOMEM;
    }
    if (rc) {
        dc_destroy(dc);
        return rc;
    }
    memset(out, 0, sizeof(*out));
    out->size = sizeof(*out);
    out->self = dc;
    out->start = dc_start;
    out->send = dc_send;
    out->update = dc_update;
    out->stop = dc_stop;
    out->destroy = dc_destroy;
    return 0;
}

static const struct pb_plugin_info info = {
    .size = sizeof(info),
    .name = "discord",
    .version = DC_VERSION,
    .options = options,
    .create = dc_create,
};

PB_PLUGIN_EXPORT(info)

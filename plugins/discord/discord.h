/*
 * The Discord connector's internal interface, shared by its files: the instance, the gateway
 * session, the REST queue, and the functions each file gives the others. Nothing here crosses
 * the module boundary; the daemon sees only pb_plugin_abi and pb_plugin_get.
 *
 * Discord ids (snowflakes) are 64-bit and exceed a double's 53 bits: they are kept as strings
 * everywhere, from the JSON we parse to the key/value state and the message references.
 */
#ifndef DISCORD_H
#define DISCORD_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pulsebot/plugin.h"

#define DC_VERSION       "1.0.0"
#define DC_API_BASE      "https://discord.com/api/v10"
#define DC_USER_AGENT    "DiscordBot (https://github.com/pulsebot/pulsebot, " DC_VERSION ")"
#define DC_MAX_ID        32 /* a snowflake as a string, with room to spare */
#define DC_MAX_URL       512
#define DC_MAX_TOKEN     256  /* the bot token */
#define DC_MAX_CONTENT   2000 /* characters in a message's content */
#define DC_MAX_LABEL     80   /* characters in a button's label */
#define DC_MAX_CUSTOM_ID 100
#define DC_MAX_FORUMS    32

/* Gateway intents (bits). INTERACTION_CREATE needs none. */
#define DC_INTENT_GUILDS          (1u << 0)
#define DC_INTENT_DIRECT_MESSAGES (1u << 12)
#define DC_INTENT_MESSAGE_CONTENT (1u << 15) /* privileged */

/* Gateway limits: 120 sends per 60 s per connection; identifies spaced by 5 s (one shard,
 * max_concurrency 1 for a small bot); the daily identify budget comes from /gateway/bot. */
#define DC_GW_SEND_LIMIT    120
#define DC_GW_SEND_WINDOW   60000
#define DC_GW_SEND_RESERVE  10 /* sends kept back for our own heartbeats */
#define DC_IDENTIFY_SPACING 5000
#define DC_CLOSE_RESUMABLE  4000 /* what we close with when we mean to resume (not 1000/1001) */
#define DC_CLOSE_TIMEOUT_MS 10000
#define DC_HELLO_TIMEOUT_MS 30000

enum dc_gw_state {
    GW_IDLE = 0,
    GW_FETCHING,   /* GET /gateway/bot */
    GW_CONNECTING, /* socket opening */
    GW_HELLO,      /* open, waiting for HELLO */
    GW_HANDSHAKE,  /* IDENTIFY or RESUME sent, waiting for READY or RESUMED */
    GW_READY,
    GW_CLOSING, /* we closed it; the next step is decided */
    GW_WAITING, /* a reconnect timer is armed */
    GW_FATAL,   /* a close code or 401 that retrying cannot fix */
    GW_STOPPED,
};

enum dc_gw_next { GW_NEXT_RESUME = 0, GW_NEXT_IDENTIFY = 1 };

struct dc_gateway {
    enum dc_gw_state state;
    enum dc_gw_next next;
    uint32_t next_delay_ms; /* for GW_CLOSING: when to connect again */
    pb_ws *ws;
    struct pb_ws_client_ops ops;
    pb_timer *hb_timer;    /* heartbeats; the hello timeout before HELLO */
    pb_timer *retry_timer; /* reconnects; the close timeout while closing */

    char url[DC_MAX_URL];        /* from /gateway/bot, cached in kv */
    char resume_url[DC_MAX_URL]; /* from READY */
    char session_id[128];
    long long seq; /* last dispatch number, -1 before any */
    char bot_id[DC_MAX_ID];
    char app_id[DC_MAX_ID];

    uint32_t interval; /* heartbeat_interval */
    int acked;         /* a HEARTBEAT_ACK arrived since our last heartbeat */
    unsigned failures; /* connects in a row that did not reach READY/RESUMED */
    int up_reported;   /* the core was told the link is up */

    int64_t sends[DC_GW_SEND_LIMIT]; /* when the last sends on this connection went out */
    size_t send_pos, n_sends;

    int64_t last_identify_ms;
    long identify_remaining; /* from session_start_limit; -1 unknown */
    int64_t identify_reset_at;
};

struct dc_rest_req;
struct dc_bucket;

struct discord {
    const struct pb_host *host;
    pb_host_ctx *ctx;

    /* options */
    char token[DC_MAX_TOKEN];
    char api_base[DC_MAX_URL];
    char gateway_override[DC_MAX_URL];
    uint32_t intents;
    char *forums[DC_MAX_FORUMS];
    size_t n_forums;
    char *resolved_tags[DC_MAX_FORUMS];
    size_t n_resolved_tags;

    struct dc_gateway gw;

    /* REST */
    struct dc_rest_req *queue; /* FIFO; in-flight requests stay in it until done */
    struct dc_bucket *buckets;
    pb_timer *rest_timer;
    int64_t global_until;     /* after a global 429 */
    int64_t global_sends[50]; /* the last 50 non-exempt requests: 50 per second */
    size_t global_pos;
    int unauthorized; /* a 401: the token is no good, stop using it */

    int started, stopped;
};

#define dc_log(dc, level, ...) (dc)->host->log((dc)->ctx, (level), __VA_ARGS__)

/* discord.c */
void dc_report_connection(struct discord *dc, int up, const char *reason);
void dc_fatal(struct discord *dc, const char *why);
uint32_t dc_random(uint32_t below); /* uniform in [0, below) */

/* discord_rest.c: REST calls through rate-limit buckets. */
struct dc_rest_result {
    int status;  /* HTTP status, 0 when no response */
    int code;    /* Discord's JSON error code, 0 if none */
    cJSON *json; /* the parsed body, or NULL */
    const char *error;
};
typedef void (*dc_rest_fn)(struct discord *dc, void *arg, const struct dc_rest_result *r);
#define DC_REST_NOAUTH 0x1u /* interaction callbacks: the path's token authenticates */
#define DC_REST_URGENT 0x2u /* first in line, outside the global limit */
/* Queues a call; `fn` runs exactly once, later (never from inside dc_rest). `serial`, when
 * given, keeps calls with the same value in order, one at a time (edits of one message). */
int dc_rest(struct discord *dc, const char *method, const char *path, const char *body,
            unsigned flags, const char *serial, dc_rest_fn fn, void *arg);
void dc_rest_init(struct discord *dc);
/* Fails every queued call that has not left yet (their `fn` runs with status 0). */
void dc_rest_cancel(struct discord *dc, const char *why);
void dc_rest_free(struct discord *dc);
size_t dc_rest_pending(const struct discord *dc);

/* discord_gateway.c: the gateway session. */
int dc_gateway_start(struct discord *dc);
void dc_gateway_stop(struct discord *dc);
void dc_gateway_free(struct discord *dc);

/* discord_events.c: dispatches. */
void dc_events_dispatch(struct discord *dc, const char *type, const cJSON *d);
/* An id as a string whether it arrived as a string or (rarely) a number; "" if neither. */
const char *dc_id(const cJSON *item, char *buf, size_t len);

/* discord_render.c: messages as Discord JSON. */
struct dc_buf {
    char *s;
    size_t len, cap;
    int oom;
};
void dc_buf_add(struct dc_buf *b, const char *s, size_t n);
void dc_buf_str(struct dc_buf *b, const char *s);
void dc_escape(struct dc_buf *b, const char *text);
int dc_render_content(const struct pb_message *m, char **out);
cJSON *dc_render_components(const struct pb_message *m, const char **error);
/* The body of a message create or edit: content, components, allowed_mentions {parse: []}
 * (plus users: [mention_user] when the message names one). */
cJSON *dc_render_message(const struct pb_message *m, const char **error);
/* The message's mention_user when it is a snowflake, else NULL. */
const char *dc_mention_user(const struct pb_message *m);
char *dc_truncate(const char *s, size_t max_chars);

/* discord_send.c: the connector's send and update. */
int dc_send(void *self, const struct pb_send *s);
int dc_update(void *self, const struct pb_send *s);
/* A plain message with no buttons (a reply to someone's text). */
void dc_post_notice(struct discord *dc, const char *channel, const char *text);

#endif

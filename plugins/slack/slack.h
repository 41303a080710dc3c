/*
 * The Slack connector's internal interface, shared by its files. Nothing here crosses the
 * module boundary; the daemon sees only pb_plugin_abi and pb_plugin_get.
 *
 * The connector is a Socket Mode app: it needs no public URL. Events and clicks arrive over
 * websockets it opens itself (slack_socket.c, handled in slack_events.c); everything it says
 * goes through the Web API (slack_api.c paces and classifies the calls, slack_send.c posts
 * and updates messages rendered by slack_render.c, slack_users.c looks people up).
 *
 * Connector state in the host's key/value store:
 *   dm/<user id>     the D... channel of the bot's direct conversation with that user
 *   sent/<outbox id> "<ms> <channel>:<ts>": a message already posted for that outbox row, so a
 *                    resend after a lost confirmation reports it instead of posting it again
 *   ev/<event id>    "<ms>": an Events API event whose content the core committed (dedup)
 *   user/<email>     a cached user lookup, as JSON with the time it was fetched
 */
#ifndef SLACK_H
#define SLACK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pulsebot/plugin.h"

#define SK_MAX_CONNECTIONS  10 /* Slack's limit per app */
#define SK_MAX_TOKEN        512
#define SK_MAX_ID           64  /* a Slack id (U..., C..., D...) or a ts */
#define SK_MAX_REF          160 /* "<channel>:<ts>" */
#define SK_HELLO_TIMEOUT_MS 15000
/* How long a replaced link keeps serving after its successor's hello: Slack may still
 * deliver on it (its own grace period is about ten seconds), and a frame already on the way
 * must not be cut off by our close. */
#define SK_DRAIN_MS       3000
#define SK_BACKOFF_MIN_MS 1000
#define SK_BACKOFF_MAX_MS 60000
#define SK_MAX_WAIT_MS    20000 /* longer pacing waits go back to the outbox as a retry */

/* Close codes (RFC 6455). */
#define SK_CLOSE_NORMAL     1000
#define SK_CLOSE_GOING_AWAY 1001

struct slack;
struct slack_slot;

/* One websocket to Slack. Lives from ws_connect to on_close; a link whose connector is gone
 * (sk == NULL) waits for its on_close only to be freed. */
struct slack_link {
    struct slack *sk;
    struct slack_slot *slot;
    struct slack_link *next_all; /* every link of the connector, for stop and destroy */
    pb_ws *ws;
    pb_timer *idle;  /* the hello deadline, then the silence watchdog */
    int open;        /* the websocket is up */
    int hello;       /* Slack said hello: the link counts as up */
    int closing;     /* we closed it on purpose: its end is no failure */
    int dead;        /* we closed it as broken: its end is a failure */
    int replaced;    /* a successor is being opened for it */
    int draining;    /* its successor is up: it serves what still comes, then closes */
    unsigned serial; /* for the log */
};

/* One of the `connections` the connector keeps. During a refresh it has two links: the one
 * that still serves (`cur`) and its successor (`next`), which takes over at its hello. */
struct slack_slot {
    struct slack *sk;
    int index;
    struct slack_link *cur, *next;
    pb_timer *retry;
    unsigned failures; /* consecutive, for the backoff */
    int opening;       /* apps.connections.open in flight */
};

/* Pacing state of one Web API method: a GCRA bucket plus a block after a 429. */
struct slack_method {
    const char *name;
    uint32_t per_minute; /* Slack's tier */
    uint32_t burst;
    int64_t tat;           /* theoretical arrival time, ms */
    int64_t blocked_until; /* from Retry-After */
};

struct slack_pace {
    char channel[SK_MAX_ID];
    int64_t tat;
};

struct slack_call;

/* A click's response_url, kept in memory for the message it came from: Slack lets it replace
 * that message up to five times within 30 minutes, which is what chat.update falls back to
 * (slack_respond.c). Not kept across restarts: it is only a fallback, and a durable write per
 * click would cost more than it saves. */
#define SK_RESPONSE_URLS       64
#define SK_RESPONSE_URL_MAX    512
#define SK_RESPONSE_URL_TTL_MS (29 * 60 * 1000) /* a minute short of Slack's 30 */
#define SK_RESPONSE_URL_USES   5
struct slack_response_url {
    char ref[SK_MAX_REF]; /* "<channel>:<ts>" of the clicked message; "" when the slot is free */
    char url[SK_RESPONSE_URL_MAX];
    int64_t expires_ms;
    int uses_left;
};

struct slack {
    const struct pb_host *host;
    pb_host_ctx *ctx;

    /* options */
    char bot_token[SK_MAX_TOKEN];
    char app_token[SK_MAX_TOKEN];
    char *api_url; /* ends with '/' */
    int n_slots;
    uint32_t idle_timeout_ms;
    int pacing;
    uint32_t channel_interval_ms;
    int64_t user_ttl_ms;
    int debug_reconnects;
    char *reaction;
    char **checkin_channels;
    size_t n_checkin_channels;
    char **agents;
    size_t n_agents;
    char *touchpoint;

    char bot_user[SK_MAX_ID]; /* from auth.test, to ignore our own messages */
    struct slack_slot slots[SK_MAX_CONNECTIONS];
    struct slack_link *links;
    unsigned link_serial;
    int links_up;
    int reported_up;
    int started, stopped, disabled;
    int destroying; /* calls still pending are cancelled; nothing more reaches the host */

    struct slack_method *methods;
    size_t n_methods;
    struct slack_pace *paces;
    size_t n_paces, cap_paces;
    struct slack_call *calls; /* HTTP requests in flight or waiting for their pace */
    pb_timer *prune;
    struct slack_response_url *response_urls; /* SK_RESPONSE_URLS slots, allocated on use */
};

#define sk_log(sk, level, ...) (sk)->host->log((sk)->ctx, (level), __VA_ARGS__)

/* ---- slack_api.c: Web API calls ---- */

enum sk_body { SK_BODY_JSON, SK_BODY_FORM, SK_BODY_QUERY };

/* What an error deserves. */
enum sk_fate {
    SK_FATE_OK = 0,
    SK_FATE_RETRY,       /* transient: try again later (retry_after_ms if known) */
    SK_FATE_UNREACHABLE, /* this recipient or message cannot be reached: do not retry */
    SK_FATE_CONFIG,      /* the app's setup is wrong: tokens, scopes, channel membership */
};

struct sk_reply {
    int status;        /* HTTP status; 0 when none arrived */
    const cJSON *json; /* the parsed body when it was JSON */
    const char *error; /* Slack's error code, or a short transport description */
    enum sk_fate fate;
    uint32_t retry_after_ms;
};

typedef void (*sk_api_done)(void *arg, const struct sk_reply *r);

/* Calls `method` with the bot token (or the app-level token when `app_token`). `body` is a
 * JSON object, form fields or a query string per `kind`; `channel` (or NULL) paces posts per
 * conversation. `done` runs exactly once, later, never inside this call; when the connector
 * is destroyed first it runs then, with error "cancelled". */
int slack_api_call(struct slack *sk, const char *method, enum sk_body kind, const char *body,
                   int app_token, const char *channel, sk_api_done done, void *arg);
/* POSTs `json` to a full URL (a response_url) without the token; unpaced. A 200 without
 * ok:false is success. */
int slack_api_post_url(struct slack *sk, const char *url, const char *json, sk_api_done done,
                       void *arg);
int slack_api_init(struct slack *sk);
void slack_api_destroy(struct slack *sk);
enum sk_fate slack_api_fate(const char *error, int http_status);
/* Appends `s` form-encoded (application/x-www-form-urlencoded) to buf; 0 or PB_ERR_INVALID. */
int slack_api_form_escape(const char *s, char *buf, size_t len);

/* ---- slack_render.c: Block Kit and mrkdwn ---- */

/* Adds "text" and "blocks" for `msg` to a chat.postMessage / chat.update body. */
int slack_render(const struct pb_message *msg, cJSON *body, const char **error);
/* `s` with &, < and > escaped for mrkdwn, valid UTF-8, at most `max` bytes (cut at a
 * character, with an ellipsis). malloc'd; NULL when out of memory. */
char *slack_escape(const char *s, size_t max);
/* Slack's own escaping undone: &amp; &lt; &gt; back to the characters a person typed. */
char *slack_unescape(const char *s, size_t max);

/* ---- slack_send.c: posting and updating ---- */
int slack_send_message(struct slack *sk, const struct pb_send *s);
int slack_update_message(struct slack *sk, const struct pb_send *s);
void slack_ephemeral(struct slack *sk, const char *channel, const char *user, const char *text);

/* ---- slack_respond.c: the response_url fallback ---- */
/* Keeps a click's response_url for the message `ref` (ignored unless it is Slack's, or at the
 * Web API's own origin). */
void slack_response_url_keep(struct slack *sk, const char *ref, const char *url);
/* Replaces the message `ref` through its response_url with `body`'s text and blocks (taken
 * from it). PB_OK when the call was started (`done` follows); PB_ERR_UNKNOWN when there is no
 * usable one: none kept, expired, or its uses spent. */
int slack_response_url_replace(struct slack *sk, const char *ref, cJSON *body, sk_api_done done,
                               void *arg);

/* ---- slack_socket.c: Socket Mode links ---- */
void slack_socket_start(struct slack *sk);
void slack_socket_stop(struct slack *sk);
void slack_socket_destroy(struct slack *sk);
int slack_socket_send(struct slack_link *l, const char *data);

/* ---- slack_events.c: what arrives on a link ---- */
#define SK_FRAME_OTHER      0
#define SK_FRAME_DISCONNECT 1
#define SK_FRAME_HELLO      2
/* Handles one frame: envelopes are passed to the core and acknowledged here; hello and
 * disconnect (with its reason copied out) are left to the link. */
int slack_events_frame(struct slack_link *l, const char *data, size_t len, char *reason,
                       size_t reason_len);

/* ---- slack_users.c ---- */
int slack_lookup_user(struct slack *sk, uint64_t request, const char *email);

/* ---- slack.c helpers ---- */
void slack_send_result(struct slack *sk, uint64_t id, enum pb_send_outcome outcome, const char *ref,
                       uint32_t retry_after_ms, const char *error);
void slack_emit_connection(struct slack *sk, int up, const char *reason);
int slack_list_contains(char *const *list, size_t n, const char *s);
uint32_t slack_jitter(struct slack *sk, uint32_t ms);
/* Deletes keys under `prefix` whose value starts with a time (ms) older than max_age_ms. */
void slack_kv_prune(struct slack *sk, const char *prefix, int64_t max_age_ms);

#endif

/*
 * The pulsebot connector ABI.
 *
 * A connector is a shared module that carries core messages to one chat platform and reports
 * back what people did there. It is transport only: it knows nothing of surveys, scores or
 * teams. The daemon loads it with dlopen(RTLD_NOW | RTLD_LOCAL) and talks to it only through
 * the types in this file.
 *
 * Versioning. The host calls pb_plugin_abi() with the ABI versions it can speak; the module
 * answers with the one it was built for, or a negative number to refuse. Every struct that
 * crosses the boundary starts with a `size` field set by whoever fills it and ends with
 * reserved slots, so a field can be added at the end without a version bump: a reader checks
 * `size` before it touches a field that came later.
 *
 * Threading. Everything runs on the daemon's one event loop thread. No callback may block;
 * a module never creates threads and never touches libwebsockets or curl itself: the host
 * gives it timers, HTTP, websockets, routes on the daemon's HTTP server and a key/value store.
 *
 * Memory. Strings passed into a callback are valid only for that call; copy what you keep.
 */
#ifndef PULSEBOT_PLUGIN_H
#define PULSEBOT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PB_ABI_VERSION 1

/* Return codes shared by the host and connectors: 0 is success, errors are negative. */
enum pb_status {
    PB_OK = 0,
    PB_ERR = -1,           /* generic failure; the log says why */
    PB_ERR_NOMEM = -2,     /* out of memory */
    PB_ERR_INVALID = -3,   /* malformed input */
    PB_ERR_FORGED = -4,    /* a token whose signature does not verify */
    PB_ERR_EXPIRED = -5,   /* a token or a question past its time */
    PB_ERR_NOT_YOURS = -6, /* a valid token used by someone it was not issued to */
    PB_ERR_DONE = -7,      /* already answered or already in that state */
    PB_ERR_UNKNOWN = -8,   /* an unknown person, channel or key */
    PB_ERR_STORE = -9,     /* the store could not commit: do not acknowledge, let them retry */
    PB_ERR_BUSY = -10,     /* rate limited or not ready: retry later */
};

enum pb_log_level { /* syslog / journald priorities */
                    PB_LOG_ERR = 3,
                    PB_LOG_WARNING = 4,
                    PB_LOG_NOTICE = 5,
                    PB_LOG_INFO = 6,
                    PB_LOG_DEBUG = 7,
};

/* ---- Messages: what the core asks a connector to show -------------------------------- */

enum pb_message_kind {
    PB_MESSAGE_TEXT = 0,     /* plain information: a thank-you, a notice */
    PB_MESSAGE_QUESTION = 1, /* a question with choices, or one that wants a text reply */
    PB_MESSAGE_ALERT = 2,    /* an alert for a team, with fields and actions */
};

enum pb_button_style { PB_BUTTON_DEFAULT = 0, PB_BUTTON_PRIMARY = 1, PB_BUTTON_DANGER = 2 };

/* A choice or an action. `token` is opaque and signed by the core: carry it unchanged and
 * hand it back in the event when the button is pressed. */
struct pb_button {
    const char *label;
    const char *token;
    enum pb_button_style style;
};

/* A labelled value shown with a message, such as "Score: 2 of 5". */
struct pb_field {
    const char *label;
    const char *value;
};

#define PB_MESSAGE_EXPECTS_TEXT 0x1u /* a free-text reply is wanted (a placeholder may say so) */
#define PB_MESSAGE_CLOSED       0x2u /* no more input is taken: show it as settled */

/* Every string is plain text, some of it written by people: the connector escapes all of it
 * for its platform's markup, so that no text can mention anyone or inject markup. */
struct pb_message {
    size_t size;
    enum pb_message_kind kind;
    const char *title; /* optional heading */
    const char *text;  /* the body */
    const struct pb_field *fields;
    size_t n_fields;
    const struct pb_button *buttons; /* in order; a scale is its buttons left to right */
    size_t n_buttons;
    const char *low_label;  /* optional: what the first button of a scale means */
    const char *high_label; /* optional: what the last button of a scale means */
    const char *note;       /* optional small print: an alert's state, the answer given */
    uint32_t flags;         /* PB_MESSAGE_* */
    /* Optional: the platform user id of the one person this message should notify (the alert's
     * on-call person or manager, "For: ..."). The connector renders it as that platform's
     * mention of exactly this user and of nobody else; every other text stays escaped. Added in
     * a reserved slot (the struct's size is unchanged): a writer built before it left the slot
     * NULL, and a connector built before it ignores it. */
    const char *mention_user;
    void *reserved[7];
};

enum pb_target_kind { PB_TARGET_PERSON = 0, PB_TARGET_CHANNEL = 1 };

/* One send or update the core asks for. */
struct pb_send {
    size_t size;
    uint64_t id; /* the outbox row: stable across retries and restarts, an idempotency key */
    enum pb_target_kind target_kind;
    const char *target;      /* platform user id or channel address */
    const char *message_ref; /* for an update: the reference the send reported */
    const char *thread_ref;  /* optional: post as a reply in this thread */
    const struct pb_message *message;
    void *reserved[8];
};

enum pb_send_outcome {
    PB_SEND_DONE = 0,          /* delivered; message_ref says where */
    PB_SEND_RETRY = 1,         /* try again after retry_after_ms (0: the host's backoff) */
    PB_SEND_UNREACHABLE = 2,   /* this recipient cannot be reached; do not retry */
    PB_SEND_MISCONFIGURED = 3, /* the connector's setup is wrong; log says why */
};

struct pb_send_result {
    size_t size;
    enum pb_send_outcome outcome;
    const char *message_ref; /* PB_SEND_DONE: the platform's reference, for later updates */
    uint32_t retry_after_ms;
    const char *error; /* human-readable, for the log */
    void *reserved[4];
};

/* ---- Events: what a connector reports back ------------------------------------------- */

enum pb_event_type {
    PB_EVENT_CHOICE = 1,             /* a person pressed a choice button: token */
    PB_EVENT_TEXT = 2,               /* a person wrote in their direct conversation: text */
    PB_EVENT_ACTION = 3,             /* a person pressed an action on an alert: token, text */
    PB_EVENT_INTERACTION_CLOSED = 4, /* a customer interaction ended in chat (see fields) */
    PB_EVENT_CONNECTION = 5,         /* the link to the platform went up or down */
};

struct pb_event {
    size_t size;
    enum pb_event_type type;
    const char *user;         /* the platform user id of who did it */
    const char *user_name;    /* how the platform names them, for display; may be NULL */
    const char *conversation; /* where it happened (DM or channel id); may be NULL */
    const char *message_ref;  /* the message it happened on, if any */
    const char *token;        /* CHOICE, ACTION */
    const char *text;         /* TEXT; ACTION: an optional note */
    int connected;            /* CONNECTION: 1 up, 0 down */
    const char *reason;       /* CONNECTION: why, for the log */
    /* INTERACTION_CLOSED: the customer is `user`, the agent who closed it `agent` */
    const char *interaction_id;
    const char *agent;
    const char *touchpoint;
    void *reserved[8];
};

/* What a platform says about one of its users, in answer to pb_connector.lookup_user. */
struct pb_user_info {
    size_t size;
    const char *user;     /* the platform user id */
    const char *name;     /* display name, or NULL */
    const char *email;    /* or NULL */
    const char *timezone; /* IANA name the platform reports, or NULL */
    const char *locale;   /* such as "en-US", or NULL */
    int is_bot;
    int deleted; /* deactivated or deleted: do not send to them */
    void *reserved[4];
};

/* ---- Host services ------------------------------------------------------------------- */

typedef struct pb_host_ctx pb_host_ctx; /* the host's handle for one connector instance */
typedef struct pb_timer pb_timer;
typedef struct pb_ws pb_ws;           /* an outbound websocket */
typedef struct pb_ws_conn pb_ws_conn; /* an inbound websocket on the daemon's server */

typedef void (*pb_timer_fn)(void *arg);

struct pb_header {
    const char *name;
    const char *value;
};

struct pb_http_request {
    size_t size;
    const char *method; /* "GET", "POST", ... */
    const char *url;    /* https:// only, unless the host allows http for tests */
    const struct pb_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    uint32_t timeout_ms; /* 0: the host's default */
    void *reserved[4];
};

struct pb_http_response {
    size_t size;
    int status; /* HTTP status, or 0 when no response arrived (see error) */
    const char *body;
    size_t body_len;
    const char *error;       /* transport error text, or NULL */
    uint32_t retry_after_ms; /* from a Retry-After header, or 0 */
    const char *(*header)(const struct pb_http_response *, const char *name); /* or NULL */
    void *reserved[4];
};

typedef void (*pb_http_done_fn)(void *arg, const struct pb_http_response *response);

struct pb_ws_client_ops {
    size_t size;
    void (*on_open)(void *arg, pb_ws *ws);
    void (*on_message)(void *arg, pb_ws *ws, const char *data, size_t len);
    /* The link closed or failed. The host does not reconnect by itself: call ws_connect
     * again when the protocol says so, after the delay it wants. */
    void (*on_close)(void *arg, pb_ws *ws, int code, const char *reason);
    void *reserved[4];
};

/* A request arriving at the daemon's HTTP server on a route a connector registered. */
struct pb_server_request {
    size_t size;
    const char *method;
    const char *path;
    const char *query; /* without '?', or "" */
    const char *body;
    size_t body_len;
    const char *peer; /* the client address */
    const char *(*header)(const struct pb_server_request *, const char *name);
    void *reserved[4];
};

/* The connector's answer. `body` is copied by the host before the handler returns. */
struct pb_server_response {
    size_t size;
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
    const char *extra_headers; /* optional "Name: value\r\n" lines */
    void *reserved[4];
};

typedef int (*pb_route_fn)(void *arg, const struct pb_server_request *req,
                           struct pb_server_response *resp);

struct pb_ws_server_ops {
    size_t size;
    /* A client asks to upgrade; return 0 to accept, or an HTTP status (403, 400) to refuse. */
    int (*on_open)(void *arg, pb_ws_conn *conn, const struct pb_server_request *req);
    void (*on_message)(void *arg, pb_ws_conn *conn, const char *data, size_t len);
    void (*on_close)(void *arg, pb_ws_conn *conn);
    size_t max_message; /* larger messages close the connection with 1009 */
    void *reserved[4];
};

struct pb_host {
    size_t size;
    uint32_t abi_version;

    /* Logging: lines are prefixed with the connector's name. Never log a secret. */
    void (*log)(pb_host_ctx *ctx, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
    int (*log_enabled)(pb_host_ctx *ctx, int level);

    /* The connector's own configuration block, already checked against its option table.
     * Strings are valid until the connector is destroyed. */
    const char *(*config_string)(pb_host_ctx *ctx, const char *key);
    int (*config_int)(pb_host_ctx *ctx, const char *key, long long *out); /* 0 if set */
    int (*config_bool)(pb_host_ctx *ctx, const char *key, int *out);      /* 0 if set */
    /* A string list option: the n-th element, or NULL past the end. */
    const char *(*config_list)(pb_host_ctx *ctx, const char *key, size_t n);
    /* A secret named by option `key`: the file it names, or the systemd credential of that
     * name under $CREDENTIALS_DIRECTORY. Trailing newlines are removed. */
    int (*secret)(pb_host_ctx *ctx, const char *key, char *buf, size_t len);

    /* Time: wall clock in milliseconds since the epoch, from the daemon's one clock. */
    int64_t (*now_ms)(pb_host_ctx *ctx);
    pb_timer *(*timer_new)(pb_host_ctx *ctx, pb_timer_fn fn, void *arg);
    void (*timer_arm)(pb_timer *t, uint64_t delay_ms); /* re-arming moves it */
    void (*timer_cancel)(pb_timer *t);
    void (*timer_free)(pb_timer *t);

    /* Asynchronous HTTP client. `done` is called exactly once, later, on the loop. */
    int (*http_request)(pb_host_ctx *ctx, const struct pb_http_request *req, pb_http_done_fn done,
                        void *arg);

    /* Outbound websocket (wss:// or ws://). */
    pb_ws *(*ws_connect)(pb_host_ctx *ctx, const char *url, const struct pb_ws_client_ops *ops,
                         void *arg);
    int (*ws_send)(pb_ws *ws, const char *data, size_t len);
    void (*ws_close)(pb_ws *ws, int code, const char *reason); /* on_close still follows */

    /* Routes on the daemon's HTTP server. A path ending in '/' matches everything below. */
    int (*http_route)(pb_host_ctx *ctx, const char *path, pb_route_fn fn, void *arg);
    int (*ws_route)(pb_host_ctx *ctx, const char *path, const struct pb_ws_server_ops *ops,
                    void *arg);
    int (*ws_conn_send)(pb_ws_conn *conn, const char *data, size_t len);
    void (*ws_conn_close)(pb_ws_conn *conn, int code, const char *reason);
    void (*ws_conn_set_user)(pb_ws_conn *conn, void *user);
    void *(*ws_conn_user)(pb_ws_conn *conn);

    /* Key/value state of this connector, durable in the daemon's store. `*value` from
     * kv_get is malloc'd: free it. kv_scan visits keys with the prefix in key order. */
    int (*kv_get)(pb_host_ctx *ctx, const char *key, char **value);
    int (*kv_put)(pb_host_ctx *ctx, const char *key, const char *value);
    int (*kv_delete)(pb_host_ctx *ctx, const char *key);
    int (*kv_scan)(pb_host_ctx *ctx, const char *prefix,
                   int (*visit)(void *arg, const char *key, const char *value), void *arg);

    /* Report an event. Returns PB_OK once the core has committed what it carries: only then
     * acknowledge it to the platform. On an error, `reply` (if given) receives a short text
     * to show the person, such as "This question was already answered". */
    int (*emit)(pb_host_ctx *ctx, const struct pb_event *ev, char *reply, size_t reply_len);
    /* Finish a send or update the host asked for, exactly once per call of send/update. */
    void (*send_done)(pb_host_ctx *ctx, uint64_t id, const struct pb_send_result *res);

    /* Metrics: a counter named "<connector>_<name>" in the daemon's /metrics. */
    void (*counter_add)(pb_host_ctx *ctx, const char *name, uint64_t n);

    /* For connectors that are their own platform (the web chat): the people who have a
     * handle on this connector, and the channels a handle belongs to. */
    int (*directory_people)(pb_host_ctx *ctx,
                            int (*visit)(void *arg, const char *user, const char *name), void *arg);
    int (*directory_channels)(pb_host_ctx *ctx, const char *user,
                              int (*visit)(void *arg, const char *channel, const char *title),
                              void *arg);
    /* Check a personal link token that pulsebotctl issued for this connector; on success
     * writes the user it names. */
    int (*link_verify)(pb_host_ctx *ctx, const char *token, char *user, size_t user_len);

    /* Finish a lookup_user the host asked for, exactly once per accepted call: PB_OK with
     * `info`, PB_ERR_UNKNOWN when the platform has no such user, PB_ERR_BUSY to be asked
     * again later, another error when it cannot be answered. */
    void (*lookup_done)(pb_host_ctx *ctx, uint64_t request, int status,
                        const struct pb_user_info *info);

    void *reserved[15];
};

/* ---- What a connector provides -------------------------------------------------------- */

enum pb_option_type { PB_OPT_STRING = 1, PB_OPT_INT, PB_OPT_BOOL, PB_OPT_LIST, PB_OPT_SECRET };

/* One key a connector accepts in its configuration block. The host checks the block against
 * this table: an unknown key, a wrong type or a missing required key is a config error with
 * file:line. A PB_OPT_SECRET `x` is given as `x_file = "path"` or `x_credential = "name"`. */
struct pb_option {
    const char *name;
    enum pb_option_type type;
    int required;
    const char *help;
};

struct pb_connector {
    size_t size;
    void *self;
    /* Begin work: connect, register routes. Called once the loop runs. */
    int (*start)(void *self);
    /* Send or update a message. Return PB_OK when accepted and call host->send_done later
     * (it may be called before this returns); a negative return means it was not accepted
     * and send_done will not be called. */
    int (*send)(void *self, const struct pb_send *send);
    int (*update)(void *self, const struct pb_send *send);
    /* Stop taking work and close links; no callbacks arrive after destroy. */
    void (*stop)(void *self);
    void (*destroy)(void *self);
    /* Optional (NULL when the platform cannot): find the user with this email address.
     * Return PB_OK when accepted and call host->lookup_done later with `request`. */
    int (*lookup_user)(void *self, uint64_t request, const char *email);
    void *reserved[7];
};

struct pb_plugin_info {
    size_t size;
    const char *name;                /* the connector's type, as used in the configuration */
    const char *version;             /* the module's own version, for the log */
    const struct pb_option *options; /* terminated by { NULL } */
    /* Create one connector instance. `ctx` is this instance's host handle. */
    int (*create)(const struct pb_host *host, pb_host_ctx *ctx, struct pb_connector *out);
    void *reserved[8];
};

/* Exported by every module. pb_plugin_abi returns the chosen version (one of `offered`) or
 * a negative number; pb_plugin_get returns the module's description for that version. */
int pb_plugin_abi(const uint32_t *offered, size_t n_offered);
const struct pb_plugin_info *pb_plugin_get(uint32_t abi_version);

/* Defines both for a module built for this header's version, exported even when the module
 * hides its other symbols: `PB_PLUGIN_EXPORT(info)` after the module's pb_plugin_info. */
#define PB_PLUGIN_EXPORT(info)                                                                     \
    __attribute__((visibility("default"))) int pb_plugin_abi(const uint32_t *offered,              \
                                                             size_t n_offered)                     \
    {                                                                                              \
        for (size_t i = 0; offered && i < n_offered; i++)                                          \
            if (offered[i] == PB_ABI_VERSION)                                                      \
                return PB_ABI_VERSION;                                                             \
        return -1;                                                                                 \
    }                                                                                              \
    __attribute__((visibility("default"))) const struct pb_plugin_info *pb_plugin_get(             \
        uint32_t abi_version)                                                                      \
    {                                                                                              \
        return abi_version == PB_ABI_VERSION ? &(info) : NULL;                                     \
    }

#ifdef __cplusplus
}
#endif
#endif

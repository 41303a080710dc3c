/*
 * An in-memory struct pb_host for connector unit tests: a connector is created against it and
 * the test plays both the daemon and the platform. Everything the connector does is recorded
 * for the test to inspect, and everything that would come from the outside (HTTP requests to
 * its routes, browser websockets, answers to its HTTP calls, frames on its outbound
 * websockets, timers firing) is driven by the test.
 *
 * - configuration: set per key before create (string, int, bool, list, secret)
 * - time: a wall clock and a manual monotonic clock; mock_advance fires due timers in order
 * - kv: a sorted in-memory map; each operation can be made to fail
 * - routes: recorded; mock_http and mock_ws_open call them as the daemon's server would
 *   (longest match; a path ending in '/' matches everything below it)
 * - inbound websockets: frames the connector sent are kept per connection; a close the
 *   connector asks for is recorded and its on_close delivered when the current mock call ends
 * - outbound HTTP and websockets: recorded, answered by the test
 * - emit: events deep-copied; the return code and reply text are set by the test, and a hook
 *   can act as the core would (for instance call the connector's update from inside emit)
 * - send_done, counters, log lines: recorded
 * - directory and personal links: fed by the test
 *
 * Misuse that the real host would not survive (arming a freed timer, a second done for one
 * outbound request) aborts the test with a message.
 */
#ifndef MOCK_HOST_H
#define MOCK_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "pulsebot/plugin.h"

struct mock_host;
struct mock_ws_conn; /* an inbound websocket: the connector's pb_ws_conn */
struct mock_ws;      /* an outbound websocket: the connector's pb_ws */

struct mock_host *mock_host_new(void);
void mock_host_free(struct mock_host *m);
const struct pb_host *mock_host_api(struct mock_host *m);
pb_host_ctx *mock_host_ctx(struct mock_host *m);

/* Creates a connector from a plugin description against this host. */
int mock_connector_create(struct mock_host *m, const struct pb_plugin_info *info,
                          struct pb_connector *out);
/* Delivers pending closes (on_close of websockets the connector closed). Every mock_* call
 * that runs connector code does this before it returns; call it after calling the connector
 * directly (stop, send) if the test cares. */
void mock_flush(struct mock_host *m);

/* ---- configuration ---- */
void mock_config_string(struct mock_host *m, const char *key, const char *value);
void mock_config_int(struct mock_host *m, const char *key, long long value);
void mock_config_bool(struct mock_host *m, const char *key, int value);
/* A list option from a NULL-terminated array. */
void mock_config_list(struct mock_host *m, const char *key, const char *const *items);
void mock_secret(struct mock_host *m, const char *key, const char *value);

/* ---- time ---- */
void mock_set_now(struct mock_host *m, int64_t wall_ms);
/* Moves both clocks and fires every timer that falls due, in due order. */
void mock_advance(struct mock_host *m, uint64_t ms);
size_t mock_timers_armed(const struct mock_host *m);

/* ---- key/value ---- */
enum mock_kv_op { MOCK_KV_GET, MOCK_KV_PUT, MOCK_KV_DELETE, MOCK_KV_SCAN, MOCK_KV_OPS };
const char *mock_kv_value(const struct mock_host *m, const char *key); /* NULL if absent */
size_t mock_kv_count(const struct mock_host *m, const char *prefix);
void mock_kv_set(struct mock_host *m, const char *key, const char *value);
/* Every later `op` returns `rc` (0 restores normal behaviour). */
void mock_kv_fail(struct mock_host *m, enum mock_kv_op op, int rc);

/* ---- directory and personal links ---- */
void mock_person(struct mock_host *m, const char *user, const char *name);
void mock_channel(struct mock_host *m, const char *user, const char *channel, const char *title);
void mock_directory_fail(struct mock_host *m, int rc);
void mock_link(struct mock_host *m, const char *token, const char *user);
/* link_verify of `token` returns `rc` (PB_ERR_EXPIRED, ...). Unknown tokens: PB_ERR_FORGED. */
void mock_link_error(struct mock_host *m, const char *token, int rc);

/* ---- emit ---- */
struct mock_event {
    int type;
    char *user, *user_name, *conversation, *message_ref, *token, *text;
    int connected;
    char *reason, *interaction_id, *agent, *touchpoint;
};
/* What emit returns from now on, and the reply it writes when rc is an error (or NULL). */
void mock_emit_result(struct mock_host *m, int rc, const char *reply);
/* Called inside emit after the event is recorded, before emit returns. */
void mock_emit_hook(struct mock_host *m, void (*fn)(void *arg, const struct pb_event *ev),
                    void *arg);
size_t mock_event_count(const struct mock_host *m);
const struct mock_event *mock_event(const struct mock_host *m, size_t i);
const struct mock_event *mock_last_event(const struct mock_host *m);

/* ---- send_done ---- */
struct mock_send_done {
    uint64_t id;
    int outcome;
    char *message_ref;
    uint32_t retry_after_ms;
    char *error;
};
size_t mock_send_done_count(const struct mock_host *m);
const struct mock_send_done *mock_send_done(const struct mock_host *m, size_t i);
const struct mock_send_done *mock_last_send_done(const struct mock_host *m);

/* ---- lookup_done ---- */
struct mock_lookup_done {
    uint64_t request;
    int status;
    int found; /* info was given */
    char *user, *name, *email, *timezone, *locale;
    int is_bot, deleted;
};
size_t mock_lookup_done_count(const struct mock_host *m);
const struct mock_lookup_done *mock_lookup_done(const struct mock_host *m, size_t i);

/* ---- routes on the daemon's server ---- */
struct mock_response {
    int rc; /* what the route function returned */
    int status;
    char *content_type;
    char *body;
    size_t body_len;
    char *extra_headers;
};
int mock_http_route_registered(const struct mock_host *m, const char *path);
int mock_ws_route_registered(const struct mock_host *m, const char *path);
/* Calls the route that matches `path` as the server would; 404 when none does. Free `out`
 * with mock_response_free. */
int mock_http(struct mock_host *m, const char *method, const char *path, const char *query,
              const struct pb_header *headers, size_t n_headers, const char *body,
              struct mock_response *out);
void mock_response_free(struct mock_response *r);
/* The value of one "Name: value" line of extra_headers (case-insensitive name), or NULL.
 * Returns a pointer into a static buffer. */
const char *mock_response_header(const struct mock_response *r, const char *name);

/* ---- inbound websockets ---- */
/* A browser asks to upgrade: NULL when no ws route matches or on_open refused; `*status` is
 * then the refusal (404 when unrouted). */
struct mock_ws_conn *mock_ws_open(struct mock_host *m, const char *path,
                                  const struct pb_header *headers, size_t n_headers, int *status);
/* The client sends a text frame. A frame longer than the route's max_message closes the
 * connection with 1009 instead, as the server does. */
void mock_ws_recv(struct mock_ws_conn *c, const char *text);
void mock_ws_recvn(struct mock_ws_conn *c, const char *data, size_t len);
/* The client goes away: on_close. */
void mock_ws_disconnect(struct mock_ws_conn *c);
size_t mock_ws_sent_count(const struct mock_ws_conn *c);
const char *mock_ws_sent(const struct mock_ws_conn *c, size_t i);
/* The next frame the test has not taken yet, or NULL. */
const char *mock_ws_next(struct mock_ws_conn *c);
size_t mock_ws_unread(const struct mock_ws_conn *c);
/* 1 when the connector closed it (code and reason recorded), 0 when open, -1 when the client
 * disconnected. */
int mock_ws_closed(const struct mock_ws_conn *c, int *code);
/* Later ws_conn_send calls on this connection return rc (0 restores). */
void mock_ws_send_fail(struct mock_ws_conn *c, int rc);

/* ---- outbound HTTP ---- */
struct mock_http_call {
    char *method, *url, *body;
    size_t body_len;
    char **headers; /* "Name: value" */
    size_t n_headers;
    uint32_t timeout_ms;
    int answered;
};
size_t mock_http_call_count(const struct mock_host *m);
const struct mock_http_call *mock_http_call(const struct mock_host *m, size_t i);
/* Answers call i: status 0 with `error` for a transport failure. `headers` may be NULL. */
void mock_http_answer(struct mock_host *m, size_t i, int status, const char *body,
                      const struct pb_header *headers, size_t n_headers, uint32_t retry_after_ms,
                      const char *error);
/* http_request returns `rc` from now on (0 restores). */
void mock_http_fail(struct mock_host *m, int rc);

/* ---- outbound websockets ---- */
size_t mock_wsc_count(const struct mock_host *m);
struct mock_ws *mock_wsc(const struct mock_host *m, size_t i);
const char *mock_wsc_url(const struct mock_ws *w);
void mock_wsc_open(struct mock_ws *w);                      /* the link is up: on_open */
void mock_wsc_deliver(struct mock_ws *w, const char *text); /* the platform sends a frame */
void mock_wsc_drop(struct mock_ws *w, int code, const char *reason); /* on_close */
size_t mock_wsc_sent_count(const struct mock_ws *w);
const char *mock_wsc_sent(const struct mock_ws *w, size_t i);
int mock_wsc_closed(const struct mock_ws *w, int *code); /* 1 if the connector closed it */

/* ---- counters and log ---- */
uint64_t mock_counter(const struct mock_host *m, const char *name);
int mock_log_contains(const struct mock_host *m, const char *needle);
size_t mock_log_count(const struct mock_host *m);

#endif

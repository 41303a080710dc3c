/*
 * The web chat connector's internal interface, shared by its files: the instance, one browser
 * connection, and the functions each file gives the others. Nothing here crosses the module
 * boundary; the daemon sees only pb_plugin_abi and pb_plugin_get.
 *
 * The web chat is its own platform: a person opens the page (by a personal link or, in the
 * demo, by picking their name), the page opens a websocket, and conversations live in the
 * connector's key/value state: "dm:<user>" for a person, "room:<channel>" for a team channel.
 */
#ifndef WEBCHAT_H
#define WEBCHAT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pulsebot/plugin.h"

/* Bounds on what the connector accepts and keeps. Users and channels come from the roster;
 * tokens and refs from the browser, which is never trusted. */
#define WC_MAX_ID           128  /* a user id or a channel address, bytes */
#define WC_MAX_CONV         160  /* "room:" + a channel */
#define WC_MAX_KEY          256  /* "m/<conversation>/<id>" */
#define WC_MAX_TOKEN        4096 /* a button token, as the core signs it */
#define WC_MAX_NAME         256  /* a display name */
#define WC_MAX_BAD_FRAMES   20   /* then the connection is closed with 1008 */
#define WC_MAX_PEOPLE_ASKS  5    /* demo "people" requests before hello */
#define WC_FRAME_OVERHEAD   1024 /* room for the JSON around a text of max_message bytes */
#define WC_HELLO_TIMEOUT_MS 30000

/* Close codes (RFC 6455). */
#define WC_CLOSE_GOING_AWAY 1001
#define WC_CLOSE_POLICY     1008
#define WC_CLOSE_INTERNAL   1011

struct wc_conn;

struct webchat {
    const struct pb_host *host;
    pb_host_ctx *ctx;

    /* options */
    int demo_login;
    char **origins; /* allowed Origin values; none: "http://" + Host */
    size_t n_origins;
    char *path; /* ends with '/' */
    char *ws_path, *js_path, *css_path;
    size_t max_message; /* longest text a person may send, bytes */
    size_t history;     /* messages kept per conversation */

    struct pb_ws_server_ops ws_ops;
    struct wc_conn *conns; /* every open websocket, signed in or not */
    int started, stopped;
};

/* One browser tab. Lives from on_open to on_close (or destroy). */
struct wc_conn {
    struct webchat *wc;
    pb_ws_conn *conn;
    struct wc_conn *prev, *next;
    pb_timer *hello_timer;
    int ready;   /* said hello and got a welcome */
    int closing; /* we asked the host to close it; ignore what still arrives */
    int demo;    /* signed in by picking a name */
    unsigned bad_frames;
    unsigned people_asks;
    char user[WC_MAX_ID + 1];
    char name[WC_MAX_NAME + 1];
    char **channels; /* the rooms this person saw at hello */
    size_t n_channels;
};

#define wc_log(wc, level, ...) (wc)->host->log((wc)->ctx, (level), __VA_ARGS__)

/* webchat_text.c: bounded, valid UTF-8 copies of untrusted text. */
char *webchat_text_dup(const char *s, size_t max, int *truncated);
int webchat_text_valid(const char *s, size_t len);
int webchat_id_valid(const char *s);
int webchat_blank(const char *s);

/* webchat_render.c: a core message as the page's JSON. */
int webchat_render(const struct pb_message *msg, const char *conversation, const char *ref,
                   const char *from, int64_t at, cJSON **out, const char **error);
cJSON *webchat_render_user_text(const char *conversation, const char *ref, const char *user,
                                const char *text, int64_t at);

/* webchat_history.c: conversations in the host's key/value store. */
int webchat_conv_for_target(enum pb_target_kind kind, const char *target, char *conv, size_t len);
int webchat_ref_split(const char *ref, char *conv, size_t conv_len);
int webchat_history_add(struct webchat *wc, const char *conv, uint64_t id, const char *value,
                        int *duplicate, int *trimmed);
int webchat_history_add_user(struct webchat *wc, const char *conv, const char *user,
                             const char *text, int64_t at, char **json);
int webchat_history_get(struct webchat *wc, const char *ref, cJSON **out);
int webchat_history_replace(struct webchat *wc, const char *ref, const char *value);
int webchat_history_load(struct webchat *wc, const char *conv, cJSON *array);

/* webchat_page.c: the page and its two assets. */
int webchat_page_register(struct webchat *wc);

/* webchat_ws.c: browser connections. */
void webchat_ws_init(struct webchat *wc);
void webchat_ws_push(struct webchat *wc, const char *conv, const char *json);
void webchat_ws_close_all(struct webchat *wc);
void webchat_ws_free_all(struct webchat *wc);

/* webchat_hello.c: signing in and the welcome. */
int webchat_hello(struct wc_conn *c, const cJSON *frame);
int webchat_people(struct wc_conn *c);

/* webchat_frames.c: what a signed-in person does. */
void webchat_frame(struct wc_conn *c, const cJSON *frame, const char *type);

/* webchat_ws.c helpers the frame handlers use. */
void webchat_ws_send_json(struct wc_conn *c, cJSON *json);
void webchat_ws_error(struct wc_conn *c, const cJSON *id, const char *text);
void webchat_ws_refuse(struct wc_conn *c, int code, const char *text);
void webchat_ws_bad(struct wc_conn *c, const cJSON *id, const char *text);
int webchat_conn_member(const struct wc_conn *c, const char *conv);

#endif

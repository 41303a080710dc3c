/*
 * Shared by the http_server*.c files only: the server and its routes, the request a route sees,
 * and what each file offers the others. http_server.c owns the listening vhost, the protocol
 * callback and plain HTTP; http_server_ws.c the websocket connections; http_server_request.c
 * reading a request out of lws. Nothing outside the http_server module includes this.
 */
#ifndef PB_HTTP_SERVER_INTERNAL_H
#define PB_HTTP_SERVER_INTERNAL_H

#include <stddef.h>

#include <libwebsockets.h>

#include "http_server.h"

struct pb_hs_route {
    char *path;
    size_t len;
    int prefix;
    int ws;
    pb_route_fn fn;
    struct pb_ws_server_ops ops;
    void *arg;
};

struct pb_http_server {
    struct pb_loop *loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct pb_hs_route *routes;
    size_t n_routes;
    size_t max_body;
    int port;
    struct pb_ws_conn *conns; /* accepted websockets, until they close */
    struct pb_http_server *next_live;
};

struct pb_hs_hval;

/* A request as a route sees it, with the header values it asked for. */
struct pb_hs_request {
    struct pb_server_request req;
    struct lws *wsi;
    struct pb_hs_hval *cache;
};

/* http_server_request.c */
void pb_hs_request_init(struct pb_hs_request *sr, struct lws *wsi, const char *method,
                        const char *path, const char *query, const char *body, size_t body_len,
                        const char *peer);
void pb_hs_request_done(struct pb_hs_request *sr); /* frees the cached header values */
char *pb_hs_build_query(struct lws *wsi);          /* NULL only when out of memory */
char *pb_hs_copy_token(struct lws *wsi, enum lws_token_indexes t);
void pb_hs_peer_address(struct lws *wsi, char *buf, size_t len);

/* http_server.c */
struct pb_hs_route *pb_hs_find_route(struct pb_http_server *srv, const char *path, int ws);
void pb_hs_write_error_now(struct lws *wsi, int status, const char *msg);

/* http_server_ws.c: LWS_CALLBACK_HTTP_CONFIRM_UPGRADE (the return value is the callback's) */
int pb_hs_ws_upgrade(struct pb_http_server *srv, struct lws *wsi, const char *in);
/* LWS_CALLBACK_ESTABLISHED, RECEIVE, SERVER_WRITEABLE, CLOSED and WSI_DESTROY */
int pb_hs_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *in, size_t len);
/* pb_http_server_stop: every websocket hears its end and is freed */
void pb_hs_ws_stop(struct pb_http_server *srv);
/* pb_http_server_unroute: the websockets of `arg` close with 1001, without on_close */
void pb_hs_ws_unroute(struct pb_http_server *srv, void *arg);

#endif

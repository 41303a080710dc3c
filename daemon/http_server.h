/*
 * The daemon's HTTP server on libwebsockets: plain HTTP and websockets on one listening port.
 * The core and connectors register routes; requests are read whole (bounded by max_body) and
 * handed to the route's function; websockets get open/message/close callbacks with messages
 * reassembled from fragments (bounded by the route's max_message).
 */
#ifndef PB_HTTP_SERVER_H
#define PB_HTTP_SERVER_H

#include <stddef.h>

#include "pulsebot/plugin.h"

struct pb_loop;
struct pb_http_server;

struct pb_http_server_config {
    const char *listen; /* address, e.g. "127.0.0.1" */
    int port;           /* 0: pick an ephemeral port (tests) */
    size_t max_body;    /* larger request bodies get 413 */
};

int pb_http_server_start(struct pb_loop *loop, const struct pb_http_server_config *cfg,
                         struct pb_http_server **out);
int pb_http_server_port(const struct pb_http_server *srv); /* the port actually bound */
void pb_http_server_stop(struct pb_http_server *srv);

/* A path ending in '/' matches every path below it; otherwise the match is exact. Longest
 * match wins. Unmatched paths get 404. */
int pb_http_server_route(struct pb_http_server *srv, const char *path, pb_route_fn fn, void *arg);
int pb_http_server_ws_route(struct pb_http_server *srv, const char *path,
                            const struct pb_ws_server_ops *ops, void *arg);
/* Drop every route whose arg is `arg` (a connector going away). Its open websockets are
 * closed with 1001 and get no on_close: the connector may already be gone. */
void pb_http_server_unroute(struct pb_http_server *srv, void *arg);

int pb_ws_conn_send(pb_ws_conn *conn, const char *data, size_t len);
void pb_ws_conn_close(pb_ws_conn *conn, int code, const char *reason);
void pb_ws_conn_set_user(pb_ws_conn *conn, void *user);
void *pb_ws_conn_user(pb_ws_conn *conn);

#endif

/*
 * Outbound websockets (ws:// and wss://) on the loop, for connectors whose platform pushes
 * events over a websocket (Slack Socket Mode, the Discord gateway). Messages are reassembled
 * from fragments before on_message. The client does not reconnect by itself: the connector
 * knows its protocol's rules for that.
 */
#ifndef PB_WS_CLIENT_H
#define PB_WS_CLIENT_H

#include <stddef.h>

#include "pulsebot/plugin.h"

struct pb_loop;

/* on_open or on_close follows later, exactly one of them first; on_close always ends it, after
 * which the pb_ws is freed. */
pb_ws *pb_ws_client_connect(struct pb_loop *loop, const char *url,
                            const struct pb_ws_client_ops *ops, void *arg, int allow_plain);
int pb_ws_client_send(pb_ws *ws, const char *data, size_t len); /* queued; text frame */
void pb_ws_client_close(pb_ws *ws, int code, const char *reason);

#endif

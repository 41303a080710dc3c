/*
 * Outbound websockets on the loop's internal vhost ("pb-ws-client"). A pb_ws is the lws
 * client wsi's externally allocated user data; once on_close has run it is detached from the
 * wsi (lws_set_wsi_user(wsi, NULL)) and freed, so a late lws callback finds no user and does
 * nothing. lws may report a failure from inside lws_client_connect_via_info(); such an end is
 * handed to on_close from a 0 us sul, so on_close never runs before connect has returned.
 *
 * Caveat (event loop note 1): lws 4.1 is built without async DNS, so connect resolves the
 * host with a blocking getaddrinfo(). Fine for a handful of connectors; if it ever matters,
 * resolve first and pass a numeric address with the real name kept for TLS.
 *
 * Message reassembly, the send queue and the close that follows it are ws_client_io.c's
 * (net_internal.h), shared with the server's websockets.
 *
 * lws callbacks relied on: LWS_CALLBACK_CLIENT_CONNECTION_ERROR, LWS_CALLBACK_CLIENT_ESTABLISHED,
 * LWS_CALLBACK_CLIENT_RECEIVE (with lws_is_final_fragment; it never returns -1, see fail_rx in
 * ws_client_io.c), LWS_CALLBACK_CLIENT_WRITEABLE (returns -1 after lws_close_reason to close
 * politely), LWS_CALLBACK_WS_PEER_INITIATED_CLOSE, LWS_CALLBACK_CLIENT_CLOSED, and
 * LWS_CALLBACK_WSI_DESTROY as the safety net for a wsi that dies in a state where lws reports
 * neither of the others.
 */
#include "ws_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "log.h"
#include "loop.h"
#include "net_internal.h"

#define MAX_MESSAGE (1024u * 1024) /* larger incoming messages close the link with 1009 */

enum ws_state { WS_CONNECTING, WS_OPEN, WS_DONE };

struct pb_ws {
    struct pb_loop *loop;
    struct lws *wsi;
    struct pb_ws_client_ops ops;
    void *arg;
    enum ws_state state;
    int in_connect;
    /* messages both ways; its close (pb_ws_client_close, or ours: 1009) is what on_close
     * reports */
    struct pb_ws_io io;
    /* from the peer's close frame */
    int remote_close;
    int remote_code;
    char remote_reason[124];
    /* an end that happened inside connect, delivered from `later` */
    int end_code;
    char end_reason[124];
    lws_sorted_usec_list_t later;
    char *url;
    char *path;
    int held;
};

static void ws_free(struct pb_ws *ws)
{
    lws_sul_cancel(&ws->later);
    if (ws->held)
        pb_loop_release(ws->loop);
    pb_ws_io_free(&ws->io);
    free(ws->url);
    free(ws->path);
    free(ws);
}

static void copy_reason(char *dst, size_t cap, const char *src, size_t len)
{
    if (!src)
        len = 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memmove(dst, src, len);
    dst[len] = '\0';
}

static void deliver_end(struct pb_ws *ws)
{
    /* Torn down with the context: the connector that owned this is already gone. */
    if (ws->ops.on_close && !pb_loop_destroying(ws->loop))
        ws->ops.on_close(ws->arg, ws, ws->end_code, ws->end_reason);
    ws_free(ws);
}

static void later_cb(lws_sorted_usec_list_t *sul)
{
    deliver_end(lws_container_of(sul, struct pb_ws, later));
}

/* The one end of a pb_ws. `code`/`reason` describe the transport's view; a local close wins
 * because that is what the connector asked for. */
static void ws_end(struct pb_ws *ws, struct lws *wsi, int code, const char *reason, size_t rlen)
{
    if (ws->state == WS_DONE)
        return;
    ws->state = WS_DONE;
    if (wsi)
        lws_set_wsi_user(wsi, NULL); /* later callbacks of this wsi find no pb_ws */
    ws->wsi = NULL;
    if (ws->io.closing) {
        ws->end_code = ws->io.close_code;
        copy_reason(ws->end_reason, sizeof ws->end_reason, ws->io.close_reason,
                    strlen(ws->io.close_reason));
    } else {
        ws->end_code = code;
        copy_reason(ws->end_reason, sizeof ws->end_reason, reason, rlen);
    }
    if (ws->in_connect)
        lws_sul_schedule(pb_loop_context(ws->loop), 0, &ws->later, later_cb, 0);
    else
        deliver_end(ws);
}

static int on_receive(struct pb_ws *ws, struct lws *wsi, const void *in, size_t len)
{
    if (pb_ws_io_receive(&ws->io, wsi, in, len, MAX_MESSAGE) == 1 && ws->ops.on_message)
        ws->ops.on_message(ws->arg, ws, ws->io.rx, ws->io.rx_len);
    return 0;
}

static int lws_handler(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
    struct pb_ws *ws = user;
    if (!ws || ws->state == WS_DONE)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        ws_end(ws, wsi, 1006, in ? in : "connection failed", in ? strnlen(in, 120) : 17);
        break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws->wsi = wsi;
        ws->state = WS_OPEN;
        if (ws->ops.on_open)
            ws->ops.on_open(ws->arg, ws);
        if (ws->state == WS_OPEN && pb_ws_io_pending(&ws->io))
            lws_callback_on_writable(wsi);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return on_receive(ws, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return pb_ws_io_writeable(&ws->io, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: {
        const unsigned char *p = in;
        ws->remote_close = 1;
        /* RFC 6455 7.1.5: a close frame without a code is reported as 1005 */
        ws->remote_code = len >= 2 ? (p[0] << 8 | p[1]) : 1005;
        copy_reason(ws->remote_reason, sizeof ws->remote_reason, len > 2 ? (const char *)p + 2 : "",
                    len > 2 ? len - 2 : 0);
        return 0; /* lws echoes the close */
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (ws->remote_close)
            ws_end(ws, wsi, ws->remote_code, ws->remote_reason, strlen(ws->remote_reason));
        else
            ws_end(ws, wsi, 1006, "connection lost", 15);
        break;
    case LWS_CALLBACK_WSI_DESTROY:
        ws_end(ws, wsi, 1006, "connection lost", 15);
        break;
    default:
        break;
    }
    return 0;
}

pb_ws *pb_ws_client_connect(struct pb_loop *loop, const char *url,
                            const struct pb_ws_client_ops *ops, void *arg, int allow_plain)
{
    if (!loop || !url || !ops)
        return NULL;
    struct pb_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->loop = loop;
    ws->arg = arg;
    ws->held = 1; /* until on_close: pb_loop_settle waits for it at shutdown */
    pb_loop_hold(loop);
    size_t n = ops->size && ops->size < sizeof ws->ops ? ops->size : sizeof ws->ops;
    memcpy(&ws->ops, ops, n);
    ws->url = strdup(url);
    if (!ws->url)
        goto fail;

    const char *prot, *addr, *path;
    int port;
    if (lws_parse_uri(ws->url, &prot, &addr, &port, &path) || !*addr) {
        pb_warn("ws", "not a websocket URL");
        goto fail;
    }
    int ssl;
    if (strcmp(prot, "wss") == 0) {
        ssl = LCCSCF_USE_SSL; /* verified against the system CA store, SNI and name = host */
    } else if (strcmp(prot, "ws") == 0 && allow_plain) {
        ssl = 0;
    } else {
        pb_warn("ws", "refusing a %s:// websocket URL", prot);
        goto fail;
    }
    size_t plen = strlen(path);
    ws->path = malloc(plen + 2);
    if (!ws->path)
        goto fail;
    ws->path[0] = '/'; /* lws_parse_uri drops the leading '/' */
    memcpy(ws->path + 1, path, plen + 1);

    pb_loop_set_lws_handler(loop, PB_LOOP_PROTO_WS_CLIENT, lws_handler);

    struct lws_client_connect_info info;
    memset(&info, 0, sizeof info);
    info.context = pb_loop_context(loop);
    info.vhost = pb_loop_internal_vhost(loop);
    info.address = addr;
    info.port = port;
    info.ssl_connection = ssl;
    info.path = ws->path;
    info.host = addr;
    info.ietf_version_or_minus_one = -1;
    info.userdata = ws;
    info.local_protocol_name = pb_loop_protocol_name(PB_LOOP_PROTO_WS_CLIENT);
    info.alpn = "http/1.1"; /* a websocket over h2 is not what we want from 4.1 */

    ws->in_connect = 1;
    struct lws *wsi = lws_client_connect_via_info(&info);
    ws->in_connect = 0;
    if (ws->state == WS_DONE)
        return ws; /* ended inside connect: on_close is already scheduled */
    if (!wsi) {
        ws->state = WS_DONE;
        ws->end_code = 1006;
        copy_reason(ws->end_reason, sizeof ws->end_reason, "connect failed", 14);
        lws_sul_schedule(info.context, 0, &ws->later, later_cb, 0);
        return ws;
    }
    ws->wsi = wsi;
    return ws;
fail:
    ws_free(ws);
    return NULL;
}

int pb_ws_client_send(pb_ws *ws, const char *data, size_t len)
{
    if (!ws || (!data && len))
        return PB_ERR_INVALID;
    if (ws->state != WS_OPEN || ws->io.closing || !ws->wsi)
        return PB_ERR;
    int rc = pb_ws_io_queue(&ws->io, data, len);
    if (rc == 0)
        lws_callback_on_writable(ws->wsi);
    return rc;
}

void pb_ws_client_close(pb_ws *ws, int code, const char *reason)
{
    if (!ws || ws->state == WS_DONE || ws->io.closing)
        return;
    pb_ws_io_close(&ws->io, code, reason);
    if (ws->state == WS_OPEN && ws->wsi) {
        lws_callback_on_writable(ws->wsi); /* queued messages go first, then the close */
        return;
    }
    if (ws->wsi) {
        /* Still connecting: abort. lws reports the end (CONNECTION_ERROR or, failing that,
         * WSI_DESTROY), and on_close carries the code asked for here. */
        lws_set_timeout(ws->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        return;
    }
}

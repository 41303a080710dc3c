/*
 * The websocket half of the daemon's HTTP server: upgrades on a websocket route, and the
 * accepted connections (pb_ws_conn) until they close. Message reassembly, the send queue and
 * the close that follows it are ws_client_io.c's (net_internal.h), shared with the client.
 *
 * Lifetimes. A pb_ws_conn hangs off its wsi's opaque user data, which survives the upgrade
 * (lws frees and re-allocates the HTTP pss when it binds the ws role), and sits on its server's
 * list so that pb_http_server_stop and pb_http_server_unroute can reach it.
 *
 * Websocket routes: on_open decides (0 accepts, an HTTP status refuses, and a refused
 * connection hears nothing more). An accepted one gets on_close exactly once: when it closes,
 * or at pb_http_server_stop. pb_http_server_unroute is how a connector goes away, so its
 * websockets close with 1001 and its callbacks stop there, on_close included.
 *
 * A refused upgrade is answered by us and the connection dropped (-1 from CONFIRM_UPGRADE)
 * rather than handed back with >0 for lws to complete the transaction: the shortest way out
 * of lws_handshake_server, whose handling of this callback has a published use after free
 * (CVE-2025-11677; the advisory does not say which path). This one runs clean under ASan and
 * valgrind in our tests, refusals and malformed upgrades included. The refusal's status line
 * is written by hand (pb_hs_write_error_now): see there.
 *
 * lws callbacks relied on (forwarded by http_server.c's protocol callback):
 * LWS_CALLBACK_HTTP_CONFIRM_UPGRADE (the ah is still attached: path, query and headers are
 * readable; we answer a refusal ourselves and return -1 to hang up), LWS_CALLBACK_ESTABLISHED,
 * LWS_CALLBACK_RECEIVE (with lws_is_final_fragment; never returns -1, see fail_rx in
 * ws_client_io.c), LWS_CALLBACK_SERVER_WRITEABLE (returns -1 after lws_close_reason to close
 * politely), LWS_CALLBACK_CLOSED and LWS_CALLBACK_WSI_DESTROY (given to protocols[0], which is
 * this protocol).
 */
#include "http_server_internal.h"

#include <stdlib.h>
#include <strings.h>

#include "net_internal.h"

#define DEFAULT_MAX_MESSAGE (64u * 1024)

struct pb_ws_conn {
    struct pb_http_server *srv;
    struct lws *wsi;
    struct pb_ws_server_ops ops;
    void *arg;
    void *user;
    int established;
    int told; /* on_close delivered: the route is done with this connection */
    struct pb_ws_io io;
    struct pb_ws_conn *prev, *next;
};

static void conn_free(struct pb_ws_conn *c)
{
    pb_ws_io_free(&c->io);
    free(c);
}

static void conn_unlink(struct pb_ws_conn *c)
{
    if (!c->srv)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void conn_tell_closed(struct pb_ws_conn *c)
{
    if (c->told)
        return;
    c->told = 1;
    if (c->ops.on_close)
        c->ops.on_close(c->arg, c);
}

/* The wsi is going away: the last word to the route, then the memory. */
static void conn_release(struct lws *wsi, struct pb_ws_conn *c)
{
    lws_set_opaque_user_data(wsi, NULL);
    conn_tell_closed(c);
    conn_unlink(c);
    conn_free(c);
}

int pb_hs_ws_upgrade(struct pb_http_server *srv, struct lws *wsi, const char *in)
{
    if (!in || strcasecmp(in, "websocket") != 0)
        return -1;
    char *path = pb_hs_copy_token(wsi, WSI_TOKEN_GET_URI);
    char *query = pb_hs_build_query(wsi);
    char peer[64];
    int rc = -1;
    struct pb_ws_conn *c = NULL;
    if (!path || !query)
        goto out;
    pb_hs_peer_address(wsi, peer, sizeof peer);
    struct pb_hs_route *r = pb_hs_find_route(srv, path, 1);
    if (!r) {
        pb_hs_write_error_now(wsi, 404, "not found");
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        goto out;
    c->srv = srv;
    c->wsi = wsi;
    c->ops = r->ops;
    c->arg = r->arg;
    struct pb_hs_request sr;
    pb_hs_request_init(&sr, wsi, "GET", path, query, "", 0, peer);
    int st = c->ops.on_open ? c->ops.on_open(c->arg, c, &sr.req) : 0;
    pb_hs_request_done(&sr);
    if (st != 0) {
        pb_hs_write_error_now(wsi, st >= 400 && st <= 599 ? st : 403, "refused");
        conn_free(c); /* refused: the route gets no on_close */
        c = NULL;
        goto out;
    }
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    lws_set_opaque_user_data(wsi, c);
    rc = 0;
out:
    free(path);
    free(query);
    return rc;
}

static int on_receive(struct lws *wsi, struct pb_ws_conn *c, const void *in, size_t len)
{
    if (c->told)
        return 0;
    size_t max = c->ops.max_message ? c->ops.max_message : DEFAULT_MAX_MESSAGE;
    if (pb_ws_io_receive(&c->io, wsi, in, len, max) == 1 && c->ops.on_message)
        c->ops.on_message(c->arg, c, c->io.rx, c->io.rx_len);
    return 0;
}

int pb_hs_ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *in, size_t len)
{
    struct pb_ws_conn *c = lws_get_opaque_user_data(wsi);

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (!c)
            return -1;
        c->established = 1;
        c->wsi = wsi;
        if (pb_ws_io_pending(&c->io))
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return c ? on_receive(wsi, c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return c ? pb_ws_io_writeable(&c->io, wsi) : -1;
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_WSI_DESTROY:
        if (c)
            conn_release(wsi, c);
        return 0;
    default:
        return 0;
    }
}

void pb_hs_ws_stop(struct pb_http_server *srv)
{
    /* Every websocket hears its end now; the wsis close with the vhost and find no conn. */
    while (srv->conns) {
        struct pb_ws_conn *c = srv->conns;
        conn_unlink(c);
        if (c->wsi)
            lws_set_opaque_user_data(c->wsi, NULL);
        conn_tell_closed(c);
        conn_free(c);
    }
}

void pb_hs_ws_unroute(struct pb_http_server *srv, void *arg)
{
    /* Its websockets close with 1001, and without another word to their owner: unroute is
     * how a connector goes away, and the host may already have destroyed it (plugin.h: no
     * callbacks after destroy). */
    for (struct pb_ws_conn *c = srv->conns; c; c = c->next) {
        if (c->arg != arg || c->told)
            continue;
        c->told = 1;
        pb_ws_conn_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "going away");
    }
}

int pb_ws_conn_send(pb_ws_conn *c, const char *data, size_t len)
{
    if (!c || (!data && len))
        return PB_ERR_INVALID;
    if (c->told || c->io.closing)
        return PB_ERR;
    int rc = pb_ws_io_queue(&c->io, data, len);
    if (rc == 0 && c->established)
        lws_callback_on_writable(c->wsi);
    return rc;
}

void pb_ws_conn_close(pb_ws_conn *c, int code, const char *reason)
{
    if (!c || c->io.closing)
        return;
    pb_ws_io_close(&c->io, code, reason);
    if (c->established)
        lws_callback_on_writable(c->wsi);
}

void pb_ws_conn_set_user(pb_ws_conn *c, void *user)
{
    if (c)
        c->user = user;
}

void *pb_ws_conn_user(pb_ws_conn *c)
{
    return c ? c->user : NULL;
}

/*
 * The daemon's HTTP server: one listening lws vhost whose single protocol serves plain HTTP
 * and websocket upgrades on the same port, dispatching both by path to the routes the core
 * and connectors register. This file owns the vhost, the routes, the protocol callback and
 * plain HTTP: requests are read whole (bounded by max_body) before a route sees them, and
 * responses are copied and written in chunks as the socket takes them. Websocket connections
 * are http_server_ws.c's; reading a request out of lws is http_server_request.c's.
 *
 * Lifetimes. The HTTP per-session data (pss) is lws's and may outlive a transaction on a
 * keep-alive connection, so it is reset at the start and end of each one. The server itself
 * is reached from a wsi through the vhost's user pointer and checked against the list of live
 * servers, so a connection that somehow outlives pb_http_server_stop is closed instead of
 * touching freed memory.
 *
 * lws callbacks relied on: LWS_CALLBACK_HTTP (in = the decoded path),
 * LWS_CALLBACK_HTTP_BODY, LWS_CALLBACK_HTTP_BODY_COMPLETION, LWS_CALLBACK_HTTP_WRITEABLE,
 * LWS_CALLBACK_HTTP_DROP_PROTOCOL, LWS_CALLBACK_CLOSED_HTTP, and LWS_CALLBACK_WSI_DESTROY (given
 * to protocols[0], which is this protocol) to reset the pss. LWS_CALLBACK_HTTP_CONFIRM_UPGRADE,
 * LWS_CALLBACK_ESTABLISHED, LWS_CALLBACK_RECEIVE, LWS_CALLBACK_SERVER_WRITEABLE,
 * LWS_CALLBACK_CLOSED and WSI_DESTROY again are handed to http_server_ws.c.
 */
#include "http_server_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"

#define PROTO_NAME       "pb-http"
#define DEFAULT_MAX_BODY (1024u * 1024)
#define WRITE_CHUNK      (16u * 1024)
/* Bodies a little over max_body are read and dropped so the 413 keeps the connection usable;
 * beyond this the declared length is not worth reading and the connection is dropped. */
#define DISCARD_LIMIT(max) ((max)*4 + 64u * 1024)

/* HTTP per-session data; lws allocates and zeroes it. */
struct pss {
    int busy;
    int responding;
    int close_after;
    int head_only;
    char method[12];
    char *path;
    char *query;
    char peer[64];
    char *body;
    size_t body_len, body_cap;
    int too_big;
    /* the response being written */
    int status;
    char *ctype;
    char *extra;
    unsigned char *out; /* LWS_PRE headroom, then the body */
    size_t out_len, out_off;
    int hdr_sent;
};

static struct pb_http_server *live_servers;

static struct pb_http_server *server_of(struct lws *wsi)
{
    struct lws_vhost *vh = lws_get_vhost(wsi);
    struct pb_http_server *srv = vh ? lws_vhost_user(vh) : NULL;
    for (struct pb_http_server *s = live_servers; s; s = s->next_live)
        if (s == srv)
            return srv;
    return NULL;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void pss_reset(struct pss *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->query);
    free(p->body);
    free(p->ctype);
    free(p->extra);
    free(p->out);
    memset(p, 0, sizeof *p);
}

struct pb_hs_route *pb_hs_find_route(struct pb_http_server *srv, const char *path, int ws)
{
    struct pb_hs_route *best = NULL;
    for (size_t i = 0; i < srv->n_routes; i++) {
        struct pb_hs_route *r = &srv->routes[i];
        if (r->ws != ws)
            continue;
        int hit = r->prefix ? strncmp(path, r->path, r->len) == 0 : strcmp(path, r->path) == 0;
        if (hit && (!best || r->len > best->len))
            best = r;
    }
    return best;
}

/* ---- HTTP responses ----------------------------------------------------------------------- */

static int set_response(struct pss *p, int status, const char *ctype, const char *body, size_t len,
                        const char *extra)
{
    p->status = status >= 100 && status <= 599 ? status : 500;
    p->ctype = strdup(ctype && *ctype ? ctype : "text/plain; charset=utf-8");
    p->extra = extra && *extra ? strdup(extra) : NULL;
    p->out = malloc(LWS_PRE + len + 1);
    if (!p->ctype || (extra && *extra && !p->extra) || !p->out)
        return -1;
    if (len)
        memcpy(p->out + LWS_PRE, body, len);
    p->out_len = p->head_only ? 0 : len;
    p->responding = 1;
    return 0;
}

static int set_error(struct pss *p, int status, const char *msg)
{
    char body[160];
    int n = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    return set_response(p, status, "application/json", body, (size_t)n, NULL);
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return status < 500 ? "Client Error" : "Server Error";
    }
}

/* A refusal written at once, before lws hangs up. The status line is ours: on the upgrade path
 * lws 4.1 has not recorded the request's HTTP version yet and would answer "HTTP/1.0", which
 * websocket clients reject. */
void pb_hs_write_error_now(struct lws *wsi, int status, const char *msg)
{
    char buf[LWS_PRE + 512];
    char *start = buf + LWS_PRE;
    char body[160];
    int bl = snprintf(body, sizeof body, "{\"error\":\"%s\"}", msg);
    int n = snprintf(start, sizeof buf - LWS_PRE,
                     "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                     "content-length: %d\r\nconnection: close\r\n\r\n%s",
                     status, reason_phrase(status), bl, body);
    if (n <= 0 || (size_t)n >= sizeof buf - LWS_PRE)
        return;
    if (lws_write(wsi, (unsigned char *)start, (size_t)n, LWS_WRITE_HTTP_HEADERS) < 0)
        pb_debug("http", "could not write a refusal");
}

static int valid_header_name(const char *s, size_t n)
{
    if (!n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    return 1;
}

/* extra_headers is "Name: value\r\n" lines; a line that does not look like one is dropped. */
static int add_extra_headers(struct lws *wsi, const char *extra, unsigned char **pp,
                             unsigned char *end)
{
    const char *s = extra;
    while (s && *s) {
        const char *eol = strstr(s, "\r\n");
        size_t n = eol ? (size_t)(eol - s) : strlen(s);
        const char *colon = memchr(s, ':', n);
        if (colon && !memchr(s, '\n', n) && !memchr(s, '\r', n) &&
            valid_header_name(s, (size_t)(colon - s))) {
            char name[128];
            size_t nl = (size_t)(colon - s);
            if (nl + 2 <= sizeof name) {
                for (size_t i = 0; i < nl; i++)
                    name[i] = (char)tolower((unsigned char)s[i]);
                name[nl] = ':';
                name[nl + 1] = '\0';
                const char *v = colon + 1;
                while (v < s + n && (*v == ' ' || *v == '\t'))
                    v++;
                if (lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                                (const unsigned char *)v, (int)(s + n - v), pp,
                                                end))
                    return -1;
            }
        }
        s = eol ? eol + 2 : s + n;
    }
    return 0;
}

static int write_headers(struct lws *wsi, struct pss *p)
{
    size_t cap = 1024 + strlen(p->ctype) + (p->extra ? strlen(p->extra) * 2 : 0);
    unsigned char *buf = malloc(LWS_PRE + cap);
    if (!buf)
        return -1;
    unsigned char *start = buf + LWS_PRE, *pp = start, *end = start + cap;
    size_t clen = p->head_only ? 0 : p->out_len;
    int rc = -1;
    if (lws_add_http_common_headers(wsi, (unsigned int)p->status, p->ctype, (lws_filepos_t)clen,
                                    &pp, end))
        goto out;
    if (p->close_after && lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                                       (const unsigned char *)"close", 5, &pp, end))
        goto out;
    if (p->extra && add_extra_headers(wsi, p->extra, &pp, end))
        goto out;
    if (lws_finalize_write_http_header(wsi, start, &pp, end))
        goto out;
    rc = 0;
out:
    free(buf);
    return rc;
}

static int on_http_writeable(struct lws *wsi, struct pss *p)
{
    if (!p || !p->responding)
        return 0;
    if (!p->hdr_sent) {
        if (write_headers(wsi, p))
            return -1;
        p->hdr_sent = 1;
        if (p->out_len) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    if (p->out_off < p->out_len) {
        size_t n = p->out_len - p->out_off;
        if (n > WRITE_CHUNK)
            n = WRITE_CHUNK;
        int last = p->out_off + n == p->out_len;
        /* The LWS_PRE bytes before this chunk are body already sent: lws may scribble there. */
        if (lws_write(wsi, p->out + LWS_PRE + p->out_off, n,
                      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
            return -1;
        p->out_off += n;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    int close_after = p->close_after;
    pss_reset(p);
    if (close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- HTTP requests ------------------------------------------------------------------------ */

static void call_route(struct lws *wsi, struct pss *p, struct pb_hs_route *r)
{
    struct pb_hs_request sr;
    pb_hs_request_init(&sr, wsi, p->method, p->path, p->query, p->body, p->body_len, p->peer);
    struct pb_server_response resp;
    memset(&resp, 0, sizeof resp);
    resp.size = sizeof resp;
    int rc = r->fn(r->arg, &sr.req, &resp);
    pb_hs_request_done(&sr);
    if (rc < 0 && !resp.status) {
        set_error(p, 500, "internal error");
        return;
    }
    if (set_response(p, resp.status ? resp.status : 200, resp.content_type, resp.body,
                     resp.body ? resp.body_len : 0, resp.extra_headers) < 0) {
        free(p->ctype);
        free(p->extra);
        free(p->out);
        p->ctype = p->extra = NULL;
        p->out = NULL;
        set_error(p, 500, "out of memory");
    }
}

static int dispatch(struct pb_http_server *srv, struct lws *wsi, struct pss *p)
{
    struct pb_hs_route *r = pb_hs_find_route(srv, p->path, 0);
    if (r && p->too_big)
        set_error(p, 413, "request body too large");
    else if (r)
        call_route(wsi, p, r);
    else if (pb_hs_find_route(srv, p->path, 1))
        set_error(p, 426, "upgrade required"); /* a websocket route, asked for without one */
    else
        set_error(p, 404, "not found");
    if (!p->responding)
        return -1; /* out of memory even for an error: drop the connection */
    lws_callback_on_writable(wsi);
    return 0;
}

static const char *const method_names[] = {
    [LWSHUMETH_GET] = "GET",         [LWSHUMETH_POST] = "POST",   [LWSHUMETH_OPTIONS] = "OPTIONS",
    [LWSHUMETH_PUT] = "PUT",         [LWSHUMETH_PATCH] = "PATCH", [LWSHUMETH_DELETE] = "DELETE",
    [LWSHUMETH_CONNECT] = "CONNECT", [LWSHUMETH_HEAD] = "HEAD",
};

static int on_http(struct pb_http_server *srv, struct lws *wsi, struct pss *p, const char *in)
{
    pss_reset(p);
    p->busy = 1;
    char *uri;
    int ulen;
    int m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    if (m < 0 || m >= (int)(sizeof method_names / sizeof method_names[0]) || !method_names[m])
        m = -1;
    snprintf(p->method, sizeof p->method, "%s", m >= 0 ? method_names[m] : "?");
    p->head_only = m == LWSHUMETH_HEAD;
    p->path = strdup(in && *in ? in : "/");
    p->query = pb_hs_build_query(wsi);
    if (!p->path || !p->query)
        return -1;
    pb_hs_peer_address(wsi, p->peer, sizeof p->peer);
    if (m < 0) {
        p->close_after = 1;
        set_error(p, 400, "bad request");
        lws_callback_on_writable(wsi);
        return p->responding ? 0 : -1;
    }

    unsigned long long clen = 0;
    char *cl = pb_hs_copy_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        clen = strtoull(cl, &end, 10);
        int bad = errno || *end || cl[0] == '-';
        free(cl);
        if (bad) {
            pb_hs_write_error_now(wsi, 400, "bad content-length");
            return -1;
        }
    }
    if (clen == 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        pb_hs_write_error_now(wsi, 411, "length required");
        return -1;
    }
    if (clen > 0) {
        if (clen > srv->max_body) {
            p->too_big = 1;
            if (clen > DISCARD_LIMIT(srv->max_body)) {
                pb_hs_write_error_now(wsi, 413, "request body too large");
                return -1;
            }
        }
        return 0; /* LWS_CALLBACK_HTTP_BODY... then BODY_COMPLETION dispatches */
    }
    return dispatch(srv, wsi, p);
}

static int on_body(struct pb_http_server *srv, struct pss *p, const void *in, size_t len)
{
    if (!p->busy || p->too_big)
        return 0;
    if (len > srv->max_body - p->body_len) {
        p->too_big = 1; /* keep reading, and dropping, until the end: then 413 */
        free(p->body);
        p->body = NULL;
        p->body_len = p->body_cap = 0;
        return 0;
    }
    if (p->body_len + len + 1 > p->body_cap) {
        size_t cap = p->body_cap ? p->body_cap : 4096;
        while (cap < p->body_len + len + 1)
            cap *= 2;
        char *b = realloc(p->body, cap);
        if (!b)
            return -1;
        p->body = b;
        p->body_cap = cap;
    }
    memcpy(p->body + p->body_len, in, len);
    p->body_len += len;
    p->body[p->body_len] = '\0';
    return 0;
}

/* ---- the protocol callback ---------------------------------------------------------------- */

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct pss *p = user;
    struct pb_http_server *srv;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        srv = server_of(wsi);
        return srv && p ? on_http(srv, wsi, p, in) : -1;
    case LWS_CALLBACK_HTTP_BODY:
        srv = server_of(wsi);
        return srv && p ? on_body(srv, p, in, len) : -1;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        srv = server_of(wsi);
        if (!srv || !p || !p->busy)
            return -1;
        return dispatch(srv, wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return on_http_writeable(wsi, p);
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
    case LWS_CALLBACK_CLOSED_HTTP:
        pss_reset(p);
        return 0;

    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        srv = server_of(wsi);
        return srv ? pb_hs_ws_upgrade(srv, wsi, in) : -1;
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_CLOSED:
        return pb_hs_ws_callback(wsi, reason, in, len);

    case LWS_CALLBACK_WSI_DESTROY:
        /* last callback of every wsi on this vhost: catches what the others did not */
        pb_hs_ws_callback(wsi, reason, in, len);
        pss_reset(p);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols srv_protocols[] = {
    /* first: a websocket upgrade without a subprotocol binds to protocols[0] */
    {PROTO_NAME, srv_cb, sizeof(struct pss), 16384, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- public ------------------------------------------------------------------------------- */

int pb_http_server_start(struct pb_loop *loop, const struct pb_http_server_config *cfg,
                         struct pb_http_server **out)
{
    if (!loop || !cfg || !out || cfg->port < 0 || cfg->port > 65535)
        return PB_ERR_INVALID;
    struct pb_http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return PB_ERR_NOMEM;
    srv->loop = loop;
    srv->ctx = pb_loop_context(loop);
    srv->max_body = cfg->max_body ? cfg->max_body : DEFAULT_MAX_BODY;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = cfg->port;
    info.iface = cfg->listen && *cfg->listen ? cfg->listen : NULL;
    info.protocols = srv_protocols;
    info.vhost_name = "pb-http";
    info.user = srv;
    info.server_string = "pulsebot";
    info.keepalive_timeout = 30;
    info.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    srv->vh = lws_create_vhost(srv->ctx, &info);
    if (!srv->vh) {
        pb_err("http", "could not listen on %s:%d", info.iface ? info.iface : "*", cfg->port);
        free(srv);
        return PB_ERR;
    }
    srv->port = lws_get_vhost_listen_port(srv->vh);
    srv->next_live = live_servers;
    live_servers = srv;
    pb_info("http", "listening on %s:%d", info.iface ? info.iface : "*", srv->port);
    *out = srv;
    return 0;
}

int pb_http_server_port(const struct pb_http_server *srv)
{
    return srv ? srv->port : -1;
}

void pb_http_server_stop(struct pb_http_server *srv)
{
    if (!srv)
        return;
    for (struct pb_http_server **pp = &live_servers; *pp; pp = &(*pp)->next_live)
        if (*pp == srv) {
            *pp = srv->next_live;
            break;
        }
    pb_hs_ws_stop(srv); /* every websocket hears its end now */
    /* Its wsis close now or on a later pass; either way they find no server (server_of) and no
     * conn, so nothing of ours is touched after the free below. No service pass here: it could
     * run other modules' callbacks at a point of shutdown where their owners are gone. */
    lws_vhost_destroy(srv->vh);
    for (size_t i = 0; i < srv->n_routes; i++)
        free(srv->routes[i].path);
    free(srv->routes);
    free(srv);
}

static int add_route(struct pb_http_server *srv, const char *path, int ws, pb_route_fn fn,
                     const struct pb_ws_server_ops *ops, void *arg)
{
    if (!srv || !path || path[0] != '/' || (!ws && !fn) || (ws && !ops))
        return PB_ERR_INVALID;
    for (size_t i = 0; i < srv->n_routes; i++)
        if (srv->routes[i].ws == ws && strcmp(srv->routes[i].path, path) == 0)
            return PB_ERR_DONE;
    struct pb_hs_route *rs = realloc(srv->routes, (srv->n_routes + 1) * sizeof *rs);
    if (!rs)
        return PB_ERR_NOMEM;
    srv->routes = rs;
    struct pb_hs_route *r = &rs[srv->n_routes];
    memset(r, 0, sizeof *r);
    r->path = strdup(path);
    if (!r->path)
        return PB_ERR_NOMEM;
    r->len = strlen(path);
    r->prefix = path[r->len - 1] == '/';
    r->ws = ws;
    r->fn = fn;
    r->arg = arg;
    if (ops) {
        size_t n = ops->size && ops->size < sizeof r->ops ? ops->size : sizeof r->ops;
        memcpy(&r->ops, ops, n);
    }
    srv->n_routes++;
    return 0;
}

int pb_http_server_route(struct pb_http_server *srv, const char *path, pb_route_fn fn, void *arg)
{
    return add_route(srv, path, 0, fn, NULL, arg);
}

int pb_http_server_ws_route(struct pb_http_server *srv, const char *path,
                            const struct pb_ws_server_ops *ops, void *arg)
{
    return add_route(srv, path, 1, NULL, ops, arg);
}

void pb_http_server_unroute(struct pb_http_server *srv, void *arg)
{
    if (!srv)
        return;
    size_t j = 0;
    for (size_t i = 0; i < srv->n_routes; i++) {
        if (srv->routes[i].arg == arg)
            free(srv->routes[i].path);
        else
            srv->routes[j++] = srv->routes[i];
    }
    srv->n_routes = j;
    pb_hs_ws_unroute(srv, arg);
}

/*
 * The daemon's HTTP server: one listening lws vhost whose single protocol serves plain HTTP
 * and websocket upgrades on the same port, dispatching both by path to the routes the core
 * and connectors register. Requests are read whole (bounded by max_body) before a route sees
 * them; responses are copied and written in chunks as the socket takes them; websocket
 * messages are reassembled from fragments (bounded per route).
 *
 * Lifetimes. The HTTP per-session data (pss) is lws's and may outlive a transaction on a
 * keep-alive connection, so it is reset at the start and end of each one. A pb_ws_conn hangs
 * off its wsi's opaque user data, which survives the upgrade (lws frees and re-allocates the
 * pss when it binds the ws role). The server itself is reached from a wsi through the vhost's
 * user pointer and checked against the list of live servers, so a connection that somehow
 * outlives pb_http_server_stop is closed instead of touching freed memory.
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
 * valgrind in our tests, refusals and malformed upgrades included.
 *
 * lws callbacks relied on: LWS_CALLBACK_HTTP (in = the decoded path),
 * LWS_CALLBACK_HTTP_BODY, LWS_CALLBACK_HTTP_BODY_COMPLETION, LWS_CALLBACK_HTTP_WRITEABLE,
 * LWS_CALLBACK_HTTP_DROP_PROTOCOL, LWS_CALLBACK_CLOSED_HTTP, LWS_CALLBACK_HTTP_CONFIRM_UPGRADE
 * (the ah is still attached: path, query and headers are readable; we answer a refusal
 * ourselves and return -1 to hang up), LWS_CALLBACK_ESTABLISHED, LWS_CALLBACK_RECEIVE (with
 * lws_is_final_fragment; never returns -1, see fail_rx), LWS_CALLBACK_SERVER_WRITEABLE (returns
 * -1 after lws_close_reason to close politely), LWS_CALLBACK_CLOSED and
 * LWS_CALLBACK_WSI_DESTROY (given to protocols[0], which is this protocol).
 */
#include "http_server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libwebsockets.h>

#include "log.h"
#include "loop.h"

#define PROTO_NAME          "pb-http"
#define DEFAULT_MAX_BODY    (1024u * 1024)
#define DEFAULT_MAX_MESSAGE (64u * 1024)
#define MAX_WS_QUEUED       (16u * 1024 * 1024)
#define WRITE_CHUNK         (16u * 1024)
/* Bodies a little over max_body are read and dropped so the 413 keeps the connection usable;
 * beyond this the declared length is not worth reading and the connection is dropped. */
#define DISCARD_LIMIT(max) ((max)*4 + 64u * 1024)

struct route {
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
    struct route *routes;
    size_t n_routes;
    size_t max_body;
    int port;
    struct pb_ws_conn *conns;
    struct pb_http_server *next_live;
};

struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE headroom, then the payload */
};

struct pb_ws_conn {
    struct pb_http_server *srv;
    struct lws *wsi;
    struct pb_ws_server_ops ops;
    void *arg;
    void *user;
    int established;
    int told; /* on_close delivered: the route is done with this connection */
    int closing;
    int discard; /* closing because of what came in: drop the rest, send nothing more */
    int close_code;
    char close_reason[124];
    char *rx;
    size_t rx_len, rx_cap;
    int in_msg;
    struct out_msg *q_head, *q_tail;
    size_t queued;
    struct pb_ws_conn *prev, *next;
};

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

/* A request as a route sees it, with the header values it asked for. */
struct hval {
    struct hval *next;
    char *name;
    char *value;
};

struct sreq {
    struct pb_server_request req;
    struct lws *wsi;
    struct hval *cache;
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

static int is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

struct sbuf {
    char *s;
    size_t len, cap;
};

static int sbuf_reserve(struct sbuf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->s, cap);
    if (!p)
        return -1;
    b->s = p;
    b->cap = cap;
    return 0;
}

static int sbuf_putc(struct sbuf *b, char c)
{
    if (sbuf_reserve(b, 1))
        return -1;
    b->s[b->len++] = c;
    b->s[b->len] = '\0';
    return 0;
}

/* lws hands out the query decoded and split at '&'; routes get it re-encoded so that a
 * decoded '&' or '=' inside a value cannot change its meaning. */
static int sbuf_put_encoded(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    if (sbuf_reserve(b, n * 3))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c)) {
            b->s[b->len++] = (char)c;
        } else {
            b->s[b->len++] = '%';
            b->s[b->len++] = hex[c >> 4];
            b->s[b->len++] = hex[c & 15];
        }
    }
    b->s[b->len] = '\0';
    return 0;
}

static char *build_query(struct lws *wsi)
{
    struct sbuf b = {0};
    for (int i = 0; i < 256; i++) {
        /* 0 is both "empty" ("a&&b") and "no such fragment": the copy tells them apart */
        int fl = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (fl < 0)
            break;
        char *frag = malloc((size_t)fl + 1);
        if (!frag)
            break;
        int n = lws_hdr_copy_fragment(wsi, frag, fl + 1, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0) {
            free(frag);
            if (n < 0)
                break;
            continue;
        }
        const char *eq = memchr(frag, '=', (size_t)n);
        size_t nlen = eq ? (size_t)(eq - frag) : (size_t)n;
        int bad =
            (b.len && sbuf_putc(&b, '&')) || sbuf_put_encoded(&b, frag, nlen) ||
            (eq && (sbuf_putc(&b, '=') || sbuf_put_encoded(&b, eq + 1, (size_t)n - nlen - 1)));
        free(frag);
        if (bad)
            break;
    }
    return b.s ? b.s : strdup("");
}

static char *copy_token(struct lws *wsi, enum lws_token_indexes t)
{
    int n = lws_hdr_total_length(wsi, t);
    if (n <= 0)
        return NULL;
    char *v = malloc((size_t)n + 1);
    if (v && lws_hdr_copy(wsi, v, n + 1, t) < 0) {
        free(v);
        v = NULL;
    }
    return v;
}

static char *copy_custom(struct lws *wsi, const char *name, size_t nlen)
{
    char key[128];
    if (nlen + 2 > sizeof key)
        return NULL;
    /* lws keeps unknown header names as the client spelled them, colon included: try the
     * lower-case spelling, then the caller's. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < nlen; i++)
            key[i] = pass ? name[i] : (char)tolower((unsigned char)name[i]);
        key[nlen] = ':';
        key[nlen + 1] = '\0';
        int n = lws_hdr_custom_length(wsi, key, (int)nlen + 1);
        if (n < 0)
            continue;
        char *v = malloc((size_t)n + 1);
        if (v && lws_hdr_custom_copy(wsi, v, n + 1, key, (int)nlen + 1) < 0) {
            free(v);
            v = NULL;
        }
        return v;
    }
    return NULL;
}

static const char *req_header(const struct pb_server_request *r, const char *name)
{
    struct sreq *sr = (struct sreq *)r;
    if (!name || !*name || !sr->wsi)
        return NULL;
    for (struct hval *h = sr->cache; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    size_t nlen = strlen(name);
    char *v = NULL;
    int known = 0;
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *s = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (s && strlen(s) == nlen + 1 && s[nlen] == ':' && strncasecmp(s, name, nlen) == 0) {
            v = copy_token(sr->wsi, (enum lws_token_indexes)t);
            known = 1;
            break;
        }
    }
    if (!known)
        v = copy_custom(sr->wsi, name, nlen);
    if (!v)
        return NULL;
    struct hval *h = calloc(1, sizeof *h);
    if (!h || !(h->name = strdup(name))) {
        free(h);
        free(v);
        return NULL;
    }
    h->value = v;
    h->next = sr->cache;
    sr->cache = h;
    return v;
}

static void sreq_done(struct sreq *sr)
{
    struct hval *h = sr->cache;
    while (h) {
        struct hval *n = h->next;
        free(h->name);
        free(h->value);
        free(h);
        h = n;
    }
    sr->cache = NULL;
}

static void sreq_init(struct sreq *sr, struct lws *wsi, const char *method, const char *path,
                      const char *query, const char *body, size_t body_len, const char *peer)
{
    memset(sr, 0, sizeof *sr);
    sr->wsi = wsi;
    sr->req.size = sizeof sr->req;
    sr->req.method = method;
    sr->req.path = path;
    sr->req.query = query ? query : "";
    sr->req.body = body ? body : "";
    sr->req.body_len = body ? body_len : 0;
    sr->req.peer = peer;
    sr->req.header = req_header;
}

static struct route *find_route(struct pb_http_server *srv, const char *path, int ws)
{
    struct route *best = NULL;
    for (size_t i = 0; i < srv->n_routes; i++) {
        struct route *r = &srv->routes[i];
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

/* lws listens on a dual-stack socket, so IPv4 peers come as "::ffff:a.b.c.d": report those the
 * way people write them. */
static void peer_address(struct lws *wsi, char *buf, size_t len)
{
    if (!lws_get_peer_simple(wsi, buf, len)) {
        buf[0] = '\0';
        return;
    }
    static const char mapped[] = "::ffff:";
    size_t m = sizeof mapped - 1;
    if (strncasecmp(buf, mapped, m) == 0 && strchr(buf + m, '.') && !strchr(buf + m, ':'))
        memmove(buf, buf + m, strlen(buf + m) + 1);
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
static void write_error_now(struct lws *wsi, int status, const char *msg)
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

static void call_route(struct lws *wsi, struct pss *p, struct route *r)
{
    struct sreq sr;
    sreq_init(&sr, wsi, p->method, p->path, p->query, p->body, p->body_len, p->peer);
    struct pb_server_response resp;
    memset(&resp, 0, sizeof resp);
    resp.size = sizeof resp;
    int rc = r->fn(r->arg, &sr.req, &resp);
    sreq_done(&sr);
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
    struct route *r = find_route(srv, p->path, 0);
    if (r && p->too_big)
        set_error(p, 413, "request body too large");
    else if (r)
        call_route(wsi, p, r);
    else if (find_route(srv, p->path, 1))
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
    p->query = build_query(wsi);
    if (!p->path || !p->query)
        return -1;
    peer_address(wsi, p->peer, sizeof p->peer);
    if (m < 0) {
        p->close_after = 1;
        set_error(p, 400, "bad request");
        lws_callback_on_writable(wsi);
        return p->responding ? 0 : -1;
    }

    unsigned long long clen = 0;
    char *cl = copy_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        clen = strtoull(cl, &end, 10);
        int bad = errno || *end || cl[0] == '-';
        free(cl);
        if (bad) {
            write_error_now(wsi, 400, "bad content-length");
            return -1;
        }
    }
    if (clen == 0 && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        write_error_now(wsi, 411, "length required");
        return -1;
    }
    if (clen > 0) {
        if (clen > srv->max_body) {
            p->too_big = 1;
            if (clen > DISCARD_LIMIT(srv->max_body)) {
                write_error_now(wsi, 413, "request body too large");
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

/* ---- websockets --------------------------------------------------------------------------- */

static void conn_free(struct pb_ws_conn *c)
{
    struct out_msg *m = c->q_head;
    while (m) {
        struct out_msg *n = m->next;
        free(m);
        m = n;
    }
    free(c->rx);
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

static int on_upgrade(struct pb_http_server *srv, struct lws *wsi, const char *in)
{
    if (!in || strcasecmp(in, "websocket") != 0)
        return -1;
    char *path = copy_token(wsi, WSI_TOKEN_GET_URI);
    char *query = build_query(wsi);
    char peer[64];
    int rc = -1;
    struct pb_ws_conn *c = NULL;
    if (!path || !query)
        goto out;
    peer_address(wsi, peer, sizeof peer);
    struct route *r = find_route(srv, path, 1);
    if (!r) {
        write_error_now(wsi, 404, "not found");
        goto out;
    }
    c = calloc(1, sizeof *c);
    if (!c)
        goto out;
    c->srv = srv;
    c->wsi = wsi;
    c->ops = r->ops;
    c->arg = r->arg;
    struct sreq sr;
    sreq_init(&sr, wsi, "GET", path, query, "", 0, peer);
    int st = c->ops.on_open ? c->ops.on_open(c->arg, c, &sr.req) : 0;
    sreq_done(&sr);
    if (st != 0) {
        write_error_now(wsi, st >= 400 && st <= 599 ? st : 403, "refused");
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

/* As in ws_client.c: a close decided on receive is sent from SERVER_WRITEABLE, never by
 * returning -1 from RECEIVE in the middle of a frame (lws 4.1 then leaves its rx buffer
 * position unreset and overruns the buffer with the rest of the frame). */
static int fail_rx(struct lws *wsi, struct pb_ws_conn *c, int code, const char *why)
{
    c->discard = 1;
    c->closing = 1;
    c->close_code = code;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", why);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int on_ws_receive(struct lws *wsi, struct pb_ws_conn *c, const void *in, size_t len)
{
    if (c->told || c->discard)
        return 0;
    size_t max = c->ops.max_message ? c->ops.max_message : DEFAULT_MAX_MESSAGE;
    if (!c->in_msg) {
        c->in_msg = 1;
        c->rx_len = 0;
    }
    if (len > max - c->rx_len)
        return fail_rx(wsi, c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
    if (c->rx_len + len + 1 > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : 1024;
        while (cap < c->rx_len + len + 1)
            cap *= 2;
        char *p = realloc(c->rx, cap);
        if (!p)
            return fail_rx(wsi, c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
        c->rx = p;
        c->rx_cap = cap;
    }
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    c->rx[c->rx_len] = '\0';
    if (!lws_is_final_fragment(wsi))
        return 0;
    c->in_msg = 0;
    if (c->ops.on_message)
        c->ops.on_message(c->arg, c, c->rx, c->rx_len);
    return 0;
}

static int on_ws_writeable(struct lws *wsi, struct pb_ws_conn *c)
{
    struct out_msg *m = c->discard ? NULL : c->q_head;
    if (m) {
        c->q_head = m->next;
        if (!c->q_head)
            c->q_tail = NULL;
        c->queued -= m->len;
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        int short_write = n < (int)m->len;
        free(m);
        if (short_write)
            return -1;
        if (c->q_head || c->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->closing) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code,
                         (unsigned char *)c->close_reason, strlen(c->close_reason));
        return -1;
    }
    return 0;
}

/* ---- the protocol callback ---------------------------------------------------------------- */

static int srv_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct pss *p = user;
    struct pb_http_server *srv;
    struct pb_ws_conn *c;

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
        return srv ? on_upgrade(srv, wsi, in) : -1;
    case LWS_CALLBACK_ESTABLISHED:
        c = lws_get_opaque_user_data(wsi);
        if (!c)
            return -1;
        c->established = 1;
        c->wsi = wsi;
        if (c->q_head || c->closing)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        c = lws_get_opaque_user_data(wsi);
        return c ? on_ws_receive(wsi, c, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        c = lws_get_opaque_user_data(wsi);
        return c ? on_ws_writeable(wsi, c) : -1;
    case LWS_CALLBACK_CLOSED:
        c = lws_get_opaque_user_data(wsi);
        if (c)
            conn_release(wsi, c);
        return 0;

    case LWS_CALLBACK_WSI_DESTROY:
        /* last callback of every wsi on this vhost: catches what the others did not */
        c = lws_get_opaque_user_data(wsi);
        if (c)
            conn_release(wsi, c);
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
    /* Every websocket hears its end now; the wsis close with the vhost and find no conn. */
    while (srv->conns) {
        struct pb_ws_conn *c = srv->conns;
        conn_unlink(c);
        if (c->wsi)
            lws_set_opaque_user_data(c->wsi, NULL);
        conn_tell_closed(c);
        conn_free(c);
    }
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
    struct route *rs = realloc(srv->routes, (srv->n_routes + 1) * sizeof *rs);
    if (!rs)
        return PB_ERR_NOMEM;
    srv->routes = rs;
    struct route *r = &rs[srv->n_routes];
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
    if (c->told || c->closing)
        return PB_ERR;
    if (len > MAX_WS_QUEUED - c->queued)
        return PB_ERR_BUSY;
    struct out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return PB_ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    if (len)
        memcpy(m->buf + LWS_PRE, data, len);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    c->queued += len;
    if (c->established)
        lws_callback_on_writable(c->wsi);
    return 0;
}

void pb_ws_conn_close(pb_ws_conn *c, int code, const char *reason)
{
    if (!c || c->closing)
        return;
    c->closing = 1;
    c->close_code = code >= 1000 && code <= 4999 ? code : LWS_CLOSE_STATUS_NORMAL;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
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

/*
 * The in-memory pb_host for connector unit tests (see mock_host.h). Everything is kept in
 * plain arrays owned by the mock and freed by mock_host_free, including closed connections,
 * answered calls and freed timers, so a test can inspect them after the fact and a connector
 * that touches a freed timer is caught with a clear message rather than by chance.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mock_host.h"

#define GROW(arr, n, cap)                                                                          \
    do {                                                                                           \
        if ((n) == (cap)) {                                                                        \
            (cap) = (cap) ? (cap)*2 : 8;                                                           \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                       \
        }                                                                                          \
    } while (0)

struct cfg {
    char *key;
    enum pb_option_type type;
    char *str;
    long long i;
    int b;
    char **list;
    size_t n_list;
};

struct kv {
    char *key, *value;
};

struct mock_timer {
    struct mock_host *m;
    pb_timer_fn fn;
    void *arg;
    int armed, freed;
    uint64_t due, seq;
};

struct route {
    char *path;
    int ws;
    pb_route_fn fn;
    struct pb_ws_server_ops ops;
    void *arg;
};

struct mock_ws_conn {
    struct mock_host *m;
    size_t route; /* an index: the route table may grow while the connector runs */
    void *user;
    char **sent;
    size_t n_sent, cap_sent, read;
    int state; /* 0 open, 1 closed by the connector, -1 gone from the client side, 2 refused */
    int close_code;
    char *close_reason;
    int close_pending;
    int send_rc;
};

struct mock_ws {
    struct mock_host *m;
    char *url;
    struct pb_ws_client_ops ops;
    void *arg;
    char **sent;
    size_t n_sent, cap_sent;
    int state; /* 0 connecting, 1 open, 2 closed by the connector, 3 dropped */
    int close_code;
    char *close_reason;
    int close_pending;
};

struct call {
    struct mock_http_call pub;
    pb_http_done_fn done;
    void *arg;
};

struct person {
    char *user, *name;
};

struct channel {
    char *user, *channel, *title;
};

struct link {
    char *token, *user;
    int rc;
};

struct counter {
    char *name;
    uint64_t n;
};

struct mock_host {
    struct pb_host api; /* first: a pb_host_ctx * is this struct */
    int64_t wall;
    uint64_t mono, timer_seq;

    struct cfg *cfg;
    size_t n_cfg, cap_cfg;
    struct cfg *secrets;
    size_t n_secrets, cap_secrets;

    struct kv *kv;
    size_t n_kv, cap_kv;
    int kv_rc[MOCK_KV_OPS];

    struct mock_timer **timers;
    size_t n_timers, cap_timers;

    struct route *routes;
    size_t n_routes, cap_routes;
    struct mock_ws_conn **conns;
    size_t n_conns, cap_conns;
    struct mock_ws **wsc;
    size_t n_wsc, cap_wsc;
    struct call **calls;
    size_t n_calls, cap_calls;
    int http_rc;

    struct person *people;
    size_t n_people, cap_people;
    struct channel *channels;
    size_t n_channels, cap_channels;
    int directory_rc;
    struct link *links;
    size_t n_links, cap_links;

    struct mock_event *events;
    size_t n_events, cap_events;
    int emit_rc;
    char *emit_reply;
    void (*emit_hook)(void *arg, const struct pb_event *ev);
    void *emit_hook_arg;

    struct mock_send_done *dones;
    size_t n_dones, cap_dones;

    struct mock_lookup_done *lookups;
    size_t n_lookups, cap_lookups;

    struct counter *counters;
    size_t n_counters, cap_counters;
    char **logs;
    size_t n_logs, cap_logs;
    int flushing;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;

    fputs("mock_host: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        die("out of memory");
    return q;
}

static char *xstrdup(const char *s)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        die("out of memory");
    return d;
}

static char *xstrndup(const char *s, size_t n)
{
    char *d = xrealloc(NULL, n + 1);

    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static struct mock_host *M(pb_host_ctx *ctx)
{
    return (struct mock_host *)ctx;
}

/* ---- logging, config, secrets ---- */

static void h_log(pb_host_ctx *ctx, int level, const char *fmt, ...)
{
    struct mock_host *m = M(ctx);
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    GROW(m->logs, m->n_logs, m->cap_logs);
    m->logs[m->n_logs++] = xstrdup(line);
    if (getenv("MOCK_HOST_LOG"))
        fprintf(stderr, "[mock <%d>] %s\n", level, line);
}

static int h_log_enabled(pb_host_ctx *ctx, int level)
{
    return 1;
}

static struct cfg *cfg_find(struct mock_host *m, const char *key, enum pb_option_type type)
{
    for (size_t i = 0; i < m->n_cfg; i++)
        if (strcmp(m->cfg[i].key, key) == 0 && m->cfg[i].type == type)
            return &m->cfg[i];
    return NULL;
}

static struct cfg *cfg_add(struct mock_host *m, const char *key, enum pb_option_type type)
{
    struct cfg *c;

    for (size_t i = 0; i < m->n_cfg; i++)
        if (strcmp(m->cfg[i].key, key) == 0)
            die("config key \"%s\" set twice", key);
    GROW(m->cfg, m->n_cfg, m->cap_cfg);
    c = &m->cfg[m->n_cfg++];
    memset(c, 0, sizeof(*c));
    c->key = xstrdup(key);
    c->type = type;
    return c;
}

static const char *h_config_string(pb_host_ctx *ctx, const char *key)
{
    struct cfg *c = cfg_find(M(ctx), key, PB_OPT_STRING);
    return c ? c->str : NULL;
}

static int h_config_int(pb_host_ctx *ctx, const char *key, long long *out)
{
    struct cfg *c = cfg_find(M(ctx), key, PB_OPT_INT);

    if (!c)
        return PB_ERR_UNKNOWN;
    *out = c->i;
    return 0;
}

static int h_config_bool(pb_host_ctx *ctx, const char *key, int *out)
{
    struct cfg *c = cfg_find(M(ctx), key, PB_OPT_BOOL);

    if (!c)
        return PB_ERR_UNKNOWN;
    *out = c->b;
    return 0;
}

static const char *h_config_list(pb_host_ctx *ctx, const char *key, size_t n)
{
    struct cfg *c = cfg_find(M(ctx), key, PB_OPT_LIST);
    return c && n < c->n_list ? c->list[n] : NULL;
}

static int h_secret(pb_host_ctx *ctx, const char *key, char *buf, size_t len)
{
    struct mock_host *m = M(ctx);

    for (size_t i = 0; i < m->n_secrets; i++) {
        if (strcmp(m->secrets[i].key, key) != 0)
            continue;
        if (strlen(m->secrets[i].str) >= len)
            return PB_ERR_INVALID;
        strcpy(buf, m->secrets[i].str);
        return 0;
    }
    return PB_ERR_UNKNOWN;
}

void mock_config_string(struct mock_host *m, const char *key, const char *value)
{
    cfg_add(m, key, PB_OPT_STRING)->str = xstrdup(value);
}

void mock_config_int(struct mock_host *m, const char *key, long long value)
{
    cfg_add(m, key, PB_OPT_INT)->i = value;
}

void mock_config_bool(struct mock_host *m, const char *key, int value)
{
    cfg_add(m, key, PB_OPT_BOOL)->b = value;
}

void mock_config_list(struct mock_host *m, const char *key, const char *const *items)
{
    struct cfg *c = cfg_add(m, key, PB_OPT_LIST);

    while (items && items[c->n_list])
        c->n_list++;
    c->list = xrealloc(NULL, c->n_list * sizeof(*c->list));
    for (size_t i = 0; i < c->n_list; i++)
        c->list[i] = xstrdup(items[i]);
}

void mock_secret(struct mock_host *m, const char *key, const char *value)
{
    GROW(m->secrets, m->n_secrets, m->cap_secrets);
    memset(&m->secrets[m->n_secrets], 0, sizeof(*m->secrets));
    m->secrets[m->n_secrets].key = xstrdup(key);
    m->secrets[m->n_secrets].str = xstrdup(value);
    m->n_secrets++;
}

/* ---- time ---- */

static int64_t h_now_ms(pb_host_ctx *ctx)
{
    return M(ctx)->wall;
}

static pb_timer *h_timer_new(pb_host_ctx *ctx, pb_timer_fn fn, void *arg)
{
    struct mock_host *m = M(ctx);
    struct mock_timer *t = xrealloc(NULL, sizeof(*t));

    memset(t, 0, sizeof(*t));
    t->m = m;
    t->fn = fn;
    t->arg = arg;
    GROW(m->timers, m->n_timers, m->cap_timers);
    m->timers[m->n_timers++] = t;
    return (pb_timer *)t;
}

static void h_timer_arm(pb_timer *pt, uint64_t delay_ms)
{
    struct mock_timer *t = (struct mock_timer *)pt;

    if (t->freed)
        die("timer_arm on a freed timer");
    t->armed = 1;
    t->due = t->m->mono + delay_ms;
    t->seq = ++t->m->timer_seq;
}

static void h_timer_cancel(pb_timer *pt)
{
    struct mock_timer *t = (struct mock_timer *)pt;

    if (t->freed)
        die("timer_cancel on a freed timer");
    t->armed = 0;
}

static void h_timer_free(pb_timer *pt)
{
    struct mock_timer *t = (struct mock_timer *)pt;

    if (!t)
        return;
    if (t->freed)
        die("timer freed twice");
    t->freed = 1;
    t->armed = 0;
}

void mock_set_now(struct mock_host *m, int64_t wall_ms)
{
    m->wall = wall_ms;
}

void mock_advance(struct mock_host *m, uint64_t ms)
{
    uint64_t target = m->mono + ms;

    for (;;) {
        struct mock_timer *next = NULL;
        for (size_t i = 0; i < m->n_timers; i++) {
            struct mock_timer *t = m->timers[i];
            if (t->armed && t->due <= target &&
                (!next || t->due < next->due || (t->due == next->due && t->seq < next->seq)))
                next = t;
        }
        if (!next)
            break;
        m->wall += (int64_t)(next->due - m->mono);
        m->mono = next->due;
        next->armed = 0;
        next->fn(next->arg);
        mock_flush(m);
    }
    m->wall += (int64_t)(target - m->mono);
    m->mono = target;
}

size_t mock_timers_armed(const struct mock_host *m)
{
    size_t n = 0;

    for (size_t i = 0; i < m->n_timers; i++)
        n += m->timers[i]->armed != 0;
    return n;
}

/* ---- key/value ---- */

static size_t kv_pos(const struct mock_host *m, const char *key, int *found)
{
    size_t lo = 0, hi = m->n_kv;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->kv[mid].key, key);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

const char *mock_kv_value(const struct mock_host *m, const char *key)
{
    int found;
    size_t i = kv_pos(m, key, &found);
    return found ? m->kv[i].value : NULL;
}

size_t mock_kv_count(const struct mock_host *m, const char *prefix)
{
    size_t n = 0, len = strlen(prefix);

    for (size_t i = 0; i < m->n_kv; i++)
        n += strncmp(m->kv[i].key, prefix, len) == 0;
    return n;
}

void mock_kv_set(struct mock_host *m, const char *key, const char *value)
{
    int found;
    size_t i = kv_pos(m, key, &found);

    if (found) {
        free(m->kv[i].value);
        m->kv[i].value = xstrdup(value);
        return;
    }
    GROW(m->kv, m->n_kv, m->cap_kv);
    memmove(&m->kv[i + 1], &m->kv[i], (m->n_kv - i) * sizeof(*m->kv));
    m->kv[i].key = xstrdup(key);
    m->kv[i].value = xstrdup(value);
    m->n_kv++;
}

void mock_kv_fail(struct mock_host *m, enum mock_kv_op op, int rc)
{
    m->kv_rc[op] = rc;
}

static int h_kv_get(pb_host_ctx *ctx, const char *key, char **value)
{
    struct mock_host *m = M(ctx);
    const char *v;

    *value = NULL;
    if (m->kv_rc[MOCK_KV_GET])
        return m->kv_rc[MOCK_KV_GET];
    v = mock_kv_value(m, key);
    if (!v)
        return PB_ERR_UNKNOWN;
    *value = xstrdup(v);
    return 0;
}

static int h_kv_put(pb_host_ctx *ctx, const char *key, const char *value)
{
    struct mock_host *m = M(ctx);

    if (m->kv_rc[MOCK_KV_PUT])
        return m->kv_rc[MOCK_KV_PUT];
    mock_kv_set(m, key, value);
    return 0;
}

static int h_kv_delete(pb_host_ctx *ctx, const char *key)
{
    struct mock_host *m = M(ctx);
    int found;
    size_t i;

    if (m->kv_rc[MOCK_KV_DELETE])
        return m->kv_rc[MOCK_KV_DELETE];
    i = kv_pos(m, key, &found);
    if (!found)
        return PB_ERR_UNKNOWN;
    free(m->kv[i].key);
    free(m->kv[i].value);
    memmove(&m->kv[i], &m->kv[i + 1], (m->n_kv - i - 1) * sizeof(*m->kv));
    m->n_kv--;
    return 0;
}

/* Visits a snapshot, so a visitor may change the store. A nonzero visit stops the scan. */
static int h_kv_scan(pb_host_ctx *ctx, const char *prefix,
                     int (*visit)(void *arg, const char *key, const char *value), void *arg)
{
    struct mock_host *m = M(ctx);
    size_t len = strlen(prefix), n = 0;
    struct kv *snap;

    if (m->kv_rc[MOCK_KV_SCAN])
        return m->kv_rc[MOCK_KV_SCAN];
    snap = xrealloc(NULL, (m->n_kv ? m->n_kv : 1) * sizeof(*snap));
    for (size_t i = 0; i < m->n_kv; i++) {
        if (strncmp(m->kv[i].key, prefix, len) == 0) {
            snap[n].key = xstrdup(m->kv[i].key);
            snap[n].value = xstrdup(m->kv[i].value);
            n++;
        }
    }
    for (size_t i = 0, stop = 0; i < n; i++) {
        if (!stop)
            stop = visit(arg, snap[i].key, snap[i].value) != 0;
        free(snap[i].key);
        free(snap[i].value);
    }
    free(snap);
    return 0;
}

/* ---- routes ---- */

static int h_http_route(pb_host_ctx *ctx, const char *path, pb_route_fn fn, void *arg)
{
    struct mock_host *m = M(ctx);
    struct route *r;

    if (!path || path[0] != '/')
        return PB_ERR_INVALID;
    for (size_t i = 0; i < m->n_routes; i++)
        if (!m->routes[i].ws && strcmp(m->routes[i].path, path) == 0)
            return PB_ERR_DONE;
    GROW(m->routes, m->n_routes, m->cap_routes);
    r = &m->routes[m->n_routes++];
    memset(r, 0, sizeof(*r));
    r->path = xstrdup(path);
    r->fn = fn;
    r->arg = arg;
    return 0;
}

static int h_ws_route(pb_host_ctx *ctx, const char *path, const struct pb_ws_server_ops *ops,
                      void *arg)
{
    struct mock_host *m = M(ctx);
    struct route *r;

    if (!path || path[0] != '/' || !ops)
        return PB_ERR_INVALID;
    for (size_t i = 0; i < m->n_routes; i++)
        if (m->routes[i].ws && strcmp(m->routes[i].path, path) == 0)
            return PB_ERR_DONE;
    GROW(m->routes, m->n_routes, m->cap_routes);
    r = &m->routes[m->n_routes++];
    memset(r, 0, sizeof(*r));
    r->path = xstrdup(path);
    r->ws = 1;
    memcpy(&r->ops, ops, ops->size < sizeof(r->ops) ? ops->size : sizeof(r->ops));
    r->arg = arg;
    return 0;
}

/* Longest match; a route ending in '/' matches everything below it. Index, or -1. */
static long route_match(const struct mock_host *m, const char *path, int ws)
{
    long best = -1;
    size_t best_len = 0;

    for (size_t i = 0; i < m->n_routes; i++) {
        const struct route *r = &m->routes[i];
        size_t len = strlen(r->path);
        int match = strcmp(r->path, path) == 0 ||
                    (r->path[len - 1] == '/' && strncmp(r->path, path, len) == 0);
        if (r->ws == ws && match && (best < 0 || len > best_len)) {
            best = (long)i;
            best_len = len;
        }
    }
    return best;
}

int mock_http_route_registered(const struct mock_host *m, const char *path)
{
    for (size_t i = 0; i < m->n_routes; i++)
        if (!m->routes[i].ws && strcmp(m->routes[i].path, path) == 0)
            return 1;
    return 0;
}

int mock_ws_route_registered(const struct mock_host *m, const char *path)
{
    for (size_t i = 0; i < m->n_routes; i++)
        if (m->routes[i].ws && strcmp(m->routes[i].path, path) == 0)
            return 1;
    return 0;
}

struct request {
    struct pb_server_request req; /* first: the header callback gets this struct back */
    const struct pb_header *headers;
    size_t n_headers;
};

static const char *req_header(const struct pb_server_request *req, const char *name)
{
    const struct request *r = (const struct request *)req;

    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static void request_init(struct request *r, const char *method, const char *path, const char *query,
                         const struct pb_header *headers, size_t n_headers, const char *body)
{
    memset(r, 0, sizeof(*r));
    r->req.size = sizeof(r->req);
    r->req.method = method;
    r->req.path = path;
    r->req.query = query ? query : "";
    r->req.body = body;
    r->req.body_len = body ? strlen(body) : 0;
    r->req.peer = "127.0.0.1";
    r->req.header = req_header;
    r->headers = headers;
    r->n_headers = n_headers;
}

int mock_http(struct mock_host *m, const char *method, const char *path, const char *query,
              const struct pb_header *headers, size_t n_headers, const char *body,
              struct mock_response *out)
{
    struct pb_server_response resp = {.size = sizeof(resp)};
    struct request req;
    long i = route_match(m, path, 0);

    memset(out, 0, sizeof(*out));
    if (i < 0) {
        out->status = 404;
        return 404;
    }
    request_init(&req, method, path, query, headers, n_headers, body);
    out->rc = m->routes[i].fn(m->routes[i].arg, &req.req, &resp);
    out->status = resp.status;
    out->content_type = xstrdup(resp.content_type);
    out->body_len = resp.body ? resp.body_len : 0;
    out->body = xstrndup(resp.body ? resp.body : "", out->body_len);
    out->extra_headers = xstrdup(resp.extra_headers);
    mock_flush(m);
    return out->status;
}

void mock_response_free(struct mock_response *r)
{
    free(r->content_type);
    free(r->body);
    free(r->extra_headers);
    memset(r, 0, sizeof(*r));
}

const char *mock_response_header(const struct mock_response *r, const char *name)
{
    static char value[2048];
    size_t nlen = strlen(name);
    const char *p = r->extra_headers;

    while (p && *p) {
        const char *end = strstr(p, "\r\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ')
                v++;
            len -= (size_t)(v - p);
            if (len >= sizeof(value))
                len = sizeof(value) - 1;
            memcpy(value, v, len);
            value[len] = '\0';
            return value;
        }
        p = end ? end + 2 : NULL;
    }
    return NULL;
}

/* ---- inbound websockets ---- */

static int h_ws_conn_send(pb_ws_conn *pc, const char *data, size_t len)
{
    struct mock_ws_conn *c = (struct mock_ws_conn *)pc;

    if (c->state != 0)
        return PB_ERR;
    if (c->send_rc)
        return c->send_rc;
    GROW(c->sent, c->n_sent, c->cap_sent);
    c->sent[c->n_sent++] = xstrndup(data, len);
    return 0;
}

static void h_ws_conn_close(pb_ws_conn *pc, int code, const char *reason)
{
    struct mock_ws_conn *c = (struct mock_ws_conn *)pc;

    if (c->state != 0)
        return;
    c->state = 1;
    c->close_code = code;
    c->close_reason = xstrdup(reason);
    c->close_pending = 1;
}

static void h_ws_conn_set_user(pb_ws_conn *pc, void *user)
{
    ((struct mock_ws_conn *)pc)->user = user;
}

static void *h_ws_conn_user(pb_ws_conn *pc)
{
    return ((struct mock_ws_conn *)pc)->user;
}

struct mock_ws_conn *mock_ws_open(struct mock_host *m, const char *path,
                                  const struct pb_header *headers, size_t n_headers, int *status)
{
    struct mock_ws_conn *c;
    struct request req;
    long i = route_match(m, path, 1);
    int rc;

    if (i < 0) {
        *status = 404;
        return NULL;
    }
    c = xrealloc(NULL, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->m = m;
    c->route = (size_t)i;
    GROW(m->conns, m->n_conns, m->cap_conns);
    m->conns[m->n_conns++] = c;
    request_init(&req, "GET", path, "", headers, n_headers, NULL);
    rc = m->routes[i].ops.on_open(m->routes[i].arg, (pb_ws_conn *)c, &req.req);
    *status = rc;
    if (rc != 0) {
        c->state = 2;
        mock_flush(m);
        return NULL;
    }
    mock_flush(m);
    return c;
}

static struct route *conn_route(struct mock_ws_conn *c)
{
    return &c->m->routes[c->route];
}

void mock_ws_recvn(struct mock_ws_conn *c, const char *data, size_t len)
{
    struct route *r;

    if (c->state != 0)
        return; /* a server drops what arrives after it closed */
    r = conn_route(c);
    if (r->ops.max_message && len > r->ops.max_message) {
        c->state = 1;
        c->close_code = 1009;
        c->close_reason = xstrdup("message too big");
        c->close_pending = 1;
    } else {
        r->ops.on_message(r->arg, (pb_ws_conn *)c, data, len);
    }
    mock_flush(c->m);
}

void mock_ws_recv(struct mock_ws_conn *c, const char *text)
{
    mock_ws_recvn(c, text, strlen(text));
}

void mock_ws_disconnect(struct mock_ws_conn *c)
{
    if (c->state == 0) {
        struct route *r = conn_route(c);
        c->state = -1;
        r->ops.on_close(r->arg, (pb_ws_conn *)c);
    }
    mock_flush(c->m);
}

size_t mock_ws_sent_count(const struct mock_ws_conn *c)
{
    return c->n_sent;
}

const char *mock_ws_sent(const struct mock_ws_conn *c, size_t i)
{
    return i < c->n_sent ? c->sent[i] : NULL;
}

const char *mock_ws_next(struct mock_ws_conn *c)
{
    return c->read < c->n_sent ? c->sent[c->read++] : NULL;
}

size_t mock_ws_unread(const struct mock_ws_conn *c)
{
    return c->n_sent - c->read;
}

int mock_ws_closed(const struct mock_ws_conn *c, int *code)
{
    if (code)
        *code = c->close_code;
    return c->state == 1 ? 1 : c->state == -1 ? -1 : 0;
}

void mock_ws_send_fail(struct mock_ws_conn *c, int rc)
{
    c->send_rc = rc;
}

/* ---- outbound HTTP ---- */

static int h_http_request(pb_host_ctx *ctx, const struct pb_http_request *req, pb_http_done_fn done,
                          void *arg)
{
    struct mock_host *m = M(ctx);
    struct call *c;

    if (m->http_rc)
        return m->http_rc;
    if (!req || !req->url || !done)
        return PB_ERR_INVALID;
    c = xrealloc(NULL, sizeof(*c));
    memset(c, 0, sizeof(*c));
    c->pub.method = xstrdup(req->method ? req->method : "GET");
    c->pub.url = xstrdup(req->url);
    c->pub.body_len = req->body ? req->body_len : 0;
    c->pub.body = xstrndup(req->body ? req->body : "", c->pub.body_len);
    c->pub.n_headers = req->headers ? req->n_headers : 0;
    c->pub.headers = xrealloc(NULL, (c->pub.n_headers + 1) * sizeof(char *));
    for (size_t i = 0; i < c->pub.n_headers; i++) {
        size_t len = strlen(req->headers[i].name) + strlen(req->headers[i].value) + 3;
        c->pub.headers[i] = xrealloc(NULL, len);
        snprintf(c->pub.headers[i], len, "%s: %s", req->headers[i].name, req->headers[i].value);
    }
    c->pub.timeout_ms = req->timeout_ms;
    c->done = done;
    c->arg = arg;
    GROW(m->calls, m->n_calls, m->cap_calls);
    m->calls[m->n_calls++] = c;
    return 0;
}

size_t mock_http_call_count(const struct mock_host *m)
{
    return m->n_calls;
}

const struct mock_http_call *mock_http_call(const struct mock_host *m, size_t i)
{
    return i < m->n_calls ? &m->calls[i]->pub : NULL;
}

struct response {
    struct pb_http_response resp; /* first, as in struct request */
    const struct pb_header *headers;
    size_t n_headers;
};

static const char *resp_header(const struct pb_http_response *resp, const char *name)
{
    const struct response *r = (const struct response *)resp;

    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

void mock_http_answer(struct mock_host *m, size_t i, int status, const char *body,
                      const struct pb_header *headers, size_t n_headers, uint32_t retry_after_ms,
                      const char *error)
{
    struct response r = {0};
    struct call *c;

    if (i >= m->n_calls)
        die("no outbound HTTP call %zu", i);
    c = m->calls[i];
    if (c->pub.answered)
        die("outbound HTTP call %zu answered twice", i);
    c->pub.answered = 1;
    r.resp.size = sizeof(r.resp);
    r.resp.status = status;
    r.resp.body = body ? body : "";
    r.resp.body_len = body ? strlen(body) : 0;
    r.resp.error = error;
    r.resp.retry_after_ms = retry_after_ms;
    r.resp.header = resp_header;
    r.headers = headers;
    r.n_headers = n_headers;
    c->done(c->arg, &r.resp);
    mock_flush(m);
}

void mock_http_fail(struct mock_host *m, int rc)
{
    m->http_rc = rc;
}

/* ---- outbound websockets ---- */

static pb_ws *h_ws_connect(pb_host_ctx *ctx, const char *url, const struct pb_ws_client_ops *ops,
                           void *arg)
{
    struct mock_host *m = M(ctx);
    struct mock_ws *w;

    if (!url || !ops)
        return NULL;
    w = xrealloc(NULL, sizeof(*w));
    memset(w, 0, sizeof(*w));
    w->m = m;
    w->url = xstrdup(url);
    memcpy(&w->ops, ops, ops->size < sizeof(w->ops) ? ops->size : sizeof(w->ops));
    w->arg = arg;
    GROW(m->wsc, m->n_wsc, m->cap_wsc);
    m->wsc[m->n_wsc++] = w;
    return (pb_ws *)w;
}

static int h_ws_send(pb_ws *pw, const char *data, size_t len)
{
    struct mock_ws *w = (struct mock_ws *)pw;

    if (w->state != 1)
        return PB_ERR;
    GROW(w->sent, w->n_sent, w->cap_sent);
    w->sent[w->n_sent++] = xstrndup(data, len);
    return 0;
}

static void h_ws_close(pb_ws *pw, int code, const char *reason)
{
    struct mock_ws *w = (struct mock_ws *)pw;

    if (w->state >= 2)
        return;
    w->state = 2;
    w->close_code = code;
    w->close_reason = xstrdup(reason);
    w->close_pending = 1;
}

size_t mock_wsc_count(const struct mock_host *m)
{
    return m->n_wsc;
}

struct mock_ws *mock_wsc(const struct mock_host *m, size_t i)
{
    return i < m->n_wsc ? m->wsc[i] : NULL;
}

const char *mock_wsc_url(const struct mock_ws *w)
{
    return w->url;
}

void mock_wsc_open(struct mock_ws *w)
{
    if (w->state != 0)
        die("mock_wsc_open on a websocket that is not connecting");
    w->state = 1;
    if (w->ops.on_open)
        w->ops.on_open(w->arg, (pb_ws *)w);
    mock_flush(w->m);
}

void mock_wsc_deliver(struct mock_ws *w, const char *text)
{
    if (w->state != 1)
        die("mock_wsc_deliver on a websocket that is not open");
    w->ops.on_message(w->arg, (pb_ws *)w, text, strlen(text));
    mock_flush(w->m);
}

void mock_wsc_drop(struct mock_ws *w, int code, const char *reason)
{
    if (w->state >= 2)
        return;
    w->state = 3;
    w->close_code = code;
    if (w->ops.on_close)
        w->ops.on_close(w->arg, (pb_ws *)w, code, reason);
    mock_flush(w->m);
}

size_t mock_wsc_sent_count(const struct mock_ws *w)
{
    return w->n_sent;
}

const char *mock_wsc_sent(const struct mock_ws *w, size_t i)
{
    return i < w->n_sent ? w->sent[i] : NULL;
}

int mock_wsc_closed(const struct mock_ws *w, int *code)
{
    if (code)
        *code = w->close_code;
    return w->state == 2;
}

/* ---- emit, send_done, counters ---- */

static int h_emit(pb_host_ctx *ctx, const struct pb_event *ev, char *reply, size_t reply_len)
{
    struct mock_host *m = M(ctx);
    struct mock_event *e;

    if (!ev || ev->size < offsetof(struct pb_event, reserved))
        die("emit with a missing or short event");
    GROW(m->events, m->n_events, m->cap_events);
    e = &m->events[m->n_events++];
    e->type = ev->type;
    e->user = xstrdup(ev->user);
    e->user_name = xstrdup(ev->user_name);
    e->conversation = xstrdup(ev->conversation);
    e->message_ref = xstrdup(ev->message_ref);
    e->token = xstrdup(ev->token);
    e->text = xstrdup(ev->text);
    e->connected = ev->connected;
    e->reason = xstrdup(ev->reason);
    e->interaction_id = xstrdup(ev->interaction_id);
    e->agent = xstrdup(ev->agent);
    e->touchpoint = xstrdup(ev->touchpoint);
    if (m->emit_hook)
        m->emit_hook(m->emit_hook_arg, ev);
    if (m->emit_rc && reply && reply_len && m->emit_reply)
        snprintf(reply, reply_len, "%s", m->emit_reply);
    return m->emit_rc;
}

void mock_emit_result(struct mock_host *m, int rc, const char *reply)
{
    m->emit_rc = rc;
    free(m->emit_reply);
    m->emit_reply = xstrdup(reply);
}

void mock_emit_hook(struct mock_host *m, void (*fn)(void *arg, const struct pb_event *ev),
                    void *arg)
{
    m->emit_hook = fn;
    m->emit_hook_arg = arg;
}

size_t mock_event_count(const struct mock_host *m)
{
    return m->n_events;
}

const struct mock_event *mock_event(const struct mock_host *m, size_t i)
{
    return i < m->n_events ? &m->events[i] : NULL;
}

const struct mock_event *mock_last_event(const struct mock_host *m)
{
    return m->n_events ? &m->events[m->n_events - 1] : NULL;
}

static void h_send_done(pb_host_ctx *ctx, uint64_t id, const struct pb_send_result *res)
{
    struct mock_host *m = M(ctx);
    struct mock_send_done *d;

    if (!res || res->size < offsetof(struct pb_send_result, reserved))
        die("send_done with a missing or short result");
    GROW(m->dones, m->n_dones, m->cap_dones);
    d = &m->dones[m->n_dones++];
    d->id = id;
    d->outcome = res->outcome;
    d->message_ref = xstrdup(res->message_ref);
    d->retry_after_ms = res->retry_after_ms;
    d->error = xstrdup(res->error);
}

size_t mock_send_done_count(const struct mock_host *m)
{
    return m->n_dones;
}

const struct mock_send_done *mock_send_done(const struct mock_host *m, size_t i)
{
    return i < m->n_dones ? &m->dones[i] : NULL;
}

const struct mock_send_done *mock_last_send_done(const struct mock_host *m)
{
    return m->n_dones ? &m->dones[m->n_dones - 1] : NULL;
}

static void h_lookup_done(pb_host_ctx *ctx, uint64_t request, int status,
                          const struct pb_user_info *info)
{
    struct mock_host *m = M(ctx);
    struct mock_lookup_done *d;

    if (info && info->size < offsetof(struct pb_user_info, reserved))
        die("lookup_done with a short user info");
    GROW(m->lookups, m->n_lookups, m->cap_lookups);
    d = &m->lookups[m->n_lookups++];
    memset(d, 0, sizeof *d);
    d->request = request;
    d->status = status;
    if (info) {
        d->found = 1;
        d->user = xstrdup(info->user);
        d->name = xstrdup(info->name);
        d->email = xstrdup(info->email);
        d->timezone = xstrdup(info->timezone);
        d->locale = xstrdup(info->locale);
        d->is_bot = info->is_bot;
        d->deleted = info->deleted;
    }
}

size_t mock_lookup_done_count(const struct mock_host *m)
{
    return m->n_lookups;
}

const struct mock_lookup_done *mock_lookup_done(const struct mock_host *m, size_t i)
{
    return i < m->n_lookups ? &m->lookups[i] : NULL;
}

static void h_counter_add(pb_host_ctx *ctx, const char *name, uint64_t n)
{
    struct mock_host *m = M(ctx);

    for (size_t i = 0; i < m->n_counters; i++) {
        if (strcmp(m->counters[i].name, name) == 0) {
            m->counters[i].n += n;
            return;
        }
    }
    GROW(m->counters, m->n_counters, m->cap_counters);
    m->counters[m->n_counters].name = xstrdup(name);
    m->counters[m->n_counters].n = n;
    m->n_counters++;
}

uint64_t mock_counter(const struct mock_host *m, const char *name)
{
    for (size_t i = 0; i < m->n_counters; i++)
        if (strcmp(m->counters[i].name, name) == 0)
            return m->counters[i].n;
    return 0;
}

int mock_log_contains(const struct mock_host *m, const char *needle)
{
    for (size_t i = 0; i < m->n_logs; i++)
        if (strstr(m->logs[i], needle))
            return 1;
    return 0;
}

size_t mock_log_count(const struct mock_host *m)
{
    return m->n_logs;
}

/* ---- directory and links ---- */

static int h_directory_people(pb_host_ctx *ctx,
                              int (*visit)(void *arg, const char *user, const char *name),
                              void *arg)
{
    struct mock_host *m = M(ctx);

    if (m->directory_rc)
        return m->directory_rc;
    for (size_t i = 0; i < m->n_people; i++)
        if (visit(arg, m->people[i].user, m->people[i].name) != 0)
            break;
    return 0;
}

static int h_directory_channels(pb_host_ctx *ctx, const char *user,
                                int (*visit)(void *arg, const char *channel, const char *title),
                                void *arg)
{
    struct mock_host *m = M(ctx);

    if (m->directory_rc)
        return m->directory_rc;
    for (size_t i = 0; i < m->n_channels; i++)
        if (strcmp(m->channels[i].user, user) == 0 &&
            visit(arg, m->channels[i].channel, m->channels[i].title) != 0)
            break;
    return 0;
}

static int h_link_verify(pb_host_ctx *ctx, const char *token, char *user, size_t user_len)
{
    struct mock_host *m = M(ctx);

    for (size_t i = 0; i < m->n_links; i++) {
        if (strcmp(m->links[i].token, token) != 0)
            continue;
        if (m->links[i].rc)
            return m->links[i].rc;
        if (strlen(m->links[i].user) >= user_len)
            return PB_ERR_INVALID;
        strcpy(user, m->links[i].user);
        return 0;
    }
    return PB_ERR_FORGED;
}

void mock_person(struct mock_host *m, const char *user, const char *name)
{
    GROW(m->people, m->n_people, m->cap_people);
    m->people[m->n_people].user = xstrdup(user);
    m->people[m->n_people].name = xstrdup(name);
    m->n_people++;
}

void mock_channel(struct mock_host *m, const char *user, const char *channel, const char *title)
{
    GROW(m->channels, m->n_channels, m->cap_channels);
    m->channels[m->n_channels].user = xstrdup(user);
    m->channels[m->n_channels].channel = xstrdup(channel);
    m->channels[m->n_channels].title = xstrdup(title);
    m->n_channels++;
}

void mock_directory_fail(struct mock_host *m, int rc)
{
    m->directory_rc = rc;
}

static void link_add(struct mock_host *m, const char *token, const char *user, int rc)
{
    GROW(m->links, m->n_links, m->cap_links);
    m->links[m->n_links].token = xstrdup(token);
    m->links[m->n_links].user = xstrdup(user);
    m->links[m->n_links].rc = rc;
    m->n_links++;
}

void mock_link(struct mock_host *m, const char *token, const char *user)
{
    link_add(m, token, user, 0);
}

void mock_link_error(struct mock_host *m, const char *token, int rc)
{
    link_add(m, token, NULL, rc);
}

/* ---- the host ---- */

void mock_flush(struct mock_host *m)
{
    int again = 1;

    if (m->flushing)
        return;
    m->flushing = 1;
    while (again) {
        again = 0;
        for (size_t i = 0; i < m->n_conns; i++) {
            struct mock_ws_conn *c = m->conns[i];
            if (c->close_pending) {
                struct route *r = conn_route(c);
                c->close_pending = 0;
                r->ops.on_close(r->arg, (pb_ws_conn *)c);
                again = 1;
            }
        }
        for (size_t i = 0; i < m->n_wsc; i++) {
            struct mock_ws *w = m->wsc[i];
            if (w->close_pending) {
                w->close_pending = 0;
                if (w->ops.on_close)
                    w->ops.on_close(w->arg, (pb_ws *)w, w->close_code, w->close_reason);
                again = 1;
            }
        }
    }
    m->flushing = 0;
}

struct mock_host *mock_host_new(void)
{
    struct mock_host *m = xrealloc(NULL, sizeof(*m));
    struct pb_host *h = &m->api;

    memset(m, 0, sizeof(*m));
    m->wall = 1700000000000LL; /* 2023-11-14T22:13:20Z */
    h->size = sizeof(*h);
    h->abi_version = PB_ABI_VERSION;
    h->log = h_log;
    h->log_enabled = h_log_enabled;
    h->config_string = h_config_string;
    h->config_int = h_config_int;
    h->config_bool = h_config_bool;
    h->config_list = h_config_list;
    h->secret = h_secret;
    h->now_ms = h_now_ms;
    h->timer_new = h_timer_new;
    h->timer_arm = h_timer_arm;
    h->timer_cancel = h_timer_cancel;
    h->timer_free = h_timer_free;
    h->http_request = h_http_request;
    h->ws_connect = h_ws_connect;
    h->ws_send = h_ws_send;
    h->ws_close = h_ws_close;
    h->http_route = h_http_route;
    h->ws_route = h_ws_route;
    h->ws_conn_send = h_ws_conn_send;
    h->ws_conn_close = h_ws_conn_close;
    h->ws_conn_set_user = h_ws_conn_set_user;
    h->ws_conn_user = h_ws_conn_user;
    h->kv_get = h_kv_get;
    h->kv_put = h_kv_put;
    h->kv_delete = h_kv_delete;
    h->kv_scan = h_kv_scan;
    h->emit = h_emit;
    h->send_done = h_send_done;
    h->counter_add = h_counter_add;
    h->directory_people = h_directory_people;
    h->directory_channels = h_directory_channels;
    h->link_verify = h_link_verify;
    h->lookup_done = h_lookup_done;
    return m;
}

const struct pb_host *mock_host_api(struct mock_host *m)
{
    return &m->api;
}

pb_host_ctx *mock_host_ctx(struct mock_host *m)
{
    return (pb_host_ctx *)m;
}

int mock_connector_create(struct mock_host *m, const struct pb_plugin_info *info,
                          struct pb_connector *out)
{
    if (!info || !info->create)
        die("no plugin info or no create function");
    memset(out, 0, sizeof(*out));
    return info->create(&m->api, mock_host_ctx(m), out);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void mock_host_free(struct mock_host *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_cfg; i++) {
        free(m->cfg[i].key);
        free(m->cfg[i].str);
        free_strings(m->cfg[i].list, m->cfg[i].n_list);
    }
    free(m->cfg);
    for (size_t i = 0; i < m->n_secrets; i++) {
        free(m->secrets[i].key);
        free(m->secrets[i].str);
    }
    free(m->secrets);
    for (size_t i = 0; i < m->n_kv; i++) {
        free(m->kv[i].key);
        free(m->kv[i].value);
    }
    free(m->kv);
    for (size_t i = 0; i < m->n_timers; i++)
        free(m->timers[i]);
    free(m->timers);
    for (size_t i = 0; i < m->n_routes; i++)
        free(m->routes[i].path);
    free(m->routes);
    for (size_t i = 0; i < m->n_conns; i++) {
        free_strings(m->conns[i]->sent, m->conns[i]->n_sent);
        free(m->conns[i]->close_reason);
        free(m->conns[i]);
    }
    free(m->conns);
    for (size_t i = 0; i < m->n_wsc; i++) {
        free(m->wsc[i]->url);
        free_strings(m->wsc[i]->sent, m->wsc[i]->n_sent);
        free(m->wsc[i]->close_reason);
        free(m->wsc[i]);
    }
    free(m->wsc);
    for (size_t i = 0; i < m->n_calls; i++) {
        struct call *c = m->calls[i];
        free(c->pub.method);
        free(c->pub.url);
        free(c->pub.body);
        free_strings(c->pub.headers, c->pub.n_headers);
        free(c);
    }
    free(m->calls);
    for (size_t i = 0; i < m->n_people; i++) {
        free(m->people[i].user);
        free(m->people[i].name);
    }
    free(m->people);
    for (size_t i = 0; i < m->n_channels; i++) {
        free(m->channels[i].user);
        free(m->channels[i].channel);
        free(m->channels[i].title);
    }
    free(m->channels);
    for (size_t i = 0; i < m->n_links; i++) {
        free(m->links[i].token);
        free(m->links[i].user);
    }
    free(m->links);
    for (size_t i = 0; i < m->n_events; i++) {
        struct mock_event *e = &m->events[i];
        free(e->user);
        free(e->user_name);
        free(e->conversation);
        free(e->message_ref);
        free(e->token);
        free(e->text);
        free(e->reason);
        free(e->interaction_id);
        free(e->agent);
        free(e->touchpoint);
    }
    free(m->events);
    free(m->emit_reply);
    for (size_t i = 0; i < m->n_dones; i++) {
        free(m->dones[i].message_ref);
        free(m->dones[i].error);
    }
    free(m->dones);
    for (size_t i = 0; i < m->n_lookups; i++) {
        free(m->lookups[i].user);
        free(m->lookups[i].name);
        free(m->lookups[i].email);
        free(m->lookups[i].timezone);
        free(m->lookups[i].locale);
    }
    free(m->lookups);
    for (size_t i = 0; i < m->n_counters; i++)
        free(m->counters[i].name);
    free(m->counters);
    free_strings(m->logs, m->n_logs);
    free(m);
}

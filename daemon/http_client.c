/*
 * Asynchronous HTTP on libcurl's multi_socket interface, with curl's sockets visiting the lws
 * loop as raw-file wsis (the recipe in the event loop note, with its fixes 1-8):
 *
 *  - lws only ever polls a private dup of each curl socket: closing an adopted wsi always
 *    closes its fd, and curl 7.88 closes sockets that never connected with a plain close()
 *    before it reports CURL_POLL_REMOVE, so lws must never hold curl's own fd number.
 *  - POLLOUT on a raw file is one-shot and a re-arm made inside RAW_WRITEABLE_FILE is lost
 *    (lws clears POLLOUT after the callback returns), so it is re-armed from a 0 us sul.
 *  - lws closes a raw file by itself on POLLHUP without POLLIN (every refused connect): the
 *    record then tells curl through a deferred socket_action with the events curl wanted and
 *    adopts a fresh dup if curl still wants the socket. The in_kick flag defers the record's
 *    free when curl says REMOVE inside that very socket_action.
 *  - The socket callback never returns -1 (curl 7.88 would mark the whole multi dead) and
 *    nothing calls curl from inside a curl callback; completions are drained after every
 *    socket_action, and `done` runs only from there or from destroy.
 *
 * lws callbacks relied on ("pb-curl" on the internal vhost): LWS_CALLBACK_RAW_RX_FILE,
 * LWS_CALLBACK_RAW_WRITEABLE_FILE, LWS_CALLBACK_RAW_CLOSE_FILE; all return 0.
 */
#include "http_client.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libwebsockets.h>

#include "clock.h"
#include "log.h"
#include "loop.h"

#define DEFAULT_TIMEOUT_MS   30000u
#define MAX_CONNECT_MS       10000u
#define DEFAULT_MAX_RESPONSE (8u * 1024 * 1024)
#define MAX_HEADER_BYTES     (64u * 1024) /* kept response headers, per request */
#define READOPT_RETRY_US     (10 * 1000)  /* after a failed adoption: degrade to polling */

struct sock;

struct pb_http_client {
    struct pb_loop *loop;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    CURLM *multi;
    lws_sorted_usec_list_t timer;
    struct pb_http_client_config cfg;
    struct req *reqs;
    size_t n_reqs;
    struct sock *socks;
    size_t n_socks;
    int destroying;
};

/* One curl socket as lws sees it. */
struct sock {
    struct pb_http_client *client;
    curl_socket_t fd;            /* curl's; lws polls a dup of it */
    struct lws *wsi;             /* NULL when lws closed our dup, or adoption failed */
    int want;                    /* CURL_POLL_IN / OUT / INOUT */
    int detached;                /* curl said REMOVE: only waiting for lws to close the dup */
    int in_kick;                 /* inside socket_action made on this record's behalf with no wsi */
    int in_writeable;            /* inside RAW_WRITEABLE_FILE for this record */
    lws_sorted_usec_list_t kick; /* re-arms POLLOUT outside the writeable callback */
    lws_sorted_usec_list_t redo; /* tells curl about a socket lws closed by itself */
    struct sock *prev, *next;
};

struct hdr {
    char *name;
    char *value;
};

struct req {
    struct pb_http_client *client;
    CURL *easy;
    struct curl_slist *headers;
    pb_http_done_fn done;
    void *arg;
    char *body;
    size_t body_len, body_cap;
    int too_big;
    struct hdr *hdrs;
    size_t n_hdrs, hdr_bytes;
    char errbuf[CURL_ERROR_SIZE];
    struct req *prev, *next;
};

/* What `done` receives: the response and the request that owns its header strings. */
struct resp {
    struct pb_http_response r;
    struct req *req;
};

static int sock_adopt(struct sock *s);
static void sock_apply(struct sock *s);

/* ---- completions -------------------------------------------------------------------------- */

static const char *resp_header(const struct pb_http_response *r, const char *name)
{
    const struct resp *w = (const struct resp *)r;
    if (!w->req || !name)
        return NULL;
    for (size_t i = 0; i < w->req->n_hdrs; i++)
        if (strcasecmp(w->req->hdrs[i].name, name) == 0)
            return w->req->hdrs[i].value;
    return NULL;
}

/* Retry-After is either delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static uint32_t parse_retry_after(const char *v)
{
    if (!v || !*v)
        return 0;
    uint64_t ms;
    if (isdigit((unsigned char)v[0])) {
        char *end;
        errno = 0;
        unsigned long long secs = strtoull(v, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (*end)
            return 0;
        if (errno || secs > UINT32_MAX / 1000)
            return UINT32_MAX;
        ms = secs * 1000;
    } else {
        time_t t = curl_getdate(v, NULL);
        if (t == (time_t)-1)
            return 0;
        int64_t diff = (int64_t)t * 1000 - pb_now_ms();
        if (diff <= 0)
            return 0;
        ms = (uint64_t)diff;
    }
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

static void req_unlink(struct pb_http_client *c, struct req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    c->n_reqs--;
}

static void req_free(struct req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    for (size_t i = 0; i < r->n_hdrs; i++) {
        free(r->hdrs[i].name);
        free(r->hdrs[i].value);
    }
    free(r->hdrs);
    free(r->body);
    free(r);
}

/* The request is already out of curl and off the list: report it and free it. */
static void req_finish(struct req *r, CURLcode rc, long code, const char *error)
{
    struct resp w;
    memset(&w, 0, sizeof w);
    w.r.size = sizeof w.r;
    w.r.header = resp_header;
    w.req = r;
    char msg[64];
    if (error) {
        w.r.error = error;
    } else if (r->too_big) {
        snprintf(msg, sizeof msg, "response body larger than %zu bytes",
                 r->client->cfg.max_response);
        w.r.error = msg;
    } else if (rc != CURLE_OK) {
        w.r.error = r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc);
    } else {
        w.r.status = (int)code;
        w.r.body = r->body ? r->body : "";
        w.r.body_len = r->body_len;
        w.r.retry_after_ms = parse_retry_after(resp_header(&w.r, "retry-after"));
    }
    if (w.r.status == 0)
        pb_debug("http", "request failed: %s", w.r.error);
    r->done(r->arg, &w.r);
    req_free(r);
}

static void drain_completions(struct pb_http_client *c)
{
    CURLMsg *m;
    int left;
    while (c->multi && (m = curl_multi_info_read(c->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        CURLcode rc = m->data.result; /* m dies with the handle */
        char *priv = NULL;
        long code = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        curl_multi_remove_handle(c->multi, e);
        curl_easy_cleanup(e);
        struct req *r = (struct req *)priv;
        if (!r)
            continue;
        r->easy = NULL;
        req_unlink(c, r);
        req_finish(r, rc, code, NULL); /* last: `done` may start a new request */
    }
}

static void socket_action(struct pb_http_client *c, curl_socket_t fd, int ev)
{
    int running;
    if (!c->multi)
        return;
    CURLMcode mc = curl_multi_socket_action(c->multi, fd, ev, &running);
    if (mc != CURLM_OK)
        pb_warn("http", "curl_multi_socket_action: %s", curl_multi_strerror(mc));
    drain_completions(c);
}

/* ---- curl's sockets in the lws loop ------------------------------------------------------- */

static void sock_free(struct sock *s)
{
    struct pb_http_client *c = s->client;
    lws_sul_cancel(&s->kick);
    lws_sul_cancel(&s->redo);
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    c->n_socks--;
    free(s);
}

static void kick_cb(lws_sorted_usec_list_t *sul)
{
    struct sock *s = lws_container_of(sul, struct sock, kick);
    if (s->wsi && !s->detached && (s->want & CURL_POLL_OUT))
        lws_callback_on_writable(s->wsi);
}

static void redo_cb(lws_sorted_usec_list_t *sul)
{
    struct sock *s = lws_container_of(sul, struct sock, redo);
    struct pb_http_client *c = s->client;
    if (s->detached || c->destroying) {
        if (!s->wsi)
            sock_free(s);
        return;
    }
    /* IN/OUT for what curl waits for, not CURL_CSELECT_ERR: with ERR alone curl 7.88 fails
     * the transfer with "select/poll returned error" and hides the real cause. */
    int ev = 0;
    if (s->want & CURL_POLL_IN)
        ev |= CURL_CSELECT_IN;
    if (s->want & CURL_POLL_OUT)
        ev |= CURL_CSELECT_OUT;
    s->in_kick = 1;
    int running;
    curl_multi_socket_action(c->multi, s->fd, ev, &running);
    s->in_kick = 0;
    if (s->detached) {
        if (!s->wsi)
            sock_free(s);
    } else if (!s->wsi) {
        /* curl's mask did not change, so it will not ask again: re-adopt ourselves. */
        if (sock_adopt(s) == 0)
            sock_apply(s);
        else
            lws_sul_schedule(c->ctx, 0, &s->redo, redo_cb, READOPT_RETRY_US);
    }
    drain_completions(c);
}

static int sock_adopt(struct sock *s)
{
    struct pb_http_client *c = s->client;
    int d = fcntl(s->fd, F_DUPFD_CLOEXEC, 0);
    if (d < 0) {
        pb_warn("http", "dup of a curl socket: %s", strerror(errno));
        return PB_ERR;
    }
    lws_adopt_desc_t ad = {
        .vh = c->vh,
        .type = LWS_ADOPT_RAW_FILE_DESC,
        .fd.filefd = d,
        .vh_prot_name = pb_loop_protocol_name(PB_LOOP_PROTO_CURL),
        .opaque = s,
    };
    s->wsi = lws_adopt_descriptor_vhost_via_info(&ad);
    if (!s->wsi) {
        close(d); /* lws leaves a non-socket fd it failed to adopt to us */
        pb_warn("http", "could not adopt a curl socket into the loop");
        return PB_ERR;
    }
    return 0;
}

static void sock_apply(struct sock *s)
{
    lws_rx_flow_control(s->wsi, (s->want & CURL_POLL_IN) ? 1 : 0);
    if (!(s->want & CURL_POLL_OUT))
        return;
    if (s->in_writeable)
        lws_sul_schedule(s->client->ctx, 0, &s->kick, kick_cb, 0);
    else
        lws_callback_on_writable(s->wsi);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *clientp, void *socketp)
{
    struct pb_http_client *c = clientp;
    struct sock *s = socketp;
    (void)easy;

    if (what == CURL_POLL_REMOVE) {
        if (!s)
            return 0;
        if (!c->destroying)
            curl_multi_assign(c->multi, fd, NULL);
        s->detached = 1;
        s->want = 0;
        lws_sul_cancel(&s->kick);
        if (!s->in_kick)
            lws_sul_cancel(&s->redo);
        if (s->wsi) {
            /* We may be inside this very wsi's callback: close it asynchronously; its
             * RAW_CLOSE_FILE frees the record. */
            lws_rx_flow_control(s->wsi, 0);
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        } else if (!s->in_kick) {
            sock_free(s);
        }
        return 0;
    }

    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            /* No -1 (it kills the whole multi in 7.88): this transfer will time out. */
            pb_err("http", "out of memory for a socket record");
            return 0;
        }
        s->client = c;
        s->fd = fd;
        s->next = c->socks;
        if (c->socks)
            c->socks->prev = s;
        c->socks = s;
        c->n_socks++;
        curl_multi_assign(c->multi, fd, s);
    }
    s->want = what;
    if (!s->wsi && !s->in_kick) {
        if (sock_adopt(s) < 0) {
            /* Fail only this socket: the deferred path gives curl its events and retries. */
            lws_sul_schedule(c->ctx, 0, &s->redo, redo_cb, READOPT_RETRY_US);
            return 0;
        }
    }
    if (s->wsi)
        sock_apply(s);
    return 0;
}

static int lws_handler(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    struct sock *s;
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        s = lws_get_opaque_user_data(wsi);
        if (s && s->wsi == wsi && !s->detached && !s->client->destroying)
            socket_action(s->client, s->fd, CURL_CSELECT_IN);
        break;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        s = lws_get_opaque_user_data(wsi);
        if (!s || s->wsi != wsi || s->detached || s->client->destroying ||
            !(s->want & CURL_POLL_OUT))
            break;
        s->in_writeable = 1;
        socket_action(s->client, s->fd, CURL_CSELECT_OUT);
        s->in_writeable = 0;
        /* The record lives until RAW_CLOSE_FILE, which cannot have run yet. */
        if (!s->detached && (s->want & CURL_POLL_OUT))
            lws_sul_schedule(s->client->ctx, 0, &s->kick, kick_cb, 0);
        break;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        s = lws_get_opaque_user_data(wsi);
        if (!s)
            break;
        lws_set_opaque_user_data(wsi, NULL);
        if (s->wsi != wsi)
            break;
        s->wsi = NULL;
        lws_sul_cancel(&s->kick);
        if (s->detached || s->client->destroying)
            sock_free(s);
        else /* lws closed it by itself (POLLHUP): curl must hear of it */
            lws_sul_schedule(s->client->ctx, 0, &s->redo, redo_cb, 0);
        break;
    default:
        break;
    }
    return 0; /* anything else would close the wsi behind curl's back */
}

static void timer_cb(lws_sorted_usec_list_t *sul)
{
    struct pb_http_client *c = lws_container_of(sul, struct pb_http_client, timer);
    socket_action(c, CURL_SOCKET_TIMEOUT, 0);
}

static int timer_fn(CURLM *multi, long timeout_ms, void *clientp)
{
    struct pb_http_client *c = clientp;
    (void)multi;
    if (timeout_ms < 0)
        lws_sul_cancel(&c->timer);
    else /* 0 runs on the next loop pass, outside curl: no recursion */
        lws_sul_schedule(c->ctx, 0, &c->timer, timer_cb, (lws_usec_t)timeout_ms * 1000);
    return 0;
}

/* ---- per-request callbacks ---------------------------------------------------------------- */

static size_t write_cb(char *data, size_t size, size_t n, void *ud)
{
    struct req *r = ud;
    size_t len = size * n;
    size_t max = r->client->cfg.max_response;
    if (len > max || r->body_len > max - len) {
        r->too_big = 1;
        return 0; /* fails the transfer (CURLE_WRITE_ERROR); never pause (curl #21643) */
    }
    if (r->body_len + len + 1 > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + len + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (!b)
            return 0;
        r->body = b;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
    return len;
}

static void clear_headers(struct req *r)
{
    for (size_t i = 0; i < r->n_hdrs; i++) {
        free(r->hdrs[i].name);
        free(r->hdrs[i].value);
    }
    r->n_hdrs = 0;
    r->hdr_bytes = 0;
}

static size_t header_cb(char *data, size_t size, size_t n, void *ud)
{
    struct req *r = ud;
    size_t len = size * n;
    /* Each response (a 100 Continue, then the real one) starts with its status line: keep
     * only the last response's headers. */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        clear_headers(r);
        return len;
    }
    const char *colon = memchr(data, ':', len);
    if (!colon || colon == data || r->hdr_bytes + len > MAX_HEADER_BYTES)
        return len;
    size_t nlen = (size_t)(colon - data);
    const char *v = colon + 1;
    const char *end = data + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    struct hdr *h = realloc(r->hdrs, (r->n_hdrs + 1) * sizeof *h);
    if (!h)
        return len;
    r->hdrs = h;
    h = &r->hdrs[r->n_hdrs];
    h->name = strndup(data, nlen);
    h->value = strndup(v, (size_t)(end - v));
    if (!h->name || !h->value) {
        free(h->name);
        free(h->value);
        return len;
    }
    r->n_hdrs++;
    r->hdr_bytes += len;
    return len;
}

/* ---- public ------------------------------------------------------------------------------- */

int pb_http_client_create(struct pb_loop *loop, const struct pb_http_client_config *cfg,
                          struct pb_http_client **out)
{
    if (!loop || !out)
        return PB_ERR_INVALID;
    static int global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return PB_ERR;
        global_done = 1;
    }
    struct pb_http_client *c = calloc(1, sizeof *c);
    if (!c)
        return PB_ERR_NOMEM;
    c->loop = loop;
    c->ctx = pb_loop_context(loop);
    c->vh = pb_loop_internal_vhost(loop);
    if (cfg)
        c->cfg = *cfg;
    if (!c->cfg.default_timeout_ms)
        c->cfg.default_timeout_ms = DEFAULT_TIMEOUT_MS;
    if (!c->cfg.max_response)
        c->cfg.max_response = DEFAULT_MAX_RESPONSE;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return PB_ERR_NOMEM;
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    pb_loop_set_lws_handler(loop, PB_LOOP_PROTO_CURL, lws_handler);
    *out = c;
    return 0;
}

static int valid_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
            return 0;
    return 1;
}

static int has_crlf(const char *s)
{
    return s && strpbrk(s, "\r\n") != NULL;
}

static int add_headers(struct req *r, const struct pb_http_request *req)
{
    char line[8192];
    for (size_t i = 0; i < req->n_headers; i++) {
        const struct pb_header *h = &req->headers[i];
        /* A CR or LF would let a value smuggle in a header of its own. */
        if (!valid_token(h->name) || has_crlf(h->value))
            return PB_ERR_INVALID;
        int n = h->value && *h->value ? snprintf(line, sizeof line, "%s: %s", h->name, h->value)
                                      : snprintf(line, sizeof line, "%s;", h->name);
        if (n < 0 || (size_t)n >= sizeof line)
            return PB_ERR_INVALID;
        struct curl_slist *l = curl_slist_append(r->headers, line);
        if (!l)
            return PB_ERR_NOMEM;
        r->headers = l;
    }
    return 0;
}

static int set_method(struct req *r, const struct pb_http_request *req)
{
    CURL *e = r->easy;
    const char *m = req->method && *req->method ? req->method : "GET";
    const char *body = req->body ? req->body : "";
    size_t blen = req->body ? req->body_len : 0;
    int with_body =
        blen > 0 || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
    for (const char *p = m; *p; p++)
        if (!isupper((unsigned char)*p))
            return PB_ERR_INVALID;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return 0;
    }
    if (with_body) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    }
    if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
    return 0;
}

int pb_http_client_request(struct pb_http_client *c, const struct pb_http_request *req,
                           pb_http_done_fn done, void *arg)
{
    if (!c || !req || !req->url || !done || (req->n_headers && !req->headers))
        return PB_ERR_INVALID;
    if (c->destroying)
        return PB_ERR_BUSY;
    int rc = PB_ERR_NOMEM;
    struct req *r = calloc(1, sizeof *r);
    if (!r)
        return PB_ERR_NOMEM;
    r->client = c;
    r->done = done;
    r->arg = arg;
    r->easy = curl_easy_init();
    if (!r->easy)
        goto fail;
    CURL *e = r->easy;
    const char *protos = c->cfg.allow_plain_http ? "http,https" : "https";
    uint32_t timeout = req->timeout_ms ? req->timeout_ms : c->cfg.default_timeout_ms;
    uint32_t connect = timeout < MAX_CONNECT_MS ? timeout : MAX_CONNECT_MS;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    /* Only the schemes we mean (CVE-2013-0249 came in through an unexpected protocol). */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protos);
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, protos);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "pulsebot");
    rc = add_headers(r, req);
    if (rc < 0)
        goto fail;
    if (r->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    rc = set_method(r, req);
    if (rc < 0)
        goto fail;
    /* Adding only arms curl's timer (0 ms: the next loop pass), so `done` can never run
     * before this function returns. */
    if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
        rc = PB_ERR;
        goto fail;
    }
    r->next = c->reqs;
    if (c->reqs)
        c->reqs->prev = r;
    c->reqs = r;
    c->n_reqs++;
    return 0;
fail:
    req_free(r);
    return rc;
}

size_t pb_http_client_in_flight(const struct pb_http_client *c)
{
    return c ? c->n_reqs : 0;
}

void pb_http_client_destroy(struct pb_http_client *c)
{
    if (!c)
        return;
    c->destroying = 1; /* new requests are refused, even from a `done` below */
    struct req *r;
    while ((r = c->reqs)) {
        req_unlink(c, r);
        curl_multi_remove_handle(c->multi, r->easy); /* may say REMOVE: fine */
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
        req_finish(r, CURLE_OK, 0, "cancelled");
    }
    /* Can still report REMOVE for pooled connections, so the socket callback and the lws
     * context stay alive until it returns. */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    lws_sul_cancel(&c->timer);
    /* The async kills run at the top of the next service pass (they are suls in 4.1). */
    for (int i = 0; c->socks && i < 1000; i++)
        pb_loop_service_nowait(c->loop);
    while (c->socks) {
        struct sock *s = c->socks;
        if (s->wsi) {
            lws_set_opaque_user_data(s->wsi, NULL);
            lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
        }
        sock_free(s);
    }
    free(c);
}

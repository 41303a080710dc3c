/*
 * The request half of the daemon's HTTP server that both HTTP routes and websocket upgrades
 * share: the query string rebuilt from lws's decoded fragments, header values read from the ah
 * on demand (and cached for the request), the peer's address, and the pb_server_request a route
 * sees. Everything here reads the wsi's parsed headers (its ah), so it is called only from the
 * callbacks in which a request is handed to a route or to a websocket route's on_open.
 *
 * lws calls relied on: lws_hdr_fragment_length/lws_hdr_copy_fragment on WSI_TOKEN_HTTP_URI_ARGS
 * (values come decoded and split at '&'), lws_hdr_total_length/lws_hdr_copy for known headers,
 * lws_hdr_custom_length/lws_hdr_custom_copy for the rest, lws_get_peer_simple.
 */
#include "http_server_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A header value a route asked for, kept until the request is done. */
struct pb_hs_hval {
    struct pb_hs_hval *next;
    char *name;
    char *value;
};

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

char *pb_hs_build_query(struct lws *wsi)
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

char *pb_hs_copy_token(struct lws *wsi, enum lws_token_indexes t)
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
    struct pb_hs_request *sr = (struct pb_hs_request *)r;
    if (!name || !*name || !sr->wsi)
        return NULL;
    for (struct pb_hs_hval *h = sr->cache; h; h = h->next)
        if (strcasecmp(h->name, name) == 0)
            return h->value;
    size_t nlen = strlen(name);
    char *v = NULL;
    int known = 0;
    for (int t = 0; t < WSI_TOKEN_COUNT; t++) {
        const char *s = (const char *)lws_token_to_string((enum lws_token_indexes)t);
        if (s && strlen(s) == nlen + 1 && s[nlen] == ':' && strncasecmp(s, name, nlen) == 0) {
            v = pb_hs_copy_token(sr->wsi, (enum lws_token_indexes)t);
            known = 1;
            break;
        }
    }
    if (!known)
        v = copy_custom(sr->wsi, name, nlen);
    if (!v)
        return NULL;
    struct pb_hs_hval *h = calloc(1, sizeof *h);
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

void pb_hs_request_done(struct pb_hs_request *sr)
{
    struct pb_hs_hval *h = sr->cache;
    while (h) {
        struct pb_hs_hval *n = h->next;
        free(h->name);
        free(h->value);
        free(h);
        h = n;
    }
    sr->cache = NULL;
}

void pb_hs_request_init(struct pb_hs_request *sr, struct lws *wsi, const char *method,
                        const char *path, const char *query, const char *body, size_t body_len,
                        const char *peer)
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

/* lws listens on a dual-stack socket, so IPv4 peers come as "::ffff:a.b.c.d": report those the
 * way people write them. */
void pb_hs_peer_address(struct lws *wsi, char *buf, size_t len)
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

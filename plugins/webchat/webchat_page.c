/*
 * The chat page: index.html, chat.js and chat.css, embedded in the module at build time and
 * served from the configured path. Every response carries a strict Content-Security-Policy
 * (scripts and styles from this origin only, no framing, no forms), no Referer (a personal
 * link carries its token in the query) and no caching (the URL may hold a token).
 */
#include <string.h>

#include "webchat.h"
#include "webchat_assets.h"

static const char security_headers[] =
    "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'none'\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: no-referrer\r\n"
    "Cache-Control: no-store\r\n";

static const char allow_headers[] = "Content-Security-Policy: default-src 'none'; "
                                    "frame-ancestors 'none'\r\n"
                                    "X-Content-Type-Options: nosniff\r\n"
                                    "Referrer-Policy: no-referrer\r\n"
                                    "Cache-Control: no-store\r\n"
                                    "Allow: GET, HEAD\r\n";

static void respond(struct pb_server_response *resp, int status, const char *type, const void *body,
                    size_t len, const char *headers)
{
    resp->status = status;
    resp->content_type = type;
    resp->body = body;
    resp->body_len = len;
    resp->extra_headers = headers;
}

static int page(void *arg, const struct pb_server_request *req, struct pb_server_response *resp)
{
    static const char not_found[] = "Not found\n";
    static const char not_allowed[] = "Method not allowed\n";
    struct webchat *wc = arg;
    const char *path = req->path ? req->path : "";

    if (!req->method || (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)) {
        respond(resp, 405, "text/plain; charset=utf-8", not_allowed, sizeof(not_allowed) - 1,
                allow_headers);
        return 0;
    }
    if (strcmp(path, wc->path) == 0)
        respond(resp, 200, "text/html; charset=utf-8", webchat_asset_index_html,
                webchat_asset_index_html_len, security_headers);
    else if (strcmp(path, wc->js_path) == 0)
        respond(resp, 200, "text/javascript; charset=utf-8", webchat_asset_chat_js,
                webchat_asset_chat_js_len, security_headers);
    else if (strcmp(path, wc->css_path) == 0)
        respond(resp, 200, "text/css; charset=utf-8", webchat_asset_chat_css,
                webchat_asset_chat_css_len, security_headers);
    else
        respond(resp, 404, "text/plain; charset=utf-8", not_found, sizeof(not_found) - 1,
                security_headers);
    return 0;
}

/* The page path ends in '/', so its route also catches everything below it that is not a
 * longer route: those get a 404 here rather than the page. */
int webchat_page_register(struct webchat *wc)
{
    const struct pb_host *h = wc->host;

    if (h->http_route(wc->ctx, wc->path, page, wc) != PB_OK ||
        h->http_route(wc->ctx, wc->js_path, page, wc) != PB_OK ||
        h->http_route(wc->ctx, wc->css_path, page, wc) != PB_OK)
        return PB_ERR;
    return 0;
}

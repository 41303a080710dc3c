/*
 * Asynchronous HTTP client: libcurl's multi interface with curl's sockets adopted into the
 * libwebsockets loop (see docs/architecture.md). No call here blocks. Each request's `done`
 * runs exactly once, on the loop, never from inside pb_http_client_request itself.
 */
#ifndef PB_HTTP_CLIENT_H
#define PB_HTTP_CLIENT_H

#include "pulsebot/plugin.h"

struct pb_loop;
struct pb_http_client;

struct pb_http_client_config {
    int allow_plain_http;       /* tests talk to fakes on http://127.0.0.1 */
    uint32_t default_timeout_ms; /* 0: 30 s */
    size_t max_response;        /* larger bodies fail the request; 0: 8 MiB */
};

int pb_http_client_create(struct pb_loop *loop, const struct pb_http_client_config *cfg,
                          struct pb_http_client **out);
/* Every request still in flight completes with status 0 and error "cancelled". */
void pb_http_client_destroy(struct pb_http_client *client);
int pb_http_client_request(struct pb_http_client *client, const struct pb_http_request *req,
                           pb_http_done_fn done, void *arg);
size_t pb_http_client_in_flight(const struct pb_http_client *client);

#endif

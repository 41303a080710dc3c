/* /healthz and /metrics (see core_http.h). */
#include "core_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"
#include "metrics.h"
#include "store.h"

static int healthz(void *arg, const struct pb_server_request *req, struct pb_server_response *resp)
{
    static char body[128];
    struct pb_store *store = arg;
    snprintf(body, sizeof body, "{\"status\":\"ok\",\"outbox_pending\":%zu}\n",
             pb_store_outbox_pending(store));
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = body;
    resp->body_len = strlen(body);
    return 0;
}

static uint64_t outbox_pending(void *arg)
{
    return pb_store_outbox_pending(arg);
}

static int metrics(void *arg, const struct pb_server_request *req, struct pb_server_response *resp)
{
    /* The host copies the body before we return, so one buffer reused per request is enough. */
    static char *body;
    size_t len = 0;
    free(body);
    body = pb_metrics_render(&len);
    resp->status = body ? 200 : 500;
    resp->content_type = "text/plain; version=0.0.4";
    resp->body = body ? body : "";
    resp->body_len = body ? len : 0;
    return 0;
}

int pb_core_http_register(struct pb_http_server *srv, struct pb_store *store)
{
    pb_metrics_gauge("outbox_pending", outbox_pending, store);
    if (pb_http_server_route(srv, "/healthz", healthz, store) != 0)
        return -1;
    return pb_http_server_route(srv, "/metrics", metrics, store);
}

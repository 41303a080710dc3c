/*
 * The daemon's own HTTP endpoints: /healthz for probes and /metrics for Prometheus.
 */
#ifndef PB_CORE_HTTP_H
#define PB_CORE_HTTP_H

struct pb_http_server;
struct pb_store;

int pb_core_http_register(struct pb_http_server *srv, struct pb_store *store);

#endif

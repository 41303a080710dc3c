/*
 * Counters for /metrics, in Prometheus' text format. Names are registered on first use; a
 * counter only ever grows. Gauges are read through callbacks when /metrics is asked for.
 */
#ifndef PB_METRICS_H
#define PB_METRICS_H

#include <stddef.h>
#include <stdint.h>

void pb_metrics_add(const char *name, uint64_t n);
uint64_t pb_metrics_get(const char *name);
/* A value computed when the metrics are read, such as the outbox's length. */
void pb_metrics_gauge(const char *name, uint64_t (*read)(void *arg), void *arg);
/* Writes every counter and gauge as "pulsebot_<name> <value>\n"; returns a malloc'd string. */
char *pb_metrics_render(size_t *len);
void pb_metrics_reset(void);

#endif

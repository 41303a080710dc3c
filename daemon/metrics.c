/*
 * Metrics: a small table of named counters and gauges. The table is linear: there are tens of
 * names, touched a few times per message, so a hash would buy nothing.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS 256
#define NAME_LEN    64

struct metric {
    char name[NAME_LEN];
    uint64_t value;
    uint64_t (*read)(void *arg);
    void *arg;
};

static struct metric metrics[MAX_METRICS];
static size_t n_metrics;

static struct metric *find_or_add(const char *name)
{
    for (size_t i = 0; i < n_metrics; i++)
        if (strcmp(metrics[i].name, name) == 0)
            return &metrics[i];
    if (n_metrics == MAX_METRICS)
        return NULL;
    struct metric *m = &metrics[n_metrics++];
    snprintf(m->name, sizeof m->name, "%s", name);
    /* Prometheus names allow [a-zA-Z0-9_:]; connectors may pass anything. */
    for (char *c = m->name; *c; c++)
        if (!(*c == '_' || *c == ':' || (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') ||
              (*c >= 'A' && *c <= 'Z')))
            *c = '_';
    return m;
}

void pb_metrics_add(const char *name, uint64_t n)
{
    struct metric *m = find_or_add(name);
    if (m)
        m->value += n;
}

uint64_t pb_metrics_get(const char *name)
{
    for (size_t i = 0; i < n_metrics; i++)
        if (strcmp(metrics[i].name, name) == 0)
            return metrics[i].read ? metrics[i].read(metrics[i].arg) : metrics[i].value;
    return 0;
}

void pb_metrics_gauge(const char *name, uint64_t (*read)(void *arg), void *arg)
{
    struct metric *m = find_or_add(name);
    if (m) {
        m->read = read;
        m->arg = arg;
    }
}

char *pb_metrics_render(size_t *len)
{
    size_t cap = 64 + n_metrics * (NAME_LEN + 40);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < n_metrics; i++) {
        const struct metric *m = &metrics[i];
        uint64_t v = m->read ? m->read(m->arg) : m->value;
        n += (size_t)snprintf(out + n, cap - n, "pulsebot_%s %llu\n", m->name,
                              (unsigned long long)v);
    }
    out[n] = '\0';
    *len = n;
    return out;
}

void pb_metrics_reset(void)
{
    memset(metrics, 0, sizeof metrics);
    n_metrics = 0;
}

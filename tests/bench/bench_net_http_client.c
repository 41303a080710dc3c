/*
 * Throughput and CPU cost of the curl-in-lws HTTP client: N GETs with K in flight against a
 * local server, each body checked to be non-empty, every `done` counted once.
 *
 * Run (links pb_net only):
 *   /usr/bin/python3 tests/fakes/net_http_fake.py &      # prints its port, say 40123
 *   bench_net_http_client http://127.0.0.1:40123/hello 10000 50
 * It prints requests, failures, wall time, requests per second and user+sys CPU per request;
 * the event loop note has figures for this machine to compare with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "http_client.h"
#include "log.h"
#include "loop.h"

struct bench {
    struct pb_loop *loop;
    struct pb_http_client *client;
    const char *url;
    long total, started, completed, failed;
};

static void start_one(struct bench *b);

static void done(void *arg, const struct pb_http_response *resp)
{
    struct bench *b = arg;
    b->completed++;
    if (resp->status != 200 || resp->body_len == 0)
        b->failed++;
    if (b->started < b->total)
        start_one(b);
    if (b->completed == b->total)
        pb_loop_stop(b->loop);
}

static void start_one(struct bench *b)
{
    struct pb_http_request req = {.size = sizeof req, .url = b->url};
    b->started++;
    if (pb_http_client_request(b->client, &req, done, b) != 0) {
        b->completed++;
        b->failed++;
    }
}

static double seconds(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [requests] [in_flight]\n", argv[0]);
        return 2;
    }
    struct bench b = {.url = argv[1], .total = argc > 2 ? atol(argv[2]) : 10000};
    long in_flight = argc > 3 ? atol(argv[3]) : 50;
    if (b.total <= 0 || in_flight <= 0)
        return 2;
    pb_log_init();
    pb_log_set_level(PB_LOG_WARNING);
    if (pb_loop_create(&b.loop, NULL, NULL) != 0)
        return 1;
    struct pb_http_client_config cfg = {.allow_plain_http = 1};
    if (pb_http_client_create(b.loop, &cfg, &b.client) != 0)
        return 1;

    struct timespec t0, t1;
    struct rusage r0, r1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    getrusage(RUSAGE_SELF, &r0);
    for (long i = 0; i < in_flight && b.started < b.total; i++)
        start_one(&b);
    if (b.completed < b.total)
        pb_loop_run(b.loop);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);

    double wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = seconds(&r1.ru_utime) - seconds(&r0.ru_utime) + seconds(&r1.ru_stime) -
                 seconds(&r0.ru_stime);
    printf("requests %ld failed %ld wall %.3f s  %.0f req/s  cpu %.3f s (%.1f us/req)\n",
           b.completed, b.failed, wall, (double)b.completed / wall, cpu,
           cpu * 1e6 / (double)b.completed);
    pb_http_client_destroy(b.client);
    pb_loop_destroy(b.loop);
    return b.failed ? 1 : 0;
}

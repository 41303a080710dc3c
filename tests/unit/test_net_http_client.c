/*
 * Tests for the curl-in-lws HTTP client against tests/fakes/net_http_fake.py: bodies both
 * ways, many concurrent requests, a 4 MB upload (the POLLOUT re-arm of the event loop note),
 * Retry-After, refused connections, the response cap, timeouts and destroy with requests in
 * flight. Every `done` must run exactly once, and never inside pb_http_client_request.
 */
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "loop.h"
#include "test_net_fake.h"

static int fake_port;
static pid_t fake_pid;
static int in_request; /* set around pb_http_client_request: `done` must not see it */

struct result {
    struct pb_loop *loop;
    int calls;
    int status;
    char *body;
    size_t body_len;
    char *error;
    uint32_t retry_after_ms;
    char *hdr[4];
    const char *want_hdr[4];
    int stop_when_done;
};

static void result_free(struct result *r)
{
    free(r->body);
    free(r->error);
    for (int i = 0; i < 4; i++)
        free(r->hdr[i]);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void done_cb(void *arg, const struct pb_http_response *resp)
{
    struct result *r = arg;
    assert_false(in_request);
    assert_int_equal(resp->size, sizeof *resp);
    r->calls++;
    r->status = resp->status;
    r->retry_after_ms = resp->retry_after_ms;
    free(r->error);
    r->error = dup_or_null(resp->error);
    free(r->body);
    r->body = NULL;
    r->body_len = resp->body_len;
    if (resp->body) {
        r->body = malloc(resp->body_len + 1);
        memcpy(r->body, resp->body, resp->body_len);
        r->body[resp->body_len] = '\0';
    }
    for (int i = 0; i < 4 && r->want_hdr[i]; i++) {
        free(r->hdr[i]);
        r->hdr[i] = dup_or_null(resp->header(resp, r->want_hdr[i]));
    }
    if (r->stop_when_done)
        pb_loop_stop(r->loop);
}

static int request(struct pb_http_client *c, const char *method, const char *path, const char *body,
                   size_t body_len, const struct pb_header *hdrs, size_t nh, uint32_t timeout_ms,
                   pb_http_done_fn done, void *arg)
{
    char url[256];
    if (strstr(path, "://"))
        snprintf(url, sizeof url, "%s", path);
    else
        snprintf(url, sizeof url, "http://127.0.0.1:%d%s", fake_port, path);
    struct pb_http_request req = {
        .size = sizeof req,
        .method = method,
        .url = url,
        .headers = hdrs,
        .n_headers = nh,
        .body = body,
        .body_len = body_len,
        .timeout_ms = timeout_ms,
    };
    in_request = 1;
    int rc = pb_http_client_request(c, &req, done, arg);
    in_request = 0;
    return rc;
}

struct fixture {
    struct pb_loop *loop;
    struct pb_http_client *client;
};

static void fixture_init(struct fixture *f, int allow_plain, size_t max_response)
{
    assert_int_equal(pb_loop_create(&f->loop, NULL, NULL), 0);
    struct pb_http_client_config cfg = {
        .allow_plain_http = allow_plain,
        .default_timeout_ms = 20000,
        .max_response = max_response,
    };
    assert_int_equal(pb_http_client_create(f->loop, &cfg, &f->client), 0);
}

static void fixture_done(struct fixture *f)
{
    pb_http_client_destroy(f->client);
    pb_loop_destroy(f->loop);
}

/* Runs one request to completion. */
static void one(struct fixture *f, struct result *r, const char *method, const char *path,
                const char *body, size_t body_len, const struct pb_header *hdrs, size_t nh,
                uint32_t timeout_ms)
{
    r->loop = f->loop;
    r->stop_when_done = 1;
    assert_int_equal(
        request(f->client, method, path, body, body_len, hdrs, nh, timeout_ms, done_cb, r), 0);
    assert_int_equal(pb_http_client_in_flight(f->client), 1);
    assert_int_equal(run_loop_for(f->loop, 30000), 0);
    assert_int_equal(r->calls, 1);
    assert_int_equal(pb_http_client_in_flight(f->client), 0);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_get_and_post(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);

    struct result r = {.want_hdr = {"x-fake", "X-FAKE", "content-length", "x-missing"}};
    one(&f, &r, NULL, "/hello", NULL, 0, NULL, 0, 0);
    assert_int_equal(r.status, 200);
    assert_null(r.error);
    assert_string_equal(r.body, "hello world");
    assert_int_equal(r.body_len, 11);
    assert_string_equal(r.hdr[0], "yes");
    assert_string_equal(r.hdr[1], "yes");
    assert_string_equal(r.hdr[2], "11");
    assert_null(r.hdr[3]);
    assert_int_equal(r.retry_after_ms, 0);
    result_free(&r);

    static const char bin[] = "ping\0with a NUL";
    struct pb_header h[] = {{"Content-Type", "application/x-test"}};
    struct result p = {.want_hdr = {"x-len", "content-type"}};
    one(&f, &p, "POST", "/echo", bin, sizeof bin - 1, h, 1, 0);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.body_len, sizeof bin - 1);
    assert_memory_equal(p.body, bin, sizeof bin - 1);
    assert_string_equal(p.hdr[0], "15");
    assert_string_equal(p.hdr[1], "application/x-test");
    result_free(&p);

    struct pb_header x[] = {{"X-Test", "custom value"}};
    struct result g = {0};
    one(&f, &g, "GET", "/headers", NULL, 0, x, 1, 0);
    assert_int_equal(g.status, 200);
    assert_string_equal(g.body, "custom value");
    result_free(&g);

    struct result n = {0};
    one(&f, &n, "PUT", "/echo", "", 0, NULL, 0, 0);
    assert_int_equal(n.status, 200);
    assert_int_equal(n.body_len, 0);
    assert_string_equal(n.body, "");
    result_free(&n);

    fixture_done(&f);
}

/* ---- many at once ------------------------------------------------------------------------- */

#define MANY_TOTAL     200
#define MANY_IN_FLIGHT 20

struct many {
    struct fixture *f;
    int started;
    int completed;
    int bad;
    int calls[MANY_TOTAL];
    int ids[MANY_TOTAL];
    size_t max_in_flight;
};

static struct many *the_many;
static void many_start(struct many *m);

static void many_done(void *arg, const struct pb_http_response *resp)
{
    int *id = arg;
    struct many *m = the_many;
    assert_false(in_request);
    m->calls[*id]++;
    char want[32];
    snprintf(want, sizeof want, "n=%d", *id);
    if (resp->status != 200 || resp->body_len != strlen(want) ||
        memcmp(resp->body, want, resp->body_len) != 0)
        m->bad++;
    m->completed++;
    if (m->started < MANY_TOTAL)
        many_start(m); /* a new request from inside `done` */
    if (m->completed == MANY_TOTAL)
        pb_loop_stop(m->f->loop);
}

static void many_start(struct many *m)
{
    int id = m->started++;
    m->ids[id] = id;
    char path[32];
    snprintf(path, sizeof path, "/n/%d", id);
    assert_int_equal(request(m->f->client, NULL, path, NULL, 0, NULL, 0, 0, many_done, &m->ids[id]),
                     0);
    size_t n = pb_http_client_in_flight(m->f->client);
    if (n > m->max_in_flight)
        m->max_in_flight = n;
}

static void test_many_concurrent(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);
    struct many *m = calloc(1, sizeof *m);
    m->f = &f;
    the_many = m;
    for (int i = 0; i < MANY_IN_FLIGHT; i++)
        many_start(m);
    assert_int_equal(run_loop_for(f.loop, 60000), 0);
    assert_int_equal(m->completed, MANY_TOTAL);
    assert_int_equal(m->bad, 0);
    for (int i = 0; i < MANY_TOTAL; i++)
        assert_int_equal(m->calls[i], 1);
    assert_int_equal(m->max_in_flight, MANY_IN_FLIGHT);
    assert_int_equal(pb_http_client_in_flight(f.client), 0);
    free(m);
    fixture_done(&f);
}

/* ---- a large upload ----------------------------------------------------------------------- */

static uint32_t crc32_ieee(const unsigned char *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_big_post(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);
    size_t n = 4u * 1024 * 1024;
    unsigned char *body = malloc(n);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (unsigned char)(x >> 16);
    }
    char want[64];
    snprintf(want, sizeof want, "%zu %08x", n, crc32_ieee(body, n));
    /* Without the 0 us re-arm this stalls until the timeout (the note's fix 1). */
    for (int round = 0; round < 2; round++) {
        struct result r = {0};
        one(&f, &r, "POST", "/sum", (const char *)body, n, NULL, 0, 20000);
        assert_null(r.error);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, want);
        result_free(&r);
    }
    free(body);
    fixture_done(&f);
}

/* ---- statuses and errors ------------------------------------------------------------------ */

static void test_retry_after(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);
    struct result r = {.want_hdr = {"retry-after"}};
    one(&f, &r, NULL, "/429", NULL, 0, NULL, 0, 0);
    assert_int_equal(r.status, 429);
    assert_string_equal(r.body, "slow down");
    assert_string_equal(r.hdr[0], "7");
    assert_int_equal(r.retry_after_ms, 7000);
    result_free(&r);

    struct result d = {.want_hdr = {"retry-after"}};
    one(&f, &d, NULL, "/429date", NULL, 0, NULL, 0, 0);
    assert_int_equal(d.status, 429);
    assert_non_null(d.hdr[0]);
    assert_true(strstr(d.hdr[0], "GMT") != NULL);
    /* 120 s ahead, to the second, minus however long the request took */
    assert_true(d.retry_after_ms > 100000 && d.retry_after_ms <= 121000);
    result_free(&d);
    fixture_done(&f);
}

static void test_refused(void **state)
{
    (void)state;
    /* A bound socket that does not listen: connecting to its port is refused, and nothing
     * else can take the port meanwhile. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(sa.sin_port));

    struct fixture f;
    fixture_init(&f, 1, 0);
    for (int i = 0; i < 3; i++) {
        struct result r = {0};
        one(&f, &r, NULL, url, NULL, 0, NULL, 0, 0);
        assert_int_equal(r.status, 0);
        assert_non_null(r.error);
        assert_null(r.body);
        result_free(&r);
    }
    /* and the client still works afterwards */
    struct result ok = {0};
    one(&f, &ok, NULL, "/hello", NULL, 0, NULL, 0, 0);
    assert_int_equal(ok.status, 200);
    result_free(&ok);
    fixture_done(&f);
    close(s);
}

static void test_response_cap(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 50000);
    struct result r = {0};
    one(&f, &r, NULL, "/big/200000", NULL, 0, NULL, 0, 0);
    assert_int_equal(r.status, 0);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "larger than 50000"));
    result_free(&r);

    struct result ok = {0};
    one(&f, &ok, NULL, "/big/50000", NULL, 0, NULL, 0, 0); /* exactly the cap is fine */
    assert_int_equal(ok.status, 200);
    assert_int_equal(ok.body_len, 50000);
    result_free(&ok);
    fixture_done(&f);
}

static void test_timeout(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);
    struct result r = {0};
    one(&f, &r, NULL, "/hang", NULL, 0, NULL, 0, 300);
    assert_int_equal(r.status, 0);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "timed out"));
    result_free(&r);
    fixture_done(&f);
}

static void test_plain_http_refused_later(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 0, 0); /* https only */
    struct result r = {0};
    one(&f, &r, NULL, "/hello", NULL, 0, NULL, 0, 0); /* fails, but through `done`, later */
    assert_int_equal(r.status, 0);
    assert_non_null(r.error);
    result_free(&r);
    fixture_done(&f);
}

static void never_cb(void *arg, const struct pb_http_response *resp)
{
    (void)arg;
    (void)resp;
    fail_msg("done called for a request that was not accepted");
}

static void test_invalid_requests(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);
    struct pb_header crlf[] = {{"X-Evil", "a\r\nInjected: yes"}};
    assert_int_equal(request(f.client, NULL, "/hello", NULL, 0, crlf, 1, 0, never_cb, NULL),
                     PB_ERR_INVALID);
    struct pb_header badname[] = {{"X Bad", "v"}};
    assert_int_equal(request(f.client, NULL, "/hello", NULL, 0, badname, 1, 0, never_cb, NULL),
                     PB_ERR_INVALID);
    assert_int_equal(request(f.client, "get", "/hello", NULL, 0, NULL, 0, 0, never_cb, NULL),
                     PB_ERR_INVALID);
    assert_int_equal(pb_http_client_request(f.client, NULL, never_cb, NULL), PB_ERR_INVALID);
    assert_int_equal(pb_http_client_in_flight(f.client), 0);
    fixture_done(&f);
}

/* ---- destroy with requests in flight ------------------------------------------------------ */

static void test_destroy_in_flight(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, 1, 0);
    struct result hang[5] = {{0}};
    for (int i = 0; i < 5; i++)
        assert_int_equal(request(f.client, NULL, "/hang", NULL, 0, NULL, 0, 0, done_cb, &hang[i]),
                         0);
    /* Let them connect: run until an ordinary request, started after them, has completed. */
    struct result ok = {.loop = f.loop, .stop_when_done = 1};
    assert_int_equal(request(f.client, NULL, "/hello", NULL, 0, NULL, 0, 0, done_cb, &ok), 0);
    assert_int_equal(run_loop_for(f.loop, 30000), 0);
    assert_int_equal(ok.status, 200);
    assert_int_equal(pb_http_client_in_flight(f.client), 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(hang[i].calls, 0);

    pb_http_client_destroy(f.client);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(hang[i].calls, 1);
        assert_int_equal(hang[i].status, 0);
        assert_string_equal(hang[i].error, "cancelled");
        result_free(&hang[i]);
    }
    result_free(&ok);
    pb_loop_destroy(f.loop);
}

static int group_setup(void **state)
{
    (void)state;
    fake_port = fake_spawn("net_http_fake.py", NULL, 1, &fake_pid);
    return fake_port > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    fake_stop(fake_pid);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_and_post),     cmocka_unit_test(test_many_concurrent),
        cmocka_unit_test(test_big_post),         cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_refused),          cmocka_unit_test(test_response_cap),
        cmocka_unit_test(test_timeout),          cmocka_unit_test(test_plain_http_refused_later),
        cmocka_unit_test(test_invalid_requests), cmocka_unit_test(test_destroy_in_flight),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/*
 * Tests for the daemon's HTTP server, driven by tests/fakes/net_http_client.py (urllib, raw
 * sockets and the websockets client): routes and 404, longest-prefix matching, request fields
 * and headers, 413, malformed requests, keep-alive, and websockets on the same port (refusal
 * from on_open, fragments, 1009, server push and close). The Python side checks what it gets;
 * this side checks what the routes saw, including that on_close runs exactly once per accepted
 * websocket.
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

#include <cJSON.h>
#include <cmocka.h>

#include "http_server.h"
#include "loop.h"
#include "test_net_fake.h"

#define MAX_BODY 1024

struct counts {
    int http_calls;
    int ws_opens; /* accepted */
    int ws_refusals;
    int ws_messages;
    int ws_closes;
    int ws_double_close;
    int live;
    int stop_on_message;
    struct pb_loop *loop;
};

static struct counts counts;

/* ---- HTTP routes -------------------------------------------------------------------------- */

static int hello_route(void *arg, const struct pb_server_request *req,
                       struct pb_server_response *resp)
{
    (void)arg;
    (void)req;
    counts.http_calls++;
    resp->status = 200;
    resp->body = "hi";
    resp->body_len = 2;
    resp->extra_headers = "X-Extra: 1\r\nBad Header: no\r\n";
    return 0;
}

static int special_route(void *arg, const struct pb_server_request *req,
                         struct pb_server_response *resp)
{
    (void)arg;
    (void)req;
    counts.http_calls++;
    resp->body = "special"; /* status 0 means 200 */
    resp->body_len = 7;
    return 0;
}

static void add_header(cJSON *o, const char *key, const struct pb_server_request *req,
                       const char *name)
{
    const char *v = req->header(req, name);
    /* asked twice: the second answer comes from the request's cache and must agree */
    const char *again = req->header(req, name);
    assert_ptr_equal(v, again);
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

static int api_route(void *arg, const struct pb_server_request *req,
                     struct pb_server_response *resp)
{
    (void)arg;
    counts.http_calls++;
    assert_int_equal(req->size, sizeof *req);
    if (strcmp(req->path, "/api/fail") == 0)
        return -1;
    /* the body is NUL-terminated for convenience, but body_len is what counts */
    assert_int_equal(req->body[req->body_len], '\0');
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "method", req->method);
    cJSON_AddStringToObject(o, "path", req->path);
    cJSON_AddStringToObject(o, "query", req->query);
    cJSON_AddNumberToObject(o, "body_len", (double)req->body_len);
    cJSON_AddStringToObject(o, "body", req->body);
    cJSON_AddStringToObject(o, "peer", req->peer);
    add_header(o, "ctype", req, "Content-Type");
    add_header(o, "custom", req, "X-Custom-Thing");
    add_header(o, "origin", req, "origin");
    add_header(o, "cookie", req, "Cookie");
    add_header(o, "auth", req, "Authorization");
    add_header(o, "ua", req, "user-agent");
    add_header(o, "host", req, "Host");
    add_header(o, "missing", req, "X-Not-Sent");
    char *json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    /* the server copies the body after we return; keep ours until the next call */
    static char *last;
    free(last);
    last = json;
    resp->status = 200;
    resp->content_type = "application/json";
    resp->body = json;
    resp->body_len = strlen(json);
    return 0;
}

static unsigned char big_body[256 * 4096];

static int big_route(void *arg, const struct pb_server_request *req,
                     struct pb_server_response *resp)
{
    (void)arg;
    (void)req;
    counts.http_calls++;
    for (size_t i = 0; i < sizeof big_body; i++)
        big_body[i] = (unsigned char)i;
    resp->status = 200;
    resp->content_type = "application/octet-stream";
    resp->body = (const char *)big_body;
    resp->body_len = sizeof big_body;
    return 0;
}

/* ---- the websocket route ------------------------------------------------------------------ */

static int ws_open(void *arg, pb_ws_conn *conn, const struct pb_server_request *req)
{
    (void)arg;
    const char *origin = req->header(req, "Origin");
    if (!origin || strcmp(origin, "http://good.example") != 0) {
        counts.ws_refusals++;
        return 403;
    }
    if (strcmp(req->query, "token=ok") != 0) {
        counts.ws_refusals++;
        return 401;
    }
    assert_string_equal(req->path, "/ws/chat");
    assert_string_equal(req->method, "GET");
    counts.ws_opens++;
    counts.live++;
    pb_ws_conn_set_user(conn, &counts);
    return 0;
}

static void ws_message(void *arg, pb_ws_conn *conn, const char *data, size_t len)
{
    (void)arg;
    assert_ptr_equal(pb_ws_conn_user(conn), &counts);
    counts.ws_messages++;
    if (counts.stop_on_message && counts.ws_messages == 2)
        pb_loop_stop(counts.loop);
    if (len == 5 && memcmp(data, "close", 5) == 0) {
        pb_ws_conn_close(conn, 4000, "bye");
        assert_true(pb_ws_conn_send(conn, "late", 4) < 0); /* closing: refused */
        return;
    }
    if (len == 4 && memcmp(data, "push", 4) == 0) {
        for (int i = 0; i < 3; i++) {
            char m[16];
            int n = snprintf(m, sizeof m, "push %d", i);
            assert_int_equal(pb_ws_conn_send(conn, m, (size_t)n), 0);
        }
        return;
    }
    char *out = malloc(len + 5);
    memcpy(out, "echo:", 5);
    memcpy(out + 5, data, len);
    assert_int_equal(pb_ws_conn_send(conn, out, len + 5), 0);
    free(out);
}

static void ws_close(void *arg, pb_ws_conn *conn)
{
    (void)arg;
    if (pb_ws_conn_user(conn) != &counts)
        counts.ws_double_close++;
    pb_ws_conn_set_user(conn, NULL);
    counts.ws_closes++;
    counts.live--;
}

static const struct pb_ws_server_ops ws_ops = {
    .size = sizeof ws_ops,
    .on_open = ws_open,
    .on_message = ws_message,
    .on_close = ws_close,
    .max_message = 1024 + 5, /* "echo:" is not counted: the limit is on what arrives */
};

/* ---- fixture ------------------------------------------------------------------------------ */

struct fixture {
    struct pb_loop *loop;
    struct pb_http_server *srv;
    int port;
};

static int route_owner; /* the arg the routes are registered with */

static void start(struct fixture *f)
{
    memset(&counts, 0, sizeof counts);
    assert_int_equal(pb_loop_create(&f->loop, NULL, NULL), 0);
    counts.loop = f->loop;
    struct pb_http_server_config cfg = {.listen = "127.0.0.1", .port = 0, .max_body = MAX_BODY};
    assert_int_equal(pb_http_server_start(f->loop, &cfg, &f->srv), 0);
    f->port = pb_http_server_port(f->srv);
    assert_true(f->port > 0);
    assert_int_equal(pb_http_server_route(f->srv, "/hello", hello_route, &route_owner), 0);
    assert_int_equal(pb_http_server_route(f->srv, "/api/", api_route, &route_owner), 0);
    assert_int_equal(pb_http_server_route(f->srv, "/api/special", special_route, &route_owner), 0);
    assert_int_equal(pb_http_server_route(f->srv, "/big", big_route, &route_owner), 0);
    assert_int_equal(pb_http_server_ws_route(f->srv, "/ws/chat", &ws_ops, &route_owner), 0);
    /* the same path twice is refused; a relative path is invalid */
    assert_int_equal(pb_http_server_route(f->srv, "/hello", hello_route, &route_owner),
                     PB_ERR_DONE);
    assert_int_equal(pb_http_server_route(f->srv, "hello", hello_route, &route_owner),
                     PB_ERR_INVALID);
}

static void stop(struct fixture *f)
{
    pb_http_server_stop(f->srv);
    pb_loop_destroy(f->loop);
}

static int run_client(struct fixture *f, const char *scenario)
{
    char port[16];
    snprintf(port, sizeof port, "%d", f->port);
    const char *args[] = {port, scenario, NULL};
    pid_t pid;
    fake_spawn("net_http_client.py", args, 0, &pid);
    return run_loop_until_child_exits(f->loop, pid, 60000);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_routes(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    assert_int_equal(run_client(&f, "routes"), 0);
    assert_int_equal(counts.http_calls, 12); /* every request the script makes to a route */
    stop(&f);
}

static void test_body_too_big(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    assert_int_equal(run_client(&f, "too_big"), 0);
    assert_int_equal(counts.http_calls, 1); /* only the request at the limit reached the route */
    stop(&f);
}

static void test_malformed_requests(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    assert_int_equal(run_client(&f, "malformed"), 0);
    assert_int_equal(counts.ws_opens, 0);
    stop(&f);
}

static void test_websockets(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    assert_int_equal(run_client(&f, "ws"), 0);
    assert_int_equal(counts.ws_opens, 4);
    assert_int_equal(counts.ws_refusals, 2);
    /* The last close may still be in flight when the client exits: let it land. */
    for (int i = 0; i < 1000 && counts.ws_closes < counts.ws_opens; i++)
        run_loop_for(f.loop, 5);
    assert_int_equal(counts.ws_closes, 4); /* exactly once each, refusals none */
    assert_int_equal(counts.ws_double_close, 0);
    assert_int_equal(counts.live, 0);
    stop(&f);
}

static void test_unroute(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    pb_http_server_unroute(f.srv, &route_owner);
    /* every route is gone: /hello now answers 404 */
    char port[16];
    snprintf(port, sizeof port, "%d", f.port);
    const char *args[] = {port, "gone", NULL};
    pid_t pid;
    fake_spawn("net_http_client.py", args, 0, &pid);
    assert_int_equal(run_loop_until_child_exits(f.loop, pid, 60000), 0);
    assert_int_equal(counts.http_calls, 0);
    stop(&f);
}

/* A websocket is connected and has talked ("hello", then "ready" once the echo arrived); the
 * test then ends it from the server's side. */
static pid_t hold_connection(struct fixture *f, const char *want_code)
{
    char port[16];
    snprintf(port, sizeof port, "%d", f->port);
    const char *args[] = {port, "hold", want_code, NULL};
    pid_t pid;
    fake_spawn("net_http_client.py", args, 0, &pid);
    counts.stop_on_message = 1;
    assert_int_equal(run_loop_for(f->loop, 30000), 0);
    counts.stop_on_message = 0;
    assert_int_equal(counts.ws_opens, 1);
    assert_int_equal(counts.ws_closes, 0);
    return pid;
}

static void test_stop_with_live_websocket(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    pid_t pid = hold_connection(&f, "any");
    pb_http_server_stop(f.srv); /* the route hears on_close at once, and only once */
    assert_int_equal(counts.ws_closes, 1);
    assert_int_equal(counts.ws_double_close, 0);
    assert_int_equal(run_loop_until_child_exits(f.loop, pid, 30000), 0);
    assert_int_equal(counts.ws_closes, 1);
    pb_loop_destroy(f.loop);
}

static void test_unroute_with_live_websocket(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    pid_t pid = hold_connection(&f, "1001");
    /* The connector is going away (the host may have destroyed it already): its websockets
     * close with 1001 and it hears nothing more, on_close included. */
    pb_http_server_unroute(f.srv, &route_owner);
    assert_int_equal(run_loop_until_child_exits(f.loop, pid, 30000), 0);
    assert_int_equal(counts.ws_closes, 0);
    assert_int_equal(counts.ws_messages, 2);
    stop(&f);
}

static void test_port_in_use(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(s, 1), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);

    struct pb_loop *loop;
    assert_int_equal(pb_loop_create(&loop, NULL, NULL), 0);
    struct pb_http_server *srv = NULL;
    struct pb_http_server_config cfg = {.listen = "127.0.0.1", .port = ntohs(sa.sin_port)};
    assert_true(pb_http_server_start(loop, &cfg, &srv) < 0);
    assert_null(srv);
    pb_loop_destroy(loop);
    close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_body_too_big),
        cmocka_unit_test(test_malformed_requests),
        cmocka_unit_test(test_websockets),
        cmocka_unit_test(test_unroute),
        cmocka_unit_test(test_stop_with_live_websocket),
        cmocka_unit_test(test_unroute_with_live_websocket),
        cmocka_unit_test(test_port_in_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

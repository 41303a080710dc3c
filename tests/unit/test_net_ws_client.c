/*
 * Tests for the outbound websocket client against tests/fakes/net_ws_fake.py (Python
 * websockets): open, echo, a fragmented message, one over the 1 MiB bound (1009), a close from
 * the server with its code and reason, a local close, refused and failed connects. on_close
 * must come exactly once, never from inside pb_ws_client_connect, and end every pb_ws.
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

#include "loop.h"
#include "test_net_fake.h"
#include "ws_client.h"

static int fake_port;
static pid_t fake_pid;
static int in_connect;

struct wsr {
    struct pb_loop *loop;
    pb_ws *ws;
    int opened;
    int closed;
    int close_code;
    char close_reason[128];
    char *msgs[8];
    size_t lens[8];
    int n_msgs;
};

static void on_open(void *arg, pb_ws *ws)
{
    struct wsr *r = arg;
    assert_false(in_connect);
    assert_ptr_equal(ws, r->ws);
    r->opened++;
    pb_loop_stop(r->loop);
}

static void on_message(void *arg, pb_ws *ws, const char *data, size_t len)
{
    struct wsr *r = arg;
    assert_ptr_equal(ws, r->ws);
    if (r->n_msgs < 8) {
        r->msgs[r->n_msgs] = malloc(len + 1);
        memcpy(r->msgs[r->n_msgs], data, len);
        r->msgs[r->n_msgs][len] = '\0';
        r->lens[r->n_msgs] = len;
        r->n_msgs++;
    }
    pb_loop_stop(r->loop);
}

static void on_close(void *arg, pb_ws *ws, int code, const char *reason)
{
    struct wsr *r = arg;
    assert_false(in_connect);
    assert_ptr_equal(ws, r->ws);
    /* closed: sending is refused from here on */
    assert_true(pb_ws_client_send(ws, "x", 1) < 0);
    r->closed++;
    r->close_code = code;
    snprintf(r->close_reason, sizeof r->close_reason, "%s", reason ? reason : "");
    pb_loop_stop(r->loop);
}

static const struct pb_ws_client_ops ops = {
    .size = sizeof ops,
    .on_open = on_open,
    .on_message = on_message,
    .on_close = on_close,
};

static void wsr_free(struct wsr *r)
{
    for (int i = 0; i < r->n_msgs; i++)
        free(r->msgs[i]);
}

static pb_ws *connect_to(struct wsr *r, const char *url, int allow_plain)
{
    in_connect = 1;
    r->ws = pb_ws_client_connect(r->loop, url, &ops, r, allow_plain);
    in_connect = 0;
    return r->ws;
}

static void connect_fake(struct wsr *r, const char *scheme, const char *path)
{
    char url[128];
    snprintf(url, sizeof url, "%s://127.0.0.1:%d%s", scheme, fake_port, path);
    assert_non_null(connect_to(r, url, 1));
    assert_int_equal(r->closed, 0);
}

/* Runs the loop until the next event the test waits for. */
static void step(struct wsr *r)
{
    assert_int_equal(run_loop_for(r->loop, 20000), 0);
}

static void test_echo_fragments_and_too_big(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    connect_fake(&r, "ws", "/chat?x=1");
    assert_true(pb_ws_client_send(r.ws, "early", 5) < 0); /* not open yet */
    step(&r);
    assert_int_equal(r.opened, 1);

    assert_int_equal(pb_ws_client_send(r.ws, "hello", 5), 0);
    step(&r);
    assert_int_equal(r.n_msgs, 1);
    assert_string_equal(r.msgs[0], "hello");

    /* one message, sent by the server in three fragments, arrives whole */
    const char *frag = "frag:ab,cd,ef";
    assert_int_equal(pb_ws_client_send(r.ws, frag, strlen(frag)), 0);
    step(&r);
    assert_int_equal(r.n_msgs, 2);
    assert_string_equal(r.msgs[1], "abcdef");
    assert_int_equal(r.lens[1], 6);

    /* a message near the bound is fine ... */
    const char *near = "big:1000000";
    assert_int_equal(pb_ws_client_send(r.ws, near, strlen(near)), 0);
    step(&r);
    assert_int_equal(r.n_msgs, 3);
    assert_int_equal(r.lens[2], 1000000);

    /* ... one over it closes the link with 1009 */
    const char *big = "big:2000000";
    assert_int_equal(pb_ws_client_send(r.ws, big, strlen(big)), 0);
    step(&r);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.close_code, 1009);
    assert_string_equal(r.close_reason, "message too big");
    assert_int_equal(r.n_msgs, 3);
    assert_int_equal(r.opened, 1);
    wsr_free(&r);
    pb_loop_destroy(r.loop);
}

static void test_server_close_with_code(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    connect_fake(&r, "ws", "/");
    step(&r);
    assert_int_equal(r.opened, 1);
    const char *cmd = "close:4001:bye now";
    assert_int_equal(pb_ws_client_send(r.ws, cmd, strlen(cmd)), 0);
    step(&r);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.close_code, 4001);
    assert_string_equal(r.close_reason, "bye now");
    wsr_free(&r);
    pb_loop_destroy(r.loop);
}

static void test_local_close(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    connect_fake(&r, "ws", "/");
    step(&r);
    assert_int_equal(r.opened, 1);
    assert_int_equal(pb_ws_client_send(r.ws, "last words", 10), 0);
    pb_ws_client_close(r.ws, 1000, "done here");
    pb_ws_client_close(r.ws, 1001, "twice"); /* ignored */
    assert_true(pb_ws_client_send(r.ws, "more", 4) < 0);
    while (!r.closed)
        step(&r);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.close_code, 1000);
    assert_string_equal(r.close_reason, "done here");
    wsr_free(&r);
    pb_loop_destroy(r.loop);
}

static void test_connect_refused(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", ntohs(sa.sin_port));

    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    assert_non_null(connect_to(&r, url, 1));
    assert_int_equal(r.closed, 0); /* never from inside connect */
    step(&r);
    assert_int_equal(r.opened, 0);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.close_code, 1006);
    pb_loop_destroy(r.loop);
    close(s);
}

static void test_close_while_connecting(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    connect_fake(&r, "ws", "/");
    pb_ws_client_close(r.ws, 4000, "changed my mind");
    assert_int_equal(r.closed, 0);
    step(&r);
    assert_int_equal(r.opened, 0);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.close_code, 4000);
    assert_string_equal(r.close_reason, "changed my mind");
    pb_loop_destroy(r.loop);
}

static void test_tls_to_plain_server_fails(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    connect_fake(&r, "wss", "/");
    step(&r);
    assert_int_equal(r.opened, 0);
    assert_int_equal(r.closed, 1);
    assert_int_equal(r.close_code, 1006);
    pb_loop_destroy(r.loop);
}

static void test_settle_at_shutdown(void **state)
{
    (void)state;
    struct wsr a = {0}, b = {0};
    assert_int_equal(pb_loop_create(&a.loop, NULL, NULL), 0);
    b.loop = a.loop;
    connect_fake(&a, "ws", "/");
    connect_fake(&b, "ws", "/");
    while (a.opened + b.opened < 2)
        step(&a);
    /* what a daemon does at shutdown: close, then let the close handshakes finish */
    pb_ws_client_close(a.ws, 1001, "shutting down");
    pb_ws_client_close(b.ws, 1001, "shutting down");
    assert_int_equal(pb_loop_settle(a.loop, 10000), 0);
    assert_int_equal(a.closed, 1);
    assert_int_equal(b.closed, 1);
    assert_int_equal(a.close_code, 1001);
    assert_int_equal(pb_loop_settle(a.loop, 10000), 0); /* nothing held: returns at once */
    pb_loop_destroy(a.loop);
}

static void test_destroy_with_open_websocket(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    connect_fake(&r, "ws", "/");
    step(&r);
    assert_int_equal(r.opened, 1);
    /* Still open when the loop goes: freed without a callback (its connector is gone by
     * then); the sanitizers check nothing leaks. */
    pb_loop_destroy(r.loop);
    assert_int_equal(r.closed, 0);
}

static void test_refused_urls(void **state)
{
    (void)state;
    struct wsr r = {0};
    assert_int_equal(pb_loop_create(&r.loop, NULL, NULL), 0);
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/", fake_port);
    assert_null(connect_to(&r, url, 0)); /* plain ws only when allowed */
    assert_null(connect_to(&r, "http://127.0.0.1/", 1));
    assert_null(connect_to(&r, "", 1));
    assert_null(pb_ws_client_connect(r.loop, NULL, &ops, &r, 1));
    assert_int_equal(r.closed, 0);
    pb_loop_destroy(r.loop);
}

static int group_setup(void **state)
{
    (void)state;
    fake_port = fake_spawn("net_ws_fake.py", NULL, 1, &fake_pid);
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
        cmocka_unit_test(test_echo_fragments_and_too_big),
        cmocka_unit_test(test_server_close_with_code),
        cmocka_unit_test(test_local_close),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_close_while_connecting),
        cmocka_unit_test(test_tls_to_plain_server_fails),
        cmocka_unit_test(test_settle_at_shutdown),
        cmocka_unit_test(test_destroy_with_open_websocket),
        cmocka_unit_test(test_refused_urls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

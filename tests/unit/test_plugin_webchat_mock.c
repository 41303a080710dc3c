/*
 * The mock host itself, for the parts the web chat's own tests do not reach but other
 * connectors' tests will rely on: configuration getters, key/value order and failures, timer
 * order, route matching, outbound HTTP and websockets, emit and counters. (It is built with
 * the web chat's sources because plugin tests are grouped by connector; it does not use them.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mock_host.h"
#include "pulsebot/plugin.h"

static struct mock_host *m;
static const struct pb_host *h;
static pb_host_ctx *ctx;

static int setup(void **state)
{
    m = mock_host_new();
    h = mock_host_api(m);
    ctx = mock_host_ctx(m);
    return 0;
}

static int teardown(void **state)
{
    mock_host_free(m);
    return 0;
}

static void test_config(void **state)
{
    static const char *const items[] = {"a", "b", NULL};
    long long i = 0;
    int b = 0;
    char secret[8];

    mock_config_string(m, "team", "T1");
    mock_config_int(m, "n", 42);
    mock_config_bool(m, "on", 1);
    mock_config_list(m, "l", items);
    mock_secret(m, "bot_token", "xoxb-1");
    assert_int_equal(h->size, sizeof(struct pb_host));
    assert_int_equal(h->abi_version, PB_ABI_VERSION);
    assert_string_equal(h->config_string(ctx, "team"), "T1");
    assert_null(h->config_string(ctx, "n")); /* a key is read with its own type only */
    assert_int_equal(h->config_int(ctx, "n", &i), 0);
    assert_int_equal(i, 42);
    assert_int_not_equal(h->config_int(ctx, "missing", &i), 0);
    assert_int_equal(h->config_bool(ctx, "on", &b), 0);
    assert_int_equal(b, 1);
    assert_string_equal(h->config_list(ctx, "l", 1), "b");
    assert_null(h->config_list(ctx, "l", 2));
    assert_int_equal(h->secret(ctx, "bot_token", secret, sizeof(secret)), 0);
    assert_string_equal(secret, "xoxb-1");
    assert_int_equal(h->secret(ctx, "bot_token", secret, 3), PB_ERR_INVALID);
    assert_int_equal(h->secret(ctx, "other", secret, sizeof(secret)), PB_ERR_UNKNOWN);
}

struct seen {
    char keys[8][32];
    size_t n;
    size_t stop_after;
};

static int visit(void *arg, const char *key, const char *value)
{
    struct seen *s = arg;

    strcpy(s->keys[s->n++], key);
    return s->stop_after && s->n >= s->stop_after;
}

static void test_kv(void **state)
{
    struct seen s = {0};
    char *v = NULL;

    assert_int_equal(h->kv_put(ctx, "k/2", "two"), 0);
    assert_int_equal(h->kv_put(ctx, "k/1", "one"), 0);
    assert_int_equal(h->kv_put(ctx, "j/1", "other"), 0);
    assert_int_equal(h->kv_put(ctx, "k/1", "uno"), 0);
    assert_int_equal(h->kv_get(ctx, "k/1", &v), 0);
    assert_string_equal(v, "uno");
    free(v);
    assert_int_equal(h->kv_get(ctx, "k/3", &v), PB_ERR_UNKNOWN);
    assert_null(v);
    assert_int_equal(h->kv_scan(ctx, "k/", visit, &s), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "k/1");
    assert_string_equal(s.keys[1], "k/2");
    memset(&s, 0, sizeof(s));
    s.stop_after = 1;
    assert_int_equal(h->kv_scan(ctx, "", visit, &s), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.keys[0], "j/1");
    assert_int_equal(h->kv_delete(ctx, "k/2"), 0);
    assert_int_equal(h->kv_delete(ctx, "k/2"), PB_ERR_UNKNOWN);
    assert_int_equal(mock_kv_count(m, "k/"), 1);
    mock_kv_fail(m, MOCK_KV_PUT, PB_ERR_STORE);
    assert_int_equal(h->kv_put(ctx, "k/9", "x"), PB_ERR_STORE);
    assert_null(mock_kv_value(m, "k/9"));
}

static char order[16];

static void fire(void *arg)
{
    strncat(order, arg, 1);
}

static pb_timer *rearm;

static void fire_and_rearm(void *arg)
{
    strncat(order, arg, 1);
    if (strlen(order) < 4)
        h->timer_arm(rearm, 10);
}

static void test_timers(void **state)
{
    pb_timer *a = h->timer_new(ctx, fire, "a");
    pb_timer *b = h->timer_new(ctx, fire, "b");
    pb_timer *c = h->timer_new(ctx, fire, "c");
    int64_t t0 = h->now_ms(ctx);

    order[0] = '\0';
    h->timer_arm(a, 30);
    h->timer_arm(b, 10);
    h->timer_arm(c, 10);
    h->timer_arm(a, 20); /* re-arming moves it */
    assert_int_equal(mock_timers_armed(m), 3);
    mock_advance(m, 15);
    assert_string_equal(order, "bc");
    assert_int_equal(h->now_ms(ctx), t0 + 15);
    h->timer_cancel(a);
    mock_advance(m, 100);
    assert_string_equal(order, "bc");
    h->timer_free(a);
    h->timer_free(b);
    h->timer_free(c);
    order[0] = '\0';
    rearm = h->timer_new(ctx, fire_and_rearm, "r");
    h->timer_arm(rearm, 10);
    mock_advance(m, 25);
    assert_string_equal(order, "rr");
    mock_advance(m, 100);
    assert_string_equal(order, "rrrr");
    h->timer_free(rearm);
}

static int route_hits;

static int route(void *arg, const struct pb_server_request *req, struct pb_server_response *resp)
{
    route_hits++;
    resp->status = 200;
    resp->content_type = "text/plain";
    resp->body = arg;
    resp->body_len = strlen(arg);
    resp->extra_headers = "X-One: 1\r\nX-Two: two\r\n";
    return 0;
}

static void test_routes(void **state)
{
    struct mock_response r;

    assert_int_equal(h->http_route(ctx, "/", route, "root"), 0);
    assert_int_equal(h->http_route(ctx, "/hooks/", route, "hooks"), 0);
    assert_int_equal(h->http_route(ctx, "/hooks/exact", route, "exact"), 0);
    assert_int_not_equal(h->http_route(ctx, "/hooks/", route, "again"), 0);
    mock_http(m, "POST", "/hooks/slack", "", NULL, 0, "{}", &r);
    assert_string_equal(r.body, "hooks");
    assert_string_equal(mock_response_header(&r, "x-two"), "two");
    assert_null(mock_response_header(&r, "X-Thr"));
    mock_response_free(&r);
    mock_http(m, "GET", "/hooks/exact", "", NULL, 0, NULL, &r);
    assert_string_equal(r.body, "exact");
    mock_response_free(&r);
    mock_http(m, "GET", "/else", "", NULL, 0, NULL, &r);
    assert_string_equal(r.body, "root");
    mock_response_free(&r);
    assert_int_equal(route_hits, 3);
}

struct http_seen {
    int calls, status;
    char body[64];
    char header[64];
};

static void http_done(void *arg, const struct pb_http_response *resp)
{
    struct http_seen *s = arg;
    const char *v = resp->header ? resp->header(resp, "retry-after") : NULL;

    s->calls++;
    s->status = resp->status;
    snprintf(s->body, sizeof(s->body), "%.*s", (int)resp->body_len, resp->body);
    snprintf(s->header, sizeof(s->header), "%s", v ? v : "");
}

static void test_http_client(void **state)
{
    const struct pb_header hdr[] = {{"Authorization", "Bearer x"}};
    const struct pb_header answer[] = {{"Retry-After", "3"}};
    struct pb_http_request req = {.size = sizeof(req),
                                  .method = "POST",
                                  .url = "https://slack.test/api/chat.postMessage",
                                  .headers = hdr,
                                  .n_headers = 1,
                                  .body = "{\"a\":1}",
                                  .body_len = 7};
    struct http_seen s = {0};
    const struct mock_http_call *c;

    assert_int_equal(h->http_request(ctx, &req, http_done, &s), 0);
    assert_int_equal(mock_http_call_count(m), 1);
    c = mock_http_call(m, 0);
    assert_string_equal(c->method, "POST");
    assert_string_equal(c->url, "https://slack.test/api/chat.postMessage");
    assert_string_equal(c->headers[0], "Authorization: Bearer x");
    assert_string_equal(c->body, "{\"a\":1}");
    assert_int_equal(s.calls, 0); /* the answer comes later, when the test gives it */
    mock_http_answer(m, 0, 429, "slow down", answer, 1, 3000, NULL);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, 429);
    assert_string_equal(s.body, "slow down");
    assert_string_equal(s.header, "3");
    assert_true(mock_http_call(m, 0)->answered);
    mock_http_fail(m, PB_ERR_BUSY);
    assert_int_equal(h->http_request(ctx, &req, http_done, &s), PB_ERR_BUSY);
}

struct ws_seen {
    int opened, closed, close_code;
    char last[64];
    pb_ws *ws;
};

static void ws_open(void *arg, pb_ws *ws)
{
    ((struct ws_seen *)arg)->opened++;
}

static void ws_message(void *arg, pb_ws *ws, const char *data, size_t len)
{
    struct ws_seen *s = arg;

    snprintf(s->last, sizeof(s->last), "%.*s", (int)len, data);
    h->ws_send(ws, "pong", 4);
}

static void ws_close(void *arg, pb_ws *ws, int code, const char *reason)
{
    struct ws_seen *s = arg;

    s->closed++;
    s->close_code = code;
}

static void test_ws_client(void **state)
{
    const struct pb_ws_client_ops ops = {
        .size = sizeof(ops), .on_open = ws_open, .on_message = ws_message, .on_close = ws_close};
    struct ws_seen s = {0};
    pb_ws *ws = h->ws_connect(ctx, "wss://gateway.test/", &ops, &s);
    struct mock_ws *w = mock_wsc(m, 0);
    int code = 0;

    assert_non_null(ws);
    assert_string_equal(mock_wsc_url(w), "wss://gateway.test/");
    assert_int_equal(h->ws_send(ws, "early", 5), PB_ERR); /* not open yet */
    mock_wsc_open(w);
    assert_int_equal(s.opened, 1);
    mock_wsc_deliver(w, "ping");
    assert_string_equal(s.last, "ping");
    assert_int_equal(mock_wsc_sent_count(w), 1);
    assert_string_equal(mock_wsc_sent(w, 0), "pong");
    h->ws_close(ws, 1000, "bye");
    assert_int_equal(s.closed, 0); /* on_close follows, from the loop */
    mock_flush(m);
    assert_int_equal(s.closed, 1);
    assert_int_equal(s.close_code, 1000);
    assert_int_equal(mock_wsc_closed(w, &code), 1);
    /* A link the platform drops. */
    ws = h->ws_connect(ctx, "wss://gateway.test/2", &ops, &s);
    w = mock_wsc(m, 1);
    mock_wsc_open(w);
    mock_wsc_drop(w, 4000, "reconnect");
    assert_int_equal(s.closed, 2);
    assert_int_equal(s.close_code, 4000);
    assert_int_equal(mock_wsc_closed(w, NULL), 0);
}

static int hooked;

static void hook(void *arg, const struct pb_event *ev)
{
    hooked = ev->type;
}

static void test_emit_and_counters(void **state)
{
    struct pb_event ev = {.size = sizeof(ev), .type = PB_EVENT_TEXT, .user = "u", .text = "hi"};
    char reply[8] = "";
    struct pb_send_result res = {.size = sizeof(res),
                                 .outcome = PB_SEND_RETRY,
                                 .retry_after_ms = 500,
                                 .error = "rate limited"};

    mock_emit_hook(m, hook, NULL);
    assert_int_equal(h->emit(ctx, &ev, reply, sizeof(reply)), 0);
    assert_int_equal(hooked, PB_EVENT_TEXT);
    assert_string_equal(mock_last_event(m)->text, "hi");
    mock_emit_result(m, PB_ERR_DONE, "already answered");
    assert_int_equal(h->emit(ctx, &ev, reply, sizeof(reply)), PB_ERR_DONE);
    assert_string_equal(reply, "already"); /* cut to the caller's buffer */
    h->send_done(ctx, 7, &res);
    assert_int_equal(mock_send_done(m, 0)->id, 7);
    assert_int_equal(mock_send_done(m, 0)->retry_after_ms, 500);
    assert_string_equal(mock_send_done(m, 0)->error, "rate limited");
    h->counter_add(ctx, "sent", 2);
    h->counter_add(ctx, "sent", 3);
    assert_int_equal(mock_counter(m, "sent"), 5);
    assert_int_equal(mock_counter(m, "never"), 0);
    h->log(ctx, PB_LOG_INFO, "hello %d", 42);
    assert_true(mock_log_contains(m, "hello 42"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ws_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_and_counters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

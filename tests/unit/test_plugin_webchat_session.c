/*
 * The web chat connector up to a signed-in browser: the ABI handshake, options and their
 * defaults, the routes and the page with its security headers, the Origin check, hello by
 * link token or demo pick, refusals, the welcome, the hello timeout and stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "mock_host.h"
#include "pulsebot/plugin.h"

static struct mock_host *m;
static struct pb_connector wc;
static int created;

static const struct pb_header same_origin[] = {
    {"Host", "127.0.0.1:8080"},
    {"Origin", "http://127.0.0.1:8080"},
};

static int setup(void **state)
{
    m = mock_host_new();
    mock_person(m, "alice", "Alice Archer");
    mock_person(m, "bob", "Bob Baker");
    mock_channel(m, "alice", "support-leads", "Support leads");
    mock_channel(m, "alice", "exec", NULL);
    mock_link(m, "tok-alice", "alice");
    mock_link(m, "tok-mallory", "mallory");
    mock_link_error(m, "tok-old", PB_ERR_EXPIRED);
    mock_link_error(m, "tok-busy", PB_ERR_BUSY);
    created = 0;
    return 0;
}

static int teardown(void **state)
{
    if (created)
        wc.destroy(wc.self);
    mock_host_free(m);
    return 0;
}

static void start(void)
{
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &wc), 0);
    created = 1;
    assert_int_equal(wc.start(wc.self), 0);
}

static struct mock_ws_conn *open_ws(void)
{
    int status = -1;
    struct mock_ws_conn *c = mock_ws_open(m, "/ws", same_origin, 2, &status);

    assert_int_equal(status, 0);
    assert_non_null(c);
    return c;
}

static cJSON *next_json(struct mock_ws_conn *c)
{
    const char *text = mock_ws_next(c);
    cJSON *j;

    assert_non_null(text);
    j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The next frame is an error and the connection was closed with `code`. */
static void assert_refused(struct mock_ws_conn *c, int code, const char *text_part)
{
    cJSON *e = next_json(c);
    int got = 0;

    assert_string_equal(jstr(e, "type"), "error");
    assert_non_null(strstr(jstr(e, "text"), text_part));
    cJSON_Delete(e);
    assert_int_equal(mock_ws_closed(c, &got), 1);
    assert_int_equal(got, code);
}

static char *read_source(const char *rel)
{
    char path[1024];
    const char *slash = strrchr(__FILE__, '/');
    FILE *f;
    long len;
    char *buf;

    snprintf(path, sizeof(path), "%.*s/../../%s", (int)(slash - __FILE__), __FILE__, rel);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* ---- ABI and options ---- */

static void test_abi(void **state)
{
    const uint32_t offered[] = {0, PB_ABI_VERSION, PB_ABI_VERSION + 1};
    const uint32_t future[] = {PB_ABI_VERSION + 1};
    const struct pb_plugin_info *info = pb_plugin_get(PB_ABI_VERSION);
    const char *want[] = {"demo_login", "allowed_origins", "path", "max_message", "history"};
    const enum pb_option_type types[] = {PB_OPT_BOOL, PB_OPT_LIST, PB_OPT_STRING, PB_OPT_INT,
                                         PB_OPT_INT};
    size_t n = 0;

    assert_int_equal(pb_plugin_abi(offered, 3), PB_ABI_VERSION);
    assert_true(pb_plugin_abi(future, 1) < 0);
    assert_true(pb_plugin_abi(NULL, 0) < 0);
    assert_null(pb_plugin_get(PB_ABI_VERSION + 1));
    assert_non_null(info);
    assert_string_equal(info->name, "webchat");
    assert_true(info->size >= sizeof(*info));
    for (; info->options[n].name; n++) {
        assert_string_equal(info->options[n].name, want[n]);
        assert_int_equal(info->options[n].type, types[n]);
        assert_false(info->options[n].required);
        assert_non_null(info->options[n].help);
    }
    assert_int_equal(n, 5);
}

static void test_defaults(void **state)
{
    char big[16384 + 1024 + 2];
    struct mock_ws_conn *c;

    start();
    assert_true(mock_http_route_registered(m, "/"));
    assert_true(mock_http_route_registered(m, "/chat.js"));
    assert_true(mock_http_route_registered(m, "/chat.css"));
    assert_true(mock_ws_route_registered(m, "/ws"));
    /* demo_login defaults to off: no people list. */
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"people\"}");
    assert_refused(c, 1008, "personal link");
    /* max_message defaults to 16384: a frame that cannot hold a text that long is refused by
     * the host with 1009 (the route allows room for the JSON around the text). */
    c = open_ws();
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    mock_ws_recv(c, big);
    int code = 0;
    assert_int_equal(mock_ws_closed(c, &code), 1);
    assert_int_equal(code, 1009);
}

static void test_custom_options(void **state)
{
    struct mock_ws_conn *c;
    cJSON *p;
    int status;

    mock_config_string(m, "path", "/chat");
    mock_config_bool(m, "demo_login", 1);
    mock_config_int(m, "max_message", 1000);
    start();
    assert_true(mock_http_route_registered(m, "/chat/"));
    assert_true(mock_http_route_registered(m, "/chat/chat.js"));
    assert_true(mock_http_route_registered(m, "/chat/chat.css"));
    assert_true(mock_ws_route_registered(m, "/chat/ws"));
    assert_false(mock_ws_route_registered(m, "/ws"));
    assert_null(mock_ws_open(m, "/ws", same_origin, 2, &status));
    assert_int_equal(status, 404);
    c = mock_ws_open(m, "/chat/ws", same_origin, 2, &status);
    assert_non_null(c);
    mock_ws_recv(c, "{\"type\":\"people\"}");
    p = next_json(c);
    assert_string_equal(jstr(p, "type"), "people");
    cJSON_Delete(p);
    assert_int_equal(mock_ws_closed(c, NULL), 0);
}

static void expect_create_fails(void)
{
    struct pb_connector out;

    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &out), PB_ERR_INVALID);
}

static void test_invalid_options(void **state)
{
    static const char *const not_origin[] = {"example.com", NULL};
    static const char *const with_path[] = {"https://chat.example.com/app", NULL};

    mock_config_string(m, "path", "chat/");
    expect_create_fails();
    mock_host_free(m);
    setup(state);
    mock_config_string(m, "path", "/a/..");
    expect_create_fails();
    mock_host_free(m);
    setup(state);
    mock_config_string(m, "path", "/chat?x=1");
    expect_create_fails();
    mock_host_free(m);
    setup(state);
    mock_config_int(m, "history", 0);
    expect_create_fails();
    mock_host_free(m);
    setup(state);
    mock_config_int(m, "max_message", 10);
    expect_create_fails();
    mock_host_free(m);
    setup(state);
    mock_config_list(m, "allowed_origins", not_origin);
    expect_create_fails();
    mock_host_free(m);
    setup(state);
    mock_config_list(m, "allowed_origins", with_path);
    expect_create_fails();
    assert_true(mock_log_contains(m, "allowed_origins"));
}

static void test_start_reports_connection_up(void **state)
{
    const struct mock_event *e;

    start();
    assert_int_equal(mock_event_count(m), 1);
    e = mock_event(m, 0);
    assert_int_equal(e->type, PB_EVENT_CONNECTION);
    assert_int_equal(e->connected, 1);
    assert_non_null(e->reason);
}

/* ---- the page ---- */

static void assert_security_headers(const struct mock_response *r)
{
    assert_string_equal(mock_response_header(r, "Content-Security-Policy"),
                        "default-src 'none'; script-src 'self'; style-src 'self'; "
                        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                        "frame-ancestors 'none'; form-action 'none'");
    assert_string_equal(mock_response_header(r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(mock_response_header(r, "Referrer-Policy"), "no-referrer");
    assert_string_equal(mock_response_header(r, "Cache-Control"), "no-store");
}

static void expect_asset(const char *path, const char *type, const char *source)
{
    struct mock_response r;
    char *want = read_source(source);

    assert_int_equal(mock_http(m, "GET", path, "t=secret", NULL, 0, NULL, &r), 200);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.content_type, type);
    assert_int_equal(r.body_len, strlen(want));
    assert_memory_equal(r.body, want, r.body_len);
    assert_security_headers(&r);
    mock_response_free(&r);
    free(want);
}

static void test_page_served(void **state)
{
    struct mock_response r;

    start();
    expect_asset("/", "text/html; charset=utf-8", "plugins/webchat/page/index.html");
    expect_asset("/chat.js", "text/javascript; charset=utf-8", "plugins/webchat/page/chat.js");
    expect_asset("/chat.css", "text/css; charset=utf-8", "plugins/webchat/page/chat.css");

    assert_int_equal(mock_http(m, "GET", "/other", "", NULL, 0, NULL, &r), 404);
    assert_security_headers(&r);
    mock_response_free(&r);
    assert_int_equal(mock_http(m, "POST", "/", "", NULL, 0, "x", &r), 405);
    assert_non_null(mock_response_header(&r, "Allow"));
    mock_response_free(&r);
}

/* The CSP forbids inline code and outside resources; the page must not need them. */
static void test_page_fits_csp(void **state)
{
    char *html = read_source("plugins/webchat/page/index.html");
    char *js = read_source("plugins/webchat/page/chat.js");

    assert_null(strstr(html, "<script>"));
    assert_null(strstr(html, "style="));
    assert_null(strstr(html, "<style"));
    assert_null(strstr(html, " onclick"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    assert_non_null(strstr(html, "<script src=\"chat.js\" defer></script>"));
    assert_null(strstr(js, "innerHTML"));
    assert_null(strstr(js, "outerHTML"));
    assert_null(strstr(js, "insertAdjacentHTML"));
    assert_null(strstr(js, "eval("));
    assert_null(strstr(js, "https://"));
    free(html);
    free(js);
}

/* ---- Origin ---- */

static void expect_refused_open(const struct pb_header *h, size_t n)
{
    int status = 0;

    assert_null(mock_ws_open(m, "/ws", h, n, &status));
    assert_int_equal(status, 403);
}

static void test_origin_default(void **state)
{
    const struct pb_header none[] = {{"Host", "127.0.0.1:8080"}};
    const struct pb_header evil[] = {{"Host", "127.0.0.1:8080"}, {"Origin", "http://evil.test"}};
    const struct pb_header tls[] = {{"Host", "127.0.0.1:8080"},
                                    {"Origin", "https://127.0.0.1:8080"}};
    const struct pb_header port[] = {{"Host", "127.0.0.1:8080"},
                                     {"Origin", "http://127.0.0.1:80800"}};
    const struct pb_header no_host[] = {{"Origin", "http://127.0.0.1:8080"}};

    start();
    expect_refused_open(none, 1);
    expect_refused_open(evil, 2);
    expect_refused_open(tls, 2);
    expect_refused_open(port, 2);
    expect_refused_open(no_host, 1);
    assert_int_equal(mock_counter(m, "origin_refused"), 5);
    open_ws();
}

static void test_origin_list(void **state)
{
    static const char *const origins[] = {"https://chat.example.com/", "http://localhost:9000",
                                          NULL};
    const struct pb_header ok1[] = {{"Host", "10.0.0.1"}, {"Origin", "https://chat.example.com"}};
    const struct pb_header ok2[] = {{"Host", "x"}, {"Origin", "http://localhost:9000"}};
    int status;

    mock_config_list(m, "allowed_origins", origins);
    start();
    /* A configured list replaces the same-host default. */
    expect_refused_open(same_origin, 2);
    assert_non_null(mock_ws_open(m, "/ws", ok1, 2, &status));
    assert_non_null(mock_ws_open(m, "/ws", ok2, 2, &status));
}

/* ---- hello ---- */

static void test_hello_token(void **state)
{
    struct mock_ws_conn *c;
    cJSON *w, *convs, *hist, *item;

    start();
    c = open_ws();
    assert_int_equal(mock_timers_armed(m), 1); /* the hello timeout */
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(c);
    assert_string_equal(jstr(w, "type"), "welcome");
    assert_string_equal(jstr(w, "user"), "alice");
    assert_string_equal(jstr(w, "name"), "Alice Archer");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(w, "demo")));
    assert_int_equal(cJSON_GetObjectItem(w, "max_text")->valuedouble, 16384);
    convs = cJSON_GetObjectItem(w, "conversations");
    assert_int_equal(cJSON_GetArraySize(convs), 3);
    item = cJSON_GetArrayItem(convs, 0);
    assert_string_equal(jstr(item, "id"), "dm:alice");
    assert_string_equal(jstr(item, "title"), "Direct messages");
    item = cJSON_GetArrayItem(convs, 1);
    assert_string_equal(jstr(item, "id"), "room:support-leads");
    assert_string_equal(jstr(item, "title"), "Support leads");
    item = cJSON_GetArrayItem(convs, 2);
    assert_string_equal(jstr(item, "id"), "room:exec");
    assert_string_equal(jstr(item, "title"), "exec"); /* no title: the channel */
    hist = cJSON_GetObjectItem(w, "history");
    assert_int_equal(cJSON_GetArraySize(hist), 3);
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(hist, "dm:alice")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(hist, "room:exec")), 0);
    cJSON_Delete(w);
    assert_int_equal(mock_timers_armed(m), 0);
    assert_int_equal(mock_counter(m, "sign_ins"), 1);
    /* The token is a secret: it never reaches the log. */
    assert_false(mock_log_contains(m, "tok-alice"));
}

static void test_hello_demo(void **state)
{
    struct mock_ws_conn *c;
    cJSON *p, *people, *w;

    mock_config_bool(m, "demo_login", 1);
    start();
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"people\"}");
    p = next_json(c);
    people = cJSON_GetObjectItem(p, "people");
    assert_int_equal(cJSON_GetArraySize(people), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(people, 1), "user"), "bob");
    assert_string_equal(jstr(cJSON_GetArrayItem(people, 1), "name"), "Bob Baker");
    cJSON_Delete(p);
    mock_ws_recv(c, "{\"type\":\"hello\",\"user\":\"bob\"}");
    w = next_json(c);
    assert_string_equal(jstr(w, "type"), "welcome");
    assert_string_equal(jstr(w, "user"), "bob");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(w, "demo")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(w, "conversations")), 1);
    cJSON_Delete(w);
    /* The list is for the picker only: after hello it is an unknown request. */
    mock_ws_recv(c, "{\"type\":\"people\"}");
    p = next_json(c);
    assert_string_equal(jstr(p, "type"), "error");
    cJSON_Delete(p);
    assert_int_equal(mock_ws_closed(c, NULL), 0);
    /* The link still works with the demo on. */
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(c);
    assert_string_equal(jstr(w, "user"), "alice");
    cJSON_Delete(w);
}

/* The picker needs the list once; a client that keeps asking without signing in is cut off. */
static void test_people_limit(void **state)
{
    struct mock_ws_conn *c;

    mock_config_bool(m, "demo_login", 1);
    start();
    c = open_ws();
    for (int i = 0; i < 5; i++) {
        mock_ws_recv(c, "{\"type\":\"people\"}");
        cJSON_Delete(next_json(c));
    }
    mock_ws_recv(c, "{\"type\":\"people\"}");
    assert_refused(c, 1008, "hello");
}

static void test_hello_demo_off(void **state)
{
    struct mock_ws_conn *c;

    start();
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"user\":\"alice\"}");
    assert_refused(c, 1008, "personal link");
    assert_int_equal(mock_timers_armed(m), 0);
}

static void test_hello_unknown_user(void **state)
{
    struct mock_ws_conn *c;

    mock_config_bool(m, "demo_login", 1);
    start();
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"user\":\"mallory\"}");
    assert_refused(c, 1008, "Unknown user");
    /* A valid link for someone with no handle here is refused the same way. */
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-mallory\"}");
    assert_refused(c, 1008, "Unknown user");
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"user\":42}");
    assert_refused(c, 1008, "Unknown user");
}

static void test_hello_bad_tokens(void **state)
{
    struct mock_ws_conn *c;

    start();
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"forged\"}");
    assert_refused(c, 1008, "not valid");
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-old\"}");
    assert_refused(c, 1008, "expired");
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-busy\"}");
    assert_refused(c, 1011, "Try again");
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":7}");
    assert_refused(c, 1008, "not valid");
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"\"}");
    assert_refused(c, 1008, "not valid");
    assert_false(mock_log_contains(m, "forged"));
}

static void test_bad_first_frame(void **state)
{
    static const char *const frames[] = {
        "not json",
        "[\"hello\"]",
        "{\"type\":\"hello\"}",
        "{\"token\":\"tok-alice\"}",
        "{\"type\":\"choice\",\"token\":\"t\",\"ref\":\"dm:alice/00000000000000000001\",\"id\":1}",
        "{\"type\":\"text\",\"text\":\"hi\",\"id\":1}",
    };
    struct mock_ws_conn *c;

    start();
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        c = open_ws();
        mock_ws_recv(c, frames[i]);
        assert_refused(c, 1008, "");
        assert_int_equal(mock_ws_unread(c), 0);
    }
    assert_int_equal(mock_event_count(m), 1); /* only the connection event */
    /* Bytes that are not UTF-8 are not JSON either. */
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-alice\xff\"}");
    assert_refused(c, 1008, "");
}

static void test_directory_failure(void **state)
{
    struct mock_ws_conn *c;

    start();
    c = open_ws();
    mock_directory_fail(m, PB_ERR_STORE);
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    assert_refused(c, 1011, "Try again");
}

static void test_hello_timeout(void **state)
{
    struct mock_ws_conn *c;

    start();
    c = open_ws();
    mock_advance(m, 29999);
    assert_int_equal(mock_ws_closed(c, NULL), 0);
    mock_advance(m, 1);
    assert_refused(c, 1008, "hello");
    /* A connection that signed in is not timed out. */
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    mock_advance(m, 60000);
    assert_int_equal(mock_ws_closed(c, NULL), 0);
}

static void test_disconnect_frees(void **state)
{
    struct mock_ws_conn *a, *b;

    start();
    a = open_ws();
    b = open_ws();
    mock_ws_recv(b, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    mock_ws_disconnect(a);
    mock_ws_disconnect(b);
    assert_int_equal(mock_ws_closed(a, NULL), -1);
    /* The hello timer went with the connection: firing it now would be a use after free. */
    mock_advance(m, 60000);
    assert_int_equal(mock_timers_armed(m), 0);
}

static void test_welcome_history(void **state)
{
    const struct pb_message msg = {.size = sizeof(msg), .kind = PB_MESSAGE_TEXT, .text = "Hi"};
    struct pb_send s = {
        .size = sizeof(s), .target_kind = PB_TARGET_PERSON, .target = "alice", .message = &msg};
    struct mock_ws_conn *c;
    cJSON *w, *dm;

    start();
    for (uint64_t id = 3; id >= 1; id--) {
        s.id = id;
        assert_int_equal(wc.send(wc.self, &s), PB_OK);
    }
    s.target_kind = PB_TARGET_CHANNEL;
    s.target = "support-leads";
    s.id = 4;
    assert_int_equal(wc.send(wc.self, &s), PB_OK);
    c = open_ws();
    mock_ws_recv(c, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(c);
    dm = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"), "dm:alice");
    assert_int_equal(cJSON_GetArraySize(dm), 3);
    /* In send id order, whatever order they arrived in. */
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 0), "ref"), "dm:alice/00000000000000000001");
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 2), "ref"), "dm:alice/00000000000000000003");
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 0), "type"), "message");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"),
                                                            "room:support-leads")),
                     1);
    cJSON_Delete(w);
}

static void test_stop(void **state)
{
    const struct pb_message msg = {.size = sizeof(msg), .text = "late"};
    const struct pb_send s = {.size = sizeof(s), .id = 1, .target = "alice", .message = &msg};
    struct mock_ws_conn *a, *b;
    int code = 0, status = 0;

    start();
    a = open_ws();
    b = open_ws();
    mock_ws_recv(b, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    wc.stop(wc.self);
    mock_flush(m);
    assert_int_equal(mock_ws_closed(a, &code), 1);
    assert_int_equal(code, 1001);
    assert_int_equal(mock_ws_closed(b, &code), 1);
    assert_int_equal(code, 1001);
    assert_null(mock_ws_open(m, "/ws", same_origin, 2, &status));
    assert_int_equal(status, 503);
    assert_int_equal(wc.send(wc.self, &s), PB_ERR_BUSY);
    assert_int_equal(mock_send_done_count(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_abi, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_reports_connection_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_served, setup, teardown),
        cmocka_unit_test_setup_teardown(test_page_fits_csp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_origin_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_token, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_demo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_people_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_demo_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_unknown_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_bad_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_first_frame, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_disconnect_frees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_welcome_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The Slack connector's Socket Mode life against the mock host: a fresh apps.connections.open
 * for every link, up only after hello, refresh without a gap, link_disabled without a
 * reconnect loop, backoff after abrupt closes, silent links replaced; and envelopes: a click
 * acknowledged only after the core committed it, refusals acknowledged with an ephemeral
 * notice, events de-duplicated on event_id, DM text unescaped, the check-in reaction.
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
#include "slack.h"

const struct pb_plugin_info *pb_plugin_get(uint32_t abi_version);

static struct mock_host *m;
static struct pb_connector conn;

static int setup(void **state)
{
    static const char *const channels[] = {"C0SUPPORT", NULL};

    m = mock_host_new();
    mock_secret(m, "bot_token", "xoxb-test");
    mock_secret(m, "app_token", "xapp-test");
    mock_config_string(m, "api_url", "http://slack.test/api");
    mock_config_string(m, "checkin_reaction", ":white_check_mark:");
    mock_config_list(m, "checkin_channels", channels);
    mock_config_int(m, "idle_timeout", 60);
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &conn), 0);
    return 0;
}

static int teardown(void **state)
{
    conn.stop(conn.self);
    /* As the daemon does at shutdown: requests still in flight end as cancelled first. */
    for (size_t i = 0; i < mock_http_call_count(m); i++)
        if (!mock_http_call(m, i)->answered)
            mock_http_answer(m, i, 0, NULL, NULL, 0, 0, "cancelled");
    mock_flush(m);
    conn.destroy(conn.self);
    mock_host_free(m);
    return 0;
}

/* The index of the first unanswered call to `method`, or -1. */
static long find_call(const char *method)
{
    char url[128];

    snprintf(url, sizeof(url), "http://slack.test/api/%s", method);
    for (size_t i = 0; i < mock_http_call_count(m); i++) {
        const struct mock_http_call *c = mock_http_call(m, i);
        if (!c->answered && strncmp(c->url, url, strlen(url)) == 0)
            return (long)i;
    }
    return -1;
}

static int has_header(const struct mock_http_call *c, const char *line)
{
    for (size_t i = 0; i < c->n_headers; i++)
        if (strcmp(c->headers[i], line) == 0)
            return 1;
    return 0;
}

static unsigned ticket;

/* Answers the pending apps.connections.open with a new single-use URL; returns its link. */
static struct mock_ws *grant(void)
{
    char body[128];
    long i;
    size_t before = mock_wsc_count(m);

    mock_advance(m, 0);
    i = find_call("apps.connections.open");
    assert_true(i >= 0);
    assert_true(has_header(mock_http_call(m, (size_t)i), "Authorization: Bearer xapp-test"));
    snprintf(body, sizeof(body), "{\"ok\":true,\"url\":\"ws://127.0.0.1:9/link/?ticket=t%u\"}",
             ++ticket);
    mock_http_answer(m, (size_t)i, 200, body, NULL, 0, 0, NULL);
    assert_int_equal(mock_wsc_count(m), before + 1);
    return mock_wsc(m, before);
}

static size_t count_events(int type)
{
    size_t n = 0;

    for (size_t i = 0; i < mock_event_count(m); i++)
        if (mock_event(m, i)->type == type)
            n++;
    return n;
}

static const char hello[] = "{\"type\":\"hello\",\"num_connections\":1,\"connection_info\":"
                            "{\"app_id\":\"A1\"},\"debug_info\":{\"host\":\"fake\","
                            "\"build_number\":1,\"approximate_connection_time\":18060}}";

static struct mock_ws *connect_up(void)
{
    struct mock_ws *w;

    assert_int_equal(conn.start(conn.self), 0);
    w = grant();
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    return w;
}

static void test_up_only_after_hello(void **state)
{
    struct mock_ws *w;
    long auth;

    assert_int_equal(conn.start(conn.self), 0);
    mock_advance(m, 0);
    auth = find_call("auth.test");
    assert_true(auth >= 0);
    assert_true(has_header(mock_http_call(m, (size_t)auth), "Authorization: Bearer xoxb-test"));
    w = grant();
    assert_string_equal(mock_wsc_url(w), "ws://127.0.0.1:9/link/?ticket=t1");
    mock_wsc_open(w);
    assert_int_equal(count_events(PB_EVENT_CONNECTION), 0);
    mock_wsc_deliver(w, hello);
    assert_int_equal(count_events(PB_EVENT_CONNECTION), 1);
    assert_int_equal(mock_last_event(m)->connected, 1);
}

static void test_refresh_without_gap(void **state)
{
    struct mock_ws *old = connect_up(), *fresh;

    mock_wsc_deliver(old, "{\"type\":\"disconnect\",\"reason\":\"refresh_requested\","
                          "\"debug_info\":{\"host\":\"fake\"}}");
    fresh = grant(); /* a new ticket: the old URL is never reused */
    assert_string_not_equal(mock_wsc_url(fresh), mock_wsc_url(old));
    mock_wsc_open(fresh);
    /* The old link still serves until the new one is up. */
    assert_false(mock_wsc_closed(old, NULL));
    mock_emit_result(m, PB_OK, NULL);
    mock_wsc_deliver(old,
                     "{\"envelope_id\":\"e-old\",\"type\":\"interactive\",\"accepts_response_"
                     "payload\":false,\"payload\":{\"type\":\"block_actions\",\"user\":{\"id\":"
                     "\"U1\"},\"container\":{\"type\":\"message\",\"channel_id\":\"D1\","
                     "\"message_ts\":\"1.2\"},\"actions\":[{\"type\":\"button\",\"action_id\":"
                     "\"pbq:1\",\"value\":\"tok\"}]}}");
    assert_string_equal(mock_wsc_sent(old, 0), "{\"envelope_id\":\"e-old\"}");
    mock_wsc_deliver(fresh, hello);
    /* It drains for a moment, still answering what Slack sends there, then closes. */
    assert_false(mock_wsc_closed(old, NULL));
    mock_advance(m, SK_DRAIN_MS);
    assert_true(mock_wsc_closed(old, NULL));
    mock_flush(m);
    /* Up once, never down. */
    assert_int_equal(count_events(PB_EVENT_CONNECTION), 1);
}

static void test_link_disabled(void **state)
{
    struct mock_ws *w = connect_up();
    size_t calls;

    mock_wsc_deliver(w, "{\"type\":\"disconnect\",\"reason\":\"link_disabled\","
                        "\"debug_info\":{\"host\":\"fake\"}}");
    assert_true(mock_wsc_closed(w, NULL));
    assert_int_equal(mock_last_event(m)->type, PB_EVENT_CONNECTION);
    assert_int_equal(mock_last_event(m)->connected, 0);
    assert_true(mock_log_contains(m, "link_disabled"));
    calls = mock_http_call_count(m);
    mock_advance(m, 3600 * 1000);
    assert_int_equal(mock_http_call_count(m), calls); /* no reconnect loop */
    assert_int_equal(mock_wsc_count(m), 1);
}

static void test_bad_app_token_stops(void **state)
{
    long i;
    size_t calls;

    assert_int_equal(conn.start(conn.self), 0);
    mock_advance(m, 0);
    i = find_call("apps.connections.open");
    mock_http_answer(m, (size_t)i, 200, "{\"ok\":false,\"error\":\"not_allowed_token_type\"}", NULL,
                     0, 0, NULL);
    assert_true(mock_log_contains(m, "not_allowed_token_type"));
    calls = mock_http_call_count(m);
    mock_advance(m, 3600 * 1000);
    assert_int_equal(mock_http_call_count(m), calls);
}

static void test_abrupt_close_backs_off(void **state)
{
    struct mock_ws *w = connect_up(), *w2;
    long i;

    mock_wsc_drop(w, 1006, "abnormal");
    assert_int_equal(mock_last_event(m)->connected, 0);
    mock_advance(m, 700); /* the first retry is 1 s +-20% */
    assert_true(find_call("apps.connections.open") < 0);
    mock_advance(m, 600);
    i = find_call("apps.connections.open");
    assert_true(i >= 0);
    /* Slack unwell: the next attempt waits longer (2 s +-20%). */
    mock_http_answer(m, (size_t)i, 503, "", NULL, 0, 0, NULL);
    mock_advance(m, 1500);
    assert_true(find_call("apps.connections.open") < 0);
    mock_advance(m, 1000);
    w2 = grant();
    mock_wsc_open(w2);
    mock_wsc_deliver(w2, hello);
    assert_int_equal(mock_last_event(m)->connected, 1);
}

static void test_silent_link_replaced(void **state)
{
    struct mock_ws *w = connect_up(), *w2;

    mock_advance(m, 59000);
    assert_true(find_call("apps.connections.open") < 0);
    mock_wsc_deliver(w, "{\"envelope_id\":\"x\",\"type\":\"slash_commands\",\"payload\":{}}");
    mock_advance(m, 59000); /* a frame restarted the watchdog */
    assert_true(find_call("apps.connections.open") < 0);
    mock_advance(m, 2000);
    w2 = grant();
    mock_wsc_open(w2);
    mock_wsc_deliver(w2, hello);
    mock_advance(m, SK_DRAIN_MS);
    assert_true(mock_wsc_closed(w, NULL));
}

static void test_hello_timeout(void **state)
{
    struct mock_ws *w;

    assert_int_equal(conn.start(conn.self), 0);
    w = grant();
    mock_wsc_open(w);
    mock_advance(m, 16000);
    assert_true(mock_wsc_closed(w, NULL));
    mock_advance(m, 2000);
    assert_true(find_call("apps.connections.open") >= 0);
}

static const char click[] =
    "{\"envelope_id\":\"env-1\",\"type\":\"interactive\",\"accepts_response_payload\":false,"
    "\"payload\":{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\",\"username\":\"alice\","
    "\"name\":\"alice\",\"team_id\":\"T1\"},\"container\":{\"type\":\"message\",\"message_ts\":"
    "\"1700000000.000100\",\"channel_id\":\"D1\",\"is_ephemeral\":false},\"channel\":{\"id\":"
    "\"D1\",\"name\":\"directmessage\"},\"actions\":[{\"type\":\"button\",\"action_id\":\"pbq:1\","
    "\"block_id\":\"pbq:row0\",\"value\":\"signed-token\",\"text\":{\"type\":\"plain_text\","
    "\"text\":\"2\"},\"action_ts\":\"1700000001.1\"}]}}";

static void test_click_acked_after_commit(void **state)
{
    struct mock_ws *w = connect_up();
    const struct mock_event *e;

    mock_emit_result(m, PB_OK, NULL);
    mock_wsc_deliver(w, click);
    e = mock_last_event(m);
    assert_int_equal(e->type, PB_EVENT_CHOICE);
    assert_string_equal(e->user, "U1");
    assert_string_equal(e->token, "signed-token");
    assert_string_equal(e->message_ref, "D1:1700000000.000100");
    assert_int_equal(mock_wsc_sent_count(w), 1);
    assert_string_equal(mock_wsc_sent(w, 0), "{\"envelope_id\":\"env-1\"}");
}

static void test_click_not_acked_when_commit_fails(void **state)
{
    struct mock_ws *w = connect_up();

    mock_emit_result(m, PB_ERR_STORE, "Sorry, your answer could not be saved.");
    mock_wsc_deliver(w, click);
    assert_int_equal(mock_event_count(m), 2); /* connection up, then the click */
    assert_int_equal(mock_wsc_sent_count(w), 0);
    assert_int_equal(mock_counter(m, "clicks_unacknowledged"), 1);
}

static void test_refused_click_acked_with_notice(void **state)
{
    struct mock_ws *w = connect_up();
    long i;

    mock_emit_result(m, PB_ERR_DONE, "You have already answered <!here> this question.");
    mock_wsc_deliver(w, click);
    assert_int_equal(mock_wsc_sent_count(w), 1);
    mock_advance(m, 0);
    i = find_call("chat.postEphemeral");
    assert_true(i >= 0);
    assert_non_null(strstr(mock_http_call(m, (size_t)i)->body, "\"user\":\"U1\""));
    assert_non_null(strstr(mock_http_call(m, (size_t)i)->body, "&lt;!here&gt;"));
}

static const char dm[] =
    "{\"envelope_id\":\"env-%d\",\"type\":\"events_api\",\"accepts_response_payload\":false,"
    "\"retry_attempt\":%d,\"retry_reason\":\"%s\",\"payload\":{\"token\":\"x\",\"team_id\":\"T1\","
    "\"api_app_id\":\"A1\",\"type\":\"event_callback\",\"event_id\":\"Ev1\",\"event_time\":1,"
    "\"event\":{\"type\":\"message\",\"channel\":\"D1\",\"channel_type\":\"im\",\"user\":\"U1\","
    "\"text\":\"Two outages &amp; a &lt;script&gt; day\",\"ts\":\"1.5\",\"event_ts\":\"1.5\"}}}";

static void test_event_redelivery_dedup(void **state)
{
    struct mock_ws *w = connect_up();
    char frame[1024];

    /* First delivery: the store fails, so it is not acknowledged and comes again. */
    mock_emit_result(m, PB_ERR_STORE, NULL);
    snprintf(frame, sizeof(frame), dm, 1, 0, "");
    mock_wsc_deliver(w, frame);
    assert_int_equal(mock_wsc_sent_count(w), 0);
    mock_emit_result(m, PB_OK, NULL);
    snprintf(frame, sizeof(frame), dm, 2, 1, "timeout");
    mock_wsc_deliver(w, frame);
    assert_int_equal(count_events(PB_EVENT_TEXT), 2);
    assert_string_equal(mock_last_event(m)->text, "Two outages & a <script> day");
    assert_string_equal(mock_wsc_sent(w, 0), "{\"envelope_id\":\"env-2\"}");
    /* Its ack was lost: the third delivery is acknowledged but not passed on again. */
    snprintf(frame, sizeof(frame), dm, 3, 2, "timeout");
    mock_wsc_deliver(w, frame);
    assert_int_equal(count_events(PB_EVENT_TEXT), 2);
    assert_string_equal(mock_wsc_sent(w, 1), "{\"envelope_id\":\"env-3\"}");
}

static void test_own_and_edited_messages_ignored(void **state)
{
    struct mock_ws *w = connect_up();

    mock_wsc_deliver(w,
                     "{\"envelope_id\":\"b1\",\"type\":\"events_api\",\"payload\":{"
                     "\"event_id\":\"Ev2\",\"event\":{\"type\":\"message\",\"channel\":\"D1\","
                     "\"channel_type\":\"im\",\"bot_id\":\"B1\",\"text\":\"hi\",\"ts\":\"1\"}}}");
    mock_wsc_deliver(w, "{\"envelope_id\":\"b2\",\"type\":\"events_api\",\"payload\":{"
                        "\"event_id\":\"Ev3\",\"event\":{\"type\":\"message\",\"subtype\":"
                        "\"message_changed\",\"channel\":\"D1\",\"channel_type\":\"im\"}}}");
    assert_int_equal(count_events(PB_EVENT_TEXT), 0);
    assert_int_equal(mock_wsc_sent_count(w), 2); /* acknowledged all the same */
}

static void test_checkin_reaction(void **state)
{
    struct mock_ws *w = connect_up();
    const char *frame =
        "{\"envelope_id\":\"r%d\",\"type\":\"events_api\",\"payload\":{\"event_id\":\"EvR%d\","
        "\"event\":{\"type\":\"reaction_added\",\"user\":\"UAGENT\",\"reaction\":\"%s\","
        "\"item_user\":\"UCUST\",\"item\":{\"type\":\"message\",\"channel\":\"%s\",\"ts\":"
        "\"1700.1\"},\"event_ts\":\"1700.2\"}}}";
    char f[512];
    const struct mock_event *e;

    snprintf(f, sizeof(f), frame, 1, 1, "thumbsup", "C0SUPPORT");
    mock_wsc_deliver(w, f);
    snprintf(f, sizeof(f), frame, 2, 2, "white_check_mark", "C0OTHER");
    mock_wsc_deliver(w, f);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 0);
    snprintf(f, sizeof(f), frame, 3, 3, "white_check_mark", "C0SUPPORT");
    mock_wsc_deliver(w, f);
    /* The thread's first message is looked up (test_plugin_slack_interact.c covers replies). */
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 0);
    mock_advance(m, 0);
    assert_true(find_call("conversations.replies") >= 0);
    mock_http_answer(m, (size_t)find_call("conversations.replies"), 200,
                     "{\"ok\":true,\"messages\":[{\"type\":\"message\",\"user\":\"UCUST\","
                     "\"ts\":\"1700.1\"}]}",
                     NULL, 0, 0, NULL);
    mock_advance(m, 0);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
    e = mock_last_event(m);
    assert_string_equal(e->user, "UCUST");
    assert_string_equal(e->agent, "UAGENT");
    assert_string_equal(e->interaction_id, "C0SUPPORT:1700.1");
    assert_string_equal(e->touchpoint, "slack");
    assert_int_equal(mock_wsc_sent_count(w), 3);
}

static void test_two_connections(void **state)
{
    struct mock_ws *a, *b;

    /* Re-create with two connections. */
    conn.destroy(conn.self);
    mock_config_int(m, "connections", 2);
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &conn), 0);
    assert_int_equal(conn.start(conn.self), 0);
    a = grant();
    b = grant();
    mock_wsc_open(a);
    mock_wsc_open(b);
    mock_wsc_deliver(a, hello);
    mock_wsc_deliver(b, hello);
    assert_int_equal(count_events(PB_EVENT_CONNECTION), 1);
    /* Losing one of two keeps the connector up. */
    mock_wsc_drop(a, 1006, "gone");
    assert_int_equal(count_events(PB_EVENT_CONNECTION), 1);
    mock_wsc_drop(b, 1006, "gone");
    assert_int_equal(count_events(PB_EVENT_CONNECTION), 2);
    assert_int_equal(mock_last_event(m)->connected, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_up_only_after_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refresh_without_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_disabled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_app_token_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abrupt_close_backs_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_link_replaced, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_click_acked_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_click_not_acked_when_commit_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_click_acked_with_notice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_redelivery_dedup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_own_and_edited_messages_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkin_reaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_connections, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

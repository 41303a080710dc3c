/*
 * The Discord gateway session against the mock host: GET /gateway/bot, HELLO, heartbeats with
 * the last sequence number and jittered start, IDENTIFY with minimal intents, READY kept in
 * the key/value state, zombie detection, RESUME after a drop, op 7, op 9 (both values), close
 * codes sorted into resume, identify and fatal, a restart resuming from kv, waiting for
 * identifies when none remain, and the 120-per-60-s send limit.
 *
 * Frames marked "fixture" are the recorded ones in shared/protocols/fixtures/discord/kord/
 * gateway/ (hello.json, ready.json, resumed.json, invalid.json, reconnect.json,
 * eventWithUnknownData.json), inlined unchanged apart from whitespace.
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

#define API "https://api.test/api/v10"

/* fixture: kord/gateway/hello.json */
static const char hello[] = "{\"op\": 10, \"d\": {\"heartbeat_interval\": 1337}}";
/* fixture: kord/gateway/ready.json */
static const char ready[] =
    "{\"op\": 0, \"t\": \"READY\", \"s\": 1000, \"d\": {\"v\": 6, \"user\": {\"id\": "
    "\"80351110224678912\", \"username\": \"Nelly\", \"discriminator\": \"1337\", "
    "\"global_name\": null, \"avatar\": \"8342729096ea3675442027381ff50dfe\", \"verified\": "
    "true, \"email\": \"nelly@discordapp.com\", \"flags\": 64, \"premium_type\": 1}, "
    "\"private_channels\": [], \"guilds\": [{\"id\": \"41771983423143937\", \"unavailable\": "
    "true}], \"session_id\": \"12345\", \"resume_gateway_url\": "
    "\"wss://us-east1-b.gateway.discord.gg\", \"_trace\": [\"test\"], \"shard\": [0, 5]}}";
/* fixture: kord/gateway/resumed.json (no "d") */
static const char resumed[] = "{\"op\": 0, \"t\": \"RESUMED\", \"s\": 1234}";
/* fixture: kord/gateway/invalid.json */
static const char invalid_false[] = "{\"op\": 9, \"d\": false}";
/* fixture: kord/gateway/reconnect.json (no "d") */
static const char reconnect[] = "{\"op\": 7}";
/* fixture: kord/gateway/eventWithUnknownData.json */
static const char unknown[] = "{\"t\": \"DOCUMENTED_API\", \"s\": 30, \"op\": 0, \"d\": {}}";

static const char gateway_bot[] =
    "{\"url\": \"wss://gateway.test\", \"shards\": 1, \"session_start_limit\": {\"total\": "
    "1000, \"remaining\": 999, \"reset_after\": 14400000, \"max_concurrency\": 1}}";

static struct mock_host *m;
static struct pb_connector dc;
static int created;

static int setup(void **state)
{
    m = mock_host_new();
    mock_secret(m, "bot_token", "bot-token-1");
    mock_config_string(m, "api_base", API);
    created = 0;
    return 0;
}

static int teardown(void **state)
{
    if (created) {
        dc.stop(dc.self);
        mock_flush(m);
        dc.destroy(dc.self);
    }
    mock_host_free(m);
    return 0;
}

static void start(void)
{
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &dc), 0);
    created = 1;
    assert_int_equal(dc.start(dc.self), 0);
    mock_advance(m, 0); /* the REST queue sends from a timer */
}

static cJSON *sent(struct mock_ws *w, size_t i)
{
    const char *s = mock_wsc_sent(w, i);
    assert_non_null(s);
    return cJSON_Parse(s);
}

static int sent_op(struct mock_ws *w, size_t i)
{
    cJSON *f = sent(w, i);
    int op = cJSON_GetObjectItem(f, "op")->valueint;
    cJSON_Delete(f);
    return op;
}

static int has_header(const struct mock_http_call *c, const char *line)
{
    for (size_t i = 0; i < c->n_headers; i++)
        if (strcmp(c->headers[i], line) == 0)
            return 1;
    return 0;
}

/* The last HTTP call is GET /gateway/bot: answer it. */
static void answer_gateway(const char *body)
{
    size_t n = mock_http_call_count(m);
    const struct mock_http_call *c = mock_http_call(m, n - 1);

    assert_string_equal(c->method, "GET");
    assert_string_equal(c->url, API "/gateway/bot");
    mock_http_answer(m, n - 1, 200, body, NULL, 0, 0, NULL);
}

/* Up to READY on a fresh session; returns the socket. */
static struct mock_ws *identified(void)
{
    struct mock_ws *w;
    cJSON *f, *d;

    start();
    assert_int_equal(mock_http_call_count(m), 1);
    assert_true(has_header(mock_http_call(m, 0), "Authorization: Bot bot-token-1"));
    answer_gateway(gateway_bot);
    assert_int_equal(mock_wsc_count(m), 1);
    w = mock_wsc(m, 0);
    assert_string_equal(mock_wsc_url(w), "wss://gateway.test/?v=10&encoding=json");
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    assert_int_equal(mock_wsc_sent_count(w), 1);
    f = sent(w, 0);
    assert_int_equal(cJSON_GetObjectItem(f, "op")->valueint, 2);
    d = cJSON_GetObjectItem(f, "d");
    assert_string_equal(cJSON_GetObjectItem(d, "token")->valuestring, "bot-token-1");
    assert_int_equal(cJSON_GetObjectItem(d, "intents")->valueint, 4096); /* DIRECT_MESSAGES */
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "properties"), "os"));
    cJSON_Delete(f);
    mock_wsc_deliver(w, ready);
    return w;
}

static void test_identify_ready_kept(void **state)
{
    cJSON *s;

    identified();
    s = cJSON_Parse(mock_kv_value(m, "session"));
    assert_non_null(s);
    assert_string_equal(cJSON_GetObjectItem(s, "session_id")->valuestring, "12345");
    assert_string_equal(cJSON_GetObjectItem(s, "resume_url")->valuestring,
                        "wss://us-east1-b.gateway.discord.gg");
    assert_string_equal(cJSON_GetObjectItem(s, "user_id")->valuestring, "80351110224678912");
    assert_int_equal((int)cJSON_GetObjectItem(s, "seq")->valuedouble, 1000);
    cJSON_Delete(s);
    assert_string_equal(mock_kv_value(m, "gateway_url"), "wss://gateway.test");
    assert_int_equal(mock_last_event(m)->type, PB_EVENT_CONNECTION);
    assert_int_equal(mock_last_event(m)->connected, 1);
}

static void test_heartbeats_carry_seq(void **state)
{
    struct mock_ws *w = identified();
    cJSON *f;

    /* The first heartbeat comes at a random point within one interval. */
    mock_advance(m, 1337);
    assert_int_equal(mock_wsc_sent_count(w), 2);
    f = sent(w, 1);
    assert_int_equal(cJSON_GetObjectItem(f, "op")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(f, "d")->valueint, 1000);
    cJSON_Delete(f);
    mock_wsc_deliver(w, "{\"op\": 11}");
    mock_wsc_deliver(w, unknown); /* ignored, but its sequence number counts */
    mock_advance(m, 1337);
    assert_int_equal(mock_wsc_sent_count(w), 3);
    f = sent(w, 2);
    assert_int_equal(cJSON_GetObjectItem(f, "d")->valueint, 1000); /* 30 < 1000 */
    cJSON_Delete(f);
    mock_wsc_deliver(w, "{\"op\": 11, \"d\": null}");
    mock_wsc_deliver(w, "{\"op\": 0, \"t\": \"GUILD_CREATE\", \"s\": 1001, \"d\": {}}");
    /* Discord asks for one now: answered at once. */
    mock_wsc_deliver(w, "{\"op\": 1, \"d\": null}");
    assert_int_equal(mock_wsc_sent_count(w), 4);
    f = sent(w, 3);
    assert_int_equal(cJSON_GetObjectItem(f, "op")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(f, "d")->valueint, 1001);
    cJSON_Delete(f);
    assert_false(mock_wsc_closed(w, NULL));
}

static struct mock_ws *expect_resume(size_t index, const char *url, int seq)
{
    struct mock_ws *w;
    cJSON *f, *d;

    mock_advance(m, 0);
    assert_int_equal(mock_wsc_count(m), index + 1);
    w = mock_wsc(m, index);
    assert_string_equal(mock_wsc_url(w), url);
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    f = sent(w, 0);
    assert_int_equal(cJSON_GetObjectItem(f, "op")->valueint, 6);
    d = cJSON_GetObjectItem(f, "d");
    assert_string_equal(cJSON_GetObjectItem(d, "session_id")->valuestring, "12345");
    assert_string_equal(cJSON_GetObjectItem(d, "token")->valuestring, "bot-token-1");
    assert_int_equal(cJSON_GetObjectItem(d, "seq")->valueint, seq);
    cJSON_Delete(f);
    return w;
}

#define RESUME_URL "wss://us-east1-b.gateway.discord.gg/?v=10&encoding=json"

static void test_zombie_resumes(void **state)
{
    struct mock_ws *w = identified(), *w2;
    int code = 0;

    mock_advance(m, 1337); /* a heartbeat, never acknowledged */
    assert_int_equal(sent_op(w, 1), 1);
    mock_advance(m, 1337); /* the next one is due: a zombie */
    assert_true(mock_wsc_closed(w, &code));
    assert_true(code != 1000 && code != 1001);
    assert_int_equal(mock_wsc_sent_count(w), 2); /* no heartbeat into the dead link */
    assert_int_equal(mock_counter(m, "gateway_zombies"), 1);
    w2 = expect_resume(1, RESUME_URL, 1000);
    assert_int_equal(mock_http_call_count(m), 1); /* no GET /gateway/bot to resume */
    mock_wsc_deliver(w2, resumed);
    mock_advance(m, 1337);
    cJSON *f = sent(w2, mock_wsc_sent_count(w2) - 1);
    assert_int_equal(cJSON_GetObjectItem(f, "d")->valueint, 1234);
    cJSON_Delete(f);
}

static void test_reconnect_op7(void **state)
{
    struct mock_ws *w = identified();
    int code = 0;

    mock_wsc_deliver(w, reconnect);
    assert_true(mock_wsc_closed(w, &code));
    assert_int_equal(code, 4000);
    expect_resume(1, RESUME_URL, 1000);
}

static void test_invalid_session_true_resumes(void **state)
{
    struct mock_ws *w = identified();

    mock_wsc_deliver(w, "{\"op\": 9, \"d\": true}");
    assert_true(mock_wsc_closed(w, NULL));
    mock_advance(m, 61000);
    assert_int_equal(mock_wsc_count(m), 2);
    assert_string_equal(mock_wsc_url(mock_wsc(m, 1)), RESUME_URL);
}

static void test_invalid_session_false_identifies(void **state)
{
    struct mock_ws *w = identified(), *w2;

    mock_wsc_deliver(w, invalid_false);
    assert_true(mock_wsc_closed(w, NULL));
    assert_null(mock_kv_value(m, "session"));
    mock_advance(m, 999); /* 1 to 5 s first */
    assert_int_equal(mock_http_call_count(m), 1);
    assert_int_equal(mock_wsc_count(m), 1);
    mock_advance(m, 4001);
    /* Identifies at least 5 s apart: READY was at t=0 so this may wait a little more. */
    mock_advance(m, 5000);
    assert_int_equal(mock_http_call_count(m), 2);
    answer_gateway(gateway_bot);
    assert_int_equal(mock_wsc_count(m), 2);
    w2 = mock_wsc(m, 1);
    assert_string_equal(mock_wsc_url(w2), "wss://gateway.test/?v=10&encoding=json");
    mock_wsc_open(w2);
    mock_wsc_deliver(w2, hello);
    assert_int_equal(sent_op(w2, 0), 2);
}

static void test_fatal_close_never_loops(void **state)
{
    static const int fatal[] = {4004, 4010, 4011, 4012, 4013, 4014};

    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        struct mock_ws *w;
        char code[16];
        teardown(state);
        setup(state);
        w = identified();
        mock_wsc_drop(w, fatal[i], "");
        snprintf(code, sizeof(code), "%d", fatal[i]);
        assert_true(mock_log_contains(m, code));
        assert_true(mock_log_contains(m, "will not reconnect"));
        assert_int_equal(mock_last_event(m)->type, PB_EVENT_CONNECTION);
        assert_int_equal(mock_last_event(m)->connected, 0);
        mock_advance(m, 3600000);
        assert_int_equal(mock_wsc_count(m), 1);
        assert_int_equal(mock_http_call_count(m), 1);
        assert_null(mock_kv_value(m, "session"));
    }
}

static void test_close_codes_sorted(void **state)
{
    struct mock_ws *w = identified();

    /* 4009: session timed out: identify anew. */
    mock_wsc_drop(w, 4009, "session timed out");
    assert_null(mock_kv_value(m, "session"));
    mock_advance(m, 6000);
    assert_int_equal(mock_http_call_count(m), 2);
    answer_gateway(gateway_bot);
    w = mock_wsc(m, 1);
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    assert_int_equal(sent_op(w, 0), 2);
    mock_wsc_deliver(w, ready);
    /* 1006 (no close frame) and 4000: resume. */
    mock_wsc_drop(w, 1006, "connection lost");
    mock_advance(m, 1000);
    assert_int_equal(mock_wsc_count(m), 3);
    assert_string_equal(mock_wsc_url(mock_wsc(m, 2)), RESUME_URL);
}

static void test_backoff_grows(void **state)
{
    struct mock_ws *w = identified();
    size_t before;

    mock_wsc_drop(w, 1006, "lost");
    /* Each failed attempt waits longer; none comes sooner than half its step. */
    for (unsigned attempt = 0; attempt < 5; attempt++) {
        mock_advance(m, 120000);
        before = mock_wsc_count(m);
        mock_wsc_drop(mock_wsc(m, before - 1), 1006, "refused");
        mock_advance(m, (1000u << (attempt + 1)) / 2 - 1);
        assert_int_equal(mock_wsc_count(m), before);
    }
    assert_true(mock_log_contains(m, "gateway closed"));
    /* Three failures in a row: the core hears the link is down. */
    assert_int_equal(mock_last_event(m)->type, PB_EVENT_CONNECTION);
    assert_int_equal(mock_last_event(m)->connected, 0);
}

static void test_restart_resumes_from_kv(void **state)
{
    struct mock_ws *w;
    cJSON *f;

    mock_kv_set(m, "session",
                "{\"session_id\":\"12345\",\"resume_url\":\"wss://us-east1-b.gateway.discord.gg\","
                "\"seq\":77,\"user_id\":\"80351110224678912\",\"application_id\":\"9\"}");
    start();
    assert_int_equal(mock_http_call_count(m), 0);
    assert_int_equal(mock_wsc_count(m), 1);
    w = mock_wsc(m, 0);
    assert_string_equal(mock_wsc_url(w), RESUME_URL);
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    f = sent(w, 0);
    assert_int_equal(cJSON_GetObjectItem(f, "op")->valueint, 6);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "d"), "seq")->valueint, 77);
    cJSON_Delete(f);
    /* The session expired while we were away: identify. */
    mock_wsc_deliver(w, invalid_false);
    mock_advance(m, 5001);
    assert_int_equal(mock_http_call_count(m), 1);
}

static void test_stop_keeps_session(void **state)
{
    struct mock_ws *w = identified();
    int code = 0;

    dc.stop(dc.self);
    assert_true(mock_wsc_closed(w, &code));
    assert_int_equal(code, 4000); /* 1000 would end the session */
    assert_non_null(mock_kv_value(m, "session"));
    mock_flush(m);
    mock_advance(m, 600000);
    assert_int_equal(mock_wsc_count(m), 1);
}

static void test_waits_when_no_identifies_left(void **state)
{
    start();
    answer_gateway("{\"url\": \"wss://gateway.test\", \"shards\": 1, \"session_start_limit\": "
                   "{\"total\": 1000, \"remaining\": 0, \"reset_after\": 60000, "
                   "\"max_concurrency\": 1}}");
    assert_int_equal(mock_wsc_count(m), 0);
    assert_true(mock_log_contains(m, "no session starts left"));
    mock_advance(m, 59999);
    assert_int_equal(mock_http_call_count(m), 1);
    mock_advance(m, 1);
    assert_int_equal(mock_http_call_count(m), 2);
    answer_gateway(gateway_bot);
    assert_int_equal(mock_wsc_count(m), 1);
}

static void test_send_limit(void **state)
{
    struct mock_ws *w = identified();

    /* A flood of heartbeat requests cannot push us past 120 sends a minute. */
    for (int i = 0; i < 300; i++)
        mock_wsc_deliver(w, "{\"op\": 1}");
    assert_true(mock_wsc_sent_count(w) <= 120);
    assert_true(mock_wsc_sent_count(w) >= 100);
    /* Our own heartbeat still goes out from the reserve. */
    size_t before = mock_wsc_sent_count(w);
    mock_advance(m, 1337);
    assert_int_equal(mock_wsc_sent_count(w), before + 1);
}

static void test_message_content_and_forums_intents(void **state)
{
    static const char *const forums[] = {"111", NULL};
    struct mock_ws *w;
    cJSON *f;

    mock_config_bool(m, "message_content", 1);
    mock_config_list(m, "support_forums", forums);
    start();
    answer_gateway(gateway_bot);
    w = mock_wsc(m, 0);
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    f = sent(w, 0);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(f, "d"), "intents")->valueint,
                     4096 | 1 | 32768);
    cJSON_Delete(f);
}

static void test_bad_token_on_rest_is_fatal(void **state)
{
    start();
    mock_http_answer(m, 0, 401, "{\"message\": \"401: Unauthorized\", \"code\": 0}", NULL, 0, 0,
                     NULL);
    assert_true(mock_log_contains(m, "401"));
    mock_advance(m, 3600000);
    assert_int_equal(mock_http_call_count(m), 1);
    assert_int_equal(mock_wsc_count(m), 0);
}

static void test_options_checked(void **state)
{
    static const char *const bad[] = {"12a", NULL};
    struct pb_connector c;

    mock_config_list(m, "support_forums", bad);
    assert_int_not_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &c), 0);
    assert_true(mock_log_contains(m, "support_forums"));
    assert_int_equal(pb_plugin_abi((const uint32_t[]){99}, 1), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identify_ready_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_heartbeats_carry_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zombie_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reconnect_op7, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_session_true_resumes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_session_false_identifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fatal_close_never_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_codes_sorted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_grows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resumes_from_kv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_keeps_session, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_when_no_identifies_left, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_content_and_forums_intents, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_token_on_rest_is_fatal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_checked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The Slack connector's Web API side against the mock host: a DM through conversations.open
 * (its D... id cached), the reference chat.update needs, a resend of a posted row reported
 * without a second post, 429 with Retry-After honoured per method, ok:false errors sorted
 * into retry / unreachable / misconfigured, per-channel pacing, and lookup_user with its cache.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "mock_host.h"
#include "pulsebot/plugin.h"

const struct pb_plugin_info *pb_plugin_get(uint32_t abi_version);

static struct mock_host *m;
static struct pb_connector conn;

static int setup(void **state)
{
    m = mock_host_new();
    mock_secret(m, "bot_token", "xoxb-test");
    mock_secret(m, "app_token", "xapp-test");
    mock_config_string(m, "api_url", "http://slack.test/api/");
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
    conn.destroy(conn.self);
    mock_host_free(m);
    return 0;
}

static long find_call(const char *method)
{
    char url[128];

    mock_advance(m, 0);
    snprintf(url, sizeof(url), "http://slack.test/api/%s", method);
    for (size_t i = 0; i < mock_http_call_count(m); i++) {
        const struct mock_http_call *c = mock_http_call(m, i);
        if (!c->answered && strncmp(c->url, url, strlen(url)) == 0 &&
            (c->url[strlen(url)] == '\0' || c->url[strlen(url)] == '?'))
            return (long)i;
    }
    return -1;
}

static const struct mock_http_call *call(long i)
{
    assert_true(i >= 0);
    return mock_http_call(m, (size_t)i);
}

static void answer(long i, const char *body)
{
    assert_true(i >= 0);
    mock_http_answer(m, (size_t)i, 200, body, NULL, 0, 0, NULL);
}

static struct pb_button buttons[] = {{"1", "tok-1", 0}, {"2", "tok-2", 0}};
static struct pb_message question = {.size = sizeof(struct pb_message),
                                     .kind = PB_MESSAGE_QUESTION,
                                     .text = "How was your week?",
                                     .buttons = buttons,
                                     .n_buttons = 2};

static struct pb_send to_person(uint64_t id, const char *user)
{
    struct pb_send s = {.size = sizeof(s),
                        .id = id,
                        .target_kind = PB_TARGET_PERSON,
                        .target = user,
                        .message = &question};
    return s;
}

static void test_dm_then_update(void **state)
{
    struct pb_send s = to_person(7, "U1");
    struct pb_message closed = {.size = sizeof(closed),
                                .kind = PB_MESSAGE_QUESTION,
                                .text = "How was your week?",
                                .note = "Your answer: 2 of 5",
                                .flags = PB_MESSAGE_CLOSED};
    struct pb_send u = {.size = sizeof(u),
                        .id = 9,
                        .target_kind = PB_TARGET_PERSON,
                        .target = "U1",
                        .message_ref = "D1:1700.000100",
                        .message = &closed};
    long i;
    cJSON *body;

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    i = find_call("conversations.open");
    assert_string_equal(call(i)->body, "{\"users\":\"U1\"}");
    assert_string_equal(call(i)->headers[0], "Authorization: Bearer xoxb-test");
    assert_string_equal(call(i)->headers[1], "Content-Type: application/json; charset=utf-8");
    answer(i, "{\"ok\":true,\"channel\":{\"id\":\"D1\"}}");
    i = find_call("chat.postMessage");
    body = cJSON_Parse(call(i)->body);
    assert_string_equal(cJSON_GetObjectItem(body, "channel")->valuestring, "D1");
    assert_string_equal(cJSON_GetObjectItem(body, "text")->valuestring, "How was your week?");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(body, "blocks")));
    assert_null(cJSON_GetObjectItem(body, "link_names"));
    cJSON_Delete(body);
    assert_int_equal(mock_send_done_count(m), 0);
    answer(i, "{\"ok\":true,\"channel\":\"D1\",\"ts\":\"1700.000100\",\"message\":{}}");
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
    assert_string_equal(mock_last_send_done(m)->message_ref, "D1:1700.000100");
    assert_string_equal(mock_kv_value(m, "dm/U1"), "D1");

    /* The next message to U1 needs no conversations.open. */
    s.id = 8;
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    assert_true(find_call("conversations.open") < 0);
    mock_advance(m, 1000); /* one post a second per conversation */
    answer(find_call("chat.postMessage"), "{\"ok\":true,\"channel\":\"D1\",\"ts\":\"1700.2\"}");

    assert_int_equal(conn.update(conn.self, &u), PB_OK);
    i = find_call("chat.update");
    body = cJSON_Parse(call(i)->body);
    assert_string_equal(cJSON_GetObjectItem(body, "channel")->valuestring, "D1");
    assert_string_equal(cJSON_GetObjectItem(body, "ts")->valuestring, "1700.000100");
    assert_null(strstr(call(i)->body, "\"actions\""));
    cJSON_Delete(body);
    answer(i, "{\"ok\":true,\"channel\":\"D1\",\"ts\":\"1700.000100\"}");
    assert_int_equal(mock_last_send_done(m)->id, 9);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
}

static void test_resend_reports_first_post(void **state)
{
    struct pb_send s = {.size = sizeof(s),
                        .id = 11,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "C1",
                        .message = &question};
    size_t calls;

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    answer(find_call("chat.postMessage"), "{\"ok\":true,\"channel\":\"C1\",\"ts\":\"5.5\"}");
    calls = mock_http_call_count(m);
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    mock_advance(m, 5000);
    assert_int_equal(mock_http_call_count(m), calls);
    assert_int_equal(mock_send_done_count(m), 2);
    assert_string_equal(mock_last_send_done(m)->message_ref, "C1:5.5");
}

static void test_thread_reply(void **state)
{
    struct pb_send s = {.size = sizeof(s),
                        .id = 12,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "C1",
                        .thread_ref = "C1:1700.5",
                        .message = &question};
    long i;

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    i = find_call("chat.postMessage");
    assert_non_null(strstr(call(i)->body, "\"thread_ts\":\"1700.5\""));
}

static void test_429_retry_after_per_method(void **state)
{
    struct pb_send s = {.size = sizeof(s),
                        .id = 20,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "C1",
                        .message = &question};
    struct pb_header ra = {"Retry-After", "30"};
    struct pb_message closed = question;
    struct pb_send u = {.size = sizeof(u),
                        .id = 22,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "C2",
                        .message_ref = "C2:1.1",
                        .message = &closed};
    size_t calls;
    long i;

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    i = find_call("chat.postMessage");
    mock_http_answer(m, (size_t)i, 429, "{\"ok\":false,\"error\":\"ratelimited\"}", &ra, 1, 30000,
                     NULL);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
    assert_int_equal(mock_last_send_done(m)->retry_after_ms, 30000);
    /* Another post within the block: not sent, handed back with what remains of the wait. */
    calls = mock_http_call_count(m);
    mock_advance(m, 10000);
    s.id = 21;
    s.target = "C3";
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    mock_advance(m, 0);
    assert_int_equal(mock_http_call_count(m), calls);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
    assert_int_equal(mock_last_send_done(m)->retry_after_ms, 20000);
    /* Other methods go on. */
    assert_int_equal(conn.update(conn.self, &u), PB_OK);
    assert_true(find_call("chat.update") >= 0);
    /* After Retry-After the method is open again. */
    mock_advance(m, 20000);
    s.id = 23;
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    assert_true(find_call("chat.postMessage") >= 0);
}

static void expect_outcome(const char *target, enum pb_target_kind kind, const char *error,
                           int outcome)
{
    static uint64_t id = 100;
    struct pb_send s = {
        .size = sizeof(s), .id = ++id, .target_kind = kind, .target = target, .message = &question};
    char body[128];
    long i;

    mock_advance(m, 2000);
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    i = find_call(kind == PB_TARGET_PERSON ? "conversations.open" : "chat.postMessage");
    snprintf(body, sizeof(body), "{\"ok\":false,\"error\":\"%s\"}", error);
    answer(i, body);
    assert_int_equal(mock_last_send_done(m)->id, id);
    assert_int_equal(mock_last_send_done(m)->outcome, outcome);
    assert_non_null(strstr(mock_last_send_done(m)->error, error));
}

static void test_error_codes(void **state)
{
    expect_outcome("C1", PB_TARGET_CHANNEL, "channel_not_found", PB_SEND_MISCONFIGURED);
    expect_outcome("C1", PB_TARGET_CHANNEL, "not_in_channel", PB_SEND_MISCONFIGURED);
    expect_outcome("C1", PB_TARGET_CHANNEL, "invalid_auth", PB_SEND_MISCONFIGURED);
    expect_outcome("C1", PB_TARGET_CHANNEL, "missing_scope", PB_SEND_MISCONFIGURED);
    expect_outcome("C1", PB_TARGET_CHANNEL, "account_inactive", PB_SEND_MISCONFIGURED);
    expect_outcome("C1", PB_TARGET_CHANNEL, "internal_error", PB_SEND_RETRY);
    expect_outcome("C1", PB_TARGET_CHANNEL, "some_new_error", PB_SEND_RETRY);
    expect_outcome("UBOT", PB_TARGET_PERSON, "cannot_dm_bot", PB_SEND_UNREACHABLE);
    expect_outcome("UGONE", PB_TARGET_PERSON, "user_not_found", PB_SEND_UNREACHABLE);
    expect_outcome("UOFF", PB_TARGET_PERSON, "user_disabled", PB_SEND_UNREACHABLE);
    assert_true(mock_log_contains(m, "invite the app"));
}

static void test_stale_dm_forgotten(void **state)
{
    struct pb_send s = to_person(30, "U5");

    mock_kv_set(m, "dm/U5", "DOLD");
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    answer(find_call("chat.postMessage"), "{\"ok\":false,\"error\":\"channel_not_found\"}");
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
    assert_null(mock_kv_value(m, "dm/U5"));
}

static void test_channel_pacing(void **state)
{
    struct pb_send s = {.size = sizeof(s),
                        .id = 40,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "C9",
                        .message = &question};

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    answer(find_call("chat.postMessage"), "{\"ok\":true,\"channel\":\"C9\",\"ts\":\"1.1\"}");
    s.id = 41;
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    mock_advance(m, 500);
    assert_true(find_call("chat.postMessage") < 0);
    /* Another channel is not held up. */
    s.id = 42;
    s.target = "C8";
    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    assert_true(find_call("chat.postMessage") >= 0);
    answer(find_call("chat.postMessage"), "{\"ok\":true,\"channel\":\"C8\",\"ts\":\"1.2\"}");
    mock_advance(m, 500);
    assert_true(find_call("chat.postMessage") >= 0);
}

static void test_bad_target(void **state)
{
    struct pb_send s = to_person(50, "U1\"},\"x\":{\"");

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
    assert_int_equal(mock_http_call_count(m), 0);
}

static void test_lookup_user(void **state)
{
    const struct mock_lookup_done *d;
    long i;
    size_t calls;

    assert_int_equal(conn.lookup_user(conn.self, 1, "Alice@Example.com"), PB_OK);
    i = find_call("users.lookupByEmail");
    assert_string_equal(call(i)->method, "GET");
    assert_string_equal(call(i)->url,
                        "http://slack.test/api/users.lookupByEmail?email=Alice%40Example.com");
    answer(i, "{\"ok\":true,\"user\":{\"id\":\"U1\",\"name\":\"alice\",\"deleted\":false,"
              "\"is_bot\":false,\"tz\":\"Europe/Oslo\",\"tz_offset\":3600,\"profile\":{"
              "\"display_name\":\"Alice A\",\"email\":\"alice@example.com\"}}}");
    i = find_call("users.info");
    assert_string_equal(call(i)->url,
                        "http://slack.test/api/users.info?include_locale=true&user=U1");
    answer(i, "{\"ok\":true,\"user\":{\"id\":\"U1\",\"tz\":\"Europe/Oslo\",\"locale\":\"nb-NO\"}}");
    assert_int_equal(mock_lookup_done_count(m), 1);
    d = mock_lookup_done(m, 0);
    assert_int_equal(d->status, PB_OK);
    assert_string_equal(d->user, "U1");
    assert_string_equal(d->name, "Alice A");
    assert_string_equal(d->timezone, "Europe/Oslo");
    assert_string_equal(d->locale, "nb-NO");
    assert_false(d->deleted);

    /* Cached: no call, answered after lookup_user returned. */
    calls = mock_http_call_count(m);
    assert_int_equal(conn.lookup_user(conn.self, 2, "alice@example.com"), PB_OK);
    assert_int_equal(mock_lookup_done_count(m), 1);
    mock_advance(m, 0);
    assert_int_equal(mock_http_call_count(m), calls);
    assert_int_equal(mock_lookup_done_count(m), 2);
    assert_string_equal(mock_lookup_done(m, 1)->locale, "nb-NO");

    /* Unknown, rate limited, deleted. */
    assert_int_equal(conn.lookup_user(conn.self, 3, "nobody@example.com"), PB_OK);
    answer(find_call("users.lookupByEmail"), "{\"ok\":false,\"error\":\"users_not_found\"}");
    assert_int_equal(mock_lookup_done(m, 2)->status, PB_ERR_UNKNOWN);
    assert_int_equal(conn.lookup_user(conn.self, 4, "gone@example.com"), PB_OK);
    answer(find_call("users.lookupByEmail"),
           "{\"ok\":true,\"user\":{\"id\":\"U9\",\"deleted\":true,\"is_bot\":false}}");
    assert_int_equal(mock_lookup_done(m, 3)->status, PB_OK);
    assert_true(mock_lookup_done(m, 3)->deleted);
    assert_int_equal(conn.lookup_user(conn.self, 5, "busy@example.com"), PB_OK);
    mock_http_answer(m, (size_t)find_call("users.lookupByEmail"), 429,
                     "{\"ok\":false,\"error\":\"ratelimited\"}", NULL, 0, 5000, NULL);
    assert_int_equal(mock_lookup_done(m, 4)->status, PB_ERR_BUSY);
    assert_int_equal(conn.lookup_user(conn.self, 6, "not an email"), PB_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dm_then_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resend_reports_first_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_429_retry_after_per_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_dm_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channel_pacing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookup_user, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The Discord connector's sends and edits against the mock host: a DM opened once and kept,
 * the nonce that makes a retried post idempotent, message references, Discord's error codes
 * as outcomes (50007 unreachable, 403 misconfigured, 5xx retry), 401 stopping the connector,
 * and the rate limits: buckets learned from headers and shared by routes, per major
 * parameter, per-route and global 429s waited out with nothing lost, and 50 calls a second.
 *
 * REST objects marked "fixture" come from shared/protocols/fixtures/discord/kord/rest/
 * (dmchannel.json, message.json), inlined unchanged apart from whitespace.
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
#define DM  "319674150115610528"

/* fixture: kord/rest/dmchannel.json */
static const char dmchannel[] =
    "{\"last_message_id\": \"3343820033257021450\", \"type\": 1, \"id\": \"319674150115610528\", "
    "\"recipients\": [{\"username\": \"test\", \"discriminator\": \"9999\", \"global_name\": "
    "null, \"id\": \"82198898841029460\", \"avatar\": \"33ecab261d4681afa4d85a04691c4a01\"}]}";
/* fixture: kord/rest/message.json (reactions trimmed) */
static const char message[] =
    "{\"attachments\": [], \"tts\": false, \"embeds\": [], \"timestamp\": "
    "\"2017-07-11T17:27:07.299000+00:00\", \"mention_everyone\": false, \"id\": "
    "\"334385199974967042\", \"pinned\": false, \"edited_timestamp\": null, \"author\": "
    "{\"username\": \"Mason\", \"discriminator\": \"9999\", \"id\": \"53908099506183680\", "
    "\"avatar\": \"a_bab14f271d565501444b2ca3be944b25\"}, \"mention_roles\": [], \"content\": "
    "\"Supa Hot\", \"channel_id\": \"290926798999357250\", \"mentions\": [], \"type\": 0, "
    "\"nonce\": 1676368321197}";

static struct mock_host *m;
static struct pb_connector dc;

static int setup(void **state)
{
    m = mock_host_new();
    mock_secret(m, "bot_token", "bot-token-1");
    mock_config_string(m, "api_base", API);
    /* A session from an earlier run: start resumes and makes no REST call of its own. */
    mock_kv_set(m, "session",
                "{\"session_id\":\"s\",\"resume_url\":\"wss://gw.test\",\"seq\":1,"
                "\"user_id\":\"1\",\"application_id\":\"2\"}");
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &dc), 0);
    assert_int_equal(dc.start(dc.self), 0);
    return 0;
}

static int teardown(void **state)
{
    dc.stop(dc.self);
    mock_flush(m);
    dc.destroy(dc.self);
    mock_host_free(m);
    return 0;
}

static struct pb_button choices[] = {{"1", "tokA", 0}, {"2", "tokB", 0}};
static struct pb_message question = {.size = sizeof(question),
                                     .kind = PB_MESSAGE_QUESTION,
                                     .text = "How was your week? @everyone",
                                     .buttons = choices,
                                     .n_buttons = 2};

static int send_to(uint64_t id, enum pb_target_kind kind, const char *target)
{
    struct pb_send s = {
        .size = sizeof(s), .id = id, .target_kind = kind, .target = target, .message = &question};
    int rc = dc.send(dc.self, &s);
    mock_advance(m, 0);
    return rc;
}

static const struct mock_http_call *last_call(void)
{
    return mock_http_call(m, mock_http_call_count(m) - 1);
}

static int has_header(const struct mock_http_call *c, const char *line)
{
    for (size_t i = 0; i < c->n_headers; i++)
        if (strcmp(c->headers[i], line) == 0)
            return 1;
    return 0;
}

static void answer_last(int status, const char *body, const struct pb_header *h, size_t nh)
{
    mock_http_answer(m, mock_http_call_count(m) - 1, status, body, h, nh, 0, NULL);
    mock_advance(m, 0);
}

static void test_dm_opened_once_and_posted(void **state)
{
    const struct mock_http_call *c;
    cJSON *body, *am;

    assert_int_equal(send_to(7, PB_TARGET_PERSON, "82198898841029460"), PB_OK);
    assert_int_equal(mock_http_call_count(m), 1);
    c = last_call();
    assert_string_equal(c->method, "POST");
    assert_string_equal(c->url, API "/users/@me/channels");
    assert_string_equal(c->body, "{\"recipient_id\":\"82198898841029460\"}");
    assert_true(has_header(c, "Authorization: Bot bot-token-1"));
    assert_true(has_header(c, "Content-Type: application/json"));
    assert_true(has_header(c, "User-Agent: DiscordBot (https://github.com/pulsebot/pulsebot, "
                              "1.0.0)"));
    answer_last(200, dmchannel, NULL, 0);
    assert_string_equal(mock_kv_value(m, "dm:82198898841029460"), DM);
    assert_int_equal(mock_http_call_count(m), 2);
    c = last_call();
    assert_string_equal(c->url, API "/channels/" DM "/messages");
    body = cJSON_Parse(c->body);
    assert_string_equal(cJSON_GetObjectItem(body, "nonce")->valuestring, "pb7");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(body, "enforce_nonce")));
    am = cJSON_GetObjectItem(body, "allowed_mentions");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(am, "parse")), 0);
    assert_non_null(strstr(cJSON_GetObjectItem(body, "content")->valuestring, "\\@everyone"));
    cJSON_Delete(body);
    assert_int_equal(mock_send_done_count(m), 0);
    answer_last(200, message, NULL, 0);
    assert_int_equal(mock_send_done_count(m), 1);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
    assert_int_equal(mock_last_send_done(m)->id, 7);
    assert_string_equal(mock_last_send_done(m)->message_ref, DM ":334385199974967042");

    /* The next message to that person reuses the DM channel. */
    send_to(8, PB_TARGET_PERSON, "82198898841029460");
    assert_int_equal(mock_http_call_count(m), 3);
    assert_string_equal(last_call()->url, API "/channels/" DM "/messages");
}

static void test_retry_keeps_nonce(void **state)
{
    send_to(9, PB_TARGET_CHANNEL, "290926798999357250");
    answer_last(502, "bad gateway", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
    send_to(9, PB_TARGET_CHANNEL, "290926798999357250");
    cJSON *body = cJSON_Parse(last_call()->body);
    assert_string_equal(cJSON_GetObjectItem(body, "nonce")->valuestring, "pb9");
    cJSON_Delete(body);
    answer_last(0, NULL, NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
}

static void test_closed_dm_unreachable(void **state)
{
    mock_kv_set(m, "dm:5", "66");
    send_to(10, PB_TARGET_PERSON, "5");
    assert_string_equal(last_call()->url, API "/channels/66/messages");
    answer_last(403, "{\"message\": \"Cannot send messages to this user\", \"code\": 50007}", NULL,
                0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
    assert_non_null(strstr(mock_last_send_done(m)->error, "50007"));
}

static void test_missing_permissions_misconfigured(void **state)
{
    send_to(11, PB_TARGET_CHANNEL, "77");
    answer_last(403, "{\"message\": \"Missing Permissions\", \"code\": 50013}", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_MISCONFIGURED);
}

static void test_stale_dm_forgotten(void **state)
{
    mock_kv_set(m, "dm:5", "66");
    send_to(12, PB_TARGET_PERSON, "5");
    answer_last(404, "{\"message\": \"Unknown Channel\", \"code\": 10003}", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
    assert_null(mock_kv_value(m, "dm:5"));
}

static void test_bad_target(void **state)
{
    send_to(13, PB_TARGET_PERSON, "alice");
    assert_int_equal(mock_http_call_count(m), 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
}

static void test_update_edits_message(void **state)
{
    struct pb_message closed = {.size = sizeof(closed),
                                .kind = PB_MESSAGE_QUESTION,
                                .text = "How was your week?",
                                .note = "You answered 2.",
                                .flags = PB_MESSAGE_CLOSED};
    struct pb_send s = {.size = sizeof(s),
                        .id = 20,
                        .target_kind = PB_TARGET_PERSON,
                        .target = "5",
                        .message_ref = "66:88",
                        .message = &closed};
    cJSON *body;

    assert_int_equal(dc.update(dc.self, &s), PB_OK);
    mock_advance(m, 0);
    assert_string_equal(last_call()->method, "PATCH");
    assert_string_equal(last_call()->url, API "/channels/66/messages/88");
    body = cJSON_Parse(last_call()->body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(body, "components")), 0);
    assert_null(cJSON_GetObjectItem(body, "nonce"));
    assert_non_null(cJSON_GetObjectItem(body, "allowed_mentions"));
    cJSON_Delete(body);
    answer_last(200, "{\"id\": \"88\", \"channel_id\": \"66\"}", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
    assert_string_equal(mock_last_send_done(m)->message_ref, "66:88");

    s.id = 21;
    dc.update(dc.self, &s);
    mock_advance(m, 0);
    answer_last(404, "{\"message\": \"Unknown Message\", \"code\": 10008}", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);

    s.id = 22;
    s.message_ref = "not-a-ref";
    dc.update(dc.self, &s);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
}

static void test_thread_reply(void **state)
{
    struct pb_send s = {.size = sizeof(s),
                        .id = 30,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "66",
                        .thread_ref = "66:88",
                        .message = &question};

    dc.send(dc.self, &s);
    mock_advance(m, 0);
    assert_string_equal(last_call()->url, API "/channels/66/messages/88/threads");
    /* Already started: the thread has the message's id. */
    answer_last(400, "{\"message\": \"A thread has already been created\", \"code\": 160004}", NULL,
                0);
    assert_string_equal(last_call()->url, API "/channels/88/messages");
    answer_last(200, "{\"id\": \"99\", \"channel_id\": \"88\"}", NULL, 0);
    assert_string_equal(mock_last_send_done(m)->message_ref, "88:99");
}

/* An alert for the on-call person: their id is mentioned and is the only one allowed to ping,
 * through the connector's whole send path. */
static void test_alert_mentions_on_call(void **state)
{
    struct pb_field f = {"Comment", "@here ping <@&9>"};
    struct pb_button acts[] = {{"Acknowledge", "tokAck", PB_BUTTON_PRIMARY}};
    struct pb_message alert = {.size = sizeof(alert),
                               .kind = PB_MESSAGE_ALERT,
                               .title = "Low score",
                               .fields = &f,
                               .n_fields = 1,
                               .buttons = acts,
                               .n_buttons = 1,
                               .mention_user = "333333333333333333"};
    struct pb_send s = {.size = sizeof(s),
                        .id = 70,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "290926798999357250",
                        .message = &alert};
    cJSON *body, *am;
    const char *content;
    char *printed;

    assert_int_equal(dc.send(dc.self, &s), PB_OK);
    mock_advance(m, 0);
    assert_string_equal(last_call()->url, API "/channels/290926798999357250/messages");
    body = cJSON_Parse(last_call()->body);
    content = cJSON_GetObjectItem(body, "content")->valuestring;
    assert_true(strncmp(content, "<@333333333333333333> ", 22) == 0);
    assert_non_null(strstr(content, "\\@here ping \\<\\@&9\\>"));
    am = cJSON_GetObjectItem(body, "allowed_mentions");
    printed = cJSON_PrintUnformatted(am);
    assert_string_equal(printed, "{\"parse\":[],\"users\":[\"333333333333333333\"]}");
    free(printed);
    cJSON_Delete(body);
    answer_last(200, message, NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
}

static void test_route_429_waited_out(void **state)
{
    static const struct pb_header h[] = {{"Retry-After", "2"}, {"X-RateLimit-Scope", "user"}};

    send_to(40, PB_TARGET_CHANNEL, "66");
    answer_last(429,
                "{\"message\": \"You are being rate limited.\", \"retry_after\": 1.5, "
                "\"global\": false}",
                h, 2);
    assert_int_equal(mock_send_done_count(m), 0); /* nothing lost, nothing reported */
    assert_int_equal(mock_counter(m, "rate_limited"), 1);
    mock_advance(m, 1499);
    assert_int_equal(mock_http_call_count(m), 1);
    /* Another channel is another bucket: not held up. */
    send_to(41, PB_TARGET_CHANNEL, "67");
    assert_int_equal(mock_http_call_count(m), 2);
    mock_advance(m, 1);
    assert_int_equal(mock_http_call_count(m), 3);
    assert_string_equal(last_call()->url, API "/channels/66/messages");
    answer_last(200, "{\"id\": \"5\"}", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
    assert_int_equal(mock_last_send_done(m)->id, 40);
}

static void test_global_429_holds_everything(void **state)
{
    static const struct pb_header h[] = {{"X-RateLimit-Global", "true"},
                                         {"X-RateLimit-Scope", "global"}};

    send_to(50, PB_TARGET_CHANNEL, "66");
    answer_last(429,
                "{\"message\": \"You are being rate limited.\", \"retry_after\": 0.25, "
                "\"global\": true}",
                h, 2);
    send_to(51, PB_TARGET_CHANNEL, "67");
    assert_int_equal(mock_http_call_count(m), 1);
    mock_advance(m, 250);
    assert_int_equal(mock_http_call_count(m), 3);
}

static void test_bucket_learned_and_shared(void **state)
{
    static const struct pb_header h[] = {{"X-RateLimit-Bucket", "abcd"},
                                         {"X-RateLimit-Limit", "5"},
                                         {"X-RateLimit-Remaining", "0"},
                                         {"X-RateLimit-Reset-After", "2.5"}};
    struct pb_send s = {.size = sizeof(s),
                        .id = 61,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "66",
                        .message_ref = "66:70",
                        .message = &question};

    send_to(60, PB_TARGET_CHANNEL, "66");
    answer_last(200, "{\"id\": \"70\"}", h, 4);
    /* The same route and channel waits for the reset... */
    send_to(62, PB_TARGET_CHANNEL, "66");
    assert_int_equal(mock_http_call_count(m), 1);
    /* ...another channel (major parameter) does not. */
    send_to(63, PB_TARGET_CHANNEL, "67");
    assert_int_equal(mock_http_call_count(m), 2);
    answer_last(200, "{\"id\": \"71\"}", h, 4);
    /* An edit in channel 66, once its route is seen sharing bucket "abcd", waits too. */
    dc.update(dc.self, &s);
    mock_advance(m, 0);
    assert_string_equal(last_call()->method, "PATCH");
    answer_last(200, "{\"id\": \"70\"}", h, 4);
    dc.update(dc.self, &(struct pb_send){.size = sizeof(s),
                                         .id = 64,
                                         .target_kind = PB_TARGET_CHANNEL,
                                         .target = "66",
                                         .message_ref = "66:70",
                                         .message = &question});
    mock_advance(m, 0);
    assert_int_equal(mock_http_call_count(m), 3);
    mock_advance(m, 2500);
    assert_int_equal(mock_http_call_count(m), 5);
}

static void test_global_rate_50_per_second(void **state)
{
    char target[16];

    for (int i = 0; i < 60; i++) {
        snprintf(target, sizeof(target), "%d", 1000 + i);
        send_to((uint64_t)(100 + i), PB_TARGET_CHANNEL, target);
    }
    assert_int_equal(mock_http_call_count(m), 16); /* at most 16 in flight */
    for (size_t i = 0; i < 16; i++)
        mock_http_answer(m, i, 200, "{\"id\": \"1\"}", NULL, 0, 0, NULL);
    mock_advance(m, 0);
    for (size_t i = 16; i < 50; i++) {
        assert_int_equal(mock_http_call_count(m) > i, 1);
        mock_http_answer(m, i, 200, "{\"id\": \"1\"}", NULL, 0, 0, NULL);
        mock_advance(m, 0);
    }
    assert_int_equal(mock_http_call_count(m), 50);
    mock_advance(m, 999);
    assert_int_equal(mock_http_call_count(m), 50);
    mock_advance(m, 1);
    assert_true(mock_http_call_count(m) > 50);
}

static void test_unauthorized_stops(void **state)
{
    send_to(70, PB_TARGET_CHANNEL, "66");
    send_to(71, PB_TARGET_CHANNEL, "66"); /* queued behind the first */
    answer_last(401, "{\"message\": \"401: Unauthorized\", \"code\": 0}", NULL, 0);
    assert_int_equal(mock_send_done_count(m), 2);
    assert_int_equal(mock_send_done(m, 0)->outcome, PB_SEND_MISCONFIGURED);
    assert_int_equal(mock_send_done(m, 1)->outcome, PB_SEND_MISCONFIGURED);
    assert_int_equal(mock_last_event(m)->type, PB_EVENT_CONNECTION);
    assert_int_equal(mock_last_event(m)->connected, 0);
    send_to(72, PB_TARGET_CHANNEL, "66");
    assert_int_equal(mock_http_call_count(m), 1);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_MISCONFIGURED);
}

static void test_stop_fails_queued(void **state)
{
    send_to(80, PB_TARGET_CHANNEL, "66");
    send_to(81, PB_TARGET_CHANNEL, "66");
    dc.stop(dc.self);
    assert_int_equal(mock_send_done_count(m), 1);
    assert_int_equal(mock_last_send_done(m)->id, 81);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
    answer_last(200, "{\"id\": \"1\"}", NULL, 0);
    assert_int_equal(mock_last_send_done(m)->id, 80);
    assert_int_equal(dc.send(dc.self, &(struct pb_send){.size = sizeof(struct pb_send),
                                                        .id = 82,
                                                        .target = "66",
                                                        .message = &question}),
                     PB_ERR_BUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dm_opened_once_and_posted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_keeps_nonce, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_dm_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_permissions_misconfigured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_dm_forgotten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_edits_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_mentions_on_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_route_429_waited_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_429_holds_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bucket_learned_and_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_rate_50_per_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unauthorized_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stop_fails_queued, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

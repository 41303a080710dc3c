/*
 * What arrives over the Discord gateway, against the mock host: a button click in a DM and in
 * a server (user vs member.user), emitted to the core before Discord is answered, answered with
 * UPDATE_MESSAGE (answer shown, buttons gone), DEFERRED_UPDATE_MESSAGE for alert actions, an
 * ephemeral refusal carrying the core's reply, the core's later edit ordered after the
 * callback; direct messages as text replies (never the bot's own or a server's); support
 * forum threads closing.
 *
 * The guild click is shared/protocols/fixtures/discord/kord/rest/interaction_selectmenu.json
 * (a select-menu click, member.user set), turned into a button click as discord.md section 3
 * describes: component_type 2, our custom_id, no values, and the message's components ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "discord.h"
#include "mock_host.h"

#define API "https://api.test/api/v10"

static struct mock_host *m;
static struct pb_connector conn;
static struct discord *dc;
static size_t calls_at_emit;

static int setup(void **state)
{
    static const char *const forums[] = {"500", NULL};
    static const char *const tags[] = {"900", NULL};

    m = mock_host_new();
    mock_secret(m, "bot_token", "bot-token-1");
    mock_config_string(m, "api_base", API);
    mock_config_list(m, "support_forums", forums);
    mock_config_list(m, "resolved_tags", tags);
    mock_kv_set(m, "session",
                "{\"session_id\":\"s\",\"resume_url\":\"wss://gw.test\",\"seq\":1,"
                "\"user_id\":\"1000\",\"application_id\":\"2\"}");
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &conn), 0);
    assert_int_equal(conn.start(conn.self), 0);
    dc = conn.self;
    return 0;
}

static int teardown(void **state)
{
    conn.stop(conn.self);
    mock_flush(m);
    conn.destroy(conn.self);
    mock_host_free(m);
    return 0;
}

static void dispatch(const char *type, const char *json)
{
    cJSON *d = cJSON_Parse(json);

    assert_non_null(d);
    dc_events_dispatch(dc, type, d);
    cJSON_Delete(d);
    mock_advance(m, 0);
}

static const struct mock_http_call *last_call(void)
{
    assert_true(mock_http_call_count(m) > 0);
    return mock_http_call(m, mock_http_call_count(m) - 1);
}

static void note_calls(void *arg, const struct pb_event *ev)
{
    calls_at_emit = mock_http_call_count(m);
}

static const char dm_click[] =
    "{\"id\": \"847587388497854464\", \"application_id\": \"2\", \"type\": 3, \"token\": "
    "\"UNIQUE_TOKEN\", \"version\": 1, \"data\": {\"custom_id\": \"c:tokB\", "
    "\"component_type\": 2}, \"channel_id\": \"66\", \"context\": 1, \"user\": {\"id\": "
    "\"53908232506183680\", \"username\": \"Mason\", \"global_name\": \"Mason M\"}, "
    "\"message\": {\"id\": \"88\", \"channel_id\": \"66\", \"content\": \"How was your week?\", "
    "\"components\": [{\"type\": 1, \"components\": [{\"type\": 2, \"style\": 2, \"label\": "
    "\"1\", \"custom_id\": \"c:tokA\"}, {\"type\": 2, \"style\": 2, \"label\": \"2\", "
    "\"custom_id\": \"c:tokB\"}]}]}}";

static void test_dm_click_committed_then_answered(void **state)
{
    cJSON *body, *data;
    const struct mock_event *ev;

    mock_emit_hook(m, note_calls, NULL);
    dispatch("INTERACTION_CREATE", dm_click);
    assert_int_equal(mock_event_count(m), 1);
    ev = mock_last_event(m);
    assert_int_equal(ev->type, PB_EVENT_CHOICE);
    assert_string_equal(ev->token, "tokB");
    assert_string_equal(ev->user, "53908232506183680");
    assert_string_equal(ev->user_name, "Mason M");
    assert_string_equal(ev->conversation, "66");
    assert_string_equal(ev->message_ref, "66:88");
    assert_int_equal(calls_at_emit, 0); /* nothing told to Discord before the commit */
    assert_int_equal(mock_http_call_count(m), 1);
    assert_string_equal(last_call()->url,
                        API "/interactions/847587388497854464/UNIQUE_TOKEN/callback");
    for (size_t i = 0; i < last_call()->n_headers; i++)
        assert_null(strstr(last_call()->headers[i], "Authorization"));
    body = cJSON_Parse(last_call()->body);
    assert_int_equal(cJSON_GetObjectItem(body, "type")->valueint, 7);
    data = cJSON_GetObjectItem(body, "data");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(data, "components")), 0);
    assert_string_equal(cJSON_GetObjectItem(data, "content")->valuestring,
                        "How was your week?\n*Your answer: 2*");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
                         cJSON_GetObjectItem(data, "allowed_mentions"), "parse")),
                     0);
    cJSON_Delete(body);
}

static void test_update_waits_for_callback(void **state)
{
    struct pb_message closed = {.size = sizeof(closed),
                                .kind = PB_MESSAGE_QUESTION,
                                .text = "How was your week?",
                                .note = "You answered 2.",
                                .flags = PB_MESSAGE_CLOSED};
    struct pb_send s = {.size = sizeof(s),
                        .id = 5,
                        .target_kind = PB_TARGET_PERSON,
                        .target = "53908232506183680",
                        .message_ref = "66:88",
                        .message = &closed};

    dispatch("INTERACTION_CREATE", dm_click);
    assert_int_equal(conn.update(conn.self, &s), PB_OK);
    mock_advance(m, 0);
    assert_int_equal(mock_http_call_count(m), 1); /* the edit waits for the callback */
    mock_http_answer(m, 0, 204, NULL, NULL, 0, 0, NULL);
    mock_advance(m, 0);
    assert_int_equal(mock_http_call_count(m), 2);
    assert_string_equal(last_call()->method, "PATCH");
    assert_string_equal(last_call()->url, API "/channels/66/messages/88");
    assert_int_equal(mock_counter(m, "interactions_answered"), 1);
}

/* fixture kord/rest/interaction_selectmenu.json as a button click (see the top comment) */
static const char guild_click[] =
    "{\"application_id\": \"845027738276462632\", \"channel_id\": \"772908445358620702\", "
    "\"data\": {\"component_type\": 2, \"custom_id\": \"a:tokAck\"}, \"guild_id\": "
    "\"772904309264089089\", \"id\": \"847587388497854464\", \"app_permissions\": "
    "\"2147483647\", \"locale\": \"de\", \"guild_locale\": \"en-US\", \"member\": {\"avatar\": "
    "null, \"deaf\": false, \"is_pending\": false, \"joined_at\": "
    "\"2020-11-02T19:25:47.248000+00:00\", \"mute\": false, \"nick\": \"Bot Man\", \"flags\": 3, "
    "\"pending\": false, \"permissions\": \"17179869183\", \"premium_since\": null, \"roles\": "
    "[\"785609923542777878\"], \"user\": {\"avatar\": \"a_d5efa99b3eeaa7dd43acca82f5692432\", "
    "\"discriminator\": \"1337\", \"global_name\": null, \"id\": \"53908232506183680\", "
    "\"public_flags\": 131141, \"username\": \"Mason\"}}, \"message\": {\"application_id\": "
    "\"845027738276462632\", \"attachments\": [], \"author\": {\"avatar\": null, \"bot\": true, "
    "\"discriminator\": \"5284\", \"global_name\": null, \"id\": \"845027738276462632\", "
    "\"public_flags\": 0, \"username\": \"Interactions Test\"}, \"channel_id\": "
    "\"772908445358620702\", \"components\": [{\"type\": 1, \"components\": [{\"type\": 2, "
    "\"style\": 1, \"label\": \"Acknowledge\", \"custom_id\": \"a:tokAck\"}]}], \"content\": "
    "\"Low score\", \"edited_timestamp\": null, \"embeds\": [], \"flags\": 0, \"id\": "
    "\"847587334500646933\", \"mention_everyone\": false, \"mention_roles\": [], \"mentions\": "
    "[], \"pinned\": false, \"timestamp\": \"2021-05-27T21:29:27.956000+00:00\", \"tts\": false, "
    "\"type\": 0}, \"token\": \"UNIQUE_TOKEN\", \"type\": 3, \"version\": 1, \"entitlements\": "
    "[{\"id\": \"0\", \"application_id\": \"0\", \"sku_id\": \"0\", \"type\": 8, \"deleted\": "
    "false}], \"context\": 0}";

static void test_guild_action_uses_member_user(void **state)
{
    cJSON *body;

    dispatch("INTERACTION_CREATE", guild_click);
    assert_int_equal(mock_last_event(m)->type, PB_EVENT_ACTION);
    assert_string_equal(mock_last_event(m)->token, "tokAck");
    assert_string_equal(mock_last_event(m)->user, "53908232506183680");
    assert_string_equal(mock_last_event(m)->user_name, "Mason");
    assert_string_equal(mock_last_event(m)->message_ref, "772908445358620702:847587334500646933");
    body = cJSON_Parse(last_call()->body);
    assert_int_equal(cJSON_GetObjectItem(body, "type")->valueint, 6);
    cJSON_Delete(body);
}

static void test_refusal_is_ephemeral(void **state)
{
    cJSON *body, *data;

    mock_emit_result(m, PB_ERR_DONE, "You have already answered this question. @everyone");
    dispatch("INTERACTION_CREATE", dm_click);
    body = cJSON_Parse(last_call()->body);
    assert_int_equal(cJSON_GetObjectItem(body, "type")->valueint, 4);
    data = cJSON_GetObjectItem(body, "data");
    assert_int_equal(cJSON_GetObjectItem(data, "flags")->valueint, 64);
    assert_string_equal(cJSON_GetObjectItem(data, "content")->valuestring,
                        "You have already answered this question. \\@everyone");
    assert_non_null(cJSON_GetObjectItem(data, "allowed_mentions"));
    cJSON_Delete(body);
}

static void test_unknown_button_refused(void **state)
{
    dispatch("INTERACTION_CREATE",
             "{\"id\": \"1\", \"type\": 3, \"token\": \"T\", \"data\": {\"custom_id\": \"zzz\", "
             "\"component_type\": 2}, \"channel_id\": \"66\", \"user\": {\"id\": \"5\"}, "
             "\"message\": {\"id\": \"88\"}}");
    assert_int_equal(mock_event_count(m), 0);
    assert_non_null(strstr(last_call()->body, "\"type\":4"));
    /* Slash commands and pings are not ours: nothing is emitted or answered. */
    dispatch("INTERACTION_CREATE", "{\"id\": \"2\", \"type\": 2, \"token\": \"T\"}");
    assert_int_equal(mock_http_call_count(m), 1);
}

static void test_select_choice(void **state)
{
    dispatch("INTERACTION_CREATE",
             "{\"id\": \"1\", \"type\": 3, \"token\": \"T\", \"data\": {\"custom_id\": \"sc:0\", "
             "\"component_type\": 3, \"values\": [\"tok7\"]}, \"channel_id\": \"66\", \"user\": "
             "{\"id\": 5}, \"message\": {\"id\": \"88\", \"content\": \"Q\", \"components\": "
             "[{\"type\": 1, \"components\": [{\"type\": 3, \"custom_id\": \"sc:0\", "
             "\"options\": [{\"label\": \"7\", \"value\": \"tok7\"}]}]}]}}");
    assert_int_equal(mock_last_event(m)->type, PB_EVENT_CHOICE);
    assert_string_equal(mock_last_event(m)->token, "tok7");
    assert_string_equal(mock_last_event(m)->user, "5"); /* a number, kept as a string */
    assert_non_null(strstr(last_call()->body, "Your answer: 7"));
}

static void test_dm_text(void **state)
{
    const struct mock_event *ev;

    dispatch("MESSAGE_CREATE",
             "{\"id\": \"90\", \"channel_id\": \"66\", \"author\": {\"id\": \"5\", \"username\": "
             "\"alice\"}, \"content\": \"Two outages @everyone\", \"type\": 0}");
    ev = mock_last_event(m);
    assert_int_equal(ev->type, PB_EVENT_TEXT);
    assert_string_equal(ev->text, "Two outages @everyone");
    assert_string_equal(ev->user, "5");
    assert_string_equal(ev->conversation, "66");
    assert_string_equal(mock_kv_value(m, "dm:5"), "66");
    assert_int_equal(mock_http_call_count(m), 0);

    /* Our own messages, other bots' and server messages are not replies. */
    dispatch("MESSAGE_CREATE", "{\"id\": \"91\", \"channel_id\": \"66\", \"author\": {\"id\": "
                               "\"1000\"}, \"content\": \"hi\"}");
    dispatch("MESSAGE_CREATE", "{\"id\": \"92\", \"channel_id\": \"66\", \"author\": {\"id\": "
                               "\"7\", \"bot\": true}, \"content\": \"hi\"}");
    dispatch("MESSAGE_CREATE", "{\"id\": \"93\", \"channel_id\": \"67\", \"guild_id\": \"3\", "
                               "\"author\": {\"id\": \"5\"}, \"content\": \"hi\"}");
    assert_int_equal(mock_event_count(m), 1);

    /* A refusal is said in the DM, escaped and mentioning nobody. */
    mock_emit_result(m, PB_ERR_UNKNOWN, "There is no open question for you right now.");
    dispatch("MESSAGE_CREATE", "{\"id\": \"94\", \"channel_id\": \"66\", \"author\": {\"id\": "
                               "\"5\"}, \"content\": \"hello?\"}");
    assert_string_equal(last_call()->url, API "/channels/66/messages");
    assert_non_null(strstr(last_call()->body, "There is no open question"));
    assert_non_null(strstr(last_call()->body, "\"allowed_mentions\":{\"parse\":[]}"));
}

static void test_forum_thread_closed(void **state)
{
    const struct mock_event *ev;

    /* Open, or in another forum: nothing. */
    dispatch("THREAD_UPDATE", "{\"id\": \"700\", \"type\": 11, \"parent_id\": \"500\", "
                              "\"owner_id\": \"5\", \"applied_tags\": [\"1\"], "
                              "\"thread_metadata\": {\"archived\": false, \"locked\": false}}");
    dispatch("THREAD_UPDATE", "{\"id\": \"701\", \"type\": 11, \"parent_id\": \"501\", "
                              "\"owner_id\": \"5\", \"thread_metadata\": {\"archived\": true}}");
    assert_int_equal(mock_event_count(m), 0);
    /* Tagged resolved. */
    dispatch("THREAD_UPDATE", "{\"id\": \"700\", \"type\": 11, \"parent_id\": \"500\", "
                              "\"owner_id\": \"5\", \"applied_tags\": [\"1\", \"900\"], "
                              "\"thread_metadata\": {\"archived\": false}}");
    ev = mock_last_event(m);
    assert_int_equal(ev->type, PB_EVENT_INTERACTION_CLOSED);
    assert_string_equal(ev->user, "5");
    assert_string_equal(ev->interaction_id, "700");
    /* Archived later: already reported. */
    dispatch("THREAD_UPDATE", "{\"id\": \"700\", \"type\": 11, \"parent_id\": \"500\", "
                              "\"owner_id\": \"5\", \"thread_metadata\": {\"archived\": true}}");
    assert_int_equal(mock_event_count(m), 1);
    dispatch("THREAD_UPDATE", "{\"id\": \"702\", \"type\": 11, \"parent_id\": \"500\", "
                              "\"owner_id\": \"6\", \"thread_metadata\": {\"locked\": true}}");
    assert_int_equal(mock_event_count(m), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dm_click_committed_then_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_waits_for_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guild_action_uses_member_user, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusal_is_ephemeral, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_button_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_select_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dm_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forum_thread_closed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

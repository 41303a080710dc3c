/*
 * The Slack connector's interaction paths against the mock host: a long scale's static_select
 * answered (the token from selected_option.value); the response_url fallback when chat.update
 * cannot update an answered question (used without the token, only while valid: 30 minutes,
 * five uses, and only a URL of Slack's or the Web API's own origin); the check-in reaction on a
 * reply inside a support thread traced to the thread's author with conversations.replies,
 * acknowledged only after the commit; and the one mention a message may ask for, through the
 * whole send path.
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

#define API "http://slack.test/api/"

static struct mock_host *m;
static struct pb_connector conn;

static int setup(void **state)
{
    static const char *const channels[] = {"C0SUPPORT", NULL};

    m = mock_host_new();
    mock_set_now(m, 1700000000000LL);
    mock_secret(m, "bot_token", "xoxb-test");
    mock_secret(m, "app_token", "xapp-test");
    mock_config_string(m, "api_url", API);
    mock_config_string(m, "checkin_reaction", "white_check_mark");
    mock_config_list(m, "checkin_channels", channels);
    mock_config_int(m, "channel_interval", 0);
    assert_int_equal(mock_connector_create(m, pb_plugin_get(PB_ABI_VERSION), &conn), 0);
    return 0;
}

static int teardown(void **state)
{
    conn.stop(conn.self);
    for (size_t i = 0; i < mock_http_call_count(m); i++)
        if (!mock_http_call(m, i)->answered)
            mock_http_answer(m, i, 0, NULL, NULL, 0, 0, "cancelled");
    mock_flush(m);
    conn.destroy(conn.self);
    mock_host_free(m);
    return 0;
}

/* The first unanswered call whose URL starts with `prefix`, or -1. */
static long find_url(const char *prefix)
{
    mock_advance(m, 0);
    for (size_t i = 0; i < mock_http_call_count(m); i++) {
        const struct mock_http_call *c = mock_http_call(m, i);
        if (!c->answered && strncmp(c->url, prefix, strlen(prefix)) == 0)
            return (long)i;
    }
    return -1;
}

static long find_call(const char *method)
{
    char url[128];

    snprintf(url, sizeof(url), API "%s", method);
    return find_url(url);
}

static size_t count_url(const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < mock_http_call_count(m); i++)
        if (strncmp(mock_http_call(m, i)->url, prefix, strlen(prefix)) == 0)
            n++;
    return n;
}

static int has_header_named(const struct mock_http_call *c, const char *name)
{
    for (size_t i = 0; i < c->n_headers; i++)
        if (strncmp(c->headers[i], name, strlen(name)) == 0)
            return 1;
    return 0;
}

static void answer(long i, int status, const char *body)
{
    assert_true(i >= 0);
    mock_http_answer(m, (size_t)i, status, body, NULL, 0, 0, NULL);
    mock_advance(m, 0);
}

static const char hello[] = "{\"type\":\"hello\",\"num_connections\":1}";

/* Starts the connector with one link up; auth.test answered (bot user UBOT). */
static struct mock_ws *connect_up(void)
{
    struct mock_ws *w;

    assert_int_equal(conn.start(conn.self), 0);
    answer(find_call("auth.test"), 200, "{\"ok\":true,\"user_id\":\"UBOT\"}");
    answer(find_call("apps.connections.open"), 200,
           "{\"ok\":true,\"url\":\"ws://127.0.0.1:9/link/?ticket=t1\"}");
    w = mock_wsc(m, mock_wsc_count(m) - 1);
    mock_wsc_open(w);
    mock_wsc_deliver(w, hello);
    return w;
}

static size_t count_events(int type)
{
    size_t n = 0;

    for (size_t i = 0; i < mock_event_count(m); i++)
        if (mock_event(m, i)->type == type)
            n++;
    return n;
}

/* ---- a long scale's menu ---- */

/* block_actions for a static_select, shaped as interactive/BlockActionPayload.json's action
 * (selected_option with text and value; no `value` of its own). */
static void deliver_select(struct mock_ws *w, const char *envelope, const char *response_url)
{
    char f[2048];

    snprintf(f, sizeof(f),
             "{\"envelope_id\":\"%s\",\"type\":\"interactive\",\"accepts_response_payload\":"
             "false,\"payload\":{\"type\":\"block_actions\",\"user\":{\"id\":\"U1\","
             "\"username\":\"alice\",\"name\":\"alice\",\"team_id\":\"T1\"},\"container\":"
             "{\"type\":\"message\",\"message_ts\":\"1700000000.000100\",\"channel_id\":\"D1\","
             "\"is_ephemeral\":false},\"channel\":{\"id\":\"D1\",\"name\":\"directmessage\"},"
             "\"response_url\":\"%s\",\"actions\":[{\"type\":\"static_select\",\"action_id\":"
             "\"pbq:select\",\"block_id\":\"pbq:select\",\"selected_option\":{\"text\":{\"type\":"
             "\"plain_text\",\"text\":\"9\",\"emoji\":true},\"value\":\"nps-token-9\"},"
             "\"placeholder\":{\"type\":\"plain_text\",\"text\":\"Choose an answer\"},"
             "\"action_ts\":\"1700000001.1\"}]}}",
             envelope, response_url);
    mock_wsc_deliver(w, f);
}

static void test_select_click(void **state)
{
    struct mock_ws *w = connect_up();
    const struct mock_event *e;

    mock_emit_result(m, PB_ERR_STORE, NULL);
    deliver_select(w, "env-s0", "http://slack.test/actions/1");
    assert_int_equal(mock_wsc_sent_count(w), 0); /* not committed: not acknowledged */
    mock_emit_result(m, PB_OK, NULL);
    deliver_select(w, "env-s1", "http://slack.test/actions/1");
    e = mock_last_event(m);
    assert_int_equal(e->type, PB_EVENT_CHOICE);
    assert_string_equal(e->token, "nps-token-9");
    assert_string_equal(e->user, "U1");
    assert_string_equal(e->message_ref, "D1:1700000000.000100");
    assert_int_equal(mock_wsc_sent_count(w), 1);
    assert_string_equal(mock_wsc_sent(w, 0), "{\"envelope_id\":\"env-s1\"}");
}

/* ---- the response_url fallback ---- */

static struct pb_message closed_q = {.size = sizeof(struct pb_message),
                                     .kind = PB_MESSAGE_QUESTION,
                                     .text = "How likely are you to recommend us?",
                                     .note = "Your answer: 9",
                                     .flags = PB_MESSAGE_CLOSED};

static void update(uint64_t id)
{
    struct pb_send u = {.size = sizeof(u),
                        .id = id,
                        .target_kind = PB_TARGET_PERSON,
                        .target = "U1",
                        .message_ref = "D1:1700000000.000100",
                        .message = &closed_q};

    assert_int_equal(conn.update(conn.self, &u), PB_OK);
}

static void test_response_url_replaces(void **state)
{
    struct mock_ws *w = connect_up();
    const struct mock_http_call *c;
    long i;

    deliver_select(w, "env-1", "http://slack.test/actions/T1/42/secret");
    update(30);
    answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"message_not_found\"}");
    assert_int_equal(mock_send_done_count(m), 0); /* not yet: the fallback is tried */
    i = find_url("http://slack.test/actions/T1/42/secret");
    assert_true(i >= 0);
    c = mock_http_call(m, (size_t)i);
    assert_string_equal(c->method, "POST");
    assert_false(has_header_named(c, "Authorization")); /* the URL authorizes, not the token */
    assert_non_null(strstr(c->body, "\"replace_original\":true"));
    assert_non_null(strstr(c->body, "Your answer: 9"));
    assert_non_null(strstr(c->body, "\"blocks\":["));
    assert_null(strstr(c->body, "\"channel\""));
    answer(i, 200, "ok"); /* a bare "ok", as Slack answers */
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
    assert_string_equal(mock_last_send_done(m)->message_ref, "D1:1700000000.000100");
    assert_int_equal(mock_counter(m, "messages_updated_by_response_url"), 1);
    assert_false(mock_log_contains(m, "secret")); /* the URL is never logged */

    /* Five uses in all: four more, then chat.update's own failure stands. */
    for (int n = 0; n < 4; n++) {
        update(31 + (uint64_t)n);
        answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"message_not_found\"}");
        answer(find_url("http://slack.test/actions/"), 200, "{\"ok\":true}");
        assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
    }
    update(40);
    answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"message_not_found\"}");
    assert_int_equal(find_url("http://slack.test/actions/"), -1);
    assert_int_equal(count_url("http://slack.test/actions/"), 5);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
    assert_non_null(strstr(mock_last_send_done(m)->error, "message_not_found"));
}

static void test_response_url_expires(void **state)
{
    struct mock_ws *w = connect_up();

    deliver_select(w, "env-1", "http://slack.test/actions/1");
    mock_advance(m, 30 * 60 * 1000);
    update(30);
    answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"cant_update_message\"}");
    assert_int_equal(find_url("http://slack.test/actions/"), -1);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
}

static void test_response_url_failure_keeps_first_error(void **state)
{
    struct mock_ws *w = connect_up();

    deliver_select(w, "env-1", "http://slack.test/actions/1");
    update(30);
    /* A DM the bot can no longer see: channel_not_found on an update. */
    answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"channel_not_found\"}");
    answer(find_url("http://slack.test/actions/1"), 404, "expired_url");
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
    assert_non_null(strstr(mock_last_send_done(m)->error, "chat.update: channel_not_found"));
}

static void test_response_url_not_for_retries(void **state)
{
    struct mock_ws *w = connect_up();

    deliver_select(w, "env-1", "http://slack.test/actions/1");
    update(30);
    answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"internal_error\"}");
    assert_int_equal(find_url("http://slack.test/actions/"), -1);
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_RETRY);
}

static void test_response_url_foreign_origin(void **state)
{
    struct mock_ws *w = connect_up();

    /* Not Slack's and not the Web API's origin: never posted to. */
    deliver_select(w, "env-1", "https://evil.example/actions/1");
    deliver_select(w, "env-2", "http://slack.test.evil.example/actions/1");
    update(30);
    answer(find_call("chat.update"), 200, "{\"ok\":false,\"error\":\"message_not_found\"}");
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_UNREACHABLE);
    for (size_t i = 0; i < mock_http_call_count(m); i++)
        assert_null(strstr(mock_http_call(m, i)->url, "evil"));
}

/* ---- the check-in reaction inside a thread ---- */

static void deliver_reaction(struct mock_ws *w, int n, const char *agent, const char *item_user,
                             const char *ts)
{
    char f[1024];

    snprintf(f, sizeof(f),
             "{\"envelope_id\":\"r%d\",\"type\":\"events_api\",\"payload\":{\"event_id\":"
             "\"EvR%d\",\"type\":\"event_callback\",\"event\":{\"type\":\"reaction_added\","
             "\"user\":\"%s\",\"reaction\":\"white_check_mark\",\"item_user\":\"%s\",\"item\":"
             "{\"type\":\"message\",\"channel\":\"C0SUPPORT\",\"ts\":\"%s\"},\"event_ts\":"
             "\"1700.9\"}},\"retry_attempt\":0}",
             n, n, agent, item_user, ts);
    mock_wsc_deliver(w, f);
}

/* conversations.replies, as in Slack's OpenAPI example: the parent first, with thread_ts. */
static const char thread_reply[] =
    "{\"ok\":true,\"has_more\":true,\"messages\":[{\"type\":\"message\",\"user\":\"UCUST\","
    "\"text\":\"my invoice is wrong\",\"thread_ts\":\"1700.1\",\"ts\":\"1700.1\","
    "\"reply_count\":3}]}";

static void test_reaction_on_thread_reply(void **state)
{
    struct mock_ws *w = connect_up();
    const struct mock_http_call *c;
    const struct mock_event *e;
    long i;

    /* The agent reacts to their own reply (item_user is the agent) deep in the thread. */
    deliver_reaction(w, 1, "UAGENT", "UAGENT", "1700.5");
    assert_int_equal(mock_wsc_sent_count(w), 0); /* not before the commit */
    i = find_call("conversations.replies");
    c = mock_http_call(m, (size_t)i);
    assert_string_equal(c->method, "GET");
    assert_string_equal(c->url, API "conversations.replies?channel=C0SUPPORT&ts=1700.5&limit=1");
    answer(i, 200, thread_reply);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
    e = mock_last_event(m);
    assert_string_equal(e->user, "UCUST");
    assert_string_equal(e->agent, "UAGENT");
    assert_string_equal(e->interaction_id, "C0SUPPORT:1700.1");
    assert_int_equal(mock_wsc_sent_count(w), 1);
    assert_string_equal(mock_wsc_sent(w, 0), "{\"envelope_id\":\"r1\"}");
    assert_non_null(mock_kv_value(m, "ev/EvR1"));
    /* Redelivered: acknowledged without a second lookup or event. */
    deliver_reaction(w, 1, "UAGENT", "UAGENT", "1700.5");
    assert_int_equal(find_call("conversations.replies"), -1);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
    assert_int_equal(mock_wsc_sent_count(w), 2);
}

static void test_reaction_by_thread_author_ignored(void **state)
{
    struct mock_ws *w = connect_up();

    /* The customer marks a reply in their own thread: not an agent closing it. */
    deliver_reaction(w, 2, "UCUST", "UAGENT", "1700.5");
    answer(find_call("conversations.replies"), 200, thread_reply);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 0);
    assert_int_equal(mock_wsc_sent_count(w), 1); /* acknowledged: not ours */
}

static void test_reaction_commit_fails_not_acked(void **state)
{
    struct mock_ws *w = connect_up();

    mock_emit_result(m, PB_ERR_STORE, NULL);
    deliver_reaction(w, 3, "UAGENT", "UAGENT", "1700.5");
    answer(find_call("conversations.replies"), 200, thread_reply);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
    assert_int_equal(mock_wsc_sent_count(w), 0);
    assert_null(mock_kv_value(m, "ev/EvR3"));
    /* A lookup that Slack could not answer (a transient error): not acknowledged either. */
    mock_emit_result(m, PB_OK, NULL);
    deliver_reaction(w, 4, "UAGENT", "UAGENT", "1700.5");
    answer(find_call("conversations.replies"), 200, "{\"ok\":false,\"error\":\"internal_error\"}");
    assert_int_equal(mock_wsc_sent_count(w), 0);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
}

static void test_reaction_without_history_scope(void **state)
{
    struct mock_ws *w = connect_up();

    /* Without channels:history the reacted message is taken as the thread's start. */
    deliver_reaction(w, 5, "UAGENT", "UCUST", "1700.1");
    answer(find_call("conversations.replies"), 200,
           "{\"ok\":false,\"error\":\"missing_scope\",\"needed\":\"channels:history\"}");
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
    assert_string_equal(mock_last_event(m)->user, "UCUST");
    assert_string_equal(mock_last_event(m)->interaction_id, "C0SUPPORT:1700.1");
    assert_true(mock_log_contains(m, "channels:history"));
    assert_int_equal(mock_wsc_sent_count(w), 1);
}

static void test_reaction_link_gone(void **state)
{
    struct mock_ws *w = connect_up();

    /* The link drops while the lookup runs: the commit stands (recorded), nothing is sent on a
     * closed link, and Slack's redelivery is acknowledged as already taken. */
    deliver_reaction(w, 6, "UAGENT", "UAGENT", "1700.5");
    mock_wsc_drop(w, 1006, "gone");
    answer(find_call("conversations.replies"), 200, thread_reply);
    assert_int_equal(count_events(PB_EVENT_INTERACTION_CLOSED), 1);
    assert_non_null(mock_kv_value(m, "ev/EvR6"));
    assert_int_equal(mock_wsc_sent_count(w), 0);
}

/* ---- the one mention a message may ask for ---- */

static void test_alert_mentions_on_call(void **state)
{
    struct pb_field f = {"Comment", "<!channel> <@U999>"};
    struct pb_button b = {"Acknowledge", "tok-ack", PB_BUTTON_PRIMARY};
    struct pb_message alert = {.size = sizeof(alert),
                               .kind = PB_MESSAGE_ALERT,
                               .title = "Low score",
                               .text = "For: Mia Lead",
                               .fields = &f,
                               .n_fields = 1,
                               .buttons = &b,
                               .n_buttons = 1,
                               .mention_user = "UMIA0001"};
    struct pb_send s = {.size = sizeof(s),
                        .id = 50,
                        .target_kind = PB_TARGET_CHANNEL,
                        .target = "CLEADS01",
                        .message = &alert};
    const struct mock_http_call *c;
    long i;

    assert_int_equal(conn.send(conn.self, &s), PB_OK);
    i = find_call("chat.postMessage");
    c = mock_http_call(m, (size_t)i);
    assert_non_null(strstr(c->body, "\"text\":\"<@UMIA0001> Low score: For: Mia Lead\""));
    assert_non_null(strstr(c->body, "<@UMIA0001> For: Mia Lead"));
    assert_non_null(strstr(c->body, "&lt;!channel&gt; &lt;@U999&gt;"));
    assert_null(strstr(c->body, "link_names"));
    assert_null(strstr(c->body, "\"parse\""));
    answer(i, 200, "{\"ok\":true,\"channel\":\"CLEADS01\",\"ts\":\"1700.000200\"}");
    assert_int_equal(mock_last_send_done(m)->outcome, PB_SEND_DONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_select_click, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_url_replaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_url_expires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_url_failure_keeps_first_error, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_response_url_not_for_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_response_url_foreign_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reaction_on_thread_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reaction_by_thread_author_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reaction_commit_fails_not_acked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reaction_without_history_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reaction_link_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_mentions_on_call, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

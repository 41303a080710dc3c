/*
 * The web chat connector with people signed in: sends to a person and to a channel (stored,
 * pushed to the right browsers only, idempotent by send id, bounded history), updates in
 * place, and what browsers send back (choices, actions, text) turned into events and results,
 * including the core refusing them and frames that cannot be used.
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
    {"Host", "chat.test"},
    {"Origin", "http://chat.test"},
};

static const struct pb_button scale[] = {
    {"1", "tok-1", PB_BUTTON_DEFAULT}, {"2", "tok-2", PB_BUTTON_DEFAULT},
    {"3", "tok-3", PB_BUTTON_DEFAULT}, {"4", "tok-4", PB_BUTTON_DEFAULT},
    {"5", "tok-5", PB_BUTTON_PRIMARY},
};

static const struct pb_message question = {
    .size = sizeof(question),
    .kind = PB_MESSAGE_QUESTION,
    .title = "Weekly pulse",
    .text = "How was your week?",
    .buttons = scale,
    .n_buttons = 5,
    .low_label = "Awful",
    .high_label = "Great",
    .flags = 0,
};

static const struct pb_field alert_fields[] = {{"Score", "2 of 5"}, {"Team", "Support"}};
static const struct pb_button alert_buttons[] = {{"Acknowledge", "ack-1", PB_BUTTON_PRIMARY},
                                                 {"Resolve", "res-1", PB_BUTTON_DANGER}};
static const struct pb_message alert = {
    .size = sizeof(alert),
    .kind = PB_MESSAGE_ALERT,
    .title = "Low score",
    .text = "A customer was unhappy",
    .fields = alert_fields,
    .n_fields = 2,
    .buttons = alert_buttons,
    .n_buttons = 2,
    .note = "Open",
};

static int setup(void **state)
{
    m = mock_host_new();
    mock_person(m, "alice", "Alice Archer");
    mock_person(m, "bob", "Bob Baker");
    mock_person(m, "carol", "Carol Cole");
    mock_channel(m, "alice", "support-leads", "Support leads");
    mock_channel(m, "bob", "support-leads", "Support leads");
    mock_link(m, "tok-alice", "alice");
    mock_link(m, "tok-bob", "bob");
    mock_link(m, "tok-carol", "carol");
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

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    assert_true(cJSON_IsNumber(v));
    return v->valuedouble;
}

/* A browser of `user`, signed in, with the welcome already taken. */
static struct mock_ws_conn *sign_in(const char *user)
{
    char hello[128];
    int status = -1;
    struct mock_ws_conn *c = mock_ws_open(m, "/ws", same_origin, 2, &status);
    cJSON *w;

    assert_non_null(c);
    snprintf(hello, sizeof(hello), "{\"type\":\"hello\",\"token\":\"tok-%s\"}", user);
    mock_ws_recv(c, hello);
    w = next_json(c);
    assert_string_equal(jstr(w, "type"), "welcome");
    cJSON_Delete(w);
    return c;
}

static void send_msg(uint64_t id, enum pb_target_kind kind, const char *target,
                     const struct pb_message *msg)
{
    const struct pb_send s = {
        .size = sizeof(s), .id = id, .target_kind = kind, .target = target, .message = msg};

    assert_int_equal(wc.send(wc.self, &s), PB_OK);
}

static void update_msg(uint64_t id, const char *ref, const struct pb_message *msg)
{
    const struct pb_send s = {.size = sizeof(s),
                              .id = id,
                              .target_kind = PB_TARGET_PERSON,
                              .target = "alice",
                              .message_ref = ref,
                              .message = msg};

    assert_int_equal(wc.update(wc.self, &s), PB_OK);
}

static void assert_done(uint64_t id, int outcome, const char *ref)
{
    const struct mock_send_done *d = mock_last_send_done(m);

    assert_non_null(d);
    assert_int_equal(d->id, id);
    assert_int_equal(d->outcome, outcome);
    if (ref)
        assert_string_equal(d->message_ref, ref);
    if (outcome != PB_SEND_DONE)
        assert_non_null(d->error);
}

/* The next frame is a result for `id`: ok, or not ok with an error containing `error`. */
static void assert_result(struct mock_ws_conn *c, double id, const char *error)
{
    cJSON *r = next_json(c);

    assert_string_equal(jstr(r, "type"), "result");
    assert_true(jnum(r, "id") == id);
    if (error) {
        assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r, "ok")));
        assert_non_null(jstr(r, "error"));
        assert_non_null(strstr(jstr(r, "error"), error));
    } else {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
        assert_null(cJSON_GetObjectItem(r, "error"));
    }
    cJSON_Delete(r);
}

/* The next frame is an error (a frame that could not be used) and the connection is open. */
static void assert_error_frame(struct mock_ws_conn *c, int id)
{
    cJSON *e = next_json(c);

    assert_string_equal(jstr(e, "type"), "error");
    assert_non_null(jstr(e, "text"));
    if (id >= 0)
        assert_int_equal((int)jnum(e, "id"), id);
    else
        assert_null(cJSON_GetObjectItem(e, "id"));
    cJSON_Delete(e);
    assert_int_equal(mock_ws_closed(c, NULL), 0);
}

/* ---- sends ---- */

static void test_send_to_person(void **state)
{
    struct mock_ws_conn *a1, *a2, *b;
    const char *stored;
    cJSON *msg, *buttons, *b4, *fields;

    start();
    a1 = sign_in("alice");
    a2 = sign_in("alice");
    b = sign_in("bob");
    mock_set_now(m, 1700000123456LL);
    send_msg(7, PB_TARGET_PERSON, "alice", &question);
    assert_int_equal(mock_send_done_count(m), 1);
    assert_done(7, PB_SEND_DONE, "dm:alice/00000000000000000007");
    stored = mock_kv_value(m, "m/dm:alice/00000000000000000007");
    assert_non_null(stored);
    assert_string_equal(mock_ws_sent(a1, 1), stored);
    assert_string_equal(mock_ws_sent(a2, 1), stored);
    assert_int_equal(mock_ws_unread(b), 0);

    msg = next_json(a1);
    assert_string_equal(jstr(msg, "type"), "message");
    assert_string_equal(jstr(msg, "conversation"), "dm:alice");
    assert_string_equal(jstr(msg, "ref"), "dm:alice/00000000000000000007");
    assert_string_equal(jstr(msg, "kind"), "question");
    assert_string_equal(jstr(msg, "title"), "Weekly pulse");
    assert_string_equal(jstr(msg, "text"), "How was your week?");
    assert_string_equal(jstr(msg, "low_label"), "Awful");
    assert_string_equal(jstr(msg, "high_label"), "Great");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "note")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(msg, "expects_text")));
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(msg, "closed")));
    assert_string_equal(jstr(msg, "from"), "bot");
    assert_true(jnum(msg, "at") == 1700000123456.0);
    fields = cJSON_GetObjectItem(msg, "fields");
    assert_true(cJSON_IsArray(fields));
    assert_int_equal(cJSON_GetArraySize(fields), 0);
    buttons = cJSON_GetObjectItem(msg, "buttons");
    assert_int_equal(cJSON_GetArraySize(buttons), 5);
    b4 = cJSON_GetArrayItem(buttons, 4);
    assert_string_equal(jstr(b4, "label"), "5");
    assert_string_equal(jstr(b4, "token"), "tok-5");
    assert_string_equal(jstr(b4, "style"), "primary");
    cJSON_Delete(msg);
    assert_int_equal(mock_counter(m, "messages_sent"), 1);
}

static void test_send_to_channel(void **state)
{
    struct mock_ws_conn *a, *b, *c;
    cJSON *msg, *fields;

    start();
    a = sign_in("alice");
    b = sign_in("bob");
    c = sign_in("carol");
    send_msg(9, PB_TARGET_CHANNEL, "support-leads", &alert);
    assert_done(9, PB_SEND_DONE, "room:support-leads/00000000000000000009");
    assert_non_null(mock_kv_value(m, "m/room:support-leads/00000000000000000009"));
    assert_int_equal(mock_ws_unread(a), 1);
    assert_int_equal(mock_ws_unread(c), 0);
    msg = next_json(b);
    assert_string_equal(jstr(msg, "conversation"), "room:support-leads");
    assert_string_equal(jstr(msg, "kind"), "alert");
    assert_string_equal(jstr(msg, "note"), "Open");
    fields = cJSON_GetObjectItem(msg, "fields");
    assert_int_equal(cJSON_GetArraySize(fields), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(fields, 0), "label"), "Score");
    assert_string_equal(jstr(cJSON_GetArrayItem(fields, 0), "value"), "2 of 5");
    assert_string_equal(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(msg, "buttons"), 1), "style"),
                        "danger");
    cJSON_Delete(msg);
    /* A DM to bob reaches bob only. */
    send_msg(10, PB_TARGET_PERSON, "bob", &question);
    assert_int_equal(mock_ws_unread(a), 1);
    assert_int_equal(mock_ws_unread(b), 1);
    assert_int_equal(mock_ws_unread(c), 0);
}

static void test_send_before_anyone_connects(void **state)
{
    struct mock_ws_conn *a;
    cJSON *w, *dm;
    int status;

    start();
    send_msg(1, PB_TARGET_PERSON, "alice", &question);
    assert_done(1, PB_SEND_DONE, "dm:alice/00000000000000000001");
    a = mock_ws_open(m, "/ws", same_origin, 2, &status);
    mock_ws_recv(a, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(a);
    dm = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"), "dm:alice");
    assert_int_equal(cJSON_GetArraySize(dm), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 0), "text"), "How was your week?");
    cJSON_Delete(w);
}

static void test_send_idempotent(void **state)
{
    struct mock_ws_conn *a;

    start();
    a = sign_in("alice");
    send_msg(42, PB_TARGET_PERSON, "alice", &question);
    send_msg(42, PB_TARGET_PERSON, "alice", &question);
    assert_int_equal(mock_send_done_count(m), 2);
    assert_int_equal(mock_send_done(m, 0)->outcome, PB_SEND_DONE);
    assert_done(42, PB_SEND_DONE, "dm:alice/00000000000000000042");
    assert_int_equal(mock_kv_count(m, "m/dm:alice/"), 1);
    assert_int_equal(mock_ws_unread(a), 1);
    assert_int_equal(mock_counter(m, "messages_sent"), 1);
}

static void test_send_store_failure(void **state)
{
    struct mock_ws_conn *a;

    start();
    a = sign_in("alice");
    mock_kv_fail(m, MOCK_KV_PUT, PB_ERR_STORE);
    send_msg(5, PB_TARGET_PERSON, "alice", &question);
    assert_done(5, PB_SEND_RETRY, NULL);
    assert_int_equal(mock_ws_unread(a), 0);
    mock_kv_fail(m, MOCK_KV_PUT, 0);
    mock_kv_fail(m, MOCK_KV_SCAN, PB_ERR_STORE);
    send_msg(5, PB_TARGET_PERSON, "alice", &question);
    assert_done(5, PB_SEND_RETRY, NULL);
    mock_kv_fail(m, MOCK_KV_SCAN, 0);
    /* The outbox retries; now it goes through, once. */
    send_msg(5, PB_TARGET_PERSON, "alice", &question);
    assert_done(5, PB_SEND_DONE, "dm:alice/00000000000000000005");
    assert_int_equal(mock_ws_unread(a), 1);
}

static void test_send_refused(void **state)
{
    struct pb_button many[33];
    struct pb_message big = question;
    const struct pb_send no_message = {.size = sizeof(no_message), .id = 3, .target = "alice"};
    const struct pb_button no_token = {"x", NULL, 0};
    struct pb_message tokenless = question;

    start();
    send_msg(1, PB_TARGET_PERSON, "", &question);
    assert_done(1, PB_SEND_UNREACHABLE, NULL);
    send_msg(2, PB_TARGET_PERSON, "al\nice", &question);
    assert_done(2, PB_SEND_UNREACHABLE, NULL);
    assert_int_equal(wc.send(wc.self, &no_message), PB_ERR_INVALID);
    assert_int_equal(mock_send_done_count(m), 2);
    for (size_t i = 0; i < 33; i++)
        many[i] = scale[0];
    big.buttons = many;
    big.n_buttons = 33;
    send_msg(4, PB_TARGET_PERSON, "alice", &big);
    assert_done(4, PB_SEND_UNREACHABLE, NULL);
    tokenless.buttons = &no_token;
    tokenless.n_buttons = 1;
    send_msg(5, PB_TARGET_PERSON, "alice", &tokenless);
    assert_done(5, PB_SEND_UNREACHABLE, NULL);
    assert_int_equal(mock_kv_count(m, "m/"), 0);
}

/* Text from people is kept as data: never cut inside a character, always valid UTF-8. */
static void test_untrusted_text(void **state)
{
    struct pb_message msg = {.size = sizeof(msg),
                             .kind = PB_MESSAGE_TEXT,
                             .title = "<b>hi</b>",
                             .text = "bad \xff byte and <script>alert(1)</script>"};
    struct mock_ws_conn *a;
    cJSON *j;

    start();
    a = sign_in("alice");
    send_msg(1, PB_TARGET_PERSON, "alice", &msg);
    j = next_json(a);
    assert_string_equal(jstr(j, "title"), "<b>hi</b>");
    assert_string_equal(jstr(j, "text"), "bad \xEF\xBF\xBD byte and <script>alert(1)</script>");
    cJSON_Delete(j);
}

/* ---- updates ---- */

static void test_update_in_place(void **state)
{
    struct pb_message closed = question;
    struct mock_ws_conn *a, *b;
    cJSON *u, *w, *dm;
    int status;

    start();
    a = sign_in("alice");
    b = sign_in("bob");
    mock_set_now(m, 1000);
    send_msg(1, PB_TARGET_PERSON, "alice", &question);
    mock_set_now(m, 2000);
    send_msg(2, PB_TARGET_PERSON, "alice", &question);
    mock_set_now(m, 9000);
    closed.flags = PB_MESSAGE_CLOSED;
    closed.note = "You answered 4";
    update_msg(3, "dm:alice/00000000000000000001", &closed);
    assert_done(3, PB_SEND_DONE, "dm:alice/00000000000000000001");
    assert_int_equal(mock_kv_count(m, "m/dm:alice/"), 2);
    assert_int_equal(mock_ws_unread(a), 3);
    cJSON_Delete(next_json(a));
    cJSON_Delete(next_json(a));
    u = next_json(a);
    assert_string_equal(jstr(u, "type"), "update");
    assert_string_equal(jstr(u, "ref"), "dm:alice/00000000000000000001");
    assert_string_equal(jstr(u, "conversation"), "dm:alice");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(u, "closed")));
    assert_string_equal(jstr(u, "note"), "You answered 4");
    assert_true(jnum(u, "at") == 1000); /* its place in time is kept */
    cJSON_Delete(u);
    assert_int_equal(mock_ws_unread(b), 0);
    /* A later welcome shows the new content in the old place. */
    a = mock_ws_open(m, "/ws", same_origin, 2, &status);
    mock_ws_recv(a, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(a);
    dm = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"), "dm:alice");
    assert_int_equal(cJSON_GetArraySize(dm), 2);
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 0), "note"), "You answered 4");
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 0), "type"), "message");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(dm, 1), "closed")));
    cJSON_Delete(w);
}

static void test_update_unknown(void **state)
{
    start();
    update_msg(1, "dm:alice/00000000000000000099", &question);
    assert_done(1, PB_SEND_UNREACHABLE, NULL);
    update_msg(2, "garbage", &question);
    assert_done(2, PB_SEND_UNREACHABLE, NULL);
    update_msg(3, NULL, &question);
    assert_done(3, PB_SEND_UNREACHABLE, NULL);
    assert_int_equal(mock_kv_count(m, "m/"), 0);
    send_msg(4, PB_TARGET_PERSON, "alice", &question);
    mock_kv_fail(m, MOCK_KV_GET, PB_ERR_STORE);
    update_msg(5, "dm:alice/00000000000000000004", &question);
    assert_done(5, PB_SEND_RETRY, NULL);
}

/* ---- history bound ---- */

static void test_history_bound(void **state)
{
    struct mock_ws_conn *a;
    cJSON *w, *dm;
    int status;

    mock_config_int(m, "history", 3);
    start();
    for (uint64_t id = 1; id <= 5; id++)
        send_msg(id, PB_TARGET_PERSON, "alice", &question);
    assert_int_equal(mock_kv_count(m, "m/dm:alice/"), 3);
    assert_null(mock_kv_value(m, "m/dm:alice/00000000000000000002"));
    assert_non_null(mock_kv_value(m, "m/dm:alice/00000000000000000003"));
    assert_non_null(mock_kv_value(m, "m/dm:alice/00000000000000000005"));
    /* Another conversation has its own bound. */
    send_msg(6, PB_TARGET_PERSON, "bob", &question);
    assert_int_equal(mock_kv_count(m, "m/dm:bob/"), 1);

    a = mock_ws_open(m, "/ws", same_origin, 2, &status);
    mock_ws_recv(a, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(a);
    dm = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"), "dm:alice");
    assert_int_equal(cJSON_GetArraySize(dm), 3);
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 0), "ref"), "dm:alice/00000000000000000003");
    cJSON_Delete(w);

    /* A repeat of a send older than all that is kept: done, not stored, not shown. */
    send_msg(1, PB_TARGET_PERSON, "alice", &question);
    assert_done(1, PB_SEND_DONE, "dm:alice/00000000000000000001");
    assert_int_equal(mock_kv_count(m, "m/dm:alice/"), 3);
    assert_null(mock_kv_value(m, "m/dm:alice/00000000000000000001"));
    assert_int_equal(mock_ws_unread(a), 0);
    /* An update of a trimmed message cannot be done. */
    update_msg(7, "dm:alice/00000000000000000002", &question);
    assert_done(7, PB_SEND_UNREACHABLE, NULL);
}

/* Keys of a longer conversation id under the same prefix are not this conversation's. */
static void test_history_prefix_isolated(void **state)
{
    struct mock_ws_conn *a;
    cJSON *w, *dm;
    int status;

    start();
    mock_kv_set(m, "m/dm:alice/x/00000000000000000001", "{\"type\":\"message\"}");
    mock_kv_set(m, "m/dm:alice/junk", "{}");
    send_msg(2, PB_TARGET_PERSON, "alice", &question);
    a = mock_ws_open(m, "/ws", same_origin, 2, &status);
    mock_ws_recv(a, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(a);
    dm = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"), "dm:alice");
    assert_int_equal(cJSON_GetArraySize(dm), 1);
    cJSON_Delete(w);
}

/* ---- what browsers send ---- */

static void test_choice(void **state)
{
    struct mock_ws_conn *a, *a2;
    const struct mock_event *e;

    start();
    a = sign_in("alice");
    a2 = sign_in("alice");
    send_msg(7, PB_TARGET_PERSON, "alice", &question);
    cJSON_Delete(next_json(a));
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-4\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":5}");
    assert_int_equal(mock_event_count(m), 2);
    e = mock_last_event(m);
    assert_int_equal(e->type, PB_EVENT_CHOICE);
    assert_string_equal(e->user, "alice");
    assert_string_equal(e->user_name, "Alice Archer");
    assert_string_equal(e->conversation, "dm:alice");
    assert_string_equal(e->message_ref, "dm:alice/00000000000000000007");
    assert_string_equal(e->token, "tok-4");
    assert_null(e->text);
    assert_result(a, 5, NULL);
    /* The result goes to the browser that asked, not to the person's other tabs. */
    assert_int_equal(mock_ws_unread(a2), 1);
}

static void test_choice_refused_by_core(void **state)
{
    struct mock_ws_conn *a;

    start();
    a = sign_in("alice");
    send_msg(7, PB_TARGET_PERSON, "alice", &question);
    cJSON_Delete(next_json(a));
    mock_emit_result(m, PB_ERR_DONE, "This question was already answered");
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-4\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":6}");
    assert_result(a, 6, "This question was already answered");
    /* No reply text: a generic one, still not ok. */
    mock_emit_result(m, PB_ERR_STORE, NULL);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-4\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":7}");
    assert_result(a, 7, "");
    assert_int_equal(mock_event_count(m), 3);
}

static void test_choice_checked(void **state)
{
    struct mock_ws_conn *a;

    start();
    a = sign_in("alice");
    send_msg(7, PB_TARGET_PERSON, "alice", &question);
    send_msg(8, PB_TARGET_PERSON, "bob", &question);
    cJSON_Delete(next_json(a));
    /* The token is the core's to judge: its refusal is what the person sees. */
    mock_emit_result(m, PB_ERR_DONE, "This question was already answered");
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-9\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":1}");
    assert_result(a, 1, "already answered");
    assert_string_equal(mock_last_event(m)->token, "tok-9");
    mock_emit_result(m, PB_OK, NULL);
    /* Someone else's conversation, even with a real token. */
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-4\","
                    "\"ref\":\"dm:bob/00000000000000000008\",\"id\":2}");
    assert_result(a, 2, "not available");
    /* A message that does not exist. */
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-4\","
                    "\"ref\":\"dm:alice/00000000000000000099\",\"id\":3}");
    assert_result(a, 3, "no longer available");
    /* Not a ref at all: malformed. */
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-4\",\"ref\":\"7\",\"id\":4}");
    assert_error_frame(a, 4);
    assert_int_equal(mock_event_count(m), 2);
}

static void test_action(void **state)
{
    struct mock_ws_conn *b, *c;
    const struct mock_event *e;

    start();
    b = sign_in("bob");
    c = sign_in("carol");
    send_msg(9, PB_TARGET_CHANNEL, "support-leads", &alert);
    cJSON_Delete(next_json(b));
    mock_ws_recv(b, "{\"type\":\"action\",\"token\":\"ack-1\","
                    "\"ref\":\"room:support-leads/00000000000000000009\",\"id\":1,"
                    "\"text\":\"on it\"}");
    e = mock_last_event(m);
    assert_int_equal(e->type, PB_EVENT_ACTION);
    assert_string_equal(e->user, "bob");
    assert_string_equal(e->conversation, "room:support-leads");
    assert_string_equal(e->message_ref, "room:support-leads/00000000000000000009");
    assert_string_equal(e->token, "ack-1");
    assert_string_equal(e->text, "on it");
    assert_result(b, 1, NULL);
    /* Without a note (or a blank one) the event has none. */
    mock_ws_recv(b, "{\"type\":\"action\",\"token\":\"res-1\","
                    "\"ref\":\"room:support-leads/00000000000000000009\",\"id\":2,\"text\":\" \"}");
    assert_null(mock_last_event(m)->text);
    assert_result(b, 2, NULL);
    /* Carol is not in the channel. */
    mock_ws_recv(c, "{\"type\":\"action\",\"token\":\"ack-1\","
                    "\"ref\":\"room:support-leads/00000000000000000009\",\"id\":3}");
    assert_result(c, 3, "not available");
    assert_int_equal(mock_event_count(m), 3);
    /* A note that is not a string is malformed. */
    mock_ws_recv(b, "{\"type\":\"action\",\"token\":\"res-1\","
                    "\"ref\":\"room:support-leads/00000000000000000009\",\"id\":4,\"text\":5}");
    assert_error_frame(b, 4);
}

static void test_text(void **state)
{
    struct pb_message ask = question;
    struct mock_ws_conn *a, *a2;
    const struct mock_event *e;
    cJSON *mine, *w, *dm;
    int status;

    start();
    a = sign_in("alice");
    a2 = sign_in("alice");
    ask.flags = PB_MESSAGE_EXPECTS_TEXT;
    ask.buttons = NULL;
    ask.n_buttons = 0;
    send_msg(7, PB_TARGET_PERSON, "alice", &ask);
    cJSON_Delete(next_json(a));
    cJSON_Delete(next_json(a2));
    mock_set_now(m, 1700000999000LL);
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\"More coffee, <please>\",\"id\":9}");
    e = mock_last_event(m);
    assert_int_equal(e->type, PB_EVENT_TEXT);
    assert_string_equal(e->user, "alice");
    assert_string_equal(e->conversation, "dm:alice");
    assert_string_equal(e->text, "More coffee, <please>");
    assert_null(e->token);
    /* The person's own words come back to all their tabs, then the result to this one. */
    mine = next_json(a);
    assert_string_equal(jstr(mine, "type"), "message");
    assert_string_equal(jstr(mine, "from"), "alice");
    assert_string_equal(jstr(mine, "text"), "More coffee, <please>");
    assert_string_equal(jstr(mine, "ref"), "dm:alice/00000000000000000007.0000000001");
    assert_true(jnum(mine, "at") == 1700000999000.0);
    cJSON_Delete(mine);
    assert_result(a, 9, NULL);
    assert_int_equal(mock_ws_unread(a2), 1);
    assert_non_null(mock_kv_value(m, "m/dm:alice/00000000000000000007.0000000001"));
    /* A second text sorts after the first, and both before the core's next message. */
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\"and tea\",\"id\":10}");
    assert_non_null(mock_kv_value(m, "m/dm:alice/00000000000000000007.0000000002"));
    send_msg(8, PB_TARGET_PERSON, "alice", &question);
    a = mock_ws_open(m, "/ws", same_origin, 2, &status);
    mock_ws_recv(a, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    w = next_json(a);
    dm = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "history"), "dm:alice");
    assert_int_equal(cJSON_GetArraySize(dm), 4);
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 1), "text"), "More coffee, <please>");
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 2), "text"), "and tea");
    assert_string_equal(jstr(cJSON_GetArrayItem(dm, 3), "ref"), "dm:alice/00000000000000000008");
    cJSON_Delete(w);
}

static void test_text_refused_by_core(void **state)
{
    struct mock_ws_conn *a;

    start();
    a = sign_in("alice");
    mock_emit_result(m, PB_ERR_UNKNOWN, "There is no open question");
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\"hello?\",\"id\":1}");
    cJSON_Delete(next_json(a)); /* the person's own message */
    assert_result(a, 1, "There is no open question");
}

static void test_text_bounds(void **state)
{
    char frame[2048], text[600];
    struct mock_ws_conn *a;
    int code;

    mock_config_int(m, "max_message", 300);
    start();
    a = sign_in("alice");
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\"\",\"id\":1}");
    assert_result(a, 1, "Write something");
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\" \\n\\t \",\"id\":2}");
    assert_result(a, 2, "Write something");
    memset(text, 'x', 301);
    text[301] = '\0';
    snprintf(frame, sizeof(frame), "{\"type\":\"text\",\"text\":\"%s\",\"id\":3}", text);
    mock_ws_recv(a, frame);
    assert_result(a, 3, "too long");
    assert_int_equal(mock_event_count(m), 1);
    assert_int_equal(mock_kv_count(m, "m/"), 0);
    text[300] = '\0';
    snprintf(frame, sizeof(frame), "{\"type\":\"text\",\"text\":\"%s\",\"id\":4}", text);
    mock_ws_recv(a, frame);
    cJSON_Delete(next_json(a));
    assert_result(a, 4, NULL);
    assert_int_equal(mock_event_count(m), 2);
    /* A frame past max_message and its room for JSON is cut off by the host. */
    memset(frame, ' ', 300 + 1024 + 1);
    frame[300 + 1024 + 1] = '\0';
    mock_ws_recv(a, frame);
    assert_int_equal(mock_ws_closed(a, &code), 1);
    assert_int_equal(code, 1009);
}

static void test_malformed_frames(void **state)
{
    struct mock_ws_conn *a;

    start();
    a = sign_in("alice");
    send_msg(7, PB_TARGET_PERSON, "alice", &question);
    cJSON_Delete(next_json(a));
    mock_ws_recv(a, "not json");
    assert_error_frame(a, -1);
    mock_ws_recv(a, "[1,2]");
    assert_error_frame(a, -1);
    mock_ws_recv(a, "{\"id\":3}");
    assert_error_frame(a, 3);
    mock_ws_recv(a, "{\"type\":\"bogus\",\"id\":4}");
    assert_error_frame(a, 4);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-1\","
                    "\"ref\":\"dm:alice/00000000000000000007\"}");
    assert_error_frame(a, -1);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-1\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":1.5}");
    assert_error_frame(a, -1);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-1\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":\"6\"}");
    assert_error_frame(a, -1);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":1,"
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":7}");
    assert_error_frame(a, 7);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-1\",\"id\":8}");
    assert_error_frame(a, 8);
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":[\"hi\"],\"id\":9}");
    assert_error_frame(a, 9);
    mock_ws_recv(a, "{\"type\":\"hello\",\"token\":\"tok-alice\"}");
    assert_error_frame(a, -1);
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\"\xc3\x28\",\"id\":10}");
    assert_error_frame(a, -1);
    assert_int_equal(mock_event_count(m), 1);
    assert_int_equal(mock_counter(m, "frames_rejected"), 12);
    /* A good frame still works, and the count does not reset. */
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-1\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":11}");
    assert_result(a, 11, NULL);
    for (int i = 0; i < 7; i++) {
        mock_ws_recv(a, "{}");
        assert_error_frame(a, -1);
    }
    mock_ws_recv(a, "{}");
    int code = 0;
    assert_int_equal(mock_ws_closed(a, &code), 1);
    assert_int_equal(code, 1008);
    /* After the close, further frames are dropped. */
    mock_ws_recv(a, "{\"type\":\"text\",\"text\":\"x\",\"id\":12}");
    assert_int_equal(mock_event_count(m), 2);
}

/* The core may update the message from inside emit: the browser sees the update, then the
 * result, and nothing is touched after it is gone. */
static struct pb_message closed_q;

static void update_from_emit(void *arg, const struct pb_event *ev)
{
    if (ev->type == PB_EVENT_CHOICE)
        update_msg(100, ev->message_ref, &closed_q);
}

static void test_update_inside_emit(void **state)
{
    struct mock_ws_conn *a;
    cJSON *u;

    start();
    a = sign_in("alice");
    send_msg(7, PB_TARGET_PERSON, "alice", &question);
    cJSON_Delete(next_json(a));
    closed_q = question;
    closed_q.flags = PB_MESSAGE_CLOSED;
    closed_q.note = "Thanks!";
    mock_emit_hook(m, update_from_emit, NULL);
    mock_ws_recv(a, "{\"type\":\"choice\",\"token\":\"tok-2\","
                    "\"ref\":\"dm:alice/00000000000000000007\",\"id\":1}");
    u = next_json(a);
    assert_string_equal(jstr(u, "type"), "update");
    assert_string_equal(jstr(u, "note"), "Thanks!");
    cJSON_Delete(u);
    assert_result(a, 1, NULL);
    assert_done(100, PB_SEND_DONE, "dm:alice/00000000000000000007");
}

static void test_push_failure_isolated(void **state)
{
    struct mock_ws_conn *a1, *a2;

    start();
    a1 = sign_in("alice");
    a2 = sign_in("alice");
    mock_ws_send_fail(a1, PB_ERR);
    send_msg(1, PB_TARGET_PERSON, "alice", &question);
    assert_done(1, PB_SEND_DONE, "dm:alice/00000000000000000001");
    assert_int_equal(mock_ws_unread(a2), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_to_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_to_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_before_anyone_connects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_store_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_send_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untrusted_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_in_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_unknown, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_prefix_isolated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choice_refused_by_core, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choice_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_action, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_refused_by_core, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_inside_emit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_push_failure_isolated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

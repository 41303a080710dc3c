/*
 * The engine's state machines end to end, on a real store and the test configuration, with a
 * fake clock and a fake connector that records what it is asked to send: a scheduled round,
 * answers and follow-ups, tokens refused for every reason, alerts and their actions, expiry,
 * outbox ordering and retries, and a restart in the middle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "engine_internal.h"
#include "log.h"
#include "message.h"
#include "store.h"
#include "token.h"

#define MAX_SENT 64

struct sent {
    int update;
    uint64_t id;
    char target[128];
    char message_ref[128];
    char title[128], text[256], note[256];
    int n_buttons;
    char tokens[PB_MESSAGE_MAX_BUTTONS][PB_TOKEN_MAX];
    char labels[PB_MESSAGE_MAX_BUTTONS][32];
    char fields[512];
    uint32_t flags;
};

enum mode { DONE_AT_ONCE, DONE_LATER, RETRY_ONCE };

struct fixture {
    char dir[64];
    struct pb_fake_clock clock;
    struct pb_config *cfg;
    struct pb_store *store;
    struct pb_token_key key;
    struct pb_engine *engine;
    struct sent sent[MAX_SENT];
    size_t n_sent;
    enum mode mode;
    int wakes;
    int retried;
};

static void record(struct fixture *f, const struct pb_send *s, int update)
{
    assert_true(f->n_sent < MAX_SENT);
    struct sent *r = &f->sent[f->n_sent++];
    memset(r, 0, sizeof *r);
    r->update = update;
    r->id = s->id;
    snprintf(r->target, sizeof r->target, "%s", s->target);
    snprintf(r->message_ref, sizeof r->message_ref, "%s", s->message_ref ? s->message_ref : "");
    const struct pb_message *m = s->message;
    snprintf(r->title, sizeof r->title, "%s", m->title ? m->title : "");
    snprintf(r->text, sizeof r->text, "%s", m->text ? m->text : "");
    snprintf(r->note, sizeof r->note, "%s", m->note ? m->note : "");
    r->flags = m->flags;
    r->n_buttons = (int)m->n_buttons;
    for (size_t i = 0; i < m->n_buttons; i++) {
        snprintf(r->tokens[i], PB_TOKEN_MAX, "%s", m->buttons[i].token);
        snprintf(r->labels[i], sizeof r->labels[i], "%s", m->buttons[i].label);
    }
    for (size_t i = 0; i < m->n_fields; i++) {
        size_t n = strlen(r->fields);
        snprintf(r->fields + n, sizeof r->fields - n, "%s=%s;", m->fields[i].label,
                 m->fields[i].value);
    }
}

static struct fixture *current;

static void finish(struct fixture *f, uint64_t id)
{
    char ref[64];
    snprintf(ref, sizeof ref, "ref-%llu", (unsigned long long)id);
    struct pb_send_result res = {.size = sizeof res, .outcome = PB_SEND_DONE, .message_ref = ref};
    pb_engine_send_done(f->engine, "web", id, &res);
}

static int fake_send(struct fixture *f, const struct pb_send *s, int update)
{
    record(f, s, update);
    if (f->mode == RETRY_ONCE && !f->retried) {
        f->retried = 1;
        struct pb_send_result res = {.size = sizeof res,
                                     .outcome = PB_SEND_RETRY,
                                     .retry_after_ms = 5000,
                                     .error = "rate limited"};
        pb_engine_send_done(f->engine, "web", s->id, &res);
    } else if (f->mode != DONE_LATER) {
        finish(f, s->id);
    }
    return PB_OK;
}

static int conn_send(void *self, const struct pb_send *s)
{
    return fake_send(self, s, 0);
}

static int conn_update(void *self, const struct pb_send *s)
{
    return fake_send(self, s, 1);
}

static void wake(void *arg)
{
    ((struct fixture *)arg)->wakes++;
}

static void start_engine(struct fixture *f)
{
    struct pb_engine_setup setup = {f->store, &f->key, wake, f};
    assert_int_equal(pb_engine_create(&setup, f->cfg, &f->engine), PB_OK);
    struct pb_connector conn = {
        .size = sizeof conn, .self = f, .send = conn_send, .update = conn_update};
    assert_int_equal(pb_engine_attach(f->engine, "web", &conn), PB_OK);
}

static void open_store(struct fixture *f)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/t.db", f->dir);
    assert_int_equal(pb_store_open(path, &f->store, err, sizeof err), PB_OK);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-engine-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    pb_log_set_level(PB_LOG_WARNING);
    pb_fake_clock_init(&f->clock, 1800000000000LL);
    pb_clock_set(&f->clock.clock);
    struct pb_diag diag = {0};
    int rc = pb_config_load(PB_TEST_DATA "/engine/engine.conf", &f->cfg, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.lines[i]);
    pb_diag_free(&diag);
    assert_int_equal(rc, 0);
    open_store(f);
    for (int i = 0; i < PB_TOKEN_KEY_LEN; i++)
        f->key.bytes[i] = (unsigned char)(i * 7 + 1);
    start_engine(f);
    current = f;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pb_engine_destroy(f->engine);
    pb_store_close(f->store);
    pb_config_free(f->cfg);
    pb_clock_set(NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void advance(struct fixture *f, int64_t ms)
{
    f->clock.now += ms;
    pb_engine_run(f->engine);
}

static int event(struct fixture *f, enum pb_event_type type, const char *user, const char *token,
                 const char *text, char *reply, size_t reply_len)
{
    struct pb_event ev = {
        .size = sizeof ev, .type = type, .user = user, .token = token, .text = text};
    return pb_engine_event(f->engine, "web", &ev, reply, reply_len);
}

static struct sent *last_to(struct fixture *f, const char *target)
{
    for (size_t i = f->n_sent; i-- > 0;)
        if (strcmp(f->sent[i].target, target) == 0)
            return &f->sent[i];
    return NULL;
}

/* The round: nothing before `first`, then one question to each of alice and bob. */
static void ask_round(struct fixture *f)
{
    advance(f, 0);
    assert_int_equal(f->n_sent, 0);
    int64_t due = pb_engine_next_due(f->engine);
    assert_int_equal(due, f->clock.now + 30000);
    advance(f, 30000);
    assert_int_equal(f->n_sent, 2);
    struct sent *q = last_to(f, "alice");
    assert_non_null(q);
    assert_string_equal(q->text, "How was your week?");
    assert_string_equal(q->title, "Weekly pulse");
    assert_int_equal(q->n_buttons, 5);
    assert_string_equal(q->labels[0], "1");
    assert_string_equal(q->labels[4], "5");
    assert_non_null(last_to(f, "bob"));
}

static void test_round_asks_audience_once(void **state)
{
    struct fixture *f = *state;
    ask_round(f);
    /* A week later the round repeats, but alice and bob still have an open delivery? No: the
     * window is one day, so theirs expired and they are asked again. */
    advance(f, 7LL * 24 * 3600 * 1000);
    size_t questions = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        questions += !f->sent[i].update && f->sent[i].n_buttons == 5;
    assert_int_equal(questions, 4);
    /* The expired first questions were closed in place. */
    int closed = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        closed += f->sent[i].update && strstr(f->sent[i].note, "closed") != NULL;
    assert_int_equal(closed, 2);
}

static void test_low_score_follow_up_and_alert(void **state)
{
    struct fixture *f = *state;
    ask_round(f);
    struct sent *q = last_to(f, "alice");
    char token[PB_TOKEN_MAX], reply[256];
    snprintf(token, sizeof token, "%s", q->tokens[1]); /* 2 */
    size_t before = f->n_sent;
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", token, NULL, reply, sizeof reply), PB_OK);
    advance(f, 0);
    /* The question is closed with the answer, the follow-up asked, the alert posted. */
    int saw_close = 0, saw_follow_up = 0, saw_alert = 0;
    for (size_t i = before; i < f->n_sent; i++) {
        struct sent *s = &f->sent[i];
        if (s->update && strcmp(s->target, "alice") == 0) {
            saw_close = 1;
            assert_string_equal(s->note, "Your answer: 2 of 5");
            assert_int_equal(s->n_buttons, 0);
            assert_true(s->flags & PB_MESSAGE_CLOSED);
        } else if (!s->update && strcmp(s->target, "alice") == 0) {
            saw_follow_up = 1;
            assert_string_equal(s->text, "What made it hard?");
            assert_true(s->flags & PB_MESSAGE_EXPECTS_TEXT);
        } else if (!s->update && strcmp(s->target, "leads") == 0) {
            saw_alert = 1;
            assert_string_equal(s->title, "Low score: 2 of 5");
            assert_non_null(strstr(s->fields, "From=Alice Andersen (Support);"));
            assert_non_null(strstr(s->fields, "Comment=(none yet);"));
            assert_int_equal(s->n_buttons, 2);
            assert_string_equal(s->labels[0], "Acknowledge");
        }
    }
    assert_true(saw_close && saw_follow_up && saw_alert);
    assert_int_equal(pb_store_alert_count(f->store), 1);

    /* A replay of the same click, and a click on another value, change nothing. */
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", token, NULL, reply, sizeof reply),
                     PB_ERR_DONE);
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", q->tokens[4], NULL, reply, sizeof reply),
                     PB_ERR_DONE);
    assert_int_equal(pb_store_answer_count(f->store), 1);

    /* The comment arrives as alice's next message, bounded to 20 bytes, and reaches the alert. */
    before = f->n_sent;
    assert_int_equal(event(f, PB_EVENT_TEXT, "alice", NULL, "Too many tickets this week, again",
                           reply, sizeof reply),
                     PB_OK);
    advance(f, 0);
    struct sent *alert = last_to(f, "leads");
    assert_true(alert->update);
    assert_non_null(strstr(alert->fields, "Comment=Too many tickets thi;"));
    struct sent *thanks = last_to(f, "alice");
    assert_string_equal(thanks->text, "Thanks!");
    assert_true(f->n_sent > before);

    /* Nothing is open any more: another message gets a polite no. */
    assert_int_equal(event(f, PB_EVENT_TEXT, "alice", NULL, "hello?", reply, sizeof reply),
                     PB_ERR_UNKNOWN);
    assert_string_equal(reply, "There is no open question for you right now.");
}

static void answer_low(struct fixture *f)
{
    ask_round(f);
    char reply[256];
    assert_int_equal(
        event(f, PB_EVENT_CHOICE, "alice", last_to(f, "alice")->tokens[0], NULL, reply, 256),
        PB_OK);
    advance(f, 0);
}

static void test_alert_actions(void **state)
{
    struct fixture *f = *state;
    answer_low(f);
    struct sent *alert = last_to(f, "leads");
    char ack[PB_TOKEN_MAX], resolve[PB_TOKEN_MAX], reply[256];
    snprintf(ack, sizeof ack, "%s", alert->tokens[0]);
    snprintf(resolve, sizeof resolve, "%s", alert->tokens[1]);

    /* bob is in support, not in the leads team, and manages nothing: refused. */
    assert_int_equal(event(f, PB_EVENT_ACTION, "bob", ack, NULL, reply, sizeof reply),
                     PB_ERR_NOT_YOURS);
    /* someone not on the roster: refused. */
    assert_int_equal(event(f, PB_EVENT_ACTION, "mallory", ack, NULL, reply, sizeof reply),
                     PB_ERR_UNKNOWN);

    assert_int_equal(event(f, PB_EVENT_ACTION, "mia", ack, NULL, reply, sizeof reply), PB_OK);
    advance(f, 0);
    alert = last_to(f, "leads");
    assert_true(alert->update);
    assert_string_equal(alert->note, "Acknowledged by Mia Lead at 2027-01-15 08:00 UTC.");
    assert_int_equal(alert->n_buttons, 1);
    assert_string_equal(alert->labels[0], "Resolve");
    assert_string_equal(alert->message_ref, "ref-5"); /* the alert's own send */

    assert_int_equal(event(f, PB_EVENT_ACTION, "mia", ack, NULL, reply, sizeof reply), PB_ERR_DONE);
    assert_string_equal(reply, "This alert is already acknowledged.");
    assert_int_equal(event(f, PB_EVENT_ACTION, "mia", resolve, NULL, reply, sizeof reply), PB_OK);
    advance(f, 0);
    alert = last_to(f, "leads");
    assert_int_equal(alert->n_buttons, 0);
    assert_true(alert->flags & PB_MESSAGE_CLOSED);
    assert_non_null(strstr(alert->note, "Resolved by Mia Lead"));
    assert_int_equal(event(f, PB_EVENT_ACTION, "mia", resolve, NULL, reply, sizeof reply),
                     PB_ERR_DONE);
}

static void test_tokens_refused(void **state)
{
    struct fixture *f = *state;
    ask_round(f);
    char token[PB_TOKEN_MAX], reply[256];
    snprintf(token, sizeof token, "%s", last_to(f, "alice")->tokens[2]);
    /* bob clicks alice's button. */
    assert_int_equal(event(f, PB_EVENT_CHOICE, "bob", token, NULL, reply, sizeof reply),
                     PB_ERR_NOT_YOURS);
    /* A changed character breaks the signature. */
    token[3] = token[3] == 'A' ? 'B' : 'A';
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", token, NULL, reply, sizeof reply),
                     PB_ERR_FORGED);
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", "not a token!", NULL, reply, 256),
                     PB_ERR_INVALID);
    /* A token signed with another key. */
    struct pb_token_key other = {{0}};
    struct pb_token t = {.kind = PB_TOKEN_CHOICE, .id = 1, .index = 0, .value = 1};
    char forged[PB_TOKEN_MAX];
    assert_int_equal(pb_token_sign(&other, &t, forged, sizeof forged), PB_OK);
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", forged, NULL, reply, sizeof reply),
                     PB_ERR_FORGED);
    /* An action token used as a choice. */
    t.kind = PB_TOKEN_ACTION;
    assert_int_equal(pb_token_sign(&f->key, &t, forged, sizeof forged), PB_OK);
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", forged, NULL, reply, sizeof reply),
                     PB_ERR_INVALID);
    /* After the window the question is closed. */
    advance(f, 25LL * 3600 * 1000);
    snprintf(token, sizeof token, "%s", f->sent[0].tokens[2]);
    assert_int_equal(event(f, PB_EVENT_CHOICE, f->sent[0].target, token, NULL, reply, 256),
                     PB_ERR_EXPIRED);
    assert_int_equal(pb_store_answer_count(f->store), 0);
}

static void test_typed_score_and_unknown_person(void **state)
{
    struct fixture *f = *state;
    ask_round(f);
    char reply[256];
    assert_int_equal(event(f, PB_EVENT_TEXT, "bob", NULL, "great", reply, sizeof reply),
                     PB_ERR_INVALID);
    assert_string_equal(reply, "Please pick one of the buttons, or write a number from 1 to 5.");
    assert_int_equal(event(f, PB_EVENT_TEXT, "bob", NULL, " 4 ", reply, sizeof reply), PB_OK);
    advance(f, 0);
    assert_string_equal(last_to(f, "bob")->text, "Thanks!"); /* 4 has no follow-up */
    assert_int_equal(pb_store_alert_count(f->store), 0);
    assert_int_equal(event(f, PB_EVENT_TEXT, "stranger", NULL, "hi", reply, sizeof reply),
                     PB_ERR_UNKNOWN);
}

static void test_anonymous_answer_has_no_name_and_no_alert(void **state)
{
    struct fixture *f = *state;
    const struct pb_cfg_survey *s = pb_config_survey(f->cfg, "anon");
    assert_int_equal(pb_survey_start(f->engine, s, pb_config_person(f->cfg, "alice"), NULL, 0, 0),
                     PB_OK);
    advance(f, 0);
    char reply[256];
    assert_int_equal(
        event(f, PB_EVENT_CHOICE, "alice", last_to(f, "alice")->tokens[0], NULL, reply, 256),
        PB_OK);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_for(f->store, "web", "alice", &d), PB_ERR_UNKNOWN);
    struct pb_answer a;
    assert_int_equal(pb_store_answer_get(f->store, 1, "q", &a), PB_OK);
    assert_string_equal(a.person, "");
    assert_string_equal(a.team, "support");
    pb_answer_clear(&a);
    assert_int_equal(pb_store_alert_count(f->store), 0);
    /* Once answered, the delivery no longer says whose it was, and nothing the store keeps of
     * the messages pairs the score with the recipient. */
    assert_int_equal(pb_store_delivery_get(f->store, 1, &d), PB_OK);
    assert_string_equal(d.person, "");
    assert_string_equal(d.address, "");
    advance(f, 0);
    struct sent *closed = NULL;
    for (size_t i = 0; i < f->n_sent; i++)
        if (f->sent[i].update)
            closed = &f->sent[i];
    assert_non_null(closed);
    assert_string_equal(closed->note, "Your answer was recorded.");
    struct pb_outbox o;
    assert_int_equal(pb_store_outbox_get(f->store, (int64_t)closed->id, &o), PB_OK);
    assert_string_equal(o.payload, ""); /* sent: the content is not kept */
    pb_outbox_clear(&o);
}

static void test_outbox_order_and_retry(void **state)
{
    struct fixture *f = *state;
    f->mode = RETRY_ONCE;
    ask_round(f);
    /* The first send was refused for 5 s; the other target went on. */
    assert_int_equal(f->n_sent, 2);
    uint64_t first = f->sent[0].id;
    advance(f, 4000);
    assert_int_equal(f->n_sent, 2);
    assert_true(pb_engine_next_due(f->engine) <= f->clock.now + 1000);
    advance(f, 1000);
    assert_int_equal(f->n_sent, 3);
    assert_int_equal(f->sent[2].id, first); /* the same row, the same idempotency key */

    /* Messages wait for the one before them to the same person. */
    f->mode = DONE_LATER;
    char reply[256];
    assert_int_equal(
        event(f, PB_EVENT_CHOICE, "alice", last_to(f, "alice")->tokens[0], NULL, reply, 256),
        PB_OK);
    advance(f, 0);
    size_t n = f->n_sent;
    int to_alice = 0;
    for (size_t i = 3; i < n; i++)
        to_alice += strcmp(f->sent[i].target, "alice") == 0;
    assert_int_equal(to_alice, 1); /* only the close-question update so far */
    for (size_t i = 3; i < n; i++)
        finish(f, f->sent[i].id);
    advance(f, 0);
    assert_string_equal(last_to(f, "alice")->text, "What made it hard?");
}

static void test_restart_resends_pending_once(void **state)
{
    struct fixture *f = *state;
    f->mode = DONE_LATER;
    ask_round(f);
    assert_int_equal(f->n_sent, 2);
    /* "Crash": the engine goes away with two sends unconfirmed. */
    pb_engine_destroy(f->engine);
    pb_store_close(f->store);
    open_store(f);
    f->mode = DONE_AT_ONCE;
    start_engine(f);
    advance(f, 0);
    assert_int_equal(f->n_sent, 4);
    assert_int_equal(f->sent[2].id + f->sent[3].id, f->sent[0].id + f->sent[1].id);
    /* Confirmed now; a further restart sends nothing again and the round is not repeated. */
    pb_engine_destroy(f->engine);
    pb_store_close(f->store);
    open_store(f);
    start_engine(f);
    advance(f, 60000);
    assert_int_equal(f->n_sent, 4);
    assert_int_equal(pb_store_outbox_pending(f->store), 0);
}

static void test_new_wave_replaces_an_open_delivery(void **state)
{
    struct fixture *f = *state;
    /* The next wave comes while alice's first delivery is still open. */
    ask_round(f);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_for(f->store, "web", "alice", &d), PB_OK);
    int64_t first = d.id;
    /* What a round does for each person: the open delivery is closed, a new one starts. */
    assert_int_equal(pb_store_begin(f->store), PB_OK);
    assert_int_equal(pb_survey_supersede(f->engine, "pulse", "alice"), PB_OK);
    assert_int_equal(pb_survey_start(f->engine, pb_config_survey(f->cfg, "pulse"),
                                     pb_config_person(f->cfg, "alice"), "weekly", 2, 0),
                     PB_OK);
    assert_int_equal(pb_store_commit(f->store), PB_OK);
    advance(f, 0);
    assert_int_equal(pb_store_delivery_get(f->store, first, &d), PB_OK);
    assert_int_equal(d.state, PB_DELIVERY_EXPIRED);
    int replaced = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        replaced += f->sent[i].update &&
                    strcmp(f->sent[i].note, "This survey was replaced by a newer one.") == 0;
    assert_int_equal(replaced, 1);
    assert_int_equal(pb_store_delivery_open_for(f->store, "web", "alice", &d), PB_OK);
    assert_true(d.id > first);
    /* The old question's buttons no longer count. */
    char reply[256];
    assert_int_equal(event(f, PB_EVENT_CHOICE, "alice", f->sent[0].tokens[0], NULL, reply, 256),
                     PB_ERR_EXPIRED);
}

static size_t questions_sent(const struct fixture *f)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && f->sent[i].n_buttons == 5;
    return n;
}

static void test_catch_up_after_downtime(void **state)
{
    struct fixture *f = *state;
    const int64_t day = 24LL * 3600 * 1000;
    ask_round(f);
    int64_t round1 = f->clock.now;
    /* Down for a week and two hours: round 2 fell due two hours ago, inside its one-day
     * window, so it is sent late, and its window still ends a day after it was due. */
    f->clock.now += 7 * day + 2 * 3600 * 1000;
    advance(f, 0);
    assert_int_equal(questions_sent(f), 4);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_open_for(f->store, "web", "alice", &d), PB_OK);
    assert_int_equal(d.expires_ms, round1 + 7 * day + day);
    /* Down for nine days: round 3 fell due two days ago, past its window: nobody is asked,
     * and round 4 keeps the weekly cadence. */
    f->clock.now += 9 * day;
    advance(f, 0);
    assert_int_equal(questions_sent(f), 4);
    assert_int_equal(pb_engine_next_due(f->engine), round1 + 21 * day);
    int64_t round = 0, last = 0;
    assert_int_equal(pb_store_schedule_get(f->store, "weekly", &round, &last), PB_OK);
    assert_int_equal(round, 3);
    assert_int_equal(last, round1 + 14 * day);
    /* Down for five weeks: rounds 4 to 8 are missed, and round 9, due twelve hours ago, is
     * still open: one question each, not a burst of six. */
    f->clock.now = round1 + 56 * day + 12 * 3600 * 1000;
    advance(f, 0);
    assert_int_equal(questions_sent(f), 6);
    assert_int_equal(pb_store_schedule_get(f->store, "weekly", &round, &last), PB_OK);
    assert_int_equal(round, 9);
    assert_int_equal(last, round1 + 56 * day);
}

/* A second connector that can look people up by email, answering later. */
struct lookup_conn {
    uint64_t requests[8];
    char emails[8][64];
    size_t n;
};

static int lookup_send(void *self, const struct pb_send *s)
{
    return PB_ERR;
}

static int lookup_user(void *self, uint64_t request, const char *email)
{
    struct lookup_conn *c = self;
    assert_true(c->n < 8);
    c->requests[c->n] = request;
    snprintf(c->emails[c->n++], 64, "%s", email);
    return PB_OK;
}

static void attach_chat(struct fixture *f, struct lookup_conn *c)
{
    struct pb_connector conn = {.size = sizeof conn,
                                .self = c,
                                .send = lookup_send,
                                .update = lookup_send,
                                .lookup_user = lookup_user};
    assert_int_equal(pb_engine_attach(f->engine, "chat", &conn), PB_OK);
}

static void test_handles_found_by_email_are_kept(void **state)
{
    struct fixture *f = *state;
    struct lookup_conn c = {0};
    attach_chat(f, &c);
    /* fred has a configured handle; erin and gus are looked up. */
    assert_int_equal(c.n, 2);
    assert_string_equal(c.emails[0], "erin@example.com");
    assert_string_equal(c.emails[1], "gus@example.com");
    struct pb_user_info erin = {.size = sizeof erin, .user = "UERIN", .timezone = "Europe/Oslo"};
    pb_engine_lookup_done(f->engine, "chat", c.requests[0], PB_OK, &erin);
    pb_engine_lookup_done(f->engine, "chat", c.requests[1], PB_ERR_UNKNOWN, NULL);
    pb_engine_lookup_done(f->engine, "chat", 999, PB_OK, &erin); /* never asked: ignored */
    const struct pb_roster *r = pb_engine_roster(f->engine);
    assert_string_equal(pb_roster_handle(r, pb_config_person(f->cfg, "erin"), "chat"), "UERIN");
    assert_ptr_equal(pb_roster_by_handle(r, "chat", "UERIN"), pb_config_person(f->cfg, "erin"));
    assert_null(pb_roster_handle(r, pb_config_person(f->cfg, "gus"), "chat"));

    /* After a restart nobody is asked again, and erin's handle is known at once. */
    pb_engine_destroy(f->engine);
    start_engine(f);
    struct lookup_conn again = {0};
    attach_chat(f, &again);
    assert_int_equal(again.n, 0);
    r = pb_engine_roster(f->engine);
    assert_string_equal(pb_roster_handle(r, pb_config_person(f->cfg, "erin"), "chat"), "UERIN");

    /* A week later gus, whom the platform did not know, is asked about again. */
    pb_engine_destroy(f->engine);
    f->clock.now += 8LL * 24 * 3600 * 1000;
    start_engine(f);
    struct lookup_conn later = {0};
    attach_chat(f, &later);
    assert_int_equal(later.n, 1);
    assert_string_equal(later.emails[0], "gus@example.com");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_asks_audience_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_low_score_follow_up_and_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_actions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_score_and_unknown_person, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anonymous_answer_has_no_name_and_no_alert, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outbox_order_and_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_resends_pending_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handles_found_by_email_are_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_wave_replaces_an_open_delivery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catch_up_after_downtime, setup, teardown),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}

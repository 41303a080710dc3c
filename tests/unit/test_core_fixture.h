/*
 * What the alert tests of the engine share: a real store in a private directory, a fake
 * clock, and a fake "web" connector that records every send and update it is asked for and
 * confirms each at once with the reference "ref-<id>". Functions are static inline so each
 * test file uses what it needs.
 */
#ifndef PB_TEST_CORE_FIXTURE_H
#define PB_TEST_CORE_FIXTURE_H

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

#define FX_MAX_SENT 128
#define FX_START_MS 1800000000000LL /* 2027-01-15 08:00 UTC */
#define MINUTE      (60LL * 1000)

struct fx_sent {
    int update;
    uint64_t id;
    int target_kind;
    char target[128];
    char message_ref[128];
    char thread_ref[128];
    char title[128], text[512], note[512];
    int kind;
    int n_buttons;
    char tokens[PB_MESSAGE_MAX_BUTTONS][PB_TOKEN_MAX];
    char labels[PB_MESSAGE_MAX_BUTTONS][96];
    char fields[2048];
    uint32_t flags;
};

struct fx {
    char dir[64];
    struct pb_fake_clock clock;
    struct pb_config *cfg;
    struct pb_store *store;
    struct pb_token_key key;
    struct pb_engine *engine;
    struct fx_sent sent[FX_MAX_SENT];
    size_t n_sent;
};

static inline void fx_record(struct fx *f, const struct pb_send *s, int update)
{
    assert_true(f->n_sent < FX_MAX_SENT);
    struct fx_sent *r = &f->sent[f->n_sent++];
    memset(r, 0, sizeof *r);
    r->update = update;
    r->id = s->id;
    r->target_kind = (int)s->target_kind;
    snprintf(r->target, sizeof r->target, "%s", s->target);
    snprintf(r->message_ref, sizeof r->message_ref, "%s", s->message_ref ? s->message_ref : "");
    snprintf(r->thread_ref, sizeof r->thread_ref, "%s", s->thread_ref ? s->thread_ref : "");
    const struct pb_message *m = s->message;
    r->kind = (int)m->kind;
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

static inline int fx_send_common(void *self, const struct pb_send *s, int update)
{
    struct fx *f = self;
    fx_record(f, s, update);
    char ref[64];
    snprintf(ref, sizeof ref, "ref-%llu", (unsigned long long)s->id);
    struct pb_send_result res = {.size = sizeof res, .outcome = PB_SEND_DONE, .message_ref = ref};
    pb_engine_send_done(f->engine, "web", s->id, &res);
    return PB_OK;
}

static inline int fx_send(void *self, const struct pb_send *s)
{
    return fx_send_common(self, s, 0);
}

static inline int fx_update(void *self, const struct pb_send *s)
{
    return fx_send_common(self, s, 1);
}

static inline void fx_start_engine(struct fx *f)
{
    struct pb_engine_setup setup = {f->store, &f->key, NULL, NULL};
    assert_int_equal(pb_engine_create(&setup, f->cfg, &f->engine), PB_OK);
    struct pb_connector conn = {
        .size = sizeof conn, .self = f, .send = fx_send, .update = fx_update};
    assert_int_equal(pb_engine_attach(f->engine, "web", &conn), PB_OK);
}

static inline void fx_open_store(struct fx *f)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/t.db", f->dir);
    assert_int_equal(pb_store_open(path, &f->store, err, sizeof err), PB_OK);
}

/* A crash and a start: the engine and the store go away and come back from the file. */
static inline void fx_restart(struct fx *f)
{
    pb_engine_destroy(f->engine);
    pb_store_close(f->store);
    fx_open_store(f);
    fx_start_engine(f);
}

static inline struct fx *fx_new(const char *config)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-alerts-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    pb_log_set_level(PB_LOG_WARNING);
    pb_fake_clock_init(&f->clock, FX_START_MS);
    pb_clock_set(&f->clock.clock);
    struct pb_diag diag = {0};
    int rc = pb_config_load(config, &f->cfg, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.lines[i]);
    pb_diag_free(&diag);
    assert_int_equal(rc, 0);
    fx_open_store(f);
    for (int i = 0; i < PB_TOKEN_KEY_LEN; i++)
        f->key.bytes[i] = (unsigned char)(i * 5 + 3);
    fx_start_engine(f);
    return f;
}

static inline void fx_free(struct fx *f)
{
    pb_engine_destroy(f->engine);
    pb_store_close(f->store);
    pb_config_free(f->cfg);
    pb_clock_set(NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
}

static inline void fx_advance(struct fx *f, int64_t ms)
{
    f->clock.now += ms;
    pb_engine_run(f->engine);
}

static inline int fx_event(struct fx *f, enum pb_event_type type, const char *user,
                           const char *token, const char *text, char *reply, size_t reply_len)
{
    struct pb_event ev = {
        .size = sizeof ev, .type = type, .user = user, .token = token, .text = text};
    return pb_engine_event(f->engine, "web", &ev, reply, reply_len);
}

static inline struct fx_sent *fx_last_to(struct fx *f, const char *target)
{
    for (size_t i = f->n_sent; i-- > 0;)
        if (strcmp(f->sent[i].target, target) == 0)
            return &f->sent[i];
    return NULL;
}

static inline size_t fx_count_to(struct fx *f, const char *target, int update)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += strcmp(f->sent[i].target, target) == 0 && f->sent[i].update == update;
    return n;
}

static inline const char *fx_token(const struct fx_sent *s, const char *label)
{
    for (int i = 0; i < s->n_buttons; i++)
        if (strcmp(s->labels[i], label) == 0)
            return s->tokens[i];
    fail_msg("no button \"%s\" on \"%s\"", label, s->title);
    return NULL;
}

/* Starts `survey` for `person` and answers its first question with `score` (a button). */
static inline void fx_answer(struct fx *f, const char *survey, const char *person, int score)
{
    const struct pb_cfg_survey *s = pb_config_survey(f->cfg, survey);
    assert_int_equal(pb_survey_start(f->engine, s, pb_config_person(f->cfg, person), NULL, 0, 0),
                     PB_OK);
    fx_advance(f, 0);
    struct fx_sent *q = fx_last_to(f, person);
    assert_non_null(q);
    char label[8], reply[256];
    snprintf(label, sizeof label, "%d", score);
    char token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(q, label));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, person, token, NULL, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
}

static inline void fx_comment(struct fx *f, const char *person, const char *text)
{
    char reply[256];
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, person, NULL, text, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
}

/* Presses `label` on the newest message in `channel` as `user`; returns the engine's code. */
static inline int fx_press(struct fx *f, const char *channel, const char *label, const char *user,
                           const char *note, char *reply, size_t reply_len)
{
    struct fx_sent *m = fx_last_to(f, channel);
    assert_non_null(m);
    char token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(m, label));
    int rc = fx_event(f, PB_EVENT_ACTION, user, token, note, reply, reply_len);
    fx_advance(f, 0);
    return rc;
}

/* The newest version of the message first sent as outbox row `send_id`. */
static inline struct fx_sent *fx_latest_of(struct fx *f, uint64_t send_id)
{
    char ref[64];
    snprintf(ref, sizeof ref, "ref-%llu", (unsigned long long)send_id);
    for (size_t i = f->n_sent; i-- > 0;)
        if ((!f->sent[i].update && f->sent[i].id == send_id) ||
            (f->sent[i].update && strcmp(f->sent[i].message_ref, ref) == 0))
            return &f->sent[i];
    return NULL;
}

/* Presses `label` on the newest version of message `send_id`. */
static inline int fx_press_on(struct fx *f, uint64_t send_id, const char *label, const char *user,
                              const char *note, char *reply, size_t reply_len)
{
    struct fx_sent *m = fx_latest_of(f, send_id);
    assert_non_null(m);
    char token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(m, label));
    int rc = fx_event(f, PB_EVENT_ACTION, user, token, note, reply, reply_len);
    fx_advance(f, 0);
    return rc;
}

static inline void fx_get_alert(struct fx *f, int64_t id, struct pb_alert *out)
{
    assert_int_equal(pb_store_alert_get(f->store, id, out), PB_OK);
    pb_alert_clear(out); /* the tests read only the fixed fields */
}

/* The kinds of an alert's history, joined by spaces. */
static inline void fx_history(struct fx *f, int64_t id, char *out, size_t len)
{
    struct pb_alert_event ev[32];
    size_t n = 0;
    assert_int_equal(pb_store_alert_events(f->store, id, ev, 32, &n), PB_OK);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", i ? " " : "", ev[i].kind);
    }
}

#endif

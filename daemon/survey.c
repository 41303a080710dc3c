/*
 * Surveys in flight: a delivery is one survey asked of one person, moving through its
 * questions (scheduled -> sent -> answering -> completed, or expired). Every step commits the
 * answer, the delivery's new state and the messages that show it in one transaction, so a
 * crash either keeps all of it or none, and an event is acknowledged only after the commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crash_point.h"
#include "log.h"
#include "metrics.h"
#include "survey_internal.h"

#define MOD "survey"

static void say(char *reply, size_t reply_len, const struct pb_lang *lang, enum pb_l10n_id id)
{
    snprintf(reply, reply_len, "%s", pb_l10n(lang, id));
}

/* Queues the message that asks question `qindex` of delivery `d`; sets d->step_outbox_id. */
static int ask(struct pb_engine *e, struct pb_delivery *d, const struct pb_cfg_survey *s,
               int qindex)
{
    struct pb_lang lang;
    pb_survey_lang(e, s, d->person, &lang);
    struct pb_question_view *v = malloc(sizeof *v); /* tokens make it large for the stack */
    if (!v)
        return PB_ERR_NOMEM;
    int rc = pb_survey_render(e, d, s, qindex, &lang, 0, NULL, v);
    pb_copy(d->step, sizeof d->step, s->questions[qindex].id);
    if (rc == PB_OK)
        rc = pb_outbox_queue(e, d->connector, PB_TARGET_PERSON, d->address, &v->m,
                             &d->step_outbox_id);
    free(v);
    return rc;
}

/* Replaces an asked question's message with what was answered, without buttons. */
static int close_question(struct pb_engine *e, const struct pb_delivery *d,
                          const struct pb_cfg_survey *s, const char *note)
{
    if (!d->step_outbox_id)
        return PB_OK;
    int qi = pb_survey_question_index(s, d->step);
    if (qi < 0) { /* the question left the configuration: say what happened, no more */
        struct pb_message m = {.size = sizeof m,
                               .kind = PB_MESSAGE_QUESTION,
                               .note = note,
                               .flags = PB_MESSAGE_CLOSED};
        return pb_outbox_queue_update(e, d->step_outbox_id, &m);
    }
    struct pb_lang lang;
    pb_survey_lang(e, s, d->person, &lang);
    struct pb_question_view *v = malloc(sizeof *v);
    if (!v)
        return PB_ERR_NOMEM;
    int rc = pb_survey_render(e, d, s, qi, &lang, 1, note, v);
    if (rc == PB_OK)
        rc = pb_outbox_queue_update(e, d->step_outbox_id, &v->m);
    free(v);
    return rc;
}

int pb_survey_start(struct pb_engine *e, const struct pb_cfg_survey *s,
                    const struct pb_cfg_person *p, const char *schedule, int64_t round,
                    int64_t opened_ms)
{
    const char *handle = NULL;
    const struct pb_cfg_connector *c = pb_roster_reach(e->roster, p, &handle);
    if (!c) {
        /* Recorded as unreachable (unreachable.c), not left out silently; the caller counts
         * PB_ERR_UNKNOWN as skipped. */
        const char *gone = pb_roster_unreachable_on(e->roster, p);
        char why[160];
        if (gone)
            snprintf(why, sizeof why, "deactivated or a bot on %s", gone);
        else
            snprintf(why, sizeof why, "no handle on any connector");
        int rc = pb_unreachable_record(e, s, p->id, schedule, round, why);
        return rc == PB_OK ? PB_ERR_UNKNOWN : rc;
    }
    return pb_survey_start_to(e, s, p->id, c->name, handle, schedule, round, opened_ms, NULL);
}

int pb_survey_start_to(struct pb_engine *e, const struct pb_cfg_survey *s, const char *person,
                       const char *connector, const char *address, const char *schedule,
                       int64_t round, int64_t opened_ms, int64_t *delivery_id)
{
    int64_t now = pb_now_ms();
    struct pb_delivery d = {.round = round, .state = PB_DELIVERY_PENDING, .created_ms = now};
    d.expires_ms = (opened_ms ? opened_ms : now) + s->window_ms;
    if (s->n_reminders)
        d.next_reminder_ms = (opened_ms ? opened_ms : now) + s->reminders_ms[0];
    pb_copy(d.survey, sizeof d.survey, s->id);
    pb_copy(d.schedule, sizeof d.schedule, schedule ? schedule : "");
    pb_copy(d.person, sizeof d.person, person);
    pb_copy(d.connector, sizeof d.connector, connector);
    pb_copy(d.address, sizeof d.address, address);
    pb_copy(d.step, sizeof d.step, s->questions[pb_survey_first_question(s, round, 0)].id);
    /* Nested inside a round's transaction this commits nothing by itself. */
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = pb_store_delivery_insert(e->store, &d);
    if (rc == PB_OK) /* a bank draws by the round, or without one by the delivery's id */
        rc = ask(e, &d, s, pb_survey_first_question(s, round, d.id));
    if (rc == PB_OK)
        rc = pb_store_delivery_update(e->store, &d, PB_DELIVERY_PENDING);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        return rc;
    }
    if (delivery_id)
        *delivery_id = d.id;
    pb_metrics_add("deliveries_created", 1);
    pb_engine_wake(e);
    return PB_OK;
}

/* The question after answering `q` with `score` (ignored for text): a branch or the default. */
static const char *next_question(const struct pb_cfg_question *q, const struct pb_answer *a)
{
    for (size_t i = 0; a->has_score && i < q->n_branches; i++)
        if (a->score >= q->branches[i].min && a->score <= q->branches[i].max)
            return q->branches[i].next;
    return q->next;
}

/* Commits an answer and everything it causes, in one transaction. */
static int record(struct pb_engine *e, struct pb_delivery *d, const struct pb_cfg_survey *s,
                  int qindex, int has_score, int score, const char *text, char *reply,
                  size_t reply_len)
{
    const struct pb_cfg_question *q = &s->questions[qindex];
    const struct pb_cfg_person *p = pb_config_person(e->cfg, d->person);
    struct pb_lang lang;
    pb_survey_lang(e, s, d->person, &lang);
    struct pb_answer a = {.delivery_id = d->id, .has_score = has_score, .score = score};
    a.created_ms = pb_now_ms();
    /* A yes/no or a choice keeps its word beside the score, as configured (not translated),
     * so that answers in every language count together. */
    a.text = (char *)(has_score ? pb_survey_answer_word(q, score) : text);
    pb_copy(a.survey, sizeof a.survey, s->id);
    pb_copy(a.question, sizeof a.question, q->id);
    pb_copy(a.person, sizeof a.person, s->anonymous ? "" : d->person);
    if (p && p->team)
        pb_copy(a.team, sizeof a.team, p->team);
    else if (!p) /* a customer: the team that handled their interaction */
        pb_checkin_team_of(e, d->id, a.team, sizeof a.team);

    char note[600];
    if (s->anonymous || !has_score) /* an anonymous note sits in the outbox beside the
                                      recipient's handle; a text is in the person's own message */
        say(note, sizeof note, &lang, PB_L10N_RECORDED);
    else
        pb_survey_describe(q, score, &lang, note, sizeof note);
    enum pb_delivery_state from = d->state;
    int rc = pb_store_begin(e->store);
    if (rc != PB_OK)
        return PB_ERR_STORE;
    rc = pb_store_answer_insert(e->store, &a);
    if (rc == PB_OK)
        rc = close_question(e, d, s, note);
    const char *next = rc == PB_OK ? next_question(q, &a) : NULL;
    int ni = next ? pb_survey_question_index(s, next) : -1;
    if (rc == PB_OK && ni >= 0) {
        d->state = PB_DELIVERY_ANSWERING;
        rc = ask(e, d, s, ni);
    } else if (rc == PB_OK) {
        d->state = PB_DELIVERY_COMPLETED;
        d->step[0] = '\0';
        d->step_outbox_id = 0;
        d->finished_ms = a.created_ms;
        const char *thanks = pb_l10n_text(&s->tr, "thanks", s->thanks, &lang);
        if (s->thanks_default && thanks == s->thanks)
            thanks = pb_l10n(&lang, PB_L10N_THANKS);
        if (thanks && thanks[0]) { /* thanks = "" sends nothing */
            struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .text = thanks};
            rc = pb_outbox_queue(e, d->connector, PB_TARGET_PERSON, d->address, &m, NULL);
        }
    }
    d->next_reminder_ms = 0; /* reminders are for people who have not answered at all */
    if (rc == PB_OK && d->sent_ms == 0)
        d->sent_ms = a.created_ms; /* answered before the send was confirmed: it arrived */
    if (rc == PB_OK)
        rc = pb_store_delivery_update(e->store, d, from);
    /* Routing rules compare scores: a yes/no's 1 or a choice's index is no score to them. */
    if (rc == PB_OK && (q->type == PB_QUESTION_SCALE || q->type == PB_QUESTION_TEXT))
        rc = pb_route_answer(e, d, s, q, &a);
    if (rc == PB_OK && s->anonymous && d->state == PB_DELIVERY_COMPLETED)
        rc = pb_store_delivery_forget_person(e->store, d->id);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        if (rc == PB_ERR_DONE) {
            say(reply, reply_len, &lang, PB_L10N_ALREADY_Q);
            return PB_ERR_DONE;
        }
        pb_err(MOD,
               "could not record an answer to %s/%s (delivery %lld): the store failed; the "
               "person was told to try again",
               s->id, q->id, (long long)d->id);
        say(reply, reply_len, &lang, PB_L10N_SAVE_FAILED);
        return PB_ERR_STORE;
    }
    pb_crash_point("answer-committed");
    pb_metrics_add("answers", 1);
    pb_debug(MOD, "delivery %lld: answer to %s/%s recorded", (long long)d->id, s->id, q->id);
    pb_engine_wake(e);
    return PB_OK;
}

/* The language to answer `user` on `connector` in, before a delivery is known. */
static void reply_lang(struct pb_engine *e, const char *connector, const char *user,
                       struct pb_lang *lang)
{
    const struct pb_cfg_person *p = user ? pb_roster_by_handle(e->roster, connector, user) : NULL;
    pb_survey_lang(e, NULL, p ? p->id : NULL, lang);
}

/* Loads a delivery and checks that `user` on `connector` may answer it now. */
static int load_open(struct pb_engine *e, int64_t id, const char *connector, const char *user,
                     struct pb_delivery *d, const struct pb_cfg_survey **s, char *reply,
                     size_t reply_len)
{
    struct pb_lang lang;
    reply_lang(e, connector, user, &lang);
    if (pb_store_delivery_get(e->store, id, d) != PB_OK) {
        say(reply, reply_len, &lang, PB_L10N_NOT_KNOWN);
        return PB_ERR_UNKNOWN;
    }
    if (strcmp(d->connector, connector) != 0 || !user || strcmp(d->address, user) != 0) {
        pb_warn(MOD,
                "delivery %lld: a choice from %s on %s, but it was sent to someone else; "
                "refused",
                (long long)id, user ? user : "?", connector);
        say(reply, reply_len, &lang, PB_L10N_NOT_YOURS);
        return PB_ERR_NOT_YOURS;
    }
    *s = pb_config_survey(e->cfg, d->survey);
    pb_survey_lang(e, *s, d->person, &lang);
    if (d->state == PB_DELIVERY_COMPLETED) {
        say(reply, reply_len, &lang, PB_L10N_ALREADY_SURVEY);
        return PB_ERR_DONE;
    }
    if (d->state == PB_DELIVERY_EXPIRED || d->expires_ms <= pb_now_ms() || !*s) {
        say(reply, reply_len, &lang, PB_L10N_CLOSED);
        return PB_ERR_EXPIRED;
    }
    return PB_OK;
}

int pb_survey_choice(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                     const struct pb_token *t, char *reply, size_t reply_len)
{
    struct pb_delivery d;
    const struct pb_cfg_survey *s = NULL;
    int rc = load_open(e, (int64_t)t->id, connector, ev->user, &d, &s, reply, reply_len);
    if (rc != PB_OK)
        return rc;
    struct pb_lang lang;
    pb_survey_lang(e, s, d.person, &lang);
    if (t->index >= s->n_questions || s->questions[t->index].type == PB_QUESTION_TEXT) {
        say(reply, reply_len, &lang, PB_L10N_CHANGED_Q);
        return PB_ERR_EXPIRED;
    }
    const struct pb_cfg_question *q = &s->questions[t->index];
    if (strcmp(d.step, q->id) != 0) {
        say(reply, reply_len, &lang, PB_L10N_ALREADY_Q);
        return PB_ERR_DONE;
    }
    if (!pb_survey_score_valid(q, t->value)) {
        say(reply, reply_len, &lang, PB_L10N_NOT_A_CHOICE);
        return PB_ERR_EXPIRED;
    }
    return record(e, &d, s, t->index, 1, t->value, NULL, reply, reply_len);
}

/* Cuts text to at most `max` bytes without splitting a UTF-8 sequence. */
static char *bounded_copy(const char *text, size_t max)
{
    size_t n = strlen(text);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
    }
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, text, n);
        out[n] = '\0';
    }
    return out;
}

int pb_survey_text(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                   char *reply, size_t reply_len)
{
    struct pb_delivery d;
    if (!ev->text || !ev->user)
        return PB_ERR_INVALID;
    if (pb_store_delivery_open_for(e->store, connector, ev->user, &d) != PB_OK) {
        struct pb_lang lang;
        reply_lang(e, connector, ev->user, &lang);
        say(reply, reply_len, &lang, PB_L10N_NO_OPEN);
        return PB_ERR_UNKNOWN;
    }
    const struct pb_cfg_survey *s = NULL;
    int rc = load_open(e, d.id, connector, ev->user, &d, &s, reply, reply_len);
    if (rc != PB_OK)
        return rc;
    struct pb_lang lang;
    pb_survey_lang(e, s, d.person, &lang);
    int qi = pb_survey_question_index(s, d.step);
    if (qi < 0) {
        say(reply, reply_len, &lang, PB_L10N_CHANGED_SURVEY);
        return PB_ERR_EXPIRED;
    }
    const struct pb_cfg_question *q = &s->questions[qi];
    if (q->type != PB_QUESTION_TEXT) {
        int score;
        if (pb_survey_parse_reply(q, ev->text, &lang, &score, reply, reply_len) != 0)
            return PB_ERR_INVALID;
        return record(e, &d, s, qi, 1, score, NULL, reply, reply_len);
    }
    char *text = bounded_copy(ev->text, q->max_length);
    if (!text)
        return PB_ERR_NOMEM;
    rc = record(e, &d, s, qi, 0, 0, text, reply, reply_len);
    free(text);
    return rc;
}

/* Ends an unfinished delivery as expired, closing its pending question with `note` (NULL:
 * the core's words `why` in the person's language), in one transaction (nested in the
 * caller's, if any). */
static int close_delivery(struct pb_engine *e, struct pb_delivery *d, const char *note,
                          enum pb_l10n_id why, int64_t now)
{
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, d->survey);
    struct pb_lang lang;
    pb_survey_lang(e, s, d->person, &lang);
    if (!note)
        note = pb_l10n(&lang, why);
    enum pb_delivery_state from = d->state;
    d->state = PB_DELIVERY_EXPIRED;
    d->finished_ms = now;
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK && s)
        rc = close_question(e, d, s, note);
    if (rc == PB_OK)
        rc = pb_store_delivery_update(e->store, d, from);
    if (rc == PB_OK && s && s->anonymous)
        rc = pb_store_delivery_forget_person(e->store, d->id);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        return rc;
    }
    pb_metrics_add("deliveries_expired", 1);
    return PB_OK;
}

void pb_survey_expire_due(struct pb_engine *e, int64_t now)
{
    struct pb_delivery due[32];
    size_t n = 0;
    if (pb_store_delivery_expired(e->store, now, due, 32, &n) != PB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (close_delivery(e, &due[i], NULL, PB_L10N_CLOSED, now) != PB_OK) {
            pb_err(MOD, "delivery %lld could not be closed; will try again", (long long)due[i].id);
            pb_engine_hold(e);
            return;
        }
        pb_info(MOD, "delivery %lld of %s expired without a complete answer", (long long)due[i].id,
                due[i].survey);
    }
    if (n == 32)
        pb_engine_wake(e); /* more may be due */
}

int pb_survey_withdraw(struct pb_engine *e, struct pb_delivery *d, const char *note)
{
    return close_delivery(e, d, note, PB_L10N_CLOSED, pb_now_ms());
}

int pb_survey_supersede(struct pb_engine *e, const char *survey, const char *person)
{
    struct pb_delivery d;
    int rc = pb_store_delivery_open_of(e->store, survey, person, &d);
    if (rc == PB_ERR_UNKNOWN)
        return PB_OK;
    if (rc == PB_OK)
        rc = close_delivery(e, &d, NULL, PB_L10N_REPLACED, pb_now_ms());
    if (rc == PB_OK)
        pb_info(MOD, "delivery %lld of %s was still open and is replaced by a new one",
                (long long)d.id, survey);
    return rc;
}

/* Reminds one person of their unanswered question, in the question's thread where the
 * platform has threads, and sets the next reminder, all in one transaction. */
static int remind(struct pb_engine *e, struct pb_delivery *d, const struct pb_cfg_survey *s)
{
    const struct pb_cfg_question *q = pb_config_question(s, d->step);
    struct pb_lang lang;
    pb_survey_lang(e, s, d->person, &lang);
    char text[600];
    if (q)
        pb_l10n_fill(text, sizeof text, pb_l10n(&lang, PB_L10N_REMINDER),
                     pb_l10n_text(&q->tr, "text", q->text, &lang), NULL);
    else
        snprintf(text, sizeof text, "%s", pb_l10n(&lang, PB_L10N_REMINDER_OPEN));
    struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .text = text};
    int64_t opened = d->expires_ms - s->window_ms;
    d->reminders_sent++;
    d->next_reminder_ms = (size_t)d->reminders_sent < s->n_reminders
                              ? opened + s->reminders_ms[d->reminders_sent]
                              : 0;
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = d->step_outbox_id
                 ? pb_outbox_queue_reply(e, d->step_outbox_id, &m)
                 : pb_outbox_queue(e, d->connector, PB_TARGET_PERSON, d->address, &m, NULL);
    if (rc == PB_OK)
        rc = pb_store_delivery_update(e->store, d, d->state);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK)
        pb_store_rollback(e->store);
    return rc;
}

void pb_survey_remind_due(struct pb_engine *e, int64_t now)
{
    struct pb_delivery due[32];
    size_t n = 0;
    if (pb_store_delivery_reminders_due(e->store, now, due, 32, &n) != PB_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct pb_cfg_survey *s = pb_config_survey(e->cfg, due[i].survey);
        if (!s || !s->n_reminders) { /* the survey changed: no more reminders */
            due[i].next_reminder_ms = 0;
            pb_store_delivery_update(e->store, &due[i], due[i].state);
            continue;
        }
        if (remind(e, &due[i], s) != PB_OK) {
            pb_err(MOD, "delivery %lld: the reminder could not be committed; will try again",
                   (long long)due[i].id);
            pb_engine_hold(e);
            return;
        }
        pb_metrics_add("reminders_sent", 1);
    }
    if (n == 32)
        pb_engine_wake(e);
}

void pb_survey_mark_sent(struct pb_engine *e, int64_t outbox_id)
{
    struct pb_delivery d;
    if (pb_store_delivery_by_outbox(e->store, outbox_id, &d) != PB_OK ||
        d.state != PB_DELIVERY_PENDING)
        return;
    d.state = PB_DELIVERY_SENT;
    d.sent_ms = pb_now_ms();
    if (pb_store_delivery_update(e->store, &d, PB_DELIVERY_PENDING) == PB_OK)
        pb_metrics_add("deliveries_sent", 1);
}

/*
 * A survey's words as one person reads them: the message that asks a question (its text,
 * title and buttons in the person's language, each button with a signed token), the words
 * for an answer given, and a typed reply read back as the score its button would have given.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "survey_internal.h"

static const char *const mood_faces[] = {"😞", "🙁", "😐", "🙂", "😄"};

int pb_survey_question_index(const struct pb_cfg_survey *s, const char *id)
{
    for (size_t i = 0; id && i < s->n_questions; i++)
        if (strcmp(s->questions[i].id, id) == 0)
            return (int)i;
    return -1;
}

void pb_survey_lang(const struct pb_engine *e, const struct pb_cfg_survey *s, const char *person,
                    struct pb_lang *out)
{
    const struct pb_cfg_person *p = person ? pb_config_person(e->cfg, person) : NULL;
    out->locale = p ? pb_roster_locale(e->roster, p) : NULL;
    out->fallback = s && s->default_locale ? s->default_locale : "en";
    /* A customer is off the roster: their language is the one their interactions gave. */
    if (!p && person && strncmp(person, "customer:", 9) == 0 &&
        pb_store_customer_locale(e->store, person, out->found, sizeof out->found) == PB_OK &&
        out->found[0])
        out->locale = out->found;
}

/* The label of the button for `score`, or NULL when it shows the number. */
static const char *point_label(const struct pb_cfg_question *q, int score,
                               const struct pb_lang *lang)
{
    size_t at = (size_t)(score - q->min);
    if (q->labels && at < q->n_labels)
        return pb_l10n_list(&q->tr, "labels", q->labels, lang)[at];
    if (q->preset == PB_SCALE_EMOJI && at < sizeof mood_faces / sizeof *mood_faces)
        return mood_faces[at];
    return NULL;
}

/* What the lowest (high = 0) or highest score means: the file's words, else the standard
 * ones of the preset. */
static const char *end_label(const struct pb_cfg_question *q, int high, const struct pb_lang *lang)
{
    const char *key = high ? "high_label" : "low_label";
    const char *v = pb_l10n_text(&q->tr, key, high ? q->high_label : q->low_label, lang);
    if (v)
        return v;
    switch (q->preset) {
    case PB_SCALE_NPS:
    case PB_SCALE_ENPS:
        return pb_l10n(lang, high ? PB_L10N_NPS_HIGH : PB_L10N_NPS_LOW);
    case PB_SCALE_CSAT:
        return pb_l10n(lang, high ? PB_L10N_CSAT_HIGH : PB_L10N_CSAT_LOW);
    case PB_SCALE_CES:
        return pb_l10n(lang, high ? PB_L10N_CES_HIGH : PB_L10N_CES_LOW);
    default:
        return NULL;
    }
}

static const char *option_label(const struct pb_cfg_question *q, int i, const struct pb_lang *lang)
{
    return pb_l10n_list(&q->tr, "options", q->options, lang)[i];
}

static int add_button(struct pb_engine *e, const struct pb_delivery *d, int qindex, int value,
                      const char *label, struct pb_question_view *v)
{
    size_t n = v->m.n_buttons;
    if (n == PB_MESSAGE_MAX_BUTTONS)
        return PB_OK;
    struct pb_token t = {.kind = PB_TOKEN_CHOICE,
                         .id = (uint64_t)d->id,
                         .index = (uint8_t)qindex,
                         .value = (int16_t)value};
    if (pb_token_sign(e->key, &t, v->tokens[n], PB_TOKEN_MAX) != PB_OK)
        return PB_ERR;
    if (!label) {
        snprintf(v->numbers[n], sizeof v->numbers[n], "%d", value);
        label = v->numbers[n];
    }
    v->buttons[n] = (struct pb_button){label, v->tokens[n], PB_BUTTON_DEFAULT};
    v->m.n_buttons = n + 1;
    return PB_OK;
}

static int add_buttons(struct pb_engine *e, const struct pb_delivery *d, int qindex,
                       const struct pb_cfg_question *q, const struct pb_lang *lang,
                       struct pb_question_view *v)
{
    int rc = PB_OK;
    switch (q->type) {
    case PB_QUESTION_SCALE:
        for (int s = q->min; rc == PB_OK && s <= q->max; s++)
            rc = add_button(e, d, qindex, s, point_label(q, s, lang), v);
        v->m.low_label = end_label(q, 0, lang);
        v->m.high_label = end_label(q, 1, lang);
        return rc;
    case PB_QUESTION_YESNO:
        rc = add_button(e, d, qindex, 1, pb_l10n(lang, PB_L10N_YES), v);
        if (rc == PB_OK)
            rc = add_button(e, d, qindex, 0, pb_l10n(lang, PB_L10N_NO), v);
        return rc;
    case PB_QUESTION_CHOICE:
        for (size_t i = 0; rc == PB_OK && i < q->n_options; i++)
            rc = add_button(e, d, qindex, (int)i, option_label(q, (int)i, lang), v);
        return rc;
    case PB_QUESTION_TEXT:
        v->m.flags |= PB_MESSAGE_EXPECTS_TEXT;
        v->m.note = pb_l10n(lang, PB_L10N_REPLY_HINT);
        return PB_OK;
    }
    return PB_OK;
}

int pb_survey_render(struct pb_engine *e, const struct pb_delivery *d,
                     const struct pb_cfg_survey *s, int qindex, const struct pb_lang *lang,
                     int closed, const char *note, struct pb_question_view *v)
{
    const struct pb_cfg_question *q = &s->questions[qindex];
    memset(v, 0, sizeof *v);
    v->m.size = sizeof v->m;
    v->m.kind = PB_MESSAGE_QUESTION;
    v->m.text = pb_l10n_text(&q->tr, "text", q->text, lang);
    v->m.buttons = v->buttons;
    /* The title heads the delivery's first message, which a bank may have drawn. */
    if (qindex == pb_survey_first_question(s, d->round, d->id))
        v->m.title = pb_l10n_text(&s->tr, "title", s->title, lang);
    if (closed) {
        v->m.note = note;
        v->m.flags = PB_MESSAGE_CLOSED;
        return PB_OK;
    }
    return add_buttons(e, d, qindex, q, lang, v);
}

void pb_survey_describe(const struct pb_cfg_question *q, int score, const struct pb_lang *lang,
                        char *out, size_t len)
{
    char what[256];
    const char *label = NULL;
    if (q->type == PB_QUESTION_YESNO)
        label = pb_l10n(lang, score ? PB_L10N_YES : PB_L10N_NO);
    else if (q->type == PB_QUESTION_CHOICE && score >= 0 && (size_t)score < q->n_options)
        label = option_label(q, score, lang);
    else if (q->type == PB_QUESTION_SCALE)
        label = point_label(q, score, lang);
    if (label) {
        snprintf(what, sizeof what, "%s", label);
    } else {
        char n[16], max[16];
        snprintf(n, sizeof n, "%d", score);
        snprintf(max, sizeof max, "%d", q->max);
        const char *end = score == q->min   ? end_label(q, 0, lang)
                          : score == q->max ? end_label(q, 1, lang)
                                            : NULL;
        if (end)
            snprintf(what, sizeof what, "%s (%s)", n, end);
        else
            pb_l10n_fill(what, sizeof what, pb_l10n(lang, PB_L10N_SCORE_OF), n, max);
    }
    pb_l10n_fill(out, len, pb_l10n(lang, PB_L10N_YOUR_ANSWER), what, NULL);
}

int pb_survey_score_valid(const struct pb_cfg_question *q, int score)
{
    return q->type != PB_QUESTION_TEXT && score >= q->min && score <= q->max;
}

const char *pb_survey_answer_word(const struct pb_cfg_question *q, int score)
{
    if (q->type == PB_QUESTION_YESNO)
        return score ? "yes" : "no";
    if (q->type == PB_QUESTION_CHOICE && score >= 0 && (size_t)score < q->n_options)
        return q->options[score];
    return NULL;
}

/* Compares ignoring ASCII case and surrounding spaces. */
static int same_text(const char *text, const char *want)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && isspace((unsigned char)text[n - 1]))
        n--;
    return n == strlen(want) && strncasecmp(text, want, n) == 0;
}

static int parse_number(const char *text, int min, int max, int *out)
{
    char *end;
    while (*text == ' ')
        text++;
    long v = strtol(text, &end, 10);
    while (*end == ' ' || *end == '\n')
        end++;
    if (end == text || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

int pb_survey_parse_reply(const struct pb_cfg_question *q, const char *text,
                          const struct pb_lang *lang, int *score, char *reply, size_t reply_len)
{
    if (q->type == PB_QUESTION_YESNO) {
        int yn = pb_l10n_yes_no(text);
        if (yn >= 0) {
            *score = yn;
            return 0;
        }
    } else if (q->type == PB_QUESTION_CHOICE) {
        /* Options are numbered from 1 as a person counts the buttons. */
        int n;
        if (parse_number(text, 1, (int)q->n_options, &n) == 0) {
            *score = n - 1;
            return 0;
        }
        for (size_t i = 0; i < q->n_options; i++) {
            if (same_text(text, option_label(q, (int)i, lang)) || same_text(text, q->options[i])) {
                *score = (int)i;
                return 0;
            }
        }
    } else {
        if (parse_number(text, q->min, q->max, score) == 0)
            return 0;
        for (int s = q->min; s <= q->max; s++) {
            const char *label = point_label(q, s, lang);
            if (label && same_text(text, label)) {
                *score = s;
                return 0;
            }
        }
        char min[16], max[16];
        snprintf(min, sizeof min, "%d", q->min);
        snprintf(max, sizeof max, "%d", q->max);
        pb_l10n_fill(reply, reply_len, pb_l10n(lang, PB_L10N_PICK_NUMBER), min, max);
        return -1;
    }
    snprintf(reply, reply_len, "%s", pb_l10n(lang, PB_L10N_PICK_BUTTON));
    return -1;
}

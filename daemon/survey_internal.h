/*
 * What the survey files share: survey.c (the delivery state machine), survey_render.c (the
 * message that asks a question, and the words for an answer) and survey_bank.c (which
 * question a round starts at). Not for use outside them.
 */
#ifndef PB_SURVEY_INTERNAL_H
#define PB_SURVEY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "engine_internal.h"
#include "l10n.h"
#include "message.h"

/* A question's message and the storage its buttons point into. */
struct pb_question_view {
    struct pb_message m;
    struct pb_button buttons[PB_MESSAGE_MAX_BUTTONS];
    char tokens[PB_MESSAGE_MAX_BUTTONS][PB_TOKEN_MAX];
    char numbers[PB_MESSAGE_MAX_BUTTONS][8];
};

/* survey_render.c */
int pb_survey_question_index(const struct pb_cfg_survey *s, const char *id);
/* The language of roster person `person` (NULL or a customer: the survey's default). */
void pb_survey_lang(const struct pb_engine *e, const struct pb_cfg_survey *s, const char *person,
                    struct pb_lang *out);
/* Question `qindex` of delivery `d` as a message: with signed buttons, or `closed` (no
 * buttons, `note` as its small print). */
int pb_survey_render(struct pb_engine *e, const struct pb_delivery *d,
                     const struct pb_cfg_survey *s, int qindex, const struct pb_lang *lang,
                     int closed, const char *note, struct pb_question_view *v);
/* "Your answer: ..." for a scored answer. */
void pb_survey_describe(const struct pb_cfg_question *q, int score, const struct pb_lang *lang,
                        char *out, size_t len);
/* Whether `score` is an answer question `q` takes from a button. */
int pb_survey_score_valid(const struct pb_cfg_question *q, int score);
/* What is stored as the text of a scored answer: "yes"/"no", the option as configured, or
 * NULL for a scale. */
const char *pb_survey_answer_word(const struct pb_cfg_question *q, int score);
/* A typed reply to a question that has buttons, read as its score: a number, yes or no in any
 * language the core knows, or an option in the person's language or as configured. Returns 0,
 * or -1 with what to tell the person in `reply`. */
int pb_survey_parse_reply(const struct pb_cfg_question *q, const char *text,
                          const struct pb_lang *lang, int *score, char *reply, size_t reply_len);

/* survey_bank.c */
/* The question a delivery starts at: the first, or the one its round draws from the bank
 * (a delivery outside a schedule's rounds draws by its own id). */
int pb_survey_first_question(const struct pb_cfg_survey *s, int64_t round, int64_t delivery_id);

#endif

/*
 * Configuration keys of surveys: their questions, branches, reminders and texts.
 * How the tables work is said in config_keys.c; checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- surveys --------------------------------------------------------------------------- */

static const struct pb_cfg_key branch_keys[] = {
    {.name = "min",
     .type = PB_CFG_INT,
     .def_doc = "the scale's `min`",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_branch, min),
     .help = "Lowest score this branch takes."},
    {.name = "max",
     .type = PB_CFG_INT,
     .def_doc = "the scale's `max`",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_branch, max),
     .help = "Highest score this branch takes."},
    {.name = "next",
     .type = PB_CFG_STRING,
     .def_doc = "`\"end\"`",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_branch, next),
     .help = "Id of the question that follows such a score, or `\"end\"`."},
    {NULL},
};

static const struct pb_cfg_block branch_block = {
    .kind = "branch",
    .path = "surveys[].questions[].branches[]",
    .intro = "Branches of a scale question, tried in order; the first whose range holds the "
             "score decides what comes next.",
    .keys = branch_keys,
    .elem_size = sizeof(struct pb_cfg_branch),
};

static void check_branches(struct pb_cfg_ctx *ctx, config_setting_t *s, struct pb_cfg_question *q,
                           const char *label)
{
    config_setting_t *bs = config_setting_get_member(s, "branches");
    for (size_t i = 0; i < q->n_branches; i++) {
        struct pb_cfg_branch *b = &q->branches[i];
        config_setting_t *bset = config_setting_get_elem(bs, (unsigned)i);
        if (!pb_cfg_has(bset, "min"))
            b->min = q->min;
        if (!pb_cfg_has(bset, "max"))
            b->max = q->max;
        if (b->next && strcmp(b->next, "end") == 0)
            b->next = NULL;
        if (b->min > b->max)
            pb_cfg_error(ctx, bset, "%s: branch #%zu: min (%d) is greater than max (%d)", label,
                         i + 1, b->min, b->max);
        else if (q->min < q->max && (b->min < q->min || b->max > q->max))
            pb_cfg_error(ctx, bset,
                         "%s: branch #%zu: scores %d to %d are outside the scale %d to %d", label,
                         i + 1, b->min, b->max, q->min, q->max);
    }
}

static void question_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    static const char *const scale_only[] = {"min",        "max",      "low_label",
                                             "high_label", "branches", NULL};
    static const char *const text_only[] = {"max_length", NULL};
    struct pb_cfg_question *q = obj;

    if (q->next && strcmp(q->next, "end") == 0)
        q->next = NULL;
    if (q->type == PB_QUESTION_TEXT)
        for (const char *const *k = scale_only; *k; k++)
            if (pb_cfg_has(s, *k))
                pb_cfg_error(ctx, pb_cfg_at(s, *k),
                             "%s: \"%s\" applies only to scale questions (type = \"scale\")", label,
                             *k);
    if (q->type != PB_QUESTION_SCALE)
        return;
    for (const char *const *k = text_only; *k; k++)
        if (pb_cfg_has(s, *k))
            pb_cfg_error(ctx, pb_cfg_at(s, *k),
                         "%s: \"%s\" applies only to text questions (type = \"text\")", label, *k);
    /* Chat platforms lay a scale out as one row of buttons: 0 to 10 is as wide as it gets. */
    if (q->min >= q->max)
        pb_cfg_error(ctx, pb_cfg_at(s, "max"), "%s: min (%d) must be less than max (%d)", label,
                     q->min, q->max);
    else if (q->max - q->min > 10)
        pb_cfg_error(ctx, pb_cfg_at(s, "max"),
                     "%s: a scale has at most 11 points (such as 0 to 10), got %d to %d", label,
                     q->min, q->max);
    check_branches(ctx, s, q, label);
}

static const struct pb_cfg_choice question_types[] = {
    {"scale", PB_QUESTION_SCALE},
    {"text", PB_QUESTION_TEXT},
    {NULL, 0},
};

static const struct pb_cfg_key question_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_question, id),
     .help = "Id of the question, unique within the survey. `end` is reserved."},
    {.name = "type",
     .type = PB_CFG_ENUM,
     .required = 1,
     .choices = question_types,
     .off = OFF(pb_cfg_question, type),
     .help = "`scale`: a row of score buttons; `text`: a free-text reply."},
    {.name = "text",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_question, text),
     .help = "The question as people read it."},
    {.name = "min",
     .type = PB_CFG_INT,
     .def = "1",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_question, min),
     .help = "Scale only: the lowest score (at most 11 points from `min` to `max`)."},
    {.name = "max",
     .type = PB_CFG_INT,
     .def = "5",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_question, max),
     .help = "Scale only: the highest score."},
    {.name = "low_label",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_question, low_label),
     .help = "Scale only: what the lowest score means, such as `\"Rough\"`."},
    {.name = "high_label",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_question, high_label),
     .help = "Scale only: what the highest score means, such as `\"Great\"`."},
    {.name = "max_length",
     .type = PB_CFG_SIZE,
     .def = "2000",
     .min = 1,
     .max = 100000,
     .off = OFF(pb_cfg_question, max_length),
     .help = "Text only: longest reply kept, in bytes; longer replies are cut."},
    {.name = "branches",
     .type = PB_CFG_LIST,
     .sub = &branch_block,
     .off = OFF(pb_cfg_question, branches),
     .off_n = OFF(pb_cfg_question, n_branches),
     .help = "Scale only: where a score leads; see `surveys[].questions[].branches[]`."},
    {.name = "next",
     .type = PB_CFG_STRING,
     .def_doc = "the following question; `\"end\"` after the last",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_question, next),
     .help = "Id of the question that comes next when no branch matches, or `\"end\"`."},
    {NULL},
};

static const struct pb_cfg_block question_block = {
    .kind = "question",
    .path = "surveys[].questions[]",
    .label_key = "id",
    .intro = "A survey's questions; a delivery starts at the first. No question may be "
             "reachable again from itself.",
    .keys = question_keys,
    .elem_size = sizeof(struct pb_cfg_question),
    .has_line = 1,
    .line_off = OFF(pb_cfg_question, line),
    .finish = question_finish,
};

static void survey_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_survey *sv = obj;
    const config_setting_t *rs = pb_cfg_at(s, "reminders");
    if (sv->n_reminders > sizeof sv->reminders_ms / sizeof sv->reminders_ms[0]) {
        pb_cfg_error(ctx, rs, "%s: reminders: at most 8", label);
        sv->n_reminders = 0;
    }
    for (size_t i = 0; i < sv->n_reminders; i++) {
        int64_t ms = pb_duration_parse_ms(sv->reminder_texts[i]);
        if (ms <= 0 || ms >= sv->window_ms || (i && ms <= sv->reminders_ms[i - 1])) {
            pb_cfg_error(ctx, rs,
                         "%s: reminders: expected durations in ascending order inside the "
                         "window, got \"%s\"",
                         label, sv->reminder_texts[i]);
            sv->n_reminders = 0;
            break;
        }
        sv->reminders_ms[i] = ms;
    }
    config_setting_t *qs = config_setting_get_member(s, "questions");
    for (size_t i = 0; qs && i < sv->n_questions; i++)
        if (!pb_cfg_has(config_setting_get_elem(qs, (unsigned)i), "next"))
            sv->questions[i].next = i + 1 < sv->n_questions ? sv->questions[i + 1].id : NULL;
}

const struct pb_cfg_choice pb_cfg_survey_kinds[] = {
    {"employee", PB_SURVEY_EMPLOYEE},
    {"customer", PB_SURVEY_CUSTOMER},
    {NULL, 0},
};

static const struct pb_cfg_key survey_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_survey, id),
     .help = "Unique id of the survey."},
    {.name = "kind",
     .type = PB_CFG_ENUM,
     .def = "employee",
     .choices = pb_cfg_survey_kinds,
     .off = OFF(pb_cfg_survey, kind),
     .help = "`employee`: sent on a schedule to people; `customer`: sent after a customer "
             "interaction."},
    {.name = "title",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_survey, title),
     .help = "Shown above the first question."},
    {.name = "anonymous",
     .type = PB_CFG_BOOL,
     .def = "false",
     .off = OFF(pb_cfg_survey, anonymous),
     .help = "Store answers without the person who gave them."},
    {.name = "window",
     .type = PB_CFG_DURATION,
     .def = "3d",
     .min = 1,
     .off = OFF(pb_cfg_survey, window_ms),
     .help = "How long a delivery stays answerable."},
    {.name = "reminders",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_survey, reminder_texts),
     .off_n = OFF(pb_cfg_survey, n_reminders),
     .help = "Durations after the question, such as `[ \"1d\", \"2d\" ]`, at which a person "
             "who has not answered yet is reminded once each, inside the window."},
    {.name = "thanks",
     .type = PB_CFG_STRING,
     .def = "Thank you!",
     .off = OFF(pb_cfg_survey, thanks),
     .help = "Sent after the last answer; `\"\"` sends nothing."},
    {.name = "questions",
     .type = PB_CFG_LIST,
     .required = 1,
     .min = 1,
     .sub = &question_block,
     .off = OFF(pb_cfg_survey, questions),
     .off_n = OFF(pb_cfg_survey, n_questions),
     .help = "The questions: see `surveys[].questions[]`."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_survey_block = {
    .kind = "survey",
    .path = "surveys[]",
    .label_key = "id",
    .intro = "What is asked.",
    .keys = survey_keys,
    .elem_size = sizeof(struct pb_cfg_survey),
    .has_line = 1,
    .line_off = OFF(pb_cfg_survey, line),
    .finish = survey_finish,
};

/*
 * Configuration keys of surveys: their questions (types, presets, options), branches, banks,
 * reminders and texts, and the translations of every text a person reads (`text_de = ...`).
 * How the tables work is said in config_keys.c; checks across blocks are in config_check.c.
 */
#include "config_internal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A button label must fit every platform: Discord's are at most 80 characters. */
#define MAX_OPTION_BYTES 75
#define MAX_OPTIONS      10

/* ---- question kinds -------------------------------------------------------------------- */

/* What the `type` key holds before question_finish splits it into type and preset. */
#define PRESET(p) (PB_QUESTION_SCALE | ((p) << 4))

static const struct pb_cfg_choice question_types[] = {
    {"scale", PB_QUESTION_SCALE},      {"text", PB_QUESTION_TEXT},
    {"nps", PRESET(PB_SCALE_NPS)},     {"enps", PRESET(PB_SCALE_ENPS)},
    {"csat", PRESET(PB_SCALE_CSAT)},   {"ces", PRESET(PB_SCALE_CES)},
    {"emoji", PRESET(PB_SCALE_EMOJI)}, {"yesno", PB_QUESTION_YESNO},
    {"choice", PB_QUESTION_CHOICE},    {NULL, 0},
};

/* The kinds a key may be given for, as bits. */
enum {
    K_SCALE = 1,  /* type = "scale" */
    K_PRESET = 2, /* nps, enps, csat, ces: a fixed range */
    K_EMOJI = 4,
    K_TEXT = 8,
    K_YESNO = 16,
    K_CHOICE = 32,
};

static unsigned kind_of(const struct pb_cfg_question *q)
{
    switch (q->type) {
    case PB_QUESTION_SCALE:
        return q->preset == PB_SCALE_CUSTOM  ? K_SCALE
               : q->preset == PB_SCALE_EMOJI ? K_EMOJI
                                             : K_PRESET;
    case PB_QUESTION_TEXT:
        return K_TEXT;
    case PB_QUESTION_YESNO:
        return K_YESNO;
    case PB_QUESTION_CHOICE:
        return K_CHOICE;
    }
    return 0;
}

static const struct {
    const char *key;
    unsigned kinds;
    const char *words; /* "applies only to ..." */
} key_kinds[] = {
    {"min", K_SCALE | K_EMOJI, "scale questions (type = \"scale\" or \"emoji\")"},
    {"max", K_SCALE | K_EMOJI, "scale questions (type = \"scale\" or \"emoji\")"},
    {"low_label", K_SCALE | K_PRESET | K_EMOJI, "scale questions (type = \"scale\")"},
    {"high_label", K_SCALE | K_PRESET | K_EMOJI, "scale questions (type = \"scale\")"},
    {"labels", K_SCALE | K_EMOJI, "scale questions (type = \"scale\" or \"emoji\")"},
    {"options", K_CHOICE, "choice questions (type = \"choice\")"},
    {"branches", K_SCALE | K_PRESET | K_EMOJI | K_YESNO | K_CHOICE,
     "questions answered with buttons (not type = \"text\")"},
    {"max_length", K_TEXT, "text questions (type = \"text\")"},
    {NULL, 0, NULL},
};

struct preset {
    const char *name;
    int min, max;
};

static const struct preset presets[] = {
    [PB_SCALE_CUSTOM] = {"scale", 1, 5}, [PB_SCALE_NPS] = {"nps", 0, 10},
    [PB_SCALE_ENPS] = {"enps", 0, 10},   [PB_SCALE_CSAT] = {"csat", 1, 5},
    [PB_SCALE_CES] = {"ces", 1, 7},      [PB_SCALE_EMOJI] = {"emoji", 1, 5},
};

/* ---- branches -------------------------------------------------------------------------- */

static const struct pb_cfg_key branch_keys[] = {
    {.name = "min",
     .type = PB_CFG_INT,
     .def_doc = "the scale's `min`",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_branch, min),
     .help = "Scales: lowest score this branch takes."},
    {.name = "max",
     .type = PB_CFG_INT,
     .def_doc = "the scale's `max`",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_branch, max),
     .help = "Scales: highest score this branch takes."},
    {.name = "choice",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_branch, choice),
     .help = "Choice questions: the option this branch takes, as written in `options`."},
    {.name = "answer",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_branch, answer),
     .help = "Yes/no questions: `\"yes\"` or `\"no\"`."},
    {.name = "next",
     .type = PB_CFG_STRING,
     .def_doc = "`\"end\"`",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_branch, next),
     .help = "Id of the question that follows such an answer, or `\"end\"`."},
    {NULL},
};

static const struct pb_cfg_block branch_block = {
    .kind = "branch",
    .path = "surveys[].questions[].branches[]",
    .intro = "Branches of a question answered with buttons, tried in order; the first that "
             "holds the answer (a score range, a choice, yes or no) decides what comes next.",
    .keys = branch_keys,
    .elem_size = sizeof(struct pb_cfg_branch),
};

static int option_index(const struct pb_cfg_question *q, const char *option)
{
    for (size_t i = 0; option && i < q->n_options; i++)
        if (strcmp(q->options[i], option) == 0)
            return (int)i;
    return -1;
}

/* A choice or yes/no branch is read into the score range it stands for, so that finding the
 * next question is the same comparison for every type. */
static void branch_answer(struct pb_cfg_ctx *ctx, config_setting_t *bset, struct pb_cfg_question *q,
                          struct pb_cfg_branch *b, const char *label, size_t i)
{
    if (pb_cfg_has(bset, "min") || pb_cfg_has(bset, "max")) {
        pb_cfg_error(ctx, pb_cfg_at(bset, pb_cfg_has(bset, "min") ? "min" : "max"),
                     "%s: branch #%zu: min and max are for scales; a %s question's branch says "
                     "%s",
                     label, i + 1, q->type == PB_QUESTION_CHOICE ? "choice" : "yes/no",
                     q->type == PB_QUESTION_CHOICE ? "choice = \"...\""
                                                   : "answer = \"yes\" or \"no\"");
        return;
    }
    if (q->type == PB_QUESTION_YESNO) {
        if (!b->answer || (strcmp(b->answer, "yes") != 0 && strcmp(b->answer, "no") != 0)) {
            pb_cfg_error(ctx, pb_cfg_at(bset, "answer"),
                         "%s: branch #%zu: expected answer = \"yes\" or answer = \"no\"%s%s%s",
                         label, i + 1, b->answer ? ", got \"" : "", b->answer ? b->answer : "",
                         b->answer ? "\"" : "");
            return;
        }
        b->min = b->max = strcmp(b->answer, "yes") == 0;
        return;
    }
    int at = option_index(q, b->choice);
    if (!b->choice) {
        pb_cfg_error(ctx, bset, "%s: branch #%zu: give choice = \"...\", one of the options", label,
                     i + 1);
    } else if (at < 0) {
        char hint[128];
        pb_cfg_hint(hint, sizeof hint,
                    pb_cfg_suggest(b->choice, q->options, q->n_options, sizeof *q->options, 0));
        pb_cfg_error(ctx, pb_cfg_at(bset, "choice"),
                     "%s: branch #%zu: choice \"%s\" is not one of the options%s", label, i + 1,
                     b->choice, hint);
    } else {
        b->min = b->max = at;
    }
}

static void check_branches(struct pb_cfg_ctx *ctx, config_setting_t *s, struct pb_cfg_question *q,
                           const char *label)
{
    config_setting_t *bs = config_setting_get_member(s, "branches");
    for (size_t i = 0; i < q->n_branches; i++) {
        struct pb_cfg_branch *b = &q->branches[i];
        config_setting_t *bset = config_setting_get_elem(bs, (unsigned)i);
        if (pb_cfg_has(bset, "choice") && q->type != PB_QUESTION_CHOICE) {
            pb_cfg_error(ctx, pb_cfg_at(bset, "choice"),
                         "%s: branch #%zu: \"choice\" applies only to choice questions (type = "
                         "\"choice\")",
                         label, i + 1);
            continue;
        }
        if (pb_cfg_has(bset, "answer") && q->type != PB_QUESTION_YESNO) {
            pb_cfg_error(ctx, pb_cfg_at(bset, "answer"),
                         "%s: branch #%zu: \"answer\" applies only to yes/no questions (type = "
                         "\"yesno\")",
                         label, i + 1);
            continue;
        }
        if (q->type != PB_QUESTION_SCALE) {
            branch_answer(ctx, bset, q, b, label, i);
            continue;
        }
        if (!pb_cfg_has(bset, "min"))
            b->min = q->min;
        if (!pb_cfg_has(bset, "max"))
            b->max = q->max;
        if (b->min > b->max)
            pb_cfg_error(ctx, bset, "%s: branch #%zu: min (%d) is greater than max (%d)", label,
                         i + 1, b->min, b->max);
        else if (q->min < q->max && (b->min < q->min || b->max > q->max))
            pb_cfg_error(ctx, bset,
                         "%s: branch #%zu: scores %d to %d are outside the scale %d to %d", label,
                         i + 1, b->min, b->max, q->min, q->max);
    }
}

/* ---- questions ------------------------------------------------------------------------- */

/* Keys given for a type they do not apply to, and translations of such keys. */
static void check_keys_fit(struct pb_cfg_ctx *ctx, config_setting_t *s,
                           const struct pb_cfg_question *q, const char *label)
{
    unsigned kind = kind_of(q);
    for (size_t i = 0; key_kinds[i].key; i++) {
        const char *k = key_kinds[i].key;
        if (!pb_cfg_has(s, k) || (key_kinds[i].kinds & kind))
            continue;
        if (kind == K_PRESET && (strcmp(k, "min") == 0 || strcmp(k, "max") == 0))
            pb_cfg_error(ctx, pb_cfg_at(s, k),
                         "%s: \"%s\" cannot be set for type = \"%s\": it is always %d to %d", label,
                         k, presets[q->preset].name, presets[q->preset].min,
                         presets[q->preset].max);
        else
            pb_cfg_error(ctx, pb_cfg_at(s, k), "%s: \"%s\" applies only to %s", label, k,
                         key_kinds[i].words);
    }
    for (size_t t = 0; t < q->tr.n; t++) {
        for (size_t i = 0; key_kinds[i].key; i++) {
            if (strcmp(key_kinds[i].key, q->tr.v[t].key) != 0 || (key_kinds[i].kinds & kind))
                continue;
            char name[128];
            snprintf(name, sizeof name, "%s_%s", q->tr.v[t].key, q->tr.v[t].locale);
            pb_cfg_error(ctx, pb_cfg_at(s, name), "%s: \"%s\" applies only to %s", label, name,
                         key_kinds[i].words);
        }
    }
}

/* A list key and each of its translations: as many entries as `want`, each short enough for a
 * button, none twice. */
static void check_list(struct pb_cfg_ctx *ctx, config_setting_t *s, const char *key,
                       const char *const *v, size_t n, size_t want, const char *what,
                       const char *label)
{
    const config_setting_t *at = pb_cfg_at(s, key);
    if (n != want) {
        pb_cfg_error(ctx, at, "%s: %s: expected %zu %s, got %zu", label, key, want, what, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strlen(v[i]) > MAX_OPTION_BYTES) {
            pb_cfg_error(ctx, at,
                         "%s: %s: \"%.20s...\" is longer than %d bytes, too long for a "
                         "button",
                         label, key, v[i], MAX_OPTION_BYTES);
            return;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(v[i], v[j]) == 0) {
                pb_cfg_error(ctx, at, "%s: %s: \"%s\" is there twice", label, key, v[i]);
                return;
            }
        }
    }
}

static void check_lists(struct pb_cfg_ctx *ctx, config_setting_t *s,
                        const struct pb_cfg_question *q, const char *label)
{
    size_t points = (size_t)(q->max - q->min + 1);
    if (q->type == PB_QUESTION_CHOICE) {
        if (!pb_cfg_has(s, "options"))
            pb_cfg_error(ctx, s, "%s: a choice question needs options = [ \"...\", \"...\" ]",
                         label);
        else if (q->n_options < 2 || q->n_options > MAX_OPTIONS)
            pb_cfg_error(ctx, pb_cfg_at(s, "options"),
                         "%s: options: expected 2 to %d options, got %zu", label, MAX_OPTIONS,
                         q->n_options);
        else
            check_list(ctx, s, "options", q->options, q->n_options, q->n_options, "options", label);
    }
    if (q->labels)
        check_list(ctx, s, "labels", q->labels, q->n_labels, points,
                   "labels, one for each point of the scale", label);
    else if (q->preset == PB_SCALE_EMOJI && points != 5)
        pb_cfg_error(ctx, pb_cfg_at(s, "max"),
                     "%s: an emoji scale of %zu points needs labels = [ ... ] with one face for "
                     "each (the built-in faces are for 1 to 5)",
                     label, points);
    for (size_t t = 0; t < q->tr.n; t++) {
        const struct pb_cfg_translation *tr = &q->tr.v[t];
        char name[128];
        snprintf(name, sizeof name, "%s_%s", tr->key, tr->locale);
        if (strcmp(tr->key, "options") == 0 && q->n_options)
            check_list(ctx, s, name, tr->list, tr->n_list, q->n_options,
                       "options, as many as "
                       "options",
                       label);
        else if (strcmp(tr->key, "labels") == 0 && q->type == PB_QUESTION_SCALE)
            check_list(ctx, s, name, tr->list, tr->n_list, points,
                       "labels, one for each point of the scale", label);
    }
}

static void question_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    struct pb_cfg_question *q = obj;
    q->preset = (int)q->type >> 4;
    q->type = (enum pb_question_type)((int)q->type & 0xf);
    if (q->preset >= (int)(sizeof presets / sizeof *presets))
        q->preset = PB_SCALE_CUSTOM;
    int fixed = q->preset != PB_SCALE_CUSTOM && q->preset != PB_SCALE_EMOJI;
    if (!pb_cfg_has(s, "min") || fixed)
        q->min = presets[q->preset].min;
    if (!pb_cfg_has(s, "max") || fixed)
        q->max = presets[q->preset].max;
    /* The range of the scores a yes/no or choice answer is stored with. */
    if (q->type == PB_QUESTION_YESNO || q->type == PB_QUESTION_CHOICE) {
        q->min = 0;
        q->max = q->type == PB_QUESTION_YESNO ? 1 : (int)q->n_options - 1;
    }
    if (q->next && strcmp(q->next, "end") == 0)
        q->next = NULL;
    for (size_t i = 0; i < q->n_branches; i++)
        if (q->branches[i].next && strcmp(q->branches[i].next, "end") == 0)
            q->branches[i].next = NULL;
    if (!s || !q->type)
        return;
    check_keys_fit(ctx, s, q, label);
    if (q->type == PB_QUESTION_SCALE) {
        /* Chat platforms lay a scale out as one row of buttons: 0 to 10 is as wide as it gets. */
        if (q->min >= q->max) {
            pb_cfg_error(ctx, pb_cfg_at(s, "max"), "%s: min (%d) must be less than max (%d)", label,
                         q->min, q->max);
            return;
        }
        if (q->max - q->min > 10) {
            pb_cfg_error(ctx, pb_cfg_at(s, "max"),
                         "%s: a scale has at most 11 points (such as 0 to 10), got %d to %d", label,
                         q->min, q->max);
            return;
        }
    }
    check_lists(ctx, s, q, label);
    if (q->type != PB_QUESTION_TEXT)
        check_branches(ctx, s, q, label);
}

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
     .help = "`scale`: a row of score buttons; `nps` and `enps`: 0 to 10; `csat`: 1 to 5; "
             "`ces`: 1 to 7; `emoji`: 1 to 5 shown as faces; `yesno`: Yes and No; `choice`: "
             "one of `options`; `text`: a free-text reply. See docs/surveys.md."},
    {.name = "text",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_text,
     .translatable = 1,
     .off = OFF(pb_cfg_question, text),
     .help = "The question as people read it. Translatable: `text_de = \"...\"`."},
    {.name = "min",
     .type = PB_CFG_INT,
     .def_doc = "`1`; `0` for nps and enps",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_question, min),
     .help = "Scale and emoji only: the lowest score (at most 11 points from `min` to `max`)."},
    {.name = "max",
     .type = PB_CFG_INT,
     .def_doc = "`5`; `10` for nps and enps, `7` for ces",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_question, max),
     .help = "Scale and emoji only: the highest score."},
    {.name = "low_label",
     .type = PB_CFG_STRING,
     .translatable = 1,
     .def_doc = "the standard words for nps, enps, csat and ces",
     .off = OFF(pb_cfg_question, low_label),
     .help = "Scales: what the lowest score means, such as `\"Rough\"`. Translatable."},
    {.name = "high_label",
     .type = PB_CFG_STRING,
     .translatable = 1,
     .def_doc = "the standard words for nps, enps, csat and ces",
     .off = OFF(pb_cfg_question, high_label),
     .help = "Scales: what the highest score means, such as `\"Great\"`. Translatable."},
    {.name = "labels",
     .type = PB_CFG_STRINGS,
     .translatable = 1,
     .def_doc = "the numbers; faces for emoji",
     .off = OFF(pb_cfg_question, labels),
     .off_n = OFF(pb_cfg_question, n_labels),
     .help = "Scale and emoji only: one button label per point, lowest first. Translatable."},
    {.name = "options",
     .type = PB_CFG_STRINGS,
     .translatable = 1,
     .off = OFF(pb_cfg_question, options),
     .off_n = OFF(pb_cfg_question, n_options),
     .help = "Choice only (required there): 2 to 10 options, such as `[ \"Workload\", "
             "\"Team\" ]`. The answer keeps the option's index and its text as written here. "
             "Translatable: `options_de` with as many entries."},
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
     .help = "Not for text: where an answer leads; see `surveys[].questions[].branches[]`."},
    {.name = "next",
     .type = PB_CFG_STRING,
     .def_doc = "the following question (for a bank question: the following one not in the "
                "bank); `\"end\"` after the last",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_question, next),
     .help = "Id of the question that comes next when no branch matches, or `\"end\"`."},
    {NULL},
};

static const struct pb_cfg_block question_block = {
    .kind = "question",
    .path = "surveys[].questions[]",
    .label_key = "id",
    .intro = "A survey's questions; a delivery starts at the first (or at the one its bank "
             "draws). No question may be reachable again from itself.",
    .keys = question_keys,
    .elem_size = sizeof(struct pb_cfg_question),
    .has_line = 1,
    .line_off = OFF(pb_cfg_question, line),
    .finish = question_finish,
    .has_tr = 1,
    .tr_off = OFF(pb_cfg_question, tr),
};

/* ---- surveys --------------------------------------------------------------------------- */

static int question_at(const struct pb_cfg_survey *sv, const char *id)
{
    for (size_t i = 0; id && i < sv->n_questions; i++)
        if (sv->questions[i].id && strcmp(sv->questions[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int in_bank(const struct pb_cfg_survey *sv, const char *id)
{
    for (size_t i = 0; id && i < sv->n_bank; i++)
        if (strcmp(sv->bank[i], id) == 0)
            return 1;
    return 0;
}

static void check_bank(struct pb_cfg_ctx *ctx, config_setting_t *s, struct pb_cfg_survey *sv,
                       const char *label)
{
    const config_setting_t *at = pb_cfg_at(s, "bank");
    for (size_t i = 0; i < sv->n_bank; i++) {
        if (question_at(sv, sv->bank[i]) < 0) {
            char hint[128];
            pb_cfg_hint(hint, sizeof hint,
                        pb_cfg_suggest(sv->bank[i], sv->questions, sv->n_questions,
                                       sizeof *sv->questions, OFF(pb_cfg_question, id)));
            pb_cfg_error(ctx, at, "%s: bank: unknown question \"%s\"%s", label, sv->bank[i], hint);
            sv->n_bank = 0;
            return;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(sv->bank[i], sv->bank[j]) == 0) {
                pb_cfg_error(ctx, at, "%s: bank: question \"%s\" is there twice", label,
                             sv->bank[i]);
                sv->n_bank = 0;
                return;
            }
        }
    }
}

static void survey_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_survey *sv = obj;
    const config_setting_t *rs = pb_cfg_at(s, "reminders");
    sv->thanks_default = !pb_cfg_has(s, "thanks");
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
    check_bank(ctx, s, sv, label);
    /* The bank is one place in the list of questions: after any of its questions comes the
     * question listed after the bank, not the bank's next question. */
    config_setting_t *qs = config_setting_get_member(s, "questions");
    for (size_t i = 0; qs && i < sv->n_questions; i++) {
        if (pb_cfg_has(config_setting_get_elem(qs, (unsigned)i), "next"))
            continue;
        size_t j = i + 1;
        while (in_bank(sv, sv->questions[i].id) && j < sv->n_questions &&
               in_bank(sv, sv->questions[j].id))
            j++;
        sv->questions[i].next = j < sv->n_questions ? sv->questions[j].id : NULL;
    }
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
     .translatable = 1,
     .off = OFF(pb_cfg_survey, title),
     .help = "Shown above the first question. Translatable: `title_de = \"...\"`."},
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
     .translatable = 1,
     .off = OFF(pb_cfg_survey, thanks),
     .help = "Sent after the last answer; `\"\"` sends nothing. When not given, \"Thank you!\" "
             "in the person's language. Translatable: `thanks_de = \"...\"`."},
    {.name = "default_locale",
     .type = PB_CFG_STRING,
     .def = "en",
     .check = &pb_cfg_check_locale,
     .off = OFF(pb_cfg_survey, default_locale),
     .help = "The language tried when there is no text in a person's own: the person's locale, "
             "then its language, then this, then the text without a suffix."},
    {.name = "bank",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_survey, bank),
     .off_n = OFF(pb_cfg_survey, n_bank),
     .help = "Question ids, such as `[ \"workload\", \"recognition\" ]`: round N of a schedule "
             "starts at the Nth of them (after the last, the first again), the same for the "
             "whole round, instead of at the first question."},
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
    .intro = "What is asked. Every text a person reads can be given per language: see "
             "docs/surveys.md.",
    .keys = survey_keys,
    .elem_size = sizeof(struct pb_cfg_survey),
    .has_line = 1,
    .line_off = OFF(pb_cfg_survey, line),
    .finish = survey_finish,
    .has_tr = 1,
    .tr_off = OFF(pb_cfg_survey, tr),
};

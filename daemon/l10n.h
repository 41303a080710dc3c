/*
 * Languages: which of a survey's translations a person reads, and the core's own words (the
 * thank-you, "Your answer: ...", the replies to a stale button) in English, German and
 * French. Both follow one fallback: the person's locale exactly ("de-CH"), then its language
 * ("de"), then the survey's default_locale, then (for the file's texts) the text without a
 * language suffix, and (for the core's words) English.
 */
#ifndef PB_L10N_H
#define PB_L10N_H

#include <stddef.h>

#include "config.h"

/* Whom a text is for: their locale (NULL: unknown) and the survey's default_locale. */
struct pb_lang {
    const char *locale;
    const char *fallback;
    char found[32]; /* storage for a locale looked up rather than configured */
};

/* The core's words. */
enum pb_l10n_id {
    PB_L10N_THANKS,
    PB_L10N_REPLY_HINT,     /* under a text question */
    PB_L10N_RECORDED,       /* "Your answer was recorded." */
    PB_L10N_YOUR_ANSWER,    /* "Your answer: {}" */
    PB_L10N_SCORE_OF,       /* "{} of {}" */
    PB_L10N_ALREADY_Q,      /* already answered this question */
    PB_L10N_ALREADY_SURVEY, /* already answered this survey */
    PB_L10N_NOT_KNOWN,
    PB_L10N_NOT_YOURS,
    PB_L10N_CLOSED,
    PB_L10N_CHANGED_Q,
    PB_L10N_NOT_A_CHOICE,
    PB_L10N_SAVE_FAILED,
    PB_L10N_NO_OPEN,
    PB_L10N_CHANGED_SURVEY,
    PB_L10N_PICK_NUMBER, /* "... a number from {} to {}." */
    PB_L10N_PICK_BUTTON,
    PB_L10N_REPLACED,
    PB_L10N_REMINDER,      /* "A reminder: {}" */
    PB_L10N_REMINDER_OPEN, /* a reminder without a question to show */
    PB_L10N_YES,
    PB_L10N_NO,
    PB_L10N_NPS_LOW,
    PB_L10N_NPS_HIGH,
    PB_L10N_CSAT_LOW,
    PB_L10N_CSAT_HIGH,
    PB_L10N_CES_LOW,
    PB_L10N_CES_HIGH,
    PB_L10N_COUNT
};

/* The core's words in the person's language. Never NULL. */
const char *pb_l10n(const struct pb_lang *lang, enum pb_l10n_id id);
/* The language of the catalog `pb_l10n` would answer from: "en", "de" or "fr". */
const char *pb_l10n_catalog(const struct pb_lang *lang);
/* Writes `tmpl` with each "{}" replaced by the next of `a`, `b` (NULL: nothing). */
void pb_l10n_fill(char *out, size_t len, const char *tmpl, const char *a, const char *b);
/* Whether `text` is one of the words for yes (1) or no (0) in any catalog, ignoring case,
 * spaces and final punctuation; -1 when it is neither. */
int pb_l10n_yes_no(const char *text);

/* A survey's text `key` (its own value `base`) in the person's language. */
const char *pb_l10n_text(const struct pb_cfg_translations *tr, const char *key, const char *base,
                         const struct pb_lang *lang);
/* The same for a list key; the translation has as many entries as `base` (the loader checked). */
const char *const *pb_l10n_list(const struct pb_cfg_translations *tr, const char *key,
                                const char *const *base, const struct pb_lang *lang);

#endif

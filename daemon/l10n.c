/*
 * Languages (see l10n.h): the fallback from a person's locale to the texts a survey has, and
 * the core's own words in a small built-in catalog. A catalog entry may hold "{}" where
 * pb_l10n_fill puts a value, so a sentence keeps its own word order in each language.
 */
#include "l10n.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct catalog {
    const char *lang;
    const char *words[PB_L10N_COUNT];
};

static const struct catalog catalogs[] = {
    {"en",
     {
         [PB_L10N_THANKS] = "Thank you!",
         [PB_L10N_REPLY_HINT] = "Reply with a message.",
         [PB_L10N_RECORDED] = "Your answer was recorded.",
         [PB_L10N_YOUR_ANSWER] = "Your answer: {}",
         [PB_L10N_SCORE_OF] = "{} of {}",
         [PB_L10N_ALREADY_Q] = "You have already answered this question.",
         [PB_L10N_ALREADY_SURVEY] = "You have already answered this survey. Thank you!",
         [PB_L10N_NOT_KNOWN] = "This question is not known here.",
         [PB_L10N_NOT_YOURS] = "This question was sent to someone else.",
         [PB_L10N_CLOSED] = "This survey has closed.",
         [PB_L10N_CHANGED_Q] = "This question has changed; please use the newest message.",
         [PB_L10N_NOT_A_CHOICE] = "This answer is no longer one of the choices.",
         [PB_L10N_SAVE_FAILED] = "Sorry, your answer could not be saved. Please try again.",
         [PB_L10N_NO_OPEN] = "There is no open question for you right now.",
         [PB_L10N_CHANGED_SURVEY] = "This survey has changed; there is nothing to answer.",
         [PB_L10N_PICK_NUMBER] = "Please pick one of the buttons, or write a number from {} to {}.",
         [PB_L10N_PICK_BUTTON] = "Please pick one of the buttons.",
         [PB_L10N_REPLACED] = "This survey was replaced by a newer one.",
         [PB_L10N_REMINDER] = "A reminder: {}",
         [PB_L10N_REMINDER_OPEN] = "A reminder: your survey is still open.",
         [PB_L10N_YES] = "Yes",
         [PB_L10N_NO] = "No",
         [PB_L10N_NPS_LOW] = "Not at all likely",
         [PB_L10N_NPS_HIGH] = "Extremely likely",
         [PB_L10N_CSAT_LOW] = "Very dissatisfied",
         [PB_L10N_CSAT_HIGH] = "Very satisfied",
         [PB_L10N_CES_LOW] = "Very difficult",
         [PB_L10N_CES_HIGH] = "Very easy",
     }},
    {"de",
     {
         [PB_L10N_THANKS] = "Danke!",
         [PB_L10N_REPLY_HINT] = "Antworte mit einer Nachricht.",
         [PB_L10N_RECORDED] = "Deine Antwort wurde gespeichert.",
         [PB_L10N_YOUR_ANSWER] = "Deine Antwort: {}",
         [PB_L10N_SCORE_OF] = "{} von {}",
         [PB_L10N_ALREADY_Q] = "Du hast diese Frage schon beantwortet.",
         [PB_L10N_ALREADY_SURVEY] = "Du hast diese Umfrage schon beantwortet. Danke!",
         [PB_L10N_NOT_KNOWN] = "Diese Frage ist hier nicht bekannt.",
         [PB_L10N_NOT_YOURS] = "Diese Frage wurde jemand anderem gestellt.",
         [PB_L10N_CLOSED] = "Diese Umfrage ist geschlossen.",
         [PB_L10N_CHANGED_Q] = "Diese Frage hat sich geändert; bitte nimm die neueste Nachricht.",
         [PB_L10N_NOT_A_CHOICE] = "Diese Antwort steht nicht mehr zur Auswahl.",
         [PB_L10N_SAVE_FAILED] =
             "Deine Antwort konnte leider nicht gespeichert werden. Bitte versuch es noch einmal.",
         [PB_L10N_NO_OPEN] = "Gerade ist keine Frage für dich offen.",
         [PB_L10N_CHANGED_SURVEY] = "Diese Umfrage hat sich geändert; es gibt nichts zu "
                                    "beantworten.",
         [PB_L10N_PICK_NUMBER] = "Bitte wähle einen der Knöpfe oder schreib eine Zahl von {} bis "
                                 "{}.",
         [PB_L10N_PICK_BUTTON] = "Bitte wähle einen der Knöpfe.",
         [PB_L10N_REPLACED] = "Diese Umfrage wurde durch eine neuere ersetzt.",
         [PB_L10N_REMINDER] = "Zur Erinnerung: {}",
         [PB_L10N_REMINDER_OPEN] = "Zur Erinnerung: deine Umfrage ist noch offen.",
         [PB_L10N_YES] = "Ja",
         [PB_L10N_NO] = "Nein",
         [PB_L10N_NPS_LOW] = "Überhaupt nicht wahrscheinlich",
         [PB_L10N_NPS_HIGH] = "Äußerst wahrscheinlich",
         [PB_L10N_CSAT_LOW] = "Sehr unzufrieden",
         [PB_L10N_CSAT_HIGH] = "Sehr zufrieden",
         [PB_L10N_CES_LOW] = "Sehr schwierig",
         [PB_L10N_CES_HIGH] = "Sehr einfach",
     }},
    {"fr",
     {
         [PB_L10N_THANKS] = "Merci !",
         [PB_L10N_REPLY_HINT] = "Répondez par un message.",
         [PB_L10N_RECORDED] = "Votre réponse a été enregistrée.",
         [PB_L10N_YOUR_ANSWER] = "Votre réponse : {}",
         [PB_L10N_SCORE_OF] = "{} sur {}",
         [PB_L10N_ALREADY_Q] = "Vous avez déjà répondu à cette question.",
         [PB_L10N_ALREADY_SURVEY] = "Vous avez déjà répondu à ce questionnaire. Merci !",
         [PB_L10N_NOT_KNOWN] = "Cette question est inconnue ici.",
         [PB_L10N_NOT_YOURS] = "Cette question a été envoyée à quelqu'un d'autre.",
         [PB_L10N_CLOSED] = "Ce questionnaire est clos.",
         [PB_L10N_CHANGED_Q] = "Cette question a changé ; utilisez le message le plus récent.",
         [PB_L10N_NOT_A_CHOICE] = "Cette réponse ne fait plus partie des choix.",
         [PB_L10N_SAVE_FAILED] =
             "Désolé, votre réponse n'a pas pu être enregistrée. Veuillez réessayer.",
         [PB_L10N_NO_OPEN] = "Aucune question n'est ouverte pour vous en ce moment.",
         [PB_L10N_CHANGED_SURVEY] = "Ce questionnaire a changé ; il n'y a rien à répondre.",
         [PB_L10N_PICK_NUMBER] = "Choisissez l'un des boutons, ou écrivez un nombre de {} à {}.",
         [PB_L10N_PICK_BUTTON] = "Choisissez l'un des boutons.",
         [PB_L10N_REPLACED] = "Ce questionnaire a été remplacé par un plus récent.",
         [PB_L10N_REMINDER] = "Petit rappel : {}",
         [PB_L10N_REMINDER_OPEN] = "Petit rappel : votre questionnaire est toujours ouvert.",
         [PB_L10N_YES] = "Oui",
         [PB_L10N_NO] = "Non",
         [PB_L10N_NPS_LOW] = "Pas du tout probable",
         [PB_L10N_NPS_HIGH] = "Extrêmement probable",
         [PB_L10N_CSAT_LOW] = "Très insatisfait",
         [PB_L10N_CSAT_HIGH] = "Très satisfait",
         [PB_L10N_CES_LOW] = "Très difficile",
         [PB_L10N_CES_HIGH] = "Très facile",
     }},
};

#define N_CATALOGS (sizeof catalogs / sizeof *catalogs)

/* "de" from "de-CH" or "de_CH", into `buf`; NULL when the tag has no region part. */
static const char *language_of(const char *tag, char *buf, size_t len)
{
    size_t n = tag ? strcspn(tag, "-_") : 0;
    if (!tag || !tag[n] || n == 0 || n >= len)
        return NULL;
    memcpy(buf, tag, n);
    buf[n] = '\0';
    return buf;
}

/* The tags to try in order; returns how many. */
static size_t candidates(const struct pb_lang *lang, const char *out[3], char *buf, size_t len)
{
    size_t n = 0;
    if (lang && lang->locale && *lang->locale) {
        out[n++] = lang->locale;
        const char *l = language_of(lang->locale, buf, len);
        if (l)
            out[n++] = l;
    }
    if (lang && lang->fallback && *lang->fallback)
        out[n++] = lang->fallback;
    return n;
}

static const struct catalog *catalog_for(const struct pb_lang *lang)
{
    char buf[16], buf2[16];
    const char *tags[3];
    size_t n = candidates(lang, tags, buf, sizeof buf);
    for (size_t i = 0; i < n; i++) {
        /* A catalog is a language: "fr-CA" is served by "fr", also as the fallback. */
        const char *l = language_of(tags[i], buf2, sizeof buf2);
        for (size_t c = 0; c < N_CATALOGS; c++)
            if (pb_config_same_locale(catalogs[c].lang, l ? l : tags[i]))
                return &catalogs[c];
    }
    return &catalogs[0];
}

const char *pb_l10n(const struct pb_lang *lang, enum pb_l10n_id id)
{
    if ((unsigned)id >= PB_L10N_COUNT)
        return "";
    const char *w = catalog_for(lang)->words[id];
    return w ? w : catalogs[0].words[id];
}

const char *pb_l10n_catalog(const struct pb_lang *lang)
{
    return catalog_for(lang)->lang;
}

void pb_l10n_fill(char *out, size_t len, const char *tmpl, const char *a, const char *b)
{
    const char *args[2] = {a, b};
    size_t used = 0, next = 0;
    if (!len)
        return;
    for (const char *p = tmpl; *p && used + 1 < len; p++) {
        if (p[0] == '{' && p[1] == '}') {
            const char *v = next < 2 && args[next] ? args[next] : "";
            next++;
            used += (size_t)snprintf(out + used, len - used, "%s", v);
            if (used >= len)
                used = len - 1;
            p++;
            continue;
        }
        out[used++] = *p;
    }
    out[used] = '\0';
}

/* Compares ignoring case (ASCII), surrounding spaces and final punctuation ("Ja!", " yes."). */
static int same_word(const char *text, const char *word)
{
    while (isspace((unsigned char)*text))
        text++;
    size_t n = strlen(text);
    while (n > 0 && (isspace((unsigned char)text[n - 1]) || strchr(".!", text[n - 1])))
        n--;
    return n == strlen(word) && strncasecmp(text, word, n) == 0;
}

int pb_l10n_yes_no(const char *text)
{
    static const char *const extra_yes[] = {"y", "yeah", "yep"};
    static const char *const extra_no[] = {"n", "nope"};
    if (!text)
        return -1;
    for (size_t c = 0; c < N_CATALOGS; c++) {
        if (same_word(text, catalogs[c].words[PB_L10N_YES]))
            return 1;
        if (same_word(text, catalogs[c].words[PB_L10N_NO]))
            return 0;
    }
    for (size_t i = 0; i < sizeof extra_yes / sizeof *extra_yes; i++)
        if (same_word(text, extra_yes[i]))
            return 1;
    for (size_t i = 0; i < sizeof extra_no / sizeof *extra_no; i++)
        if (same_word(text, extra_no[i]))
            return 0;
    return -1;
}

static const struct pb_cfg_translation *find(const struct pb_cfg_translations *tr, const char *key,
                                             const struct pb_lang *lang)
{
    char buf[16];
    const char *tags[3];
    size_t n = candidates(lang, tags, buf, sizeof buf);
    for (size_t i = 0; tr && tr->n && i < n; i++) {
        const struct pb_cfg_translation *t = pb_config_translation(tr, key, tags[i]);
        if (t)
            return t;
    }
    return NULL;
}

const char *pb_l10n_text(const struct pb_cfg_translations *tr, const char *key, const char *base,
                         const struct pb_lang *lang)
{
    const struct pb_cfg_translation *t = find(tr, key, lang);
    return t && t->text ? t->text : base;
}

const char *const *pb_l10n_list(const struct pb_cfg_translations *tr, const char *key,
                                const char *const *base, const struct pb_lang *lang)
{
    const struct pb_cfg_translation *t = find(tr, key, lang);
    return t && t->list ? (const char *const *)t->list : base;
}

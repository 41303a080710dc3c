/*
 * Absences. A person is away on the days the roster gives (away_from/away_until in the
 * configuration or the roster CSV) and on the days they set themselves by sending the bot
 * "away until 2027-01-08", "away 2027-01-04 to 2027-01-08" or "away 2027-01-04"; "back" ends
 * what they set. Days are counted in the person's own time zone. A round does not ask someone
 * who is away, so they never count as not answering (schedule.c).
 *
 * Only a message that is exactly one of these commands is one (blanks and letter case aside):
 * anything else is a text like any other, an answer when a text question is pending. "back"
 * alone could be an answer too, so it is a command only when it has something to do (the
 * person set an absence) or when no free-text question is waiting for them.
 *
 * A command is committed with its confirmation message in one transaction (commit, then send,
 * like everything else); the confirmation goes through the outbox because platforms show a
 * successful event's reply differently or not at all. Replies never echo what the person
 * wrote: the dates in them are the parsed numbers, printed again.
 *
 * The spans set by chat are read from the store once per engine into a sorted array, so that
 * a round over a large audience asks the store nothing per person.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"
#include "tz.h"

#define MOD          "roster"
#define MAX_SPAN     366 /* days: a longer absence is the roster's business */
#define MAX_COMMAND  64  /* longer texts are never commands */
#define MAX_SPAN_TXT "a year"

struct pb_away_cache {
    struct pb_away_span *v; /* by person */
    size_t n, cap;
};

static int compare_person(const void *key, const void *elem)
{
    return strcmp(key, ((const struct pb_away_span *)elem)->person);
}

static int collect(void *arg, const struct pb_away_span *a)
{
    struct pb_away_cache *c = arg;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct pb_away_span *v = realloc(c->v, cap * sizeof *v);
        if (!v)
            return PB_ERR_NOMEM;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *a; /* the scan is in person order */
    return 0;
}

/* The cache, read on first use; NULL while the store cannot be read (tried again next time). */
static struct pb_away_cache *cache(struct pb_engine *e)
{
    if (e->away)
        return e->away;
    struct pb_away_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pb_store_away_scan(e->store, collect, c) != 0) {
        free(c->v);
        free(c);
        return NULL;
    }
    e->away = c;
    return c;
}

void pb_away_free(struct pb_engine *e)
{
    if (!e->away)
        return;
    free(e->away->v);
    free(e->away);
    e->away = NULL;
}

static const struct pb_away_span *chat_span(struct pb_engine *e, const char *person)
{
    struct pb_away_cache *c = cache(e);
    if (!c || !c->n)
        return NULL;
    return bsearch(person, c->v, c->n, sizeof *c->v, compare_person);
}

/* The person's day number at `at` in their zone (UTC when they have none or it is unknown). */
static int64_t local_day(struct pb_engine *e, const struct pb_cfg_person *p, int64_t at)
{
    const struct pb_tz *tz;
    char err[256];
    const char *zone = pb_roster_timezone(e->roster, p);
    if (pb_tz_get(zone ? zone : "UTC", &tz, err, sizeof err) != PB_OK &&
        pb_tz_get("UTC", &tz, err, sizeof err) != PB_OK)
        return at / 86400000;
    struct pb_tz_local l;
    pb_tz_to_local(tz, at, &l);
    return l.days;
}

int pb_away_on(struct pb_engine *e, const struct pb_cfg_person *p, int64_t at)
{
    const struct pb_away_span *chat = chat_span(e, p->id);
    int roster = p->away_first <= p->away_last;
    if (!roster && !chat)
        return 0; /* the common case, without a time zone conversion */
    int64_t day = local_day(e, p, at);
    return (roster && day >= p->away_first && day <= p->away_last) ||
           (chat && day >= chat->first_day && day <= chat->last_day);
}

/* ---- the commands ---------------------------------------------------------------------- */

enum command { NOT_A_COMMAND = 0, CMD_AWAY, CMD_BACK };

/* Reads "YYYY-MM-DD" at *s; 0 and the day number, or -1 (also for a day that does not
 * exist, which the caller tells apart by `shape_ok`). */
static int read_date(const char **s, int64_t *day, int *shape_ok)
{
    const char *p = *s;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? p[i] != '-' : !isdigit((unsigned char)p[i]))
            return -1;
    *shape_ok = 1;
    int y = atoi(p), m = atoi(p + 5), d = atoi(p + 8);
    *s = p + 10;
    if (m < 1 || m > 12 || d < 1 || d > pb_tz_month_days(y, m))
        return -1;
    *day = pb_tz_days_from_civil(y, m, d);
    return 0;
}

static int word(const char **s, const char *w)
{
    size_t n = strlen(w);
    if (strncmp(*s, w, n) != 0 || (*s)[n] != ' ')
        return 0;
    *s += n;
    while (**s == ' ')
        (*s)++;
    return 1;
}

/* Lower-cased, blanks squeezed to one space, trimmed; 0 when too long to be a command. */
static int normalise(const char *text, char *out, size_t len)
{
    size_t n = 0;
    int space = 0;
    for (; *text; text++) {
        unsigned char c = (unsigned char)*text;
        if (isspace(c)) {
            space = n > 0;
            continue;
        }
        if (n + 2 >= len)
            return 0;
        if (space)
            out[n++] = ' ';
        space = 0;
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    return 1;
}

/* Parses a command. For "away", *first is -1 when it starts today. *bad_date is set when the
 * text has the command's shape but names a day that does not exist. */
static enum command parse(const char *text, int64_t *first, int64_t *last, int *bad_date)
{
    char buf[MAX_COMMAND + 1];
    const char *s = buf;
    int shape = 0;
    *bad_date = 0;
    if (!normalise(text, buf, sizeof buf))
        return NOT_A_COMMAND;
    if (strcmp(buf, "back") == 0)
        return CMD_BACK;
    if (!word(&s, "away"))
        return NOT_A_COMMAND;
    int ok = 1;
    if (word(&s, "until")) {
        *first = -1;
        ok = read_date(&s, last, &shape) == 0;
    } else {
        ok = read_date(&s, first, &shape) == 0;
        if (shape && *s == '\0') {
            *last = *first;
        } else if (shape) {
            if (*s != ' ')
                return NOT_A_COMMAND;
            s++;
            shape = 0;
            if (!word(&s, "to"))
                return NOT_A_COMMAND;
            ok = read_date(&s, last, &shape) == 0 && ok;
        }
    }
    if (!shape || *s != '\0')
        return NOT_A_COMMAND;
    *bad_date = !ok;
    return CMD_AWAY;
}

static void format_day(int64_t day, char *out, size_t len)
{
    int64_t y;
    int m, d;
    pb_tz_civil_from_days(day, &y, &m, &d);
    snprintf(out, len, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* Commits the span `put` (or the removal of `delete_person`'s) with the confirmation `text` to
 * the person, together. */
static int commit_with_message(struct pb_engine *e, const char *connector, const char *user,
                               const struct pb_away_span *put, const char *delete_person,
                               const char *text)
{
    struct pb_message m = {.size = sizeof m, .kind = PB_MESSAGE_TEXT, .text = text};
    int rc = pb_store_begin(e->store);
    if (rc == PB_OK)
        rc = put ? pb_store_away_put(e->store, put) : pb_store_away_delete(e->store, delete_person);
    if (rc == PB_OK)
        rc = pb_outbox_queue(e, connector, PB_TARGET_PERSON, user, &m, NULL);
    if (rc == PB_OK)
        rc = pb_store_commit(e->store);
    if (rc != PB_OK) {
        pb_store_rollback(e->store);
        return rc;
    }
    pb_away_free(e); /* read again, with the change, on next use */
    pb_engine_wake(e);
    return PB_OK;
}

static int set_away(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_cfg_person *p, int64_t first, int64_t last, char *reply,
                    size_t reply_len)
{
    int64_t today = local_day(e, p, pb_now_ms());
    char from[16], until[16], text[300];
    if (first < 0)
        first = today;
    if (last < today) {
        format_day(today + 7, from, sizeof from);
        snprintf(reply, reply_len, "That day has passed. Send, for example, \"away until %s\".",
                 from);
        return PB_ERR_INVALID;
    }
    if (first > last) {
        snprintf(reply, reply_len, "The first day comes after the last one.");
        return PB_ERR_INVALID;
    }
    if (last - first >= MAX_SPAN) {
        snprintf(reply, reply_len,
                 "That is longer than %s; please ask whoever keeps the roster to mark a long "
                 "absence.",
                 MAX_SPAN_TXT);
        return PB_ERR_INVALID;
    }
    struct pb_away_span a = {.first_day = first, .last_day = last, .set_ms = pb_now_ms()};
    pb_copy(a.person, sizeof a.person, p->id);
    format_day(first, from, sizeof from);
    format_day(last, until, sizeof until);
    const char *zone = pb_roster_timezone(e->roster, p);
    if (first == last)
        snprintf(text, sizeof text,
                 "You are marked away on %s (%s time). Surveys will not ask you that day. "
                 "Send \"back\" to undo.",
                 from, zone ? zone : "UTC");
    else
        snprintf(text, sizeof text,
                 "You are marked away from %s to %s (%s time). Surveys will not ask you on "
                 "those days. Send \"back\" to undo.",
                 from, until, zone ? zone : "UTC");
    int rc = commit_with_message(e, connector, ev->user, &a, NULL, text);
    if (rc != PB_OK) {
        snprintf(reply, reply_len, "Sorry, that could not be saved. Please try again.");
        return rc;
    }
    pb_metrics_add("away_set", 1);
    pb_info(MOD, "%s is away from %s to %s (set by chat)", p->id, from, until);
    return PB_OK;
}

/* Whether the roster has the person away today or later. */
static int roster_away(struct pb_engine *e, const struct pb_cfg_person *p)
{
    return p->away_first <= p->away_last && local_day(e, p, pb_now_ms()) <= p->away_last;
}

static int set_back(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_cfg_person *p, char *reply, size_t reply_len)
{
    char from[16], until[16], text[300];
    if (roster_away(e, p)) {
        format_day(p->away_first, from, sizeof from);
        format_day(p->away_last, until, sizeof until);
        snprintf(text, sizeof text,
                 "Welcome back. The roster still has you away from %s to %s; ask whoever keeps "
                 "it to change that.",
                 from, until);
    } else {
        snprintf(text, sizeof text, "Welcome back. Surveys will ask you again.");
    }
    int rc = commit_with_message(e, connector, ev->user, NULL, p->id, text);
    if (rc != PB_OK) {
        snprintf(reply, reply_len, "Sorry, that could not be saved. Please try again.");
        return rc;
    }
    pb_metrics_add("away_cleared", 1);
    pb_info(MOD, "%s is back (set by chat)", p->id);
    return PB_OK;
}

/* Whether the person's newest open delivery waits for a free-text answer. */
static int text_question_waits(struct pb_engine *e, const char *connector, const char *user)
{
    struct pb_delivery d;
    if (pb_store_delivery_open_for(e->store, connector, user, &d) != PB_OK)
        return 0;
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, d.survey);
    const struct pb_cfg_question *q = s ? pb_config_question(s, d.step) : NULL;
    return q && q->type == PB_QUESTION_TEXT;
}

int pb_away_command(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_cfg_person *p, char *reply, size_t reply_len, int *handled)
{
    int64_t first = 0, last = 0;
    int bad_date;
    *handled = 0;
    enum command c = parse(ev->text, &first, &last, &bad_date);
    if (c == NOT_A_COMMAND)
        return PB_OK;
    if (c == CMD_BACK) {
        if (!chat_span(e, p->id)) {
            if (text_question_waits(e, connector, ev->user))
                return PB_OK; /* "back" is their answer to the pending question */
            *handled = 1;
            if (roster_away(e, p)) {
                char from[16], until[16];
                format_day(p->away_first, from, sizeof from);
                format_day(p->away_last, until, sizeof until);
                snprintf(reply, reply_len,
                         "The roster has you away from %s to %s; ask whoever keeps it to change "
                         "that.",
                         from, until);
            } else {
                snprintf(reply, reply_len, "You were not marked away.");
            }
            return PB_ERR_DONE;
        }
        *handled = 1;
        return set_back(e, connector, ev, p, reply, reply_len);
    }
    *handled = 1;
    if (bad_date) {
        snprintf(reply, reply_len, "That is not a date in the calendar; write it as YYYY-MM-DD.");
        return PB_ERR_INVALID;
    }
    return set_away(e, connector, ev, p, first, last, reply, reply_len);
}

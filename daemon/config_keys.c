/*
 * Every key of the configuration file, declared once. These tables drive the parser (types,
 * ranges, required keys, defaults, unknown-key errors) and pb_config_reference(), which prints
 * docs/configuration.md's key reference, so the code and the documentation cannot disagree.
 * The hooks below hold what a table cannot say: defaults computed from other keys, and checks
 * between keys of one block. Checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PB_PLUGIN_DIR
/* pb_core gets the real install directory from CMake; this is only the fallback. */
#define PB_PLUGIN_DIR "/usr/local/lib/pulsebot"
#endif

#define OFF(type, field) offsetof(struct type, field)

/* ---- daemon ---------------------------------------------------------------------------- */

static void daemon_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_daemon *d = obj;
    if (!pb_cfg_has(s, "state_dir")) {
        /* systemd's StateDirectory= may list several directories: the first is ours. */
        const char *env = getenv("STATE_DIRECTORY");
        if (env && *env) {
            char first[PATH_MAX];
            snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ":"), env);
            d->state_dir = pb_cfg_resolve_path(ctx, first);
        } else {
            d->state_dir = "/var/lib/pulsebot";
        }
    }
    if (!pb_cfg_has(s, "plugin_dir"))
        d->plugin_dir = PB_PLUGIN_DIR;

    char url[512];
    if (!pb_cfg_has(s, "public_url")) {
        const char *host = d->listen ? d->listen : "127.0.0.1";
        /* Listening everywhere says nothing about the name people use; loopback is the one
         * address sure to work on this host. */
        if (strcmp(host, "0.0.0.0") == 0)
            host = "127.0.0.1";
        else if (strcmp(host, "::") == 0)
            host = "::1";
        if (strchr(host, ':'))
            snprintf(url, sizeof url, "http://[%s]:%d", host, d->port);
        else
            snprintf(url, sizeof url, "http://%s:%d", host, d->port);
        d->public_url = pb_cfg_strdup(ctx, url);
    } else if (d->public_url) {
        /* Links are built as public_url + "/path": one slash, whatever was written. */
        size_t n = strlen(d->public_url);
        while (n > 0 && d->public_url[n - 1] == '/')
            n--;
        snprintf(url, sizeof url, "%.*s", (int)n, d->public_url);
        d->public_url = pb_cfg_strdup(ctx, url);
    }
}

static const struct pb_cfg_key http_keys[] = {
    {.name = "listen",
     .type = PB_CFG_STRING,
     .def = "127.0.0.1",
     .check = &pb_cfg_check_host,
     .off = OFF(pb_cfg_daemon, listen),
     .help = "Address the HTTP server listens on (web chat, webhooks, health, metrics)."},
    {.name = "port",
     .type = PB_CFG_INT,
     .def = "8080",
     .min = 0,
     .max = 65535,
     .off = OFF(pb_cfg_daemon, port),
     .help = "TCP port of the HTTP server; 0 picks a free port."},
    {.name = "max_body",
     .type = PB_CFG_SIZE,
     .def = "65536",
     .min = 1024,
     .max = 64 * 1024 * 1024,
     .off = OFF(pb_cfg_daemon, max_body),
     .help = "Largest request body accepted, in bytes."},
    {NULL},
};

static const struct pb_cfg_block http_block = {
    .path = "daemon.http",
    .intro = "The daemon's HTTP server.",
    .keys = http_keys,
};

static const struct pb_cfg_choice log_levels[] = {
    {"err", PB_LOG_ERR},   {"warning", PB_LOG_WARNING}, {"notice", PB_LOG_NOTICE},
    {"info", PB_LOG_INFO}, {"debug", PB_LOG_DEBUG},     {NULL, 0},
};

static const struct pb_cfg_key daemon_keys[] = {
    {.name = "state_dir",
     .type = PB_CFG_PATH,
     .def_doc = "`$STATE_DIRECTORY` if set, else `/var/lib/pulsebot`",
     .off = OFF(pb_cfg_daemon, state_dir),
     .help = "Directory of the database and the signing key."},
    {.name = "plugin_dir",
     .type = PB_CFG_PATH,
     .def_doc = "the installed `<libdir>/pulsebot`",
     .off = OFF(pb_cfg_daemon, plugin_dir),
     .help = "Directory of the connector modules (`<type>.so`)."},
    {.name = "log_level",
     .type = PB_CFG_ENUM,
     .def = "info",
     .choices = log_levels,
     .off = OFF(pb_cfg_daemon, log_level),
     .help = "Least important messages that are logged."},
    {.name = "http",
     .type = PB_CFG_GROUP,
     .sub = &http_block,
     .help = "The HTTP server: see `daemon.http`."},
    {.name = "public_url",
     .type = PB_CFG_STRING,
     .def_doc = "`http://<listen>:<port>`",
     .check = &pb_cfg_check_url,
     .off = OFF(pb_cfg_daemon, public_url),
     .help = "How people reach the HTTP server, for the personal links pulsebot hands out."},
    {.name = "link_ttl",
     .type = PB_CFG_DURATION,
     .def = "30d",
     .min = 1,
     .off = OFF(pb_cfg_daemon, link_ttl_ms),
     .help = "How long a personal link stays valid."},
    {NULL},
};

static const struct pb_cfg_block daemon_block = {
    .path = "daemon",
    .intro = "Settings of the daemon itself. Every key is optional.",
    .keys = daemon_keys,
    .finish = daemon_finish,
};

/* ---- connectors ------------------------------------------------------------------------ */

static void connector_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                             const char *label)
{
    struct pb_cfg_connector *c = obj;
    c->setting = s;
}

static const struct pb_cfg_key connector_keys[] = {
    {.name = "name",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_connector_name,
     .off = OFF(pb_cfg_connector, name),
     .help = "Instance name, used as the key in people's `handles` and before the colon in a "
             "team's `channel`."},
    {.name = "type",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_module,
     .off = OFF(pb_cfg_connector, type),
     .help = "Module to load: `webchat` loads `webchat.so` from `plugin_dir`."},
    {.name = "implicit_handles",
     .type = PB_CFG_BOOL,
     .def = "false",
     .off = OFF(pb_cfg_connector, implicit_handles),
     .help = "Every person's handle on this connector is their id, unless `handles` says "
             "otherwise."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_connector_block = {
    .kind = "connector",
    .path = "connectors[]",
    .label_key = "name",
    .intro = "One block per connector instance. Besides these keys, a block holds the "
             "options of its module (see the module's documentation); an option of secret "
             "type `x` is given as `x_file = \"path\"` or `x_credential = \"name\"`.",
    .keys = connector_keys,
    .elem_size = sizeof(struct pb_cfg_connector),
    .open = 1,
    .has_line = 1,
    .line_off = OFF(pb_cfg_connector, line),
    .finish = connector_finish,
};

/* ---- teams and people ------------------------------------------------------------------ */

static void team_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_team *t = obj;
    if (!t->name)
        t->name = t->id;
}

static const struct pb_cfg_key team_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, id),
     .help = "Unique id of the team."},
    {.name = "name",
     .type = PB_CFG_STRING,
     .def_doc = "the id",
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_team, name),
     .help = "Display name."},
    {.name = "parent",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, parent),
     .help = "Id of the team this one belongs to. A team includes its sub-teams in audiences "
             "and routing."},
    {.name = "manager",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, manager),
     .help = "Id of the person who manages the team."},
    {.name = "on_call",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_team, on_call),
     .help = "Id of the person on call for the team's alerts (see `routing[].mention`)."},
    {.name = "channel",
     .type = PB_CFG_CHANNEL,
     .off = OFF(pb_cfg_team, channel),
     .help = "Where the team's alerts go: `\"connector:address\"`, such as "
             "`\"web:support-leads\"`. A team without one uses its nearest parent's."},
    {NULL},
};

static const struct pb_cfg_block team_block = {
    .kind = "team",
    .path = "teams[]",
    .label_key = "id",
    .intro = "Teams form a tree through `parent`.",
    .keys = team_keys,
    .elem_size = sizeof(struct pb_cfg_team),
    .has_line = 1,
    .line_off = OFF(pb_cfg_team, line),
    .finish = team_finish,
};

static void person_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_person *p = obj;
    if (!p->name)
        p->name = p->id;
    p->away_first = 1;
    p->away_last = 0;
    if (!p->away_from && !p->away_until)
        return;
    const char *keys[2] = {"away_from", "away_until"};
    const char *texts[2] = {p->away_from, p->away_until};
    int64_t days[2];
    for (int i = 0; i < 2; i++) {
        int y, m, d;
        char end;
        if (!texts[i] || sscanf(texts[i], "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || m < 1 ||
            m > 12 || d < 1 || d > pb_tz_month_days(y, m)) {
            pb_cfg_error(ctx, texts[i] ? pb_cfg_at(s, keys[i]) : s,
                         "%s: %s: expected a date as YYYY-MM-DD (give both away_from and "
                         "away_until)",
                         label, keys[i]);
            return;
        }
        days[i] = pb_tz_days_from_civil(y, m, d);
    }
    if (days[0] > days[1]) {
        pb_cfg_error(ctx, pb_cfg_at(s, "away_until"), "%s: away_until is before away_from", label);
        return;
    }
    p->away_first = days[0];
    p->away_last = days[1];
}

static const struct pb_cfg_key person_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_person, id),
     .help = "Unique id of the person."},
    {.name = "name",
     .type = PB_CFG_STRING,
     .def_doc = "the id",
     .check = &pb_cfg_check_text,
     .off = OFF(pb_cfg_person, name),
     .help = "Full name, as shown in alerts and reports."},
    {.name = "email",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_email,
     .off = OFF(pb_cfg_person, email),
     .help = "Email address."},
    {.name = "team",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_person, team),
     .help = "Id of the person's team."},
    {.name = "timezone",
     .type = PB_CFG_STRING,
     .def_doc = "the system's time zone",
     .check = &pb_cfg_check_timezone,
     .off = OFF(pb_cfg_person, timezone),
     .help = "IANA time zone name, such as `Europe/Oslo`."},
    {.name = "locale",
     .type = PB_CFG_STRING,
     .def_doc = "`en`",
     .check = &pb_cfg_check_locale,
     .off = OFF(pb_cfg_person, locale),
     .help = "Language of the messages the person gets."},
    {.name = "away_from",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_person, away_from),
     .help = "First day (YYYY-MM-DD, in the person's time zone) of an absence: rounds on the "
             "days from here to `away_until` do not ask them, and they do not count as not "
             "answering."},
    {.name = "away_until",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_person, away_until),
     .help = "Last day of the absence, inclusive."},
    {.name = "handles",
     .type = PB_CFG_HANDLES,
     .off = OFF(pb_cfg_person, handles),
     .off_n = OFF(pb_cfg_person, n_handles),
     .help = "The person's user id on each connector: `{ web = \"alice\"; slack = \"U123\"; }`. "
             "Quote numeric ids."},
    {NULL},
};

static const struct pb_cfg_block person_block = {
    .kind = "person",
    .path = "people[]",
    .label_key = "id",
    .intro = "Everyone who may get an employee survey or an alert.",
    .keys = person_keys,
    .elem_size = sizeof(struct pb_cfg_person),
    .has_line = 1,
    .line_off = OFF(pb_cfg_person, line),
    .finish = person_finish,
};

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

static const struct pb_cfg_choice survey_kinds[] = {
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
     .choices = survey_kinds,
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

static const struct pb_cfg_block survey_block = {
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

/* ---- schedules and routing ------------------------------------------------------------- */

static const struct pb_cfg_key audience_keys[] = {
    {.name = "teams",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_audience, teams),
     .off_n = OFF(pb_cfg_audience, n_teams),
     .help = "Team ids; each includes its sub-teams."},
    {.name = "people",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_audience, people),
     .off_n = OFF(pb_cfg_audience, n_people),
     .help = "Person ids, in addition to the teams."},
    {.name = "exclude",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_audience, exclude),
     .off_n = OFF(pb_cfg_audience, n_exclude),
     .help = "Person ids left out."},
    {NULL},
};

static const struct pb_cfg_block audience_block = {
    .kind = "audience",
    .path = "schedules[].audience",
    .intro = "Who gets a scheduled survey: the people of `teams` and `people`, less `exclude`. "
             "It must name somebody.",
    .keys = audience_keys,
};

static void schedule_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    struct pb_cfg_schedule *sc = obj;
    if (!pb_cfg_has(s, "first"))
        sc->first_ms = sc->every_ms;
    if (pb_cfg_has(s, "every") == pb_cfg_has(s, "rule")) {
        pb_cfg_error(ctx, s,
                     "%s: give exactly one of `every` (an interval) and `rule` (a calendar "
                     "rule)",
                     label);
        return;
    }
    char err[256];
    if (sc->rule_text && pb_cal_parse(sc->rule_text, &sc->rule, err, sizeof err) != PB_OK)
        pb_cfg_error(ctx, pb_cfg_at(s, "rule"), "%s: rule: %s", label, err);
}

static const struct pb_cfg_key schedule_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_schedule, id),
     .help = "Unique id of the schedule; its rounds are remembered under it."},
    {.name = "survey",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_schedule, survey),
     .help = "Id of the survey sent."},
    {.name = "every",
     .type = PB_CFG_DURATION,
     .min = 1,
     .off = OFF(pb_cfg_schedule, every_ms),
     .help = "Time between rounds. Give this or `rule`."},
    {.name = "rule",
     .type = PB_CFG_STRING,
     .off = OFF(pb_cfg_schedule, rule_text),
     .help = "A calendar rule (a subset of RFC 5545 RRULE, see docs/schedules.md), such as "
             "`\"FREQ=WEEKLY;BYDAY=FR;BYHOUR=14\"`: each person is asked when it fires in their "
             "own time zone (UTC for people without one). Give this or `every`."},
    {.name = "first",
     .type = PB_CFG_DURATION,
     .def_doc = "`every`",
     .off = OFF(pb_cfg_schedule, first_ms),
     .help = "Delay of the first round after the schedule first appears."},
    {.name = "audience",
     .type = PB_CFG_GROUP,
     .required = 1,
     .sub = &audience_block,
     .off = OFF(pb_cfg_schedule, audience),
     .help = "Who gets it: see `schedules[].audience`."},
    {NULL},
};

static const struct pb_cfg_block schedule_block = {
    .kind = "schedule",
    .path = "schedules[]",
    .label_key = "id",
    .intro = "When employee surveys go out.",
    .keys = schedule_keys,
    .elem_size = sizeof(struct pb_cfg_schedule),
    .has_line = 1,
    .line_off = OFF(pb_cfg_schedule, line),
    .finish = schedule_finish,
};

static const struct pb_cfg_choice score_categories[] = {
    {"nps_detractor", PB_CATEGORY_NPS_DETRACTOR},
    {"nps_passive", PB_CATEGORY_NPS_PASSIVE},
    {"nps_promoter", PB_CATEGORY_NPS_PROMOTER},
    {"csat_dissatisfied", PB_CATEGORY_CSAT_DISSATISFIED},
    {NULL, 0},
};

static const struct pb_cfg_choice mentions[] = {
    {"none", PB_MENTION_NONE},
    {"on_call", PB_MENTION_ON_CALL},
    {"manager", PB_MENTION_MANAGER},
    {NULL, 0},
};

static void route_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    static const int ranges[][2] = {{0, 0}, {0, 6}, {7, 8}, {9, 10}, {1, 2}};
    struct pb_cfg_route *r = obj;
    if (r->category) {
        if (pb_cfg_has(s, "min_score") || pb_cfg_has(s, "max_score"))
            pb_cfg_error(ctx, pb_cfg_at(s, pb_cfg_has(s, "min_score") ? "min_score" : "max_score"),
                         "%s: give either category or min_score/max_score, not both", label);
        r->min_score = ranges[r->category][0];
        r->max_score = ranges[r->category][1];
        return;
    }
    if (!pb_cfg_has(s, "min_score"))
        r->min_score = INT_MIN;
    if (!pb_cfg_has(s, "max_score"))
        r->max_score = INT_MAX;
    if (r->min_score > r->max_score)
        pb_cfg_error(ctx, pb_cfg_at(s, "min_score"),
                     "%s: min_score (%d) is greater than max_score (%d)", label, r->min_score,
                     r->max_score);
}

static const struct pb_cfg_key route_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, id),
     .help = "Unique id of the rule."},
    {.name = "survey",
     .type = PB_CFG_STRING,
     .def_doc = "any survey",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, survey),
     .help = "Only answers to this survey."},
    {.name = "kind",
     .type = PB_CFG_ENUM,
     .def_doc = "either kind",
     .choices = survey_kinds,
     .off = OFF(pb_cfg_route, kind),
     .help = "Only answers to surveys of this kind."},
    {.name = "team",
     .type = PB_CFG_STRING,
     .def_doc = "anyone",
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, team),
     .help = "Only answers from people of this team or its sub-teams."},
    {.name = "min_score",
     .type = PB_CFG_INT,
     .def_doc = "no lower bound",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_route, min_score),
     .help = "Lowest score that matches."},
    {.name = "max_score",
     .type = PB_CFG_INT,
     .def_doc = "no upper bound",
     .min = -100,
     .max = 100,
     .off = OFF(pb_cfg_route, max_score),
     .help = "Highest score that matches."},
    {.name = "category",
     .type = PB_CFG_ENUM,
     .def_doc = "none",
     .choices = score_categories,
     .off = OFF(pb_cfg_route, category),
     .help = "A named score range instead of `min_score`/`max_score`: NPS detractor 0 to 6, "
             "passive 7 to 8, promoter 9 to 10; CSAT dissatisfied 1 to 2."},
    {.name = "words",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_route, words),
     .off_n = OFF(pb_cfg_route, n_words),
     .help = "Match only when the comment holds one of these words or phrases (whole words, "
             "any case). Such a rule is tried when the comment arrives: see `docs/alerts.md`."},
    {.name = "alert",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_route, alert_team),
     .help = "Id of the team that owns the alert; it goes to its channel or its nearest "
             "parent's."},
    {.name = "channel",
     .type = PB_CFG_CHANNEL,
     .def_doc = "the team's",
     .off = OFF(pb_cfg_route, channel),
     .help = "Where this rule's alerts go instead of the team's channel: "
             "`\"connector:address\"`."},
    {.name = "mention",
     .type = PB_CFG_ENUM,
     .def = "none",
     .choices = mentions,
     .off = OFF(pb_cfg_route, mention),
     .help = "Whom the alert is for, shown as \"For\": nobody, the team's `on_call` person or "
             "its `manager`."},
    {.name = "ack_sla",
     .type = PB_CFG_DURATION,
     .def_doc = "none",
     .min = 1,
     .off = OFF(pb_cfg_route, ack_sla_ms),
     .help = "Time to acknowledge; after it, the `alerts.escalation` levels fire."},
    {.name = "resolve_sla",
     .type = PB_CFG_DURATION,
     .def_doc = "none",
     .min = 1,
     .off = OFF(pb_cfg_route, resolve_sla_ms),
     .help = "Time to resolve, from when the alert was raised; when it runs out the channel is "
             "reminded once and the alert shows it is overdue."},
    {.name = "continue",
     .type = PB_CFG_BOOL,
     .def = "false",
     .off = OFF(pb_cfg_route, cont),
     .help = "Also try the rules after this one; otherwise the first match is the last."},
    {NULL},
};

static const struct pb_cfg_block route_block = {
    .kind = "route",
    .path = "routing[]",
    .label_key = "id",
    .intro = "Rules from a scored answer to an alert, tried in order. A rule matches scored "
             "answers only, and never an anonymous survey's.",
    .keys = route_keys,
    .elem_size = sizeof(struct pb_cfg_route),
    .has_line = 1,
    .line_off = OFF(pb_cfg_route, line),
    .finish = route_finish,
};

/* ---- alerts ---------------------------------------------------------------------------- */

static const struct pb_cfg_choice escalate_targets[] = {
    {"reminder", PB_ESCALATE_REMINDER},
    {"manager", PB_ESCALATE_MANAGER},
    {"channel", PB_ESCALATE_CHANNEL},
    {NULL, 0},
};

static const struct pb_cfg_key escalation_keys[] = {
    {.name = "to",
     .type = PB_CFG_ENUM,
     .required = 1,
     .choices = escalate_targets,
     .off = OFF(pb_cfg_escalation, to),
     .help = "`reminder`: a reminder in the alert's channel; `manager`: the owning team's "
             "manager by direct message; `channel`: the `escalation_channel`."},
    {.name = "after",
     .type = PB_CFG_DURATION,
     .def = "0",
     .off = OFF(pb_cfg_escalation, after_ms),
     .help = "When, counted from the moment the acknowledge SLA ran out."},
    {NULL},
};

static const struct pb_cfg_block escalation_block = {
    .kind = "escalation level",
    .path = "alerts.escalation[]",
    .intro = "What happens to an alert nobody acknowledged within its rule's `ack_sla`, level "
             "by level, each once.",
    .keys = escalation_keys,
    .elem_size = sizeof(struct pb_cfg_escalation),
    .has_line = 1,
    .line_off = OFF(pb_cfg_escalation, line),
};

#define PB_ALERTS_MAX_REASONS  20
#define PB_ALERTS_MAX_REASSIGN 20

static void alerts_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_alerts *a = obj;
    /* Each reason and target is a button whose token carries its index in five bits. */
    if (a->n_reasons > PB_ALERTS_MAX_REASONS)
        pb_cfg_error(ctx, pb_cfg_at(s, "reasons"), "%s: at most %d reasons, got %zu", label,
                     PB_ALERTS_MAX_REASONS, a->n_reasons);
    if (a->n_reassign > PB_ALERTS_MAX_REASSIGN)
        pb_cfg_error(ctx, pb_cfg_at(s, "reassign"), "%s: at most %d reassign teams, got %zu", label,
                     PB_ALERTS_MAX_REASSIGN, a->n_reassign);
    config_setting_t *levels = s ? config_setting_get_member(s, "escalation") : NULL;
    for (size_t i = 1; i < a->n_escalation; i++)
        if (a->escalation[i].after_ms < a->escalation[i - 1].after_ms)
            pb_cfg_error(ctx, pb_cfg_at(config_setting_get_elem(levels, (unsigned)i), "after"),
                         "%s: escalation level #%zu comes before level #%zu; list them in "
                         "order of `after`",
                         label, i + 1, i);
}

static const struct pb_cfg_key alerts_keys[] = {
    {.name = "reasons",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_alerts, reasons),
     .off_n = OFF(pb_cfg_alerts, n_reasons),
     .help = "Reason codes to resolve with (at most 20), offered as buttons once Resolve is "
             "pressed; none: Resolve resolves at once."},
    {.name = "reassign",
     .type = PB_CFG_STRINGS,
     .off = OFF(pb_cfg_alerts, reassign),
     .off_n = OFF(pb_cfg_alerts, n_reassign),
     .help = "Ids of the teams an alert can be handed to (at most 20), each a button."},
    {.name = "group_window",
     .type = PB_CFG_DURATION,
     .def_doc = "none",
     .off = OFF(pb_cfg_alerts, group_window_ms),
     .help = "Low scores of one rule from the same team within this time of an unresolved "
             "alert join it instead of raising another."},
    {.name = "escalation_channel",
     .type = PB_CFG_CHANNEL,
     .def_doc = "none",
     .off = OFF(pb_cfg_alerts, escalation_channel),
     .help = "Where the `channel` escalation level posts: `\"connector:address\"`."},
    {.name = "escalation",
     .type = PB_CFG_LIST,
     .sub = &escalation_block,
     .off = OFF(pb_cfg_alerts, escalation),
     .off_n = OFF(pb_cfg_alerts, n_escalation),
     .help = "The escalation levels: see `alerts.escalation[]`."},
    {NULL},
};

static const struct pb_cfg_block alerts_block = {
    .path = "alerts",
    .intro = "What people can do with alerts, and what happens when nobody does. Every key is "
             "optional. See `docs/alerts.md`.",
    .keys = alerts_keys,
    .finish = alerts_finish,
};

/* ---- customer check-ins ---------------------------------------------------------------- */

#define FIELD(key, member, what)                                                                   \
    {                                                                                              \
        .name = key, .type = PB_CFG_STRING, .off = OFF(pb_cfg_checkin_fields, member),             \
        .help = what " A JSON pointer such as `\"/ticket/id\"`, or a literal value."               \
    }

static const struct pb_cfg_key fields_keys[] = {
    FIELD("id", id, "The interaction's id in the help desk; required for webhooks."),
    FIELD("customer_id", customer_id, "The customer's id in the help desk; required for webhooks."),
    FIELD("customer_name", customer_name, "The customer's name."),
    FIELD("customer_email", customer_email, "The customer's email: opt-outs follow it."),
    FIELD("customer_locale", customer_locale, "The customer's language, such as `de`."),
    FIELD("customer_timezone", customer_timezone, "The customer's IANA time zone (kept)."),
    FIELD("connector", connector, "The connector that reaches the customer in chat."),
    FIELD("user", user, "The customer's user id on that connector."),
    FIELD("team", team, "The team that handled the interaction: routing uses it."),
    FIELD("agent", agent, "Who handled it."),
    FIELD("channel", channel, "Where it happened (email, chat, phone)."),
    FIELD("touchpoint", touchpoint, "What kind of interaction: support, delivery, onboarding."),
    FIELD("closed_at", closed_at,
          "When it closed: RFC 3339 text or Unix seconds; default the time it arrived."),
    {.name = "tags",
     .type = PB_CFG_HANDLES,
     .off = OFF(pb_cfg_checkin_fields, tags),
     .off_n = OFF(pb_cfg_checkin_fields, n_tags),
     .help = "Tags by name: `{ tier = \"/account/plan\"; }`, each a JSON pointer or a literal."},
    {NULL},
};

#undef FIELD

static const struct pb_cfg_block fields_block = {
    .path = "checkins.sources[].fields",
    .intro = "Where a source's webhook body holds each field of the interaction. A value that "
             "starts with `/` is a JSON pointer into the body (RFC 6901); any other value is "
             "used as it is. A pointer that finds nothing leaves the field empty.",
    .keys = fields_keys,
};

static const struct pb_cfg_key source_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkin_source, id),
     .help = "Unique id of the source: its webhook is `POST /v1/interactions/<id>`."},
    {.name = "connector",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_connector_name,
     .off = OFF(pb_cfg_checkin_source, connector),
     .help = "Interactions that this connector reports closed in chat come from this source "
             "(the customer is the person the connector names); without a source for it, "
             "they are refused."},
    {.name = "fields",
     .type = PB_CFG_GROUP,
     .sub = &fields_block,
     .off = OFF(pb_cfg_checkin_source, fields),
     .help = "Where each field is: see `checkins.sources[].fields`. For a connector's "
             "interactions only the literal values apply (such as `team`)."},
    {NULL},
};

static const struct pb_cfg_block source_block = {
    .kind = "source",
    .path = "checkins.sources[]",
    .label_key = "id",
    .intro = "Help desks that post their own webhook bodies, and connectors that report closed "
             "interactions in chat.",
    .keys = source_keys,
    .elem_size = sizeof(struct pb_cfg_checkin_source),
    .has_line = 1,
    .line_off = OFF(pb_cfg_checkin_source, line),
};

static const struct pb_cfg_key policy_keys[] = {
    {.name = "survey",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkin_policy, survey),
     .help = "Id of the survey asked, of kind `customer`. Its `window` is the check-in's "
             "expiry, its `thanks` the thank-you, its branches the follow-up after a low score."},
    {.name = "delay",
     .type = PB_CFG_DURATION,
     .def = "15m",
     .off = OFF(pb_cfg_checkin_policy, delay_ms),
     .help = "How long after the interaction closed the customer is asked."},
    {.name = "sample",
     .type = PB_CFG_INT,
     .def = "100",
     .min = 0,
     .max = 100,
     .off = OFF(pb_cfg_checkin_policy, sample),
     .help = "Percent of the interactions asked; which ones follows from the interaction id, "
             "so a retry or a replay decides the same."},
    {.name = "touchpoints",
     .type = PB_CFG_STRINGS,
     .def_doc = "any",
     .off = OFF(pb_cfg_checkin_policy, touchpoints),
     .off_n = OFF(pb_cfg_checkin_policy, n_touchpoints),
     .help = "Only interactions of one of these touchpoints."},
    {.name = "teams",
     .type = PB_CFG_STRINGS,
     .def_doc = "any",
     .off = OFF(pb_cfg_checkin_policy, teams),
     .off_n = OFF(pb_cfg_checkin_policy, n_teams),
     .help = "Only interactions handled by one of these teams or their sub-teams."},
    {.name = "tags",
     .type = PB_CFG_STRINGS,
     .def_doc = "any",
     .off = OFF(pb_cfg_checkin_policy, tags),
     .off_n = OFF(pb_cfg_checkin_policy, n_tags),
     .help = "Only interactions with all of these tags: `\"vip\"` (present) or "
             "`\"tier=gold\"` (that value)."},
    {NULL},
};

static const struct pb_cfg_block policy_block = {
    .kind = "check-in policy",
    .path = "checkins.policies[]",
    .intro = "Which closed interactions get which customer survey. The first policy whose "
             "filters match an interaction decides; an interaction gets at most one check-in.",
    .keys = policy_keys,
    .elem_size = sizeof(struct pb_cfg_checkin_policy),
    .has_line = 1,
    .line_off = OFF(pb_cfg_checkin_policy, line),
};

static void checkins_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    struct pb_cfg_checkins *c = obj;
    if (c->secret_file && c->secret_credential)
        pb_cfg_error(ctx, pb_cfg_at(s, "secret_credential"),
                     "checkins: give secret_file or secret_credential, not both");
    if (c->token_file && c->token_credential)
        pb_cfg_error(ctx, pb_cfg_at(s, "token_credential"),
                     "checkins: give token_file or token_credential, not both");
}

static const struct pb_cfg_key checkins_keys[] = {
    {.name = "secret_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_checkins, secret_file),
     .help = "File holding the secret of webhook signatures (`X-Pulsebot-Signature: "
             "t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`)."},
    {.name = "secret_credential",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkins, secret_credential),
     .help = "The same secret as a systemd credential (`LoadCredential=`)."},
    {.name = "token_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_checkins, token_file),
     .help = "File holding a bearer token webhooks may send instead "
             "(`Authorization: Bearer <token>`)."},
    {.name = "token_credential",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkins, token_credential),
     .help = "The same token as a systemd credential."},
    {.name = "max_age",
     .type = PB_CFG_DURATION,
     .def = "5m",
     .min = 1000,
     .off = OFF(pb_cfg_checkins, max_age_ms),
     .help = "A signature older (or further ahead) than this is refused; a signature seen "
             "within it is refused as a replay."},
    {.name = "contact_cap",
     .type = PB_CFG_DURATION,
     .def = "7d",
     .off = OFF(pb_cfg_checkins, contact_cap_ms),
     .help = "At most one check-in per customer in this time, across all check-in surveys, "
             "counted from when one was sent; never a second while one is open."},
    {.name = "max_depth",
     .type = PB_CFG_INT,
     .def = "32",
     .min = 2,
     .max = 256,
     .off = OFF(pb_cfg_checkins, max_depth),
     .help = "Deepest nesting of objects and arrays a webhook body may have."},
    {.name = "stop_words",
     .type = PB_CFG_STRINGS,
     .def_doc = "the built-in ones",
     .off = OFF(pb_cfg_checkins, stop_words),
     .off_n = OFF(pb_cfg_checkins, n_stop_words),
     .help = "Replies that opt a customer out, besides the built-in `stop`, `unsubscribe`, "
             "`stopp`, `arrête`, `arrêter`, `alto`, `basta`, `parar`."},
    {.name = "sources",
     .type = PB_CFG_LIST,
     .sub = &source_block,
     .off = OFF(pb_cfg_checkins, sources),
     .off_n = OFF(pb_cfg_checkins, n_sources),
     .help = "See `checkins.sources[]`."},
    {.name = "policies",
     .type = PB_CFG_LIST,
     .sub = &policy_block,
     .off = OFF(pb_cfg_checkins, policies),
     .off_n = OFF(pb_cfg_checkins, n_policies),
     .help = "See `checkins.policies[]`."},
    {NULL},
};

static const struct pb_cfg_block checkins_block = {
    .path = "checkins",
    .intro = "Customer check-ins after a closed interaction: `POST /v1/interactions`, its "
             "authentication, and the policies. See `docs/checkins.md`.",
    .keys = checkins_keys,
    .finish = checkins_finish,
};

/* ---- the file -------------------------------------------------------------------------- */

static const struct pb_cfg_key root_keys[] = {
    {.name = "daemon",
     .type = PB_CFG_GROUP,
     .sub = &daemon_block,
     .off = OFF(pb_config, daemon),
     .help = "The daemon: see `daemon`."},
    {.name = "connectors",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_connector_block,
     .off = OFF(pb_config, connectors),
     .off_n = OFF(pb_config, n_connectors),
     .help = "Chat platforms: see `connectors[]`."},
    {.name = "teams",
     .type = PB_CFG_LIST,
     .sub = &team_block,
     .off = OFF(pb_config, teams),
     .off_n = OFF(pb_config, n_teams),
     .help = "See `teams[]`."},
    {.name = "people",
     .type = PB_CFG_LIST,
     .sub = &person_block,
     .off = OFF(pb_config, people),
     .off_n = OFF(pb_config, n_people),
     .help = "See `people[]`."},
    {.name = "surveys",
     .type = PB_CFG_LIST,
     .sub = &survey_block,
     .off = OFF(pb_config, surveys),
     .off_n = OFF(pb_config, n_surveys),
     .help = "See `surveys[]`."},
    {.name = "schedules",
     .type = PB_CFG_LIST,
     .sub = &schedule_block,
     .off = OFF(pb_config, schedules),
     .off_n = OFF(pb_config, n_schedules),
     .help = "See `schedules[]`."},
    {.name = "routing",
     .type = PB_CFG_LIST,
     .sub = &route_block,
     .off = OFF(pb_config, routes),
     .off_n = OFF(pb_config, n_routes),
     .help = "See `routing[]`."},
    {.name = "alerts",
     .type = PB_CFG_GROUP,
     .sub = &alerts_block,
     .off = OFF(pb_config, alerts),
     .help = "See `alerts`."},
    {.name = "checkins",
     .type = PB_CFG_GROUP,
     .sub = &checkins_block,
     .off = OFF(pb_config, checkins),
     .help = "See `checkins`."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_root = {
    .path = "",
    .intro = "The file holds these top-level settings, all optional.",
    .keys = root_keys,
};

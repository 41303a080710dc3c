/*
 * The configuration: a libconfig file read into typed, validated structures. Every problem is
 * reported as "file:line: message" and loading goes on to find the rest, so one run of
 * `pulsebotd --check-config` lists them all. Unknown keys are errors. A connector's own block
 * is checked against the option table its module declares (pb_config_check_connector).
 *
 * Strings in these structures are owned by the pb_config and live as long as it does.
 */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "calendar.h"
#include "pulsebot/plugin.h"

/* A list of "file:line: message" lines. */
struct pb_diag {
    char **lines;
    size_t n, cap;
};
void pb_diag_add(struct pb_diag *d, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pb_diag_free(struct pb_diag *d);

/* "30s", "15m", "2h", "7d", "2w", or a bare number of seconds; -1 when malformed. */
int64_t pb_duration_parse_ms(const char *text);

struct pb_cfg_daemon {
    const char *state_dir;  /* database and signing key; default "/var/lib/pulsebot" or
                               $STATE_DIRECTORY */
    const char *plugin_dir; /* connector modules; default the install's lib dir */
    int log_level;          /* PB_LOG_*; default info */
    const char *listen;     /* HTTP server address; default "127.0.0.1" */
    int port;               /* default 8080; 0 picks a free port */
    size_t max_body;        /* default 65536 */
    const char *public_url; /* how people reach the server, for personal links */
    int64_t link_ttl_ms;    /* how long a personal link stays valid; default 30 days */
};

struct pb_cfg_connector {
    const char *name;     /* instance name, used in handles and channels */
    const char *type;     /* module name: "webchat" loads webchat.so */
    int implicit_handles; /* every person's handle here is their id */
    int line;
    void *setting; /* libconfig's config_setting_t of the block, for the module's options */
};

struct pb_cfg_channel {
    const char *connector; /* a connector's name */
    const char *address;   /* the channel on that platform */
};

struct pb_cfg_team {
    const char *id;
    const char *name;
    const char *parent;            /* or NULL */
    const char *manager;           /* a person id, or NULL */
    const char *on_call;           /* a person id, or NULL */
    struct pb_cfg_channel channel; /* connector NULL when the team has no channel */
    int line;
    const char *calendar; /* a calendar id, or NULL: the parent's (schedule.h) */
};

struct pb_cfg_handle {
    const char *connector;
    const char *user;
};

struct pb_cfg_person {
    const char *id;
    const char *name;
    const char *email;    /* or NULL */
    const char *team;     /* or NULL */
    const char *timezone; /* IANA name, or NULL */
    const char *locale;   /* or NULL: "en" */
    struct pb_cfg_handle *handles;
    size_t n_handles;
    const char *away_from, *away_until; /* dates, inclusive; NULL when not away */
    int64_t away_first, away_last;      /* the same as days since 1970-01-01; first > last: never */
    int line;
    const char *manager; /* the person's manager (a person id), or NULL; from the roster CSV */
    int csv_line;        /* the line of the roster CSV it came from; 0: the configuration file */
};

enum pb_question_type {
    PB_QUESTION_SCALE = 1,  /* a score from min to max (also nps, enps, csat, ces, emoji) */
    PB_QUESTION_TEXT = 2,   /* a free-text reply */
    PB_QUESTION_YESNO = 3,  /* stored as score 1 and "yes", or score 0 and "no" */
    PB_QUESTION_CHOICE = 4, /* one of `options`: the option's index as score, its text as text */
};

/* Which standard scale a SCALE question is: its range, its end labels and, for emoji, its
 * button faces come from it unless the file gives them. */
enum pb_scale_preset {
    PB_SCALE_CUSTOM = 0,
    PB_SCALE_NPS,   /* 0 to 10 */
    PB_SCALE_ENPS,  /* 0 to 10 */
    PB_SCALE_CSAT,  /* 1 to 5 */
    PB_SCALE_CES,   /* 1 to 7 */
    PB_SCALE_EMOJI, /* 1 to 5 shown as faces */
};

/* A text of the file in another language: `text_de = "..."` beside `text = "..."`. */
struct pb_cfg_translation {
    const char *key;    /* the key it translates, such as "text" or "options" */
    const char *locale; /* as written after the '_': "de", "de-CH" */
    const char *text;   /* a string key's translation */
    const char **list;  /* a list key's translation, as long as the key's own list */
    size_t n_list;
};

struct pb_cfg_translations {
    struct pb_cfg_translation *v;
    size_t n;
};

/* After an answer: if the score is within [min, max], go to `next` (NULL: the end). A choice
 * branch (`choice = "..."`) and a yes/no branch (`answer = "yes"`) are read into the same
 * range: the option's index, or 1 for yes and 0 for no. */
struct pb_cfg_branch {
    int min, max;
    const char *choice; /* CHOICE: the option, as in `options` */
    const char *answer; /* YESNO: "yes" or "no" */
    const char *next;
};

struct pb_cfg_question {
    const char *id;
    enum pb_question_type type;
    int preset; /* enum pb_scale_preset, for SCALE */
    const char *text;
    int min, max;          /* SCALE: inclusive range; default 1..5 */
    const char *low_label; /* SCALE: optional */
    const char *high_label;
    const char **labels; /* SCALE: one button label per point, or NULL: the numbers */
    size_t n_labels;
    const char **options; /* CHOICE: the options, in button order */
    size_t n_options;
    size_t max_length; /* TEXT: longest reply kept, in bytes; default 2000 */
    struct pb_cfg_branch *branches;
    size_t n_branches;
    const char *next; /* where to go when no branch matches; NULL: the end */
    struct pb_cfg_translations tr;
    int line;
};

enum pb_survey_kind { PB_SURVEY_EMPLOYEE = 1, PB_SURVEY_CUSTOMER = 2 };

struct pb_cfg_survey {
    const char *id;
    enum pb_survey_kind kind;
    const char *title; /* optional: shown above the first question */
    int anonymous;
    int64_t window_ms;           /* how long a delivery stays answerable; default 3 days */
    const char **reminder_texts; /* durations after the question, as written */
    size_t n_reminders;
    int64_t reminders_ms[8]; /* parsed, ascending, each inside the window */
    const char *thanks;
    int thanks_default; /* thanks not given: the built-in words in the person's language */
    struct pb_cfg_question *questions; /* the first is where a delivery starts */
    size_t n_questions;
    const char **bank; /* question ids: each round starts at the next of them (or NULL) */
    size_t n_bank;
    const char *default_locale; /* the language tried after the person's; default "en" */
    struct pb_cfg_translations tr;
    int line;
};

struct pb_cfg_audience {
    const char **teams; /* each includes its sub-teams */
    size_t n_teams;
    const char **people;
    size_t n_people;
    const char **exclude; /* people left out */
    size_t n_exclude;
};

struct pb_cfg_schedule {
    const char *id;
    const char *survey;
    int64_t every_ms; /* interval between rounds (when there is no rule) */
    int64_t first_ms; /* delay of the first round after the schedule is new; default every_ms */
    const char *rule_text;   /* a calendar rule, evaluated in each person's time zone, or NULL */
    struct pb_cal_rule rule; /* parsed, when rule_text is set */
    struct pb_cfg_audience audience;
    int line;
    const char *calendar; /* a calendar id whose times apply on top of each person's, or NULL */
    int64_t spread_ms;    /* a wave's sends spread over this long; 0: all at once */
};

/* A named calendar: when people may be asked, read in each person's own time zone
 * (docs/schedules.md). */
struct pb_cfg_calendar {
    const char *id;
    const char *weekdays; /* "MO-FR", as written; NULL: every day */
    const char *hours;    /* "09:00-17:30", as written; NULL: all day */
    const char **days_off_text;
    size_t n_days_off_text;
    const char *days_off_file;     /* an iCalendar file of days off, or NULL */
    int is_default;                /* applies to people whose team names no calendar */
    struct pb_cal_allowed allowed; /* parsed; days_off owned by the config */
    int line;
};

/* Named score ranges a rule may use instead of min_score/max_score. */
enum pb_score_category {
    PB_CATEGORY_ANY = 0,
    PB_CATEGORY_NPS_DETRACTOR,     /* 0 to 6 */
    PB_CATEGORY_NPS_PASSIVE,       /* 7 to 8 */
    PB_CATEGORY_NPS_PROMOTER,      /* 9 to 10 */
    PB_CATEGORY_CSAT_DISSATISFIED, /* 1 to 2 */
};

/* Whom an alert is for, shown on it as "For: <name>". */
enum pb_mention { PB_MENTION_NONE = 0, PB_MENTION_ON_CALL = 1, PB_MENTION_MANAGER = 2 };

struct pb_cfg_route {
    const char *id;
    const char *survey;       /* or NULL: any survey */
    int kind;                 /* enum pb_survey_kind, or 0: any kind */
    const char *team;         /* or NULL: any team; otherwise that team and its sub-teams */
    int min_score, max_score; /* inclusive; a rule matches only scored answers */
    int category;             /* enum pb_score_category; sets min_score/max_score */
    const char **words;       /* any of these whole words in the comment (case-insensitive) */
    size_t n_words;
    const char *alert_team;        /* the team that owns the alert */
    struct pb_cfg_channel channel; /* connector NULL: the owning team's channel */
    int mention;                   /* enum pb_mention */
    int64_t ack_sla_ms;            /* 0: none */
    int64_t resolve_sla_ms;        /* 0: none */
    int cont;                      /* also try the rules after this one */
    int line;
    /* Closing the loop (docs/alerts.md): interaction tags, grouping, the customer, webhooks. */
    const char **tags; /* the interaction's tags, all must hold: "name" or "name=value" */
    size_t n_tags;
    int group_by;                  /* enum pb_group_by */
    const char *tell_customer;     /* said to the customer when the alert is resolved, or NULL */
    struct pb_cfg_translations tr; /* tell_customer_<locale> */
    int64_t reask_after_ms;        /* 0: the customer is not asked again */
    int recovered_score;           /* a re-ask at or above this counts as recovered */
    const char *webhook;           /* https URL every event of its alerts is posted to, or NULL */
    const char *webhook_secret_file, *webhook_secret_credential;
};

/* Which low scores join one open alert (within alerts.group_window). */
enum pb_group_by {
    PB_GROUP_BY_KIND = 0,     /* customer answers by customer, employee answers by team */
    PB_GROUP_BY_TEAM = 1,     /* the answer's team */
    PB_GROUP_BY_CUSTOMER = 2, /* the same customer (or, on an employee survey, the same person) */
    PB_GROUP_BY_NONE = 3,     /* every low score is an alert of its own */
};

enum pb_escalate_to {
    PB_ESCALATE_REMINDER = 1, /* a reminder in the alert's channel */
    PB_ESCALATE_MANAGER = 2,  /* the owning team's manager, by direct message */
    PB_ESCALATE_CHANNEL = 3,  /* the escalation channel */
};

/* One escalation level: fires `after_ms` after the acknowledge SLA ran out. */
struct pb_cfg_escalation {
    int to; /* enum pb_escalate_to */
    int64_t after_ms;
    int line;
};

struct pb_cfg_alerts {
    const char **reasons; /* resolution reason codes; none: Resolve resolves at once */
    size_t n_reasons;
    const char **reassign; /* teams an alert may be handed to */
    size_t n_reassign;
    int64_t group_window_ms;                  /* 0: every low score is its own alert */
    struct pb_cfg_channel escalation_channel; /* connector NULL when none */
    struct pb_cfg_escalation *escalation;     /* in firing order */
    size_t n_escalation;
    /* The webhook of rules that name none of their own (docs/alerts.md). */
    const char *webhook;
    const char *webhook_secret_file, *webhook_secret_credential;
};

/* ---- customer check-ins (docs/checkins.md) ---- */

/* Where each field of a closed interaction is found in a help desk's webhook body: a JSON
 * pointer (RFC 6901, starting with '/'), or any other text as a literal value. NULL: absent. */
struct pb_cfg_checkin_fields {
    const char *id, *customer_id, *customer_name, *customer_email, *customer_locale,
        *customer_timezone, *connector, *user, *team, *agent, *channel, *touchpoint, *closed_at;
    struct pb_cfg_handle *tags; /* tag name in `connector`, its pointer or literal in `user` */
    size_t n_tags;
};

struct pb_cfg_checkin_source {
    const char *id;        /* POST /v1/interactions/<id> */
    const char *connector; /* or NULL: closed interactions this connector reports in chat */
    struct pb_cfg_checkin_fields fields;
    int line;
};

/* Which closed interactions a customer survey follows, and when. */
struct pb_cfg_checkin_policy {
    const char *survey; /* a survey of kind customer */
    int64_t delay_ms;   /* after the interaction closed */
    int sample;         /* percent of interactions asked, chosen from the interaction id */
    const char **touchpoints;
    size_t n_touchpoints;
    const char **teams; /* each includes its sub-teams */
    size_t n_teams;
    const char **tags; /* "name" (present) or "name=value"; all must hold */
    size_t n_tags;
    int line;
};

struct pb_cfg_checkins {
    const char *secret_file, *secret_credential; /* HMAC-SHA256 webhook signatures */
    const char *token_file, *token_credential;   /* or a bearer token */
    int64_t max_age_ms;      /* oldest signature timestamp taken (and replay window) */
    int64_t contact_cap_ms;  /* at most one check-in per customer in this time */
    int max_depth;           /* deepest JSON nesting accepted */
    const char **stop_words; /* besides the built-in ones */
    size_t n_stop_words;
    struct pb_cfg_checkin_source *sources;
    size_t n_sources;
    struct pb_cfg_checkin_policy *policies;
    size_t n_policies;
};

/* ---- reports (docs/reports.md) ---- */

/* Anonymity thresholds of reports on anonymous surveys. */
struct pb_cfg_reports {
    int min_group;    /* smallest group whose figures are shown; at least 3, default 5 */
    int min_comments; /* smallest group whose comments are shown; >= min_group */
};

/* ---- the roster CSV (docs/roster.md) ---- */

struct pb_cfg_roster {
    const char *csv;       /* absolute path of the people CSV, or NULL */
    const char *csv_shown; /* the same as messages name it (relative to the config's path) */
};

struct pb_config {
    const char *path;
    struct pb_cfg_daemon daemon;
    struct pb_cfg_connector *connectors;
    size_t n_connectors;
    struct pb_cfg_team *teams;
    size_t n_teams;
    struct pb_cfg_person *people;
    size_t n_people;
    struct pb_cfg_survey *surveys;
    size_t n_surveys;
    struct pb_cfg_schedule *schedules;
    size_t n_schedules;
    struct pb_cfg_calendar *calendars;
    size_t n_calendars;
    struct pb_cfg_route *routes;
    size_t n_routes;
    struct pb_cfg_alerts alerts;
    struct pb_cfg_checkins checkins;
    struct pb_cfg_reports reports;
    struct pb_cfg_roster roster;
    /* Problems that did not stop loading, as "file:line: message": roster CSV rows that were
     * skipped. The daemon logs them at start and on reload; --check-config prints them. */
    struct pb_diag warnings;
    void *priv; /* libconfig state and string storage */
};

/* Reads and checks `path`. Returns 0 and a config, or -1 with every problem in `diag` (and no
 * config). Connector blocks are checked only for their core keys (name, type,
 * implicit_handles); call pb_config_check_connector for the rest once the module is known. */
int pb_config_load(const char *path, struct pb_config **out, struct pb_diag *diag);
void pb_config_free(struct pb_config *cfg);

/* Finds the option table of connector `c`'s module (for pb_config_load_with), or returns NULL
 * with a reason in `err`, reported at the block's `type`. `cfg` is still being checked: any of
 * its fields may be NULL (daemon.plugin_dir when the daemon block was wrong). */
typedef const struct pb_option *(*pb_config_options_fn)(void *arg, const struct pb_config *cfg,
                                                        const struct pb_cfg_connector *c, char *err,
                                                        size_t errlen);
/* pb_config_load that also checks every connector block against its module's options in the
 * same pass, so one run reports all problems of the file, core and connector, in line order.
 * `options` may be NULL: then it is pb_config_load. */
int pb_config_load_with(const char *path, pb_config_options_fn options, void *arg,
                        struct pb_config **out, struct pb_diag *diag);

/* Checks a connector block against a module's option table; adds to `diag`, returns the
 * number of problems. */
int pb_config_check_connector(const struct pb_config *cfg, const struct pb_cfg_connector *c,
                              const struct pb_option *options, struct pb_diag *diag);
/* Reads one option of a connector block (after it was checked). */
const char *pb_config_connector_string(const struct pb_cfg_connector *c, const char *key);
int pb_config_connector_int(const struct pb_cfg_connector *c, const char *key, long long *out);
int pb_config_connector_bool(const struct pb_cfg_connector *c, const char *key, int *out);
const char *pb_config_connector_list(const struct pb_cfg_connector *c, const char *key, size_t n);

/* Lookups by id; NULL when absent. */
const struct pb_cfg_person *pb_config_person(const struct pb_config *cfg, const char *id);
const struct pb_cfg_team *pb_config_team(const struct pb_config *cfg, const char *id);
const struct pb_cfg_survey *pb_config_survey(const struct pb_config *cfg, const char *id);
const struct pb_cfg_question *pb_config_question(const struct pb_cfg_survey *s, const char *id);
const struct pb_cfg_connector *pb_config_connector(const struct pb_config *cfg, const char *name);
const struct pb_cfg_checkin_source *pb_config_checkin_source(const struct pb_config *cfg,
                                                             const char *id);
/* The translation of `key` into exactly `locale` ('-' and '_' alike, any case), or NULL;
 * daemon/l10n.h picks a person's language with its fallbacks. */
const struct pb_cfg_translation *pb_config_translation(const struct pb_cfg_translations *tr,
                                                       const char *key, const char *locale);
/* Whether two language tags are the same tag ("de-CH", "de_ch"). */
int pb_config_same_locale(const char *a, const char *b);
const struct pb_cfg_calendar *pb_config_calendar(const struct pb_config *cfg, const char *id);
/* Whether team `id` is `ancestor` or below it. */
int pb_config_team_within(const struct pb_config *cfg, const char *id, const char *ancestor);

/* Prints every key of the file with its type, default and help, as Markdown (the generated
 * part of docs/configuration.md). */
void pb_config_reference(FILE *out);

#endif

/*
 * Reports: the one place every report and export on survey answers reads through. It gathers
 * a survey's deliveries and answers from the store, aggregates them per question for the
 * whole survey and for each team (a team's figure includes its sub-teams), and, for an
 * anonymous survey, suppresses every figure of a group smaller than the configured minimum and
 * every figure that could be worked out from shown ones by subtraction.
 *
 * What pb_report_build returns already holds no suppressed value: a suppressed cell's numbers
 * are zero and its comments absent, so no renderer, export or later caller can show what the
 * thresholds hide. The rules are in docs/reports.md.
 */
#ifndef PB_REPORT_H
#define PB_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "store.h"

struct pb_report_comment {
    const char *text;
    const char *author; /* the person's name on a survey that is not anonymous; NULL otherwise */
};

/* One question in one group. */
struct pb_report_cell {
    int shown;          /* 0: fewer than min_group answers, or hidden against subtraction */
    size_t n;           /* scored answers */
    double mean;        /* of the scores, when n > 0 */
    double nps;         /* % promoters (9-10) minus % detractors (0-6), for a 0..10 scale */
    size_t *dist;       /* counts of each score lo..hi of the question */
    int comments_shown; /* the comment threshold's `shown` */
    size_t n_comments;  /* text answers in the group (including its sub-teams) */
    /* The comments of this group that are not listed under one of its shown sub-teams, so
     * each comment is listed once, under the smallest shown group that holds it. Sorted by
     * text, so their order says nothing about who answered when. */
    struct pb_report_comment *comments;
    size_t n_listed;
};

/* Who was asked and who answered, in one group. */
struct pb_report_participation {
    int known; /* 0 per team on an anonymous survey: deliveries no longer name a person */
    int shown; /* respondents at least min_group and not hidden against subtraction */
    size_t respondents;
    size_t asked;          /* reached or on their way: respondents + open + did_not_answer */
    size_t did_not_answer; /* expired without an answer */
    size_t open;           /* still inside their window, no answer yet */
    size_t unreachable;    /* could not be delivered: not counted as asked */
};

struct pb_report_question {
    const char *id, *text;
    int scored;                /* a scale: mean, distribution */
    int lo, hi;                /* the distribution's range */
    int nps;                   /* a 0..10 scale: NPS is given */
    int categorical;           /* yes/no or a choice: the distribution, no mean */
    const char *const *labels; /* names of the scores lo.. (options, yes/no, emoji), or NULL */
    size_t n_labels;
    int has_text; /* a text question, or text answers without a score were found */
};

struct pb_report_group {
    const char *team; /* NULL: the whole survey */
    const char *name;
    int parent; /* index of the parent group; -1 for the whole survey */
    int depth;
    struct pb_report_participation part;
    struct pb_report_cell *cells; /* one per question */
};

struct pb_report {
    const char *survey, *title;
    int anonymous;
    int min_group, min_comments; /* applied when anonymous */
    struct pb_report_filter filter;
    struct pb_report_question *questions;
    size_t n_questions;
    /* groups[0] is the whole survey, then the teams depth first, in the configuration's
     * order; teams that answers name but the configuration no longer has come last. */
    struct pb_report_group *groups;
    size_t n_groups;
    void *priv;
};

/* Builds the report of f->survey (its other fields may be 0/NULL). A survey the
 * configuration does not have is treated as anonymous. Returns PB_OK, or an error with a
 * sentence in `err`. The report refers to strings of `cfg` (labels, names): free it first. */
int pb_report_build(struct pb_store *s, const struct pb_config *cfg,
                    const struct pb_report_filter *f, struct pb_report **out, char *err,
                    size_t errlen);
void pb_report_free(struct pb_report *r);

/* The suppression rule on its own, for one figure over a tree of groups: n groups, parent[i]
 * < i (parent[0] = -1, the whole), count[i] the group's count including its sub-groups.
 * Marks hidden[i] = 1 for each group with fewer than k, then hides more until no hidden
 * count can be worked out from shown ones: for every shown group, what is left after taking
 * away its largest shown sub-groups must be nobody or at least k. Returns PB_OK or
 * PB_ERR_NOMEM. */
int pb_report_suppress(size_t n, const int *parent, const size_t *count, size_t k, int *hidden);

enum pb_report_format { PB_REPORT_TEXT = 0, PB_REPORT_CSV = 1, PB_REPORT_JSON = 2 };
enum pb_report_by { PB_REPORT_BY_QUESTION = 0, PB_REPORT_BY_TEAM = 1 };

/* Writes the report: by question (the whole survey only) or by team (every group). */
int pb_report_write(const struct pb_report *r, enum pb_report_format fmt, enum pb_report_by by,
                    FILE *out);

/* ---- alert figures (issue 7), report_alerts.c ---- */

/* Alerts of one owning team ("" in `team` for all teams together). Times are medians over
 * the alerts that were acknowledged or resolved; -1 when there were none. An SLA is breached
 * when its deadline passed before the action (or before now_ms, while it is still missing). */
struct pb_report_alert_figures {
    char team[64];
    size_t raised, open, acknowledged, resolved;
    int64_t ack_median_ms, resolve_median_ms;
    size_t ack_breached, resolve_breached;
};

struct pb_report_alert_reason {
    char reason[64]; /* "" for a resolution without a reason */
    size_t count;
};

struct pb_report_alerts {
    struct pb_report_alert_figures *teams; /* [0] all teams, then each owning team by id */
    size_t n_teams;
    struct pb_report_alert_reason *reasons; /* most used first */
    size_t n_reasons;
    /* How customers fared when asked again after their alert was resolved (the loop module's
     * re-asks); has_recovery is 0 when the store cannot say. */
    int has_recovery;
    int64_t reasked, reanswered, recovered;
};

/* The figures of alerts raised in [since_ms, until_ms) (0: unbounded) on `survey` (NULL: any).
 * Alerts are grouped by the team that owns them, never by the team of the answer, so an
 * anonymous survey's small teams show nothing here either. */
int pb_report_alerts_build(struct pb_store *s, const char *survey, int64_t since_ms,
                           int64_t until_ms, int64_t now_ms, struct pb_report_alerts *out);
void pb_report_alerts_clear(struct pb_report_alerts *a);
int pb_report_alerts_write(struct pb_store *s, const struct pb_config *cfg, const char *survey,
                           int64_t since_ms, int64_t until_ms, enum pb_report_format fmt,
                           FILE *out);

#endif

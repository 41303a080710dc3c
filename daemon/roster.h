/*
 * The roster: who people are on each connector, and which channels they belong to. It reads
 * the configuration's people and teams (the configuration file's and the roster CSV's); a
 * handle lookup is a binary search over an index built once per configuration. What
 * connectors find by email (handles, time zones, locales) is learned into it.
 */
#ifndef PB_ROSTER_H
#define PB_ROSTER_H

#include <stddef.h>

#include "config.h"

struct pb_roster;

int pb_roster_build(const struct pb_config *cfg, struct pb_roster **out);
void pb_roster_free(struct pb_roster *r);

/* A handle a connector found for a person (by email) joins the roster, after the configured
 * ones: the configuration always wins. Returns PB_ERR_DONE when the person already has one. */
int pb_roster_learn(struct pb_roster *r, const char *connector, const struct pb_cfg_person *p,
                    const char *user);

/* What a connector's lookup reported about a person besides the handle. */
struct pb_roster_found {
    const char *user;     /* their id on the platform */
    const char *timezone; /* IANA name the platform reports, or NULL/"" */
    const char *locale;   /* such as "en-US", or NULL/"" */
    int unreachable;      /* deactivated or a bot: never sent to, and no handle */
};
/* pb_roster_learn with the rest of a lookup's answer: the time zone and locale fill the
 * person's when the roster has none (a zone the system does not know is ignored), and an
 * unreachable account is remembered so that a delivery can say why it did not go out. */
int pb_roster_learn_found(struct pb_roster *r, const char *connector, const struct pb_cfg_person *p,
                          const struct pb_roster_found *f);
/* The person's time zone: the roster's, else the first one a connector reported; NULL if none. */
const char *pb_roster_timezone(const struct pb_roster *r, const struct pb_cfg_person *p);
/* The person's locale, the same way; NULL if none (the caller's default applies). */
const char *pb_roster_locale(const struct pb_roster *r, const struct pb_cfg_person *p);
/* The first connector (in configuration order) that found the person deactivated or a bot,
 * or NULL. */
const char *pb_roster_unreachable_on(const struct pb_roster *r, const struct pb_cfg_person *p);

/* The person whose handle on `connector` is `user`, or NULL. */
const struct pb_cfg_person *pb_roster_by_handle(const struct pb_roster *r, const char *connector,
                                                const char *user);
/* The person's handle on `connector`, or NULL. */
const char *pb_roster_handle(const struct pb_roster *r, const struct pb_cfg_person *p,
                             const char *connector);
/* The first connector (in configuration order) where the person has a handle; NULL if none. */
const struct pb_cfg_connector *pb_roster_reach(const struct pb_roster *r,
                                               const struct pb_cfg_person *p, const char **handle);

/* The channels on `connector` that a person belongs to: those of their team and its parents,
 * and of the teams they manage. */
int pb_roster_channels(const struct pb_roster *r, const struct pb_cfg_person *p,
                       const char *connector,
                       int (*visit)(void *arg, const char *channel, const char *title), void *arg);
/* Whether a person may act on alerts of `team`: a member of it or of a team below it, or the
 * manager of it or of a team above it. */
int pb_roster_may_act(const struct pb_roster *r, const struct pb_cfg_person *p, const char *team);
/* The team whose channel receives alerts for `team`: itself or its nearest parent with a
 * channel; NULL if none has one. */
const struct pb_cfg_team *pb_roster_alert_team(const struct pb_roster *r, const char *team);

/* The audience of a schedule, each person once, in roster order. */
int pb_roster_audience(const struct pb_roster *r, const struct pb_cfg_audience *a,
                       int (*visit)(void *arg, const struct pb_cfg_person *p), void *arg);

const struct pb_config *pb_roster_config(const struct pb_roster *r);

#endif

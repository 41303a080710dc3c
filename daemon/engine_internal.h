/*
 * What the engine's parts share: engine.c (events, timing, connectors), survey.c (deliveries
 * and answers), route.c (alerts), schedule.c (rounds) and outbox.c (sending). Not for use
 * outside the engine.
 */
#ifndef PB_ENGINE_INTERNAL_H
#define PB_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "checkin.h"
#include "clock.h"
#include "config.h"
#include "engine.h"
#include "roster.h"
#include "store.h"
#include "token.h"

#define PB_MAX_CONNECTORS 16
#define PB_MAX_IN_FLIGHT  64

struct pb_in_flight {
    int64_t id;
    char connector[64];
    char target[128];
    int64_t started_ms;
};

/* A person a connector is asked to find by email; request 0 until it is asked. */
struct pb_lookup {
    uint64_t request;
    char connector[64];
    char person[64];
};

struct pb_attached {
    char name[64];
    struct pb_connector conn;
    int down; /* the connector said its link is down: hold its messages */
};

struct pb_engine {
    const struct pb_config *cfg;
    struct pb_roster *roster;
    struct pb_store *store;
    const struct pb_token_key *key;
    void (*wake)(void *arg);
    void *wake_arg;
    struct pb_attached connectors[PB_MAX_CONNECTORS];
    size_t n_connectors;
    struct pb_in_flight in_flight[PB_MAX_IN_FLIGHT];
    size_t n_in_flight;
    struct pb_lookup *lookups;
    size_t n_lookups;
    uint64_t last_request;
    /* The distinct time zones of each rule schedule's audience (by schedule index), found
     * once per configuration rather than on every turn of the loop. */
    struct pb_zone_list *zone_lists;
    int64_t hold_until;                  /* after a store failure: wait before trying again */
    int64_t lookup_retry;                /* when to ask connectors that were busy again, or 0 */
    int outbox_dirty;                    /* rows may be dispatchable now */
    int dispatching;                     /* guards against re-entry from a synchronous send_done */
    struct pb_checkin_keys checkin_keys; /* webhook secret and bearer token */
    struct pb_away_cache *away; /* away.c: absences set by chat, read from the store once */
    /* Alert webhooks (alert_webhook.c): the HTTP client and the posts in flight. */
    pb_engine_http_fn http_request;
    void *http_arg;
    size_t webhooks_in_flight;
};

/* survey.c */
/* Asks a person a survey; its window runs from `opened_ms` (0: now). */
int pb_survey_start(struct pb_engine *e, const struct pb_cfg_survey *s,
                    const struct pb_cfg_person *p, const char *schedule, int64_t round,
                    int64_t opened_ms);
int pb_survey_choice(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                     const struct pb_token *t, char *reply, size_t reply_len);
int pb_survey_text(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                   char *reply, size_t reply_len);
void pb_survey_expire_due(struct pb_engine *e, int64_t now);
/* A new wave closes the person's unfinished delivery of the survey, as expired. */
int pb_survey_supersede(struct pb_engine *e, const char *survey, const char *person);
void pb_survey_mark_sent(struct pb_engine *e, int64_t outbox_id);
/* Sends the reminders that are due to people who have not answered yet. */
void pb_survey_remind_due(struct pb_engine *e, int64_t now);
/* pb_survey_start for a recipient outside the roster (a customer): `person` is its key, and
 * the question goes to `address` on `connector`. Sets *delivery_id when not NULL. */
int pb_survey_start_to(struct pb_engine *e, const struct pb_cfg_survey *s, const char *person,
                       const char *connector, const char *address, const char *schedule,
                       int64_t round, int64_t opened_ms, int64_t *delivery_id);
/* Ends an unfinished delivery as expired, its pending question closed with `note`. */
int pb_survey_withdraw(struct pb_engine *e, struct pb_delivery *d, const char *note);

/* checkin.c: closed interactions to customer deliveries */
/* Takes one closed interaction: keeps it, decides by the policies and schedules the check-in,
 * committed (with the webhook signature `sig`, when given, as seen until sig_expires_ms)
 * before it returns. `outcome` gets "scheduled" or "skipped: <why>". PB_ERR_DONE: the
 * interaction was known already, and `outcome` is what was decided then; PB_ERR_FORGED: the
 * signature was used before. */
int pb_checkin_intake(struct pb_engine *e, struct pb_interaction *in, const char *sig,
                      int64_t sig_expires_ms, char *outcome, size_t outcome_len);
int64_t pb_checkin_next_due(struct pb_engine *e);
void pb_checkin_run_due(struct pb_engine *e, int64_t now);
/* PB_EVENT_INTERACTION_CLOSED from a connector. */
int pb_checkin_closed_event(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                            char *reply, size_t reply_len);
/* A text from someone not on the roster: a customer's answer or their "stop". */
int pb_checkin_text(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    char *reply, size_t reply_len);
/* The team that handled the interaction a customer delivery follows, "" when none. */
void pb_checkin_team_of(struct pb_engine *e, int64_t delivery_id, char *team, size_t len);

/* route.c: rules from an answer to alerts; pb_route_answer runs inside the answer's
 * transaction. */
int pb_route_answer(struct pb_engine *e, const struct pb_delivery *d, const struct pb_cfg_survey *s,
                    const struct pb_cfg_question *q, const struct pb_answer *a);
/* Whether rule `r` matches answer `a` (scored) to survey `s`, with `comment` (NULL: not
 * known yet, and then a rule that needs words does not match) and `tags`, the JSON object of
 * the interaction a customer's answer follows (NULL: none, and then a rule with tags does not
 * match). */
int pb_route_rule_matches(const struct pb_config *cfg, const struct pb_cfg_route *r,
                          const struct pb_cfg_survey *s, const struct pb_answer *a,
                          const char *comment, const char *tags);
/* Whether the tags (a JSON object of strings, or NULL) hold every one of `want`. */
int pb_route_tags_hold(const char *tags, const char *const *want, size_t n_want);
/* Whether the tags (a JSON object of strings) hold `want`: "name" present, or "name=value"
 * where the value is the tag's or one of its comma-separated parts (a help desk's tag list).
 * Routing rules and check-in policies both read tags with it, so they agree on a tag. */
int pb_route_tag_holds(const cJSON *tags, const char *want);
/* The key whose low scores join one alert under rule `r` ("" for none): see docs/alerts.md. */
void pb_route_group_key(const struct pb_cfg_route *r, const struct pb_cfg_survey *s,
                        const struct pb_delivery *d, const struct pb_answer *a, char *out,
                        size_t len);
/* Whether `text` holds one of `words` as whole words, ignoring ASCII case. */
int pb_route_words_match(const char *text, const char *const *words, size_t n_words);
/* The rules that fire for a scored answer, as indices into cfg->routes in order: the first
 * match, and the ones after it while each says `continue`. None for an anonymous survey. */
size_t pb_route_select(const struct pb_config *cfg, const struct pb_cfg_survey *s,
                       const struct pb_answer *a, const char *comment, const char *tags,
                       size_t *out, size_t max);
/* The person a mention names for a team (its own, else its nearest parent's), or NULL. */
const char *pb_route_mention(const struct pb_config *cfg, const char *team, int mention);

/* alert_action.c: people acting on an alert, and moving an alert between teams */
int pb_route_action(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_token *t, char *reply, size_t reply_len);
/* Adds a line to the alert's history (inside the caller's transaction). */
int pb_alert_event(struct pb_engine *e, int64_t alert_id, const char *kind, const char *actor,
                   int64_t at_ms, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Queues the update that shows the alert's row as it now is on its message. */
int pb_alert_refresh(struct pb_engine *e, const struct pb_alert *al);
/* Moves an unresolved alert to `team`'s channel (or `channel` when given) under `rule`: posts
 * it there, marks the old message as moved (`why` says why), restarts the acknowledge SLA and
 * records it. Inside the caller's transaction; `al` is updated. */
int pb_alert_move(struct pb_engine *e, struct pb_alert *al, const struct pb_cfg_team *team,
                  const struct pb_cfg_channel *channel, const struct pb_cfg_route *rule,
                  const char *actor, int64_t now, const char *kind, const char *why);

/* alert_view.c: the alert's message */
#define PB_ALERT_OP_SIMPLE       0 /* arg: PB_ALERT_ACKNOWLEDGE, _RESOLVE or _BACK */
#define PB_ALERT_OP_RESOLVE_WITH 1 /* arg: index of the reason */
#define PB_ALERT_OP_REASSIGN     2 /* arg: index of the team in alerts.reassign */
#define PB_ALERT_ACKNOWLEDGE     1
#define PB_ALERT_RESOLVE         2
#define PB_ALERT_BACK            3
#define PB_ALERT_TOKEN(op, arg)  (((op) << 5) | ((arg)&0x1f))
#define PB_ALERT_MAX_BUTTONS     24

struct pb_alert_view {
    struct pb_message m;
    struct pb_field fields[12];
    struct pb_button buttons[PB_ALERT_MAX_BUTTONS];
    char tokens[PB_ALERT_MAX_BUTTONS][PB_TOKEN_MAX];
    char labels[PB_ALERT_MAX_BUTTONS][96];
    char title[96], score[48], from[200], note[512], group[160], ack_by[32], resolve_by[32];
    char reason[96];
};

int pb_alert_render(const struct pb_engine *e, const struct pb_alert *al, struct pb_alert_view *v);
void pb_alert_format_time(int64_t ms, char *out, size_t len);
void pb_alert_format_duration(int64_t ms, char *out, size_t len);
const char *pb_alert_person_name(const struct pb_engine *e, const char *id);
const char *pb_alert_team_name(const struct pb_engine *e, const char *id);

/* alert_loop.c: closing the loop with the customer */
/* An alert was resolved (inside the resolving transaction): tells each customer it stands for,
 * when its rule says so, and schedules their re-ask. */
int pb_alert_loop_resolved(struct pb_engine *e, const struct pb_alert *al, int64_t now);

/* alert_webhook.c: alert events posted to a rule's webhook through a durable queue */
/* Queues the event `ev` of its alert for the alert's webhook, if it has one (inside the
 * caller's transaction). */
int pb_alert_webhook_queue(struct pb_engine *e, const struct pb_alert_event *ev);
int64_t pb_alert_webhook_next_due(struct pb_engine *e);
void pb_alert_webhook_run_due(struct pb_engine *e, int64_t now);

/* escalation.c: the durable SLA timers */
/* Sets an alert's deadlines and first escalation for an SLA that starts at `from_ms`. */
void pb_escalation_arm(const struct pb_config *cfg, struct pb_alert *al, int64_t from_ms);
int64_t pb_escalation_next_due(struct pb_engine *e);
void pb_escalation_run_due(struct pb_engine *e, int64_t now);

/* schedule.c */
void pb_schedule_run_due(struct pb_engine *e, int64_t now);
int64_t pb_schedule_next_due(struct pb_engine *e);

/* outbox.c */
int pb_outbox_queue(struct pb_engine *e, const char *connector, enum pb_target_kind kind,
                    const char *target, const struct pb_message *m, int64_t *id_out);
int pb_outbox_queue_update(struct pb_engine *e, int64_t send_id, const struct pb_message *m);
/* Queues a message as a reply in the thread of the message that `thread_send_id` sent. */
int pb_outbox_queue_reply(struct pb_engine *e, int64_t thread_send_id, const struct pb_message *m);
void pb_outbox_dispatch(struct pb_engine *e, int64_t now);
int64_t pb_outbox_next_due(struct pb_engine *e, int64_t now);
void pb_outbox_done(struct pb_engine *e, const char *connector, uint64_t id,
                    const struct pb_send_result *res);

/* schedule.c: each schedule's audience grouped by zone (schedule.h), once per configuration */
struct pb_zone_list;
void pb_schedule_forget_zones(struct pb_engine *e);

/* away.c: absences, from the roster's dates and from people's "away"/"back" commands */
/* Whether the person is away on the day `at` falls on in their time zone. */
int pb_away_on(struct pb_engine *e, const struct pb_cfg_person *p, int64_t at);
/* A text from a person on the roster that is exactly an away or back command: handled,
 * committed with its confirmation, *handled set and the event's return code returned.
 * Anything else: *handled 0 and PB_OK, and the text is an answer. */
int pb_away_command(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_cfg_person *p, char *reply, size_t reply_len, int *handled);
void pb_away_free(struct pb_engine *e);

/* unreachable.c: deliveries that cannot reach their person */
/* Records that survey `s` could not reach `person` (no handle, an unreachable account): a
 * finished delivery in state UNREACHABLE with `reason`, inside the caller's transaction. */
int pb_unreachable_record(struct pb_engine *e, const struct pb_cfg_survey *s, const char *person,
                          const char *schedule, int64_t round, const char *reason);
/* The platform refused outbox row `outbox_id` for good: a delivery whose first question it
 * carried ends UNREACHABLE with the platform's reason. */
void pb_unreachable_refused(struct pb_engine *e, int64_t outbox_id, const char *connector,
                            const char *reason);

/* handles.c */
void pb_handles_discover(struct pb_engine *e, struct pb_attached *a);
void pb_handles_pump(struct pb_engine *e);

/* engine.c */
struct pb_attached *pb_engine_attached(struct pb_engine *e, const char *name);
void pb_engine_wake(struct pb_engine *e);
/* The store failed: hold scheduled work back a few seconds instead of retrying at once. */
void pb_engine_hold(struct pb_engine *e);
void pb_copy(char *dst, size_t size, const char *src); /* truncating, NUL-terminated */

#endif

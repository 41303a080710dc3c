/*
 * The store: everything pulsebot must not forget, in SQLite (WAL mode), behind an interface of
 * domain operations so that no other module speaks SQL and a second backend could replace this
 * one. The schema is versioned; migrations run at open, each in its own transaction.
 *
 * Durability rules the callers rely on:
 * - Every function that changes state commits before it returns, unless the caller opened a
 *   transaction with pb_store_begin, in which case pb_store_commit makes all of it durable at
 *   once (synchronous=FULL in WAL mode: a committed transaction survives kill -9 and power
 *   loss).
 * - State transitions are compare-and-set: they name the state they expect and return
 *   PB_ERR_DONE when the row is not in it, so a replayed click cannot act twice.
 *
 * Return values: PB_OK, PB_ERR_UNKNOWN (no such row), PB_ERR_DONE (already so), PB_ERR_STORE.
 * Also PB_ERR_INVALID for a caller's mistake (a NULL argument, a value the schema refuses,
 * no transition to OPEN) and PB_ERR_NOMEM. An insert that names a row that does not exist
 * (an answer for an unknown delivery) returns PB_ERR_UNKNOWN.
 *
 * Conventions: an insert fills in created_ms with pb_now_ms() when it is 0. A get or list
 * overwrites its `out` structs (clear them first if they hold malloc'd text). ":memory:" opens
 * a private in-memory database (no WAL), for tests of other modules.
 */
#ifndef PB_STORE_H
#define PB_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "pulsebot/plugin.h"

struct pb_store;

#define PB_STORE_SCHEMA_VERSION 7

int pb_store_open(const char *path, struct pb_store **out, char *err, size_t errlen);
void pb_store_close(struct pb_store *s);
int pb_store_schema_version(struct pb_store *s);

/* One transaction around several operations; they nest by counting (only the outermost
 * commits). After a failed operation inside, call pb_store_rollback. */
int pb_store_begin(struct pb_store *s);
int pb_store_commit(struct pb_store *s);
void pb_store_rollback(struct pb_store *s);

/* ---- deliveries: one survey sent to one person ---- */

enum pb_delivery_state {
    PB_DELIVERY_PENDING = 0,   /* created; its first question is in the outbox */
    PB_DELIVERY_SENT = 1,      /* the first question reached the person */
    PB_DELIVERY_ANSWERING = 2, /* at least one answer; more questions pending */
    PB_DELIVERY_COMPLETED = 3,
    PB_DELIVERY_EXPIRED = 4,     /* the window closed without a complete answer */
    PB_DELIVERY_UNREACHABLE = 5, /* schema v6: could not reach the person; `reason` says why */
};

struct pb_delivery {
    int64_t id;
    char survey[64];
    char schedule[64]; /* "" when not from a schedule */
    int64_t round;     /* the schedule's round number */
    char person[64];   /* the recipient; kept even for anonymous surveys to route messages,
                          never copied onto an anonymous answer */
    char connector[64];
    char address[128]; /* the person's handle on that connector */
    enum pb_delivery_state state;
    char step[64];          /* the question now pending, "" when none */
    int64_t step_outbox_id; /* the outbox row that carries the pending question's message */
    int64_t created_ms, sent_ms, expires_ms, finished_ms;
    int reminders_sent;
    int64_t next_reminder_ms; /* 0: no reminder left */
    char reason[256];         /* UNREACHABLE: why, as the platform or the roster said it */
};

int pb_store_delivery_insert(struct pb_store *s, struct pb_delivery *d); /* sets d->id */
int pb_store_delivery_get(struct pb_store *s, int64_t id, struct pb_delivery *out);
/* Moves a delivery from state `from` to d's state/step/step_outbox_id/sent_ms/finished_ms. */
int pb_store_delivery_update(struct pb_store *s, const struct pb_delivery *d,
                             enum pb_delivery_state from);
/* Removes who a finished delivery was for (anonymous surveys): afterwards nothing in the
 * store links its answers to a person. */
int pb_store_delivery_forget_person(struct pb_store *s, int64_t id);
/* The person's delivery on that connector that is waiting for a text answer, newest first. */
int pb_store_delivery_open_for(struct pb_store *s, const char *connector, const char *address,
                               struct pb_delivery *out);
/* The person's unfinished delivery of this survey, the newest; PB_ERR_UNKNOWN when none. */
int pb_store_delivery_open_of(struct pb_store *s, const char *survey, const char *person,
                              struct pb_delivery *out);
/* Whether the person already has an unfinished delivery of this survey: 1, 0 or an error. */
int pb_store_delivery_has_open(struct pb_store *s, const char *survey, const char *person);
/* Unfinished deliveries whose expires_ms <= now, oldest first, at most `limit`. */
int pb_store_delivery_expired(struct pb_store *s, int64_t now_ms, struct pb_delivery *out,
                              size_t limit, size_t *n_out);
/* Deliveries still without an answer whose next reminder is due (0 < next_reminder_ms <= now),
 * oldest first, at most `limit`; and the earliest such time (PB_ERR_UNKNOWN when none). */
int pb_store_delivery_reminders_due(struct pb_store *s, int64_t now_ms, struct pb_delivery *out,
                                    size_t limit, size_t *n_out);
int pb_store_delivery_next_reminder(struct pb_store *s, int64_t *ms);
/* The earliest expires_ms of an unfinished delivery; PB_ERR_UNKNOWN when none. */
int pb_store_delivery_next_expiry(struct pb_store *s, int64_t *ms);
/* The delivery whose pending question that outbox row carries (its step_outbox_id), newest
 * first; PB_ERR_UNKNOWN when none (and always for 0). */
int pb_store_delivery_by_outbox(struct pb_store *s, int64_t outbox_id, struct pb_delivery *out);

/* ---- answers ---- */

struct pb_answer {
    int64_t id;
    int64_t delivery_id;
    char survey[64];
    char question[64];
    int has_score;
    int score;
    char *text;      /* NULL or a malloc'd string (free with pb_answer_clear) */
    char person[64]; /* "" for an anonymous survey */
    char team[64];   /* the person's team when answered; kept for anonymous reports too */
    int64_t created_ms;
};

/* Returns PB_ERR_DONE if the delivery already has an answer to that question. */
int pb_store_answer_insert(struct pb_store *s, struct pb_answer *a); /* sets a->id */
int pb_store_answer_get(struct pb_store *s, int64_t delivery_id, const char *question,
                        struct pb_answer *out);
void pb_answer_clear(struct pb_answer *a);
size_t pb_store_answer_count(struct pb_store *s);

/* ---- alerts: a low score shown to the owning team ---- */

enum pb_alert_state { PB_ALERT_OPEN = 0, PB_ALERT_ACKNOWLEDGED = 1, PB_ALERT_RESOLVED = 2 };

struct pb_alert {
    int64_t id;
    int64_t delivery_id;
    int64_t answer_id;
    char rule[64];
    char team[64]; /* owning team */
    char connector[64];
    char channel[128];
    enum pb_alert_state state;
    char survey[64];
    char question[64];
    int score, scale_min, scale_max;
    char *comment;     /* NULL or malloc'd */
    char subject[128]; /* who it is about, "" when anonymous */
    int64_t outbox_id; /* the row that posted the alert message */
    int64_t created_ms;
    char ack_by[64];
    int64_t ack_ms;
    char resolved_by[64];
    int64_t resolved_ms;
    /* Schema v3: routing, SLAs, escalation, grouping, resolution. */
    char answer_team[64];        /* the team of the answer it stands for: the grouping key */
    char mention[64];            /* the person it is for (on-call or manager), "" for nobody */
    int64_t ack_sla_ms;          /* 0: no SLA to acknowledge */
    int64_t resolve_sla_ms;      /* 0: no SLA to resolve */
    int64_t ack_deadline_ms;     /* when the acknowledge SLA runs out, 0 when none */
    int esc_level;               /* escalation levels already fired */
    int64_t esc_due_ms;          /* when the next level fires (while OPEN), 0 when none is left */
    int64_t resolve_deadline_ms; /* 0 when none */
    int resolve_overdue;         /* the resolve SLA ran out and was reported */
    int group_count;             /* answers it stands for; 1 when alone (0 on insert means 1) */
    int last_score;              /* the newest grouped answer's score */
    char resolve_reason[64];
    char resolve_note[512];
    int menu; /* 1 while the message offers the resolve reasons */
    /* Schema v7: which low scores join it, "team:<id>", "customer:<key>", "person:<id>", or
     * "" when none do. */
    char group_key[160];
};

int pb_store_alert_insert(struct pb_store *s, struct pb_alert *a); /* sets a->id */
int pb_store_alert_get(struct pb_store *s, int64_t id, struct pb_alert *out);
/* The alerts a delivery's answers raised or joined (at most `limit`), oldest first. */
int pb_store_alert_for_delivery(struct pb_store *s, int64_t delivery_id, struct pb_alert *out,
                                size_t limit, size_t *n_out);
int pb_store_alert_set_comment(struct pb_store *s, int64_t id, const char *comment);
/* Records the outbox row that posts the alert's message (queued after the alert exists). */
int pb_store_alert_set_outbox(struct pb_store *s, int64_t id, int64_t outbox_id);
/* OPEN -> ACKNOWLEDGED, or OPEN/ACKNOWLEDGED -> RESOLVED (sets ack too if it was open). */
int pb_store_alert_transition(struct pb_store *s, int64_t id, enum pb_alert_state to,
                              const char *who, int64_t now_ms);
size_t pb_store_alert_count(struct pb_store *s);
void pb_alert_clear(struct pb_alert *a);

/* Why and how it was resolved; in the transaction that resolves it. */
int pb_store_alert_set_resolution(struct pb_store *s, int64_t id, const char *reason,
                                  const char *note);
/* Shows (1) or hides (0) the resolve reasons on an unresolved alert; PB_ERR_DONE if resolved. */
int pb_store_alert_set_menu(struct pb_store *s, int64_t id, int menu);
/* Moves an unresolved alert that still belongs to `from_team` to a's rule, team, connector,
 * channel, mention, outbox_id, SLAs, deadlines and escalation; hides the menu. PB_ERR_DONE
 * when it was resolved or moved meanwhile. */
int pb_store_alert_move(struct pb_store *s, const struct pb_alert *a, const char *from_team);
/* Records that escalation level `from_level` fired: compare-and-set on the level while the
 * alert is OPEN, so a level fires once; PB_ERR_DONE otherwise. */
int pb_store_alert_escalated(struct pb_store *s, int64_t id, int from_level, int64_t next_due_ms);
/* Records that the resolve SLA ran out, once; PB_ERR_DONE if already or if resolved. */
int pb_store_alert_set_overdue(struct pb_store *s, int64_t id);
/* Alerts with an escalation level or a resolve SLA due at `now_ms`, oldest first. */
int pb_store_alert_due(struct pb_store *s, int64_t now_ms, struct pb_alert *out, size_t limit,
                       size_t *n_out);
/* The earliest such due time; PB_ERR_UNKNOWN when none. */
int pb_store_alert_next_due(struct pb_store *s, int64_t *ms);
/* The newest unresolved alert of `rule` with `group_key` (not "") raised at or after
 * `since_ms`; PB_ERR_UNKNOWN when none. */
int pb_store_alert_group_find(struct pb_store *s, const char *rule, const char *group_key,
                              int64_t since_ms, struct pb_alert *out);
/* One more answer joined the alert: its count and latest score. */
int pb_store_alert_grouped(struct pb_store *s, int64_t id, int score);
/* Links a delivery's answer to an alert (its own, or one it was grouped into). */
int pb_store_alert_member_add(struct pb_store *s, int64_t alert_id, int64_t delivery_id,
                              int64_t answer_id);

/* Each change of an alert, with who and when: its history, for the record and reports. */
struct pb_alert_event {
    int64_t id;
    int64_t alert_id;
    char kind[32];  /* raised, grouped, commented, acknowledged, resolved, reassigned, rerouted,
                       escalated, overdue */
    char actor[64]; /* a person id, "" for pulsebot itself */
    int64_t at_ms;
    char detail[640];
};

int pb_store_alert_event_add(struct pb_store *s, struct pb_alert_event *ev); /* sets ev->id */
/* The events of an alert in order, at most `limit`. */
int pb_store_alert_events(struct pb_store *s, int64_t alert_id, struct pb_alert_event *out,
                          size_t limit, size_t *n_out);

/* ---- outbox: every message to send, durable until the platform confirms it ---- */

enum pb_outbox_kind { PB_OUTBOX_SEND = 0, PB_OUTBOX_UPDATE = 1 };
enum pb_outbox_state { PB_OUTBOX_PENDING = 0, PB_OUTBOX_DONE = 1, PB_OUTBOX_FAILED = 2 };

struct pb_outbox {
    int64_t id;
    char connector[64];
    int target_kind; /* enum pb_target_kind */
    char target[128];
    enum pb_outbox_kind kind;
    int64_t ref_id; /* UPDATE: the SEND row whose message this replaces */
    char *payload;  /* the message as JSON (malloc'd; pb_outbox_clear) */
    enum pb_outbox_state state;
    int attempts;
    int64_t next_attempt_ms;
    char message_ref[256]; /* DONE send: the platform's reference */
    char error[256];
    int64_t created_ms, done_ms;
};

int pb_store_outbox_add(struct pb_store *s, struct pb_outbox *o); /* sets o->id */
int pb_store_outbox_get(struct pb_store *s, int64_t id, struct pb_outbox *out);
/* Pending rows of a connector whose next_attempt_ms <= now, in id order, at most `limit`,
 * each the oldest pending row for its target: a later message to the same target is never
 * due before an earlier one is settled, so order per recipient holds across retries. */
int pb_store_outbox_due(struct pb_store *s, const char *connector, int64_t now_ms,
                        struct pb_outbox *out, size_t limit, size_t *n_out);
/* The earliest next_attempt_ms among pending rows of a connector; PB_ERR_UNKNOWN when none. */
int pb_store_outbox_next_due(struct pb_store *s, const char *connector, int64_t *ms);
/* The earliest next_attempt_ms later than now among pending rows of a connector: when to look
 * again, since rows already due but held back (a busy target) must not make the loop spin;
 * PB_ERR_UNKNOWN when none. */
int pb_store_outbox_next_after(struct pb_store *s, const char *connector, int64_t now_ms,
                               int64_t *ms);
/* Settles a row as sent, keeping its reference and dropping its content. */
int pb_store_outbox_done(struct pb_store *s, int64_t id, const char *message_ref, int64_t now_ms);
int pb_store_outbox_retry(struct pb_store *s, int64_t id, int64_t next_attempt_ms,
                          const char *error);
int pb_store_outbox_fail(struct pb_store *s, int64_t id, const char *error, int64_t now_ms);
size_t pb_store_outbox_pending(struct pb_store *s);
/* 1 when a later pending UPDATE of the same message exists (this one need not be sent). */
int pb_store_outbox_superseded(struct pb_store *s, int64_t id, int64_t ref_id);
void pb_outbox_clear(struct pb_outbox *o);

/* ---- schedules: when each schedule last ran ---- */

/* PB_ERR_UNKNOWN when the schedule never ran. */
int pb_store_schedule_get(struct pb_store *s, const char *schedule, int64_t *round,
                          int64_t *last_ms);
int pb_store_schedule_set(struct pb_store *s, const char *schedule, int64_t round, int64_t last_ms);

/* ---- handles: people that connectors found by email ---- */

enum pb_handle_state {
    PB_HANDLE_FOUND = 0,       /* user is their id on the platform */
    PB_HANDLE_NOT_FOUND = 1,   /* the platform has nobody with that email */
    PB_HANDLE_UNREACHABLE = 2, /* found, but deleted or a bot: never sent to */
};

struct pb_handle {
    char connector[64];
    char person[64];
    char user[128];
    char timezone[64]; /* as the platform reports it, "" if not */
    char locale[32];
    enum pb_handle_state state;
    int64_t checked_ms;
};

/* Inserts or replaces the handle of (connector, person). */
int pb_store_handle_put(struct pb_store *s, const struct pb_handle *h);
/* Every handle of a connector, in person order; a non-zero return of `visit` stops it. */
int pb_store_handle_scan(struct pb_store *s, const char *connector,
                         int (*visit)(void *arg, const struct pb_handle *h), void *arg);

/* ---- customer check-ins: closed interactions, the check-ins they scheduled, opt-outs ---- */

/* One closed interaction as it arrived. (source, ext_id) is unique: a help desk's retry finds
 * the row and gets the same answer. */
struct pb_interaction {
    int64_t id;
    char source[64];   /* "" for POST /v1/interactions, a source id, or "chat:<connector>" */
    char ext_id[128];  /* the help desk's id of the interaction */
    char customer[64]; /* the customer key, "customer:..." */
    char name[128], email[128], locale[32], timezone[64];
    char connector[64], user[128]; /* where the customer is reached; "" when nowhere */
    char team[64], agent[128], channel[64], touchpoint[64];
    char tags[1024]; /* a JSON object of strings */
    int64_t closed_ms, created_ms;
    char outcome[160]; /* what was decided: "scheduled" or "skipped: <why>" */
};

enum pb_checkin_state {
    PB_CHECKIN_SCHEDULED = 0, /* due at due_ms */
    PB_CHECKIN_SENT = 1,      /* its delivery was created at fired_ms */
    PB_CHECKIN_SKIPPED = 2,   /* when it fell due the customer had opted out or been asked */
};

struct pb_checkin {
    int64_t id;
    int64_t interaction_id;
    char survey[64];
    char customer[64];
    char email[128];
    char connector[64], user[128];
    char team[64]; /* the team that handled the interaction: routing uses it */
    enum pb_checkin_state state;
    int64_t due_ms, created_ms, fired_ms;
    int64_t delivery_id; /* 0 until sent */
    char note[160];      /* why it was skipped */
};

/* PB_ERR_DONE with *existing filled when (source, ext_id) is already known. */
int pb_store_interaction_insert(struct pb_store *s, struct pb_interaction *in,
                                struct pb_interaction *existing);
int pb_store_interaction_get(struct pb_store *s, int64_t id, struct pb_interaction *out);
int pb_store_interaction_set_outcome(struct pb_store *s, int64_t id, const char *outcome);

int pb_store_checkin_insert(struct pb_store *s, struct pb_checkin *c); /* sets c->id */
int pb_store_checkin_get(struct pb_store *s, int64_t id, struct pb_checkin *out);
/* Scheduled check-ins with due_ms <= now, oldest first. */
int pb_store_checkin_due(struct pb_store *s, int64_t now_ms, struct pb_checkin *out, size_t limit,
                         size_t *n_out);
/* The earliest due_ms of a scheduled check-in; PB_ERR_UNKNOWN when none. */
int pb_store_checkin_next_due(struct pb_store *s, int64_t *ms);
/* SCHEDULED -> SENT (with its delivery) or SKIPPED (with a note); PB_ERR_DONE otherwise. */
int pb_store_checkin_settle(struct pb_store *s, const struct pb_checkin *c);
/* Why the customer (known by connector and user, or by email) may not get another check-in
 * now: one scheduled (other than `except_id`), one sent at or after `since_ms`, or one whose
 * delivery is still open. 1 with `why` set, 0 when free, or an error. */
int pb_store_checkin_busy(struct pb_store *s, const char *connector, const char *user,
                          const char *email, int64_t since_ms, int64_t except_id, char *why,
                          size_t why_len);
/* The team that handled the interaction a customer delivery follows; PB_ERR_UNKNOWN when the
 * delivery is not a check-in's. */
int pb_store_checkin_team(struct pb_store *s, int64_t delivery_id, char *team, size_t len);
size_t pb_store_checkin_count(struct pb_store *s);

/* Opt-outs, kept by connector and user and by email, so that a customer who said stop on one
 * connector is not asked on another where they are known by the same email. */
int pb_store_optout_add(struct pb_store *s, const char *connector, const char *user,
                        const char *email, int64_t now_ms);
/* 1 when opted out by either key, 0 when not, or an error. */
int pb_store_optout_has(struct pb_store *s, const char *connector, const char *user,
                        const char *email);
/* The email the interactions of (connector, user) gave, newest first; "" when none. */
int pb_store_customer_email(struct pb_store *s, const char *connector, const char *user,
                            char *email, size_t len);

/* The locale the newest interaction of a customer key gave; "" when none. */
int pb_store_customer_locale(struct pb_store *s, const char *customer, char *locale, size_t len);

/* Webhook signatures seen within the replay window. PB_OK when `sig` is new (it is kept until
 * expires_ms), PB_ERR_DONE when it was seen; expired ones are dropped on the way. */
int pb_store_webhook_seen(struct pb_store *s, const char *sig, int64_t expires_ms, int64_t now_ms);

/* ---- key/value state of connectors ---- */

int pb_store_kv_get(struct pb_store *s, const char *ns, const char *key, char **value);
int pb_store_kv_put(struct pb_store *s, const char *ns, const char *key, const char *value);
int pb_store_kv_delete(struct pb_store *s, const char *ns, const char *key);
/* Visits the keys that start with `prefix` in key order; a non-zero return from `visit` stops
 * the scan and is returned. The visitor may call the store. */
int pb_store_kv_scan(struct pb_store *s, const char *ns, const char *prefix,
                     int (*visit)(void *arg, const char *key, const char *value), void *arg);

/* ---- closing the loop (issue 7, schema v7): alerts and the customers they stand for ---- */

/* The interaction a check-in delivery follows (with its tags and where the customer is
 * reached); PB_ERR_UNKNOWN when the delivery is not a check-in's. */
int pb_store_alert_interaction(struct pb_store *s, int64_t delivery_id, struct pb_interaction *out);

/* One answer an alert stands for. */
struct pb_alert_member {
    int64_t delivery_id;
    int64_t answer_id; /* 0 when unknown */
    int score;         /* the answer's score */
};
/* The answers an alert stands for, oldest first, at most `limit`. */
int pb_store_alert_members(struct pb_store *s, int64_t alert_id, struct pb_alert_member *out,
                           size_t limit, size_t *n_out);

/* A re-ask scheduled when an alert was resolved: check-in `checkin_id` asks the customer the
 * alert's survey again; an answer to `question` at or above `recovered_score` is a recovery. */
struct pb_alert_reask {
    int64_t alert_id, checkin_id;
    char rule[64], team[64], question[64];
    int low_score, recovered_score;
    int64_t created_ms;
};
int pb_store_alert_reask_add(struct pb_store *s, const struct pb_alert_reask *r);

/* How customers fared after their alerts were resolved: re-asks scheduled, sent (the check-in
 * went out), answered (the question was scored) and recovered (at or above the rule's
 * recovered_score). Counted over re-asks scheduled in [from_ms, to_ms), for one rule or all
 * (rule NULL) and one owning team or all (team NULL). The view alert_recovery has the rows. */
struct pb_alert_recovery {
    int64_t scheduled, sent, answered, recovered;
};
int pb_store_alert_recovery(struct pb_store *s, const char *rule, const char *team, int64_t from_ms,
                            int64_t to_ms, struct pb_alert_recovery *out);

/* Alert events for a webhook: a durable queue, one row per event, committed with the event
 * and posted after; the row id is the receiver's idempotency key. */
enum pb_webhook_state { PB_WEBHOOK_PENDING = 0, PB_WEBHOOK_DONE = 1, PB_WEBHOOK_FAILED = 2 };
struct pb_alert_webhook {
    int64_t id, alert_id;
    char url[512];
    char rule[64]; /* the rule whose secret signs it; "" for alerts.webhook's */
    char event[32];
    char *body; /* JSON, malloc'd (pb_alert_webhook_clear) */
    enum pb_webhook_state state;
    int attempts;
    int64_t next_attempt_ms; /* while pending: when it may be posted (again) */
    int last_status;         /* the receiver's last HTTP status, 0 when none arrived */
    char error[256];
    int64_t created_ms, done_ms;
};
int pb_store_alert_webhook_add(struct pb_store *s, struct pb_alert_webhook *w); /* sets w->id */
/* Pending rows due at `now`, each the oldest pending row of its alert (events of one alert are
 * posted in order), in id order, at most `limit`. */
int pb_store_alert_webhook_due(struct pb_store *s, int64_t now_ms, struct pb_alert_webhook *out,
                               size_t limit, size_t *n_out);
/* When the next such row is due; PB_ERR_UNKNOWN when none is pending. */
int pb_store_alert_webhook_next_due(struct pb_store *s, int64_t *ms);
/* Sets a row's state, attempts, next attempt, last status and error (done_ms when settled). */
int pb_store_alert_webhook_settle(struct pb_store *s, const struct pb_alert_webhook *w);
/* The webhook rows of an alert in order (their delivery state), at most `limit`. */
int pb_store_alert_webhook_list(struct pb_store *s, int64_t alert_id, struct pb_alert_webhook *out,
                                size_t limit, size_t *n_out);
void pb_alert_webhook_clear(struct pb_alert_webhook *w);

/* ---- reports: read-only queries (store_report.c, used by report.c) ---- */

/* Opens an existing database for reading only, beside a running daemon: WAL lets a reader in
 * while the daemon writes, and nothing here can change the file. Refuses a file that is not
 * pulsebot's or whose schema is not this build's. */
int pb_store_open_readonly(const char *path, struct pb_store **out, char *err, size_t errlen);

/* One read transaction around several report queries, so that they see one state of the
 * store; not inside pb_store_begin. */
int pb_store_snapshot_begin(struct pb_store *s);
void pb_store_snapshot_end(struct pb_store *s);

/* Which deliveries a report covers: those of `survey` created (asked) at or after since_ms and
 * before until_ms (0: unbounded), of `schedule` (NULL or "": any) and `round` (0: any). */
struct pb_report_filter {
    const char *survey;
    int64_t since_ms, until_ms;
    const char *schedule;
    int64_t round;
};

struct pb_report_delivery {
    int64_t id;
    char person[64]; /* "" once forgotten (anonymous surveys) */
    int state;       /* enum pb_delivery_state */
    int64_t created_ms, expires_ms, finished_ms;
    int answers;   /* how many answers it has */
    char team[64]; /* the team on its first answer, "" when it has none */
};

/* Visits the covered deliveries in id order; a non-zero return of `visit` stops and is
 * returned. */
int pb_store_report_deliveries(struct pb_store *s, const struct pb_report_filter *f,
                               int (*visit)(void *arg, const struct pb_report_delivery *d),
                               void *arg);
/* Visits the answers of the covered deliveries in delivery, then answer order; the answer's
 * text is valid during the visit only. */
int pb_store_report_answers(struct pb_store *s, const struct pb_report_filter *f,
                            int (*visit)(void *arg, const struct pb_answer *a), void *arg);
/* Visits the alerts of `survey` (NULL: any) raised in [since_ms, until_ms) (0: unbounded), in
 * id order; the alert's comment is valid during the visit only. */
int pb_store_report_alerts(struct pb_store *s, const char *survey, int64_t since_ms,
                           int64_t until_ms, int (*visit)(void *arg, const struct pb_alert *a),
                           void *arg);

/* ---- audiences (issue 3, schema v6): unreachable deliveries, absences set by chat ---- */

/* Ends an unfinished delivery (state `from`) as UNREACHABLE with `reason` (cut to fit): no
 * step, no reminder, finished at now_ms. Compare-and-set like pb_store_delivery_update. */
int pb_store_delivery_unreachable(struct pb_store *s, int64_t id, enum pb_delivery_state from,
                                  const char *reason, int64_t now_ms);

/* How the deliveries of a survey created in [from_ms, to_ms) ended up, for reports that tell
 * "did not answer" (expired) from "could not be reached" (unreachable). */
struct pb_delivery_tally {
    int64_t open, completed, expired, unreachable;
};
int pb_store_delivery_tally(struct pb_store *s, const char *survey, int64_t from_ms, int64_t to_ms,
                            struct pb_delivery_tally *out);

/* An absence a person set by chat: days (since 1970-01-01, in their time zone), inclusive. */
struct pb_away_span {
    char person[64];
    int64_t first_day, last_day;
    int64_t set_ms;
};
/* Sets (replaces) the person's span. */
int pb_store_away_put(struct pb_store *s, const struct pb_away_span *a);
/* Removes it: PB_OK, or PB_ERR_UNKNOWN when there was none. */
int pb_store_away_delete(struct pb_store *s, const char *person);
/* Every span, in person order; a non-zero return of `visit` stops the scan and is returned. */
int pb_store_away_scan(struct pb_store *s, int (*visit)(void *arg, const struct pb_away_span *a),
                       void *arg);

/* ---- schedules (issue 3): when each person of a wave is asked ---- */

/* Holds back the first question of each person's newest pending delivery of `survey` until
 * their send time: for each i, the pending outbox row that carries the question of
 * people[i]'s newest PENDING delivery gets next_attempt_ms = until_ms[i] (never earlier than
 * it was). Inside the wave's transaction, so the deliveries and their holds commit together;
 * the outbox then sleeps until the first one is due. */
int pb_store_outbox_hold_first(struct pb_store *s, const char *survey, const char *const *people,
                               const int64_t *until_ms, size_t n);

#endif

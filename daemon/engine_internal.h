/*
 * What the engine's parts share: engine.c (events, timing, connectors), survey.c (deliveries
 * and answers), route.c (alerts), schedule.c (rounds) and outbox.c (sending). Not for use
 * outside the engine.
 */
#ifndef PB_ENGINE_INTERNAL_H
#define PB_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

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
    int64_t hold_until;   /* after a store failure: wait before trying again */
    int64_t lookup_retry; /* when to ask connectors that were busy again, or 0 */
    int outbox_dirty;     /* rows may be dispatchable now */
    int dispatching;      /* guards against re-entry from a synchronous send_done */
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

/* route.c: called inside the answer's transaction */
int pb_route_answer(struct pb_engine *e, const struct pb_delivery *d, const struct pb_cfg_survey *s,
                    const struct pb_cfg_question *q, const struct pb_answer *a);
int pb_route_action(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    const struct pb_token *t, char *reply, size_t reply_len);

/* schedule.c */
void pb_schedule_run_due(struct pb_engine *e, int64_t now);
int64_t pb_schedule_next_due(struct pb_engine *e);

/* outbox.c */
int pb_outbox_queue(struct pb_engine *e, const char *connector, enum pb_target_kind kind,
                    const char *target, const struct pb_message *m, int64_t *id_out);
int pb_outbox_queue_update(struct pb_engine *e, int64_t send_id, const struct pb_message *m);
void pb_outbox_dispatch(struct pb_engine *e, int64_t now);
int64_t pb_outbox_next_due(struct pb_engine *e, int64_t now);
void pb_outbox_done(struct pb_engine *e, const char *connector, uint64_t id,
                    const struct pb_send_result *res);

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

/*
 * The engine: the core's decisions in one place. It owns no I/O of its own; it reads the
 * configuration and the store, and talks to connectors through their struct pb_connector.
 * Everything it decides is committed before it acts: a message goes to the outbox in the same
 * transaction as the state change that caused it, and an event is acknowledged only after
 * the answer it carries is committed.
 *
 * Time: the engine never sleeps and owns no timer. pb_engine_next_due says when it next has
 * work; the caller (main.c's loop glue, or a test with a fake clock) calls pb_engine_run then.
 * `wake` is called whenever new work became due at once (a message queued, a send finished).
 */
#ifndef PB_ENGINE_H
#define PB_ENGINE_H

#include <stdint.h>

#include "config.h"
#include "pulsebot/plugin.h"

struct pb_engine;
struct pb_store;
struct pb_token_key;

struct pb_engine_setup {
    struct pb_store *store;
    const struct pb_token_key *key;
    void (*wake)(void *arg);
    void *wake_arg;
};

/* Asynchronous HTTP for alert webhooks: `request` is called with `http_arg` (the daemon passes
 * pb_alert_webhook_http and its pb_http_client). Until it is set, webhook events wait in the
 * store. */
typedef int (*pb_engine_http_fn)(void *http_arg, const struct pb_http_request *req,
                                 pb_http_done_fn done, void *arg);
void pb_engine_set_http(struct pb_engine *e, pb_engine_http_fn request, void *http_arg);
/* pb_http_client_request with the client as its first argument, for pb_engine_set_http. */
int pb_alert_webhook_http(void *client, const struct pb_http_request *req, pb_http_done_fn done,
                          void *arg);

int pb_engine_create(const struct pb_engine_setup *setup, const struct pb_config *cfg,
                     struct pb_engine **out);
void pb_engine_destroy(struct pb_engine *e);
/* Switch to a new configuration (SIGHUP). The caller keeps `cfg` alive while it is in use. */
int pb_engine_reconfigure(struct pb_engine *e, const struct pb_config *cfg);
const struct pb_config *pb_engine_config(const struct pb_engine *e);
struct pb_roster *pb_engine_roster(const struct pb_engine *e);
const struct pb_token_key *pb_engine_key(const struct pb_engine *e);

/* Connectors by configured name. The engine calls conn->send/update; the connector answers
 * through pb_engine_send_done. */
int pb_engine_attach(struct pb_engine *e, const char *name, const struct pb_connector *conn);
void pb_engine_detach(struct pb_engine *e, const char *name);

int pb_engine_event(struct pb_engine *e, const char *connector, const struct pb_event *ev,
                    char *reply, size_t reply_len);
void pb_engine_send_done(struct pb_engine *e, const char *connector, uint64_t id,
                         const struct pb_send_result *res);

/* A connector's answer to a lookup_user the engine asked for. */
void pb_engine_lookup_done(struct pb_engine *e, const char *connector, uint64_t request, int status,
                           const struct pb_user_info *info);

#define PB_ENGINE_IDLE INT64_MAX
int64_t pb_engine_next_due(struct pb_engine *e); /* wall ms, or PB_ENGINE_IDLE */
void pb_engine_run(struct pb_engine *e);         /* does everything due now */

#endif

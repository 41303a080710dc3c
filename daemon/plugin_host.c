/*
 * The host side of the connector ABI: one struct pb_host shared by every connector, and one
 * context per connector instance that says which instance is calling. Everything a connector
 * can reach goes through here, so a connector never touches the loop, the store or the engine
 * directly, and a test can hand it a mock host instead.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine.h"
#include "http_client.h"
#include "http_server.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "plugin.h"
#include "roster.h"
#include "secret.h"
#include "store.h"
#include "token.h"
#include "ws_client.h"

#define MOD "plugin"

struct pb_timer {
    struct pb_host_ctx *ctx;
    struct pb_loop_timer *timer;
    pb_timer_fn fn;
    void *arg;
    struct pb_timer *next;
};

struct pb_host_ctx {
    struct pb_services svc;
    const struct pb_cfg_connector *cfg;
    struct pb_module *module;
    struct pb_connector conn;
    int created, started;
    struct pb_timer *timers; /* freed with the instance if the connector forgets them */
    void *route_args[16];    /* to take the connector's routes down with it */
    size_t n_route_args;
};

struct pb_instance {
    struct pb_host_ctx ctx;
};

static void host_log(pb_host_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_logv(level, ctx->cfg->name, fmt, ap);
    va_end(ap);
}

static int host_log_enabled(pb_host_ctx *ctx, int level)
{
    return pb_log_enabled(level);
}

static const char *host_config_string(pb_host_ctx *ctx, const char *key)
{
    return pb_config_connector_string(ctx->cfg, key);
}

static int host_config_int(pb_host_ctx *ctx, const char *key, long long *out)
{
    return pb_config_connector_int(ctx->cfg, key, out);
}

static int host_config_bool(pb_host_ctx *ctx, const char *key, int *out)
{
    return pb_config_connector_bool(ctx->cfg, key, out);
}

static const char *host_config_list(pb_host_ctx *ctx, const char *key, size_t n)
{
    return pb_config_connector_list(ctx->cfg, key, n);
}

static int host_secret(pb_host_ctx *ctx, const char *key, char *buf, size_t len)
{
    char err[512];
    if (pb_secret_from_connector(ctx->cfg, key, buf, len, err, sizeof err) != 0) {
        pb_err(ctx->cfg->name, "%s", err);
        return PB_ERR;
    }
    return PB_OK;
}

static int64_t host_now_ms(pb_host_ctx *ctx)
{
    return pb_now_ms();
}

static void timer_fired(void *arg)
{
    struct pb_timer *t = arg;
    t->fn(t->arg);
}

static pb_timer *host_timer_new(pb_host_ctx *ctx, pb_timer_fn fn, void *arg)
{
    struct pb_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->timer = pb_loop_timer_new(ctx->svc.loop, timer_fired, t);
    if (!t->timer) {
        free(t);
        return NULL;
    }
    t->ctx = ctx;
    t->fn = fn;
    t->arg = arg;
    t->next = ctx->timers;
    ctx->timers = t;
    return t;
}

static void host_timer_arm(pb_timer *t, uint64_t delay_ms)
{
    pb_loop_timer_arm(t->timer, delay_ms);
}

static void host_timer_cancel(pb_timer *t)
{
    pb_loop_timer_cancel(t->timer);
}

static void host_timer_free(pb_timer *t)
{
    if (!t)
        return;
    for (struct pb_timer **p = &t->ctx->timers; *p; p = &(*p)->next)
        if (*p == t) {
            *p = t->next;
            break;
        }
    pb_loop_timer_free(t->timer);
    free(t);
}

static int host_http_request(pb_host_ctx *ctx, const struct pb_http_request *req,
                             pb_http_done_fn done, void *arg)
{
    pb_metrics_add("http_requests", 1);
    return pb_http_client_request(ctx->svc.http, req, done, arg);
}

static pb_ws *host_ws_connect(pb_host_ctx *ctx, const char *url, const struct pb_ws_client_ops *ops,
                              void *arg)
{
    return pb_ws_client_connect(ctx->svc.loop, url, ops, arg, ctx->svc.allow_plain);
}

static void remember_route_arg(pb_host_ctx *ctx, void *arg)
{
    for (size_t i = 0; i < ctx->n_route_args; i++)
        if (ctx->route_args[i] == arg)
            return;
    if (ctx->n_route_args < sizeof ctx->route_args / sizeof ctx->route_args[0])
        ctx->route_args[ctx->n_route_args++] = arg;
}

static int host_http_route(pb_host_ctx *ctx, const char *path, pb_route_fn fn, void *arg)
{
    remember_route_arg(ctx, arg);
    return pb_http_server_route(ctx->svc.server, path, fn, arg);
}

static int host_ws_route(pb_host_ctx *ctx, const char *path, const struct pb_ws_server_ops *ops,
                         void *arg)
{
    remember_route_arg(ctx, arg);
    return pb_http_server_ws_route(ctx->svc.server, path, ops, arg);
}

static int host_kv_get(pb_host_ctx *ctx, const char *key, char **value)
{
    return pb_store_kv_get(ctx->svc.store, ctx->cfg->name, key, value);
}

static int host_kv_put(pb_host_ctx *ctx, const char *key, const char *value)
{
    return pb_store_kv_put(ctx->svc.store, ctx->cfg->name, key, value);
}

static int host_kv_delete(pb_host_ctx *ctx, const char *key)
{
    return pb_store_kv_delete(ctx->svc.store, ctx->cfg->name, key);
}

static int host_kv_scan(pb_host_ctx *ctx, const char *prefix,
                        int (*visit)(void *arg, const char *key, const char *value), void *arg)
{
    return pb_store_kv_scan(ctx->svc.store, ctx->cfg->name, prefix, visit, arg);
}

static int host_emit(pb_host_ctx *ctx, const struct pb_event *ev, char *reply, size_t reply_len)
{
    return pb_engine_event(ctx->svc.engine, ctx->cfg->name, ev, reply, reply_len);
}

static void host_send_done(pb_host_ctx *ctx, uint64_t id, const struct pb_send_result *res)
{
    pb_engine_send_done(ctx->svc.engine, ctx->cfg->name, id, res);
}

static void host_counter_add(pb_host_ctx *ctx, const char *name, uint64_t n)
{
    char full[128];
    snprintf(full, sizeof full, "%s_%s", ctx->cfg->name, name);
    pb_metrics_add(full, n);
}

static int host_directory_people(pb_host_ctx *ctx,
                                 int (*visit)(void *arg, const char *user, const char *name),
                                 void *arg)
{
    const struct pb_roster *r = pb_engine_roster(ctx->svc.engine);
    const struct pb_config *cfg = pb_engine_config(ctx->svc.engine);
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        const char *handle = pb_roster_handle(r, p, ctx->cfg->name);
        if (!handle)
            continue;
        int rc = visit(arg, handle, p->name ? p->name : p->id);
        if (rc)
            return rc;
    }
    return PB_OK;
}

static int host_directory_channels(pb_host_ctx *ctx, const char *user,
                                   int (*visit)(void *arg, const char *channel, const char *title),
                                   void *arg)
{
    const struct pb_roster *r = pb_engine_roster(ctx->svc.engine);
    const struct pb_cfg_person *p = pb_roster_by_handle(r, ctx->cfg->name, user);
    if (!p)
        return PB_ERR_UNKNOWN;
    return pb_roster_channels(r, p, ctx->cfg->name, visit, arg);
}

static int host_link_verify(pb_host_ctx *ctx, const char *token, char *user, size_t user_len)
{
    struct pb_token t;
    int rc = pb_token_verify(pb_engine_key(ctx->svc.engine), token, &t);
    if (rc == PB_OK && (t.kind != PB_TOKEN_LINK || strcmp(t.connector, ctx->cfg->name) != 0))
        rc = PB_ERR_INVALID;
    if (rc == PB_OK && (int64_t)t.expires * 1000 < pb_now_ms())
        rc = PB_ERR_EXPIRED;
    if (rc == PB_OK &&
        !pb_roster_by_handle(pb_engine_roster(ctx->svc.engine), ctx->cfg->name, t.user))
        rc = PB_ERR_UNKNOWN;
    if (rc != PB_OK) {
        pb_warn(ctx->cfg->name, "a personal link was refused: %s",
                rc == PB_ERR_FORGED    ? "its signature is wrong"
                : rc == PB_ERR_EXPIRED ? "it has expired"
                : rc == PB_ERR_UNKNOWN ? "it names someone no longer on the roster"
                                       : "it is malformed");
        pb_metrics_add("links_refused", 1);
        return rc;
    }
    snprintf(user, user_len, "%s", t.user);
    return PB_OK;
}

static void host_lookup_done(pb_host_ctx *ctx, uint64_t request, int status,
                             const struct pb_user_info *info)
{
    if (info && info->size < offsetof(struct pb_user_info, reserved))
        info = NULL;
    pb_engine_lookup_done(ctx->svc.engine, ctx->cfg->name, request, status, info);
}

static const struct pb_host host = {
    .size = sizeof(struct pb_host),
    .abi_version = PB_ABI_VERSION,
    .log = host_log,
    .log_enabled = host_log_enabled,
    .config_string = host_config_string,
    .config_int = host_config_int,
    .config_bool = host_config_bool,
    .config_list = host_config_list,
    .secret = host_secret,
    .now_ms = host_now_ms,
    .timer_new = host_timer_new,
    .timer_arm = host_timer_arm,
    .timer_cancel = host_timer_cancel,
    .timer_free = host_timer_free,
    .http_request = host_http_request,
    .ws_connect = host_ws_connect,
    .ws_send = pb_ws_client_send,
    .ws_close = pb_ws_client_close,
    .http_route = host_http_route,
    .ws_route = host_ws_route,
    .ws_conn_send = pb_ws_conn_send,
    .ws_conn_close = pb_ws_conn_close,
    .ws_conn_set_user = pb_ws_conn_set_user,
    .ws_conn_user = pb_ws_conn_user,
    .kv_get = host_kv_get,
    .kv_put = host_kv_put,
    .kv_delete = host_kv_delete,
    .kv_scan = host_kv_scan,
    .emit = host_emit,
    .send_done = host_send_done,
    .counter_add = host_counter_add,
    .directory_people = host_directory_people,
    .directory_channels = host_directory_channels,
    .link_verify = host_link_verify,
    .lookup_done = host_lookup_done,
};

int pb_instance_create(const struct pb_services *svc, const struct pb_cfg_connector *cfg,
                       struct pb_module *m, struct pb_instance **out)
{
    struct pb_instance *in = calloc(1, sizeof *in);
    if (!in)
        return PB_ERR_NOMEM;
    in->ctx.svc = *svc;
    in->ctx.cfg = cfg;
    in->ctx.module = m;
    in->ctx.conn.size = sizeof in->ctx.conn;
    int rc = pb_module_info(m)->create(&host, &in->ctx, &in->ctx.conn);
    if (rc != PB_OK || !in->ctx.conn.send || !in->ctx.conn.update) {
        pb_err(MOD, "connector %s (%s) could not be created; see the lines above", cfg->name,
               cfg->type);
        free(in);
        return rc != PB_OK ? rc : PB_ERR;
    }
    in->ctx.created = 1;
    *out = in;
    return PB_OK;
}

int pb_instance_start(struct pb_instance *in)
{
    int rc = pb_engine_attach(in->ctx.svc.engine, in->ctx.cfg->name, &in->ctx.conn);
    if (rc == PB_OK && in->ctx.conn.start)
        rc = in->ctx.conn.start(in->ctx.conn.self);
    if (rc != PB_OK) {
        pb_engine_detach(in->ctx.svc.engine, in->ctx.cfg->name);
        return rc;
    }
    in->ctx.started = 1;
    return PB_OK;
}

void pb_instance_stop(struct pb_instance *in)
{
    if (!in->ctx.started)
        return;
    in->ctx.started = 0;
    pb_engine_detach(in->ctx.svc.engine, in->ctx.cfg->name);
    if (in->ctx.conn.stop)
        in->ctx.conn.stop(in->ctx.conn.self);
}

void pb_instance_destroy(struct pb_instance *in)
{
    if (!in)
        return;
    pb_instance_stop(in);
    /* Routes go first: nothing may reach the connector once it is destroyed. */
    for (size_t i = 0; i < in->ctx.n_route_args; i++)
        pb_http_server_unroute(in->ctx.svc.server, in->ctx.route_args[i]);
    if (in->ctx.conn.destroy)
        in->ctx.conn.destroy(in->ctx.conn.self);
    while (in->ctx.timers)
        host_timer_free(in->ctx.timers);
    free(in);
}

const char *pb_instance_name(const struct pb_instance *in)
{
    return in->ctx.cfg->name;
}

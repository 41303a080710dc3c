/*
 * Alert events out of chat: every line of an alert's history (raised, grouped, acknowledged,
 * resolved, reassigned, escalated, ...) is posted as JSON to the webhook its rule names (or
 * alerts.webhook), so that an alert can open and close a ticket in another system.
 *
 * Commit, then send: pb_alert_webhook_queue runs inside the transaction that records the
 * event and adds a row to alert_webhooks; the loop posts due rows later. Before a post the row
 * is leased (its next attempt moved past the request's timeout, committed), so a crash during
 * the post sends it again after the lease, never loses it. The receiver deduplicates by the
 * `Idempotency-Key` header, the row id. Events of one alert go out in order: a row waits until
 * the one before it is settled.
 *
 * Each post is signed as the incoming check-in webhooks are (docs/checkins.md):
 * `X-Pulsebot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, signed
 * anew on every attempt. 2xx settles the row; 408, 429, 5xx and transport errors retry with
 * backoff (or Retry-After); any other status fails it, kept with the status, as does running out
 * of attempts. An anonymous survey's answer never leaves with who gave it (alerts are never
 * raised for one anyway).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "checkin.h"
#include "crash_point.h"
#include "engine_internal.h"
#include "http_client.h"
#include "log.h"
#include "metrics.h"
#include "secret.h"

#define MOD          "webhook"
#define BATCH        16
#define MAX_FLIGHT   8
#define TIMEOUT_MS   30000
#define LEASE_MS     (2 * TIMEOUT_MS)
#define MAX_ATTEMPTS 12 /* about 34 hours of backoff */
#define BACKOFF_MAX  (4 * 60 * 60 * 1000)
#define SECRET_RETRY (5 * 60 * 1000)

int pb_alert_webhook_http(void *client, const struct pb_http_request *req, pb_http_done_fn done,
                          void *arg)
{
    return pb_http_client_request(client, req, done, arg);
}

void pb_engine_set_http(struct pb_engine *e, pb_engine_http_fn request, void *http_arg)
{
    e->http_request = request;
    e->http_arg = http_arg;
    pb_engine_wake(e); /* events queued before may go now */
}

static const struct pb_cfg_route *rule_of(const struct pb_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].id, id) == 0)
            return &cfg->routes[i];
    return NULL;
}

static int any_webhook(const struct pb_config *cfg)
{
    if (cfg->alerts.webhook)
        return 1;
    for (size_t i = 0; i < cfg->n_routes; i++)
        if (cfg->routes[i].webhook)
            return 1;
    return 0;
}

static void iso_time(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void add_time(cJSON *o, const char *name, int64_t ms)
{
    char when[32];
    if (!ms) {
        cJSON_AddNullToObject(o, name);
        return;
    }
    iso_time(ms, when, sizeof when);
    cJSON_AddStringToObject(o, name, when);
}

static const char *state_name(enum pb_alert_state s)
{
    return s == PB_ALERT_OPEN ? "open" : s == PB_ALERT_ACKNOWLEDGED ? "acknowledged" : "resolved";
}

/* The event as the receiver reads it. Who an answer is from is left out for an anonymous
 * survey (or one no longer configured, when nobody can tell). */
static char *event_body(struct pb_engine *e, const struct pb_alert_event *ev,
                        const struct pb_alert *al)
{
    const struct pb_cfg_survey *s = pb_config_survey(e->cfg, al->survey);
    const struct pb_cfg_question *q = s ? pb_config_question(s, al->question) : NULL;
    int named = s && !s->anonymous;
    cJSON *root = cJSON_CreateObject(), *a = cJSON_CreateObject();
    if (!root || !a) {
        cJSON_Delete(root);
        cJSON_Delete(a);
        return NULL;
    }
    cJSON_AddNumberToObject(root, "id", (double)ev->id);
    cJSON_AddStringToObject(root, "event", ev->kind);
    add_time(root, "at", ev->at_ms);
    cJSON_AddStringToObject(root, "actor", ev->actor);
    cJSON_AddStringToObject(root, "detail", ev->detail);
    cJSON_AddItemToObject(root, "alert", a);
    cJSON_AddNumberToObject(a, "id", (double)al->id);
    cJSON_AddStringToObject(a, "rule", al->rule);
    cJSON_AddStringToObject(a, "team", al->team);
    cJSON_AddStringToObject(a, "state", state_name(al->state));
    cJSON_AddNumberToObject(a, "score", al->score);
    cJSON_AddNumberToObject(a, "scale_min", al->scale_min);
    cJSON_AddNumberToObject(a, "scale_max", al->scale_max);
    cJSON_AddNumberToObject(a, "answers", al->group_count > 0 ? al->group_count : 1);
    cJSON_AddNumberToObject(a, "latest_score", al->last_score);
    cJSON_AddStringToObject(a, "survey", al->survey);
    cJSON_AddStringToObject(a, "question", q ? q->text : al->question);
    cJSON_AddStringToObject(a, "answer_team", al->answer_team);
    if (named && al->subject[0])
        cJSON_AddStringToObject(a, "subject", al->subject);
    if (named && al->comment)
        cJSON_AddStringToObject(a, "comment", al->comment);
    cJSON_AddStringToObject(a, "channel", al->channel);
    add_time(a, "created_at", al->created_ms);
    add_time(a, "acknowledged_at", al->ack_ms);
    cJSON_AddStringToObject(a, "acknowledged_by", al->ack_by);
    add_time(a, "resolved_at", al->resolved_ms);
    cJSON_AddStringToObject(a, "resolved_by", al->resolved_by);
    cJSON_AddStringToObject(a, "resolve_reason", al->resolve_reason);
    cJSON_AddStringToObject(a, "resolve_note", al->resolve_note);
    char *body = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return body;
}

int pb_alert_webhook_queue(struct pb_engine *e, const struct pb_alert_event *ev)
{
    if (!any_webhook(e->cfg))
        return PB_OK;
    struct pb_alert al;
    int rc = pb_store_alert_get(e->store, ev->alert_id, &al);
    if (rc != PB_OK)
        return rc;
    const struct pb_cfg_route *r = rule_of(e->cfg, al.rule);
    const char *url = r && r->webhook ? r->webhook : e->cfg->alerts.webhook;
    if (!url) {
        pb_alert_clear(&al);
        return PB_OK;
    }
    struct pb_alert_webhook w = {.alert_id = al.id, .created_ms = ev->at_ms};
    pb_copy(w.url, sizeof w.url, url);
    pb_copy(w.rule, sizeof w.rule, r && r->webhook ? r->id : "");
    pb_copy(w.event, sizeof w.event, ev->kind);
    w.body = event_body(e, ev, &al);
    pb_alert_clear(&al);
    if (!w.body)
        return PB_ERR_NOMEM;
    rc = pb_store_alert_webhook_add(e->store, &w);
    free(w.body);
    pb_engine_wake(e);
    return rc;
}

int64_t pb_alert_webhook_next_due(struct pb_engine *e)
{
    int64_t ms;
    if (!e->http_request || e->webhooks_in_flight >= MAX_FLIGHT)
        return PB_ENGINE_IDLE; /* a finished post wakes the engine */
    return pb_store_alert_webhook_next_due(e->store, &ms) == PB_OK ? ms : PB_ENGINE_IDLE;
}

static int64_t backoff_ms(int attempts)
{
    int64_t ms = 1000;
    for (int i = 1; i < attempts && ms < BACKOFF_MAX; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX)
        ms = BACKOFF_MAX;
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
        r = (uint32_t)pb_now_ms();
    return ms - ms / 5 + (int64_t)(r % (uint32_t)(ms / 5 * 2 + 1)); /* +-20% */
}

/* The secret that signs a row: its rule's, or alerts.webhook's. */
static int read_secret(const struct pb_config *cfg, const struct pb_alert_webhook *w, char *buf,
                       size_t len, char *err, size_t errlen)
{
    const struct pb_cfg_route *r = w->rule[0] ? rule_of(cfg, w->rule) : NULL;
    const char *file = r ? r->webhook_secret_file : cfg->alerts.webhook_secret_file;
    const char *cred = r ? r->webhook_secret_credential : cfg->alerts.webhook_secret_credential;
    if (!file && !cred) {
        snprintf(err, errlen, "no webhook secret is configured for %s",
                 w->rule[0] ? w->rule : "alerts.webhook");
        return PB_ERR_INVALID;
    }
    return pb_secret_read(file, cred, buf, len, err, errlen) == 0 ? PB_OK : PB_ERR_INVALID;
}

struct post {
    struct pb_engine *e;
    int64_t id;
    int attempts;
};

/* Settles a row after its post; outside any transaction (one UPDATE commits by itself). */
static void posted(void *arg, const struct pb_http_response *res)
{
    struct post *p = arg;
    struct pb_engine *e = p->e;
    int64_t now = pb_now_ms();
    struct pb_alert_webhook w = {.id = p->id, .attempts = p->attempts};
    int status = res ? res->status : 0;
    w.last_status = status;
    e->webhooks_in_flight--;
    if (status >= 200 && status < 300) {
        w.state = PB_WEBHOOK_DONE;
        w.done_ms = now;
        pb_metrics_add("alert_webhooks_sent", 1);
    } else {
        int retry = status == 0 || status == 408 || status == 429 || status >= 500;
        if (status)
            snprintf(w.error, sizeof w.error, "HTTP %d", status);
        else
            snprintf(w.error, sizeof w.error, "%s", res && res->error ? res->error : "no response");
        if (retry && p->attempts < MAX_ATTEMPTS) {
            w.next_attempt_ms = now + (res && res->retry_after_ms ? (int64_t)res->retry_after_ms
                                                                  : backoff_ms(p->attempts));
            pb_info(MOD, "event %lld: %s; will retry", (long long)p->id, w.error);
            pb_metrics_add("alert_webhooks_retried", 1);
        } else {
            w.state = PB_WEBHOOK_FAILED;
            w.done_ms = now;
            pb_warn(MOD, "event %lld: %s; given up after %d attempt(s)", (long long)p->id, w.error,
                    p->attempts);
            pb_metrics_add("alert_webhooks_failed", 1);
        }
    }
    if (pb_store_alert_webhook_settle(e->store, &w) < 0)
        pb_err(MOD, "event %lld: its outcome could not be saved; it is posted again later",
               (long long)p->id);
    free(p);
    pb_engine_wake(e);
}

/* Leases a row and posts it. The lease is committed first: a crash from here on posts it
 * again after the lease, with the same idempotency key. */
static void post_row(struct pb_engine *e, struct pb_alert_webhook *w, int64_t now)
{
    char secret[256], err[256], sig[128], key[32], event[40];
    struct pb_alert_webhook lease = *w;
    lease.body = NULL;
    lease.attempts = w->attempts + 1;
    lease.next_attempt_ms = now + LEASE_MS;
    if (read_secret(e->cfg, w, secret, sizeof secret, err, sizeof err) != PB_OK) {
        pb_err(MOD, "event %lld cannot be signed: %s; will try again in %d minutes",
               (long long)w->id, err, SECRET_RETRY / 60000);
        lease.attempts = w->attempts;
        lease.next_attempt_ms = now + SECRET_RETRY;
        pb_copy(lease.error, sizeof lease.error, err);
        pb_store_alert_webhook_settle(e->store, &lease);
        return;
    }
    size_t len = strlen(w->body);
    int rc = pb_checkin_sign((const unsigned char *)secret, strlen(secret), now / 1000, w->body,
                             len, sig, sizeof sig);
    explicit_bzero(secret, sizeof secret);
    if (rc == PB_OK)
        rc = pb_store_alert_webhook_settle(e->store, &lease);
    struct post *p = rc == PB_OK ? malloc(sizeof *p) : NULL;
    if (!p)
        return; /* the row stays due; the next pass tries again */
    pb_crash_point("webhook-leased");
    *p = (struct post){.e = e, .id = w->id, .attempts = lease.attempts};
    snprintf(key, sizeof key, "%lld", (long long)w->id);
    snprintf(event, sizeof event, "%s", w->event);
    struct pb_header headers[] = {
        {"Content-Type", "application/json"},
        {"X-Pulsebot-Signature", sig},
        {"Idempotency-Key", key},
        {"X-Pulsebot-Event", event},
    };
    struct pb_http_request req = {.size = sizeof req,
                                  .method = "POST",
                                  .url = w->url,
                                  .headers = headers,
                                  .n_headers = sizeof headers / sizeof headers[0],
                                  .body = w->body,
                                  .body_len = len,
                                  .timeout_ms = TIMEOUT_MS};
    e->webhooks_in_flight++;
    if (e->http_request(e->http_arg, &req, posted, p) != PB_OK) {
        /* Refused before it left (a plain http URL without PULSEBOT_ALLOW_PLAIN): the lease
         * runs out and it is tried again, with the error on the row. */
        struct pb_http_response none = {.size = sizeof none, .error = "the request was refused"};
        posted(p, &none);
    }
}

void pb_alert_webhook_run_due(struct pb_engine *e, int64_t now)
{
    if (!e->http_request || e->webhooks_in_flight >= MAX_FLIGHT)
        return;
    struct pb_alert_webhook due[BATCH];
    size_t n = 0;
    if (pb_store_alert_webhook_due(e->store, now, due, BATCH, &n) != PB_OK) {
        pb_engine_hold(e);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (e->webhooks_in_flight < MAX_FLIGHT)
            post_row(e, &due[i], now);
        pb_alert_webhook_clear(&due[i]);
    }
}

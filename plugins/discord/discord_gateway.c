/*
 * The Discord gateway session: one websocket that must survive everything Discord does to a
 * long-running bot.
 *
 * A new session starts with GET /gateway/bot (the URL is cached; session_start_limit says how
 * many IDENTIFYs are left today, and when none are, we wait reset_after), then HELLO,
 * heartbeats and IDENTIFY. READY gives the session id and the URL to resume at, which are kept
 * in the connector's key/value state with the last sequence number, so a dropped link and a
 * restarted daemon both RESUME (Discord replays what was missed) instead of identifying again:
 * identifies are scarce (1000 a day, and exceeding that resets the token).
 *
 * Heartbeats: the first after interval x random(0..1) so that bots do not beat in step, then
 * every interval, each carrying the last sequence number. A heartbeat that comes due without
 * an ACK for the previous one means a zombie link: we close it with 4000 (never 1000/1001,
 * which would end the session) and resume.
 *
 * What to do after a close is decided once, here: op 7 and op 9 true resume; op 9 false waits
 * 1 to 5 s and identifies; close codes are sorted into resume, identify and fatal; a fatal one
 * (bad token, invalid shard or intents) stops the connector with one log line and no loop.
 * Reconnects back off exponentially with jitter; sends stay under 120 per 60 s and identifies
 * at least 5 s apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discord.h"

#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS  60000
#define KV_SESSION      "session"
#define KV_GATEWAY_URL  "gateway_url"

static int64_t now_ms(struct discord *dc)
{
    return dc->host->now_ms(dc->ctx);
}

/* ---- state kept across restarts ---- */

static void save_session(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;
    cJSON *o;
    char *json;

    if (!g->session_id[0])
        return;
    o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "session_id", g->session_id);
    cJSON_AddStringToObject(o, "resume_url", g->resume_url);
    cJSON_AddNumberToObject(o, "seq", (double)g->seq);
    cJSON_AddStringToObject(o, "user_id", g->bot_id);
    cJSON_AddStringToObject(o, "application_id", g->app_id);
    json = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (json && dc->host->kv_put(dc->ctx, KV_SESSION, json) != 0)
        dc_log(dc, PB_LOG_WARNING, "could not keep the gateway session; a restart will identify");
    free(json);
}

static void forget_session(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;

    g->session_id[0] = '\0';
    g->resume_url[0] = '\0';
    g->seq = -1;
    dc->host->kv_delete(dc->ctx, KV_SESSION);
}

static void copy_str(char *dst, size_t len, const cJSON *item)
{
    if (cJSON_IsString(item) && strlen(item->valuestring) < len)
        memcpy(dst, item->valuestring, strlen(item->valuestring) + 1);
}

static void load_state(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;
    char *v = NULL;
    cJSON *o, *seq;

    if (dc->host->kv_get(dc->ctx, KV_GATEWAY_URL, &v) == 0 && v && strlen(v) < sizeof(g->url))
        memcpy(g->url, v, strlen(v) + 1);
    free(v);
    v = NULL;
    if (dc->host->kv_get(dc->ctx, KV_SESSION, &v) != 0 || !v)
        return;
    o = cJSON_Parse(v);
    free(v);
    copy_str(g->session_id, sizeof(g->session_id),
             cJSON_GetObjectItemCaseSensitive(o, "session_id"));
    copy_str(g->resume_url, sizeof(g->resume_url),
             cJSON_GetObjectItemCaseSensitive(o, "resume_url"));
    copy_str(g->bot_id, sizeof(g->bot_id), cJSON_GetObjectItemCaseSensitive(o, "user_id"));
    copy_str(g->app_id, sizeof(g->app_id), cJSON_GetObjectItemCaseSensitive(o, "application_id"));
    seq = cJSON_GetObjectItemCaseSensitive(o, "seq");
    g->seq = cJSON_IsNumber(seq) ? (long long)seq->valuedouble : -1;
    cJSON_Delete(o);
    if (!g->resume_url[0] || g->seq < 0)
        g->session_id[0] = '\0';
}

/* ---- sending, within 120 frames per 60 s ---- */

/* `reserve`: this send may use the last few slots (our own heartbeats and the handshake). */
static int gw_send(struct discord *dc, cJSON *frame, int reserve)
{
    struct dc_gateway *g = &dc->gw;
    int64_t now = now_ms(dc);
    size_t used = 0;
    char *json;
    int rc;

    for (size_t i = 0; i < g->n_sends; i++)
        used += g->sends[i] + DC_GW_SEND_WINDOW > now;
    if (used >= DC_GW_SEND_LIMIT || (!reserve && used >= DC_GW_SEND_LIMIT - DC_GW_SEND_RESERVE)) {
        dc_log(dc, PB_LOG_WARNING, "gateway send limit reached; a frame was not sent");
        return PB_ERR_BUSY;
    }
    json = cJSON_PrintUnformatted(frame);
    if (!json)
        return PB_ERR_NOMEM;
    rc = dc->host->ws_send(g->ws, json, strlen(json));
    free(json);
    if (rc == 0) {
        g->sends[g->send_pos] = now;
        g->send_pos = (g->send_pos + 1) % DC_GW_SEND_LIMIT;
        if (g->n_sends < DC_GW_SEND_LIMIT)
            g->n_sends++;
    }
    return rc;
}

static int send_op(struct discord *dc, int op, cJSON *d, int reserve)
{
    cJSON *frame = cJSON_CreateObject();
    int rc;

    if (!frame) {
        cJSON_Delete(d);
        return PB_ERR_NOMEM;
    }
    cJSON_AddNumberToObject(frame, "op", op);
    cJSON_AddItemToObject(frame, "d", d ? d : cJSON_CreateNull());
    rc = gw_send(dc, frame, reserve);
    cJSON_Delete(frame);
    return rc;
}

static int send_heartbeat(struct discord *dc, int reserve)
{
    struct dc_gateway *g = &dc->gw;

    return send_op(dc, 1, g->seq >= 0 ? cJSON_CreateNumber((double)g->seq) : cJSON_CreateNull(),
                   reserve);
}

/* ---- closing and what comes next ---- */

static uint32_t backoff(struct discord *dc)
{
    unsigned f = dc->gw.failures < 6 ? dc->gw.failures : 6;
    uint32_t ms = BACKOFF_BASE_MS << f;

    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    /* Half fixed, half random: spread out, but never an instant storm of reconnects. */
    return ms / 2 + dc_random(ms / 2 + 1);
}

static void schedule(struct discord *dc, enum dc_gw_next next, uint32_t delay_ms)
{
    struct dc_gateway *g = &dc->gw;

    g->next = next;
    g->state = GW_WAITING;
    dc->host->timer_cancel(g->hb_timer);
    dc->host->timer_arm(g->retry_timer, delay_ms);
}

/* Ends the link on our side; on_close then schedules `next` after `delay_ms`. */
static void drop(struct discord *dc, enum dc_gw_next next, uint32_t delay_ms, const char *why)
{
    struct dc_gateway *g = &dc->gw;

    dc_log(dc, PB_LOG_INFO, "gateway: %s; will %s", why,
           next == GW_NEXT_RESUME && g->session_id[0] ? "resume" : "identify");
    dc->host->timer_cancel(g->hb_timer);
    save_session(dc);
    if (!g->ws) {
        schedule(dc, next, delay_ms);
        return;
    }
    g->next = next;
    g->next_delay_ms = delay_ms;
    g->state = GW_CLOSING;
    /* A dead link may never finish its close handshake: give up on it after a while. */
    dc->host->timer_arm(g->retry_timer, DC_CLOSE_TIMEOUT_MS);
    dc->host->ws_close(g->ws, DC_CLOSE_RESUMABLE, why);
}

void dc_fatal(struct discord *dc, const char *why)
{
    struct dc_gateway *g = &dc->gw;

    if (g->state == GW_FATAL || g->state == GW_STOPPED)
        return;
    dc_log(dc, PB_LOG_ERR, "%s; the Discord connector stops and will not reconnect", why);
    g->state = GW_FATAL;
    dc->host->timer_cancel(g->hb_timer);
    dc->host->timer_cancel(g->retry_timer);
    if (g->ws)
        dc->host->ws_close(g->ws, 1000, "fatal");
    dc_report_connection(dc, 0, why);
}

enum close_class { CLOSE_RESUME, CLOSE_IDENTIFY, CLOSE_FATAL };

static enum close_class classify_close(int code)
{
    switch (code) {
    case 4004: /* authentication failed */
    case 4010: /* invalid shard */
    case 4011: /* sharding required */
    case 4012: /* invalid API version */
    case 4013: /* invalid intents */
    case 4014: /* disallowed intents */
        return CLOSE_FATAL;
    case 4003: /* not authenticated */
    case 4007: /* invalid seq */
    case 4009: /* session timed out */
        return CLOSE_IDENTIFY;
    default:
        return CLOSE_RESUME;
    }
}

static const char *close_meaning(int code)
{
    switch (code) {
    case 4004:
        return "the bot token was refused (close 4004)";
    case 4010:
        return "invalid shard (close 4010)";
    case 4011:
        return "Discord requires sharding for this bot (close 4011)";
    case 4012:
        return "invalid gateway API version (close 4012)";
    case 4013:
        return "invalid intents (close 4013)";
    case 4014:
        return "disallowed intents (close 4014): enable the privileged intent in the Developer "
               "Portal or turn off message_content";
    default:
        return "closed";
    }
}

/* ---- the websocket ---- */

static void on_open(void *arg, pb_ws *ws)
{
    struct discord *dc = arg;
    struct dc_gateway *g = &dc->gw;

    if (ws != g->ws || g->state != GW_CONNECTING)
        return;
    g->state = GW_HELLO;
    g->n_sends = 0;
    g->send_pos = 0;
    dc->host->timer_arm(g->hb_timer, DC_HELLO_TIMEOUT_MS);
}

static void identify(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;
    cJSON *d = cJSON_CreateObject(), *props;

    if (!d)
        return;
    cJSON_AddStringToObject(d, "token", dc->token);
    cJSON_AddNumberToObject(d, "intents", dc->intents);
    props = cJSON_AddObjectToObject(d, "properties");
    cJSON_AddStringToObject(props, "os", "linux");
    cJSON_AddStringToObject(props, "browser", "pulsebot");
    cJSON_AddStringToObject(props, "device", "pulsebot");
    g->last_identify_ms = now_ms(dc);
    if (g->identify_remaining > 0)
        g->identify_remaining--;
    dc_log(dc, PB_LOG_INFO, "gateway: identifying (intents %u)", dc->intents);
    send_op(dc, 2, d, 1);
}

static void resume(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;
    cJSON *d = cJSON_CreateObject();

    if (!d)
        return;
    cJSON_AddStringToObject(d, "token", dc->token);
    cJSON_AddStringToObject(d, "session_id", g->session_id);
    cJSON_AddNumberToObject(d, "seq", (double)g->seq);
    dc_log(dc, PB_LOG_INFO, "gateway: resuming at sequence %lld", g->seq);
    send_op(dc, 6, d, 1);
}

static void on_hello(struct discord *dc, const cJSON *d)
{
    struct dc_gateway *g = &dc->gw;
    const cJSON *hi = cJSON_GetObjectItemCaseSensitive(d, "heartbeat_interval");

    if (g->state != GW_HELLO)
        return;
    if (!cJSON_IsNumber(hi) || hi->valuedouble < 100 || hi->valuedouble > 600000) {
        drop(dc, GW_NEXT_RESUME, backoff(dc), "HELLO without a usable heartbeat interval");
        return;
    }
    g->interval = (uint32_t)hi->valuedouble;
    g->acked = 1;
    dc->host->timer_arm(g->hb_timer, dc_random(g->interval));
    g->state = GW_HANDSHAKE;
    if (g->next == GW_NEXT_RESUME && g->session_id[0])
        resume(dc);
    else
        identify(dc);
}

static void heartbeat_due(void *arg)
{
    struct discord *dc = arg;
    struct dc_gateway *g = &dc->gw;

    if (g->state == GW_HELLO) {
        drop(dc, GW_NEXT_RESUME, backoff(dc), "no HELLO from the gateway");
        return;
    }
    if (g->state != GW_HANDSHAKE && g->state != GW_READY)
        return;
    if (!g->acked) {
        if (dc->host->counter_add)
            dc->host->counter_add(dc->ctx, "gateway_zombies", 1);
        drop(dc, GW_NEXT_RESUME, 0, "no heartbeat ACK since the last heartbeat (zombie link)");
        return;
    }
    g->acked = 0;
    send_heartbeat(dc, 1);
    save_session(dc);
    dc->host->timer_arm(g->hb_timer, g->interval);
}

static void on_ready(struct discord *dc, const cJSON *d)
{
    struct dc_gateway *g = &dc->gw;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(d, "user");
    const cJSON *app = cJSON_GetObjectItemCaseSensitive(d, "application");
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(d, "session_id");
    const cJSON *rurl = cJSON_GetObjectItemCaseSensitive(d, "resume_gateway_url");

    if (!cJSON_IsString(sid) || strlen(sid->valuestring) >= sizeof(g->session_id)) {
        drop(dc, GW_NEXT_IDENTIFY, backoff(dc), "READY without a session id");
        return;
    }
    memcpy(g->session_id, sid->valuestring, strlen(sid->valuestring) + 1);
    g->resume_url[0] = '\0';
    copy_str(g->resume_url, sizeof(g->resume_url), rurl);
    if (!g->resume_url[0])
        memcpy(g->resume_url, g->url, strlen(g->url) + 1);
    dc_id(cJSON_GetObjectItemCaseSensitive(user, "id"), g->bot_id, sizeof(g->bot_id));
    dc_id(cJSON_GetObjectItemCaseSensitive(app, "id"), g->app_id, sizeof(g->app_id));
    g->state = GW_READY;
    g->failures = 0;
    save_session(dc);
    dc_log(dc, PB_LOG_INFO, "gateway: ready as user %s (application %s)", g->bot_id,
           g->app_id[0] ? g->app_id : "?");
    dc_report_connection(dc, 1, "gateway session ready");
}

static void on_dispatch(struct discord *dc, const char *t, const cJSON *d)
{
    struct dc_gateway *g = &dc->gw;

    if (strcmp(t, "READY") == 0) {
        on_ready(dc, d);
        return;
    }
    if (strcmp(t, "RESUMED") == 0) {
        g->state = GW_READY;
        g->failures = 0;
        save_session(dc);
        dc_log(dc, PB_LOG_INFO, "gateway: resumed at sequence %lld", g->seq);
        dc_report_connection(dc, 1, "gateway session resumed");
        return;
    }
    dc_events_dispatch(dc, t, d);
}

static void on_message(void *arg, pb_ws *ws, const char *data, size_t len)
{
    struct discord *dc = arg;
    struct dc_gateway *g = &dc->gw;
    cJSON *frame, *op, *s, *t, *d;

    if (ws != g->ws || g->state == GW_CLOSING || g->state == GW_FATAL || g->state == GW_STOPPED)
        return;
    frame = cJSON_ParseWithLength(data, len);
    op = cJSON_GetObjectItemCaseSensitive(frame, "op");
    if (!cJSON_IsNumber(op)) {
        dc_log(dc, PB_LOG_DEBUG, "gateway: a frame without an op was ignored");
        cJSON_Delete(frame);
        return;
    }
    s = cJSON_GetObjectItemCaseSensitive(frame, "s");
    t = cJSON_GetObjectItemCaseSensitive(frame, "t");
    d = cJSON_GetObjectItemCaseSensitive(frame, "d");
    if (cJSON_IsNumber(s) && s->valuedouble > (double)g->seq)
        g->seq = (long long)s->valuedouble;
    switch (op->valueint) {
    case 0:
        if (cJSON_IsString(t))
            on_dispatch(dc, t->valuestring, d);
        break;
    case 1: /* Discord asks for a heartbeat now; our own schedule stays as it is */
        send_heartbeat(dc, 0);
        break;
    case 7:
        drop(dc, GW_NEXT_RESUME, 0, "Discord asked us to reconnect (op 7)");
        break;
    case 9:
        if (cJSON_IsTrue(d)) {
            drop(dc, GW_NEXT_RESUME, backoff(dc), "invalid session, resumable (op 9)");
        } else {
            forget_session(dc);
            drop(dc, GW_NEXT_IDENTIFY, 1000 + dc_random(4001),
                 "invalid session, not resumable (op 9)");
        }
        break;
    case 10:
        on_hello(dc, d);
        break;
    case 11:
        g->acked = 1;
        break;
    default:
        break;
    }
    cJSON_Delete(frame);
}

static void on_close(void *arg, pb_ws *ws, int code, const char *reason)
{
    struct discord *dc = arg;
    struct dc_gateway *g = &dc->gw;
    enum close_class cls;
    int was_up;

    if (ws != g->ws)
        return; /* a link we already gave up on */
    g->ws = NULL;
    dc->host->timer_cancel(g->hb_timer);
    if (g->state == GW_STOPPED || g->state == GW_FATAL)
        return;
    if (g->state == GW_CLOSING) {
        schedule(dc, g->next, g->next_delay_ms);
        return;
    }
    was_up = g->state == GW_READY;
    cls = classify_close(code);
    if (cls == CLOSE_FATAL) {
        forget_session(dc);
        dc_fatal(dc, close_meaning(code));
        return;
    }
    dc_log(dc, PB_LOG_WARNING, "gateway closed (%d%s%s)", code, reason && *reason ? ": " : "",
           reason ? reason : "");
    if (cls == CLOSE_IDENTIFY)
        forget_session(dc);
    else
        save_session(dc);
    if (!was_up)
        g->failures++;
    if (g->failures >= 3)
        dc_report_connection(dc, 0, "the gateway cannot be reached");
    schedule(dc, cls == CLOSE_IDENTIFY ? GW_NEXT_IDENTIFY : GW_NEXT_RESUME,
             was_up ? dc_random(1000) : backoff(dc));
}

/* ---- connecting ---- */

static void open_socket(struct discord *dc, const char *base)
{
    struct dc_gateway *g = &dc->gw;
    char url[DC_MAX_URL + 32];
    size_t n = strlen(base);

    /* The query goes after a '/', whether or not the URL has one. */
    snprintf(url, sizeof(url), "%s%s?v=10&encoding=json", base, n && base[n - 1] == '/' ? "" : "/");
    g->state = GW_CONNECTING;
    g->ws = dc->host->ws_connect(dc->ctx, url, &g->ops, dc);
    if (!g->ws) {
        g->failures++;
        dc_log(dc, PB_LOG_WARNING, "gateway: could not open %s", base);
        schedule(dc, g->next, backoff(dc));
    }
}

static void got_gateway(struct discord *dc, void *arg, const struct dc_rest_result *r)
{
    struct dc_gateway *g = &dc->gw;
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(r->json, "url");
    const cJSON *ssl = cJSON_GetObjectItemCaseSensitive(r->json, "session_start_limit");
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(ssl, "remaining");
    const cJSON *after = cJSON_GetObjectItemCaseSensitive(ssl, "reset_after");
    int64_t now = now_ms(dc), wait;

    (void)arg;
    if (g->state != GW_FETCHING)
        return;
    if (r->status == 200 && cJSON_IsString(url) && strlen(url->valuestring) < sizeof(g->url)) {
        if (!dc->gateway_override[0] && strcmp(g->url, url->valuestring) != 0) {
            memcpy(g->url, url->valuestring, strlen(url->valuestring) + 1);
            dc->host->kv_put(dc->ctx, KV_GATEWAY_URL, g->url);
        }
        g->identify_remaining = cJSON_IsNumber(rem) ? (long)rem->valuedouble : -1;
        g->identify_reset_at = now + (cJSON_IsNumber(after) ? (int64_t)after->valuedouble : 0);
    } else if (r->status == 401) {
        return; /* the REST queue already stopped the connector */
    } else if (!g->url[0]) {
        g->failures++;
        dc_log(dc, PB_LOG_WARNING, "gateway: GET /gateway/bot failed (%d %s)", r->status,
               r->error ? r->error : "");
        schedule(dc, GW_NEXT_IDENTIFY, backoff(dc));
        return;
    }
    /* No identifies left today: wait for the budget to come back rather than lose the token. */
    if (g->identify_remaining == 0 && g->identify_reset_at > now) {
        wait = g->identify_reset_at - now;
        dc_log(dc, PB_LOG_WARNING,
               "gateway: no session starts left; waiting %lld s (session_start_limit)",
               (long long)(wait / 1000));
        g->identify_remaining = -1;
        schedule(dc, GW_NEXT_IDENTIFY, (uint32_t)(wait < 86400000 ? wait : 86400000));
        return;
    }
    wait = g->last_identify_ms ? g->last_identify_ms + DC_IDENTIFY_SPACING - now : 0;
    if (wait > 0) {
        schedule(dc, GW_NEXT_IDENTIFY, (uint32_t)wait);
        return;
    }
    g->next = GW_NEXT_IDENTIFY;
    open_socket(dc, g->url);
}

static void fetch_gateway(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;

    g->state = GW_FETCHING;
    if (dc_rest(dc, "GET", "/gateway/bot", NULL, 0, NULL, got_gateway, NULL) != 0) {
        g->failures++;
        schedule(dc, GW_NEXT_IDENTIFY, backoff(dc));
    }
}

static void connect_next(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;

    if (g->next == GW_NEXT_RESUME && g->session_id[0] && g->resume_url[0]) {
        open_socket(dc, g->resume_url);
        return;
    }
    g->next = GW_NEXT_IDENTIFY;
    fetch_gateway(dc);
}

static void retry_due(void *arg)
{
    struct discord *dc = arg;
    struct dc_gateway *g = &dc->gw;

    if (g->state == GW_CLOSING) {
        /* The close never finished: forget that link (its on_close is ignored) and go on. */
        dc_log(dc, PB_LOG_WARNING, "gateway: the old link did not close in time; abandoned");
        g->ws = NULL;
        schedule(dc, g->next, g->next_delay_ms);
        return;
    }
    if (g->state != GW_WAITING)
        return;
    connect_next(dc);
}

int dc_gateway_start(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;

    g->ops.size = sizeof(g->ops);
    g->ops.on_open = on_open;
    g->ops.on_message = on_message;
    g->ops.on_close = on_close;
    g->seq = -1;
    g->identify_remaining = -1;
    g->hb_timer = dc->host->timer_new(dc->ctx, heartbeat_due, dc);
    g->retry_timer = dc->host->timer_new(dc->ctx, retry_due, dc);
    if (!g->hb_timer || !g->retry_timer)
        return PB_ERR_NOMEM;
    load_state(dc);
    if (dc->gateway_override[0])
        snprintf(g->url, sizeof(g->url), "%s", dc->gateway_override);
    if (g->session_id[0]) {
        dc_log(dc, PB_LOG_INFO, "gateway: resuming the session kept from the last run");
        g->next = GW_NEXT_RESUME;
        open_socket(dc, g->resume_url);
    } else {
        g->next = GW_NEXT_IDENTIFY;
        fetch_gateway(dc);
    }
    return 0;
}

/* Closes with 4000 rather than 1000: a restarted daemon can still resume this session. */
void dc_gateway_stop(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;

    if (g->state == GW_STOPPED)
        return;
    save_session(dc);
    g->state = GW_STOPPED;
    if (g->hb_timer)
        dc->host->timer_cancel(g->hb_timer);
    if (g->retry_timer)
        dc->host->timer_cancel(g->retry_timer);
    if (g->ws)
        dc->host->ws_close(g->ws, DC_CLOSE_RESUMABLE, "stopping");
}

void dc_gateway_free(struct discord *dc)
{
    struct dc_gateway *g = &dc->gw;

    if (g->hb_timer)
        dc->host->timer_free(g->hb_timer);
    if (g->retry_timer)
        dc->host->timer_free(g->retry_timer);
    g->hb_timer = g->retry_timer = NULL;
}

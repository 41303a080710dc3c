/*
 * REST calls to Discord through a queue that never trips its rate limits.
 *
 * Discord's limits are learned, never hard-coded: each response names its bucket
 * (X-RateLimit-Bucket) and says how many calls remain and when the bucket resets. A bucket is
 * shared by related routes and split by the route's "major parameter" (the channel, guild or
 * webhook id), so the limiter keys a bucket by (bucket id, major parameter), and a route whose
 * bucket is not known yet by (route, major parameter). Before a call, a bucket known to be
 * empty makes it wait for its reset; one call per bucket is in flight at a time, so what the
 * last response said is still true when the next call leaves. On top, at most 50 calls a
 * second leave (Discord's global limit; interaction callbacks are outside it).
 *
 * A 429 is waited out (retry_after, in seconds with decimals) and the call goes again: a
 * limit never loses a message. A 401 means the token is no good: every queued call fails at
 * once and none is sent again (401s count towards Cloudflare's invalid-request ban).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discord.h"

#define MAX_IN_FLIGHT   16
#define MAX_BUCKETS     512
#define REST_TIMEOUT_MS 15000
#define GLOBAL_PER_SEC  50

struct dc_rest_req {
    struct dc_rest_req *next;
    struct discord *dc;
    char method[8];
    char *path;
    char *body;
    char *serial;
    char route[128]; /* method and path with ids replaced: "POST /channels/:id/messages" */
    char major[DC_MAX_ID + 16];
    unsigned flags;
    int in_flight;
    int64_t not_before; /* after a 429 */
    unsigned attempts;
    dc_rest_fn fn;
    void *arg;
};

struct dc_bucket {
    struct dc_bucket *next;
    char route[128]; /* the route this was learned from */
    char hash[64];   /* X-RateLimit-Bucket, or "" while unknown */
    char major[DC_MAX_ID + 16];
    long remaining; /* -1: unknown */
    int64_t reset_at;
};

static int64_t now_ms(struct discord *dc)
{
    return dc->host->now_ms(dc->ctx);
}

static int is_id(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The route template and the major parameter. Ids become ":id"; an interaction's token
 * becomes ":token"; the first id after channels, guilds or webhooks (or an interaction's id)
 * is the major parameter. */
static void classify(struct dc_rest_req *r)
{
    const char *p = r->path;
    size_t o = (size_t)snprintf(r->route, sizeof(r->route), "%s ", r->method);
    char prev[32] = "";
    int after_interaction = 0;

    r->major[0] = '\0';
    while (*p == '/' && o < sizeof(r->route) - 1) {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/?");
        const char *shown = seg;
        size_t shown_n = n;
        if (is_id(seg, n)) {
            if (!r->major[0] &&
                (strcmp(prev, "channels") == 0 || strcmp(prev, "guilds") == 0 ||
                 strcmp(prev, "webhooks") == 0 || strcmp(prev, "interactions") == 0))
                snprintf(r->major, sizeof(r->major), "%s/%.*s", prev, (int)n, seg);
            shown = ":id";
            shown_n = 3;
            after_interaction = strcmp(prev, "interactions") == 0;
        } else if (after_interaction) {
            shown = ":token";
            shown_n = 6;
            after_interaction = 0;
        }
        o += (size_t)snprintf(r->route + o, sizeof(r->route) - o, "/%.*s", (int)shown_n, shown);
        snprintf(prev, sizeof(prev), "%.*s", (int)(n < 31 ? n : 31), seg);
        p = seg + n;
    }
}

static struct dc_bucket *bucket_find(struct discord *dc, const struct dc_rest_req *r, int create)
{
    struct dc_bucket *b, *hash_of_route = NULL;
    size_t n = 0;

    /* The bucket id this route was last seen with, if any. */
    for (b = dc->buckets; b; b = b->next)
        if (strcmp(b->route, r->route) == 0 && b->hash[0]) {
            hash_of_route = b;
            break;
        }
    for (b = dc->buckets; b; b = b->next, n++) {
        if (strcmp(b->major, r->major) != 0)
            continue;
        if (hash_of_route ? strcmp(b->hash, hash_of_route->hash) == 0
                          : strcmp(b->route, r->route) == 0)
            return b;
    }
    if (!create)
        return NULL;
    if (n >= MAX_BUCKETS) {
        /* Forget the oldest half: a bucket not seen for long has reset anyway. */
        struct dc_bucket **pp = &dc->buckets;
        for (size_t i = 0; *pp && i < MAX_BUCKETS / 2; i++)
            pp = &(*pp)->next;
        while (*pp) {
            struct dc_bucket *dead = *pp;
            *pp = dead->next;
            free(dead);
        }
    }
    b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    snprintf(b->route, sizeof(b->route), "%s", r->route);
    snprintf(b->major, sizeof(b->major), "%s", r->major);
    if (hash_of_route)
        snprintf(b->hash, sizeof(b->hash), "%s", hash_of_route->hash);
    b->remaining = -1;
    b->next = dc->buckets;
    dc->buckets = b;
    return b;
}

static void req_free(struct dc_rest_req *r)
{
    free(r->path);
    free(r->body);
    free(r->serial);
    free(r);
}

static void unlink_req(struct discord *dc, struct dc_rest_req *r)
{
    for (struct dc_rest_req **pp = &dc->queue; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            return;
        }
}

static void finish(struct discord *dc, struct dc_rest_req *r, int status, const char *body,
                   size_t body_len, const char *error)
{
    struct dc_rest_result res = {.status = status, .error = error};
    cJSON *code;

    unlink_req(dc, r);
    if (body && body_len)
        res.json = cJSON_ParseWithLength(body, body_len);
    code = cJSON_GetObjectItemCaseSensitive(res.json, "code");
    if (status >= 400 && cJSON_IsNumber(code))
        res.code = code->valueint;
    if (r->fn)
        r->fn(dc, r->arg, &res);
    cJSON_Delete(res.json);
    req_free(r);
}

static double header_double(const struct pb_http_response *resp, const char *name, int *found)
{
    const char *v = resp->header ? resp->header(resp, name) : NULL;

    *found = v != NULL;
    return v ? strtod(v, NULL) : 0;
}

static void learn(struct discord *dc, struct dc_rest_req *r, const struct pb_http_response *resp)
{
    const char *hash = resp->header ? resp->header(resp, "x-ratelimit-bucket") : NULL;
    int has_rem, has_after;
    double rem = header_double(resp, "x-ratelimit-remaining", &has_rem);
    double after = header_double(resp, "x-ratelimit-reset-after", &has_after);
    struct dc_bucket *b;

    if (!hash && !has_rem)
        return;
    b = bucket_find(dc, r, 1);
    if (!b)
        return;
    if (hash && strcmp(b->hash, hash) != 0) {
        /* The route's bucket id changed or became known: every bucket of this route follows. */
        for (struct dc_bucket *o = dc->buckets; o; o = o->next)
            if (strcmp(o->route, r->route) == 0)
                snprintf(o->hash, sizeof(o->hash), "%s", hash);
    }
    if (has_rem)
        b->remaining = (long)rem;
    if (has_after)
        b->reset_at = now_ms(dc) + (int64_t)(after * 1000.0 + 0.999);
}

static void pump(struct discord *dc);

static void rate_limited(struct discord *dc, struct dc_rest_req *r,
                         const struct pb_http_response *resp)
{
    cJSON *json = resp->body_len ? cJSON_ParseWithLength(resp->body, resp->body_len) : NULL;
    cJSON *ra = cJSON_GetObjectItemCaseSensitive(json, "retry_after");
    cJSON *global = cJSON_GetObjectItemCaseSensitive(json, "global");
    const char *gh = resp->header ? resp->header(resp, "x-ratelimit-global") : NULL;
    const char *scope = resp->header ? resp->header(resp, "x-ratelimit-scope") : NULL;
    int64_t wait;

    if (cJSON_IsNumber(ra))
        wait = (int64_t)(ra->valuedouble * 1000.0 + 0.999);
    else
        wait = resp->retry_after_ms ? resp->retry_after_ms : 1000;
    if (wait < 1)
        wait = 1;
    if (wait > 3600000)
        wait = 3600000;
    r->not_before = now_ms(dc) + wait;
    if (cJSON_IsTrue(global) || (gh && strcmp(gh, "true") == 0)) {
        dc->global_until = r->not_before;
    } else if (!scope || strcmp(scope, "shared") != 0) {
        struct dc_bucket *b = bucket_find(dc, r, 1);
        if (b) {
            b->remaining = 0;
            b->reset_at = r->not_before;
        }
    }
    dc_log(dc, PB_LOG_INFO, "rate limited on %s (%s); waiting %lld ms", r->route,
           cJSON_IsTrue(global) ? "global" : (scope ? scope : "route"), (long long)wait);
    if (dc->host->counter_add)
        dc->host->counter_add(dc->ctx, "rate_limited", 1);
    cJSON_Delete(json);
}

static void fail_all(struct discord *dc, int status, const char *error)
{
    struct dc_rest_req *r = dc->queue, *next;

    for (; r; r = next) {
        next = r->next;
        if (!r->in_flight)
            finish(dc, r, status, NULL, 0, error);
    }
}

static void done(void *arg, const struct pb_http_response *resp)
{
    struct dc_rest_req *r = arg;
    struct discord *dc = r->dc;

    r->in_flight = 0;
    r->attempts++;
    if (resp->status > 0)
        learn(dc, r, resp);
    if (resp->status == 429) {
        rate_limited(dc, r, resp);
        pump(dc);
        return;
    }
    if (resp->status == 401 && !(r->flags & DC_REST_NOAUTH)) {
        finish(dc, r, 401, resp->body, resp->body_len, "the bot token was refused (401)");
        if (!dc->unauthorized) {
            dc->unauthorized = 1;
            dc_fatal(dc, "Discord refused the bot token (HTTP 401); check bot_token and restart");
        }
        fail_all(dc, 401, "the bot token was refused (401)");
        return;
    }
    finish(dc, r, resp->status, resp->body, resp->body_len, resp->error);
    pump(dc);
}

static int send_req(struct discord *dc, struct dc_rest_req *r)
{
    char url[DC_MAX_URL + 512], auth[DC_MAX_TOKEN + 8];
    struct pb_header headers[3];
    size_t nh = 0;
    struct pb_http_request req = {.size = sizeof(req)};

    snprintf(url, sizeof(url), "%s%s", dc->api_base, r->path);
    headers[nh++] = (struct pb_header){"User-Agent", DC_USER_AGENT};
    if (!(r->flags & DC_REST_NOAUTH)) {
        snprintf(auth, sizeof(auth), "Bot %s", dc->token);
        headers[nh++] = (struct pb_header){"Authorization", auth};
    }
    if (r->body)
        headers[nh++] = (struct pb_header){"Content-Type", "application/json"};
    req.method = r->method;
    req.url = url;
    req.headers = headers;
    req.n_headers = nh;
    req.body = r->body;
    req.body_len = r->body ? strlen(r->body) : 0;
    req.timeout_ms = REST_TIMEOUT_MS;
    r->in_flight = 1;
    if (dc->host->http_request(dc->ctx, &req, done, r) != 0) {
        r->in_flight = 0;
        return PB_ERR;
    }
    return 0;
}

/* When r may leave, or 0 if now; -1 if it waits for another call to finish. */
static int64_t blocked_until(struct discord *dc, struct dc_rest_req *r, int64_t now)
{
    int64_t until = 0;
    struct dc_bucket *b;

    for (struct dc_rest_req *o = dc->queue; o && o != r; o = o->next) {
        if (r->serial && o->serial && strcmp(r->serial, o->serial) == 0)
            return -1;
        if (o->in_flight && strcmp(o->route, r->route) == 0 && strcmp(o->major, r->major) == 0)
            return -1;
    }
    if (r->not_before > now)
        until = r->not_before;
    if (!(r->flags & DC_REST_URGENT)) {
        int64_t oldest = dc->global_sends[dc->global_pos];
        if (dc->global_until > now && dc->global_until > until)
            until = dc->global_until;
        if (oldest && oldest + 1000 > now && oldest + 1000 > until)
            until = oldest + 1000;
    }
    b = bucket_find(dc, r, 0);
    if (b && b->remaining == 0 && b->reset_at > now && b->reset_at > until)
        until = b->reset_at;
    return until;
}

static void pump(struct discord *dc)
{
    int64_t now = now_ms(dc), wake = 0;
    size_t in_flight = 0;
    struct dc_rest_req *r;

    for (r = dc->queue; r; r = r->next)
        in_flight += r->in_flight != 0;
    for (r = dc->queue; r && in_flight < MAX_IN_FLIGHT; r = r->next) {
        int64_t until;
        struct dc_bucket *b;
        if (r->in_flight)
            continue;
        until = blocked_until(dc, r, now);
        if (until != 0) {
            if (until > 0 && (wake == 0 || until < wake))
                wake = until;
            continue;
        }
        if (send_req(dc, r) != 0) {
            r->not_before = now + 1000; /* the host could not take it: try again soon */
            if (wake == 0 || r->not_before < wake)
                wake = r->not_before;
            continue;
        }
        in_flight++;
        b = bucket_find(dc, r, 0);
        if (b && b->remaining > 0)
            b->remaining--;
        if (!(r->flags & DC_REST_URGENT)) {
            dc->global_sends[dc->global_pos] = now;
            dc->global_pos = (dc->global_pos + 1) % GLOBAL_PER_SEC;
        }
    }
    if (wake)
        dc->host->timer_arm(dc->rest_timer, (uint64_t)(wake - now));
}

static void rest_timer_fired(void *arg)
{
    pump(arg);
}

int dc_rest(struct discord *dc, const char *method, const char *path, const char *body,
            unsigned flags, const char *serial, dc_rest_fn fn, void *arg)
{
    struct dc_rest_req *r, **tail;

    if (dc->unauthorized)
        return PB_ERR;
    if (dc->stopped)
        return PB_ERR_BUSY;
    r = calloc(1, sizeof(*r));
    if (!r)
        return PB_ERR_NOMEM;
    r->dc = dc;
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->path = strdup(path);
    r->body = body ? strdup(body) : NULL;
    r->serial = serial ? strdup(serial) : NULL;
    if (!r->path || (body && !r->body) || (serial && !r->serial)) {
        req_free(r);
        return PB_ERR_NOMEM;
    }
    r->flags = flags;
    r->fn = fn;
    r->arg = arg;
    classify(r);
    /* Urgent calls (interaction callbacks, with Discord's 3 s deadline) go before the rest. */
    tail = &dc->queue;
    if (flags & DC_REST_URGENT)
        while (*tail && ((*tail)->in_flight || ((*tail)->flags & DC_REST_URGENT)))
            tail = &(*tail)->next;
    else
        while (*tail)
            tail = &(*tail)->next;
    r->next = *tail;
    *tail = r;
    /* Never from inside the caller: its state may not be ready for the answer. */
    dc->host->timer_arm(dc->rest_timer, 0);
    return 0;
}

void dc_rest_init(struct discord *dc)
{
    dc->rest_timer = dc->host->timer_new(dc->ctx, rest_timer_fired, dc);
}

size_t dc_rest_pending(const struct discord *dc)
{
    size_t n = 0;

    for (const struct dc_rest_req *r = dc->queue; r; r = r->next)
        n++;
    return n;
}

void dc_rest_cancel(struct discord *dc, const char *why)
{
    fail_all(dc, 0, why);
}

/* The host finishes every call it took before the connector is destroyed (it stops the HTTP
 * client first), so what is left here was never handed to it; its owner still hears of it. */
void dc_rest_free(struct discord *dc)
{
    while (dc->queue)
        finish(dc, dc->queue, 0, NULL, 0, "the connector is being destroyed");
    while (dc->buckets) {
        struct dc_bucket *b = dc->buckets;
        dc->buckets = b->next;
        free(b);
    }
    if (dc->rest_timer)
        dc->host->timer_free(dc->rest_timer);
    dc->rest_timer = NULL;
}

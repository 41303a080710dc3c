/*
 * Finding a roster person on Slack: users.lookupByEmail gives the id (and the time zone),
 * users.info with include_locale the locale. The result is cached in kv (user/<email>) for
 * user_cache_ttl, so a roster of hundreds does not spend the methods' tiers at every reload.
 * Deleted users and bots are reported with their flags set; the core skips them.
 *
 * Outcomes: PB_OK with the info; PB_ERR_UNKNOWN when Slack has nobody with that address;
 * PB_ERR_BUSY when rate limited or Slack is unwell (ask again later); PB_ERR when the app's
 * setup is wrong (such as the users:read.email scope missing), which the log explains.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

#define MAX_EMAIL 254

struct lookup {
    struct slack *sk;
    uint64_t request;
    pb_timer *timer; /* delivers a cached answer after lookup_user has returned */
    char email[MAX_EMAIL + 1];
    cJSON *user; /* what Slack said (or the cache held) */
    int status;
};

static const char *str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

static void lookup_free(struct lookup *lk)
{
    if (lk->timer)
        lk->sk->host->timer_free(lk->timer);
    cJSON_Delete(lk->user);
    free(lk);
}

static void finish(struct lookup *lk, int status)
{
    struct slack *sk = lk->sk;
    const cJSON *u = lk->user, *profile = cJSON_GetObjectItemCaseSensitive(u, "profile");
    struct pb_user_info info = {.size = sizeof(info)};

    if (sk->destroying) {
        lookup_free(lk);
        return;
    }
    if (status == PB_OK) {
        info.user = str(u, "id");
        info.name = str(profile, "display_name") ? str(profile, "display_name")
                    : str(profile, "real_name")  ? str(profile, "real_name")
                    : str(u, "real_name")        ? str(u, "real_name")
                                                 : str(u, "name");
        info.email = lk->email;
        info.timezone = str(u, "tz");
        info.locale = str(u, "locale");
        info.is_bot = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "is_bot"));
        info.deleted = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(u, "deleted"));
    }
    sk->host->lookup_done(sk->ctx, lk->request, status, status == PB_OK ? &info : NULL);
    lookup_free(lk);
}

static void cache_key(char *key, size_t len, const char *email)
{
    snprintf(key, len, "user/%s", email);
}

/* Keeps only what the lookup reports, with the time it was fetched. */
static void cache_put(struct lookup *lk)
{
    struct slack *sk = lk->sk;
    cJSON *o = cJSON_CreateObject(),
          *profile = cJSON_GetObjectItemCaseSensitive(lk->user, "profile");
    char key[MAX_EMAIL + 8], *json = NULL;
    static const char *const keys[] = {"id", "name", "real_name", "tz", "locale"};

    if (!o)
        return;
    cJSON_AddNumberToObject(o, "at", (double)sk->host->now_ms(sk->ctx));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (str(lk->user, keys[i]))
            cJSON_AddStringToObject(o, keys[i], str(lk->user, keys[i]));
    if (str(profile, "display_name")) {
        cJSON *p = cJSON_AddObjectToObject(o, "profile");
        if (p)
            cJSON_AddStringToObject(p, "display_name", str(profile, "display_name"));
    }
    cJSON_AddBoolToObject(o, "is_bot",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(lk->user, "is_bot")));
    cJSON_AddBoolToObject(o, "deleted",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(lk->user, "deleted")));
    json = cJSON_PrintUnformatted(o);
    cache_key(key, sizeof(key), lk->email);
    if (json && sk->host->kv_put(sk->ctx, key, json) != PB_OK)
        sk_log(sk, PB_LOG_INFO, "could not cache the lookup of a user");
    free(json);
    cJSON_Delete(o);
}

static int status_for(struct slack *sk, const char *method, const struct sk_reply *r)
{
    if (r->fate == SK_FATE_UNREACHABLE)
        return PB_ERR_UNKNOWN;
    if (r->fate == SK_FATE_CONFIG) {
        const cJSON *needed = cJSON_GetObjectItemCaseSensitive(r->json, "needed");
        sk_log(sk, PB_LOG_ERR, "%s: %s%s%s", method, r->error ? r->error : "?",
               cJSON_IsString(needed) ? "; the bot needs scope " : "",
               cJSON_IsString(needed) ? needed->valuestring : "");
        return PB_ERR;
    }
    return PB_ERR_BUSY;
}

static void info_done(void *arg, const struct sk_reply *r)
{
    struct lookup *lk = arg;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(r->json, "user");
    const char *locale = str(user, "locale"), *tz = str(user, "tz");

    if (lk->sk->destroying) {
        lookup_free(lk);
        return;
    }
    /* users.info adds the locale; without it the first answer is still good. */
    if (r->fate == SK_FATE_OK) {
        if (locale)
            cJSON_AddStringToObject(lk->user, "locale", locale);
        if (tz && !str(lk->user, "tz"))
            cJSON_AddStringToObject(lk->user, "tz", tz);
        cache_put(lk);
    } else if (r->fate == SK_FATE_RETRY) {
        finish(lk, PB_ERR_BUSY);
        return;
    }
    finish(lk, PB_OK);
}

static void email_done(void *arg, const struct sk_reply *r)
{
    struct lookup *lk = arg;
    struct slack *sk = lk->sk;
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(r->json, "user");
    char query[96];

    if (sk->destroying) {
        lookup_free(lk);
        return;
    }
    if (r->fate != SK_FATE_OK) {
        finish(lk, status_for(sk, "users.lookupByEmail", r));
        return;
    }
    if (!str(user, "id")) {
        finish(lk, PB_ERR_BUSY);
        return;
    }
    lk->user = cJSON_Duplicate(user, 1);
    if (!lk->user) {
        finish(lk, PB_ERR_BUSY);
        return;
    }
    /* Deleted users and bots need no locale: they are skipped. */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(user, "deleted")) ||
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(user, "is_bot"))) {
        cache_put(lk);
        finish(lk, PB_OK);
        return;
    }
    snprintf(query, sizeof(query), "include_locale=true&user=");
    if (slack_api_form_escape(str(user, "id"), query, sizeof(query)) != 0 ||
        slack_api_call(sk, "users.info", SK_BODY_QUERY, query, 0, NULL, info_done, lk) != PB_OK)
        finish(lk, PB_OK);
}

static void cached_fired(void *arg)
{
    struct lookup *lk = arg;

    finish(lk, lk->status);
}

static int email_valid(const char *e)
{
    size_t n = e ? strlen(e) : 0;
    const char *at = e ? strchr(e, '@') : NULL;

    if (n < 3 || n > MAX_EMAIL || !at || at == e || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (; *e; e++)
        if ((unsigned char)*e <= ' ' || *e == '<' || *e == '>' || *e == '"')
            return 0;
    return 1;
}

/* A fresh cached answer, or NULL. */
static cJSON *cache_get(struct slack *sk, const char *email)
{
    char key[MAX_EMAIL + 8], *value = NULL;
    cJSON *o = NULL;
    const cJSON *at;

    cache_key(key, sizeof(key), email);
    if (sk->host->kv_get(sk->ctx, key, &value) != PB_OK || !value)
        return NULL;
    o = cJSON_Parse(value);
    free(value);
    at = cJSON_GetObjectItemCaseSensitive(o, "at");
    if (!cJSON_IsNumber(at) || !str(o, "id") ||
        sk->host->now_ms(sk->ctx) - (int64_t)at->valuedouble > sk->user_ttl_ms) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int slack_lookup_user(struct slack *sk, uint64_t request, const char *email)
{
    struct lookup *lk;
    char query[MAX_EMAIL * 3 + 16];

    if (!sk->host->lookup_done || sk->host->size < offsetof(struct pb_host, reserved))
        return PB_ERR;
    if (sk->stopped)
        return PB_ERR_BUSY;
    if (!email_valid(email))
        return PB_ERR_INVALID;
    lk = calloc(1, sizeof(*lk));
    if (!lk)
        return PB_ERR_NOMEM;
    lk->sk = sk;
    lk->request = request;
    /* Addresses are matched without regard to case, so they are cached that way. */
    for (size_t i = 0; email[i]; i++)
        lk->email[i] = (char)tolower((unsigned char)email[i]);
    lk->user = cache_get(sk, lk->email);
    if (lk->user) {
        lk->timer = sk->host->timer_new(sk->ctx, cached_fired, lk);
        if (!lk->timer) {
            lookup_free(lk);
            return PB_ERR_NOMEM;
        }
        lk->status = PB_OK;
        if (sk->host->counter_add)
            sk->host->counter_add(sk->ctx, "user_cache_hits", 1);
        sk->host->timer_arm(lk->timer, 0);
        return PB_OK;
    }
    snprintf(query, sizeof(query), "email=");
    if (slack_api_form_escape(email, query, sizeof(query)) != 0 ||
        slack_api_call(sk, "users.lookupByEmail", SK_BODY_QUERY, query, 0, NULL, email_done, lk) !=
            PB_OK) {
        lookup_free(lk);
        return PB_ERR_BUSY;
    }
    return PB_OK;
}

/*
 * Signing in: the first frame names the person, by a personal link token (checked by the host,
 * which signed it) or, in the demo only, by a user picked from the roster. The answer is the
 * welcome: who they are, their conversations (their direct messages and each channel they
 * belong to) and each conversation's kept history.
 *
 * Refusals close the connection: 1008 when the client must not try again as it is (bad or
 * expired link, unknown person), 1011 when the fault is ours and a retry may work.
 */
#include <stdlib.h>
#include <string.h>

#include "webchat.h"

#define MAX_PEOPLE   2000
#define MAX_CHANNELS 200

struct lookup {
    const char *user;
    char name[WC_MAX_NAME + 1];
    int found;
};

static void copy_name(char *dst, size_t len, const char *name)
{
    char *s = webchat_text_dup(name, len - 1, NULL);

    dst[0] = '\0';
    if (s) {
        strcpy(dst, s);
        free(s);
    }
}

static int find_person(void *arg, const char *user, const char *name)
{
    struct lookup *l = arg;

    if (!l->found && user && strcmp(user, l->user) == 0) {
        l->found = 1;
        copy_name(l->name, sizeof(l->name), name && *name ? name : user);
    }
    return 0;
}

struct channels {
    struct wc_conn *c;
    cJSON *conversations;
    int failed;
};

static int add_channel(void *arg, const char *channel, const char *title)
{
    struct channels *ch = arg;
    struct wc_conn *c = ch->c;
    char conv[WC_MAX_CONV];
    char t[WC_MAX_NAME + 1];
    char **grown;
    cJSON *o;

    if (ch->failed || c->n_channels >= MAX_CHANNELS || !webchat_id_valid(channel))
        return 0;
    for (size_t i = 0; i < c->n_channels; i++)
        if (strcmp(c->channels[i], channel) == 0)
            return 0;
    grown = realloc(c->channels, (c->n_channels + 1) * sizeof(*grown));
    if (!grown) {
        ch->failed = 1;
        return 0;
    }
    c->channels = grown;
    c->channels[c->n_channels] = strdup(channel);
    if (!c->channels[c->n_channels]) {
        ch->failed = 1;
        return 0;
    }
    c->n_channels++;
    webchat_conv_for_target(PB_TARGET_CHANNEL, channel, conv, sizeof(conv));
    copy_name(t, sizeof(t), title && *title ? title : channel);
    o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "id", conv) || !cJSON_AddStringToObject(o, "title", t))
        ch->failed = 1;
    cJSON_AddItemToArray(ch->conversations, o);
    return 0;
}

/* The user named by the first frame, or a refusal (and a nonzero return). */
static int identify(struct wc_conn *c, const cJSON *frame, char *user, size_t len)
{
    struct webchat *wc = c->wc;
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(frame, "token");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(frame, "user");
    int rc;

    if (token) {
        size_t tlen = cJSON_IsString(token) ? strlen(token->valuestring) : 0;
        if (tlen == 0 || tlen > WC_MAX_TOKEN) {
            webchat_ws_refuse(c, WC_CLOSE_POLICY, "This link is not valid.");
            return PB_ERR_INVALID;
        }
        user[0] = '\0';
        rc = wc->host->link_verify(wc->ctx, token->valuestring, user, len);
        if (rc == PB_OK && webchat_id_valid(user))
            return 0;
        wc_log(wc, PB_LOG_NOTICE, "refused a personal link (%d)", rc);
        if (rc == PB_ERR_EXPIRED)
            webchat_ws_refuse(c, WC_CLOSE_POLICY, "This link has expired. Ask for a new one.");
        else if (rc == PB_ERR_BUSY || rc == PB_ERR_STORE || rc == PB_ERR_NOMEM)
            webchat_ws_refuse(c, WC_CLOSE_INTERNAL, "Could not check this link. Try again.");
        else
            webchat_ws_refuse(c, WC_CLOSE_POLICY, "This link is not valid.");
        return rc ? rc : PB_ERR_INVALID;
    }
    if (!name) {
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Say hello with your link's token.");
        return PB_ERR_INVALID;
    }
    if (!wc->demo_login) {
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Sign in with your personal link.");
        return PB_ERR_INVALID;
    }
    if (!cJSON_IsString(name) || !webchat_id_valid(name->valuestring)) {
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Unknown user.");
        return PB_ERR_UNKNOWN;
    }
    strcpy(user, name->valuestring); /* webchat_id_valid bounds it to WC_MAX_ID < len */
    c->demo = 1;
    return 0;
}

static cJSON *conversation(const char *id, const char *title)
{
    cJSON *o = cJSON_CreateObject();

    if (o &&
        (!cJSON_AddStringToObject(o, "id", id) || !cJSON_AddStringToObject(o, "title", title))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Builds the welcome; on failure the caller refuses the connection. */
static int welcome(struct wc_conn *c, cJSON **out)
{
    struct webchat *wc = c->wc;
    char dm[WC_MAX_CONV];
    cJSON *w = cJSON_CreateObject(), *convs, *history, *item;
    struct channels ch = {.c = c};
    int rc = PB_ERR_NOMEM;

    *out = NULL;
    webchat_conv_for_target(PB_TARGET_PERSON, c->user, dm, sizeof(dm));
    if (!w || !cJSON_AddStringToObject(w, "type", "welcome") ||
        !cJSON_AddStringToObject(w, "user", c->user) ||
        !cJSON_AddStringToObject(w, "name", c->name) ||
        !cJSON_AddBoolToObject(w, "demo", c->demo) ||
        !cJSON_AddNumberToObject(w, "max_text", (double)wc->max_message) ||
        !(convs = cJSON_AddArrayToObject(w, "conversations")) ||
        !(history = cJSON_AddObjectToObject(w, "history")))
        goto out;
    item = conversation(dm, "Direct messages");
    if (!item)
        goto out;
    cJSON_AddItemToArray(convs, item);
    ch.conversations = convs;
    rc = wc->host->directory_channels(wc->ctx, c->user, add_channel, &ch);
    if (rc || ch.failed) {
        rc = rc ? PB_ERR_STORE : PB_ERR_NOMEM;
        goto out;
    }
    cJSON_ArrayForEach(item, convs)
    {
        const char *id = cJSON_GetObjectItemCaseSensitive(item, "id")->valuestring;
        cJSON *arr = cJSON_AddArrayToObject(history, id);
        if (!arr) {
            rc = PB_ERR_NOMEM;
            goto out;
        }
        rc = webchat_history_load(wc, id, arr);
        if (rc)
            goto out;
    }
    *out = w;
    w = NULL;
    rc = 0;
out:
    cJSON_Delete(w);
    return rc;
}

int webchat_hello(struct wc_conn *c, const cJSON *frame)
{
    struct webchat *wc = c->wc;
    /* Larger than any id we accept, so a longer one is refused rather than cut short. */
    char user[4 * WC_MAX_ID];
    struct lookup l = {.user = user};
    cJSON *w = NULL;
    int rc;

    rc = identify(c, frame, user, sizeof(user));
    if (rc)
        return rc;
    rc = wc->host->directory_people(wc->ctx, find_person, &l);
    if (rc) {
        webchat_ws_refuse(c, WC_CLOSE_INTERNAL, "Could not look you up. Try again.");
        return rc;
    }
    if (!l.found) {
        wc_log(wc, PB_LOG_NOTICE, "refused a sign-in: no person \"%s\" here", user);
        webchat_ws_refuse(c, WC_CLOSE_POLICY, "Unknown user.");
        return PB_ERR_UNKNOWN;
    }
    strcpy(c->user, user);
    strcpy(c->name, l.name);
    rc = welcome(c, &w);
    if (rc) {
        wc_log(wc, PB_LOG_WARNING, "could not build the welcome for %s (%d)", c->user, rc);
        webchat_ws_refuse(c, WC_CLOSE_INTERNAL, "Could not load your conversations. Try again.");
        return rc;
    }
    c->ready = 1;
    webchat_ws_send_json(c, w);
    cJSON_Delete(w);
    wc_log(wc, PB_LOG_INFO, "%s signed in%s", c->user, c->demo ? " (demo)" : "");
    if (wc->host->counter_add)
        wc->host->counter_add(wc->ctx, "sign_ins", 1);
    return 0;
}

struct people {
    cJSON *arr;
    size_t n;
    int failed;
};

static int add_person(void *arg, const char *user, const char *name)
{
    struct people *p = arg;
    char n[WC_MAX_NAME + 1];
    cJSON *o;

    if (p->failed || p->n >= MAX_PEOPLE || !webchat_id_valid(user))
        return 0;
    copy_name(n, sizeof(n), name && *name ? name : user);
    o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "user", user) || !cJSON_AddStringToObject(o, "name", n))
        p->failed = 1;
    cJSON_AddItemToArray(p->arr, o);
    p->n++;
    return 0;
}

/* The demo's "Who are you?" list. Only asked for when demo_login is on. */
int webchat_people(struct wc_conn *c)
{
    struct webchat *wc = c->wc;
    cJSON *o = cJSON_CreateObject();
    struct people p = {0};
    int rc = PB_ERR_NOMEM;

    if (!o || !cJSON_AddStringToObject(o, "type", "people") ||
        !(p.arr = cJSON_AddArrayToObject(o, "people")))
        goto out;
    rc = wc->host->directory_people(wc->ctx, add_person, &p);
    if (rc || p.failed) {
        webchat_ws_refuse(c, WC_CLOSE_INTERNAL, "Could not list people. Try again.");
        rc = rc ? rc : PB_ERR_NOMEM;
        goto out;
    }
    webchat_ws_send_json(c, o);
out:
    cJSON_Delete(o);
    return rc;
}

/*
 * A core message as the page sees it: one JSON object per message, the same shape whether it
 * is pushed live, replayed in the welcome or kept in the key/value store. Every string is
 * bounded and made valid UTF-8 here; cJSON escapes it and the page sets it as textContent, so
 * nothing a person wrote can become markup.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "webchat.h"

#define MAX_TITLE   1024
#define MAX_TEXT    32768
#define MAX_LABEL   256
#define MAX_VALUE   4096
#define MAX_NOTE    2048
#define MAX_FIELDS  32
#define MAX_BUTTONS 32

/* Adds `s` bounded to `max` bytes, or null when the core left it out. */
static int add_text(cJSON *obj, const char *key, const char *s, size_t max)
{
    char *copy;
    cJSON *item;

    if (!s)
        return cJSON_AddNullToObject(obj, key) ? 0 : PB_ERR_NOMEM;
    copy = webchat_text_dup(s, max, NULL);
    if (!copy)
        return PB_ERR_NOMEM;
    item = cJSON_AddStringToObject(obj, key, copy);
    free(copy);
    return item ? 0 : PB_ERR_NOMEM;
}

static const char *kind_name(enum pb_message_kind kind)
{
    switch (kind) {
    case PB_MESSAGE_QUESTION:
        return "question";
    case PB_MESSAGE_ALERT:
        return "alert";
    default:
        return "text";
    }
}

static const char *style_name(enum pb_button_style style)
{
    switch (style) {
    case PB_BUTTON_PRIMARY:
        return "primary";
    case PB_BUTTON_DANGER:
        return "danger";
    default:
        return "default";
    }
}

/* The fields the page reads in every message, so a client never has to guess what is absent. */
static cJSON *message_head(const char *kind, const char *conversation, const char *ref,
                           const char *from, int64_t at)
{
    cJSON *obj = cJSON_CreateObject();

    if (!obj)
        return NULL;
    if (!cJSON_AddStringToObject(obj, "type", "message") ||
        !cJSON_AddStringToObject(obj, "conversation", conversation) ||
        !cJSON_AddStringToObject(obj, "ref", ref) || !cJSON_AddStringToObject(obj, "kind", kind) ||
        !cJSON_AddStringToObject(obj, "from", from) ||
        !cJSON_AddNumberToObject(obj, "at", (double)at)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

static int add_fields(cJSON *obj, const struct pb_message *msg)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "fields");
    size_t n = msg->fields ? msg->n_fields : 0;

    if (!arr)
        return PB_ERR_NOMEM;
    /* Fields are supporting detail: past the bound they are dropped, not the message. */
    if (n > MAX_FIELDS)
        n = MAX_FIELDS;
    for (size_t i = 0; i < n; i++) {
        cJSON *f = cJSON_CreateObject();
        if (!f)
            return PB_ERR_NOMEM;
        cJSON_AddItemToArray(arr, f);
        if (add_text(f, "label", msg->fields[i].label ? msg->fields[i].label : "", MAX_LABEL) ||
            add_text(f, "value", msg->fields[i].value ? msg->fields[i].value : "", MAX_VALUE))
            return PB_ERR_NOMEM;
    }
    return 0;
}

static int add_buttons(cJSON *obj, const struct pb_message *msg, const char **error)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "buttons");
    size_t n = msg->buttons ? msg->n_buttons : 0;

    if (!arr)
        return PB_ERR_NOMEM;
    /* A scale cut short or a token cut short would record the wrong answer: refuse instead. */
    if (n > MAX_BUTTONS) {
        *error = "too many buttons";
        return PB_ERR_INVALID;
    }
    for (size_t i = 0; i < n; i++) {
        const struct pb_button *b = &msg->buttons[i];
        cJSON *o;
        size_t tlen = b->token ? strlen(b->token) : 0;

        if (tlen == 0 || tlen > WC_MAX_TOKEN || !webchat_text_valid(b->token, tlen)) {
            *error = "a button token is missing, too long or not UTF-8";
            return PB_ERR_INVALID;
        }
        o = cJSON_CreateObject();
        if (!o)
            return PB_ERR_NOMEM;
        cJSON_AddItemToArray(arr, o);
        if (add_text(o, "label", b->label ? b->label : "", MAX_LABEL) ||
            !cJSON_AddStringToObject(o, "token", b->token) ||
            !cJSON_AddStringToObject(o, "style", style_name(b->style)))
            return PB_ERR_NOMEM;
    }
    return 0;
}

int webchat_render(const struct pb_message *msg, const char *conversation, const char *ref,
                   const char *from, int64_t at, cJSON **out, const char **error)
{
    cJSON *obj = NULL;
    int rc = PB_ERR_NOMEM;

    *out = NULL;
    *error = NULL;
    if (!msg || msg->size < offsetof(struct pb_message, reserved)) {
        *error = "message missing or from an older ABI";
        return PB_ERR_INVALID;
    }
    obj = message_head(kind_name(msg->kind), conversation, ref, from, at);
    if (!obj)
        goto out;
    if (add_text(obj, "title", msg->title, MAX_TITLE) ||
        add_text(obj, "text", msg->text, MAX_TEXT) || add_fields(obj, msg))
        goto out;
    rc = add_buttons(obj, msg, error);
    if (rc)
        goto out;
    rc = PB_ERR_NOMEM;
    if (add_text(obj, "low_label", msg->low_label, MAX_LABEL) ||
        add_text(obj, "high_label", msg->high_label, MAX_LABEL) ||
        add_text(obj, "note", msg->note, MAX_NOTE) ||
        !cJSON_AddBoolToObject(obj, "expects_text", (msg->flags & PB_MESSAGE_EXPECTS_TEXT) != 0) ||
        !cJSON_AddBoolToObject(obj, "closed", (msg->flags & PB_MESSAGE_CLOSED) != 0))
        goto out;
    *out = obj;
    obj = NULL;
    rc = 0;
out:
    cJSON_Delete(obj);
    if (rc == PB_ERR_NOMEM)
        *error = "out of memory";
    return rc;
}

/* What a person wrote in their direct conversation, kept so they see it with the bot's. The
 * text was checked (UTF-8, bounded) before it got here. */
cJSON *webchat_render_user_text(const char *conversation, const char *ref, const char *user,
                                const char *text, int64_t at)
{
    cJSON *obj = message_head("text", conversation, ref, user, at);

    if (!obj)
        return NULL;
    if (!cJSON_AddNullToObject(obj, "title") || !cJSON_AddStringToObject(obj, "text", text) ||
        !cJSON_AddArrayToObject(obj, "fields") || !cJSON_AddArrayToObject(obj, "buttons") ||
        !cJSON_AddNullToObject(obj, "low_label") || !cJSON_AddNullToObject(obj, "high_label") ||
        !cJSON_AddNullToObject(obj, "note") || !cJSON_AddFalseToObject(obj, "expects_text") ||
        !cJSON_AddFalseToObject(obj, "closed")) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/*
 * What a signed-in person does: press a choice, press an action on an alert, write in their
 * direct conversation. Each becomes one event for the core, and the page gets one result for
 * it, {"type":"result","id":N,"ok":...}, sent only after the core said whether it committed.
 *
 * The browser is not trusted: a button press must name an existing message of a conversation
 * the person belongs to. The token itself is the core's to judge (it signed it and knows whom
 * for, and says "already answered" where a check here could only say "not on this message",
 * since an update removes the buttons of a settled question). A frame that cannot be read
 * (wrong types, missing fields) is an error and counts towards closing the connection; a
 * well-formed request the core or these checks refuse is a result with ok:false.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webchat.h"

#define MAX_SAFE_ID 9007199254740991.0 /* 2^53 - 1: an id a browser holds exactly */
#define REPLY_LEN   256

static const cJSON *frame_id(const cJSON *frame)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(frame, "id");

    if (!cJSON_IsNumber(id) || !(id->valuedouble >= 0 && id->valuedouble <= MAX_SAFE_ID) ||
        (double)(uint64_t)id->valuedouble != id->valuedouble)
        return NULL;
    return id;
}

static void result(struct wc_conn *c, const cJSON *id, const char *error)
{
    cJSON *o = cJSON_CreateObject();

    if (o && cJSON_AddStringToObject(o, "type", "result") &&
        cJSON_AddNumberToObject(o, "id", id->valuedouble) &&
        cJSON_AddBoolToObject(o, "ok", error == NULL) &&
        (!error || cJSON_AddStringToObject(o, "error", error)))
        webchat_ws_send_json(c, o);
    cJSON_Delete(o);
}

static const char *generic_error(int rc)
{
    switch (rc) {
    case PB_ERR_BUSY:
        return "Busy right now. Try again in a moment.";
    case PB_ERR_STORE:
        return "Could not save that. Try again.";
    case PB_ERR_EXPIRED:
        return "This has expired.";
    case PB_ERR_DONE:
        return "This was already answered.";
    case PB_ERR_NOT_YOURS:
        return "This is not yours to answer.";
    default:
        return "Something went wrong. Try again.";
    }
}

/* Hands the event to the core and tells the page what came of it. */
static void emit_and_answer(struct wc_conn *c, const cJSON *id, struct pb_event *ev)
{
    struct webchat *wc = c->wc;
    char reply[REPLY_LEN] = "";
    char *shown = NULL;
    int rc;

    ev->size = sizeof(*ev);
    ev->user = c->user;
    ev->user_name = c->name;
    rc = wc->host->emit(wc->ctx, ev, reply, sizeof(reply));
    if (rc == PB_OK) {
        result(c, id, NULL);
        return;
    }
    reply[sizeof(reply) - 1] = '\0';
    if (reply[0])
        shown = webchat_text_dup(reply, sizeof(reply), NULL);
    result(c, id, shown && *shown ? shown : generic_error(rc));
    free(shown);
}

/* A string field: NULL and a bad frame when absent, not a string, empty or too long. */
static const char *string_field(struct wc_conn *c, const cJSON *frame, const cJSON *id,
                                const char *key, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(frame, key);
    char text[96];
    size_t len = cJSON_IsString(v) ? strlen(v->valuestring) : 0;

    if (len > 0 && len <= max && webchat_text_valid(v->valuestring, len))
        return v->valuestring;
    snprintf(text, sizeof(text), "\"%s\" must be a non-empty string of at most %zu bytes.", key,
             max);
    webchat_ws_bad(c, id, text);
    return NULL;
}

static void on_button(struct wc_conn *c, const cJSON *frame, const cJSON *id, int action)
{
    struct webchat *wc = c->wc;
    struct pb_event ev = {0};
    char conv[WC_MAX_CONV];
    const char *token, *ref, *text = NULL;
    const cJSON *note = cJSON_GetObjectItemCaseSensitive(frame, "text");
    cJSON *msg = NULL;
    int rc;

    if (!(token = string_field(c, frame, id, "token", WC_MAX_TOKEN)) ||
        !(ref = string_field(c, frame, id, "ref", WC_MAX_KEY)))
        return;
    if (action && note && !cJSON_IsNull(note)) {
        if (!cJSON_IsString(note) ||
            !webchat_text_valid(note->valuestring, strlen(note->valuestring))) {
            webchat_ws_bad(c, id, "\"text\" must be a string.");
            return;
        }
        if (strlen(note->valuestring) > wc->max_message) {
            result(c, id, "Your note is too long.");
            return;
        }
        if (!webchat_blank(note->valuestring))
            text = note->valuestring;
    }
    if (webchat_ref_split(ref, conv, sizeof(conv)) != 0) {
        webchat_ws_bad(c, id, "\"ref\" is not a message reference.");
        return;
    }
    if (!webchat_conn_member(c, conv)) {
        result(c, id, "This message is not available.");
        return;
    }
    rc = webchat_history_get(wc, ref, &msg);
    if (rc) {
        result(c, id,
               rc == PB_ERR_UNKNOWN ? "This message is no longer available."
                                    : "Could not check this message. Try again.");
        return;
    }
    ev.type = action ? PB_EVENT_ACTION : PB_EVENT_CHOICE;
    ev.conversation = conv;
    ev.message_ref = ref;
    ev.token = token;
    ev.text = text;
    emit_and_answer(c, id, &ev);
    cJSON_Delete(msg);
}

static void on_text(struct wc_conn *c, const cJSON *frame, const cJSON *id)
{
    struct webchat *wc = c->wc;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(frame, "text");
    struct pb_event ev = {0};
    char conv[WC_MAX_CONV];
    char *json = NULL;
    size_t len;
    char tail[64];

    if (!cJSON_IsString(v) || !webchat_text_valid(v->valuestring, strlen(v->valuestring))) {
        webchat_ws_bad(c, id, "\"text\" must be a string.");
        return;
    }
    len = strlen(v->valuestring);
    if (len > wc->max_message) {
        snprintf(tail, sizeof(tail), "Your message is too long (at most %zu bytes).",
                 wc->max_message);
        result(c, id, tail);
        return;
    }
    if (webchat_blank(v->valuestring)) {
        result(c, id, "Write something first.");
        return;
    }
    webchat_conv_for_target(PB_TARGET_PERSON, c->user, conv, sizeof(conv));
    /* Kept before the core hears it, so it sorts before any answer the core sends at once. A
     * copy that fails to save is only the person's view of what they wrote: the core still
     * gets the text. */
    if (webchat_history_add_user(wc, conv, c->user, v->valuestring, wc->host->now_ms(wc->ctx),
                                 &json) == 0) {
        webchat_ws_push(wc, conv, json);
        free(json);
    } else {
        wc_log(wc, PB_LOG_WARNING, "could not keep a text of %s in %s", c->user, conv);
    }
    ev.type = PB_EVENT_TEXT;
    ev.conversation = conv;
    ev.text = v->valuestring;
    emit_and_answer(c, id, &ev);
}

void webchat_frame(struct wc_conn *c, const cJSON *frame, const char *type)
{
    const cJSON *id = frame_id(frame);
    int button = strcmp(type, "choice") == 0, action = strcmp(type, "action") == 0;

    if (button || action || strcmp(type, "text") == 0) {
        if (!id) {
            webchat_ws_bad(c, NULL, "\"id\" must be a whole number.");
            return;
        }
        if (button || action)
            on_button(c, frame, id, action);
        else
            on_text(c, frame, id);
    } else if (strcmp(type, "hello") == 0) {
        webchat_ws_bad(c, id, "Already signed in.");
    } else {
        webchat_ws_bad(c, id, "Unknown message type.");
    }
}

/*
 * A core message as Slack Block Kit, and the escaping that keeps people's words inert.
 *
 * In Slack's mrkdwn only &, < and > are control characters: mentions (<@U1>, <!here>,
 * <!channel>, <!subteam^S1>) and links (<https://x|label>) exist only as angle-bracket
 * sequences. Every text in a pb_message may have been written by a person, so every one is
 * escaped here, and the connector never sets `parse` or `link_names`, which are the only ways
 * a bare "@channel" would become a mention. `verbatim` stops auto-linking of URLs and channel
 * names. Button labels are plain_text, which Slack never parses for mentions. The one mention
 * we write ourselves is the message's mention_user, a validated user id, never a person's text.
 *
 * Layout: the title in bold, the text, the fields two to a row, the scale's end labels, the
 * note as small print, then the choices (see add_buttons: one row, two rows, or a menu). The
 * top-level `text` is what notifications and screen readers show, so it is always set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slack.h"

#define MAX_SECTION      3000 /* Slack: section text */
#define MAX_FIELD        1900 /* Slack: 2000 per field, with room for the label */
#define MAX_CONTEXT      2000
#define MAX_LABEL        75   /* Slack: button text */
#define MAX_VALUE        2000 /* Slack: button value */
#define MAX_FIELDS       10   /* Slack: per section */
#define MAX_ROW          5    /* buttons in one row that a phone shows without wrapping */
#define MAX_BUTTONS      25   /* Slack: elements per actions block; 5 rows of 5 */
#define MAX_ROWS_BUTTONS 10   /* more choices than this become a menu */
#define MAX_OPTIONS      100  /* Slack: options in a static_select */
#define MAX_OPTION_VALUE 75   /* Slack: an option's value (the token it carries) */

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))
            return 0; /* overlong, or a surrogate */
        return 3;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
            return 0;
        return 4;
    }
    return 0;
}

enum mode { PLAIN, ESCAPE, UNESCAPE };

/* Copies `s` transformed per `mode`, as valid UTF-8 of at most `max` bytes: past that it is
 * cut at a character (never inside an entity we wrote) and ends with an ellipsis. */
static char *transform(const char *s, size_t max, enum mode mode)
{
    static const char ellipsis[] = "\xE2\x80\xA6";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t cap = strlen((const char *)p) * 5 + 1, n = 0;
    char *out = malloc(cap > max + 1 ? cap : max + 1);

    if (!out)
        return NULL;
    while (*p) {
        const char *piece;
        size_t step = 1, len;

        if (mode == ESCAPE && *p == '&')
            piece = "&amp;";
        else if (mode == ESCAPE && *p == '<')
            piece = "&lt;";
        else if (mode == ESCAPE && *p == '>')
            piece = "&gt;";
        else if (mode == UNESCAPE && strncmp((const char *)p, "&amp;", 5) == 0)
            piece = "&", step = 5;
        else if (mode == UNESCAPE && strncmp((const char *)p, "&lt;", 4) == 0)
            piece = "<", step = 4;
        else if (mode == UNESCAPE && strncmp((const char *)p, "&gt;", 4) == 0)
            piece = ">", step = 4;
        else if ((step = utf8_len(p)) != 0)
            piece = (const char *)p;
        else
            piece = "\xEF\xBF\xBD", step = 1; /* U+FFFD for a byte that is not UTF-8 */
        len = piece == (const char *)p ? step : strlen(piece);
        memcpy(out + n, piece, len);
        n += len;
        p += step;
    }
    if (n > max) {
        n = max >= sizeof(ellipsis) - 1 ? max - (sizeof(ellipsis) - 1) : 0;
        while (n > 0 && ((unsigned char)out[n] & 0xC0) == 0x80)
            n--;
        for (size_t back = 1; mode == ESCAPE && back <= 4 && back <= n; back++)
            if (out[n - back] == '&') {
                n -= back; /* an entity cut short would show as garbage */
                break;
            } else if (out[n - back] == ';') {
                break;
            }
        if (max >= sizeof(ellipsis) - 1) {
            memcpy(out + n, ellipsis, sizeof(ellipsis) - 1);
            n += sizeof(ellipsis) - 1;
        }
    }
    out[n] = '\0';
    return out;
}

char *slack_escape(const char *s, size_t max)
{
    return transform(s, max, ESCAPE);
}

char *slack_unescape(const char *s, size_t max)
{
    return transform(s, max, UNESCAPE);
}

/* Text for a plain_text object: Slack parses nothing in it, so it only has to be well formed. */
static char *plain(const char *s, size_t max)
{
    return transform(s, max, PLAIN);
}

static int blank(const char *s)
{
    return !s || !*s;
}

static cJSON *text_object(const char *type, const char *text)
{
    cJSON *o = cJSON_CreateObject();

    if (!o || !cJSON_AddStringToObject(o, "type", type) ||
        !cJSON_AddStringToObject(o, "text", text)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (strcmp(type, "mrkdwn") == 0 ? !cJSON_AddTrueToObject(o, "verbatim")
                                    : !cJSON_AddTrueToObject(o, "emoji")) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* A section (or context) holding `prefix` + the escaped `s` + `suffix`. */
static int add_mrkdwn_block(cJSON *blocks, const char *type, const char *prefix, const char *s,
                            const char *suffix, size_t max)
{
    char *esc = slack_escape(s, max - strlen(prefix) - strlen(suffix));
    cJSON *block = cJSON_CreateObject(), *text;
    char *joined = NULL;
    size_t len;
    int rc = PB_ERR_NOMEM;

    if (!esc || !block || !cJSON_AddStringToObject(block, "type", type))
        goto out;
    len = strlen(prefix) + strlen(esc) + strlen(suffix) + 1;
    joined = malloc(len);
    if (!joined)
        goto out;
    snprintf(joined, len, "%s%s%s", prefix, esc, suffix);
    text = text_object("mrkdwn", joined);
    if (!text)
        goto out;
    if (strcmp(type, "context") == 0) {
        cJSON *elements = cJSON_AddArrayToObject(block, "elements");
        if (!elements) {
            cJSON_Delete(text);
            goto out;
        }
        cJSON_AddItemToArray(elements, text);
    } else {
        cJSON_AddItemToObject(block, "text", text);
    }
    cJSON_AddItemToArray(blocks, block);
    block = NULL;
    rc = 0;
out:
    cJSON_Delete(block);
    free(esc);
    free(joined);
    return rc;
}

static int add_fields(cJSON *blocks, const struct pb_message *msg)
{
    size_t n = msg->fields ? msg->n_fields : 0;
    cJSON *section = NULL, *arr = NULL;

    for (size_t i = 0; i < n; i++) {
        char *label = slack_escape(msg->fields[i].label, 100);
        char *value =
            slack_escape(blank(msg->fields[i].value) ? "-" : msg->fields[i].value, MAX_FIELD);
        char *joined = NULL;
        cJSON *text = NULL;
        size_t len;

        if (i % MAX_FIELDS == 0) {
            section = cJSON_CreateObject();
            if (!section)
                goto nomem;
            cJSON_AddItemToArray(blocks, section);
            if (!cJSON_AddStringToObject(section, "type", "section") ||
                !(arr = cJSON_AddArrayToObject(section, "fields")))
                goto nomem;
        }
        if (!label || !value)
            goto nomem;
        len = strlen(label) + strlen(value) + 8;
        joined = malloc(len);
        if (!joined)
            goto nomem;
        snprintf(joined, len, "*%s*\n%s", label, value);
        text = text_object("mrkdwn", joined);
        free(joined);
        free(label);
        free(value);
        if (!text)
            return PB_ERR_NOMEM;
        cJSON_AddItemToArray(arr, text);
        continue;
    nomem:
        free(label);
        free(value);
        return PB_ERR_NOMEM;
    }
    return 0;
}

static const char *style_name(enum pb_button_style s)
{
    return s == PB_BUTTON_PRIMARY ? "primary" : s == PB_BUTTON_DANGER ? "danger" : NULL;
}

/* An actions block with its elements array, appended to `blocks`. */
static cJSON *actions_block(cJSON *blocks, const char *block_id)
{
    cJSON *row = cJSON_CreateObject();

    if (!row)
        return NULL;
    cJSON_AddItemToArray(blocks, row);
    if (!cJSON_AddStringToObject(row, "type", "actions") ||
        !cJSON_AddStringToObject(row, "block_id", block_id))
        return NULL;
    return cJSON_AddArrayToObject(row, "elements");
}

/* A plain_text object holding `s` cut to `max` bytes, added to `obj` as `key`. */
static int add_plain(cJSON *obj, const char *key, const char *s, size_t max)
{
    char *label = plain(blank(s) ? "?" : s, max);
    cJSON *text = label ? text_object("plain_text", label) : NULL;

    free(label);
    if (!text)
        return PB_ERR_NOMEM;
    cJSON_AddItemToObject(obj, key, text);
    return 0;
}

/* The choices as one static_select: its options' values carry the tokens. Each end of the
 * scale says what it means in its own option ("0 - Not likely"), since a closed menu shows no
 * context line under it. */
static int add_select(cJSON *blocks, const struct pb_message *msg, const char *prefix)
{
    size_t n = msg->n_buttons;
    char id[32];
    cJSON *elements, *select, *options;

    snprintf(id, sizeof(id), "%s:select", prefix);
    elements = actions_block(blocks, id);
    select = elements ? cJSON_CreateObject() : NULL;
    if (!select)
        return PB_ERR_NOMEM;
    cJSON_AddItemToArray(elements, select);
    if (!cJSON_AddStringToObject(select, "type", "static_select") ||
        !cJSON_AddStringToObject(select, "action_id", id) ||
        add_plain(select, "placeholder", "Choose an answer", MAX_LABEL) != 0 ||
        !(options = cJSON_AddArrayToObject(select, "options")))
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct pb_button *b = &msg->buttons[i];
        const char *end = i == 0 ? msg->low_label : i == n - 1 ? msg->high_label : NULL;
        char text[MAX_LABEL * 3];
        cJSON *o = cJSON_CreateObject();

        if (!o)
            return PB_ERR_NOMEM;
        cJSON_AddItemToArray(options, o);
        snprintf(text, sizeof(text), "%s%s%s", blank(b->label) ? "?" : b->label,
                 blank(end) ? "" : " \xE2\x80\x93 ", blank(end) ? "" : end);
        if (add_plain(o, "text", text, MAX_LABEL) != 0 ||
            !cJSON_AddStringToObject(o, "value", b->token))
            return PB_ERR_NOMEM;
    }
    return 0;
}

/*
 * The choices, laid out for a phone as much as for a desk: up to five buttons in one row, six
 * to ten in two rows of near-equal size, and more than ten (an NPS 0 to 10) as one static_select
 * menu, because three rows of number buttons wrap badly on a narrow screen. A menu option's
 * value holds only MAX_OPTION_VALUE characters (buttons hold 2000): when any token is longer,
 * the choices stay buttons, in rows of at most five.
 */
static int add_buttons(cJSON *blocks, const struct pb_message *msg, const char **error)
{
    size_t n = msg->buttons ? msg->n_buttons : 0, rows, per_row, longest = 0;
    const char *prefix = msg->kind == PB_MESSAGE_ALERT ? "pba" : "pbq";
    cJSON *elements = NULL;

    for (size_t i = 0; i < n; i++) {
        const char *t = msg->buttons[i].token;
        if (blank(t) || strlen(t) > MAX_VALUE) {
            *error = "a button token is missing or too long for Slack";
            return PB_ERR_INVALID;
        }
        if (strlen(t) > longest)
            longest = strlen(t);
    }
    if (n > MAX_ROWS_BUTTONS && n <= MAX_OPTIONS && longest <= MAX_OPTION_VALUE)
        return add_select(blocks, msg, prefix);
    if (n > MAX_BUTTONS) {
        *error = "too many choices for one Slack message";
        return PB_ERR_INVALID;
    }
    rows = n <= MAX_ROW ? 1 : n <= MAX_ROWS_BUTTONS ? 2 : (n + MAX_ROW - 1) / MAX_ROW;
    per_row = rows ? (n + rows - 1) / rows : 0;
    for (size_t i = 0; i < n; i++) {
        const struct pb_button *b = &msg->buttons[i];
        char id[32];
        cJSON *btn;
        const char *style = style_name(b->style);

        if (i % per_row == 0) {
            snprintf(id, sizeof(id), "%s:row%zu", prefix, i / per_row);
            if (!(elements = actions_block(blocks, id)))
                return PB_ERR_NOMEM;
        }
        btn = cJSON_CreateObject();
        if (!btn)
            return PB_ERR_NOMEM;
        cJSON_AddItemToArray(elements, btn);
        snprintf(id, sizeof(id), "%s:%zu", prefix, i);
        if (!cJSON_AddStringToObject(btn, "type", "button") ||
            add_plain(btn, "text", b->label, MAX_LABEL) != 0 ||
            !cJSON_AddStringToObject(btn, "action_id", id) ||
            !cJSON_AddStringToObject(btn, "value", b->token))
            return PB_ERR_NOMEM;
        if (style && !cJSON_AddStringToObject(btn, "style", style))
            return PB_ERR_NOMEM;
    }
    return 0;
}

static int add_scale_labels(cJSON *blocks, const struct pb_message *msg)
{
    const struct pb_button *b = msg->buttons;
    size_t n = msg->buttons ? msg->n_buttons : 0;
    char line[512];

    if (n < 2 || (blank(msg->low_label) && blank(msg->high_label)))
        return 0;
    snprintf(line, sizeof(line), "%s%s%s%s%s%s%s", blank(b[0].label) ? "" : b[0].label,
             blank(msg->low_label) ? "" : " = ", blank(msg->low_label) ? "" : msg->low_label,
             "  \xC2\xB7  ", blank(b[n - 1].label) ? "" : b[n - 1].label,
             blank(msg->high_label) ? "" : " = ", blank(msg->high_label) ? "" : msg->high_label);
    return add_mrkdwn_block(blocks, "context", "", line, "", MAX_CONTEXT);
}

/* "<@U...> " for the message's mention_user when it is a Slack user id (U... or W..., letters
 * and digits only), else "". Only this sequence is ours; the id cannot carry markup, so a
 * malformed one is dropped rather than escaped into something that looks like a mention. */
static void mention_of(const struct pb_message *msg, char *out, size_t len)
{
    const char *id = msg->size >= offsetof(struct pb_message, mention_user) + sizeof(char *)
                         ? msg->mention_user
                         : NULL;
    size_t n = id ? strlen(id) : 0;

    out[0] = '\0';
    if (n < 3 || n >= SK_MAX_ID || (id[0] != 'U' && id[0] != 'W'))
        return;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return;
    snprintf(out, len, "<@%s> ", id);
}

/* The notification text: the mention, then title and text on one line, escaped like the rest. */
static int add_notification(cJSON *body, const struct pb_message *msg, const char *mention)
{
    char *text = NULL, *esc, *joined = NULL;
    size_t len;
    int rc = PB_ERR_NOMEM;

    len = (msg->title ? strlen(msg->title) : 0) + (msg->text ? strlen(msg->text) : 0) + 4;
    text = malloc(len);
    if (!text)
        return PB_ERR_NOMEM;
    snprintf(text, len, "%s%s%s", blank(msg->title) ? "" : msg->title,
             !blank(msg->title) && !blank(msg->text) ? ": " : "",
             blank(msg->text) ? "" : msg->text);
    if (!*text)
        snprintf(text, len, "%s", "pulsebot");
    esc = slack_escape(text, MAX_SECTION);
    if (esc && *mention) {
        len = strlen(mention) + strlen(esc) + 1;
        joined = malloc(len);
        if (joined)
            snprintf(joined, len, "%s%s", mention, esc);
    }
    if (esc && (!*mention || joined) &&
        cJSON_AddStringToObject(body, "text", *mention ? joined : esc))
        rc = 0;
    free(joined);
    free(esc);
    free(text);
    return rc;
}

int slack_render(const struct pb_message *msg, cJSON *body, const char **error)
{
    cJSON *blocks;
    char mention[SK_MAX_ID + 8];
    int closed, rc;

    *error = NULL;
    if (!msg || msg->size < offsetof(struct pb_message, mention_user)) {
        *error = "message missing or from an older ABI";
        return PB_ERR_INVALID;
    }
    closed = (msg->flags & PB_MESSAGE_CLOSED) != 0;
    mention_of(msg, mention, sizeof(mention));
    if (add_notification(body, msg, mention) != 0 ||
        !(blocks = cJSON_AddArrayToObject(body, "blocks")))
        return PB_ERR_NOMEM;
    if (!blank(msg->title) &&
        add_mrkdwn_block(blocks, "section",
                         msg->kind == PB_MESSAGE_ALERT ? ":rotating_light: *" : "*", msg->title,
                         "*", 200) != 0)
        return PB_ERR_NOMEM;
    /* The mention opens the body, where Slack notifies for it. */
    if ((!blank(msg->text) || *mention) &&
        add_mrkdwn_block(blocks, "section", mention, msg->text, "", MAX_SECTION))
        return PB_ERR_NOMEM;
    if (add_fields(blocks, msg) != 0)
        return PB_ERR_NOMEM;
    if (!closed && add_scale_labels(blocks, msg) != 0)
        return PB_ERR_NOMEM;
    if (!blank(msg->note) &&
        add_mrkdwn_block(
            blocks, "context",
            closed && msg->kind == PB_MESSAGE_QUESTION ? ":white_check_mark: " : "", msg->note,
            closed && msg->kind == PB_MESSAGE_QUESTION && strncmp(msg->note, "Your answer", 11) == 0
                ? " Thank you!"
                : "",
            MAX_CONTEXT) != 0)
        return PB_ERR_NOMEM;
    /* A settled message shows no buttons, so nobody answers twice. */
    if (!closed) {
        rc = add_buttons(blocks, msg, error);
        if (rc)
            return rc;
    }
    if (cJSON_GetArraySize(blocks) == 0)
        cJSON_DeleteItemFromObject(body, "blocks");
    return 0;
}

/*
 * A core message as a Discord message: the content in Discord's markdown, with every text
 * escaped because any of it may have been written by a person, and the buttons as components
 * (action rows of at most five buttons, at most five rows; more than 25 choices become select
 * menus). Every body carries allowed_mentions {parse: []}: escaping makes a mention look
 * literal, allowed_mentions makes sure it can never notify anyone even if escaping missed one.
 * The only exception is the message's mention_user (the alert's on-call person or manager): a
 * validated snowflake written as <@id> at the start, and listed alone in allowed_mentions.users.
 *
 * Each button's custom_id is a one-letter kind and the core's signed token ("c:" a choice,
 * "a:" an action), so a click is reported as the right event with the token unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discord.h"

#define MAX_BUTTONS     25             /* 5 rows of 5 */
#define MAX_OPTIONS     25             /* per select menu */
#define MAX_SELECTS     5              /* one per row */
#define TRUNCATION_MARK "\xE2\x80\xA6" /* U+2026 */

void dc_buf_add(struct dc_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *grown;
        while (cap < b->len + n + 1)
            cap *= 2;
        grown = realloc(b->s, cap);
        if (!grown) {
            b->oom = 1;
            return;
        }
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void dc_buf_str(struct dc_buf *b, const char *s)
{
    dc_buf_add(b, s, strlen(s));
}

/* The length of the well-formed UTF-8 sequence at p (no overlongs, surrogates or values above
 * U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0; /* also stops at the terminating NUL */
    return n;
}

/*
 * Discord's markdown treats a backslash before any ASCII punctuation as an escape that shows
 * the character itself, so escaping more than needed costs nothing visible. The set covers
 * emphasis (* _ ~), code (`), spoilers (|), quotes and headings at a line start (> # -),
 * masked links ([ ] ( )), and the mention and timestamp syntax (< @ : for <@id>, <@&role>,
 * <#channel>, <t:...>, @everyone, @here). Malformed UTF-8 becomes U+FFFD, which Discord
 * accepts; control characters other than newline become spaces.
 */
void dc_escape(struct dc_buf *b, const char *text)
{
    static const char special[] = "\\*_~`|>#-[]()<@:";
    const unsigned char *p = (const unsigned char *)(text ? text : "");

    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            dc_buf_str(b, "\xEF\xBF\xBD");
            p++;
            continue;
        }
        if (n == 1 && strchr(special, *p)) {
            char esc[2] = {'\\', (char)*p};
            dc_buf_add(b, esc, 2);
        } else if (n == 1 && *p < 0x20 && *p != '\n') {
            dc_buf_add(b, " ", 1);
        } else {
            dc_buf_add(b, (const char *)p, n);
        }
        p += n;
    }
}

/* A copy of `s` of at most `max_chars` characters (code points), ending in an ellipsis when
 * cut, never in the middle of a character or of an escape. */
char *dc_truncate(const char *s, size_t max_chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0, i = 0, cut = 0;

    while (p[i]) {
        size_t n = utf8_seq(p + i);
        if (n == 0)
            n = 1;
        if (chars == max_chars - 1)
            cut = i;
        chars++;
        i += n;
    }
    if (chars <= max_chars)
        return strdup(s);
    /* A lone backslash at the end would escape the ellipsis's first byte: drop it. */
    if (cut > 0 && p[cut - 1] == '\\') {
        size_t bs = 0;
        for (size_t k = cut; k > 0 && p[k - 1] == '\\'; k--)
            bs++;
        if (bs % 2)
            cut--;
    }
    char *out = malloc(cut + sizeof(TRUNCATION_MARK));
    if (!out)
        return NULL;
    memcpy(out, s, cut);
    memcpy(out + cut, TRUNCATION_MARK, sizeof(TRUNCATION_MARK));
    return out;
}

const char *dc_mention_user(const struct pb_message *m)
{
    const char *id = m->size >= offsetof(struct pb_message, mention_user) + sizeof(char *)
                         ? m->mention_user
                         : NULL;
    size_t n = id ? strlen(id) : 0;

    /* A snowflake is decimal digits (at most 20 for 64 bits); anything else is dropped, so no
     * text can reach the content unescaped through this field. */
    if (n == 0 || n > 20)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (id[i] < '0' || id[i] > '9')
            return NULL;
    return id;
}

int dc_render_content(const struct pb_message *m, char **out)
{
    struct dc_buf b = {0};
    const char *mention = dc_mention_user(m);

    *out = NULL;
    /* The one mention we write ourselves, first so the cut at 2000 characters never drops it;
     * allowed_mentions names this user and nobody else (dc_render_message). */
    if (mention) {
        dc_buf_str(&b, "<@");
        dc_buf_str(&b, mention);
        dc_buf_str(&b, "> ");
    }
    if (m->title && *m->title) {
        dc_buf_str(&b, "**");
        dc_escape(&b, m->title);
        dc_buf_str(&b, "**\n");
    }
    if (m->text && *m->text) {
        dc_escape(&b, m->text);
        dc_buf_str(&b, "\n");
    }
    for (size_t i = 0; m->fields && i < m->n_fields; i++) {
        dc_buf_str(&b, "**");
        dc_escape(&b, m->fields[i].label);
        dc_buf_str(&b, ":** ");
        dc_escape(&b, m->fields[i].value);
        dc_buf_str(&b, "\n");
    }
    /* A scale's ends, under its buttons' text, as Discord's small print. */
    if (!(m->flags & PB_MESSAGE_CLOSED) && m->n_buttons > 1 &&
        ((m->low_label && *m->low_label) || (m->high_label && *m->high_label))) {
        dc_buf_str(&b, "-# ");
        dc_escape(&b, m->buttons[0].label);
        dc_buf_str(&b, " = ");
        dc_escape(&b, m->low_label ? m->low_label : "");
        dc_buf_str(&b, " \xC2\xB7 ");
        dc_escape(&b, m->buttons[m->n_buttons - 1].label);
        dc_buf_str(&b, " = ");
        dc_escape(&b, m->high_label ? m->high_label : "");
        dc_buf_str(&b, "\n");
    }
    if (m->note && *m->note) {
        dc_buf_str(&b, "*");
        dc_escape(&b, m->note);
        dc_buf_str(&b, "*\n");
    }
    if (b.oom) {
        free(b.s);
        return PB_ERR_NOMEM;
    }
    if (b.len == 0)
        dc_buf_str(&b, "\xE2\x80\x8B"); /* Discord refuses an empty message (50006) */
    else
        b.s[--b.len] = '\0'; /* the last newline */
    if (b.oom) {
        free(b.s);
        return PB_ERR_NOMEM;
    }
    *out = dc_truncate(b.s, DC_MAX_CONTENT);
    free(b.s);
    return *out ? 0 : PB_ERR_NOMEM;
}

static int button_style(enum pb_button_style s)
{
    switch (s) {
    case PB_BUTTON_PRIMARY:
        return 1;
    case PB_BUTTON_DANGER:
        return 4;
    default:
        return 2;
    }
}

/* "c:" + token for a question's choices, "a:" + token for an alert's actions. */
static int custom_id(const struct pb_message *m, const struct pb_button *bt, char *out, size_t len)
{
    size_t n;

    if (!bt->token || !*bt->token)
        return PB_ERR_INVALID;
    n = strlen(bt->token) + 2;
    if (n > DC_MAX_CUSTOM_ID || n >= len)
        return PB_ERR_INVALID;
    out[0] = m->kind == PB_MESSAGE_ALERT ? 'a' : 'c';
    out[1] = ':';
    memcpy(out + 2, bt->token, n - 1);
    return 0;
}

static cJSON *label_item(const char *label)
{
    char *l = dc_truncate(label && *label ? label : "-", DC_MAX_LABEL);
    cJSON *item = l ? cJSON_CreateString(l) : NULL;

    free(l);
    return item;
}

static cJSON *button_json(const struct pb_message *m, const struct pb_button *bt)
{
    char id[DC_MAX_CUSTOM_ID + 1];
    cJSON *b;

    if (custom_id(m, bt, id, sizeof(id)) != 0)
        return NULL;
    b = cJSON_CreateObject();
    if (!b)
        return NULL;
    cJSON_AddNumberToObject(b, "type", 2);
    cJSON_AddNumberToObject(b, "style", button_style(bt->style));
    cJSON_AddItemToObject(b, "label", label_item(bt->label));
    cJSON_AddStringToObject(b, "custom_id", id);
    return b;
}

/* More than 25 choices: select menus of up to 25 options, each option's value the token. */
static int add_selects(cJSON *rows, const struct pb_message *m, const char **error)
{
    size_t n = m->n_buttons, per = MAX_OPTIONS, n_sel = (n + per - 1) / per;

    if (n_sel > MAX_SELECTS) {
        *error = "more choices than Discord can show (125)";
        return PB_ERR_INVALID;
    }
    for (size_t s = 0; s < n_sel; s++) {
        cJSON *row = cJSON_CreateObject(), *inner = cJSON_CreateArray();
        cJSON *sel = cJSON_CreateObject(), *opts = cJSON_CreateArray();
        char id[32];
        if (!row || !inner || !sel || !opts) {
            cJSON_Delete(row);
            cJSON_Delete(inner);
            cJSON_Delete(sel);
            cJSON_Delete(opts);
            return PB_ERR_NOMEM;
        }
        cJSON_AddNumberToObject(row, "type", 1);
        cJSON_AddItemToObject(row, "components", inner);
        cJSON_AddItemToArray(rows, row);
        cJSON_AddNumberToObject(sel, "type", 3);
        snprintf(id, sizeof(id), "%s:%zu", m->kind == PB_MESSAGE_ALERT ? "sa" : "sc", s);
        cJSON_AddStringToObject(sel, "custom_id", id);
        cJSON_AddItemToObject(sel, "options", opts);
        cJSON_AddItemToArray(inner, sel);
        for (size_t i = s * per; i < n && i < (s + 1) * per; i++) {
            cJSON *o = cJSON_CreateObject();
            if (!o)
                return PB_ERR_NOMEM;
            if (!m->buttons[i].token || strlen(m->buttons[i].token) > DC_MAX_CUSTOM_ID) {
                cJSON_Delete(o);
                *error = "a choice's token is too long for Discord";
                return PB_ERR_INVALID;
            }
            cJSON_AddItemToObject(o, "label", label_item(m->buttons[i].label));
            cJSON_AddStringToObject(o, "value", m->buttons[i].token);
            cJSON_AddItemToArray(opts, o);
        }
    }
    return 0;
}

cJSON *dc_render_components(const struct pb_message *m, const char **error)
{
    cJSON *rows = cJSON_CreateArray();
    size_t n = m->buttons ? m->n_buttons : 0;

    *error = NULL;
    if (!rows || (m->flags & PB_MESSAGE_CLOSED) || n == 0)
        return rows; /* an empty list removes buttons from an edited message */
    if (n > MAX_BUTTONS) {
        if (add_selects(rows, m, error) != 0) {
            cJSON_Delete(rows);
            return NULL;
        }
        return rows;
    }
    /* Rows as even as they can be: 11 (NPS 0 to 10) is 4, 4, 3 rather than 5, 5, 1. */
    size_t n_rows = (n + 4) / 5, per = (n + n_rows - 1) / n_rows;
    for (size_t r = 0; r < n_rows; r++) {
        cJSON *row = cJSON_CreateObject(), *inner = cJSON_CreateArray();
        if (!row || !inner) {
            cJSON_Delete(row);
            cJSON_Delete(inner);
            cJSON_Delete(rows);
            return NULL;
        }
        cJSON_AddNumberToObject(row, "type", 1);
        cJSON_AddItemToObject(row, "components", inner);
        cJSON_AddItemToArray(rows, row);
        for (size_t i = r * per; i < n && i < (r + 1) * per; i++) {
            cJSON *b = button_json(m, &m->buttons[i]);
            if (!b) {
                *error = "a button's token is missing or too long for a custom_id";
                cJSON_Delete(rows);
                return NULL;
            }
            cJSON_AddItemToArray(inner, b);
        }
    }
    return rows;
}

cJSON *dc_render_message(const struct pb_message *m, const char **error)
{
    cJSON *body = cJSON_CreateObject(), *comps, *am;
    char *content = NULL;

    *error = NULL;
    if (!body)
        return NULL;
    if (dc_render_content(m, &content) != 0)
        goto fail;
    cJSON_AddStringToObject(body, "content", content);
    free(content);
    comps = dc_render_components(m, error);
    if (!comps)
        goto fail;
    cJSON_AddItemToObject(body, "components", comps);
    am = cJSON_AddObjectToObject(body, "allowed_mentions");
    if (!am || !cJSON_AddArrayToObject(am, "parse"))
        goto fail;
    if (dc_mention_user(m)) {
        cJSON *users = cJSON_AddArrayToObject(am, "users");
        cJSON *id = cJSON_CreateString(dc_mention_user(m));
        if (!users || !id) {
            cJSON_Delete(id);
            goto fail;
        }
        cJSON_AddItemToArray(users, id);
    }
    return body;
fail:
    cJSON_Delete(body);
    return NULL;
}

/*
 * The Slack connector's rendering: mrkdwn escaping (no text a person wrote can mention anyone
 * or form a link), bounds that never cut an entity or a character, and the Block Kit shapes of
 * questions, scales in one row, two rows or a static_select menu (rows again when tokens are too
 * long for a menu option), closed questions, alerts, and the one mention a message may ask for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slack.h"

static void test_escape(void **state)
{
    char *s = slack_escape("a & b <!channel> <@U123> <https://evil|x> @here", 1000);

    assert_string_equal(s, "a &amp; b &lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|x&gt; @here");
    free(s);
    s = slack_unescape("x &amp;lt; &lt;b&gt; &amp;", 1000);
    assert_string_equal(s, "x &lt; <b> &");
    free(s);
    /* Invalid UTF-8 is replaced, valid multi-byte text is kept. */
    s = slack_escape("caf\xC3\xA9 \xFF!", 1000);
    assert_string_equal(s, "caf\xC3\xA9 \xEF\xBF\xBD!");
    free(s);
}

static void test_escape_bounds(void **state)
{
    /* "ab&" escapes to "ab&amp;" (7 bytes): cut at 6 must not leave "&am". */
    char *s = slack_escape("ab&cdef", 6);

    assert_true(strlen(s) <= 6);
    assert_null(strchr(s, '&'));
    assert_string_equal(s, "ab\xE2\x80\xA6");
    free(s);
    /* A multi-byte character is never split. */
    s = slack_escape("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 6);
    assert_string_equal(s, "\xC3\xA9\xE2\x80\xA6");
    free(s);
    s = slack_escape("short", 6);
    assert_string_equal(s, "short");
    free(s);
}

static cJSON *render(const struct pb_message *m)
{
    cJSON *body = cJSON_CreateObject();
    const char *error = NULL;

    assert_int_equal(slack_render(m, body, &error), 0);
    return body;
}

static int count_type(const cJSON *blocks, const char *type)
{
    int n = 0;
    const cJSON *b;

    cJSON_ArrayForEach(b, blocks)
    {
        if (strcmp(cJSON_GetObjectItem(b, "type")->valuestring, type) == 0)
            n++;
    }
    return n;
}

static void test_question(void **state)
{
    struct pb_button buttons[5];
    char labels[5][4], tokens[5][16];
    struct pb_message m = {.size = sizeof(m),
                           .kind = PB_MESSAGE_QUESTION,
                           .title = "Weekly pulse",
                           .text = "How was your week?",
                           .low_label = "Rough",
                           .high_label = "Great"};
    cJSON *body, *blocks, *actions, *b0;
    char *json;

    for (int i = 0; i < 5; i++) {
        snprintf(labels[i], sizeof(labels[i]), "%d", i + 1);
        snprintf(tokens[i], sizeof(tokens[i]), "tok-%d", i + 1);
        buttons[i] = (struct pb_button){labels[i], tokens[i], PB_BUTTON_DEFAULT};
    }
    m.buttons = buttons;
    m.n_buttons = 5;
    body = render(&m);
    assert_string_equal(cJSON_GetObjectItem(body, "text")->valuestring,
                        "Weekly pulse: How was your week?");
    blocks = cJSON_GetObjectItem(body, "blocks");
    assert_int_equal(count_type(blocks, "actions"), 1);
    actions = NULL;
    cJSON_ArrayForEach(b0, blocks)
    {
        if (strcmp(cJSON_GetObjectItem(b0, "type")->valuestring, "actions") == 0)
            actions = cJSON_GetObjectItem(b0, "elements");
    }
    assert_int_equal(cJSON_GetArraySize(actions), 5);
    b0 = cJSON_GetArrayItem(actions, 0);
    assert_string_equal(cJSON_GetObjectItem(b0, "action_id")->valuestring, "pbq:0");
    assert_string_equal(cJSON_GetObjectItem(b0, "value")->valuestring, "tok-1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(b0, "text"), "type")->valuestring,
                        "plain_text");
    assert_null(cJSON_GetObjectItem(b0, "style"));
    /* The scale's meaning is shown, and parse/link_names are never set. */
    json = cJSON_PrintUnformatted(blocks);
    assert_non_null(strstr(json, "1 = Rough"));
    free(json);
    assert_null(cJSON_GetObjectItem(body, "parse"));
    assert_null(cJSON_GetObjectItem(body, "link_names"));
    cJSON_Delete(body);
}

/* Every string in the rendered message, concatenated: where an injection would show. */
static void all_strings(const cJSON *j, char *out, size_t len)
{
    const cJSON *c;

    if (cJSON_IsString(j)) {
        strncat(out, j->valuestring, len - strlen(out) - 1);
        return;
    }
    cJSON_ArrayForEach(c, j)
    {
        all_strings(c, out, len);
    }
}

/* A scale of n choices with tokens of token_len characters; returns the rendered body. */
static cJSON *render_scale(size_t n, size_t token_len, const char *low, const char *high)
{
    static struct pb_button buttons[120];
    static char labels[120][24], tokens[120][200];
    struct pb_message m = {.size = sizeof(m),
                           .kind = PB_MESSAGE_QUESTION,
                           .text = "How likely are you to recommend us?",
                           .low_label = low,
                           .high_label = high};

    for (size_t i = 0; i < n; i++) {
        snprintf(labels[i], sizeof(labels[i]), "%zu", i);
        char prefix[24];

        /* "t007xxx...": unique, and exactly token_len characters long. */
        snprintf(prefix, sizeof(prefix), "t%03zu", i);
        memset(tokens[i], 'x', token_len);
        memcpy(tokens[i], prefix, 4);
        tokens[i][token_len] = '\0';
        buttons[i] = (struct pb_button){labels[i], tokens[i], PB_BUTTON_DEFAULT};
    }
    m.buttons = buttons;
    m.n_buttons = n;
    return render(&m);
}

/* The sizes of the actions blocks holding buttons, in order; returns how many there are. */
static int button_rows(const cJSON *body, int *rows, int max)
{
    const cJSON *b;
    int n = 0;

    cJSON_ArrayForEach(b, cJSON_GetObjectItem(body, "blocks"))
    {
        const cJSON *el;
        if (strcmp(cJSON_GetObjectItem(b, "type")->valuestring, "actions") != 0)
            continue;
        el = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "elements"), 0);
        if (strcmp(cJSON_GetObjectItem(el, "type")->valuestring, "button") != 0)
            continue;
        assert_true(n < max);
        rows[n++] = cJSON_GetArraySize(cJSON_GetObjectItem(b, "elements"));
    }
    return n;
}

static void test_scale_rows(void **state)
{
    /* Up to five in one row; six to ten in two rows, the first never shorter. */
    static const struct {
        size_t n;
        int rows[2];
    } cases[] = {{1, {1, 0}}, {5, {5, 0}}, {6, {3, 3}}, {7, {4, 3}}, {10, {5, 5}}};

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int rows[8] = {0};
        cJSON *body = render_scale(cases[c].n, 38, NULL, NULL);
        int n = button_rows(body, rows, 8);

        assert_int_equal(n, cases[c].rows[1] ? 2 : 1);
        assert_int_equal(rows[0], cases[c].rows[0]);
        assert_int_equal(rows[1], cases[c].rows[1]);
        cJSON_Delete(body);
    }
}

static void test_long_scale_select(void **state)
{
    /* An NPS 0 to 10 with the core's tokens (38 characters): one static_select menu. */
    cJSON *body = render_scale(11, 38, "Not at all likely", "Extremely likely");
    const cJSON *blocks = cJSON_GetObjectItem(body, "blocks"), *b, *sel = NULL, *opts, *o;
    int rows[4];

    assert_int_equal(button_rows(body, rows, 4), 0);
    cJSON_ArrayForEach(b, blocks)
    {
        if (strcmp(cJSON_GetObjectItem(b, "type")->valuestring, "actions") == 0) {
            assert_null(sel);
            assert_string_equal(cJSON_GetObjectItem(b, "block_id")->valuestring, "pbq:select");
            sel = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "elements"), 0);
        }
    }
    assert_non_null(sel);
    assert_string_equal(cJSON_GetObjectItem(sel, "type")->valuestring, "static_select");
    assert_string_equal(cJSON_GetObjectItem(sel, "action_id")->valuestring, "pbq:select");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(sel, "placeholder"), "type")->valuestring,
        "plain_text");
    opts = cJSON_GetObjectItem(sel, "options");
    assert_int_equal(cJSON_GetArraySize(opts), 11);
    o = cJSON_GetArrayItem(opts, 0);
    assert_string_equal(cJSON_GetObjectItem(o, "value")->valuestring,
                        "t000xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "text"), "text")->valuestring,
                        "0 \xE2\x80\x93 Not at all likely");
    o = cJSON_GetArrayItem(opts, 5);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "text"), "text")->valuestring,
                        "5");
    assert_true(strncmp(cJSON_GetObjectItem(o, "value")->valuestring, "t005", 4) == 0);
    o = cJSON_GetArrayItem(opts, 10);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "text"), "text")->valuestring,
                        "10 \xE2\x80\x93 Extremely likely");
    /* Every option's value fits Slack's 75 characters. */
    cJSON_ArrayForEach(o, opts)
    {
        assert_true(strlen(cJSON_GetObjectItem(o, "value")->valuestring) <= 75);
    }
    cJSON_Delete(body);
}

static void test_long_scale_long_tokens(void **state)
{
    /* Tokens longer than an option value holds: buttons stay, in rows of at most five. */
    int rows[8] = {0};
    cJSON *body = render_scale(11, 76, NULL, NULL);

    assert_int_equal(button_rows(body, rows, 8), 3);
    assert_int_equal(rows[0], 4);
    assert_int_equal(rows[1], 4);
    assert_int_equal(rows[2], 3);
    cJSON_Delete(body);
    /* The most buttons one message can hold that way is 25. */
    body = render_scale(25, 76, NULL, NULL);
    assert_int_equal(button_rows(body, rows, 8), 5);
    assert_int_equal(rows[4], 5);
    cJSON_Delete(body);
}

static void test_mention_user(void **state)
{
    struct pb_field f = {"Comment", "<@U999> <!channel>"};
    struct pb_message m = {.size = sizeof(m),
                           .kind = PB_MESSAGE_ALERT,
                           .title = "Low score",
                           .text = "For: Mia <!here>",
                           .fields = &f,
                           .n_fields = 1,
                           .mention_user = "UMIA0001"};
    cJSON *body = render(&m);
    static char text[8192];
    char *json;
    const char *p;
    int mentions = 0;

    assert_string_equal(cJSON_GetObjectItem(body, "text")->valuestring,
                        "<@UMIA0001> Low score: For: Mia &lt;!here&gt;");
    json = cJSON_PrintUnformatted(cJSON_GetObjectItem(body, "blocks"));
    assert_non_null(strstr(json, "<@UMIA0001> For: Mia &lt;!here&gt;"));
    free(json);
    /* The one angle-bracket sequence is ours; everything a person wrote stays escaped. */
    text[0] = '\0';
    all_strings(cJSON_GetObjectItem(body, "blocks"), text, sizeof(text));
    for (p = text; (p = strchr(p, '<')); p++)
        mentions++;
    assert_int_equal(mentions, 1);
    assert_non_null(strstr(text, "&lt;@U999&gt; &lt;!channel&gt;"));
    cJSON_Delete(body);

    /* Anything that is not a plain user id is dropped, never rendered. */
    static const char *const bad[] = {"U1> <!channel", "C0123",      "u0123", "U",
                                      "<!here>",       "U0123 <@U2>"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m.mention_user = bad[i];
        body = render(&m);
        text[0] = '\0';
        all_strings(body, text, sizeof(text));
        assert_null(strchr(text, '<'));
        cJSON_Delete(body);
    }
    /* No text: the mention still opens the body. */
    m.mention_user = "W0123ABC";
    m.text = NULL;
    body = render(&m);
    json = cJSON_PrintUnformatted(body);
    assert_non_null(strstr(json, "<@W0123ABC>"));
    free(json);
    cJSON_Delete(body);
}

static void test_closed_question(void **state)
{
    struct pb_message m = {.size = sizeof(m),
                           .kind = PB_MESSAGE_QUESTION,
                           .text = "How was your week?",
                           .note = "Your answer: 2 of 5",
                           .flags = PB_MESSAGE_CLOSED};
    struct pb_button b = {"2", "tok", PB_BUTTON_DEFAULT};
    cJSON *body;
    char *json;

    m.buttons = &b;
    m.n_buttons = 1;
    body = render(&m);
    assert_int_equal(count_type(cJSON_GetObjectItem(body, "blocks"), "actions"), 0);
    json = cJSON_PrintUnformatted(body);
    assert_non_null(strstr(json, "Your answer: 2 of 5 Thank you!"));
    free(json);
    cJSON_Delete(body);
}

static void test_alert_injection(void **state)
{
    const char *comment = "<!channel> <!here> <!everyone> <@U999> <#C1> <!subteam^S1> "
                          "<https://evil.example|click> & @channel";
    struct pb_field fields[] = {
        {"Score", "2 (scale 1 to 5)"}, {"From", "Bob <!here> Berg"}, {"Comment", comment}};
    struct pb_button buttons[] = {{"Acknowledge", "ack-token", PB_BUTTON_PRIMARY},
                                  {"Resolve", "res-token", PB_BUTTON_DEFAULT}};
    struct pb_message m = {.size = sizeof(m),
                           .kind = PB_MESSAGE_ALERT,
                           .title = "Low score: 2 of 5",
                           .text = "How was your <!channel> week?",
                           .fields = fields,
                           .n_fields = 3,
                           .buttons = buttons,
                           .n_buttons = 2,
                           .note = "Open <@U1>"};
    cJSON *body = render(&m), *b, *actions = NULL;
    static char text[16384];

    text[0] = '\0';
    all_strings(cJSON_GetObjectItem(body, "blocks"), text, sizeof(text));
    all_strings(cJSON_GetObjectItem(body, "text"), text, sizeof(text));
    /* No angle bracket survives, so no mention or link can be formed. */
    assert_null(strchr(text, '<'));
    assert_null(strchr(text, '>'));
    assert_non_null(strstr(text, "&lt;!channel&gt;"));
    assert_non_null(strstr(text, "&amp; @channel"));
    cJSON_ArrayForEach(b, cJSON_GetObjectItem(body, "blocks"))
    {
        if (strcmp(cJSON_GetObjectItem(b, "type")->valuestring, "actions") == 0)
            actions = cJSON_GetObjectItem(b, "elements");
    }
    assert_non_null(actions);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(actions, 0), "action_id")->valuestring, "pba:0");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(actions, 0), "style")->valuestring,
                        "primary");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(actions, 1), "value")->valuestring,
                        "res-token");
    cJSON_Delete(body);
}

static void test_refuses_bad_buttons(void **state)
{
    struct pb_button b = {"1", "", PB_BUTTON_DEFAULT};
    struct pb_message m = {
        .size = sizeof(m), .kind = PB_MESSAGE_QUESTION, .text = "q", .buttons = &b, .n_buttons = 1};
    cJSON *body = cJSON_CreateObject();
    const char *error = NULL;

    assert_int_equal(slack_render(&m, body, &error), PB_ERR_INVALID);
    assert_non_null(error);
    cJSON_Delete(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_bounds),
        cmocka_unit_test(test_question),
        cmocka_unit_test(test_scale_rows),
        cmocka_unit_test(test_long_scale_select),
        cmocka_unit_test(test_long_scale_long_tokens),
        cmocka_unit_test(test_mention_user),
        cmocka_unit_test(test_closed_question),
        cmocka_unit_test(test_alert_injection),
        cmocka_unit_test(test_refuses_bad_buttons),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

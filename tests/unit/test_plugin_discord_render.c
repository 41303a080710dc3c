/*
 * The Discord connector's message layout: markdown escaping of everything a person may have
 * written (no mention, link or markup survives), action rows of at most five buttons and at
 * most five rows, select menus past 25 choices, custom_ids carrying the core's token,
 * allowed_mentions {parse: []} on every body, and Discord's 2000-character limit; the one
 * mention a message may ask for (mention_user) as <@id> with only that id allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "discord.h"

static char *escaped(const char *in)
{
    struct dc_buf b = {0};

    dc_escape(&b, in);
    return b.s ? b.s : strdup("");
}

static void test_escape_mentions_and_markup(void **state)
{
    char *s = escaped("@everyone @here <@123> <@&456> <#789> **bold** [x](https://e.vil) `c` "
                      "||spoiler|| ~~s~~ __u__");

    assert_string_equal(
        s, "\\@everyone \\@here \\<\\@123\\> \\<\\@&456\\> \\<\\#789\\> \\*\\*bold\\*\\* "
           "\\[x\\]\\(https\\://e.vil\\) \\`c\\` \\|\\|spoiler\\|\\| "
           "\\~\\~s\\~\\~ \\_\\_u\\_\\_");
    free(s);
    s = escaped("> quote\n# heading\n- item\n\\*");
    assert_string_equal(s, "\\> quote\n\\# heading\n\\- item\n\\\\\\*");
    free(s);
}

static void test_escape_bad_bytes(void **state)
{
    char *s = escaped("ok\xff\x01tab\tend \xC3\xA9");

    /* A malformed byte becomes U+FFFD; control characters become spaces; UTF-8 is kept. */
    assert_string_equal(s, "ok\xEF\xBF\xBD tab end \xC3\xA9");
    free(s);
}

static struct pb_button buttons[40];
static char labels[40][24], tokens[40][32];

static struct pb_message scale(size_t n, enum pb_message_kind kind)
{
    struct pb_message m = {.size = sizeof(m), .kind = kind, .text = "How was your week?"};

    for (size_t i = 0; i < n; i++) {
        snprintf(labels[i], sizeof(labels[i]), "%zu", i);
        snprintf(tokens[i], sizeof(tokens[i]), "tok%zu", i);
        buttons[i] = (struct pb_button){labels[i], tokens[i], PB_BUTTON_DEFAULT};
    }
    m.buttons = buttons;
    m.n_buttons = n;
    return m;
}

static void row_sizes(const cJSON *rows, size_t *out, size_t *n)
{
    const cJSON *row;

    *n = 0;
    cJSON_ArrayForEach(row, rows)
    {
        assert_int_equal(cJSON_GetObjectItem(row, "type")->valueint, 1);
        out[(*n)++] = (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(row, "components"));
    }
}

static void test_rows(void **state)
{
    static const struct {
        size_t n, rows, sizes[5];
    } cases[] = {{5, 1, {5}}, {6, 2, {3, 3}}, {11, 3, {4, 4, 3}}, {25, 5, {5, 5, 5, 5, 5}}};
    const char *error;

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct pb_message m = scale(cases[c].n, PB_MESSAGE_QUESTION);
        cJSON *rows = dc_render_components(&m, &error);
        size_t sizes[8], n;
        assert_non_null(rows);
        row_sizes(rows, sizes, &n);
        assert_int_equal(n, cases[c].rows);
        for (size_t i = 0; i < n; i++) {
            assert_true(sizes[i] <= 5);
            assert_int_equal(sizes[i], cases[c].sizes[i]);
        }
        cJSON_Delete(rows);
    }
}

static void test_buttons_carry_tokens(void **state)
{
    struct pb_message m = scale(11, PB_MESSAGE_QUESTION);
    const char *error;
    cJSON *rows = dc_render_components(&m, &error), *b;

    b = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 2), "components"), 2);
    assert_string_equal(cJSON_GetObjectItem(b, "custom_id")->valuestring, "c:tok10");
    assert_string_equal(cJSON_GetObjectItem(b, "label")->valuestring, "10");
    assert_int_equal(cJSON_GetObjectItem(b, "type")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(b, "style")->valueint, 2);
    cJSON_Delete(rows);

    m = scale(2, PB_MESSAGE_ALERT);
    buttons[0].style = PB_BUTTON_PRIMARY;
    buttons[1].style = PB_BUTTON_DANGER;
    rows = dc_render_components(&m, &error);
    b = cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 0), "components");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "custom_id")->valuestring,
                        "a:tok0");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 0), "style")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(b, 1), "style")->valueint, 4);
    cJSON_Delete(rows);
}

static void test_many_choices_select(void **state)
{
    struct pb_message m = scale(30, PB_MESSAGE_QUESTION);
    const char *error;
    cJSON *rows = dc_render_components(&m, &error), *sel;

    assert_int_equal(cJSON_GetArraySize(rows), 2);
    sel = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(rows, 1), "components"), 0);
    assert_int_equal(cJSON_GetObjectItem(sel, "type")->valueint, 3);
    assert_string_equal(cJSON_GetObjectItem(sel, "custom_id")->valuestring, "sc:1");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sel, "options")), 5);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(sel, "options"), 4), "value")
            ->valuestring,
        "tok29");
    cJSON_Delete(rows);
}

static void test_closed_has_no_buttons(void **state)
{
    struct pb_message m = scale(5, PB_MESSAGE_QUESTION);
    const char *error;
    cJSON *rows;

    m.flags = PB_MESSAGE_CLOSED;
    rows = dc_render_components(&m, &error);
    assert_true(cJSON_IsArray(rows));
    assert_int_equal(cJSON_GetArraySize(rows), 0);
    cJSON_Delete(rows);
}

static void test_token_too_long(void **state)
{
    char longtok[120];
    struct pb_button b = {"x", longtok, 0};
    struct pb_message m = {
        .size = sizeof(m), .kind = PB_MESSAGE_QUESTION, .buttons = &b, .n_buttons = 1};
    const char *error = NULL;

    memset(longtok, 'A', sizeof(longtok) - 1);
    longtok[sizeof(longtok) - 1] = '\0';
    assert_null(dc_render_components(&m, &error));
    assert_non_null(error);
}

static void test_message_body(void **state)
{
    struct pb_field fields[] = {{"Score", "2 (scale 1 to 5)"},
                                {"Comment", "@everyone look <@&42> **now**"}};
    struct pb_message m = scale(5, PB_MESSAGE_ALERT);
    const char *error;
    cJSON *body, *am;
    const char *content;

    m.title = "Low score: 2 of 5";
    m.fields = fields;
    m.n_fields = 2;
    m.note = "Open: nobody has acknowledged it yet.";
    body = dc_render_message(&m, &error);
    assert_non_null(body);
    am = cJSON_GetObjectItem(body, "allowed_mentions");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(am, "parse")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(am, "parse")), 0);
    assert_int_equal(cJSON_GetArraySize(am), 1); /* no users or roles to ping */
    content = cJSON_GetObjectItem(body, "content")->valuestring;
    assert_non_null(strstr(content, "**Low score\\: 2 of 5**\n"));
    assert_non_null(strstr(content, "**Comment:** \\@everyone look \\<\\@&42\\> \\*\\*now\\*\\*"));
    assert_non_null(strstr(content, "*Open\\: nobody has acknowledged it yet.*"));
    assert_null(strstr(content, " @everyone"));
    cJSON_Delete(body);
}

static void test_scale_labels(void **state)
{
    struct pb_message m = scale(5, PB_MESSAGE_QUESTION);
    char *content;

    m.low_label = "Rough";
    m.high_label = "Great";
    assert_int_equal(dc_render_content(&m, &content), 0);
    assert_string_equal(content, "How was your week?\n-# 0 = Rough \xC2\xB7 4 = Great");
    free(content);
}

static void test_length_limit(void **state)
{
    char *text = malloc(5001);
    struct pb_message m = {.size = sizeof(m), .kind = PB_MESSAGE_TEXT, .text = text};
    char *content;
    size_t chars = 0;

    /* 2500 two-byte characters: the limit counts characters, not bytes. */
    for (size_t i = 0; i < 5000; i += 2)
        memcpy(text + i, "\xC3\xA9", 2);
    text[5000] = '\0';
    assert_int_equal(dc_render_content(&m, &content), 0);
    for (const unsigned char *p = (const unsigned char *)content; *p; p++)
        chars += (*p & 0xC0) != 0x80;
    assert_int_equal(chars, DC_MAX_CONTENT);
    assert_non_null(strstr(content, "\xE2\x80\xA6"));
    free(content);
    free(text);

    /* Never end on half an escape. */
    text = malloc(3000);
    memset(text, '*', 2999);
    text[2999] = '\0';
    m.text = text;
    assert_int_equal(dc_render_content(&m, &content), 0);
    assert_true(strlen(content) >= 3);
    assert_string_equal(content + strlen(content) - 4, "*\xE2\x80\xA6");
    free(content);
    free(text);
}

static void test_empty_message(void **state)
{
    struct pb_message m = {.size = sizeof(m), .kind = PB_MESSAGE_TEXT};
    char *content;

    assert_int_equal(dc_render_content(&m, &content), 0);
    assert_true(strlen(content) > 0); /* Discord refuses an empty message */
    free(content);
}

static void test_mention_user(void **state)
{
    struct pb_field fields[] = {{"For", "Mia <@333> @everyone"}};
    struct pb_message m = scale(2, PB_MESSAGE_ALERT);
    const char *error, *content;
    cJSON *body, *am, *users;
    char *long_text = malloc(3001);

    m.title = "Low score";
    m.fields = fields;
    m.n_fields = 1;
    m.mention_user = "333333333333333333";
    body = dc_render_message(&m, &error);
    assert_non_null(body);
    content = cJSON_GetObjectItem(body, "content")->valuestring;
    /* Our mention first, the person's text escaped as always. */
    assert_true(strncmp(content, "<@333333333333333333> **Low score**", 35) == 0);
    assert_non_null(strstr(content, "**For:** Mia \\<\\@333\\> \\@everyone"));
    assert_null(strstr(content + 1, "<@"));
    am = cJSON_GetObjectItem(body, "allowed_mentions");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(am, "parse")), 0);
    users = cJSON_GetObjectItem(am, "users");
    assert_int_equal(cJSON_GetArraySize(users), 1);
    assert_string_equal(cJSON_GetArrayItem(users, 0)->valuestring, "333333333333333333");
    assert_null(cJSON_GetObjectItem(am, "roles"));
    cJSON_Delete(body);

    /* Not a snowflake: no mention at all, and nobody in allowed_mentions. */
    static const char *const bad[] = {"12a", "<@1>", "@everyone", "123456789012345678901",
                                      "",    "1 2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m.mention_user = bad[i];
        body = dc_render_message(&m, &error);
        assert_non_null(body);
        content = cJSON_GetObjectItem(body, "content")->valuestring;
        assert_null(strstr(content, "<@"));
        am = cJSON_GetObjectItem(body, "allowed_mentions");
        assert_null(cJSON_GetObjectItem(am, "users"));
        cJSON_Delete(body);
    }

    /* The 2000-character cut never drops the mention. */
    memset(long_text, 'a', 3000);
    long_text[3000] = '\0';
    m.mention_user = "42";
    m.title = NULL;
    m.text = long_text;
    m.n_fields = 0;
    body = dc_render_message(&m, &error);
    content = cJSON_GetObjectItem(body, "content")->valuestring;
    assert_true(strncmp(content, "<@42> aaa", 9) == 0);
    assert_true(strlen(content) <= DC_MAX_CONTENT + 2);
    cJSON_Delete(body);
    free(long_text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_mentions_and_markup),
        cmocka_unit_test(test_escape_bad_bytes),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_buttons_carry_tokens),
        cmocka_unit_test(test_many_choices_select),
        cmocka_unit_test(test_closed_has_no_buttons),
        cmocka_unit_test(test_token_too_long),
        cmocka_unit_test(test_message_body),
        cmocka_unit_test(test_scale_labels),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_mention_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

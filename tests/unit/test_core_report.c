/*
 * Survey reports from a store filled through the store's own API: per-question figures (mean,
 * distribution, NPS), response rate with did-not-answer, open and unreachable apart, teams that
 * include their sub-teams, and on an anonymous survey the thresholds: a small team hidden, its
 * sibling hidden so it cannot be worked out by subtraction, comments only in groups large
 * enough, never with a name, and no hidden figure in any export. The `reports` block's checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "report.h"
#include "store.h"

#define T0  1800000000000LL /* 2027-01-15 08:00 UTC */
#define DAY (24LL * 3600 * 1000)

static const char *const CONFIG =
    "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
    "teams = (\n"
    "  { id = \"org\"; name = \"Org\"; },\n"
    "  { id = \"eng\"; name = \"Engineering\"; parent = \"org\"; },\n"
    "  { id = \"backend\"; name = \"Backend\"; parent = \"eng\"; },\n"
    "  { id = \"frontend\"; name = \"Frontend\"; parent = \"eng\"; },\n"
    "  { id = \"sales\"; name = \"Sales\"; parent = \"org\"; }\n"
    ");\n"
    "people = (\n"
    "  { id = \"pat\"; name = \"Pat Sales\"; team = \"sales\"; },\n"
    "  { id = \"eve\"; name = \"Eve Eng\"; team = \"backend\"; }\n"
    ");\n"
    "surveys = (\n"
    "  { id = \"enps\"; kind = \"employee\"; anonymous = true; questions = (\n"
    "      { id = \"score\"; type = \"scale\"; text = \"Would you recommend us?\"; min = 0;\n"
    "        max = 10; next = \"why\"; },\n"
    "      { id = \"why\"; type = \"text\"; text = \"Why?\"; } ); },\n"
    "  { id = \"named\"; kind = \"employee\"; questions = (\n"
    "      { id = \"week\"; type = \"scale\"; text = \"How was your week?\"; next = \"why\"; },\n"
    "      { id = \"why\"; type = \"text\"; text = \"Why?\"; } ); },\n"
    "  { id = \"kinds\"; kind = \"employee\"; questions = (\n"
    "      { id = \"ok\"; type = \"yesno\"; text = \"All good?\"; next = \"area\"; },\n"
    "      { id = \"area\"; type = \"choice\"; text = \"Which?\";\n"
    "        options = [ \"Pay\", \"Tools\", \"Team\" ]; } ); }\n"
    ");\n"
    "%s\n";

struct fx {
    char dir[64];
    struct pb_config *cfg;
    struct pb_store *s;
    struct pb_fake_clock clock;
};

/* Loads CONFIG with `extra` appended; returns the diagnostics' first line or "" when fine. */
static int load(struct fx *f, const char *extra, char *first, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/pulsebot.conf", f->dir);
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fprintf(out, CONFIG, extra);
    fclose(out);
    struct pb_diag diag = {0};
    int rc = pb_config_load(path, &f->cfg, &diag);
    snprintf(first, len, "%s", diag.n ? diag.lines[0] : "");
    pb_diag_free(&diag);
    return rc;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-report-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    pb_log_set_level(PB_LOG_WARNING);
    pb_fake_clock_init(&f->clock, T0 + 3 * DAY);
    pb_clock_set(&f->clock.clock);
    char first[512];
    if (load(f, "reports = { min_group = 5; min_comments = 6; };", first, sizeof first) != 0)
        fail_msg("config: %s", first);
    char err[256];
    assert_int_equal(pb_store_open(":memory:", &f->s, err, sizeof err), PB_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pb_store_close(f->s);
    pb_config_free(f->cfg);
    pb_clock_set(NULL);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int64_t delivery(struct fx *f, const char *survey, const char *person, int state,
                        int64_t created)
{
    struct pb_delivery d;
    memset(&d, 0, sizeof d);
    snprintf(d.survey, sizeof d.survey, "%s", survey);
    snprintf(d.person, sizeof d.person, "%s", person);
    snprintf(d.connector, sizeof d.connector, "web");
    snprintf(d.address, sizeof d.address, "%s", person);
    d.state = (enum pb_delivery_state)state;
    d.created_ms = created;
    d.expires_ms = created + 3 * DAY;
    assert_int_equal(pb_store_delivery_insert(f->s, &d), PB_OK);
    return d.id;
}

static void answer(struct fx *f, int64_t delivery_id, const char *survey, const char *question,
                   int score, const char *text, const char *person, const char *team)
{
    struct pb_answer a;
    memset(&a, 0, sizeof a);
    a.delivery_id = delivery_id;
    snprintf(a.survey, sizeof a.survey, "%s", survey);
    snprintf(a.question, sizeof a.question, "%s", question);
    a.has_score = score >= 0;
    a.score = score;
    a.text = (char *)text;
    snprintf(a.person, sizeof a.person, "%s", person);
    snprintf(a.team, sizeof a.team, "%s", team);
    assert_int_equal(pb_store_answer_insert(f->s, &a), PB_OK);
}

/* One anonymous respondent: a score, and a comment when `text` is set. */
static void respond(struct fx *f, const char *team, int score, const char *text, int64_t at)
{
    int64_t d = delivery(f, "enps", "", PB_DELIVERY_COMPLETED, at);
    answer(f, d, "enps", "score", score, NULL, "", team);
    if (text)
        answer(f, d, "enps", "why", -1, text, "", team);
}

/*
 * backend 6 (10 9 9 8 6 3, 6 comments), frontend 3 (7 8 9, 2 comments), sales 8
 * (10 10 9 9 9 8 7 2, 3 comments); 4 expired, 2 still open, 1 unreachable; and 5 answers
 * of an earlier round that a --since leaves out.
 */
static void fill_anonymous(struct fx *f)
{
    static const int backend[] = {10, 9, 9, 8, 6, 3}, frontend[] = {7, 8, 9},
                     sales[] = {10, 10, 9, 9, 9, 8, 7, 2};
    char text[64];
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "backend says %d", i);
        respond(f, "backend", backend[i], text, T0 + DAY);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(text, sizeof text, "frontend says %d", i);
        respond(f, "frontend", frontend[i], i < 2 ? text : NULL, T0 + DAY);
    }
    for (int i = 0; i < 8; i++) {
        snprintf(text, sizeof text, "sales says %d", i);
        respond(f, "sales", sales[i], i < 3 ? text : NULL, T0 + DAY);
    }
    for (int i = 0; i < 4; i++)
        delivery(f, "enps", "", PB_DELIVERY_EXPIRED, T0 + DAY);
    delivery(f, "enps", "eve", PB_DELIVERY_SENT, T0 + DAY);
    delivery(f, "enps", "pat", PB_DELIVERY_PENDING, T0 + DAY);
    delivery(f, "enps", "eve", PB_DELIVERY_UNREACHABLE, T0 + DAY);
    for (int i = 0; i < 5; i++)
        respond(f, "sales", 0, "last month", T0 - 20 * DAY);
}

static const struct pb_report_group *group(const struct pb_report *r, const char *team)
{
    for (size_t i = 0; i < r->n_groups; i++)
        if (team ? r->groups[i].team && strcmp(r->groups[i].team, team) == 0 : !r->groups[i].team)
            return &r->groups[i];
    fail_msg("no group %s", team ? team : "(all)");
    return NULL;
}

static struct pb_report *build(struct fx *f, const char *survey, int64_t since)
{
    struct pb_report_filter flt = {.survey = survey, .since_ms = since};
    struct pb_report *r = NULL;
    char err[256];
    assert_int_equal(pb_report_build(f->s, f->cfg, &flt, &r, err, sizeof err), PB_OK);
    return r;
}

static void assert_near(double got, double want)
{
    if (got < want - 0.005 || got > want + 0.005)
        fail_msg("got %.4f, expected %.4f", got, want);
}

static void test_anonymous_figures_and_suppression(void **state)
{
    struct fx *f = *state;
    fill_anonymous(f);
    struct pb_report *r = build(f, "enps", T0);
    assert_true(r->anonymous);
    assert_int_equal(r->min_group, 5);
    assert_int_equal(r->min_comments, 6);
    assert_int_equal(r->n_questions, 2);
    assert_true(r->questions[0].nps);
    assert_int_equal(r->questions[0].lo, 0);
    assert_int_equal(r->questions[0].hi, 10);
    /* All, then the tree depth first. */
    assert_int_equal(r->n_groups, 6);
    assert_null(r->groups[0].team);
    assert_string_equal(r->groups[1].team, "org");
    assert_string_equal(r->groups[2].team, "eng");
    assert_string_equal(r->groups[3].team, "backend");
    assert_string_equal(r->groups[4].team, "frontend");
    assert_string_equal(r->groups[5].team, "sales");
    assert_int_equal(r->groups[3].parent, 2);
    assert_int_equal(r->groups[3].depth, 3);

    /* The whole survey: 17 answers of 23 asked (4 did not answer, 2 open), 1 unreachable. */
    const struct pb_report_group *all = group(r, NULL);
    assert_true(all->part.known && all->part.shown);
    assert_int_equal(all->part.respondents, 17);
    assert_int_equal(all->part.asked, 23);
    assert_int_equal(all->part.did_not_answer, 4);
    assert_int_equal(all->part.open, 2);
    assert_int_equal(all->part.unreachable, 1);
    const struct pb_report_cell *c = &all->cells[0];
    assert_true(c->shown);
    assert_int_equal(c->n, 17);
    assert_near(c->mean, 133.0 / 17);
    assert_near(c->nps, 100.0 * (9 - 3) / 17);
    assert_int_equal(c->dist[10], 3);
    assert_int_equal(c->dist[9], 6);
    assert_int_equal(c->dist[2], 1);
    assert_int_equal(c->dist[0], 0); /* last month's zeros are outside --since */

    /* frontend has 3: hidden. backend has 6, but Engineering (9) less backend would be
     * frontend's 3, so backend is hidden too; Engineering shows the 9 together. */
    const struct pb_report_group *fe = group(r, "frontend"), *be = group(r, "backend"),
                                 *eng = group(r, "eng"), *sales = group(r, "sales");
    assert_false(fe->cells[0].shown);
    assert_false(be->cells[0].shown);
    assert_false(fe->part.shown);
    assert_false(be->part.shown);
    /* Nothing hidden is left in the report to leak. */
    assert_int_equal(be->cells[0].n, 0);
    assert_null(be->cells[0].dist);
    assert_true(be->cells[0].mean == 0.0);
    assert_int_equal(be->part.respondents, 0);
    assert_false(be->part.known); /* per team, anonymous deliveries name nobody */

    assert_true(eng->cells[0].shown);
    assert_int_equal(eng->cells[0].n, 9);
    assert_near(eng->cells[0].mean, 69.0 / 9);
    assert_near(eng->cells[0].nps, 100.0 * (4 - 2) / 9);
    assert_int_equal(eng->part.respondents, 9);
    assert_true(sales->cells[0].shown);
    assert_int_equal(sales->cells[0].n, 8);
    assert_near(sales->cells[0].mean, 8.0);
    assert_near(sales->cells[0].nps, 50.0);

    /* Comments (at least 6): backend's 6 would be Engineering's 8 less frontend's 2, so only
     * Org (11) and the whole show them; all 11 are listed once, under Org, with no name. */
    assert_false(be->cells[1].comments_shown);
    assert_false(fe->cells[1].comments_shown);
    assert_false(eng->cells[1].comments_shown);
    assert_false(sales->cells[1].comments_shown);
    assert_null(be->cells[1].comments);
    const struct pb_report_group *org = group(r, "org");
    assert_true(org->cells[1].comments_shown);
    assert_int_equal(org->cells[1].n_comments, 11);
    assert_int_equal(org->cells[1].n_listed, 11);
    assert_true(all->cells[1].comments_shown);
    assert_int_equal(all->cells[1].n_listed, 0);
    for (size_t i = 0; i < 11; i++) {
        assert_null(org->cells[1].comments[i].author);
        if (i > 0)
            assert_true(
                strcmp(org->cells[1].comments[i - 1].text, org->cells[1].comments[i].text) <= 0);
    }
    pb_report_free(r);

    /* Without --since, last month's five answers join sales (13) and the whole (22). */
    r = build(f, "enps", 0);
    assert_int_equal(group(r, "sales")->cells[0].n, 13);
    assert_int_equal(group(r, NULL)->part.respondents, 22);
    pb_report_free(r);
}

/* A printed export of the report. */
static char *render(const struct pb_report *r, enum pb_report_format fmt, enum pb_report_by by)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(pb_report_write(r, fmt, by, out), PB_OK);
    fclose(out);
    return buf;
}

static const cJSON *json_group(const cJSON *root, const char *team)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, cJSON_GetObjectItem(root, "groups"))
    {
        const cJSON *t = cJSON_GetObjectItem(g, "team");
        if (team ? cJSON_IsString(t) && strcmp(t->valuestring, team) == 0 : cJSON_IsNull(t))
            return g;
    }
    fail_msg("no group %s in the JSON", team ? team : "null");
    return NULL;
}

static void test_exports_hold_nothing_hidden(void **state)
{
    struct fx *f = *state;
    fill_anonymous(f);
    struct pb_report *r = build(f, "enps", T0);

    char *json = render(r, PB_REPORT_JSON, PB_REPORT_BY_TEAM);
    cJSON *root = cJSON_Parse(json);
    assert_non_null(root);
    const cJSON *be = json_group(root, "backend");
    const cJSON *q = cJSON_GetArrayItem(cJSON_GetObjectItem(be, "questions"), 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(q, "shown")));
    assert_null(cJSON_GetObjectItem(q, "answers"));
    assert_null(cJSON_GetObjectItem(q, "mean"));
    assert_null(cJSON_GetObjectItem(q, "distribution"));
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(be, "participation"), "respondents"));
    const cJSON *eng = json_group(root, "eng");
    q = cJSON_GetArrayItem(cJSON_GetObjectItem(eng, "questions"), 0);
    assert_int_equal(cJSON_GetObjectItem(q, "answers")->valueint, 9);
    const cJSON *all = json_group(root, NULL);
    const cJSON *part = cJSON_GetObjectItem(all, "participation");
    assert_int_equal(cJSON_GetObjectItem(part, "respondents")->valueint, 17);
    assert_int_equal(cJSON_GetObjectItem(part, "asked")->valueint, 23);
    assert_int_equal(cJSON_GetObjectItem(part, "unreachable")->valueint, 1);
    assert_near(cJSON_GetObjectItem(part, "response_rate")->valuedouble, 1700.0 / 23);
    cJSON_Delete(root);
    free(json);

    /* By question: only the whole survey, with every comment. */
    json = render(r, PB_REPORT_JSON, PB_REPORT_BY_QUESTION);
    root = cJSON_Parse(json);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "groups")), 1);
    q = cJSON_GetArrayItem(cJSON_GetObjectItem(json_group(root, NULL), "questions"), 1);
    const cJSON *cm = cJSON_GetObjectItem(q, "comments");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cm, "list")), 11);
    assert_null(strstr(json, "\"author\""));
    cJSON_Delete(root);
    free(json);

    char *csv = render(r, PB_REPORT_CSV, PB_REPORT_BY_TEAM);
    assert_non_null(strstr(csv, "scores,\"backend\",\"Backend\",\"score\",hidden,,,,,"));
    assert_non_null(strstr(csv, "scores,\"eng\",\"Engineering\",\"score\",yes,9,7.67,22.2,"));
    assert_non_null(strstr(csv, "comments,\"frontend\",\"Frontend\",\"why\",hidden,"));
    /* Each frontend comment appears once, under Org. */
    assert_non_null(
        strstr(csv, "comment,\"org\",\"Org\",\"why\",yes,,,,,,,,,,\"frontend says 0\""));
    assert_null(strstr(csv, "comment,\"frontend\""));
    free(csv);

    char *text = render(r, PB_REPORT_TEXT, PB_REPORT_BY_TEAM);
    if (getenv("PB_SHOW"))
        fputs(text, stderr);
    assert_non_null(strstr(text, "      Backend (backend)\n        respondents: hidden*\n"));
    assert_non_null(strstr(text, "17 answers, mean 7.82, NPS +35"));
    free(text);
    pb_report_free(r);
}

static void test_named_survey_shows_all_with_authors(void **state)
{
    struct fx *f = *state;
    int64_t d = delivery(f, "named", "pat", PB_DELIVERY_COMPLETED, T0);
    answer(f, d, "named", "week", 2, NULL, "pat", "sales");
    answer(f, d, "named", "why", -1, "Too many meetings", "pat", "sales");
    delivery(f, "named", "eve", PB_DELIVERY_EXPIRED, T0);
    delivery(f, "named", "eve", PB_DELIVERY_UNREACHABLE, T0);
    struct pb_report *r = build(f, "named", 0);
    assert_false(r->anonymous);
    const struct pb_report_group *sales = group(r, "sales"), *be = group(r, "backend");
    assert_true(sales->cells[0].shown);
    assert_int_equal(sales->cells[0].n, 1);
    assert_int_equal(sales->cells[0].dist[1], 1); /* the 1..5 scale: index 1 is a 2 */
    assert_true(sales->cells[1].comments_shown);
    assert_int_equal(sales->cells[1].n_listed, 1);
    assert_string_equal(sales->cells[1].comments[0].author, "Pat Sales");
    /* Per team, participation is known: eve (backend) did not answer, and was unreachable. */
    assert_true(be->part.known);
    assert_int_equal(be->part.asked, 1);
    assert_int_equal(be->part.did_not_answer, 1);
    assert_int_equal(be->part.unreachable, 1);
    assert_int_equal(group(r, "eng")->part.did_not_answer, 1);
    assert_int_equal(group(r, NULL)->part.asked, 2);
    pb_report_free(r);
}

static void test_yes_no_and_choice(void **state)
{
    struct fx *f = *state;
    static const char *const options[] = {"Pay", "Tools", "Team"};
    for (int i = 0; i < 4; i++) {
        int64_t d = delivery(f, "kinds", "pat", PB_DELIVERY_COMPLETED, T0);
        answer(f, d, "kinds", "ok", i < 3, i < 3 ? "yes" : "no", "pat", "sales");
        answer(f, d, "kinds", "area", i % 2 ? 2 : 1, options[i % 2 ? 2 : 1], "pat", "sales");
    }
    struct pb_report *r = build(f, "kinds", 0);
    const struct pb_report_question *ok = &r->questions[0], *area = &r->questions[1];
    assert_true(ok->categorical && area->categorical);
    assert_false(ok->has_text); /* the word beside the score is no comment */
    assert_false(area->has_text);
    assert_string_equal(ok->labels[1], "yes");
    assert_int_equal(area->n_labels, 3);
    const struct pb_report_cell *c = &group(r, NULL)->cells[0];
    assert_int_equal(c->dist[0], 1);
    assert_int_equal(c->dist[1], 3);
    assert_int_equal(c->n_comments, 0);
    c = &group(r, NULL)->cells[1];
    assert_int_equal(c->dist[0], 0);
    assert_int_equal(c->dist[1], 2);
    assert_int_equal(c->dist[2], 2);
    char *text = render(r, PB_REPORT_TEXT, PB_REPORT_BY_QUESTION);
    assert_non_null(strstr(text, "4 answers | no:1 yes:3\n"));
    assert_non_null(strstr(text, "4 answers | Pay:0 Tools:2 Team:2\n"));
    free(text);
    pb_report_free(r);
}

static void test_unknown_survey_is_anonymous(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 4; i++) {
        int64_t d = delivery(f, "gone", "", PB_DELIVERY_COMPLETED, T0);
        answer(f, d, "gone", "q", 4, NULL, "", "sales");
        answer(f, d, "gone", "c", -1, "words", "", "sales");
    }
    struct pb_report *r = build(f, "gone", 0);
    assert_true(r->anonymous);
    assert_int_equal(r->n_questions, 2);
    assert_true(r->questions[0].scored && !r->questions[0].has_text);
    assert_true(!r->questions[1].scored && r->questions[1].has_text);
    assert_false(group(r, NULL)->cells[0].shown); /* 4 < 5 */
    assert_false(group(r, NULL)->cells[1].comments_shown);
    pb_report_free(r);
}

static void test_reports_block(void **state)
{
    struct fx *f = *state;
    char first[512];
    /* The defaults, and min_comments following min_group. */
    pb_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(load(f, "", first, sizeof first), 0);
    assert_int_equal(f->cfg->reports.min_group, 5);
    assert_int_equal(f->cfg->reports.min_comments, 5);
    pb_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_equal(load(f, "reports = { min_group = 7; };", first, sizeof first), 0);
    assert_int_equal(f->cfg->reports.min_comments, 7);
    pb_config_free(f->cfg);
    f->cfg = NULL;

    /* Never below 3, and comments never under min_group: file:line errors. */
    char want[256];
    assert_int_not_equal(load(f, "reports = {\n  min_group = 2;\n};", first, sizeof first), 0);
    snprintf(want, sizeof want, "%s/pulsebot.conf:27: ", f->dir);
    if (strncmp(first, want, strlen(want)) != 0 || !strstr(first, "min_group"))
        fail_msg("got: %s", first);
    assert_int_not_equal(
        load(f, "reports = {\n  min_group = 6;\n  min_comments = 5;\n};", first, sizeof first), 0);
    snprintf(want, sizeof want, "%s/pulsebot.conf:28: ", f->dir);
    if (strncmp(first, want, strlen(want)) != 0 || !strstr(first, "min_comments (5)"))
        fail_msg("got: %s", first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_anonymous_figures_and_suppression, setup, teardown),
        cmocka_unit_test_setup_teardown(test_exports_hold_nothing_hidden, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_survey_shows_all_with_authors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_yes_no_and_choice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_survey_is_anonymous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports_block, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

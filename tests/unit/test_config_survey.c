/*
 * Survey configuration: question types and presets, choice and yes/no branches, banks and
 * translations (`text_de = ...`) read into the structures, and every wrong combination
 * reported as one exact "file:line: message".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char dir[64];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Loads `text` from a file; returns the config or NULL with the problems in `d`. */
static struct pb_config *load(const char *text, struct pb_diag *d)
{
    char path[128];
    snprintf(path, sizeof path, "%s/t.conf", dir);
    write_file(path, text);
    struct pb_config *cfg = NULL;
    memset(d, 0, sizeof *d);
    pb_config_load(path, &cfg, d);
    return cfg;
}

static const char good[] =
    "surveys = ( {\n"
    "  id = \"pulse\"; title = \"Weekly pulse\"; title_de = \"Wochenpuls\";\n"
    "  default_locale = \"en\";\n"
    "  bank = [ \"workload\", \"team\", \"tools\" ];\n"
    "  questions = (\n"
    "    { id = \"workload\"; type = \"nps\"; text = \"Recommend us?\";\n"
    "      text_de = \"Empfehlen?\"; text_de-CH = \"Empfehled?\";\n"
    "      branches = ( { max = 6; next = \"why\"; } ); },\n"
    "    { id = \"team\"; type = \"choice\"; text = \"What matters most?\";\n"
    "      options = [ \"Workload\", \"Team\", \"Tools\" ];\n"
    "      options_de = [ \"Arbeitslast\", \"Team\", \"Werkzeuge\" ];\n"
    "      branches = ( { choice = \"Tools\"; next = \"why\"; } ); },\n"
    "    { id = \"tools\"; type = \"yesno\"; text = \"Good tools?\";\n"
    "      branches = ( { answer = \"no\"; next = \"why\"; } ); },\n"
    "    { id = \"mood\"; type = \"emoji\"; text = \"Mood?\"; next = \"end\"; },\n"
    "    { id = \"csat\"; type = \"csat\"; text = \"Happy?\"; next = \"end\"; },\n"
    "    { id = \"ces\"; type = \"ces\"; text = \"Easy?\"; low_label = \"Hard\";\n"
    "      low_label_de = \"Schwer\"; next = \"end\"; },\n"
    "    { id = \"why\"; type = \"text\"; text = \"Why?\"; text_fr = \"Pourquoi ?\"; }\n"
    "  ); } );\n";

static void test_types_banks_and_translations(void **state)
{
    (void)state;
    struct pb_diag d;
    struct pb_config *cfg = load(good, &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("%s\n", d.lines[i]);
    assert_non_null(cfg);
    const struct pb_cfg_survey *s = pb_config_survey(cfg, "pulse");
    assert_int_equal(s->thanks_default, 1);
    assert_string_equal(s->default_locale, "en");
    assert_int_equal(s->n_bank, 3);

    const struct pb_cfg_question *nps = pb_config_question(s, "workload");
    assert_int_equal(nps->type, PB_QUESTION_SCALE);
    assert_int_equal(nps->preset, PB_SCALE_NPS);
    assert_int_equal(nps->min, 0);
    assert_int_equal(nps->max, 10);
    assert_int_equal(nps->branches[0].min, 0); /* defaults to the preset's range */
    assert_int_equal(nps->branches[0].max, 6);
    /* A bank question goes on to the question listed after the bank, not to the next in it. */
    assert_string_equal(nps->next, "mood");
    assert_string_equal(pb_config_translation(&nps->tr, "text", "de")->text, "Empfehlen?");
    assert_string_equal(pb_config_translation(&nps->tr, "text", "de_ch")->text, "Empfehled?");
    assert_null(pb_config_translation(&nps->tr, "text", "fr"));

    const struct pb_cfg_question *choice = pb_config_question(s, "team");
    assert_int_equal(choice->type, PB_QUESTION_CHOICE);
    assert_int_equal(choice->n_options, 3);
    assert_int_equal(choice->min, 0);
    assert_int_equal(choice->max, 2);
    assert_int_equal(choice->branches[0].min, 2); /* "Tools" is option 2 */
    assert_int_equal(choice->branches[0].max, 2);
    const struct pb_cfg_translation *t = pb_config_translation(&choice->tr, "options", "de");
    assert_non_null(t);
    assert_int_equal(t->n_list, 3);
    assert_string_equal(t->list[2], "Werkzeuge");

    const struct pb_cfg_question *yn = pb_config_question(s, "tools");
    assert_int_equal(yn->type, PB_QUESTION_YESNO);
    assert_int_equal(yn->branches[0].min, 0); /* no */
    assert_int_equal(yn->branches[0].max, 0);
    assert_string_equal(yn->next, "mood");

    const struct pb_cfg_question *mood = pb_config_question(s, "mood");
    assert_int_equal(mood->preset, PB_SCALE_EMOJI);
    assert_int_equal(mood->min, 1);
    assert_int_equal(mood->max, 5);
    assert_null(mood->next);
    assert_int_equal(pb_config_question(s, "csat")->max, 5);
    const struct pb_cfg_question *ces = pb_config_question(s, "ces");
    assert_int_equal(ces->min, 1);
    assert_int_equal(ces->max, 7);
    assert_string_equal(pb_config_translation(&ces->tr, "low_label", "DE")->text, "Schwer");
    assert_string_equal(pb_config_translation(&s->tr, "title", "de")->text, "Wochenpuls");
    pb_config_free(cfg);
    pb_diag_free(&d);
}

struct bad {
    const char *questions; /* the survey's questions ( ... ), from line 2 */
    const char *message;   /* after "<file>:" */
};

static const struct bad bads[] = {
    {"{ id = \"q\"; type = \"scale\"; text = \"Q?\";\n options = [ \"A\", \"B\" ]; }",
     "3: question \"q\" in survey \"s\": \"options\" applies only to choice questions (type = "
     "\"choice\")"},
    {"{ id = \"q\"; type = \"yesno\"; text = \"Q?\";\n min = 0; }",
     "3: question \"q\" in survey \"s\": \"min\" applies only to scale questions (type = "
     "\"scale\" or \"emoji\")"},
    {"{ id = \"q\"; type = \"nps\"; text = \"Q?\";\n max = 5; }",
     "3: question \"q\" in survey \"s\": \"max\" cannot be set for type = \"nps\": it is "
     "always 0 to 10"},
    {"{ id = \"q\"; type = \"choice\"; text = \"Q?\"; options = [ \"Workload\", \"Team\" ];\n"
     " branches = ( { choice = \"Workoad\"; next = \"end\"; } ); }",
     "3: question \"q\" in survey \"s\": branch #1: choice \"Workoad\" is not one of the "
     "options (did you mean \"Workload\"?)"},
    {"{ id = \"q\"; type = \"yesno\"; text = \"Q?\";\n branches = ( { answer = \"maybe\"; } ); }",
     "3: question \"q\" in survey \"s\": branch #1: expected answer = \"yes\" or answer = "
     "\"no\", got \"maybe\""},
    {"{ id = \"q\"; type = \"yesno\"; text = \"Q?\";\n branches = ( { min = 1; } ); }",
     "3: question \"q\" in survey \"s\": branch #1: min and max are for scales; a yes/no "
     "question's branch says answer = \"yes\" or \"no\""},
    {"{ id = \"q\"; type = \"scale\"; text = \"Q?\";\n branches = ( { choice = \"A\"; } ); }",
     "3: question \"q\" in survey \"s\": branch #1: \"choice\" applies only to choice questions "
     "(type = \"choice\")"},
    {"\n{ id = \"q\"; type = \"choice\"; text = \"Q?\"; }",
     "3: question \"q\" in survey \"s\": a choice question needs options = [ \"...\", \"...\" ]"},
    {"{ id = \"q\"; type = \"choice\"; text = \"Q?\"; options = [ \"A\", \"B\" ];\n"
     " options_de = [ \"A\" ]; }",
     "3: question \"q\" in survey \"s\": options_de: expected 2 options, as many as options, "
     "got 1"},
    {"{ id = \"q\"; type = \"choice\"; text = \"Q?\";\n options = [ \"A\", \"a\" ]; }",
     "3: question \"q\" in survey \"s\": options: \"a\" is there twice"},
    {"{ id = \"q\"; type = \"scale\"; text = \"Q?\";\n text_german = \"Frage?\"; }",
     "3: question \"q\" in survey \"s\": text_german: \"german\" is not a language tag such as "
     "\"de\" or \"de-CH\" (a translation of text is written text_<language>)"},
    {"{ id = \"q\"; type = \"scale\"; text = \"Q?\"; text_de = \"F?\";\n text_de_CH = \"F?\";\n"
     " text_de-ch = \"F?\"; }",
     "4: question \"q\" in survey \"s\": text_de-ch: text is translated into \"de-ch\" twice"},
    {"{ id = \"q\"; type = \"scale\"; text = \"Q?\";\n options_de = [ \"A\", \"B\" ]; }",
     "3: question \"q\" in survey \"s\": \"options_de\" applies only to choice questions (type "
     "= \"choice\")"},
    {"{ id = \"q\"; type = \"emoji\"; text = \"Q?\";\n max = 7; }",
     "3: question \"q\" in survey \"s\": an emoji scale of 7 points needs labels = [ ... ] with "
     "one face for each (the built-in faces are for 1 to 5)"},
    {"{ id = \"q\"; type = \"scale\"; text = \"Q?\"; min = 1; max = 3;\n labels = [ \"a\" ]; }",
     "3: question \"q\" in survey \"s\": labels: expected 3 labels, one for each point of the "
     "scale, got 1"},
    {"{ id = \"q\"; type = \"text\"; text = \"Q?\";\n branches = ( { next = \"end\"; } ); }",
     "3: question \"q\" in survey \"s\": \"branches\" applies only to questions answered with "
     "buttons (not type = \"text\")"},
    {"{ id = \"q\"; type = \"stars\"; text = \"Q?\"; }",
     "2: question \"q\" in survey \"s\": type: expected one of \"scale\", \"text\", \"nps\", "
     "\"enps\", \"csat\", \"ces\", \"emoji\", \"yesno\", \"choice\", got \"stars\""},
};

static void test_wrong_combinations(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof bads / sizeof *bads; i++) {
        char text[2048], want[1024];
        snprintf(text, sizeof text, "surveys = ( { id = \"s\"; questions = (\n%s ); } );\n",
                 bads[i].questions);
        struct pb_diag d;
        struct pb_config *cfg = load(text, &d);
        snprintf(want, sizeof want, "%s/t.conf:%s", dir, bads[i].message);
        if (cfg || d.n != 1 || strcmp(d.lines[0], want) != 0) {
            failures++;
            print_message("case %zu: want\n  %s\ngot %zu:\n", i, want, d.n);
            for (size_t j = 0; j < d.n; j++)
                print_message("  %s\n", d.lines[j]);
        }
        pb_config_free(cfg);
        pb_diag_free(&d);
    }
    assert_int_equal(failures, 0);
}

static void test_bank_errors(void **state)
{
    (void)state;
    struct pb_diag d;
    struct pb_config *cfg =
        load("surveys = ( { id = \"s\";\n bank = [ \"alpha\", \"betta\" ];\n"
             " questions = ( { id = \"alpha\"; type = \"yesno\"; text = \"A?\"; },"
             " { id = \"beta\"; type = \"yesno\"; text = \"B?\"; } ); } );\n",
             &d);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    char want[256];
    snprintf(want, sizeof want,
             "%s/t.conf:2: survey \"s\": bank: unknown question \"betta\" (did you mean \"beta\"?)",
             dir);
    assert_string_equal(d.lines[0], want);
    pb_diag_free(&d);

    cfg = load("surveys = ( { id = \"s\";\n title_xx1 = \"T\";\n"
               " questions = ( { id = \"a\"; type = \"yesno\"; text = \"A?\"; } ); } );\n",
               &d);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    snprintf(want, sizeof want,
             "%s/t.conf:2: survey \"s\": title_xx1: \"xx1\" is not a language tag such as \"de\" "
             "or \"de-CH\" (a translation of title is written title_<language>)",
             dir);
    assert_string_equal(d.lines[0], want);
    pb_diag_free(&d);
}

/* Keys that are not translatable stay unknown keys with a suggestion. */
static void test_untranslatable_key(void **state)
{
    (void)state;
    struct pb_diag d;
    struct pb_config *cfg = load("surveys = ( { id = \"s\";\n window_de = \"1d\";\n"
                                 " questions = ( { id = \"a\"; type = \"yesno\"; text = \"A?\"; } "
                                 "); } );\n",
                                 &d);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    assert_non_null(strstr(d.lines[0], ":2: unknown key \"window_de\" in survey \"s\""));
    pb_diag_free(&d);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/pb-cfgsurvey-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/t.conf", dir);
    unlink(path);
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_banks_and_translations),
        cmocka_unit_test(test_wrong_combinations),
        cmocka_unit_test(test_bank_errors),
        cmocka_unit_test(test_untranslatable_key),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

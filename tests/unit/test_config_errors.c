/*
 * Every configuration mistake gives one exact "file:line: message": each file under
 * tests/data/config/bad/ holds one problem, and the table below says what must be printed for
 * it. Also: several problems in one file are all reported in line order, and an unreadable
 * file is reported by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define DIR PB_TEST_DATA "/config/"

struct bad {
    const char *file;
    const char *message; /* "line: text", after the file's path */
};

static const struct bad bad_configs[] = {
    {"syntax.conf", "3: syntax error"},
    {"duplicate_key.conf", "4: duplicate setting name"},
    {"include_missing.conf", "2: cannot open include file"},
    {"unknown_top.conf", "2: unknown key \"peple\" at the top level (did you mean \"people\"?)"},
    {"unknown_daemon.conf", "3: unknown key \"log_levl\" in daemon (did you mean \"log_level\"?)"},
    {"unknown_http.conf", "3: unknown key \"prot\" in daemon.http (did you mean \"port\"?)"},
    {"unknown_team.conf", "3: unknown key \"parnet\" in team \"a\" (did you mean \"parent\"?)"},
    {"unknown_person.conf", "4: unknown key \"tem\" in person \"alice\" (did you mean \"team\"?)"},
    {"unknown_nohint.conf", "3: unknown key \"colour\" in person \"alice\""},
    {"unknown_survey.conf",
     "3: unknown key \"titel\" in survey \"pulse\" (did you mean \"title\"?)"},
    {"unknown_question.conf", "4: unknown key \"lowlabel\" in question \"week\" in survey "
                              "\"pulse\" (did you mean \"low_label\"?)"},
    {"unknown_branch.conf", "5: unknown key \"nxt\" in branch #1 in question \"week\" in survey "
                            "\"pulse\" (did you mean \"next\"?)"},
    {"unknown_schedule.conf",
     "8: unknown key \"frist\" in schedule \"weekly\" (did you mean \"first\"?)"},
    {"unknown_audience.conf",
     "9: unknown key \"team\" in audience of schedule \"weekly\" (did you mean \"teams\"?)"},
    {"unknown_route.conf",
     "6: unknown key \"continu\" in route \"low\" (did you mean \"continue\"?)"},
    {"port_range.conf", "4: daemon.http.port: expected an integer from 0 to 65535, got 70000"},
    {"port_type.conf", "3: daemon.http.port: expected an integer from 0 to 65535, got \"8080\""},
    {"max_body_float.conf",
     "3: daemon.http.max_body: expected an integer from 1024 to 67108864, got 1.5"},
    {"log_level.conf", "3: daemon.log_level: expected one of \"err\", \"warning\", \"notice\", "
                       "\"info\", \"debug\", got \"verbose\""},
    {"public_url.conf", "3: daemon.public_url: expected an http:// or https:// URL such as "
                        "\"https://pulse.example.com\", got \"ftp://example.com\""},
    {"link_ttl.conf", "3: daemon.link_ttl: expected a duration greater than zero such as \"30s\", "
                      "\"15m\", \"2h\", \"7d\" or a number of seconds, got \"30 days\""},
    {"state_dir_empty.conf", "3: daemon.state_dir: expected a path (a non-empty string), got \"\""},
    {"daemon_type.conf", "2: daemon: expected a group { ... }, got a list"},
    {"list_type.conf", "2: people: expected a list of groups ( { ... }, { ... } ), got a group"},
    {"item_type.conf", "3: person #1: expected a group { ... }, got \"alice\""},
    {"bool_type.conf",
     "3: connector \"web\": implicit_handles: expected true or false, got \"yes\""},
    {"connector_name.conf",
     "3: connector \"Web Chat\": name: expected a name of lowercase letters, digits, '_' and '-' "
     "(at most 32, starting with a letter), got \"Web Chat\""},
    {"connector_type.conf", "3: connector \"web\": type: expected a module name of lowercase "
                            "letters, digits and '_' (at most 32), got \"../evil\""},
    {"id_bad.conf",
     "3: team \"customer support\": id: expected an id of letters, digits, '_', '-' and '.' (at "
     "most 63, starting with a letter or digit), got \"customer support\""},
    {"missing_required.conf", "3: person #1: missing required key \"id\""},
    {"timezone.conf", "3: person \"alice\": timezone: expected an IANA time zone name such as "
                      "\"Europe/Oslo\" (see /usr/share/zoneinfo), got \"Mars/Olympus\""},
    {"timezone_table.conf", "3: person \"alice\": timezone: expected an IANA time zone name such "
                            "as \"Europe/Oslo\" (see /usr/share/zoneinfo), got \"zone.tab\""},
    {"locale.conf", "3: person \"alice\": locale: expected a language tag such as \"en\" or "
                    "\"nb-NO\", got \"english!\""},
    {"email.conf",
     "3: person \"alice\": email: expected an email address, got \"alice.example.com\""},
    {"handle_type.conf", "4: person \"alice\": handles.discord: expected the user's id as a "
                         "non-empty string (quote numeric ids), got 123456"},
    {"channel.conf",
     "3: team \"leads\": channel: expected a channel \"connector:address\", got \"support-leads\""},
    {"survey_kind.conf",
     "3: survey \"pulse\": kind: expected one of \"employee\", \"customer\", got \"staff\""},
    {"survey_window.conf",
     "3: survey \"pulse\": window: expected a duration greater than zero such as \"30s\", \"15m\", "
     "\"2h\", \"7d\" or a number of seconds, got \"0s\""},
    {"questions_empty.conf",
     "3: survey \"pulse\": questions: expected at least 1 question, got none"},
    {"question_type.conf", "3: question \"week\" in survey \"pulse\": type: expected one of "
                           "\"scale\", \"text\", \"nps\", \"enps\", \"csat\", \"ces\", "
                           "\"emoji\", \"yesno\", \"choice\", got \"stars\""},
    {"question_text_missing.conf",
     "3: question \"week\" in survey \"pulse\": missing required key \"text\""},
    {"scale_inverted.conf",
     "4: question \"week\" in survey \"pulse\": min (5) must be less than max (1)"},
    {"scale_wide.conf", "4: question \"week\" in survey \"pulse\": a scale has at most 11 points "
                        "(such as 0 to 10), got 0 to 20"},
    {"scale_key_on_text.conf", "4: question \"why\" in survey \"pulse\": \"low_label\" applies "
                               "only to scale questions (type = \"scale\")"},
    {"text_key_on_scale.conf", "4: question \"week\" in survey \"pulse\": \"max_length\" applies "
                               "only to text questions (type = \"text\")"},
    {"branch_outside.conf", "5: question \"week\" in survey \"pulse\": branch #1: scores 0 to 2 "
                            "are outside the scale 1 to 5"},
    {"branch_inverted.conf",
     "5: question \"week\" in survey \"pulse\": branch #2: min (4) is greater than max (3)"},
    {"route_scores.conf", "6: route \"low\": min_score (3) is greater than max_score (1)"},
    {"schedule_every.conf",
     "8: schedule \"weekly\": every: expected a duration greater than zero such as \"30s\", "
     "\"15m\", \"2h\", \"7d\" or a number of seconds, got 0"},
    {"schedule_audience_missing.conf", "8: schedule \"weekly\": missing required key \"audience\""},
    {"audience_type.conf", "8: audience of schedule \"weekly\": teams: expected a list of strings "
                           "such as [ \"a\", \"b\" ], got \"support\""},
    {"dup_connector.conf", "3: duplicate connector name \"web\" (first defined at line 2)"},
    {"dup_team.conf", "3: duplicate team id \"support\" (first defined at line 2)"},
    {"dup_person.conf", "5: duplicate person id \"alice\" (first defined at line 3)"},
    {"dup_question.conf",
     "4: survey \"pulse\": duplicate question id \"week\" (first defined at line 3)"},
    {"team_parent.conf",
     "3: team \"leads\": parent: unknown team \"suport\" (did you mean \"support\"?)"},
    {"team_cycle.conf", "3: team \"a\": parent chain loops back to itself: a -> c -> b -> a"},
    {"team_self.conf", "3: team \"a\": parent chain loops back to itself: a -> a"},
    {"team_manager.conf",
     "4: team \"support\": manager: unknown person \"maia\" (did you mean \"mia\"?)"},
    {"team_channel.conf", "4: team \"support\": channel: unknown connector \"slack\""},
    {"person_team.conf",
     "4: person \"alice\": team: unknown team \"suport\" (did you mean \"support\"?)"},
    {"person_handle.conf",
     "4: person \"alice\": handles: unknown connector \"slak\" (did you mean \"slack\"?)"},
    {"handle_twice.conf", "4: person \"bob\": handle \"U123\" on connector \"slack\" is also the "
                          "handle of person \"alice\""},
    {"handle_implicit.conf", "4: person \"bob\": handle \"alice\" on connector \"web\" is also the "
                             "handle of person \"alice\""},
    {"branch_target.conf", "5: survey \"weekly-pulse\": branch #1 of question \"week\" goes to "
                           "unknown question \"hrad\" (did you mean \"hard\"?)"},
    {"next_target.conf", "4: survey \"pulse\": question \"week\" goes to unknown question \"why\""},
    {"question_loop.conf",
     "4: survey \"pulse\": question \"why\" can be reached again from itself: why -> more -> why"},
    {"question_end.conf", "4: survey \"pulse\": \"end\" is reserved and cannot be a question id"},
    {"schedule_survey.conf",
     "8: schedule \"weekly\": survey: unknown survey \"puls\" (did you mean \"pulse\"?)"},
    {"audience_team.conf", "9: schedule \"weekly\": audience.teams: unknown team \"sales\""},
    {"audience_exclude.conf", "9: schedule \"weekly\": audience.exclude: unknown person \"alicia\" "
                              "(did you mean \"alice\"?)"},
    {"audience_none.conf",
     "8: schedule \"weekly\": the audience names nobody: give audience.teams or audience.people"},
    {"audience_empty.conf", "8: schedule \"weekly\": the audience has nobody in it (its teams have "
                            "no people, or everyone is excluded)"},
    {"route_survey.conf", "8: route \"low\": survey: unknown survey \"weekly\""},
    {"route_team.conf",
     "6: route \"low\": team: unknown team \"suport\" (did you mean \"support\"?)"},
    {"route_alert.conf", "6: route \"low\": alert: unknown team \"leads\""},
    {"route_no_channel.conf",
     "4: route \"low\": team \"leads\" has no channel for alerts, and neither has any team above "
     "it: give it channel = \"connector:address\""},
    {"dup_route.conf", "6: duplicate route id \"low\" (first defined at line 5)"},
    {"route_category.conf",
     "5: route \"low\": give either category or min_score/max_score, not both"},
    {"route_mention.conf", "5: route \"low\": mention = \"manager\", but team \"support\" and "
                           "the teams above it have no manager"},
    {"route_channel.conf", "5: route \"low\": channel: unknown connector \"slak\""},
    {"team_on_call.conf", "3: team \"support\": on_call: unknown person \"olga\""},
    {"alerts_reassign.conf",
     "5: alerts: reassign: unknown team \"suport\" (did you mean \"support\"?)"},
    {"alerts_escalation_channel.conf",
     "4: alerts: escalation level #2 goes to the escalation channel, but "
     "alerts.escalation_channel is not set"},
    {"alerts_escalation_order.conf", "4: alerts: escalation level #2 comes before level #1; list "
                                     "them in order of `after`"},
    {"alerts_unknown.conf", "3: unknown key \"reason\" in alerts (did you mean \"reasons\"?)"},
};

static void print_diag(const struct pb_diag *d)
{
    for (size_t i = 0; i < d->n; i++)
        print_message("  %s\n", d->lines[i]);
}

static void test_each_bad_config(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof bad_configs / sizeof *bad_configs; i++) {
        char path[512], want[1024];
        snprintf(path, sizeof path, DIR "bad/%s", bad_configs[i].file);
        snprintf(want, sizeof want, "%s:%s", path, bad_configs[i].message);
        struct pb_config *cfg = (struct pb_config *)1;
        struct pb_diag d = {0};
        int rc = pb_config_load(path, &cfg, &d);
        int ok = rc == -1 && cfg == NULL && d.n == 1 && strcmp(d.lines[0], want) == 0;
        if (!ok) {
            failures++;
            print_message("%s: rc %d, %zu message(s); want exactly\n  %s\ngot\n", path, rc, d.n,
                          want);
            print_diag(&d);
        }
        pb_diag_free(&d);
    }
    assert_int_equal(failures, 0);
}

static void test_several_errors_in_line_order(void **state)
{
    (void)state;
    const char *path = DIR "several.conf";
    const char *want[] = {
        "3: daemon.http.port: expected an integer from 0 to 65535, got 70000",
        "4: daemon.log_level: expected one of \"err\", \"warning\", \"notice\", \"info\", "
        "\"debug\", got \"loud\"",
        "6: team \"support\": parent: unknown team \"nobody\"",
        "8: unknown key \"tem\" in person \"alice\" (did you mean \"team\"?)",
        "9: duplicate person id \"alice\" (first defined at line 8)",
        "12: question \"week\" in survey \"pulse\": min (3) must be less than max (2)",
        "13: route \"low\": team \"support\" has no channel for alerts, and neither has any team "
        "above it: give it channel = \"connector:address\"",
    };
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    assert_int_equal(pb_config_load(path, &cfg, &d), -1);
    assert_null(cfg);
    print_diag(&d);
    assert_int_equal(d.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < d.n; i++) {
        char full[1024];
        snprintf(full, sizeof full, "%s:%s", path, want[i]);
        assert_string_equal(d.lines[i], full);
    }
    pb_diag_free(&d);
}

static void test_missing_file(void **state)
{
    (void)state;
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    assert_int_equal(pb_config_load(DIR "no-such-file.conf", &cfg, &d), -1);
    assert_null(cfg);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.lines[0], DIR "no-such-file.conf: cannot read the configuration: No "
                                        "such file or directory");
    pb_diag_free(&d);
}

/* The file of a message is the one that holds the mistake, also for an included file. */
static void test_error_in_included_file(void **state)
{
    (void)state;
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    assert_int_equal(pb_config_load(DIR "include_main.conf", &cfg, &d), -1);
    print_diag(&d);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.lines[0], DIR "include_people.conf:3: unknown key \"emial\" in person "
                                        "\"bob\" (did you mean \"email\"?)");
    pb_diag_free(&d);
}

static void test_diag_format(void **state)
{
    (void)state;
    struct pb_diag d = {0};
    pb_diag_add(&d, "a.conf", 3, "x %d", 1);
    pb_diag_add(&d, "a.conf", 0, "no line");
    pb_diag_add(&d, NULL, 0, "bare");
    for (int i = 0; i < 20; i++)
        pb_diag_add(&d, "b.conf", i + 1, "m%d", i);
    assert_int_equal(d.n, 23);
    assert_string_equal(d.lines[0], "a.conf:3: x 1");
    assert_string_equal(d.lines[1], "a.conf: no line");
    assert_string_equal(d.lines[2], "bare");
    assert_string_equal(d.lines[22], "b.conf:20: m19");
    pb_diag_free(&d);
    assert_int_equal(d.n, 0);
    assert_null(d.lines);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_bad_config), cmocka_unit_test(test_several_errors_in_line_order),
        cmocka_unit_test(test_missing_file),    cmocka_unit_test(test_error_in_included_file),
        cmocka_unit_test(test_diag_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Valid configurations load into the structures the daemon reads: every field of a file that
 * sets every key, the defaults of an empty file, paths resolved against the file's directory
 * whatever the working directory, the shipped examples, lookups, team trees and durations.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

#define DIR PB_TEST_DATA "/config/"

static struct pb_config *load_ok(const char *path)
{
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    int rc = pb_config_load(path, &cfg, &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("  %s\n", d.lines[i]);
    assert_int_equal(d.n, 0);
    assert_int_equal(rc, 0);
    assert_non_null(cfg);
    pb_diag_free(&d);
    return cfg;
}

/* The absolute, clean form of a directory below the source tree. */
static void source_path(char *out, size_t len, const char *below)
{
    char root[PATH_MAX];
    assert_non_null(realpath(PB_TEST_DATA "/../..", root));
    int n = snprintf(out, len, "%.*s/%s", (int)(len / 2), root, below);
    assert_true(n > 0 && (size_t)n < len);
}

static void test_full(void **state)
{
    (void)state;
    struct pb_config *cfg = load_ok(DIR "full.conf");
    char want[PATH_MAX];

    const struct pb_cfg_daemon *d = &cfg->daemon;
    source_path(want, sizeof want, "tests/data/config/state");
    assert_string_equal(d->state_dir, want);
    assert_string_equal(d->plugin_dir, "/opt/pulsebot/plugins");
    assert_int_equal(d->log_level, PB_LOG_DEBUG);
    assert_string_equal(d->listen, "::1");
    assert_int_equal(d->port, 9090);
    assert_int_equal(d->max_body, 4096);
    assert_string_equal(d->public_url, "https://pulse.example.com"); /* trailing '/' dropped */
    assert_int_equal(d->link_ttl_ms, 12 * 3600 * 1000LL);

    assert_int_equal(cfg->n_connectors, 2);
    const struct pb_cfg_connector *web = &cfg->connectors[0];
    assert_string_equal(web->name, "web");
    assert_string_equal(web->type, "webchat");
    assert_true(web->implicit_handles);
    assert_int_equal(web->line, 11);
    assert_non_null(web->setting);
    assert_false(cfg->connectors[1].implicit_handles);
    assert_ptr_equal(pb_config_connector(cfg, "slack"), &cfg->connectors[1]);

    assert_int_equal(cfg->n_teams, 4);
    const struct pb_cfg_team *org = pb_config_team(cfg, "org");
    assert_string_equal(org->name, "Everyone");
    assert_null(org->parent);
    assert_null(org->manager);
    /* Only the first ':' separates: the address keeps its own. */
    assert_string_equal(org->channel.connector, "slack");
    assert_string_equal(org->channel.address, "C01:general");
    const struct pb_cfg_team *support = pb_config_team(cfg, "support");
    assert_string_equal(support->parent, "org");
    assert_string_equal(support->manager, "mia");
    assert_null(support->channel.connector);
    assert_null(support->channel.address);
    assert_string_equal(pb_config_team(cfg, "support-leads")->name, "support-leads");
    assert_int_equal(pb_config_team(cfg, "sales")->line, 20);

    assert_int_equal(cfg->n_people, 3);
    const struct pb_cfg_person *alice = pb_config_person(cfg, "alice");
    assert_string_equal(alice->name, "Alice Andersen");
    assert_string_equal(alice->email, "alice@example.com");
    assert_string_equal(alice->team, "support");
    assert_string_equal(alice->timezone, "Europe/Oslo");
    assert_string_equal(alice->locale, "nb-NO");
    assert_int_equal(alice->n_handles, 2);
    assert_string_equal(alice->handles[0].connector, "web");
    assert_string_equal(alice->handles[0].user, "alice");
    assert_string_equal(alice->handles[1].connector, "slack");
    assert_string_equal(alice->handles[1].user, "U123");
    assert_int_equal(alice->line, 23);
    const struct pb_cfg_person *mia = pb_config_person(cfg, "mia");
    assert_string_equal(mia->name, "mia");
    assert_null(mia->email);
    assert_null(mia->timezone);
    assert_null(mia->locale);
    assert_int_equal(mia->n_handles, 0);

    assert_int_equal(cfg->n_surveys, 2);
    const struct pb_cfg_survey *s = pb_config_survey(cfg, "weekly-pulse");
    assert_int_equal(s->kind, PB_SURVEY_EMPLOYEE);
    assert_string_equal(s->title, "Weekly pulse");
    assert_true(s->anonymous);
    assert_int_equal(s->window_ms, 2 * 86400 * 1000LL);
    assert_string_equal(s->thanks, "Thanks!");
    assert_int_equal(s->n_questions, 3);
    const struct pb_cfg_question *week = &s->questions[0];
    assert_ptr_equal(pb_config_question(s, "week"), week);
    assert_int_equal(week->type, PB_QUESTION_SCALE);
    assert_string_equal(week->text, "How was your week?");
    assert_int_equal(week->min, 0);
    assert_int_equal(week->max, 10);
    assert_string_equal(week->low_label, "Rough");
    assert_string_equal(week->high_label, "Great");
    assert_string_equal(week->next, "good");
    assert_int_equal(week->n_branches, 3);
    assert_int_equal(week->branches[0].min, 0);
    assert_int_equal(week->branches[0].max, 3);
    assert_string_equal(week->branches[0].next, "hard");
    assert_int_equal(week->branches[1].min, 9);
    assert_int_equal(week->branches[1].max, 10); /* the scale's end */
    assert_null(week->branches[1].next);         /* "end" */
    assert_int_equal(week->branches[2].min, 0);  /* the scale's start */
    assert_int_equal(week->branches[2].max, 5);
    assert_null(week->branches[2].next); /* omitted: the end */
    const struct pb_cfg_question *hard = pb_config_question(s, "hard");
    assert_int_equal(hard->type, PB_QUESTION_TEXT);
    assert_int_equal(hard->max_length, 500);
    assert_null(hard->next);
    assert_int_equal(hard->n_branches, 0);
    const struct pb_cfg_question *good = pb_config_question(s, "good");
    assert_int_equal(good->max_length, 2000);
    assert_null(good->next); /* the last question */
    assert_int_equal(good->line, 38);

    const struct pb_cfg_survey *csat = pb_config_survey(cfg, "csat");
    assert_int_equal(csat->kind, PB_SURVEY_CUSTOMER);
    assert_null(csat->title);
    assert_false(csat->anonymous);
    assert_int_equal(csat->window_ms, 3 * 86400 * 1000LL);
    assert_string_equal(csat->thanks, "Thank you!");
    assert_int_equal(csat->questions[0].min, 1);
    assert_int_equal(csat->questions[0].max, 5);

    assert_int_equal(cfg->n_schedules, 2);
    const struct pb_cfg_schedule *weekly = &cfg->schedules[0];
    assert_string_equal(weekly->id, "weekly");
    assert_string_equal(weekly->survey, "weekly-pulse");
    assert_int_equal(weekly->every_ms, 7 * 86400 * 1000LL);
    assert_int_equal(weekly->first_ms, 30 * 1000); /* a bare number is seconds */
    assert_int_equal(weekly->audience.n_teams, 2);
    assert_string_equal(weekly->audience.teams[0], "support");
    assert_string_equal(weekly->audience.teams[1], "sales");
    assert_int_equal(weekly->audience.n_people, 1);
    assert_string_equal(weekly->audience.people[0], "mia");
    assert_int_equal(weekly->audience.n_exclude, 1);
    assert_string_equal(weekly->audience.exclude[0], "sam");
    const struct pb_cfg_schedule *daily = &cfg->schedules[1];
    assert_int_equal(daily->first_ms, daily->every_ms); /* first defaults to every */
    assert_int_equal(daily->audience.n_teams, 0);
    assert_int_equal(daily->audience.n_exclude, 0);

    assert_int_equal(cfg->n_routes, 2);
    const struct pb_cfg_route *low = &cfg->routes[0];
    assert_string_equal(low->id, "low");
    assert_string_equal(low->survey, "weekly-pulse");
    assert_string_equal(low->team, "support");
    assert_int_equal(low->min_score, 0);
    assert_int_equal(low->max_score, 3);
    assert_string_equal(low->alert_team, "support-leads");
    assert_true(low->cont);
    const struct pb_cfg_route *any = &cfg->routes[1];
    assert_null(any->survey);
    assert_null(any->team);
    assert_int_equal(any->min_score, INT_MIN);
    assert_int_equal(any->max_score, INT_MAX);
    assert_false(any->cont);
    pb_config_free(cfg);
}

static void test_defaults(void **state)
{
    (void)state;
    unsetenv("STATE_DIRECTORY");
    struct pb_config *cfg = load_ok(DIR "empty.conf");
    const struct pb_cfg_daemon *d = &cfg->daemon;
    assert_string_equal(d->state_dir, "/var/lib/pulsebot");
    assert_non_null(d->plugin_dir);
    assert_true(d->plugin_dir[0] == '/');
    assert_int_equal(d->log_level, PB_LOG_INFO);
    assert_string_equal(d->listen, "127.0.0.1");
    assert_int_equal(d->port, 8080);
    assert_int_equal(d->max_body, 65536);
    assert_string_equal(d->public_url, "http://127.0.0.1:8080");
    assert_int_equal(d->link_ttl_ms, 30 * 86400 * 1000LL);
    assert_int_equal(cfg->n_connectors + cfg->n_teams + cfg->n_people + cfg->n_surveys +
                         cfg->n_schedules + cfg->n_routes,
                     0);
    assert_null(pb_config_person(cfg, "alice"));
    pb_config_free(cfg);

    /* Under systemd, StateDirectory= decides; it may list several: the first is ours. */
    setenv("STATE_DIRECTORY", "/var/lib/pulsebot-test:/var/lib/other", 1);
    cfg = load_ok(DIR "empty.conf");
    assert_string_equal(cfg->daemon.state_dir, "/var/lib/pulsebot-test");
    pb_config_free(cfg);
    unsetenv("STATE_DIRECTORY");
}

/* `pulsebotd -c config/demo.conf` must mean the same from any working directory. */
static void test_relative_paths_from_any_cwd(void **state)
{
    (void)state;
    char old[PATH_MAX], want[PATH_MAX];
    assert_non_null(getcwd(old, sizeof old));
    source_path(want, sizeof want, "tests/data/config/state");

    assert_int_equal(chdir(PB_TEST_DATA), 0);
    struct pb_config *cfg = load_ok("config/full.conf");
    assert_string_equal(cfg->path, "config/full.conf");
    assert_string_equal(cfg->daemon.state_dir, want);
    pb_config_free(cfg);

    assert_int_equal(chdir("/"), 0);
    cfg = load_ok(DIR "full.conf");
    assert_string_equal(cfg->daemon.state_dir, want);
    pb_config_free(cfg);
    assert_int_equal(chdir(old), 0);
}

static void test_demo_conf(void **state)
{
    (void)state;
    struct pb_config *cfg = load_ok(PB_TEST_DATA "/../../config/demo.conf");
    char want[PATH_MAX];
    source_path(want, sizeof want, "var");
    assert_string_equal(cfg->daemon.state_dir, want);
    source_path(want, sizeof want, "build/plugins");
    assert_string_equal(cfg->daemon.plugin_dir, want);
    assert_string_equal(cfg->daemon.listen, "127.0.0.1");
    assert_int_equal(cfg->daemon.port, 8080);
    assert_string_equal(cfg->daemon.public_url, "http://127.0.0.1:8080");

    assert_int_equal(cfg->n_connectors, 1);
    const struct pb_cfg_connector *web = pb_config_connector(cfg, "web");
    assert_non_null(web);
    assert_string_equal(web->type, "webchat");
    assert_true(web->implicit_handles);
    int demo = 0;
    assert_int_equal(pb_config_connector_bool(web, "demo_login", &demo), 0);
    assert_true(demo);

    const struct pb_cfg_team *leads = pb_config_team(cfg, "support-leads");
    assert_string_equal(leads->parent, "support");
    assert_string_equal(leads->channel.connector, "web");
    assert_string_equal(leads->channel.address, "support-leads");
    assert_string_equal(pb_config_team(cfg, "support")->manager, "mia");
    assert_null(pb_config_team(cfg, "support")->channel.connector);
    for (const char *const *p = (const char *const[]){"alice", "bob", "carol", NULL}; *p; p++)
        assert_string_equal(pb_config_person(cfg, *p)->team, "support");
    assert_string_equal(pb_config_person(cfg, "mia")->team, "support-leads");

    const struct pb_cfg_survey *s = pb_config_survey(cfg, "weekly-pulse");
    assert_non_null(s);
    const struct pb_cfg_question *week = &s->questions[0];
    assert_string_equal(week->id, "week");
    assert_int_equal(week->min, 1);
    assert_int_equal(week->max, 5);
    assert_string_equal(week->low_label, "Rough");
    assert_int_equal(week->n_branches, 1);
    assert_int_equal(week->branches[0].min, 1);
    assert_int_equal(week->branches[0].max, 2);
    assert_string_equal(week->branches[0].next, "hard");
    assert_null(week->next);
    assert_int_equal(pb_config_question(s, "hard")->type, PB_QUESTION_TEXT);

    assert_int_equal(cfg->n_schedules, 1);
    assert_int_equal(cfg->schedules[0].first_ms, 20 * 1000);
    assert_int_equal(cfg->schedules[0].every_ms, 7 * 86400 * 1000LL);
    assert_string_equal(cfg->schedules[0].audience.teams[0], "support");

    assert_int_equal(cfg->n_routes, 1);
    assert_string_equal(cfg->routes[0].survey, "weekly-pulse");
    assert_string_equal(cfg->routes[0].team, "support");
    assert_int_equal(cfg->routes[0].min_score, 1);
    assert_int_equal(cfg->routes[0].max_score, 2);
    assert_string_equal(cfg->routes[0].alert_team, "support-leads");
    pb_config_free(cfg);
}

static void test_installed_example(void **state)
{
    (void)state;
    unsetenv("STATE_DIRECTORY");
    struct pb_config *cfg = load_ok(PB_TEST_DATA "/../../config/pulsebot.conf");
    assert_string_equal(cfg->daemon.state_dir, "/var/lib/pulsebot");
    assert_true(cfg->daemon.plugin_dir[0] == '/');
    assert_true(cfg->n_surveys >= 2);
    assert_true(cfg->n_routes >= 1);
    pb_config_free(cfg);
}

static void test_team_within(void **state)
{
    (void)state;
    struct pb_config *cfg = load_ok(DIR "full.conf");
    assert_true(pb_config_team_within(cfg, "support-leads", "org"));
    assert_true(pb_config_team_within(cfg, "support-leads", "support"));
    assert_true(pb_config_team_within(cfg, "support", "support"));
    assert_true(pb_config_team_within(cfg, "sales", "org"));
    assert_false(pb_config_team_within(cfg, "org", "support"));
    assert_false(pb_config_team_within(cfg, "sales", "support"));
    assert_false(pb_config_team_within(cfg, "support", "support-leads"));
    assert_false(pb_config_team_within(cfg, "nobody", "org"));
    assert_false(pb_config_team_within(cfg, NULL, "org"));
    assert_false(pb_config_team_within(cfg, "org", NULL));
    assert_null(pb_config_team(cfg, NULL));
    assert_null(pb_config_survey(cfg, "nope"));
    assert_null(pb_config_question(pb_config_survey(cfg, "csat"), "week"));
    assert_null(pb_config_connector(cfg, "discord"));
    pb_config_free(cfg);
}

static void test_durations(void **state)
{
    (void)state;
    const struct {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"30s", 30000},
        {"15m", 900000},
        {"2h", 7200000},
        {"7d", 604800000},
        {"2w", 1209600000},
        {"45", 45000},
        {"0", 0},
        {"0s", 0},
        {"250ms", 250},
        {"1h30m", 5400000},
        {"1d12h", 129600000},
        {"", -1},
        {"s", -1},
        {"10x", -1},
        {"-5s", -1},
        {"5 s", -1},
        {"1.5h", -1},
        {"30S", -1},
        {"99999999999999999999s", -1},
        {"9999999999999999w", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t got = pb_duration_parse_ms(cases[i].text);
        if (got != cases[i].ms)
            print_message("\"%s\": want %lld, got %lld\n", cases[i].text, (long long)cases[i].ms,
                          (long long)got);
        assert_int_equal(got, cases[i].ms);
    }
    assert_int_equal(pb_duration_parse_ms(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_relative_paths_from_any_cwd),
        cmocka_unit_test(test_demo_conf),
        cmocka_unit_test(test_installed_example),
        cmocka_unit_test(test_team_within),
        cmocka_unit_test(test_durations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

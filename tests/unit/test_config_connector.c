/*
 * A connector block checked against a module's option table: unknown keys (with a guess),
 * wrong types, missing required keys, secrets given as x_file or x_credential (exactly one),
 * relative secret files resolved against the config's directory; and the accessors the host
 * gives the module.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define FILE_ PB_TEST_DATA "/config/connectors.conf"

static const struct pb_option sample_options[] = {
    {"token", PB_OPT_SECRET, 1, "the API token"},
    {"signing", PB_OPT_SECRET, 0, "the signing secret"},
    {"workspace", PB_OPT_STRING, 1, "the workspace to join"},
    {"retries", PB_OPT_INT, 0, "how often to retry"},
    {"verbose", PB_OPT_BOOL, 0, "log more"},
    {"channels", PB_OPT_LIST, 0, "channels to watch"},
    {NULL, 0, 0, NULL},
};

static int setup(void **state)
{
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    int rc = pb_config_load(FILE_, &cfg, &d);
    for (size_t i = 0; i < d.n; i++)
        print_message("  %s\n", d.lines[i]);
    pb_diag_free(&d);
    *state = cfg;
    return rc;
}

static int teardown(void **state)
{
    pb_config_free(*state);
    return 0;
}

/* Checks connector `name` and compares every message, each given as "line: text". */
static void expect(const struct pb_config *cfg, const char *name, const char *const *want)
{
    const struct pb_cfg_connector *c = pb_config_connector(cfg, name);
    assert_non_null(c);
    struct pb_diag d = {0};
    int n = pb_config_check_connector(cfg, c, sample_options, &d);
    size_t n_want = 0;
    while (want[n_want])
        n_want++;
    for (size_t i = 0; i < d.n; i++)
        print_message("  %s\n", d.lines[i]);
    assert_int_equal(n, (int)n_want);
    assert_int_equal(d.n, n_want);
    for (size_t i = 0; i < n_want; i++) {
        char full[1024];
        snprintf(full, sizeof full, "%s:%s", FILE_, want[i]);
        assert_string_equal(d.lines[i], full);
    }
    pb_diag_free(&d);
}

static void test_good_block(void **state)
{
    const struct pb_config *cfg = *state;
    expect(cfg, "good", (const char *const[]){NULL});
    const struct pb_cfg_connector *c = pb_config_connector(cfg, "good");

    assert_string_equal(pb_config_connector_string(c, "workspace"), "acme");
    assert_null(pb_config_connector_string(c, "retries")); /* not a string */
    assert_null(pb_config_connector_string(c, "absent"));
    long long n = 0;
    assert_int_equal(pb_config_connector_int(c, "retries", &n), PB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(pb_config_connector_int(c, "workspace", &n), PB_ERR_INVALID);
    assert_int_equal(pb_config_connector_int(c, "absent", &n), PB_ERR_UNKNOWN);
    int b = 0;
    assert_int_equal(pb_config_connector_bool(c, "verbose", &b), PB_OK);
    assert_true(b);
    assert_int_equal(pb_config_connector_bool(c, "implicit_handles", &b), PB_OK);
    assert_int_equal(pb_config_connector_bool(c, "retries", &b), PB_ERR_INVALID);
    assert_int_equal(pb_config_connector_bool(c, "absent", &b), PB_ERR_UNKNOWN);
    assert_string_equal(pb_config_connector_list(c, "channels", 0), "general");
    assert_string_equal(pb_config_connector_list(c, "channels", 1), "random");
    assert_null(pb_config_connector_list(c, "channels", 2));
    assert_null(pb_config_connector_list(c, "workspace", 0));
    assert_null(pb_config_connector_list(c, "absent", 0));

    /* The secret's file is stored resolved against the config file's directory. */
    char want[PATH_MAX];
    assert_non_null(realpath(PB_TEST_DATA "/config", want));
    strncat(want, "/secrets/token", sizeof want - strlen(want) - 1);
    assert_string_equal(pb_config_connector_string(c, "token_file"), want);
    assert_string_equal(pb_config_connector_string(c, "signing_credential"), "sample-signing");

    /* Checking twice changes nothing. */
    expect(cfg, "good", (const char *const[]){NULL});
    assert_string_equal(pb_config_connector_string(c, "token_file"), want);
}

static void test_unknown_keys(void **state)
{
    expect(*state, "unknown",
           (const char *const[]){
               "7: unknown key \"workspac\" in connector \"unknown\" of type \"sample\" (did you "
               "mean \"workspace\"?)",
               "8: unknown key \"colour\" in connector \"unknown\" of type \"sample\"",
               NULL,
           });
}

static void test_wrong_types(void **state)
{
    expect(*state, "types",
           (const char *const[]){
               "10: connector \"types\": workspace: expected a string, got 5",
               "11: connector \"types\": retries: expected an integer, got \"3\"",
               "12: connector \"types\": verbose: expected true or false, got 1",
               "13: connector \"types\": channels: expected a list of strings such as [ \"a\", "
               "\"b\" ], got \"general\"",
               "14: connector \"types\": signing_credential: expected the name of a systemd "
               "credential (no '/'), got \"../etc/secret\"",
               NULL,
           });
}

static void test_missing_required(void **state)
{
    expect(*state, "missing",
           (const char *const[]){
               "15: connector \"missing\": missing secret \"token\": give token_file = \"path\" "
               "or token_credential = \"credential name\"",
               "15: connector \"missing\": missing required key \"workspace\" (the workspace to "
               "join)",
               NULL,
           });
}

static void test_secret_given_twice(void **state)
{
    expect(*state, "both",
           (const char *const[]){
               "19: connector \"both\": secret \"token\" is given twice: keep either token_file "
               "or token_credential",
               NULL,
           });
}

static void test_secret_key_typo(void **state)
{
    expect(*state, "typo",
           (const char *const[]){
               "20: connector \"typo\": missing secret \"token\": give token_file = \"path\" or "
               "token_credential = \"credential name\"",
               "21: unknown key \"token_fil\" in connector \"typo\" of type \"sample\" (did you "
               "mean \"token_file\"?)",
               NULL,
           });
}

static void test_empty_list_and_int64(void **state)
{
    const struct pb_config *cfg = *state;
    expect(cfg, "empty", (const char *const[]){NULL});
    const struct pb_cfg_connector *c = pb_config_connector(cfg, "empty");
    assert_null(pb_config_connector_list(c, "channels", 0));
    long long n = 0;
    assert_int_equal(pb_config_connector_int(c, "retries", &n), PB_OK);
    assert_true(n == 12345678901LL);
    assert_string_equal(pb_config_connector_string(c, "token_file"), "/abs/token");
}

/* A module without options accepts the core keys only. */
static void test_no_options(void **state)
{
    const struct pb_config *cfg = *state;
    const struct pb_cfg_connector *c = pb_config_connector(cfg, "missing");
    struct pb_diag d = {0};
    static const struct pb_option none[] = {{NULL, 0, 0, NULL}};
    assert_int_equal(pb_config_check_connector(cfg, c, none, &d), 1);
    assert_string_equal(d.lines[0], FILE_ ":16: unknown key \"retries\" in connector \"missing\" "
                                          "of type \"sample\"");
    pb_diag_free(&d);
    assert_null(pb_config_connector_string(NULL, "x"));
}

static const struct pb_option *options_of(void *arg, const struct pb_config *cfg,
                                          const struct pb_cfg_connector *c, char *err,
                                          size_t errlen)
{
    (*(int *)arg)++;
    assert_non_null(cfg->daemon.plugin_dir);
    if (strcmp(c->type, "sample") == 0)
        return sample_options;
    snprintf(err, errlen, "no module %s.so", c->type);
    return NULL;
}

/* One pass reports core and connector problems together, in line order. */
static void test_load_with_modules(void **state)
{
    (void)state;
    const char *path = PB_TEST_DATA "/config/modules.conf";
    const char *want[] = {
        "5: unknown key \"verbos\" in connector \"typo\" of type \"sample\" (did you mean "
        "\"verbose\"?)",
        "6: connector \"gone\": no module missing.so",
        "8: team \"support\": manager: unknown person \"nobody\"",
    };
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    int calls = 0;
    assert_int_equal(pb_config_load_with(path, options_of, &calls, &cfg, &d), -1);
    assert_null(cfg);
    assert_int_equal(calls, 3);
    for (size_t i = 0; i < d.n; i++)
        print_message("  %s\n", d.lines[i]);
    assert_int_equal(d.n, 3);
    for (size_t i = 0; i < d.n; i++) {
        char full[1024];
        snprintf(full, sizeof full, "%s:%s", path, want[i]);
        assert_string_equal(d.lines[i], full);
    }
    pb_diag_free(&d);

    /* Without the module checks the same file has one problem. */
    assert_int_equal(pb_config_load(path, &cfg, &d), -1);
    assert_int_equal(d.n, 1);
    pb_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_block),           cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_wrong_types),          cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_secret_given_twice),   cmocka_unit_test(test_secret_key_typo),
        cmocka_unit_test(test_empty_list_and_int64), cmocka_unit_test(test_no_options),
        cmocka_unit_test(test_load_with_modules),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

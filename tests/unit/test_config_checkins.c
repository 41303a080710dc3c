/*
 * The checkins block's mistakes, each one exact "file:line: message" from a file under
 * tests/data/config/bad/checkin_*.conf, and a good block read into its structures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

#define DIR PB_TEST_DATA "/config/bad/"

static const struct {
    const char *file, *message;
} bad[] = {
    {"checkin_employee_survey.conf", "8: checkins: policy #1: survey \"pulse\" is of kind "
                                     "employee; a check-in asks a survey of kind = \"customer\""},
    {"checkin_policy_team.conf",
     "8: checkins: policy #1: teams: unknown team \"suport\" (did you mean \"support\"?)"},
    {"checkin_pointer.conf", "8: checkins: source \"zd\": fields.id: \"/ticket/~2id\" is not a "
                             "JSON pointer: '~' must be followed by 0 or 1"},
    {"checkin_source_connector.conf",
     "8: checkins: source \"chat\": connector: unknown connector \"slak\""},
    {"checkin_secret_both.conf", "9: checkins: give secret_file or secret_credential, not both"},
    {"checkin_unknown_key.conf", "8: unknown key \"sampel\" in check-in policy #1 in checkins "
                                 "(did you mean \"sample\"?)"},
    {"checkin_source_fields.conf", "8: checkins: source \"zd\": fields: give at least id and "
                                   "customer_id, so that each interaction and customer can be "
                                   "told apart"},
    {"checkin_sample_range.conf",
     "8: check-in policy #1 in checkins: sample: expected an integer from 0 to 100, got 150"},
};

static void test_bad(void **state)
{
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512], want[1024];
        snprintf(path, sizeof path, DIR "%s", bad[i].file);
        snprintf(want, sizeof want, "%s:%s", path, bad[i].message);
        struct pb_config *cfg = NULL;
        struct pb_diag diag = {0};
        assert_int_equal(pb_config_load(path, &cfg, &diag), -1);
        assert_null(cfg);
        if (diag.n != 1 || strcmp(diag.lines[0], want) != 0)
            fail_msg("%s: got %zu line(s), first \"%s\"; expected \"%s\"", bad[i].file, diag.n,
                     diag.n ? diag.lines[0] : "", want);
        pb_diag_free(&diag);
    }
}

static void test_good(void **state)
{
    struct pb_config *cfg = NULL;
    struct pb_diag diag = {0};
    assert_int_equal(pb_config_load(PB_TEST_DATA "/checkin/checkins.conf", &cfg, &diag), 0);
    const struct pb_cfg_checkins *c = &cfg->checkins;
    assert_int_equal(c->n_policies, 3);
    assert_string_equal(c->policies[0].survey, "onboard");
    assert_true(c->policies[0].delay_ms == 3600 * 1000);
    assert_int_equal(c->policies[0].sample, 100); /* the default */
    assert_int_equal(c->policies[1].sample, 50);
    assert_string_equal(c->policies[1].tags[0], "sampled");
    assert_true(c->contact_cap_ms == 7LL * 24 * 3600 * 1000);
    assert_true(c->max_age_ms == 5 * 60 * 1000); /* the default */
    assert_int_equal(c->max_depth, 32);
    assert_int_equal(c->n_sources, 1);
    assert_string_equal(c->sources[0].connector, "slack");
    assert_string_equal(c->sources[0].fields.team, "tier1");
    assert_null(c->sources[0].fields.id);
    assert_ptr_equal(pb_config_checkin_source(cfg, "slack-threads"), &c->sources[0]);
    assert_null(pb_config_checkin_source(cfg, "zendesk"));
    pb_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_good),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

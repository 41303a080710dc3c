/*
 * Secrets from files and systemd credentials: trailing newlines go, and every way of failing
 * (missing, empty, too long, readable by others, unset credentials directory) gives a clear
 * error that never contains the secret itself.
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "secret.h"

#define SECRET "xoxb-s3cret-VALUE"

static char dir[PATH_MAX];

static void put(const char *name, const char *content, size_t len, mode_t mode)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static const char *path_of(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/pb-secret-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    put("token", SECRET "\n", strlen(SECRET) + 1, 0600);
    put("crlf", SECRET "\r\n\r\n", strlen(SECRET) + 4, 0400);
    put("group", SECRET, strlen(SECRET), 0640);
    put("other", SECRET, strlen(SECRET), 0604);
    put("empty", "", 0, 0600);
    put("newlines", "\n\n\n", 3, 0600);
    put("nul", "abc\0def", 7, 0600);
    put("cred", SECRET "\n", strlen(SECRET) + 1, 0444); /* credentials: mode is systemd's */
    return 0;
}

static int teardown(void **state)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Reads and expects failure with an error mentioning `part`, never the secret. */
static void expect_fail(const char *file, const char *cred, size_t len, const char *part)
{
    char buf[256], err[1024];
    memset(buf, 'x', sizeof buf);
    int rc = pb_secret_read(file, cred, buf, len, err, sizeof err);
    print_message("  %s\n", err);
    assert_true(rc < 0);
    assert_non_null(strstr(err, part));
    assert_null(strstr(err, "s3cret"));
    /* The buffer is wiped: no half-read secret stays behind. */
    for (size_t i = 0; i < len; i++)
        assert_int_equal(buf[i], 0);
}

static void test_file(void **state)
{
    char buf[64], err[256] = "stale";
    assert_int_equal(pb_secret_read(path_of("token"), NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, SECRET);
    assert_string_equal(err, "");
    assert_int_equal(pb_secret_read(path_of("crlf"), NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, SECRET);
}

static void test_credential(void **state)
{
    char buf[64], err[256];
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    assert_int_equal(pb_secret_read(NULL, "cred", buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, SECRET);
    expect_fail(NULL, "absent", sizeof buf, "credential \"absent\": cannot open");
    expect_fail(NULL, "../token", sizeof buf, "is not a plain file name");
    unsetenv("CREDENTIALS_DIRECTORY");
    expect_fail(NULL, "cred", sizeof buf, "$CREDENTIALS_DIRECTORY is not set");
}

static void test_group_or_other_readable(void **state)
{
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "(mode 0640); fix it with: chmod 600 %.*s", PATH_MAX,
             path_of("group"));
    expect_fail(path_of("group"), NULL, 64, want);
    expect_fail(path_of("other"), NULL, 64, "(mode 0604); fix it with: chmod 600");
}

static void test_missing_empty_long(void **state)
{
    expect_fail(path_of("nope"), NULL, 64, "nope: cannot open: No such file or directory");
    expect_fail(path_of("empty"), NULL, 64, "is empty");
    expect_fail(path_of("newlines"), NULL, 64, "is empty");
    expect_fail(path_of("nul"), NULL, 64, "holds a NUL byte");
    expect_fail(dir, NULL, 64, "is not a regular file");
    /* SECRET has 17 bytes: 18 fits with the terminator, 17 does not. */
    expect_fail(path_of("token"), NULL, strlen(SECRET), "is too long: at most 16 bytes fit");
    char buf[sizeof SECRET], err[256];
    assert_int_equal(pb_secret_read(path_of("crlf"), NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, SECRET);
}

static void test_both_or_neither(void **state)
{
    expect_fail(path_of("token"), "cred", 64, "not both");
    expect_fail(NULL, NULL, 64, "no secret given");
}

/* Through a connector block, as the host reads a module's secret. */
static void test_from_connector(void **state)
{
    char conf[PATH_MAX + 64];
    snprintf(conf, sizeof conf, "%s/test.conf", dir);
    FILE *f = fopen(conf, "w");
    assert_non_null(f);
    fputs("connectors = ( { name = \"file\"; type = \"x\"; token_file = \"token\"; },\n"
          "  { name = \"cred\"; type = \"x\"; token_credential = \"cred\"; },\n"
          "  { name = \"none\"; type = \"x\"; },\n"
          "  { name = \"bad\"; type = \"x\"; token_file = \"group\"; } );\n",
          f);
    fclose(f);
    struct pb_config *cfg = NULL;
    struct pb_diag d = {0};
    assert_int_equal(pb_config_load(conf, &cfg, &d), 0);
    static const struct pb_option options[] = {{"token", PB_OPT_SECRET, 0, "token"},
                                               {NULL, 0, 0, NULL}};
    for (size_t i = 0; i < cfg->n_connectors; i++)
        assert_int_equal(pb_config_check_connector(cfg, &cfg->connectors[i], options, &d), 0);

    char buf[64], err[512];
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    assert_int_equal(pb_secret_from_connector(pb_config_connector(cfg, "file"), "token", buf,
                                              sizeof buf, err, sizeof err),
                     0);
    assert_string_equal(buf, SECRET);
    assert_int_equal(pb_secret_from_connector(pb_config_connector(cfg, "cred"), "token", buf,
                                              sizeof buf, err, sizeof err),
                     0);
    assert_string_equal(buf, SECRET);
    assert_true(pb_secret_from_connector(pb_config_connector(cfg, "none"), "token", buf, sizeof buf,
                                         err, sizeof err) < 0);
    assert_string_equal(err, "connector \"none\": no secret \"token\" configured: give "
                             "token_file or token_credential");
    assert_true(pb_secret_from_connector(pb_config_connector(cfg, "bad"), "token", buf, sizeof buf,
                                         err, sizeof err) < 0);
    assert_non_null(strstr(err, "connector \"bad\": token: secret file "));
    assert_non_null(strstr(err, "chmod 600"));
    assert_null(strstr(err, "s3cret"));
    unsetenv("CREDENTIALS_DIRECTORY");
    pb_config_free(cfg);
    pb_diag_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_credential),
        cmocka_unit_test(test_group_or_other_readable),
        cmocka_unit_test(test_missing_empty_long),
        cmocka_unit_test(test_both_or_neither),
        cmocka_unit_test(test_from_connector),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

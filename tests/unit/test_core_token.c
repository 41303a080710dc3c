/* Signed tokens: round trips of every kind, tampering, other keys, malformed text, and the
 * key file (created once with mode 0600, reused, refused when damaged). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "token.h"

static struct pb_token_key key_a = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
static struct pb_token_key key_b = {{9, 9, 9}};

static void test_choice_round_trip(void **state)
{
    struct pb_token t = {
        .kind = PB_TOKEN_CHOICE, .id = 123456789012345ULL, .index = 3, .value = -7};
    char text[PB_TOKEN_MAX];
    assert_int_equal(pb_token_sign(&key_a, &t, text, sizeof text), PB_OK);
    /* Short enough for Discord's 100-character custom_id, and URL-safe. */
    assert_true(strlen(text) <= 100);
    assert_int_equal(
        strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        strlen(text));
    struct pb_token out;
    assert_int_equal(pb_token_verify(&key_a, text, &out), PB_OK);
    assert_int_equal(out.kind, PB_TOKEN_CHOICE);
    assert_true(out.id == t.id);
    assert_int_equal(out.index, 3);
    assert_int_equal(out.value, -7);
}

static void test_link_round_trip(void **state)
{
    struct pb_token t = {.kind = PB_TOKEN_LINK, .expires = 2000000000u};
    strcpy(t.connector, "web");
    strcpy(t.user, "alice");
    char text[PB_TOKEN_MAX];
    assert_int_equal(pb_token_sign(&key_a, &t, text, sizeof text), PB_OK);
    struct pb_token out;
    assert_int_equal(pb_token_verify(&key_a, text, &out), PB_OK);
    assert_int_equal(out.kind, PB_TOKEN_LINK);
    assert_int_equal(out.expires, 2000000000u);
    assert_string_equal(out.connector, "web");
    assert_string_equal(out.user, "alice");
}

static void test_tampering_refused(void **state)
{
    struct pb_token t = {.kind = PB_TOKEN_ACTION, .id = 42, .index = 1};
    char text[PB_TOKEN_MAX];
    assert_int_equal(pb_token_sign(&key_a, &t, text, sizeof text), PB_OK);
    struct pb_token out;
    assert_int_equal(pb_token_verify(&key_b, text, &out), PB_ERR_FORGED);
    for (size_t i = 0; i < strlen(text); i++) {
        char copy[PB_TOKEN_MAX];
        strcpy(copy, text);
        copy[i] = copy[i] == 'x' ? 'y' : 'x';
        int rc = pb_token_verify(&key_a, copy, &out);
        assert_true(rc == PB_ERR_FORGED || rc == PB_ERR_INVALID);
    }
    text[strlen(text) - 1] = '\0'; /* truncated */
    assert_int_not_equal(pb_token_verify(&key_a, text, &out), PB_OK);
    assert_int_equal(pb_token_verify(&key_a, "", &out), PB_ERR_INVALID);
    assert_int_equal(pb_token_verify(&key_a, NULL, &out), PB_ERR_INVALID);
    assert_int_equal(pb_token_verify(&key_a, "a b c", &out), PB_ERR_INVALID);
    char huge[1000];
    memset(huge, 'A', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal(pb_token_verify(&key_a, huge, &out), PB_ERR_INVALID);
}

static void test_key_file(void **state)
{
    char dir[] = "/tmp/pb-token-XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/signing.key", dir);
    struct pb_token_key k1, k2;
    assert_int_equal(pb_token_key_load(path, &k1, err, sizeof err), PB_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(st.st_size, PB_TOKEN_KEY_LEN);
    assert_int_equal(pb_token_key_load(path, &k2, err, sizeof err), PB_OK);
    assert_memory_equal(k1.bytes, k2.bytes, PB_TOKEN_KEY_LEN);
    assert_int_equal(truncate(path, 5), 0);
    assert_int_equal(pb_token_key_load(path, &k2, err, sizeof err), PB_ERR);
    assert_non_null(strstr(err, "is not 32 bytes"));
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_choice_round_trip),
        cmocka_unit_test(test_link_round_trip),
        cmocka_unit_test(test_tampering_refused),
        cmocka_unit_test(test_key_file),
    };
    return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}

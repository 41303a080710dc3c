/*
 * Connectors' key/value state and the schedules' last runs: put, get, overwrite, delete,
 * namespaces kept apart, prefix scans in key order where '%' and '_' are plain characters,
 * and a visitor that stops the scan or changes the store while it runs.
 */
#include "test_store_helpers.h"

struct seen {
    char keys[16][64];
    char values[16][64];
    size_t n;
    size_t stop_after; /* 0: never */
    struct pb_store *s;
    const char *delete_ns; /* when set, the visitor deletes each key it sees */
};

static int collect(void *arg, const char *key, const char *value)
{
    struct seen *w = arg;
    assert_true(w->n < 16);
    snprintf(w->keys[w->n], sizeof w->keys[0], "%s", key);
    snprintf(w->values[w->n], sizeof w->values[0], "%s", value);
    w->n++;
    if (w->delete_ns)
        assert_int_equal(pb_store_kv_delete(w->s, w->delete_ns, key), PB_OK);
    if (w->stop_after && w->n == w->stop_after)
        return 7;
    return 0;
}

static void scan(struct pb_store *s, const char *ns, const char *prefix, struct seen *w, int expect)
{
    w->n = 0;
    assert_int_equal(pb_store_kv_scan(s, ns, prefix, collect, w), expect);
}

static void test_put_get_delete(void **state)
{
    struct store_fixture *f = *state;
    char *v = (char *)0x1;
    assert_int_equal(pb_store_kv_get(f->s, "slack", "cursor", &v), PB_ERR_UNKNOWN);
    assert_null(v);
    assert_int_equal(pb_store_kv_put(f->s, "slack", "cursor", "abc"), PB_OK);
    assert_int_equal(pb_store_kv_get(f->s, "slack", "cursor", &v), PB_OK);
    assert_string_equal(v, "abc");
    free(v);
    assert_int_equal(pb_store_kv_put(f->s, "slack", "cursor", "def"), PB_OK);
    assert_int_equal(pb_store_kv_get(f->s, "slack", "cursor", &v), PB_OK);
    assert_string_equal(v, "def");
    free(v);
    assert_int_equal(pb_store_kv_put(f->s, "slack", "empty", ""), PB_OK);
    assert_int_equal(pb_store_kv_get(f->s, "slack", "empty", &v), PB_OK);
    assert_string_equal(v, "");
    free(v);

    /* Namespaces are separate. */
    assert_int_equal(pb_store_kv_get(f->s, "discord", "cursor", &v), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_kv_put(f->s, "discord", "cursor", "zzz"), PB_OK);
    assert_int_equal(pb_store_kv_delete(f->s, "slack", "cursor"), PB_OK);
    assert_int_equal(pb_store_kv_get(f->s, "slack", "cursor", &v), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_kv_delete(f->s, "slack", "cursor"), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_kv_get(f->s, "discord", "cursor", &v), PB_OK);
    assert_string_equal(v, "zzz");
    free(v);

    assert_int_equal(pb_store_kv_put(f->s, "slack", NULL, "x"), PB_ERR_INVALID);
    assert_int_equal(pb_store_kv_put(f->s, "slack", "k", NULL), PB_ERR_INVALID);
}

static void test_scan_prefix_order(void **state)
{
    struct store_fixture *f = *state;
    struct seen w = {0};
    const char *keys[] = {"chan/b", "chan/a", "chan/10", "chan", "chan/2", "chao", "cha", "user/1"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(pb_store_kv_put(f->s, "web", keys[i], keys[i]), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "other", "chan/0", "no"), PB_OK);

    scan(f->s, "web", "chan/", &w, PB_OK);
    assert_int_equal(w.n, 4);
    assert_string_equal(w.keys[0], "chan/10");
    assert_string_equal(w.keys[1], "chan/2");
    assert_string_equal(w.keys[2], "chan/a");
    assert_string_equal(w.keys[3], "chan/b");
    assert_string_equal(w.values[3], "chan/b");

    scan(f->s, "web", "chan", &w, PB_OK);
    assert_int_equal(w.n, 5);
    assert_string_equal(w.keys[0], "chan");

    scan(f->s, "web", "", &w, PB_OK); /* everything in the namespace, in order */
    assert_int_equal(w.n, 8);
    assert_string_equal(w.keys[0], "cha");
    assert_string_equal(w.keys[6], "chao");
    assert_string_equal(w.keys[7], "user/1");

    scan(f->s, "web", "zzz", &w, PB_OK);
    assert_int_equal(w.n, 0);
    scan(f->s, "nobody", "", &w, PB_OK);
    assert_int_equal(w.n, 0);
}

static void test_scan_wildcards_are_literal(void **state)
{
    struct store_fixture *f = *state;
    struct seen w = {0};
    const char *keys[] = {"50%_off", "50x_off", "50%", "5_", "5a", "5_b", "a%b", "a\\b"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_int_equal(pb_store_kv_put(f->s, "n", keys[i], "v"), PB_OK);

    scan(f->s, "n", "50%", &w, PB_OK);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.keys[0], "50%");
    assert_string_equal(w.keys[1], "50%_off");

    scan(f->s, "n", "5_", &w, PB_OK); /* LIKE '5_%' would also match "5a" and "50..." */
    assert_int_equal(w.n, 2);
    assert_string_equal(w.keys[0], "5_");
    assert_string_equal(w.keys[1], "5_b");

    scan(f->s, "n", "a%", &w, PB_OK);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.keys[0], "a%b");
    scan(f->s, "n", "a\\", &w, PB_OK);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.keys[0], "a\\b");
}

static void test_scan_high_bytes(void **state)
{
    struct store_fixture *f = *state;
    struct seen w = {0};
    /* A prefix ending in 0xff has no simple successor; the scan must still be exact. */
    assert_int_equal(pb_store_kv_put(f->s, "n", "a\xff", "1"), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "n", "a\xff\xff", "2"), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "n",
                                     "a\xff"
                                     "b",
                                     "3"),
                     PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "n", "b", "4"), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "n", "\xff\xff", "5"), PB_OK);
    scan(f->s, "n", "a\xff", &w, PB_OK);
    assert_int_equal(w.n, 3);
    assert_string_equal(w.values[0], "1");
    assert_string_equal(w.values[1], "3");
    assert_string_equal(w.values[2], "2");
    scan(f->s, "n", "\xff", &w, PB_OK);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.values[0], "5");
}

static void test_scan_visitor(void **state)
{
    struct store_fixture *f = *state;
    struct seen w = {0};
    for (int i = 0; i < 5; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(pb_store_kv_put(f->s, "n", k, "v"), PB_OK);
    }
    w.stop_after = 2;
    scan(f->s, "n", "k", &w, 7); /* the visitor's value comes back */
    assert_int_equal(w.n, 2);

    /* A visitor may change the store while the scan runs. */
    w.stop_after = 0;
    w.s = f->s;
    w.delete_ns = "n";
    scan(f->s, "n", "k", &w, PB_OK);
    assert_int_equal(w.n, 5);
    w.delete_ns = NULL;
    scan(f->s, "n", "", &w, PB_OK);
    assert_int_equal(w.n, 0);
}

static void test_schedule(void **state)
{
    struct store_fixture *f = *state;
    int64_t round = -1, last = -1;
    assert_int_equal(pb_store_schedule_get(f->s, "weekly", &round, &last), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_schedule_set(f->s, "weekly", 1, TEST_START_MS), PB_OK);
    assert_int_equal(pb_store_schedule_set(f->s, "daily", 9, TEST_START_MS + 1), PB_OK);
    assert_int_equal(pb_store_schedule_get(f->s, "weekly", &round, &last), PB_OK);
    assert_int_equal(round, 1);
    assert_int_equal(last, TEST_START_MS);
    assert_int_equal(pb_store_schedule_set(f->s, "weekly", 2, TEST_START_MS + 7), PB_OK);
    assert_int_equal(pb_store_schedule_get(f->s, "weekly", &round, &last), PB_OK);
    assert_int_equal(round, 2);
    assert_int_equal(last, TEST_START_MS + 7);
    assert_int_equal(pb_store_schedule_get(f->s, "daily", &round, &last), PB_OK);
    assert_int_equal(round, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_scan_prefix_order, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_scan_wildcards_are_literal, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_scan_high_bytes, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_scan_visitor, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_schedule, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

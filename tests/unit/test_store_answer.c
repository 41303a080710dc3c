/*
 * Answers: insert and read back, one answer per (delivery, question), an answer must belong
 * to a delivery, and an anonymous answer's row holds nothing that says who gave it.
 */
#include "test_store_helpers.h"

#include "store_internal.h"

static int64_t answer(struct pb_store *s, int64_t delivery, const char *question, int score,
                      const char *text, const char *person, int expect)
{
    struct pb_answer a;
    memset(&a, 0, sizeof a);
    a.delivery_id = delivery;
    SET(a.survey, "pulse");
    SET(a.question, question);
    a.has_score = score >= 0;
    a.score = score;
    a.text = (char *)text;
    SET(a.person, person);
    SET(a.team, "eng");
    assert_int_equal(pb_store_answer_insert(s, &a), expect);
    return a.id;
}

static void test_insert_get(void **state)
{
    struct store_fixture *f = *state;
    int64_t d = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_SENT, "q1", 0);
    assert_int_equal(pb_store_answer_count(f->s), 0);
    int64_t id = answer(f->s, d, "q1", 4,
                        "Gr\xc3\xbc\xc3\x9f"
                        "e <b>&",
                        "alice", PB_OK);
    assert_true(id > 0);
    int64_t id2 = answer(f->s, d, "q2", -1, NULL, "alice", PB_OK);
    assert_true(id2 > id);
    assert_int_equal(pb_store_answer_count(f->s), 2);

    struct pb_answer g;
    assert_int_equal(pb_store_answer_get(f->s, d, "q1", &g), PB_OK);
    assert_int_equal(g.id, id);
    assert_int_equal(g.delivery_id, d);
    assert_string_equal(g.survey, "pulse");
    assert_string_equal(g.question, "q1");
    assert_int_equal(g.has_score, 1);
    assert_int_equal(g.score, 4);
    assert_string_equal(g.text, "Gr\xc3\xbc\xc3\x9f"
                                "e <b>&"); /* stored as given */
    assert_string_equal(g.person, "alice");
    assert_string_equal(g.team, "eng");
    assert_int_equal(g.created_ms, TEST_START_MS);
    pb_answer_clear(&g);
    assert_null(g.text);

    assert_int_equal(pb_store_answer_get(f->s, d, "q2", &g), PB_OK);
    assert_int_equal(g.has_score, 0);
    assert_null(g.text);
    pb_answer_clear(&g);

    /* A score of 0 is a score, not "none". */
    answer(f->s, d, "q0", 0, "", "alice", PB_OK);
    assert_int_equal(pb_store_answer_get(f->s, d, "q0", &g), PB_OK);
    assert_int_equal(g.has_score, 1);
    assert_int_equal(g.score, 0);
    assert_string_equal(g.text, "");
    pb_answer_clear(&g);

    assert_int_equal(pb_store_answer_get(f->s, d, "q9", &g), PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_answer_get(f->s, d + 1, "q1", &g), PB_ERR_UNKNOWN);
}

static void test_long_text(void **state)
{
    struct store_fixture *f = *state;
    int64_t d = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_SENT, "q1", 0);
    size_t len = 20000;
    char *text = malloc(len + 1);
    assert_non_null(text);
    for (size_t i = 0; i < len; i++)
        text[i] = (char)('a' + i % 26);
    text[len] = '\0';
    answer(f->s, d, "q1", -1, text, "alice", PB_OK);
    struct pb_answer g;
    assert_int_equal(pb_store_answer_get(f->s, d, "q1", &g), PB_OK);
    assert_string_equal(g.text, text);
    pb_answer_clear(&g);
    free(text);
}

static void test_duplicate(void **state)
{
    struct store_fixture *f = *state;
    int64_t d = add_delivery(f->s, "pulse", "alice", PB_DELIVERY_SENT, "q1", 0);
    int64_t d2 = add_delivery(f->s, "pulse", "bob", PB_DELIVERY_SENT, "q1", 0);
    answer(f->s, d, "q1", 2, NULL, "alice", PB_OK);
    answer(f->s, d, "q1", 5, NULL, "alice", PB_ERR_DONE);
    answer(f->s, d2, "q1", 3, NULL, "bob", PB_OK); /* another delivery may answer it */
    assert_int_equal(pb_store_answer_count(f->s), 2);
    struct pb_answer g;
    assert_int_equal(pb_store_answer_get(f->s, d, "q1", &g), PB_OK);
    assert_int_equal(g.score, 2); /* the first answer stands */
    pb_answer_clear(&g);

    /* Inside a transaction the refused duplicate does not spoil the rest. */
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    answer(f->s, d, "q1", 5, NULL, "alice", PB_ERR_DONE);
    answer(f->s, d, "q2", 5, NULL, "alice", PB_OK);
    assert_int_equal(pb_store_commit(f->s), PB_OK);
    assert_int_equal(pb_store_answer_count(f->s), 3);
}

static void test_unknown_delivery(void **state)
{
    struct store_fixture *f = *state;
    answer(f->s, 4242, "q1", 2, NULL, "alice", PB_ERR_UNKNOWN);
    assert_int_equal(pb_store_answer_count(f->s), 0);
}

static void test_anonymous_row_has_no_person(void **state)
{
    struct store_fixture *f = *state;
    /* The delivery keeps the recipient (messages must reach them)... */
    int64_t d = add_delivery(f->s, "anon-pulse", "alice.secret", PB_DELIVERY_SENT, "q1", 0);
    /* ...the answer of an anonymous survey is given without the person. */
    int64_t id = answer(f->s, d, "q1", 1, "my manager ignores me", "", PB_OK);

    struct pb_answer g;
    assert_int_equal(pb_store_answer_get(f->s, d, "q1", &g), PB_OK);
    assert_string_equal(g.person, "");
    assert_string_equal(g.team, "eng"); /* the team is kept for reports */
    pb_answer_clear(&g);

    /* No column of the stored row names the person or their handle. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(f->s->db, "SELECT * FROM answers WHERE id = ?1", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int cols = sqlite3_column_count(st);
    assert_true(cols >= 8);
    for (int i = 0; i < cols; i++) {
        const char *name = sqlite3_column_name(st, i);
        const char *v = (const char *)sqlite3_column_text(st, i);
        if (!v)
            continue;
        assert_null(strstr(v, "alice"));
        if (strcmp(name, "person") == 0)
            assert_string_equal(v, "");
    }
    sqlite3_finalize(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_long_text, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_duplicate, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_delivery, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_anonymous_row_has_no_person, store_setup,
                                        store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The store's read-only side for reports: a reader beside an open writer sees what it
 * committed, cannot change the file, keeps one snapshot for a whole report, and refuses files
 * that are missing (without creating them) or not pulsebot's; the scans' filter.
 */
#include "test_store_helpers.h"

#include "store_internal.h"

static int64_t delivery(struct pb_store *s, const char *survey, const char *schedule, int64_t round,
                        int64_t created, enum pb_delivery_state state)
{
    struct pb_delivery d;
    memset(&d, 0, sizeof d);
    SET(d.survey, survey);
    SET(d.schedule, schedule);
    SET(d.person, "alice");
    SET(d.connector, "chat");
    SET(d.address, "U1");
    d.round = round;
    d.state = state;
    d.created_ms = created;
    assert_int_equal(pb_store_delivery_insert(s, &d), PB_OK);
    return d.id;
}

static void answer(struct pb_store *s, int64_t delivery_id, const char *question, int score,
                   const char *team)
{
    struct pb_answer a;
    memset(&a, 0, sizeof a);
    a.delivery_id = delivery_id;
    SET(a.survey, "pulse");
    SET(a.question, question);
    a.has_score = 1;
    a.score = score;
    SET(a.team, team);
    assert_int_equal(pb_store_answer_insert(s, &a), PB_OK);
}

struct seen {
    size_t n;
    int64_t ids[16];
    int answers[16];
    char teams[16][64];
    int sum;
};

static int on_delivery(void *arg, const struct pb_report_delivery *d)
{
    struct seen *v = arg;
    assert_true(v->n < 16);
    v->ids[v->n] = d->id;
    v->answers[v->n] = d->answers;
    snprintf(v->teams[v->n], sizeof v->teams[0], "%s", d->team);
    v->n++;
    return 0;
}

static int on_answer(void *arg, const struct pb_answer *a)
{
    struct seen *v = arg;
    v->n++;
    v->sum += a->score;
    return 0;
}

static struct seen deliveries(struct pb_store *s, const struct pb_report_filter *f)
{
    struct seen v;
    memset(&v, 0, sizeof v);
    assert_int_equal(pb_store_report_deliveries(s, f, on_delivery, &v), PB_OK);
    return v;
}

static void test_filter(void **state)
{
    struct store_fixture *f = *state;
    int64_t a = delivery(f->s, "pulse", "weekly", 1, 1000, PB_DELIVERY_COMPLETED);
    int64_t b = delivery(f->s, "pulse", "weekly", 2, 2000, PB_DELIVERY_ANSWERING);
    int64_t c = delivery(f->s, "pulse", "", 0, 3000, PB_DELIVERY_EXPIRED);
    delivery(f->s, "other", "weekly", 1, 1500, PB_DELIVERY_COMPLETED);
    answer(f->s, a, "q1", 4, "eng");
    answer(f->s, a, "q2", 2, "eng");
    answer(f->s, b, "q1", 5, "sales");

    struct pb_report_filter flt = {.survey = "pulse"};
    struct seen v = deliveries(f->s, &flt);
    assert_int_equal(v.n, 3);
    assert_int_equal(v.ids[0], a);
    assert_int_equal(v.answers[0], 2);
    assert_string_equal(v.teams[0], "eng");
    assert_string_equal(v.teams[1], "sales");
    assert_int_equal(v.answers[2], 0);
    assert_string_equal(v.teams[2], "");

    flt.since_ms = 2000; /* inclusive */
    flt.until_ms = 3000; /* exclusive */
    v = deliveries(f->s, &flt);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.ids[0], b);

    flt = (struct pb_report_filter){.survey = "pulse", .schedule = "weekly", .round = 1};
    v = deliveries(f->s, &flt);
    assert_int_equal(v.n, 1);
    assert_int_equal(v.ids[0], a);
    flt.round = 0;
    assert_int_equal(deliveries(f->s, &flt).n, 2);
    flt.schedule = "";
    flt.until_ms = 2500;
    assert_int_equal(deliveries(f->s, &flt).n, 2);

    struct seen s2;
    memset(&s2, 0, sizeof s2);
    flt = (struct pb_report_filter){.survey = "pulse", .since_ms = 1500};
    assert_int_equal(pb_store_report_answers(f->s, &flt, on_answer, &s2), PB_OK);
    assert_int_equal(s2.n, 1);
    assert_int_equal(s2.sum, 5);
    (void)c;
}

static void test_readonly_beside_writer(void **state)
{
    struct store_fixture *f = *state;
    int64_t a = delivery(f->s, "pulse", "", 0, 1000, PB_DELIVERY_COMPLETED);
    answer(f->s, a, "q1", 3, "eng");

    struct pb_store *r;
    char err[512];
    assert_int_equal(pb_store_open_readonly(f->path, &r, err, sizeof err), PB_OK);
    struct pb_report_filter flt = {.survey = "pulse"};
    assert_int_equal(deliveries(r, &flt).n, 1);

    /* A snapshot keeps one state for every query of a report... */
    assert_int_equal(pb_store_snapshot_begin(r), PB_OK);
    assert_int_equal(deliveries(r, &flt).n, 1);
    delivery(f->s, "pulse", "", 0, 2000, PB_DELIVERY_SENT); /* the daemon writes meanwhile */
    assert_int_equal(deliveries(r, &flt).n, 1);
    pb_store_snapshot_end(r);
    /* ...and the next report sees the new row. */
    assert_int_equal(deliveries(r, &flt).n, 2);

    /* Nothing can be written through it. */
    assert_int_not_equal(sqlite3_exec(r->db, "DELETE FROM answers", NULL, NULL, NULL), SQLITE_OK);
    pb_store_close(r);
    assert_int_equal(pb_store_answer_count(f->s), 1);
}

static void test_refuses_missing_and_foreign_files(void **state)
{
    struct store_fixture *f = *state;
    struct pb_store *r = NULL;
    char err[512], path[256];

    snprintf(path, sizeof path, "%s/state/nothing.db", f->dir);
    assert_int_equal(pb_store_open_readonly(path, &r, err, sizeof err), PB_ERR_STORE);
    assert_null(r);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_not_equal(access(path, F_OK), 0); /* not created */

    snprintf(path, sizeof path, "%s/state/other.db", f->dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(pb_store_open_readonly(path, &r, err, sizeof err), PB_ERR_STORE);
    assert_non_null(strstr(err, "not a pulsebot database"));

    /* A pulsebot database of another schema version. */
    assert_int_equal(sqlite3_exec(f->s->db, "PRAGMA user_version = 999", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(pb_store_open_readonly(f->path, &r, err, sizeof err), PB_ERR_STORE);
    assert_non_null(strstr(err, "schema version 999"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filter, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_readonly_beside_writer, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_refuses_missing_and_foreign_files, store_setup,
                                        store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

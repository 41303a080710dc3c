/*
 * The store's queries stay index walks: each statement the daemon runs often is taken from
 * the store's own cache after one call and checked with EXPLAIN QUERY PLAN, so a schema or
 * query change that turns one into a full table scan fails here, not in production.
 */
#include "test_store_helpers.h"

#include "store_internal.h"

static int visit_none(void *arg, const char *key, const char *value)
{
    (void)arg;
    (void)key;
    (void)value;
    return 0;
}

static void expect_no_table_scan(struct pb_store *s, enum pb_stmt id)
{
    sqlite3_stmt *cached = s->stmts[id];
    assert_non_null(cached); /* the call above must have prepared it */
    char sql[1024];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(cached));
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &q, NULL), SQLITE_OK);
    int rows = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(q, 3);
        rows++;
        if (strncmp(detail, "SCAN ", 5) == 0 && !strstr(detail, " USING ")) {
            print_error("full scan in statement %d: %s\n  %s\n", (int)id, detail,
                        sqlite3_sql(cached));
            fail();
        }
    }
    assert_true(rows > 0);
    sqlite3_finalize(q);
}

static void test_plans(void **state)
{
    struct store_fixture *f = *state;
    struct pb_store *s = f->s;
    struct pb_delivery d[2];
    struct pb_answer a;
    struct pb_alert al[2];
    struct pb_outbox o[2];
    size_t n;
    int64_t ms, round;
    char *v = NULL;

    pb_store_delivery_get(s, 1, &d[0]);
    pb_store_delivery_open_for(s, "c", "a", &d[0]);
    pb_store_delivery_has_open(s, "s", "p");
    pb_store_delivery_expired(s, 0, d, 2, &n);
    pb_store_delivery_next_expiry(s, &ms);
    pb_store_delivery_by_outbox(s, 1, &d[0]);
    pb_store_answer_get(s, 1, "q", &a);
    pb_store_alert_get(s, 1, &al[0]);
    pb_store_alert_for_delivery(s, 1, al, 2, &n);
    pb_store_outbox_get(s, 1, &o[0]);
    pb_store_outbox_due(s, "c", 0, o, 2, &n);
    pb_store_outbox_next_due(s, "c", &ms);
    pb_store_outbox_next_after(s, "c", 0, &ms);
    pb_store_outbox_pending(s);
    pb_store_kv_get(s, "n", "k", &v);
    pb_store_kv_scan(s, "n", "k", visit_none, NULL);
    pb_store_kv_scan(s, "n", "", visit_none, NULL);
    pb_store_schedule_get(s, "x", &round, &ms);

    const enum pb_stmt ids[] = {
        PB_STMT_DELIVERY_GET,
        PB_STMT_DELIVERY_OPEN_FOR,
        PB_STMT_DELIVERY_HAS_OPEN,
        PB_STMT_DELIVERY_EXPIRED,
        PB_STMT_DELIVERY_NEXT_EXPIRY,
        PB_STMT_DELIVERY_BY_OUTBOX,
        PB_STMT_ANSWER_GET,
        PB_STMT_ALERT_GET,
        PB_STMT_ALERT_FOR_DELIVERY,
        PB_STMT_OUTBOX_GET,
        PB_STMT_OUTBOX_DUE,
        PB_STMT_OUTBOX_NEXT_DUE,
        PB_STMT_OUTBOX_NEXT_AFTER,
        PB_STMT_OUTBOX_PENDING,
        PB_STMT_KV_GET,
        PB_STMT_KV_SCAN_RANGE,
        PB_STMT_KV_SCAN_FROM,
        PB_STMT_SCHEDULE_GET,
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        expect_no_table_scan(s, ids[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plans, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Transactions and durability: nested begin/commit commits once, at the outermost level;
 * a rollback at any level undoes everything; what was committed survives close and reopen,
 * and a process killed in the middle of a transaction (kill -9, or _exit) leaves exactly the
 * rows it had committed.
 */
#include "test_store_helpers.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store_internal.h"

/* Counts kv rows through a second connection, which sees only committed data. */
static int64_t committed_rows(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM kv", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int has(struct pb_store *s, const char *key)
{
    char *v = NULL;
    int rc = pb_store_kv_get(s, "t", key, &v);
    free(v);
    assert_true(rc == PB_OK || rc == PB_ERR_UNKNOWN);
    return rc == PB_OK;
}

static void test_nested_commit_commits_once(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "a", "1"), PB_OK);
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "b", "2"), PB_OK);
    assert_int_equal(pb_store_commit(f->s), PB_OK); /* inner: nothing durable yet */
    assert_int_equal(committed_rows(f->path), 0);
    assert_true(has(f->s, "a")); /* but visible inside */
    assert_int_equal(pb_store_commit(f->s), PB_OK);
    assert_int_equal(committed_rows(f->path), 2);
    /* Without a transaction each call commits by itself. */
    assert_int_equal(pb_store_kv_put(f->s, "t", "c", "3"), PB_OK);
    assert_int_equal(committed_rows(f->path), 3);
    assert_int_equal(pb_store_commit(f->s), PB_ERR_INVALID);
}

static void test_rollback_undoes_all(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(pb_store_kv_put(f->s, "t", "before", "1"), PB_OK);
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "a", "1"), PB_OK);
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "b", "1"), PB_OK);
    assert_int_equal(pb_store_commit(f->s), PB_OK);
    assert_int_equal(pb_store_kv_delete(f->s, "t", "before"), PB_OK);
    pb_store_rollback(f->s);
    assert_false(has(f->s, "a"));
    assert_false(has(f->s, "b"));
    assert_true(has(f->s, "before"));
    pb_store_rollback(f->s); /* without a transaction: harmless */
    assert_int_equal(pb_store_kv_put(f->s, "t", "after", "1"), PB_OK);
    assert_int_equal(committed_rows(f->path), 2);
}

static void test_inner_rollback_dooms_outer(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "a", "1"), PB_OK);
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "b", "1"), PB_OK);
    pb_store_rollback(f->s); /* the inner part failed */
    /* Nothing more runs inside, and the outer commit reports the failure. */
    assert_int_equal(pb_store_kv_put(f->s, "t", "c", "1"), PB_ERR_STORE);
    assert_int_equal(pb_store_begin(f->s), PB_ERR_STORE);
    assert_int_equal(pb_store_commit(f->s), PB_ERR_STORE);
    assert_int_equal(committed_rows(f->path), 0);
    assert_false(has(f->s, "a"));
    /* The store works normally afterwards. */
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "d", "1"), PB_OK);
    assert_int_equal(pb_store_commit(f->s), PB_OK);
    assert_int_equal(committed_rows(f->path), 1);
}

static void test_survives_reopen(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(pb_store_kv_put(f->s, "t", "auto", "1"), PB_OK);
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "txn", "1"), PB_OK);
    assert_int_equal(pb_store_commit(f->s), PB_OK);
    assert_int_equal(pb_store_begin(f->s), PB_OK);
    assert_int_equal(pb_store_kv_put(f->s, "t", "uncommitted", "1"), PB_OK);
    fixture_reopen(f); /* closes with the transaction open */
    assert_true(has(f->s, "auto"));
    assert_true(has(f->s, "txn"));
    assert_false(has(f->s, "uncommitted"));
    /* The new handle starts outside any transaction. */
    assert_int_equal(pb_store_kv_put(f->s, "t", "next", "1"), PB_OK);
    assert_int_equal(committed_rows(f->path), 3);
}

#define COMMITTED_SINGLE 10
#define COMMITTED_TXN    25
#define UNCOMMITTED      4000

/* The child: commits some rows one by one and some in one transaction, then dies inside a
 * large transaction whose pages spill into the WAL before any commit. Returns only on an
 * error, with an exit code saying where. */
static void crash_child(const char *path, int use_kill)
{
    char err[512], key[32];
    static char big[1024];
    memset(big, 'x', sizeof big - 1);
    struct pb_store *s = NULL;
    if (pb_store_open(path, &s, err, sizeof err) != PB_OK)
        _exit(10);
    for (int i = 0; i < COMMITTED_SINGLE; i++) {
        snprintf(key, sizeof key, "single%03d", i);
        if (pb_store_kv_put(s, "t", key, "v") != PB_OK)
            _exit(11);
    }
    if (pb_store_begin(s) != PB_OK)
        _exit(12);
    for (int i = 0; i < COMMITTED_TXN; i++) {
        snprintf(key, sizeof key, "txn%03d", i);
        if (pb_store_kv_put(s, "t", key, "v") != PB_OK)
            _exit(13);
    }
    if (pb_store_commit(s) != PB_OK)
        _exit(14);
    if (pb_store_begin(s) != PB_OK)
        _exit(15);
    for (int i = 0; i < UNCOMMITTED; i++) {
        snprintf(key, sizeof key, "lost%05d", i);
        if (pb_store_kv_put(s, "t", key, big) != PB_OK)
            _exit(16);
    }
    /* Die without closing, without committing, without any cleanup. */
    if (use_kill)
        kill(getpid(), SIGKILL);
    _exit(0);
}

static void run_crash(void **state, int use_kill)
{
    struct store_fixture *f = *state;
    pb_store_close(f->s); /* no SQLite connection may cross a fork */
    f->s = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        crash_child(f->path, use_kill);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (use_kill) {
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
    } else {
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    /* The committed rows are still in the WAL: reopening must recover them from it. */
    char wal[200];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    struct stat st;
    assert_int_equal(stat(wal, &st), 0);
    assert_true(st.st_size > 0);

    fixture_reopen(f);
    assert_int_equal(committed_rows(f->path), COMMITTED_SINGLE + COMMITTED_TXN);
    assert_true(has(f->s, "single000"));
    assert_true(has(f->s, "single009"));
    assert_true(has(f->s, "txn024"));
    assert_false(has(f->s, "lost00000"));
    assert_false(has(f->s, "lost03999"));
    /* And the database is sound and writable. */
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->s->db, "PRAGMA integrity_check", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "ok");
    sqlite3_finalize(q);
    assert_int_equal(pb_store_kv_put(f->s, "t", "after", "1"), PB_OK);
    assert_int_equal(committed_rows(f->path), COMMITTED_SINGLE + COMMITTED_TXN + 1);
}

static void test_crash_kill9(void **state)
{
    run_crash(state, 1);
}

static void test_crash_exit(void **state)
{
    run_crash(state, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nested_commit_commits_once, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_rollback_undoes_all, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_inner_rollback_dooms_outer, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_survives_reopen, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_crash_kill9, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_crash_exit, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

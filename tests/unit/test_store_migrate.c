/*
 * Opening the store: a new database is created private and migrated to the current schema
 * with the required pragmas; a reopen changes nothing; a newer, foreign, corrupt or
 * non-database file is refused with a message that names the file and the reason; a failed
 * migration step leaves the database at the version before it.
 */
#include "test_store_helpers.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store_internal.h"

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void expect_refused(struct store_fixture *f, const char *needle1, const char *needle2)
{
    char err[512] = "";
    struct pb_store *s = (struct pb_store *)0x1;
    int rc = pb_store_open(f->path, &s, err, sizeof err);
    assert_true(rc < 0);
    assert_null(s);
    print_message("refused as expected: %s\n", err);
    assert_non_null(strstr(err, f->path));
    if (needle1)
        assert_non_null(strstr(err, needle1));
    if (needle2)
        assert_non_null(strstr(err, needle2));
}

static void write_file(const char *path, const void *data, size_t len, off_t at)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, data, len, at), (ssize_t)len);
    close(fd);
}

static void test_new_database(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    assert_int_equal(pb_store_schema_version(f->s), PB_STORE_SCHEMA_VERSION);

    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char dir[160];
    snprintf(dir, sizeof dir, "%s/state", f->dir);
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    sqlite3 *db = f->s->db;
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    assert_int_equal(query_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
    int64_t busy = query_int(db, "PRAGMA busy_timeout");
    assert_true(busy > 0 && busy <= 5000);
    assert_int_equal(query_int(db, "PRAGMA application_id"), PB_STORE_APPLICATION_ID);
    /* Every table the interface needs exists. */
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND"
                                   " name IN ('deliveries', 'answers', 'alerts', 'outbox',"
                                   " 'schedules', 'kv')"),
                     6);
    fixture_free(f);
    (void)state;
}

static void test_reopen_is_noop(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    assert_int_equal(pb_store_kv_put(f->s, "t", "k", "v"), PB_OK);
    int64_t objects = query_int(f->s->db, "SELECT count(*) FROM sqlite_schema");
    char *schema1 = NULL;
    {
        sqlite3_stmt *q = NULL;
        sqlite3_prepare_v2(f->s->db, "SELECT group_concat(sql, ';') FROM sqlite_schema", -1, &q,
                           NULL);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        schema1 = strdup((const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    for (int i = 0; i < 3; i++) {
        fixture_reopen(f);
        assert_int_equal(pb_store_schema_version(f->s), PB_STORE_SCHEMA_VERSION);
        assert_int_equal(query_int(f->s->db, "SELECT count(*) FROM sqlite_schema"), objects);
    }
    sqlite3_stmt *q = NULL;
    sqlite3_prepare_v2(f->s->db, "SELECT group_concat(sql, ';') FROM sqlite_schema", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), schema1);
    sqlite3_finalize(q);
    free(schema1);
    char *v = NULL;
    assert_int_equal(pb_store_kv_get(f->s, "t", "k", &v), PB_OK);
    assert_string_equal(v, "v");
    free(v);
    fixture_free(f);
    (void)state;
}

static void test_newer_version_refused(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    pb_store_close(f->s);
    f->s = NULL;
    char newer[64], cur[32];
    snprintf(newer, sizeof newer, "PRAGMA user_version = %d", PB_STORE_SCHEMA_VERSION + 1);
    raw_exec(f->path, newer);
    snprintf(cur, sizeof cur, "version %d", PB_STORE_SCHEMA_VERSION);
    snprintf(newer, sizeof newer, "version %d", PB_STORE_SCHEMA_VERSION + 1);
    expect_refused(f, newer, cur);
    /* Refusing must not have touched it. */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(query_int(db, "PRAGMA user_version"), PB_STORE_SCHEMA_VERSION + 1);
    sqlite3_close(db);
    fixture_free(f);
    (void)state;
}

static void test_not_a_database_refused(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f); /* creates the directory */
    pb_store_close(f->s);
    f->s = NULL;
    unlink(f->path);
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = "this is not a database\n"[i % 23];
    write_file(f->path, junk, sizeof junk, 0);
    expect_refused(f, "not a database", NULL);
    /* The refused file is left as it was. */
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_size, (off_t)sizeof junk);
    fixture_free(f);
    (void)state;
}

static void test_corrupt_database_refused(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    pb_store_close(f->s); /* checkpoints: everything is in the main file */
    f->s = NULL;
    /* Page 1 holds the schema after the 100-byte file header: wreck its b-tree header. */
    unsigned char junk[400];
    memset(junk, 0xa5, sizeof junk);
    write_file(f->path, junk, sizeof junk, 100);
    expect_refused(f, "malformed", NULL);
    fixture_free(f);
    (void)state;
}

static void test_foreign_database_refused(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    pb_store_close(f->s);
    f->s = NULL;
    unlink(f->path);
    raw_exec(f->path, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('mine')");
    expect_refused(f, "not a pulsebot database", NULL);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema"), 1);
    sqlite3_close(db);
    fixture_free(f);
    (void)state;
}

/* Opens the store as an unprivileged user (a child process when the test runs as root, since
 * root reads any file) and reports whether open failed with a message naming the file and
 * containing `reason`. */
static int refused_for_user(const char *path, const char *reason)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        char err[512] = "";
        struct pb_store *s = NULL;
        int rc = pb_store_open(path, &s, err, sizeof err);
        fprintf(stderr, "as uid %d: rc %d: %s\n", (int)geteuid(), rc, err);
        _exit(rc < 0 && strstr(err, path) && strstr(err, reason) ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_unreadable_refused(void **state)
{
    (void)state;
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    pb_store_close(f->s);
    f->s = NULL;
    char dir[160];
    snprintf(dir, sizeof dir, "%s/state", f->dir);
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(dir, 0755), 0);

    assert_int_equal(chmod(f->path, 0), 0);
    assert_true(refused_for_user(f->path, "unable to open"));
    /* Readable but not writable: SQLite would quietly open it read-only. */
    assert_int_equal(chmod(f->path, 0644), 0);
    if (geteuid() == 0)
        assert_true(refused_for_user(f->path, "read-only"));
    fixture_free(f);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char err[256] = "";
    struct pb_store *s = NULL;
    assert_int_equal(pb_store_open("", &s, err, sizeof err), PB_ERR_INVALID);
    assert_true(err[0] != '\0');
    assert_int_equal(pb_store_open(NULL, &s, err, sizeof err), PB_ERR_INVALID);
    assert_null(s);
}

static void test_in_memory(void **state)
{
    (void)state;
    char err[256];
    struct pb_store *s = NULL;
    assert_int_equal(pb_store_open(":memory:", &s, err, sizeof err), PB_OK);
    assert_int_equal(pb_store_schema_version(s), PB_STORE_SCHEMA_VERSION);
    assert_int_equal(pb_store_kv_put(s, "n", "k", "v"), PB_OK);
    pb_store_close(s);
}

/* The migration runner, with steps of the test's own. */
static void test_failed_step_rolls_back(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f); /* creates the directory */
    pb_store_close(f->s);
    f->s = NULL;
    unlink(f->path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char err[512] = "";
    const struct pb_migration bad[] = {
        {1, "CREATE TABLE a (x INTEGER);"},
        {2, "CREATE TABLE b (x INTEGER); CREATE TABLE a (y INTEGER);"},
    };
    assert_true(pb_store_migrate_steps(db, f->path, bad, 2, err, sizeof err) < 0);
    print_message("failed step: %s\n", err);
    assert_non_null(strstr(err, "version 2"));
    assert_int_equal(query_int(db, "PRAGMA user_version"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 0);

    /* A step that leaves a dangling reference is refused too. */
    const struct pb_migration dangling[] = {
        {1, "CREATE TABLE a (x INTEGER);"},
        {2, "CREATE TABLE p (id INTEGER PRIMARY KEY);"
            "CREATE TABLE c (p INTEGER REFERENCES p (id)); INSERT INTO c VALUES (5);"},
    };
    assert_true(pb_store_migrate_steps(db, f->path, dangling, 2, err, sizeof err) < 0);
    assert_non_null(strstr(err, "foreign keys"));
    assert_int_equal(query_int(db, "PRAGMA user_version"), 1);

    const struct pb_migration good[] = {
        {1, "CREATE TABLE a (x INTEGER);"},
        {2, "CREATE TABLE b (x INTEGER); ALTER TABLE a ADD COLUMN y INTEGER;"},
    };
    assert_int_equal(pb_store_migrate_steps(db, f->path, good, 2, err, sizeof err), PB_OK);
    assert_int_equal(query_int(db, "PRAGMA user_version"), 2);
    assert_int_equal(query_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), 1);
    /* Steps out of order are a programming error. */
    const struct pb_migration misnumbered[] = {{1, "SELECT 1;"}, {3, "SELECT 1;"}};
    assert_int_equal(pb_store_migrate_steps(db, f->path, misnumbered, 2, err, sizeof err),
                     PB_ERR_INVALID);
    sqlite3_close(db);
    fixture_free(f);
    (void)state;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_database),
        cmocka_unit_test(test_reopen_is_noop),
        cmocka_unit_test(test_newer_version_refused),
        cmocka_unit_test(test_not_a_database_refused),
        cmocka_unit_test(test_corrupt_database_refused),
        cmocka_unit_test(test_foreign_database_refused),
        cmocka_unit_test(test_unreadable_refused),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_in_memory),
        cmocka_unit_test(test_failed_step_rolls_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

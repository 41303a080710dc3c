/*
 * The store's connection: opening the database safely (private file and directory, WAL,
 * synchronous=FULL, foreign keys, migrations), transactions that nest by counting, the
 * prepared-statement cache and the one place SQLite errors become pb_status codes.
 */
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define MOD "store"

/* The daemon is the only writer; a reader such as pulsebotctl holds the lock only briefly,
 * so a wait longer than this means something is wrong and is better reported than hidden. */
#define BUSY_TIMEOUT_MS 500

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* fsync a directory so that a file or directory just created in it survives power loss. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    (void)fsync(fd);
    close(fd);
}

static void parent_of(const char *path, char *dir, size_t len)
{
    snprintf(dir, len, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
}

/* Creates the missing directories of `dir`, each private to the daemon's user. */
static int make_dirs(const char *dir, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
        set_err(err, errlen, "%s: path too long", dir);
        return PB_ERR_INVALID;
    }
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(buf, 0700) == 0) {
            char parent[4096];
            parent_of(buf, parent, sizeof parent);
            sync_dir(parent);
        } else if (errno != EEXIST) {
            set_err(err, errlen, "%s: cannot create directory: %s", buf, strerror(errno));
            return PB_ERR_STORE;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    return PB_OK;
}

/* SQLite would create a new database with 0644 less the umask; the answers and the signing
 * secrets' neighbours are nobody else's business, so the file is created here first. */
static int prepare_file(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    parent_of(path, dir, sizeof dir);
    struct stat st;
    if (stat(dir, &st) != 0) {
        int rc = make_dirs(dir, err, errlen);
        if (rc < 0)
            return rc;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        close(fd);
        sync_dir(dir);
        return PB_OK;
    }
    if (errno != EEXIST) {
        set_err(err, errlen, "%s: cannot create the database: %s", path, strerror(errno));
        return PB_ERR_STORE;
    }
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        pb_warn(MOD, "%s is readable by other users (mode %03o)", path,
                (unsigned)(st.st_mode & 0777));
    return PB_OK;
}

/* Runs a statement that returns one text or integer column, for pragmas. */
static int query_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const unsigned char *t = sqlite3_column_text(st, 0);
            snprintf(out, len, "%s", t ? (const char *)t : "");
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static int configure(sqlite3 *db, const char *path, int in_memory, char *err, size_t errlen)
{
    char val[32];
    /* SQLite opens a file it may not write read-only without saying so; the daemon would
     * then fail at its first answer instead of at start. */
    if (sqlite3_db_readonly(db, "main") == 1) {
        set_err(err, errlen, "%s: the database is read-only for this user", path);
        return PB_ERR_STORE;
    }
    /* Reading the schema is what tells a database from a file that is not one, or one whose
     * header is damaged: sqlite3_open_v2 itself reads nothing. */
    if (sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot read the database: %s", path, sqlite3_errmsg(db));
        return PB_ERR_STORE;
    }
    if (query_text(db, "PRAGMA journal_mode=WAL", val, sizeof val) != SQLITE_OK ||
        (strcmp(val, "wal") != 0 && !in_memory)) {
        set_err(err, errlen, "%s: cannot switch to WAL mode: %s", path, sqlite3_errmsg(db));
        return PB_ERR_STORE;
    }
    /* FULL, not NORMAL: in WAL mode NORMAL may lose the last transactions on power loss,
     * and an answer the person saw acknowledged must not vanish. */
    if (sqlite3_exec(db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        return PB_ERR_STORE;
    }
    /* Migrations run with foreign keys off (a step may rebuild a table) and check them
     * before each commit; the daemon's own work runs with them on. */
    if (sqlite3_exec(db, "PRAGMA foreign_keys=OFF", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        return PB_ERR_STORE;
    }
    int rc = pb_store_migrate(db, path, err, errlen);
    if (rc < 0)
        return rc;
    if (sqlite3_exec(db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK ||
        query_text(db, "PRAGMA foreign_keys", val, sizeof val) != SQLITE_OK ||
        strcmp(val, "1") != 0) {
        set_err(err, errlen, "%s: this SQLite cannot enforce foreign keys", path);
        return PB_ERR_STORE;
    }
    return PB_OK;
}

int pb_store_open(const char *path, struct pb_store **out, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!path || !*path || !out) {
        set_err(err, errlen, "no database path given");
        return PB_ERR_INVALID;
    }
    *out = NULL;
    int in_memory = strcmp(path, ":memory:") == 0;
    int rc;
    if (!in_memory && (rc = prepare_file(path, err, errlen)) < 0)
        return rc;

    struct pb_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        set_err(err, errlen, "%s: out of memory", path);
        return PB_ERR_NOMEM;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (in_memory ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        int sys = s->db ? sqlite3_system_errno(s->db) : 0;
        set_err(err, errlen, "%s: cannot open the database: %s%s%s", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory", sys ? ": " : "",
                sys ? strerror(sys) : "");
        rc = PB_ERR_STORE;
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* Defensive mode refuses writable_schema and other ways to corrupt the file by SQL. */
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    rc = configure(s->db, path, in_memory, err, errlen);
out:
    if (rc < 0) {
        pb_store_close(s);
        return rc;
    }
    s->ready = 1;
    *out = s;
    return PB_OK;
}

void pb_store_close(struct pb_store *s)
{
    if (!s)
        return;
    if (s->depth > 0)
        pb_warn(MOD, "closing %s inside a transaction: it is rolled back", s->path);
    for (size_t i = 0; i < PB_STMT_COUNT_; i++)
        sqlite3_finalize(s->stmts[i]);
    if (s->db) {
        /* Not on a file open refused: it may be another program's database. */
        if (s->ready && sqlite3_get_autocommit(s->db))
            sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
        /* Closing rolls back an open transaction; the last connection also checkpoints and
         * removes the WAL. */
        if (sqlite3_close(s->db) != SQLITE_OK)
            pb_err(MOD, "closing %s: %s", s->path, sqlite3_errmsg(s->db));
    }
    free(s->path);
    free(s);
}

int pb_store_schema_version(struct pb_store *s)
{
    char val[32];
    if (query_text(s->db, "PRAGMA user_version", val, sizeof val) != SQLITE_OK)
        return PB_ERR_STORE;
    return atoi(val);
}

/* ---- statements and errors ---- */

sqlite3_stmt *pb_store_stmt(struct pb_store *s, enum pb_stmt id, const char *sql)
{
    int txn = id == PB_STMT_BEGIN || id == PB_STMT_COMMIT || id == PB_STMT_ROLLBACK;
    if (s->doomed && s->depth > 0 && !txn) {
        pb_warn(MOD, "refusing work inside a transaction that will be rolled back");
        return NULL;
    }
    if (s->stmts[id])
        return s->stmts[id];
    int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        pb_err(MOD, "preparing statement %d: %s", (int)id, sqlite3_errmsg(s->db));
        s->stmts[id] = NULL;
        return NULL;
    }
    return s->stmts[id];
}

void pb_store_reset(sqlite3_stmt *st)
{
    if (!st)
        return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int pb_store_fail(struct pb_store *s, sqlite3_stmt *st, int rc, const char *what)
{
    int code;
    int level = PB_LOG_ERR;
    switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        code = PB_ERR_DONE; /* a second answer, a replay: the caller expects it */
        level = PB_LOG_DEBUG;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        code = PB_ERR_UNKNOWN; /* it names a row that does not exist */
        level = PB_LOG_WARNING;
        break;
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
    case SQLITE_RANGE:
    case SQLITE_MISUSE:
        code = PB_ERR_INVALID;
        break;
    case SQLITE_NOMEM:
        code = PB_ERR_NOMEM;
        break;
    default:
        code = PB_ERR_STORE;
        break;
    }
    if (pb_log_enabled(level))
        pb_log(level, MOD, "%s: %s", what, sqlite3_errmsg(s->db));
    pb_store_reset(st);
    /* Some errors (disk full, I/O) make SQLite roll back the whole transaction by itself;
     * what follows must not run outside it thinking it is inside. */
    if (s->depth > 0 && sqlite3_get_autocommit(s->db))
        s->doomed = 1;
    return code;
}

int pb_store_run(struct pb_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, what);
    pb_store_reset(st);
    return PB_OK;
}

size_t pb_store_count(struct pb_store *s, enum pb_stmt id, const char *sql, const char *what)
{
    sqlite3_stmt *st = pb_store_stmt(s, id, sql);
    if (!st)
        return 0;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        pb_store_fail(s, st, rc, what);
        return 0;
    }
    int64_t n = sqlite3_column_int64(st, 0);
    pb_store_reset(st);
    return n > 0 ? (size_t)n : 0;
}

int pb_store_fetch_int(struct pb_store *s, sqlite3_stmt *st, int64_t *out, const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
    int none = sqlite3_column_type(st, 0) == SQLITE_NULL;
    if (!none)
        *out = sqlite3_column_int64(st, 0);
    pb_store_reset(st);
    return none ? PB_ERR_UNKNOWN : PB_OK;
}

int pb_store_changes(struct pb_store *s)
{
    return sqlite3_changes(s->db);
}

int64_t pb_store_last_id(struct pb_store *s)
{
    return sqlite3_last_insert_rowid(s->db);
}

int pb_store_bind_field(sqlite3_stmt *st, int idx, const char *field, size_t size)
{
    return sqlite3_bind_text(st, idx, field, (int)strnlen(field, size), SQLITE_STATIC);
}

int pb_store_bind_str(sqlite3_stmt *st, int idx, const char *str)
{
    if (!str)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_text(st, idx, str, -1, SQLITE_STATIC);
}

int pb_store_bind_ref(sqlite3_stmt *st, int idx, int64_t id)
{
    if (id == 0)
        return sqlite3_bind_null(st, idx);
    return sqlite3_bind_int64(st, idx, id);
}

void pb_store_col_copy(sqlite3_stmt *st, int col, char *buf, size_t size)
{
    if (size == 0)
        return;
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= size) {
        n = size - 1;
        /* A continuation byte at the cut means its character would be split: back up to
         * the byte that starts it. */
        while (n > 0 && (t[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(buf, t, n);
    buf[n] = '\0';
}

char *pb_store_col_dup(sqlite3_stmt *st, int col, int *oom)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    if (!t)
        return NULL;
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    char *copy = malloc(n + 1);
    if (!copy) {
        *oom = 1;
        return NULL;
    }
    memcpy(copy, t, n);
    copy[n] = '\0';
    return copy;
}

/* ---- transactions ---- */

static void rollback_now(struct pb_store *s)
{
    s->depth = 0;
    s->doomed = 0;
    if (sqlite3_get_autocommit(s->db))
        return; /* SQLite already rolled it back */
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ROLLBACK, "ROLLBACK");
    if (!st || pb_store_run(s, st, "rollback") < 0)
        pb_err(MOD, "rollback failed on %s", s->path);
}

int pb_store_begin(struct pb_store *s)
{
    if (s->depth > 0) {
        if (s->doomed)
            return PB_ERR_STORE;
        s->depth++;
        return PB_OK;
    }
    /* IMMEDIATE takes the write lock now, so a transaction never fails half-way for want of
     * upgrading a read lock. */
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_BEGIN, "BEGIN IMMEDIATE");
    if (!st)
        return PB_ERR_STORE;
    int rc = pb_store_run(s, st, "begin");
    if (rc < 0)
        return PB_ERR_STORE;
    s->depth = 1;
    s->doomed = 0;
    return PB_OK;
}

int pb_store_commit(struct pb_store *s)
{
    if (s->depth == 0) {
        pb_err(MOD, "commit without a transaction");
        return PB_ERR_INVALID;
    }
    if (s->depth > 1) {
        s->depth--;
        return s->doomed ? PB_ERR_STORE : PB_OK;
    }
    if (s->doomed) {
        pb_warn(MOD, "a part of the transaction failed: rolling it all back");
        rollback_now(s);
        return PB_ERR_STORE;
    }
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_COMMIT, "COMMIT");
    if (!st || pb_store_run(s, st, "commit") < 0) {
        rollback_now(s);
        return PB_ERR_STORE;
    }
    s->depth = 0;
    return PB_OK;
}

void pb_store_rollback(struct pb_store *s)
{
    if (s->depth == 0)
        return; /* a failed commit has rolled back already; callers still call this */
    if (s->depth > 1) {
        /* Only the outermost level ends the transaction; it will roll back then. */
        s->depth--;
        s->doomed = 1;
        return;
    }
    rollback_now(s);
}

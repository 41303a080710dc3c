/*
 * The store's read-only side for reports: opening the database beside a running daemon
 * without any right to change it, a snapshot around several queries, and the scans report.c
 * aggregates. Statements here are prepared per call rather than cached: a report runs them
 * once, and the cache's slots belong to the daemon's hot paths.
 */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define MOD "store"

static void set_err(char *err, size_t errlen, const char *what, const char *path,
                    const char *detail)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s%s%s", path, what, detail ? ": " : "", detail ? detail : "");
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int pb_store_open_readonly(const char *path, struct pb_store **out, char *err, size_t errlen)
{
    if (!path || !*path || !out) {
        set_err(err, errlen, "no database path given", "", NULL);
        return PB_ERR_INVALID;
    }
    *out = NULL;
    struct pb_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        set_err(err, errlen, "out of memory", path, NULL);
        return PB_ERR_NOMEM;
    }
    int rc = PB_ERR_STORE;
    /* READONLY and no CREATE: a mistyped state_dir must not leave an empty database behind.
     * In WAL mode a reader still needs the -shm file; SQLite creates it if the directory is
     * writable, which it is for the daemon's user and for root. */
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        set_err(err, errlen, "cannot open the database", path,
                s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto out;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* The daemon holds the write lock only for a commit; a checkpoint can make a reader wait
     * a moment longer than the daemon's own timeout allows for. */
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    int64_t app = 0, version = 0;
    if (pragma_int(s->db, "PRAGMA application_id", &app) != SQLITE_OK ||
        pragma_int(s->db, "PRAGMA user_version", &version) != SQLITE_OK) {
        set_err(err, errlen, "cannot read the database", path, sqlite3_errmsg(s->db));
        goto out;
    }
    if (app != PB_STORE_APPLICATION_ID) {
        set_err(err, errlen, "not a pulsebot database", path, NULL);
        goto out;
    }
    if (version != PB_STORE_SCHEMA_VERSION) {
        char detail[160];
        snprintf(detail, sizeof detail, "schema version %lld, this build reads %d%s",
                 (long long)version, PB_STORE_SCHEMA_VERSION,
                 version < PB_STORE_SCHEMA_VERSION ? "; start this pulsebotd once to upgrade it"
                                                   : "; use the pulsebotctl of that pulsebotd");
        set_err(err, errlen, "cannot read this database", path, detail);
        goto out;
    }
    sqlite3_exec(s->db, "PRAGMA query_only=1", NULL, NULL, NULL);
    rc = PB_OK;
out:
    if (rc != PB_OK) {
        pb_store_close(s); /* not ready: close writes nothing */
        return rc;
    }
    /* s->ready stays 0: close must not run PRAGMA optimize, which writes. */
    *out = s;
    return PB_OK;
}

int pb_store_snapshot_begin(struct pb_store *s)
{
    /* A deferred BEGIN takes no lock until the first read, which then pins one WAL snapshot
     * for every query until the end. */
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        pb_err(MOD, "report snapshot: %s", sqlite3_errmsg(s->db));
        return PB_ERR_STORE;
    }
    return PB_OK;
}

void pb_store_snapshot_end(struct pb_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

static sqlite3_stmt *prepare(struct pb_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        pb_err(MOD, "report query: %s", sqlite3_errmsg(s->db));
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* The filter's terms, numbered from 1 in every query that covers deliveries `d`. */
#define FILTER_WHERE                                                                               \
    " d.survey = ?1 AND (?2 = 0 OR d.created_ms >= ?2) AND (?3 = 0 OR d.created_ms < ?3)"          \
    " AND (?4 = '' OR d.schedule = ?4) AND (?5 = 0 OR d.round = ?5)"

static void bind_filter(sqlite3_stmt *st, const struct pb_report_filter *f)
{
    pb_store_bind_str(st, 1, f->survey);
    sqlite3_bind_int64(st, 2, f->since_ms);
    sqlite3_bind_int64(st, 3, f->until_ms);
    pb_store_bind_str(st, 4, f->schedule ? f->schedule : "");
    sqlite3_bind_int64(st, 5, f->round);
}

/* Steps `st` to its end, calling `row` for each row; finalizes it. */
static int scan(struct pb_store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *st, void *ctx),
                void *ctx, const char *what)
{
    int rc = SQLITE_DONE, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
        stop = row(st, ctx);
    if (!stop && rc != SQLITE_DONE) {
        pb_err(MOD, "%s: %s", what, sqlite3_errmsg(s->db));
        stop = PB_ERR_STORE;
    }
    sqlite3_finalize(st);
    return stop;
}

struct delivery_visit {
    int (*visit)(void *arg, const struct pb_report_delivery *d);
    void *arg;
};

static int delivery_row(sqlite3_stmt *st, void *ctx)
{
    struct delivery_visit *v = ctx;
    struct pb_report_delivery d;
    memset(&d, 0, sizeof d);
    d.id = sqlite3_column_int64(st, 0);
    PB_COL_FIELD(st, 1, d.person);
    d.state = sqlite3_column_int(st, 2);
    d.created_ms = sqlite3_column_int64(st, 3);
    d.expires_ms = sqlite3_column_int64(st, 4);
    d.finished_ms = sqlite3_column_int64(st, 5);
    d.answers = sqlite3_column_int(st, 6);
    PB_COL_FIELD(st, 7, d.team);
    return v->visit(v->arg, &d);
}

int pb_store_report_deliveries(struct pb_store *s, const struct pb_report_filter *f,
                               int (*visit)(void *arg, const struct pb_report_delivery *d),
                               void *arg)
{
    if (!f || !f->survey || !visit)
        return PB_ERR_INVALID;
    /* The sub-queries use the (delivery_id, question) unique index of answers. */
    sqlite3_stmt *st =
        prepare(s, "SELECT d.id, d.person, d.state, d.created_ms, d.expires_ms, d.finished_ms,"
                   " (SELECT count(*) FROM answers a WHERE a.delivery_id = d.id),"
                   " coalesce((SELECT a.team FROM answers a WHERE a.delivery_id = d.id"
                   " ORDER BY a.id LIMIT 1), '')"
                   " FROM deliveries d WHERE" FILTER_WHERE " ORDER BY d.id");
    if (!st)
        return PB_ERR_STORE;
    bind_filter(st, f);
    struct delivery_visit v = {visit, arg};
    return scan(s, st, delivery_row, &v, "report deliveries");
}

struct answer_visit {
    int (*visit)(void *arg, const struct pb_answer *a);
    void *arg;
};

static int answer_row(sqlite3_stmt *st, void *ctx)
{
    struct answer_visit *v = ctx;
    struct pb_answer a;
    memset(&a, 0, sizeof a);
    a.id = sqlite3_column_int64(st, 0);
    a.delivery_id = sqlite3_column_int64(st, 1);
    PB_COL_FIELD(st, 2, a.survey);
    PB_COL_FIELD(st, 3, a.question);
    a.has_score = sqlite3_column_type(st, 4) != SQLITE_NULL;
    a.score = sqlite3_column_int(st, 4);
    /* Lent, not copied: the visitor copies what it keeps. */
    a.text = (char *)sqlite3_column_text(st, 5);
    PB_COL_FIELD(st, 6, a.person);
    PB_COL_FIELD(st, 7, a.team);
    a.created_ms = sqlite3_column_int64(st, 8);
    return v->visit(v->arg, &a);
}

int pb_store_report_answers(struct pb_store *s, const struct pb_report_filter *f,
                            int (*visit)(void *arg, const struct pb_answer *a), void *arg)
{
    if (!f || !f->survey || !visit)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        prepare(s, "SELECT a.id, a.delivery_id, a.survey, a.question, a.score, a.text, a.person,"
                   " a.team, a.created_ms FROM answers a JOIN deliveries d"
                   " ON d.id = a.delivery_id WHERE" FILTER_WHERE " ORDER BY a.delivery_id, a.id");
    if (!st)
        return PB_ERR_STORE;
    bind_filter(st, f);
    struct answer_visit v = {visit, arg};
    return scan(s, st, answer_row, &v, "report answers");
}

struct alert_visit {
    int (*visit)(void *arg, const struct pb_alert *a);
    void *arg;
};

static int alert_row(sqlite3_stmt *st, void *ctx)
{
    struct alert_visit *v = ctx;
    struct pb_alert a;
    if (pb_store_alert_read_row(st, &a) != PB_OK)
        return PB_ERR_NOMEM;
    int rc = v->visit(v->arg, &a);
    pb_alert_clear(&a);
    return rc;
}

int pb_store_report_alerts(struct pb_store *s, const char *survey, int64_t since_ms,
                           int64_t until_ms, int (*visit)(void *arg, const struct pb_alert *a),
                           void *arg)
{
    if (!visit)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = prepare(s, "SELECT " PB_ALERT_COLS " FROM alerts"
                                  " WHERE (?1 IS NULL OR survey = ?1)"
                                  " AND (?2 = 0 OR created_ms >= ?2)"
                                  " AND (?3 = 0 OR created_ms < ?3) ORDER BY id");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, survey);
    sqlite3_bind_int64(st, 2, since_ms);
    sqlite3_bind_int64(st, 3, until_ms);
    struct alert_visit v = {visit, arg};
    return scan(s, st, alert_row, &v, "report alerts");
}

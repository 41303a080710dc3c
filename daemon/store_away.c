/*
 * Absences people set by chat ("away until 2027-01-08", "back"): one span a person, as days
 * in their own time zone. Written only when someone sends the command and read whole once per
 * engine, so the statements are prepared for each use rather than cached.
 */
#include <string.h>

#include "store_internal.h"

static sqlite3_stmt *one_off(struct pb_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (s->doomed && s->depth > 0)
        return NULL; /* nothing more inside a transaction that will be rolled back */
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

int pb_store_away_put(struct pb_store *s, const struct pb_away_span *a)
{
    if (!a || !a->person[0] || a->first_day > a->last_day)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = one_off(s, "INSERT INTO away_spans (person, first_day, last_day, set_ms)"
                                  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (person) DO UPDATE"
                                  " SET first_day = excluded.first_day,"
                                  " last_day = excluded.last_day, set_ms = excluded.set_ms");
    if (!st)
        return PB_ERR_STORE;
    int b = PB_BIND_FIELD(st, 1, a->person);
    b |= sqlite3_bind_int64(st, 2, a->first_day);
    b |= sqlite3_bind_int64(st, 3, a->last_day);
    b |= sqlite3_bind_int64(st, 4, a->set_ms);
    int rc = b == SQLITE_OK ? pb_store_run(s, st, "away put") : pb_store_fail(s, st, b, "away put");
    sqlite3_finalize(st);
    return rc;
}

int pb_store_away_delete(struct pb_store *s, const char *person)
{
    if (!person)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = one_off(s, "DELETE FROM away_spans WHERE person = ?1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, person);
    int rc = pb_store_run(s, st, "away delete");
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : PB_ERR_UNKNOWN;
}

int pb_store_away_scan(struct pb_store *s, int (*visit)(void *arg, const struct pb_away_span *a),
                       void *arg)
{
    if (!visit)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = one_off(s, "SELECT person, first_day, last_day, set_ms FROM away_spans"
                                  " ORDER BY person");
    if (!st)
        return PB_ERR_STORE;
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pb_away_span a;
        memset(&a, 0, sizeof a);
        PB_COL_FIELD(st, 0, a.person);
        a.first_day = sqlite3_column_int64(st, 1);
        a.last_day = sqlite3_column_int64(st, 2);
        a.set_ms = sqlite3_column_int64(st, 3);
        stop = visit(arg, &a);
    }
    if (!stop && rc != SQLITE_DONE)
        stop = pb_store_fail(s, st, rc, "away scan");
    sqlite3_finalize(st);
    return stop;
}

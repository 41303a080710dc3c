/*
 * Schedules: the last round each schedule ran and when, so that a restart neither repeats a
 * round nor skips one. The schedule module decides what a round is; this only remembers it.
 */
#include "store_internal.h"

int pb_store_schedule_get(struct pb_store *s, const char *schedule, int64_t *round,
                          int64_t *last_ms)
{
    if (!schedule)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_SCHEDULE_GET,
                                     "SELECT round, last_ms FROM schedules WHERE name = ?1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, schedule);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "schedule get");
    if (round)
        *round = sqlite3_column_int64(st, 0);
    if (last_ms)
        *last_ms = sqlite3_column_int64(st, 1);
    pb_store_reset(st);
    return PB_OK;
}

int pb_store_schedule_set(struct pb_store *s, const char *schedule, int64_t round, int64_t last_ms)
{
    if (!schedule)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_SCHEDULE_SET,
                                     "INSERT INTO schedules (name, round, last_ms)"
                                     " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE"
                                     " SET round = excluded.round, last_ms = excluded.last_ms");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, schedule);
    sqlite3_bind_int64(st, 2, round);
    sqlite3_bind_int64(st, 3, last_ms);
    return pb_store_run(s, st, "schedule set");
}

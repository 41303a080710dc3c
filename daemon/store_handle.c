/*
 * Handles that connectors looked up by email: the roster's answer to "who is this person on
 * Slack", asked once and kept, so a restart does not ask the platform again for everyone.
 */
#include <stdio.h>

#include "store_internal.h"

int pb_store_handle_put(struct pb_store *s, const struct pb_handle *h)
{
    if (!h || !h->connector[0] || !h->person[0])
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_HANDLE_PUT,
        "INSERT INTO handles (connector, person, user, timezone, locale, state, checked_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (connector, person) DO UPDATE"
        " SET user = excluded.user, timezone = excluded.timezone, locale = excluded.locale,"
        " state = excluded.state, checked_ms = excluded.checked_ms");
    if (!st)
        return PB_ERR_STORE;
    PB_BIND_FIELD(st, 1, h->connector);
    PB_BIND_FIELD(st, 2, h->person);
    PB_BIND_FIELD(st, 3, h->user);
    PB_BIND_FIELD(st, 4, h->timezone);
    PB_BIND_FIELD(st, 5, h->locale);
    sqlite3_bind_int(st, 6, (int)h->state);
    sqlite3_bind_int64(st, 7, h->checked_ms);
    return pb_store_run(s, st, "handle put");
}

int pb_store_handle_scan(struct pb_store *s, const char *connector,
                         int (*visit)(void *arg, const struct pb_handle *h), void *arg)
{
    if (!connector || !visit)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_HANDLE_SCAN,
                                     "SELECT person, user, timezone, locale, state, checked_ms"
                                     " FROM handles WHERE connector = ?1 ORDER BY person");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pb_handle h = {0};
        snprintf(h.connector, sizeof h.connector, "%s", connector);
        PB_COL_FIELD(st, 0, h.person);
        PB_COL_FIELD(st, 1, h.user);
        PB_COL_FIELD(st, 2, h.timezone);
        PB_COL_FIELD(st, 3, h.locale);
        h.state = (enum pb_handle_state)sqlite3_column_int(st, 4);
        h.checked_ms = sqlite3_column_int64(st, 5);
        stop = visit(arg, &h);
    }
    if (!stop && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "handle scan");
    pb_store_reset(st);
    return stop;
}

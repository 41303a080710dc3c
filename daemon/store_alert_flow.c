/*
 * Alerts after they are raised: resolution details, moves to another team, the durable
 * escalation and resolve timers, grouping (by the key routing chose: a team, a customer),
 * member answers and the history of every change.
 * Timers are columns, not memory: each firing is a compare-and-set on them, made in the same
 * transaction as the message it queues, so a level fires exactly once across restarts.
 */
#include "store_internal.h"

#include <string.h>

/* An UPDATE that must change exactly one row: PB_OK, or PB_ERR_DONE when the row was not in
 * the state the WHERE clause names (or does not exist). */
static int run_cas(struct pb_store *s, sqlite3_stmt *st, const char *what)
{
    int rc = pb_store_run(s, st, what);
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : PB_ERR_DONE;
}

int pb_store_alert_set_resolution(struct pb_store *s, int64_t id, const char *reason,
                                  const char *note)
{
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_RESOLUTION,
                      "UPDATE alerts SET resolve_reason = ?1, resolve_note = ?2 WHERE id = ?3");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, reason ? reason : "");
    pb_store_bind_str(st, 2, note ? note : "");
    sqlite3_bind_int64(st, 3, id);
    int rc = run_cas(s, st, "alert set_resolution");
    return rc == PB_ERR_DONE ? PB_ERR_UNKNOWN : rc;
}

int pb_store_alert_set_menu(struct pb_store *s, int64_t id, int menu)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_MENU,
                                     "UPDATE alerts SET menu = ?1 WHERE id = ?2 AND state < 2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int(st, 1, menu);
    sqlite3_bind_int64(st, 2, id);
    return run_cas(s, st, "alert set_menu");
}

int pb_store_alert_move(struct pb_store *s, const struct pb_alert *a, const char *from_team)
{
    if (!a || !from_team)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_MOVE,
        "UPDATE alerts SET rule = ?1, team = ?2, connector = ?3, channel = ?4, mention = ?5,"
        " outbox_id = ?6, ack_sla_ms = ?7, resolve_sla_ms = ?8, ack_deadline_ms = ?9,"
        " esc_level = ?10, esc_due_ms = ?11, resolve_deadline_ms = ?12, menu = 0"
        " WHERE id = ?13 AND team = ?14 AND state < 2");
    if (!st)
        return PB_ERR_STORE;
    int b = PB_BIND_FIELD(st, 1, a->rule);
    b |= PB_BIND_FIELD(st, 2, a->team);
    b |= PB_BIND_FIELD(st, 3, a->connector);
    b |= PB_BIND_FIELD(st, 4, a->channel);
    b |= PB_BIND_FIELD(st, 5, a->mention);
    b |= sqlite3_bind_int64(st, 6, a->outbox_id);
    b |= sqlite3_bind_int64(st, 7, a->ack_sla_ms);
    b |= sqlite3_bind_int64(st, 8, a->resolve_sla_ms);
    b |= sqlite3_bind_int64(st, 9, a->ack_deadline_ms);
    b |= sqlite3_bind_int(st, 10, a->esc_level);
    b |= sqlite3_bind_int64(st, 11, a->esc_due_ms);
    b |= sqlite3_bind_int64(st, 12, a->resolve_deadline_ms);
    b |= sqlite3_bind_int64(st, 13, a->id);
    b |= pb_store_bind_str(st, 14, from_team);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "alert move");
    return run_cas(s, st, "alert move");
}

int pb_store_alert_escalated(struct pb_store *s, int64_t id, int from_level, int64_t next_due_ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_ESCALATED,
                                     "UPDATE alerts SET esc_level = ?1 + 1, esc_due_ms = ?2"
                                     " WHERE id = ?3 AND esc_level = ?1 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int(st, 1, from_level);
    sqlite3_bind_int64(st, 2, next_due_ms);
    sqlite3_bind_int64(st, 3, id);
    return run_cas(s, st, "alert escalated");
}

int pb_store_alert_set_overdue(struct pb_store *s, int64_t id)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_OVERDUE,
                                     "UPDATE alerts SET resolve_overdue = 1"
                                     " WHERE id = ?1 AND resolve_overdue = 0 AND state < 2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    return run_cas(s, st, "alert overdue");
}

int pb_store_alert_due(struct pb_store *s, int64_t now_ms, struct pb_alert *out, size_t limit,
                       size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    if (limit == 0)
        return PB_OK;
    /* The two terms repeat the partial indexes' WHERE clauses. */
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_DUE,
        "SELECT " PB_ALERT_COLS " FROM alerts WHERE id IN ("
        " SELECT id FROM alerts WHERE state = 0 AND esc_due_ms > 0 AND esc_due_ms <= ?1"
        " UNION SELECT id FROM alerts WHERE state < 2 AND resolve_overdue = 0"
        " AND resolve_deadline_ms > 0 AND resolve_deadline_ms <= ?1) ORDER BY id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return pb_store_alert_read_rows(s, st, out, limit, n_out, "alert due");
}

int pb_store_alert_next_due(struct pb_store *s, int64_t *ms)
{
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_NEXT_DUE,
                      "SELECT min(t) FROM ("
                      " SELECT min(esc_due_ms) AS t FROM alerts WHERE state = 0 AND esc_due_ms > 0"
                      " UNION ALL SELECT min(resolve_deadline_ms) FROM alerts WHERE state < 2"
                      " AND resolve_overdue = 0 AND resolve_deadline_ms > 0)");
    if (!st)
        return PB_ERR_STORE;
    return pb_store_fetch_int(s, st, ms, "alert next_due");
}

int pb_store_alert_group_find(struct pb_store *s, const char *rule, const char *group_key,
                              int64_t since_ms, struct pb_alert *out)
{
    if (!rule || !group_key || !out)
        return PB_ERR_INVALID;
    if (!group_key[0])
        return PB_ERR_UNKNOWN; /* an alert of its own */
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_GROUP_FIND,
        "SELECT " PB_ALERT_COLS " FROM alerts WHERE state < 2 AND rule = ?1 AND group_key = ?2"
        " AND created_ms >= ?3 ORDER BY created_ms DESC, id DESC LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, rule);
    pb_store_bind_str(st, 2, group_key);
    sqlite3_bind_int64(st, 3, since_ms);
    size_t n = 0;
    int rc = pb_store_alert_read_rows(s, st, out, 1, &n, "alert group_find");
    if (rc < 0)
        return rc;
    return n ? PB_OK : PB_ERR_UNKNOWN;
}

int pb_store_alert_grouped(struct pb_store *s, int64_t id, int score)
{
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_GROUPED,
        "UPDATE alerts SET group_count = group_count + 1, last_score = ?1 WHERE id = ?2"
        " AND state < 2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int(st, 1, score);
    sqlite3_bind_int64(st, 2, id);
    return run_cas(s, st, "alert grouped");
}

int pb_store_alert_member_add(struct pb_store *s, int64_t alert_id, int64_t delivery_id,
                              int64_t answer_id)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_MEMBER_ADD,
                                     "INSERT OR IGNORE INTO alert_members"
                                     " (alert_id, delivery_id, answer_id) VALUES (?1, ?2, ?3)");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, alert_id);
    sqlite3_bind_int64(st, 2, delivery_id);
    pb_store_bind_ref(st, 3, answer_id);
    return pb_store_run(s, st, "alert member_add");
}

int pb_store_alert_event_add(struct pb_store *s, struct pb_alert_event *ev)
{
    if (!ev)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_EVENT_ADD,
                                     "INSERT INTO alert_events (alert_id, kind, actor, at_ms,"
                                     " detail) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return PB_ERR_STORE;
    int b = sqlite3_bind_int64(st, 1, ev->alert_id);
    b |= PB_BIND_FIELD(st, 2, ev->kind);
    b |= PB_BIND_FIELD(st, 3, ev->actor);
    b |= sqlite3_bind_int64(st, 4, ev->at_ms);
    b |= PB_BIND_FIELD(st, 5, ev->detail);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "alert event_add");
    int rc = pb_store_run(s, st, "alert event_add");
    if (rc < 0)
        return rc;
    ev->id = pb_store_last_id(s);
    return PB_OK;
}

int pb_store_alert_events(struct pb_store *s, int64_t alert_id, struct pb_alert_event *out,
                          size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_EVENTS,
                                     "SELECT id, alert_id, kind, actor, at_ms, detail FROM"
                                     " alert_events WHERE alert_id = ?1 ORDER BY id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, alert_id);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    size_t n = 0;
    int rc = SQLITE_DONE;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pb_alert_event *ev = &out[n++];
        memset(ev, 0, sizeof *ev);
        ev->id = sqlite3_column_int64(st, 0);
        ev->alert_id = sqlite3_column_int64(st, 1);
        PB_COL_FIELD(st, 2, ev->kind);
        PB_COL_FIELD(st, 3, ev->actor);
        ev->at_ms = sqlite3_column_int64(st, 4);
        PB_COL_FIELD(st, 5, ev->detail);
    }
    if (n < limit && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "alert events");
    pb_store_reset(st);
    *n_out = n;
    return PB_OK;
}

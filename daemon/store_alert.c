/*
 * Alerts: a low score shown to the team that owns it, and who acknowledged and resolved it.
 * The state only moves forward (OPEN -> ACKNOWLEDGED -> RESOLVED, or OPEN -> RESOLVED), each
 * move a compare-and-set in one UPDATE, so two people pressing at once cannot both win.
 * What the routing layer adds on top (moves, escalation, grouping, history) is in
 * store_alert_flow.c.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

int pb_store_alert_read_row(sqlite3_stmt *st, struct pb_alert *a)
{
    int oom = 0;
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    a->delivery_id = sqlite3_column_int64(st, 1);
    a->answer_id = sqlite3_column_int64(st, 2);
    PB_COL_FIELD(st, 3, a->rule);
    PB_COL_FIELD(st, 4, a->team);
    PB_COL_FIELD(st, 5, a->connector);
    PB_COL_FIELD(st, 6, a->channel);
    a->state = (enum pb_alert_state)sqlite3_column_int(st, 7);
    PB_COL_FIELD(st, 8, a->survey);
    PB_COL_FIELD(st, 9, a->question);
    a->score = sqlite3_column_int(st, 10);
    a->scale_min = sqlite3_column_int(st, 11);
    a->scale_max = sqlite3_column_int(st, 12);
    a->comment = pb_store_col_dup(st, 13, &oom);
    PB_COL_FIELD(st, 14, a->subject);
    a->outbox_id = sqlite3_column_int64(st, 15);
    a->created_ms = sqlite3_column_int64(st, 16);
    PB_COL_FIELD(st, 17, a->ack_by);
    a->ack_ms = sqlite3_column_int64(st, 18);
    PB_COL_FIELD(st, 19, a->resolved_by);
    a->resolved_ms = sqlite3_column_int64(st, 20);
    PB_COL_FIELD(st, 21, a->answer_team);
    PB_COL_FIELD(st, 22, a->mention);
    a->ack_sla_ms = sqlite3_column_int64(st, 23);
    a->resolve_sla_ms = sqlite3_column_int64(st, 24);
    a->ack_deadline_ms = sqlite3_column_int64(st, 25);
    a->esc_level = sqlite3_column_int(st, 26);
    a->esc_due_ms = sqlite3_column_int64(st, 27);
    a->resolve_deadline_ms = sqlite3_column_int64(st, 28);
    a->resolve_overdue = sqlite3_column_int(st, 29);
    a->group_count = sqlite3_column_int(st, 30);
    a->last_score = sqlite3_column_int(st, 31);
    PB_COL_FIELD(st, 32, a->resolve_reason);
    PB_COL_FIELD(st, 33, a->resolve_note);
    a->menu = sqlite3_column_int(st, 34);
    PB_COL_FIELD(st, 35, a->group_key);
    return oom ? PB_ERR_NOMEM : PB_OK;
}

int pb_store_alert_read_rows(struct pb_store *s, sqlite3_stmt *st, struct pb_alert *out,
                             size_t limit, size_t *n_out, const char *what)
{
    size_t n = 0;
    int rc = SQLITE_DONE, err = PB_OK;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        err = pb_store_alert_read_row(st, &out[n++]);
        if (err < 0)
            break;
    }
    if (err == PB_OK && n < limit && rc != SQLITE_DONE)
        err = pb_store_fail(s, st, rc, what);
    pb_store_reset(st);
    if (err < 0) {
        for (size_t i = 0; i < n; i++)
            pb_alert_clear(&out[i]);
        return err;
    }
    *n_out = n;
    return PB_OK;
}

int pb_store_alert_insert(struct pb_store *s, struct pb_alert *a)
{
    if (!a)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_INSERT,
        "INSERT INTO alerts (delivery_id, answer_id, rule, team, connector, channel, state,"
        " survey, question, score, scale_min, scale_max, comment, subject, outbox_id,"
        " created_ms, ack_by, ack_ms, resolved_by, resolved_ms, answer_team, mention, ack_sla_ms,"
        " resolve_sla_ms, ack_deadline_ms, esc_level, esc_due_ms, resolve_deadline_ms,"
        " group_count, last_score, group_key)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)");
    if (!st)
        return PB_ERR_STORE;
    if (a->created_ms == 0)
        a->created_ms = pb_now_ms();
    int b = pb_store_bind_ref(st, 1, a->delivery_id);
    b |= pb_store_bind_ref(st, 2, a->answer_id);
    b |= PB_BIND_FIELD(st, 3, a->rule);
    b |= PB_BIND_FIELD(st, 4, a->team);
    b |= PB_BIND_FIELD(st, 5, a->connector);
    b |= PB_BIND_FIELD(st, 6, a->channel);
    b |= sqlite3_bind_int(st, 7, (int)a->state);
    b |= PB_BIND_FIELD(st, 8, a->survey);
    b |= PB_BIND_FIELD(st, 9, a->question);
    b |= sqlite3_bind_int(st, 10, a->score);
    b |= sqlite3_bind_int(st, 11, a->scale_min);
    b |= sqlite3_bind_int(st, 12, a->scale_max);
    b |= pb_store_bind_str(st, 13, a->comment);
    b |= PB_BIND_FIELD(st, 14, a->subject);
    b |= sqlite3_bind_int64(st, 15, a->outbox_id);
    b |= sqlite3_bind_int64(st, 16, a->created_ms);
    b |= PB_BIND_FIELD(st, 17, a->ack_by);
    b |= sqlite3_bind_int64(st, 18, a->ack_ms);
    b |= PB_BIND_FIELD(st, 19, a->resolved_by);
    b |= sqlite3_bind_int64(st, 20, a->resolved_ms);
    b |= PB_BIND_FIELD(st, 21, a->answer_team);
    b |= PB_BIND_FIELD(st, 22, a->mention);
    b |= sqlite3_bind_int64(st, 23, a->ack_sla_ms);
    b |= sqlite3_bind_int64(st, 24, a->resolve_sla_ms);
    b |= sqlite3_bind_int64(st, 25, a->ack_deadline_ms);
    b |= sqlite3_bind_int(st, 26, a->esc_level);
    b |= sqlite3_bind_int64(st, 27, a->esc_due_ms);
    b |= sqlite3_bind_int64(st, 28, a->resolve_deadline_ms);
    b |= sqlite3_bind_int(st, 29, a->group_count > 0 ? a->group_count : 1);
    b |= sqlite3_bind_int(st, 30, a->group_count > 0 ? a->last_score : a->score);
    b |= PB_BIND_FIELD(st, 31, a->group_key);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "alert insert");
    /* The alert and its first member row go in together. */
    int rc = pb_store_begin(s);
    if (rc < 0) {
        pb_store_reset(st);
        return rc;
    }
    rc = pb_store_run(s, st, "alert insert");
    if (rc == PB_OK) {
        a->id = pb_store_last_id(s);
        if (a->delivery_id)
            rc = pb_store_alert_member_add(s, a->id, a->delivery_id, a->answer_id);
    }
    if (rc == PB_OK)
        rc = pb_store_commit(s);
    if (rc < 0)
        pb_store_rollback(s);
    return rc;
}

int pb_store_alert_get(struct pb_store *s, int64_t id, struct pb_alert *out)
{
    if (!out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_GET, "SELECT " PB_ALERT_COLS " FROM alerts WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "alert get");
    rc = pb_store_alert_read_row(st, out);
    pb_store_reset(st);
    return rc;
}

int pb_store_alert_for_delivery(struct pb_store *s, int64_t delivery_id, struct pb_alert *out,
                                size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    if (limit == 0)
        return PB_OK;
    /* Through the members, so that an answer grouped into another delivery's alert finds it. */
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_FOR_DELIVERY,
        "SELECT " PB_ALERT_COLS " FROM alerts WHERE id IN"
        " (SELECT alert_id FROM alert_members WHERE delivery_id = ?1) ORDER BY id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, delivery_id);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return pb_store_alert_read_rows(s, st, out, limit, n_out, "alert for_delivery");
}

/* After a compare-and-set changed nothing: the state the row is in, or PB_ERR_UNKNOWN. */
static int current_state(struct pb_store *s, int64_t id)
{
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_STATE, "SELECT state FROM alerts WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "alert state");
    int state = sqlite3_column_int(st, 0);
    pb_store_reset(st);
    return state;
}

int pb_store_alert_set_comment(struct pb_store *s, int64_t id, const char *comment)
{
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_SET_COMMENT, "UPDATE alerts SET comment = ?1 WHERE id = ?2");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, comment);
    sqlite3_bind_int64(st, 2, id);
    int rc = pb_store_run(s, st, "alert set_comment");
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : PB_ERR_UNKNOWN;
}

int pb_store_alert_set_outbox(struct pb_store *s, int64_t id, int64_t outbox_id)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_SET_OUTBOX,
                                     "UPDATE alerts SET outbox_id = ?1 WHERE id = ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, outbox_id);
    sqlite3_bind_int64(st, 2, id);
    int rc = pb_store_run(s, st, "alert set_outbox");
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : PB_ERR_UNKNOWN;
}

int pb_store_alert_transition(struct pb_store *s, int64_t id, enum pb_alert_state to,
                              const char *who, int64_t now_ms)
{
    sqlite3_stmt *st;
    if (to == PB_ALERT_ACKNOWLEDGED)
        st = pb_store_stmt(s, PB_STMT_ALERT_ACK,
                           "UPDATE alerts SET state = 1, ack_by = ?1, ack_ms = ?2"
                           " WHERE id = ?3 AND state = 0");
    else if (to == PB_ALERT_RESOLVED)
        /* Resolving an alert nobody acknowledged also acknowledges it, so that the time to
         * acknowledge is never missing from a resolved alert. */
        st = pb_store_stmt(s, PB_STMT_ALERT_RESOLVE,
                           "UPDATE alerts SET state = 2, resolved_by = ?1, resolved_ms = ?2,"
                           " ack_by = CASE WHEN ack_by = '' THEN ?1 ELSE ack_by END,"
                           " ack_ms = CASE WHEN ack_ms = 0 THEN ?2 ELSE ack_ms END"
                           " WHERE id = ?3 AND state IN (0, 1)");
    else {
        /* Nothing moves back to OPEN; a resolved alert still answers "already done". */
        int state = current_state(s, id);
        if (state < 0)
            return state;
        return state == PB_ALERT_RESOLVED ? PB_ERR_DONE : PB_ERR_INVALID;
    }
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, who ? who : "");
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, id);
    int rc = pb_store_run(s, st, "alert transition");
    if (rc < 0)
        return rc;
    if (pb_store_changes(s) == 1)
        return PB_OK;
    rc = current_state(s, id);
    return rc < 0 ? rc : PB_ERR_DONE;
}

size_t pb_store_alert_count(struct pb_store *s)
{
    return pb_store_count(s, PB_STMT_ALERT_COUNT, "SELECT count(*) FROM alerts", "alert count");
}

void pb_alert_clear(struct pb_alert *a)
{
    if (!a)
        return;
    free(a->comment);
    a->comment = NULL;
}

/*
 * Closing the loop in the store: the interaction a check-in delivery follows (its tags for
 * routing, where its customer is reached), the answers an alert stands for, the re-asks
 * scheduled when an alert is resolved, and the recovery figures reports read. A re-ask is an
 * ordinary check-in row (so opt-outs, the contact cap and the durable timer apply to it);
 * alert_reasks only links it to the alert and says what counts as recovered.
 */
#include "store_internal.h"

#include <string.h>

int pb_store_alert_interaction(struct pb_store *s, int64_t delivery_id, struct pb_interaction *out)
{
    if (!out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_INTERACTION,
        "SELECT i.id, i.source, i.ext_id, i.customer, i.name, i.email, i.locale, i.timezone,"
        " i.connector, i.user, i.team, i.agent, i.channel, i.touchpoint, i.tags, i.closed_ms,"
        " i.created_ms, i.outcome FROM checkins c JOIN interactions i ON i.id = c.interaction_id"
        " WHERE c.delivery_id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, delivery_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "alert interaction");
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    PB_COL_FIELD(st, 1, out->source);
    PB_COL_FIELD(st, 2, out->ext_id);
    PB_COL_FIELD(st, 3, out->customer);
    PB_COL_FIELD(st, 4, out->name);
    PB_COL_FIELD(st, 5, out->email);
    PB_COL_FIELD(st, 6, out->locale);
    PB_COL_FIELD(st, 7, out->timezone);
    PB_COL_FIELD(st, 8, out->connector);
    PB_COL_FIELD(st, 9, out->user);
    PB_COL_FIELD(st, 10, out->team);
    PB_COL_FIELD(st, 11, out->agent);
    PB_COL_FIELD(st, 12, out->channel);
    PB_COL_FIELD(st, 13, out->touchpoint);
    PB_COL_FIELD(st, 14, out->tags);
    out->closed_ms = sqlite3_column_int64(st, 15);
    out->created_ms = sqlite3_column_int64(st, 16);
    PB_COL_FIELD(st, 17, out->outcome);
    pb_store_reset(st);
    return PB_OK;
}

int pb_store_alert_members(struct pb_store *s, int64_t alert_id, struct pb_alert_member *out,
                           size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_MEMBERS,
        "SELECT m.delivery_id, coalesce(m.answer_id, 0), coalesce(a.score, 0)"
        " FROM alert_members m LEFT JOIN answers a ON a.id = m.answer_id"
        " WHERE m.alert_id = ?1 ORDER BY coalesce(m.answer_id, 0), m.delivery_id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, alert_id);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    size_t n = 0;
    int rc = SQLITE_DONE;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        out[n].delivery_id = sqlite3_column_int64(st, 0);
        out[n].answer_id = sqlite3_column_int64(st, 1);
        out[n].score = sqlite3_column_int(st, 2);
        n++;
    }
    if (n < limit && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "alert members");
    pb_store_reset(st);
    *n_out = n;
    return PB_OK;
}

int pb_store_alert_reask_add(struct pb_store *s, const struct pb_alert_reask *r)
{
    if (!r)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ALERT_REASK_ADD,
        "INSERT INTO alert_reasks (alert_id, checkin_id, rule, team, question, low_score,"
        " recovered_score, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return PB_ERR_STORE;
    int b = sqlite3_bind_int64(st, 1, r->alert_id);
    b |= sqlite3_bind_int64(st, 2, r->checkin_id);
    b |= PB_BIND_FIELD(st, 3, r->rule);
    b |= PB_BIND_FIELD(st, 4, r->team);
    b |= PB_BIND_FIELD(st, 5, r->question);
    b |= sqlite3_bind_int(st, 6, r->low_score);
    b |= sqlite3_bind_int(st, 7, r->recovered_score);
    b |= sqlite3_bind_int64(st, 8, r->created_ms);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "alert reask_add");
    return pb_store_run(s, st, "alert reask_add");
}

int pb_store_alert_recovery(struct pb_store *s, const char *rule, const char *team, int64_t from_ms,
                            int64_t to_ms, struct pb_alert_recovery *out)
{
    if (!out)
        return PB_ERR_INVALID;
    memset(out, 0, sizeof *out);
    /* Through the view, so that reports reading it and this count agree by construction. */
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_RECOVERY,
                      "SELECT count(*), coalesce(sum(reask_state = 1), 0),"
                      " coalesce(sum(recovered IS NOT NULL), 0), coalesce(sum(recovered = 1), 0)"
                      " FROM alert_recovery WHERE created_ms >= ?1 AND created_ms < ?2"
                      " AND (?3 IS NULL OR rule = ?3) AND (?4 IS NULL OR team = ?4)");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, from_ms);
    sqlite3_bind_int64(st, 2, to_ms);
    pb_store_bind_str(st, 3, rule);
    pb_store_bind_str(st, 4, team);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc == SQLITE_DONE ? SQLITE_ERROR : rc, "alert recovery");
    out->scheduled = sqlite3_column_int64(st, 0);
    out->sent = sqlite3_column_int64(st, 1);
    out->answered = sqlite3_column_int64(st, 2);
    out->recovered = sqlite3_column_int64(st, 3);
    pb_store_reset(st);
    return PB_OK;
}

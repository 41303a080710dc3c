/*
 * The durable queue of alert events posted to webhooks (alert_webhooks). A row is inserted in
 * the transaction that records the event, so an event is never posted that was not committed
 * and never lost once it was. A row is leased while its post is in flight (next_attempt_ms
 * moved ahead), so a crash mid-post sends it again after the lease, under the same id.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define WEBHOOK_COLS                                                                               \
    "id, alert_id, url, rule, event, body, state, attempts, next_attempt_ms, last_status, error,"  \
    " created_ms, done_ms"

static int read_row(sqlite3_stmt *st, struct pb_alert_webhook *w)
{
    int oom = 0;
    memset(w, 0, sizeof *w);
    w->id = sqlite3_column_int64(st, 0);
    w->alert_id = sqlite3_column_int64(st, 1);
    PB_COL_FIELD(st, 2, w->url);
    PB_COL_FIELD(st, 3, w->rule);
    PB_COL_FIELD(st, 4, w->event);
    w->body = pb_store_col_dup(st, 5, &oom);
    w->state = (enum pb_webhook_state)sqlite3_column_int(st, 6);
    w->attempts = sqlite3_column_int(st, 7);
    w->next_attempt_ms = sqlite3_column_int64(st, 8);
    w->last_status = sqlite3_column_int(st, 9);
    PB_COL_FIELD(st, 10, w->error);
    w->created_ms = sqlite3_column_int64(st, 11);
    w->done_ms = sqlite3_column_int64(st, 12);
    return oom ? PB_ERR_NOMEM : PB_OK;
}

static int read_rows(struct pb_store *s, sqlite3_stmt *st, struct pb_alert_webhook *out,
                     size_t limit, size_t *n_out, const char *what)
{
    size_t n = 0;
    int rc = SQLITE_DONE, err = PB_OK;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if ((err = read_row(st, &out[n++])) != PB_OK)
            break;
    if (err == PB_OK && n < limit && rc != SQLITE_DONE)
        err = pb_store_fail(s, st, rc, what);
    else
        pb_store_reset(st);
    if (err != PB_OK) {
        for (size_t i = 0; i < n; i++)
            pb_alert_webhook_clear(&out[i]);
        return err;
    }
    *n_out = n;
    return PB_OK;
}

int pb_store_alert_webhook_add(struct pb_store *s, struct pb_alert_webhook *w)
{
    if (!w || !w->body)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_WEBHOOK_ADD,
                                     "INSERT INTO alert_webhooks (alert_id, url, rule, event, body,"
                                     " next_attempt_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5,"
                                     " ?6, ?7)");
    if (!st)
        return PB_ERR_STORE;
    if (w->created_ms == 0)
        w->created_ms = pb_now_ms();
    int b = sqlite3_bind_int64(st, 1, w->alert_id);
    b |= PB_BIND_FIELD(st, 2, w->url);
    b |= PB_BIND_FIELD(st, 3, w->rule);
    b |= PB_BIND_FIELD(st, 4, w->event);
    b |= pb_store_bind_str(st, 5, w->body);
    b |= sqlite3_bind_int64(st, 6, w->next_attempt_ms);
    b |= sqlite3_bind_int64(st, 7, w->created_ms);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "alert webhook add");
    int rc = pb_store_run(s, st, "alert webhook add");
    if (rc == PB_OK)
        w->id = pb_store_last_id(s);
    return rc;
}

/* The head of each alert's queue: its oldest pending row. */
#define HEADS                                                                                      \
    " FROM alert_webhooks w WHERE state = 0 AND id = (SELECT min(id) FROM alert_webhooks"          \
    " WHERE state = 0 AND alert_id = w.alert_id)"

int pb_store_alert_webhook_due(struct pb_store *s, int64_t now_ms, struct pb_alert_webhook *out,
                               size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_WEBHOOK_DUE,
                                     "SELECT " WEBHOOK_COLS HEADS
                                     " AND next_attempt_ms <= ?1 ORDER BY id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return read_rows(s, st, out, limit, n_out, "alert webhook due");
}

int pb_store_alert_webhook_next_due(struct pb_store *s, int64_t *ms)
{
    /* Heads only: a row behind one that waits for its retry is not due before it. */
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_WEBHOOK_NEXT, "SELECT min(next_attempt_ms)" HEADS);
    if (!st)
        return PB_ERR_STORE;
    return pb_store_fetch_int(s, st, ms, "alert webhook next due");
}

int pb_store_alert_webhook_settle(struct pb_store *s, const struct pb_alert_webhook *w)
{
    if (!w)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_ALERT_WEBHOOK_SETTLE,
                      "UPDATE alert_webhooks SET state = ?2, attempts = ?3, next_attempt_ms = ?4,"
                      " last_status = ?5, error = ?6, done_ms = ?7 WHERE id = ?1 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    int b = sqlite3_bind_int64(st, 1, w->id);
    b |= sqlite3_bind_int(st, 2, (int)w->state);
    b |= sqlite3_bind_int(st, 3, w->attempts);
    b |= sqlite3_bind_int64(st, 4, w->next_attempt_ms);
    b |= sqlite3_bind_int(st, 5, w->last_status);
    b |= PB_BIND_FIELD(st, 6, w->error);
    b |= sqlite3_bind_int64(st, 7, w->done_ms);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "alert webhook settle");
    int rc = pb_store_run(s, st, "alert webhook settle");
    if (rc == PB_OK && pb_store_changes(s) != 1)
        return PB_ERR_DONE;
    return rc;
}

int pb_store_alert_webhook_list(struct pb_store *s, int64_t alert_id, struct pb_alert_webhook *out,
                                size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ALERT_WEBHOOK_LIST,
                                     "SELECT " WEBHOOK_COLS " FROM alert_webhooks"
                                     " WHERE alert_id = ?1 ORDER BY id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, alert_id);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return read_rows(s, st, out, limit, n_out, "alert webhook list");
}

void pb_alert_webhook_clear(struct pb_alert_webhook *w)
{
    if (!w)
        return;
    free(w->body);
    w->body = NULL;
}

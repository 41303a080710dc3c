/*
 * The outbox: every message to send, durable from the moment the core decides to send it
 * until the platform confirms it (DONE, with the platform's reference) or refuses it for
 * good (FAILED). Each connector works through its pending rows in id order; the row id is
 * stable across retries and restarts, so connectors use it as an idempotency key.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

#define COLS                                                                                       \
    "id, connector, target_kind, target, kind, ref_id, payload, state, attempts,"                  \
    " next_attempt_ms, message_ref, error, created_ms, done_ms"

static int read_row(sqlite3_stmt *st, struct pb_outbox *o)
{
    int oom = 0;
    memset(o, 0, sizeof *o);
    o->id = sqlite3_column_int64(st, 0);
    PB_COL_FIELD(st, 1, o->connector);
    o->target_kind = sqlite3_column_int(st, 2);
    PB_COL_FIELD(st, 3, o->target);
    o->kind = (enum pb_outbox_kind)sqlite3_column_int(st, 4);
    o->ref_id = sqlite3_column_int64(st, 5);
    o->payload = pb_store_col_dup(st, 6, &oom);
    o->state = (enum pb_outbox_state)sqlite3_column_int(st, 7);
    o->attempts = sqlite3_column_int(st, 8);
    o->next_attempt_ms = sqlite3_column_int64(st, 9);
    PB_COL_FIELD(st, 10, o->message_ref);
    PB_COL_FIELD(st, 11, o->error);
    o->created_ms = sqlite3_column_int64(st, 12);
    o->done_ms = sqlite3_column_int64(st, 13);
    return oom ? PB_ERR_NOMEM : PB_OK;
}

int pb_store_outbox_add(struct pb_store *s, struct pb_outbox *o)
{
    if (!o)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_OUTBOX_ADD,
                      "INSERT INTO outbox (connector, target_kind, target, kind, ref_id, payload,"
                      " next_attempt_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return PB_ERR_STORE;
    if (o->created_ms == 0)
        o->created_ms = pb_now_ms();
    int b = PB_BIND_FIELD(st, 1, o->connector);
    b |= sqlite3_bind_int(st, 2, o->target_kind);
    b |= PB_BIND_FIELD(st, 3, o->target);
    b |= sqlite3_bind_int(st, 4, (int)o->kind);
    b |= sqlite3_bind_int64(st, 5, o->ref_id);
    b |= pb_store_bind_str(st, 6, o->payload);
    b |= sqlite3_bind_int64(st, 7, o->next_attempt_ms);
    b |= sqlite3_bind_int64(st, 8, o->created_ms);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "outbox add");
    int rc = pb_store_run(s, st, "outbox add");
    if (rc < 0)
        return rc;
    /* The struct now says what the row says. */
    o->id = pb_store_last_id(s);
    o->state = PB_OUTBOX_PENDING;
    o->attempts = 0;
    o->message_ref[0] = '\0';
    o->error[0] = '\0';
    o->done_ms = 0;
    return PB_OK;
}

int pb_store_outbox_get(struct pb_store *s, int64_t id, struct pb_outbox *out)
{
    if (!out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_OUTBOX_GET, "SELECT " COLS " FROM outbox WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "outbox get");
    rc = read_row(st, out);
    pb_store_reset(st);
    return rc;
}

int pb_store_outbox_due(struct pb_store *s, const char *connector, int64_t now_ms,
                        struct pb_outbox *out, size_t limit, size_t *n_out)
{
    if (!connector || !n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    if (limit == 0)
        return PB_OK;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OUTBOX_DUE,
                                     "SELECT " COLS " FROM outbox AS o"
                                     " WHERE connector = ?1 AND state = 0"
                                     " AND next_attempt_ms <= ?2"
                                     " AND NOT EXISTS (SELECT 1 FROM outbox AS p"
                                     "  WHERE p.connector = o.connector AND p.target = o.target"
                                     "  AND p.state = 0 AND p.id < o.id)"
                                     " ORDER BY id LIMIT ?3");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    size_t n = 0;
    int rc = SQLITE_DONE, err = PB_OK;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        err = read_row(st, &out[n++]);
        if (err < 0)
            break;
    }
    if (err == PB_OK && n < limit && rc != SQLITE_DONE)
        err = pb_store_fail(s, st, rc, "outbox due");
    pb_store_reset(st);
    if (err < 0) {
        for (size_t i = 0; i < n; i++)
            pb_outbox_clear(&out[i]);
        return err;
    }
    *n_out = n;
    return PB_OK;
}

int pb_store_outbox_next_due(struct pb_store *s, const char *connector, int64_t *ms)
{
    if (!connector || !ms)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_OUTBOX_NEXT_DUE,
                      "SELECT min(next_attempt_ms) FROM outbox WHERE connector = ?1 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector);
    return pb_store_fetch_int(s, st, ms, "outbox next_due");
}

int pb_store_outbox_next_after(struct pb_store *s, const char *connector, int64_t now_ms,
                               int64_t *ms)
{
    if (!connector || !ms)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_OUTBOX_NEXT_AFTER,
                      "SELECT min(next_attempt_ms) FROM outbox"
                      " WHERE connector = ?1 AND state = 0 AND next_attempt_ms > ?2");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector);
    sqlite3_bind_int64(st, 2, now_ms);
    return pb_store_fetch_int(s, st, ms, "outbox next_after");
}

/* Runs a compare-and-set on a pending row; when it changed nothing, tells a row that is
 * already settled (PB_ERR_DONE) from one that does not exist (PB_ERR_UNKNOWN). */
static int settle(struct pb_store *s, sqlite3_stmt *st, int64_t id, const char *what)
{
    int rc = pb_store_run(s, st, what);
    if (rc < 0)
        return rc;
    if (pb_store_changes(s) == 1)
        return PB_OK;
    sqlite3_stmt *q =
        pb_store_stmt(s, PB_STMT_OUTBOX_STATE, "SELECT state FROM outbox WHERE id = ?1");
    if (!q)
        return PB_ERR_STORE;
    sqlite3_bind_int64(q, 1, id);
    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pb_store_fail(s, q, rc, "outbox state");
    pb_store_reset(q);
    return rc == SQLITE_ROW ? PB_ERR_DONE : PB_ERR_UNKNOWN;
}

/* A sent message's content is not kept: only its reference is needed (for updates), and the
 * content carries tokens that would tie an anonymous answer back to its recipient. */
int pb_store_outbox_done(struct pb_store *s, int64_t id, const char *message_ref, int64_t now_ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OUTBOX_DONE,
                                     "UPDATE outbox SET state = 1, attempts = attempts + 1,"
                                     " message_ref = ?1, done_ms = ?2, error = '', payload = ''"
                                     " WHERE id = ?3 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, message_ref ? message_ref : "");
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, id);
    return settle(s, st, id, "outbox done");
}

int pb_store_outbox_retry(struct pb_store *s, int64_t id, int64_t next_attempt_ms,
                          const char *error)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OUTBOX_RETRY,
                                     "UPDATE outbox SET attempts = attempts + 1,"
                                     " next_attempt_ms = ?1, error = ?2"
                                     " WHERE id = ?3 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, next_attempt_ms);
    pb_store_bind_str(st, 2, error ? error : "");
    sqlite3_bind_int64(st, 3, id);
    return settle(s, st, id, "outbox retry");
}

int pb_store_outbox_fail(struct pb_store *s, int64_t id, const char *error, int64_t now_ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OUTBOX_FAIL,
                                     "UPDATE outbox SET state = 2, attempts = attempts + 1,"
                                     " error = ?1, done_ms = ?2 WHERE id = ?3 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, error ? error : "");
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, id);
    return settle(s, st, id, "outbox fail");
}

size_t pb_store_outbox_pending(struct pb_store *s)
{
    return pb_store_count(s, PB_STMT_OUTBOX_PENDING, "SELECT count(*) FROM outbox WHERE state = 0",
                          "outbox pending");
}

void pb_outbox_clear(struct pb_outbox *o)
{
    if (!o)
        return;
    free(o->payload);
    o->payload = NULL;
}

int pb_store_outbox_superseded(struct pb_store *s, int64_t id, int64_t ref_id)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OUTBOX_SUPERSEDED,
                                     "SELECT count(*) FROM outbox WHERE ref_id = ?1 AND id > ?2"
                                     " AND kind = 1 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, ref_id);
    sqlite3_bind_int64(st, 2, id);
    int64_t n = 0;
    int rc = pb_store_fetch_int(s, st, &n, "outbox superseded");
    return rc < 0 ? rc : n > 0;
}

/* ---- schedules: holding a wave's first questions until each person's send time ---- */

int pb_store_outbox_hold_first(struct pb_store *s, const char *survey, const char *const *people,
                               const int64_t *until_ms, size_t n)
{
    if (!survey || (n && (!people || !until_ms)))
        return PB_ERR_INVALID;
    if (n == 0)
        return PB_OK;
    if (s->doomed && s->depth > 0)
        return PB_ERR_STORE;
    /* Prepared once per wave, not cached: a wave runs it for many people at once and the
     * cache's slots belong to the hot paths. "state < 3" selects the partial index
     * deliveries_unfinished; the newest such delivery is the one the wave just created. */
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(
        s->db,
        "UPDATE outbox SET next_attempt_ms = ?3 WHERE state = 0 AND next_attempt_ms < ?3"
        " AND id = (SELECT step_outbox_id FROM deliveries WHERE survey = ?1 AND person = ?2"
        " AND state < 3 AND state = 0 ORDER BY id DESC LIMIT 1)",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(st);
        return pb_store_fail(s, NULL, rc, "outbox hold");
    }
    int err = PB_OK;
    for (size_t i = 0; i < n && err == PB_OK; i++) {
        int b = pb_store_bind_str(st, 1, survey);
        b |= pb_store_bind_str(st, 2, people[i]);
        b |= sqlite3_bind_int64(st, 3, until_ms[i]);
        err = b != SQLITE_OK ? pb_store_fail(s, st, b, "outbox hold")
                             : pb_store_run(s, st, "outbox hold");
    }
    sqlite3_finalize(st);
    return err;
}

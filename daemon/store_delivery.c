/*
 * Deliveries: one survey sent to one person, and the compare-and-set moves of its state
 * machine. "Unfinished" is PENDING, SENT or ANSWERING, spelled "state < 3" in every query so
 * that the partial indexes of the schema apply; COMPLETED, EXPIRED and UNREACHABLE are
 * finished.
 */
#include "store_internal.h"

#include <string.h>

#include "clock.h"

#define COLS                                                                                       \
    "id, survey, schedule, round, person, connector, address, state, step, step_outbox_id,"        \
    " created_ms, sent_ms, expires_ms, finished_ms, reminders_sent, next_reminder_ms, reason"

static void read_row(sqlite3_stmt *st, struct pb_delivery *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    PB_COL_FIELD(st, 1, d->survey);
    PB_COL_FIELD(st, 2, d->schedule);
    d->round = sqlite3_column_int64(st, 3);
    PB_COL_FIELD(st, 4, d->person);
    PB_COL_FIELD(st, 5, d->connector);
    PB_COL_FIELD(st, 6, d->address);
    d->state = (enum pb_delivery_state)sqlite3_column_int(st, 7);
    PB_COL_FIELD(st, 8, d->step);
    d->step_outbox_id = sqlite3_column_int64(st, 9);
    d->created_ms = sqlite3_column_int64(st, 10);
    d->sent_ms = sqlite3_column_int64(st, 11);
    d->expires_ms = sqlite3_column_int64(st, 12);
    d->finished_ms = sqlite3_column_int64(st, 13);
    d->reminders_sent = sqlite3_column_int(st, 14);
    d->next_reminder_ms = sqlite3_column_int64(st, 15);
    PB_COL_FIELD(st, 16, d->reason);
}

/* Fetches at most one row into `out`: PB_OK, PB_ERR_UNKNOWN when there is none. */
static int fetch_one(struct pb_store *s, sqlite3_stmt *st, struct pb_delivery *out,
                     const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_row(st, out);
        pb_store_reset(st);
        return PB_OK;
    }
    if (rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, what);
    pb_store_reset(st);
    return PB_ERR_UNKNOWN;
}

static int fetch_many(struct pb_store *s, sqlite3_stmt *st, struct pb_delivery *out, size_t limit,
                      size_t *n_out, const char *what)
{
    size_t n = 0;
    int rc = SQLITE_DONE;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        read_row(st, &out[n++]);
    if (n < limit && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, what);
    pb_store_reset(st);
    *n_out = n;
    return PB_OK;
}

int pb_store_delivery_insert(struct pb_store *s, struct pb_delivery *d)
{
    if (!d)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_DELIVERY_INSERT,
        "INSERT INTO deliveries (survey, schedule, round, person, connector, address, state,"
        " step, step_outbox_id, created_ms, sent_ms, expires_ms, finished_ms, reminders_sent,"
        " next_reminder_ms, reason)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
    if (!st)
        return PB_ERR_STORE;
    if (d->created_ms == 0)
        d->created_ms = pb_now_ms();
    int b = PB_BIND_FIELD(st, 1, d->survey);
    b |= PB_BIND_FIELD(st, 2, d->schedule);
    b |= sqlite3_bind_int64(st, 3, d->round);
    b |= PB_BIND_FIELD(st, 4, d->person);
    b |= PB_BIND_FIELD(st, 5, d->connector);
    b |= PB_BIND_FIELD(st, 6, d->address);
    b |= sqlite3_bind_int(st, 7, (int)d->state);
    b |= PB_BIND_FIELD(st, 8, d->step);
    b |= sqlite3_bind_int64(st, 9, d->step_outbox_id);
    b |= sqlite3_bind_int64(st, 10, d->created_ms);
    b |= sqlite3_bind_int64(st, 11, d->sent_ms);
    b |= sqlite3_bind_int64(st, 12, d->expires_ms);
    b |= sqlite3_bind_int64(st, 13, d->finished_ms);
    b |= sqlite3_bind_int(st, 14, d->reminders_sent);
    b |= sqlite3_bind_int64(st, 15, d->next_reminder_ms);
    b |= PB_BIND_FIELD(st, 16, d->reason);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "delivery insert");
    int rc = pb_store_run(s, st, "delivery insert");
    if (rc < 0)
        return rc;
    d->id = pb_store_last_id(s);
    return PB_OK;
}

int pb_store_delivery_get(struct pb_store *s, int64_t id, struct pb_delivery *out)
{
    if (!out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_DELIVERY_GET, "SELECT " COLS " FROM deliveries WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    return fetch_one(s, st, out, "delivery get");
}

/* After a compare-and-set changed nothing: was the row missing or in another state? */
static int why_unchanged(struct pb_store *s, int64_t id)
{
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_DELIVERY_STATE, "SELECT state FROM deliveries WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "delivery state");
    pb_store_reset(st);
    return rc == SQLITE_ROW ? PB_ERR_DONE : PB_ERR_UNKNOWN;
}

int pb_store_delivery_update(struct pb_store *s, const struct pb_delivery *d,
                             enum pb_delivery_state from)
{
    if (!d)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_DELIVERY_UPDATE,
        "UPDATE deliveries SET state = ?1, step = ?2, step_outbox_id = ?3, sent_ms = ?4,"
        " finished_ms = ?5, reminders_sent = ?8, next_reminder_ms = ?9"
        " WHERE id = ?6 AND state = ?7");
    if (!st)
        return PB_ERR_STORE;
    int b = sqlite3_bind_int(st, 1, (int)d->state);
    b |= PB_BIND_FIELD(st, 2, d->step);
    b |= sqlite3_bind_int64(st, 3, d->step_outbox_id);
    b |= sqlite3_bind_int64(st, 4, d->sent_ms);
    b |= sqlite3_bind_int64(st, 5, d->finished_ms);
    b |= sqlite3_bind_int64(st, 6, d->id);
    b |= sqlite3_bind_int(st, 7, (int)from);
    b |= sqlite3_bind_int(st, 8, d->reminders_sent);
    b |= sqlite3_bind_int64(st, 9, d->next_reminder_ms);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "delivery update");
    int rc = pb_store_run(s, st, "delivery update");
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : why_unchanged(s, d->id);
}

int pb_store_delivery_open_for(struct pb_store *s, const char *connector, const char *address,
                               struct pb_delivery *out)
{
    if (!connector || !address || !out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_OPEN_FOR,
                                     "SELECT " COLS " FROM deliveries"
                                     " WHERE connector = ?1 AND address = ?2"
                                     " AND state IN (1, 2) AND step <> ''"
                                     " ORDER BY id DESC LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector);
    pb_store_bind_str(st, 2, address);
    return fetch_one(s, st, out, "delivery open_for");
}

int pb_store_delivery_has_open(struct pb_store *s, const char *survey, const char *person)
{
    if (!survey || !person)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_HAS_OPEN,
                                     "SELECT 1 FROM deliveries"
                                     " WHERE survey = ?1 AND person = ?2 AND state < 3 LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, survey);
    pb_store_bind_str(st, 2, person);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "delivery has_open");
    pb_store_reset(st);
    return rc == SQLITE_ROW;
}

int pb_store_delivery_open_of(struct pb_store *s, const char *survey, const char *person,
                              struct pb_delivery *out)
{
    if (!survey || !person || !out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_OPEN_OF,
                                     "SELECT " COLS " FROM deliveries"
                                     " WHERE survey = ?1 AND person = ?2 AND state < 3"
                                     " ORDER BY id DESC LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, survey);
    pb_store_bind_str(st, 2, person);
    return fetch_one(s, st, out, "delivery open_of");
}

int pb_store_delivery_expired(struct pb_store *s, int64_t now_ms, struct pb_delivery *out,
                              size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    if (limit == 0)
        return PB_OK;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_EXPIRED,
                                     "SELECT " COLS " FROM deliveries"
                                     " WHERE state < 3 AND expires_ms <= ?1"
                                     " ORDER BY expires_ms, id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
    return fetch_many(s, st, out, limit, n_out, "delivery expired");
}

int pb_store_delivery_next_expiry(struct pb_store *s, int64_t *ms)
{
    if (!ms)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_NEXT_EXPIRY,
                                     "SELECT min(expires_ms) FROM deliveries WHERE state < 3");
    if (!st)
        return PB_ERR_STORE;
    return pb_store_fetch_int(s, st, ms, "delivery next_expiry");
}

int pb_store_delivery_by_outbox(struct pb_store *s, int64_t outbox_id, struct pb_delivery *out)
{
    if (!out)
        return PB_ERR_INVALID;
    /* "step_outbox_id <> 0" repeats the partial index's term so that SQLite uses it. */
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_BY_OUTBOX,
                                     "SELECT " COLS " FROM deliveries"
                                     " WHERE step_outbox_id = ?1 AND step_outbox_id <> 0"
                                     " ORDER BY id DESC LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, outbox_id);
    return fetch_one(s, st, out, "delivery by_outbox");
}

int pb_store_delivery_forget_person(struct pb_store *s, int64_t id)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_FORGET,
                                     "UPDATE deliveries SET person = '', address = ''"
                                     " WHERE id = ?1 AND state IN (3, 4)");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = pb_store_run(s, st, "delivery forget person");
    if (rc == PB_OK && pb_store_changes(s) != 1)
        return PB_ERR_UNKNOWN;
    return rc;
}

int pb_store_delivery_reminders_due(struct pb_store *s, int64_t now_ms, struct pb_delivery *out,
                                    size_t limit, size_t *n_out)
{
    if (!n_out || (!out && limit))
        return PB_ERR_INVALID;
    *n_out = 0;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_REMINDERS_DUE,
                                     "SELECT " COLS " FROM deliveries"
                                     " WHERE state IN (0, 1) AND next_reminder_ms > 0"
                                     " AND next_reminder_ms <= ?1"
                                     " ORDER BY next_reminder_ms, id LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    int rc;
    while (*n_out < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        read_row(st, &out[(*n_out)++]);
    if (*n_out < limit && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "delivery reminders due");
    pb_store_reset(st);
    return PB_OK;
}

int pb_store_delivery_next_reminder(struct pb_store *s, int64_t *ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_DELIVERY_NEXT_REMINDER,
                                     "SELECT min(next_reminder_ms) FROM deliveries"
                                     " WHERE state IN (0, 1) AND next_reminder_ms > 0");
    if (!st)
        return PB_ERR_STORE;
    return pb_store_fetch_int(s, st, ms, "delivery next reminder");
}

/* ---- unreachable deliveries and tallies (schema v6) ---- */

/* Statements of this section run rarely (a failed send, a report), so they are prepared for
 * each use rather than given a slot in the statement cache. */
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

int pb_store_delivery_unreachable(struct pb_store *s, int64_t id, enum pb_delivery_state from,
                                  const char *reason, int64_t now_ms)
{
    if (from >= PB_DELIVERY_COMPLETED)
        return PB_ERR_INVALID; /* only an unfinished delivery can turn out unreachable */
    sqlite3_stmt *st = one_off(s, "UPDATE deliveries SET state = 5, reason = ?1, step = '',"
                                  " next_reminder_ms = 0, finished_ms = ?2"
                                  " WHERE id = ?3 AND state = ?4");
    if (!st)
        return PB_ERR_STORE;
    struct pb_delivery d; /* only for its field's size */
    int b = pb_store_bind_field(st, 1, reason ? reason : "", sizeof d.reason);
    b |= sqlite3_bind_int64(st, 2, now_ms);
    b |= sqlite3_bind_int64(st, 3, id);
    b |= sqlite3_bind_int(st, 4, (int)from);
    int rc = b == SQLITE_OK ? pb_store_run(s, st, "delivery unreachable")
                            : pb_store_fail(s, st, b, "delivery unreachable");
    sqlite3_finalize(st);
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : why_unchanged(s, id);
}

int pb_store_delivery_tally(struct pb_store *s, const char *survey, int64_t from_ms, int64_t to_ms,
                            struct pb_delivery_tally *out)
{
    if (!survey || !out)
        return PB_ERR_INVALID;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = one_off(s, "SELECT state, count(*) FROM deliveries"
                                  " WHERE survey = ?1 AND created_ms >= ?2 AND created_ms < ?3"
                                  " GROUP BY state");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, survey);
    sqlite3_bind_int64(st, 2, from_ms);
    sqlite3_bind_int64(st, 3, to_ms);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t n = sqlite3_column_int64(st, 1);
        switch (sqlite3_column_int(st, 0)) {
        case PB_DELIVERY_COMPLETED:
            out->completed += n;
            break;
        case PB_DELIVERY_EXPIRED:
            out->expired += n;
            break;
        case PB_DELIVERY_UNREACHABLE:
            out->unreachable += n;
            break;
        default:
            out->open += n;
            break;
        }
    }
    rc = rc == SQLITE_DONE ? PB_OK : pb_store_fail(s, st, rc, "delivery tally");
    sqlite3_finalize(st);
    return rc;
}

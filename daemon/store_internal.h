/*
 * What the store's own files share and nobody else sees: the handle, the prepared-statement
 * cache, and the small helpers that bind, copy and report errors the same way everywhere.
 * This is the only header that names SQLite types; store.h stays backend-neutral.
 */
#ifndef PB_STORE_INTERNAL_H
#define PB_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* One slot per SQL statement. The SQL text lives next to the code that runs it; the slot
 * only says where its prepared form is kept, so a statement is compiled once per open. */
enum pb_stmt {
    PB_STMT_BEGIN,
    PB_STMT_COMMIT,
    PB_STMT_ROLLBACK,
    PB_STMT_DELIVERY_INSERT,
    PB_STMT_DELIVERY_GET,
    PB_STMT_DELIVERY_UPDATE,
    PB_STMT_DELIVERY_STATE,
    PB_STMT_DELIVERY_OPEN_FOR,
    PB_STMT_DELIVERY_HAS_OPEN,
    PB_STMT_DELIVERY_OPEN_OF,
    PB_STMT_DELIVERY_EXPIRED,
    PB_STMT_DELIVERY_NEXT_EXPIRY,
    PB_STMT_DELIVERY_BY_OUTBOX,
    PB_STMT_DELIVERY_FORGET,
    PB_STMT_DELIVERY_REMINDERS_DUE,
    PB_STMT_DELIVERY_NEXT_REMINDER,
    PB_STMT_ANSWER_INSERT,
    PB_STMT_ANSWER_GET,
    PB_STMT_ANSWER_COUNT,
    PB_STMT_ALERT_INSERT,
    PB_STMT_ALERT_GET,
    PB_STMT_ALERT_FOR_DELIVERY,
    PB_STMT_ALERT_SET_COMMENT,
    PB_STMT_ALERT_SET_OUTBOX,
    PB_STMT_ALERT_STATE,
    PB_STMT_ALERT_ACK,
    PB_STMT_ALERT_RESOLVE,
    PB_STMT_ALERT_COUNT,
    PB_STMT_ALERT_RESOLUTION,
    PB_STMT_ALERT_MENU,
    PB_STMT_ALERT_MOVE,
    PB_STMT_ALERT_ESCALATED,
    PB_STMT_ALERT_OVERDUE,
    PB_STMT_ALERT_DUE,
    PB_STMT_ALERT_NEXT_DUE,
    PB_STMT_ALERT_GROUP_FIND,
    PB_STMT_ALERT_GROUPED,
    PB_STMT_ALERT_MEMBER_ADD,
    PB_STMT_ALERT_EVENT_ADD,
    PB_STMT_ALERT_EVENTS,
    PB_STMT_OUTBOX_ADD,
    PB_STMT_OUTBOX_GET,
    PB_STMT_OUTBOX_DUE,
    PB_STMT_OUTBOX_NEXT_DUE,
    PB_STMT_OUTBOX_NEXT_AFTER,
    PB_STMT_OUTBOX_DONE,
    PB_STMT_OUTBOX_RETRY,
    PB_STMT_OUTBOX_FAIL,
    PB_STMT_OUTBOX_STATE,
    PB_STMT_OUTBOX_PENDING,
    PB_STMT_OUTBOX_SUPERSEDED,
    PB_STMT_SCHEDULE_GET,
    PB_STMT_SCHEDULE_SET,
    PB_STMT_HANDLE_PUT,
    PB_STMT_HANDLE_SCAN,
    PB_STMT_KV_GET,
    PB_STMT_KV_PUT,
    PB_STMT_KV_DELETE,
    PB_STMT_KV_SCAN_RANGE,
    PB_STMT_KV_SCAN_FROM,
    PB_STMT_INTERACTION_INSERT,
    PB_STMT_INTERACTION_FIND,
    PB_STMT_INTERACTION_GET,
    PB_STMT_INTERACTION_OUTCOME,
    PB_STMT_CHECKIN_INSERT,
    PB_STMT_CHECKIN_GET,
    PB_STMT_CHECKIN_DUE,
    PB_STMT_CHECKIN_NEXT_DUE,
    PB_STMT_CHECKIN_SETTLE,
    PB_STMT_CHECKIN_BUSY,
    PB_STMT_CHECKIN_TEAM,
    PB_STMT_CHECKIN_COUNT,
    PB_STMT_OPTOUT_ADD,
    PB_STMT_OPTOUT_HAS,
    PB_STMT_CUSTOMER_EMAIL,
    PB_STMT_CUSTOMER_LOCALE,
    PB_STMT_WEBHOOK_PRUNE,
    PB_STMT_WEBHOOK_SEEN,
    /* closing the loop (store_alert_loop.c, store_webhook.c) */
    PB_STMT_ALERT_INTERACTION,
    PB_STMT_ALERT_MEMBERS,
    PB_STMT_ALERT_REASK_ADD,
    PB_STMT_ALERT_RECOVERY,
    PB_STMT_ALERT_WEBHOOK_ADD,
    PB_STMT_ALERT_WEBHOOK_DUE,
    PB_STMT_ALERT_WEBHOOK_NEXT,
    PB_STMT_ALERT_WEBHOOK_SETTLE,
    PB_STMT_ALERT_WEBHOOK_LIST,
    PB_STMT_COUNT_
};

struct pb_store {
    sqlite3 *db;
    char *path;
    int depth;  /* pb_store_begin calls not yet matched by commit or rollback */
    int doomed; /* an inner rollback or a failed statement: the outer commit must not commit */
    int ready;  /* opened and migrated: only then may close write to the file */
    sqlite3_stmt *stmts[PB_STMT_COUNT_];
};

/* The prepared statement for `id`, compiled from `sql` on first use and reset after each use
 * by pb_store_reset. NULL (logged) when it cannot be prepared or when the open transaction is
 * already doomed, so that nothing more runs inside a transaction that will be rolled back. */
sqlite3_stmt *pb_store_stmt(struct pb_store *s, enum pb_stmt id, const char *sql);

/* Resets a statement and clears its bindings. Always call it after the last step: a SELECT
 * left unreset keeps a read transaction open and stops WAL checkpoints. */
void pb_store_reset(sqlite3_stmt *st);

/* Maps a failed SQLite result to a pb_status, logs it (constraint outcomes that callers
 * expect, such as a duplicate answer, only at debug level) and resets the statement. */
int pb_store_fail(struct pb_store *s, sqlite3_stmt *st, int rc, const char *what);

/* Steps a statement that returns no rows and resets it: PB_OK or pb_store_fail's code. */
int pb_store_run(struct pb_store *s, sqlite3_stmt *st, const char *what);

/* The single integer a count(*) statement returns; 0 (logged) when it fails. */
size_t pb_store_count(struct pb_store *s, enum pb_stmt id, const char *sql, const char *what);

/* Steps a statement whose one row holds one integer that may be NULL, such as min(...):
 * PB_OK with *out set, PB_ERR_UNKNOWN for NULL, or pb_store_fail's code. */
int pb_store_fetch_int(struct pb_store *s, sqlite3_stmt *st, int64_t *out, const char *what);

/* Rows the last INSERT/UPDATE/DELETE changed, and the rowid of the last INSERT. */
int pb_store_changes(struct pb_store *s);
int64_t pb_store_last_id(struct pb_store *s);

/* Binds a fixed-size char field, reading at most its size so that a field without a
 * terminating NUL cannot be overrun. */
int pb_store_bind_field(sqlite3_stmt *st, int idx, const char *field, size_t size);
#define PB_BIND_FIELD(st, idx, field) pb_store_bind_field((st), (idx), (field), sizeof(field))
/* Binds a C string; NULL binds SQL NULL. */
int pb_store_bind_str(sqlite3_stmt *st, int idx, const char *str);
/* Binds an optional reference: 0 (none) as NULL, so that foreign keys allow it. */
int pb_store_bind_ref(sqlite3_stmt *st, int idx, int64_t id);

/* Copies a text column into a fixed-size field, NUL-terminated, cut at a UTF-8 character
 * boundary when it does not fit. */
void pb_store_col_copy(sqlite3_stmt *st, int col, char *buf, size_t size);
#define PB_COL_FIELD(st, col, field) pb_store_col_copy((st), (col), (field), sizeof(field))
/* A malloc'd copy of a text column; NULL for SQL NULL. Sets *oom when the copy failed. */
char *pb_store_col_dup(sqlite3_stmt *st, int col, int *oom);

/* ---- alerts (store_alert.c), shared with store_alert_flow.c ---- */

/* The columns every alert SELECT reads, in the order pb_store_alert_read_row expects. */
#define PB_ALERT_COLS                                                                              \
    "id, delivery_id, answer_id, rule, team, connector, channel, state, survey, question,"         \
    " score, scale_min, scale_max, comment, subject, outbox_id, created_ms, ack_by, ack_ms,"       \
    " resolved_by, resolved_ms, answer_team, mention, ack_sla_ms, resolve_sla_ms,"                 \
    " ack_deadline_ms, esc_level, esc_due_ms, resolve_deadline_ms, resolve_overdue,"               \
    " group_count, last_score, resolve_reason, resolve_note, menu, group_key"
/* Returns 0, or PB_ERR_NOMEM when the comment could not be copied. */
int pb_store_alert_read_row(sqlite3_stmt *st, struct pb_alert *a);
/* Steps `st` and reads up to `limit` alerts; clears them again on failure. */
int pb_store_alert_read_rows(struct pb_store *s, sqlite3_stmt *st, struct pb_alert *out,
                             size_t limit, size_t *n_out, const char *what);

/* ---- migrations (store_migrate.c) ---- */

struct pb_migration {
    int version; /* the schema version this step produces: 1, 2, ... in order */
    const char *sql;
};

/* Brings the database to the last step of `steps`, each step in its own transaction, and
 * refuses a database whose version is newer or which is not pulsebot's. Foreign keys must
 * be off while it runs (a migration may rebuild a table); each step checks them before it
 * commits. Tests pass their own steps; pb_store_migrate uses the build's. */
int pb_store_migrate_steps(sqlite3 *db, const char *path, const struct pb_migration *steps,
                           size_t n_steps, char *err, size_t errlen);
int pb_store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen);

/* Written to the header of every pulsebot database ("PuLs"), so that open can tell another
 * program's SQLite file from a new, empty one. */
#define PB_STORE_APPLICATION_ID 0x50754c73

#endif

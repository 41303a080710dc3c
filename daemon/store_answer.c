/*
 * Answers: one row per (delivery, question), which the schema makes unique so that a
 * replayed click or a retried text cannot count twice. The person is stored exactly as the
 * caller gives it: "" for an anonymous survey, so no column of the row says who answered.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"

int pb_store_answer_insert(struct pb_store *s, struct pb_answer *a)
{
    if (!a)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_ANSWER_INSERT,
        "INSERT INTO answers (delivery_id, survey, question, score, text, person, team,"
        " created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (!st)
        return PB_ERR_STORE;
    if (a->created_ms == 0)
        a->created_ms = pb_now_ms();
    int b = sqlite3_bind_int64(st, 1, a->delivery_id);
    b |= PB_BIND_FIELD(st, 2, a->survey);
    b |= PB_BIND_FIELD(st, 3, a->question);
    b |= a->has_score ? sqlite3_bind_int(st, 4, a->score) : sqlite3_bind_null(st, 4);
    b |= pb_store_bind_str(st, 5, a->text);
    b |= PB_BIND_FIELD(st, 6, a->person);
    b |= PB_BIND_FIELD(st, 7, a->team);
    b |= sqlite3_bind_int64(st, 8, a->created_ms);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "answer insert");
    /* A second answer to the question fails the UNIQUE constraint: PB_ERR_DONE. */
    int rc = pb_store_run(s, st, "answer insert");
    if (rc < 0)
        return rc;
    a->id = pb_store_last_id(s);
    return PB_OK;
}

int pb_store_answer_get(struct pb_store *s, int64_t delivery_id, const char *question,
                        struct pb_answer *out)
{
    if (!question || !out)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_ANSWER_GET,
                                     "SELECT id, delivery_id, survey, question, score, text,"
                                     " person, team, created_ms FROM answers"
                                     " WHERE delivery_id = ?1 AND question = ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, delivery_id);
    pb_store_bind_str(st, 2, question);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "answer get");
    int oom = 0;
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    out->delivery_id = sqlite3_column_int64(st, 1);
    PB_COL_FIELD(st, 2, out->survey);
    PB_COL_FIELD(st, 3, out->question);
    out->has_score = sqlite3_column_type(st, 4) != SQLITE_NULL;
    out->score = sqlite3_column_int(st, 4);
    out->text = pb_store_col_dup(st, 5, &oom);
    PB_COL_FIELD(st, 6, out->person);
    PB_COL_FIELD(st, 7, out->team);
    out->created_ms = sqlite3_column_int64(st, 8);
    pb_store_reset(st);
    return oom ? PB_ERR_NOMEM : PB_OK;
}

void pb_answer_clear(struct pb_answer *a)
{
    if (!a)
        return;
    free(a->text);
    a->text = NULL;
}

size_t pb_store_answer_count(struct pb_store *s)
{
    return pb_store_count(s, PB_STMT_ANSWER_COUNT, "SELECT count(*) FROM answers", "answer count");
}

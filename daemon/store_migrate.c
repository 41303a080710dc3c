/*
 * Versioned schema migrations. PRAGMA user_version is the version; migration N turns a
 * version N-1 database into version N, each in its own transaction, so a crash leaves the
 * database at some whole version and the next open continues from there. A database newer
 * than this build is refused rather than guessed at, and so is another program's database.
 *
 * To change the schema, append a step; never edit a step that has shipped.
 */
#include "store_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

#define MOD "store"

/*
 * Version 1: the whole first schema.
 *
 * Ids are AUTOINCREMENT so that a number is never given twice, even after the newest row is
 * deleted: an outbox id is the platforms' idempotency key and a delivery id is inside signed
 * tokens, and a reused one would make an old token or an old nonce match a new row.
 * References that may be absent are NULL, not 0, so that foreign keys can check the rest.
 * The tables are STRICT so that a wrong type is an error, not a silently stored string.
 */
static const char schema_v1[] =
    "CREATE TABLE deliveries ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " survey TEXT NOT NULL,"
    " schedule TEXT NOT NULL DEFAULT '',"
    " round INTEGER NOT NULL DEFAULT 0,"
    " person TEXT NOT NULL,"
    " connector TEXT NOT NULL,"
    " address TEXT NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),"
    " step TEXT NOT NULL DEFAULT '',"
    " step_outbox_id INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL,"
    " sent_ms INTEGER NOT NULL DEFAULT 0,"
    " expires_ms INTEGER NOT NULL DEFAULT 0,"
    " finished_ms INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    /* Partial indexes over the rows still in play (SENT/ANSWERING, or unfinished). Their
     * WHERE terms are spelled exactly as in store_delivery.c: SQLite uses a partial index
     * only when the query repeats the term. */
    "CREATE INDEX deliveries_waiting ON deliveries (connector, address, id)"
    " WHERE state IN (1, 2);"
    "CREATE INDEX deliveries_unfinished ON deliveries (survey, person) WHERE state < 3;"
    "CREATE INDEX deliveries_expiry ON deliveries (expires_ms, id) WHERE state < 3;"
    "CREATE INDEX deliveries_step_outbox ON deliveries (step_outbox_id)"
    " WHERE step_outbox_id <> 0;"

    /* person is stored as the caller gives it: "" for an anonymous survey. */
    "CREATE TABLE answers ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " delivery_id INTEGER NOT NULL REFERENCES deliveries (id),"
    " survey TEXT NOT NULL,"
    " question TEXT NOT NULL,"
    " score INTEGER," /* NULL: no score */
    " text TEXT,"
    " person TEXT NOT NULL DEFAULT '',"
    " team TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " UNIQUE (delivery_id, question)"
    ") STRICT;"

    "CREATE TABLE alerts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " delivery_id INTEGER REFERENCES deliveries (id),"
    " answer_id INTEGER REFERENCES answers (id),"
    " rule TEXT NOT NULL DEFAULT '',"
    " team TEXT NOT NULL,"
    " connector TEXT NOT NULL DEFAULT '',"
    " channel TEXT NOT NULL DEFAULT '',"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 2),"
    " survey TEXT NOT NULL DEFAULT '',"
    " question TEXT NOT NULL DEFAULT '',"
    " score INTEGER NOT NULL,"
    " scale_min INTEGER NOT NULL,"
    " scale_max INTEGER NOT NULL,"
    " comment TEXT,"
    " subject TEXT NOT NULL DEFAULT '',"
    " outbox_id INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL,"
    " ack_by TEXT NOT NULL DEFAULT '',"
    " ack_ms INTEGER NOT NULL DEFAULT 0,"
    " resolved_by TEXT NOT NULL DEFAULT '',"
    " resolved_ms INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    /* The second index serves the foreign key check when an answer is deleted. */
    "CREATE INDEX alerts_delivery ON alerts (delivery_id);"
    "CREATE INDEX alerts_answer ON alerts (answer_id);"

    /* ref_id and message_ref are plain values: sent rows may be pruned one day and must not
     * be pinned by the rows that refer to them. */
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " connector TEXT NOT NULL,"
    " target_kind INTEGER NOT NULL,"
    " target TEXT NOT NULL,"
    " kind INTEGER NOT NULL CHECK (kind IN (0, 1)),"
    " ref_id INTEGER NOT NULL DEFAULT 0,"
    " payload TEXT,"
    " state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " message_ref TEXT NOT NULL DEFAULT '',"
    " error TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " done_ms INTEGER NOT NULL DEFAULT 0,"
    " CHECK (kind = 0 OR ref_id <> 0)" /* an UPDATE names the SEND it replaces */
    ") STRICT;"
    /* Only pending rows are indexed, so the index stays as small as the queue however long
     * the history grows; sorting the few due rows by id is then cheap. */
    "CREATE INDEX outbox_pending ON outbox (connector, next_attempt_ms) WHERE state = 0;"
    "CREATE INDEX outbox_target ON outbox (connector, target, id) WHERE state = 0;"
    "CREATE INDEX outbox_ref ON outbox (ref_id, id) WHERE state = 0 AND kind = 1;"

    "CREATE TABLE schedules ("
    " name TEXT PRIMARY KEY,"
    " round INTEGER NOT NULL,"
    " last_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"

    "CREATE TABLE kv ("
    " ns TEXT NOT NULL,"
    " key TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (ns, key)"
    ") STRICT, WITHOUT ROWID;";

/* v2: what connectors told us about people they found by email. */
static const char schema_v2[] = "CREATE TABLE handles ("
                                " connector TEXT NOT NULL,"
                                " person TEXT NOT NULL,"
                                " user TEXT NOT NULL DEFAULT '',"
                                " timezone TEXT NOT NULL DEFAULT '',"
                                " locale TEXT NOT NULL DEFAULT '',"
                                " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 2),"
                                " checked_ms INTEGER NOT NULL,"
                                " PRIMARY KEY (connector, person)"
                                ") STRICT, WITHOUT ROWID;";

/*
 * v3: closing the loop. Alerts get what routing decided (the answer's team, who it is for, the
 * SLAs) and their durable timers: the escalation level fired and when the next is due, the
 * resolve deadline. A timer fires by a compare-and-set on these columns in the transaction
 * that queues its message, so it fires once however often the daemon restarts. Partial
 * indexes keep the due scans as small as the set of alerts still waiting.
 * alert_members links every answer an alert stands for (grouping); alert_events is its
 * history. alert_times is the view reports read.
 */
static const char schema_v3[] =
    "ALTER TABLE alerts ADD COLUMN answer_team TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE alerts ADD COLUMN mention TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE alerts ADD COLUMN ack_sla_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN resolve_sla_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN ack_deadline_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN esc_level INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN esc_due_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN resolve_deadline_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN resolve_overdue INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN group_count INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE alerts ADD COLUMN last_score INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE alerts ADD COLUMN resolve_reason TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE alerts ADD COLUMN resolve_note TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE alerts ADD COLUMN menu INTEGER NOT NULL DEFAULT 0;"
    "UPDATE alerts SET last_score = score;"
    /* Spelled exactly as in store_alert_flow.c, so that SQLite uses them. */
    "CREATE INDEX alerts_esc_due ON alerts (esc_due_ms) WHERE state = 0 AND esc_due_ms > 0;"
    "CREATE INDEX alerts_resolve_due ON alerts (resolve_deadline_ms)"
    " WHERE state < 2 AND resolve_overdue = 0 AND resolve_deadline_ms > 0;"
    "CREATE INDEX alerts_group ON alerts (rule, answer_team, created_ms) WHERE state < 2;"

    "CREATE TABLE alert_members ("
    " alert_id INTEGER NOT NULL REFERENCES alerts (id),"
    " delivery_id INTEGER NOT NULL REFERENCES deliveries (id),"
    " answer_id INTEGER REFERENCES answers (id),"
    " PRIMARY KEY (alert_id, delivery_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX alert_members_delivery ON alert_members (delivery_id);"
    "CREATE INDEX alert_members_answer ON alert_members (answer_id);"
    "INSERT INTO alert_members (alert_id, delivery_id, answer_id)"
    /* "+" keeps the index out, so that closing does not ANALYZE on every first open. */
    " SELECT id, delivery_id, answer_id FROM alerts WHERE +delivery_id IS NOT NULL;"

    "CREATE TABLE alert_events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " alert_id INTEGER NOT NULL REFERENCES alerts (id),"
    " kind TEXT NOT NULL,"
    " actor TEXT NOT NULL DEFAULT '',"
    " at_ms INTEGER NOT NULL,"
    " detail TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "CREATE INDEX alert_events_alert ON alert_events (alert_id, id);"

    /* Time to acknowledge and to resolve, per alert, for reports (NULL while not yet). */
    "CREATE VIEW alert_times AS SELECT id, rule, team, answer_team, created_ms,"
    " CASE WHEN ack_ms > 0 THEN ack_ms - created_ms END AS ack_time_ms,"
    " CASE WHEN resolved_ms > 0 THEN resolved_ms - created_ms END AS resolve_time_ms,"
    " resolve_reason FROM alerts;";

/*
 * v4: customer check-ins. An interaction is kept once per (source, ext_id) with what was
 * decided for it, so a help desk's retry gets the same answer and creates nothing. A check-in
 * is a durable timer (due_ms while SCHEDULED) that becomes a delivery; its row keeps the team
 * that handled the interaction, which routing uses for the customer's answers. Opt-outs are
 * keyed by connector and user and by email. Webhook signatures are kept for the replay
 * window. Customers never enter the roster: deliveries and answers name them "customer:...".
 */
static const char schema_v4[] =
    "CREATE TABLE interactions ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " source TEXT NOT NULL,"
    " ext_id TEXT NOT NULL,"
    " customer TEXT NOT NULL,"
    " name TEXT NOT NULL DEFAULT '',"
    " email TEXT NOT NULL DEFAULT '',"
    " locale TEXT NOT NULL DEFAULT '',"
    " timezone TEXT NOT NULL DEFAULT '',"
    " connector TEXT NOT NULL DEFAULT '',"
    " user TEXT NOT NULL DEFAULT '',"
    " team TEXT NOT NULL DEFAULT '',"
    " agent TEXT NOT NULL DEFAULT '',"
    " channel TEXT NOT NULL DEFAULT '',"
    " touchpoint TEXT NOT NULL DEFAULT '',"
    " tags TEXT NOT NULL DEFAULT '{}',"
    " closed_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " outcome TEXT NOT NULL DEFAULT '',"
    " UNIQUE (source, ext_id)"
    ") STRICT;"
    "CREATE INDEX interactions_reach ON interactions (connector, user, id);"

    "CREATE TABLE checkins ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " interaction_id INTEGER NOT NULL REFERENCES interactions (id),"
    " survey TEXT NOT NULL,"
    " customer TEXT NOT NULL,"
    " email TEXT NOT NULL DEFAULT '',"
    " connector TEXT NOT NULL,"
    " user TEXT NOT NULL,"
    " team TEXT NOT NULL DEFAULT '',"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 2),"
    " due_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " fired_ms INTEGER NOT NULL DEFAULT 0,"
    " delivery_id INTEGER REFERENCES deliveries (id),"
    " note TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    /* Spelled exactly as in store_checkin.c, so that SQLite uses them. */
    "CREATE INDEX checkins_due ON checkins (due_ms, id) WHERE state = 0;"
    "CREATE INDEX checkins_reach ON checkins (connector, user);"
    "CREATE INDEX checkins_email ON checkins (email) WHERE email <> '';"
    "CREATE INDEX checkins_interaction ON checkins (interaction_id);"
    "CREATE UNIQUE INDEX checkins_delivery ON checkins (delivery_id);"

    "CREATE TABLE customer_optouts ("
    " kind TEXT NOT NULL CHECK (kind IN ('reach', 'email')),"
    " key TEXT NOT NULL,"
    " at_ms INTEGER NOT NULL,"
    " PRIMARY KEY (kind, key)"
    ") STRICT, WITHOUT ROWID;"

    "CREATE TABLE webhook_signatures ("
    " sig TEXT PRIMARY KEY,"
    " expires_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX webhook_signatures_expiry ON webhook_signatures (expires_ms);";

/* v5: reminders. next_reminder_ms is the durable timer of a delivery's next reminder (0: none
 * left); the partial index holds only deliveries still waiting for their first answer. */
static const char schema_v5[] =
    "ALTER TABLE deliveries ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE deliveries ADD COLUMN next_reminder_ms INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX deliveries_reminder ON deliveries (next_reminder_ms, id)"
    " WHERE state IN (0, 1) AND next_reminder_ms > 0;";

/*
 * v7: closing the loop. group_key says which low scores join an alert (a team, a customer);
 * existing alerts keep grouping by team. alert_reasks links an alert to the check-in that asks
 * its customer again, and alert_recovery is the view reports read (recovered: the re-ask's
 * score reached the rule's recovered_score; NULL until answered). alert_webhooks is the
 * durable queue of the events posted to a rule's webhook, and their delivery state.
 */
static const char schema_v7[] =
    "ALTER TABLE alerts ADD COLUMN group_key TEXT NOT NULL DEFAULT '';"
    "UPDATE alerts SET group_key = 'team:' || answer_team WHERE answer_team <> '';"
    "DROP INDEX alerts_group;"
    /* Spelled as in store_alert_flow.c, so that SQLite uses it. */
    "CREATE INDEX alerts_group_key ON alerts (rule, group_key, created_ms) WHERE state < 2;"

    "CREATE TABLE alert_reasks ("
    " alert_id INTEGER NOT NULL REFERENCES alerts (id),"
    " checkin_id INTEGER NOT NULL REFERENCES checkins (id),"
    " rule TEXT NOT NULL,"
    " team TEXT NOT NULL,"
    " question TEXT NOT NULL,"
    " low_score INTEGER NOT NULL,"
    " recovered_score INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (alert_id, checkin_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE UNIQUE INDEX alert_reasks_checkin ON alert_reasks (checkin_id);"
    "CREATE INDEX alert_reasks_created ON alert_reasks (created_ms);"
    "CREATE VIEW alert_recovery AS SELECT r.alert_id, r.rule, r.team, r.checkin_id,"
    " r.created_ms, r.low_score, r.recovered_score, c.state AS reask_state,"
    " c.delivery_id AS reask_delivery_id, a.score AS reask_score,"
    " CASE WHEN a.score IS NULL THEN NULL WHEN a.score >= r.recovered_score THEN 1 ELSE 0 END"
    " AS recovered"
    " FROM alert_reasks r JOIN checkins c ON c.id = r.checkin_id"
    " LEFT JOIN answers a ON a.delivery_id = c.delivery_id AND a.question = r.question"
    " AND a.score IS NOT NULL;"

    "CREATE TABLE alert_webhooks ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " alert_id INTEGER NOT NULL REFERENCES alerts (id),"
    " url TEXT NOT NULL,"
    " rule TEXT NOT NULL DEFAULT '',"
    " event TEXT NOT NULL,"
    " body TEXT NOT NULL,"
    " state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " last_status INTEGER NOT NULL DEFAULT 0,"
    " error TEXT NOT NULL DEFAULT '',"
    " created_ms INTEGER NOT NULL,"
    " done_ms INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX alert_webhooks_due ON alert_webhooks (next_attempt_ms, id) WHERE state = 0;"
    "CREATE INDEX alert_webhooks_alert ON alert_webhooks (alert_id, id);";

/*
 * v6: audiences. A delivery that cannot reach its person (no handle anywhere, the platform
 * refused the direct message, the account is deactivated) is recorded in a state of its own,
 * UNREACHABLE (5), with the reason, so reports tell it from "did not answer". A CHECK cannot
 * be altered in SQLite, so the table is rebuilt (foreign keys are off while migrations run,
 * and the step checks them before it commits): same rows, same ids, the AUTOINCREMENT mark
 * carried over, the indexes made again exactly as before.
 * away_spans holds the absences people set by chat ("away until 2027-01-08"): days in their
 * time zone, inclusive, one span a person.
 */
static const char schema_v6[] =
    "CREATE TABLE deliveries_v6 ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " survey TEXT NOT NULL,"
    " schedule TEXT NOT NULL DEFAULT '',"
    " round INTEGER NOT NULL DEFAULT 0,"
    " person TEXT NOT NULL,"
    " connector TEXT NOT NULL,"
    " address TEXT NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 5),"
    " step TEXT NOT NULL DEFAULT '',"
    " step_outbox_id INTEGER NOT NULL DEFAULT 0,"
    " created_ms INTEGER NOT NULL,"
    " sent_ms INTEGER NOT NULL DEFAULT 0,"
    " expires_ms INTEGER NOT NULL DEFAULT 0,"
    " finished_ms INTEGER NOT NULL DEFAULT 0,"
    " reminders_sent INTEGER NOT NULL DEFAULT 0,"
    " next_reminder_ms INTEGER NOT NULL DEFAULT 0,"
    " reason TEXT NOT NULL DEFAULT ''"
    ") STRICT;"
    "INSERT INTO deliveries_v6 (id, survey, schedule, round, person, connector, address, state,"
    " step, step_outbox_id, created_ms, sent_ms, expires_ms, finished_ms, reminders_sent,"
    " next_reminder_ms)"
    " SELECT id, survey, schedule, round, person, connector, address, state, step,"
    " step_outbox_id, created_ms, sent_ms, expires_ms, finished_ms, reminders_sent,"
    " next_reminder_ms FROM deliveries ORDER BY id;"
    /* A delivery id is inside signed tokens: numbers handed out before are never reused. */
    "DELETE FROM sqlite_sequence WHERE name = 'deliveries_v6';"
    "INSERT INTO sqlite_sequence (name, seq)"
    " SELECT 'deliveries_v6', seq FROM sqlite_sequence WHERE name = 'deliveries';"
    "DROP TABLE deliveries;"
    "ALTER TABLE deliveries_v6 RENAME TO deliveries;"
    "CREATE INDEX deliveries_waiting ON deliveries (connector, address, id)"
    " WHERE state IN (1, 2);"
    "CREATE INDEX deliveries_unfinished ON deliveries (survey, person) WHERE state < 3;"
    "CREATE INDEX deliveries_expiry ON deliveries (expires_ms, id) WHERE state < 3;"
    "CREATE INDEX deliveries_step_outbox ON deliveries (step_outbox_id)"
    " WHERE step_outbox_id <> 0;"
    "CREATE INDEX deliveries_reminder ON deliveries (next_reminder_ms, id)"
    " WHERE state IN (0, 1) AND next_reminder_ms > 0;"

    "CREATE TABLE away_spans ("
    " person TEXT PRIMARY KEY,"
    " first_day INTEGER NOT NULL,"
    " last_day INTEGER NOT NULL CHECK (last_day >= first_day),"
    " set_ms INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;";

static const struct pb_migration migrations[] = {
    {1, schema_v1}, {2, schema_v2}, {3, schema_v3}, {4, schema_v4},
    {5, schema_v5}, {6, schema_v6}, {7, schema_v7},
};

_Static_assert(sizeof migrations / sizeof migrations[0] == PB_STORE_SCHEMA_VERSION,
               "PB_STORE_SCHEMA_VERSION must name the last migration");

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

/* Rows that break a foreign key after a step: a migration must leave none. */
static int foreign_keys_ok(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK)
        return 0;
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

static int run_step(sqlite3 *db, const char *path, const struct pb_migration *m, char *err,
                    size_t errlen)
{
    char sql[64];
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: migration to version %d: %s", path, m->version,
                sqlite3_errmsg(db));
        return PB_ERR_STORE;
    }
    if (sqlite3_exec(db, m->sql, NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: migration to version %d failed: %s", path, m->version,
                sqlite3_errmsg(db));
        goto fail;
    }
    if (!foreign_keys_ok(db)) {
        set_err(err, errlen, "%s: migration to version %d breaks foreign keys", path, m->version);
        goto fail;
    }
    /* Pragmas take no bound parameters; both numbers are this build's own constants. The
     * mark goes in with the first step, in the same transaction as the tables. */
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d", PB_STORE_APPLICATION_ID);
    if (m->version == 1 && sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", m->version);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: migration to version %d: %s", path, m->version,
                sqlite3_errmsg(db));
        goto fail;
    }
    pb_notice(MOD, "%s: schema migrated to version %d", path, m->version);
    return PB_OK;
fail:
    if (!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return PB_ERR_STORE;
}

int pb_store_migrate_steps(sqlite3 *db, const char *path, const struct pb_migration *steps,
                           size_t n_steps, char *err, size_t errlen)
{
    int64_t version = 0, app_id = 0, objects = 0;
    if (query_int(db, "PRAGMA user_version", &version) != SQLITE_OK ||
        query_int(db, "PRAGMA application_id", &app_id) != SQLITE_OK ||
        query_int(db, "SELECT count(*) FROM sqlite_schema", &objects) != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot read the schema version: %s", path, sqlite3_errmsg(db));
        return PB_ERR_STORE;
    }
    /* A file without our mark is only taken when it is empty: pointing the daemon at some
     * other program's database must not add tables to it. */
    if (app_id != PB_STORE_APPLICATION_ID && (app_id != 0 || objects > 0 || version != 0)) {
        set_err(err, errlen,
                "%s: not a pulsebot database (application id %lld, schema version %lld)", path,
                (long long)app_id, (long long)version);
        return PB_ERR_STORE;
    }
    int latest = n_steps ? steps[n_steps - 1].version : 0;
    if (version > latest) {
        set_err(err, errlen,
                "%s: the database has schema version %lld, newer than version %d that this "
                "build of pulsebot knows; run a newer pulsebot or restore a backup",
                path, (long long)version, latest);
        return PB_ERR_STORE;
    }
    for (size_t i = 0; i < n_steps; i++) {
        if (steps[i].version != (int)i + 1) {
            set_err(err, errlen, "%s: migration %zu is numbered %d", path, i + 1, steps[i].version);
            return PB_ERR_INVALID;
        }
        if (steps[i].version <= version)
            continue;
        int rc = run_step(db, path, &steps[i], err, errlen);
        if (rc < 0)
            return rc;
    }
    return PB_OK;
}

int pb_store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    return pb_store_migrate_steps(db, path, migrations, sizeof migrations / sizeof migrations[0],
                                  err, errlen);
}

/*
 * Customer check-ins in the store: closed interactions (once per source and id), the
 * check-ins they schedule (a durable due time, then a delivery), opt-outs by connector and
 * user and by email, and the webhook signatures seen within the replay window.
 */
#include "store_internal.h"

#include <stdio.h>
#include <string.h>

#include "clock.h"

#define INTERACTION_COLS                                                                           \
    "id, source, ext_id, customer, name, email, locale, timezone, connector, user, team, agent,"   \
    " channel, touchpoint, tags, closed_ms, created_ms, outcome"

#define CHECKIN_COLS                                                                               \
    "id, interaction_id, survey, customer, email, connector, user, team, state, due_ms,"           \
    " created_ms, fired_ms, coalesce(delivery_id, 0), note"

static void read_interaction(sqlite3_stmt *st, struct pb_interaction *in)
{
    memset(in, 0, sizeof *in);
    in->id = sqlite3_column_int64(st, 0);
    PB_COL_FIELD(st, 1, in->source);
    PB_COL_FIELD(st, 2, in->ext_id);
    PB_COL_FIELD(st, 3, in->customer);
    PB_COL_FIELD(st, 4, in->name);
    PB_COL_FIELD(st, 5, in->email);
    PB_COL_FIELD(st, 6, in->locale);
    PB_COL_FIELD(st, 7, in->timezone);
    PB_COL_FIELD(st, 8, in->connector);
    PB_COL_FIELD(st, 9, in->user);
    PB_COL_FIELD(st, 10, in->team);
    PB_COL_FIELD(st, 11, in->agent);
    PB_COL_FIELD(st, 12, in->channel);
    PB_COL_FIELD(st, 13, in->touchpoint);
    PB_COL_FIELD(st, 14, in->tags);
    in->closed_ms = sqlite3_column_int64(st, 15);
    in->created_ms = sqlite3_column_int64(st, 16);
    PB_COL_FIELD(st, 17, in->outcome);
}

static void read_checkin(sqlite3_stmt *st, struct pb_checkin *c)
{
    memset(c, 0, sizeof *c);
    c->id = sqlite3_column_int64(st, 0);
    c->interaction_id = sqlite3_column_int64(st, 1);
    PB_COL_FIELD(st, 2, c->survey);
    PB_COL_FIELD(st, 3, c->customer);
    PB_COL_FIELD(st, 4, c->email);
    PB_COL_FIELD(st, 5, c->connector);
    PB_COL_FIELD(st, 6, c->user);
    PB_COL_FIELD(st, 7, c->team);
    c->state = (enum pb_checkin_state)sqlite3_column_int(st, 8);
    c->due_ms = sqlite3_column_int64(st, 9);
    c->created_ms = sqlite3_column_int64(st, 10);
    c->fired_ms = sqlite3_column_int64(st, 11);
    c->delivery_id = sqlite3_column_int64(st, 12);
    PB_COL_FIELD(st, 13, c->note);
}

/* Steps a one-row query into an interaction: PB_OK, PB_ERR_UNKNOWN or a failure. */
static int fetch_interaction(struct pb_store *s, sqlite3_stmt *st, struct pb_interaction *out,
                             const char *what)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_interaction(st, out);
        pb_store_reset(st);
        return PB_OK;
    }
    if (rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, what);
    pb_store_reset(st);
    return PB_ERR_UNKNOWN;
}

int pb_store_interaction_insert(struct pb_store *s, struct pb_interaction *in,
                                struct pb_interaction *existing)
{
    if (!in || !existing)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_INTERACTION_FIND,
                                     "SELECT " INTERACTION_COLS " FROM interactions"
                                     " WHERE source = ?1 AND ext_id = ?2");
    if (!st)
        return PB_ERR_STORE;
    PB_BIND_FIELD(st, 1, in->source);
    PB_BIND_FIELD(st, 2, in->ext_id);
    int rc = fetch_interaction(s, st, existing, "interaction find");
    if (rc == PB_OK)
        return PB_ERR_DONE;
    if (rc != PB_ERR_UNKNOWN)
        return rc;
    st = pb_store_stmt(s, PB_STMT_INTERACTION_INSERT,
                       "INSERT INTO interactions (source, ext_id, customer, name, email, locale,"
                       " timezone, connector, user, team, agent, channel, touchpoint, tags,"
                       " closed_ms, created_ms, outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                       " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)");
    if (!st)
        return PB_ERR_STORE;
    if (in->created_ms == 0)
        in->created_ms = pb_now_ms();
    int b = PB_BIND_FIELD(st, 1, in->source);
    b |= PB_BIND_FIELD(st, 2, in->ext_id);
    b |= PB_BIND_FIELD(st, 3, in->customer);
    b |= PB_BIND_FIELD(st, 4, in->name);
    b |= PB_BIND_FIELD(st, 5, in->email);
    b |= PB_BIND_FIELD(st, 6, in->locale);
    b |= PB_BIND_FIELD(st, 7, in->timezone);
    b |= PB_BIND_FIELD(st, 8, in->connector);
    b |= PB_BIND_FIELD(st, 9, in->user);
    b |= PB_BIND_FIELD(st, 10, in->team);
    b |= PB_BIND_FIELD(st, 11, in->agent);
    b |= PB_BIND_FIELD(st, 12, in->channel);
    b |= PB_BIND_FIELD(st, 13, in->touchpoint);
    /* Not PB_BIND_FIELD: the conditional is a pointer, whose sizeof would cut the tags to 8. */
    b |= pb_store_bind_str(st, 14, in->tags[0] ? in->tags : "{}");
    b |= sqlite3_bind_int64(st, 15, in->closed_ms);
    b |= sqlite3_bind_int64(st, 16, in->created_ms);
    b |= PB_BIND_FIELD(st, 17, in->outcome);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "interaction insert");
    rc = pb_store_run(s, st, "interaction insert");
    if (rc == PB_OK)
        in->id = pb_store_last_id(s);
    return rc;
}

int pb_store_interaction_get(struct pb_store *s, int64_t id, struct pb_interaction *out)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_INTERACTION_GET,
                                     "SELECT " INTERACTION_COLS " FROM interactions WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    return fetch_interaction(s, st, out, "interaction get");
}

int pb_store_interaction_set_outcome(struct pb_store *s, int64_t id, const char *outcome)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_INTERACTION_OUTCOME,
                                     "UPDATE interactions SET outcome = ?2 WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    pb_store_bind_str(st, 2, outcome ? outcome : "");
    int rc = pb_store_run(s, st, "interaction outcome");
    if (rc == PB_OK && pb_store_changes(s) != 1)
        return PB_ERR_UNKNOWN;
    return rc;
}

int pb_store_checkin_insert(struct pb_store *s, struct pb_checkin *c)
{
    if (!c)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(
        s, PB_STMT_CHECKIN_INSERT,
        "INSERT INTO checkins (interaction_id, survey, customer, email, connector, user, team,"
        " state, due_ms, created_ms, fired_ms, delivery_id, note)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    if (!st)
        return PB_ERR_STORE;
    if (c->created_ms == 0)
        c->created_ms = pb_now_ms();
    int b = sqlite3_bind_int64(st, 1, c->interaction_id);
    b |= PB_BIND_FIELD(st, 2, c->survey);
    b |= PB_BIND_FIELD(st, 3, c->customer);
    b |= PB_BIND_FIELD(st, 4, c->email);
    b |= PB_BIND_FIELD(st, 5, c->connector);
    b |= PB_BIND_FIELD(st, 6, c->user);
    b |= PB_BIND_FIELD(st, 7, c->team);
    b |= sqlite3_bind_int(st, 8, (int)c->state);
    b |= sqlite3_bind_int64(st, 9, c->due_ms);
    b |= sqlite3_bind_int64(st, 10, c->created_ms);
    b |= sqlite3_bind_int64(st, 11, c->fired_ms);
    b |= pb_store_bind_ref(st, 12, c->delivery_id);
    b |= PB_BIND_FIELD(st, 13, c->note);
    if (b != SQLITE_OK)
        return pb_store_fail(s, st, b, "checkin insert");
    int rc = pb_store_run(s, st, "checkin insert");
    if (rc == PB_OK)
        c->id = pb_store_last_id(s);
    return rc;
}

int pb_store_checkin_get(struct pb_store *s, int64_t id, struct pb_checkin *out)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_CHECKIN_GET,
                                     "SELECT " CHECKIN_COLS " FROM checkins WHERE id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_checkin(st, out);
        pb_store_reset(st);
        return PB_OK;
    }
    if (rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "checkin get");
    pb_store_reset(st);
    return PB_ERR_UNKNOWN;
}

int pb_store_checkin_due(struct pb_store *s, int64_t now_ms, struct pb_checkin *out, size_t limit,
                         size_t *n_out)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_CHECKIN_DUE,
                                     "SELECT " CHECKIN_COLS " FROM checkins"
                                     " WHERE state = 0 AND due_ms <= ?1 ORDER BY due_ms, id"
                                     " LIMIT ?2");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_int64(st, 2, (int64_t)limit);
    size_t n = 0;
    int rc;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW)
        read_checkin(st, &out[n++]);
    if (n < limit && rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "checkin due");
    pb_store_reset(st);
    *n_out = n;
    return PB_OK;
}

int pb_store_checkin_next_due(struct pb_store *s, int64_t *ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_CHECKIN_NEXT_DUE,
                                     "SELECT min(due_ms) FROM checkins WHERE state = 0");
    if (!st)
        return PB_ERR_STORE;
    return pb_store_fetch_int(s, st, ms, "checkin next due");
}

int pb_store_checkin_settle(struct pb_store *s, const struct pb_checkin *c)
{
    if (!c || c->state == PB_CHECKIN_SCHEDULED)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_CHECKIN_SETTLE,
                                     "UPDATE checkins SET state = ?2, fired_ms = ?3,"
                                     " delivery_id = ?4, note = ?5 WHERE id = ?1 AND state = 0");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, c->id);
    sqlite3_bind_int(st, 2, (int)c->state);
    sqlite3_bind_int64(st, 3, c->fired_ms);
    pb_store_bind_ref(st, 4, c->delivery_id);
    PB_BIND_FIELD(st, 5, c->note);
    int rc = pb_store_run(s, st, "checkin settle");
    if (rc == PB_OK && pb_store_changes(s) != 1)
        return PB_ERR_DONE;
    return rc;
}

int pb_store_checkin_busy(struct pb_store *s, const char *connector, const char *user,
                          const char *email, int64_t since_ms, int64_t except_id, char *why,
                          size_t why_len)
{
    /* The customer is the same when reached at the same place or known by the same email. */
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_CHECKIN_BUSY,
                      "SELECT c.state, c.fired_ms, coalesce(d.state, 3) FROM checkins c"
                      " LEFT JOIN deliveries d ON d.id = c.delivery_id"
                      " WHERE c.id <> ?5 AND ((c.connector = ?1 AND c.user = ?2 AND ?2 <> '')"
                      "  OR (?3 <> '' AND c.email = ?3))"
                      " AND (c.state = 0 OR (c.state = 1 AND (c.fired_ms >= ?4 OR d.state < 3)))"
                      " ORDER BY c.state LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector ? connector : "");
    pb_store_bind_str(st, 2, user ? user : "");
    pb_store_bind_str(st, 3, email ? email : "");
    sqlite3_bind_int64(st, 4, since_ms);
    sqlite3_bind_int64(st, 5, except_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return 0;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "checkin busy");
    int state = sqlite3_column_int(st, 0);
    int open = sqlite3_column_int(st, 2) < 3;
    pb_store_reset(st);
    snprintf(why, why_len, "%s",
             state == 0 ? "contact cap: a check-in is already scheduled for this customer"
             : open     ? "contact cap: a check-in of this customer is still open"
                        : "contact cap: this customer was asked recently");
    return 1;
}

int pb_store_checkin_team(struct pb_store *s, int64_t delivery_id, char *team, size_t len)
{
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_CHECKIN_TEAM, "SELECT team FROM checkins WHERE delivery_id = ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, delivery_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        pb_store_col_copy(st, 0, team, len);
        pb_store_reset(st);
        return PB_OK;
    }
    if (rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "checkin team");
    pb_store_reset(st);
    return PB_ERR_UNKNOWN;
}

size_t pb_store_checkin_count(struct pb_store *s)
{
    return pb_store_count(s, PB_STMT_CHECKIN_COUNT, "SELECT count(*) FROM checkins",
                          "checkin count");
}

/* "connector user" cannot collide across connectors: connector names hold no space. */
static void reach_key(const char *connector, const char *user, char *out, size_t len)
{
    snprintf(out, len, "%s %s", connector, user);
}

static int optout_put(struct pb_store *s, const char *kind, const char *key, int64_t now_ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OPTOUT_ADD,
                                     "INSERT INTO customer_optouts (kind, key, at_ms)"
                                     " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, kind);
    pb_store_bind_str(st, 2, key);
    sqlite3_bind_int64(st, 3, now_ms);
    return pb_store_run(s, st, "optout add");
}

int pb_store_optout_add(struct pb_store *s, const char *connector, const char *user,
                        const char *email, int64_t now_ms)
{
    char key[256];
    int rc = pb_store_begin(s);
    if (rc == PB_OK && connector && *connector && user && *user) {
        reach_key(connector, user, key, sizeof key);
        rc = optout_put(s, "reach", key, now_ms);
    }
    if (rc == PB_OK && email && *email)
        rc = optout_put(s, "email", email, now_ms);
    if (rc == PB_OK)
        return pb_store_commit(s);
    pb_store_rollback(s);
    return rc;
}

int pb_store_optout_has(struct pb_store *s, const char *connector, const char *user,
                        const char *email)
{
    char key[256];
    reach_key(connector ? connector : "", user ? user : "", key, sizeof key);
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_OPTOUT_HAS,
                                     "SELECT count(*) FROM customer_optouts"
                                     " WHERE (kind = 'reach' AND key = ?1 AND ?3 <> '')"
                                     " OR (kind = 'email' AND key = ?2 AND ?2 <> '')");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, key);
    pb_store_bind_str(st, 2, email ? email : "");
    pb_store_bind_str(st, 3, user ? user : "");
    int64_t n = 0;
    int rc = pb_store_fetch_int(s, st, &n, "optout has");
    if (rc < 0)
        return rc;
    return n > 0;
}

int pb_store_customer_email(struct pb_store *s, const char *connector, const char *user,
                            char *email, size_t len)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_CUSTOMER_EMAIL,
                                     "SELECT email FROM interactions WHERE connector = ?1"
                                     " AND user = ?2 AND email <> '' ORDER BY id DESC LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, connector);
    pb_store_bind_str(st, 2, user);
    email[0] = '\0';
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        pb_store_col_copy(st, 0, email, len);
    else if (rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "customer email");
    pb_store_reset(st);
    return PB_OK;
}

int pb_store_customer_locale(struct pb_store *s, const char *customer, char *locale, size_t len)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_CUSTOMER_LOCALE,
                                     "SELECT locale FROM interactions WHERE customer = ?1"
                                     " AND locale <> '' ORDER BY id DESC LIMIT 1");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, customer);
    locale[0] = '\0';
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        pb_store_col_copy(st, 0, locale, len);
    else if (rc != SQLITE_DONE)
        return pb_store_fail(s, st, rc, "customer locale");
    pb_store_reset(st);
    return PB_OK;
}

int pb_store_webhook_seen(struct pb_store *s, const char *sig, int64_t expires_ms, int64_t now_ms)
{
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_WEBHOOK_PRUNE,
                                     "DELETE FROM webhook_signatures WHERE expires_ms < ?1");
    if (!st)
        return PB_ERR_STORE;
    sqlite3_bind_int64(st, 1, now_ms);
    int rc = pb_store_run(s, st, "webhook prune");
    if (rc != PB_OK)
        return rc;
    st = pb_store_stmt(s, PB_STMT_WEBHOOK_SEEN,
                       "INSERT INTO webhook_signatures (sig, expires_ms) VALUES (?1, ?2)"
                       " ON CONFLICT DO NOTHING");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, sig);
    sqlite3_bind_int64(st, 2, expires_ms);
    rc = pb_store_run(s, st, "webhook seen");
    if (rc == PB_OK && pb_store_changes(s) != 1)
        return PB_ERR_DONE;
    return rc;
}

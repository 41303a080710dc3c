/*
 * Connectors' key/value state (a resume token, a cache of channel ids), one namespace per
 * connector. A prefix scan is a range on the primary key, [prefix, successor of prefix),
 * rather than LIKE: '%' and '_' in keys stay literal and the scan is an index walk.
 */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

int pb_store_kv_get(struct pb_store *s, const char *ns, const char *key, char **value)
{
    if (!ns || !key || !value)
        return PB_ERR_INVALID;
    *value = NULL;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_KV_GET, "SELECT value FROM kv WHERE ns = ?1 AND key = ?2");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, ns);
    pb_store_bind_str(st, 2, key);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        pb_store_reset(st);
        return PB_ERR_UNKNOWN;
    }
    if (rc != SQLITE_ROW)
        return pb_store_fail(s, st, rc, "kv get");
    int oom = 0;
    *value = pb_store_col_dup(st, 0, &oom);
    pb_store_reset(st);
    return oom ? PB_ERR_NOMEM : PB_OK;
}

int pb_store_kv_put(struct pb_store *s, const char *ns, const char *key, const char *value)
{
    if (!ns || !key || !value)
        return PB_ERR_INVALID;
    sqlite3_stmt *st = pb_store_stmt(s, PB_STMT_KV_PUT,
                                     "INSERT INTO kv (ns, key, value) VALUES (?1, ?2, ?3)"
                                     " ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, ns);
    pb_store_bind_str(st, 2, key);
    pb_store_bind_str(st, 3, value);
    return pb_store_run(s, st, "kv put");
}

int pb_store_kv_delete(struct pb_store *s, const char *ns, const char *key)
{
    if (!ns || !key)
        return PB_ERR_INVALID;
    sqlite3_stmt *st =
        pb_store_stmt(s, PB_STMT_KV_DELETE, "DELETE FROM kv WHERE ns = ?1 AND key = ?2");
    if (!st)
        return PB_ERR_STORE;
    pb_store_bind_str(st, 1, ns);
    pb_store_bind_str(st, 2, key);
    int rc = pb_store_run(s, st, "kv delete");
    if (rc < 0)
        return rc;
    return pb_store_changes(s) == 1 ? PB_OK : PB_ERR_UNKNOWN;
}

/* The smallest string greater than every string that starts with `prefix` (keys compare
 * bytewise): drop trailing 0xff bytes, then add one to the last byte. Returns 0 when there
 * is no such string (the prefix is empty or all 0xff), so the scan has no upper end. */
static int prefix_end(const char *prefix, char **end)
{
    size_t n = strlen(prefix);
    while (n > 0 && (unsigned char)prefix[n - 1] == 0xff)
        n--;
    *end = NULL;
    if (n == 0)
        return 0;
    char *e = malloc(n + 1);
    if (!e)
        return PB_ERR_NOMEM;
    memcpy(e, prefix, n);
    e[n - 1] = (char)((unsigned char)e[n - 1] + 1);
    e[n] = '\0';
    *end = e;
    return 1;
}

struct kv_pair {
    char *key, *value;
};

static void free_pairs(struct kv_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

/* The rows are copied out before any visit: a visitor may then call the store (delete the
 * key it sees, even scan again) without disturbing a statement still in use. */
int pb_store_kv_scan(struct pb_store *s, const char *ns, const char *prefix,
                     int (*visit)(void *arg, const char *key, const char *value), void *arg)
{
    if (!ns || !visit)
        return PB_ERR_INVALID;
    if (!prefix)
        prefix = "";
    char *end = NULL;
    struct kv_pair *pairs = NULL;
    size_t n = 0, cap = 0;
    int rc = prefix_end(prefix, &end);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st =
        end ? pb_store_stmt(s, PB_STMT_KV_SCAN_RANGE,
                            "SELECT key, value FROM kv WHERE ns = ?1 AND key >= ?2 AND key < ?3"
                            " ORDER BY key")
            : pb_store_stmt(s, PB_STMT_KV_SCAN_FROM,
                            "SELECT key, value FROM kv WHERE ns = ?1 AND key >= ?2 ORDER BY key");
    if (!st) {
        rc = PB_ERR_STORE;
        goto out;
    }
    pb_store_bind_str(st, 1, ns);
    pb_store_bind_str(st, 2, prefix);
    if (end)
        pb_store_bind_str(st, 3, end);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct kv_pair *np = realloc(pairs, ncap * sizeof *np);
            if (!np) {
                rc = PB_ERR_NOMEM;
                pb_store_reset(st);
                goto out;
            }
            pairs = np;
            cap = ncap;
        }
        int oom = 0;
        pairs[n].key = pb_store_col_dup(st, 0, &oom);
        pairs[n].value = pb_store_col_dup(st, 1, &oom);
        n++;
        if (oom) {
            rc = PB_ERR_NOMEM;
            pb_store_reset(st);
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        rc = pb_store_fail(s, st, rc, "kv scan");
        goto out;
    }
    pb_store_reset(st);
    rc = PB_OK;
    for (size_t i = 0; i < n && rc == PB_OK; i++)
        rc = visit(arg, pairs[i].key, pairs[i].value);
out:
    free_pairs(pairs, n);
    free(end);
    return rc;
}

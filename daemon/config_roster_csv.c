/*
 * The roster CSV: people in the shape an HR system exports them, one row a person under a
 * header line that names the columns (docs/roster.md). Read with the configuration, at start
 * and on every reload, and appended to cfg->people before the cross checks, so a team's
 * manager or an audience may name someone from the file.
 *
 * The file belongs to another system and changes without anyone reading it first, so a bad
 * row must not stop pulsebot: it is reported as "people.csv:LINE: message" in cfg->warnings
 * and skipped, and the rest loads. Only what makes every row meaningless is an error of the
 * configuration: a file that cannot be read, or a header without an id column.
 *
 * Quoting follows RFC 4180 (fields in double quotes may hold commas, line breaks and doubled
 * quotes), with what exports add in practice tolerated: a UTF-8 byte order mark, LF as well as
 * CRLF line ends, blank lines, and blanks around fields. A row's line is the line it starts
 * on, counted across line breaks inside quoted fields, as an editor shows it.
 */
#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tz.h"

#define MAX_FILE  (256u * 1024 * 1024) /* a hundred thousand people are a few MB */
#define MAX_FIELD 1024                 /* longer than any name or address a row needs */
#define MAX_SHOWN 48                   /* bytes of a bad value quoted in a message */

/* ---- reading records ------------------------------------------------------------------- */

struct reader {
    const char *p, *end;
    int line; /* of *p */
};

/* One record: its fields as offsets into one buffer, reused from row to row. */
struct record {
    char *buf;
    size_t len, cap;
    size_t *offs;
    size_t n, cap_offs;
    int line;      /* where the record starts */
    int blank;     /* an empty line: no field, nothing quoted */
    char err[160]; /* why it is malformed, "" if it is not */
};

static int put(struct record *r, char c)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        char *b = realloc(r->buf, cap);
        if (!b)
            return PB_ERR_NOMEM;
        r->buf = b;
        r->cap = cap;
    }
    r->buf[r->len++] = c;
    return PB_OK;
}

static int start_field(struct record *r)
{
    if (r->n == r->cap_offs) {
        size_t cap = r->cap_offs ? r->cap_offs * 2 : 16;
        size_t *o = realloc(r->offs, cap * sizeof *o);
        if (!o)
            return PB_ERR_NOMEM;
        r->offs = o;
        r->cap_offs = cap;
    }
    r->offs[r->n++] = r->len;
    return PB_OK;
}

static const char *field(const struct record *r, size_t i)
{
    return r->buf + r->offs[i];
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Past the end of the current physical line: where reading resumes after a malformed row. */
static void skip_line(struct reader *rd)
{
    while (rd->p < rd->end && *rd->p != '\n' && *rd->p != '\r')
        rd->p++;
    if (rd->p < rd->end && *rd->p == '\r')
        rd->p++;
    if (rd->p < rd->end && *rd->p == '\n')
        rd->p++;
    rd->line++;
}

static int malformed(struct reader *rd, struct record *r, const char *why)
{
    snprintf(r->err, sizeof r->err, "%s", why);
    skip_line(rd);
    return 1;
}

/* A quoted field, from just after its opening quote to just after its closing one. */
static int quoted(struct reader *rd, struct record *r)
{
    for (;;) {
        if (rd->p == rd->end) {
            snprintf(r->err, sizeof r->err,
                     "a quoted field is not closed before the end of the file");
            return 1;
        }
        char c = *rd->p++;
        if (c == '"') {
            if (rd->p < rd->end && *rd->p == '"') {
                rd->p++;
            } else {
                return 0;
            }
        } else if (c == '\n' || (c == '\r' && (rd->p == rd->end || *rd->p != '\n'))) {
            rd->line++;
        } else if (c == '\0') {
            snprintf(r->err, sizeof r->err, "the row holds a NUL byte");
        }
        if (put(r, c) != PB_OK)
            return PB_ERR_NOMEM;
    }
}

/* Reads the next record: 1 when one was read (r->err says whether it is malformed), 0 at the
 * end of the file, or PB_ERR_NOMEM. */
static int read_record(struct reader *rd, struct record *r)
{
    r->len = r->n = 0;
    r->err[0] = '\0';
    r->line = rd->line;
    r->blank = 0;
    if (rd->p >= rd->end)
        return 0;
    int any = 0; /* anything but blanks seen, or a quote */
    for (;;) {
        if (start_field(r) != PB_OK)
            return PB_ERR_NOMEM;
        while (rd->p < rd->end && is_blank(*rd->p))
            rd->p++;
        if (rd->p < rd->end && *rd->p == '"') {
            rd->p++;
            any = 1;
            int rc = quoted(rd, r);
            if (rc < 0)
                return rc;
            if (rc > 0)
                return 1; /* the rest of the file went into the unclosed field */
            while (rd->p < rd->end && is_blank(*rd->p))
                rd->p++;
            if (rd->p < rd->end && *rd->p != ',' && *rd->p != '\r' && *rd->p != '\n')
                return malformed(rd, r, "text after the closing quote of a field");
        } else {
            size_t keep = r->len;
            while (rd->p < rd->end && *rd->p != ',' && *rd->p != '\r' && *rd->p != '\n') {
                char c = *rd->p++;
                if (c == '"')
                    return malformed(rd, r,
                                     "a quote inside a field that does not start with one "
                                     "(quote the whole field and double the quote)");
                if (c == '\0')
                    return malformed(rd, r, "the row holds a NUL byte");
                if (put(r, c) != PB_OK)
                    return PB_ERR_NOMEM;
                if (!is_blank(c))
                    keep = r->len;
            }
            r->len = keep; /* blanks before the comma are not part of the value */
            any |= r->len > r->offs[r->n - 1];
        }
        if (put(r, '\0') != PB_OK)
            return PB_ERR_NOMEM;
        if (rd->p < rd->end && *rd->p == ',') {
            rd->p++;
            any = 1;
            continue;
        }
        if (rd->p < rd->end && *rd->p == '\r')
            rd->p++;
        if (rd->p < rd->end && *rd->p == '\n')
            rd->p++;
        rd->line++;
        r->blank = !any;
        return 1;
    }
}

/* ---- sets of strings ------------------------------------------------------------------- */

/* Ids, handles and zones already seen: open addressing over "scope\x1fkey", so that a
 * hundred thousand rows stay linear. `line` is where the key was first seen (0: the file). */
struct seen_entry {
    char *key;
    const char *who;
    int line;
};

struct seen {
    struct seen_entry *v;
    size_t n, cap;
};

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static struct seen_entry *seen_slot(const struct seen *set, const char *key)
{
    size_t i = hash(key) & (set->cap - 1);
    while (set->v[i].key && strcmp(set->v[i].key, key) != 0)
        i = (i + 1) & (set->cap - 1);
    return &set->v[i];
}

static void make_key(char *out, size_t len, const char *scope, const char *key)
{
    snprintf(out, len, "%s\x1f%s", scope, key);
}

static const struct seen_entry *seen_find(const struct seen *set, const char *scope,
                                          const char *key)
{
    char k[256];
    make_key(k, sizeof k, scope, key);
    if (!set->cap)
        return NULL;
    const struct seen_entry *e = seen_slot(set, k);
    return e->key ? e : NULL;
}

static int seen_add(struct seen *set, const char *scope, const char *key, const char *who, int line)
{
    if (2 * (set->n + 1) > set->cap) {
        struct seen bigger = {.cap = set->cap ? set->cap * 2 : 256};
        bigger.v = calloc(bigger.cap, sizeof *bigger.v);
        if (!bigger.v)
            return PB_ERR_NOMEM;
        for (size_t i = 0; i < set->cap; i++)
            if (set->v[i].key)
                *seen_slot(&bigger, set->v[i].key) = set->v[i];
        bigger.n = set->n;
        free(set->v);
        *set = bigger;
    }
    char k[256];
    make_key(k, sizeof k, scope, key);
    struct seen_entry *e = seen_slot(set, k);
    if (e->key)
        return PB_OK; /* the first one stays */
    e->key = strdup(k);
    if (!e->key)
        return PB_ERR_NOMEM;
    e->who = who;
    e->line = line;
    set->n++;
    return PB_OK;
}

static void seen_free(struct seen *set)
{
    for (size_t i = 0; i < set->cap; i++)
        free(set->v[i].key);
    free(set->v);
}

/* ---- the header ------------------------------------------------------------------------ */

enum column {
    COL_IGNORED = 0,
    COL_ID,
    COL_NAME,
    COL_EMAIL,
    COL_TEAM,
    COL_MANAGER,
    COL_TIMEZONE,
    COL_LOCALE,
    COL_AWAY_FROM,
    COL_AWAY_UNTIL,
    COL_HANDLE, /* a connector's name: the person's handle there */
};

static const char *const column_names[] = {
    NULL, "id", "name", "email", "team", "manager", "timezone", "locale", "away_from", "away_until",
};
#define N_NAMED (sizeof column_names / sizeof column_names[0])

struct header {
    enum column *kind;
    const struct pb_cfg_connector **connector; /* for COL_HANDLE */
    size_t n;
    size_t col[N_NAMED]; /* the index of each named column, or SIZE_MAX */
};

/* Header names are compared as people write them in spreadsheets: "Away From" is away_from. */
static void normalise(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; *in && i + 1 < len; in++)
        out[i++] = *in == ' ' || *in == '-' ? '_' : (char)tolower((unsigned char)*in);
    out[i] = '\0';
}

/* ---- the load -------------------------------------------------------------------------- */

struct load {
    struct pb_cfg_ctx *ctx;
    struct pb_config *cfg;
    const char *file; /* as messages name it */
    struct header h;
    struct seen seen;
    struct pb_cfg_person *people; /* rows accepted so far */
    size_t n, cap;
    int nomem;
};

/* An error of the configuration, at a line of the CSV: sorted after the main file's. */
static void csv_error(struct load *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void csv_error(struct load *l, int line, const char *fmt, ...)
{
    struct pb_cfg_ctx *ctx = l->ctx;
    ctx->errors++;
    if (ctx->n_problems == ctx->cap_problems) {
        size_t cap = ctx->cap_problems ? ctx->cap_problems * 2 : 16;
        struct pb_cfg_problem *v = realloc(ctx->problems, cap * sizeof *v);
        if (!v)
            return;
        ctx->problems = v;
        ctx->cap_problems = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct pb_cfg_problem *p = &ctx->problems[ctx->n_problems];
    p->file = l->file;
    p->included = 1;
    p->line = line;
    p->seq = ctx->n_problems;
    p->text = strdup(msg);
    if (p->text)
        ctx->n_problems++;
}

static void warn(struct load *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(struct load *l, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pb_diag_add(&l->cfg->warnings, l->file, line, "%s", msg);
}

/* A value from the file as a message may quote it: control characters (a log line must stay
 * one line) replaced, and cut short. */
static const char *shown(const char *v, char *buf, size_t len)
{
    size_t i = 0;
    for (; *v && i + 4 < len && i < MAX_SHOWN; v++)
        buf[i++] = (unsigned char)*v < 0x20 || *v == 0x7f ? '?' : *v;
    if (*v && i + 4 <= len) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static int utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p++;
        int more = c < 0x80             ? 0
                   : (c & 0xE0) == 0xC0 ? 1
                   : (c & 0xF0) == 0xE0 ? 2
                   : (c & 0xF8) == 0xF0 ? 3
                                        : -1;
        if (more < 0 || (c & 0xFE) == 0xC0 || end - p < more)
            return 0;
        for (int i = 0; i < more; i++)
            if ((*p++ & 0xC0) != 0x80)
                return 0;
    }
    return 1;
}

static int read_header(struct load *l, const struct record *r)
{
    struct header *h = &l->h;
    h->n = r->n;
    h->kind = calloc(r->n, sizeof *h->kind);
    h->connector = calloc(r->n, sizeof *h->connector);
    if (!h->kind || !h->connector)
        return PB_ERR_NOMEM;
    for (size_t c = 0; c < N_NAMED; c++)
        h->col[c] = SIZE_MAX;
    int bad = 0;
    char name[128], other[128], buf[64];
    for (size_t i = 0; i < r->n; i++) {
        normalise(field(r, i), name, sizeof name);
        if (!name[0]) {
            csv_error(l, r->line, "header: column %zu has no name", i + 1);
            bad = 1;
            continue;
        }
        for (size_t c = 1; c < N_NAMED && !h->kind[i]; c++)
            if (strcmp(name, column_names[c]) == 0)
                h->kind[i] = (enum column)c;
        for (size_t c = 0; c < l->cfg->n_connectors && !h->kind[i]; c++) {
            normalise(l->cfg->connectors[c].name ? l->cfg->connectors[c].name : "", other,
                      sizeof other);
            if (strcmp(name, other) == 0) {
                h->kind[i] = COL_HANDLE;
                h->connector[i] = &l->cfg->connectors[c];
            }
        }
        for (size_t j = 0; j < i; j++) {
            normalise(field(r, j), other, sizeof other);
            if (strcmp(name, other) == 0) {
                csv_error(l, r->line, "header: column \"%s\" is named twice (columns %zu and %zu)",
                          shown(field(r, i), buf, sizeof buf), j + 1, i + 1);
                bad = 1;
            }
        }
        if (h->kind[i] && h->kind[i] != COL_HANDLE)
            h->col[h->kind[i]] = i;
        if (!h->kind[i]) {
            char hint[128];
            pb_cfg_hint(hint, sizeof hint,
                        pb_cfg_suggest(name, column_names + 1, N_NAMED - 1, sizeof(char *), 0));
            if (!hint[0] && l->cfg->n_connectors)
                pb_cfg_hint(hint, sizeof hint,
                            pb_cfg_suggest(name, l->cfg->connectors, l->cfg->n_connectors,
                                           sizeof *l->cfg->connectors,
                                           offsetof(struct pb_cfg_connector, name)));
            warn(l, r->line,
                 "column \"%s\" is neither a roster field nor a connector's name; it is "
                 "ignored%s",
                 shown(field(r, i), buf, sizeof buf), hint);
        }
    }
    if (h->col[COL_ID] == SIZE_MAX) {
        csv_error(l, r->line,
                  "header: no \"id\" column; the first line names the columns, such as "
                  "id,name,email,team,timezone,locale and a connector's name for handles");
        bad = 1;
    }
    return bad ? PB_ERR_INVALID : PB_OK;
}

static const char *col(const struct load *l, const struct record *r, enum column c)
{
    size_t i = l->h.col[c];
    return i == SIZE_MAX ? "" : field(r, i);
}

static int parse_date(const char *text, int64_t *days)
{
    int y, m, d;
    char end;
    if (sscanf(text, "%4d-%2d-%2d%c", &y, &m, &d, &end) != 3 || strlen(text) != 10 || m < 1 ||
        m > 12 || d < 1 || d > pb_tz_month_days(y, m))
        return -1;
    *days = pb_tz_days_from_civil(y, m, d);
    return 0;
}

/* A zone is checked against the system's files once per load, not once per row. */
static int zone_ok(struct load *l, const char *zone)
{
    if (seen_find(&l->seen, "\x01zone", zone))
        return 1;
    if (!pb_cfg_check_timezone.ok(zone))
        return 0;
    if (seen_add(&l->seen, "\x01zone", zone, NULL, 0) != PB_OK)
        l->nomem = 1;
    return 1;
}

/* Where someone was defined, for "already defined" messages. */
static void where(const struct load *l, const struct seen_entry *e, char *buf, size_t len)
{
    if (e->line > 0)
        snprintf(buf, len, "first at line %d", e->line);
    else
        snprintf(buf, len, "in %s", l->cfg->path);
}

/* Checks one row; on the first problem returns -1 with it in `why`. Fills `p` on success,
 * with strings still pointing into the record. */
static int check_row(struct load *l, const struct record *r, struct pb_cfg_person *p,
                     struct pb_cfg_handle *handles, char *why, size_t len)
{
    char a[64], b[160], hint[128];
    const char *id = col(l, r, COL_ID);
    if (r->n != l->h.n) {
        snprintf(why, len, "expected %zu fields as in the header, got %zu", l->h.n, r->n);
        return -1;
    }
    if (!utf8_valid(r->buf, r->len)) {
        snprintf(why, len, "the row is not valid UTF-8 (export the file as UTF-8)");
        return -1;
    }
    for (size_t i = 0; i < r->n; i++)
        if (strlen(field(r, i)) > MAX_FIELD) {
            snprintf(why, len, "column %zu is longer than %d bytes", i + 1, MAX_FIELD);
            return -1;
        }
    if (!id[0]) {
        snprintf(why, len, "id is empty");
        return -1;
    }
    if (!pb_cfg_check_id.ok(id)) {
        snprintf(why, len,
                 "id \"%s\": expected letters, digits, '_', '.' or '-', starting with a letter "
                 "or digit, at most 63 bytes",
                 shown(id, a, sizeof a));
        return -1;
    }
    const struct seen_entry *dup = seen_find(&l->seen, "", id);
    if (dup) {
        where(l, dup, b, sizeof b);
        snprintf(why, len, "person \"%s\" is already defined (%s)", id, b);
        return -1;
    }
    *p = (struct pb_cfg_person){
        .id = id, .away_first = 1, .away_last = 0, .line = r->line, .csv_line = r->line};
    const char *v = col(l, r, COL_NAME);
    p->name = v[0] ? v : id;
    v = col(l, r, COL_EMAIL);
    if (v[0] && !pb_cfg_check_email.ok(v)) {
        snprintf(why, len, "email \"%s\" is not an email address", shown(v, a, sizeof a));
        return -1;
    }
    p->email = v[0] ? v : NULL;
    v = col(l, r, COL_TEAM);
    if (v[0] && !pb_config_team(l->cfg, v)) {
        pb_cfg_hint(hint, sizeof hint,
                    pb_cfg_suggest(v, l->cfg->teams, l->cfg->n_teams, sizeof *l->cfg->teams, 0));
        snprintf(why, len, "team \"%s\" is not a team of the configuration%s",
                 shown(v, a, sizeof a), hint);
        return -1;
    }
    p->team = v[0] ? v : NULL;
    v = col(l, r, COL_TIMEZONE);
    if (v[0] && !zone_ok(l, v)) {
        snprintf(why, len, "timezone \"%s\" is not an IANA time zone name such as Europe/Oslo",
                 shown(v, a, sizeof a));
        return -1;
    }
    p->timezone = v[0] ? v : NULL;
    v = col(l, r, COL_LOCALE);
    if (v[0] && !pb_cfg_check_locale.ok(v)) {
        snprintf(why, len, "locale \"%s\" is not a language tag such as en or nb-NO",
                 shown(v, a, sizeof a));
        return -1;
    }
    p->locale = v[0] ? v : NULL;
    v = col(l, r, COL_MANAGER);
    if (v[0] && !pb_cfg_check_id.ok(v)) {
        snprintf(why, len, "manager \"%s\" is not a person id", shown(v, a, sizeof a));
        return -1;
    }
    p->manager = v[0] ? v : NULL;
    const char *from = col(l, r, COL_AWAY_FROM), *until = col(l, r, COL_AWAY_UNTIL);
    if (from[0] || until[0]) {
        if (!from[0] || !until[0] || parse_date(from, &p->away_first) != 0 ||
            parse_date(until, &p->away_last) != 0) {
            snprintf(why, len,
                     "away_from \"%s\" and away_until \"%s\": expected both as dates "
                     "(YYYY-MM-DD)",
                     shown(from, a, sizeof a), shown(until, b, sizeof b));
            return -1;
        }
        if (p->away_first > p->away_last) {
            snprintf(why, len, "away_until %s is before away_from %s", until, from);
            return -1;
        }
        p->away_from = from;
        p->away_until = until;
    }
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (l->h.kind[i] != COL_HANDLE || !field(r, i)[0])
            continue;
        const char *con = l->h.connector[i]->name, *user = field(r, i);
        if (strlen(user) > 127) {
            snprintf(why, len, "%s: a user id of at most 127 bytes was expected", con);
            return -1;
        }
        handles[n++] = (struct pb_cfg_handle){con, user};
    }
    /* Two people with one handle would make every answer from it ambiguous. */
    for (size_t c = 0; c < l->cfg->n_connectors; c++) {
        const struct pb_cfg_connector *con = &l->cfg->connectors[c];
        const char *user = NULL;
        for (size_t i = 0; i < n; i++)
            if (handles[i].connector == con->name)
                user = handles[i].user;
        if (!user && con->implicit_handles)
            user = id;
        if (!user || !con->name || !(dup = seen_find(&l->seen, con->name, user)))
            continue;
        where(l, dup, b, sizeof b);
        snprintf(why, len, "handle \"%s\" on connector \"%s\" is already the handle of \"%s\" (%s)",
                 shown(user, a, sizeof a), con->name, dup->who, b);
        return -1;
    }
    p->handles = handles;
    p->n_handles = n;
    return 0;
}

/* The handles a person has on each connector, explicit or implicit, join the set. */
static void note_handles(struct load *l, const struct pb_cfg_person *p, int line)
{
    for (size_t c = 0; c < l->cfg->n_connectors; c++) {
        const struct pb_cfg_connector *con = &l->cfg->connectors[c];
        const char *user = NULL;
        for (size_t i = 0; con->name && i < p->n_handles; i++)
            if (strcmp(p->handles[i].connector, con->name) == 0)
                user = p->handles[i].user;
        if (!user && con->implicit_handles)
            user = p->id;
        if (user && con->name && seen_add(&l->seen, con->name, user, p->id, line) != PB_OK)
            l->nomem = 1;
    }
}

/* Keeps a checked row: its strings are copied into the configuration's own storage. */
static int keep(struct load *l, struct pb_cfg_person *p)
{
    struct pb_cfg_ctx *ctx = l->ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct pb_cfg_person *v = realloc(l->people, cap * sizeof *v);
        if (!v)
            return PB_ERR_NOMEM;
        l->people = v;
        l->cap = cap;
    }
    const char **strings[] = {&p->id,     &p->name,    &p->email,     &p->team,      &p->timezone,
                              &p->locale, &p->manager, &p->away_from, &p->away_until};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++)
        if (*strings[i] && !(*strings[i] = pb_cfg_strdup(ctx, *strings[i])))
            return PB_ERR_NOMEM;
    struct pb_cfg_handle *h = calloc(p->n_handles ? p->n_handles : 1, sizeof *h);
    if (!h)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < p->n_handles; i++) {
        h[i].connector = p->handles[i].connector; /* the connector's own name */
        if (!(h[i].user = pb_cfg_strdup(ctx, p->handles[i].user))) {
            free(h);
            return PB_ERR_NOMEM;
        }
    }
    p->handles = h;
    l->people[l->n++] = *p;
    if (seen_add(&l->seen, "", p->id, p->id, p->csv_line) != PB_OK)
        return PB_ERR_NOMEM;
    note_handles(l, p, p->csv_line);
    return l->nomem ? PB_ERR_NOMEM : PB_OK;
}

/* A manager must be someone on the roster; one who is not is dropped, not the row. */
static void check_managers(struct load *l)
{
    char a[64];
    for (size_t i = 0; i < l->n; i++) {
        struct pb_cfg_person *p = &l->people[i];
        if (!p->manager || seen_find(&l->seen, "", p->manager))
            continue;
        warn(l, p->csv_line,
             "person \"%s\": manager \"%s\" is not on the roster; the row is kept without a "
             "manager",
             p->id, shown(p->manager, a, sizeof a));
        p->manager = NULL;
    }
}

/* The whole file, NUL-terminated; -1 with the reason in `why`. */
static int read_file(const char *path, char **out, size_t *len, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(why, why_len, "%s", strerror(errno));
        if (f)
            fclose(f);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_FILE) {
        snprintf(why, why_len, "%s", S_ISREG(st.st_mode) ? "larger than 256 MB" : "not a file");
        fclose(f);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    int failed = !buf || ferror(f);
    fclose(f);
    if (failed) {
        snprintf(why, why_len, "%s", buf ? "read error" : "out of memory");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* Appends the accepted rows to cfg->people. */
static int append_people(struct load *l)
{
    struct pb_config *cfg = l->cfg;
    if (!l->n)
        return PB_OK;
    struct pb_cfg_person *v = realloc(cfg->people, (cfg->n_people + l->n) * sizeof *v);
    if (!v)
        return PB_ERR_NOMEM;
    memcpy(v + cfg->n_people, l->people, l->n * sizeof *v);
    cfg->people = v;
    cfg->n_people += l->n;
    l->n = 0; /* the handles arrays belong to the configuration now */
    return PB_OK;
}

static void load_rows(struct load *l, struct reader *rd, struct record *r)
{
    struct pb_cfg_handle *handles = calloc(l->h.n ? l->h.n : 1, sizeof *handles);
    char why[512];
    int rc;
    if (!handles) {
        l->nomem = 1;
        return;
    }
    while ((rc = read_record(rd, r)) > 0) {
        if (r->blank)
            continue;
        if (r->err[0]) {
            warn(l, r->line, "%s; the row is skipped", r->err);
            continue;
        }
        struct pb_cfg_person p;
        if (check_row(l, r, &p, handles, why, sizeof why) != 0) {
            warn(l, r->line, "%s; the row is skipped", why);
            continue;
        }
        if (keep(l, &p) != PB_OK) {
            l->nomem = 1;
            break;
        }
    }
    if (rc < 0)
        l->nomem = 1;
    free(handles);
}

void pb_cfg_roster_csv(struct pb_cfg_ctx *ctx)
{
    struct pb_config *cfg = ctx->cfg;
    if (!cfg->roster.csv)
        return;
    struct load l = {.ctx = ctx, .cfg = cfg};
    l.file = cfg->roster.csv_shown ? cfg->roster.csv_shown : cfg->roster.csv;
    char *text = NULL;
    size_t len = 0;
    struct record r = {0};
    char why[128];
    if (read_file(cfg->roster.csv, &text, &len, why, sizeof why) != 0) {
        pb_cfg_error(ctx, pb_cfg_at(config_lookup(&ctx->priv->lc, "roster"), "csv"),
                     "roster: csv: cannot read %s: %s", l.file, why);
        return;
    }
    /* The configuration's people are known first: an id in both is a CSV row skipped. */
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        if (!p->id)
            continue;
        if (seen_add(&l.seen, "", p->id, p->id, 0) != PB_OK)
            l.nomem = 1;
        note_handles(&l, p, 0);
    }
    struct reader rd = {text, text + len, 1};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        rd.p += 3;
    int rc;
    while ((rc = read_record(&rd, &r)) > 0 && r.blank)
        ;
    if (rc == 0) {
        csv_error(&l, rd.line > 1 ? rd.line - 1 : 1,
                  "the file is empty: expected a header line naming the columns, such as "
                  "id,name,email,team,timezone,locale");
    } else if (rc > 0 && r.err[0]) {
        csv_error(&l, r.line, "header: %s", r.err);
    } else if (rc > 0 && !utf8_valid(r.buf, r.len)) {
        csv_error(&l, r.line, "header: not valid UTF-8 (export the file as UTF-8)");
    } else if (rc > 0 && read_header(&l, &r) == PB_OK) {
        load_rows(&l, &rd, &r);
        check_managers(&l);
        if (!l.nomem && append_people(&l) != PB_OK)
            l.nomem = 1;
    }
    if (rc < 0 || l.nomem)
        csv_error(&l, 0, "out of memory while reading the roster");
    for (size_t i = 0; i < l.n; i++)
        free(l.people[i].handles);
    free(l.people);
    free(l.h.kind);
    free(l.h.connector);
    free(r.buf);
    free(r.offs);
    seen_free(&l.seen);
    free(text);
}

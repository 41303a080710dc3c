/*
 * A minimal iCalendar (RFC 5545) reader for files of days off, the format HR tools and public
 * holiday feeds export. It reads whole-day VEVENTs only (DTSTART;VALUE=DATE, DTEND exclusive,
 * or DURATION in days or weeks) and ignores everything else, including the DTSTARTs inside
 * VTIMEZONE, which is why it tracks which component each line belongs to. Recurring events are
 * not expanded: holiday feeds list each year's dates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "calendar.h"
#include "pulsebot/plugin.h"

#define MAX_DEPTH      8
#define MAX_LINE       4096
#define MAX_EVENT_DAYS 366
#define MAX_FILE       (16 << 20)

struct days {
    int64_t *v;
    size_t n, cap;
};

static int add_day(struct days *d, int64_t day)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        int64_t *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return PB_ERR_NOMEM;
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = day;
    return PB_OK;
}

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct event {
    int64_t start, end; /* day numbers; end exclusive, -1 if not given */
    int whole_days;     /* DTSTART was a date */
    int has_start;
    long line;
};

/* A date value YYYYMMDD; 1 if it is a date-time instead (YYYYMMDDT...), -1 if malformed. */
static int parse_date(const char *v, int64_t *day)
{
    int y = 0, m = 0, d = 0;
    for (int i = 0; i < 8; i++)
        if (v[i] < '0' || v[i] > '9')
            return -1;
    sscanf(v, "%4d%2d%2d", &y, &m, &d);
    if (m < 1 || m > 12 || d < 1 || d > pb_tz_month_days(y, m))
        return -1;
    *day = pb_tz_days_from_civil(y, m, d);
    if (v[8] == 'T')
        return 1;
    return v[8] == '\0' ? 0 : -1;
}

/* DURATION of whole days: P<n>D or P<n>W; -1 otherwise. */
static long parse_duration_days(const char *v)
{
    char *end;
    if (*v == '+')
        v++;
    if (*v++ != 'P' || *v < '0' || *v > '9')
        return -1;
    long n = strtol(v, &end, 10);
    if (strcmp(end, "D") == 0)
        return n;
    if (strcmp(end, "W") == 0)
        return n * 7;
    return -1;
}

struct ctx {
    char *err;
    size_t errlen;
    char stack[MAX_DEPTH][16];
    long begun[MAX_DEPTH];
    int depth;
    struct event ev;
    struct days out;
};

static int end_event(struct ctx *c)
{
    struct event *ev = &c->ev;
    if (!ev->has_start || !ev->whole_days)
        return PB_OK; /* a meeting, not a day off */
    int64_t end = ev->end > ev->start ? ev->end : ev->start + 1;
    if (end - ev->start > MAX_EVENT_DAYS) {
        snprintf(c->err, c->errlen, "line %ld: an event of more than %d days", ev->line,
                 MAX_EVENT_DAYS);
        return PB_ERR_INVALID;
    }
    for (int64_t d = ev->start; d < end; d++)
        if (add_day(&c->out, d) != PB_OK)
            return PB_ERR_NOMEM;
    return PB_OK;
}

/* One unfolded content line: NAME[;PARAM=...]:VALUE. */
static int content_line(struct ctx *c, char *line, long lineno)
{
    /* The value starts at the first ':' outside a quoted parameter value. */
    char *colon = NULL;
    int quoted = 0;
    for (char *p = line; *p && !colon; p++)
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ':' && !quoted)
            colon = p;
    if (!colon) {
        if (*line == '\0')
            return PB_OK; /* blank lines are tolerated */
        snprintf(c->err, c->errlen, "line %ld: expected NAME:VALUE", lineno);
        return PB_ERR_INVALID;
    }
    *colon = '\0';
    char *value = colon + 1;
    char *params = strchr(line, ';');
    if (params)
        *params++ = '\0';
    if (strcasecmp(line, "BEGIN") == 0) {
        if (c->depth == MAX_DEPTH) {
            snprintf(c->err, c->errlen, "line %ld: components nested too deep", lineno);
            return PB_ERR_INVALID;
        }
        snprintf(c->stack[c->depth], sizeof c->stack[0], "%s", value);
        c->begun[c->depth++] = lineno;
        if (strcasecmp(value, "VEVENT") == 0)
            c->ev = (struct event){.end = -1, .line = lineno};
        return PB_OK;
    }
    if (strcasecmp(line, "END") == 0) {
        if (c->depth == 0 || strncasecmp(c->stack[c->depth - 1], value, 15) != 0) {
            snprintf(c->err, c->errlen, "line %ld: END:%.20s does not close %s%.20s", lineno, value,
                     c->depth ? "BEGIN:" : "any component", c->depth ? c->stack[c->depth - 1] : "");
            return PB_ERR_INVALID;
        }
        c->depth--;
        return strcasecmp(value, "VEVENT") == 0 ? end_event(c) : PB_OK;
    }
    if (c->depth == 0 || strcasecmp(c->stack[c->depth - 1], "VEVENT") != 0)
        return PB_OK;
    int is_start = strcasecmp(line, "DTSTART") == 0;
    if (is_start || strcasecmp(line, "DTEND") == 0) {
        int64_t day;
        int kind = parse_date(value, &day);
        if (kind < 0) {
            snprintf(c->err, c->errlen, "line %ld: bad %s \"%.20s\" (expected YYYYMMDD)", lineno,
                     line, value);
            return PB_ERR_INVALID;
        }
        if (is_start) {
            c->ev.has_start = 1;
            c->ev.whole_days = kind == 0;
            c->ev.start = day;
        } else {
            c->ev.end = day;
        }
    } else if (strcasecmp(line, "DURATION") == 0) {
        long n = parse_duration_days(value);
        if (n > 0 && c->ev.has_start && n <= MAX_EVENT_DAYS)
            c->ev.end = c->ev.start + n;
    }
    return PB_OK;
}

int pb_cal_ical_parse(const char *text, size_t len, int64_t **days, size_t *n, char *err,
                      size_t errlen)
{
    struct ctx c = {.err = err, .errlen = errlen};
    char *line = malloc(MAX_LINE);
    size_t ll = 0;
    long lineno = 0, line_start = 0;
    int rc = PB_OK, saw_calendar = 0;
    *days = NULL;
    *n = 0;
    if (!line)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i <= len;) {
        /* one physical line [i, j) */
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        size_t k = j > i && text[j - 1] == '\r' ? j - 1 : j;
        lineno++;
        int folded = k > i && (text[i] == ' ' || text[i] == '\t') && lineno > 1;
        if (!folded) {
            if (lineno > 1) {
                line[ll] = '\0';
                if (strncasecmp(line, "BEGIN:VCALENDAR", 15) == 0)
                    saw_calendar = 1;
                rc = content_line(&c, line, line_start);
                if (rc != PB_OK)
                    goto out;
            }
            ll = 0;
            line_start = lineno;
        }
        size_t from = folded ? i + 1 : i;
        if (ll + (k - from) >= MAX_LINE) {
            snprintf(err, errlen, "line %ld: a line longer than %d characters", line_start,
                     MAX_LINE - 1);
            rc = PB_ERR_INVALID;
            goto out;
        }
        memcpy(line + ll, text + from, k - from);
        ll += k - from;
        if (j >= len)
            break;
        i = j + 1;
    }
    line[ll] = '\0';
    if (ll) {
        rc = content_line(&c, line, line_start);
        if (rc != PB_OK)
            goto out;
    }
    if (!saw_calendar) {
        snprintf(err, errlen, "line 1: not an iCalendar file (expected BEGIN:VCALENDAR)");
        rc = PB_ERR_INVALID;
        goto out;
    }
    if (c.depth) {
        snprintf(err, errlen, "line %ld: BEGIN:%s is never closed", c.begun[c.depth - 1],
                 c.stack[c.depth - 1]);
        rc = PB_ERR_INVALID;
        goto out;
    }
    if (c.out.n) {
        qsort(c.out.v, c.out.n, sizeof *c.out.v, cmp_day);
        size_t w = 1;
        for (size_t r = 1; r < c.out.n; r++)
            if (c.out.v[r] != c.out.v[w - 1])
                c.out.v[w++] = c.out.v[r];
        c.out.n = w;
    }
    *days = c.out.v;
    *n = c.out.n;
    c.out.v = NULL;
out:
    free(c.out.v);
    free(line);
    return rc;
}

int pb_cal_ical_load(const char *path, int64_t **days, size_t *n, char *err, size_t errlen)
{
    int rc = PB_OK;
    char *buf = NULL;
    *days = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? PB_ERR_UNKNOWN : PB_ERR_INVALID;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size >= MAX_FILE) {
        snprintf(err, errlen, "%s: unreadable or larger than %d bytes", path, MAX_FILE);
        rc = PB_ERR_INVALID;
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = PB_ERR_NOMEM;
        goto out;
    }
    size_t len = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        snprintf(err, errlen, "%s: unreadable or larger than %d bytes", path, MAX_FILE);
        rc = PB_ERR_INVALID;
        goto out;
    }
    char msg[256];
    rc = pb_cal_ical_parse(buf, len, days, n, msg, sizeof msg);
    if (rc != PB_OK)
        snprintf(err, errlen, "%s:%s", path, msg + (strncmp(msg, "line ", 5) == 0 ? 5 : 0));
out:
    free(buf);
    fclose(f);
    return rc;
}

/*
 * The POSIX TZ string at the end of a TZif v2+ file ("EST5EDT,M3.2.0,M11.1.0"), which gives a
 * zone's offsets after the last transition listed in the file: for the years the compiler did
 * not write out (all of them with "slim" files, after 2037 with "fat" ones). Offsets in the
 * string count west of Greenwich (EST5 is UTC-5); we store them east, as everywhere else.
 * TZif v3 extensions are accepted: rule times from -167 to +167 hours.
 */
#include <stdint.h>
#include <string.h>

#include "pulsebot/plugin.h"
#include "tz_internal.h"

static int parse_name(const char **sp, char *out, size_t outlen)
{
    const char *s = *sp;
    size_t n = 0;
    if (*s == '<') {
        s++;
        while (*s && *s != '>') {
            if (n + 1 < outlen)
                out[n] = *s;
            n++;
            s++;
        }
        if (*s != '>' || n < 3)
            return PB_ERR_INVALID;
        s++;
    } else {
        while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
            if (n + 1 < outlen)
                out[n] = *s;
            n++;
            s++;
        }
        if (n < 3)
            return PB_ERR_INVALID;
    }
    out[n + 1 < outlen ? n : outlen - 1] = '\0';
    *sp = s;
    return PB_OK;
}

/* [+-]h[hh][:mm[:ss]] as seconds; max_h bounds the hours. */
static int parse_hms(const char **sp, int max_h, int32_t *out)
{
    const char *s = *sp;
    int sign = 1;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    if (*s < '0' || *s > '9')
        return PB_ERR_INVALID;
    int32_t h = 0, m = 0, sec = 0;
    while (*s >= '0' && *s <= '9' && h <= max_h)
        h = h * 10 + (*s++ - '0');
    if (h > max_h)
        return PB_ERR_INVALID;
    int32_t *parts[2] = {&m, &sec};
    for (int i = 0; i < 2 && *s == ':'; i++) {
        s++;
        if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
            return PB_ERR_INVALID;
        *parts[i] = (s[0] - '0') * 10 + (s[1] - '0');
        if (*parts[i] > 59)
            return PB_ERR_INVALID;
        s += 2;
    }
    *out = sign * (h * 3600 + m * 60 + sec);
    *sp = s;
    return PB_OK;
}

static int parse_num(const char **sp, int lo, int hi, int *out)
{
    const char *s = *sp;
    int v = 0;
    if (*s < '0' || *s > '9')
        return PB_ERR_INVALID;
    while (*s >= '0' && *s <= '9' && v <= hi)
        v = v * 10 + (*s++ - '0');
    if (v < lo || v > hi)
        return PB_ERR_INVALID;
    *out = v;
    *sp = s;
    return PB_OK;
}

static int parse_when(const char **sp, struct pb_tz_when *w)
{
    const char *s = *sp;
    int rc;
    memset(w, 0, sizeof *w);
    if (*s == 'J') {
        s++;
        w->kind = 'J';
        rc = parse_num(&s, 1, 365, &w->n);
    } else if (*s == 'M') {
        s++;
        w->kind = 'M';
        rc = parse_num(&s, 1, 12, &w->month);
        if (rc == PB_OK && *s++ == '.')
            rc = parse_num(&s, 1, 5, &w->week);
        else
            rc = PB_ERR_INVALID;
        if (rc == PB_OK && *s++ == '.')
            rc = parse_num(&s, 0, 6, &w->wday);
        else
            rc = PB_ERR_INVALID;
    } else {
        w->kind = 'N';
        rc = parse_num(&s, 0, 365, &w->n);
    }
    if (rc != PB_OK)
        return rc;
    w->time = 7200; /* POSIX default: 02:00 */
    if (*s == '/') {
        s++;
        rc = parse_hms(&s, 167, &w->time);
        if (rc != PB_OK)
            return rc;
    }
    *sp = s;
    return PB_OK;
}

int pb_tz_rule_parse(const char *s, struct pb_tz_rule *r)
{
    int32_t west;
    memset(r, 0, sizeof *r);
    if (parse_name(&s, r->std.abbr, sizeof r->std.abbr) != PB_OK ||
        parse_hms(&s, 24, &west) != PB_OK)
        return PB_ERR_INVALID;
    r->std.off = -west;
    r->present = 1;
    if (*s == '\0')
        return PB_OK;
    if (parse_name(&s, r->dst.abbr, sizeof r->dst.abbr) != PB_OK)
        return PB_ERR_INVALID;
    r->has_dst = 1;
    r->dst.dst = 1;
    r->dst.off = r->std.off + 3600;
    if (*s != ',' && *s != '\0') {
        if (parse_hms(&s, 24, &west) != PB_OK)
            return PB_ERR_INVALID;
        r->dst.off = -west;
    }
    if (*s == '\0') { /* no rule given: POSIX leaves it to the implementation; the US one */
        s = ",M3.2.0,M11.1.0";
    }
    if (*s++ != ',' || parse_when(&s, &r->start) != PB_OK || *s++ != ',' ||
        parse_when(&s, &r->end) != PB_OK || *s != '\0')
        return PB_ERR_INVALID;
    return PB_OK;
}

/* Day number on which a rule's change falls in `year`. */
static int64_t when_day(const struct pb_tz_when *w, int64_t year)
{
    int64_t jan1 = pb_tz_days_from_civil(year, 1, 1);
    if (w->kind == 'J') /* Feb 29 is never counted: day 60 is always March 1st */
        return jan1 + w->n - 1 + (pb_tz_is_leap(year) && w->n >= 60);
    if (w->kind == 'N')
        return jan1 + w->n;
    int64_t first = pb_tz_days_from_civil(year, w->month, 1);
    int day = 1 + (w->wday - pb_tz_weekday(first) + 7) % 7 + (w->week - 1) * 7;
    int len = pb_tz_month_days(year, w->month);
    while (day > len) /* week 5 means the last one, which may be the 4th */
        day -= 7;
    return first + day - 1;
}

struct change {
    int64_t at;
    int to_dst;
};

const struct pb_tz_type *pb_tz_rule_period(const struct pb_tz_rule *r, int64_t t, int64_t *start,
                                           int64_t *end)
{
    if (!r->has_dst) {
        *start = INT64_MIN;
        *end = INT64_MAX;
        return &r->std;
    }
    /* Rule times may reach a week into the next or previous year, so the changes of two years
     * either side of t's year are enough to bracket it. */
    int64_t y;
    int mo, d;
    pb_tz_civil_from_days((t + r->std.off) / 86400 - ((t + r->std.off) % 86400 < 0), &y, &mo, &d);
    struct change c[10];
    size_t n = 0;
    for (int64_t yy = y - 2; yy <= y + 2; yy++) {
        c[n++] = (struct change){when_day(&r->start, yy) * 86400 + r->start.time - r->std.off, 1};
        c[n++] = (struct change){when_day(&r->end, yy) * 86400 + r->end.time - r->dst.off, 0};
    }
    /* Sorted by time; at a tie the end of daylight time goes first, so that a zone in daylight
     * time all year ("EST5EDT4,0/0,J365/25") stays in it. */
    for (size_t i = 1; i < n; i++) {
        struct change k = c[i];
        size_t j = i;
        while (j > 0 &&
               (c[j - 1].at > k.at || (c[j - 1].at == k.at && c[j - 1].to_dst > k.to_dst))) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = k;
    }
    size_t i = 0;
    while (i < n && c[i].at <= t)
        i++;
    /* i is the first change after t */
    *start = i > 0 ? c[i - 1].at : INT64_MIN;
    *end = i < n ? c[i].at : INT64_MAX;
    int dst = i > 0 ? c[i - 1].to_dst : !c[0].to_dst;
    return dst ? &r->dst : &r->std;
}

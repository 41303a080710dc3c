/*
 * Time zones from compiled TZif files (RFC 8536), parsed here rather than through tzset(), and
 * the two conversions the schedules need: an instant to the local wall clock, and a wall time
 * back to an instant under the gap and overlap rule stated in tz.h.
 *
 * A zone is its transition table (instants at which the offset changes, each with the type
 * that applies after it) plus, from version 2, a POSIX rule for times after the table. Both
 * conversions work on "periods": the type in force at an instant and the bounds of the span
 * during which it stays in force, so the wall-to-instant direction looks at the few periods
 * around the wall time instead of guessing offsets.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pulsebot/plugin.h"
#include "tz_internal.h"

#define TZIF_MAX_SIZE (1 << 20) /* the largest real zone is under 4 KB */
/* Real offsets stay within -12h..+14h (and within +-25h historically); a wall time can only
 * be reached from instants this far either side of it. */
#define MAX_OFFSET_S (26 * 3600)

/* ---- Reading a TZif file ---------------------------------------------------------------- */

struct reader {
    const unsigned char *p, *end;
};

static int take(struct reader *r, size_t n, const unsigned char **out)
{
    if ((size_t)(r->end - r->p) < n)
        return PB_ERR_INVALID;
    *out = r->p;
    r->p += n;
    return PB_OK;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct header {
    int version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int read_header(struct reader *r, struct header *h)
{
    const unsigned char *p;
    if (take(r, 44, &p) != PB_OK || memcmp(p, "TZif", 4) != 0)
        return PB_ERR_INVALID;
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    if (h->version < 1 || h->version > 9)
        return PB_ERR_INVALID;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 || h->timecnt > 100000 ||
        h->charcnt > 65536 || h->leapcnt > 100000 ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return PB_ERR_INVALID;
    return PB_OK;
}

static size_t block_size(const struct header *h, size_t tsize)
{
    return h->timecnt * tsize + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Reads the data block of 4-byte (v1) or 8-byte (v2+) times into tz. */
static int read_block(struct reader *r, const struct header *h, size_t tsize, struct pb_tz *tz)
{
    const unsigned char *times, *idx, *types, *chars, *skip;
    if (take(r, h->timecnt * tsize, &times) != PB_OK || take(r, h->timecnt, &idx) != PB_OK ||
        take(r, h->typecnt * 6, &types) != PB_OK || take(r, h->charcnt, &chars) != PB_OK ||
        take(r, h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt, &skip) != PB_OK)
        return PB_ERR_INVALID;
    tz->n_trans = h->timecnt;
    tz->n_types = h->typecnt;
    tz->trans = calloc(h->timecnt + 1, sizeof *tz->trans);
    tz->idx = calloc(h->timecnt + 1, 1);
    tz->types = calloc(h->typecnt, sizeof *tz->types);
    if (!tz->trans || !tz->idx || !tz->types)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < h->timecnt; i++) {
        tz->trans[i] = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        tz->idx[i] = idx[i];
        if (idx[i] >= h->typecnt || (i > 0 && tz->trans[i] <= tz->trans[i - 1]))
            return PB_ERR_INVALID;
    }
    for (size_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = types + 6 * i;
        struct pb_tz_type *ty = &tz->types[i];
        ty->off = (int32_t)be32(t);
        ty->dst = t[4] != 0;
        if (t[5] >= h->charcnt || ty->off <= -MAX_OFFSET_S || ty->off >= MAX_OFFSET_S)
            return PB_ERR_INVALID;
        size_t n = strnlen((const char *)chars + t[5], h->charcnt - t[5]);
        if (n >= sizeof ty->abbr)
            n = sizeof ty->abbr - 1;
        memcpy(ty->abbr, chars + t[5], n);
    }
    return PB_OK;
}

static int parse_tzif(const unsigned char *buf, size_t len, struct pb_tz *tz)
{
    struct reader r = {buf, buf + len};
    struct header h;
    const unsigned char *skip;
    int rc = read_header(&r, &h);
    if (rc != PB_OK)
        return rc;
    if (h.version == 1)
        return read_block(&r, &h, 4, tz);
    /* Version 2+: the v1 block is kept for old readers; the 64-bit one follows. */
    if (take(&r, block_size(&h, 4), &skip) != PB_OK || read_header(&r, &h) != PB_OK)
        return PB_ERR_INVALID;
    rc = read_block(&r, &h, 8, tz);
    if (rc != PB_OK)
        return rc;
    /* Footer: "\n<POSIX TZ string>\n"; empty means "no rule, the last type stays". */
    if (r.p >= r.end || *r.p != '\n')
        return PB_ERR_INVALID;
    const unsigned char *nl = memchr(r.p + 1, '\n', (size_t)(r.end - r.p - 1));
    if (!nl || nl - r.p - 1 > 255)
        return PB_ERR_INVALID;
    if (nl == r.p + 1)
        return PB_OK;
    char footer[256];
    memcpy(footer, r.p + 1, (size_t)(nl - r.p - 1));
    footer[nl - r.p - 1] = '\0';
    return pb_tz_rule_parse(footer, &tz->rule);
}

void pb_tz_free(struct pb_tz *tz)
{
    if (!tz)
        return;
    free(tz->name);
    free(tz->trans);
    free(tz->idx);
    free(tz->types);
    free(tz);
}

int pb_tz_load_file(const char *path, const char *name, struct pb_tz **out, char *err,
                    size_t errlen)
{
    int rc = PB_OK;
    unsigned char *buf = NULL;
    struct pb_tz *tz = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = errno == ENOENT || errno == ENOTDIR ? PB_ERR_UNKNOWN : PB_ERR_INVALID;
        snprintf(err, errlen, "unknown time zone \"%s\" (%s: %s)", name, path, strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TZIF_MAX_SIZE) {
        rc = PB_ERR_INVALID;
        snprintf(err, errlen, "time zone \"%s\": %s is not a valid TZif file", name, path);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    tz = calloc(1, sizeof *tz);
    if (!buf || !tz || !(tz->name = strdup(name))) {
        rc = PB_ERR_NOMEM;
        snprintf(err, errlen, "out of memory loading time zone \"%s\"", name);
        goto out;
    }
    size_t len = fread(buf, 1, (size_t)st.st_size, f);
    rc = ferror(f) ? PB_ERR_INVALID : parse_tzif(buf, len, tz);
    if (rc == PB_ERR_INVALID)
        snprintf(err, errlen, "time zone \"%s\": %s is not a valid TZif file", name, path);
    else if (rc != PB_OK)
        snprintf(err, errlen, "out of memory loading time zone \"%s\"", name);
out:
    if (f)
        fclose(f);
    free(buf);
    if (rc != PB_OK) {
        pb_tz_free(tz);
        tz = NULL;
    }
    *out = tz;
    return rc;
}

const char *pb_tz_name(const struct pb_tz *tz)
{
    return tz->name;
}

/* ---- The cache -------------------------------------------------------------------------- */

/* Open addressing, names hashed: a roster looks its people's zones up by name many times. */
static struct {
    pthread_mutex_t lock;
    struct pb_tz **slots;
    size_t cap, count;
    char dir[256];
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, "/usr/share/zoneinfo"};

static size_t hash_name(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct pb_tz **find_slot(struct pb_tz **slots, size_t cap, const char *name)
{
    size_t i = hash_name(name) & (cap - 1);
    while (slots[i] && strcmp(slots[i]->name, name) != 0)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

static int cache_add(struct pb_tz *tz)
{
    if ((cache.count + 1) * 2 > cache.cap) {
        size_t cap = cache.cap ? cache.cap * 2 : 64;
        struct pb_tz **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return PB_ERR_NOMEM;
        for (size_t i = 0; i < cache.cap; i++)
            if (cache.slots[i])
                *find_slot(slots, cap, cache.slots[i]->name) = cache.slots[i];
        free(cache.slots);
        cache.slots = slots;
        cache.cap = cap;
    }
    *find_slot(cache.slots, cache.cap, tz->name) = tz;
    cache.count++;
    return PB_OK;
}

static void clear_locked(void)
{
    for (size_t i = 0; i < cache.cap; i++)
        pb_tz_free(cache.slots[i]);
    free(cache.slots);
    cache.slots = NULL;
    cache.cap = cache.count = 0;
}

void pb_tz_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    clear_locked();
    pthread_mutex_unlock(&cache.lock);
}

void pb_tz_set_dir(const char *dir)
{
    pthread_mutex_lock(&cache.lock);
    clear_locked();
    snprintf(cache.dir, sizeof cache.dir, "%s", dir ? dir : "/usr/share/zoneinfo");
    pthread_mutex_unlock(&cache.lock);
}

/* A name is a relative path under the zone directory and nothing else. */
static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 64 || name[0] == '/' || name[0] == '.' || strstr(name, "..") ||
        strstr(name, "//") || name[n - 1] == '/')
        return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-.") == n;
}

int pb_tz_get(const char *name, const struct pb_tz **out, char *err, size_t errlen)
{
    int rc = PB_OK;
    *out = NULL;
    if (!name || !name_ok(name)) {
        snprintf(err, errlen,
                 "invalid time zone name \"%s\" (expected an IANA name such as "
                 "Europe/Berlin)",
                 name ? name : "");
        return PB_ERR_INVALID;
    }
    pthread_mutex_lock(&cache.lock);
    if (cache.cap) {
        struct pb_tz *hit = *find_slot(cache.slots, cache.cap, name);
        if (hit) {
            *out = hit;
            goto out;
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", cache.dir, name);
    struct pb_tz *tz;
    rc = pb_tz_load_file(path, name, &tz, err, errlen);
    if (rc != PB_OK)
        goto out;
    rc = cache_add(tz);
    if (rc != PB_OK) {
        snprintf(err, errlen, "out of memory caching time zone \"%s\"", name);
        pb_tz_free(tz);
        goto out;
    }
    *out = tz;
out:
    pthread_mutex_unlock(&cache.lock);
    return rc;
}

/* ---- Conversions ------------------------------------------------------------------------ */

/* The type in force at t (seconds) and the period [start, end) it stays in force. */
static const struct pb_tz_type *period(const struct pb_tz *tz, int64_t t, int64_t *start,
                                       int64_t *end)
{
    size_t n = tz->n_trans;
    if (n == 0 && tz->rule.present)
        return pb_tz_rule_period(&tz->rule, t, start, end);
    if (n == 0 || t < tz->trans[0]) { /* RFC 8536: type 0 before the first transition */
        *start = INT64_MIN;
        *end = n ? tz->trans[0] : INT64_MAX;
        return &tz->types[0];
    }
    if (t >= tz->trans[n - 1] && tz->rule.present) {
        const struct pb_tz_type *ty = pb_tz_rule_period(&tz->rule, t, start, end);
        if (*start < tz->trans[n - 1])
            *start = tz->trans[n - 1];
        return ty;
    }
    size_t lo = 0, hi = n; /* last transition <= t */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    *start = tz->trans[lo];
    *end = lo + 1 < n ? tz->trans[lo + 1] : INT64_MAX;
    return &tz->types[tz->idx[lo]];
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int32_t pb_tz_offset(const struct pb_tz *tz, int64_t utc_ms)
{
    int64_t s, e;
    return period(tz, floor_div(utc_ms, 1000), &s, &e)->off;
}

void pb_tz_to_local(const struct pb_tz *tz, int64_t utc_ms, struct pb_tz_local *out)
{
    int64_t s, e;
    const struct pb_tz_type *ty = period(tz, floor_div(utc_ms, 1000), &s, &e);
    int64_t local_ms = utc_ms + (int64_t)ty->off * 1000;
    int64_t days = floor_div(local_ms, 86400000);
    int64_t ms_of_day = local_ms - days * 86400000;
    memset(out, 0, sizeof *out);
    pb_tz_civil_from_days(days, &out->year, &out->month, &out->day);
    out->days = days;
    out->hour = (int)(ms_of_day / 3600000);
    out->min = (int)(ms_of_day / 60000 % 60);
    out->sec = (int)(ms_of_day / 1000 % 60);
    out->ms = (int)(ms_of_day % 1000);
    out->wday = pb_tz_weekday(days);
    out->yday = (int)(days - pb_tz_days_from_civil(out->year, 1, 1));
    out->offset_s = ty->off;
    out->is_dst = ty->dst;
    memcpy(out->abbr, ty->abbr, sizeof out->abbr);
}

int64_t pb_tz_from_local_days(const struct pb_tz *tz, int64_t days, int sec_of_day)
{
    int64_t wall = days * 86400 + sec_of_day;
    /* Walk the periods from the earliest instant that could show this wall time: the first
     * period in which it falls is the earlier instant of an overlap; a boundary it falls
     * across (before it in the new offset, after it in the old) is a gap. */
    int64_t t = wall - MAX_OFFSET_S;
    const struct pb_tz_type *prev = NULL;
    for (;;) {
        int64_t a, b;
        const struct pb_tz_type *ty = period(tz, t, &a, &b);
        int64_t cand = wall - ty->off;
        if (cand >= a && cand < b)
            return cand * 1000;
        if (prev && cand < a && wall - prev->off >= a)
            return (wall - prev->off) * 1000; /* gap: read with the offset before it */
        if (b == INT64_MAX || b > wall + MAX_OFFSET_S)
            break;
        prev = ty;
        t = b;
    }
    return (wall - pb_tz_offset(tz, wall * 1000)) * 1000; /* unreachable with sane offsets */
}

int pb_tz_from_local(const struct pb_tz *tz, int64_t year, int month, int day, int hour, int min,
                     int sec, int64_t *utc_ms)
{
    if (month < 1 || month > 12 || day < 1 || day > pb_tz_month_days(year, month) || hour < 0 ||
        hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 59)
        return PB_ERR_INVALID;
    *utc_ms = pb_tz_from_local_days(tz, pb_tz_days_from_civil(year, month, day),
                                    hour * 3600 + min * 60 + sec);
    return PB_OK;
}

/*
 * Time zones, read from the system's compiled IANA files (/usr/share/zoneinfo/<Name>, TZif
 * versions 1 to 3) without setenv("TZ")/tzset()/localtime(): those share one global zone per
 * process, are slow to switch, and are not thread-safe, while a roster has hundreds of zones.
 * A zone is loaded once by name and cached for the life of the process (or until
 * pb_tz_cache_clear()); a loaded zone is immutable, so pointers to it may be shared freely.
 *
 * Also here: the civil calendar (proleptic Gregorian) as day numbers, which every date
 * computation in the daemon uses instead of libc's time functions.
 *
 * Times are int64 ms since the Unix epoch, UTC, leap seconds not counted (POSIX time), within
 * +-PB_TZ_MAX_MS (about 31,000 years either side of 1970; callers check input from outside).
 * Zones with leap-second tables ("right/...") are read as if they had none.
 */
#ifndef PB_TZ_H
#define PB_TZ_H

#include <stddef.h>
#include <stdint.h>

#define PB_TZ_MAX_MS 1000000000000000LL /* 1e15 ms */

/* ---- Civil dates ---------------------------------------------------------------------- */

/* Day number of a date: days since 1970-01-01 (negative before). month 1-12, day 1-31;
 * out-of-range days and months are not normalised: validate first with pb_tz_month_days(). */
int64_t pb_tz_days_from_civil(int64_t year, int month, int day);
void pb_tz_civil_from_days(int64_t days, int64_t *year, int *month, int *day);
int pb_tz_weekday(int64_t days); /* 0 = Sunday ... 6 = Saturday */
int pb_tz_is_leap(int64_t year);
int pb_tz_month_days(int64_t year, int month); /* 28 to 31; 0 for a month out of 1-12 */

/* ---- Zones ------------------------------------------------------------------------------ */

struct pb_tz; /* opaque, immutable once loaded */

/* A local time: the wall clock and calendar in a zone at one instant. */
struct pb_tz_local {
    int64_t year;
    int month, day;     /* 1-12, 1-31 */
    int hour, min, sec; /* 0-23, 0-59, 0-59 */
    int ms;             /* 0-999 */
    int wday;           /* 0 = Sunday ... 6 = Saturday */
    int yday;           /* 0-365 */
    int64_t days;       /* pb_tz_days_from_civil(year, month, day) */
    int32_t offset_s;   /* local minus UTC, seconds: +19800 for Asia/Kolkata */
    int is_dst;
    char abbr[8]; /* "CEST", "+0545"; truncated if longer */
};

/*
 * The zone named `name` ("Europe/Berlin", "UTC"), loading and caching it on first use.
 * Names are checked (no "..", no leading '/', letters, digits and "/_+-" only) before any file
 * is opened. An unknown or unreadable zone fails with PB_ERR_UNKNOWN or PB_ERR_INVALID and a
 * message in `err` naming the zone and why. Thread-safe; the result stays valid until
 * pb_tz_cache_clear().
 */
int pb_tz_get(const char *name, const struct pb_tz **out, char *err, size_t errlen);

/* Where zone files are read from; NULL restores /usr/share/zoneinfo. Clears the cache. */
void pb_tz_set_dir(const char *dir);
/* Frees every cached zone. No pointer from pb_tz_get() may be used afterwards. */
void pb_tz_cache_clear(void);

/* Loads one TZif file without caching (tests, tools); free with pb_tz_free(). */
int pb_tz_load_file(const char *path, const char *name, struct pb_tz **out, char *err,
                    size_t errlen);
void pb_tz_free(struct pb_tz *tz);

const char *pb_tz_name(const struct pb_tz *tz);

/* UTC offset in seconds (local minus UTC) at an instant. */
int32_t pb_tz_offset(const struct pb_tz *tz, int64_t utc_ms);

/* The local time at an instant. */
void pb_tz_to_local(const struct pb_tz *tz, int64_t utc_ms, struct pb_tz_local *out);

/*
 * The instant at which the wall clock in `tz` shows year-month-day hour:min:sec.
 *
 * The wall time need not exist exactly once; the rule is:
 *  - Gap (spring forward, or a skipped day): a wall time that does not exist is read with the
 *    offset in force just before the change, so it moves forward by the length of the gap:
 *    02:30 on a day New York goes from 02:00 EST to 03:00 EDT is 03:30 EDT; any time on
 *    2011-12-30 in Pacific/Apia (a skipped day) is the same time on 2011-12-31.
 *  - Overlap (fall back): a wall time that exists twice is the first, earlier instant:
 *    01:30 on New York's fall-back day is 01:30 EDT, not 01:30 EST.
 * month 1-12, day 1-31, hour 0-23, min 0-59, sec 0-59; returns PB_ERR_INVALID for a date that
 * does not exist in the calendar (February 30th) or a field out of range.
 */
int pb_tz_from_local(const struct pb_tz *tz, int64_t year, int month, int day, int hour, int min,
                     int sec, int64_t *utc_ms);

/* Same, from a day number and a second of the day (0 to 86399). Cannot fail. */
int64_t pb_tz_from_local_days(const struct pb_tz *tz, int64_t days, int sec_of_day);

#endif

/* Time zones read from TZif files: civil-date arithmetic, loading and the cache, instants to
 * local time and back with the gap and overlap rule, in zones with odd offsets (Kathmandu),
 * half-hour daylight time (Lord Howe) and a skipped day (Apia), the POSIX footer far in the
 * future, hand-made TZif files of version 1 and 3, and random round trips checked against
 * glibc's localtime_r() as an independent oracle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pulsebot/plugin.h"
#include "tz.h"

static int64_t utc(int64_t y, int mo, int d, int h, int mi, int s)
{
    return (pb_tz_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s) * 1000;
}

static const struct pb_tz *zone(const char *name)
{
    const struct pb_tz *tz = NULL;
    char err[256];
    int rc = pb_tz_get(name, &tz, err, sizeof err);
    if (rc != PB_OK)
        fail_msg("%s", err);
    return tz;
}

static int64_t wall(const char *name, int64_t y, int mo, int d, int h, int mi)
{
    int64_t t;
    assert_int_equal(pb_tz_from_local(zone(name), y, mo, d, h, mi, 0, &t), PB_OK);
    return t;
}

static void expect_local(const char *name, int64_t t, int64_t y, int mo, int d, int h, int mi,
                         int32_t off, const char *abbr)
{
    struct pb_tz_local l;
    pb_tz_to_local(zone(name), t, &l);
    assert_int_equal(l.year, y);
    assert_int_equal(l.month, mo);
    assert_int_equal(l.day, d);
    assert_int_equal(l.hour, h);
    assert_int_equal(l.min, mi);
    assert_int_equal(l.offset_s, off);
    assert_string_equal(l.abbr, abbr);
}

static void test_civil(void **state)
{
    assert_int_equal(pb_tz_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(pb_tz_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(pb_tz_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(pb_tz_weekday(pb_tz_days_from_civil(2024, 2, 29)), 4); /* Thursday */
    assert_int_equal(pb_tz_weekday(pb_tz_days_from_civil(1900, 1, 1)), 1);  /* Monday */
    assert_true(pb_tz_is_leap(2000) && pb_tz_is_leap(2024) && pb_tz_is_leap(1600));
    assert_false(pb_tz_is_leap(1900) || pb_tz_is_leap(2100) || pb_tz_is_leap(2023));
    assert_int_equal(pb_tz_month_days(2024, 2), 29);
    assert_int_equal(pb_tz_month_days(2100, 2), 28);
    assert_int_equal(pb_tz_month_days(2023, 4), 30);
    assert_int_equal(pb_tz_month_days(2023, 13), 0);
    /* Every day over 1,200 years, both directions, against a plain day-by-day count. */
    int64_t y = 1400;
    int m = 1, d = 1;
    for (int64_t n = pb_tz_days_from_civil(1400, 1, 1); y < 2600; n++) {
        int64_t yy;
        int mm, dd;
        pb_tz_civil_from_days(n, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d || pb_tz_days_from_civil(y, m, d) != n)
            fail_msg("day %lld: %lld-%d-%d, expected %lld-%d-%d", (long long)n, (long long)yy, mm,
                     dd, (long long)y, m, d);
        if (++d > pb_tz_month_days(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    /* And against glibc's timegm for a few far dates. */
    struct tm tm = {.tm_year = 2400 - 1900, .tm_mon = 1, .tm_mday = 29};
    assert_int_equal(timegm(&tm) / 86400, pb_tz_days_from_civil(2400, 2, 29));
}

static void test_cache_and_errors(void **state)
{
    const struct pb_tz *a, *b;
    char err[256] = "";
    assert_int_equal(pb_tz_get("Europe/Berlin", &a, err, sizeof err), PB_OK);
    assert_int_equal(pb_tz_get("Europe/Berlin", &b, err, sizeof err), PB_OK);
    assert_ptr_equal(a, b);
    assert_string_equal(pb_tz_name(a), "Europe/Berlin");
    assert_int_equal(pb_tz_get("Mars/Olympus_Mons", &a, err, sizeof err), PB_ERR_UNKNOWN);
    assert_null(a);
    assert_non_null(strstr(err, "unknown time zone \"Mars/Olympus_Mons\""));
    assert_int_equal(pb_tz_get("../../etc/passwd", &a, err, sizeof err), PB_ERR_INVALID);
    assert_non_null(strstr(err, "invalid time zone name"));
    assert_int_equal(pb_tz_get("/etc/passwd", &a, err, sizeof err), PB_ERR_INVALID);
    assert_int_equal(pb_tz_get("", &a, err, sizeof err), PB_ERR_INVALID);
    /* A file that is not TZif. */
    assert_int_equal(pb_tz_get("zone1970.tab", &a, err, sizeof err), PB_ERR_INVALID);
    assert_non_null(strstr(err, "not a valid TZif file"));
    /* Many zones: the table grows and keeps what it had. */
    const char *names[] = {"UTC",
                           "Etc/GMT+5",
                           "Asia/Tokyo",
                           "America/Sao_Paulo",
                           "Africa/Casablanca",
                           "America/St_Johns",
                           "Asia/Kolkata"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        assert_string_equal(pb_tz_name(zone(names[i])), names[i]);
    assert_ptr_equal(zone("Europe/Berlin"), b);
    assert_int_equal(pb_tz_offset(zone("Etc/GMT+5"), 0), -5 * 3600); /* POSIX sign flip */
    assert_int_equal(pb_tz_offset(zone("Asia/Kolkata"), utc(2024, 1, 1, 0, 0, 0)), 19800);
    assert_int_equal(pb_tz_from_local(b, 2023, 2, 29, 9, 0, 0, &(int64_t){0}), PB_ERR_INVALID);
    assert_int_equal(pb_tz_from_local(b, 2024, 1, 1, 24, 0, 0, &(int64_t){0}), PB_ERR_INVALID);
}

static void test_new_york(void **state)
{
    const char *z = "America/New_York";
    /* Spring forward 2024-03-10 02:00 EST -> 03:00 EDT. */
    expect_local(z, utc(2024, 3, 10, 6, 59, 0), 2024, 3, 10, 1, 59, -5 * 3600, "EST");
    expect_local(z, utc(2024, 3, 10, 7, 0, 0), 2024, 3, 10, 3, 0, -4 * 3600, "EDT");
    assert_true(wall(z, 2024, 3, 10, 2, 30) == utc(2024, 3, 10, 7, 30, 0)); /* gap: 03:30 EDT */
    assert_true(wall(z, 2024, 3, 10, 2, 0) == utc(2024, 3, 10, 7, 0, 0));
    assert_true(wall(z, 2024, 3, 10, 3, 0) == utc(2024, 3, 10, 7, 0, 0));
    assert_true(wall(z, 2024, 3, 10, 1, 59) == utc(2024, 3, 10, 6, 59, 0));
    /* Fall back 2024-11-03 02:00 EDT -> 01:00 EST: 01:30 twice, the first (EDT) wins. */
    assert_true(wall(z, 2024, 11, 3, 1, 30) == utc(2024, 11, 3, 5, 30, 0));
    expect_local(z, utc(2024, 11, 3, 6, 30, 0), 2024, 11, 3, 1, 30, -5 * 3600, "EST");
    assert_true(wall(z, 2024, 11, 3, 2, 30) == utc(2024, 11, 3, 7, 30, 0));
    assert_true(wall(z, 2024, 11, 3, 0, 59) == utc(2024, 11, 3, 4, 59, 0));
    /* Beyond the table: the footer's rule. */
    expect_local(z, utc(2200, 7, 1, 12, 0, 0), 2200, 7, 1, 8, 0, -4 * 3600, "EDT");
    expect_local(z, utc(2200, 12, 1, 12, 0, 0), 2200, 12, 1, 7, 0, -5 * 3600, "EST");
    assert_true(wall(z, 2200, 3, 9, 2, 30) == utc(2200, 3, 9, 7, 30, 0)); /* 2nd Sun of March */
    /* Before the first transition: local mean time. */
    expect_local(z, utc(1850, 1, 1, 12, 0, 0), 1850, 1, 1, 7, 3, -17762, "LMT");
}

static void test_berlin(void **state)
{
    const char *z = "Europe/Berlin";
    assert_true(wall(z, 2024, 3, 31, 2, 30) == utc(2024, 3, 31, 1, 30, 0)); /* 03:30 CEST */
    expect_local(z, utc(2024, 3, 31, 1, 30, 0), 2024, 3, 31, 3, 30, 7200, "CEST");
    assert_true(wall(z, 2024, 10, 27, 2, 30) == utc(2024, 10, 27, 0, 30, 0)); /* CEST */
    expect_local(z, utc(2024, 10, 27, 1, 30, 0), 2024, 10, 27, 2, 30, 3600, "CET");
    assert_true(wall(z, 2024, 10, 27, 3, 0) == utc(2024, 10, 27, 2, 0, 0));
    expect_local(z, utc(2100, 1, 1, 0, 0, 0), 2100, 1, 1, 1, 0, 3600, "CET");
}

static void test_odd_offsets(void **state)
{
    /* Kathmandu: +05:45 */
    expect_local("Asia/Kathmandu", utc(2024, 6, 1, 12, 0, 0), 2024, 6, 1, 17, 45, 20700, "+0545");
    assert_true(wall("Asia/Kathmandu", 2024, 6, 1, 9, 0) == utc(2024, 6, 1, 3, 15, 0));
    /* Lord Howe: +10:30, and +11 in summer: a 30-minute gap and overlap. */
    const char *lh = "Australia/Lord_Howe";
    expect_local(lh, utc(2024, 10, 5, 15, 29, 0), 2024, 10, 6, 1, 59, 37800, "+1030");
    expect_local(lh, utc(2024, 10, 5, 15, 30, 0), 2024, 10, 6, 2, 30, 39600, "+11");
    assert_true(wall(lh, 2024, 10, 6, 2, 15) == utc(2024, 10, 5, 15, 45, 0)); /* 02:45 +11 */
    assert_true(wall(lh, 2024, 10, 6, 2, 30) == utc(2024, 10, 5, 15, 30, 0));
    assert_true(wall(lh, 2024, 4, 7, 1, 45) == utc(2024, 4, 6, 14, 45, 0)); /* first: +11 */
    expect_local(lh, utc(2024, 4, 6, 15, 15, 0), 2024, 4, 7, 1, 45, 37800, "+1030");
    assert_true(wall(lh, 2024, 4, 7, 2, 0) == utc(2024, 4, 6, 15, 30, 0));
    /* Apia skipped 2011-12-30: from 23:59:59 on the 29th (-10) to the 31st (+14). */
    const char *ap = "Pacific/Apia";
    expect_local(ap, utc(2011, 12, 30, 9, 59, 0), 2011, 12, 29, 23, 59, -36000, "-10");
    expect_local(ap, utc(2011, 12, 30, 10, 0, 0), 2011, 12, 31, 0, 0, 50400, "+14");
    int64_t t = wall(ap, 2011, 12, 30, 9, 0); /* a day that never was: moves by the gap */
    assert_true(t == utc(2011, 12, 30, 19, 0, 0));
    expect_local(ap, t, 2011, 12, 31, 9, 0, 50400, "+14");
    assert_true(wall(ap, 2011, 12, 31, 9, 0) == t);
    assert_true(wall(ap, 2011, 12, 29, 9, 0) == utc(2011, 12, 29, 19, 0, 0));
    /* Today's Apia: no daylight time since 2021, footer "<+13>-13". */
    expect_local(ap, utc(2030, 1, 1, 0, 0, 0), 2030, 1, 1, 13, 0, 46800, "+13");
}

/* ---- Hand-made TZif files ----------------------------------------------------------------- */

static void put32(unsigned char **p, uint32_t v)
{
    (*p)[0] = (unsigned char)(v >> 24);
    (*p)[1] = (unsigned char)(v >> 16);
    (*p)[2] = (unsigned char)(v >> 8);
    (*p)[3] = (unsigned char)v;
    *p += 4;
}

static void put_header(unsigned char **p, char version, uint32_t timecnt, uint32_t typecnt,
                       uint32_t charcnt)
{
    memcpy(*p, "TZif", 4);
    (*p)[4] = (unsigned char)version;
    memset(*p + 5, 0, 15);
    *p += 20;
    put32(p, 0); /* isutcnt */
    put32(p, 0); /* isstdcnt */
    put32(p, 0); /* leapcnt */
    put32(p, timecnt);
    put32(p, typecnt);
    put32(p, charcnt);
}

/* Two types (std "AAA" at `std_off`, dst "BBB" at `std_off`+3600), `n` transitions. */
static size_t make_tzif(unsigned char *buf, char version, const int64_t *trans, const uint8_t *idx,
                        uint32_t n, int32_t std_off, const char *footer)
{
    unsigned char *p = buf;
    int blocks = version == 0 ? 1 : 2;
    for (int b = 0; b < blocks; b++) {
        put_header(&p, version, n, 2, 8);
        for (uint32_t i = 0; i < n; i++) {
            if (b == 1)
                put32(&p, (uint32_t)((uint64_t)trans[i] >> 32));
            put32(&p, (uint32_t)trans[i]);
        }
        for (uint32_t i = 0; i < n; i++)
            *p++ = idx[i];
        put32(&p, (uint32_t)std_off);
        *p++ = 0;
        *p++ = 0;
        put32(&p, (uint32_t)(std_off + 3600));
        *p++ = 1;
        *p++ = 4;
        memcpy(p, "AAA\0BBB\0", 8);
        p += 8;
    }
    if (footer) {
        size_t n_f = strlen(footer);
        *p++ = '\n';
        memcpy(p, footer, n_f);
        p += n_f;
        *p++ = '\n';
    }
    return (size_t)(p - buf);
}

static struct pb_tz *load_bytes(const unsigned char *buf, size_t len, int expect)
{
    char path[] = "/tmp/pb_tz_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
    struct pb_tz *tz = NULL;
    char err[256];
    assert_int_equal(pb_tz_load_file(path, "Test/Zone", &tz, err, sizeof err), expect);
    unlink(path);
    return tz;
}

static void test_handmade_files(void **state)
{
    unsigned char buf[1024];
    int64_t trans[2] = {1000000, 2000000};
    uint8_t idx[2] = {1, 0};
    /* Version 1: 32-bit times only, no footer. */
    struct pb_tz *tz = load_bytes(buf, make_tzif(buf, 0, trans, idx, 2, 3600, NULL), PB_OK);
    assert_int_equal(pb_tz_offset(tz, 999999000), 3600);
    assert_int_equal(pb_tz_offset(tz, 1000000000), 7200);
    assert_int_equal(pb_tz_offset(tz, 2000000000), 3600);
    struct pb_tz_local l;
    pb_tz_to_local(tz, 1500000000, &l);
    assert_string_equal(l.abbr, "BBB");
    pb_tz_free(tz);
    /* Version 3 with a footer in daylight time all year (a v3 rule time of 25:00). */
    tz = load_bytes(buf, make_tzif(buf, '3', trans, idx, 2, -5 * 3600, "EST5EDT4,0/0,J365/25"),
                    PB_OK);
    for (int y = 2000; y < 2040; y += 3) {
        assert_int_equal(pb_tz_offset(tz, utc(y, 1, 1, 6, 0, 0)), -4 * 3600);
        assert_int_equal(pb_tz_offset(tz, utc(y, 7, 1, 0, 0, 0)), -4 * 3600);
        assert_int_equal(pb_tz_offset(tz, utc(y, 12, 31, 23, 0, 0)), -4 * 3600);
    }
    pb_tz_free(tz);
    /* A v2 footer with a 167-hour rule time and Jn days (Feb 29 never counted). */
    tz = load_bytes(buf, make_tzif(buf, '2', trans, idx, 2, 0, "<+00>0<+01>-1,J60/-1,M10.5.0/167"),
                    PB_OK);
    /* J60 is March 1st even in a leap year; the change is at 23:00 on Feb 28/29. */
    assert_int_equal(pb_tz_offset(tz, utc(2024, 2, 29, 22, 59, 0)), 0);
    assert_int_equal(pb_tz_offset(tz, utc(2024, 2, 29, 23, 0, 0)), 3600);
    /* Last Sunday of October 2024 is the 27th; +167h (6 days 23 hours) is Nov 2 23:00 local. */
    assert_int_equal(pb_tz_offset(tz, utc(2024, 11, 2, 21, 59, 0)), 3600);
    assert_int_equal(pb_tz_offset(tz, utc(2024, 11, 2, 22, 0, 0)), 0);
    pb_tz_free(tz);
    /* Damaged: transitions out of order; truncated; a type index out of range; bad footer. */
    int64_t bad[2] = {2000000, 1000000};
    load_bytes(buf, make_tzif(buf, '2', bad, idx, 2, 0, ""), PB_ERR_INVALID);
    size_t len = make_tzif(buf, '2', trans, idx, 2, 0, "");
    load_bytes(buf, len - 10, PB_ERR_INVALID);
    uint8_t bad_idx[2] = {1, 7};
    load_bytes(buf, make_tzif(buf, '2', trans, bad_idx, 2, 0, ""), PB_ERR_INVALID);
    load_bytes(buf, make_tzif(buf, '2', trans, idx, 2, 0, "XX5"), PB_ERR_INVALID);
    load_bytes(buf, make_tzif(buf, '2', trans, idx, 2, 0, "EST5EDT,M13.1.0,M11.1.0"),
               PB_ERR_INVALID);
    memcpy(buf, "TZxf", 4);
    load_bytes(buf, len, PB_ERR_INVALID);
}

/* ---- Against glibc ------------------------------------------------------------------------ */

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_oracle_round_trips(void **state)
{
    static const char *const zones[] = {
        "America/New_York",   "Europe/Berlin",      "Australia/Lord_Howe", "Asia/Kathmandu",
        "Pacific/Apia",       "America/St_Johns",   "Europe/London",       "Africa/Casablanca",
        "America/Santiago",   "Asia/Tehran",        "Pacific/Chatham",     "America/Sao_Paulo",
        "Australia/Adelaide", "Europe/Dublin",      "America/Havana",      "Asia/Gaza",
        "Antarctica/Troll",   "Pacific/Kiritimati", "Europe/Moscow",       "UTC"};
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    int64_t lo = utc(1900, 1, 1, 0, 0, 0) / 1000, hi = utc(2150, 1, 1, 0, 0, 0) / 1000;
    long checked = 0, round_trips = 0;
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        const struct pb_tz *tz = zone(zones[z]);
        char env[80];
        snprintf(env, sizeof env, ":%s", zones[z]);
        setenv("TZ", env, 1); /* the oracle only: the module never does this */
        tzset();
        for (int i = 0; i < 4000; i++) {
            /* Half the samples in 1970-2040, where the rules are dense; some on the second. */
            int64_t s = i % 2 ? lo + (int64_t)(next_rand() % (uint64_t)(hi - lo))
                              : (int64_t)(next_rand() % 2208988800ULL);
            time_t tt = (time_t)s;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            struct pb_tz_local l;
            pb_tz_to_local(tz, s * 1000 + 123, &l);
            if (l.year != tm.tm_year + 1900 || l.month != tm.tm_mon + 1 || l.day != tm.tm_mday ||
                l.hour != tm.tm_hour || l.min != tm.tm_min || l.sec != tm.tm_sec ||
                l.offset_s != tm.tm_gmtoff || l.is_dst != (tm.tm_isdst > 0) ||
                l.wday != tm.tm_wday || l.yday != tm.tm_yday || l.ms != 123 ||
                strncmp(l.abbr, tm.tm_zone, sizeof l.abbr - 1) != 0)
                fail_msg("%s at %lld: %lld-%02d-%02d %02d:%02d:%02d %+d %s, glibc says "
                         "%d-%02d-%02d %02d:%02d:%02d %+ld %s",
                         zones[z], (long long)s, (long long)l.year, l.month, l.day, l.hour, l.min,
                         l.sec, l.offset_s, l.abbr, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_gmtoff, tm.tm_zone);
            checked++;
            /* Back: the same instant, or for the second of two equal wall times the first. */
            int64_t back;
            assert_int_equal(
                pb_tz_from_local(tz, l.year, l.month, l.day, l.hour, l.min, l.sec, &back), PB_OK);
            back += l.ms;
            if (back != s * 1000 + 123) {
                struct pb_tz_local l2;
                pb_tz_to_local(tz, back, &l2);
                assert_true(back < s * 1000 + 123);
                assert_true(l2.days == l.days && l2.hour == l.hour && l2.min == l.min &&
                            l2.sec == l.sec);
            } else {
                round_trips++;
            }
        }
    }
    if (old) {
        setenv("TZ", old, 1);
        free(old);
    } else {
        unsetenv("TZ");
    }
    tzset();
    assert_true(checked == 80000);
    assert_true(round_trips > 79000); /* overlaps are rare */
}

static int teardown(void **state)
{
    pb_tz_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil),
        cmocka_unit_test(test_cache_and_errors),
        cmocka_unit_test(test_new_york),
        cmocka_unit_test(test_berlin),
        cmocka_unit_test(test_odd_offsets),
        cmocka_unit_test(test_handmade_files),
        cmocka_unit_test(test_oracle_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}

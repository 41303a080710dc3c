/*
 * What the parts of the time-zone module share: the in-memory shape of a zone and the POSIX TZ
 * rule (a TZif file's footer) that gives its offsets after the last transition in the table.
 * Not for use outside daemon/tz*.c.
 */
#ifndef PB_TZ_INTERNAL_H
#define PB_TZ_INTERNAL_H

#include <stdint.h>

#include "tz.h"

struct pb_tz_type {
    int32_t off; /* seconds east of UTC */
    uint8_t dst;
    char abbr[8];
};

/* One end of daylight time in a POSIX rule: Jn, n or Mm.w.d, and the local time of day. */
struct pb_tz_when {
    char kind; /* 'J': day 1-365 never counting Feb 29; 'N': day 0-365; 'M': month/week/day */
    int n, month, week, wday;
    int32_t time; /* seconds after local midnight; -167h to +167h (TZif v3) */
};

struct pb_tz_rule {
    int present;
    int has_dst;
    struct pb_tz_type std, dst;
    struct pb_tz_when start, end; /* start of daylight time (in std), end (in dst) */
};

struct pb_tz {
    char *name;
    size_t n_trans;
    int64_t *trans; /* seconds, increasing */
    uint8_t *idx;   /* type after each transition */
    size_t n_types;
    struct pb_tz_type *types;
    struct pb_tz_rule rule;
};

/* Parses a POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"); 0 or PB_ERR_INVALID. */
int pb_tz_rule_parse(const char *s, struct pb_tz_rule *r);

/* The type in force at `t` (seconds) under the rule and the bounds [start, end) of the period
 * during which it stays in force (INT64_MIN / INT64_MAX when unbounded). */
const struct pb_tz_type *pb_tz_rule_period(const struct pb_tz_rule *r, int64_t t, int64_t *start,
                                           int64_t *end);

#endif

/*
 * The one clock of the daemon. Everything that asks "what time is it" asks here, so tests can
 * drive schedules, windows and escalations without waiting: they install a fake clock.
 */
#ifndef PB_CLOCK_H
#define PB_CLOCK_H

#include <stdint.h>

struct pb_clock {
    int64_t (*now_ms)(void *arg); /* wall clock, ms since the epoch */
    void *arg;
};

int64_t pb_now_ms(void);
/* Install a clock; NULL restores the system clock. */
void pb_clock_set(const struct pb_clock *clock);

/* A clock a test moves by hand. */
struct pb_fake_clock {
    struct pb_clock clock;
    int64_t now;
};
void pb_fake_clock_init(struct pb_fake_clock *fc, int64_t start_ms);

#endif

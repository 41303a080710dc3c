/* The daemon's clock: the system's wall clock, or one a test installs. */
#include "clock.h"

#include <time.h>

static int64_t system_now_ms(void *arg)
{
    (void)arg;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct pb_clock system_clock = {system_now_ms, 0};
static const struct pb_clock *current = &system_clock;

int64_t pb_now_ms(void)
{
    return current->now_ms(current->arg);
}

void pb_clock_set(const struct pb_clock *clock)
{
    current = clock ? clock : &system_clock;
}

static int64_t fake_now_ms(void *arg)
{
    return ((struct pb_fake_clock *)arg)->now;
}

void pb_fake_clock_init(struct pb_fake_clock *fc, int64_t start_ms)
{
    fc->clock.now_ms = fake_now_ms;
    fc->clock.arg = fc;
    fc->now = start_ms;
}

/* Crash points (see crash_point.h). */
#include "crash_point.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

void pb_crash_point(const char *name)
{
    static const char *wanted;
    static int looked;
    if (!looked) {
        wanted = getenv("PULSEBOT_CRASH_POINT");
        looked = 1;
    }
    if (!wanted || !wanted[0] || strcmp(wanted, name) != 0)
        return;
    pb_warn("crash", "crash point %s reached: killing the daemon as a test asked", name);
    raise(SIGKILL);
}

/*
 * Crash points for the durability tests: when $PULSEBOT_CRASH_POINT names a point, the daemon
 * kills itself with SIGKILL there, exactly as `kill -9` would, so a test can stop it between
 * two steps that no timing could reliably separate. Unset, a crash point is one comparison.
 */
#ifndef PB_CRASH_POINT_H
#define PB_CRASH_POINT_H

void pb_crash_point(const char *name);

#endif

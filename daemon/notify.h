/*
 * The systemd notify protocol (sd_notify(3)), spoken directly over $NOTIFY_SOCKET with no
 * libsystemd: READY, RELOADING, STOPPING, STATUS and WATCHDOG. Without $NOTIFY_SOCKET every
 * call is a no-op that returns 0.
 */
#ifndef PB_NOTIFY_H
#define PB_NOTIFY_H

#include <stdint.h>

int pb_notify(const char *message); /* raw: "READY=1\nSTATUS=..." */
int pb_notify_ready(const char *status);
int pb_notify_reloading(void); /* RELOADING=1 with MONOTONIC_USEC */
int pb_notify_stopping(void);
int pb_notify_status(const char *status);
int pb_notify_watchdog(void);
/* The watchdog interval in microseconds that systemd asked for, or 0 if none (checks
 * $WATCHDOG_PID against our pid). */
uint64_t pb_notify_watchdog_usec(void);

#endif

/*
 * sd_notify(3) without libsystemd: one AF_UNIX datagram per message to $NOTIFY_SOCKET. The
 * protocol is declared stable by systemd (man/notify-selfcontained-example.c). An address that
 * starts with '@' is in the abstract namespace: the '@' becomes a NUL and the address length
 * must be exact, since abstract names may contain anything, trailing NULs included.
 */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

int pb_notify(const char *message)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    if (!message)
        return PB_ERR_INVALID;

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
        pb_warn("notify", "NOTIFY_SOCKET is not a usable address");
        return PB_ERR_INVALID;
    }
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return PB_ERR;
    int rc = 0;
    ssize_t n = sendto(fd, message, strlen(message), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
    if (n != (ssize_t)strlen(message)) {
        pb_debug("notify", "sendto NOTIFY_SOCKET: %s", strerror(errno));
        rc = PB_ERR;
    }
    close(fd);
    return rc;
}

int pb_notify_ready(const char *status)
{
    if (!status)
        return pb_notify("READY=1");
    char buf[512];
    snprintf(buf, sizeof buf, "READY=1\nSTATUS=%s", status);
    return pb_notify(buf);
}

int pb_notify_reloading(void)
{
    /* MONOTONIC_USEC is what Type=notify-reload (systemd >= 253) matches the reload by; older
     * systemd ignores it. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t usec = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    char buf[96];
    snprintf(buf, sizeof buf, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64, usec);
    return pb_notify(buf);
}

int pb_notify_stopping(void)
{
    return pb_notify("STOPPING=1");
}

int pb_notify_status(const char *status)
{
    char buf[512];
    snprintf(buf, sizeof buf, "STATUS=%s", status ? status : "");
    return pb_notify(buf);
}

int pb_notify_watchdog(void)
{
    return pb_notify("WATCHDOG=1");
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

uint64_t pb_notify_watchdog_usec(void)
{
    uint64_t usec, pid;
    if (parse_u64(getenv("WATCHDOG_USEC"), &usec) != 0 || usec == 0)
        return 0;
    /* The watchdog is meant for the main process only: a child that inherited the
     * environment must not ping on its parent's behalf. */
    const char *p = getenv("WATCHDOG_PID");
    if (p && (parse_u64(p, &pid) != 0 || pid != (uint64_t)getpid()))
        return 0;
    return usec;
}

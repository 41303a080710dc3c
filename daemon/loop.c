/*
 * The daemon's one event loop: libwebsockets 4.1.6 in its default poll loop, with one-shot
 * timers on lws_sul, signals read from a signalfd that the loop adopts as a raw file, the
 * systemd watchdog pinged from a sul (so a stuck loop really stops the pings) and lws's own log
 * lines sent through pb_log. See docs/architecture.md and the event loop note for why curl's
 * sockets visit this loop instead of the other way round.
 *
 * lws callbacks relied on (internal vhost): LWS_CALLBACK_RAW_RX_FILE and
 * LWS_CALLBACK_RAW_CLOSE_FILE for the signalfd ("pb-sig"); every callback of "pb-curl" and
 * "pb-ws-client" is forwarded to the handler their module installed, and
 * LWS_CALLBACK_WSI_DESTROY (which lws 4.1 only gives to protocols[0]) is re-routed to the
 * protocol of the wsi being destroyed.
 */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "log.h"
#include "notify.h"

/* Debian's lws 4.1.6 is built with _DEBUG, so every wsi close scans a table as long as the
 * soft RLIMIT_NOFILE (about 100 us per close at systemd's 524288). A daemon with a few dozen
 * sockets needs far fewer, so the soft limit is brought down to this before the context sizes
 * its tables. */
#define PB_LOOP_NOFILE 4096

enum { PROTO_CURL, PROTO_SIG, PROTO_WS_CLIENT, PROTO_COUNT };

struct pb_loop {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    struct lws_protocols protocols[PROTO_COUNT + 1];
    pb_loop_lws_fn handlers[PROTO_COUNT];
    pb_loop_signal_fn on_signal;
    void *signal_arg;
    int sigfd;
    struct lws *sig_wsi;
    lws_sorted_usec_list_t watchdog;
    uint64_t watchdog_usec;
    lws_sorted_usec_list_t settle;
    int settle_expired;
    int holds;
    int destroying;
    int stop;
};

struct pb_loop_timer {
    lws_sorted_usec_list_t sul; /* first, so a cancelled timer's memory is easy to reason on */
    struct pb_loop *loop;
    pb_loop_timer_fn fn;
    void *arg;
    int armed;
};

static const char *const proto_names[PROTO_COUNT] = {
    [PROTO_CURL] = "pb-curl",
    [PROTO_SIG] = "pb-sig",
    [PROTO_WS_CLIENT] = "pb-ws-client",
};

/* ---- lws log lines ---------------------------------------------------------------------- */

static void lws_log_emit(int level, const char *line)
{
    int pri = PB_LOG_DEBUG;
    if (level & LLL_ERR)
        pri = PB_LOG_ERR;
    else if (level & LLL_WARN)
        pri = PB_LOG_WARNING;
    if (!pb_log_enabled(pri))
        return;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
        n--;
    pb_log(pri, "lws", "%.*s", (int)n, line);
}

static void setup_lws_logging(void)
{
    /* lws's notices are start-up chatter ("Creating Vhost ..."): only worth seeing when
     * debugging, like its info lines. */
    int levels = LLL_ERR | LLL_WARN;
    if (pb_log_enabled(PB_LOG_DEBUG))
        levels |= LLL_NOTICE;
    lws_set_log_level(levels, lws_log_emit);
}

static void limit_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur <= PB_LOOP_NOFILE)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = PB_LOOP_NOFILE;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        pb_debug("loop", "soft RLIMIT_NOFILE lowered from %llu to %d", (unsigned long long)old,
                 PB_LOOP_NOFILE);
}

/* ---- protocol dispatch -------------------------------------------------------------------- */

static struct pb_loop *loop_of(struct lws *wsi)
{
    struct lws_context *ctx = wsi ? lws_get_context(wsi) : NULL;
    return ctx ? lws_context_user(ctx) : NULL;
}

static int proto_index(struct pb_loop *loop, const struct lws_protocols *p)
{
    for (int i = 0; i < PROTO_COUNT; i++)
        if (p == &loop->protocols[i])
            return i;
    return -1;
}

static int sig_callback(struct pb_loop *loop, struct lws *wsi, enum lws_callback_reasons reason);

static int dispatch(int idx, struct lws *wsi, enum lws_callback_reasons reason, void *user,
                    void *in, size_t len)
{
    struct pb_loop *loop = loop_of(wsi);
    if (!loop)
        return 0;
    if (reason == LWS_CALLBACK_WSI_DESTROY) {
        /* Delivered to protocols[0] for every wsi of the vhost: send it where it belongs. */
        idx = proto_index(loop, lws_get_protocol(wsi));
        if (idx < 0)
            return 0;
    }
    if (idx == PROTO_SIG)
        return sig_callback(loop, wsi, reason);
    if (loop->handlers[idx])
        return loop->handlers[idx](wsi, (int)reason, user, in, len);
    return 0;
}

static int curl_proto_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    return dispatch(PROTO_CURL, wsi, reason, user, in, len);
}

static int sig_proto_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    return dispatch(PROTO_SIG, wsi, reason, user, in, len);
}

static int ws_proto_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    return dispatch(PROTO_WS_CLIENT, wsi, reason, user, in, len);
}

void pb_loop_set_lws_handler(struct pb_loop *loop, enum pb_loop_protocol proto, pb_loop_lws_fn fn)
{
    int idx = proto == PB_LOOP_PROTO_CURL ? PROTO_CURL : PROTO_WS_CLIENT;
    loop->handlers[idx] = fn;
}

const char *pb_loop_protocol_name(enum pb_loop_protocol proto)
{
    return proto == PB_LOOP_PROTO_CURL ? proto_names[PROTO_CURL] : proto_names[PROTO_WS_CLIENT];
}

/* ---- signals ------------------------------------------------------------------------------ */

static void drain_signals(struct pb_loop *loop, int deliver)
{
    struct signalfd_siginfo si;
    for (;;) {
        ssize_t n = read(loop->sigfd, &si, sizeof si);
        if (n != (ssize_t)sizeof si)
            return; /* EAGAIN: nothing more pending */
        if (deliver && loop->on_signal)
            loop->on_signal(loop->signal_arg, (int)si.ssi_signo);
    }
}

static int sig_callback(struct pb_loop *loop, struct lws *wsi, enum lws_callback_reasons reason)
{
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        if (wsi == loop->sig_wsi)
            drain_signals(loop, 1);
        break;
    case LWS_CALLBACK_RAW_CLOSE_FILE:
        if (wsi == loop->sig_wsi) {
            loop->sig_wsi = NULL;
            loop->sigfd = -1; /* lws closed it */
        }
        break;
    default:
        break;
    }
    return 0; /* non-zero would close the signalfd's wsi */
}

static int setup_signals(struct pb_loop *loop)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    /* Blocked for good: unblocking at teardown could deliver a pending SIGTERM with its
     * default action. Threads created later (curl's resolver) inherit the mask. */
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return PB_ERR;
    signal(SIGPIPE, SIG_IGN);
    int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        pb_err("loop", "signalfd: %s", strerror(errno));
        return PB_ERR;
    }
    lws_adopt_desc_t ad = {
        .vh = loop->vh,
        .type = LWS_ADOPT_RAW_FILE_DESC,
        .fd.filefd = fd,
        .vh_prot_name = proto_names[PROTO_SIG],
        .opaque = loop,
    };
    loop->sigfd = fd;
    loop->sig_wsi = lws_adopt_descriptor_vhost_via_info(&ad);
    if (!loop->sig_wsi) {
        close(fd); /* lws does not close a file descriptor it failed to adopt */
        loop->sigfd = -1;
        pb_err("loop", "could not adopt the signalfd");
        return PB_ERR;
    }
    return 0;
}

/* ---- watchdog ----------------------------------------------------------------------------- */

static void watchdog_cb(lws_sorted_usec_list_t *sul)
{
    struct pb_loop *loop = lws_container_of(sul, struct pb_loop, watchdog);
    pb_notify_watchdog();
    lws_sul_schedule(loop->ctx, 0, &loop->watchdog, watchdog_cb,
                     (lws_usec_t)(loop->watchdog_usec / 2));
}

/* ---- life cycle --------------------------------------------------------------------------- */

int pb_loop_create(struct pb_loop **out, pb_loop_signal_fn on_signal, void *arg)
{
    int rc = PB_ERR;
    struct pb_loop *loop = calloc(1, sizeof *loop);
    if (!loop)
        return PB_ERR_NOMEM;
    loop->on_signal = on_signal;
    loop->signal_arg = arg;
    loop->sigfd = -1;

    setup_lws_logging();
    limit_nofile();

    static lws_callback_function *const cbs[PROTO_COUNT] = {
        [PROTO_CURL] = curl_proto_cb,
        [PROTO_SIG] = sig_proto_cb,
        [PROTO_WS_CLIENT] = ws_proto_cb,
    };
    for (int i = 0; i < PROTO_COUNT; i++) {
        loop->protocols[i].name = proto_names[i];
        loop->protocols[i].callback = cbs[i];
    }
    /* protocols[PROTO_COUNT] stays zeroed: the list terminator */

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.user = loop;
    loop->ctx = lws_create_context(&info);
    if (!loop->ctx) {
        pb_err("loop", "could not create the libwebsockets context");
        goto out;
    }

    memset(&info, 0, sizeof info);
    /* The client TLS context (system CA store) is made with the vhost, and only when the
     * vhost's own options ask for the global TLS init too. */
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.vhost_name = "pb-internal";
    info.protocols = loop->protocols;
    loop->vh = lws_create_vhost(loop->ctx, &info);
    if (!loop->vh) {
        pb_err("loop", "could not create the internal vhost");
        goto out;
    }

    rc = setup_signals(loop);
    if (rc < 0)
        goto out;

    loop->watchdog_usec = pb_notify_watchdog_usec();
    if (loop->watchdog_usec > 0)
        lws_sul_schedule(loop->ctx, 0, &loop->watchdog, watchdog_cb,
                         (lws_usec_t)(loop->watchdog_usec / 2));
    *out = loop;
    return 0;
out:
    pb_loop_destroy(loop);
    return rc < 0 ? rc : PB_ERR;
}

int pb_loop_run(struct pb_loop *loop)
{
    /* In 4.1.6 any timeout >= 0 means "until the next event or timer". */
    while (!loop->stop) {
        if (lws_service(loop->ctx, 0) < 0) {
            pb_err("loop", "lws_service failed");
            break;
        }
    }
    loop->stop = 0;
    return 0;
}

void pb_loop_stop(struct pb_loop *loop)
{
    loop->stop = 1;
    /* A timer callback runs before lws computes its poll() wait; without a wake-up the loop
     * would sleep until the next event before it noticed the flag. */
    lws_cancel_service(loop->ctx);
}

void pb_loop_service_nowait(struct pb_loop *loop)
{
    lws_service(loop->ctx, -1);
}

void pb_loop_hold(struct pb_loop *loop)
{
    loop->holds++;
}

void pb_loop_release(struct pb_loop *loop)
{
    if (loop->holds > 0)
        loop->holds--;
}

static void settle_cb(lws_sorted_usec_list_t *sul)
{
    lws_container_of(sul, struct pb_loop, settle)->settle_expired = 1;
}

int pb_loop_settle(struct pb_loop *loop, uint64_t max_ms)
{
    loop->settle_expired = 0;
    /* the sul also ends the poll() wait at the deadline */
    lws_sul_schedule(loop->ctx, 0, &loop->settle, settle_cb, (lws_usec_t)max_ms * 1000);
    while (loop->holds > 0 && !loop->settle_expired)
        if (lws_service(loop->ctx, 0) < 0)
            break;
    lws_sul_cancel(&loop->settle);
    return loop->holds;
}

int pb_loop_destroying(const struct pb_loop *loop)
{
    return loop->destroying;
}

void pb_loop_destroy(struct pb_loop *loop)
{
    if (!loop)
        return;
    loop->destroying = 1;
    if (loop->holds > 0)
        pb_debug("loop", "%d websocket(s) still open at teardown", loop->holds);
    if (loop->ctx) {
        lws_sul_cancel(&loop->watchdog);
        lws_sul_cancel(&loop->settle);
        if (loop->sigfd >= 0)
            drain_signals(loop, 0);
        lws_context_destroy(loop->ctx); /* closes the signalfd through its wsi */
    } else if (loop->sigfd >= 0) {
        close(loop->sigfd);
    }
    free(loop);
}

struct lws_context *pb_loop_context(struct pb_loop *loop)
{
    return loop->ctx;
}

struct lws_vhost *pb_loop_internal_vhost(struct pb_loop *loop)
{
    return loop->vh;
}

struct pb_loop *pb_loop_from_context(struct lws_context *ctx)
{
    return ctx ? lws_context_user(ctx) : NULL;
}

/* ---- timers ------------------------------------------------------------------------------- */

static void timer_cb(lws_sorted_usec_list_t *sul)
{
    struct pb_loop_timer *t = lws_container_of(sul, struct pb_loop_timer, sul);
    t->armed = 0;
    t->fn(t->arg); /* may re-arm or free t: nothing touches t after this */
}

struct pb_loop_timer *pb_loop_timer_new(struct pb_loop *loop, pb_loop_timer_fn fn, void *arg)
{
    if (!loop || !fn)
        return NULL;
    struct pb_loop_timer *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->loop = loop;
    t->fn = fn;
    t->arg = arg;
    return t;
}

void pb_loop_timer_arm(struct pb_loop_timer *t, uint64_t delay_ms)
{
    /* lws_usec_t is signed: keep far-future timers (about 290 years) from wrapping. */
    const uint64_t max_ms = (uint64_t)INT64_MAX / 1000 / 2;
    if (delay_ms > max_ms)
        delay_ms = max_ms;
    t->armed = 1;
    lws_sul_schedule(t->loop->ctx, 0, &t->sul, timer_cb, (lws_usec_t)delay_ms * 1000);
}

void pb_loop_timer_cancel(struct pb_loop_timer *t)
{
    if (!t)
        return;
    t->armed = 0;
    lws_sul_cancel(&t->sul);
}

void pb_loop_timer_free(struct pb_loop_timer *t)
{
    if (!t)
        return;
    lws_sul_cancel(&t->sul);
    free(t);
}

int pb_loop_timer_armed(const struct pb_loop_timer *t)
{
    return t && t->armed;
}

/* Tests for the loop (timers, signals, the watchdog, the file limit) and the notify protocol. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"
#include "notify.h"
#include "test_net_fake.h"

/* ---- timers ------------------------------------------------------------------------------- */

struct order {
    struct pb_loop *loop;
    int seen[8];
    int n;
    int stop_after;
};

struct tag {
    struct order *o;
    int id;
};

static void record_cb(void *arg)
{
    struct tag *t = arg;
    t->o->seen[t->o->n++] = t->id;
    if (t->o->n == t->o->stop_after)
        pb_loop_stop(t->o->loop);
}

static void test_timers_fire_in_order(void **state)
{
    (void)state;
    struct pb_loop *loop;
    assert_int_equal(pb_loop_create(&loop, NULL, NULL), 0);
    struct order o = {.loop = loop, .stop_after = 3};
    struct tag tags[3] = {{&o, 1}, {&o, 2}, {&o, 3}};
    struct pb_loop_timer *t1 = pb_loop_timer_new(loop, record_cb, &tags[0]);
    struct pb_loop_timer *t2 = pb_loop_timer_new(loop, record_cb, &tags[1]);
    struct pb_loop_timer *t3 = pb_loop_timer_new(loop, record_cb, &tags[2]);
    /* armed out of order: they must fire by due time */
    pb_loop_timer_arm(t3, 30);
    pb_loop_timer_arm(t1, 10);
    pb_loop_timer_arm(t2, 20);
    assert_true(pb_loop_timer_armed(t1));
    assert_int_equal(run_loop_for(loop, 5000), 0);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.seen[0], 1);
    assert_int_equal(o.seen[1], 2);
    assert_int_equal(o.seen[2], 3);
    assert_false(pb_loop_timer_armed(t1));
    pb_loop_timer_free(t1);
    pb_loop_timer_free(t2);
    pb_loop_timer_free(t3);
    pb_loop_destroy(loop);
}

static void test_timer_rearm_and_cancel(void **state)
{
    (void)state;
    struct pb_loop *loop;
    assert_int_equal(pb_loop_create(&loop, NULL, NULL), 0);
    struct order o = {.loop = loop, .stop_after = 1};
    struct tag cancelled = {&o, 1}, moved = {&o, 2}, stopper = {&o, 3};
    struct pb_loop_timer *tc = pb_loop_timer_new(loop, record_cb, &cancelled);
    struct pb_loop_timer *tm = pb_loop_timer_new(loop, record_cb, &moved);
    struct pb_loop_timer *ts = pb_loop_timer_new(loop, record_cb, &stopper);
    pb_loop_timer_arm(tc, 5);
    pb_loop_timer_cancel(tc);
    assert_false(pb_loop_timer_armed(tc));
    pb_loop_timer_arm(tm, 5);
    pb_loop_timer_arm(tm, 2000); /* moves it well after the stopper, even on a busy machine */
    pb_loop_timer_arm(ts, 20);
    assert_int_equal(run_loop_for(loop, 5000), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.seen[0], 3);
    assert_true(pb_loop_timer_armed(tm));
    assert_false(pb_loop_timer_armed(tc));
    /* the moved timer still fires, once */
    o.stop_after = 2;
    assert_int_equal(run_loop_for(loop, 5000), 0);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.seen[1], 2);
    assert_false(pb_loop_timer_armed(tm));
    pb_loop_timer_free(tc);
    pb_loop_timer_free(tm);
    pb_loop_timer_free(ts);
    pb_loop_destroy(loop);
}

struct selfish {
    struct pb_loop *loop;
    struct pb_loop_timer *t;
    int fired;
    int free_at;
};

static void self_cb(void *arg)
{
    struct selfish *s = arg;
    s->fired++;
    if (s->fired < s->free_at) {
        pb_loop_timer_arm(s->t, 1); /* re-arm from its own callback */
        return;
    }
    pb_loop_timer_free(s->t); /* and free itself (ASan checks nothing touches it after) */
    s->t = NULL;
    pb_loop_stop(s->loop);
}

static void test_timer_rearms_and_frees_itself(void **state)
{
    (void)state;
    struct pb_loop *loop;
    assert_int_equal(pb_loop_create(&loop, NULL, NULL), 0);
    struct selfish s = {.loop = loop, .free_at = 3};
    s.t = pb_loop_timer_new(loop, self_cb, &s);
    pb_loop_timer_arm(s.t, 0);
    assert_int_equal(run_loop_for(loop, 5000), 0);
    assert_int_equal(s.fired, 3);
    assert_null(s.t);
    pb_loop_destroy(loop);
}

static void test_timer_free_armed(void **state)
{
    (void)state;
    struct pb_loop *loop;
    assert_int_equal(pb_loop_create(&loop, NULL, NULL), 0);
    struct order o = {.loop = loop, .stop_after = 1};
    struct tag a = {&o, 1}, b = {&o, 2};
    struct pb_loop_timer *ta = pb_loop_timer_new(loop, record_cb, &a);
    struct pb_loop_timer *tb = pb_loop_timer_new(loop, record_cb, &b);
    pb_loop_timer_arm(ta, 1);
    pb_loop_timer_free(ta); /* freed while armed: must never fire */
    pb_loop_timer_arm(tb, 10);
    assert_int_equal(run_loop_for(loop, 5000), 0);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.seen[0], 2);
    pb_loop_timer_free(tb);
    pb_loop_timer_free(NULL);
    pb_loop_destroy(loop);
}

/* ---- signals ------------------------------------------------------------------------------ */

struct sigs {
    struct pb_loop *loop;
    int got[4];
    int n;
    int want;
};

static void on_signal(void *arg, int signo)
{
    struct sigs *s = arg;
    if (s->n < 4)
        s->got[s->n++] = signo;
    if (s->n >= s->want)
        pb_loop_stop(s->loop);
}

static void test_signals_reach_on_signal(void **state)
{
    (void)state;
    struct sigs s = {.want = 1};
    assert_int_equal(pb_loop_create(&s.loop, on_signal, &s), 0);
    raise(SIGHUP); /* blocked by the loop: it waits in the signalfd */
    assert_int_equal(run_loop_for(s.loop, 5000), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.got[0], SIGHUP);

    s.want = 3;
    raise(SIGTERM);
    raise(SIGINT);
    assert_int_equal(run_loop_for(s.loop, 5000), 0);
    assert_int_equal(s.n, 3);
    /* pending standard signals are read lowest number first */
    assert_int_equal(s.got[1], SIGINT);
    assert_int_equal(s.got[2], SIGTERM);
    pb_loop_destroy(s.loop);
}

/* ---- notify ------------------------------------------------------------------------------- */

static int bind_dgram(const char *name, int abstract, struct sockaddr_un *sa, socklen_t *len)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    size_t n = strlen(name);
    if (abstract) {
        memcpy(sa->sun_path + 1, name, n);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        memcpy(sa->sun_path, name, n);
        *len = (socklen_t)sizeof *sa;
    }
    assert_int_equal(bind(fd, (struct sockaddr *)sa, *len), 0);
    return fd;
}

static ssize_t recv_msg(int fd, char *buf, size_t cap, int dontwait)
{
    ssize_t n = recv(fd, buf, cap - 1, dontwait ? MSG_DONTWAIT : 0);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static void check_notify_messages(int fd)
{
    char buf[512];
    assert_int_equal(pb_notify_ready("serving"), 0);
    assert_true(recv_msg(fd, buf, sizeof buf, 0) > 0);
    assert_string_equal(buf, "READY=1\nSTATUS=serving");

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long before = (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
    assert_int_equal(pb_notify_reloading(), 0);
    assert_true(recv_msg(fd, buf, sizeof buf, 0) > 0);
    const char *prefix = "RELOADING=1\nMONOTONIC_USEC=";
    assert_memory_equal(buf, prefix, strlen(prefix));
    char *end;
    unsigned long long usec = strtoull(buf + strlen(prefix), &end, 10);
    assert_int_equal(*end, '\0');
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long after = (unsigned long long)ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
    assert_true(usec >= before && usec <= after);

    assert_int_equal(pb_notify_ready(NULL), 0);
    assert_true(recv_msg(fd, buf, sizeof buf, 0) > 0);
    assert_string_equal(buf, "READY=1");
    assert_int_equal(pb_notify_stopping(), 0);
    assert_true(recv_msg(fd, buf, sizeof buf, 0) > 0);
    assert_string_equal(buf, "STOPPING=1");
    assert_int_equal(pb_notify_status("draining"), 0);
    assert_true(recv_msg(fd, buf, sizeof buf, 0) > 0);
    assert_string_equal(buf, "STATUS=draining");
    assert_int_equal(pb_notify_watchdog(), 0);
    assert_true(recv_msg(fd, buf, sizeof buf, 0) > 0);
    assert_string_equal(buf, "WATCHDOG=1");
}

static void test_notify_path_socket(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof path, "/tmp/pb-notify-%d.sock", (int)getpid());
    unlink(path);
    struct sockaddr_un sa;
    socklen_t len;
    int fd = bind_dgram(path, 0, &sa, &len);
    setenv("NOTIFY_SOCKET", path, 1);
    check_notify_messages(fd);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
    unlink(path);
}

static void test_notify_abstract_socket(void **state)
{
    (void)state;
    char name[64], env[80];
    snprintf(name, sizeof name, "pb-notify-test-%d", (int)getpid());
    snprintf(env, sizeof env, "@%s", name);
    struct sockaddr_un sa;
    socklen_t len;
    int fd = bind_dgram(name, 1, &sa, &len);
    setenv("NOTIFY_SOCKET", env, 1);
    check_notify_messages(fd);

    /* The address length is exact: a name with a trailing extra byte is another socket. */
    char longer[80];
    snprintf(longer, sizeof longer, "@%sX", name);
    setenv("NOTIFY_SOCKET", longer, 1);
    assert_true(pb_notify("READY=1") < 0); /* nobody listens there */
    char buf[64];
    assert_true(recv_msg(fd, buf, sizeof buf, 1) < 0);
    unsetenv("NOTIFY_SOCKET");
    close(fd);
}

static void test_notify_without_socket(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(pb_notify_ready("x"), 0);
    assert_int_equal(pb_notify_watchdog(), 0);
    setenv("NOTIFY_SOCKET", "relative/path", 1);
    assert_true(pb_notify("READY=1") < 0);
    unsetenv("NOTIFY_SOCKET");
}

static void test_watchdog_usec(void **state)
{
    (void)state;
    char pid[32];
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(pb_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "200000", 1);
    assert_int_equal(pb_notify_watchdog_usec(), 200000);
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(pb_notify_watchdog_usec(), 200000);
    snprintf(pid, sizeof pid, "%d", (int)getpid() + 1);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(pb_notify_watchdog_usec(), 0); /* meant for another process */
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "soon", 1);
    assert_int_equal(pb_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_USEC");
}

struct wd {
    struct pb_loop *loop;
    struct pb_loop_timer *t;
    int fd;
    int pings;
};

static void wd_poll_cb(void *arg)
{
    struct wd *w = arg;
    char buf[64];
    while (recv_msg(w->fd, buf, sizeof buf, 1) > 0)
        if (strcmp(buf, "WATCHDOG=1") == 0)
            w->pings++;
    if (w->pings >= 3) {
        pb_loop_stop(w->loop);
        return;
    }
    pb_loop_timer_arm(w->t, 5);
}

static void test_loop_pings_watchdog(void **state)
{
    (void)state;
    char path[108];
    snprintf(path, sizeof path, "/tmp/pb-wd-%d.sock", (int)getpid());
    unlink(path);
    struct sockaddr_un sa;
    socklen_t len;
    struct wd w = {0};
    w.fd = bind_dgram(path, 0, &sa, &len);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "20000", 1); /* a ping every 10 ms */
    assert_int_equal(pb_loop_create(&w.loop, NULL, NULL), 0);
    w.t = pb_loop_timer_new(w.loop, wd_poll_cb, &w);
    pb_loop_timer_arm(w.t, 5);
    assert_int_equal(run_loop_for(w.loop, 10000), 0);
    assert_true(w.pings >= 3);
    pb_loop_timer_free(w.t);
    pb_loop_destroy(w.loop);
    unsetenv("WATCHDOG_USEC");
    unsetenv("NOTIFY_SOCKET");
    close(w.fd);
    unlink(path);
}

static void test_loop_keeps_nofile_modest(void **state)
{
    (void)state;
    struct rlimit rl;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rlim_t before = rl.rlim_cur;
    struct pb_loop *loop;
    assert_int_equal(pb_loop_create(&loop, NULL, NULL), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
    assert_true(rl.rlim_cur <= 4096);
    assert_true(rl.rlim_cur <= before); /* never raised */
    assert_non_null(pb_loop_context(loop));
    assert_non_null(pb_loop_internal_vhost(loop));
    assert_ptr_equal(pb_loop_from_context(pb_loop_context(loop)), loop);
    assert_string_equal(pb_loop_protocol_name(PB_LOOP_PROTO_CURL), "pb-curl");
    assert_string_equal(pb_loop_protocol_name(PB_LOOP_PROTO_WS_CLIENT), "pb-ws-client");
    pb_loop_destroy(loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_keeps_nofile_modest),
        cmocka_unit_test(test_timers_fire_in_order),
        cmocka_unit_test(test_timer_rearm_and_cancel),
        cmocka_unit_test(test_timer_rearms_and_frees_itself),
        cmocka_unit_test(test_timer_free_armed),
        cmocka_unit_test(test_signals_reach_on_signal),
        cmocka_unit_test(test_notify_path_socket),
        cmocka_unit_test(test_notify_abstract_socket),
        cmocka_unit_test(test_notify_without_socket),
        cmocka_unit_test(test_watchdog_usec),
        cmocka_unit_test(test_loop_pings_watchdog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

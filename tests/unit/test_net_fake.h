/*
 * Helpers for the network tests: start a Python fake from tests/fakes (it prints its
 * ephemeral port on stdout, so no test uses a fixed port), run the loop until the test says
 * stop or a deadline passes, and wait for a child process from inside the loop.
 */
#ifndef TEST_NET_FAKE_H
#define TEST_NET_FAKE_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

#define FAKES_DIR PB_TEST_DATA "/../fakes"

/* Starts /usr/bin/python3 FAKES_DIR/<script> with up to 4 extra arguments. With want_port,
 * reads the first line the child prints and returns it as a port; 0 otherwise. */
static inline int fake_spawn(const char *script, const char *const *args, int want_port,
                             pid_t *pid_out)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* The loop blocks SIGTERM/SIGINT/SIGHUP and exec keeps the mask: undo it. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a crashed or killed test leaves no fake behind */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", FAKES_DIR, script);
        const char *argv[8] = {"/usr/bin/python3", path};
        int n = 2;
        for (int i = 0; args && args[i] && n < 7; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    int port = 0;
    if (want_port) {
        char line[64];
        size_t n = 0;
        while (n < sizeof line - 1) {
            ssize_t r = read(fds[0], line + n, 1);
            if (r <= 0 || line[n] == '\n')
                break;
            n++;
        }
        line[n] = '\0';
        port = atoi(line);
    }
    close(fds[0]);
    *pid_out = pid;
    return port;
}

static inline void fake_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- running the loop --------------------------------------------------------------------- */

struct run_ctx {
    struct pb_loop *loop;
    int timed_out;
    /* child watching */
    pid_t child;
    int child_status;
    int child_done;
    struct pb_loop_timer *poll;
};

static inline void run_deadline_cb(void *arg)
{
    struct run_ctx *rc = arg;
    rc->timed_out = 1;
    pb_loop_stop(rc->loop);
}

/* Runs until something calls pb_loop_stop; returns -1 if the deadline stopped it. */
static inline int run_loop_for(struct pb_loop *loop, uint64_t deadline_ms)
{
    struct run_ctx rc = {.loop = loop};
    struct pb_loop_timer *t = pb_loop_timer_new(loop, run_deadline_cb, &rc);
    pb_loop_timer_arm(t, deadline_ms);
    pb_loop_run(loop);
    pb_loop_timer_free(t);
    return rc.timed_out ? -1 : 0;
}

static inline void child_poll_cb(void *arg)
{
    struct run_ctx *rc = arg;
    int st;
    if (waitpid(rc->child, &st, WNOHANG) == rc->child) {
        rc->child_done = 1;
        rc->child_status = st;
        pb_loop_stop(rc->loop);
        return;
    }
    pb_loop_timer_arm(rc->poll, 5);
}

/* Runs the loop until the child exits (it is polled, since its exit is not a loop event);
 * returns its exit status, or -1 if it had to be killed at the deadline. */
static inline int run_loop_until_child_exits(struct pb_loop *loop, pid_t child,
                                             uint64_t deadline_ms)
{
    struct run_ctx rc = {.loop = loop, .child = child};
    rc.poll = pb_loop_timer_new(loop, child_poll_cb, &rc);
    struct pb_loop_timer *t = pb_loop_timer_new(loop, run_deadline_cb, &rc);
    pb_loop_timer_arm(rc.poll, 5);
    pb_loop_timer_arm(t, deadline_ms);
    while (!rc.child_done && !rc.timed_out)
        pb_loop_run(loop);
    pb_loop_timer_free(t);
    pb_loop_timer_free(rc.poll);
    if (!rc.child_done) {
        fake_stop(child);
        return -1;
    }
    return WIFEXITED(rc.child_status) ? WEXITSTATUS(rc.child_status) : -1;
}

#endif

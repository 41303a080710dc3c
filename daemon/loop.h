/*
 * The one event loop: a libwebsockets context in its default poll loop, with timers, signals
 * (through a signalfd adopted into the loop) and the systemd watchdog driven from it. Every
 * other module that needs the loop asks here; only loop.c, http_server.c, http_client.c and
 * ws_client.c include libwebsockets.
 */
#ifndef PB_LOOP_H
#define PB_LOOP_H

#include <stdint.h>

struct pb_loop;
struct lws_context;
struct lws_vhost;

typedef void (*pb_loop_signal_fn)(void *arg, int signo);

/* Creates the context and its internal (non-listening) vhost. SIGHUP, SIGTERM and SIGINT are
 * blocked and delivered to `on_signal` on the loop. */
int pb_loop_create(struct pb_loop **out, pb_loop_signal_fn on_signal, void *arg);
/* Runs until pb_loop_stop; returns 0. Pings the systemd watchdog if $WATCHDOG_USEC is set. */
int pb_loop_run(struct pb_loop *loop);
void pb_loop_stop(struct pb_loop *loop); /* from any callback on the loop */
/* Tears down: the caller has already destroyed the http client, servers and ws clients. */
void pb_loop_destroy(struct pb_loop *loop);

struct lws_context *pb_loop_context(struct pb_loop *loop);
struct lws_vhost *pb_loop_internal_vhost(struct pb_loop *loop);

/* One-shot timers on the loop's monotonic time. Arming an armed timer moves it. The callback
 * may re-arm or free its own timer. */
struct pb_loop_timer;
typedef void (*pb_loop_timer_fn)(void *arg);
struct pb_loop_timer *pb_loop_timer_new(struct pb_loop *loop, pb_loop_timer_fn fn, void *arg);
void pb_loop_timer_arm(struct pb_loop_timer *t, uint64_t delay_ms);
void pb_loop_timer_cancel(struct pb_loop_timer *t);
void pb_loop_timer_free(struct pb_loop_timer *t);
int pb_loop_timer_armed(const struct pb_loop_timer *t);

#endif

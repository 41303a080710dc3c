/*
 * The one event loop: a libwebsockets context in its default poll loop, with timers, signals
 * (through a signalfd adopted into the loop) and the systemd watchdog driven from it. Every
 * other module that needs the loop asks here; only loop.c, http_server.c, http_client.c and
 * ws_client.c include libwebsockets.
 */
#ifndef PB_LOOP_H
#define PB_LOOP_H

#include <stddef.h>
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

/* The internal vhost's protocols other than the loop's own signal protocol. A vhost's
 * protocol list is fixed when it is created, so the loop creates them all and the module that
 * owns one installs its lws callback here (http_client.c for PB_LOOP_PROTO_CURL, ws_client.c
 * for PB_LOOP_PROTO_WS_CLIENT). Every callback of that protocol is forwarded, including
 * LWS_CALLBACK_WSI_DESTROY, which lws 4.1 only gives to a vhost's first protocol. `reason` is
 * an enum lws_callback_reasons. */
struct lws;
enum pb_loop_protocol { PB_LOOP_PROTO_CURL = 0, PB_LOOP_PROTO_WS_CLIENT = 1 };
typedef int (*pb_loop_lws_fn)(struct lws *wsi, int reason, void *user, void *in, size_t len);
void pb_loop_set_lws_handler(struct pb_loop *loop, enum pb_loop_protocol proto, pb_loop_lws_fn fn);
const char *pb_loop_protocol_name(enum pb_loop_protocol proto); /* "pb-curl", "pb-ws-client" */
/* The pb_loop that owns an lws context (its context user pointer). */
struct pb_loop *pb_loop_from_context(struct lws_context *ctx);
/* Work that should end before the loop goes away, such as a websocket's close handshake, is
 * counted by the module that starts it (hold) and ends it (release). At shutdown, after asking
 * connectors to stop, pb_loop_settle runs the loop until nothing is held or max_ms has passed,
 * so that their on_close callbacks run while the connectors still exist; it returns how many
 * are still held. Whatever is left when pb_loop_destroy runs is freed without callbacks
 * (pb_loop_destroying tells the modules so). */
void pb_loop_hold(struct pb_loop *loop);
void pb_loop_release(struct pb_loop *loop);
int pb_loop_settle(struct pb_loop *loop, uint64_t max_ms);
int pb_loop_destroying(const struct pb_loop *loop);
/* One pass of the loop that does not wait (lws 4.1.6 only skips the wait for a negative
 * timeout): teardown code calls it until its asynchronous closes have completed. */
void pb_loop_service_nowait(struct pb_loop *loop);

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

/*
 * Shared by the websocket halves of pb_net only (http_server_ws.c, ws_client.c): one
 * connection's message traffic, the part that is the same whichever side opened it. Nothing
 * outside pb_net includes this.
 *
 * A pb_ws_io reassembles incoming messages from fragments (bounded; too big closes with 1009),
 * queues outgoing text messages with their LWS_PRE headroom and writes one per WRITEABLE, and
 * holds the close we decided on so it goes out after the queue. The owner keeps its own state
 * (open, told, ...) and calls in from its RECEIVE and WRITEABLE callbacks.
 */
#ifndef PB_NET_INTERNAL_H
#define PB_NET_INTERNAL_H

#include <stddef.h>

struct lws;
struct pb_ws_out;

#define PB_WS_MAX_QUEUED (16u * 1024 * 1024) /* per connection; more gets PB_ERR_BUSY */

struct pb_ws_io {
    /* the message being reassembled; NUL-terminated after each fragment */
    char *rx;
    size_t rx_len, rx_cap;
    int in_msg;
    /* outgoing text messages, oldest first */
    struct pb_ws_out *q_head, *q_tail;
    size_t queued;
    /* a close we decided on: sent from WRITEABLE once the queue is empty (unless discard) */
    int closing;
    int discard; /* closing because of what came in: drop the rest, send nothing more */
    int close_code;
    char close_reason[124];
};

/* Frees the buffers and the queue; the struct itself is the owner's. */
void pb_ws_io_free(struct pb_ws_io *io);

/* From RECEIVE: adds a fragment. Returns 1 when io->rx holds a whole message (io->rx_len bytes,
 * NUL-terminated) for the owner to hand on, else 0. Never fails the callback: a message over
 * `max` or out of memory starts a close instead (see the comment on fail_rx). */
int pb_ws_io_receive(struct pb_ws_io *io, struct lws *wsi, const void *in, size_t len, size_t max);

/* From WRITEABLE: the callback's return value. */
int pb_ws_io_writeable(struct pb_ws_io *io, struct lws *wsi);

/* Queues a copy of a text message. 0, PB_ERR_BUSY over PB_WS_MAX_QUEUED, PB_ERR_NOMEM. The
 * caller checks its own state first and asks for WRITEABLE when it may write. */
int pb_ws_io_queue(struct pb_ws_io *io, const char *data, size_t len);

/* Records a close to send after the queue (a code outside 1000..4999 becomes 1000). The caller
 * asks for WRITEABLE when it may write. */
void pb_ws_io_close(struct pb_ws_io *io, int code, const char *reason);

/* Something to write: a queued message or a close. */
int pb_ws_io_pending(const struct pb_ws_io *io);

#endif

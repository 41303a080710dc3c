/*
 * Websocket message traffic shared by the server's connections (http_server_ws.c) and the
 * outbound client (ws_client.c): reassembly of incoming fragments with a size bound, the queue
 * of outgoing text messages written one per WRITEABLE, and the close that follows the queue.
 * See net_internal.h. (Named ws_client_*.c only so that pb_net's source glob picks it up.)
 *
 * lws callbacks relied on, through the owner's: RECEIVE and CLIENT_RECEIVE (with
 * lws_is_final_fragment; never fails the callback, see fail_rx), SERVER_WRITEABLE and
 * CLIENT_WRITEABLE (return -1 after lws_close_reason to close politely).
 */
#include "net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>

#include "pulsebot/plugin.h"

#define RX_MIN_CAP 1024u

struct pb_ws_out {
    struct pb_ws_out *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes of headroom, then the payload */
};

void pb_ws_io_free(struct pb_ws_io *io)
{
    struct pb_ws_out *m = io->q_head;
    while (m) {
        struct pb_ws_out *n = m->next;
        free(m);
        m = n;
    }
    io->q_head = io->q_tail = NULL;
    io->queued = 0;
    free(io->rx);
    io->rx = NULL;
    io->rx_len = io->rx_cap = 0;
}

static void set_close(struct pb_ws_io *io, int code, const char *reason)
{
    io->closing = 1;
    io->close_code = code;
    snprintf(io->close_reason, sizeof io->close_reason, "%s", reason);
}

/* Closing because of what came in: never by returning -1 from a receive callback. lws 4.1 then
 * skips resetting its rx buffer position, and the rest of the frame, still arriving while lws
 * waits for the close ack, is written past the end of that buffer (valgrind caught it on the
 * client with a 2 MB frame). The rest of the message is dropped here and the close frame goes
 * out from WRITEABLE instead. */
static int fail_rx(struct pb_ws_io *io, struct lws *wsi, int code, const char *why)
{
    io->discard = 1;
    set_close(io, code, why);
    free(io->rx);
    io->rx = NULL;
    io->rx_len = io->rx_cap = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

int pb_ws_io_receive(struct pb_ws_io *io, struct lws *wsi, const void *in, size_t len, size_t max)
{
    if (io->discard)
        return 0;
    if (!io->in_msg) {
        io->in_msg = 1;
        io->rx_len = 0;
    }
    if (len > max - io->rx_len)
        return fail_rx(io, wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");
    if (io->rx_len + len + 1 > io->rx_cap) {
        size_t cap = io->rx_cap ? io->rx_cap : RX_MIN_CAP;
        while (cap < io->rx_len + len + 1)
            cap *= 2;
        char *p = realloc(io->rx, cap);
        if (!p)
            return fail_rx(io, wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
        io->rx = p;
        io->rx_cap = cap;
    }
    if (len)
        memcpy(io->rx + io->rx_len, in, len);
    io->rx_len += len;
    io->rx[io->rx_len] = '\0';
    if (!lws_is_final_fragment(wsi))
        return 0;
    io->in_msg = 0;
    return 1;
}

int pb_ws_io_writeable(struct pb_ws_io *io, struct lws *wsi)
{
    struct pb_ws_out *m = io->discard ? NULL : io->q_head;
    if (m) {
        io->q_head = m->next;
        if (!io->q_head)
            io->q_tail = NULL;
        io->queued -= m->len;
        /* lws keeps what the socket did not take and sends it before the next WRITEABLE */
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        int short_write = n < (int)m->len;
        free(m);
        if (short_write)
            return -1;
        if (io->q_head || io->closing)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (io->closing) {
        lws_close_reason(wsi, (enum lws_close_status)io->close_code,
                         (unsigned char *)io->close_reason, strlen(io->close_reason));
        return -1; /* lws sends the close frame and waits for the peer's */
    }
    return 0;
}

int pb_ws_io_queue(struct pb_ws_io *io, const char *data, size_t len)
{
    if (len > PB_WS_MAX_QUEUED - io->queued)
        return PB_ERR_BUSY;
    struct pb_ws_out *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return PB_ERR_NOMEM;
    m->next = NULL;
    m->len = len;
    if (len)
        memcpy(m->buf + LWS_PRE, data, len);
    if (io->q_tail)
        io->q_tail->next = m;
    else
        io->q_head = m;
    io->q_tail = m;
    io->queued += len;
    return 0;
}

void pb_ws_io_close(struct pb_ws_io *io, int code, const char *reason)
{
    set_close(io, code >= 1000 && code <= 4999 ? code : LWS_CLOSE_STATUS_NORMAL,
              reason ? reason : "");
}

int pb_ws_io_pending(const struct pb_ws_io *io)
{
    return io->q_head || io->closing;
}

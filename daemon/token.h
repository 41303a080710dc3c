/*
 * Signed tokens: what a button carries and what a personal link carries. A token is
 * base64url(payload) + base64url(HMAC-SHA256(key, payload) truncated to 128 bits), short
 * enough for Discord's 100-character custom_id. The key is 32 random bytes kept in the state
 * directory; whoever lacks it cannot make a token the daemon accepts.
 *
 * A token says what it is for, not whether it may still be used: replays are refused by the
 * state machines it points into (an answered question, a resolved alert), and a token shown
 * to one person is refused from another by checking the recipient.
 */
#ifndef PB_TOKEN_H
#define PB_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "pulsebot/plugin.h"

#define PB_TOKEN_KEY_LEN 32
#define PB_TOKEN_MAX     256

enum pb_token_kind {
    PB_TOKEN_CHOICE = 'c', /* an answer: delivery, question index, value */
    PB_TOKEN_ACTION = 'a', /* an alert action: alert, action */
    PB_TOKEN_LINK = 'l',   /* a personal web chat link: connector, user, expiry */
};

struct pb_token {
    enum pb_token_kind kind;
    uint64_t id;        /* delivery or alert */
    uint8_t index;      /* question index or action */
    int16_t value;      /* the choice's value */
    uint32_t expires;   /* LINK: seconds since the epoch */
    char connector[64]; /* LINK */
    char user[128];     /* LINK */
};

struct pb_token_key {
    unsigned char bytes[PB_TOKEN_KEY_LEN];
};

/* Reads the key from `path`, creating it (0600, from getrandom) when it does not exist. */
int pb_token_key_load(const char *path, struct pb_token_key *key, char *err, size_t errlen);

/* Writes a NUL-terminated token into out (PB_TOKEN_MAX bytes is always enough). */
int pb_token_sign(const struct pb_token_key *key, const struct pb_token *t, char *out,
                  size_t outlen);
/* PB_OK, PB_ERR_INVALID (not a token at all) or PB_ERR_FORGED (bad signature). */
int pb_token_verify(const struct pb_token_key *key, const char *text, struct pb_token *out);

#endif

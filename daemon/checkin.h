/*
 * Customer check-ins: a closed interaction comes in (POST /v1/interactions, a help desk's own
 * webhook body mapped by a source, or a connector's PB_EVENT_INTERACTION_CLOSED), the policies
 * decide whether and when the customer is asked, and at that time the customer survey goes to
 * them in chat. The parts the HTTP route and the tests use are here; what the engine's parts
 * share is in engine_internal.h.
 */
#ifndef PB_CHECKIN_H
#define PB_CHECKIN_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "store.h"

struct pb_engine;
struct pb_http_server;

/* POST /v1/interactions and /v1/interactions/<source> on the daemon's server. */
int pb_checkin_http_register(struct pb_http_server *srv, struct pb_engine *e);

/* checkin_json.c: bodies to interactions */

/* The value a JSON pointer (RFC 6901) names in `root`, or NULL. "" is the whole document. */
const cJSON *pb_json_pointer(const cJSON *root, const char *pointer);
/* Whether the body nests objects and arrays at most `max` deep (checked before parsing, so a
 * hostile body never reaches a recursive parser). */
int pb_checkin_depth_ok(const char *body, size_t len, int max);
/* Maps a webhook body to an interaction: with `src` NULL the body is pulsebot's own format
 * (docs/checkins.md), otherwise the source's fields say where each value is. Returns 0, or
 * the HTTP status to refuse with (400 for a malformed body, 422 for a wrong or missing field)
 * and `err` saying what is wrong. */
int pb_checkin_parse(const struct pb_config *cfg, const struct pb_cfg_checkin_source *src,
                     const char *body, size_t len, struct pb_interaction *in, char *err,
                     size_t errlen);
/* Reads "2024-05-01T12:30:00Z" (RFC 3339, any offset, optional fraction) or Unix seconds as
 * digits; -1 when malformed. */
int64_t pb_checkin_time_parse(const char *text);

/* checkin_auth.c: who may post */

struct pb_checkin_keys {
    unsigned char secret[256];
    size_t secret_len; /* 0: no signature secret */
    unsigned char token[256];
    size_t token_len; /* 0: no bearer token */
};

/* Reads the configured secret and token; on failure `err` says why (never the secret). */
int pb_checkin_keys_load(const struct pb_cfg_checkins *c, struct pb_checkin_keys *keys, char *err,
                         size_t errlen);
void pb_checkin_keys_wipe(struct pb_checkin_keys *keys);
/* Checks "t=<unix seconds>,v1=<hex>" against HMAC-SHA256(secret, "<t>.<body>") in constant
 * time, and that t is within max_age of now. On success `sig` gets the matching signature
 * (the replay key) and *expires_ms when it may be forgotten. Returns 0 or 401 with `err`. */
int pb_checkin_signature_check(const struct pb_checkin_keys *keys, const char *header,
                               const char *body, size_t len, int64_t now_ms, int64_t max_age_ms,
                               char *sig, size_t sig_len, int64_t *expires_ms, char *err,
                               size_t errlen);
/* Checks "Bearer <token>" in constant time. Returns 0 or 401 with `err`. */
int pb_checkin_bearer_check(const struct pb_checkin_keys *keys, const char *header, char *err,
                            size_t errlen);
/* The signature header value for a body (tests, and tools that post). */
int pb_checkin_sign(const unsigned char *secret, size_t secret_len, int64_t t, const char *body,
                    size_t len, char *out, size_t out_len);

/* A point in [0, 10000) that the interaction id alone decides: sampling takes the interactions
 * whose point is below sample * 100, the same ones every time. */
unsigned pb_checkin_sample_point(const char *ext_id);
/* Whether a customer's reply means "do not ask me again", in any of the known languages. */
int pb_checkin_is_stop(const struct pb_config *cfg, const char *text);

#endif

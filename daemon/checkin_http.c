/*
 * POST /v1/interactions (pulsebot's own body) and /v1/interactions/<source> (a help desk's
 * native body, mapped by the source's fields). The order of checks is fixed so that nothing is
 * parsed for a sender who is not authenticated: method, source, credentials, then the body.
 * The answer comes only after the interaction and its check-in are committed: 202 with what
 * was decided, the same 202 for a retry of a known interaction, or a 4xx whose JSON error
 * says what to fix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "checkin.h"
#include "engine_internal.h"
#include "http_server.h"
#include "log.h"
#include "metrics.h"

#define MOD    "checkin"
#define PREFIX "/v1/interactions"

/* The host copies the body before the route returns, so one buffer serves every request. */
static char reply_body[1024];

static int respond(struct pb_server_response *resp, int status, cJSON *obj)
{
    char *text = obj ? cJSON_PrintUnformatted(obj) : NULL;
    cJSON_Delete(obj);
    if (!text) {
        status = 500;
        snprintf(reply_body, sizeof reply_body, "{\"error\":\"out of memory\"}");
    } else {
        snprintf(reply_body, sizeof reply_body, "%s", text);
        free(text);
    }
    size_t n = strlen(reply_body);
    if (n + 1 < sizeof reply_body) {
        reply_body[n++] = '\n';
        reply_body[n] = '\0';
    }
    resp->status = status;
    resp->content_type = "application/json";
    resp->body = reply_body;
    resp->body_len = n;
    return 0;
}

static int refuse(struct pb_server_response *resp, int status, const char *peer, const char *what)
{
    cJSON *o = cJSON_CreateObject();
    if (o)
        cJSON_AddStringToObject(o, "error", what);
    pb_metrics_add("interactions_refused", 1);
    pb_info(MOD, "refused an interaction from %s with %d: %s", peer ? peer : "?", status, what);
    if (status == 405)
        resp->extra_headers = "Allow: POST\r\n";
    return respond(resp, status, o);
}

static int interactions(void *arg, const struct pb_server_request *req,
                        struct pb_server_response *resp)
{
    struct pb_engine *e = arg;
    const struct pb_config *cfg = pb_engine_config(e);
    const struct pb_cfg_checkin_source *src = NULL;
    char err[320], sig[80], outcome[160];
    int64_t sig_expires = 0;
    int has_sig = 0;

    if (strcmp(req->method, "POST") != 0)
        return refuse(resp, 405, req->peer, "use POST");
    if (strncmp(req->path, PREFIX "/", sizeof PREFIX) == 0) {
        const char *id = req->path + sizeof PREFIX;
        src = pb_config_checkin_source(cfg, id);
        if (!src) {
            snprintf(err, sizeof err, "no check-in source \"%.64s\" is configured", id);
            return refuse(resp, 404, req->peer, err);
        }
    } else if (strcmp(req->path, PREFIX) != 0) {
        return refuse(resp, 404, req->peer, "not found");
    }

    const struct pb_checkin_keys *keys = &e->checkin_keys;
    const char *signature = req->header(req, "X-Pulsebot-Signature");
    const char *bearer = req->header(req, "Authorization");
    if (!keys->secret_len && !keys->token_len)
        return refuse(resp, 503, req->peer,
                      "interactions are not accepted here: checkins has no secret_file nor "
                      "token_file");
    int status;
    if (signature && keys->secret_len) {
        status = pb_checkin_signature_check(keys, signature, req->body, req->body_len, pb_now_ms(),
                                            cfg->checkins.max_age_ms, sig, sizeof sig, &sig_expires,
                                            err, sizeof err);
        has_sig = status == 0;
    } else if (bearer && keys->token_len) {
        status = pb_checkin_bearer_check(keys, bearer, err, sizeof err);
    } else {
        status = 401;
        snprintf(err, sizeof err, "%s",
                 keys->secret_len ? "missing X-Pulsebot-Signature: t=<unix seconds>,v1=<hex>"
                                  : "missing Authorization: Bearer <token>");
    }
    if (status)
        return refuse(resp, status, req->peer, err);

    struct pb_interaction in;
    status = pb_checkin_parse(cfg, src, req->body, req->body_len, &in, err, sizeof err);
    if (status)
        return refuse(resp, status, req->peer, err);

    int rc = pb_checkin_intake(e, &in, has_sig ? sig : NULL, sig_expires, outcome, sizeof outcome);
    if (rc == PB_ERR_FORGED)
        return refuse(resp, 401, req->peer,
                      "this signature was used before; sign each request anew");
    if (rc != PB_OK && rc != PB_ERR_DONE)
        return refuse(resp, 503, req->peer, "the interaction could not be stored; retry later");
    pb_metrics_add("interactions_received", 1);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "interaction", in.ext_id);
        cJSON_AddStringToObject(o, "checkin", outcome);
        if (rc == PB_ERR_DONE)
            cJSON_AddBoolToObject(o, "duplicate", 1);
    }
    return respond(resp, 202, o);
}

int pb_checkin_http_register(struct pb_http_server *srv, struct pb_engine *e)
{
    if (pb_http_server_route(srv, PREFIX, interactions, e) != 0)
        return -1;
    return pb_http_server_route(srv, PREFIX "/", interactions, e);
}

/*
 * Configuration keys of customer check-ins: the webhook, its authentication, sources and policies.
 * How the tables work is said in config_keys.c; checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- customer check-ins ---------------------------------------------------------------- */

#define FIELD(key, member, what)                                                                   \
    {                                                                                              \
        .name = key, .type = PB_CFG_STRING, .off = OFF(pb_cfg_checkin_fields, member),             \
        .help = what " A JSON pointer such as `\"/ticket/id\"`, or a literal value."               \
    }

static const struct pb_cfg_key fields_keys[] = {
    FIELD("id", id, "The interaction's id in the help desk; required for webhooks."),
    FIELD("customer_id", customer_id, "The customer's id in the help desk; required for webhooks."),
    FIELD("customer_name", customer_name, "The customer's name."),
    FIELD("customer_email", customer_email, "The customer's email: opt-outs follow it."),
    FIELD("customer_locale", customer_locale, "The customer's language, such as `de`."),
    FIELD("customer_timezone", customer_timezone, "The customer's IANA time zone (kept)."),
    FIELD("connector", connector, "The connector that reaches the customer in chat."),
    FIELD("user", user, "The customer's user id on that connector."),
    FIELD("team", team, "The team that handled the interaction: routing uses it."),
    FIELD("agent", agent, "Who handled it."),
    FIELD("channel", channel, "Where it happened (email, chat, phone)."),
    FIELD("touchpoint", touchpoint, "What kind of interaction: support, delivery, onboarding."),
    FIELD("closed_at", closed_at,
          "When it closed: RFC 3339 text or Unix seconds; default the time it arrived."),
    {.name = "tags",
     .type = PB_CFG_HANDLES,
     .off = OFF(pb_cfg_checkin_fields, tags),
     .off_n = OFF(pb_cfg_checkin_fields, n_tags),
     .help = "Tags by name: `{ tier = \"/account/plan\"; }`, each a JSON pointer or a literal."},
    {NULL},
};

#undef FIELD

static const struct pb_cfg_block fields_block = {
    .path = "checkins.sources[].fields",
    .intro = "Where a source's webhook body holds each field of the interaction. A value that "
             "starts with `/` is a JSON pointer into the body (RFC 6901); any other value is "
             "used as it is. A pointer that finds nothing leaves the field empty.",
    .keys = fields_keys,
};

static const struct pb_cfg_key source_keys[] = {
    {.name = "id",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkin_source, id),
     .help = "Unique id of the source: its webhook is `POST /v1/interactions/<id>`."},
    {.name = "connector",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_connector_name,
     .off = OFF(pb_cfg_checkin_source, connector),
     .help = "Interactions that this connector reports closed in chat come from this source "
             "(the customer is the person the connector names); without a source for it, "
             "they are refused."},
    {.name = "fields",
     .type = PB_CFG_GROUP,
     .sub = &fields_block,
     .off = OFF(pb_cfg_checkin_source, fields),
     .help = "Where each field is: see `checkins.sources[].fields`. For a connector's "
             "interactions only the literal values apply (such as `team`)."},
    {NULL},
};

static const struct pb_cfg_block source_block = {
    .kind = "source",
    .path = "checkins.sources[]",
    .label_key = "id",
    .intro = "Help desks that post their own webhook bodies, and connectors that report closed "
             "interactions in chat.",
    .keys = source_keys,
    .elem_size = sizeof(struct pb_cfg_checkin_source),
    .has_line = 1,
    .line_off = OFF(pb_cfg_checkin_source, line),
};

static const struct pb_cfg_key policy_keys[] = {
    {.name = "survey",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkin_policy, survey),
     .help = "Id of the survey asked, of kind `customer`. Its `window` is the check-in's "
             "expiry, its `thanks` the thank-you, its branches the follow-up after a low score."},
    {.name = "delay",
     .type = PB_CFG_DURATION,
     .def = "15m",
     .off = OFF(pb_cfg_checkin_policy, delay_ms),
     .help = "How long after the interaction closed the customer is asked."},
    {.name = "sample",
     .type = PB_CFG_INT,
     .def = "100",
     .min = 0,
     .max = 100,
     .off = OFF(pb_cfg_checkin_policy, sample),
     .help = "Percent of the interactions asked; which ones follows from the interaction id, "
             "so a retry or a replay decides the same."},
    {.name = "touchpoints",
     .type = PB_CFG_STRINGS,
     .def_doc = "any",
     .off = OFF(pb_cfg_checkin_policy, touchpoints),
     .off_n = OFF(pb_cfg_checkin_policy, n_touchpoints),
     .help = "Only interactions of one of these touchpoints."},
    {.name = "teams",
     .type = PB_CFG_STRINGS,
     .def_doc = "any",
     .off = OFF(pb_cfg_checkin_policy, teams),
     .off_n = OFF(pb_cfg_checkin_policy, n_teams),
     .help = "Only interactions handled by one of these teams or their sub-teams."},
    {.name = "tags",
     .type = PB_CFG_STRINGS,
     .def_doc = "any",
     .off = OFF(pb_cfg_checkin_policy, tags),
     .off_n = OFF(pb_cfg_checkin_policy, n_tags),
     .help = "Only interactions with all of these tags: `\"vip\"` (present) or "
             "`\"tier=gold\"` (that value)."},
    {NULL},
};

static const struct pb_cfg_block policy_block = {
    .kind = "check-in policy",
    .path = "checkins.policies[]",
    .intro = "Which closed interactions get which customer survey. The first policy whose "
             "filters match an interaction decides; an interaction gets at most one check-in.",
    .keys = policy_keys,
    .elem_size = sizeof(struct pb_cfg_checkin_policy),
    .has_line = 1,
    .line_off = OFF(pb_cfg_checkin_policy, line),
};

static void checkins_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                            const char *label)
{
    struct pb_cfg_checkins *c = obj;
    if (c->secret_file && c->secret_credential)
        pb_cfg_error(ctx, pb_cfg_at(s, "secret_credential"),
                     "checkins: give secret_file or secret_credential, not both");
    if (c->token_file && c->token_credential)
        pb_cfg_error(ctx, pb_cfg_at(s, "token_credential"),
                     "checkins: give token_file or token_credential, not both");
}

static const struct pb_cfg_key checkins_keys[] = {
    {.name = "secret_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_checkins, secret_file),
     .help = "File holding the secret of webhook signatures (`X-Pulsebot-Signature: "
             "t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">`)."},
    {.name = "secret_credential",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkins, secret_credential),
     .help = "The same secret as a systemd credential (`LoadCredential=`)."},
    {.name = "token_file",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_checkins, token_file),
     .help = "File holding a bearer token webhooks may send instead "
             "(`Authorization: Bearer <token>`)."},
    {.name = "token_credential",
     .type = PB_CFG_STRING,
     .check = &pb_cfg_check_id,
     .off = OFF(pb_cfg_checkins, token_credential),
     .help = "The same token as a systemd credential."},
    {.name = "max_age",
     .type = PB_CFG_DURATION,
     .def = "5m",
     .min = 1000,
     .off = OFF(pb_cfg_checkins, max_age_ms),
     .help = "A signature older (or further ahead) than this is refused; a signature seen "
             "within it is refused as a replay."},
    {.name = "contact_cap",
     .type = PB_CFG_DURATION,
     .def = "7d",
     .off = OFF(pb_cfg_checkins, contact_cap_ms),
     .help = "At most one check-in per customer in this time, across all check-in surveys, "
             "counted from when one was sent; never a second while one is open."},
    {.name = "max_depth",
     .type = PB_CFG_INT,
     .def = "32",
     .min = 2,
     .max = 256,
     .off = OFF(pb_cfg_checkins, max_depth),
     .help = "Deepest nesting of objects and arrays a webhook body may have."},
    {.name = "stop_words",
     .type = PB_CFG_STRINGS,
     .def_doc = "the built-in ones",
     .off = OFF(pb_cfg_checkins, stop_words),
     .off_n = OFF(pb_cfg_checkins, n_stop_words),
     .help = "Replies that opt a customer out, besides the built-in `stop`, `unsubscribe`, "
             "`stopp`, `arrête`, `arrêter`, `alto`, `basta`, `parar`."},
    {.name = "sources",
     .type = PB_CFG_LIST,
     .sub = &source_block,
     .off = OFF(pb_cfg_checkins, sources),
     .off_n = OFF(pb_cfg_checkins, n_sources),
     .help = "See `checkins.sources[]`."},
    {.name = "policies",
     .type = PB_CFG_LIST,
     .sub = &policy_block,
     .off = OFF(pb_cfg_checkins, policies),
     .off_n = OFF(pb_cfg_checkins, n_policies),
     .help = "See `checkins.policies[]`."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_checkins_block = {
    .path = "checkins",
    .intro = "Customer check-ins after a closed interaction: `POST /v1/interactions`, its "
             "authentication, and the policies. See `docs/checkins.md`.",
    .keys = checkins_keys,
    .finish = checkins_finish,
};

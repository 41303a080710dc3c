/*
 * Every key of the configuration file, declared once: the daemon and connector blocks and the
 * top level here, the other blocks in config_keys_<part>.c. These tables drive the parser (types,
 * ranges, required keys, defaults, unknown-key errors) and pb_config_reference(), which prints
 * docs/configuration.md's key reference, so the code and the documentation cannot disagree.
 * The hooks below hold what a table cannot say: defaults computed from other keys, and checks
 * between keys of one block. Checks across blocks are in config_check.c.
 */
#include "config_internal.h"
#include "tz.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PB_PLUGIN_DIR
/* pb_core gets the real install directory from CMake; this is only the fallback. */
#define PB_PLUGIN_DIR "/usr/local/lib/pulsebot"
#endif

/* ---- daemon ---------------------------------------------------------------------------- */

static void daemon_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_daemon *d = obj;
    if (!pb_cfg_has(s, "state_dir")) {
        /* systemd's StateDirectory= may list several directories: the first is ours. */
        const char *env = getenv("STATE_DIRECTORY");
        if (env && *env) {
            char first[PATH_MAX];
            snprintf(first, sizeof first, "%.*s", (int)strcspn(env, ":"), env);
            d->state_dir = pb_cfg_resolve_path(ctx, first);
        } else {
            d->state_dir = "/var/lib/pulsebot";
        }
    }
    if (!pb_cfg_has(s, "plugin_dir"))
        d->plugin_dir = PB_PLUGIN_DIR;

    char url[512];
    if (!pb_cfg_has(s, "public_url")) {
        const char *host = d->listen ? d->listen : "127.0.0.1";
        /* Listening everywhere says nothing about the name people use; loopback is the one
         * address sure to work on this host. */
        if (strcmp(host, "0.0.0.0") == 0)
            host = "127.0.0.1";
        else if (strcmp(host, "::") == 0)
            host = "::1";
        if (strchr(host, ':'))
            snprintf(url, sizeof url, "http://[%s]:%d", host, d->port);
        else
            snprintf(url, sizeof url, "http://%s:%d", host, d->port);
        d->public_url = pb_cfg_strdup(ctx, url);
    } else if (d->public_url) {
        /* Links are built as public_url + "/path": one slash, whatever was written. */
        size_t n = strlen(d->public_url);
        while (n > 0 && d->public_url[n - 1] == '/')
            n--;
        snprintf(url, sizeof url, "%.*s", (int)n, d->public_url);
        d->public_url = pb_cfg_strdup(ctx, url);
    }
}

static const struct pb_cfg_key http_keys[] = {
    {.name = "listen",
     .type = PB_CFG_STRING,
     .def = "127.0.0.1",
     .check = &pb_cfg_check_host,
     .off = OFF(pb_cfg_daemon, listen),
     .help = "Address the HTTP server listens on (web chat, webhooks, health, metrics)."},
    {.name = "port",
     .type = PB_CFG_INT,
     .def = "8080",
     .min = 0,
     .max = 65535,
     .off = OFF(pb_cfg_daemon, port),
     .help = "TCP port of the HTTP server; 0 picks a free port."},
    {.name = "max_body",
     .type = PB_CFG_SIZE,
     .def = "65536",
     .min = 1024,
     .max = 64 * 1024 * 1024,
     .off = OFF(pb_cfg_daemon, max_body),
     .help = "Largest request body accepted, in bytes."},
    {NULL},
};

static const struct pb_cfg_block http_block = {
    .path = "daemon.http",
    .intro = "The daemon's HTTP server.",
    .keys = http_keys,
};

static const struct pb_cfg_choice log_levels[] = {
    {"err", PB_LOG_ERR},   {"warning", PB_LOG_WARNING}, {"notice", PB_LOG_NOTICE},
    {"info", PB_LOG_INFO}, {"debug", PB_LOG_DEBUG},     {NULL, 0},
};

static const struct pb_cfg_key daemon_keys[] = {
    {.name = "state_dir",
     .type = PB_CFG_PATH,
     .def_doc = "`$STATE_DIRECTORY` if set, else `/var/lib/pulsebot`",
     .off = OFF(pb_cfg_daemon, state_dir),
     .help = "Directory of the database and the signing key."},
    {.name = "plugin_dir",
     .type = PB_CFG_PATH,
     .def_doc = "the installed `<libdir>/pulsebot`",
     .off = OFF(pb_cfg_daemon, plugin_dir),
     .help = "Directory of the connector modules (`<type>.so`)."},
    {.name = "log_level",
     .type = PB_CFG_ENUM,
     .def = "info",
     .choices = log_levels,
     .off = OFF(pb_cfg_daemon, log_level),
     .help = "Least important messages that are logged."},
    {.name = "http",
     .type = PB_CFG_GROUP,
     .sub = &http_block,
     .help = "The HTTP server: see `daemon.http`."},
    {.name = "public_url",
     .type = PB_CFG_STRING,
     .def_doc = "`http://<listen>:<port>`",
     .check = &pb_cfg_check_url,
     .off = OFF(pb_cfg_daemon, public_url),
     .help = "How people reach the HTTP server, for the personal links pulsebot hands out."},
    {.name = "link_ttl",
     .type = PB_CFG_DURATION,
     .def = "30d",
     .min = 1,
     .off = OFF(pb_cfg_daemon, link_ttl_ms),
     .help = "How long a personal link stays valid."},
    {NULL},
};

static const struct pb_cfg_block daemon_block = {
    .path = "daemon",
    .intro = "Settings of the daemon itself. Every key is optional.",
    .keys = daemon_keys,
    .finish = daemon_finish,
};

/* ---- connectors ------------------------------------------------------------------------ */

static void connector_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                             const char *label)
{
    struct pb_cfg_connector *c = obj;
    c->setting = s;
}

static const struct pb_cfg_key connector_keys[] = {
    {.name = "name",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_connector_name,
     .off = OFF(pb_cfg_connector, name),
     .help = "Instance name, used as the key in people's `handles` and before the colon in a "
             "team's `channel`."},
    {.name = "type",
     .type = PB_CFG_STRING,
     .required = 1,
     .check = &pb_cfg_check_module,
     .off = OFF(pb_cfg_connector, type),
     .help = "Module to load: `webchat` loads `webchat.so` from `plugin_dir`."},
    {.name = "implicit_handles",
     .type = PB_CFG_BOOL,
     .def = "false",
     .off = OFF(pb_cfg_connector, implicit_handles),
     .help = "Every person's handle on this connector is their id, unless `handles` says "
             "otherwise."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_connector_block = {
    .kind = "connector",
    .path = "connectors[]",
    .label_key = "name",
    .intro = "One block per connector instance. Besides these keys, a block holds the "
             "options of its module (see the module's documentation); an option of secret "
             "type `x` is given as `x_file = \"path\"` or `x_credential = \"name\"`.",
    .keys = connector_keys,
    .elem_size = sizeof(struct pb_cfg_connector),
    .open = 1,
    .has_line = 1,
    .line_off = OFF(pb_cfg_connector, line),
    .finish = connector_finish,
};

/* ---- roster ---------------------------------------------------------------------------- */

/* Messages name the CSV the way the configuration's own path was given, so that an operator
 * who ran `pulsebotd --check-config etc/pulsebot.conf` reads `etc/people.csv:12: ...`. */
static void roster_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label)
{
    struct pb_cfg_roster *r = obj;
    const char *written = NULL;
    if (!r->csv || !s || !config_setting_lookup_string(s, "csv", &written))
        return;
    const char *slash = strrchr(ctx->cfg->path, '/');
    if (written[0] == '/' || !slash) {
        r->csv_shown = pb_cfg_strdup(ctx, written);
        return;
    }
    char shown[PATH_MAX];
    snprintf(shown, sizeof shown, "%.*s/%s", (int)(slash - ctx->cfg->path), ctx->cfg->path,
             written);
    r->csv_shown = pb_cfg_strdup(ctx, shown);
}

static const struct pb_cfg_key roster_keys[] = {
    {.name = "csv",
     .type = PB_CFG_PATH,
     .off = OFF(pb_cfg_roster, csv),
     .help = "A CSV file of people in the shape an HR system exports, read at start and on "
             "every reload (relative to this file). Its people join `people[]`; a bad row is "
             "reported as `file:line: message` and skipped. See docs/roster.md."},
    {NULL},
};

static const struct pb_cfg_block roster_block = {
    .path = "roster",
    .intro = "Where more of the roster comes from.",
    .keys = roster_keys,
    .finish = roster_finish,
};

/* ---- the file -------------------------------------------------------------------------- */

static const struct pb_cfg_key root_keys[] = {
    {.name = "daemon",
     .type = PB_CFG_GROUP,
     .sub = &daemon_block,
     .off = OFF(pb_config, daemon),
     .help = "The daemon: see `daemon`."},
    {.name = "connectors",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_connector_block,
     .off = OFF(pb_config, connectors),
     .off_n = OFF(pb_config, n_connectors),
     .help = "Chat platforms: see `connectors[]`."},
    {.name = "teams",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_team_block,
     .off = OFF(pb_config, teams),
     .off_n = OFF(pb_config, n_teams),
     .help = "See `teams[]`."},
    {.name = "people",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_person_block,
     .off = OFF(pb_config, people),
     .off_n = OFF(pb_config, n_people),
     .help = "See `people[]`."},
    {.name = "roster",
     .type = PB_CFG_GROUP,
     .sub = &roster_block,
     .off = OFF(pb_config, roster),
     .help = "The roster CSV: see `roster`."},
    {.name = "surveys",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_survey_block,
     .off = OFF(pb_config, surveys),
     .off_n = OFF(pb_config, n_surveys),
     .help = "See `surveys[]`."},
    {.name = "schedules",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_schedule_block,
     .off = OFF(pb_config, schedules),
     .off_n = OFF(pb_config, n_schedules),
     .help = "See `schedules[]`."},
    {.name = "calendars",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_calendar_block,
     .off = OFF(pb_config, calendars),
     .off_n = OFF(pb_config, n_calendars),
     .help = "See `calendars[]`."},
    {.name = "routing",
     .type = PB_CFG_LIST,
     .sub = &pb_cfg_route_block,
     .off = OFF(pb_config, routes),
     .off_n = OFF(pb_config, n_routes),
     .help = "See `routing[]`."},
    {.name = "alerts",
     .type = PB_CFG_GROUP,
     .sub = &pb_cfg_alerts_block,
     .off = OFF(pb_config, alerts),
     .help = "See `alerts`."},
    {.name = "checkins",
     .type = PB_CFG_GROUP,
     .sub = &pb_cfg_checkins_block,
     .off = OFF(pb_config, checkins),
     .help = "See `checkins`."},
    {.name = "reports",
     .type = PB_CFG_GROUP,
     .sub = &pb_cfg_reports_block,
     .off = OFF(pb_config, reports),
     .help = "See `reports`."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_root = {
    .path = "",
    .intro = "The file holds these top-level settings, all optional.",
    .keys = root_keys,
};

/*
 * pulsebotctl: administrative commands that work beside a running daemon.
 *
 *   pulsebotctl [-c FILE] link PERSON [--connector NAME] [--ttl DURATION]
 *
 * prints a personal web chat link for a person on the roster: the connector's page with a
 * token signed by the daemon's key (in its state directory), valid for the configured
 * link_ttl or --ttl. Whoever has the link is that person in the web chat, so send it to them
 * privately.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "roster.h"
#include "token.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: pulsebotctl [-c FILE] link PERSON [--connector NAME] [--ttl DURATION]\n"
                 "  -c, --config FILE   the daemon's configuration (default "
                 "/etc/pulsebot/pulsebot.conf)\n");
}

/* The web chat connector to link to: the named one, or the first of type webchat. */
static const struct pb_cfg_connector *pick_connector(const struct pb_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct pb_cfg_connector *c = &cfg->connectors[i];
        if (name ? strcmp(c->name, name) == 0 : strcmp(c->type, "webchat") == 0)
            return c;
    }
    return NULL;
}

static int link(const struct pb_config *cfg, const char *person, const char *connector,
                int64_t ttl_ms)
{
    const struct pb_cfg_person *p = pb_config_person(cfg, person);
    if (!p) {
        fprintf(stderr, "pulsebotctl: %s is not on the roster in %s\n", person, cfg->path);
        return 1;
    }
    const struct pb_cfg_connector *c = pick_connector(cfg, connector);
    if (!c) {
        fprintf(stderr, "pulsebotctl: no %s connector in %s\n", connector ? connector : "webchat",
                cfg->path);
        return 1;
    }
    struct pb_roster *roster;
    if (pb_roster_build(cfg, &roster) != PB_OK)
        return 1;
    const char *handle = pb_roster_handle(roster, p, c->name);
    struct pb_token t = {.kind = PB_TOKEN_LINK};
    t.expires = (uint32_t)((pb_now_ms() + ttl_ms) / 1000);
    snprintf(t.connector, sizeof t.connector, "%s", c->name);
    snprintf(t.user, sizeof t.user, "%s", handle ? handle : "");
    pb_roster_free(roster);
    if (!handle) {
        fprintf(stderr, "pulsebotctl: %s has no handle on connector %s\n", person, c->name);
        return 1;
    }

    char keypath[PATH_MAX], err[512], token[PB_TOKEN_MAX];
    struct pb_token_key key;
    snprintf(keypath, sizeof keypath, "%s/signing.key", cfg->daemon.state_dir);
    FILE *probe = fopen(keypath, "r");
    if (!probe) {
        fprintf(stderr, "pulsebotctl: no signing key at %s; start pulsebotd once to create it\n",
                keypath);
        return 1;
    }
    fclose(probe);
    if (pb_token_key_load(keypath, &key, err, sizeof err) != PB_OK ||
        pb_token_sign(&key, &t, token, sizeof token) != PB_OK) {
        fprintf(stderr, "pulsebotctl: %s\n", err);
        return 1;
    }
    const char *path = pb_config_connector_string(c, "path");
    const char *base = cfg->daemon.public_url;
    size_t blen = strlen(base);
    if (!path)
        path = "/";
    printf("%.*s%s?t=%s\n", (int)(blen && base[blen - 1] == '/' ? blen - 1 : blen), base, path,
           token);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"config", required_argument, 0, 'c'},
        {"connector", required_argument, 0, 'n'},
        {"ttl", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *path = "/etc/pulsebot/pulsebot.conf", *connector = NULL, *ttl = NULL;
    pb_log_init();
    pb_log_set_level(PB_LOG_WARNING);
    int opt;
    while ((opt = getopt_long(argc, argv, "c:h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 'n':
            connector = optarg;
            break;
        case 't':
            ttl = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (argc - optind != 2 || strcmp(argv[optind], "link") != 0) {
        usage(stderr);
        return 2;
    }
    struct pb_diag diag = {0};
    struct pb_config *cfg = NULL;
    if (pb_config_load(path, &cfg, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.lines[i]);
        pb_diag_free(&diag);
        return 1;
    }
    pb_diag_free(&diag);
    int64_t ttl_ms = ttl ? pb_duration_parse_ms(ttl) : cfg->daemon.link_ttl_ms;
    int rc = 2;
    if (ttl_ms <= 0)
        fprintf(stderr, "pulsebotctl: --ttl %s is not a duration such as 7d or 12h\n", ttl);
    else
        rc = link(cfg, argv[optind + 1], connector, ttl_ms);
    pb_config_free(cfg);
    return rc;
}

/*
 * pulsebotctl link PERSON [--connector NAME] [--ttl DURATION]: prints a personal web chat link
 * for a person on the roster, the connector's page with a token signed by the daemon's key (in
 * its state directory), valid for the configured link_ttl or --ttl. Whoever has the link is
 * that person in the web chat, so send it to them privately.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "roster.h"
#include "token.h"

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

static int print_link(const struct pb_config *cfg, const char *person, const char *connector,
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

static int run(const struct pb_config *cfg, int argc, char **argv)
{
    static const struct option options[] = {
        {"connector", required_argument, 0, 'n'},
        {"ttl", required_argument, 0, 't'},
        {0, 0, 0, 0},
    };
    const char *connector = NULL, *ttl = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (opt == 'n')
            connector = optarg;
        else if (opt == 't')
            ttl = optarg;
        else
            return 2;
    }
    if (argc - optind != 1)
        return 2;
    int64_t ttl_ms = ttl ? pb_duration_parse_ms(ttl) : cfg->daemon.link_ttl_ms;
    if (ttl_ms <= 0) {
        fprintf(stderr, "pulsebotctl: --ttl %s is not a duration such as 7d or 12h\n", ttl);
        return 2;
    }
    return print_link(cfg, argv[optind], connector, ttl_ms);
}

const struct pb_ctl_command pb_ctl_link = {
    .name = "link",
    .usage = "PERSON [--connector NAME] [--ttl DURATION]\n"
             "      a personal web chat link for PERSON, valid for link_ttl or DURATION",
    .run = run,
};

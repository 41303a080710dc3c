/*
 * Connector modules: loading them (dlopen and the ABI handshake) and running each configured
 * connector as an instance with its own host context, through which it reaches the daemon's
 * loop, HTTP client and server, store and engine (see include/pulsebot/plugin.h).
 */
#ifndef PB_PLUGIN_INTERNAL_H
#define PB_PLUGIN_INTERNAL_H

#include <stddef.h>

#include "config.h"
#include "pulsebot/plugin.h"

struct pb_loop;
struct pb_http_server;
struct pb_http_client;
struct pb_store;
struct pb_engine;

struct pb_module;

/* Loads `<dir>/<type>.so` and agrees on an ABI version; modules are cached by type and stay
 * loaded until pb_module_unload_all. On failure `err` says why in words a user can act on. */
int pb_module_load(const char *dir, const char *type, struct pb_module **out, char *err,
                   size_t errlen);
const struct pb_plugin_info *pb_module_info(const struct pb_module *m);
void pb_module_unload_all(void);

/* What a running connector may use. */
struct pb_services {
    struct pb_loop *loop;
    struct pb_http_server *server;
    struct pb_http_client *http;
    struct pb_store *store;
    struct pb_engine *engine;
    int allow_plain; /* ws:// and http:// for connectors (tests with fake platforms) */
};

struct pb_instance;

int pb_instance_create(const struct pb_services *svc, const struct pb_cfg_connector *cfg,
                       struct pb_module *m, struct pb_instance **out);
int pb_instance_start(struct pb_instance *in);
void pb_instance_stop(struct pb_instance *in);
void pb_instance_destroy(struct pb_instance *in);
const char *pb_instance_name(const struct pb_instance *in);

#endif

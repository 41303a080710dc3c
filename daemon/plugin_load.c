/*
 * Loading connector modules. A module is opened with RTLD_NOW (a missing symbol fails here,
 * not at the first message) and RTLD_LOCAL (modules cannot see each other's symbols). The host
 * offers the ABI versions it speaks; a module built for another version is refused with a
 * message that says how to fix it.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "plugin.h"

#define MOD         "plugin"
#define MAX_MODULES 16

struct pb_module {
    char type[64];
    void *handle;
    const struct pb_plugin_info *info;
};

static struct pb_module modules[MAX_MODULES];
static size_t n_modules;

static const uint32_t offered_versions[] = {PB_ABI_VERSION};

static int valid_type(const char *type)
{
    if (!type[0] || strlen(type) >= sizeof modules[0].type)
        return 0;
    for (const char *c = type; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return 0;
    return 1;
}

static int handshake(void *handle, const char *path, const struct pb_plugin_info **info, char *err,
                     size_t errlen)
{
    int (*abi)(const uint32_t *, size_t) =
        (int (*)(const uint32_t *, size_t))dlsym(handle, "pb_plugin_abi");
    const struct pb_plugin_info *(*get)(uint32_t) =
        (const struct pb_plugin_info *(*)(uint32_t))dlsym(handle, "pb_plugin_get");
    if (!abi || !get) {
        snprintf(err, errlen, "%s is not a pulsebot connector (no pb_plugin_abi/pb_plugin_get)",
                 path);
        return PB_ERR;
    }
    int chosen = abi(offered_versions, sizeof offered_versions / sizeof offered_versions[0]);
    int known = 0;
    for (size_t i = 0; i < sizeof offered_versions / sizeof offered_versions[0]; i++)
        known |= chosen >= 0 && (uint32_t)chosen == offered_versions[i];
    if (!known) {
        snprintf(err, errlen,
                 "%s was built for connector ABI version %d, but this pulsebotd speaks version "
                 "%u; rebuild the module against this release's include/pulsebot/plugin.h",
                 path, chosen, (unsigned)PB_ABI_VERSION);
        return PB_ERR;
    }
    *info = get((uint32_t)chosen);
    if (!*info || (*info)->size < offsetof(struct pb_plugin_info, reserved) || !(*info)->create) {
        snprintf(err, errlen, "%s returned no usable description for ABI version %d", path, chosen);
        return PB_ERR;
    }
    return PB_OK;
}

int pb_module_load(const char *dir, const char *type, struct pb_module **out, char *err,
                   size_t errlen)
{
    for (size_t i = 0; i < n_modules; i++)
        if (strcmp(modules[i].type, type) == 0) {
            *out = &modules[i];
            return PB_OK;
        }
    if (!valid_type(type)) {
        snprintf(err, errlen, "connector type \"%s\" is not a module name ([a-z0-9_]+)", type);
        return PB_ERR_INVALID;
    }
    if (n_modules == MAX_MODULES) {
        snprintf(err, errlen, "too many connector types (at most %d)", MAX_MODULES);
        return PB_ERR;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.so", dir, type);
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(err, errlen, "cannot load connector module %s: %s (is plugin_dir right?)", path,
                 dlerror());
        return PB_ERR;
    }
    const struct pb_plugin_info *info = NULL;
    if (handshake(handle, path, &info, err, errlen) != PB_OK) {
        dlclose(handle);
        return PB_ERR;
    }
    struct pb_module *m = &modules[n_modules++];
    snprintf(m->type, sizeof m->type, "%s", type);
    m->handle = handle;
    m->info = info;
    pb_info(MOD, "loaded %s connector %s from %s", type, info->version ? info->version : "", path);
    *out = m;
    return PB_OK;
}

const struct pb_plugin_info *pb_module_info(const struct pb_module *m)
{
    return m->info;
}

void pb_module_unload_all(void)
{
    /* Under a sanitizer, keep modules mapped so leak reports can still name their frames. */
#ifndef PB_KEEP_MODULES
    for (size_t i = 0; i < n_modules; i++)
        dlclose(modules[i].handle);
#endif
    n_modules = 0;
}

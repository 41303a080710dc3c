/*
 * A connector's own block: checked against the option table its module declares once the
 * module is loaded (the core only knows name, type and implicit_handles), then read by the
 * host on the connector's behalf. A secret option `x` is never written in the file itself:
 * the block names where it is, `x_file` or `x_credential`.
 */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const core_keys[] = {"name", "type", "implicit_handles", NULL};

static const char *const secret_suffix[] = {"_file", "_credential"};

static int is_core(const char *name)
{
    for (const char *const *k = core_keys; *k; k++)
        if (strcmp(*k, name) == 0)
            return 1;
    return 0;
}

/* Which option a key belongs to; *which is 0 for x_file, 1 for x_credential, -1 otherwise. */
static const struct pb_option *find_option(const struct pb_option *options, const char *name,
                                           int *which)
{
    *which = -1;
    for (const struct pb_option *o = options; o && o->name; o++) {
        if (o->type != PB_OPT_SECRET) {
            if (strcmp(o->name, name) == 0)
                return o;
            continue;
        }
        size_t n = strlen(o->name);
        for (int w = 0; w < 2; w++) {
            if (strncmp(name, o->name, n) == 0 && strcmp(name + n, secret_suffix[w]) == 0) {
                *which = w;
                return o;
            }
        }
    }
    return NULL;
}

static void suggest_key(const struct pb_option *options, const char *name, char *hint, size_t len)
{
    size_t n = 3;
    for (const struct pb_option *o = options; o && o->name; o++)
        n += o->type == PB_OPT_SECRET ? 2 : 1;
    char **cands = calloc(n, sizeof *cands);
    size_t m = 0;
    pb_cfg_hint(hint, len, NULL);
    if (!cands)
        return;
    for (const char *const *k = core_keys; *k; k++)
        cands[m++] = strdup(*k);
    for (const struct pb_option *o = options; o && o->name; o++) {
        if (o->type != PB_OPT_SECRET) {
            cands[m++] = strdup(o->name);
            continue;
        }
        for (int w = 0; w < 2; w++) {
            size_t l = strlen(o->name) + strlen(secret_suffix[w]) + 1;
            cands[m] = malloc(l);
            if (cands[m])
                snprintf(cands[m], l, "%s%s", o->name, secret_suffix[w]);
            m++;
        }
    }
    pb_cfg_hint(hint, len, pb_cfg_suggest(name, cands, m, sizeof *cands, 0));
    for (size_t i = 0; i < m; i++)
        free(cands[i]);
    free(cands);
}

static int type_ok(const struct pb_option *o, int which, const config_setting_t *m)
{
    int t = config_setting_type(m);
    switch (o->type) {
    case PB_OPT_STRING:
        return t == CONFIG_TYPE_STRING;
    case PB_OPT_INT:
        return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    case PB_OPT_BOOL:
        return t == CONFIG_TYPE_BOOL;
    case PB_OPT_LIST:
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
            return 0;
        for (int i = 0; i < config_setting_length(m); i++)
            if (config_setting_type(config_setting_get_elem(m, (unsigned)i)) != CONFIG_TYPE_STRING)
                return 0;
        return 1;
    case PB_OPT_SECRET: {
        const char *v = t == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
        /* A credential is a file name inside $CREDENTIALS_DIRECTORY, never a path. */
        return v && *v && (which == 0 || !strchr(v, '/'));
    }
    }
    return 0;
}

static const char *type_words(const struct pb_option *o, int which)
{
    switch (o->type) {
    case PB_OPT_STRING:
        return "a string";
    case PB_OPT_INT:
        return "an integer";
    case PB_OPT_BOOL:
        return "true or false";
    case PB_OPT_LIST:
        return "a list of strings such as [ \"a\", \"b\" ]";
    case PB_OPT_SECRET:
        return which == 0 ? "the path of a file holding the secret"
                          : "the name of a systemd credential (no '/')";
    }
    return "something else";
}

static void check_secret(struct pb_cfg_ctx *ctx, const struct pb_cfg_connector *c,
                         const struct pb_option *o)
{
    config_setting_t *s = c->setting;
    char key[2][128];
    for (int w = 0; w < 2; w++)
        snprintf(key[w], sizeof key[w], "%s%s", o->name, secret_suffix[w]);
    int has_file = pb_cfg_has(s, key[0]), has_cred = pb_cfg_has(s, key[1]);
    if (has_file && has_cred)
        pb_cfg_error(ctx, pb_cfg_at(s, key[1]),
                     "connector \"%s\": secret \"%s\" is given twice: keep either %s or %s",
                     c->name, o->name, key[0], key[1]);
    else if (!has_file && !has_cred && o->required)
        pb_cfg_error(ctx, s,
                     "connector \"%s\": missing secret \"%s\": give %s = \"path\" or %s = "
                     "\"credential name\"",
                     c->name, o->name, key[0], key[1]);
    if (has_file && !has_cred) {
        /* Stored resolved, like every path of the file: see config.h. */
        config_setting_t *m = config_setting_get_member(s, key[0]);
        const char *v = config_setting_get_string(m);
        if (v && *v && v[0] != '/') {
            char *full = pb_cfg_path_join(ctx->priv->dir, v);
            if (full)
                config_setting_set_string(m, full);
            free(full);
        }
    }
}

void pb_cfg_check_block(struct pb_cfg_ctx *ctx, const struct pb_cfg_connector *c,
                        const struct pb_option *options)
{
    config_setting_t *s = c->setting;
    if (!s)
        return;
    for (int i = 0; i < config_setting_length(s); i++) {
        config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(m);
        if (is_core(name))
            continue;
        int which;
        const struct pb_option *o = find_option(options, name, &which);
        if (!o) {
            char hint[128];
            suggest_key(options, name, hint, sizeof hint);
            pb_cfg_error(ctx, m, "unknown key \"%s\" in connector \"%s\" of type \"%s\"%s", name,
                         c->name, c->type, hint);
            continue;
        }
        if (!type_ok(o, which, m)) {
            char got[96];
            pb_cfg_describe(m, got, sizeof got);
            pb_cfg_error(ctx, m, "connector \"%s\": %s: expected %s, got %s", c->name, name,
                         type_words(o, which), got);
        }
    }
    for (const struct pb_option *o = options; o && o->name; o++) {
        if (o->type == PB_OPT_SECRET)
            check_secret(ctx, c, o);
        else if (o->required && !pb_cfg_has(s, o->name))
            pb_cfg_error(ctx, s, "connector \"%s\": missing required key \"%s\" (%s)", c->name,
                         o->name, o->help ? o->help : type_words(o, -1));
    }
}

int pb_config_check_connector(const struct pb_config *cfg, const struct pb_cfg_connector *c,
                              const struct pb_option *options, struct pb_diag *diag)
{
    struct pb_cfg_ctx ctx = {.cfg = (struct pb_config *)cfg, .priv = cfg->priv, .diag = diag};
    pb_cfg_check_block(&ctx, c, options);
    pb_cfg_flush(&ctx);
    return ctx.errors;
}

static config_setting_t *member(const struct pb_cfg_connector *c, const char *key)
{
    if (!c || !c->setting || !key)
        return NULL;
    return config_setting_get_member(c->setting, key);
}

const char *pb_config_connector_string(const struct pb_cfg_connector *c, const char *key)
{
    config_setting_t *m = member(c, key);
    return m && config_setting_type(m) == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
}

int pb_config_connector_int(const struct pb_cfg_connector *c, const char *key, long long *out)
{
    config_setting_t *m = member(c, key);
    if (!m)
        return PB_ERR_UNKNOWN;
    int t = config_setting_type(m);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return PB_ERR_INVALID;
    *out = config_setting_get_int64(m);
    return PB_OK;
}

int pb_config_connector_bool(const struct pb_cfg_connector *c, const char *key, int *out)
{
    config_setting_t *m = member(c, key);
    if (!m)
        return PB_ERR_UNKNOWN;
    if (config_setting_type(m) != CONFIG_TYPE_BOOL)
        return PB_ERR_INVALID;
    *out = config_setting_get_bool(m);
    return PB_OK;
}

const char *pb_config_connector_list(const struct pb_cfg_connector *c, const char *key, size_t n)
{
    config_setting_t *m = member(c, key);
    if (!m ||
        (config_setting_type(m) != CONFIG_TYPE_ARRAY && config_setting_type(m) != CONFIG_TYPE_LIST))
        return NULL;
    if (n >= (size_t)config_setting_length(m))
        return NULL;
    config_setting_t *e = config_setting_get_elem(m, (unsigned)n);
    return config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e) : NULL;
}

/*
 * Loading and freeing a configuration, and the lookups the rest of the daemon uses. The
 * reading itself is table-driven (config_parse.c with the tables of config_keys.c); the checks
 * across blocks are in config_check.c; the roster CSV's people are read in config_roster_csv.c.
 * A config is all or nothing: with any error, the caller gets every message and no config, so a
 * reload can keep the running one. Skipped CSV rows are warnings kept in cfg->warnings.
 */
#include "config_internal.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The directory relative paths start from: the config file's, made absolute now so that the
 * daemon can be started from anywhere and the paths stay right whatever it does later. */
static char *config_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *dir = realpath(dirname(copy), NULL);
    free(copy);
    return dir;
}

/* Blocks whose name or type were wrong were reported already; their module is not asked. */
static void check_modules(struct pb_cfg_ctx *ctx, pb_config_options_fn options, void *arg)
{
    struct pb_config *cfg = ctx->cfg;
    for (size_t i = 0; i < cfg->n_connectors; i++) {
        const struct pb_cfg_connector *c = &cfg->connectors[i];
        if (!c->name || !c->type || !c->setting)
            continue;
        char err[1024] = "";
        const struct pb_option *table = options(arg, cfg, c, err, sizeof err);
        if (table)
            pb_cfg_check_block(ctx, c, table);
        else
            pb_cfg_error(ctx, pb_cfg_at(c->setting, "type"), "connector \"%s\": %s", c->name,
                         *err ? err : "cannot load its module");
    }
}

int pb_config_load(const char *path, struct pb_config **out, struct pb_diag *diag)
{
    return pb_config_load_with(path, NULL, NULL, out, diag);
}

static int compare_person_ids(const void *a, const void *b)
{
    const struct pb_cfg_person *const *pa = a, *const *pb = b;
    return strcmp((*pa)->id, (*pb)->id);
}

static int index_people(struct pb_config *cfg)
{
    struct pb_cfg_priv *priv = cfg->priv;
    if (cfg->n_people == 0)
        return PB_OK;
    priv->people_by_id = malloc(cfg->n_people * sizeof *priv->people_by_id);
    if (!priv->people_by_id)
        return PB_ERR_NOMEM;
    for (size_t i = 0; i < cfg->n_people; i++)
        priv->people_by_id[i] = &cfg->people[i];
    qsort(priv->people_by_id, cfg->n_people, sizeof *priv->people_by_id, compare_person_ids);
    return PB_OK;
}

int pb_config_load_with(const char *path, pb_config_options_fn options, void *arg,
                        struct pb_config **out, struct pb_diag *diag)
{
    *out = NULL;
    struct pb_config *cfg = calloc(1, sizeof *cfg);
    struct pb_cfg_priv *priv = calloc(1, sizeof *priv);
    if (!cfg || !priv) {
        free(cfg);
        free(priv);
        pb_diag_add(diag, path, 0, "out of memory");
        return PB_ERR;
    }
    config_init(&priv->lc);
    cfg->priv = priv;
    struct pb_cfg_ctx ctx = {.cfg = cfg, .priv = priv, .diag = diag};
    cfg->path = pb_cfg_strdup(&ctx, path);
    if (!cfg->path) {
        pb_diag_add(diag, path, 0, "out of memory");
        goto fail;
    }

    /* libconfig only says "file I/O error"; the reason is worth a line of its own. */
    FILE *f = fopen(path, "r");
    if (!f) {
        pb_diag_add(diag, path, 0, "cannot read the configuration: %s", strerror(errno));
        goto fail;
    }
    fclose(f);
    priv->dir = config_dir(path);
    if (!priv->dir) {
        pb_diag_add(diag, path, 0, "cannot resolve the configuration's directory: %s",
                    strerror(errno));
        goto fail;
    }
    /* @include "x.conf" is read relative to the config file, like every other path. */
    config_set_include_dir(&priv->lc, priv->dir);
    if (!config_read_file(&priv->lc, path)) {
        const char *file = pb_cfg_display_file(&ctx, config_error_file(&priv->lc));
        pb_diag_add(diag, file, config_error_line(&priv->lc), "%s",
                    config_error_text(&priv->lc) ? config_error_text(&priv->lc) : "cannot read");
        goto fail;
    }

    pb_cfg_parse(&ctx, &pb_cfg_root, config_root_setting(&priv->lc), cfg, "");
    /* Before the cross checks: a team's manager or an audience may name a CSV person. */
    pb_cfg_roster_csv(&ctx);
    pb_cfg_cross_check(&ctx);
    if (options)
        check_modules(&ctx, options, arg);
    pb_cfg_flush(&ctx);
    if (ctx.errors)
        goto fail;
    if (index_people(cfg) != PB_OK) {
        pb_diag_add(diag, path, 0, "out of memory");
        goto fail;
    }
    *out = cfg;
    return PB_OK;

fail:
    pb_config_free(cfg);
    return PB_ERR;
}

void pb_config_free(struct pb_config *cfg)
{
    if (!cfg)
        return;
    pb_cfg_release(&pb_cfg_root, cfg);
    pb_diag_free(&cfg->warnings);
    struct pb_cfg_priv *priv = cfg->priv;
    if (priv) {
        config_destroy(&priv->lc);
        for (size_t i = 0; i < priv->n_strings; i++)
            free(priv->strings[i]);
        free(priv->strings);
        free(priv->people_by_id);
        free(priv->dir);
        free(priv);
    }
    free(cfg);
}

/* ---- lookups --------------------------------------------------------------------------- */

/* Linear: the daemon looks things up while handling one event, and teams, surveys and the like
 * are tens or hundreds (people have an index). Modules that need more build their own index. */
#define FIND(array, n, field, key)                                                                 \
    do {                                                                                           \
        if (!(key))                                                                                \
            return NULL;                                                                           \
        for (size_t i_ = 0; i_ < (n); i_++)                                                        \
            if ((array)[i_].field && strcmp((array)[i_].field, (key)) == 0)                        \
                return &(array)[i_];                                                               \
        return NULL;                                                                               \
    } while (0)

const struct pb_cfg_person *pb_config_person(const struct pb_config *cfg, const char *id)
{
    const struct pb_cfg_priv *priv = cfg->priv;
    if (!priv || !priv->people_by_id) /* still loading: the cross checks look up a few */
        FIND(cfg->people, cfg->n_people, id, id);
    if (!id)
        return NULL;
    struct pb_cfg_person key = {.id = id};
    const struct pb_cfg_person *kp = &key;
    const struct pb_cfg_person *const *hit = bsearch(
        &kp, priv->people_by_id, cfg->n_people, sizeof *priv->people_by_id, compare_person_ids);
    return hit ? *hit : NULL;
}

const struct pb_cfg_team *pb_config_team(const struct pb_config *cfg, const char *id)
{
    FIND(cfg->teams, cfg->n_teams, id, id);
}

const struct pb_cfg_survey *pb_config_survey(const struct pb_config *cfg, const char *id)
{
    FIND(cfg->surveys, cfg->n_surveys, id, id);
}

const struct pb_cfg_question *pb_config_question(const struct pb_cfg_survey *s, const char *id)
{
    FIND(s->questions, s->n_questions, id, id);
}

const struct pb_cfg_connector *pb_config_connector(const struct pb_config *cfg, const char *name)
{
    FIND(cfg->connectors, cfg->n_connectors, name, name);
}

int pb_config_team_within(const struct pb_config *cfg, const char *id, const char *ancestor)
{
    if (!id || !ancestor)
        return 0;
    /* Bounded: a loaded config has no parent loops, but this also runs during the checks. */
    for (size_t steps = 0; steps <= cfg->n_teams; steps++) {
        if (strcmp(id, ancestor) == 0)
            return 1;
        const struct pb_cfg_team *t = pb_config_team(cfg, id);
        if (!t || !t->parent)
            return 0;
        id = t->parent;
    }
    return 0;
}

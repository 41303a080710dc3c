/*
 * The table-driven reader: walks a libconfig group against a block's key table, stores each
 * value in the typed structure, applies defaults and reports unknown keys, wrong types and
 * missing keys with file:line. Nothing here knows about people or surveys; that lives in the
 * tables (config_keys.c) and in the cross checks (config_check.c).
 */
#include "config_internal.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 512

void pb_cfg_error(struct pb_cfg_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
    ctx->errors++;
    if (ctx->n_problems == ctx->cap_problems) {
        size_t cap = ctx->cap_problems ? ctx->cap_problems * 2 : 16;
        struct pb_cfg_problem *v = realloc(ctx->problems, cap * sizeof *v);
        if (!v)
            return;
        ctx->problems = v;
        ctx->cap_problems = cap;
    }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct pb_cfg_problem *p = &ctx->problems[ctx->n_problems];
    p->file = pb_cfg_display_file(ctx, s ? config_setting_source_file(s) : NULL);
    p->included = strcmp(p->file, ctx->cfg->path) != 0;
    p->line = s ? (int)config_setting_source_line(s) : 0;
    p->seq = ctx->n_problems;
    p->text = strdup(msg);
    if (p->text)
        ctx->n_problems++;
}

const char *pb_cfg_display_file(struct pb_cfg_ctx *ctx, const char *file)
{
    const char *main = ctx->cfg->path;
    if (!file || strcmp(file, main) == 0 || file[0] == '/')
        return file ? file : main;
    /* libconfig names an included file as the @include line wrote it, relative to the
     * include directory, which is the main file's: say it the way the main file was named. */
    const char *slash = strrchr(main, '/');
    if (!slash)
        return file;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%.*s/%s", (int)(slash - main), main, file);
    const char *kept = pb_cfg_strdup(ctx, buf);
    return kept ? kept : file;
}

static int problem_cmp(const void *a, const void *b)
{
    const struct pb_cfg_problem *x = a, *y = b;
    int c = x->included - y->included;
    if (!c)
        c = strcmp(x->file, y->file);
    if (!c)
        c = (x->line > y->line) - (x->line < y->line);
    if (!c)
        c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

void pb_cfg_flush(struct pb_cfg_ctx *ctx)
{
    if (ctx->n_problems)
        qsort(ctx->problems, ctx->n_problems, sizeof *ctx->problems, problem_cmp);
    for (size_t i = 0; i < ctx->n_problems; i++) {
        pb_diag_add(ctx->diag, ctx->problems[i].file, ctx->problems[i].line, "%s",
                    ctx->problems[i].text);
        free(ctx->problems[i].text);
    }
    free(ctx->problems);
    ctx->problems = NULL;
    ctx->n_problems = ctx->cap_problems = 0;
}

const config_setting_t *pb_cfg_at(const config_setting_t *s, const char *key)
{
    if (!s)
        return NULL;
    const config_setting_t *m =
        config_setting_is_group(s) ? config_setting_get_member((config_setting_t *)s, key) : NULL;
    return m ? m : s;
}

int pb_cfg_has(const config_setting_t *s, const char *key)
{
    return s && config_setting_is_group(s) &&
           config_setting_get_member((config_setting_t *)s, key) != NULL;
}

void pb_cfg_describe(const config_setting_t *s, char *buf, size_t len)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        snprintf(buf, len, "%lld", config_setting_get_int64(s));
        return;
    case CONFIG_TYPE_FLOAT:
        snprintf(buf, len, "%g", config_setting_get_float(s));
        return;
    case CONFIG_TYPE_BOOL:
        snprintf(buf, len, "%s", config_setting_get_bool(s) ? "true" : "false");
        return;
    case CONFIG_TYPE_GROUP:
        snprintf(buf, len, "a group");
        return;
    case CONFIG_TYPE_LIST:
        snprintf(buf, len, "a list");
        return;
    case CONFIG_TYPE_ARRAY:
        snprintf(buf, len, "an array");
        return;
    case CONFIG_TYPE_STRING:
        break;
    default:
        snprintf(buf, len, "nothing");
        return;
    }
    /* Long strings are cut: the message must stay one readable line. */
    const char *v = config_setting_get_string(s);
    size_t n = strlen(v), max = 40;
    char text[48];
    size_t i;
    for (i = 0; i < n && i < max; i++)
        text[i] = iscntrl((unsigned char)v[i]) ? '?' : v[i];
    text[i] = '\0';
    snprintf(buf, len, "\"%s%s\"", text, n > max ? "..." : "");
}

/* Optimal string alignment distance: edits, with a swap of neighbours as one ("hrad"). */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[la][lb];
}

const char *pb_cfg_suggest(const char *word, const void *base, size_t n, size_t stride, size_t off)
{
    if (!word)
        return NULL;
    /* Short words get one edit: "x" is not a typo of "id". */
    size_t len = strlen(word), limit = len <= 4 ? 1 : 2, best_d = SIZE_MAX;
    const char *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *cand = *(const char *const *)((const char *)base + i * stride + off);
        if (!cand || strcmp(cand, word) == 0)
            continue;
        size_t dist = distance(word, cand);
        /* Replacing every letter is no typo: "c" does not suggest "a". */
        if (dist <= limit && dist < best_d && dist < len && dist < strlen(cand)) {
            best_d = dist;
            best = cand;
        }
    }
    return best;
}

void pb_cfg_hint(char *buf, size_t len, const char *suggestion)
{
    if (suggestion)
        snprintf(buf, len, " (did you mean \"%s\"?)", suggestion);
    else if (len)
        buf[0] = '\0';
}

const char *pb_cfg_strdup(struct pb_cfg_ctx *ctx, const char *s)
{
    struct pb_cfg_priv *p = ctx->priv;
    if (p->n_strings == p->cap_strings) {
        size_t cap = p->cap_strings ? p->cap_strings * 2 : 16;
        char **v = realloc(p->strings, cap * sizeof *v);
        if (!v)
            return NULL;
        p->strings = v;
        p->cap_strings = cap;
    }
    char *copy = strdup(s);
    if (copy)
        p->strings[p->n_strings++] = copy;
    return copy;
}

char *pb_cfg_path_join(const char *dir, const char *path)
{
    size_t cap = strlen(dir) + strlen(path) + 3;
    char *joined = malloc(cap), *out = malloc(cap);
    if (!joined || !out) {
        free(joined);
        free(out);
        return NULL;
    }
    if (path[0] == '/')
        snprintf(joined, cap, "%s", path);
    else
        snprintf(joined, cap, "%s/%s", dir, path);
    /* Lexical clean-up so that "config/../var" is stored as "var": the path is only shown
     * and opened, and the config directory itself came from realpath(). */
    size_t n = 0;
    out[n++] = '/';
    char *save = NULL;
    for (char *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            while (n > 1 && out[n - 1] != '/')
                n--;
            if (n > 1)
                n--;
            continue;
        }
        if (n > 1)
            out[n++] = '/';
        size_t l = strlen(part);
        memcpy(out + n, part, l);
        n += l;
    }
    out[n] = '\0';
    free(joined);
    return out;
}

const char *pb_cfg_resolve_path(struct pb_cfg_ctx *ctx, const char *path)
{
    char *full = pb_cfg_path_join(ctx->priv->dir, path);
    if (!full)
        return NULL;
    const char *kept = pb_cfg_strdup(ctx, full);
    free(full);
    return kept;
}

/* ---- messages ------------------------------------------------------------------------ */

/* Named groups (daemon, daemon.http) are addressed as paths: "daemon.http.port"; items as
 * "person "alice": team". */
static void key_ref(char *buf, size_t len, const struct pb_cfg_block *b, const char *label,
                    const char *key)
{
    if (!*label)
        snprintf(buf, len, "%s", key);
    else if (!b->kind)
        snprintf(buf, len, "%s.%s", label, key);
    else
        snprintf(buf, len, "%s: %s", label, key);
}

static void expected(char *buf, size_t len, const struct pb_cfg_key *k)
{
    switch (k->type) {
    case PB_CFG_STRING:
        snprintf(buf, len, "%s", k->check ? k->check->expected : "a string");
        return;
    case PB_CFG_PATH:
        snprintf(buf, len, "a path (a non-empty string)");
        return;
    case PB_CFG_INT:
    case PB_CFG_SIZE:
        snprintf(buf, len, "an integer from %lld to %lld", k->min, k->max);
        return;
    case PB_CFG_BOOL:
        snprintf(buf, len, "true or false");
        return;
    case PB_CFG_DURATION:
        snprintf(buf, len,
                 "a duration%s such as \"30s\", \"15m\", \"2h\", \"7d\" or a number of "
                 "seconds",
                 k->min > 0 ? " greater than zero" : "");
        return;
    case PB_CFG_ENUM: {
        size_t n = (size_t)snprintf(buf, len, "one of");
        for (const struct pb_cfg_choice *c = k->choices; c->name && n < len; c++)
            n += (size_t)snprintf(buf + n, len - n, "%s \"%s\"", c == k->choices ? "" : ",",
                                  c->name);
        return;
    }
    case PB_CFG_STRINGS:
        snprintf(buf, len, "a list of strings such as [ \"a\", \"b\" ]");
        return;
    case PB_CFG_GROUP:
        snprintf(buf, len, "a group { ... }");
        return;
    case PB_CFG_LIST:
        snprintf(buf, len, "a list of groups ( { ... }, { ... } )");
        return;
    case PB_CFG_HANDLES:
        snprintf(buf, len, "a group of connector = \"user\" pairs");
        return;
    case PB_CFG_CHANNEL:
        snprintf(buf, len, "a channel \"connector:address\"");
        return;
    }
    snprintf(buf, len, "something else");
}

static void type_error(struct pb_cfg_ctx *ctx, const config_setting_t *m,
                       const struct pb_cfg_key *k, const char *ref)
{
    char exp[256], got[96];
    expected(exp, sizeof exp, k);
    pb_cfg_describe(m, got, sizeof got);
    pb_cfg_error(ctx, m, "%s: expected %s, got %s", ref, exp, got);
}

/* ---- values -------------------------------------------------------------------------- */

static int is_int(const config_setting_t *m)
{
    return config_setting_type(m) == CONFIG_TYPE_INT || config_setting_type(m) == CONFIG_TYPE_INT64;
}

static int parse_duration_setting(const config_setting_t *m, int64_t *out)
{
    if (config_setting_type(m) == CONFIG_TYPE_STRING) {
        *out = pb_duration_parse_ms(config_setting_get_string(m));
        return *out < 0 ? -1 : 0;
    }
    if (!is_int(m))
        return -1;
    long long v = config_setting_get_int64(m);
    if (v < 0 || v > INT64_MAX / 1000)
        return -1;
    *out = v * 1000;
    return 0;
}

static const struct pb_cfg_choice *find_choice(const struct pb_cfg_key *k, const char *name)
{
    for (const struct pb_cfg_choice *c = k->choices; c->name; c++)
        if (name && strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void sub_label(char *buf, size_t len, const struct pb_cfg_block *sub, const char *label)
{
    if (!sub->kind)
        snprintf(buf, len, "%s", sub->path);
    else
        snprintf(buf, len, "%s of %s", sub->kind, label);
}

static void item_label(char *buf, size_t len, const struct pb_cfg_block *sub,
                       const config_setting_t *item, size_t index, const char *parent)
{
    const char *name = NULL;
    if (sub->label_key && config_setting_is_group(item)) {
        config_setting_t *m = config_setting_get_member((config_setting_t *)item, sub->label_key);
        if (m && config_setting_type(m) == CONFIG_TYPE_STRING)
            name = config_setting_get_string(m);
    }
    int n = name ? snprintf(buf, len, "%s \"%.64s\"", sub->kind, name)
                 : snprintf(buf, len, "%s #%zu", sub->kind, index + 1);
    if (*parent && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, " in %s", parent);
}

static void parse_strings(struct pb_cfg_ctx *ctx, const struct pb_cfg_key *k, config_setting_t *m,
                          char *obj, const char *ref)
{
    int t = config_setting_type(m);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        type_error(ctx, m, k, ref);
        return;
    }
    size_t n = (size_t)config_setting_length(m), kept = 0;
    const char **v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
        if (config_setting_type(e) != CONFIG_TYPE_STRING || !*config_setting_get_string(e)) {
            char got[96];
            pb_cfg_describe(e, got, sizeof got);
            pb_cfg_error(ctx, e, "%s: expected a list of non-empty strings, got %s", ref, got);
            continue;
        }
        v[kept++] = config_setting_get_string(e);
    }
    *(const char ***)(obj + k->off) = v;
    *(size_t *)(obj + k->off_n) = kept;
}

static void parse_handles(struct pb_cfg_ctx *ctx, const struct pb_cfg_key *k, config_setting_t *m,
                          char *obj, const char *ref)
{
    if (!config_setting_is_group(m)) {
        type_error(ctx, m, k, ref);
        return;
    }
    size_t n = (size_t)config_setting_length(m), kept = 0;
    struct pb_cfg_handle *h = calloc(n ? n : 1, sizeof *h);
    if (!h)
        return;
    for (size_t i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
        if (config_setting_type(e) == CONFIG_TYPE_STRING &&
            strlen(config_setting_get_string(e)) > 127) {
            /* Handles are kept in 128-byte fields in the store. */
            pb_cfg_error(ctx, e, "%s.%s: a user id of at most 127 bytes was expected", ref,
                         config_setting_name(e));
            continue;
        }
        if (config_setting_type(e) != CONFIG_TYPE_STRING || !*config_setting_get_string(e)) {
            char got[96];
            pb_cfg_describe(e, got, sizeof got);
            /* Platform ids look numeric (Discord) but libconfig would mangle large numbers. */
            pb_cfg_error(ctx, e,
                         "%s.%s: expected the user's id as a non-empty string (quote "
                         "numeric ids), got %s",
                         ref, config_setting_name(e), got);
            continue;
        }
        h[kept].connector = config_setting_name(e);
        h[kept++].user = config_setting_get_string(e);
    }
    *(struct pb_cfg_handle **)(obj + k->off) = h;
    *(size_t *)(obj + k->off_n) = kept;
}

static void parse_list(struct pb_cfg_ctx *ctx, const struct pb_cfg_key *k, config_setting_t *m,
                       char *obj, const char *label, const char *ref)
{
    int t = config_setting_type(m);
    /* An empty "[ ]" is an empty list too: libconfig cannot tell them apart by meaning. */
    if (t != CONFIG_TYPE_LIST && !(t == CONFIG_TYPE_ARRAY && config_setting_length(m) == 0)) {
        type_error(ctx, m, k, ref);
        return;
    }
    const struct pb_cfg_block *sub = k->sub;
    size_t n = (size_t)config_setting_length(m);
    if ((long long)n < k->min)
        pb_cfg_error(ctx, m, "%s: expected at least %lld %s, got none", ref, k->min, sub->kind);
    char *items = calloc(n ? n : 1, sub->elem_size);
    if (!items)
        return;
    *(void **)(obj + k->off) = items;
    *(size_t *)(obj + k->off_n) = n;
    for (size_t i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(m, (unsigned)i);
        char il[LABEL_MAX];
        item_label(il, sizeof il, sub, e, i, label);
        if (!config_setting_is_group(e)) {
            char got[96];
            pb_cfg_describe(e, got, sizeof got);
            pb_cfg_error(ctx, e, "%s: expected a group { ... }, got %s", il, got);
            continue;
        }
        pb_cfg_parse(ctx, sub, e, items + i * sub->elem_size, il);
    }
}

static void parse_value(struct pb_cfg_ctx *ctx, const struct pb_cfg_block *b,
                        const struct pb_cfg_key *k, config_setting_t *m, char *obj,
                        const char *label)
{
    char ref[LABEL_MAX + 64];
    key_ref(ref, sizeof ref, b, label, k->name);
    void *p = obj + k->off;
    int t = config_setting_type(m);

    switch (k->type) {
    case PB_CFG_STRING:
    case PB_CFG_PATH: {
        const char *v = t == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
        if (!v || (k->check && !k->check->ok(v)) || (k->type == PB_CFG_PATH && !*v)) {
            type_error(ctx, m, k, ref);
            return;
        }
        *(const char **)p = k->type == PB_CFG_PATH ? pb_cfg_resolve_path(ctx, v) : v;
        return;
    }
    case PB_CFG_INT:
    case PB_CFG_SIZE: {
        long long v = is_int(m) ? config_setting_get_int64(m) : 0;
        if (!is_int(m) || v < k->min || v > k->max) {
            type_error(ctx, m, k, ref);
            return;
        }
        if (k->type == PB_CFG_INT)
            *(int *)p = (int)v;
        else
            *(size_t *)p = (size_t)v;
        return;
    }
    case PB_CFG_BOOL:
        if (t != CONFIG_TYPE_BOOL) {
            type_error(ctx, m, k, ref);
            return;
        }
        *(int *)p = config_setting_get_bool(m);
        return;
    case PB_CFG_DURATION: {
        int64_t v;
        if (parse_duration_setting(m, &v) < 0 || v < k->min) {
            type_error(ctx, m, k, ref);
            return;
        }
        *(int64_t *)p = v;
        return;
    }
    case PB_CFG_ENUM: {
        const struct pb_cfg_choice *c =
            find_choice(k, t == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL);
        if (!c) {
            type_error(ctx, m, k, ref);
            return;
        }
        *(int *)p = c->value;
        return;
    }
    case PB_CFG_STRINGS:
        parse_strings(ctx, k, m, obj, ref);
        return;
    case PB_CFG_GROUP: {
        if (!config_setting_is_group(m)) {
            type_error(ctx, m, k, ref);
            return;
        }
        char sl[LABEL_MAX];
        sub_label(sl, sizeof sl, k->sub, label);
        pb_cfg_parse(ctx, k->sub, m, (char *)p, sl);
        return;
    }
    case PB_CFG_LIST:
        parse_list(ctx, k, m, obj, label, ref);
        return;
    case PB_CFG_HANDLES:
        parse_handles(ctx, k, m, obj, ref);
        return;
    case PB_CFG_CHANNEL: {
        const char *v = t == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
        const char *colon = v ? strchr(v, ':') : NULL;
        if (!colon || colon == v || !colon[1]) {
            type_error(ctx, m, k, ref);
            return;
        }
        char connector[128];
        snprintf(connector, sizeof connector, "%.*s", (int)(colon - v), v);
        struct pb_cfg_channel *ch = p;
        ch->connector = pb_cfg_strdup(ctx, connector);
        ch->address = colon + 1;
        return;
    }
    }
}

static void apply_default(struct pb_cfg_ctx *ctx, const struct pb_cfg_key *k, char *obj,
                          const char *label)
{
    void *p = obj + k->off;
    switch (k->type) {
    case PB_CFG_STRING:
    case PB_CFG_PATH:
        if (k->def)
            *(const char **)p = k->def;
        return;
    case PB_CFG_INT:
        if (k->def)
            *(int *)p = atoi(k->def);
        return;
    case PB_CFG_SIZE:
        if (k->def)
            *(size_t *)p = (size_t)strtoull(k->def, NULL, 10);
        return;
    case PB_CFG_BOOL:
        if (k->def)
            *(int *)p = strcmp(k->def, "true") == 0;
        return;
    case PB_CFG_DURATION:
        if (k->def)
            *(int64_t *)p = pb_duration_parse_ms(k->def);
        return;
    case PB_CFG_ENUM: {
        const struct pb_cfg_choice *c = k->def ? find_choice(k, k->def) : NULL;
        if (c)
            *(int *)p = c->value;
        return;
    }
    case PB_CFG_GROUP: {
        /* An absent group still gets its defaults, and its hook fills the computed ones. */
        char sl[LABEL_MAX];
        sub_label(sl, sizeof sl, k->sub, label);
        pb_cfg_parse(ctx, k->sub, NULL, (char *)p, sl);
        return;
    }
    default:
        return;
    }
}

/* ---- translations ---------------------------------------------------------------------- */

int pb_config_same_locale(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
        char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);
        if (x != y)
            return 0;
    }
    return *a == *b;
}

const struct pb_cfg_translation *pb_config_translation(const struct pb_cfg_translations *tr,
                                                       const char *key, const char *locale)
{
    for (size_t i = 0; tr && locale && i < tr->n; i++)
        if (strcmp(tr->v[i].key, key) == 0 && pb_config_same_locale(tr->v[i].locale, locale))
            return &tr->v[i];
    return NULL;
}

/* The translatable key that `name` is a translation of ("low_label" for "low_label_de"),
 * with *locale pointing at the tag after it; the longest key wins. */
static const struct pb_cfg_key *translated_key(const struct pb_cfg_block *b, const char *name,
                                               const char **locale)
{
    const struct pb_cfg_key *best = NULL;
    for (const struct pb_cfg_key *k = b->keys; k->name; k++) {
        size_t n = strlen(k->name);
        if (k->translatable && strncmp(name, k->name, n) == 0 && name[n] == '_' && name[n + 1] &&
            (!best || n > strlen(best->name))) {
            best = k;
            *locale = name + n + 1;
        }
    }
    return best;
}

/* Reads `text_de = "..."` (or a list, for a list key) into the block's translations. Returns
 * 0 when `m` is no translation at all, so that it is reported as an unknown key. */
static int parse_translation(struct pb_cfg_ctx *ctx, const struct pb_cfg_block *b,
                             config_setting_t *m, char *obj, const char *label)
{
    const char *name = config_setting_name(m), *locale = NULL;
    const struct pb_cfg_key *k = b->has_tr ? translated_key(b, name, &locale) : NULL;
    if (!k)
        return 0;
    char ref[LABEL_MAX + 64];
    key_ref(ref, sizeof ref, b, label, name);
    if (!pb_cfg_check_locale.ok(locale)) {
        pb_cfg_error(ctx, m,
                     "%s: \"%s\" is not a language tag such as \"de\" or \"de-CH\" (a "
                     "translation of %s is written %s_<language>)",
                     ref, locale, k->name, k->name);
        return 1;
    }
    struct pb_cfg_translations *tr = (struct pb_cfg_translations *)(obj + b->tr_off);
    if (pb_config_translation(tr, k->name, locale)) {
        pb_cfg_error(ctx, m, "%s: %s is translated into \"%s\" twice", ref, k->name, locale);
        return 1;
    }
    struct pb_cfg_translation t = {.key = k->name, .locale = locale};
    if (k->type == PB_CFG_STRINGS) {
        struct pb_cfg_key lk = *k;
        struct pb_cfg_translation got = {0};
        lk.off = offsetof(struct pb_cfg_translation, list);
        lk.off_n = offsetof(struct pb_cfg_translation, n_list);
        parse_strings(ctx, &lk, m, (char *)&got, ref);
        if (!got.list)
            return 1;
        t.list = got.list;
        t.n_list = got.n_list;
    } else {
        const char *v =
            config_setting_type(m) == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
        if (!v || (k->check && !k->check->ok(v))) {
            type_error(ctx, m, k, ref);
            return 1;
        }
        t.text = v;
    }
    struct pb_cfg_translation *v = realloc(tr->v, (tr->n + 1) * sizeof *v);
    if (!v) {
        free(t.list);
        return 1;
    }
    tr->v = v;
    tr->v[tr->n++] = t;
    return 1;
}

static const struct pb_cfg_key *find_key(const struct pb_cfg_block *b, const char *name)
{
    for (const struct pb_cfg_key *k = b->keys; k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

void pb_cfg_parse(struct pb_cfg_ctx *ctx, const struct pb_cfg_block *b, config_setting_t *s,
                  void *obj, const char *label)
{
    char *o = obj;
    size_t n = s ? (size_t)config_setting_length(s) : 0;
    for (size_t i = 0; i < n; i++) {
        config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(m);
        const struct pb_cfg_key *k = find_key(b, name);
        if (k) {
            parse_value(ctx, b, k, m, o, label);
            continue;
        }
        if (b->open || parse_translation(ctx, b, m, o, label))
            continue;
        size_t nk = 0;
        while (b->keys[nk].name)
            nk++;
        char hint[128];
        pb_cfg_hint(
            hint, sizeof hint,
            pb_cfg_suggest(name, b->keys, nk, sizeof *b->keys, offsetof(struct pb_cfg_key, name)));
        if (*label)
            pb_cfg_error(ctx, m, "unknown key \"%s\" in %s%s", name, label, hint);
        else
            pb_cfg_error(ctx, m, "unknown key \"%s\" at the top level%s", name, hint);
    }
    for (const struct pb_cfg_key *k = b->keys; k->name; k++) {
        if (pb_cfg_has(s, k->name))
            continue;
        if (k->required && s)
            pb_cfg_error(ctx, s, "%s: missing required key \"%s\"", label, k->name);
        else if (!k->required)
            apply_default(ctx, k, o, label);
    }
    if (b->has_line && s)
        *(int *)(o + b->line_off) = (int)config_setting_source_line(s);
    if (b->finish)
        b->finish(ctx, s, obj, label);
}

void pb_cfg_release(const struct pb_cfg_block *b, void *obj)
{
    char *o = obj;
    if (b->has_tr) {
        struct pb_cfg_translations *tr = (struct pb_cfg_translations *)(o + b->tr_off);
        for (size_t i = 0; i < tr->n; i++)
            free(tr->v[i].list);
        free(tr->v);
        tr->v = NULL;
        tr->n = 0;
    }
    for (const struct pb_cfg_key *k = b->keys; k->name; k++) {
        switch (k->type) {
        case PB_CFG_LIST: {
            char *items = *(char **)(o + k->off);
            size_t n = *(size_t *)(o + k->off_n);
            for (size_t i = 0; items && i < n; i++)
                pb_cfg_release(k->sub, items + i * k->sub->elem_size);
            free(items);
            break;
        }
        case PB_CFG_STRINGS:
        case PB_CFG_HANDLES:
            free(*(void **)(o + k->off));
            break;
        case PB_CFG_GROUP:
            pb_cfg_release(k->sub, o + k->off);
            break;
        default:
            break;
        }
    }
}

/*
 * Shared by the config_*.c files only: the key tables that drive parsing, defaults, unknown-key
 * errors and the generated reference, and the loader's working state. Nothing outside the
 * config module includes this.
 */
#ifndef PB_CONFIG_INTERNAL_H
#define PB_CONFIG_INTERNAL_H

#include <libconfig.h>
#include <stddef.h>

#include "config.h"

/* What a pb_config owns besides its arrays: libconfig's tree (its strings are referenced by the
 * typed structures, and connector blocks are read from it later) and the strings the loader
 * made itself (resolved paths, split channels). */
struct pb_cfg_priv {
    config_t lc;
    char *dir; /* absolute directory of the config file: relative paths start here */
    char **strings;
    size_t n_strings, cap_strings;
    /* People sorted by id, built once the file is loaded: a roster from an HR export may hold
     * a hundred thousand, and every message to a person looks them up. */
    const struct pb_cfg_person **people_by_id;
};

/* A problem found, held back so that all of them can be reported in file order. */
struct pb_cfg_problem {
    const char *file;
    int included; /* from an @include'd file: after the main file's */
    int line;
    size_t seq;
    char *text;
};

struct pb_cfg_ctx {
    struct pb_config *cfg;
    struct pb_cfg_priv *priv;
    struct pb_diag *diag;
    int errors;
    struct pb_cfg_problem *problems;
    size_t n_problems, cap_problems;
};

enum pb_cfg_type {
    PB_CFG_STRING = 1, /* const char *, optionally validated by `check` */
    PB_CFG_PATH,       /* const char *, resolved against the config file's directory */
    PB_CFG_INT,        /* int within [min, max] */
    PB_CFG_SIZE,       /* size_t within [min, max] */
    PB_CFG_BOOL,       /* int 0/1 */
    PB_CFG_DURATION,   /* int64_t milliseconds, at least `min` */
    PB_CFG_ENUM,       /* int, one of `choices` */
    PB_CFG_STRINGS,    /* const char ** at off, size_t count at off_n */
    PB_CFG_GROUP,      /* nested block `sub`, its fields at off within the same object */
    PB_CFG_LIST,       /* list of blocks `sub`: array at off, count at off_n; at least `min` */
    PB_CFG_HANDLES,    /* { connector = "user"; ... } into struct pb_cfg_handle at off/off_n */
    PB_CFG_CHANNEL,    /* "connector:address" into struct pb_cfg_channel at off */
};

struct pb_cfg_choice {
    const char *name;
    int value;
};

/* A rule for a string's content. */
struct pb_cfg_check {
    const char *type_doc; /* the reference's type column */
    const char *expected; /* "expected ..., got ..." */
    int (*ok)(const char *value);
};

struct pb_cfg_block;

struct pb_cfg_key {
    const char *name;
    enum pb_cfg_type type;
    int required;
    const char *def;     /* default in the file's syntax, applied by the parser; NULL: none */
    const char *def_doc; /* default in words, when a hook computes it */
    const char *help;
    size_t off, off_n;
    long long min, max;
    const struct pb_cfg_check *check;
    const struct pb_cfg_choice *choices; /* terminated by { NULL } */
    const struct pb_cfg_block *sub;
    /* STRING and STRINGS: `<name>_<locale>` (text_de, options_de-CH) gives it in another
     * language, kept in the block's translations (see has_tr). */
    int translatable;
};

struct pb_cfg_block {
    const char *kind;              /* "person": how messages name one of these */
    const char *path;              /* "people[]": the heading in the reference */
    const char *label_key;         /* "id": the key that names an item in messages, or NULL */
    const char *intro;             /* a sentence for the reference */
    const struct pb_cfg_key *keys; /* terminated by { NULL } */
    size_t elem_size;              /* for list items */
    int open;     /* keys not in the table are allowed (a connector module's own options) */
    int has_line; /* the object has an `int line` at line_off */
    size_t line_off;
    /* Runs after the keys were read and defaulted: computed defaults and checks that involve
     * several keys. `s` is NULL when the block was absent from the file. */
    void (*finish)(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj, const char *label);
    int has_tr;    /* the object has a struct pb_cfg_translations at tr_off */
    size_t tr_off; /* for its keys marked translatable */
};

extern const struct pb_cfg_block pb_cfg_root;
extern const struct pb_cfg_block pb_cfg_connector_block;
/* The blocks of the file, each declared in its config_keys_<part>.c. */
extern const struct pb_cfg_block pb_cfg_team_block;
extern const struct pb_cfg_block pb_cfg_person_block;
extern const struct pb_cfg_block pb_cfg_survey_block;
extern const struct pb_cfg_block pb_cfg_schedule_block;
extern const struct pb_cfg_block pb_cfg_calendar_block;
extern const struct pb_cfg_block pb_cfg_route_block;
extern const struct pb_cfg_block pb_cfg_alerts_block;
extern const struct pb_cfg_block pb_cfg_checkins_block;
extern const struct pb_cfg_block pb_cfg_reports_block;
/* "employee" and "customer": surveys and routing rules both name a kind. */
extern const struct pb_cfg_choice pb_cfg_survey_kinds[];

#define OFF(type, field) offsetof(struct type, field)

/* config_parse.c */
void pb_cfg_parse(struct pb_cfg_ctx *ctx, const struct pb_cfg_block *b, config_setting_t *s,
                  void *obj, const char *label);
/* Frees the arrays the parser allocated for `obj` (strings belong to the priv). */
void pb_cfg_release(const struct pb_cfg_block *b, void *obj);
void pb_cfg_error(struct pb_cfg_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How messages name a file libconfig reports (an @include'd one is relative to the main). */
const char *pb_cfg_display_file(struct pb_cfg_ctx *ctx, const char *file);
/* Moves the problems into ctx->diag, sorted by file (the main file first) and line. */
void pb_cfg_flush(struct pb_cfg_ctx *ctx);
/* The setting of `key` in group `s` if present, else `s` itself: where to point an error. */
const config_setting_t *pb_cfg_at(const config_setting_t *s, const char *key);
int pb_cfg_has(const config_setting_t *s, const char *key);
/* A short rendering of what the file holds, for "got ..." */
void pb_cfg_describe(const config_setting_t *s, char *buf, size_t len);
/* The closest of `n` strings found at base + i * stride + off, or NULL if none is close. */
const char *pb_cfg_suggest(const char *word, const void *base, size_t n, size_t stride, size_t off);
/* " (did you mean "x"?)" or "" */
void pb_cfg_hint(char *buf, size_t len, const char *suggestion);
const char *pb_cfg_strdup(struct pb_cfg_ctx *ctx, const char *s);
const char *pb_cfg_resolve_path(struct pb_cfg_ctx *ctx, const char *path);
char *pb_cfg_path_join(const char *dir, const char *path); /* malloc'd, lexically normalised */

/* config_values.c: the content rules */
extern const struct pb_cfg_check pb_cfg_check_id, pb_cfg_check_text, pb_cfg_check_connector_name,
    pb_cfg_check_module, pb_cfg_check_timezone, pb_cfg_check_url, pb_cfg_check_locale,
    pb_cfg_check_email, pb_cfg_check_host;

/* config_connector.c: a connector block against its module's options */
void pb_cfg_check_block(struct pb_cfg_ctx *ctx, const struct pb_cfg_connector *c,
                        const struct pb_option *options);

/* config_roster_csv.c: the people of roster.csv join cfg->people (before the cross checks);
 * a bad row is a warning in cfg->warnings and is skipped, an unreadable file or a bad header
 * an error. */
void pb_cfg_roster_csv(struct pb_cfg_ctx *ctx);

/* config_keys_calendars.c: calendar ids unique, one default, the calendars teams and
 * schedules name exist; called by pb_cfg_cross_check. */
void pb_cfg_check_calendars(struct pb_cfg_ctx *ctx);

/* config_check.c: what needs the whole file */
void pb_cfg_cross_check(struct pb_cfg_ctx *ctx);

#endif

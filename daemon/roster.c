/*
 * The roster (see roster.h). People and teams live in the configuration; this module adds the
 * index from (connector, handle) to person that every incoming event needs.
 */
#include "roster.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tz.h"

struct handle_entry {
    const char *connector;
    const char *user;
    const struct pb_cfg_person *person;
};

/* A learned handle owns its strings; entries are allocated one by one so that the indexes'
 * pointers into them stay valid as more are learned. */
struct learned {
    char connector[64];
    char user[128];
    char timezone[64]; /* "" when not reported, or not a zone this system knows */
    char locale[32];
    int unreachable; /* not a handle: the account cannot be sent to */
    const struct pb_cfg_person *person;
};

struct pb_roster {
    const struct pb_config *cfg;
    struct handle_entry *handles; /* by (connector, user) */
    size_t n_handles, cap_handles;
    struct learned **learned; /* by (connector, person id) */
    size_t n_learned, cap_learned;
};

static int compare_handles(const void *a, const void *b)
{
    const struct handle_entry *x = a, *y = b;
    int c = strcmp(x->connector, y->connector);
    return c ? c : strcmp(x->user, y->user);
}

int pb_roster_build(const struct pb_config *cfg, struct pb_roster **out)
{
    struct pb_roster *r = calloc(1, sizeof *r);
    if (!r)
        return PB_ERR_NOMEM;
    r->cfg = cfg;
    size_t cap = 0;
    for (size_t i = 0; i < cfg->n_people; i++)
        cap += cfg->people[i].n_handles + cfg->n_connectors;
    r->cap_handles = cap ? cap : 1;
    r->handles = calloc(r->cap_handles, sizeof *r->handles);
    if (!r->handles) {
        free(r);
        return PB_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        for (size_t c = 0; c < cfg->n_connectors; c++) {
            const char *user = pb_roster_handle(r, p, cfg->connectors[c].name);
            if (user)
                r->handles[r->n_handles++] =
                    (struct handle_entry){cfg->connectors[c].name, user, p};
        }
    }
    qsort(r->handles, r->n_handles, sizeof *r->handles, compare_handles);
    *out = r;
    return PB_OK;
}

void pb_roster_free(struct pb_roster *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_learned; i++)
        free(r->learned[i]);
    free(r->learned);
    free(r->handles);
    free(r);
}

static int compare_learned(const struct learned *l, const char *connector, const char *person)
{
    int c = strcmp(l->connector, connector);
    return c ? c : strcmp(l->person->id, person);
}

/* The position of (connector, person) among the learned handles, or where it would go. */
static size_t learned_position(const struct pb_roster *r, const char *connector, const char *person,
                               int *found)
{
    size_t lo = 0, hi = r->n_learned;
    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = compare_learned(r->learned[mid], connector, person);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int grow(void **array, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return PB_OK;
    size_t want = *cap ? *cap * 2 : 16;
    void *p = realloc(*array, want * size);
    if (!p)
        return PB_ERR_NOMEM;
    *array = p;
    *cap = want;
    return PB_OK;
}

int pb_roster_learn(struct pb_roster *r, const char *connector, const struct pb_cfg_person *p,
                    const char *user)
{
    struct pb_roster_found f = {.user = user};
    return pb_roster_learn_found(r, connector, p, &f);
}

/* A platform's word for a zone is used only if this system can convert times in it. */
static void keep_zone(char *dst, size_t size, const char *zone)
{
    const struct pb_tz *tz;
    char err[128];
    dst[0] = '\0';
    if (zone && *zone && strlen(zone) < size && pb_tz_get(zone, &tz, err, sizeof err) == PB_OK)
        snprintf(dst, size, "%s", zone);
}

/* A locale is kept only in the shape of a language tag: it may end up in messages and logs. */
static void keep_locale(char *dst, size_t size, const char *locale)
{
    dst[0] = '\0';
    if (!locale || !isalpha((unsigned char)locale[0]) || strlen(locale) >= size)
        return;
    for (const char *c = locale; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_')
            return;
    snprintf(dst, size, "%s", locale);
}

int pb_roster_learn_found(struct pb_roster *r, const char *connector, const struct pb_cfg_person *p,
                          const struct pb_roster_found *f)
{
    int found;
    const char *user = f->user ? f->user : "";
    if (pb_roster_handle(r, p, connector) ||
        (!f->unreachable && pb_roster_by_handle(r, connector, user)))
        return PB_ERR_DONE;
    size_t at = learned_position(r, connector, p->id, &found);
    if (found)
        return PB_ERR_DONE; /* an unreachable account learned before */
    struct learned *l = calloc(1, sizeof *l);
    if (!l || grow((void **)&r->learned, &r->cap_learned, r->n_learned, sizeof *r->learned) ||
        grow((void **)&r->handles, &r->cap_handles, r->n_handles, sizeof *r->handles)) {
        free(l);
        return PB_ERR_NOMEM;
    }
    snprintf(l->connector, sizeof l->connector, "%s", connector);
    snprintf(l->user, sizeof l->user, "%s", user);
    keep_zone(l->timezone, sizeof l->timezone, f->timezone);
    keep_locale(l->locale, sizeof l->locale, f->locale);
    l->unreachable = f->unreachable;
    l->person = p;
    memmove(&r->learned[at + 1], &r->learned[at], (r->n_learned - at) * sizeof *r->learned);
    r->learned[at] = l;
    r->n_learned++;
    if (l->unreachable)
        return PB_OK; /* known, but not a handle anyone is reached by */
    /* Insert into the (connector, user) index where it sorts. */
    struct handle_entry e = {l->connector, l->user, p};
    size_t pos = 0;
    while (pos < r->n_handles && compare_handles(&r->handles[pos], &e) < 0)
        pos++;
    memmove(&r->handles[pos + 1], &r->handles[pos], (r->n_handles - pos) * sizeof *r->handles);
    r->handles[pos] = e;
    r->n_handles++;
    return PB_OK;
}

const struct pb_config *pb_roster_config(const struct pb_roster *r)
{
    return r->cfg;
}

const struct pb_cfg_person *pb_roster_by_handle(const struct pb_roster *r, const char *connector,
                                                const char *user)
{
    if (!connector || !user)
        return NULL;
    struct handle_entry key = {connector, user, NULL};
    const struct handle_entry *e =
        bsearch(&key, r->handles, r->n_handles, sizeof *r->handles, compare_handles);
    return e ? e->person : NULL;
}

const char *pb_roster_handle(const struct pb_roster *r, const struct pb_cfg_person *p,
                             const char *connector)
{
    for (size_t i = 0; i < p->n_handles; i++)
        if (strcmp(p->handles[i].connector, connector) == 0)
            return p->handles[i].user;
    const struct pb_cfg_connector *c = pb_config_connector(r->cfg, connector);
    if (c && c->implicit_handles)
        return p->id;
    int found;
    size_t at = learned_position(r, connector, p->id, &found);
    return found && !r->learned[at]->unreachable ? r->learned[at]->user : NULL;
}

/* The first learned entry of the person (in connector order) that `pick` accepts. */
static const struct learned *first_learned(const struct pb_roster *r, const struct pb_cfg_person *p,
                                           int (*pick)(const struct learned *l))
{
    for (size_t i = 0; r->n_learned && i < r->cfg->n_connectors; i++) {
        int found;
        size_t at = learned_position(r, r->cfg->connectors[i].name, p->id, &found);
        if (found && pick(r->learned[at]))
            return r->learned[at];
    }
    return NULL;
}

static int has_zone(const struct learned *l)
{
    return l->timezone[0] != '\0';
}

static int has_locale(const struct learned *l)
{
    return l->locale[0] != '\0';
}

static int is_unreachable(const struct learned *l)
{
    return l->unreachable;
}

const char *pb_roster_timezone(const struct pb_roster *r, const struct pb_cfg_person *p)
{
    if (p->timezone)
        return p->timezone;
    const struct learned *l = first_learned(r, p, has_zone);
    return l ? l->timezone : NULL;
}

const char *pb_roster_locale(const struct pb_roster *r, const struct pb_cfg_person *p)
{
    if (p->locale)
        return p->locale;
    const struct learned *l = first_learned(r, p, has_locale);
    return l ? l->locale : NULL;
}

const char *pb_roster_unreachable_on(const struct pb_roster *r, const struct pb_cfg_person *p)
{
    const struct learned *l = first_learned(r, p, is_unreachable);
    return l ? l->connector : NULL;
}

const struct pb_cfg_connector *pb_roster_reach(const struct pb_roster *r,
                                               const struct pb_cfg_person *p, const char **handle)
{
    for (size_t i = 0; i < r->cfg->n_connectors; i++) {
        const char *h = pb_roster_handle(r, p, r->cfg->connectors[i].name);
        if (h) {
            *handle = h;
            return &r->cfg->connectors[i];
        }
    }
    return NULL;
}

static int visit_team_channel(const struct pb_cfg_team *t, const char *connector,
                              int (*visit)(void *, const char *, const char *), void *arg)
{
    if (!t->channel.connector || strcmp(t->channel.connector, connector) != 0)
        return 0;
    return visit(arg, t->channel.address, t->name ? t->name : t->id);
}

int pb_roster_channels(const struct pb_roster *r, const struct pb_cfg_person *p,
                       const char *connector,
                       int (*visit)(void *arg, const char *channel, const char *title), void *arg)
{
    const struct pb_config *cfg = r->cfg;
    for (size_t i = 0; i < cfg->n_teams; i++) {
        const struct pb_cfg_team *t = &cfg->teams[i];
        int member = p->team && pb_config_team_within(cfg, p->team, t->id);
        int manages = t->manager && strcmp(t->manager, p->id) == 0;
        if (!member && !manages)
            continue;
        int rc = visit_team_channel(t, connector, visit, arg);
        if (rc)
            return rc;
    }
    return 0;
}

int pb_roster_may_act(const struct pb_roster *r, const struct pb_cfg_person *p, const char *team)
{
    const struct pb_config *cfg = r->cfg;
    if (p->team && pb_config_team_within(cfg, p->team, team))
        return 1;
    for (const struct pb_cfg_team *t = pb_config_team(cfg, team); t;
         t = t->parent ? pb_config_team(cfg, t->parent) : NULL)
        if (t->manager && strcmp(t->manager, p->id) == 0)
            return 1;
    return 0;
}

const struct pb_cfg_team *pb_roster_alert_team(const struct pb_roster *r, const char *team)
{
    for (const struct pb_cfg_team *t = pb_config_team(r->cfg, team); t;
         t = t->parent ? pb_config_team(r->cfg, t->parent) : NULL)
        if (t->channel.connector)
            return t;
    return NULL;
}

static int listed(const char *const *list, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], id) == 0)
            return 1;
    return 0;
}

int pb_roster_audience(const struct pb_roster *r, const struct pb_cfg_audience *a,
                       int (*visit)(void *arg, const struct pb_cfg_person *p), void *arg)
{
    const struct pb_config *cfg = r->cfg;
    for (size_t i = 0; i < cfg->n_people; i++) {
        const struct pb_cfg_person *p = &cfg->people[i];
        if (listed(a->exclude, a->n_exclude, p->id))
            continue;
        int in = listed(a->people, a->n_people, p->id);
        for (size_t t = 0; !in && p->team && t < a->n_teams; t++)
            in = pb_config_team_within(cfg, p->team, a->teams[t]);
        if (!in)
            continue;
        int rc = visit(arg, p);
        if (rc)
            return rc;
    }
    return 0;
}

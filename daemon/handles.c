/*
 * Finding people on platforms that can look a user up by email (Slack, Mattermost): a person
 * in the roster with an email and no configured handle on such a connector is looked up once;
 * the answer, found or not, is kept in the store, so a restart does not ask again, and a
 * person the platform does not know is asked about again only after a week. A few lookups
 * are in flight at a time; the connector paces them against its platform's limits. The time
 * zone and locale the platform reports fill the person's when the roster has none, and an
 * account found deactivated (or a bot) is remembered as the reason a delivery cannot go out.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "log.h"
#include "metrics.h"

#define MOD             "roster"
#define IN_FLIGHT       8
#define RECHECK_MS      (7LL * 24 * 3600 * 1000)
#define LOOKUP_RETRY_MS 30000

struct checked {
    const char **people; /* sorted person ids already answered for this connector */
    size_t n, cap;
    struct pb_engine *e;
};

static int learn_or_note(void *arg, const struct pb_handle *h)
{
    struct checked *c = arg;
    const struct pb_cfg_person *p = pb_config_person(c->e->cfg, h->person);
    if (!p)
        return 0; /* no longer on the roster */
    if (h->state != PB_HANDLE_NOT_FOUND) {
        struct pb_roster_found f = {h->user, h->timezone, h->locale,
                                    h->state == PB_HANDLE_UNREACHABLE};
        pb_roster_learn_found(c->e->roster, h->connector, p, &f);
    }
    if (h->state != PB_HANDLE_NOT_FOUND || pb_now_ms() - h->checked_ms < RECHECK_MS) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            const char **people = realloc(c->people, cap * sizeof *people);
            if (!people)
                return PB_ERR_NOMEM;
            c->people = people;
            c->cap = cap;
        }
        c->people[c->n++] = p->id; /* the scan is in person order */
    }
    return 0;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int has_lookup(const struct pb_attached *a)
{
    return a->conn.size >=
               offsetof(struct pb_connector, lookup_user) + sizeof a->conn.lookup_user &&
           a->conn.lookup_user != NULL;
}

static int already_asked(const struct pb_engine *e, const char *connector, const char *person)
{
    for (size_t i = 0; i < e->n_lookups; i++)
        if (strcmp(e->lookups[i].connector, connector) == 0 &&
            strcmp(e->lookups[i].person, person) == 0)
            return 1;
    return 0;
}

/* Queues the people this connector should be asked about; sends the first few. */
void pb_handles_discover(struct pb_engine *e, struct pb_attached *a)
{
    struct checked c = {.e = e};
    if (pb_store_handle_scan(e->store, a->name, learn_or_note, &c) < 0 || !has_lookup(a)) {
        free(c.people);
        return;
    }
    if (c.n)
        qsort(c.people, c.n, sizeof *c.people, compare_ids);
    for (size_t i = 0; i < e->cfg->n_people; i++) {
        const struct pb_cfg_person *p = &e->cfg->people[i];
        if (!p->email || pb_roster_handle(e->roster, p, a->name) ||
            (c.n && bsearch(&p->id, c.people, c.n, sizeof *c.people, compare_ids)) ||
            already_asked(e, a->name, p->id))
            continue;
        struct pb_lookup *l = realloc(e->lookups, (e->n_lookups + 1) * sizeof *l);
        if (!l)
            break;
        e->lookups = l;
        l = &e->lookups[e->n_lookups++];
        memset(l, 0, sizeof *l);
        pb_copy(l->connector, sizeof l->connector, a->name);
        pb_copy(l->person, sizeof l->person, p->id);
    }
    free(c.people);
    pb_handles_pump(e);
}

static void forget(struct pb_engine *e, size_t i)
{
    e->lookups[i] = e->lookups[--e->n_lookups];
}

/* Starts lookups while fewer than IN_FLIGHT are outstanding. */
void pb_handles_pump(struct pb_engine *e)
{
    size_t busy = 0;
    for (size_t i = 0; i < e->n_lookups; i++)
        busy += e->lookups[i].request != 0;
    for (size_t i = 0; i < e->n_lookups && busy < IN_FLIGHT; i++) {
        struct pb_lookup *l = &e->lookups[i];
        const struct pb_cfg_person *p = pb_config_person(e->cfg, l->person);
        struct pb_attached *a = pb_engine_attached(e, l->connector);
        if (l->request)
            continue;
        if (!p || !p->email || !a || a->down || !has_lookup(a))
            continue;
        l->request = ++e->last_request;
        int rc = a->conn.lookup_user(a->conn.self, l->request, p->email);
        if (rc == PB_OK) {
            busy++;
            continue;
        }
        l->request = 0;
        if (rc == PB_ERR_BUSY) {
            /* The connector cannot take more now: an answer pumps again, or a timer. */
            if (!busy)
                e->lookup_retry = pb_now_ms() + LOOKUP_RETRY_MS;
            break;
        }
        /* Refused for good (an address the platform will never accept): noted as not found,
         * so it is not asked again for a week and does not block the people behind it. */
        pb_warn(MOD, "%s cannot look up %s's email address (status %d); noted as not found",
                l->connector, l->person, rc);
        struct pb_handle h = {.state = PB_HANDLE_NOT_FOUND, .checked_ms = pb_now_ms()};
        pb_copy(h.connector, sizeof h.connector, l->connector);
        pb_copy(h.person, sizeof h.person, l->person);
        pb_store_handle_put(e->store, &h);
        forget(e, i--);
    }
}

void pb_engine_lookup_done(struct pb_engine *e, const char *connector, uint64_t request, int status,
                           const struct pb_user_info *info)
{
    size_t i = 0;
    while (i < e->n_lookups && e->lookups[i].request != request)
        i++;
    if (i == e->n_lookups || strcmp(e->lookups[i].connector, connector) != 0) {
        pb_warn(MOD, "%s answered a lookup that was not asked (%llu); ignored", connector,
                (unsigned long long)request);
        return;
    }
    struct pb_lookup l = e->lookups[i];
    const struct pb_cfg_person *p = pb_config_person(e->cfg, l.person);
    if (status == PB_ERR_BUSY) {
        e->lookups[i].request = 0; /* asked again a little later */
        e->lookup_retry = pb_now_ms() + LOOKUP_RETRY_MS;
        return;
    }
    forget(e, i);
    struct pb_handle h = {.checked_ms = pb_now_ms()};
    pb_copy(h.connector, sizeof h.connector, connector);
    pb_copy(h.person, sizeof h.person, l.person);
    if (status == PB_OK && info && info->user) {
        h.state = info->deleted || info->is_bot ? PB_HANDLE_UNREACHABLE : PB_HANDLE_FOUND;
        pb_copy(h.user, sizeof h.user, info->user);
        pb_copy(h.timezone, sizeof h.timezone, info->timezone);
        pb_copy(h.locale, sizeof h.locale, info->locale);
    } else if (status == PB_ERR_UNKNOWN) {
        h.state = PB_HANDLE_NOT_FOUND;
    } else {
        pb_warn(MOD, "%s could not look up %s (status %d); it will be tried at the next start",
                connector, l.person, status);
        pb_handles_pump(e);
        return;
    }
    struct pb_roster_found f = {h.user, h.timezone, h.locale, h.state == PB_HANDLE_UNREACHABLE};
    int stored = pb_store_handle_put(e->store, &h) == PB_OK;
    if (stored && p && h.state == PB_HANDLE_UNREACHABLE)
        pb_roster_learn_found(e->roster, connector, p, &f); /* why a delivery cannot go */
    if (stored && p && h.state == PB_HANDLE_FOUND &&
        pb_roster_learn_found(e->roster, connector, p, &f) == PB_OK) {
        pb_metrics_add("handles_found", 1);
        pb_info(MOD, "%s is %s on %s", l.person, h.user, connector);
    } else if (h.state != PB_HANDLE_FOUND) {
        pb_info(MOD, "%s: %s %s", connector, l.person,
                h.state == PB_HANDLE_NOT_FOUND ? "has no account with that email"
                                               : "is deactivated or a bot; not asked there");
    }
    pb_handles_pump(e);
}

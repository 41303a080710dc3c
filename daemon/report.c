/*
 * Building a survey report (see report.h): gather the deliveries and answers the filter
 * covers, count them per team and question, add sub-teams into their parents, apply the
 * anonymity thresholds (report_suppress.c) and copy out only what may be shown.
 */
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- memory the report owns ---- */

struct priv {
    void **ptrs;
    size_t n, cap;
};

static void *keep(struct priv *p, void *ptr)
{
    if (!ptr)
        return NULL;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        void **v = realloc(p->ptrs, cap * sizeof *v);
        if (!v) {
            free(ptr);
            return NULL;
        }
        p->ptrs = v;
        p->cap = cap;
    }
    p->ptrs[p->n++] = ptr;
    return ptr;
}

static void *zalloc(struct priv *p, size_t n, size_t size)
{
    return keep(p, calloc(n ? n : 1, size));
}

static const char *dupstr(struct priv *p, const char *s)
{
    return keep(p, strdup(s ? s : ""));
}

/* ---- what the store gave ---- */

struct dl {
    int state, answers;
    char team[64];
    char person[64];
};

struct ans {
    int has_score, score;
    int listed; /* its text is one of the report's comments */
    char *text; /* malloc'd or NULL */
    char question[64], team[64], person[64];
};

struct build {
    const struct pb_config *cfg;
    const struct pb_cfg_survey *sv;
    struct pb_report *r;
    struct priv *p;
    struct dl *dls;
    size_t n_dls, cap_dls;
    struct ans *ans;
    size_t n_ans, cap_ans;
    size_t cap_groups, cap_questions;
    int oom;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 32;
    void *nv = realloc(*v, c * size);
    if (!nv)
        return -1;
    *v = nv;
    *cap = c;
    return 0;
}

static int on_delivery(void *arg, const struct pb_report_delivery *d)
{
    struct build *b = arg;
    if (grow((void **)&b->dls, &b->cap_dls, b->n_dls, sizeof *b->dls) != 0)
        return PB_ERR_NOMEM;
    struct dl *x = &b->dls[b->n_dls++];
    x->state = d->state;
    x->answers = d->answers;
    snprintf(x->team, sizeof x->team, "%s", d->team);
    snprintf(x->person, sizeof x->person, "%s", d->person);
    return 0;
}

static int on_answer(void *arg, const struct pb_answer *a)
{
    struct build *b = arg;
    if (grow((void **)&b->ans, &b->cap_ans, b->n_ans, sizeof *b->ans) != 0)
        return PB_ERR_NOMEM;
    struct ans *x = &b->ans[b->n_ans];
    memset(x, 0, sizeof *x);
    x->has_score = a->has_score;
    x->score = a->score;
    if (a->text && a->text[0] && !(x->text = strdup(a->text)))
        return PB_ERR_NOMEM;
    snprintf(x->question, sizeof x->question, "%s", a->question);
    snprintf(x->team, sizeof x->team, "%s", a->team);
    snprintf(x->person, sizeof x->person, "%s", a->person);
    b->n_ans++;
    return 0;
}

/* ---- groups and questions ---- */

static int add_group(struct build *b, const char *team, const char *name, int parent)
{
    struct pb_report *r = b->r;
    if (grow((void **)&r->groups, &b->cap_groups, r->n_groups, sizeof *r->groups) != 0) {
        b->oom = 1;
        return -1;
    }
    struct pb_report_group *g = &r->groups[r->n_groups];
    memset(g, 0, sizeof *g);
    g->team = team ? dupstr(b->p, team) : NULL;
    g->name = dupstr(b->p, name);
    g->parent = parent;
    g->depth = parent < 0 ? 0 : r->groups[parent].depth + 1;
    if ((team && !g->team) || !g->name) {
        b->oom = 1;
        return -1;
    }
    return (int)r->n_groups++;
}

/* The configured teams below `parent_id` (NULL: the top), depth first, in file order. */
static void add_teams(struct build *b, const char *parent_id, int parent_index)
{
    const struct pb_config *cfg = b->cfg;
    for (size_t i = 0; i < cfg->n_teams && !b->oom; i++) {
        const struct pb_cfg_team *t = &cfg->teams[i];
        int top = !t->parent || !pb_config_team(cfg, t->parent);
        if (parent_id ? (top || strcmp(t->parent, parent_id) != 0) : !top)
            continue;
        int gi = add_group(b, t->id, t->name ? t->name : t->id, parent_index);
        if (gi >= 0)
            add_teams(b, t->id, gi);
    }
}

/* The group of a team id: "" is the whole survey's own; a team the configuration no longer
 * has becomes a group of its own under the whole. */
static int group_of(struct build *b, const char *team)
{
    if (!team || !team[0])
        return 0;
    struct pb_report *r = b->r;
    for (size_t i = 1; i < r->n_groups; i++)
        if (strcmp(r->groups[i].team, team) == 0)
            return (int)i;
    return add_group(b, team, team, 0);
}

static int question_of(struct build *b, const char *id)
{
    struct pb_report *r = b->r;
    for (size_t i = 0; i < r->n_questions; i++)
        if (strcmp(r->questions[i].id, id) == 0)
            return (int)i;
    if (grow((void **)&r->questions, &b->cap_questions, r->n_questions, sizeof *r->questions)) {
        b->oom = 1;
        return -1;
    }
    struct pb_report_question *q = &r->questions[r->n_questions];
    memset(q, 0, sizeof *q);
    q->id = q->text = dupstr(b->p, id);
    q->lo = q->hi = 0;
    if (!q->id) {
        b->oom = 1;
        return -1;
    }
    return (int)r->n_questions++;
}

static void add_questions(struct build *b)
{
    for (size_t i = 0; b->sv && i < b->sv->n_questions && !b->oom; i++) {
        const struct pb_cfg_question *cq = &b->sv->questions[i];
        int qi = question_of(b, cq->id);
        if (qi < 0)
            return;
        struct pb_report_question *q = &b->r->questions[qi];
        q->text = cq->text ? dupstr(b->p, cq->text) : q->id;
        switch (cq->type) {
        case PB_QUESTION_SCALE:
            q->scored = 1;
            q->lo = cq->min;
            q->hi = cq->max;
            q->nps = cq->min == 0 && cq->max == 10;
            q->labels = cq->labels;
            q->n_labels = cq->n_labels;
            break;
        case PB_QUESTION_YESNO: {
            static const char *const yes_no[] = {"no", "yes"};
            q->scored = q->categorical = 1;
            q->lo = 0;
            q->hi = 1;
            q->labels = yes_no;
            q->n_labels = 2;
            break;
        }
        case PB_QUESTION_CHOICE:
            /* The option's index is the score; its text is not a comment. */
            q->scored = q->categorical = 1;
            q->lo = 0;
            q->hi = cq->n_options > 0 ? (int)cq->n_options - 1 : 0;
            q->labels = cq->options;
            q->n_labels = cq->n_options;
            break;
        default:
            q->has_text = 1;
            break;
        }
    }
}

/* Questions and teams only the answers know, and every question's score range. */
static void scan_answers(struct build *b)
{
    for (size_t i = 0; i < b->n_ans && !b->oom; i++) {
        const struct ans *a = &b->ans[i];
        int qi = question_of(b, a->question);
        if (qi < 0 || group_of(b, a->team) < 0)
            return;
        struct pb_report_question *q = &b->r->questions[qi];
        /* A yes/no or choice answer keeps its word beside the score: that is no comment. */
        if (a->text && !a->has_score)
            q->has_text = 1;
        if (!a->has_score)
            continue;
        if (!q->scored) {
            q->scored = 1;
            q->lo = q->hi = a->score;
        }
        if (a->score < q->lo)
            q->lo = a->score;
        if (a->score > q->hi)
            q->hi = a->score;
    }
}

/* The team a delivery counts under: its first answer's, else the person's on the roster. */
static const char *delivery_team(struct build *b, const struct dl *d)
{
    if (d->answers > 0)
        return d->team;
    const struct pb_cfg_person *p = d->person[0] ? pb_config_person(b->cfg, d->person) : NULL;
    return p && p->team ? p->team : "";
}

/* ---- counting ---- */

/* Own counts per group (before sub-groups are added in), one array per figure. */
struct counts {
    size_t *resp, *asked, *dna, *open, *unreach;
    size_t *n, *sum_pos, *sum_neg, *prom, *detr, *texts; /* [group * nq + question] */
    size_t *dist; /* [(group * nq + question) * width + score - lo] */
    size_t width;
};

static void add_up(const struct pb_report *r, size_t *v, size_t stride)
{
    for (size_t g = r->n_groups; g-- > 1;) {
        size_t p = (size_t)r->groups[g].parent;
        for (size_t j = 0; j < stride; j++)
            v[p * stride + j] += v[g * stride + j];
    }
}

static int count_all(struct build *b, struct counts *c)
{
    struct pb_report *r = b->r;
    size_t ng = r->n_groups, nq = r->n_questions;
    c->width = 1;
    for (size_t q = 0; q < nq; q++)
        if (r->questions[q].scored &&
            (size_t)(r->questions[q].hi - r->questions[q].lo + 1) > c->width)
            c->width = (size_t)(r->questions[q].hi - r->questions[q].lo + 1);
    size_t **arrays[] = {&c->resp, &c->asked, &c->dna, &c->open, &c->unreach};
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        if (!(*arrays[i] = zalloc(b->p, ng, sizeof(size_t))))
            return PB_ERR_NOMEM;
    size_t **cells[] = {&c->n, &c->sum_pos, &c->sum_neg, &c->prom, &c->detr, &c->texts};
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        if (!(*cells[i] = zalloc(b->p, ng * nq, sizeof(size_t))))
            return PB_ERR_NOMEM;
    if (!(c->dist = zalloc(b->p, ng * nq * c->width, sizeof(size_t))))
        return PB_ERR_NOMEM;

    for (size_t i = 0; i < b->n_dls; i++) {
        const struct dl *d = &b->dls[i];
        int g = group_of(b, delivery_team(b, d));
        if (g < 0)
            return PB_ERR_NOMEM;
        if (d->answers > 0)
            c->resp[g]++;
        else if (d->state == PB_DELIVERY_UNREACHABLE)
            c->unreach[g]++;
        else if (d->state == PB_DELIVERY_EXPIRED || d->state == PB_DELIVERY_COMPLETED)
            c->dna[g]++;
        else if (d->state < PB_DELIVERY_COMPLETED)
            c->open[g]++;
        else
            continue; /* a state this build does not know: neither asked nor answered */
        c->asked[g] += d->answers > 0 || d->state != PB_DELIVERY_UNREACHABLE;
    }
    if (r->n_groups != ng)
        return PB_ERR_INVALID; /* group_of added a group after the arrays were sized */
    for (size_t i = 0; i < b->n_ans; i++) {
        const struct ans *a = &b->ans[i];
        size_t g = (size_t)group_of(b, a->team), q = (size_t)question_of(b, a->question);
        const struct pb_report_question *rq = &r->questions[q];
        size_t cell = g * nq + q;
        if (a->text && !a->has_score)
            c->texts[cell]++;
        if (!a->has_score)
            continue;
        c->n[cell]++;
        if (a->score >= 0)
            c->sum_pos[cell] += (size_t)a->score;
        else
            c->sum_neg[cell] += (size_t)-a->score;
        c->prom[cell] += a->score >= 9;
        c->detr[cell] += a->score <= 6;
        c->dist[cell * c->width + (size_t)(a->score - rq->lo)]++;
    }
    for (size_t i = 0; i < sizeof arrays / sizeof *arrays; i++)
        add_up(r, *arrays[i], 1);
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++)
        add_up(r, *cells[i], nq);
    add_up(r, c->dist, nq * c->width);
    return PB_OK;
}

/* ---- suppression and the public figures ---- */

/* Which groups hide one figure: the rule for anonymous surveys, nothing otherwise. */
static int hide(struct build *b, const int *parent, const size_t *v, size_t stride, size_t col,
                size_t k, int *hidden)
{
    size_t ng = b->r->n_groups;
    if (!b->r->anonymous) {
        memset(hidden, 0, ng * sizeof *hidden);
        return PB_OK;
    }
    size_t *count = malloc(ng * sizeof *count);
    if (!count)
        return PB_ERR_NOMEM;
    for (size_t g = 0; g < ng; g++)
        count[g] = v[g * stride + col];
    int rc = pb_report_suppress(ng, parent, count, k, hidden);
    free(count);
    return rc;
}

static int cmp_comment(const void *x, const void *y)
{
    const struct pb_report_comment *a = x, *b = y;
    return strcmp(a->text, b->text);
}

/* Lists each text answer of question q under the nearest group that shows comments. */
static int list_comments(struct build *b, size_t q, const int *hidden)
{
    struct pb_report *r = b->r;
    for (size_t i = 0; i < b->n_ans; i++) {
        struct ans *a = &b->ans[i];
        if (!a->text || a->has_score || strcmp(a->question, r->questions[q].id) != 0)
            continue;
        int g = group_of(b, a->team);
        while (g >= 0 && hidden[g])
            g = r->groups[g].parent;
        if (g < 0)
            continue;
        struct pb_report_cell *cell = &r->groups[g].cells[q];
        struct pb_report_comment *c = &cell->comments[cell->n_listed++];
        c->text = a->text;
        c->author = NULL;
        a->listed = 1;
        if (!r->anonymous && a->person[0]) {
            const struct pb_cfg_person *p = pb_config_person(b->cfg, a->person);
            c->author = p && p->name ? p->name : dupstr(b->p, a->person);
        }
    }
    for (size_t g = 0; g < r->n_groups; g++) {
        struct pb_report_cell *cell = &r->groups[g].cells[q];
        if (cell->n_listed > 1)
            qsort(cell->comments, cell->n_listed, sizeof *cell->comments, cmp_comment);
    }
    return PB_OK;
}

static int fill(struct build *b, const struct counts *c)
{
    struct pb_report *r = b->r;
    size_t ng = r->n_groups, nq = r->n_questions;
    int *parent = zalloc(b->p, ng, sizeof *parent), *hidden = zalloc(b->p, ng, sizeof *hidden);
    if (!parent || !hidden)
        return PB_ERR_NOMEM;
    for (size_t g = 0; g < ng; g++) {
        parent[g] = r->groups[g].parent;
        if (!(r->groups[g].cells = zalloc(b->p, nq, sizeof *r->groups[g].cells)))
            return PB_ERR_NOMEM;
    }
    size_t kg = (size_t)r->min_group, kc = (size_t)r->min_comments;

    int rc = hide(b, parent, c->resp, 1, 0, kg, hidden);
    for (size_t g = 0; rc == PB_OK && g < ng; g++) {
        struct pb_report_participation *pt = &r->groups[g].part;
        /* Per team, an anonymous survey's deliveries no longer say whose they were. */
        pt->known = g == 0 || !r->anonymous;
        pt->shown = !hidden[g];
        if (pt->shown) {
            pt->respondents = c->resp[g];
            pt->did_not_answer = pt->known ? c->dna[g] : 0;
        }
        if (pt->known) {
            pt->asked = c->asked[g];
            pt->open = c->open[g];
            pt->unreachable = c->unreach[g];
        }
    }

    for (size_t q = 0; rc == PB_OK && q < nq; q++) {
        const struct pb_report_question *rq = &r->questions[q];
        size_t width = rq->scored ? (size_t)(rq->hi - rq->lo + 1) : 0;
        rc = hide(b, parent, c->n, nq, q, kg, hidden);
        for (size_t g = 0; rc == PB_OK && g < ng; g++) {
            struct pb_report_cell *cell = &r->groups[g].cells[q];
            size_t at = g * nq + q;
            cell->shown = !hidden[g];
            if (!cell->shown || !rq->scored)
                continue;
            cell->n = c->n[at];
            if (cell->n) {
                cell->mean = ((double)c->sum_pos[at] - (double)c->sum_neg[at]) / (double)cell->n;
                cell->nps = 100.0 * ((double)c->prom[at] - (double)c->detr[at]) / (double)cell->n;
            }
            if (!(cell->dist = zalloc(b->p, width, sizeof *cell->dist)))
                return PB_ERR_NOMEM;
            memcpy(cell->dist, &c->dist[at * c->width], width * sizeof *cell->dist);
        }
        if (rc != PB_OK || !rq->has_text)
            continue;
        rc = hide(b, parent, c->texts, nq, q, kc, hidden);
        for (size_t g = 0; rc == PB_OK && g < ng; g++) {
            struct pb_report_cell *cell = &r->groups[g].cells[q];
            cell->comments_shown = !hidden[g];
            if (!cell->comments_shown)
                continue;
            cell->n_comments = c->texts[g * nq + q];
            /* At most every comment of the group can be listed here. */
            if (!(cell->comments = zalloc(b->p, cell->n_comments, sizeof *cell->comments)))
                return PB_ERR_NOMEM;
        }
        if (rc == PB_OK)
            rc = list_comments(b, q, hidden);
    }
    return rc;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int pb_report_build(struct pb_store *s, const struct pb_config *cfg,
                    const struct pb_report_filter *f, struct pb_report **out, char *err,
                    size_t errlen)
{
    if (!s || !cfg || !f || !f->survey || !out)
        return PB_ERR_INVALID;
    *out = NULL;
    struct pb_report *r = calloc(1, sizeof *r);
    struct priv *p = calloc(1, sizeof *p);
    struct build b = {.cfg = cfg, .sv = pb_config_survey(cfg, f->survey), .r = r, .p = p};
    int rc = PB_ERR_NOMEM;
    if (!r || !p) {
        free(r);
        free(p);
        set_err(err, errlen, "out of memory");
        return PB_ERR_NOMEM;
    }
    r->priv = p;
    r->survey = dupstr(p, f->survey);
    r->title = b.sv && b.sv->title ? dupstr(p, b.sv->title) : NULL;
    /* Without its definition nobody can say the survey was not anonymous: assume it was. */
    r->anonymous = b.sv ? b.sv->anonymous : 1;
    r->min_group = cfg->reports.min_group > 0 ? cfg->reports.min_group : 5;
    r->min_comments =
        cfg->reports.min_comments > r->min_group ? cfg->reports.min_comments : r->min_group;
    r->filter = *f;
    r->filter.survey = r->survey;
    r->filter.schedule = f->schedule ? dupstr(p, f->schedule) : NULL;
    if (!r->survey || add_group(&b, NULL, "All", -1) != 0)
        goto out_err;
    add_teams(&b, NULL, 0);
    add_questions(&b);
    if (b.oom)
        goto out_err;

    rc = pb_store_snapshot_begin(s);
    if (rc == PB_OK) {
        rc = pb_store_report_deliveries(s, f, on_delivery, &b);
        if (rc == PB_OK)
            rc = pb_store_report_answers(s, f, on_answer, &b);
        pb_store_snapshot_end(s);
    }
    if (rc != PB_OK) {
        set_err(err, errlen, "could not read the answers of %s from the store", f->survey);
        goto out;
    }
    scan_answers(&b);
    /* Every group a delivery can name must exist before the arrays are sized. */
    for (size_t i = 0; i < b.n_dls && !b.oom; i++)
        group_of(&b, delivery_team(&b, &b.dls[i]));
    struct counts c;
    memset(&c, 0, sizeof c);
    rc = b.oom ? PB_ERR_NOMEM : count_all(&b, &c);
    if (rc == PB_OK)
        rc = fill(&b, &c);
    if (rc == PB_OK && b.oom)
        rc = PB_ERR_NOMEM;
out_err:
    if (rc == PB_ERR_NOMEM)
        set_err(err, errlen, "out of memory");
out:
    /* The texts listed as comments move to the report; the rest of the raw data goes, so
     * the report holds nothing it does not show. */
    for (size_t i = 0; i < b.n_ans; i++) {
        if (!b.ans[i].text)
            continue;
        if (rc != PB_OK || !b.ans[i].listed)
            free(b.ans[i].text);
        else if (!keep(p, b.ans[i].text)) /* keep freed it */
            rc = PB_ERR_NOMEM;
    }
    free(b.ans);
    free(b.dls);
    if (rc != PB_OK) {
        pb_report_free(r);
        return rc;
    }
    *out = r;
    return PB_OK;
}

void pb_report_free(struct pb_report *r)
{
    if (!r)
        return;
    struct priv *p = r->priv;
    if (p) {
        for (size_t i = 0; i < p->n; i++)
            free(p->ptrs[i]);
        free(p->ptrs);
        free(p);
    }
    free(r->groups);
    free(r->questions);
    free(r);
}

/*
 * Writing a built report as text for people, CSV for spreadsheets and JSON for programs. It
 * only reads what pb_report_build left in the report, which holds no suppressed value, so a
 * format cannot show more than the thresholds allow; a hidden figure is written as "hidden"
 * (text, CSV) or "shown": false (JSON), the same word whether the group was small or was
 * hidden so that a smaller one cannot be worked out, since telling them apart would say which
 * groups are the small ones.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- shared ---- */

static void date_text(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

static double rate(const struct pb_report_participation *p)
{
    return p->asked ? 100.0 * (double)p->respondents / (double)p->asked : 0.0;
}

static int rate_shown(const struct pb_report_participation *p)
{
    return p->known && p->shown && p->asked > 0;
}

/* In the by-question view every comment of the survey is listed under the whole survey when
 * it shows comments: the union of the groups' lists, which then holds every comment. */
static struct pb_report_comment *all_comments(const struct pb_report *r, size_t q, size_t *n_out)
{
    size_t n = 0;
    for (size_t g = 0; g < r->n_groups; g++)
        n += r->groups[g].cells[q].n_listed;
    struct pb_report_comment *v = calloc(n ? n : 1, sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t g = 0; g < r->n_groups; g++)
        for (size_t i = 0; i < r->groups[g].cells[q].n_listed; i++)
            v[k++] = r->groups[g].cells[q].comments[i];
    /* Sorted by text as the groups' lists are, so the order carries no team either. */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && strcmp(v[j - 1].text, v[j].text) > 0; j--) {
            struct pb_report_comment t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    *n_out = k;
    return v;
}

/* The comments to write for group g, question q in this view; *owned when to free. */
static const struct pb_report_comment *comments_of(const struct pb_report *r, size_t g, size_t q,
                                                   enum pb_report_by by, size_t *n, int *owned)
{
    const struct pb_report_cell *c = &r->groups[g].cells[q];
    *owned = 0;
    *n = c->n_listed;
    if (by == PB_REPORT_BY_QUESTION && c->comments_shown) {
        struct pb_report_comment *v = all_comments(r, q, n);
        *owned = v != NULL;
        return v ? v : c->comments;
    }
    return c->comments;
}

static size_t n_groups_in(const struct pb_report *r, enum pb_report_by by)
{
    return by == PB_REPORT_BY_TEAM ? r->n_groups : 1;
}

/* ---- text ---- */

static void text_scores(const struct pb_report_question *q, const struct pb_report_cell *c,
                        FILE *out)
{
    if (!c->shown) {
        fprintf(out, "hidden*\n");
        return;
    }
    fprintf(out, "%zu answer%s", c->n, c->n == 1 ? "" : "s");
    if (c->n) {
        if (!q->categorical)
            fprintf(out, ", mean %.2f", c->mean);
        if (q->nps)
            fprintf(out, ", NPS %+.0f", c->nps);
        fprintf(out, " |");
        for (int v = q->lo; v <= q->hi; v++) {
            size_t i = (size_t)(v - q->lo);
            if (q->labels && i < q->n_labels)
                fprintf(out, " %s:%zu", q->labels[i], c->dist[i]);
            else
                fprintf(out, " %d:%zu", v, c->dist[i]);
        }
    }
    fprintf(out, "\n");
}

static void text_comments(const struct pb_report *r, size_t g, size_t q, enum pb_report_by by,
                          const char *pad, FILE *out)
{
    const struct pb_report_cell *c = &r->groups[g].cells[q];
    if (!c->comments_shown) {
        fprintf(out, "%s    comments: hidden*\n", pad);
        return;
    }
    size_t n;
    int owned;
    const struct pb_report_comment *v = comments_of(r, g, q, by, &n, &owned);
    fprintf(out, "%s    comments: %zu", pad, c->n_comments);
    if (by == PB_REPORT_BY_TEAM && n != c->n_comments)
        fprintf(out, " (%zu listed here, the others under a sub-team)", n);
    fprintf(out, "\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s      - ", pad);
        /* One line per comment: a line break a person wrote would look like a new entry. */
        for (const char *s = v[i].text; *s; s++)
            fputc(*s == '\n' || *s == '\r' ? ' ' : *s, out);
        if (v[i].author)
            fprintf(out, " (%s)", v[i].author);
        fprintf(out, "\n");
    }
    if (owned)
        free((void *)v);
}

static void write_text(const struct pb_report *r, enum pb_report_by by, FILE *out)
{
    fprintf(out, "Survey %s%s%s%s\n", r->survey, r->title ? " \"" : "", r->title ? r->title : "",
            r->title ? "\"" : "");
    char a[40], b[40];
    if (r->filter.since_ms || r->filter.until_ms) {
        date_text(r->filter.since_ms, a, sizeof a);
        date_text(r->filter.until_ms, b, sizeof b);
        fprintf(out, "Asked %s%s%s%s\n", r->filter.since_ms ? "from " : "",
                r->filter.since_ms ? a : "", r->filter.until_ms ? " until " : "",
                r->filter.until_ms ? b : "");
    }
    if (r->filter.schedule && r->filter.schedule[0])
        fprintf(out, "Schedule %s\n", r->filter.schedule);
    if (r->filter.round)
        fprintf(out, "Round %lld\n", (long long)r->filter.round);
    if (r->anonymous)
        fprintf(out,
                "Anonymous. * hidden: fewer than %d answers (%d for comments) in the group, or "
                "hidden so that a smaller group cannot be worked out by subtraction.\n",
                r->min_group, r->min_comments);
    for (size_t g = 0; g < n_groups_in(r, by); g++) {
        const struct pb_report_group *gr = &r->groups[g];
        char pad[64];
        int depth = gr->depth > 20 ? 20 : gr->depth;
        snprintf(pad, sizeof pad, "%*s", depth * 2, "");
        fprintf(out, "\n%s%s%s%s%s\n", pad, gr->name, gr->team ? " (" : "",
                gr->team ? gr->team : "", gr->team ? ")" : "");
        const struct pb_report_participation *p = &gr->part;
        fprintf(out, "%s  respondents: ", pad);
        if (p->shown)
            fprintf(out, "%zu", p->respondents);
        else
            fprintf(out, "hidden*");
        if (p->known) {
            fprintf(out, "; asked %zu", p->asked);
            if (rate_shown(p))
                fprintf(out, " (response rate %.0f%%); did not answer %zu", rate(p),
                        p->did_not_answer);
            fprintf(out, "; still open %zu; unreachable %zu", p->open, p->unreachable);
        }
        fprintf(out, "\n");
        for (size_t q = 0; q < r->n_questions; q++) {
            const struct pb_report_question *rq = &r->questions[q];
            fprintf(out, "%s  %s: %s\n", pad, rq->id, rq->text);
            if (rq->scored) {
                fprintf(out, "%s    ", pad);
                text_scores(rq, &gr->cells[q], out);
            }
            if (rq->has_text)
                text_comments(r, g, q, by, pad, out);
        }
    }
}

/* ---- CSV ---- */

static void csv_field(FILE *out, const char *s)
{
    /* RFC 4180 quoting; a leading = + - @ is prefixed with ' so a spreadsheet shows a
     * comment instead of running it as a formula. */
    fputc('"', out);
    if (s && (*s == '=' || *s == '+' || *s == '-' || *s == '@'))
        fputc('\'', out);
    for (; s && *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_start(FILE *out, const char *record, const struct pb_report_group *g,
                      const char *question, int shown)
{
    fprintf(out, "%s,", record);
    csv_field(out, g->team ? g->team : "");
    fputc(',', out);
    csv_field(out, g->name);
    fputc(',', out);
    csv_field(out, question);
    fprintf(out, ",%s", shown ? "yes" : "hidden");
}

static void write_csv(const struct pb_report *r, enum pb_report_by by, FILE *out)
{
    fprintf(out, "record,team,team_name,question,shown,count,mean,nps,distribution,asked,"
                 "did_not_answer,open,unreachable,response_rate,text,author\n");
    for (size_t g = 0; g < n_groups_in(r, by); g++) {
        const struct pb_report_group *gr = &r->groups[g];
        const struct pb_report_participation *p = &gr->part;
        csv_start(out, "participation", gr, "", p->shown);
        if (p->shown)
            fprintf(out, ",%zu,,,", p->respondents);
        else
            fprintf(out, ",,,,");
        if (p->known) {
            fprintf(out, ",%zu,", p->asked);
            if (rate_shown(p))
                fprintf(out, "%zu", p->did_not_answer);
            fprintf(out, ",%zu,%zu,", p->open, p->unreachable);
            if (rate_shown(p))
                fprintf(out, "%.1f", rate(p));
        } else {
            fprintf(out, ",,,,,");
        }
        fprintf(out, ",,\n");
        for (size_t q = 0; q < r->n_questions; q++) {
            const struct pb_report_question *rq = &r->questions[q];
            const struct pb_report_cell *c = &gr->cells[q];
            if (rq->scored) {
                csv_start(out, "scores", gr, rq->id, c->shown);
                if (c->shown) {
                    fprintf(out, ",%zu,", c->n);
                    if (c->n && !rq->categorical)
                        fprintf(out, "%.2f", c->mean);
                    fputc(',', out);
                    if (c->n && rq->nps)
                        fprintf(out, "%.1f", c->nps);
                    fprintf(out, ",\"");
                    for (int v = rq->lo; c->n && v <= rq->hi; v++)
                        fprintf(out, "%s%d=%zu", v == rq->lo ? "" : ";", v, c->dist[v - rq->lo]);
                    fputc('"', out);
                } else {
                    fprintf(out, ",,,,");
                }
                fprintf(out, ",,,,,,,\n");
            }
            if (!rq->has_text)
                continue;
            csv_start(out, "comments", gr, rq->id, c->comments_shown);
            if (c->comments_shown)
                fprintf(out, ",%zu", c->n_comments);
            else
                fprintf(out, ",");
            fprintf(out, ",,,,,,,,,,\n");
            size_t n;
            int owned;
            const struct pb_report_comment *v = comments_of(r, g, q, by, &n, &owned);
            for (size_t i = 0; i < n; i++) {
                csv_start(out, "comment", gr, rq->id, 1);
                fprintf(out, ",,,,,,,,,,");
                csv_field(out, v[i].text);
                fputc(',', out);
                csv_field(out, v[i].author ? v[i].author : "");
                fputc('\n', out);
            }
            if (owned)
                free((void *)v);
        }
    }
}

/* ---- JSON ---- */

static cJSON *json_cell(const struct pb_report *r, size_t g, size_t q, enum pb_report_by by)
{
    const struct pb_report_question *rq = &r->questions[q];
    const struct pb_report_cell *c = &r->groups[g].cells[q];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", rq->id);
    cJSON_AddStringToObject(o, "text", rq->text);
    if (rq->scored && rq->labels) {
        cJSON *l = cJSON_AddArrayToObject(o, "labels");
        for (size_t i = 0; l && i < rq->n_labels; i++)
            cJSON_AddItemToArray(l, cJSON_CreateString(rq->labels[i]));
    }
    if (rq->scored) {
        cJSON_AddBoolToObject(o, "shown", c->shown);
        if (c->shown) {
            cJSON_AddNumberToObject(o, "answers", (double)c->n);
            if (c->n && !rq->categorical)
                cJSON_AddNumberToObject(o, "mean", c->mean);
            if (c->n) {
                if (rq->nps)
                    cJSON_AddNumberToObject(o, "nps", c->nps);
            }
            cJSON *d = cJSON_AddObjectToObject(o, "distribution");
            for (int v = rq->lo; d && v <= rq->hi; v++) {
                char key[16];
                snprintf(key, sizeof key, "%d", v);
                cJSON_AddNumberToObject(d, key, (double)c->dist[v - rq->lo]);
            }
        }
    }
    if (rq->has_text) {
        cJSON *cm = cJSON_AddObjectToObject(o, "comments");
        if (cm) {
            cJSON_AddBoolToObject(cm, "shown", c->comments_shown);
            if (c->comments_shown) {
                cJSON_AddNumberToObject(cm, "count", (double)c->n_comments);
                size_t n;
                int owned;
                const struct pb_report_comment *v = comments_of(r, g, q, by, &n, &owned);
                cJSON *list = cJSON_AddArrayToObject(cm, "list");
                for (size_t i = 0; list && i < n; i++) {
                    cJSON *e = cJSON_CreateObject();
                    cJSON_AddStringToObject(e, "text", v[i].text);
                    if (v[i].author)
                        cJSON_AddStringToObject(e, "author", v[i].author);
                    cJSON_AddItemToArray(list, e);
                }
                if (owned)
                    free((void *)v);
            }
        }
    }
    return o;
}

static int write_json(const struct pb_report *r, enum pb_report_by by, FILE *out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return PB_ERR_NOMEM;
    cJSON_AddStringToObject(o, "survey", r->survey);
    if (r->title)
        cJSON_AddStringToObject(o, "title", r->title);
    cJSON_AddBoolToObject(o, "anonymous", r->anonymous);
    if (r->anonymous) {
        cJSON_AddNumberToObject(o, "min_group", r->min_group);
        cJSON_AddNumberToObject(o, "min_comments", r->min_comments);
    }
    cJSON *f = cJSON_AddObjectToObject(o, "filter");
    if (f && r->filter.since_ms)
        cJSON_AddNumberToObject(f, "since_ms", (double)r->filter.since_ms);
    if (f && r->filter.until_ms)
        cJSON_AddNumberToObject(f, "until_ms", (double)r->filter.until_ms);
    if (f && r->filter.schedule && r->filter.schedule[0])
        cJSON_AddStringToObject(f, "schedule", r->filter.schedule);
    if (f && r->filter.round)
        cJSON_AddNumberToObject(f, "round", (double)r->filter.round);
    cJSON *groups = cJSON_AddArrayToObject(o, "groups");
    for (size_t g = 0; groups && g < n_groups_in(r, by); g++) {
        const struct pb_report_group *gr = &r->groups[g];
        const struct pb_report_participation *p = &gr->part;
        cJSON *j = cJSON_CreateObject();
        if (gr->team)
            cJSON_AddStringToObject(j, "team", gr->team);
        else
            cJSON_AddNullToObject(j, "team");
        cJSON_AddStringToObject(j, "name", gr->name);
        if (gr->parent > 0)
            cJSON_AddStringToObject(j, "parent", r->groups[gr->parent].team);
        cJSON *pj = cJSON_AddObjectToObject(j, "participation");
        if (pj) {
            cJSON_AddBoolToObject(pj, "shown", p->shown);
            if (p->shown)
                cJSON_AddNumberToObject(pj, "respondents", (double)p->respondents);
            if (p->known) {
                cJSON_AddNumberToObject(pj, "asked", (double)p->asked);
                if (rate_shown(p)) {
                    cJSON_AddNumberToObject(pj, "did_not_answer", (double)p->did_not_answer);
                    cJSON_AddNumberToObject(pj, "response_rate", rate(p));
                }
                cJSON_AddNumberToObject(pj, "open", (double)p->open);
                cJSON_AddNumberToObject(pj, "unreachable", (double)p->unreachable);
            }
        }
        cJSON *qs = cJSON_AddArrayToObject(j, "questions");
        for (size_t q = 0; qs && q < r->n_questions; q++)
            cJSON_AddItemToArray(qs, json_cell(r, g, q, by));
        cJSON_AddItemToArray(groups, j);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text)
        return PB_ERR_NOMEM;
    fprintf(out, "%s\n", text);
    free(text);
    return PB_OK;
}

int pb_report_write(const struct pb_report *r, enum pb_report_format fmt, enum pb_report_by by,
                    FILE *out)
{
    if (!r || !out)
        return PB_ERR_INVALID;
    switch (fmt) {
    case PB_REPORT_TEXT:
        write_text(r, by, out);
        break;
    case PB_REPORT_CSV:
        write_csv(r, by, out);
        break;
    case PB_REPORT_JSON:
        return write_json(r, by, out) == PB_OK && !ferror(out) ? PB_OK : PB_ERR;
    }
    return ferror(out) ? PB_ERR : PB_OK;
}

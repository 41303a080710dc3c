/*
 * Alert figures for closing the loop (issue 7): how many alerts each owning team got, in which
 * state they are, how long acknowledging and resolving took (medians, which one forgotten
 * alert cannot drag the way a mean would), how often an SLA ran out, why alerts were resolved,
 * and how customers fared when asked again. Read through the same read-only store as reports.
 */
#include "report.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

struct times {
    int64_t *v;
    size_t n, cap;
};

struct team_acc {
    struct pb_report_alert_figures f;
    struct times ack, resolve;
};

struct acc {
    struct team_acc *teams;
    size_t n, cap;
    struct pb_report_alert_reason *reasons;
    size_t n_reasons, cap_reasons;
    int64_t now_ms;
};

static int push_time(struct times *t, int64_t ms)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        int64_t *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return -1;
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n++] = ms;
    return 0;
}

static struct team_acc *team(struct acc *a, const char *id)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->teams[i].f.team, id) == 0)
            return &a->teams[i];
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        struct team_acc *v = realloc(a->teams, cap * sizeof *v);
        if (!v)
            return NULL;
        a->teams = v;
        a->cap = cap;
    }
    struct team_acc *t = &a->teams[a->n++];
    memset(t, 0, sizeof *t);
    snprintf(t->f.team, sizeof t->f.team, "%s", id);
    return t;
}

static int count_reason(struct acc *a, const char *reason)
{
    for (size_t i = 0; i < a->n_reasons; i++)
        if (strcmp(a->reasons[i].reason, reason) == 0) {
            a->reasons[i].count++;
            return 0;
        }
    if (a->n_reasons == a->cap_reasons) {
        size_t cap = a->cap_reasons ? a->cap_reasons * 2 : 8;
        struct pb_report_alert_reason *v = realloc(a->reasons, cap * sizeof *v);
        if (!v)
            return -1;
        a->reasons = v;
        a->cap_reasons = cap;
    }
    struct pb_report_alert_reason *r = &a->reasons[a->n_reasons++];
    snprintf(r->reason, sizeof r->reason, "%s", reason);
    r->count = 1;
    return 0;
}

static int breached(int64_t deadline, int64_t done, int64_t now)
{
    return deadline > 0 && (done ? done > deadline : now > deadline);
}

static int add_to(struct acc *a, struct team_acc *t, const struct pb_alert *al)
{
    t->f.raised++;
    t->f.open += al->state == PB_ALERT_OPEN;
    t->f.acknowledged += al->state == PB_ALERT_ACKNOWLEDGED;
    t->f.resolved += al->state == PB_ALERT_RESOLVED;
    t->f.ack_breached += breached(al->ack_deadline_ms, al->ack_ms, a->now_ms);
    t->f.resolve_breached +=
        al->resolve_overdue || breached(al->resolve_deadline_ms, al->resolved_ms, a->now_ms);
    if (al->ack_ms > 0 && push_time(&t->ack, al->ack_ms - al->created_ms) != 0)
        return -1;
    if (al->resolved_ms > 0 && push_time(&t->resolve, al->resolved_ms - al->created_ms) != 0)
        return -1;
    return 0;
}

static int on_alert(void *arg, const struct pb_alert *al)
{
    struct acc *a = arg;
    /* The whole first, so that it is teams[0] whatever comes. */
    struct team_acc *all = team(a, "");
    if (!all || add_to(a, all, al) != 0)
        return PB_ERR_NOMEM;
    struct team_acc *t = team(a, al->team[0] ? al->team : "(none)");
    if (!t || add_to(a, t, al) != 0)
        return PB_ERR_NOMEM;
    if (al->state == PB_ALERT_RESOLVED && count_reason(a, al->resolve_reason) != 0)
        return PB_ERR_NOMEM;
    return 0;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

static int64_t median(struct times *t)
{
    if (t->n == 0)
        return -1;
    qsort(t->v, t->n, sizeof *t->v, cmp_i64);
    return t->n % 2 ? t->v[t->n / 2] : (t->v[t->n / 2 - 1] + t->v[t->n / 2]) / 2;
}

static int cmp_team(const void *x, const void *y)
{
    return strcmp(((const struct pb_report_alert_figures *)x)->team,
                  ((const struct pb_report_alert_figures *)y)->team);
}

static int cmp_reason(const void *x, const void *y)
{
    const struct pb_report_alert_reason *a = x, *b = y;
    if (a->count != b->count)
        return a->count < b->count ? 1 : -1;
    return strcmp(a->reason, b->reason);
}

int pb_report_alerts_build(struct pb_store *s, const char *survey, int64_t since_ms,
                           int64_t until_ms, int64_t now_ms, struct pb_report_alerts *out)
{
    if (!s || !out)
        return PB_ERR_INVALID;
    memset(out, 0, sizeof *out);
    struct acc a = {.now_ms = now_ms};
    int rc = pb_store_snapshot_begin(s);
    if (rc == PB_OK) {
        /* teams[0] is everyone even when there are no alerts. */
        rc = team(&a, "") ? pb_store_report_alerts(s, survey, since_ms, until_ms, on_alert, &a)
                          : PB_ERR_NOMEM;
        struct pb_alert_recovery rec;
        if (rc == PB_OK && !survey &&
            pb_store_alert_recovery(s, NULL, NULL, since_ms, until_ms ? until_ms : INT64_MAX,
                                    &rec) == PB_OK) {
            out->has_recovery = 1;
            out->reasked = rec.scheduled;
            out->reanswered = rec.answered;
            out->recovered = rec.recovered;
        }
        pb_store_snapshot_end(s);
    }
    if (rc == PB_OK)
        out->teams = calloc(a.n ? a.n : 1, sizeof *out->teams);
    if (rc == PB_OK && !out->teams)
        rc = PB_ERR_NOMEM;
    for (size_t i = 0; i < a.n; i++) {
        if (rc == PB_OK) {
            a.teams[i].f.ack_median_ms = median(&a.teams[i].ack);
            a.teams[i].f.resolve_median_ms = median(&a.teams[i].resolve);
            out->teams[i] = a.teams[i].f;
        }
        free(a.teams[i].ack.v);
        free(a.teams[i].resolve.v);
    }
    free(a.teams);
    if (rc != PB_OK) {
        free(a.reasons);
        pb_report_alerts_clear(out);
        return rc;
    }
    out->n_teams = a.n;
    if (out->n_teams > 2)
        qsort(out->teams + 1, out->n_teams - 1, sizeof *out->teams, cmp_team);
    out->reasons = a.reasons;
    out->n_reasons = a.n_reasons;
    if (out->n_reasons > 1)
        qsort(out->reasons, out->n_reasons, sizeof *out->reasons, cmp_reason);
    return PB_OK;
}

void pb_report_alerts_clear(struct pb_report_alerts *a)
{
    if (!a)
        return;
    free(a->teams);
    free(a->reasons);
    memset(a, 0, sizeof *a);
}

/* ---- writing ---- */

static void duration_text(int64_t ms, char *buf, size_t len)
{
    if (ms < 0) {
        snprintf(buf, len, "-");
        return;
    }
    int64_t m = ms / 60000;
    if (m < 60)
        snprintf(buf, len, "%lldm", (long long)m);
    else if (m < 48 * 60)
        snprintf(buf, len, "%lldh%02lldm", (long long)(m / 60), (long long)(m % 60));
    else
        snprintf(buf, len, "%lldd%02lldh", (long long)(m / 1440), (long long)(m % 1440 / 60));
}

static const char *team_name(const struct pb_config *cfg, const char *id)
{
    if (!id[0])
        return "All teams";
    const struct pb_cfg_team *t = pb_config_team(cfg, id);
    return t && t->name ? t->name : id;
}

static void write_text(const struct pb_config *cfg, const struct pb_report_alerts *a, FILE *out)
{
    fprintf(out, "%-24s %6s %5s %5s %8s %10s %10s %7s %11s\n", "team", "raised", "open", "acked",
            "resolved", "median ack", "median fix", "ack SLA", "resolve SLA");
    for (size_t i = 0; i < a->n_teams; i++) {
        const struct pb_report_alert_figures *f = &a->teams[i];
        char ack[32], fix[32];
        duration_text(f->ack_median_ms, ack, sizeof ack);
        duration_text(f->resolve_median_ms, fix, sizeof fix);
        fprintf(out, "%-24.24s %6zu %5zu %5zu %8zu %10s %10s %7zu %11zu\n", team_name(cfg, f->team),
                f->raised, f->open, f->acknowledged, f->resolved, ack, fix, f->ack_breached,
                f->resolve_breached);
    }
    if (a->n_reasons) {
        fprintf(out, "\nresolved because\n");
        for (size_t i = 0; i < a->n_reasons; i++)
            fprintf(out, "  %-30s %zu\n",
                    a->reasons[i].reason[0] ? a->reasons[i].reason : "(no reason given)",
                    a->reasons[i].count);
    }
    if (a->has_recovery && a->reasked)
        fprintf(out,
                "\nasked again after resolving: %lld, answered %lld, recovered %lld "
                "(%.0f%% of answers)\n",
                (long long)a->reasked, (long long)a->reanswered, (long long)a->recovered,
                a->reanswered ? 100.0 * (double)a->recovered / (double)a->reanswered : 0.0);
}

static void write_csv(const struct pb_report_alerts *a, FILE *out)
{
    fprintf(out, "record,team,raised,open,acknowledged,resolved,median_ack_s,median_resolve_s,"
                 "ack_sla_breached,resolve_sla_breached,reason,count\n");
    for (size_t i = 0; i < a->n_teams; i++) {
        const struct pb_report_alert_figures *f = &a->teams[i];
        fprintf(out, "team,\"%s\",%zu,%zu,%zu,%zu,", f->team, f->raised, f->open, f->acknowledged,
                f->resolved);
        if (f->ack_median_ms >= 0)
            fprintf(out, "%lld", (long long)(f->ack_median_ms / 1000));
        fputc(',', out);
        if (f->resolve_median_ms >= 0)
            fprintf(out, "%lld", (long long)(f->resolve_median_ms / 1000));
        fprintf(out, ",%zu,%zu,,\n", f->ack_breached, f->resolve_breached);
    }
    for (size_t i = 0; i < a->n_reasons; i++)
        fprintf(out, "reason,,,,,,,,,,\"%s\",%zu\n", a->reasons[i].reason, a->reasons[i].count);
}

static int write_json(const struct pb_report_alerts *a, FILE *out)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *teams = cJSON_AddArrayToObject(o, "teams");
    for (size_t i = 0; teams && i < a->n_teams; i++) {
        const struct pb_report_alert_figures *f = &a->teams[i];
        cJSON *t = cJSON_CreateObject();
        if (f->team[0])
            cJSON_AddStringToObject(t, "team", f->team);
        else
            cJSON_AddNullToObject(t, "team");
        cJSON_AddNumberToObject(t, "raised", (double)f->raised);
        cJSON_AddNumberToObject(t, "open", (double)f->open);
        cJSON_AddNumberToObject(t, "acknowledged", (double)f->acknowledged);
        cJSON_AddNumberToObject(t, "resolved", (double)f->resolved);
        if (f->ack_median_ms >= 0)
            cJSON_AddNumberToObject(t, "median_ack_ms", (double)f->ack_median_ms);
        if (f->resolve_median_ms >= 0)
            cJSON_AddNumberToObject(t, "median_resolve_ms", (double)f->resolve_median_ms);
        cJSON_AddNumberToObject(t, "ack_sla_breached", (double)f->ack_breached);
        cJSON_AddNumberToObject(t, "resolve_sla_breached", (double)f->resolve_breached);
        cJSON_AddItemToArray(teams, t);
    }
    cJSON *reasons = cJSON_AddObjectToObject(o, "resolve_reasons");
    for (size_t i = 0; reasons && i < a->n_reasons; i++)
        cJSON_AddNumberToObject(reasons, a->reasons[i].reason, (double)a->reasons[i].count);
    if (a->has_recovery) {
        cJSON *r = cJSON_AddObjectToObject(o, "recovery");
        cJSON_AddNumberToObject(r, "asked_again", (double)a->reasked);
        cJSON_AddNumberToObject(r, "answered", (double)a->reanswered);
        cJSON_AddNumberToObject(r, "recovered", (double)a->recovered);
    }
    char *text = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return PB_ERR_NOMEM;
    fprintf(out, "%s\n", text);
    free(text);
    return PB_OK;
}

int pb_report_alerts_write(struct pb_store *s, const struct pb_config *cfg, const char *survey,
                           int64_t since_ms, int64_t until_ms, enum pb_report_format fmt, FILE *out)
{
    struct pb_report_alerts a;
    int rc = pb_report_alerts_build(s, survey, since_ms, until_ms, pb_now_ms(), &a);
    if (rc != PB_OK)
        return rc;
    if (fmt == PB_REPORT_JSON)
        rc = write_json(&a, out);
    else if (fmt == PB_REPORT_CSV)
        write_csv(&a, out);
    else
        write_text(cfg, &a, out);
    pb_report_alerts_clear(&a);
    return rc == PB_OK && !ferror(out) ? PB_OK : PB_ERR;
}

/*
 * Closing the loop with customers, on the real engine with a fake clock and connector: a rule
 * on the interaction's tags, low scores of one customer grouped into one alert (a reply in its
 * thread), the customer told in their chat when it is resolved (once, not when they opted out,
 * not again on a replayed press), the re-ask as a durable check-in across a restart, and the
 * recovery figures. Then the alert webhook: every event posted in order, signed, with the row
 * id as idempotency key, retried with backoff after a 5xx, given up after a 4xx, and posted
 * again after a crash between the lease and the answer.
 */
#include "test_core_fixture.h"

#include <sys/stat.h>

#include "checkin.h"

#define HOUR    (60 * MINUTE)
#define Q       "How satisfied are you?"
#define TELL    "Kim from Key accounts looked into it. Thank you for telling us."
#define TELL_ES "Kim de Cuentas clave lo revisó. Gracias por decírnoslo."

static const char config_text[] =
    "daemon = { state_dir = \"/nonexistent\"; };\n"
    "connectors = ( { name = \"web\"; type = \"webchat\"; } );\n"
    "teams = (\n"
    "  { id = \"support\"; name = \"Support\"; channel = \"web:support\"; },\n"
    "  { id = \"tier1\"; name = \"Tier 1\"; parent = \"support\"; },\n"
    "  { id = \"accounts\"; name = \"Key accounts\"; channel = \"web:accounts\"; }\n"
    ");\n"
    "people = (\n"
    "  { id = \"mia\"; name = \"Mia Lead\"; team = \"support\"; handles = { web = \"mia\"; }; },\n"
    "  { id = \"kim\"; name = \"Kim Key\"; team = \"accounts\"; handles = { web = \"kim\"; }; }\n"
    ");\n"
    "surveys = ( { id = \"csat\"; kind = \"customer\"; window = \"48h\"; thanks = \"\";\n"
    "  questions = ( { id = \"csat\"; type = \"scale\"; text = \"" Q
    "\"; min = 1; max = 5; } ); } );\n"
    "routing = (\n"
    "  { id = \"enterprise\"; kind = \"customer\"; tags = [ \"tier=enterprise\" ]; max_score = 2;\n"
    "    alert = \"accounts\"; tell_customer = \"" TELL "\"; reask_after = \"2h\";\n"
    "    tell_customer_es = \"" TELL_ES "\";\n"
    "    webhook = \"https://hooks.example/alerts\"; webhook_secret_file = \"hook.secret\"; },\n"
    "  { id = \"unhappy\"; kind = \"customer\"; max_score = 2; alert = \"support\";\n"
    "    tell_customer = \"We followed up.\"; }\n"
    ");\n"
    "alerts = { group_window = \"1d\"; };\n"
    "checkins = { contact_cap = \"1h\"; policies = ( { survey = \"csat\"; delay = \"0\"; } ); };\n";

static const char secret[] = "hook-secret-for-tests";
static char conf_dir[64];

static struct fx *start(void)
{
    snprintf(conf_dir, sizeof conf_dir, "/tmp/pb-loop-conf-XXXXXX");
    assert_non_null(mkdtemp(conf_dir));
    char path[128];
    snprintf(path, sizeof path, "%s/hook.secret", conf_dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(secret, fp);
    fclose(fp);
    assert_int_equal(chmod(path, 0600), 0);
    snprintf(path, sizeof path, "%s/pulsebot.conf", conf_dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(config_text, fp);
    fclose(fp);
    return fx_new(path);
}

static void stop(struct fx *f)
{
    fx_free(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", conf_dir);
    assert_int_equal(system(cmd), 0);
}

/* A closed interaction of `user` (reached on web), asked at once; its question is answered. */
static void customer_answers_in(struct fx *f, const char *id, const char *user, const char *tags,
                                const char *locale, int score)
{
    struct pb_interaction in;
    memset(&in, 0, sizeof in);
    snprintf(in.ext_id, sizeof in.ext_id, "%s", id);
    snprintf(in.customer, sizeof in.customer, "customer:%s", user);
    snprintf(in.name, sizeof in.name, "Customer %s", user);
    snprintf(in.connector, sizeof in.connector, "web");
    snprintf(in.user, sizeof in.user, "%s", user);
    snprintf(in.team, sizeof in.team, "tier1");
    snprintf(in.tags, sizeof in.tags, "%s", tags);
    snprintf(in.locale, sizeof in.locale, "%s", locale);
    in.closed_ms = pb_now_ms();
    char outcome[160];
    assert_int_equal(pb_checkin_intake(f->engine, &in, NULL, 0, outcome, sizeof outcome), PB_OK);
    assert_string_equal(outcome, "scheduled");
    fx_advance(f, 0);
    struct fx_sent *q = fx_last_to(f, user);
    assert_non_null(q);
    assert_string_equal(q->text, Q);
    char label[8], reply[256], token[PB_TOKEN_MAX];
    snprintf(label, sizeof label, "%d", score);
    snprintf(token, sizeof token, "%s", fx_token(q, label));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, user, token, NULL, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
}

static void customer_answers(struct fx *f, const char *id, const char *user, const char *tags,
                             int score)
{
    customer_answers_in(f, id, user, tags, "", score);
}

static size_t count_text(struct fx *f, const char *target, const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && strcmp(f->sent[i].target, target) == 0 &&
             strcmp(f->sent[i].text, text) == 0;
    return n;
}

/* Presses Resolve on the alert's message; `again` presses the same button a second time (a
 * replayed click). */
static int resolve(struct fx *f, int64_t alert_id, const char *who, int again)
{
    struct pb_alert a;
    fx_get_alert(f, alert_id, &a);
    char reply[256], token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s",
             fx_token(fx_latest_of(f, (uint64_t)a.outbox_id), "Resolve"));
    int rc = fx_event(f, PB_EVENT_ACTION, who, token, NULL, reply, sizeof reply);
    fx_advance(f, 0);
    if (again && rc == PB_OK) {
        rc = fx_event(f, PB_EVENT_ACTION, who, token, NULL, reply, sizeof reply);
        fx_advance(f, 0);
    }
    return rc;
}

static void expect_recovery(struct fx *f, const char *rule, int64_t scheduled, int64_t sent,
                            int64_t answered, int64_t recovered)
{
    struct pb_alert_recovery r;
    assert_int_equal(pb_store_alert_recovery(f->store, rule, NULL, 0, INT64_MAX, &r), PB_OK);
    if (r.scheduled != scheduled || r.sent != sent || r.answered != answered ||
        r.recovered != recovered)
        fail_msg("recovery: %lld %lld %lld %lld, expected %lld %lld %lld %lld",
                 (long long)r.scheduled, (long long)r.sent, (long long)r.answered,
                 (long long)r.recovered, (long long)scheduled, (long long)sent, (long long)answered,
                 (long long)recovered);
}

static void test_tags_grouping_and_closing_the_loop(void **state)
{
    (void)state;
    struct fx *f = start();
    /* Enterprise tags: the enterprise rule. */
    customer_answers(f, "T-1", "ana", "{\"tier\": \"enterprise\"}", 1);
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_string_equal(a.rule, "enterprise");
    assert_string_equal(a.team, "accounts");
    assert_string_equal(a.group_key, "customer:ana");
    /* The same customer again, after the contact cap: it joins her alert, in its thread. */
    f->clock.now += 61 * MINUTE;
    customer_answers(f, "T-2", "ana", "{\"tier\": \"enterprise\"}", 2);
    assert_int_equal(pb_store_alert_count(f->store), 1);
    fx_get_alert(f, 1, &a);
    assert_int_equal(a.group_count, 2);
    assert_int_equal(
        count_text(f, "accounts", "Another low score joined this alert: 2 of 5 from Customer ana."),
        1);
    /* Another customer of the same team: an alert of its own, by the rule without tags. */
    customer_answers(f, "T-3", "bo", "{\"tier\": \"smb\"}", 1);
    assert_int_equal(pb_store_alert_count(f->store), 2);
    fx_get_alert(f, 2, &a);
    assert_string_equal(a.rule, "unhappy");
    assert_string_equal(a.group_key, "customer:bo");

    /* Resolved: Ana is told once (two answers, one customer), and asked again in 2 hours. */
    int64_t resolved_at = f->clock.now;
    /* A second press of the same button changes nothing and tells nobody again. */
    assert_int_equal(resolve(f, 1, "kim", 1), PB_ERR_DONE);
    assert_int_equal(count_text(f, "ana", TELL), 1);
    char history[256];
    fx_history(f, 1, history, sizeof history);
    assert_string_equal(history, "raised grouped resolved customer_told reask_scheduled");
    expect_recovery(f, NULL, 1, 0, 0, 0);
    assert_true(pb_engine_next_due(f->engine) <= resolved_at + 2 * HOUR);

    /* Bo said stop before his alert was resolved: not told, not asked again. */
    char reply[256];
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "bo", NULL, "stop", reply, sizeof reply), PB_OK);
    assert_int_equal(resolve(f, 2, "mia", 0), PB_OK);
    assert_int_equal(count_text(f, "bo", "We followed up."), 0);
    fx_history(f, 2, history, sizeof history);
    assert_string_equal(history, "raised resolved customer_not_told");

    /* The re-ask is a durable check-in: it fires after a restart, once. */
    fx_restart(f);
    f->clock.now = resolved_at + 2 * HOUR - 1;
    fx_advance(f, 0);
    assert_int_equal(count_text(f, "ana", Q), 2);
    fx_advance(f, 1);
    assert_int_equal(count_text(f, "ana", Q), 3);
    expect_recovery(f, "enterprise", 1, 1, 0, 0);
    struct fx_sent *q = fx_last_to(f, "ana");
    char token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(q, "5"));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, "ana", token, NULL, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
    expect_recovery(f, "enterprise", 1, 1, 1, 1);
    expect_recovery(f, "unhappy", 0, 0, 0, 0);
    assert_int_equal(pb_store_alert_count(f->store), 2); /* a good score raises nothing */

    /* Cy does not recover: the re-ask is answered low, and raises a new alert. */
    f->clock.now += HOUR;
    customer_answers_in(f, "T-4", "cy", "{\"tier\": \"enterprise\"}", "es-MX", 1);
    assert_int_equal(pb_store_alert_count(f->store), 3);
    assert_int_equal(resolve(f, 3, "kim", 0), PB_OK);
    /* Told in the language of the interaction (es-MX falls back to es). */
    assert_int_equal(count_text(f, "cy", TELL_ES), 1);
    assert_int_equal(count_text(f, "cy", TELL), 0);
    fx_advance(f, 2 * HOUR);
    q = fx_last_to(f, "cy");
    assert_string_equal(q->text, Q);
    snprintf(token, sizeof token, "%s", fx_token(q, "2"));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, "cy", token, NULL, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
    expect_recovery(f, NULL, 2, 2, 2, 1);
    assert_int_equal(pb_store_alert_count(f->store), 4);
    struct pb_alert_recovery none;
    assert_int_equal(pb_store_alert_recovery(f->store, NULL, "support", 0, INT64_MAX, &none),
                     PB_OK);
    assert_true(none.scheduled == 0);
    stop(f);
}

/* ---- the webhook ---- */

struct fake_post {
    char url[128], sig[160], key[32], event[40];
    char body[4096];
    pb_http_done_fn done;
    void *arg;
};

static struct fake_post posts[32];
static size_t n_posts;

static const char *header(const struct pb_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return "";
}

static int fake_http(void *http_arg, const struct pb_http_request *req, pb_http_done_fn done,
                     void *arg)
{
    (void)http_arg;
    assert_true(n_posts < 32);
    struct fake_post *p = &posts[n_posts++];
    assert_string_equal(req->method, "POST");
    assert_string_equal(header(req, "Content-Type"), "application/json");
    snprintf(p->url, sizeof p->url, "%s", req->url);
    snprintf(p->sig, sizeof p->sig, "%s", header(req, "X-Pulsebot-Signature"));
    snprintf(p->key, sizeof p->key, "%s", header(req, "Idempotency-Key"));
    snprintf(p->event, sizeof p->event, "%s", header(req, "X-Pulsebot-Event"));
    snprintf(p->body, sizeof p->body, "%.*s", (int)req->body_len, req->body);
    p->done = done;
    p->arg = arg;
    return PB_OK;
}

/* The receiver answers post `i` with `status`; the engine then runs. */
static void answer(struct fx *f, size_t i, int status)
{
    struct pb_http_response res = {.size = sizeof res, .status = status};
    posts[i].done(posts[i].arg, &res);
    fx_advance(f, 0);
}

/* What a receiver checks: the signature over "<t>.<body>" with the shared secret. */
static void expect_signed(struct fx *f, const struct fake_post *p)
{
    struct pb_checkin_keys keys = {.secret_len = strlen(secret)};
    memcpy(keys.secret, secret, keys.secret_len);
    char sig[160], err[160];
    int64_t expires;
    if (pb_checkin_signature_check(&keys, p->sig, p->body, strlen(p->body), pb_now_ms(), 300000,
                                   sig, sizeof sig, &expires, err, sizeof err) != 0)
        fail_msg("post %s: %s", p->key, err);
    (void)f;
}

static void expect_post(struct fx *f, size_t i, const char *key, const char *event)
{
    assert_true(i < n_posts);
    assert_string_equal(posts[i].url, "https://hooks.example/alerts");
    assert_string_equal(posts[i].key, key);
    assert_string_equal(posts[i].event, event);
    char want[64];
    snprintf(want, sizeof want, "\"event\":\"%s\"", event);
    assert_non_null(strstr(posts[i].body, want));
    expect_signed(f, &posts[i]);
}

static void test_webhook(void **state)
{
    (void)state;
    n_posts = 0;
    struct fx *f = start();
    /* Events committed before the HTTP client is there wait for it. */
    customer_answers(f, "T-1", "ana", "{\"tier\": \"enterprise\"}", 1);
    assert_int_equal(n_posts, 0);
    pb_engine_set_http(f->engine, fake_http, NULL);
    fx_advance(f, 0);
    assert_int_equal(n_posts, 1);
    expect_post(f, 0, "1", "raised");
    assert_non_null(strstr(posts[0].body, "\"subject\":\"customer:ana\""));
    assert_non_null(strstr(posts[0].body, "\"rule\":\"enterprise\""));
    assert_non_null(strstr(posts[0].body, "\"state\":\"open\""));

    /* The next event of the alert waits for the first to be settled. */
    char reply[256];
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_int_equal(
        fx_press_on(f, (uint64_t)a.outbox_id, "Acknowledge", "kim", NULL, reply, sizeof reply),
        PB_OK);
    assert_int_equal(n_posts, 1);
    /* A 5xx: tried again after a backoff, with the same idempotency key. */
    answer(f, 0, 503);
    assert_int_equal(n_posts, 1);
    int64_t next = pb_engine_next_due(f->engine);
    assert_true(next > pb_now_ms() && next <= pb_now_ms() + 1200);
    fx_advance(f, 1200);
    assert_int_equal(n_posts, 2);
    expect_post(f, 1, "1", "raised");
    answer(f, 1, 204);
    assert_int_equal(n_posts, 3);
    expect_post(f, 2, "2", "acknowledged");
    assert_non_null(strstr(posts[2].body, "\"acknowledged_by\":\"kim\""));

    /* A crash while it is in flight: posted again once its lease ran out, same key. */
    fx_restart(f);
    pb_engine_set_http(f->engine, fake_http, NULL);
    fx_advance(f, 0);
    assert_int_equal(n_posts, 3);
    fx_advance(f, 61 * 1000);
    assert_int_equal(n_posts, 4);
    expect_post(f, 3, "2", "acknowledged");
    answer(f, 3, 200);

    /* Resolved: resolved, customer_told, reask_scheduled, in order. A 4xx is not retried. */
    fx_get_alert(f, 1, &a);
    assert_int_equal(
        fx_press_on(f, (uint64_t)a.outbox_id, "Resolve", "kim", NULL, reply, sizeof reply), PB_OK);
    assert_int_equal(n_posts, 5);
    expect_post(f, 4, "3", "resolved");
    assert_non_null(strstr(posts[4].body, "\"state\":\"resolved\""));
    answer(f, 4, 400);
    expect_post(f, 5, "4", "customer_told");
    answer(f, 5, 200);
    expect_post(f, 6, "5", "reask_scheduled");
    answer(f, 6, 200);
    assert_int_equal(n_posts, 7);

    /* The delivery state is kept with the alert. */
    struct pb_alert_webhook w[8];
    size_t n = 0;
    assert_int_equal(pb_store_alert_webhook_list(f->store, 1, w, 8, &n), PB_OK);
    assert_int_equal(n, 5);
    assert_int_equal(w[0].state, PB_WEBHOOK_DONE);
    assert_int_equal(w[0].attempts, 2);
    assert_int_equal(w[1].attempts, 2);
    assert_int_equal(w[2].state, PB_WEBHOOK_FAILED);
    assert_int_equal(w[2].last_status, 400);
    assert_string_equal(w[2].error, "HTTP 400");
    for (size_t i = 0; i < n; i++)
        pb_alert_webhook_clear(&w[i]);
    /* An alert of a rule without a webhook posts nothing. */
    customer_answers(f, "T-3", "bo", "{}", 1);
    assert_int_equal(n_posts, 7);
    assert_true(pb_engine_next_due(f->engine) > pb_now_ms());
    stop(f);
}

/* The configuration refuses what could not work, each at its line. */
static void expect_config_error(const char *rule, const char *checkins, const char *needle)
{
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/pb-loop-bad-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/bad.conf", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp,
            "connectors = ( { name = \"web\"; type = \"webchat\"; } );\n"
            "teams = ( { id = \"support\"; channel = \"web:support\"; } );\n"
            "checkins = { %s };\n"
            "routing = ( { id = \"r\"; alert = \"support\";\n  %s } );\n",
            checkins, rule);
    fclose(fp);
    struct pb_config *cfg = NULL;
    struct pb_diag diag = {0};
    assert_int_equal(pb_config_load(path, &cfg, &diag), -1);
    int found = 0;
    for (size_t i = 0; i < diag.n; i++)
        found |= strstr(diag.lines[i], needle) != NULL && strstr(diag.lines[i], "bad.conf:5:");
    if (!found)
        fail_msg("no \"%s\" at line 5 in %zu message(s): %s", needle, diag.n,
                 diag.n ? diag.lines[0] : "");
    pb_diag_free(&diag);
    unlink(path);
    rmdir(dir);
}

static void test_config_checks(void **state)
{
    (void)state;
    expect_config_error("max_score = 2; reask_after = \"1h\";", "contact_cap = \"7d\";",
                        "reask_after is shorter than checkins.contact_cap");
    expect_config_error("reask_after = \"7d\";", "", "a re-ask needs recovered_score");
    expect_config_error("webhook = \"https://x.example/h\";", "",
                        "a webhook needs a secret to sign with");
    expect_config_error("webhook = \"ftp://x.example/h\"; webhook_secret_file = \"s\";", "",
                        "webhook");
    expect_config_error("group_by = \"moon\";", "", "group_by");
    expect_config_error("tags = \"vip\";", "", "tags");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_tags_grouping_and_closing_the_loop),
        cmocka_unit_test(test_webhook),
    };
    return cmocka_run_group_tests_name("alert_loop", tests, NULL, NULL);
}

/*
 * Customer check-ins end to end on a real store with a fake clock: bodies mapped to
 * interactions (pulsebot's own format, the two example help desks, JSON pointers, every kind
 * of bad body), signatures and bearer tokens, and the policies: delay, filters, sampling,
 * idempotency, the contact cap and opt-out across two connectors, expiry, the follow-up and the
 * alert routed to the owning team, closed interactions reported in chat, and a restart.
 */
#include "test_core_fixture.h"

#include "checkin.h"

#define CONF PB_TEST_DATA "/checkin/checkins.conf"
#define HOUR (60 * MINUTE)
#define DAY  (24 * HOUR)

/* ---- a second connector, "slack", recorded like "web" ---- */

static int slack_send(void *self, const struct pb_send *s)
{
    struct fx *f = self;
    fx_record(f, s, 0);
    char ref[64];
    snprintf(ref, sizeof ref, "sref-%llu", (unsigned long long)s->id);
    struct pb_send_result res = {.size = sizeof res, .outcome = PB_SEND_DONE, .message_ref = ref};
    pb_engine_send_done(f->engine, "slack", s->id, &res);
    return PB_OK;
}

static int slack_update(void *self, const struct pb_send *s)
{
    struct fx *f = self;
    fx_record(f, s, 1);
    struct pb_send_result res = {
        .size = sizeof res, .outcome = PB_SEND_DONE, .message_ref = s->message_ref};
    pb_engine_send_done(f->engine, "slack", s->id, &res);
    return PB_OK;
}

static struct fx *start(void)
{
    struct fx *f = fx_new(CONF);
    struct pb_connector conn = {
        .size = sizeof conn, .self = f, .send = slack_send, .update = slack_update};
    assert_int_equal(pb_engine_attach(f->engine, "slack", &conn), PB_OK);
    return f;
}

static void stop(struct fx *f)
{
    fx_free(f);
}

/* An interaction as the webhook would give it; `closed_ms` 0 is now. */
static void make(struct pb_interaction *in, const char *id, const char *customer,
                 const char *connector, const char *user, const char *email, const char *team,
                 const char *touchpoint, const char *tags)
{
    memset(in, 0, sizeof *in);
    snprintf(in->ext_id, sizeof in->ext_id, "%s", id);
    snprintf(in->customer, sizeof in->customer, "customer:%s", customer);
    snprintf(in->connector, sizeof in->connector, "%s", connector);
    snprintf(in->user, sizeof in->user, "%s", user);
    snprintf(in->email, sizeof in->email, "%s", email);
    snprintf(in->team, sizeof in->team, "%s", team);
    snprintf(in->touchpoint, sizeof in->touchpoint, "%s", touchpoint);
    snprintf(in->tags, sizeof in->tags, "%s", tags ? tags : "{}");
    in->closed_ms = pb_now_ms();
}

static int intake(struct fx *f, struct pb_interaction *in, char *outcome, size_t len)
{
    return pb_checkin_intake(f->engine, in, NULL, 0, outcome, len);
}

static void intake_expect(struct fx *f, struct pb_interaction *in, const char *want)
{
    char outcome[160];
    assert_int_equal(intake(f, in, outcome, sizeof outcome), PB_OK);
    if (strncmp(outcome, want, strlen(want)) != 0)
        fail_msg("interaction %s: \"%s\", expected \"%s...\"", in->ext_id, outcome, want);
}

static size_t count_question(struct fx *f, const char *target, const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_sent; i++)
        n += !f->sent[i].update && strcmp(f->sent[i].target, target) == 0 &&
             strcmp(f->sent[i].text, text) == 0;
    return n;
}

#define CSAT_Q "How satisfied are you with the help you got?"

/* ---- bodies ---- */

static const char own_body[] =
    "{\"id\": \"T-1001\", \"customer\": {\"id\": 42, \"name\": \"Ana Ruiz\","
    " \"email\": \"Ana@Example.com\", \"locale\": \"es\", \"timezone\": \"Europe/Madrid\","
    " \"reach\": {\"connector\": \"web\", \"user\": \"ana\"}}, \"team\": \"tier1\","
    " \"agent\": \"mia\", \"channel\": \"email\", \"touchpoint\": \"support\","
    " \"closed_at\": \"2027-01-15T07:45:00Z\", \"tags\": {\"tier\": \"gold\", \"vip\": true}}";

static void test_parse_own(void **state)
{
    struct fx *f = start();
    struct pb_interaction in;
    char err[256] = "";
    int rc = pb_checkin_parse(f->cfg, NULL, own_body, strlen(own_body), &in, err, sizeof err);
    assert_int_equal(rc, 0);
    assert_string_equal(in.ext_id, "T-1001");
    assert_string_equal(in.customer, "customer:42");
    assert_string_equal(in.name, "Ana Ruiz");
    assert_string_equal(in.email, "ana@example.com"); /* opt-outs match in any case */
    assert_string_equal(in.locale, "es");
    assert_string_equal(in.timezone, "Europe/Madrid");
    assert_string_equal(in.connector, "web");
    assert_string_equal(in.user, "ana");
    assert_string_equal(in.team, "tier1");
    assert_string_equal(in.touchpoint, "support");
    assert_true(in.closed_ms == FX_START_MS - 15 * MINUTE);
    assert_string_equal(in.tags, "{\"tier\":\"gold\",\"vip\":\"true\"}");
    stop(f);
}

static void expect_refusal(struct fx *f, const char *body, int status, const char *needle)
{
    struct pb_interaction in;
    char err[320] = "";
    int rc = pb_checkin_parse(f->cfg, NULL, body, strlen(body), &in, err, sizeof err);
    if (rc != status || !strstr(err, needle))
        fail_msg("body %.60s: %d \"%s\", expected %d with \"%s\"", body, rc, err, status, needle);
}

static void test_parse_refusals(void **state)
{
    struct fx *f = start();
    expect_refusal(f, "{\"id\": \"x\", ", 400, "not valid JSON");
    expect_refusal(f, "", 400, "not valid JSON");
    expect_refusal(f, "[1, 2]", 400, "must be a JSON object");
    expect_refusal(f, "{\"customer\": {\"id\": \"c\"}}", 422, "id: missing");
    expect_refusal(f, "{\"id\": \"t\"}", 422, "customer.id: missing");
    expect_refusal(f, "{\"id\": \"t\", \"customer\": \"c-1\"}", 422,
                   "customer: expected an object, got a string");
    expect_refusal(f, "{\"id\": {\"a\": 1}, \"customer\": {\"id\": \"c\"}}", 422,
                   "id (/id): expected a string or a number, got an object");
    expect_refusal(f, "{\"id\": \"\", \"customer\": {\"id\": \"c\"}}", 422, "must not be empty");
    expect_refusal(f, "{\"id\": \"a b\", \"customer\": {\"id\": \"c\"}}", 422, "printable ASCII");
    expect_refusal(f, "{\"id\": \"t\", \"customer\": {\"id\": \"c\", \"reach\": [1]}}", 422,
                   "customer.reach: expected an object");
    expect_refusal(f,
                   "{\"id\": \"t\", \"customer\": {\"id\": \"c\", \"reach\": {\"connector\": "
                   "\"teams\", \"user\": \"u\"}}}",
                   422, "no connector \"teams\"");
    expect_refusal(f,
                   "{\"id\": \"t\", \"customer\": {\"id\": \"c\", \"reach\": {\"connector\": "
                   "\"web\"}}}",
                   422, "give both connector and user");
    expect_refusal(f, "{\"id\": \"t\", \"customer\": {\"id\": \"c\"}, \"tags\": [\"a\"]}", 422,
                   "tags (/tags): expected an object, got an array");
    expect_refusal(f, "{\"id\": \"t\", \"customer\": {\"id\": \"c\"}, \"tags\": {\"a\": {}}}", 422,
                   "tags.a");
    expect_refusal(f,
                   "{\"id\": \"t\", \"customer\": {\"id\": \"c\"}, \"closed_at\": \"yesterday\"}",
                   422, "closed_at");
    expect_refusal(f, "{\"id\": \"t\", \"customer\": {\"id\": \"c\", \"email\": \"nobody\"}}", 422,
                   "not an email address");
    char big[400];
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char body[600];
    snprintf(body, sizeof body, "{\"id\": \"t\", \"customer\": {\"id\": \"c\", \"name\": \"%s\"}}",
             big);
    expect_refusal(f, body, 422, "customer.name (/customer/name): at most 127 bytes");
    /* Nesting is refused before parsing, at any depth past the bound. */
    char deep[4096] = "{\"id\": \"t\", \"customer\": {\"id\": \"c\"}, \"x\": ";
    for (int i = 0; i < 2000; i++)
        strcat(deep, i < 1000 ? "[" : "]");
    strcat(deep, "}");
    expect_refusal(f, deep, 400, "deeper than 32");
    /* Brackets inside strings are not nesting. */
    const char *quoted = "{\"id\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\", "
                         "\"customer\": {\"id\": \"c\"}}";
    struct pb_interaction in;
    char err[256];
    assert_int_equal(pb_checkin_parse(f->cfg, NULL, quoted, strlen(quoted), &in, err, sizeof err),
                     0);
    assert_int_equal(in.ext_id[36], '[');
    stop(f);
}

static void test_pointer(void **state)
{
    const char *doc = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"m~n\": 8,"
                      " \"k\\\"l\": 6, \" \": 7, \"x\": {\"y\": {\"z\": \"deep\"}}}";
    cJSON *root = cJSON_Parse(doc);
    assert_non_null(root);
    assert_ptr_equal(pb_json_pointer(root, ""), root);
    assert_string_equal(pb_json_pointer(root, "/foo/0")->valuestring, "bar");
    assert_string_equal(pb_json_pointer(root, "/foo/1")->valuestring, "baz");
    assert_null(pb_json_pointer(root, "/foo/2"));
    assert_null(pb_json_pointer(root, "/foo/01"));
    assert_null(pb_json_pointer(root, "/foo/-"));
    assert_int_equal(pb_json_pointer(root, "/")->valueint, 0);
    assert_int_equal(pb_json_pointer(root, "/a~1b")->valueint, 1);
    assert_int_equal(pb_json_pointer(root, "/m~0n")->valueint, 8);
    assert_int_equal(pb_json_pointer(root, "/k\"l")->valueint, 6);
    assert_int_equal(pb_json_pointer(root, "/ ")->valueint, 7);
    assert_string_equal(pb_json_pointer(root, "/x/y/z")->valuestring, "deep");
    assert_null(pb_json_pointer(root, "/x/y/z/w"));
    assert_null(pb_json_pointer(root, "/m~2n"));
    assert_null(pb_json_pointer(root, "foo"));
    cJSON_Delete(root);
}

static void test_time_parse(void **state)
{
    assert_true(pb_checkin_time_parse("2027-01-15T08:00:00Z") == FX_START_MS);
    assert_true(pb_checkin_time_parse("2027-01-15T09:00:00+01:00") == FX_START_MS);
    assert_true(pb_checkin_time_parse("2027-01-15T07:30:00.250-00:30") == FX_START_MS + 250);
    assert_true(pb_checkin_time_parse("1800000000") == FX_START_MS);
    assert_true(pb_checkin_time_parse("2027-01-15T08:00:00") == -1); /* no offset */
    assert_true(pb_checkin_time_parse("2027-13-15T08:00:00Z") == -1);
    assert_true(pb_checkin_time_parse("soon") == -1);
    assert_true(pb_checkin_time_parse("") == -1);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = calloc(1, 65536);
    *len = fread(buf, 1, 65535, fp);
    fclose(fp);
    return buf;
}

static struct pb_config *example_config(void)
{
    struct pb_config *cfg = NULL;
    struct pb_diag diag = {0};
    int rc = pb_config_load(PB_TEST_DATA "/../../config/checkins-example.conf", &cfg, &diag);
    for (size_t i = 0; i < diag.n; i++)
        fprintf(stderr, "%s\n", diag.lines[i]);
    pb_diag_free(&diag);
    assert_int_equal(rc, 0);
    return cfg;
}

static void test_mapping_zendesk(void **state)
{
    struct pb_config *cfg = example_config();
    size_t len;
    char *body = slurp(PB_TEST_DATA "/checkin/zendesk-ticket-solved.json", &len);
    struct pb_interaction in;
    char err[256] = "";
    int rc = pb_checkin_parse(cfg, pb_config_checkin_source(cfg, "zendesk"), body, len, &in, err,
                              sizeof err);
    if (rc)
        fail_msg("%d %s", rc, err);
    assert_string_equal(in.source, "zendesk");
    assert_string_equal(in.ext_id, "48213");
    assert_string_equal(in.customer, "customer:zendesk:411230987654");
    assert_string_equal(in.connector, "web");
    assert_string_equal(in.user, "411230987654");
    assert_string_equal(in.team, "billing");
    assert_string_equal(in.agent, "392018475611");
    assert_string_equal(in.channel, "web_widget");
    assert_string_equal(in.touchpoint, "support");
    assert_true(in.closed_ms == pb_checkin_time_parse("2024-05-21T09:41:12Z"));
    assert_string_equal(in.tags, "{\"zendesk\":\"billing,vat,tier_gold\",\"priority\":\"NORMAL\","
                                 "\"status\":\"SOLVED\"}");
    free(body);
    pb_config_free(cfg);
}

static void test_mapping_intercom(void **state)
{
    struct pb_config *cfg = example_config();
    size_t len;
    char *body = slurp(PB_TEST_DATA "/checkin/intercom-conversation-closed.json", &len);
    struct pb_interaction in;
    char err[256] = "";
    int rc = pb_checkin_parse(cfg, pb_config_checkin_source(cfg, "intercom"), body, len, &in, err,
                              sizeof err);
    if (rc)
        fail_msg("%d %s", rc, err);
    assert_string_equal(in.ext_id, "215467889012345");
    assert_string_equal(in.customer, "customer:intercom:6650b1f2a0c43d5e8b1f2a0c");
    assert_string_equal(in.name, "Jonas Keller");
    assert_string_equal(in.email, "jonas.keller@example.de");
    assert_string_equal(in.locale, "de");
    assert_string_equal(in.user, "cust-88412");
    assert_string_equal(in.team, "delivery");
    assert_string_equal(in.agent, "7104552");
    assert_string_equal(in.channel, "chat");
    assert_true(in.closed_ms == 1716283920LL * 1000);
    assert_string_equal(in.tags, "{\"plan\":\"Pro\",\"topic\":\"conversation.admin.closed\"}");
    /* The same body is not pulsebot's own format: posted to /v1/interactions it is refused. */
    assert_int_equal(pb_checkin_parse(cfg, NULL, body, len, &in, err, sizeof err), 422);
    assert_non_null(strstr(err, "customer.id: missing"));
    free(body);
    pb_config_free(cfg);
}

/* ---- authentication ---- */

static void test_signature(void **state)
{
    struct pb_checkin_keys keys = {.secret_len = 6, .token_len = 5};
    memcpy(keys.secret, "s3cret", 6);
    memcpy(keys.token, "tok3n", 5);
    const char *body = "{\"id\":\"1\"}";
    int64_t now = FX_START_MS, t = now / 1000, exp = 0;
    char header[160], sig[80], err[256];
    assert_int_equal(pb_checkin_sign(keys.secret, 6, t, body, strlen(body), header, sizeof header),
                     PB_OK);
    /* Good, and the replay key is the signature. */
    assert_int_equal(pb_checkin_signature_check(&keys, header, body, strlen(body), now, 5 * MINUTE,
                                                sig, sizeof sig, &exp, err, sizeof err),
                     0);
    assert_string_equal(sig, strstr(header, "v1=") + 3);
    assert_true(exp == t * 1000 + 5 * MINUTE);
    /* The body changed by one byte. */
    assert_int_equal(pb_checkin_signature_check(&keys, header, "{\"id\":\"2\"}", strlen(body), now,
                                                5 * MINUTE, sig, sizeof sig, &exp, err, sizeof err),
                     401);
    assert_non_null(strstr(err, "does not match"));
    /* Stale and ahead. */
    assert_int_equal(pb_checkin_signature_check(&keys, header, body, strlen(body),
                                                now + 5 * MINUTE + 1000, 5 * MINUTE, sig,
                                                sizeof sig, &exp, err, sizeof err),
                     401);
    assert_non_null(strstr(err, "old"));
    assert_int_equal(pb_checkin_signature_check(&keys, header, body, strlen(body), now - 6 * MINUTE,
                                                5 * MINUTE, sig, sizeof sig, &exp, err, sizeof err),
                     401);
    assert_non_null(strstr(err, "ahead"));
    /* Malformed, and another secret's signature next to the right one (rollover). */
    assert_int_equal(pb_checkin_signature_check(&keys, "v1=abc", body, strlen(body), now,
                                                5 * MINUTE, sig, sizeof sig, &exp, err, sizeof err),
                     401);
    assert_non_null(strstr(err, "malformed"));
    char two[300], other[160];
    assert_int_equal(pb_checkin_sign((const unsigned char *)"old", 3, t, body, strlen(body), other,
                                     sizeof other),
                     PB_OK);
    snprintf(two, sizeof two, "%s,%s", other, strstr(header, "v1="));
    assert_int_equal(pb_checkin_signature_check(&keys, two, body, strlen(body), now, 5 * MINUTE,
                                                sig, sizeof sig, &exp, err, sizeof err),
                     0);
    assert_int_equal(pb_checkin_signature_check(&keys, other, body, strlen(body), now, 5 * MINUTE,
                                                sig, sizeof sig, &exp, err, sizeof err),
                     401);
    /* Bearer tokens. */
    assert_int_equal(pb_checkin_bearer_check(&keys, "Bearer tok3n", err, sizeof err), 0);
    assert_int_equal(pb_checkin_bearer_check(&keys, "Bearer tok3", err, sizeof err), 401);
    assert_int_equal(pb_checkin_bearer_check(&keys, "Bearer tok3nn", err, sizeof err), 401);
    assert_int_equal(pb_checkin_bearer_check(&keys, "Basic dG9rM24=", err, sizeof err), 401);
    struct pb_checkin_keys none = {0};
    assert_int_equal(pb_checkin_bearer_check(&none, "Bearer ", err, sizeof err), 401);
}

static void test_replay_and_duplicate(void **state)
{
    struct fx *f = start();
    struct pb_interaction in;
    char outcome[160], again[160];
    make(&in, "T-1", "ana", "web", "ana", "", "support", "support", NULL);
    assert_int_equal(pb_checkin_intake(f->engine, &in, "aa11", FX_START_MS + 5 * MINUTE, outcome,
                                       sizeof outcome),
                     PB_OK);
    assert_string_equal(outcome, "scheduled");
    /* The same signature again: refused whatever the body. */
    make(&in, "T-2", "bo", "web", "bo", "", "support", "support", NULL);
    assert_int_equal(pb_checkin_intake(f->engine, &in, "aa11", FX_START_MS + 5 * MINUTE, outcome,
                                       sizeof outcome),
                     PB_ERR_FORGED);
    /* A retry of T-1, signed anew: the same answer and no second check-in. */
    make(&in, "T-1", "ana", "web", "ana", "", "support", "support", NULL);
    assert_int_equal(
        pb_checkin_intake(f->engine, &in, "bb22", FX_START_MS + 5 * MINUTE, again, sizeof again),
        PB_ERR_DONE);
    assert_string_equal(again, "scheduled");
    assert_int_equal(pb_store_checkin_count(f->store), 1);
    /* T-2 was rolled back with its replayed signature: it can come again, signed anew. */
    make(&in, "T-2", "bo", "web", "bo", "", "support", "support", NULL);
    assert_int_equal(pb_checkin_intake(f->engine, &in, "cc33", FX_START_MS + 5 * MINUTE, outcome,
                                       sizeof outcome),
                     PB_OK);
    assert_int_equal(pb_store_checkin_count(f->store), 2);
    /* After the window the signature is forgotten (and would be refused as stale anyway). */
    f->clock.now += 6 * MINUTE;
    assert_int_equal(pb_store_webhook_seen(f->store, "aa11", f->clock.now + 1, f->clock.now),
                     PB_OK);
    stop(f);
}

/* ---- the flow ---- */

static void test_delay_answer_followup_alert(void **state)
{
    struct fx *f = start();
    struct pb_interaction in;
    make(&in, "T-7", "ana", "web", "ana", "ana@example.com", "tier1", "support", NULL);
    in.closed_ms = FX_START_MS - 5 * MINUTE;
    intake_expect(f, &in, "scheduled");
    fx_advance(f, 0); /* what the engine had queued before */
    /* Due 15 minutes after it closed: the engine's next-due time says so. */
    assert_true(pb_engine_next_due(f->engine) == FX_START_MS + 10 * MINUTE);
    fx_advance(f, 10 * MINUTE - 1);
    assert_int_equal(count_question(f, "ana", CSAT_Q), 0);
    fx_advance(f, 1);
    assert_int_equal(count_question(f, "ana", CSAT_Q), 1);
    struct fx_sent *q = fx_last_to(f, "ana");
    assert_string_equal(q->title, "How did we do?");
    assert_int_equal(q->n_buttons, 5);
    /* Nothing more fires for it. */
    fx_advance(f, HOUR);
    assert_int_equal(count_question(f, "ana", CSAT_Q), 1);

    /* A low score: the follow-up question, and an alert for the team that handled it. */
    char reply[256], token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(q, "2"));
    assert_int_equal(fx_event(f, PB_EVENT_CHOICE, "ana", token, NULL, reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
    assert_int_equal(count_question(f, "ana", "What should we have done better?"), 1);
    struct fx_sent *alert = fx_last_to(f, "support-leads");
    assert_non_null(alert);
    struct pb_alert al;
    fx_get_alert(f, 1, &al);
    assert_string_equal(al.rule, "unhappy-customer");
    assert_string_equal(al.answer_team, "tier1");
    assert_string_equal(al.subject, "customer:ana");
    struct pb_answer a;
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_get(f->store, al.delivery_id, &d), PB_OK);
    assert_string_equal(d.person, "customer:ana");
    assert_int_equal(pb_store_answer_get(f->store, d.id, "csat", &a), PB_OK);
    assert_string_equal(a.person, "customer:ana");
    assert_string_equal(a.team, "tier1");
    pb_answer_clear(&a);

    /* The customer is not on the roster, and their text still answers the follow-up. */
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "ana", NULL, "Faster replies", reply, sizeof reply),
                     PB_OK);
    fx_advance(f, 0);
    assert_string_equal(fx_last_to(f, "ana")->text, "Thanks for telling us!");
    assert_int_equal(pb_store_delivery_get(f->store, d.id, &d), PB_OK);
    assert_int_equal(d.state, PB_DELIVERY_COMPLETED);
    /* Someone unknown who was asked nothing is still refused. */
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "zed", NULL, "hello", reply, sizeof reply),
                     PB_ERR_UNKNOWN);
    stop(f);
}

static void test_filters(void **state)
{
    struct fx *f = start();
    struct pb_interaction in;
    make(&in, "T-b", "bo", "web", "bo", "", "billing", "support", NULL);
    intake_expect(f, &in, "skipped: no check-in policy matches");
    make(&in, "T-o", "cy", "web", "cy", "", "billing", "onboarding", NULL);
    intake_expect(f, &in, "scheduled");
    make(&in, "T-n", "di", "", "", "", "support", "support", NULL);
    intake_expect(f, &in, "skipped: the customer has no chat");
    /* Closed so long ago that the survey would be over before it was asked. */
    make(&in, "T-old", "ed", "web", "ed", "", "support", "support", NULL);
    in.closed_ms = FX_START_MS - 3 * DAY;
    intake_expect(f, &in, "skipped: it closed too long ago");
    /* The onboarding survey, an hour after. */
    fx_advance(f, HOUR);
    assert_int_equal(count_question(f, "cy", "How was your onboarding?"), 1);
    assert_int_equal(count_question(f, "bo", CSAT_Q), 0);
    stop(f);
}

static void test_sampling_reproducible(void **state)
{
    struct fx *f = start();
    size_t taken = 0;
    for (int i = 0; i < 200; i++) {
        struct pb_interaction in;
        char id[32], who[32], outcome[160];
        snprintf(id, sizeof id, "S-%d", i);
        snprintf(who, sizeof who, "s%d", i);
        make(&in, id, who, "web", who, "", "billing", "support", "{\"sampled\":\"yes\"}");
        assert_int_equal(intake(f, &in, outcome, sizeof outcome), PB_OK);
        int scheduled = strcmp(outcome, "scheduled") == 0;
        /* The decision is the interaction id's alone. */
        assert_int_equal(scheduled, pb_checkin_sample_point(id) < 5000);
        if (!scheduled)
            assert_non_null(strstr(outcome, "not in the 50% sample"));
        taken += (size_t)scheduled;
    }
    assert_true(taken > 60 && taken < 140);
    assert_int_equal(pb_checkin_sample_point("S-17"), pb_checkin_sample_point("S-17"));
    assert_int_not_equal(pb_checkin_sample_point("S-17"), pb_checkin_sample_point("S-18"));
    stop(f);
}

static void test_contact_cap_across_connectors(void **state)
{
    struct fx *f = start();
    struct pb_interaction in;
    make(&in, "C-1", "ana", "web", "ana", "ana@example.com", "support", "support", NULL);
    intake_expect(f, &in, "scheduled");
    /* Never a second while one is scheduled, on any connector where the email matches. */
    make(&in, "C-2", "ana", "slack", "U0ANA", "ana@example.com", "support", "support", NULL);
    intake_expect(f, &in, "skipped: contact cap: a check-in is already scheduled");
    fx_advance(f, 15 * MINUTE);
    assert_int_equal(count_question(f, "ana", CSAT_Q), 1);
    /* While it is open. */
    make(&in, "C-3", "ana", "web", "ana", "", "support", "support", NULL);
    intake_expect(f, &in, "skipped: contact cap: a check-in of this customer is still open");
    /* Expiry after the survey's window; then the cap still holds for 7 days from sending. */
    fx_advance(f, 48 * HOUR);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_get(f->store, 1, &d), PB_OK);
    assert_int_equal(d.state, PB_DELIVERY_EXPIRED);
    assert_int_equal(fx_last_to(f, "ana")->flags & PB_MESSAGE_CLOSED, PB_MESSAGE_CLOSED);
    make(&in, "C-4", "ana", "slack", "U0ANA", "ana@example.com", "support", "support", NULL);
    intake_expect(f, &in, "skipped: contact cap: this customer was asked recently");
    f->clock.now = FX_START_MS + 15 * MINUTE + 7 * DAY + 1;
    make(&in, "C-5", "ana", "slack", "U0ANA", "ana@example.com", "support", "support", NULL);
    intake_expect(f, &in, "scheduled");
    fx_advance(f, 15 * MINUTE);
    assert_int_equal(count_question(f, "U0ANA", CSAT_Q), 1);
    stop(f);
}

static void test_optout_across_connectors(void **state)
{
    struct fx *f = start();
    struct pb_interaction in;
    char reply[256];
    make(&in, "O-1", "ana", "web", "ana", "ana@example.com", "support", "support", NULL);
    intake_expect(f, &in, "scheduled");
    fx_advance(f, 15 * MINUTE);
    assert_int_equal(count_question(f, "ana", CSAT_Q), 1);
    /* "Stop!" in any case opts out and closes the open question. */
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "ana", NULL, " Stop! ", reply, sizeof reply),
                     PB_OK);
    assert_non_null(strstr(reply, "not get these questions"));
    fx_advance(f, 0);
    struct pb_delivery d;
    assert_int_equal(pb_store_delivery_get(f->store, 1, &d), PB_OK);
    assert_int_equal(d.state, PB_DELIVERY_EXPIRED);
    assert_string_equal(fx_last_to(f, "ana")->note, "You will not be asked again.");
    /* Long after the cap: still never asked, on the other connector by the same email. */
    f->clock.now += 30 * DAY;
    make(&in, "O-2", "ana", "slack", "U0ANA", "ana@example.com", "support", "support", NULL);
    intake_expect(f, &in, "skipped: the customer opted out");
    make(&in, "O-3", "ana", "web", "ana", "", "support", "support", NULL);
    intake_expect(f, &in, "skipped: the customer opted out");
    /* A configured stop word, on Slack, by someone with a check-in scheduled: it never fires. */
    make(&in, "O-4", "bo", "slack", "U0BO", "bo@example.com", "support", "support", NULL);
    intake_expect(f, &in, "scheduled");
    struct pb_event ev = {.size = sizeof ev, .type = PB_EVENT_TEXT, .user = "U0BO", .text = "HALT"};
    assert_int_equal(pb_engine_event(f->engine, "slack", &ev, reply, sizeof reply), PB_OK);
    fx_advance(f, 15 * MINUTE);
    assert_int_equal(count_question(f, "U0BO", CSAT_Q), 0);
    struct pb_checkin c;
    assert_int_equal(pb_store_checkin_get(f->store, 2, &c), PB_OK);
    assert_int_equal(c.state, PB_CHECKIN_SKIPPED);
    assert_string_equal(c.note, "the customer opted out");
    /* Its email came with the interaction, so web knows it too. */
    make(&in, "O-5", "bo", "web", "bo", "bo@example.com", "support", "support", NULL);
    intake_expect(f, &in, "skipped: the customer opted out");
    assert_true(pb_checkin_is_stop(f->cfg, "arrête"));
    assert_false(pb_checkin_is_stop(f->cfg, "stop the noise"));
    stop(f);
}

static void test_in_chat_and_restart(void **state)
{
    struct fx *f = start();
    char reply[256];
    struct pb_event ev = {.size = sizeof ev,
                          .type = PB_EVENT_INTERACTION_CLOSED,
                          .user = "U0CAT",
                          .user_name = "Cat",
                          .agent = "U0MIA",
                          .interaction_id = "thread-1717"};
    /* No source takes the web chat's closed interactions: refused as before. */
    assert_int_equal(pb_engine_event(f->engine, "web", &ev, reply, sizeof reply), PB_ERR_UNKNOWN);
    assert_int_equal(pb_engine_event(f->engine, "slack", &ev, reply, sizeof reply), PB_OK);
    assert_string_equal(reply, "Check-in scheduled.");
    assert_int_equal(pb_engine_event(f->engine, "slack", &ev, reply, sizeof reply), PB_OK);
    assert_int_equal(pb_store_checkin_count(f->store), 1);
    struct pb_checkin c;
    assert_int_equal(pb_store_checkin_get(f->store, 1, &c), PB_OK);
    assert_string_equal(c.customer, "customer:slack:U0CAT");
    assert_string_equal(c.team, "tier1"); /* the source's literal team */
    /* The timer is in the store: it survives a restart. */
    fx_restart(f);
    struct pb_connector conn = {
        .size = sizeof conn, .self = f, .send = slack_send, .update = slack_update};
    assert_int_equal(pb_engine_attach(f->engine, "slack", &conn), PB_OK);
    fx_advance(f, 0);
    assert_true(pb_engine_next_due(f->engine) == FX_START_MS + 15 * MINUTE);
    fx_advance(f, 15 * MINUTE);
    assert_int_equal(count_question(f, "U0CAT", CSAT_Q), 1);
    assert_int_equal(pb_store_checkin_get(f->store, 1, &c), PB_OK);
    assert_int_equal(c.state, PB_CHECKIN_SENT);
    assert_true(c.delivery_id > 0);
    ev.interaction_id = NULL;
    assert_int_equal(pb_engine_event(f->engine, "slack", &ev, reply, sizeof reply), PB_ERR_INVALID);
    stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_own),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_pointer),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_mapping_zendesk),
        cmocka_unit_test(test_mapping_intercom),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_replay_and_duplicate),
        cmocka_unit_test(test_delay_answer_followup_alert),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_sampling_reproducible),
        cmocka_unit_test(test_contact_cap_across_connectors),
        cmocka_unit_test(test_optout_across_connectors),
        cmocka_unit_test(test_in_chat_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

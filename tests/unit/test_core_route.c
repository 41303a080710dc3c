/*
 * Routing rules and alert actions: rule matching as a table of cases (survey, kind, category,
 * team and sub-teams, words, first match and `continue`, anonymity); then, on the real engine
 * with a fake clock and connector, what the alert message shows, a comment with words moving
 * an alert, acknowledging and resolving with a reason and a note, reassignment, grouping, and
 * the history and metrics every change leaves.
 */
#include "test_core_fixture.h"

#include "metrics.h"

#define CONFIG PB_TEST_DATA "/engine/alerts.conf"

/* Metrics are process-wide counters: the tests look at what one step added. */
static uint64_t metric_at_start[8];
static const char *const metric_names[] = {
    "alert_ack_seconds_sum", "alert_ack_seconds_count", "alert_resolve_seconds_sum",
    "alerts_reassigned",     "alerts_grouped",          "alerts_rerouted"};

static uint64_t metric(const char *name)
{
    for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
        if (strcmp(metric_names[i], name) == 0)
            return pb_metrics_get(name) - metric_at_start[i];
    fail_msg("metric %s is not watched", name);
    return 0;
}

static int setup(void **state)
{
    for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
        metric_at_start[i] = pb_metrics_get(metric_names[i]);
    *state = fx_new(CONFIG);
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    return 0;
}

struct route_case {
    const char *survey, *team;
    int has_score, score;
    const char *comment;
    const char *expect; /* rule ids that fire, in order, space-separated */
};

static const struct route_case cases[] = {
    {"pulse", "support", 1, 2, NULL, "low"},
    {"pulse", "support", 1, 3, NULL, ""},     /* above the range */
    {"pulse", "tier1", 1, 1, NULL, "low"},    /* a sub-team of support */
    {"pulse", "sales", 1, 1, NULL, ""},       /* another team */
    {"pulse", "", 1, 1, NULL, ""},            /* no team known */
    {"pulse", "support", 0, 0, "refund", ""}, /* no score, no rule */
    {"pulse", "support", 1, 2, "I want a Refund!", "refund"},
    {"pulse", "support", 1, 2, "refunded already", "low"},  /* whole words only */
    {"pulse", "support", 1, 2, "non-refund", "refund"},     /* punctuation ends a word */
    {"pulse", "support", 1, 2, "Cancel my plan", "refund"}, /* a phrase */
    {"pulse", "support", 1, 2, "cancel myself", "low"},
    {"pulse", "support", 1, 2, "cancel", "low"},
    {"nps", "tier1", 1, 6, NULL, "nps-detractor nps-tier1"}, /* continue */
    {"nps", "sales", 1, 0, NULL, "nps-detractor"},
    {"nps", "tier1", 1, 7, NULL, ""}, /* passive */
    {"nps", "tier1", 1, 10, NULL, ""},
    {"nps", "tier1", 1, 3, "refund please", "refund"}, /* first match wins */
    {"nps", "tier1", 1, 7, "refund please", ""},       /* words and a score range */
    /* csat is a customer survey too, but an NPS category needs a 0 to 10 scale. */
    {"csat", "support", 1, 1, NULL, "csat-low"},
    {"csat", "support", 1, 2, NULL, "csat-low"},
    {"csat", "support", 1, 3, NULL, ""},
    {"anon", "support", 1, 1, NULL, ""}, /* anonymous: never */
    {"anon", "support", 1, 1, "refund", ""},
};

static void test_rule_table(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct route_case *c = &cases[i];
        const struct pb_cfg_survey *s = pb_config_survey(f->cfg, c->survey);
        assert_non_null(s);
        struct pb_answer a = {.has_score = c->has_score, .score = c->score};
        snprintf(a.team, sizeof a.team, "%s", c->team);
        snprintf(a.question, sizeof a.question, "%s", s->questions[0].id);
        size_t picked[8];
        size_t n = pb_route_select(f->cfg, s, &a, c->comment, NULL, picked, 8);
        char got[256] = "";
        for (size_t k = 0; k < n; k++) {
            size_t used = strlen(got);
            snprintf(got + used, sizeof got - used, "%s%s", k ? " " : "",
                     f->cfg->routes[picked[k]].id);
        }
        if (strcmp(got, c->expect) != 0)
            fail_msg("case %zu (%s, %s, %d, \"%s\"): expected \"%s\", got \"%s\"", i, c->survey,
                     c->team, c->score, c->comment ? c->comment : "(none)", c->expect, got);
    }
}

/* Rules on the tags of the interaction a customer's answer follows: all must hold. */
struct tags_case {
    const char *survey;
    int score;
    const char *tags; /* the interaction's, NULL: the answer follows none */
    const char *expect;
};

static const struct tags_case tag_cases[] = {
    {"csat", 3, "{\"tier\": \"enterprise\", \"product\": \"invoices\"}", "csat-enterprise"},
    {"csat", 3, "{\"tier\": \"enterprise\"}", ""},                      /* product missing */
    {"csat", 3, "{\"tier\": \"gold\", \"product\": \"invoices\"}", ""}, /* another value */
    {"csat", 3, "{\"tier\": \"smb,enterprise\", \"product\": \"x\"}", "csat-enterprise"},
    {"csat", 3, "{\"tier\": \"enterprises\", \"product\": \"x\"}", ""}, /* whole values */
    {"csat", 3, "{}", ""},
    {"csat", 3, NULL, ""}, /* no interaction: a rule with tags never matches */
    {"csat", 3, "not json", ""},
    {"csat", 4, "{\"tier\": \"enterprise\", \"product\": \"x\"}", ""}, /* above the range */
    /* First match still wins: csat-low comes before and takes the lowest scores. */
    {"csat", 2, "{\"tier\": \"enterprise\", \"product\": \"x\"}", "csat-low"},
    /* Rules without tags ignore them. */
    {"pulse", 1, "{\"tier\": \"enterprise\"}", "low"},
};

static void test_rule_tags(void **state)
{
    struct fx *f = *state;
    for (size_t i = 0; i < sizeof tag_cases / sizeof tag_cases[0]; i++) {
        const struct tags_case *c = &tag_cases[i];
        const struct pb_cfg_survey *s = pb_config_survey(f->cfg, c->survey);
        struct pb_answer a = {.has_score = 1, .score = c->score};
        snprintf(a.team, sizeof a.team, "support");
        snprintf(a.question, sizeof a.question, "%s", s->questions[0].id);
        size_t picked[8];
        size_t n = pb_route_select(f->cfg, s, &a, NULL, c->tags, picked, 8);
        const char *got = n ? f->cfg->routes[picked[0]].id : "";
        if (strcmp(got, c->expect) != 0)
            fail_msg("tags case %zu (%s): expected \"%s\", got \"%s\"", i,
                     c->tags ? c->tags : "(none)", c->expect, got);
    }
    const char *const want[] = {"vip"};
    assert_true(pb_route_tags_hold("{\"vip\": \"true\"}", want, 1));
    assert_true(pb_route_tags_hold(NULL, want, 0));            /* nothing asked: holds */
    assert_false(pb_route_tags_hold("{\"vip\": 1}", want, 1)); /* tags are strings */
}

static void test_categories_and_words(void **state)
{
    struct fx *f = *state;
    const struct pb_cfg_route *r = &f->cfg->routes[1];
    assert_string_equal(r->id, "nps-detractor");
    assert_int_equal(r->min_score, 0);
    assert_int_equal(r->max_score, 6);
    assert_int_equal(f->cfg->routes[3].min_score, 1);
    assert_int_equal(f->cfg->routes[3].max_score, 2);
    const char *const words[] = {"refund", "cancel my"};
    assert_true(pb_route_words_match("REFUND", words, 2));
    assert_true(pb_route_words_match("a refund.", words, 2));
    assert_true(pb_route_words_match("please cancel my order", words, 2));
    assert_false(pb_route_words_match("unrefundable", words, 2));
    assert_false(pb_route_words_match("refund_policy", words, 2));
    assert_false(pb_route_words_match("cancel mystery", words, 2));
    assert_false(pb_route_words_match("caférefund", words, 2)); /* UTF-8 letters join words */
    assert_false(pb_route_words_match(NULL, words, 2));
    assert_false(pb_route_words_match("refund", words, 0));
}

static void test_alert_message_and_mention(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "pulse", "alice", 2);
    struct fx_sent *al = fx_last_to(f, "leads");
    assert_non_null(al);
    assert_false(al->update);
    assert_int_equal(al->kind, PB_MESSAGE_ALERT);
    assert_string_equal(al->title, "Low score: 2 of 5");
    assert_non_null(strstr(al->fields, "For=Olga On-call;")); /* support's on-call, inherited */
    assert_non_null(strstr(al->fields, "Acknowledge by=2027-01-15 08:30 UTC;"));
    assert_non_null(strstr(al->fields, "Resolve by=2027-01-16 08:00 UTC;"));
    assert_non_null(strstr(al->fields, "Team=Support leads;"));
    /* No button to reassign it to the team that has it. */
    assert_int_equal(al->n_buttons, 3);
    assert_string_equal(al->labels[0], "Acknowledge");
    assert_string_equal(al->labels[1], "Resolve");
    assert_string_equal(al->labels[2], "Reassign: Billing");
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_string_equal(a.mention, "olga");
    assert_string_equal(a.answer_team, "support");
    assert_int_equal(a.ack_deadline_ms, FX_START_MS + 30 * MINUTE);

    /* A rule's own channel: csat alerts go to web:csat, owned by support. */
    fx_answer(f, "csat", "carl", 1);
    struct fx_sent *csat = fx_last_to(f, "csat");
    assert_non_null(csat);
    assert_string_equal(csat->title, "Low score: 1 of 5");
    assert_null(strstr(csat->fields, "For="));
    fx_get_alert(f, 2, &a);
    assert_string_equal(a.team, "support");
    assert_string_equal(a.channel, "csat");
    assert_int_equal(a.ack_deadline_ms, 0);
    char history[256];
    fx_history(f, 2, history, sizeof history);
    assert_string_equal(history, "raised");
}

static void test_comment_with_words_moves_the_alert(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "pulse", "alice", 2);
    struct fx_sent *first = fx_last_to(f, "leads");
    assert_non_null(first);
    uint64_t first_id = first->id;
    f->clock.now += 5 * MINUTE;
    fx_comment(f, "alice", "I want a REFUND for this week");
    assert_int_equal(pb_store_alert_count(f->store), 1);
    /* The leads' message is closed and says where it went; billing has it, with the comment. */
    struct fx_sent *old = fx_last_to(f, "leads");
    assert_true(old->update);
    char ref[32];
    snprintf(ref, sizeof ref, "ref-%llu", (unsigned long long)first_id);
    assert_string_equal(old->message_ref, ref);
    assert_int_equal(old->n_buttons, 0);
    assert_true(old->flags & PB_MESSAGE_CLOSED);
    assert_string_equal(
        old->note, "Moved to Billing at 2027-01-15 08:05 UTC: rule refund matched the comment.");
    struct fx_sent *moved = fx_last_to(f, "billing");
    assert_non_null(moved);
    assert_false(moved->update);
    assert_non_null(strstr(moved->fields, "Comment=I want a REFUND for this week;"));
    assert_non_null(strstr(moved->fields, "For=Bill Payne;"));
    assert_non_null(strstr(moved->fields, "Acknowledge by=2027-01-15 08:20 UTC;"));
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_string_equal(a.rule, "refund");
    assert_string_equal(a.team, "billing");
    assert_string_equal(a.channel, "billing");
    assert_int_equal(a.ack_sla_ms, 15 * MINUTE);
    assert_int_equal(a.resolve_deadline_ms, 0);
    char history[256];
    fx_history(f, 1, history, sizeof history);
    assert_string_equal(history, "raised commented rerouted");
    assert_int_equal(metric("alerts_rerouted"), 1);

    /* A comment without the words leaves an alert where it is. */
    fx_answer(f, "pulse", "dora", 1);
    fx_comment(f, "dora", "Nothing about money");
    fx_get_alert(f, 2, &a);
    assert_string_equal(a.rule, "low");
    assert_string_equal(a.team, "support-leads");
}

static void test_words_raise_when_nothing_was_raised(void **state)
{
    struct fx *f = *state;
    /* carl (sales) answers the pulse low: no rule matches his score alone. */
    fx_answer(f, "pulse", "carl", 1);
    assert_int_equal(pb_store_alert_count(f->store), 0);
    fx_comment(f, "carl", "Cancel my subscription");
    assert_int_equal(pb_store_alert_count(f->store), 1);
    struct fx_sent *b = fx_last_to(f, "billing");
    assert_non_null(b);
    assert_false(b->update);
    assert_non_null(strstr(b->fields, "Comment=Cancel my subscription;"));
}

static void test_anonymous_never_alerts(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "anon", "alice", 1);
    fx_comment(f, "alice", "refund me, cancel my plan");
    assert_int_equal(pb_store_alert_count(f->store), 0);
    for (size_t i = 0; i < f->n_sent; i++) {
        assert_int_equal(f->sent[i].target_kind, PB_TARGET_PERSON);
        assert_string_equal(f->sent[i].target, "alice");
    }
}

static void test_acknowledge_and_resolve_with_reason(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_answer(f, "pulse", "alice", 2);
    /* bob is in tier1, below support but not in support-leads: he may not act. */
    assert_int_equal(fx_press(f, "leads", "Acknowledge", "bob", NULL, reply, sizeof reply),
                     PB_ERR_NOT_YOURS);
    f->clock.now += 10 * MINUTE;
    assert_int_equal(fx_press(f, "leads", "Acknowledge", "olga", "on it", reply, sizeof reply),
                     PB_OK);
    struct fx_sent *m = fx_last_to(f, "leads");
    assert_true(m->update);
    assert_string_equal(m->note, "Acknowledged by Olga On-call at 2027-01-15 08:10 UTC.");
    assert_null(strstr(m->fields, "Acknowledge by="));
    assert_int_equal(metric("alert_ack_seconds_sum"), 600);
    assert_int_equal(metric("alert_ack_seconds_count"), 1);

    /* Resolve offers the reasons, Back takes them away, a reason resolves. */
    assert_int_equal(fx_press(f, "leads", "Resolve", "mia", NULL, reply, sizeof reply), PB_OK);
    m = fx_last_to(f, "leads");
    assert_int_equal(m->n_buttons, 4);
    assert_string_equal(m->labels[0], "Fixed");
    assert_string_equal(m->labels[2], "No action");
    assert_string_equal(m->labels[3], "Back");
    assert_non_null(strstr(m->note, "Pick a reason to resolve it."));
    assert_int_equal(fx_press(f, "leads", "Back", "mia", NULL, reply, sizeof reply), PB_OK);
    m = fx_last_to(f, "leads");
    assert_string_equal(m->labels[0], "Resolve");
    assert_int_equal(fx_press(f, "leads", "Resolve", "mia", NULL, reply, sizeof reply), PB_OK);
    char explained[PB_TOKEN_MAX];
    snprintf(explained, sizeof explained, "%s", fx_token(fx_last_to(f, "leads"), "Explained"));
    f->clock.now += 50 * MINUTE;
    assert_int_equal(fx_event(f, PB_EVENT_ACTION, "mia", explained,
                              "Talked to Alice; workload moved", reply, sizeof reply),
                     PB_OK);
    fx_advance(f, 0);
    m = fx_last_to(f, "leads");
    assert_int_equal(m->n_buttons, 0);
    assert_true(m->flags & PB_MESSAGE_CLOSED);
    assert_string_equal(m->note, "Resolved by Mia Lead at 2027-01-15 09:00 UTC.");
    assert_non_null(strstr(m->fields, "Reason=Explained;"));
    assert_non_null(strstr(m->fields, "Resolution note=Talked to Alice; workload moved;"));
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_int_equal(a.state, PB_ALERT_RESOLVED);
    assert_string_equal(a.resolve_reason, "explained");
    assert_string_equal(a.ack_by, "olga");
    assert_int_equal(a.resolved_ms - a.created_ms, 60 * MINUTE);
    assert_int_equal(metric("alert_resolve_seconds_sum"), 3600);

    /* The same reason again, or any button of the alert, changes nothing. */
    assert_int_equal(fx_event(f, PB_EVENT_ACTION, "mia", explained, NULL, reply, sizeof reply),
                     PB_ERR_DONE);
    assert_string_equal(reply, "This alert is already resolved.");
    struct pb_alert_event ev[8];
    size_t n = 0;
    assert_int_equal(pb_store_alert_events(f->store, 1, ev, 8, &n), PB_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ev[1].kind, "acknowledged");
    assert_string_equal(ev[1].actor, "olga");
    assert_int_equal(ev[1].at_ms, FX_START_MS + 10 * MINUTE);
    assert_string_equal(ev[1].detail, "note: on it");
    assert_string_equal(ev[2].kind, "resolved");
    assert_string_equal(ev[2].actor, "mia");
    assert_string_equal(ev[2].detail, "reason: explained; note: Talked to Alice; workload moved");

    /* A token whose index names no reason is refused, not guessed at. */
    struct pb_token t = {.kind = PB_TOKEN_ACTION, .id = 1, .index = PB_ALERT_TOKEN(1, 9)};
    char bad[PB_TOKEN_MAX];
    assert_int_equal(pb_token_sign(&f->key, &t, bad, sizeof bad), PB_OK);
    assert_int_equal(fx_event(f, PB_EVENT_ACTION, "mia", bad, NULL, reply, sizeof reply),
                     PB_ERR_INVALID);
}

static void test_reassign(void **state)
{
    struct fx *f = *state;
    char reply[256];
    fx_answer(f, "pulse", "alice", 1);
    struct fx_sent *orig = fx_last_to(f, "leads");
    char to_billing[PB_TOKEN_MAX];
    snprintf(to_billing, sizeof to_billing, "%s", fx_token(orig, "Reassign: Billing"));
    f->clock.now += 20 * MINUTE;
    assert_int_equal(fx_event(f, PB_EVENT_ACTION, "mia", to_billing, NULL, reply, sizeof reply),
                     PB_OK);
    fx_advance(f, 0);
    struct fx_sent *old = fx_last_to(f, "leads");
    assert_true(old->update);
    assert_int_equal(old->n_buttons, 0);
    assert_string_equal(old->note, "Moved to Billing by Mia Lead at 2027-01-15 08:20 UTC.");
    struct fx_sent *now = fx_last_to(f, "billing");
    assert_non_null(now);
    assert_false(now->update);
    /* Billing's own buttons: no way to reassign to itself. */
    assert_int_equal(now->n_buttons, 3);
    assert_string_equal(now->labels[2], "Reassign: Support leads");
    /* The acknowledge SLA starts again for the new team; the rule's mention follows it. */
    assert_non_null(strstr(now->fields, "Acknowledge by=2027-01-15 08:50 UTC;"));
    assert_null(strstr(now->fields, "For=")); /* billing has no on-call */
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_string_equal(a.team, "billing");
    assert_int_equal(a.outbox_id, (int64_t)now->id);
    assert_int_equal(metric("alerts_reassigned"), 1);

    /* mia is not in billing any more; bill is, and the old button cannot move it again. */
    assert_int_equal(fx_event(f, PB_EVENT_ACTION, "mia", to_billing, NULL, reply, sizeof reply),
                     PB_ERR_NOT_YOURS);
    assert_int_equal(fx_event(f, PB_EVENT_ACTION, "bill", to_billing, NULL, reply, sizeof reply),
                     PB_ERR_DONE);
    assert_string_equal(reply, "This alert is already with Billing.");
    assert_int_equal(fx_press(f, "billing", "Acknowledge", "bill", NULL, reply, sizeof reply),
                     PB_OK);
    char history[256];
    fx_history(f, 1, history, sizeof history);
    assert_string_equal(history, "raised reassigned acknowledged");
    struct pb_alert_event ev[4];
    size_t n = 0;
    assert_int_equal(pb_store_alert_events(f->store, 1, ev, 4, &n), PB_OK);
    assert_string_equal(ev[1].actor, "mia");
    assert_string_equal(ev[1].detail, "from support-leads to billing");
}

static void test_grouping(void **state)
{
    struct fx *f = *state;
    fx_answer(f, "pulse", "alice", 1);
    f->clock.now += 10 * MINUTE;
    fx_answer(f, "pulse", "dora", 2);
    assert_int_equal(pb_store_alert_count(f->store), 1);
    /* Posted once; the second score is a reply in its thread. */
    assert_int_equal(fx_count_to(f, "leads", 0), 2);
    struct fx_sent *reply_in_thread = NULL;
    for (size_t i = 0; i < f->n_sent; i++)
        if (!f->sent[i].update && strcmp(f->sent[i].target, "leads") == 0 &&
            f->sent[i].thread_ref[0])
            reply_in_thread = &f->sent[i];
    assert_non_null(reply_in_thread);
    assert_true(strncmp(reply_in_thread->thread_ref, "ref-", 4) == 0);
    assert_string_equal(reply_in_thread->text,
                        "Another low score joined this alert: 2 of 5 from Dora Dahl.");
    struct fx_sent *m = fx_last_to(f, "leads");
    assert_true(m->update);
    assert_non_null(
        strstr(m->fields, "Answers=2 from Support within the grouping window; latest 2;"));
    assert_string_equal(m->title, "Low score: 1 of 5");
    /* The comments: each newest one is shown. */
    fx_comment(f, "dora", "Too many tickets");
    m = fx_last_to(f, "leads");
    assert_non_null(strstr(m->fields, "Latest comment=Too many tickets;"));
    fx_comment(f, "alice", "Same here");
    m = fx_last_to(f, "leads");
    assert_non_null(strstr(m->fields, "Latest comment=Same here;"));
    struct pb_alert a;
    fx_get_alert(f, 1, &a);
    assert_int_equal(a.group_count, 2);
    assert_int_equal(a.last_score, 2);
    char history[256];
    fx_history(f, 1, history, sizeof history);
    assert_string_equal(history, "raised grouped commented commented");

    /* Past the window a low score is an alert of its own again; so is one after resolving. */
    f->clock.now += 61 * MINUTE;
    fx_answer(f, "pulse", "alice", 1);
    assert_int_equal(pb_store_alert_count(f->store), 2);
    fx_get_alert(f, 2, &a);
    assert_int_equal(a.group_count, 1);
    char reply[256];
    assert_int_equal(fx_press_on(f, (uint64_t)a.outbox_id, "Resolve", "mia", NULL, reply, 256),
                     PB_OK);
    assert_int_equal(fx_press_on(f, (uint64_t)a.outbox_id, "Fixed", "mia", NULL, reply, 256),
                     PB_OK);
    fx_get_alert(f, 2, &a);
    assert_int_equal(a.state, PB_ALERT_RESOLVED);
    fx_answer(f, "pulse", "dora", 1);
    assert_int_equal(pb_store_alert_count(f->store), 3);
    assert_int_equal(metric("alerts_grouped"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rule_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_tags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_categories_and_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alert_message_and_mention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comment_with_words_moves_the_alert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_words_raise_when_nothing_was_raised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_anonymous_never_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acknowledge_and_resolve_with_reason, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reassign, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
    };
    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}

/*
 * Question types, languages and banks through the engine with a fake connector and clock: a
 * German-speaking person gets the survey in German with emoji, choice and yes/no buttons;
 * answers keep the score and the configured word; typed replies are read in any language;
 * yes/no and choice answers raise no score alert; the core's words follow the person's
 * language with its fallbacks; a bank asks the next question each schedule round, the same
 * after a restart.
 */
#include "test_core_fixture.h"

#include "l10n.h"

static const char config[] =
    "daemon = { state_dir = \"/nonexistent\"; };\n"
    "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
    "teams = ( { id = \"support\"; name = \"Support\"; channel = \"web:leads\"; } );\n"
    "people = (\n"
    "  { id = \"alice\"; name = \"Alice\"; team = \"support\"; locale = \"en\"; },\n"
    "  { id = \"jonas\"; name = \"Jonas\"; team = \"support\"; locale = \"de-CH\"; },\n"
    "  { id = \"marie\"; name = \"Marie\"; team = \"support\"; locale = \"fr\"; },\n"
    "  { id = \"pat\"; name = \"Pat\"; team = \"support\"; }\n"
    ");\n"
    "surveys = (\n"
    "  { id = \"types\"; title = \"Pulse\"; title_de = \"Puls\"; window = \"7d\";\n"
    "    questions = (\n"
    "      { id = \"mood\"; type = \"emoji\"; text = \"How do you feel?\";\n"
    "        text_de = \"Wie geht es dir?\"; },\n"
    "      { id = \"driver\"; type = \"choice\"; text = \"What matters most?\";\n"
    "        text_de = \"Was ist dir am wichtigsten?\";\n"
    "        options = [ \"Workload\", \"Team\", \"Tools\" ];\n"
    "        options_de = [ \"Arbeitslast\", \"Team\", \"Werkzeuge\" ];\n"
    "        branches = ( { choice = \"Workload\"; next = \"load\"; } ); next = \"end\"; },\n"
    "      { id = \"load\"; type = \"yesno\"; text = \"Too much?\"; text_de = \"Zu viel?\";\n"
    "        branches = ( { answer = \"yes\"; next = \"why\"; } ); next = \"end\"; },\n"
    "      { id = \"why\"; type = \"text\"; text = \"Why?\"; text_de = \"Warum?\"; }\n"
    "    ); },\n"
    "  { id = \"nps\"; window = \"7d\"; thanks = \"Thanks!\"; thanks_de = \"Merci vielmal!\";\n"
    "    reminders = [ \"1h\" ];\n"
    "    questions = ( { id = \"nps\"; type = \"nps\"; text = \"Recommend us?\";\n"
    "      text_de = \"Empfehlen?\"; } ); },\n"
    "  { id = \"rot\"; window = \"30m\"; thanks = \"\"; bank = [ \"a\", \"b\", \"c\" ];\n"
    "    questions = (\n"
    "      { id = \"a\"; type = \"scale\"; text = \"Question A\"; },\n"
    "      { id = \"b\"; type = \"yesno\"; text = \"Question B\"; },\n"
    "      { id = \"c\"; type = \"csat\"; text = \"Question C\"; },\n"
    "      { id = \"more\"; type = \"text\"; text = \"Anything else?\"; }\n"
    "    ); }\n"
    ");\n"
    "schedules = ( { id = \"rotation\"; survey = \"rot\"; every = \"1h\"; first = \"1h\";\n"
    "  audience = { people = [ \"alice\" ]; }; } );\n"
    "routing = ( { id = \"low\"; max_score = 2; alert = \"support\"; } );\n";

static char path[64];

static int setup(void **state)
{
    snprintf(path, sizeof path, "/tmp/pb-survey-types-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, config, sizeof config - 1), (ssize_t)(sizeof config - 1));
    close(fd);
    *state = fx_new(path);
    return 0;
}

static int teardown(void **state)
{
    fx_free(*state);
    unlink(path);
    return 0;
}

static int64_t start(struct fx *f, const char *survey, const char *person)
{
    int64_t id = 0;
    const struct pb_cfg_survey *s = pb_config_survey(f->cfg, survey);
    assert_int_equal(pb_survey_start_to(f->engine, s, person, "web", person, NULL, 0, 0, &id),
                     PB_OK);
    fx_advance(f, 0);
    return id;
}

static int press(struct fx *f, const char *person, const char *label, char *reply, size_t len)
{
    struct fx_sent *q = fx_last_to(f, person);
    assert_non_null(q);
    char token[PB_TOKEN_MAX];
    snprintf(token, sizeof token, "%s", fx_token(q, label));
    int rc = fx_event(f, PB_EVENT_CHOICE, person, token, NULL, reply, len);
    fx_advance(f, 0);
    return rc;
}

static void assert_labels(const struct fx_sent *m, const char *const *want, int n)
{
    assert_int_equal(m->n_buttons, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(m->labels[i], want[i]);
}

static void assert_answer(struct fx *f, int64_t delivery, const char *question, int score,
                          const char *text)
{
    struct pb_answer a;
    assert_int_equal(pb_store_answer_get(f->store, delivery, question, &a), PB_OK);
    assert_true(a.has_score);
    assert_int_equal(a.score, score);
    assert_string_equal(a.text ? a.text : "(null)", text);
    pb_answer_clear(&a);
}

/* The update that closed the newest question before the last message to `person`. */
static const struct fx_sent *last_update_to(struct fx *f, const char *person)
{
    for (size_t i = f->n_sent; i-- > 0;)
        if (f->sent[i].update && strcmp(f->sent[i].target, person) == 0)
            return &f->sent[i];
    return NULL;
}

static void test_german_person_gets_german_buttons(void **state)
{
    struct fx *f = *state;
    char reply[256];
    int64_t id = start(f, "types", "jonas");
    struct fx_sent *q = fx_last_to(f, "jonas");
    assert_string_equal(q->title, "Puls");
    assert_string_equal(q->text, "Wie geht es dir?");
    static const char *const faces[] = {"😞", "🙁", "😐", "🙂", "😄"};
    assert_labels(q, faces, 5);

    assert_int_equal(press(f, "jonas", "🙂", reply, sizeof reply), PB_OK);
    assert_string_equal(last_update_to(f, "jonas")->note, "Deine Antwort: 🙂");
    assert_answer(f, id, "mood", 4, "(null)");

    q = fx_last_to(f, "jonas");
    assert_string_equal(q->text, "Was ist dir am wichtigsten?");
    assert_string_equal(q->title, ""); /* the title heads the first message only */
    static const char *const options[] = {"Arbeitslast", "Team", "Werkzeuge"};
    assert_labels(q, options, 3);
    assert_int_equal(press(f, "jonas", "Arbeitslast", reply, sizeof reply), PB_OK);
    /* Stored as configured, so that answers in every language count together. */
    assert_answer(f, id, "driver", 0, "Workload");
    assert_string_equal(last_update_to(f, "jonas")->note, "Deine Antwort: Arbeitslast");

    q = fx_last_to(f, "jonas");
    assert_string_equal(q->text, "Zu viel?");
    static const char *const yesno[] = {"Ja", "Nein"};
    assert_labels(q, yesno, 2);
    /* A typed "nein" is the No button; the branch on yes is not taken: the end. */
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "jonas", NULL, "Nein!", reply, sizeof reply),
                     PB_OK);
    fx_advance(f, 0);
    assert_answer(f, id, "load", 0, "no");
    assert_string_equal(fx_last_to(f, "jonas")->text, "Danke!");

    /* Scores 0 and 4 fell in no alert: yes/no and choice are no scores to routing rules. */
    assert_int_equal(fx_count_to(f, "leads", 0), 0);

    /* The old button again: told so in German. */
    struct fx_sent *asked = NULL;
    for (size_t i = 0; i < f->n_sent; i++)
        if (!f->sent[i].update && strcmp(f->sent[i].text, "Zu viel?") == 0)
            asked = &f->sent[i];
    assert_non_null(asked);
    assert_int_equal(
        fx_event(f, PB_EVENT_CHOICE, "jonas", fx_token(asked, "Ja"), NULL, reply, sizeof reply),
        PB_ERR_DONE);
    assert_string_equal(reply, "Du hast diese Umfrage schon beantwortet. Danke!");
}

static void test_typed_replies_and_follow_up(void **state)
{
    struct fx *f = *state;
    char reply[256];
    int64_t id = start(f, "types", "alice");
    struct fx_sent *q = fx_last_to(f, "alice");
    assert_string_equal(q->title, "Pulse");
    assert_string_equal(q->text, "How do you feel?");
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "alice", NULL, "2", reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
    assert_answer(f, id, "mood", 2, "(null)");
    assert_string_equal(last_update_to(f, "alice")->note, "Your answer: 🙁");

    /* A choice by an unknown word is refused with a hint; by its text it is taken. */
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "alice", NULL, "cake", reply, sizeof reply),
                     PB_ERR_INVALID);
    assert_string_equal(reply, "Please pick one of the buttons.");
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "alice", NULL, " workload ", reply, sizeof reply),
                     PB_OK);
    fx_advance(f, 0);
    assert_answer(f, id, "driver", 0, "Workload");

    static const char *const yesno[] = {"Yes", "No"};
    assert_labels(fx_last_to(f, "alice"), yesno, 2);
    assert_int_equal(press(f, "alice", "Yes", reply, sizeof reply), PB_OK);
    assert_answer(f, id, "load", 1, "yes");
    q = fx_last_to(f, "alice");
    assert_string_equal(q->text, "Why?");
    assert_string_equal(q->note, "Reply with a message.");
    assert_true(q->flags & PB_MESSAGE_EXPECTS_TEXT);
    fx_comment(f, "alice", "Too many tickets");
    assert_string_equal(fx_last_to(f, "alice")->text, "Thank you!");
    /* The emoji scale's 2 is a score like any other: one alert, and the comment joins it. */
    assert_int_equal(fx_count_to(f, "leads", 0), 1);
    assert_non_null(strstr(fx_last_to(f, "leads")->fields, "Too many tickets"));
}

static void test_choice_by_number_in_french(void **state)
{
    struct fx *f = *state;
    char reply[256];
    int64_t id = start(f, "types", "marie");
    /* No French text: the default locale's, which is the text itself. */
    assert_string_equal(fx_last_to(f, "marie")->text, "How do you feel?");
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "marie", NULL, "9", reply, sizeof reply),
                     PB_ERR_INVALID);
    assert_string_equal(reply, "Choisissez l'un des boutons, ou écrivez un nombre de 1 à 5.");
    assert_int_equal(press(f, "marie", "😄", reply, sizeof reply), PB_OK);
    assert_int_equal(fx_event(f, PB_EVENT_TEXT, "marie", NULL, "3", reply, sizeof reply), PB_OK);
    fx_advance(f, 0);
    assert_answer(f, id, "driver", 2, "Tools");
    assert_string_equal(last_update_to(f, "marie")->note, "Votre réponse : Tools");
    assert_string_equal(fx_last_to(f, "marie")->text, "Merci !");
}

static void test_nps_standard_labels_and_translated_thanks(void **state)
{
    struct fx *f = *state;
    char reply[256];
    start(f, "nps", "jonas");
    struct fx_sent *q = fx_last_to(f, "jonas");
    assert_int_equal(q->n_buttons, 11);
    assert_string_equal(q->labels[0], "0");
    assert_int_equal(press(f, "jonas", "0", reply, sizeof reply), PB_OK);
    assert_string_equal(last_update_to(f, "jonas")->note,
                        "Deine Antwort: 0 (Überhaupt nicht wahrscheinlich)");
    assert_string_equal(fx_last_to(f, "jonas")->text, "Merci vielmal!");
    /* A score on a scale still routes as before. */
    assert_int_equal(fx_count_to(f, "leads", 0), 1);

    start(f, "nps", "pat"); /* no locale: the survey's default, English */
    assert_int_equal(press(f, "pat", "7", reply, sizeof reply), PB_OK);
    assert_string_equal(last_update_to(f, "pat")->note, "Your answer: 7 of 10");
    assert_string_equal(fx_last_to(f, "pat")->text, "Thanks!");
}

/* Reminders and the note that closes an expired question are in the person's language. */
static void test_reminder_and_expiry_in_german(void **state)
{
    struct fx *f = *state;
    start(f, "nps", "jonas");
    assert_string_equal(fx_last_to(f, "jonas")->text, "Empfehlen?");
    fx_advance(f, 61 * MINUTE);
    assert_string_equal(fx_last_to(f, "jonas")->text, "Zur Erinnerung: Empfehlen?");
    fx_advance(f, 7 * 24 * 60 * MINUTE);
    const struct fx_sent *closed = last_update_to(f, "jonas");
    assert_non_null(closed);
    assert_true(closed->flags & PB_MESSAGE_CLOSED);
    assert_int_equal(closed->n_buttons, 0);
    assert_string_equal(closed->note, "Diese Umfrage ist geschlossen.");
}

/* Each round of the schedule starts at the next question of the bank; a follow-up comes after
 * the bank, and a restart does not change which question a round asks. */
static void test_bank_rotates_by_round(void **state)
{
    struct fx *f = *state;
    char reply[256];
    const char *want[] = {"Question A", "Question B", "Question C", "Question A"};
    fx_advance(f, 0); /* the schedule is seen: its first round is an hour away */
    for (int round = 0; round < 4; round++) {
        fx_advance(f, 60 * MINUTE);
        struct fx_sent *q = fx_last_to(f, "alice");
        assert_non_null(q);
        assert_string_equal(q->text, want[round]);
        if (round == 0) {
            assert_int_equal(press(f, "alice", "5", reply, sizeof reply), PB_OK);
            assert_string_equal(fx_last_to(f, "alice")->text, "Anything else?");
        }
        if (round == 1) {
            fx_restart(f); /* the open question is still B, and the next round is C */
            fx_advance(f, 0);
            assert_int_equal(press(f, "alice", "No", reply, sizeof reply), PB_OK);
            assert_string_equal(fx_last_to(f, "alice")->text, "Anything else?");
        }
    }
}

static void test_fallback_order(void **state)
{
    (void)state;
    struct pb_cfg_translation v[] = {
        {.key = "text", .locale = "de", .text = "DE"},
        {.key = "text", .locale = "de_CH", .text = "CH"},
        {.key = "text", .locale = "en", .text = "EN"},
        {.key = "title", .locale = "fr", .text = "FR"},
    };
    struct pb_cfg_translations tr = {v, 4};
    struct pb_lang ch = {.locale = "de-ch", .fallback = "en"},
                   at = {.locale = "de-AT", .fallback = "en"},
                   fr = {.locale = "fr", .fallback = "en"}, none = {.fallback = "en"},
                   nb = {.locale = "nb", .fallback = "it"};
    assert_string_equal(pb_l10n_text(&tr, "text", "base", &ch), "CH");
    assert_string_equal(pb_l10n_text(&tr, "text", "base", &at), "DE");
    assert_string_equal(pb_l10n_text(&tr, "text", "base", &fr), "EN");
    assert_string_equal(pb_l10n_text(&tr, "text", "base", &none), "EN");
    assert_string_equal(pb_l10n_text(&tr, "text", "base", &nb), "base");
    assert_string_equal(pb_l10n_text(&tr, "title", "base", &ch), "base");
    /* The core's words: the person's language, else the survey's, else English. */
    struct pb_lang fr_ca = {.locale = "fr-CA", .fallback = "de"},
                   it_de = {.locale = "it", .fallback = "de"},
                   it_it = {.locale = "it", .fallback = "it"};
    assert_string_equal(pb_l10n(&fr_ca, PB_L10N_YES), "Oui");
    assert_string_equal(pb_l10n(&it_de, PB_L10N_YES), "Ja");
    assert_string_equal(pb_l10n(&it_it, PB_L10N_YES), "Yes");
    char out[64];
    pb_l10n_fill(out, sizeof out, "{} von {}", "3", "5");
    assert_string_equal(out, "3 von 5");
    pb_l10n_fill(out, 6, "{} von {}", "3", "5");
    assert_string_equal(out, "3 von");
    assert_int_equal(pb_l10n_yes_no(" OUI. "), 1);
    assert_int_equal(pb_l10n_yes_no("nein"), 0);
    assert_int_equal(pb_l10n_yes_no("maybe"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_german_person_gets_german_buttons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_replies_and_follow_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choice_by_number_in_french, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nps_standard_labels_and_translated_thanks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reminder_and_expiry_in_german, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bank_rotates_by_round, setup, teardown),
        cmocka_unit_test(test_fallback_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

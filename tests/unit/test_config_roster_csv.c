/*
 * The roster CSV (config_roster_csv.c): RFC 4180 quoting (commas, doubled quotes and line
 * breaks inside quotes, CRLF), a byte order mark, line numbers that count the line breaks
 * inside quoted fields, every kind of bad row reported as "file:line: message" and skipped
 * while the rest loads, and the errors that refuse the configuration (no file, a bad header).
 * Each test writes a configuration and its CSV into a private directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static const char base_config[] =
    "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; },\n"
    "               { name = \"slack\"; type = \"slack\"; } );\n"
    "teams = ( { id = \"support\"; manager = \"mia\"; }, { id = \"sales\"; } );\n"
    "people = ( { id = \"alice\"; team = \"support\"; handles = { slack = \"UALICE\"; }; } );\n"
    "roster = { csv = \"people.csv\"; };\n"
    "schedules = ( { id = \"w\"; survey = \"s\"; every = \"7d\";\n"
    "                audience = { teams = [ \"support\" ]; people = [ \"mia\" ]; }; } );\n"
    "surveys = ( { id = \"s\"; kind = \"employee\";\n"
    "              questions = ( { id = \"q\"; type = \"scale\"; text = \"How?\"; } ); } );\n";

struct fx {
    char dir[64];
    char conf[128];
    char csv[128];
    struct pb_config *cfg;
    struct pb_diag diag;
};

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    fclose(f);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pb-csv-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->conf, sizeof f->conf, "%s/pulsebot.conf", f->dir);
    snprintf(f->csv, sizeof f->csv, "%s/people.csv", f->dir);
    write_file(f->conf, base_config, strlen(base_config));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pb_config_free(f->cfg);
    pb_diag_free(&f->diag);
    unlink(f->conf);
    unlink(f->csv);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Loads the configuration with `csv` (of `len` bytes; 0: strlen) as people.csv. */
static int load_n(struct fx *f, const char *csv, size_t len)
{
    write_file(f->csv, csv, len ? len : strlen(csv));
    pb_config_free(f->cfg);
    f->cfg = NULL;
    pb_diag_free(&f->diag);
    int rc = pb_config_load(f->conf, &f->cfg, &f->diag);
    for (size_t i = 0; i < f->diag.n; i++)
        fprintf(stderr, "error: %s\n", f->diag.lines[i]);
    for (size_t i = 0; f->cfg && i < f->cfg->warnings.n; i++)
        fprintf(stderr, "warning: %s\n", f->cfg->warnings.lines[i]);
    return rc;
}

static int load(struct fx *f, const char *csv)
{
    return load_n(f, csv, 0);
}

/* The n-th warning, which must read "<dir>/people.csv:<line_msg>". */
static void expect_warning(struct fx *f, size_t n, const char *line_msg)
{
    assert_non_null(f->cfg);
    assert_true(n < f->cfg->warnings.n);
    char want[512];
    snprintf(want, sizeof want, "%s:%s", f->csv, line_msg);
    assert_string_equal(f->cfg->warnings.lines[n], want);
}

static void expect_error(struct fx *f, const char *line_msg)
{
    char want[512];
    snprintf(want, sizeof want, "%s:%s", f->csv, line_msg);
    for (size_t i = 0; i < f->diag.n; i++)
        if (strcmp(f->diag.lines[i], want) == 0)
            return;
    fail_msg("no error \"%s\"", want);
}

static const struct pb_cfg_person *person(struct fx *f, const char *id)
{
    return pb_config_person(f->cfg, id);
}

static const char *handle(const struct pb_cfg_person *p, const char *connector)
{
    for (size_t i = 0; i < p->n_handles; i++)
        if (strcmp(p->handles[i].connector, connector) == 0)
            return p->handles[i].user;
    return NULL;
}

static void test_plain_rows_join_the_config(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, "id,name,email,team,manager,timezone,locale,slack\n"
                             "mia,Mia Lead,mia@example.com,support,,Europe/Oslo,nb-NO,UMIA\n"
                             "bob,Bob Berg,bob@example.com,sales,mia,America/New_York,en,\n"),
                     0);
    assert_int_equal(f->cfg->n_people, 3);
    assert_int_equal(f->cfg->warnings.n, 0);
    assert_string_equal(f->cfg->people[0].id, "alice"); /* the file's people come first */
    const struct pb_cfg_person *mia = person(f, "mia");
    assert_non_null(mia);
    assert_string_equal(mia->name, "Mia Lead");
    assert_string_equal(mia->email, "mia@example.com");
    assert_string_equal(mia->team, "support");
    assert_string_equal(mia->timezone, "Europe/Oslo");
    assert_string_equal(mia->locale, "nb-NO");
    assert_string_equal(handle(mia, "slack"), "UMIA");
    assert_int_equal(mia->csv_line, 2);
    assert_null(mia->manager);
    const struct pb_cfg_person *bob = person(f, "bob");
    assert_string_equal(bob->manager, "mia");
    assert_null(handle(bob, "slack")); /* an empty cell is no handle */
    assert_int_equal(bob->n_handles, 0);
    assert_int_equal(bob->csv_line, 3);
}

static void test_quoting(void **state)
{
    struct fx *f = *state;
    /* CRLF line ends, a byte order mark, a comma, a doubled quote and a line break inside
     * quotes, blanks around fields, a blank line, and no line end after the last row. */
    static const char csv[] = "\xEF\xBB\xBFid,name,team,Away From,away_until\r\n"
                              "mia,\"Lead, Mia\",support,,\r\n"
                              "\r\n"
                              "bob, \"Bob \"\"The Builder\"\" Berg\" ,sales,,\r\n"
                              "eve,\"Eve\nSecond Line\",sales,2027-01-01,2027-01-10\r\n"
                              "dan,Dan,sales,,";
    assert_int_equal(load(f, csv), 0);
    assert_int_equal(f->cfg->warnings.n, 0);
    assert_string_equal(person(f, "mia")->name, "Lead, Mia");
    assert_string_equal(person(f, "bob")->name, "Bob \"The Builder\" Berg");
    const struct pb_cfg_person *eve = person(f, "eve");
    assert_string_equal(eve->name, "Eve\nSecond Line");
    assert_int_equal(eve->csv_line, 5);
    assert_int_equal(eve->away_last - eve->away_first, 9);
    assert_string_equal(eve->away_from, "2027-01-01");
    assert_int_equal(person(f, "dan")->csv_line, 7); /* after the quoted line break */
    assert_int_equal(person(f, "mia")->csv_line, 2);
}

static void test_bad_rows_are_skipped_with_their_line(void **state)
{
    struct fx *f = *state;
    static const char csv[] = "id,name,email,team,timezone,locale,slack\n"        /* 1 */
                              "mia,Mia,mia@example.com,support,UTC,en,UMIA\n"     /* 2 */
                              "bob,\"Bob\nBerg\",bob@example.com,slaes,UTC,en,\n" /* 3-4 */
                              "carl,Carl,carl.example.com,sales,UTC,en,\n"        /* 5 */
                              "dora,Dora,,sales,Mars/Olympus,en,\n"               /* 6 */
                              "ed,Ed,,sales,UTC\n"                                /* 7 */
                              "mia,Mia Again,,sales,UTC,en,\n"                    /* 8 */
                              "alice,Alice,,sales,UTC,en,\n"                      /* 9 */
                              "fay,Fay,,sales,UTC,english!,\n"                    /* 10 */
                              "gus,Gus,,sales,UTC,en,UMIA\n"                      /* 11 */
                              "hal,Hal,,sales,UTC,en,UALICE\n"                    /* 12 */
                              "bad id,X,,sales,UTC,en,\n"                         /* 13 */
                              ",X,,sales,UTC,en,\n"                               /* 14 */
                              "ivy,Ivy,,sales,UTC,en,\n";                         /* 15 */
    assert_int_equal(load(f, csv), 0);
    expect_warning(f, 0,
                   "3: team \"slaes\" is not a team of the configuration (did you mean "
                   "\"sales\"?); the row is skipped");
    expect_warning(f, 1,
                   "5: email \"carl.example.com\" is not an email address; the row is skipped");
    expect_warning(f, 2,
                   "6: timezone \"Mars/Olympus\" is not an IANA time zone name such as "
                   "Europe/Oslo; the row is skipped");
    expect_warning(f, 3, "7: expected 7 fields as in the header, got 5; the row is skipped");
    expect_warning(f, 4,
                   "8: person \"mia\" is already defined (first at line 2); the row is skipped");
    char want[512];
    snprintf(want, sizeof want,
             "9: person \"alice\" is already defined (in %s); the row is skipped", f->conf);
    expect_warning(f, 5, want);
    expect_warning(f, 6,
                   "10: locale \"english!\" is not a language tag such as en or nb-NO; the row "
                   "is skipped");
    expect_warning(f, 7,
                   "11: handle \"UMIA\" on connector \"slack\" is already the handle of \"mia\" "
                   "(first at line 2); the row is skipped");
    snprintf(want, sizeof want,
             "12: handle \"UALICE\" on connector \"slack\" is already the handle of \"alice\" "
             "(in %s); the row is skipped",
             f->conf);
    expect_warning(f, 8, want);
    expect_warning(f, 9,
                   "13: id \"bad id\": expected letters, digits, '_', '.' or '-', starting with "
                   "a letter or digit, at most 63 bytes; the row is skipped");
    expect_warning(f, 10, "14: id is empty; the row is skipped");
    assert_int_equal(f->cfg->warnings.n, 11);
    /* The good rows around them loaded. */
    assert_int_equal(f->cfg->n_people, 3);
    assert_non_null(person(f, "mia"));
    assert_non_null(person(f, "ivy"));
    assert_string_equal(person(f, "mia")->name, "Mia");
    assert_null(person(f, "bob"));
}

static void test_malformed_quoting_is_a_bad_row(void **state)
{
    struct fx *f = *state;
    static const char csv[] = "id,name,team\n"
                              "mia,Mia,support\n"
                              "bob,Bob \"B\" Berg,sales\n"
                              "eve,\"Eve\" E,sales\n"
                              "dan,Dan,sales\n"
                              "gus,\"Gus,sales\n"
                              "hal,Hal,sales\n";
    assert_int_equal(load(f, csv), 0);
    expect_warning(f, 0,
                   "3: a quote inside a field that does not start with one (quote the whole "
                   "field and double the quote); the row is skipped");
    expect_warning(f, 1, "4: text after the closing quote of a field; the row is skipped");
    expect_warning(f, 2,
                   "6: a quoted field is not closed before the end of the file; the row is "
                   "skipped");
    assert_int_equal(f->cfg->warnings.n, 3);
    assert_non_null(person(f, "dan"));
    assert_null(person(f, "hal")); /* swallowed by the open quote */
}

static void test_away_and_manager_checks(void **state)
{
    struct fx *f = *state;
    static const char csv[] = "id,team,manager,away_from,away_until\n"
                              "mia,support,,,\n"
                              "bob,sales,nobody,,\n"
                              "eve,sales,,2027-02-30,2027-03-01\n"
                              "dan,sales,,2027-03-05,2027-03-01\n"
                              "gus,sales,,2027-03-05,\n"
                              "hal,sales,mia,2027-03-01,2027-03-05\n";
    assert_int_equal(load(f, csv), 0);
    expect_warning(f, 0,
                   "4: away_from \"2027-02-30\" and away_until \"2027-03-01\": expected both as "
                   "dates (YYYY-MM-DD); the row is skipped");
    expect_warning(f, 1,
                   "5: away_until 2027-03-01 is before away_from 2027-03-05; the row is "
                   "skipped");
    expect_warning(f, 2,
                   "6: away_from \"2027-03-05\" and away_until \"\": expected both as dates "
                   "(YYYY-MM-DD); the row is skipped");
    expect_warning(f, 3,
                   "3: person \"bob\": manager \"nobody\" is not on the roster; the row is kept "
                   "without a manager");
    assert_non_null(person(f, "bob"));
    assert_null(person(f, "bob")->manager);
    assert_string_equal(person(f, "hal")->manager, "mia");
    assert_true(person(f, "hal")->away_first <= person(f, "hal")->away_last);
}

static void test_header_problems(void **state)
{
    struct fx *f = *state;
    assert_int_not_equal(load(f, "name,email\nMia,mia@example.com\n"), 0);
    expect_error(f, "1: header: no \"id\" column; the first line names the columns, such as "
                    "id,name,email,team,timezone,locale and a connector's name for handles");
    assert_int_not_equal(load(f, "id,name,Name\nmia,Mia,Mia\n"), 0);
    expect_error(f, "1: header: column \"Name\" is named twice (columns 2 and 3)");
    assert_int_not_equal(load(f, "id,,team\n"), 0);
    expect_error(f, "1: header: column 2 has no name");
    assert_int_not_equal(load(f, "\n\n"), 0);
    expect_error(f, "2: the file is empty: expected a header line naming the columns, such as "
                    "id,name,email,team,timezone,locale");
    /* An unknown column is only ignored, with a word about it. */
    assert_int_equal(load(f, "id,team,slak,department\nmia,support,U1,Ops\n"), 0);
    expect_warning(f, 0,
                   "1: column \"slak\" is neither a roster field nor a connector's name; it is "
                   "ignored (did you mean \"slack\"?)");
    expect_warning(f, 1,
                   "1: column \"department\" is neither a roster field nor a connector's name; "
                   "it is ignored");
    assert_int_equal(person(f, "mia")->n_handles, 0);
}

static void test_missing_file_is_an_error(void **state)
{
    struct fx *f = *state;
    assert_int_equal(load(f, "id\nmia\n"), 0);
    unlink(f->csv);
    pb_config_free(f->cfg);
    f->cfg = NULL;
    assert_int_not_equal(pb_config_load(f->conf, &f->cfg, &f->diag), 0);
    assert_null(f->cfg);
    char want[512];
    snprintf(want, sizeof want, "%s:5: roster: csv: cannot read %s: No such file or directory",
             f->conf, f->csv);
    int found = 0;
    for (size_t i = 0; i < f->diag.n; i++)
        found |= strcmp(f->diag.lines[i], want) == 0;
    assert_true(found);
}

static void test_config_references_csv_people(void **state)
{
    struct fx *f = *state;
    /* The team's manager and the schedule's audience name mia, who is only in the CSV: without
     * her the configuration is wrong, with her it is right. */
    assert_int_not_equal(load(f, "id,team\nbob,sales\n"), 0);
    assert_int_equal(load(f, "id,team\nmia,support\n"), 0);
    /* Not UTF-8 (Latin-1 from an old export): skipped and said why. */
    assert_int_equal(load(f, "id,name,team\nmia,Mia,support\nbob,B\xf8rge,sales\n"), 0);
    expect_warning(f, 0,
                   "3: the row is not valid UTF-8 (export the file as UTF-8); the row is "
                   "skipped");
}

static void test_many_rows(void **state)
{
    struct fx *f = *state;
    size_t cap = 4 << 20, n = 0;
    char *csv = malloc(cap);
    n += (size_t)snprintf(csv + n, cap - n, "id,team,timezone,slack\nmia,support,UTC,UMIA\n");
    for (int i = 0; i < 20000; i++)
        n += (size_t)snprintf(csv + n, cap - n, "p%d,sales,%s,U%d\n", i,
                              i % 2 ? "Europe/Berlin" : "Asia/Tokyo", i);
    assert_int_equal(load_n(f, csv, n), 0);
    free(csv);
    assert_int_equal(f->cfg->n_people, 20002);
    assert_int_equal(f->cfg->warnings.n, 0);
    assert_int_equal(f->cfg->people[20001].csv_line, 20002);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_plain_rows_join_the_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_rows_are_skipped_with_their_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_quoting_is_a_bad_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_away_and_manager_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_file_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_references_csv_people, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_rows, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

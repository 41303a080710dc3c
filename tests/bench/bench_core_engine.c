/*
 * How fast the core does its work, on a real store (WAL, synchronous=FULL) with a connector
 * that confirms every send at once: one scheduled round for N people (every delivery and
 * question committed in one transaction), handing the N questions to the connector, and N
 * answers, a fifth of them low (each then with a follow-up question and an alert). Prints
 * times per item and the peak resident memory.
 *
 * Usage: bench_core_engine [people] [directory]   (defaults: 2000, /tmp)
 * Not a test: it asserts nothing and prints figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "engine.h"
#include "log.h"
#include "store.h"
#include "token.h"

struct bench {
    struct pb_engine *engine;
    char **tokens; /* per person: the button for the answer they give */
    size_t n_people;
    size_t sends;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Runs the engine until nothing more is due now, as the daemon's timer would. */
static void run_until_idle(struct pb_engine *e, int64_t now)
{
    do
        pb_engine_run(e);
    while (pb_engine_next_due(e) <= now);
}

static int send_cb(void *self, const struct pb_send *s)
{
    struct bench *b = self;
    b->sends++;
    /* Remember the choice each person will make: "p<i>" answers 1 when i % 5 == 0, else 4. */
    if (s->target_kind == PB_TARGET_PERSON && s->message->n_buttons == 5) {
        size_t i = strtoul(s->target + 1, NULL, 10);
        if (i < b->n_people && !b->tokens[i])
            b->tokens[i] = strdup(s->message->buttons[i % 5 == 0 ? 0 : 3].token);
    }
    struct pb_send_result r = {.size = sizeof r, .outcome = PB_SEND_DONE, .message_ref = "m"};
    pb_engine_send_done(b->engine, "web", s->id, &r);
    return PB_OK;
}

static void write_config(const char *path, size_t people)
{
    FILE *f = fopen(path, "w");
    fprintf(f,
            "connectors = ( { name = \"web\"; type = \"webchat\"; implicit_handles = true; } );\n"
            "teams = ( { id = \"t\"; name = \"Team\"; },\n"
            "  { id = \"leads\"; parent = \"t\"; channel = \"web:leads\"; } );\n"
            "people = (\n");
    for (size_t i = 0; i < people; i++)
        fprintf(f, "  { id = \"p%zu\"; team = \"t\"; }%s\n", i, i + 1 < people ? "," : "");
    fprintf(f,
            ");\nsurveys = ( { id = \"s\"; window = \"3d\"; questions = (\n"
            "  { id = \"q\"; type = \"scale\"; text = \"How was your week?\"; min = 1; max = 5;\n"
            "    branches = ( { min = 1; max = 2; next = \"why\"; } ); next = \"end\"; },\n"
            "  { id = \"why\"; type = \"text\"; text = \"What made it hard?\"; } ); } );\n"
            "schedules = ( { id = \"w\"; survey = \"s\"; every = \"7d\"; first = \"1s\";\n"
            "  audience = { teams = [ \"t\" ]; }; } );\n"
            "routing = ( { id = \"low\"; max_score = 2; alert = \"leads\"; } );\n");
    fclose(f);
}

int main(int argc, char **argv)
{
    size_t people = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000;
    const char *base = argc > 2 ? argv[2] : "/tmp";
    char dir[512], path[600], err[256];
    snprintf(dir, sizeof dir, "%s/pb-bench-XXXXXX", base);
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/bench.conf", dir);
    write_config(path, people);

    pb_log_set_level(PB_LOG_WARNING);
    struct pb_fake_clock clock;
    pb_fake_clock_init(&clock, 1800000000000LL);
    pb_clock_set(&clock.clock);
    struct pb_diag diag = {0};
    struct pb_config *cfg;
    if (pb_config_load(path, &cfg, &diag) != 0) {
        for (size_t i = 0; i < diag.n; i++)
            fprintf(stderr, "%s\n", diag.lines[i]);
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench.db", dir);
    struct pb_store *store;
    if (pb_store_open(path, &store, err, sizeof err) != PB_OK)
        return 1;
    struct pb_token_key key = {{1}};
    struct bench b = {.n_people = people, .tokens = calloc(people, sizeof(char *))};
    struct pb_engine_setup setup = {store, &key, NULL, NULL};
    pb_engine_create(&setup, cfg, &b.engine);
    struct pb_connector conn = {
        .size = sizeof conn, .self = &b, .send = send_cb, .update = send_cb};
    pb_engine_attach(b.engine, "web", &conn);

    pb_engine_run(b.engine); /* the schedule is new: its round is due in 1 s */
    clock.now += 1000;
    double t0 = now_s();
    run_until_idle(b.engine, clock.now); /* the round, then the outbox */
    double t1 = now_s();
    size_t first_sends = b.sends;

    char reply[256];
    size_t ok = 0;
    for (size_t i = 0; i < people; i++) {
        char user[32];
        snprintf(user, sizeof user, "p%zu", i);
        struct pb_event ev = {
            .size = sizeof ev, .type = PB_EVENT_CHOICE, .user = user, .token = b.tokens[i]};
        ok += b.tokens[i] && pb_engine_event(b.engine, "web", &ev, reply, sizeof reply) == PB_OK;
    }
    double t2 = now_s();
    run_until_idle(b.engine, clock.now); /* closing updates, follow-ups, thank-yous, alerts */
    double t3 = now_s();

    printf("people: %zu\n", people);
    printf("round + %zu questions sent: %.3f s (%.1f us per person)\n", first_sends, t1 - t0,
           (t1 - t0) * 1e6 / (double)people);
    printf("answers committed: %zu in %.3f s (%.0f answers/s, each its own durable commit)\n", ok,
           t2 - t1, (double)ok / (t2 - t1));
    printf("messages those answers caused: %zu sent in %.3f s\n", b.sends - first_sends, t3 - t2);
    printf("alerts: %zu, answers stored: %zu\n", pb_store_alert_count(store),
           pb_store_answer_count(store));
    printf("peak resident memory: %ld KiB\n", peak_rss_kb());

    pb_engine_destroy(b.engine);
    pb_store_close(store);
    pb_config_free(cfg);
    for (size_t i = 0; i < people; i++)
        free(b.tokens[i]);
    free(b.tokens);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}

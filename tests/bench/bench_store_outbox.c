/*
 * How fast the store commits what the daemon commits most: an outbox row added and then
 * confirmed (two durable commits per message), and an answer recorded the way the survey
 * module records it (answer insert and delivery update in one transaction). Every commit is
 * a real fsync (WAL, synchronous=FULL), so the figures are mostly the disk's.
 *
 * Usage: bench_store_outbox [count] [directory]   (defaults: 1000, /tmp)
 * Links pb_store and pb_base. Not a test: it asserts nothing and prints figures.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void report(const char *what, int n, double secs)
{
    printf("%-44s %7d in %7.3f s  %9.0f/s  %8.3f ms each\n", what, n, secs,
           secs > 0 ? n / secs : 0.0, secs * 1000.0 / n);
}

static int add_row(struct pb_store *s, int i, int64_t *id)
{
    struct pb_outbox o;
    memset(&o, 0, sizeof o);
    snprintf(o.connector, sizeof o.connector, "slack");
    o.target_kind = PB_TARGET_PERSON;
    snprintf(o.target, sizeof o.target, "U%05d", i % 500);
    o.kind = PB_OUTBOX_SEND;
    o.payload = "{\"kind\":1,\"text\":\"How was your week?\",\"buttons\":[{\"label\":\"1\"},"
                "{\"label\":\"2\"},{\"label\":\"3\"},{\"label\":\"4\"},{\"label\":\"5\"}]}";
    int rc = pb_store_outbox_add(s, &o);
    *id = o.id;
    return rc;
}

static int bench_outbox(struct pb_store *s, int n)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        int64_t id;
        if (add_row(s, i, &id) != PB_OK || pb_store_outbox_done(s, id, "ts.1", 1) != PB_OK)
            return -1;
    }
    report("outbox add + done (2 commits each)", n, now_s() - t0);

    /* The dispatcher's read side: due rows for one connector while a backlog waits. */
    int64_t ids[64];
    for (int i = 0; i < 64; i++)
        if (add_row(s, i, &ids[i]) != PB_OK)
            return -1;
    struct pb_outbox rows[64];
    size_t got;
    t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (pb_store_outbox_due(s, "slack", INT64_MAX, rows, 64, &got) != PB_OK)
            return -1;
        for (size_t j = 0; j < got; j++)
            pb_outbox_clear(&rows[j]);
    }
    report("outbox due (64 pending rows read)", n, now_s() - t0);
    for (int i = 0; i < 64; i++)
        pb_store_outbox_done(s, ids[i], "", 1);

    int batch = 100;
    t0 = now_s();
    for (int i = 0; i < n; i += batch) {
        if (pb_store_begin(s) != PB_OK)
            return -1;
        for (int j = i; j < i + batch && j < n; j++) {
            int64_t id;
            if (add_row(s, j, &id) != PB_OK || pb_store_outbox_done(s, id, "ts.1", 1) != PB_OK) {
                pb_store_rollback(s);
                return -1;
            }
        }
        if (pb_store_commit(s) != PB_OK)
            return -1;
    }
    report("outbox add + done, 100 per transaction", n, now_s() - t0);
    return 0;
}

static int bench_answers(struct pb_store *s, int n)
{
    int64_t *ids = calloc((size_t)n, sizeof *ids);
    if (!ids)
        return -1;
    int rc = pb_store_begin(s);
    for (int i = 0; rc == PB_OK && i < n; i++) {
        struct pb_delivery d;
        memset(&d, 0, sizeof d);
        snprintf(d.survey, sizeof d.survey, "pulse");
        snprintf(d.person, sizeof d.person, "p%06d", i);
        snprintf(d.connector, sizeof d.connector, "slack");
        snprintf(d.address, sizeof d.address, "U%06d", i);
        snprintf(d.step, sizeof d.step, "q1");
        d.state = PB_DELIVERY_SENT;
        d.expires_ms = 1;
        rc = pb_store_delivery_insert(s, &d);
        ids[i] = d.id;
    }
    if (rc == PB_OK)
        rc = pb_store_commit(s);
    else
        pb_store_rollback(s);

    double t0 = now_s();
    for (int i = 0; rc == PB_OK && i < n; i++) {
        struct pb_answer a;
        memset(&a, 0, sizeof a);
        a.delivery_id = ids[i];
        snprintf(a.survey, sizeof a.survey, "pulse");
        snprintf(a.question, sizeof a.question, "q1");
        a.has_score = 1;
        a.score = i % 5 + 1;
        snprintf(a.team, sizeof a.team, "eng");
        rc = pb_store_answer_insert(s, &a);
    }
    if (rc == PB_OK)
        report("answer insert (1 commit each)", n, now_s() - t0);

    /* As the survey module records one: answer and delivery move in one transaction. */
    t0 = now_s();
    for (int i = 0; rc == PB_OK && i < n; i++) {
        struct pb_delivery d;
        struct pb_answer a;
        memset(&a, 0, sizeof a);
        a.delivery_id = ids[i];
        snprintf(a.survey, sizeof a.survey, "pulse");
        snprintf(a.question, sizeof a.question, "q2");
        a.text = "Things are fine, a bit busy.";
        rc = pb_store_begin(s);
        if (rc == PB_OK)
            rc = pb_store_answer_insert(s, &a);
        if (rc == PB_OK)
            rc = pb_store_delivery_get(s, ids[i], &d);
        if (rc == PB_OK) {
            d.state = PB_DELIVERY_COMPLETED;
            d.step[0] = '\0';
            rc = pb_store_delivery_update(s, &d, PB_DELIVERY_SENT);
        }
        if (rc == PB_OK)
            rc = pb_store_commit(s);
        else
            pb_store_rollback(s);
    }
    if (rc == PB_OK)
        report("answer + delivery update (1 transaction)", n, now_s() - t0);
    free(ids);
    return rc == PB_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    const char *base = argc > 2 ? argv[2] : "/tmp";
    if (n <= 0) {
        fprintf(stderr, "usage: %s [count] [directory]\n", argv[0]);
        return 2;
    }
    char dir[4096], path[4200], err[512];
    snprintf(dir, sizeof dir, "%s/pb_bench_XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    snprintf(path, sizeof path, "%s/bench.db", dir);
    struct pb_store *s = NULL;
    if (pb_store_open(path, &s, err, sizeof err) != PB_OK) {
        fprintf(stderr, "%s\n", err);
        nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        return 1;
    }
    printf("store benchmark on %s (WAL, synchronous=FULL)\n", path);
    int rc = bench_outbox(s, n);
    if (rc == 0)
        rc = bench_answers(s, n);
    if (rc != 0)
        fprintf(stderr, "a store operation failed; see the log above\n");
    pb_store_close(s);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc == 0 ? 0 : 1;
}

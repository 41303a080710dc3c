/*
 * What the store's unit tests share: a fresh private directory per test with a database in
 * it, removed afterwards, and a fake clock so created_ms values are known.
 */
#ifndef PB_TEST_STORE_HELPERS_H
#define PB_TEST_STORE_HELPERS_H

/* Include this first: nftw needs the feature macro before any system header. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "store.h"

#define TEST_START_MS 1700000000000LL

struct store_fixture {
    char dir[64];
    char path[128]; /* <dir>/state/pulsebot.db: open must create the state directory */
    struct pb_store *s;
    struct pb_fake_clock clock;
};

static inline int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void rm_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline void fixture_reopen(struct store_fixture *f)
{
    char err[512];
    if (f->s)
        pb_store_close(f->s);
    f->s = NULL;
    int rc = pb_store_open(f->path, &f->s, err, sizeof err);
    if (rc != PB_OK)
        print_error("open %s: %s\n", f->path, err);
    assert_int_equal(rc, PB_OK);
    assert_non_null(f->s);
}

/* Makes the directory only; the test decides when to open. */
static inline struct store_fixture *fixture_new(void)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/pb_store_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/state/pulsebot.db", f->dir);
    pb_fake_clock_init(&f->clock, TEST_START_MS);
    pb_clock_set(&f->clock.clock);
    return f;
}

static inline void fixture_free(struct store_fixture *f)
{
    if (!f)
        return;
    pb_store_close(f->s);
    rm_tree(f->dir);
    pb_clock_set(NULL);
    free(f);
}

static inline int store_setup(void **state)
{
    struct store_fixture *f = fixture_new();
    fixture_reopen(f);
    *state = f;
    return 0;
}

static inline int store_teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static inline void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src);
}
#define SET(field, value) copy_field((field), sizeof(field), (value))

/* A delivery of `survey` to `person` on the "chat" connector, expiring at `expires`. */
static inline int64_t add_delivery(struct pb_store *s, const char *survey, const char *person,
                                   enum pb_delivery_state state, const char *step, int64_t expires)
{
    struct pb_delivery d;
    memset(&d, 0, sizeof d);
    SET(d.survey, survey);
    SET(d.person, person);
    SET(d.connector, "chat");
    snprintf(d.address, sizeof d.address, "U-%s", person);
    SET(d.step, step);
    d.state = state;
    d.expires_ms = expires;
    assert_int_equal(pb_store_delivery_insert(s, &d), PB_OK);
    assert_true(d.id > 0);
    return d.id;
}

#endif

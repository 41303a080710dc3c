/*
 * The anonymity rule of reports on its own, with numbers: groups under the minimum are hidden,
 * and so is whatever would let one be worked out by subtraction (a parent less its shown
 * sub-teams, a parent's own members beside a single child, a grandchild shown under a hidden
 * child). Then random trees, checked against an independent test: no hidden group smaller than
 * the minimum lies in the linear span of the shown figures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "report.h"

#define K 5

/* A tree given by parents and each group's own members; counts include sub-groups. */
static void totals(size_t n, const int *parent, const size_t *own, size_t *count)
{
    for (size_t i = 0; i < n; i++)
        count[i] = own[i];
    for (size_t i = n; i-- > 1;)
        count[parent[i]] += count[i];
}

static void run(size_t n, const int *parent, const size_t *own, const int *expect)
{
    size_t count[16];
    int hidden[16];
    totals(n, parent, own, count);
    assert_int_equal(pb_report_suppress(n, parent, count, K, hidden), PB_OK);
    for (size_t i = 0; i < n; i++)
        if (hidden[i] != expect[i])
            fail_msg("group %zu (count %zu): hidden %d, expected %d", i, count[i], hidden[i],
                     expect[i]);
}

static void test_large_groups_all_shown(void **state)
{
    /* all = eng 15 + sales 15 */
    int parent[] = {-1, 0, 0};
    size_t own[] = {0, 15, 15};
    int expect[] = {0, 0, 0};
    run(3, parent, own, expect);
}

static void test_small_group_hidden(void **state)
{
    /* all 24 = eng 20 + sales 4 would give sales = 24 - 20: eng must go too. */
    int parent[] = {-1, 0, 0};
    size_t own[] = {0, 20, 4};
    int expect[] = {0, 1, 1};
    run(3, parent, own, expect);
}

static void test_subtraction_hides_next_smallest_sibling(void **state)
{
    /* all 20 = a 3 + b 8 + c 9: a is hidden, and 20 - 8 - 9 would give it back; hiding b
     * (the smallest other) leaves a + b = 11 known, neither alone. */
    int parent[] = {-1, 0, 0, 0};
    size_t own[] = {0, 3, 8, 9};
    int expect[] = {0, 1, 1, 0};
    run(4, parent, own, expect);
}

static void test_small_groups_together_need_no_more(void **state)
{
    /* all 22 = a 3 + b 4 + c 15: a and b hidden, together 7 >= 5: c stays. */
    int parent[] = {-1, 0, 0, 0};
    size_t own[] = {0, 3, 4, 15};
    int expect[] = {0, 1, 1, 0};
    run(4, parent, own, expect);
}

static void test_parent_own_members_beside_single_child(void **state)
{
    /* all = eng 9: 2 of eng's own + backend 7. eng - backend = 2 people: backend is hidden
     * and eng shows its 9 together. */
    int parent[] = {-1, 0, 1};
    size_t own[] = {0, 2, 7};
    int expect[] = {0, 0, 1};
    run(3, parent, own, expect);
}

static void test_own_members_cover_a_single_small_child(void **state)
{
    /* eng 6 = 3 own + backend 3; sales 10; all 16. backend is hidden, but eng - nothing
     * shown = 6 people: enough, nothing more is hidden. */
    int parent[] = {-1, 0, 1, 0};
    size_t own[] = {0, 3, 3, 10};
    int expect[] = {0, 0, 1, 0};
    run(4, parent, own, expect);
}

static void test_small_parent_hides_sibling_team(void **state)
{
    /* eng 4 = 1 own + backend 3 (both hidden); sales 10; all 14 - 10 = 4: sales goes. */
    int parent[] = {-1, 0, 1, 0};
    size_t own[] = {0, 1, 3, 10};
    int expect[] = {0, 1, 1, 1};
    run(4, parent, own, expect);
}

static void test_grandchild_under_hidden_child(void **state)
{
    /* org 26 = a 11 (5 own + a1 6) + b 12 + c 3. c is hidden; 26 - 11 - 12 = 3 would give it:
     * a, the smaller, is hidden. a1 stays shown beneath it and still counts as taken away:
     * org less a1 and b is a's own 5 with c's 3 = 8, no group on its own. */
    int parent[] = {-1, 0, 1, 0, 0};
    size_t own[] = {0, 5, 6, 12, 3};
    int expect[] = {0, 1, 0, 0, 1};
    run(5, parent, own, expect);
}

static void test_parent_less_shown_child_is_a_group(void **state)
{
    /* org 23 = a 10 (4 own + a1 6) + b 10 + c 3: a less a1 would be a's 4 own members, so a1
     * goes first; then org less a and b is c's 3, so a (the first of the two tens) goes. */
    int parent[] = {-1, 0, 1, 0, 0};
    size_t own[] = {0, 4, 6, 10, 3};
    int expect[] = {0, 1, 1, 0, 1};
    run(5, parent, own, expect);
}

static void test_whole_hidden_when_nothing_else_helps(void **state)
{
    /* all 12 = 2 without a team + eng 10 (= fe 5 + be 5). Hiding eng or its teams cannot
     * cover the 2: the whole is hidden instead. */
    int parent[] = {-1, 0, 1, 1};
    size_t own[] = {2, 0, 5, 5};
    int expect[] = {1, 0, 0, 0};
    run(4, parent, own, expect);
}

static void test_everything_small(void **state)
{
    int parent[] = {-1, 0, 0};
    size_t own[] = {0, 2, 2};
    int expect[] = {1, 1, 1};
    run(3, parent, own, expect);
}

static void test_empty_groups(void **state)
{
    /* A team nobody of answered is hidden too ("fewer than 5"), and being empty it reveals
     * nothing: the others stay. */
    int parent[] = {-1, 0, 0, 0};
    size_t own[] = {0, 0, 8, 9};
    int expect[] = {0, 1, 0, 0};
    run(4, parent, own, expect);
}

/* ---- random trees against an independent check ---- */

static double mag(double x)
{
    return x < 0 ? -x : x;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Whether vector `target` (over n atoms) is in the span of the m rows. */
static int in_span(size_t m, size_t n, double rows[][16], const double *target)
{
    double a[32][17];
    size_t r = 0;
    for (size_t i = 0; i < m; i++)
        memcpy(a[i], rows[i], n * sizeof(double));
    /* Row-reduce the shown rows, then reduce the target against them. */
    int pivot_col[32];
    for (size_t col = 0; col < n && r < m; col++) {
        size_t p = r;
        while (p < m && mag(a[p][col]) < 1e-9)
            p++;
        if (p == m)
            continue;
        double tmp[17];
        memcpy(tmp, a[p], sizeof tmp);
        memcpy(a[p], a[r], sizeof tmp);
        memcpy(a[r], tmp, sizeof tmp);
        for (size_t i = 0; i < m; i++) {
            if (i == r || mag(a[i][col]) < 1e-9)
                continue;
            double f = a[i][col] / a[r][col];
            for (size_t j = 0; j < n; j++)
                a[i][j] -= f * a[r][j];
        }
        pivot_col[r++] = (int)col;
    }
    double t[16];
    memcpy(t, target, n * sizeof(double));
    for (size_t i = 0; i < r; i++) {
        size_t col = (size_t)pivot_col[i];
        if (mag(t[col]) < 1e-9)
            continue;
        double f = t[col] / a[i][col];
        for (size_t j = 0; j < n; j++)
            t[j] -= f * a[i][j];
    }
    for (size_t j = 0; j < n; j++)
        if (mag(t[j]) > 1e-9)
            return 0;
    return 1;
}

static int within(const int *parent, size_t node, size_t group)
{
    for (long x = (long)node; x >= 0; x = parent[x])
        if ((size_t)x == group)
            return 1;
    return 0;
}

static void test_random_trees(void **state)
{
    for (int round = 0; round < 3000; round++) {
        size_t n = 2 + next() % 11;
        int parent[16];
        size_t own[16], count[16];
        int hidden[16];
        parent[0] = -1;
        for (size_t i = 1; i < n; i++)
            parent[i] = (int)(next() % i);
        for (size_t i = 0; i < n; i++)
            own[i] = next() % 3 == 0 ? 0 : next() % 9;
        totals(n, parent, own, count);
        assert_int_equal(pb_report_suppress(n, parent, count, K, hidden), PB_OK);

        /* Atoms: each group's own members, where there are any (an empty one is taken as
         * known, which only makes the check stricter). A group is the sum of its atoms. */
        size_t atom_of[16], n_atoms = 0;
        for (size_t i = 0; i < n; i++)
            atom_of[i] = own[i] ? n_atoms++ : SIZE_MAX;
        double rows[16][16];
        size_t m = 0;
        for (size_t g = 0; g < n; g++) {
            if (count[g] < K)
                assert_true(hidden[g]);
            if (hidden[g])
                continue;
            memset(rows[m], 0, sizeof rows[m]);
            for (size_t i = 0; i < n; i++)
                if (atom_of[i] != SIZE_MAX && within(parent, i, g))
                    rows[m][atom_of[i]] = 1;
            m++;
        }
        /* Every shown group less its largest shown sub-groups is nobody or at least K. */
        for (size_t g = 0; g < n; g++) {
            if (hidden[g])
                continue;
            size_t region = count[g];
            for (size_t i = g + 1; i < n; i++) {
                if (hidden[i] || !within(parent, i, g))
                    continue;
                int top = 1; /* no shown group between i and g */
                for (int x = parent[i]; (size_t)x != g; x = parent[x])
                    top &= hidden[x];
                if (top)
                    region -= count[i];
            }
            if (region != 0 && region < K)
                fail_msg("round %d: group %zu leaves %zu people to subtraction", round, g, region);
        }
        if (n_atoms == 0)
            continue;
        /* No hidden group under the minimum, and no part of one that is a group of its own
         * members, can be computed from what is shown. */
        for (size_t g = 0; g < n; g++) {
            if (!hidden[g] || count[g] == 0 || count[g] >= K)
                continue;
            double target[16] = {0};
            for (size_t i = 0; i < n; i++)
                if (atom_of[i] != SIZE_MAX && within(parent, i, g))
                    target[atom_of[i]] = 1;
            if (in_span(m, n_atoms, rows, target))
                fail_msg("round %d: group %zu of %zu can be worked out", round, g, count[g]);
        }
        for (size_t i = 0; i < n; i++) {
            if (atom_of[i] == SIZE_MAX || own[i] >= K)
                continue;
            double target[16] = {0};
            target[atom_of[i]] = 1;
            if (in_span(m, n_atoms, rows, target))
                fail_msg("round %d: the %zu own members of group %zu can be worked out", round,
                         own[i], i);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_groups_all_shown),
        cmocka_unit_test(test_small_group_hidden),
        cmocka_unit_test(test_subtraction_hides_next_smallest_sibling),
        cmocka_unit_test(test_small_groups_together_need_no_more),
        cmocka_unit_test(test_parent_own_members_beside_single_child),
        cmocka_unit_test(test_own_members_cover_a_single_small_child),
        cmocka_unit_test(test_small_parent_hides_sibling_team),
        cmocka_unit_test(test_grandchild_under_hidden_child),
        cmocka_unit_test(test_parent_less_shown_child_is_a_group),
        cmocka_unit_test(test_whole_hidden_when_nothing_else_helps),
        cmocka_unit_test(test_everything_small),
        cmocka_unit_test(test_empty_groups),
        cmocka_unit_test(test_random_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

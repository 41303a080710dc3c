/*
 * The anonymity rule of reports, alone: which groups of a tree must not show a figure so that
 * no group smaller than k can be seen, directly or by subtraction.
 *
 * A figure here is additive (a count, a sum of scores, a score's tally): a group's figure is
 * the sum over its own members and its sub-groups. Someone who sees a set of groups' figures
 * can compute exactly the sums over "regions": for a shown group X, its region is X less its
 * largest shown sub-groups (those with no shown group between them and X). The regions of
 * shown groups are disjoint and every computable figure is a sum of whole regions, so the
 * rule is simply: every shown group's region holds nobody or at least k people. That covers
 * the cases one thinks of first and the ones one does not:
 *   - parent 20 shown, children 3 (hidden), 8 and 9 shown: region 3, so 8 is hidden as well;
 *   - parent 9 = 2 own members + one child of 7: region 2 (the own members), so the child is
 *     hidden and the parent shows the 9 together;
 *   - a shown grandchild under a hidden child still counts as taken away from the parent.
 * To repair a region we hide the smallest shown group at its edge whose own region is not
 * empty (hiding one whose region is empty gains nothing: its sub-groups still add up to it),
 * and only when there is none, the group itself; then look again, since a repair can open a
 * small region higher up.
 */
#include "report.h"

#include <stdlib.h>

/* covered[x]: how much of x its shown descendants account for (x itself when shown). */
static void regions(size_t n, const int *parent, const size_t *count, const int *hidden,
                    size_t *covered, size_t *below)
{
    for (size_t i = 0; i < n; i++)
        below[i] = 0;
    /* Children come after their parents, so walking backwards finishes each child first. */
    for (size_t i = n; i-- > 0;) {
        covered[i] = hidden[i] ? below[i] : count[i];
        if (parent[i] >= 0)
            below[parent[i]] += covered[i];
    }
}

/* The smallest shown group at x's edge whose region is not empty, or -1. */
static long repair_candidate(size_t n, const int *parent, const size_t *count, const int *hidden,
                             const size_t *below, size_t x)
{
    long best = -1;
    for (size_t y = x + 1; y < n; y++) {
        if (hidden[y])
            continue;
        /* y is at x's edge when every group between them is hidden. */
        int p = parent[y];
        while (p >= 0 && (size_t)p != x && hidden[p])
            p = parent[p];
        if (p < 0 || (size_t)p != x)
            continue;
        if (count[y] == below[y])
            continue; /* empty region: hiding it reveals nothing more of x's */
        if (best < 0 || count[y] < count[best])
            best = (long)y;
    }
    return best;
}

int pb_report_suppress(size_t n, const int *parent, const size_t *count, size_t k, int *hidden)
{
    if (n == 0)
        return PB_OK;
    size_t *covered = malloc(n * sizeof *covered), *below = malloc(n * sizeof *below);
    if (!covered || !below) {
        free(covered);
        free(below);
        return PB_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        hidden[i] = count[i] < k;
    /* Each round hides one more group, so this ends after at most n rounds. */
    for (;;) {
        regions(n, parent, count, hidden, covered, below);
        long fix = -1;
        for (size_t x = n; x-- > 0 && fix < 0;) {
            if (hidden[x])
                continue;
            size_t region = count[x] - below[x];
            if (region == 0 || region >= k)
                continue;
            fix = repair_candidate(n, parent, count, hidden, below, x);
            if (fix < 0)
                fix = (long)x;
        }
        if (fix < 0)
            break;
        hidden[fix] = 1;
    }
    free(covered);
    free(below);
    return PB_OK;
}

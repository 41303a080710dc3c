/*
 * Question banks: a pulse that asks one question of several (say one engagement driver a
 * week) starts round N at the Nth question of its bank, and after the last at the first again,
 * so each is asked once in a cycle of as many rounds as the bank has questions.
 *
 * The draw is a function of the round number alone, which the schedule keeps in the store and
 * which every delivery of the round carries: a restart, a late round after downtime or a
 * reminder never changes which question a round asks, and everyone in the round is asked the
 * same one, so the round's answers can be compared. A rule schedule counts rounds per time
 * zone; zones that start together stay together.
 */
#include "survey_internal.h"

int pb_survey_first_question(const struct pb_cfg_survey *s, int64_t round, int64_t delivery_id)
{
    if (!s->n_bank)
        return 0;
    /* Rounds count from 1; a check-in's delivery has no round and rotates by its own id. */
    int64_t n = round > 0 ? round : delivery_id;
    int64_t at = n > 0 ? (n - 1) % (int64_t)s->n_bank : 0;
    int qi = pb_survey_question_index(s, s->bank[at]);
    return qi >= 0 ? qi : 0;
}
